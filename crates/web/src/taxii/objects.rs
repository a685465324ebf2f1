//! TAXII 2.1 endpoints (specification section 4 and 5).

use super::{check_accept, taxii_json, TaxiiCaller, TaxiiError, TaxiiResult, API_ROOT};
use crate::service::intel::{self, Scope, Submission};
use crate::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rampart_core::policy;
use rampart_core::tlp::Pap;
use rampart_intel::taxii::{self, VersionMatch, MEDIA_TYPE, STIX_MEDIA_TYPE};
use rampart_store::intel::{IntelObject, IntelQuery, ReviewStatus, VersionFilter};
use serde_json::Value;
use uuid::Uuid;

/// Objects per page when the client names no limit, and the most it may ask for.
const DEFAULT_LIMIT: i64 = 1000;
const MAX_LIMIT: i64 = 10_000;

type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

pub async fn discovery(State(state): State<AppState>, caller: TaxiiCaller, headers: HeaderMap) -> TaxiiResult {
    check_accept(&headers)?;
    let _ = caller;
    let root = format!("{}/taxii2/{API_ROOT}/", origin(&state, &headers));
    Ok(taxii_json(
        StatusCode::OK,
        &taxii::Discovery {
            title: format!("{} TAXII", state.settings.operator_name),
            description: "Threat intelligence of the national ISAC, filtered by TLP and sharing group".into(),
            default: root.clone(),
            api_roots: vec![root],
        },
    ))
}

/// Scheme from the configured public URL, host as the client addressed it.
fn origin(state: &AppState, headers: &HeaderMap) -> String {
    let public = state.settings.public_url.trim_end_matches('/');
    let scheme = public.split_once("://").map(|(s, _)| s).unwrap_or("http");
    match headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
    {
        Some(host) => format!("{scheme}://{host}"),
        None => public.to_string(),
    }
}

pub async fn api_root(State(state): State<AppState>, _caller: TaxiiCaller, headers: HeaderMap) -> TaxiiResult {
    check_accept(&headers)?;
    Ok(taxii_json(
        StatusCode::OK,
        &taxii::ApiRoot {
            title: format!("{} intelligence", state.settings.operator_name),
            description: "STIX 2.1 objects by sharing scope: Public, Community and sharing groups".into(),
            versions: vec![MEDIA_TYPE.into()],
            max_content_length: state.settings.taxii_max_content_bytes as u64,
        },
    ))
}

fn collection_resource(scope: &Scope) -> taxii::Collection {
    taxii::Collection {
        id: scope.id.to_string(),
        title: scope.title.clone(),
        description: scope.description.clone(),
        can_read: true,
        can_write: scope.can_write,
        media_types: vec![STIX_MEDIA_TYPE.into()],
    }
}

pub async fn collections(State(state): State<AppState>, caller: TaxiiCaller, headers: HeaderMap) -> TaxiiResult {
    check_accept(&headers)?;
    let scopes = intel::scopes_for(&*state.store, &caller.policy()).await?;
    Ok(taxii_json(StatusCode::OK, &taxii::Collections { collections: scopes.iter().map(collection_resource).collect() }))
}

async fn scope(state: &AppState, caller: &TaxiiCaller, id: &str) -> TaxiiResult<Scope> {
    let id = Uuid::parse_str(id).map_err(|_| TaxiiError::not_found("collection"))?;
    let found = intel::scope_for(&*state.store, &caller.policy(), id).await?;
    // A collection the caller may not see does not exist for them.
    found.ok_or_else(|| if caller.principal.is_none() { TaxiiError::unauthorized() } else { TaxiiError::not_found("collection") })
}

pub async fn collection(State(state): State<AppState>, caller: TaxiiCaller, headers: HeaderMap, Path(id): Path<String>) -> TaxiiResult {
    check_accept(&headers)?;
    let scope = scope(&state, &caller, &id).await?;
    Ok(taxii_json(StatusCode::OK, &collection_resource(&scope)))
}

