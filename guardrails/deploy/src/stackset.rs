//! The StackSet part of a deploy as a pure diff: the Config rule stack set (SERVICE_MANAGED,
//! automatic deployment) and its instances on each target OU, against what CloudFormation has.
//! No AWS here; `cfn.rs` observes and applies.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The stack set cmk-guardrails creates (in the management or delegated administrator account).
pub const STACK_SET_NAME: &str = "cmk-guardrails-config-rule";

/// What the deploy wants from CloudFormation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredStackSet {
    /// Template body, normalised (sorted keys, minified).
    pub template: String,
    /// Stack set parameters.
    pub parameters: BTreeMap<String, String>,
    /// Regions every target OU gets instances in.
    pub regions: Vec<String>,
    /// Target OU ids.
    pub targets: Vec<String>,
}

/// One stack instance as observed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// The OU it was deployed through, when CloudFormation reports it.
    pub ou: Option<String>,
    /// `CURRENT`, `OUTDATED` or `INOPERABLE`.
    pub status: String,
    /// `StackInstanceStatus.DetailedStatus` (`SUCCEEDED`, `FAILED`, `RUNNING`, …), when given.
    pub detailed: Option<String>,
    /// Why it is not current, when given.
    pub reason: Option<String>,
}

impl Instance {
    /// Deployed with the stack set's current template and parameters.
    pub fn is_current(&self) -> bool {
        self.status == "CURRENT"
            && self
                .detailed
                .as_deref()
                .is_none_or(|d| d == "SUCCEEDED" || d == "SKIPPED_SUSPENDED_ACCOUNT")
    }
}

/// Our stack set as observed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedStackSet {
    /// Template body, normalised.
    pub template: String,
    /// Parameters.
    pub parameters: BTreeMap<String, String>,
    /// Automatic deployment enabled.
    pub auto_deployment: bool,
    /// OUs the stack set targets (`OrganizationalUnitIds`).
    pub ous: BTreeSet<String>,
    /// Every instance.
    pub instances: Vec<Instance>,
}

/// Active member accounts at any depth below each target OU (never the management account:
/// StackSets do not deploy there).
pub type Members = BTreeMap<String, BTreeSet<String>>;

/// One StackSet change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StackStep {
    /// Create the stack set (SERVICE_MANAGED, automatic deployment on).
    CreateStackSet,
    /// Update template, parameters or automatic deployment; CloudFormation redeploys every
    /// instance.
    UpdateStackSet {
        /// What differs, for the plan.
        changes: Vec<String>,
    },
    /// Create instances on an OU in these Regions (accounts already covered are left as they are).
    CreateInstances {
        /// OU id.
        ou: String,
        /// Regions.
        regions: Vec<String>,
    },
    /// Redeploy instances that are outdated or failed.
    RetryInstances {
        /// OU id.
        ou: String,
        /// Regions.
        regions: Vec<String>,
        /// `account/region: reason` of each, for the plan.
        instances: Vec<String>,
    },
    /// Delete the instances on an OU in these Regions (destroy).
    DeleteInstances {
        /// OU id.
        ou: String,
        /// Regions.
        regions: Vec<String>,
    },
    /// Delete the stack set once no instance is left (destroy).
    DeleteStackSet,
}

impl fmt::Display for StackStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackStep::CreateStackSet => write!(
                f,
                "+ create stack set {STACK_SET_NAME} (SERVICE_MANAGED, automatic deployment)"
            ),
            StackStep::UpdateStackSet { changes } => write!(
                f,
                "~ update stack set {STACK_SET_NAME}: {} (redeploys every instance)",
                changes.join(", ")
            ),
            StackStep::CreateInstances { ou, regions } => write!(
                f,
                "+ deploy the Config rule to {ou} in {}",
                regions.join(", ")
            ),
            StackStep::RetryInstances {
                ou,
                regions,
                instances,
            } => write!(
                f,
                "~ redeploy {} instance(s) on {ou} in {}: {}",
                instances.len(),
                regions.join(", "),
                instances.join("; ")
            ),
            StackStep::DeleteInstances { ou, regions } => write!(
                f,
                "- delete the Config rule instances on {ou} in {}",
                regions.join(", ")
            ),
            StackStep::DeleteStackSet => write!(f, "- delete stack set {STACK_SET_NAME}"),
        }
    }
}

