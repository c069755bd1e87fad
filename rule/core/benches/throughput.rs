//! Core throughput: Config rule events (as Config sends them: JSON with the configuration item
//! inside a JSON string) parsed and evaluated per second on one core, with key answers cached
//! (the in-memory resolver stands in for the warm KMS cache). Goal: ≥ 200,000 per second.
//!
//! `cargo bench -p cmk-core --bench throughput`
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use cmk_core::key::{KeyFacts, KeyManager, KeyState, Rotation};
use cmk_core::{ConfigEvent, FakeKeys, InvokingEvent, RuleParams, evaluate};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

const CMK: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const AWS: &str = "arn:aws:kms:us-east-1:111122223333:key/2e407c32-9f5d-4da0-b031-8c4d5e6f7081";

fn event(resource_type: &str, configuration: serde_json::Value) -> Vec<u8> {
    let item = json!({
        "configurationItemCaptureTime": "2026-01-05T09:59:58.123Z", "awsAccountId": "111122223333",
        "configurationItemStatus": "OK", "resourceType": resource_type, "resourceId": "orders",
        "ARN": "arn:aws:kinesis:us-east-1:111122223333:stream/orders", "awsRegion": "us-east-1",
        "tags": {"team": "data"}, "relatedEvents": [], "relationships": [], "supplementaryConfiguration": {},
        "configurationItemVersion": "1.3", "configurationStateId": 1736071198123_u64,
        "configuration": configuration,
    });
    json!({
        "invokingEvent": json!({"messageType": "ConfigurationItemChangeNotification", "configurationItem": item,
                                "notificationCreationTime": "2026-01-05T10:00:00.000Z", "recordVersion": "1.3"}).to_string(),
        "ruleParameters": "{\"allowedKeyAccounts\":\"111122223333\"}",
        "resultToken": "token", "eventLeftScope": false, "accountId": "111122223333",
        "configRuleArn": "arn:aws:config:us-east-1:111122223333:config-rule/config-rule-abc",
        "configRuleName": "cmk-required", "version": "1.0",
    })
    .to_string()
    .into_bytes()
}

fn events() -> Vec<Vec<u8>> {
    vec![
        event(
            "AWS::Kinesis::Stream",
            json!({"StreamEncryption": {"EncryptionType": "KMS", "KeyId": CMK}}),
        ),
        event(
            "AWS::Kinesis::Stream",
            json!({"StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}}),
        ),
        event(
            "AWS::SecretsManager::Secret",
            json!({"Name": "db", "KMSKeyId": CMK}),
        ),
        event("AWS::SecretsManager::Secret", json!({"Name": "db"})),
        event(
            "AWS::DynamoDB::Table",
            json!({"tableName": "t", "tableStatus": "ACTIVE",
            "ssedescription": {"status": "ENABLED", "ssetype": "KMS", "kmsmasterKeyArn": CMK}}),
        ),
        event(
            "AWS::DynamoDB::Table",
            json!({"tableName": "t", "tableStatus": "ACTIVE",
            "ssedescription": {"status": "ENABLED", "ssetype": "KMS", "kmsmasterKeyArn": AWS}}),
        ),
    ]
}

fn keys() -> FakeKeys {
    let key = |arn: &str, manager| KeyFacts {
        arn: cmk_core::KeyArn::parse(arn).expect("a key ARN"),
        manager,
        state: KeyState::Enabled,
    };
    FakeKeys::default()
        .with_key(CMK, key(CMK, KeyManager::Customer), Rotation::Enabled)
        .with_key(AWS, key(AWS, KeyManager::Aws), Rotation::Enabled)
}

fn throughput(c: &mut Criterion) {
    let events = events();
    let keys = keys();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("core");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("parse_and_evaluate", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for bytes in &events {
                    let event = ConfigEvent::from_slice(black_box(bytes)).expect("event");
                    let params =
                        RuleParams::parse(event.rule_parameters.as_deref()).expect("params");
                    let Ok(InvokingEvent::Change { item }) = event.invoking_event() else {
                        panic!("change event");
                    };
                    black_box(evaluate(&item, &params, &keys).await.expect("verdict"));
                }
            });
        });
    });
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
