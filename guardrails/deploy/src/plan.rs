//! The SCP part of a deploy as a pure diff: desired policies and targets against what the
//! organization has. No AWS here, so every case is testable without an emulator.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use guardrails::render::scp::SCP_SLOTS;

/// A policy as observed: id, name and minified content (normalised).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedPolicy {
    /// `p-…`.
    pub id: String,
    /// Policy name.
    pub name: String,
    /// Content, normalised (sorted keys, minified).
    pub content: String,
}

/// What the organization has, as far as the SCP deploy is concerned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// Whether the root has the SCP policy type enabled.
    pub scp_enabled: bool,
    /// Our policies (found by name), by name.
    pub ours: BTreeMap<String, ObservedPolicy>,
    /// Policy ids attached directly to each target.
    pub attached: BTreeMap<String, BTreeSet<String>>,
}

/// What the deploy wants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    /// `(name, minified content)` of each generated SCP.
    pub scps: Vec<(String, String)>,
    /// Target OU ids.
    pub targets: Vec<String>,
}

/// One change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Enable the SCP policy type on the root.
    EnableScps,
    /// Create a policy.
    Create {
        /// Name.
        name: String,
        /// Content.
        content: String,
    },
    /// Update a policy whose content differs.
    Update {
        /// Name.
        name: String,
        /// `p-…`.
        id: String,
        /// New content.
        content: String,
    },
    /// Attach a policy (by name; its id may not exist yet) to a target.
    Attach {
        /// Name.
        name: String,
        /// OU id.
        target: String,
    },
    /// Detach one of our policies from a target (destroy).
    Detach {
        /// Name.
        name: String,
        /// `p-…`.
        id: String,
        /// OU id.
        target: String,
    },
    /// Delete one of our policies if it is attached nowhere else (destroy).
    Delete {
        /// Name.
        name: String,
        /// `p-…`.
        id: String,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::EnableScps => write!(f, "~ enable the SERVICE_CONTROL_POLICY type on the root"),
            Step::Create { name, content } => {
                write!(f, "+ create SCP {name} ({} bytes)", content.len())
            }
            Step::Update { name, id, content } => {
                write!(f, "~ update SCP {name} ({id}) to {} bytes", content.len())
            }
            Step::Attach { name, target } => write!(f, "+ attach SCP {name} to {target}"),
            Step::Detach { name, target, .. } => write!(f, "- detach SCP {name} from {target}"),
            Step::Delete { name, id } => {
                write!(f, "- delete SCP {name} ({id}) unless attached elsewhere")
            }
        }
    }
}

/// A deploy that cannot be done without breaking AWS limits; nothing has been changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The target would hold more than 5 SCPs.
    #[error(
        "{target} already has {attached} SCPs attached directly; adding {adding} would exceed the limit of 5 (detach one, or merge policies)"
    )]
    TooManyPolicies {
        /// OU id (or its path).
        target: String,
        /// Policies attached now.
        attached: usize,
        /// Ours to add.
        adding: usize,
    },
    /// A generated policy is over the size limit.
    #[error("SCP {name} is {bytes} bytes, over the 5,120-byte limit")]
    TooLarge {
        /// Name.
        name: String,
        /// Minified size.
        bytes: usize,
    },
}

/// The ordered steps; an empty plan means "nothing to do".
///
/// ```
/// use guardrails_deploy::plan::{plan, Desired, Observed};
/// let want = Desired { scps: vec![("cmk-guardrails-1".into(), "{}".into())], targets: vec!["ou-ab12-11111111".into()] };
/// let steps = plan(&want, &Observed::default()).unwrap();
/// assert_eq!(steps.len(), 3); // enable SCPs, create, attach
/// ```
pub fn plan(desired: &Desired, observed: &Observed) -> Result<Vec<Step>, PlanError> {
    let mut steps = Vec::new();
    for (name, content) in &desired.scps {
        if content.len() > guardrails::render::scp::SCP_MAX_BYTES {
            return Err(PlanError::TooLarge {
                name: name.clone(),
                bytes: content.len(),
            });
        }
    }
    for target in &desired.targets {
        let attached = observed.attached.get(target).cloned().unwrap_or_default();
        let adding = desired
            .scps
            .iter()
            .filter(|(name, _)| {
                observed
                    .ours
                    .get(name)
                    .is_none_or(|p| !attached.contains(&p.id))
            })
            .count();
        if attached.len() + adding > SCP_SLOTS {
            return Err(PlanError::TooManyPolicies {
                target: target.clone(),
                attached: attached.len(),
                adding,
            });
        }
    }
    if !observed.scp_enabled {
        steps.push(Step::EnableScps);
    }
    for (name, content) in &desired.scps {
        match observed.ours.get(name) {
            None => steps.push(Step::Create {
                name: name.clone(),
                content: content.clone(),
            }),
            Some(p) if &p.content != content => {
                steps.push(Step::Update {
                    name: name.clone(),
                    id: p.id.clone(),
                    content: content.clone(),
                });
            }
            Some(_) => {}
        }
    }
    for target in &desired.targets {
        let attached = observed.attached.get(target).cloned().unwrap_or_default();
        for (name, _) in &desired.scps {
            if observed
                .ours
                .get(name)
                .is_none_or(|p| !attached.contains(&p.id))
            {
                steps.push(Step::Attach {
                    name: name.clone(),
                    target: target.clone(),
                });
            }
        }
    }
    // Prune: our policies the catalogue no longer generates (fewer controls, or fewer slots)
    // come off the targets and go when attached nowhere else.
    for (name, p) in &observed.ours {
        if desired.scps.iter().any(|(n, _)| n == name) {
            continue;
        }
        for target in &desired.targets {
            if observed
                .attached
                .get(target)
                .is_some_and(|a| a.contains(&p.id))
            {
                steps.push(Step::Detach {
                    name: name.clone(),
                    id: p.id.clone(),
                    target: target.clone(),
                });
            }
        }
        steps.push(Step::Delete {
            name: name.clone(),
            id: p.id.clone(),
        });
    }
    Ok(steps)
}

