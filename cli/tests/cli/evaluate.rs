//! `guardrails evaluate` as a user runs it: the real binary, configured only through the standard
//! AWS environment variables, against the moto emulator.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use cmk_integration_tests::emulator::Emulator;
use cmk_integration_tests::events::periodic;
use cmk_integration_tests::lambda_api::{Answer, RuntimeApi};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";

struct Env {
    account: String,
    vars: Vec<(&'static str, String)>,
}

async fn env() -> Env {
    let emulator = Emulator::shared();
    let account = Emulator::new_account();
    let vars = emulator.env_vars(&account, REGION).await;
    Env { account, vars }
}

impl Env {
    async fn sdk(&self) -> aws_config::SdkConfig {
        Emulator::shared().sdk(&self.account, REGION).await
    }

    fn event(&self, key: &str, token: &str, params: &str) -> String {
        event_of(&self.account, key, token, params)
    }
}

/// A change event of a stream in `account`, as that account's rule sends it.
fn event_of(account: &str, key: &str, token: &str, params: &str) -> String {
    {
        let item = json!({
            "configurationItemCaptureTime": "2026-01-05T09:59:58.123Z", "awsAccountId": account,
            "configurationItemStatus": "OK", "resourceType": "AWS::Kinesis::Stream", "resourceId": "orders-events",
            "awsRegion": REGION, "tags": {},
            "configuration": {"StreamEncryption": {"EncryptionType": "KMS", "KeyId": key}}
        });
        json!({
            "invokingEvent": json!({"messageType": "ConfigurationItemChangeNotification", "configurationItem": item}).to_string(),
            "ruleParameters": params, "resultToken": token, "eventLeftScope": false, "accountId": account, "version": "1.0",
            "configRuleArn": format!("arn:aws:config:{REGION}:{account}:config-rule/config-rule-cmk01"),
            "configRuleName": "cmk-guardrails-encryption"
        })
        .to_string()
    }
}

impl Env {
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.run_with(&[], args, stdin)
    }

    /// `run` with more environment variables (the rule's `CMK_*` tuning).
    fn run_with(&self, extra: &[(&str, &str)], args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_guardrails"));
        cmd.args(args)
            .env_remove("AWS_PROFILE")
            // The rule's own tuning comes only from the test.
            .env_remove("CMK_INVENTORY")
            .env_remove("CMK_RATE_LIMITS")
            .env_remove("CMK_KEY_CACHE_TTL_SECONDS")
            .env_remove("CMK_SECRET_REPLICAS")
            .envs(extra.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("guardrails runs");
        let mut input = child.stdin.take().unwrap();
        input
            .write_all(stdin.unwrap_or_default().as_bytes())
            .unwrap();
        drop(input);
        child.wait_with_output().unwrap()
    }
}

/// How many evaluations the Config of `sdk`'s account holds for the test stream.
async fn recorded(sdk: &aws_config::SdkConfig) -> usize {
    aws_sdk_config::Client::new(sdk)
        .get_compliance_details_by_resource()
        .resource_type("AWS::Kinesis::Stream")
        .resource_id("orders-events")
        .send()
        .await
        .unwrap()
        .evaluation_results()
        .len()
}

fn file(content: &str) -> tempfile_path::TempFile {
    tempfile_path::TempFile::new(content)
}

/// A small temp file helper (no extra dependency).
mod tempfile_path {
    pub struct TempFile(pub std::path::PathBuf);
    impl TempFile {
        pub fn new(content: &str) -> TempFile {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!(
                "guardrails-evaluate-{}-{n}.json",
                std::process::id()
            ));
            std::fs::write(&path, content).unwrap();
            TempFile(path)
        }
        pub fn path(&self) -> &str {
            self.0.to_str().unwrap()
        }
    }
    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

#[tokio::test]
async fn non_compliant_event_prints_put_evaluations_json_and_exits_1() {
    let env = env().await;
    let f = file(&env.event("alias/aws/kinesis", "TESTMODE", "{}"));
    let out = env.run(&["evaluate", f.path(), "--output", "json"], None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = &v.as_array().unwrap()[0];
    let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "Annotation",
            "ComplianceResourceId",
            "ComplianceResourceType",
            "ComplianceType",
            "OrderingTimestamp"
        ]
    );
    assert_eq!(e["ComplianceType"], "NON_COMPLIANT");
    assert_eq!(e["OrderingTimestamp"], "2026-01-05T09:59:58.123Z");
}

#[tokio::test]
async fn compliant_event_from_stdin_resolves_the_key_in_the_emulator_and_exits_0() {
    let env = env().await;
    let kms = aws_sdk_kms::Client::new(&env.sdk().await);
    let arn = kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap();
    let out = env.run(&["evaluate", "-"], Some(&env.event(&arn, "TESTMODE", "")));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("COMPLIANCE"), "{text}");
    assert!(text.contains("COMPLIANT") && text.contains(&arn), "{text}");
}

#[tokio::test]
async fn put_flag_sends_the_evaluation_to_config() {
    let env = env().await;
    let f = file(&env.event("alias/aws/kinesis", "cli-rule", "{}"));
    let sdk = env.sdk().await;
    let recorded = || recorded(&sdk);
    assert_eq!(
        env.run(&["evaluate", f.path()], None).status.code(),
        Some(1)
    );
    assert_eq!(recorded().await, 0, "without --put nothing is put");
    assert_eq!(
        env.run(&["evaluate", f.path(), "--put"], None)
            .status
            .code(),
        Some(1)
    );
    assert_eq!(recorded().await, 1);
}

