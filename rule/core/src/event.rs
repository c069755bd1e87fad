//! Config's event → invoking event → [`ConfigItem`]. Every decoding error carries the JSON path.
//!
//! Config sends `invokingEvent` and `ruleParameters` as JSON *strings* inside the outer event, so
//! decoding happens twice. The item comes in two shapes: the event shape (`configuration` is an
//! object, `ARN`, `awsAccountId`) and the API shape of `GetResourceConfigHistory` (`configuration`
//! is a JSON string, `arn`, `accountId`); both become one [`ConfigItem`].

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::arn::{Arn, Partition};
use crate::key::ArnScope;
use crate::tags;

/// `messageType` values (config-events.md §2).
pub const CHANGE: &str = "ConfigurationItemChangeNotification";
/// Sent instead of [`CHANGE`] when the item exceeds the SNS size limit.
pub const OVERSIZED: &str = "OversizedConfigurationItemChangeNotification";
/// Periodic trigger.
pub const SCHEDULED: &str = "ScheduledNotification";
/// Legacy periodic trigger; not subscribed to, ignored with a log line.
pub const SNAPSHOT_DELIVERED: &str = "ConfigurationSnapshotDeliveryCompleted";

/// The outer event Config sends to a custom Lambda rule.
///
/// Own type rather than `aws_lambda_events::config::ConfigEvent`, which requires
/// `eventLeftScope` and loses JSON paths; unknown keys are tolerated as Config adds fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigEvent {
    /// JSON string holding the invoking event.
    pub invoking_event: String,
    /// JSON string holding the rule parameters; absent, `""` and `"{}"` all mean none.
    #[serde(default)]
    pub rule_parameters: Option<String>,
    /// Token to pass back to PutEvaluations; `TESTMODE` selects `TestMode=true`.
    #[serde(default)]
    pub result_token: Option<String>,
    /// The resource left the rule's scope: report NOT_APPLICABLE.
    #[serde(default)]
    pub event_left_scope: bool,
    /// Account that owns the rule.
    #[serde(default)]
    pub account_id: Option<String>,
    /// ARN of the rule (its Region is the Region evaluated by a sweep).
    #[serde(default)]
    pub config_rule_arn: Option<String>,
    /// Name of the rule.
    #[serde(default)]
    pub config_rule_name: Option<String>,
}

/// Decoding errors of the event and its invoking event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// JSON that does not decode; `what` names the document (`event`, `invokingEvent`, ...).
    #[error("{what} at `{path}`: {source}")]
    Json {
        /// Which document.
        what: &'static str,
        /// JSON path of the error (`.` for the root).
        path: String,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// A field that decodes but is not acceptable.
    #[error("{what} at `{path}`: {problem}")]
    Field {
        /// Which document.
        what: &'static str,
        /// JSON path of the field.
        path: String,
        /// What is wrong.
        problem: String,
    },
}

/// A configuration item that lacks or mangles a field the rule reads.
#[derive(Debug, thiserror::Error)]
#[error("{resource_type} {resource_id}: `{field}` {problem}")]
pub struct ParseError {
    /// Resource type of the item.
    pub resource_type: String,
    /// Resource id of the item.
    pub resource_id: String,
    /// JSON path inside the item (`configuration.StreamEncryption.KeyId`).
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

/// Decodes `json`; on failure decodes again with path tracking, so the error names where the
/// input is wrong (the fast path skips the tracking cost for the inputs that are fine).
pub(crate) fn decode<T: DeserializeOwned>(what: &'static str, json: &str) -> Result<T, EventError> {
    if let Ok(value) = serde_json::from_str(json) {
        return Ok(value);
    }
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| EventError::Json {
        what,
        path: e.path().to_string(),
        source: e.into_inner(),
    })
}

fn decode_value<T: DeserializeOwned>(what: &'static str, value: Value) -> Result<T, EventError> {
    serde_path_to_error::deserialize(value).map_err(|e| EventError::Json {
        what,
        path: e.path().to_string(),
        source: e.into_inner(),
    })
}

