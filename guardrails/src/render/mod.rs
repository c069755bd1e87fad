//! Generators: pure functions from the catalogue to artifact text. No I/O here.

use crate::catalogue::Control;

pub mod central;
pub mod cfn;
pub mod guard;
pub mod readme;
pub mod rego;
pub mod scp;

/// One generated file: its path relative to the repository root, and its content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// E.g. `policies/scp/cmk-guardrails-1.json`.
    pub path: String,
    /// The exact bytes to commit.
    pub content: String,
}

/// A catalogue that cannot be rendered within AWS's limits.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// One control's statement alone exceeds the SCP size limit.
    #[error(
        "control {control}: its SCP statement alone is {bytes} bytes, over the 5,120-byte limit"
    )]
    TooLarge {
        /// Control id.
        control: String,
        /// Minified size of a policy holding only that statement.
        bytes: usize,
    },
    /// The statements need more SCPs than an OU can hold.
    #[error("the SCP statements need {policies} policies; an OU holds at most 5")]
    TooManyPolicies {
        /// Policies needed.
        policies: usize,
    },
}

/// Options of every generator.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// SCP options.
    pub scp: scp::ScpOptions,
}

/// Every artifact generated from `controls`, sorted by path.
pub fn render_all(controls: &[Control], opts: &Options) -> Result<Vec<Artifact>, RenderError> {
    let mut artifacts = scp::render_scps(controls, &opts.scp)?;
    artifacts.extend(rego::render_rego(controls));
    artifacts.extend(guard::render_guard(controls));
    artifacts.extend(cfn::render_cfn(controls, &opts.scp)?);
    artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(artifacts)
}

/// Folders whose every file is generated (a file there that the generator does not produce is
/// stale).
pub const GENERATED_DIRS: &[&str] = &[scp::DIR, rego::DIR, guard::DIR, cfn::DIR];
