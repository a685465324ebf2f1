//! Reports and incidents over the API: intake, triage, deadlines that move with
//! the level, observables and correlation within the policy.

use crate::harness::{installs, Install};
use crate::http::send;
use serde_json::{json, Value};

struct Api<'a> {
    base: &'a str,
    token: String,
}

impl Api<'_> {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let auth = format!("Bearer {}", self.token);
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let r = send(self.base, method, path, &[("Authorization", &auth), ("Content-Type", "application/json")], body.as_bytes());
        let value = if r.body.is_empty() { Value::Null } else { r.json() };
        (r.status, value)
    }
}

fn setup(install: &Install) -> (String, String, String) {
    install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
    install.ok(
        &["admin", "org", "add", "Taipei City Hospital", "--type", "critical_infrastructure", "--sector", "tw-ci.emergency_hospitals"],
        None,
    );
    install.user("it@hospital.tw", "Taipei City Hospital", "critical_infrastructure", "org_member");
    install.ok(&["admin", "org", "add", "Other Agency", "--type", "government_agency"], None);
    install.user("it@agency.tw", "Other Agency", "government_agency", "org_member");
    (
        install.token("analyst@cert.tw", "read,write"),
        install.token("it@hospital.tw", "read,write"),
        install.token("it@agency.tw", "read,write"),
    )
}

