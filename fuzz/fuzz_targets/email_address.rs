#![no_main]
//! E-mail addresses arrive from sign-in and registration forms.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(email) = rampart_core::account::normalise_email(text) {
            assert_eq!(rampart_core::account::normalise_email(&email), Ok(email.clone()));
        }
    }
});
