use super::incidents::{readable, writable};
use super::ApiResult;
use crate::auth::ApiCaller;
use crate::problem::{ApiError, ApiJson, Problem};
use crate::service::incidents as svc;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::incident::{CountermeasureStatus, InvestigationStatus};
use rampart_core::work::{Countermeasure, CountermeasureKind, Investigation, Task, Team};
use rampart_store::Actor;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

fn actor(caller: &ApiCaller) -> Actor {
    Actor::User(caller.principal.user.id)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRequest {
    pub title: String,
    pub assignee_id: Option<Uuid>,
    pub due_at: Option<DateTime<Utc>>,
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/tasks", tag = "work", params(("id" = Uuid, Path, description = "Incident id")), responses((status = 200, body = Vec<Task>)))]
pub async fn list_tasks(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<Uuid>) -> ApiResult<Vec<Task>> {
    readable(&state, &caller, id).await?;
    Ok(Json(state.store.work().tasks(id).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/tasks", tag = "work", request_body = TaskRequest, params(("id" = Uuid, Path, description = "Incident id")),
    responses((status = 201, body = Task), (status = 422, body = Problem)))]
pub async fn add_task(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<TaskRequest>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    writable(&state, &caller, id).await?;
    if let Some(assignee) = req.assignee_id {
        let staff = state.store.get_user(assignee).await?.is_some_and(|u| u.is_staff());
        if !staff {
            return Err(ApiError::validation("tasks are assigned to CERT staff"));
        }
    }
    Ok((StatusCode::CREATED, Json(state.store.work().add_task(&actor(&caller), id, &req.title, req.assignee_id, req.due_at).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskUpdate {
    pub done: bool,
}

#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "work", request_body = TaskUpdate, params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 200, body = Task), (status = 404, body = Problem)))]
pub async fn update_task(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<TaskUpdate>,
) -> ApiResult<Task> {
    let task = state.store.work().get_task(id).await?.ok_or_else(|| ApiError::not_found("task"))?;
    writable(&state, &caller, task.incident_id).await?;
    Ok(Json(state.store.work().set_task_done(&actor(&caller), id, req.done).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvestigationRequest {
    /// Who is coordinated with, e.g. the owner of an affected host.
    pub party: String,
    pub contact: Option<String>,
    pub org_id: Option<Uuid>,
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/investigations", tag = "work", params(("id" = Uuid, Path, description = "Incident id")), responses((status = 200, body = Vec<Investigation>)))]
pub async fn list_investigations(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<Uuid>) -> ApiResult<Vec<Investigation>> {
    readable(&state, &caller, id).await?;
    Ok(Json(state.store.work().investigations(id).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/investigations", tag = "work", request_body = InvestigationRequest, params(("id" = Uuid, Path, description = "Incident id")),
    responses((status = 201, body = Investigation), (status = 422, body = Problem)))]
pub async fn add_investigation(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<InvestigationRequest>,
) -> Result<(StatusCode, Json<Investigation>), ApiError> {
    writable(&state, &caller, id).await?;
    let inv = state.store.work().add_investigation(&actor(&caller), id, &req.party, req.contact.as_deref(), req.org_id).await?;
    Ok((StatusCode::CREATED, Json(inv)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvestigationStatusRequest {
    pub status: InvestigationStatus,
}

#[utoipa::path(post, path = "/api/v1/investigations/{id}/status", tag = "work", request_body = InvestigationStatusRequest, params(("id" = Uuid, Path, description = "Investigation id")),
    responses((status = 200, body = Investigation), (status = 422, body = Problem)))]
pub async fn investigation_status(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<InvestigationStatusRequest>,
) -> ApiResult<Investigation> {
    let inv = state.store.work().get_investigation(id).await?.ok_or_else(|| ApiError::not_found("investigation"))?;
    writable(&state, &caller, inv.incident_id).await?;
    Ok(Json(state.store.work().set_investigation_status(&actor(&caller), id, req.status).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountermeasureRequest {
    pub kind: CountermeasureKind,
    pub target: String,
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/countermeasures", tag = "work", params(("id" = Uuid, Path, description = "Incident id")), responses((status = 200, body = Vec<Countermeasure>)))]
pub async fn list_countermeasures(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Vec<Countermeasure>> {
    readable(&state, &caller, id).await?;
    Ok(Json(state.store.work().countermeasures(id).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/countermeasures", tag = "work", request_body = CountermeasureRequest, params(("id" = Uuid, Path, description = "Incident id")),
    responses((status = 201, body = Countermeasure), (status = 403, description = "PAP forbids active use", body = Problem), (status = 422, body = Problem)))]
pub async fn add_countermeasure(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<CountermeasureRequest>,
) -> Result<(StatusCode, Json<Countermeasure>), ApiError> {
    let incident = writable(&state, &caller, id).await?;
    // A block is active use of the information: the policy's PAP rule decides.
    let resource = svc::incident_resource(&incident, state.operator_org_id);
    if !svc::may(&caller.policy_caller(), rampart_core::policy::Action::ActActively, &resource) {
        return Err(ApiError::forbidden("the incident's PAP does not allow active countermeasures"));
    }
    Ok((StatusCode::CREATED, Json(state.store.work().add_countermeasure(&actor(&caller), id, req.kind, &req.target).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountermeasureStatusRequest {
    pub status: CountermeasureStatus,
}

#[utoipa::path(post, path = "/api/v1/countermeasures/{id}/status", tag = "work", request_body = CountermeasureStatusRequest, params(("id" = Uuid, Path, description = "Countermeasure id")),
    responses((status = 200, body = Countermeasure), (status = 422, body = Problem)))]
pub async fn countermeasure_status(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<CountermeasureStatusRequest>,
) -> ApiResult<Countermeasure> {
    let cm = state.store.work().get_countermeasure(id).await?.ok_or_else(|| ApiError::not_found("countermeasure"))?;
    writable(&state, &caller, cm.incident_id).await?;
    Ok(Json(state.store.work().set_countermeasure_status(&actor(&caller), id, req.status).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtherIncident {
    pub incident_id: Uuid,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/links", tag = "work", request_body = OtherIncident, params(("id" = Uuid, Path, description = "Incident id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn link(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<OtherIncident>,
) -> Result<StatusCode, ApiError> {
    writable(&state, &caller, id).await?;
    writable(&state, &caller, req.incident_id).await?;
    state.store.work().link_incidents(&actor(&caller), id, req.incident_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/merge", tag = "work", request_body = OtherIncident, params(("id" = Uuid, Path, description = "The incident to fold into the other")),
    responses((status = 204), (status = 422, body = Problem)))]
pub async fn merge(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<OtherIncident>,
) -> Result<StatusCode, ApiError> {
    writable(&state, &caller, id).await?;
    writable(&state, &caller, req.incident_id).await?;
    state.store.work().merge_incident(&actor(&caller), id, req.incident_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamRequest {
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamMemberRequest {
    pub user_id: Uuid,
}

fn require_team_manager(caller: &ApiCaller) -> Result<(), ApiError> {
    let who = caller.policy_caller();
    if who.has(rampart_core::account::Role::Admin) || who.has(rampart_core::account::Role::Coordinator) {
        Ok(())
    } else {
        Err(ApiError::forbidden("administrators and coordinators manage teams"))
    }
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "work", responses((status = 200, body = Vec<Team>)))]
pub async fn list_teams(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Vec<Team>> {
    if !caller.policy_caller().is_staff() {
        return Err(ApiError::forbidden("teams are CERT staff's"));
    }
    Ok(Json(state.store.work().teams().await?))
}

#[utoipa::path(post, path = "/api/v1/teams", tag = "work", request_body = TeamRequest, responses((status = 201, body = Team), (status = 409, body = Problem)))]
pub async fn create_team(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(req): ApiJson<TeamRequest>,
) -> Result<(StatusCode, Json<Team>), ApiError> {
    require_team_manager(&caller)?;
    Ok((StatusCode::CREATED, Json(state.store.work().create_team(&actor(&caller), &req.name).await?)))
}

#[utoipa::path(post, path = "/api/v1/teams/{id}/members", tag = "work", request_body = TeamMemberRequest, params(("id" = Uuid, Path, description = "Team id")),
    responses((status = 200, body = Team), (status = 422, body = Problem)))]
pub async fn add_team_member(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<TeamMemberRequest>,
) -> ApiResult<Team> {
    require_team_manager(&caller)?;
    if !state.store.get_user(req.user_id).await?.is_some_and(|u| u.is_staff()) {
        return Err(ApiError::validation("teams are made of CERT staff"));
    }
    Ok(Json(state.store.work().add_team_member(&actor(&caller), id, req.user_id).await?))
}
