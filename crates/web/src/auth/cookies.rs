//! Reading and writing the few cookies Rampart sets.

use axum::http::{header, HeaderMap};

pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 256)
}

/// A `Set-Cookie` value: always `HttpOnly` and `SameSite=Lax`, `Secure` behind TLS.
pub fn set(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}")
}

pub fn clear(name: &str, secure: bool) -> String {
    set(name, "", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    proptest::proptest! {
        #[test]
        fn any_cookie_header_parses_without_panicking(raw in "[ -~]{0,300}", name in "[a-z_]{1,16}") {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&raw) {
                h.insert(header::COOKIE, v);
            }
            if let Some(value) = get(&h, &name) {
                proptest::prop_assert!(!value.is_empty() && value.len() <= 256 && !value.contains(';'));
            }
        }
    }

    #[test]
    fn parse_and_format() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; rampart_session=xyz; b=2"));
        assert_eq!(get(&h, "rampart_session").as_deref(), Some("xyz"));
        assert_eq!(get(&h, "missing"), None);
        assert_eq!(set("s", "v", 60, true), "s=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
        assert!(!clear("s", false).contains("Secure"));
    }
}
