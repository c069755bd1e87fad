//! The deploy engine: who we are, what the organization has, the plan (SCPs + StackSet), and
//! applying, checking (status) or removing (destroy) it.
//!
//! Order of operations (deploy): resume an operation an interrupted run left pending → read the
//! OU tree, our SCPs and attachments, our stack set and its instances, and (central mode) the code
//! bucket, package and central function of each Region → plan → (apply:) activate StackSets
//! trusted access → per Region: code bucket, package upload, central function with the members'
//! invoke permissions → enable the SCP policy type → create/update SCPs → attach → create or
//! update the stack set → create/redeploy instances, one operation at a time, polled to the end.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::CallAs;
use serde::Serialize;

use super::artifact::Package;
use super::central::{
    CentralError, CentralStep, DesiredCentral, ObservedCentral, RegionalClients, plan_central,
    plan_central_destroy,
};
use super::cfn::{OperationLog, Progress, StackSetError, StackSets, stack_set_parameters};
use super::compliance::{self, AccountCompliance, ComplianceError};
use super::org::{Caller, OrgError, Organization, Role, normalise};
use super::ou::{OrgTree, TargetError};
use super::plan::{Desired, Observed, PlanError, Step, plan, plan_destroy};
use super::settings::{Mode, Settings};
use super::stackset::{
    DesiredStackSet, Members, ObservedStackSet, StackStep, plan_stack_set, plan_stack_set_destroy,
};
use guardrails::catalogue::{CONTROLS, Control};
use guardrails::render::central::{
    AGGREGATOR, FUNCTION_NAME, MEMBER_ROLE, central_function, central_role_name, code_bucket,
    code_bucket_name,
};
use guardrails::render::scp::{ScpOptions, render_scps};

/// Anything that stops a deploy, status or destroy.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// Organizations.
    #[error(transparent)]
    Org(#[from] OrgError),
    /// CloudFormation.
    #[error(transparent)]
    StackSet(#[from] StackSetError),
    /// The central function, its bucket or its package.
    #[error(transparent)]
    Central(#[from] CentralError),
    /// The organization aggregator.
    #[error(transparent)]
    Compliance(#[from] ComplianceError),
    /// An AWS limit would be exceeded; nothing was changed.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// An `--ou` that names no OU or several.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The SCPs cannot be rendered.
    #[error(transparent)]
    Render(#[from] guardrails::render::RenderError),
    /// A step this caller cannot take.
    #[error("{0}")]
    Permission(String),
}

/// The StackSets service principal (trusted access).
pub const STACKSETS_PRINCIPAL: &str = "member.org.stacksets.cloudformation.amazonaws.com";

/// A resolved target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Target {
    /// `ou-…` or `r-…`.
    pub id: String,
    /// `Root/Workloads/Sandbox`.
    pub path: String,
}

/// Everything a deploy (or destroy) would change, with what it was computed from.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The root id.
    pub root: String,
    /// The target OUs.
    pub targets: Vec<Target>,
    /// Central function or per-account functions.
    pub mode: Mode,
    /// Central function steps, Region by Region.
    pub central: Vec<CentralStep>,
    /// What each Region should hold (central mode).
    pub desired_central: Vec<DesiredCentral>,
    /// What each Region holds (central mode).
    pub observed_central: BTreeMap<String, ObservedCentral>,
    /// StackSets trusted access must be activated first.
    pub activate_trusted_access: bool,
    /// SCP steps.
    pub scp: Vec<Step>,
    /// StackSet steps.
    pub stack: Vec<StackStep>,
    /// The SCP state read.
    pub observed: Observed,
    /// The stack set read.
    pub observed_stack: Option<ObservedStackSet>,
    /// Member accounts below each target.
    pub members: Members,
    /// The stack set wanted.
    pub desired_stack: DesiredStackSet,
    /// Names of our SCPs.
    pub scp_names: Vec<String>,
    /// A destroy plan (StackSet steps run first).
    pub destroying: bool,
}

impl Plan {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        !self.activate_trusted_access
            && self.central.is_empty()
            && self.scp.is_empty()
            && self.stack.is_empty()
    }

    /// The phases in the order this plan makes them ([`DEPLOY_ORDER`] or [`DESTROY_ORDER`]).
    pub fn order(&self) -> &'static [Phase] {
        if self.destroying {
            DESTROY_ORDER
        } else {
            DEPLOY_ORDER
        }
    }

    /// One line per change of `phase`.
    pub fn phase_lines(&self, phase: Phase) -> Vec<String> {
        let central = |deletes: bool| -> Vec<String> {
            self.central
                .iter()
                .filter(|s| s.is_delete() == deletes)
                .map(ToString::to_string)
                .collect()
        };
        match phase {
            Phase::TrustedAccess if self.activate_trusted_access => vec![format!(
                "~ activate trusted access for CloudFormation StackSets ({STACKSETS_PRINCIPAL})"
            )],
            Phase::TrustedAccess => Vec::new(),
            Phase::CentralFunctions => central(false),
            Phase::Scps => self.scp.iter().map(ToString::to_string).collect(),
            Phase::StackSet => self.stack.iter().map(ToString::to_string).collect(),
            Phase::CentralRemovals => central(true),
        }
    }

    /// One line per change, in the order they would be made.
    pub fn lines(&self) -> Vec<String> {
        self.order()
            .iter()
            .flat_map(|phase| self.phase_lines(*phase))
            .collect()
    }
}

