//! Config event → core → PutEvaluations. Holds no compliance logic: verdicts come from
//! [`cmk_core::evaluate`]; this module only decides what to evaluate and how to report it.
//!
//! Guarantees, whatever the message type:
//! - a malformed event or invalid rule parameters put nothing and fail the invocation;
//! - a resource whose key cannot be classified gets no evaluation, every other resource is put,
//!   then the invocation fails naming the resource and the key;
//! - evaluations go out in batches of at most 100; the sink resends `FailedEvaluations` (through
//!   the SDK's retries) and what it still reports failed is named in the report.

use std::future::Future;

use cmk_core::event::{Freshness, ItemSummary, StateId};
use cmk_core::key::{Described, KeyArn, KeyLookup, ResolveError, Reuse, Rotation};
use cmk_core::resources::SUPPORTED;
use cmk_core::verdict;
use cmk_core::{
    Compliance, ConfigEvent, ConfigItem, EvalError, Evaluation, EventError, InvokingEvent,
    KeyResolver, ParamError, RuleParams, evaluate,
};
use time::OffsetDateTime;

pub use cmk_core::resources::KMS_KEY;

/// PutEvaluations accepts at most this many evaluations per call.
pub const BATCH_LIMIT: usize = 100;

/// Fetches the full configuration item of an oversized notification.
pub trait ItemSource: Sync {
    /// The latest configuration item of the summarised resource.
    fn latest(
        &self,
        summary: &ItemSummary,
    ) -> impl Future<Output = Result<ConfigItem, SourceError>> + Send;
}

/// One page of resources of one type, for the periodic sweep.
#[derive(Debug, Default)]
pub struct Page {
    /// Items built from the service's own list/describe APIs.
    pub items: Vec<ConfigItem>,
    /// Resources listed but not described: no evaluation for them.
    pub failures: Vec<NotEvaluated>,
    /// Token for the next page; `None` at the end.
    pub next: Option<String>,
}

/// What the sweep needs to enumerate resources of a type.
#[derive(Clone, Debug)]
pub struct SweepScope {
    /// Account being swept.
    pub account_id: String,
    /// Region being swept.
    pub region: String,
    /// The swept account's partition (the rule's ARN's), for resources whose service API names
    /// no ARN of them (S3 buckets); `None` when unknown, and then never guessed.
    pub partition: Option<cmk_core::Partition>,
    /// `OrderingTimestamp` and capture time of every item.
    pub time: OffsetDateTime,
    /// Whether tags are needed (only when an `exemptTag` is configured).
    pub with_tags: bool,
    /// A key changed: every key's facts come from KMS, never from a recording that may lag
    /// the change.
    pub key_changed: bool,
}

/// Enumerates the resources of a sweep: the services' own APIs (works without a configuration
/// recorder) or Config's recorded inventory.
pub trait Inventory: Sync {
    /// Called once at the start of every sweep, before the first page: an inventory that decides
    /// per sweep where each type comes from (is it recorded?) decides here.
    fn start(&self, _scope: &SweepScope) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Whether a resource of `resource_type` this sweep did not list is gone (default: yes). An
    /// inventory that may lag the account (Config's recording) says no, and the sweep then
    /// retires no stale result of that type: Config's own ResourceDeleted change notification,
    /// judged NOT_APPLICABLE, does.
    fn lists_everything(&self, _resource_type: &str) -> bool {
        true
    }

    /// One page of resources of `resource_type`.
    fn page(
        &self,
        resource_type: &'static str,
        scope: &SweepScope,
        token: Option<String>,
    ) -> impl Future<Output = Result<Page, SourceError>> + Send;
}

/// Where evaluations go: `config:PutEvaluations`, or nowhere for a dry evaluation.
pub trait EvaluationSink: Sync {
    /// Whether this sink puts anything (a result token is needed only then).
    fn puts(&self) -> bool {
        true
    }

