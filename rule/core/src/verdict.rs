//! Configuration item + rule parameters + key facts → [`Verdict`]. The verdict table of
//! resource-shapes.md §6, applied in order: the first non-compliant finding wins.

use time::OffsetDateTime;

use crate::annotation;
use crate::evaluation::{Compliance, Evaluation};
use crate::event::{ConfigItem, ItemSummary, ParseError};
use crate::key::{
    ArnScope, CustomerKey, Described, KeyArn, KeyClass, KeyLookup, KeyRef, KeyResolver, KeyState,
    ResolveError, Rotation, Unclassified, classify,
};
use crate::params::{ALLOWED_KEY_ACCOUNTS, ALLOWED_KEY_ARNS, RuleParams};
use crate::resources::{self, Assessment, Encryption, KeyUse, Subject};

/// The result for one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// `ComplianceType`.
    pub compliance: Compliance,
    /// Annotation, already fitted to 1–256 ASCII characters.
    pub annotation: Option<String>,
}

impl Verdict {
    fn new(compliance: Compliance, text: &str) -> Verdict {
        Verdict {
            compliance,
            annotation: annotation::fit(text),
        }
    }

    /// The PutEvaluations record for `item` with this verdict.
    pub fn into_evaluation(self, item: &ConfigItem, ordering: OffsetDateTime) -> Evaluation {
        self.into_evaluation_for(&item.resource_type, &item.resource_id, ordering)
    }

    /// The PutEvaluations record for a resource named by type and id.
    pub fn into_evaluation_for(
        self,
        resource_type: &str,
        resource_id: &str,
        ordering: OffsetDateTime,
    ) -> Evaluation {
        Evaluation {
            compliance_resource_type: resource_type.to_owned(),
            compliance_resource_id: resource_id.to_owned(),
            compliance_type: self.compliance,
            annotation: self.annotation,
            ordering_timestamp: ordering,
        }
    }
}

/// A resource whose key could not be classified: it gets no evaluation, and the invocation fails.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{resource_type} {resource_id}: {key}: {reason}")]
pub struct Undetermined {
    /// Resource type.
    pub resource_type: String,
    /// Resource id.
    pub resource_id: String,
    /// The key reference (or parameter) that could not be decided.
    pub key: String,
    /// Why.
    pub reason: String,
    /// Whether a later invocation may decide it (throttling) rather than fail the same way.
    pub retryable: bool,
}

