//! AWS Organizations through the SDK: read the OU tree and our SCPs (observe), then apply a plan.
//! Our policies are found by name and must carry our tag; a same-named policy we did not create
//! is never touched.

use std::collections::BTreeMap;

use aws_runtime::retries::classifiers::AwsErrorCodeClassifier;
use aws_sdk_organizations::Client;
use aws_sdk_organizations::operation::{
    attach_policy, create_policy, delete_policy, detach_policy, enable_policy_type, update_policy,
};
use aws_sdk_organizations::types::{PolicyType, PolicyTypeStatus, Tag};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;

use super::ou::OrgTree;
use super::plan::{Observed, ObservedPolicy, Step};
use guardrails::render::scp::minify;

/// Tag marking the policies cmk-guardrails created.
pub const MANAGED_BY_KEY: &str = "guardrails:managed-by";
/// Its value.
pub const MANAGED_BY_VALUE: &str = "cmk-guardrails";

/// A failed Organizations call, or a state we refuse to change.
#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    /// The call failed (after the SDK's retries); the message names the operation.
    #[error("organizations:{operation}: {detail}")]
    Call {
        /// Operation name.
        operation: &'static str,
        /// Error text (AccessDenied names the missing permission).
        detail: String,
    },
    /// A policy with our name exists but is not ours.
    #[error(
        "an SCP named {name} ({id}) exists without the {MANAGED_BY_KEY} tag; cmk-guardrails will not touch it (rename ours or delete it)"
    )]
    NotOurs {
        /// Name.
        name: String,
        /// `p-…`.
        id: String,
    },
}

fn call<E: std::error::Error + ProvideErrorMetadata + 'static>(
    operation: &'static str,
) -> impl Fn(E) -> OrgError {
    move |e| OrgError::Call {
        operation,
        detail: super::cfn::describe("organizations", operation, &e),
    }
}

/// Organizations refuses concurrent writes with ConcurrentModificationException ("try again
/// later"), which the SDK's standard classifiers leave alone: the operation config that makes the
/// SDK retry it as a transient error, with the client's own attempts and backoff. It is the SDK's
/// own error-code classifier told one more code (TooManyRequestsException is throttling, retried
/// already).
pub fn retry_concurrent<E>() -> aws_sdk_organizations::config::Builder
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    const TRANSIENT: [&str; 3] = [
        "ConcurrentModificationException",
        aws_runtime::retries::classifiers::TRANSIENT_ERRORS[0],
        aws_runtime::retries::classifiers::TRANSIENT_ERRORS[1],
    ];
    aws_sdk_organizations::Config::builder().retry_classifier(
        AwsErrorCodeClassifier::<E>::builder()
            .transient_errors(&TRANSIENT[..])
            .build(),
    )
}

/// The normalised (sorted, minified) form of policy content, for comparison.
pub fn normalise(content: &str) -> String {
    serde_json::from_str::<Value>(content).map_or_else(|_| content.to_owned(), |v| minify(&v))
}

/// The read seam of Organizations: the tree, our policies, the caller. Changes go through
/// [`OrgWriter`].
#[derive(Clone, Debug)]
pub struct Organization(pub Client);