/// A kind of change; a plan's steps are made phase by phase, in one of the two orders below.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Activate StackSets trusted access (once per organization).
    TrustedAccess,
    /// Per Region: code bucket, package, central function and its invoke permissions.
    CentralFunctions,
    /// Enable the SCP type; create, update, attach, detach, delete our SCPs.
    Scps,
    /// The stack set and its instances (prunes first).
    StackSet,
    /// Central functions and code buckets that go (destroy, a Region dropped).
    CentralRemovals,
}

/// Deploy: the functions exist before the member rules that name them (Config checks the invoke
/// permission when a rule is created), and a dropped Region's function goes only after its rules.
pub const DEPLOY_ORDER: &[Phase] = &[
    Phase::TrustedAccess,
    Phase::CentralFunctions,
    Phase::Scps,
    Phase::StackSet,
    Phase::CentralRemovals,
];

/// Destroy: the rules go first, then the function they name, then the SCPs that protected the
/// keys while the rule watched.
pub const DESTROY_ORDER: &[Phase] = &[
    Phase::StackSet,
    Phase::CentralFunctions,
    Phase::CentralRemovals,
    Phase::Scps,
];

/// The generated SCPs selected by the settings: `(name, minified content)`.
pub fn desired_scps(settings: &Settings) -> Result<Vec<(String, String)>, DeployError> {
    let controls: Vec<Control> = CONTROLS
        .iter()
        .filter(|c| settings.controls.is_empty() || settings.controls.iter().any(|id| id == c.id))
        .cloned()
        .collect();
    let opts = ScpOptions {
        break_glass: settings.break_glass.clone(),
        ..ScpOptions::default()
    };
    Ok(render_scps(&controls, &opts)?
        .into_iter()
        .map(|a| {
            let name = a
                .path
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .trim_end_matches(".json")
                .to_owned();
            (name, normalise(a.content.trim_end()))
        })
        .collect())
}

/// Every name our SCPs can have (destroy also removes policies of controls no longer selected).
fn all_scp_names(settings: &Settings) -> Result<Vec<String>, DeployError> {
    let mut names: Vec<String> = desired_scps(settings)?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    for i in 1..=guardrails::render::scp::SCP_SLOTS {
        let n = format!("cmk-guardrails-{i}");
        if !names.contains(&n) {
            names.push(n);
        }
    }
    Ok(names)
}

