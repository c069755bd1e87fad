//! Runs every fixture in `tests/fixtures/config/` through the rule's own handler with a fake
//! KMS (`FakeKeys`) and compares what would be put with the expectation beside the event.

use cmk_core::evaluation::format_utc;
use cmk_core::{Compliance, ConfigEvent};
use cmk_integration_tests::emulator::workspace;
use cmk_integration_tests::fixture::{Fixture, FixtureHistory, NoInventory, RecordingSink, files};
use cmk_rule::{Handler, Options};

/// The rule's handler over a fake KMS and a fixture's history, recording what it would put.
fn fixture_handler(
    keys: cmk_core::FakeKeys,
    history: Option<cmk_integration_tests::fixture::HistoryItem>,
) -> Handler<cmk_core::FakeKeys, FixtureHistory, NoInventory, RecordingSink> {
    Handler {
        keys,
        items: FixtureHistory(history),
        inventory: NoInventory,
        sink: RecordingSink::default(),
        region: "us-east-1".into(),
    }
}

async fn check(path: &std::path::Path) -> Result<(), String> {
    let fx = Fixture::load(path)?;
    let event = ConfigEvent::from_value(fx.event.clone())
        .map_err(|e| format!("event does not decode: {e}"))?;
    let handler = fixture_handler(fx.fake_keys(), fx.history.clone());
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
            let handler = fixture_handler(cmk_core::FakeKeys::default(), None);
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

/// What the rule's contract gives a peer's Config event: one evaluation with this compliance and
/// annotation phrase, nothing put, or an error containing the phrase with nothing put.
enum Outcome {
    Put(Compliance, &'static str),
    Nothing,
    Error(&'static str),
}

/// How the event is sent: as the peer wrote it, or adapted the way a user trying it would.
#[derive(Clone, Copy)]
enum Sent {
    AsWritten,
    /// The placeholder `ruleParameters` replaced by `{}`.
    WithoutParameters,
    /// `eventLeftScope` set to `false`.
    InScope,
}

/// Config events from AWS's documentation, the Lambda runtime's fixture, rdk and aws-config-rules,
/// with the outcome our contract (README, "What the rule decides") gives each. Where the peer
/// decides otherwise, the comment says how and why we differ.
const CONFIG_EVENTS: &[(&str, Sent, Outcome)] = {
    use Compliance::{NonCompliant, NotApplicable};
    use Outcome::{Error, Nothing, Put};
    use Sent::{AsWritten, InScope, WithoutParameters};
    &[
        // AWS's examples carry a placeholder parameter: an unknown parameter fails the invocation
        // before anything is put, whatever the message type.
        (
            concat!(
                "aws-config-developer-guide/example-events/",
                "change-triggered-ec2.json"
            ),
            AsWritten,
            Error("unknown rule parameter `myParameterKey`"),
        ),
        (
            concat!(
                "aws-config-developer-guide/example-events/",
                "oversized-ec2.json"
            ),
            AsWritten,
            Error("unknown rule parameter `myParameterKey`"),
        ),
        (
            concat!(
                "aws-config-developer-guide/example-events/",
                "periodic.json"
            ),
            AsWritten,
            Error("unknown rule parameter `myParameterKey`"),
        ),
        (
            "aws-lambda-rust-runtime/lambda-events/src/fixtures/example-config-event.json",
            AsWritten,
            Error("unknown rule parameter `myParameterKey`"),
        ),
        // Without it: an EC2 instance is not ours, and an oversized one is not even fetched.
        (
            concat!(
                "aws-config-developer-guide/example-events/",
                "change-triggered-ec2.json"
            ),
            WithoutParameters,
            Put(NotApplicable, "AWS::EC2::Instance is not evaluated"),
        ),
        (
            concat!(
                "aws-config-developer-guide/example-events/",
                "oversized-ec2.json"
            ),
            WithoutParameters,
            Put(NotApplicable, "AWS::EC2::Instance is not evaluated"),
        ),
        // A sweep of an account with nothing in it, and the legacy snapshot message: nothing put.
        (
            concat!(
                "aws-config-developer-guide/example-events/",
                "periodic.json"
            ),
            WithoutParameters,
            Nothing,
        ),
        (
            "aws-lambda-rust-runtime/lambda-events/src/fixtures/example-config-event.json",
            WithoutParameters,
            Nothing,
        ),
        // rdk test-remote sends eventLeftScope: true (NOT_APPLICABLE whatever the item holds) and
        // the item in the API's shape (accountId, arn), which reads like the event's: in scope,
        // the sample table has no SSE description, so it is on the AWS-owned key.
        (
            "aws-config-rdk/composed/test_remote_AWS_DynamoDB_Table.json",
            AsWritten,
            Put(NotApplicable, "left the rule's scope"),
        ),
        (
            "aws-config-rdk/composed/test_remote_AWS_DynamoDB_Table.json",
            InScope,
            Put(NonCompliant, "AWS-owned key"),
        ),
        // DYNAMODB_ENCRYPTED_CUSTOM. The peer rejects Scenario 1's parameters too; it passes
        // Scenario 2's whitelisted unencrypted table, which we refuse (no such parameter: an
        // exemption is a tag, `exemptTag`).
        (
            concat!(
                "aws-config-rules/python/DYNAMODB_ENCRYPTED_CUSTOM/transcribed-events/",
                "test_Scenario_1_invalid_key_parameters.json"
            ),
            AsWritten,
            Error("unknown rule parameter `WhitelistedTables`"),
        ),
        (
            concat!(
                "aws-config-rules/python/DYNAMODB_ENCRYPTED_CUSTOM/transcribed-events/",
                "test_Scenario_2_compliant_table_whitelisted_non_encrypted.json"
            ),
            AsWritten,
            Error("unknown rule parameter `WhitelistedTables`"),
        ),
        (
            concat!(
                "aws-config-rules/python/DYNAMODB_ENCRYPTED_CUSTOM/transcribed-events/",
                "test_Scenario_3_not_applicable_deleted.json"
            ),
            AsWritten,
            Put(NotApplicable, "ResourceDeleted"),
        ),
        (
            concat!(
                "aws-config-rules/python/DYNAMODB_ENCRYPTED_CUSTOM/transcribed-events/",
                "test_Scenario_3_not_applicable_table_deleting.json"
            ),
            AsWritten,
            Put(NotApplicable, "being deleted"),
        ),
        // The peer passes "SSE ENABLED" with no key named; the item does not say which key, so
        // we never guess: no verdict, an error naming the missing field.
        (
            concat!(
                "aws-config-rules/python/DYNAMODB_ENCRYPTED_CUSTOM/transcribed-events/",
                "test_Scenario_4_compliant_table_active_and_encrypted.json"
            ),
            AsWritten,
            Error("ssedescription.kmsmasterKeyArn"),
        ),
        (
            concat!(
                "aws-config-rules/python/DYNAMODB_ENCRYPTED_CUSTOM/transcribed-events/",
                "test_Scenario_5_noncompliant_table_active_and_non_encrypted.json"
            ),
            AsWritten,
            Put(NonCompliant, "AWS-owned key"),
        ),
    ]
};

#[tokio::test]
async fn peers_config_events_get_the_verdict_our_contract_gives() {
    let Some(dir) = cmk_integration_tests::conformance::dir() else {
        return;
    };
    let mut failures = Vec::new();
    for (file, sent, want) in CONFIG_EVENTS {
        let path = dir.join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut event: serde_json::Value = serde_json::from_str(&text).unwrap();
        match sent {
            Sent::AsWritten => {}
            Sent::WithoutParameters => event["ruleParameters"] = "{}".into(),
            Sent::InScope => event["eventLeftScope"] = false.into(),
        }
        let event = ConfigEvent::from_value(event).unwrap_or_else(|e| panic!("{file}: {e}"));
        let handler = fixture_handler(cmk_core::FakeKeys::default(), None);
        let result = handler.handle(&event, Options::default()).await;
        let put = handler.sink.0.lock().expect("sink").clone();
        let got = match (&result, put.as_slice()) {
            (Ok(_), []) => "nothing put".to_owned(),
            (Ok(_), [e]) => format!(
                "{} {:?}",
                e.compliance_type,
                e.annotation.as_deref().unwrap_or_default()
            ),
            (Ok(_), more) => format!("{} evaluations", more.len()),
            (Err(f), _) => format!("error {:?}, {} put", f.error.to_string(), put.len()),
        };
        let ok = match want {
            Outcome::Put(c, phrase) => matches!((&result, put.as_slice()), (Ok(_), [e])
                if e.compliance_type == *c && e.annotation.as_deref().unwrap_or_default().contains(phrase)),
            Outcome::Nothing => result.is_ok() && put.is_empty(),
            Outcome::Error(phrase) => {
                put.is_empty()
                    && result
                        .as_ref()
                        .is_err_and(|f| f.error.to_string().contains(phrase))
            }
        };
        if !ok {
            let want = match want {
                Outcome::Put(c, phrase) => format!("{c} with {phrase:?}"),
                Outcome::Nothing => "nothing put".to_owned(),
                Outcome::Error(phrase) => format!("an error with {phrase:?}"),
            };
            failures.push(format!(
                "{file} ({}): got {got}, want {want}",
                match sent {
                    Sent::AsWritten => "as written",
                    Sent::WithoutParameters => "ruleParameters {}",
                    Sent::InScope => "eventLeftScope false",
                }
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
