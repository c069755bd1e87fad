//! The rule against a real AWS API emulator: moto in server mode (patched by `emulator/`), with
//! the real AWS SDK clients. Real keys (customer-managed, disabled, pending deletion,
//! AWS-managed), streams, secrets and tables are created; the rule runs; verdicts and what was put
//! are read back from the emulator.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::SseSpecification;
use cmk_core::{Compliance, ConfigEvent, Evaluation};
use cmk_integration_tests::calls::Calls;
use cmk_integration_tests::emulator::Emulator;
use cmk_integration_tests::resources;
use cmk_rule::aws::{self, ConfigHistory, ConfigSink, KmsKeyResolver, ServiceInventory};
use cmk_rule::{Failed, Handler, HandlerError, Options, Report};
use serde_json::{Value, json};
use time::OffsetDateTime;

const REGION: &str = "us-east-1";

struct Account {
    id: String,
    sdk: SdkConfig,
}

impl Account {
    async fn new() -> Account {
        let id = Emulator::new_account();
        let sdk = Emulator::shared().sdk(&id, REGION).await;
        Account { id, sdk }
    }
    fn kms(&self) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.sdk)
    }
    fn config(&self) -> aws_sdk_config::Client {
        aws_sdk_config::Client::new(&self.sdk)
    }
    fn handler<P>(&self, sink: P) -> aws::AwsHandler<P> {
        aws::handler(&self.sdk, sink)
    }

    async fn cmk(&self) -> (String, String) {
        resources::cmk(&self.sdk).await
    }
    /// A CMK of this account whose key policy lets `reader`'s account call DescribeKey.
    async fn shared_key(&self, reader: &Account) -> aws_sdk_kms::types::KeyMetadata {
        let policy = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{}:root", self.id)}, "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{}:root", reader.id)}, "Action": ["kms:DescribeKey"], "Resource": "*"}]});
        self.kms()
            .create_key()
            .policy(policy.to_string())
            .send()
            .await
            .unwrap()
            .key_metadata
            .unwrap()
    }
    async fn aws_managed(&self, alias: &str) -> String {
        resources::aws_managed(&self.sdk, alias).await
    }

    async fn stream(&self, name: &str, key: Option<&str>) {
        resources::stream(&self.sdk, name, key).await
    }
    async fn secret(&self, name: &str, key: Option<&str>) -> String {
        resources::secret(&self.sdk, name, key).await
    }
    async fn table(&self, name: &str, sse: Option<SseSpecification>) {
        resources::table(&self.sdk, name, sse).await
    }

    /// What the emulator recorded for a resource (one rule per test, so at most one result).
    async fn recorded(
        &self,
        resource_type: &str,
        resource_id: &str,
    ) -> Vec<(String, Option<String>)> {
        let out = self
            .config()
            .get_compliance_details_by_resource()
            .resource_type(resource_type)
            .resource_id(resource_id)
            .send()
            .await
            .unwrap();
        out.evaluation_results()
            .iter()
            .map(|r| {
                (
                    r.compliance_type().unwrap().as_str().to_owned(),
                    r.annotation().map(str::to_owned),
                )
            })
            .collect()
    }

    fn scheduled(&self, token: &str, params: &str) -> ConfigEvent {
        ConfigEvent {
            invoking_event: json!({"awsAccountId": self.id, "notificationCreationTime": "2026-01-05T10:00:00.000Z",
                                   "messageType": "ScheduledNotification", "recordVersion": "1.0"})
            .to_string(),
            rule_parameters: Some(params.to_owned()),
            result_token: Some(token.to_owned()),
            account_id: Some(self.id.clone()),
            config_rule_arn: Some(format!("arn:aws:config:{REGION}:{}:config-rule/config-rule-test", self.id)),
            ..ConfigEvent::default()
        }
    }

    fn change(
        &self,
        resource_type: &str,
        resource_id: &str,
        configuration: Value,
        params: &str,
        token: &str,
    ) -> ConfigEvent {
        let item = json!({
            "configurationItemCaptureTime": "2026-01-05T09:59:58.123Z", "awsAccountId": self.id,
            "configurationItemStatus": "OK", "resourceType": resource_type, "resourceId": resource_id,
            "awsRegion": REGION, "tags": {}, "configuration": configuration, "supplementaryConfiguration": {}
        });
        ConfigEvent {
            invoking_event: json!({"messageType": "ConfigurationItemChangeNotification", "configurationItemDiff": null,
                                   "configurationItem": item})
            .to_string(),
            rule_parameters: Some(params.to_owned()),
            result_token: Some(token.to_owned()),
            config_rule_arn: Some(format!("arn:aws:config:{REGION}:{}:config-rule/config-rule-test", self.id)),
            ..ConfigEvent::default()
        }
    }
}

fn stream_config(key: &str) -> Value {
    json!({"StreamEncryption": {"EncryptionType": "KMS", "KeyId": key}})
}

fn one(report: &Report) -> &Evaluation {
    assert_eq!(report.evaluations.len(), 1, "{report:?}");
    &report.evaluations[0]
}

/// The report holds one evaluation, with this compliance and an annotation containing `needle`.
fn assert_one(report: &Report, want: Compliance, needle: &str) {
    let e = one(report);
    assert_eq!(e.compliance_type, want, "{report:?}");
    let annotation = e.annotation.as_deref().unwrap_or_default();
    assert!(
        annotation.contains(needle),
        "{annotation:?} lacks {needle:?}"
    );
}

fn assert_recorded(got: &[(String, Option<String>)], want: Compliance, needle: &str, what: &str) {
    let [(compliance, annotation)] = got else {
        panic!("{what}: expected one recorded evaluation, got {got:?}")
    };
    let annotation = annotation.as_deref().unwrap_or_default();
    assert_eq!(compliance, want.as_str(), "{what}: {annotation}");
    assert!(
        annotation.contains(needle),
        "{what}: {annotation:?} lacks {needle:?}"
    );
}