impl ConfigEvent {
    /// Decodes the outer event from bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<ConfigEvent, EventError> {
        if let Ok(event) = serde_json::from_slice(bytes) {
            return Ok(event);
        }
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(de).map_err(|e| EventError::Json {
            what: "event",
            path: e.path().to_string(),
            source: e.into_inner(),
        })
    }

    /// Decodes the outer event from an already parsed JSON value (the Lambda payload).
    pub fn from_value(value: Value) -> Result<ConfigEvent, EventError> {
        decode_value("event", value)
    }

    /// Decodes `invokingEvent` according to its `messageType`.
    pub fn invoking_event(&self) -> Result<InvokingEvent, EventError> {
        // One pass for the inputs that are fine; anything else takes the two-pass path below,
        // which reads the message type first and names the exact problem.
        if let Ok(whole) = serde_json::from_str::<RawInvoking>(&self.invoking_event)
            && let (CHANGE, Some(raw)) = (whole.message_type.as_str(), whole.configuration_item)
            && let Ok(mut item) = raw.into_item()
        {
            // An item without an ARN takes the rule's partition (a decode of the rule's ARN, not
            // a second pass over the event).
            if item.partition.is_none() {
                item.partition = self.rule_arn()?.map(|arn| arn.partition);
            }
            return Ok(InvokingEvent::Change {
                item: Box::new(item),
            });
        }
        self.invoking_event_checked()
    }

    /// `configRuleArn`, parsed; `None` when the event has none.
    pub fn rule_arn(&self) -> Result<Option<Arn>, EventError> {
        match self.config_rule_arn.as_deref() {
            None | Some("") => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|e: crate::arn::ArnError| {
                field_error("event", "configRuleArn", e.to_string())
            }),
        }
    }

    fn invoking_event_checked(&self) -> Result<InvokingEvent, EventError> {
        let head: Head = decode("invokingEvent", &self.invoking_event)?;
        match head.message_type.as_str() {
            CHANGE => {
                let raw: RawChange = decode("invokingEvent", &self.invoking_event)?;
                let mut item = raw
                    .configuration_item
                    .into_item()
                    .map_err(|e| e.under("invokingEvent", "configurationItem"))?;
                if item.partition.is_none() {
                    item.partition = self.rule_arn()?.map(|arn| arn.partition);
                }
                Ok(InvokingEvent::Change {
                    item: Box::new(item),
                })
            }
            OVERSIZED => {
                let raw: RawOversized = decode("invokingEvent", &self.invoking_event)?;
                let summary = raw
                    .configuration_item_summary
                    .into_summary()
                    .map_err(|e| e.under("invokingEvent", "configurationItemSummary"))?;
                Ok(InvokingEvent::Oversized { summary })
            }
            SCHEDULED => {
                let raw: RawScheduled = decode("invokingEvent", &self.invoking_event)?;
                let notification_time = timestamp(&raw.notification_creation_time)
                    .map_err(|p| field_error("invokingEvent", "notificationCreationTime", p))?;
                Ok(InvokingEvent::Scheduled {
                    account_id: account(&raw.aws_account_id)
                        .map_err(|p| field_error("invokingEvent", "awsAccountId", p))?,
                    notification_time,
                })
            }
            SNAPSHOT_DELIVERED => Ok(InvokingEvent::SnapshotDelivered),
            other => Err(field_error(
                "invokingEvent",
                "messageType",
                format!("unsupported message type `{other}`"),
            )),
        }
    }

    /// True when the result token asks for `TestMode=true` (rdk convention).
    pub fn is_test_mode(&self) -> bool {
        self.result_token.as_deref() == Some("TESTMODE")
    }
}

fn field_error(what: &'static str, path: &str, problem: impl Into<String>) -> EventError {
    EventError::Field {
        what,
        path: path.to_owned(),
        problem: problem.into(),
    }
}

/// A decoded `invokingEvent`.
#[derive(Clone, Debug)]
pub enum InvokingEvent {
    /// `ConfigurationItemChangeNotification`.
    Change {
        /// The item to evaluate.
        item: Box<ConfigItem>,
    },
    /// `OversizedConfigurationItemChangeNotification`: fetch the item, then evaluate.
    Oversized {
        /// Which item to fetch.
        summary: ItemSummary,
    },
    /// `ScheduledNotification`: sweep the account and Region.
    Scheduled {
        /// The account to sweep.
        account_id: String,
        /// Becomes every evaluation's `OrderingTimestamp`.
        notification_time: OffsetDateTime,
    },
    /// `ConfigurationSnapshotDeliveryCompleted` (legacy, ignored).
    SnapshotDelivered,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    message_type: String,
}

