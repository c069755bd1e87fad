//! The central rule function of each Region, in the deploying account: its code bucket (stack
//! `cmk-guardrails-code`), the package published there (key = content hash), and the function
//! with one invoke permission per member account (stack `cmk-guardrails-central`).
//!
//! [`plan_central`] is a pure diff of what is wanted against what was observed; [`Regional`]
//! observes and applies it with CloudFormation and S3 in one Region.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use aws_sdk_cloudformation::types::{Capability, Parameter, StackStatus, Tag, TemplateStage};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use guardrails::render::central::{CENTRAL_STACK, CODE_STACK};

use super::artifact::{ArtifactError, Package};
use super::cfn::describe;
use super::org::{MANAGED_BY_KEY, MANAGED_BY_VALUE, normalise};

/// Lambda's limit on a function's resource-based policy (20 KB).
pub const FUNCTION_POLICY_MAX_BYTES: usize = 20 * 1024;

/// A failed call, or a stack that ended in a failed state.
#[derive(Debug, thiserror::Error)]
pub enum CentralError {
    /// The call failed (after the SDK's retries).
    #[error("{service}:{operation} in {region}: {detail}")]
    Call {
        /// `cloudformation` or `s3`.
        service: &'static str,
        /// Operation name (also the IAM action, for CloudFormation).
        operation: &'static str,
        /// The Region.
        region: String,
        /// Error text; AccessDenied names the missing permission.
        detail: String,
    },
    /// The stack ended in a failed or rolled-back state.
    #[error("stack {stack} in {region} ended {status}{}", reasons.iter().map(|r| format!("\n  {r}")).collect::<String>())]
    StackFailed {
        /// Stack name.
        stack: String,
        /// The Region.
        region: String,
        /// Final status.
        status: String,
        /// `resource: reason` of each failed resource.
        reasons: Vec<String>,
    },
    /// A stack of our name exists without our tag.
    #[error(
        "a stack named {stack} exists in {region} without the {MANAGED_BY_KEY} tag; cmk-guardrails will not touch it"
    )]
    NotOurs {
        /// Stack name.
        stack: String,
        /// The Region.
        region: String,
    },
    /// The package cannot be built.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// An upload was planned without a package to upload.
    #[error("no rule package to upload to {bucket} in {region}")]
    NoPackage {
        /// The bucket.
        bucket: String,
        /// The Region.
        region: String,
    },
    /// The function's resource policy would exceed Lambda's limit.
    #[error(
        "the central function in {region} would need {accounts} invoke permissions (about {bytes} bytes), over Lambda's {FUNCTION_POLICY_MAX_BYTES}-byte function policy limit; deploy to fewer accounts or use mode = \"per-account\""
    )]
    TooManyAccounts {
        /// The Region.
        region: String,
        /// Member accounts.
        accounts: usize,
        /// Estimated policy size.
        bytes: usize,
    },
}

/// One of our stacks as observed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedStack {
    /// `CREATE_COMPLETE`, `UPDATE_COMPLETE`, `ROLLBACK_COMPLETE`, …
    pub status: String,
    /// Template body, normalised.
    pub template: String,
    /// Parameters.
    pub parameters: BTreeMap<String, String>,
    /// Outputs.
    pub outputs: BTreeMap<String, String>,
}

impl ObservedStack {
    /// A stack that failed its creation and can only be deleted.
    pub fn is_dead(&self) -> bool {
        matches!(
            self.status.as_str(),
            "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" | "CREATE_FAILED" | "DELETE_FAILED"
        )
    }

