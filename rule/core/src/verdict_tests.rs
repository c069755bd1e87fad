//! Tests of the verdict table: states, allow-lists, rotation, exemptions, replicas.

use super::*;
use crate::event::ItemStatus;
use crate::key::{FakeError, FakeKeys, KeyFacts, KeyManager};
use crate::params::ExemptTag;
use crate::resources::test_support::item;
use serde_json::json;

const CMK: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const AWS_KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/0000aaaa-00aa-00aa-00aa-000000000000";

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn facts(arn: &str, manager: KeyManager, state: KeyState) -> KeyFacts {
    KeyFacts {
        arn: KeyArn::parse(arn).unwrap(),
        manager,
        state,
    }
}

fn keys() -> FakeKeys {
    FakeKeys::default()
        .with_key(
            CMK,
            facts(CMK, KeyManager::Customer, KeyState::Enabled),
            Rotation::Disabled,
        )
        .with_key(
            "alias/prod-data",
            facts(CMK, KeyManager::Customer, KeyState::Enabled),
            Rotation::Disabled,
        )
        .with_key(
            AWS_KEY,
            facts(AWS_KEY, KeyManager::Aws, KeyState::Enabled),
            Rotation::Enabled,
        )
}

fn stream(key: &str) -> ConfigItem {
    item(
        "AWS::Kinesis::Stream",
        json!({"StreamEncryption": {"EncryptionType": "KMS", "KeyId": key}}),
    )
}

fn verdict(item: &ConfigItem, params: &RuleParams, keys: &FakeKeys) -> Verdict {
    run(evaluate(item, params, keys)).unwrap()
}

#[test]
fn cmk_is_compliant_and_named() {
    let v = verdict(&stream(CMK), &RuleParams::default(), &keys());
    assert_eq!(v.compliance, Compliance::Compliant);
    assert!(v.annotation.unwrap().contains(CMK));
}

#[test]
fn aws_managed_key_by_arn_is_non_compliant() {
    let v = verdict(&stream(AWS_KEY), &RuleParams::default(), &keys());
    assert_eq!(v.compliance, Compliance::NonCompliant);
    let a = v.annotation.unwrap();
    assert!(
        a.contains("AWS-managed") && a.contains(AWS_KEY) && a.contains("Fix:"),
        "{a}"
    );
}

#[test]
fn unusable_states_are_non_compliant_and_say_the_state() {
    for state in [
        KeyState::Disabled,
        KeyState::PendingDeletion,
        KeyState::PendingReplicaDeletion,
        KeyState::PendingImport,
        KeyState::Unavailable,
    ] {
        let name = state.as_str().to_owned();
        let keys = FakeKeys::default().with_key(
            CMK,
            facts(CMK, KeyManager::Customer, state),
            Rotation::Enabled,
        );
        let v = verdict(&stream(CMK), &RuleParams::default(), &keys);
        assert_eq!(v.compliance, Compliance::NonCompliant, "{name}");
        assert!(v.annotation.unwrap().contains(&name));
    }
}

#[test]
fn unknown_key_state_is_undetermined() {
    let keys = FakeKeys::default().with_key(
        CMK,
        facts(CMK, KeyManager::Customer, KeyState::Other("Melting".into())),
        Rotation::Enabled,
    );
    let err = run(evaluate(&stream(CMK), &RuleParams::default(), &keys)).unwrap_err();
    assert!(matches!(err, EvalError::Undetermined(_)), "{err}");
}

#[test]
fn deleted_and_unrecorded_items_are_not_applicable_without_reading_configuration() {
    for status in [
        ItemStatus::ResourceDeleted,
        ItemStatus::ResourceNotRecorded,
        ItemStatus::ResourceDeletedNotRecorded,
    ] {
        let mut it = stream("garbage that would not parse");
        it.status = status;
        it.configuration = None;
        assert_eq!(
            verdict(&it, &RuleParams::default(), &keys()).compliance,
            Compliance::NotApplicable
        );
    }
}

#[test]
fn other_resource_types_are_not_applicable() {
    let it = item("AWS::EC2::Volume", json!({}));
    assert_eq!(
        verdict(&it, &RuleParams::default(), &keys()).compliance,
        Compliance::NotApplicable
    );
}

