//! The intelligence exchange: submissions (validated, marked, reviewed), reads that
//! the access policy filters object by object, and the scopes TAXII shows as
//! collections.

use super::{ServiceError, ServiceResult};
use rampart_core::policy::{self, Action, Audience, Caller, Resource};
use rampart_core::tlp::{Pap, Tlp};
use rampart_intel::stix::markings::tlp_of;
use rampart_intel::stix::meta::ObjectMeta;
use rampart_intel::stix::StixValidator;
use rampart_store::intel::{
    IntelAdded, IntelObject, IntelQuery, IntelSubmission, NewIntelObject, ReviewStatus, SharingGroup, VersionFilter,
};
use rampart_store::{Actor, Store};
use serde_json::Value;
use uuid::Uuid;

/// The Public collection: everyone, including anonymous readers of TLP:CLEAR.
pub const PUBLIC_COLLECTION: Uuid = Uuid::from_u128(0x5b2f2c1e_5e1a_4c8e_9d3e_000000000001);
/// The Community collection: every signed-in organisation.
pub const COMMUNITY_COLLECTION: Uuid = Uuid::from_u128(0x5b2f2c1e_5e1a_4c8e_9d3e_000000000002);
/// The Constituency collection: the CERT's constituents (and its staff).
pub const CONSTITUENCY_COLLECTION: Uuid = Uuid::from_u128(0x5b2f2c1e_5e1a_4c8e_9d3e_000000000003);

/// A body of objects larger than this is refused whole.
pub const MAX_OBJECTS_PER_SUBMISSION: usize = 100_000;

/// A place objects are shared in: one TAXII collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub audience: Audience,
    /// The TLP of an object that carries no TLP marking.
    pub default_tlp: Tlp,
    pub can_write: bool,
}

/// The scopes a caller may see, in a stable order.
pub async fn scopes_for(store: &dyn Store, caller: &Caller) -> ServiceResult<Vec<Scope>> {
    let curator = policy::may_curate_intel(caller);
    let submitter = policy::may_submit_intel(caller);
    let mut scopes = vec![Scope {
        id: PUBLIC_COLLECTION,
        title: "Public".into(),
        description: "Intelligence for everyone, published by the CERT".into(),
        audience: Audience::Public,
        default_tlp: Tlp::Clear,
        can_write: curator,
    }];
    if caller.org_id.is_none() || caller.roles.is_empty() {
        return Ok(scopes);
    }
    scopes.push(Scope {
        id: COMMUNITY_COLLECTION,
        title: "Community".into(),
        description: "Intelligence shared with every member organisation".into(),
        audience: Audience::Community,
        default_tlp: Tlp::Green,
        can_write: submitter,
    });
    if caller.constituent || caller.is_staff() {
        scopes.push(Scope {
            id: CONSTITUENCY_COLLECTION,
            title: "Constituency".into(),
            description: "Intelligence for the CERT's constituents: agencies, operators, enterprises, ISAC members".into(),
            audience: Audience::Constituency,
            default_tlp: Tlp::Green,
            can_write: submitter && (curator || caller.constituent),
        });
    }
    let groups = store.intel().list_sharing_groups().await?;
    for g in groups.into_iter().filter(|g| caller.is_staff() || caller.sharing_groups.contains(&g.id)) {
        scopes.push(group_scope(&g, caller));
    }
    Ok(scopes)
}

fn group_scope(g: &SharingGroup, caller: &Caller) -> Scope {
    Scope {
        id: g.id,
        title: g.name.clone(),
        description: g.description.clone(),
        audience: Audience::SharingGroup(g.id),
        default_tlp: Tlp::Amber,
        can_write: policy::may_submit_to_group(caller, g.id),
    }
}

/// One scope by id, if the caller may see it.
pub async fn scope_for(store: &dyn Store, caller: &Caller, id: Uuid) -> ServiceResult<Option<Scope>> {
    Ok(scopes_for(store, caller).await?.into_iter().find(|s| s.id == id))
}

/// The scope that holds an audience (organisation-only and named-recipient objects
/// have none: they are read through the API only).
pub fn audience_scope_id(audience: &Audience) -> Option<Uuid> {
    match audience {
        Audience::Public => Some(PUBLIC_COLLECTION),
        Audience::Community => Some(COMMUNITY_COLLECTION),
        Audience::Constituency => Some(CONSTITUENCY_COLLECTION),
        Audience::SharingGroup(g) => Some(*g),
        Audience::OwnOrg | Audience::Orgs(_) => None,
    }
}

