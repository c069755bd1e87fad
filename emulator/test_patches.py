"""One test per moto patch (patches.py), against a real patched server and boto3."""

from __future__ import annotations

import json
import os
import re
import sys

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server as emulator_server  # noqa: E402

REGION = "us-east-1"


@pytest.fixture(scope="module")
def endpoint():
    """The emulator as the tests and the bench run it (server.py)."""
    server, port = emulator_server.start("127.0.0.1", 0)
    yield f"http://127.0.0.1:{port}"
    server.close()


def test_connections_stay_open_between_calls(endpoint):
    """AWS endpoints keep HTTP/1.1 connections open for the next request (the SDKs pool them);
    moto's werkzeug server closed every one."""
    import http.client
    import urllib.parse

    host = urllib.parse.urlparse(endpoint)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    for _ in range(2):
        conn.request("POST", "/", body="{}", headers={
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, "
                             "SignedHeaders=host, Signature=0"})
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read()) == {"TableNames": []}
        assert (response.getheader("Connection") or "").lower() != "close"
    conn.close()


def client(endpoint: str, service: str, account: str | None = None, region: str = REGION, validation: bool = True):
    config = Config(parameter_validation=validation)
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    if account is None:
        return session.client(service, endpoint_url=endpoint, config=config)
    # The role must exist (assume_role_trust): create it in that account through moto's
    # x-moto-account-id header, then assume it.
    iam = session.client("iam", endpoint_url=endpoint)
    iam.meta.events.register("before-sign.iam.CreateRole",
                             lambda request, **_: request.headers.__setitem__("x-moto-account-id", account))
    try:
        iam.create_role(RoleName="test", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "*"}}]}))
    except ClientError as e:
        if e.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
    sts = session.client("sts", endpoint_url=endpoint)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/test", RoleSessionName="patch-test")["Credentials"]
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        config=config,
    )


def test_aws_managed_aliases_report_aws_key_manager(endpoint):
    kms = client(endpoint, "kms", "210000000001")
    for alias in ("alias/aws/kinesis", "alias/aws/secretsmanager", "alias/aws/dynamodb", "alias/aws/sqs",
                  "alias/aws/sns", "alias/aws/s3"):
        meta = kms.describe_key(KeyId=alias)["KeyMetadata"]
        assert meta["KeyManager"] == "AWS", alias
        # The same key by ARN is still AWS-managed: strings cannot tell, DescribeKey can.
        assert kms.describe_key(KeyId=meta["Arn"])["KeyMetadata"]["KeyManager"] == "AWS"
        assert kms.get_key_rotation_status(KeyId=meta["Arn"])["KeyRotationEnabled"] is True
    cmk = kms.create_key()["KeyMetadata"]
    assert cmk["KeyManager"] == "CUSTOMER"
    with pytest.raises(ClientError) as refused:
        kms.create_alias(AliasName="alias/aws/custom", TargetKeyId=cmk["KeyId"])
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"


def test_dynamodb_default_sse_key_is_aws_managed(endpoint):
    ddb = client(endpoint, "dynamodb", "210000000006")
    ddb.create_table(
        TableName="t", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        SSESpecification={"Enabled": True, "SSEType": "KMS"},
    )
    arn = ddb.describe_table(TableName="t")["Table"]["SSEDescription"]["KMSMasterKeyArn"]
    kms = client(endpoint, "kms", "210000000006")
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyManager"] == "AWS"
    assert kms.describe_key(KeyId="alias/aws/dynamodb")["KeyMetadata"]["Arn"] == arn


def test_cross_account_key_follows_the_owners_key_policy(endpoint):
    owner, caller = "210000000002", "210000000003"
    owner_kms = client(endpoint, "kms", owner)
    private = owner_kms.create_key()["KeyMetadata"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{owner}:root"}, "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{caller}:root"},
             "Action": ["kms:DescribeKey", "kms:GetKeyRotationStatus"], "Resource": "*"},
        ],
    }
    shared = owner_kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]
    owner_kms.disable_key(KeyId=shared["KeyId"])
    caller_kms = client(endpoint, "kms", caller)
    with pytest.raises(ClientError) as denied:
        caller_kms.describe_key(KeyId=private["Arn"])
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    meta = caller_kms.describe_key(KeyId=shared["Arn"])["KeyMetadata"]
    assert meta["Arn"] == shared["Arn"] and meta["KeyState"] == "Disabled"
    assert caller_kms.get_key_rotation_status(KeyId=shared["Arn"])["KeyRotationEnabled"] is False
    owner_kms.create_alias(AliasName="alias/shared", TargetKeyId=shared["KeyId"])
    by_alias = caller_kms.describe_key(KeyId=f"arn:aws:kms:{REGION}:{owner}:alias/shared")["KeyMetadata"]
    assert by_alias["Arn"] == shared["Arn"]
    with pytest.raises(ClientError) as aws_key:
        caller_kms.describe_key(KeyId=f"arn:aws:kms:{REGION}:{owner}:alias/aws/kinesis")
    assert aws_key.value.response["Error"]["Code"] == "AccessDeniedException"
    # A key id of the caller's own account is still looked up in its own account.
    with pytest.raises(ClientError) as missing:
        caller_kms.describe_key(KeyId=shared["KeyId"])
    assert missing.value.response["Error"]["Code"] == "NotFoundException"


