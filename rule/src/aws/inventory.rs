//! [`ServiceInventory`]: the periodic sweep's view of the account, through the services' own
//! list/describe APIs (so it works without a configuration recorder). Each resource becomes a
//! [`ConfigItem`] in the configuration-item casing, so the very same resource modules judge it.
//!
//! Resource ids follow Config: the stream name, the table name, the secret ARN, the queue URL, the
//! topic ARN and the bucket name.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use cmk_core::event::ItemStatus;
use cmk_core::resources::{dynamodb, kinesis, s3, secretsmanager, sns, sqs};
use cmk_core::{Arn, ConfigItem};
use futures::{StreamExt, stream};
use serde_json::{Map, Value, json};

use super::rate::Rates;
use super::{error_code, source_error};
use crate::handler::{Inventory, NotEvaluated, Page, SourceError, SweepScope};

/// Page size asked of every list API (each allows at least 100).
const PAGE: i32 = 100;
/// Marks a Kinesis page token that is a stream name to start after, not a NextToken.
const START_AFTER: &str = "start-after:";
/// Describe calls in flight at once during a sweep. DynamoDB throttles control-plane calls at
/// 2,500 requests per second per account and Region, far above this; Kinesis'
/// DescribeStreamSummary (20 per second per account) is paced by [`Rates`], whatever is in flight.
const DESCRIBES_IN_FLIGHT: usize = 8;
/// The resource vanished between list and describe: nothing to evaluate.
const GONE: &str = "ResourceNotFoundException";

/// Kinesis, Secrets Manager, DynamoDB, SQS, SNS and S3 clients of the swept Region, and the pace of
/// their calls.
#[derive(Clone, Debug)]
pub struct ServiceInventory {
    /// Kinesis Data Streams.
    pub kinesis: aws_sdk_kinesis::Client,
    /// Secrets Manager.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// SNS.
    pub sns: aws_sdk_sns::Client,
    /// S3, addressed path-style when the endpoint is overridden (`AWS_ENDPOINT_URL`), as
    /// S3-compatible endpoints expect.
    pub s3: aws_sdk_s3::Client,
    /// Client-side rate limits per API ([`Rates::documented`] in the Lambda and the CLI).
    pub rates: Rates,
    /// Which secrets are described for their replicas, and this sweep's list of them.
    pub secret_replicas: SecretReplicas,
}

/// Environment variable choosing [`ReplicaLookup`]: `listed` (default) or `all`.
pub const SECRET_REPLICAS_VAR: &str = "CMK_SECRET_REPLICAS";

/// Which secrets a sweep describes (DescribeSecret) to read their replicas' keys: neither
/// ListSecrets nor Config's recorded item carries the replicas.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReplicaLookup {
    /// `listed`: the secrets ListSecrets' `primary-region` filter lists for the swept Region
    /// (one call per 100 of them), and any whose own entry names this Region as its primary.
    /// That the filter lists every replicated primary is documented, not verified against AWS.
    #[default]
    Listed,
    /// `all`: every secret this Region may be the primary of (its `PrimaryRegion` absent or
    /// this Region): one DescribeSecret per secret, relying on no filter.
    All,
}

impl ReplicaLookup {
    /// The lookup named by [`SECRET_REPLICAS_VAR`] (unset: [`ReplicaLookup::Listed`]).
    pub fn from_env() -> Result<ReplicaLookup, String> {
        match std::env::var(SECRET_REPLICAS_VAR) {
            Err(_) => Ok(ReplicaLookup::Listed),
            Ok(v) => match v.as_str() {
                "" | "listed" => Ok(ReplicaLookup::Listed),
                "all" => Ok(ReplicaLookup::All),
                other => Err(format!(
                    "{SECRET_REPLICAS_VAR}=`{other}`: expected `listed` or `all`"
                )),
            },
        }
    }
}

/// The [`ReplicaLookup`] of a sweep and, for `listed`, the secrets the filter listed (read once
/// per sweep, at the first secret that needs it). A clone keeps the lookup and lists afresh.
#[derive(Debug, Default)]
pub struct SecretReplicas {
    /// Which secrets are described.
    pub lookup: ReplicaLookup,
    /// Held across the listing, so describes running at once wait for one listing.
    listed: tokio::sync::Mutex<Option<Arc<HashSet<String>>>>,
}

