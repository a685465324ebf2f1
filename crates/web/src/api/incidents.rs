use super::ApiResult;
use crate::auth::ApiCaller;
use crate::problem::{ApiError, ApiJson, ApiQuery, Problem};
use crate::service::incidents::{self as svc, may};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::deadlines::Deadline;
use rampart_core::incident::{IncidentStatus, ReportStatus, Severity, TwLevel};
use rampart_core::observables::Observable;
use rampart_core::policy::Action;
use rampart_core::records::{Channel, CiaImpact, Incident, IncidentDetail, IncidentFields, NewReport, Report, TimelineEntry, TimelineKind};
use rampart_core::tlp::Tlp;
use rampart_store::{Actor, Cursor, IncidentFilter, NewTimelineEntry, ReportFilter, StoreError, Triage};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    #[serde(default)]
    pub title: String,
    pub description: String,
    pub reporter_name: Option<String>,
    pub reporter_email: Option<String>,
    pub reporter_org: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub noticed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub affected: String,
    /// Suggested RSIT class.
    pub category: Option<String>,
    pub tlp: Option<Tlp>,
    pub tw_level: Option<TwLevel>,
    pub impact: Option<CiaImpact>,
    pub ci_services: Option<String>,
}

/// One report, or many at once (all or nothing).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ReportSubmission {
    One(ReportRequest),
    Many(Vec<ReportRequest>),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportCreated {
    pub id: Uuid,
    /// e.g. `RPT-2026-000042`
    pub reference: String,
}

fn new_report(caller: &ApiCaller, r: ReportRequest) -> NewReport {
    let staff = caller.principal.user.is_staff();
    NewReport {
        channel: Some(Channel::Api),
        reporter_name: r.reporter_name.or_else(|| Some(caller.principal.user.display_name.clone())),
        reporter_email: r.reporter_email.or_else(|| Some(caller.principal.user.email.clone())),
        reporter_org: r.reporter_org.or_else(|| Some(caller.principal.org.name.clone())),
        submitted_by: Some(caller.principal.user.id),
        // Staff file reports on someone's behalf; a constituent's report is its organisation's.
        org_id: if staff { None } else { Some(caller.principal.org.id) },
        title: r.title,
        description: r.description,
        started_at: r.started_at,
        noticed_at: r.noticed_at,
        affected: r.affected,
        suggested_category: r.category,
        tw_level: r.tw_level,
        impact: r.impact,
        ci_services: r.ci_services,
        tlp: r.tlp,
        ..Default::default()
    }
}

#[utoipa::path(post, path = "/api/v1/reports", tag = "incidents", request_body = ReportSubmission,
    responses((status = 201, description = "One object for one report, an array for many", body = ReportCreated),
              (status = 422, body = Problem)))]
pub async fn create_reports(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(submission): ApiJson<ReportSubmission>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let (requests, many) = match submission {
        ReportSubmission::One(r) => (vec![r], false),
        ReportSubmission::Many(rs) => (rs, true),
    };
    if requests.is_empty() || requests.len() > 1000 {
        return Err(ApiError::validation("send 1 to 1000 reports"));
    }
    // Check them all before storing any, so a bad one does not leave half a batch.
    let mut reports = Vec::with_capacity(requests.len());
    for (i, r) in requests.into_iter().enumerate() {
        let report = new_report(&caller, r)
            .validate()
            .map_err(|e| ApiError::validation(if many { format!("report {i}: {e}") } else { e.to_string() }))?;
        reports.push(report);
    }
    let actor = Actor::User(caller.principal.user.id);
    let mut created = Vec::with_capacity(reports.len());
    for report in reports {
        let (r, _) = svc::submit_report(&*state.store, &actor, report, &[], false).await?;
        created.push(ReportCreated { id: r.id, reference: r.reference });
    }
    let body = if many { serde_json::to_value(&created) } else { serde_json::to_value(&created[0]) };
    Ok((StatusCode::CREATED, Json(body.map_err(|_| ApiError::internal())?)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    #[serde(flatten)]
    pub report: Report,
    pub observables: Vec<Observable>,
}

#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "incidents", params(("id" = Uuid, Path, description = "Report id")),
    responses((status = 200, body = ReportView), (status = 404, body = Problem)))]
