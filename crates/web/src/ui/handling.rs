//! The analyst's pages: the queue, a report with its triage form, the incident page
//! with its clocks and actions, and evidence downloads.

use super::incident_pages::*;
use super::pages::Opt;
use super::{error_page, internal_error, redirect_with_flash, render_page, require_complete, session_csrf_ok, PageCtx, UiForm};
use crate::auth::Principal;
use crate::service::incidents::{self as svc};
use crate::time::display;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use rampart_core::deadlines::DeadlineState;
use rampart_core::incident::{CountermeasureStatus, IncidentStatus, InvestigationStatus, Lifecycle, ReportStatus, Severity};
use rampart_core::records::{Attachment, IncidentFields, TimelineKind};
use rampart_core::work::CountermeasureKind;
use rampart_store::{Actor, IncidentFilter, NewTimelineEntry, ReportFilter, Session, Triage};
use serde::Deserialize;
use uuid::Uuid;

/// A complete staff session, or the page to show instead.
async fn staff_session(state: &AppState, headers: &HeaderMap) -> Result<(Session, Principal), Response> {
    let (session, principal) = require_complete(state, headers).await?;
    if !principal.user.is_staff() {
        return Err(error_page(state, headers, Some(&principal), StatusCode::FORBIDDEN, "error.forbidden"));
    }
    Ok((session, principal))
}

fn level_opts(page: &PageCtx) -> Vec<Opt> {
    (1..=4).map(|l| Opt { value: l.to_string(), label: page.t(&format!("level.{l}")).to_string() }).collect()
}

fn severity_opts(page: &PageCtx) -> Vec<Opt> {
    Severity::ALL.iter().map(|s| Opt { value: s.to_string(), label: page.t(&format!("severity.{s}")).to_string() }).collect()
}

fn attachment_rows(attachments: &[Attachment]) -> Vec<AttachmentRow> {
    attachments
        .iter()
        .map(|a| AttachmentRow { id: a.id.to_string(), filename: a.filename.clone(), size: human_size(a.size), sha256: a.sha256.clone() })
        .collect()
}

/// Audit-style actors (`user:<id>`) are shown as the user's e-mail address.
pub(crate) async fn actor_names(
    store: &dyn rampart_store::Store,
    timeline: &[rampart_core::records::TimelineEntry],
) -> std::collections::HashMap<String, String> {
    let mut names = std::collections::HashMap::new();
    for t in timeline {
        if let Some(id) = t.actor.strip_prefix("user:").and_then(|id| id.parse::<Uuid>().ok()) {
            if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(t.actor.clone()) {
                if let Ok(Some(user)) = store.get_user(id).await {
                    slot.insert(user.email);
                }
            }
        }
    }
    names
}

pub(crate) fn deadline_rows(page: &PageCtx, deadlines: &[rampart_core::deadlines::Deadline], zone: &str) -> Vec<DeadlineRow> {
    deadlines
        .iter()
        .map(|d| DeadlineRow {
            regime_label: page.t(&format!("regime.{}", d.regime)).to_string(),
            obligation_label: page.t(&format!("obligation.{}", d.obligation)).to_string(),
            legal: d.legal,
            due_at: d.due_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            due_display: d.due_at.map(|t| display(t, zone)).unwrap_or_default(),
            met_display: d.met_at.map(|t| display(t, zone)).unwrap_or_default(),
            state: d.state.to_string(),
            state_label: page.t(&format!("deadline_state.{}", d.state)).to_string(),
        })
        .collect()
}

pub(crate) fn timeline_rows(
    page: &PageCtx,
    timeline: &[rampart_core::records::TimelineEntry],
    actor_names: &std::collections::HashMap<String, String>,
    zone: &str,
) -> Vec<TimelineRow> {
    timeline
        .iter()
        .map(|t| TimelineRow {
            at: display(t.event_at, zone),
            recorded_at: display(t.recorded_at, zone),
            kind: t.kind.to_string(),
            kind_label: page.t(&format!("timeline.{}", t.kind)).to_string(),
            actor: actor_names.get(&t.actor).cloned().unwrap_or_else(|| t.actor.clone()),
            body: t.body.clone(),
        })
        .collect()
}

