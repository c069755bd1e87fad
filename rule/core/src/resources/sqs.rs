//! `AWS::SQS::Queue`. The item mirrors GetQueueAttributes: `KmsMasterKeyId` (any key form, as
//! the caller set it) when the queue uses SSE-KMS, and `SqsManagedSseEnabled` (`"true"`; the
//! resource schema types it as a string, a boolean is read too) when it uses SSE-SQS, the
//! AWS-owned key. A queue uses one of the two at most
//! (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html),
//! so a key id decides; neither means the queue is not encrypted. Either way without a key
//! the queue is NON_COMPLIANT; the setting only changes the annotation.

use serde::Deserialize;
use serde_json::Value;

use super::{Assessment, Encryption, Kind, key_at};
use crate::event::{ConfigItem, ParseError};
use crate::key::Service;

/// Config resource type.
pub const RESOURCE_TYPE: &str = "AWS::SQS::Queue";

/// The registry entry.
pub const KIND: Kind = Kind {
    config_type: RESOURCE_TYPE,
    service: Service::Sqs,
    plural: "SQS queues",
    noun: "queue",
    fix: "aws sqs set-queue-attributes --queue-url <queue URL> --attributes KmsMasterKeyId=<CMK ARN>",
    assess,
    service_actions: &[
        "sqs:ListQueues",
        "sqs:GetQueueAttributes",
        "sqs:ListQueueTags",
    ],
    recorded_properties: &[
        "configuration.QueueArn",
        "configuration.KmsMasterKeyId",
        "configuration.SqsManagedSseEnabled",
    ],
    non_compliant_when: "no `KmsMasterKeyId` and `SqsManagedSseEnabled` off (unencrypted) or on (SSE-SQS = AWS-owned key), or the key is AWS-managed (`alias/aws/sqs` in any form)",
    compliant_when: "SSE-KMS with a customer-managed key",
};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Configuration<'a> {
    #[serde(default, borrow)]
    kms_master_key_id: Option<&'a str>,
    #[serde(default)]
    sqs_managed_sse_enabled: Option<Value>,
}

pub(crate) fn assess(item: &ConfigItem) -> Result<Assessment, ParseError> {
    let cfg: Configuration = item.decode_configuration()?;
    let encryption = match cfg.kms_master_key_id {
        Some(key) if !key.is_empty() => {
            Encryption::Kms(key_at(item, "configuration.KmsMasterKeyId", key)?)
        }
        // SetQueueAttributes with KmsMasterKeyId "" turns SSE-KMS off.
        _ => match cfg.sqs_managed_sse_enabled {
            Some(Value::Bool(true)) => Encryption::AwsOwned("SSE-SQS"),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => {
                Encryption::AwsOwned("SSE-SQS")
            }
            None | Some(Value::Null) | Some(Value::Bool(false)) => Encryption::Unencrypted,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Encryption::Unencrypted,
            Some(other) => {
                return Err(item.problem(
                    "configuration.SqsManagedSseEnabled",
                    format!("unknown value `{other}` (expected true or false)"),
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

    fn encryption(configuration: Value) -> Encryption {
        own_encryption(assess, RESOURCE_TYPE, configuration)
    }

    #[test]
    fn sse_sqs_is_the_aws_owned_key() {
        for on in [json!("true"), json!(true), json!("TRUE")] {
            assert_eq!(
                encryption(json!({"QueueName": "q", "SqsManagedSseEnabled": on})),
                Encryption::AwsOwned("SSE-SQS")
            );
        }
    }

    #[test]
    fn neither_setting_is_unencrypted() {
        for cfg in [
            json!({"QueueName": "q"}),
            json!({"SqsManagedSseEnabled": "false"}),
            json!({"SqsManagedSseEnabled": false, "KmsMasterKeyId": ""}),
            json!({"SqsManagedSseEnabled": null, "KmsMasterKeyId": null}),
        ] {
            assert_eq!(encryption(cfg.clone()), Encryption::Unencrypted, "{cfg}");
        }
    }

    #[test]
    fn a_key_decides_in_every_form() {
        for key in [
            "alias/aws/sqs",
            "arn:aws:kms:us-east-1:111122223333:alias/aws/sqs",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ] {
            // SqsManagedSseEnabled left "true" beside a key (as some readers report the
            // default) does not make the queue AWS-owned: a queue has one encryption.
            for sse in [json!("false"), json!("true")] {
                assert_eq!(
                    encryption(json!({"KmsMasterKeyId": key, "SqsManagedSseEnabled": sse})),
                    Encryption::Kms(KeyRef::parse(key).unwrap())
                );
            }
        }
    }

    #[test]
    fn bad_values_name_the_field() {
        let err = assess(&item(RESOURCE_TYPE, json!({"KmsMasterKeyId": "not a key"}))).unwrap_err();
        assert!(err.to_string().contains("KmsMasterKeyId"), "{err}");
        let err = assess(&item(RESOURCE_TYPE, json!({"SqsManagedSseEnabled": "yes"}))).unwrap_err();
        assert!(err.to_string().contains("SqsManagedSseEnabled"), "{err}");
        let err = assess(&item(RESOURCE_TYPE, json!({"KmsMasterKeyId": 7}))).unwrap_err();
        assert!(err.to_string().contains("configuration"), "{err}");
    }
}
