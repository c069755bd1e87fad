//! The committed `policies/` and `cloudformation/` trees are the golden files: the whole catalogue
//! is rendered in memory and compared byte for byte. `UPDATE_GOLDEN=1 cargo test -p guardrails`
//! rewrites them; review that diff like code.

use std::path::PathBuf;

use guardrails::catalogue::CONTROLS;
use guardrails::generate::{check, write};
use guardrails::render::{Options, render_all};

#[test]
fn committed_artifacts_match_the_catalogue() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let artifacts = render_all(CONTROLS, &Options::default()).unwrap();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        write(&root, &artifacts).unwrap();
    }
    let drift = check(&root, &artifacts).unwrap();
    let mut report = String::new();
    for d in &drift {
        report.push_str(&format!("{d}\n"));
        if let Some(a) = artifacts
            .iter()
            .find(|a| d.to_string().starts_with(&a.path))
        {
            let committed = std::fs::read_to_string(root.join(&a.path)).unwrap_or_default();
            report.push_str(&format!(
                "--- committed\n{committed}\n+++ generated\n{}\n",
                a.content
            ));
        }
    }
    assert!(
        drift.is_empty(),
        "generated artifacts drifted (UPDATE_GOLDEN=1 to accept):\n{report}"
    );
}
