//! Notifications: templates, suppression rules, directives, the outbox.

use super::incidents::writable;
use super::ApiResult;
use crate::auth::ApiCaller;
use crate::problem::{ApiError, ApiJson, ApiQuery, Problem};
use crate::service::notifications::{self as svc, DirectiveOutcome};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rampart_core::notification::{
    DeliveryLogEntry, Directive, DirectiveSource, NewDirective, NewSuppressionRule, Notification, NotificationFormat, NotificationStatus,
    StoredTemplate, SuppressionRule,
};
use rampart_core::policy;
use rampart_store::notifications::NotificationFilter;
use rampart_store::Actor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

fn actor(caller: &ApiCaller) -> Actor {
    Actor::User(caller.principal.user.id)
}

fn coordinator(caller: &ApiCaller) -> Result<(), ApiError> {
    if policy::may_coordinate(&caller.policy_caller()) {
        Ok(())
    } else {
        Err(ApiError::forbidden("this is for the CERT's coordinators"))
    }
}

#[utoipa::path(get, path = "/api/v1/notification-templates", tag = "notifications",
    responses((status = 200, description = "Every kind and language; `customised` is false for shipped defaults", body = Vec<StoredTemplate>)))]
pub async fn list_templates(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Vec<StoredTemplate>> {
    if !caller.policy_caller().is_staff() {
        return Err(ApiError::forbidden("templates are for CERT staff"));
    }
    Ok(Json(svc::templates(&*state.store).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    pub subject: String,
    pub body: String,
}

#[utoipa::path(put, path = "/api/v1/notification-templates/{kind}/{language}", tag = "notifications", request_body = TemplateBody,
    params(("kind" = String, Path, description = "feed_events or incident"), ("language" = String, Path, description = "en or zh-TW")),
    responses((status = 204), (status = 403, body = Problem), (status = 422, description = "Unknown variable, unbalanced section, or does not render", body = Problem)))]
pub async fn save_template(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((kind, language)): Path<(String, String)>,
    ApiJson(t): ApiJson<TemplateBody>,
) -> Result<StatusCode, ApiError> {
    svc::save_template(&*state.store, &caller.policy_caller(), &actor(&caller), &kind, &language, &t.subject, &t.body).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/notification-templates/{kind}/{language}", tag = "notifications",
    params(("kind" = String, Path, description = "feed_events or incident"), ("language" = String, Path, description = "en or zh-TW")),
    responses((status = 204, description = "Back to the shipped default"), (status = 403, body = Problem)))]
