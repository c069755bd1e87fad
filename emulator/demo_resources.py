"""Creates good and bad resources in the emulator for `scripts/demo` (boto3, default account)."""

import boto3
from botocore.config import Config

REGION = "us-east-1"


def client(service):
    # Endpoint and credentials come from AWS_ENDPOINT_URL / AWS_ACCESS_KEY_ID set by scripts/demo.
    return boto3.client(service, region_name=REGION)


def main() -> None:
    kms, kinesis, sm, ddb, sqs, sns = (client(s) for s in ("kms", "kinesis", "secretsmanager", "dynamodb", "sqs", "sns"))
    cmk = kms.create_key(Description="orders data")["KeyMetadata"]
    kms.create_alias(AliasName="alias/orders-data", TargetKeyId=cmk["KeyId"])
    disabled = kms.create_key(Description="retired")["KeyMetadata"]
    kms.disable_key(KeyId=disabled["KeyId"])
    aws_kinesis = kms.describe_key(KeyId="alias/aws/kinesis")["KeyMetadata"]["Arn"]
    aws_secrets = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]["Arn"]

    streams = {
        "clicks-plain": None,
        "clicks-aws-alias": "alias/aws/kinesis",
        "clicks-aws-key-arn": aws_kinesis,  # string checks call this a CMK
        "clicks-cmk": "alias/orders-data",
    }
    for name, key in streams.items():
        kinesis.create_stream(StreamName=name, ShardCount=1)
        if key:
            kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=key)

    secrets = {"db-default": None, "db-aws-key-arn": aws_secrets, "db-cmk": cmk["Arn"]}
    for name, key in secrets.items():
        extra = {"KmsKeyId": key} if key else {}
        sm.create_secret(Name=name, SecretString="s3cr3t", **extra)

    tables = {
        "orders-aws-owned": None,
        "orders-aws-managed": {"Enabled": True, "SSEType": "KMS"},
        "orders-cmk": {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": cmk["Arn"]},
        "orders-disabled-key": {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": disabled["Arn"]},
    }
    for name, sse in tables.items():
        extra = {"SSESpecification": sse} if sse else {}
        ddb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            **extra,
        )
    aws_sqs = kms.describe_key(KeyId="alias/aws/sqs")["KeyMetadata"]["Arn"]
    queues = {
        "jobs-sse-sqs": {},  # the default: SSE-SQS, the AWS-owned key
        "jobs-aws-key-arn": {"KmsMasterKeyId": aws_sqs},
        "jobs-cmk": {"KmsMasterKeyId": "alias/orders-data"},
    }
    for name, attributes in queues.items():
        sqs.create_queue(QueueName=name, Attributes=attributes)
    topics = {"alerts-plain": None, "alerts-aws-alias": "alias/aws/sns", "alerts-cmk": cmk["Arn"]}
    for name, key in topics.items():
        sns.create_topic(Name=name, Attributes={"KmsMasterKeyId": key} if key else {})
    s3 = boto3.client("s3", region_name=REGION, config=Config(s3={"addressing_style": "path"}))
    aws_s3 = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["Arn"]
    buckets = {
        "demo-reports-sse-s3": None,  # S3's default: SSE-S3, the AWS-owned key
        "demo-reports-aws-key-arn": ("aws:kms", aws_s3),
        "demo-reports-cmk": ("aws:kms", cmk["Arn"]),
        "demo-reports-dsse-cmk-alias": ("aws:kms:dsse", "alias/orders-data"),
    }
    for name, default in buckets.items():
        s3.create_bucket(Bucket=name)
        if default:
            algorithm, key = default
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": algorithm, "KMSMasterKeyID": key},
                "BucketKeyEnabled": True}]})
    print(f"created {len(streams)} streams, {len(secrets)} secrets, {len(tables)} tables, {len(queues)} queues, "
          f"{len(topics)} topics, {len(buckets)} buckets, 2 CMKs (one disabled)")


if __name__ == "__main__":
    main()
