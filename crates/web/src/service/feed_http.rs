//! Feeds collected over HTTP(S): each configured URL is fetched on its schedule with a
//! conditional GET (`If-None-Match`, `If-Modified-Since`), and a new body is streamed to
//! disk and ingested like any other feed file.
//!
//! The validators of the last body that was ingested are kept per feed in
//! `<data_dir>/feeds/http/<name>.json`, so a restart neither refetches early nor misses
//! a body whose ingestion failed: those validators are only kept once it went through.

use super::feeds::{self, FeedFormat, IngestOptions, IngestSummary};
use super::routing::RouteIndex;
use super::{ServiceError, ServiceResult};
use chrono::{DateTime, Utc};
use rampart_store::{Actor, Store};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How often [`poll_http_feeds`] looks for feeds that are due, unless told otherwise.
pub const POLL_TICK: Duration = Duration::from_secs(30);
/// After a failed attempt a feed is tried again this soon, even when its schedule is longer.
const RETRY_AFTER_FAILURE_MINUTES: u64 = 15;
/// The longest schedule: a year (of 366 days).
const MAX_EVERY_MINUTES: u64 = 366 * 24 * 60;
const MIB: u64 = 1 << 20;
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(120);
/// A body that stalls this long is given up; a slow but moving one may take as long as it needs.
const READ_TIMEOUT: Duration = Duration::from_secs(120);

fn default_every_minutes() -> u64 {
    60
}

/// One feed collected over HTTP(S), from `[[feeds.http]]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpFeed {
    /// The feed's name: its fingerprints, counts and fetch state are kept under it.
    pub name: String,
    /// `http://…` or `https://…`.
    pub url: String,
    /// How often the URL is checked.
    #[serde(default = "default_every_minutes")]
    pub every_minutes: u64,
    /// The Shadowserver report type, when the URL's file name does not say.
    #[serde(default)]
    pub report_type: Option<String>,
    /// `shadowserver` or `intelmq-json`; by default IntelMQ JSON lines for a URL whose file
    /// name ends in `.json`/`.jsonl`, else Shadowserver.
    #[serde(default)]
    pub format: Option<String>,
    /// Read the body with this `[[feeds.mappings]]` entry (a generic CSV or JSON feed).
    #[serde(default)]
    pub mapping: Option<String>,
    /// The name of an environment variable whose value is sent as the `Authorization`
    /// header. The secret itself is never in the configuration, the state or the logs.
    #[serde(default)]
    pub auth_header_env: Option<String>,
    /// The largest body accepted, in MiB (default 1024).
    #[serde(default)]
    pub max_mib: Option<u64>,
    /// A limit in bytes instead of `max_mib`, for tests that cannot send a MiB.
    #[serde(skip)]
    max_bytes: Option<u64>,
}

impl HttpFeed {
    /// A feed of `url` checked hourly, its format and report type from the URL.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        HttpFeed {
            name: name.into(),
            url: url.into(),
            every_minutes: default_every_minutes(),
            report_type: None,
            format: None,
            mapping: None,
            auth_header_env: None,
            max_mib: None,
            max_bytes: None,
        }
    }

    /// Limits the body to `n` bytes instead of `max_mib` (for tests).
    pub fn with_max_bytes(mut self, n: u64) -> Self {
        self.max_bytes = Some(n);
        self
    }

    /// The largest body accepted, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes.unwrap_or_else(|| self.max_mib.unwrap_or(1024).saturating_mul(MIB))
    }

    /// Whether the settings can be used; the reason when not.
    pub fn check(&self) -> Result<(), String> {
        let name = &self.name;
        super::check_file_name("feed", name)?;
        let lower = self.url.to_ascii_lowercase();
        let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
        let has_host = rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with(['/', '?', '#']));
        if !has_host || self.url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("feed {name}: url must be an http:// or https:// address"));
        }
        if !(1..=MAX_EVERY_MINUTES).contains(&self.every_minutes) {
            return Err(format!("feed {name}: every_minutes must be 1 to {MAX_EVERY_MINUTES}"));
        }
        if self.max_mib == Some(0) {
            return Err(format!("feed {name}: max_mib must be at least 1"));
        }
        match self.format.as_deref() {
            None | Some("shadowserver") => {}
            Some("intelmq-json") if self.report_type.is_none() => {}
            Some("intelmq-json") => return Err(format!("feed {name}: report_type is for Shadowserver feeds only")),
            Some(other) => return Err(format!("feed {name}: unknown format {other:?}; use shadowserver or intelmq-json")),
        }
        let bad_variable = |var: &str| var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if self.auth_header_env.as_deref().is_some_and(bad_variable) {
            return Err(format!("feed {name}: auth_header_env must name an environment variable (letters, digits, '_')"));
        }
        Ok(())
    }

    /// How the body is read: the configured format or mapping, else the one the URL's
    /// file name suggests.
    fn feed_format(&self, opts: &IngestOptions) -> ServiceResult<FeedFormat> {
        let file_name = url_file_name(&self.url);
        let format = match (self.format.as_deref(), &self.mapping) {
            (_, Some(name)) => opts.mapping(name)?,
            (Some("intelmq-json"), None) => FeedFormat::IntelmqJson,
            (Some(_), None) => FeedFormat::Shadowserver { report_type: self.report_type.clone() },
            (None, None) => opts.format_for(file_name, self.report_type.clone()),
        };
        Ok(feeds::with_report_type_from(&format, &opts.schema, file_name))
    }
}

