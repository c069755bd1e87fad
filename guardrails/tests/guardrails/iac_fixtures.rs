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

/// `tests/conformance/iac_expected.json`: for each IaC file of the peers' corpus, the verdict our
/// contract gives each stream, secret and table in it (decided from the README, not from any
/// tool's output), and the peer's own verdict beside it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CorpusExpectations {
    files: Vec<CorpusFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CorpusFile {
    /// Relative to the corpus folder.
    path: String,
    /// Empty for a file the checker must refuse to read (a test suite, not a template).
    resources: Vec<CorpusResource>,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
    /// `false` for a file the checker must refuse.
    #[serde(default)]
    read_by_checker: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct CorpusResource {
    name: String,
    #[serde(rename = "type")]
    resource_type: String,
    /// `deny`, `warn` or `none`.
    expect: String,
    control: Option<String>,
    why: String,
    peer: String,
    /// Where the peer's verdict differs, why.
    #[serde(default)]
    peer_note: Option<String>,
    /// The messages' subjects when the resource's replicas are judged too.
    #[serde(default)]
    parts: Vec<String>,
}

/// Whether `message` is about the resource `name` (`[ID] name (Type): …`, `[ID] name: …`,
/// `[ID] name replica …`).
fn names(message: &str, name: &str) -> bool {
    message.split_once("] ").is_some_and(|(_, rest)| {
        rest.strip_prefix(name).is_some_and(|tail| {
            tail.starts_with(" (") || tail.starts_with(':') || tail.starts_with(" replica")
        })
    })
}

#[test]
fn peers_iac_files_get_the_verdict_our_contract_gives_each_resource() {
    let Some(dir) = cmk_integration_tests::conformance::dir() else {
        return;
    };
    let table =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/iac_expected.json");
    let expected: CorpusExpectations =
        serde_json::from_str(&std::fs::read_to_string(&table).unwrap()).unwrap();
    let policies = PolicySet::from_artifacts(&render_all(CONTROLS, &Options::default()).unwrap());
    let mut failures = Vec::new();
    let mut judged = 0;
    for file in &expected.files {
        let path = dir.join(&file.path);
        assert!(path.is_file(), "{} is not in the corpus", file.path);
        if file.resources.is_empty() {
            assert_eq!(file.read_by_checker, Some(false), "{}", file.path);
            if let Ok((kind, _)) = load_input(&path, None) {
                failures.push(format!(
                    "{}: read as {kind:?}, but it is not IaC",
                    file.path
                ));
            }
            continue;
        }
        let input = match load_input(&path, None) {
            Ok((_, input)) => input,
            Err(e) => {
                failures.push(format!("{}: {e}", file.path));
                continue;
            }
        };
        let got = policies.evaluate(&input).unwrap();
        let all: Vec<(&str, &String)> = got
            .deny
            .iter()
            .map(|m| ("deny", m))
            .chain(got.warn.iter().map(|m| ("warn", m)))
            .collect();
        for r in &file.resources {
            judged += 1;
            let levels: std::collections::BTreeSet<&str> = all
                .iter()
                .filter(|(_, m)| names(m, &r.name))
                .map(|(level, _)| *level)
                .collect();
            let ok = match r.expect.as_str() {
                "none" => levels.is_empty(),
                level => levels.len() == 1 && levels.contains(level),
            };
            if !ok {
                failures.push(format!(
                    "{} {}: got {levels:?}, want {} ({})",
                    file.path, r.name, r.expect, r.why
                ));
            }
        }
        // Nothing is said about a resource the table does not list.
        for (level, m) in &all {
            if !file.resources.iter().any(|r| names(m, &r.name)) {
                failures.push(format!("{}: unexpected {level}: {m}", file.path));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(judged >= 100, "{judged} resources judged");
}
