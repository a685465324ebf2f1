//! Hostile and malformed requests: each gets a clear 4xx problem document, changes
//! nothing, and leaves no secret in the log.

use crate::harness::{installs, Install, ADMIN_PASSWORD};
use crate::http::{send, Browser};

/// What is wrong, the body, the headers, the expected status and problem code.
type Case<'a> = (&'a str, Vec<u8>, &'a [(&'a str, &'a str)], u16, &'a str);

fn org_count(base: &str, token: &str) -> usize {
    let r = send(base, "GET", "/api/v1/organisations", &[("Authorization", &format!("Bearer {token}"))], b"");
    r.json().as_array().unwrap().len()
}

fn audit_len(install: &Install) -> usize {
    install.ok(&["admin", "audit", "verify"], None).split_whitespace().find_map(|w| w.parse().ok()).unwrap()
}

#[test]
fn malformed_requests_get_problem_documents_and_change_nothing() {
    for install in installs() {
        install.user("admin@cert.tw", "Rampart CERT", "cert", "admin");
        let token = install.token("admin@cert.tw", "read,write,admin");
        let server = install.start(&[("RAMPART_MAX_BODY_BYTES", "4096")]);
        let base = &server.base;
        let auth = format!("Bearer {token}");
        let json_headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
        let auth_only = [("Authorization", auth.as_str())];
        let before_orgs = org_count(base, &token);
        let before_audit = audit_len(&install);

        let big = format!(r#"{{"name":"{}","org_type":"vendor"}}"#, "x".repeat(10_000));
        let cases: Vec<Case> = vec![
            ("malformed JSON", b"{\"name\": ".to_vec(), &json_headers, 400, "invalid_json"),
            ("wrong type", br#"{"name": 42, "org_type": "vendor"}"#.to_vec(), &json_headers, 422, "validation_failed"),
            ("unknown enum value", br#"{"name": "X", "org_type": "pirate"}"#.to_vec(), &json_headers, 422, "validation_failed"),
            (
                "unknown field",
                br#"{"name": "X", "org_type": "vendor", "is_admin": true}"#.to_vec(),
                &json_headers,
                422,
                "validation_failed",
            ),
            ("invalid UTF-8", b"{\"name\": \"\xff\xfe\", \"org_type\": \"vendor\"}".to_vec(), &json_headers, 400, "invalid_json"),
            ("oversized body", big.into_bytes(), &json_headers, 413, "payload_too_large"),
            ("no content type", br#"{"name": "X", "org_type": "vendor"}"#.to_vec(), &auth_only, 415, "unsupported_media_type"),
            ("empty name", br#"{"name": "  ", "org_type": "vendor"}"#.to_vec(), &json_headers, 422, "validation_failed"),
            (
                "bad country",
                br#"{"name": "Y", "org_type": "vendor", "country": "Taiwan"}"#.to_vec(),
                &json_headers,
                422,
                "validation_failed",
            ),
            (
                "unknown sector",
                br#"{"name": "Y", "org_type": "vendor", "sector": "'; DROP TABLE organisations; --"}"#.to_vec(),
                &json_headers,
                422,
                "validation_failed",
            ),
        ];
        for (what, body, headers, status, code) in cases {
            let r = send(base, "POST", "/api/v1/organisations", headers, &body);
            assert_eq!(r.status, status, "{what}: {}", r.text());
            assert_eq!(r.header("content-type"), Some("application/problem+json"), "{what}");
            let problem = r.json();
            assert_eq!(problem["code"], code, "{what}: {problem}");
            assert_eq!(problem["status"], status, "{what}");
            assert!(problem["type"].as_str().unwrap().starts_with("urn:rampart:problem:"), "{what}");
            assert!(!problem["detail"].as_str().unwrap().is_empty(), "{what}");
        }
        let bad_query = send(base, "GET", "/api/v1/audit?limit=lots", &json_headers, b"");
        assert_eq!((bad_query.status, bad_query.json()["code"].as_str()), (400, Some("invalid_query")));
        let unknown = send(base, "GET", "/api/v1/nothing-here", &json_headers, b"");
        assert_eq!((unknown.status, unknown.json()["code"].as_str()), (404, Some("not_found")));

        assert_eq!(org_count(base, &token), before_orgs, "nothing was created");
        assert_eq!(audit_len(&install), before_audit, "nothing was written");
        assert!(install.ok(&["admin", "audit", "verify"], None).contains("intact"));
    }
}

#[test]
fn injection_attempts_are_stored_as_text_and_escaped_in_pages() {
    for install in installs() {
        install.user("admin@cert.tw", "Rampart CERT", "cert", "admin");
        let token = install.token("admin@cert.tw", "read,write,admin");
        let server = install.start(&[("RAMPART_REQUIRE_TOTP_FOR_STAFF", "false")]);
        let base = &server.base;
        let auth = format!("Bearer {token}");
        let hostile = r#"<script>alert(1)</script>'); DROP TABLE users; --"#;
        let body = serde_json::json!({ "name": hostile, "org_type": "enterprise" }).to_string();
        let r =
            send(base, "POST", "/api/v1/organisations", &[("Authorization", &auth), ("Content-Type", "application/json")], body.as_bytes());
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["name"], hostile, "stored as given");
        assert!(install.ok(&["admin", "user", "list"], None).contains("admin@cert.tw"), "the users table is still there");

        let mut browser = Browser::new(base);
        let login = browser.submit("/login", "/login", &[("email", "admin@cert.tw"), ("password", ADMIN_PASSWORD)]);
        assert_eq!(login.status, 303, "{}", login.text());
        let page = browser.get("/admin/orgs").text();
        assert!(!page.contains("<script>alert(1)"), "markup from data is escaped");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;") || page.contains("&#60;script&#62;"), "and shown as text");
    }
}

#[test]
fn secrets_never_reach_the_log() {
    let install = crate::harness::sqlite_install();
    install.user("admin@cert.tw", "Rampart CERT", "cert", "admin");
    let token = install.token("admin@cert.tw", "read");
    let server = install.start(&[("RAMPART_LOG", "trace")]);
    let mut browser = Browser::new(&server.base);
    browser.submit("/login", "/login", &[("email", "admin@cert.tw"), ("password", "wrong password attempt 123")]);
    browser.submit("/login", "/login", &[("email", "admin@cert.tw"), ("password", ADMIN_PASSWORD)]);
    send(&server.base, "GET", "/api/v1/me", &[("Authorization", &format!("Bearer {token}"))], b"");
    let session = browser.cookies.get("rampart_session").cloned().expect("signed in");
    drop(server);
    let log = std::fs::read_to_string(install.log_path()).unwrap();
    assert!(!log.is_empty(), "trace logging produced output");
    for secret in [ADMIN_PASSWORD, "wrong password attempt 123", token.as_str(), session.as_str()] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
}
