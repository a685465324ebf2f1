//! Notifications in the browser: the outbox, one message with its delivery log and
//! the events it carried, and the editor of the notification templates.

use super::pages::Opt;
use super::registry_pages::{notification_status_class, CsrfForm};
use super::{
    error_page, flash_args, internal_error, redirect_with_flash, redirect_with_flash_detail, render_page, require_complete,
    session_csrf_ok, PageCtx, UiForm,
};
use crate::auth::Principal;
use crate::service::notifications as svc;
use crate::service::ServiceError;
use crate::time::display;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rampart_core::account::Role;
use rampart_core::notification::{NotificationStatus, TEMPLATE_KINDS};
use rampart_core::policy::{self, Caller};
use rampart_core::registry::LANGUAGES;
use rampart_store::notifications::NotificationFilter;
use rampart_store::Session;
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// How many messages the outbox lists.
const OUTBOX_LIMIT: i64 = 200;
/// How many events a notification's page lists.
const EVENT_ROWS: usize = 500;
/// Event fields shown first, in this order; the others follow by name.
const LEADING_FIELDS: &[&str] =
    &["time.source", "source.ip", "source.port", "source.fqdn", "source.asn", "classification.type", "protocol.application", "feed.name"];

#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: String,
    pub reference: String,
    pub recipient: String,
    pub org_id: String,
    pub org_name: String,
    pub kind_label: String,
    pub format_label: String,
    pub events: i64,
    pub status_label: String,
    pub status_class: String,
    pub attempts: i64,
    pub next_attempt: String,
    pub last_error: String,
    pub signed: bool,
    pub encrypted: bool,
    pub created: String,
}

/// `GET /notifications`.
#[derive(Template)]
#[template(path = "outbox.html")]
pub struct OutboxPage {
    pub page: PageCtx,
    /// The status filtered on, or empty for all.
    pub status: String,
    pub statuses: Vec<Opt>,
    pub rows: Vec<OutboxRow>,
    pub can_flush: bool,
    pub has_mailer: bool,
}

#[derive(Debug, Clone)]
pub struct LogRow {
    pub at: String,
    pub status: String,
    pub detail: String,
}

/// `GET /notifications/{id}`.
#[derive(Template)]
#[template(path = "notification.html")]
pub struct NotificationPage {
    pub page: PageCtx,
    pub id: String,
    pub reference: String,
    pub subject: String,
    pub recipient: String,
    pub cc: String,
    pub org_id: String,
    pub org_name: String,
    pub kind_label: String,
    pub language_label: String,
    pub format_label: String,
    pub aggregation_key: String,
    pub message_id: String,
    pub status_label: String,
    pub status_class: String,
    pub attempts: i64,
    pub next_attempt: String,
    pub last_error: String,
    pub signed: bool,
    pub encrypted: bool,
    pub created: String,
    pub sent: String,
    pub incident_id: String,
    pub incident_reference: String,
    /// Staff open incidents; coordinators download the message as sent.
    pub staff: bool,
    pub can_download: bool,
    pub log: Vec<LogRow>,
    pub columns: Vec<String>,
    pub events: Vec<Vec<String>>,
    pub event_total: usize,
}

#[derive(Debug, Clone)]
pub struct TemplateRow {
    pub kind: String,
    pub language: String,
    pub kind_label: String,
    pub language_label: String,
    pub subject: String,
    pub customised: bool,
    pub updated: String,
}

/// `GET /notification-templates`.
#[derive(Template)]
#[template(path = "notification_templates.html")]
pub struct TemplatesPage {
    pub page: PageCtx,
    pub rows: Vec<TemplateRow>,
}

#[derive(Debug, Clone)]
pub struct VariableRow {
    /// `{{ org_name }}`, as it is written in a template.
    pub tag: String,
    pub description: String,
}

/// `GET /notification-templates/{kind}/{language}`.
#[derive(Template)]
#[template(path = "notification_template.html")]
pub struct TemplateEditPage {
    pub page: PageCtx,
    pub kind: String,
    pub language: String,
    pub kind_label: String,
    pub language_label: String,
    pub subject: String,
    pub body: String,
    pub customised: bool,
    /// Why the last submission was refused, in the checker's words (line and column).
    pub error: String,
    pub variables: Vec<VariableRow>,
    /// `{{#events}}`, `{{/events}}` and `{{ event.source.ip }}` for the help text.
    pub section_open: String,
    pub section_close: String,
    pub field_example: String,
}

/// The outbox is for coordinators, and for analysts to read.
fn may_read_outbox(caller: &Caller) -> bool {
    policy::may_coordinate(caller) || caller.has(Role::Analyst)
}

