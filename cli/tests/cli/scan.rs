//! `guardrails scan` against the emulator: the real binary over two Regions, and the proof that it
//! gives the Config rule's verdicts for the same resources (the rule's own handler, putting to
//! Config, run on the same account).

use std::collections::BTreeSet;
use std::process::{Command, Output, Stdio};

use aws_sdk_sqs::types::QueueAttributeName;
use cmk_integration_tests::calls::Calls;
use cmk_integration_tests::emulator::Emulator;
use cmk_integration_tests::resources;
use serde_json::Value;

/// What the seeded resources must get, written down from the rule's contract (README, "What the
/// rule decides"), not from either implementation: Region, type, id, compliance, and a phrase
/// the annotation must contain.
const EXPECTED: [(&str, &str, &str, &str, &str); 16] = [
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
    (
        "us-east-1",
        "AWS::SQS::Queue",
        "aws-sqs",
        "NON_COMPLIANT",
        "AWS-managed key",
    ),
    (
        "us-east-1",
        "AWS::SQS::Queue",
        "cmk",
        "COMPLIANT",
        "customer-managed key",
    ),
    (
        "us-east-1",
        "AWS::SQS::Queue",
        "sse-sqs",
        "NON_COMPLIANT",
        "AWS-owned key (SSE-SQS)",
    ),
    (
        "us-east-1",
        "AWS::SNS::Topic",
        "cmk-topic",
        "COMPLIANT",
        "customer-managed key",
    ),
    (
        "us-east-1",
        "AWS::SNS::Topic",
        "plain-topic",
        "NON_COMPLIANT",
        "not encrypted",
    ),
    // Bucket names are global: each account's carry its id.
    (
        "us-east-1",
        "AWS::S3::Bucket",
        "sse-s3",
        "NON_COMPLIANT",
        "AWS-owned key (SSE-S3)",
    ),
    (
        "us-east-1",
        "AWS::S3::Bucket",
        "kms-no-key",
        "NON_COMPLIANT",
        "alias/aws/s3",
    ),
    (
        "us-east-1",
        "AWS::S3::Bucket",
        "cmk-dsse",
        "COMPLIANT",
        "customer-managed key",
    ),
];