/// What is known about a feed's URL between checks; kept as JSON in
/// `<data_dir>/feeds/http/<name>.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct FetchState {
    /// The URL the rest was learnt from: a changed URL starts afresh.
    pub url: String,
    /// The validators of the last body that was ingested.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The last attempt, whatever came of it.
    pub last_checked: Option<DateTime<Utc>>,
    /// Its HTTP status, when a response came.
    pub last_status: Option<u16>,
    /// Why it failed, when it did.
    pub last_error: Option<String>,
    /// A body whose ingestion failed, kept for a look until the next body arrives.
    pub kept_download: Option<PathBuf>,
}

/// Where a feed's [`FetchState`] is kept.
pub fn state_path(data_dir: &Path, feed_name: &str) -> PathBuf {
    data_dir.join("feeds").join("http").join(format!("{feed_name}.json"))
}

/// A feed's [`FetchState`]; a fresh one when none was kept or it cannot be read.
pub fn load_state(data_dir: &Path, feed_name: &str) -> FetchState {
    let path = state_path(data_dir, feed_name);
    let Ok(bytes) = std::fs::read(&path) else { return FetchState::default() };
    serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        tracing::warn!(feed = %feed_name, path = %path.display(), error = %e, "unreadable HTTP feed state; the feed is fetched afresh");
        FetchState::default()
    })
}

fn save_state(data_dir: &Path, feed_name: &str, state: &FetchState) -> ServiceResult<()> {
    super::write_json_atomically(&state_path(data_dir, feed_name), state)
}

/// What one check of a feed came to.
#[derive(Debug, Clone)]
pub enum FetchOutcome {
    /// The server said the body is the one ingested before (304).
    NotModified,
    /// A body came and was ingested (or recognised as ingested before: `already_done`).
    Ingested(IngestSummary),
}

/// Checks a feed once: a conditional GET, and ingestion of the body when a new one came.
/// The attempt is recorded in the feed's state either way; the validators only change
/// once a body was ingested, so one that failed is fetched again next time.
pub async fn fetch_once(
    store: &dyn Store,
    route_index: &RouteIndex,
    data_dir: &Path,
    feed: &HttpFeed,
    opts: &IngestOptions,
) -> ServiceResult<FetchOutcome> {
    // The name becomes a file name, so it is checked even when the configuration was not.
    feed.check().map_err(ServiceError::Invalid)?;
    let mut state = load_state(data_dir, &feed.name);
    if state.url != feed.url {
        // Validators and times learnt from another URL say nothing about this one.
        state = FetchState { url: feed.url.clone(), kept_download: state.kept_download.take(), ..FetchState::default() };
    }
    let (status, outcome) = attempt(store, route_index, data_dir, feed, opts, &mut state).await;
    state.last_checked = Some(Utc::now());
    state.last_status = status;
    state.last_error = outcome.as_ref().err().map(ToString::to_string);
    if let Err(e) = save_state(data_dir, &feed.name, &state) {
        // The attempt's own error matters more than the state's.
        if outcome.is_ok() {
            return Err(e);
        }
        tracing::warn!(feed = %feed.name, error = %e, "the HTTP feed state was not saved");
    }
    outcome
}

/// The validators of a response, or those sent with a request.
#[derive(Debug, Clone, Default)]
struct Validators {
    etag: Option<String>,
    last_modified: Option<String>,
}

