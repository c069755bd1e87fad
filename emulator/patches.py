"""Small patches that close the gaps between moto 5.2.5 and AWS that matter to cmk-guardrails.

Each patch is one function, applied by `apply()` before the server starts, and each has its own
test in `test_patches.py`. They touch moto internals, which is why `requirements.lock` pins moto:
re-run `pytest emulator` after any upgrade.

1. `aws_managed_keys`: keys behind `alias/aws/*` report `KeyManager: AWS` (moto hard-codes
   CUSTOMER), including the key DynamoDB creates for SSE without a key, and rotate;
   `alias/aws/kinesis`, `alias/aws/sqs` and `alias/aws/sns` exist (moto's reserved list lacks them); CreateAlias refuses the whole
   `alias/aws/` prefix as KMS does.
2. `cross_account_keys`: DescribeKey / GetKeyRotationStatus on a key ARN or alias ARN of another
   account are answered by that account's key and its key policy (moto ignores the account in the
   ARN and looks the key id or alias up in the caller's own account).
3. `recorded_evaluations`: PutEvaluations without TestMode stores the evaluations (moto raises
   NotImplementedError); GetComplianceDetailsByResource and GetComplianceDetailsByConfigRule
   (paginated, filtered by ComplianceTypes; moto lacks it) read them back.
4. `seeded_config_items`: configuration items of any `AWS::` type seeded with PutResourceConfig
   are returned by GetResourceConfigHistory (moto records no history for our types), and
   DeleteResourceConfig turns them into `ResourceDeleted` items. Capture times are recorded to
   the millisecond, as Config records them, and each new item gets a new state id.
5. `scp_attachment_rules`: AttachPolicy of an SCP already attached raises
   DuplicatePolicyAttachmentException, and a sixth direct SCP raises ConstraintViolationException
   (moto accepts both silently).
6. `service_managed_stack_sets`: SERVICE_MANAGED stack sets behave as AWS documents them: an OU
   target covers every account below it at any depth and never the management account;
   DeleteStackInstances honours DeploymentTargets; UpdateStackSet redeploys every instance with
   the new template and parameters; a client OperationId is used as the operation's id and reusing
   one raises OperationIdAlreadyExistsException; AutoDeployment and the target OUs are stored and
   returned by DescribeStackSet, and an account moved into (out of) a target OU gets (loses) its
   instances; ListStackInstances reports each instance's OrganizationalUnitId.
7. `organizations_access`: CloudFormation's ActivateOrganizationsAccess / DescribeOrganizationsAccess
   (StackSets trusted access; moto lacks both) read and set the organization's service access.
8. `config_rule_resource`: `AWS::Config::ConfigRule` in CloudFormation templates creates the rule
   (moto skips the type), so a stack set's Config rule is visible in the member account.
9. `secret_replica_keys`: a Secrets Manager replica is encrypted with the `KmsKeyId` its request
   names (moto records `aws/secretsmanager` for every replica): the primary's DescribeSecret
   `ReplicationStatus` and the replica's own DescribeSecret/ListSecrets in its Region show it.
10. `cross_account_rule_functions`: a custom rule's source may be another account's Lambda function
    when its resource policy lets `config.amazonaws.com` of the rule's account invoke it; otherwise
    PutConfigRule raises InsufficientPermissionsException (moto looked in the rule's account only).
11. `assume_role_trust`: AssumeRole succeeds only for an existing role whose trust policy names the
    caller; otherwise AccessDenied (moto issued credentials for any role ARN).
12. `organization_aggregator`: `AWS::Config::ConfigurationAggregator` in CloudFormation, and
    GetAggregateComplianceDetailsByConfigRule over the organization's accounts (moto has neither).
13. `recorded_inventory`: SelectResourceConfig and SelectAggregateResourceConfig evaluate a subset
    of Config's advanced-query language over the items Config would record, in its recorded
    shapes, from the emulator's live Kinesis, Secrets Manager, DynamoDB, SQS, SNS, S3 and KMS state,
    for the types each account's recording recorder records (moto answers only with canned results,
    and lacks the aggregate call).
14. `s3_buckets`: ListBuckets pages with MaxBuckets and ContinuationToken and names each bucket's
    Region (moto cuts the list with no token); GetBucketEncryption of a bucket without its own
    configuration answers S3's default, SSE-S3 (moto answers "not found").
"""

from __future__ import annotations

import base64
import bisect
import contextvars
import hashlib
import json
import re
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlparse

AWS_MANAGED_PREFIX = "alias/aws/"
# AWS-managed aliases of services we judge that moto's reserved list lacks
# (https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#aws-managed-key: each
# service that integrates with KMS has its `aws/<service>` key); the ids are only shown by
# ListAliases before the key is first used.
MISSING_AWS_ALIASES = {"alias/aws/kinesis": "6c9b6a5e-2f0c-4d8e-9b51-0d6f6d1c4a11",
                       "alias/aws/sqs": "0b7d8e0c-3f5a-4c61-a2d4-7e9f1b2c3d4e",
                       "alias/aws/sns": "3e8a1f6d-5b2c-4a79-9d0e-8c7b6a5f4e3d"}


def aws_managed_keys() -> None:
    from moto.kms import models, responses, utils
    from moto.kms.exceptions import NotAuthorizedException

    for alias, placeholder in MISSING_AWS_ALIASES.items():
        if alias not in utils.RESERVED_ALIASES:
            utils.RESERVED_ALIASE_TARGET_KEY_IDS[alias] = placeholder
            # The list object is shared by name with moto.kms.models and moto.kms.responses.
            utils.RESERVED_ALIASES.append(alias)

    # Every way moto makes an AWS-managed key (lazily on first DescribeKey, or DynamoDB's own
    # create_key + create_alias for SSE without a key) ends in the backend's create_alias.
    create_alias = models.KmsBackend.create_alias

    def backend_create_alias(self: Any, target_key_id: str, alias_name: str) -> Any:
        alias = create_alias(self, target_key_id, alias_name)
        if alias_name.startswith(AWS_MANAGED_PREFIX):
            key = self.keys[self.get_key_id(target_key_id)]
            key.key_manager = "AWS"
            # AWS rotates AWS-managed keys every year; they cannot be turned off.
            key.key_rotation_status = True
            service = alias_name[len(AWS_MANAGED_PREFIX) :]
            key.description = f"Default key that protects my {service} data when no other key is defined"
        return alias

    # Customers cannot create aliases in the reserved prefix (moto only refuses its own list).
    api_create_alias = responses.KmsResponse.create_alias

    def api_create_alias_checked(self: Any) -> str:
        name = self._get_param("AliasName") or ""
        if name.startswith(AWS_MANAGED_PREFIX):
            raise NotAuthorizedException()
        return api_create_alias(self)

    models.KmsBackend.create_alias = backend_create_alias
    responses.KmsResponse.create_alias = api_create_alias_checked


def _policy_grants(policy_text: str, account: str, action: str) -> bool:
    """Whether a key policy has an Allow statement for `account` covering `action` (a subset of
    IAM evaluation: principals by account id or root ARN, actions by exact name or `kms:*`)."""
    try:
        policy = json.loads(policy_text)
    except (TypeError, ValueError):
        return False
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for st in statements:
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a in ("kms:*", action) for a in actions):
            continue
        principal = st.get("Principal", {})
        aws = principal.get("AWS", []) if isinstance(principal, dict) else principal
        aws = [aws] if isinstance(aws, str) else aws
        names_account = any(p in ("*", account, f"arn:aws:iam::{account}:root") for p in aws)
        if names_account and st.get("Effect") == "Deny":
            return False
        allowed = allowed or (names_account and st.get("Effect") == "Allow")
    return allowed


def cross_account_keys() -> None:
    from moto.kms.exceptions import AccessDeniedException
    from moto.kms.models import kms_backends
    from moto.kms.responses import KmsResponse

    def foreign_key(self: Any, action: str) -> Any | None:
        """The other account's key named by a key ARN or alias ARN, or None for the caller's own
        keys. Raises AccessDenied unless that key's policy grants the caller's account."""
        key_id = self._get_param("KeyId") or ""
        parts = key_id.split(":", 5)
        if not key_id.startswith("arn:") or len(parts) < 6:
            return None
        region, owner, resource = parts[3], parts[4], parts[5]
        if owner == self.current_account or not resource.startswith(("key/", "alias/")):
            return None
        backend = kms_backends[owner][region]
        if resource.startswith("alias/"):
            # Resolved in the owner's account (moto would drop the account and use the caller's).
            target = backend.get_key_id_from_alias(resource)
            key = backend.keys.get(target) if target else None
        else:
            key = backend.keys.get(resource[len("key/") :])
        if key is None or not _policy_grants(key.policy, self.current_account, action):
            # AWS does not reveal whether a key it will not describe exists.
            raise AccessDeniedException(
                f"User: arn:aws:iam::{self.current_account}:root is not authorized to perform: "
                f"{action} on resource: {key_id}"
            )
        return key

    describe_key = KmsResponse.describe_key
    get_key_rotation_status = KmsResponse.get_key_rotation_status

    def patched_describe_key(self: Any) -> str:
        key = foreign_key(self, "kms:DescribeKey")
        if key is None:
            return describe_key(self)
        return json.dumps(key.to_dict())

    def patched_get_key_rotation_status(self: Any) -> str:
        key = foreign_key(self, "kms:GetKeyRotationStatus")
        if key is None:
            return get_key_rotation_status(self)
        return json.dumps({"KeyRotationEnabled": key.key_rotation_status})

    KmsResponse.describe_key = patched_describe_key
    KmsResponse.get_key_rotation_status = patched_get_key_rotation_status


