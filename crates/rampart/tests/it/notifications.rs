//! Notifications end to end: directives routed to constituents, aggregated into one
//! message per recipient and key, signed with the CERT key (GnuPG verifies it) and
//! encrypted to the recipient's key, sent over real SMTP; replies and bounces come
//! back through the mailgate; a relay that is down loses nothing.

use crate::harness::{installs, sqlite_install, Install};
use crate::http::send;
use crate::pgp_keys::{armored_public, armored_secret, key};
use crate::smtp::{Received, SmtpSink};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

fn call(base: &str, auth: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    let body = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
    let r = send(base, method, path, &[("Authorization", auth), ("Content-Type", "application/json")], &body);
    (r.status, if r.body.is_empty() { Value::Null } else { r.json() })
}

fn ok(base: &str, auth: &str, method: &str, path: &str, body: Value) -> Value {
    let (status, value) = call(base, auth, method, path, body);
    assert!((200..300).contains(&status), "{method} {path}: {status} {value}");
    value
}

fn event(ip: &str, kind: &str) -> Value {
    json!({"event": {"source.ip": ip, "source.port": "53", "classification.type": kind, "feed.name": "scan_dns", "time.source": "2026-11-29T10:00:00Z"}})
}

/// The value of a MIME parameter in a header block, e.g. `boundary`.
fn parameter(headers: &str, name: &str) -> String {
    let at = headers.find(&format!("{name}=")).unwrap_or_else(|| panic!("no {name} in {headers}"));
    let rest = &headers[at + name.len() + 1..];
    let value: String = if let Some(quoted) = rest.strip_prefix('"') {
        quoted.chars().take_while(|c| *c != '"').collect()
    } else {
        rest.chars().take_while(|c| !c.is_whitespace() && *c != ';').collect()
    };
    value
}

/// The two parts of a multipart message, exactly as transmitted (CRLF restored).
fn two_parts(data: &str) -> (String, String) {
    let data = data.replace("\r\n", "\n").replace('\n', "\r\n");
    let (headers, body) = data.split_once("\r\n\r\n").unwrap();
    let boundary = parameter(headers, "boundary");
    let delimiter = format!("\r\n--{boundary}");
    let body = format!("\r\n{body}");
    let mut parts = body.split(&delimiter).skip(1);
    let first = parts.next().unwrap().strip_prefix("\r\n").unwrap().to_string();
    let second = parts.next().unwrap().strip_prefix("\r\n").unwrap().to_string();
    (first, second)
}

fn gpg(home: &Path, args: &[&str], input: Option<&Path>) -> std::process::Output {
    let mut cmd = Command::new("gpg");
    cmd.arg("--homedir").arg(home).args(["--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", ""]).args(args);
    if let Some(file) = input {
        cmd.arg(file);
    }
    cmd.output().expect("gpg runs")
}

fn have_gpg() -> bool {
    Command::new("gpg").arg("--version").output().is_ok_and(|o| o.status.success())
}

struct Setup {
    install: Install,
    sink: SmtpSink,
    cert_public: String,
    bank_secret: String,
    bank_public: String,
    env: Vec<(String, String)>,
}

fn setup(install: Install) -> Setup {
    let sink = SmtpSink::start();
    install.user("coord@cert.tw", "Rampart CERT", "cert", "admin");
    let cert = key("TWCERT <cert@cert.example.tw>");
    let bank = key("Bank SOC <soc@bank.example.tw>");
    let key_file = install.data_dir().join("cert.asc");
    std::fs::write(&key_file, armored_secret(&cert)).unwrap();
    let env = vec![
        ("RAMPART_SMTP_RELAY".to_string(), sink.addr.clone()),
        ("RAMPART_MAIL_FROM".to_string(), "TWCERT <cert@cert.example.tw>".to_string()),
        ("RAMPART_PGP_SECRET_KEY_FILE".to_string(), key_file.display().to_string()),
        ("RAMPART_NOTIFY_POLL_SECONDS".to_string(), "3600".to_string()),
    ];
    let public = armored_public(&cert);
    Setup { install, sink, cert_public: public, bank_secret: armored_secret(&bank), bank_public: armored_public(&bank), env }
}