def test_put_evaluations_are_recorded_and_read_back(endpoint):
    config = client(endpoint, "config", "210000000004")
    evaluation = {
        "ComplianceResourceType": "AWS::Kinesis::Stream",
        "ComplianceResourceId": "orders",
        "ComplianceType": "NON_COMPLIANT",
        "Annotation": "stream is not encrypted",
        "OrderingTimestamp": 1767607198.123,
    }
    assert config.put_evaluations(Evaluations=[evaluation], ResultToken="rule-a")["FailedEvaluations"] == []
    config.put_evaluations(Evaluations=[{**evaluation, "ComplianceResourceId": "test"}], ResultToken="t", TestMode=True)
    results = config.get_compliance_details_by_resource(ResourceType="AWS::Kinesis::Stream", ResourceId="orders")["EvaluationResults"]
    assert len(results) == 1
    assert results[0]["ComplianceType"] == "NON_COMPLIANT"
    assert results[0]["Annotation"] == "stream is not encrypted"
    assert results[0]["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ConfigRuleName"] == "rule-a"
    assert config.get_compliance_details_by_resource(ResourceType="AWS::Kinesis::Stream", ResourceId="test")["EvaluationResults"] == []
    # Without client-side validation, so the server's own checks are what is tested.
    unchecked = client(endpoint, "config", "210000000004", validation=False)
    for broken in ({**evaluation, "ComplianceType": "INSUFFICIENT_DATA"}, {**evaluation, "Annotation": "x" * 257},
                   {k: v for k, v in evaluation.items() if k != "OrderingTimestamp"}):
        with pytest.raises(ClientError) as bad:
            unchecked.put_evaluations(Evaluations=[broken], ResultToken="rule-a")
        assert bad.value.response["Error"]["Code"] == "InvalidParameterValueException", broken


def test_compliance_details_by_config_rule_page_and_filter(endpoint):
    config = client(endpoint, "config", "210000000006")
    base = {"ComplianceResourceType": "AWS::Kinesis::Stream", "OrderingTimestamp": 1767607198.123}
    for start in range(0, 130, 100):
        batch = [{**base, "ComplianceResourceId": f"s{i:03}",
                  "ComplianceType": "COMPLIANT" if i % 2 else "NON_COMPLIANT"} for i in range(start, min(start + 100, 130))]
        config.put_evaluations(Evaluations=batch, ResultToken="rule-b")
    config.put_evaluations(Evaluations=[{**base, "ComplianceResourceId": "other", "ComplianceType": "COMPLIANT"}],
                           ResultToken="rule-c")
    first = config.get_compliance_details_by_config_rule(ConfigRuleName="rule-b")
    assert len(first["EvaluationResults"]) == 10, "the default Limit is 10"
    seen, token = [], None
    while True:
        page = config.get_compliance_details_by_config_rule(
            ConfigRuleName="rule-b", Limit=100, **({"NextToken": token} if token else {}))
        assert len(page["EvaluationResults"]) <= 100
        seen += [r["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ResourceId"] for r in page["EvaluationResults"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == [f"s{i:03}" for i in range(130)]
    failing = config.get_compliance_details_by_config_rule(ConfigRuleName="rule-b", ComplianceTypes=["NON_COMPLIANT"], Limit=100)
    assert len(failing["EvaluationResults"]) == 65 and "NextToken" not in failing
    unchecked = client(endpoint, "config", "210000000006", validation=False)
    for kwargs, code in (({"ConfigRuleName": "rule-b", "Limit": 101}, "InvalidParameterValueException"),
                         ({"ConfigRuleName": "rule-b", "NextToken": "nope"}, "InvalidNextTokenException"),
                         ({"ConfigRuleName": "no-such-rule"}, "NoSuchConfigRuleException")):
        with pytest.raises(ClientError) as bad:
            unchecked.get_compliance_details_by_config_rule(**kwargs)
        assert bad.value.response["Error"]["Code"] == code, kwargs


def test_seeded_items_are_served_by_history_and_deletion_is_recorded(endpoint):
    config = client(endpoint, "config", "210000000005")
    cfg = {"tableName": "Orders", "ssedescription": {"ssetype": "KMS", "status": "ENABLED"}}
    config.put_resource_config(ResourceType="AWS::DynamoDB::Table", SchemaVersionId="1", ResourceId="Orders",
                               Configuration=json.dumps(cfg), Tags={"team": "data"})
    item = config.get_resource_config_history(resourceType="AWS::DynamoDB::Table", resourceId="Orders", limit=1)["configurationItems"][0]
    assert json.loads(item["configuration"]) == cfg
    assert item["accountId"] == "210000000005" and item["awsRegion"] == REGION
    assert item["configurationItemStatus"] == "ResourceDiscovered"
    assert item["tags"] == {"team": "data"}
    # On the wire: epoch seconds with at most three decimals, as Config records capture times.
    bodies = []
    config.meta.events.register("after-call.config.GetResourceConfigHistory",
                                lambda http_response, **_: bodies.append(http_response.content))
    config.get_resource_config_history(resourceType="AWS::DynamoDB::Table", resourceId="Orders", limit=1)
    wire = json.loads(bodies[-1])["configurationItems"][0]
    assert isinstance(wire["configurationItemCaptureTime"], float)
    assert len(repr(wire["configurationItemCaptureTime"]).split(".")[1]) <= 3, wire
    first_state = int(wire["configurationStateId"])
    config.delete_resource_config(ResourceType="AWS::DynamoDB::Table", ResourceId="Orders")
    item = config.get_resource_config_history(resourceType="AWS::DynamoDB::Table", resourceId="Orders", limit=1)["configurationItems"][0]
    assert item["configurationItemStatus"] == "ResourceDeleted"
    assert int(item["configurationStateId"]) > first_state
    with pytest.raises(ClientError) as unknown:
        config.get_resource_config_history(resourceType="AWS::DynamoDB::Table", resourceId="Other")
    assert unknown.value.response["Error"]["Code"] == "ResourceNotDiscoveredException"


def _organization(endpoint: str, manager: str):
    """An organization owned by `manager` with Root/Workloads/Sandbox and one account in each."""
    org = client(endpoint, "organizations", manager)
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    workloads = org.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    sandbox = org.create_organizational_unit(ParentId=workloads, Name="Sandbox")["OrganizationalUnit"]["Id"]
    accounts = {}
    for name, parent in (("direct", workloads), ("nested", sandbox)):
        account = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]["AccountId"]
        org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=parent)
        accounts[name] = account
    return org, root, workloads, sandbox, accounts