    /// The accounts of the invoke permissions in its template.
    pub fn permitted_accounts(&self) -> BTreeSet<String> {
        let template: serde_json::Value = serde_json::from_str(&self.template).unwrap_or_default();
        template["Resources"]
            .as_object()
            .map(|r| {
                r.keys()
                    .filter_map(|k| k.strip_prefix("ConfigInvoke"))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// What one Region holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedCentral {
    /// The code bucket's stack.
    pub code: Option<ObservedStack>,
    /// The function's stack.
    pub function: Option<ObservedStack>,
    /// The wanted package is in the bucket.
    pub package_present: bool,
}

/// What one Region should hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredCentral {
    /// The Region.
    pub region: String,
    /// The code bucket's name.
    pub bucket: String,
    /// The code bucket template, normalised.
    pub code_template: String,
    /// The package's key.
    pub package_key: String,
    /// The package's size.
    pub package_bytes: usize,
    /// The function template (with a permission per account), normalised.
    pub function_template: String,
    /// The function stack's parameters.
    pub function_parameters: BTreeMap<String, String>,
    /// The member accounts whose Config may invoke the function.
    pub accounts: BTreeSet<String>,
}

/// One change to a Region's central function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CentralStep {
    /// Create the code bucket's stack (deleting a failed one first).
    CreateBucket {
        /// The Region.
        region: String,
        /// The bucket.
        bucket: String,
    },
    /// Upload the package.
    Upload {
        /// The Region.
        region: String,
        /// The bucket.
        bucket: String,
        /// Its key.
        key: String,
        /// Its size.
        bytes: usize,
    },
    /// Create the function's stack (deleting a failed one first).
    CreateFunction {
        /// The Region.
        region: String,
        /// Member accounts allowed to invoke it.
        accounts: usize,
    },
    /// Update the function's stack.
    UpdateFunction {
        /// The Region.
        region: String,
        /// What differs, for the plan.
        changes: Vec<String>,
    },
    /// Delete the function's stack (destroy).
    DeleteFunction {
        /// The Region.
        region: String,
    },
    /// Empty the code bucket of our packages and delete its stack (destroy).
    DeleteBucket {
        /// The Region.
        region: String,
        /// The bucket.
        bucket: String,
    },
}

impl CentralStep {
    /// A deletion (destroy, or a Region no longer configured): applied after the member rules
    /// that name the function are gone.
    pub fn is_delete(&self) -> bool {
        matches!(
            self,
            CentralStep::DeleteFunction { .. } | CentralStep::DeleteBucket { .. }
        )
    }

    /// The Region the step is in.
    pub fn region(&self) -> &str {
        match self {
            CentralStep::CreateBucket { region, .. }
            | CentralStep::Upload { region, .. }
            | CentralStep::CreateFunction { region, .. }
            | CentralStep::UpdateFunction { region, .. }
            | CentralStep::DeleteFunction { region }
            | CentralStep::DeleteBucket { region, .. } => region,
        }
    }
}

impl fmt::Display for CentralStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CentralStep::CreateBucket { region, bucket } => {
                write!(
                    f,
                    "+ create code bucket {bucket} (stack {CODE_STACK}) in {region}"
                )
            }
            CentralStep::Upload {
                region,
                bucket,
                key,
                bytes,
            } => write!(
                f,
                "+ upload the rule package {key} ({:.1} MB) to {bucket} in {region}",
                *bytes as f64 / 1e6
            ),
            CentralStep::CreateFunction { region, accounts } => write!(
                f,
                "+ create the central function (stack {CENTRAL_STACK}) in {region}, invocable by the Config of {accounts} member account(s)"
            ),
            CentralStep::UpdateFunction { region, changes } => write!(
                f,
                "~ update the central function (stack {CENTRAL_STACK}) in {region}: {}",
                changes.join(", ")
            ),
            CentralStep::DeleteFunction { region } => write!(
                f,
                "- delete the central function (stack {CENTRAL_STACK}) in {region}"
            ),
            CentralStep::DeleteBucket { region, bucket } => write!(
                f,
                "- delete code bucket {bucket} and its packages (stack {CODE_STACK}) in {region}"
            ),
        }
    }
}

/// About how many bytes one invoke permission adds to the function's policy.
fn permission_bytes(region: &str, account: &str) -> usize {
    format!(
        r#"{{"Sid":"cmk-guardrails-central-ConfigInvoke{account}-ABCDEFGHIJKL","Effect":"Allow","Principal":{{"Service":"config.amazonaws.com"}},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:{region}:{account}:function:cmk-guardrails","Condition":{{"StringEquals":{{"AWS:SourceAccount":"{account}"}}}}}},"#
    )
    .len()
}

