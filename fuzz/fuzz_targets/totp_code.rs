#![no_main]
//! TOTP codes are typed by anyone at the sign-in form.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (secret, code) = text.split_at(text.len() / 2);
    let _ = rampart_core::totp::verify(secret, code, 1_700_000_000, None);
});