#[test]
fn directives_become_signed_encrypted_aggregated_mail_and_replies_come_back() {
    for install in installs() {
        let s = setup(install);
        let token = s.install.token("coord@cert.tw", "read,write,admin");
        let env: Vec<(&str, &str)> = s.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let server = s.install.start(&env);
        let auth = format!("Bearer {token}");
        let (base, auth) = (server.base.as_str(), auth.as_str());

        let bank = ok(
            base,
            auth,
            "POST",
            "/api/v1/organisations",
            json!({"name": "Example Bank", "org_type": "critical_infrastructure", "sector": "tw-ci.finance"}),
        );
        let shop = ok(base, auth, "POST", "/api/v1/organisations", json!({"name": "Example Shop", "org_type": "enterprise"}));
        let (bank_id, shop_id) = (bank["id"].as_str().unwrap(), shop["id"].as_str().unwrap());
        let bank_public = s.bank_public.clone();
        ok(
            base,
            auth,
            "POST",
            &format!("/api/v1/organisations/{bank_id}/contacts"),
            json!({"role": "abuse", "email": "soc@bank.example.tw", "pgp_key": bank_public}),
        );
        ok(
            base,
            auth,
            "POST",
            &format!("/api/v1/organisations/{shop_id}/contacts"),
            json!({"role": "abuse", "email": "it@shop.example.tw", "language": "zh-TW"}),
        );
        ok(base, auth, "POST", &format!("/api/v1/organisations/{bank_id}/assets"), json!({"value": "1.34.0.0/16"}));
        ok(base, auth, "POST", &format!("/api/v1/organisations/{shop_id}/assets"), json!({"value": "1.35.0.0/16"}));

        // Templates are checked when saved: an unknown variable is named with its place.
        let (status, problem) = call(
            base,
            auth,
            "PUT",
            "/api/v1/notification-templates/feed_events/en",
            json!({"subject": "Hi", "body": "Dear {{ orgname }}"}),
        );
        assert_eq!(status, 422, "{problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("orgname") && detail.contains("line 1") && detail.contains("column"), "{detail}");

        // Rules: scanners are not told; the shop's notices are copied to an ISAC.
        ok(base, auth, "POST", "/api/v1/suppression-rules", json!({"classification_type": "scanner", "action": "suppress"}));
        ok(
            base,
            auth,
            "POST",
            "/api/v1/suppression-rules",
            json!({"org_id": shop_id, "action": "copy", "copy_to": "isac@retail-isac.example.tw"}),
        );
        let (status, _) = call(base, auth, "POST", "/api/v1/suppression-rules", json!({"action": "copy"}));
        assert_eq!(status, 422, "a copy rule needs an address");

        let batch = json!([
            event("1.34.0.10", "open-dns"),
            event("1.34.0.11", "open-dns"),
            event("1.34.0.10", "open-dns"),
            event("1.35.7.7", "open-dns"),
            event("1.35.7.8", "scanner"),
            event("192.0.2.1", "open-dns"),
        ]);
        let outcome = ok(base, auth, "POST", "/api/v1/notifications/directives", batch.clone());
        assert_eq!(outcome["stored"].as_array().unwrap().len(), 4, "bank 2, shop 1, and its copy: {outcome}");
        assert_eq!((outcome["already_notified"].as_u64(), outcome["suppressed"].as_u64()), (Some(1), Some(1)), "{outcome}");
        assert_eq!(outcome["unroutable"][0]["index"], 5, "{outcome}");
        let (status, problem) = call(base, auth, "POST", "/api/v1/notifications/directives", json!([{"event": {}}]));
        assert_eq!(status, 422, "{problem}");

        let flushed = ok(base, auth, "POST", "/api/v1/notifications/flush", Value::Null);
        assert_eq!((flushed["queued"].as_u64(), flushed["sent"].as_u64()), (Some(3), Some(3)), "{flushed}");
        let mail = s.sink.received();
        assert_eq!(mail.len(), 3);
        let to = |who: &str| -> Received { mail.iter().find(|m| m.to.iter().any(|t| t.contains(who))).unwrap().clone() };

        // The bank has a key: its message is encrypted (and signed inside).
        let bank_mail = to("soc@bank.example.tw");
        assert!(bank_mail.data.contains("multipart/encrypted"), "{}", bank_mail.data);
        assert!(!bank_mail.data.contains("1.34.0.10"), "nothing readable outside the encryption");
        // The shop has none: signed in the clear, in Chinese, with the events as CSV.
        let shop_mail = to("it@shop.example.tw");
        assert!(shop_mail.data.contains("multipart/signed") && shop_mail.data.contains("application/pgp-signature"), "{}", shop_mail.data);
        assert!(shop_mail.data.contains("Subject: =?"), "an encoded Chinese subject: {}", shop_mail.data);
        let isac = to("isac@retail-isac.example.tw");
        assert!(isac.data.contains("multipart/signed"));

        if have_gpg() {
            let home = tempfile::tempdir().unwrap();
            let files = home.path();
            std::fs::write(files.join("cert.asc"), &s.cert_public).unwrap();
            std::fs::write(files.join("bank.asc"), &s.bank_secret).unwrap();
            assert!(gpg(files, &["--import"], Some(&files.join("cert.asc"))).status.success());
            let (signed, signature) = two_parts(&shop_mail.data);
            assert!(signed.contains("1.35.7.7"), "the events travel in the signed part");
            let signature = signature.split_once("\r\n\r\n").unwrap().1.to_string();
            std::fs::write(files.join("signed.eml"), &signed).unwrap();
            std::fs::write(files.join("signature.asc"), &signature).unwrap();
            let verify = gpg(files, &["--verify", &files.join("signature.asc").display().to_string()], Some(&files.join("signed.eml")));
            assert!(verify.status.success(), "gpg --verify: {}", String::from_utf8_lossy(&verify.stderr));
            std::fs::write(files.join("signed.eml"), signed.replace("1.35.7.7", "1.35.7.9")).unwrap();
            let tampered = gpg(files, &["--verify", &files.join("signature.asc").display().to_string()], Some(&files.join("signed.eml")));
            assert!(!tampered.status.success(), "an altered message does not verify");

            assert!(gpg(files, &["--import"], Some(&files.join("bank.asc"))).status.success());
            let (_, encrypted) = two_parts(&bank_mail.data);
            let armored = encrypted.split_once("\r\n\r\n").unwrap().1.to_string();
            std::fs::write(files.join("bank.pgp"), armored).unwrap();
            let decrypted = gpg(files, &["--decrypt"], Some(&files.join("bank.pgp")));
            let plain = String::from_utf8_lossy(&decrypted.stdout).to_string();
            assert!(decrypted.status.success() && plain.contains("multipart/signed"), "{}", String::from_utf8_lossy(&decrypted.stderr));
            assert!(plain.contains("1.34.0.10") && plain.contains("1.34.0.11"), "both events, aggregated: {plain}");
        } else {
            eprintln!("note: gpg is not installed; the GnuPG verification was skipped");
        }

        // At most once per interval: nothing new goes out, and a repeat is not told again.
        let again = ok(
            base,
            auth,
            "POST",
            "/api/v1/notifications/directives",
            json!([event("1.34.0.10", "open-dns"), event("1.34.0.12", "open-dns")]),
        );
        assert_eq!((again["stored"].as_array().unwrap().len(), again["already_notified"].as_u64()), (1, Some(1)), "{again}");
        let flushed = ok(base, auth, "POST", "/api/v1/notifications/flush", Value::Null);
        assert_eq!(flushed["queued"], 0, "the bank was told within the interval: {flushed}");

        // The outbox and its log.
        let outbox = ok(base, auth, "GET", &format!("/api/v1/notifications?org_id={shop_id}"), Value::Null);
        let shop_note = &outbox[0];
        assert_eq!((shop_note["status"].as_str(), shop_note["language"].as_str()), (Some("sent"), Some("zh-TW")), "{outbox}");
        assert_eq!(shop_note["signed"], true);
        let message_id = shop_note["message_id"].as_str().unwrap().to_string();
        let reference = shop_note["reference"].as_str().unwrap().to_string();
        assert!(shop_mail.data.contains(&format!("Message-ID: {message_id}")), "the Message-ID recorded is the one sent");

        // A reply and a bounce come back through the mailgate onto the notification.
        let reply = format!(
            "From: it@shop.example.tw\r\nTo: cert@cert.example.tw\r\nSubject: Re: [{reference}] fixed\r\nIn-Reply-To: {message_id}\r\n\r\nWe closed the resolver.\r\n"
        );
        let out = s.install.cli(&["mailgate"], Some(&reply), &env);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), reference, "{}", String::from_utf8_lossy(&out.stderr));
        let bounce = format!(
            "From: MAILER-DAEMON@mx.shop.example.tw\r\nTo: cert@cert.example.tw\r\nSubject: Undelivered Mail Returned to Sender\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"dsn\"\r\n\r\n\
             --dsn\r\nContent-Type: text/plain\r\n\r\nThe mailbox is full.\r\n\
             --dsn\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.shop.example.tw\r\n\r\nFinal-Recipient: rfc822; it@shop.example.tw\r\nAction: failed\r\nStatus: 5.2.2\r\n\
             --dsn\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: cert@cert.example.tw\r\nMessage-ID: {message_id}\r\nSubject: notice\r\n\
             --dsn--\r\n"
        );
        let out = s.install.cli(&["mailgate"], Some(&bounce), &env);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), reference, "{}", String::from_utf8_lossy(&out.stderr));
        let id = shop_note["id"].as_str().unwrap();
        let detail = ok(base, auth, "GET", &format!("/api/v1/notifications/{id}"), Value::Null);
        let log: Vec<&str> = detail["delivery_log"].as_array().unwrap().iter().map(|l| l["status"].as_str().unwrap()).collect();
        assert_eq!(log, ["queued", "sent", "reply", "bounced"], "{detail}");
        assert_eq!(detail["notification"]["status"], "bounced");
        assert_eq!(detail["directives"].as_array().unwrap().len(), 1);
        let raw = send(base, "GET", &format!("/api/v1/notifications/{id}/message"), &[("Authorization", auth)], b"");
        assert_eq!(raw.header("content-type"), Some("message/rfc822"));

        // An incident's investigation becomes a notification; the reply lands on the incident.
        let incident = ok(base, auth, "POST", "/api/v1/incidents", json!({"title": "Defacement of the shop", "org_id": shop_id}));
        let incident_id = incident["id"].as_str().unwrap();
        let told = ok(base, auth, "POST", &format!("/api/v1/incidents/{incident_id}/notify"), json!({}));
        assert_eq!(told["stored"].as_array().unwrap().len(), 2, "the shop and the ISAC copy: {told}");
        ok(base, auth, "POST", "/api/v1/notifications/flush", Value::Null);
        let sent = ok(base, auth, "GET", &format!("/api/v1/notifications?incident_id={incident_id}"), Value::Null);
        let first = sent.as_array().unwrap().iter().find(|n| n["recipient"] == "it@shop.example.tw").unwrap();
        let ntf = first["reference"].as_str().unwrap();
        let reply = format!("From: it@shop.example.tw\r\nSubject: Re: [{ntf}] restored\r\n\r\nSite restored from backup.\r\n");
        assert!(s.install.cli(&["mailgate"], Some(&reply), &env).status.success());
        let timeline = ok(base, auth, "GET", &format!("/api/v1/incidents/{incident_id}/timeline"), Value::Null);
        assert!(timeline.to_string().contains("Site restored from backup"), "{timeline}");
        let investigations = ok(base, auth, "GET", &format!("/api/v1/incidents/{incident_id}/investigations"), Value::Null);
        assert_eq!(investigations[0]["party"], "Example Shop");

        // X-ARF: one JSON report per event, attached.
        let before = s.sink.received().len();
        let xarf = json!([{"format": "xarf", "event": {"source.ip": "1.35.9.9", "source.port": "3389", "protocol.application": "rdp",
            "classification.type": "vulnerable-service", "time.source": "2026-11-29T10:00:00Z"}}]);
        let told = ok(base, auth, "POST", "/api/v1/notifications/directives", xarf);
        assert_eq!(told["stored"].as_array().unwrap().len(), 2, "{told}");
        let flushed = ok(base, auth, "POST", "/api/v1/notifications/flush", Value::Null);
        assert_eq!(flushed["sent"], 2, "{flushed}");
        let mail = s.sink.received();
        let report = mail[before..].iter().find(|m| m.to.iter().any(|t| t.contains("it@shop.example.tw"))).unwrap();
        assert!(report.data.contains("application/json") && report.data.contains(".json"), "{}", report.data);
    }
}

