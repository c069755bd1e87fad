//! Client-side request rates per API, from AWS's documented quotas, so a sweep paces itself under
//! them instead of running into throttling and spending its retries (Kinesis allows 20
//! DescribeStreamSummary calls per second per account: a 10,000-stream sweep at full speed would
//! be throttled most of the time).
//!
//! Each limiter is a GCRA bucket ([`governor`]) with a burst of one second's worth of calls. The
//! quotas are per account and Region and shared with every other caller there, so the default
//! pace is a fraction ([`DEFAULT_SHARE`]) of the quota; `CMK_RATE_LIMITS` overrides it per API.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultDirectRateLimiter, Quota as Gcra, RateLimiter};

/// One documented request quota.
#[derive(Clone, Copy, Debug)]
pub struct Quota {
    /// `service:Operation`, as in IAM.
    pub operation: &'static str,
    /// Calls per second per account and Region.
    pub per_second: u32,
    /// Where AWS documents it.
    pub source: &'static str,
}

/// The documented quotas of the calls a sweep repeats per resource or page. KMS (one DescribeKey
/// per distinct key), DynamoDB's DescribeTable/ListTables (2,500 per second) and Config's calls
/// (one per 100 evaluations) stay far below their quotas and are not paced.
pub const QUOTAS: [Quota; 6] = [
    Quota {
        operation: "kinesis:ListStreams",
        per_second: 5,
        source: "https://docs.aws.amazon.com/kinesis/latest/APIReference/API_ListStreams.html",
    },
    Quota {
        operation: "kinesis:DescribeStreamSummary",
        per_second: 20,
        source: "https://docs.aws.amazon.com/kinesis/latest/APIReference/API_DescribeStreamSummary.html",
    },
    Quota {
        operation: "kinesis:ListTagsForStream",
        per_second: 5,
        source: "https://docs.aws.amazon.com/kinesis/latest/APIReference/API_ListTagsForStream.html",
    },
    Quota {
        operation: "dynamodb:ListTagsOfResource",
        per_second: 10,
        source: "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ListTagsOfResource.html",
    },
    Quota {
        operation: "secretsmanager:ListSecrets",
        per_second: 100,
        source: "https://aws.amazon.com/about-aws/whats-new/2022/11/aws-secrets-manager-increases-api-requests-per-second-limits/",
    },
    Quota {
        operation: "secretsmanager:DescribeSecret",
        per_second: 40_000,
        source: "https://aws.amazon.com/about-aws/whats-new/2025/03/aws-secrets-manager-increases-api-requests-seconds/",
    },
];

/// Share of each quota the sweep takes by default, leaving the rest to the account's other callers.
pub const DEFAULT_SHARE: f64 = 0.8;

/// Environment variable overriding rates: `kinesis:DescribeStreamSummary=10,kinesis:ListStreams=2`.
pub const RATE_LIMITS_VAR: &str = "CMK_RATE_LIMITS";

/// A rate setting that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{RATE_LIMITS_VAR}: `{entry}`: {problem}")]
pub struct RateError {
    /// The offending `operation=rate` entry.
    pub entry: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

/// One limiter per paced operation; cheap to clone (shared).
#[derive(Clone, Debug, Default)]
pub struct Rates {
    limiters: Arc<BTreeMap<&'static str, DefaultDirectRateLimiter>>,
}

impl Rates {
    /// [`DEFAULT_SHARE`] of every documented quota.
    pub fn documented() -> Rates {
        Rates::from_per_second(&Rates::documented_table())
    }

    /// No pacing at all (tests that measure something else; an emulator that never throttles).
    pub fn unlimited() -> Rates {
        Rates::default()
    }

