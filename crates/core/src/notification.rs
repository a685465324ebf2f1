//! Notifications to constituents: directives (one thing to tell one recipient),
//! aggregated into messages at most once per interval, sent from an outbox.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

crate::wire_enum! {
    NotificationFormat, "notification format" {
        TextCsv => "text_csv",
        Xarf => "xarf",
    }
}

crate::wire_enum! {
    /// Where a message is on its way out. `sending` is a lease: a sender that dies
    /// leaves it to expire, and the message goes again with the same Message-ID.
    NotificationStatus, "notification status" {
        Queued => "queued",
        Sending => "sending",
        Sent => "sent",
        Deferred => "deferred",
        Bounced => "bounced",
        Failed => "failed",
    }
}

crate::wire_enum! {
    /// What a directive tells about.
    DirectiveSource, "directive source" {
        Incident => "incident",
        Feed => "feed",
        Advisory => "advisory",
        Manual => "manual",
    }
}

/// The notification kinds that have templates.
pub const TEMPLATE_KINDS: &[&str] = &["feed_events", "incident"];

/// One thing to tell one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Directive {
    pub id: Uuid,
    pub org_id: Option<Uuid>,
    pub recipient: String,
    pub template_kind: String,
    pub language: String,
    pub format: NotificationFormat,
    /// Directives with equal recipient, template, format and key travel together.
    pub aggregation_key: String,
    pub interval_secs: i64,
    /// Identifies the event for "already notified within the interval".
    pub event_key: String,
    pub event: BTreeMap<String, String>,
    pub source: DirectiveSource,
    pub source_id: Option<String>,
    pub incident_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub notification_id: Option<Uuid>,
}

/// A directive as a producer hands it over; the service fills in recipient and
/// language from the registry when they are not given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDirective {
    /// The organisation to tell; found by routing `event["source.ip"]` (or
    /// `source.fqdn`, `source.asn`) when omitted.
    #[serde(default)]
    pub org_id: Option<Uuid>,
    /// Overrides the organisation's abuse contact.
    #[serde(default)]
    pub recipient: Option<String>,
    #[serde(default = "default_kind")]
    pub template_kind: String,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default = "default_format")]
    pub format: NotificationFormat,
    /// Default: the event's `classification.type`.
    #[serde(default)]
    pub aggregation_key: Option<String>,
    /// Default: one day.
    #[serde(default)]
    pub interval_secs: Option<i64>,
    pub event: BTreeMap<String, String>,
    #[serde(default = "default_source")]
    pub source: DirectiveSource,
    #[serde(default)]
    pub source_id: Option<String>,
    #[serde(default)]
    pub incident_id: Option<Uuid>,
}

fn default_kind() -> String {
    "feed_events".into()
}
fn default_format() -> NotificationFormat {
    NotificationFormat::TextCsv
}
fn default_source() -> DirectiveSource {
    DirectiveSource::Manual
}

pub const DEFAULT_INTERVAL_SECS: i64 = 86_400;
/// Most fields an event may carry, and how long a value may be; a feed row is small.
pub const MAX_EVENT_FIELDS: usize = 200;
pub const MAX_FIELD_LEN: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectiveError {
    #[error("unknown notification kind {0:?} (known: feed_events, incident)")]
    UnknownKind(String),
    #[error("the interval must be between 60 seconds and 30 days")]
    BadInterval,
    #[error("an event needs at least one field and at most 200, names of [A-Za-z0-9._-] up to 100 characters and values up to 4096")]
    BadEvent,
    #[error("aggregation keys are at most 200 characters without control characters")]
    BadKey,
}

impl NewDirective {
    /// Checks the producer's part; returns the aggregation key, interval and event key.
    pub fn check(&self) -> Result<(String, i64, String), DirectiveError> {
        if !TEMPLATE_KINDS.contains(&self.template_kind.as_str()) {
            return Err(DirectiveError::UnknownKind(self.template_kind.chars().take(40).collect()));
        }
        let interval = self.interval_secs.unwrap_or(DEFAULT_INTERVAL_SECS);
        if !(60..=30 * 86_400).contains(&interval) {
            return Err(DirectiveError::BadInterval);
        }
        let names_ok =
            self.event.keys().all(|k| (1..=100).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
        if self.event.is_empty() || self.event.len() > MAX_EVENT_FIELDS || !names_ok || self.event.values().any(|v| v.len() > MAX_FIELD_LEN)
        {
            return Err(DirectiveError::BadEvent);
        }
        let key = match &self.aggregation_key {
            Some(k) => k.trim().to_string(),
            None => self.event.get("classification.type").cloned().unwrap_or_else(|| self.template_kind.clone()),
        };
        if key.chars().count() > 200 || key.chars().any(char::is_control) {
            return Err(DirectiveError::BadKey);
        }
        Ok((key, interval, event_key(&self.event)))
    }
}

/// What makes two events "the same" for suppression within an interval: the fields
/// that describe what was seen, not when. `raw` and times are left out.
pub fn event_key(event: &BTreeMap<String, String>) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for (k, v) in event {
        if k == "raw" || k.starts_with("time.") {
            continue;
        }
        hash.update(k.as_bytes());
        hash.update([0]);
        hash.update(v.as_bytes());
        hash.update([0]);
    }
    data_encoding::HEXLOWER.encode(&hash.finalize())
}