    /// Puts one batch (≤ 100), resending what Config reports as failed as the sink sees fit;
    /// returns the evaluations that still failed.
    fn put(
        &self,
        batch: &[Evaluation],
        result_token: &str,
        test_mode: bool,
    ) -> impl Future<Output = Result<Vec<Evaluation>, SourceError>> + Send;

    /// The resources (type, id) that hold a COMPLIANT or NON_COMPLIANT result of `rule_name`
    /// (`config:GetComplianceDetailsByConfigRule`); none for a sink that records nothing.
    fn judged(
        &self,
        _rule_name: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>, SourceError>> + Send {
        async { Ok(Vec::new()) }
    }
}

/// `None` puts nothing: `guardrails evaluate` without `--put`.
impl<P: EvaluationSink> EvaluationSink for Option<P> {
    fn puts(&self) -> bool {
        self.as_ref().is_some_and(P::puts)
    }

    async fn put(
        &self,
        batch: &[Evaluation],
        result_token: &str,
        test_mode: bool,
    ) -> Result<Vec<Evaluation>, SourceError> {
        match self {
            Some(sink) => sink.put(batch, result_token, test_mode).await,
            None => Ok(Vec::new()),
        }
    }

    async fn judged(&self, rule_name: &str) -> Result<Vec<(String, String)>, SourceError> {
        match self {
            Some(sink) => sink.judged(rule_name).await,
            None => Ok(Vec::new()),
        }
    }
}

/// An AWS call that failed (after the SDK's own retries).
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {detail}")]
pub struct SourceError {
    /// `config:GetResourceConfigHistory`, `kinesis:ListStreams`, ...
    pub operation: &'static str,
    /// What went wrong, with the resource when there is one.
    pub detail: String,
    /// Whether a later retry may succeed.
    pub retryable: bool,
}

/// A resource that got no evaluation, named with the reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct NotEvaluated {
    /// Resource type and id, and why.
    pub reason: String,
    /// Whether a later invocation may succeed (throttling) or not (a malformed item).
    pub retryable: bool,
}

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event does not decode; nothing was put.
    #[error("malformed Config event: {0}")]
    Event(#[from] EventError),
    /// A rule parameter is invalid; nothing was put.
    #[error("invalid rule parameters: {0}")]
    Params(#[from] ParamError),
    /// `resultToken` is missing and evaluations were to be put.
    #[error("malformed Config event: `resultToken` is missing")]
    NoResultToken,
    /// Fetching the oversized item failed; nothing was put.
    #[error("{0}")]
    Fetch(SourceError),
    /// Some resources got no evaluation; the others were put.
    #[error("{} resource(s) not evaluated: {}", .0.len(), summarise(.0))]
    Incomplete(Vec<NotEvaluated>),
    /// The member account's execution role could not be assumed; nothing was put anywhere.
    #[error("cannot evaluate account {account}: sts:AssumeRole of {role_arn} failed: {}", .source.detail)]
    Member {
        /// The member account the event came from.
        account: String,
        /// The role the function tried to assume there.
        role_arn: String,
        /// The failed call.
        source: SourceError,
    },
}

/// Longest text of failures in the invocation's error (Lambda keeps the whole message; Config's
/// console and the logs need the first reasons, not thousands). Each failure is also logged on
/// its own JSON line when it happens.
pub const ERROR_TEXT_LIMIT: usize = 3_800;

fn show(state: Option<&StateId>) -> &str {
    state.map_or("unknown", StateId::as_str)
}

/// The first failures that fit [`ERROR_TEXT_LIMIT`], then how many more there are.
fn summarise(failures: &[NotEvaluated]) -> String {
    let mut text = String::new();
    for (shown, f) in failures.iter().enumerate() {
        let separator = if shown == 0 { "" } else { "; " };
        let rest = failures.len() - shown;
        // Room for this reason and, should more follow, the closing count.
        let tail = if rest > 1 { 40 } else { 0 };
        if text.len() + separator.len() + f.reason.len() + tail > ERROR_TEXT_LIMIT {
            text.push_str(&format!("{separator}… and {rest} more (one log line each)"));
            return text;
        }
        text.push_str(separator);
        text.push_str(&f.reason);
    }
    text
}

impl HandlerError {
    /// Whether Lambda's retry of the invocation may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            HandlerError::Fetch(e) => e.retryable,
            HandlerError::Incomplete(failures) => failures.iter().any(|f| f.retryable),
            HandlerError::Member { source, .. } => source.retryable,
            _ => false,
        }
    }

    /// A short, stable error type for Lambda's diagnostic.
    pub fn error_type(&self) -> &'static str {
        match self {
            HandlerError::Event(_) | HandlerError::NoResultToken => "MalformedEvent",
            HandlerError::Params(_) => "InvalidParameterValueException",
            HandlerError::Fetch(_) => "FetchFailed",
            HandlerError::Incomplete(_) => "ResourcesNotEvaluated",
            HandlerError::Member { .. } => "MemberRoleNotAssumed",
        }
    }
}

