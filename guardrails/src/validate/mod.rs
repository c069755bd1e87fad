//! Offline validators of generated and hand-written policies.

pub mod scp;
