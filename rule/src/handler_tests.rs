//! Handler behaviour with in-process fakes of its own traits (no SDK): batching, resending,
//! never guessing, and putting nothing on bad input.

use std::sync::Mutex;

use cmk_core::key::{FakeError, KeyFacts, KeyManager, KeyState, Rotation};
use cmk_core::{FakeKeys, ItemStatus};
use serde_json::{Value, json};

use super::*;

const CMK: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const DENIED: &str = "arn:aws:kms:us-east-1:111122223333:key/dddddddd-12ab-34cd-56ef-1234567890ab";

#[derive(Default)]
struct Sink {
    calls: Mutex<Vec<(usize, String, bool)>>,
    put: Mutex<Vec<Evaluation>>,
    /// Resource ids Config "fails" on the first attempt.
    flaky: Mutex<Vec<String>>,
}

impl EvaluationSink for Sink {
    async fn put(
        &self,
        batch: &[Evaluation],
        token: &str,
        test_mode: bool,
    ) -> Result<Vec<Evaluation>, SourceError> {
        self.calls
            .lock()
            .unwrap()
            .push((batch.len(), token.to_owned(), test_mode));
        let mut flaky = self.flaky.lock().unwrap();
        let (failed, ok): (Vec<_>, Vec<_>) = batch
            .iter()
            .cloned()
            .partition(|e| flaky.contains(&e.compliance_resource_id));
        flaky.clear();
        self.put.lock().unwrap().extend(ok);
        Ok(failed)
    }
}

struct NoItems;
impl ItemSource for NoItems {
    async fn latest(&self, s: &ItemSummary) -> Result<ConfigItem, SourceError> {
        Err(SourceError {
            operation: "test",
            detail: format!("no item {}", s.resource_id),
            retryable: false,
        })
    }
}

/// Secrets named `s0..s{n}`, all on aws/secretsmanager, served in pages of 40.
struct Secrets(usize);
impl Inventory for Secrets {
    async fn page(
        &self,
        resource_type: &'static str,
        scope: &SweepScope,
        token: Option<String>,
    ) -> Result<Page, SourceError> {
        if resource_type != cmk_core::resources::secretsmanager::RESOURCE_TYPE {
            return Ok(Page::default());
        }
        let start: usize = token.map_or(0, |t| t.parse().unwrap());
        let end = (start + 40).min(self.0);
        let items = (start..end)
            .map(|i| ConfigItem {
                resource_type: resource_type.into(),
                resource_id: format!("s{i}"),
                arn: None,
                partition: Some(cmk_core::Partition::Aws),
                account_id: scope.account_id.clone(),
                region: scope.region.clone(),
                status: ItemStatus::Ok,
                capture_time: scope.time,
                state_id: None,
                tags: Default::default(),
                configuration: Some(json!({"Name": format!("s{i}")})),
                supplementary: Default::default(),
            })
            .collect();
        Ok(Page {
            items,
            failures: vec![],
            next: (end < self.0).then(|| end.to_string()),
        })
    }
}

fn keys() -> FakeKeys {
    FakeKeys::default()
        .with_key(
            CMK,
            KeyFacts {
                arn: cmk_core::KeyArn::parse(CMK).unwrap(),
                manager: KeyManager::Customer,
                state: KeyState::Enabled,
            },
            Rotation::Enabled,
        )
        .with_error(DENIED, FakeError::AccessDenied)
        .with_error("alias/aws/kinesis", FakeError::AccessDenied)
}

fn handler(inventory: usize) -> Handler<FakeKeys, NoItems, Secrets, Sink> {
    sweeping(Secrets(inventory))
}

/// A handler over `inventory`, putting to a recording [`Sink`].
fn sweeping<I: Inventory>(inventory: I) -> Handler<FakeKeys, NoItems, I, Sink> {
    Handler {
        keys: keys(),
        items: NoItems,
        inventory,
        sink: Sink::default(),
        region: "us-east-1".into(),
    }
}

