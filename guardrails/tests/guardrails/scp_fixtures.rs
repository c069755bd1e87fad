//! Bad SCPs in `tests/fixtures/scp/bad/` produce exactly the findings listed in its
//! `expected.json` (code and JSON path); good ones in `tests/fixtures/scp/good/` produce none.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use guardrails::iam::catalogue;
use guardrails::validate::scp::{ValidateOptions, validate_scp};
use serde::Deserialize;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/scp")
}

#[derive(Deserialize, PartialEq, Eq, PartialOrd, Ord, Debug)]
#[serde(deny_unknown_fields)]
struct Expected {
    code: String,
    path: String,
}

#[test]
fn every_bad_scp_fixture_yields_exactly_its_findings() {
    let dir = fixtures().join("bad");
    let expected: BTreeMap<String, Vec<Expected>> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let cat = catalogue().unwrap();
    let mut failures = Vec::new();
    let mut codes = BTreeSet::new();
    for (file, want) in &expected {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let findings = validate_scp(file, &text, cat, &ValidateOptions::default());
        let got: BTreeSet<(String, String)> = findings
            .iter()
            .map(|f| {
                (
                    serde_json::to_value(f.code)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    f.path.clone(),
                )
            })
            .collect();
        let want: BTreeSet<(String, String)> = want
            .iter()
            .map(|e| (e.code.clone(), e.path.clone()))
            .collect();
        codes.extend(want.iter().map(|(c, _)| c.clone()));
        if got != want {
            failures.push(format!("{file}: got {got:?}, want {want:?}"));
        }
        assert!(
            findings
                .iter()
                .all(|f| f.file == *file && !f.message.is_empty())
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "expected.json")
        .collect();
    assert_eq!(
        files,
        expected.keys().cloned().collect(),
        "every fixture file is listed in expected.json"
    );
    for code in [
        "MALFORMED_JSON",
        "SIZE_EXCEEDED",
        "INVALID_VERSION",
        "INVALID_EFFECT",
        "PRINCIPAL_NOT_ALLOWED",
        "UNKNOWN_ACTION",
        "UNKNOWN_CONDITION_KEY",
        "UNKNOWN_OPERATOR",
        "FORALLVALUES_DENY_TRAP",
        "DUPLICATE_SID",
        "MISSING_BREAK_GLASS",
    ] {
        assert!(codes.contains(code), "no bad fixture for {code}");
    }
}

#[test]
fn good_scp_fixtures_are_clean() {
    let cat = catalogue().unwrap();
    for entry in std::fs::read_dir(fixtures().join("good")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let findings = validate_scp(
            &path.display().to_string(),
            &text,
            cat,
            &ValidateOptions::default(),
        );
        assert!(findings.is_empty(), "{}: {findings:#?}", path.display());
    }
}

#[test]
fn validating_the_minified_policy_agrees_with_the_original() {
    // Minifying must not change what the validator says (the size check aside).
    let cat = catalogue().unwrap();
    let dir = fixtures().join("bad");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let minified = guardrails::render::scp::minify(&doc);
        let codes = |t: &str| {
            validate_scp("f", t, cat, &ValidateOptions::default())
                .into_iter()
                .map(|f| (f.code, f.path))
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(codes(&text), codes(&minified), "{}", path.display());
    }
}
