//! Faults no emulator produces, with aws-smithy-mocks: throttling and 5xx sequences, AccessDenied
//! on one key, FailedEvaluations. Everything else is tested against moto (tests/emulator.rs).

use std::time::Duration;

use aws_sdk_config::operation::put_evaluations::PutEvaluationsOutput;
use aws_sdk_kms::Client as Kms;
use aws_sdk_kms::config::retry::RetryConfig;
use aws_sdk_kms::operation::describe_key::{DescribeKeyError, DescribeKeyOutput};
use aws_sdk_kms::operation::get_key_rotation_status::GetKeyRotationStatusError;
use aws_sdk_kms::types::{KeyManagerType, KeyMetadata, KeyState as SdkKeyState};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use cmk_core::key::{
    ArnScope, Described, KeyLookup, KeyManager, KeyRef, ResolveError, Reuse, Rotation,
};
use cmk_core::{Compliance, ConfigEvent, KeyResolver};
use cmk_rule::aws::{ConfigHistory, ConfigSink, KmsKeyResolver, MAX_ATTEMPTS, ServiceInventory};
use cmk_rule::{Failed, Handler, HandlerError, Options};
use serde_json::json;

const ACCOUNT: &str = "111122223333";
const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
const KEY_ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn scope() -> ArnScope {
    ArnScope {
        partition: cmk_core::Partition::Aws,
        region: "us-east-1".into(),
        account: ACCOUNT.into(),
    }
}

fn lookup(key: &str) -> KeyLookup {
    KeyLookup::new(KeyRef::parse(key).unwrap(), &scope())
}

fn cmk() -> DescribeKeyOutput {
    DescribeKeyOutput::builder()
        .key_metadata(
            KeyMetadata::builder()
                .key_id(KEY_ID)
                .arn(KEY_ARN)
                .key_manager(KeyManagerType::Customer)
                .key_state(SdkKeyState::Enabled)
                .build()
                .unwrap(),
        )
        .build()
}

fn coded(code: &str) -> DescribeKeyError {
    DescribeKeyError::generic(
        ErrorMetadata::builder()
            .code(code)
            .message("injected")
            .build(),
    )
}

fn retries(c: aws_sdk_kms::config::Builder) -> aws_sdk_kms::config::Builder {
    c.retry_config(
        RetryConfig::standard()
            .with_max_attempts(MAX_ATTEMPTS)
            .with_initial_backoff(Duration::from_millis(1)),
    )
}

fn kms(rules: &[&Rule]) -> Kms {
    mock_client!(aws_sdk_kms, RuleMode::MatchAny, rules, retries)
}

#[tokio::test]
async fn throttled_describe_key_is_retried_then_resolved() {
    let rule = mock!(Kms::describe_key)
        .sequence()
        .error(|| coded("ThrottlingException"))
        .times(2)
        .http_status(503, None)
        .output(cmk)
        .build();
    let keys = KmsKeyResolver::new(kms(&[&rule]));
    let got = keys.describe(&lookup(KEY_ARN)).await.unwrap();
    assert!(matches!(got, Described::Found(f) if f.manager == KeyManager::Customer));
    assert_eq!(rule.num_calls(), 4);
}

#[tokio::test]
async fn throttling_that_outlasts_the_retries_is_unavailable_and_not_cached() {
    let rule = mock!(Kms::describe_key).then_error(|| coded("ThrottlingException"));
    let keys = KmsKeyResolver::new(kms(&[&rule]));
    let err = keys.describe(&lookup(KEY_ARN)).await.unwrap_err();
    assert!(matches!(err, ResolveError::Unavailable { .. }), "{err}");
    assert_eq!(rule.num_calls(), MAX_ATTEMPTS as usize);
    keys.describe(&lookup(KEY_ARN)).await.unwrap_err();
    assert_eq!(
        rule.num_calls(),
        2 * MAX_ATTEMPTS as usize,
        "errors are not cached"
    );
}

