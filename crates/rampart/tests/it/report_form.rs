//! The public report form without JavaScript, and what the analyst does with it.

use crate::harness::{installs, sqlite_install, ADMIN_PASSWORD};
use crate::http::{attribute, element_text, hidden_value, Browser};

const BOUNDARY: &str = "----rampart-test-boundary";

fn multipart(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    for (filename, bytes) in files {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn post_report(browser: &mut Browser, fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> crate::http::Response {
    let form = browser.get("/report").text();
    let csrf = hidden_value(&form, "csrf").expect("csrf on the form");
    let mut all = fields.to_vec();
    all.push(("csrf", &csrf));
    let body = multipart(&all, files);
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    browser.request("POST", "/report", &[("Content-Type", &content_type)], &body)
}

#[test]
fn a_public_report_reaches_the_analyst_and_becomes_an_incident() {
    for install in installs() {
        install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
        let server = install.start(&[("RAMPART_REQUIRE_TOTP_FOR_STAFF", "false")]);
        let mut citizen = Browser::new(&server.base);
        let received = post_report(
            &mut citizen,
            &[
                ("reporter_email", "citizen@example.tw"),
                ("title", "Fake tax refund SMS"),
                ("description", "SMS says I have a tax refund at hxxps://tax-refund-tw[.]example.com"),
                ("noticed_at", "2026-11-20T09:30"),
                ("affected", "tax-refund-tw.example.com"),
                ("category", "fraud"),
                ("website", ""),
            ],
            &[("screenshot.png", b"\x89PNG fake image bytes")],
        );
        assert_eq!(received.status, 200, "{}", received.text());
        let page = received.text();
        let reference = element_text(&page, "report-reference").expect("reference shown");
        assert!(reference.starts_with("RPT-"));
        let status_url = attribute(&page, "status-link", "href").expect("status link");
        let status_path = &status_url[server.base.len()..];
        let status = citizen.get(status_path);
        assert_eq!(status.status, 200);
        assert!(status.text().contains(&reference));
        assert_eq!(citizen.get("/report/status/not-the-secret").status, 404);

        // The analyst finds it in the queue and promotes it.
        let mut analyst = Browser::new(&server.base);
        analyst.submit("/login", "/login", &[("email", "analyst@cert.tw"), ("password", ADMIN_PASSWORD)]);
        let queue = analyst.get("/queue").text();
        assert!(queue.contains(&reference), "the report is in the queue");
        let report_id = queue.split("/reports/").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();
        let report_page = analyst.get(&format!("/reports/{report_id}")).text();
        assert!(report_page.contains("tax-refund-tw.example.com") && report_page.contains("screenshot.png"));
        let attachment_id = report_page.split("/attachments/").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();
        let download = analyst.get(&format!("/attachments/{attachment_id}"));
        assert_eq!(download.body, b"\x89PNG fake image bytes");
        assert!(download.header("content-disposition").unwrap().starts_with("attachment;"), "never inline");
        assert_eq!(download.header("content-type"), Some("application/octet-stream"));
        assert_eq!(citizen.get(&format!("/attachments/{attachment_id}")).status, 303, "evidence needs a signed-in reader");

        let promoted = analyst.submit(
            &format!("/reports/{report_id}"),
            &format!("/reports/{report_id}/triage"),
            &[("action", "promote"), ("rsit", "fraud/phishing"), ("tw_level", "2"), ("severity", "medium")],
        );
        assert_eq!(promoted.status, 303, "{}", promoted.text());
        let incident_path = promoted.location().to_string();
        // The chain of custody shows who received, listed and exported the evidence.
        let csrf = hidden_value(&analyst.get(&incident_path).text(), "csrf").unwrap();
        let evidence = analyst.request("GET", &format!("/api/v1{incident_path}/evidence"), &[("X-CSRF-Token", &csrf)], b"").json();
        let actions: Vec<&str> = evidence[0]["custody"].as_array().unwrap().iter().map(|c| c["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["received", "listed", "exported", "listed"], "each view of the report page counts: {evidence}");
        assert!(incident_path.starts_with("/incidents/"));
        let incident = analyst.get(&incident_path).text();
        assert!(incident.contains("id=\"deadlines\""), "the clocks show");
        assert!(incident.contains("tax-refund-tw.example.com"), "observables carried over");
        let before = incident.matches("data-state=\"").count();
        assert!(before > 0);

        // Raising the level moves the clocks: level 4 gives recovery 36 h instead of 72 h.
        let due_before: Vec<String> = incident.split("data-due=\"").skip(1).filter_map(|s| s.split('"').next()).map(String::from).collect();
        analyst.submit(&incident_path, &format!("{incident_path}/classify"), &[("tw_level", "4"), ("severity", "high")]);
        let raised = analyst.get(&incident_path).text();
        let due_after: Vec<String> = raised.split("data-due=\"").skip(1).filter_map(|s| s.split('"').next()).map(String::from).collect();
        assert_ne!(due_before, due_after, "deadlines move with the level");

        // The reporter's status page now shows the incident reference.
        let status = citizen.get(status_path).text();
        assert!(status.contains("INC-"), "{status}");
        // And the status page never shows analyst-only content.
        assert!(!status.contains("fraud/phishing"));
    }
}

#[test]
fn the_form_refuses_robots_forgeries_and_oversized_uploads() {
    let install = sqlite_install();
    let server =
        install.start(&[("RAMPART_MAX_ATTACHMENT_BYTES", "1024"), ("RAMPART_MAX_ATTACHMENTS", "2"), ("RAMPART_REPORTS_PER_HOUR", "4")]);
    let mut browser = Browser::new(&server.base);
    let trapped = post_report(&mut browser, &[("description", "buy cheap pills"), ("website", "http://spam.example")], &[]);
    assert_eq!(trapped.status, 422, "the honeypot catches robots");
    let big = vec![b'x'; 2048];
    let too_big = post_report(&mut browser, &[("description", "big file")], &[("big.bin", &big)]);
    assert_eq!(too_big.status, 413);
    let many = post_report(&mut browser, &[("description", "many files")], &[("a", b"1"), ("b", b"2"), ("c", b"3")]);
    assert_eq!(many.status, 413);
    let empty = post_report(&mut browser, &[("description", "   "), ("title", "Keep what I typed"), ("affected", "198.51.100.9")], &[]);
    assert_eq!(empty.status, 422, "a report needs a description");
    let again = empty.text();
    assert!(again.contains("value=\"Keep what I typed\"") && again.contains("198.51.100.9"), "the refused form keeps the reporter's text");
    let body = multipart(&[("description", "forged"), ("csrf", "forged")], &[]);
    let forged = browser.request("POST", "/report", &[("Content-Type", &format!("multipart/form-data; boundary={BOUNDARY}"))], &body);
    assert_eq!(forged.status, 403);
    // The empty one counted towards the hourly limit of 4; three more fill it.
    for n in 0..3 {
        let ok = post_report(&mut browser, &[("description", &format!("report {n}"))], &[]);
        assert_eq!(ok.status, 200);
    }
    let limited = post_report(&mut browser, &[("description", "fifth in an hour")], &[]);
    assert_eq!(limited.status, 429, "per-address limit");
    let leftovers = std::fs::read_dir(install.data_dir().join("evidence/tmp")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(leftovers, 0, "refused uploads leave nothing behind");
    let stored = std::fs::read_dir(install.data_dir().join("evidence")).map(|d| d.count()).unwrap_or(0);
    assert!(stored <= 1, "nothing but the tmp folder: refused files never become evidence");
}