fn stream_item(id: &str, key: &str) -> Value {
    json!({
        "configurationItemCaptureTime": "2026-01-05T09:59:58.123Z", "awsAccountId": "111122223333",
        "configurationItemStatus": "OK", "resourceType": "AWS::Kinesis::Stream", "resourceId": id,
        "awsRegion": "us-east-1",
        "configuration": {"StreamEncryption": {"EncryptionType": "KMS", "KeyId": key}}
    })
}

fn change(item: Value, params: &str, token: &str) -> ConfigEvent {
    ConfigEvent {
        invoking_event:
            json!({"messageType": "ConfigurationItemChangeNotification", "configurationItem": item})
                .to_string(),
        rule_parameters: Some(params.into()),
        result_token: Some(token.into()),
        ..ConfigEvent::default()
    }
}

fn scheduled(params: &str) -> ConfigEvent {
    ConfigEvent {
        invoking_event:
            json!({"messageType": "ScheduledNotification", "awsAccountId": "111122223333",
                               "notificationCreationTime": "2026-01-05T10:00:00Z"})
            .to_string(),
        rule_parameters: Some(params.into()),
        result_token: Some("token".into()),
        config_rule_arn: Some(
            "arn:aws:config:eu-west-1:111122223333:config-rule/config-rule-abc".into(),
        ),
        ..ConfigEvent::default()
    }
}

async fn run(
    h: &Handler<FakeKeys, NoItems, Secrets, Sink>,
    e: &ConfigEvent,
) -> Result<Report, Box<Failed>> {
    h.handle(e, Options::collecting()).await
}

#[tokio::test]
async fn change_event_puts_exactly_one_evaluation() {
    let h = handler(0);
    let report = run(&h, &change(stream_item("orders", CMK), "{}", "tok"))
        .await
        .unwrap();
    assert_eq!(report.put, 1);
    let put = h.sink.put.lock().unwrap();
    assert_eq!(put[0].compliance_type, Compliance::Compliant);
    assert_eq!(
        put[0].ordering_timestamp,
        time::macros::datetime!(2026-01-05 09:59:58.123 UTC)
    );
    assert_eq!(h.sink.calls.lock().unwrap()[0], (1, "tok".into(), false));
}

#[tokio::test]
async fn testmode_token_sets_test_mode() {
    let h = handler(0);
    run(&h, &change(stream_item("orders", CMK), "", "TESTMODE"))
        .await
        .unwrap();
    assert!(h.sink.calls.lock().unwrap()[0].2);
}

