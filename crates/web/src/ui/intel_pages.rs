//! The intelligence exchange in the browser: the browser of objects, an object's page
//! (relationships, sightings, correlations), the submission form for members, the
//! review queue, sharing groups and the peers' TAXII pulls. Every object shown has been
//! through the access policy.

use super::pages::Opt;
use super::{
    error_page, internal_error, redirect_with_flash, redirect_with_flash_detail, render_page, require_complete, session_csrf_ok, PageCtx,
    UiForm,
};
use crate::auth::Principal;
use crate::service::correlate::{self, Correlations};
use crate::service::intel::{self, Related, Submission};
use crate::service::taxii_pull;
use crate::time::display;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rampart_core::policy::{self, Audience};
use rampart_core::tlp::{Pap, Tlp};
use rampart_store::intel::{IntelObject, IntelQuery, ReviewStatus, VersionFilter};
use rampart_store::{Actor, Session};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

const PAGE: i64 = 100;
/// The largest submission the form takes, in characters.
const SUBMISSION_LIMIT: usize = 900_000;

#[derive(Debug, Clone)]
pub struct ObjectRow {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub tlp: String,
    pub producer: String,
    pub added: String,
    pub status: String,
    pub seq: i64,
    /// The object's JSON, pretty (for editing in review).
    pub json: String,
}

/// `GET /intel`.
#[derive(Template)]
#[template(path = "intel.html")]
pub struct IntelPage {
    pub page: PageCtx,
    pub rows: Vec<ObjectRow>,
    pub kind: String,
    pub q: String,
    pub next: Option<i64>,
    pub can_submit: bool,
    pub can_curate: bool,
}

/// `GET /intel/objects/{id}`.
#[derive(Template)]
#[template(path = "intel_object.html")]
pub struct ObjectPage {
    pub page: PageCtx,
    pub row: ObjectRow,
    pub pap: String,
    pub source: String,
    pub versions: usize,
    pub sightings: u64,
    pub sighting_reports: usize,
    pub related: Vec<Related>,
    pub correlations: Correlations,
    /// Warninglists holding a value it looks for.
    pub warninglists: Vec<String>,
    pub json: String,
}

/// `GET /intel/submit`.
#[derive(Template)]
#[template(path = "intel_submit.html")]
pub struct SubmitPage {
    pub page: PageCtx,
    pub distributions: Vec<Opt>,
    pub tlps: Vec<Opt>,
}

/// `GET /intel/review`.
#[derive(Template)]
#[template(path = "intel_review.html")]
pub struct ReviewPage {
    pub page: PageCtx,
    pub rows: Vec<ObjectRow>,
}

#[derive(Debug, Clone)]
pub struct GroupView {
    pub id: String,
    /// The group's TAXII collection, as a path.
    pub collection: String,
    pub name: String,
    pub description: String,
    pub members: Vec<Opt>,
}

/// `GET /intel/groups`.
#[derive(Template)]
#[template(path = "intel_groups.html")]
pub struct GroupsPage {
    pub page: PageCtx,
    pub groups: Vec<GroupView>,
    pub orgs: Vec<Opt>,
    pub can_curate: bool,
}

#[derive(Debug, Clone)]
pub struct PullView {
    pub name: String,
    pub url: String,
    pub org: String,
    pub share_with: String,
    pub every_minutes: u64,
    pub last_checked: String,
    pub last_error: String,
    pub received: u64,
}

/// `GET /intel/peers`.
#[derive(Template)]
#[template(path = "intel_peers.html")]
pub struct PeersPage {
    pub page: PageCtx,
    pub pulls: Vec<PullView>,
}

async fn org_names(state: &AppState) -> HashMap<Uuid, String> {
    state.store.list_orgs().await.map(|orgs| orgs.into_iter().map(|o| (o.id, o.name)).collect()).unwrap_or_default()
}