def test_scp_attachment_rules(endpoint):
    org, root, workloads, _, _ = _organization(endpoint, "210000000007")
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    ids = [org.create_policy(Name=f"p{i}", Description="", Type="SERVICE_CONTROL_POLICY",
                             Content='{"Version":"2012-10-17","Statement":[]}')["Policy"]["PolicySummary"]["Id"]
           for i in range(5)]
    org.attach_policy(PolicyId=ids[0], TargetId=workloads)
    with pytest.raises(ClientError) as twice:
        org.attach_policy(PolicyId=ids[0], TargetId=workloads)
    assert twice.value.response["Error"]["Code"] == "DuplicatePolicyAttachmentException"
    for policy in ids[1:4]:
        org.attach_policy(PolicyId=policy, TargetId=workloads)
    # FullAWSAccess + 4 of ours = 5: the sixth is refused, as AWS does.
    with pytest.raises(ClientError) as sixth:
        org.attach_policy(PolicyId=ids[4], TargetId=workloads)
    assert sixth.value.response["Error"]["Code"] == "ConstraintViolationException"


def test_service_managed_stack_sets(endpoint):
    manager = "210000000008"
    org, root, workloads, sandbox, accounts = _organization(endpoint, manager)
    cfn = client(endpoint, "cloudformation", manager)
    template = json.dumps({"Parameters": {"V": {"Type": "String"}},
                           "Resources": {"P": {"Type": "AWS::SSM::Parameter",
                                               "Properties": {"Name": "/marker", "Type": "String", "Value": {"Ref": "V"}}}}})
    cfn.create_stack_set(StackSetName="s", TemplateBody=template, PermissionModel="SERVICE_MANAGED",
                         Parameters=[{"ParameterKey": "V", "ParameterValue": "v1"}],
                         AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False})
    # Root target: every member at any depth, never the management account.
    op = cfn.create_stack_instances(StackSetName="s", DeploymentTargets={"OrganizationalUnitIds": [workloads]},
                                    Regions=[REGION], OperationId="op-create")["OperationId"]
    assert op == "op-create"
    assert cfn.describe_stack_set_operation(StackSetName="s", OperationId=op)["StackSetOperation"]["Status"] == "SUCCEEDED"
    results = cfn.list_stack_set_operation_results(StackSetName="s", OperationId=op)["Summaries"]
    assert sorted(r["Account"] for r in results) == sorted(accounts.values())
    assert {r["Status"] for r in results} == {"SUCCEEDED"}
    with pytest.raises(ClientError) as reused:
        cfn.create_stack_instances(StackSetName="s", DeploymentTargets={"OrganizationalUnitIds": [workloads]},
                                   Regions=[REGION], OperationId="op-create")
    assert reused.value.response["Error"]["Code"] == "OperationIdAlreadyExistsException"
    instances = cfn.list_stack_instances(StackSetName="s")["Summaries"]
    assert sorted(i["Account"] for i in instances) == sorted(accounts.values())
    assert {i["OrganizationalUnitId"] for i in instances} == {workloads}
    described = cfn.describe_stack_set(StackSetName="s")["StackSet"]
    assert described["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert described["OrganizationalUnitIds"] == [workloads]
    ssm = client(endpoint, "ssm", accounts["nested"])
    assert ssm.get_parameter(Name="/marker")["Parameter"]["Value"] == "v1"
    # Update redeploys the resources.
    cfn.update_stack_set(StackSetName="s", TemplateBody=template, OperationId="op-update",
                         Parameters=[{"ParameterKey": "V", "ParameterValue": "v2"}])
    assert ssm.get_parameter(Name="/marker")["Parameter"]["Value"] == "v2"
    # Automatic deployment: a new account moved into Sandbox gets its instance; leaving removes it.
    late = org.create_account(Email="late@example.com", AccountName="late")["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=late, SourceParentId=root, DestinationParentId=sandbox)
    assert late in {i["Account"] for i in cfn.list_stack_instances(StackSetName="s")["Summaries"]}
    assert client(endpoint, "ssm", late).get_parameter(Name="/marker")["Parameter"]["Value"] == "v2"
    org.move_account(AccountId=late, SourceParentId=sandbox, DestinationParentId=root)
    assert late not in {i["Account"] for i in cfn.list_stack_instances(StackSetName="s")["Summaries"]}
    # Delete by OU removes the instances and their resources.
    cfn.delete_stack_instances(StackSetName="s", DeploymentTargets={"OrganizationalUnitIds": [workloads]},
                               Regions=[REGION], RetainStacks=False, OperationId="op-delete")
    assert cfn.list_stack_instances(StackSetName="s")["Summaries"] == []
    with pytest.raises(ClientError):
        ssm.get_parameter(Name="/marker")
    cfn.delete_stack_set(StackSetName="s")


def test_config_rule_resource(endpoint):
    account = "210000000009"
    cfn = client(endpoint, "cloudformation", account)
    rule = {"Type": "AWS::Config::ConfigRule", "Properties": {
        "ConfigRuleName": "from-cfn", "InputParameters": {"tag1Key": "team"},
        "Source": {"Owner": "AWS", "SourceIdentifier": "REQUIRED_TAGS"}}}
    cfn.create_stack(StackName="r", TemplateBody=json.dumps({"Resources": {"R": rule}}))
    config = client(endpoint, "config", account)
    rules = config.describe_config_rules()["ConfigRules"]
    assert [(r["ConfigRuleName"], json.loads(r["InputParameters"])) for r in rules] == [("from-cfn", {"tag1Key": "team"})]
    cfn.delete_stack(StackName="r")
    assert config.describe_config_rules()["ConfigRules"] == []


def test_organizations_access(endpoint):
    manager = "210000000010"
    client(endpoint, "organizations", manager).create_organization(FeatureSet="ALL")
    cfn = client(endpoint, "cloudformation", manager)
    assert cfn.describe_organizations_access()["Status"] == "DISABLED"
    cfn.activate_organizations_access()
    assert cfn.describe_organizations_access(CallAs="SELF")["Status"] == "ENABLED"
    services = client(endpoint, "organizations", manager).list_aws_service_access_for_organization()
    assert [s["ServicePrincipal"] for s in services["EnabledServicePrincipals"]] == [
        "member.org.stacksets.cloudformation.amazonaws.com"]


def test_secret_replicas_keep_the_key_their_request_names(endpoint):
    account = "210000000091"
    kms_eu = client(endpoint, "kms", account, region="eu-west-1")
    eu_key = kms_eu.create_key()["KeyMetadata"]["Arn"]
    sm = client(endpoint, "secretsmanager", account)
    arn = sm.create_secret(
        Name="replicated", SecretString="s",
        AddReplicaRegions=[{"Region": "eu-west-1", "KmsKeyId": eu_key}],
    )["ARN"]
    sm.replicate_secret_to_regions(SecretId=arn, AddReplicaRegions=[{"Region": "us-west-2"}])
    status = {r["Region"]: r["KmsKeyId"] for r in sm.describe_secret(SecretId=arn)["ReplicationStatus"]}
    assert status == {"eu-west-1": eu_key, "us-west-2": "alias/aws/secretsmanager"}
    # In its own Region the replica is a secret on that key; on the default key, KmsKeyId is omitted.
    eu = client(endpoint, "secretsmanager", account, region="eu-west-1")
    eu_replica = arn.replace("us-east-1", "eu-west-1")
    assert eu.describe_secret(SecretId=eu_replica)["KmsKeyId"] == eu_key
    assert [s.get("KmsKeyId") for s in eu.list_secrets()["SecretList"]] == [eu_key]
    west = client(endpoint, "secretsmanager", account, region="us-west-2")
    assert "KmsKeyId" not in west.describe_secret(SecretId=arn.replace("us-east-1", "us-west-2"))


def test_a_rule_may_use_another_accounts_function_whose_policy_lets_config_invoke_it(endpoint):
    central, member, stranger = "210000000100", "210000000101", "210000000102"
    iam = client(endpoint, "iam", central)
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))
    fn = client(endpoint, "lambda", central).create_function(
        FunctionName="rule", Runtime="provided.al2023", Handler="bootstrap",
        Role=role["Role"]["Arn"], Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18})["FunctionArn"]
    client(endpoint, "lambda", central).add_permission(
        FunctionName="rule", StatementId="member", Action="lambda:InvokeFunction",
        Principal="config.amazonaws.com", SourceAccount=member)

    def put(account):
        client(endpoint, "config", account).put_config_rule(ConfigRule={
            "ConfigRuleName": "cmk", "Source": {"Owner": "CUSTOM_LAMBDA", "SourceIdentifier": fn,
                                                "SourceDetails": [{"EventSource": "aws.config", "MessageType": "ScheduledNotification"}]}})

    put(member)
    assert [r["Source"]["SourceIdentifier"] for r in
            client(endpoint, "config", member).describe_config_rules()["ConfigRules"]] == [fn]
    with pytest.raises(ClientError) as refused:
        put(stranger)  # the policy admits only the member's Config
    assert refused.value.response["Error"]["Code"] == "InsufficientPermissionsException"


