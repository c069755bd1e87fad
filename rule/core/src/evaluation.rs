//! The evaluation record put to Config, in the exact PutEvaluations shape.

use std::fmt;

use serde::ser::Error as _;
use serde::{Serialize, Serializer};
use time::OffsetDateTime;

/// `ComplianceType`. Config rejects `INSUFFICIENT_DATA` from a rule, so it does not exist here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub enum Compliance {
    /// `COMPLIANT`
    #[serde(rename = "COMPLIANT")]
    Compliant,
    /// `NON_COMPLIANT`
    #[serde(rename = "NON_COMPLIANT")]
    NonCompliant,
    /// `NOT_APPLICABLE`
    #[serde(rename = "NOT_APPLICABLE")]
    NotApplicable,
}

impl Compliance {
    /// The Config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Compliance::Compliant => "COMPLIANT",
            Compliance::NonCompliant => "NON_COMPLIANT",
            Compliance::NotApplicable => "NOT_APPLICABLE",
        }
    }
}

impl fmt::Display for Compliance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One PutEvaluations `Evaluation`. Serializes with exactly the API's keys; `Annotation` is
/// omitted when there is none and `OrderingTimestamp` is RFC 3339 in UTC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Evaluation {
    /// `ComplianceResourceType`: the item's `resourceType`.
    pub compliance_resource_type: String,
    /// `ComplianceResourceId`: the item's `resourceId`, verbatim.
    pub compliance_resource_id: String,
    /// `ComplianceType`.
    pub compliance_type: Compliance,
    /// `Annotation`, 1–256 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotation: Option<String>,
    /// `OrderingTimestamp`.
    #[serde(serialize_with = "rfc3339_utc")]
    pub ordering_timestamp: OffsetDateTime,
}

/// RFC 3339 in UTC with milliseconds, the precision Config uses for capture times.
const UTC_MILLIS: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

/// Formats a timestamp as RFC 3339 in UTC with milliseconds (`2026-01-05T09:59:58.120Z`).
pub fn format_utc(t: OffsetDateTime) -> Result<String, time::error::Format> {
    t.to_offset(time::UtcOffset::UTC).format(UTC_MILLIS)
}

fn rfc3339_utc<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_utc(*t).map_err(S::Error::custom)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn serializes_with_exact_put_evaluations_keys() {
        let e = Evaluation {
            compliance_resource_type: "AWS::Kinesis::Stream".into(),
            compliance_resource_id: "orders".into(),
            compliance_type: Compliance::NonCompliant,
            annotation: None,
            ordering_timestamp: datetime!(2026-01-05 10:59:58.123 +01:00),
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"ComplianceResourceType":"AWS::Kinesis::Stream","ComplianceResourceId":"orders","ComplianceType":"NON_COMPLIANT","OrderingTimestamp":"2026-01-05T09:59:58.123Z"}"#
        );
    }
}