fn row(o: &IntelObject, names: &HashMap<Uuid, String>, zone: &str) -> ObjectRow {
    let body: Value = serde_json::from_str(&o.body).unwrap_or(Value::Null);
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .or_else(|| body.get("pattern").and_then(Value::as_str))
        .or_else(|| body.get("value").and_then(Value::as_str))
        .unwrap_or("");
    let added = chrono::DateTime::parse_from_rfc3339(&o.date_added)
        .map(|t| display(t.with_timezone(&chrono::Utc), zone))
        .unwrap_or_else(|_| o.date_added.clone());
    ObjectRow {
        id: o.stix_id.clone(),
        kind: o.stix_type.clone(),
        name: name.chars().take(200).collect(),
        tlp: o.tlp.label(),
        producer: names.get(&o.producer_org).cloned().unwrap_or_else(|| o.producer_org.to_string()),
        added,
        status: o.status.to_string(),
        seq: o.seq,
        json: serde_json::to_string_pretty(&body).unwrap_or_default(),
    }
}

#[derive(Debug, Deserialize)]
pub struct BrowseQuery {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub after: Option<i64>,
}

/// `GET /intel`: the newest version of every object the user may read, filtered.
pub async fn browse(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<BrowseQuery>) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let who = principal.policy_caller();
    let needle = query.q.trim().to_lowercase();
    let kind = query.kind.trim().to_string();
    let mut q = IntelQuery {
        status: Some(ReviewStatus::Published),
        types: if kind.is_empty() { Vec::new() } else { vec![kind.clone()] },
        versions: VersionFilter { last: true, ..Default::default() },
        after_seq: query.after.unwrap_or(0),
        limit: PAGE,
        ..Default::default()
    };
    let names = org_names(&state).await;
    let zone = state.settings.time_zone.clone();
    let mut rows = Vec::new();
    let mut next = None;
    // A search reads on until a page is full or the store ends.
    for _ in 0..50 {
        let found = match intel::page(&*state.store, &who, q.clone()).await {
            Ok(p) => p,
            Err(e) => return internal_error(&state, &headers, &principal, e),
        };
        for o in &found.objects {
            if needle.is_empty() || o.body.to_lowercase().contains(&needle) {
                rows.push(row(o, &names, &zone));
            }
        }
        match found.next {
            Some(n) if rows.len() < PAGE as usize => q.after_seq = n,
            Some(n) => {
                next = Some(n);
                break;
            }
            None => break,
        }
    }
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.intel", true);
    let view = IntelPage {
        page,
        rows,
        kind,
        q: query.q,
        next,
        can_submit: policy::may_submit_intel(&who),
        can_curate: policy::may_curate_intel(&who),
    };
    render_page(StatusCode::OK, &view, None)
}