/// One evaluation as it is made, with the account and Region of its resource.
#[derive(Clone, Debug)]
pub struct Judged {
    /// The resource's account.
    pub account_id: String,
    /// The resource's Region.
    pub region: String,
    /// The KMS keys the verdict resolved, by key ARN, the resource's own first (empty when no key
    /// was looked up: unencrypted, a service default, or `alias/aws/...` by name).
    pub keys: Vec<String>,
    /// The evaluation, as it is put.
    pub evaluation: Evaluation,
}

/// How the handler reports, and until when it may sweep.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Keep every evaluation in the [`Report`] (tests and small runs; memory grows with N).
    pub collect: bool,
    /// Stop sweeping at this instant (the Lambda deadline minus a reserve for the last puts):
    /// what was evaluated is put, the rest is reported as not evaluated (retryable).
    pub stop_at: Option<std::time::Instant>,
    /// Send every evaluation here as it is made. The channel is bounded, so a slow reader slows
    /// the sweep instead of buffering it: the CLI prints a sweep of any size in flat memory.
    pub stream: Option<tokio::sync::mpsc::Sender<Judged>>,
}

impl Options {
    /// Options keeping every evaluation in the report.
    pub fn collecting() -> Options {
        Options {
            collect: true,
            ..Options::default()
        }
    }

    /// Options sending every evaluation to `stream` as it is made, keeping none.
    pub fn streaming(stream: tokio::sync::mpsc::Sender<Judged>) -> Options {
        Options {
            stream: Some(stream),
            ..Options::default()
        }
    }
}

/// Where a resource is: its account and Region.
#[derive(Clone, Copy, Debug)]
struct Place<'a> {
    account: &'a str,
    region: &'a str,
    keys: &'a [KeyArn],
}

