//! `AWS::SecretsManager::Secret`. The key field is spelled `KMSKeyId` (the only type spelled this
//! way); it is read case-insensitively because older items differ. Secrets Manager omits the field
//! for the AWS-managed key, so absence means `aws/secretsmanager`: a secret is never unencrypted.
//!
//! Replicas are judged like the primary, each key in the replica's Region (no key named =
//! `aws/secretsmanager` there). How Config records them is unverified, so both shapes are read:
//! DescribeSecret's `ReplicationStatus[]{Region, KmsKeyId, Status}` and CloudFormation's
//! `ReplicaRegions[]{Region, KmsKeyId}` (field names case-insensitive).

use serde_json::{Map, Value};

use super::{Assessment, Encryption, KeyUse, Kind, Subject, key_at};
use crate::event::{ConfigItem, ParseError};
use crate::key::Service;

/// Config resource type.
pub const RESOURCE_TYPE: &str = "AWS::SecretsManager::Secret";

/// The registry entry.
pub const KIND: Kind = Kind {
    config_type: RESOURCE_TYPE,
    service: Service::SecretsManager,
    plural: "Secrets Manager secrets",
    noun: "secret",
    fix: "aws secretsmanager update-secret --kms-key-id <CMK ARN>",
    assess,
    service_actions: &[
        "secretsmanager:ListSecrets",
        "secretsmanager:DescribeSecret",
    ],
    recorded_properties: &[
        "configuration.ARN",
        "configuration.Name",
        "configuration.KMSKeyId",
        "configuration.Deleted",
    ],
    non_compliant_when: "`KMSKeyId` absent, `null`, `\"\"` or `DefaultEncryptionKey` (= `aws/secretsmanager`), or an AWS-managed key in any form",
    compliant_when: "customer-managed key",
};
const KEY_FIELD: &str = "KMSKeyId";
/// `ListSecretVersionIds` reports the AWS-managed key with this sentinel.
const DEFAULT_KEY_SENTINEL: &str = "DefaultEncryptionKey";
/// Where an item may list the secret's replicas.
const REPLICA_FIELDS: [&str; 2] = ["ReplicationStatus", "ReplicaRegions"];

fn field<'a>(cfg: &'a Map<String, Value>, name: &str) -> Option<(&'a str, &'a Value)> {
    cfg.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(k, v)| (k.as_str(), v))
}

pub(crate) fn assess(item: &ConfigItem) -> Result<Assessment, ParseError> {
    let cfg = item.configuration_object()?;
    let assessment = |subject| Assessment {
        kind: &KIND,
        subject,
    };
    if let Some((_, Value::Bool(true))) = field(cfg, "Deleted") {
        return Ok(assessment(Subject::NotApplicable(
            "secret is scheduled for deletion".to_owned(),
        )));
    }
    let encryption = match field(cfg, KEY_FIELD) {
        None | Some((_, Value::Null)) => Encryption::ServiceDefault,
        Some((_, Value::String(s))) if s.is_empty() || s == DEFAULT_KEY_SENTINEL => {
            Encryption::ServiceDefault
        }
        Some((name, Value::String(s))) => {
            Encryption::Kms(key_at(item, &format!("configuration.{name}"), s)?)
        }
        Some((name, other)) => {
            return Err(item.problem(
                &format!("configuration.{name}"),
                format!("expected a string, found `{other}`"),
            ));
        }
    };
    let mut uses = vec![KeyUse::own(encryption)];
    for list_name in REPLICA_FIELDS {
        uses.extend(replicas(item, cfg, list_name)?);
    }
    Ok(assessment(Subject::Encrypted {
        uses,
        problem: None,
    }))
}