/// Why a resource has no verdict.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The item lacks or mangles a field the rule reads.
    #[error("malformed configuration item: {0}")]
    Malformed(#[from] ParseError),
    /// A key could not be classified; never guessed.
    #[error("undetermined: {0}")]
    Undetermined(#[from] Undetermined),
}

impl EvalError {
    /// Whether retrying later may succeed (throttling, outage) rather than never (bad data).
    pub fn is_retryable(&self) -> bool {
        matches!(self, EvalError::Undetermined(u) if u.retryable)
    }
}

/// Evaluates one configuration item.
///
/// NOT_APPLICABLE for deleted or unrecorded items, unsupported types and exempt resources;
/// otherwise each key use is judged and the first failure decides.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use cmk_core::{evaluate, ConfigItem, Compliance, FakeKeys, ItemStatus, RuleParams};
/// let item = ConfigItem {
///     resource_type: "AWS::SecretsManager::Secret".into(), resource_id: "db-password".into(),
///     arn: None, partition: Some(cmk_core::Partition::Aws),
///     account_id: "111122223333".into(), region: "us-east-1".into(),
///     status: ItemStatus::Ok, capture_time: time::OffsetDateTime::UNIX_EPOCH, state_id: None,
///     tags: Default::default(), configuration: Some(serde_json::json!({"Name": "db-password"})),
///     supplementary: Default::default(),
/// };
/// let v = evaluate(&item, &RuleParams::default(), &FakeKeys::default()).await.unwrap();
/// assert_eq!(v.compliance, Compliance::NonCompliant); // no KMSKeyId = aws/secretsmanager
/// # });
/// ```
pub async fn evaluate(
    item: &ConfigItem,
    params: &RuleParams,
    keys: &impl KeyResolver,
) -> Result<Verdict, EvalError> {
    if !item.status.is_live() {
        return Ok(Verdict::new(
            Compliance::NotApplicable,
            &format!("resource is {}", item.status.as_str()),
        ));
    }
    let Some(assessment) = resources::assess(item) else {
        return Ok(Verdict::new(
            Compliance::NotApplicable,
            &format!("{} is not evaluated by this rule", item.resource_type),
        ));
    };
    if let Some(tag) = &params.exempt_tag {
        let exempt = item
            .tags
            .get(&tag.key)
            .is_some_and(|v| tag.value.as_deref().is_none_or(|want| want == v));
        if exempt {
            let shown = match &tag.value {
                Some(v) => format!("{}={v}", tag.key),
                None => tag.key.clone(),
            };
            return Ok(Verdict::new(
                Compliance::NotApplicable,
                &format!("exempt by tag {shown} (rule parameter exemptTag)"),
            ));
        }
    }
    let assessment = assessment?;
    let (uses, problem) = match &assessment.subject {
        Subject::NotApplicable(reason) => {
            return Ok(Verdict::new(Compliance::NotApplicable, reason));
        }
        Subject::Encrypted { uses, problem } => (uses, problem),
    };
    let mut passes = Vec::with_capacity(uses.len());
    for key_use in uses {
        match judge(item, &assessment, key_use, params, keys).await? {
            Judgement::Pass(note) => passes.push(note),
            Judgement::Fail(why) => {
                let text = match &key_use.part {
                    Some(part) => format!("{} {part}: {why}", assessment.kind.noun),
                    None => why,
                };
                return Ok(Verdict::new(Compliance::NonCompliant, &text));
            }
        }
    }
    if let Some(problem) = problem {
        return Ok(Verdict::new(Compliance::NonCompliant, problem));
    }
    Ok(Verdict::new(Compliance::Compliant, &passes.join("; ")))
}

/// NOT_APPLICABLE for a resource that holds a result of the rule but was not found by a complete
/// sweep: Config then deletes the stale result.
pub fn vanished() -> Verdict {
    Verdict::new(
        Compliance::NotApplicable,
        "resource no longer exists (not found by the periodic sweep)",
    )
}

/// NOT_APPLICABLE for an `AWS::KMS::Key` item: the rule judges what keys protect, not keys. Its
/// change is the cue to re-evaluate the resources that use the key.
pub fn key_not_judged() -> Verdict {
    Verdict::new(
        Compliance::NotApplicable,
        "KMS keys are not judged by this rule; the resources using this key were re-evaluated",
    )
}

/// NOT_APPLICABLE for a resource that left the rule's scope (`eventLeftScope: true`); Config then
/// deletes the evaluation instead of keeping a stale verdict.
pub fn left_scope() -> Verdict {
    left_scope_verdict()
}

fn left_scope_verdict() -> Verdict {
    Verdict::new(Compliance::NotApplicable, "resource left the rule's scope")
}

/// The verdict an oversized notification's summary already settles, without fetching the item:
/// NOT_APPLICABLE when the resource left the scope, is deleted or no longer recorded, or is of a
/// type the rule does not judge (`AWS::KMS::Key` excepted: its item is fetched, as its change
/// re-evaluates the resources using it). (Fetching a deleted item may fail, which would leave
/// the stale verdict in place.)
pub fn from_summary(summary: &ItemSummary, left_scope: bool) -> Option<Verdict> {
    if left_scope {
        return Some(left_scope_verdict());
    }
    if !resources::SUPPORTED.contains(&summary.resource_type.as_str())
        && summary.resource_type != resources::KMS_KEY
    {
        return Some(Verdict::new(
            Compliance::NotApplicable,
            &format!("{} is not evaluated by this rule", summary.resource_type),
        ));
    }
    (!summary.status.is_live()).then(|| {
        Verdict::new(
            Compliance::NotApplicable,
            &format!("resource is {}", summary.status.as_str()),
        )
    })
}

enum Judgement {
    Pass(String),
    Fail(String),
}

fn undetermined(
    item: &ConfigItem,
    key: &str,
    reason: impl Into<String>,
    retryable: bool,
) -> Undetermined {
    Undetermined {
        resource_type: item.resource_type.clone(),
        resource_id: item.resource_id.clone(),
        key: key.to_owned(),
        reason: reason.into(),
        retryable,
    }
}

async fn judge(
    item: &ConfigItem,
    a: &Assessment,
    key_use: &KeyUse,
    params: &RuleParams,
    keys: &impl KeyResolver,
) -> Result<Judgement, Undetermined> {
    let noun = a.kind.noun;
    let fix = a.kind.fix;
    let alias = a.kind.service.aws_managed_alias();
    let key = match &key_use.encryption {
        Encryption::Unencrypted => {
            return Ok(Judgement::Fail(format!(
                "{noun} is not encrypted. Fix: {fix}"
            )));
        }
        Encryption::AwsOwned(setting) => {
            return Ok(Judgement::Fail(format!(
                "{noun} uses the AWS-owned key ({setting}). Fix: {fix}"
            )));
        }
        Encryption::ServiceDefault => {
            return Ok(Judgement::Fail(format!(
                "{noun} uses the AWS-managed key {alias} (no key set). Fix: {fix}"
            )));
        }
        Encryption::Kms(key) => key,
    };
    let aws_managed = |shown: &dyn std::fmt::Display| {
        Judgement::Fail(format!("{noun} uses AWS-managed key {shown}. Fix: {fix}"))
    };
    // The partition: the resource's, else the key ARN's own (a key is never used across
    // partitions); a key id or alias name with neither is not resolved in a guessed partition.
    let partition = item.partition.or_else(|| key.scope().map(|s| s.partition));
    let Some(partition) = partition else {
        if key.is_aws_managed_alias() {
            return Ok(aws_managed(key));
        }
        return Err(undetermined(
            item,
            &key.to_string(),
            "the partition is unknown: the item has no ARN and the event no configRuleArn",
            false,
        ));
    };
    let scope = ArnScope {
        partition,
        region: key_use
            .region
            .clone()
            .unwrap_or_else(|| item.region.clone()),
        account: item.account_id.clone(),
    };
    let class = classify(keys, key, a.kind.service, &scope)
        .await
        .map_err(|u: Unclassified| undetermined(item, &u.key, u.reason, u.retryable))?;
    let customer = match class {
        KeyClass::AwsManaged { shown } => return Ok(aws_managed(&shown)),
        KeyClass::NotFound => {
            return Ok(Judgement::Fail(format!(
                "key {key} not found; the {noun} cannot be decrypted. Fix: {fix}"
            )));
        }
        KeyClass::Customer(c) => c,
    };
    judge_customer(item, key, &customer, &scope, params, keys).await
}

async fn judge_customer(
    item: &ConfigItem,
    key: &KeyRef,
    customer: &CustomerKey,
    scope: &ArnScope,
    params: &RuleParams,
    keys: &impl KeyResolver,
) -> Result<Judgement, Undetermined> {
    // The key ARN, when known: from DescribeKey, or from the reference itself.
    let key_arn: Option<KeyArn> = match (&customer.facts, key) {
        (Some(f), _) => Some(f.arn.clone()),
        (None, KeyRef::KeyArn(arn)) => Some(arn.clone()),
        (None, KeyRef::KeyId(id)) => Some(KeyArn::new(scope, id.as_str())),
        (None, _) => None,
    };
    let shown = key_arn
        .as_ref()
        .map_or_else(|| key.to_string(), KeyArn::to_string);
    if let Some(facts) = &customer.facts {
        if let KeyState::Other(state) = &facts.state {
            return Err(undetermined(
                item,
                &shown,
                format!("unrecognised key state `{state}`"),
                false,
            ));
        }
        if facts.state.is_unusable() {
            return Ok(Judgement::Fail(format!(
                "customer-managed key {shown} is {}: data becomes unreadable. Fix: enable the key or cancel its deletion",
                facts.state.as_str()
            )));
        }
    }
    if !params.allowed_accounts.is_empty() {
        let account = key_arn
            .as_ref()
            .map(|arn| arn.scope.account.as_str())
            .or_else(|| key.scope().map(|s| s.account.as_str()))
            .unwrap_or(scope.account.as_str());
        if !params.allowed_accounts.contains(account) {
            return Ok(Judgement::Fail(format!(
                "key {shown} is in account {account}, not in {ALLOWED_KEY_ACCOUNTS}. Fix: re-encrypt with a key from an allowed account"
            )));
        }
    }
    if !params.allowed_keys.is_empty()
        && !allowed(item, key, key_arn.as_ref(), scope, params, keys).await?
    {
        return Ok(Judgement::Fail(format!(
            "key {shown} is not in {ALLOWED_KEY_ARNS}. Fix: re-encrypt with an allowed key"
        )));
    }
    if params.require_rotation {
        let Some(arn) = key_arn.as_ref() else {
            return Err(undetermined(
                item,
                &shown,
                "requireKeyRotation is set but the alias cannot be resolved (DescribeKey denied)",
                false,
            ));
        };
        let rotation = keys.rotation(arn).await.map_err(|e| {
            let retryable = e.is_retryable();
            undetermined(
                item,
                &shown,
                format!("GetKeyRotationStatus failed: {e}"),
                retryable,
            )
        })?;
        match rotation {
            Rotation::Enabled => {}
            Rotation::Disabled => {
                return Ok(Judgement::Fail(format!(
                    "automatic rotation is off for key {shown}. Fix: aws kms enable-key-rotation --key-id {shown}"
                )));
            }
            Rotation::Unsupported => {
                return Ok(Judgement::Fail(format!(
                    "key {shown} cannot rotate automatically (requireKeyRotation). Fix: re-encrypt with a rotating CMK"
                )));
            }
        }
    }
    let mut note = match (&customer.facts, customer.unverified_because) {
        (Some(f), _) => format!("customer-managed key {shown} ({})", f.state.as_str()),
        (None, why) => format!(
            "customer-managed key {shown}; key state unverified ({})",
            why.unwrap_or("DescribeKey denied")
        ),
    };
    if let Some(key_region) = key_arn.as_ref().map(|arn| arn.scope.region.as_str())
        && key_region != scope.region
    {
        note.push_str(&format!(
            "; key Region {key_region} differs from {}",
            scope.region
        ));
    }
    Ok(Judgement::Pass(note))
}

/// Whether the key is on the `allowedKeyArns` list. Entries match by their text, or by the key
/// ARN they resolve to (aliases are resolved through the same cached DescribeKey).
async fn allowed(
    item: &ConfigItem,
    key: &KeyRef,
    key_arn: Option<&KeyArn>,
    scope: &ArnScope,
    params: &RuleParams,
    keys: &impl KeyResolver,
) -> Result<bool, Undetermined> {
    let reference = key.in_scope(scope);
    let key_arns: Vec<&KeyArn> = [reference.key_arn(), key_arn]
        .into_iter()
        .flatten()
        .collect();
    let mut unresolved: Option<ResolveError> = None;
    for entry in &params.allowed_keys {
        let entry = entry.in_scope(scope);
        if entry == reference {
            return Ok(true);
        }
        if let Some(allowed) = entry.key_arn()
            // The key itself, or a replica of the multi-Region key (same id, another Region).
            && key_arns
                .iter()
                .any(|k| *k == allowed || k.same_multi_region_key(allowed))
        {
            return Ok(true);
        }
        let (Some(arn), Some(_)) = (key_arn, entry.alias()) else {
            continue;
        };
        match keys.describe(&KeyLookup::new(entry.clone(), scope)).await {
            Ok(Described::Found(f)) if f.arn == *arn => return Ok(true),
            Ok(_) => {}
            Err(e) => unresolved = Some(e),
        }
    }
    if key_arn.is_none() {
        return Err(undetermined(
            item,
            &key.to_string(),
            "allowedKeyArns cannot be checked: the alias cannot be resolved (DescribeKey denied)",
            false,
        ));
    }
    match unresolved {
        Some(e) => Err(undetermined(
            item,
            &key.to_string(),
            format!("an allowedKeyArns entry could not be resolved: {e}"),
            e.is_retryable(),
        )),
        None => Ok(false),
    }
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;
