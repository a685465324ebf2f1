#![no_main]
//! `Cookie` headers come from any client.
use axum::http::{header, HeaderMap, HeaderValue};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(data) {
        headers.insert(header::COOKIE, value);
    }
    let _ = rampart_web::auth::cookies::get(&headers, "rampart_session");
});