/// The ordered StackSet steps of a deploy; empty means nothing to do.
///
/// ```
/// use guardrails_deploy::stackset::{plan_stack_set, DesiredStackSet, Members, StackStep};
/// let want = DesiredStackSet {
///     template: "{}".into(), parameters: Default::default(),
///     regions: vec!["eu-west-1".into()], targets: vec!["ou-ab12-11111111".into()],
/// };
/// let steps = plan_stack_set(&want, None, &Members::new());
/// assert!(matches!(steps[0], StackStep::CreateStackSet));
/// ```
pub fn plan_stack_set(
    desired: &DesiredStackSet,
    observed: Option<&ObservedStackSet>,
    members: &Members,
) -> Vec<StackStep> {
    let Some(observed) = observed else {
        let mut steps = vec![StackStep::CreateStackSet];
        steps.extend(desired.targets.iter().map(|ou| StackStep::CreateInstances {
            ou: ou.clone(),
            regions: desired.regions.clone(),
        }));
        return steps;
    };
    let mut steps = Vec::new();
    let mut changes = Vec::new();
    if observed.template != desired.template {
        changes.push("template".to_owned());
    }
    for (key, value) in &desired.parameters {
        if observed.parameters.get(key) != Some(value) {
            changes.push(format!("parameter {key}"));
        }
    }
    if !observed.auto_deployment {
        changes.push("automatic deployment".to_owned());
    }
    // Prune first: instances in Regions no longer configured go before an update redeploys
    // every instance (theirs would name a function about to be deleted).
    for ou in &desired.targets {
        let accounts = members.get(ou).cloned().unwrap_or_default();
        let dropped: BTreeSet<String> = observed
            .instances
            .iter()
            .filter(|i| {
                (i.ou.as_deref() == Some(ou.as_str()) || accounts.contains(&i.account))
                    && !desired.regions.contains(&i.region)
            })
            .map(|i| i.region.clone())
            .collect();
        if !dropped.is_empty() {
            steps.push(StackStep::DeleteInstances {
                ou: ou.clone(),
                regions: dropped.into_iter().collect(),
            });
        }
    }
    let updating = !changes.is_empty();
    if updating {
        steps.push(StackStep::UpdateStackSet { changes });
    }
    for ou in &desired.targets {
        let accounts = members.get(ou).cloned().unwrap_or_default();
        let has = |account: &str, region: &str| {
            observed
                .instances
                .iter()
                .find(|i| i.account == account && i.region == region)
        };
        let missing: Vec<String> = desired
            .regions
            .iter()
            .filter(|r| !observed.ous.contains(ou) || accounts.iter().any(|a| has(a, r).is_none()))
            .cloned()
            .collect();
        if !missing.is_empty() {
            steps.push(StackStep::CreateInstances {
                ou: ou.clone(),
                regions: missing.clone(),
            });
        }
        if updating {
            continue;
        }
        let mut regions = BTreeSet::new();
        let mut stale = Vec::new();
        for region in &desired.regions {
            for account in &accounts {
                if let Some(i) = has(account, region).filter(|i| !i.is_current()) {
                    regions.insert(region.clone());
                    stale.push(format!(
                        "{account}/{region}: {}",
                        i.reason
                            .clone()
                            .unwrap_or_else(|| i.detailed.clone().unwrap_or(i.status.clone()))
                    ));
                }
            }
        }
        if !stale.is_empty() {
            steps.push(StackStep::RetryInstances {
                ou: ou.clone(),
                regions: regions.into_iter().collect(),
                instances: stale,
            });
        }
    }
    steps
}

