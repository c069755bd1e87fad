//! AWS adapters: the SDK configuration and one adapter per question the handler asks.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub mod config;
pub mod inventory;
pub mod kms;
pub mod members;
pub mod rate;
pub mod recorded;

pub use config::{ConfigHistory, ConfigSink};
pub use inventory::{ReplicaLookup, SecretReplicas, ServiceInventory};
pub use kms::KmsKeyResolver;
pub use members::Members;
pub use rate::Rates;
pub use recorded::{AggregateInventory, InventoryMode, KeyBook, RecordedInventory, RecordedKeys};

/// Attempts per AWS call (first try included); throttling and 5xx are retried with backoff.
pub const MAX_ATTEMPTS: u32 = 5;

/// The HTTP(S) client of every AWS call: rustls with ring, no aws-lc build.
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Loads the SDK configuration from the environment (`AWS_PROFILE`, `AWS_REGION`,
/// `AWS_ENDPOINT_URL`, Lambda's role credentials) with an HTTPS client on rustls + ring and
/// standard retries (exponential backoff with jitter).
///
/// Not the SDK's adaptive mode: measured on the 3,000-stream sweep with one Kinesis call in three
/// throttled (rule/tests/sdk_faults.rs), adaptive mode had not finished after 5 minutes (its
/// client-side bucket drops towards 0.5 tokens per second and a throttled retry costs 10), where
/// standard mode finishes in seconds. The sweep instead paces itself under each API's documented
/// quota ([`rate::Rates`]), so throttling stays the exception the retries are for.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(200)),
        )
        .load()
        .await
}

/// Whether a call that failed (after the SDK's own retries) may succeed when made again later:
/// throttling, 5xx, timeouts and connection failures only. Every other failure is permanent,
/// unknown codes included: expired or invalid credentials, `AccessDenied`,
/// `KMSInvalidStateException`, validation errors. A permanent failure makes Lambda's retries of
/// the invocation pointless, so they are not asked for.
pub(crate) fn is_transient<E>(err: &SdkError<E, HttpResponse>) -> bool
where
    E: ProvideErrorMetadata,
{
    use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
    let transient_code = |code: Option<&str>| {
        code.is_some_and(|c| THROTTLING_ERRORS.contains(&c) || TRANSIENT_ERRORS.contains(&c))
    };
    match err {
        SdkError::TimeoutError(_) => true,
        SdkError::DispatchFailure(failure) => failure.is_io() || failure.is_timeout(),
        SdkError::ResponseError(response) => response.raw().status().is_server_error(),
        SdkError::ServiceError(service) => {
            service.raw().status().is_server_error() || transient_code(service.err().code())
        }
        _ => false,
    }
}

/// A failed AWS call as the handler sees it: operation, what was asked (`subject`, may be empty),
/// the full error chain, and whether a retry may help.
pub(crate) fn source_error<E>(
    operation: &'static str,
    subject: &str,
    err: &SdkError<E, HttpResponse>,
) -> crate::handler::SourceError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let error = describe_error(err);
    crate::handler::SourceError {
        operation,
        detail: if subject.is_empty() {
            error
        } else {
            format!("{subject}: {error}")
        },
        retryable: is_transient(err),
    }
}

/// The error code of an SDK error (`AccessDeniedException`, ...), if the service sent one.
pub(crate) fn error_code<E, R>(
    err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> Option<&str>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    err.as_service_error().and_then(|e| e.code())
}

/// A one-line description of an SDK error, including its source chain.
pub fn describe_error(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The rule wired to AWS: recorded or cached DescribeKey key facts, Config history, the recorded
/// inventory (the services' for types not recorded), and `sink`.
pub type AwsHandler<P> =
    crate::Handler<RecordedKeys<KmsKeyResolver>, ConfigHistory, RecordedInventory, P>;

/// Builds the handler from one SDK configuration; call once per container so the key cache lives
/// across invocations. The sweep reads Config's recorded inventory for the types the recorder
/// records ([`InventoryMode::Auto`]; set `inventory.mode` to change it).
pub fn handler<P>(sdk: &SdkConfig, sink: P) -> AwsHandler<P> {
    let book = std::sync::Arc::new(KeyBook::default());
    crate::Handler {
        keys: RecordedKeys {
            inner: KmsKeyResolver::new(aws_sdk_kms::Client::new(sdk)),
            book: book.clone(),
        },
        items: ConfigHistory(aws_sdk_config::Client::new(sdk)),
        inventory: RecordedInventory::new(sdk, book),
        sink,
        region: sdk
            .region()
            .map(|r| r.as_ref().to_owned())
            .unwrap_or_default(),
    }
}
