//! Rolling the guardrails out across an AWS Organization (issue: `guardrails deploy`). So far:
//! the settings file and OU targeting; observe → plan → apply follows.

pub mod ou;
pub mod settings;