impl Organization {
    /// The root and every OU under it (paginated, all levels).
    pub async fn tree(&self) -> Result<(OrgTree, bool), OrgError> {
        let roots = self
            .0
            .list_roots()
            .send()
            .await
            .map_err(call("ListRoots"))?;
        let root = roots.roots().first().ok_or(OrgError::Call {
            operation: "ListRoots",
            detail: "no root: is this account in an organization with all features?".to_owned(),
        })?;
        let root_id = root.id().unwrap_or_default().to_owned();
        let scp_enabled = root.policy_types().iter().any(|t| {
            t.r#type() == Some(&PolicyType::ServiceControlPolicy)
                && t.status() == Some(&PolicyTypeStatus::Enabled)
        });
        let mut tree = OrgTree::new(&root_id);
        let mut queue = vec![root_id];
        while let Some(parent) = queue.pop() {
            let mut pages = self
                .0
                .list_organizational_units_for_parent()
                .parent_id(&parent)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(call("ListOrganizationalUnitsForParent"))?;
                for ou in page.organizational_units() {
                    let (Some(id), Some(name)) = (ou.id(), ou.name()) else {
                        continue;
                    };
                    tree.add(id, name, &parent);
                    queue.push(id.to_owned());
                }
            }
        }
        Ok((tree, scp_enabled))
    }

    /// Our policies among `names`, and the policies attached to each target.
    pub async fn observe(
        &self,
        names: &[String],
        targets: &[String],
        scp_enabled: bool,
    ) -> Result<Observed, OrgError> {
        let mut observed = Observed {
            scp_enabled,
            ..Observed::default()
        };
        let mut pages = self
            .0
            .list_policies()
            .filter(PolicyType::ServiceControlPolicy)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(call("ListPolicies"))?;
            for p in page.policies() {
                let (Some(id), Some(name)) = (p.id(), p.name()) else {
                    continue;
                };
                if !names.iter().any(|n| n == name) {
                    continue;
                }
                let tags = self
                    .0
                    .list_tags_for_resource()
                    .resource_id(id)
                    .send()
                    .await
                    .map_err(call("ListTagsForResource"))?;
                let ours = tags
                    .tags()
                    .iter()
                    .any(|t| t.key() == MANAGED_BY_KEY && t.value() == MANAGED_BY_VALUE);
                if !ours {
                    return Err(OrgError::NotOurs {
                        name: name.to_owned(),
                        id: id.to_owned(),
                    });
                }
                let described = self
                    .0
                    .describe_policy()
                    .policy_id(id)
                    .send()
                    .await
                    .map_err(call("DescribePolicy"))?;
                let content = described
                    .policy()
                    .and_then(|p| p.content())
                    .unwrap_or_default();
                observed.ours.insert(
                    name.to_owned(),
                    ObservedPolicy {
                        id: id.to_owned(),
                        name: name.to_owned(),
                        content: normalise(content),
                    },
                );
            }
        }
        for target in targets {
            let mut attached = std::collections::BTreeSet::new();
            let mut pages = self
                .0
                .list_policies_for_target()
                .target_id(target)
                .filter(PolicyType::ServiceControlPolicy)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(call("ListPoliciesForTarget"))?;
                attached.extend(
                    page.policies()
                        .iter()
                        .filter_map(|p| p.id().map(str::to_owned)),
                );
            }
            observed.attached.insert(target.clone(), attached);
        }
        Ok(observed)
    }
}

/// The write seam of Organizations: only `deploy` and `destroy` hold one ([`Organization::writer`]);
/// a dry run and `status` never do.
#[derive(Clone, Debug)]
pub struct OrgWriter(Client);

impl Organization {
    /// The write seam on the same client.
    pub fn writer(&self) -> OrgWriter {
        OrgWriter(self.0.clone())
    }
}

