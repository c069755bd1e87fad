//! `guardrails deploy | status | destroy --ou …`: roll the guardrails out to OUs of an AWS
//! Organization (SCPs + the Config rule StackSet), report drift, or remove what we deployed.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::{Context, bail};
use guardrails_deploy::artifact;
use guardrails_deploy::cfn::{OperationLog, Progress};
use guardrails_deploy::engine::{Engine, Plan};
use guardrails_deploy::settings::{Code, Mode, Settings};
use indicatif::{ProgressBar, ProgressStyle};

use crate::Outcome;
use crate::output::{self, Format};

/// Targets, settings file and every setting as a flag (flags override the file).
#[derive(Debug, clap::Args)]
pub struct Common {
    /// Target OU: an id (`ou-…`), a path (`Root/Workloads/Sandbox`, or `:` separated) or a
    /// unique name (case-insensitive). Repeatable.
    #[arg(long = "ou", value_name = "OU", required = true)]
    ous: Vec<String>,
    /// Settings file [default: guardrails.toml when it exists].
    #[arg(long, value_name = "FILE")]
    settings: Option<PathBuf>,
    /// Operation log: the StackSet operation in flight, so an interrupted run resumes it.
    #[arg(
        long,
        value_name = "FILE",
        default_value = ".guardrails-operation.json"
    )]
    operation_log: PathBuf,
    /// Region for the Config rule (repeatable; replaces `regions`).
    #[arg(long = "region", value_name = "REGION")]
    regions: Vec<String>,
    /// Break-glass principal ARN pattern (repeatable; replaces `break-glass`).
    #[arg(long = "break-glass", value_name = "PATTERN")]
    break_glass: Vec<String>,
    /// Control id to deploy (repeatable; replaces `controls`).
    #[arg(long = "control", value_name = "ID")]
    controls: Vec<String>,
    /// Allowed key (repeatable; replaces `rule.allowed-key-arns`).
    #[arg(long = "allowed-key-arn", value_name = "ARN")]
    allowed_key_arns: Vec<String>,
    /// Allowed key account (repeatable; replaces `rule.allowed-key-accounts`).
    #[arg(long = "allowed-key-account", value_name = "ACCOUNT")]
    allowed_key_accounts: Vec<String>,
    /// `rule.exempt-tag`.
    #[arg(long, value_name = "KEY[=VALUE]")]
    exempt_tag: Option<String>,
    /// `rule.require-key-rotation`.
    #[arg(long, value_name = "BOOL")]
    require_key_rotation: Option<bool>,
    /// `rollout.max-concurrent`.
    #[arg(long, value_name = "N")]
    max_concurrent: Option<u32>,
    /// `rollout.failure-tolerance`.
    #[arg(long, value_name = "N")]
    failure_tolerance: Option<u32>,
    /// `rollout.sequential-regions`.
    #[arg(long, value_name = "BOOL")]
    sequential_regions: Option<bool>,
    /// `mode`: `central` (one function per Region in this account, the default) or
    /// `per-account` (a function in every member account, code from `[code]`).
    #[arg(long, value_enum)]
    mode: Option<ModeArg>,
    /// Central mode: the Linux executable of guardrails to publish as the rule's code
    /// [default: this executable].
    #[arg(long, value_name = "FILE")]
    package: Option<PathBuf>,
    /// `aggregator`: create (and read) the organization aggregator (central mode).
    #[arg(long, value_name = "BOOL")]
    aggregator: Option<bool>,
    /// `code.bucket`.
    #[arg(long, value_name = "BUCKET")]
    code_bucket: Option<String>,
    /// `code.key`.
    #[arg(long, value_name = "KEY")]
    code_key: Option<String>,
    /// `code.bucket-region-suffix`.
    #[arg(long, value_name = "BOOL")]
    code_bucket_region_suffix: Option<bool>,
}

impl Common {
    /// The settings file with the flags applied, validated (before any AWS call).
    /// The settings, with Regions left unset defaulted to the configured Region, and the line
    /// that says so when that happened.
    async fn settings(&self) -> anyhow::Result<(Settings, Option<String>)> {
        let mut s = self.settings_as_written()?;
        let configured = cmk_rule::aws::sdk_config().await;
        let configured = configured.region().map(|r| r.as_ref().to_owned());
        let defaulted = s
            .default_regions(configured.as_deref())
            .map_err(|p| anyhow::anyhow!("{}", p.message))?;
        let note = defaulted.then(|| {
            format!(
                "Regions: {} (the configured Region; set `regions` in guardrails.toml or pass --region for others)",
                s.regions.join(", ")
            )
        });
        Ok((s, note))
    }

