use super::ApiResult;
use crate::auth::ApiCaller;
use crate::problem::{ApiError, ApiJson, ApiQuery, Problem};
use crate::service::accounts::{self, CreateUser};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::account::{ApiToken, Role, TokenScope, User};
use rampart_core::org::OrgType;
use rampart_core::policy;
use rampart_store::Actor;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgRef {
    pub id: Uuid,
    pub name: String,
    pub org_type: OrgType,
}

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub organisation: OrgRef,
    pub roles: Vec<Role>,
    pub locale: Option<String>,
    pub totp_enabled: bool,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
pub async fn me(caller: ApiCaller) -> ApiResult<Me> {
    let p = caller.principal;
    Ok(Json(Me {
        id: p.user.id,
        email: p.user.email,
        display_name: p.user.display_name,
        organisation: OrgRef { id: p.org.id, name: p.org.name, org_type: p.org.org_type },
        roles: p.user.roles,
        locale: p.user.locale,
        totp_enabled: p.user.totp_enabled,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserFilter {
    /// Only users of this organisation.
    pub org_id: Option<Uuid>,
}

#[utoipa::path(get, path = "/api/v1/users", tag = "accounts", params(UserFilter),
    responses((status = 200, body = Vec<User>), (status = 403, body = Problem)))]
pub async fn list_users(State(state): State<AppState>, caller: ApiCaller, ApiQuery(filter): ApiQuery<UserFilter>) -> ApiResult<Vec<User>> {
    let who = caller.policy_caller();
    let org = match filter.org_id {
        Some(org) => Some(org),
        None if policy::may_administer(&who) || who.has(Role::Auditor) => None,
        None => Some(caller.principal.org.id),
    };
    let allowed = match org {
        Some(org) => policy::may_manage_users_of(&who, org) || who.has(Role::Auditor),
        None => true,
    };
    if !allowed {
        return Err(ApiError::forbidden("you may not list users of this organisation"));
    }
    Ok(Json(state.store.list_users(org).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub email: String,
    #[serde(default)]
    pub display_name: String,
    pub org_id: Uuid,
    pub roles: Vec<Role>,
    /// At least 12 characters. Without one, the user cannot sign in until an administrator sets it.
    pub password: Option<String>,
    pub locale: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = CreateUserRequest,
    responses((status = 201, body = User), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    caller.require_scope(TokenScope::Admin)?;
    let input = CreateUser {
        email: req.email,
        display_name: req.display_name,
        org_id: req.org_id,
        roles: req.roles,
        password: req.password,
        locale: req.locale,
    };
    let user = accounts::create_user(&*state.store, Some(&caller.policy_caller()), &Actor::User(caller.principal.user.id), input).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "accounts",
    responses((status = 200, description = "The caller's tokens, without their secrets", body = Vec<ApiToken>)))]
pub async fn list_tokens(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Vec<ApiToken>> {
    Ok(Json(state.store.list_api_tokens(caller.principal.user.id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    pub name: String,
    /// `read`, `write`, `admin`.
    pub scopes: Vec<TokenScope>,
    /// Days until the token expires; none for no expiry.
    pub expires_days: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    /// The bearer secret. Shown once: only a digest is stored.
    pub token: String,
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<TokenScope>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts", request_body = CreateTokenRequest,
    responses((status = 201, body = CreatedToken), (status = 422, body = Problem)))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(req): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    // A token cannot mint a token with more scopes than it has itself.
    for scope in &req.scopes {
        caller.require_scope(*scope)?;
    }
    let user = &caller.principal.user;
    let (secret, token) =
        accounts::create_token(&*state.store, &Actor::User(user.id), user, &req.name, req.scopes, req.expires_days).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken { token: secret, id: token.id, name: token.name, scopes: token.scopes, expires_at: token.expires_at }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts", params(("id" = Uuid, Path, description = "Token id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke_token(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<Uuid>) -> Result<StatusCode, ApiError> {
    let own = state.store.list_api_tokens(caller.principal.user.id).await?.iter().any(|t| t.id == id);
    if !own && !policy::may_administer(&caller.policy_caller()) {
        return Err(ApiError::not_found("token"));
    }
    state.store.revoke_api_token(&Actor::User(caller.principal.user.id), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