def test_assume_role_needs_an_existing_role_whose_trust_policy_names_the_caller(endpoint):
    central, member = "210000000110", "210000000111"
    caller = client(endpoint, "sts", central).get_caller_identity()["Arn"]
    sts = client(endpoint, "sts", central)
    with pytest.raises(ClientError) as missing:
        sts.assume_role(RoleArn=f"arn:aws:iam::{member}:role/absent", RoleSessionName="s1")
    assert missing.value.response["Error"]["Code"] == "AccessDenied"
    assert caller in missing.value.response["Error"]["Message"]

    member_iam = client(endpoint, "iam", member)
    trust = lambda principal: json.dumps({"Version": "2012-10-17", "Statement": [  # noqa: E731
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": principal}}]})
    member_iam.create_role(RoleName="only-other", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{central}:role/other"))
    with pytest.raises(ClientError) as untrusted:
        sts.assume_role(RoleArn=f"arn:aws:iam::{member}:role/only-other", RoleSessionName="s2")
    assert untrusted.value.response["Error"]["Code"] == "AccessDenied"

    # The caller is a session of the central account's `test` role: its ARN, or the account.
    member_iam.create_role(RoleName="by-role", AssumeRolePolicyDocument=trust([f"arn:aws:iam::{central}:role/test"]))
    member_iam.create_role(RoleName="by-account", AssumeRolePolicyDocument=trust(central))
    for name in ("by-role", "by-account"):
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{member}:role/{name}", RoleSessionName="s3")
        assert creds["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{member}:assumed-role/{name}/")


def test_an_organization_aggregator_serves_each_members_rule_results(endpoint):
    manager, stranger = "210000000120", "210000000122"
    org = client(endpoint, "organizations", manager)
    org.create_organization(FeatureSet="ALL")
    created = org.create_account(Email="m@example.com", AccountName="m")["CreateAccountStatus"]["AccountId"]
    cfn = client(endpoint, "cloudformation", manager)
    cfn.create_stack(StackName="agg", TemplateBody=json.dumps({"Resources": {"A": {
        "Type": "AWS::Config::ConfigurationAggregator", "Properties": {
            "ConfigurationAggregatorName": "cmk-guardrails",
            "OrganizationAggregationSource": {"RoleArn": f"arn:aws:iam::{manager}:role/agg", "AllAwsRegions": True}}}}}))
    config = client(endpoint, "config", manager)
    assert [a["ConfigurationAggregatorName"] for a in config.describe_configuration_aggregators()["ConfigurationAggregators"]] == ["cmk-guardrails"]
    for account in (created, stranger):
        client(endpoint, "config", account).put_evaluations(ResultToken="cmk-required", Evaluations=[
            {"ComplianceResourceType": "AWS::Kinesis::Stream", "ComplianceResourceId": f"s{i}",
             "ComplianceType": kind, "OrderingTimestamp": "2026-12-01T00:00:00Z"}
            for i, kind in enumerate(["COMPLIANT", "NON_COMPLIANT", "NON_COMPLIANT"])])

    def details(account, **extra):
        return config.get_aggregate_compliance_details_by_config_rule(
            ConfigurationAggregatorName="cmk-guardrails", ConfigRuleName="cmk-required",
            AccountId=account, AwsRegion=REGION, **extra)

    got = details(created)["AggregateEvaluationResults"]
    assert sorted(r["ComplianceType"] for r in got) == ["COMPLIANT", "NON_COMPLIANT", "NON_COMPLIANT"]
    assert {(r["AccountId"], r["AwsRegion"]) for r in got} == {(created, REGION)}
    page = details(created, ComplianceType="NON_COMPLIANT", Limit=1)
    assert len(page["AggregateEvaluationResults"]) == 1 and page["NextToken"]
    assert details(stranger)["AggregateEvaluationResults"] == [], "not in the organization"
    with pytest.raises(ClientError) as missing:
        config.get_aggregate_compliance_details_by_config_rule(
            ConfigurationAggregatorName="other", ConfigRuleName="cmk-required", AccountId=created, AwsRegion=REGION)
    assert missing.value.response["Error"]["Code"] == "NoSuchConfigurationAggregatorException"
    cfn.delete_stack(StackName="agg")
    assert config.describe_configuration_aggregators()["ConfigurationAggregators"] == []



def _record(endpoint: str, account: str, region: str = REGION, group: dict | None = None):
    """Config in `account` and `region`, recording (all types unless `group` says otherwise)."""
    config = client(endpoint, "config", account, region=region)
    config.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": f"arn:aws:iam::{account}:role/config",
        "recordingGroup": group or {"allSupported": True}})
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "config-bucket"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")
    return config


def _select(config, expression: str, aggregator: str | None = None, **kwargs) -> list[dict]:
    """Every page of an advanced query, each result decoded."""
    results, token = [], None
    while True:
        more = {"NextToken": token} if token else {}
        if aggregator:
            page = config.select_aggregate_resource_config(
                Expression=expression, ConfigurationAggregatorName=aggregator, **kwargs, **more)
        else:
            page = config.select_resource_config(Expression=expression, **kwargs, **more)
        results += [json.loads(r) for r in page["Results"]]
        token = page.get("NextToken")
        if not token:
            return results


TABLE = {"BillingMode": "PAY_PER_REQUEST", "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
         "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}


def test_recorded_inventory_holds_only_the_types_a_recording_recorder_records(endpoint):
    account = "210000000130"
    client(endpoint, "kinesis", account).create_stream(StreamName="s", ShardCount=1)
    client(endpoint, "dynamodb", account).create_table(TableName="t", **TABLE)
    config = client(endpoint, "config", account)
    query = "SELECT resourceType, resourceId"
    assert _select(config, query) == [], "no recorder"
    recorder = {"name": "default", "roleARN": f"arn:aws:iam::{account}:role/config"}
    config.put_configuration_recorder(ConfigurationRecorder={
        **recorder, "recordingGroup": {"allSupported": False, "resourceTypes": ["AWS::Kinesis::Stream"]}})
    assert _select(config, query) == [], "not recording yet"
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "config-bucket"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")
    assert _select(config, query) == [{"resourceType": "AWS::Kinesis::Stream", "resourceId": "s"}]
    config.put_configuration_recorder(ConfigurationRecorder={**recorder, "recordingGroup": {
        "allSupported": False, "exclusionByResourceTypes": {"resourceTypes": ["AWS::Kinesis::Stream"]},
        "recordingStrategy": {"useOnly": "EXCLUSION_BY_RESOURCE_TYPES"}}})
    assert _select(config, query) == [{"resourceType": "AWS::DynamoDB::Table", "resourceId": "t"}]
    config.stop_configuration_recorder(ConfigurationRecorderName="default")
    assert _select(config, query) == []


def test_recorded_inventory_items_have_configs_recorded_shapes(endpoint):
    account = "210000000131"
    config = _record(endpoint, account)
    kms = client(endpoint, "kms", account)
    key = kms.create_key(Description="cmk", Tags=[{"TagKey": "team", "TagValue": "data"}])["KeyMetadata"]
    kms.create_alias(AliasName="alias/cmk", TargetKeyId=key["KeyId"])
    aws_key = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    doomed = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    kinesis = client(endpoint, "kinesis", account)
    for name in ("encrypted", "plain"):
        kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.start_stream_encryption(StreamName="encrypted", EncryptionType="KMS", KeyId="alias/cmk")
    kinesis.add_tags_to_stream(StreamName="encrypted", Tags={"team": "data"})
    sm = client(endpoint, "secretsmanager", account)
    cmk_secret = sm.create_secret(Name="cmk-secret", SecretString="s", KmsKeyId=key["Arn"], Description="d",
                                  Tags=[{"Key": "team", "Value": "data"}])["ARN"]
    default_secret = sm.create_secret(Name="default-secret", SecretString="s")["ARN"]
    sm.delete_secret(SecretId=default_secret, RecoveryWindowInDays=7)
    ddb = client(endpoint, "dynamodb", account)
    ddb.create_table(TableName="cmk-table", SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key["Arn"]},
                     **TABLE)
    ddb.create_table(TableName="default-table", **TABLE)

    sqs = client(endpoint, "sqs", account)
    cmk_queue = sqs.create_queue(QueueName="cmk-queue", Attributes={"KmsMasterKeyId": "alias/cmk"},
                                 tags={"team": "data"})["QueueUrl"]
    sse_queue = sqs.create_queue(QueueName="sse-queue")["QueueUrl"]
    plain_queue = sqs.create_queue(QueueName="plain-queue", Attributes={"SqsManagedSseEnabled": "false"})["QueueUrl"]

    sns = client(endpoint, "sns", account)
    cmk_topic = sns.create_topic(Name="cmk-topic", Attributes={"KmsMasterKeyId": key["Arn"], "DisplayName": "d"},
                                 Tags=[{"Key": "team", "Value": "data"}])["TopicArn"]
    plain_topic = sns.create_topic(Name="plain-topic")["TopicArn"]

    s3 = client(endpoint, "s3", account)
    s3.create_bucket(Bucket=f"cmk-bucket-{account}")
    s3.put_bucket_encryption(Bucket=f"cmk-bucket-{account}", ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms:dsse", "KMSMasterKeyID": key["Arn"]},
        "BucketKeyEnabled": True}]})
    s3.put_bucket_tagging(Bucket=f"cmk-bucket-{account}", Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})
    s3.create_bucket(Bucket=f"default-bucket-{account}")
    client(endpoint, "s3", account, region="eu-west-1").create_bucket(
        Bucket=f"eu-bucket-{account}", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})

    def items(resource_type: str, region: str = REGION) -> dict[str, dict]:
        fields = "resourceId, resourceName, arn, accountId, awsRegion, configurationItemStatus, configuration, " \
                 "supplementaryConfiguration, tags"
        queried = config if region == REGION else client(endpoint, "config", account, region=region)
        return {r["resourceId"]: r for r in _select(queried, f"SELECT {fields} WHERE resourceType = '{resource_type}'")}

    common = {"accountId": account, "awsRegion": REGION, "configurationItemStatus": "OK", "supplementaryConfiguration": {}}
    team = [{"key": "team", "value": "data", "tag": "team=data"}]
    stream_arn = f"arn:aws:kinesis:{REGION}:{account}:stream/"
    streams = items("AWS::Kinesis::Stream")
    assert streams["encrypted"] == {**common, "resourceId": "encrypted", "resourceName": "encrypted",
                                    "arn": stream_arn + "encrypted", "tags": team, "configuration": {
                                        "Name": "encrypted", "Arn": stream_arn + "encrypted", "ShardCount": 1,
                                        "RetentionPeriodHours": 24,
                                        "StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/cmk"}}}
    assert streams["plain"]["configuration"] == {"Name": "plain", "Arn": stream_arn + "plain", "ShardCount": 1,
                                                 "RetentionPeriodHours": 24}
    assert streams["plain"]["tags"] == []

    secrets = items("AWS::SecretsManager::Secret")
    assert secrets[cmk_secret] == {**common, "resourceId": cmk_secret, "resourceName": "cmk-secret", "arn": cmk_secret,
                                   "tags": team, "configuration": {
                                       "ARN": cmk_secret, "Name": "cmk-secret", "Description": "d",
                                       "KMSKeyId": key["Arn"], "Deleted": False, "RotationEnabled": False}}
    assert secrets[default_secret]["configuration"] == {"ARN": default_secret, "Name": "default-secret",
                                                        "Deleted": True, "RotationEnabled": False}

    tables = items("AWS::DynamoDB::Table")
    table_arn = f"arn:aws:dynamodb:{REGION}:{account}:table/"
    assert tables["cmk-table"] == {**common, "resourceId": "cmk-table", "resourceName": "cmk-table",
                                   "arn": table_arn + "cmk-table", "tags": [], "configuration": {
                                       "tableName": "cmk-table", "tableArn": table_arn + "cmk-table", "tableStatus": "ACTIVE",
                                       "ssedescription": {"status": "ENABLED", "ssetype": "KMS", "kmsmasterKeyArn": key["Arn"]}}}
    assert "ssedescription" not in tables["default-table"]["configuration"]

    # Each queue's id is the URL SQS itself gives it (ListQueues, CreateQueue).
    queues = items("AWS::SQS::Queue")
    assert sorted(queues) == sorted(sqs.list_queues()["QueueUrls"]) == sorted([cmk_queue, sse_queue, plain_queue])
    queue_arn = f"arn:aws:sqs:{REGION}:{account}:"
    cmk = queues[cmk_queue]
    assert {k: cmk[k] for k in common} == common
    assert (cmk["resourceName"], cmk["arn"], cmk["tags"]) == ("cmk-queue", queue_arn + "cmk-queue", team)
    assert {k: cmk["configuration"][k] for k in ("QueueUrl", "QueueName", "QueueArn", "KmsMasterKeyId")} == {
        "QueueUrl": cmk_queue, "QueueName": "cmk-queue", "QueueArn": queue_arn + "cmk-queue",
        "KmsMasterKeyId": "alias/cmk"}
    assert queues[sse_queue]["configuration"]["SqsManagedSseEnabled"] == "true"
    assert "KmsMasterKeyId" not in queues[sse_queue]["configuration"]
    assert queues[plain_queue]["configuration"]["SqsManagedSseEnabled"] == "false"

    topics = items("AWS::SNS::Topic")
    assert topics[cmk_topic] == {**common, "resourceId": cmk_topic, "resourceName": "cmk-topic", "arn": cmk_topic,
                                 "tags": team, "configuration": {"TopicArn": cmk_topic, "Owner": account,
                                                                 "DisplayName": "d", "KmsMasterKeyId": key["Arn"]}}
    assert topics[plain_topic]["configuration"] == {"TopicArn": plain_topic, "Owner": account}

    # A bucket's encryption is a supplementary value; the bucket of another Region is not here.
    buckets = items("AWS::S3::Bucket")
    assert sorted(buckets) == [f"cmk-bucket-{account}", f"default-bucket-{account}"]
    cmk_bucket = buckets[f"cmk-bucket-{account}"]
    assert {k: cmk_bucket[k] for k in ("resourceName", "arn", "tags", "supplementaryConfiguration")} == {
        "resourceName": f"cmk-bucket-{account}", "arn": f"arn:aws:s3:::cmk-bucket-{account}", "tags": team,
        "supplementaryConfiguration": {"ServerSideEncryptionConfiguration": {"rules": [{
            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms:dsse", "kmsMasterKeyID": key["Arn"]},
            "bucketKeyEnabled": True}]}}}
    assert cmk_bucket["configuration"]["name"] == f"cmk-bucket-{account}"
    assert buckets[f"default-bucket-{account}"]["supplementaryConfiguration"] == {
        "ServerSideEncryptionConfiguration": {"rules": [{
            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256", "kmsMasterKeyID": None},
            "bucketKeyEnabled": False}]}}

    keys = items("AWS::KMS::Key")
    assert keys[key["KeyId"]] == {**common, "resourceId": key["KeyId"], "resourceName": key["KeyId"], "arn": key["Arn"],
                                  "tags": team, "supplementaryConfiguration": {"KeyRotationStatus": False},
                                  "configuration": {
                                      "keyId": key["KeyId"], "arn": key["Arn"], "awsaccountId": account,
                                      "keyManager": "CUSTOMER", "keyState": "Enabled", "enabled": True,
                                      "origin": "AWS_KMS", "keyUsage": "ENCRYPT_DECRYPT", "description": "cmk"}}
    assert keys[aws_key["KeyId"]]["configuration"]["keyManager"] == "AWS"
    assert keys[aws_key["KeyId"]]["supplementaryConfiguration"] == {"KeyRotationStatus": True}
    assert keys[doomed]["configuration"]["keyState"] == "PendingDeletion"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", keys[doomed]["configuration"]["deletionDate"])

    aliases = items("AWS::KMS::Alias")
    assert aliases["alias/cmk"] == {**common, "resourceId": "alias/cmk", "resourceName": "alias/cmk",
                                    "arn": f"arn:aws:kms:{REGION}:{account}:alias/cmk", "tags": [],
                                    "configuration": {"AliasName": "alias/cmk", "TargetKeyId": key["KeyId"]}}
    assert aliases["alias/aws/secretsmanager"]["configuration"]["TargetKeyId"] == aws_key["KeyId"]
    (captured,) = _select(config, "SELECT configurationItemCaptureTime WHERE resourceId = 'plain'")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", captured["configurationItemCaptureTime"])

    # A replica is an item of its own Region, with its own ARN and key.
    _record(endpoint, account, "eu-west-1")
    eu_key = client(endpoint, "kms", account, region="eu-west-1").create_key()["KeyMetadata"]["Arn"]
    primary = sm.create_secret(Name="replicated", SecretString="s",
                               AddReplicaRegions=[{"Region": "eu-west-1", "KmsKeyId": eu_key}])["ARN"]
    replica = primary.replace(REGION, "eu-west-1")
    assert items("AWS::SecretsManager::Secret", "eu-west-1")[replica]["configuration"] == {
        "ARN": replica, "Name": "replicated", "KMSKeyId": eu_key, "Deleted": False, "RotationEnabled": False}


