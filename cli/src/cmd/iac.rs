//! `guardrails iac check PATH...`: evaluates the generated Rego (the very files teams import into
//! Conftest) on Terraform plan JSON and CloudFormation templates with the embedded engine.
//! `guardrails policy test`: runs the `*_test.rego` files.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use guardrails::catalogue::CONTROLS;
use guardrails::iac::{Finding, InputType, Level, PolicySet, Suppression, check_file};
use guardrails::render::{Artifact, Options, render_all};
use guardrails::suppress::{self, Accepted, Baseline};
use serde_json::{Value, json};

use crate::Outcome;
use crate::output::sarif::{self, Place, Suppressed};
use crate::output::{self, Format};

/// The formats `iac check` renders (`json`: an array of `{file, level, control, message, ...}`;
/// `junitxml`: one test case per resource and control, a failure per unsuppressed deny).
const IAC_FORMATS: &[Format] = &[Format::Text, Format::Json, Format::Sarif, Format::Junitxml];

/// `--input-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// `terraform show -json` output.
    Plan,
    /// CloudFormation template (JSON or YAML).
    Cloudformation,
    /// Terraform HCL (`.tf`).
    Hcl,
}

/// `guardrails iac ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check Terraform plans and CloudFormation templates against the CMK policies.
    Check(CheckArgs),
}

/// Arguments of `guardrails iac check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Files, or folders searched for .json/.yaml/.yml/.template files.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Force the input type instead of detecting it.
    #[arg(long, value_enum)]
    input_type: Option<Kind>,
    /// Output format.
    #[arg(long, default_value = "text", value_parser = output::only(IAC_FORMATS))]
    output: Format,
    /// Rego folder to use instead of the policies built into this binary.
    #[arg(long, value_name = "DIR")]
    policy: Option<PathBuf>,
    /// Findings accepted in this baseline file are reported as suppressed, with its reasons.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write every unsuppressed finding to FILE as a baseline, each with `--reason`.
    #[arg(long, value_name = "FILE", requires = "reason")]
    create_baseline: Option<PathBuf>,
    /// The reason recorded for each finding of `--create-baseline`.
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
}

/// Arguments of `guardrails policy test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Rego folder holding the policies and their `*_test.rego` files.
    #[arg(long, value_name = "DIR", default_value = "policies/rego")]
    policy: PathBuf,
}

/// `guardrails policy ...`.
#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Run the `*_test.rego` files with the embedded engine.
    Test(TestArgs),
}

fn policies_from(dir: Option<&Path>) -> anyhow::Result<PolicySet> {
    let artifacts = match dir {
        None => render_all(CONTROLS, &Options::default())?,
        Some(dir) => {
            let mut out = Vec::new();
            for entry in
                std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?
            {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "rego") {
                    let content = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    out.push(Artifact {
                        path: path.display().to_string(),
                        content,
                    });
                }
            }
            if out.is_empty() {
                bail!("{}: no .rego files", dir.display());
            }
            out.sort_by(|a, b| a.path.cmp(&b.path));
            out
        }
    };
    Ok(PolicySet::from_artifacts(&artifacts))
}

/// Files to check; `true` when named explicitly (found in a folder: `false`).
fn inputs(paths: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, bool)>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut stack = vec![p.clone()];
            while let Some(dir) = stack.pop() {
                for entry in std::fs::read_dir(&dir)
                    .with_context(|| format!("cannot read {}", dir.display()))?
                {
                    let path = entry?.path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if path.extension().is_some_and(|e| {
                        ["json", "yaml", "yml", "template", "tf"]
                            .iter()
                            .any(|x| e == *x)
                    }) {
                        out.push((path, false));
                    }
                }
            }
        } else {
            out.push((p.clone(), true));
        }
    }
    out.sort();
    Ok(out)
}