impl<'a> Place<'a> {
    fn of(item: &'a ConfigItem) -> Place<'a> {
        Place {
            account: &item.account_id,
            region: &item.region,
            keys: &[],
        }
    }

    fn swept(scope: &'a SweepScope) -> Place<'a> {
        Place {
            account: &scope.account_id,
            region: &scope.region,
            keys: &[],
        }
    }
}

/// What an invocation did.
#[derive(Debug, Default)]
pub struct Report {
    /// Evaluations determined (all of them when [`Options::collect`], else empty).
    pub evaluations: Vec<Evaluation>,
    /// Evaluations sent and accepted by the sink.
    pub put: usize,
    /// Count of NON_COMPLIANT verdicts.
    pub non_compliant: usize,
    /// Resources that got no evaluation, each named with the reason.
    pub failures: Vec<NotEvaluated>,
}

impl Report {
    /// Turns recorded failures into the invocation's error.
    pub fn into_result(self) -> Result<Report, Box<Failed>> {
        if self.failures.is_empty() {
            Ok(self)
        } else {
            let error = HandlerError::Incomplete(self.failures.clone());
            Err(Box::new(Failed {
                report: self,
                error,
            }))
        }
    }
}

/// A failed invocation: the error, and what was done before it (evaluations determined and put).
#[derive(Debug)]
pub struct Failed {
    /// What was evaluated and put despite the failure.
    pub report: Report,
    /// Why the invocation failed.
    pub error: HandlerError,
}

impl Failed {
    /// A failure before anything was evaluated or put.
    pub fn early(error: HandlerError) -> Box<Failed> {
        Box::new(Failed {
            report: Report::default(),
            error,
        })
    }
}

/// The rule: the core plus the four AWS questions. Built once per container.
#[derive(Debug)]
pub struct Handler<K, S, I, P> {
    /// Answers "who manages this key".
    pub keys: K,
    /// Fetches oversized items.
    pub items: S,
    /// Enumerates resources for the sweep.
    pub inventory: I,
    /// Puts evaluations.
    pub sink: P,
    /// Region of the SDK configuration, swept when the rule ARN names none.
    pub region: String,
}

impl<K, S, I, P> Handler<K, S, I, P>
where
    K: KeyResolver,
    S: ItemSource,
    I: Inventory,
    P: EvaluationSink,
{
    /// Handles one Config event from its raw JSON.
    pub async fn handle_json(
        &self,
        event: serde_json::Value,
        options: Options,
    ) -> Result<Report, Box<Failed>> {
        let event = ConfigEvent::from_value(event).map_err(|e| Failed::early(e.into()))?;
        self.handle(&event, options).await
    }

    /// Handles one decoded Config event. On failure the report still holds what was put.
    pub async fn handle(
        &self,
        event: &ConfigEvent,
        options: Options,
    ) -> Result<Report, Box<Failed>> {
        let fail = Failed::early;
        // Parameters and the invoking event are validated before anything is evaluated or put.
        let params =
            RuleParams::parse(event.rule_parameters.as_deref()).map_err(|e| fail(e.into()))?;
        let invoking = event.invoking_event().map_err(|e| fail(e.into()))?;
        let rule_arn = event.rule_arn().map_err(|e| fail(e.into()))?;
        let token = event.result_token.clone().unwrap_or_default();
        let mut run = Run {
            sink: &self.sink,
            token,
            test_mode: event.is_test_mode(),
            options,
            batch: Vec::with_capacity(BATCH_LIMIT),
            report: Report::default(),
            swept: None,
        };
        if self.sink.puts()
            && run.token.is_empty()
            && !matches!(invoking, InvokingEvent::SnapshotDelivered)
        {
            return Err(fail(HandlerError::NoResultToken));
        }
        // A sweep or a key's re-evaluation asks KMS afresh; one resource's change may reuse a
        // key's facts from a recent invocation.
        self.keys.start_invocation(match &invoking {
            InvokingEvent::Change { item } if item.resource_type != KMS_KEY => Reuse::Recent,
            InvokingEvent::Oversized { summary } if summary.resource_type != KMS_KEY => {
                Reuse::Recent
            }
            _ => Reuse::Fresh,
        });
        match invoking {
            InvokingEvent::Change { item } if item.resource_type == KMS_KEY => {
                self.key_changed(&mut run, &item, event.event_left_scope, &params)
                    .await;
            }
            InvokingEvent::Change { item } => {
                let at = item.capture_time;
                self.one(&mut run, &item, event.event_left_scope, &params, at)
                    .await;
            }
            InvokingEvent::Oversized { summary } => {
                // The summary's capture time orders the evaluation, as for a change notification.
                let at = summary.capture_time;
                if let Some(v) = verdict::from_summary(&summary, event.event_left_scope) {
                    let place = Place {
                        account: &summary.account_id,
                        region: &summary.region,
                        keys: &[],
                    };
                    run.add(
                        v.into_evaluation_for(&summary.resource_type, &summary.resource_id, at),
                        place,
                    )
                    .await;
                } else {
                    let mut item = self
                        .items
                        .latest(&summary)
                        .await
                        .map_err(|e| fail(HandlerError::Fetch(e)))?;
                    if item.partition.is_none() {
                        item.partition = rule_arn.as_ref().map(|arn| arn.partition);
                    }
                    let at = match summary.freshness(&item) {
                        Freshness::Same => at,
                        // The resource changed again: judge the newer item at its own time, so
                        // a later notification for that change orders after this evaluation.
                        Freshness::Newer => item.capture_time,
                        Freshness::Older => {
                            // History has not caught up: judging the older item would be a guess.
                            return Err(fail(HandlerError::Fetch(SourceError {
                                operation: "config:GetResourceConfigHistory",
                                detail: format!(
                                    "{} {}: latest item (state {}, captured {}) predates the notification (state {}, captured {}); history not updated yet",
                                    summary.resource_type,
                                    summary.resource_id,
                                    show(item.state_id.as_ref()),
                                    item.capture_time,
                                    show(summary.state_id.as_ref()),
                                    summary.capture_time,
                                ),
                                retryable: true,
                            })));
                        }
                    };
                    if item.resource_type == KMS_KEY {
                        self.key_changed(&mut run, &item, false, &params).await;
                    } else {
                        self.one(&mut run, &item, false, &params, at).await;
                    }
                }
            }
            InvokingEvent::Scheduled {
                account_id,
                notification_time,
            } => {
                // The inventory's clients are bound to the SDK's Region; the rule's ARN only helps
                // when the SDK has none configured.
                let region = if self.region.is_empty() {
                    rule_arn
                        .as_ref()
                        .map(|arn| arn.region().to_owned())
                        .unwrap_or_default()
                } else {
                    self.region.clone()
                };
                let scope = SweepScope {
                    account_id,
                    region,
                    partition: rule_arn.as_ref().map(|arn| arn.partition),
                    time: notification_time,
                    with_tags: params.exempt_tag.is_some(),
                    key_changed: false,
                };
                // Only a sink that puts has stale results to clean up; the CLI keeps no set.
                if self.sink.puts() {
                    run.swept = Some(std::collections::HashSet::new());
                }
                self.sweep(&mut run, &scope, &params, None).await;
                if let Some(rule) = event.config_rule_name.as_deref() {
                    self.vanished(&mut run, rule, &scope).await;
                }
            }
            InvokingEvent::SnapshotDelivered => {
                tracing::info!(
                    "ignoring ConfigurationSnapshotDeliveryCompleted: subscribe the rule to ScheduledNotification for periodic sweeps"
                );
            }
        }
        run.flush().await;
        run.report.into_result()
    }

    async fn one(
        &self,
        run: &mut Run<'_, P>,
        item: &ConfigItem,
        left_scope: bool,
        params: &RuleParams,
        at: OffsetDateTime,
    ) {
        let keys = Recording {
            inner: &self.keys,
            seen: std::sync::Mutex::default(),
        };
        let verdict = if left_scope {
            Ok(verdict::left_scope())
        } else {
            evaluate(item, params, &keys).await
        };
        match verdict {
            Ok(v) => {
                let seen = keys.into_seen();
                let place = Place {
                    keys: &seen,
                    ..Place::of(item)
                };
                run.add(v.into_evaluation(item, at), place).await;
            }
            Err(e) => run.failed(item, &e),
        }
    }

    /// After a complete sweep: every resource that still holds a verdict of this rule but was not
    /// found any more gets NOT_APPLICABLE, which makes Config drop the stale result. Skipped when
    /// the sweep missed anything (a failure, the deadline): absent is then not the same as gone.
    async fn vanished(&self, run: &mut Run<'_, P>, rule: &str, scope: &SweepScope) {
        let at = scope.time;
        let Some(swept) = run.swept.take() else {
            return;
        };
        if !run.report.failures.is_empty() || !self.sink.puts() || run.test_mode {
            return;
        }
        // This sweep's verdicts first, so the results read back are at least as new as them.
        run.flush().await;
        if !run.report.failures.is_empty() {
            return;
        }
        let judged = match self.sink.judged(rule).await {
            Ok(judged) => judged,
            Err(e) => {
                tracing::error!(error = %e, "stale results not cleaned up");
                run.report.failures.push(NotEvaluated {
                    reason: format!("stale results of {rule} not cleaned up: {e}"),
                    retryable: e.retryable,
                });
                return;
            }
        };
        for (resource_type, resource_id) in judged {
            let ours = SUPPORTED.contains(&resource_type.as_str())
                && self.inventory.lists_everything(&resource_type);
            if ours && !swept.contains(&(resource_type.clone(), resource_id.clone())) {
                let evaluation =
                    verdict::vanished().into_evaluation_for(&resource_type, &resource_id, at);
                run.add(evaluation, Place::swept(scope)).await;
            }
        }
    }

    /// A key changed (disabled, scheduled for deletion, re-enabled, rotation turned off, ...):
    /// the key itself is NOT_APPLICABLE, and every resource of its account and Region that uses
    /// it is evaluated again with fresh key facts, at the key change's capture time.
    async fn key_changed(
        &self,
        run: &mut Run<'_, P>,
        item: &ConfigItem,
        left_scope: bool,
        params: &RuleParams,
    ) {
        let verdict = if left_scope {
            verdict::left_scope()
        } else {
            verdict::key_not_judged()
        };
        run.add(
            verdict.into_evaluation(item, item.capture_time),
            Place::of(item),
        )
        .await;
        if !self.region.is_empty() && item.region != self.region {
            // The inventory's clients are bound to the function's Region; Config only sends a
            // rule the changes of its own Region, so this is a misrouted event.
            run.report.failures.push(NotEvaluated {
                reason: format!(
                    "{KMS_KEY} {} is in {}, this function sweeps {}: resources using it not re-evaluated",
                    item.resource_id, item.region, self.region
                ),
                retryable: false,
            });
            return;
        }
        // The key's ARN: the item's, or its id (a key's resource id) in the item's partition.
        let key_arn = match (&item.arn, item.scope()) {
            (Some(arn), _) => KeyArn::parse(&arn.to_string()),
            // Parsed again to check that the resource id is a key id.
            (None, Some(scope)) => {
                KeyArn::parse(&KeyArn::new(&scope, item.resource_id.as_str()).to_string())
            }
            (None, None) => Err(cmk_core::key::KeyRefError {
                value: item.resource_id.clone(),
                problem: "the item has no ARN and the event no configRuleArn: the partition is unknown",
            }),
        };
        let key_arn = match key_arn {
            Ok(arn) => arn,
            Err(e) => {
                run.report.failures.push(NotEvaluated {
                    reason: format!(
                        "{KMS_KEY} {}: {e}; resources using it not re-evaluated",
                        item.resource_id
                    ),
                    retryable: false,
                });
                return;
            }
        };
        let scope = SweepScope {
            account_id: item.account_id.clone(),
            region: item.region.clone(),
            partition: item.partition,
            time: item.capture_time,
            with_tags: params.exempt_tag.is_some(),
            key_changed: true,
        };
        self.sweep(run, &scope, params, Some(&key_arn)).await;
    }

    /// Evaluates `item` and reports it only when one of its key lookups was `key_arn`.
    async fn one_using(
        &self,
        run: &mut Run<'_, P>,
        item: &ConfigItem,
        params: &RuleParams,
        at: OffsetDateTime,
        key_arn: &KeyArn,
    ) {
        let keys = Recording {
            inner: &self.keys,
            seen: std::sync::Mutex::default(),
        };
        let verdict = evaluate(item, params, &keys).await;
        if !keys.saw(key_arn) {
            return; // not this key's resource: its verdict is the sweep's business
        }
        match verdict {
            Ok(v) => {
                let seen = keys.into_seen();
                let place = Place {
                    keys: &seen,
                    ..Place::of(item)
                };
                run.add(v.into_evaluation(item, at), place).await;
            }
            Err(e) => run.failed(item, &e),
        }
    }

    async fn sweep(
        &self,
        run: &mut Run<'_, P>,
        scope: &SweepScope,
        params: &RuleParams,
        only_key: Option<&KeyArn>,
    ) {
        let out_of_time = |run: &Run<'_, P>| {
            run.options
                .stop_at
                .is_some_and(|t| std::time::Instant::now() >= t)
        };
        self.inventory.start(scope).await;
        for resource_type in SUPPORTED {
            let mut token = None;
            loop {
                if out_of_time(run) {
                    return run.stopped(resource_type, &scope.region);
                }
                let page = match self
                    .inventory
                    .page(resource_type, scope, token.take())
                    .await
                {
                    Ok(page) => page,
                    Err(e) => {
                        tracing::error!(resource_type, error = %e, "sweep enumeration failed");
                        run.report.failures.push(NotEvaluated {
                            reason: format!("{resource_type} in {}: {e}", scope.region),
                            retryable: e.retryable,
                        });
                        break;
                    }
                };
                for failure in page.failures {
                    tracing::error!(resource_type, error = %failure, "no evaluation");
                    run.report.failures.push(failure);
                }
                for (i, item) in page.items.iter().enumerate() {
                    if out_of_time(run) {
                        let left = page.items.len() - i;
                        tracing::warn!(
                            left,
                            "deadline near: the rest of the page is not evaluated"
                        );
                        return run.stopped(resource_type, &scope.region);
                    }
                    match only_key {
                        Some(key_arn) => {
                            self.one_using(run, item, params, scope.time, key_arn).await;
                        }
                        None => self.one(run, item, false, params, scope.time).await,
                    }
                }
                match page.next {
                    Some(next) => token = Some(next),
                    None => break,
                }
            }
        }
    }
}

/// What the Lambda answers for an invocation. Lambda retries a failed asynchronous invocation
/// whatever the error, so only a failure a retry may fix is returned as an error; a permanent one
/// (bad parameters, AccessDenied, an unknown error code) is logged as an error line with
/// `"permanent":true`, reported in the response, and the invocation succeeds: it is not re-run.
pub fn respond(result: Result<Report, Box<Failed>>) -> Result<serde_json::Value, HandlerError> {
    match result {
        Ok(report) => {
            Ok(serde_json::json!({"put": report.put, "nonCompliant": report.non_compliant}))
        }
        Err(failed) if !failed.error.is_retryable() => {
            tracing::error!(
                put = failed.report.put,
                permanent = true,
                error_type = failed.error.error_type(),
                error = %failed.error,
                "invocation failed; not retried"
            );
            Ok(
                serde_json::json!({"put": failed.report.put, "nonCompliant": failed.report.non_compliant,
                "errorType": format!("Permanent.{}", failed.error.error_type()),
                "errorMessage": failed.error.to_string()}),
            )
        }
        Err(failed) => {
            tracing::error!(put = failed.report.put, permanent = false, error = %failed.error, "invocation failed; Lambda retries it");
            Err(failed.error)
        }
    }
}

/// A resolver that notes every key ARN it was asked about or answered with.
struct Recording<'a, K> {
    inner: &'a K,
    seen: std::sync::Mutex<Vec<KeyArn>>,
}

