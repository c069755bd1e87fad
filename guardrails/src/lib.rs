//! `guardrails`: the preventive side of cmk-guardrails.
//!
//! One control catalogue ([`catalogue`]) from which the preventive artifacts are generated
//! ([`render`]: Service Control Policies today), an offline SCP validator against AWS's service
//! catalogue ([`validate`]), and [`generate`], which writes or checks the committed artifacts.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod catalogue;
pub mod deploy;
pub mod generate;
pub mod iac;
pub mod iam;
pub mod render;
pub mod validate;
