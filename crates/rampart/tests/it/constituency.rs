//! The constituency registry end to end: contacts and keys, assets and claims, peers,
//! imports from the command line, and lookups through the API and `rampart route`.

use crate::harness::installs;
use crate::http::send;
use crate::pgp_keys::{armored_public, key};
use serde_json::{json, Value};

struct Api<'a> {
    base: &'a str,
    auth: String,
}

impl Api<'_> {
    fn call(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let body = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
        let r = send(self.base, method, path, &[("Authorization", &self.auth), ("Content-Type", "application/json")], &body);
        (r.status, if r.body.is_empty() { Value::Null } else { r.json() })
    }

    fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, value) = self.call(method, path, body);
        assert!((200..300).contains(&status), "{method} {path}: {status} {value}");
        value
    }

    fn names(&self, q: &str) -> (Vec<String>, Value) {
        let answer = self.ok("GET", &format!("/api/v1/constituency/lookup?q={q}"), Value::Null);
        let names =
            answer["organisations"].as_array().unwrap().iter().map(|o| o["organisation"]["name"].as_str().unwrap().to_string()).collect();
        (names, answer)
    }
}

#[test]
fn registry_imports_and_routing() {
    for install in installs() {
        install.user("coord@cert.tw", "Rampart CERT", "cert", "admin");
        install.user("admin@campus.tw", "Campus Net", "government_agency", "org_admin");
        let token = install.token("coord@cert.tw", "read,write,admin");
        let campus_token = install.token("admin@campus.tw", "read,write");

        // The routing table, from the offline IP→ASN data; a second run changes nothing.
        let tw = rampart_core::testdata::path("asn/networks_TW.tsv").display().to_string();
        let jp = rampart_core::testdata::path("asn/networks_JP.tsv").display().to_string();
        let rows: usize =
            [&tw, &jp].iter().map(|f| std::fs::read_to_string(f).unwrap().lines().filter(|l| !l.starts_with('#')).count()).sum();
        let out = install.cli(&["import", "routing", "--name", "libloc", "--format", "tsv", &tw, &jp], None, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains(&format!("prefixes: {rows} added")), "{stdout}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("100%"), "a progress bar");
        let again = install.ok(&["import", "routing", "--name", "libloc", "--format", "tsv", &tw, &jp], None);
        assert!(again.contains(&format!("0 added, 0 changed, 0 removed, {rows} unchanged")), "{again}");

        // A CSV import with a bad row: the rest goes in, the bad line is named.
        let csv_path = install.data_dir().join("constituents.csv");
        std::fs::write(
            &csv_path,
            "organisation,country,asset,contact_role,contact_email,contact_language\n\
             Taipei Water,TW,water.gov.taipei,abuse,soc@water.gov.taipei,zh-TW\n\
             Taipei Water,TW,203.69.0.0/16,,,\n\
             Bad Row Org,TW,10.0.0.0/8,,,\n",
        )
        .unwrap();
        let csv = csv_path.display().to_string();
        let out = install.ok(&["import", "registry", "--name", "water", "--format", "csv", &csv], None);
        assert!(out.contains("assets:   2 added"), "{out}");
        let stderr =
            String::from_utf8_lossy(&install.cli(&["import", "registry", "--name", "water", "--format", "csv", &csv], None, &[]).stderr)
                .to_string();
        assert!(stderr.contains(":4:") && stderr.contains("10.0.0.0/8"), "the bad line and why: {stderr}");
        let again = install.ok(&["import", "registry", "--name", "water", "--format", "csv", &csv], None);
        assert!(again.contains("2 unchanged"), "idempotent: {again}");

        // RIPE-database split files, restricted to the constituency's country.
        let ripe = install.data_dir().join("ripe");
        std::fs::create_dir_all(&ripe).unwrap();
        let files = [
            (
                "ripe.db.organisation",
                "organisation:   ORG-HA1-RIPE\norg-name:       Harbour Analytics\ncountry:        TW\nabuse-c:        HA1-RIPE\n",
            ),
            ("ripe.db.role", "role:           Harbour Abuse\nnic-hdl:        HA1-RIPE\nabuse-mailbox:  abuse@harbour.example.tw\n"),
            (
                "ripe.db.inetnum",
                "inetnum:        1.2.3.0 - 1.2.5.255\nnetname:        HARBOUR-NET\ncountry:        TW\norg:            ORG-HA1-RIPE\n\n\
                 inetnum:        5.6.7.0 - 5.6.7.255\nnetname:        ELSEWHERE\ncountry:        DE\norg:            ORG-EL1-RIPE\n",
            ),
            ("ripe.db.aut-num", "aut-num:        AS200123\nas-name:        HARBOUR-AS\norg:            ORG-HA1-RIPE\n"),
        ];
        let mut paths = Vec::new();
        for (name, text) in files {
            std::fs::write(ripe.join(name), text).unwrap();
            paths.push(ripe.join(name).display().to_string());
        }
        let mut args = vec!["import", "registry", "--name", "ripe", "--format", "rpsl"];
        args.extend(paths.iter().map(String::as_str));
        let out = install.ok(&args, None);
        assert!(
            out.contains("1 organisation(s) created") && out.contains("assets:   3 added") && out.contains("contacts: 1 added"),
            "{out}"
        );

        // RIR delegated statistics as a second routing source.
        let delegated = install.data_dir().join("delegated-apnic-extended");
        std::fs::write(
            &delegated,
            "2|apnic|20261129|4|19830613|20261128|+1000\napnic|*|ipv4|*|2|summary\n\
             apnic|KR|ipv4|175.192.0.0|768|20080306|allocated|A9166B1A\napnic|TW|ipv6|2001:b000::|20|20030619|allocated|A91A7ED2\n\
             apnic|TW|asn|3462|1|19950427|allocated|A91A7ED2\napnic||ipv4|1.0.0.0|256|20110811|available|\napnic|TW|ipv4|not-an-ip|256|20110811|allocated|X\n",
        )
        .unwrap();
        let out =
            install.cli(&["import", "routing", "--name", "apnic", "--format", "delegated", &delegated.display().to_string()], None, &[]);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("prefixes: 3 added") && stdout.contains("rejected: 1"), "{stdout}");
        assert!(stderr.contains(":7:"), "the bad row by line: {stderr}");

        let server = install.start(&[]);
        let api = Api { base: &server.base, auth: format!("Bearer {token}") };
        let hinet = api.ok("POST", "/api/v1/organisations", json!({"name": "HiNet", "org_type": "critical_infrastructure"}));
        let hinet_id = hinet["id"].as_str().unwrap().to_string();

        // Contacts: bad input is refused with a reason; a key is read for its fingerprint.
        let (status, problem) =
            api.call("POST", &format!("/api/v1/organisations/{hinet_id}/contacts"), json!({"role": "abuse", "email": "not mail"}));
        assert_eq!(status, 422, "{problem}");
        let (status, problem) = api.call(
            "POST",
            &format!("/api/v1/organisations/{hinet_id}/contacts"),
            json!({"role": "abuse", "email": "abuse@hinet.net", "pgp_key": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----"}),
        );
        assert_eq!(status, 422, "an unreadable key: {problem}");
        let abuse_key = key("HiNet Abuse <abuse@hinet.net>");
        let contact = api.ok(
            "POST",
            &format!("/api/v1/organisations/{hinet_id}/contacts"),
            json!({"role": "abuse", "email": "Abuse@HiNet.net", "language": "zh-TW", "pgp_key": armored_public(&abuse_key)}),
        );
        assert_eq!(contact["email"], "abuse@hinet.net");
        assert_eq!(contact["pgp_fingerprint"].as_str().map(str::len), Some(40), "{contact}");

        // Assets: private and documentation ranges and host bits are refused.
        for (value, why) in [("10.0.0.0/8", "private"), ("1.34.0.1/16", "host bits"), ("300.1.1.0/24", "")] {
            let (status, problem) = api.call("POST", &format!("/api/v1/organisations/{hinet_id}/assets"), json!({"value": value}));
            assert_eq!(status, 422, "{value}: {problem}");
            assert!(problem["detail"].as_str().unwrap().contains(why), "{value}: {problem}");
        }
        for value in ["1.34.0.0/16", "hinet.net", "AS3462"] {
            api.ok("POST", &format!("/api/v1/organisations/{hinet_id}/assets"), json!({"value": value}));
        }
        let (status, _) = api.call("POST", &format!("/api/v1/organisations/{hinet_id}/assets"), json!({"value": "1.34.0.0/16"}));
        assert_eq!(status, 409, "held already");

        // Lookups: most specific prefix, domain suffix, origin AS via the routing table.
        let (names, answer) = api.names("1.34.1.1");
        assert_eq!(names, ["HiNet"], "{answer}");
        assert!(answer["organisations"][0]["reason"].as_str().unwrap().contains("1.34.0.0/16"), "{answer}");
        assert_eq!(answer["organisations"][0]["contacts"][0]["email"], "abuse@hinet.net");
        assert_eq!(api.names("www.hinet.net").0, ["HiNet"]);
        assert_eq!(api.names("https://mail.hinet.net/login").0, ["HiNet"]);
        let (names, answer) = api.names("168.95.1.1");
        assert_eq!(names, ["HiNet"], "AS3462 originates 168.95.0.0/16: {answer}");
        assert_eq!(answer["answer"]["asn"], 3462);
        assert_eq!(api.names("water.gov.taipei").0, ["Taipei Water"], "imported");
        assert_eq!(api.names("1.2.4.9").0, ["Harbour Analytics"], "from RIPE");
        assert!(api.names("5.6.7.8").0.is_empty(), "another country's networks were left out");
        let (status, _) = api.call("GET", "/api/v1/constituency/lookup?q=not%20a%20thing%20%24", Value::Null);
        assert_eq!(status, 422);

        // Outside the constituency: the national CERT of the address's country.
        let (names, answer) = api.names("133.1.1.1");
        assert!(names.is_empty(), "no peer yet: {answer}");
        api.ok(
            "POST",
            "/api/v1/peers",
            json!({"name": "JPCERT/CC", "country": "JP", "national": true, "taxii_url": "https://taxii.jpcert.example/"}),
        );
        let (names, answer) = api.names("133.1.1.1");
        assert_eq!(names, ["JPCERT/CC"], "{answer}");
        assert_eq!(answer["answer"]["country"], "JP");

        // Manual beats imported; equal claims are a tie, reported rather than guessed.
        let other = api.ok("POST", "/api/v1/organisations", json!({"name": "Resold Hosting", "org_type": "enterprise"}));
        let other_id = other["id"].as_str().unwrap();
        api.ok("POST", &format!("/api/v1/organisations/{other_id}/assets"), json!({"value": "203.69.0.0/16"}));
        assert_eq!(api.names("203.69.1.1").0, ["Resold Hosting"], "manual beats the imported claim");
        api.ok("POST", &format!("/api/v1/organisations/{other_id}/assets"), json!({"value": "1.34.0.0/16"}));
        let (names, answer) = api.names("1.34.9.9");
        assert_eq!(answer["answer"]["tie"], true, "{answer}");
        assert_eq!(names.len(), 2);

        // Self-service: an organisation's administrator keeps contacts and claims assets.
        let campus = Api { base: &server.base, auth: format!("Bearer {campus_token}") };
        let me = campus.ok("GET", "/api/v1/me", Value::Null);
        let campus_id = me["organisation"]["id"].as_str().unwrap().to_string();
        campus.ok("POST", &format!("/api/v1/organisations/{campus_id}/contacts"), json!({"role": "security", "email": "cc@campus.tw"}));
        let (status, _) =
            campus.call("POST", &format!("/api/v1/organisations/{hinet_id}/contacts"), json!({"role": "abuse", "email": "x@x.tw"}));
        assert_eq!(status, 403, "not another organisation's");
        let claim = campus.ok("POST", &format!("/api/v1/organisations/{campus_id}/assets"), json!({"value": "140.112.0.0/16"}));
        assert_eq!(claim["asset"]["status"], "pending");
        assert!(api.names("140.112.8.116").0.is_empty(), "a claim does not route");
        let (status, _) = campus.call("GET", "/api/v1/constituency/lookup?q=1.34.1.1", Value::Null);
        assert_eq!(status, 403, "lookups are for staff");
        let pending = api.ok("GET", "/api/v1/assets/pending", Value::Null);
        let claim_id = pending[0]["id"].as_str().unwrap();
        let (status, _) = campus.call("POST", &format!("/api/v1/assets/{claim_id}/decision"), json!({"approve": true}));
        assert_eq!(status, 403, "no approving one's own claim");
        api.ok("POST", &format!("/api/v1/assets/{claim_id}/decision"), json!({"approve": true}));
        assert_eq!(api.names("140.112.8.116").0, ["Campus Net"]);

        let found = api.ok("GET", "/api/v1/directory?q=hinet.net", Value::Null);
        assert_eq!(found.as_array().unwrap().len(), 1, "found by asset: {found}");

        // The CLI answers the same, with the reason.
        let routed = install.ok(&["route", "1.34.0.77", "140.112.8.116", "AS3462"], None);
        assert!(routed.contains("1.34.0.77") && routed.contains("tie"), "{routed}");
        assert!(routed.contains("140.112.8.116 [AS1659, TW]: Campus Net — prefix 140.112.0.0/16 (manual)"), "{routed}");
        assert!(routed.contains("HiNet — AS number AS3462 (manual)"), "{routed}");
        let bad = install.cli(&["route", "a b c"], None, &[]);
        assert_eq!(bad.status.code(), Some(65));
    }
}
