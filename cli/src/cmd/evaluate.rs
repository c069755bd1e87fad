//! `guardrails evaluate [FILE|-]`: runs the Config rule's own handler on a Config rule event
//! (as Config sends it: `invokingEvent` and `ruleParameters` are JSON strings), resolving keys and
//! fetching items through the normal AWS configuration. Puts evaluations only with `--put`.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use cmk_rule::Options;
use cmk_rule::aws::{self, ConfigSink};

use crate::Outcome;
use crate::output::{self, Format};

/// Arguments of `guardrails evaluate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The event file; `-` or nothing reads standard input.
    #[arg(value_name = "FILE|-")]
    file: Option<PathBuf>,
    /// `text` (a table) or `json` (PutEvaluations `Evaluation` objects).
    #[arg(long, default_value = "text", value_parser = output::only(output::TEXT_JSON))]
    output: Format,
    /// Also put the evaluations to AWS Config (PutEvaluations with the event's resultToken).
    #[arg(long)]
    put: bool,
}

fn read_input(file: Option<&PathBuf>) -> anyhow::Result<(String, Vec<u8>)> {
    let mut bytes = Vec::new();
    match file {
        Some(path) if path.as_os_str() != "-" => {
            let name = path.display().to_string();
            bytes = std::fs::read(path).with_context(|| format!("cannot read {name}"))?;
            Ok((name, bytes))
        }
        _ => {
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read standard input")?;
            Ok(("<stdin>".to_owned(), bytes))
        }
    }
}

/// Runs the command.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    let (name, bytes) = read_input(args.file.as_ref())?;
    let event = cmk_core::ConfigEvent::from_slice(&bytes).with_context(|| name.clone())?;
    let sdk = aws::sdk_config().await;
    // A member account's event is evaluated with the member's execution role, as the central
    // function evaluates it.
    let make_sink: aws::members::MakeSink<Option<ConfigSink>> = if args.put {
        |sdk| Some(ConfigSink(aws_sdk_config::Client::new(sdk)))
    } else {
        |_| None
    };
    // The same `CMK_*` environment as the deployed function (inventory mode, rates, key cache).
    let tuning = cmk_rule::lambda::Tuning::from_env().map_err(|e| anyhow::anyhow!(e))?;
    let members = aws::Members::new(sdk, make_sink, tuning.setup());
    // JSON is printed as the evaluations are made (a sweep of any size in flat memory); the text
    // table aligns its columns over all of them, so it collects them first.
    let json = args.output == Format::Json;
    let options = if json {
        Options::default()
    } else {
        Options::collecting()
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<cmk_rule::handler::Judged>(256);
    let options = Options {
        stream: json.then_some(tx),
        ..options
    };
    let evaluating = async {
        match members.handler_for(&event).await {
            Ok(handler) => handler.handle(&event, options).await,
            Err(failed) => Err(failed),
        }
    };
    let printing = async {
        let out = std::io::BufWriter::new(std::io::stdout().lock());
        let mut array = output::JsonArray::new(out, true);
        while let Some(judged) = rx.recv().await {
            array.push(&judged.evaluation)?;
        }
        if json {
            array.finish()?;
        }
        anyhow::Ok(())
    };
    let (result, printed) = tokio::join!(evaluating, printing);
    printed?;
    let (report, error) = match result {
        Ok(report) => (report, None),
        Err(failed) => (failed.report, Some(failed.error)),
    };
    if !json {
        output::evaluations(args.output, &report.evaluations)?;
    }
    if let Some(err) = error {
        bail!("{name}: {err}");
    }
    Ok(if report.non_compliant > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
