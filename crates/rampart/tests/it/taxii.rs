//! The TAXII 2.1 server and the intelligence API on the real binary, on SQLite and
//! PostgreSQL: the official STIX examples go in and come back out; a TLP:RED object and a
//! TLP:RED MISP event are walked through every way out (TAXII, REST, matching, the MISP
//! API and feed, the browser's pages) and reach no one outside their audience; requests the
//! specification refuses are refused with its status codes. (`e2e/taxii_test.py` drives
//! the same server with the unmodified taxii2-client.)

use crate::harness::{installs, sqlite_install, Install, ADMIN_PASSWORD};
use crate::http::{send, Response};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const TAXII: &str = "application/taxii+json;version=2.1";
const ROOT: &str = "/taxii2/intel";
const COMMUNITY: &str = "5b2f2c1e-5e1a-4c8e-9d3e-000000000002";
const RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";

fn auth(token: &str) -> String {
    format!("Bearer {token}")
}

fn taxii_get(base: &str, token: Option<&str>, path: &str) -> Response {
    let header = token.map(auth);
    let mut headers = vec![("Accept", TAXII)];
    if let Some(h) = &header {
        headers.push(("Authorization", h.as_str()));
    }
    send(base, "GET", path, &headers, b"")
}

fn taxii_post(base: &str, token: &str, collection: &str, objects: &[Value]) -> Response {
    let body = serde_json::to_vec(&json!({ "objects": objects })).unwrap();
    let h = auth(token);
    send(
        base,
        "POST",
        &format!("{ROOT}/collections/{collection}/objects/"),
        &[("Accept", TAXII), ("Content-Type", TAXII), ("Authorization", &h)],
        &body,
    )
}

fn api(base: &str, token: &str, method: &str, path: &str, body: Option<Value>) -> Response {
    let h = auth(token);
    let body = body.map(|b| serde_json::to_vec(&b).unwrap()).unwrap_or_default();
    send(base, method, path, &[("Authorization", &h), ("Content-Type", "application/json")], &body)
}

/// Every object of a collection, following `next` page by page.
fn all_objects(base: &str, token: Option<&str>, collection: &str, filters: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..1000 {
        let cursor = next.as_ref().map(|n| format!("&next={n}")).unwrap_or_default();
        let r = taxii_get(base, token, &format!("{ROOT}/collections/{collection}/objects/?limit=7{filters}{cursor}"));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("content-type"), Some(TAXII));
        let page = r.json();
        out.extend(page["objects"].as_array().cloned().unwrap_or_default());
        if page["more"] != json!(true) {
            return out;
        }
        next = Some(page["next"].as_str().expect("next with more").to_string());
    }
    panic!("more than 1000 pages");
}

fn examples() -> Vec<Value> {
    let root = rampart_core::testdata::path("stix/examples");
    let mut objects = Vec::new();
    let mut files: Vec<_> = walk(&root);
    files.sort();
    for file in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        objects.extend(doc["objects"].as_array().cloned().unwrap_or_default());
    }
    objects
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    out
}

fn staff(install: &Install) -> String {
    install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
    install.token("analyst@cert.tw", "read,write")
}

