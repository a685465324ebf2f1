#![no_main]
//! Indicators' patterns come from peers and members: a pattern compiles or is refused
//! with a position inside it, and a compiled one evaluates without panicking.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match rampart_intel::pattern::Pattern::parse(text) {
        Ok(p) => {
            let _ = p.anchors();
            let now = chrono::Utc::now();
            let objects = vec![("0".to_string(), serde_json::json!({"type": "ipv4-addr", "value": "198.51.100.1"}))];
            let _ = p.matches(&[rampart_intel::pattern::Observation { first_observed: now, last_observed: now, objects }]);
        }
        Err(e) => assert!(e.at <= text.len()),
    }
});