def test_recorded_inventory_where_clauses(endpoint):
    account = "210000000132"
    config = _record(endpoint, account)
    kinesis = client(endpoint, "kinesis", account)
    for name, shards, tags in (("orders-a", 1, {"env": "prod"}), ("orders-b", 1, {"env": "dev"}),
                               ("billing", 2, {"env": "prod", "team": "pay"})):
        kinesis.create_stream(StreamName=name, ShardCount=shards)
        kinesis.add_tags_to_stream(StreamName=name, Tags=tags)
    client(endpoint, "secretsmanager", account).create_secret(Name="orders-secret", SecretString="s")

    def ids(where: str) -> list[str]:
        return [r["resourceName"] for r in _select(config, f"SELECT resourceName WHERE {where}")]

    assert ids("resourceType = 'AWS::Kinesis::Stream'") == ["billing", "orders-a", "orders-b"]
    assert ids("resourceId IN ('orders-a', 'billing', 'absent')") == ["billing", "orders-a"]
    assert ids("resourceName LIKE 'orders%'") == ["orders-a", "orders-b", "orders-secret"]
    assert ids("configuration.ShardCount = 2") == ["billing"]
    assert ids("configuration.RotationEnabled = false") == ["orders-secret"]
    assert ids("configuration.ShardCount = '2'") == [], "a string is not a number"
    # A path through an array matches if any element does.
    assert ids("tags.key = 'team'") == ["billing"]
    assert ids("tags.tag = 'env=prod'") == ["billing", "orders-a"]
    # AND binds tighter than OR; parentheses group.
    assert ids("resourceId = 'orders-a' OR resourceId = 'orders-b' AND tags.value = 'dev'") == ["orders-a", "orders-b"]
    assert ids("(resourceId = 'orders-a' OR resourceId = 'orders-b') AND tags.value = 'dev'") == ["orders-b"]
    assert ids("configuration.StreamEncryption.KeyId LIKE 'alias%'") == [], "a missing property never matches"
    assert ids("resourceId = 'it''s'") == []
    assert [r["resourceId"] for r in _select(config, "select resourceId where resourceId in ('billing')")] == ["billing"]
    # Projection: only the selected properties, arrays mapped, missing ones left out.
    page = config.select_resource_config(
        Expression="SELECT resourceId, tags.key, tags.value, configuration.StreamEncryption.KeyId WHERE resourceId = 'billing'")
    assert [json.loads(r) for r in page["Results"]] == [{"resourceId": "billing", "tags": [
        {"key": "env", "value": "prod"}, {"key": "team", "value": "pay"}]}]
    assert page["QueryInfo"]["SelectFields"] == [{"Name": n} for n in (
        "resourceId", "tags.key", "tags.value", "configuration.StreamEncryption.KeyId")]