/// Checks one set of verdicts against [`EXPECTED`]; secrets are named by ARN, queues by URL and
/// buckets with their account's id, so they are matched by the name inside it.
fn assert_expected(what: &str, got: &BTreeSet<(String, String, String, String, String)>) {
    assert_eq!(got.len(), EXPECTED.len(), "{what}: {got:#?}");
    for (region, resource_type, id, compliance, phrase) in EXPECTED {
        let found = got.iter().find(|(r, t, i, _, _)| {
            r == region
                && t == resource_type
                && (i == id
                    || i.contains(&format!(":secret:{id}-"))
                    || (t == "AWS::SQS::Queue" && i.ends_with(&format!("/{id}")))
                    || (t == "AWS::SNS::Topic" && i.ends_with(&format!(":{id}")))
                    || (t == "AWS::S3::Bucket" && i.starts_with(&format!("{id}-"))))
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
    let aws_sqs = resources::aws_managed(&sdk, "alias/aws/sqs").await;
    resources::queue(&sdk, "sse-sqs", &[]).await;
    resources::queue(
        &sdk,
        "aws-sqs",
        &[(QueueAttributeName::KmsMasterKeyId, &aws_sqs)],
    )
    .await;
    resources::queue(&sdk, "cmk", &[(QueueAttributeName::KmsMasterKeyId, &cmk)]).await;
    resources::topic(&sdk, "plain-topic", None).await;
    resources::topic(&sdk, "cmk-topic", Some(&cmk)).await;
    resources::bucket(&sdk, &format!("sse-s3-{account}"), None).await;
    resources::bucket(
        &sdk,
        &format!("kms-no-key-{account}"),
        Some(("aws:kms", None)),
    )
    .await;
    resources::bucket(
        &sdk,
        &format!("cmk-dsse-{account}"),
        Some(("aws:kms:dsse", Some(&cmk))),
    )
    .await;
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

type Verdicts = BTreeSet<(String, String, String, String, String)>;

/// The verdicts of a `scan --output json` run, after checking its exit code.
fn scanned(out: &Output, account: &str, code: i32) -> Verdicts {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    list.iter()
        .map(|v| {
            assert_eq!(v["account"], account);
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            (
                s("region"),
                s("resourceType"),
                s("resourceId"),
                s("complianceType"),
                s("annotation"),
            )
        })
        .collect()
}

/// What the Config rule itself decides and puts for the account's periodic sweep in `region`.
async fn rule_verdicts(account: &str, region: &str) -> Verdicts {
    rule_verdicts_counted(account, region, &Calls::default()).await
}

/// [`rule_verdicts`], with every AWS call of the rule recorded in `calls`.
async fn rule_verdicts_counted(account: &str, region: &str, calls: &Calls) -> Verdicts {
    let sdk = Emulator::shared().sdk(account, region).await;
    let sink = cmk_rule::aws::ConfigSink(aws_sdk_config::Client::new(&sdk));
    let mut handler = cmk_rule::aws::handler(&sdk, Some(sink));
    use cmk_integration_tests::counted_client;
    handler.inventory.queries.config = counted_client!(aws_sdk_config, &sdk, calls);
    handler.inventory.services.kinesis = counted_client!(aws_sdk_kinesis, &sdk, calls);
    handler.inventory.services.secrets = counted_client!(aws_sdk_secretsmanager, &sdk, calls);
    handler.inventory.services.dynamodb = counted_client!(aws_sdk_dynamodb, &sdk, calls);
    handler.inventory.services.sqs = counted_client!(aws_sdk_sqs, &sdk, calls);
    handler.inventory.services.sns = counted_client!(aws_sdk_sns, &sdk, calls);
    handler.keys.inner =
        cmk_rule::aws::KmsKeyResolver::new(counted_client!(aws_sdk_kms, &sdk, calls));
    let event = cmk_core::ConfigEvent::from_value(cmk_integration_tests::events::periodic(
        account,
        region,
        "cmk-required",
        "cmk-required",
    ))
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
    let expected = EXPECTED.iter().filter(|e| e.3 == "NON_COMPLIANT").count();
    assert_eq!(non_compliant.len(), expected, "{non_compliant:?}");

    let sarif = scan(&account, &["--output", "sarif"]).await;
    assert_eq!(sarif.status.code(), Some(1));
    let sarif: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    cmk_integration_tests::sarif::validate(&sarif).unwrap();
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        EXPECTED
            .iter()
            .filter(|e| e.0 == "us-east-1" && e.3 == "NON_COMPLIANT")
            .count(),
        "us-east-1 only by default"
    );

    let text = scan(&account, &["--region", "eu-west-1"]).await;
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [account.as_str(), "eu-west-1", "1", "0", "1", "0"]),
        "one summary line per account and Region: {text}"
    );
    let listed = text.split("NON_COMPLIANT:\n").nth(1).expect(&text);
    assert!(listed.contains("eu-stream"), "{text}");
    assert!(
        text.contains("1 resource(s) evaluated, 1 NON_COMPLIANT"),
        "{text}"
    );

    let csv = scan(&account, &["--output", "csv"]).await;
    assert_eq!(csv.status.code(), Some(1));
    let csv = String::from_utf8_lossy(&csv.stdout).into_owned();
    assert!(
        csv.starts_with("account,region,resourceType,resourceId,complianceType,annotation,keys\n"),
        "{csv}"
    );
    assert_eq!(
        csv.lines().count(),
        1 + EXPECTED.iter().filter(|e| e.0 == "us-east-1").count(),
        "a row per us-east-1 verdict: {csv}"
    );
}

#[tokio::test]
async fn the_recorded_inventory_gives_the_services_verdicts_without_a_describe_call() {
    let account = Emulator::new_account();
    resources(&account).await;
    let emulator = Emulator::shared();
    for region in ["us-east-1", "eu-west-1"] {
        resources::record(&emulator.sdk(&account, region).await, None).await;
    }
    let both = ["--region", "us-east-1", "--region", "eu-west-1"];
    let json = ["--output", "json"];
    let from_config = scanned(
        &scan(
            &account,
            &[&both[..], &json, &["--source", "config"]].concat(),
        )
        .await,
        &account,
        1,
    );
    assert_expected("scan --source config", &from_config);
    let from_services = scanned(
        &scan(&account, &[&both[..], &json].concat()).await,
        &account,
        1,
    );
    assert_eq!(
        from_config, from_services,
        "the recorded inventory and the services' APIs agree, annotation for annotation"
    );

    // The rule's own sweep (mode auto) reads the recorded inventory: one Select per type and one
    // for the keys, no describe call, no DescribeKey (the keys' facts are recorded too).
    let calls = Calls::default();
    let rule = rule_verdicts_counted(&account, "us-east-1", &calls).await;
    let sent = calls.all();
    let count = |op: &str| sent.iter().filter(|o| *o == op).count();
    // One per registered type, one for the keys.
    assert_eq!(
        count("SelectResourceConfig"),
        cmk_core::resources::KINDS.len() + 1,
        "{sent:?}"
    );
    for op in [
        "DescribeStreamSummary",
        "DescribeTable",
        "DescribeSecret",
        "DescribeKey",
        "ListStreams",
        "ListTables",
        "ListQueues",
        "GetQueueAttributes",
        "ListTopics",
        "GetTopicAttributes",
    ] {
        assert_eq!(count(op), 0, "{op}: {sent:?}");
    }
    // Replicated secrets only: ListSecrets with the primary-region filter, once.
    assert_eq!(count("ListSecrets"), 1, "{sent:?}");
    let expected_here: Verdicts = from_config
        .iter()
        .filter(|v| v.0 == "us-east-1")
        .cloned()
        .collect();
    assert_eq!(rule, expected_here, "the rule and the scan agree");
}

#[tokio::test]
async fn a_type_not_recorded_is_swept_through_its_service_or_named_with_source_config() {
    let account = Emulator::new_account();
    resources(&account).await;
    let sdk = Emulator::shared().sdk(&account, "us-east-1").await;
    // Streams and keys only: secrets, tables, queues and topics are not in the inventory.
    resources::record(&sdk, Some(&["AWS::Kinesis::Stream", "AWS::KMS::Key"])).await;
    let calls = Calls::default();
    let rule = rule_verdicts_counted(&account, "us-east-1", &calls).await;
    let sent = calls.all();
    let count = |op: &str| sent.iter().filter(|o| *o == op).count();
    assert_eq!(
        count("SelectResourceConfig"),
        2,
        "streams and keys: {sent:?}"
    );
    assert_eq!(count("DescribeStreamSummary"), 0, "{sent:?}");
    assert_eq!(count("DescribeTable"), 2, "tables from DynamoDB: {sent:?}");
    assert_eq!(count("GetQueueAttributes"), 3, "queues from SQS: {sent:?}");
    assert_eq!(count("GetTopicAttributes"), 2, "topics from SNS: {sent:?}");
    let services = scanned(&scan(&account, &["--output", "json"]).await, &account, 1);
    assert_eq!(rule, services, "mixed sources, the same verdicts");

    let out = scan(&account, &["--output", "json", "--source", "config"]).await;
    let partial = scanned(&out, &account, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    for t in [
        "AWS::SecretsManager::Secret",
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
    ] {
        assert!(
            err.contains(&format!(
                "{t} is not recorded by a running configuration recorder in us-east-1"
            )),
            "{err}"
        );
    }
    assert!(
        partial.iter().all(|v| v.1 == "AWS::Kinesis::Stream") && partial.len() == 3,
        "what is recorded is still printed: {partial:?}"
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

/// An organization of two member accounts with recorded resources, and the management account's
/// organization aggregator `org`; returns (management, alpha, beta).
async fn aggregated_organization() -> (String, String, String) {
    use aws_sdk_config::types::OrganizationAggregationSource;
    use cmk_integration_tests::organization::Organization;
    let emulator = Emulator::shared();
    let management = Emulator::new_account();
    let msdk = emulator.sdk(&management, "us-east-1").await;
    let org = Organization::create(&management, aws_sdk_organizations::Client::new(&msdk)).await;
    let alpha = org.account("alpha", &org.root).await;
    let beta = org.account("beta", &org.root).await;

    let a = emulator.sdk(&alpha, "us-east-1").await;
    let (_, cmk) = resources::cmk(&a).await;
    resources::stream(&a, "a-cmk", Some(&cmk)).await;
    resources::stream(&a, "a-plain", None).await;
    resources::record(&a, None).await;
    let a_eu = emulator.sdk(&alpha, "eu-west-1").await;
    resources::table(&a_eu, "a-owned", None).await;
    resources::record(&a_eu, None).await;
    let b = emulator.sdk(&beta, "us-east-1").await;
    resources::secret(&b, "b-default", None).await;
    // By key ARN: only the recorded key item says it is AWS-managed (the management account may
    // not describe another account's AWS-managed key).
    let aws_kinesis = resources::aws_managed(&b, "alias/aws/kinesis").await;
    resources::stream(&b, "b-aws", Some(&aws_kinesis)).await;
    resources::record(&b, None).await;

    aws_sdk_config::Client::new(&msdk)
        .put_configuration_aggregator()
        .configuration_aggregator_name("org")
        .organization_aggregation_source(
            OrganizationAggregationSource::builder()
                .role_arn(format!("arn:aws:iam::{management}:role/aggregator"))
                .all_aws_regions(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    (management, alpha, beta)
}

/// (account, Region, id, compliance) of a JSON scan, secrets by their name.
fn places(out: &Output) -> BTreeSet<(String, String, String, String)> {
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    list.iter()
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            let id = s("resourceId");
            let id = match id.split_once(":secret:") {
                Some((_, name)) => name.rsplit_once('-').map_or(name, |(n, _)| n).to_owned(),
                None => id,
            };
            (s("account"), s("region"), id, s("complianceType"))
        })
        .collect()
}

#[tokio::test]
async fn an_aggregator_scan_covers_every_account_and_region_and_its_report_renders() {
    let (management, alpha, beta) = aggregated_organization().await;
    let out = scan(&management, &["--aggregator", "org", "--output", "json"]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = |account: &str, region: &str, id: &str, compliance: &str| {
        (
            account.to_owned(),
            region.to_owned(),
            id.to_owned(),
            compliance.to_owned(),
        )
    };
    let all = BTreeSet::from([
        row(&alpha, "us-east-1", "a-cmk", "COMPLIANT"),
        row(&alpha, "us-east-1", "a-plain", "NON_COMPLIANT"),
        row(&alpha, "eu-west-1", "a-owned", "NON_COMPLIANT"),
        row(&beta, "us-east-1", "b-default", "NON_COMPLIANT"),
        row(&beta, "us-east-1", "b-aws", "NON_COMPLIANT"),
    ]);
    assert_eq!(places(&out), all);

    let only_beta = scan(
        &management,
        &[
            "--aggregator",
            "org",
            "--account",
            &beta,
            "--output",
            "json",
        ],
    )
    .await;
    let want: BTreeSet<_> = all.iter().filter(|r| r.0 == beta).cloned().collect();
    assert_eq!(places(&only_beta), want);
    let only_eu = scan(
        &management,
        &[
            "--aggregator",
            "org",
            "--region",
            "eu-west-1",
            "--output",
            "json",
        ],
    )
    .await;
    let want: BTreeSet<_> = all.iter().filter(|r| r.1 == "eu-west-1").cloned().collect();
    assert_eq!(places(&only_eu), want);
    let unknown = scan(&management, &["--aggregator", "nope"]).await;
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("NoSuchConfigurationAggregator"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );

    // The HTML report, rendered by a real browser.
    let dir = cmk_integration_tests::emulator::workspace().join("target/artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let html = dir.join("scan-report.html");
    let out = scan(
        &management,
        &["--aggregator", "org", "--html", html.to_str().unwrap()],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let dom = chromium(&html, &["--dump-dom"]);
    let bar = |account: &str, compliant: u32, non_compliant: u32| {
        format!(
            r#"data-label="{account}" data-compliant="{compliant}" data-non-compliant="{non_compliant}" data-not-applicable="0""#
        )
    };
    let by_account = dom
        .split(r#"<svg id="by-account""#)
        .nth(1)
        .and_then(|rest| rest.split("</svg>").next())
        .expect("the chart by account");
    assert_eq!(
        by_account.matches(r#"<g class="bar""#).count(),
        2,
        "one bar per account: {by_account}"
    );
    assert!(by_account.contains(&bar(&alpha, 1, 2)), "{by_account}");
    assert!(by_account.contains(&bar(&beta, 0, 2)), "{by_account}");
    assert_eq!(
        dom.matches("<tr data-account=").count(),
        4,
        "one row per NON_COMPLIANT resource"
    );
    // Written by the page's script once it ran: the filter's count.
    assert!(dom.contains(">4 of 4 shown<"), "the script ran");
    for id in ["a-plain", "a-owned", "b-aws"] {
        assert!(dom.contains(&format!(">{id}<")), "{id} in the table");
    }
    let png = dir.join("scan-report.png");
    let _ = std::fs::remove_file(&png);
    chromium(
        &html,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1400,1600",
        ],
    );
    let shot = std::fs::read(&png).expect("the screenshot");
    assert!(
        shot.starts_with(b"\x89PNG") && shot.len() > 20_000,
        "{} bytes",
        shot.len()
    );
}

/// Runs Debian's Chromium headless on a local file (no network: the page must need none);
/// returns its stdout.
fn chromium(page: &std::path::Path, args: &[&str]) -> String {
    let binary = std::path::Path::new("/usr/bin/chromium");
    assert!(
        binary.exists(),
        "/usr/bin/chromium is missing: run scripts/setup-chromium"
    );
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