def recorded_evaluations() -> None:
    from moto.config.exceptions import (
        InvalidParameterValueException,
        InvalidResultTokenException,
    )
    from moto.config.models import ConfigBackend
    from moto.config.responses import ConfigResponse

    original = ConfigBackend.put_evaluations

    def put_evaluations(
        self: Any,
        evaluations: list[dict[str, Any]] | None = None,
        result_token: str | None = None,
        test_mode: bool | None = False,
    ) -> dict[str, list[Any]]:
        if test_mode or not evaluations or not result_token:
            # TestMode stores nothing (as in AWS); moto validates the empty cases itself.
            return original(self, evaluations, result_token, test_mode)
        if len(evaluations) > 100:
            raise InvalidParameterValueException("At most 100 evaluations per call.")
        for e in evaluations:
            for field in ("ComplianceResourceType", "ComplianceResourceId", "OrderingTimestamp"):
                if not e.get(field):
                    raise InvalidParameterValueException(f"Evaluation is missing {field}.")
            if e.get("ComplianceType") not in ("COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE"):
                raise InvalidParameterValueException(
                    f"ComplianceType {e.get('ComplianceType')!r} is not allowed for custom rules."
                )
            annotation = e.get("Annotation")
            if annotation is not None and not 1 <= len(annotation) <= 256:
                raise InvalidParameterValueException("Annotation must be 1-256 characters.")
        if not isinstance(result_token, str):
            raise InvalidResultTokenException()
        store = self.__dict__.setdefault("cmk_evaluations", {})
        now = time.time()
        for e in evaluations:
            # moto issues no result tokens: the token stands in for the rule's name.
            store[(result_token, e["ComplianceResourceType"], e["ComplianceResourceId"])] = {
                "EvaluationResultIdentifier": {
                    "EvaluationResultQualifier": {
                        "ConfigRuleName": result_token,
                        "ResourceType": e["ComplianceResourceType"],
                        "ResourceId": e["ComplianceResourceId"],
                    },
                    "OrderingTimestamp": e["OrderingTimestamp"],
                },
                "ComplianceType": e["ComplianceType"],
                "ResultRecordedTime": now,
                "ConfigRuleInvokedTime": now,
                **({"Annotation": e["Annotation"]} if "Annotation" in e else {}),
            }
        return {"FailedEvaluations": []}

    def get_compliance_details_by_resource(self: Any) -> str:
        resource_type = self._get_param("ResourceType")
        resource_id = self._get_param("ResourceId")
        store = self.config_backend.__dict__.get("cmk_evaluations", {})
        results = [
            r for (_, t, i), r in sorted(store.items()) if t == resource_type and i == resource_id
        ]
        return json.dumps({"EvaluationResults": results})

    def get_compliance_details_by_config_rule(self: Any) -> str:
        # https://docs.aws.amazon.com/config/latest/APIReference/API_GetComplianceDetailsByConfigRule.html:
        # ConfigRuleName required; ComplianceTypes filters (COMPLIANT, NON_COMPLIANT,
        # NOT_APPLICABLE); Limit 0-100, "The default is 10", 0 means the default; NextToken pages;
        # errors InvalidParameterValueException, InvalidNextTokenException, NoSuchConfigRuleException.
        from moto.config.exceptions import InvalidNextTokenException, NoSuchConfigRuleException

        rule = self._get_param("ConfigRuleName")
        wanted = self._get_param("ComplianceTypes") or []
        limit = self._get_param("Limit") or 10
        token = self._get_param("NextToken")
        for t in wanted:
            if t not in ("COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE"):
                raise InvalidParameterValueException(f"ComplianceTypes value {t!r} is not valid.")
        if not isinstance(limit, int) or not 0 <= limit <= 100:
            raise InvalidParameterValueException("Limit must be between 0 and 100.")
        store = self.config_backend.__dict__.get("cmk_evaluations", {})
        # moto issues no result tokens: evaluations are stored under the token, which stands in
        # for the rule's name (see put_evaluations above).
        if rule not in self.config_backend.config_rules and not any(k[0] == rule for k in store):
            raise NoSuchConfigRuleException(rule)
        results = [r for (name, _, _), r in sorted(store.items())
                   if name == rule and (not wanted or r["ComplianceType"] in wanted)]
        start = 0
        if token:
            if not token.isdigit() or int(token) > len(results):
                raise InvalidNextTokenException()
            start = int(token)
        end = start + limit
        body: dict[str, Any] = {"EvaluationResults": results[start:end]}
        if end < len(results):
            body["NextToken"] = str(end)
        return json.dumps(body)

    ConfigBackend.put_evaluations = put_evaluations
    ConfigResponse.get_compliance_details_by_resource = get_compliance_details_by_resource
    ConfigResponse.get_compliance_details_by_config_rule = get_compliance_details_by_config_rule


def seeded_config_items() -> None:
    from moto.config.models import ConfigBackend

    put_resource_config = ConfigBackend.put_resource_config
    delete_resource_config = ConfigBackend.delete_resource_config
    get_resource_config_history = ConfigBackend.get_resource_config_history

    def seeded(self: Any) -> dict[str, dict[str, Any]]:
        return self.__dict__.setdefault("cmk_items", {})

    def capture_time() -> float:
        # Config records capture times to the millisecond: every documented item and notification
        # shows three decimals ("configurationItemCaptureTime": "2014-03-07T23:47:08.918Z",
        # https://docs.aws.amazon.com/config/latest/developerguide/example-sns-notification.html;
        # "2016-10-06T16:46:16.261Z" in
        # https://docs.aws.amazon.com/config/latest/developerguide/oversized-notification-example.html),
        # and the JSON API returns them as epoch seconds with those decimals. moto would stamp
        # time.time()'s microseconds, which no AWS item carries.
        return round(time.time(), 3)

    def next_state_id(previous: dict[str, Any]) -> str:
        # "configurationStateId: An identifier that indicates the ordering of the configuration
        # items of a resource" (https://docs.aws.amazon.com/config/latest/APIReference/API_ConfigurationItem.html).
        # AWS's example ids look like epoch milliseconds; a new item always gets a new, larger id.
        return str(max(int(previous.get("configurationStateId", "0")) + 1, int(time.time() * 1000)))

    def put(self: Any, resource_type: str, schema_version_id: str, resource_id: str,
            resource_name: str, configuration: str, tags: dict[str, str] | None) -> None:
        if not resource_type.startswith("AWS::"):
            return put_resource_config(self, resource_type, schema_version_id, resource_id,
                                       resource_name, configuration, tags)
        # moto's response handler JSON-encodes the Configuration string once more.
        decoded = json.loads(configuration) if configuration else None
        item = seeded(self).get(f"{resource_type}:{resource_id}", {})
        seeded(self)[f"{resource_type}:{resource_id}"] = {
            "version": "1.3",
            "accountId": self.account_id,
            "configurationItemCaptureTime": capture_time(),
            "configurationItemStatus": "OK" if item else "ResourceDiscovered",
            "configurationStateId": next_state_id(item),
            "arn": "",
            "resourceType": resource_type,
            "resourceId": resource_id,
            "resourceName": resource_name or resource_id,
            "awsRegion": self.region_name,
            "availabilityZone": "Regional",
            "tags": tags or {},
            "relatedEvents": [],
            "relationships": [],
            "configuration": decoded if isinstance(decoded, str) else json.dumps(decoded),
            "supplementaryConfiguration": {},
        }

    def delete(self: Any, resource_type: str, resource_id: str) -> None:
        item = seeded(self).get(f"{resource_type}:{resource_id}")
        if item is None:
            return delete_resource_config(self, resource_type, resource_id)
        item.update(
            configurationItemStatus="ResourceDeleted",
            configurationItemCaptureTime=capture_time(),
            configuration="null",
            configurationStateId=next_state_id(item),
        )

    def history(self: Any, resource_type: str, resource_id: str, backend_region: str) -> dict[str, Any]:
        item = seeded(self).get(f"{resource_type}:{resource_id}")
        if item is None:
            return get_resource_config_history(self, resource_type, resource_id, backend_region)
        return {"configurationItems": [item]}

    ConfigBackend.put_resource_config = put
    ConfigBackend.delete_resource_config = delete
    ConfigBackend.get_resource_config_history = history


def scp_attachment_rules() -> None:
    from moto.organizations.exceptions import ConstraintViolationException, OrganizationsClientError
    from moto.organizations.models import OrganizationsBackend

    attach_policy = OrganizationsBackend.attach_policy
    limit = 5  # direct SCPs per root, OU or account

    def checked(self: Any, **kwargs: Any) -> None:
        policy = self.get_policy_by_id(kwargs["PolicyId"])
        target = next(
            (t for t in list(self.ou) + list(self.accounts) if t.id == kwargs["TargetId"]), None
        )
        if target is not None and policy.type == "SERVICE_CONTROL_POLICY":
            if policy in target.attached_policies:
                raise OrganizationsClientError(
                    "DuplicatePolicyAttachmentException",
                    "The selected policy is already attached to the specified target.",
                )
            scps = [p for p in target.attached_policies if p.type == "SERVICE_CONTROL_POLICY"]
            if len(scps) >= limit:
                raise ConstraintViolationException(
                    "You have attached the maximum number of policies to the specified target."
                )
        attach_policy(self, **kwargs)

    OrganizationsBackend.attach_policy = checked