fn human_size(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}

#[derive(Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    mine: Option<String>,
}

pub async fn queue(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<QueueQuery>,
) -> Response {
    let (session, principal) = match staff_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.queue", true);
    let my_teams: Vec<Uuid> = state
        .store
        .work()
        .teams()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|t| t.members.contains(&principal.user.id))
        .map(|t| t.id)
        .collect();
    let store = state.store.incidents();
    let zone = &state.settings.time_zone;
    let reports = match store.list_reports(&ReportFilter { status: Some(ReportStatus::New), limit: 100, ..Default::default() }).await {
        Ok(r) => r,
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let report_rows = reports
        .iter()
        .map(|r| ReportRow {
            id: r.id.to_string(),
            reference: r.reference.clone(),
            title: r.title.clone(),
            channel_label: page.t(&format!("channel.{}", r.channel)).to_string(),
            status_label: page.t(&format!("report_status.{}", r.status)).to_string(),
            received_at: display(r.created_at, zone),
            quarantined: r.quarantined,
        })
        .collect();
    let only_mine = q.mine.is_some_and(|m| !m.is_empty() && m != "0");
    let filter = IncidentFilter { assigned_to_or_team_of: only_mine.then_some(principal.user.id), limit: 200, ..Default::default() };
    let incidents = match store.list_incidents(&filter).await {
        Ok(i) => i,
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let mut rows = Vec::new();
    for incident in incidents.into_iter().filter(|i| i.status != IncidentStatus::Closed) {
        let deadlines = svc::deadlines_of(&*state.store, &incident).await.unwrap_or_default();
        let open: Vec<_> = deadlines.iter().filter(|d| matches!(d.state, DeadlineState::Due | DeadlineState::Overdue)).collect();
        let next = open.iter().filter_map(|d| d.due_at).min();
        rows.push(IncidentRow {
            id: incident.id.to_string(),
            reference: incident.reference.clone(),
            title: incident.title.clone(),
            status: incident.status.to_string(),
            status_label: page.t(&format!("incident_status.{}", incident.status)).to_string(),
            severity: incident.severity.to_string(),
            severity_label: page.t(&format!("severity.{}", incident.severity)).to_string(),
            level: incident.tw_level.map(|l| l.get().to_string()).unwrap_or_default(),
            next_due: next.map(|d| d.to_rfc3339()).unwrap_or_default(),
            overdue: open.iter().any(|d| d.state == DeadlineState::Overdue),
            mine: incident.assignee_id == Some(principal.user.id) || incident.team_id.is_some_and(|t| my_teams.contains(&t)),
        });
    }
    // Overdue clocks first, then the analyst's own, then the nearest deadline.
    rows.sort_by(|a, b| {
        b.overdue
            .cmp(&a.overdue)
            .then(b.mine.cmp(&a.mine))
            .then_with(|| (a.next_due.is_empty(), &a.next_due).cmp(&(b.next_due.is_empty(), &b.next_due)))
    });
    render_page(StatusCode::OK, &QueuePage { page, reports: report_rows, incidents: rows, only_mine }, None)
}

pub async fn report(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<Uuid>) -> Response {
    let (session, principal) = match staff_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let store = state.store.incidents();
    let report = match store.get_report(id).await {
        Ok(Some(r)) => r,
        Ok(None) => return error_page(&state, &headers, Some(&principal), StatusCode::NOT_FOUND, "error.report_not_found"),
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let (observables, attachments, open) = match (
        store.report_observables(id).await,
        store.attachments_of(Some(id), None).await,
        store.list_incidents(&IncidentFilter { limit: 200, ..Default::default() }).await,
    ) {
        (Ok(o), Ok(a), Ok(i)) => (o, a, i),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return internal_error(&state, &headers, &principal, e),
    };
    for a in &attachments {
        let _ = store.record_custody(&Actor::User(principal.user.id), a.id, "listed", "shown on the report page").await;
    }
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.report_view", true);
    let rsit = rampart_core::rsit::classes()
        .iter()
        .flat_map(|c| {
            c.types
                .iter()
                .map(move |t| Opt { value: format!("{}/{}", c.value, t.value), label: format!("{} / {}", c.expanded, t.expanded) })
        })
        .collect();
    let reporter = [report.reporter_name.clone(), report.reporter_email.clone(), report.reporter_org.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    let view = ReportPage {
        id: report.id.to_string(),
        reference: report.reference.clone(),
        title: report.title.clone(),
        description: report.description.clone(),
        status_label: page.t(&format!("report_status.{}", report.status)).to_string(),
        channel_label: page.t(&format!("channel.{}", report.channel)).to_string(),
        reporter: if reporter.is_empty() { page.t("report.anonymous").to_string() } else { reporter },
        received_at: display(report.created_at, &state.settings.time_zone),
        affected: report.affected.clone(),
        observables: observables.iter().map(|o| format!("{}: {}", o.kind, o.value)).collect(),
        attachments: attachment_rows(&attachments),
        can_triage: report.status.can_move_to(ReportStatus::Linked),
        incident_id: report.incident_id.map(|i| i.to_string()).unwrap_or_default(),
        rsit,
        levels: level_opts(&page),
        severities: severity_opts(&page),
        incidents: open
            .iter()
            .filter(|i| i.status != IncidentStatus::Closed)
            .map(|i| Opt { value: i.id.to_string(), label: format!("{} {}", i.reference, i.title) })
            .collect(),
        page,
    };
    render_page(StatusCode::OK, &view, None)
}

#[derive(Deserialize)]
pub struct TriageForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    rsit: String,
    #[serde(default)]
    tw_level: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    incident_id: String,
    #[serde(default)]
    csrf: String,
}

pub async fn triage(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<Uuid>, UiForm(form): UiForm<TriageForm>) -> Response {
    let (session, principal) = match staff_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let back = format!("/reports/{id}");
    if !session_csrf_ok(&session, &form.csrf) {
        return redirect_with_flash(&state, &back, "error", "flash.csrf");
    }
    let triage = match form.action.as_str() {
        "reject" => Triage::Reject,
        "accept" => Triage::Accept,
        "link" => match form.incident_id.parse() {
            Ok(incident) => Triage::Link(incident),
            Err(_) => return redirect_with_flash(&state, &back, "error", "flash.invalid_input"),
        },
        "promote" => {
            let (rsit_class, rsit_type) = match form.rsit.split_once('/') {
                Some((c, t)) => (Some(c.to_string()), Some(t.to_string())),
                None => (None, None),
            };
            Triage::Promote(IncidentFields {
                rsit_class,
                rsit_type,
                tw_level: form.tw_level.parse().ok(),
                severity: form.severity.parse().ok(),
                ..Default::default()
            })
        }
        _ => return redirect_with_flash(&state, &back, "error", "flash.invalid_input"),
    };
    match state.store.incidents().triage_report(&Actor::User(principal.user.id), id, triage).await {
        Ok((_, Some(incident))) => redirect_with_flash(&state, &format!("/incidents/{}", incident.id), "ok", "flash.triaged"),
        Ok((_, None)) => redirect_with_flash(&state, "/queue", "ok", "flash.triaged"),
        Err(rampart_store::StoreError::Invalid(_)) => redirect_with_flash(&state, &back, "error", "flash.transition_invalid"),
        Err(e) => internal_error(&state, &headers, &principal, e),
    }
}

pub async fn incident(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<Uuid>) -> Response {
    let (session, principal) = match staff_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let store = &*state.store;
    let incident = match svc::readable_incident(store, &principal.policy_caller(), state.operator_org_id, id).await {
        Ok(Some(i)) => i,
        Ok(None) => return error_page(&state, &headers, Some(&principal), StatusCode::NOT_FOUND, "error.not_found"),
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let detail = match svc::detail(store, incident).await {
        Ok(d) => d,
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let timeline = store.incidents().incident_timeline(id).await.unwrap_or_default();
    let attachments = store.incidents().attachments_of(None, Some(id)).await.unwrap_or_default();
    let mut related = Vec::new();
    for (other, via) in store.incidents().related_incidents(id, 50).await.unwrap_or_default() {
        if let Ok(Some(o)) = svc::readable_incident(store, &principal.policy_caller(), state.operator_org_id, other).await {
            related.push(RelatedRow { id: o.id.to_string(), reference: o.reference, via: via.value });
        }
    }
    let org_name = match detail.incident.org_id {
        Some(org) => store.get_org(org).await.ok().flatten().map(|o| o.name).unwrap_or_default(),
        None => String::new(),
    };
    let zone = &state.settings.time_zone;
    let actor_names = actor_names(store, &timeline).await;
    let staff: Vec<Opt> = store
        .list_users(None)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|u| u.is_staff() && !u.disabled && !u.roles.iter().all(|r| *r == rampart_core::account::Role::Auditor))
        .map(|u| Opt {
            value: u.id.to_string(),
            label: if u.display_name.is_empty() { u.email } else { format!("{} ({})", u.display_name, u.email) },
        })
        .collect();
    let work = store.work();
    let teams: Vec<Opt> =
        work.teams().await.unwrap_or_default().into_iter().map(|t| Opt { value: t.id.to_string(), label: t.name }).collect();
    let (tasks, investigations, countermeasures) = (
        work.tasks(id).await.unwrap_or_default(),
        work.investigations(id).await.unwrap_or_default(),
        work.countermeasures(id).await.unwrap_or_default(),
    );
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.incident", true);
    let i = &detail.incident;
    let deadlines = deadline_rows(&page, &detail.deadlines, zone);
    let view = IncidentPage {
        id: i.id.to_string(),
        reference: i.reference.clone(),
        title: i.title.clone(),
        description: i.description.clone(),
        status: i.status.to_string(),
        status_label: page.t(&format!("incident_status.{}", i.status)).to_string(),
        severity_label: page.t(&format!("severity.{}", i.severity)).to_string(),
        tlp: i.tlp.to_string(),
        level: i.tw_level.map(|l| l.get().to_string()).unwrap_or_default(),
        rsit_label: match (&i.rsit_class, &i.rsit_type) {
            (Some(c), Some(t)) => rampart_core::rsit::machine_tag(c, t),
            _ => String::new(),
        },
        org_name,
        deadlines,
        observables: detail.observables.iter().map(|o| ObservableRow { kind: o.kind.to_string(), value: o.value.clone() }).collect(),
        related,
        timeline: timeline_rows(&page, &timeline, &actor_names, zone),
        attachments: attachment_rows(&attachments),
        next_statuses: IncidentStatus::ALL
            .iter()
            .filter(|s| i.status.can_move_to(**s))
            .map(|s| Opt { value: s.to_string(), label: page.t(&format!("incident_status.{s}")).to_string() })
            .collect(),
        levels: level_opts(&page),
        severities: severity_opts(&page),
        milestones: svc::recordable_milestones()
            .into_iter()
            .map(|m| Opt { label: page.t(&format!("milestone.{m}")).to_string(), value: m })
            .collect(),
        tasks: tasks
            .iter()
            .map(|t| TaskRow {
                id: t.id.to_string(),
                title: t.title.clone(),
                due_display: t.due_at.map(|d| display(d, zone)).unwrap_or_default(),
                done: t.done_at.is_some(),
            })
            .collect(),
        investigations: investigations
            .iter()
            .map(|v| InvestigationRow {
                id: v.id.to_string(),
                party: v.party.clone(),
                contact: v.contact.clone().unwrap_or_default(),
                open: v.status == InvestigationStatus::Open,
                status_label: page.t(&format!("investigation_status.{}", v.status)).to_string(),
            })
            .collect(),
        countermeasures: countermeasures
            .iter()
            .map(|c| CountermeasureRow {
                id: c.id.to_string(),
                kind_label: page.t(&format!("countermeasure_kind.{}", c.kind)).to_string(),
                target: c.target.clone(),
                status: c.status.to_string(),
                status_label: page.t(&format!("countermeasure_status.{}", c.status)).to_string(),
                next: CountermeasureStatus::ALL
                    .iter()
                    .filter(|s| c.status.can_move_to(**s))
                    .map(|s| Opt { value: s.to_string(), label: page.t(&format!("countermeasure_status.{s}")).to_string() })
                    .collect(),
            })
            .collect(),
        staff,
        assignee_id: i.assignee_id.map(|a| a.to_string()).unwrap_or_default(),
        teams,
        team_id: i.team_id.map(|t| t.to_string()).unwrap_or_default(),
        countermeasure_kinds: CountermeasureKind::ALL
            .iter()
            .map(|k| Opt { value: k.to_string(), label: page.t(&format!("countermeasure_kind.{k}")).to_string() })
            .collect(),
        page,
    };
    render_page(StatusCode::OK, &view, None)
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    tw_level: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    at: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    party: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    target: String,
    /// The task, investigation or countermeasure acted on.
    #[serde(default)]
    item: String,
    #[serde(default)]
    assignee_id: String,
    #[serde(default)]
    team_id: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /incidents/{id}/{status|classify|milestone|note|mail}`.
pub async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, what)): Path<(Uuid, String)>,
    UiForm(form): UiForm<ActionForm>,
) -> Response {
    let (session, principal) = match staff_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let back = format!("/incidents/{id}");
    if !session_csrf_ok(&session, &form.csrf) {
        return redirect_with_flash(&state, &back, "error", "flash.csrf");
    }
    if svc::writable_incident(&*state.store, &principal.policy_caller(), state.operator_org_id, id).await.is_err() {
        return error_page(&state, &headers, Some(&principal), StatusCode::FORBIDDEN, "error.forbidden");
    }
    let store = state.store.incidents();
    let actor = Actor::User(principal.user.id);
    let outcome = match what.as_str() {
        "status" => match form.status.parse::<IncidentStatus>() {
            Ok(status) => store.set_incident_status(&actor, id, status).await.map(|_| "flash.status_changed"),
            Err(_) => return redirect_with_flash(&state, &back, "error", "flash.invalid_input"),
        },
        "classify" => {
            // Empty means nobody: the nil id clears the assignment.
            let assignee_id = match form.assignee_id.trim() {
                "" => Uuid::nil(),
                raw => match raw.parse::<Uuid>() {
                    Ok(a) if store_is_staff(&state, a).await => a,
                    _ => return redirect_with_flash(&state, &back, "error", "flash.invalid_input"),
                },
            };
            let team_id = match form.team_id.trim() {
                "" => Uuid::nil(),
                raw => match raw.parse::<Uuid>() {
                    Ok(t) => t,
                    Err(_) => return redirect_with_flash(&state, &back, "error", "flash.invalid_input"),
                },
            };
            let fields = IncidentFields {
                tw_level: form.tw_level.parse().ok(),
                severity: form.severity.parse().ok(),
                assignee_id: Some(assignee_id),
                team_id: Some(team_id),
                ..Default::default()
            };
            store.update_incident(&actor, id, fields).await.map(|_| "flash.classified")
        }
        "milestone" => {
            let at =
                super::report_form::parse_local_time(&form.at, crate::time::offset(&state.settings.time_zone)).unwrap_or_else(Utc::now);
            if !svc::recordable_milestones().contains(&form.name) || at > Utc::now() + chrono::Duration::minutes(5) {
                return redirect_with_flash(&state, &back, "error", "flash.invalid_input");
            }
            store.set_milestone(&actor, id, &form.name, at).await.map(|_| "flash.milestone_saved")
        }
        "note" => {
            let body = form.body.trim();
            if body.is_empty() || body.len() > rampart_core::records::MAX_TEXT_BYTES {
                return redirect_with_flash(&state, &back, "error", "flash.invalid_input");
            }
            let entry = NewTimelineEntry {
                kind: TimelineKind::Note,
                event_at: Utc::now(),
                actor: principal.user.email.clone(),
                body: body.to_string(),
            };
            match store.add_timeline(&actor, Some(id), None, entry).await {
                Ok(_) => store.add_incident_observables(id, &rampart_core::observables::extract(body)).await.map(|_| "flash.note_added"),
                Err(e) => Err(e),
            }
        }
        "task" => state.store.work().add_task(&actor, id, &form.title, None, None).await.map(|_| "flash.task_added"),
        "task_done" => {
            match work_item(&form.item, |t| state.store.work().get_task(t), |t: &rampart_core::work::Task| t.incident_id, id).await {
                Some(task) => state.store.work().set_task_done(&actor, task, true).await.map(|_| "flash.task_done"),
                None => return redirect_with_flash(&state, &back, "error", "flash.invalid_input"),
            }
        }
        "investigation" => {
            let contact = Some(form.contact.as_str()).filter(|c| !c.trim().is_empty());
            state.store.work().add_investigation(&actor, id, &form.party, contact, None).await.map(|_| "flash.investigation_added")
        }
        "investigation_close" => match work_item(
            &form.item,
            |v| state.store.work().get_investigation(v),
            |v: &rampart_core::work::Investigation| v.incident_id,
            id,
        )
        .await
        {
            Some(inv) => state
                .store
                .work()
                .set_investigation_status(&actor, inv, InvestigationStatus::Closed)
                .await
                .map(|_| "flash.investigation_closed"),
            None => return redirect_with_flash(&state, &back, "error", "flash.invalid_input"),
        },
        "countermeasure" => match form.kind.parse::<CountermeasureKind>() {
            Ok(kind) => state.store.work().add_countermeasure(&actor, id, kind, &form.target).await.map(|_| "flash.countermeasure_added"),
            Err(_) => return redirect_with_flash(&state, &back, "error", "flash.invalid_input"),
        },
        "countermeasure_status" => {
            let item = work_item(
                &form.item,
                |c| state.store.work().get_countermeasure(c),
                |c: &rampart_core::work::Countermeasure| c.incident_id,
                id,
            )
            .await;
            match (item, form.status.parse::<CountermeasureStatus>()) {
                (Some(cm), Ok(status)) => {
                    state.store.work().set_countermeasure_status(&actor, cm, status).await.map(|_| "flash.status_changed")
                }
                _ => return redirect_with_flash(&state, &back, "error", "flash.invalid_input"),
            }
        }
        "mail" => {
            let Ok(Some(incident)) = store.get_incident(id).await else {
                return error_page(&state, &headers, Some(&principal), StatusCode::NOT_FOUND, "error.not_found");
            };
            let mail = rampart_notify::smtp::Outgoing {
                to: form.to.clone(),
                subject: form.subject.clone(),
                body: form.body.clone(),
                in_reply_to: None,
            };
            let record = crate::service::correspondence::Record::Incident(id);
            return match crate::service::correspondence::send(
                &*state.store,
                state.mailer.as_ref(),
                &actor,
                record,
                &incident.reference,
                mail,
            )
            .await
            {
                Ok(_) => redirect_with_flash(&state, &back, "ok", "flash.mail_sent"),
                Err(e) => {
                    tracing::warn!(error = %e, "mail not sent");
                    redirect_with_flash(&state, &back, "error", "flash.mail_failed")
                }
            };
        }
        _ => return error_page(&state, &headers, Some(&principal), StatusCode::NOT_FOUND, "error.not_found"),
    };
    match outcome {
        Ok(key) => redirect_with_flash(&state, &back, "ok", key),
        Err(rampart_store::StoreError::Invalid(_)) => redirect_with_flash(&state, &back, "error", "flash.transition_invalid"),
        Err(e) => internal_error(&state, &headers, &principal, e),
    }
}

/// The constituent portal: the caller's organisation's reports and incidents, as the
/// policy lets them see (staff go to the queue).
pub async fn portal(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    if principal.user.is_staff() {
        return axum::response::Redirect::to("/queue").into_response();
    }
    let who = principal.policy_caller();
    let store = state.store.incidents();
    let org = principal.org.id;
    let (incidents, reports) = match (
        store.list_incidents(&IncidentFilter { org_id: Some(org), limit: 200, ..Default::default() }).await,
        store.list_reports(&ReportFilter { org_id: Some(org), limit: 200, ..Default::default() }).await,
    ) {
        (Ok(i), Ok(r)) => (i, r),
        (Err(e), _) | (_, Err(e)) => return internal_error(&state, &headers, &principal, e),
    };
    let zone = &state.settings.time_zone;
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.portal", true);
    let mut references = std::collections::HashMap::new();
    let incidents = incidents
        .into_iter()
        .filter(|i| svc::may(&who, rampart_core::policy::Action::Read, &svc::incident_resource(i, state.operator_org_id)))
        .map(|i| {
            references.insert(i.id, i.reference.clone());
            PortalIncident {
                reference: i.reference,
                title: i.title,
                status: i.status.to_string(),
                status_label: page.t(&format!("incident_status.{}", i.status)).to_string(),
                level: i.tw_level.map(|l| l.get().to_string()).unwrap_or_default(),
                updated: display(i.updated_at, zone),
            }
        })
        .collect();
    let reports = reports
        .into_iter()
        .filter(|r| svc::may(&who, rampart_core::policy::Action::Read, &svc::report_resource(r, state.operator_org_id)))
        .map(|r| PortalReport {
            status: r.status.to_string(),
            status_label: page.t(&format!("report_status.{}", r.status)).to_string(),
            received: display(r.created_at, zone),
            // Only an incident the caller may see is named.
            incident: r.incident_id.and_then(|i| references.get(&i).cloned()).unwrap_or_default(),
            reference: r.reference,
            title: r.title,
        })
        .collect();
    render_page(StatusCode::OK, &PortalPage { page, incidents, reports }, None)
}

async fn store_is_staff(state: &AppState, user: Uuid) -> bool {
    state.store.get_user(user).await.ok().flatten().is_some_and(|u| u.is_staff())
}

/// The id of a task, investigation or countermeasure named in a form, if it exists
/// and belongs to this incident.
async fn work_item<T, F, Fut>(raw: &str, load: F, incident_of: fn(&T) -> Uuid, incident: Uuid) -> Option<Uuid>
where
    F: FnOnce(Uuid) -> Fut,
    Fut: std::future::Future<Output = rampart_store::Result<Option<T>>>,
{
    let id: Uuid = raw.trim().parse().ok()?;
    let item = load(id).await.ok()??;
    (incident_of(&item) == incident).then_some(id)
}

/// Evidence is always a download, never rendered: no type sniffing, no inline.
pub async fn attachment(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<Uuid>) -> Response {
    let (_, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let store = &*state.store;
    let attachment = match svc::readable_attachment(store, &principal.policy_caller(), state.operator_org_id, id).await {
        Ok(Some(a)) => a,
        Ok(None) => return error_page(&state, &headers, Some(&principal), StatusCode::NOT_FOUND, "error.not_found"),
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let Some(path) = state.evidence.path_of(&attachment.sha256) else {
        return internal_error(&state, &headers, &principal, "bad digest");
    };
    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    if let Err(e) = store
        .incidents()
        .record_custody(&Actor::User(principal.user.id), id, "exported", &format!("downloaded by {}", principal.user.email))
        .await
    {
        return internal_error(&state, &headers, &principal, e);
    }
    let ascii: String = attachment.filename.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    let encoded: String = attachment
        .filename
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b".-_".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::HeaderName::from_static("x-evidence-sha256"), attachment.sha256.clone()),
        ],
        bytes,
    )
        .into_response()
}