/// An audience by the name configuration and the CLI give it: `community`,
/// `constituency`, `cert` (the CERT's own staff) or `group:<sharing group name>`.
pub async fn audience_named(store: &dyn Store, name: &str, operator: Uuid) -> ServiceResult<Audience> {
    Ok(match name {
        "community" => Audience::Community,
        "constituency" => Audience::Constituency,
        "cert" => Audience::Orgs(vec![operator]),
        other => {
            let group = other.strip_prefix("group:").ok_or_else(|| {
                ServiceError::Invalid(format!("{other:?}: share with community, constituency, cert or group:<sharing group name>"))
            })?;
            let groups = store.intel().list_sharing_groups().await?;
            let found = groups
                .iter()
                .find(|g| g.name == group)
                .ok_or_else(|| ServiceError::Invalid(format!("no sharing group named {group:?}")))?;
            Audience::SharingGroup(found.id)
        }
    })
}

/// Every newest published version, of one STIX type or of all, in order of arrival and a
/// page at a time, handed to `each` with its JSON (a row whose JSON does not parse is
/// skipped). Who may read each one is `each`'s to ask.
pub async fn for_each_latest(store: &dyn Store, stix_type: Option<&str>, mut each: impl FnMut(IntelObject, Value)) -> ServiceResult<()> {
    let mut query = IntelQuery {
        status: Some(ReviewStatus::Published),
        types: stix_type.map(|t| vec![t.to_string()]).unwrap_or_default(),
        versions: VersionFilter { last: true, ..Default::default() },
        limit: 5000,
        ..Default::default()
    };
    loop {
        let rows = store.intel().query_intel(&query).await?;
        let done = rows.len() < query.limit as usize;
        for row in rows {
            query.after_seq = row.seq;
            if let Ok(body) = serde_json::from_str::<Value>(&row.body) {
                each(row, body);
            }
        }
        if done {
            return Ok(());
        }
    }
}

/// Whether the caller may read this object version.
pub fn visible(caller: &Caller, object: &IntelObject) -> bool {
    let resource = Resource { owner_org: object.producer_org, tlp: object.tlp, pap: object.pap, audience: object.audience.clone() };
    if !policy::decide(caller, Action::Read, &resource).allowed() {
        return false;
    }
    // Waiting or refused in review: the producer and the curators only.
    object.status == ReviewStatus::Published || caller.org_id == Some(object.producer_org) || policy::may_curate_intel(caller)
}

/// What a submission carries besides the objects.
#[derive(Debug, Clone)]
pub struct Submission {
    pub audience: Audience,
    /// For objects without a TLP marking.
    pub default_tlp: Tlp,
    pub pap: Pap,
    /// `api`, `taxii`, `ui`, or the peer's collection URL.
    pub source: String,
}

/// What became of a submission.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub id: Uuid,
    pub status: ReviewStatus,
    pub added: IntelAdded,
    /// (id, version, reason)
    pub refused: Vec<(String, String, String)>,
}

/// Validates and stores objects; an invalid object is refused with the reason and
/// the others are kept. Organisations not trusted to publish go to review.
pub async fn submit(store: &dyn Store, caller: &Caller, actor: &Actor, what: Submission, objects: Vec<Value>) -> ServiceResult<Submitted> {
    if !policy::may_submit_intel(caller) {
        return Err(ServiceError::Forbidden("submitting intelligence needs a signed-in user with a writing role".into()));
    }
    let allowed = match &what.audience {
        Audience::Public => policy::may_curate_intel(caller),
        Audience::SharingGroup(g) => policy::may_submit_to_group(caller, *g),
        Audience::Constituency => caller.constituent || policy::may_curate_intel(caller),
        Audience::Community | Audience::OwnOrg | Audience::Orgs(_) => true,
    };
    if !allowed {
        return Err(ServiceError::Forbidden("you may not share into this audience".into()));
    }
    let org = caller.org_id.ok_or_else(|| ServiceError::Forbidden("no organisation".into()))?;
    let trusted = policy::may_curate_intel(caller) || store.intel().is_intel_publisher(org).await?;
    let status = if trusted { ReviewStatus::Published } else { ReviewStatus::Pending };
    store_objects(store, actor, org, status, what, objects).await
}

