//! `guardrails`: the preventive side of cmk-guardrails.
//!
//! One control catalogue ([`catalogue`]) from which every preventive artifact is generated
//! ([`render`]: Service Control Policies, Rego for Conftest/OPA, CloudFormation Guard rules,
//! CloudFormation templates), an offline SCP validator against AWS's service catalogue
//! ([`validate`], [`iam`]), the embedded Rego engine ([`iac`]), and [`generate`], which writes or
//! checks the committed artifacts. Deploying them is the `guardrails-deploy` crate's job.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod catalogue;
pub mod generate;
pub mod iac;
pub mod iam;
pub mod locate;
pub mod render;
pub mod suppress;
pub mod validate;