async fn outbox_session(state: &AppState, headers: &HeaderMap) -> Result<(Session, Principal), Response> {
    let (session, principal) = require_complete(state, headers).await?;
    if !may_read_outbox(&principal.policy_caller()) {
        return Err(error_page(state, headers, Some(&principal), StatusCode::FORBIDDEN, "error.forbidden"));
    }
    Ok((session, principal))
}

async fn coordinator_session(state: &AppState, headers: &HeaderMap) -> Result<(Session, Principal), Response> {
    let (session, principal) = require_complete(state, headers).await?;
    if !policy::may_coordinate(&principal.policy_caller()) {
        return Err(error_page(state, headers, Some(&principal), StatusCode::FORBIDDEN, "error.forbidden"));
    }
    Ok((session, principal))
}

fn language_label(page: &PageCtx, language: &str) -> String {
    match language {
        "en" => page.t("lang.en").to_string(),
        "zh-TW" => page.t("lang.zh_tw").to_string(),
        other => other.to_string(),
    }
}

fn known_template(kind: &str, language: &str) -> bool {
    TEMPLATE_KINDS.contains(&kind) && LANGUAGES.contains(&language)
}

#[derive(Deserialize)]
pub struct OutboxQuery {
    #[serde(default)]
    status: String,
}

/// `GET /notifications?status=`.
pub async fn outbox(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<OutboxQuery>) -> Response {
    let (session, principal) = match outbox_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let caller = principal.policy_caller();
    let status = query.status.parse::<NotificationStatus>().ok();
    let filter = NotificationFilter { status, limit: OUTBOX_LIMIT, ..Default::default() };
    let (all, orgs) = match (state.store.notifications().notifications(&filter).await, state.store.list_orgs().await) {
        (Ok(n), Ok(o)) => (n, o),
        (Err(e), _) | (_, Err(e)) => return internal_error(&state, &headers, &principal, e),
    };
    let names: HashMap<Uuid, String> = orgs.into_iter().map(|o| (o.id, o.name)).collect();
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.outbox", true);
    let zone = &state.settings.time_zone;
    let rows = all
        .iter()
        .filter(|n| svc::may_read_notification(&caller, n))
        .map(|n| OutboxRow {
            id: n.id.to_string(),
            reference: n.reference.clone(),
            recipient: n.recipient.clone(),
            org_id: n.org_id.map(|o| o.to_string()).unwrap_or_default(),
            org_name: n.org_id.and_then(|o| names.get(&o).cloned()).unwrap_or_default(),
            kind_label: page.t(&format!("template_kind.{}", n.template_kind)).to_string(),
            format_label: page.t(&format!("notification_format.{}", n.format)).to_string(),
            events: n.event_count,
            status_label: page.t(&format!("notification_status.{}", n.status)).to_string(),
            status_class: notification_status_class(n.status).to_string(),
            attempts: n.attempts,
            next_attempt: n.next_attempt_at.map(|t| display(t, zone)).unwrap_or_default(),
            last_error: n.last_error.clone().unwrap_or_default(),
            signed: n.signed,
            encrypted: n.encrypted,
            created: display(n.created_at, zone),
        })
        .collect();
    let statuses = NotificationStatus::ALL
        .iter()
        .map(|s| Opt { value: s.to_string(), label: page.t(&format!("notification_status.{s}")).to_string() })
        .collect();
    let view = OutboxPage {
        status: status.map(|s| s.to_string()).unwrap_or_default(),
        statuses,
        rows,
        can_flush: policy::may_coordinate(&caller),
        has_mailer: state.mailer.is_some(),
        page,
    };
    render_page(StatusCode::OK, &view, None)
}

/// `POST /notifications/flush`: compose what is due and send what is due, now.
pub async fn flush(State(state): State<AppState>, headers: HeaderMap, UiForm(form): UiForm<CsrfForm>) -> Response {
    let (session, principal) = match coordinator_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let back = "/notifications";
    if !session_csrf_ok(&session, &form.csrf) {
        return redirect_with_flash(&state, back, "error", "flash.csrf");
    }
    match svc::tick(&*state.store, &state.notify, state.mailer.as_ref()).await {
        Ok((composed, sent, problems)) => {
            let (composed, sent) = (composed.to_string(), sent.to_string());
            match problems.first() {
                None => {
                    let detail = flash_args(&[composed.as_str(), sent.as_str()]);
                    redirect_with_flash_detail(&state, &headers, back, "ok", "flash.outbox_flushed", &detail)
                }
                Some(first) => {
                    let count = problems.len().to_string();
                    let detail = flash_args(&[composed.as_str(), sent.as_str(), count.as_str(), first.as_str()]);
                    redirect_with_flash_detail(&state, &headers, back, "warn", "flash.outbox_flushed_problems", &detail)
                }
            }
        }
        Err(e) => internal_error(&state, &headers, &principal, e),
    }
}

