//! Resources the tests create in an emulated account: keys, streams, secrets, tables, queues, topics
//! and buckets, each in the form the rule has to judge.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    SseSpecification, SseType,
};
use aws_sdk_kinesis::types::EncryptionType;

/// A new customer-managed key: `(key id, key ARN)`.
pub async fn cmk(sdk: &SdkConfig) -> (String, String) {
    let meta = aws_sdk_kms::Client::new(sdk)
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    (meta.key_id, meta.arn.unwrap())
}

/// The ARN of the AWS-managed key behind `alias` (`alias/aws/kinesis`, ...), checked to be
/// AWS-managed.
pub async fn aws_managed(sdk: &SdkConfig, alias: &str) -> String {
    let meta = aws_sdk_kms::Client::new(sdk)
        .describe_key()
        .key_id(alias)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(
        meta.key_manager.unwrap().as_str(),
        "AWS",
        "the launcher's patch makes {alias} AWS-managed"
    );
    meta.arn.unwrap()
}

/// A one-shard stream, encrypted with `key` (any reference form) when given.
pub async fn stream(sdk: &SdkConfig, name: &str, key: Option<&str>) {
    let kinesis = aws_sdk_kinesis::Client::new(sdk);
    kinesis
        .create_stream()
        .stream_name(name)
        .shard_count(1)
        .send()
        .await
        .unwrap();
    if let Some(key) = key {
        kinesis
            .start_stream_encryption()
            .stream_name(name)
            .encryption_type(EncryptionType::Kms)
            .key_id(key)
            .send()
            .await
            .unwrap();
    }
}

/// A secret on `key`, or on `aws/secretsmanager` without one; returns its ARN.
pub async fn secret(sdk: &SdkConfig, name: &str, key: Option<&str>) -> String {
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(name)
        .secret_string("s3cr3t")
        .set_kms_key_id(key.map(str::to_owned))
        .send()
        .await
        .unwrap()
        .arn
        .unwrap()
}

/// SSE-KMS on `key`, or on `aws/dynamodb` without one.
pub fn sse_kms(key: Option<&str>) -> SseSpecification {
    SseSpecification::builder()
        .enabled(true)
        .sse_type(SseType::Kms)
        .set_kms_master_key_id(key.map(str::to_owned))
        .build()
}

/// An on-demand table keyed by `pk`; `sse` `None` leaves it on the AWS-owned key.
pub async fn table(sdk: &SdkConfig, name: &str, sse: Option<SseSpecification>) {
    aws_sdk_dynamodb::Client::new(sdk)
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .set_sse_specification(sse)
        .send()
        .await
        .unwrap();
}

/// A queue with these attributes (`KmsMasterKeyId`, `SqsManagedSseEnabled`, ...; none leaves
/// it on SSE-SQS, the default); returns its URL.
pub async fn queue(
    sdk: &SdkConfig,
    name: &str,
    attributes: &[(aws_sdk_sqs::types::QueueAttributeName, &str)],
) -> String {
    let mut create = aws_sdk_sqs::Client::new(sdk)
        .create_queue()
        .queue_name(name);
    for (attribute, value) in attributes {
        create = create.attributes(attribute.clone(), *value);
    }
    create.send().await.unwrap().queue_url.unwrap()
}

/// A topic on `key` (any reference form), or unencrypted without one; returns its ARN.
pub async fn topic(sdk: &SdkConfig, name: &str, key: Option<&str>) -> String {
    let mut create = aws_sdk_sns::Client::new(sdk).create_topic().name(name);
    if let Some(key) = key {
        create = create.attributes("KmsMasterKeyId", key);
    }
    create.send().await.unwrap().topic_arn.unwrap()
}

/// An S3 client of `sdk`, addressing buckets path-style as the emulator's endpoint expects.
pub fn s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    )
}

/// A bucket in `sdk`'s Region; `default` sets its default encryption as PutBucketEncryption's
/// `(SSEAlgorithm, KMSMasterKeyID)` (`AES256`, `aws:kms` or `aws:kms:dsse`, any key form), with
/// bucket keys on; `None` leaves S3's own default.
pub async fn bucket(sdk: &SdkConfig, name: &str, default: Option<(&str, Option<&str>)>) {
    use aws_sdk_s3::types::{
        BucketLocationConstraint, CreateBucketConfiguration, ServerSideEncryption,
        ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    };
    let s3 = s3(sdk);
    let region = sdk.region().unwrap().as_ref();
    let mut create = s3.create_bucket().bucket(name);
    // us-east-1 takes no location constraint
    // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html).
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create.send().await.unwrap();
    let Some((algorithm, key)) = default else {
        return;
    };
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::from(algorithm))
        .set_kms_master_key_id(key.map(str::to_owned))
        .build()
        .unwrap();
    s3.put_bucket_encryption()
        .bucket(name)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(by_default)
                        .bucket_key_enabled(true)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// Starts a configuration recorder in `sdk`'s account and Region recording `types`, or every
/// supported type when `None` (the inventory the recorded sweep reads).
pub async fn record(sdk: &SdkConfig, types: Option<&[&str]>) {
    use aws_sdk_config::types::{
        ConfigurationRecorder, DeliveryChannel, RecordingGroup, ResourceType,
    };
    let config = aws_sdk_config::Client::new(sdk);
    let group = match types {
        None => RecordingGroup::builder().all_supported(true).build(),
        Some(types) => types
            .iter()
            .fold(RecordingGroup::builder().all_supported(false), |g, t| {
                g.resource_types(ResourceType::from(*t))
            })
            .build(),
    };
    let account = sdk_account(sdk).await;
    config
        .put_configuration_recorder()
        .configuration_recorder(
            ConfigurationRecorder::builder()
                .name("default")
                .role_arn(format!("arn:aws:iam::{account}:role/config"))
                .recording_group(group)
                .build(),
        )
        .send()
        .await
        .unwrap();
    config
        .put_delivery_channel()
        .delivery_channel(
            DeliveryChannel::builder()
                .name("default")
                .s3_bucket_name("config-bucket")
                .build(),
        )
        .send()
        .await
        .unwrap();
    config
        .start_configuration_recorder()
        .configuration_recorder_name("default")
        .send()
        .await
        .unwrap();
}

async fn sdk_account(sdk: &SdkConfig) -> String {
    aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .unwrap()
        .account
        .unwrap()
}
