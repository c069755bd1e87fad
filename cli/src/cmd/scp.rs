//! `guardrails scp validate FILE...`: offline SCP validation against AWS's service catalogue.

use std::path::PathBuf;

use anyhow::bail;
use guardrails::iam;
use guardrails::validate::scp::{Finding, Severity, ValidateOptions, validate_scp};

use crate::Outcome;
use crate::output::{self, Format};

/// `guardrails scp ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Validate SCP documents offline (grammar, size, actions, condition keys, traps).
    Validate(ValidateArgs),
}

/// Arguments of `guardrails scp validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// SCP JSON files.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// `text` or `json` (an array of `{file, code, severity, path, message}`).
    #[arg(long, default_value = "text", value_parser = output::only(output::TEXT_JSON))]
    output: Format,
    /// Principal ARN pattern every Deny must exempt (repeatable); `--break-glass ''` disables the check.
    #[arg(long = "break-glass", value_name = "PATTERN")]
    break_glass: Vec<String>,
}

/// Runs the command. Exit: 0 no error-severity finding, 1 at least one, 2 a file unreadable.
pub fn run(command: Command) -> anyhow::Result<Outcome> {
    let Command::Validate(args) = command;
    let cat = iam::catalogue()?;
    let mut opts = ValidateOptions::default();
    if !args.break_glass.is_empty() {
        opts.break_glass = args
            .break_glass
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect();
    }
    let mut findings: Vec<Finding> = Vec::new();
    let mut unreadable: Vec<String> = Vec::new();
    for file in &args.files {
        let name = file.display().to_string();
        match std::fs::read_to_string(file) {
            Ok(text) => findings.extend(validate_scp(&name, &text, cat, &opts)),
            // Keep validating the others; the run still exits 2 after printing what it found.
            Err(e) => unreadable.push(format!("cannot read {name}: {e}")),
        }
    }
    match args.output {
        Format::Json => output::json(&findings)?,
        _ => {
            for f in &findings {
                let severity = match f.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                };
                let code = serde_json::to_value(f.code)?;
                println!(
                    "{}: {severity} {} at {}: {}",
                    f.file,
                    code.as_str().unwrap_or_default(),
                    f.path,
                    f.message
                );
            }
            let errors = findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count();
            println!(
                "{} file(s), {errors} error(s), {} warning(s) [IAM catalogue: {}, {}]",
                args.files.len(),
                findings.len() - errors,
                cat.source,
                cat.refreshed
            );
        }
    }
    if !unreadable.is_empty() {
        bail!("{}", unreadable.join("; "));
    }
    Ok(if findings.iter().any(|f| f.severity == Severity::Error) {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
