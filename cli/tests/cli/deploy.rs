//! `guardrails deploy | status | destroy` as an org admin runs them: the real binary in a working
//! directory holding `guardrails.toml`, configured only through the standard AWS environment
//! variables, against the emulator's organization.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cmk_integration_tests::emulator::Emulator;
use cmk_integration_tests::organization::Organization;
use serde_json::Value;

struct Org {
    dir: PathBuf,
    vars: Vec<(&'static str, String)>,
    by_hand: Organization,
    sandbox: String,
    bucket: String,
    member: String,
}

async fn org() -> Org {
    let emulator = Emulator::shared();
    let management = Emulator::new_account();
    let sdk = emulator.sdk(&management, "us-east-1").await;
    let by_hand = Organization::create(&management, aws_sdk_organizations::Client::new(&sdk)).await;
    let workloads = by_hand.ou(&by_hand.root, "Workloads").await;
    let parent = by_hand.ou(&workloads, "Sandbox").await;
    let member = by_hand.account("member", &parent).await;
    let bucket = format!("cli-rule-code-{management}");
    emulator.put_object(&bucket, "rule.zip", b"zip");
    let dir = std::env::temp_dir().join(format!("guardrails-deploy-{management}"));
    std::fs::create_dir_all(&dir).unwrap();
    Org {
        dir,
        vars: emulator.env_vars(&management, "us-east-1").await,
        by_hand,
        sandbox: parent,
        bucket,
        member,
    }
}

impl Org {
    fn settings(&self, text: &str) {
        std::fs::write(self.dir.join("guardrails.toml"), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_as(args, &[])
    }

    /// With some of the environment replaced (other credentials).
    fn run_as(&self, args: &[&str], replaced: &[(&'static str, String)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_guardrails"));
        cmd.args(args)
            .current_dir(&self.dir)
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in self.vars.iter().chain(replaced) {
            cmd.env(k, v);
        }
        cmd.output().expect("guardrails runs")
    }
}

impl Drop for Org {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn exists(dir: &Path, name: &str) -> bool {
    dir.join(name).exists()
}

#[tokio::test]
async fn deploy_status_destroy_from_the_command_line() {
    let o = org().await;
    o.settings(&format!(
        "mode = \"per-account\"\nregions = [\"us-east-1\", \"eu-west-1\"]\n\n[rule]\nexempt-tag = \"cmk-exempt\"\n\n[code]\nbucket = \"{}\"\nkey = \"rule.zip\"\n",
        o.bucket
    ));

    let dry = o.run(&["deploy", "--ou", "sandbox", "--dry-run"]);
    assert_eq!(code(&dry), 0, "{}", text(&dry.stderr));
    let plan = text(&dry.stdout);
    assert!(
        plan.starts_with("Plan (dry run) for Root/Workloads/Sandbox"),
        "{plan}"
    );
    assert!(
        plan.contains("+ create stack set cmk-guardrails-config-rule"),
        "{plan}"
    );
    assert_eq!(
        o.by_hand.scps().await.len(),
        1,
        "only FullAWSAccess after a dry run"
    );

    let deploy = o.run(&["deploy", "--ou", "sandbox"]);
    assert_eq!(code(&deploy), 0, "{}", text(&deploy.stderr));
    assert!(
        text(&deploy.stdout).contains("Applied 6 change(s)."),
        "{}",
        text(&deploy.stdout)
    );
    // Off a terminal, progress is plain lines on stderr.
    assert!(
        text(&deploy.stderr).contains(": SUCCEEDED"),
        "{}",
        text(&deploy.stderr)
    );
    assert!(
        !exists(&o.dir, ".guardrails-operation.json"),
        "no operation left pending"
    );

    let again = o.run(&["deploy", "--ou", "Root/Workloads/Sandbox"]);
    assert_eq!(code(&again), 0);
    assert!(
        text(&again.stdout).contains("nothing to do"),
        "{}",
        text(&again.stdout)
    );

    let status = o.run(&["status", "--ou", "sandbox", "--output", "json"]);
    assert_eq!(code(&status), 0, "{}", text(&status.stderr));
    let report: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(report["in_sync"], true);
    assert_eq!(report["targets"][0]["instances"]["CURRENT"], 2);
    assert_eq!(report["targets"][0]["scps"]["cmk-guardrails-1"], "attached");

    // Drift by hand: detach our SCP.
    let ours = policies_named(&o, "cmk-guardrails-1").await;
    o.by_hand
        .client
        .detach_policy()
        .policy_id(&ours)
        .target_id(&o.sandbox)
        .send()
        .await
        .unwrap();
    let drift = o.run(&["status", "--ou", "sandbox"]);
    assert_eq!(code(&drift), 1);
    let report = text(&drift.stdout);
    assert!(
        report.contains("SCP cmk-guardrails-1: detached"),
        "{report}"
    );
    assert!(report.contains("+ attach SCP cmk-guardrails-1"), "{report}");

    // Destroy asks first; without a terminal it needs --yes.
    let refused = o.run(&["destroy", "--ou", "sandbox"]);
    assert_eq!(code(&refused), 2);
    assert!(
        text(&refused.stderr).contains("--yes"),
        "{}",
        text(&refused.stderr)
    );
    let destroy = o.run(&["destroy", "--ou", "sandbox", "--yes"]);
    assert_eq!(code(&destroy), 0, "{}", text(&destroy.stderr));
    assert!(
        text(&destroy.stdout).contains("- delete stack set"),
        "{}",
        text(&destroy.stdout)
    );
    assert_eq!(
        o.by_hand.scps().await.len(),
        1,
        "only FullAWSAccess is left"
    );
}

async fn policies_named(o: &Org, name: &str) -> String {
    let scps = o.by_hand.scps().await;
    scps.into_iter().find(|(n, _)| n == name).unwrap().1
}

#[tokio::test]
async fn bad_settings_and_targets_are_errors_before_any_change() {
    let o = org().await;
    o.settings("regions = [\"eu-west-1\"]\nregoins = []\n");
    let out = o.run(&["deploy", "--ou", "sandbox", "--dry-run"]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("guardrails.toml:2"),
        "{}",
        text(&out.stderr)
    );

    // A flag overrides the file and is checked the same way.
    o.settings(&format!(
        "mode = \"per-account\"\nregions = [\"eu-west-1\"]\n[code]\nbucket = \"{}\"\n",
        o.bucket
    ));
    let out = o.run(&[
        "deploy",
        "--ou",
        "sandbox",
        "--region",
        "Europe",
        "--dry-run",
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("`Europe` is not a Region"),
        "{}",
        text(&out.stderr)
    );

    let out = o.run(&["deploy", "--ou", "sandbx", "--dry-run"]);
    assert_eq!(code(&out), 2);
    let err = text(&out.stderr);
    assert!(
        err.contains("no OU `sandbx`") && err.contains("Root/Workloads/Sandbox"),
        "{err}"
    );

    o.settings("mode = \"per-account\"\nregions = [\"eu-west-1\"]\n");
    let out = o.run(&["deploy", "--ou", "sandbox"]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("--code-bucket"),
        "{}",
        text(&out.stderr)
    );
    // `[code]` belongs to the per-account mode: in the default central mode it is an error.
    o.settings(&format!(
        "regions = [\"eu-west-1\"]\n[code]\nbucket = \"{}\"\n",
        o.bucket
    ));
    let out = o.run(&["deploy", "--ou", "sandbox", "--dry-run"]);
    assert_eq!(code(&out), 2);
    let err = text(&out.stderr);
    assert!(
        err.contains("guardrails.toml:2")
            && err.contains("`[code]` is for `mode = \"per-account\"`"),
        "{err}"
    );
    o.settings("mode = \"per-account\"\nregions = [\"eu-west-1\"]\n");
    // Flags alone are enough.
    let out = o.run(&[
        "deploy",
        "--ou",
        "sandbox",
        "--dry-run",
        "--code-bucket",
        &o.bucket,
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
}

#[tokio::test]
async fn without_settings_the_rule_goes_to_the_configured_region_and_the_plan_says_so() {
    let o = org().await;
    // No guardrails.toml: Regions come from AWS_REGION (us-east-1 in the test environment).
    let out = o.run(&["deploy", "--ou", "sandbox", "--dry-run"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let plan = text(&out.stdout);
    assert!(
        plan.contains("Regions: us-east-1 (the configured Region;"),
        "{plan}"
    );
    // With no Region configured anywhere, the error says where one can come from.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_guardrails"));
    cmd.args(["deploy", "--ou", "sandbox", "--dry-run"])
        .current_dir(&o.dir)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_DEFAULT_REGION")
        .stdin(Stdio::null());
    for (k, v) in o.vars.iter().filter(|(k, _)| *k != "AWS_REGION") {
        cmd.env(k, v);
    }
    let out = cmd.env_remove("AWS_REGION").output().unwrap();
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no Region to deploy to"),
        "{}",
        text(&out.stderr)
    );
}

/// The Config rules of `account` in us-east-1: name → source (the function's ARN).
async fn rules_of(account: &str) -> Vec<(String, String)> {
    let sdk = Emulator::shared().sdk(account, "us-east-1").await;
    let out = aws_sdk_config::Client::new(&sdk)
        .describe_config_rules()
        .send()
        .await
        .unwrap();
    let mut rules: Vec<(String, String)> = out
        .config_rules()
        .iter()
        .map(|r| {
            (
                r.config_rule_name().unwrap_or_default().to_owned(),
                r.source()
                    .and_then(|s| s.source_identifier())
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    rules.sort();
    rules
}

#[tokio::test]
async fn on_defaults_deploy_publishes_one_central_function_and_members_get_only_rules_and_a_role() {
    // Nested OUs, three member accounts; no settings file, no bucket, no build step.
    let o = org().await;
    let team = o.by_hand.ou(&o.sandbox, "Team").await;
    let second = o.by_hand.account("second", &o.sandbox).await;
    let nested = o.by_hand.account("nested", &team).await;
    let management = o.by_hand.management.clone();

    let dry = o.run(&["deploy", "--ou", "sandbox", "--dry-run"]);
    assert_eq!(code(&dry), 0, "{}", text(&dry.stderr));
    let plan = text(&dry.stdout);
    println!("{plan}");
    let bucket = format!("cmk-guardrails-code-{management}-us-east-1");
    assert!(
        plan.contains(&format!("+ create code bucket {bucket}")),
        "{plan}"
    );
    assert!(
        plan.contains("+ upload the rule package cmk-guardrails/rule-"),
        "{plan}"
    );
    assert!(
        plan.contains("+ create the central function (stack cmk-guardrails-central) in us-east-1, invocable by the Config of 3 member account(s)"),
        "{plan}"
    );
    assert!(
        plan.contains("Regions: us-east-1 (the configured Region;"),
        "{plan}"
    );

    let deploy = o.run(&["deploy", "--ou", "sandbox"]);
    println!("{}", text(&deploy.stdout));
    assert_eq!(
        code(&deploy),
        0,
        "{}{}",
        text(&deploy.stdout),
        text(&deploy.stderr)
    );

    // One function, in the deploying account; each member's rules name it as their source.
    let function = format!("arn:aws:lambda:us-east-1:{management}:function:cmk-guardrails");
    let members = [o.member.clone(), second.clone(), nested.clone()];
    for member in &members {
        let rules = rules_of(member).await;
        assert_eq!(
            rules,
            vec![
                ("cmk-required".to_owned(), function.clone()),
                ("cmk-required-periodic".to_owned(), function.clone()),
            ],
            "{member}"
        );
    }
    assert!(
        rules_of(&management).await.is_empty(),
        "the management account gets no rule"
    );

    // The function's handler on a member's event exactly as Config sends it, run with the central
    // function's role: it assumes the member role the StackSet created (which trusts only that
    // role), resolves the member's key by its bare id there, and the evaluation lands in the
    // member's Config. Lambda's service is what assumes the central role in AWS; here the test
    // lets its own role assume it too (the member role is left as deployed).
    let central_role = "cmk-guardrails-central-us-east-1";
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "sts:AssumeRole", "Principal": {"AWS": format!("arn:aws:iam::{management}:role/cmk-test")}}]});
    let updated = Emulator::shared().iam(
        &management,
        &[
            ("Action", "UpdateAssumeRolePolicy"),
            ("RoleName", central_role),
            ("PolicyDocument", &trust.to_string()),
        ],
    );
    assert!(updated.starts_with("HTTP/1.1 200"), "{updated}");
    let management_sdk = Emulator::shared().sdk(&management, "us-east-1").await;
    let session = aws_sdk_sts::Client::new(&management_sdk)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{management}:role/{central_role}"))
        .role_session_name("cmk-guardrails")
        .send()
        .await
        .unwrap();
    let c = session.credentials().unwrap();
    let as_function = [
        ("AWS_ACCESS_KEY_ID", c.access_key_id().to_owned()),
        ("AWS_SECRET_ACCESS_KEY", c.secret_access_key().to_owned()),
        ("AWS_SESSION_TOKEN", c.session_token().to_owned()),
    ];
    let nested_sdk = Emulator::shared().sdk(&nested, "us-east-1").await;
    let key_id = aws_sdk_kms::Client::new(&nested_sdk)
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let event_of = |account: &str, stream: &str, key: &str| {
        serde_json::json!({
            "invokingEvent": serde_json::json!({"messageType": "ConfigurationItemChangeNotification", "configurationItem": {
                "configurationItemCaptureTime": "2026-12-01T09:59:58.123Z", "awsAccountId": account,
                "configurationItemStatus": "OK", "resourceType": "AWS::Kinesis::Stream", "resourceId": stream,
                "ARN": format!("arn:aws:kinesis:us-east-1:{account}:stream/{stream}"), "awsRegion": "us-east-1", "tags": {},
                "configuration": {"StreamEncryption": {"EncryptionType": "KMS", "KeyId": key}}}}).to_string(),
            // The emulator files evaluations under their result token, standing in for the rule.
            "ruleParameters": "{\"executionRoleName\":\"cmk-guardrails-member\"}", "resultToken": "cmk-required",
            "eventLeftScope": false, "accountId": account, "version": "1.0",
            "executionRoleArn": format!("arn:aws:iam::{account}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"),
            "configRuleArn": format!("arn:aws:config:us-east-1:{account}:config-rule/config-rule-ab12cd"),
            "configRuleName": "cmk-required",
        })
        .to_string()
    };
    let stream_result = |sdk: aws_config::SdkConfig, stream: &'static str| async move {
        aws_sdk_config::Client::new(&sdk)
            .get_compliance_details_by_resource()
            .resource_type("AWS::Kinesis::Stream")
            .resource_id(stream)
            .send()
            .await
            .unwrap()
            .evaluation_results()
            .iter()
            .filter_map(|r| r.compliance_type().map(|c| c.as_str().to_owned()))
            .collect::<Vec<_>>()
    };
    std::fs::write(
        o.dir.join("event.json"),
        event_of(&nested, "orders", &key_id),
    )
    .unwrap();
    let evaluated = o.run_as(
        &["evaluate", "event.json", "--put", "--output", "json"],
        &as_function,
    );
    println!(
        "$ guardrails evaluate event.json --put --output json\n{}",
        text(&evaluated.stdout)
    );
    assert_eq!(
        code(&evaluated),
        0,
        "{}{}",
        text(&evaluated.stdout),
        text(&evaluated.stderr)
    );
    assert_eq!(
        stream_result(nested_sdk.clone(), "orders").await,
        ["COMPLIANT"],
        "read back from the member's Config"
    );

    // An account without the member role (outside the OU): a permanent error naming the account
    // and the role, and nothing put.
    let outsider = o.by_hand.account("outsider", &o.by_hand.root).await;
    std::fs::write(
        o.dir.join("outsider.json"),
        event_of(&outsider, "orders", "alias/aws/kinesis"),
    )
    .unwrap();
    let refused = o.run_as(&["evaluate", "outsider.json", "--put"], &as_function);
    let err = text(&refused.stderr);
    println!("$ guardrails evaluate outsider.json --put\n{err}");
    assert_eq!(code(&refused), 2, "{}{err}", text(&refused.stdout));
    assert!(
        err.contains(&outsider)
            && err.contains(&format!(
                "arn:aws:iam::{outsider}:role/cmk-guardrails-member"
            )),
        "{err}"
    );
    let outsider_sdk = Emulator::shared().sdk(&outsider, "us-east-1").await;
    assert!(
        stream_result(outsider_sdk, "orders").await.is_empty(),
        "nothing put in the outsider's Config"
    );

    // The OU's compliance in one place, from the organization aggregator deploy created.
    let status = o.run(&["status", "--ou", "sandbox"]);
    let report = text(&status.stdout);
    println!("$ guardrails status --ou sandbox\n{report}");
    assert_eq!(code(&status), 0, "{report}{}", text(&status.stderr));
    assert!(
        report.contains("Compliance (from aggregator cmk-guardrails (us-east-1)):"),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "  {nested} us-east-1: rule current, last evaluated 20"
        )) && report.contains("1 COMPLIANT, 0 NON_COMPLIANT"),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "  {second} us-east-1: rule current, last evaluated never, 0 COMPLIANT, 0 NON_COMPLIANT"
        )),
        "{report}"
    );
    std::fs::write(
        o.dir.join("bad.json"),
        event_of(&nested, "payments", "alias/aws/kinesis"),
    )
    .unwrap();
    let bad = o.run_as(&["evaluate", "bad.json", "--put"], &as_function);
    assert_eq!(code(&bad), 1, "{}{}", text(&bad.stdout), text(&bad.stderr));
    let html = o.dir.join("status.html");
    let status = o.run(&[
        "status",
        "--ou",
        "sandbox",
        "--output",
        "json",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(
        code(&status),
        3,
        "in sync, with NON_COMPLIANT resources: {}",
        text(&status.stdout)
    );
    // The report holds the aggregator's results: the NON_COMPLIANT stream, and a bar per account
    // with its counts.
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(page.matches("<tr data-account=").count(), 1, "{page}");
    assert!(
        page.contains(">payments<"),
        "the NON_COMPLIANT stream is listed"
    );
    assert!(
        page.contains(&format!(
            r#"data-label="{nested}" data-compliant="1" data-non-compliant="1""#
        )),
        "{page}"
    );
    let report: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(report["non_compliant"], 1, "{report}");
    let row = report["compliance"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["account"] == nested.as_str())
        .unwrap();
    assert_eq!(
        (row["compliant"].as_u64(), row["non_compliant"].as_u64()),
        (Some(1), Some(1)),
        "{row}"
    );

    let again = o.run(&["deploy", "--ou", "sandbox"]);
    assert_eq!(code(&again), 0, "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("nothing to do"),
        "{}",
        text(&again.stdout)
    );

    let destroy = o.run(&["destroy", "--ou", "sandbox", "--yes"]);
    println!("{}", text(&destroy.stdout));
    assert_eq!(
        code(&destroy),
        0,
        "{}{}",
        text(&destroy.stdout),
        text(&destroy.stderr)
    );
    let gone = text(&destroy.stdout);
    assert!(gone.contains("- delete the central function"), "{gone}");
    assert!(
        gone.contains(&format!("- delete code bucket {bucket}")),
        "{gone}"
    );
    for member in &members {
        assert!(rules_of(member).await.is_empty(), "{member}");
    }
    let after = o.run(&["status", "--ou", "sandbox"]);
    assert_eq!(
        code(&after),
        1,
        "after destroy, a deploy has everything to do again"
    );
}

#[tokio::test]
async fn a_region_dropped_from_the_settings_is_pruned_by_the_next_deploy() {
    let o = org().await;
    let management = o.by_hand.management.clone();
    let both = o.run(&[
        "deploy",
        "--ou",
        "sandbox",
        "--region",
        "us-east-1",
        "--region",
        "eu-west-1",
    ]);
    assert_eq!(
        code(&both),
        0,
        "{}{}",
        text(&both.stdout),
        text(&both.stderr)
    );
    let member_eu = Emulator::shared().sdk(&o.member, "eu-west-1").await;
    let rules_eu = || async {
        aws_sdk_config::Client::new(&member_eu)
            .describe_config_rules()
            .send()
            .await
            .unwrap()
            .config_rules()
            .len()
    };
    assert_eq!(rules_eu().await, 2);

    let one = o.run(&["deploy", "--ou", "sandbox", "--region", "us-east-1"]);
    let plan = text(&one.stdout);
    println!("{plan}");
    assert_eq!(code(&one), 0, "{plan}{}", text(&one.stderr));
    for line in [
        format!(
            "- delete the Config rule instances on {} in eu-west-1",
            o.sandbox
        ),
        "- delete the central function (stack cmk-guardrails-central) in eu-west-1".to_owned(),
        format!("- delete code bucket cmk-guardrails-code-{management}-eu-west-1"),
        "~ update stack set cmk-guardrails-config-rule: parameter CentralRoleArns".to_owned(),
    ] {
        assert!(plan.contains(&line), "{line}\n{plan}");
    }
    assert_eq!(
        rules_eu().await,
        0,
        "the member's rules in eu-west-1 are gone"
    );
    let again = o.run(&["deploy", "--ou", "sandbox", "--region", "us-east-1"]);
    assert!(
        text(&again.stdout).contains("nothing to do"),
        "{}",
        text(&again.stdout)
    );

    // The member role lives in one Region's instance: putting another Region first leaves it
    // there; dropping that Region moves it (its instances go first, then the update creates it).
    let role = || {
        Emulator::shared().iam(
            &o.member,
            &[("Action", "GetRole"), ("RoleName", "cmk-guardrails-member")],
        )
    };
    for regions in [&["eu-west-1", "us-east-1"][..], &["eu-west-1"][..]] {
        let mut args = vec!["deploy", "--ou", "sandbox"];
        for r in regions {
            args.extend(["--region", r]);
        }
        let out = o.run(&args);
        assert_eq!(
            code(&out),
            0,
            "{regions:?}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(
            role().starts_with("HTTP/1.1 200"),
            "{regions:?}: {}",
            role()
        );
    }
    // The aggregator's Region was dropped with it: the next deploy recreates it in the first one.
    let moved = o.run(&["deploy", "--ou", "sandbox", "--region", "eu-west-1"]);
    let plan = text(&moved.stdout);
    assert_eq!(code(&moved), 0, "{plan}{}", text(&moved.stderr));
    assert!(
        plan.contains("in eu-west-1: WithAggregator `false` → `true`"),
        "{plan}"
    );
    // (Whether CloudFormation then creates the aggregator, whose condition turned true, is not
    // checked: moto's stack update adds no resource when only a condition changes.)
}
