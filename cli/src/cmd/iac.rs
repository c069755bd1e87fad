//! `guardrails iac check PATH...`: evaluates the generated Rego (the very files teams import into
//! Conftest) on Terraform plan JSON and CloudFormation templates with the embedded engine.
//! `guardrails policy test`: runs the `*_test.rego` files.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use guardrails::catalogue::CONTROLS;
use guardrails::iac::{InputType, PolicySet, load_input};
use guardrails::render::{Artifact, Options, render_all};
use serde_json::{Value, json};

use crate::Outcome;

/// `--output` of `iac check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per finding.
    Text,
    /// An array of `{file, level, control, message}`.
    Json,
    /// SARIF 2.1.0, for code-scanning upload.
    Sarif,
}

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
    #[arg(long, value_enum, default_value_t = Format::Text)]
    output: Format,
    /// Rego folder to use instead of the policies built into this binary.
    #[arg(long, value_name = "DIR")]
    policy: Option<PathBuf>,
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

fn control_of(message: &str) -> &str {
    message
        .strip_prefix('[')
        .and_then(|m| m.split_once(']'))
        .map_or("", |(id, _)| id)
}

/// Runs `iac check`. Exit: 0 no deny, 1 at least one deny, 2 unreadable or unrecognised input.
pub fn check(args: CheckArgs) -> anyhow::Result<Outcome> {
    let policies = policies_from(args.policy.as_deref())?;
    let forced = args.input_type.map(|k| match k {
        Kind::Plan => InputType::Plan,
        Kind::Cloudformation => InputType::Cloudformation,
        Kind::Hcl => InputType::Hcl,
    });
    let mut results: Vec<(String, &'static str, String)> = Vec::new();
    let mut checked = 0;
    for (file, explicit) in inputs(&args.paths)? {
        let input = match load_input(&file, forced) {
            Ok((_, input)) => input,
            // A folder holds other JSON and YAML too (package.json, CI files): skip what is neither.
            Err(e @ guardrails::iac::IacError::Input { .. }) if !explicit => {
                eprintln!("skipped {e}");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        checked += 1;
        let findings = policies
            .evaluate(&input)
            .with_context(|| format!("{}", file.display()))?;
        let name = file.display().to_string();
        results.extend(findings.deny.into_iter().map(|m| (name.clone(), "deny", m)));
        results.extend(findings.warn.into_iter().map(|m| (name.clone(), "warn", m)));
    }
    let denies = results.iter().filter(|r| r.1 == "deny").count();
    match args.output {
        Format::Text => {
            for (file, level, message) in &results {
                println!("{file}: {level}: {message}");
            }
            println!(
                "{checked} file(s), {denies} deny, {} warn",
                results.len() - denies
            );
        }
        Format::Json => {
            let out: Vec<Value> = results
                .iter()
                .map(|(file, level, message)| json!({"file": file, "level": level, "control": control_of(message), "message": message}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Format::Sarif => println!("{}", serde_json::to_string_pretty(&sarif(&results))?),
    }
    Ok(if denies > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

fn sarif(results: &[(String, &'static str, String)]) -> Value {
    let rules: Vec<Value> = CONTROLS
        .iter()
        .filter(|c| c.key_layouts().next().is_some())
        .map(|c| json!({"id": c.id, "name": c.sid(), "shortDescription": {"text": format!("Prevents {}", c.prevents)}}))
        .collect();
    let results: Vec<Value> = results
        .iter()
        .map(|(file, level, message)| {
            json!({
                "ruleId": control_of(message),
                "level": if *level == "deny" { "error" } else { "warning" },
                "message": {"text": message},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": file}}}],
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "cmk-guardrails", "informationUri": "https://github.com/cmk-guardrails", "version": env!("CARGO_PKG_VERSION"), "rules": rules}},
            "results": results,
        }],
    })
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
