//! Scale-out on NATS JetStream: a feed queued in batches is processed by two workers,
//! one of which is killed (SIGKILL) mid-feed and started again; no row is lost, no event
//! is accepted or told twice. Runs on SQLite and PostgreSQL when `RAMPART_TEST_NATS_URL`
//! names a NATS server with JetStream.

use crate::feeds::{scan_dns_header, scan_dns_row, setup_org};
use crate::harness::{installs, Install, BIN};
use crate::http::send;
use futures_util::StreamExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn worker(install: &Install, queue: &str, name: &str) -> Child {
    Command::new(BIN)
        .args(["worker", "--queue", queue, "--threads", "1", "--ack-wait-seconds", "3", "--until-idle-seconds", "4", "--name", name])
        .args(install.cli_args())
        .env("RAMPART_LOG", "warn")
        .env("RAMPART_FEEDS_NOTIFY", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "worker failed: {text}");
    text
}

/// Events accepted so far, from the per-day counts.
fn accepted(install: &Install) -> u64 {
    install.ok(&["feeds", "counts"], None).lines().filter_map(|l| l.rsplit('\t').next()?.parse::<u64>().ok()).sum()
}

/// Every accepted event published on the queue's event stream.
fn published_events(nats: &str, namespace: &str) -> Vec<String> {
    crate::harness::block_on(async {
        let server = nats.trim_start_matches("nats://");
        let client = async_nats::connect(server).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut stream = js.get_stream(format!("RAMPART_EVENTS_{namespace}")).await.unwrap();
        let total = stream.info().await.unwrap().state.messages;
        let consumer: async_nats::jetstream::consumer::PullConsumer =
            stream.create_consumer(async_nats::jetstream::consumer::pull::Config::default()).await.unwrap();
        let mut lines = Vec::new();
        let mut messages = consumer.fetch().max_messages(total as usize).messages().await.unwrap();
        let mut got = 0;
        while let Some(m) = messages.next().await {
            let m = m.unwrap();
            got += 1;
            lines.extend(String::from_utf8(m.payload.to_vec()).unwrap().lines().map(str::to_string));
        }
        assert_eq!(got, total, "every event message read");
        lines
    })
}

#[test]
fn queued_feed_survives_a_killed_worker_without_loss_or_repeats() {
    let Ok(nats) = std::env::var("RAMPART_TEST_NATS_URL") else {
        eprintln!("RAMPART_TEST_NATS_URL is not set: the JetStream engine is not tested");
        return;
    };
    for install in installs() {
        let (server, auth, _) = setup_org(&install);
        // 60,000 rows (a tenth from the constituent's AS), 3,000 of them repeated at the
        // end (so the workers must see each other's fingerprints), and one bad row.
        let header = scan_dns_header();
        let mut text = format!("{header}\n");
        for i in 0..60_000u32 {
            text.push_str(&scan_dns_row(i));
            if i == 30_000 {
                text.push_str("\"not a time\",\"198.51.100.9\",\"udp\",53,,,,,,,,,,,,,\n");
            }
        }
        for i in (0..60_000u32).step_by(20) {
            text.push_str(&scan_dns_row(i));
        }
        let file = install.data_dir().join("2026-11-29-scan_dns-queued-test.csv");
        std::fs::write(&file, &text).unwrap();
        let namespace = format!("it{}", uuid::Uuid::now_v7().simple());
        let queue = format!("{nats}/{namespace}");

        let queued = install.ok(&["ingest", "--queue", &queue, file.to_str().unwrap()], None);
        assert!(queued.contains("queued"), "{queued}");
        // Queued again (a producer that crashed and was run again): nothing twice.
        let again = install.ok(&["ingest", "--queue", &queue, file.to_str().unwrap()], None);
        assert!(again.contains("were queued before"), "{again}");

        let mut a = worker(&install, &queue, "a");
        let b = worker(&install, &queue, "b");
        // Kill a once the first batches are committed, with work left.
        let started = Instant::now();
        loop {
            let done = accepted(&install);
            assert!(a.try_wait().unwrap().is_none(), "worker a ended before it could be killed");
            if done > 0 {
                assert!(done < 60_000, "the feed was not finished yet: {done}");
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(120), "no batch was committed");
            std::thread::sleep(Duration::from_millis(20));
        }
        a.kill().unwrap(); // SIGKILL
        let _ = a.wait();
        let a2 = worker(&install, &queue, "a2");
        let (b_log, a2_log) = (finish(b), finish(a2));

        assert_eq!(accepted(&install), 60_000, "every row accepted once: {b_log} {a2_log}");
        let events = published_events(&nats, &namespace);
        assert_eq!(events.len(), 60_000, "every accepted event published once");
        let ips: std::collections::HashSet<String> = events
            .iter()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["source.ip"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ips.len(), 60_000, "none twice");
        let quarantine = install.ok(&["feeds", "quarantine"], None);
        assert_eq!(quarantine.matches("is not a valid time.source").count(), 1, "the bad row, once: {quarantine}");
        assert!(quarantine.contains(":30003\t"), "with its line in the file: {quarantine}");

        let flushed = send(&server.base, "POST", "/api/v1/notifications/flush", &[("Authorization", &auth)], b"").json();
        assert_eq!(flushed["queued"], 1, "{flushed}");
        let outbox = send(&server.base, "GET", "/api/v1/notifications", &[("Authorization", &auth)], b"").json();
        assert_eq!(outbox[0]["event_count"], 6_000, "every constituent event told exactly once: {outbox}");
    }
}

#[test]
fn a_batch_this_worker_cannot_read_is_quarantined_not_lost() {
    let Ok(nats) = std::env::var("RAMPART_TEST_NATS_URL") else {
        eprintln!("RAMPART_TEST_NATS_URL is not set: the JetStream engine is not tested");
        return;
    };
    let install = crate::harness::sqlite_install();
    let queue = format!("{nats}/it{}", uuid::Uuid::now_v7().simple());
    let with_mapping = install.data_dir().join("producer.toml");
    std::fs::write(&with_mapping, "[[feeds.mappings]]\nname = \"vendor\"\ncolumns = { ip = \"source.ip\" }\n").unwrap();
    let file = install.data_dir().join("vendor.csv");
    std::fs::write(&file, "ip\n192.0.2.1\n192.0.2.2\n").unwrap();
    let producer = with_mapping.to_str().unwrap();
    install.ok(&["--config", producer, "ingest", "--queue", &queue, "--mapping", "vendor", file.to_str().unwrap()], None);
    // This worker's configuration has no such mapping.
    let done = finish(worker(&install, &queue, "plain"));
    assert!(done.contains("1 batches"), "{done}");
    let quarantine = install.ok(&["feeds", "quarantine"], None);
    assert!(quarantine.contains("the whole batch") && quarantine.contains("vendor"), "{quarantine}");
    assert!(quarantine.contains("192.0.2.2"), "the rows are kept: {quarantine}");
}