    fn settings_as_written(&self) -> anyhow::Result<Settings> {
        let default = PathBuf::from("guardrails.toml");
        let path = match &self.settings {
            Some(p) => Some(p.clone()),
            None => default.exists().then_some(default),
        };
        let mut s = match &path {
            Some(p) => Settings::load(p)?,
            None => Settings::with_regions(Vec::new()),
        };
        let replace = |dst: &mut Vec<String>, src: &[String]| {
            if !src.is_empty() {
                *dst = src.to_vec();
            }
        };
        replace(&mut s.regions, &self.regions);
        replace(&mut s.break_glass, &self.break_glass);
        replace(&mut s.controls, &self.controls);
        replace(&mut s.rule.allowed_key_arns, &self.allowed_key_arns);
        replace(&mut s.rule.allowed_key_accounts, &self.allowed_key_accounts);
        if let Some(t) = &self.exempt_tag {
            s.rule.exempt_tag = Some(t.clone()).filter(|t| !t.is_empty());
        }
        if let Some(b) = self.require_key_rotation {
            s.rule.require_key_rotation = b;
        }
        if let Some(n) = self.max_concurrent {
            s.rollout.max_concurrent = n;
        }
        if let Some(n) = self.failure_tolerance {
            s.rollout.failure_tolerance = n;
        }
        if let Some(b) = self.sequential_regions {
            s.rollout.sequential_regions = b;
        }
        if let Some(b) = self.aggregator {
            s.aggregator = b;
        }
        if let Some(m) = self.mode {
            s.mode = match m {
                ModeArg::Central => Mode::Central,
                ModeArg::PerAccount => Mode::PerAccount,
            };
        }
        if let Some(bucket) = &self.code_bucket {
            let mut code = s.code.take().unwrap_or(Code {
                bucket: String::new(),
                key: "cmk-guardrails/rule.zip".to_owned(),
                bucket_region_suffix: false,
            });
            code.bucket = bucket.clone();
            s.code = Some(code);
        }
        if let Some(code) = &mut s.code {
            if let Some(k) = &self.code_key {
                code.key = k.clone();
            }
            if let Some(b) = self.code_bucket_region_suffix {
                code.bucket_region_suffix = b;
            }
        }
        let origin = path.map_or_else(
            || "flags (no settings file)".to_owned(),
            |p| format!("{} with flags", p.display()),
        );
        s.validate()
            .map_err(|p| anyhow::anyhow!("{origin}: {}", p.message))?;
        Ok(s)
    }
}

/// `--mode` values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ModeArg {
    /// One central function per Region in the deploying account.
    Central,
    /// A function in every member account and Region.
    PerAccount,
}

/// Arguments of `guardrails deploy`.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    #[command(flatten)]
    common: Common,
    /// Print the plan and change nothing (no mutating API call).
    #[arg(long)]
    dry_run: bool,
}

/// Arguments of `guardrails status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    common: Common,
    /// Output format.
    #[arg(long, default_value = "text", value_parser = output::only(output::TEXT_JSON))]
    output: Format,
    /// Also write a self-contained HTML report of the OU's compliance (charts by account, Region
    /// and service; the NON_COMPLIANT resources; the drift) here.
    #[arg(long, value_name = "FILE")]
    html: Option<std::path::PathBuf>,
}

/// Arguments of `guardrails destroy`.
#[derive(Debug, clap::Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    common: Common,
    /// Do not ask for confirmation.
    #[arg(long)]
    yes: bool,
}

/// Progress of StackSet operations on stderr: a bar on a terminal, plain lines otherwise.
struct CliProgress {
    bar: Mutex<Option<ProgressBar>>,
    terminal: bool,
}

impl CliProgress {
    fn new() -> CliProgress {
        CliProgress {
            bar: Mutex::new(None),
            terminal: std::io::stderr().is_terminal(),
        }
    }
}

impl Progress for CliProgress {
    fn started(&self, what: &str, operation_id: &str) {
        if self.terminal {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(format!("{what} ({operation_id})"));
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            if let Ok(mut b) = self.bar.lock() {
                *b = Some(bar);
            }
        } else {
            eprintln!("operation {operation_id}: {what}");
        }
    }

