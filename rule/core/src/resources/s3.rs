//! `AWS::S3::Bucket`. A bucket's default encryption is not in `configuration` but in
//! `supplementaryConfiguration.ServerSideEncryptionConfiguration`, in GetBucketEncryption's
//! shape with Config's casing: `rules[].applyServerSideEncryptionByDefault.{sseAlgorithm,
//! kmsMasterKeyID}` and `rules[].bucketKeyEnabled` (aws-config-resource-schema's property list of
//! the type).
//!
//! - `AES256` is SSE-S3: S3's own key, AWS-owned.
//! - `aws:kms` (SSE-KMS) and `aws:kms:dsse` (DSSE-KMS, two layers under the same KMS key) are
//!   judged by `kmsMasterKeyID`; without one S3 uses the AWS-managed key `aws/s3`
//!   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html).
//! - No configuration at all: since January 2023 S3 encrypts every new object with SSE-S3 when
//!   nothing else is set (https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-encryption-faq.html),
//!   and an older bucket without default encryption stores what each upload asks for, so neither
//!   is a customer-managed key: NON_COMPLIANT either way, only the annotation differs.
//! - `bucketKeyEnabled` makes S3 ask KMS for a bucket-level data key instead of one per object:
//!   the same KMS key protects the objects, so it does not change the verdict.
//!
//! S3 allows one rule; a configuration with more is judged rule by rule, each a part of its own.

use serde::Deserialize;

use super::{Assessment, Encryption, KeyUse, Kind, Subject, key_at};
use crate::event::{ConfigItem, ParseError};
use crate::key::Service;

/// Config resource type.
pub const RESOURCE_TYPE: &str = "AWS::S3::Bucket";

/// The supplementary value holding the bucket's default encryption.
pub const SUPPLEMENTARY: &str = "ServerSideEncryptionConfiguration";

/// The registry entry.
pub const KIND: Kind = Kind {
    config_type: RESOURCE_TYPE,
    service: Service::S3,
    plural: "S3 buckets",
    noun: "bucket",
    fix: "aws s3api put-bucket-encryption --bucket <name> --server-side-encryption-configuration \
          '{\"Rules\":[{\"ApplyServerSideEncryptionByDefault\":{\"SSEAlgorithm\":\"aws:kms\",\"KMSMasterKeyID\":\"<CMK ARN>\"},\"BucketKeyEnabled\":true}]}'",
    assess,
    service_actions: &[
        "s3:ListAllMyBuckets",
        "s3:GetEncryptionConfiguration",
        "s3:GetBucketTagging",
    ],
    recorded_properties: &[
        "supplementaryConfiguration.ServerSideEncryptionConfiguration.rules.applyServerSideEncryptionByDefault.sseAlgorithm",
        "supplementaryConfiguration.ServerSideEncryptionConfiguration.rules.applyServerSideEncryptionByDefault.kmsMasterKeyID",
        "supplementaryConfiguration.ServerSideEncryptionConfiguration.rules.bucketKeyEnabled",
    ],
    non_compliant_when: "default encryption SSE-S3 (`AES256`, the AWS-owned key) or none recorded, or SSE-KMS / DSSE-KMS without `kmsMasterKeyID` or with an AWS-managed key (`aws/s3` in any form)",
    compliant_when: "SSE-KMS or DSSE-KMS with a customer-managed key (bucket keys on or off)",
};

#[derive(Deserialize)]
struct EncryptionConfiguration<'a> {
    #[serde(default, borrow)]
    rules: Option<Vec<Rule<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    #[serde(default, borrow)]
    apply_server_side_encryption_by_default: Option<ByDefault<'a>>,
}

#[derive(Deserialize)]
struct ByDefault<'a> {
    #[serde(rename = "sseAlgorithm", borrow)]
    algorithm: Option<&'a str>,
    #[serde(rename = "kmsMasterKeyID", default, borrow)]
    key: Option<&'a str>,
}

const NONE_SET: &str = "no default encryption set: S3 applies SSE-S3";