impl OrgWriter {
    /// Applies `steps` in order; returns a line per change made.
    pub async fn apply(
        &self,
        root: &str,
        observed: &Observed,
        steps: &[Step],
    ) -> Result<Vec<String>, OrgError> {
        let mut ids: BTreeMap<String, String> = observed
            .ours
            .iter()
            .map(|(n, p)| (n.clone(), p.id.clone()))
            .collect();
        let mut done = Vec::new();
        for step in steps {
            match step {
                Step::EnableScps => {
                    let r = self
                        .0
                        .enable_policy_type()
                        .root_id(root)
                        .policy_type(PolicyType::ServiceControlPolicy)
                        .customize()
                        .config_override(retry_concurrent::<
                            enable_policy_type::EnablePolicyTypeError,
                        >())
                        .send()
                        .await;
                    // Already enabled (by a concurrent run) is the state we wanted.
                    if let Err(e) = r
                        && e.code() != Some("PolicyTypeAlreadyEnabledException")
                    {
                        return Err(call("EnablePolicyType")(e));
                    }
                }
                Step::Create { name, content } => {
                    let tag = Tag::builder()
                        .key(MANAGED_BY_KEY)
                        .value(MANAGED_BY_VALUE)
                        .build()
                        .map_err(|e| OrgError::Call {
                            operation: "CreatePolicy",
                            detail: e.to_string(),
                        })?;
                    let out = self
                        .0
                        .create_policy()
                        .name(name)
                        .description("cmk-guardrails: customer-managed KMS keys (generated)")
                        .r#type(PolicyType::ServiceControlPolicy)
                        .content(content)
                        .tags(tag.clone())
                        .customize()
                        .config_override(retry_concurrent::<create_policy::CreatePolicyError>())
                        .send()
                        .await
                        .map_err(call("CreatePolicy"))?;
                    let id = out
                        .policy()
                        .and_then(|p| p.policy_summary())
                        .and_then(|s| s.id())
                        .unwrap_or_default();
                    ids.insert(name.clone(), id.to_owned());
                }
                Step::Update { id, content, .. } => {
                    self.0
                        .update_policy()
                        .policy_id(id)
                        .content(content)
                        .customize()
                        .config_override(retry_concurrent::<update_policy::UpdatePolicyError>())
                        .send()
                        .await
                        .map_err(call("UpdatePolicy"))?;
                }
                Step::Attach { name, target } => {
                    let id = ids.get(name).cloned().unwrap_or_default();
                    let r = self
                        .0
                        .attach_policy()
                        .policy_id(&id)
                        .target_id(target)
                        .customize()
                        .config_override(retry_concurrent::<attach_policy::AttachPolicyError>())
                        .send()
                        .await;
                    // Attached already (by an interrupted or concurrent run) is what we wanted.
                    if let Err(e) = r
                        && e.code() != Some("DuplicatePolicyAttachmentException")
                    {
                        return Err(call("AttachPolicy")(e));
                    }
                }
                Step::Detach { id, target, .. } => {
                    let r = self
                        .0
                        .detach_policy()
                        .policy_id(id)
                        .target_id(target)
                        .customize()
                        .config_override(retry_concurrent::<detach_policy::DetachPolicyError>())
                        .send()
                        .await;
                    if let Err(e) = r
                        && e.code() != Some("PolicyNotAttachedException")
                    {
                        return Err(call("DetachPolicy")(e));
                    }
                }
                Step::Delete { id, .. } => {
                    // Only when attached nowhere else (an OU outside this destroy keeps it).
                    let mut targets = self
                        .0
                        .list_targets_for_policy()
                        .policy_id(id)
                        .into_paginator()
                        .send();
                    let mut in_use = false;
                    while let Some(page) = targets.next().await {
                        in_use |= !page
                            .map_err(call("ListTargetsForPolicy"))?
                            .targets()
                            .is_empty();
                    }
                    if in_use {
                        continue;
                    }
                    let r = self
                        .0
                        .delete_policy()
                        .policy_id(id)
                        .customize()
                        .config_override(retry_concurrent::<delete_policy::DeletePolicyError>())
                        .send()
                        .await;
                    if let Err(e) = r
                        && e.code() != Some("PolicyNotFoundException")
                    {
                        return Err(call("DeletePolicy")(e));
                    }
                }
            }
            done.push(step.to_string());
        }
        Ok(done)
    }
}

/// Who runs the deploy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// The organization's management account: every step.
    Management,
    /// Another account, assumed to be a delegated administrator (for StackSets, and for policy
    /// management through an Organizations resource policy).
    DelegatedAdmin,
}

/// The caller and its organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The caller's account.
    pub account: String,
    /// The organization's management account.
    pub management_account: String,
    /// Which of the two.
    pub role: Role,
    /// `o-…`.
    pub organization_id: String,
    /// The caller's partition (`aws`, `aws-cn`, …), from its ARN.
    pub partition: String,
}

impl Organization {
    /// Which account we are, from DescribeOrganization and the caller's account and partition.
    pub async fn caller(&self, account: &str, partition: &str) -> Result<Caller, OrgError> {
        let out = self
            .0
            .describe_organization()
            .send()
            .await
            .map_err(call("DescribeOrganization"))?;
        let management = out
            .organization()
            .and_then(|o| o.master_account_id())
            .unwrap_or_default()
            .to_owned();
        Ok(Caller {
            organization_id: out
                .organization()
                .and_then(|o| o.id())
                .unwrap_or_default()
                .to_owned(),
            partition: partition.to_owned(),
            role: if management == account {
                Role::Management
            } else {
                Role::DelegatedAdmin
            },
            account: account.to_owned(),
            management_account: management,
        })
    }

    /// Active accounts directly under each of `parents` (paginated).
    pub async fn accounts_under(
        &self,
        parents: &[String],
    ) -> Result<std::collections::BTreeSet<String>, OrgError> {
        let mut accounts = std::collections::BTreeSet::new();
        for parent in parents {
            let mut pages = self
                .0
                .list_accounts_for_parent()
                .parent_id(parent)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(call("ListAccountsForParent"))?;
                accounts.extend(
                    page.accounts()
                        .iter()
                        .filter(|a| {
                            a.status().is_none_or(|s| {
                                s == &aws_sdk_organizations::types::AccountStatus::Active
                            })
                        })
                        .filter_map(|a| a.id().map(str::to_owned)),
                );
            }
        }
        Ok(accounts)
    }
}
