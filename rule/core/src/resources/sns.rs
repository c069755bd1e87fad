//! `AWS::SNS::Topic`. The item mirrors GetTopicAttributes: `KmsMasterKeyId` (any key form, as the
//! caller set it) when the topic uses server-side encryption; without one (absent or `""`) the
//! topic is not encrypted at rest with a KMS key
//! (https://docs.aws.amazon.com/sns/latest/dg/sns-server-side-encryption.html).

use serde::Deserialize;

use super::{Assessment, Encryption, Kind, key_at};
use crate::event::{ConfigItem, ParseError};
use crate::key::Service;

/// Config resource type.
pub const RESOURCE_TYPE: &str = "AWS::SNS::Topic";

/// The registry entry.
pub const KIND: Kind = Kind {
    config_type: RESOURCE_TYPE,
    service: Service::Sns,
    plural: "SNS topics",
    noun: "topic",
    fix: "aws sns set-topic-attributes --topic-arn <topic ARN> --attribute-name KmsMasterKeyId --attribute-value <CMK ARN>",
    assess,
    service_actions: &[
        "sns:ListTopics",
        "sns:GetTopicAttributes",
        "sns:ListTagsForResource",
    ],
    recorded_properties: &["configuration.TopicArn", "configuration.KmsMasterKeyId"],
    non_compliant_when: "no `KmsMasterKeyId` (or `\"\"`: not encrypted), or the key is AWS-managed (`alias/aws/sns` in any form)",
    compliant_when: "a customer-managed key",
};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Configuration<'a> {
    #[serde(default, borrow)]
    kms_master_key_id: Option<&'a str>,
}

pub(crate) fn assess(item: &ConfigItem) -> Result<Assessment, ParseError> {
    let cfg: Configuration = item.decode_configuration()?;
    let encryption = match cfg.kms_master_key_id {
        // SetTopicAttributes with KmsMasterKeyId "" turns encryption off.
        None | Some("") => Encryption::Unencrypted,
        Some(key) => Encryption::Kms(key_at(item, "configuration.KmsMasterKeyId", key)?),
    };
    Ok(Assessment::single(&KIND, encryption))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeyRef;
    use crate::resources::test_support::{item, own_encryption};
    use serde_json::{Value, json};

    fn encryption(configuration: Value) -> Encryption {
        own_encryption(assess, RESOURCE_TYPE, configuration)
    }

    #[test]
    fn no_key_is_unencrypted() {
        for cfg in [
            json!({"TopicArn": "arn:aws:sns:us-east-1:111122223333:t"}),
            json!({"KmsMasterKeyId": ""}),
            json!({"KmsMasterKeyId": null}),
        ] {
            assert_eq!(encryption(cfg.clone()), Encryption::Unencrypted, "{cfg}");
        }
    }

    #[test]
    fn every_key_form_is_parsed() {
        for key in [
            "alias/aws/sns",
            "arn:aws:kms:us-east-1:111122223333:alias/aws/sns",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ] {
            assert_eq!(
                encryption(json!({"KmsMasterKeyId": key})),
                Encryption::Kms(KeyRef::parse(key).unwrap())
            );
        }
    }

    #[test]
    fn a_bad_key_names_the_field() {
        let err = assess(&item(RESOURCE_TYPE, json!({"KmsMasterKeyId": "not a key"}))).unwrap_err();
        assert!(err.to_string().contains("KmsMasterKeyId"), "{err}");
        let err = assess(&item(RESOURCE_TYPE, json!({"KmsMasterKeyId": true}))).unwrap_err();
        assert!(err.to_string().contains("configuration"), "{err}");
    }
}
