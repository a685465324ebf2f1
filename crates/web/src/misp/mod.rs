//! The REST endpoints PyMISP uses, over the same store and policy as TAXII: events are
//! STIX reports, attributes their indicators (see `rampart_intel::misp`). Authenticate
//! with an API token in MISP's way, `Authorization: <token>`.
//!
//! Ids: an event's id is the store sequence number of its report's first version, an
//! attribute's that of its object's newest version.

use crate::auth::{self, Principal};
use crate::service::intel::{self, Submission};
use crate::service::misp_events::{event_json, latest, numeric_id, reports, MAX_RESULTS};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use rampart_core::account::TokenScope;
use rampart_core::credentials::secret_digest;
use rampart_core::policy::{self, Audience, Caller};
use rampart_core::tlp::{Pap, Tlp};
use rampart_intel::misp;
use rampart_store::Actor;
use serde_json::{json, Value};

/// The MISP version whose API these endpoints follow.
const MISP_VERSION: &str = "2.5.0";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/servers/getVersion", get(version))
        .route("/servers/getVersion.json", get(version))
        .route("/servers/getPyMISPVersion.json", get(pymisp_version))
        .route("/users/view/{id}", get(user))
        .route("/attributes/describeTypes.json", get(describe_types))
        .route("/events/add", post(add_event))
        .route("/events/view/{id}", get(view_event).post(view_event))
        .route("/events/index", get(index).post(index))
        .route("/events/restSearch", post(search_events))
        .route("/attributes/restSearch", post(search_attributes))
        .route("/tags/index", get(tags))
        .route("/feeds/misp/{file}", get(feed_file))
}

/// The caller's view as a MISP feed: `manifest.json`, `<uuid>.json`, `hashes.csv`.
async fn feed_file(State(state): State<AppState>, caller: MispCaller, Path(file): Path<String>) -> Result<Response, MispError> {
    let feed = crate::service::misp_feed::feed(&*state.store, &caller.policy()).await?;
    match file.as_str() {
        "manifest.json" => Ok(Json(Value::Object(feed.manifest)).into_response()),
        "hashes.csv" => Ok(([(header::CONTENT_TYPE, "text/csv")], feed.hashes).into_response()),
        name => match feed.events.into_iter().find(|(uuid, _)| name == format!("{uuid}.json")) {
            Some((_, event)) => Ok(Json(event).into_response()),
            None => Err(MispError(StatusCode::NOT_FOUND, "no such feed file".into())),
        },
    }
}

/// A MISP error: `{"name", "message", "url"}` with the status.
pub struct MispError(StatusCode, String);

impl IntoResponse for MispError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"name": self.1, "message": self.1, "errors": self.1}))).into_response()
    }
}

impl From<crate::service::ServiceError> for MispError {
    fn from(e: crate::service::ServiceError) -> Self {
        use crate::service::ServiceError;
        match e {
            ServiceError::Invalid(w) => MispError(StatusCode::UNPROCESSABLE_ENTITY, w),
            ServiceError::Forbidden(w) => MispError(StatusCode::FORBIDDEN, w),
            ServiceError::Store(e) => e.into(),
        }
    }
}

impl From<rampart_store::StoreError> for MispError {
    fn from(e: rampart_store::StoreError) -> Self {
        match e {
            rampart_store::StoreError::NotFound => MispError(StatusCode::NOT_FOUND, "Invalid event".into()),
            rampart_store::StoreError::Invalid(w) => MispError(StatusCode::UNPROCESSABLE_ENTITY, w),
            other => {
                tracing::error!(error = %other, "MISP request failed in the store");
                MispError(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
            }
        }
    }
}

impl From<crate::problem::ApiError> for MispError {
    fn from(e: crate::problem::ApiError) -> Self {
        let p = e.problem();
        MispError(StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), p.detail)
    }
}

type MispResult<T = Json<Value>> = Result<T, MispError>;

/// A caller by API token, as MISP sends it.
pub struct MispCaller(Principal);

impl axum::extract::FromRequestParts<AppState> for MispCaller {
    type Rejection = MispError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let denied = || {
            MispError(
                StatusCode::FORBIDDEN,
                "Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header."
                    .into(),
            )
        };
        let value = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(denied)?.trim();
        let key = value.strip_prefix("Bearer ").unwrap_or(value).trim();
        let token = state.store.find_api_token(&secret_digest(key)).await?.filter(|t| t.usable_at(Utc::now())).ok_or_else(denied)?;
        // Searches are POSTs that only read; adding needs the write scope.
        let writes = parts.method == Method::POST && parts.uri.path().ends_with("/events/add");
        if writes && !token.scopes.contains(&TokenScope::Write) {
            return Err(MispError(StatusCode::FORBIDDEN, "this token lacks the write scope".into()));
        }
        let principal = auth::load_principal(state, token.user_id).await?.ok_or_else(denied)?;
        Ok(MispCaller(principal))
    }
}

impl MispCaller {
    fn policy(&self) -> Caller {
        self.0.policy_caller()
    }
}