/// The filters of a request's query string.
fn query_of(params: Params, scope: &Scope) -> TaxiiResult<IntelQuery> {
    let Query(params) = params.map_err(|e| TaxiiError::bad_request(e.body_text()))?;
    let get = |name: &str| {
        let values: Vec<&str> = params.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect();
        (!values.is_empty()).then(|| values.join(","))
    };
    let limit = match get("limit") {
        Some(v) => {
            v.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| TaxiiError::bad_request("limit is a positive number"))?.min(MAX_LIMIT)
        }
        None => DEFAULT_LIMIT,
    };
    let after_seq = match get("next") {
        Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| TaxiiError::bad_request("next is not one this server gave"))?,
        None => 0,
    };
    let added_after = match get("added_after") {
        Some(v) => Some(
            rampart_intel::stix::meta::version_key(&v).ok_or_else(|| TaxiiError::bad_request("added_after is an RFC 3339 timestamp"))?,
        ),
        None => None,
    };
    let versions = VersionMatch::parse(get("match[version]").as_deref()).map_err(TaxiiError::bad_request)?;
    Ok(IntelQuery {
        audience: Some(scope.audience.clone()),
        status: Some(ReviewStatus::Published),
        ids: taxii::list(get("match[id]").as_deref()),
        types: taxii::list(get("match[type]").as_deref()),
        spec_versions: taxii::list(get("match[spec_version]").as_deref()),
        versions: VersionFilter { all: versions.all, first: versions.first, last: versions.last, at: versions.at },
        added_after,
        after_seq,
        limit,
    })
}

/// The `X-TAXII-Date-Added-First/Last` headers of a page.
fn date_headers(response: &mut Response, objects: &[IntelObject]) {
    if let (Some(first), Some(last)) = (objects.first(), objects.last()) {
        for (name, value) in [("x-taxii-date-added-first", &first.date_added), ("x-taxii-date-added-last", &last.date_added)] {
            if let Ok(v) = HeaderValue::from_str(value) {
                response.headers_mut().insert(name, v);
            }
        }
    }
}

/// An envelope written from the stored JSON without parsing it again.
fn envelope(page: &intel::Page) -> Response {
    let mut text = String::with_capacity(page.objects.iter().map(|o| o.body.len() + 1).sum::<usize>() + 64);
    text.push_str(if page.next.is_some() { "{\"more\":true" } else { "{\"more\":false" });
    if let Some(next) = page.next {
        text.push_str(&format!(",\"next\":\"{next}\""));
    }
    if !page.objects.is_empty() {
        text.push_str(",\"objects\":[");
        for (i, o) in page.objects.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&o.body);
        }
        text.push(']');
    }
    text.push('}');
    let mut response = (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE))], text).into_response();
    date_headers(&mut response, &page.objects);
    response
}

pub async fn get_objects(
    State(state): State<AppState>,
    caller: TaxiiCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
    params: Params,
) -> TaxiiResult {
    let page = collection_page(&state, &caller, &headers, &id, params).await?;
    Ok(envelope(&page))
}

/// A page of a collection's objects, filtered as the query string says.
async fn collection_page(
    state: &AppState,
    caller: &TaxiiCaller,
    headers: &HeaderMap,
    collection: &str,
    params: Params,
) -> TaxiiResult<intel::Page> {
    check_accept(headers)?;
    let scope = scope(state, caller, collection).await?;
    let query = query_of(params, &scope)?;
    Ok(intel::page(&*state.store, &caller.policy(), query).await?)
}

pub async fn get_object(
    State(state): State<AppState>,
    caller: TaxiiCaller,
    headers: HeaderMap,
    Path((id, object)): Path<(String, String)>,
    params: Params,
) -> TaxiiResult {
    let query = object_query(&state, &caller, &headers, &id, params, object).await?;
    let page = intel::page(&*state.store, &caller.policy(), query.clone()).await?;
    if page.objects.is_empty() && !exists(&state, &caller, query).await? {
        return Err(TaxiiError::not_found("object"));
    }
    Ok(envelope(&page))
}

