//! Feeds in the browser: upload a file into the pipeline, read the quarantine and the
//! events per day, open a quarantined row, correct it and replay it.

use super::pages::Opt;
use super::{
    error_page, flash_args, internal_error, redirect_with_flash, redirect_with_flash_detail, render_page, require_complete,
    session_csrf_ok, PageCtx, UiForm,
};
use crate::auth::Principal;
use crate::service::feed_http;
use crate::service::feeds::{self, IngestSummary};
use crate::service::ServiceError;
use crate::time::display;
use crate::AppState;
use askama::Template;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use rampart_core::policy;
use rampart_store::{Actor, Session, StoreError};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// The largest file the upload form takes (as the API does).
pub const UPLOAD_LIMIT: usize = 256 << 20;
/// The upload's request body: the file and a little room for the other fields.
pub const UPLOAD_BODY_LIMIT: usize = UPLOAD_LIMIT + (64 << 10);
/// The longest text field of the upload form.
const FIELD_LIMIT: usize = 4096;
/// How many quarantined rows the feeds page lists, newest first.
const QUARANTINE_LIMIT: i64 = 200;
/// How much of a quarantined row the list shows.
const RAW_PREVIEW_CHARS: usize = 500;
/// The days of counts the feeds page shows, today included.
const COUNT_DAYS: i64 = 30;
/// How much of a file name a flash message repeats.
const FLASH_NAME_CHARS: usize = 60;
const BACK: &str = "/feeds";

#[derive(Debug, Clone)]
pub struct QuarantineRow {
    pub id: String,
    pub feed: String,
    /// The input's original file name.
    pub file: String,
    pub line: i64,
    pub reason: String,
    /// The start of the raw text.
    pub raw: String,
    pub created: String,
    pub replayed: bool,
    pub replayed_at: String,
}

#[derive(Debug, Clone)]
pub struct CountRow {
    pub day: String,
    pub feed: String,
    /// Empty for events no organisation answers for.
    pub org_id: String,
    pub org_name: String,
    pub kind: String,
    pub events: i64,
}

/// A configured HTTP(S) feed and its last check.
pub struct HttpFeedRow {
    pub name: String,
    pub url: String,
    pub every_minutes: u64,
    /// Empty when never checked.
    pub last_checked: String,
    /// The HTTP status of the last response; empty when none came.
    pub status: String,
    /// Empty when the last check went through.
    pub error: String,
    /// Empty when it is due now.
    pub next_check: String,
}

/// `GET /feeds`.
#[derive(Template)]
#[template(path = "feeds.html")]
pub struct FeedsPage {
    pub page: PageCtx,
    pub can_upload: bool,
    pub limit_mb: usize,
    pub report_types: Vec<Opt>,
    /// The configured mappings (`[[feeds.mappings]]`), by name.
    pub mappings: Vec<Opt>,
    pub http_feeds: Vec<HttpFeedRow>,
    pub quarantine: Vec<QuarantineRow>,
    pub counts: Vec<CountRow>,
    /// The first day counted (YYYY-MM-DD).
    pub counts_since: String,
}

/// `GET /feeds/quarantine/{id}`.
#[derive(Template)]
#[template(path = "feed_quarantine_entry.html")]
pub struct QuarantineEntryPage {
    pub page: PageCtx,
    pub id: String,
    pub feed: String,
    pub file: String,
    /// The input as recorded: name, size and digest.
    pub source: String,
    pub line: i64,
    pub reason: String,
    pub raw: String,
    pub created: String,
    pub replayed: bool,
    pub replayed_at: String,
    pub can_replay: bool,
}

/// Reading feeds is for CERT staff.
async fn staff_session(state: &AppState, headers: &HeaderMap) -> Result<(Session, Principal), Response> {
    let (session, principal) = require_complete(state, headers).await?;
    if !principal.policy_caller().is_staff() {
        return Err(error_page(state, headers, Some(&principal), StatusCode::FORBIDDEN, "error.forbidden"));
    }
    Ok((session, principal))
}

/// Feeding files and replaying rows is for coordinators.
async fn coordinator_session(state: &AppState, headers: &HeaderMap) -> Result<(Session, Principal), Response> {
    let (session, principal) = require_complete(state, headers).await?;
    if !policy::may_coordinate(&principal.policy_caller()) {
        return Err(error_page(state, headers, Some(&principal), StatusCode::FORBIDDEN, "error.forbidden"));
    }
    Ok((session, principal))
}