#[test]
fn every_official_stix_example_goes_in_through_taxii_and_comes_back() {
    for install in installs() {
        let token = staff(&install);
        let server = install.start(&[]);
        let objects = examples();
        assert!(objects.len() > 100, "the examples hold {} objects", objects.len());
        let status = taxii_post(&server.base, &token, COMMUNITY, &objects);
        assert_eq!(status.status, 202, "{}", status.text());
        let status = status.json();
        assert_eq!(status["failure_count"], 0, "{status}");
        assert_eq!(status["total_count"], objects.len());
        assert_eq!(status["status"], "complete");
        let status_again = taxii_get(&server.base, Some(&token), &format!("{ROOT}/status/{}/", status["id"].as_str().unwrap()));
        assert_eq!(status_again.json()["success_count"], status["success_count"]);

        let sent: BTreeSet<String> = objects.iter().map(|o| o["id"].as_str().unwrap().to_string()).collect();
        let back = all_objects(&server.base, Some(&token), COMMUNITY, "");
        let got: BTreeSet<String> = back.iter().map(|o| o["id"].as_str().unwrap().to_string()).collect();
        assert_eq!(got, sent, "the latest version of every object");
        // Objects come back exactly as they were sent.
        for o in &back {
            assert!(objects.contains(o), "changed in the store: {o}");
        }
        let indicators = all_objects(&server.base, Some(&token), COMMUNITY, "&match[type]=indicator");
        assert!(!indicators.is_empty() && indicators.iter().all(|o| o["type"] == "indicator"));

        // Sending the same again changes nothing and still counts as success.
        let again = taxii_post(&server.base, &token, COMMUNITY, &objects).json();
        assert_eq!((again["success_count"].clone(), again["failure_count"].clone()), (status["success_count"].clone(), json!(0)));
        assert_eq!(all_objects(&server.base, Some(&token), COMMUNITY, "&match[version]=all").len(), back.len().max(sent.len()));
    }
}

fn indicator(n: u32, marking: Option<&str>) -> Value {
    let mut o = json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--7a1c5d8e-0000-4000-8000-{n:012}"),
        "created": "2026-11-30T01:00:00.000Z", "modified": "2026-11-30T01:00:00.000Z",
        "name": format!("C2 {n}"), "pattern": format!("[ipv4-addr:value = '203.0.113.{n}']"),
        "pattern_type": "stix", "valid_from": "2026-11-30T01:00:00Z"
    });
    if let Some(m) = marking {
        o["object_marking_refs"] = json!([m]);
    }
    o
}

/// Tokens of a CERT analyst and of members of two organisations.
fn analyst_and_two_members(install: &Install) -> (String, String, String) {
    let analyst = staff(install);
    install.user("soc@bank.tw", "Member Bank", "isac_member", "org_member");
    install.user("soc@telco.tw", "Member Telco", "isac_member", "org_member");
    (analyst, install.token("soc@bank.tw", "read,write"), install.token("soc@telco.tw", "read,write"))
}

fn org_id(base: &str, token: &str, name: &str) -> String {
    let orgs = api(base, token, "GET", "/api/v1/organisations", None).json();
    orgs.as_array().unwrap().iter().find(|o| o["name"] == name).unwrap()["id"].as_str().unwrap().to_string()
}