    /// The documented rates with the overrides of `spec` (`op=rate,op=rate`; `0` = not paced).
    pub fn parse(spec: &str) -> Result<Rates, RateError> {
        let mut per_second: BTreeMap<&'static str, u32> = Rates::documented_table();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let err = |problem| RateError {
                entry: entry.to_owned(),
                problem,
            };
            let (operation, rate) = entry
                .split_once('=')
                .ok_or_else(|| err("expected `service:Operation=calls-per-second`"))?;
            let known = QUOTAS
                .iter()
                .find(|q| q.operation == operation.trim())
                .ok_or_else(|| err("not a paced operation (see the README's list)"))?;
            let rate: u32 = rate
                .trim()
                .parse()
                .map_err(|_| err("the rate is not a whole number of calls per second"))?;
            if rate > known.per_second {
                return Err(err("the rate is above AWS's documented quota"));
            }
            per_second.insert(known.operation, rate);
        }
        Ok(Rates::from_per_second(&per_second))
    }

    /// [`Rates::parse`] of `CMK_RATE_LIMITS`, or the documented rates when it is not set.
    pub fn from_env() -> Result<Rates, RateError> {
        match std::env::var(RATE_LIMITS_VAR) {
            Ok(spec) => Rates::parse(&spec),
            Err(_) => Ok(Rates::documented()),
        }
    }

    fn documented_table() -> BTreeMap<&'static str, u32> {
        QUOTAS
            .iter()
            .map(|q| {
                // At least one call per second, whatever the share.
                let share = (f64::from(q.per_second) * DEFAULT_SHARE).floor().max(1.0);
                (q.operation, share as u32)
            })
            .collect()
    }

    fn from_per_second(per_second: &BTreeMap<&'static str, u32>) -> Rates {
        let limiters = per_second
            .iter()
            .filter_map(|(op, rate)| {
                NonZeroU32::new(*rate).map(|r| (*op, RateLimiter::direct(Gcra::per_second(r))))
            })
            .collect();
        Rates {
            limiters: Arc::new(limiters),
        }
    }

    /// Waits until `operation` may be called again (at once when it is not paced). The wait is
    /// a tokio timer on the caller's runtime, not governor's `until_ready`, whose timer thread
    /// (futures-timer) cost a thread wake-up per paced call.
    pub async fn acquire(&self, operation: &str) {
        use governor::clock::Clock;
        if let Some(limiter) = self.limiters.get(operation) {
            while let Err(not_until) = limiter.check() {
                tokio::time::sleep(not_until.wait_time_from(limiter.clock().now())).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_rates_take_a_share_of_each_quota() {
        let table = Rates::documented_table();
        assert_eq!(table["kinesis:DescribeStreamSummary"], 16);
        assert_eq!(table["kinesis:ListStreams"], 4);
        assert_eq!(table["secretsmanager:ListSecrets"], 80);
    }

    #[test]
    fn overrides_are_checked_against_the_quotas() {
        assert!(Rates::parse("kinesis:DescribeStreamSummary=10").is_ok());
        assert!(Rates::parse(" kinesis:ListStreams = 0 , ").is_ok());
        for (spec, problem) in [
            ("kinesis:DescribeStreamSummary=21", "above"),
            ("kinesis:DescribeStream=5", "not a paced operation"),
            ("kinesis:ListStreams", "expected"),
            ("kinesis:ListStreams=fast", "whole number"),
        ] {
            let err = Rates::parse(spec).unwrap_err().to_string();
            assert!(
                err.contains(problem) && err.contains(RATE_LIMITS_VAR),
                "{spec}: {err}"
            );
        }
    }

    /// The pace holds: 41 calls at 20 per second (burst 20) cannot finish in under a second.
    #[tokio::test]
    async fn calls_beyond_the_burst_wait_for_the_pace() {
        let mut table = BTreeMap::new();
        table.insert("kinesis:DescribeStreamSummary", 20);
        let rates = Rates::from_per_second(&table);
        let start = std::time::Instant::now();
        for _ in 0..41 {
            rates.acquire("kinesis:DescribeStreamSummary").await;
        }
        assert!(
            start.elapsed() >= std::time::Duration::from_millis(950),
            "{:?}",
            start.elapsed()
        );
    }
}