/// The StackSet steps of a destroy on `targets`: delete the instances deployed through each OU
/// (or held by its accounts), then the stack set when nothing else is left in it. An OU that is
/// targeted without instances (no accounts yet) is removed in `regions`.
pub fn plan_stack_set_destroy(
    targets: &[String],
    regions: &[String],
    observed: Option<&ObservedStackSet>,
    members: &Members,
) -> Vec<StackStep> {
    let Some(observed) = observed else {
        return Vec::new();
    };
    let mut steps = Vec::new();
    let mut removed = 0;
    for ou in targets {
        let accounts = members.get(ou).cloned().unwrap_or_default();
        let ours: Vec<&Instance> = observed
            .instances
            .iter()
            .filter(|i| i.ou.as_deref() == Some(ou.as_str()) || accounts.contains(&i.account))
            .collect();
        removed += ours.len();
        let held: BTreeSet<String> = ours.iter().map(|i| i.region.clone()).collect();
        if !held.is_empty() || observed.ous.contains(ou) {
            steps.push(StackStep::DeleteInstances {
                ou: ou.clone(),
                regions: if held.is_empty() {
                    regions.to_vec()
                } else {
                    held.into_iter().collect()
                },
            });
        }
    }
    let other_ous = observed.ous.iter().any(|o| !targets.contains(o));
    if removed == observed.instances.len() && !other_ous {
        steps.push(StackStep::DeleteStackSet);
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    const OU: &str = "ou-ab12-11111111";

    fn desired() -> DesiredStackSet {
        DesiredStackSet {
            template: "{\"v\":2}".into(),
            parameters: [("CodeBucket".to_owned(), "b".to_owned())].into(),
            regions: vec!["eu-west-1".into(), "us-east-1".into()],
            targets: vec![OU.into()],
        }
    }

    fn members() -> Members {
        [(OU.to_owned(), ["111111111111".to_owned()].into())].into()
    }

    fn instance(region: &str, status: &str) -> Instance {
        Instance {
            account: "111111111111".into(),
            region: region.into(),
            ou: Some(OU.into()),
            status: status.into(),
            detailed: Some(
                if status == "CURRENT" {
                    "SUCCEEDED"
                } else {
                    "FAILED"
                }
                .into(),
            ),
            reason: (status != "CURRENT").then(|| "ResourceLogicalId:RuleFunction".into()),
        }
    }

    fn deployed() -> ObservedStackSet {
        ObservedStackSet {
            template: "{\"v\":2}".into(),
            parameters: [("CodeBucket".to_owned(), "b".to_owned())].into(),
            auto_deployment: true,
            ous: [OU.to_owned()].into(),
            instances: vec![
                instance("eu-west-1", "CURRENT"),
                instance("us-east-1", "CURRENT"),
            ],
        }
    }

    #[test]
    fn a_region_no_longer_configured_loses_its_instances() {
        let mut want = desired();
        want.regions = vec!["eu-west-1".into()];
        assert_eq!(
            plan_stack_set(&want, Some(&deployed()), &members()),
            vec![StackStep::DeleteInstances {
                ou: OU.into(),
                regions: vec!["us-east-1".into()]
            }]
        );
    }

    #[test]
    fn nothing_to_do_when_deployed() {
        assert!(plan_stack_set(&desired(), Some(&deployed()), &members()).is_empty());
    }

    #[test]
    fn a_first_deploy_creates_then_deploys_every_region() {
        let steps = plan_stack_set(&desired(), None, &members());
        assert_eq!(
            steps,
            vec![
                StackStep::CreateStackSet,
                StackStep::CreateInstances {
                    ou: OU.into(),
                    regions: vec!["eu-west-1".into(), "us-east-1".into()]
                }
            ]
        );
    }

    #[test]
    fn a_new_region_or_account_gets_only_what_is_missing() {
        let mut o = deployed();
        o.instances.retain(|i| i.region == "eu-west-1");
        assert_eq!(
            plan_stack_set(&desired(), Some(&o), &members()),
            vec![StackStep::CreateInstances {
                ou: OU.into(),
                regions: vec!["us-east-1".into()]
            }]
        );
    }

    #[test]
    fn an_empty_ou_is_registered_for_automatic_deployment() {
        let mut o = deployed();
        o.ous.clear();
        o.instances.clear();
        let steps = plan_stack_set(&desired(), Some(&o), &Members::new());
        assert!(
            matches!(&steps[..], [StackStep::CreateInstances { regions, .. }] if regions.len() == 2)
        );
    }

    #[test]
    fn changed_template_parameters_or_auto_deployment_update_the_stack_set() {
        let mut o = deployed();
        o.template = "{\"v\":1}".into();
        o.parameters.insert("CodeBucket".into(), "old".into());
        o.auto_deployment = false;
        let steps = plan_stack_set(&desired(), Some(&o), &members());
        assert_eq!(
            steps,
            vec![StackStep::UpdateStackSet {
                changes: vec![
                    "template".into(),
                    "parameter CodeBucket".into(),
                    "automatic deployment".into()
                ]
            }]
        );
    }

    #[test]
    fn outdated_or_failed_instances_are_retried_with_their_reason() {
        let mut o = deployed();
        o.instances[1] = instance("us-east-1", "OUTDATED");
        let steps = plan_stack_set(&desired(), Some(&o), &members());
        assert!(
            matches!(&steps[..], [StackStep::RetryInstances { regions, instances, .. }]
            if regions == &["us-east-1".to_owned()] && instances[0].contains("RuleFunction"))
        );
    }

    #[test]
    fn destroy_deletes_our_instances_then_the_empty_stack_set() {
        let steps = plan_stack_set_destroy(&[OU.into()], &[], Some(&deployed()), &members());
        assert_eq!(
            steps,
            vec![
                StackStep::DeleteInstances {
                    ou: OU.into(),
                    regions: vec!["eu-west-1".into(), "us-east-1".into()]
                },
                StackStep::DeleteStackSet
            ]
        );
        // Another OU still deployed: the stack set stays.
        let mut o = deployed();
        o.ous.insert("ou-ab12-22222222".into());
        let steps = plan_stack_set_destroy(&[OU.into()], &[], Some(&o), &members());
        assert_eq!(steps.len(), 1);
        assert!(plan_stack_set_destroy(&[OU.into()], &[], None, &members()).is_empty());
    }
}
