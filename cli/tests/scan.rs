//! `guardrails scan` against the emulator: the real binary over two Regions, and the proof that it
//! gives the Config rule's verdicts for the same resources (the rule's own handler, putting to
//! Config, run on the same account).

use std::collections::BTreeSet;
use std::process::{Command, Output, Stdio};

use cmk_integration_tests::emulator::Emulator;
use cmk_integration_tests::resources;
use serde_json::{Value, json};

/// What the seeded resources must get, written down from the rule's contract (README, "What the
/// rule decides"), not from either implementation: Region, type, id, compliance, and a phrase
/// the annotation must contain.
const EXPECTED: [(&str, &str, &str, &str, &str); 8] = [
    (
        "eu-west-1",
        "AWS::Kinesis::Stream",
        "eu-stream",
        "NON_COMPLIANT",
        "alias/aws/kinesis",
    ),
    (
        "us-east-1",
        "AWS::DynamoDB::Table",
        "aws-owned",
        "NON_COMPLIANT",
        "AWS-owned key",
    ),
    (
        "us-east-1",
        "AWS::DynamoDB::Table",
        "cmk",
        "COMPLIANT",
        "customer-managed key",
    ),
    (
        "us-east-1",
        "AWS::Kinesis::Stream",
        "aws-key-arn",
        "NON_COMPLIANT",
        "AWS-managed key",
    ),
    (
        "us-east-1",
        "AWS::Kinesis::Stream",
        "cmk",
        "COMPLIANT",
        "customer-managed key",
    ),
    (
        "us-east-1",
        "AWS::Kinesis::Stream",
        "plain",
        "NON_COMPLIANT",
        "not encrypted",
    ),
    (
        "us-east-1",
        "AWS::SecretsManager::Secret",
        "cmk",
        "COMPLIANT",
        "customer-managed key",
    ),
    (
        "us-east-1",
        "AWS::SecretsManager::Secret",
        "default-key",
        "NON_COMPLIANT",
        "aws/secretsmanager",
    ),
];

/// Checks one set of verdicts against [`EXPECTED`]; secrets are named by ARN, so they are
/// matched by the name inside it.
fn assert_expected(what: &str, got: &BTreeSet<(String, String, String, String, String)>) {
    assert_eq!(got.len(), EXPECTED.len(), "{what}: {got:#?}");
    for (region, resource_type, id, compliance, phrase) in EXPECTED {
        let found = got.iter().find(|(r, t, i, _, _)| {
            r == region && t == resource_type && (i == id || i.contains(&format!(":secret:{id}-")))
        });
        let Some((_, _, _, c, annotation)) = found else {
            panic!("{what}: no verdict for {region} {resource_type} {id}: {got:#?}")
        };
        assert_eq!(c, compliance, "{what}: {resource_type} {id}: {annotation}");
        assert!(
            annotation.contains(phrase),
            "{what}: {resource_type} {id}: {annotation:?} lacks {phrase:?}"
        );
    }
}

async fn resources(account: &str) {
    let emulator = Emulator::shared();
    let sdk = emulator.sdk(account, "us-east-1").await;
    let (_, cmk) = resources::cmk(&sdk).await;
    let aws_kinesis = resources::aws_managed(&sdk, "alias/aws/kinesis").await;
    resources::stream(&sdk, "plain", None).await;
    resources::stream(&sdk, "aws-key-arn", Some(&aws_kinesis)).await;
    resources::stream(&sdk, "cmk", Some(&cmk)).await;
    resources::secret(&sdk, "default-key", None).await;
    resources::secret(&sdk, "cmk", Some(&cmk)).await;
    resources::table(&sdk, "aws-owned", None).await;
    resources::table(&sdk, "cmk", Some(resources::sse_kms(Some(&cmk)))).await;
    // Another Region: a stream on the AWS-managed key by alias.
    let eu = emulator.sdk(account, "eu-west-1").await;
    resources::stream(&eu, "eu-stream", Some("alias/aws/kinesis")).await;
}

async fn scan(account: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_guardrails"));
    cmd.arg("scan")
        .args(args)
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in Emulator::shared().env_vars(account, "us-east-1").await {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// What the Config rule itself decides and puts for the account's periodic sweep in `region`.
async fn rule_verdicts(
    account: &str,
    region: &str,
) -> BTreeSet<(String, String, String, String, String)> {
    let sdk = Emulator::shared().sdk(account, region).await;
    let sink = cmk_rule::aws::ConfigSink(aws_sdk_config::Client::new(&sdk));
    let handler = cmk_rule::aws::handler(&sdk, Some(sink));
    let invoking = json!({"awsAccountId": account, "notificationCreationTime": "2026-01-05T10:00:00.000Z",
        "messageType": "ScheduledNotification", "recordVersion": "1.0"});
    let event = cmk_core::ConfigEvent::from_value(json!({
        "invokingEvent": invoking.to_string(), "ruleParameters": "{}", "resultToken": "cmk-required",
        "eventLeftScope": false, "accountId": account, "configRuleName": "cmk-required", "version": "1.0",
    }))
    .unwrap();
    let report = handler
        .handle(&event, cmk_rule::Options::collecting())
        .await
        .unwrap();
    assert_eq!(
        report.put,
        report.evaluations.len(),
        "the rule put every verdict"
    );
    report
        .evaluations
        .iter()
        .map(|e| {
            (
                region.to_owned(),
                e.compliance_resource_type.clone(),
                e.compliance_resource_id.clone(),
                e.compliance_type.to_string(),
                e.annotation.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn scan_gives_the_rules_verdicts_in_every_region_and_exits_1_on_non_compliance() {
    let account = Emulator::new_account();
    resources(&account).await;

    let out = scan(
        &account,
        &[
            "--region",
            "us-east-1",
            "--region",
            "eu-west-1",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let scanned: BTreeSet<_> = list
        .iter()
        .map(|v| {
            assert_eq!(v["account"], account.as_str());
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            (
                s("region"),
                s("resourceType"),
                s("resourceId"),
                s("complianceType"),
                s("annotation"),
            )
        })
        .collect();
    assert_expected("scan", &scanned);
    let mut rule = rule_verdicts(&account, "us-east-1").await;
    rule.extend(rule_verdicts(&account, "eu-west-1").await);
    assert_expected("the Config rule", &rule);
    assert_eq!(
        scanned, rule,
        "scan and the Config rule agree, annotation for annotation"
    );
    let non_compliant: BTreeSet<&str> = list
        .iter()
        .filter(|v| v["complianceType"] == "NON_COMPLIANT")
        .map(|v| v["resourceId"].as_str().unwrap())
        .collect();
    assert!(non_compliant.contains("aws-key-arn") && non_compliant.contains("eu-stream"));
    assert_eq!(non_compliant.len(), 5, "{non_compliant:?}");

    let sarif = scan(&account, &["--output", "sarif"]).await;
    assert_eq!(sarif.status.code(), Some(1));
    let sarif: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        4,
        "us-east-1 only by default"
    );

    let text = scan(&account, &["--region", "eu-west-1"]).await;
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains(&format!("{account} eu-west-1:")), "{text}");
    assert!(
        text.contains("1 resource(s) evaluated, 1 NON_COMPLIANT"),
        "{text}"
    );
}

#[tokio::test]
async fn bad_rule_parameters_are_an_error_before_anything_is_scanned() {
    let account = Emulator::new_account();
    let out = scan(
        &account,
        &["--rule-parameters", r#"{"allowedKeyAccounts":"12"}"#],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("allowedKeyAccounts"), "{err}");
    let out = scan(&account, &["--rule-parameters", "{"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not JSON"));
}