impl Clone for SecretReplicas {
    fn clone(&self) -> SecretReplicas {
        SecretReplicas::new(self.lookup)
    }
}

impl SecretReplicas {
    /// A lookup with nothing listed yet.
    pub fn new(lookup: ReplicaLookup) -> SecretReplicas {
        SecretReplicas {
            lookup,
            listed: tokio::sync::Mutex::default(),
        }
    }

    /// Forgets the last sweep's list.
    pub async fn clear(&self) {
        *self.listed.lock().await = None;
    }
}

impl ServiceInventory {
    /// The inventory of `sdk`'s Region, paced at the documented rates.
    pub fn new(sdk: &aws_config::SdkConfig) -> ServiceInventory {
        ServiceInventory {
            kinesis: aws_sdk_kinesis::Client::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(sdk)
                    .force_path_style(sdk.endpoint_url().is_some())
                    .build(),
            ),
            rates: Rates::documented(),
            secret_replicas: SecretReplicas::default(),
        }
    }

    /// Whether the secret `arn` of the swept Region is described for its replicas;
    /// `primary` is the `PrimaryRegion` its listing or item gives, if any.
    pub(crate) async fn may_have_replicas(
        &self,
        region: &str,
        arn: &str,
        primary: Option<&str>,
    ) -> Result<bool, SourceError> {
        match primary {
            // A replica, listed in its own Region, has no replicas of its own.
            Some(p) if p != region => Ok(false),
            Some(_) => Ok(true),
            None => match self.secret_replicas.lookup {
                ReplicaLookup::All => Ok(true),
                ReplicaLookup::Listed => Ok(self.replicated(region).await?.contains(arn)),
            },
        }
    }

    /// This sweep's list of the secrets the `primary-region` filter names for `region`.
    async fn replicated(&self, region: &str) -> Result<Arc<HashSet<String>>, SourceError> {
        let mut slot = self.secret_replicas.listed.lock().await;
        if let Some(known) = &*slot {
            return Ok(known.clone());
        }
        let found = Arc::new(self.replicated_secrets(region).await?);
        *slot = Some(found.clone());
        Ok(found)
    }
}

fn fail<E>(
    operation: &'static str,
    err: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> SourceError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    source_error(operation, "", err)
}

/// The item of a resource read from its service's API; the ARN the API returned gives the
/// partition. `operation` is the call that returned it, named when the ARN is not an ARN.
fn item(
    operation: &'static str,
    resource_type: &str,
    resource_id: &str,
    arn: Option<&str>,
    scope: &SweepScope,
    tags: BTreeMap<String, String>,
    configuration: Value,
) -> Result<ConfigItem, SourceError> {
    let arn = arn
        .map(|text| {
            text.parse::<Arn>().map_err(|e| SourceError {
                operation,
                detail: format!("{resource_type} {resource_id}: {e}"),
                retryable: false,
            })
        })
        .transpose()?;
    Ok(ConfigItem {
        resource_type: resource_type.to_owned(),
        resource_id: resource_id.to_owned(),
        partition: arn.as_ref().map(|a| a.partition),
        arn,
        account_id: scope.account_id.clone(),
        region: scope.region.clone(),
        status: ItemStatus::Ok,
        capture_time: scope.time,
        state_id: None,
        tags,
        configuration: Some(configuration),
        supplementary: Map::new(),
    })
}

/// Adds each described resource to `page` in list order: its item; nothing for one that vanished
/// between list and describe; or a failure naming it.
fn add_described(
    page: &mut Page,
    resource_type: &str,
    described: Vec<(String, Result<Option<ConfigItem>, SourceError>)>,
) {
    for (name, described) in described {
        match described {
            Ok(Some(item)) => page.items.push(item),
            Ok(None) => {
                tracing::info!(resource_type, %name, "resource disappeared during the sweep")
            }
            Err(e) => page.failures.push(NotEvaluated {
                reason: format!("{resource_type} {name}: {e}"),
                retryable: e.retryable,
            }),
        }
    }
}

/// SQS's "the queue does not exist": the JSON protocol's error type, or the query protocol's
/// code that SQS also sends for compatibility
/// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html).
fn queue_gone(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("QueueDoesNotExist" | "AWS.SimpleQueueService.NonExistentQueue")
    )
}