/// The key uses of the replicas listed under `list_name`, if the item has that list.
fn replicas(
    item: &ConfigItem,
    cfg: &Map<String, Value>,
    list_name: &str,
) -> Result<Vec<KeyUse>, ParseError> {
    let (name, list) = match field(cfg, list_name) {
        None | Some((_, Value::Null)) => return Ok(Vec::new()),
        Some((name, Value::Array(list))) => (name, list),
        Some((name, other)) => {
            return Err(item.problem(
                &format!("configuration.{name}"),
                format!("expected a list of replicas, found `{other}`"),
            ));
        }
    };
    let mut uses = Vec::with_capacity(list.len());
    for (i, replica) in list.iter().enumerate() {
        let path = |field: &str| format!("configuration.{name}[{i}].{field}");
        let Value::Object(replica) = replica else {
            return Err(item.problem(&path(""), "expected a replica object"));
        };
        let region = match field(replica, "Region") {
            Some((_, Value::String(r))) if !r.is_empty() => r.as_str(),
            _ => return Err(item.problem(&path("Region"), "is missing or not a Region name")),
        };
        if region == item.region {
            continue; // the primary itself
        }
        let encryption = match field(replica, "KmsKeyId") {
            None | Some((_, Value::Null)) => Encryption::ServiceDefault,
            Some((_, Value::String(k))) if k.is_empty() || k == DEFAULT_KEY_SENTINEL => {
                Encryption::ServiceDefault
            }
            // DescribeSecret names a replica on the AWS-managed key by its alias.
            Some((key_name, Value::String(k))) => {
                Encryption::Kms(key_at(item, &path(key_name), k)?)
            }
            Some((key_name, other)) => {
                return Err(item.problem(
                    &path(key_name),
                    format!("expected a string, found `{other}`"),
                ));
            }
        };
        uses.push(KeyUse {
            part: Some(format!("replica {region}")),
            region: Some(region.to_owned()),
            encryption,
        });
    }
    Ok(uses)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeyRef;
    use crate::resources::test_support::item;
    use serde_json::json;

    fn encryption(configuration: Value) -> Encryption {
        let a = assess(&item(RESOURCE_TYPE, configuration)).unwrap();
        let Subject::Encrypted { mut uses, .. } = a.subject else {
            panic!("not encrypted subject")
        };
        uses.remove(0).encryption
    }

    #[test]
    fn absent_null_empty_and_sentinel_mean_the_aws_managed_key() {
        for cfg in [
            json!({"Name": "s"}),
            json!({"KMSKeyId": null}),
            json!({"KMSKeyId": ""}),
            json!({"KmsKeyId": "DefaultEncryptionKey"}),
        ] {
            assert_eq!(encryption(cfg), Encryption::ServiceDefault);
        }
    }

    #[test]
    fn key_field_is_read_case_insensitively() {
        let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        for name in ["KMSKeyId", "KmsKeyId", "kmsKeyId"] {
            assert_eq!(
                encryption(json!({ name: key })),
                Encryption::Kms(KeyRef::parse(key).unwrap())
            );
        }
    }

    fn uses(configuration: Value) -> Vec<KeyUse> {
        let a = assess(&item(RESOURCE_TYPE, configuration)).unwrap();
        let Subject::Encrypted { uses, .. } = a.subject else {
            panic!("not encrypted subject")
        };
        uses
    }

    #[test]
    fn replicas_are_key_uses_in_their_own_region() {
        let cmk = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        for list in ["ReplicationStatus", "ReplicaRegions", "replicaRegions"] {
            let got = uses(json!({"KmsKeyId": cmk, list: [
                {"Region": "eu-west-1", "KmsKeyId": cmk, "Status": "InSync"},
                {"Region": "eu-central-1", "KmsKeyId": "alias/aws/secretsmanager", "Status": "InSync"},
                {"Region": "ap-south-1"},
                {"region": "us-east-1", "kmsKeyId": "alias/aws/secretsmanager"},
            ]}));
            let parts: Vec<_> = got
                .iter()
                .map(|u| (u.part.as_deref(), u.region.as_deref()))
                .collect();
            assert_eq!(
                parts,
                [
                    (None, None),
                    (Some("replica eu-west-1"), Some("eu-west-1")),
                    (Some("replica eu-central-1"), Some("eu-central-1")),
                    (Some("replica ap-south-1"), Some("ap-south-1")),
                ],
                "{list}: the primary's own Region (us-east-1 here) is not a replica"
            );
            assert_eq!(
                got[3].encryption,
                Encryption::ServiceDefault,
                "no key = aws/secretsmanager"
            );
            assert!(matches!(&got[2].encryption, Encryption::Kms(k) if k.is_aws_managed_alias()));
        }
    }

    #[test]
    fn malformed_replicas_name_the_field() {
        for (cfg, path) in [
            (
                json!({"ReplicationStatus": {"Region": "x"}}),
                "configuration.ReplicationStatus",
            ),
            (
                json!({"ReplicaRegions": [{"KmsKeyId": "alias/x"}]}),
                "configuration.ReplicaRegions[0].Region",
            ),
            (
                json!({"ReplicaRegions": [{"Region": "eu-west-1", "KmsKeyId": 3}]}),
                "configuration.ReplicaRegions[0].KmsKeyId",
            ),
            (
                json!({"ReplicaRegions": ["eu-west-1"]}),
                "configuration.ReplicaRegions[0]",
            ),
        ] {
            let err = assess(&item(RESOURCE_TYPE, cfg)).unwrap_err().to_string();
            assert!(err.contains(path), "{path}: {err}");
        }
    }

    #[test]
    fn deleted_secret_is_not_applicable() {
        let a = assess(&item(RESOURCE_TYPE, json!({"Deleted": true}))).unwrap();
        assert!(matches!(a.subject, Subject::NotApplicable(_)));
    }

    #[test]
    fn non_string_key_names_the_field() {
        let err = assess(&item(RESOURCE_TYPE, json!({"KMSKeyId": 5}))).unwrap_err();
        assert!(err.to_string().contains("configuration.KMSKeyId"), "{err}");
    }
}
