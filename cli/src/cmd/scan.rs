//! `guardrails scan`: evaluates every Kinesis stream, Secrets Manager secret and DynamoDB table of
//! the current account in one or more Regions, without AWS Config (a pre-flight before SCPs go
//! on). It runs the Config rule's own periodic sweep — same inventory, same key resolution, same
//! verdicts — and puts nothing anywhere.

use std::io::IsTerminal;

use anyhow::{Context, bail};
use cmk_core::{Compliance, Evaluation};
use cmk_rule::aws::{self, ServiceInventory};
use cmk_rule::handler::{Inventory, Page, SourceError, SweepScope};
use cmk_rule::{Handler, Options};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::Outcome;

/// Arguments of `guardrails scan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Region to scan (repeatable) [default: the configured Region].
    #[arg(long = "region", value_name = "REGION")]
    regions: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ScanFormat::Text)]
    output: ScanFormat,
    /// The rule's parameters, as the Config rule takes them (JSON: `allowedKeyArns`,
    /// `allowedKeyAccounts`, `exemptTag`, `requireKeyRotation`).
    #[arg(long, value_name = "JSON", default_value = "{}")]
    rule_parameters: String,
}

/// `scan --output`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ScanFormat {
    /// A table per Region.
    Text,
    /// One JSON array of verdicts.
    Json,
    /// SARIF 2.1.0 (NON_COMPLIANT resources as results).
    Sarif,
}

/// One verdict with its Region.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Region.
    pub region: String,
    /// The evaluation, as the rule would put it.
    pub evaluation: Evaluation,
}

/// Counts listed resources on a progress bar (terminal only), then delegates.
struct Counted<'a> {
    inner: ServiceInventory,
    bar: &'a ProgressBar,
}

impl Inventory for Counted<'_> {
    async fn page(
        &self,
        resource_type: &'static str,
        scope: &SweepScope,
        token: Option<String>,
    ) -> Result<Page, SourceError> {
        self.bar
            .set_message(format!("{} {resource_type}", scope.region));
        let page = self.inner.page(resource_type, scope, token).await?;
        self.bar
            .inc((page.items.len() + page.failures.len()) as u64);
        Ok(page)
    }
}

/// The ScheduledNotification Config sends a periodic rule, for the sweep of `account`.
fn periodic_event(account: &str, parameters: &str) -> anyhow::Result<cmk_core::ConfigEvent> {
    let now = time::OffsetDateTime::now_utc();
    let invoking = json!({
        "awsAccountId": account,
        "notificationCreationTime": cmk_core::evaluation::format_utc(now)?,
        "messageType": "ScheduledNotification",
        "recordVersion": "1.0",
    });
    let event = json!({
        "invokingEvent": invoking.to_string(),
        "ruleParameters": parameters,
        "resultToken": "TESTMODE",
        "eventLeftScope": false,
        "accountId": account,
        "configRuleName": "guardrails-scan",
        "version": "1.0",
    });
    cmk_core::ConfigEvent::from_value(event).context("--rule-parameters")
}

