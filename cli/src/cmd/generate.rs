//! `guardrails generate [--check] [--root DIR]`: writes `policies/` and `cloudformation/` from the
//! control catalogue and the README's generated sections (the decision table) from the registry of
//! resource types, or (`--check`) reports drift between the committed files and what is generated.

use std::path::PathBuf;

use anyhow::Context;
use guardrails::catalogue::CONTROLS;
use guardrails::generate;
use guardrails::render::{Options, readme, render_all};

use crate::Outcome;

/// Arguments of `guardrails generate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not write: exit 1 when the committed files differ from what the catalogue generates.
    #[arg(long)]
    check: bool,
    /// Repository root holding `policies/` and `cloudformation/`.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Break-glass principal ARN pattern exempt from every SCP Deny (repeatable; replaces the
    /// default `arn:aws*:iam::*:role/cmk-breakglass/*`).
    #[arg(long = "break-glass", value_name = "PATTERN")]
    break_glass: Vec<String>,
    /// Further exempt principal pattern (repeatable; added to the StackSets execution role).
    #[arg(long = "exempt", value_name = "PATTERN")]
    exempt: Vec<String>,
    /// Tag marking the keys the key-protection SCP covers (`<TAG>=true`; default
    /// `cmk-guardrails:protected`); `--protected-key-tag ''` protects every key.
    #[arg(long, value_name = "TAG")]
    protected_key_tag: Option<String>,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let mut options = Options::default();
    if !args.break_glass.is_empty() {
        options.scp.break_glass = args.break_glass;
    }
    options.scp.exempt.extend(args.exempt);
    if let Some(tag) = args.protected_key_tag {
        options.scp.protected_key_tag = (!tag.is_empty()).then_some(tag);
    }
    let artifacts = render_all(CONTROLS, &options).context("cannot render the catalogue")?;
    let sections = readme::sections();
    if args.check {
        let mut drift = generate::check(&args.root, &artifacts)?;
        drift.extend(generate::check_sections(&args.root, &sections)?);
        for d in &drift {
            println!("{d}");
        }
        if drift.is_empty() {
            println!(
                "{} generated files and {} generated sections up to date",
                artifacts.len(),
                sections.len()
            );
            return Ok(Outcome::Clean);
        }
        return Ok(Outcome::Findings);
    }
    let mut touched = generate::write(&args.root, &artifacts)?;
    touched.extend(generate::write_sections(&args.root, &sections)?);
    for p in &touched {
        println!("wrote {p}");
    }
    println!(
        "{} generated files, {} changed",
        artifacts.len(),
        touched.len()
    );
    Ok(Outcome::Clean)
}