#[tokio::test]
async fn sweep_judges_real_resources_and_the_emulator_records_every_verdict() {
    let a = Account::new().await;
    let kms = a.kms();
    let (cmk_id, cmk) = a.cmk().await;
    kms.create_alias()
        .alias_name("alias/orders-data")
        .target_key_id(&cmk_id)
        .send()
        .await
        .unwrap();
    let (disabled_id, disabled) = a.cmk().await;
    kms.disable_key().key_id(&disabled_id).send().await.unwrap();
    let (pending_id, pending) = a.cmk().await;
    kms.schedule_key_deletion()
        .key_id(&pending_id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let aws_kinesis = a.aws_managed("alias/aws/kinesis").await;
    let aws_secrets = a.aws_managed("alias/aws/secretsmanager").await;

    let streams = [
        ("plain", None, Compliance::NonCompliant, "not encrypted"),
        (
            "aws-alias",
            Some("alias/aws/kinesis"),
            Compliance::NonCompliant,
            "alias/aws/kinesis",
        ),
        (
            "aws-arn",
            Some(aws_kinesis.as_str()),
            Compliance::NonCompliant,
            aws_kinesis.as_str(),
        ),
        (
            "cmk-alias",
            Some("alias/orders-data"),
            Compliance::Compliant,
            cmk.as_str(),
        ),
        (
            "cmk-id",
            Some(cmk_id.as_str()),
            Compliance::Compliant,
            cmk.as_str(),
        ),
        (
            "disabled",
            Some(disabled.as_str()),
            Compliance::NonCompliant,
            "Disabled",
        ),
        (
            "pending",
            Some(pending.as_str()),
            Compliance::NonCompliant,
            "PendingDeletion",
        ),
        (
            "missing",
            Some("alias/does-not-exist"),
            Compliance::NonCompliant,
            "not found",
        ),
    ];
    for (name, key, ..) in &streams {
        a.stream(name, *key).await;
    }
    let secrets = [
        (
            "default",
            None,
            Compliance::NonCompliant,
            "alias/aws/secretsmanager",
        ),
        (
            "aws-alias",
            Some("alias/aws/secretsmanager"),
            Compliance::NonCompliant,
            "alias/aws/secretsmanager",
        ),
        (
            "aws-arn",
            Some(aws_secrets.as_str()),
            Compliance::NonCompliant,
            aws_secrets.as_str(),
        ),
        (
            "cmk",
            Some(cmk.as_str()),
            Compliance::Compliant,
            cmk.as_str(),
        ),
    ];
    let mut secret_arns = Vec::new();
    for (name, key, ..) in &secrets {
        secret_arns.push(a.secret(name, *key).await);
    }
    let kms_sse = |key: Option<&str>| Some(resources::sse_kms(key));
    a.table("owned", None).await;
    a.table("aws-managed", kms_sse(None)).await;
    a.table("cmk", kms_sse(Some(&cmk))).await;
    a.table("pending", kms_sse(Some(&pending))).await;
    let tables = [
        ("owned", Compliance::NonCompliant, "AWS-owned"),
        ("aws-managed", Compliance::NonCompliant, "AWS-managed"),
        ("cmk", Compliance::Compliant, cmk.as_str()),
        ("pending", Compliance::NonCompliant, "PendingDeletion"),
    ];
    let aws_sqs = a.aws_managed("alias/aws/sqs").await;
    let queues = [
        (
            "sse-sqs",
            None,
            Compliance::NonCompliant,
            "AWS-owned key (SSE-SQS)",
        ),
        ("plain", Some(""), Compliance::NonCompliant, "not encrypted"),
        (
            "aws-alias",
            Some("alias/aws/sqs"),
            Compliance::NonCompliant,
            "alias/aws/sqs",
        ),
        (
            "aws-arn",
            Some(aws_sqs.as_str()),
            Compliance::NonCompliant,
            aws_sqs.as_str(),
        ),
        (
            "cmk-alias",
            Some("alias/orders-data"),
            Compliance::Compliant,
            cmk.as_str(),
        ),
        (
            "disabled",
            Some(disabled.as_str()),
            Compliance::NonCompliant,
            "Disabled",
        ),
    ];
    let mut queue_urls = Vec::new();
    for (name, key, ..) in &queues {
        use aws_sdk_sqs::types::QueueAttributeName as Name;
        let attributes: Vec<(Name, &str)> = match key {
            None => vec![],
            Some("") => vec![(Name::SqsManagedSseEnabled, "false")],
            Some(key) => vec![(Name::KmsMasterKeyId, *key)],
        };
        queue_urls.push(resources::queue(&a.sdk, name, &attributes).await);
    }
    let aws_sns = a.aws_managed("alias/aws/sns").await;
    let topics = [
        (
            "plain",
            None,
            Compliance::NonCompliant,
            "not encrypted".to_owned(),
        ),
        (
            "aws-alias-arn",
            Some(format!("arn:aws:kms:{REGION}:{}:alias/aws/sns", a.id)),
            Compliance::NonCompliant,
            "alias/aws/sns".to_owned(),
        ),
        (
            "aws-key-arn",
            Some(aws_sns.clone()),
            Compliance::NonCompliant,
            aws_sns.clone(),
        ),
        (
            "cmk-id",
            Some(cmk_id.clone()),
            Compliance::Compliant,
            cmk.clone(),
        ),
        (
            "pending",
            Some(pending.clone()),
            Compliance::NonCompliant,
            "PendingDeletion".to_owned(),
        ),
    ];
    let mut topic_arns = Vec::new();
    for (name, key, ..) in &topics {
        topic_arns.push(resources::topic(&a.sdk, name, key.as_deref()).await);
    }

    let handler = a.handler(ConfigSink(a.config()));
    let report = handler
        .handle(&a.scheduled("sweep-rule", "{}"), Options::default())
        .await
        .unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(
        report.put,
        streams.len() + secrets.len() + tables.len() + queues.len() + topics.len()
    );

    for (name, _, want, needle) in &streams {
        let got = a.recorded("AWS::Kinesis::Stream", name).await;
        assert_recorded(&got, *want, needle, &format!("stream {name}"));
    }
    for ((name, _, want, needle), arn) in secrets.iter().zip(&secret_arns) {
        let got = a.recorded("AWS::SecretsManager::Secret", arn).await;
        assert_recorded(&got, *want, needle, &format!("secret {name}"));
    }
    for (name, want, needle) in &tables {
        let got = a.recorded("AWS::DynamoDB::Table", name).await;
        assert_recorded(&got, *want, needle, &format!("table {name}"));
    }
    for ((name, _, want, needle), url) in queues.iter().zip(&queue_urls) {
        let got = a.recorded("AWS::SQS::Queue", url).await;
        assert_recorded(&got, *want, needle, &format!("queue {name}"));
    }
    for ((name, _, want, needle), arn) in topics.iter().zip(&topic_arns) {
        let got = a.recorded("AWS::SNS::Topic", arn).await;
        assert_recorded(&got, *want, needle, &format!("topic {name}"));
    }
}

#[tokio::test]
async fn every_form_of_one_key_costs_one_describe_key_and_aws_aliases_none() {
    let a = Account::new().await;
    let (cmk_id, cmk) = a.cmk().await;
    a.kms()
        .create_alias()
        .alias_name("alias/orders-data")
        .target_key_id(&cmk_id)
        .send()
        .await
        .unwrap();
    let alias_arn = format!("arn:aws:kms:{REGION}:{}:alias/orders-data", a.id);
    let calls = Calls::default();
    let kms = aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::config::Builder::from(&a.sdk)
            .interceptor(calls.clone())
            .build(),
    );
    let mut handler = a.handler(None::<ConfigSink>);
    handler.keys.inner = KmsKeyResolver::new(kms);
    let aws_alias_arn = format!("arn:aws:kms:{REGION}:{}:alias/aws/kinesis", a.id);
    for key in ["alias/aws/kinesis", aws_alias_arn.as_str()] {
        let e = a.change(
            "AWS::Kinesis::Stream",
            "s",
            stream_config(key),
            "{}",
            "TESTMODE",
        );
        let report = handler.handle(&e, Options::collecting()).await.unwrap();
        assert_eq!(one(&report).compliance_type, Compliance::NonCompliant);
    }
    assert_eq!(calls.all().len(), 0, "alias/aws/* is decided without KMS");
    for key in [
        "alias/orders-data",
        alias_arn.as_str(),
        cmk_id.as_str(),
        cmk.as_str(),
        "alias/orders-data",
    ] {
        let e = a.change(
            "AWS::Kinesis::Stream",
            "s",
            stream_config(key),
            "{}",
            "TESTMODE",
        );
        let report = handler.handle(&e, Options::collecting()).await.unwrap();
        let evaluation = one(&report);
        assert_eq!(evaluation.compliance_type, Compliance::Compliant, "{key}");
        assert!(
            evaluation.annotation.as_deref().unwrap().contains(&cmk),
            "{key}"
        );
    }
    // Five change notifications: the key's facts are reused from the first (within the maximum
    // age); an alias is never taken from an earlier invocation (it may point elsewhere now), so
    // the two later alias forms read the Region's aliases again instead of a DescribeKey.
    let all = calls.all();
    let count = |op: &str| all.iter().filter(|c| c.as_str() == op).count();
    assert_eq!(
        count("DescribeKey"),
        1,
        "one DescribeKey for alias, alias ARN, key id and key ARN: {all:?}"
    );
    assert_eq!(count("ListAliases"), 2, "{all:?}");
    assert_eq!(all.len(), 3, "{all:?}");
}

