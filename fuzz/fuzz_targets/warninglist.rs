#![no_main]
//! Warninglists are downloaded from MISP's repository or peers; values checked against
//! them come from feeds. Neither may panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (json, value) = text.split_once('\n').unwrap_or((text, "10.0.0.1"));
    if let Ok(list) = rampart_intel::warninglist::Warninglist::parse(json, "fuzz") {
        let (set, _) = rampart_intel::warninglist::WarninglistSet::new(vec![list]);
        for kind in ["ip-dst", "domain", "url", "md5", "domain|ip"] {
            let _ = set.check(kind, value);
        }
    }
});