/// The ordered steps of a deploy in one Region; empty means nothing to do there.
pub fn plan_central(
    desired: &DesiredCentral,
    observed: &ObservedCentral,
) -> Result<Vec<CentralStep>, CentralError> {
    let bytes: usize = desired
        .accounts
        .iter()
        .map(|a| permission_bytes(&desired.region, a))
        .sum();
    if bytes > FUNCTION_POLICY_MAX_BYTES {
        return Err(CentralError::TooManyAccounts {
            region: desired.region.clone(),
            accounts: desired.accounts.len(),
            bytes,
        });
    }
    let region = desired.region.clone();
    let mut steps = Vec::new();
    let code_live = observed.code.as_ref().filter(|c| !c.is_dead());
    if code_live.is_none_or(|c| c.template != desired.code_template) {
        steps.push(CentralStep::CreateBucket {
            region: region.clone(),
            bucket: desired.bucket.clone(),
        });
    }
    if code_live.is_none() || !observed.package_present {
        steps.push(CentralStep::Upload {
            region: region.clone(),
            bucket: desired.bucket.clone(),
            key: desired.package_key.clone(),
            bytes: desired.package_bytes,
        });
    }
    match observed.function.as_ref().filter(|f| !f.is_dead()) {
        None => steps.push(CentralStep::CreateFunction {
            region,
            accounts: desired.accounts.len(),
        }),
        Some(function) => {
            let mut changes = Vec::new();
            let (had, want) = (function.permitted_accounts(), &desired.accounts);
            for (name, value) in &desired.function_parameters {
                let old = function.parameters.get(name).map_or("", String::as_str);
                if old != value {
                    changes.push(if name == "CodeKey" {
                        format!("code {old} → {value}")
                    } else {
                        format!("{name} `{old}` → `{value}`")
                    });
                }
            }
            for account in want.difference(&had) {
                changes.push(format!("+ invoke permission for {account}"));
            }
            for account in had.difference(want) {
                changes.push(format!(
                    "- invoke permission for {account} (no longer below a target OU)"
                ));
            }
            if changes.is_empty() && function.template != desired.function_template {
                changes.push("template".to_owned());
            }
            if !changes.is_empty() {
                steps.push(CentralStep::UpdateFunction { region, changes });
            }
        }
    }
    Ok(steps)
}

/// The steps of a destroy in one Region: with `keep_accounts` (other OUs still use the
/// function), only the permissions of the others go; with none, everything goes.
pub fn plan_central_destroy(
    desired: &DesiredCentral,
    observed: &ObservedCentral,
    keep_accounts: Option<&BTreeSet<String>>,
) -> Vec<CentralStep> {
    let region = desired.region.clone();
    let mut steps = Vec::new();
    match keep_accounts {
        Some(keep) => {
            if let Some(function) = observed.function.as_ref().filter(|f| !f.is_dead()) {
                let changes: Vec<String> = function
                    .permitted_accounts()
                    .difference(keep)
                    .map(|a| format!("- invoke permission for {a}"))
                    .collect();
                if !changes.is_empty() {
                    steps.push(CentralStep::UpdateFunction { region, changes });
                }
            }
        }
        None => {
            if observed.function.is_some() {
                steps.push(CentralStep::DeleteFunction {
                    region: region.clone(),
                });
            }
            if observed.code.is_some() {
                steps.push(CentralStep::DeleteBucket {
                    region,
                    bucket: desired.bucket.clone(),
                });
            }
        }
    }
    steps
}

/// Builds the read seam of a Region (tests attach interceptors here).
#[derive(Clone)]
pub struct RegionalClients(pub std::sync::Arc<dyn Fn(&str) -> Regional + Send + Sync>);

impl RegionalClients {
    /// Clients from the caller's configuration ([`Regional::new`]).
    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> RegionalClients {
        let sdk = sdk.clone();
        RegionalClients(std::sync::Arc::new(move |region| {
            Regional::new(&sdk, region)
        }))
    }

    /// The clients of `region`.
    pub fn get(&self, region: &str) -> Regional {
        (self.0)(region)
    }
}

