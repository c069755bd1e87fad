//! Shared test support: the moto emulator harness and the data-driven fixture model.
#![allow(missing_docs)]

pub mod calls;
pub mod conformance;
pub mod emulator;
pub mod events;
pub mod fixture;
pub mod lambda_api;
pub mod organization;
pub mod resources;
pub mod sarif;
