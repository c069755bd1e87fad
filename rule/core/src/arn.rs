//! Amazon Resource Names, parsed once: [`Arn`] for any resource, [`Partition`] for the partition
//! part.
//!
//! The partition of a resource is read from an ARN (the resource's, else the rule's), never
//! inferred from a Region name: Region prefixes do not name partitions reliably (`eusc-de-east-1`
//! is in `aws-eusc`, and new partitions arrive with new prefixes).

use std::fmt;
use std::str::FromStr;

/// An AWS partition: the first field of every ARN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Partition {
    /// `aws`: the commercial Regions.
    Aws,
    /// `aws-cn`: the China Regions.
    AwsCn,
    /// `aws-us-gov`: AWS GovCloud (US).
    AwsUsGov,
    /// `aws-iso`: the US ISO Regions.
    AwsIso,
    /// `aws-iso-b`: the US ISOB Regions.
    AwsIsoB,
    /// `aws-iso-e`: the EU ISOE Regions.
    AwsIsoE,
    /// `aws-iso-f`: the US ISOF Regions.
    AwsIsoF,
    /// `aws-eusc`: the AWS European Sovereign Cloud.
    AwsEusc,
}

impl Partition {
    /// Every partition the rule knows, in the order they are listed in error messages.
    pub const ALL: [Partition; 8] = [
        Partition::Aws,
        Partition::AwsCn,
        Partition::AwsUsGov,
        Partition::AwsIso,
        Partition::AwsIsoB,
        Partition::AwsIsoE,
        Partition::AwsIsoF,
        Partition::AwsEusc,
    ];

    /// The partition's name as written in ARNs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
            Partition::AwsIso => "aws-iso",
            Partition::AwsIsoB => "aws-iso-b",
            Partition::AwsIsoE => "aws-iso-e",
            Partition::AwsIsoF => "aws-iso-f",
            Partition::AwsEusc => "aws-eusc",
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Partition {
    type Err = ArnError;

    fn from_str(s: &str) -> Result<Partition, ArnError> {
        Partition::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| ArnError {
                value: s.to_owned(),
                problem: "unknown partition (known: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc)",
            })
    }
}

/// Text that is not an ARN the rule can read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not an ARN: {problem}")]
pub struct ArnError {
    /// The offending text.
    pub value: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

/// `arn:<partition>:<service>:<region>:<account>:<resource>`, parsed.
///
/// Region and account may be empty (S3 buckets, IAM); the resource keeps any `:` and `/` it
/// contains. The text is kept once; the parts are slices of it.
///
/// ```
/// use cmk_core::arn::{Arn, Partition};
/// let arn: Arn = "arn:aws-us-gov:kinesis:us-gov-west-1:111122223333:stream/orders".parse().unwrap();
/// assert_eq!(arn.partition, Partition::AwsUsGov);
/// assert_eq!(arn.resource(), "stream/orders");
/// assert!("arn:aws-xyz:kinesis:r:111122223333:stream/orders".parse::<Arn>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Arn {
    /// The partition.
    pub partition: Partition,
    text: Box<str>,
    /// Byte offsets of the service, Region, account and resource in `text`.
    starts: [usize; 4],
}

/// The parts of an ARN, checked, as slices of `value`: partition, service, Region, account and
/// resource. Shared by [`Arn`] and the KMS key references, which need no copy of their own.
pub(crate) fn split(value: &str) -> Result<(Partition, [&str; 4]), &'static str> {
    let rest = value
        .strip_prefix("arn:")
        .ok_or("it does not start with `arn:`")?;
    let mut parts = rest.splitn(5, ':');
    let (Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err("an ARN needs six `:`-separated parts");
    };
    let partition = partition.parse::<Partition>().map_err(|e| e.problem)?;
    let name_like = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if service.is_empty() || !name_like(service) {
        return Err("the service is not a service namespace");
    }
    if !name_like(region) {
        return Err("the Region is not a Region name");
    }
    if !account.is_empty()
        && account != "aws"
        && !(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("the account is not 12 digits");
    }
    if resource.is_empty() {
        return Err("the resource part is empty");
    }
    Ok((partition, [service, region, account, resource]))
}

impl Arn {
    fn part(&self, i: usize) -> &str {
        let end = match self.starts.get(i + 1) {
            Some(next) => next - 1,
            None => self.text.len(),
        };
        &self.text[self.starts[i]..end]
    }

    /// The service namespace (`kms`, `kinesis`, ...).
    pub fn service(&self) -> &str {
        self.part(0)
    }

    /// The Region; empty for global resources.
    pub fn region(&self) -> &str {
        self.part(1)
    }

    /// The 12-digit account; empty for resources without one.
    pub fn account(&self) -> &str {
        self.part(2)
    }

    /// Everything after the fifth `:`.
    pub fn resource(&self) -> &str {
        self.part(3)
    }

    /// The ARN as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for Arn {
    type Err = ArnError;

    fn from_str(value: &str) -> Result<Arn, ArnError> {
        let (partition, parts) = split(value).map_err(|problem| ArnError {
            value: value.to_owned(),
            problem,
        })?;
        // Each part is a slice of `value`: its offset is where it starts in the text.
        let starts = parts.map(|p| p.as_ptr() as usize - value.as_ptr() as usize);
        Ok(Arn {
            partition,
            text: value.into(),
            starts,
        })
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partition_round_trips_and_none_is_guessed() {
        for p in Partition::ALL {
            let text = format!("arn:{p}:kms:r-1:111122223333:key/k");
            let arn: Arn = text.parse().unwrap();
            assert_eq!(arn.partition, p);
            assert_eq!(arn.to_string(), text);
        }
        for bad in ["aws-iso-x", "AWS", "", "awscn", "aws-"] {
            let e = format!("arn:{bad}:kms:r:111122223333:key/k")
                .parse::<Arn>()
                .unwrap_err();
            assert!(e.problem.contains("partition"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_resource_keeps_its_colons_and_global_arns_parse() {
        let arn: Arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf"
            .parse()
            .unwrap();
        assert_eq!(arn.resource(), "secret:db-AbCdEf");
        assert_eq!(
            (arn.service(), arn.region(), arn.account()),
            ("secretsmanager", "eu-west-1", "111122223333")
        );
        let bucket: Arn = "arn:aws:s3:::logs".parse().unwrap();
        assert_eq!((bucket.region(), bucket.account()), ("", ""));
        let managed: Arn = "arn:aws:iam::aws:policy/ReadOnlyAccess".parse().unwrap();
        assert_eq!(managed.account(), "aws");
    }

    #[test]
    fn malformed_arns_say_what_is_wrong() {
        for (text, problem) in [
            ("aws:kms:r:111122223333:key/k", "arn:"),
            ("arn:aws:kms:r:111122223333", "six"),
            ("arn:aws::r:111122223333:key/k", "service"),
            ("arn:aws:kms:US_EAST:111122223333:key/k", "Region"),
            ("arn:aws:kms:r:1234:key/k", "12 digits"),
            ("arn:aws:kms:r:111122223333:", "resource"),
        ] {
            let e = text.parse::<Arn>().unwrap_err();
            assert!(e.problem.contains(problem), "{text}: {e}");
            assert!(e.to_string().contains(text), "{e}");
        }
    }
}
