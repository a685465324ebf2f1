//! Mail intake: a message piped in by the MTA becomes a new report, or lands on the
//! incident or report whose reference its subject carries. The raw message is kept
//! as evidence first, so nothing is lost whatever happens after.

use super::incidents::{submit_report, IncomingFile};
use super::ServiceResult;
use crate::evidence::{safe_filename, EvidenceStore};
use chrono::Utc;
use rampart_core::incident::RefKind;
use rampart_core::notification::Notification;
use rampart_core::records::{Channel, Incident, NewReport, Report, TimelineKind};
use rampart_notify::intake::{self, IncomingMail};
use rampart_notify::openpgp::{armored_block, Keyring};
use rampart_store::{Actor, NewAttachment, NewTimelineEntry, Store};

#[derive(Debug)]
pub enum Delivered {
    NewReport(Report),
    Incident(Incident),
    Report(Report),
    /// Could not be parsed; kept raw as a quarantined report.
    Quarantined(Report),
    /// A reply to, or a delivery report on, a notification Rampart sent.
    Notification(Notification),
}

impl Delivered {
    pub fn reference(&self) -> &str {
        match self {
            Delivered::NewReport(r) | Delivered::Report(r) | Delivered::Quarantined(r) => &r.reference,
            Delivered::Incident(i) => &i.reference,
            Delivered::Notification(n) => &n.reference,
        }
    }
}

/// The notification a reply or bounce is about: by the Message-IDs it refers to,
/// then by an `[NTF-…]` tag in the subject.
async fn notification_of(store: &dyn Store, mail: &IncomingMail) -> ServiceResult<Option<Notification>> {
    for id in &mail.refers_to {
        if let Some(n) = store.notifications().find_notification(id).await? {
            return Ok(Some(n));
        }
    }
    for reference in mail.references.iter().filter(|r| r.kind == RefKind::Notification) {
        if let Some(n) = store.notifications().find_notification(&reference.to_string()).await? {
            return Ok(Some(n));
        }
    }
    Ok(None)
}

/// Where a reply goes: the first reference in the subject that exists.
async fn target(store: &dyn Store, mail: &IncomingMail) -> ServiceResult<Option<Result<Incident, Report>>> {
    for reference in &mail.references {
        let text = reference.to_string();
        match reference.kind {
            RefKind::Incident => {
                if let Some(i) = store.incidents().find_incident_by_reference(&text).await? {
                    return Ok(Some(Ok(i)));
                }
            }
            RefKind::Report => {
                if let Some(r) = store.incidents().find_report_by_reference(&text).await? {
                    return Ok(Some(match r.incident_id {
                        Some(i) => store.incidents().get_incident(i).await?.map(Ok).unwrap_or(Err(r)),
                        None => Err(r),
                    }));
                }
            }
            RefKind::Notification => {}
        }
    }
    Ok(None)
}

/// Opens an encrypted message with the CERT key, or checks an inline signature;
/// returns what to record about it. The raw message stays as it came.
fn open_pgp(mail: &mut IncomingMail, keyring: Option<&Keyring>) -> Option<String> {
    if mail.encrypted {
        let Some(keyring) = keyring.filter(|k| k.can_decrypt()) else {
            return Some("OpenPGP-encrypted; no CERT key is configured, so it is kept encrypted as message.eml.".into());
        };
        // PGP/MIME carries the armored message as a part; inline PGP in the text.
        let part = mail.attachments.iter().position(|a| a.bytes.windows(27).any(|w| w == b"-----BEGIN PGP MESSAGE-----"));
        let inline = armored_block(&mail.text, "MESSAGE").map(str::to_string);
        let payload = match (part, &inline) {
            (Some(i), _) => mail.attachments[i].bytes.clone(),
            (None, Some(block)) => block.as_bytes().to_vec(),
            (None, None) => return Some("OpenPGP-encrypted, but no encrypted payload was found; kept as message.eml.".into()),
        };
        return Some(match keyring.decrypt(&payload) {
            Ok((plain, check)) => {
                match (part, inline) {
                    (Some(_), _) => {
                        let (text, attachments) = intake::parse_entity(&plain);
                        mail.text = text;
                        mail.attachments = attachments;
                    }
                    (None, Some(block)) => mail.text = mail.text.replace(&block, &String::from_utf8_lossy(&plain)),
                    (None, None) => {}
                }
                mail.encrypted = false;
                format!("OpenPGP: decrypted with the CERT key; {check}.")
            }
            Err(e) => format!("OpenPGP: {e}; kept encrypted as message.eml."),
        });
    }
    if let (Some(keyring), Some(block)) = (keyring, armored_block(&mail.text, "SIGNED MESSAGE").map(str::to_string)) {
        return keyring.verify_cleartext(&block).map(|(_, check)| format!("OpenPGP: {check}."));
    }
    None
}