impl<K> Recording<'_, K> {
    fn note(&self, arn: &KeyArn) {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(arn.clone());
    }

    /// The key ARNs noted, each once, in the order first seen.
    fn into_seen(self) -> Vec<KeyArn> {
        let mut seen = self
            .seen
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut unique = std::collections::HashSet::new();
        seen.retain(|k| unique.insert(k.clone()));
        seen
    }

    fn saw(&self, key_arn: &KeyArn) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .any(|a| a == key_arn)
    }
}

impl<K: KeyResolver> KeyResolver for Recording<'_, K> {
    async fn describe(&self, lookup: &KeyLookup) -> Result<Described, ResolveError> {
        if let Some(arn) = lookup.key.in_scope(&lookup.scope).key_arn() {
            self.note(arn);
        }
        let answer = self.inner.describe(lookup).await;
        if let Ok(Described::Found(facts)) = &answer {
            self.note(&facts.arn);
        }
        answer
    }

    async fn rotation(&self, key_arn: &KeyArn) -> Result<Rotation, ResolveError> {
        self.note(key_arn);
        self.inner.rotation(key_arn).await
    }
}

/// The state of one invocation: the open batch and the report.
struct Run<'a, P> {
    sink: &'a P,
    token: String,
    test_mode: bool,
    options: Options,
    batch: Vec<Evaluation>,
    report: Report,
    /// During a sweep: every resource evaluated, for the clean-up of vanished ones.
    swept: Option<std::collections::HashSet<(String, String)>>,
}

