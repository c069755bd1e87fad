//! CloudFormation templates from the catalogue: the Config rule (Lambda, least-privilege role,
//! invoke permission, change-triggered and periodic rules), a conformance pack and an
//! organization conformance pack that use it, the SCP stack, and the Guard hook.

use serde_json::{Value, json};

use super::guard;
use super::scp::{ScpOptions, pretty, render_scps};
use super::{Artifact, RenderError};
use crate::catalogue::{Control, IacFormat};
use cmk_core::resources::{KINDS, KMS_KEY, SUPPORTED};

/// Output folder, relative to the repository root.
pub const DIR: &str = "cloudformation";

/// The Config resource types the rule evaluates: the registry's, sorted.
pub(crate) fn config_types() -> Vec<&'static str> {
    let mut types = SUPPORTED.to_vec();
    types.sort_unstable();
    types
}

/// What the rule's description says it checks, from the registry: "Kinesis streams, Secrets
/// Manager secrets and DynamoDB tables".
pub fn rule_subjects() -> String {
    let plurals: Vec<&str> = KINDS.iter().map(|k| k.plural).collect();
    match plurals.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

pub(crate) fn skip(id: &str, comment: &str) -> Value {
    json!({"id": id, "comment": comment})
}

/// The rule parameters; the rule treats an empty value as "not set".
fn input_parameters() -> Value {
    json!({
        "allowedKeyArns": {"Ref": "AllowedKeyArns"},
        "allowedKeyAccounts": {"Ref": "AllowedKeyAccounts"},
        "exemptTag": {"Ref": "ExemptTag"},
        "requireKeyRotation": {"Ref": "RequireKeyRotation"},
    })
}

/// The Config rule template (`cloudformation/config-rule.json`), as deployed by the StackSet.
pub fn config_rule() -> String {
    pretty(&config_rule_template()) + "\n"
}

/// The change-triggered rule also receives key changes: a key disabled, scheduled for deletion,
/// re-enabled or with rotation turned off re-evaluates the resources that use it within minutes
/// (the recorder must record `AWS::KMS::Key`; otherwise the periodic sweep catches it).
pub(crate) fn change_scope(types: &[&'static str]) -> Vec<&'static str> {
    let mut scope = types.to_vec();
    scope.push(KMS_KEY);
    scope.sort_unstable();
    scope
}

/// The calls the rule makes whatever the types: Config's, and KMS's for the keys.
/// The calls the rule makes whatever the resource type: reporting, history, the recorded inventory
/// and the keys.
pub const COMMON_ACTIONS: [&str; 9] = [
    "config:PutEvaluations",
    "config:GetResourceConfigHistory",
    "config:GetComplianceDetailsByConfigRule",
    // The sweep from the recorded inventory: what the recorder records, then the items.
    "config:DescribeConfigurationRecorders",
    "config:DescribeConfigurationRecorderStatus",
    "config:SelectResourceConfig",
    "kms:DescribeKey",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
];

/// Every call the rule makes in the evaluated account: the function's role in per-account mode,
/// the member role in central mode. The common calls, then each registered type's service calls.
pub fn rule_actions() -> Value {
    let types = KINDS.iter().flat_map(|k| k.service_actions.iter());
    Value::from(
        COMMON_ACTIONS
            .iter()
            .chain(types)
            .map(|a| (*a).to_owned())
            .collect::<Vec<_>>(),
    )
}

/// The change-triggered and periodic rules' properties, their source being `function`.
pub(crate) fn rule_properties(
    suffix: &str,
    types: &[&str],
    details: Value,
    function: Value,
    parameters: Value,
) -> Value {
    json!({
        "ConfigRuleName": {"Fn::Sub": format!("${{RuleName}}{suffix}")},
        "Description": format!("{} must use customer-managed KMS keys (cmk-guardrails).", rule_subjects()),
        "InputParameters": parameters,
        "Scope": {"ComplianceResourceTypes": types},
        "Source": {"Owner": "CUSTOM_LAMBDA", "SourceIdentifier": function, "SourceDetails": details},
    })
}

/// Both change message types, or oversized changes are never evaluated.
pub(crate) fn change_details() -> Value {
    json!([
        {"EventSource": "aws.config", "MessageType": "ConfigurationItemChangeNotification"},
        {"EventSource": "aws.config", "MessageType": "OversizedConfigurationItemChangeNotification"},
    ])
}

/// The sweep, every `SweepFrequency`.
pub(crate) fn periodic_details() -> Value {
    json!([
        {"EventSource": "aws.config", "MessageType": "ScheduledNotification", "MaximumExecutionFrequency": {"Ref": "SweepFrequency"}},
    ])
}

fn config_rule_template() -> Value {
    let types = config_types();
    let change_types = change_scope(&types);
    let actions = rule_actions();
    let rule_props = |name: &str, types: &[&str], details: Value| {
        rule_properties(
            name,
            types,
            details,
            json!({"Fn::GetAtt": ["RuleFunction", "Arn"]}),
            input_parameters(),
        )
    };
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "cmk-guardrails: AWS Config custom rule requiring customer-managed KMS keys. Generated by `guardrails generate`; do not edit.",
        "Parameters": {
            "CodeBucket": {"Type": "String", "Description": "S3 bucket holding the Lambda zip (bootstrap built by scripts/build-lambda)."},
            "CodeKey": {"Type": "String", "Description": "S3 key of the Lambda zip."},
            "CodeBucketRegionSuffix": {"Type": "String", "Default": "false", "AllowedValues": ["true", "false"], "Description": "true: the code is read from CodeBucket-<Region> (Lambda reads code only from a bucket in its own Region; one bucket per Region for multi-Region deploys)."},
            "RuleName": {"Type": "String", "Default": "cmk-required"},
            "AllowedKeyArns": {"Type": "String", "Default": "", "Description": "Comma-separated key ARNs, alias ARNs, alias names or key ids; empty: any CMK."},
            "AllowedKeyAccounts": {"Type": "String", "Default": "", "Description": "Comma-separated 12-digit account ids; empty: any account."},
            "ExemptTag": {"Type": "String", "Default": "", "Description": "Key or Key=Value; resources carrying it are NOT_APPLICABLE."},
            "RequireKeyRotation": {"Type": "String", "Default": "false", "AllowedValues": ["true", "false"]},
            "SweepFrequency": {"Type": "String", "Default": "TwentyFour_Hours", "AllowedValues": ["One_Hour", "Three_Hours", "Six_Hours", "Twelve_Hours", "TwentyFour_Hours"]},
            "LogRetentionDays": {"Type": "Number", "Default": 365},
        },
        "Conditions": {
            "RegionalCodeBucket": {"Fn::Equals": [{"Ref": "CodeBucketRegionSuffix"}, "true"]},
        },
        "Resources": {
            "RuleRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole",
                    }]},
                    "Policies": [{
                        "PolicyName": "cmk-rule",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                            {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                             "Resource": {"Fn::GetAtt": ["RuleLogGroup", "Arn"]}},
                            {"Sid": "ReadAndReport", "Effect": "Allow", "Action": actions, "Resource": "*"},
                        ]},
                    }],
                },
                "Metadata": {"checkov": {"skip": [
                    skip("CKV_AWS_111", "Read-only describe/list calls and config:PutEvaluations, which AWS does not let you scope to a resource; keys may live in any account."),
                ]}},
            },
            "RuleLogGroup": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {
                    "LogGroupName": {"Fn::Sub": "/aws/lambda/${RuleName}"},
                    "RetentionInDays": {"Ref": "LogRetentionDays"},
                },
                "Metadata": {"checkov": {"skip": [
                    skip("CKV_AWS_158", "The logs hold verdicts and key ARNs, no secrets; encrypt with your own CMK by adding KmsKeyId if your policy requires it."),
                ]}},
            },
            "RuleFunction": {
                "Type": "AWS::Lambda::Function",
                "DependsOn": ["RuleLogGroup"],
                "Properties": {
                    "FunctionName": {"Ref": "RuleName"},
                    "Description": "cmk-guardrails Config rule",
                    "Runtime": "provided.al2023",
                    "Architectures": ["arm64"],
                    "Handler": "bootstrap",
                    "MemorySize": 256,
                    "Timeout": 900,
                    "ReservedConcurrentExecutions": 5,
                    "Role": {"Fn::GetAtt": ["RuleRole", "Arn"]},
                    "Code": {
                        "S3Bucket": {"Fn::If": ["RegionalCodeBucket", {"Fn::Sub": "${CodeBucket}-${AWS::Region}"}, {"Ref": "CodeBucket"}]},
                        "S3Key": {"Ref": "CodeKey"},
                    },
                    "Environment": {"Variables": {"RUST_LOG": "info"}},
                },
                "Metadata": {"checkov": {"skip": [
                    skip("CKV_AWS_116", "Config invokes the rule asynchronously and re-evaluates on the next change or sweep; a failed invocation is logged with its cause, a DLQ would add nothing to act on."),
                    skip("CKV_AWS_117", "The function only calls AWS APIs; a VPC would need NAT or endpoints for six services without adding protection."),
                    skip("CKV_AWS_173", "The only environment variable is the log level."),
                ]}},
            },
            // Config invokes the function asynchronously, and Lambda retries a failed asynchronous
            // invocation twice by default. The function only fails when a retry may help
            // (throttling, 5xx, timeouts: after the SDK's own five attempts); a permanent failure
            // is logged and the invocation succeeds. One retry, about a minute later, covers an
            // outage longer than the SDK's backoff; a second would double a failing 15-minute
            // sweep for little gain, and the next change or sweep re-evaluates anyway. An event
            // older than an hour is dropped: the hourly sweep (the shortest period) has replaced it.
            "RuleInvokeConfig": {
                "Type": "AWS::Lambda::EventInvokeConfig",
                "Properties": {
                    "FunctionName": {"Ref": "RuleFunction"},
                    "Qualifier": "$LATEST",
                    "MaximumRetryAttempts": 1,
                    "MaximumEventAgeInSeconds": 3600,
                },
                "Metadata": {"cmk-guardrails": {"why": "One Lambda retry, only for failures a retry can fix (the function succeeds on permanent ones); events older than the shortest sweep period are dropped."}},
            },
            "ConfigInvokePermission": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": {"Fn::GetAtt": ["RuleFunction", "Arn"]},
                    "Principal": "config.amazonaws.com",
                    "SourceAccount": {"Ref": "AWS::AccountId"},
                },
            },
            "ChangeRule": {
                "Type": "AWS::Config::ConfigRule",
                "DependsOn": ["ConfigInvokePermission"],
                // Both change message types, or oversized changes are never evaluated.
                "Properties": rule_props("", &change_types, change_details()),
            },
            "PeriodicRule": {
                "Type": "AWS::Config::ConfigRule",
                "DependsOn": ["ConfigInvokePermission"],
                "Properties": rule_props("-periodic", &types, periodic_details()),
            },
        },
        "Outputs": {
            "FunctionArn": {"Value": {"Fn::GetAtt": ["RuleFunction", "Arn"]}},
            "ChangeRuleName": {"Value": {"Ref": "ChangeRule"}},
        },
    })
}

