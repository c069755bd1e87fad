//! The control catalogue: every preventive control as data. Each artifact generator reads the
//! facts it needs from a [`Control`] and knows nothing about any particular control, so adding a
//! control is one entry here plus its tests. Each control names the resource type it protects by
//! its entry in the core's registry ([`cmk_core::resources::KINDS`]), so the detective and the
//! preventive side speak of the same types.

use cmk_core::resources::{self, Kind, dynamodb, kinesis, s3, secretsmanager, sns, sqs};

/// One IAM condition: `operator` → `key` → `values` (values are ORed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Condition {
    /// E.g. `StringLike`, `ForAnyValue:StringEquals`, `Null`.
    pub operator: &'static str,
    /// E.g. `secretsmanager:KmsKeyId`.
    pub key: &'static str,
    /// Values, ORed by IAM.
    pub values: &'static [&'static str],
}

/// The facts of one SCP Deny statement. The renderer adds the exemptions (break-glass, StackSets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScpDeny {
    /// Actions denied.
    pub actions: &'static [&'static str],
    /// Resources (usually `*`).
    pub resources: &'static [&'static str],
    /// Conditions, ANDed; empty means always.
    pub conditions: &'static [Condition],
    /// Applies to keys; when the options name a protection tag, only keys carrying it.
    pub on_protected_keys: bool,
    /// Guards the protection tag itself (changing or removing it); rendered only when the options
    /// name a protection tag.
    pub guards_protection_tag: bool,
}

/// One segment of a property path: an object key or an array index (Terraform nested blocks
/// are one-element arrays in plan JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seg {
    /// Object key.
    K(&'static str),
    /// Array index.
    I(usize),
}

/// A literal in a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lit {
    /// A string.
    Str(&'static str),
    /// A boolean.
    Bool(bool),
}

/// A property that must hold one of `values` before the key matters (e.g. `encryption_type` KMS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gate {
    /// Where the property is.
    pub path: &'static [Seg],
    /// Accepted values (CloudFormation booleans may be strings).
    pub values: &'static [Lit],
    /// Message when the gate is closed.
    pub message: &'static str,
}

/// Replicas: a list property whose elements each name their own key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replicas {
    /// The list.
    pub list: &'static [Seg],
    /// The key inside one element.
    pub key: &'static [Seg],
    /// The element's Region property (names the replica in messages).
    pub region: &'static str,
}

/// The IaC formats the Rego policies read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum IacFormat {
    /// `terraform show -json` plan.
    TerraformPlan,
    /// CloudFormation template (JSON or YAML).
    CloudFormation,
}

/// Where one resource type keeps its encryption key in one IaC format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyLayout {
    /// The format.
    pub format: IacFormat,
    /// `aws_kinesis_stream`, `AWS::Kinesis::Stream`, ...
    pub resource_type: &'static str,
    /// The service's AWS-managed alias, named in messages: the registry's, for its control's type.
    pub aws_alias: &'static str,
    /// Optional gate.
    pub gate: Option<Gate>,
    /// The resource's own key, if it has one.
    pub key: Option<&'static [Seg]>,
    /// Replicas with keys of their own.
    pub replicas: Option<Replicas>,
    /// Message when a key is absent.
    pub absent: &'static str,
}

/// How a control is enforced. Kinds without a generator yet are listed so the README and the
/// catalogue stay honest about where each control lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enforcement {
    /// A Deny statement in a Service Control Policy.
    Scp(ScpDeny),
    /// Cannot be an SCP; the text names what enforces it instead.
    NotAnScp(&'static str),
    /// Checked in infrastructure as code (Rego for Conftest/OPA).
    Iac(KeyLayout),
}

/// One control. Every SCP statement comes from a row here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Control {
    /// Stable id; appears in every artifact (e.g. as the SCP statement's Sid).
    pub id: &'static str,
    /// The resource type it protects; `None` for controls on the KMS keys themselves.
    pub resource: Option<&'static Kind>,
    /// One line: what the control prevents.
    pub prevents: &'static str,
    /// How it is enforced.
    pub enforce: &'static [Enforcement],
}

impl Control {
    /// The SCP statements of this control.
    pub fn scp_denies(&self) -> impl Iterator<Item = &'static ScpDeny> + '_ {
        self.enforce.iter().filter_map(|e| match e {
            Enforcement::Scp(d) => Some(d),
            _ => None,
        })
    }