/// Validates and stores objects for a producer, without asking who may: for callers
/// that decided that already (a submission above, a configured pull from a peer).
pub async fn store_objects(
    store: &dyn Store,
    actor: &Actor,
    producer_org: Uuid,
    status: ReviewStatus,
    what: Submission,
    objects: Vec<Value>,
) -> ServiceResult<Submitted> {
    if objects.len() > MAX_OBJECTS_PER_SUBMISSION {
        return Err(ServiceError::Invalid(format!("at most {MAX_OBJECTS_PER_SUBMISSION} objects per submission; send more in several")));
    }
    let total = objects.len() as u64;
    let validator = StixValidator::shipped();
    let mut accepted = Vec::with_capacity(objects.len());
    let mut refused = Vec::new();
    for object in objects {
        let id = object.get("id").and_then(Value::as_str).unwrap_or("").to_string();
        let version = object.get("modified").or_else(|| object.get("created")).and_then(Value::as_str).unwrap_or("").to_string();
        let checked = validator.validate(&object).map_err(|e| e.to_string()).and_then(|()| {
            if object.get("type").and_then(Value::as_str) == Some("bundle") {
                return Err("a bundle cannot be stored as an object; send its objects".to_string());
            }
            // An indicator's STIX pattern must compile, or it could never match.
            if object.get("type").and_then(Value::as_str) == Some("indicator")
                && object.get("pattern_type").and_then(Value::as_str) == Some("stix")
            {
                let pattern = object.get("pattern").and_then(Value::as_str).unwrap_or("");
                rampart_intel::pattern::Pattern::parse(pattern).map_err(|e| format!("/pattern: {e}"))?;
            }
            ObjectMeta::of(&object).map_err(|e| e.to_string())
        });
        match checked {
            Ok(meta) => accepted.push(NewIntelObject {
                refs: rampart_intel::stix::refs::references(&object),
                tlp: tlp_of(&object).unwrap_or(what.default_tlp),
                pap: what.pap,
                body: object.to_string(),
                stix_id: meta.id,
                stix_type: meta.kind,
                spec_version: meta.spec_version,
                version_key: meta.version_key,
                version: meta.version,
            }),
            Err(reason) => refused.push((id, version, reason)),
        }
    }
    let submission = IntelSubmission {
        id: rampart_core::ids::new_id(),
        producer_org,
        audience: what.audience,
        status,
        source: what.source,
        objects: accepted,
        refused: refused.clone(),
        total,
    };
    let added = store.intel().add_intel(actor, &submission).await?;
    Ok(Submitted { id: submission.id, status, added, refused })
}

/// A page of what the caller may see.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub objects: Vec<IntelObject>,
    /// Where the next page starts, if there is more.
    pub next: Option<i64>,
}

/// Reads up to `query.limit` visible objects from `query.after_seq` on. Rows the
/// policy hides are skipped, so a page may need several reads of the store.
pub async fn page(store: &dyn Store, caller: &Caller, mut query: IntelQuery) -> ServiceResult<Page> {
    let want = query.limit.clamp(1, 10_000) as usize;
    let mut out = Vec::with_capacity(want);
    loop {
        // One row more than needed tells whether a next page exists.
        query.limit = ((want - out.len()) as i64 + 1).max(100);
        let rows = store.intel().query_intel(&query).await?;
        let exhausted = rows.len() < query.limit as usize;
        for row in rows {
            query.after_seq = row.seq;
            if !visible(caller, &row) {
                continue;
            }
            if out.len() == want {
                // One more visible row exists: there is a next page, after the last kept.
                let next = out.last().map(|o: &IntelObject| o.seq);
                return Ok(Page { objects: out, next });
            }
            out.push(row);
        }
        if exhausted {
            return Ok(Page { objects: out, next: None });
        }
    }
}

/// Another object related to the one in view.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Related {
    pub id: String,
    #[serde(rename = "type")]
    pub stix_type: String,
    pub name: Option<String>,
    /// The relationship type (`indicates`, `uses`…), `sighting`, or `contains` (a report's
    /// contents).
    pub relation: String,
    /// `outgoing` when the object in view is the source.
    pub direction: String,
}