#[test]
fn exempt_tag_matches_key_or_key_and_value() {
    let mut it = stream("alias/aws/kinesis");
    it.tags.insert("cmk-exempt".into(), "approved".into());
    let by_key = RuleParams {
        exempt_tag: Some(ExemptTag {
            key: "cmk-exempt".into(),
            value: None,
        }),
        ..RuleParams::default()
    };
    let v = verdict(&it, &by_key, &keys());
    assert_eq!(v.compliance, Compliance::NotApplicable);
    assert!(v.annotation.unwrap().contains("cmk-exempt"));
    let wrong_value = RuleParams {
        exempt_tag: Some(ExemptTag {
            key: "cmk-exempt".into(),
            value: Some("no".into()),
        }),
        ..RuleParams::default()
    };
    assert_eq!(
        verdict(&it, &wrong_value, &keys()).compliance,
        Compliance::NonCompliant
    );
}

#[test]
fn allow_list_matches_by_alias_resolution_and_by_arn() {
    let by_alias = RuleParams {
        allowed_keys: vec![KeyRef::parse("alias/prod-data").unwrap()],
        ..RuleParams::default()
    };
    assert_eq!(
        verdict(&stream(CMK), &by_alias, &keys()).compliance,
        Compliance::Compliant
    );
    let by_arn = RuleParams {
        allowed_keys: vec![KeyRef::parse(CMK).unwrap()],
        ..RuleParams::default()
    };
    assert_eq!(
        verdict(&stream("alias/prod-data"), &by_arn, &keys()).compliance,
        Compliance::Compliant
    );
    let other = RuleParams {
        allowed_keys: vec![
            KeyRef::parse(
                "arn:aws:kms:us-east-1:111122223333:key/ffffffff-12ab-34cd-56ef-1234567890ab",
            )
            .unwrap(),
        ],
        ..RuleParams::default()
    };
    let v = verdict(&stream(CMK), &other, &keys());
    assert_eq!(v.compliance, Compliance::NonCompliant);
    assert!(v.annotation.unwrap().contains("allowedKeyArns"));
}

#[test]
fn allow_list_by_account() {
    let params = RuleParams {
        allowed_accounts: ["444455556666".to_owned()].into(),
        ..RuleParams::default()
    };
    let v = verdict(&stream(CMK), &params, &keys());
    assert_eq!(v.compliance, Compliance::NonCompliant);
    assert!(v.annotation.unwrap().contains("111122223333"));
    let foreign = "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let keys = FakeKeys::default().with_error(foreign, FakeError::AccessDenied);
    let v = verdict(&stream(foreign), &params, &keys);
    assert_eq!(v.compliance, Compliance::Compliant);
    assert!(v.annotation.unwrap().contains("unverified"));
}

#[test]
fn rotation_is_checked_only_when_required() {
    let params = RuleParams {
        require_rotation: true,
        ..RuleParams::default()
    };
    let v = verdict(&stream(CMK), &params, &keys());
    assert_eq!(v.compliance, Compliance::NonCompliant);
    assert!(v.annotation.unwrap().contains("rotation"));
    let rotating = FakeKeys::default().with_key(
        CMK,
        facts(CMK, KeyManager::Customer, KeyState::Enabled),
        Rotation::Enabled,
    );
    assert_eq!(
        verdict(&stream(CMK), &params, &rotating).compliance,
        Compliance::Compliant
    );
    let calls_before = rotating.calls();
    verdict(&stream(CMK), &RuleParams::default(), &rotating);
    assert_eq!(
        rotating.calls(),
        calls_before + 1,
        "no rotation call without requireKeyRotation"
    );
}

#[test]
fn dynamodb_replica_on_default_key_fails_the_table() {
    let it = item(
        "AWS::DynamoDB::Table",
        json!({"ssedescription": {"ssetype": "KMS", "status": "ENABLED", "kmsmasterKeyArn": CMK},
               "replicas": [{"regionName": "eu-west-1"}]}),
    );
    let v = verdict(&it, &RuleParams::default(), &keys());
    assert_eq!(v.compliance, Compliance::NonCompliant);
    let a = v.annotation.unwrap();
    assert!(
        a.contains("replica eu-west-1") && a.contains("alias/aws/dynamodb"),
        "{a}"
    );
}

#[test]
fn dynamodb_inaccessible_key_is_non_compliant_even_with_a_cmk() {
    let it = item(
        "AWS::DynamoDB::Table",
        json!({"tableStatus": "INACCESSIBLE_ENCRYPTION_CREDENTIALS",
               "ssedescription": {"ssetype": "KMS", "status": "ENABLED", "kmsmasterKeyArn": CMK}}),
    );
    assert_eq!(
        verdict(&it, &RuleParams::default(), &keys()).compliance,
        Compliance::NonCompliant
    );
}