/// `GET /intel/objects/{id}`.
pub async fn object(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let who = principal.policy_caller();
    let view = match intel::object_view(&*state.store, &who, &id).await {
        Ok(Some(v)) => v,
        Ok(None) => return error_page(&state, &headers, Some(&principal), StatusCode::NOT_FOUND, "error.not_found"),
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let body: Value = serde_json::from_str(&view.object.body).unwrap_or(Value::Null);
    let correlations = match correlate::correlations(&*state.store, &state.correlation, &who, state.operator_org_id, &body, &id).await {
        Ok(c) => c,
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let names = org_names(&state).await;
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.intel_object", true);
    let o = &view.object;
    let view_page = ObjectPage {
        row: row(o, &names, &state.settings.time_zone),
        pap: format!("PAP:{}", o.pap.as_str().to_uppercase()),
        source: o.source.clone(),
        versions: view.versions,
        sightings: view.sightings,
        sighting_reports: view.sighting_reports,
        related: view.related,
        correlations,
        warninglists: state
            .feeds
            .warninglists
            .as_deref()
            .map(|l| crate::service::intel_match::warninglists_of(l, &body))
            .unwrap_or_default(),
        json: serde_json::to_string_pretty(&body).unwrap_or_default(),
        page,
    };
    render_page(StatusCode::OK, &view_page, None)
}

async fn distributions(state: &AppState, principal: &Principal) -> Vec<Opt> {
    let who = principal.policy_caller();
    let mut out = vec![
        Opt { value: "community".into(), label: "community".into() },
        Opt { value: "organisation".into(), label: "organisation".into() },
    ];
    if who.constituent || policy::may_curate_intel(&who) {
        out.push(Opt { value: "constituency".into(), label: "constituency".into() });
    }
    if policy::may_curate_intel(&who) {
        out.push(Opt { value: "public".into(), label: "public".into() });
    }
    for g in state.store.intel().list_sharing_groups().await.unwrap_or_default() {
        if policy::may_submit_to_group(&who, g.id) {
            out.push(Opt { value: format!("group:{}", g.id), label: g.name });
        }
    }
    out
}

fn tlps() -> Vec<Opt> {
    Tlp::ALL.iter().map(|t| Opt { value: t.as_str().into(), label: t.label() }).collect()
}

/// `GET /intel/submit`.
pub async fn submit_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    if !policy::may_submit_intel(&principal.policy_caller()) {
        return error_page(&state, &headers, Some(&principal), StatusCode::FORBIDDEN, "error.forbidden");
    }
    let distributions = distributions(&state, &principal).await;
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.intel_submit", true);
    render_page(StatusCode::OK, &SubmitPage { page, distributions, tlps: tlps() }, None)
}

#[derive(Debug, Deserialize)]
pub struct SubmitForm {
    pub csrf: String,
    pub stix: String,
    pub distribution: String,
    pub tlp: String,
}

fn csrf_refused(state: &AppState, headers: &HeaderMap, principal: &Principal, session: &Session, sent: &str) -> Option<Response> {
    (!session_csrf_ok(session, sent)).then(|| error_page(state, headers, Some(principal), StatusCode::FORBIDDEN, "flash.csrf"))
}

/// `POST /intel/submit`: STIX objects or a bundle, pasted.
pub async fn submit(State(state): State<AppState>, headers: HeaderMap, UiForm(form): UiForm<SubmitForm>) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    if let Some(refused) = csrf_refused(&state, &headers, &principal, &session, &form.csrf) {
        return refused;
    }
    let back = "/intel/submit";
    let refuse = |why: &str| redirect_with_flash_detail(&state, &headers, back, "error", "intel.submit_refused", why);
    if form.stix.len() > SUBMISSION_LIMIT {
        return refuse("too large: send it through TAXII or the API");
    }
    let doc: Value = match serde_json::from_str(&form.stix) {
        Ok(v) => v,
        Err(e) => return refuse(&format!("not JSON: {e}")),
    };
    let objects = match doc {
        Value::Array(list) => list,
        Value::Object(ref o) if o.get("type").and_then(Value::as_str) == Some("bundle") => {
            o.get("objects").and_then(Value::as_array).cloned().unwrap_or_default()
        }
        other => vec![other],
    };
    let audience = match form.distribution.as_str() {
        "community" => Audience::Community,
        "constituency" => Audience::Constituency,
        "organisation" => Audience::OwnOrg,
        "public" => Audience::Public,
        other => match other.strip_prefix("group:").and_then(|g| Uuid::parse_str(g).ok()) {
            Some(g) => Audience::SharingGroup(g),
            None => return refuse("unknown distribution"),
        },
    };
    let Ok(tlp) = form.tlp.parse::<Tlp>() else { return refuse("unknown TLP") };
    let what = Submission { audience, default_tlp: tlp, pap: Pap::Clear, source: "ui".into() };
    match intel::submit(&*state.store, &principal.policy_caller(), &Actor::User(principal.user.id), what, objects).await {
        Ok(done) if done.refused.is_empty() => {
            let key = if done.status == ReviewStatus::Pending { "intel.submitted_for_review" } else { "intel.submitted" };
            redirect_with_flash(&state, "/intel", "ok", key)
        }
        Ok(done) => {
            let (id, _, why) = &done.refused[0];
            refuse(&format!("{} stored, {} refused; {id}: {why}", done.added.added.len(), done.refused.len()))
        }
        Err(e) => refuse(&e.to_string()),
    }
}