def test_recorded_inventory_pages_in_a_stable_order(endpoint):
    account = "210000000133"
    config = _record(endpoint, account)
    kinesis = client(endpoint, "kinesis", account)
    names = [f"s{i:02}" for i in range(27)]
    for name in reversed(names):
        kinesis.create_stream(StreamName=name, ShardCount=1)
    query = "SELECT resourceId WHERE resourceType = 'AWS::Kinesis::Stream'"
    first = config.select_resource_config(Expression=query)
    assert len(first["Results"]) == 25 and first["NextToken"], "the default page size is 25"
    pages, token = [], None
    while True:
        page = config.select_resource_config(Expression=query, Limit=2, **({"NextToken": token} if token else {}))
        pages.append([json.loads(r)["resourceId"] for r in page["Results"]])
        token = page.get("NextToken")
        if not token:
            break
    assert len(pages) == 14 and all(len(p) <= 2 for p in pages)
    assert [n for p in pages for n in p] == names
    unchecked = client(endpoint, "config", account, validation=False)
    for token in ("nope", first["NextToken"][:-4]):
        with pytest.raises(ClientError) as bad:
            unchecked.select_resource_config(Expression=query, NextToken=token)
        assert bad.value.response["Error"]["Code"] == "InvalidNextTokenException"
    with pytest.raises(ClientError) as foreign:
        config.select_resource_config(Expression="SELECT resourceId", NextToken=first["NextToken"])
    assert foreign.value.response["Error"]["Code"] == "InvalidNextTokenException", "a token of another query"


