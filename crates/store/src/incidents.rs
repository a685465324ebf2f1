//! The incident store: reports, incidents, their milestones, observables, timeline
//! and evidence. Implemented by both backends through [`crate::incident_sql`].

use crate::{Actor, Cursor, CustodyEntry, IncidentFilter, NewAttachment, NewTimelineEntry, ReportFilter, Result, Triage};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rampart_core::incident::IncidentStatus;
use rampart_core::observables::Observable;
use rampart_core::records::{Attachment, Incident, IncidentFields, NewReport, Report, TimelineEntry};
use std::collections::BTreeMap;
use uuid::Uuid;

#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// Stores a report with a new `RPT-YYYY-NNNNNN` reference and its observables.
    async fn create_report(&self, actor: &Actor, new: NewReport, observables: &[Observable]) -> Result<Report>;
    async fn get_report(&self, id: Uuid) -> Result<Option<Report>>;
    async fn find_report_by_reference(&self, reference: &str) -> Result<Option<Report>>;
    /// The report a reporter's status link points to.
    async fn find_report_by_status_secret(&self, digest: &str) -> Result<Option<Report>>;
    async fn list_reports(&self, filter: &ReportFilter) -> Result<Vec<Report>>;
    async fn report_observables(&self, report_id: Uuid) -> Result<Vec<Observable>>;
    /// Triage: accept, reject, link to an incident or open one. Returns the report
    /// and, when linked or promoted, the incident.
    async fn triage_report(&self, actor: &Actor, report_id: Uuid, triage: Triage) -> Result<(Report, Option<Incident>)>;

    async fn create_incident(&self, actor: &Actor, fields: IncidentFields, observables: &[Observable]) -> Result<Incident>;
    async fn get_incident(&self, id: Uuid) -> Result<Option<Incident>>;
    async fn find_incident_by_reference(&self, reference: &str) -> Result<Option<Incident>>;
    async fn update_incident(&self, actor: &Actor, id: Uuid, fields: IncidentFields) -> Result<Incident>;
    async fn set_incident_status(&self, actor: &Actor, id: Uuid, status: IncidentStatus) -> Result<Incident>;
    /// Keyset-paged, newest first.
    async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>>;
    async fn incident_report_ids(&self, id: Uuid) -> Result<Vec<Uuid>>;

    /// Records (or moves) a milestone such as `aware` or `reported`.
    async fn set_milestone(&self, actor: &Actor, incident_id: Uuid, name: &str, at: DateTime<Utc>) -> Result<()>;
    async fn milestones(&self, incident_id: Uuid) -> Result<BTreeMap<String, DateTime<Utc>>>;

    async fn add_incident_observables(&self, incident_id: Uuid, observables: &[Observable]) -> Result<()>;
    async fn incident_observables(&self, incident_id: Uuid) -> Result<Vec<Observable>>;
    /// Other incidents sharing an observable with this one (at most `limit`).
    async fn related_incidents(&self, incident_id: Uuid, limit: i64) -> Result<Vec<(Uuid, Observable)>>;
    /// Incidents that have this observable.
    async fn incidents_with_observable(&self, observable: &Observable, limit: i64) -> Result<Vec<Uuid>>;

    /// Adds to an incident's or a report's timeline (exactly one of the two).
    async fn add_timeline(
        &self,
        actor: &Actor,
        incident_id: Option<Uuid>,
        report_id: Option<Uuid>,
        entry: NewTimelineEntry,
    ) -> Result<TimelineEntry>;
    async fn incident_timeline(&self, incident_id: Uuid) -> Result<Vec<TimelineEntry>>;
    async fn report_timeline(&self, report_id: Uuid) -> Result<Vec<TimelineEntry>>;

    /// Records an attachment (its bytes are stored already) with a `received` custody entry.
    async fn add_attachment(&self, actor: &Actor, new: NewAttachment) -> Result<Attachment>;
    async fn get_attachment(&self, id: Uuid) -> Result<Option<Attachment>>;
    async fn attachments_of(&self, report_id: Option<Uuid>, incident_id: Option<Uuid>) -> Result<Vec<Attachment>>;
    async fn record_custody(&self, actor: &Actor, attachment_id: Uuid, action: &str, detail: &str) -> Result<()>;
    async fn custody(&self, attachment_id: Uuid) -> Result<Vec<CustodyEntry>>;
}

/// The cursor after the last row of a page, if the page was full.
pub fn next_cursor(rows: &[Incident], limit: i64) -> Option<Cursor> {
    (rows.len() as i64 == limit).then(|| rows.last().map(|i| Cursor { created_at: i.created_at, id: i.id })).flatten()
}

/// Quotes each word for FTS5 so user input is never read as query syntax.
pub(crate) fn fts5_query(text: &str) -> String {
    text.split_whitespace().take(16).map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect::<Vec<_>>().join(" ")
}