/// The SCP steps of a destroy: detach each of our policies from each target it is attached to,
/// then delete it (the apply step keeps a policy still attached elsewhere).
pub fn plan_destroy(names: &[String], targets: &[String], observed: &Observed) -> Vec<Step> {
    let mut steps = Vec::new();
    for name in names {
        let Some(p) = observed.ours.get(name) else {
            continue;
        };
        for target in targets {
            if observed
                .attached
                .get(target)
                .is_some_and(|a| a.contains(&p.id))
            {
                steps.push(Step::Detach {
                    name: name.clone(),
                    id: p.id.clone(),
                    target: target.clone(),
                });
            }
        }
        steps.push(Step::Delete {
            name: name.clone(),
            id: p.id.clone(),
        });
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    const OU: &str = "ou-ab12-11111111";

    fn desired() -> Desired {
        Desired {
            scps: vec![("cmk-guardrails-1".into(), "{\"v\":2}".into())],
            targets: vec![OU.into()],
        }
    }

    fn deployed(content: &str) -> Observed {
        let mut o = Observed {
            scp_enabled: true,
            ..Observed::default()
        };
        o.ours.insert(
            "cmk-guardrails-1".into(),
            ObservedPolicy {
                id: "p-1".into(),
                name: "cmk-guardrails-1".into(),
                content: content.into(),
            },
        );
        o.attached.insert(
            OU.into(),
            ["p-FullAWSAccess".to_owned(), "p-1".to_owned()].into(),
        );
        o
    }

    #[test]
    fn a_fresh_organization_gets_enable_create_attach() {
        let steps = plan(&desired(), &Observed::default()).unwrap();
        assert!(matches!(
            steps.as_slice(),
            [Step::EnableScps, Step::Create { .. }, Step::Attach { .. }]
        ));
    }

    #[test]
    fn a_deployed_organization_has_nothing_to_do() {
        assert!(plan(&desired(), &deployed("{\"v\":2}")).unwrap().is_empty());
    }

    #[test]
    fn changed_content_is_updated_in_place_not_duplicated() {
        let steps = plan(&desired(), &deployed("{\"v\":1}")).unwrap();
        assert_eq!(steps.len(), 1);
        assert!(matches!(&steps[0], Step::Update { id, .. } if id == "p-1"));
    }

    #[test]
    fn a_detached_policy_is_reattached() {
        let mut o = deployed("{\"v\":2}");
        o.attached
            .insert(OU.into(), ["p-FullAWSAccess".to_owned()].into());
        assert_eq!(
            plan(&desired(), &o).unwrap(),
            vec![Step::Attach {
                name: "cmk-guardrails-1".into(),
                target: OU.into()
            }]
        );
    }

    #[test]
    fn the_five_policy_limit_is_checked_before_anything_changes() {
        let mut o = Observed {
            scp_enabled: true,
            ..Observed::default()
        };
        o.attached
            .insert(OU.into(), (1..=5).map(|i| format!("p-{i}")).collect());
        let err = plan(&desired(), &o).unwrap_err();
        assert!(err.to_string().contains("limit of 5"), "{err}");
    }

    #[test]
    fn destroy_detaches_ours_only_then_deletes() {
        let steps = plan_destroy(&["cmk-guardrails-1".into()], &[OU.into()], &deployed("{}"));
        assert_eq!(
            steps,
            vec![
                Step::Detach {
                    name: "cmk-guardrails-1".into(),
                    id: "p-1".into(),
                    target: OU.into()
                },
                Step::Delete {
                    name: "cmk-guardrails-1".into(),
                    id: "p-1".into()
                }
            ]
        );
        assert!(
            plan_destroy(
                &["cmk-guardrails-1".into()],
                &[OU.into()],
                &Observed::default()
            )
            .is_empty()
        );
    }

    #[test]
    fn an_oversized_policy_is_refused() {
        let d = Desired {
            scps: vec![("big".into(), "x".repeat(5_121))],
            targets: vec![OU.into()],
        };
        assert!(matches!(
            plan(&d, &Observed::default()),
            Err(PlanError::TooLarge { bytes: 5_121, .. })
        ));
    }

    #[test]
    fn a_policy_no_longer_generated_is_detached_and_deleted() {
        let observed = Observed {
            scp_enabled: true,
            ours: [
                (
                    "cmk-guardrails-1".to_owned(),
                    ObservedPolicy {
                        id: "p-1".into(),
                        name: "cmk-guardrails-1".into(),
                        content: "{}".into(),
                    },
                ),
                (
                    "cmk-guardrails-2".to_owned(),
                    ObservedPolicy {
                        id: "p-2".into(),
                        name: "cmk-guardrails-2".into(),
                        content: "{}".into(),
                    },
                ),
            ]
            .into(),
            attached: [(OU.to_owned(), ["p-1".to_owned(), "p-2".to_owned()].into())].into(),
        };
        let want = Desired {
            scps: vec![("cmk-guardrails-1".into(), "{}".into())],
            targets: vec![OU.into()],
        };
        let lines: Vec<String> = plan(&want, &observed)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines,
            [
                format!("- detach SCP cmk-guardrails-2 from {OU}"),
                "- delete SCP cmk-guardrails-2 (p-2) unless attached elsewhere".to_owned(),
            ]
        );
    }
}
