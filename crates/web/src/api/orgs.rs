use super::ApiResult;
use crate::auth::ApiCaller;
use crate::problem::{ApiError, ApiJson, Problem};
use crate::service::orgs;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rampart_core::account::TokenScope;
use rampart_core::org::{NewOrganisation, Organisation};
use rampart_core::sectors::{self, Sector};
use rampart_store::Actor;
use uuid::Uuid;

#[utoipa::path(get, path = "/api/v1/organisations", tag = "organisations",
    responses((status = 200, description = "Organisations visible to the caller", body = Vec<Organisation>)))]
pub async fn list_orgs(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Vec<Organisation>> {
    Ok(Json(orgs::visible(&*state.store, &caller.policy_caller()).await?))
}

#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "organisations", params(("id" = Uuid, Path, description = "Organisation id")),
    responses((status = 200, body = Organisation), (status = 404, body = Problem)))]
pub async fn get_org(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<Uuid>) -> ApiResult<Organisation> {
    // Organisations outside the caller's view are reported as missing, not forbidden.
    let visible = orgs::visible(&*state.store, &caller.policy_caller()).await?;
    visible.into_iter().find(|o| o.id == id).map(Json).ok_or_else(|| ApiError::not_found("organisation"))
}

#[utoipa::path(post, path = "/api/v1/organisations", tag = "organisations", request_body = NewOrganisation,
    responses((status = 201, body = Organisation), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_org(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(new): ApiJson<NewOrganisation>,
) -> Result<(StatusCode, Json<Organisation>), ApiError> {
    caller.require_scope(TokenScope::Admin)?;
    let org = orgs::create(&*state.store, Some(&caller.policy_caller()), &Actor::User(caller.principal.user.id), new).await?;
    Ok((StatusCode::CREATED, Json(org)))
}

#[utoipa::path(get, path = "/api/v1/sectors", tag = "organisations",
    responses((status = 200, description = "Taiwan critical-infrastructure and NIS2 sectors", body = Vec<Sector>)))]
pub async fn list_sectors(_caller: ApiCaller) -> Json<&'static [Sector]> {
    Json(sectors::all())
}
