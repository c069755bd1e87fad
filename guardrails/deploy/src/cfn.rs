//! CloudFormation StackSets through the SDK: observe our stack set, apply StackSet steps as
//! operations, poll them to the end, and resume an interrupted deploy.
//!
//! Every operation gets an `OperationId` chosen here and written to the operation log *before*
//! the call, so a deploy killed mid-operation resumes by polling that id instead of starting a
//! second operation. `OperationInProgressException` (one operation per stack set at a time) is
//! waited out and the call retried with the same id.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    AutoDeployment, CallAs, Capability, DeploymentTargets, Parameter, PermissionModels,
    RegionConcurrencyType, StackSetOperationPreferences, StackSetOperationStatus, Tag,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::{Deserialize, Serialize};

use super::org::{MANAGED_BY_KEY, MANAGED_BY_VALUE, normalise};
use super::settings::Rollout;
use super::stackset::{DesiredStackSet, Instance, ObservedStackSet, STACK_SET_NAME, StackStep};

/// A failed CloudFormation call, a state we refuse to change, or an operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StackSetError {
    /// The call failed (after the SDK's retries).
    #[error("cloudformation:{operation}: {detail}")]
    Call {
        /// Operation name (also the IAM action).
        operation: &'static str,
        /// Error text; AccessDenied names the missing permission.
        detail: String,
    },
    /// A stack set with our name exists without our tag.
    #[error(
        "a stack set named {STACK_SET_NAME} exists without the {MANAGED_BY_KEY} tag; cmk-guardrails will not touch it"
    )]
    NotOurs,
    /// The operation ended FAILED or STOPPED, or some accounts failed.
    #[error("stack set operation {operation_id} ({action}) ended {status}{}", failures.iter().map(|f| format!("\n  {f}")).collect::<String>())]
    OperationFailed {
        /// Operation id.
        operation_id: String,
        /// What it did.
        action: String,
        /// Final status.
        status: String,
        /// `account/region: reason` per failed instance.
        failures: Vec<String>,
    },
    /// The operation log cannot be read or written.
    #[error("operation log {path}: {detail}")]
    Log {
        /// Its path.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// An operation did not finish in time.
    #[error(
        "stack set operation {0} still running after the polling timeout; run the command again to resume it"
    )]
    Timeout(String),
}

/// Error text of an SDK error with its sources; AccessDenied names the IAM action to grant.
pub fn describe<E: std::error::Error + ProvideErrorMetadata + 'static>(
    service: &str,
    operation: &str,
    e: &E,
) -> String {
    let mut detail = match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => {
            let mut d = e.to_string();
            let mut source = e.source();
            while let Some(s) = source {
                d.push_str(": ");
                d.push_str(&s.to_string());
                source = s.source();
            }
            d
        }
    };
    if e.code()
        .is_some_and(|c| c.starts_with("AccessDenied") || c == "UnauthorizedOperation")
    {
        detail.push_str(&format!(
            " (the caller needs {service}:{operation}; see README \"Organisation rollout\" for the permissions)"
        ));
    }
    detail
}

fn call<E: std::error::Error + ProvideErrorMetadata + 'static>(
    operation: &'static str,
) -> impl Fn(E) -> StackSetError {
    move |e| StackSetError::Call {
        operation,
        detail: describe("cloudformation", operation, &e),
    }
}

/// A submitted call's error: its code (for the retry decisions) and text.
#[derive(Debug)]
pub struct Refused {
    code: Option<String>,
    error: StackSetError,
}

fn refused<E: std::error::Error + ProvideErrorMetadata + 'static>(
    operation: &'static str,
) -> impl Fn(E) -> Refused {
    move |e| Refused {
        code: e.code().map(str::to_owned),
        error: call(operation)(e),
    }
}

/// Where the deploy shows what StackSet operations are doing.
pub trait Progress: Send + Sync {
    /// An operation was submitted (or resumed).
    fn started(&self, what: &str, operation_id: &str);
    /// A poll result: instances finished out of those known so far.
    fn polled(&self, operation_id: &str, status: &str, done: usize, total: usize);
    /// Something is being waited for.
    fn waiting(&self, message: &str);
    /// The operation ended.
    fn finished(&self, operation_id: &str, status: &str);
}

