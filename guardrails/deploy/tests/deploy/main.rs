//! The deploy engine's integration tests, in one test binary: the SCP part and the whole rollout
//! against the emulator, and the faults only aws-smithy-mocks can produce.

mod central;
mod faults;
mod org;
mod scp;