/// `GET /notifications/{id}`.
pub async fn notification(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<Uuid>) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let caller = principal.policy_caller();
    let store = state.store.notifications();
    let n = match store.get_notification(id).await {
        Ok(Some(n)) => n,
        Ok(None) => return error_page(&state, &headers, Some(&principal), StatusCode::NOT_FOUND, "error.not_found"),
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    if !svc::may_read_notification(&caller, &n) {
        return error_page(&state, &headers, Some(&principal), StatusCode::FORBIDDEN, "error.forbidden");
    }
    let (log, directives) = match (store.delivery_log(id).await, store.directives_of(id).await) {
        (Ok(l), Ok(d)) => (l, d),
        (Err(e), _) | (_, Err(e)) => return internal_error(&state, &headers, &principal, e),
    };
    let org_name = match n.org_id {
        Some(org) => state.store.get_org(org).await.ok().flatten().map(|o| o.name).unwrap_or_default(),
        None => String::new(),
    };
    let incident_reference = match n.incident_id {
        Some(incident) => state.store.incidents().get_incident(incident).await.ok().flatten().map(|i| i.reference).unwrap_or_default(),
        None => String::new(),
    };

    // One column per field any event has: the usual ones first, then the rest by name.
    let present: BTreeSet<&str> = directives.iter().flat_map(|d| d.event.keys().map(String::as_str)).collect();
    let mut columns: Vec<String> = Vec::new();
    for field in LEADING_FIELDS {
        if present.contains(field) {
            columns.push((*field).to_string());
        }
    }
    for field in &present {
        if !LEADING_FIELDS.contains(field) {
            columns.push((*field).to_string());
        }
    }
    let events: Vec<Vec<String>> =
        directives.iter().take(EVENT_ROWS).map(|d| columns.iter().map(|c| d.event.get(c).cloned().unwrap_or_default()).collect()).collect();

    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.notification", true);
    let zone = &state.settings.time_zone;
    let view = NotificationPage {
        id: n.id.to_string(),
        reference: n.reference.clone(),
        subject: n.subject.clone(),
        recipient: n.recipient.clone(),
        cc: n.cc.join(", "),
        org_id: n.org_id.map(|o| o.to_string()).unwrap_or_default(),
        org_name,
        kind_label: page.t(&format!("template_kind.{}", n.template_kind)).to_string(),
        language_label: language_label(&page, &n.language),
        format_label: page.t(&format!("notification_format.{}", n.format)).to_string(),
        aggregation_key: n.aggregation_key.clone(),
        message_id: n.message_id.clone(),
        status_label: page.t(&format!("notification_status.{}", n.status)).to_string(),
        status_class: notification_status_class(n.status).to_string(),
        attempts: n.attempts,
        next_attempt: n.next_attempt_at.map(|t| display(t, zone)).unwrap_or_default(),
        last_error: n.last_error.clone().unwrap_or_default(),
        signed: n.signed,
        encrypted: n.encrypted,
        created: display(n.created_at, zone),
        sent: n.sent_at.map(|t| display(t, zone)).unwrap_or_default(),
        incident_id: n.incident_id.map(|i| i.to_string()).unwrap_or_default(),
        incident_reference,
        staff: principal.user.is_staff(),
        can_download: policy::may_coordinate(&caller),
        log: log.iter().map(|l| LogRow { at: display(l.at, zone), status: l.status.clone(), detail: l.detail.clone() }).collect(),
        columns,
        events,
        event_total: directives.len(),
        page,
    };
    render_page(StatusCode::OK, &view, None)
}

