//! `guardrails generate [--check] [--root DIR]`: writes `policies/` and `cloudformation/` from the
//! control catalogue, or (`--check`) reports drift between the committed files and the catalogue.

use std::path::PathBuf;

use anyhow::Context;
use guardrails::catalogue::CONTROLS;
use guardrails::generate;
use guardrails::render::{Options, render_all};

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
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let artifacts =
        render_all(CONTROLS, &Options::default()).context("cannot render the catalogue")?;
    if args.check {
        let drift = generate::check(&args.root, &artifacts)?;
        for d in &drift {
            println!("{d}");
        }
        if drift.is_empty() {
            println!("{} generated files up to date", artifacts.len());
            return Ok(Outcome::Clean);
        }
        return Ok(Outcome::Findings);
    }
    let touched = generate::write(&args.root, &artifacts)?;
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