/// The query for one object of a collection.
async fn object_query(
    state: &AppState,
    caller: &TaxiiCaller,
    headers: &HeaderMap,
    collection: &str,
    params: Params,
    object: String,
) -> TaxiiResult<IntelQuery> {
    check_accept(headers)?;
    let scope = scope(state, caller, collection).await?;
    let mut query = query_of(params, &scope)?;
    query.ids = vec![object];
    Ok(query)
}

/// Whether any version of the object is visible, whatever the filters.
async fn exists(state: &AppState, caller: &TaxiiCaller, mut query: IntelQuery) -> TaxiiResult<bool> {
    query.after_seq = 0;
    query.added_after = None;
    query.spec_versions.clear();
    query.versions = VersionFilter { all: true, ..Default::default() };
    query.limit = 1;
    Ok(!intel::page(&*state.store, &caller.policy(), query).await?.objects.is_empty())
}

pub async fn versions(
    State(state): State<AppState>,
    caller: TaxiiCaller,
    headers: HeaderMap,
    Path((id, object)): Path<(String, String)>,
    params: Params,
) -> TaxiiResult {
    let mut query = object_query(&state, &caller, &headers, &id, params, object).await?;
    query.versions = VersionFilter { all: true, ..Default::default() };
    let page = intel::page(&*state.store, &caller.policy(), query).await?;
    if page.objects.is_empty() {
        return Err(TaxiiError::not_found("object"));
    }
    let mut versions: Vec<String> = page.objects.iter().map(|o| version_of(o).to_string()).collect();
    versions.sort_by_key(|v| rampart_intel::stix::meta::version_key(v).unwrap_or_default());
    let mut response = taxii_json(StatusCode::OK, &taxii::Versions { more: page.next.is_some(), versions });
    date_headers(&mut response, &page.objects);
    Ok(response)
}

/// An object's version as TAXII shows it: its own timestamp, else when it was added.
fn version_of(o: &IntelObject) -> &str {
    if o.version.is_empty() {
        &o.date_added
    } else {
        &o.version
    }
}

pub async fn manifest(
    State(state): State<AppState>,
    caller: TaxiiCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
    params: Params,
) -> TaxiiResult {
    let page = collection_page(&state, &caller, &headers, &id, params).await?;
    let records = page
        .objects
        .iter()
        .map(|o| taxii::ManifestRecord {
            id: o.stix_id.clone(),
            date_added: o.date_added.clone(),
            version: version_of(o).to_string(),
            media_type: STIX_MEDIA_TYPE.into(),
        })
        .collect();
    let mut response = taxii_json(
        StatusCode::OK,
        &taxii::Manifest { more: page.next.is_some(), next: page.next.map(|n| n.to_string()), objects: records },
    );
    date_headers(&mut response, &page.objects);
    Ok(response)
}

