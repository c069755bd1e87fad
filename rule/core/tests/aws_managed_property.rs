//! Property: a resource on an AWS-managed key is never COMPLIANT — whatever form the reference
//! takes (alias name, alias ARN, key id, key ARN), whatever the service, key state, Region,
//! account and rule parameters (even an allow-list naming that very key), and whether KMS answers
//! or denies the lookup (then the key is decided by elimination against the service's
//! AWS-managed key, or left undetermined: never COMPLIANT).

use cmk_core::key::{ArnScope, FakeError, KeyArn, KeyFacts, KeyManager, KeyState, Rotation};
use cmk_core::{Compliance, ConfigEvent, FakeKeys, InvokingEvent, RuleParams, evaluate};
use proptest::prelude::*;
use serde_json::{Value, json};

const SERVICES: [(&str, &str); 3] = [
    ("AWS::Kinesis::Stream", "kinesis"),
    ("AWS::SecretsManager::Secret", "secretsmanager"),
    ("AWS::DynamoDB::Table", "dynamodb"),
];
const REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"];
const STATES: [&str; 5] = [
    "Enabled",
    "Disabled",
    "PendingDeletion",
    "PendingImport",
    "Unavailable",
];

fn configuration(resource_type: &str, reference: &str) -> Value {
    match resource_type {
        "AWS::Kinesis::Stream" => {
            json!({"StreamEncryption": {"EncryptionType": "KMS", "KeyId": reference}})
        }
        "AWS::SecretsManager::Secret" => json!({"Name": "s", "KMSKeyId": reference}),
        _ => json!({"tableName": "t", "tableStatus": "ACTIVE",
                     "ssedescription": {"status": "ENABLED", "ssetype": "KMS", "kmsmasterKeyArn": reference}}),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn an_aws_managed_key_is_never_compliant(
        service in 0..SERVICES.len(),
        region in 0..REGIONS.len(),
        account in "[0-9]{12}",
        key_id in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        form in 0..4usize,
        state in 0..STATES.len(),
        allow_it in any::<bool>(),
        allow_account in any::<bool>(),
        rotation in any::<bool>(),
        lookups in 0..3usize,
        partition_from_item in any::<bool>(),
    ) {
        let (resource_type, service_name) = SERVICES[service];
        let region = REGIONS[region];
        let partition = if region.starts_with("us-gov-") { "aws-us-gov" } else { "aws" };
        let alias = format!("alias/aws/{service_name}");
        let key_arn = format!("arn:{partition}:kms:{region}:{account}:key/{key_id}");
        let reference = match form {
            0 => alias.clone(),
            1 => format!("arn:{partition}:kms:{region}:{account}:{alias}"),
            2 => key_id.clone(),
            _ => key_arn.clone(),
        };
        // The table field holds an ARN only; other forms are Kinesis/Secrets Manager's.
        let reference = if resource_type == "AWS::DynamoDB::Table" && form != 3 { key_arn.clone() } else { reference };
        let facts = KeyFacts { arn: KeyArn::parse(&key_arn).unwrap(), manager: KeyManager::Aws, state: KeyState::parse(STATES[state]) };
        let home = ArnScope { partition: partition.parse().unwrap(), region: region.to_owned(), account: account.clone() };
        let mut keys = FakeKeys::at(home)
            .with_key(&key_id, facts.clone(), Rotation::Enabled)
            .with_key(&alias, facts, Rotation::Enabled);
        // 0: KMS answers. 1: the key's own lookups are denied (a key policy without IAM
        // delegation), the service's alias still resolves: elimination decides. 2: everything
        // is denied: undetermined.
        if lookups >= 1 {
            keys = keys
                .with_error(&key_id, FakeError::AccessDenied)
                .with_error(&key_arn, FakeError::AccessDenied);
        }
        if lookups == 2 {
            keys = keys.with_error(&alias, FakeError::AccessDenied);
        }
        let mut params = serde_json::Map::new();
        if allow_it {
            params.insert("allowedKeyArns".into(), json!(key_arn));
        }
        if allow_account {
            params.insert("allowedKeyAccounts".into(), json!(account));
        }
        if rotation {
            params.insert("requireKeyRotation".into(), json!("true"));
        }
        let params = Value::Object(params).to_string();
        let item = json!({
            "configurationItemCaptureTime": "2026-01-05T09:59:58.123Z", "awsAccountId": account,
            "configurationItemStatus": "OK", "resourceType": resource_type, "resourceId": "r",
            "awsRegion": region, "tags": {},
            "configuration": configuration(resource_type, &reference),
        });
        // The partition comes from the item's ARN or, without one, from the rule's.
        let mut item = item;
        let mut rule_arn = Value::Null;
        if partition_from_item {
            item["ARN"] = json!(format!("arn:{partition}:{service_name}:{region}:{account}:resource/r"));
        } else {
            rule_arn = json!(format!("arn:{partition}:config:{region}:{account}:config-rule/config-rule-abc123"));
        }
        let event = ConfigEvent::from_value(json!({
            "invokingEvent": json!({"messageType": "ConfigurationItemChangeNotification", "configurationItem": item}).to_string(),
            "ruleParameters": params, "resultToken": "t", "eventLeftScope": false, "version": "1.0",
            "configRuleArn": rule_arn,
        })).unwrap();
        let Ok(InvokingEvent::Change { item }) = event.invoking_event() else { panic!("not a change event") };
        // An allow-list naming an AWS-managed key is refused by the parameter parser; that, too,
        // is "never COMPLIANT".
        let Ok(params) = RuleParams::parse(event.rule_parameters.as_deref()) else { return Ok(()) };
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let verdict = runtime.block_on(evaluate(&item, &params, &keys));
        if let Ok(verdict) = &verdict {
            prop_assert_ne!(verdict.compliance, Compliance::Compliant, "{} by {} (lookups {})", resource_type, reference, lookups);
        }
        // Elimination must reach a verdict (NON_COMPLIANT), not give up, when the alias resolves.
        if lookups == 1 && form != 1 && !(form == 0 && resource_type != "AWS::DynamoDB::Table") {
            prop_assert!(verdict.is_ok(), "{} by {}: elimination gave no verdict", resource_type, reference);
        }
    }
}
