use crate::harness::{installs, sqlite_install};
use crate::http::send;
use serde_json::json;

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn openapi_document_is_generated_from_the_code_and_committed() {
    let install = sqlite_install();
    let printed = install.ok(&["openapi"], None);
    let doc: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "OpenAPI 3.1");
    for path in ["/api/v1/me", "/api/v1/organisations", "/api/v1/users", "/api/v1/tokens", "/api/v1/audit"] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());

    let server = install.start(&[]);
    let served = send(&server.base, "GET", "/api/v1/openapi.json", &[], b"");
    assert_eq!(served.status, 200);
    assert_eq!(served.json(), doc, "the served document is the generated one");

    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json")).expect("docs/openapi.json");
    let committed: serde_json::Value = serde_json::from_str(&committed).unwrap();
    assert_eq!(committed, doc, "docs/openapi.json is stale: run `cargo run -q -- openapi > docs/openapi.json`");
}

#[test]
fn organisations_and_users_follow_the_policy() {
    for install in installs() {
        install.user("admin@cert.tw", "Rampart CERT", "cert", "admin");
        install.user("auditor@cert.tw", "Rampart CERT", "cert", "auditor");
        let admin = install.token("admin@cert.tw", "read,write,admin");
        let auditor = install.token("auditor@cert.tw", "read");
        let server = install.start(&[]);
        let base = &server.base;
        let post = |token: &str, path: &str, body: serde_json::Value| {
            send(
                base,
                "POST",
                path,
                &[("Authorization", &bearer(token)), ("Content-Type", "application/json")],
                body.to_string().as_bytes(),
            )
        };
        let get = |token: &str, path: &str| send(base, "GET", path, &[("Authorization", &bearer(token))], b"");

        let created = post(
            &admin,
            "/api/v1/organisations",
            json!({"name": "Taiwan Power Company", "org_type": "critical_infrastructure", "sector": "tw-ci.energy"}),
        );
        assert_eq!(created.status, 201, "{}", created.text());
        let taipower = created.json();
        assert_eq!(taipower["country"], "TW");
        let org_id = taipower["id"].as_str().unwrap().to_string();
        let other =
            post(&admin, "/api/v1/organisations", json!({"name": "Chunghwa Telecom", "org_type": "critical_infrastructure"})).json();

        let dup = post(&admin, "/api/v1/organisations", json!({"name": "taiwan power company", "org_type": "enterprise"}));
        assert_eq!((dup.status, dup.json()["code"].as_str()), (409, Some("conflict")));

        let soc = post(
            &admin,
            "/api/v1/users",
            json!({"email": "soc@taipower.com.tw", "org_id": org_id, "roles": ["org_admin"], "password": "a long enough password"}),
        );
        assert_eq!(soc.status, 201, "{}", soc.text());
        assert!(soc.json().get("password_hash").is_none(), "no secret in responses");
        let staff_there = post(&admin, "/api/v1/users", json!({"email": "x@taipower.com.tw", "org_id": org_id, "roles": ["analyst"]}));
        assert_eq!(staff_there.status, 422, "staff roles only in the CERT");

        let soc_rw = install.token("soc@taipower.com.tw", "read,write");
        let member = post(&soc_rw, "/api/v1/users", json!({"email": "m@taipower.com.tw", "org_id": org_id, "roles": ["org_member"]}));
        assert_eq!(
            (member.status, member.json()["code"].as_str()),
            (403, Some("insufficient_scope")),
            "user creation needs the admin scope"
        );
        // An organisation administrator manages its own users only, and grants no staff roles.
        let soc_token = install.token("soc@taipower.com.tw", "read,write,admin");
        let member = post(&soc_token, "/api/v1/users", json!({"email": "m@taipower.com.tw", "org_id": org_id, "roles": ["org_member"]}));
        assert_eq!(member.status, 201, "{}", member.text());
        let elsewhere = post(&soc_token, "/api/v1/users", json!({"email": "m@cht.com.tw", "org_id": other["id"], "roles": ["org_member"]}));
        assert_eq!(elsewhere.status, 403);
        let promote = post(&soc_token, "/api/v1/users", json!({"email": "boss@taipower.com.tw", "org_id": org_id, "roles": ["admin"]}));
        assert_eq!(promote.status, 403, "no staff roles from an organisation administrator");
        let visible = get(&soc_token, "/api/v1/organisations").json();
        assert_eq!(visible.as_array().unwrap().len(), 1, "a constituent sees only its own organisation: {visible}");
        let foreign = get(&soc_token, &format!("/api/v1/organisations/{}", other["id"].as_str().unwrap()));
        assert_eq!(foreign.status, 404, "other organisations are not even confirmed to exist");
        assert_eq!(get(&soc_token, "/api/v1/audit").status, 403);
        assert_eq!(get(&soc_token, "/metrics").status, 403, "metrics are for staff");

        // The auditor reads everything and changes nothing.
        assert_eq!(get(&auditor, "/api/v1/organisations").json().as_array().unwrap().len(), 3);
        assert_eq!(
            get(&soc_token, "/api/v1/users").json().as_array().unwrap().len(),
            2,
            "an organisation administrator lists its own users"
        );
        let audit = get(&auditor, "/api/v1/audit?limit=500");
        assert_eq!(audit.status, 200);
        let actions: Vec<String> = audit.json().as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
        assert!(actions.contains(&"organisation.create".to_string()) && actions.contains(&"user.create".to_string()), "{actions:?}");
        let write = post(&auditor, "/api/v1/organisations", json!({"name": "X", "org_type": "vendor"}));
        assert_eq!((write.status, write.json()["code"].as_str()), (403, Some("insufficient_scope")), "a read token cannot write");
        let metrics = get(&auditor, "/metrics");
        assert_eq!(metrics.status, 200);
        assert!(metrics.text().contains("rampart_http_responses_total{class=\"2xx\"}"));

        let sectors = get(&auditor, "/api/v1/sectors").json();
        assert!(sectors.as_array().unwrap().iter().any(|s| s["code"] == "nis2-1.health"), "NIS2 sectors shipped");
    }
}