/// The input's file name as it came. A source is `name:size:digest`, and a file kept
/// by an upload or a mail is named `<32 hex digits>-<original name>`.
fn original_name(source: &str) -> &str {
    let mut name = source.split(':').next().unwrap_or(source);
    while let Some((prefix, rest)) = name.split_once('-') {
        if prefix.len() == 32 && prefix.bytes().all(|b| b.is_ascii_hexdigit()) && !rest.is_empty() {
            name = rest;
        } else {
            break;
        }
    }
    name
}

/// At most `max` characters of `text`, marked when cut.
fn clip_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// A file name without the directories some browsers send with it.
fn base_name(name: &str) -> String {
    name.rsplit(['/', '\\']).next().unwrap_or(name).trim().chars().take(255).collect()
}

/// `GET /feeds`: the upload form, the quarantine and the counts of the last 30 days.
pub async fn feeds_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (session, principal) = match staff_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let since = (Utc::now() - chrono::Duration::days(COUNT_DAYS - 1)).format("%Y-%m-%d").to_string();
    let store = state.store.feeds();
    let (entries, mut counts, orgs) =
        match (store.quarantine(None, QUARANTINE_LIMIT).await, store.counts(None, &since).await, state.store.list_orgs().await) {
            (Ok(q), Ok(c), Ok(o)) => (q, c, o),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return internal_error(&state, &headers, &principal, e),
        };
    let zone = &state.settings.time_zone;
    let quarantine = entries
        .iter()
        .map(|q| QuarantineRow {
            id: q.id.to_string(),
            feed: q.feed.clone(),
            file: original_name(&q.source).to_string(),
            line: q.line,
            reason: q.reason.clone(),
            raw: clip_chars(&q.raw, RAW_PREVIEW_CHARS),
            created: display(q.created_at, zone),
            replayed: q.replayed_at.is_some(),
            replayed_at: q.replayed_at.map(|t| display(t, zone)).unwrap_or_default(),
        })
        .collect();

    // Newest day first; within a day by feed, the largest numbers first.
    counts.sort_by(|a, b| b.day.cmp(&a.day).then_with(|| a.feed.cmp(&b.feed)).then_with(|| b.events.cmp(&a.events)));
    let names: HashMap<Uuid, String> = orgs.into_iter().map(|o| (o.id, o.name)).collect();
    let counts = counts
        .into_iter()
        .map(|c| {
            let org_id = c.org_id.map(|o| o.to_string()).unwrap_or_default();
            let org_name = c.org_id.map(|o| names.get(&o).cloned().unwrap_or_else(|| o.to_string())).unwrap_or_default();
            CountRow { day: c.day, feed: c.feed, org_id, org_name, kind: c.classification_type, events: c.events }
        })
        .collect();

    let can_upload = policy::may_coordinate(&principal.policy_caller());
    let report_types = if can_upload {
        let types: BTreeMap<&str, &str> = state.feeds.schema.reports().map(|r| (r.file_name(), r.feed_name())).collect();
        types.into_iter().map(|(token, feed)| Opt { value: token.to_string(), label: format!("{token} · {feed}") }).collect()
    } else {
        Vec::new()
    };
    let mappings = if can_upload {
        state.feeds.mappings.iter().map(|m| Opt { value: m.name.clone(), label: format!("{} · {}", m.name, m.feed_name()) }).collect()
    } else {
        Vec::new()
    };
    let http_feeds = feed_http::statuses(&state.settings.data_dir, &state.http_feeds)
        .into_iter()
        .map(|s| HttpFeedRow {
            name: s.name,
            url: s.url,
            every_minutes: s.every_minutes,
            last_checked: s.last_checked.map(|t| display(t, zone)).unwrap_or_default(),
            status: s.last_status.map(|c| c.to_string()).unwrap_or_default(),
            error: s.last_error.unwrap_or_default(),
            next_check: s.next_check.map(|t| display(t, zone)).unwrap_or_default(),
        })
        .collect();
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.feeds", true);
    let view = FeedsPage {
        page,
        can_upload,
        limit_mb: UPLOAD_LIMIT >> 20,
        report_types,
        mappings,
        http_feeds,
        quarantine,
        counts,
        counts_since: since,
    };
    render_page(StatusCode::OK, &view, None)
}

/// The upload form as received.
#[derive(Default)]
struct UploadForm {
    csrf: String,
    feed: String,
    report_type: String,
    mapping: String,
    file_name: String,
    bytes: Vec<u8>,
}

enum UploadError {
    TooLarge,
    Malformed,
}

fn upload_error(e: &MultipartError) -> UploadError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        UploadError::TooLarge
    } else {
        UploadError::Malformed
    }
}

