//! Watches the deadline clocks: a reminder to the incident's assignee shortly before
//! a clock runs out, and an escalation to the coordinators when it has. Each notice
//! is recorded before it is sent, so with several replicas only one sends it, once.

use super::ServiceResult;
use chrono::{DateTime, Duration, Utc};
use rampart_core::account::Role;
use rampart_core::deadlines::DeadlineState;
use rampart_core::incident::IncidentStatus;
use rampart_core::records::TimelineKind;
use rampart_notify::smtp::{tagged_subject, Mailer, Outgoing};
use rampart_store::{Actor, IncidentFilter, NewTimelineEntry, Store};

/// A notice that was due and recorded in this pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub reference: String,
    pub regime: String,
    pub obligation: String,
    /// `reminder` or `escalation`.
    pub kind: &'static str,
    pub recipients: Vec<String>,
}

/// One pass over the open incidents.
pub async fn run_once(
    store: &dyn Store,
    mailer: Option<&Mailer>,
    now: DateTime<Utc>,
    remind_before: Duration,
) -> ServiceResult<Vec<Notice>> {
    let coordinators: Vec<String> =
        store.list_users(None).await?.into_iter().filter(|u| u.has(Role::Coordinator) && !u.disabled).map(|u| u.email).collect();
    let mut notices = Vec::new();
    for status in [IncidentStatus::New, IncidentStatus::Open, IncidentStatus::Contained, IncidentStatus::Resolved] {
        let mut filter = IncidentFilter { status: Some(status), limit: 500, ..Default::default() };
        loop {
            let page = store.incidents().list_incidents(&filter).await?;
            for incident in &page {
                for d in super::incidents::deadlines_of(store, incident).await? {
                    let Some(due) = d.due_at else { continue };
                    let kind = match d.state {
                        DeadlineState::Overdue => "escalation",
                        DeadlineState::Due if due - now <= remind_before => "reminder",
                        _ => continue,
                    };
                    if !store.work().record_notice(incident.id, &d.regime, &d.obligation, kind, due).await? {
                        continue;
                    }
                    let recipients = if kind == "escalation" {
                        coordinators.clone()
                    } else {
                        match (incident.assignee_id, incident.team_id) {
                            (Some(a), _) => store.get_user(a).await?.map(|u| vec![u.email]).unwrap_or_default(),
                            (None, Some(t)) => team_emails(store, t).await?,
                            (None, None) => coordinators.clone(),
                        }
                    };
                    let what = format!(
                        "{} {}/{} due {}",
                        if kind == "escalation" { "OVERDUE:" } else { "Due soon:" },
                        d.regime,
                        d.obligation,
                        due.to_rfc3339()
                    );
                    let entry = NewTimelineEntry {
                        kind: TimelineKind::Status,
                        event_at: now,
                        actor: Actor::System.to_string(),
                        body: format!("{what}; {kind} to {}", recipients.join(", ")),
                    };
                    store.incidents().add_timeline(&Actor::System, Some(incident.id), None, entry).await?;
                    if let Some(mailer) = mailer {
                        for to in &recipients {
                            let mail = Outgoing {
                                to: to.clone(),
                                subject: tagged_subject(&incident.reference, &what),
                                body: format!("{what}\n\n{}: {}\n", incident.reference, incident.title),
                                in_reply_to: None,
                            };
                            if let Err(e) = mailer.send(&mail).await {
                                tracing::warn!(error = %e, reference = %incident.reference, "deadline notice not mailed");
                            }
                        }
                    }
                    notices.push(Notice {
                        reference: incident.reference.clone(),
                        regime: d.regime.clone(),
                        obligation: d.obligation.clone(),
                        kind,
                        recipients,
                    });
                }
            }
            filter.after = rampart_store::next_cursor(&page, filter.limit);
            if filter.after.is_none() {
                break;
            }
        }
    }
    Ok(notices)
}

async fn team_emails(store: &dyn Store, team: uuid::Uuid) -> ServiceResult<Vec<String>> {
    let mut emails = Vec::new();
    for t in store.work().teams().await?.into_iter().filter(|t| t.id == team) {
        for member in t.members {
            if let Some(u) = store.get_user(member).await? {
                emails.push(u.email);
            }
        }
    }
    Ok(emails)
}

/// Runs [`run_once`] every `every` until the process ends.
pub async fn watch(store: crate::SharedStore, mailer: Option<Mailer>, every: std::time::Duration, remind_before: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match run_once(&*store, mailer.as_ref(), Utc::now(), remind_before).await {
            Ok(sent) if !sent.is_empty() => tracing::info!(notices = sent.len(), "deadline notices"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "deadline watch failed; retrying next round"),
        }
    }
}