def _org_of(account_id: str, partition: str = "aws") -> Any:
    from moto.organizations.models import organizations_backends

    return organizations_backends[account_id][partition]


def _accounts_below(org: Any, ou_ids: list[str]) -> list[tuple[str, str]]:
    """(account id, requested OU id) for every active member account at any depth below the OUs,
    never the management account (AWS never deploys stack instances there)."""
    parents = {ou.id: getattr(ou, "parent_id", None) for ou in org.ou}
    master = org.org.master_account_id if org.org else None
    found = []
    for account in org.accounts:
        if account.id == master or getattr(account, "status", "ACTIVE") != "ACTIVE":
            continue
        node = account.parent_id
        while node is not None:
            if node in ou_ids:
                found.append((account.id, node))
                break
            node = parents.get(node)
    return found


def service_managed_stack_sets() -> None:
    from moto.cloudformation import models, responses
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.exceptions import ServiceException
    from moto.organizations.models import OrganizationsBackend

    class OperationIdAlreadyExists(ServiceException):
        code = "OperationIdAlreadyExistsException"

    def take_operation_id(response: Any, name: str) -> str | None:
        wanted = response._get_param("OperationId")
        if wanted:
            stack_set = response.cloudformation_backend.describe_stack_set(name)
            if any(op["OperationId"] == wanted for op in stack_set.operations):
                raise OperationIdAlreadyExists(f"Operation {wanted} already exists")
        return wanted

    def finish_operation(response: Any, name: str, wanted: str | None, result: Any,
                         touched: set[tuple[str, str]]) -> Any:
        """Gives the operation the client's id and lists the instances it touched (moto lists
        none for OU targets, so ListStackSetOperationResults was empty)."""
        stack_set = response.cloudformation_backend.describe_stack_set(name)
        operation = stack_set.operations[-1]
        operation["Instances"] = [{account: region} for account, region in sorted(touched)]
        if wanted:
            operation["OperationId"] = wanted
            result.result["OperationId"] = wanted
        return result

    def pairs(stack_set: Any) -> set[tuple[str, str]]:
        return {(i.account_id, i.region_name) for i in stack_set.stack_instances}

    # Targets: every account below the OUs (moto: one level only, and the management account
    # for the root); each instance remembers the OU it was deployed through.
    def create_instances(self: Any, accounts: list[str], regions: list[str], parameters: Any,
                         deployment_targets: dict[str, Any], permission_model: str) -> list[Any]:
        ous = deployment_targets.get("OrganizationalUnitIds", [])
        parameters = parameters or dict(self.parameters)
        targets = [(a, None) for a in accounts] + _accounts_below(self.org_backend, ous)
        created = []
        for region in regions:
            for account, ou in targets:
                if self.get_instance(account, region) is not None:
                    continue
                instance = models.StackInstance(
                    account_id=account, region_name=region, stackset_id=self.stackset_id,
                    stack_name=self.stack_name, name=self.stackset_name, template=self.template,
                    parameters=parameters, permission_model=permission_model,
                )
                instance.ou_id = ou
                self.stack_instances.append(instance)
                created.append(instance.to_dict())
        return created

    to_dict = models.StackInstance.to_dict

    def instance_dict(self: Any) -> dict[str, Any]:
        d = to_dict(self)
        if getattr(self, "ou_id", None):
            d["OrganizationalUnitId"] = self.ou_id
        return d

    # The stack set records what AWS returns from DescribeStackSet.
    api_create_stack_set = responses.CloudFormationResponse.create_stack_set

    def create_stack_set(self: Any) -> Any:
        result = api_create_stack_set(self)
        stack_set = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
        stack_set.auto_deployment = self._get_params().get("AutoDeployment")
        stack_set.capabilities = self._get_param("Capabilities", [])
        stack_set.organizational_unit_ids = []
        stack_set.cmk_regions = []
        return result

    api_create_instances = responses.CloudFormationResponse.create_stack_instances

    def create_stack_instances(self: Any) -> Any:
        name = self._get_param("StackSetName")
        wanted = take_operation_id(self, name)
        before = pairs(self.cloudformation_backend.describe_stack_set(name))
        result = api_create_instances(self)
        stack_set = self.cloudformation_backend.describe_stack_set(name)
        targets = (self._get_params().get("DeploymentTargets") or {}).get("OrganizationalUnitIds", [])
        stack_set.organizational_unit_ids = sorted(set(getattr(stack_set, "organizational_unit_ids", [])) | set(targets))
        stack_set.cmk_regions = sorted(set(getattr(stack_set, "cmk_regions", [])) | set(self._get_param("Regions", [])))
        return finish_operation(self, name, wanted, result, pairs(stack_set) - before)

    # DeleteStackInstances: DeploymentTargets were ignored (moto: "not yet implemented").
    api_delete_instances = responses.CloudFormationResponse.delete_stack_instances

    def delete_stack_instances(self: Any) -> Any:
        name = self._get_param("StackSetName")
        wanted = take_operation_id(self, name)
        stack_set = self.cloudformation_backend.describe_stack_set(name)
        before = pairs(stack_set)
        ous = (self._get_params().get("DeploymentTargets") or {}).get("OrganizationalUnitIds", [])
        regions = self._get_param("Regions", [])
        accounts = [a for a, _ in _accounts_below(stack_set.instances.org_backend, ous)]
        accounts += [i.account_id for i in stack_set.stack_instances if i.region_name in regions
                     and getattr(i, "ou_id", None) in ous]
        if accounts:
            stack_set.instances.delete(sorted(set(accounts)), regions)
        result = api_delete_instances(self)
        stack_set.organizational_unit_ids = [
            o for o in getattr(stack_set, "organizational_unit_ids", [])
            if o not in ous or any(getattr(i, "ou_id", None) == o for i in stack_set.stack_instances)
        ]
        return finish_operation(self, name, wanted, result, before - pairs(stack_set))

    # UpdateStackSet: moto records the new template but leaves every instance's resources as they
    # were; AWS redeploys each instance. AutoDeployment is updatable too.
    api_update_stack_set = responses.CloudFormationResponse.update_stack_set

    def update_stack_set(self: Any) -> Any:
        name = self._get_param("StackSetName")
        wanted = take_operation_id(self, name)
        result = api_update_stack_set(self)
        stack_set = self.cloudformation_backend.describe_stack_set(name)
        if self._get_params().get("AutoDeployment") is not None:
            stack_set.auto_deployment = self._get_params()["AutoDeployment"]
        if self._get_param("Capabilities"):
            stack_set.capabilities = self._get_param("Capabilities")
        stack_set.instances.template = stack_set.template
        stack_set.instances.parameters = stack_set.parameters
        for i, old in enumerate(list(stack_set.stack_instances)):
            old.delete()
            new = models.StackInstance(
                account_id=old.account_id, region_name=old.region_name,
                stackset_id=old.stackset_id, stack_name=old.stack_name, name=old.name,
                template=stack_set.template, parameters=dict(stack_set.parameters),
                permission_model=old.permission_model,
            )
            new.ou_id = getattr(old, "ou_id", None)
            stack_set.stack_instances[i] = new
        return finish_operation(self, name, wanted, result, pairs(stack_set))

    # Automatic deployment: an account that moves into a target OU gets the stack set's instances
    # in its Regions; one that moves out loses them (unless RetainStacksOnAccountRemoval).
    move_account = OrganizationsBackend.move_account

    def moved(self: Any, **kwargs: Any) -> None:
        move_account(self, **kwargs)
        account = kwargs["AccountId"]
        for region_backends in [models.cloudformation_backends[self.account_id]]:
            for backend in list(region_backends.values()):
                for stack_set in backend.stacksets.values():
                    auto = getattr(stack_set, "auto_deployment", None) or {}
                    if stack_set.status != "ACTIVE" or not auto.get("Enabled"):
                        continue
                    ous = getattr(stack_set, "organizational_unit_ids", [])
                    below = dict(_accounts_below(self, ous))
                    regions = getattr(stack_set, "cmk_regions", [])
                    if account in below:
                        stack_set.instances.create_instances(
                            [], regions, None, {"OrganizationalUnitIds": [below[account]]},
                            permission_model=stack_set.permission_model)
                    elif not auto.get("RetainStacksOnAccountRemoval"):
                        stack_set.instances.delete([account], regions)

    _ = ValidationError
    models.StackInstances.create_instances = create_instances
    models.StackInstance.to_dict = instance_dict
    responses.CloudFormationResponse.create_stack_set = create_stack_set
    responses.CloudFormationResponse.create_stack_instances = create_stack_instances
    responses.CloudFormationResponse.delete_stack_instances = delete_stack_instances
    responses.CloudFormationResponse.update_stack_set = update_stack_set
    OrganizationsBackend.move_account = moved


STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"


def organizations_access() -> None:
    from moto.cloudformation import responses

    def enabled(response: Any) -> tuple[Any, bool]:
        org = _org_of(response.current_account, response.partition)
        return org, any(s["ServicePrincipal"] == STACKSETS_PRINCIPAL for s in org.services)

    def describe(self: Any) -> Any:
        _, on = enabled(self)
        return responses.ActionResult({"Status": "ENABLED" if on else "DISABLED"})

    def activate(self: Any) -> Any:
        org, on = enabled(self)
        if not on:
            org.enable_aws_service_access(ServicePrincipal=STACKSETS_PRINCIPAL)
        return responses.EmptyResult()

    responses.CloudFormationResponse.describe_organizations_access = describe
    responses.CloudFormationResponse.activate_organizations_access = activate