pub(crate) fn assess(item: &ConfigItem) -> Result<Assessment, ParseError> {
    let config: Option<EncryptionConfiguration> = item.decode_supplementary(SUPPLEMENTARY)?;
    let rules = config.and_then(|c| c.rules).unwrap_or_default();
    if rules.is_empty() {
        return Ok(Assessment::single(&KIND, Encryption::AwsOwned(NONE_SET)));
    }
    let several = rules.len() > 1;
    let mut uses = Vec::with_capacity(rules.len());
    for (i, rule) in rules.iter().enumerate() {
        let field = format!("supplementaryConfiguration.{SUPPLEMENTARY}.rules[{i}]");
        let encryption = match &rule.apply_server_side_encryption_by_default {
            None => Encryption::AwsOwned(NONE_SET),
            Some(default) => by_default(item, &field, default)?,
        };
        uses.push(KeyUse {
            part: several.then(|| format!("encryption rule {}", i + 1)),
            region: None,
            encryption,
        });
    }
    Ok(Assessment {
        kind: &KIND,
        subject: Subject::Encrypted {
            uses,
            problem: None,
        },
    })
}

fn by_default(item: &ConfigItem, rule: &str, d: &ByDefault) -> Result<Encryption, ParseError> {
    let field = format!("{rule}.applyServerSideEncryptionByDefault");
    let key = d.key.filter(|k| !k.is_empty());
    match d.algorithm {
        Some(a) if a.eq_ignore_ascii_case("AES256") => Ok(Encryption::AwsOwned("SSE-S3")),
        Some(a) if a.eq_ignore_ascii_case("aws:kms") || a.eq_ignore_ascii_case("aws:kms:dsse") => {
            match key {
                Some(key) => Ok(Encryption::Kms(key_at(
                    item,
                    &format!("{field}.kmsMasterKeyID"),
                    key,
                )?)),
                None => Ok(Encryption::ServiceDefault),
            }
        }
        // A bucket served by FSx: its objects are under the file system's key, which the item
        // does not name.
        Some(a) if a.eq_ignore_ascii_case("aws:fsx") => Err(item.problem(
            &format!("{field}.sseAlgorithm"),
            "`aws:fsx`: the objects are stored by FSx under its file system's key, which this item does not name",
        )),
        Some(other) => Err(item.problem(
            &format!("{field}.sseAlgorithm"),
            format!("unknown algorithm `{other}` (expected AES256, aws:kms or aws:kms:dsse)"),
        )),
        None => Err(item.problem(&format!("{field}.sseAlgorithm"), "is missing")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeyRef;
    use crate::resources::test_support::item;
    use serde_json::{Value, json};

    fn bucket(encryption: Option<Value>) -> ConfigItem {
        let mut item = item(RESOURCE_TYPE, json!({"name": "b"}));
        if let Some(e) = encryption {
            item.supplementary.insert(SUPPLEMENTARY.into(), e);
        }
        item
    }

    fn rule(algorithm: &str, key: Option<&str>, bucket_key: bool) -> Value {
        let mut by_default = json!({"sseAlgorithm": algorithm});
        if let Some(key) = key {
            by_default["kmsMasterKeyID"] = json!(key);
        }
        json!({"applyServerSideEncryptionByDefault": by_default, "bucketKeyEnabled": bucket_key})
    }

    fn uses(encryption: Option<Value>) -> Vec<KeyUse> {
        let Subject::Encrypted { uses, problem } = assess(&bucket(encryption)).unwrap().subject
        else {
            panic!("not an encrypted subject")
        };
        assert_eq!(problem, None);
        uses
    }

    fn own(encryption: Option<Value>) -> Encryption {
        let mut uses = uses(encryption);
        assert_eq!(uses.len(), 1);
        assert_eq!(uses[0].part, None);
        uses.remove(0).encryption
    }

    #[test]
    fn sse_s3_and_no_configuration_are_the_aws_owned_key() {
        for bucket_key in [false, true] {
            let e = json!({"rules": [rule("AES256", None, bucket_key)]});
            assert_eq!(own(Some(e)), Encryption::AwsOwned("SSE-S3"));
        }
        for none in [
            None,
            Some(Value::Null),
            Some(json!({})),
            Some(json!({"rules": []})),
            Some(json!({"rules": [{"bucketKeyEnabled": true}]})),
        ] {
            assert_eq!(
                own(none.clone()),
                Encryption::AwsOwned(NONE_SET),
                "{none:?}"
            );
        }
    }

    #[test]
    fn kms_without_a_key_is_aws_s3() {
        for algorithm in ["aws:kms", "aws:kms:dsse"] {
            for key in [None, Some("")] {
                let e = json!({"rules": [rule(algorithm, key, true)]});
                assert_eq!(own(Some(e)), Encryption::ServiceDefault);
            }
        }
    }

    #[test]
    fn a_key_decides_in_every_form_for_sse_kms_and_dsse_kms() {
        for key in [
            "alias/aws/s3",
            "arn:aws:kms:us-east-1:111122223333:alias/aws/s3",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "alias/prod-data",
        ] {
            for algorithm in ["aws:kms", "aws:kms:dsse"] {
                for bucket_key in [false, true] {
                    let e = json!({"rules": [rule(algorithm, Some(key), bucket_key)]});
                    assert_eq!(own(Some(e)), Encryption::Kms(KeyRef::parse(key).unwrap()));
                }
            }
        }
    }

    #[test]
    fn the_api_shape_carries_the_configuration_as_json_text() {
        let text = json!({"rules": [rule("aws:kms", Some("alias/aws/s3"), false)]}).to_string();
        let api = crate::event::ApiItem {
            resource_type: Some(RESOURCE_TYPE.into()),
            resource_id: Some("b".into()),
            account_id: Some("111122223333".into()),
            region: Some("us-east-1".into()),
            status: Some("OK".into()),
            capture_time: Some("2026-01-05T09:59:58Z".into()),
            configuration: Some(r#"{"name": "b"}"#.into()),
            supplementary_configuration: [(SUPPLEMENTARY.to_owned(), text)].into(),
            ..Default::default()
        };
        let item = ConfigItem::from_api(api).unwrap();
        let Subject::Encrypted { uses, .. } = assess(&item).unwrap().subject else {
            panic!()
        };
        assert_eq!(
            uses[0].encryption,
            Encryption::Kms(KeyRef::parse("alias/aws/s3").unwrap())
        );
    }

    #[test]
    fn several_rules_are_judged_each() {
        let e = json!({"rules": [rule("aws:kms", Some("alias/prod-data"), true), rule("AES256", None, false)]});
        let uses = uses(Some(e));
        let parts: Vec<_> = uses.iter().map(|u| u.part.as_deref()).collect();
        assert_eq!(
            parts,
            [Some("encryption rule 1"), Some("encryption rule 2")]
        );
        assert_eq!(uses[1].encryption, Encryption::AwsOwned("SSE-S3"));
    }

    #[test]
    fn bad_values_name_the_field() {
        let cases = [
            (
                json!({"rules": [rule("aws:kms", Some("not a key"), false)]}),
                "supplementaryConfiguration.ServerSideEncryptionConfiguration.rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyID",
            ),
            (
                json!({"rules": [rule("SSE-C", None, false)]}),
                "rules[0].applyServerSideEncryptionByDefault.sseAlgorithm",
            ),
            (
                json!({"rules": [{"applyServerSideEncryptionByDefault": {}}]}),
                "sseAlgorithm",
            ),
            (
                json!({"rules": [rule("aws:fsx", None, false)]}),
                "rules[0].applyServerSideEncryptionByDefault.sseAlgorithm",
            ),
            (
                json!({"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": 7}}]}),
                "supplementaryConfiguration.ServerSideEncryptionConfiguration.rules[0]",
            ),
            (
                json!({"rules": "AES256"}),
                "supplementaryConfiguration.ServerSideEncryptionConfiguration.rules",
            ),
        ];
        for (e, field) in cases {
            let err = assess(&bucket(Some(e.clone()))).unwrap_err();
            assert!(err.field.contains(field), "{e}: {err}");
        }
    }
}
