//! AWS adapters: the SDK configuration and one adapter per question the handler asks.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

pub mod config;
pub mod inventory;
pub mod kms;

pub use config::{ConfigHistory, ConfigSink};
pub use inventory::ServiceInventory;
pub use kms::KmsKeyResolver;

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
/// standard retries.
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

/// Error codes that a retry cannot fix.
const PERMANENT: [&str; 6] = [
    "AccessDeniedException",
    "ValidationException",
    "InvalidParameterValueException",
    "InvalidResultTokenException",
    "NoSuchConfigRuleException",
    "ResourceNotDiscoveredException",
];

/// A failed AWS call as the handler sees it: operation, what was asked (`subject`, may be empty),
/// the full error chain, and whether a retry may help.
pub(crate) fn source_error<E, R>(
    operation: &'static str,
    subject: &str,
    err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> crate::handler::SourceError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let error = describe_error(err);
    crate::handler::SourceError {
        operation,
        detail: if subject.is_empty() {
            error
        } else {
            format!("{subject}: {error}")
        },
        retryable: !error_code(err).is_some_and(|c| PERMANENT.contains(&c)),
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
pub(crate) fn describe_error(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The rule wired to AWS: cached DescribeKey, Config history, the services' inventory, and `sink`.
pub type AwsHandler<P> = crate::Handler<KmsKeyResolver, ConfigHistory, ServiceInventory, P>;

/// Builds the handler from one SDK configuration; call once per container so the key cache lives
/// across invocations.
pub fn handler<P>(sdk: &SdkConfig, sink: P) -> AwsHandler<P> {
    crate::Handler {
        keys: KmsKeyResolver::new(aws_sdk_kms::Client::new(sdk)),
        items: ConfigHistory(aws_sdk_config::Client::new(sdk)),
        inventory: ServiceInventory {
            kinesis: aws_sdk_kinesis::Client::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
        },
        sink,
        region: sdk
            .region()
            .map(|r| r.as_ref().to_owned())
            .unwrap_or_default(),
    }
}