/// [`check_file`] of every file, on every core, in the files' order.
fn check_all(
    policies: &PolicySet,
    files: &[(PathBuf, bool)],
    forced: Option<InputType>,
) -> Vec<Result<Vec<Finding>, guardrails::iac::IacError>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(files.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, Result<Vec<Finding>, guardrails::iac::IacError>)> =
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    s.spawn(|| {
                        let mut out = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some((file, _)) = files.get(i) else {
                                break out;
                            };
                            out.push((i, check_file(policies, file, forced)));
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// One file's findings.
struct Checked {
    file: String,
    findings: Vec<Finding>,
}

/// Runs `iac check`. Exit: 0 no unsuppressed deny, 1 at least one, 2 unreadable or unrecognised
/// input, or a suppression without a reason.
pub fn check(args: CheckArgs) -> anyhow::Result<Outcome> {
    let policies = policies_from(args.policy.as_deref())?;
    let forced = args.input_type.map(|k| match k {
        Kind::Plan => InputType::Plan,
        Kind::Cloudformation => InputType::Cloudformation,
        Kind::Hcl => InputType::Hcl,
    });
    let baseline = args.baseline.as_deref().map(Baseline::load).transpose()?;
    let files = inputs(&args.paths)?;
    let mut checked = Vec::new();
    for ((file, explicit), result) in files.iter().zip(check_all(&policies, &files, forced)) {
        let explicit = *explicit;
        let mut findings = match result {
            Ok(findings) => findings,
            // A folder holds other JSON and YAML too (package.json, CI files): skip what is neither.
            Err(e @ guardrails::iac::IacError::Input { .. }) if !explicit => {
                eprintln!("skipped {e}");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let name = file.display().to_string();
        if let Some(b) = &baseline {
            for f in findings.iter_mut().filter(|f| f.suppressed.is_none()) {
                if let Some(reason) = b.reason(&name, &f.control, &f.resource) {
                    f.suppressed = Some(Suppression {
                        source: suppress::Source::Baseline,
                        reason: reason.to_owned(),
                    });
                }
            }
        }
        checked.push(Checked {
            file: name,
            findings,
        });
    }
    if let Some(path) = &args.create_baseline {
        let reason = args.reason.clone().unwrap_or_default();
        if reason.trim().is_empty() {
            bail!("--create-baseline needs a --reason that says why the findings are accepted");
        }
        let accepted = checked
            .iter()
            .flat_map(|c| c.findings.iter().map(move |f| (c, f)))
            .filter(|(_, f)| f.suppressed.is_none())
            .map(|(c, f)| Accepted {
                file: c.file.clone(),
                control: f.control.clone(),
                resource: f.resource.clone(),
                reason: reason.clone(),
            })
            .collect();
        let text = serde_json::to_string_pretty(&Baseline {
            version: 1,
            accepted,
        })?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let all = || {
        checked
            .iter()
            .flat_map(|c| c.findings.iter().map(move |f| (c.file.as_str(), f)))
    };
    let failing = all()
        .filter(|(_, f)| f.level == Level::Deny && f.suppressed.is_none())
        .count();
    match args.output {
        Format::Json => {
            let out: Vec<Value> = all()
                .map(|(file, f)| {
                    json!({"file": file, "line": f.lines.map(|l| l.start), "endLine": f.lines.map(|l| l.end),
                        "level": f.level, "control": f.control, "resource": f.resource,
                        "moduleSource": f.module_source,
                        "message": f.message, "suppressed": f.suppressed})
                })
                .collect();
            output::json(&out)?;
        }
        Format::Sarif => sarif_log(&checked, std::io::stdout().lock())?,
        Format::Junitxml => print!("{}", junit(&checked)),
        _ => {
            for (file, f) in all() {
                let at = f.lines.map_or(String::new(), |l| format!(":{}", l.start));
                let level = match &f.suppressed {
                    Some(s) => format!("{} (suppressed: {})", f.level.as_str(), s.reason),
                    None => f.level.as_str().to_owned(),
                };
                let module = f
                    .module_source
                    .as_ref()
                    .map_or(String::new(), |m| format!(" (module source {m})"));
                println!("{file}{at}: {level}: {}{module}", f.message);
            }
            let count = |level: Level| all().filter(|(_, f)| f.level == level).count();
            let suppressed = all().filter(|(_, f)| f.suppressed.is_some()).count();
            println!(
                "{} file(s), {} deny, {} warn, {suppressed} suppressed",
                checked.len(),
                count(Level::Deny),
                count(Level::Warn)
            );
        }
    }
    Ok(if failing > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

/// The findings as one SARIF log: a rule per control with IaC layouts, a result per finding at
/// its file and lines, suppressed ones with their reason.
fn sarif_log(checked: &[Checked], out: impl std::io::Write) -> anyhow::Result<()> {
    let rules = CONTROLS
        .iter()
        .filter(|c| c.key_layouts().next().is_some())
        .map(|c| sarif::rule(c.id, Some(c.sid()), format!("Prevents {}", c.prevents)))
        .collect();
    let mut log = sarif::Log::start(out, sarif::driver(rules))?;
    for c in checked {
        for f in &c.findings {
            let suppressed = f.suppressed.as_ref().map(|s| match s.source {
                suppress::Source::Inline => Suppressed::InSource(&s.reason),
                suppress::Source::Baseline => Suppressed::External(&s.reason),
            });
            let result = sarif::Finding {
                rule: &f.control,
                level: if f.level == Level::Deny {
                    serde_sarif::sarif::ResultLevel::Error
                } else {
                    serde_sarif::sarif::ResultLevel::Warning
                },
                message: &f.message,
                place: Place::File {
                    uri: &c.file,
                    lines: f.lines.map(|l| (l.start as u64, l.end as u64)),
                    resource: &f.resource,
                },
                suppressed,
                properties: f
                    .module_source
                    .iter()
                    .map(|m| ("moduleSource", Value::from(m.as_str())))
                    .collect(),
            };
            log.result(&result.to_result())?;
        }
    }
    log.finish()?;
    Ok(())
}

/// Text as XML character data or attribute value.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: a test suite per file, a test case per finding; unsuppressed denies fail,
/// suppressed findings are skipped with their reason, warnings pass with their message.
fn junit(checked: &[Checked]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"cmk-guardrails iac check\">\n",
    );
    for c in checked {
        let failures = c
            .findings
            .iter()
            .filter(|f| f.level == Level::Deny && f.suppressed.is_none())
            .count();
        let skipped = c.findings.iter().filter(|f| f.suppressed.is_some()).count();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">\n",
            xml(&c.file),
            c.findings.len()
        ));
        for f in &c.findings {
            let line = f.lines.map_or(String::new(), |l| format!(":{}", l.start));
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{} {}\" file=\"{}{line}\">",
                xml(&c.file),
                xml(&f.control),
                xml(&f.resource),
                xml(&c.file)
            ));
            match (&f.suppressed, f.level) {
                (Some(s), _) => out.push_str(&format!(
                    "<skipped message=\"suppressed: {}\"/>",
                    xml(&s.reason)
                )),
                (None, Level::Deny) => out.push_str(&format!(
                    "<failure message=\"{}\" type=\"deny\"/>",
                    xml(&f.message)
                )),
                (None, Level::Warn) => {
                    out.push_str(&format!("<system-out>{}</system-out>", xml(&f.message)))
                }
            }
            out.push_str("</testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Runs `policy test`. Exit: 0 all pass, 1 a test failed.
pub fn test(args: TestArgs) -> anyhow::Result<Outcome> {
    let results = policies_from(Some(&args.policy))?.run_tests()?;
    for r in results.iter().filter(|r| !r.passed) {
        println!("FAIL {}: {}", r.file, r.name);
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    println!("{} passed, {failed} failed", results.len() - failed);
    Ok(if failed > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