    /// The IaC key layouts of this control.
    pub fn key_layouts(&self) -> impl Iterator<Item = &'static KeyLayout> + '_ {
        self.enforce.iter().filter_map(|e| match e {
            Enforcement::Iac(l) => Some(l),
            _ => None,
        })
    }

    /// The IAM `Sid` derived from the id: `CMK-SECRETS-CREATE` → `CmkSecretsCreate`.
    pub fn sid(&self) -> String {
        self.id
            .split('-')
            .map(|part| {
                let lower = part.to_ascii_lowercase();
                let mut chars = lower.chars();
                match chars.next() {
                    Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                    None => String::new(),
                }
            })
            .collect()
    }
}

/// AWS-managed key aliases of the supported services (KMS reserves `alias/aws/`), from the registry.
pub const AWS_MANAGED_ALIASES: &[&str] = &resources::AWS_MANAGED_ALIASES;

/// `secretsmanager:KmsKeyId` as an alias name or alias ARN of an AWS-managed key.
const AWS_ALIAS_PATTERNS: &[&str] = &["alias/aws/*", "arn:aws*:kms:*:*:alias/aws/*"];

/// S3's two SSE-KMS algorithms: SSE-KMS and DSSE-KMS, both judged by their key.
const S3_KMS_ALGORITHMS: &[Lit] = &[Lit::Str("aws:kms"), Lit::Str("aws:kms:dsse")];
/// `rule.apply_server_side_encryption_by_default` of a Terraform encryption configuration.
const S3_TF_ALGORITHM: &[Seg] = &[
    Seg::K("rule"),
    Seg::I(0),
    Seg::K("apply_server_side_encryption_by_default"),
    Seg::I(0),
    Seg::K("sse_algorithm"),
];
const S3_TF_KEY: &[Seg] = &[
    Seg::K("rule"),
    Seg::I(0),
    Seg::K("apply_server_side_encryption_by_default"),
    Seg::I(0),
    Seg::K("kms_master_key_id"),
];
/// `BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault` of a
/// CloudFormation bucket.
const S3_CFN_ALGORITHM: &[Seg] = &[
    Seg::K("BucketEncryption"),
    Seg::K("ServerSideEncryptionConfiguration"),
    Seg::I(0),
    Seg::K("ServerSideEncryptionByDefault"),
    Seg::K("SSEAlgorithm"),
];
const S3_CFN_KEY: &[Seg] = &[
    Seg::K("BucketEncryption"),
    Seg::K("ServerSideEncryptionConfiguration"),
    Seg::I(0),
    Seg::K("ServerSideEncryptionByDefault"),
    Seg::K("KMSMasterKeyID"),
];