/// `GET /notification-templates`.
pub async fn templates(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (session, principal) = match coordinator_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let all = match svc::templates(&*state.store).await {
        Ok(all) => all,
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.templates", true);
    let zone = &state.settings.time_zone;
    let rows = all
        .iter()
        .map(|t| TemplateRow {
            kind: t.kind.clone(),
            language: t.language.clone(),
            kind_label: page.t(&format!("template_kind.{}", t.kind)).to_string(),
            language_label: language_label(&page, &t.language),
            subject: t.subject.clone(),
            customised: t.customised,
            updated: t.updated_at.map(|at| display(at, zone)).unwrap_or_default(),
        })
        .collect();
    render_page(StatusCode::OK, &TemplatesPage { page, rows }, None)
}

/// The editor, showing `subject` and `body` (the stored text, or what was submitted).
fn editor(page: PageCtx, kind: &str, language: &str, subject: String, body: String, customised: bool, error: String) -> TemplateEditPage {
    let variables = rampart_notify::template::VARIABLES
        .iter()
        .map(|(name, description)| {
            let key = format!("template_var.{name}");
            let translated = page.t(&key);
            VariableRow {
                tag: format!("{{{{ {name} }}}}"),
                description: if translated == key { (*description).to_string() } else { translated.to_string() },
            }
        })
        .collect();
    TemplateEditPage {
        kind: kind.to_string(),
        language: language.to_string(),
        kind_label: page.t(&format!("template_kind.{kind}")).to_string(),
        language_label: language_label(&page, language),
        subject,
        body,
        customised,
        error,
        variables,
        section_open: "{{#events}}".to_string(),
        section_close: "{{/events}}".to_string(),
        field_example: "{{ event.source.ip }}".to_string(),
        page,
    }
}

/// `GET /notification-templates/{kind}/{language}`.
pub async fn template_page(State(state): State<AppState>, headers: HeaderMap, Path((kind, language)): Path<(String, String)>) -> Response {
    let (session, principal) = match coordinator_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    if !known_template(&kind, &language) {
        return error_page(&state, &headers, Some(&principal), StatusCode::NOT_FOUND, "error.not_found");
    }
    let all = match svc::templates(&*state.store).await {
        Ok(all) => all,
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let Some(current) = all.into_iter().find(|t| t.kind == kind && t.language == language) else {
        return error_page(&state, &headers, Some(&principal), StatusCode::NOT_FOUND, "error.not_found");
    };
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.template_edit", true);
    let view = editor(page, &kind, &language, current.subject, current.body, current.customised, String::new());
    render_page(StatusCode::OK, &view, None)
}

#[derive(Deserialize)]
pub struct TemplateForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /notification-templates/{kind}/{language}`: a template that does not check
/// comes back with the checker's message and the text as submitted.
pub async fn template_save(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((kind, language)): Path<(String, String)>,
    UiForm(form): UiForm<TemplateForm>,
) -> Response {
    let (session, principal) = match coordinator_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    if !known_template(&kind, &language) {
        return error_page(&state, &headers, Some(&principal), StatusCode::NOT_FOUND, "error.not_found");
    }
    let back = format!("/notification-templates/{kind}/{language}");
    if !session_csrf_ok(&session, &form.csrf) {
        return redirect_with_flash(&state, &back, "error", "flash.csrf");
    }
    // Browsers send text areas with CRLF line ends.
    let subject = form.subject.trim().to_string();
    let body = form.body.replace("\r\n", "\n");
    let actor = rampart_store::Actor::User(principal.user.id);
    match svc::save_template(&*state.store, &principal.policy_caller(), &actor, &kind, &language, &subject, &body).await {
        Ok(()) => redirect_with_flash(&state, &back, "ok", "flash.template_saved"),
        Err(ServiceError::Invalid(why)) => {
            let customised = svc::templates(&*state.store)
                .await
                .map(|all| all.iter().any(|t| t.kind == kind && t.language == language && t.customised))
                .unwrap_or(false);
            let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.template_edit", true);
            let view = editor(page, &kind, &language, subject, body, customised, why);
            render_page(StatusCode::UNPROCESSABLE_ENTITY, &view, None)
        }
        Err(ServiceError::Forbidden(_)) => error_page(&state, &headers, Some(&principal), StatusCode::FORBIDDEN, "error.forbidden"),
        Err(e) => internal_error(&state, &headers, &principal, e),
    }
}

/// `POST /notification-templates/{kind}/{language}/reset`: back to the shipped default.
pub async fn template_reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((kind, language)): Path<(String, String)>,
    UiForm(form): UiForm<CsrfForm>,
) -> Response {
    let (session, principal) = match coordinator_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    if !known_template(&kind, &language) {
        return error_page(&state, &headers, Some(&principal), StatusCode::NOT_FOUND, "error.not_found");
    }
    let back = format!("/notification-templates/{kind}/{language}");
    if !session_csrf_ok(&session, &form.csrf) {
        return redirect_with_flash(&state, &back, "error", "flash.csrf");
    }
    let actor = rampart_store::Actor::User(principal.user.id);
    match svc::reset_template(&*state.store, &principal.policy_caller(), &actor, &kind, &language).await {
        Ok(()) => redirect_with_flash(&state, &back, "ok", "flash.template_reset"),
        Err(ServiceError::Forbidden(_)) => error_page(&state, &headers, Some(&principal), StatusCode::FORBIDDEN, "error.forbidden"),
        Err(e) => internal_error(&state, &headers, &principal, e),
    }
}
