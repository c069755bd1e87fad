//! `cmk-rule`: the AWS side of the cmk-guardrails Config rule.
//!
//! [`handler`] turns a Config event into evaluations with [`cmk_core`] and puts them through
//! `config:PutEvaluations`; [`aws`] answers the core's questions with the AWS SDK (cached
//! `kms:DescribeKey`, `config:GetResourceConfigHistory`, the services' own list/describe APIs).
//! [`lambda`] runs the handler on `lambda_runtime` (the `bootstrap` binary, and the `guardrails`
//! binary started as `bootstrap`); `guardrails evaluate` runs the very same handler from the
//! command line.
// The Lambda service future (SDK calls nested in the sweep) is deeper than rustc's default limit.
#![recursion_limit = "256"]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod aws;
pub mod handler;
#[cfg(feature = "lambda")]
pub mod lambda;

pub use handler::{Failed, Handler, HandlerError, NotEvaluated, Options, Report};