#[test]
fn a_tlp_red_object_reaches_no_one_outside_its_audience() {
    for install in installs() {
        let (analyst, bank, telco) = analyst_and_two_members(&install);
        let server = install.start(&[("RAMPART_REQUIRE_TOTP_FOR_STAFF", "false")]);
        let base = &server.base;
        let bank_org = org_id(base, &analyst, "Member Bank");
        assert_eq!(api(base, &analyst, "PUT", &format!("/api/v1/intel/publishers/{bank_org}"), None).status, 204);

        // The bank also shares a TLP:RED MISP event.
        const RED_EVENT: &str = "7d1e2f3a-0000-4000-8000-000000000099";
        let event = json!({"Event": {"uuid": RED_EVENT, "info": "bank only", "distribution": "1", "Tag": [{"name": "tlp:red"}],
            "Attribute": [{"type": "ip-dst", "value": "203.0.113.99", "to_ids": true}]}});
        let added = send(
            base,
            "POST",
            "/events/add",
            &[("Authorization", &bank), ("Content-Type", "application/json")],
            &serde_json::to_vec(&event).unwrap(),
        );
        assert_eq!(added.status, 200, "{}", added.text());
        let secrets = |text: &str| text.contains(RED_EVENT) || text.contains("203.0.113.99");

        // The bank shares one TLP:RED and one TLP:GREEN indicator with the community.
        let red = indicator(66, Some(RED));
        let red_id = red["id"].as_str().unwrap().to_string();
        let status = taxii_post(base, &bank, COMMUNITY, &[red.clone(), indicator(67, None)]).json();
        assert_eq!(
            (status["success_count"].clone(), status["status"].clone()),
            (json!(2), json!("complete")),
            "a trusted publisher: {status}"
        );
        let status_path = format!("{ROOT}/status/{}/", status["id"].as_str().unwrap());

        // The producer sees it everywhere.
        let everywhere = |token: Option<&str>| -> Vec<(String, Response)> {
            let mut paths = vec![
                format!("{ROOT}/collections/{COMMUNITY}/objects/"),
                format!("{ROOT}/collections/{COMMUNITY}/objects/?match[version]=all"),
                format!("{ROOT}/collections/{COMMUNITY}/objects/?match[id]={red_id}"),
                format!("{ROOT}/collections/{COMMUNITY}/objects/{red_id}/"),
                format!("{ROOT}/collections/{COMMUNITY}/objects/{red_id}/versions/"),
                format!("{ROOT}/collections/{COMMUNITY}/manifest/"),
                format!("{ROOT}/collections/5b2f2c1e-5e1a-4c8e-9d3e-000000000001/objects/"),
                status_path.clone(),
            ];
            let mut out: Vec<(String, Response)> = paths.drain(..).map(|p| (p.clone(), taxii_get(base, token, &p))).collect();
            if let Some(t) = token {
                for p in ["/api/v1/intel/objects", "/api/v1/intel/objects?type=indicator", "/api/v1/intel/review"] {
                    out.push((p.to_string(), api(base, t, "GET", p, None)));
                }
                let p = format!("/api/v1/intel/objects/{red_id}");
                out.push((p.clone(), api(base, t, "GET", &p, None)));
                let matched = api(base, t, "POST", "/api/v1/intel/match", Some(json!({"text": "seen 203.0.113.66 today"})));
                out.push(("/api/v1/intel/match".into(), matched));
            }
            // MISP's endpoints and feed take the token as it is.
            let key = token.unwrap_or("");
            for (method, p) in [
                ("GET", "/events/index".to_string()),
                ("POST", "/events/restSearch".to_string()),
                ("POST", "/attributes/restSearch".to_string()),
                ("GET", format!("/events/view/{RED_EVENT}")),
                ("GET", "/feeds/misp/manifest.json".to_string()),
                ("GET", "/feeds/misp/hashes.csv".to_string()),
                ("GET", format!("/feeds/misp/{RED_EVENT}.json")),
            ] {
                let body: &[u8] = if method == "POST" { b"{}" } else { b"" };
                out.push((p.clone(), send(base, method, &p, &[("Authorization", key), ("Content-Type", "application/json")], body)));
            }
            out
        };
        // And the pages of the browser, signed in with a password.
        let pages = |email: &str| -> Vec<(String, String)> {
            let mut browser = crate::http::Browser::new(base);
            let signed_in = browser.submit("/login", "/login", &[("email", email), ("password", ADMIN_PASSWORD)]);
            assert_eq!(signed_in.location(), "/", "{email} signs in");
            [
                "/intel".to_string(),
                "/intel?q=203.0.113".to_string(),
                format!("/intel/objects/{red_id}"),
                format!("/intel/objects/report--{RED_EVENT}"),
                "/intel/review".to_string(),
            ]
            .into_iter()
            .map(|p| {
                let text = browser.get(&p).text();
                (p, text)
            })
            .collect()
        };
        let seen_by_bank: Vec<String> =
            everywhere(Some(&bank)).into_iter().filter(|(_, r)| r.text().contains(&red_id)).map(|(p, _)| p).collect();
        assert!(seen_by_bank.len() >= 9, "the producer reads its own object everywhere, matching included: {seen_by_bank:?}");
        let misp_seen: Vec<String> = everywhere(Some(&bank)).into_iter().filter(|(_, r)| secrets(&r.text())).map(|(p, _)| p).collect();
        assert!(misp_seen.len() >= 6, "and its own MISP event, in the API and the feed: {misp_seen:?}");
        let pages_seen: Vec<String> =
            pages("soc@bank.tw").into_iter().filter(|(_, t)| t.contains(&red_id) || secrets(t)).map(|(p, _)| p).collect();
        assert!(pages_seen.len() >= 3, "and in the browser: {pages_seen:?}");

        // Nobody else does: not another member, not CERT staff, not the anonymous public.
        for (who, token) in [("another member", Some(telco.as_str())), ("CERT staff", Some(analyst.as_str())), ("anonymous", None)] {
            for (path, r) in everywhere(token) {
                assert!(
                    !r.text().contains(&red_id) && !secrets(&r.text()),
                    "{who} got a TLP:RED object from {path}: {} {}",
                    r.status,
                    r.text()
                );
                assert!(r.status < 500, "{who} {path}: {}", r.status);
            }
        }
        for email in ["soc@telco.tw", "analyst@cert.tw"] {
            for (path, text) in pages(email) {
                assert!(!text.contains(&red_id) && !secrets(&text), "{email} saw a TLP:RED object on {path}");
            }
        }
        // The GREEN one is for the whole community.
        let community = all_objects(base, Some(&telco), COMMUNITY, "");
        assert!(community.iter().any(|o| o["name"] == "C2 67"));

        // A sharing group's collection exists only for its members (and staff).
        let group = api(base, &analyst, "POST", "/api/v1/sharing-groups", Some(json!({"name": "Finance ISAC", "members": [bank_org]})));
        assert_eq!(group.status, 201, "{}", group.text());
        let group_id = group.json()["id"].as_str().unwrap().to_string();
        let amber = taxii_post(base, &bank, &group_id, &[indicator(68, None)]).json();
        assert_eq!(amber["success_count"], 1, "{amber}");
        let listed = |token: &str| taxii_get(base, Some(token), &format!("{ROOT}/collections/")).text().contains(&group_id);
        assert!(listed(&bank) && listed(&analyst) && !listed(&telco));
        assert_eq!(taxii_get(base, Some(&telco), &format!("{ROOT}/collections/{group_id}/objects/")).status, 404);
        assert_eq!(taxii_post(base, &telco, &group_id, &[indicator(69, None)]).status, 404);
        let in_group = all_objects(base, Some(&analyst), &group_id, "");
        assert_eq!(in_group.len(), 1, "staff read a group's TLP:AMBER objects");

        // Only the producer (or the CERT) deletes, and then it is gone for the producer too.
        let delete = |token: &str| {
            let h = auth(token);
            send(
                base,
                "DELETE",
                &format!("{ROOT}/collections/{COMMUNITY}/objects/{red_id}/"),
                &[("Accept", TAXII), ("Authorization", &h)],
                b"",
            )
        };
        assert_eq!(delete(&telco).status, 404, "what one cannot see, one cannot delete");
        assert_eq!(delete(&bank).status, 200);
        assert_eq!(taxii_get(base, Some(&bank), &format!("{ROOT}/collections/{COMMUNITY}/objects/{red_id}/")).status, 404);
    }
}

