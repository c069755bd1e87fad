//! Data-driven fixtures: a real-shaped Config event, the key facts a fake KMS answers with, and
//! the expected evaluation, in `tests/fixtures/config/<area>/<case>.json`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cmk_core::event::{ApiItem, ItemSummary};
use cmk_core::key::{ArnScope, FakeAnswer};
use cmk_core::{Arn, Compliance, ConfigItem, Evaluation, FakeKeys};
use cmk_rule::handler::{EvaluationSink, Inventory, ItemSource, Page, SourceError, SweepScope};
use serde::Deserialize;

/// One fixture file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// What the case shows; printed on failure.
    pub note: String,
    /// DescribeKey answers by reference; key ids and alias names are qualified in the account
    /// and Region of the event's `configRuleArn`, and lookups match by qualified ARN.
    #[serde(default)]
    pub keys: HashMap<String, FakeAnswer>,
    /// What GetResourceConfigHistory returns for an oversized notification (API shape).
    #[serde(default)]
    pub history: Option<HistoryItem>,
    /// The event exactly as Config sends it.
    pub event: serde_json::Value,
    /// The expected outcome.
    pub want: Want,
}

/// A configuration item in the Config API's shape (`configuration` is a JSON string).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HistoryItem {
    pub resource_type: String,
    pub resource_id: String,
    #[serde(default)]
    pub arn: Option<String>,
    pub account_id: String,
    pub aws_region: String,
    pub configuration_item_status: String,
    pub configuration_item_capture_time: String,
    #[serde(default)]
    pub configuration_state_id: Option<String>,
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub configuration: Option<String>,
    #[serde(default)]
    pub supplementary_configuration: BTreeMap<String, String>,
}

/// The expected result: one evaluation, or an error with nothing put.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Want {
    #[serde(default)]
    pub compliance: Option<Compliance>,
    /// Substrings the annotation must contain.
    #[serde(default)]
    pub annotation_contains: Vec<String>,
    /// Substrings the invocation error must contain; the case then expects nothing put.
    #[serde(default)]
    pub error_contains: Vec<String>,
    /// Expected number of KMS calls (to prove `alias/aws/*` needs none).
    #[serde(default)]
    pub key_calls: Option<usize>,
    /// Expected `OrderingTimestamp` (RFC 3339, UTC).
    #[serde(default)]
    pub ordering_timestamp: Option<String>,
}

impl Fixture {
    /// Loads and strictly decodes a fixture file.
    pub fn load(path: &Path) -> Result<Fixture, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The fake KMS of this case, at home in the account and Region of the rule.
    pub fn fake_keys(&self) -> FakeKeys {
        let rule: Arn = self.event["configRuleArn"]
            .as_str()
            .expect("fixture event has a configRuleArn")
            .parse()
            .expect("fixture configRuleArn is an ARN");
        let home = ArnScope {
            partition: rule.partition,
            region: rule.region().to_owned(),
            account: rule.account().to_owned(),
        };
        FakeKeys::new(home, self.keys.clone()).expect("fixture keys are key references")
    }
}

/// Every `*.json` under `dir`, sorted.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// GetResourceConfigHistory answered by the fixture's `history`.
pub struct FixtureHistory(pub Option<HistoryItem>);

impl ItemSource for FixtureHistory {
    async fn latest(&self, summary: &ItemSummary) -> Result<ConfigItem, SourceError> {
        let h = self.0.clone().ok_or_else(|| SourceError {
            operation: "config:GetResourceConfigHistory",
            detail: format!("fixture has no history for {}", summary.resource_id),
            retryable: false,
        })?;
        ConfigItem::from_api(ApiItem {
            resource_type: Some(h.resource_type),
            resource_id: Some(h.resource_id),
            arn: h.arn,
            account_id: Some(h.account_id),
            region: Some(h.aws_region),
            status: Some(h.configuration_item_status),
            capture_time: Some(h.configuration_item_capture_time),
            state_id: h.configuration_state_id,
            tags: h.tags,
            configuration: h.configuration,
            supplementary_configuration: h.supplementary_configuration,
        })
        .map_err(|e| SourceError {
            operation: "config:GetResourceConfigHistory",
            detail: e.to_string(),
            retryable: false,
        })
    }
}

/// Fixtures are change events: the sweep has nothing to list.
pub struct NoInventory;

impl Inventory for NoInventory {
    async fn page(
        &self,
        _: &'static str,
        _: &SweepScope,
        _: Option<String>,
    ) -> Result<Page, SourceError> {
        Ok(Page::default())
    }
}

/// Records what would have been put.
#[derive(Default)]
pub struct RecordingSink(pub Mutex<Vec<Evaluation>>);

impl EvaluationSink for RecordingSink {
    async fn put(
        &self,
        batch: &[Evaluation],
        _: &str,
        _: bool,
    ) -> Result<Vec<Evaluation>, SourceError> {
        self.0.lock().expect("sink lock").extend_from_slice(batch);
        Ok(Vec::new())
    }
}
