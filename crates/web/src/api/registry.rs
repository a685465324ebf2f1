//! The constituency registry: lookup, contacts, assets and claims, peers, imports.

use super::ApiResult;
use crate::auth::ApiCaller;
use crate::problem::{ApiError, ApiJson, ApiQuery, Problem};
use crate::service::imports::{self, ImportSummary, RoutingSummary};
use crate::service::registry::{self as svc, AssetOutcome};
use crate::service::routing::{self, RouteReport};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rampart_core::constituency::{import_csv, import_routing, import_rpsl};
use rampart_core::org::Organisation;
use rampart_core::policy;
use rampart_core::registry::{Asset, Contact, NewAsset, NewContact, NewPeer, PeerCsirt};
use rampart_store::Actor;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

fn actor(caller: &ApiCaller) -> Actor {
    Actor::User(caller.principal.user.id)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct LookupQuery {
    /// An IP address or prefix, a domain or URL or e-mail address, or an AS number (`AS3462`).
    pub q: String,
}

#[utoipa::path(get, path = "/api/v1/constituency/lookup", tag = "constituency", params(LookupQuery),
    responses((status = 200, description = "Responsible organisations, their contacts and why", body = RouteReport), (status = 422, body = Problem)))]
pub async fn lookup(State(state): State<AppState>, caller: ApiCaller, ApiQuery(query): ApiQuery<LookupQuery>) -> ApiResult<RouteReport> {
    Ok(Json(routing::lookup(&*state.store, &state.route_index, &caller.policy_caller(), &query.q).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DirectoryQuery {
    /// Part of a name, an asset (prefix, domain) or a contact address.
    #[serde(default)]
    pub q: String,
}

#[utoipa::path(get, path = "/api/v1/directory", tag = "constituency", params(DirectoryQuery),
    responses((status = 200, description = "Organisations matching the search that the caller may see", body = Vec<Organisation>)))]
pub async fn directory(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(query): ApiQuery<DirectoryQuery>,
) -> ApiResult<Vec<Organisation>> {
    Ok(Json(svc::search(&*state.store, &caller.policy_caller(), &query.q).await?))
}

#[utoipa::path(get, path = "/api/v1/organisations/{id}/contacts", tag = "constituency", params(("id" = Uuid, Path, description = "Organisation id")),
    responses((status = 200, body = Vec<Contact>), (status = 403, body = Problem)))]
pub async fn list_contacts(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<Uuid>) -> ApiResult<Vec<Contact>> {
    Ok(Json(svc::contacts(&*state.store, &caller.policy_caller(), id).await?))
}

#[utoipa::path(post, path = "/api/v1/organisations/{id}/contacts", tag = "constituency", request_body = NewContact, params(("id" = Uuid, Path, description = "Organisation id")),
    responses((status = 201, body = Contact), (status = 403, body = Problem), (status = 422, description = "Invalid contact or OpenPGP key", body = Problem)))]
pub async fn add_contact(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(new): ApiJson<NewContact>,
) -> Result<(StatusCode, Json<Contact>), ApiError> {
    let contact = svc::add_contact(&*state.store, &caller.policy_caller(), &actor(&caller), id, new).await?;
    Ok((StatusCode::CREATED, Json(contact)))
}

#[utoipa::path(put, path = "/api/v1/contacts/{id}", tag = "constituency", request_body = NewContact, params(("id" = Uuid, Path, description = "Contact id")),
    responses((status = 200, body = Contact), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update_contact(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(new): ApiJson<NewContact>,
) -> ApiResult<Contact> {
    Ok(Json(svc::update_contact(&*state.store, &caller.policy_caller(), &actor(&caller), id, new).await?))
}

#[utoipa::path(delete, path = "/api/v1/contacts/{id}", tag = "constituency", params(("id" = Uuid, Path, description = "Contact id")),
    responses((status = 204), (status = 403, body = Problem)))]
pub async fn delete_contact(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<Uuid>) -> Result<StatusCode, ApiError> {
    svc::delete_contact(&*state.store, &caller.policy_caller(), &actor(&caller), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/organisations/{id}/assets", tag = "constituency", params(("id" = Uuid, Path, description = "Organisation id")),
    responses((status = 200, body = Vec<Asset>), (status = 403, body = Problem)))]
pub async fn list_assets(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<Uuid>) -> ApiResult<Vec<Asset>> {
    Ok(Json(svc::assets(&*state.store, &caller.policy_caller(), id).await?))
}

#[utoipa::path(post, path = "/api/v1/organisations/{id}/assets", tag = "constituency", request_body = NewAsset, params(("id" = Uuid, Path, description = "Organisation id")),
    responses((status = 201, description = "Recorded (coordinators) or claimed for approval (the organisation's administrators)", body = AssetOutcome),
        (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, description = "Malformed, reserved or private range", body = Problem)))]
