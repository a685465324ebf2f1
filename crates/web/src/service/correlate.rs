//! Correlation across the intelligence store and incidents. Intel objects correlate
//! through an in-memory index of every value of the newest published versions (built
//! from scratch, which takes about a second per ten million values, and rebuilt when
//! older than a minute); incidents through their stored observables, value by value.
//! Every correlated object or incident is shown only if the caller may read it.

use super::intel::visible;
use super::ServiceResult;
use chrono::{DateTime, Utc};
use rampart_core::observables::{Observable, ObservableKind};
use rampart_core::policy::Caller;
use rampart_intel::correlation::{Attribute, Correlation, Kind};
use rampart_intel::pattern::{Anchor, Pattern};
use rampart_store::Store;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// A value held by more intel objects than this correlates with too much to mean anything.
pub const CAP: usize = 1_000;
/// How long a built index is used before it is built again.
pub const MAX_AGE_SECONDS: i64 = 60;

/// The values of an object: an indicator's pattern values, an observable's value.
pub fn values_of(body: &Value) -> Vec<(Kind, String)> {
    let text = |k: &str| body.get(k).and_then(Value::as_str);
    let kind_of = |object_type: &str, path: &str| match (object_type, path) {
        ("ipv4-addr" | "ipv6-addr", "value") => Some(Kind::Ip),
        ("domain-name", "value") => Some(Kind::Domain),
        ("url", "value") => Some(Kind::Url),
        ("email-addr", "value") => Some(Kind::Email),
        ("file", p) if p.starts_with("hashes.") => Some(Kind::Hash),
        _ => None,
    };
    let mut out = Vec::new();
    match text("type") {
        Some("indicator") if text("pattern_type") == Some("stix") => {
            let anchors = text("pattern").and_then(|p| Pattern::parse(p).ok()).and_then(|p| p.anchors()).unwrap_or_default();
            for a in anchors {
                match a {
                    Anchor::Equals { object_type, path, value } => out.extend(kind_of(&object_type, &path).map(|k| (k, value))),
                    Anchor::InNetwork { network, .. } => out.push((Kind::Network, network)),
                }
            }
        }
        Some("ipv4-addr" | "ipv6-addr") => {
            if let Some(v) = text("value") {
                out.push((if v.contains('/') { Kind::Network } else { Kind::Ip }, v.to_string()));
            }
        }
        Some(t @ ("domain-name" | "url" | "email-addr")) => {
            out.extend(text("value").and_then(|v| kind_of(t, "value").map(|k| (k, v.to_string()))))
        }
        Some("file") => {
            for h in body.get("hashes").and_then(Value::as_object).into_iter().flat_map(|m| m.values()) {
                out.extend(h.as_str().map(|h| (Kind::Hash, h.to_string())));
            }
        }
        _ => {}
    }
    out
}

/// The index of every intel value, with the objects it was built from.
pub struct Snapshot {
    correlation: Correlation,
    /// Holder number → (stix id, seq of the version indexed).
    holders: Vec<(String, i64)>,
    by_id: HashMap<String, u32>,
    pub built_at: DateTime<Utc>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").field("holders", &self.holders.len()).field("built_at", &self.built_at).finish()
    }
}

/// Builds the index from the store.
pub async fn build(store: &dyn Store) -> ServiceResult<Snapshot> {
    let mut holders = Vec::new();
    let mut values: Vec<(u32, Kind, String)> = Vec::new();
    super::intel::for_each_latest(store, None, |row, body| {
        let found = values_of(&body);
        if found.is_empty() {
            return;
        }
        let h = holders.len() as u32;
        holders.push((row.stix_id, row.seq));
        values.extend(found.into_iter().map(|(k, v)| (h, k, v)));
    })
    .await?;
    let (correlation, _) = Correlation::build(values.iter().map(|(h, k, v)| Attribute { holder: *h, kind: *k, value: v }), CAP);
    let by_id = holders.iter().enumerate().map(|(i, (id, _))| (id.clone(), i as u32)).collect();
    Ok(Snapshot { correlation, holders, by_id, built_at: Utc::now() })
}

/// The built index, shared; rebuilt when older than [`MAX_AGE_SECONDS`].
#[derive(Debug, Default)]
pub struct SnapshotCache {
    current: tokio::sync::Mutex<Option<Arc<Snapshot>>>,
}

impl SnapshotCache {
    pub async fn get(&self, store: &dyn Store) -> ServiceResult<Arc<Snapshot>> {
        let mut current = self.current.lock().await;
        if let Some(s) = current.as_ref().filter(|s| (Utc::now() - s.built_at).num_seconds() < MAX_AGE_SECONDS) {
            return Ok(s.clone());
        }
        let fresh = Arc::new(build(store).await?);
        *current = Some(fresh.clone());
        Ok(fresh)
    }
}

/// What an object correlates with, as far as the caller may see.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Correlations {
    /// Intel objects sharing a value (the same, an address in a network, a subdomain).
    pub objects: Vec<CorrelatedObject>,
    /// Incidents whose observables include one of the object's values.
    pub incidents: Vec<CorrelatedIncident>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CorrelatedObject {
    pub id: String,
    #[serde(rename = "type")]
    pub stix_type: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CorrelatedIncident {
    pub id: uuid::Uuid,
    pub reference: String,
    pub title: String,
}

fn observable_of(kind: Kind, value: &str) -> Option<Observable> {
    let observable_kind = match kind {
        Kind::Ip if value.contains(':') => ObservableKind::Ipv6,
        Kind::Ip => ObservableKind::Ipv4,
        Kind::Domain => ObservableKind::Domain,
        Kind::Url => ObservableKind::Url,
        Kind::Email => ObservableKind::Email,
        Kind::Hash => match value.len() {
            32 => ObservableKind::Md5,
            40 => ObservableKind::Sha1,
            64 => ObservableKind::Sha256,
            _ => return None,
        },
        Kind::Network | Kind::Other => return None,
    };
    Some(Observable::new(observable_kind, value.to_ascii_lowercase()))
}

/// Correlations of one object (its newest version's values).
pub async fn correlations(
    store: &dyn Store,
    cache: &SnapshotCache,
    caller: &Caller,
    operator: uuid::Uuid,
    object_body: &Value,
    stix_id: &str,
) -> ServiceResult<Correlations> {
    let mut out = Correlations::default();
    let snapshot = cache.get(store).await?;
    if let Some(&holder) = snapshot.by_id.get(stix_id) {
        for other in snapshot.correlation.related(holder).into_iter().take(500) {
            let (_, seq) = &snapshot.holders[other as usize];
            let Some(o) = store.intel().get_intel(*seq).await?.filter(|o| visible(caller, o)) else { continue };
            let name = serde_json::from_str::<Value>(&o.body).ok().and_then(|b| b.get("name").and_then(Value::as_str).map(str::to_string));
            out.objects.push(CorrelatedObject { id: o.stix_id, stix_type: o.stix_type, name });
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (kind, value) in values_of(object_body) {
        let Some(observable) = observable_of(kind, &value) else { continue };
        for id in store.incidents().incidents_with_observable(&observable, 200).await? {
            if !seen.insert(id) {
                continue;
            }
            if let Some(i) = super::incidents::readable_incident(store, caller, operator, id).await? {
                out.incidents.push(CorrelatedIncident { id: i.id, reference: i.reference, title: i.title });
            }
        }
    }
    Ok(out)
}
