#![no_main]
//! STIX objects come from peers and members: validation answers yes or no with reasons.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Err(e) = rampart_intel::stix::StixValidator::shipped().validate(&doc) {
            assert!(!e.problems.is_empty());
        }
    }
});
