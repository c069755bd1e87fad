//! `guardrails scan`: evaluates every Kinesis stream, Secrets Manager secret and DynamoDB table
//! with the Config rule's own sweep (same key resolution, same verdicts) and puts nothing
//! anywhere. Three sources:
//! - the services' own APIs (default): the account's Regions, no AWS Config needed (a pre-flight
//!   before SCPs go on);
//! - `--source config`: the account's recorded inventory (`config:SelectResourceConfig`, 100
//!   resources per call; the recorder must record the three types and `AWS::KMS::Key`);
//! - `--aggregator NAME`: every account and Region a Config aggregator covers
//!   (`config:SelectAggregateResourceConfig`), narrowed with `--account` / `--region`.
//!
//! Verdicts are printed as they are made (see [`crate::report`]); `--html FILE` also writes the
//! report page.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use cmk_rule::aws::recorded::{Queries, Scope};
use cmk_rule::aws::{self, AggregateInventory, InventoryMode, KeyBook, RecordedKeys};
use cmk_rule::handler::{Inventory, Judged, Page, SourceError, SweepScope};
use cmk_rule::{Handler, Options};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::Outcome;
use crate::output::{self, Format};
use crate::report::{self, Writer};

/// Arguments of `guardrails scan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Region to scan (repeatable) [default: the configured Region; with --aggregator, every
    /// Region it covers].
    #[arg(long = "region", value_name = "REGION")]
    regions: Vec<String>,
    /// Where resources come from: the services' APIs, or this account's AWS Config inventory.
    #[arg(long, value_enum, default_value_t = Source::Services, conflicts_with = "aggregator")]
    source: Source,
    /// Scan every account and Region this AWS Config aggregator covers, from its recorded
    /// inventory (run where the aggregator is: the management or delegated admin account).
    #[arg(long, value_name = "NAME")]
    aggregator: Option<String>,
    /// With --aggregator: only this account (repeatable).
    #[arg(long = "account", value_name = "ACCOUNT_ID", requires = "aggregator")]
    accounts: Vec<String>,
    /// Also write a self-contained HTML report (charts and the NON_COMPLIANT resources) here.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Output format.
    #[arg(long, default_value = "text", value_parser = output::only(report::SCAN_FORMATS))]
    output: Format,
    /// The rule's parameters, as the Config rule takes them (JSON: `allowedKeyArns`,
    /// `allowedKeyAccounts`, `exemptTag`, `requireKeyRotation`).
    #[arg(long, value_name = "JSON", default_value = "{}")]
    rule_parameters: String,
}

/// `scan --source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// The services' own list/describe APIs (works without AWS Config).
    Services,
    /// This account's AWS Config recorded inventory (SelectResourceConfig).
    Config,
}

/// Counts listed resources on a progress bar (terminal only), then delegates.
struct Counted<'a, I> {
    inner: I,
    bar: &'a ProgressBar,
}

impl<I: Inventory> Inventory for Counted<'_, I> {
    async fn start(&self, scope: &SweepScope) {
        self.inner.start(scope).await;
    }

    fn lists_everything(&self, resource_type: &str) -> bool {
        self.inner.lists_everything(resource_type)
    }

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

/// The ScheduledNotification Config sends a periodic rule, for the sweep of `account`. `caller`
/// is the caller's ARN: the scan's rule ARN is in its partition (which resources whose service
/// API names no ARN, S3 buckets, are in).
fn periodic_event(
    account: &str,
    caller: Option<&str>,
    region: Option<&str>,
    parameters: &str,
) -> anyhow::Result<cmk_core::ConfigEvent> {
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
    let mut event = event;
    let partition = caller
        .and_then(|arn| arn.split(':').nth(1))
        .and_then(|p| p.parse::<cmk_core::Partition>().ok());
    if let (Some(partition), Some(region)) = (partition, region) {
        event["configRuleArn"] = json!(format!(
            "arn:{partition}:config:{region}:{account}:config-rule/guardrails-scan"
        ));
    }
    cmk_core::ConfigEvent::from_value(event).context("--rule-parameters")
}