/// The stack set the settings describe: in central mode the member template (rules sourced from
/// the caller's central function, the member role trusting its roles), otherwise the
/// per-account function.
pub fn desired_stack_set(
    settings: &Settings,
    targets: &[Target],
    caller: &Caller,
    observed: Option<&ObservedStackSet>,
) -> DesiredStackSet {
    let (template, parameters) = match settings.mode {
        Mode::PerAccount => (
            normalise(&guardrails::render::cfn::config_rule()),
            stack_set_parameters(settings),
        ),
        Mode::Central => {
            let mut p = stack_set_parameters(settings);
            p.insert("CentralAccount".into(), caller.account.clone());
            p.insert(
                "CentralRoleArns".into(),
                settings
                    .regions
                    .iter()
                    .map(|r| {
                        format!(
                            "arn:{}:iam::{}:role/{}",
                            caller.partition,
                            caller.account,
                            central_role_name(r)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(","),
            );
            p.insert("FunctionName".into(), FUNCTION_NAME.into());
            p.insert("ExecutionRoleName".into(), MEMBER_ROLE.into());
            // The member role lives in one Region's instance (IAM is global). It stays where it
            // is while that Region is configured, so reordering `regions` never moves it; when
            // that Region is dropped, its instances go first (prune) and the first Region's
            // instance creates the role.
            let kept = observed
                .and_then(|o| o.parameters.get("RoleRegion"))
                .filter(|r| settings.regions.contains(r));
            p.insert(
                "RoleRegion".into(),
                kept.or(settings.regions.first())
                    .cloned()
                    .unwrap_or_default(),
            );
            (
                normalise(&guardrails::render::central::member().to_string()),
                p,
            )
        }
    };
    DesiredStackSet {
        template,
        parameters,
        regions: settings.regions.clone(),
        targets: targets.iter().map(|t| t.id.clone()).collect(),
    }
}

/// What the central mode wants in `region`: the code bucket, `package` in it, and the function
/// invocable by the Config of `accounts`.
pub fn desired_central(
    region: &str,
    caller: &Caller,
    package: Option<&Package>,
    accounts: &std::collections::BTreeSet<String>,
    aggregator: bool,
) -> DesiredCentral {
    let accounts: Vec<String> = accounts.iter().cloned().collect();
    let bucket = code_bucket_name(&caller.account, region);
    let key = package.map(Package::key).unwrap_or_default();
    let function_parameters = BTreeMap::from([
        ("CodeBucket".to_owned(), bucket.clone()),
        ("CodeKey".to_owned(), key.clone()),
        (
            "Architecture".to_owned(),
            package
                .map_or("x86_64", |p| p.architecture.lambda_name())
                .to_owned(),
        ),
        ("OrganizationId".to_owned(), caller.organization_id.clone()),
        ("WithAggregator".to_owned(), aggregator.to_string()),
    ]);
    DesiredCentral {
        region: region.to_owned(),
        bucket,
        code_template: normalise(&code_bucket().to_string()),
        package_key: key,
        package_bytes: package.map_or(0, |p| p.zip.len()),
        function_template: normalise(&central_function(&accounts).to_string()),
        function_parameters,
        accounts: accounts.into_iter().collect(),
    }
}

/// Organizations and CloudFormation clients for one caller.
#[derive(Clone, Debug)]
pub struct Engine {
    /// Organizations.
    pub org: Organization,
    /// CloudFormation StackSets.
    pub stacks: StackSets,
    /// Who we are.
    pub caller: Caller,
    /// The caller's configuration (the aggregator's client).
    pub sdk: aws_config::SdkConfig,
    /// The read seam of each Region (CloudFormation and S3 there).
    pub regional: RegionalClients,
    /// The rule package the central function should run (central mode).
    pub package: Option<Package>,
}

impl Engine {
    /// Clients from an SDK configuration; detects management account vs. delegated
    /// administrator (STS GetCallerIdentity + Organizations DescribeOrganization).
    pub async fn connect(sdk: &aws_config::SdkConfig) -> Result<Engine, DeployError> {
        let sts = aws_sdk_sts::Client::new(sdk);
        let identity = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| OrgError::Call {
                operation: "GetCallerIdentity",
                detail: super::cfn::describe("sts", "GetCallerIdentity", &e),
            })?;
        let org = Organization(aws_sdk_organizations::Client::new(sdk));
        let partition = identity
            .arn()
            .and_then(|arn| arn.split(':').nth(1))
            .unwrap_or("aws");
        let caller = org
            .caller(identity.account().unwrap_or_default(), partition)
            .await?;
        let mut stacks = StackSets::new(aws_sdk_cloudformation::Client::new(sdk));
        if caller.role == Role::DelegatedAdmin {
            stacks.call_as = CallAs::DelegatedAdmin;
        }
        Ok(Engine {
            org,
            stacks,
            caller,
            sdk: sdk.clone(),
            regional: RegionalClients::from_sdk(sdk),
            package: None,
        })
    }

    /// Accounts below every OU the stack set targets now and will target: the Config rules that
    /// may invoke the central function. OUs in `known` (the targets' accounts, already listed)
    /// cost no call; an OU `keep` refuses is left out. Only central mode needs them.
    async fn covered(
        &self,
        settings: &Settings,
        tree: &OrgTree,
        known: &Members,
        observed: Option<&ObservedStackSet>,
        keep: impl Fn(&str) -> bool,
    ) -> Result<std::collections::BTreeSet<String>, DeployError> {
        let mut accounts = std::collections::BTreeSet::new();
        if settings.mode != Mode::Central {
            return Ok(accounts);
        }
        let mut ous: std::collections::BTreeSet<&String> = known.keys().collect();
        ous.extend(observed.iter().flat_map(|o| o.ous.iter()));
        for ou in ous.into_iter().filter(|ou| tree.contains(ou) && keep(ou)) {
            match known.get(ou) {
                Some(listed) => accounts.extend(listed.iter().cloned()),
                None => accounts.extend(self.org.accounts_under(&tree.subtree(ou)).await?),
            }
        }
        accounts.remove(&self.caller.management_account);
        Ok(accounts)
    }

    /// Observes every Region's central function and plans its steps.
    async fn plan_regions(
        &self,
        settings: &Settings,
        accounts: &std::collections::BTreeSet<String>,
        destroy_keeping: Option<Option<&std::collections::BTreeSet<String>>>,
        stack_set: Option<&ObservedStackSet>,
    ) -> Result<
        (
            Vec<CentralStep>,
            Vec<DesiredCentral>,
            BTreeMap<String, ObservedCentral>,
        ),
        DeployError,
    > {
        let (mut steps, mut desired, mut observed) = (Vec::new(), Vec::new(), BTreeMap::new());
        if settings.mode != Mode::Central {
            return Ok((steps, desired, observed));
        }
        // Prune: a Region whose member instances remain but that is no longer configured loses
        // its central function and code bucket too (with a deploy, after the instances go).
        let dropped: std::collections::BTreeSet<&String> = stack_set
            .map(|o| o.instances.iter().map(|i| &i.region).collect())
            .unwrap_or_default();
        for region in dropped
            .into_iter()
            .filter(|r| !settings.regions.contains(r))
        {
            let want = desired_central(region, &self.caller, None, accounts, false);
            let have = self.regional.get(region).observe(&want).await?;
            steps.extend(plan_central_destroy(&want, &have, None));
            desired.push(want);
            observed.insert(region.clone(), have);
        }
        let holds_aggregator = |have: &ObservedCentral| {
            have.function.as_ref().is_some_and(|f| {
                f.parameters.get("WithAggregator").map(String::as_str) == Some("true")
            })
        };
        let mut configured = Vec::new();
        for region in &settings.regions {
            let probe =
                desired_central(region, &self.caller, self.package.as_ref(), accounts, false);
            configured.push((region, self.regional.get(region).observe(&probe).await?));
        }
        // The aggregator collects every Region and lives in one Region's stack (its role's name is
        // global): it stays where it is while that Region is configured; a dropped Region's
        // stack holds it until its removal, so the next deploy recreates it in the first Region.
        let holder_dropped = observed.values().any(holds_aggregator);
        let aggregator_region = configured
            .iter()
            .find(|(_, have)| holds_aggregator(have))
            .map(|(r, _)| (*r).clone())
            .or_else(|| {
                (!holder_dropped)
                    .then(|| settings.regions.first().cloned())
                    .flatten()
            });
        for (region, have) in configured {
            let aggregator = settings.aggregator && aggregator_region.as_ref() == Some(region);
            let mut want = desired_central(
                region,
                &self.caller,
                self.package.as_ref(),
                accounts,
                aggregator,
            );
            if destroy_keeping.is_some()
                && let Some(function) = &have.function
            {
                // A destroy that keeps the function changes only its permissions: the package and
                // every other parameter stay as deployed.
                want.function_parameters = function.parameters.clone();
            }
            steps.extend(match destroy_keeping {
                None => plan_central(&want, &have)?,
                Some(keep) => plan_central_destroy(&want, &have, keep),
            });
            desired.push(want);
            observed.insert(region.clone(), have);
        }
        Ok((steps, desired, observed))
    }

    /// Resolves `--ou` values (ids, paths or names) against the tree.
    fn targets(tree: &OrgTree, ous: &[String]) -> Result<Vec<Target>, DeployError> {
        let mut targets: Vec<Target> = Vec::new();
        for ou in ous {
            let id = tree.resolve(ou)?;
            if !targets.iter().any(|t| t.id == id) {
                targets.push(Target {
                    path: tree.path(&id),
                    id,
                });
            }
        }
        Ok(targets)
    }

    async fn members(&self, tree: &OrgTree, targets: &[Target]) -> Result<Members, DeployError> {
        let mut members = Members::new();
        for t in targets {
            let mut accounts = self.org.accounts_under(&tree.subtree(&t.id)).await?;
            accounts.remove(&self.caller.management_account);
            members.insert(t.id.clone(), accounts);
        }
        Ok(members)
    }

    /// Reads the organization and computes what a deploy would change (no mutating call).
    pub async fn plan(&self, settings: &Settings, ous: &[String]) -> Result<Plan, DeployError> {
        let (tree, scp_enabled) = self.org.tree().await?;
        let targets = Self::targets(&tree, ous)?;
        let scps = desired_scps(settings)?;
        let scp_names: Vec<String> = scps.iter().map(|(n, _)| n.clone()).collect();
        let target_ids: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
        // Every name ours can have, so policies no longer generated are pruned.
        let observed = self
            .org
            .observe(&all_scp_names(settings)?, &target_ids, scp_enabled)
            .await?;
        let scp = plan(
            &Desired {
                scps,
                targets: target_ids.clone(),
            },
            &observed,
        )?;
        let members = self.members(&tree, &targets).await?;
        let observed_stack = self.stacks.observe().await?;
        let desired_stack =
            desired_stack_set(settings, &targets, &self.caller, observed_stack.as_ref());
        let stack = plan_stack_set(&desired_stack, observed_stack.as_ref(), &members);
        let activate_trusted_access = !self.stacks.trusted_access().await?;
        let covered = self
            .covered(settings, &tree, &members, observed_stack.as_ref(), |_| true)
            .await?;
        let (central, desired_central, observed_central) = self
            .plan_regions(settings, &covered, None, observed_stack.as_ref())
            .await?;
        let plan = Plan {
            root: tree.root.clone(),
            targets,
            mode: settings.mode,
            central,
            desired_central,
            observed_central,
            activate_trusted_access,
            scp,
            stack,
            observed,
            observed_stack,
            members,
            desired_stack,
            scp_names,
            destroying: false,
        };
        self.check_permissions(&plan)?;
        Ok(plan)
    }

    /// Steps only the management account can take, refused up front for a delegated admin.
    fn check_permissions(&self, plan: &Plan) -> Result<(), DeployError> {
        if self.caller.role == Role::Management {
            return Ok(());
        }
        let who = format!(
            "account {} is not the management account ({}): run as the management account to",
            self.caller.account, self.caller.management_account
        );
        if plan.activate_trusted_access {
            return Err(DeployError::Permission(format!(
                "{who} activate trusted access for CloudFormation StackSets (once per organization)"
            )));
        }
        if plan.scp.contains(&Step::EnableScps) {
            return Err(DeployError::Permission(format!(
                "{who} enable the SERVICE_CONTROL_POLICY type on the root (once per organization)"
            )));
        }
        Ok(())
    }

    /// What a destroy on `ous` would remove: our stack instances there (then the stack set when
    /// it is left empty), our SCPs' attachments there (then the SCPs attached nowhere else).
    pub async fn destroy_plan(
        &self,
        settings: &Settings,
        ous: &[String],
    ) -> Result<Plan, DeployError> {
        let (tree, scp_enabled) = self.org.tree().await?;
        let targets = Self::targets(&tree, ous)?;
        let target_ids: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
        let scp_names = all_scp_names(settings)?;
        let observed = self
            .org
            .observe(&scp_names, &target_ids, scp_enabled)
            .await?;
        let members = self.members(&tree, &targets).await?;
        let observed_stack = self.stacks.observe().await?;
        let stack = plan_stack_set_destroy(
            &target_ids,
            &settings.regions,
            observed_stack.as_ref(),
            &members,
        );
        let scp = plan_destroy(&scp_names, &target_ids, &observed);
        // The central function goes with the stack set; while other OUs keep the stack set, only
        // the invoke permissions of the destroyed OUs' accounts go.
        let keeping = if stack.contains(&StackStep::DeleteStackSet) || observed_stack.is_none() {
            None
        } else {
            Some(
                self.covered(settings, &tree, &members, observed_stack.as_ref(), |ou| {
                    !target_ids.iter().any(|t| t == ou)
                })
                .await?,
            )
        };
        let (central, desired_central, observed_central) = self
            .plan_regions(settings, &Default::default(), Some(keeping.as_ref()), None)
            .await?;
        Ok(Plan {
            root: tree.root.clone(),
            desired_stack: desired_stack_set(
                settings,
                &targets,
                &self.caller,
                observed_stack.as_ref(),
            ),
            targets,
            mode: settings.mode,
            central,
            desired_central,
            observed_central,
            activate_trusted_access: false,
            scp,
            stack,
            observed,
            observed_stack,
            members,
            scp_names,
            destroying: true,
        })
    }
}

/// The write seam: the only way to change anything. `deploy` and `destroy` take one
/// ([`Engine::writer`]); a dry run and `status` hold only the [`Engine`], whose clients read.
#[derive(Debug)]
pub struct Writer<'a> {
    engine: &'a Engine,
    org: super::org::OrgWriter,
    stacks: super::cfn::StackSetWriter,
}

impl Engine {
    /// The write seam on the same clients.
    pub fn writer(&self) -> Writer<'_> {
        Writer {
            engine: self,
            org: self.org.writer(),
            stacks: self.stacks.writer(),
        }
    }
}