/// A field's bytes, at most `max` of them.
async fn read_limited(field: &mut Field<'_>, max: usize) -> Result<Vec<u8>, UploadError> {
    let mut data = Vec::new();
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                if data.len() + chunk.len() > max {
                    return Err(UploadError::TooLarge);
                }
                data.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(data),
            Err(e) => return Err(upload_error(&e)),
        }
    }
}

/// Reads the multipart body: the file (up to [`UPLOAD_LIMIT`]) and the short fields.
async fn read_upload(mut multipart: Multipart) -> Result<UploadForm, UploadError> {
    let mut form = UploadForm::default();
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(form),
            Err(e) => return Err(upload_error(&e)),
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let file_name = field.file_name().map(base_name).unwrap_or_default();
            let bytes = read_limited(&mut field, UPLOAD_LIMIT).await?;
            // A file input left empty still sends a part, with no name and no bytes.
            if !file_name.is_empty() || !bytes.is_empty() {
                form.file_name = file_name;
                form.bytes = bytes;
            }
        } else {
            let bytes = read_limited(&mut field, FIELD_LIMIT).await?;
            let text = String::from_utf8(bytes).map_err(|_| UploadError::Malformed)?;
            match name.as_str() {
                "csrf" => form.csrf = text,
                "feed" => form.feed = text,
                "report_type" => form.report_type = text,
                "mapping" => form.mapping = text,
                _ => {}
            }
        }
    }
}

/// What the pipeline did with a file, as a flash message on the feeds page.
fn summary_flash(state: &AppState, headers: &HeaderMap, summary: &IngestSummary) -> Response {
    if summary.already_done {
        let detail = flash_args(&[summary.feed.as_str()]);
        return redirect_with_flash_detail(state, headers, BACK, "warn", "flash.feed_already_done", &detail);
    }
    let numbers = [summary.rows_read, summary.written, summary.duplicates, summary.quarantined].map(|n| n.to_string());
    let detail = flash_args(&[numbers[0].as_str(), numbers[1].as_str(), numbers[2].as_str(), numbers[3].as_str(), summary.feed.as_str()]);
    let kind = if summary.quarantined > 0 { "warn" } else { "ok" };
    redirect_with_flash_detail(state, headers, BACK, kind, "flash.feed_ingested", &detail)
}

/// `POST /feeds/upload`: a file into the pipeline.
pub async fn upload(State(state): State<AppState>, headers: HeaderMap, multipart: Result<Multipart, MultipartRejection>) -> Response {
    let (session, principal) = match coordinator_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let Ok(multipart) = multipart else {
        return redirect_with_flash(&state, BACK, "error", "flash.feed_upload_unreadable");
    };
    let form = match read_upload(multipart).await {
        Ok(form) => form,
        Err(UploadError::TooLarge) => return redirect_with_flash(&state, BACK, "error", "flash.feed_too_large"),
        Err(UploadError::Malformed) => return redirect_with_flash(&state, BACK, "error", "flash.feed_upload_unreadable"),
    };
    if !session_csrf_ok(&session, &form.csrf) {
        return redirect_with_flash(&state, BACK, "error", "flash.csrf");
    }
    if form.file_name.is_empty() || form.bytes.is_empty() {
        return redirect_with_flash(&state, BACK, "error", "flash.feed_no_file");
    }
    let report_type = Some(form.report_type.trim().to_string()).filter(|t| !t.is_empty());
    let feed = Some(form.feed.trim().to_string()).filter(|f| !f.is_empty());
    let mut opts = (*state.feeds).clone();
    opts.feed = feed.or(opts.feed);
    let actor = Actor::User(principal.user.id);
    let data_dir = &state.settings.data_dir;
    let mapping = Some(form.mapping.trim()).filter(|m| !m.is_empty());
    let ingested = match opts.upload_format(mapping, &form.file_name, report_type) {
        Ok(format) => {
            opts.format = format;
            feeds::ingest_bytes(&*state.store, &state.route_index, &actor, data_dir, &form.file_name, &form.bytes, &opts).await
        }
        Err(e) => Err(e),
    };
    match ingested {
        Ok(summary) => summary_flash(&state, &headers, &summary),
        Err(ServiceError::Invalid(why)) => {
            let name = clip_chars(&form.file_name, FLASH_NAME_CHARS);
            let detail = flash_args(&[name.as_str(), why.as_str()]);
            redirect_with_flash_detail(&state, &headers, BACK, "error", "flash.feed_upload_failed", &detail)
        }
        Err(ServiceError::Forbidden(_)) => error_page(&state, &headers, Some(&principal), StatusCode::FORBIDDEN, "error.forbidden"),
        Err(e) => internal_error(&state, &headers, &principal, e),
    }
}

