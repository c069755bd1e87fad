//! Every IaC fixture in `tests/fixtures/iac/` yields exactly the `deny` and `warn` findings listed
//! in its `expected.json` (one message per expected prefix), with the embedded engine.

use std::collections::BTreeMap;
use std::path::PathBuf;

use guardrails::catalogue::CONTROLS;
use guardrails::iac::{PolicySet, load_input};
use guardrails::render::{Options, render_all};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    deny: Vec<String>,
    warn: Vec<String>,
}

fn matches(kind: &str, got: &[String], want: &[String]) -> Result<(), String> {
    let mut errors = Vec::new();
    for prefix in want {
        let n = got
            .iter()
            .filter(|m| m.starts_with(prefix.as_str()))
            .count();
        if n != 1 {
            errors.push(format!("{kind} `{prefix}`: {n} messages"));
        }
    }
    for m in got {
        if !want.iter().any(|p| m.starts_with(p.as_str())) {
            errors.push(format!("unexpected {kind}: {m}"));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n  "))
    }
}

#[test]
fn every_iac_fixture_yields_exactly_its_findings() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/iac");
    let expected: BTreeMap<String, Expected> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let policies = PolicySet::from_artifacts(&render_all(CONTROLS, &Options::default()).unwrap());
    let mut failures = Vec::new();
    for (file, want) in &expected {
        let (_, input) = load_input(&dir.join(file), None).unwrap();
        let got = policies.evaluate(&input).unwrap();
        for result in [
            matches("deny", &got.deny, &want.deny),
            matches("warn", &got.warn, &want.warn),
        ] {
            if let Err(e) = result {
                failures.push(format!("{file}:\n  {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(expected.len() >= 5);
}
