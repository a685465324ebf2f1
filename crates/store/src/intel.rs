//! The intelligence store: STIX objects by version with producer, TLP, PAP and
//! audience; submissions and the review queue; sharing groups and trusted publishers.
//! Implemented by both backends through [`crate::intel_sql`]. The store filters by
//! scope and query; who may see a row is the access policy's to decide, above it.

use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rampart_core::policy::Audience;
use rampart_core::tlp::{Pap, Tlp};
use serde::Serialize;
use uuid::Uuid;

rampart_core::wire_enum! {
    /// Where an object is in review.
    ReviewStatus, "review status" {
        Published => "published",
        Pending => "pending",
        Rejected => "rejected",
    }
}

/// One version of a STIX object to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntelObject {
    pub stix_id: String,
    pub stix_type: String,
    pub spec_version: String,
    pub version_key: String,
    pub version: String,
    pub tlp: Tlp,
    pub pap: Pap,
    /// The object's JSON, as received.
    pub body: String,
    /// What it points at: (from, to, kind).
    pub refs: Vec<(String, String, String)>,
}

/// A reference between objects, from one stored version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntelRef {
    /// The version that holds the reference.
    pub seq: i64,
    pub from_id: String,
    pub to_id: String,
    pub kind: String,
}

/// Objects arriving together, from one producer, for one audience.
#[derive(Debug, Clone)]
pub struct IntelSubmission {
    pub id: Uuid,
    pub producer_org: Uuid,
    pub audience: Audience,
    pub status: ReviewStatus,
    /// Provenance: `api`, `taxii`, `ui`, or the peer's collection URL.
    pub source: String,
    pub objects: Vec<NewIntelObject>,
    /// Objects refused before storing: (id, version, reason).
    pub refused: Vec<(String, String, String)>,
    /// How many objects the request carried in all.
    pub total: u64,
}

/// What storing a submission did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntelAdded {
    /// (id, version) stored now.
    pub added: Vec<(String, String)>,
    /// (id, version) that were stored before; storing them again changes nothing.
    pub present: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntelObject {
    pub seq: i64,
    pub stix_id: String,
    pub stix_type: String,
    pub spec_version: String,
    pub version_key: String,
    pub version: String,
    pub date_added: String,
    pub producer_org: Uuid,
    pub tlp: Tlp,
    pub pap: Pap,
    #[serde(skip)]
    pub audience: Audience,
    pub status: ReviewStatus,
    pub latest: bool,
    pub source: String,
    pub submission: Uuid,
    pub body: String,
}

/// Which versions of each object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionFilter {
    pub all: bool,
    pub first: bool,
    pub last: bool,
    pub at: Vec<String>,
}

/// A read of the store, in order of arrival.
#[derive(Debug, Clone, Default)]
pub struct IntelQuery {
    /// Only objects for this audience (a TAXII collection); any when `None`.
    pub audience: Option<Audience>,
    /// Only objects in this review state; any when `None`.
    pub status: Option<ReviewStatus>,
    pub ids: Vec<String>,
    pub types: Vec<String>,
    pub spec_versions: Vec<String>,
    pub versions: VersionFilter,
    /// `date_added` strictly after this key.
    pub added_after: Option<String>,
    /// Rows with `seq` after this (the page cursor).
    pub after_seq: i64,
    pub limit: i64,
}

/// A submission as TAXII's status resource shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionState {
    pub id: Uuid,
    pub org_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub total: u64,
    /// (id, version, status) of the objects stored from it.
    pub objects: Vec<(String, String, ReviewStatus)>,
    /// (id, version, reason) of the objects refused on arrival.
    pub refused: Vec<(String, String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SharingGroup {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub members: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait IntelStore: Send + Sync {
    /// Stores a submission's objects (a version already stored is left as it is) and
    /// the submission itself; one audit entry.
    async fn add_intel(&self, actor: &crate::Actor, submission: &IntelSubmission) -> Result<IntelAdded>;
    async fn query_intel(&self, query: &IntelQuery) -> Result<Vec<IntelObject>>;
    async fn get_intel(&self, seq: i64) -> Result<Option<IntelObject>>;
    /// Deletes the matching versions of an object in an audience; returns how many.
    async fn delete_intel(
        &self,
        actor: &crate::Actor,
        audience: &Audience,
        stix_id: &str,
        versions: &VersionFilter,
        spec_versions: &[String],
    ) -> Result<u64>;
    /// Accepts or rejects a version waiting in review.
    async fn review_intel(&self, actor: &crate::Actor, seq: i64, accept: bool) -> Result<IntelObject>;
    async fn submission(&self, id: Uuid) -> Result<Option<SubmissionState>>;
    /// References from and to an object held by the newest published versions, at most `limit`.
    async fn intel_refs(&self, stix_id: &str, limit: i64) -> Result<Vec<IntelRef>>;

    async fn create_sharing_group(&self, actor: &crate::Actor, name: &str, description: &str, members: &[Uuid]) -> Result<SharingGroup>;
    async fn list_sharing_groups(&self) -> Result<Vec<SharingGroup>>;
    async fn get_sharing_group(&self, id: Uuid) -> Result<Option<SharingGroup>>;
    async fn set_sharing_group_member(&self, actor: &crate::Actor, group: Uuid, org: Uuid, member: bool) -> Result<SharingGroup>;
    /// The groups an organisation belongs to.
    async fn sharing_groups_of(&self, org: Uuid) -> Result<Vec<Uuid>>;

    async fn set_intel_publisher(&self, actor: &crate::Actor, org: Uuid, trusted: bool) -> Result<()>;
    async fn is_intel_publisher(&self, org: Uuid) -> Result<bool>;
}

/// An audience as two columns.
pub(crate) fn audience_columns(audience: &Audience) -> (&'static str, String) {
    match audience {
        Audience::OwnOrg => ("org", String::new()),
        Audience::Orgs(orgs) => ("orgs", orgs.iter().map(Uuid::to_string).collect::<Vec<_>>().join(",")),
        Audience::SharingGroup(g) => ("group", g.to_string()),
        Audience::Constituency => ("constituency", String::new()),
        Audience::Community => ("community", String::new()),
        Audience::Public => ("public", String::new()),
    }
}

pub(crate) fn audience_from_columns(kind: &str, reference: &str) -> Result<Audience> {
    let uuid = |s: &str| crate::common::parse_uuid(s);
    Ok(match kind {
        "org" => Audience::OwnOrg,
        "orgs" => Audience::Orgs(reference.split(',').filter(|s| !s.is_empty()).map(uuid).collect::<Result<_>>()?),
        "group" => Audience::SharingGroup(uuid(reference)?),
        "constituency" => Audience::Constituency,
        "community" => Audience::Community,
        "public" => Audience::Public,
        other => return Err(crate::StoreError::Corrupt(format!("audience {other:?}"))),
    })
}