/// Every message type's fields at once, for the one-pass decode of change notifications.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawInvoking {
    message_type: String,
    #[serde(default)]
    configuration_item: Option<RawItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawChange {
    configuration_item: RawItem,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOversized {
    configuration_item_summary: RawSummary,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawScheduled {
    aws_account_id: String,
    notification_creation_time: String,
}

/// `configurationItemStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemStatus {
    /// `OK`
    Ok,
    /// `ResourceDiscovered`
    ResourceDiscovered,
    /// `ResourceNotRecorded`
    ResourceNotRecorded,
    /// `ResourceDeleted`
    ResourceDeleted,
    /// `ResourceDeletedNotRecorded`
    ResourceDeletedNotRecorded,
}

impl ItemStatus {
    /// Parses Config's spelling; an unknown status is an error naming it.
    pub fn parse(s: &str) -> Result<ItemStatus, String> {
        Ok(match s {
            "OK" => ItemStatus::Ok,
            "ResourceDiscovered" => ItemStatus::ResourceDiscovered,
            "ResourceNotRecorded" => ItemStatus::ResourceNotRecorded,
            "ResourceDeleted" => ItemStatus::ResourceDeleted,
            "ResourceDeletedNotRecorded" => ItemStatus::ResourceDeletedNotRecorded,
            other => return Err(format!("unknown configurationItemStatus `{other}`")),
        })
    }

    /// Whether the item describes a live, recorded resource (evaluate it) or not (NOT_APPLICABLE).
    pub fn is_live(self) -> bool {
        matches!(self, ItemStatus::Ok | ItemStatus::ResourceDiscovered)
    }

    /// The Config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Ok => "OK",
            ItemStatus::ResourceDiscovered => "ResourceDiscovered",
            ItemStatus::ResourceNotRecorded => "ResourceNotRecorded",
            ItemStatus::ResourceDeleted => "ResourceDeleted",
            ItemStatus::ResourceDeletedNotRecorded => "ResourceDeletedNotRecorded",
        }
    }
}

/// Replaces each value of a `supplementaryConfiguration` that is the JSON text of an object or
/// a list with what the text holds: the item API shapes carry every value as text, events and
/// queries as JSON. Other text is left as it is.
pub fn unwrap_json_text(supplementary: &mut Map<String, Value>) {
    for value in supplementary.values_mut() {
        if let Value::String(text) = value
            && let Ok(parsed @ (Value::Array(_) | Value::Object(_))) =
                serde_json::from_str::<Value>(text)
        {
            *value = parsed;
        }
    }
}

/// One configuration item, normalised from either shape.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigItem {
    /// `resourceType`, e.g. `AWS::Kinesis::Stream`.
    pub resource_type: String,
    /// `resourceId`, echoed verbatim into the evaluation.
    pub resource_id: String,
    /// `ARN`, when present.
    pub arn: Option<Arn>,
    /// The resource's partition: its ARN's, else the rule's (from the event's `configRuleArn`);
    /// `None` when neither is known.
    pub partition: Option<Partition>,
    /// `awsAccountId`.
    pub account_id: String,
    /// `awsRegion`.
    pub region: String,
    /// `configurationItemStatus`.
    pub status: ItemStatus,
    /// `configurationItemCaptureTime`: the evaluation's `OrderingTimestamp`.
    pub capture_time: OffsetDateTime,
    /// `configurationStateId`, when the item carries one (Config's items do; the sweep's
    /// service-API items do not). Orders the items of one resource.
    pub state_id: Option<StateId>,
    /// Tags from `tags`, `supplementaryConfiguration.Tags` and `configuration.Tags`, normalised.
    pub tags: BTreeMap<String, String>,
    /// `configuration`; `None` when absent or `null` (deleted items).
    pub configuration: Option<Value>,
    /// `supplementaryConfiguration`, each value decoded from its JSON text where the shape
    /// carries it as text (e.g. an S3 bucket's `ServerSideEncryptionConfiguration`).
    pub supplementary: Map<String, Value>,
}

impl ConfigItem {
    /// Partition, Region and account of the resource: where its key references resolve. `None`
    /// when the partition is unknown (no ARN on the item, none for the rule): it is never guessed
    /// from the Region's name.
    pub fn scope(&self) -> Option<ArnScope> {
        Some(ArnScope {
            partition: self.partition?,
            region: self.region.clone(),
            account: self.account_id.clone(),
        })
    }