#[tokio::test]
async fn key_policy_that_denies_describe_key_is_decided_by_elimination() {
    let a = Account::new().await;
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{}:root", a.id)}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": ["kms:DescribeKey"], "Resource": "*"}]});
    let locked = a
        .kms()
        .create_key()
        .policy(policy.to_string())
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap();
    let denied = a
        .kms()
        .describe_key()
        .key_id(&locked)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_kms::error::ProvideErrorMetadata::code(&denied),
        Some("AccessDeniedException")
    );
    let handler = a.handler(None::<ConfigSink>);
    let e = a.change(
        "AWS::Kinesis::Stream",
        "locked",
        stream_config(&locked),
        "{}",
        "TESTMODE",
    );
    let report = handler.handle(&e, Options::collecting()).await.unwrap();
    let evaluation = one(&report);
    assert_eq!(evaluation.compliance_type, Compliance::Compliant);
    assert!(
        evaluation
            .annotation
            .as_deref()
            .unwrap()
            .contains("unverified"),
        "{evaluation:?}"
    );
}

#[tokio::test]
async fn cross_account_keys_are_cmks_and_their_state_is_read_when_allowed() {
    let a = Account::new().await;
    let b = Account::new().await;
    let shared = b.shared_key(&a).await;
    b.kms()
        .disable_key()
        .key_id(&shared.key_id)
        .send()
        .await
        .unwrap();
    let (_, private) = b.cmk().await;
    let handler = a.handler(None::<ConfigSink>);
    let run = |key: String| {
        let e = a.change(
            "AWS::Kinesis::Stream",
            "s",
            stream_config(&key),
            "{}",
            "TESTMODE",
        );
        let h = &handler;
        async move { h.handle(&e, Options::collecting()).await.unwrap() }
    };
    let report = run(shared.arn.clone().unwrap()).await;
    assert_one(&report, Compliance::NonCompliant, "Disabled");
    let report = run(private.clone()).await;
    assert_one(&report, Compliance::Compliant, "cross-account");
    let params = json!({"allowedKeyAccounts": a.id}).to_string();
    let e = a.change(
        "AWS::Kinesis::Stream",
        "s",
        stream_config(&private),
        &params,
        "TESTMODE",
    );
    let report = handler.handle(&e, Options::collecting()).await.unwrap();
    assert_eq!(one(&report).compliance_type, Compliance::NonCompliant);
}

#[tokio::test]
async fn require_key_rotation_asks_kms_for_rotation() {
    let a = Account::new().await;
    let (_, still) = a.cmk().await;
    let (rotating_id, rotating) = a.cmk().await;
    a.kms()
        .enable_key_rotation()
        .key_id(&rotating_id)
        .send()
        .await
        .unwrap();
    let handler = a.handler(None::<ConfigSink>);
    for (key, want) in [
        (still, Compliance::NonCompliant),
        (rotating, Compliance::Compliant),
    ] {
        let e = a.change(
            "AWS::SecretsManager::Secret",
            "s",
            json!({"KMSKeyId": key}),
            r#"{"requireKeyRotation":"true"}"#,
            "TESTMODE",
        );
        let report = handler.handle(&e, Options::collecting()).await.unwrap();
        assert_eq!(one(&report).compliance_type, want, "{report:?}");
    }
}

/// An oversized notification for what Config recorded last for `id`: the summary carries the
/// item's own state id and capture time, to the millisecond, as Config's summaries do.
async fn oversized_for(
    a: &Account,
    config: &aws_sdk_config::Client,
    id: &str,
) -> (ConfigEvent, OffsetDateTime) {
    let recorded = config
        .get_resource_config_history()
        .resource_type(aws_sdk_config::types::ResourceType::Table)
        .resource_id(id)
        .limit(1)
        .send()
        .await
        .unwrap();
    let item = &recorded.configuration_items()[0];
    // The JSON protocol sends epoch seconds; the recorded value is whole milliseconds.
    let secs = item
        .configuration_item_capture_time()
        .unwrap()
        .as_secs_f64();
    let millis = (secs * 1000.0).round() as i128;
    let captured = OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000).unwrap();
    let summary = json!({"changeType": "UPDATE",
        "configurationItemCaptureTime": captured.format(&time::format_description::well_known::Rfc3339).unwrap(),
        "configurationStateId": item.configuration_state_id().unwrap().parse::<u64>().unwrap(),
        "awsAccountId": a.id, "configurationItemStatus": "OK", "resourceType": "AWS::DynamoDB::Table",
        "resourceId": id, "awsRegion": REGION});
    let event = ConfigEvent {
        invoking_event: json!({"messageType": "OversizedConfigurationItemChangeNotification",
            "configurationItemSummary": summary})
        .to_string(),
        result_token: Some("oversized-rule".into()),
        ..ConfigEvent::default()
    };
    (event, captured)
}

