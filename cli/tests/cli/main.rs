//! The `guardrails` binary as users and CI run it, in one test binary: `deploy`/`status`/
//! `destroy`, `evaluate`, `generate`/`scp validate`/`iac check`/`policy test`, and `scan`, most of
//! them against the emulator.

mod deploy;
mod evaluate;
mod policies;
mod scan;
