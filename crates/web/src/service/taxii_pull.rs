//! Pulling from peers' TAXII 2.1 collections: incremental (`added_after`, then `next`
//! page by page), on a schedule or on demand. Objects are stored as received (so the
//! peer's markings stay), produced by the organisation that stands for the peer, with
//! the collection's URL as provenance. Progress is saved after every page, so an
//! interrupted pull resumes after the last page it stored.

use super::intel::{self, Submission};
use super::{ServiceError, ServiceResult};
use chrono::{DateTime, Utc};
use rampart_core::policy::Audience;
use rampart_core::tlp::{Pap, Tlp};
use rampart_intel::taxii::MEDIA_TYPE;
use rampart_store::intel::ReviewStatus;
use rampart_store::{Actor, Store};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often the schedule looks at the pulls.
pub const POLL_TICK: Duration = Duration::from_secs(30);
const PAGE_LIMIT: u64 = 64 * 1024 * 1024;
const MAX_PAGES_PER_RUN: usize = 10_000;

fn default_every_minutes() -> u64 {
    60
}
fn default_share_with() -> String {
    "community".into()
}
fn default_page_size() -> u32 {
    1000
}

/// One peer collection to pull, from `[[intel.taxii_pulls]]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TaxiiPull {
    /// Its name: the pull's state is kept under it.
    pub name: String,
    /// The collection's URL, `https://peer.example/taxii2/root/collections/<id>/`.
    pub collection_url: String,
    /// The organisation (usually a `peer_csirt`) the objects are recorded as produced by.
    pub org: String,
    /// Who in Rampart reads them: `community`, `constituency`, `group:<sharing group name>`, or `cert`
    /// (the CERT's own staff).
    #[serde(default = "default_share_with")]
    pub share_with: String,
    #[serde(default = "default_every_minutes")]
    pub every_minutes: u64,
    /// An environment variable holding the `Authorization` header value (`Bearer …` or
    /// `Basic …`); the secret is never in the configuration, the state or the logs.
    #[serde(default)]
    pub auth_header_env: Option<String>,
    /// Objects per page asked for.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
}

impl TaxiiPull {
    pub fn check(&self) -> Result<(), String> {
        let name = &self.name;
        super::check_file_name("pull", name)?;
        let url = self.collection_url.to_ascii_lowercase();
        if !(url.starts_with("https://") || url.starts_with("http://")) || !url.contains("/collections/") || !url.ends_with('/') {
            return Err(format!("pull {name}: collection_url is a TAXII collection's http(s) URL ending in /collections/<id>/"));
        }
        if !(1..=10_080).contains(&self.every_minutes) {
            return Err(format!("pull {name}: every_minutes must be 1 to 10080"));
        }
        if !(1..=10_000).contains(&self.page_size) {
            return Err(format!("pull {name}: page_size must be 1 to 10000"));
        }
        if !(self.share_with == "community"
            || self.share_with == "constituency"
            || self.share_with == "cert"
            || self.share_with.strip_prefix("group:").is_some_and(|g| !g.is_empty()))
        {
            return Err(format!("pull {name}: share_with is community, constituency, cert or group:<name>"));
        }
        if self.auth_header_env.as_deref().is_some_and(|v| v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) {
            return Err(format!("pull {name}: auth_header_env must name an environment variable"));
        }
        Ok(())
    }
}

/// Where a pull stands; JSON in `<data_dir>/intel/pulls/<name>.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PullState {
    /// The collection the rest was learnt from: another one starts afresh.
    pub collection_url: String,
    /// The date_added of the last object stored, sent as `added_after` next time.
    pub added_after: Option<String>,
    pub last_checked: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Objects received over all pulls.
    pub objects_received: u64,
}

pub fn state_path(data_dir: &Path, name: &str) -> PathBuf {
    data_dir.join("intel").join("pulls").join(format!("{name}.json"))
}

pub fn load_state(data_dir: &Path, name: &str) -> PullState {
    std::fs::read(state_path(data_dir, name)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

fn save_state(data_dir: &Path, name: &str, state: &PullState) -> ServiceResult<()> {
    super::write_json_atomically(&state_path(data_dir, name), state)
}

/// What one pull did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct PullOutcome {
    pub pages: usize,
    pub received: u64,
    pub added: usize,
    pub present: usize,
    pub refused: usize,
}

struct Page {
    objects: Vec<Value>,
    more: bool,
    next: Option<String>,
    added_last: Option<String>,
}

/// One page, on a blocking thread.
fn get_page(url: &str, authorization: Option<&str>) -> Result<Page, String> {
    let agent = super::http_agent(Duration::from_secs(300), None);
    let mut call = agent.get(url).header("Accept", MEDIA_TYPE);
    if let Some(a) = authorization {
        call = call.header("Authorization", a);
    }
    let response = call.call().map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(format!("the peer answered {status}"));
    }
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let added_last = header("x-taxii-date-added-last");
    let content_type = header("content-type").unwrap_or_default();
    if !rampart_intel::taxii::is_taxii_content(Some(&content_type)) {
        return Err(format!("the peer answered {content_type:?}, not TAXII 2.1"));
    }
    let mut body = Vec::new();
    response.into_body().into_reader().take(PAGE_LIMIT + 1).read_to_end(&mut body).map_err(|e| format!("reading the page: {e}"))?;
    if body.len() as u64 > PAGE_LIMIT {
        return Err(format!("a page is larger than {} MiB", PAGE_LIMIT >> 20));
    }
    let envelope: Value = serde_json::from_slice(&body).map_err(|e| format!("the page is not JSON: {e}"))?;
    let objects = match envelope.get("objects") {
        Some(Value::Array(list)) => list.clone(),
        None => Vec::new(),
        Some(_) => return Err("the envelope's objects is not a list".into()),
    };
    let more = envelope.get("more").and_then(Value::as_bool).unwrap_or(false);
    let next = envelope.get("next").and_then(|n| n.as_str().map(str::to_string).or_else(|| n.as_u64().map(|v| v.to_string())));
    Ok(Page { objects, more, next, added_last })
}