/// The progress spinner on a terminal's stderr (text output only), else a hidden bar.
fn progress(output: Format) -> ProgressBar {
    if std::io::stderr().is_terminal() && output == Format::Text {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} resources evaluated ({msg}) {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    } else {
        ProgressBar::hidden()
    }
}

/// Verdicts in flight between the sweep and the printer: the sweep waits when the printer lags.
const IN_FLIGHT: usize = 256;

/// What went wrong in the scans: the errors (stderr, exit 2) and, one by one, what could not be
/// evaluated (the report's list).
#[derive(Default)]
struct Failures {
    errors: Vec<String>,
    not_evaluated: Vec<String>,
}

impl Failures {
    fn add(&mut self, prefix: &str, failed: &cmk_rule::Failed) {
        self.errors.push(format!("{prefix}{}", failed.error));
        if failed.report.failures.is_empty() {
            self.not_evaluated.push(format!("{prefix}{}", failed.error));
        }
        for f in &failed.report.failures {
            self.not_evaluated.push(format!("{prefix}{}", f.reason));
        }
    }
}

/// The accounts an aggregator covers, so the scan can query them side by side: its account
/// sources' accounts, or, for an organization source, the organization's accounts (the caller is
/// the management account or a delegated administrator). Empty when they cannot be listed: one
/// query over the aggregator then covers them all, one page after the other.
async fn aggregated_accounts(
    sdk: &aws_config::SdkConfig,
    name: &str,
) -> anyhow::Result<Vec<String>> {
    let out = match aws_sdk_config::Client::new(sdk)
        .describe_configuration_aggregators()
        .configuration_aggregator_names(name)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_configuration_aggregator_exception()) =>
        {
            bail!(
                "config:DescribeConfigurationAggregators: no aggregator {name}: {}",
                aws::describe_error(&e)
            )
        }
        Err(e) => {
            tracing::warn!(error = %aws::describe_error(&e), "config:DescribeConfigurationAggregators failed: the aggregator is queried as a whole, one page after the other");
            return Ok(Vec::new());
        }
    };
    let Some(aggregator) = out.configuration_aggregators().first() else {
        bail!("config:DescribeConfigurationAggregators: no aggregator {name}");
    };
    let mut accounts: Vec<String> = aggregator
        .account_aggregation_sources()
        .iter()
        .flat_map(|s| s.account_ids().iter().cloned())
        .collect();
    if aggregator.organization_aggregation_source().is_some() {
        let mut pages = aws_sdk_organizations::Client::new(sdk)
            .list_accounts()
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => accounts.extend(
                    page.accounts()
                        .iter()
                        .filter_map(|a| a.id().map(str::to_owned)),
                ),
                Err(e) => {
                    tracing::warn!(error = %aws::describe_error(&e), "organizations:ListAccounts failed: the aggregator is queried as a whole, one page after the other");
                    return Ok(Vec::new());
                }
            }
        }
    }
    accounts.sort();
    accounts.dedup();
    Ok(accounts)
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
    let home = base.region().map(|r| r.as_ref().to_owned());
    // The rule rejects bad parameters with a clear error; do it before any scan.
    let event = periodic_event(
        &account,
        identity.arn(),
        home.as_deref(),
        &args.rule_parameters,
    )?;
    cmk_core::RuleParams::parse(event.rule_parameters.as_deref()).context("--rule-parameters")?;
    let regions = match (&args.aggregator, args.regions.is_empty()) {
        (Some(_), _) | (None, false) => args.regions.clone(),
        (None, true) => vec![
            home.clone()
                .context("no Region: pass --region or set AWS_REGION")?,
        ],
    };
    let source = match (&args.aggregator, args.source) {
        (Some(name), _) => format!("AWS Config aggregator {name} (recorded inventory)"),
        (None, Source::Config) => format!(
            "account {account}, AWS Config recorded inventory, {}",
            regions.join(", ")
        ),
        (None, Source::Services) => format!(
            "account {account}, the services' APIs, {}",
            regions.join(", ")
        ),
    };
    let bar = progress(args.output);
    let rates = aws::Rates::from_env()?;
    let replicas = aws::ReplicaLookup::from_env().map_err(anyhow::Error::msg)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Judged>(IN_FLIGHT);
    let mut writer = Writer::new(args.output, std::io::stdout().lock(), args.html.is_some())?;
    let sweeps = async {
        let mut failures = Failures::default();
        let options = Options::streaming(tx);
        if let Some(name) = &args.aggregator {
            let accounts = if args.accounts.is_empty() {
                match aggregated_accounts(&base, name).await {
                    Ok(accounts) => accounts,
                    Err(e) => {
                        failures.errors.push(format!("{e:#}"));
                        failures.not_evaluated.push(format!("{e:#}"));
                        return failures;
                    }
                }
            } else {
                args.accounts.clone()
            };
            let book = Arc::new(KeyBook::default());
            let handler = Handler {
                keys: RecordedKeys {
                    inner: aws::KmsKeyResolver::new(aws_sdk_kms::Client::new(&base)),
                    book: book.clone(),
                },
                items: aws::ConfigHistory(aws_sdk_config::Client::new(&base)),
                inventory: Counted {
                    inner: AggregateInventory {
                        queries: Queries {
                            config: aws_sdk_config::Client::new(&base),
                            scope: Scope::Aggregator {
                                name: name.clone(),
                                accounts,
                                regions: regions.clone(),
                            },
                        },
                        book,
                    },
                    bar: &bar,
                },
                sink: None::<aws::ConfigSink>,
                region: home.clone().unwrap_or_default(),
            };
            if let Err(failed) = handler.handle(&event, options).await {
                failures.add("", &failed);
            }
            return failures;
        }
        // Regions are scanned one after the other, so one pace serves them all.
        for region in &regions {
            let sdk = base
                .to_builder()
                .region(aws_config::Region::new(region.clone()))
                .build();
            let mut rule = aws::handler(&sdk, None::<aws::ConfigSink>);
            rule.inventory.services.rates = rates.clone();
            rule.inventory.services.secret_replicas = aws::SecretReplicas::new(replicas);
            rule.inventory.mode = match args.source {
                Source::Services => InventoryMode::Services,
                Source::Config => InventoryMode::Config,
            };
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
            if let Err(failed) = handler.handle(&event, options.clone()).await {
                failures.add(&format!("{region}: "), &failed);
            }
        }
        failures
    };
    let printing = async {
        while let Some(judged) = rx.recv().await {
            writer.add(judged.into())?;
        }
        anyhow::Ok(())
    };
    let (failures, printed) = tokio::join!(sweeps, printing);
    bar.finish_and_clear();
    printed?;
    let (summary, spool) = writer.finish()?;
    if let Some(path) = &args.html {
        let generated = cmk_core::evaluation::format_utc(time::OffsetDateTime::now_utc())?;
        let title = match &args.aggregator {
            Some(name) => format!("CMK compliance of aggregator {name}"),
            None => format!("CMK compliance of account {account}"),
        };
        let page = report::html::Page {
            title: &title,
            source: &source,
            generated: &generated,
            not_evaluated: &failures.not_evaluated,
            by_key: true,
            notes: &[],
        };
        let file =
            std::fs::File::create(path).with_context(|| format!("--html {}", path.display()))?;
        let mut out = std::io::BufWriter::new(file);
        match spool {
            Some(mut spool) => report::html::write(&mut out, &page, &summary, spool.read()?)?,
            None => report::html::write(&mut out, &page, &summary, std::iter::empty())?,
        }
        std::io::Write::flush(&mut out).with_context(|| format!("--html {}", path.display()))?;
    }
    if !failures.errors.is_empty() {
        bail!("{}", failures.errors.join("\n"));
    }
    Ok(if summary.total.non_compliant > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
