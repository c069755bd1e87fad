//! The peers' test inputs beside the project (`../shared/conformance/`, never copied into it).

use std::path::PathBuf;

/// The corpus folder: `CMK_CONFORMANCE_DIR`, else `shared/conformance` beside the repository.
/// `None`, with one line on standard error, when this machine has no copy (`scripts/test` says
/// so at the start of the run too).
pub fn dir() -> Option<PathBuf> {
    let dir = std::env::var_os("CMK_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::emulator::workspace().join("../shared/conformance"));
    if dir.join("README.md").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "conformance corpus not found at {}: the tests that read it check nothing here",
            dir.display()
        );
        None
    }
}
