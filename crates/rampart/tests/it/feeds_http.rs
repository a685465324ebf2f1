//! The HTTP(S) feed collector against a small server started by the test: conditional GET
//! with the ETag, a changed body, a failing server, a body over the limit, the
//! Authorization header from the environment, and a schedule that survives a restart.

use rampart_store::Store;
use rampart_web::service::feed_http::{self, FetchOutcome, HttpFeed};
use rampart_web::service::feeds::{IngestOptions, IngestSummary};
use rampart_web::service::routing::RouteIndex;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A Shadowserver file name, so the report type comes from the URL.
const FEED_PATH: &str = "/2026-11-30-scan_dns-example.csv";

/// What the server answers with (unless the client's `If-None-Match` matches: then 304).
struct Answer {
    status: u16,
    body: Vec<u8>,
    etag: String,
    /// Without it the body ends when the connection closes.
    content_length: bool,
}

/// A request as the server saw it: its path and headers (names in lower case).
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HashMap<String, String>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

struct FeedServer {
    url: String,
    answer: Arc<Mutex<Answer>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FeedServer {
    fn start(body: Vec<u8>, etag: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}{FEED_PATH}", listener.local_addr().unwrap());
        let answer = Arc::new(Mutex::new(Answer { status: 200, body, etag: etag.to_string(), content_length: true }));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (served, recorded) = (answer.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                respond(&stream, &served, &recorded);
            }
        });
        FeedServer { url, answer, seen }
    }

    fn answer_with(&self, change: impl FnOnce(&mut Answer)) {
        change(&mut self.answer.lock().unwrap());
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn last_request(&self) -> Seen {
        self.requests().last().cloned().expect("the server was asked")
    }
}

/// Answers one request, then closes the connection.
fn respond(stream: &TcpStream, answer: &Mutex<Answer>, seen: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut headers = HashMap::new();
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) && !line.trim_end().is_empty() {
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
        line.clear();
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_string();
    seen.lock().unwrap().push(Seen { path, headers: headers.clone() });
    let (status, body, etag, content_length) = {
        let a = answer.lock().unwrap();
        (a.status, a.body.clone(), a.etag.clone(), a.content_length)
    };
    let not_modified = status == 200 && headers.get("if-none-match") == Some(&etag);
    let status = if not_modified { 304 } else { status };
    let reason = match status {
        200 => "OK",
        304 => "Not Modified",
        _ => "Internal Server Error",
    };
    let mut head = format!("HTTP/1.1 {status} {reason}\r\nETag: {etag}\r\nContent-Type: text/csv\r\nConnection: close\r\n");
    if content_length && status != 304 {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut writer = stream;
    let _ = writer.write_all(head.as_bytes());
    if status != 304 {
        let _ = writer.write_all(&body);
    }
    let _ = writer.flush();
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

/// A data directory with its SQLite store, as `rampart serve` has them.
struct Env {
    dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    index: Arc<RouteIndex>,
    opts: IngestOptions,
}

impl Env {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = rampart_store::open(&format!("sqlite://{}", dir.path().join("rampart.db").display())).await.unwrap();
        store.migrate().await.unwrap();
        let mut opts = IngestOptions::defaults(Arc::new(rampart_pipeline::shadowserver::Schema::builtin().clone()));
        opts.notify = false;
        opts.threads = 1;
        Env { dir, store, index: Arc::new(RouteIndex::new("TW")), opts }
    }

    fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    async fn fetch(&self, feed: &HttpFeed) -> Result<FetchOutcome, String> {
        feed_http::fetch_once(&*self.store, &self.index, self.data_dir(), feed, &self.opts).await.map_err(|e| e.to_string())
    }

    async fn ingested(&self, feed: &HttpFeed) -> IngestSummary {
        match self.fetch(feed).await {
            Ok(FetchOutcome::Ingested(summary)) => summary,
            other => panic!("expected a body to be ingested, got {other:?}"),
        }
    }

    /// Files left under `feeds/incoming`.
    fn incoming_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, found);
                } else {
                    found.push(path);
                }
            }
        }
        let mut found = Vec::new();
        walk(&self.data_dir().join("feeds").join("incoming"), &mut found);
        found
    }
}

/// ingest_file runs its batches with `block_in_place`, which wants the multi-threaded runtime.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn scan_dns_sample() -> Vec<u8> {
    let mut text = rampart_core::testdata::read("shadowserver/testdata/scan_dns.csv");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.into_bytes()
}

/// `body` with one more row, from an address the sample does not have.
fn with_row(body: &[u8], last_octet: u8) -> Vec<u8> {
    let row = format!(
        "\"2026-11-30 00:00:00\",\"203.0.113.{last_octet}\",\"udp\",53,\"host.example.net\",\"openresolver\",\"dnsmasq-2.66\",25255,\"AT\",\"WIEN\",\"VIENNA\",\"4.6190\",,,0,0,\n"
    );
    [body, row.as_bytes()].concat()
}

