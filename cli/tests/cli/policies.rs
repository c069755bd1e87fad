//! `guardrails generate` and `guardrails scp validate` as users and CI run them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn guardrails(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_guardrails"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("guardrails runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("guardrails-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn committed_policies_are_what_the_catalogue_generates() {
    let out = guardrails(&["generate", "--check"], &root());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn generate_writes_a_fresh_tree_and_check_reports_edits() {
    let dir = temp_dir("generate");
    let root = dir.to_str().unwrap();
    assert_eq!(
        guardrails(&["generate", "--check", "--root", root], &dir)
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        guardrails(&["generate", "--root", root], &dir)
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        guardrails(&["generate", "--check", "--root", root], &dir)
            .status
            .code(),
        Some(0)
    );
    let scp = std::fs::read_dir(dir.join("policies/scp"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&scp, "{}\n").unwrap();
    let out = guardrails(&["generate", "--check", "--root", root], &dir);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("differs"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn scp_validate_passes_our_policies_and_flags_bad_ones_as_json() {
    let root = root();
    let ours: Vec<String> = std::fs::read_dir(root.join("policies/scp"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".json"))
        .collect();
    let mut args = vec!["scp", "validate"];
    args.extend(ours.iter().map(String::as_str));
    assert_eq!(guardrails(&args, &root).status.code(), Some(0));

    let bad = "tests/fixtures/scp/bad/forallvalues_deny_trap.json";
    let out = guardrails(&["scp", "validate", bad, "--output", "json"], &root);
    assert_eq!(out.status.code(), Some(1));
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &findings[0];
    let mut keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "file", "message", "path", "severity"]);
    assert_eq!(f["code"], "FORALLVALUES_DENY_TRAP");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["file"], bad);

    let warn_only = "tests/fixtures/scp/bad/missing_break_glass.json";
    let out = guardrails(&["scp", "validate", warn_only], &root);
    assert_eq!(out.status.code(), Some(0), "a warning alone does not fail");
    assert!(String::from_utf8_lossy(&out.stdout).contains("MISSING_BREAK_GLASS"));
}

#[test]
fn scp_validate_exits_2_on_an_unreadable_file() {
    let out = guardrails(&["scp", "validate", "/no/such/scp.json"], &root());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/scp.json"));
}

#[test]
fn iac_check_flags_the_fixtures_and_speaks_json_and_sarif() {
    let root = root();
    let out = guardrails(
        &[
            "iac",
            "check",
            "tests/fixtures/iac/tf_kinesis_plan.json",
            "--output",
            "json",
        ],
        &root,
    );
    assert_eq!(out.status.code(), Some(1));
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &findings[0];
    assert_eq!(first["level"], "deny");
    assert_eq!(first["control"], "CMK-KINESIS-CREATE");
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .starts_with("[CMK-KINESIS-CREATE] ")
    );

    let out = guardrails(
        &["iac", "check", "tests/fixtures/iac", "--output", "sarif"],
        &root,
    );
    assert_eq!(out.status.code(), Some(1));
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    cmk_integration_tests::sarif::validate(&sarif).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["level"] == "warning"));
    assert!(
        results
            .iter()
            .all(|r| r["ruleId"].as_str().unwrap().starts_with("CMK-"))
    );
}

