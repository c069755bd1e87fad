//! Any text as `ruleParameters`: parsing never panics, and accepted parameters are well-formed.
#![no_main]

use cmk_core::RuleParams;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(p) = RuleParams::parse(Some(text)) {
        assert!(p.allowed_accounts.iter().all(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())));
        assert!(p.allowed_keys.iter().all(|k| !k.is_aws_managed_alias()));
        if let Some(tag) = &p.exempt_tag {
            assert!(!tag.key.is_empty());
        }
    }
});