/// An object with what the caller may see around it.
#[derive(Debug, Clone)]
pub struct ObjectView {
    pub object: IntelObject,
    pub versions: usize,
    /// The sum of the visible sightings' `count` (1 when a sighting does not say).
    pub sightings: u64,
    /// How many sighting objects that sum comes from.
    pub sighting_reports: usize,
    pub related: Vec<Related>,
}

/// The newest version of an object the caller may read, with its sightings and
/// related objects (each visible to the caller), or `None`.
pub async fn object_view(store: &dyn Store, caller: &Caller, stix_id: &str) -> ServiceResult<Option<ObjectView>> {
    let versions_query = IntelQuery {
        status: Some(ReviewStatus::Published),
        ids: vec![stix_id.to_string()],
        versions: VersionFilter { all: true, ..Default::default() },
        limit: 10_000,
        ..Default::default()
    };
    let versions = page(store, caller, versions_query).await?.objects;
    let Some(object) = versions.iter().filter(|o| o.latest).max_by_key(|o| o.seq).or_else(|| versions.last()).cloned() else {
        return Ok(None);
    };
    let mut sightings = 0u64;
    let mut sighting_reports = 0usize;
    let mut related = Vec::new();
    for r in store.intel().intel_refs(stix_id, 2_000).await? {
        let Some(holder) = store.intel().get_intel(r.seq).await?.filter(|h| visible(caller, h)) else { continue };
        let body: Value = serde_json::from_str(&holder.body).unwrap_or(Value::Null);
        if r.kind == "sighting" && r.to_id == stix_id {
            sightings += body.get("count").and_then(Value::as_u64).unwrap_or(1);
            sighting_reports += 1;
            continue;
        }
        let outgoing = r.from_id == stix_id;
        let other = if outgoing { &r.to_id } else { &r.from_id };
        let other_object = if *other == holder.stix_id {
            Some(holder.clone())
        } else {
            let q = IntelQuery {
                status: Some(ReviewStatus::Published),
                ids: vec![other.clone()],
                versions: VersionFilter { last: true, ..Default::default() },
                limit: 1,
                ..Default::default()
            };
            page(store, caller, q).await?.objects.into_iter().next()
        };
        // What the caller may not read is not named, not even as a relation.
        let Some(other_object) = other_object else { continue };
        let name =
            serde_json::from_str::<Value>(&other_object.body).ok().and_then(|b| b.get("name").and_then(Value::as_str).map(str::to_string));
        related.push(Related {
            id: other.clone(),
            stix_type: other_object.stix_type.clone(),
            name,
            relation: r.kind.clone(),
            direction: if outgoing { "outgoing".into() } else { "incoming".into() },
        });
    }
    Ok(Some(ObjectView { object, versions: versions.len(), sightings, sighting_reports, related }))
}

/// Accepts a waiting submission as a curator edited it: the edited object (same id, a
/// later `modified`) is published for the same producer and audience, and the version as
/// submitted is rejected. Nothing changes unless the edited object is valid.
pub async fn accept_edited(store: &dyn Store, caller: &Caller, actor: &Actor, seq: i64, edited: Value) -> ServiceResult<Submitted> {
    if !policy::may_curate_intel(caller) {
        return Err(ServiceError::Forbidden("the review queue is for CERT staff".into()));
    }
    let pending = store.intel().get_intel(seq).await?.filter(|o| visible(caller, o)).ok_or(rampart_store::StoreError::NotFound)?;
    if pending.status != ReviewStatus::Pending {
        return Err(ServiceError::Invalid(format!("{} is {}, not waiting for review", pending.stix_id, pending.status)));
    }
    StixValidator::shipped().validate(&edited).map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let meta = ObjectMeta::of(&edited).map_err(|e| ServiceError::Invalid(e.to_string()))?;
    if meta.id != pending.stix_id {
        return Err(ServiceError::Invalid(format!("the edited object must keep the id {}", pending.stix_id)));
    }
    if meta.version_key <= pending.version_key {
        return Err(ServiceError::Invalid("give the edited object a later modified than the submitted one".into()));
    }
    let what = Submission { audience: pending.audience.clone(), default_tlp: pending.tlp, pap: pending.pap, source: "review".into() };
    let done = store_objects(store, actor, pending.producer_org, ReviewStatus::Published, what, vec![edited]).await?;
    if let Some((_, _, why)) = done.refused.first() {
        return Err(ServiceError::Invalid(why.clone()));
    }
    store.intel().review_intel(actor, seq, false).await?;
    Ok(done)
}