    /// Decodes `configuration` into the fields a resource module reads; errors name the path.
    ///
    /// Reads the item in place (strings may borrow from it); the path is tracked only when the
    /// plain decode fails, so items that decode pay nothing for it.
    pub fn decode_configuration<'a, T: Deserialize<'a>>(&'a self) -> Result<T, ParseError> {
        let value = self
            .configuration
            .as_ref()
            .ok_or_else(|| self.problem("configuration", "is missing"))?;
        self.decode_at("configuration", value)
    }

    /// Decodes `supplementaryConfiguration.<name>`, like [`ConfigItem::decode_configuration`];
    /// `None` when the item has no such value (or it is `null`).
    pub fn decode_supplementary<'a, T: Deserialize<'a>>(
        &'a self,
        name: &str,
    ) -> Result<Option<T>, ParseError> {
        match self.supplementary.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => self
                .decode_at(&format!("supplementaryConfiguration.{name}"), value)
                .map(Some),
        }
    }

    /// Decodes `value`, found at `base` in the item; the path is tracked only when the plain
    /// decode fails.
    fn decode_at<'a, T: Deserialize<'a>>(
        &self,
        base: &str,
        value: &'a Value,
    ) -> Result<T, ParseError> {
        if let Ok(decoded) = T::deserialize(value) {
            return Ok(decoded);
        }
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                base.to_owned()
            } else {
                format!("{base}.{path}")
            };
            self.problem(&field, e.into_inner().to_string())
        })
    }

    /// `configuration` as the JSON object it is, read in place.
    pub fn configuration_object(&self) -> Result<&Map<String, Value>, ParseError> {
        match &self.configuration {
            Some(Value::Object(map)) => Ok(map),
            Some(other) => Err(self.problem(
                "configuration",
                format!("expected an object, found `{other}`"),
            )),
            None => Err(self.problem("configuration", "is missing")),
        }
    }

    /// An error about `field` of this item.
    pub fn problem(&self, field: &str, problem: impl Into<String>) -> ParseError {
        ParseError {
            resource_type: self.resource_type.clone(),
            resource_id: self.resource_id.clone(),
            field: field.to_owned(),
            problem: problem.into(),
        }
    }

    /// Builds an item from the API shape (`GetResourceConfigHistory`, `BatchGetResourceConfig`),
    /// where `configuration` and each supplementary value are JSON strings.
    pub fn from_api(api: ApiItem) -> Result<ConfigItem, EventError> {
        const WHAT: &str = "configuration item from the Config API";
        let configuration = match api.configuration.as_deref() {
            None | Some("") | Some("null") => None,
            Some(text) => {
                Some(decode::<Value>(WHAT, text).map_err(|e| e.under(WHAT, "configuration"))?)
            }
        };
        let mut supplementary = Map::new();
        for (name, text) in &api.supplementary_configuration {
            let value = decode::<Value>(WHAT, text)
                .map_err(|e| e.under(WHAT, &format!("supplementaryConfiguration.{name}")))?;
            supplementary.insert(name.clone(), value);
        }
        let raw = RawItem {
            configuration_item_capture_time: api.capture_time,
            configuration_state_id: api.state_id.map(RawStateId::Text),
            aws_account_id: api.account_id,
            configuration_item_status: api.status,
            resource_type: api.resource_type,
            resource_id: api.resource_id,
            arn: api.arn,
            aws_region: api.region,
            tags: api.tags,
            configuration,
            supplementary_configuration: Some(supplementary),
        };
        raw.into_item().map_err(|e| e.under(WHAT, ""))
    }
}

/// The API shape of a configuration item, as plain strings (the shell converts SDK types to this).
#[derive(Clone, Debug, Default)]
pub struct ApiItem {
    /// `resourceType`.
    pub resource_type: Option<String>,
    /// `resourceId`.
    pub resource_id: Option<String>,
    /// `arn`.
    pub arn: Option<String>,
    /// `accountId`.
    pub account_id: Option<String>,
    /// `awsRegion`.
    pub region: Option<String>,
    /// `configurationItemStatus`.
    pub status: Option<String>,
    /// `configurationItemCaptureTime`, RFC 3339.
    pub capture_time: Option<String>,
    /// `configurationStateId`.
    pub state_id: Option<String>,
    /// `tags`.
    pub tags: Option<BTreeMap<String, String>>,
    /// `configuration`, a JSON string.
    pub configuration: Option<String>,
    /// `supplementaryConfiguration`, values are JSON strings.
    pub supplementary_configuration: BTreeMap<String, String>,
}

