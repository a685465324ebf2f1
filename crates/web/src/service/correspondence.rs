//! Mail from an incident or report: to the reporter, a constituent or an outside
//! party. Sent through the relay, then put on the timeline; the first message to
//! the reporter meets the "first response" service level.

use super::{ServiceError, ServiceResult};
use chrono::Utc;
use rampart_core::records::{TimelineEntry, TimelineKind};
use rampart_notify::smtp::{tagged_subject, Mailer, Outgoing};
use rampart_store::{Actor, NewTimelineEntry, Store};
use uuid::Uuid;

/// Where a message belongs.
#[derive(Debug, Clone, Copy)]
pub enum Record {
    Incident(Uuid),
    Report(Uuid),
}

pub async fn send(
    store: &dyn Store,
    mailer: Option<&Mailer>,
    actor: &Actor,
    record: Record,
    reference: &str,
    mail: Outgoing,
) -> ServiceResult<TimelineEntry> {
    let mailer = mailer.ok_or_else(|| ServiceError::Invalid("no SMTP relay is configured (smtp.relay)".into()))?;
    let to = rampart_core::account::normalise_email(&mail.to)
        .map_err(|_| ServiceError::Invalid("the recipient's address is not valid".into()))?;
    let body = mail.body.trim().to_string();
    if body.is_empty() || body.len() > rampart_core::records::MAX_TEXT_BYTES {
        return Err(ServiceError::Invalid("a message needs text (at most 256 KiB)".into()));
    }
    let outgoing =
        Outgoing { to: to.clone(), subject: tagged_subject(reference, mail.subject.trim()), body, in_reply_to: mail.in_reply_to };
    let message_id = mailer.send(&outgoing).await.map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let now = Utc::now();
    let text = format!("To: {to}\nSubject: {}\nMessage-ID: {message_id}\n\n{}", outgoing.subject, outgoing.body);
    let entry = NewTimelineEntry { kind: TimelineKind::MailOut, event_at: now, actor: actor.to_string(), body: text };
    let (incident, report) = match record {
        Record::Incident(i) => (Some(i), None),
        Record::Report(r) => (None, Some(r)),
    };
    let entry = store.incidents().add_timeline(actor, incident, report, entry).await?;
    if let Some(incident) = incident {
        if !store.incidents().milestones(incident).await?.contains_key("first_response") {
            store.incidents().set_milestone(actor, incident, "first_response", now).await?;
        }
    }
    Ok(entry)
}