def test_recorded_inventory_refuses_what_it_does_not_support(endpoint):
    config = client(endpoint, "config", "210000000134", validation=False)
    for expression, named in (("SELECT COUNT(*) WHERE resourceType = 'AWS::Kinesis::Stream'", "COUNT"),
                              ("SELECT resourceId, COUNT(*) GROUP BY resourceId", "COUNT"),
                              ("SELECT resourceId ORDER BY resourceId", "ORDER"),
                              ("SELECT resourceId WHERE NOT resourceId = 'x'", "NOT"),
                              ("SELECT resourceId WHERE resourceId BETWEEN 'a' AND 'b'", "BETWEEN"),
                              ("SELECT * WHERE resourceId = 'x'", "*"),
                              ("SELECT resourceId WHERE resourceId != 'x'", "!="),
                              ("SELECT resourceId WHERE resourceId LIKE '%abc'", "LIKE"),
                              ("SELECT resourceId WHERE resourceId LIKE 'ab%'", "LIKE"),
                              ("SELECT resourceId WHERE resourceId LIKE 'a%c%'", "LIKE"),
                              ("SELECT resourceId WHERE resourceId = 'x", "'"),
                              ("SELECT resourceId WHERE", "end of expression")):
        with pytest.raises(ClientError) as bad:
            config.select_resource_config(Expression=expression)
        error = bad.value.response["Error"]
        assert error["Code"] == "InvalidExpressionException" and named in error["Message"], (expression, error)
        assert bad.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as too_many:
        config.select_resource_config(Expression="SELECT resourceId", Limit=101)
    assert too_many.value.response["Error"]["Code"] == "InvalidLimitException"
    with pytest.raises(ClientError) as too_long:
        config.select_resource_config(Expression=f"SELECT resourceId WHERE resourceId = '{'x' * 4096}'")
    assert too_long.value.response["Error"]["Code"] == "ValidationException"


