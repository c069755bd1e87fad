//! Rolling the guardrails out across an AWS Organization (`guardrails deploy`, `status`,
//! `destroy`): the settings file, OU targeting, the SCP and StackSet plans (pure diffs), and the
//! engine that observes the organization and applies them.

#[cfg(feature = "deploy")]
pub mod cfn;
#[cfg(feature = "deploy")]
pub mod engine;
#[cfg(feature = "deploy")]
pub mod org;
pub mod ou;
pub mod plan;
pub mod settings;
pub mod stackset;