pub async fn get_report(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<Uuid>) -> ApiResult<ReportView> {
    let who = caller.policy_caller();
    let report = state.store.incidents().get_report(id).await?;
    let report = report
        .filter(|r| may(&who, Action::Read, &svc::report_resource(r, state.operator_org_id)))
        .ok_or_else(|| ApiError::not_found("report"))?;
    let observables = state.store.incidents().report_observables(id).await?;
    Ok(Json(ReportView { report, observables }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    pub status: Option<ReportStatus>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportPage {
    pub items: Vec<Report>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/reports", tag = "incidents", params(ReportQuery), responses((status = 200, body = ReportPage)))]
pub async fn list_reports(State(state): State<AppState>, caller: ApiCaller, ApiQuery(q): ApiQuery<ReportQuery>) -> ApiResult<ReportPage> {
    let who = caller.policy_caller();
    let limit = page_limit(q.limit)?;
    let filter = ReportFilter {
        status: q.status,
        org_id: (!who.is_staff()).then_some(caller.principal.org.id),
        after: decode_cursor(q.cursor.as_deref())?,
        limit,
    };
    let items = state.store.incidents().list_reports(&filter).await?;
    let next_cursor =
        (items.len() as i64 == limit).then(|| items.last().map(|r| Cursor { created_at: r.created_at, id: r.id }.encode())).flatten();
    let items = items.into_iter().filter(|r| may(&who, Action::Read, &svc::report_resource(r, state.operator_org_id))).collect();
    Ok(Json(ReportPage { items, next_cursor }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case", tag = "action")]
pub enum TriageRequest {
    Accept,
    Reject,
    Link {
        incident_id: Uuid,
    },
    Promote {
        #[serde(default)]
        incident: IncidentFields,
    },
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TriageResult {
    pub report: Report,
    pub incident: Option<Incident>,
}

#[utoipa::path(post, path = "/api/v1/reports/{id}/triage", tag = "incidents", request_body = TriageRequest,
    params(("id" = Uuid, Path, description = "Report id")),
    responses((status = 200, body = TriageResult), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn triage_report(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<TriageRequest>,
) -> ApiResult<TriageResult> {
    require_staff_writer(&caller)?;
    let triage = match req {
        TriageRequest::Accept => Triage::Accept,
        TriageRequest::Reject => Triage::Reject,
        TriageRequest::Link { incident_id } => Triage::Link(incident_id),
        TriageRequest::Promote { incident } => Triage::Promote(incident),
    };
    let (report, incident) = state.store.incidents().triage_report(&Actor::User(caller.principal.user.id), id, triage).await?;
    Ok(Json(TriageResult { report, incident }))
}

fn require_staff_writer(caller: &ApiCaller) -> Result<(), ApiError> {
    let who = caller.policy_caller();
    if !who.is_staff() || who.roles.iter().all(|r| *r == rampart_core::account::Role::Auditor) {
        return Err(ApiError::forbidden("only CERT staff handle reports and incidents"));
    }
    Ok(())
}

/// Incidents are assigned to CERT staff (the nil id clears the assignment).
async fn check_assignee(state: &AppState, fields: &IncidentFields) -> Result<(), ApiError> {
    if let Some(a) = fields.assignee_id.filter(|a| !a.is_nil()) {
        if !state.store.get_user(a).await?.is_some_and(|u| u.is_staff()) {
            return Err(ApiError::validation("incidents are assigned to CERT staff"));
        }
    }
    if let Some(t) = fields.team_id.filter(|t| !t.is_nil()) {
        if !state.store.work().teams().await?.iter().any(|team| team.id == t) {
            return Err(ApiError::validation("no such team"));
        }
    }
    Ok(())
}

fn page_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("invalid_query", "limit must be between 1 and 500"));
    }
    Ok(limit)
}

fn decode_cursor(cursor: Option<&str>) -> Result<Option<Cursor>, ApiError> {
    cursor
        .map(|c| Cursor::decode(c).ok_or_else(|| ApiError::bad_request("invalid_query", "cursor is not one this server issued")))
        .transpose()
}

#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = IncidentFields,
    responses((status = 201, body = Incident), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_incident(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(fields): ApiJson<IncidentFields>,
) -> Result<(StatusCode, Json<Incident>), ApiError> {
    require_staff_writer(&caller)?;
    check_assignee(&state, &fields).await?;
    let text = format!("{}\n{}", fields.title.as_deref().unwrap_or(""), fields.description.as_deref().unwrap_or(""));
    let observables = rampart_core::observables::extract(&text);
    let incident = state.store.incidents().create_incident(&Actor::User(caller.principal.user.id), fields, &observables).await?;
    Ok((StatusCode::CREATED, Json(incident)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct IncidentQuery {
    pub status: Option<IncidentStatus>,
    pub severity: Option<Severity>,
    pub org_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    /// Incidents assigned to this user or to one of their teams.
    pub mine_of: Option<Uuid>,
    /// Full-text search in title and description.
    pub q: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentPage {
    pub items: Vec<Incident>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(IncidentQuery), responses((status = 200, body = IncidentPage)))]
pub async fn list_incidents(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(q): ApiQuery<IncidentQuery>,
) -> ApiResult<IncidentPage> {
    let who = caller.policy_caller();
    let limit = page_limit(q.limit)?;
    if q.q.as_deref().is_some_and(|t| t.len() > 500) {
        return Err(ApiError::bad_request("invalid_query", "the search text is too long"));
    }
    let filter = IncidentFilter {
        status: q.status,
        severity: q.severity,
        // A constituent only ever lists its own organisation's incidents.
        org_id: if who.is_staff() { q.org_id } else { Some(caller.principal.org.id) },
        assignee_id: q.assignee_id,
        assigned_to_or_team_of: q.mine_of,
        text: q.q,
        after: decode_cursor(q.cursor.as_deref())?,
        limit,
    };
    let items = state.store.incidents().list_incidents(&filter).await?;
    let next_cursor = rampart_store::next_cursor(&items, limit).map(|c| c.encode());
    let items = items.into_iter().filter(|i| may(&who, Action::Read, &svc::incident_resource(i, state.operator_org_id))).collect();
    Ok(Json(IncidentPage { items, next_cursor }))
}

/// The incident, if the caller may read it; otherwise "not found".
pub(super) async fn readable(state: &AppState, caller: &ApiCaller, id: Uuid) -> Result<Incident, ApiError> {
    svc::readable_incident(&*state.store, &caller.policy_caller(), state.operator_org_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("incident"))
}

/// The incident, if the caller may work on it.
pub(super) async fn writable(state: &AppState, caller: &ApiCaller, id: Uuid) -> Result<Incident, ApiError> {
    svc::writable_incident(&*state.store, &caller.policy_caller(), state.operator_org_id, id).await.map_err(|e| match e {
        crate::service::ServiceError::Store(StoreError::NotFound) => ApiError::not_found("incident"),
        other => other.into(),
    })
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents", params(("id" = Uuid, Path, description = "Incident id")),
    responses((status = 200, body = IncidentDetail), (status = 404, body = Problem)))]
pub async fn get_incident(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<Uuid>) -> ApiResult<IncidentDetail> {
    let incident = readable(&state, &caller, id).await?;
    Ok(Json(svc::detail(&*state.store, incident).await?))
}

#[utoipa::path(patch, path = "/api/v1/incidents/{id}", tag = "incidents", request_body = IncidentFields, params(("id" = Uuid, Path, description = "Incident id")),
    responses((status = 200, body = Incident), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_incident(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(fields): ApiJson<IncidentFields>,
) -> ApiResult<Incident> {
    writable(&state, &caller, id).await?;
    check_assignee(&state, &fields).await?;
    Ok(Json(state.store.incidents().update_incident(&Actor::User(caller.principal.user.id), id, fields).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    pub status: IncidentStatus,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/status", tag = "incidents", request_body = StatusRequest, params(("id" = Uuid, Path, description = "Incident id")),
    responses((status = 200, body = Incident), (status = 422, description = "Not a move the lifecycle allows", body = Problem)))]
pub async fn set_status(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<StatusRequest>,
) -> ApiResult<Incident> {
    writable(&state, &caller, id).await?;
    Ok(Json(state.store.incidents().set_incident_status(&Actor::User(caller.principal.user.id), id, req.status).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MilestoneRequest {
    pub at: DateTime<Utc>,
}

#[utoipa::path(put, path = "/api/v1/incidents/{id}/milestones/{name}", tag = "incidents", request_body = MilestoneRequest,
    params(("id" = Uuid, Path, description = "Incident id"), ("name" = String, Path, description = "aware, reported, level_reviewed, recovered, notified, …")),
    responses((status = 200, body = Vec<Deadline>), (status = 422, body = Problem)))]
pub async fn set_milestone(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, name)): Path<(Uuid, String)>,
    ApiJson(req): ApiJson<MilestoneRequest>,
) -> ApiResult<Vec<Deadline>> {
    let incident = writable(&state, &caller, id).await?;
    if !svc::recordable_milestones().contains(&name) {
        return Err(ApiError::validation(format!("unknown milestone; known: {}", svc::recordable_milestones().join(", "))));
    }
    if req.at > Utc::now() + chrono::Duration::minutes(5) {
        return Err(ApiError::validation("a milestone cannot be in the future"));
    }
    state.store.incidents().set_milestone(&Actor::User(caller.principal.user.id), id, &name, req.at).await?;
    Ok(Json(svc::deadlines_of(&*state.store, &incident).await?))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/deadlines", tag = "incidents", params(("id" = Uuid, Path, description = "Incident id")),
    responses((status = 200, description = "Every legal and internal clock: regime, obligation, due_at, met_at, state", body = Vec<Deadline>)))]
pub async fn deadlines(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<Uuid>) -> ApiResult<Vec<Deadline>> {
    let incident = readable(&state, &caller, id).await?;
    Ok(Json(svc::deadlines_of(&*state.store, &incident).await?))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/observables", tag = "incidents", params(("id" = Uuid, Path, description = "Incident id")),
    responses((status = 200, body = Vec<Observable>)))]
pub async fn observables(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<Uuid>) -> ApiResult<Vec<Observable>> {
    readable(&state, &caller, id).await?;
    Ok(Json(state.store.incidents().incident_observables(id).await?))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/timeline", tag = "incidents", params(("id" = Uuid, Path, description = "Incident id")),
    responses((status = 200, body = Vec<TimelineEntry>)))]
pub async fn timeline(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<Uuid>) -> ApiResult<Vec<TimelineEntry>> {
    readable(&state, &caller, id).await?;
    // Constituents see what happened, not the analysts' internal notes.
    let staff = caller.policy_caller().is_staff();
    let entries = state.store.incidents().incident_timeline(id).await?;
    Ok(Json(entries.into_iter().filter(|e| staff || e.kind != TimelineKind::Note).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    pub body: String,
    /// When it happened, if earlier than now.
    pub event_at: Option<DateTime<Utc>>,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/notes", tag = "incidents", request_body = NoteRequest, params(("id" = Uuid, Path, description = "Incident id")),
    responses((status = 201, body = TimelineEntry)))]
pub async fn add_note(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<NoteRequest>,
) -> Result<(StatusCode, Json<TimelineEntry>), ApiError> {
    writable(&state, &caller, id).await?;
    let body = req.body.trim();
    if body.is_empty() || body.len() > rampart_core::records::MAX_TEXT_BYTES {
        return Err(ApiError::validation("a note needs text (at most 256 KiB)"));
    }
    let actor = Actor::User(caller.principal.user.id);
    let entry = NewTimelineEntry {
        kind: TimelineKind::Note,
        event_at: req.event_at.unwrap_or_else(Utc::now),
        actor: caller.principal.user.email.clone(),
        body: body.to_string(),
    };
    let entry = state.store.incidents().add_timeline(&actor, Some(id), None, entry).await?;
    state.store.incidents().add_incident_observables(id, &rampart_core::observables::extract(body)).await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Related {
    pub incident_id: Uuid,
    pub reference: String,
    pub via: Observable,
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/related", tag = "incidents", params(("id" = Uuid, Path, description = "Incident id")),
    responses((status = 200, description = "Incidents sharing an observable, among those the caller may see", body = Vec<Related>)))]
pub async fn related(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<Uuid>) -> ApiResult<Vec<Related>> {
    readable(&state, &caller, id).await?;
    let who = caller.policy_caller();
    let mut out = Vec::new();
    for (other, via) in state.store.incidents().related_incidents(id, 200).await? {
        // The policy decides per incident: a constituent never learns of another's.
        if let Some(incident) = svc::readable_incident(&*state.store, &who, state.operator_org_id, other).await? {
            out.push(Related { incident_id: other, reference: incident.reference, via });
        }
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (default), `csv` or `html`.
    pub format: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/export", tag = "incidents", params(("id" = Uuid, Path, description = "Incident id"), ExportQuery),
    responses((status = 200, description = "The incident with its timeline, observables and deadlines, as JSON, CSV or printable HTML", body = crate::ui::export::IncidentExport)))]
pub async fn export(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: axum::http::HeaderMap,
    Path(id): Path<Uuid>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let incident = readable(&state, &caller, id).await?;
    if !caller.policy_caller().is_staff() {
        return Err(ApiError::forbidden("exports are made by CERT staff"));
    }
    let store = state.store.incidents();
    let export = crate::ui::export::IncidentExport {
        deadlines: svc::deadlines_of(&*state.store, &incident).await?,
        observables: store.incident_observables(id).await?,
        timeline: store.incident_timeline(id).await?,
        exported_at: Utc::now(),
        incident,
    };
    let file = |ext: &str| format!("attachment; filename=\"{}.{ext}\"", export.incident.reference);
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok(([(axum::http::header::CONTENT_DISPOSITION, file("json"))], Json(&export)).into_response()),
        "csv" => Ok((
            [
                (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (axum::http::header::CONTENT_DISPOSITION, file("csv")),
            ],
            crate::ui::export::csv(&export),
        )
            .into_response()),
        "html" => {
            let lang = crate::ui::language(&state, &headers, Some(&caller.principal));
            let html = crate::ui::export::html(&state, lang, &export).await.map_err(|_| ApiError::internal())?;
            Ok(axum::response::Html(html).into_response())
        }
        _ => Err(ApiError::bad_request("invalid_query", "format must be json, csv or html")),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailRequest {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Message-ID of the message this answers.
    pub in_reply_to: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/mail", tag = "incidents", request_body = MailRequest, params(("id" = Uuid, Path, description = "Incident id")),
    responses((status = 201, description = "Sent through the relay and put on the timeline", body = TimelineEntry), (status = 422, body = Problem)))]
pub async fn send_mail(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<MailRequest>,
) -> Result<(StatusCode, Json<TimelineEntry>), ApiError> {
    let incident = writable(&state, &caller, id).await?;
    let mail = rampart_notify::smtp::Outgoing { to: req.to, subject: req.subject, body: req.body, in_reply_to: req.in_reply_to };
    let actor = Actor::User(caller.principal.user.id);
    let record = crate::service::correspondence::Record::Incident(id);
    let entry =
        crate::service::correspondence::send(&*state.store, state.mailer.as_ref(), &actor, record, &incident.reference, mail).await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceView {
    #[serde(flatten)]
    pub attachment: rampart_core::records::Attachment,
    pub custody: Vec<rampart_core::records::CustodyEntry>,
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/evidence", tag = "incidents", params(("id" = Uuid, Path, description = "Incident id")),
    responses((status = 200, description = "The incident's evidence (its own and its reports') with the chain of custody of each", body = Vec<EvidenceView>)))]
pub async fn evidence(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<Uuid>) -> ApiResult<Vec<EvidenceView>> {
    readable(&state, &caller, id).await?;
    if !caller.policy_caller().is_staff() {
        return Err(ApiError::forbidden("the chain of custody is for CERT staff"));
    }
    let store = state.store.incidents();
    let mut out = Vec::new();
    for attachment in store.attachments_of(None, Some(id)).await? {
        let custody = store.custody(attachment.id).await?;
        out.push(EvidenceView { attachment, custody });
    }
    Ok(Json(out))
}