#[tokio::test]
async fn bad_input_exits_2_naming_what_and_where() {
    let env = env().await;
    let f = file(&env.event("alias/aws/kinesis", "TESTMODE", r#"{"exemptTag":"=x"}"#));
    let out = env.run(&["evaluate", f.path(), "--output", "json"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exemptTag") && err.contains(f.path()), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[]",
        "nothing was determined"
    );

    let out = env.run(&["evaluate", "-"], Some(r#"{"invokingEvent": "{\"messageType\":\"ConfigurationItemChangeNotification\",\"configurationItem\":{\"resourceType\":[]}}"}"#));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("configurationItem.resourceType"));

    let out = env.run(&["evaluate", "/no/such/event.json"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/event.json"));
}

#[tokio::test]
async fn the_sweep_reads_resources_where_cmk_inventory_says_as_the_deployed_function_does() {
    let env = env().await;
    // One unencrypted stream and no configuration recorder: Config has recorded nothing.
    cmk_integration_tests::resources::stream(&env.sdk().await, "plain-events", None).await;
    let event = periodic(
        &env.account,
        REGION,
        "cmk-guardrails-encryption",
        "TESTMODE",
    );
    let f = file(&event.to_string());
    let ids = |out: &Output| -> Vec<String> {
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        let field = |name: &str| e[name].as_str().unwrap_or_default().to_owned();
                        format!(
                            "{} {}",
                            field("ComplianceResourceId"),
                            field("ComplianceType")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };

    // Default (auto) and `services`: the stream is read from Kinesis itself.
    for extra in [&[][..], &[("CMK_INVENTORY", "services")][..]] {
        let out = env.run_with(extra, &["evaluate", f.path(), "--output", "json"], None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {err}");
        assert_eq!(ids(&out), ["plain-events NON_COMPLIANT"], "{extra:?}");
    }
    // `config`: only what Config recorded, so nothing here, and the sweep says why.
    let out = env.run_with(
        &[("CMK_INVENTORY", "config")],
        &["evaluate", f.path(), "--output", "json"],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(ids(&out).is_empty(), "{err}");
    assert!(err.contains("AWS::Kinesis::Stream"), "{err}");
    // A value the function would refuse at start is refused here too, naming the variable.
    for (var, value) in [
        ("CMK_INVENTORY", "everything"),
        ("CMK_SECRET_REPLICAS", "some"),
    ] {
        let out = env.run_with(&[(var, value)], &["evaluate", f.path()], None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(&format!("{var}=`{value}`")), "{err}");
    }
}

#[tokio::test]
async fn a_member_accounts_event_is_evaluated_and_put_with_the_members_role() {
    // The central account runs the CLI; the key and the rule live in the member account.
    let central = env().await;
    let member = Emulator::new_account();
    let member_sdk = Emulator::shared().sdk(&member, REGION).await;
    // The member role, trusting the central account (the role of member.json trusts exactly the
    // central function's roles; here the CLI runs as a test role of the central account).
    Emulator::shared().create_role(&member, "cmk-guardrails-member", &central.account);
    let key_id = aws_sdk_kms::Client::new(&member_sdk)
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    // A bare key id resolves only in the account whose credentials ask: the member's.
    let f = file(&event_of(&member, &key_id, "member-token", "{}"));
    let out = central.run(&["evaluate", f.path(), "--put", "--output", "json"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let evaluations: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        evaluations[0]["ComplianceType"], "COMPLIANT",
        "{evaluations}"
    );
    assert_eq!(recorded(&member_sdk).await, 1, "put in the member's Config");
    assert_eq!(
        recorded(&central.sdk().await).await,
        0,
        "nothing in the central account"
    );
}

#[tokio::test]
async fn the_binary_started_as_bootstrap_serves_the_lambda_runtime_api() {
    // The package `deploy` builds is this executable named `bootstrap`; Lambda starts it with
    // AWS_LAMBDA_RUNTIME_API and nothing on the command line.
    let env = env().await;
    let dir = std::env::temp_dir().join(format!("guardrails-bootstrap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bootstrap = dir.join("bootstrap");
    let _ = std::fs::remove_file(&bootstrap);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_guardrails"), &bootstrap).unwrap();
    let api = RuntimeApi::start(
        env.event("alias/aws/kinesis", "lambda-token", "{}"),
        format!(
            "arn:aws:lambda:{REGION}:{}:function:cmk-guardrails",
            env.account
        ),
    );
    let mut function = Command::new(&bootstrap);
    function
        .env_remove("AWS_PROFILE")
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "cmk-guardrails")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/cmk-guardrails")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/01/[$LATEST]0123")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &env.vars {
        function.env(k, v);
    }
    let mut function = function.spawn().unwrap();
    let answer = api.answer(std::time::Duration::from_secs(120));
    function.kill().unwrap();
    let out = function.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&out.stdout);
    let Some(Answer::Response(body)) = answer else {
        panic!(
            "{answer:?}; logs: {logs} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body, json!({"put": 1, "nonCompliant": 1}), "{logs}");
    assert_eq!(recorded(&env.sdk().await).await, 1, "put in Config");
    assert!(logs.contains("NON_COMPLIANT"), "JSON log lines: {logs}");
    let _ = std::fs::remove_dir_all(dir);
}
