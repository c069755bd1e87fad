//! Tests of event decoding: both item shapes, message types, and errors that name the JSON path.

use super::*;
use crate::arn::Partition;
use serde_json::json;

fn event(invoking: serde_json::Value) -> ConfigEvent {
    ConfigEvent {
        invoking_event: invoking.to_string(),
        ..ConfigEvent::default()
    }
}

fn change_item() -> serde_json::Value {
    json!({
        "configurationItemCaptureTime": "2026-01-05T09:59:58.123Z",
        "awsAccountId": "111122223333",
        "configurationItemStatus": "OK",
        "resourceType": "AWS::Kinesis::Stream",
        "resourceId": "orders-events",
        "resourceName": null,
        "ARN": "arn:aws:kinesis:us-east-1:111122223333:stream/orders-events",
        "awsRegion": "us-east-1",
        "configurationStateId": 1736071198123u64,
        "tags": {"team": "data"},
        "configuration": {"StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}},
        "supplementaryConfiguration": {"Tags": [{"key": "env", "value": "prod"}]}
    })
}

#[test]
fn outer_event_tolerates_missing_optional_fields() {
    let e = ConfigEvent::from_slice(br#"{"invokingEvent":"{}","ruleParameters":"","newField":1}"#)
        .unwrap();
    assert!(!e.event_left_scope);
    assert_eq!(e.rule_parameters.as_deref(), Some(""));
}

#[test]
fn outer_event_without_invoking_event_is_an_error() {
    let err = ConfigEvent::from_slice(br#"{"resultToken":"x"}"#).unwrap_err();
    assert!(err.to_string().contains("invokingEvent"), "{err}");
}

#[test]
fn change_notification_becomes_an_item() {
    let e = event(
        json!({"messageType": CHANGE, "configurationItemDiff": null, "configurationItem": change_item()}),
    );
    let InvokingEvent::Change { item } = e.invoking_event().unwrap() else {
        panic!()
    };
    assert_eq!(item.resource_id, "orders-events");
    assert_eq!(item.status, ItemStatus::Ok);
    assert_eq!(item.tags.get("env").map(String::as_str), Some("prod"));
    assert_eq!(item.capture_time.millisecond(), 123);
    assert_eq!(item.scope().unwrap().partition, crate::arn::Partition::Aws);
}

#[test]
fn deleted_item_has_no_configuration() {
    let mut ci = change_item();
    ci["configurationItemStatus"] = json!("ResourceDeleted");
    ci["configuration"] = serde_json::Value::Null;
    let e = event(json!({"messageType": CHANGE, "configurationItem": ci}));
    let InvokingEvent::Change { item } = e.invoking_event().unwrap() else {
        panic!()
    };
    assert!(!item.status.is_live());
    assert!(item.configuration.is_none());
}

#[test]
fn malformed_items_name_the_json_path() {
    let cases = [
        (json!({"messageType": CHANGE}), "configurationItem"),
        (
            json!({"messageType": CHANGE, "configurationItem": {"resourceType": 5}}),
            "configurationItem.resourceType",
        ),
        (json!({"messageType": "Nope"}), "messageType"),
        (json!({"configurationItem": {}}), "messageType"),
    ];
    for (invoking, path) in cases {
        let err = event(invoking.clone())
            .invoking_event()
            .unwrap_err()
            .to_string();
        assert!(err.contains(path), "{invoking}: {err}");
    }
    for (field, value) in [
        ("configurationItemCaptureTime", json!("yesterday")),
        ("awsAccountId", json!("1234")),
        ("configurationItemStatus", json!("Gone")),
        ("resourceId", json!("")),
    ] {
        let mut ci = change_item();
        ci[field] = value;
        let err = event(json!({"messageType": CHANGE, "configurationItem": ci}))
            .invoking_event()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("configurationItem.{field}")),
            "{field}: {err}"
        );
    }
}

#[test]
fn invoking_event_that_is_not_json_is_an_error() {
    let e = ConfigEvent {
        invoking_event: "{not json".into(),
        ..ConfigEvent::default()
    };
    assert!(
        e.invoking_event()
            .unwrap_err()
            .to_string()
            .starts_with("invokingEvent")
    );
}

#[test]
fn oversized_summary_accepts_numeric_state_id() {
    let e = event(json!({
        "messageType": OVERSIZED,
        "configurationItemSummary": {
            "changeType": "UPDATE", "configurationItemVersion": "1.3",
            "configurationItemCaptureTime": "2026-01-05T09:59:58.123Z", "configurationStateId": 1736071198123u64,
            "awsAccountId": "111122223333", "configurationItemStatus": "OK",
            "resourceType": "AWS::DynamoDB::Table", "resourceId": "Orders", "resourceName": "Orders",
            "awsRegion": "us-east-1"
        }
    }));
    let InvokingEvent::Oversized { summary } = e.invoking_event().unwrap() else {
        panic!()
    };
    assert_eq!(summary.resource_id, "Orders");
    assert_eq!(summary.state_id, Some(StateId::new("1736071198123")));
}

fn summary_at(time: &str, state: Option<&str>) -> ItemSummary {
    let mut s = json!({"configurationItemCaptureTime": time, "awsAccountId": "111122223333",
        "configurationItemStatus": "OK", "resourceType": "AWS::DynamoDB::Table", "resourceId": "Orders",
        "awsRegion": "us-east-1"});
    if let Some(id) = state {
        s["configurationStateId"] = json!(id);
    }
    let e = event(json!({"messageType": OVERSIZED, "configurationItemSummary": s}));
    let InvokingEvent::Oversized { summary } = e.invoking_event().unwrap() else {
        panic!()
    };
    summary
}

fn api_item_at(time: &str, state: Option<&str>) -> ConfigItem {
    ConfigItem::from_api(ApiItem {
        resource_type: Some("AWS::DynamoDB::Table".into()),
        resource_id: Some("Orders".into()),
        account_id: Some("111122223333".into()),
        region: Some("us-east-1".into()),
        status: Some("OK".into()),
        capture_time: Some(time.into()),
        state_id: state.map(str::to_owned),
        configuration: Some("{}".into()),
        ..ApiItem::default()
    })
    .unwrap()
}

#[test]
fn freshness_uses_the_state_id_then_milliseconds() {
    use Freshness::*;
    let cases = [
        // (summary time, summary state, item time, item state, want)
        (
            "2026-03-16T09:15:15.123Z",
            Some("7"),
            "2026-03-16T09:15:15.122999906Z",
            Some("7"),
            Same,
        ),
        (
            "2026-03-16T09:15:15.123Z",
            None,
            "2026-03-16T09:15:15.122999906Z",
            None,
            Same,
        ),
        (
            "2026-03-16T09:15:15.123Z",
            None,
            "2026-03-16T09:15:15.123000144Z",
            Some("7"),
            Same,
        ),
        (
            "2026-03-16T09:15:15.999Z",
            None,
            "2026-03-16T09:15:15.998999834Z",
            None,
            Same,
        ),
        // AWS's oversized example carries state id 0: a differing id alone decides nothing.
        (
            "2026-03-16T09:15:15.123Z",
            Some("0"),
            "2026-03-16T09:15:15.123Z",
            Some("1773652515123"),
            Same,
        ),
        (
            "2026-03-16T09:15:15.123Z",
            Some("7"),
            "2026-03-16T09:15:17.373Z",
            Some("8"),
            Newer,
        ),
        (
            "2026-03-16T09:15:15.123Z",
            None,
            "2026-03-16T09:15:15.124Z",
            None,
            Newer,
        ),
        (
            "2026-03-16T09:15:15.123Z",
            Some("8"),
            "2026-03-16T09:15:15.122Z",
            Some("7"),
            Older,
        ),
        (
            "2026-03-16T09:15:15.123Z",
            None,
            "2026-03-16T09:15:15.121999Z",
            None,
            Older,
        ),
    ];
    for (summary_time, summary_state, item_time, item_state, want) in cases {
        let summary = summary_at(summary_time, summary_state);
        let item = api_item_at(item_time, item_state);
        assert_eq!(
            summary.freshness(&item),
            want,
            "{summary_time} vs {item_time}"
        );
    }
}

#[test]
fn scheduled_notification_carries_account_and_time() {
    let e = event(
        json!({"awsAccountId": "111122223333", "notificationCreationTime": "2026-01-05T10:00:00.000Z",
                         "messageType": SCHEDULED, "recordVersion": "1.0"}),
    );
    let InvokingEvent::Scheduled {
        account_id,
        notification_time,
    } = e.invoking_event().unwrap()
    else {
        panic!()
    };
    assert_eq!(account_id, "111122223333");
    assert_eq!(notification_time.hour(), 10);
}

#[test]
fn api_shape_is_normalised() {
    let api = ApiItem {
        resource_type: Some("AWS::DynamoDB::Table".into()),
        resource_id: Some("Orders".into()),
        account_id: Some("111122223333".into()),
        region: Some("eu-west-1".into()),
        status: Some("OK".into()),
        capture_time: Some("2026-01-05T09:59:58Z".into()),
        configuration: Some(r#"{"tableName":"Orders","ssedescription":null}"#.into()),
        supplementary_configuration: [(
            "Tags".to_owned(),
            r#"[{"key":"team","value":"x"}]"#.to_owned(),
        )]
        .into(),
        ..ApiItem::default()
    };
    let item = ConfigItem::from_api(api).unwrap();
    assert_eq!(item.configuration.unwrap()["tableName"], "Orders");
    assert_eq!(item.tags["team"], "x");
}

#[test]
fn api_shape_with_bad_configuration_json_names_it() {
    let api = ApiItem {
        configuration: Some("{oops".into()),
        ..ApiItem::default()
    };
    let err = ConfigItem::from_api(api).unwrap_err().to_string();
    assert!(err.contains("configuration"), "{err}");
}

#[test]
fn test_mode_token() {
    let mut e = ConfigEvent {
        result_token: Some("TESTMODE".into()),
        ..ConfigEvent::default()
    };
    assert!(e.is_test_mode());
    e.result_token = Some("real-token".into());
    assert!(!e.is_test_mode());
}

/// The one-pass decode of change notifications is only a shortcut: on every fixture event, and
/// on the malformed inputs above, it gives exactly what the two-pass path gives.
#[test]
fn one_pass_decode_agrees_with_the_checked_path() {
    let describe = |r: Result<InvokingEvent, EventError>| match r {
        Ok(e) => format!("ok {e:?}"),
        Err(e) => format!("err {e}"),
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/config");
    let mut events: Vec<ConfigEvent> = Vec::new();
    for service in std::fs::read_dir(&dir).unwrap() {
        for file in std::fs::read_dir(service.unwrap().path()).unwrap() {
            let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
            let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
            events.push(ConfigEvent::from_value(fixture["event"].clone()).unwrap());
        }
    }
    assert!(events.len() > 40, "fixtures found: {}", events.len());
    let mut ci = change_item();
    ci["configurationItemStatus"] = json!("Gone");
    for invoking in [
        json!({"messageType": CHANGE}),
        json!({"messageType": CHANGE, "configurationItem": null}),
        json!({"messageType": CHANGE, "configurationItem": {"resourceType": 5}}),
        json!({"messageType": CHANGE, "configurationItem": ci}),
        json!({"messageType": OVERSIZED, "configurationItem": change_item()}),
        json!({"configurationItem": change_item()}),
    ] {
        events.push(event(invoking));
    }
    for e in &events {
        assert_eq!(
            describe(e.invoking_event()),
            describe(e.invoking_event_checked()),
            "{}",
            e.invoking_event
        );
    }
}

/// Issue 11: an item in the API's shape (`accountId`, `arn`, `version`, `configuration` and the
/// supplementary values as JSON text), as GetResourceConfigHistory returns it and `rdk
/// test-remote` sends it, reads like the event shape.
#[test]
fn an_api_shape_item_in_a_change_notification_reads_like_the_event_shape() {
    let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let event_shape = json!({"configurationItemCaptureTime": "2026-01-05T09:59:58.123Z",
        "awsAccountId": "111122223333", "configurationItemStatus": "OK", "configurationItemVersion": "1.3",
        "resourceType": "AWS::Kinesis::Stream", "resourceId": "orders", "ARN": "arn:aws:kinesis:us-east-1:111122223333:stream/orders",
        "awsRegion": "us-east-1",
        "configuration": {"StreamEncryption": {"EncryptionType": "KMS", "KeyId": key}},
        "supplementaryConfiguration": {"Tags": [{"key": "team", "value": "data"}]}});
    let api_shape = json!({"configurationItemCaptureTime": "2026-01-05T09:59:58.123Z",
        "accountId": "111122223333", "configurationItemStatus": "OK", "version": "1.3",
        "resourceType": "AWS::Kinesis::Stream", "resourceId": "orders", "arn": "arn:aws:kinesis:us-east-1:111122223333:stream/orders",
        "awsRegion": "us-east-1",
        "configuration": json!({"StreamEncryption": {"EncryptionType": "KMS", "KeyId": key}}).to_string(),
        "supplementaryConfiguration": {"Tags": r#"[{"key":"team","value":"data"}]"#}});
    let read = |item: Value| {
        let e = event(json!({"messageType": CHANGE, "configurationItem": item}));
        match e.invoking_event().unwrap() {
            InvokingEvent::Change { item } => item,
            other => panic!("{other:?}"),
        }
    };
    let (from_event, from_api) = (read(event_shape), read(api_shape));
    assert_eq!(from_event, from_api);
    assert_eq!(from_api.account_id, "111122223333");
    assert_eq!(from_api.tags["team"], "data");
    assert!(from_api.arn.is_some());

    let bad = json!({"configurationItemCaptureTime": "2026-01-05T09:59:58.123Z", "accountId": "111122223333",
        "configurationItemStatus": "OK", "resourceType": "AWS::Kinesis::Stream", "resourceId": "orders",
        "awsRegion": "us-east-1", "configuration": "{not json"});
    let e = event(json!({"messageType": CHANGE, "configurationItem": bad}));
    let err = e.invoking_event().unwrap_err().to_string();
    assert!(
        err.contains("configurationItem.configuration") && err.contains("not JSON"),
        "{err}"
    );
}

#[test]
fn the_partition_comes_from_the_item_arn_else_the_rule_arn_never_the_region() {
    // An item without an ARN in a Region whose name says nothing: the rule's ARN decides.
    let mut item = change_item();
    item.as_object_mut().unwrap().remove("ARN");
    item["awsRegion"] = json!("eusc-de-east-1");
    let mut e = event(json!({"messageType": CHANGE, "configurationItem": item}));
    e.config_rule_arn =
        Some("arn:aws-eusc:config:eusc-de-east-1:111122223333:config-rule/config-rule-1".into());
    let InvokingEvent::Change { item } = e.invoking_event().unwrap() else {
        panic!()
    };
    assert_eq!(item.partition, Some(Partition::AwsEusc));
    // Neither ARN: unknown, not "aws".
    e.config_rule_arn = None;
    let InvokingEvent::Change { item } = e.invoking_event().unwrap() else {
        panic!()
    };
    assert_eq!(item.partition, None);
    assert!(item.scope().is_none());
    // The item's own ARN wins over the rule's.
    let mut item = change_item();
    item["ARN"] = json!("arn:aws-cn:kinesis:cn-north-1:111122223333:stream/orders-events");
    let mut e = event(json!({"messageType": CHANGE, "configurationItem": item}));
    e.config_rule_arn = Some("arn:aws:config:us-east-1:111122223333:config-rule/r".into());
    let InvokingEvent::Change { item } = e.invoking_event().unwrap() else {
        panic!()
    };
    assert_eq!(item.partition, Some(Partition::AwsCn));
}

#[test]
fn a_malformed_arn_is_an_error_naming_the_field() {
    let mut item = change_item();
    item["ARN"] = json!("arn:aws-moon:kinesis:us-east-1:111122223333:stream/s");
    let err = event(json!({"messageType": CHANGE, "configurationItem": item}))
        .invoking_event()
        .unwrap_err()
        .to_string();
    assert!(err.contains("configurationItem.ARN"), "{err}");
    assert!(err.contains("unknown partition"), "{err}");

    let mut item = change_item();
    item.as_object_mut().unwrap().remove("ARN");
    let mut e = event(json!({"messageType": CHANGE, "configurationItem": item}));
    e.config_rule_arn = Some("config-rule/r".into());
    let err = e.invoking_event().unwrap_err().to_string();
    assert!(err.contains("configRuleArn"), "{err}");
}
