//! Page structs for reporting and incident handling.

use super::pages::{Opt, PageCtx};
use askama::Template;

/// The public report form (`GET /report`), and the constituent form when signed in.
#[derive(Template)]
#[template(path = "report_form.html")]
pub struct ReportFormPage {
    pub page: PageCtx,
    /// Name of the honeypot field (a trap for robots).
    pub honeypot_name: String,
    pub max_attachments: usize,
    pub max_attachment_mb: u64,
    /// RSIT classes, value = class code.
    pub categories: Vec<Opt>,
    /// Signed in as a constituent: show level, CIA impact and services fields.
    pub constituent: bool,
    pub levels: Vec<Opt>,
    pub impacts: Vec<Opt>,
    /// What the reporter typed, shown again when a submission is refused.
    pub values: ReportFormValues,
}

/// The text fields of the report form.
#[derive(Debug, Clone, Default)]
pub struct ReportFormValues {
    pub title: String,
    pub description: String,
    pub started_at: String,
    pub noticed_at: String,
    pub affected: String,
    pub category: String,
    pub reporter_name: String,
    pub reporter_email: String,
    pub reporter_org: String,
    pub ci_services: String,
}

#[derive(Template)]
#[template(path = "report_received.html")]
pub struct ReportReceivedPage {
    pub page: PageCtx,
    pub reference: String,
    /// The secret status link, absolute.
    pub status_url: String,
    pub acknowledgement_sent: bool,
}

#[derive(Debug, Clone)]
pub struct TimelineRow {
    pub at: String,
    pub recorded_at: String,
    pub kind: String,
    pub kind_label: String,
    pub actor: String,
    pub body: String,
}

#[derive(Template)]
#[template(path = "report_status.html")]
pub struct ReportStatusPage {
    pub page: PageCtx,
    pub reference: String,
    pub status: String,
    pub status_label: String,
    pub received_at: String,
    pub incident_reference: String,
}

#[derive(Debug, Clone)]
pub struct ReportRow {
    pub id: String,
    pub reference: String,
    pub title: String,
    pub channel_label: String,
    pub status_label: String,
    pub received_at: String,
    pub quarantined: bool,
}

#[derive(Debug, Clone)]
pub struct IncidentRow {
    pub id: String,
    pub reference: String,
    pub title: String,
    pub status: String,
    pub status_label: String,
    pub severity: String,
    pub severity_label: String,
    /// "1".."4" or empty.
    pub level: String,
    /// RFC 3339 of the earliest open legal deadline, or empty.
    pub next_due: String,
    pub overdue: bool,
    /// Assigned to the signed-in analyst.
    pub mine: bool,
}

/// The analyst queue (`GET /queue`): new reports, then incidents with overdue clocks first.
#[derive(Template)]
#[template(path = "queue.html")]
pub struct QueuePage {
    pub page: PageCtx,
    pub reports: Vec<ReportRow>,
    pub incidents: Vec<IncidentRow>,
    /// Showing only the incidents assigned to the analyst.
    pub only_mine: bool,
}

#[derive(Debug, Clone)]
pub struct AttachmentRow {
    pub id: String,
    pub filename: String,
    pub size: String,
    pub sha256: String,
}

/// An analyst's view of one report (`GET /reports/{id}`), with the triage form.
#[derive(Template)]
#[template(path = "report.html")]
pub struct ReportPage {
    pub page: PageCtx,
    pub id: String,
    pub reference: String,
    pub title: String,
    pub description: String,
    pub status_label: String,
    pub channel_label: String,
    pub reporter: String,
    pub received_at: String,
    pub affected: String,
    pub observables: Vec<String>,
    pub attachments: Vec<AttachmentRow>,
    /// Not yet linked or rejected: show the triage form.
    pub can_triage: bool,
    pub incident_id: String,
    /// `class/type` pairs of the RSIT taxonomy.
    pub rsit: Vec<Opt>,
    pub levels: Vec<Opt>,
    pub severities: Vec<Opt>,
    /// Open incidents to link to.
    pub incidents: Vec<Opt>,
}

