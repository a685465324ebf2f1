//! The UI as a browser without JavaScript uses it: first-admin setup, sign-in with
//! CSRF, TOTP enrolment and challenge, lockout, languages.

use crate::harness::{installs, sqlite_install, totp_code, ADMIN_PASSWORD};
use crate::http::{element_text, hidden_value, Browser};

fn now_step() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 / 30
}

#[test]
fn first_admin_setup_then_totp_enrolment_and_challenge() {
    for install in installs() {
        let server = install.start(&[]);
        let setup = server.setup_url.clone().expect("setup link");
        let setup_path = &setup[server.base.len()..];
        let mut browser = Browser::new(&server.base);

        let mismatch = browser.submit(
            setup_path,
            "/setup",
            &[
                ("token", &setup_path[13..]),
                ("email", "chief@cert.tw"),
                ("display_name", "Chief"),
                ("password", ADMIN_PASSWORD),
                ("confirm_password", "other"),
            ],
        );
        assert_eq!(mismatch.status, 303);
        assert!(browser.get(mismatch.location()).text().contains("flash-error"), "mismatch is reported");

        let token = &setup_path["/setup?token=".len()..];
        let done = browser.submit(
            setup_path,
            "/setup",
            &[
                ("token", token),
                ("email", "chief@cert.tw"),
                ("display_name", "Chief"),
                ("password", ADMIN_PASSWORD),
                ("confirm_password", ADMIN_PASSWORD),
            ],
        );
        assert_eq!((done.status, done.location()), (303, "/login"));
        assert_eq!(browser.get(setup_path).status, 404, "the link works once");

        // Without the form's CSRF token the sign-in is refused.
        let forged = browser.post_form("/login", &[("email", "chief@cert.tw"), ("password", ADMIN_PASSWORD), ("csrf", "forged")]);
        assert_eq!(forged.status, 403);
        assert!(!browser.cookies.contains_key("rampart_session"));

        // Staff must enrol TOTP before anything else (the default).
        let signed_in = browser.submit("/login", "/login", &[("email", "chief@cert.tw"), ("password", ADMIN_PASSWORD)]);
        assert_eq!((signed_in.status, signed_in.location()), (303, "/account/totp"));
        assert_eq!(browser.get("/").location(), "/account/totp", "home waits for enrolment");
        assert_eq!(browser.get("/api/v1/me").status, 401, "so does the API");
        let enrol = browser.get("/account/totp").text();
        let secret = element_text(&enrol, "totp-secret").expect("secret shown");
        assert!(enrol.contains("<svg"), "with a QR code");
        let wrong = browser.submit("/account/totp", "/account/totp", &[("code", "000000")]);
        assert_eq!(wrong.location(), "/account/totp");
        let step = now_step();
        let enrolled = browser.submit("/account/totp", "/account/totp", &[("code", &totp_code(&secret, step))]);
        assert_eq!((enrolled.status, enrolled.location()), (303, "/"));
        let home = browser.get("/");
        assert_eq!(home.status, 200);
        assert!(element_text(&home.text(), "home-title").is_some());
        let me = browser.get("/api/v1/me").json();
        assert_eq!((me["email"].as_str(), me["totp_enabled"].as_bool()), (Some("chief@cert.tw"), Some(true)));

        // API writes from a browser session need the session's CSRF token.
        let body = br#"{"name":"Acme","org_type":"vendor"}"#;
        let no_csrf = browser.request("POST", "/api/v1/organisations", &[("Content-Type", "application/json")], body);
        assert_eq!((no_csrf.status, no_csrf.json()["code"].as_str()), (403, Some("csrf_failed")));
        let csrf = hidden_value(&home.text(), "csrf").unwrap();
        let with_csrf =
            browser.request("POST", "/api/v1/organisations", &[("Content-Type", "application/json"), ("X-CSRF-Token", &csrf)], body);
        assert_eq!(with_csrf.status, 201, "{}", with_csrf.text());

        // Sign out, then sign in with the second factor.
        let out = browser.submit("/", "/logout", &[]);
        assert_eq!(out.location(), "/login");
        assert_eq!(browser.get("/").location(), "/login");
        let first = browser.submit("/login", "/login", &[("email", "chief@cert.tw"), ("password", ADMIN_PASSWORD)]);
        assert_eq!(first.location(), "/login/totp");
        assert_eq!(browser.get("/").location(), "/login/totp", "nothing before the second factor");
        let replay = browser.submit("/login/totp", "/login/totp", &[("code", &totp_code(&secret, step))]);
        assert_eq!(replay.location(), "/login/totp", "the enrolment code cannot be replayed");
        let fresh = browser.submit("/login/totp", "/login/totp", &[("code", &totp_code(&secret, step + 1))]);
        assert_eq!(fresh.location(), "/", "the next step's code (within the drift window) is accepted");
        assert_eq!(browser.get("/").status, 200);
    }
}

