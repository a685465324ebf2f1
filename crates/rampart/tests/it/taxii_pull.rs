//! Pulling a peer's TAXII collection: another Rampart serves as the peer. The first pull
//! takes everything page by page, the next only what was added since; the peer's
//! markings stay, the peer's organisation is the producer, the collection is the
//! provenance; a failing peer is reported and leaves the state where it was.

use crate::harness::{installs, sqlite_install, Install};
use crate::http::send;
use serde_json::{json, Value};

const TAXII: &str = "application/taxii+json;version=2.1";
const COMMUNITY: &str = "5b2f2c1e-5e1a-4c8e-9d3e-000000000002";
const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";

fn indicator(n: u32, marking: Option<&str>) -> Value {
    let mut o = json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--5d0e7c1a-0000-4000-8000-{n:012}"),
        "created": "2026-11-30T01:00:00.000Z", "modified": "2026-11-30T01:00:00.000Z",
        "name": format!("peer ioc {n}"), "pattern": format!("[ipv4-addr:value = '45.83.64.{n}']"),
        "pattern_type": "stix", "valid_from": "2026-11-30T01:00:00Z"
    });
    if let Some(m) = marking {
        o["object_marking_refs"] = json!([m]);
    }
    o
}

fn publish(base: &str, token: &str, objects: &[Value]) {
    let h = format!("Bearer {token}");
    let body = serde_json::to_vec(&json!({ "objects": objects })).unwrap();
    let r = send(
        base,
        "POST",
        &format!("/taxii2/intel/collections/{COMMUNITY}/objects/"),
        &[("Accept", TAXII), ("Content-Type", TAXII), ("Authorization", &h)],
        &body,
    );
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(r.json()["success_count"], objects.len());
}

fn configure(install: &Install, peer_base: &str) -> String {
    let config = install.data_dir().join("rampart.toml");
    std::fs::write(
        &config,
        format!(
            "[[intel.taxii_pulls]]\nname = \"peer\"\ncollection_url = \"{peer_base}/taxii2/intel/collections/{COMMUNITY}/\"\n\
             org = \"Peer CSIRT\"\nshare_with = \"community\"\nauth_header_env = \"PEER_TAXII_AUTH\"\npage_size = 20\n"
        ),
    )
    .unwrap();
    config.display().to_string()
}

#[test]
fn a_peer_collection_is_pulled_incrementally_with_its_markings() {
    for install in installs() {
        // A peer of its own for each run, as each run adds to it.
        let peer = sqlite_install();
        peer.user("analyst@peer.example", "Peer Rampart CERT", "cert", "analyst");
        let peer_token = peer.token("analyst@peer.example", "read");
        peer.user("writer@peer.example", "Peer Rampart CERT", "cert", "analyst");
        let peer_writer = peer.token("writer@peer.example", "read,write");
        let peer_server = peer.start(&[("RAMPART_OPERATOR_NAME", "Peer Rampart CERT")]);
        let mut objects: Vec<Value> = (1..=45).map(|n| indicator(n, None)).collect();
        objects.push(indicator(46, Some(AMBER)));
        publish(&peer_server.base, &peer_writer, &objects);

        install.ok(&["admin", "org", "add", "Peer CSIRT", "--type", "peer_csirt"], None);
        install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
        let config = configure(&install, &peer_server.base);
        let auth = format!("Bearer {peer_token}");
        let pull = |env: &[(&str, &str)]| install.cli(&["--config", &config, "taxii-pull", "peer"], None, env);

        let out = pull(&[("PEER_TAXII_AUTH", &auth)]);
        let printed = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{printed} {}", String::from_utf8_lossy(&out.stderr));
        assert!(printed.contains("3 pages, 46 objects received, 46 new"), "{printed}");
        let state: Value = serde_json::from_slice(&std::fs::read(install.data_dir().join("intel/pulls/peer.json")).unwrap()).unwrap();
        assert!(state["added_after"].is_string() && state["last_error"].is_null(), "{state}");
        assert!(!state.to_string().contains(&peer_token), "the secret stays out of the state");

        // Nothing new: one empty page. Then one more object: only it comes.
        assert!(String::from_utf8_lossy(&pull(&[("PEER_TAXII_AUTH", &auth)]).stdout).contains("0 objects received"));
        publish(&peer_server.base, &peer_writer, &[indicator(47, None)]);
        let printed = String::from_utf8_lossy(&pull(&[("PEER_TAXII_AUTH", &auth)]).stdout).into_owned();
        assert!(printed.contains("1 objects received, 1 new"), "{printed}");

        // A wrong secret: reported, exit status 1, the state keeps its place.
        let out = pull(&[("PEER_TAXII_AUTH", "Bearer wrong")]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("the peer answered 401"), "{}", String::from_utf8_lossy(&out.stdout));
        let after: Value = serde_json::from_slice(&std::fs::read(install.data_dir().join("intel/pulls/peer.json")).unwrap()).unwrap();
        assert_eq!(after["objects_received"], 47);
        assert!(after["last_error"].as_str().unwrap().contains("401"));
        assert!(!pull(&[]).status.success(), "an unset variable is an error");

        // In Rampart: produced by the peer, from the collection, with the peer's TLP.
        let token = install.token("analyst@cert.tw", "read");
        let server = install.start(&[]);
        let h = format!("Bearer {token}");
        let mut items = Vec::new();
        let mut after_seq = 0;
        loop {
            let page =
                send(&server.base, "GET", &format!("/api/v1/intel/objects?limit=1000&after={after_seq}"), &[("Authorization", &h)], b"")
                    .json();
            let page = page.as_array().unwrap().clone();
            if page.is_empty() {
                break;
            }
            after_seq = page.last().unwrap()["seq"].as_i64().unwrap();
            items.extend(page);
        }
        assert_eq!(items.len(), 47);
        let orgs = send(&server.base, "GET", "/api/v1/organisations", &[("Authorization", &h)], b"").json();
        let peer_org = orgs.as_array().unwrap().iter().find(|o| o["name"] == "Peer CSIRT").unwrap()["id"].clone();
        assert!(items
            .iter()
            .all(|i| i["producer_org"] == peer_org && i["source"].as_str().unwrap().ends_with(&format!("/collections/{COMMUNITY}/"))));
        let amber = items.iter().find(|i| i["name"].is_null() && i["object"]["name"] == "peer ioc 46").unwrap();
        assert_eq!(amber["tlp"], "amber");
        assert_eq!(amber["object"]["object_marking_refs"], json!([AMBER]), "the object is kept as the peer sent it");
        assert!(items.iter().filter(|i| i["object"]["name"] != "peer ioc 46").all(|i| i["tlp"] == "green"));
    }
}