#[derive(Debug, Clone)]
pub struct DeadlineRow {
    pub regime_label: String,
    pub obligation_label: String,
    pub legal: bool,
    /// RFC 3339, or empty when the clock has not started.
    pub due_at: String,
    /// Shown in the organisation's time zone.
    pub due_display: String,
    pub met_display: String,
    /// `pending`, `due`, `met`, `met_late`, `overdue`.
    pub state: String,
    pub state_label: String,
}

#[derive(Debug, Clone)]
pub struct ObservableRow {
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone)]
pub struct RelatedRow {
    pub id: String,
    pub reference: String,
    pub via: String,
}

/// The incident page (`GET /incidents/{id}`).
#[derive(Template)]
#[template(path = "incident.html")]
pub struct IncidentPage {
    pub page: PageCtx,
    pub id: String,
    pub reference: String,
    pub title: String,
    pub description: String,
    pub status: String,
    pub status_label: String,
    pub severity_label: String,
    pub tlp: String,
    pub level: String,
    pub rsit_label: String,
    pub org_name: String,
    pub deadlines: Vec<DeadlineRow>,
    pub observables: Vec<ObservableRow>,
    pub related: Vec<RelatedRow>,
    pub timeline: Vec<TimelineRow>,
    pub attachments: Vec<AttachmentRow>,
    /// Statuses the incident may move to now.
    pub next_statuses: Vec<Opt>,
    pub levels: Vec<Opt>,
    pub severities: Vec<Opt>,
    /// Milestones an analyst can record (aware, reported, …).
    pub milestones: Vec<Opt>,
    /// CERT staff an incident can be assigned to.
    pub staff: Vec<Opt>,
    pub assignee_id: String,
    pub teams: Vec<Opt>,
    pub team_id: String,
    pub tasks: Vec<TaskRow>,
    pub investigations: Vec<InvestigationRow>,
    pub countermeasures: Vec<CountermeasureRow>,
    pub countermeasure_kinds: Vec<Opt>,
}

#[derive(Debug, Clone)]
pub struct TaskRow {
    pub id: String,
    pub title: String,
    pub due_display: String,
    pub done: bool,
}

#[derive(Debug, Clone)]
pub struct InvestigationRow {
    pub id: String,
    pub party: String,
    pub contact: String,
    pub open: bool,
    pub status_label: String,
}

#[derive(Debug, Clone)]
pub struct CountermeasureRow {
    pub id: String,
    pub kind_label: String,
    pub target: String,
    pub status: String,
    pub status_label: String,
    /// Statuses it may move to now.
    pub next: Vec<Opt>,
}

/// A printable, self-contained export of an incident for the authorities' report.
#[derive(Template)]
#[template(path = "export.html")]
pub struct ExportPage {
    pub page: PageCtx,
    pub reference: String,
    pub title: String,
    pub description: String,
    pub tlp: String,
    pub status_label: String,
    pub severity_label: String,
    pub level: String,
    pub rsit_label: String,
    pub generated_at: String,
    pub deadlines: Vec<DeadlineRow>,
    pub timeline: Vec<TimelineRow>,
    pub observables: Vec<ObservableRow>,
}

#[derive(Debug, Clone)]
pub struct PortalIncident {
    pub reference: String,
    pub title: String,
    pub status: String,
    pub status_label: String,
    pub level: String,
    pub updated: String,
}

#[derive(Debug, Clone)]
pub struct PortalReport {
    pub reference: String,
    pub title: String,
    pub status: String,
    pub status_label: String,
    pub received: String,
    pub incident: String,
}

/// The constituent portal: an organisation's own reports and incidents.
#[derive(Template)]
#[template(path = "portal.html")]
pub struct PortalPage {
    pub page: PageCtx,
    pub incidents: Vec<PortalIncident>,
    pub reports: Vec<PortalReport>,
}
