//! The one registry of supported resource types. Each module decodes only the fields it reads
//! and says how the resource is encrypted; the shared verdict in [`crate::verdict`] judges that.
//! Adding a type is one module, one arm in [`assess`] and its fixtures.

use crate::event::{ConfigItem, ParseError};
use crate::key::{KeyRef, Service};

pub mod dynamodb;
pub mod kinesis;
pub mod secretsmanager;

/// `AWS::KMS::Key`: not judged, but its changes re-evaluate the resources that use the key.
pub const KMS_KEY: &str = "AWS::KMS::Key";

/// The resource types this rule evaluates.
pub const SUPPORTED: [&str; 3] = [
    kinesis::RESOURCE_TYPE,
    secretsmanager::RESOURCE_TYPE,
    dynamodb::RESOURCE_TYPE,
];

/// How one part of a resource (the resource itself, or a replica) is encrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encryption {
    /// Not encrypted at all (Kinesis without stream encryption).
    Unencrypted,
    /// The service's AWS-owned key (DynamoDB without SSE-KMS): invisible to KMS.
    AwsOwned,
    /// No key named, so the service's AWS-managed key (`aws/secretsmanager`, a replica's `aws/dynamodb`).
    ServiceDefault,
    /// A KMS key reference, still to be classified.
    Kms(KeyRef),
}

/// One key use of a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyUse {
    /// `None` for the resource itself, else e.g. `replica eu-west-1`.
    pub part: Option<String>,
    /// Region the key must live in; `None` means the resource's Region.
    pub region: Option<String>,
    /// How that part is encrypted.
    pub encryption: Encryption,
}

impl KeyUse {
    /// The resource's own encryption.
    pub fn own(encryption: Encryption) -> KeyUse {
        KeyUse {
            part: None,
            region: None,
            encryption,
        }
    }
}

/// What a resource module found in a configuration item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// Nothing to judge (e.g. a secret scheduled for deletion); the reason becomes the annotation.
    NotApplicable(String),
    /// Key uses to judge, plus a problem that is non-compliant whatever the keys are.
    Encrypted {
        /// The resource and its replicas.
        uses: Vec<KeyUse>,
        /// E.g. DynamoDB lost access to its key.
        problem: Option<String>,
    },
}

/// A resource module's reading of an item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    /// The service, whose AWS-managed key is the one to eliminate.
    pub service: Service,
    /// Short name for annotations: `stream`, `secret`, `table`.
    pub noun: &'static str,
    /// One-line fix: how to move the resource to a CMK.
    pub fix: &'static str,
    /// What was found.
    pub subject: Subject,
}

/// Reads `item` with the module for its type; `None` when the type is not evaluated.
pub fn assess(item: &ConfigItem) -> Option<Result<Assessment, ParseError>> {
    match item.resource_type.as_str() {
        kinesis::RESOURCE_TYPE => Some(kinesis::assess(item)),
        secretsmanager::RESOURCE_TYPE => Some(secretsmanager::assess(item)),
        dynamodb::RESOURCE_TYPE => Some(dynamodb::assess(item)),
        _ => None,
    }
}

/// Parses a key reference stored at `field`, naming the field on error.
pub(crate) fn key_at(item: &ConfigItem, field: &str, value: &str) -> Result<KeyRef, ParseError> {
    KeyRef::parse(value).map_err(|e| item.problem(field, format!("`{value}`: {}", e.problem)))
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::event::{ConfigItem, ItemStatus};
    use serde_json::Value;
    use std::collections::BTreeMap;

    /// An item of `resource_type` in 111122223333/us-east-1 with this configuration.
    pub fn item(resource_type: &str, configuration: Value) -> ConfigItem {
        ConfigItem {
            resource_type: resource_type.into(),
            resource_id: "r1".into(),
            arn: None,
            partition: Some(crate::arn::Partition::Aws),
            account_id: "111122223333".into(),
            region: "us-east-1".into(),
            status: ItemStatus::Ok,
            capture_time: time::macros::datetime!(2026-01-05 09:59:58 UTC),
            state_id: None,
            tags: BTreeMap::new(),
            configuration: Some(configuration),
        }
    }
}
