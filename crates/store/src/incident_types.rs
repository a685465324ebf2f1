//! Inputs and filters of the incident store.

use chrono::{DateTime, Utc};
use rampart_core::incident::{IncidentStatus, ReportStatus};
use rampart_core::records::TimelineKind;
use uuid::Uuid;

/// Where a list continues: after the row with this creation time and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    /// `2026-11-22T10:00:00.123456Z_<uuid>`, opaque to API users.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true), self.id)
    }

    pub fn decode(s: &str) -> Option<Self> {
        let (at, id) = s.split_once('_')?;
        Some(Cursor { created_at: DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc), id: id.parse().ok()? })
    }
}

#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub status: Option<IncidentStatus>,
    pub org_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    /// Assigned to this user or to one of their teams.
    pub assigned_to_or_team_of: Option<Uuid>,
    pub severity: Option<rampart_core::incident::Severity>,
    /// Full-text search over title and description.
    pub text: Option<String>,
    pub after: Option<Cursor>,
    pub limit: i64,
}

#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub status: Option<ReportStatus>,
    pub org_id: Option<Uuid>,
    pub after: Option<Cursor>,
    pub limit: i64,
}

#[derive(Debug, Clone)]
pub struct NewTimelineEntry {
    pub kind: TimelineKind,
    pub event_at: DateTime<Utc>,
    pub actor: String,
    pub body: String,
}

/// An attachment whose bytes are already stored under their SHA-256.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub sha256: String,
    pub size: i64,
    pub filename: String,
    pub content_type: String,
    pub report_id: Option<Uuid>,
    pub incident_id: Option<Uuid>,
}

/// What to do with a report at triage.
#[derive(Debug, Clone)]
pub enum Triage {
    /// Mark triaged, leave it unlinked for now.
    Accept,
    Reject,
    /// Link to an existing incident.
    Link(Uuid),
    /// Open a new incident from the report.
    Promote(rampart_core::records::IncidentFields),
}

pub use rampart_core::records::CustodyEntry;