#[tokio::test]
async fn access_denied_is_reported_as_denied_without_retrying() {
    let rule = mock!(Kms::describe_key).then_error(|| coded("AccessDeniedException"));
    let keys = KmsKeyResolver::new(kms(&[&rule]));
    let err = keys.describe(&lookup(KEY_ARN)).await.unwrap_err();
    assert!(matches!(err, ResolveError::Denied { .. }), "{err}");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn alias_id_and_arn_of_one_key_share_one_describe_call() {
    let rule = mock!(Kms::describe_key).then_output(cmk);
    let keys = KmsKeyResolver::new(kms(&[&rule]));
    for key in ["alias/prod-data", KEY_ARN, KEY_ID, "alias/prod-data"] {
        assert!(
            matches!(
                keys.describe(&lookup(key)).await.unwrap(),
                Described::Found(_)
            ),
            "{key}"
        );
    }
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn kms_is_asked_with_the_arn_in_the_resources_account_never_a_bare_name() {
    // A bare alias or id would resolve in the caller's account, which may not be the resource's.
    let alias_arn = "arn:aws:kms:us-east-1:111122223333:alias/prod-data";
    let rule = mock!(Kms::describe_key)
        .match_requests(move |r| r.key_id() == Some(alias_arn))
        .then_output(cmk);
    let keys = KmsKeyResolver::new(kms(&[&rule]));
    assert!(matches!(
        keys.describe(&lookup("alias/prod-data")).await.unwrap(),
        Described::Found(_)
    ));
    assert_eq!(rule.num_calls(), 1);
}

/// Reuse across invocations (issue 11): within one invocation every answer is reused; a later
/// change notification reuses a key's facts at most the maximum age old; a sweep asks afresh; and
/// NotFound, AccessDenied and alias answers are never reused by a later invocation.
#[tokio::test]
async fn what_a_later_invocation_may_reuse() {
    const ALIAS_ARN: &str = "arn:aws:kms:us-east-1:111122223333:alias/prod-data";
    const MISSING: &str =
        "arn:aws:kms:us-east-1:111122223333:key/0000aaaa-12ab-34cd-56ef-1234567890ab";
    const DENIED: &str =
        "arn:aws:kms:us-east-1:111122223333:key/1111bbbb-12ab-34cd-56ef-1234567890ab";
    let by_arn = mock!(Kms::describe_key)
        .match_requests(|r| r.key_id() == Some(KEY_ARN))
        .then_output(cmk);
    let by_alias = mock!(Kms::describe_key)
        .match_requests(|r| r.key_id() == Some(ALIAS_ARN))
        .then_output(cmk);
    let missing = mock!(Kms::describe_key)
        .match_requests(|r| r.key_id() == Some(MISSING))
        .then_error(|| coded("NotFoundException"));
    let denied = mock!(Kms::describe_key)
        .match_requests(|r| r.key_id() == Some(DENIED))
        .then_error(|| coded("AccessDeniedException"));
    let no_aliases = mock!(Kms::list_aliases)
        .then_output(|| aws_sdk_kms::operation::list_aliases::ListAliasesOutput::builder().build());
    let rules = [&by_arn, &by_alias, &missing, &denied, &no_aliases];
    let keys = KmsKeyResolver::new(kms(&rules));
    let ask_all = async |keys: &KmsKeyResolver| {
        for key in [KEY_ARN, "alias/prod-data", MISSING, DENIED] {
            for _ in 0..2 {
                let _ = keys.describe(&lookup(key)).await;
            }
        }
    };
    let counts = || [&by_arn, &by_alias, &missing, &denied].map(|r| r.num_calls());

    keys.start_invocation(Reuse::Recent);
    ask_all(&keys).await;
    assert_eq!(
        counts(),
        [1, 1, 1, 2],
        "one invocation: answers reused, errors not cached"
    );

    keys.start_invocation(Reuse::Recent);
    ask_all(&keys).await;
    assert_eq!(
        counts(),
        [1, 2, 2, 4],
        "a later change notification reuses the key's facts, not the alias, NotFound or AccessDenied"
    );

    keys.start_invocation(Reuse::Fresh);
    ask_all(&keys).await;
    assert_eq!(
        counts(),
        [2, 3, 3, 6],
        "a sweep asks KMS afresh, once per key"
    );

    let keys = KmsKeyResolver::new(kms(&rules)).with_max_age(Duration::ZERO);
    keys.start_invocation(Reuse::Recent);
    let _ = keys.describe(&lookup(KEY_ARN)).await;
    keys.start_invocation(Reuse::Recent);
    let _ = keys.describe(&lookup(KEY_ARN)).await;
    assert_eq!(
        by_arn.num_calls(),
        4,
        "older than the maximum age: asked again"
    );
}

#[tokio::test]
async fn rotation_unsupported_is_a_definite_answer() {
    let rule = mock!(Kms::get_key_rotation_status).then_error(|| {
        GetKeyRotationStatusError::generic(
            ErrorMetadata::builder()
                .code("UnsupportedOperationException")
                .build(),
        )
    });
    let keys = KmsKeyResolver::new(kms(&[&rule]));
    let arn = cmk_core::KeyArn::parse(KEY_ARN).unwrap();
    assert_eq!(keys.rotation(&arn).await.unwrap(), Rotation::Unsupported);
}

fn stream_event(id: &str, key: &str) -> ConfigEvent {
    let item = json!({
        "configurationItemCaptureTime": "2026-01-05T09:59:58.123Z", "awsAccountId": ACCOUNT,
        "configurationItemStatus": "OK", "resourceType": "AWS::Kinesis::Stream", "resourceId": id,
        "awsRegion": "us-east-1",
        "configuration": {"StreamEncryption": {"EncryptionType": "KMS", "KeyId": key}}
    });
    ConfigEvent {
        invoking_event:
            json!({"messageType": "ConfigurationItemChangeNotification", "configurationItem": item})
                .to_string(),
        result_token: Some("token".into()),
        ..ConfigEvent::default()
    }
}

fn handler(
    kms: Kms,
    config: aws_sdk_config::Client,
) -> Handler<KmsKeyResolver, ConfigHistory, ServiceInventory, ConfigSink> {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    Handler {
        keys: KmsKeyResolver::new(kms),
        items: ConfigHistory(config.clone()),
        inventory: ServiceInventory {
            kinesis: aws_sdk_kinesis::Client::new(&sdk),
            secrets: aws_sdk_secretsmanager::Client::new(&sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            sns: aws_sdk_sns::Client::new(&sdk),
            s3: aws_sdk_s3::Client::new(&sdk),
            rates: cmk_rule::aws::Rates::documented(),
            secret_replicas: Default::default(),
        },
        sink: ConfigSink(config),
        region: "us-east-1".into(),
    }
}

#[tokio::test]
async fn every_lookup_denied_puts_nothing_for_the_resource_and_fails_naming_it() {
    let describe = mock!(Kms::describe_key).then_error(|| coded("AccessDeniedException"));
    let put = mock!(aws_sdk_config::Client::put_evaluations)
        .then_output(|| PutEvaluationsOutput::builder().build());
    let config = mock_client!(aws_sdk_config, [&put]);
    let h = handler(kms(&[&describe]), config);
    let Failed { report, error: err } = *h
        .handle(&stream_event("orders", KEY_ARN), Options::default())
        .await
        .unwrap_err();
    assert!(matches!(err, HandlerError::Incomplete(_)));
    let text = err.to_string();
    assert!(
        text.contains("orders") && text.contains(KEY_ARN) && text.contains("alias/aws/kinesis"),
        "{text}"
    );
    assert_eq!(report.put, 0);
    assert_eq!(put.num_calls(), 0);
    assert_eq!(
        describe.num_calls(),
        2,
        "the key, then the service's AWS-managed key"
    );
}

/// A PutEvaluations response in which Config reports the `orders` stream's evaluation as failed.
fn orders_failed() -> PutEvaluationsOutput {
    let failed = aws_sdk_config::types::Evaluation::builder()
        .compliance_resource_type("AWS::Kinesis::Stream")
        .compliance_resource_id("orders")
        .compliance_type(aws_sdk_config::types::ComplianceType::Compliant)
        .ordering_timestamp(aws_smithy_types::DateTime::from_secs(0))
        .build()
        .unwrap();
    PutEvaluationsOutput::builder()
        .failed_evaluations(failed)
        .build()
}

/// A partial failure is resent by the SDK, classified by `FailedEvaluations`; production
/// retries (standard mode) apply.
#[tokio::test]
async fn failed_evaluations_from_config_are_resent() {
    let describe = mock!(Kms::describe_key).then_output(cmk);
    let put = mock!(aws_sdk_config::Client::put_evaluations)
        .sequence()
        .output(orders_failed)
        .output(|| PutEvaluationsOutput::builder().build())
        .build();
    let interceptor = MockResponseInterceptor::new()
        .rule_mode(RuleMode::Sequential)
        .with_rule(&put);
    let config = aws_sdk_config::Client::from_conf(
        aws_sdk_config::Config::builder()
            .with_test_defaults_v2()
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(interceptor)
            .build(),
    );
    let h = handler(kms(&[&describe]), config);
    let report = h
        .handle(&stream_event("orders", KEY_ARN), Options::collecting())
        .await
        .unwrap();
    assert_eq!(put.num_calls(), 2);
    assert_eq!(report.put, 1);
    assert_eq!(report.evaluations[0].compliance_type, Compliance::Compliant);
}

#[tokio::test]
async fn evaluations_config_never_accepts_fail_the_invocation() {
    let describe = mock!(Kms::describe_key).then_output(cmk);
    let put = mock!(aws_sdk_config::Client::put_evaluations).then_output(orders_failed);
    let config = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&put], config_retries);
    let h = handler(kms(&[&describe]), config);
    let Failed { report, error: err } = *h
        .handle(&stream_event("orders", KEY_ARN), Options::default())
        .await
        .unwrap_err();
    // The SDK's retries resend it (the FailedEvaluations classifier), then give up.
    assert_eq!(put.num_calls(), MAX_ATTEMPTS as usize);
    assert_eq!(report.put, 0);
    assert!(err.to_string().contains("orders"), "{err}");
}

fn config_retries(c: aws_sdk_config::config::Builder) -> aws_sdk_config::config::Builder {
    c.retry_config(
        aws_sdk_config::config::retry::RetryConfig::standard()
            .with_max_attempts(MAX_ATTEMPTS)
            .with_initial_backoff(Duration::from_millis(1)),
    )
}

#[tokio::test]
async fn throttled_and_5xx_put_evaluations_are_retried_then_put() {
    use aws_sdk_config::operation::put_evaluations::PutEvaluationsError;
    let describe = mock!(Kms::describe_key).then_output(cmk);
    let put = mock!(aws_sdk_config::Client::put_evaluations)
        .sequence()
        .error(|| {
            PutEvaluationsError::generic(
                ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .http_status(503, None)
        .output(|| PutEvaluationsOutput::builder().build())
        .build();
    let config = mock_client!(aws_sdk_config, RuleMode::Sequential, [&put], config_retries);
    let h = handler(kms(&[&describe]), config);
    let report = h
        .handle(&stream_event("orders", KEY_ARN), Options::default())
        .await
        .unwrap();
    assert_eq!(report.put, 1);
    assert_eq!(put.num_calls(), 3, "throttled, 503, then accepted");
}

#[tokio::test]
async fn throttled_and_5xx_config_history_is_retried_then_read() {
    use aws_sdk_config::operation::get_resource_config_history::{
        GetResourceConfigHistoryError, GetResourceConfigHistoryOutput,
    };
    use aws_sdk_config::types::{ConfigurationItem, ConfigurationItemStatus, ResourceType};
    use cmk_rule::handler::ItemSource;

    let history = mock!(aws_sdk_config::Client::get_resource_config_history)
        .sequence()
        .error(|| {
            GetResourceConfigHistoryError::generic(
                ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .http_status(500, None)
        .output(|| {
            GetResourceConfigHistoryOutput::builder()
                .configuration_items(
                    ConfigurationItem::builder()
                        .resource_type(ResourceType::KinesisStream)
                        .resource_id("orders")
                        .account_id(ACCOUNT)
                        .aws_region("us-east-1")
                        .configuration_item_status(ConfigurationItemStatus::Ok)
                        .configuration_item_capture_time(aws_smithy_types::DateTime::from_secs(
                            1_767_607_198,
                        ))
                        .configuration(
                            json!({"StreamEncryption": {"EncryptionType": "KMS", "KeyId": KEY_ARN}})
                                .to_string(),
                        )
                        .build(),
                )
                .build()
        })
        .build();
    let config = mock_client!(
        aws_sdk_config,
        RuleMode::Sequential,
        [&history],
        config_retries
    );
    let summary = cmk_core::event::ItemSummary {
        resource_type: "AWS::Kinesis::Stream".into(),
        resource_id: "orders".into(),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        status: cmk_core::ItemStatus::Ok,
        capture_time: time::macros::datetime!(2026-01-05 09:59:58 UTC),
        state_id: None,
    };
    let item = ConfigHistory(config).latest(&summary).await.unwrap();
    assert_eq!(item.resource_id, "orders");
    assert_eq!(history.num_calls(), 3, "throttled, 500, then read");
}

/// GetResourceConfigHistory as Config's JSON protocol answers it: the capture time is a float of
/// epoch seconds, which the SDK reads through `f64` (`….123` becomes `….122999…`).
fn history_body(capture: &str, state_id: u64) -> String {
    let configuration =
        json!({"StreamEncryption": {"EncryptionType": "KMS", "KeyId": KEY_ARN}}).to_string();
    format!(
        r#"{{"configurationItems":[{{"version":"1.3","accountId":"{ACCOUNT}","configurationItemCaptureTime":{capture},
        "configurationItemStatus":"OK","configurationStateId":"{state_id}","resourceType":"AWS::Kinesis::Stream",
        "resourceId":"orders","awsRegion":"us-east-1","configuration":{}}}]}}"#,
        serde_json::to_string(&configuration).unwrap()
    )
}

fn oversized_stream(capture: &str, state_id: Option<u64>) -> ConfigEvent {
    let mut summary = json!({"changeType": "UPDATE", "configurationItemCaptureTime": capture,
        "awsAccountId": ACCOUNT, "configurationItemStatus": "OK", "resourceType": "AWS::Kinesis::Stream",
        "resourceId": "orders", "awsRegion": "us-east-1"});
    if let Some(id) = state_id {
        summary["configurationStateId"] = json!(id);
    }
    ConfigEvent {
        invoking_event: json!({"messageType": "OversizedConfigurationItemChangeNotification",
            "configurationItemSummary": summary})
        .to_string(),
        result_token: Some("token".into()),
        ..ConfigEvent::default()
    }
}

async fn handle_oversized(
    body: String,
    event: &ConfigEvent,
) -> Result<cmk_rule::Report, Box<Failed>> {
    let describe = mock!(Kms::describe_key).then_output(cmk);
    let history = mock!(aws_sdk_config::Client::get_resource_config_history)
        .sequence()
        .http_status(200, Some(body))
        .build();
    let put = mock!(aws_sdk_config::Client::put_evaluations)
        .then_output(|| PutEvaluationsOutput::builder().build());
    let config = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&history, &put]);
    handler(kms(&[&describe]), config)
        .handle(event, Options::collecting())
        .await
}

