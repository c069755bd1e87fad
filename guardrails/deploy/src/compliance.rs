//! The OU's compliance in one place, for `guardrails status`: per member account and Region, the
//! rule's results as the organization aggregator holds them
//! (`config:GetAggregateComplianceDetailsByConfigRule`, 100 results per call). A resource judged
//! by both rules (change-triggered and periodic) counts once, by its latest result.

use std::collections::BTreeMap;

use aws_sdk_config::types::AggregateEvaluationResult;
use aws_smithy_types::date_time::Format;
use serde::Serialize;

/// One member account and Region.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AccountCompliance {
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// The rule's stack instance there: `current`, `outdated`, `failed`, `missing`, …
    pub rule: String,
    /// When the rule last recorded a result there (RFC 3339), if ever.
    pub last_evaluated: Option<String>,
    /// Resources whose latest result is COMPLIANT.
    pub compliant: usize,
    /// Resources whose latest result is NON_COMPLIANT.
    pub non_compliant: usize,
    /// Each resource's latest result (for the HTML report; not in `status --output json`).
    #[serde(skip)]
    pub resources: Vec<ResourceResult>,
}

/// One resource's latest result of the rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceResult {
    /// `AWS::Kinesis::Stream`, ...
    pub resource_type: String,
    /// Config's resource id.
    pub resource_id: String,
    /// `COMPLIANT`, `NON_COMPLIANT` or `NOT_APPLICABLE`.
    pub compliance_type: String,
    /// The rule's annotation.
    pub annotation: Option<String>,
}

/// The aggregator cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("config:GetAggregateComplianceDetailsByConfigRule on aggregator {aggregator}: {detail}")]
pub struct ComplianceError {
    /// The aggregator.
    pub aggregator: String,
    /// What went wrong; AccessDenied names the permission.
    pub detail: String,
}

/// What an aggregator answered for one account and Region.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Latest result time (RFC 3339).
    pub last_evaluated: Option<String>,
    /// COMPLIANT resources.
    pub compliant: usize,
    /// NON_COMPLIANT resources.
    pub non_compliant: usize,
    /// Each resource's latest result.
    pub resources: Vec<ResourceResult>,
}

/// Folds the results of several rules: each resource by its latest result.
pub fn count(results: &[AggregateEvaluationResult]) -> Counts {
    let mut latest: BTreeMap<(String, String), (i64, &AggregateEvaluationResult)> = BTreeMap::new();
    let mut last: Option<aws_smithy_types::DateTime> = None;
    for r in results {
        let Some(q) = r
            .evaluation_result_identifier()
            .and_then(|i| i.evaluation_result_qualifier())
        else {
            continue;
        };
        let key = (
            q.resource_type().unwrap_or_default().to_owned(),
            q.resource_id().unwrap_or_default().to_owned(),
        );
        let at = r.result_recorded_time();
        let secs = at.map_or(0, |t| t.secs());
        if let Some(t) = at
            && last.is_none_or(|l| t.secs() > l.secs())
        {
            last = Some(*t);
        }
        if latest.get(&key).is_none_or(|(s, _)| secs >= *s) {
            latest.insert(key, (secs, r));
        }
    }
    fn kind(r: &AggregateEvaluationResult) -> &str {
        r.compliance_type().map_or("", |c| c.as_str())
    }
    Counts {
        last_evaluated: last.and_then(|t| t.fmt(Format::DateTime).ok()),
        compliant: latest
            .values()
            .filter(|(_, r)| kind(r) == "COMPLIANT")
            .count(),
        non_compliant: latest
            .values()
            .filter(|(_, r)| kind(r) == "NON_COMPLIANT")
            .count(),
        resources: latest
            .into_iter()
            .map(|((resource_type, resource_id), (_, r))| ResourceResult {
                resource_type,
                resource_id,
                compliance_type: kind(r).to_owned(),
                annotation: r.annotation().map(str::to_owned),
            })
            .collect(),
    }
}

/// Reads every result of `rules` in `account` and `region` from the aggregator. `Ok(None)` when
/// the aggregator does not exist.
pub async fn read(
    client: &aws_sdk_config::Client,
    aggregator: &str,
    rules: &[String],
    account: &str,
    region: &str,
) -> Result<Option<Counts>, ComplianceError> {
    let mut results = Vec::new();
    for rule in rules {
        let mut pages = client
            .get_aggregate_compliance_details_by_config_rule()
            .configuration_aggregator_name(aggregator)
            .config_rule_name(rule)
            .account_id(account)
            .aws_region(region)
            .limit(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => results.extend(page.aggregate_evaluation_results().iter().cloned()),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_no_such_configuration_aggregator_exception()) =>
                {
                    return Ok(None);
                }
                Err(e) => {
                    return Err(ComplianceError {
                        aggregator: aggregator.to_owned(),
                        detail: crate::cfn::describe(
                            "config",
                            "GetAggregateComplianceDetailsByConfigRule",
                            &e,
                        ),
                    });
                }
            }
        }
    }
    Ok(Some(count(&results)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_config::types::{
        ComplianceType, EvaluationResultIdentifier, EvaluationResultQualifier,
    };

    fn result(id: &str, kind: ComplianceType, secs: i64) -> AggregateEvaluationResult {
        AggregateEvaluationResult::builder()
            .evaluation_result_identifier(
                EvaluationResultIdentifier::builder()
                    .evaluation_result_qualifier(
                        EvaluationResultQualifier::builder()
                            .resource_type("AWS::Kinesis::Stream")
                            .resource_id(id)
                            .build(),
                    )
                    .build(),
            )
            .compliance_type(kind)
            .result_recorded_time(aws_smithy_types::DateTime::from_secs(secs))
            .build()
    }

    #[test]
    fn each_resource_counts_once_by_its_latest_result() {
        let counts = count(&[
            result("a", ComplianceType::NonCompliant, 100),
            result("a", ComplianceType::Compliant, 200), // the sweep after the fix
            result("b", ComplianceType::NonCompliant, 150),
            result("c", ComplianceType::NotApplicable, 50),
        ]);
        let latest = |id: &str, kind: &str| ResourceResult {
            resource_type: "AWS::Kinesis::Stream".into(),
            resource_id: id.into(),
            compliance_type: kind.into(),
            annotation: None,
        };
        assert_eq!(
            counts,
            Counts {
                last_evaluated: Some("1970-01-01T00:03:20Z".into()),
                compliant: 1,
                non_compliant: 1,
                resources: vec![
                    latest("a", "COMPLIANT"),
                    latest("b", "NON_COMPLIANT"),
                    latest("c", "NOT_APPLICABLE"),
                ],
            }
        );
        assert_eq!(count(&[]), Counts::default());
    }
}