impl fmt::Debug for RegionalClients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RegionalClients")
    }
}

/// The read seam of one Region of the deploying account: CloudFormation and S3, reading. Changes
/// go through [`RegionalWriter`].
#[derive(Clone, Debug)]
pub struct Regional {
    /// The Region.
    pub region: String,
    /// CloudFormation there.
    pub cfn: aws_sdk_cloudformation::Client,
    /// S3 there.
    pub s3: aws_sdk_s3::Client,
    /// How long to wait between stack polls: first, and at most.
    pub polling: (Duration, Duration),
}

impl Regional {
    /// Clients for `region` from the caller's configuration. With a custom endpoint
    /// (`AWS_ENDPOINT_URL`), S3 is addressed path-style, as S3-compatible endpoints expect.
    pub fn new(sdk: &aws_config::SdkConfig, region: &str) -> Regional {
        let r = aws_config::Region::new(region.to_owned());
        let cfn = aws_sdk_cloudformation::config::Builder::from(sdk)
            .region(r.clone())
            .build();
        let s3 = aws_sdk_s3::config::Builder::from(sdk)
            .region(r)
            .force_path_style(sdk.endpoint_url().is_some())
            .build();
        Regional {
            region: region.to_owned(),
            cfn: aws_sdk_cloudformation::Client::from_conf(cfn),
            s3: aws_sdk_s3::Client::from_conf(s3),
            polling: (Duration::from_secs(2), Duration::from_secs(15)),
        }
    }

