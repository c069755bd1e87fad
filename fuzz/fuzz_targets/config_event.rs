//! Any bytes as a Config rule event: decoding never panics, and without an answer from KMS no
//! input can produce COMPLIANT (a parse failure or an unknown key never becomes a pass).
#![no_main]

use cmk_core::{Compliance, ConfigEvent, FakeKeys, InvokingEvent, RuleParams, evaluate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = ConfigEvent::from_slice(data) else { return };
    let params = RuleParams::parse(event.rule_parameters.as_deref());
    let Ok(InvokingEvent::Change { item }) = event.invoking_event() else { return };
    let Ok(params) = params else { return };
    let keys = FakeKeys::default();
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    if let Ok(verdict) = runtime.block_on(evaluate(&item, &params, &keys)) {
        assert_ne!(verdict.compliance, Compliance::Compliant, "COMPLIANT without any key answer");
        if let Some(a) = &verdict.annotation {
            assert!(!a.is_empty() && a.len() <= 256 && a.is_ascii());
        }
    }
});