def test_aggregate_inventory_covers_the_organizations_accounts_and_regions(endpoint):
    manager, stranger = "210000000140", "210000000141"
    org = client(endpoint, "organizations", manager)
    org.create_organization(FeatureSet="ALL")
    m1, m2 = (org.create_account(Email=f"{n}@example.com", AccountName=n)["CreateAccountStatus"]["AccountId"]
              for n in ("inv1", "inv2"))
    for account, regions in ((m1, [REGION]), (m2, [REGION, "eu-west-1"]), (stranger, [REGION])):
        for region in regions:
            _record(endpoint, account, region)
            client(endpoint, "kinesis", account, region=region).create_stream(StreamName=f"s-{region}", ShardCount=1)
    config = client(endpoint, "config", manager)
    config.put_configuration_aggregator(ConfigurationAggregatorName="org", OrganizationAggregationSource={
        "RoleArn": f"arn:aws:iam::{manager}:role/agg", "AllAwsRegions": True})
    query = "SELECT accountId, awsRegion, resourceId WHERE resourceType = 'AWS::Kinesis::Stream'"
    got = [(r["accountId"], r["awsRegion"], r["resourceId"]) for r in _select(config, query, "org", Limit=2)]
    assert got == sorted([(m1, REGION, f"s-{REGION}"), (m2, REGION, f"s-{REGION}"),
                          (m2, "eu-west-1", "s-eu-west-1")]), "members only, in a stable order"
    page = config.select_aggregate_resource_config(Expression=query, ConfigurationAggregatorName="org", MaxResults=1)
    assert len(page["Results"]) == 1 and page["NextToken"]
    config.put_configuration_aggregator(ConfigurationAggregatorName="m2-eu", AccountAggregationSources=[
        {"AccountIds": [m2], "AwsRegions": ["eu-west-1"]}])
    assert [(r["accountId"], r["awsRegion"]) for r in _select(config, query, "m2-eu")] == [(m2, "eu-west-1")]
    with pytest.raises(ClientError) as missing:
        config.select_aggregate_resource_config(Expression=query, ConfigurationAggregatorName="absent")
    assert missing.value.response["Error"]["Code"] == "NoSuchConfigurationAggregatorException"


def test_list_buckets_pages_by_region_in_name_order(endpoint):
    account = "210000000141"
    s3 = client(endpoint, "s3", account)
    names = [f"b{i}-{account}" for i in (3, 0, 4, 1, 2)]
    for name in names:
        s3.create_bucket(Bucket=name)
    client(endpoint, "s3", account, region="eu-west-1").create_bucket(
        Bucket=f"eu-{account}", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    pages, token = [], None
    while True:
        page = s3.list_buckets(BucketRegion=REGION, MaxBuckets=2, **({"ContinuationToken": token} if token else {}))
        pages.append([b["Name"] for b in page["Buckets"]])
        assert {b["BucketRegion"] for b in page["Buckets"]} == {REGION}
        token = page.get("ContinuationToken")
        if not token:
            break
    assert pages == [sorted(names)[0:2], sorted(names)[2:4], sorted(names)[4:]]
    everywhere = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert everywhere == sorted(names + [f"eu-{account}"])


def test_a_bucket_without_its_own_encryption_has_sse_s3(endpoint):
    account = "210000000142"
    s3 = client(endpoint, "s3", account)
    bucket = f"b-{account}"
    s3.create_bucket(Bucket=bucket)
    sse_s3 = [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"] == sse_s3
    kms = [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/aws/s3"},
            "BucketKeyEnabled": True}]
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": kms})
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"] == kms
    # DeleteBucketEncryption "resets the default encryption for the bucket as server-side
    # encryption with Amazon S3 managed keys (SSE-S3)".
    s3.delete_bucket_encryption(Bucket=bucket)
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"] == sse_s3
