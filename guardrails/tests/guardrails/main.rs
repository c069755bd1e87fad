//! The generators' integration tests, in one test binary: the committed artifacts as golden
//! files, the Guard rules under cfn-guard, the IaC fixtures and the peers' corpus under the
//! embedded Rego engine, and the SCP validator's fixtures.

mod golden;
mod guard;
mod iac_fixtures;
mod scp_fixtures;
