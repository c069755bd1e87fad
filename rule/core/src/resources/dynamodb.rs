//! `AWS::DynamoDB::Table`. Config spells the fields camel case with lower-cased acronyms:
//! `ssedescription.{ssetype, kmsmasterKeyArn, status, inaccessibleEncryptionDateTime}` and
//! `replicas[].{regionName, kmsmasterKeyId, replicaStatus}`, not the DescribeTable API names.
//! No `ssedescription` means the AWS-owned key, which KMS cannot see; `aws/dynamodb` is only
//! recognisable through DescribeKey, since the item always stores a key ARN.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{Assessment, Encryption, KeyUse, Kind, Subject, key_at};
use crate::event::{ConfigItem, ParseError};
use crate::key::Service;

/// What puts a table on the AWS-owned key, as annotations name it.
const SSE_KMS_OFF: &str = "SSE-KMS off";

/// Config resource type.
pub const RESOURCE_TYPE: &str = "AWS::DynamoDB::Table";

/// The registry entry.
pub const KIND: Kind = Kind {
    config_type: RESOURCE_TYPE,
    service: Service::DynamoDb,
    plural: "DynamoDB tables",
    noun: "table",
    fix: "aws dynamodb update-table --sse-specification Enabled=true,SSEType=KMS,KMSMasterKeyId=<CMK ARN>",
    assess,
    service_actions: &[
        "dynamodb:ListTables",
        "dynamodb:DescribeTable",
        "dynamodb:ListTagsOfResource",
    ],
    recorded_properties: &[
        "configuration.tableName",
        "configuration.tableArn",
        "configuration.tableStatus",
        "configuration.ssedescription.status",
        "configuration.ssedescription.ssetype",
        "configuration.ssedescription.kmsmasterKeyArn",
        "configuration.ssedescription.inaccessibleEncryptionDateTime",
        "configuration.replicas.regionName",
        "configuration.replicas.kmsmasterKeyId",
        "configuration.replicas.replicaStatus",
    ],
    non_compliant_when: "no `ssedescription`, `AES256`, SSE disabled (= AWS-owned key), an AWS-managed key (`aws/dynamodb`, only knowable through DescribeKey), any replica without a key or on an AWS-managed key, or DynamoDB lost access to the key (`inaccessibleEncryptionDateTime`, `INACCESSIBLE_ENCRYPTION_CREDENTIALS`)",
    compliant_when: "customer-managed key on the table and every replica",
};
/// Table states in which DynamoDB has lost access to the key.
const INACCESSIBLE_STATES: [&str; 3] = [
    "INACCESSIBLE_ENCRYPTION_CREDENTIALS",
    "ARCHIVING",
    "ARCHIVED",
];

#[derive(Deserialize)]
struct Configuration<'a> {
    #[serde(default, borrow, rename = "tableStatus")]
    table_status: Option<&'a str>,
    #[serde(default, borrow, rename = "ssedescription")]
    sse: Option<Sse<'a>>,
    #[serde(default, borrow)]
    replicas: Option<Vec<Replica<'a>>>,
}

#[derive(Deserialize)]
struct Sse<'a> {
    #[serde(default, borrow, rename = "ssetype")]
    sse_type: Option<&'a str>,
    #[serde(default, borrow, rename = "kmsmasterKeyArn")]
    key_arn: Option<&'a str>,
    #[serde(default, borrow)]
    status: Option<&'a str>,
    #[serde(default, rename = "inaccessibleEncryptionDateTime")]
    inaccessible_since: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Replica<'a> {
    #[serde(default, borrow, rename = "regionName")]
    region: Option<&'a str>,
    #[serde(default, borrow, rename = "kmsmasterKeyId")]
    key_id: Option<&'a str>,
    #[serde(default, borrow, rename = "replicaStatus")]
    status: Option<&'a str>,
    /// Set when the replica lost access to its key (null or absent while accessible).
    #[serde(default, rename = "replicaInaccessibleDateTime")]
    inaccessible_since: Option<IgnoredAny>,
}

