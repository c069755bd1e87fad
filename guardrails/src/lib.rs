//! `guardrails`: the preventive side of cmk-guardrails.
//!
//! This crate will hold the control catalogue, the generators of Service Control Policies,
//! Conftest/OPA and CloudFormation Guard policies and CloudFormation templates, their offline
//! validators, and the Organizations + StackSets deploy engine. It is an empty shell until the
//! preventive-guardrails work lands; the detective side lives in `cmk-core` and `cmk-rule`.
