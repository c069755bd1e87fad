//! `AWS::SecretsManager::Secret`. The key field is spelled `KMSKeyId` (the only type spelled this
//! way); it is read case-insensitively because older items differ. Secrets Manager omits the field
//! for the AWS-managed key, so absence means `aws/secretsmanager`: a secret is never unencrypted.

use serde_json::{Map, Value};

use super::{Assessment, Encryption, KeyUse, Subject, key_at};
use crate::event::{ConfigItem, ParseError};
use crate::key::Service;

/// Config resource type.
pub const RESOURCE_TYPE: &str = "AWS::SecretsManager::Secret";
const FIX: &str = "aws secretsmanager update-secret --kms-key-id <CMK ARN>";
const KEY_FIELD: &str = "KMSKeyId";
/// `ListSecretVersionIds` reports the AWS-managed key with this sentinel.
const DEFAULT_KEY_SENTINEL: &str = "DefaultEncryptionKey";

fn field<'a>(cfg: &'a Map<String, Value>, name: &str) -> Option<(&'a str, &'a Value)> {
    cfg.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(k, v)| (k.as_str(), v))
}

pub(crate) fn assess(item: &ConfigItem) -> Result<Assessment, ParseError> {
    let cfg = item.configuration_object()?;
    let assessment = |subject| Assessment {
        service: Service::SecretsManager,
        noun: "secret",
        fix: FIX,
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
    Ok(assessment(Subject::Encrypted {
        uses: vec![KeyUse::own(encryption)],
        problem: None,
    }))
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