fn conformance_pack_body(types: &[&str]) -> String {
    let rule = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"RuleFunctionArn": {"Type": "String"}},
        "Resources": {"CmkRequired": {"Type": "AWS::Config::ConfigRule", "Properties": {
            "ConfigRuleName": "cmk-required",
            "Scope": {"ComplianceResourceTypes": types},
            "Source": {"Owner": "CUSTOM_LAMBDA", "SourceIdentifier": {"Ref": "RuleFunctionArn"}, "SourceDetails": [
                {"EventSource": "aws.config", "MessageType": "ConfigurationItemChangeNotification"},
                {"EventSource": "aws.config", "MessageType": "OversizedConfigurationItemChangeNotification"},
                {"EventSource": "aws.config", "MessageType": "ScheduledNotification", "MaximumExecutionFrequency": "TwentyFour_Hours"},
            ]},
        }}},
    });
    pretty(&rule)
}

fn conformance_pack_template(organization: bool) -> Value {
    let types = config_types();
    let (ty, name_key, extra) = if organization {
        (
            "AWS::Config::OrganizationConformancePack",
            "OrganizationConformancePackName",
            json!({"ExcludedAccounts": {"Fn::If": ["HasExcludedAccounts", {"Ref": "ExcludedAccounts"}, {"Ref": "AWS::NoValue"}]}}),
        )
    } else {
        (
            "AWS::Config::ConformancePack",
            "ConformancePackName",
            json!({}),
        )
    };
    let mut props = json!({
        name_key: {"Ref": "PackName"},
        "TemplateBody": conformance_pack_body(&change_scope(&types)),
        "ConformancePackInputParameters": [{"ParameterName": "RuleFunctionArn", "ParameterValue": {"Ref": "RuleFunctionArn"}}],
    });
    if let (Value::Object(p), Value::Object(e)) = (&mut props, extra) {
        p.extend(e);
    }
    let mut params = json!({
        "PackName": {"Type": "String", "Default": "cmk-guardrails"},
        "RuleFunctionArn": {"Type": "String", "Description": "ARN of a cmk-guardrails rule function: the central function of guardrails deploy (each account the pack reaches then needs the member role and an invoke permission, which deploy gives the accounts below its OUs), or the per-account function of config-rule.json in the evaluated account."},
    });
    if organization && let Value::Object(p) = &mut params {
        p.insert(
            "ExcludedAccounts".into(),
            json!({"Type": "CommaDelimitedList", "Default": ""}),
        );
    }
    let conditions = if organization {
        json!({"HasExcludedAccounts": {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "ExcludedAccounts"}]}, ""]}]}})
    } else {
        json!({})
    };
    let mut template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("cmk-guardrails: {} with the customer-managed-key rule. Generated by `guardrails generate`; do not edit.", if organization { "organization conformance pack" } else { "conformance pack" }),
        "Parameters": params,
        "Resources": {"Pack": {"Type": ty, "Properties": props}},
    });
    if organization && let Value::Object(t) = &mut template {
        t.insert("Conditions".into(), conditions);
    }
    template
}

