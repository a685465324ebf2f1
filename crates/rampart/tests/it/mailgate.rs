//! `rampart mailgate` as an MTA pipe.

use crate::harness::{installs, sqlite_install};
use crate::http::send;
use serde_json::{json, Value};

fn message(subject: &str, body: &str) -> String {
    format!(
        "From: \"Lin Mei\" <Mei.Lin@Example-Bank.tw>\r\nTo: cert@rampart.example.tw\r\nSubject: {subject}\r\nMessage-ID: <{}@example-bank.tw>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"sep\"\r\n\r\n--sep\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\
         --sep\r\nContent-Type: application/octet-stream; name=\"sample.bin\"\r\nContent-Disposition: attachment; filename=\"sample.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n--sep--\r\n",
        uuid::Uuid::now_v7()
    )
}

#[test]
fn new_mail_becomes_a_report_and_replies_land_on_the_incident() {
    for install in installs() {
        install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
        let token = install.token("analyst@cert.tw", "read,write");
        let out = install.cli(
            &["mailgate", "--queue", "abuse"],
            Some(&message("Phishing kit on our brand", "See hxxps://examp1e-bank[.]tw/login")),
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let reference = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(reference.starts_with("RPT-"), "{reference}");

        let server = install.start(&[]);
        let auth = format!("Bearer {token}");
        let call = |method: &str, path: &str, body: Option<Value>| {
            let body = body.map(|b| b.to_string()).unwrap_or_default();
            let r = send(&server.base, method, path, &[("Authorization", &auth), ("Content-Type", "application/json")], body.as_bytes());
            (r.status, if r.body.is_empty() { Value::Null } else { r.json() })
        };
        let (_, reports) = call("GET", "/api/v1/reports", None);
        let report = reports["items"].as_array().unwrap().iter().find(|r| r["reference"] == reference.as_str()).unwrap().clone();
        assert_eq!(report["channel"], "mail");
        assert_eq!(report["reporter_email"], "mei.lin@example-bank.tw");
        assert!(report["title"].as_str().unwrap().contains("Phishing kit"));
        let report_id = report["id"].as_str().unwrap();
        let (_, full) = call("GET", &format!("/api/v1/reports/{report_id}"), None);
        assert!(full["observables"].as_array().unwrap().iter().any(|o| o["value"] == "examp1e-bank.tw"), "{full}");

        let (_, triaged) = call("POST", &format!("/api/v1/reports/{report_id}/triage"), Some(json!({"action": "promote"})));
        let incident = triaged["incident"]["reference"].as_str().unwrap().to_string();
        let incident_id = triaged["incident"]["id"].as_str().unwrap().to_string();

        let reply = message(&format!("Re: [{incident}] Phishing kit on our brand"), "The kit also used 203.0.113.77 for exfiltration.");
        let out = install.cli(&["mailgate"], Some(&reply), &[]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), incident);
        let (_, timeline) = call("GET", &format!("/api/v1/incidents/{incident_id}/timeline"), None);
        let mail_in = timeline.as_array().unwrap().iter().find(|t| t["kind"] == "mail_in").expect("the reply is on the timeline");
        assert!(mail_in["body"].as_str().unwrap().contains("203.0.113.77"));
        let (_, obs) = call("GET", &format!("/api/v1/incidents/{incident_id}/observables"), None);
        assert!(obs.as_array().unwrap().iter().any(|o| o["value"] == "203.0.113.77"));

        // A reply quoting the report's reference also finds the incident.
        let via_report = message(&format!("Re: [{reference}] more"), "one more thing");
        assert_eq!(String::from_utf8_lossy(&install.cli(&["mailgate"], Some(&via_report), &[]).stdout).trim(), incident);
    }
}

#[test]
fn unreadable_mail_is_quarantined_and_exit_codes_follow_sendmail() {
    let install = sqlite_install();
    let junk = install.cli(&["mailgate"], Some("\u{1}\u{2} this is not an e-mail message at all"), &[]);
    assert_eq!(junk.status.code(), Some(0), "kept, not bounced: {}", String::from_utf8_lossy(&junk.stderr));
    assert!(String::from_utf8_lossy(&junk.stdout).starts_with("RPT-"));
    let evidence = install.data_dir().join("evidence");
    assert!(evidence.exists(), "the raw message is kept as evidence");

    let empty = install.cli(&["mailgate"], Some(""), &[]);
    assert_eq!(empty.status.code(), Some(65), "EX_DATAERR");

    let down = install.cli(&["mailgate", "--database", "postgres://nobody@127.0.0.1:1/none"], Some(&message("x", "y")), &[]);
    assert_eq!(down.status.code(), Some(75), "EX_TEMPFAIL: the MTA keeps the message and retries");
}
