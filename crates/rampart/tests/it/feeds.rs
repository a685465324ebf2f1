//! The feed pipeline from the command line: a Shadowserver report is parsed, routed to
//! the constituent, de-duplicated and written; bad rows are quarantined with their line;
//! a run killed mid-feed resumes without losing or repeating a row or a notification.

use crate::harness::{installs, Install};
use crate::http::send;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};

pub(crate) fn setup_org(install: &Install) -> (crate::harness::Server, String, String) {
    install.user("admin@cert.tw", "Rampart CERT", "cert", "admin");
    let token = install.token("admin@cert.tw", "read,write,admin");
    let server = install.start(&[("RAMPART_NOTIFY_POLL_SECONDS", "3600")]);
    let auth = format!("Bearer {token}");
    let call = |method: &str, path: &str, body: Value| {
        let r = send(
            &server.base,
            method,
            path,
            &[("Authorization", &auth), ("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
        assert!((200..300).contains(&r.status), "{method} {path}: {} {}", r.status, r.text());
        r.json()
    };
    let org = call("POST", "/api/v1/organisations", json!({"name": "Example Hosting", "org_type": "enterprise"}));
    let org_id = org["id"].as_str().unwrap().to_string();
    call("POST", &format!("/api/v1/organisations/{org_id}/contacts"), json!({"role": "abuse", "email": "abuse@hosting.example"}));
    call("POST", &format!("/api/v1/organisations/{org_id}/assets"), json!({"value": "AS25255"}));
    (server, auth, org_id)
}

/// The header line of Shadowserver's `scan_dns` sample, for generated reports.
pub(crate) fn scan_dns_header() -> String {
    rampart_core::testdata::read("shadowserver/testdata/scan_dns.csv").lines().next().unwrap().to_string()
}

/// Row `i` of a generated `scan_dns` report, a distinct address each; every tenth row is
/// from the constituent's AS.
pub(crate) fn scan_dns_row(i: u32) -> String {
    let asn = if i.is_multiple_of(10) { 25255 } else { 64512 };
    format!(
        "\"2026-11-29 00:{:02}:{:02}\",\"2.{}.{}.{}\",\"udp\",53,\"host{i}.example.net\",\"openresolver\",\"dnsmasq-2.66\",{asn},\"AT\",\"WIEN\",\"VIENNA\",\"4.6190\",,,0,0,\n",
        (i / 60) % 60,
        i % 60,
        i >> 16,
        (i >> 8) & 255,
        i & 255
    )
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn a_shadowserver_report_is_parsed_routed_deduplicated_and_quarantined() {
    for install in installs() {
        let (server, auth, org_id) = setup_org(&install);
        let sample = rampart_core::testdata::read("shadowserver/testdata/scan_dns.csv");
        let mut text = sample.clone();
        let second = sample.lines().nth(1).unwrap().to_string();
        text.push_str(&format!("{second}\n")); // an exact duplicate
        text.push_str("\"not a time\",\"198.51.100.9\",\"udp\",53,,,,,,,,,,,,,\n"); // a bad row
        let file = install.data_dir().join("2019-01-01-scan_dns-test-test.csv");
        std::fs::write(&file, &text).unwrap();
        let out = install.data_dir().join("events.jsonl");
        let summary = install.data_dir().join("summary.json");
        let output_arg = format!("intelmq-jsonl:{}", out.display());
        let args = ["ingest", "--notify", "--output", &output_arg, "--summary-json", summary.to_str().unwrap(), file.to_str().unwrap()];
        let run = install.cli(&args, None, &[]);
        let stdout = String::from_utf8_lossy(&run.stdout).to_string();
        assert!(run.status.success(), "{stdout} {}", String::from_utf8_lossy(&run.stderr));
        let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        assert_eq!(s["rows_read"], 102, "{s}");
        let (written, duplicates, routed) =
            (s["written"].as_u64().unwrap(), s["duplicates"].as_u64().unwrap(), s["routed"].as_u64().unwrap());
        assert_eq!(s["quarantined"], 1, "{s}");
        assert!(duplicates >= 1, "the repeated row at least: {s}");
        assert_eq!(written + duplicates, 101, "{s}");
        assert!(routed > 0 && routed < written, "only the constituent's AS routes: {s}");
        assert_eq!(s["notified"].as_u64(), Some(routed));
        let events = lines(&out);
        assert_eq!(events.len() as u64, written);
        let first = &events[0];
        assert_eq!(first["feed.name"], "DNS-Open-Resolvers", "{first}");
        assert_eq!(first["classification.identifier"], "dns-open-resolver");
        assert_eq!(first["source.ip"], "198.51.100.179");
        assert_eq!(first["source.asn"], 25255);
        assert_eq!(first["time.source"], "2018-04-14T00:14:34+00:00");
        assert_eq!(first["extra.rampart_org"], org_id.as_str(), "routed by the feed's AS number");
        assert!(first.get("raw").is_some(), "raw is kept unless --no-raw");

        // The bad row is kept with its line and reason, and can be replayed corrected.
        let quarantine = install.ok(&["feeds", "quarantine"], None);
        assert!(quarantine.contains(":103\t"), "line 103 (header, 100 rows, the duplicate): {quarantine}");
        let listed = send(&server.base, "GET", "/api/v1/feeds/quarantine", &[("Authorization", &auth)], b"").json();
        let entry = &listed[0];
        let raw = entry["raw"].as_str().unwrap();
        assert!(raw.starts_with("\"timestamp\""), "kept with its header: {raw}");
        let id = entry["id"].as_str().unwrap();
        let replay = |body: Value| {
            send(
                &server.base,
                "POST",
                &format!("/api/v1/feeds/quarantine/{id}/replay"),
                &[("Authorization", &auth), ("Content-Type", "application/json")],
                body.to_string().as_bytes(),
            )
        };
        let unchanged = replay(json!({}));
        assert_eq!(unchanged.json()["quarantined"], 1, "as it was, it fails again: {}", unchanged.text());
        let corrected = raw.replace("\"not a time\"", "\"2018-04-14 00:14:40\"");
        let fixed = replay(json!({"corrected": corrected}));
        assert_eq!((fixed.status, fixed.json()["written"].as_u64()), (200, Some(1)), "{}", fixed.text());
        let listed = send(&server.base, "GET", "/api/v1/feeds/quarantine", &[("Authorization", &auth)], b"").json();
        assert!(listed.as_array().unwrap().iter().any(|e| e["id"] == id && !e["replayed_at"].is_null()), "{listed}");
        assert_eq!(replay(json!({})).status, 422, "not twice");

        // The same file again is recognised; forced, everything is a duplicate.
        assert!(install.ok(&args, None).contains("already processed completely"));
        let mut forced = args.to_vec();
        forced.insert(1, "--force");
        let again = install.cli(&forced, None, &[]);
        assert!(again.status.success());
        let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        assert_eq!((s["written"].as_u64(), s["duplicates"].as_u64()), (Some(0), Some(101)), "{s}");
        assert_eq!(lines(&out).len() as u64, written, "nothing written twice");

        // The routed events became one aggregated notification.
        let flushed = send(&server.base, "POST", "/api/v1/notifications/flush", &[("Authorization", &auth)], b"").json();
        assert_eq!(flushed["queued"], 1, "{flushed}");
        let outbox = send(&server.base, "GET", "/api/v1/notifications", &[("Authorization", &auth)], b"").json();
        assert_eq!(outbox[0]["event_count"].as_u64(), Some(routed), "{outbox}");
        assert_eq!(outbox[0]["recipient"], "abuse@hosting.example");

        // CSV output with chosen columns.
        let csv = install.data_dir().join("events.csv");
        let csv_arg = format!("csv:{}", csv.display());
        install.ok(
            &[
                "ingest",
                "--feed",
                "csv test",
                "--output",
                &csv_arg,
                "--csv-columns",
                "source.ip,source.asn,classification.type",
                file.to_str().unwrap(),
            ],
            None,
        );
        let text = std::fs::read_to_string(&csv).unwrap();
        let mut rows = text.lines();
        assert_eq!(rows.next(), Some("source.ip,source.asn,classification.type"));
        assert_eq!(rows.next(), Some("198.51.100.179,25255,vulnerable-system"));
        assert_eq!(rows.count() as u64 + 1, written, "one line per accepted event");

        let counts = install.ok(&["feeds", "counts"], None);
        assert!(counts.contains(&format!("DNS-Open-Resolvers\t{org_id}\tvulnerable-system\t{routed}")), "{counts}");
    }
}

#[test]
fn a_run_killed_mid_feed_resumes_without_loss_or_repeats() {
    for install in installs() {
        let (server, auth, _) = setup_org(&install);
        // 60,000 rows, a tenth from the constituent's AS, in batches of 1 MiB.
        let header = scan_dns_header();
        let mut text = format!("{header}\n");
        for i in 0..60_000u32 {
            text.push_str(&scan_dns_row(i));
        }
        let file = install.data_dir().join("2026-11-29-scan_dns-big-test.csv");
        std::fs::write(&file, &text).unwrap();
        let out = install.data_dir().join("events.jsonl");
        let output_arg = format!("intelmq-jsonl:{}", out.display());
        let args = ["ingest", "--notify", "--batch-mib", "1", "--threads", "1", "--output", &output_arg, file.to_str().unwrap()];

        let mut child = Command::new(crate::harness::BIN)
            .args(args)
            .args(install.cli_args())
            .env("RAMPART_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill it once some, but not all, of the output is there.
        let full = text.len() as u64;
        let mut killed = false;
        for _ in 0..2000 {
            std::thread::sleep(std::time::Duration::from_millis(5));
            let len = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
            if len > 0 {
                let _ = child.kill(); // SIGKILL
                killed = true;
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
        }
        let _ = child.wait();
        assert!(killed, "the run was interrupted mid-feed");
        // A line may be half written; the resumed run cuts it off.
        let partial = std::fs::read_to_string(&out).unwrap().matches('\n').count();
        assert!(partial > 0 && partial < 60_000, "some of the output was there: {partial}");
        let _ = full;

        let resumed = install.ok(&args, None);
        assert!(resumed.contains("resumed after line"), "{resumed}");
        let events = lines(&out);
        assert_eq!(events.len(), 60_000, "no row lost");
        let unique: std::collections::HashSet<String> = events.iter().map(|e| e["source.ip"].as_str().unwrap().to_string()).collect();
        assert_eq!(unique.len(), 60_000, "none written twice");

        let flushed = send(&server.base, "POST", "/api/v1/notifications/flush", &[("Authorization", &auth)], b"").json();
        assert_eq!(flushed["queued"], 1, "{flushed}");
        let outbox = send(&server.base, "GET", "/api/v1/notifications", &[("Authorization", &auth)], b"").json();
        assert_eq!(outbox[0]["event_count"], 6_000, "every constituent event told exactly once: {outbox}");
    }
}

#[test]
fn one_thread_writes_its_events_as_it_makes_them_and_the_same_as_two() {
    for install in installs() {
        // Several megabytes of events: one thread hands them to the file a megabyte at a
        // time, two threads hold each batch's lines until it is merged.
        let header = scan_dns_header();
        let mut text = format!("{header}\n");
        for i in 0..12_000u32 {
            text.push_str(&scan_dns_row(i));
            if i % 7 == 0 {
                text.push_str(&scan_dns_row(i / 2)); // an exact repeat of an earlier row
            }
        }
        let file = install.data_dir().join("2026-11-29-scan_dns-streamed.csv");
        std::fs::write(&file, &text).unwrap();
        let run = |threads: &str, output: &str, extra: &[&str]| {
            let out = install.data_dir().join(output);
            let kind = if extra.is_empty() { "intelmq-jsonl" } else { "csv" };
            let output_arg = format!("{kind}:{}", out.display());
            let feed = format!("streamed {output}");
            let mut args = vec!["ingest", "--feed", &feed, "--threads", threads, "--output", &output_arg];
            args.extend_from_slice(extra);
            args.push(file.to_str().unwrap());
            install.ok(&args, None);
            std::fs::read_to_string(&out).unwrap()
        };
        let without_observation_time = |jsonl: &str| -> Vec<String> {
            jsonl
                .lines()
                .map(|l| {
                    let mut event: serde_json::Map<String, Value> = serde_json::from_str(l).unwrap();
                    event.remove("time.observation");
                    event.remove("feed.name");
                    serde_json::to_string(&event).unwrap()
                })
                .collect()
        };
        let one = run("1", "one.jsonl", &[]);
        assert!(one.len() > 4 << 20, "{} bytes of events", one.len());
        let events = without_observation_time(&one);
        assert_eq!(events.len(), 12_000, "each event once, in input order");
        assert_eq!(events, without_observation_time(&run("2", "two.jsonl", &[])));
        let columns = ["--csv-columns", "source.ip,source.asn,extra.dns_version"];
        let csv_one = run("1", "one.csv", &columns);
        assert_eq!(csv_one.lines().count(), 12_001);
        assert_eq!(csv_one, run("2", "two.csv", &columns));
    }
}

#[test]
fn two_runs_of_one_feed_side_by_side_accept_each_event_once() {
    for install in installs() {
        // The same rows under two names (two sources), into one feed, at the same time.
        let header = scan_dns_header();
        let mut text = format!("{header}\n");
        for i in 0..30_000u32 {
            text.push_str(&scan_dns_row(i));
        }
        let files: Vec<String> = ["a", "b"]
            .iter()
            .map(|name| {
                let file = install.data_dir().join(format!("2026-11-29-scan_dns-{name}.csv"));
                std::fs::write(&file, &text).unwrap();
                file.display().to_string()
            })
            .collect();
        let outputs: Vec<String> = std::thread::scope(|scope| {
            let runs: Vec<_> = files
                .iter()
                .map(|file| {
                    let install = &install;
                    scope.spawn(move || {
                        let args = ["ingest", "--feed", "shared", "--batch-mib", "1", "--threads", "1", file.as_str()];
                        let run = install.cli(&args, None, &[]);
                        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
                        String::from_utf8_lossy(&run.stdout).to_string()
                    })
                })
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let count = |out: &str, what: &str| -> u64 {
            let at = out.find(&format!("{what} ")).unwrap_or_else(|| panic!("{what} in {out}"));
            out[at + what.len() + 1..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
        };
        let written: u64 = outputs.iter().map(|o| count(o, "written")).sum();
        let duplicates: u64 = outputs.iter().map(|o| count(o, "duplicates")).sum();
        assert_eq!((written, duplicates), (30_000, 30_000), "each event accepted by one run only: {outputs:?}");
    }
}

#[test]
fn a_generic_csv_feed_is_read_with_a_mapping_from_the_configuration() {
    let install = crate::harness::sqlite_install();
    let config = install.data_dir().join("rampart.toml");
    std::fs::write(
        &config,
        r#"
[[feeds.mappings]]
name = "vendor"
columns = { ip = "source.ip", port = "source.port", seen = "time.source" }
types = { "source.port" = "integer", "time.source" = "timestamp" }
constants = { "classification.type" = "blacklist", "feed.name" = "Vendor blocklist" }
required = ["source.ip"]
"#,
    )
    .unwrap();
    let file = install.data_dir().join("vendor.csv");
    std::fs::write(&file, "seen,ip,port,comment\n2026-11-30 08:00:00,192.0.2.7,443,x\n2026-11-30 08:01:00,192.0.2.8,https,y\n").unwrap();
    let out = install.data_dir().join("events.jsonl");
    let output = format!("intelmq-jsonl:{}", out.display());
    let cfg = config.display().to_string();
    let run = install.cli(&["--config", &cfg, "ingest", "--mapping", "vendor", "--output", &output, file.to_str().unwrap()], None, &[]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout} {}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("feed Vendor blocklist") && stdout.contains("written 1") && stdout.contains("quarantined 1"), "{stdout}");
    let events = lines(&out);
    assert_eq!(events[0]["source.port"], 443);
    assert_eq!(events[0]["time.source"], "2026-11-30T08:00:00+00:00");
    assert_eq!(events[0]["classification.taxonomy"], "other", "filled from the type");
    let unknown = install.cli(&["--config", &cfg, "ingest", "--mapping", "nope", file.to_str().unwrap()], None, &[]);
    assert!(!unknown.status.success() && String::from_utf8_lossy(&unknown.stderr).contains("nope"));
}

#[test]
fn json_feeds_are_read_with_a_mapping_chosen_by_name_or_by_file_pattern() {
    for install in installs() {
        install.user("admin@cert.tw", "Rampart CERT", "cert", "admin");
        let token = install.token("admin@cert.tw", "read,write,admin");
        let config = install.data_dir().join("rampart.toml");
        std::fs::write(
            &config,
            r#"
[[feeds.mappings]]
name = "honeypot"
format = "json"
records = "/data/hits"
columns = { "src.ip" = "source.ip", "/src/port" = "source.port", "seen" = "time.source", "tags" = "extra.tags" }
types = { "source.port" = "integer", "time.source" = "timestamp" }
constants = { "classification.type" = "scanner", "feed.name" = "Honeypot" }
required = ["source.ip"]
files = ["honeypot-*.json"]

[[feeds.mappings]]
name = "lines"
format = "json"
columns = { ip = "source.ip", note = "extra.note" }
constants = { "classification.type" = "blacklist" }
"#,
        )
        .unwrap();
        let cfg = config.display().to_string();

        // JSON lines by name, with quotes inside strings across many batches: cut at lines only.
        let mut text = String::new();
        for i in 0..40_000u32 {
            text.push_str(&format!("{{\"ip\":\"10.{}.{}.{}\",\"note\":\"say \\\"hi\\\" {i}\"}}\n", i >> 16, (i >> 8) & 255, i & 255));
        }
        text.push_str("{not json}\n");
        let file = install.data_dir().join("list.jsonl");
        std::fs::write(&file, &text).unwrap();
        let out = install.data_dir().join("lines.jsonl");
        let output = format!("intelmq-jsonl:{}", out.display());
        let args = ["--config", &cfg, "ingest", "--mapping", "lines", "--batch-mib", "1", "--output", &output, file.to_str().unwrap()];
        let run = install.cli(&args, None, &[]);
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success(), "{stdout} {}", String::from_utf8_lossy(&run.stderr));
        assert!(stdout.contains("written 40000") && stdout.contains("quarantined 1"), "{stdout}");
        let events = lines(&out);
        assert_eq!(events[39_999]["extra.note"], "say \"hi\" 39999");
        assert!(install.ok(&["feeds", "quarantine"], None).contains("list.jsonl:40001\t"), "the bad line by its number");

        // A document uploaded under a name the pattern matches: no mapping named.
        let server = install.start(&[("RAMPART_CONFIG", &cfg)]);
        let body = r#"{"data": {"hits": [
            {"src": {"ip": "192.0.2.1", "port": 23}, "seen": "2026-11-30 01:02:03", "tags": ["telnet", "mirai"]},
            {"src": {"ip": "192.0.2.2", "port": "ssh"}},
            {"src": {"port": 22}}
        ]}}"#;
        let r = send(
            &server.base,
            "POST",
            "/api/v1/feeds/upload?file_name=honeypot-2026-11-30.json",
            &[("Authorization", &format!("Bearer {token}")), ("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let s = r.json();
        assert_eq!((s["feed"].as_str(), s["written"].as_u64(), s["quarantined"].as_u64()), (Some("Honeypot"), Some(1), Some(2)), "{s}");
        let reasons = install.ok(&["feeds", "quarantine", "--feed", "Honeypot"], None);
        assert!(reasons.contains("\"/src/port\": \"ssh\" is not an integer"), "{reasons}");
        assert!(reasons.contains("has no source.ip"), "{reasons}");
        // A named mapping that does not exist is refused.
        let r = send(
            &server.base,
            "POST",
            "/api/v1/feeds/upload?file_name=x.json&mapping=nope",
            &[("Authorization", &format!("Bearer {token}")), ("Content-Type", "application/json")],
            b"[]",
        );
        assert_eq!(r.status, 422, "{}", r.text());
    }
}

#[test]
fn deduplication_keys_are_configurable() {
    let install = crate::harness::sqlite_install();
    // The same addresses seen again on other ports: the same event when only the address counts.
    let header = scan_dns_header();
    let mut text = format!("{header}\n");
    for i in 0..10u32 {
        text.push_str(&scan_dns_row(i));
    }
    for i in 0..10u32 {
        text.push_str(&scan_dns_row(i).replacen(",53,", ",5353,", 1));
    }
    let file = install.data_dir().join("2026-11-29-scan_dns-keys-test.csv");
    std::fs::write(&file, &text).unwrap();
    let summary = install.data_dir().join("summary.json");
    let run = |extra: &[&str], feed: &str| {
        let mut args = vec!["ingest", "--feed", feed, "--summary-json", summary.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.push(file.to_str().unwrap());
        install.ok(&args, None);
        let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        (s["written"].as_u64().unwrap(), s["duplicates"].as_u64().unwrap())
    };
    assert_eq!(run(&[], "all fields"), (20, 0), "another port is another event");
    assert_eq!(run(&["--dedupe-keys", "source.ip"], "by address"), (10, 10));
    let config = install.data_dir().join("rampart.toml");
    std::fs::write(&config, "[feeds]\ndedupe_ignore = [\"raw\", \"time.observation\", \"source.port\"]\n").unwrap();
    assert_eq!(run(&["--config", config.to_str().unwrap()], "port ignored"), (10, 10));
    std::fs::write(&config, "[feeds]\ndedupe_keys = [\"not a field\"]\n").unwrap();
    let bad = install.cli(&["--config", config.to_str().unwrap(), "ingest", file.to_str().unwrap()], None, &[]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("dedupe_keys"));
}

#[test]
fn warninglisted_events_are_marked_and_not_told() {
    let install = crate::harness::sqlite_install();
    let (server, auth, _) = setup_org(&install);
    let lists = rampart_core::testdata::path("misp/warninglists/lists");
    let config = install.data_dir().join("rampart.toml");
    std::fs::write(&config, format!("[intel]\nwarninglists_dir = {:?}\n", lists.display().to_string())).unwrap();
    let cfg = config.to_str().unwrap();

    let checked = install.ok(&["--config", cfg, "warninglist", "--type", "ip-dst", "10.1.2.3", "203.74.205.1"], None);
    assert!(checked.contains("10.1.2.3\tList of RFC 1918 CIDR blocks\t10.0.0.0/8"), "{checked}");
    assert!(checked.contains("203.74.205.1\t-"), "{checked}");

    // Two rows from the constituent's AS, one of them a private address.
    let header = scan_dns_header();
    let text = format!("{header}\n{}{}", scan_dns_row(0), scan_dns_row(10).replace("\"2.0.0.10\"", "\"10.0.0.10\""));
    let file = install.data_dir().join("2026-11-29-scan_dns-lists-test.csv");
    std::fs::write(&file, text).unwrap();
    let out = install.data_dir().join("events.jsonl");
    let output = format!("intelmq-jsonl:{}", out.display());
    install.ok(&["--config", cfg, "ingest", "--notify", "--output", &output, file.to_str().unwrap()], None);
    let events = lines(&out);
    assert_eq!(events.len(), 2, "both are written");
    assert_eq!(events[1]["extra.rampart_warninglist"], "List of RFC 1918 CIDR blocks: 10.0.0.0/8", "{}", events[1]);
    assert!(events[0].get("extra.rampart_warninglist").is_none());
    let flushed = send(&server.base, "POST", "/api/v1/notifications/flush", &[("Authorization", &auth)], b"").json();
    assert_eq!(flushed["queued"], 1, "{flushed}");
    let outbox = send(&server.base, "GET", "/api/v1/notifications", &[("Authorization", &auth)], b"").json();
    assert_eq!(outbox[0]["event_count"], 1, "only the public address is told: {outbox}");
}
