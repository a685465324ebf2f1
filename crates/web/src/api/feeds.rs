//! Feeds: upload a file into the pipeline, read the quarantine and the counts.

use super::ApiResult;
use crate::auth::ApiCaller;
use crate::problem::{ApiError, ApiQuery, Problem};
use crate::service::feeds::{self, IngestSummary};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use rampart_core::policy;
use rampart_store::feeds::{FeedCount, QuarantineEntry};
use rampart_store::Actor;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
pub struct UploadQuery {
    /// The file's name; a Shadowserver report's type is read from it
    /// (`2026-11-30-scan_dns-tw-geo.csv`), `.json`/`.jsonl` means IntelMQ JSON lines.
    pub file_name: String,
    /// The feed's name (default: the Shadowserver feed name or the file name).
    #[serde(default)]
    pub feed: Option<String>,
    /// Shadowserver report type when the name does not carry it.
    #[serde(default)]
    pub report_type: Option<String>,
    /// Read the file with this configured mapping (`[[feeds.mappings]]`); without it a
    /// mapping whose `files` patterns match the name is used.
    #[serde(default)]
    pub mapping: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/feeds/upload", tag = "feeds", params(UploadQuery), request_body(content = String, content_type = "text/csv"),
    responses((status = 200, description = "What the pipeline did with the file", body = IngestSummary), (status = 403, body = Problem),
        (status = 413, body = Problem), (status = 422, description = "Unknown report type, missing required column", body = Problem)))]
pub async fn upload(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(q): ApiQuery<UploadQuery>,
    body: Bytes,
) -> ApiResult<IngestSummary> {
    if !policy::may_coordinate(&caller.policy_caller()) {
        return Err(ApiError::forbidden("only coordinators feed files into the pipeline"));
    }
    let mut opts = (*state.feeds).clone();
    opts.feed = q.feed.clone().or(opts.feed);
    opts.format = opts.upload_format(q.mapping.as_deref(), &q.file_name, q.report_type.clone())?;
    let actor = Actor::User(caller.principal.user.id);
    let summary =
        feeds::ingest_bytes(&*state.store, &state.route_index, &actor, &state.settings.data_dir, &q.file_name, &body, &opts).await?;
    Ok(Json(summary))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct QuarantineQuery {
    #[serde(default)]
    pub feed: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/feeds/quarantine", tag = "feeds", params(QuarantineQuery),
    responses((status = 200, description = "Rows that could not be used, newest first", body = Vec<QuarantineEntry>), (status = 403, body = Problem)))]
pub async fn quarantine(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(q): ApiQuery<QuarantineQuery>,
) -> ApiResult<Vec<QuarantineEntry>> {
    if !caller.policy_caller().is_staff() {
        return Err(ApiError::forbidden("the quarantine is for CERT staff"));
    }
    Ok(Json(state.store.feeds().quarantine(q.feed.as_deref(), q.limit.unwrap_or(100).clamp(1, 10_000)).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CountsQuery {
    #[serde(default)]
    pub feed: Option<String>,
    /// First day (YYYY-MM-DD).
    #[serde(default)]
    pub since: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/feeds/counts", tag = "feeds", params(CountsQuery),
    responses((status = 200, description = "Events per day, feed, organisation and type", body = Vec<FeedCount>), (status = 403, body = Problem)))]
pub async fn counts(State(state): State<AppState>, caller: ApiCaller, ApiQuery(q): ApiQuery<CountsQuery>) -> ApiResult<Vec<FeedCount>> {
    if !caller.policy_caller().is_staff() {
        return Err(ApiError::forbidden("feed statistics are for CERT staff"));
    }
    let since = q.since.unwrap_or_else(|| "1970-01-01".into());
    Ok(Json(state.store.feeds().counts(q.feed.as_deref(), &since).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// The corrected text (for CSV: the header line and the row); the stored one when omitted.
    #[serde(default)]
    pub corrected: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/feeds/quarantine/{id}/replay", tag = "feeds", request_body = ReplayRequest,
    params(("id" = uuid::Uuid, Path, description = "Quarantine entry id")),
    responses((status = 200, description = "What the pipeline did with the row; the entry is marked replayed when it went through", body = IngestSummary),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn replay(
    State(state): State<AppState>,
    caller: ApiCaller,
    axum::extract::Path(id): axum::extract::Path<uuid::Uuid>,
    crate::problem::ApiJson(req): crate::problem::ApiJson<ReplayRequest>,
) -> ApiResult<IngestSummary> {
    if !policy::may_coordinate(&caller.policy_caller()) {
        return Err(ApiError::forbidden("only coordinators replay quarantined rows"));
    }
    let actor = Actor::User(caller.principal.user.id);
    let summary =
        feeds::replay(&*state.store, &state.route_index, &actor, &state.settings.data_dir, id, req.corrected.as_deref(), &state.feeds)
            .await?;
    Ok(Json(summary))
}
