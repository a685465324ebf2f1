//! MISP events read from the intelligence store, as a caller may see them: for the
//! MISP-compatible API and for MISP feeds.

use super::intel;
use super::ServiceResult;
use rampart_core::policy::Caller;
use rampart_intel::misp;
use rampart_store::intel::{IntelObject, IntelQuery, ReviewStatus, VersionFilter};
use rampart_store::Store;
use serde_json::Value;

/// The most events one listing returns.
pub const MAX_RESULTS: usize = 10_000;

/// A new uuid STIX accepts (its identifiers allow versions 1 to 5, so Rampart's
/// time-ordered v7 ids are re-marked as random v4 ones; they stay unique).
pub fn stix_uuid() -> String {
    let mut b = *rampart_core::ids::new_id().as_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b).to_string()
}

/// MISP's ids are numbers: a number for a Rampart uuid (its last 32 bits, which are random).
pub fn numeric_id(id: uuid::Uuid) -> String {
    u32::from_be_bytes(id.as_bytes()[12..16].try_into().unwrap_or([0; 4])).to_string()
}

/// The newest version of an object the caller may read (with `any_status`, also one of
/// the caller's own waiting for review).
pub async fn latest(store: &dyn Store, caller: &Caller, stix_id: &str, any_status: bool) -> ServiceResult<Option<IntelObject>> {
    let q = IntelQuery {
        status: if any_status { None } else { Some(ReviewStatus::Published) },
        ids: vec![stix_id.to_string()],
        versions: VersionFilter { all: true, ..Default::default() },
        limit: 1000,
        ..Default::default()
    };
    let versions = intel::page(store, caller, q).await?.objects;
    Ok(versions
        .into_iter()
        .filter(|o| o.status != ReviewStatus::Rejected)
        .max_by(|a, b| a.version_key.cmp(&b.version_key).then(a.seq.cmp(&b.seq))))
}

pub async fn first_seq(store: &dyn Store, stix_id: &str) -> ServiceResult<i64> {
    let q = IntelQuery {
        ids: vec![stix_id.to_string()],
        versions: VersionFilter { all: true, ..Default::default() },
        limit: 1,
        ..Default::default()
    };
    Ok(store.intel().query_intel(&q).await?.first().map(|o| o.seq).unwrap_or(0))
}

/// An event as MISP shows it, with the attributes the caller may read.
pub async fn event_json(store: &dyn Store, caller: &Caller, report: &IntelObject) -> ServiceResult<Value> {
    let body: Value = serde_json::from_str(&report.body).unwrap_or(Value::Null);
    let refs: Vec<String> = body
        .get("object_refs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|r| *r != report.stix_id)
        .map(str::to_string)
        .collect();
    let mut attributes = Vec::new();
    for chunk in refs.chunks(500) {
        let q = IntelQuery {
            ids: chunk.to_vec(),
            versions: VersionFilter { all: true, ..Default::default() },
            limit: 10_000,
            ..Default::default()
        };
        let mut found: Vec<IntelObject> =
            intel::page(store, caller, q).await?.objects.into_iter().filter(|o| o.status != ReviewStatus::Rejected).collect();
        found.sort_by(|a, b| a.stix_id.cmp(&b.stix_id).then(b.version_key.cmp(&a.version_key)));
        found.dedup_by(|a, b| a.stix_id == b.stix_id);
        for o in found {
            attributes.push((o.seq, serde_json::from_str::<Value>(&o.body).unwrap_or(Value::Null)));
        }
    }
    // In the event's order.
    attributes
        .sort_by_key(|(_, o)| refs.iter().position(|r| o.get("id").and_then(Value::as_str) == Some(r.as_str())).unwrap_or(usize::MAX));
    let org = store.get_org(report.producer_org).await?;
    let org_name = org.map(|o| o.name).unwrap_or_default();
    let id = first_seq(store, &report.stix_id).await?;
    Ok(misp::event_from_stix(&body, id, (&numeric_id(report.producer_org), &org_name), &attributes))
}

/// Every report the caller may read, newest version, oldest first.
pub async fn reports(store: &dyn Store, caller: &Caller) -> ServiceResult<Vec<IntelObject>> {
    let mut out = Vec::new();
    let mut q = IntelQuery {
        status: Some(ReviewStatus::Published),
        types: vec!["report".into()],
        versions: VersionFilter { last: true, ..Default::default() },
        limit: 1000,
        ..Default::default()
    };
    loop {
        let page = intel::page(store, caller, q.clone()).await?;
        out.extend(page.objects);
        match page.next {
            Some(n) if out.len() < MAX_RESULTS => q.after_seq = n,
            _ => return Ok(out),
        }
    }
}