#[tokio::test]
async fn oversized_notification_fetches_the_item_from_config_history() {
    let a = Account::new().await;
    let config = a.config();
    // Several items, so several millisecond values: a float capture time read back below its
    // millisecond once refused about half of them (issue 11).
    let tables: Vec<String> = (0..8).map(|i| format!("Orders{i}")).collect();
    let mut keys = Vec::new();
    for name in &tables {
        a.table(name, Some(resources::sse_kms(None))).await;
        // What Config would record for this table: DescribeTable in the item's casing.
        let table = aws_sdk_dynamodb::Client::new(&a.sdk)
            .describe_table()
            .table_name(name)
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        let key = table
            .sse_description()
            .unwrap()
            .kms_master_key_arn()
            .unwrap()
            .to_owned();
        let configuration = json!({"tableName": name, "tableStatus": "ACTIVE",
            "ssedescription": {"status": "ENABLED", "ssetype": "KMS", "kmsmasterKeyArn": key}});
        config
            .put_resource_config()
            .resource_type("AWS::DynamoDB::Table")
            .schema_version_id("1")
            .resource_id(name)
            .configuration(configuration.to_string())
            .send()
            .await
            .unwrap();
        keys.push(key);
        tokio::time::sleep(std::time::Duration::from_millis(7)).await;
    }
    let handler = Handler {
        items: ConfigHistory(config.clone()),
        ..a.handler(ConfigSink(config.clone()))
    };
    for (name, key) in tables.iter().zip(&keys) {
        let (oversized, captured) = oversized_for(&a, &config, name).await;
        let report = handler
            .handle(&oversized, Options::collecting())
            .await
            .unwrap_or_else(|f| panic!("{name} captured {captured}: {}", f.error));
        let evaluation = one(&report);
        assert_eq!(evaluation.compliance_type, Compliance::NonCompliant);
        assert_eq!(evaluation.ordering_timestamp, captured, "{name}");
        assert!(
            evaluation
                .annotation
                .as_deref()
                .unwrap()
                .contains("AWS-managed"),
            "{evaluation:?}"
        );
        assert_recorded(
            &a.recorded("AWS::DynamoDB::Table", name).await,
            Compliance::NonCompliant,
            key,
            name,
        );
    }

    // Deleted since the notification: the newer item is judged, at its own time.
    let (oversized, captured) = oversized_for(&a, &config, &tables[0]).await;
    config
        .delete_resource_config()
        .resource_type("AWS::DynamoDB::Table")
        .resource_id(&tables[0])
        .send()
        .await
        .unwrap();
    let report = handler
        .handle(&oversized, Options::collecting())
        .await
        .unwrap();
    assert_eq!(one(&report).compliance_type, Compliance::NotApplicable);
    assert!(one(&report).ordering_timestamp >= captured);
    assert_recorded(
        &a.recorded("AWS::DynamoDB::Table", &tables[0]).await,
        Compliance::NotApplicable,
        "ResourceDeleted",
        "Orders0 deleted",
    );
}

