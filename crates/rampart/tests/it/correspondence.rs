//! Outgoing mail: the reporter's acknowledgement and correspondence from an
//! incident, threaded so that replies come back through the mailgate.

use crate::harness::sqlite_install;
use crate::http::send;
use crate::smtp::SmtpSink;
use serde_json::{json, Value};

#[test]
fn acknowledgement_and_replies_thread_through_the_mailgate() {
    let sink = SmtpSink::start();
    let install = sqlite_install();
    install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
    let token = install.token("analyst@cert.tw", "read,write");
    let server = install.start(&[("RAMPART_SMTP_RELAY", &sink.addr), ("RAMPART_MAIL_FROM", "TWCERT <cert@cert.example.tw>")]);
    let auth = format!("Bearer {token}");
    let call = |method: &str, path: &str, body: Value| {
        let r = send(
            &server.base,
            method,
            path,
            &[("Authorization", &auth), ("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
        (r.status, if r.body.is_empty() { Value::Null } else { r.json() })
    };

    // The public form acknowledges by mail.
    let mut browser = crate::http::Browser::new(&server.base);
    let html = browser.get("/report").text();
    let csrf = crate::http::hidden_value(&html, "csrf").unwrap();
    let boundary = "b0undary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nScam call centre using 198.51.100.77\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"reporter_email\"\r\n\r\nreporter@example.tw\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}--\r\n"
    );
    let received =
        browser.request("POST", "/report", &[("Content-Type", &format!("multipart/form-data; boundary={boundary}"))], body.as_bytes());
    assert_eq!(received.status, 200, "{}", received.text());
    let reference = crate::http::element_text(&received.text(), "report-reference").unwrap();
    let ack = sink.received().pop().expect("an acknowledgement was sent");
    assert_eq!(ack.to, ["<reporter@example.tw>"]);
    assert!(ack.from.contains("cert@cert.example.tw"), "sent as the CERT: {}", ack.from);
    assert!(ack.data.contains(&format!("[{reference}]")), "the subject carries the reference: {}", ack.data);
    assert!(ack.data.contains("/report/status/"), "with the status link");

    // Correspondence from the incident.
    let (_, reports) = call("GET", "/api/v1/reports", Value::Null);
    let report_id = reports["items"][0]["id"].as_str().unwrap().to_string();
    let (_, triaged) = call("POST", &format!("/api/v1/reports/{report_id}/triage"), json!({"action": "promote"}));
    let incident_id = triaged["incident"]["id"].as_str().unwrap().to_string();
    let incident_ref = triaged["incident"]["reference"].as_str().unwrap().to_string();
    let (status, entry) = call(
        "POST",
        &format!("/api/v1/incidents/{incident_id}/mail"),
        json!({"to": "abuse@isp.example.tw", "subject": "Please take down a scam host", "body": "198.51.100.77 hosts a scam call centre."}),
    );
    assert_eq!(status, 201, "{entry}");
    assert_eq!(entry["kind"], "mail_out");
    let sent = sink.received().pop().unwrap();
    assert!(sent.data.contains(&format!("Subject: [{incident_ref}] Please take down a scam host")), "{}", sent.data);
    let message_id = sent.data.lines().find(|l| l.to_ascii_lowercase().starts_with("message-id:")).expect("a Message-ID").to_string();
    assert!(message_id.contains("@cert.example.tw>"), "{message_id}");

    // The answer comes back through the mailgate onto the same incident.
    let reply = format!(
        "From: abuse@isp.example.tw\r\nSubject: Re: [{incident_ref}] Please take down a scam host\r\nIn-Reply-To: {}\r\n\r\nDone, the host is offline.\r\n",
        message_id.split_once(':').unwrap().1.trim()
    );
    let out = install.cli(&["mailgate"], Some(&reply), &[]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), incident_ref);
    let r = send(&server.base, "GET", &format!("/api/v1/incidents/{incident_id}/timeline"), &[("Authorization", &auth)], b"");
    let kinds: Vec<String> = r.json().as_array().unwrap().iter().map(|t| t["kind"].as_str().unwrap().to_string()).collect();
    assert!(kinds.contains(&"mail_out".to_string()) && kinds.contains(&"mail_in".to_string()), "{kinds:?}");
    let (_, deadlines) = call("GET", &format!("/api/v1/incidents/{incident_id}/deadlines"), Value::Null);
    let first_response = deadlines.as_array().unwrap().iter().find(|d| d["obligation"] == "first_response").unwrap();
    assert_eq!(first_response["state"], "met", "the first message meets the first-response service level");

    // Bad input and a relay that is down give clear errors, and nothing is recorded as sent.
    let (status, problem) =
        call("POST", &format!("/api/v1/incidents/{incident_id}/mail"), json!({"to": "not an address", "subject": "x", "body": "y"}));
    assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")));
}

#[test]
fn without_a_relay_mail_is_refused_clearly() {
    let install = sqlite_install();
    install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
    let token = install.token("analyst@cert.tw", "read,write");
    let server = install.start(&[]);
    let auth = format!("Bearer {token}");
    let r = send(
        &server.base,
        "POST",
        "/api/v1/incidents",
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        br#"{"title":"x"}"#,
    );
    let id = r.json()["id"].as_str().unwrap().to_string();
    let body = json!({"to": "a@b.tw", "subject": "s", "body": "b"}).to_string();
    let r = send(
        &server.base,
        "POST",
        &format!("/api/v1/incidents/{id}/mail"),
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 422);
    assert!(r.json()["detail"].as_str().unwrap().contains("smtp.relay"));
}

#[test]
fn overdue_clocks_escalate_to_coordinators_once() {
    let sink = SmtpSink::start();
    let install = sqlite_install();
    install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
    install.user("duty@cert.tw", "Rampart CERT", "cert", "coordinator");
    let token = install.token("analyst@cert.tw", "read,write");
    let server = install.start(&[("RAMPART_SMTP_RELAY", &sink.addr), ("RAMPART_DEADLINE_CHECK_SECONDS", "1")]);
    let auth = format!("Bearer {token}");
    let post = |path: &str, method: &str, body: Value| {
        send(&server.base, method, path, &[("Authorization", &auth), ("Content-Type", "application/json")], body.to_string().as_bytes())
            .json()
    };
    let incident = post("/api/v1/incidents", "POST", json!({"title": "Government website defaced", "tw_level": 2}));
    let id = incident["id"].as_str().unwrap();
    let aware = (chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339();
    post(&format!("/api/v1/incidents/{id}/milestones/aware"), "PUT", json!({"at": aware}));

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let escalation = loop {
        if let Some(m) = sink.received().into_iter().find(|m| m.data.contains("OVERDUE") && m.data.contains("tw/report")) {
            break m;
        }
        assert!(std::time::Instant::now() < deadline, "no escalation arrived: {:?}", sink.received());
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(escalation.to, ["<duty@cert.tw>"], "coordinators are told");
    std::thread::sleep(std::time::Duration::from_secs(3));
    let count = sink.received().iter().filter(|m| m.data.contains("OVERDUE") && m.data.contains("tw/report")).count();
    assert_eq!(count, 1, "once, however often the clocks are checked");
    let r = send(&server.base, "GET", &format!("/api/v1/incidents/{id}/timeline"), &[("Authorization", &auth)], b"");
    assert!(r.text().contains("escalation to duty@cert.tw"), "and it is on the timeline");
}