fn query_url(base: &str, page_size: u32, added_after: Option<&str>, next: Option<&str>) -> String {
    let mut url = format!("{base}objects/?limit={page_size}");
    let encode = |s: &str| {
        s.bytes()
            .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect::<String>()
    };
    if let Some(a) = added_after {
        url.push_str(&format!("&added_after={}", encode(a)));
    }
    if let Some(n) = next {
        url.push_str(&format!("&next={}", encode(n)));
    }
    url
}

/// Pulls what is new in the collection now.
pub async fn pull_once(store: &dyn Store, data_dir: &Path, pull: &TaxiiPull, operator_org: uuid::Uuid) -> ServiceResult<PullOutcome> {
    pull.check().map_err(ServiceError::Invalid)?;
    let org = store
        .find_org_by_name(&pull.org)
        .await?
        .ok_or_else(|| ServiceError::Invalid(format!("pull {}: no organisation named {:?}", pull.name, pull.org)))?;
    let audience = intel::audience_named(store, &pull.share_with, operator_org).await.map_err(|e| match e {
        ServiceError::Invalid(why) => ServiceError::Invalid(format!("pull {}: {why}", pull.name)),
        other => other,
    })?;
    let default_tlp = if matches!(audience, Audience::Community) { Tlp::Green } else { Tlp::Amber };
    let authorization = match &pull.auth_header_env {
        Some(var) => Some(
            std::env::var(var)
                .map_err(|_| ServiceError::Invalid(format!("pull {}: the environment variable {var} is not set", pull.name)))?,
        ),
        None => None,
    };
    let mut state = load_state(data_dir, &pull.name);
    if state.collection_url != pull.collection_url {
        state = PullState { collection_url: pull.collection_url.clone(), ..PullState::default() };
    }
    state.last_checked = Some(Utc::now());
    let mut outcome = PullOutcome::default();
    let mut next: Option<String> = None;
    let result: ServiceResult<()> = async {
        loop {
            let url = query_url(&pull.collection_url, pull.page_size, state.added_after.as_deref(), next.as_deref());
            let auth = authorization.clone();
            let page = tokio::task::spawn_blocking(move || get_page(&url, auth.as_deref()))
                .await
                .map_err(|e| ServiceError::Invalid(format!("the pull stopped: {e}")))?
                .map_err(|why| ServiceError::Invalid(format!("pull {}: {why}", pull.name)))?;
            outcome.pages += 1;
            outcome.received += page.objects.len() as u64;
            state.objects_received += page.objects.len() as u64;
            if !page.objects.is_empty() {
                let what = Submission { audience: audience.clone(), default_tlp, pap: Pap::Clear, source: pull.collection_url.clone() };
                let done = intel::store_objects(store, &Actor::System, org.id, ReviewStatus::Published, what, page.objects).await?;
                outcome.added += done.added.added.len();
                outcome.present += done.added.present.len();
                outcome.refused += done.refused.len();
            }
            if let Some(last) = page.added_last {
                state.added_after = Some(last);
            }
            state.last_error = None;
            save_state(data_dir, &pull.name, &state)?;
            match page.next {
                Some(n) if page.more && outcome.pages < MAX_PAGES_PER_RUN => next = Some(n),
                _ => return Ok(()),
            }
        }
    }
    .await;
    if let Err(e) = &result {
        state.last_error = Some(e.to_string());
        let _ = save_state(data_dir, &pull.name, &state);
    }
    result.map(|()| outcome)
}

/// Pulls each collection when due, every `tick`, until the process ends.
pub async fn poll_pulls(store: crate::SharedStore, data_dir: PathBuf, pulls: Vec<TaxiiPull>, operator_org: uuid::Uuid, tick: Duration) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        for pull in &pulls {
            let state = load_state(&data_dir, &pull.name);
            let minutes = if state.last_error.is_some() { pull.every_minutes.min(5) } else { pull.every_minutes };
            let due = state.collection_url != pull.collection_url
                || state.last_checked.is_none_or(|t| t + chrono::Duration::minutes(minutes as i64) <= Utc::now());
            if !due {
                continue;
            }
            match pull_once(&*store, &data_dir, pull, operator_org).await {
                Ok(o) => {
                    tracing::info!(pull = %pull.name, pages = o.pages, received = o.received, added = o.added, refused = o.refused, "TAXII pull done")
                }
                Err(e) => tracing::warn!(pull = %pull.name, error = %e, "TAXII pull failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_and_urls_built() {
        let mut p = TaxiiPull {
            name: "peer".into(),
            collection_url: "https://peer.example/taxii2/api/collections/abc/".into(),
            org: "Peer CSIRT".into(),
            share_with: "community".into(),
            every_minutes: 60,
            auth_header_env: Some("PEER_TAXII".into()),
            page_size: 1000,
        };
        p.check().unwrap();
        p.share_with = "everyone".into();
        assert!(p.check().unwrap_err().contains("share_with"));
        p.share_with = "group:Finance ISAC".into();
        p.check().unwrap();
        p.collection_url = "https://peer.example/taxii2/".into();
        assert!(p.check().is_err());
        assert_eq!(
            query_url("https://p/c/", 100, Some("2026-11-30T01:02:03.000004Z"), Some("a b")),
            "https://p/c/objects/?limit=100&added_after=2026-11-30T01%3A02%3A03.000004Z&next=a%20b"
        );
    }
}