fn scp_template(controls: &[Control], opts: &ScpOptions) -> Result<Value, RenderError> {
    let mut resources = serde_json::Map::new();
    for (i, a) in render_scps(controls, opts)?.iter().enumerate() {
        let doc: Value = serde_json::from_str(&a.content).unwrap_or(Value::Null);
        resources.insert(
            format!("GuardrailsScp{}", i + 1),
            json!({"Type": "AWS::Organizations::Policy", "Properties": {
                "Name": format!("cmk-guardrails-{}", i + 1),
                "Description": "cmk-guardrails: customer-managed KMS keys (generated)",
                "Type": "SERVICE_CONTROL_POLICY",
                "Content": doc,
                "TargetIds": {"Ref": "TargetIds"},
            }}),
        );
    }
    Ok(json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "cmk-guardrails: the generated Service Control Policies, attached to the given OUs or accounts. Deploy in the management account. Generated by `guardrails generate`; do not edit.",
        "Parameters": {"TargetIds": {"Type": "CommaDelimitedList", "Description": "Root, OU or account ids to attach the SCPs to (e.g. the sandbox OU)."}},
        "Resources": resources,
    }))
}

fn guard_hook_template(controls: &[Control]) -> Value {
    let mut targets: Vec<&str> = controls
        .iter()
        .flat_map(|c| c.key_layouts())
        .filter(|l| l.format == IacFormat::CloudFormation)
        .map(|l| l.resource_type)
        .collect();
    targets.sort_unstable();
    targets.dedup();
    let filters: Vec<Value> = targets
        .iter()
        .flat_map(|t| {
            ["CREATE", "UPDATE"]
                .map(|a| json!({"TargetName": t, "Action": a, "InvocationPoint": "PRE_PROVISION"}))
        })
        .collect();
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("cmk-guardrails: CloudFormation Guard hook enforcing {} at deploy time (proactive). Upload policies/guard/cmk.guard to S3 first. Generated by `guardrails generate`; do not edit.", guard::DIR),
        "Parameters": {
            "RuleBucket": {"Type": "String", "Description": "S3 bucket holding cmk.guard."},
            "RuleKey": {"Type": "String", "Default": "cmk.guard"},
            "FailureMode": {"Type": "String", "Default": "FAIL", "AllowedValues": ["FAIL", "WARN"]},
        },
        "Resources": {
            "HookRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                        "Effect": "Allow", "Principal": {"Service": "hooks.cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                    }]},
                    "Policies": [{"PolicyName": "read-guard-rules", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                        "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                        "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${RuleBucket}/${RuleKey}"},
                    }]}}],
                },
            },
            "GuardHook": {
                "Type": "AWS::CloudFormation::GuardHook",
                "Properties": {
                    "Alias": "CmkGuardrails::Kms::GuardHook",
                    "ExecutionRole": {"Fn::GetAtt": ["HookRole", "Arn"]},
                    "FailureMode": {"Ref": "FailureMode"},
                    "HookStatus": "ENABLED",
                    "RuleLocation": {"Uri": {"Fn::Sub": "s3://${RuleBucket}/${RuleKey}"}},
                    "TargetOperations": ["RESOURCE"],
                    "TargetFilters": {"Targets": filters},
                },
            },
        },
    })
}