fn time(t: Option<&DateTime>) -> Value {
    t.and_then(|t| t.fmt(Format::DateTime).ok())
        .map_or(Value::Null, Value::String)
}

impl ServiceInventory {
    async fn streams(
        &self,
        scope: &SweepScope,
        token: Option<String>,
    ) -> Result<Page, SourceError> {
        // Paginate with NextToken; fall back to ExclusiveStartStreamName when a response says
        // HasMoreStreams without a token (older API behaviour), so the sweep never stops early.
        let (next_token, start_after) = match token {
            Some(t) => match t.strip_prefix(START_AFTER) {
                Some(name) => (None, Some(name.to_owned())),
                None => (Some(t), None),
            },
            None => (None, None),
        };
        self.rates.acquire("kinesis:ListStreams").await;
        let list = self
            .kinesis
            .list_streams()
            .limit(PAGE)
            .set_next_token(next_token)
            .set_exclusive_start_stream_name(start_after)
            .send()
            .await
            .map_err(|e| fail("kinesis:ListStreams", &e))?;
        let next = match (list.has_more_streams(), list.next_token()) {
            (false, _) => None,
            (true, Some(t)) => Some(t.to_owned()),
            (true, None) => list
                .stream_names()
                .last()
                .map(|n| format!("{START_AFTER}{n}")),
        };
        let mut page = Page {
            next,
            ..Page::default()
        };
        // Independent round trips, a few in flight; the Kinesis quota is kept by the rate limit.
        let described: Vec<_> = stream::iter(list.stream_names().to_vec())
            .map(|name| async move {
                let described = self.stream(scope, &name).await;
                (name, described)
            })
            .buffered(DESCRIBES_IN_FLIGHT)
            .collect()
            .await;
        add_described(&mut page, kinesis::RESOURCE_TYPE, described);
        Ok(page)
    }

