//! Reports, incidents and what hangs off them, as stored and as returned by the API.

use crate::deadlines::Deadline;
use crate::incident::{Impact, IncidentStatus, ReportStatus, Severity, TwLevel};
use crate::observables::Observable;
use crate::tlp::{Pap, Tlp};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

crate::wire_enum! {
    /// How a report reached the CERT.
    Channel, "channel" {
        Web => "web",
        Portal => "portal",
        Mail => "mail",
        Api => "api",
    }
}

/// Impact on confidentiality, integrity and availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CiaImpact {
    pub confidentiality: Impact,
    pub integrity: Impact,
    pub availability: Impact,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    pub id: Uuid,
    /// e.g. `RPT-2026-000042`
    pub reference: String,
    pub status: ReportStatus,
    pub channel: Channel,
    /// A message that could not be parsed, kept as received.
    pub quarantined: bool,
    pub reporter_name: Option<String>,
    pub reporter_email: Option<String>,
    pub reporter_org: Option<String>,
    pub submitted_by: Option<Uuid>,
    /// The constituent organisation the report is from, when known.
    pub org_id: Option<Uuid>,
    pub title: String,
    pub description: String,
    pub started_at: Option<DateTime<Utc>>,
    pub noticed_at: Option<DateTime<Utc>>,
    /// Affected systems as the reporter wrote them.
    pub affected: String,
    pub suggested_category: Option<String>,
    pub tw_level: Option<TwLevel>,
    pub impact: Option<CiaImpact>,
    pub ci_services: Option<String>,
    pub tlp: Tlp,
    pub incident_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A report as submitted, before it has an id and reference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewReport {
    pub channel: Option<Channel>,
    pub quarantined: bool,
    pub reporter_name: Option<String>,
    pub reporter_email: Option<String>,
    pub reporter_org: Option<String>,
    pub submitted_by: Option<Uuid>,
    pub org_id: Option<Uuid>,
    pub title: String,
    pub description: String,
    pub started_at: Option<DateTime<Utc>>,
    pub noticed_at: Option<DateTime<Utc>>,
    pub affected: String,
    pub suggested_category: Option<String>,
    pub tw_level: Option<TwLevel>,
    pub impact: Option<CiaImpact>,
    pub ci_services: Option<String>,
    pub tlp: Option<Tlp>,
    /// Digest of the reporter's status-page secret.
    pub status_secret_digest: Option<String>,
}

pub const MAX_TITLE_CHARS: usize = 300;
pub const MAX_TEXT_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("describe what happened (at most {MAX_TEXT_BYTES} bytes)")]
    Description,
    #[error("the title must be at most {MAX_TITLE_CHARS} characters without control characters")]
    Title,
    #[error("{0} is too long")]
    TooLong(&'static str),
    #[error("the reporter's e-mail address is not valid")]
    Email,
    #[error("an incident was noticed before it started")]
    Times,
}

fn clean_optional(value: Option<String>, max: usize, what: &'static str) -> Result<Option<String>, ReportError> {
    match value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) {
        Some(v) if v.len() > max => Err(ReportError::TooLong(what)),
        other => Ok(other),
    }
}