async fn version(_caller: MispCaller) -> Json<Value> {
    Json(
        json!({"version": MISP_VERSION, "perm_sync": false, "perm_sighting": true, "perm_galaxy_editor": false, "request_encoding": [], "filter_sightings": true}),
    )
}

async fn pymisp_version(_caller: MispCaller) -> Json<Value> {
    Json(json!({"version": MISP_VERSION}))
}

async fn describe_types(_caller: MispCaller) -> Json<Value> {
    Json(misp::describe_types())
}

async fn user(caller: MispCaller, Path(id): Path<String>) -> MispResult {
    let p = &caller.0;
    if id.trim_end_matches(".json") != "me" {
        return Err(MispError(StatusCode::NOT_FOUND, "Invalid user".into()));
    }
    let who = caller.policy();
    let writer = policy::may_submit_intel(&who);
    let curator = policy::may_curate_intel(&who);
    Ok(Json(json!({
        "User": {"id": numeric_id(p.user.id), "email": p.user.email, "org_id": numeric_id(p.org.id), "role_id": if curator { "2" } else if writer { "3" } else { "6" }, "disabled": false},
        "Role": {"id": if curator { "2" } else if writer { "3" } else { "6" }, "name": if curator { "Org Admin" } else if writer { "User" } else { "Read Only" },
                 "perm_add": writer, "perm_modify": writer, "perm_modify_org": writer, "perm_publish": curator, "perm_sync": false, "perm_admin": false,
                 "perm_site_admin": false, "perm_tagger": writer, "perm_sighting": writer, "perm_auth": true},
        "Organisation": {"id": numeric_id(p.org.id), "name": p.org.name, "uuid": p.org.id.to_string()},
        "UserSetting": {},
    })))
}

/// MISP's distribution levels as audiences (`0` organisation only, `4` a sharing group).
fn audience_of(event: &Value, caller: &Caller) -> Result<Audience, MispError> {
    let event = event.get("Event").unwrap_or(event);
    let level =
        event.get("distribution").map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).unwrap_or_else(|| "1".into());
    Ok(match level.as_str() {
        "0" => Audience::OwnOrg,
        "1" | "2" | "3" => Audience::Community,
        "4" => {
            let group = event.get("sharing_group_id").and_then(|v| v.as_str()).and_then(|s| uuid::Uuid::parse_str(s).ok());
            match group {
                Some(g) if caller.sharing_groups.contains(&g) || policy::may_curate_intel(caller) => Audience::SharingGroup(g),
                _ => {
                    return Err(MispError(StatusCode::FORBIDDEN, "sharing_group_id names no sharing group of yours (use its uuid)".into()))
                }
            }
        }
        other => return Err(MispError(StatusCode::UNPROCESSABLE_ENTITY, format!("distribution {other:?} is not 0 to 4"))),
    })
}

async fn add_event(State(state): State<AppState>, caller: MispCaller, body: axum::body::Bytes) -> MispResult {
    let doc: Value = serde_json::from_slice(&body).map_err(|e| MispError(StatusCode::BAD_REQUEST, format!("not JSON: {e}")))?;
    let who = caller.policy();
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let objects = misp::event_to_stix(&doc, &now, &mut crate::service::misp_events::stix_uuid)
        .map_err(|e| MispError(StatusCode::UNPROCESSABLE_ENTITY, e.0))?;
    let report_id = objects[0]["id"].as_str().unwrap_or_default().to_string();
    let audience = audience_of(&doc, &who)?;
    let default_tlp = if matches!(audience, Audience::SharingGroup(_)) { Tlp::Amber } else { Tlp::Green };
    let what = Submission { audience, default_tlp, pap: Pap::Clear, source: "misp".into() };
    let done = intel::submit(&*state.store, &who, &Actor::User(caller.0.user.id), what, objects).await?;
    if let Some((_, _, why)) = done.refused.first() {
        return Err(MispError(StatusCode::UNPROCESSABLE_ENTITY, format!("the event was not stored whole: {why}")));
    }
    let report =
        latest(&*state.store, &who, &report_id, true).await?.ok_or_else(|| MispError(StatusCode::NOT_FOUND, "Invalid event".into()))?;
    Ok(Json(json!({"Event": event_json(&*state.store, &who, &report).await?})))
}

async fn view_event(State(state): State<AppState>, caller: MispCaller, Path(id): Path<String>) -> MispResult {
    let who = caller.policy();
    let id = id.trim_end_matches(".json");
    let stix_id = match id.parse::<i64>() {
        Ok(seq) => match state.store.intel().get_intel(seq).await? {
            Some(o) if o.stix_type == "report" => o.stix_id,
            _ => return Err(MispError(StatusCode::NOT_FOUND, "Invalid event".into())),
        },
        Err(_) => format!("report--{}", id.to_ascii_lowercase()),
    };
    let report =
        latest(&*state.store, &who, &stix_id, true).await?.ok_or_else(|| MispError(StatusCode::NOT_FOUND, "Invalid event".into()))?;
    Ok(Json(json!({"Event": event_json(&*state.store, &who, &report).await?})))
}