/// Reports nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn started(&self, _: &str, _: &str) {}
    fn polled(&self, _: &str, _: &str, _: usize, _: usize) {}
    fn waiting(&self, _: &str) {}
    fn finished(&self, _: &str, _: &str) {}
}

/// How often and how long operations are polled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Polling {
    /// First interval (doubles up to `max`).
    pub first: Duration,
    /// Longest interval.
    pub max: Duration,
    /// Give up (the operation keeps running; a new run resumes it) after this long.
    pub timeout: Duration,
}

impl Default for Polling {
    fn default() -> Polling {
        Polling {
            first: Duration::from_secs(2),
            max: Duration::from_secs(30),
            timeout: Duration::from_secs(3 * 3600),
        }
    }
}

/// The operation submitted last and not yet seen to finish.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// Stack set name.
    pub stack_set: String,
    /// Operation id.
    pub operation_id: String,
    /// What it does (the plan line).
    pub what: String,
    /// Seconds since the epoch when it was submitted.
    pub submitted: u64,
}

/// The operation log: a small JSON file holding the pending operation, if any. `None` keeps it
/// in memory only (an interrupted run then finds the operation through ListStackSetOperations).
#[derive(Clone, Debug, Default)]
pub struct OperationLog(pub Option<PathBuf>);

impl OperationLog {
    fn error(&self, e: impl std::fmt::Display) -> StackSetError {
        StackSetError::Log {
            path: self
                .0
                .as_ref()
                .map_or_else(String::new, |p| p.display().to_string()),
            detail: e.to_string(),
        }
    }