pub async fn add_asset(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(new): ApiJson<NewAsset>,
) -> Result<(StatusCode, Json<AssetOutcome>), ApiError> {
    let outcome = svc::add_asset(&*state.store, &state.route_index, &caller.policy_caller(), &actor(&caller), id, new).await?;
    Ok((StatusCode::CREATED, Json(outcome)))
}

#[utoipa::path(get, path = "/api/v1/assets/pending", tag = "constituency", responses((status = 200, description = "Claims waiting for approval", body = Vec<Asset>)))]
pub async fn pending_assets(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Vec<Asset>> {
    Ok(Json(svc::pending_claims(&*state.store, &caller.policy_caller()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimDecision {
    pub approve: bool,
}

#[utoipa::path(post, path = "/api/v1/assets/{id}/decision", tag = "constituency", request_body = ClaimDecision, params(("id" = Uuid, Path, description = "Asset id")),
    responses((status = 200, body = Asset), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn decide_claim(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(d): ApiJson<ClaimDecision>,
) -> ApiResult<Asset> {
    Ok(Json(svc::decide_claim(&*state.store, &state.route_index, &caller.policy_caller(), &actor(&caller), id, d.approve).await?))
}

#[utoipa::path(delete, path = "/api/v1/assets/{id}", tag = "constituency", params(("id" = Uuid, Path, description = "Asset id")),
    responses((status = 204), (status = 403, body = Problem)))]
pub async fn delete_asset(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<Uuid>) -> Result<StatusCode, ApiError> {
    svc::delete_asset(&*state.store, &state.route_index, &caller.policy_caller(), &actor(&caller), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/peers", tag = "constituency", responses((status = 200, body = Vec<PeerCsirt>)))]
pub async fn list_peers(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Vec<PeerCsirt>> {
    Ok(Json(svc::peers(&*state.store, &caller.policy_caller()).await?))
}

#[utoipa::path(post, path = "/api/v1/peers", tag = "constituency", request_body = NewPeer,
    responses((status = 200, description = "The peer, created or updated", body = PeerCsirt), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn upsert_peer(State(state): State<AppState>, caller: ApiCaller, ApiJson(new): ApiJson<NewPeer>) -> ApiResult<PeerCsirt> {
    Ok(Json(svc::upsert_peer(&*state.store, &state.route_index, &caller.policy_caller(), &actor(&caller), new).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ImportQuery {
    /// The import's name; its entries are `imported:<name>`. Re-running an import replaces them.
    pub name: String,
    /// `csv` or `rpsl` for the registry; `tsv` (`network asn cc`) or `delegated` (RIR statistics) for routing.
    pub format: String,
    /// Country to keep from RIPE data (default: Rampart's home country).
    #[serde(default)]
    pub country: Option<String>,
}

fn utf8(body: &Bytes) -> Result<&str, ApiError> {
    std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request("not_utf8", format!("the file is not UTF-8 text (byte {})", e.valid_up_to())))
}

#[utoipa::path(post, path = "/api/v1/imports/registry", tag = "constituency", params(ImportQuery), request_body(content = String, content_type = "text/plain"),
    responses((status = 200, body = ImportSummary), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn import_registry(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Bytes,
) -> ApiResult<ImportSummary> {
    if !policy::may_coordinate(&caller.policy_caller()) {
        return Err(ApiError::forbidden("only coordinators import into the registry"));
    }
    let text = utf8(&body)?;
    let country = q.country.clone().unwrap_or_else(|| state.route_index.home_country().to_string());
    let parsed = match q.format.as_str() {
        "csv" => import_csv::parse_csv(text),
        "rpsl" => import_rpsl::parse_rpsl(&[("upload", text)], &country),
        other => return Err(ApiError::validation(format!("unknown registry import format {other:?} (csv, rpsl)"))),
    };
    let summary =
        imports::import_registry(&*state.store, &state.route_index, &actor(&caller), &q.name, &parsed, &country, &|_, _| {}).await?;
    Ok(Json(summary))
}

#[utoipa::path(post, path = "/api/v1/imports/routing", tag = "constituency", params(ImportQuery), request_body(content = String, content_type = "text/plain"),
    responses((status = 200, body = RoutingSummary), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn import_routing_table(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Bytes,
) -> ApiResult<RoutingSummary> {
    if !policy::may_coordinate(&caller.policy_caller()) {
        return Err(ApiError::forbidden("only coordinators import routing data"));
    }
    let text = utf8(&body)?;
    let parsed = match q.format.as_str() {
        "tsv" => import_routing::parse_network_asn_cc(text),
        "delegated" => import_routing::parse_rir_delegated(text),
        other => return Err(ApiError::validation(format!("unknown routing import format {other:?} (tsv, delegated)"))),
    };
    Ok(Json(imports::import_routing(&*state.store, &state.route_index, &actor(&caller), &q.name, &parsed).await?))
}
