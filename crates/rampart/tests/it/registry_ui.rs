//! The constituency registry and the outbox as a browser without JavaScript uses
//! them: the directory and "who is responsible?", an organisation's contacts and
//! assets, a constituent's claim and its approval, the notification template editor.

use crate::harness::{sqlite_install, ADMIN_PASSWORD};
use crate::http::{between, follow, Browser};

#[test]
fn directory_contacts_assets_claims_lookup_and_templates() {
    let install = sqlite_install();
    install.user("boss@cert.tw", "Rampart CERT", "cert", "admin");
    install.user("coord@cert.tw", "Rampart CERT", "cert", "coordinator");
    let server = install.start(&[("RAMPART_REQUIRE_TOTP_FOR_STAFF", "false")]);

    // An administrator creates the organisation.
    let mut admin = Browser::new(&server.base);
    admin.submit("/login", "/login", &[("email", "boss@cert.tw"), ("password", ADMIN_PASSWORD)]);
    let created = admin.submit(
        "/admin/orgs",
        "/admin/orgs",
        &[("name", "Taipei Water Department"), ("org_type", "government_agency"), ("sector", ""), ("country", "TW"), ("parent_id", "")],
    );
    assert_eq!(created.location(), "/admin/orgs");

    // A coordinator finds it in the directory.
    let mut coord = Browser::new(&server.base);
    let signed_in = coord.submit("/login", "/login", &[("email", "coord@cert.tw"), ("password", ADMIN_PASSWORD)]);
    assert_eq!(signed_in.location(), "/");
    let home = coord.get("/").text();
    assert!(home.contains("href=\"/directory\"") && home.contains("href=\"/notifications\""), "staff see Directory and Outbox");
    let all = coord.get("/directory");
    assert_eq!(all.status, 200);
    assert!(all.text().contains("Taipei Water Department"));
    let found = coord.get("/directory?q=water").text();
    assert!(found.contains("Taipei Water Department") && !found.contains("Rampart CERT</a>"), "{found}");
    let org_id = between(&found, "href=\"/organisations/", "\"").expect("a link to the organisation").to_string();
    assert!(coord.get("/directory?q=no-such-organisation").text().contains("id=\"directory-empty\""));
    let org_page = format!("/organisations/{org_id}");
    let page = coord.get(&org_page);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("id=\"contacts-empty\"") && page.text().contains("id=\"assets-empty\""));
    assert_eq!(coord.get("/organisations/00000000-0000-0000-0000-000000000000").status, 404);

    // Contacts: a bad address is refused with the reason, a good one is listed.
    let contacts = format!("{org_page}/contacts");
    let contact = |email: &'static str| {
        [("role", "abuse"), ("name", "Abuse desk"), ("email", email), ("phone", "+886 2 2345 6789"), ("language", "zh-TW"), ("pgp_key", "")]
    };
    let bad = coord.submit(&org_page, &contacts, &contact("not-an-address"));
    let html = follow(&mut coord, &bad);
    assert!(html.contains("flash-error") && html.contains("not a valid e-mail address"), "{html}");
    let good = coord.submit(&org_page, &contacts, &contact("abuse@water.gov.tw"));
    let html = follow(&mut coord, &good);
    assert!(html.contains("flash-ok") && html.contains("abuse@water.gov.tw"), "{html}");
    assert!(coord.get("/directory?q=abuse%40water").text().contains("Taipei Water Department"), "found by a contact's address");

    // Assets: private and documentation ranges are refused, a public one is recorded.
    let assets = format!("{org_page}/assets");
    let private = coord.submit(&org_page, &assets, &[("value", "10.0.0.0/8"), ("comment", "")]);
    let html = follow(&mut coord, &private);
    assert!(html.contains("flash-error") && html.contains("private-use (RFC 1918)"), "{html}");
    let documentation = coord.submit(&org_page, &assets, &[("value", "203.0.113.0/24"), ("comment", "")]);
    let html = follow(&mut coord, &documentation);
    assert!(html.contains("flash-error") && html.contains("TEST-NET-3"), "{html}");
    let public = coord.submit(&org_page, &assets, &[("value", "1.34.0.0/16"), ("include_subdomains", "1"), ("comment", "main block")]);
    let html = follow(&mut coord, &public);
    assert!(html.contains("flash-ok") && html.contains("1.34.0.0/16") && html.contains("data-status=\"active\""), "{html}");
    assert!(coord.get("/directory?q=1.34.0").text().contains("Taipei Water Department"), "found by an asset");

    // Who is responsible?
    let lookup = coord.get("/directory/lookup?q=1.34.1.1").text();
    assert!(lookup.contains("id=\"lookup-result\"") && lookup.contains("Taipei Water Department"), "{lookup}");
    assert!(lookup.contains("1.34.0.0/16") && lookup.contains("abuse@water.gov.tw"), "why, and whom to contact: {lookup}");
    assert!(coord.get("/directory/lookup?q=8.8.8.8").text().contains("id=\"lookup-none\""));
    assert!(coord.get("/directory/lookup?q=%3C%3E").text().contains("id=\"lookup-error\""));

    // A network inside someone else's is recorded with a warning naming the holder.
    let cert_page = coord.get("/my-organisation").location().to_string();
    assert_ne!(cert_page, org_page);
    let nested = coord.submit(&cert_page, &format!("{cert_page}/assets"), &[("value", "1.34.5.0/24"), ("comment", "")]);
    let html = follow(&mut coord, &nested);
    assert!(html.contains("flash-warn") && html.contains("Taipei Water Department"), "{html}");

    // The organisation's administrator claims a network; it waits for approval.
    install.user("ciso@water.gov.tw", "Taipei Water Department", "government_agency", "org_admin");
    let mut ciso = Browser::new(&server.base);
    ciso.submit("/login", "/login", &[("email", "ciso@water.gov.tw"), ("password", ADMIN_PASSWORD)]);
    let mine = ciso.get("/my-organisation");
    assert_eq!((mine.status, mine.location()), (303, org_page.as_str()));
    let own = ciso.get(&org_page).text();
    assert!(own.contains("id=\"nav-my-org\"") && own.contains("abuse@water.gov.tw") && own.contains("id=\"asset-form\""), "{own}");
    assert_eq!(ciso.get(&cert_page).status, 403, "another organisation's page");
    assert_eq!(ciso.get("/directory/lookup?q=1.34.1.1").status, 403, "lookups are for staff");
    assert_eq!(ciso.get("/notifications").status, 403, "the outbox is for staff");
    let claim = ciso.submit(&org_page, &assets, &[("value", "1.35.0.0/16"), ("comment", "")]);
    let html = follow(&mut ciso, &claim);
    assert!(html.contains("flash-ok") && html.contains("1.35.0.0/16") && html.contains("data-status=\"pending\""), "{html}");
    assert!(coord.get("/directory/lookup?q=1.35.1.1").text().contains("id=\"lookup-none\""), "a claim does not route yet");

    // The coordinator approves it; the claimant may not.
    let html = coord.get(&org_page).text();
    let row = html.find("data-status=\"pending\"").expect("the claim is listed");
    let approve = between(&html[row..], "action=\"", "\"").expect("an approve button").to_string();
    assert!(approve.ends_with("/approve"), "{approve}");
    assert_eq!(ciso.submit(&org_page, &approve, &[]).status, 403);
    let approved = coord.submit(&org_page, &approve, &[]);
    let html = follow(&mut coord, &approved);
    assert!(html.contains("flash-ok") && !html.contains("data-status=\"pending\""), "{html}");
    let lookup = coord.get("/directory/lookup?q=1.35.1.1").text();
    assert!(lookup.contains("Taipei Water Department") && lookup.contains("1.35.0.0/16"), "{lookup}");

    // The template editor: an unknown variable is refused with its place, the text kept.
    let list = coord.get("/notification-templates").text();
    assert!(list.contains("href=\"/notification-templates/feed_events/en\""), "{list}");
    let editor = "/notification-templates/feed_events/en";
    assert!(coord.get(editor).text().contains("id=\"template-body\""));
    let typo = "Dear {{ org_name }},\nHello {{ orgname }}\n";
    let refused = coord.submit(editor, editor, &[("subject", "[{{ reference }}] Events"), ("body", typo)]);
    assert_eq!(refused.status, 422, "{}", refused.text());
    let html = refused.text();
    assert!(html.contains("id=\"template-error\"") && html.contains("orgname") && html.contains("line 2, column 7"), "{html}");
    assert!(html.contains("Hello {{ orgname }}"), "the text is kept: {html}");
    let saved = coord.submit(
        editor,
        editor,
        &[("subject", "[{{ reference }}] Events for {{ org_name }}"), ("body", "Dear {{ org_name }},\r\n\r\n{{ events_table }}\r\n")],
    );
    assert_eq!((saved.status, saved.location()), (303, editor));
    let html = coord.get(editor).text();
    assert!(html.contains("flash-ok") && html.contains("Events for {{ org_name }}") && html.contains("id=\"template-reset\""), "{html}");
    let reset = coord.submit(editor, &format!("{editor}/reset"), &[]);
    assert_eq!(reset.location(), editor);
    let html = coord.get(editor).text();
    assert!(html.contains("flash-ok") && !html.contains("Events for {{ org_name }}") && !html.contains("id=\"template-reset\""), "{html}");

    // The outbox: empty, flushed, in both languages.
    let outbox = coord.get("/notifications");
    assert_eq!(outbox.status, 200);
    let html = outbox.text();
    assert!(html.contains("<html lang=\"en\"") && html.contains("id=\"outbox-empty\""), "{html}");
    let flushed = coord.submit("/notifications", "/notifications/flush", &[]);
    let html = follow(&mut coord, &flushed);
    assert!(html.contains("flash-ok") && html.contains("0 composed, 0 sent."), "{html}");
    coord.submit("/", "/account/language", &[("locale", "zh-TW")]);
    let html = coord.get("/notifications").text();
    assert!(html.contains("<html lang=\"zh-TW\"") && html.contains("通報寄件匣") && html.contains("id=\"outbox-empty\""), "{html}");
    let html = coord.get(&org_page).text();
    assert!(html.contains("聯絡窗口") && html.contains("網路資產"), "{html}");
}
