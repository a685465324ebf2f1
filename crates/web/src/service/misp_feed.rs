//! MISP feeds: a folder (or URL) of `manifest.json`, one `<uuid>.json` per event and
//! `hashes.csv` (the MD5 of every attribute value with its event's uuid), as MISP
//! publishes and fetches them. Importing stores each event as a peer's submission
//! would be; exporting writes what a caller may read, so a feed for peers carries only
//! what is shareable with them.

use super::intel::{self, Submission};
use super::misp_events::{event_json, reports};
use super::{ServiceError, ServiceResult};
use md5::{Digest, Md5};
use rampart_core::policy::{Audience, Caller};
use rampart_core::tlp::{Pap, Tlp};
use rampart_intel::misp;
use rampart_store::intel::ReviewStatus;
use rampart_store::{Actor, Store};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::io::{Read, Write};
use std::path::Path;

/// The largest manifest or event file read.
const MAX_FILE: u64 = 256 * 1024 * 1024;

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FeedSummary {
    pub events: usize,
    pub attributes: usize,
    /// Objects stored now, and those stored before (an event imported again).
    pub added: usize,
    pub present: usize,
    /// (event uuid, why) of events that could not be used; the others went on.
    pub skipped: Vec<(String, String)>,
}

/// A MISP feed as a caller may read it.
#[derive(Debug, Default)]
pub struct Feed {
    /// (uuid, `{"Event": …}`) of every event.
    pub events: Vec<(String, Value)>,
    /// `manifest.json`: per event uuid, the event's header.
    pub manifest: Map<String, Value>,
    /// `hashes.csv`: the MD5 of each attribute value with its event's uuid.
    pub hashes: String,
    pub attributes: usize,
}

/// The feed of the events the caller may read (one piece for the HTTP feed and exports).
pub async fn feed(store: &dyn Store, caller: &Caller) -> ServiceResult<Feed> {
    const MANIFEST_FIELDS: [&str; 8] = ["info", "Orgc", "analysis", "threat_level_id", "timestamp", "date", "publish_timestamp", "Tag"];
    let mut out = Feed::default();
    for report in reports(store, caller).await? {
        let event = event_json(store, caller, &report).await?;
        let uuid = event["uuid"].as_str().unwrap_or_default().to_string();
        if uuid.is_empty() {
            continue;
        }
        for a in event["Attribute"].as_array().into_iter().flatten() {
            out.attributes += 1;
            let value = a["value"].as_str().unwrap_or_default();
            out.hashes.push_str(&format!("{:x},{uuid}\n", Md5::digest(value.as_bytes())));
        }
        let header = MANIFEST_FIELDS.iter().filter_map(|k| event.get(*k).map(|v| (k.to_string(), v.clone()))).collect();
        out.manifest.insert(uuid.clone(), Value::Object(header));
        out.events.push((uuid, json!({ "Event": event })));
    }
    Ok(out)
}

/// Writes the events the caller may read as a MISP feed in `dir`.
pub async fn export(store: &dyn Store, caller: &Caller, dir: &Path) -> ServiceResult<FeedSummary> {
    let io = |what: &Path, e: std::io::Error| ServiceError::Invalid(format!("{}: {e}", what.display()));
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let feed = feed(store, caller).await?;
    let summary = FeedSummary { events: feed.events.len(), attributes: feed.attributes, ..FeedSummary::default() };
    for (uuid, event) in &feed.events {
        let path = dir.join(format!("{uuid}.json"));
        std::fs::write(&path, serde_json::to_vec(event).unwrap_or_default()).map_err(|e| io(&path, e))?;
    }
    let path = dir.join("manifest.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&Value::Object(feed.manifest)).unwrap_or_default()).map_err(|e| io(&path, e))?;
    let path = dir.join("hashes.csv");
    std::fs::File::create(&path).and_then(|mut f| f.write_all(feed.hashes.as_bytes())).map_err(|e| io(&path, e))?;
    Ok(summary)
}

/// Where a feed is read from.
pub enum Source<'a> {
    Dir(&'a Path),
    /// The feed's base URL, with the `Authorization` header to send, if any.
    Url {
        base: &'a str,
        authorization: Option<&'a str>,
    },
}

fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1).read_to_end(&mut bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!("{} is larger than {} MiB", path.display(), MAX_FILE >> 20));
    }
    Ok(bytes)
}