/// Runs the command: exit 0 all compliant, 1 NON_COMPLIANT found, 2 a resource could not be
/// evaluated (the verdicts that could be are printed first).
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    serde_json::from_str::<Value>(&args.rule_parameters)
        .context("--rule-parameters is not JSON")?;
    let base = aws::sdk_config().await;
    let identity = aws_sdk_sts::Client::new(&base)
        .get_caller_identity()
        .send()
        .await
        .context("sts:GetCallerIdentity (which account to scan)")?;
    let account = identity.account().unwrap_or_default().to_owned();
    let event = periodic_event(&account, &args.rule_parameters)?;
    // The rule rejects bad parameters with a clear error; do it before any scan.
    let regions = if args.regions.is_empty() {
        vec![
            base.region()
                .map(|r| r.as_ref().to_owned())
                .context("no Region: pass --region or set AWS_REGION")?,
        ]
    } else {
        args.regions.clone()
    };
    let bar = if std::io::stderr().is_terminal() && args.output == ScanFormat::Text {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} resources evaluated ({msg}) {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    } else {
        ProgressBar::hidden()
    };
    // Regions are scanned one after the other, so one pace serves them all.
    let rates = aws::Rates::from_env()?;
    let mut verdicts = Vec::new();
    let mut failures = Vec::new();
    for region in &regions {
        let sdk = base
            .to_builder()
            .region(aws_config::Region::new(region.clone()))
            .build();
        let mut rule = aws::handler(&sdk, None::<aws::ConfigSink>);
        rule.inventory.rates = rates.clone();
        let handler = Handler {
            keys: rule.keys,
            items: rule.items,
            inventory: Counted {
                inner: rule.inventory,
                bar: &bar,
            },
            sink: rule.sink,
            region: rule.region,
        };
        let (report, error) = match handler.handle(&event, Options::collecting()).await {
            Ok(report) => (report, None),
            Err(failed) => (failed.report, Some(failed.error)),
        };
        verdicts.extend(report.evaluations.into_iter().map(|evaluation| Verdict {
            region: region.clone(),
            evaluation,
        }));
        if let Some(e) = error {
            failures.push(format!("{region}: {e}"));
        }
    }
    bar.finish_and_clear();
    print(args.output, &account, &verdicts)?;
    if !failures.is_empty() {
        bail!("{}", failures.join("\n"));
    }
    Ok(
        if verdicts
            .iter()
            .any(|v| v.evaluation.compliance_type == Compliance::NonCompliant)
        {
            Outcome::Findings
        } else {
            Outcome::Clean
        },
    )
}

fn print(format: ScanFormat, account: &str, verdicts: &[Verdict]) -> anyhow::Result<()> {
    match format {
        ScanFormat::Json => {
            let list: Vec<Value> = verdicts.iter().map(|v| to_json(account, v)).collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        ScanFormat::Sarif => println!(
            "{}",
            serde_json::to_string_pretty(&sarif(account, verdicts))?
        ),
        ScanFormat::Text => {
            let mut regions: Vec<&str> = verdicts.iter().map(|v| v.region.as_str()).collect();
            regions.dedup();
            for region in regions {
                let evaluations: Vec<Evaluation> = verdicts
                    .iter()
                    .filter(|v| v.region == region)
                    .map(|v| v.evaluation.clone())
                    .collect();
                println!("{account} {region}:");
                print!("{}", crate::output::table(&evaluations)?);
            }
            let non_compliant = verdicts
                .iter()
                .filter(|v| v.evaluation.compliance_type == Compliance::NonCompliant)
                .count();
            println!(
                "{} resource(s) evaluated, {non_compliant} NON_COMPLIANT",
                verdicts.len()
            );
        }
    }
    Ok(())
}

fn to_json(account: &str, v: &Verdict) -> Value {
    let e = &v.evaluation;
    json!({
        "account": account,
        "region": v.region,
        "resourceType": e.compliance_resource_type,
        "resourceId": e.compliance_resource_id,
        "complianceType": e.compliance_type.to_string(),
        "annotation": e.annotation,
    })
}

fn sarif(account: &str, verdicts: &[Verdict]) -> Value {
    let results: Vec<Value> = verdicts
        .iter()
        .filter(|v| v.evaluation.compliance_type == Compliance::NonCompliant)
        .map(|v| {
            let e = &v.evaluation;
            json!({
                "ruleId": "CMK-REQUIRED",
                "level": "error",
                "message": {"text": e.annotation.clone().unwrap_or_else(|| "not encrypted with a customer-managed KMS key".to_owned())},
                "locations": [{"logicalLocations": [{
                    "fullyQualifiedName": format!("{account}/{}/{}/{}", v.region, e.compliance_resource_type, e.compliance_resource_id),
                    "name": e.compliance_resource_id,
                    "kind": "resource",
                }]}],
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "cmk-guardrails",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": [{"id": "CMK-REQUIRED", "shortDescription": {"text": "Kinesis streams, Secrets Manager secrets and DynamoDB tables must use customer-managed KMS keys"}}],
            }},
            "results": results,
        }],
    })
}