#[test]
fn intake_triage_and_deadlines_that_move_with_the_level() {
    for install in installs() {
        let (analyst, hospital, agency) = setup(&install);
        let server = install.start(&[]);
        let staff = Api { base: &server.base, token: analyst };
        let hospital = Api { base: &server.base, token: hospital };
        let agency = Api { base: &server.base, token: agency };

        let noticed = (chrono::Utc::now() - chrono::Duration::minutes(30)).to_rfc3339();
        let (status, created) = hospital.call(
            "POST",
            "/api/v1/reports",
            Some(json!({"title": "Ransomware on the radiology server", "description": "Files encrypted on 10.20.30.40; note points to hxxps://pay-us[.]example.net", "noticed_at": noticed, "tw_level": 3})),
        );
        assert_eq!(status, 201, "{created}");
        let reference = created["reference"].as_str().unwrap();
        assert!(reference.starts_with("RPT-") && reference.len() == "RPT-2026-000001".len(), "{reference}");
        let report_id = created["id"].as_str().unwrap().to_string();

        let (status, report) = hospital.call("GET", &format!("/api/v1/reports/{report_id}"), None);
        assert_eq!(status, 200);
        assert!(report["observables"].as_array().unwrap().iter().any(|o| o["value"] == "pay-us.example.net"), "{report}");
        assert_eq!(agency.call("GET", &format!("/api/v1/reports/{report_id}"), None).0, 404, "another organisation cannot see it");
        assert_eq!(
            hospital.call("POST", &format!("/api/v1/reports/{report_id}/triage"), Some(json!({"action": "reject"}))).0,
            403,
            "constituents do not triage"
        );

        let (status, triaged) = staff.call(
            "POST",
            &format!("/api/v1/reports/{report_id}/triage"),
            Some(json!({"action": "promote", "incident": {"rsit_class": "malicious-code", "rsit_type": "infected-system", "severity": "high"}})),
        );
        assert_eq!(status, 200, "{triaged}");
        let incident_id = triaged["incident"]["id"].as_str().unwrap().to_string();
        assert_eq!(triaged["incident"]["tw_level"], 3, "the reporter's level carries over");
        assert_eq!(triaged["report"]["status"], "linked");

        let (_, deadlines) = staff.call("GET", &format!("/api/v1/incidents/{incident_id}/deadlines"), None);
        let find = |d: &Value, regime: &str, obligation: &str| -> Value {
            d.as_array()
                .unwrap()
                .iter()
                .find(|x| x["regime"] == regime && x["obligation"] == obligation)
                .cloned()
                .unwrap_or_else(|| panic!("{regime}/{obligation} in {d}"))
        };
        let report_clock = find(&deadlines, "tw", "report");
        assert_eq!(report_clock["state"], "met", "the constituent's report through Rampart meets the one-hour clock: {report_clock}");
        let level3_recovery = find(&deadlines, "tw", "recovery")["due_at"].as_str().unwrap().to_string();

        // Lowering the level to 1 gives recovery 72 h instead of 36 h.
        let (status, _) = staff.call("PATCH", &format!("/api/v1/incidents/{incident_id}"), Some(json!({"tw_level": 1})));
        assert_eq!(status, 200);
        let (_, deadlines) = staff.call("GET", &format!("/api/v1/incidents/{incident_id}/deadlines"), None);
        let level1_recovery = find(&deadlines, "tw", "recovery")["due_at"].as_str().unwrap().to_string();
        let hours = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
        assert_eq!((hours(&level1_recovery) - hours(&level3_recovery)).num_hours(), 36, "{level3_recovery} → {level1_recovery}");

        // Recording the report to the authority meets the one-hour clock.
        let now = chrono::Utc::now().to_rfc3339();
        let (status, after) = staff.call("PUT", &format!("/api/v1/incidents/{incident_id}/milestones/reported"), Some(json!({"at": now})));
        assert_eq!(status, 200, "{after}");
        assert_eq!(find(&after, "tw", "report")["state"], "met");
        assert_eq!(staff.call("PUT", &format!("/api/v1/incidents/{incident_id}/milestones/teatime"), Some(json!({"at": now}))).0, 422);

        // The constituent sees its incident (TLP:AMBER, addressed to it); the other organisation does not.
        assert_eq!(hospital.call("GET", &format!("/api/v1/incidents/{incident_id}"), None).0, 200);
        assert_eq!(agency.call("GET", &format!("/api/v1/incidents/{incident_id}"), None).0, 404);
        let (_, listed) = agency.call("GET", "/api/v1/incidents", None);
        assert!(listed["items"].as_array().unwrap().is_empty());
        assert_eq!(hospital.call("POST", &format!("/api/v1/incidents/{incident_id}/status"), Some(json!({"status": "open"}))).0, 403);

        // Lifecycle moves, and a note's observables join the incident.
        assert_eq!(staff.call("POST", &format!("/api/v1/incidents/{incident_id}/status"), Some(json!({"status": "open"}))).0, 200);
        let (status, problem) = staff.call("POST", &format!("/api/v1/incidents/{incident_id}/status"), Some(json!({"status": "new"})));
        assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")));
        assert_eq!(
            staff
                .call(
                    "POST",
                    &format!("/api/v1/incidents/{incident_id}/notes"),
                    Some(json!({"body": "C2 at 192.0.2.66 seen in proxy logs"}))
                )
                .0,
            201
        );
        let (_, obs) = hospital.call("GET", &format!("/api/v1/incidents/{incident_id}/observables"), None);
        assert!(obs.as_array().unwrap().iter().any(|o| o["value"] == "192.0.2.66"));
        let (_, timeline) = hospital.call("GET", &format!("/api/v1/incidents/{incident_id}/timeline"), None);
        assert!(!timeline.as_array().unwrap().iter().any(|t| t["kind"] == "note"), "internal notes stay internal");

        // Correlation: a second incident (for another organisation) shares the C2 address.
        let (_, other) =
            staff.call("POST", "/api/v1/incidents", Some(json!({"title": "Beaconing to 192.0.2.66", "tlp": "amber", "org_id": null})));
        let other_id = other["id"].as_str().unwrap();
        let (_, related) = staff.call("GET", &format!("/api/v1/incidents/{other_id}/related"), None);
        assert_eq!(related[0]["incident_id"], incident_id.as_str(), "{related}");
        let (_, hidden) = hospital.call("GET", &format!("/api/v1/incidents/{incident_id}/related"), None);
        assert!(hidden.as_array().unwrap().is_empty(), "a constituent never learns of the other incident");
    }
}

#[test]
fn bulk_reports_are_all_or_nothing_and_lists_page() {
    for install in installs() {
        let (analyst, hospital, _) = setup(&install);
        let server = install.start(&[]);
        let staff = Api { base: &server.base, token: analyst };
        let hospital = Api { base: &server.base, token: hospital };
        let (status, problem) = hospital.call("POST", "/api/v1/reports", Some(json!([{"description": "ok"}, {"description": "  "}])));
        assert_eq!(status, 422);
        assert!(problem["detail"].as_str().unwrap().starts_with("report 1:"), "{problem}");
        let (_, page) = staff.call("GET", "/api/v1/reports", None);
        assert!(page["items"].as_array().unwrap().is_empty(), "nothing of the bad batch was stored");

        let batch: Vec<Value> = (0..5).map(|i| json!({"description": format!("scan from 198.51.100.{i}")})).collect();
        let (status, created) = hospital.call("POST", "/api/v1/reports", Some(Value::Array(batch)));
        assert_eq!(status, 201);
        assert_eq!(created.as_array().unwrap().len(), 5);

        let (_, first) = staff.call("GET", "/api/v1/reports?limit=2", None);
        let cursor = first["next_cursor"].as_str().unwrap();
        let (_, second) = staff.call("GET", &format!("/api/v1/reports?limit=2&cursor={}", crate::http::encode(cursor)), None);
        assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);
        assert_eq!(staff.call("GET", "/api/v1/reports?cursor=garbage", None).0, 400);

        for i in 0..3 {
            staff.call("POST", "/api/v1/incidents", Some(json!({"title": format!("Defacement {i}"), "severity": "critical"})));
        }
        let (_, found) = staff.call("GET", "/api/v1/incidents?q=defacement&severity=critical&limit=2", None);
        assert_eq!(found["items"].as_array().unwrap().len(), 2);
        assert!(found["next_cursor"].is_string());
    }
}

