#![no_main]
//! MISP events come from peers' feeds and members' PyMISP: an event becomes STIX objects
//! that pass validation, or is refused with a reason.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let mut n = 0u32;
    let mut fresh = || {
        n += 1;
        format!("00000000-0000-4000-8000-{n:012}")
    };
    if let Ok(objects) = rampart_intel::misp::event_to_stix(&doc, "2026-11-30T00:00:00.000Z", &mut fresh) {
        assert!(!objects.is_empty() && objects[0]["type"] == "report");
    }
});