/// One GET, with everything it needs on the blocking thread.
struct DownloadRequest {
    url: String,
    /// The `Authorization` header's value.
    authorization: Option<String>,
    sent: Validators,
    /// Where a 200's body goes.
    path: PathBuf,
    max_bytes: u64,
}

/// What a GET came to.
enum Fetched {
    NotModified,
    /// A 200 whose body is now at the request's path.
    Saved(Validators),
    /// A 200 whose body could not be saved, and why; nothing of it is left on disk.
    Unsaved(String),
    /// Any other status.
    Refused(u16),
}

/// One conditional GET and, for a new body, its ingestion. Updates the validators and the
/// kept download in `state`; returns the HTTP status (when a response came) and the outcome.
async fn attempt(
    store: &dyn Store,
    route_index: &RouteIndex,
    data_dir: &Path,
    feed: &HttpFeed,
    opts: &IngestOptions,
    state: &mut FetchState,
) -> (Option<u16>, ServiceResult<FetchOutcome>) {
    let name = &feed.name;
    let shown = shown_url(&feed.url);
    let failed = |why: String| ServiceError::Invalid(format!("feed {name}: {shown}: {why}"));
    let authorization = match &feed.auth_header_env {
        Some(var) => match std::env::var(var) {
            Ok(value) if !value.is_empty() => Some(value),
            _ => return (None, Err(failed(format!("the environment variable {var} (auth_header_env) is not set")))),
        },
        None => None,
    };
    // A folder of its own per download, like uploads: the file keeps the URL's name,
    // which carries the report type and identifies a body seen before.
    let dir = data_dir.join("feeds").join("incoming").join(rampart_core::ids::new_id().simple().to_string());
    let path = dir.join(feeds::safe_file_name(url_file_name(&feed.url)));
    let request = DownloadRequest {
        url: feed.url.clone(),
        authorization,
        sent: Validators { etag: state.etag.clone(), last_modified: state.last_modified.clone() },
        path: path.clone(),
        max_bytes: feed.max_bytes(),
    };
    let validators = match tokio::task::spawn_blocking(move || download(&request)).await {
        Ok(Ok(Fetched::Saved(validators))) => validators,
        Ok(Ok(Fetched::NotModified)) => return (Some(304), Ok(FetchOutcome::NotModified)),
        Ok(Ok(Fetched::Refused(status))) => return (Some(status), Err(failed(format!("the server answered HTTP {status}")))),
        Ok(Ok(Fetched::Unsaved(why))) => return (Some(200), Err(failed(why))),
        Ok(Err(why)) => return (None, Err(failed(why))),
        Err(e) => return (None, Err(failed(format!("the download stopped: {e}")))),
    };

    // A new body: one kept from an earlier failure has had its day.
    if let Some(old) = state.kept_download.take() {
        remove_download(data_dir, &old);
    }
    let mut opts = opts.clone();
    opts.feed = Some(name.clone());
    opts.format = match feed.feed_format(&opts) {
        Ok(format) => format,
        Err(e) => {
            state.kept_download = Some(path.clone());
            return (Some(200), Err(e));
        }
    };
    let progress = |_: u64, _: u64| {};
    match feeds::ingest_file(store, route_index, &Actor::System, &path, &opts, &progress).await {
        Ok(summary) => {
            // The feed's source has the body; the checkpoints and fingerprints are in the database.
            remove_download(data_dir, &path);
            state.etag = validators.etag;
            state.last_modified = validators.last_modified;
            (Some(200), Ok(FetchOutcome::Ingested(summary)))
        }
        Err(e) => {
            state.kept_download = Some(path.clone());
            let e = match e {
                ServiceError::Invalid(why) => failed(format!("{why} (the download is kept at {})", path.display())),
                other => other,
            };
            (Some(200), Err(e))
        }
    }
}

