//! Who is responsible for an address, domain or AS number. The answer comes from an
//! in-memory index built from the registry; every process rebuilds its copy when the
//! registry's generation moves, and swaps it in whole, so a lookup never sees half
//! an update.

use super::{ServiceError, ServiceResult};
use chrono::Utc;
use rampart_core::constituency::resolve::{AssetRecord, ConstituencyIndex, MatchVia, RouteAnswer, RoutingRow};
use rampart_core::org::Organisation;
use rampart_core::policy::{self, Caller};
use rampart_core::registry::{AssetStatus, Contact};
use rampart_store::Store;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long a process trusts its index before asking the database whether the
/// registry changed. Changes made through this process are seen at once.
const RECHECK: Duration = Duration::from_secs(2);

struct Built {
    generation: i64,
    checked: Instant,
    index: Arc<ConstituencyIndex>,
}

pub struct RouteIndex {
    home_country: String,
    built: Mutex<Option<Built>>,
    /// One rebuild at a time; lookups meanwhile use the previous index.
    rebuilding: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for RouteIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteIndex").field("home_country", &self.home_country).finish_non_exhaustive()
    }
}

impl RouteIndex {
    pub fn new(home_country: &str) -> Self {
        Self { home_country: home_country.to_ascii_uppercase(), built: Mutex::new(None), rebuilding: tokio::sync::Mutex::new(()) }
    }

    pub fn home_country(&self) -> &str {
        &self.home_country
    }

    /// The current index, rebuilt first if the registry changed.
    pub async fn current(&self, store: &dyn Store) -> ServiceResult<Arc<ConstituencyIndex>> {
        let fresh = {
            let built = self.built.lock().expect("index lock");
            built.as_ref().filter(|b| b.checked.elapsed() < RECHECK).map(|b| b.index.clone())
        };
        if let Some(index) = fresh {
            return Ok(index);
        }
        let generation = store.registry().generation().await?;
        {
            let mut built = self.built.lock().expect("index lock");
            if let Some(b) = built.as_mut().filter(|b| b.generation == generation) {
                b.checked = Instant::now();
                return Ok(b.index.clone());
            }
        }
        self.rebuild(store, generation).await
    }

    /// Forgets the index so the next lookup rebuilds it (after a change made here).
    pub fn invalidate(&self) {
        *self.built.lock().expect("index lock") = None;
    }

    async fn rebuild(&self, store: &dyn Store, generation: i64) -> ServiceResult<Arc<ConstituencyIndex>> {
        let _one = self.rebuilding.lock().await;
        if let Some(b) = self.built.lock().expect("index lock").as_ref().filter(|b| b.generation >= generation) {
            return Ok(b.index.clone());
        }
        let index = Arc::new(self.build(store, Vec::new()).await?);
        *self.built.lock().expect("index lock") = Some(Built { generation, checked: Instant::now(), index: index.clone() });
        Ok(index)
    }
}

impl RouteIndex {
    /// An index of the registry as it is now, with `extra` routing rows on top (a feed
    /// run's own IP→ASN table); it is not kept.
    pub async fn build(&self, store: &dyn Store, extra: Vec<RoutingRow>) -> ServiceResult<ConstituencyIndex> {
        let assets = store.registry().assets_with_status(AssetStatus::Active).await?;
        let mut routing = store.registry().routing_rows().await?;
        routing.extend(extra);
        let national: HashMap<String, Uuid> =
            store.registry().peers().await?.into_iter().filter(|p| p.national).map(|p| (p.country.clone(), p.org_id)).collect();
        let records: Vec<AssetRecord> = assets.into_iter().map(AssetRecord::from).collect();
        let home = self.home_country.clone();
        tokio::task::spawn_blocking(move || ConstituencyIndex::build(&records, routing, national, &home, Utc::now()))
            .await
            .map_err(|e| ServiceError::Invalid(format!("building the routing index failed: {e}")))
    }
}

/// One responsible organisation, with its contacts and why it was chosen.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoutedOrg {
    pub organisation: Organisation,
    pub contacts: Vec<Contact>,
    /// E.g. "prefix 192.0.2.0/24 (manual)".
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RouteReport {
    pub answer: RouteAnswer,
    pub organisations: Vec<RoutedOrg>,
}

pub async fn lookup(store: &dyn Store, index: &RouteIndex, caller: &Caller, query: &str) -> ServiceResult<RouteReport> {
    if !policy::may_route(caller) {
        return Err(ServiceError::Forbidden("only CERT staff look up who is responsible".into()));
    }
    resolve(store, index, query).await
}

/// Lookup without a caller, for Rampart's own use (notifications, the CLI).
pub async fn resolve(store: &dyn Store, index: &RouteIndex, query: &str) -> ServiceResult<RouteReport> {
    let answer = index.current(store).await?.lookup(query).map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let mut organisations = Vec::new();
    for m in &answer.matches {
        let Some(organisation) = store.get_org(m.org_id).await? else { continue };
        let contacts = store.registry().contacts(m.org_id).await?;
        let via = match m.via {
            MatchVia::Prefix => "prefix",
            MatchVia::Domain => "domain",
            MatchVia::Asn => "AS number",
            MatchVia::OriginAsn => "origin AS",
            MatchVia::Country => "country's national CERT",
        };
        let source = m.source.as_ref().map(|s| format!(" ({s})")).unwrap_or_default();
        organisations.push(RoutedOrg { organisation, contacts, reason: format!("{via} {}{source}", m.matched) });
    }
    Ok(RouteReport { answer, organisations })
}
