//! AWS Config adapters: [`ConfigHistory`] fetches oversized items with
//! `GetResourceConfigHistory` (limit 1), [`ConfigSink`] puts evaluations with `PutEvaluations`,
//! the SDK resending a batch Config answers with `FailedEvaluations` ([`FailedEvaluations`]).

use aws_sdk_config::Client;
use aws_sdk_config::operation::put_evaluations::PutEvaluationsOutput;
use aws_sdk_config::types::{ComplianceType, ResourceType};
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use cmk_core::event::{ApiItem, ItemSummary};
use cmk_core::{ConfigItem, Evaluation};

use super::source_error;
use crate::handler::{EvaluationSink, ItemSource, SourceError};

/// Config's partial failure: PutEvaluations succeeds and names `FailedEvaluations`. Classified
/// as a transient error, the SDK sends the batch again with the client's own attempts and backoff
/// (PutEvaluations is idempotent per resource and OrderingTimestamp, so the evaluations Config
/// took already may go again); what still fails after them is reported by [`ConfigSink`].
#[derive(Clone, Copy, Debug, Default)]
pub struct FailedEvaluations;

impl ClassifyRetry for FailedEvaluations {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let partial = matches!(
            ctx.output_or_error(),
            Some(Ok(out)) if out
                .downcast_ref::<PutEvaluationsOutput>()
                .is_some_and(|o| !o.failed_evaluations().is_empty())
        );
        if partial {
            RetryAction::transient_error()
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "FailedEvaluations"
    }
}

/// `config:GetResourceConfigHistory` for oversized notifications.
#[derive(Clone, Debug)]
pub struct ConfigHistory(pub Client);

impl ItemSource for ConfigHistory {
    async fn latest(&self, summary: &ItemSummary) -> Result<ConfigItem, SourceError> {
        const OP: &str = "config:GetResourceConfigHistory";
        let subject = format!("{} {}", summary.resource_type, summary.resource_id);
        let out = self
            .0
            .get_resource_config_history()
            .resource_type(ResourceType::from(summary.resource_type.as_str()))
            .resource_id(&summary.resource_id)
            .limit(1)
            .send()
            .await
            .map_err(|e| source_error(OP, &subject, &e))?;
        let ci = out
            .configuration_items()
            .first()
            .ok_or_else(|| SourceError {
                operation: OP,
                detail: format!("{subject}: no configuration item returned"),
                retryable: true,
            })?;
        let time = |t: Option<&DateTime>| t.and_then(|t| to_millis(*t).fmt(Format::DateTime).ok());
        let api = ApiItem {
            resource_type: ci.resource_type().map(|t| t.as_str().to_owned()),
            resource_id: ci.resource_id().map(str::to_owned),
            arn: ci.arn().map(str::to_owned),
            account_id: ci.account_id().map(str::to_owned),
            region: ci.aws_region().map(str::to_owned),
            status: ci
                .configuration_item_status()
                .map(|s| s.as_str().to_owned()),
            capture_time: time(ci.configuration_item_capture_time()),
            state_id: ci.configuration_state_id().map(str::to_owned),
            tags: ci.tags().map(|t| t.clone().into_iter().collect()),
            configuration: ci.configuration().map(str::to_owned),
            supplementary_configuration: ci
                .supplementary_configuration()
                .map(|m| m.clone().into_iter().collect())
                .unwrap_or_default(),
        };
        let item = ConfigItem::from_api(api).map_err(|e| SourceError {
            operation: OP,
            detail: format!("{subject}: {e}"),
            retryable: false,
        })?;
        if item.resource_type != summary.resource_type || item.resource_id != summary.resource_id {
            return Err(SourceError {
                operation: OP,
                detail: format!(
                    "{subject}: returned the item of {} {}",
                    item.resource_type, item.resource_id
                ),
                retryable: false,
            });
        }
        Ok(item)
    }
}

/// Rounds to the millisecond. Config's JSON protocol sends times as epoch seconds and the SDK
/// reads them through `f64`, so `1773652515.123` arrives as `…15.122999906…`; Config records
/// times to the millisecond, so rounding restores the recorded value.
fn to_millis(t: DateTime) -> DateTime {
    let millis = (t.subsec_nanos() + 500_000) / 1_000_000;
    if millis == 1_000 {
        DateTime::from_secs(t.secs() + 1)
    } else {
        DateTime::from_secs_and_nanos(t.secs(), millis * 1_000_000)
    }
}

/// `config:PutEvaluations`.
#[derive(Clone, Debug)]
pub struct ConfigSink(pub Client);

fn to_sdk(e: &Evaluation) -> Result<aws_sdk_config::types::Evaluation, SourceError> {
    let t = e.ordering_timestamp;
    aws_sdk_config::types::Evaluation::builder()
        .compliance_resource_type(&e.compliance_resource_type)
        .compliance_resource_id(&e.compliance_resource_id)
        .compliance_type(ComplianceType::from(e.compliance_type.as_str()))
        .set_annotation(e.annotation.clone())
        .ordering_timestamp(DateTime::from_secs_and_nanos(
            t.unix_timestamp(),
            t.nanosecond(),
        ))
        .build()
        .map_err(|err| SourceError {
            operation: "config:PutEvaluations",
            detail: format!(
                "{} {}: {err}",
                e.compliance_resource_type, e.compliance_resource_id
            ),
            retryable: false,
        })
}

impl EvaluationSink for ConfigSink {
    async fn judged(&self, rule_name: &str) -> Result<Vec<(String, String)>, SourceError> {
        const OP: &str = "config:GetComplianceDetailsByConfigRule";
        let mut judged = Vec::new();
        let mut pages = self
            .0
            .get_compliance_details_by_config_rule()
            .config_rule_name(rule_name)
            .compliance_types(ComplianceType::Compliant)
            .compliance_types(ComplianceType::NonCompliant)
            .limit(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| source_error(OP, rule_name, &e))?;
            for result in page.evaluation_results() {
                let qualifier = result
                    .evaluation_result_identifier()
                    .and_then(|i| i.evaluation_result_qualifier());
                if let Some(q) = qualifier
                    && let (Some(t), Some(id)) = (q.resource_type(), q.resource_id())
                {
                    judged.push((t.to_owned(), id.to_owned()));
                }
            }
        }
        Ok(judged)
    }

    async fn put(
        &self,
        batch: &[Evaluation],
        result_token: &str,
        test_mode: bool,
    ) -> Result<Vec<Evaluation>, SourceError> {
        let evaluations = batch.iter().map(to_sdk).collect::<Result<Vec<_>, _>>()?;
        let out = self
            .0
            .put_evaluations()
            .set_evaluations(Some(evaluations))
            .result_token(result_token)
            .test_mode(test_mode)
            .customize()
            .config_override(aws_sdk_config::Config::builder().retry_classifier(FailedEvaluations))
            .send()
            .await
            .map_err(|e| {
                source_error(
                    "config:PutEvaluations",
                    &format!("{} evaluation(s)", batch.len()),
                    &e,
                )
            })?;
        // Config names failed evaluations by resource; map them back to ours to resend. One we
        // cannot match means we cannot tell what failed, so the whole batch is resent
        // (PutEvaluations is idempotent per resource and OrderingTimestamp).
        let mut failed = Vec::new();
        for f in out.failed_evaluations() {
            let ours = batch.iter().find(|e| {
                e.compliance_resource_type == f.compliance_resource_type()
                    && e.compliance_resource_id == f.compliance_resource_id()
            });
            match ours {
                Some(e) => failed.push(e.clone()),
                None => return Ok(batch.to_vec()),
            }
        }
        Ok(failed)
    }
}