impl Writer<'_> {
    /// Applies the central steps, Region by Region.
    async fn apply_regions(&self, plan: &Plan, deletes: bool) -> Result<Vec<String>, DeployError> {
        let steps: Vec<CentralStep> = plan
            .central
            .iter()
            .filter(|s| s.is_delete() == deletes)
            .cloned()
            .collect();
        let mut done = Vec::new();
        for want in &plan.desired_central {
            let have = plan
                .observed_central
                .get(&want.region)
                .cloned()
                .unwrap_or_default();
            done.extend(
                self.engine
                    .regional
                    .get(&want.region)
                    .writer()
                    .apply(&steps, want, &have, self.engine.package.as_ref())
                    .await?,
            );
        }
        Ok(done)
    }

    /// Applies a plan; returns a line per change made.
    pub async fn apply(
        &self,
        plan: &Plan,
        settings: &Settings,
        log: &OperationLog,
        progress: &dyn Progress,
    ) -> Result<Vec<String>, DeployError> {
        self.make(plan, settings, log, progress).await
    }

    /// Applies a destroy plan (its order is [`DESTROY_ORDER`]).
    pub async fn destroy(
        &self,
        plan: &Plan,
        settings: &Settings,
        log: &OperationLog,
        progress: &dyn Progress,
    ) -> Result<Vec<String>, DeployError> {
        self.make(plan, settings, log, progress).await
    }

    /// Makes the plan's changes phase by phase, in the plan's order.
    async fn make(
        &self,
        plan: &Plan,
        settings: &Settings,
        log: &OperationLog,
        progress: &dyn Progress,
    ) -> Result<Vec<String>, DeployError> {
        let mut done = Vec::new();
        for phase in plan.order() {
            match phase {
                Phase::TrustedAccess => {
                    if plan.activate_trusted_access {
                        self.stacks.activate_trusted_access().await?;
                        done.extend(plan.phase_lines(Phase::TrustedAccess));
                    }
                }
                Phase::CentralFunctions => done.extend(self.apply_regions(plan, false).await?),
                Phase::CentralRemovals => done.extend(self.apply_regions(plan, true).await?),
                Phase::Scps => done.extend(
                    self.org
                        .apply(&plan.root, &plan.observed, &plan.scp)
                        .await?,
                ),
                Phase::StackSet => done.extend(
                    self.stacks
                        .apply(
                            &plan.stack,
                            &plan.desired_stack,
                            &settings.rollout,
                            log,
                            progress,
                        )
                        .await?,
                ),
            }
        }
        Ok(done)
    }
}