    /// A failed call of `service` (`cloudformation`, `s3`) in this Region.
    fn call_error<E: std::error::Error + ProvideErrorMetadata + 'static>(
        &self,
        service: &'static str,
        operation: &'static str,
    ) -> impl Fn(E) -> CentralError + '_ {
        move |e| CentralError::Call {
            service,
            operation,
            region: self.region.clone(),
            detail: describe(service, operation, &e),
        }
    }

    fn cfn_error<E: std::error::Error + ProvideErrorMetadata + 'static>(
        &self,
        operation: &'static str,
    ) -> impl Fn(E) -> CentralError + '_ {
        self.call_error("cloudformation", operation)
    }

    fn s3_error<E: std::error::Error + ProvideErrorMetadata + 'static>(
        &self,
        operation: &'static str,
    ) -> impl Fn(E) -> CentralError + '_ {
        self.call_error("s3", operation)
    }

    /// One of our stacks; `None` when it does not exist (or is deleted).
    pub async fn stack(&self, name: &str) -> Result<Option<ObservedStack>, CentralError> {
        let described = self.cfn.describe_stacks().stack_name(name).send().await;
        let stack = match described {
            Ok(out) => match out.stacks.unwrap_or_default().into_iter().next() {
                Some(s) => s,
                None => return Ok(None),
            },
            // DescribeStacks answers a missing stack with ValidationError; its absence is the
            // only ValidationError a name we chose can cause.
            Err(e) if e.code() == Some("ValidationError") => return Ok(None),
            Err(e) => return Err(self.cfn_error("DescribeStacks")(e)),
        };
        let status = stack.stack_status().map_or("", StackStatus::as_str);
        if status == "DELETE_COMPLETE" {
            return Ok(None);
        }
        let ours = stack
            .tags()
            .iter()
            .any(|t| t.key() == Some(MANAGED_BY_KEY) && t.value() == Some(MANAGED_BY_VALUE));
        if !ours {
            return Err(CentralError::NotOurs {
                stack: name.to_owned(),
                region: self.region.clone(),
            });
        }
        let template = self
            .cfn
            .get_template()
            .stack_name(name)
            .template_stage(TemplateStage::Original)
            .send()
            .await
            .map_err(self.cfn_error("GetTemplate"))?;
        Ok(Some(ObservedStack {
            status: status.to_owned(),
            template: normalise(template.template_body().unwrap_or_default()),
            parameters: stack
                .parameters()
                .iter()
                .map(|p| {
                    (
                        p.parameter_key().unwrap_or_default().to_owned(),
                        p.parameter_value().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            outputs: stack
                .outputs()
                .iter()
                .map(|o| {
                    (
                        o.output_key().unwrap_or_default().to_owned(),
                        o.output_value().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
        }))
    }

    /// Whether `key` is in `bucket`.
    pub async fn has_object(&self, bucket: &str, key: &str) -> Result<bool, CentralError> {
        match self.s3.head_object().bucket(bucket).key(key).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(self.s3_error("HeadObject")(e)),
        }
    }

    /// The Region's state for `desired`.
    pub async fn observe(&self, desired: &DesiredCentral) -> Result<ObservedCentral, CentralError> {
        let code = self.stack(CODE_STACK).await?;
        let package_present = match &code {
            // Destroy and status without a package ask nothing about it.
            Some(c) if !c.is_dead() && !desired.package_key.is_empty() => {
                self.has_object(&desired.bucket, &desired.package_key)
                    .await?
            }
            _ => false,
        };
        Ok(ObservedCentral {
            code,
            function: self.stack(CENTRAL_STACK).await?,
            package_present,
        })
    }

    /// Polls the stack until no operation is in progress; a failed or rolled-back end is an
    /// error listing each failed resource with CloudFormation's reason.
    async fn wait(&self, name: &str) -> Result<(), CentralError> {
        let mut interval = self.polling.0;
        loop {
            let described = self.cfn.describe_stacks().stack_name(name).send().await;
            let status = match described {
                Ok(out) => out
                    .stacks()
                    .first()
                    .and_then(|s| s.stack_status())
                    .map_or("DELETE_COMPLETE", StackStatus::as_str)
                    .to_owned(),
                Err(e) if e.code() == Some("ValidationError") => "DELETE_COMPLETE".to_owned(),
                Err(e) => return Err(self.cfn_error("DescribeStacks")(e)),
            };
            if !status.ends_with("_IN_PROGRESS") {
                if matches!(
                    status.as_str(),
                    "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "DELETE_COMPLETE"
                ) {
                    return Ok(());
                }
                return Err(CentralError::StackFailed {
                    stack: name.to_owned(),
                    region: self.region.clone(),
                    status,
                    reasons: self.failures(name).await?,
                });
            }
            tokio::time::sleep(interval).await;
            interval = (interval * 2).min(self.polling.1);
        }
    }

    async fn failures(&self, name: &str) -> Result<Vec<String>, CentralError> {
        let out = self
            .cfn
            .describe_stack_events()
            .stack_name(name)
            .send()
            .await
            .map_err(self.cfn_error("DescribeStackEvents"))?;
        Ok(out
            .stack_events()
            .iter()
            .filter(|e| {
                e.resource_status()
                    .is_some_and(|s| s.as_str().ends_with("_FAILED"))
            })
            .map(|e| {
                format!(
                    "{}: {}",
                    e.logical_resource_id().unwrap_or("?"),
                    e.resource_status_reason().unwrap_or_default()
                )
            })
            .collect())
    }
}

/// The write seam of one Region's central function: only `deploy` and `destroy` hold one
/// ([`Regional::writer`]).
#[derive(Clone, Debug)]
pub struct RegionalWriter(Regional);

impl Regional {
    /// The write seam on the same clients.
    pub fn writer(&self) -> RegionalWriter {
        RegionalWriter(self.clone())
    }
}

impl RegionalWriter {
    /// Applies the Region's steps in order; returns a line per change made.
    pub async fn apply(
        &self,
        steps: &[CentralStep],
        desired: &DesiredCentral,
        observed: &ObservedCentral,
        package: Option<&Package>,
    ) -> Result<Vec<String>, CentralError> {
        let mut done = Vec::new();
        for step in steps.iter().filter(|s| s.region() == self.0.region) {
            match step {
                CentralStep::CreateBucket { .. } => {
                    self.put_stack(
                        CODE_STACK,
                        observed.code.as_ref(),
                        &desired.code_template,
                        &BTreeMap::new(),
                    )
                    .await?;
                }
                CentralStep::Upload { bucket, key, .. } => {
                    let Some(package) = package else {
                        return Err(CentralError::NoPackage {
                            bucket: bucket.clone(),
                            region: self.0.region.clone(),
                        });
                    };
                    self.0
                        .s3
                        .put_object()
                        .bucket(bucket)
                        .key(key)
                        .body(package.zip.clone().into())
                        .content_type("application/zip")
                        .send()
                        .await
                        .map_err(self.0.s3_error("PutObject"))?;
                }
                CentralStep::CreateFunction { .. } | CentralStep::UpdateFunction { .. } => {
                    self.put_stack(
                        CENTRAL_STACK,
                        observed.function.as_ref(),
                        &desired.function_template,
                        &desired.function_parameters,
                    )
                    .await?;
                }
                CentralStep::DeleteFunction { .. } => self.delete_stack(CENTRAL_STACK).await?,
                CentralStep::DeleteBucket { bucket, .. } => {
                    self.empty(bucket).await?;
                    self.delete_stack(CODE_STACK).await?;
                }
            }
            done.push(step.to_string());
        }
        Ok(done)
    }

    /// Creates the stack (deleting a dead one first) or updates it, and waits for the end.
    async fn put_stack(
        &self,
        name: &str,
        observed: Option<&ObservedStack>,
        template: &str,
        parameters: &BTreeMap<String, String>,
    ) -> Result<(), CentralError> {
        let parameters: Vec<Parameter> = parameters
            .iter()
            .map(|(k, v)| {
                Parameter::builder()
                    .parameter_key(k)
                    .parameter_value(v)
                    .build()
            })
            .collect();
        let tag = Tag::builder()
            .key(MANAGED_BY_KEY)
            .value(MANAGED_BY_VALUE)
            .build();
        match observed {
            Some(stack) if !stack.is_dead() => {
                self.0
                    .cfn
                    .update_stack()
                    .stack_name(name)
                    .template_body(template)
                    .set_parameters(Some(parameters))
                    .capabilities(Capability::CapabilityNamedIam)
                    .tags(tag)
                    .send()
                    .await
                    .map_err(self.0.cfn_error("UpdateStack"))?;
            }
            dead => {
                if dead.is_some() {
                    self.delete_stack(name).await?;
                }
                self.0
                    .cfn
                    .create_stack()
                    .stack_name(name)
                    .template_body(template)
                    .set_parameters(Some(parameters))
                    .capabilities(Capability::CapabilityNamedIam)
                    .tags(tag)
                    .send()
                    .await
                    .map_err(self.0.cfn_error("CreateStack"))?;
            }
        }
        self.0.wait(name).await
    }

    async fn delete_stack(&self, name: &str) -> Result<(), CentralError> {
        self.0
            .cfn
            .delete_stack()
            .stack_name(name)
            .send()
            .await
            .map_err(self.0.cfn_error("DeleteStack"))?;
        self.0.wait(name).await
    }

    /// Deletes every version and delete marker of our packages (a versioned bucket must be
    /// empty before CloudFormation can delete it).
    async fn empty(&self, bucket: &str) -> Result<(), CentralError> {
        loop {
            let out = self
                .0
                .s3
                .list_object_versions()
                .bucket(bucket)
                .send()
                .await
                .map_err(self.0.s3_error("ListObjectVersions"))?;
            let mut objects = Vec::new();
            for v in out.versions() {
                objects.push((v.key(), v.version_id()));
            }
            for m in out.delete_markers() {
                objects.push((m.key(), m.version_id()));
            }
            if objects.is_empty() {
                return Ok(());
            }
            for (key, version) in objects {
                self.0
                    .s3
                    .delete_object()
                    .bucket(bucket)
                    .key(key.unwrap_or_default())
                    .set_version_id(version.map(str::to_owned))
                    .send()
                    .await
                    .map_err(self.0.s3_error("DeleteObject"))?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(accounts: &[&str]) -> DesiredCentral {
        DesiredCentral {
            region: "eu-west-1".into(),
            bucket: "cmk-guardrails-code-999999999999-eu-west-1".into(),
            code_template: "{\"code\":1}".into(),
            package_key: "cmk-guardrails/rule-new.zip".into(),
            package_bytes: 10_000_000,
            function_template: "{\"function\":1}".into(),
            function_parameters: BTreeMap::from([(
                "CodeKey".to_owned(),
                "cmk-guardrails/rule-new.zip".to_owned(),
            )]),
            accounts: accounts.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    fn function_with(accounts: &[&str], key: &str) -> ObservedStack {
        let resources: serde_json::Map<String, serde_json::Value> = accounts
            .iter()
            .map(|a| (format!("ConfigInvoke{a}"), serde_json::json!({})))
            .collect();
        ObservedStack {
            status: "UPDATE_COMPLETE".into(),
            template: serde_json::json!({ "Resources": resources }).to_string(),
            parameters: BTreeMap::from([("CodeKey".to_owned(), key.to_owned())]),
            outputs: BTreeMap::new(),
        }
    }

    #[test]
    fn an_empty_region_gets_bucket_package_and_function_in_that_order() {
        let steps = plan_central(&desired(&["111111111111"]), &ObservedCentral::default()).unwrap();
        let lines: Vec<String> = steps.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].starts_with("+ create code bucket cmk-guardrails-code-999999999999-eu-west-1")
        );
        assert!(
            lines[1].starts_with("+ upload the rule package cmk-guardrails/rule-new.zip (10.0 MB)")
        );
        assert!(lines[2].contains("invocable by the Config of 1 member account(s)"));
    }

    #[test]
    fn a_new_package_and_joined_and_departed_accounts_are_one_update() {
        let d = desired(&["111111111111", "333333333333"]);
        let observed = ObservedCentral {
            code: Some(ObservedStack {
                status: "CREATE_COMPLETE".into(),
                template: d.code_template.clone(),
                ..ObservedStack::default()
            }),
            function: Some(function_with(
                &["111111111111", "222222222222"],
                "cmk-guardrails/rule-old.zip",
            )),
            package_present: false,
        };
        let steps = plan_central(&d, &observed).unwrap();
        assert_eq!(steps.len(), 2, "{steps:?}");
        assert!(matches!(steps[0], CentralStep::Upload { .. }));
        assert_eq!(
            steps[1].to_string(),
            "~ update the central function (stack cmk-guardrails-central) in eu-west-1: code cmk-guardrails/rule-old.zip → cmk-guardrails/rule-new.zip, + invoke permission for 333333333333, - invoke permission for 222222222222 (no longer below a target OU)"
        );
    }

    #[test]
    fn an_unchanged_region_has_nothing_to_do_and_a_dead_stack_is_recreated() {
        let d = desired(&["111111111111"]);
        let mut function = function_with(&["111111111111"], "cmk-guardrails/rule-new.zip");
        function.template =
            serde_json::json!({"Resources": {"ConfigInvoke111111111111": {}}}).to_string();
        let mut observed = ObservedCentral {
            code: Some(ObservedStack {
                status: "CREATE_COMPLETE".into(),
                template: d.code_template.clone(),
                ..ObservedStack::default()
            }),
            function: Some(function),
            package_present: true,
        };
        let mut d2 = d.clone();
        d2.function_template = observed.function.as_ref().unwrap().template.clone();
        assert_eq!(plan_central(&d2, &observed).unwrap(), Vec::new());
        observed.function.as_mut().unwrap().status = "ROLLBACK_COMPLETE".into();
        assert!(matches!(
            plan_central(&d2, &observed).unwrap()[..],
            [CentralStep::CreateFunction { .. }]
        ));
    }

    #[test]
    fn more_accounts_than_the_function_policy_holds_is_refused_before_any_change() {
        let many: Vec<String> = (0..200)
            .map(|i| format!("{:012}", 100_000_000_000u64 + i))
            .collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let err = plan_central(&desired(&refs), &ObservedCentral::default()).unwrap_err();
        assert!(err.to_string().contains("200 invoke permissions"), "{err}");
        let fits: Vec<&str> = refs[..60].to_vec();
        assert!(plan_central(&desired(&fits), &ObservedCentral::default()).is_ok());
    }
}
