#![no_main]
//! Rules files are written by operators, but errors must point somewhere, never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = rampart_pipeline::rules::compile(text) {
            assert!(!e.to_string().is_empty());
        }
    }
});
