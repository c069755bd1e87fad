//! SARIF 2.1.0 validation: the OASIS schema as the `serde-sarif` crate ships it (the crate whose
//! model our SARIF is built from), found through `cargo metadata`, and a validator over it.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// The path of the SARIF 2.1.0 JSON schema in `serde-sarif`'s source.
pub fn schema_path() -> PathBuf {
    find_schema()
}

fn find_schema() -> PathBuf {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    let version = String::from_utf8_lossy(&version.stdout);
    let host = version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // The host's packages only: every one of them is downloaded already, since it was built.
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: Value = serde_json::from_slice(&out.stdout).unwrap();
    let manifest = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "serde-sarif")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("serde-sarif is a dependency of the workspace");
    PathBuf::from(manifest)
        .with_file_name("src")
        .join("schema.json")
}

/// The SARIF 2.1.0 schema, compiled once.
fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let path = schema_path();
        // The schema's `language` pattern has a lone `]`, a literal only under ECMA-262's
        // Annex B; escaped, a strict regex engine compiles it and it means the same.
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace(r#"[a-zA-Z]{2}]?$""#, r#"[a-zA-Z]{2}\\]?$""#);
        let schema: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            schema["title"],
            "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema",
            "{}",
            path.display()
        );
        jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

/// Checks `log` against the SARIF 2.1.0 schema; the error lists every violation and where.
pub fn validate(log: &Value) -> Result<(), String> {
    let errors: Vec<String> = validator()
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}
