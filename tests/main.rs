//! The workspace-level tests, in one test binary: the data-driven Config fixtures through the
//! rule's handler, and the rule against the emulator.

mod emulator;
mod fixtures;