pub async fn add_objects(
    State(state): State<AppState>,
    caller: TaxiiCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> TaxiiResult {
    check_accept(&headers)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if !taxii::is_taxii_content(content_type) {
        return Err(TaxiiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported media type", format!("send {MEDIA_TYPE}")));
    }
    let scope = scope(&state, &caller, &id).await?;
    if !scope.can_write {
        return Err(TaxiiError::forbidden("you may read this collection but not add to it"));
    }
    let limit = state.settings.taxii_max_content_bytes;
    let too_large = || TaxiiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Too large", format!("at most {limit} bytes per request"));
    if headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
    {
        return Err(too_large());
    }
    let bytes = to_bytes(body, limit).await.map_err(|_| too_large())?;
    let envelope: Value = serde_json::from_slice(&bytes).map_err(|e| TaxiiError::bad_request(format!("the body is not JSON: {e}")))?;
    let objects = match envelope.get("objects") {
        Some(Value::Array(list)) => list.clone(),
        None => Vec::new(),
        Some(_) => return Err(TaxiiError::bad_request("objects is a list")),
    };
    let caller_policy = caller.policy();
    let what = Submission { audience: scope.audience.clone(), default_tlp: scope.default_tlp, pap: Pap::Clear, source: "taxii".into() };
    let submitted = intel::submit(&*state.store, &caller_policy, &caller.actor(), what, objects).await?;
    let status = status_resource(&state, submitted.id).await?;
    Ok(taxii_json(StatusCode::ACCEPTED, &status))
}

async fn status_resource(state: &AppState, id: Uuid) -> TaxiiResult<taxii::Status> {
    let s = state.store.intel().submission(id).await?.ok_or_else(|| TaxiiError::not_found("status"))?;
    let detail = |id: &str, version: &str, message: Option<String>| taxii::StatusDetail {
        id: id.to_string(),
        version: version.to_string(),
        message,
    };
    let mut successes = Vec::new();
    let mut pendings = Vec::new();
    let mut failures: Vec<taxii::StatusDetail> = s.refused.iter().map(|(id, v, why)| detail(id, v, Some(why.clone()))).collect();
    for (id, version, status) in &s.objects {
        match status {
            ReviewStatus::Published => successes.push(detail(id, version, None)),
            ReviewStatus::Pending => pendings.push(detail(id, version, Some("waiting for review".into()))),
            ReviewStatus::Rejected => failures.push(detail(id, version, Some("rejected in review".into()))),
        }
    }
    Ok(taxii::Status {
        id: s.id.to_string(),
        status: if pendings.is_empty() { "complete".into() } else { "pending".into() },
        request_timestamp: s.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        total_count: s.total,
        success_count: successes.len() as u64,
        failure_count: failures.len() as u64,
        pending_count: pendings.len() as u64,
        successes,
        failures,
        pendings,
    })
}

pub async fn status(State(state): State<AppState>, caller: TaxiiCaller, headers: HeaderMap, Path(id): Path<String>) -> TaxiiResult {
    check_accept(&headers)?;
    let principal = caller.principal.as_ref().ok_or_else(TaxiiError::unauthorized)?;
    let id = Uuid::parse_str(id.trim_end_matches('/')).map_err(|_| TaxiiError::not_found("status"))?;
    let s = state.store.intel().submission(id).await?.ok_or_else(|| TaxiiError::not_found("status"))?;
    // A submission's outcome is its organisation's business only: it names objects
    // that may be for no one else (TLP:RED), not even the CERT.
    if s.org_id != principal.org.id {
        return Err(TaxiiError::not_found("status"));
    }
    Ok(taxii_json(StatusCode::OK, &status_resource(&state, id).await?))
}

pub async fn delete_object(
    State(state): State<AppState>,
    caller: TaxiiCaller,
    headers: HeaderMap,
    Path((id, object)): Path<(String, String)>,
    params: Params,
) -> TaxiiResult {
    check_accept(&headers)?;
    let scope = scope(&state, &caller, &id).await?;
    let params = params.map_err(|e| TaxiiError::bad_request(e.body_text()))?;
    let all_versions = !params.0.iter().any(|(k, _)| k == "match[version]");
    let mut query = query_of(Ok(params), &scope)?;
    query.ids = vec![object.clone()];
    // Without a version filter, deleting an object deletes every version of it.
    if all_versions {
        query.versions = VersionFilter { all: true, ..Default::default() };
    }
    let policy_caller = caller.policy();
    let page = intel::page(&*state.store, &policy_caller, query.clone()).await?;
    if page.objects.is_empty() {
        return Err(TaxiiError::not_found("object"));
    }
    // Curators may delete anything they see; others only what their organisation produced.
    if !policy::may_curate_intel(&policy_caller) && page.objects.iter().any(|o| Some(o.producer_org) != policy_caller.org_id) {
        return Err(TaxiiError::forbidden("only the producing organisation and the CERT may delete an object"));
    }
    let versions = query.versions.clone();
    state.store.intel().delete_intel(&caller.actor(), &scope.audience, &object, &versions, &query.spec_versions).await?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE))]).into_response())
}
