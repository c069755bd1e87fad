//! `AWS::Kinesis::Stream`. The item mirrors the CloudFormation schema:
//! `StreamEncryption { EncryptionType: NONE | KMS, KeyId }`, absent when unencrypted.
//! `KeyId` keeps whatever the caller passed: alias name, alias ARN, key id or key ARN.

use serde::Deserialize;

use super::{Assessment, Encryption, Kind, key_at};
use crate::event::{ConfigItem, ParseError};
use crate::key::Service;

/// Config resource type.
pub const RESOURCE_TYPE: &str = "AWS::Kinesis::Stream";

/// The registry entry.
pub const KIND: Kind = Kind {
    config_type: RESOURCE_TYPE,
    service: Service::Kinesis,
    plural: "Kinesis streams",
    noun: "stream",
    fix: "aws kinesis start-stream-encryption --encryption-type KMS --key-id <CMK ARN>",
    assess,
    service_actions: &[
        "kinesis:ListStreams",
        "kinesis:DescribeStreamSummary",
        "kinesis:ListTagsForStream",
    ],
    recorded_properties: &[
        "configuration.Name",
        "configuration.Arn",
        "configuration.StreamEncryption.EncryptionType",
        "configuration.StreamEncryption.KeyId",
    ],
    non_compliant_when: "no `StreamEncryption`, `EncryptionType` `NONE` (or KMS without a key id), or the key is AWS-managed (`alias/aws/kinesis` as alias name, alias ARN, key id or key ARN)",
    compliant_when: "KMS with a customer-managed key",
};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Configuration<'a> {
    #[serde(default, borrow)]
    stream_encryption: Option<StreamEncryption<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StreamEncryption<'a> {
    #[serde(default, borrow)]
    encryption_type: Option<&'a str>,
    #[serde(default, borrow)]
    key_id: Option<&'a str>,
}

pub(crate) fn assess(item: &ConfigItem) -> Result<Assessment, ParseError> {
    let cfg: Configuration = item.decode_configuration()?;
    let encryption = match cfg.stream_encryption {
        None => Encryption::Unencrypted,
        Some(e) => match e.encryption_type {
            None | Some("NONE") => Encryption::Unencrypted,
            Some("KMS") => match e.key_id {
                // CreateStream takes no key: a stream without a key id is plaintext, not aws/kinesis.
                None | Some("") => Encryption::Unencrypted,
                Some(key) => {
                    Encryption::Kms(key_at(item, "configuration.StreamEncryption.KeyId", key)?)
                }
            },
            Some(other) => {
                return Err(item.problem(
                    "configuration.StreamEncryption.EncryptionType",
                    format!("unknown value `{other}` (expected NONE or KMS)"),
                ));
            }
        },
    };
    Ok(Assessment::single(&KIND, encryption))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeyRef;
    use crate::resources::test_support::{item, own_encryption};
    use serde_json::json;

    fn encryption(configuration: serde_json::Value) -> Encryption {
        own_encryption(assess, RESOURCE_TYPE, configuration)
    }

    #[test]
    fn missing_or_none_encryption_is_unencrypted() {
        assert_eq!(encryption(json!({"Name": "s"})), Encryption::Unencrypted);
        assert_eq!(
            encryption(json!({"StreamEncryption": {"EncryptionType": "NONE"}})),
            Encryption::Unencrypted
        );
        assert_eq!(
            encryption(json!({"StreamEncryption": null})),
            Encryption::Unencrypted
        );
    }

    #[test]
    fn every_key_form_is_parsed() {
        for key in [
            "alias/aws/kinesis",
            "arn:aws:kms:us-east-1:111122223333:alias/aws/kinesis",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ] {
            assert_eq!(
                encryption(json!({"StreamEncryption": {"EncryptionType": "KMS", "KeyId": key}})),
                Encryption::Kms(KeyRef::parse(key).unwrap())
            );
        }
    }

    #[test]
    fn bad_key_and_type_name_the_field() {
        let err = assess(&item(
            RESOURCE_TYPE,
            json!({"StreamEncryption": {"EncryptionType": "KMS", "KeyId": "not a key"}}),
        ))
        .unwrap_err();
        assert!(err.to_string().contains("StreamEncryption.KeyId"), "{err}");
        let err = assess(&item(
            RESOURCE_TYPE,
            json!({"StreamEncryption": {"EncryptionType": "SSE"}}),
        ))
        .unwrap_err();
        assert!(err.to_string().contains("EncryptionType"), "{err}");
        let err = assess(&item(RESOURCE_TYPE, json!({"StreamEncryption": "KMS"}))).unwrap_err();
        assert!(
            err.to_string().contains("configuration.StreamEncryption"),
            "{err}"
        );
    }
}