#[test]
fn tokens_are_scoped_expiring_shown_once_and_revocable() {
    let install = sqlite_install();
    install.user("admin@cert.tw", "Rampart CERT", "cert", "admin");
    let admin = install.token("admin@cert.tw", "read,write");
    let server = install.start(&[]);
    let base = &server.base;
    let auth = bearer(&admin);
    let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
    let made = send(base, "POST", "/api/v1/tokens", &headers, br#"{"name":"feed","scopes":["read"],"expires_days":30}"#);
    assert_eq!(made.status, 201, "{}", made.text());
    let made = made.json();
    let secret = made["token"].as_str().unwrap().to_string();
    assert!(made["expires_at"].is_string());
    let escalate = send(base, "POST", "/api/v1/tokens", &headers, br#"{"name":"more","scopes":["admin"]}"#);
    assert_eq!(escalate.status, 403, "a token cannot mint a token with more scope than it has");

    let listed = send(base, "GET", "/api/v1/tokens", &headers, b"").text();
    assert!(!listed.contains(&secret) && !listed.contains("digest"), "the secret is shown once only");
    assert_eq!(send(base, "GET", "/api/v1/me", &[("Authorization", &bearer(&secret))], b"").status, 200);

    let id = made["id"].as_str().unwrap();
    assert_eq!(send(base, "DELETE", &format!("/api/v1/tokens/{id}"), &headers, b"").status, 204);
    assert_eq!(send(base, "GET", "/api/v1/me", &[("Authorization", &bearer(&secret))], b"").status, 401, "revoked");
}

#[test]
fn separate_metrics_listener() {
    let install = sqlite_install();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let server = install.start(&[("RAMPART_METRICS_LISTEN", &addr)]);
    let metrics = send(&format!("http://{addr}"), "GET", "/metrics", &[], b"");
    assert_eq!(metrics.status, 200);
    assert!(metrics.text().contains("rampart_logins_total"));
    assert_eq!(send(&server.base, "GET", "/metrics", &[], b"").status, 401, "the main listener still asks who you are");
}
