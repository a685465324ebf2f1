//! Feeds as a browser without JavaScript uses them: a coordinator uploads a Shadowserver
//! report, finds the bad row in the quarantine, corrects it and replays it; a file whose
//! name carries no report type is refused with the reason; analysts read, constituents
//! are kept out.

use crate::harness::{sqlite_install, ADMIN_PASSWORD};
use crate::http::{between, follow, hidden_value, Browser, Response};

const BOUNDARY: &str = "----rampart-feeds-boundary";
const REPORT: &str = "2019-01-01-scan_dns-test-test.csv";
const BAD_ROW: &str = "\"not a time\",\"198.51.100.9\",\"udp\",53,,,,,,,,,,,,,";

/// A multipart body with text fields and one file in the `file` field.
fn multipart(fields: &[(&str, &str)], file_name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(b"\r\n");
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Submits the upload form of `/feeds` with the page's CSRF token.
fn upload(browser: &mut Browser, file_name: &str, bytes: &[u8]) -> Response {
    upload_with_mapping(browser, file_name, bytes, "")
}

fn upload_with_mapping(browser: &mut Browser, file_name: &str, bytes: &[u8], mapping: &str) -> Response {
    let page = browser.get("/feeds").text();
    let csrf = hidden_value(&page, "csrf").expect("csrf on the feeds page");
    let body = multipart(&[("csrf", &csrf), ("feed", ""), ("report_type", ""), ("mapping", mapping)], file_name, bytes);
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    browser.request("POST", "/feeds/upload", &[("Content-Type", &content_type)], &body)
}

#[test]
fn a_report_is_uploaded_and_a_quarantined_row_corrected_and_replayed() {
    let install = sqlite_install();
    install.user("admin@cert.tw", "Rampart CERT", "cert", "admin");
    install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
    install.user("ciso@water.gov.tw", "Taipei Water Department", "government_agency", "org_admin");
    let server = install.start(&[("RAMPART_REQUIRE_TOTP_FOR_STAFF", "false")]);

    let mut admin = Browser::new(&server.base);
    let signed_in = admin.submit("/login", "/login", &[("email", "admin@cert.tw"), ("password", ADMIN_PASSWORD)]);
    assert_eq!(signed_in.location(), "/");
    assert!(admin.get("/").text().contains("id=\"nav-feeds\""), "staff see Feeds");
    let page = admin.get("/feeds");
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("id=\"feeds-upload-form\"") && html.contains("enctype=\"multipart/form-data\""), "{html}");
    assert!(html.contains("<strong>256 MB</strong>"), "the upload limit is shown: {html}");
    assert!(html.contains("id=\"quarantine-empty\"") && html.contains("id=\"counts-empty\""), "{html}");

    // The header, two good rows and a broken one.
    let sample = rampart_core::testdata::read("shadowserver/testdata/scan_dns.csv");
    let header = sample.lines().next().expect("a header line").to_string();
    let mut text = format!("{header}\n");
    for line in sample.lines().skip(1).take(2) {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(BAD_ROW);
    text.push('\n');
    let uploaded = upload(&mut admin, REPORT, text.as_bytes());
    assert_eq!(uploaded.location(), "/feeds");
    let html = follow(&mut admin, &uploaded);
    assert!(html.contains("id=\"flash\"") && html.contains("2 written") && html.contains("1 quarantined"), "{html}");

    // The broken row waits in the quarantine with its line, file and raw text.
    assert!(html.contains("data-line=\"4\" data-replayed=\"false\""), "line 4 (header, two rows, the broken one): {html}");
    assert!(html.contains(&format!(">{REPORT}<")) && html.contains("not a time"), "{html}");
    assert!(html.contains("id=\"counts-table\"") && html.contains("DNS-Open-Resolvers"), "the events are counted: {html}");
    let id = between(&html, "href=\"/feeds/quarantine/", "\"").expect("a link to the quarantined row").to_string();
    let entry_path = format!("/feeds/quarantine/{id}");
    let entry = admin.get(&entry_path);
    assert_eq!(entry.status, 200);
    let html = entry.text();
    assert!(html.contains("id=\"entry-replay-form\"") && html.contains("id=\"entry-line\">4<"), "{html}");
    assert!(html.contains("not a time") && html.contains("timestamp"), "the full raw text, header first: {html}");
    assert_eq!(admin.get("/feeds/quarantine/00000000-0000-0000-0000-000000000000").status, 404);

    // An analyst reads the quarantine, but neither uploads nor replays.
    let mut analyst = Browser::new(&server.base);
    analyst.submit("/login", "/login", &[("email", "analyst@cert.tw"), ("password", ADMIN_PASSWORD)]);
    let html = analyst.get("/feeds").text();
    assert!(html.contains("data-line=\"4\"") && !html.contains("id=\"feeds-upload-form\""), "{html}");
    let html = analyst.get(&entry_path).text();
    assert!(html.contains("id=\"entry-raw\"") && !html.contains("id=\"entry-replay-form\""), "{html}");
    assert_eq!(upload(&mut analyst, REPORT, text.as_bytes()).status, 403);
    let corrected = format!("{header}\n{}", BAD_ROW.replace("\"not a time\"", "\"2018-04-14 00:14:40\""));
    let replay_path = format!("{entry_path}/replay");
    assert_eq!(analyst.submit("/feeds", &replay_path, &[("corrected", &corrected)]).status, 403);

    // A constituent does not see feeds at all.
    let mut ciso = Browser::new(&server.base);
    ciso.submit("/login", "/login", &[("email", "ciso@water.gov.tw"), ("password", ADMIN_PASSWORD)]);
    assert!(!ciso.get("/").text().contains("id=\"nav-feeds\""));
    assert_eq!(ciso.get("/feeds").status, 403);
    assert_eq!(ciso.get(&entry_path).status, 403);

    // The coordinator corrects the time and replays the row; it goes through.
    let replayed = admin.submit(&entry_path, &replay_path, &[("corrected", &corrected)]);
    assert_eq!(replayed.location(), "/feeds");
    let html = follow(&mut admin, &replayed);
    assert!(html.contains("flash-ok") && html.contains("1 written"), "{html}");
    assert!(html.contains("data-line=\"4\" data-replayed=\"true\""), "shown as replayed: {html}");
    let html = admin.get(&entry_path).text();
    assert!(html.contains("data-replayed=\"true\"") && !html.contains("id=\"entry-replay-form\""), "{html}");
    let again = admin.submit(&entry_path, &replay_path, &[("corrected", &corrected)]);
    let html = follow(&mut admin, &again);
    assert!(html.contains("flash-error") && html.contains("replayed already"), "not twice: {html}");

    // A file whose name carries no report type is refused, naming the file.
    let refused = upload(&mut admin, "nonsense.csv", text.as_bytes());
    let html = follow(&mut admin, &refused);
    assert!(html.contains("flash-error") && html.contains("nonsense.csv") && html.contains("was not processed"), "{html}");

    // The page in Traditional Chinese.
    admin.submit("/", "/account/language", &[("locale", "zh-TW")]);
    let html = admin.get("/feeds").text();
    assert!(html.contains("<html lang=\"zh-TW\"") && html.contains("情資來源") && html.contains("隔離區"), "{html}");
    assert!(html.contains("上傳情資檔案") && html.contains("已重新處理"), "{html}");
    let html = admin.get(&entry_path).text();
    assert!(html.contains("<html lang=\"zh-TW\"") && html.contains("隔離資料列"), "{html}");
}

#[test]
fn a_generic_feed_is_uploaded_with_a_mapping_chosen_in_the_form() {
    let install = sqlite_install();
    install.user("admin@cert.tw", "Rampart CERT", "cert", "admin");
    let config = install.data_dir().join("rampart.toml");
    std::fs::write(
        &config,
        r#"
[[feeds.mappings]]
name = "vendor"
columns = { ip = "source.ip", port = "source.port" }
types = { "source.port" = "integer" }
constants = { "classification.type" = "blacklist", "feed.name" = "Vendor blocklist" }
required = ["source.ip"]
"#,
    )
    .unwrap();
    let cfg = config.display().to_string();
    let server = install.start(&[("RAMPART_REQUIRE_TOTP_FOR_STAFF", "false"), ("RAMPART_CONFIG", &cfg)]);
    let mut admin = Browser::new(&server.base);
    admin.submit("/login", "/login", &[("email", "admin@cert.tw"), ("password", ADMIN_PASSWORD)]);
    let html = admin.get("/feeds").text();
    assert!(
        html.contains("id=\"feeds-mapping\"") && html.contains("<option value=\"vendor\">vendor · Vendor blocklist</option>"),
        "{html}"
    );

    // A name that says nothing: read as the chosen mapping says.
    let file = b"ip,port\n192.0.2.7,443\n192.0.2.8,https\n";
    let uploaded = upload_with_mapping(&mut admin, "export.csv", file, "vendor");
    let html = follow(&mut admin, &uploaded);
    assert!(html.contains("1 written") && html.contains("1 quarantined") && html.contains("Vendor blocklist"), "{html}");
    // Without the mapping the same file is not a Shadowserver report; an unknown mapping is refused.
    let refused = upload(&mut admin, "export2.csv", file);
    let html = follow(&mut admin, &refused);
    assert!(html.contains("flash-error") && html.contains("export2.csv was not processed"), "{html}");
    let refused = upload_with_mapping(&mut admin, "export3.csv", file, "nope");
    let html = follow(&mut admin, &refused);
    assert!(html.contains("flash-error") && html.contains("nope"), "{html}");
}

#[test]
fn http_feeds_and_their_last_check_are_on_the_feeds_page() {
    // A feed server that always fails, and whose URL carries a key in its query.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            use std::io::{Read, Write};
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let install = sqlite_install();
    install.user("admin@cert.tw", "Rampart CERT", "cert", "admin");
    let config = install.data_dir().join("rampart.toml");
    std::fs::write(
        &config,
        format!("[[feeds.http]]\nname = \"vendor-daily\"\nurl = \"http://{address}/2026-11-30-scan_dns-x.csv?key=s3cret\"\nevery_minutes = 60\n"),
    )
    .unwrap();
    let cfg = config.display().to_string();
    let server = install.start(&[("RAMPART_REQUIRE_TOTP_FOR_STAFF", "false"), ("RAMPART_CONFIG", &cfg)]);
    let mut admin = Browser::new(&server.base);
    admin.submit("/login", "/login", &[("email", "admin@cert.tw"), ("password", ADMIN_PASSWORD)]);
    let mut html = String::new();
    for _ in 0..100 {
        html = admin.get("/feeds").text();
        if html.contains("badge-warn") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let row = between(&html, "id=\"http-feed-vendor-daily\"", "</tr>").unwrap_or_else(|| panic!("the feed's row: {html}"));
    assert!(row.contains(&format!("http://{address}/2026-11-30-scan_dns-x.csv<")), "the URL without its query: {row}");
    assert!(row.contains("every 60 minutes") && row.contains("failing") && row.contains("HTTP status 500"), "{row}");
    assert!(!html.contains("s3cret"), "the key in the URL is not shown");
}
