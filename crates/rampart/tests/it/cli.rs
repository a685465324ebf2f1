use crate::harness::{installs, raw_sql, sqlite_install, Install, ADMIN_PASSWORD};
use crate::http::send;

#[test]
fn zero_config_start_creates_the_data_dir_and_prints_a_setup_link() {
    let install = sqlite_install();
    let data = install.data_dir().join("fresh");
    let out = std::process::Command::new(crate::harness::BIN).args(["config", "show", "--data-dir"]).arg(&data).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("listen = \"127.0.0.1:8080\""), "the default address");

    let server = install.start(&[]);
    assert!(install.sqlite_path().exists(), "SQLite database created in the data dir");
    let wal = install.data_dir().join("rampart.db-wal");
    assert!(wal.exists(), "WAL mode");
    let setup = server.setup_url.as_deref().expect("a setup link is printed");
    assert!(setup.starts_with(&format!("{}/setup?token=", server.base)), "{setup}");
    assert_eq!(send(&server.base, "GET", "/healthz", &[], b"").status, 200);
    let ready = send(&server.base, "GET", "/readyz", &[], b"");
    assert_eq!((ready.status, ready.json()["database"].as_str()), (200, Some("sqlite")));
    drop(server);

    // Once an administrator exists, no setup link is printed.
    install.user("admin@cert.tw", "Rampart CERT", "cert", "admin");
    let again = install.start(&[]);
    assert!(again.setup_url.is_none(), "{:?}", again.printed);
}

#[test]
fn config_example_parses_and_sources_take_precedence() {
    let install = sqlite_install();
    let example = install.ok(&["config", "example"], None);
    assert!(example.contains("[auth]") && example.contains("RAMPART_DATABASE"));
    let file = install.data_dir().join("rampart.toml");
    std::fs::write(
        &file,
        example.replace("session_hours = 12", "session_hours = 2").replace("lockout_minutes = 15", "lockout_minutes = 7"),
    )
    .unwrap();
    let file_arg = file.display().to_string();
    let out = install.cli(&["config", "show", "--config", &file_arg], None, &[("RAMPART_SESSION_HOURS", "3")]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("session_hours = 3"), "environment beats file: {shown}");
    assert!(shown.contains("lockout_minutes = 7"), "file beats default: {shown}");
    assert!(shown.contains(&format!("data_dir = \"{}\"", install.data_dir().display())), "flag beats all: {shown}");

    let bad = install.cli(&["config", "show"], None, &[("RAMPART_LOGIN_MAX_FAILURES", "many")]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("RAMPART_LOGIN_MAX_FAILURES"));
}

#[test]
fn admin_commands_create_orgs_users_and_tokens_that_work_on_the_api() {
    for install in installs() {
        install.ok(
            &[
                "admin",
                "org",
                "add",
                "National Health Insurance Administration",
                "--type",
                "government_agency",
                "--sector",
                "tw-ci.government",
            ],
            None,
        );
        install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
        let token = install.token("analyst@cert.tw", "read");
        assert!(token.starts_with("rmp_"));
        let server = install.start(&[]);
        let me = send(&server.base, "GET", "/api/v1/me", &[("Authorization", &format!("Bearer {token}"))], b"");
        assert_eq!(me.status, 200, "{}", me.text());
        let me = me.json();
        assert_eq!(me["email"], "analyst@cert.tw");
        assert_eq!(me["organisation"]["name"], "Rampart CERT");
        assert_eq!(me["organisation"]["org_type"], "cert");
        assert_eq!(me["roles"], serde_json::json!(["analyst"]));
        assert!(me["id"].as_str().is_some());

        let wrong = send(&server.base, "GET", "/api/v1/me", &[("Authorization", "Bearer rmp_nope")], b"");
        assert_eq!(wrong.status, 401);

        // Bad CLI input gets a clear message and a failing exit status.
        let bad_role = install.cli(
            &["admin", "user", "add", "x@cert.tw", "--org", "Rampart CERT", "--role", "god", "--password-stdin"],
            Some(ADMIN_PASSWORD),
            &[],
        );
        assert!(!bad_role.status.success());
        assert!(String::from_utf8_lossy(&bad_role.stderr).contains("invalid role"), "{}", String::from_utf8_lossy(&bad_role.stderr));
        let short = install.cli(
            &["admin", "user", "add", "y@cert.tw", "--org", "Rampart CERT", "--role", "analyst", "--password-stdin"],
            Some("short"),
            &[],
        );
        assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12"));
        let staff_outside = install.cli(
            &["admin", "user", "add", "z@nhi.gov.tw", "--org", "National Health Insurance Administration", "--role", "analyst"],
            None,
            &[],
        );
        assert!(String::from_utf8_lossy(&staff_outside.stderr).contains("not allowed"), "staff roles only in the CERT");
    }
}

