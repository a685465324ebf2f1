//! The intelligence pages as a browser without JavaScript uses them, in English and
//! Traditional Chinese: a member shares a bundle through the form and it waits for
//! review; an analyst accepts it from the review queue; the member's TLP:RED object
//! appears on no page for the analyst; sharing groups are kept by staff; the peers page
//! lists the configured pulls.

use crate::harness::{sqlite_install, ADMIN_PASSWORD};
use crate::http::Browser;
use serde_json::json;

fn sign_in(base: &str, email: &str) -> Browser {
    let mut b = Browser::new(base);
    let r = b.submit("/login", "/login", &[("email", email), ("password", ADMIN_PASSWORD)]);
    assert_eq!(r.location(), "/", "{email} signs in");
    b
}

fn indicator(n: u32, name: &str, marking: Option<&str>) -> serde_json::Value {
    let mut o = json!({
        "type": "indicator", "spec_version": "2.1", "id": format!("indicator--1f0c2d3e-0000-4000-8000-{n:012}"),
        "created": "2026-11-30T01:00:00.000Z", "modified": "2026-11-30T01:00:00.000Z",
        "name": name, "pattern": format!("[ipv4-addr:value = '185.220.101.{n}']"), "pattern_type": "stix", "valid_from": "2026-11-30T01:00:00Z"
    });
    if let Some(m) = marking {
        o["object_marking_refs"] = json!([m]);
    }
    o
}

#[test]
fn members_share_through_the_form_and_staff_review_in_the_browser() {
    let install = sqlite_install();
    install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
    install.user("soc@bank.tw", "Member Bank", "isac_member", "org_member");
    let config = install.data_dir().join("rampart.toml");
    std::fs::write(
        &config,
        "[[intel.taxii_pulls]]\nname = \"jpcert\"\ncollection_url = \"https://taxii.peer.example/taxii2/api/collections/abc/\"\norg = \"Peer CSIRT\"\nevery_minutes = 120\n",
    )
    .unwrap();
    let server = install.start(&[("RAMPART_REQUIRE_TOTP_FOR_STAFF", "false"), ("RAMPART_CONFIG", config.to_str().unwrap())]);
    let base = &server.base;

    // The member shares a bundle: one GREEN indicator for the community, one TLP:RED.
    let mut member = sign_in(base, "soc@bank.tw");
    assert!(member.get("/").text().contains("id=\"nav-intel\""));
    let form = member.get("/intel/submit").text();
    assert!(form.contains("id=\"intel-submit-form\"") && !form.contains("value=\"public\""), "members do not publish to everyone");
    let bundle = json!({"type": "bundle", "id": "bundle--5f1a2b3c-0000-4000-8000-000000000001", "objects": [
        indicator(1, "Bank phishing C2", None),
        indicator(2, "Bank's own secret", Some("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1")),
    ]});
    let sent =
        member.submit("/intel/submit", "/intel/submit", &[("stix", &bundle.to_string()), ("distribution", "community"), ("tlp", "green")]);
    assert_eq!(sent.location(), "/intel");
    assert!(member.get("/intel").text().contains("waits for review"), "the flash says it waits");
    let broken = member.submit(
        "/intel/submit",
        "/intel/submit",
        &[("stix", "{\"type\": \"indicator\"}"), ("distribution", "community"), ("tlp", "green")],
    );
    assert_eq!(broken.location(), "/intel/submit");
    assert!(member.get("/intel/submit").text().contains("Not shared"), "the refusal is shown");
    assert_eq!(member.get("/intel/review").status, 403);

    // The analyst reviews: the TLP:RED object is not the CERT's to see, so it is not listed.
    let mut analyst = sign_in(base, "analyst@cert.tw");
    let queue = analyst.get("/intel/review").text();
    assert!(queue.contains("Bank phishing C2") && !queue.contains("Bank's own secret"), "{queue}");
    let seq = queue.split("id=\"review-").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();
    let accepted = analyst.submit("/intel/review", &format!("/intel/review/{seq}/accept"), &[]);
    assert_eq!(accepted.location(), "/intel/review");
    let list = analyst.get("/intel").text();
    assert!(list.contains("Bank phishing C2") && !list.contains("Bank's own secret"), "{list}");
    let object = analyst.get("/intel/objects/indicator--1f0c2d3e-0000-4000-8000-000000000001").text();
    assert!(object.contains("TLP:GREEN") && object.contains("Member Bank"), "{object}");
    assert_eq!(analyst.get("/intel/objects/indicator--1f0c2d3e-0000-4000-8000-000000000002").status, 404);
    assert!(analyst.get("/intel?q=secret").text().contains("id=\"intel-empty\""));

    // Sharing groups: staff create one and add the bank; the bank sees it, read-only.
    assert_eq!(
        analyst.submit("/intel/groups", "/intel/groups", &[("name", "Finance ISAC"), ("description", "banks")]).location(),
        "/intel/groups"
    );
    let groups = analyst.get("/intel/groups").text();
    let id = groups.split("action=\"/intel/groups/").nth(1).and_then(|s| s.split('/').next()).unwrap().to_string();
    let bank = groups
        .split("<option value=\"")
        .skip(1)
        .find(|o| o.contains(">Member Bank<"))
        .and_then(|o| o.split('"').next())
        .unwrap()
        .to_string();
    assert_eq!(analyst.submit("/intel/groups", &format!("/intel/groups/{id}/add"), &[("org", &bank)]).location(), "/intel/groups");
    let seen = member.get("/intel/groups").text();
    assert!(seen.contains("Finance ISAC") && !seen.contains("id=\"intel-group-form\""), "members see their groups, not the controls");

    // Peers, and the pages in Traditional Chinese.
    let peers = analyst.get("/intel/peers").text();
    assert!(peers.contains("jpcert") && peers.contains("taxii.peer.example"), "{peers}");
    assert_eq!(member.get("/intel/peers").status, 403);
    analyst.submit("/intel", "/account/language", &[("locale", "zh-TW")]);
    let zh = analyst.get("/intel").text();
    assert!(zh.contains("威脅情資") && zh.contains("審查佇列"), "{zh}");
}