    /// The pending operation recorded by an earlier run.
    pub fn pending(&self) -> Result<Option<Pending>, StackSetError> {
        let Some(path) = &self.0 else { return Ok(None) };
        match std::fs::read_to_string(path) {
            Ok(text) if text.trim().is_empty() => Ok(None),
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| self.error(e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Records `pending` (before its call is made).
    pub fn record(&self, pending: &Pending) -> Result<(), StackSetError> {
        let Some(path) = &self.0 else { return Ok(()) };
        let text = serde_json::to_string_pretty(pending).map_err(|e| self.error(e))?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text + "\n").map_err(|e| self.error(e))?;
        std::fs::rename(&tmp, path).map_err(|e| self.error(e))
    }

    /// Forgets the pending operation (it finished).
    pub fn clear(&self) -> Result<(), StackSetError> {
        let Some(path) = &self.0 else { return Ok(()) };
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(self.error(e)),
            _ => Ok(()),
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A new operation id: `cmk-<unix nanos>-<n>` (CloudFormation: `[a-zA-Z0-9][-a-zA-Z0-9]*`).
fn operation_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("cmk-{nanos}-{}", N.fetch_add(1, Ordering::Relaxed))
}

const ACTIVE: [&str; 3] = ["RUNNING", "QUEUED", "STOPPING"];

/// Submits one StackSet operation: `$request` (a fluent builder) gets the operation preferences,
/// a fresh OperationId (recorded first, see [`StackSets::operation`]) and `CallAs`, and the
/// operation is polled to its end. Every operation request has these three members, but no
/// common trait, so a macro writes the four calls once.
macro_rules! submit {
    ($self:ident, $what:expr, $log:expr, $progress:expr, $preferences:expr, $name:literal, $request:expr) => {{
        let preferences = $preferences;
        $self
            .operation($what, $log, $progress, |id| {
                let preferences = preferences.clone();
                async move {
                    $request
                        .operation_preferences(preferences)
                        .operation_id(id)
                        .call_as($self.0.call_as.clone())
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(refused($name))
                }
            })
            .await?;
    }};
}

/// A CloudFormation client acting as the management account (`CallAs=SELF`) or a delegated
/// administrator (`CallAs=DELEGATED_ADMIN`).
#[derive(Clone, Debug)]
pub struct StackSets {
    /// The client.
    pub client: Client,
    /// Whom to act as.
    pub call_as: CallAs,
    /// Polling intervals.
    pub polling: Polling,
}

impl StackSets {
    /// Acting as the management account.
    pub fn new(client: Client) -> StackSets {
        StackSets {
            client,
            call_as: CallAs::SelfValue,
            polling: Polling::default(),
        }
    }

    /// Whether trusted access for StackSets is active in the organization.
    pub async fn trusted_access(&self) -> Result<bool, StackSetError> {
        let out = self
            .client
            .describe_organizations_access()
            .call_as(self.call_as.clone())
            .send()
            .await
            .map_err(call("DescribeOrganizationsAccess"))?;
        Ok(out.status().is_some_and(|s| s.as_str() == "ENABLED"))
    }

    /// Our stack set and its instances; `None` when it does not exist.
    pub async fn observe(&self) -> Result<Option<ObservedStackSet>, StackSetError> {
        let described = self
            .client
            .describe_stack_set()
            .stack_set_name(STACK_SET_NAME)
            .call_as(self.call_as.clone())
            .send()
            .await;
        let set = match described {
            Ok(out) => match out.stack_set {
                Some(s) => s,
                None => return Ok(None),
            },
            Err(e) if e.code() == Some("StackSetNotFoundException") => return Ok(None),
            Err(e) => return Err(call("DescribeStackSet")(e)),
        };
        if set.status().is_some_and(|s| s.as_str() == "DELETED") {
            return Ok(None);
        }
        if !set
            .tags()
            .iter()
            .any(|t| t.key() == Some(MANAGED_BY_KEY) && t.value() == Some(MANAGED_BY_VALUE))
        {
            return Err(StackSetError::NotOurs);
        }
        let mut observed = ObservedStackSet {
            template: normalise(set.template_body().unwrap_or_default()),
            parameters: set
                .parameters()
                .iter()
                .filter_map(|p| {
                    Some((
                        p.parameter_key()?.to_owned(),
                        p.parameter_value().unwrap_or_default().to_owned(),
                    ))
                })
                .collect(),
            auto_deployment: set
                .auto_deployment()
                .is_some_and(|a| a.enabled() == Some(true)),
            ous: set.organizational_unit_ids().iter().cloned().collect(),
            instances: Vec::new(),
        };
        let mut pages = self
            .client
            .list_stack_instances()
            .stack_set_name(STACK_SET_NAME)
            .call_as(self.call_as.clone())
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(call("ListStackInstances"))?;
            for s in page.summaries() {
                let (Some(account), Some(region)) = (s.account(), s.region()) else {
                    continue;
                };
                observed.instances.push(Instance {
                    account: account.to_owned(),
                    region: region.to_owned(),
                    ou: s.organizational_unit_id().map(str::to_owned),
                    status: s.status().map_or("UNKNOWN", |x| x.as_str()).to_owned(),
                    detailed: s
                        .stack_instance_status()
                        .and_then(|x| x.detailed_status())
                        .map(|d| d.as_str().to_owned()),
                    reason: s.status_reason().map(str::to_owned),
                });
            }
        }
        Ok(Some(observed))
    }

    fn preferences(rollout: &Rollout, regions: &[String]) -> StackSetOperationPreferences {
        StackSetOperationPreferences::builder()
            .region_concurrency_type(if rollout.sequential_regions {
                RegionConcurrencyType::Sequential
            } else {
                RegionConcurrencyType::Parallel
            })
            .set_region_order(Some(regions.to_vec()))
            .max_concurrent_count(i32::try_from(rollout.max_concurrent).unwrap_or(i32::MAX))
            .failure_tolerance_count(i32::try_from(rollout.failure_tolerance).unwrap_or(i32::MAX))
            .build()
    }

    fn parameters(desired: &DesiredStackSet) -> Vec<Parameter> {
        desired
            .parameters
            .iter()
            .map(|(k, v)| {
                Parameter::builder()
                    .parameter_key(k)
                    .parameter_value(v)
                    .build()
            })
            .collect()
    }

    /// Automatic deployment on, stacks removed from accounts that leave the OU.
    fn auto_deployment() -> AutoDeployment {
        AutoDeployment::builder()
            .enabled(true)
            .retain_stacks_on_account_removal(false)
            .build()
    }

    fn targets(ou: &str) -> DeploymentTargets {
        DeploymentTargets::builder()
            .organizational_unit_ids(ou)
            .build()
    }

    /// Finishes an operation an earlier run left pending (polls it; a failure is reported and
    /// left for the new plan to repair).
    pub async fn resume(
        &self,
        log: &OperationLog,
        progress: &dyn Progress,
    ) -> Result<Option<String>, StackSetError> {
        let Some(pending) = log.pending()? else {
            return Ok(None);
        };
        if pending.stack_set != STACK_SET_NAME {
            return Ok(None);
        }
        progress.started(
            &format!("resuming: {}", pending.what),
            &pending.operation_id,
        );
        let outcome = self.wait(&pending.operation_id, progress).await;
        match outcome {
            // The call never reached CloudFormation, or the stack set is gone: nothing to resume.
            Err(StackSetError::Call { detail, .. })
                if ["OperationNotFound", "ValidationError", "StackSetNotFound"]
                    .iter()
                    .any(|c| detail.contains(c)) =>
            {
                log.clear()?;
                Ok(None)
            }
            Err(e @ StackSetError::Timeout(_)) => Err(e),
            other => {
                log.clear()?;
                other
                    .map(|_| Some(pending.operation_id))
                    .or_else(|e| match e {
                        StackSetError::OperationFailed { .. } => Ok(Some(e.to_string())),
                        e => Err(e),
                    })
            }
        }
    }

    /// Waits for every running operation on the stack set (started by someone else).
    async fn wait_for_others(&self, progress: &dyn Progress) -> Result<(), StackSetError> {
        let listed = self
            .client
            .list_stack_set_operations()
            .stack_set_name(STACK_SET_NAME)
            .call_as(self.call_as.clone())
            .send()
            .await
            .map_err(call("ListStackSetOperations"))?;
        let running: Vec<String> = listed
            .summaries()
            .iter()
            .filter(|s| s.status().is_some_and(|x| ACTIVE.contains(&x.as_str())))
            .filter_map(|s| s.operation_id().map(str::to_owned))
            .collect();
        if running.is_empty() {
            // It finished between the two calls; a short pause before retrying.
            tokio::time::sleep(self.polling.first).await;
        }
        for id in running {
            match self.wait(&id, progress).await {
                Ok(_) | Err(StackSetError::OperationFailed { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Polls an operation until it ends; per-instance failures are reported with their reasons.
    pub async fn wait(
        &self,
        operation_id: &str,
        progress: &dyn Progress,
    ) -> Result<String, StackSetError> {
        let started = std::time::Instant::now();
        let mut interval = self.polling.first;
        loop {
            let out = self
                .client
                .describe_stack_set_operation()
                .stack_set_name(STACK_SET_NAME)
                .operation_id(operation_id)
                .call_as(self.call_as.clone())
                .send()
                .await
                .map_err(call("DescribeStackSetOperation"))?;
            let op = out.stack_set_operation();
            let status = op
                .and_then(|o| o.status())
                .map_or("UNKNOWN", StackSetOperationStatus::as_str)
                .to_owned();
            let action = op
                .and_then(|o| o.action())
                .map_or("", |a| a.as_str())
                .to_owned();
            let (done, total, failures) = self.results(operation_id).await?;
            progress.polled(operation_id, &status, done, total);
            if !ACTIVE.contains(&status.as_str()) {
                progress.finished(operation_id, &status);
                if status == "SUCCEEDED" && failures.is_empty() {
                    return Ok(status);
                }
                let mut failures = failures;
                if let Some(reason) = op.and_then(|o| o.status_reason()) {
                    failures.insert(0, reason.to_owned());
                }
                return Err(StackSetError::OperationFailed {
                    operation_id: operation_id.to_owned(),
                    action,
                    status,
                    failures,
                });
            }
            if started.elapsed() > self.polling.timeout {
                return Err(StackSetError::Timeout(operation_id.to_owned()));
            }
            tokio::time::sleep(interval).await;
            interval = (interval * 2).min(self.polling.max);
        }
    }

    /// (finished, total, failures) of an operation's per-instance results.
    async fn results(
        &self,
        operation_id: &str,
    ) -> Result<(usize, usize, Vec<String>), StackSetError> {
        let mut done = 0;
        let mut total = 0;
        let mut failures = Vec::new();
        let mut pages = self
            .client
            .list_stack_set_operation_results()
            .stack_set_name(STACK_SET_NAME)
            .operation_id(operation_id)
            .call_as(self.call_as.clone())
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(call("ListStackSetOperationResults"))?;
            for r in page.summaries() {
                total += 1;
                let status = r.status().map_or("", |s| s.as_str());
                if !matches!(status, "PENDING" | "RUNNING") {
                    done += 1;
                }
                if matches!(status, "FAILED" | "CANCELLED") {
                    failures.push(format!(
                        "{}/{}: {} {}",
                        r.account().unwrap_or("?"),
                        r.region().unwrap_or("?"),
                        status,
                        r.status_reason().unwrap_or_default()
                    ));
                }
            }
        }
        Ok((done, total, failures))
    }
}

/// The write seam of StackSets: only `deploy` and `destroy` hold one ([`StackSets::writer`]); a
/// dry run and `status` never do.
#[derive(Clone, Debug)]
pub struct StackSetWriter(StackSets);

impl StackSets {
    /// The write seam on the same client.
    pub fn writer(&self) -> StackSetWriter {
        StackSetWriter(self.clone())
    }
}

impl StackSetWriter {
    /// Activates trusted access for StackSets (management account only).
    pub async fn activate_trusted_access(&self) -> Result<(), StackSetError> {
        self.0
            .client
            .activate_organizations_access()
            .send()
            .await
            .map(|_| ())
            .map_err(call("ActivateOrganizationsAccess"))
    }

    /// Applies StackSet steps in order; returns a line per change made.
    pub async fn apply(
        &self,
        steps: &[StackStep],
        desired: &DesiredStackSet,
        rollout: &Rollout,
        log: &OperationLog,
        progress: &dyn Progress,
    ) -> Result<Vec<String>, StackSetError> {
        let mut done = Vec::new();
        for step in steps {
            let what = step.to_string();
            match step {
                StackStep::CreateStackSet => {
                    let tag = Tag::builder()
                        .key(MANAGED_BY_KEY)
                        .value(MANAGED_BY_VALUE)
                        .build();
                    let r = self
                        .0
                        .client
                        .create_stack_set()
                        .stack_set_name(STACK_SET_NAME)
                        .description("cmk-guardrails: the AWS Config rule requiring customer-managed KMS keys (generated)")
                        .template_body(&desired.template)
                        .set_parameters(Some(StackSets::parameters(desired)))
                        .capabilities(Capability::CapabilityNamedIam)
                        .permission_model(PermissionModels::ServiceManaged)
                        .auto_deployment(StackSets::auto_deployment())
                        .tags(tag)
                        // Same token on the SDK's retries: never two stack sets.
                        .client_request_token(operation_id())
                        .call_as(self.0.call_as.clone())
                        .send()
                        .await;
                    match r {
                        Ok(_) => {}
                        // Created by a concurrent or interrupted run: the next plan compares it.
                        Err(e) if e.code() == Some("NameAlreadyExistsException") => {}
                        Err(e) => return Err(call("CreateStackSet")(e)),
                    }
                }
                StackStep::UpdateStackSet { .. } => submit!(
                    self,
                    &what,
                    log,
                    progress,
                    StackSets::preferences(rollout, &desired.regions),
                    "UpdateStackSet",
                    self.0
                        .client
                        .update_stack_set()
                        .stack_set_name(STACK_SET_NAME)
                        .template_body(&desired.template)
                        .set_parameters(Some(StackSets::parameters(desired)))
                        .capabilities(Capability::CapabilityNamedIam)
                        .auto_deployment(StackSets::auto_deployment())
                ),
                StackStep::CreateInstances { ou, regions } => submit!(
                    self,
                    &what,
                    log,
                    progress,
                    StackSets::preferences(rollout, regions),
                    "CreateStackInstances",
                    self.0
                        .client
                        .create_stack_instances()
                        .stack_set_name(STACK_SET_NAME)
                        .deployment_targets(StackSets::targets(ou))
                        .set_regions(Some(regions.clone()))
                ),
                StackStep::RetryInstances { ou, regions, .. } => submit!(
                    self,
                    &what,
                    log,
                    progress,
                    StackSets::preferences(rollout, regions),
                    "UpdateStackInstances",
                    self.0
                        .client
                        .update_stack_instances()
                        .stack_set_name(STACK_SET_NAME)
                        .deployment_targets(StackSets::targets(ou))
                        .set_regions(Some(regions.clone()))
                ),
                StackStep::DeleteInstances { ou, regions } => submit!(
                    self,
                    &what,
                    log,
                    progress,
                    StackSets::preferences(rollout, regions),
                    "DeleteStackInstances",
                    self.0
                        .client
                        .delete_stack_instances()
                        .stack_set_name(STACK_SET_NAME)
                        .deployment_targets(StackSets::targets(ou))
                        .set_regions(Some(regions.clone()))
                        .retain_stacks(false)
                ),
                StackStep::DeleteStackSet => {
                    let r = self
                        .0
                        .client
                        .delete_stack_set()
                        .stack_set_name(STACK_SET_NAME)
                        .call_as(self.0.call_as.clone())
                        .send()
                        .await;
                    match r {
                        Ok(_) => {}
                        Err(e) if e.code() == Some("StackSetNotFoundException") => {}
                        Err(e) => return Err(call("DeleteStackSet")(e)),
                    }
                }
            }
            done.push(what);
        }
        Ok(done)
    }

    /// Submits one operation under a fresh id recorded in the log first, waits out
    /// OperationInProgress, then polls it to the end.
    async fn operation<'a, F, Fut>(
        &'a self,
        what: &str,
        log: &OperationLog,
        progress: &dyn Progress,
        submit: F,
    ) -> Result<(), StackSetError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<(), Refused>> + 'a,
    {
        let id = operation_id();
        log.record(&Pending {
            stack_set: STACK_SET_NAME.to_owned(),
            operation_id: id.clone(),
            what: what.to_owned(),
            submitted: now(),
        })?;
        let mut waits = 0;
        loop {
            match submit(id.clone()).await {
                Ok(()) => break,
                // Submitted already (the response to an earlier attempt was lost).
                Err(r) if r.code.as_deref() == Some("OperationIdAlreadyExistsException") => break,
                Err(r)
                    if r.code.as_deref() == Some("OperationInProgressException") && waits < 20 =>
                {
                    waits += 1;
                    progress.waiting(
                        "another operation is running on the stack set; waiting for it to finish",
                    );
                    self.0.wait_for_others(progress).await?;
                }
                // Refused by CloudFormation: no operation exists under this id.
                Err(r) if r.code.is_some() => {
                    log.clear()?;
                    return Err(r.error);
                }
                // No answer (connection lost after the SDK's retries): the operation may be
                // running, so the log keeps its id for the next run to resume.
                Err(r) => return Err(r.error),
            }
        }
        progress.started(what, &id);
        self.0.wait(&id, progress).await?;
        log.clear()
    }
}

/// The stack set parameters from the settings.
pub fn stack_set_parameters(settings: &super::settings::Settings) -> BTreeMap<String, String> {
    let rule = &settings.rule;
    let mut p = BTreeMap::from([
        ("AllowedKeyArns".to_owned(), rule.allowed_key_arns.join(",")),
        (
            "AllowedKeyAccounts".to_owned(),
            rule.allowed_key_accounts.join(","),
        ),
        (
            "ExemptTag".to_owned(),
            rule.exempt_tag.clone().unwrap_or_default(),
        ),
        (
            "RequireKeyRotation".to_owned(),
            rule.require_key_rotation.to_string(),
        ),
    ]);
    if let Some(code) = &settings.code {
        p.insert("CodeBucket".to_owned(), code.bucket.clone());
        p.insert("CodeKey".to_owned(), code.key.clone());
        p.insert(
            "CodeBucketRegionSuffix".to_owned(),
            code.bucket_region_suffix.to_string(),
        );
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operation_log_round_trips_and_clears() {
        let dir = std::env::temp_dir().join(format!("cmk-oplog-{}", operation_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = OperationLog(Some(dir.join("state.json")));
        assert_eq!(log.pending().unwrap(), None);
        let p = Pending {
            stack_set: STACK_SET_NAME.into(),
            operation_id: "cmk-1".into(),
            what: "+ deploy".into(),
            submitted: 1,
        };
        log.record(&p).unwrap();
        assert_eq!(log.pending().unwrap(), Some(p));
        log.clear().unwrap();
        assert_eq!(log.pending().unwrap(), None);
        std::fs::write(dir.join("state.json"), "{not json").unwrap();
        assert!(
            log.pending()
                .unwrap_err()
                .to_string()
                .contains("state.json")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn operation_ids_are_unique_and_valid() {
        let a = operation_id();
        let b = operation_id();
        assert_ne!(a, b);
        assert!(a.len() <= 128 && a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
    }
}
