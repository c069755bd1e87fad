//! Serving the Lambda runtime API: the SDK configuration, clients and key cache are built once per
//! container, then every event goes to the handler of its account ([`crate::aws::Members`]).
//! Both the `bootstrap` binary and the `guardrails` binary (when started as `bootstrap`, as the
//! package `guardrails deploy` builds from itself) run [`serve`].

use crate::aws::{self, ConfigSink};
use crate::{HandlerError, Options};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

/// How old a key's facts a change notification may reuse (seconds; default
/// `aws::kms::DEFAULT_MAX_AGE`, 300). Sweeps always ask KMS afresh.
const CACHE_TTL_VAR: &str = "CMK_KEY_CACHE_TTL_SECONDS";
/// Seconds kept before the Lambda deadline for the last PutEvaluations (default 10).
const RESERVE_VAR: &str = "CMK_DEADLINE_RESERVE_SECONDS";
/// `true`: this is the organisation's central function (its template sets it); events of its own
/// account go through the member role too.
const CENTRAL_VAR: &str = "CMK_CENTRAL_FUNCTION";

/// How the rule's environment tunes every handler: the call rates (`CMK_RATE_LIMITS`), where
/// the sweep reads resources (`CMK_INVENTORY`), which secrets are described for their replicas
/// (`CMK_SECRET_REPLICAS`) and how old a key's facts a change notification
/// may reuse (`CMK_KEY_CACHE_TTL_SECONDS`). The Lambda and `guardrails evaluate` read the same
/// variables, so a local run behaves as the deployed function does.
#[derive(Clone, Debug)]
pub struct Tuning {
    rates: aws::Rates,
    mode: aws::InventoryMode,
    replicas: aws::ReplicaLookup,
    max_age: Option<Duration>,
}

impl Tuning {
    /// The tuning the `CMK_*` variables ask for; an error names the variable and what is wrong.
    pub fn from_env() -> Result<Tuning, Box<dyn std::error::Error + Send + Sync>> {
        let max_age = match std::env::var(CACHE_TTL_VAR) {
            Ok(text) => Some(Duration::from_secs(text.parse().map_err(|e| {
                format!("{CACHE_TTL_VAR}=`{text}` is not a number of seconds: {e}")
            })?)),
            Err(_) => None,
        };
        Ok(Tuning {
            rates: aws::Rates::from_env()?,
            mode: aws::InventoryMode::from_env()?,
            replicas: aws::ReplicaLookup::from_env()?,
            max_age,
        })
    }

    /// Applies it to each handler [`aws::Members`] builds.
    pub fn setup<P>(self) -> aws::members::Setup<P> {
        Box::new(move |handler| {
            handler.inventory.services.rates = self.rates.clone();
            handler.inventory.mode = self.mode;
            handler.inventory.services.secret_replicas = aws::SecretReplicas::new(self.replicas);
            if let Some(age) = self.max_age {
                handler.keys.inner.set_max_age(age);
            }
        })
    }
}

/// When the sweep must stop: the invocation's deadline (ms since the epoch) minus `reserve`.
fn stop_at(deadline_ms: u64, reserve: Duration) -> Option<std::time::Instant> {
    if deadline_ms == 0 {
        return None; // no deadline given (local runs)
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    // A deadline already past (clock skew) stops the sweep at once; what is done is still put.
    let left = Duration::from_millis(deadline_ms)
        .checked_sub(now)
        .unwrap_or_default();
    Some(std::time::Instant::now() + left.saturating_sub(reserve))
}

/// A retryable failure as Lambda reports it (`errorType` `Retryable.*`).
#[derive(Debug)]
struct Failure(HandlerError);

impl From<Failure> for Diagnostic {
    fn from(Failure(err): Failure) -> Diagnostic {
        let retry = if err.is_retryable() {
            "Retryable"
        } else {
            "Permanent"
        };
        Diagnostic {
            error_type: format!("{retry}.{}", err.error_type()),
            error_message: err.to_string(),
        }
    }
}

/// JSON log lines, one object per event, at `RUST_LOG` (default `info`).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_current_span(false)
        .with_target(false)
        .init();
}

/// Serves the Lambda runtime API (`AWS_LAMBDA_RUNTIME_API`) until the runtime stops the
/// container; fails at start on a bad `CMK_*` environment variable.
pub async fn serve() -> Result<(), lambda_runtime::Error> {
    let sdk = aws::sdk_config().await;
    let tuning = Tuning::from_env()?;
    let reserve = match std::env::var(RESERVE_VAR) {
        Ok(text) => Duration::from_secs(
            text.parse()
                .map_err(|e| format!("{RESERVE_VAR}=`{text}` is not a number of seconds: {e}"))?,
        ),
        Err(_) => Duration::from_secs(10),
    };
    // Events of the function's own account use its role; a member's events, the member's role.
    let members = aws::Members::new(
        sdk,
        |sdk| ConfigSink(aws_sdk_config::Client::new(sdk)),
        tuning.setup(),
    )
    .assume_own_account(std::env::var(CENTRAL_VAR).is_ok_and(|v| v == "true"));
    let members = &members;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        members.know_identity(&event.context.invoked_function_arn);
        let options = Options {
            collect: false,
            stop_at: stop_at(event.context.deadline, reserve),
            stream: None,
        };
        let result = match cmk_core::ConfigEvent::from_value(event.payload) {
            Ok(config_event) => match members.handler_for(&config_event).await {
                Ok(handler) => handler.handle(&config_event, options).await,
                Err(failed) => Err(failed),
            },
            Err(e) => Err(crate::Failed::early(e.into())),
        };
        crate::handler::respond(result).map_err(Failure)
    }))
    .await
}