/// A message to a recipient, carrying one or more directives' events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: Uuid,
    /// `NTF-2026-000001`, tagged in the subject so replies come back.
    pub reference: String,
    pub org_id: Option<Uuid>,
    pub recipient: String,
    pub cc: Vec<String>,
    pub template_kind: String,
    pub language: String,
    pub format: NotificationFormat,
    pub aggregation_key: String,
    pub subject: String,
    pub message_id: String,
    pub event_count: i64,
    pub signed: bool,
    pub encrypted: bool,
    pub status: NotificationStatus,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub incident_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// One line of a message's delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeliveryLogEntry {
    pub notification_id: Uuid,
    pub at: DateTime<Utc>,
    /// `queued`, `sent`, `deferred`, `bounced`, `failed`, `reply`.
    pub status: String,
    pub detail: String,
}

crate::wire_enum! {
    /// `suppress`: do not notify; `copy`: send a copy to `copy_to` as well (e.g. a sector ISAC).
    SuppressionAction, "suppression action" {
        Suppress => "suppress",
        Copy => "copy",
    }
}

/// "Do not notify org X about type Y", "send copies to sector ISAC Z".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SuppressionRule {
    pub id: Uuid,
    /// Any organisation when empty.
    pub org_id: Option<Uuid>,
    /// Organisations of this sector; any when empty.
    pub sector: Option<String>,
    /// `classification.type`; any when empty.
    pub classification_type: Option<String>,
    pub action: SuppressionAction,
    pub copy_to: Option<String>,
    pub comment: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSuppressionRule {
    #[serde(default)]
    pub org_id: Option<Uuid>,
    #[serde(default)]
    pub sector: Option<String>,
    #[serde(default)]
    pub classification_type: Option<String>,
    pub action: SuppressionAction,
    #[serde(default)]
    pub copy_to: Option<String>,
    #[serde(default)]
    pub comment: String,
}

impl SuppressionRule {
    pub fn applies(&self, org_id: Option<Uuid>, sector: Option<&str>, classification_type: Option<&str>) -> bool {
        self.org_id.is_none_or(|o| Some(o) == org_id)
            && self.sector.as_deref().is_none_or(|s| Some(s) == sector)
            && self.classification_type.as_deref().is_none_or(|t| Some(t) == classification_type)
    }
}

/// Retry schedule: `first`, then doubling, capped at an hour, for up to three days,
/// so a relay that is down for an hour loses nothing.
pub fn retry_delay(attempts: i64, first: chrono::Duration) -> chrono::Duration {
    let factor = 1i32 << attempts.clamp(0, 12);
    (first * factor).min(chrono::Duration::hours(1))
}
pub const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::days(3);

/// A stored template for one kind and language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredTemplate {
    pub kind: String,
    pub language: String,
    pub subject: String,
    pub body: String,
    pub updated_at: Option<DateTime<Utc>>,
    /// False when this is the shipped default (never edited).
    pub customised: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directive(event: &[(&str, &str)]) -> NewDirective {
        NewDirective {
            org_id: None,
            recipient: None,
            template_kind: "feed_events".into(),
            language: None,
            format: NotificationFormat::TextCsv,
            aggregation_key: None,
            interval_secs: None,
            event: event.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            source: DirectiveSource::Feed,
            source_id: None,
            incident_id: None,
        }
    }

    #[test]
    fn the_event_key_ignores_times_and_raw() {
        let a = directive(&[("source.ip", "192.0.2.1"), ("time.source", "2026-01-01T00:00:00Z"), ("raw", "x")]);
        let b = directive(&[("source.ip", "192.0.2.1"), ("time.source", "2026-02-01T00:00:00Z")]);
        assert_eq!(a.check().unwrap().2, b.check().unwrap().2);
        let c = directive(&[("source.ip", "192.0.2.2")]);
        assert_ne!(a.check().unwrap().2, c.check().unwrap().2);
    }

    #[test]
    fn checks_refuse_bad_directives() {
        let mut d = directive(&[("classification.type", "vulnerable-service")]);
        assert_eq!(d.check().unwrap().0, "vulnerable-service");
        d.interval_secs = Some(5);
        assert_eq!(d.check(), Err(DirectiveError::BadInterval));
        assert_eq!(directive(&[]).check(), Err(DirectiveError::BadEvent));
        assert_eq!(directive(&[("bad name", "x")]).check(), Err(DirectiveError::BadEvent));
        let mut d = directive(&[("a", "b")]);
        d.template_kind = "nope".into();
        assert!(matches!(d.check(), Err(DirectiveError::UnknownKind(_))));
    }

    #[test]
    fn retries_back_off_to_an_hour() {
        let minute = chrono::Duration::minutes(1);
        assert_eq!(retry_delay(0, minute), chrono::Duration::minutes(1));
        assert_eq!(retry_delay(3, minute), chrono::Duration::minutes(8));
        assert_eq!(retry_delay(40, minute), chrono::Duration::minutes(60));
    }

    #[test]
    fn rules_match_on_what_they_name() {
        let org = Uuid::now_v7();
        let rule = SuppressionRule {
            id: Uuid::now_v7(),
            org_id: Some(org),
            sector: None,
            classification_type: Some("scanner".into()),
            action: SuppressionAction::Suppress,
            copy_to: None,
            comment: String::new(),
            created_at: Utc::now(),
        };
        assert!(rule.applies(Some(org), None, Some("scanner")));
        assert!(!rule.applies(Some(org), None, Some("ddos")));
        assert!(!rule.applies(None, None, Some("scanner")));
    }
}
