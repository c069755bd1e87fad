//! One module per subcommand: clap arguments plus a call into a library.

pub mod deploy;
pub mod evaluate;
pub mod generate;
pub mod iac;
pub mod scan;
pub mod scp;