/// What `guardrails status` reports for one target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TargetStatus {
    /// The OU.
    pub ou: Target,
    /// Our SCPs: name → `attached` / `detached` / `missing` / `content differs`.
    pub scps: BTreeMap<String, String>,
    /// Member accounts below the OU.
    pub accounts: usize,
    /// Stack instances of those accounts by status (`CURRENT`, `OUTDATED`, `FAILED`, …).
    pub instances: BTreeMap<String, usize>,
    /// `account/region` pairs without an instance.
    pub missing_instances: Vec<String>,
}

/// `guardrails status`: state per target and every drift, as plan lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Status {
    /// The caller's account and role.
    pub caller: String,
    /// Per target.
    pub targets: Vec<TargetStatus>,
    /// What a deploy would change; empty = in sync.
    pub drift: Vec<String>,
    /// In sync.
    pub in_sync: bool,
    /// Per member account and Region: the rule and its results.
    pub compliance: Vec<AccountCompliance>,
    /// Where the results come from, or why there are none.
    pub compliance_source: String,
    /// NON_COMPLIANT resources in all of them.
    pub non_compliant: usize,
}

impl Plan {
    /// The status report of this (deploy) plan.
    pub fn status(&self, caller: &Caller) -> Status {
        let targets = self
            .targets
            .iter()
            .map(|t| {
                let attached = self.observed.attached.get(&t.id);
                let desired: BTreeMap<&str, &str> = self
                    .scp
                    .iter()
                    .filter_map(|s| match s {
                        Step::Update { name, .. } => Some((name.as_str(), "content differs")),
                        _ => None,
                    })
                    .collect();
                let scps = self
                    .scp_names
                    .iter()
                    .map(|name| {
                        let state = match self.observed.ours.get(name) {
                            None => "missing",
                            Some(_) if desired.contains_key(name.as_str()) => "content differs",
                            Some(p) if attached.is_some_and(|a| a.contains(&p.id)) => "attached",
                            Some(_) => "detached",
                        };
                        (name.clone(), state.to_owned())
                    })
                    .collect();
                let accounts = self.members.get(&t.id).cloned().unwrap_or_default();
                let mut instances = BTreeMap::new();
                let mut missing_instances = Vec::new();
                for account in &accounts {
                    for region in &self.desired_stack.regions {
                        let found = self.observed_stack.as_ref().and_then(|o| {
                            o.instances
                                .iter()
                                .find(|i| &i.account == account && &i.region == region)
                        });
                        match found {
                            Some(i) => {
                                let key = match i.detailed.as_deref() {
                                    Some(d) if d != "SUCCEEDED" => d.to_owned(),
                                    _ => i.status.clone(),
                                };
                                *instances.entry(key).or_insert(0) += 1;
                            }
                            None => missing_instances.push(format!("{account}/{region}")),
                        }
                    }
                }
                TargetStatus {
                    ou: t.clone(),
                    scps,
                    accounts: accounts.len(),
                    instances,
                    missing_instances,
                }
            })
            .collect();
        Status {
            caller: format!(
                "{} ({})",
                caller.account,
                match caller.role {
                    Role::Management => "management account",
                    Role::DelegatedAdmin => "delegated administrator",
                }
            ),
            targets,
            drift: self.lines(),
            in_sync: self.is_empty(),
            compliance: Vec::new(),
            compliance_source: "not read".to_owned(),
            non_compliant: 0,
        }
    }