/// Regression (issue 11): oversized notifications were refused as "history not updated yet"
/// whenever the float capture time read back below the summary's millisecond.
#[tokio::test]
async fn oversized_item_with_a_float_capture_time_matches_its_notification() {
    for millis in ["123", "007", "931", "055", "999", "000", "500"] {
        let capture = format!("1773652515.{millis}");
        let state: u64 = format!("1773652515{millis}").parse().unwrap();
        let iso = format!("2026-03-16T09:15:15.{millis}Z");
        for state_in_summary in [Some(state), None] {
            let report = handle_oversized(
                history_body(&capture, state),
                &oversized_stream(&iso, state_in_summary),
            )
            .await
            .unwrap_or_else(|f| panic!(".{millis} (state {state_in_summary:?}): {}", f.error));
            let e = &report.evaluations[0];
            assert_eq!(e.compliance_type, Compliance::Compliant, ".{millis}");
            assert_eq!(
                (
                    e.ordering_timestamp.unix_timestamp(),
                    e.ordering_timestamp.millisecond()
                ),
                (1_773_652_515, millis.parse::<u16>().unwrap()),
                ".{millis}: the summary's own time orders the evaluation"
            );
        }
    }
}

#[tokio::test]
async fn oversized_newer_item_is_judged_at_its_own_time_and_an_older_one_is_refused() {
    // The resource changed again 2.25 s after the notified change.
    let newer = handle_oversized(
        history_body("1773652517.373", 1_773_652_517_373),
        &oversized_stream("2026-03-16T09:15:15.123Z", Some(1_773_652_515_123)),
    )
    .await
    .unwrap();
    let at = newer.evaluations[0].ordering_timestamp;
    assert_eq!(
        (at.unix_timestamp(), at.millisecond()),
        (1_773_652_517, 373)
    );

    let Failed { report, error } = *handle_oversized(
        history_body("1773652515.122", 1_773_652_515_122),
        &oversized_stream("2026-03-16T09:15:15.123Z", None),
    )
    .await
    .unwrap_err();
    assert!(
        error.is_retryable() && error.to_string().contains("history not updated yet"),
        "{error}"
    );
    assert_eq!(report.put, 0);
}

