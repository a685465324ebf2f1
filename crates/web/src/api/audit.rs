use super::ApiResult;
use crate::auth::ApiCaller;
use crate::problem::{ApiError, ApiQuery, Problem};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use rampart_core::audit::AuditEntry;
use rampart_core::policy;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries after this sequence number (keyset pagination).
    #[serde(default)]
    pub after: i64,
    /// At most this many entries (1–1000, default 100).
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Vec<AuditEntry>), (status = 403, body = Problem)))]
pub async fn audit_log(State(state): State<AppState>, caller: ApiCaller, ApiQuery(q): ApiQuery<AuditQuery>) -> ApiResult<Vec<AuditEntry>> {
    if !policy::may_read_audit(&caller.policy_caller()) {
        return Err(ApiError::forbidden("the audit log is for administrators and auditors"));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("invalid_query", "limit must be between 1 and 1000"));
    }
    Ok(Json(state.store.audit_page(q.after, limit).await?))
}