/// `configurationItemSummary` of an oversized notification.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemSummary {
    /// `resourceType`.
    pub resource_type: String,
    /// `resourceId`.
    pub resource_id: String,
    /// `awsAccountId`.
    pub account_id: String,
    /// `awsRegion`.
    pub region: String,
    /// `configurationItemStatus`.
    pub status: ItemStatus,
    /// `configurationItemCaptureTime`.
    pub capture_time: OffsetDateTime,
    /// `configurationStateId` (a number in AWS's example, a string elsewhere).
    pub state_id: Option<StateId>,
}

/// `configurationStateId`: identifies one configuration item of a resource (Config API reference,
/// `ConfigurationItem`). A JSON number in AWS's oversized example, a string in the API and in
/// other examples; both are kept as text and only compared for equality.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StateId(String);

impl StateId {
    /// A state id as written.
    pub fn new(text: impl Into<String>) -> StateId {
        StateId(text.into())
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for StateId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a fetched item relates to the notification that announced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// The very item of the notification (same state id, or the same capture time).
    Same,
    /// A later item: the resource changed again since; it is judged with its own capture time.
    Newer,
    /// An earlier item: Config's history has not caught up yet.
    Older,
}

/// Milliseconds since the epoch, rounded: Config records capture times to the millisecond, and
/// the API's epoch-seconds floats (`1773652515.123` read as `…15.122999…`) round back to them.
pub fn epoch_millis(t: OffsetDateTime) -> i128 {
    (t.unix_timestamp_nanos() + 500_000).div_euclid(1_000_000)
}

impl ItemSummary {
    /// Whether `item` (fetched from the history) is the summarised item, a later one or an
    /// earlier one. An equal state id means the same item; otherwise capture times decide,
    /// compared at millisecond precision, never at the float noise below it. State ids are not
    /// ordered: AWS's own oversized example carries `0`, another example a UUID.
    pub fn freshness(&self, item: &ConfigItem) -> Freshness {
        use std::cmp::Ordering;
        if self.state_id.is_some() && self.state_id == item.state_id {
            return Freshness::Same;
        }
        match epoch_millis(item.capture_time).cmp(&epoch_millis(self.capture_time)) {
            Ordering::Equal => Freshness::Same,
            Ordering::Greater => Freshness::Newer,
            Ordering::Less => Freshness::Older,
        }
    }
}

/// `configurationStateId` on the wire: a number or a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawStateId {
    Number(serde_json::Number),
    Text(String),
}

impl RawStateId {
    fn into_state_id(self) -> Option<StateId> {
        match self {
            RawStateId::Number(n) => Some(StateId(n.to_string())),
            RawStateId::Text(t) if t.is_empty() => None,
            RawStateId::Text(t) => Some(StateId(t)),
        }
    }
}

/// Event-shape item; every field optional here so that a missing one is reported by name.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawItem {
    configuration_item_capture_time: Option<String>,
    #[serde(default)]
    configuration_state_id: Option<RawStateId>,
    // The API's names (`accountId`, `arn`), as GetResourceConfigHistory returns an item and as
    // `rdk test-remote` and hand-made test events send it, are read like the event's.
    #[serde(alias = "accountId")]
    aws_account_id: Option<String>,
    configuration_item_status: Option<String>,
    resource_type: Option<String>,
    resource_id: Option<String>,
    #[serde(rename = "ARN", alias = "arn")]
    arn: Option<String>,
    aws_region: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    configuration: Option<Value>,
    supplementary_configuration: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSummary {
    configuration_item_capture_time: Option<String>,
    #[serde(default)]
    configuration_state_id: Option<RawStateId>,
    aws_account_id: Option<String>,
    configuration_item_status: Option<String>,
    resource_type: Option<String>,
    resource_id: Option<String>,
    aws_region: Option<String>,
}

/// A field problem inside an item, before it is placed under its parent path.
struct ItemFieldError {
    field: &'static str,
    problem: String,
}

impl ItemFieldError {
    fn under(self, what: &'static str, parent: &str) -> EventError {
        let path = if parent.is_empty() {
            self.field.to_owned()
        } else {
            format!("{parent}.{}", self.field)
        };
        field_error(what, &path, self.problem)
    }
}

