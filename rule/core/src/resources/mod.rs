//! The one registry of supported resource types, [`KINDS`]. Each module decodes only the fields
//! it reads, says how the resource is encrypted (the shared verdict in [`crate::verdict`] judges
//! that) and declares its [`Kind`]: the rule's scope, the function role's actions, the inventory's
//! queries and the README's decision table are all derived from these entries. Adding a type is
//! one module, one entry in [`KINDS`] and its fixtures.

use crate::event::{ConfigItem, ParseError};
use crate::key::{KeyRef, Service};

pub mod dynamodb;
pub mod kinesis;
pub mod s3;
pub mod secretsmanager;
pub mod sns;
pub mod sqs;

/// `AWS::KMS::Key`: not judged, but its changes re-evaluate the resources that use the key.
pub const KMS_KEY: &str = "AWS::KMS::Key";

/// One supported resource type: what the rest of the project derives from.
#[derive(Debug)]
pub struct Kind {
    /// Config resource type, e.g. `AWS::Kinesis::Stream`.
    pub config_type: &'static str,
    /// The service, whose AWS-managed key is the one to eliminate.
    pub service: Service,
    /// The type in prose, plural: `Kinesis streams`.
    pub plural: &'static str,
    /// Short name for annotations: `stream`, `secret`, `table`.
    pub noun: &'static str,
    /// One-line fix: how to move the resource to a CMK.
    pub fix: &'static str,
    /// Reads a configuration item of this type.
    pub assess: fn(&ConfigItem) -> Result<Assessment, ParseError>,
    /// The IAM actions of the service calls that list and describe this type when it is read
    /// through its service's API (the sweep's services' path).
    pub service_actions: &'static [&'static str],
    /// The recorded properties the rule reads, as `SelectResourceConfig` names them
    /// (aws-config-resource-schema's names; Select returns them nested as in an item).
    pub recorded_properties: &'static [&'static str],
    /// The README decision table: when a resource of this type is NON_COMPLIANT.
    pub non_compliant_when: &'static str,
    /// The README decision table: when it is COMPLIANT.
    pub compliant_when: &'static str,
}

impl PartialEq for Kind {
    fn eq(&self, other: &Kind) -> bool {
        self.config_type == other.config_type
    }
}

impl Eq for Kind {}

/// Every resource type this rule evaluates, in the order the sweep reads them.
pub const KINDS: [&Kind; 6] = [
    &kinesis::KIND,
    &secretsmanager::KIND,
    &dynamodb::KIND,
    &sqs::KIND,
    &sns::KIND,
    &s3::KIND,
];

/// The Config types of [`KINDS`].
pub const SUPPORTED: [&str; KINDS.len()] = {
    let mut types = [""; KINDS.len()];
    let mut i = 0;
    while i < KINDS.len() {
        types[i] = KINDS[i].config_type;
        i += 1;
    }
    types
};

/// The AWS-managed key aliases of [`KINDS`]' services, in the same order.
pub const AWS_MANAGED_ALIASES: [&str; KINDS.len()] = {
    let mut aliases = [""; KINDS.len()];
    let mut i = 0;
    while i < KINDS.len() {
        aliases[i] = KINDS[i].service.aws_managed_alias();
        i += 1;
    }
    aliases
};

/// The registry entry of a Config type; `None` when this rule does not evaluate it.
pub fn kind(config_type: &str) -> Option<&'static Kind> {
    KINDS.into_iter().find(|k| k.config_type == config_type)
}

/// How one part of a resource (the resource itself, or a replica) is encrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encryption {
    /// Not encrypted at all (Kinesis without stream encryption).
    Unencrypted,
    /// The service's AWS-owned key, invisible to KMS; the text names the setting that chose it
    /// (`SSE-KMS off` for a DynamoDB table, `SSE-SQS` for a queue).
    AwsOwned(&'static str),
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
    /// The item's type.
    pub kind: &'static Kind,
    /// What was found.
    pub subject: Subject,
}

impl Assessment {
    /// A resource encrypted one way, with no replicas and no other problem.
    pub fn single(kind: &'static Kind, encryption: Encryption) -> Assessment {
        Assessment {
            kind,
            subject: Subject::Encrypted {
                uses: vec![KeyUse::own(encryption)],
                problem: None,
            },
        }
    }
}

/// Reads `item` with the module for its type; `None` when the type is not evaluated.
pub fn assess(item: &ConfigItem) -> Option<Result<Assessment, ParseError>> {
    kind(&item.resource_type).map(|k| (k.assess)(item))
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

    /// The one encryption `assess` reads from an item of `resource_type` with `configuration`.
    pub fn own_encryption(
        assess: fn(&ConfigItem) -> Result<super::Assessment, crate::event::ParseError>,
        resource_type: &str,
        configuration: Value,
    ) -> super::Encryption {
        let a = assess(&item(resource_type, configuration)).unwrap();
        let super::Subject::Encrypted { mut uses, .. } = a.subject else {
            panic!("not an encrypted subject")
        };
        assert_eq!(uses.len(), 1);
        uses.remove(0).encryption
    }

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
            supplementary: Default::default(),
        }
    }
}