/// The catalogue.
pub const CONTROLS: &[Control] = &[
    Control {
        id: "CMK-SECRETS-CREATE",
        resource: Some(&secretsmanager::KIND),
        prevents: "creating a secret without a KMS key (it would use aws/secretsmanager)",
        enforce: &[
            Enforcement::Scp(ScpDeny {
                actions: &["secretsmanager:CreateSecret"],
                resources: &["*"],
                // Null is only safe on CreateSecret: on UpdateSecret it would block every update.
                conditions: &[Condition {
                    operator: "Null",
                    key: "secretsmanager:KmsKeyId",
                    values: &["true"],
                }],
                on_protected_keys: false,
                guards_protection_tag: false,
            }),
            Enforcement::Iac(KeyLayout {
                format: IacFormat::TerraformPlan,
                resource_type: "aws_secretsmanager_secret",
                aws_alias: secretsmanager::KIND.service.aws_managed_alias(),
                gate: None,
                key: Some(&[Seg::K("kms_key_id")]),
                replicas: Some(Replicas {
                    list: &[Seg::K("replica")],
                    key: &[Seg::K("kms_key_id")],
                    region: "region",
                }),
                absent: "no kms_key_id: uses alias/aws/secretsmanager",
            }),
            Enforcement::Iac(KeyLayout {
                format: IacFormat::CloudFormation,
                resource_type: "AWS::SecretsManager::Secret",
                aws_alias: secretsmanager::KIND.service.aws_managed_alias(),
                gate: None,
                key: Some(&[Seg::K("KmsKeyId")]),
                replicas: Some(Replicas {
                    list: &[Seg::K("ReplicaRegions")],
                    key: &[Seg::K("KmsKeyId")],
                    region: "Region",
                }),
                absent: "no KmsKeyId: uses alias/aws/secretsmanager",
            }),
        ],
    },
    Control {
        id: "CMK-SECRETS-AWS-ALIAS",
        resource: Some(&secretsmanager::KIND),
        prevents: "creating or updating a secret with the AWS-managed alias/aws/* key",
        enforce: &[Enforcement::Scp(ScpDeny {
            actions: &["secretsmanager:CreateSecret", "secretsmanager:UpdateSecret"],
            resources: &["*"],
            conditions: &[Condition {
                operator: "StringLike",
                key: "secretsmanager:KmsKeyId",
                values: AWS_ALIAS_PATTERNS,
            }],
            on_protected_keys: false,
            guards_protection_tag: false,
        })],
    },
    Control {
        id: "CMK-SECRETS-DEFAULT-KEY",
        resource: Some(&secretsmanager::KIND),
        prevents: "switching a secret back to the default key (UpdateSecret with KmsKeyId \"\")",
        enforce: &[Enforcement::Scp(ScpDeny {
            actions: &["secretsmanager:UpdateSecret"],
            resources: &["*"],
            conditions: &[Condition {
                operator: "StringEquals",
                key: "secretsmanager:KmsKeyId",
                values: &[""],
            }],
            on_protected_keys: false,
            guards_protection_tag: false,
        })],
    },
    Control {
        id: "CMK-KINESIS-NO-DOWNGRADE",
        resource: Some(&kinesis::KIND),
        prevents: "turning off stream encryption (StopStreamEncryption)",
        enforce: &[Enforcement::Scp(ScpDeny {
            actions: &["kinesis:StopStreamEncryption"],
            resources: &["*"],
            conditions: &[],
            on_protected_keys: false,
            guards_protection_tag: false,
        })],
    },
    Control {
        id: "CMK-KINESIS-CREATE",
        resource: Some(&kinesis::KIND),
        prevents: "streams created or encrypted without a customer-managed key",
        enforce: &[
            Enforcement::NotAnScp(
                "CreateStream carries no key and Kinesis has no condition key for the encryption key; \
                 enforced by the Conftest/OPA policies, the CloudFormation Guard hook and the Config rule",
            ),
            Enforcement::Iac(KeyLayout {
                format: IacFormat::TerraformPlan,
                resource_type: "aws_kinesis_stream",
                aws_alias: kinesis::KIND.service.aws_managed_alias(),
                gate: Some(Gate {
                    path: &[Seg::K("encryption_type")],
                    values: &[Lit::Str("KMS")],
                    message: "stream is not encrypted (encryption_type must be KMS with a customer-managed key)",
                }),
                key: Some(&[Seg::K("kms_key_id")]),
                replicas: None,
                absent: "no kms_key_id",
            }),
            Enforcement::Iac(KeyLayout {
                format: IacFormat::CloudFormation,
                resource_type: "AWS::Kinesis::Stream",
                aws_alias: kinesis::KIND.service.aws_managed_alias(),
                gate: Some(Gate {
                    path: &[Seg::K("StreamEncryption"), Seg::K("EncryptionType")],
                    values: &[Lit::Str("KMS")],
                    message: "stream is not encrypted (StreamEncryption with EncryptionType KMS and a customer-managed KeyId)",
                }),
                key: Some(&[Seg::K("StreamEncryption"), Seg::K("KeyId")]),
                replicas: None,
                absent: "no StreamEncryption.KeyId",
            }),
        ],
    },
    Control {
        id: "CMK-DYNAMODB-CREATE",
        resource: Some(&dynamodb::KIND),
        prevents: "tables on the AWS-owned key or aws/dynamodb",
        enforce: &[
            Enforcement::NotAnScp(
                "DynamoDB has no condition key for SSESpecification and the AWS-owned key makes no KMS \
                 call; enforced by the Conftest/OPA policies, the CloudFormation Guard hook and the Config rule",
            ),
            Enforcement::Iac(KeyLayout {
                format: IacFormat::TerraformPlan,
                resource_type: "aws_dynamodb_table",
                aws_alias: dynamodb::KIND.service.aws_managed_alias(),
                gate: Some(Gate {
                    path: &[
                        Seg::K("server_side_encryption"),
                        Seg::I(0),
                        Seg::K("enabled"),
                    ],
                    values: &[Lit::Bool(true)],
                    message: "server_side_encryption is off: the table uses the AWS-owned key",
                }),
                key: Some(&[
                    Seg::K("server_side_encryption"),
                    Seg::I(0),
                    Seg::K("kms_key_arn"),
                ]),
                replicas: Some(Replicas {
                    list: &[Seg::K("replica")],
                    key: &[Seg::K("kms_key_arn")],
                    region: "region_name",
                }),
                absent: "no kms_key_arn: uses alias/aws/dynamodb",
            }),
            // A replica managed as its own resource; without `kms_key_arn` it is on
            // aws/dynamodb of its Region (the provider's documentation of the argument).
            Enforcement::Iac(KeyLayout {
                format: IacFormat::TerraformPlan,
                resource_type: "aws_dynamodb_table_replica",
                aws_alias: dynamodb::KIND.service.aws_managed_alias(),
                gate: None,
                key: Some(&[Seg::K("kms_key_arn")]),
                replicas: None,
                absent: "no kms_key_arn: the replica uses alias/aws/dynamodb",
            }),
            Enforcement::Iac(KeyLayout {
                format: IacFormat::CloudFormation,
                resource_type: "AWS::DynamoDB::Table",
                aws_alias: dynamodb::KIND.service.aws_managed_alias(),
                gate: Some(Gate {
                    path: &[Seg::K("SSESpecification"), Seg::K("SSEEnabled")],
                    values: &[Lit::Bool(true), Lit::Str("true")],
                    message: "SSESpecification.SSEEnabled is off: the table uses the AWS-owned key",
                }),
                key: Some(&[Seg::K("SSESpecification"), Seg::K("KMSMasterKeyId")]),
                replicas: None,
                absent: "no SSESpecification.KMSMasterKeyId: uses alias/aws/dynamodb",
            }),
            Enforcement::Iac(KeyLayout {
                format: IacFormat::CloudFormation,
                resource_type: "AWS::DynamoDB::GlobalTable",
                aws_alias: dynamodb::KIND.service.aws_managed_alias(),
                gate: Some(Gate {
                    path: &[Seg::K("SSESpecification"), Seg::K("SSEEnabled")],
                    values: &[Lit::Bool(true), Lit::Str("true")],
                    message: "SSESpecification.SSEEnabled is off: the replicas use the AWS-owned key",
                }),
                key: None,
                replicas: Some(Replicas {
                    list: &[Seg::K("Replicas")],
                    key: &[Seg::K("SSESpecification"), Seg::K("KMSMasterKeyId")],
                    region: "Region",
                }),
                absent: "no SSESpecification.KMSMasterKeyId: uses alias/aws/dynamodb",
            }),
        ],
    },
    Control {
        id: "CMK-SQS-CREATE",
        resource: Some(&sqs::KIND),
        prevents: "queues on SSE-SQS (the AWS-owned key), unencrypted, or on aws/sqs",
        enforce: &[
            Enforcement::NotAnScp(
                "SQS defines no condition key for a queue's KmsMasterKeyId or SqsManagedSseEnabled; \
                 enforced by the Conftest/OPA policies, the CloudFormation Guard hook and the Config rule",
            ),
            // Without kms_master_key_id the provider leaves the queue on SSE-SQS (or unencrypted
            // with sqs_managed_sse_enabled = false): the AWS-owned key either way.
            Enforcement::Iac(KeyLayout {
                format: IacFormat::TerraformPlan,
                resource_type: "aws_sqs_queue",
                aws_alias: sqs::KIND.service.aws_managed_alias(),
                gate: None,
                key: Some(&[Seg::K("kms_master_key_id")]),
                replicas: None,
                absent: "no kms_master_key_id: SSE-SQS (the AWS-owned key) or unencrypted",
            }),
            Enforcement::Iac(KeyLayout {
                format: IacFormat::CloudFormation,
                resource_type: "AWS::SQS::Queue",
                aws_alias: sqs::KIND.service.aws_managed_alias(),
                gate: None,
                key: Some(&[Seg::K("KmsMasterKeyId")]),
                replicas: None,
                absent: "no KmsMasterKeyId: SSE-SQS (the AWS-owned key) or unencrypted",
            }),
        ],
    },
    Control {
        id: "CMK-SNS-CREATE",
        resource: Some(&sns::KIND),
        prevents: "topics without a KMS key (not encrypted) or on aws/sns",
        enforce: &[
            Enforcement::NotAnScp(
                "SNS defines no condition key for a topic's KmsMasterKeyId; enforced by the \
                 Conftest/OPA policies, the CloudFormation Guard hook and the Config rule",
            ),
            Enforcement::Iac(KeyLayout {
                format: IacFormat::TerraformPlan,
                resource_type: "aws_sns_topic",
                aws_alias: sns::KIND.service.aws_managed_alias(),
                gate: None,
                key: Some(&[Seg::K("kms_master_key_id")]),
                replicas: None,
                absent: "no kms_master_key_id: the topic is not encrypted",
            }),
            Enforcement::Iac(KeyLayout {
                format: IacFormat::CloudFormation,
                resource_type: "AWS::SNS::Topic",
                aws_alias: sns::KIND.service.aws_managed_alias(),
                gate: None,
                key: Some(&[Seg::K("KmsMasterKeyId")]),
                replicas: None,
                absent: "no KmsMasterKeyId: the topic is not encrypted",
            }),
        ],
    },
    Control {
        id: "CMK-S3-CREATE",
        resource: Some(&s3::KIND),
        prevents: "buckets whose default encryption is SSE-S3 (the AWS-owned key) or SSE-KMS / DSSE-KMS on aws/s3",
        enforce: &[
            Enforcement::NotAnScp(
                "PutBucketEncryption (s3:PutEncryptionConfiguration) has no condition key for the \
                 algorithm or the key; enforced by the Conftest/OPA policies, the CloudFormation Guard \
                 hook and the Config rule (the object uploads are covered by CMK-S3-PUT-*)",
            ),
            // The bucket's default lives in its own resource since provider v4. A bucket with no
            // such resource gets SSE-S3, which a per-resource policy cannot see: the Config rule
            // judges it (README).
            Enforcement::Iac(KeyLayout {
                format: IacFormat::TerraformPlan,
                resource_type: "aws_s3_bucket_server_side_encryption_configuration",
                aws_alias: s3::KIND.service.aws_managed_alias(),
                gate: Some(Gate {
                    path: S3_TF_ALGORITHM,
                    values: S3_KMS_ALGORITHMS,
                    message: "default encryption is not SSE-KMS (sse_algorithm must be aws:kms or aws:kms:dsse with a customer-managed key; AES256 is the AWS-owned key)",
                }),
                key: Some(S3_TF_KEY),
                replicas: None,
                absent: "no kms_master_key_id: uses alias/aws/s3",
            }),
            Enforcement::Iac(KeyLayout {
                format: IacFormat::CloudFormation,
                resource_type: "AWS::S3::Bucket",
                aws_alias: s3::KIND.service.aws_managed_alias(),
                gate: Some(Gate {
                    path: S3_CFN_ALGORITHM,
                    values: S3_KMS_ALGORITHMS,
                    message: "default encryption is not SSE-KMS (BucketEncryption with SSEAlgorithm aws:kms or aws:kms:dsse and a customer-managed KMSMasterKeyID; none or AES256 is the AWS-owned key)",
                }),
                key: Some(S3_CFN_KEY),
                replicas: None,
                absent: "no KMSMasterKeyID: uses alias/aws/s3",
            }),
        ],
    },
    Control {
        id: "CMK-S3-PUT-NO-KEY",
        resource: Some(&s3::KIND),
        prevents: "uploads that ask for SSE-KMS or DSSE-KMS without naming a key (S3 then uses aws/s3)",
        enforce: &[Enforcement::Scp(ScpDeny {
            actions: &["s3:PutObject"],
            resources: &["*"],
            conditions: &[
                Condition {
                    operator: "StringEquals",
                    key: "s3:x-amz-server-side-encryption",
                    values: &["aws:kms", "aws:kms:dsse"],
                },
                Condition {
                    operator: "Null",
                    key: "s3:x-amz-server-side-encryption-aws-kms-key-id",
                    values: &["true"],
                },
            ],
            on_protected_keys: false,
            guards_protection_tag: false,
        })],
    },
    Control {
        id: "CMK-S3-PUT-AWS-ALIAS",
        resource: Some(&s3::KIND),
        prevents: "uploads that name the AWS-managed key by its alias (alias/aws/s3)",
        enforce: &[Enforcement::Scp(ScpDeny {
            actions: &["s3:PutObject"],
            resources: &["*"],
            conditions: &[Condition {
                operator: "StringLike",
                key: "s3:x-amz-server-side-encryption-aws-kms-key-id",
                values: AWS_ALIAS_PATTERNS,
            }],
            on_protected_keys: false,
            guards_protection_tag: false,
        })],
    },
    Control {
        id: "CMK-S3-PUT-SSE-S3",
        resource: Some(&s3::KIND),
        prevents: "uploads that ask for SSE-S3 (AES256, the AWS-owned key) over the bucket's default",
        enforce: &[Enforcement::Scp(ScpDeny {
            actions: &["s3:PutObject"],
            resources: &["*"],
            conditions: &[Condition {
                operator: "StringEquals",
                key: "s3:x-amz-server-side-encryption",
                values: &["AES256"],
            }],
            on_protected_keys: false,
            guards_protection_tag: false,
        })],
    },
    Control {
        id: "CMK-KMS-NO-AWS-MANAGED",
        resource: None,
        prevents: "encrypting new data under the supported services' AWS-managed keys (alias/aws/<service>)",
        enforce: &[Enforcement::Scp(ScpDeny {
            // Decrypt stays allowed so that existing data remains readable.
            actions: &[
                "kms:Encrypt",
                "kms:GenerateDataKey*",
                "kms:ReEncryptTo",
                "kms:CreateGrant",
            ],
            resources: &["*"],
            // ForAnyValue: an absent key is false, so the Deny never spreads to other calls.
            conditions: &[Condition {
                operator: "ForAnyValue:StringEquals",
                key: "kms:ResourceAliases",
                values: AWS_MANAGED_ALIASES,
            }],
            on_protected_keys: false,
            guards_protection_tag: false,
        })],
    },
    Control {
        id: "CMK-KMS-PROTECT",
        resource: None,
        prevents: "disabling, deleting or weakening customer-managed keys (data loss)",
        enforce: &[
            Enforcement::Scp(ScpDeny {
                actions: &[
                    "kms:DisableKey",
                    "kms:ScheduleKeyDeletion",
                    "kms:DisableKeyRotation",
                    "kms:PutKeyPolicy",
                    "kms:DeleteImportedKeyMaterial",
                ],
                resources: &["*"],
                conditions: &[],
                on_protected_keys: true,
                guards_protection_tag: false,
            }),
            // Without this, removing the tag would lift the protection.
            Enforcement::Scp(ScpDeny {
                actions: &["kms:TagResource", "kms:UntagResource"],
                resources: &["*"],
                conditions: &[],
                on_protected_keys: false,
                guards_protection_tag: true,
            }),
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for c in CONTROLS {
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
            assert!(
                c.id.starts_with("CMK-")
                    && c.id
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-'),
                "{}",
                c.id
            );
            assert!(!c.enforce.is_empty(), "{} is enforced nowhere", c.id);
            assert!(
                c.sid().bytes().all(|b| b.is_ascii_alphanumeric()),
                "{}",
                c.sid()
            );
        }
    }

    #[test]
    fn every_registered_type_has_a_control_and_each_layout_names_its_alias() {
        for kind in resources::KINDS {
            let controls: Vec<_> = CONTROLS
                .iter()
                .filter(|c| c.resource == Some(kind))
                .collect();
            assert!(!controls.is_empty(), "{} has no control", kind.config_type);
            // The CloudFormation layouts cover the type itself (Guard and Rego read them).
            assert!(
                controls
                    .iter()
                    .flat_map(|c| c.key_layouts())
                    .any(|l| l.format == IacFormat::CloudFormation
                        && l.resource_type == kind.config_type),
                "{} has no CloudFormation layout",
                kind.config_type
            );
            for layout in controls.iter().flat_map(|c| c.key_layouts()) {
                assert_eq!(
                    layout.aws_alias,
                    kind.service.aws_managed_alias(),
                    "{}",
                    layout.resource_type
                );
            }
        }
        assert!(AWS_MANAGED_ALIASES.contains(&"alias/aws/sqs"));
        assert!(AWS_MANAGED_ALIASES.contains(&"alias/aws/sns"));
    }

    #[test]
    fn sid_is_camel_case_of_the_id() {
        assert_eq!(CONTROLS[0].sid(), "CmkSecretsCreate");
    }

    #[test]
    fn no_deny_uses_for_all_values() {
        // A Deny with ForAllValues is true when the key is absent (resource-shapes / scp-and-iam §4).
        for c in CONTROLS {
            for d in c.scp_denies() {
                assert!(
                    d.conditions
                        .iter()
                        .all(|k| !k.operator.starts_with("ForAllValues:")),
                    "{}",
                    c.id
                );
            }
        }
    }
}