impl EventError {
    fn under(self, what: &'static str, parent: &str) -> EventError {
        match self {
            EventError::Json { path, source, .. } => EventError::Json {
                what,
                path: join(parent, &path),
                source,
            },
            EventError::Field { path, problem, .. } => EventError::Field {
                what,
                path: join(parent, &path),
                problem,
            },
        }
    }
}

fn join(parent: &str, path: &str) -> String {
    match (parent, path) {
        ("", p) => p.to_owned(),
        (p, ".") => p.to_owned(),
        (p, c) => format!("{p}.{c}"),
    }
}

fn required(field: &'static str, value: Option<String>) -> Result<String, ItemFieldError> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        Some(_) => Err(ItemFieldError {
            field,
            problem: "is empty".to_owned(),
        }),
        None => Err(ItemFieldError {
            field,
            problem: "is missing".to_owned(),
        }),
    }
}

fn with_field<T>(field: &'static str, r: Result<T, String>) -> Result<T, ItemFieldError> {
    r.map_err(|problem| ItemFieldError { field, problem })
}

fn timestamp(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| format!("`{text}` is not an RFC 3339 timestamp ({e})"))
}

/// `configuration` given as JSON text (the API shape); `""` and `"null"` mean none.
fn from_json_text(field: &'static str, text: &str) -> Result<Option<Value>, ItemFieldError> {
    if text.is_empty() || text == "null" {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| ItemFieldError {
            field,
            problem: format!("is a string but not JSON ({e})"),
        })
}

fn account(text: &str) -> Result<String, String> {
    if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_owned())
    } else {
        Err(format!("`{text}` is not a 12-digit account id"))
    }
}

impl RawItem {
    fn into_item(self) -> Result<ConfigItem, ItemFieldError> {
        const TIME: &str = "configurationItemCaptureTime";
        const ACCOUNT: &str = "awsAccountId";
        const STATUS: &str = "configurationItemStatus";
        let capture = required(TIME, self.configuration_item_capture_time)?;
        let account_id = required(ACCOUNT, self.aws_account_id)?;
        let status = required(STATUS, self.configuration_item_status)?;
        // In the API shape `configuration` is a JSON string, and each supplementary value too.
        let configuration = match self.configuration {
            Some(Value::String(text)) => from_json_text("configuration", &text)?,
            other => other,
        }
        .filter(|v| !v.is_null());
        let mut supplementary = self.supplementary_configuration.unwrap_or_default();
        unwrap_json_text(&mut supplementary);
        let tags = tags::collect(
            self.tags.as_ref(),
            supplementary.get("Tags"),
            configuration.as_ref().and_then(|c| c.get("Tags")),
        );
        let arn = match self.arn.filter(|a| !a.is_empty()) {
            Some(text) => Some(text.parse::<Arn>().map_err(|e| ItemFieldError {
                field: "ARN",
                problem: e.to_string(),
            })?),
            None => None,
        };
        Ok(ConfigItem {
            resource_type: required("resourceType", self.resource_type)?,
            resource_id: required("resourceId", self.resource_id)?,
            partition: arn.as_ref().map(|a| a.partition),
            arn,
            account_id: with_field(ACCOUNT, account(&account_id))?,
            region: required("awsRegion", self.aws_region)?,
            status: with_field(STATUS, ItemStatus::parse(&status))?,
            capture_time: with_field(TIME, timestamp(&capture))?,
            state_id: self
                .configuration_state_id
                .and_then(RawStateId::into_state_id),
            tags,
            configuration,
            supplementary,
        })
    }
}

impl RawSummary {
    fn into_summary(self) -> Result<ItemSummary, ItemFieldError> {
        const TIME: &str = "configurationItemCaptureTime";
        const ACCOUNT: &str = "awsAccountId";
        const STATUS: &str = "configurationItemStatus";
        let capture = required(TIME, self.configuration_item_capture_time)?;
        let account_id = required(ACCOUNT, self.aws_account_id)?;
        let status = required(STATUS, self.configuration_item_status)?;
        Ok(ItemSummary {
            resource_type: required("resourceType", self.resource_type)?,
            resource_id: required("resourceId", self.resource_id)?,
            account_id: with_field(ACCOUNT, account(&account_id))?,
            region: required("awsRegion", self.aws_region)?,
            status: with_field(STATUS, ItemStatus::parse(&status))?,
            capture_time: with_field(TIME, timestamp(&capture))?,
            state_id: self
                .configuration_state_id
                .and_then(RawStateId::into_state_id),
        })
    }
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