#[test]
fn region_mismatch_is_reported_on_a_compliant_key() {
    let eu = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let keys = FakeKeys::default().with_key(
        eu,
        facts(eu, KeyManager::Customer, KeyState::Enabled),
        Rotation::Enabled,
    );
    let v = verdict(&stream(eu), &RuleParams::default(), &keys);
    assert!(v.annotation.unwrap().contains("differs"));
}

#[test]
fn malformed_configuration_is_an_error_not_a_verdict() {
    let it = item(
        "AWS::Kinesis::Stream",
        json!({"StreamEncryption": {"EncryptionType": "KMS", "KeyId": 7}}),
    );
    let err = run(evaluate(&it, &RuleParams::default(), &keys())).unwrap_err();
    assert!(matches!(err, EvalError::Malformed(_)));
    assert!(
        err.to_string()
            .contains("configuration.StreamEncryption.KeyId"),
        "{err}"
    );
}

#[test]
fn an_allowed_multi_region_key_admits_its_replicas_in_other_regions() {
    const PRIMARY: &str =
        "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab";
    const REPLICA: &str =
        "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab";
    const OTHER_ACCOUNT: &str =
        "arn:aws:kms:eu-west-1:444455556666:key/mrk-1234abcd12ab34cd56ef1234567890ab";
    let mrk = FakeKeys::default()
        .with_key(
            REPLICA,
            facts(REPLICA, KeyManager::Customer, KeyState::Enabled),
            Rotation::Enabled,
        )
        .with_key(
            OTHER_ACCOUNT,
            facts(OTHER_ACCOUNT, KeyManager::Customer, KeyState::Enabled),
            Rotation::Enabled,
        );
    let params = RuleParams {
        allowed_keys: vec![KeyRef::parse(PRIMARY).unwrap()],
        ..RuleParams::default()
    };
    assert_eq!(
        verdict(&stream(REPLICA), &params, &mrk).compliance,
        Compliance::Compliant
    );
    assert_eq!(
        verdict(&stream(OTHER_ACCOUNT), &params, &mrk).compliance,
        Compliance::NonCompliant,
        "same id in another account is another key"
    );
    // A single-Region key's id is unique per Region: no such widening.
    let single = RuleParams {
        allowed_keys: vec![
            KeyRef::parse(
                "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            )
            .unwrap(),
        ],
        ..RuleParams::default()
    };
    assert_eq!(
        verdict(&stream(CMK), &single, &keys()).compliance,
        Compliance::NonCompliant
    );
}

#[test]
fn key_ids_resolve_in_the_resource_partition_and_are_never_given_a_guessed_one() {
    use crate::arn::Partition;
    const GOV_CMK: &str =
        "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let gov = ArnScope {
        partition: Partition::AwsUsGov,
        region: "us-gov-west-1".into(),
        account: "111122223333".into(),
    };
    let gov_keys = FakeKeys::at(gov).with_key(
        GOV_CMK,
        facts(GOV_CMK, KeyManager::Customer, KeyState::Enabled),
        Rotation::Enabled,
    );
    let mut item = stream("1234abcd-12ab-34cd-56ef-1234567890ab");
    item.region = "us-gov-west-1".into();
    item.partition = Some(Partition::AwsUsGov);
    let v = verdict(&item, &RuleParams::default(), &gov_keys);
    assert_eq!(v.compliance, Compliance::Compliant, "{v:?}");
    assert!(v.annotation.unwrap().contains(GOV_CMK));

    // The same key id looked up in the commercial partition is another key: the fake, which
    // matches by qualified ARN, has no answer for it.
    item.partition = Some(Partition::Aws);
    let err = run(evaluate(&item, &RuleParams::default(), &gov_keys)).unwrap_err();
    assert!(
        err.to_string().contains("arn:aws:kms:us-gov-west-1"),
        "{err}"
    );

    // No partition known: a key ARN carries its own; a key id is not resolved at all.
    item.partition = None;
    let by_arn = stream(GOV_CMK);
    let by_arn = ConfigItem {
        partition: None,
        region: "us-gov-west-1".into(),
        ..by_arn
    };
    let v = verdict(&by_arn, &RuleParams::default(), &gov_keys);
    assert_eq!(v.compliance, Compliance::Compliant, "{v:?}");
    let err = run(evaluate(&item, &RuleParams::default(), &gov_keys)).unwrap_err();
    assert!(err.to_string().contains("partition is unknown"), "{err}");
    assert!(!err.is_retryable());
    // An AWS-managed alias needs no partition to be judged.
    let aws_alias = ConfigItem {
        partition: None,
        ..stream("alias/aws/kinesis")
    };
    let v = verdict(&aws_alias, &RuleParams::default(), &FakeKeys::default());
    assert_eq!(v.compliance, Compliance::NonCompliant);
}