/// The GET itself, on a blocking thread. `Err` is a transport failure (no response).
fn download(request: &DownloadRequest) -> Result<Fetched, String> {
    let agent = super::http_agent(RESPONSE_TIMEOUT, Some(READ_TIMEOUT));
    let mut call = agent.get(request.url.as_str());
    if let Some(etag) = &request.sent.etag {
        call = call.header("If-None-Match", etag.as_str());
    }
    if let Some(last_modified) = &request.sent.last_modified {
        call = call.header("If-Modified-Since", last_modified.as_str());
    }
    if let Some(authorization) = &request.authorization {
        call = call.header("Authorization", authorization.as_str());
    }
    // ureq's errors name the problem, never the request's headers.
    let response = call.call().map_err(|e| e.to_string())?;
    match response.status().as_u16() {
        200 => {}
        304 => return Ok(Fetched::NotModified),
        other => return Ok(Fetched::Refused(other)),
    }
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let validators = Validators { etag: header("etag"), last_modified: header("last-modified") };
    let mut body = response.into_body().into_reader();
    match save_body(&mut body, &request.path, request.max_bytes) {
        Ok(()) => Ok(Fetched::Saved(validators)),
        Err(why) => {
            let _ = std::fs::remove_file(&request.path);
            if let Some(dir) = request.path.parent() {
                let _ = std::fs::remove_dir(dir);
            }
            Ok(Fetched::Unsaved(why))
        }
    }
}

/// Streams `body` into a new file at `path`, refusing it once it passes `max_bytes`.
fn save_body(body: &mut impl Read, path: &Path, max_bytes: u64) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let mut file = std::fs::File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("reading the body: {e}")),
        };
        total += n as u64;
        if total > max_bytes {
            return Err(format!("the body is larger than {}", describe_size(max_bytes)));
        }
        file.write_all(&buf[..n]).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    file.sync_all().map_err(|e| format!("writing {}: {e}", path.display()))
}

/// `1024 MiB`, or `100 bytes` for a limit that is not whole MiB.
fn describe_size(bytes: u64) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Removes a download and its folder, when it is one of the incoming files: the path may
/// come from a state file, which is not trusted to name anything else.
fn remove_download(data_dir: &Path, path: &Path) {
    let incoming = data_dir.join("feeds").join("incoming");
    if !path.starts_with(&incoming) || path.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return;
    }
    let _ = std::fs::remove_file(path);
    if let Some(dir) = path.parent().filter(|dir| *dir != incoming.as_path()) {
        let _ = std::fs::remove_dir(dir);
    }
}

/// The last segment of a URL's path (`…/2026-11-30-scan_dns-tw.csv?key=…` →
/// `2026-11-30-scan_dns-tw.csv`); empty when the path has none.
fn url_file_name(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    match rest.split_once('/') {
        Some((_, path)) => path.rsplit('/').next().unwrap_or_default(),
        None => "",
    }
}

/// The URL as logged and stored: a password in it is hidden, and a query (which may carry
/// a key, `?apikey=…`) is shown as `?…`.
fn shown_url(url: &str) -> String {
    let base = url_without_secrets(url);
    if url.contains(['?', '#']) {
        format!("{base}?…")
    } else {
        base
    }
}

/// The URL without its query and fragment, a password in it hidden.
fn url_without_secrets(url: &str) -> String {
    let url = &url[..url.find(['?', '#']).unwrap_or(url.len())];
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_string() };
    let rest = &url[scheme_end..];
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) => format!("{}***@{}", &url[..scheme_end], &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// What the feeds page shows of a feed and its last check.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedStatus {
    pub name: String,
    /// The URL without credentials or query (which may carry a key).
    pub url: String,
    pub every_minutes: u64,
    pub last_checked: Option<DateTime<Utc>>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    /// `None` when it is due now.
    pub next_check: Option<DateTime<Utc>>,
}

/// The status of each feed, from its state on disk.
pub fn statuses(data_dir: &Path, feeds: &[HttpFeed]) -> Vec<FeedStatus> {
    feeds
        .iter()
        .map(|feed| {
            let state = load_state(data_dir, &feed.name);
            FeedStatus {
                name: feed.name.clone(),
                url: url_without_secrets(&feed.url),
                every_minutes: feed.every_minutes,
                next_check: next_check(feed, &state),
                last_checked: state.last_checked,
                last_status: state.last_status,
                last_error: state.last_error,
            }
        })
        .collect()
}

/// When a feed is next checked: `every_minutes` after the last attempt (sooner after a
/// failure); `None` when it is due now.
fn next_check(feed: &HttpFeed, state: &FetchState) -> Option<DateTime<Utc>> {
    if state.url != feed.url {
        return None;
    }
    let last = state.last_checked?;
    let minutes = if state.last_error.is_some() { feed.every_minutes.min(RETRY_AFTER_FAILURE_MINUTES) } else { feed.every_minutes };
    let wait = chrono::Duration::try_minutes(i64::try_from(minutes).unwrap_or(i64::MAX))?;
    last.checked_add_signed(wait)
}