    /// The state of the rule's stack instance in `account` and `region`.
    fn rule_state(&self, account: &str, region: &str) -> String {
        let found = self.observed_stack.as_ref().and_then(|o| {
            o.instances
                .iter()
                .find(|i| i.account == account && i.region == region)
        });
        match found {
            None => "missing".to_owned(),
            Some(i) if i.is_current() => "current".to_owned(),
            Some(i) => match i.detailed.as_deref() {
                Some(d) if d != "SUCCEEDED" => d.to_ascii_lowercase(),
                _ => i.status.to_ascii_lowercase(),
            },
        }
    }
}

impl Engine {
    /// Adds to `status` the rule's results per member account and Region of the plan, read from
    /// the organization aggregator (central mode, in the first Region).
    pub async fn compliance(
        &self,
        plan: &Plan,
        settings: &Settings,
        status: &mut Status,
    ) -> Result<(), DeployError> {
        let Some(home) = settings.regions.first() else {
            return Ok(());
        };
        if settings.mode != Mode::Central || !settings.aggregator {
            status.compliance_source =
                "none: results are read from the organization aggregator deploy creates in central mode (`aggregator = true`)".to_owned();
            return Ok(());
        }
        let config = aws_sdk_config::Client::from_conf(
            aws_sdk_config::config::Builder::from(&self.sdk)
                .region(aws_config::Region::new(home.clone()))
                .build(),
        );
        let rules = vec![
            "cmk-required".to_owned(),
            "cmk-required-periodic".to_owned(),
        ];
        let mut rows = Vec::new();
        for accounts in plan.members.values() {
            for account in accounts {
                for region in &settings.regions {
                    let Some(counts) =
                        compliance::read(&config, AGGREGATOR, &rules, account, region).await?
                    else {
                        status.compliance_source = format!(
                            "none: there is no aggregator {AGGREGATOR} in {home} (deploy creates it)"
                        );
                        return Ok(());
                    };
                    rows.push(AccountCompliance {
                        account: account.clone(),
                        region: region.clone(),
                        rule: plan.rule_state(account, region),
                        last_evaluated: counts.last_evaluated,
                        compliant: counts.compliant,
                        non_compliant: counts.non_compliant,
                        resources: counts.resources,
                    });
                }
            }
        }
        rows.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
        rows.dedup();
        status.non_compliant = rows.iter().map(|r| r.non_compliant).sum();
        status.compliance = rows;
        status.compliance_source = format!("aggregator {AGGREGATOR} ({home})");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stackset::Instance;

    const OU: &str = "ou-ab12-11111111";

    fn instance(account: &str, status: &str, detailed: &str) -> Instance {
        Instance {
            account: account.into(),
            region: "eu-west-1".into(),
            ou: Some(OU.into()),
            status: status.into(),
            detailed: Some(detailed.into()),
            reason: None,
        }
    }

    #[test]
    fn status_counts_instances_by_state_and_reports_missing_and_failed_ones_as_drift() {
        let members: Members = [(
            OU.to_owned(),
            ["111111111111", "222222222222", "333333333333"]
                .map(str::to_owned)
                .into(),
        )]
        .into();
        let desired_stack = DesiredStackSet {
            template: "{}".into(),
            parameters: BTreeMap::new(),
            regions: vec!["eu-west-1".into()],
            targets: vec![OU.into()],
        };
        let observed_stack = ObservedStackSet {
            template: "{}".into(),
            auto_deployment: true,
            ous: [OU.to_owned()].into(),
            instances: vec![
                instance("111111111111", "CURRENT", "SUCCEEDED"),
                instance("222222222222", "OUTDATED", "FAILED"),
            ],
            ..ObservedStackSet::default()
        };
        let stack = plan_stack_set(&desired_stack, Some(&observed_stack), &members);
        let plan = Plan {
            root: "r-ab12".into(),
            targets: vec![Target {
                id: OU.into(),
                path: "Root/Sandbox".into(),
            }],
            mode: Mode::PerAccount,
            central: Vec::new(),
            desired_central: Vec::new(),
            observed_central: BTreeMap::new(),
            activate_trusted_access: false,
            scp: Vec::new(),
            stack,
            observed: Observed::default(),
            observed_stack: Some(observed_stack),
            members,
            desired_stack,
            scp_names: vec!["cmk-guardrails-1".into()],
            destroying: false,
        };
        let caller = Caller {
            account: "999999999999".into(),
            management_account: "999999999999".into(),
            role: Role::Management,
            organization_id: "o-exampleorgid".into(),
            partition: "aws".into(),
        };
        let status = plan.status(&caller);
        let t = &status.targets[0];
        assert_eq!(t.accounts, 3);
        assert_eq!(
            t.instances,
            BTreeMap::from([("CURRENT".to_owned(), 1), ("FAILED".to_owned(), 1)])
        );
        assert_eq!(
            t.missing_instances,
            vec!["333333333333/eu-west-1".to_owned()]
        );
        assert_eq!(t.scps["cmk-guardrails-1"], "missing");
        assert!(!status.in_sync);
        assert_eq!(status.drift.len(), 2, "{:?}", status.drift);
        assert!(status.drift[0].starts_with("+ deploy the Config rule"));
        assert!(status.drift[1].contains("222222222222/eu-west-1: FAILED"));
        assert_eq!(status.caller, "999999999999 (management account)");
    }
}
