//! `cmk-rule`: the AWS side of the cmk-guardrails Config rule.
//!
//! [`handler`] turns a Config event into evaluations with [`cmk_core`] and puts them through
//! `config:PutEvaluations`; [`aws`] answers the core's questions with the AWS SDK (cached
//! `kms:DescribeKey`, `config:GetResourceConfigHistory`, the services' own list/describe APIs).
//! The `bootstrap` binary runs the handler on `lambda_runtime`; `guardrails evaluate` runs the
//! very same handler from the command line.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod aws;
pub mod handler;

pub use handler::{Failed, Handler, HandlerError, NotEvaluated, Options, Report};