#[test]
fn repeated_failures_lock_the_account_and_fast_guessing_is_rate_limited() {
    let install = sqlite_install();
    install.user("a@cert.tw", "Rampart CERT", "cert", "analyst");
    let server = install.start(&[("RAMPART_LOGIN_MAX_FAILURES", "3"), ("RAMPART_LOGIN_RATE_PER_MINUTE", "6")]);
    let mut browser = Browser::new(&server.base);
    for _ in 0..2 {
        let r = browser.submit("/login", "/login", &[("email", "a@cert.tw"), ("password", "not the password")]);
        assert_eq!(r.status, 401);
    }
    let third = browser.submit("/login", "/login", &[("email", "a@cert.tw"), ("password", "not the password")]);
    assert_eq!(third.status, 401);
    let right = browser.submit("/login", "/login", &[("email", "a@cert.tw"), ("password", ADMIN_PASSWORD)]);
    assert_eq!(right.status, 401, "locked: even the right password is refused");
    assert!(right.text().contains("flash-error"));
    let unknown = browser.submit("/login", "/login", &[("email", "nobody@cert.tw"), ("password", ADMIN_PASSWORD)]);
    assert_eq!(unknown.status, 401);
    for _ in 0..2 {
        browser.submit("/login", "/login", &[("email", "nobody@cert.tw"), ("password", "x")]);
    }
    let limited = browser.submit("/login", "/login", &[("email", "nobody@cert.tw"), ("password", "x")]);
    assert_eq!(limited.status, 429, "the seventh attempt in a minute from one address");
    let audit = install.ok(&["admin", "audit", "verify"], None);
    assert!(audit.contains("intact"));

    // An administrator's password reset unlocks.
    install.ok(&["admin", "user", "passwd", "a@cert.tw", "--password-stdin"], Some("a brand new passphrase"));
    let server2 = install.start(&[("RAMPART_REQUIRE_TOTP_FOR_STAFF", "false")]);
    let mut browser = Browser::new(&server2.base);
    let ok = browser.submit("/login", "/login", &[("email", "a@cert.tw"), ("password", "a brand new passphrase")]);
    assert_eq!((ok.status, ok.location()), (303, "/"));
}