#[tokio::test]
async fn invalid_parameters_put_nothing() {
    let a = Account::new().await;
    let handler = a.handler(ConfigSink(a.config()));
    let e = a.change(
        "AWS::Kinesis::Stream",
        "orders",
        stream_config("alias/aws/kinesis"),
        r#"{"allowedKeyAccounts":"not-an-account"}"#,
        "params-rule",
    );
    let Failed { report, error: err } = *handler.handle(&e, Options::default()).await.unwrap_err();
    assert!(matches!(err, HandlerError::Params(_)), "{err}");
    assert!(err.to_string().contains("not-an-account"));
    assert_eq!(report.put, 0);
    assert!(
        a.recorded("AWS::Kinesis::Stream", "orders")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_large_sweep_is_put_in_batches_the_emulator_accepts() {
    let a = Account::new().await;
    let mut arns = Vec::new();
    for i in 0..130 {
        arns.push(a.secret(&format!("bulk-{i:03}"), None).await);
    }
    let handler = a.handler(ConfigSink(a.config()));
    // The patched emulator rejects PutEvaluations with more than 100 evaluations.
    let report = handler
        .handle(&a.scheduled("bulk-rule", "{}"), Options::default())
        .await
        .unwrap();
    assert_eq!(report.put, 130);
    assert_eq!(report.non_compliant, 130);
    for arn in [&arns[0], &arns[99], &arns[129]] {
        assert_recorded(
            &a.recorded("AWS::SecretsManager::Secret", arn).await,
            Compliance::NonCompliant,
            "aws/secretsmanager",
            arn,
        );
    }
}

#[tokio::test]
async fn sweep_honours_exempt_tag_from_the_service_apis() {
    let a = Account::new().await;
    a.stream("exempt", None).await;
    a.stream("kept", None).await;
    let kinesis = aws_sdk_kinesis::Client::new(&a.sdk);
    kinesis
        .add_tags_to_stream()
        .stream_name("exempt")
        .tags("cmk-exempt", "approved")
        .send()
        .await
        .unwrap();
    let handler = a.handler(None::<ConfigSink>);
    let report = handler
        .handle(
            &a.scheduled("tag-rule", r#"{"exemptTag":"cmk-exempt"}"#),
            Options::collecting(),
        )
        .await
        .unwrap();
    let verdict = |id: &str| {
        report
            .evaluations
            .iter()
            .find(|e| e.compliance_resource_id == id)
            .unwrap()
            .compliance_type
    };
    assert_eq!(verdict("exempt"), Compliance::NotApplicable);
    assert_eq!(verdict("kept"), Compliance::NonCompliant);
}

#[tokio::test]
async fn inventory_reads_unencrypted_resources_without_a_recorder() {
    let a = Account::new().await;
    a.stream("s1", None).await;
    let inventory = ServiceInventory::new(&a.sdk);
    let scope = cmk_rule::handler::SweepScope {
        account_id: a.id.clone(),
        region: REGION.into(),
        partition: Some(cmk_core::Partition::Aws),
        time: time::OffsetDateTime::UNIX_EPOCH,
        with_tags: false,
        key_changed: false,
    };
    let page = cmk_rule::handler::Inventory::page(&inventory, "AWS::Kinesis::Stream", &scope, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].resource_id, "s1");
    assert_eq!(
        page.items[0].configuration.as_ref().unwrap()["StreamEncryption"]["EncryptionType"],
        "NONE"
    );
}

/// Every type of the registry has its services' inventory: a type added to `KINDS` without its
/// list and describe calls fails here, not in an account.
#[tokio::test]
async fn every_registered_type_is_read_through_its_service() {
    let a = Account::new().await;
    let inventory = ServiceInventory::new(&a.sdk);
    let scope = cmk_rule::handler::SweepScope {
        account_id: a.id.clone(),
        region: REGION.into(),
        partition: Some(cmk_core::Partition::Aws),
        time: time::OffsetDateTime::UNIX_EPOCH,
        with_tags: true,
        key_changed: false,
    };
    for kind in cmk_core::resources::KINDS {
        let page = cmk_rule::handler::Inventory::page(&inventory, kind.config_type, &scope, None)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", kind.config_type));
        assert!(
            page.items.is_empty() && page.failures.is_empty(),
            "{}",
            kind.config_type
        );
    }
}

#[tokio::test]
async fn credentials_of_another_account_never_turn_an_aws_managed_key_into_a_cmk() {
    // The resource lives in account A and uses A's aws/kinesis by key ARN; the rule runs with
    // account C's credentials (a misconfigured profile or central account). Bare names would
    // resolve in C; the rule must not call A's AWS-managed key a CMK.
    let a = Account::new().await;
    let c = Account::new().await;
    let aws_kinesis = a.aws_managed("alias/aws/kinesis").await;
    let e = a.change(
        "AWS::Kinesis::Stream",
        "s",
        stream_config(&aws_kinesis),
        "{}",
        "TESTMODE",
    );
    let result = c
        .handler(None::<ConfigSink>)
        .handle(&e, Options::collecting())
        .await;
    let failed = result.expect_err("A's key cannot be classified with C's credentials");
    assert!(failed.report.evaluations.is_empty(), "{failed:?}");
    let text = failed.error.to_string();
    assert!(
        text.contains(&aws_kinesis) && text.contains("alias/aws/kinesis"),
        "{text}"
    );
}

#[tokio::test]
async fn cross_account_alias_arn_resolves_in_the_owners_account() {
    let a = Account::new().await;
    let b = Account::new().await;
    let shared = b.shared_key(&a).await;
    b.kms()
        .create_alias()
        .alias_name("alias/shared")
        .target_key_id(&shared.key_id)
        .send()
        .await
        .unwrap();
    b.kms()
        .schedule_key_deletion()
        .key_id(&shared.key_id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    // A has an alias of the same name on a healthy key: it must not be the one used.
    let (own_id, _) = a.cmk().await;
    a.kms()
        .create_alias()
        .alias_name("alias/shared")
        .target_key_id(&own_id)
        .send()
        .await
        .unwrap();
    let alias_arn = format!("arn:aws:kms:{REGION}:{}:alias/shared", b.id);
    let e = a.change(
        "AWS::SecretsManager::Secret",
        "s",
        json!({"KMSKeyId": alias_arn}),
        "{}",
        "TESTMODE",
    );
    let report = a
        .handler(None::<ConfigSink>)
        .handle(&e, Options::collecting())
        .await
        .unwrap();
    assert_one(&report, Compliance::NonCompliant, "PendingDeletion");
}

/// The API-call floor of a periodic sweep of N resources using K distinct keys, counted per
/// operation by an interceptor on every client:
/// - `kms:DescribeKey`: K (one per key, whatever form each resource names it in; none for
///   `alias/aws/*`, decided by name), plus ⌈A/100⌉ `kms:ListAliases` once per Region when a key
///   is named by alias after it was resolved by ARN;
/// - `config:PutEvaluations`: ⌈N/100⌉ (100 evaluations per call is the API's maximum);
/// - Kinesis: ⌈S/100⌉ `ListStreams` (100 names per page) + S `DescribeStreamSummary` (the list
///   carries no encryption settings; there is no batch describe);
/// - Secrets Manager: ⌈C/100⌉ `ListSecrets` (each entry carries `KmsKeyId`) + ⌈R/100⌉ more with
///   the `primary-region` filter + R `DescribeSecret` for the R replicated ones (the list carries
///   no replicas); with `CMK_SECRET_REPLICAS=all`, C `DescribeSecret` and no filtered list;
/// - DynamoDB: ⌈T/100⌉ `ListTables` + T `DescribeTable` (the list carries names only);
/// - SQS: ⌈Q/100⌉ `ListQueues` + Q `GetQueueAttributes` (the list carries URLs only);
/// - SNS: ⌈P/100⌉ `ListTopics` + P `GetTopicAttributes` (the list carries ARNs only);
/// - no tag call at all unless an `exemptTag` is configured.
#[tokio::test]
async fn a_sweep_makes_exactly_the_minimum_api_calls() {
    let a = Account::new().await;
    let mut keys = Vec::new();
    for i in 0..3 {
        let (id, arn) = a.cmk().await;
        let alias = format!("alias/floor-{i}");
        a.kms()
            .create_alias()
            .alias_name(&alias)
            .target_key_id(&id)
            .send()
            .await
            .unwrap();
        keys.push([id, arn, alias]);
    }
    // Each key named in every form across the resources.
    let key = |i: usize| keys[i % 3][(i / 3) % 3].clone();
    let (streams, secrets, tables, queues, topics, buckets) = (105, 101, 3, 102, 101, 103);
    for i in 0..streams {
        a.stream(&format!("s{i:03}"), Some(&key(i))).await;
    }
    for i in 0..secrets {
        a.secret(&format!("c{i:03}"), Some(&keys[i % 3][1])).await;
    }
    // Two secrets replicated to another Region, on a key of that Region.
    let (replicated, west_key) = (2_usize, {
        let west = Emulator::shared().sdk(&a.id, "us-west-2").await;
        resources::cmk(&west).await.1
    });
    let sm = aws_sdk_secretsmanager::Client::new(&a.sdk);
    for i in 0..replicated {
        sm.replicate_secret_to_regions()
            .secret_id(format!("c{i:03}"))
            .add_replica_regions(
                aws_sdk_secretsmanager::types::ReplicaRegionType::builder()
                    .region("us-west-2")
                    .kms_key_id(&west_key)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    for (i, key) in keys.iter().enumerate().take(tables) {
        let sse = resources::sse_kms(Some(&key[1]));
        a.table(&format!("t{i}"), Some(sse)).await;
    }
    for i in 0..queues {
        let attribute = [(
            aws_sdk_sqs::types::QueueAttributeName::KmsMasterKeyId,
            key(i),
        )];
        let attribute: Vec<_> = attribute
            .iter()
            .map(|(n, k)| (n.clone(), k.as_str()))
            .collect();
        resources::queue(&a.sdk, &format!("q{i:03}"), &attribute).await;
    }
    for i in 0..topics {
        resources::topic(&a.sdk, &format!("p{i:03}"), Some(&key(i))).await;
    }
    for i in 0..buckets {
        let algorithm = ["aws:kms", "aws:kms:dsse"][i % 2];
        resources::bucket(
            &a.sdk,
            &format!("b{i:03}-{}", a.id),
            Some((algorithm, Some(&key(i)))),
        )
        .await;
    }
    let calls = Calls::default();
    macro_rules! counted {
        ($sdk:ident) => {
            cmk_integration_tests::counted_client!($sdk, &a.sdk, calls)
        };
    }
    let mut handler = Handler {
        keys: KmsKeyResolver::new(counted!(aws_sdk_kms)),
        items: ConfigHistory(counted!(aws_sdk_config)),
        inventory: ServiceInventory {
            kinesis: counted!(aws_sdk_kinesis),
            secrets: counted!(aws_sdk_secretsmanager),
            dynamodb: counted!(aws_sdk_dynamodb),
            sqs: counted!(aws_sdk_sqs),
            sns: counted!(aws_sdk_sns),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&a.sdk)
                    .force_path_style(true)
                    .interceptor(calls.clone())
                    .build(),
            ),
            rates: cmk_rule::aws::Rates::documented(),
            secret_replicas: Default::default(),
        },
        sink: ConfigSink(counted!(aws_sdk_config)),
        region: REGION.to_owned(),
    };
    let report = handler
        .handle(&a.scheduled("floor-rule", "{}"), Options::default())
        .await
        .unwrap();
    let n = streams + secrets + tables + queues + topics + buckets;
    assert_eq!(report.put, n);
    assert_eq!(report.non_compliant, 0);
    let counted = || {
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for op in calls.take() {
            *counts.entry(op).or_default() += 1;
        }
        counts
    };
    let counts = counted();
    let mut expected: std::collections::BTreeMap<String, usize> = [
        // The three keys, and the replicas' key in their Region.
        ("DescribeKey", 4),
        // Keys named by ARN before their alias: the Region's aliases are read once instead of
        // asking DescribeKey again (under 100 aliases here: one page).
        ("ListAliases", 1),
        ("PutEvaluations", n.div_ceil(100)),
        ("ListStreams", streams.div_ceil(100)),
        ("DescribeStreamSummary", streams),
        // The list carries no replicas: the replicated secrets are listed by the
        // primary-region filter and described once each for them.
        (
            "ListSecrets",
            secrets.div_ceil(100) + replicated.div_ceil(100),
        ),
        ("DescribeSecret", replicated),
        ("ListTables", tables.div_ceil(100)),
        ("DescribeTable", tables),
        ("ListQueues", queues.div_ceil(100)),
        ("GetQueueAttributes", queues),
        ("ListTopics", topics.div_ceil(100)),
        ("GetTopicAttributes", topics),
        ("ListBuckets", buckets.div_ceil(100)),
        ("GetBucketEncryption", buckets),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(counts, expected);

    // Relying on no filter: every secret is described, and the same verdicts are put.
    handler.inventory.secret_replicas = aws::SecretReplicas::new(aws::ReplicaLookup::All);
    let again = handler
        .handle(&a.scheduled("floor-rule", "{}"), Options::default())
        .await
        .unwrap();
    assert_eq!((again.put, again.non_compliant), (n, 0));
    let counts = counted();
    expected.insert("ListSecrets".into(), secrets.div_ceil(100));
    expected.insert("DescribeSecret".into(), secrets);
    assert_eq!(counts, expected);
}

/// A sweep describes a few tables at once (one round trip each, independent), never more than
/// the bound, and keeps every table in list order with its own verdict input.
#[tokio::test]
async fn table_describes_overlap_within_their_bound() {
    use cmk_rule::handler::{Inventory, SweepScope};

    let a = Account::new().await;
    let (_, cmk) = a.cmk().await;
    let tables = 24;
    for i in 0..tables {
        let sse = (i % 2 == 0).then(|| resources::sse_kms(Some(&cmk)));
        a.table(&format!("t{i:02}"), sse).await;
    }
    let calls = Calls::default();
    let counted = |sdk: &SdkConfig| {
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(sdk)
                .interceptor(calls.clone())
                .build(),
        )
    };
    let inventory = ServiceInventory {
        dynamodb: counted(&a.sdk),
        ..ServiceInventory::new(&a.sdk)
    };
    let scope = SweepScope {
        account_id: a.id.clone(),
        region: REGION.to_owned(),
        partition: Some(cmk_core::Partition::Aws),
        time: time::OffsetDateTime::now_utc(),
        with_tags: false,
        key_changed: false,
    };
    let page = inventory
        .page(cmk_core::resources::dynamodb::RESOURCE_TYPE, &scope, None)
        .await
        .unwrap();
    assert!(page.failures.is_empty(), "{:?}", page.failures);
    let ids: Vec<_> = page.items.iter().map(|i| i.resource_id.clone()).collect();
    let expected: Vec<_> = (0..tables).map(|i| format!("t{i:02}")).collect();
    assert_eq!(ids, expected, "every table, in list order");
    for (i, item) in page.items.iter().enumerate() {
        let sse = &item.configuration.as_ref().unwrap()["ssedescription"];
        assert_eq!(sse.is_object(), i % 2 == 0, "{}: {sse}", item.resource_id);
    }
    let most = calls.most_in_flight("DescribeTable");
    assert!(
        (2..=8).contains(&most),
        "{most} DescribeTable calls in flight at once"
    );
}

/// Issue 11: a key disabled after its resources were judged reaches their verdicts with the key's
/// own change notification, not at the next sweep. The key is NOT_APPLICABLE; only the resources
/// using it (by key id, ARN, in any service) are put; KMS is asked afresh despite a warm cache.
#[tokio::test]
async fn a_key_change_re_evaluates_every_resource_that_uses_the_key() {
    let a = Account::new().await;
    let (a_id, a_arn) = a.cmk().await;
    let (_, b_arn) = a.cmk().await;
    a.stream("uses-a", Some(&a_id)).await;
    a.stream("uses-b", Some(&b_arn)).await;
    let secret_a = a.secret("secret-a", Some(&a_arn)).await;
    a.table("table-a", Some(resources::sse_kms(Some(&a_arn))))
        .await;
    let handler = a.handler(ConfigSink(a.config()));
    const TOKEN: &str = "key-change-rule";

    // A change notification judges the stream while the key is enabled (and warms the cache).
    let e = a.change(
        "AWS::Kinesis::Stream",
        "uses-a",
        stream_config(&a_id),
        "{}",
        TOKEN,
    );
    let report = handler.handle(&e, Options::collecting()).await.unwrap();
    assert_eq!(one(&report).compliance_type, Compliance::Compliant);

    a.kms().disable_key().key_id(&a_id).send().await.unwrap();
    let key_item = json!({
        "configurationItemCaptureTime": "2026-03-16T09:15:15.123Z", "configurationStateId": "1773652515123",
        "awsAccountId": a.id, "configurationItemStatus": "OK", "resourceType": "AWS::KMS::Key",
        "resourceId": a_id, "ARN": a_arn, "awsRegion": REGION, "tags": {}, "relationships": [],
        "configuration": {"keyId": a_id, "arn": a_arn, "keyState": "Disabled", "enabled": false,
            "keyManager": "CUSTOMER", "keyUsage": "ENCRYPT_DECRYPT", "origin": "AWS_KMS"},
        "supplementaryConfiguration": {}});
    let key_changed = ConfigEvent {
        invoking_event: json!({"messageType": "ConfigurationItemChangeNotification",
            "configurationItemDiff": null, "configurationItem": key_item})
        .to_string(),
        rule_parameters: Some("{}".into()),
        result_token: Some(TOKEN.into()),
        ..ConfigEvent::default()
    };
    let report = handler
        .handle(&key_changed, Options::collecting())
        .await
        .unwrap_or_else(|f| panic!("{}", f.error));
    let got: std::collections::BTreeMap<&str, Compliance> = report
        .evaluations
        .iter()
        .map(|e| (e.compliance_resource_id.as_str(), e.compliance_type))
        .collect();
    let want = std::collections::BTreeMap::from([
        (a_id.as_str(), Compliance::NotApplicable),
        ("uses-a", Compliance::NonCompliant),
        (secret_a.as_str(), Compliance::NonCompliant),
        ("table-a", Compliance::NonCompliant),
    ]);
    assert_eq!(got, want, "{report:?}");
    let at = time::macros::datetime!(2026-03-16 09:15:15.123 UTC);
    assert!(
        report
            .evaluations
            .iter()
            .all(|e| e.ordering_timestamp == at)
    );
    let recorded = a.recorded("AWS::Kinesis::Stream", "uses-a").await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].0, "NON_COMPLIANT", "{recorded:?}");
    assert!(
        a.recorded("AWS::Kinesis::Stream", "uses-b")
            .await
            .is_empty()
    );
}

/// Issue 11: a resource deleted since the last sweep loses its verdict. The next complete sweep
/// reads the rule's results (GetComplianceDetailsByConfigRule, paginated) and puts NOT_APPLICABLE
/// for each resource it no longer finds; Config then drops the result.
/// A secret's replicas are judged with it by the sweep of the primary's Region, each replica's
/// key resolved in the replica's Region: a replica on aws/secretsmanager in a Region where no
/// rule runs is still found.
#[tokio::test]
async fn the_sweep_judges_each_secrets_replicas_in_their_regions() {
    use aws_sdk_secretsmanager::types::ReplicaRegionType;

    let a = Account::new().await;
    let (_, home_cmk) = a.cmk().await;
    let eu = Emulator::shared().sdk(&a.id, "eu-west-1").await;
    let (_, eu_cmk) = resources::cmk(&eu).await;
    let sm = aws_sdk_secretsmanager::Client::new(&a.sdk);
    let replica = |region: &str, key: Option<&str>| {
        ReplicaRegionType::builder()
            .region(region)
            .set_kms_key_id(key.map(str::to_owned))
            .build()
    };
    let create = |name: &'static str, replicas: Vec<ReplicaRegionType>| {
        sm.create_secret()
            .name(name)
            .secret_string("s")
            .kms_key_id(&home_cmk)
            .set_add_replica_regions(Some(replicas))
            .send()
    };
    let good = create(
        "replicated-on-cmks",
        vec![replica("eu-west-1", Some(&eu_cmk))],
    )
    .await
    .unwrap();
    let bad = create(
        "one-replica-on-default",
        vec![
            replica("eu-west-1", Some(&eu_cmk)),
            replica("us-west-2", None),
        ],
    )
    .await
    .unwrap();
    let handler = a.handler(ConfigSink(a.config()));
    let report = handler
        .handle(&a.scheduled("replica-rule", "{}"), Options::collecting())
        .await
        .unwrap();
    let verdict = |arn: &str| {
        report
            .evaluations
            .iter()
            .find(|e| e.compliance_resource_id == arn)
            .unwrap_or_else(|| panic!("{arn} not evaluated: {report:?}"))
    };
    let good = verdict(good.arn().unwrap());
    assert_eq!(good.compliance_type, Compliance::Compliant, "{good:?}");
    assert!(
        good.annotation.as_deref().unwrap().contains(&eu_cmk),
        "{good:?}"
    );
    let bad = verdict(bad.arn().unwrap());
    assert_eq!(bad.compliance_type, Compliance::NonCompliant, "{bad:?}");
    let annotation = bad.annotation.as_deref().unwrap();
    assert!(
        annotation.contains("us-west-2") && annotation.contains("aws/secretsmanager"),
        "{annotation}"
    );
    assert_eq!(report.evaluations.len(), 2, "{report:?}");

    // From the recorded inventory (Config records no replicas), the same verdicts: the secrets
    // ListSecrets' primary-region filter lists are described for theirs.
    resources::record(&a.sdk, None).await;
    let recorded = handler
        .handle(&a.scheduled("replica-rule", "{}"), Options::collecting())
        .await
        .unwrap();
    let verdicts = |r: &Report| {
        let mut v: Vec<_> = r
            .evaluations
            .iter()
            .map(|e| (e.compliance_resource_id.clone(), e.compliance_type))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(verdicts(&recorded), verdicts(&report), "{recorded:?}");

    // In the replica's own Region, the replica is judged by its own key.
    let eu_handler = aws::handler(&eu, ConfigSink(aws_sdk_config::Client::new(&eu)));
    let eu_report = eu_handler
        .handle(&a.scheduled("replica-rule", "{}"), Options::collecting())
        .await
        .unwrap();
    assert_eq!(eu_report.evaluations.len(), 2, "{eu_report:?}");
    assert!(
        eu_report
            .evaluations
            .iter()
            .all(|e| e.compliance_type == Compliance::Compliant),
        "{eu_report:?}"
    );
}

/// Deletes the `deleted-stream` stream and the `deleted-table` table of `a`.
async fn delete_stream_and_table(a: &Account) {
    aws_sdk_kinesis::Client::new(&a.sdk)
        .delete_stream()
        .stream_name("deleted-stream")
        .send()
        .await
        .unwrap();
    aws_sdk_dynamodb::Client::new(&a.sdk)
        .delete_table()
        .table_name("deleted-table")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_sweep_marks_resources_that_vanished_since_as_not_applicable() {
    let a = Account::new().await;
    const RULE: &str = "vanish-rule";
    for i in 0..3 {
        a.stream(&format!("kept-{i}"), None).await;
    }
    a.stream("deleted-stream", None).await;
    a.table("deleted-table", None).await;
    let handler = a.handler(ConfigSink(a.config()));
    let mut sweep = a.scheduled(RULE, "{}");
    sweep.config_rule_name = Some(RULE.into());
    let first = handler.handle(&sweep, Options::collecting()).await.unwrap();
    assert_eq!(first.put, 5, "{first:?}");

    delete_stream_and_table(&a).await;
    let second = handler.handle(&sweep, Options::collecting()).await.unwrap();
    let mut not_applicable: Vec<&str> = second
        .evaluations
        .iter()
        .filter(|e| e.compliance_type == Compliance::NotApplicable)
        .map(|e| e.compliance_resource_id.as_str())
        .collect();
    not_applicable.sort_unstable();
    assert_eq!(
        not_applicable,
        ["deleted-stream", "deleted-table"],
        "{second:?}"
    );
    assert_eq!(second.put, 5);
    let recorded = a.recorded("AWS::Kinesis::Stream", "deleted-stream").await;
    assert_eq!(recorded[0].0, "NOT_APPLICABLE", "{recorded:?}");
    assert!(
        recorded[0]
            .1
            .as_deref()
            .unwrap()
            .contains("no longer exists")
    );

    // A third sweep: nothing stale is left (NOT_APPLICABLE results are not asked for again).
    let third = handler.handle(&sweep, Options::collecting()).await.unwrap();
    assert_eq!(third.put, 3, "{third:?}");
}

#[tokio::test]
async fn a_sweep_from_the_recorded_inventory_leaves_deletions_to_configs_own_notification() {
    // Config's inventory may lag the account (a recorder still discovering): a resource it does
    // not list is not proof of deletion, so the sweep retires no result of a type read from it.
    let a = Account::new().await;
    const RULE: &str = "recorded-vanish-rule";
    a.stream("kept", None).await;
    a.stream("deleted-stream", None).await;
    a.table("deleted-table", None).await;
    let handler = a.handler(ConfigSink(a.config()));
    let mut sweep = a.scheduled(RULE, "{}");
    sweep.config_rule_name = Some(RULE.into());
    let first = handler.handle(&sweep, Options::collecting()).await.unwrap();
    assert_eq!(first.put, 3, "{first:?}");

    cmk_integration_tests::resources::record(&a.sdk, Some(&["AWS::Kinesis::Stream"])).await;
    delete_stream_and_table(&a).await;
    let second = handler.handle(&sweep, Options::collecting()).await.unwrap();
    let not_applicable: Vec<&str> = second
        .evaluations
        .iter()
        .filter(|e| e.compliance_type == Compliance::NotApplicable)
        .map(|e| e.compliance_resource_id.as_str())
        .collect();
    assert_eq!(
        not_applicable,
        ["deleted-table"],
        "only the type swept through its service is cleaned up: {second:?}"
    );
    assert_eq!(
        second.put, 2,
        "the kept stream and the table's NOT_APPLICABLE"
    );
}

/// The actions the generated role of the rule (`cloudformation/config-rule.json`, per-account
/// mode) and the member role (`cloudformation/member.json`, central mode) allow.
fn generated_role_actions(template: &str) -> Vec<String> {
    let path = cmk_integration_tests::emulator::workspace()
        .join("cloudformation")
        .join(template);
    let t: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut allowed = Vec::new();
    for resource in t["Resources"].as_object().unwrap().values() {
        if resource["Type"] != "AWS::IAM::Role" {
            continue;
        }
        for policy in resource["Properties"]["Policies"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for statement in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
                if statement["Effect"] == "Allow" {
                    match &statement["Action"] {
                        Value::String(a) => allowed.push(a.clone()),
                        Value::Array(list) => allowed
                            .extend(list.iter().filter_map(|a| a.as_str().map(str::to_owned))),
                        _ => {}
                    }
                }
            }
        }
    }
    assert!(!allowed.is_empty(), "{template} allows nothing");
    allowed
}

/// IAM's action matching: case-insensitive, `*` any run of characters.
fn action_matches(pattern: &str, action: &str) -> bool {
    let (pattern, action) = (pattern.to_ascii_lowercase(), action.to_ascii_lowercase());
    match pattern.split_once('*') {
        None => pattern == action,
        Some((head, tail)) => {
            action.starts_with(head)
                && (0..=action.len() - head.len())
                    .any(|i| action_matches(tail, &action[head.len() + i..]))
        }
    }
}

#[tokio::test]
async fn every_call_the_rule_makes_is_allowed_by_its_generated_role() {
    // The emulator enforces no IAM: a call missing from the generated role would pass every other
    // test and fail in AWS. Every call the rule makes (both sweep paths, key rotation, the results
    // it reads back, a change and a key-change notification) as the emulator records it must be
    // allowed by the role the templates give the function.
    let emulator = Emulator::shared();
    let a = Account::new().await;
    let (cmk, cmk_arn) = a.cmk().await;
    let managed = a.aws_managed("alias/aws/kinesis").await;
    a.stream("iam-cmk", Some(&cmk)).await;
    a.stream("iam-managed", Some(&managed)).await;
    a.secret("iam-secret", Some(&cmk)).await;
    a.table("iam-table", Some(resources::sse_kms(Some(&cmk))))
        .await;
    resources::queue(&a.sdk, "iam-queue", &[]).await;
    resources::topic(&a.sdk, "iam-topic", Some(&cmk)).await;
    resources::bucket(
        &a.sdk,
        &format!("iam-bucket-{}", a.id),
        Some(("aws:kms", Some(&cmk))),
    )
    .await;
    // The rule signs with credentials of its own, so only its calls are picked from the recording.
    let rule_credentials = emulator.credentials(&a.id).await;
    let rule_sdk = a
        .sdk
        .to_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            rule_credentials.clone(),
        ))
        .build();
    let handler = aws::handler(
        &rule_sdk,
        ConfigSink(aws_sdk_config::Client::new(&rule_sdk)),
    );
    const RULE: &str = "iam-rule";
    // With an exemptTag, so the tag calls are made (and checked) too.
    let params = r#"{"requireKeyRotation": "true", "exemptTag": "cmk-exempt"}"#;
    let mut sweep = a.scheduled(RULE, params);
    sweep.config_rule_name = Some(RULE.into());
    emulator.start_recording();
    // The services' path, then (a recorder on) the recorded inventory's.
    handler.handle(&sweep, Options::collecting()).await.unwrap();
    resources::record(&a.sdk, None).await;
    handler.handle(&sweep, Options::collecting()).await.unwrap();
    let change = a.change(
        "AWS::Kinesis::Stream",
        "iam-cmk",
        stream_config(&cmk),
        params,
        RULE,
    );
    handler
        .handle(&change, Options::collecting())
        .await
        .unwrap();
    let key_change = a.change(
        "AWS::KMS::Key",
        cmk_arn.rsplit('/').next().unwrap(),
        json!({"keyId": cmk_arn.rsplit('/').next().unwrap(), "arn": cmk_arn, "keyManager": "CUSTOMER",
               "keyState": "Disabled", "enabled": false}),
        params,
        RULE,
    );
    let mut key_change = key_change;
    key_change.config_rule_name = Some(RULE.into());
    handler
        .handle(&key_change, Options::collecting())
        .await
        .unwrap();

    let mut made = emulator.recorded_actions(rule_credentials.access_key_id());
    emulator.stop_recording();
    made.sort();
    made.dedup();
    for expected in [
        "kinesis:DescribeStreamSummary",
        "config:SelectResourceConfig",
        "kms:GetKeyRotationStatus",
        "s3:ListAllMyBuckets",
        "s3:GetEncryptionConfiguration",
        "s3:GetBucketTagging",
    ] {
        assert!(
            made.iter().any(|m| m == expected),
            "{expected} was not recorded: {made:?}"
        );
    }
    // GetCallerIdentity needs no permission
    // (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
    let needs_permission: Vec<&String> = made
        .iter()
        .filter(|m| *m != "sts:GetCallerIdentity")
        .collect();
    for template in ["config-rule.json", "member.json"] {
        let allowed = generated_role_actions(template);
        let refused: Vec<&&String> = needs_permission
            .iter()
            .filter(|m| !allowed.iter().any(|p| action_matches(p, m)))
            .collect();
        assert!(
            refused.is_empty(),
            "calls the role in {template} does not allow: {refused:?} (made: {made:?})"
        );
    }
}