fn verify(install: &Install) -> (bool, String) {
    let out = install.cli(&["admin", "audit", "verify"], None, &[]);
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn audit_verify_finds_altered_and_removed_entries() {
    for install in installs() {
        install.user("a@cert.tw", "Rampart CERT", "cert", "admin");
        install.user("b@cert.tw", "Rampart CERT", "cert", "analyst");
        let (ok, said) = verify(&install);
        assert!(ok, "{said}");
        assert!(said.contains("intact"), "{said}");

        raw_sql(&install, "UPDATE audit_log SET after_json = '{}' WHERE seq = 3");
        let (ok, said) = verify(&install);
        assert!(!ok, "an altered entry fails verification");
        assert!(said.contains("entry 3"), "{said}");

        let fresh = sqlite_install();
        fresh.user("a@cert.tw", "Rampart CERT", "cert", "admin");
        fresh.user("b@cert.tw", "Rampart CERT", "cert", "analyst");
        raw_sql(&fresh, "DELETE FROM audit_log WHERE seq = 2");
        let (ok, said) = verify(&fresh);
        assert!(!ok && said.contains("entry 3"), "a removed entry is named by the one after it: {said}");
    }
}

#[test]
fn backup_and_restore_round_trip() {
    let install = sqlite_install();
    install.user("a@cert.tw", "Rampart CERT", "cert", "admin");
    let server = install.start(&[]);
    let backup = install.data_dir().join("backup.db");
    let backup_arg = backup.display().to_string();
    // Online: the server is running while the backup is taken.
    install.ok(&["admin", "backup", &backup_arg], None);
    assert!(install.cli(&["admin", "backup", &backup_arg], None, &[]).status.code() != Some(0), "never overwrites a file");
    drop(server);

    install.user("later@cert.tw", "Rampart CERT", "cert", "analyst");
    assert!(install.ok(&["admin", "user", "list"], None).contains("later@cert.tw"));
    install.ok(&["admin", "restore", &backup_arg], None);
    let users = install.ok(&["admin", "user", "list"], None);
    assert!(users.contains("a@cert.tw") && !users.contains("later@cert.tw"), "{users}");
    assert!(verify(&install).0, "the restored chain is intact");

    let junk = install.data_dir().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    let out = install.cli(&["admin", "restore", &junk.display().to_string()], None, &[]);
    assert!(!out.status.success(), "a broken backup is refused");
    assert!(install.ok(&["admin", "user", "list"], None).contains("a@cert.tw"), "and nothing was lost");
}

#[test]
fn migrate_is_idempotent() {
    for install in installs() {
        assert!(install.ok(&["migrate"], None).contains("9 migration"));
        assert!(install.ok(&["migrate"], None).contains("0 migration"));
    }
}

#[test]
fn operators_can_bring_their_own_deadline_regimes() {
    let install = sqlite_install();
    install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
    let token = install.token("analyst@cert.tw", "read,write");
    let file = install.data_dir().join("regimes.toml");
    std::fs::write(
        &file,
        "[[regime]]\ncode = \"sector_ciso\"\nlegal = true\napplies_when = \"always\"\nen = \"Sector rule\"\nzh_tw = \"產業規範\"\n\
         [[regime.obligation]]\ncode = \"notify_ciso\"\nen = \"Tell the CISO\"\nzh_tw = \"通知資安長\"\nfrom = \"created\"\nmet_by = \"ciso_told\"\nwithin = \"30min\"\n",
    )
    .unwrap();
    let file_arg = file.display().to_string();
    let server = install.start(&[("RAMPART_DEADLINE_REGIMES_FILE", &file_arg)]);
    let auth = format!("Bearer {token}");
    let created = send(
        &server.base,
        "POST",
        "/api/v1/incidents",
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        br#"{"title":"x","tw_level":2}"#,
    )
    .json();
    let id = created["id"].as_str().unwrap();
    let deadlines = send(&server.base, "GET", &format!("/api/v1/incidents/{id}/deadlines"), &[("Authorization", &auth)], b"").json();
    let regimes: Vec<&str> = deadlines.as_array().unwrap().iter().map(|d| d["regime"].as_str().unwrap()).collect();
    assert_eq!(regimes, ["sector_ciso"], "the operator's regimes replace the shipped ones");
    drop(server);

    std::fs::write(&file, "[[regime]]\ncode = 1\n").unwrap();
    let bad = install.cli(&["migrate"], None, &[("RAMPART_DEADLINE_REGIMES_FILE", &file_arg)]);
    assert!(!bad.status.success(), "a broken regimes file stops Rampart with a clear message");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("deadline regimes"));
}

#[test]
fn stix_files_are_validated_from_the_command_line() {
    let install = crate::harness::sqlite_install();
    let good = rampart_core::testdata::path("stix/examples/indicator-for-c2-ip-address.json");
    let out = install.cli(&["stix-validate", good.to_str().unwrap()], None, &[]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("valid STIX 2.1"));
    let bad = install.data_dir().join("bad.json");
    std::fs::write(&bad, r#"{"type":"indicator","spec_version":"2.1","id":"indicator--x"}"#).unwrap();
    let out = install.cli(&["stix-validate", bad.to_str().unwrap()], None, &[]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(65), "{text}");
    assert!(text.contains("invalid") && text.contains("/id"), "{text}");
}