/// A sweep of 3,000 streams in which every third Kinesis call is throttled (`LimitExceededException`,
/// Kinesis' throttling code): the retries absorb it and every stream gets its evaluation.
///
/// Each rule is one sequence of answers consumed by the calls in the order they are made, retries
/// included; every third answer is the throttling error.
#[tokio::test]
async fn sweep_of_3000_streams_with_every_third_call_throttled_evaluates_every_stream() {
    use aws_sdk_kinesis::operation::describe_stream_summary::{
        DescribeStreamSummaryError, DescribeStreamSummaryOutput,
    };
    use aws_sdk_kinesis::operation::list_streams::{ListStreamsError, ListStreamsOutput};
    use aws_sdk_kinesis::types::{EncryptionType, StreamDescriptionSummary, StreamStatus};
    use std::collections::BTreeSet;

    const STREAMS: usize = 3_000;
    let limit = || {
        ErrorMetadata::builder()
            .code("LimitExceededException")
            .message("Rate exceeded for stream")
            .build()
    };
    let name = |i: usize| format!("s{i:04}");
    let mut list = mock!(aws_sdk_kinesis::Client::list_streams).sequence();
    for (n, start) in (0..STREAMS).step_by(100).enumerate() {
        let end = (start + 100).min(STREAMS);
        list = list.output(move || {
            ListStreamsOutput::builder()
                .set_stream_names(Some((start..end).map(|i| format!("s{i:04}")).collect()))
                .has_more_streams(end < STREAMS)
                .set_next_token((end < STREAMS).then(|| end.to_string()))
                .build()
                .unwrap()
        });
        if n % 2 == 1 && end < STREAMS {
            list = list.error(move || ListStreamsError::generic(limit()));
        }
    }
    let list = list.build();
    let mut describe = mock!(aws_sdk_kinesis::Client::describe_stream_summary).sequence();
    for i in 0..STREAMS {
        let stream = name(i);
        describe = describe.output(move || {
            DescribeStreamSummaryOutput::builder()
                .stream_description_summary(
                    StreamDescriptionSummary::builder()
                        .stream_name(&stream)
                        .stream_arn(format!(
                            "arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{stream}"
                        ))
                        .stream_status(StreamStatus::Active)
                        .retention_period_hours(24)
                        .stream_creation_timestamp(aws_smithy_types::DateTime::from_secs(
                            1_767_607_198,
                        ))
                        .open_shard_count(1)
                        .set_enhanced_monitoring(Some(Vec::new()))
                        .encryption_type(EncryptionType::Kms)
                        .key_id(KEY_ARN)
                        .build()
                        .unwrap(),
                )
                .build()
        });
        if i % 2 == 1 && i + 1 < STREAMS {
            describe = describe.error(move || DescribeStreamSummaryError::generic(limit()));
        }
    }
    let describe = describe.build();
    // Production retries (standard, five attempts), with short backoffs for the test.
    let kinesis = mock_client!(
        aws_sdk_kinesis,
        RuleMode::MatchAny,
        [&list, &describe],
        |c| c.retry_config(
            aws_sdk_kinesis::config::retry::RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(20)),
        )
    );
    let describe_key = mock!(Kms::describe_key).then_output(cmk);
    let put = mock!(aws_sdk_config::Client::put_evaluations)
        .then_output(|| PutEvaluationsOutput::builder().build());
    let config = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&put]);
    let mut h = handler(kms(&[&describe_key]), config);
    h.inventory.kinesis = kinesis;
    // The pace is tested on its own (aws::rate); here only the retries are under test.
    h.inventory.rates = cmk_rule::aws::Rates::parse(
        "kinesis:ListStreams=0,kinesis:DescribeStreamSummary=0,secretsmanager:ListSecrets=0",
    )
    .unwrap();
    // Secrets Manager, DynamoDB, SQS and SNS: empty accounts.
    let secrets = mock!(aws_sdk_secretsmanager::Client::list_secrets).then_output(|| {
        aws_sdk_secretsmanager::operation::list_secrets::ListSecretsOutput::builder().build()
    });
    let tables = mock!(aws_sdk_dynamodb::Client::list_tables).then_output(|| {
        aws_sdk_dynamodb::operation::list_tables::ListTablesOutput::builder().build()
    });
    h.inventory.secrets = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&secrets]);
    h.inventory.dynamodb = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&tables]);
    let queues = mock!(aws_sdk_sqs::Client::list_queues)
        .then_output(|| aws_sdk_sqs::operation::list_queues::ListQueuesOutput::builder().build());
    h.inventory.sqs = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, [&queues]);
    let topics = mock!(aws_sdk_sns::Client::list_topics)
        .then_output(|| aws_sdk_sns::operation::list_topics::ListTopicsOutput::builder().build());
    h.inventory.sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&topics]);
    let buckets = mock!(aws_sdk_s3::Client::list_buckets)
        .then_output(|| aws_sdk_s3::operation::list_buckets::ListBucketsOutput::builder().build());
    h.inventory.s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&buckets]);
    let event = ConfigEvent {
        invoking_event:
            json!({"awsAccountId": ACCOUNT, "notificationCreationTime": "2026-03-16T09:00:00.000Z",
            "messageType": "ScheduledNotification", "recordVersion": "1.0"})
            .to_string(),
        result_token: Some("token".into()),
        ..ConfigEvent::default()
    };
    let report = h
        .handle(&event, Options::collecting())
        .await
        .unwrap_or_else(|f| panic!("{}", f.error));
    let ids: BTreeSet<&str> = report
        .evaluations
        .iter()
        .filter(|e| e.compliance_type == Compliance::Compliant)
        .map(|e| e.compliance_resource_id.as_str())
        .collect();
    assert_eq!(ids.len(), STREAMS, "every stream evaluated, once");
    assert_eq!(report.put, STREAMS);
    assert_eq!(put.num_calls(), STREAMS / 100);
    assert_eq!(
        describe.num_calls(),
        STREAMS + STREAMS / 2 - 1,
        "every third call throttled"
    );
    assert!(describe.is_exhausted() && list.is_exhausted());
}

