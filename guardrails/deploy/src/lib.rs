//! `guardrails-deploy`: rolling the guardrails out across an AWS Organization (`guardrails
//! deploy`, `status`, `destroy`).
//!
//! The pure parts ([`settings`], [`ou`], [`plan`], [`stackset`]) turn the settings file and what
//! was observed into ordered steps and can be tested without AWS; [`org`] and [`cfn`] observe and
//! change Organizations and CloudFormation; [`engine`] ties them together. The policies and
//! templates it deploys come from the `guardrails` crate (catalogue and renderers), which knows
//! nothing of deploying.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod artifact;
pub mod central;
pub mod cfn;
pub mod compliance;
pub mod engine;
pub mod org;
pub mod ou;
pub mod plan;
pub mod settings;
pub mod stackset;