#[test]
fn language_follows_the_browser_then_the_user_setting() {
    let install = sqlite_install();
    install.user("a@cert.tw", "Rampart CERT", "cert", "analyst");
    let server = install.start(&[("RAMPART_REQUIRE_TOTP_FOR_STAFF", "false")]);
    let mut browser = Browser::new(&server.base);
    browser.accept_language = Some("zh-TW,zh;q=0.9,en;q=0.5".into());
    let login = browser.get("/login").text();
    assert!(login.contains("<html lang=\"zh-TW\""), "Accept-Language picks zh-TW");
    browser.accept_language = Some("en-GB".into());
    let en_login = browser.get("/login").text();
    assert!(en_login.contains("<html lang=\"en\""));
    let chosen = browser.get("/login?lang=zh-TW").text();
    assert!(chosen.contains("<html lang=\"zh-TW\""), "an explicit choice beats the browser");

    browser.cookies.remove("rampart_lang");
    browser.submit("/login", "/login", &[("email", "a@cert.tw"), ("password", ADMIN_PASSWORD)]);
    let home_en = browser.get("/").text();
    let title_en = element_text(&home_en, "home-title").unwrap();
    let saved = browser.submit("/", "/account/language", &[("locale", "zh-TW")]);
    assert_eq!(saved.location(), "/");
    let home_zh = browser.get("/").text();
    assert!(home_zh.contains("<html lang=\"zh-TW\""), "the user's setting beats the browser");
    let title_zh = element_text(&home_zh, "home-title").unwrap();
    assert_ne!(title_en, title_zh);
    assert!(title_zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{title_zh}");
    let bad = browser.submit("/", "/account/language", &[("locale", "xx")]);
    assert!(browser.get(bad.location()).text().contains("flash-error"));
}

#[test]
fn password_change_ends_sessions_and_admin_pages_are_for_admins() {
    let install = sqlite_install();
    install.user("a@cert.tw", "Rampart CERT", "cert", "analyst");
    install.user("boss@cert.tw", "Rampart CERT", "cert", "admin");
    let server = install.start(&[("RAMPART_REQUIRE_TOTP_FOR_STAFF", "false")]);
    let mut analyst = Browser::new(&server.base);
    analyst.submit("/login", "/login", &[("email", "a@cert.tw"), ("password", ADMIN_PASSWORD)]);
    assert_eq!(analyst.get("/admin/users").status, 403);
    let wrong = analyst.submit(
        "/account/password",
        "/account/password",
        &[("current_password", "nope"), ("new_password", "another long passphrase"), ("confirm_password", "another long passphrase")],
    );
    assert_eq!(wrong.location(), "/account/password");
    let changed = analyst.submit(
        "/account/password",
        "/account/password",
        &[
            ("current_password", ADMIN_PASSWORD),
            ("new_password", "another long passphrase"),
            ("confirm_password", "another long passphrase"),
        ],
    );
    assert_eq!(changed.location(), "/login");
    assert_eq!(analyst.get("/").location(), "/login", "the session ended");

    let mut admin = Browser::new(&server.base);
    admin.submit("/login", "/login", &[("email", "boss@cert.tw"), ("password", ADMIN_PASSWORD)]);
    let created = admin.submit(
        "/admin/orgs",
        "/admin/orgs",
        &[
            ("name", "Ministry of Digital Affairs"),
            ("org_type", "government_agency"),
            ("sector", "tw-ci.government"),
            ("country", "TW"),
            ("parent_id", ""),
        ],
    );
    assert_eq!(created.location(), "/admin/orgs");
    let orgs = admin.get("/admin/orgs").text();
    assert!(orgs.contains("Ministry of Digital Affairs") && orgs.contains("flash-ok"));
    let org_id = install
        .ok(&["admin", "org", "list"], None)
        .lines()
        .find(|l| l.contains("Ministry"))
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_string();
    let user = admin.submit(
        "/admin/users",
        "/admin/users",
        &[
            ("email", "ciso@moda.gov.tw"),
            ("display_name", "CISO"),
            ("org_id", &org_id),
            ("role", "org_admin"),
            ("password", "a good long passphrase"),
        ],
    );
    assert_eq!(user.location(), "/admin/users");
    assert!(admin.get("/admin/users").text().contains("ciso@moda.gov.tw"));
    let forged = admin.post_form("/admin/orgs", &[("name", "Forged"), ("org_type", "vendor"), ("csrf", "nope")]);
    assert_eq!(forged.status, 303);
    assert!(!admin.get("/admin/orgs").text().contains("Forged"), "a forged form changes nothing");
}

#[test]
fn pages_carry_security_headers_and_static_assets_are_served() {
    let install = sqlite_install();
    let server = install.start(&[]);
    let mut browser = Browser::new(&server.base);
    let login = browser.get("/login");
    let csp = login.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(login.header("x-frame-options"), Some("DENY"));
    let cookie = login.headers.iter().find(|(k, v)| k == "set-cookie" && v.starts_with("rampart_csrf=")).unwrap();
    assert!(cookie.1.contains("HttpOnly") && cookie.1.contains("SameSite=Lax") && !cookie.1.contains("Secure"));
    assert!(!login.text().contains("style=\""), "no inline styles (the CSP forbids them)");
    assert_eq!(browser.get("/static/rampart.css").status, 200);
    assert_eq!(browser.get("/static/htmx.min.js").status, 200);
    assert_eq!(browser.get("/static/rampart.js").status, 200);
    let missing = browser.get("/no/such/page");
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("<html"));
    drop(server);

    let secure = install.start(&[("RAMPART_PUBLIC_URL", "https://rampart.example.tw")]);
    let mut browser = Browser::new(&secure.base);
    let login = browser.get("/login");
    let cookie = login.headers.iter().find(|(k, v)| k == "set-cookie" && v.starts_with("rampart_csrf=")).unwrap();
    assert!(cookie.1.contains("; Secure"), "cookies are Secure behind TLS");
}
