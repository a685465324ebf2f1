//! `rampart match` and `POST /api/v1/intel/match` against indicators shared through the
//! API: addresses, networks, domains with their subdomains, URLs, e-mail addresses and
//! hashes in log lines and IntelMQ events; revoked, expired, non-STIX and warninglisted
//! indicators left out; and what the caller may not read never matched for them.

use crate::harness::{installs, Install};
use crate::http::send;
use serde_json::{json, Value};

const RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";

fn indicator(n: u32, pattern: &str, extra: Value) -> Value {
    let mut o = json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--3c3a7f0e-0000-4000-8000-{n:012}"),
        "created": "2026-11-30T01:00:00.000Z", "modified": "2026-11-30T01:00:00.000Z",
        "name": format!("ioc {n}"), "pattern": pattern, "pattern_type": "stix", "valid_from": "2026-11-30T01:00:00Z"
    });
    for (k, v) in extra.as_object().unwrap() {
        o[k] = v.clone();
    }
    o
}

fn submit(base: &str, token: &str, objects: Vec<Value>) -> Value {
    let h = format!("Bearer {token}");
    let body = serde_json::to_vec(&json!({"objects": objects, "distribution": "community"})).unwrap();
    let r = send(base, "POST", "/api/v1/intel/objects", &[("Authorization", &h), ("Content-Type", "application/json")], &body);
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

fn config_with_warninglists(install: &Install) -> String {
    let lists = rampart_core::testdata::path("misp/warninglists/lists");
    let config = install.data_dir().join("rampart.toml");
    std::fs::write(&config, format!("[intel]\nwarninglists_dir = {:?}\n", lists.display().to_string())).unwrap();
    config.display().to_string()
}

#[test]
fn logs_and_events_are_matched_against_the_active_indicators() {
    for install in installs() {
        install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
        install.user("soc@bank.tw", "Member Bank", "isac_member", "org_member");
        let analyst = install.token("analyst@cert.tw", "read,write");
        let bank = install.token("soc@bank.tw", "read,write");
        let config = config_with_warninglists(&install);
        let server =
            install.start(&[("RAMPART_WARNINGLISTS_DIR", &rampart_core::testdata::path("misp/warninglists/lists").display().to_string())]);
        let base = &server.base;
        let sha256 = "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f";
        let done = submit(
            base,
            &analyst,
            vec![
                indicator(1, "[ipv4-addr:value = '185.220.101.9']", json!({})),
                indicator(2, "[ipv4-addr:value = '45.83.64.0/24']", json!({})),
                indicator(3, "[domain-name:value = 'evil.example.tw']", json!({})),
                indicator(4, "[url:value = 'http://phish.example.tw/login']", json!({})),
                indicator(5, "[email-addr:value = 'ceo@phish.example.tw']", json!({})),
                indicator(6, &format!("[file:hashes.'SHA-256' = '{sha256}']"), json!({})),
                indicator(7, "[ipv4-addr:value = '192.0.2.77']", json!({"revoked": true})),
                indicator(8, "[ipv4-addr:value = '192.0.2.78']", json!({"valid_until": "2026-11-30T02:00:00Z"})),
                indicator(9, "title:malware", json!({"pattern_type": "sigma"})),
                indicator(10, "[ipv4-addr:value = '10.1.2.3']", json!({})),
                indicator(11, "[ipv4-addr:value = '185.220.101.66']", json!({"object_marking_refs": [RED]})),
                indicator(12, "[ipv4-addr:value = '185.220.101.9' AND", json!({})),
            ],
        );
        assert_eq!(done["added"], 11, "{done}");
        let flagged = done["warninglisted"].as_array().unwrap();
        let ids: Vec<&str> = flagged.iter().map(|f| f[0].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            ["7", "8", "10"].map(|n| format!("indicator--3c3a7f0e-0000-4000-8000-{:0>12}", n)),
            "documentation and private addresses: {done}"
        );
        assert!(flagged[2][1].to_string().contains("RFC 1918"), "flagged on ingest with the list: {done}");
        let h = format!("Bearer {analyst}");
        let view =
            send(base, "GET", "/api/v1/intel/objects/indicator--3c3a7f0e-0000-4000-8000-000000000010", &[("Authorization", &h)], b"")
                .json();
        assert!(view["warninglists"].to_string().contains("RFC 1918"), "and shown with the object: {view}");
        assert!(done["refused"][0]["reason"].as_str().unwrap().contains("/pattern: column"), "an uncompilable pattern is refused: {done}");

        let log = install.data_dir().join("proxy.log");
        std::fs::write(
            &log,
            "2026-11-30T08:00:01 GET http://phish.example.tw/login from 185.220.101.9\n\
             2026-11-30T08:00:02 dns query cdn.evil.example.tw from 192.0.2.10\n\
             2026-11-30T08:00:03 mail from ceo@phish.example.tw to 45.83.64.200\n\
             2026-11-30T08:00:04 download sha256=AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F\n\
             2026-11-30T08:00:05 nothing to see: 192.0.2.77 192.0.2.78 10.1.2.3 185.220.101.66\n",
        )
        .unwrap();
        let out = install.cli(&["--config", &config, "match", log.to_str().unwrap()], None, &[]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("7 indicators")
                && stderr.contains("1 not STIX patterns")
                && stderr.contains("2 revoked or expired")
                && stderr.contains("1 only warninglisted values"),
            "{stderr}"
        );
        let hits: Vec<(u64, String)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .map(|h| (h["line"].as_u64().unwrap(), h["name"].as_str().unwrap().to_string()))
            .collect();
        let want: Vec<(u64, String)> = [(1, "ioc 1"), (1, "ioc 4"), (2, "ioc 3"), (3, "ioc 2"), (3, "ioc 5"), (4, "ioc 6"), (5, "ioc 11")]
            .iter()
            .map(|(l, n)| (*l, n.to_string()))
            .collect();
        assert_eq!(hits, want, "the analyst's hits (its own TLP:RED one too); left-out indicators never match");

        // IntelMQ events.
        let events = install.data_dir().join("events.jsonl");
        std::fs::write(&events, "{\"source.ip\": \"45.83.64.5\", \"time.source\": \"2026-11-30T00:00:00+00:00\"}\n{\"source.fqdn\": \"www.evil.example.tw\"}\nnot json\n").unwrap();
        let out = install.cli(&["match", "--format", "intelmq", events.to_str().unwrap()], None, &[]);
        let printed = String::from_utf8_lossy(&out.stdout);
        assert_eq!(printed.lines().count(), 2, "{printed}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(":3: not an IntelMQ JSON event"));

        // A member's own TLP:RED indicator matches for that member only, through the API.
        let pending = submit(base, &bank, vec![indicator(21, "[ipv4-addr:value = '185.220.101.78']", json!({}))]);
        assert_eq!(pending["status"], "pending", "a member's submission waits for review");
        let orgs = send(base, "GET", "/api/v1/organisations", &[("Authorization", &format!("Bearer {analyst}"))], b"").json();
        let bank_org = orgs.as_array().unwrap().iter().find(|o| o["name"] == "Member Bank").unwrap()["id"].as_str().unwrap().to_string();
        let trust =
            send(base, "PUT", &format!("/api/v1/intel/publishers/{bank_org}"), &[("Authorization", &format!("Bearer {analyst}"))], b"");
        assert_eq!(trust.status, 204);
        let red = submit(base, &bank, vec![indicator(20, "[ipv4-addr:value = '185.220.101.77']", json!({"object_marking_refs": [RED]}))]);
        assert_eq!(red["status"], "published");
        let ask = |token: &str, text: &str| {
            let h = format!("Bearer {token}");
            let body = serde_json::to_vec(&json!({"text": text})).unwrap();
            let r = send(base, "POST", "/api/v1/intel/match", &[("Authorization", &h), ("Content-Type", "application/json")], &body);
            assert_eq!(r.status, 200, "{}", r.text());
            r.json()
        };
        let names = |r: &Value| -> Vec<String> {
            r["hits"].as_array().unwrap().iter().map(|h| h["indicator"]["name"].as_str().unwrap().to_string()).collect()
        };
        let line = "185.220.101.77 185.220.101.78 185.220.101.9";
        assert_eq!(names(&ask(&bank, line)), ["ioc 1", "ioc 20"], "its own and the community's; nothing waiting for review");
        assert_eq!(names(&ask(&analyst, line)), ["ioc 1"], "staff do not see a member's TLP:RED");
        assert_eq!(ask(&analyst, "x")["report"]["warninglisted"], 1);
    }
}
