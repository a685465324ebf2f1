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

mod openpgp {
    use crate::harness::sqlite_install;
    use crate::http::send;
    use crate::pgp_keys::key;
    use pgp::composed::{MessageBuilder, SignedPublicKey, SignedSecretKey};
    use pgp::crypto::{hash::HashAlgorithm, sym::SymmetricKeyAlgorithm};
    use pgp::types::Password;

    fn encrypted_to(cert: &SignedSecretKey, signer: &SignedSecretKey, entity: &str) -> String {
        let public = SignedPublicKey::from(cert.clone());
        let mut builder =
            MessageBuilder::from_bytes("", entity.as_bytes().to_vec()).seipd_v1(rand08::thread_rng(), SymmetricKeyAlgorithm::AES256);
        builder.encrypt_to_key(rand08::thread_rng(), &public.public_subkeys[1]).unwrap();
        builder.sign(&signer.secret_subkeys[0].key, Password::empty(), HashAlgorithm::Sha256);
        builder.to_armored_string(rand08::thread_rng(), Default::default()).unwrap()
    }

    #[test]
    fn pgp_mime_is_decrypted_with_the_cert_key_and_the_signature_recorded() {
        let install = sqlite_install();
        install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
        let token = install.token("analyst@cert.tw", "read");
        let (cert, contact) = (key("CERT <cert@cert.example.tw>"), key("SOC <soc@bank.example.tw>"));
        let keys = install.data_dir().join("keys");
        std::fs::create_dir_all(keys.join("contacts")).unwrap();
        std::fs::write(keys.join("cert.asc"), cert.to_armored_string(Default::default()).unwrap()).unwrap();
        std::fs::write(
            keys.join("contacts/soc.asc"),
            SignedPublicKey::from(contact.clone()).to_armored_string(Default::default()).unwrap(),
        )
        .unwrap();
        let env = [
            ("RAMPART_PGP_SECRET_KEY_FILE", keys.join("cert.asc").display().to_string()),
            ("RAMPART_PGP_CONTACT_KEYS_DIR", keys.join("contacts").display().to_string()),
        ];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

        let entity = "Content-Type: text/plain; charset=utf-8\r\n\r\nCard data leaked from 198.51.100.44\r\n";
        let armored = encrypted_to(&cert, &contact, entity);
        let message = format!(
            "From: SOC <soc@bank.example.tw>\r\nSubject: Encrypted incident report\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"enc\"\r\n\r\n\
             --enc\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\
             --enc\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n{armored}\r\n--enc--\r\n"
        );
        let out = install.cli(&["mailgate"], Some(&message), &env);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

        let server = install.start(&[]);
        let auth = format!("Bearer {token}");
        let reports = send(&server.base, "GET", "/api/v1/reports", &[("Authorization", &auth)], b"").json();
        let report = &reports["items"][0];
        let description = report["description"].as_str().unwrap();
        assert!(description.contains("Card data leaked from 198.51.100.44"), "decrypted: {description}");
        assert!(description.contains("decrypted with the CERT key") && description.contains("good signature by key"), "{description}");
        let id = report["id"].as_str().unwrap();
        let full = send(&server.base, "GET", &format!("/api/v1/reports/{id}"), &[("Authorization", &auth)], b"").json();
        assert!(full["observables"].as_array().unwrap().iter().any(|o| o["value"] == "198.51.100.44"), "observables from the plaintext");

        // Without the key the message is kept as it came, and says so.
        let stranger = key("Other <other@example.net>");
        let not_ours = message.replace(&armored, &encrypted_to(&stranger, &contact, entity));
        let out = install.cli(&["mailgate"], Some(&not_ours), &env);
        assert_eq!(out.status.code(), Some(0));
        let reports = send(&server.base, "GET", "/api/v1/reports", &[("Authorization", &auth)], b"").json();
        assert!(reports["items"][0]["description"].as_str().unwrap().contains("kept encrypted as message.eml"));

        // Inline PGP: an armored message in a plain-text body, and a clear-signed one.
        let inline = format!(
            "From: soc@bank.example.tw\r\nSubject: Inline\r\n\r\nSee below.\r\n{}\r\n",
            encrypted_to(&cert, &contact, "Inline secret 203.0.113.201")
        );
        assert_eq!(install.cli(&["mailgate"], Some(&inline), &env).status.code(), Some(0));
        let clear = pgp::composed::CleartextSignedMessage::sign(
            rand08::thread_rng(),
            "Please block 203.0.113.202",
            &contact.secret_subkeys[0].key,
            &Password::empty(),
        )
        .unwrap();
        let signed =
            format!("From: soc@bank.example.tw\r\nSubject: Signed\r\n\r\n{}\r\n", clear.to_armored_string(Default::default()).unwrap());
        assert_eq!(install.cli(&["mailgate"], Some(&signed), &env).status.code(), Some(0));
        let reports = send(&server.base, "GET", "/api/v1/reports", &[("Authorization", &auth)], b"").json();
        let descriptions: Vec<&str> = reports["items"].as_array().unwrap().iter().map(|r| r["description"].as_str().unwrap()).collect();
        assert!(descriptions.iter().any(|d| d.contains("Inline secret 203.0.113.201") && d.contains("good signature")), "{descriptions:?}");
        assert!(
            descriptions.iter().any(|d| d.contains("Please block 203.0.113.202") && d.contains("OpenPGP: good signature")),
            "{descriptions:?}"
        );

        // A broken key configuration makes the MTA retry instead of losing the message.
        let broken = [("RAMPART_PGP_SECRET_KEY_FILE", "/nonexistent/cert.asc")];
        assert_eq!(install.cli(&["mailgate"], Some(&message), &broken).status.code(), Some(75));
    }
}
