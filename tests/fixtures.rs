//! Runs every fixture in `tests/fixtures/config/` through the rule's own handler with a fake
//! KMS (`FakeKeys`) and compares what would be put with the expectation beside the event.

use cmk_core::ConfigEvent;
use cmk_core::evaluation::format_utc;
use cmk_integration_tests::emulator::workspace;
use cmk_integration_tests::fixture::{Fixture, FixtureHistory, NoInventory, RecordingSink, files};
use cmk_rule::{Handler, Options};

async fn check(path: &std::path::Path) -> Result<(), String> {
    let fx = Fixture::load(path)?;
    let event = ConfigEvent::from_value(fx.event.clone())
        .map_err(|e| format!("event does not decode: {e}"))?;
    let handler = Handler {
        keys: fx.fake_keys(),
        items: FixtureHistory(fx.history.clone()),
        inventory: NoInventory,
        sink: RecordingSink::default(),
        region: "us-east-1".into(),
    };
    let result = handler.handle(&event, Options::default()).await;
    let put = handler.sink.0.lock().expect("sink").clone();
    let want = &fx.want;
    if !want.error_contains.is_empty() {
        let err = match result {
            Ok(_) => return Err(format!("expected an error, got {put:?}")),
            Err(failed) => failed.error.to_string(),
        };
        for needle in &want.error_contains {
            if !err.contains(needle.as_str()) {
                return Err(format!("error {err:?} lacks {needle:?}"));
            }
        }
        if !put.is_empty() {
            return Err(format!(
                "an invocation that fails for its only resource put {put:?}"
            ));
        }
    } else {
        if let Err(failed) = result {
            let err = failed.error;
            return Err(format!("unexpected error: {err}"));
        }
        let [evaluation] = put.as_slice() else {
            return Err(format!("expected exactly one evaluation, got {put:?}"));
        };
        if let Some(c) = want.compliance
            && evaluation.compliance_type != c
        {
            return Err(format!("got {evaluation:?}, want {c}"));
        }
        let annotation = evaluation.annotation.clone().unwrap_or_default();
        if annotation.is_empty() || annotation.len() > 256 {
            return Err(format!(
                "annotation must be 1-256 characters: {annotation:?}"
            ));
        }
        for needle in &want.annotation_contains {
            if !annotation.contains(needle.as_str()) {
                return Err(format!("annotation {annotation:?} lacks {needle:?}"));
            }
        }
        if let Some(ts) = &want.ordering_timestamp {
            let got = format_utc(evaluation.ordering_timestamp).map_err(|e| e.to_string())?;
            if &got != ts {
                return Err(format!("OrderingTimestamp {got}, want {ts}"));
            }
        }
    }
    if let Some(n) = want.key_calls
        && handler.keys.calls() != n
    {
        return Err(format!("{} KMS calls, want {n}", handler.keys.calls()));
    }
    Ok(())
}

#[tokio::test]
async fn every_config_fixture_produces_its_expected_evaluation() {
    let dir = workspace().join("tests/fixtures/config");
    let paths = files(&dir);
    assert!(
        paths.len() >= 40,
        "expected the fixture set under {}, found {}",
        dir.display(),
        paths.len()
    );
    let mut failures = Vec::new();
    for path in &paths {
        if let Err(e) = check(path).await {
            let note = Fixture::load(path).map(|f| f.note).unwrap_or_default();
            failures.push(format!("{}\n    note: {note}\n    {e}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n")
    );
}

#[test]
fn every_annotation_in_the_fixtures_is_ascii_and_short() {
    // The fixtures themselves are data users copy; keep their expectations honest too.
    for path in files(&workspace().join("tests/fixtures/config")) {
        let fx = Fixture::load(&path).unwrap();
        for needle in &fx.want.annotation_contains {
            assert!(
                needle.is_ascii() && needle.len() <= 256,
                "{}: {needle:?}",
                path.display()
            );
        }
        assert!(!fx.note.is_empty(), "{}: empty note", path.display());
    }
}

/// A small deterministic PRNG (xorshift64*), so the mutation test needs no dependency and
/// always explores the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Mutates a JSON text: flips, drops, duplicates and truncates characters, or swaps a value for
/// one of a few troublesome ones.
fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..=rng.below(3) {
        if chars.is_empty() {
            break;
        }
        let i = rng.below(chars.len());
        match rng.below(6) {
            0 => {
                chars.remove(i);
            }
            1 => chars.insert(
                i,
                ['"', '{', '}', ',', ':', '\\', '0', 'x', '\u{e9}'][rng.below(9)],
            ),
            2 => chars.truncate(i),
            3 => chars[i] = char::from(b' ' + (rng.next() % 94) as u8),
            4 => {
                let s: String = chars.iter().collect();
                let s = s.replacen(
                    [
                        "\"KMS\"",
                        "\"OK\"",
                        "\"ENABLED\"",
                        "null",
                        "true",
                        "\"alias/",
                    ][rng.below(6)],
                    ["\"NONE\"", "null", "7", "[]", "\"\"", "{}"][rng.below(6)],
                    1,
                );
                chars = s.chars().collect();
            }
            _ => {
                let c = chars[i];
                chars.insert(i, c);
            }
        }
    }
    chars.into_iter().collect()
}

#[tokio::test]
async fn mutated_events_never_become_compliant_without_a_key_answer() {
    // Every COMPLIANT verdict needs an answer from KMS. With a KMS that cannot tell anything, no
    // mutation of a real event (malformed, truncated, retyped) may produce one, nor a panic.
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let mut runs = 0;
    for path in files(&workspace().join("tests/fixtures/config")) {
        let fx = Fixture::load(&path).unwrap();
        let Some(invoking) = fx.event.get("invokingEvent").and_then(|v| v.as_str()) else {
            continue;
        };
        for _ in 0..40 {
            let mut event = fx.event.clone();
            event["invokingEvent"] = serde_json::Value::String(mutate(invoking, &mut rng));
            let Ok(event) = ConfigEvent::from_value(event) else {
                continue;
            };
            let handler = Handler {
                keys: cmk_core::FakeKeys::default(),
                items: FixtureHistory(None),
                inventory: NoInventory,
                sink: RecordingSink::default(),
                region: "us-east-1".into(),
            };
            let _ = handler.handle(&event, Options::default()).await;
            runs += 1;
            for e in handler.sink.0.lock().unwrap().iter() {
                assert_ne!(
                    e.compliance_type,
                    cmk_core::Compliance::Compliant,
                    "{}: mutated event {} became COMPLIANT",
                    path.display(),
                    event.invoking_event
                );
            }
        }
    }
    assert!(runs > 1000, "only {runs} mutated events ran");
}
