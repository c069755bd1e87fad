//! The sweep from AWS Config's recorded inventory: `config:SelectResourceConfig` in one account
//! and Region ([`RecordedInventory`], the Lambda's periodic sweep and `guardrails scan --source
//! config`) or `config:SelectAggregateResourceConfig` across an aggregator's accounts and Regions
//! ([`AggregateInventory`], `guardrails scan --aggregator`).
//!
//! Why Select and not ListDiscoveredResources + BatchGetResourceConfig: one Select call returns
//! 100 items with exactly the properties the rule reads, tags included; the other pair costs two
//! calls per 100 items and BatchGet returns no tags (an `exemptTag` would need the services' tag
//! calls again).
//!
//! Key facts come from the recorded `AWS::KMS::Key` items (`keyManager`, `keyState`,
//! `KeyRotationStatus`) and `AWS::KMS::Alias` items, read once per sweep into a [`KeyBook`];
//! [`RecordedKeys`] answers from it and asks KMS (DescribeKey) only for keys the inventory does not
//! hold: other accounts' keys in a one-account sweep, keys not recorded, or every key when the
//! recorder does not record `AWS::KMS::Key`.
//!
//! A type the recorder does not record (checked per sweep with DescribeConfigurationRecorders and
//! DescribeConfigurationRecorderStatus) is swept through its service's API, with one log line
//! saying so. Config records no replica list for a secret, so the secrets that may have replicas
//! are described once more for their replicas' keys, chosen exactly as the service-API sweep
//! chooses them ([`ReplicaLookup`](super::inventory::ReplicaLookup)).
//!
//! Verdicts from the recorded inventory are as fresh as Config's recording of the resources and
//! keys (usually minutes behind a change).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use aws_sdk_config::types::ResourceType;
use cmk_core::event::ItemStatus;
use cmk_core::key::{
    Described, KeyArn, KeyFacts, KeyLookup, KeyManager, KeyRef, KeyState, ResolveError, Reuse,
    Rotation,
};
use cmk_core::resources::{self, SUPPORTED, secretsmanager};
use cmk_core::{Arn, ConfigItem, KeyResolver};
use serde_json::{Map, Value};

use super::ServiceInventory;
use super::source_error;
use crate::handler::{Inventory, NotEvaluated, Page, SourceError, SweepScope};

/// Items per Select page (the API's maximum).
const PAGE: i32 = 100;
/// An aggregator scan split by account queries this many accounts at once: the wall time of an
/// organisation stays that of its largest account, not the sum of all.
const ACCOUNTS_IN_FLIGHT: usize = 8;
/// `AWS::KMS::Alias`.
pub const KMS_ALIAS: &str = "AWS::KMS::Alias";
/// The environment variable choosing where the sweep reads resources ([`InventoryMode`]).
pub const INVENTORY_VAR: &str = "CMK_INVENTORY";

/// Properties every resource query selects.
const COMMON: &str = "resourceId, resourceType, accountId, awsRegion, arn, configurationItemStatus, tags.key, tags.value";

/// The recorded properties the rule reads for a type, from its registry entry.
fn properties(resource_type: &str) -> String {
    resources::kind(resource_type)
        .map(|k| k.recorded_properties.join(", "))
        .unwrap_or_default()
}

/// Where the sweep reads resources: `auto` (default: Config's inventory for each type the
/// recorder records, the service's API for the others), `services` (always the services' APIs)
/// or `config` (only Config's inventory: a type not recorded is not evaluated, and says why).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InventoryMode {
    /// Recorded types from Config, the others from their services.
    #[default]
    Auto,
    /// The services' own list/describe APIs only.
    Services,
    /// Config's recorded inventory only.
    Config,
}

impl InventoryMode {
    /// The mode named by [`INVENTORY_VAR`] (unset: [`InventoryMode::Auto`]).
    pub fn from_env() -> Result<InventoryMode, String> {
        match std::env::var(INVENTORY_VAR) {
            Err(_) => Ok(InventoryMode::Auto),
            Ok(v) => match v.as_str() {
                "" | "auto" => Ok(InventoryMode::Auto),
                "services" => Ok(InventoryMode::Services),
                "config" => Ok(InventoryMode::Config),
                other => Err(format!(
                    "{INVENTORY_VAR}=`{other}`: expected `auto`, `services` or `config`"
                )),
            },
        }
    }
}

