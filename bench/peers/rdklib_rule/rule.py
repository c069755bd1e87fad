"""The peer: the same check written the usual way, as an rdklib rule (Python, boto3).

Change notifications: one kms:DescribeKey. Periodic: list every stream, secret and table,
describe each, one kms:DescribeKey per distinct key of the invocation (a dict, as a competent
author would keep), and let rdklib put the evaluations. Like most such rules it reads no secret
replicas. Kept small and faithful to how such rules are written; used only by bench/run to compare
process start to verdict, wall time, API calls and memory with cmk-guardrails.
"""

from rdklib import ComplianceType, ConfigRule, Evaluation

AWS_ALIASES = ("alias/aws/",)


def key_of(resource_type, configuration):
    if resource_type == "AWS::Kinesis::Stream":
        enc = configuration.get("StreamEncryption") or {}
        return enc.get("KeyId") if enc.get("EncryptionType") == "KMS" else None
    if resource_type == "AWS::SecretsManager::Secret":
        return configuration.get("KMSKeyId") or configuration.get("KmsKeyId") or "alias/aws/secretsmanager"
    if resource_type == "AWS::DynamoDB::Table":
        sse = configuration.get("ssedescription") or configuration.get("SSEDescription") or {}
        return sse.get("kmsmasterKeyArn") or sse.get("KMSMasterKeyArn")
    return None


def verdict(kms, key, described):
    """`described`: DescribeKey answers of this invocation, by reference."""
    if not key:
        return ComplianceType.NON_COMPLIANT, "not encrypted with a KMS key"
    if key.startswith(AWS_ALIASES) or ":alias/aws/" in key:
        return ComplianceType.NON_COMPLIANT, f"AWS-managed key {key}"
    if key not in described:
        described[key] = kms.describe_key(KeyId=key)["KeyMetadata"]
    meta = described[key]
    if meta["KeyManager"] != "CUSTOMER":
        return ComplianceType.NON_COMPLIANT, f"AWS-managed key {meta['Arn']}"
    if meta["KeyState"] != "Enabled":
        return ComplianceType.NON_COMPLIANT, f"key {meta['Arn']} is {meta['KeyState']}"
    return ComplianceType.COMPLIANT, f"customer-managed key {meta['Arn']}"


class CmkRule(ConfigRule):
    # Keep earlier evaluations (cleaning them up calls GetComplianceDetailsByConfigRule, which the
    # emulator does not implement); cmk-guardrails does not clean up either.
    delete_old_evaluations_on_scheduled_notification = False

    def evaluate_change(self, event, client_factory, configuration_item, valid_rule_parameters):
        kms = client_factory.build_client("kms")
        key = key_of(configuration_item["resourceType"], configuration_item.get("configuration") or {})
        compliance, annotation = verdict(kms, key, {})
        return [Evaluation(compliance, annotation=annotation)]

    def evaluate_periodic(self, event, client_factory, valid_rule_parameters):
        kms = client_factory.build_client("kms")
        described = {}
        out = []
        kinesis = client_factory.build_client("kinesis")
        names, start = [], {}
        while True:  # HasMoreStreams + ExclusiveStartStreamName: the emulator returns no NextToken
            page = kinesis.list_streams(Limit=100, **start)
            names += page["StreamNames"]
            if not page.get("HasMoreStreams") or not page["StreamNames"]:
                break
            start = {"ExclusiveStartStreamName": page["StreamNames"][-1]}
        for name in names:
            s = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
            key = s.get("KeyId") if s.get("EncryptionType") == "KMS" else None
            c, a = verdict(kms, key, described)
            out.append(Evaluation(c, name, "AWS::Kinesis::Stream", annotation=a))
        secrets = client_factory.build_client("secretsmanager")
        for page in secrets.get_paginator("list_secrets").paginate():
            for s in page["SecretList"]:
                c, a = verdict(kms, s.get("KmsKeyId") or "alias/aws/secretsmanager", described)
                out.append(Evaluation(c, s["ARN"], "AWS::SecretsManager::Secret", annotation=a))
        ddb = client_factory.build_client("dynamodb")
        for page in ddb.get_paginator("list_tables").paginate():
            for name in page["TableNames"]:
                t = ddb.describe_table(TableName=name)["Table"]
                c, a = verdict(kms, (t.get("SSEDescription") or {}).get("KMSMasterKeyArn"), described)
                out.append(Evaluation(c, name, "AWS::DynamoDB::Table", annotation=a))
        return out