async fn index(State(state): State<AppState>, caller: MispCaller) -> MispResult {
    let who = caller.policy();
    let mut out = Vec::new();
    for r in reports(&*state.store, &who).await? {
        let mut event = event_json(&*state.store, &who, &r).await?;
        if let Some(map) = event.as_object_mut() {
            map.remove("Attribute");
        }
        out.push(event);
    }
    Ok(Json(Value::Array(out)))
}

/// The search filters this server understands.
#[derive(Debug, Default)]
struct Filters {
    values: Vec<String>,
    types: Vec<String>,
    event_ids: Vec<String>,
    uuids: Vec<String>,
    tags: Vec<String>,
    limit: usize,
}

fn filters(body: &Value) -> Filters {
    let list = |k: &str| -> Vec<String> {
        match body.get(k) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Number(n)) => vec![n.to_string()],
            Some(Value::Array(a)) => {
                a.iter().filter_map(|v| v.as_str().map(str::to_string).or_else(|| v.as_i64().map(|n| n.to_string()))).collect()
            }
            _ => Vec::new(),
        }
    };
    let limit = body
        .get("limit")
        .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
        .map_or(MAX_RESULTS, |n| (n as usize).clamp(1, MAX_RESULTS));
    Filters { values: list("value"), types: list("type"), event_ids: list("eventid"), uuids: list("uuid"), tags: list("tags"), limit }
}

fn value_and_type_match(f: &Filters, a: &Value) -> bool {
    let s = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or("");
    (f.values.is_empty() || f.values.iter().any(|v| v.eq_ignore_ascii_case(s("value"))))
        && (f.types.is_empty() || f.types.iter().any(|t| t == s("type")))
}

fn uuid_matches(f: &Filters, o: &Value) -> bool {
    f.uuids.iter().any(|u| o.get("uuid").and_then(Value::as_str).is_some_and(|x| x.eq_ignore_ascii_case(u)))
}

fn attribute_matches(f: &Filters, a: &Value) -> bool {
    value_and_type_match(f, a) && (f.uuids.is_empty() || uuid_matches(f, a))
}

fn event_matches(f: &Filters, e: &Value) -> bool {
    let attributes = e.get("Attribute").and_then(Value::as_array).cloned().unwrap_or_default();
    let id = e.get("id").and_then(Value::as_str).unwrap_or("");
    let tag_names: Vec<String> = e
        .get("Tag")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("name").and_then(Value::as_str))
        .map(str::to_ascii_lowercase)
        .collect();
    (f.event_ids.is_empty() || f.event_ids.iter().any(|i| i == id))
        && (f.tags.is_empty() || f.tags.iter().any(|t| tag_names.contains(&t.to_ascii_lowercase())))
        && (f.values.is_empty() && f.types.is_empty() || attributes.iter().any(|a| value_and_type_match(f, a)))
        && (f.uuids.is_empty() || uuid_matches(f, e) || attributes.iter().any(|a| uuid_matches(f, a)))
}

fn search_body(body: &[u8]) -> MispResult<Value> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| MispError(StatusCode::BAD_REQUEST, format!("not JSON: {e}")))
}

async fn search_events(State(state): State<AppState>, caller: MispCaller, body: axum::body::Bytes) -> MispResult {
    let f = filters(&search_body(&body)?);
    let who = caller.policy();
    let mut out = Vec::new();
    for r in reports(&*state.store, &who).await? {
        let event = event_json(&*state.store, &who, &r).await?;
        if event_matches(&f, &event) {
            out.push(json!({"Event": event}));
            if out.len() >= f.limit {
                break;
            }
        }
    }
    Ok(Json(json!({"response": out})))
}

async fn search_attributes(State(state): State<AppState>, caller: MispCaller, body: axum::body::Bytes) -> MispResult {
    let f = filters(&search_body(&body)?);
    let who = caller.policy();
    let mut out = Vec::new();
    'events: for r in reports(&*state.store, &who).await? {
        let event = event_json(&*state.store, &who, &r).await?;
        if !f.event_ids.is_empty() && !f.event_ids.iter().any(|i| event.get("id").and_then(Value::as_str) == Some(i.as_str())) {
            continue;
        }
        for a in event.get("Attribute").and_then(Value::as_array).into_iter().flatten() {
            if attribute_matches(&f, a) {
                let mut a = a.clone();
                a["Event"] = json!({"id": event["id"], "uuid": event["uuid"], "info": event["info"], "org_id": event["org_id"], "orgc_id": event["orgc_id"], "distribution": event["distribution"]});
                out.push(a);
                if out.len() >= f.limit {
                    break 'events;
                }
            }
        }
    }
    Ok(Json(json!({"response": {"Attribute": out}})))
}

async fn tags(State(state): State<AppState>, caller: MispCaller) -> MispResult {
    let who = caller.policy();
    let mut names: Vec<String> = Tlp::ALL.iter().map(|t| format!("tlp:{}", t.as_str())).collect();
    for r in reports(&*state.store, &who).await? {
        let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        names.extend(body.get("labels").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_string));
    }
    names.sort();
    names.dedup();
    let tags: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"id": (i + 1).to_string(), "name": n, "colour": "#0088cc", "exportable": true, "hide_tag": false}))
        .collect();
    Ok(Json(json!({"Tag": tags})))
}