#[test]
fn each_command_offers_the_output_formats_it_renders_and_names_them() {
    let root = root();
    for (args, refused, offered) in [
        (
            &["iac", "check", "tests/fixtures/iac"][..],
            "csv",
            "text, json, sarif, junitxml",
        ),
        (&["scan"][..], "junitxml", "text, json, sarif, csv"),
        (&["evaluate", "-"][..], "sarif", "text, json"),
        (
            &["scp", "validate", "policies/scp/cmk-guardrails-1.json"][..],
            "csv",
            "text, json",
        ),
        (&["status", "--ou", "sandbox"][..], "sarif", "text, json"),
    ] {
        let out = guardrails(&[args, &["--output", refused]].concat(), &root);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("invalid value '{refused}'"))
                && err.contains(&format!("[possible values: {offered}]")),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn iac_check_passes_a_template_on_customer_managed_keys() {
    let dir = temp_dir("iac-clean");
    let template = dir.join("stack.yaml");
    std::fs::write(
        &template,
        "Resources:\n  Key:\n    Type: AWS::KMS::Key\n  Stream:\n    Type: AWS::Kinesis::Stream\n    Properties:\n      StreamEncryption:\n        EncryptionType: KMS\n        KeyId: !GetAtt Key.Arn\n",
    )
    .unwrap();
    let out = guardrails(&["iac", "check", template.to_str().unwrap()], &dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::write(
        dir.join("main.tf"),
        "resource \"aws_kinesis_stream\" \"plain\" {\n  name = \"plain\"\n}\nresource \"aws_kinesis_stream\" \"good\" {\n  encryption_type = \"KMS\"\n  kms_key_id = aws_kms_key.k.arn\n}\n",
    )
    .unwrap();
    let tf = dir.join("main.tf").display().to_string();
    let out = guardrails(&["iac", "check", &tf, "--output", "json"], &dir);
    assert_eq!(out.status.code(), Some(1));
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings.as_array().unwrap().len(), 1, "{findings}");
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains("aws_kinesis_stream.plain")
    );
    std::fs::write(dir.join("broken.tf"), "resource {{{\n").unwrap();
    let broken = dir.join("broken.tf").display().to_string();
    assert_eq!(
        guardrails(&["iac", "check", &broken], &dir).status.code(),
        Some(2)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn policy_test_runs_the_committed_rego_tests() {
    let out = guardrails(&["policy", "test"], &root());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(" passed, 0 failed"));
}

#[test]
fn iac_findings_carry_lines_and_suppressions_keep_them_visible_with_their_reasons() {
    let dir = temp_dir("iac-suppress");
    let tf = dir.join("main.tf");
    std::fs::write(
        &tf,
        "resource \"aws_kinesis_stream\" \"plain\" {\n  name = \"plain\"\n}\n\n\
         # guardrails:skip=CMK-KINESIS-CREATE load-test stream, no customer data\n\
         resource \"aws_kinesis_stream\" \"accepted\" {\n  name = \"accepted\"\n}\n\n\
         resource \"aws_secretsmanager_secret\" \"later\" {\n  name = \"later\"\n}\n",
    )
    .unwrap();
    let template = dir.join("stack.yaml");
    std::fs::write(
        &template,
        "Outputs:\n  Secret:\n    Value: x\nResources:\n  Secret:\n    Type: AWS::SecretsManager::Secret\n    Metadata:\n      guardrails:\n        skip:\n          - id: CMK-SECRETS-CREATE\n            reason: migrated next quarter (SEC-7)\n  Stream:\n    Type: AWS::Kinesis::Stream\n",
    )
    .unwrap();
    let paths = [tf.display().to_string(), template.display().to_string()];
    let json_of = |extra: &[&str]| {
        let mut args = vec!["iac", "check", &paths[0], &paths[1], "--output", "json"];
        args.extend_from_slice(extra);
        let out = guardrails(&args, &dir);
        let findings: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), findings)
    };
    let (code, findings) = json_of(&[]);
    assert_eq!(code, Some(1));
    let by = |resource: &str| {
        findings
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["resource"] == resource)
            .unwrap_or_else(|| panic!("no finding on {resource}: {findings:#}"))
            .clone()
    };
    let plain = by("aws_kinesis_stream.plain");
    assert_eq!(
        (plain["line"].as_u64(), plain["endLine"].as_u64()),
        (Some(1), Some(3))
    );
    assert!(plain["suppressed"].is_null());
    let accepted = by("aws_kinesis_stream.accepted");
    assert_eq!(accepted["line"], 6);
    assert_eq!(accepted["suppressed"]["source"], "inline");
    assert_eq!(
        accepted["suppressed"]["reason"],
        "load-test stream, no customer data"
    );
    let secret = by("Secret");
    assert_eq!(
        secret["line"], 5,
        "the resource, not the output of the same name"
    );
    assert_eq!(
        secret["suppressed"]["reason"],
        "migrated next quarter (SEC-7)"
    );
    assert_eq!(by("Stream")["line"], 12);

    // A baseline accepts the rest; the check then passes, every finding still reported.
    let baseline = dir.join("baseline.json").display().to_string();
    let created = guardrails(
        &[
            "iac",
            "check",
            &paths[0],
            &paths[1],
            "--create-baseline",
            &baseline,
            "--reason",
            "adopted 2026-12 (SEC-1)",
        ],
        &dir,
    );
    assert_eq!(
        created.status.code(),
        Some(1),
        "creating a baseline still reports"
    );
    let (code, findings) = json_of(&["--baseline", &baseline]);
    assert_eq!(code, Some(0), "{findings:#}");
    let all = findings.as_array().unwrap();
    assert_eq!(all.len(), 5, "{findings:#}");
    assert!(all.iter().all(|f| !f["suppressed"].is_null()));
    let later = all
        .iter()
        .find(|f| f["resource"] == "aws_secretsmanager_secret.later")
        .unwrap();
    assert_eq!(later["suppressed"]["source"], "baseline");
    assert_eq!(later["suppressed"]["reason"], "adopted 2026-12 (SEC-1)");

    // SARIF: regions and suppressions; text: file:line; JUnit: failures only for what is not accepted.
    let sarif = guardrails(&["iac", "check", &paths[0], "--output", "sarif"], &dir);
    let sarif: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    cmk_integration_tests::sarif::validate(&sarif).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let region = &results[0]["locations"][0]["physicalLocation"]["region"];
    assert!(region["startLine"].as_u64().is_some() && region["endLine"].as_u64().is_some());
    assert!(
        results
            .iter()
            .any(|r| r["suppressions"][0]["kind"] == "inSource"
                && r["suppressions"][0]["justification"] == "load-test stream, no customer data")
    );
    let text = guardrails(&["iac", "check", &paths[0]], &dir);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains(&format!("{}:1: deny: [CMK-KINESIS-CREATE]", paths[0])),
        "{text}"
    );
    assert!(
        text.contains("deny (suppressed: load-test stream, no customer data)"),
        "{text}"
    );
    let junit = guardrails(&["iac", "check", &paths[0], "--output", "junitxml"], &dir);
    let junit = String::from_utf8_lossy(&junit.stdout).into_owned();
    assert!(
        junit.contains("failures=\"2\"") && junit.contains("skipped=\"1\""),
        "{junit}"
    );

    // A suppression without a reason is an error naming the file and line.
    std::fs::write(&tf, "resource \"aws_kinesis_stream\" \"x\" {\n  # guardrails:skip=CMK-KINESIS-CREATE\n  name = \"x\"\n}\n").unwrap();
    let out = guardrails(&["iac", "check", &paths[0]], &dir);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("main.tf:2") && err.contains("no reason"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