    async fn stream(
        &self,
        scope: &SweepScope,
        name: &str,
    ) -> Result<Option<ConfigItem>, SourceError> {
        self.rates.acquire("kinesis:DescribeStreamSummary").await;
        let summary = match self
            .kinesis
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some(GONE) => return Ok(None),
            Err(e) => return Err(fail("kinesis:DescribeStreamSummary", &e)),
        };
        let Some(s) = summary.stream_description_summary() else {
            return Ok(None);
        };
        let mut tags = BTreeMap::new();
        if scope.with_tags {
            let mut start: Option<String> = None;
            loop {
                self.rates.acquire("kinesis:ListTagsForStream").await;
                let out = self
                    .kinesis
                    .list_tags_for_stream()
                    .stream_name(name)
                    .set_exclusive_start_tag_key(start.take())
                    .send()
                    .await
                    .map_err(|e| fail("kinesis:ListTagsForStream", &e))?;
                for t in out.tags() {
                    tags.insert(t.key().to_owned(), t.value().unwrap_or_default().to_owned());
                }
                match out.tags().last() {
                    Some(last) if out.has_more_tags() => start = Some(last.key().to_owned()),
                    _ => break,
                }
            }
        }
        let configuration = json!({
            "Name": s.stream_name(),
            "Arn": s.stream_arn(),
            "StreamEncryption": {
                "EncryptionType": s.encryption_type().map(|t| t.as_str()),
                "KeyId": s.key_id(),
            },
        });
        Ok(Some(item(
            "kinesis:DescribeStreamSummary",
            kinesis::RESOURCE_TYPE,
            s.stream_name(),
            Some(s.stream_arn()),
            scope,
            tags,
            configuration,
        )?))
    }

    async fn secrets(
        &self,
        scope: &SweepScope,
        token: Option<String>,
    ) -> Result<Page, SourceError> {
        self.rates.acquire("secretsmanager:ListSecrets").await;
        let list = self
            .secrets
            .list_secrets()
            .max_results(PAGE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| fail("secretsmanager:ListSecrets", &e))?;
        let mut page = Page {
            next: list.next_token().map(str::to_owned),
            ..Page::default()
        };
        // ListSecrets carries each secret's own key but not its replicas: DescribeSecret of each
        // secret that may have replicas ([`ReplicaLookup`]) reads them.
        let listed: Vec<_> = list
            .secret_list()
            .iter()
            .filter_map(|s| match s.arn() {
                Some(arn) => Some((arn.to_owned(), s.clone())),
                None => {
                    page.failures.push(NotEvaluated {
                        reason: format!(
                            "{} {}: ListSecrets returned no ARN",
                            secretsmanager::RESOURCE_TYPE,
                            s.name().unwrap_or("?")
                        ),
                        retryable: false,
                    });
                    None
                }
            })
            .collect();
        let described: Vec<_> = stream::iter(listed)
            .map(|(arn, s)| async move {
                let item = self.secret(scope, &arn, &s).await;
                (arn, item)
            })
            .buffered(DESCRIBES_IN_FLIGHT)
            .collect()
            .await;
        add_described(&mut page, secretsmanager::RESOURCE_TYPE, described);
        Ok(page)
    }

    /// The item of one listed secret, with its replicas from DescribeSecret when it may have any;
    /// `None` when it vanished since the listing.
    async fn secret(
        &self,
        scope: &SweepScope,
        arn: &str,
        s: &aws_sdk_secretsmanager::types::SecretListEntry,
    ) -> Result<Option<ConfigItem>, SourceError> {
        let deleted = s.deleted_date().is_some();
        // A deleted secret is not judged.
        let mut replicas = Value::Null;
        if !deleted
            && self
                .may_have_replicas(&scope.region, arn, s.primary_region())
                .await?
        {
            match self.replication_status(arn).await? {
                Some(list) => replicas = list,
                None => return Ok(None),
            }
        }
        let tags = s
            .tags()
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                ))
            })
            .collect();
        let mut configuration = json!({
            "Name": s.name(),
            "ARN": arn,
            "KMSKeyId": s.kms_key_id(),
            "Deleted": deleted,
        });
        if !replicas.is_null() {
            configuration["ReplicationStatus"] = replicas;
        }
        item(
            "secretsmanager:ListSecrets",
            secretsmanager::RESOURCE_TYPE,
            arn,
            Some(arn),
            scope,
            tags,
            configuration,
        )
        .map(Some)
    }

    /// A secret's replicas as DescribeSecret reports them (`ReplicationStatus`, in the
    /// configuration item's casing); `None` when the secret vanished.
    pub(crate) async fn replication_status(&self, arn: &str) -> Result<Option<Value>, SourceError> {
        self.rates.acquire("secretsmanager:DescribeSecret").await;
        let out = match self.secrets.describe_secret().secret_id(arn).send().await {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some(GONE) => return Ok(None),
            Err(e) => return Err(fail("secretsmanager:DescribeSecret", &e)),
        };
        Ok(Some(
            out.replication_status()
                .iter()
                .map(|r| json!({"Region": r.region(), "KmsKeyId": r.kms_key_id(), "Status": r.status().map(|v| v.as_str())}))
                .collect(),
        ))
    }

    /// The ARNs of the secrets whose primary Region is `region`: ListSecrets with the
    /// `primary-region` filter, 100 per call
    /// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Filter.html). The
    /// filter is a prefix match, so a listed secret that names another Region as its primary is
    /// dropped; one that names none is kept, since the filter chose it (the emulator lists a
    /// replicated primary without its own `PrimaryRegion`).
    async fn replicated_secrets(&self, region: &str) -> Result<HashSet<String>, SourceError> {
        use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
        let filter = Filter::builder()
            .key(FilterNameStringType::PrimaryRegion)
            .values(region)
            .build();
        let mut found = HashSet::new();
        let mut token = None;
        loop {
            self.rates.acquire("secretsmanager:ListSecrets").await;
            let out = self
                .secrets
                .list_secrets()
                .filters(filter.clone())
                .max_results(PAGE)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| fail("secretsmanager:ListSecrets", &e))?;
            for s in out.secret_list() {
                if let Some(arn) = s.arn()
                    && s.primary_region().is_none_or(|p| p == region)
                {
                    found.insert(arn.to_owned());
                }
            }
            match out.next_token() {
                Some(t) => token = Some(t.to_owned()),
                None => return Ok(found),
            }
        }
    }

    async fn tables(&self, scope: &SweepScope, token: Option<String>) -> Result<Page, SourceError> {
        let list = self
            .dynamodb
            .list_tables()
            .limit(PAGE)
            .set_exclusive_start_table_name(token)
            .send()
            .await
            .map_err(|e| fail("dynamodb:ListTables", &e))?;
        let mut page = Page {
            next: list.last_evaluated_table_name().map(str::to_owned),
            ..Page::default()
        };
        // DescribeTable is one round trip per table and the calls are independent: a few in
        // flight at once, answers kept in list order.
        // Owned names: futures borrowing from `list` would not satisfy the `Send` bound of `page`.
        let described: Vec<_> = stream::iter(list.table_names().to_vec())
            .map(|name| async move {
                let described = self.table(scope, &name).await;
                (name, described)
            })
            .buffered(DESCRIBES_IN_FLIGHT)
            .collect()
            .await;
        add_described(&mut page, dynamodb::RESOURCE_TYPE, described);
        Ok(page)
    }

    async fn table(
        &self,
        scope: &SweepScope,
        name: &str,
    ) -> Result<Option<ConfigItem>, SourceError> {
        let out = match self.dynamodb.describe_table().table_name(name).send().await {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some(GONE) => return Ok(None),
            Err(e) => return Err(fail("dynamodb:DescribeTable", &e)),
        };
        let Some(t) = out.table() else {
            return Ok(None);
        };
        let arn = t.table_arn();
        let mut tags = BTreeMap::new();
        if let (true, Some(arn)) = (scope.with_tags, arn) {
            let mut next: Option<String> = None;
            loop {
                self.rates.acquire("dynamodb:ListTagsOfResource").await;
                let out = self
                    .dynamodb
                    .list_tags_of_resource()
                    .resource_arn(arn)
                    .set_next_token(next.take())
                    .send()
                    .await
                    .map_err(|e| fail("dynamodb:ListTagsOfResource", &e))?;
                for tag in out.tags() {
                    tags.insert(tag.key().to_owned(), tag.value().to_owned());
                }
                match out.next_token() {
                    Some(n) => next = Some(n.to_owned()),
                    None => break,
                }
            }
        }
        // DescribeTable's names mapped to the configuration item's lower-cased acronyms.
        let sse = t.sse_description().map(|s| {
            json!({
                "status": s.status().map(|v| v.as_str()),
                "ssetype": s.sse_type().map(|v| v.as_str()),
                "kmsmasterKeyArn": s.kms_master_key_arn(),
                "inaccessibleEncryptionDateTime": time(s.inaccessible_encryption_date_time()),
            })
        });
        let replicas: Vec<Value> = t
            .replicas()
            .iter()
            .map(|r| {
                json!({
                    "regionName": r.region_name(),
                    "kmsmasterKeyId": r.kms_master_key_id(),
                    "replicaStatus": r.replica_status().map(|v| v.as_str()),
                })
            })
            .collect();
        let configuration = json!({
            "tableName": t.table_name(),
            "tableArn": arn,
            "tableStatus": t.table_status().map(|v| v.as_str()),
            "ssedescription": sse,
            "replicas": replicas,
        });
        Ok(Some(item(
            "dynamodb:DescribeTable",
            dynamodb::RESOURCE_TYPE,
            name,
            arn,
            scope,
            tags,
            configuration,
        )?))
    }

    async fn queues(&self, scope: &SweepScope, token: Option<String>) -> Result<Page, SourceError> {
        let list = self
            .sqs
            .list_queues()
            .max_results(PAGE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| fail("sqs:ListQueues", &e))?;
        let mut page = Page {
            next: list.next_token().map(str::to_owned),
            ..Page::default()
        };
        let described: Vec<_> = stream::iter(list.queue_urls().to_vec())
            .map(|url| async move {
                let described = self.queue(scope, &url).await;
                (url, described)
            })
            .buffered(DESCRIBES_IN_FLIGHT)
            .collect()
            .await;
        add_described(&mut page, sqs::RESOURCE_TYPE, described);
        Ok(page)
    }

    /// One queue's item from GetQueueAttributes (only the attributes the rule reads); `None` when
    /// the queue was deleted since the listing.
    async fn queue(
        &self,
        scope: &SweepScope,
        url: &str,
    ) -> Result<Option<ConfigItem>, SourceError> {
        use aws_sdk_sqs::types::QueueAttributeName as Name;
        let out = match self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(Name::QueueArn)
            .attribute_names(Name::KmsMasterKeyId)
            .attribute_names(Name::SqsManagedSseEnabled)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if queue_gone(error_code(&e)) => return Ok(None),
            Err(e) => return Err(fail("sqs:GetQueueAttributes", &e)),
        };
        let attribute = |name: &Name| out.attributes().and_then(|a| a.get(name)).cloned();
        let arn = attribute(&Name::QueueArn);
        let mut tags = BTreeMap::new();
        if scope.with_tags {
            // ListQueueTags returns every tag in one answer (a queue has at most 50).
            match self.sqs.list_queue_tags().queue_url(url).send().await {
                Ok(out) => tags.extend(
                    out.tags()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.clone(), v.clone())),
                ),
                Err(e) if queue_gone(error_code(&e)) => return Ok(None),
                Err(e) => return Err(fail("sqs:ListQueueTags", &e)),
            }
        }
        let configuration = json!({
            "QueueUrl": url,
            "QueueArn": arn,
            "QueueName": url.rsplit('/').next(),
            "KmsMasterKeyId": attribute(&Name::KmsMasterKeyId),
            "SqsManagedSseEnabled": attribute(&Name::SqsManagedSseEnabled),
        });
        Ok(Some(item(
            "sqs:GetQueueAttributes",
            sqs::RESOURCE_TYPE,
            url,
            arn.as_deref(),
            scope,
            tags,
            configuration,
        )?))
    }

    async fn topics(&self, scope: &SweepScope, token: Option<String>) -> Result<Page, SourceError> {
        // ListTopics returns up to 100 topics per page and takes no page size.
        let list = self
            .sns
            .list_topics()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| fail("sns:ListTopics", &e))?;
        let mut page = Page {
            next: list.next_token().map(str::to_owned),
            ..Page::default()
        };
        let arns: Vec<String> = list
            .topics()
            .iter()
            .filter_map(|t| t.topic_arn().map(str::to_owned))
            .collect();
        let described: Vec<_> = stream::iter(arns)
            .map(|arn| async move {
                let described = self.topic(scope, &arn).await;
                (arn, described)
            })
            .buffered(DESCRIBES_IN_FLIGHT)
            .collect()
            .await;
        add_described(&mut page, sns::RESOURCE_TYPE, described);
        Ok(page)
    }

    /// One topic's item from GetTopicAttributes; `None` when the topic was deleted since the
    /// listing.
    async fn topic(
        &self,
        scope: &SweepScope,
        arn: &str,
    ) -> Result<Option<ConfigItem>, SourceError> {
        const NOT_FOUND: &str = "NotFound";
        let out = match self.sns.get_topic_attributes().topic_arn(arn).send().await {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some(NOT_FOUND) => return Ok(None),
            Err(e) => return Err(fail("sns:GetTopicAttributes", &e)),
        };
        let attribute = |name: &str| out.attributes().and_then(|a| a.get(name)).cloned();
        let mut tags = BTreeMap::new();
        if scope.with_tags {
            // ListTagsForResource returns every tag of a topic (at most 50) in one answer.
            match self
                .sns
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
            {
                Ok(out) => tags.extend(
                    out.tags()
                        .iter()
                        .map(|t| (t.key().to_owned(), t.value().to_owned())),
                ),
                Err(e) if error_code(&e) == Some("ResourceNotFound") => return Ok(None),
                Err(e) => return Err(fail("sns:ListTagsForResource", &e)),
            }
        }
        let configuration = json!({
            "TopicArn": arn,
            "KmsMasterKeyId": attribute("KmsMasterKeyId"),
        });
        Ok(Some(item(
            "sns:GetTopicAttributes",
            sns::RESOURCE_TYPE,
            arn,
            Some(arn),
            scope,
            tags,
            configuration,
        )?))
    }

    async fn buckets(
        &self,
        scope: &SweepScope,
        token: Option<String>,
    ) -> Result<Page, SourceError> {
        // ListBuckets lists the account's buckets of every Region; BucketRegion keeps those of
        // the swept Region, which the Region's client can read without a redirect
        // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html).
        let list = self
            .s3
            .list_buckets()
            .bucket_region(&scope.region)
            .max_buckets(PAGE)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| fail("s3:ListBuckets", &e))?;
        let mut page = Page {
            next: list.continuation_token().map(str::to_owned),
            ..Page::default()
        };
        let names: Vec<String> = list
            .buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_owned))
            .collect();
        let described: Vec<_> = stream::iter(names)
            .map(|name| async move {
                let described = self.bucket(scope, &name).await;
                (name, described)
            })
            .buffered(DESCRIBES_IN_FLIGHT)
            .collect()
            .await;
        add_described(&mut page, s3::RESOURCE_TYPE, described);
        Ok(page)
    }

    /// One bucket's item: GetBucketEncryption's configuration in Config's casing, under
    /// `supplementaryConfiguration`, where Config records it; `None` when the bucket was deleted
    /// since the listing.
    async fn bucket(
        &self,
        scope: &SweepScope,
        name: &str,
    ) -> Result<Option<ConfigItem>, SourceError> {
        const GONE: &str = "NoSuchBucket";
        let rules = match self.s3.get_bucket_encryption().bucket(name).send().await {
            Ok(out) => out
                .server_side_encryption_configuration()
                .map(|c| c.rules().iter().map(encryption_rule).collect::<Vec<_>>()),
            // A bucket without default encryption (before S3 applied SSE-S3 to every bucket).
            Err(e) if error_code(&e) == Some("ServerSideEncryptionConfigurationNotFoundError") => {
                None
            }
            Err(e) if error_code(&e) == Some(GONE) => return Ok(None),
            Err(e) => return Err(fail("s3:GetBucketEncryption", &e)),
        };
        let mut tags = BTreeMap::new();
        if scope.with_tags {
            match self.s3.get_bucket_tagging().bucket(name).send().await {
                Ok(out) => tags.extend(
                    out.tag_set()
                        .iter()
                        .map(|t| (t.key().to_owned(), t.value().to_owned())),
                ),
                Err(e) if error_code(&e) == Some("NoSuchTagSet") => {}
                Err(e) if error_code(&e) == Some(GONE) => return Ok(None),
                Err(e) => return Err(fail("s3:GetBucketTagging", &e)),
            }
        }
        // A bucket's ARN names neither Region nor account; the partition is the account's.
        let arn = scope.partition.map(|p| format!("arn:{p}:s3:::{name}"));
        let mut item = item(
            "s3:ListBuckets",
            s3::RESOURCE_TYPE,
            name,
            arn.as_deref(),
            scope,
            tags,
            json!({"name": name}),
        )?;
        if let Some(rules) = rules {
            item.supplementary
                .insert(s3::SUPPLEMENTARY.to_owned(), json!({ "rules": rules }));
        }
        Ok(Some(item))
    }
}