/// Checks every feed when it is due, every `tick`, until the process ends. The schedule
/// comes from the state on disk, so a restart does not fetch early. Feeds are checked one
/// after another, so a large download delays the others rather than competing with them.
pub async fn poll_http_feeds(
    store: crate::SharedStore,
    route_index: Arc<RouteIndex>,
    data_dir: PathBuf,
    feeds: Vec<HttpFeed>,
    opts: IngestOptions,
    tick: Duration,
) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        for feed in &feeds {
            let state = load_state(&data_dir, &feed.name);
            if next_check(feed, &state).is_some_and(|at| at > Utc::now()) {
                continue;
            }
            let url = shown_url(&feed.url);
            match fetch_once(&*store, &route_index, &data_dir, feed, &opts).await {
                Ok(FetchOutcome::NotModified) => tracing::info!(feed = %feed.name, url = %url, status = 304, "HTTP feed not modified"),
                Ok(FetchOutcome::Ingested(s)) => tracing::info!(
                    feed = %feed.name,
                    url = %url,
                    status = 200,
                    rows = s.rows_read,
                    written = s.written,
                    duplicates = s.duplicates,
                    quarantined = s.quarantined,
                    already_done = s.already_done,
                    "HTTP feed ingested"
                ),
                Err(e) => tracing::warn!(feed = %feed.name, url = %url, error = %e, "HTTP feed failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_come_from_the_url_path() {
        assert_eq!(url_file_name("https://h.example/a/2026-11-30-scan_dns-tw.csv?key=1#x"), "2026-11-30-scan_dns-tw.csv");
        assert_eq!(url_file_name("https://h.example/"), "");
        assert_eq!(url_file_name("https://h.example?x=/y.csv"), "");
        assert_eq!(feeds::safe_file_name(url_file_name("https://h.example")), "feed.csv");
    }

    #[test]
    fn passwords_in_urls_are_hidden() {
        assert_eq!(shown_url("https://u:secret@h.example/a@b.csv"), "https://***@h.example/a@b.csv");
        assert_eq!(shown_url("https://h.example/a@b.csv"), "https://h.example/a@b.csv");
        assert_eq!(shown_url("https://u:p@h.example/r.csv?apikey=k#x"), "https://***@h.example/r.csv?…");
    }

    #[test]
    fn settings_are_checked() {
        let good = HttpFeed::new("scan-dns", "https://feeds.example.net/2026-11-30-scan_dns-taiwan-geo.csv");
        assert_eq!(good.check(), Ok(()));
        assert_eq!(good.max_bytes(), 1024 * MIB);
        for bad in [
            HttpFeed::new("", "https://h.example/x.csv"),
            HttpFeed::new("../x", "https://h.example/x.csv"),
            HttpFeed::new("x", "ftp://h.example/x.csv"),
            HttpFeed::new("x", "https:///x.csv"),
            HttpFeed { every_minutes: 0, ..good.clone() },
            HttpFeed { max_mib: Some(0), ..good.clone() },
            HttpFeed { format: Some("xml".into()), ..good.clone() },
            HttpFeed { auth_header_env: Some("A B".into()), ..good.clone() },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        assert_eq!(describe_size(3 * MIB), "3 MiB");
        assert_eq!(describe_size(100), "100 bytes");
    }

    #[test]
    fn a_feed_is_due_after_its_interval_and_sooner_after_a_failure() {
        let feed = HttpFeed { every_minutes: 60, ..HttpFeed::new("x", "https://h.example/x.csv") };
        let now = Utc::now();
        assert_eq!(next_check(&feed, &FetchState::default()), None, "never checked");
        let ok = FetchState { url: feed.url.clone(), last_checked: Some(now), ..FetchState::default() };
        assert_eq!(next_check(&feed, &ok), Some(now + chrono::Duration::minutes(60)));
        let failed = FetchState { last_error: Some("HTTP 500".into()), ..ok.clone() };
        assert_eq!(next_check(&feed, &failed), Some(now + chrono::Duration::minutes(15)));
        let moved = FetchState { url: "https://elsewhere.example/x.csv".into(), ..ok };
        assert_eq!(next_check(&feed, &moved), None, "a new URL is checked at once");
    }
}