_CFN_MODELS: list[Any] = []


def _config_cfn_model(module: str, cfn_type: str, name_key: str,
                      create: Any, delete: Any) -> None:
    """Registers a CloudFormation model for a Config resource moto's CloudFormation lacks:
    `create(account, region, name, properties)` makes it (the logical name stands in for the
    physical one), `delete(account, region, name)` removes it with the stack."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    class Model(CloudFormationModel):
        __module__ = module  # moto's model registry keys on the service in the module name

        def __init__(self, account_id: str, region: str, name: str) -> None:
            self.account_id, self.region, self.name = account_id, region, name

        @staticmethod
        def cloudformation_type() -> str:
            return cfn_type

        @staticmethod
        def cloudformation_name_type() -> str:
            return name_key

        @property
        def physical_resource_id(self) -> str:
            return self.name

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return False

        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                            account_id: str, region_name: str, **kwargs: Any) -> Any:
            create(account_id, region_name, resource_name, dict(cloudformation_json.get("Properties", {})))
            return cls(account_id, region_name, resource_name)

        def delete(self, account_id: str, region_name: str) -> None:
            delete(self.account_id, self.region, self.name)

    # CloudFormationModel.__subclasses__() holds classes weakly: keep this one alive.
    _CFN_MODELS.append(Model)
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


def config_rule_resource() -> None:
    from moto.config.models import config_backends

    def create(account: str, region: str, name: str, rule: dict[str, Any]) -> None:
        rule["ConfigRuleName"] = name
        if isinstance(rule.get("InputParameters"), dict):
            rule["InputParameters"] = json.dumps(rule["InputParameters"])
        config_backends[account][region].put_config_rule(rule)

    _config_cfn_model("moto.config.cmk_guardrails", "AWS::Config::ConfigRule", "ConfigRuleName",
                      create, lambda account, region, name:
                      config_backends[account][region].delete_config_rule(name))


def secret_replica_keys() -> None:
    """AWS: `ReplicaRegionType.KmsKeyId` is "the ARN, key ID, or alias of the KMS key to encrypt the
    secret. If you don't include this field, Secrets Manager uses aws/secretsmanager"
    (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ReplicaRegionType.html), and
    DescribeSecret's `ReplicationStatus[].KmsKeyId` is "Can be an ARN, Key ID, or Alias"
    (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ReplicationStatusType.html).
    The replica in its own Region is a secret encrypted with that key, so its DescribeSecret and
    ListSecrets carry it as `KmsKeyId`, omitted for aws/secretsmanager as for any secret
    (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html).
    moto drops the requested key and records aws/secretsmanager for every replica."""
    from moto.secretsmanager import models

    default = models.SecretsManagerBackend.DEFAULT_KMS_KEY_ALIAS
    original_create = models.FakeSecret.create_replicas
    original_to_dict = models.ReplicaSecret.to_dict

    def create_replicas(self: Any, replica_regions: Any, force_overwrite: bool) -> Any:
        replicas = original_create(self, replica_regions, force_overwrite=force_overwrite)
        for replica, requested in zip(replicas, replica_regions or []):
            if requested.get("KmsKeyId"):
                replica.config["KmsKeyId"] = requested["KmsKeyId"]
        return replicas

    def replica_to_dict(self: Any) -> dict[str, Any]:
        dct = original_to_dict(self)
        dct.pop("KmsKeyId", None)
        if self.config["KmsKeyId"] != default:
            dct["KmsKeyId"] = self.config["KmsKeyId"]
        return dct

    models.FakeSecret.create_replicas = create_replicas
    models.ReplicaSecret.to_dict = replica_to_dict


def _config_may_invoke(statement: dict[str, Any], account: str) -> bool:
    """Whether a function policy statement lets AWS Config of `account` invoke the function."""
    principal = statement.get("Principal") or {}
    service = principal.get("Service") if isinstance(principal, dict) else None
    services = service if isinstance(service, list) else [service]
    actions = statement.get("Action")
    actions = actions if isinstance(actions, list) else [actions]
    if statement.get("Effect") != "Allow" or "config.amazonaws.com" not in services:
        return False
    if not any(a in ("lambda:InvokeFunction", "lambda:*", "*") for a in actions):
        return False
    source = (statement.get("Condition") or {}).get("StringEquals", {}).get("AWS:SourceAccount")
    return source in (None, account)


def cross_account_rule_functions() -> None:
    """A custom rule's source may be a Lambda function of another account: AWS Config invokes it
    as the service principal `config.amazonaws.com`, so the function's resource-based policy must
    allow that principal (AWS recommends the `SourceAccount` condition), and PutConfigRule
    refuses a function it cannot invoke with InsufficientPermissionsException ("the AWS Lambda
    function cannot be invoked. Check the function ARN, and check the function's permissions":
    https://docs.aws.amazon.com/config/latest/APIReference/API_PutConfigRule.html; the
    cross-account permission: https://docs.aws.amazon.com/lambda/latest/dg/permissions-function-cross-account.html
    and https://docs.aws.amazon.com/config/latest/developerguide/evaluate-config_develop-rules_nodejs.html).
    moto looks the function up in the rule's own account only, so every cross-account source
    was refused. Same-account sources keep moto's own existence check."""
    from moto.awslambda.utils import get_backend
    from moto.config import models
    from moto.config.exceptions import InsufficientPermissionsException

    original = models.Source.__init__

    def init(self: Any, account_id: str, region: str, owner: str, source_identifier: str,
             source_details: Any = None) -> None:
        arn = (source_identifier or "").split(":")
        if owner == "CUSTOM_LAMBDA" and len(arn) >= 7 and arn[2] == "lambda" and arn[4] != account_id:
            try:
                wire = json.loads(get_backend(arn[4], arn[3]).get_policy(source_identifier))
                policy = json.loads(wire["Policy"])  # GetPolicy's answer holds it as a string
            except Exception:  # no such function, or a function without a policy
                policy = {"Statement": []}
            if not any(_config_may_invoke(st, account_id) for st in policy.get("Statement", [])):
                raise InsufficientPermissionsException(
                    f"The AWS Lambda function {source_identifier} cannot be invoked. Check the "
                    f"specified function ARN, and check the function's permissions")
            original(self, arn[4], arn[3], owner, source_identifier, source_details)
            return
        original(self, account_id, region, owner, source_identifier, source_details)

    models.Source.__init__ = init


def _trust_allows(document: str, caller_arn: str, caller_account: str) -> bool:
    """Whether a role's trust policy lets `caller_arn` call sts:AssumeRole. Principals: `*`, an
    account id or its `root` ARN (any principal of that account), a role ARN (that role's
    sessions), a user ARN. A statement with a Condition is not evaluated and grants nothing."""
    try:
        statements = json.loads(document).get("Statement", [])
    except (TypeError, ValueError):
        return False
    statements = statements if isinstance(statements, list) else [statements]
    session_role = None
    parts = caller_arn.split(":")
    if len(parts) >= 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        session_role = f"arn:{parts[1]}:iam::{parts[4]}:role/{parts[5].split('/')[1]}"
    for st in statements:
        actions = st.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if st.get("Effect") != "Allow" or st.get("Condition"):
            continue
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        principal = st.get("Principal")
        aws = principal.get("AWS", []) if isinstance(principal, dict) else principal
        aws = aws if isinstance(aws, list) else [aws]
        for p in aws:
            if p == "*" or p == caller_account or p == caller_arn:
                return True
            if isinstance(p, str) and p.endswith(f":iam::{caller_account}:root"):
                return True
            if session_role is not None and isinstance(p, str) and \
                    p.split(":role/")[0] == session_role.split(":role/")[0] and \
                    p.rsplit("/", 1)[-1] == session_role.rsplit("/", 1)[-1]:
                return True
    return False


def assume_role_trust() -> None:
    """AssumeRole succeeds only for a role that exists and whose trust policy names the caller:
    "The trust policy of the role … specifies who can assume the role", and a caller the trust
    policy does not allow gets AccessDenied
    (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_manage-assume.html). moto issues
    credentials for any role ARN, existing or not, so a member account without our role could
    never fail as it does in AWS. (The refusal carries AWS's code and message; moto serialises it
    with status 400 where AWS sends 403: clients classify by the code.)"""
    from moto.core.exceptions import ServiceException
    from moto.iam.models import iam_backends
    from moto.sts import responses
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    class AccessDenied(ServiceException):
        code = "AccessDenied"

    original = responses.TokenResponse.assume_role

    def assume_role(self: Any) -> Any:
        role_arn = self._get_param("RoleArn") or ""
        partition = get_partition(self.region)
        _, caller_arn, caller_account = sts_backends[self.current_account][partition] \
            .get_caller_identity(self.get_access_key(), self.region)
        parts = role_arn.split(":")
        role = None
        if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
            try:
                role = iam_backends[parts[4]][parts[1]].get_role_by_arn(role_arn)
            except Exception:  # no such role
                role = None
        if role is None or not _trust_allows(role.assume_role_policy_document, caller_arn, caller_account):
            error = AccessDenied(
                f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
            raise error
        return original(self)

    responses.TokenResponse.assume_role = assume_role


def _aggregator_covers(aggregator: Any, owner: str, account: str, region: str) -> bool:
    """Whether `owner`'s aggregator collects the data of `account` in `region`: an organization
    source covers the owner's organization and the owner, account sources their listed accounts;
    either in its listed Regions, or every Region with `AllAwsRegions`."""
    source = aggregator.organization_aggregation_source
    if source is None:
        sources = aggregator.account_aggregation_sources or []
        return any(account in s.account_ids and (s.all_aws_regions or region in (s.aws_regions or []))
                   for s in sources)
    if not (source.all_aws_regions or region in (source.aws_regions or [])):
        return False
    members = {a.id for a in _org_of(owner).accounts}
    return account in members or account == owner


def organization_aggregator() -> None:
    """An organization aggregator (`OrganizationAggregationSource`) collects the Config data of
    every account in the organization, in its Regions (all with `AllAwsRegions`), and
    GetAggregateComplianceDetailsByConfigRule returns the evaluation results of one rule in one of
    those accounts and Regions: `ConfigurationAggregatorName`, `ConfigRuleName`, `AccountId`,
    `AwsRegion` required, `ComplianceType` optional (COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE),
    `Limit` 0-100 ("The default is 50"), `NextToken`; results carry `AccountId` and `AwsRegion`;
    an unknown aggregator is NoSuchConfigurationAggregatorException
    (https://docs.aws.amazon.com/config/latest/APIReference/API_GetAggregateComplianceDetailsByConfigRule.html,
    https://docs.aws.amazon.com/config/latest/developerguide/aggregate-data.html). moto has the
    aggregator but not this call, and no CloudFormation model for
    `AWS::Config::ConfigurationAggregator`
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-config-configurationaggregator.html).
    Results are the evaluations recorded by `recorded_evaluations` (moto issues no result tokens:
    the token stands in for the rule's name). Aggregators in AWS lag behind the members' data; here
    they do not."""
    from moto.config.exceptions import (
        InvalidNextTokenException,
        InvalidParameterValueException,
        NoSuchConfigurationAggregatorException,
    )
    from moto.config.models import config_backends
    from moto.config.responses import ConfigResponse

    def get_aggregate_compliance_details_by_config_rule(self: Any) -> str:
        name = self._get_param("ConfigurationAggregatorName")
        rule = self._get_param("ConfigRuleName")
        account = self._get_param("AccountId")
        region = self._get_param("AwsRegion")
        wanted = self._get_param("ComplianceType")
        limit = self._get_param("Limit") or 50
        token = self._get_param("NextToken")
        aggregator = self.config_backend.config_aggregators.get(name)
        if aggregator is None:
            raise NoSuchConfigurationAggregatorException()
        if not isinstance(limit, int) or not 0 <= limit <= 100:
            raise InvalidParameterValueException("Limit must be between 0 and 100.")
        results = []
        if _aggregator_covers(aggregator, self.current_account, account, region):
            store = config_backends[account][region].__dict__.get("cmk_evaluations", {})
            for (token_rule, _, _), r in sorted(store.items()):
                if token_rule == rule and (not wanted or r["ComplianceType"] == wanted):
                    results.append({**r, "AccountId": account, "AwsRegion": region})
        start = 0
        if token:
            if not token.isdigit() or int(token) > len(results):
                raise InvalidNextTokenException()
            start = int(token)
        end = start + limit
        body: dict[str, Any] = {"AggregateEvaluationResults": results[start:end]}
        if end < len(results):
            body["NextToken"] = str(end)
        return json.dumps(body)

    def create(account: str, region: str, name: str, props: dict[str, Any]) -> None:
        props["ConfigurationAggregatorName"] = name
        config_backends[account][region].put_configuration_aggregator(props)

    _config_cfn_model("moto.config.cmk_guardrails_aggregator", "AWS::Config::ConfigurationAggregator",
                      "ConfigurationAggregatorName", create, lambda account, region, name:
                      config_backends[account][region].delete_configuration_aggregator(name))
    ConfigResponse.get_aggregate_compliance_details_by_config_rule = \
        get_aggregate_compliance_details_by_config_rule


# Patch 13: the advanced-query subset. The parser and evaluator below know nothing of moto.

class _BadExpression(ValueError):
    """An expression outside the supported subset; becomes InvalidExpressionException."""


_TOKEN = re.compile(r"""\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)
    |(?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)|(?P<op><>|!=|<=|>=|[(),=*<>])|(?P<bad>\S))""", re.X)
_KEYWORDS = {"select", "where", "and", "or", "in", "like", "true", "false"}
# Part of Config's language (https://docs.aws.amazon.com/config/latest/developerguide/query-components.html)
# or of SQL, but not of the subset served here.
_UNSUPPORTED = {"not", "between", "order", "group", "by", "having", "as", "distinct", "from", "join",
                "union", "limit", "asc", "desc", "is", "null", "all", "any", "exists", "case"}


def _tokens(text: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for m in _TOKEN.finditer(text):  # skips nothing: `bad` takes any other character
        kind = m.lastgroup or "bad"
        value = m.group(kind)
        if kind == "bad":
            raise _BadExpression(f"Unexpected character {value!r} at position {m.start(kind)}.")
        if kind == "str":
            found.append(("str", value[1:-1].replace("''", "'")))
        elif kind == "num":
            found.append(("num", float(value) if "." in value else int(value)))
        elif kind == "op":
            found.append(("op", value))
        elif "." not in value and value.lower() in _KEYWORDS:
            found.append(("kw", value.lower()))
        elif "." not in value and value.lower() in _UNSUPPORTED:
            raise _BadExpression(f"{value.upper()} is not supported by this emulator's query subset.")
        elif text[m.end():].lstrip().startswith("("):
            raise _BadExpression(f"Function {value}() is not supported by this emulator's query subset.")
        else:
            found.append(("name", value))
    return found


class _Query:
    """`SELECT <prop>[, ...] [WHERE <condition>]`: comparisons `=`, `IN (...)` and `LIKE 'abc%'`
    joined by AND (binding tighter) and OR, with parentheses. A condition is a tuple:
    ("or" | "and", [conditions]), ("=", path, [literals]) or ("like", path, prefix)."""

    def __init__(self, expression: str) -> None:
        self.tokens, self.pos = _tokens(expression), 0
        self.expect("kw", "select")
        self.fields = [self.path()]
        while self.accept("op", ","):
            self.fields.append(self.path())
        self.where = self.disjunction() if self.accept("kw", "where") else None
        if self.pos < len(self.tokens):
            raise _BadExpression(f"Unexpected {self.describe()}.")

    def describe(self) -> str:
        if self.pos >= len(self.tokens):
            return "end of expression"
        kind, value = self.tokens[self.pos]
        return f"{value!r}" if kind == "str" else str(value).upper() if kind == "kw" else str(value)

    def accept(self, kind: str, value: Any = None) -> bool:
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] == kind \
                and value in (None, self.tokens[self.pos][1]):
            self.pos += 1
            return True
        return False

    def expect(self, kind: str, value: Any) -> None:
        if not self.accept(kind, value):
            raise _BadExpression(f"Expected {str(value).upper()}, found {self.describe()}.")

    def path(self) -> str:
        if self.pos < len(self.tokens) and self.tokens[self.pos] == ("op", "*"):
            raise _BadExpression("SELECT * is not supported by this emulator's query subset.")
        if self.pos >= len(self.tokens) or self.tokens[self.pos][0] != "name":
            raise _BadExpression(f"Expected a property, found {self.describe()}.")
        self.pos += 1
        return self.tokens[self.pos - 1][1]

    def disjunction(self) -> Any:
        terms = [self.conjunction()]
        while self.accept("kw", "or"):
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else ("or", terms)

    def conjunction(self) -> Any:
        terms = [self.comparison()]
        while self.accept("kw", "and"):
            terms.append(self.comparison())
        return terms[0] if len(terms) == 1 else ("and", terms)

    def comparison(self) -> Any:
        if self.accept("op", "("):
            inner = self.disjunction()
            self.expect("op", ")")
            return inner
        path = self.path()
        if self.accept("op", "="):
            return ("=", path, [self.literal()])
        if self.accept("kw", "in"):
            self.expect("op", "(")
            values = [self.literal()]
            while self.accept("op", ","):
                values.append(self.literal())
            self.expect("op", ")")
            return ("=", path, values)
        if self.accept("kw", "like"):
            pattern = self.literal()
            if not (isinstance(pattern, str) and len(pattern) >= 4 and pattern.endswith("%")
                    and "%" not in pattern[:-1] and "_" not in pattern):
                raise _BadExpression(f"LIKE {pattern!r} is not supported by this emulator's query subset: only a "
                                     "prefix of at least 3 characters (no _ or %) and one trailing %.")
            return ("like", path, pattern[:-1])
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "op":
            raise _BadExpression(f"Operator {self.describe()} is not supported by this emulator's query subset.")
        raise _BadExpression(f"Expected =, IN or LIKE after {path}, found {self.describe()}.")

    def literal(self) -> Any:
        if self.pos < len(self.tokens):
            kind, value = self.tokens[self.pos]
            if kind in ("str", "num") or (kind == "kw" and value in ("true", "false")):
                self.pos += 1
                return value == "true" if kind == "kw" else value
        raise _BadExpression(f"Expected a literal, found {self.describe()}.")


def _leaves(node: Any, parts: list[str]) -> list[Any]:
    """The values at a dotted path; a path crossing an array reaches into every element."""
    if isinstance(node, list):
        return [v for element in node for v in _leaves(element, parts)]
    if not parts:
        return [node]
    if isinstance(node, dict) and parts[0] in node:
        return _leaves(node[parts[0]], parts[1:])
    return []


def _equal(value: Any, literal: Any) -> bool:
    # Python's True == 1: compare booleans, numbers and strings only with their own kind.
    if isinstance(value, bool) or isinstance(literal, bool):
        return isinstance(value, bool) and isinstance(literal, bool) and value == literal
    if isinstance(value, (int, float)) and isinstance(literal, (int, float)):
        return value == literal
    return isinstance(value, str) and isinstance(literal, str) and value == literal


def _holds(condition: Any, item: dict[str, Any]) -> bool:
    op = condition[0]
    if op in ("and", "or"):
        return (all if op == "and" else any)(_holds(c, item) for c in condition[1])
    values = _leaves(item, condition[1].split("."))
    if op == "like":
        return any(isinstance(v, str) and v.startswith(condition[2]) for v in values)
    return any(_equal(v, literal) for v in values for literal in condition[2])


def _only(condition: Any, path: str) -> set[Any] | None:
    """The values `path` must take for `condition` to hold, when the condition says so at its top
    level (`path = v`, `path IN (...)`, or an AND holding one of those); None when it does not.
    Lets a query skip building items it would filter out anyway: an optimisation, never a filter."""
    if condition is None:
        return None
    if condition[0] == "=" and condition[1] == path:
        return set(condition[2])
    if condition[0] == "and":
        for c in condition[1]:
            if (found := _only(c, path)) is not None:
                return found
    return None


_MISSING = object()


def _project(node: Any, selection: dict[str, Any] | None) -> Any:
    """The part of `node` the selection tree names (None: all of it); arrays are mapped."""
    if selection is None:
        return node
    if isinstance(node, list):
        return [p for p in (_project(e, selection) for e in node) if p is not _MISSING]
    if not isinstance(node, dict):
        return _MISSING
    out = {}
    for name, below in selection.items():
        if name in node and (value := _project(node[name], below)) is not _MISSING:
            out[name] = value
    return out or _MISSING


def _selection(fields: list[str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for field in fields:
        node, parts = tree, field.split(".")
        for part in parts[:-1]:
            if part in node and node[part] is None:
                break  # an enclosing property is selected whole
            node = node.setdefault(part, {})
        else:
            node[parts[-1]] = None
    return tree


def _iso(when: Any) -> str:
    """Config's timestamp form, e.g. 2024-05-01T12:00:00.123Z; moto keeps naive UTC datetimes
    or epoch seconds."""
    if isinstance(when, (int, float)):
        when = datetime.fromtimestamp(when, timezone.utc)
    elif when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _bean_name(name: str) -> str:
    """Config records DynamoDB and KMS configurations under the Java SDK's bean property names,
    which lower-case the leading capitals: SSEType → ssetype, KMSMasterKeyArn → kmsmasterKeyArn,
    AWSAccountId → awsaccountId (the names the aws-config-resource-schema property lists show)."""
    capitals = len(name) - len(name.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    return name[:capitals].lower() + name[capitals:]


def _existing(backends: Any, account: str, region: str) -> Any | None:
    """A service's backend for (account, Region) if moto has made one; never creates one."""
    by_region = dict.get(backends, account)
    return dict.get(by_region, region) if by_region is not None else None


def _recorded_types(account: str, region: str) -> Any | None:
    """Which types the account's recorder in the Region records, as a predicate, or None when
    nothing is recorded there (no recorder, or a recorder that is not recording)."""
    from moto.config.models import config_backends

    backend = _existing(config_backends, account, region)
    recorder = next(iter(backend.recorders.values()), None) if backend else None
    if recorder is None or not recorder.status.recording:
        return None
    group = recorder.recording_group
    if group.all_supported:
        return lambda resource_type: True
    if (group.recording_strategy or {}).get("useOnly") == "EXCLUSION_BY_RESOURCE_TYPES":
        excluded = (group.exclusion_by_resource_types or {}).get("resourceTypes", [])
        return lambda resource_type: resource_type not in excluded
    return lambda resource_type: resource_type in (group.resource_types or [])


def _config_item(account: str, region: str, resource_type: str, resource_id: str, name: str, arn: str,
                 created: Any, now: str, configuration: dict[str, Any], tags: Any,
                 supplementary: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "accountId": account, "awsRegion": region, "resourceType": resource_type,
        "resourceId": resource_id, "resourceName": name, "arn": arn,
        "configurationItemStatus": "OK",
        # moto keeps no capture times: the resource's creation time, else the query's time.
        "configurationItemCaptureTime": _iso(created) if created else now,
        "tags": [{"key": k, "value": v, "tag": f"{k}={v}"} for k, v in sorted(tags)],
        "configuration": configuration,
        "supplementaryConfiguration": supplementary or {},
    }


def _kinesis_streams(account: str, region: str) -> Any:
    from moto.kinesis.models import kinesis_backends

    backend = _existing(kinesis_backends, account, region)
    return [(stream.stream_name, stream) for stream in (list(backend.streams.values()) if backend else [])]


def _kinesis_stream(account: str, region: str, now: str, stream: Any) -> dict[str, Any]:
    configuration = {"Name": stream.stream_name, "Arn": stream.arn, "ShardCount": stream.shard_count,
                     "RetentionPeriodHours": stream.retention_period_hours}
    if stream.encryption_type == "KMS":
        configuration["StreamEncryption"] = {"EncryptionType": "KMS", "KeyId": stream.key_id}
    return _config_item(account, region, "AWS::Kinesis::Stream", stream.stream_name, stream.stream_name,
                        stream.arn, stream.creation_datetime, now, configuration, stream.tags.items())


def _secrets(account: str, region: str) -> Any:
    from moto.secretsmanager.models import secretsmanager_backends

    backend = _existing(secretsmanager_backends, account, region)
    return [(secret.arn, secret) for secret in (list(dict.values(backend.secrets)) if backend else [])]


def _secret(account: str, region: str, now: str, secret: Any) -> dict[str, Any]:
    from moto.secretsmanager.models import ReplicaSecret, SecretsManagerBackend

    replica = isinstance(secret, ReplicaSecret)
    primary = secret.source if replica else secret
    key = secret.config["KmsKeyId"] if replica else secret.kms_key_id
    configuration = {"ARN": secret.arn, "Name": secret.name, "Deleted": secret.is_deleted(),
                     "RotationEnabled": primary.rotation_enabled}
    if secret.description:
        configuration["Description"] = secret.description
    # Absent for aws/secretsmanager, as DescribeSecret omits it.
    if key and key != SecretsManagerBackend.DEFAULT_KMS_KEY_ALIAS:
        configuration["KMSKeyId"] = key
    tags = [(t["Key"], t["Value"]) for t in secret.tags or []]
    # moto records no creation time for a replica.
    return _config_item(account, region, "AWS::SecretsManager::Secret", secret.arn, secret.name, secret.arn,
                        None if replica else secret.created_date, now, configuration, tags)


def _dynamodb_tables(account: str, region: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    backend = _existing(dynamodb_backends, account, region)
    return [(table.name, table) for table in (list(backend.tables.values()) if backend else [])]


def _dynamodb_table(account: str, region: str, now: str, table: Any) -> dict[str, Any]:
    described = table.describe()["TableDescription"]
    configuration = {"tableName": described["TableName"], "tableArn": described["TableArn"],
                     "tableStatus": described["TableStatus"]}
    # As moto's DescribeTable reports it (moto has no table id and no replicas).
    if "SSEDescription" in described:
        configuration["ssedescription"] = {_bean_name(k): v for k, v in described["SSEDescription"].items()}
    tags = [(t["Key"], t["Value"]) for t in table.tags]
    return _config_item(account, region, "AWS::DynamoDB::Table", table.name, table.name, table.table_arn,
                        table.created_at, now, configuration, tags)


# The URL of the request being answered: SQS hands out queue URLs on the host the caller used,
# and so does Config's item of the queue in this emulator (see `recorded_inventory`).
_REQUEST_URL: contextvars.ContextVar[Any] = contextvars.ContextVar("request_url", default=None)


def _queue_url(queue: Any) -> str:
    """The URL SQS gives the queue for the request being answered; outside a request, AWS's own."""
    request_url = _REQUEST_URL.get()
    return queue.url(request_url) if request_url is not None else queue.physical_resource_id


def _sqs_queues(account: str, region: str) -> Any:
    from moto.sqs.models import sqs_backends

    backend = _existing(sqs_backends, account, region)
    return [(_queue_url(queue), queue) for queue in (list(backend.queues.values()) if backend else [])]


def _sqs_queue(account: str, region: str, now: str, queue: Any) -> dict[str, Any]:
    attributes = queue.attributes
    configuration = {"QueueUrl": _queue_url(queue), "QueueName": queue.name,
                     "QueueArn": queue.queue_arn}
    # GetQueueAttributes' values, typed as the resource schema types them (moto keeps the periods
    # as integers and the flags as "true"/"false"); KmsMasterKeyId only for SSE-KMS, as
    # GetQueueAttributes reports it.
    for name in ("KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled", "FifoQueue",
                 "DelaySeconds", "MessageRetentionPeriod", "VisibilityTimeout"):
        if attributes.get(name) is not None:
            configuration[name] = attributes[name]
    return _config_item(account, region, "AWS::SQS::Queue", configuration["QueueUrl"], queue.name,
                        queue.queue_arn, datetime.fromtimestamp(queue.created_timestamp, timezone.utc), now,
                        configuration, queue.tags.items())


def _sns_topics(account: str, region: str) -> Any:
    from moto.sns.models import sns_backends

    backend = _existing(sns_backends, account, region)
    return [(topic.arn, topic) for topic in (list(backend.topics.values()) if backend else [])]


def _sns_topic(account: str, region: str, now: str, topic: Any) -> dict[str, Any]:
    configuration = {"TopicArn": topic.arn, "Owner": account}
    if topic.display_name:
        configuration["DisplayName"] = topic.display_name
    # KmsMasterKeyId as GetTopicAttributes reports it: only for an encrypted topic.
    if topic.kms_master_key_id:
        configuration["KmsMasterKeyId"] = topic.kms_master_key_id
    # moto keeps no creation time for a topic.
    return _config_item(account, region, "AWS::SNS::Topic", topic.arn, topic.name, topic.arn, None, now,
                        configuration, topic._tags.items())


def _s3_buckets(account: str, region: str) -> Any:
    from moto.s3.models import s3_backends

    # S3's backends are per partition; a bucket's item belongs to its own Region.
    backend = _existing(s3_backends, account, "aws")
    buckets = list(backend.buckets.values()) if backend else []
    return [(bucket.name, bucket) for bucket in buckets if bucket.region_name == region]


def _s3_bucket(account: str, region: str, now: str, bucket: Any) -> dict[str, Any]:
    from moto.s3.models import s3_backends

    configuration = {"name": bucket.name, "creationDate": _iso(bucket.creation_date)}
    # Config records the bucket's default encryption under supplementaryConfiguration, in
    # GetBucketEncryption's shape with the resource schema's casing
    # (aws-config-resource-schema: ServerSideEncryptionConfiguration.rules.
    # applyServerSideEncryptionByDefault.{sseAlgorithm,kmsMasterKeyID}, rules.bucketKeyEnabled).
    rule = _bucket_encryption_rule(bucket)
    by_default = rule["ApplyServerSideEncryptionByDefault"]
    encryption = {"rules": [{
        "applyServerSideEncryptionByDefault": {"sseAlgorithm": by_default["SSEAlgorithm"],
                                               "kmsMasterKeyID": by_default.get("KMSMasterKeyID")},
        "bucketKeyEnabled": rule["BucketKeyEnabled"]}]}
    tags = s3_backends[account]["aws"].tagger.get_tag_dict_for_resource(bucket.arn).items()
    return _config_item(account, region, "AWS::S3::Bucket", bucket.name, bucket.name, bucket.arn,
                        bucket.creation_date, now, configuration, tags,
                        {"ServerSideEncryptionConfiguration": encryption})


def _bucket_encryption_rule(bucket: Any) -> dict[str, Any]:
    """The bucket's default encryption rule as PutBucketEncryption stored it, else S3's own
    default: SSE-S3 without bucket keys ("all Amazon S3 buckets have encryption configured by
    default", https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-bucket-encryption.html)."""
    if bucket.encryption:
        rule = bucket.encryption["Rule"]
        # PutBucketEncryption's XML leaves BucketKeyEnabled as the text "true"/"false".
        enabled = str(rule.get("BucketKeyEnabled", False)).lower() == "true"
        return {**rule, "BucketKeyEnabled": enabled}
    return {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}


def _kms_keys(account: str, region: str) -> Any:
    from moto.kms.models import kms_backends

    backend = _existing(kms_backends, account, region)
    return [(key.id, (backend, key)) for key in (list(backend.keys.values()) if backend else [])]


def _kms_key(account: str, region: str, now: str, found: Any) -> dict[str, Any]:
    backend, key = found
    metadata = key.to_dict()["KeyMetadata"]
    configuration = {_bean_name(k): metadata[k] for k in (
        "KeyId", "Arn", "AWSAccountId", "KeyManager", "KeyState", "Enabled", "Origin", "KeyUsage",
        "Description")}
    # CreateKey's KeyUsage "Default: ENCRYPT_DECRYPT"
    # (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html); moto keeps None.
    configuration["keyUsage"] = configuration["keyUsage"] or "ENCRYPT_DECRYPT"
    if key.key_state == "PendingDeletion" and key.deletion_date:
        configuration["deletionDate"] = _iso(key.deletion_date)
    tags = [(t["TagKey"], t["TagValue"]) for t in backend.tagger.list_tags_for_resource(key.id)["Tags"]]
    return _config_item(account, region, "AWS::KMS::Key", key.id, key.id, key.arn, key.creation_date, now,
                        configuration, tags, {"KeyRotationStatus": key.key_rotation_status})


def _kms_aliases(account: str, region: str) -> Any:
    from moto.kms.models import kms_backends

    backend = _existing(kms_backends, account, region)
    # moto keeps every alias under its target key, so each one has a target.
    return [(alias.alias_name, alias) for key in (list(backend.keys.values()) if backend else [])
            for alias in list(key.aliases.values())]


def _kms_alias(account: str, region: str, now: str, alias: Any) -> dict[str, Any]:
    configuration = {"AliasName": alias.alias_name, "TargetKeyId": alias.target_key_id}
    return _config_item(account, region, "AWS::KMS::Alias", alias.alias_name, alias.alias_name,
                        alias.alias_arn, None, now, configuration, [])


# Per type: what lists its resources as (resource id, resource), cheaply, and what builds one
# resource's item, so a query builds only the items of the page it returns.
_INVENTORIES = {"AWS::Kinesis::Stream": (_kinesis_streams, _kinesis_stream),
                "AWS::SecretsManager::Secret": (_secrets, _secret),
                "AWS::DynamoDB::Table": (_dynamodb_tables, _dynamodb_table),
                "AWS::SQS::Queue": (_sqs_queues, _sqs_queue),
                "AWS::SNS::Topic": (_sns_topics, _sns_topic),
                "AWS::S3::Bucket": (_s3_buckets, _s3_bucket),
                "AWS::KMS::Key": (_kms_keys, _kms_key),
                "AWS::KMS::Alias": (_kms_aliases, _kms_alias)}


def _recorded_resources(account: str, region: str, types: set[Any] | None = None) -> list[tuple[Any, ...]]:
    """The recorded resources of (account, region), of `types` only when given, as (sort key
    [account, Region, type, id], builder, resource): the item itself is built by the caller."""
    recorded = _recorded_types(account, region)
    if recorded is None:
        return []
    return [([account, region, resource_type, resource_id], build, resource)
            for resource_type, (listed, build) in _INVENTORIES.items()
            if recorded(resource_type) and (types is None or resource_type in types)
            for resource_id, resource in listed(account, region)]


def recorded_inventory() -> None:
    """SelectResourceConfig and SelectAggregateResourceConfig answer a subset of Config's advanced
    query language over the items Config would have recorded from the emulator's own Kinesis,
    Secrets Manager, DynamoDB, SQS, SNS, S3 and KMS state, computed when the query runs
    (https://docs.aws.amazon.com/config/latest/APIReference/API_SelectResourceConfig.html,
    https://docs.aws.amazon.com/config/latest/APIReference/API_SelectAggregateResourceConfig.html).
    moto answers SelectResourceConfig only with results seeded through its own API, and lacks the
    aggregate call.

    Items: advanced queries see only resources the configuration recorder is set to record
    (https://docs.aws.amazon.com/config/latest/developerguide/querying-AWS-resources.html), so an
    (account, Region) has items only while its recorder is recording, and only of the types its
    recording group records (allSupported; the listed resourceTypes; or EXCLUSION_BY_RESOURCE_TYPES:
    all but the excluded). Shapes follow the property lists of
    https://github.com/awslabs/aws-config-resource-schema (config/properties/resource-types):
    - AWS::Kinesis::Stream, id and name the stream name: configuration {Name, Arn, ShardCount,
      RetentionPeriodHours, StreamEncryption {EncryptionType: KMS, KeyId as the stream was given
      it}}, StreamEncryption only for a KMS-encrypted stream.
    - AWS::SecretsManager::Secret, id the ARN: configuration {ARN, Name, Description, KMSKeyId
      (absent for aws/secretsmanager), Deleted (scheduled for deletion), RotationEnabled}. A
      replica moto keeps in its Region (`secret_replica_keys`) is an item of that Region with its
      own ARN and key; how Config records replicas is unverified.
    - AWS::DynamoDB::Table, id and name the table name: configuration {tableName, tableArn,
      tableStatus, ssedescription {status, ssetype, kmsmasterKeyArn}}, ssedescription as moto's
      DescribeTable reports SSEDescription (moto has no tableId and no replicas).
    - AWS::SQS::Queue, id the queue URL (the CloudFormation primary identifier; unverified for
      Config), name the queue name: configuration {QueueUrl, QueueName, QueueArn, and the
      GetQueueAttributes values typed as the resource schema types them: KmsMasterKeyId and
      KmsDataKeyReusePeriodSeconds (SSE-KMS only), SqsManagedSseEnabled and FifoQueue (strings),
      DelaySeconds, MessageRetentionPeriod, VisibilityTimeout (integers)}. The URL is the one moto's SQS gives the queue for the host of the query,
      as ListQueues does for the same caller.
    - AWS::SNS::Topic, id the topic ARN (the CloudFormation primary identifier), name the topic
      name: configuration {TopicArn, Owner, DisplayName when set, KmsMasterKeyId only for an
      encrypted topic}, as GetTopicAttributes reports them.
    - AWS::KMS::Key, id the key id: configuration {keyId, arn, awsaccountId, keyManager, keyState,
      enabled, origin, keyUsage, description, deletionDate when scheduled};
      supplementaryConfiguration {KeyRotationStatus}.
    - AWS::KMS::Alias, id and name the alias name: configuration {AliasName, TargetKeyId}.
    Every item has accountId, awsRegion, resourceType, resourceId, resourceName, arn,
    configurationItemStatus OK, configurationItemCaptureTime (ISO 8601: the resource's creation time,
    or the query's time where moto keeps none: aliases, replicas, topics) and tags [{key, value, tag}].

    Language (https://docs.aws.amazon.com/config/latest/developerguide/query-components.html), a
    subset: `SELECT <property>[, ...] [WHERE <condition>]` with dotted property paths; conditions
    `=`, `IN (...)`, `LIKE 'abc%'` (a prefix of three or more characters) on string, number and
    true/false literals, joined by AND and OR with parentheses. A condition on a path through an
    array holds if it holds for any element, each condition on its own (our reading of the page's
    "Multiple properties within an array", unverified against AWS); a missing property never
    matches. Everything else Config's
    language has (*, aggregate functions, NOT, BETWEEN, GROUP BY, ORDER BY, ...) is refused with
    InvalidExpressionException naming it, never answered wrongly. Each result is a JSON string
    holding the selected properties only, arrays mapped element by element.

    Parameters: Expression at most 4096 characters (ValidationException); Limit, and the
    aggregate's MaxResults, 0-100 (InvalidLimitException); without either "the default page size
    is set to 25" for a non-aggregation query (the aggregate's page; SelectResourceConfig's page
    names no default and gets the same); NextToken pages the order (accountId, awsRegion,
    resourceType, resourceId), and a token of another query is InvalidNextTokenException. The
    aggregate's items are those of every (account, Region) its aggregator covers, as in
    `organization_aggregator`; an unknown aggregator is NoSuchConfigurationAggregatorException."""
    from moto.config.exceptions import (
        InvalidNextTokenException,
        NoSuchConfigurationAggregatorException,
        ValidationException,
    )
    from moto.config.models import ConfigBackend, config_backends
    from moto.config.responses import ConfigResponse
    from moto.core.exceptions import JsonRESTError

    def page_size(**limits: Any) -> int:
        for name, value in limits.items():
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or not 0 <= value <= 100):
                raise JsonRESTError("InvalidLimitException", f"Value '{value}' at '{name}' failed to satisfy "
                                    "constraint: Member must have value between 0 and 100")
        return next((v for v in limits.values() if v), 25)

    def answer(expression: Any, size: int, token: str | None, scope: str,
               places: list[tuple[str, str]]) -> dict[str, Any]:
        if not isinstance(expression, str) or not 1 <= len(expression) <= 4096:
            raise ValidationException("1 validation error detected: Value at 'expression' failed to satisfy "
                                      "constraint: Member must have length between 1 and 4096")
        try:
            query = _Query(expression)
        except _BadExpression as e:
            raise JsonRESTError("InvalidExpressionException", str(e))
        now = _iso(time.time())
        order = ("accountId", "awsRegion", "resourceType", "resourceId")
        # Items a top-level account, Region or type condition rules out are not built at all.
        accounts, regions = _only(query.where, "accountId"), _only(query.where, "awsRegion")
        types = _only(query.where, "resourceType")
        places = [(a, r) for a, r in places
                  if (accounts is None or a in accounts) and (regions is None or r in regions)]
        # Resources in the order; only those after the token's are built, until the page and one
        # more (which says whether there is a next page) hold the condition.
        resources = sorted((r for account, region in places for r in _recorded_resources(account, region, types)),
                           key=lambda r: r[0])
        # The token names the query it belongs to and the last item it returned.
        owner = hashlib.sha256(f"{scope}\n{expression}".encode()).hexdigest()[:16]
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token.encode()))
                after = state["after"] if state["q"] == owner else None
            except (ValueError, TypeError, KeyError):
                after = None
            if not isinstance(after, list) or not all(isinstance(a, str) for a in after):
                raise InvalidNextTokenException()
            resources = resources[bisect.bisect_right(resources, after, key=lambda r: r[0]):]
        items = []
        for (account, region, _type, _id), build, resource in resources:
            item = build(account, region, now, resource)
            if query.where is None or _holds(query.where, item):
                items.append(item)
                if len(items) > size:
                    break
        selection = _selection(query.fields)
        page = items[:size]
        body: dict[str, Any] = {
            "Results": [json.dumps(p if (p := _project(i, selection)) is not _MISSING else {},
                                   separators=(",", ":")) for i in page],
            "QueryInfo": {"SelectFields": [{"Name": f} for f in query.fields]},
        }
        if len(items) > size:
            last = [page[-1][k] for k in order]
            body["NextToken"] = base64.urlsafe_b64encode(json.dumps({"q": owner, "after": last}).encode()).decode()
        return body

    def select_resource_config(self: Any, expression: str, limit: int | None = None,
                               next_token: str | None = None) -> tuple[list[str], dict[str, Any], str | None]:
        body = answer(expression, page_size(limit=limit), next_token, f"{self.account_id}/{self.region_name}",
                      [(self.account_id, self.region_name)])
        return body["Results"], body["QueryInfo"], body.get("NextToken")

    def api_select_resource_config(self: Any) -> str:
        _REQUEST_URL.set(urlparse(self.uri))
        # moto's handler reads the JSON body as a query string, so Expression never arrives.
        results, info, token = self.config_backend.select_resource_config(
            self._get_param("Expression"), self._get_param("Limit"), self._get_param("NextToken"))
        return json.dumps({"Results": results, "QueryInfo": info, **({"NextToken": token} if token else {})})

    def select_aggregate_resource_config(self: Any) -> str:
        _REQUEST_URL.set(urlparse(self.uri))
        name = self._get_param("ConfigurationAggregatorName")
        aggregator = self.config_backend.config_aggregators.get(name)
        if aggregator is None:
            raise NoSuchConfigurationAggregatorException()
        size = page_size(limit=self._get_param("Limit"), maxResults=self._get_param("MaxResults"))
        places = [(account, region)
                  for account, by_region in list(dict.items(config_backends))
                  for region, backend in list(dict.items(by_region))
                  if backend.recorders and _aggregator_covers(aggregator, self.current_account, account, region)]
        return json.dumps(answer(self._get_param("Expression"), size, self._get_param("NextToken"),
                                 f"{self.current_account}/{self.region}/{name}", places))

    ConfigBackend.select_resource_config = select_resource_config
    ConfigResponse.select_resource_config = api_select_resource_config
    ConfigResponse.select_aggregate_resource_config = select_aggregate_resource_config


def s3_buckets() -> None:
    """Two S3 answers as AWS documents them:

    - ListBuckets pages: with MaxBuckets it returns at most that many buckets, in name order, and
      a ContinuationToken while more remain; each bucket carries its BucketRegion
      (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html). moto cuts the list
      at MaxBuckets with no token, so every bucket after the first page would silently vanish.
    - GetBucketEncryption of a bucket without a configuration of its own answers S3's default,
      SSE-S3 without bucket keys (https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-bucket-encryption.html:
      since January 5, 2023 every bucket has it). moto answers
      ServerSideEncryptionConfigurationNotFoundError, which S3 no longer returns.
    """
    from moto.s3 import responses

    def all_buckets(self: Any) -> Any:
        self.data["Action"] = "ListAllMyBuckets"
        self._authenticate_and_authorize_s3_action()
        prefix = self._get_param("prefix")
        region = self._get_param("bucket-region")
        limit = self._get_param("max-buckets")
        token = self._get_param("continuation-token")
        buckets = sorted(self.backend.list_buckets(prefix=prefix, bucket_region=region, max_buckets=None),
                         key=lambda b: b.name)
        if token:
            after = base64.urlsafe_b64decode(token.encode()).decode()
            buckets = [b for b in buckets if b.name > after]
        result: dict[str, Any] = {"Owner": {"ID": "bcaf1ffd86f41161ca5fb16fd081034f", "DisplayName": "webfile"}}
        if limit and len(buckets) > int(limit):
            buckets = buckets[: int(limit)]
            result["ContinuationToken"] = base64.urlsafe_b64encode(buckets[-1].name.encode()).decode()
        if prefix:
            result["Prefix"] = prefix
        result["Buckets"] = [{"Name": b.name, "CreationDate": b.creation_date_ISO8601,
                              "BucketRegion": b.region_name} for b in buckets]
        self.data["Action"] = "ListBuckets"
        return self.serialized(responses.ActionResult(result))

    def get_bucket_encryption(self: Any) -> Any:
        self.data["Action"] = "GetBucketEncryption"
        rule = _bucket_encryption_rule(self.backend.get_bucket(self.bucket_name))
        result_rule = {"ApplyServerSideEncryptionByDefault": rule["ApplyServerSideEncryptionByDefault"],
                       "BucketKeyEnabled": rule["BucketKeyEnabled"]}
        return self.serialized(responses.ActionResult(
            {"ServerSideEncryptionConfiguration": {"Rules": [result_rule]}}))

    responses.S3Response.all_buckets = all_buckets
    responses.S3Response.get_bucket_encryption = get_bucket_encryption


PATCHES = (aws_managed_keys, cross_account_keys, recorded_evaluations, seeded_config_items,
           scp_attachment_rules, service_managed_stack_sets, organizations_access,
           config_rule_resource, secret_replica_keys, cross_account_rule_functions,
           assume_role_trust, organization_aggregator, recorded_inventory, s3_buckets)


def apply() -> None:
    for patch in PATCHES:
        patch()