impl NewReport {
    /// Trims and checks what a reporter sent. A missing title is made from the
    /// description, so no report is refused for lacking one.
    pub fn validate(mut self) -> Result<Self, ReportError> {
        self.description = self.description.trim().to_string();
        if self.description.is_empty() && !self.quarantined || self.description.len() > MAX_TEXT_BYTES {
            return Err(ReportError::Description);
        }
        self.title = self.title.trim().to_string();
        if self.title.is_empty() {
            self.title = self.description.lines().next().unwrap_or("").chars().take(120).collect();
        }
        if self.title.chars().count() > MAX_TITLE_CHARS || self.title.chars().any(char::is_control) {
            return Err(ReportError::Title);
        }
        self.reporter_name = clean_optional(self.reporter_name, 200, "the reporter's name")?;
        self.reporter_org = clean_optional(self.reporter_org, 300, "the organisation")?;
        self.suggested_category = clean_optional(self.suggested_category, 100, "the category")?;
        self.ci_services = clean_optional(self.ci_services, 4096, "the affected services")?;
        self.affected = self.affected.trim().to_string();
        if self.affected.len() > MAX_TEXT_BYTES {
            return Err(ReportError::TooLong("the list of affected systems"));
        }
        self.reporter_email = match clean_optional(self.reporter_email, 254, "the e-mail address")? {
            Some(e) => Some(crate::account::normalise_email(&e).map_err(|_| ReportError::Email)?),
            None => None,
        };
        if let (Some(started), Some(noticed)) = (self.started_at, self.noticed_at) {
            if noticed < started {
                return Err(ReportError::Times);
            }
        }
        Ok(self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Incident {
    pub id: Uuid,
    /// e.g. `INC-2026-000123`
    pub reference: String,
    pub title: String,
    pub description: String,
    pub status: IncidentStatus,
    pub rsit_class: Option<String>,
    pub rsit_type: Option<String>,
    pub tlp: Tlp,
    pub pap: Pap,
    pub severity: Severity,
    pub tw_level: Option<TwLevel>,
    pub sector: Option<String>,
    /// The constituent organisation affected.
    pub org_id: Option<Uuid>,
    pub nis2_significant: bool,
    pub assignee_id: Option<Uuid>,
    /// The team the incident is assigned to.
    pub team_id: Option<Uuid>,
    pub merged_into: Option<Uuid>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Classification and handling fields of an incident; every field is optional when
/// updating.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentFields {
    pub title: Option<String>,
    pub description: Option<String>,
    pub rsit_class: Option<String>,
    pub rsit_type: Option<String>,
    pub tlp: Option<Tlp>,
    pub pap: Option<Pap>,
    pub severity: Option<Severity>,
    /// 1–4; `0` clears it.
    pub tw_level: Option<u8>,
    pub sector: Option<String>,
    pub org_id: Option<Uuid>,
    pub nis2_significant: Option<bool>,
    /// The nil id (`00000000-0000-0000-0000-000000000000`) clears the assignment.
    pub assignee_id: Option<Uuid>,
    /// The nil id clears the team.
    pub team_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncidentError {
    #[error("the title must be 1 to {MAX_TITLE_CHARS} characters")]
    Title,
    #[error("the description is too long")]
    Description,
    #[error("{0}/{1} is not an RSIT class and type")]
    Rsit(String, String),
    #[error("give both the RSIT class and type")]
    RsitIncomplete,
    #[error("incident level must be 1 to 4")]
    Level,
    #[error("unknown sector")]
    Sector,
}

impl IncidentFields {
    pub fn validate(mut self) -> Result<Self, IncidentError> {
        if let Some(title) = &mut self.title {
            *title = title.trim().to_string();
            if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS || title.chars().any(char::is_control) {
                return Err(IncidentError::Title);
            }
        }
        if self.description.as_ref().is_some_and(|d| d.len() > MAX_TEXT_BYTES) {
            return Err(IncidentError::Description);
        }
        match (&self.rsit_class, &self.rsit_type) {
            (Some(c), Some(t)) if !crate::rsit::is_valid(c, t) => return Err(IncidentError::Rsit(c.clone(), t.clone())),
            (Some(_), None) | (None, Some(_)) => return Err(IncidentError::RsitIncomplete),
            _ => {}
        }
        if self.tw_level.is_some_and(|l| l > 4) {
            return Err(IncidentError::Level);
        }
        if self.sector.as_deref().is_some_and(|s| !s.is_empty() && crate::sectors::find(s).is_none()) {
            return Err(IncidentError::Sector);
        }
        Ok(self)
    }
}

crate::wire_enum! {
    TimelineKind, "timeline entry kind" {
        Note => "note",
        MailIn => "mail_in",
        MailOut => "mail_out",
        Status => "status",
        Milestone => "milestone",
        Classification => "classification",
        Evidence => "evidence",
        Link => "link",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub id: Uuid,
    pub incident_id: Option<Uuid>,
    pub report_id: Option<Uuid>,
    pub kind: TimelineKind,
    /// When it happened (may be earlier than recorded).
    pub event_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    pub id: Uuid,
    pub sha256: String,
    pub size: i64,
    pub filename: String,
    pub content_type: String,
    pub report_id: Option<Uuid>,
    pub incident_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A chain-of-custody entry: who did what with a piece of evidence, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustodyEntry {
    /// `received`, `viewed`, `exported`, …
    pub action: String,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub detail: String,
}

/// An incident with what its page shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: Incident,
    pub deadlines: Vec<Deadline>,
    pub observables: Vec<Observable>,
    pub report_ids: Vec<Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_cleaned_and_checked() {
        let r = NewReport {
            description: "  Our web server was defaced.\nDetails…  ".into(),
            reporter_email: Some(" A@B.TW ".into()),
            ..Default::default()
        };
        let r = r.validate().unwrap();
        assert_eq!(r.title, "Our web server was defaced.");
        assert_eq!(r.reporter_email.as_deref(), Some("a@b.tw"));
        assert_eq!(NewReport::default().validate(), Err(ReportError::Description));
        let quarantined = NewReport { quarantined: true, ..Default::default() };
        assert!(quarantined.validate().is_ok(), "a raw message is kept even without text");
        let bad_mail = NewReport { description: "x".into(), reporter_email: Some("nope".into()), ..Default::default() };
        assert_eq!(bad_mail.validate(), Err(ReportError::Email));
    }

    #[test]
    fn incident_fields_are_checked() {
        let ok = IncidentFields {
            rsit_class: Some("fraud".into()),
            rsit_type: Some("phishing".into()),
            tw_level: Some(3),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        let half = IncidentFields { rsit_class: Some("fraud".into()), ..Default::default() };
        assert_eq!(half.validate(), Err(IncidentError::RsitIncomplete));
        let wrong = IncidentFields { rsit_class: Some("fraud".into()), rsit_type: Some("spam".into()), ..Default::default() };
        assert!(matches!(wrong.validate(), Err(IncidentError::Rsit(..))));
        assert_eq!(IncidentFields { tw_level: Some(5), ..Default::default() }.validate(), Err(IncidentError::Level));
    }
}