async fn curator_session(state: &AppState, headers: &HeaderMap) -> Result<(Session, Principal), Response> {
    let (session, principal) = require_complete(state, headers).await?;
    if !policy::may_curate_intel(&principal.policy_caller()) {
        return Err(error_page(state, headers, Some(&principal), StatusCode::FORBIDDEN, "error.forbidden"));
    }
    Ok((session, principal))
}

/// A curator's form post with a valid CSRF token: the curator, or the page to answer.
async fn curated_post(state: &AppState, headers: &HeaderMap, csrf: &str) -> Result<Principal, Response> {
    let (session, principal) = curator_session(state, headers).await?;
    match csrf_refused(state, headers, &principal, &session, csrf) {
        Some(refused) => Err(refused),
        None => Ok(principal),
    }
}

/// `true` for the first word, `false` for the second, `None` for anything else.
fn either(action: &str, yes: &str, no: &str) -> Option<bool> {
    (action == yes).then_some(true).or((action == no).then_some(false))
}

/// `GET /intel/review`.
pub async fn review_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (session, principal) = match curator_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let q = IntelQuery {
        status: Some(ReviewStatus::Pending),
        versions: VersionFilter { all: true, ..Default::default() },
        limit: 500,
        ..Default::default()
    };
    let found = match intel::page(&*state.store, &principal.policy_caller(), q).await {
        Ok(p) => p.objects,
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let names = org_names(&state).await;
    let rows = found.iter().map(|o| row(o, &names, &state.settings.time_zone)).collect();
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.intel_review", true);
    render_page(StatusCode::OK, &ReviewPage { page, rows }, None)
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

#[derive(Debug, Deserialize)]
pub struct EditForm {
    pub csrf: String,
    pub stix: String,
}

/// `POST /intel/review/{seq}/edit`: accept the submission as edited.
pub async fn review_edit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(seq): Path<i64>,
    UiForm(form): UiForm<EditForm>,
) -> Response {
    let principal = match curated_post(&state, &headers, &form.csrf).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let edited: Value = match serde_json::from_str(&form.stix) {
        Ok(v) => v,
        Err(e) => {
            return redirect_with_flash_detail(&state, &headers, "/intel/review", "error", "intel.review_failed", &format!("not JSON: {e}"))
        }
    };
    match intel::accept_edited(&*state.store, &principal.policy_caller(), &Actor::User(principal.user.id), seq, edited).await {
        Ok(_) => redirect_with_flash(&state, "/intel/review", "ok", "intel.accepted"),
        Err(e) => redirect_with_flash_detail(&state, &headers, "/intel/review", "error", "intel.review_failed", &e.to_string()),
    }
}

/// `POST /intel/review/{seq}/{accept|reject}`.
pub async fn review(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((seq, action)): Path<(i64, String)>,
    UiForm(form): UiForm<CsrfForm>,
) -> Response {
    let principal = match curated_post(&state, &headers, &form.csrf).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let Some(accept) = either(&action, "accept", "reject") else {
        return error_page(&state, &headers, Some(&principal), StatusCode::NOT_FOUND, "error.not_found");
    };
    let visible = matches!(state.store.intel().get_intel(seq).await, Ok(Some(ref o)) if intel::visible(&principal.policy_caller(), o));
    if !visible {
        return error_page(&state, &headers, Some(&principal), StatusCode::NOT_FOUND, "error.not_found");
    }
    match state.store.intel().review_intel(&Actor::User(principal.user.id), seq, accept).await {
        Ok(_) => redirect_with_flash(&state, "/intel/review", "ok", if accept { "intel.accepted" } else { "intel.rejected" }),
        Err(e) => redirect_with_flash_detail(&state, &headers, "/intel/review", "error", "intel.review_failed", &e.to_string()),
    }
}