/// `GET /feeds/quarantine/{id}`: one quarantined row, to correct and replay.
pub async fn quarantine_entry(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<Uuid>) -> Response {
    let (session, principal) = match staff_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let entry = match state.store.feeds().get_quarantined(id).await {
        Ok(Some(entry)) => entry,
        Ok(None) => return error_page(&state, &headers, Some(&principal), StatusCode::NOT_FOUND, "error.not_found"),
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let zone = &state.settings.time_zone;
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.feed_entry", true);
    let view = QuarantineEntryPage {
        id: entry.id.to_string(),
        file: original_name(&entry.source).to_string(),
        source: entry.source,
        feed: entry.feed,
        line: entry.line,
        reason: entry.reason,
        raw: entry.raw,
        created: display(entry.created_at, zone),
        replayed: entry.replayed_at.is_some(),
        replayed_at: entry.replayed_at.map(|t| display(t, zone)).unwrap_or_default(),
        can_replay: policy::may_coordinate(&principal.policy_caller()),
        page,
    };
    render_page(StatusCode::OK, &view, None)
}

#[derive(Deserialize)]
pub struct ReplayForm {
    #[serde(default)]
    corrected: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /feeds/quarantine/{id}/replay`: the row again, as corrected or as it was.
pub async fn replay(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<Uuid>, UiForm(form): UiForm<ReplayForm>) -> Response {
    let (session, principal) = match coordinator_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let entry = match state.store.feeds().get_quarantined(id).await {
        Ok(Some(entry)) => entry,
        Ok(None) => return error_page(&state, &headers, Some(&principal), StatusCode::NOT_FOUND, "error.not_found"),
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    if !session_csrf_ok(&session, &form.csrf) {
        return redirect_with_flash(&state, &format!("/feeds/quarantine/{id}"), "error", "flash.csrf");
    }
    // Browsers send text areas with CRLF line ends; unchanged text is replayed as stored.
    let text = form.corrected.replace("\r\n", "\n");
    let corrected = if text.trim_end_matches('\n') == entry.raw.trim_end_matches('\n') { None } else { Some(text.as_str()) };
    let actor = Actor::User(principal.user.id);
    match feeds::replay(&*state.store, &state.route_index, &actor, &state.settings.data_dir, id, corrected, &state.feeds).await {
        Ok(summary) => {
            let (written, quarantined) = (summary.written.to_string(), summary.quarantined.to_string());
            let detail = flash_args(&[written.as_str(), quarantined.as_str()]);
            let (kind, key) =
                if summary.quarantined > 0 { ("warn", "flash.feed_replay_quarantined") } else { ("ok", "flash.feed_replayed") };
            redirect_with_flash_detail(&state, &headers, BACK, kind, key, &detail)
        }
        Err(ServiceError::Invalid(why)) => {
            let detail = flash_args(&[why.as_str()]);
            redirect_with_flash_detail(&state, &headers, BACK, "error", "flash.feed_replay_failed", &detail)
        }
        Err(ServiceError::Forbidden(_)) => error_page(&state, &headers, Some(&principal), StatusCode::FORBIDDEN, "error.forbidden"),
        Err(ServiceError::Store(StoreError::NotFound)) => {
            error_page(&state, &headers, Some(&principal), StatusCode::NOT_FOUND, "error.not_found")
        }
        Err(e) => internal_error(&state, &headers, &principal, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_name_of_a_kept_file() {
        assert_eq!(original_name("2019-01-01-scan_dns-test-test.csv:123:abcdef"), "2019-01-01-scan_dns-test-test.csv");
        assert_eq!(
            original_name("0192f0c2a1b27c3d8e9f00112233aabb-2019-01-01-scan_dns-test-test.csv:123:abcdef"),
            "2019-01-01-scan_dns-test-test.csv"
        );
        assert_eq!(original_name("0192f0c2a1b27c3d8e9f00112233aabb-0192f0c2a1b27c3d8e9f00112233aacc-scan_dns.csv:1:ab"), "scan_dns.csv");
        assert_eq!(original_name("events.jsonl"), "events.jsonl");
    }

    #[test]
    fn clipping_counts_characters() {
        assert_eq!(clip_chars("abc", 3), "abc");
        assert_eq!(clip_chars("情資來源", 2), "情資…");
        assert_eq!(base_name("C:\\Users\\x\\2019-01-01-scan_dns-a-b.csv"), "2019-01-01-scan_dns-a-b.csv");
    }
}
