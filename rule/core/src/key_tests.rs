//! Tests of key references, the fake resolver and the customer-managed classification.

use super::*;

const ACCOUNT: &str = "111122223333";
const CMK_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
const AWS_ID: &str = "0000aaaa-00aa-00aa-00aa-000000000000";

fn scope() -> ArnScope {
    ArnScope {
        partition: Partition::Aws,
        region: "us-east-1".into(),
        account: ACCOUNT.into(),
    }
}

fn arn(id: &str) -> String {
    format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{id}")
}

fn key_arn(id: &str) -> KeyArn {
    KeyArn::new(&scope(), id)
}

fn facts(id: &str, manager: KeyManager) -> KeyFacts {
    KeyFacts {
        arn: key_arn(id),
        manager,
        state: KeyState::Enabled,
    }
}

fn run<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn parses_every_reference_form() {
    assert_eq!(KeyRef::parse(CMK_ID).unwrap(), KeyRef::KeyId(CMK_ID.into()));
    assert_eq!(
        KeyRef::parse("mrk-1234abcd12ab34cd56ef1234567890ab").unwrap(),
        KeyRef::KeyId("mrk-1234abcd12ab34cd56ef1234567890ab".into())
    );
    assert_eq!(
        KeyRef::parse("alias/prod-data").unwrap(),
        KeyRef::AliasName("alias/prod-data".into())
    );
    let key_arn = KeyRef::parse(&arn(CMK_ID)).unwrap();
    assert_eq!(key_arn.key_id(), Some(CMK_ID));
    assert_eq!(key_arn.scope().unwrap().account, ACCOUNT);
    let gov =
        KeyRef::parse("arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/aws/kinesis").unwrap();
    assert_eq!(gov.scope().unwrap().partition, Partition::AwsUsGov);
    assert!(gov.is_aws_managed_alias());
}

#[test]
fn display_round_trips() {
    for text in [
        CMK_ID,
        "alias/prod-data",
        "arn:aws:kms:us-east-1:111122223333:alias/aws/secretsmanager",
        "arn:aws-cn:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ] {
        assert_eq!(KeyRef::parse(text).unwrap().to_string(), text);
    }
}

#[test]
fn rejects_what_is_not_a_key() {
    for text in [
        "",
        "alias/",
        "alias/has space",
        "arn:aws:s3:::bucket",
        "arn:aws:kms:us-east-1:1111:key/x",
        "arn:aws:kms::111122223333:key/x",
        "arn:aws:kms:us-east-1:111122223333:grant/x",
        "arn:aws:kms:us-east-1:111122223333",
        "key id with spaces",
        "x:y",
    ] {
        assert!(KeyRef::parse(text).is_err(), "{text:?} parsed");
    }
}

#[test]
fn customer_alias_that_contains_aws_is_not_aws_managed() {
    // Checkov's substring check fails this one; only the reserved prefix counts.
    assert!(
        !KeyRef::parse("alias/myaws/x")
            .unwrap()
            .is_aws_managed_alias()
    );
    assert!(
        !KeyRef::parse("alias/aws-data")
            .unwrap()
            .is_aws_managed_alias()
    );
}

#[test]
fn qualified_puts_ids_and_names_in_the_resource_scope() {
    assert_eq!(
        KeyRef::KeyId(CMK_ID.into()).qualified(&scope()),
        arn(CMK_ID)
    );
    assert_eq!(
        KeyRef::AliasName("alias/x".into()).qualified(&scope()),
        "arn:aws:kms:us-east-1:111122223333:alias/x"
    );
}

#[test]
fn aws_alias_is_aws_managed_without_any_call() {
    let keys = FakeKeys::default();
    for text in [
        "alias/aws/kinesis",
        "arn:aws:kms:us-east-1:111122223333:alias/aws/kinesis",
    ] {
        let class = run(classify(
            &keys,
            &KeyRef::parse(text).unwrap(),
            Service::Kinesis,
            &scope(),
        ))
        .unwrap();
        assert!(matches!(class, KeyClass::AwsManaged { .. }), "{text}");
    }
    assert_eq!(keys.calls(), 0);
}

#[test]
fn aws_managed_key_by_arn_is_aws_managed() {
    let keys = FakeKeys::default().with_key(
        &arn(AWS_ID),
        facts(AWS_ID, KeyManager::Aws),
        Rotation::Enabled,
    );
    let class = run(classify(
        &keys,
        &KeyRef::parse(&arn(AWS_ID)).unwrap(),
        Service::DynamoDb,
        &scope(),
    ))
    .unwrap();
    assert_eq!(class, KeyClass::AwsManaged { shown: arn(AWS_ID) });
}

#[test]
fn aws_managed_key_by_id_is_found_through_its_qualified_arn() {
    let keys = FakeKeys::default().with_key(
        &arn(AWS_ID),
        facts(AWS_ID, KeyManager::Aws),
        Rotation::Enabled,
    );
    let class = run(classify(
        &keys,
        &KeyRef::KeyId(AWS_ID.into()),
        Service::SecretsManager,
        &scope(),
    ))
    .unwrap();
    assert!(matches!(class, KeyClass::AwsManaged { .. }));
}