pub(crate) fn assess(item: &ConfigItem) -> Result<Assessment, ParseError> {
    let cfg: Configuration = item.decode_configuration()?;
    let assessment = |subject| Assessment {
        kind: &KIND,
        subject,
    };
    let status = cfg.table_status.unwrap_or_default();
    if status == "DELETING" {
        return Ok(assessment(Subject::NotApplicable(
            "table is being deleted".to_owned(),
        )));
    }
    let own = match &cfg.sse {
        None => Encryption::AwsOwned(SSE_KMS_OFF),
        Some(sse) if matches!(sse.status, Some("DISABLED" | "DISABLING")) => {
            Encryption::AwsOwned(SSE_KMS_OFF)
        }
        Some(sse) if sse.sse_type == Some("AES256") => Encryption::AwsOwned(SSE_KMS_OFF),
        Some(sse) => match sse.key_arn {
            Some(arn) if !arn.is_empty() => Encryption::Kms(key_at(
                item,
                "configuration.ssedescription.kmsmasterKeyArn",
                arn,
            )?),
            _ => {
                return Err(item.problem(
                    "configuration.ssedescription.kmsmasterKeyArn",
                    "is missing although SSE-KMS is on",
                ));
            }
        },
    };
    let on_kms = matches!(own, Encryption::Kms(_));
    let mut uses = vec![KeyUse::own(own)];
    // With SSE-KMS on the table, each replica names its own key; a replica without one is on
    // aws/dynamodb of its Region. On the AWS-owned key the replicas are too: the table verdict covers them.
    if on_kms {
        for (i, replica) in cfg.replicas.iter().flatten().enumerate() {
            let Some(region) = replica.region.filter(|r| !r.is_empty()) else {
                return Err(item.problem(
                    &format!("configuration.replicas[{i}].regionName"),
                    "is missing",
                ));
            };
            if region == item.region || replica.status == Some("DELETING") {
                continue;
            }
            let encryption = match replica.key_id {
                None | Some("") => Encryption::ServiceDefault,
                Some(key) => Encryption::Kms(key_at(
                    item,
                    &format!("configuration.replicas[{i}].kmsmasterKeyId"),
                    key,
                )?),
            };
            uses.push(KeyUse {
                part: Some(format!("replica {region}")),
                region: Some(region.to_owned()),
                encryption,
            });
        }
    }
    // Null means "accessible"; any other value is the date access was lost.
    let inaccessible = cfg
        .sse
        .as_ref()
        .is_some_and(|s| s.inaccessible_since.is_some());
    // A replica that lost access to its key holds data nobody can read or protect any more.
    let replica_lost = cfg.replicas.iter().flatten().find(|r| {
        r.inaccessible_since.is_some() || r.status == Some("INACCESSIBLE_ENCRYPTION_CREDENTIALS")
    });
    if let Some(r) = replica_lost {
        let region = r.region.unwrap_or("of unknown Region");
        return Ok(assessment(Subject::Encrypted {
            uses,
            problem: Some(format!(
                "replica {region} cannot access its key (INACCESSIBLE_ENCRYPTION_CREDENTIALS). Fix: restore access to the replica's key"
            )),
        }));
    }
    let problem = (inaccessible || INACCESSIBLE_STATES.contains(&status)).then(|| {
        "DynamoDB cannot access the table's key (inaccessible encryption credentials); \
         the table is archived after 7 days. Fix: restore access to the key"
            .to_owned()
    });
    Ok(assessment(Subject::Encrypted { uses, problem }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeyRef;
    use crate::resources::test_support::item;
    use serde_json::json;

    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn uses(configuration: serde_json::Value) -> Vec<KeyUse> {
        match assess(&item(RESOURCE_TYPE, configuration)).unwrap().subject {
            Subject::Encrypted { uses, .. } => uses,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn no_sse_description_aes256_or_disabled_is_aws_owned() {
        for cfg in [
            json!({"tableName": "t"}),
            json!({"ssedescription": null}),
            json!({"ssedescription": {"ssetype": "AES256", "status": "ENABLED"}}),
            json!({"ssedescription": {"ssetype": "KMS", "status": "DISABLED", "kmsmasterKeyArn": KEY}}),
        ] {
            assert_eq!(uses(cfg)[0].encryption, Encryption::AwsOwned(SSE_KMS_OFF));
        }
    }

    #[test]
    fn kms_key_and_replicas_are_read() {
        let eu_key = "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab";
        let got = uses(json!({
            "ssedescription": {"ssetype": "KMS", "status": "ENABLED", "kmsmasterKeyArn": KEY},
            "replicas": [
                {"regionName": "us-east-1", "kmsmasterKeyId": KEY},
                {"regionName": "eu-west-1", "kmsmasterKeyId": eu_key},
                {"regionName": "ap-south-1"},
                {"regionName": "sa-east-1", "replicaStatus": "DELETING"}
            ]
        }));
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0].encryption,
            Encryption::Kms(KeyRef::parse(KEY).unwrap())
        );
        assert_eq!(got[1].region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            got[1].encryption,
            Encryption::Kms(KeyRef::parse(eu_key).unwrap())
        );
        assert_eq!(got[2].encryption, Encryption::ServiceDefault);
    }

    #[test]
    fn a_replica_that_lost_its_key_is_a_problem() {
        let problem = |replica: serde_json::Value| {
            let cfg = json!({"ssedescription": {"ssetype": "KMS", "status": "ENABLED", "kmsmasterKeyArn": KEY},
                "replicas": [replica]});
            match assess(&item(RESOURCE_TYPE, cfg)).unwrap().subject {
                Subject::Encrypted { problem, .. } => problem,
                other => panic!("{other:?}"),
            }
        };
        for lost in [
            json!({"regionName": "eu-west-1", "replicaStatus": "INACCESSIBLE_ENCRYPTION_CREDENTIALS"}),
            json!({"regionName": "eu-west-1", "replicaStatus": "ACTIVE", "replicaInaccessibleDateTime": "2026-03-16T09:15:15.123Z"}),
        ] {
            let p = problem(lost).expect("a problem");
            assert!(
                p.contains("replica eu-west-1") && p.contains("INACCESSIBLE"),
                "{p}"
            );
        }
        assert_eq!(
            problem(
                json!({"regionName": "eu-west-1", "replicaStatus": "ACTIVE", "replicaInaccessibleDateTime": null})
            ),
            None
        );
    }

    #[test]
    fn deleting_table_is_not_applicable() {
        let a = assess(&item(RESOURCE_TYPE, json!({"tableStatus": "DELETING"}))).unwrap();
        assert!(matches!(a.subject, Subject::NotApplicable(_)));
    }

    #[test]
    fn inaccessible_key_is_a_problem() {
        let a = assess(&item(
            RESOURCE_TYPE,
            json!({"tableStatus": "INACCESSIBLE_ENCRYPTION_CREDENTIALS",
                   "ssedescription": {"ssetype": "KMS", "status": "ENABLED", "kmsmasterKeyArn": KEY,
                                      "inaccessibleEncryptionDateTime": "2026-01-01T00:00:00Z"}}),
        ))
        .unwrap();
        assert!(matches!(
            a.subject,
            Subject::Encrypted {
                problem: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn inaccessible_date_alone_is_a_problem_and_null_is_not() {
        let problem = |since: serde_json::Value| match assess(&item(
            RESOURCE_TYPE,
            json!({"tableStatus": "ACTIVE",
                   "ssedescription": {"ssetype": "KMS", "status": "ENABLED", "kmsmasterKeyArn": KEY,
                                      "inaccessibleEncryptionDateTime": since}}),
        ))
        .unwrap()
        .subject
        {
            Subject::Encrypted { problem, .. } => problem,
            other => panic!("{other:?}"),
        };
        assert!(problem(json!("2026-01-01T00:00:00Z")).is_some());
        assert!(problem(json!(null)).is_none());
    }

    #[test]
    fn kms_without_key_arn_is_an_error_naming_the_field() {
        let err = assess(&item(
            RESOURCE_TYPE,
            json!({"ssedescription": {"ssetype": "KMS", "status": "ENABLED"}}),
        ))
        .unwrap_err();
        assert!(
            err.to_string().contains("ssedescription.kmsmasterKeyArn"),
            "{err}"
        );
    }
}
