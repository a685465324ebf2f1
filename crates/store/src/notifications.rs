//! Notification storage: templates, suppression rules, directives, the outbox and its
//! delivery log. Implemented by both backends through [`crate::notification_sql`].
//!
//! The outbox is the only copy of a message between composing and sending, so it
//! lives in the database: a sender claims a message with a lease, and a message whose
//! sender died goes again after the lease with the same Message-ID.

use crate::{Actor, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rampart_core::notification::{
    DeliveryLogEntry, Directive, DirectiveSource, Notification, NotificationFormat, NotificationStatus, StoredTemplate, SuppressionRule,
};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A checked directive ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectiveRecord {
    pub org_id: Option<Uuid>,
    pub recipient: String,
    pub template_kind: String,
    pub language: String,
    pub format: NotificationFormat,
    pub aggregation_key: String,
    pub interval_secs: i64,
    pub event_key: String,
    pub event: BTreeMap<String, String>,
    pub source: DirectiveSource,
    pub source_id: Option<String>,
    pub incident_id: Option<Uuid>,
}

/// Directives that travel together in one message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupKey {
    pub recipient: String,
    pub template_kind: String,
    pub format: NotificationFormat,
    pub aggregation_key: String,
}

/// A composed message to put in the outbox.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub id: Uuid,
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
    pub raw: Vec<u8>,
    pub signed: bool,
    pub encrypted: bool,
    pub incident_id: Option<Uuid>,
}

#[derive(Debug, Clone, Default)]
pub struct NotificationFilter {
    pub status: Option<NotificationStatus>,
    pub org_id: Option<Uuid>,
    pub incident_id: Option<Uuid>,
    pub limit: i64,
}

#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Templates that operators have edited; the shipped defaults fill the rest.
    async fn templates(&self) -> Result<Vec<StoredTemplate>>;
    async fn save_template(&self, actor: &Actor, kind: &str, language: &str, subject: &str, body: &str) -> Result<()>;
    /// Goes back to the shipped default.
    async fn reset_template(&self, actor: &Actor, kind: &str, language: &str) -> Result<()>;

    async fn add_rule(&self, actor: &Actor, rule: &SuppressionRule) -> Result<()>;
    async fn rules(&self) -> Result<Vec<SuppressionRule>>;
    async fn delete_rule(&self, actor: &Actor, id: Uuid) -> Result<()>;

    /// Stores directives, skipping any whose event went to the same recipient within
    /// its interval (or is waiting already). Returns the stored ones and how many were skipped.
    async fn add_directives(&self, actor: &Actor, directives: &[DirectiveRecord]) -> Result<(Vec<Directive>, usize)>;
    /// Groups with waiting directives whose last message is older than their interval.
    async fn due_groups(&self, now: DateTime<Utc>) -> Result<Vec<GroupKey>>;
    async fn waiting_directives(&self, key: &GroupKey) -> Result<Vec<Directive>>;
    async fn directives_of(&self, notification_id: Uuid) -> Result<Vec<Directive>>;
    /// A fresh `NTF-…` reference (numbers may have gaps; they never repeat).
    async fn next_notification_reference(&self) -> Result<String>;
    /// Puts a message in the outbox and attaches the directives it carries, at once.
    /// Fails with `Conflict` if one of them was taken by another message meanwhile.
    async fn enqueue(&self, actor: &Actor, new: NewNotification, directive_ids: &[Uuid]) -> Result<Notification>;

    /// Claims up to `limit` messages that are due (queued, deferred and due, or whose
    /// sender's lease ran out), leasing each until `lease_until`.
    async fn claim_due(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: i64) -> Result<Vec<(Notification, Vec<u8>)>>;
    /// Records the outcome of a send; `next_attempt_at` only for `deferred`.
    async fn record_attempt(
        &self,
        id: Uuid,
        status: NotificationStatus,
        detail: &str,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<Notification>;
    /// Adds a line to a message's delivery log (a reply, a bounce report).
    async fn log_delivery(&self, id: Uuid, status: &str, detail: &str) -> Result<()>;
    async fn delivery_log(&self, id: Uuid) -> Result<Vec<DeliveryLogEntry>>;

    async fn notifications(&self, filter: &NotificationFilter) -> Result<Vec<Notification>>;
    async fn get_notification(&self, id: Uuid) -> Result<Option<Notification>>;
    async fn find_notification(&self, reference_or_message_id: &str) -> Result<Option<Notification>>;
    /// The composed message as it was (or will be) sent.
    async fn notification_raw(&self, id: Uuid) -> Result<Option<Vec<u8>>>;
}