#[test]
fn members_submissions_wait_for_review_unless_trusted() {
    let install = sqlite_install();
    let (analyst, bank, telco) = analyst_and_two_members(&install);
    let server = install.start(&[]);
    let base = &server.base;
    let status = taxii_post(base, &bank, COMMUNITY, &[indicator(1, None), indicator(2, None)]).json();
    assert_eq!((status["status"].clone(), status["pending_count"].clone()), (json!("pending"), json!(2)), "{status}");
    assert!(all_objects(base, Some(&telco), COMMUNITY, "").is_empty(), "nothing is shared before review");
    assert_eq!(all_objects(base, Some(&bank), COMMUNITY, "").len(), 0, "TAXII serves published objects only");
    assert_eq!(api(base, &bank, "GET", "/api/v1/intel/review", None).status, 403);

    let queue = api(base, &analyst, "GET", "/api/v1/intel/review", None).json();
    let seqs: Vec<i64> = queue.as_array().unwrap().iter().map(|i| i["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs.len(), 2);
    assert_eq!(api(base, &analyst, "POST", &format!("/api/v1/intel/review/{}", seqs[0]), Some(json!({"accept": true}))).status, 200);
    assert_eq!(api(base, &analyst, "POST", &format!("/api/v1/intel/review/{}", seqs[1]), Some(json!({"accept": false}))).status, 200);
    let shared = all_objects(base, Some(&telco), COMMUNITY, "");
    assert_eq!(shared.len(), 1);
    assert_eq!(shared[0]["name"], "C2 1");
    // The status resource follows the review.
    let after = taxii_get(base, Some(&bank), &format!("{ROOT}/status/{}/", status["id"].as_str().unwrap())).json();
    assert_eq!(
        (after["success_count"].clone(), after["failure_count"].clone(), after["status"].clone()),
        (json!(1), json!(1), json!("complete"))
    );
    assert_eq!(
        taxii_get(base, Some(&telco), &format!("{ROOT}/status/{}/", status["id"].as_str().unwrap())).status,
        404,
        "another organisation's status"
    );

    // A coordinator may correct a submission and accept it as corrected.
    let status = taxii_post(base, &bank, COMMUNITY, &[indicator(7, None)]).json();
    assert_eq!(status["pending_count"], 1);
    let queue = api(base, &analyst, "GET", "/api/v1/intel/review", None).json();
    let seq = queue[0]["seq"].as_i64().unwrap();
    let mut edited = indicator(7, None);
    edited["name"] = json!("C2 7 (confirmed)");
    let same_version =
        api(base, &analyst, "POST", &format!("/api/v1/intel/review/{seq}"), Some(json!({"accept": true, "object": edited.clone()})));
    assert_eq!(same_version.status, 422, "an edit is a later version: {}", same_version.text());
    edited["modified"] = json!("2026-11-30T02:00:00.000Z");
    let done = api(base, &analyst, "POST", &format!("/api/v1/intel/review/{seq}"), Some(json!({"accept": true, "object": edited})));
    assert_eq!(done.status, 200, "{}", done.text());
    let bank_org = org_id(base, &analyst, "Member Bank");
    assert_eq!(done.json()["producer_org"], json!(bank_org), "the producer stays the member");
    let names: Vec<Value> = all_objects(base, Some(&telco), COMMUNITY, "").iter().map(|o| o["name"].clone()).collect();
    assert!(names.contains(&json!("C2 7 (confirmed)")) && !names.contains(&json!("C2 7")), "{names:?}");
    assert!(api(base, &analyst, "GET", "/api/v1/intel/review", None).json().as_array().unwrap().is_empty());

    // The REST API takes the same objects, and refuses an invalid one with the reason.
    let mut broken = indicator(3, None);
    broken.as_object_mut().unwrap().remove("pattern");
    let r = api(
        base,
        &analyst,
        "POST",
        "/api/v1/intel/objects",
        Some(json!({"objects": [indicator(4, None), broken], "distribution": "community"})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = r.json();
    assert_eq!((r["status"].clone(), r["added"].clone()), (json!("published"), json!(1)));
    assert!(r["refused"][0]["reason"].as_str().unwrap().contains("pattern"), "{r}");
    assert_eq!(
        api(base, &bank, "POST", "/api/v1/intel/objects", Some(json!({"objects": [indicator(5, None)], "distribution": "public"}))).status,
        403
    );
}

#[test]
fn requests_the_specification_refuses_are_refused_as_it_says() {
    let install = sqlite_install();
    let analyst = staff(&install);
    install.user("soc@bank.tw", "Member Bank", "isac_member", "org_member");
    let server = install.start(&[("RAMPART_TAXII_MAX_CONTENT_BYTES", "4096")]);
    let base = &server.base;
    let h = auth(&analyst);
    let objects = format!("{ROOT}/collections/{COMMUNITY}/objects/");
    let r = send(base, "GET", &objects, &[("Accept", "text/html"), ("Authorization", &h)], b"");
    assert_eq!(r.status, 406);
    assert_eq!(r.header("content-type"), Some(TAXII));
    assert_eq!(send(base, "GET", &objects, &[("Accept", "application/taxii+json;version=2.0"), ("Authorization", &h)], b"").status, 406);
    let body = serde_json::to_vec(&json!({"objects": [indicator(1, None)]})).unwrap();
    assert_eq!(
        send(base, "POST", &objects, &[("Accept", TAXII), ("Content-Type", "application/json"), ("Authorization", &h)], &body).status,
        415
    );
    let big: Vec<Value> = (0..40).map(|n| indicator(n, None)).collect();
    let r = taxii_post(base, &analyst, COMMUNITY, &big);
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(taxii_get(base, Some(&analyst), &format!("{ROOT}/")).json()["max_content_length"], 4096);
    assert!(all_objects(base, Some(&analyst), COMMUNITY, "").is_empty(), "nothing of a refused request is kept");
    assert_eq!(send(base, "POST", &objects, &[("Accept", TAXII), ("Content-Type", TAXII)], &body).status, 401, "anonymous writes");
    assert_eq!(taxii_get(base, Some(&analyst), &format!("{objects}?next=abc")).status, 400);
    assert_eq!(taxii_get(base, Some(&analyst), &format!("{objects}?added_after=yesterday")).status, 400);
    assert_eq!(taxii_get(base, Some(&analyst), &format!("{objects}?match[version]=newest")).status, 400);
    assert_eq!(taxii_get(base, Some(&analyst), &format!("{ROOT}/collections/not-a-collection/objects/")).status, 404);
    assert_eq!(taxii_get(base, Some(&analyst), &format!("{ROOT}/status/01234567-89ab-4def-8123-456789abcdef/")).status, 404);

    // HTTP Basic: members with their password; staff need a token, as their sign-in
    // needs a second factor; wrong passwords get 401.
    let basic = |user: &str, password: &str| format!("Basic {}", data_encoding::BASE64.encode(format!("{user}:{password}").as_bytes()));
    let member = basic("soc@bank.tw", ADMIN_PASSWORD);
    let r = send(base, "GET", &format!("{ROOT}/collections/"), &[("Accept", TAXII), ("Authorization", &member)], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("Community"));
    let staff = basic("analyst@cert.tw", ADMIN_PASSWORD);
    assert_eq!(send(base, "GET", &format!("{ROOT}/collections/"), &[("Accept", TAXII), ("Authorization", &staff)], b"").status, 403);
    let wrong = basic("soc@bank.tw", "not the password at all");
    let r = send(base, "GET", &format!("{ROOT}/collections/"), &[("Accept", TAXII), ("Authorization", &wrong)], b"");
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").is_some_and(|v| v.starts_with("Basic")));
    // Discovery names the API root under the address the client used.
    let discovery = taxii_get(base, None, "/taxii2/").json();
    assert_eq!(discovery["api_roots"], json!([format!("{base}{ROOT}/")]));
}

fn sighting(n: u32, of: &str, count: u64, marking: Option<&str>) -> Value {
    let mut o = json!({
        "type": "sighting", "spec_version": "2.1", "id": format!("sighting--6b1d2c3e-0000-4000-8000-{n:012}"),
        "created": "2026-11-30T02:00:00.000Z", "modified": "2026-11-30T02:00:00.000Z",
        "sighting_of_ref": of, "count": count
    });
    if let Some(m) = marking {
        o["object_marking_refs"] = json!([m]);
    }
    o
}

#[test]
fn sightings_are_counted_and_relations_shown_within_the_policy() {
    for install in installs() {
        let (analyst, bank, telco) = analyst_and_two_members(&install);
        let server = install.start(&[]);
        let base = &server.base;
        for org in ["Member Bank", "Member Telco"] {
            let id = org_id(base, &analyst, org);
            assert_eq!(api(base, &analyst, "PUT", &format!("/api/v1/intel/publishers/{id}"), None).status, 204);
        }
        let ioc = indicator(1, None);
        let ioc_id = ioc["id"].as_str().unwrap().to_string();
        let malware = json!({"type": "malware", "spec_version": "2.1", "id": "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
            "created": "2026-11-30T01:00:00.000Z", "modified": "2026-11-30T01:00:00.000Z", "name": "ShadowPad", "is_family": true});
        let secret = json!({"type": "threat-actor", "spec_version": "2.1", "id": "threat-actor--9a8a0d25-7636-429b-a99e-b2a73cd0f11f",
            "created": "2026-11-30T01:00:00.000Z", "modified": "2026-11-30T01:00:00.000Z", "name": "Not for members", "object_marking_refs": [RED]});
        let rel = |n: u32, source: &str, target: &str, kind: &str| {
            json!({"type": "relationship", "spec_version": "2.1",
            "id": format!("relationship--44298a74-0000-4000-8000-{n:012}"), "created": "2026-11-30T01:00:00.000Z", "modified": "2026-11-30T01:00:00.000Z",
            "relationship_type": kind, "source_ref": source, "target_ref": target})
        };
        let objects = [
            ioc.clone(),
            malware.clone(),
            secret.clone(),
            rel(1, &ioc_id, "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061", "indicates"),
            rel(2, "threat-actor--9a8a0d25-7636-429b-a99e-b2a73cd0f11f", &ioc_id, "uses"),
        ];
        assert_eq!(taxii_post(base, &analyst, COMMUNITY, &objects).json()["success_count"], 5);
        // Members report sightings back; the telco's is TLP:RED.
        assert_eq!(taxii_post(base, &bank, COMMUNITY, &[sighting(1, &ioc_id, 3, None)]).json()["success_count"], 1);
        assert_eq!(taxii_post(base, &telco, COMMUNITY, &[sighting(2, &ioc_id, 100, Some(RED))]).json()["success_count"], 1);

        let view = |token: &str| api(base, token, "GET", &format!("/api/v1/intel/objects/{ioc_id}"), None).json();
        let relations = |v: &Value| -> Vec<(String, String)> {
            let mut r: Vec<(String, String)> = v["related"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r["relation"].as_str().unwrap().to_string(), r["name"].as_str().unwrap_or("").to_string()))
                .collect();
            r.sort();
            r
        };
        let staff = view(&analyst);
        assert_eq!(
            (staff["sightings"].clone(), staff["sighting_reports"].clone()),
            (json!(3), json!(1)),
            "the telco's TLP:RED sighting is not the CERT's to count"
        );
        assert_eq!(
            relations(&staff),
            [("indicates".to_string(), "ShadowPad".to_string()), ("uses".to_string(), "Not for members".to_string())]
        );
        let telco_view = view(&telco);
        assert_eq!(telco_view["sightings"], 103, "its own sighting counts for it");
        assert_eq!(relations(&telco_view), [("indicates".to_string(), "ShadowPad".to_string())], "a TLP:RED actor is not even named");
        assert_eq!(view(&bank)["sightings"], 3);
        assert_eq!(api(base, &bank, "GET", "/api/v1/intel/objects/threat-actor--9a8a0d25-7636-429b-a99e-b2a73cd0f11f", None).status, 404);
    }
}

#[test]
fn objects_correlate_with_objects_and_incidents_the_caller_may_read() {
    for install in installs() {
        let (analyst, bank, telco) = analyst_and_two_members(&install);
        let server = install.start(&[]);
        let base = &server.base;
        let bank_org = org_id(base, &analyst, "Member Bank");
        assert_eq!(api(base, &analyst, "PUT", &format!("/api/v1/intel/publishers/{bank_org}"), None).status, 204);
        let ioc = indicator(1, None);
        let ioc_id = ioc["id"].as_str().unwrap().to_string();
        assert_eq!(taxii_post(base, &analyst, COMMUNITY, &[ioc, indicator(2, None)]).json()["success_count"], 2);
        let mut network = indicator(3, None);
        network["pattern"] = json!("[ipv4-addr:value ISSUBSET '203.0.113.0/24']");
        network["name"] = json!("bad network");
        let mut secret = indicator(4, Some(RED));
        secret["pattern"] = json!("[ipv4-addr:value = '203.0.113.1']");
        secret["name"] = json!("bank's own");
        assert_eq!(taxii_post(base, &bank, COMMUNITY, &[network, secret]).json()["success_count"], 2);
        let incident = api(base, &analyst, "POST", "/api/v1/incidents", Some(json!({"title": "C2 traffic to 203.0.113.1", "tw_level": 2})));
        assert_eq!(incident.status, 201, "{}", incident.text());
        let reference = incident.json()["reference"].as_str().unwrap().to_string();

        let seen = |token: &str| {
            let v = api(base, token, "GET", &format!("/api/v1/intel/objects/{ioc_id}"), None).json();
            let mut objects: Vec<String> =
                v["correlations"]["objects"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap().to_string()).collect();
            objects.sort();
            let incidents: Vec<String> =
                v["correlations"]["incidents"].as_array().unwrap().iter().map(|i| i["reference"].as_str().unwrap().to_string()).collect();
            (objects, incidents)
        };
        assert_eq!(
            seen(&analyst),
            (vec!["bad network".to_string()], vec![reference.clone()]),
            "the bank's TLP:RED indicator is not the CERT's"
        );
        assert_eq!(
            seen(&bank),
            (vec!["bad network".to_string(), "bank's own".to_string()], vec![]),
            "the CERT's incident is not the bank's"
        );
        assert_eq!(seen(&telco), (vec!["bad network".to_string()], vec![]));
    }
}

#[test]
fn the_constituency_collection_is_for_constituents_not_peers_abroad() {
    let install = sqlite_install();
    let (analyst, bank, _) = analyst_and_two_members(&install);
    install.user("liaison@jpcert.example", "Peer CSIRT", "peer_csirt", "org_member");
    let peer = install.token("liaison@jpcert.example", "read,write");
    let server = install.start(&[]);
    let base = &server.base;
    const CONSTITUENCY: &str = "5b2f2c1e-5e1a-4c8e-9d3e-000000000003";
    let listed = |token: &str| taxii_get(base, Some(token), &format!("{ROOT}/collections/")).text().contains(CONSTITUENCY);
    assert!(listed(&analyst) && listed(&bank) && !listed(&peer));
    assert_eq!(taxii_post(base, &analyst, CONSTITUENCY, &[indicator(5, None)]).json()["success_count"], 1);
    assert_eq!(all_objects(base, Some(&bank), CONSTITUENCY, "").len(), 1, "an ISAC member is constituency");
    assert_eq!(taxii_get(base, Some(&peer), &format!("{ROOT}/collections/{CONSTITUENCY}/objects/")).status, 404);
    assert!(!all_objects(base, Some(&peer), COMMUNITY, "").iter().any(|o| o["name"] == "C2 5"), "nor through another collection");
    let r =
        api(base, &peer, "POST", "/api/v1/intel/objects", Some(json!({"objects": [indicator(6, None)], "distribution": "constituency"})));
    assert_eq!(r.status, 403, "a peer cannot share into the constituency");
}