pub async fn deliver(
    store: &dyn Store,
    evidence: &EvidenceStore,
    raw: &[u8],
    queue: Option<&str>,
    max_attachment_bytes: u64,
    keyring: Option<&Keyring>,
) -> ServiceResult<Delivered> {
    let actor = Actor::System;
    let raw_file = IncomingFile {
        stored: evidence.put(raw, u64::MAX).await.map_err(|e| super::ServiceError::Invalid(e.to_string()))?,
        filename: "message.eml".into(),
        content_type: "message/rfc822".into(),
    };
    let queue_note = queue.map(|q| format!(" (queue {q})")).unwrap_or_default();
    let mut mail = match intake::parse(raw) {
        Ok(mail) => mail,
        Err(why) => {
            let report = NewReport {
                channel: Some(Channel::Mail),
                quarantined: true,
                title: format!("Quarantined message{queue_note}"),
                description: format!("The message could not be read ({why:?}); it is kept unchanged as message.eml."),
                ..Default::default()
            };
            let (report, _) = submit_report(store, &actor, report, &[raw_file], false).await?;
            return Ok(Delivered::Quarantined(report));
        }
    };
    let pgp_note = open_pgp(&mut mail, keyring);
    let mut files = vec![raw_file];
    for a in &mail.attachments {
        if a.bytes.len() as u64 > max_attachment_bytes {
            // Still inside message.eml; not split out.
            continue;
        }
        let stored = evidence.put(&a.bytes, max_attachment_bytes).await.map_err(|e| super::ServiceError::Invalid(e.to_string()))?;
        files.push(IncomingFile { stored, filename: safe_filename(&a.filename), content_type: a.content_type.chars().take(100).collect() });
    }
    let mut text = mail.text.clone();
    if let Some(note) = &pgp_note {
        text.push_str(&format!("\n\n[{note}]"));
    }
    let from = match (&mail.from_name, &mail.from_address) {
        (Some(n), Some(a)) => format!("{n} <{a}>"),
        (None, Some(a)) => a.clone(),
        (Some(n), None) => n.clone(),
        (None, None) => "unknown sender".into(),
    };
    let notification = notification_of(store, &mail).await?;
    let found = match &notification {
        Some(n) => {
            let (status, what) = if mail.is_bounce { ("bounced", "Delivery report") } else { ("reply", "Reply") };
            let detail = format!("{what} from {from}: {} (kept as message.eml, SHA-256 {})", mail.subject, files[0].stored.sha256);
            store.notifications().log_delivery(n.id, status, &detail).await?;
            match n.incident_id {
                Some(incident_id) => store.incidents().get_incident(incident_id).await?.map(Ok),
                None => return Ok(Delivered::Notification(n.clone())),
            }
        }
        None => target(store, &mail).await?,
    };
    match found {
        Some(found) => {
            let (incident_id, report_id) = match &found {
                Ok(i) => (Some(i.id), None),
                Err(r) => (None, Some(r.id)),
            };
            let body = format!(
                "From: {from}\nSubject: {}{queue_note}\n\n{}",
                mail.subject,
                truncate(&text, rampart_core::records::MAX_TEXT_BYTES - 1024)
            );
            let entry =
                NewTimelineEntry { kind: TimelineKind::MailIn, event_at: Utc::now(), actor: from.chars().take(300).collect(), body };
            store.incidents().add_timeline(&actor, incident_id, report_id, entry).await?;
            for f in &files {
                let new = NewAttachment {
                    sha256: f.stored.sha256.clone(),
                    size: f.stored.size as i64,
                    filename: f.filename.clone(),
                    content_type: f.content_type.clone(),
                    report_id,
                    incident_id,
                };
                store.incidents().add_attachment(&actor, new).await?;
            }
            if let Some(n) = notification {
                return Ok(Delivered::Notification(n));
            }
            Ok(match found {
                Ok(incident) => {
                    store.incidents().add_incident_observables(incident.id, &rampart_core::observables::extract(&text)).await?;
                    Delivered::Incident(incident)
                }
                Err(report) => Delivered::Report(report),
            })
        }
        None => {
            let email = mail.from_address.as_deref().and_then(|a| rampart_core::account::normalise_email(a).ok());
            let description = if text.trim().is_empty() {
                "(The message has no text; see its attachments.)".to_string()
            } else {
                truncate(&text, rampart_core::records::MAX_TEXT_BYTES).to_string()
            };
            let report = NewReport {
                channel: Some(Channel::Mail),
                reporter_name: mail.from_name.clone(),
                reporter_email: email,
                title: if mail.subject.trim().is_empty() { String::new() } else { format!("{}{queue_note}", mail.subject) },
                description,
                ..Default::default()
            };
            let (report, _) = submit_report(store, &actor, report, &files, false).await?;
            Ok(Delivered::NewReport(report))
        }
    }
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