/// Only throttling, 5xx, timeouts and connection failures are worth another attempt; every other
/// code is permanent, codes we have never seen included.
#[tokio::test]
async fn only_transient_errors_are_retryable() {
    let cases: [(&str, Option<u16>, bool); 8] = [
        ("ThrottlingException", None, true),
        ("LimitExceededException", None, true),
        ("KMSInternalException", Some(500), true),
        ("KMSInvalidStateException", None, false),
        ("ExpiredTokenException", None, false),
        ("UnrecognizedClientException", None, false),
        ("InvalidArnException", None, false),
        ("SomeCodeAwsAddsNextYearException", None, false),
    ];
    for (code, status, want) in cases {
        let rule = match status {
            Some(status) => mock!(Kms::describe_key)
                .sequence()
                .http_status(
                    status,
                    Some(format!(r#"{{"__type":"{code}","message":"injected"}}"#)),
                )
                .times(MAX_ATTEMPTS as usize)
                .build(),
            None => mock!(Kms::describe_key)
                .sequence()
                .error(move || coded(code))
                .times(MAX_ATTEMPTS as usize)
                .build(),
        };
        let keys = KmsKeyResolver::new(kms(&[&rule]));
        let err = keys.describe(&lookup(KEY_ARN)).await.unwrap_err();
        assert_eq!(err.is_retryable(), want, "{code}: {err}");
        assert!(
            matches!(err, ResolveError::Unavailable { .. }),
            "{code}: {err}"
        );
    }
}

mod member_role {
    use super::*;
    use aws_sdk_sts::Client as Sts;
    use aws_sdk_sts::operation::assume_role::AssumeRoleError;
    use cmk_rule::aws::Members;

    const CENTRAL_ROLE: &str = "arn:aws:iam::111122223333:role/cmk-guardrails-function";
    const MEMBER: &str = "222233334444";

    fn sts(rules: &[&Rule]) -> Sts {
        mock_client!(
            aws_sdk_sts,
            RuleMode::MatchAny,
            rules,
            |c: aws_sdk_sts::config::Builder| {
                c.retry_config(
                    RetryConfig::standard()
                        .with_max_attempts(MAX_ATTEMPTS)
                        .with_initial_backoff(Duration::from_millis(1)),
                )
            }
        )
    }

    fn members(sts: Sts) -> Members<ConfigSink> {
        let base = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        let members = Members::new(
            base,
            |sdk| ConfigSink(aws_sdk_config::Client::new(sdk)),
            Box::new(|_| {}),
        )
        .with_sts(sts);
        members.know_identity(CENTRAL_ROLE);
        members
    }

    fn event(params: &str) -> ConfigEvent {
        ConfigEvent::from_value(json!({"accountId": MEMBER, "ruleParameters": params, "resultToken": "t",
               "invokingEvent": "{}",
               "configRuleArn": format!("arn:aws:config:us-east-1:{MEMBER}:config-rule/config-rule-1")}))
        .unwrap()
    }

    fn refused(code: &str) -> AssumeRoleError {
        AssumeRoleError::generic(
            ErrorMetadata::builder()
                .code(code)
                .message("injected")
                .build(),
        )
    }

    #[tokio::test]
    async fn a_role_that_cannot_be_assumed_is_a_permanent_error_naming_account_and_role() {
        let rule = mock!(Sts::assume_role)
            .match_requests(|r| r.role_arn() == Some("arn:aws:iam::222233334444:role/audit-reader"))
            .then_error(|| refused("AccessDenied"));
        let members = members(sts(&[&rule]));
        let Err(failed) = members
            .handler_for(&event(r#"{"executionRoleName":"audit-reader"}"#))
            .await
        else {
            panic!("no handler for a member whose role is refused");
        };
        assert_eq!(failed.report.put, 0);
        assert!(!failed.error.is_retryable(), "{}", failed.error);
        let text = failed.error.to_string();
        assert!(
            text.contains(MEMBER)
                && text.contains("role/audit-reader")
                && text.contains("AccessDenied"),
            "{text}"
        );
        assert_eq!(rule.num_calls(), 1, "a refusal is not retried");
    }

    #[tokio::test]
    async fn a_throttled_assume_role_is_retried_and_its_credentials_are_reused() {
        use aws_sdk_sts::operation::assume_role::AssumeRoleOutput;
        use aws_sdk_sts::types::Credentials;
        let granted = || {
            AssumeRoleOutput::builder()
                .credentials(
                    Credentials::builder()
                        .access_key_id("ASIAMEMBER")
                        .secret_access_key("secret")
                        .session_token("token")
                        .expiration(aws_smithy_types::DateTime::from_secs(
                            std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .unwrap()
                                .as_secs() as i64
                                + 3600,
                        ))
                        .build()
                        .unwrap(),
                )
                .build()
        };
        let rule = mock!(Sts::assume_role)
            .match_requests(|r| {
                r.role_arn() == Some("arn:aws:iam::222233334444:role/cmk-guardrails-member")
            })
            .sequence()
            .error(|| refused("Throttling"))
            .output(granted)
            .build();
        let members = members(sts(&[&rule]));
        for _ in 0..3 {
            members
                .handler_for(&event("{}"))
                .await
                .map_err(|f| f.error.to_string())
                .unwrap();
        }
        assert_eq!(
            rule.num_calls(),
            2,
            "one throttled try, one grant, then the cache"
        );
    }

    #[tokio::test]
    async fn the_central_function_evaluates_its_own_account_through_the_member_role_too() {
        let own =
            ConfigEvent::from_value(json!({"accountId": "111122223333", "ruleParameters": "{}",
               "resultToken": "t", "invokingEvent": "{}",
               "configRuleArn": "arn:aws:config:us-east-1:111122223333:config-rule/config-rule-1"}))
            .unwrap();
        let rule = mock!(Sts::assume_role)
            .match_requests(|r| {
                r.role_arn() == Some("arn:aws:iam::111122223333:role/cmk-guardrails-member")
            })
            .then_error(|| refused("AccessDenied"));
        let per_account = members(sts(&[&rule]));
        assert!(per_account.handler_for(&own).await.is_ok());
        assert_eq!(
            rule.num_calls(),
            0,
            "a per-account function uses its own role"
        );
        let central = members(sts(&[&rule])).assume_own_account(true);
        assert!(central.handler_for(&own).await.is_err());
        assert_eq!(
            rule.num_calls(),
            1,
            "the central function assumes the member role"
        );
    }

    #[tokio::test]
    async fn an_assume_role_still_throttled_after_the_retries_is_retryable() {
        let rule = mock!(Sts::assume_role).then_error(|| refused("Throttling"));
        let members = members(sts(&[&rule]));
        let Err(failed) = members.handler_for(&event("")).await else {
            panic!("still throttled: no handler");
        };
        assert!(failed.error.is_retryable(), "{}", failed.error);
        assert_eq!(failed.error.error_type(), "MemberRoleNotAssumed");
    }
}
