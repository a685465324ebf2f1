//! MISP feeds: what is exported is what a peer may read (TLP:RED and TLP:AMBER stay
//! home), over HTTP and as a folder; another Rampart imports the folder or the URL, once
//! (an import repeated adds nothing); a real MISP event from PyMISP's fixtures goes in
//! with every attribute, and a broken event is skipped with the reason.

use crate::harness::{installs, sqlite_install, Install};
use crate::http::send;
use serde_json::{json, Value};

fn add_event(base: &str, key: &str, info: &str, tlp: &str, attributes: Value) -> Value {
    let body = serde_json::to_vec(&json!({"Event": {"info": info, "distribution": "1", "Tag": [{"name": tlp}], "Attribute": attributes}}))
        .unwrap();
    let r = send(
        base,
        "POST",
        "/events/add",
        &[("Authorization", key), ("Content-Type", "application/json"), ("Accept", "application/json")],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["Event"].clone()
}

fn import(install: &Install, source: &str, env: &[(&str, &str)], extra: &[&str]) -> (bool, String) {
    let mut args = vec!["misp-feed", "import", source, "--org", "Peer CERT"];
    args.extend_from_slice(extra);
    let out = install.cli(&args, None, env);
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn shareable_events_go_out_as_a_feed_and_come_in_once() {
    for install in installs() {
        install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
        install.user("soc@bank.tw", "Member Bank", "isac_member", "org_member");
        let key = install.token("analyst@cert.tw", "read,write");
        let member = install.token("soc@bank.tw", "read");
        let server = install.start(&[]);
        let base = &server.base;
        let green = add_event(
            base,
            &key,
            "Shared phishing wave",
            "tlp:green",
            json!([
                {"type": "domain", "value": "login-bank.example.tw", "to_ids": true},
                {"type": "ip-dst", "value": "185.220.101.9", "to_ids": true, "comment": "C2"}
            ]),
        );
        add_event(base, &key, "Amber details", "tlp:amber", json!([{"type": "ip-dst", "value": "185.220.101.10"}]));
        add_event(base, &key, "Red secret", "tlp:red", json!([{"type": "ip-dst", "value": "185.220.101.66"}]));
        let uuid = green["uuid"].as_str().unwrap().to_string();

        // Over HTTP, as the member sees it.
        let manifest = send(base, "GET", "/feeds/misp/manifest.json", &[("Authorization", &member)], b"").json();
        assert_eq!(manifest.as_object().unwrap().keys().collect::<Vec<_>>(), [&uuid]);
        assert_eq!(manifest[&uuid]["info"], "Shared phishing wave");
        let hashes = send(base, "GET", "/feeds/misp/hashes.csv", &[("Authorization", &member)], b"").text();
        assert!(hashes.contains(&format!("{},{uuid}", md5_of("185.220.101.9"))), "{hashes}");
        assert_eq!(send(base, "GET", "/feeds/misp/hashes.csv", &[], b"").status, 403);

        // As a folder, for any member of the community.
        let dir = install.data_dir().join("feed");
        let out = install.ok(&["misp-feed", "export", dir.to_str().unwrap()], None);
        assert!(out.contains("1 events, 2 attributes"), "{out}");
        let files: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(files.len(), 3, "{files:?}");
        let exported = std::fs::read_to_string(dir.join(format!("{uuid}.json"))).unwrap();
        assert!(!exported.contains("185.220.101.66") && !exported.contains("185.220.101.10"));

        // Another Rampart imports it: from the folder, then (again) from the URL.
        let peer = sqlite_install();
        peer.ok(&["admin", "org", "add", "Peer CERT", "--type", "peer_csirt"], None);
        let (ok, printed) = import(&peer, dir.to_str().unwrap(), &[], &[]);
        assert!(ok && printed.contains("1 events, 2 attributes; 3 objects new, 0 already present"), "{printed}");
        let (ok, printed) = import(&peer, &format!("{base}/feeds/misp"), &[("FEED_AUTH", &member)], &["--auth-header-env", "FEED_AUTH"]);
        assert!(ok && printed.contains("0 objects new, 3 already present"), "{printed}");
        let (ok, printed) = import(&peer, &format!("{base}/feeds/misp"), &[("FEED_AUTH", "wrong")], &["--auth-header-env", "FEED_AUTH"]);
        assert!(!ok && printed.contains("403"), "{printed}");
        drop(server);
    }
}

fn md5_of(s: &str) -> String {
    use md5::Digest;
    format!("{:x}", md5::Md5::digest(s.as_bytes()))
}

#[test]
fn a_misp_event_from_pymisp_goes_in_with_every_attribute() {
    let install = sqlite_install();
    install.ok(&["admin", "org", "add", "Peer CERT", "--type", "peer_csirt"], None);
    install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
    let key = install.token("analyst@cert.tw", "read");
    let fixture = rampart_core::testdata::read("misp/pymisp/tests/57c4445b-c548-4654-af0b-4be3950d210f.json");
    let event: Value = serde_json::from_str(&fixture).unwrap();
    let uuid = "57c4445b-c548-4654-af0b-4be3950d210f";
    let dir = install.data_dir().join("incoming");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{uuid}.json")), &fixture).unwrap();
    let broken = "0b9f1d4e-0000-4000-8000-000000000001";
    std::fs::write(dir.join(format!("{broken}.json")), "{\"Event\": {\"info\": \"\"}}").unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec(&json!({uuid: {"info": "x"}, broken: {"info": "y"}, "../etc/passwd": {}})).unwrap(),
    )
    .unwrap();
    let (ok, printed) = import(&install, dir.to_str().unwrap(), &[], &[]);
    assert!(!ok, "a skipped event makes the exit status say so");
    let sent = event["Event"]["Attribute"].as_array().unwrap().len();
    assert!(printed.contains(&format!("1 events, {sent} attributes")), "{printed}");
    assert!(
        printed.contains(&format!("skipped {broken}: an event needs an info")) && printed.contains("skipped ../etc/passwd: not a uuid"),
        "{printed}"
    );

    let server = install.start(&[]);
    let back = send(&server.base, "GET", &format!("/events/view/{uuid}"), &[("Authorization", &key)], b"").json();
    let got: Vec<(String, String)> = back["Event"]["Attribute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["type"].as_str().unwrap().to_string(), a["value"].as_str().unwrap().to_string()))
        .collect();
    let want: Vec<(String, String)> = event["Event"]["Attribute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["type"].as_str().unwrap().to_string(), a["value"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(got, want, "every attribute, in order, with type and value");
    assert_eq!(back["Event"]["info"], event["Event"]["info"]);
}