#[test]
fn not_found_is_reported() {
    let keys = FakeKeys::default().with_error("alias/gone", FakeError::NotFound);
    let class = run(classify(
        &keys,
        &KeyRef::parse("alias/gone").unwrap(),
        Service::Kinesis,
        &scope(),
    ))
    .unwrap();
    assert_eq!(class, KeyClass::NotFound);
}

#[test]
fn cross_account_key_denied_is_customer_managed() {
    let foreign = "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let keys = FakeKeys::default().with_error(foreign, FakeError::AccessDenied);
    let class = run(classify(
        &keys,
        &KeyRef::parse(foreign).unwrap(),
        Service::Kinesis,
        &scope(),
    ))
    .unwrap();
    let KeyClass::Customer(c) = class else {
        panic!("{class:?}")
    };
    assert!(c.facts.is_none());
    assert_eq!(keys.calls(), 1, "no elimination lookup for a foreign key");
}

#[test]
fn same_account_denied_key_is_decided_by_elimination() {
    let aws = facts(AWS_ID, KeyManager::Aws);
    let keys = FakeKeys::default()
        .with_error(&arn(CMK_ID), FakeError::AccessDenied)
        .with_error(&arn(AWS_ID), FakeError::AccessDenied)
        .with_key("alias/aws/dynamodb", aws, Rotation::Enabled);
    let cmk = run(classify(
        &keys,
        &KeyRef::parse(&arn(CMK_ID)).unwrap(),
        Service::DynamoDb,
        &scope(),
    ))
    .unwrap();
    assert!(
        matches!(cmk, KeyClass::Customer(CustomerKey { facts: None, .. })),
        "{cmk:?}"
    );
    let managed = run(classify(
        &keys,
        &KeyRef::parse(&arn(AWS_ID)).unwrap(),
        Service::DynamoDb,
        &scope(),
    ))
    .unwrap();
    assert!(
        matches!(managed, KeyClass::AwsManaged { .. }),
        "{managed:?}"
    );
}

#[test]
fn service_key_that_does_not_exist_eliminates_nothing_else() {
    let keys = FakeKeys::default()
        .with_error(CMK_ID, FakeError::AccessDenied)
        .with_error("alias/aws/kinesis", FakeError::NotFound);
    let class = run(classify(
        &keys,
        &KeyRef::KeyId(CMK_ID.into()),
        Service::Kinesis,
        &scope(),
    ))
    .unwrap();
    assert!(matches!(class, KeyClass::Customer(_)));
}

#[test]
fn denied_everywhere_is_unclassified_never_guessed() {
    let keys = FakeKeys::default()
        .with_error(CMK_ID, FakeError::AccessDenied)
        .with_error("alias/aws/kinesis", FakeError::AccessDenied);
    let err = run(classify(
        &keys,
        &KeyRef::KeyId(CMK_ID.into()),
        Service::Kinesis,
        &scope(),
    ))
    .unwrap_err();
    assert_eq!(err.key, CMK_ID);
    assert!(err.reason.contains("alias/aws/kinesis"), "{}", err.reason);
}

#[test]
fn throttled_is_unclassified_even_cross_account() {
    let foreign = "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let keys = FakeKeys::default().with_error(foreign, FakeError::Throttled);
    assert!(
        run(classify(
            &keys,
            &KeyRef::parse(foreign).unwrap(),
            Service::Kinesis,
            &scope()
        ))
        .is_err()
    );
}

#[test]
fn key_state_spellings_round_trip() {
    for s in [
        "Creating",
        "Enabled",
        "Disabled",
        "PendingDeletion",
        "PendingImport",
        "PendingReplicaDeletion",
        "Unavailable",
        "Updating",
        "Brand-new",
    ] {
        assert_eq!(KeyState::parse(s).as_str(), s);
    }
    assert!(KeyState::PendingDeletion.is_unusable());
    assert!(!KeyState::Updating.is_unusable());
}

#[test]
fn the_fake_answers_by_qualified_arn_only() {
    let keys = FakeKeys::default().with_key(
        "alias/prod",
        facts(CMK_ID, KeyManager::Customer),
        Rotation::Enabled,
    );
    let lookup = |key: &str, region: &str| {
        let scope = ArnScope {
            region: region.into(),
            ..scope()
        };
        run(keys.describe(&KeyLookup::new(KeyRef::parse(key).unwrap(), &scope)))
    };
    // The alias name, its alias ARN, and the key's own ARN all find the key in its home Region.
    assert!(lookup("alias/prod", "us-east-1").is_ok());
    assert!(lookup("arn:aws:kms:us-east-1:111122223333:alias/prod", "eu-west-1").is_ok());
    assert!(lookup(&arn(CMK_ID), "eu-west-1").is_ok());
    // The same alias name in another Region, account or partition is another alias.
    let err = lookup("alias/prod", "eu-west-1").unwrap_err();
    assert!(
        err.to_string()
            .contains("arn:aws:kms:eu-west-1:111122223333:alias/prod"),
        "{err}"
    );
    assert!(lookup("arn:aws:kms:us-east-1:444455556666:alias/prod", "us-east-1").is_err());
    assert!(
        lookup(
            "arn:aws-cn:kms:us-east-1:111122223333:alias/prod",
            "us-east-1"
        )
        .is_err()
    );
}
