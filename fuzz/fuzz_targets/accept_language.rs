#![no_main]
//! `Accept-Language` comes from any client.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(header) = std::str::from_utf8(data) {
        if let Some(lang) = rampart_web::i18n::negotiate(header) {
            assert!(rampart_web::i18n::LANGUAGES.contains(&lang));
        }
    }
});
