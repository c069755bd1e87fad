//! `guardrails`: the command line of cmk-guardrails. Parses arguments, calls a library, formats
//! the result. Exit codes: 0 clean, 1 findings, 2 error.
// The rule handler's future (SDK calls nested in the sweep) is deeper than rustc's default limit.
#![recursion_limit = "256"]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

mod cmd;
mod output;
mod report;

/// Prove and enforce customer-managed KMS keys on Kinesis, Secrets Manager and DynamoDB.
#[derive(Debug, Parser)]
#[command(name = "guardrails", version, about)]
struct Cli {
    /// Log more (repeat for more detail); logs go to stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Config rule on a Config rule event, exactly as the Lambda would.
    Evaluate(cmd::evaluate::Args),
    /// Write the generated policies from the control catalogue (or check them with --check).
    Generate(cmd::generate::Args),
    /// Service Control Policy tools.
    #[command(subcommand)]
    Scp(cmd::scp::Command),
    /// Infrastructure-as-code checks with the generated Rego policies.
    #[command(subcommand)]
    Iac(cmd::iac::Command),
    /// Rego policy tools.
    #[command(subcommand)]
    Policy(cmd::iac::PolicyCommand),
    /// Evaluate every stream, secret and table with the rule's own logic: the account's Regions
    /// through the services' APIs (no AWS Config needed), its AWS Config inventory
    /// (--source config), or every account and Region of an aggregator (--aggregator).
    Scan(cmd::scan::Args),
    /// Roll the guardrails out to OUs: SCPs attached, the Config rule StackSet deployed (plan
    /// first; --dry-run changes nothing).
    Deploy(cmd::deploy::DeployArgs),
    /// What is deployed on OUs, any drift, and the rule's results per member account and Region
    /// (exit 0 in sync and compliant, 1 drift, 3 in sync with NON_COMPLIANT resources).
    Status(cmd::deploy::StatusArgs),
    /// Remove exactly what deploy put on OUs (asks first; --yes to skip).
    Destroy(cmd::deploy::DestroyArgs),
}

/// How a command ended; the process exit code follows from it.
pub enum Outcome {
    /// Nothing found.
    Clean,
    /// Findings (NON_COMPLIANT resources, drift).
    Findings,
    /// `status`: in sync, but the rule found NON_COMPLIANT resources (exit 3).
    NonCompliant,
}

/// The name the Lambda runtime starts a custom runtime's executable by (`provided.al2023`).
const LAMBDA_BOOTSTRAP: &str = "bootstrap";

/// Started as `bootstrap` (the zip `guardrails deploy` packages from this executable), the
/// binary is the Config rule's Lambda function; under any other name it is the command line.
fn started_as_lambda() -> bool {
    std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .is_some_and(|path| path.file_name() == Some(std::ffi::OsStr::new(LAMBDA_BOOTSTRAP)))
}

// One thread: every command (and the Lambda) waits on AWS far more than it computes, and the
// multi-thread scheduler's cross-thread wake-ups cost more CPU per request than the work they
// spread (measured on the 1,000-resource sweep: 18,792 context switches instead of 7,261).
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    if started_as_lambda() {
        cmk_rule::lambda::init_logging();
        return match cmk_rule::lambda::serve().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::from(2)
            }
        };
    }
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_env("GUARDRAILS_LOG").unwrap_or_else(|_| EnvFilter::new(level)),
        )
        .init();
    let result = match cli.command {
        Command::Evaluate(args) => cmd::evaluate::run(args).await,
        Command::Generate(args) => cmd::generate::run(args),
        Command::Scp(command) => cmd::scp::run(command),
        Command::Iac(cmd::iac::Command::Check(args)) => cmd::iac::check(args),
        Command::Policy(cmd::iac::PolicyCommand::Test(args)) => cmd::iac::test(args),
        Command::Scan(args) => cmd::scan::run(args).await,
        Command::Deploy(args) => cmd::deploy::deploy(args).await,
        Command::Status(args) => cmd::deploy::status(args).await,
        Command::Destroy(args) => cmd::deploy::destroy(args).await,
    };
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Ok(Outcome::NonCompliant) => ExitCode::from(3),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