#[test]
fn an_http_feed_is_fetched_with_conditional_get_and_ingested() {
    let sample = scan_dns_sample();
    let server = FeedServer::start(sample.clone(), "\"v1\"");
    // This test's own variable: no other test reads or sets it.
    let token_var = "RAMPART_IT_FEEDS_HTTP_TOKEN";
    std::env::set_var(token_var, "Bearer s3cret-feed-token");
    let mut feed = HttpFeed::new("scan-dns-http", server.url.clone());
    feed.auth_header_env = Some(token_var.to_string());
    runtime().block_on(async {
        let env = Env::new().await;
        let state = || feed_http::load_state(env.data_dir(), &feed.name);

        // (a) The first check fetches and ingests the body; (f) with the secret as Authorization.
        let first = env.ingested(&feed).await;
        assert!(first.written > 0 && !first.already_done, "{first:?}");
        assert_eq!(first.feed, "scan-dns-http", "counted under the configured name");
        let asked = server.last_request();
        assert_eq!(asked.path, FEED_PATH);
        assert_eq!(asked.header("authorization"), Some("Bearer s3cret-feed-token"));
        assert_eq!(asked.header("if-none-match"), None, "nothing to compare with yet");
        let kept = state();
        assert_eq!((kept.etag.as_deref(), kept.last_status, kept.last_error.as_deref()), (Some("\"v1\""), Some(200), None), "{kept:?}");
        assert!(kept.last_checked.is_some());
        let state_text = std::fs::read_to_string(feed_http::state_path(env.data_dir(), &feed.name)).unwrap();
        assert!(!state_text.contains("s3cret"), "the secret is not kept: {state_text}");
        assert_eq!(env.incoming_files(), Vec::<PathBuf>::new(), "an ingested download is not kept");

        // (b) Unchanged: the server answers 304 to the kept ETag.
        assert!(matches!(env.fetch(&feed).await, Ok(FetchOutcome::NotModified)));
        assert_eq!(server.last_request().header("if-none-match"), Some("\"v1\""));
        assert_eq!(server.requests().len(), 2);
        assert_eq!(state().last_status, Some(304));

        // (c) A new body under a new ETag is ingested; only its new row is new.
        let second_body = with_row(&sample, 201);
        server.answer_with(|a| {
            a.body = second_body.clone();
            a.etag = "\"v2\"".into();
        });
        let second = env.ingested(&feed).await;
        assert!(second.written >= 1 && !second.already_done, "{second:?}");
        assert_eq!(server.last_request().header("if-none-match"), Some("\"v1\""), "asked with the old ETag");
        assert_eq!(state().etag.as_deref(), Some("\"v2\""));

        // (d) A server error is reported with the status and the URL; the ETag stays.
        server.answer_with(|a| a.status = 500);
        let err = env.fetch(&feed).await.unwrap_err();
        assert!(err.contains("500") && err.contains(&server.url), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
        let after_error = state();
        assert_eq!((after_error.etag.as_deref(), after_error.last_status), (Some("\"v2\""), Some(500)), "{after_error:?}");
        assert!(after_error.last_error.as_deref().is_some_and(|e| e.contains("500")), "{after_error:?}");

        // (e) A body over the limit is refused and nothing of it is left, with or without
        // Content-Length; the ETag stays, so the body is fetched again next time.
        server.answer_with(|a| {
            a.status = 200;
            a.body = with_row(&second_body, 202);
            a.etag = "\"v3\"".into();
            a.content_length = false;
        });
        let small = feed.clone().with_max_bytes(100);
        for content_length in [false, true] {
            server.answer_with(|a| a.content_length = content_length);
            let err = env.fetch(&small).await.unwrap_err();
            assert!(err.contains("larger than 100 bytes"), "{err}");
            assert_eq!(env.incoming_files(), Vec::<PathBuf>::new(), "no partial download is left");
            assert_eq!(state().etag.as_deref(), Some("\"v2\""));
        }
        let third = env.ingested(&feed).await;
        assert!(third.written >= 1, "{third:?}");
        assert_eq!(server.last_request().header("if-none-match"), Some("\"v2\""), "the refused body was not taken as seen");
        assert_eq!(state().etag.as_deref(), Some("\"v3\""));

        // (f) A missing secret stops the check before anything is sent.
        let asked_before = server.requests().len();
        let mut unset = feed.clone();
        unset.auth_header_env = Some("RAMPART_IT_FEEDS_HTTP_UNSET".into());
        let err = env.fetch(&unset).await.unwrap_err();
        assert!(err.contains("RAMPART_IT_FEEDS_HTTP_UNSET"), "{err}");
        assert_eq!(server.requests().len(), asked_before);
    });
}

async fn wait_for(what: &str, done: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn polling_fetches_a_feed_when_due_and_a_restart_does_not_fetch_early() {
    let server = FeedServer::start(scan_dns_sample(), "\"p1\"");
    let feed = HttpFeed::new("scan-dns-polled", server.url.clone()); // hourly
    runtime().block_on(async {
        let env = Env::new().await;
        let poller = || {
            tokio::spawn(feed_http::poll_http_feeds(
                env.store.clone(),
                env.index.clone(),
                env.data_dir().to_path_buf(),
                vec![feed.clone()],
                env.opts.clone(),
                Duration::from_millis(50),
            ))
        };
        let checked = || feed_http::load_state(env.data_dir(), &feed.name).last_checked;

        // Never checked: due at once; then not again within the hour.
        let poll = poller();
        wait_for("the first check", || checked().is_some()).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(server.requests().len(), 1, "checked once");
        poll.abort();

        // A restart reads the last check from disk.
        let poll = poller();
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(server.requests().len(), 1, "a restart does not fetch early");

        // An hour later it is due, and asks with the kept ETag.
        let mut state = feed_http::load_state(env.data_dir(), &feed.name);
        state.last_checked = Some(chrono::Utc::now() - chrono::Duration::minutes(61));
        // Replaced whole, as the poller does: it reads the file every tick.
        let path = feed_http::state_path(env.data_dir(), &feed.name);
        std::fs::write(path.with_extension("json.test"), serde_json::to_vec(&state).unwrap()).unwrap();
        std::fs::rename(path.with_extension("json.test"), &path).unwrap();
        wait_for("the second check", || server.requests().len() == 2).await;
        assert_eq!(server.last_request().header("if-none-match"), Some("\"p1\""));
        poll.abort();
    });
}
