//! The intelligence exchange over REST: submissions and reads (filtered by the access
//! policy), the review queue, sharing groups and trusted publishers. TAXII serves the
//! same store at `/taxii2/`.

use super::ApiResult;
use crate::auth::ApiCaller;
use crate::problem::{ApiError, ApiJson, ApiQuery, Problem};
use crate::service::intel::{self, Submission};
use crate::service::intel_match;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rampart_core::policy::{self, Audience};
use rampart_core::tlp::{Pap, Tlp};
use rampart_store::intel::{IntelObject, IntelQuery, ReviewStatus, SharingGroup, VersionFilter};
use rampart_store::Actor;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

fn actor(caller: &ApiCaller) -> Actor {
    Actor::User(caller.principal.user.id)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewSharingGroup {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Member organisations (members of the ISAC, peers abroad).
    #[serde(default)]
    pub members: Vec<Uuid>,
}

#[utoipa::path(get, path = "/api/v1/sharing-groups", tag = "intel",
    responses((status = 200, description = "Every group for staff; one's own groups for others", body = Vec<SharingGroup>)))]
pub async fn list_sharing_groups(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Vec<SharingGroup>> {
    let who = caller.policy_caller();
    let groups = state.store.intel().list_sharing_groups().await?;
    Ok(Json(groups.into_iter().filter(|g| who.is_staff() || who.sharing_groups.contains(&g.id)).collect()))
}

#[utoipa::path(post, path = "/api/v1/sharing-groups", tag = "intel", request_body = NewSharingGroup,
    responses((status = 201, body = SharingGroup), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_sharing_group(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(new): ApiJson<NewSharingGroup>,
) -> Result<(StatusCode, Json<SharingGroup>), ApiError> {
    if !policy::may_curate_intel(&caller.policy_caller()) {
        return Err(ApiError::forbidden("sharing groups are kept by CERT staff"));
    }
    let group = state.store.intel().create_sharing_group(&actor(&caller), &new.name, &new.description, &new.members).await?;
    Ok((StatusCode::CREATED, Json(group)))
}

async fn set_member(state: &AppState, caller: &ApiCaller, group: Uuid, org: Uuid, member: bool) -> ApiResult<SharingGroup> {
    if !policy::may_curate_intel(&caller.policy_caller()) {
        return Err(ApiError::forbidden("sharing groups are kept by CERT staff"));
    }
    Ok(Json(state.store.intel().set_sharing_group_member(&actor(caller), group, org, member).await?))
}

#[utoipa::path(put, path = "/api/v1/sharing-groups/{id}/members/{org}", tag = "intel",
    responses((status = 200, body = SharingGroup), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn add_member(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((group, org)): Path<(Uuid, Uuid)>,
) -> ApiResult<SharingGroup> {
    set_member(&state, &caller, group, org, true).await
}

#[utoipa::path(delete, path = "/api/v1/sharing-groups/{id}/members/{org}", tag = "intel",
    responses((status = 200, body = SharingGroup), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((group, org)): Path<(Uuid, Uuid)>,
) -> ApiResult<SharingGroup> {
    set_member(&state, &caller, group, org, false).await
}

/// Who a submission is for.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// The submitting organisation only.
    Organisation,
    /// A sharing group (name it in `group`).
    Group,
    /// The CERT's constituents (not peers abroad or vendors).
    Constituency,
    /// Every member organisation.
    Community,
    /// Everyone (CERT staff only).
    Public,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct IntelSubmissionRequest {
    /// STIX 2.1 objects; a bundle's objects may be sent as they are.
    pub objects: Vec<Value>,
    pub distribution: Distribution,
    #[serde(default)]
    pub group: Option<Uuid>,
    /// TLP of objects that carry no TLP marking (default: GREEN, AMBER for a group).
    #[serde(default)]
    pub tlp: Option<Tlp>,
    /// What recipients may do with it (default: CLEAR).
    #[serde(default)]
    pub pap: Option<Pap>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Refusal {
    pub id: String,
    pub version: String,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntelSubmissionResult {
    pub submission: Uuid,
    /// `published`, or `pending` when it waits for review.
    pub status: ReviewStatus,
    pub added: usize,
    /// Versions stored before; sending them again changes nothing.
    pub present: usize,
    pub refused: Vec<Refusal>,
    /// Submitted indicators with a value on a warninglist (id, list names): flagged, and
    /// left out of matching when every value is listed.
    pub warninglisted: Vec<(String, Vec<String>)>,
}

#[utoipa::path(post, path = "/api/v1/intel/objects", tag = "intel", request_body = IntelSubmissionRequest,
    responses((status = 201, body = IntelSubmissionResult), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn submit(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(req): ApiJson<IntelSubmissionRequest>,
) -> Result<(StatusCode, Json<IntelSubmissionResult>), ApiError> {
    let audience = match (req.distribution, req.group) {
        (Distribution::Group, Some(g)) => Audience::SharingGroup(g),
        (Distribution::Group, None) => return Err(ApiError::validation("a group distribution names the group")),
        (Distribution::Organisation, _) => Audience::OwnOrg,
        (Distribution::Constituency, _) => Audience::Constituency,
        (Distribution::Community, _) => Audience::Community,
        (Distribution::Public, _) => Audience::Public,
    };
    let default_tlp = req.tlp.unwrap_or(if matches!(audience, Audience::SharingGroup(_)) { Tlp::Amber } else { Tlp::Green });
    let what = Submission { audience, default_tlp, pap: req.pap.unwrap_or(Pap::Clear), source: "api".into() };
    let warninglisted: Vec<(String, Vec<String>)> = match state.feeds.warninglists.as_deref() {
        Some(lists) => req
            .objects
            .iter()
            .filter_map(|o| {
                let names = intel_match::warninglists_of(lists, o);
                (!names.is_empty()).then(|| (o.get("id").and_then(Value::as_str).unwrap_or_default().to_string(), names))
            })
            .collect(),
        None => Vec::new(),
    };
    let done = intel::submit(&*state.store, &caller.policy_caller(), &actor(&caller), what, req.objects).await?;
    let refused = done.refused.into_iter().map(|(id, version, reason)| Refusal { id, version, reason }).collect();
    Ok((
        StatusCode::CREATED,
        Json(IntelSubmissionResult {
            submission: done.id,
            status: done.status,
            added: done.added.added.len(),
            present: done.added.present.len(),
            refused,
            warninglisted,
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct IntelListQuery {
    /// Only this STIX type.
    #[serde(default, rename = "type")]
    pub stix_type: Option<String>,
    /// Continue after this `seq` (from the last page's last item).
    #[serde(default)]
    pub after: Option<i64>,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// An object as the API lists it: where it stands and the STIX object itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntelItem {
    pub seq: i64,
    pub id: String,
    #[serde(rename = "type")]
    pub stix_type: String,
    pub version: String,
    pub date_added: String,
    pub producer_org: Uuid,
    pub tlp: Tlp,
    pub pap: Pap,
    pub status: ReviewStatus,
    /// The TAXII collection that serves it, if any.
    pub collection: Option<Uuid>,
    pub source: String,
    pub object: Value,
}

impl From<IntelObject> for IntelItem {
    fn from(o: IntelObject) -> Self {
        IntelItem {
            seq: o.seq,
            collection: intel::audience_scope_id(&o.audience),
            object: serde_json::from_str(&o.body).unwrap_or(Value::Null),
            id: o.stix_id,
            stix_type: o.stix_type,
            version: o.version,
            date_added: o.date_added,
            producer_org: o.producer_org,
            tlp: o.tlp,
            pap: o.pap,
            status: o.status,
            source: o.source,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/intel/objects", tag = "intel", params(IntelListQuery),
    responses((status = 200, description = "The newest version of each object the caller may see, oldest first", body = Vec<IntelItem>)))]
pub async fn list(State(state): State<AppState>, caller: ApiCaller, ApiQuery(q): ApiQuery<IntelListQuery>) -> ApiResult<Vec<IntelItem>> {
    let query = IntelQuery {
        status: Some(ReviewStatus::Published),
        types: q.stix_type.into_iter().collect(),
        versions: VersionFilter { last: true, ..Default::default() },
        after_seq: q.after.unwrap_or(0),
        limit: q.limit.unwrap_or(100).clamp(1, 1000),
        ..Default::default()
    };
    let page = intel::page(&*state.store, &caller.policy_caller(), query).await?;
    Ok(Json(page.objects.into_iter().map(IntelItem::from).collect()))
}

/// One object with its sightings and related objects, as far as the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntelObjectView {
    #[serde(flatten)]
    pub item: IntelItem,
    /// Versions the caller may read.
    pub versions: usize,
    /// Times sighted, summed over the sightings the caller may read.
    pub sightings: u64,
    pub sighting_reports: usize,
    pub related: Vec<intel::Related>,
    /// Intel objects and incidents sharing a value with it.
    pub correlations: crate::service::correlate::Correlations,
    /// Warninglists holding a value it looks for: it is left out of matching when all are.
    pub warninglists: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/intel/objects/{id}", tag = "intel",
    responses((status = 200, body = IntelObjectView), (status = 404, description = "No such object, or not for the caller", body = Problem)))]
pub async fn get_object(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<String>) -> ApiResult<IntelObjectView> {
    let who = caller.policy_caller();
    let view = intel::object_view(&*state.store, &who, &id).await?.ok_or_else(|| ApiError::not_found("object"))?;
    let body: Value = serde_json::from_str(&view.object.body).unwrap_or(Value::Null);
    let correlations =
        crate::service::correlate::correlations(&*state.store, &state.correlation, &who, state.operator_org_id, &body, &id).await?;
    Ok(Json(IntelObjectView {
        item: view.object.into(),
        versions: view.versions,
        sightings: view.sightings,
        sighting_reports: view.sighting_reports,
        related: view.related,
        warninglists: state.feeds.warninglists.as_deref().map(|l| intel_match::warninglists_of(l, &body)).unwrap_or_default(),
        correlations,
    }))
}

#[utoipa::path(get, path = "/api/v1/intel/review", tag = "intel",
    responses((status = 200, description = "Submissions waiting for review, oldest first", body = Vec<IntelItem>), (status = 403, body = Problem)))]
pub async fn review_queue(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Vec<IntelItem>> {
    let who = caller.policy_caller();
    if !policy::may_curate_intel(&who) {
        return Err(ApiError::forbidden("the review queue is for CERT staff"));
    }
    let query = IntelQuery {
        status: Some(ReviewStatus::Pending),
        versions: VersionFilter { all: true, ..Default::default() },
        limit: 1000,
        ..Default::default()
    };
    let page = intel::page(&*state.store, &who, query).await?;
    Ok(Json(page.objects.into_iter().map(IntelItem::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReviewDecision {
    pub accept: bool,
    /// Accept this edited version instead (same id, a later `modified`); the submitted
    /// version is then rejected.
    #[serde(default)]
    pub object: Option<Value>,
}

#[utoipa::path(post, path = "/api/v1/intel/review/{seq}", tag = "intel", request_body = ReviewDecision,
    responses((status = 200, body = IntelItem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, description = "Not waiting for review", body = Problem)))]
pub async fn review(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(seq): Path<i64>,
    ApiJson(d): ApiJson<ReviewDecision>,
) -> ApiResult<IntelItem> {
    let who = caller.policy_caller();
    if !policy::may_curate_intel(&who) {
        return Err(ApiError::forbidden("the review queue is for CERT staff"));
    }
    let found =
        state.store.intel().get_intel(seq).await?.filter(|o| intel::visible(&who, o)).ok_or_else(|| ApiError::not_found("submission"))?;
    if let (true, Some(edited)) = (d.accept, d.object) {
        intel::accept_edited(&*state.store, &who, &actor(&caller), found.seq, edited).await?;
        let mut q = IntelQuery {
            ids: vec![found.stix_id.clone()],
            versions: VersionFilter { last: true, ..Default::default() },
            limit: 1,
            ..Default::default()
        };
        q.status = Some(ReviewStatus::Published);
        let published =
            intel::page(&*state.store, &who, q).await?.objects.into_iter().next().ok_or_else(|| ApiError::not_found("submission"))?;
        return Ok(Json(published.into()));
    }
    let after = state.store.intel().review_intel(&actor(&caller), found.seq, d.accept).await?;
    Ok(Json(after.into()))
}

#[utoipa::path(put, path = "/api/v1/intel/publishers/{org}", tag = "intel",
    responses((status = 204, description = "The organisation's submissions are published without review"), (status = 403, body = Problem)))]
pub async fn trust_publisher(State(state): State<AppState>, caller: ApiCaller, Path(org): Path<Uuid>) -> Result<StatusCode, ApiError> {
    set_publisher(&state, &caller, org, true).await
}

#[utoipa::path(delete, path = "/api/v1/intel/publishers/{org}", tag = "intel",
    responses((status = 204, description = "The organisation's submissions go to review again"), (status = 403, body = Problem)))]
pub async fn distrust_publisher(State(state): State<AppState>, caller: ApiCaller, Path(org): Path<Uuid>) -> Result<StatusCode, ApiError> {
    set_publisher(&state, &caller, org, false).await
}

async fn set_publisher(state: &AppState, caller: &ApiCaller, org: Uuid, trusted: bool) -> Result<StatusCode, ApiError> {
    if !policy::may_curate_intel(&caller.policy_caller()) {
        return Err(ApiError::forbidden("trusted publishers are chosen by CERT staff"));
    }
    state.store.get_org(org).await?.ok_or_else(|| ApiError::not_found("organisation"))?;
    state.store.intel().set_intel_publisher(&actor(caller), org, trusted).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MatchRequest {
    /// `lines` (free text such as logs; the default), `intelmq`, `csv` or `stix`: one record per line.
    #[serde(default)]
    pub format: Option<String>,
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MatchHit {
    /// The line of `text`, from 1.
    pub line: usize,
    pub indicator: intel_match::IndicatorRef,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MatchResult {
    pub report: intel_match::LoadReport,
    pub hits: Vec<MatchHit>,
    /// Lines that could not be read, with the reason.
    pub unreadable: Vec<(usize, String)>,
}

#[utoipa::path(post, path = "/api/v1/intel/match", tag = "intel", request_body = MatchRequest,
    responses((status = 200, description = "Every hit against the active indicators the caller may see", body = MatchResult), (status = 422, body = Problem)))]
pub async fn match_text(State(state): State<AppState>, caller: ApiCaller, ApiJson(req): ApiJson<MatchRequest>) -> ApiResult<MatchResult> {
    let format: intel_match::InputFormat = req.format.as_deref().unwrap_or("lines").parse().map_err(ApiError::validation)?;
    let now = chrono::Utc::now();
    let lists = state.feeds.warninglists.as_deref();
    let (matcher, report) = intel_match::load(&*state.store, &caller.policy_caller(), lists, now).await?;
    let mut scratch = rampart_intel::matcher::Scratch::default();
    let mut hits = Vec::new();
    let mut unreadable = Vec::new();
    for (i, line) in req.text.lines().enumerate() {
        match intel_match::read_line(format, line, now) {
            Ok(Some(observation)) => {
                for &hit in matcher.match_observation(&observation, &mut scratch) {
                    hits.push(MatchHit { line: i + 1, indicator: matcher.item(hit).clone() });
                }
            }
            Ok(None) => {}
            Err(why) => unreadable.push((i + 1, why)),
        }
    }
    Ok(Json(MatchResult { report, hits, unreadable }))
}