/// Renders the CloudFormation templates.
pub fn render_cfn(controls: &[Control], scp: &ScpOptions) -> Result<Vec<Artifact>, RenderError> {
    let file = |name: &str, v: &Value| Artifact {
        path: format!("{DIR}/{name}"),
        content: pretty(v) + "\n",
    };
    Ok(vec![
        Artifact {
            path: format!("{DIR}/config-rule.json"),
            content: config_rule(),
        },
        file("conformance-pack.json", &conformance_pack_template(false)),
        file(
            "organization-conformance-pack.json",
            &conformance_pack_template(true),
        ),
        file("scp.json", &scp_template(controls, scp)?),
        file("guard-hook.json", &guard_hook_template(controls)),
        file("code-bucket.json", &super::central::code_bucket()),
        file(
            "central-function.json",
            &super::central::central_function(&[]),
        ),
        file("member.json", &super::central::member()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::CONTROLS;

    fn skips(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::Array(list)) = m.get("checkov").and_then(|c| c.get("skip")) {
                    out.extend(list.iter().cloned());
                }
                m.values().for_each(|x| skips(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| skips(x, out)),
            _ => {}
        }
    }

    #[test]
    fn every_checkov_skip_carries_a_written_reason() {
        let mut all = Vec::new();
        for a in render_cfn(CONTROLS, &ScpOptions::default()).unwrap() {
            skips(&serde_json::from_str(&a.content).unwrap(), &mut all);
        }
        assert!(!all.is_empty());
        for s in &all {
            assert!(s["id"].as_str().unwrap().starts_with("CKV_"), "{s}");
            assert!(s["comment"].as_str().unwrap().len() > 20, "{s}");
        }
    }

    #[test]
    fn the_rule_listens_to_both_change_message_types_and_sweeps() {
        let t = config_rule_template();
        let change =
            t["Resources"]["ChangeRule"]["Properties"]["Source"]["SourceDetails"].to_string();
        assert!(
            change.contains("\"ConfigurationItemChangeNotification\"")
                && change.contains("Oversized")
        );
        let periodic =
            t["Resources"]["PeriodicRule"]["Properties"]["Source"]["SourceDetails"].to_string();
        assert!(periodic.contains("ScheduledNotification"));
        let permission = &t["Resources"]["ConfigInvokePermission"]["Properties"];
        assert_eq!(permission["Principal"], "config.amazonaws.com");
        assert!(permission.get("SourceAccount").is_some());
    }

    #[test]
    fn the_scp_stack_embeds_the_generated_policies() {
        let t = scp_template(CONTROLS, &ScpOptions::default()).unwrap();
        let content = &t["Resources"]["GuardrailsScp1"]["Properties"]["Content"];
        assert_eq!(content["Version"], "2012-10-17");
    }
}
