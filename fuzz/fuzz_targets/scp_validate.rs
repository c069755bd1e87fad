//! Any bytes as an SCP document: the validator never panics, every finding has a JSON path and a
//! message, and a document that parses gets the same findings once minified (the validator judges
//! content, not layout; AWS stores SCPs minified).
#![no_main]

use guardrails::iam::catalogue;
use guardrails::render::scp::minify;
use guardrails::validate::scp::{ValidateOptions, validate_scp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let cat = catalogue().expect("vendored IAM catalogue");
    let opts = ValidateOptions::default();
    let findings = validate_scp("f.json", text, cat, &opts);
    for f in &findings {
        assert!(f.path.starts_with('$'), "{f:?}");
        assert!(!f.message.is_empty(), "{f:?}");
    }
    if let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) {
        let again = validate_scp("f.json", &minify(&doc), cat, &opts);
        let codes = |v: &[guardrails::validate::scp::Finding]| {
            let mut c: Vec<(String, String)> = v
                .iter()
                .filter(|f| format!("{:?}", f.code) != "SizeExceeded")
                .map(|f| (format!("{:?}", f.code), f.path.clone()))
                .collect();
            c.sort();
            c
        };
        assert_eq!(codes(&findings), codes(&again), "minified document judged differently");
    }
});