#[test]
fn incidents_export_as_json_csv_and_html() {
    let install = crate::harness::sqlite_install();
    let (analyst, hospital, _) = setup(&install);
    let server = install.start(&[]);
    let staff = Api { base: &server.base, token: analyst };
    let (_, incident) =
        staff.call("POST", "/api/v1/incidents", Some(json!({"title": "Web shell on 192.0.2.10", "tw_level": 2, "tlp": "amber+strict"})));
    let id = incident["id"].as_str().unwrap();
    let reference = incident["reference"].as_str().unwrap();
    staff.call("POST", &format!("/api/v1/incidents/{id}/notes"), Some(json!({"body": "=HYPERLINK(\"http://evil\")"})));
    let get = |format: &str, token: &str| {
        send(
            &server.base,
            "GET",
            &format!("/api/v1/incidents/{id}/export?format={format}"),
            &[("Authorization", &format!("Bearer {token}"))],
            b"",
        )
    };

    let json = get("json", &staff.token);
    assert_eq!(json.status, 200);
    assert!(json.header("content-disposition").unwrap().contains(&format!("{reference}.json")));
    let body = json.json();
    assert_eq!(body["incident"]["reference"], reference);
    assert!(body["deadlines"].as_array().unwrap().iter().any(|d| d["regime"] == "tw"));
    assert!(body["observables"].as_array().unwrap().iter().any(|o| o["value"] == "192.0.2.10"));

    let csv = get("csv", &staff.token);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = csv.text();
    assert!(text.starts_with("section,time,kind,value,detail\r\n"));
    assert!(text.contains("\"'=HYPERLINK"), "formulas are defused: {text}");
    assert!(!text.contains(",=HYPERLINK"));

    let html = get("html", &staff.token);
    assert_eq!(html.status, 200);
    let page = html.text();
    assert!(page.contains(reference) && page.contains("TLP:AMBER+STRICT"), "marked with its TLP");
    assert!(!page.contains("<script"), "a static document");

    assert_eq!(get("xml", &staff.token).status, 400);
    assert_eq!(get("json", &hospital).status, 404, "not the constituent's incident");
}

#[test]
fn the_constituent_portal_shows_only_the_organisations_own() {
    let install = crate::harness::sqlite_install();
    let (analyst, hospital, _) = setup(&install);
    let server = install.start(&[]);
    let staff = Api { base: &server.base, token: analyst };
    let hospital = Api { base: &server.base, token: hospital };
    let (_, created) =
        hospital.call("POST", "/api/v1/reports", Some(json!({"title": "Locked files in radiology", "description": "Ransom note found"})));
    let (_, triaged) =
        staff.call("POST", &format!("/api/v1/reports/{}/triage", created["id"].as_str().unwrap()), Some(json!({"action": "promote"})));
    let incident_ref = triaged["incident"]["reference"].as_str().unwrap().to_string();
    staff.call("POST", "/api/v1/incidents", Some(json!({"title": "Someone else's incident"})));

    let login = |email: &str| {
        let mut b = crate::http::Browser::new(&server.base);
        b.submit("/login", "/login", &[("email", email), ("password", crate::harness::ADMIN_PASSWORD)]);
        b
    };
    let mut it = login("it@hospital.tw");
    let portal = it.get("/portal").text();
    assert!(portal.contains(created["reference"].as_str().unwrap()) && portal.contains(&incident_ref), "{portal}");
    assert!(!portal.contains("Someone else"), "only its own organisation's");
    let mut agency = login("it@agency.tw");
    let other = agency.get("/portal").text();
    assert!(!other.contains(&incident_ref) && !other.contains("radiology"));
    assert_eq!(it.get("/queue").status, 403, "the analyst queue is for staff");
}