/// One recorded key: its facts and, when recorded as on, its rotation.
#[derive(Clone, Debug)]
struct BookEntry {
    facts: KeyFacts,
    rotates: bool,
}

#[derive(Debug, Default)]
struct Book {
    /// Key ARN → the key.
    keys: HashMap<String, BookEntry>,
    /// Alias ARN → the key ARN it targets.
    aliases: HashMap<String, String>,
}

/// The key facts of one sweep's recorded inventory, shared by the inventory that reads them and
/// the [`RecordedKeys`] resolver that answers from them. Emptied at every invocation's start.
#[derive(Debug, Default)]
pub struct KeyBook(Mutex<Book>);

impl KeyBook {
    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keys held (for logs and tests).
    pub fn len(&self) -> usize {
        self.lock().keys.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn clear(&self) {
        let mut book = self.lock();
        book.keys.clear();
        book.aliases.clear();
    }

    /// Files one recorded `AWS::KMS::Key` or `AWS::KMS::Alias` result; anything it cannot read
    /// is left out (that key is then asked of KMS).
    fn file(&self, result: &Value) {
        let text = |v: &Value, path: &[&str]| -> Option<String> {
            path.iter()
                .try_fold(v, |v, p| v.get(p))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        // Only a current item counts (an unknown status too is left to KMS).
        let deleted = text(result, &["configurationItemStatus"])
            .is_some_and(|s| !ItemStatus::parse(&s).is_ok_and(ItemStatus::is_live));
        let Some(arn) = text(result, &["arn"]) else {
            return;
        };
        match text(result, &["resourceType"]).as_deref() {
            Some(cmk_core::resources::KMS_KEY) if !deleted => {
                let Ok(key_arn) = KeyArn::parse(&arn) else {
                    return;
                };
                let manager = match text(result, &["configuration", "keyManager"]).as_deref() {
                    Some("AWS") => KeyManager::Aws,
                    Some("CUSTOMER") => KeyManager::Customer,
                    _ => return,
                };
                let Some(state) = text(result, &["configuration", "keyState"]) else {
                    return;
                };
                let rotates = match result.pointer("/supplementaryConfiguration/KeyRotationStatus")
                {
                    Some(Value::Bool(b)) => *b,
                    Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
                    _ => false,
                };
                let entry = BookEntry {
                    facts: KeyFacts {
                        arn: key_arn,
                        manager,
                        state: KeyState::parse(&state),
                    },
                    rotates,
                };
                self.lock().keys.insert(arn, entry);
            }
            Some(KMS_ALIAS) if !deleted => {
                let Some(target) = text(result, &["configuration", "TargetKeyId"]) else {
                    return;
                };
                let Ok(KeyRef::AliasArn { scope, .. }) = KeyRef::parse(&arn) else {
                    return;
                };
                let key_arn = match KeyRef::parse(&target) {
                    Ok(KeyRef::KeyArn(k)) => k,
                    Ok(KeyRef::KeyId(id)) => KeyArn::new(&scope, id),
                    _ => return,
                };
                self.lock().aliases.insert(arn, key_arn.to_string());
            }
            _ => {}
        }
    }

    fn found(&self, lookup: &KeyLookup) -> Option<KeyFacts> {
        let qualified = lookup.qualified();
        let book = self.lock();
        let key_arn = match lookup.key.alias() {
            Some(_) => book.aliases.get(&qualified)?,
            None => &qualified,
        };
        book.keys.get(key_arn).map(|e| e.facts.clone())
    }

    fn rotates(&self, key_arn: &KeyArn) -> bool {
        self.lock()
            .keys
            .get(&key_arn.to_string())
            .is_some_and(|e| e.rotates)
    }
}

/// A [`KeyResolver`] answering from the sweep's [`KeyBook`] first and from `inner` (cached
/// DescribeKey) for every key the book does not hold.
#[derive(Debug)]
pub struct RecordedKeys<K> {
    /// The resolver of keys the inventory does not hold.
    pub inner: K,
    /// This invocation's recorded key facts.
    pub book: Arc<KeyBook>,
}

impl<K: KeyResolver> KeyResolver for RecordedKeys<K> {
    fn start_invocation(&self, reuse: Reuse) {
        self.book.clear();
        self.inner.start_invocation(reuse);
    }

    async fn describe(&self, lookup: &KeyLookup) -> Result<Described, ResolveError> {
        match self.book.found(lookup) {
            Some(facts) => Ok(Described::Found(facts)),
            None => self.inner.describe(lookup).await,
        }
    }

    async fn rotation(&self, key_arn: &KeyArn) -> Result<Rotation, ResolveError> {
        // Config records rotation as a boolean: "off" may also mean "cannot rotate", which
        // GetKeyRotationStatus tells apart.
        if self.book.rotates(key_arn) {
            Ok(Rotation::Enabled)
        } else {
            self.inner.rotation(key_arn).await
        }
    }
}

/// The account's own inventory, or an aggregator's (optionally narrowed to some accounts and
/// Regions).
#[derive(Clone, Debug)]
pub enum Scope {
    /// `SelectResourceConfig`: the client's account and Region.
    Account,
    /// `SelectAggregateResourceConfig` of this aggregator.
    Aggregator {
        /// The aggregator's name.
        name: String,
        /// These accounts, each queried on its own, several at once; empty: one query over every
        /// account the aggregator covers.
        accounts: Vec<String>,
        /// Only these Regions (all when empty).
        regions: Vec<String>,
    },
}

/// Config's advanced queries over one inventory.
#[derive(Clone, Debug)]
pub struct Queries {
    /// The Config client (its Region is the one queried, or the aggregator's).
    pub config: aws_sdk_config::Client,
    /// Whose inventory.
    pub scope: Scope,
}

fn quoted(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("'{}'", v.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Queries {
    fn operation(&self) -> &'static str {
        match self.scope {
            Scope::Account => "config:SelectResourceConfig",
            Scope::Aggregator { .. } => "config:SelectAggregateResourceConfig",
        }
    }

    /// The `WHERE` clause of `types`, narrowed to `account` and the aggregator's Regions.
    fn condition(&self, types: &[&str], account: Option<&str>) -> String {
        let types: Vec<String> = types.iter().map(|t| (*t).to_owned()).collect();
        let mut clause = format!("resourceType IN ({})", quoted(&types));
        if let Some(account) = account {
            clause.push_str(&format!(
                " AND accountId = {}",
                quoted(&[account.to_owned()])
            ));
        }
        if let Scope::Aggregator { regions, .. } = &self.scope
            && !regions.is_empty()
        {
            clause.push_str(&format!(" AND awsRegion IN ({})", quoted(regions)));
        }
        clause
    }

    /// The accounts queried one by one (an aggregator told its accounts); empty: one query.
    fn split_accounts(&self) -> &[String] {
        match &self.scope {
            Scope::Aggregator { accounts, .. } => accounts,
            Scope::Account => &[],
        }
    }

    /// One page of results of `expression`, each decoded from its JSON string.
    async fn select(
        &self,
        expression: &str,
        token: Option<String>,
    ) -> Result<(Vec<Value>, Option<String>), SourceError> {
        let (results, next) = match &self.scope {
            Scope::Account => {
                let out = self
                    .config
                    .select_resource_config()
                    .expression(expression)
                    .limit(PAGE)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| source_error(self.operation(), "", &e))?;
                (out.results().to_vec(), out.next_token().map(str::to_owned))
            }
            Scope::Aggregator { name, .. } => {
                let out = self
                    .config
                    .select_aggregate_resource_config()
                    .configuration_aggregator_name(name)
                    .expression(expression)
                    .limit(PAGE)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| source_error(self.operation(), name, &e))?;
                (out.results().to_vec(), out.next_token().map(str::to_owned))
            }
        };
        // An empty token is the end, as no token is.
        let next = next.filter(|n| !n.is_empty());
        let decoded = results
            .iter()
            .map(|r| {
                serde_json::from_str(r).map_err(|e| SourceError {
                    operation: self.operation(),
                    detail: format!("a result is not JSON ({e}): {r}"),
                    retryable: false,
                })
            })
            .collect::<Result<Vec<Value>, _>>()?;
        Ok((decoded, next))
    }

    /// Reads every recorded key and alias into `book` (`⌈(keys + aliases) / 100⌉` calls), the
    /// accounts of a split aggregator several at once.
    pub async fn load_keys(&self, book: &KeyBook) -> Result<(), SourceError> {
        use futures::StreamExt;
        let accounts = self.split_accounts();
        if accounts.is_empty() {
            return self.load_keys_of(book, None).await;
        }
        // Owned names: futures borrowing the list would not be `Send` for every lifetime. One
        // account's failure leaves its keys to KMS, not everyone's.
        futures::stream::iter(accounts.to_vec())
            .map(|account| async move {
                if let Err(e) = self.load_keys_of(book, Some(&account)).await {
                    tracing::warn!(%account, error = %e, "the account's recorded keys were not read; its keys are described with kms:DescribeKey");
                }
            })
            .buffer_unordered(ACCOUNTS_IN_FLIGHT)
            .collect::<Vec<()>>()
            .await;
        Ok(())
    }

    async fn load_keys_of(&self, book: &KeyBook, account: Option<&str>) -> Result<(), SourceError> {
        let expression = format!(
            "SELECT resourceType, arn, configurationItemStatus, configuration.keyManager, configuration.keyState, supplementaryConfiguration.KeyRotationStatus, configuration.TargetKeyId WHERE {}",
            self.condition(&[cmk_core::resources::KMS_KEY, KMS_ALIAS], account)
        );
        let mut token = None;
        loop {
            let (results, next) = self.select(&expression, token.take()).await?;
            for result in &results {
                book.file(result);
            }
            match next {
                Some(n) => token = Some(n),
                None => return Ok(()),
            }
        }
    }

    /// One page of recorded resources of `resource_type`, as configuration items ordered at the
    /// sweep's time. Items no longer recorded as present (deleted, not recorded) are skipped.
    pub async fn page(
        &self,
        resource_type: &'static str,
        scope: &SweepScope,
        token: Option<String>,
    ) -> Result<Page, SourceError> {
        if !self.split_accounts().is_empty() {
            return self.page_by_account(resource_type, scope, token).await;
        }
        let expression = self.expression(resource_type, None);
        let (results, next) = self.select(&expression, token).await?;
        let mut page = Page {
            next,
            ..Page::default()
        };
        self.add_items(&mut page, resource_type, results, scope);
        Ok(page)
    }

    fn expression(&self, resource_type: &str, account: Option<&str>) -> String {
        format!(
            "SELECT {COMMON}, {} WHERE {}",
            properties(resource_type),
            self.condition(&[resource_type], account)
        )
    }

    fn add_items(
        &self,
        page: &mut Page,
        resource_type: &str,
        results: Vec<Value>,
        scope: &SweepScope,
    ) {
        for result in results {
            match self.item(resource_type, result, scope) {
                Ok(Some(item)) => page.items.push(item),
                Ok(None) => {}
                Err(reason) => page.failures.push(NotEvaluated {
                    reason,
                    retryable: false,
                }),
            }
        }
    }

    /// The next page of up to [`ACCOUNTS_IN_FLIGHT`] accounts at once. The token is the list of
    /// accounts not finished yet, each with its own NextToken (none before its first page). An
    /// account whose query fails is named in the page's failures and dropped; the others go on.
    async fn page_by_account(
        &self,
        resource_type: &'static str,
        scope: &SweepScope,
        token: Option<String>,
    ) -> Result<Page, SourceError> {
        let mut open: Vec<(String, Option<String>)> = match token {
            None => self
                .split_accounts()
                .iter()
                .map(|a| (a.clone(), None))
                .collect(),
            Some(t) => serde_json::from_str(&t).map_err(|e| SourceError {
                operation: self.operation(),
                detail: format!("bad page token {t:?}: {e}"),
                retryable: false,
            })?,
        };
        let now: Vec<(String, Option<String>)> =
            open.drain(..open.len().min(ACCOUNTS_IN_FLIGHT)).collect();
        let answers = futures::future::join_all(now.into_iter().map(|(account, token)| async {
            let expression = self.expression(resource_type, Some(&account));
            let answer = self.select(&expression, token).await;
            (account, answer)
        }))
        .await;
        let mut page = Page::default();
        for (account, answer) in answers {
            match answer {
                Ok((results, next)) => {
                    self.add_items(&mut page, resource_type, results, scope);
                    if let Some(next) = next {
                        open.push((account, Some(next)));
                    }
                }
                Err(e) => page.failures.push(NotEvaluated {
                    reason: format!("{resource_type} in account {account}: {e}"),
                    retryable: e.retryable,
                }),
            }
        }
        if !open.is_empty() {
            page.next = Some(serde_json::to_string(&open).map_err(|e| SourceError {
                operation: self.operation(),
                detail: format!("page token: {e}"),
                retryable: false,
            })?);
        }
        Ok(page)
    }

    /// The configuration item of one result; `None` for one that is not current.
    fn item(
        &self,
        resource_type: &str,
        mut result: Value,
        scope: &SweepScope,
    ) -> Result<Option<ConfigItem>, String> {
        let op = self.operation();
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
        let id = text(&result, "resourceId")
            .ok_or_else(|| format!("{resource_type}: {op} returned an item without resourceId"))?;
        if text(&result, "resourceType").is_some_and(|t| t != resource_type) {
            return Err(format!(
                "{resource_type} {id}: {op} returned an item of another type"
            ));
        }
        if let Some(status) = text(&result, "configurationItemStatus") {
            let status =
                ItemStatus::parse(&status).map_err(|e| format!("{resource_type} {id}: {e}"))?;
            if !status.is_live() {
                tracing::info!(resource_type, resource_id = %id, status = status.as_str(), "recorded item is not current; not evaluated");
                return Ok(None);
            }
        }
        let arn = text(&result, "arn")
            .map(|a| {
                a.parse::<Arn>()
                    .map_err(|e| format!("{resource_type} {id}: arn: {e}"))
            })
            .transpose()?;
        let mut tags = BTreeMap::new();
        if let Some(Value::Array(list)) = result.get("tags") {
            for tag in list {
                if let Some(key) = text(tag, "key") {
                    tags.insert(key, text(tag, "value").unwrap_or_default());
                }
            }
        }
        let configuration = match result.get_mut("configuration").map(Value::take) {
            Some(Value::Object(map)) => Value::Object(map),
            // Every selected property was absent: the type's shape with nothing in it.
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(other) => {
                return Err(format!(
                    "{resource_type} {id}: configuration is not an object: {other}"
                ));
            }
        };
        // Select returns a supplementary value as an object; one sent as JSON text (as the
        // item API shape sends them) is read the same way.
        let supplementary = match result
            .get_mut("supplementaryConfiguration")
            .map(Value::take)
        {
            Some(Value::Object(mut map)) => {
                cmk_core::event::unwrap_json_text(&mut map);
                map
            }
            None | Some(Value::Null) => Map::new(),
            Some(other) => {
                return Err(format!(
                    "{resource_type} {id}: supplementaryConfiguration is not an object: {other}"
                ));
            }
        };
        let account_id = text(&result, "accountId").unwrap_or_else(|| scope.account_id.clone());
        let region = text(&result, "awsRegion").unwrap_or_else(|| scope.region.clone());
        Ok(Some(ConfigItem {
            resource_type: resource_type.to_owned(),
            resource_id: id,
            partition: arn.as_ref().map(|a| a.partition),
            arn,
            account_id,
            region,
            status: ItemStatus::Ok,
            capture_time: scope.time,
            state_id: None,
            tags,
            configuration: Some(configuration),
            supplementary,
        }))
    }

    /// The supported types (and `AWS::KMS::Key`) the account's recorder in this Region records
    /// while it is recording; empty when there is no recorder or it is stopped.
    pub async fn recorded_types(&self) -> Result<HashSet<String>, SourceError> {
        let recorders = self
            .config
            .describe_configuration_recorders()
            .send()
            .await
            .map_err(|e| source_error("config:DescribeConfigurationRecorders", "", &e))?;
        let status = self
            .config
            .describe_configuration_recorder_status()
            .send()
            .await
            .map_err(|e| source_error("config:DescribeConfigurationRecorderStatus", "", &e))?;
        let recording: HashSet<&str> = status
            .configuration_recorders_status()
            .iter()
            .filter(|s| s.recording())
            .filter_map(|s| s.name())
            .collect();
        let wanted = SUPPORTED
            .iter()
            .chain([cmk_core::resources::KMS_KEY, KMS_ALIAS].iter());
        let mut types = HashSet::new();
        for recorder in recorders.configuration_recorders() {
            if !recorder.name().is_some_and(|n| recording.contains(n)) {
                continue;
            }
            // A recorder without a recording group records nothing we can count on.
            let Some(group) = recorder.recording_group() else {
                continue;
            };
            let excluded: Vec<&ResourceType> = group
                .exclusion_by_resource_types()
                .map(|e| e.resource_types().iter().collect())
                .unwrap_or_default();
            let strategy = group
                .recording_strategy()
                .and_then(|s| s.use_only())
                .map(|s| s.as_str().to_owned());
            for t in wanted.clone() {
                let rt = ResourceType::from(*t);
                let records = match strategy.as_deref() {
                    Some("EXCLUSION_BY_RESOURCE_TYPES") => !excluded.contains(&&rt),
                    Some("INCLUSION_BY_RESOURCE_TYPES") => group.resource_types().contains(&rt),
                    _ => group.all_supported() || group.resource_types().contains(&rt),
                };
                if records {
                    types.insert((*t).to_owned());
                }
            }
        }
        Ok(types)
    }
}

/// The periodic sweep of one account and Region: each type from Config's recorded inventory when
/// the recorder records it ([`InventoryMode`]), else from its service's API.
#[derive(Debug)]
pub struct RecordedInventory {
    /// The account's Select queries.
    pub queries: Queries,
    /// The service-API inventory: types not recorded, and secrets' replicas.
    pub services: ServiceInventory,
    /// Where resources come from.
    pub mode: InventoryMode,
    /// The key facts this sweep read (shared with [`RecordedKeys`]).
    pub book: Arc<KeyBook>,
    /// This sweep's decisions: the types read from Config.
    sweep: Mutex<SweepState>,
}

#[derive(Debug, Default)]
struct SweepState {
    recorded: HashSet<String>,
    /// Why the recorder could not be read, when it could not.
    unreadable: Option<String>,
}

impl RecordedInventory {
    /// The inventory of `sdk`'s account and Region.
    pub fn new(sdk: &aws_config::SdkConfig, book: Arc<KeyBook>) -> RecordedInventory {
        RecordedInventory {
            queries: Queries {
                config: aws_sdk_config::Client::new(sdk),
                scope: Scope::Account,
            },
            services: ServiceInventory::new(sdk),
            mode: InventoryMode::default(),
            book,
            sweep: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SweepState> {
        self.sweep
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn recorded_page(
        &self,
        resource_type: &'static str,
        scope: &SweepScope,
        token: Option<String>,
    ) -> Result<Page, SourceError> {
        let mut page = self.queries.page(resource_type, scope, token).await?;
        if resource_type == secretsmanager::RESOURCE_TYPE {
            let mut judged = Vec::with_capacity(page.items.len());
            for mut item in std::mem::take(&mut page.items) {
                let deleted = item
                    .configuration
                    .as_ref()
                    .and_then(|c| c.get("Deleted"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if deleted
                    || !self
                        .services
                        .may_have_replicas(&scope.region, &item.resource_id, None)
                        .await?
                {
                    judged.push(item);
                    continue;
                }
                // A secret whose replicas cannot be read gets no verdict; the page's others do.
                match self.services.replication_status(&item.resource_id).await {
                    Ok(Some(replicas)) => {
                        if let Some(Value::Object(cfg)) = item.configuration.as_mut() {
                            cfg.insert("ReplicationStatus".to_owned(), replicas);
                        }
                        judged.push(item);
                    }
                    Ok(None) => {
                        tracing::info!(resource_id = %item.resource_id, "secret disappeared during the sweep");
                    }
                    Err(e) => page.failures.push(NotEvaluated {
                        reason: format!(
                            "{} {}: {e}",
                            secretsmanager::RESOURCE_TYPE,
                            item.resource_id
                        ),
                        retryable: e.retryable,
                    }),
                }
            }
            page.items = judged;
        }
        Ok(page)
    }
}

impl Inventory for RecordedInventory {
    fn lists_everything(&self, resource_type: &str) -> bool {
        !self.state().recorded.contains(resource_type)
    }

    async fn start(&self, scope: &SweepScope) {
        self.services.start(scope).await;
        let mut state = SweepState::default();
        if self.mode != InventoryMode::Services {
            match self.queries.recorded_types().await {
                Ok(types) => state.recorded = types,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot tell what the configuration recorder records; sweeping through the services' APIs");
                    state.unreadable = Some(e.to_string());
                }
            }
            for t in SUPPORTED {
                if !state.recorded.contains(t) {
                    tracing::info!(resource_type = t, mode = ?self.mode, "not recorded by the configuration recorder: swept through the service's API");
                }
            }
        }
        let any = SUPPORTED.iter().any(|t| state.recorded.contains(*t));
        let keys = state.recorded.contains(cmk_core::resources::KMS_KEY);
        *self.state() = state;
        if scope.key_changed {
            // The key that changed is judged by its fresh DescribeKey, never by a recording of
            // its state that may predate the change.
        } else if any && keys {
            if let Err(e) = self.queries.load_keys(&self.book).await {
                // Not fatal: every key is then asked of KMS, as without a recorder.
                tracing::warn!(error = %e, "recorded keys not read; keys are described with kms:DescribeKey");
                self.book.clear();
            }
        } else if any {
            tracing::info!(
                "AWS::KMS::Key is not recorded: keys are described with kms:DescribeKey"
            );
        }
    }

    async fn page(
        &self,
        resource_type: &'static str,
        scope: &SweepScope,
        token: Option<String>,
    ) -> Result<Page, SourceError> {
        let (recorded, unreadable) = {
            let state = self.state();
            (
                state.recorded.contains(resource_type),
                state.unreadable.clone(),
            )
        };
        match (recorded, self.mode) {
            (true, _) => self.recorded_page(resource_type, scope, token).await,
            (false, InventoryMode::Config) => Err(SourceError {
                operation: "config:DescribeConfigurationRecorders",
                detail: match unreadable {
                    Some(why) => format!("{resource_type} in {}: {why}", scope.region),
                    None => format!(
                        "{resource_type} is not recorded by a running configuration recorder in {}: record it (and AWS::KMS::Key), or sweep through the services' APIs",
                        scope.region
                    ),
                },
                retryable: false,
            }),
            _ => self.services.page(resource_type, scope, token).await,
        }
    }
}

/// Every account and Region an aggregator covers, from its recorded inventory only (the
/// caller's credentials reach no member account): `guardrails scan --aggregator`. Keys an
/// aggregator does not hold are asked of KMS with the caller's credentials, which AWS-managed
/// keys of other accounts refuse: such a resource gets no verdict, named, never a guess.
#[derive(Debug)]
pub struct AggregateInventory {
    /// The aggregator's queries.
    pub queries: Queries,
    /// The key facts of every covered account (shared with [`RecordedKeys`]).
    pub book: Arc<KeyBook>,
}

impl Inventory for AggregateInventory {
    fn lists_everything(&self, _resource_type: &str) -> bool {
        false
    }

    async fn start(&self, _scope: &SweepScope) {
        if let Err(e) = self.queries.load_keys(&self.book).await {
            tracing::warn!(error = %e, "the aggregator's keys were not read; keys are described with kms:DescribeKey");
            self.book.clear();
        }
    }

    async fn page(
        &self,
        resource_type: &'static str,
        scope: &SweepScope,
        token: Option<String>,
    ) -> Result<Page, SourceError> {
        self.queries.page(resource_type, scope, token).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmk_core::key::ArnScope;
    use cmk_core::resources::kinesis;
    use serde_json::json;

    fn lookup(reference: &str) -> KeyLookup {
        let scope = ArnScope {
            partition: cmk_core::arn::Partition::Aws,
            region: "eu-west-1".to_owned(),
            account: "111122223333".to_owned(),
        };
        KeyLookup::new(KeyRef::parse(reference).unwrap(), &scope)
    }

    const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn the_book_answers_keys_by_arn_id_and_alias() {
        let book = KeyBook::default();
        book.file(
            &json!({"resourceType": "AWS::KMS::Key", "arn": KEY, "configurationItemStatus": "OK",
            "configuration": {"keyManager": "AWS", "keyState": "Enabled"},
            "supplementaryConfiguration": {"KeyRotationStatus": true}}),
        );
        book.file(&json!({"resourceType": "AWS::KMS::Alias",
            "arn": "arn:aws:kms:eu-west-1:111122223333:alias/data",
            "configuration": {"TargetKeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}}));
        for reference in [KEY, "1234abcd-12ab-34cd-56ef-1234567890ab", "alias/data"] {
            let facts = book.found(&lookup(reference)).expect(reference);
            assert_eq!(facts.manager, KeyManager::Aws, "{reference}");
            assert_eq!(facts.arn.to_string(), KEY);
        }
        assert!(book.rotates(&KeyArn::parse(KEY).unwrap()));
        // Another account's key of the same id is not this one.
        assert!(
            book.found(&lookup(
                "arn:aws:kms:eu-west-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab"
            ))
            .is_none()
        );
        assert!(book.found(&lookup("alias/other")).is_none());
    }

    #[test]
    fn the_book_leaves_out_what_it_cannot_read_or_what_is_gone() {
        let book = KeyBook::default();
        // Unknown manager, missing state, deleted: each is asked of KMS instead.
        book.file(&json!({"resourceType": "AWS::KMS::Key", "arn": KEY, "configuration": {"keyManager": "SOMEONE", "keyState": "Enabled"}}));
        book.file(&json!({"resourceType": "AWS::KMS::Key", "arn": KEY, "configuration": {"keyManager": "CUSTOMER"}}));
        book.file(&json!({"resourceType": "AWS::KMS::Key", "arn": KEY, "configurationItemStatus": "ResourceDeleted", "configuration": {"keyManager": "CUSTOMER", "keyState": "Enabled"}}));
        book.file(&json!({"resourceType": "AWS::KMS::Key", "arn": "not-an-arn", "configuration": {"keyManager": "CUSTOMER", "keyState": "Enabled"}}));
        assert!(book.is_empty());
    }

    #[test]
    fn an_unknown_recorded_state_is_kept_as_unknown_never_as_enabled() {
        let book = KeyBook::default();
        book.file(&json!({"resourceType": "AWS::KMS::Key", "arn": KEY, "configuration": {"keyManager": "CUSTOMER", "keyState": "Hibernating"}}));
        let facts = book.found(&lookup(KEY)).unwrap();
        assert_eq!(facts.state, KeyState::Other("Hibernating".to_owned()));
    }

    fn queries(scope: Scope) -> Queries {
        let conf = aws_sdk_config::Config::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_sdk_config::config::Region::new("eu-west-1"))
            .build();
        Queries {
            config: aws_sdk_config::Client::from_conf(conf),
            scope,
        }
    }

    #[test]
    fn aggregator_filters_are_quoted_conditions() {
        let q = queries(Scope::Aggregator {
            name: "org".to_owned(),
            accounts: vec!["111122223333".to_owned()],
            regions: vec!["eu-west-1".to_owned(), "o'dd".to_owned()],
        });
        assert_eq!(
            q.condition(&["AWS::Kinesis::Stream"], Some("111122223333")),
            "resourceType IN ('AWS::Kinesis::Stream') AND accountId = '111122223333' AND awsRegion IN ('eu-west-1', 'o''dd')"
        );
        assert_eq!(
            queries(Scope::Account).condition(&["AWS::KMS::Key", KMS_ALIAS], None),
            "resourceType IN ('AWS::KMS::Key', 'AWS::KMS::Alias')"
        );
    }

    fn scope() -> SweepScope {
        SweepScope {
            account_id: "111122223333".to_owned(),
            region: "eu-west-1".to_owned(),
            partition: Some(cmk_core::Partition::Aws),
            time: time::OffsetDateTime::UNIX_EPOCH,
            with_tags: true,
            key_changed: false,
        }
    }

    #[test]
    fn a_result_becomes_the_item_the_rule_judges() {
        let q = queries(Scope::Account);
        let result = json!({"resourceId": "orders", "resourceType": "AWS::Kinesis::Stream",
            "accountId": "444455556666", "awsRegion": "eu-west-2",
            "arn": "arn:aws:kinesis:eu-west-2:444455556666:stream/orders",
            "tags": [{"key": "team", "value": "data"}],
            "configuration": {"StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}}});
        let item = q
            .item(kinesis::RESOURCE_TYPE, result, &scope())
            .unwrap()
            .unwrap();
        assert_eq!(item.account_id, "444455556666");
        assert_eq!(item.region, "eu-west-2");
        assert_eq!(item.tags.get("team").map(String::as_str), Some("data"));
        assert_eq!(item.capture_time, time::OffsetDateTime::UNIX_EPOCH);
        assert_eq!(
            item.configuration.unwrap()["StreamEncryption"]["KeyId"],
            "alias/aws/kinesis"
        );
    }

    #[test]
    fn deleted_items_are_skipped_and_bad_ones_named() {
        let q = queries(Scope::Account);
        let gone = json!({"resourceId": "x", "configurationItemStatus": "ResourceDeleted"});
        assert!(
            q.item(kinesis::RESOURCE_TYPE, gone, &scope())
                .unwrap()
                .is_none()
        );
        let bad = json!({"resourceId": "x", "arn": "nope"});
        let err = q.item(kinesis::RESOURCE_TYPE, bad, &scope()).unwrap_err();
        assert!(err.contains("AWS::Kinesis::Stream x: arn"), "{err}");
        let other = json!({"resourceId": "x", "resourceType": "AWS::S3::Bucket"});
        assert!(
            q.item(kinesis::RESOURCE_TYPE, other, &scope())
                .unwrap_err()
                .contains("another type")
        );
        let no_id = json!({"arn": "arn:aws:kinesis:eu-west-1:111122223333:stream/a"});
        assert!(
            q.item(kinesis::RESOURCE_TYPE, no_id, &scope())
                .unwrap_err()
                .contains("without resourceId")
        );
    }
}