pub async fn reset_template(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((kind, language)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    svc::reset_template(&*state.store, &caller.policy_caller(), &actor(&caller), &kind, &language).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/suppression-rules", tag = "notifications", responses((status = 200, body = Vec<SuppressionRule>)))]
pub async fn list_rules(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Vec<SuppressionRule>> {
    if !caller.policy_caller().is_staff() {
        return Err(ApiError::forbidden("rules are for CERT staff"));
    }
    Ok(Json(state.store.notifications().rules().await?))
}

#[utoipa::path(post, path = "/api/v1/suppression-rules", tag = "notifications", request_body = NewSuppressionRule,
    responses((status = 201, body = SuppressionRule), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn add_rule(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(new): ApiJson<NewSuppressionRule>,
) -> Result<(StatusCode, Json<SuppressionRule>), ApiError> {
    let rule = svc::add_rule(&*state.store, &caller.policy_caller(), &actor(&caller), new).await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

#[utoipa::path(delete, path = "/api/v1/suppression-rules/{id}", tag = "notifications", params(("id" = Uuid, Path, description = "Rule id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_rule(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<Uuid>) -> Result<StatusCode, ApiError> {
    coordinator(&caller)?;
    state.store.notifications().delete_rule(&actor(&caller), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/notifications/directives", tag = "notifications", request_body = Vec<NewDirective>,
    responses((status = 200, description = "Stored, already notified, suppressed and unroutable directives", body = DirectiveOutcome),
        (status = 403, body = Problem), (status = 422, description = "A directive is invalid; none was stored", body = Problem)))]
pub async fn create_directives(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(news): ApiJson<Vec<NewDirective>>,
) -> ApiResult<DirectiveOutcome> {
    coordinator(&caller)?;
    if news.len() > 10_000 {
        return Err(ApiError::validation("at most 10,000 directives per request"));
    }
    Ok(Json(svc::create_directives(&*state.store, &state.route_index, &actor(&caller), news).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentNotification {
    /// The organisation to tell; the incident's constituent when omitted.
    #[serde(default)]
    pub org_id: Option<Uuid>,
    #[serde(default)]
    pub recipient: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub format: Option<NotificationFormat>,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/notify", tag = "notifications", request_body = IncidentNotification, params(("id" = Uuid, Path, description = "Incident id")),
    responses((status = 200, description = "An investigation with the organisation, and the directive that tells it", body = DirectiveOutcome), (status = 422, body = Problem)))]
pub async fn notify_incident(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<IncidentNotification>,
) -> ApiResult<DirectiveOutcome> {
    coordinator(&caller)?;
    let incident = writable(&state, &caller, id).await?;
    let org_id = req.org_id.or(incident.org_id);
    if org_id.is_none() && req.recipient.is_none() {
        return Err(ApiError::validation("name an organisation or a recipient: the incident has no constituent"));
    }
    let mut event = BTreeMap::new();
    event.insert("incident.reference".to_string(), incident.reference.clone());
    event.insert("incident.title".to_string(), incident.title.clone());
    if let Some(t) = &incident.rsit_type {
        event.insert("classification.type".to_string(), t.clone());
    }
    if let Some(c) = &incident.rsit_class {
        event.insert("classification.taxonomy".to_string(), c.clone());
    }
    let observables = state.store.incidents().incident_observables(id).await?;
    let ip = observables.iter().find(|o| o.kind.as_str() == "ipv4" || o.kind.as_str() == "ipv6");
    if let Some(ip) = ip {
        event.insert("source.ip".to_string(), ip.value.clone());
    }
    let directive = NewDirective {
        org_id,
        recipient: req.recipient.clone(),
        template_kind: "incident".into(),
        language: req.language.clone(),
        format: req.format.unwrap_or(NotificationFormat::TextCsv),
        aggregation_key: Some(incident.reference.clone()),
        interval_secs: Some(60),
        event,
        source: DirectiveSource::Incident,
        source_id: Some(incident.reference.clone()),
        incident_id: Some(id),
    };
    let outcome = svc::create_directives(&*state.store, &state.route_index, &actor(&caller), vec![directive]).await?;
    if let Some(d) = outcome.stored.iter().find(|d| d.incident_id == Some(id)) {
        let party = match d.org_id {
            Some(o) => state.store.get_org(o).await?.map(|o| o.name).unwrap_or_else(|| d.recipient.clone()),
            None => d.recipient.clone(),
        };
        state.store.work().add_investigation(&actor(&caller), id, &party, Some(&d.recipient), d.org_id).await?;
    }
    Ok(Json(outcome))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct OutboxQuery {
    #[serde(default)]
    pub status: Option<NotificationStatus>,
    #[serde(default)]
    pub org_id: Option<Uuid>,
    #[serde(default)]
    pub incident_id: Option<Uuid>,
    #[serde(default)]
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(OutboxQuery),
    responses((status = 200, description = "Newest first, those the caller may see", body = Vec<Notification>)))]
pub async fn list_notifications(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(q): ApiQuery<OutboxQuery>,
) -> ApiResult<Vec<Notification>> {
    let who = caller.policy_caller();
    let filter = NotificationFilter { status: q.status, org_id: q.org_id, incident_id: q.incident_id, limit: q.limit.unwrap_or(100) };
    let all = state.store.notifications().notifications(&filter).await?;
    Ok(Json(all.into_iter().filter(|n| svc::may_read_notification(&who, n)).collect()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationDetail {
    pub notification: Notification,
    pub delivery_log: Vec<DeliveryLogEntry>,
    pub directives: Vec<Directive>,
}

async fn readable(state: &AppState, caller: &ApiCaller, id: Uuid) -> Result<Notification, ApiError> {
    let n = state.store.notifications().get_notification(id).await?.ok_or_else(|| ApiError::not_found("notification"))?;
    if !svc::may_read_notification(&caller.policy_caller(), &n) {
        return Err(ApiError::not_found("notification"));
    }
    Ok(n)
}

#[utoipa::path(get, path = "/api/v1/notifications/{id}", tag = "notifications", params(("id" = Uuid, Path, description = "Notification id")),
    responses((status = 200, body = NotificationDetail), (status = 404, body = Problem)))]
pub async fn get_notification(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<Uuid>) -> ApiResult<NotificationDetail> {
    let notification = readable(&state, &caller, id).await?;
    let delivery_log = state.store.notifications().delivery_log(id).await?;
    let directives = state.store.notifications().directives_of(id).await?;
    Ok(Json(NotificationDetail { notification, delivery_log, directives }))
}

#[utoipa::path(get, path = "/api/v1/notifications/{id}/message", tag = "notifications", params(("id" = Uuid, Path, description = "Notification id")),
    responses((status = 200, description = "The message exactly as sent (message/rfc822, as an attachment)"), (status = 404, body = Problem)))]
pub async fn notification_message(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<Uuid>) -> Result<Response, ApiError> {
    coordinator(&caller)?;
    let n = readable(&state, &caller, id).await?;
    let raw = state.store.notifications().notification_raw(id).await?.ok_or_else(|| ApiError::not_found("notification"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "message/rfc822".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.eml\"", n.reference)),
        ],
        raw,
    )
        .into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlushOutcome {
    pub queued: usize,
    pub sent: usize,
    pub problems: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/notifications/flush", tag = "notifications",
    responses((status = 200, description = "Composed what was due and sent what was due, now", body = FlushOutcome), (status = 403, body = Problem)))]
pub async fn flush(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<FlushOutcome> {
    coordinator(&caller)?;
    let (queued, sent, problems) = svc::tick(&*state.store, &state.notify, state.mailer.as_ref()).await?;
    Ok(Json(FlushOutcome { queued, sent, problems }))
}