/// One rule of GetBucketEncryption in Config's casing (aws-config-resource-schema's names).
fn encryption_rule(rule: &aws_sdk_s3::types::ServerSideEncryptionRule) -> Value {
    let by_default = rule.apply_server_side_encryption_by_default().map(|d| {
        json!({
            "sseAlgorithm": d.sse_algorithm().as_str(),
            "kmsMasterKeyID": d.kms_master_key_id(),
        })
    });
    json!({
        "applyServerSideEncryptionByDefault": by_default,
        "bucketKeyEnabled": rule.bucket_key_enabled(),
    })
}

impl Inventory for ServiceInventory {
    async fn start(&self, _scope: &SweepScope) {
        self.secret_replicas.clear().await;
    }

    async fn page(
        &self,
        resource_type: &'static str,
        scope: &SweepScope,
        token: Option<String>,
    ) -> Result<Page, SourceError> {
        match resource_type {
            kinesis::RESOURCE_TYPE => self.streams(scope, token).await,
            secretsmanager::RESOURCE_TYPE => self.secrets(scope, token).await,
            dynamodb::RESOURCE_TYPE => self.tables(scope, token).await,
            sqs::RESOURCE_TYPE => self.queues(scope, token).await,
            sns::RESOURCE_TYPE => self.topics(scope, token).await,
            s3::RESOURCE_TYPE => self.buckets(scope, token).await,
            other => Err(SourceError {
                operation: "sweep",
                detail: format!("no inventory for {other}"),
                retryable: false,
            }),
        }
    }
}