fn fetch(base: &str, name: &str, authorization: Option<&str>) -> Result<Vec<u8>, String> {
    let url = format!("{}/{name}", base.trim_end_matches('/'));
    let agent = super::http_agent(std::time::Duration::from_secs(300), None);
    let mut call = agent.get(url.as_str());
    if let Some(a) = authorization {
        call = call.header("Authorization", a);
    }
    let response = call.call().map_err(|e| format!("{name}: {e}"))?;
    if response.status().as_u16() != 200 {
        return Err(format!("{name}: the server answered {}", response.status().as_u16()));
    }
    let mut bytes = Vec::new();
    response.into_body().into_reader().take(MAX_FILE + 1).read_to_end(&mut bytes).map_err(|e| format!("{name}: {e}"))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!("{name} is larger than {} MiB", MAX_FILE >> 20));
    }
    Ok(bytes)
}

async fn get(source: &Source<'_>, name: &str) -> Result<Vec<u8>, String> {
    match source {
        Source::Dir(dir) => read_file(&dir.join(name)),
        Source::Url { base, authorization } => {
            let (base, name, auth) = (base.to_string(), name.to_string(), authorization.map(str::to_string));
            tokio::task::spawn_blocking(move || fetch(&base, &name, auth.as_deref())).await.map_err(|e| e.to_string())?
        }
    }
}

/// Imports every event of a feed as produced by `producer_org`, for `audience`,
/// published (a feed is configured by the operator). An event that cannot be read is
/// skipped with the reason; the others are imported.
pub async fn import(store: &dyn Store, source: Source<'_>, producer_org: uuid::Uuid, audience: Audience) -> ServiceResult<FeedSummary> {
    let manifest: Map<String, Value> = get(&source, "manifest.json")
        .await
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| format!("manifest.json: {e}")))
        .map_err(ServiceError::Invalid)?;
    let mut summary = FeedSummary::default();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let default_tlp = if matches!(audience, Audience::Community | Audience::Public) { Tlp::Green } else { Tlp::Amber };
    for uuid in manifest.keys() {
        // The manifest names files: only uuids, never a path.
        if !misp::is_uuid(uuid) {
            summary.skipped.push((uuid.clone(), "not a uuid".into()));
            continue;
        }
        let event: Value = match get(&source, &format!("{uuid}.json"))
            .await
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| format!("{uuid}.json: {e}")))
        {
            Ok(e) => e,
            Err(why) => {
                summary.skipped.push((uuid.clone(), why));
                continue;
            }
        };
        let mut objects = match misp::event_to_stix(&event, &now, &mut super::misp_events::stix_uuid) {
            Ok(o) => o,
            Err(e) => {
                summary.skipped.push((uuid.clone(), e.0));
                continue;
            }
        };
        if objects[0]["id"].as_str() != Some(&format!("report--{}", uuid.to_ascii_lowercase())) {
            // The file's event is named by the manifest.
            objects[0]["id"] = json!(format!("report--{}", uuid.to_ascii_lowercase()));
        }
        summary.events += 1;
        summary.attributes += objects.len() - 1;
        let what = Submission { audience: audience.clone(), default_tlp, pap: Pap::Clear, source: "misp-feed".into() };
        let done = intel::store_objects(store, &Actor::System, producer_org, ReviewStatus::Published, what, objects).await?;
        summary.added += done.added.added.len();
        summary.present += done.added.present.len();
        if let Some((id, _, why)) = done.refused.first() {
            summary.skipped.push((uuid.clone(), format!("{id}: {why}")));
        }
    }
    Ok(summary)
}