#[test]
fn a_relay_that_is_down_loses_nothing() {
    let s = setup(sqlite_install());
    let token = s.install.token("coord@cert.tw", "read,write,admin");
    // A relay address with nothing listening yet.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let mut env: Vec<(&str, &str)> =
        s.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).filter(|(k, _)| *k != "RAMPART_SMTP_RELAY").collect();
    env.push(("RAMPART_SMTP_RELAY", &addr));
    env.push(("RAMPART_NOTIFY_RETRY_FIRST_SECONDS", "1"));
    let server = s.install.start(&env);
    let auth = format!("Bearer {token}");
    let (base, auth) = (server.base.as_str(), auth.as_str());
    let org = ok(base, auth, "POST", "/api/v1/organisations", json!({"name": "Example ISP", "org_type": "enterprise"}));
    let org_id = org["id"].as_str().unwrap();
    ok(base, auth, "POST", &format!("/api/v1/organisations/{org_id}/contacts"), json!({"role": "abuse", "email": "abuse@isp.example.tw"}));
    ok(base, auth, "POST", &format!("/api/v1/organisations/{org_id}/assets"), json!({"value": "1.36.0.0/16"}));
    ok(base, auth, "POST", "/api/v1/notifications/directives", json!([event("1.36.0.1", "open-dns")]));

    let flushed = ok(base, auth, "POST", "/api/v1/notifications/flush", Value::Null);
    assert_eq!((flushed["queued"].as_u64(), flushed["sent"].as_u64()), (Some(1), Some(0)), "{flushed}");
    let outbox = ok(base, auth, "GET", "/api/v1/notifications", Value::Null);
    assert_eq!(outbox[0]["status"], "deferred", "{outbox}");
    assert!(!outbox[0]["last_error"].as_str().unwrap().is_empty(), "a clear reason: {outbox}");

    // The relay comes back; the message goes out once, as composed.
    let sink = SmtpSink::start_on(&addr);
    let mut sent = 0;
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        sent = ok(base, auth, "POST", "/api/v1/notifications/flush", Value::Null)["sent"].as_u64().unwrap();
        if sent > 0 {
            break;
        }
    }
    assert_eq!(sent, 1);
    assert_eq!(sink.received().len(), 1);
    let outbox = ok(base, auth, "GET", "/api/v1/notifications", Value::Null);
    assert_eq!((outbox[0]["status"].as_str(), outbox[0]["attempts"].as_i64()), (Some("sent"), Some(2)), "{outbox}");
    assert!(sink.received()[0].data.contains(outbox[0]["message_id"].as_str().unwrap()));
}