#[tokio::test]
async fn invalid_parameters_put_nothing_and_name_the_parameter() {
    let h = handler(0);
    let Failed {
        report: _,
        error: err,
    } = *run(
        &h,
        &change(
            stream_item("orders", CMK),
            r#"{"allowedKeyAccounts":"12"}"#,
            "tok",
        ),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("allowedKeyAccounts") && err.to_string().contains("`12`"),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert!(h.sink.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn malformed_event_puts_nothing() {
    let h = handler(0);
    let mut item = stream_item("orders", CMK);
    item["configurationItemCaptureTime"] = json!("soon");
    let Failed {
        report: _,
        error: err,
    } = *run(&h, &change(item, "{}", "tok")).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("configurationItem.configurationItemCaptureTime"),
        "{err}"
    );
    assert!(h.sink.calls.lock().unwrap().is_empty());
    let Failed {
        report: _,
        error: err,
    } = *h
        .handle_json(json!({"invokingEvent": 5}), Options::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invokingEvent"), "{err}");
}

#[tokio::test]
async fn malformed_configuration_puts_nothing_and_fails() {
    let h = handler(0);
    let mut item = stream_item("orders", CMK);
    item["configuration"]["StreamEncryption"]["KeyId"] = json!(["x"]);
    let Failed { report, error: err } = *run(&h, &change(item, "{}", "tok")).await.unwrap_err();
    assert!(
        err.to_string().contains("orders") && err.to_string().contains("StreamEncryption.KeyId"),
        "{err}"
    );
    assert_eq!(report.put, 0);
    assert!(h.sink.calls.lock().unwrap().is_empty());
    assert!(
        !err.is_retryable(),
        "a malformed item does not get better by retrying"
    );
    assert_eq!(err.error_type(), "ResourcesNotEvaluated");
}

#[tokio::test]
async fn left_scope_is_not_applicable_without_a_key_lookup() {
    let h = handler(0);
    let mut e = change(stream_item("orders", DENIED), "{}", "tok");
    e.event_left_scope = true;
    run(&h, &e).await.unwrap();
    assert_eq!(
        h.sink.put.lock().unwrap()[0].compliance_type,
        Compliance::NotApplicable
    );
    assert_eq!(h.keys.calls(), 0);
}

#[tokio::test]
async fn undetermined_key_gets_no_evaluation_and_fails_naming_resource_and_key() {
    let h = handler(0);
    let Failed { report, error: err } =
        *run(&h, &change(stream_item("orders", DENIED), "{}", "tok"))
            .await
            .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("orders") && text.contains(DENIED), "{text}");
    assert!(
        !err.is_retryable(),
        "denied everywhere: a retry gets the same refusal"
    );
    assert_eq!(report.put, 0);
    assert!(h.sink.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn sweep_batches_by_100_with_one_token_and_notification_time() {
    let h = handler(250);
    let report = run(&h, &scheduled("")).await.unwrap();
    assert_eq!(report.put, 250);
    assert_eq!(report.non_compliant, 250);
    let sizes: Vec<usize> = h.sink.calls.lock().unwrap().iter().map(|c| c.0).collect();
    assert_eq!(sizes, [100, 100, 50]);
    let put = h.sink.put.lock().unwrap();
    assert!(
        put.iter()
            .all(|e| e.ordering_timestamp == time::macros::datetime!(2026-01-05 10:00:00 UTC))
    );
}

#[tokio::test]
async fn evaluations_the_sink_still_reports_failed_are_named_and_the_rest_counted() {
    let h = handler(3);
    h.sink.flaky.lock().unwrap().push("s1".into());
    // The invocation fails as retryable: Lambda's retry, or the next sweep, puts it again.
    let Failed { report, .. } = *run(&h, &scheduled("")).await.unwrap_err();
    assert_eq!(report.put, 2);
    let sizes: Vec<usize> = h.sink.calls.lock().unwrap().iter().map(|c| c.0).collect();
    assert_eq!(
        sizes,
        [3],
        "the sink resends; the handler puts each batch once"
    );
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert!(
        report.failures[0].reason.contains("s1") && report.failures[0].retryable,
        "{:?}",
        report.failures
    );
}

#[tokio::test]
async fn snapshot_delivery_is_ignored() {
    let h = handler(5);
    let e = ConfigEvent {
        invoking_event:
            json!({"messageType": "ConfigurationSnapshotDeliveryCompleted", "s3Bucket": "b"})
                .to_string(),
        result_token: Some("tok".into()),
        ..ConfigEvent::default()
    };
    let report = run(&h, &e).await.unwrap();
    assert_eq!(report.put, 0);
    assert!(h.sink.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn oversized_fetch_failure_puts_nothing() {
    let h = handler(0);
    let e = ConfigEvent {
        invoking_event: json!({"messageType": "OversizedConfigurationItemChangeNotification", "configurationItemSummary": {
            "configurationItemCaptureTime": "2026-01-05T09:59:58.123Z", "configurationStateId": 5, "awsAccountId": "111122223333",
            "configurationItemStatus": "OK", "resourceType": "AWS::DynamoDB::Table", "resourceId": "Orders", "awsRegion": "us-east-1"}}).to_string(),
        result_token: Some("tok".into()),
        ..ConfigEvent::default()
    };
    let Failed {
        report: _,
        error: err,
    } = *run(&h, &e).await.unwrap_err();
    assert!(err.to_string().contains("Orders"), "{err}");
    assert!(h.sink.calls.lock().unwrap().is_empty());
}

fn oversized(status: &str, time: &str) -> ConfigEvent {
    ConfigEvent {
        invoking_event: json!({"messageType": "OversizedConfigurationItemChangeNotification", "configurationItemSummary": {
            "configurationItemCaptureTime": time, "awsAccountId": "111122223333",
            "configurationItemStatus": status, "resourceType": "AWS::Kinesis::Stream", "resourceId": "orders", "awsRegion": "us-east-1"}})
        .to_string(),
        result_token: Some("tok".into()),
        ..ConfigEvent::default()
    }
}

/// Serves one fixed item for every summary.
struct OneItem(Value);
impl ItemSource for OneItem {
    async fn latest(&self, _: &ItemSummary) -> Result<ConfigItem, SourceError> {
        let e = change(self.0.clone(), "", "tok");
        match e.invoking_event().unwrap() {
            InvokingEvent::Change { item } => Ok(*item),
            _ => unreachable!(),
        }
    }
}

#[tokio::test]
async fn oversized_deleted_or_out_of_scope_is_not_applicable_without_fetching() {
    let h = handler(0); // NoItems: any fetch fails
    run(
        &h,
        &oversized("ResourceDeleted", "2026-01-05T09:59:58.123Z"),
    )
    .await
    .unwrap();
    let mut left = oversized("OK", "2026-01-05T09:59:58.123Z");
    left.event_left_scope = true;
    run(&h, &left).await.unwrap();
    // A type the rule does not judge (AWS's own oversized example is an EC2 instance).
    let ec2 = ConfigEvent {
        invoking_event: left
            .invoking_event
            .replace("AWS::Kinesis::Stream", "AWS::EC2::Instance"),
        ..oversized("OK", "2026-01-05T09:59:58.123Z")
    };
    run(&h, &ec2).await.unwrap();
    let put = h.sink.put.lock().unwrap();
    assert!(
        put.iter()
            .all(|e| e.compliance_type == Compliance::NotApplicable
                && e.compliance_resource_id == "orders")
    );
    assert_eq!(put.len(), 3);
    assert!(
        put[2]
            .annotation
            .as_deref()
            .unwrap()
            .contains("AWS::EC2::Instance")
    );
}

#[tokio::test]
async fn oversized_orders_a_newer_item_by_its_own_time_and_refuses_an_older_one() {
    let h = Handler {
        keys: keys(),
        items: OneItem(stream_item("orders", CMK)),
        inventory: Secrets(0),
        sink: Sink::default(),
        region: "us-east-1".into(),
    };
    // The item in history (09:59:58.123) is newer than this notification: it is what is judged.
    h.handle(&oversized("OK", "2026-01-05T09:59:57Z"), Options::default())
        .await
        .unwrap();
    assert_eq!(
        h.sink.put.lock().unwrap()[0].ordering_timestamp,
        time::macros::datetime!(2026-01-05 09:59:58.123 UTC)
    );
    h.handle(
        &oversized("OK", "2026-01-05T09:59:58.123Z"),
        Options::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        h.sink.put.lock().unwrap()[1].ordering_timestamp,
        time::macros::datetime!(2026-01-05 09:59:58.123 UTC)
    );
    // The item in history (09:59:58.123) is older than this notification: history lags.
    let Failed { report, error } = *h
        .handle(&oversized("OK", "2026-01-05T10:30:00Z"), Options::default())
        .await
        .unwrap_err();
    assert!(
        error.is_retryable() && error.to_string().contains("history"),
        "{error}"
    );
    assert_eq!(report.put, 0);
}

#[tokio::test]
async fn an_oversized_key_change_re_evaluates_like_a_key_change() {
    const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
    let key_item = json!({
        "configurationItemCaptureTime": "2026-01-05T09:59:58.123Z", "awsAccountId": "111122223333",
        "configurationItemStatus": "OK", "resourceType": KMS_KEY, "resourceId": KEY_ID,
        "ARN": CMK, "awsRegion": "us-east-1",
        "configuration": {"keyId": KEY_ID, "keyState": "Disabled", "keyManager": "CUSTOMER"}});
    let h = Handler {
        keys: keys(),
        items: OneItem(key_item),
        inventory: Streams(vec![("uses-it", CMK), ("other", "alias/aws/kinesis")]),
        sink: Sink::default(),
        region: "us-east-1".into(),
    };
    let summary = oversized("OK", "2026-01-05T09:59:58.123Z");
    let e = ConfigEvent {
        invoking_event: summary
            .invoking_event
            .replace("AWS::Kinesis::Stream", KMS_KEY)
            .replace("\"orders\"", &format!("\"{KEY_ID}\"")),
        ..summary
    };
    let report = h.handle(&e, Options::collecting()).await.unwrap();
    let got: Vec<(&str, Compliance)> = report
        .evaluations
        .iter()
        .map(|e| (e.compliance_resource_id.as_str(), e.compliance_type))
        .collect();
    assert_eq!(
        got,
        [
            (KEY_ID, Compliance::NotApplicable),
            ("uses-it", Compliance::Compliant)
        ],
        "{report:?}"
    );
}

#[tokio::test]
async fn dry_run_needs_no_result_token() {
    let h = Handler {
        keys: keys(),
        items: NoItems,
        inventory: Secrets(0),
        sink: None::<Sink>,
        region: "us-east-1".into(),
    };
    let mut e = change(stream_item("orders", CMK), "{}", "");
    e.result_token = None;
    let report = h.handle(&e, Options::collecting()).await.unwrap();
    assert_eq!(report.evaluations.len(), 1);
}

#[tokio::test]
async fn a_permanent_put_error_is_reported_as_such() {
    struct Refuses;
    impl EvaluationSink for Refuses {
        async fn put(
            &self,
            _: &[Evaluation],
            _: &str,
            _: bool,
        ) -> Result<Vec<Evaluation>, SourceError> {
            Err(SourceError {
                operation: "config:PutEvaluations",
                detail: "InvalidResultTokenException".into(),
                retryable: false,
            })
        }
    }
    let h = Handler {
        keys: keys(),
        items: NoItems,
        inventory: Secrets(0),
        sink: Refuses,
        region: "us-east-1".into(),
    };
    let Failed { error, .. } = *h
        .handle(
            &change(stream_item("orders", CMK), "", "tok"),
            Options::default(),
        )
        .await
        .unwrap_err();
    assert!(!error.is_retryable());
    assert!(
        error.to_string().contains("InvalidResultTokenException"),
        "{error}"
    );
}

#[tokio::test]
async fn missing_result_token_is_an_error() {
    let h = handler(0);
    let mut e = change(stream_item("orders", CMK), "{}", "");
    e.result_token = None;
    assert!(matches!(
        run(&h, &e).await,
        Err(f) if matches!(f.error, HandlerError::NoResultToken)
    ));
}

#[tokio::test]
async fn no_put_sink_puts_nothing_but_reports() {
    let h = Handler {
        keys: keys(),
        items: NoItems,
        inventory: Secrets(2),
        sink: None::<Sink>,
        region: "us-east-1".into(),
    };
    let report = h
        .handle(&scheduled(""), Options::collecting())
        .await
        .unwrap();
    assert_eq!(report.evaluations.len(), 2);
    assert_eq!(report.put, 2, "the dry sink accepts everything");
}

/// The sweep's inventory, each page of secrets taking `delay` to arrive.
struct SlowSecrets(Secrets, std::time::Duration);
impl Inventory for SlowSecrets {
    async fn page(
        &self,
        resource_type: &'static str,
        scope: &SweepScope,
        token: Option<String>,
    ) -> Result<Page, SourceError> {
        if resource_type == cmk_core::resources::secretsmanager::RESOURCE_TYPE {
            tokio::time::sleep(self.1).await;
        }
        self.0.page(resource_type, scope, token).await
    }
}

#[tokio::test]
async fn a_sweep_near_the_deadline_puts_what_it_evaluated_and_fails_retryable() {
    let delay = std::time::Duration::from_millis(200);
    let h = sweeping(SlowSecrets(Secrets(250), delay));
    // Time for the first page (40 secrets) but not the second.
    let options = Options {
        collect: true,
        stop_at: Some(std::time::Instant::now() + delay * 3 / 2),
        ..Options::default()
    };
    let failed = h.handle(&scheduled(""), options).await.unwrap_err();
    assert_eq!(failed.report.put, 40, "the evaluated page is put, not lost");
    assert_eq!(h.sink.put.lock().unwrap().len(), 40);
    assert!(failed.error.is_retryable());
    assert!(
        failed.error.to_string().contains("Lambda deadline"),
        "{}",
        failed.error
    );
}

#[tokio::test]
async fn without_a_deadline_the_sweep_runs_to_the_end() {
    let h = sweeping(SlowSecrets(
        Secrets(90),
        std::time::Duration::from_millis(1),
    ));
    assert_eq!(run_slow(&h).await.put, 90);
}

async fn run_slow(h: &Handler<FakeKeys, NoItems, SlowSecrets, Sink>) -> Report {
    h.handle(&scheduled(""), Options::collecting())
        .await
        .unwrap()
}

/// Kinesis streams `(id, key)` served in one page.
struct Streams(Vec<(&'static str, &'static str)>);
impl Inventory for Streams {
    async fn page(
        &self,
        resource_type: &'static str,
        scope: &SweepScope,
        _: Option<String>,
    ) -> Result<Page, SourceError> {
        if resource_type != cmk_core::resources::kinesis::RESOURCE_TYPE {
            return Ok(Page::default());
        }
        let items = self
            .0
            .iter()
            .map(|(id, key)| ConfigItem {
                resource_type: resource_type.into(),
                resource_id: (*id).into(),
                arn: None,
                partition: Some(cmk_core::Partition::Aws),
                account_id: scope.account_id.clone(),
                region: scope.region.clone(),
                status: ItemStatus::Ok,
                capture_time: scope.time,
                state_id: None,
                tags: Default::default(),
                configuration: Some(
                    json!({"StreamEncryption": {"EncryptionType": "KMS", "KeyId": key}}),
                ),
                supplementary: Default::default(),
            })
            .collect();
        Ok(Page {
            items,
            ..Page::default()
        })
    }
}

#[tokio::test]
async fn access_denied_on_one_key_never_fails_the_others() {
    let h = sweeping(Streams(vec![
        ("before", CMK),
        ("denied", DENIED),
        ("after", CMK),
    ]));
    let failed = h
        .handle(&scheduled(""), Options::collecting())
        .await
        .unwrap_err();
    let put: Vec<String> = h
        .sink
        .put
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.compliance_resource_id.clone())
        .collect();
    assert_eq!(put, ["before", "after"], "both other streams are put");
    let text = failed.error.to_string();
    assert!(text.contains("denied") && text.contains(DENIED), "{text}");
    assert!(!text.contains("before"), "{text}");
}

fn not_evaluated(n: usize, retryable: bool) -> Vec<NotEvaluated> {
    (0..n)
        .map(|i| NotEvaluated {
            reason: format!("AWS::Kinesis::Stream stream-{i:05}: DescribeStreamSummary failed: LimitExceededException: Rate exceeded"),
            retryable,
        })
        .collect()
}

#[test]
fn the_invocation_error_names_the_first_failures_and_counts_the_rest() {
    let text = HandlerError::Incomplete(not_evaluated(5_000, true)).to_string();
    assert!(text.len() <= 4_096, "{} bytes", text.len());
    assert!(text.starts_with("5000 resource(s) not evaluated: AWS::Kinesis::Stream stream-00000"));
    let shown = text.matches("AWS::Kinesis::Stream stream-").count();
    assert!(shown > 10, "{shown}");
    assert!(
        text.ends_with(&format!("… and {} more (one log line each)", 5_000 - shown)),
        "{text}"
    );
    // A few failures are shown whole.
    let text = HandlerError::Incomplete(not_evaluated(3, false)).to_string();
    assert_eq!(text.matches("stream-0000").count(), 3);
    assert!(!text.contains("more"));
}

#[test]
fn only_retryable_failures_fail_the_lambda_invocation() {
    let failed = |retryable| {
        Err(Box::new(Failed {
            report: Report {
                put: 7,
                ..Report::default()
            },
            error: HandlerError::Incomplete(not_evaluated(2, retryable)),
        }))
    };
    let answer = crate::handler::respond(failed(false)).unwrap();
    assert_eq!(answer["put"], 7);
    assert_eq!(answer["errorType"], "Permanent.ResourcesNotEvaluated");
    assert!(
        answer["errorMessage"]
            .as_str()
            .unwrap()
            .contains("stream-00001")
    );
    let err = crate::handler::respond(failed(true)).unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(
        crate::handler::respond(Ok(Report::default())).unwrap()["put"],
        0
    );
}