/// `GET /intel/groups`: staff see every group; members their own.
pub async fn groups_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let who = principal.policy_caller();
    let names = org_names(&state).await;
    let groups = match state.store.intel().list_sharing_groups().await {
        Ok(g) => g,
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let groups = groups
        .into_iter()
        .filter(|g| who.is_staff() || who.sharing_groups.contains(&g.id))
        .map(|g| GroupView {
            collection: format!("/taxii2/{}/collections/{}/", crate::taxii::API_ROOT, g.id),
            id: g.id.to_string(),
            name: g.name,
            description: g.description,
            members: g
                .members
                .iter()
                .map(|m| Opt { value: m.to_string(), label: names.get(m).cloned().unwrap_or_else(|| m.to_string()) })
                .collect(),
        })
        .collect();
    let mut orgs: Vec<Opt> = names.iter().map(|(id, name)| Opt { value: id.to_string(), label: name.clone() }).collect();
    orgs.sort_by(|a, b| a.label.cmp(&b.label));
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.intel_groups", true);
    render_page(StatusCode::OK, &GroupsPage { page, groups, orgs, can_curate: policy::may_curate_intel(&who) }, None)
}

#[derive(Debug, Deserialize)]
pub struct GroupForm {
    pub csrf: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// `POST /intel/groups`.
pub async fn create_group(State(state): State<AppState>, headers: HeaderMap, UiForm(form): UiForm<GroupForm>) -> Response {
    let principal = match curated_post(&state, &headers, &form.csrf).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    match state.store.intel().create_sharing_group(&Actor::User(principal.user.id), &form.name, &form.description, &[]).await {
        Ok(_) => redirect_with_flash(&state, "/intel/groups", "ok", "intel.group_created"),
        Err(e) => redirect_with_flash_detail(&state, &headers, "/intel/groups", "error", "intel.group_failed", &e.to_string()),
    }
}

#[derive(Debug, Deserialize)]
pub struct MemberForm {
    pub csrf: String,
    pub org: Uuid,
}

/// `POST /intel/groups/{id}/{add|remove}`.
pub async fn group_member(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, action)): Path<(Uuid, String)>,
    UiForm(form): UiForm<MemberForm>,
) -> Response {
    let principal = match curated_post(&state, &headers, &form.csrf).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let Some(member) = either(&action, "add", "remove") else {
        return error_page(&state, &headers, Some(&principal), StatusCode::NOT_FOUND, "error.not_found");
    };
    match state.store.intel().set_sharing_group_member(&Actor::User(principal.user.id), id, form.org, member).await {
        Ok(_) => redirect_with_flash(&state, "/intel/groups", "ok", "intel.group_saved"),
        Err(e) => redirect_with_flash_detail(&state, &headers, "/intel/groups", "error", "intel.group_failed", &e.to_string()),
    }
}

/// `GET /intel/peers`: the configured TAXII pulls and how they went.
pub async fn peers_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    if !principal.policy_caller().is_staff() {
        return error_page(&state, &headers, Some(&principal), StatusCode::FORBIDDEN, "error.forbidden");
    }
    let zone = &state.settings.time_zone;
    let pulls = state
        .taxii_pulls
        .iter()
        .map(|p| {
            let s = taxii_pull::load_state(&state.settings.data_dir, &p.name);
            PullView {
                name: p.name.clone(),
                url: p.collection_url.clone(),
                org: p.org.clone(),
                share_with: p.share_with.clone(),
                every_minutes: p.every_minutes,
                last_checked: s.last_checked.map(|t| display(t, zone)).unwrap_or_default(),
                last_error: s.last_error.unwrap_or_default(),
                received: s.objects_received,
            }
        })
        .collect();
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.intel_peers", true);
    render_page(StatusCode::OK, &PeersPage { page, pulls }, None)
}