impl<P: EvaluationSink> Run<'_, P> {
    async fn add(&mut self, evaluation: Evaluation, place: Place<'_>) {
        tracing::info!(
            resource_type = %evaluation.compliance_resource_type,
            resource_id = %evaluation.compliance_resource_id,
            compliance = %evaluation.compliance_type,
            annotation = evaluation.annotation.as_deref().unwrap_or_default(),
            "verdict"
        );
        if evaluation.compliance_type == Compliance::NonCompliant {
            self.report.non_compliant += 1;
        }
        if self.options.collect {
            self.report.evaluations.push(evaluation.clone());
        }
        if let Some(stream) = &self.options.stream {
            let judged = Judged {
                account_id: place.account.to_owned(),
                region: place.region.to_owned(),
                keys: place.keys.iter().map(KeyArn::to_string).collect(),
                evaluation: evaluation.clone(),
            };
            // A reader that went away only stops the printing, never the puts.
            if stream.send(judged).await.is_err() {
                self.options.stream = None;
            }
        }
        if let Some(swept) = &mut self.swept {
            swept.insert((
                evaluation.compliance_resource_type.clone(),
                evaluation.compliance_resource_id.clone(),
            ));
        }
        self.batch.push(evaluation);
        if self.batch.len() >= BATCH_LIMIT {
            self.flush().await;
        }
    }

    /// The sweep stopped before the Lambda deadline: what was evaluated is put (the caller
    /// flushes), and the invocation fails as retryable so the next sweep covers the rest.
    fn stopped(&mut self, resource_type: &str, region: &str) {
        tracing::warn!(
            evaluated = self.report.put + self.batch.len(),
            "sweep stopped before the Lambda deadline"
        );
        self.report.failures.push(NotEvaluated {
            reason: format!(
                "sweep stopped before the Lambda deadline at {resource_type} in {region}: the resources not reached yet get their verdict on the next sweep"
            ),
            retryable: true,
        });
    }

    fn failed(&mut self, item: &ConfigItem, err: &EvalError) {
        tracing::error!(
            resource_type = %item.resource_type,
            resource_id = %item.resource_id,
            error = %err,
            retryable = err.is_retryable(),
            "no evaluation"
        );
        self.report.failures.push(NotEvaluated {
            reason: err.to_string(),
            retryable: err.is_retryable(),
        });
    }

    async fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        let total = batch.len();
        // The sink resends what Config reports as failed (the SDK's retries, for ConfigSink);
        // what it returns failed after that is reported.
        let (pending, last_error) = match self.sink.put(&batch, &self.token, self.test_mode).await {
            Ok(failed) => (failed, None),
            Err(e) => {
                tracing::warn!(error = %e, "PutEvaluations failed");
                (batch, Some(e))
            }
        };
        self.report.put += total - pending.len();
        for e in pending {
            let (why, retryable) = match &last_error {
                Some(err) => (err.to_string(), err.retryable),
                None => (
                    "Config reported it as failed after every attempt".to_owned(),
                    true,
                ),
            };
            tracing::error!(
                resource_type = %e.compliance_resource_type,
                resource_id = %e.compliance_resource_id,
                error = %why,
                retryable,
                "evaluation not put"
            );
            self.report.failures.push(NotEvaluated {
                reason: format!(
                    "{} {}: evaluation not put: {why}",
                    e.compliance_resource_type, e.compliance_resource_id
                ),
                retryable,
            });
        }
    }
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
