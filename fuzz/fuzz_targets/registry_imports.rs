#![no_main]
//! Registry imports come from files operators download (RIPE dumps, RIR statistics,
//! spreadsheets): every parser must reject bad lines by number, never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        use rampart_core::constituency::{import_csv, import_routing, import_rpsl};
        for parsed in [import_csv::parse_csv(text), import_rpsl::parse_rpsl(&[("fuzz", text)], "TW")] {
            assert!(parsed.rejected.iter().all(|r| r.line >= 1 && r.line <= parsed.lines));
        }
        for parsed in [import_routing::parse_network_asn_cc(text), import_routing::parse_rir_delegated(text)] {
            assert!(parsed.rejected.iter().all(|r| r.line >= 1 && r.line <= parsed.lines));
        }
    }
});
