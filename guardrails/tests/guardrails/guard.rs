//! The generated Guard rules under the real CloudFormation Guard engine (the `cfn-guard` crate):
//! every case of `policies/guard/cmk_tests.yaml` gets its expected PASS/FAIL, and the CloudFormation
//! IaC fixtures fail exactly where the Rego policies deny.

use std::path::PathBuf;

use cfn_guard::{ValidateInput, run_checks};
use guardrails::catalogue::CONTROLS;
use guardrails::render::guard::render_guard;
use serde_json::Value;

fn rules() -> String {
    render_guard(CONTROLS)
        .into_iter()
        .find(|a| a.path.ends_with(".guard"))
        .unwrap()
        .content
}

/// The status (`PASS`, `FAIL`, `SKIP`) of `rule` for one input, from cfn-guard's JSON report.
fn status(input: &Value, rules: &str, rule: &str) -> String {
    let out = run_checks(
        ValidateInput {
            content: &input.to_string(),
            file_name: "input.json",
        },
        ValidateInput {
            content: rules,
            file_name: "cmk.guard",
        },
        false,
    )
    .unwrap();
    let report: Value = serde_json::from_str(&out).unwrap();
    let names = |key: &str| -> Vec<String> {
        report[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| {
                        v.as_str()
                            .or_else(|| v["Rule"]["name"].as_str())
                            .or_else(|| v["name"].as_str())
                    })
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    for (key, status) in [
        ("not_compliant", "FAIL"),
        ("compliant", "PASS"),
        ("not_applicable", "SKIP"),
    ] {
        if names(key).iter().any(|n| n == rule) {
            return status.to_owned();
        }
    }
    panic!("rule {rule} not in report: {out}")
}

#[test]
fn every_guard_test_case_gets_its_expected_status() {
    let rules = rules();
    let tests: Value = serde_json::from_str(
        &render_guard(CONTROLS)
            .into_iter()
            .find(|a| a.path.ends_with("cmk_tests.yaml"))
            .unwrap()
            .content,
    )
    .unwrap();
    let cases = tests.as_array().unwrap();
    assert!(cases.len() >= 20);
    let mut failures = Vec::new();
    for case in cases {
        for (rule, want) in case["expectations"]["rules"].as_object().unwrap() {
            let got = status(&case["input"], &rules, rule);
            if got != want.as_str().unwrap() {
                failures.push(format!("{}: {rule} {got}, want {want}", case["name"]));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn cloudformation_fixtures_fail_where_rego_denies() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/iac");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let rules = rules();
    for (file, want) in expected.as_object().unwrap() {
        if !file.starts_with("cfn_") {
            continue;
        }
        let (_, template) = guardrails::iac::load_input(&dir.join(file), None).unwrap();
        for (id, resource) in template["Resources"].as_object().unwrap() {
            let ty = resource["Type"].as_str().unwrap();
            let Some(rule) = CONTROLS
                .iter()
                .flat_map(|c| c.key_layouts().map(move |l| (c, l)))
                .find(|(_, l)| l.resource_type == ty)
                .map(|(c, l)| guardrails::render::guard::rule_name(c, l))
            else {
                continue;
            };
            let single = serde_json::json!({"Parameters": template.get("Parameters").cloned().unwrap_or_default(), "Resources": {id: resource}});
            let denied = want["deny"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p.as_str().unwrap().contains(&format!("] {id} (")));
            let got = status(&single, &rules, &rule);
            // Guard never fails what Rego accepts. Where the key is an intrinsic (a parameter
            // default, Fn::Sub), only Rego resolves it from the template; a hook sees it resolved.
            let intrinsic =
                resource.to_string().contains("\"Ref\"") || resource.to_string().contains("\"Fn::");
            if got == "FAIL" || !intrinsic {
                assert_eq!(
                    got == "FAIL",
                    denied,
                    "{file} {id}: guard {got}, rego denies: {denied}"
                );
            }
        }
    }
}

#[test]
fn one_intrinsic_replica_does_not_hide_another_replicas_aws_alias() {
    let input = serde_json::json!({"Resources": {
        "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
        "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {
            "KmsKeyId": {"Ref": "Key"},
            "ReplicaRegions": [
                {"Region": "eu-west-1", "KmsKeyId": {"Ref": "Key"}},
                {"Region": "eu-central-1", "KmsKeyId": "alias/aws/secretsmanager"},
            ],
        }},
    }});
    assert_eq!(
        status(&input, &rules(), "CMK_SECRETS_CREATE_SECRETSMANAGER_SECRET"),
        "FAIL"
    );
}
