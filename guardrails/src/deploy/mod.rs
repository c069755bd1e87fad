//! Rolling the guardrails out across an AWS Organization (issue: `guardrails deploy`). So far:
//! the settings file, OU targeting and the SCP plan (a pure diff); observing the organization,
//! applying the plan and the StackSet rollout follow.

pub mod org;
pub mod ou;
pub mod plan;
pub mod settings;
