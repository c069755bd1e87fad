"""Seeds the emulator (default account, us-east-1) for bench/run: N resources split over
Kinesis streams, Secrets Manager secrets and DynamoDB tables, using K customer-managed keys and
the AWS-managed keys. Prints a change-notification event for one stream as JSON on stdout."""

import json
import sys

import boto3

REGION = "us-east-1"


def main() -> None:
    n, k = int(sys.argv[1]), int(sys.argv[2])
    kms, kinesis, sm, ddb = (boto3.client(s, region_name=REGION) for s in ("kms", "kinesis", "secretsmanager", "dynamodb"))
    keys = [kms.create_key()["KeyMetadata"]["Arn"] for _ in range(k)]
    streams, secrets = n * 3 // 10, n * 4 // 10
    tables = n - streams - secrets
    for i in range(streams):
        kinesis.create_stream(StreamName=f"s{i:05}", ShardCount=1)
        if i % 3:
            kinesis.start_stream_encryption(StreamName=f"s{i:05}", EncryptionType="KMS", KeyId=keys[i % k])
    for i in range(secrets):
        extra = {"KmsKeyId": keys[i % k]} if i % 2 else {}
        sm.create_secret(Name=f"c{i:05}", SecretString="x", **extra)
    for i in range(tables):
        sse = {"SSESpecification": {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": keys[i % k]}} if i % 2 else {}
        ddb.create_table(TableName=f"t{i:05}", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], **sse)
    item = {
        "configurationItemCaptureTime": "2026-01-05T09:59:58.123Z", "awsAccountId": "123456789012",
        "configurationItemStatus": "OK", "resourceType": "AWS::Kinesis::Stream", "resourceId": "s00001",
        "awsRegion": REGION, "tags": {}, "relatedEvents": [], "relationships": [],
        "configuration": {"StreamEncryption": {"EncryptionType": "KMS", "KeyId": keys[1 % k]}},
    }
    print(json.dumps({
        "invokingEvent": json.dumps({"messageType": "ConfigurationItemChangeNotification", "configurationItem": item,
                                     "notificationCreationTime": "2026-01-05T10:00:00.000Z"}),
        "ruleParameters": "{}", "resultToken": "TESTMODE", "eventLeftScope": False,
        "accountId": "123456789012", "configRuleName": "cmk-required", "version": "1.0",
        "executionRoleArn": "arn:aws:iam::123456789012:role/config-role",
        "configRuleArn": "arn:aws:config:us-east-1:123456789012:config-rule/config-rule-bench",
    }))


if __name__ == "__main__":
    main()