    fn polled(&self, operation_id: &str, status: &str, done: usize, total: usize) {
        if self.terminal {
            if let Ok(b) = self.bar.lock()
                && let Some(bar) = b.as_ref()
            {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
        } else {
            eprintln!("operation {operation_id}: {status} {done}/{total} instances");
        }
    }

    fn waiting(&self, message: &str) {
        eprintln!("{message}");
    }

    fn finished(&self, operation_id: &str, status: &str) {
        if let Ok(mut b) = self.bar.lock()
            && let Some(bar) = b.take()
        {
            bar.finish_and_clear();
        }
        eprintln!("operation {operation_id}: {status}");
    }
}

async fn engine() -> anyhow::Result<Engine> {
    let sdk = cmk_rule::aws::sdk_config().await;
    Engine::connect(&sdk)
        .await
        .context("reading the caller's identity and organization")
}

impl Common {
    /// Central mode: the package of `--package` or of this executable, checked for Lambda.
    fn package(&self, settings: &Settings) -> anyhow::Result<Option<artifact::Package>> {
        if settings.mode != Mode::Central {
            return Ok(None);
        }
        let path = match &self.package {
            Some(p) => p.clone(),
            None => std::env::current_exe().context("finding this executable to package it")?,
        };
        Ok(Some(artifact::package(&path)?))
    }
}

fn print_plan(title: &str, plan: &Plan) {
    let mut out = std::io::stdout().lock();
    let targets: Vec<String> = plan
        .targets
        .iter()
        .map(|t| format!("{} ({})", t.path, t.id))
        .collect();
    let _ = writeln!(out, "{title} for {}:", targets.join(", "));
    if plan.is_empty() {
        let _ = writeln!(out, "  nothing to do");
    }
    for line in plan.lines() {
        let _ = writeln!(out, "  {line}");
    }
}

/// Runs `guardrails deploy`.
pub async fn deploy(args: DeployArgs) -> anyhow::Result<Outcome> {
    let (settings, regions_note) = args.common.settings().await?;
    if settings.mode == Mode::PerAccount && settings.code.is_none() {
        bail!(
            "mode = \"per-account\" needs the rule's code location: set `[code] bucket` in guardrails.toml or pass --code-bucket"
        );
    }
    let package = args.common.package(&settings)?;
    let mut engine = engine().await?;
    engine.package = package;
    let log = OperationLog(Some(args.common.operation_log.clone()));
    let progress = CliProgress::new();
    if args.dry_run {
        if let Some(p) = log.pending()? {
            println!(
                "an interrupted run left operation {} pending ({}); the deploy will resume it first",
                p.operation_id, p.what
            );
        }
    } else if let Some(resumed) = engine.stacks.resume(&log, &progress).await? {
        println!("resumed the interrupted operation: {resumed}");
    }
    let plan = engine.plan(&settings, &args.common.ous).await?;
    print_plan(
        if args.dry_run {
            "Plan (dry run)"
        } else {
            "Plan"
        },
        &plan,
    );
    if let Some(note) = regions_note {
        println!("  {note}");
    }
    if args.dry_run || plan.is_empty() {
        return Ok(Outcome::Clean);
    }
    let done = engine
        .writer()
        .apply(&plan, &settings, &log, &progress)
        .await?;
    println!("Applied {} change(s).", done.len());
    Ok(Outcome::Clean)
}

/// Writes `status --html`: the rule's latest result for every resource of the OUs' accounts, as
/// the organization aggregator holds them.
fn status_report(
    path: &std::path::Path,
    ous: &[String],
    status: &guardrails_deploy::engine::Status,
) -> anyhow::Result<()> {
    use crate::report::{Finding, Summary, html};
    let mut summary = Summary::default();
    let mut non_compliant = Vec::new();
    for place in &status.compliance {
        for r in &place.resources {
            let finding = Finding {
                account: place.account.clone(),
                region: place.region.clone(),
                resource_type: r.resource_type.clone(),
                resource_id: r.resource_id.clone(),
                compliance_type: r.compliance_type.clone(),
                annotation: r.annotation.clone(),
                keys: Vec::new(),
            };
            summary.add(&finding);
            if finding.compliance_type == "NON_COMPLIANT" {
                non_compliant.push(finding);
            }
        }
    }
    let generated = cmk_core::evaluation::format_utc(time::OffsetDateTime::now_utc())?;
    let title = format!("CMK compliance of {}", ous.join(", "));
    let source = format!(
        "the Config rule's latest results, from {} (caller {})",
        status.compliance_source, status.caller
    );
    let drift = if status.in_sync {
        Vec::new()
    } else {
        status.drift.clone()
    };
    let page = html::Page {
        title: &title,
        source: &source,
        generated: &generated,
        not_evaluated: &[],
        by_key: false,
        notes: &[("Drift (what `guardrails deploy` would change)", &drift)],
    };
    let file = std::fs::File::create(path).with_context(|| format!("--html {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    html::write(&mut out, &page, &summary, non_compliant.into_iter().map(Ok))?;
    std::io::Write::flush(&mut out).with_context(|| format!("--html {}", path.display()))?;
    Ok(())
}

/// Runs `guardrails status`: exit 0 in sync and compliant, 1 drift, 3 in sync with
/// NON_COMPLIANT resources.
pub async fn status(args: StatusArgs) -> anyhow::Result<Outcome> {
    let (settings, regions_note) = args.common.settings().await?;
    if let Some(note) = regions_note {
        eprintln!("{note}");
    }
    let package = args.common.package(&settings)?;
    let mut engine = engine().await?;
    engine.package = package;
    let plan = engine.plan(&settings, &args.common.ous).await?;
    let mut status = plan.status(&engine.caller);
    engine.compliance(&plan, &settings, &mut status).await?;
    let log = OperationLog(Some(args.common.operation_log.clone()));
    if let Some(p) = log.pending()? {
        status.drift.insert(
            0,
            format!(
                "operation {} of an interrupted run is pending: {}",
                p.operation_id, p.what
            ),
        );
        status.in_sync = false;
    }
    if let Some(path) = &args.html {
        status_report(path, &args.common.ous, &status)?;
    }
    match args.output {
        Format::Json => output::json(&status)?,
        _ => {
            println!("Caller: {}", status.caller);
            for t in &status.targets {
                println!(
                    "{} ({}): {} member account(s)",
                    t.ou.path, t.ou.id, t.accounts
                );
                for (name, state) in &t.scps {
                    println!("  SCP {name}: {state}");
                }
                let counts: Vec<String> = t
                    .instances
                    .iter()
                    .map(|(k, v)| format!("{v} {k}"))
                    .collect();
                println!(
                    "  Config rule instances: {}",
                    if counts.is_empty() {
                        "none".to_owned()
                    } else {
                        counts.join(", ")
                    }
                );
                for m in &t.missing_instances {
                    println!("  missing instance: {m}");
                }
            }
            println!("Compliance (from {}):", status.compliance_source);
            for c in &status.compliance {
                println!(
                    "  {} {}: rule {}, last evaluated {}, {} COMPLIANT, {} NON_COMPLIANT",
                    c.account,
                    c.region,
                    c.rule,
                    c.last_evaluated.as_deref().unwrap_or("never"),
                    c.compliant,
                    c.non_compliant
                );
            }
            if status.in_sync {
                println!("In sync.");
            } else {
                println!("Drift (what `guardrails deploy` would change):");
                for d in &status.drift {
                    println!("  {d}");
                }
            }
        }
    }
    Ok(if !status.in_sync {
        Outcome::Findings
    } else if status.non_compliant > 0 {
        Outcome::NonCompliant
    } else {
        Outcome::Clean
    })
}

/// Runs `guardrails destroy`.
pub async fn destroy(args: DestroyArgs) -> anyhow::Result<Outcome> {
    let (settings, regions_note) = args.common.settings().await?;
    if let Some(note) = regions_note {
        eprintln!("{note}");
    }
    let engine = engine().await?;
    let log = OperationLog(Some(args.common.operation_log.clone()));
    let progress = CliProgress::new();
    if let Some(resumed) = engine.stacks.resume(&log, &progress).await? {
        println!("resumed the interrupted operation: {resumed}");
    }
    let plan = engine.destroy_plan(&settings, &args.common.ous).await?;
    print_plan("Destroy", &plan);
    if plan.is_empty() {
        return Ok(Outcome::Clean);
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            bail!(
                "not removing anything without confirmation: stdin is not a terminal, pass --yes"
            );
        }
        print!("Remove these? Type `yes` to continue: ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            println!("Nothing removed.");
            return Ok(Outcome::Clean);
        }
    }
    let done = engine
        .writer()
        .destroy(&plan, &settings, &log, &progress)
        .await?;
    println!("Removed: {} change(s).", done.len());
    Ok(Outcome::Clean)
}
