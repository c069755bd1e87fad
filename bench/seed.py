"""Seeds the emulator for bench/run: N resources split over Kinesis streams, Secrets Manager
secrets (one in 100 replicated to us-west-2) and DynamoDB tables, using K customer-managed keys
and the AWS-managed keys, in the
default account and us-east-1 unless told otherwise. Prints a change-notification event for one
stream as JSON on stdout.

    python seed.py N K [--region R] [--account A] [--record]

`--account` seeds another account of the emulator (moto's `x-moto-account-id` header);
`--record` also starts a configuration recorder recording every type, so AWS Config's recorded
inventory holds the resources."""

import argparse
import json

import boto3

REGION = "us-east-1"
REPLICA_REGION = "us-west-2"


def clients(region: str, account: str | None, *services: str) -> list:
    made = []
    for service in services:
        client = boto3.client(service, region_name=region)
        if account:
            client.meta.events.register(
                "before-sign.*.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account))
        made.append(client)
    return made


def record(region: str, account: str | None) -> None:
    """A running recorder of every supported type (what the recorded sweep reads)."""
    (config,) = clients(region, account, "config")
    config.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": f"arn:aws:iam::{account or '123456789012'}:role/config",
        "recordingGroup": {"allSupported": True}})
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "config-bucket"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("k", type=int)
    ap.add_argument("--region", default=REGION)
    ap.add_argument("--account")
    ap.add_argument("--record", action="store_true")
    a = ap.parse_args()
    n, k, region = a.n, a.k, a.region
    kms, kinesis, sm, ddb = clients(region, a.account, "kms", "kinesis", "secretsmanager", "dynamodb")
    keys = [kms.create_key()["KeyMetadata"]["Arn"] for _ in range(k)]
    streams, secrets = n * 3 // 10, n * 4 // 10
    tables = n - streams - secrets
    for i in range(streams):
        kinesis.create_stream(StreamName=f"s{i:05}", ShardCount=1)
        if i % 3:
            kinesis.start_stream_encryption(StreamName=f"s{i:05}", EncryptionType="KMS", KeyId=keys[i % k])
    # One secret in 100 is replicated to another Region, on a customer-managed key there.
    replica_region = REPLICA_REGION if region != REPLICA_REGION else REGION
    (replica_kms,) = clients(replica_region, a.account, "kms")
    replica_key = replica_kms.create_key()["KeyMetadata"]["Arn"]
    for i in range(secrets):
        extra = {"KmsKeyId": keys[i % k]} if i % 2 else {}
        if i % 100 == 1:
            extra["AddReplicaRegions"] = [{"Region": replica_region, "KmsKeyId": replica_key}]
        sm.create_secret(Name=f"c{i:05}", SecretString="x", **extra)
    for i in range(tables):
        sse = {"SSESpecification": {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": keys[i % k]}} if i % 2 else {}
        ddb.create_table(TableName=f"t{i:05}", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], **sse)
    item = {
        "configurationItemCaptureTime": "2026-01-05T09:59:58.123Z", "awsAccountId": "123456789012",
        "configurationItemStatus": "OK", "resourceType": "AWS::Kinesis::Stream", "resourceId": "s00001",
        "awsRegion": region, "tags": {}, "relatedEvents": [], "relationships": [],
        "configuration": {"StreamEncryption": {"EncryptionType": "KMS", "KeyId": keys[1 % k]}},
    }
    print(json.dumps({
        "invokingEvent": json.dumps({"messageType": "ConfigurationItemChangeNotification", "configurationItem": item,
                                     "notificationCreationTime": "2026-01-05T10:00:00.000Z"}),
        "ruleParameters": "{}", "resultToken": "TESTMODE", "eventLeftScope": False,
        "accountId": "123456789012", "configRuleName": "cmk-required", "version": "1.0",
        "executionRoleArn": "arn:aws:iam::123456789012:role/config-role",
        "configRuleArn": f"arn:aws:config:{region}:123456789012:config-rule/config-rule-bench",
    }))
    if a.record:
        record(region, a.account)


if __name__ == "__main__":
    main()
