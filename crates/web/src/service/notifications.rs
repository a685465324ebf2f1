//! Telling constituents: directives become messages, aggregated per recipient and
//! key at most once per interval, rendered from templates in the recipient's
//! language, signed with the CERT key (and encrypted when the recipient has a key),
//! and sent from the outbox with retries.

use super::routing::{self, RouteIndex};
use super::{ServiceError, ServiceResult};
use chrono::{DateTime, Utc};
use rampart_core::notification::{
    retry_delay, Directive, NewDirective, NewSuppressionRule, Notification, NotificationFormat, NotificationStatus, StoredTemplate,
    SuppressionAction, SuppressionRule, GIVE_UP_AFTER, TEMPLATE_KINDS,
};
use rampart_core::policy::{self, Caller};
use rampart_core::registry::{Contact, ContactRole, LANGUAGES};
use rampart_notify::compose::{self, Attachment, Composition, Signer};
use rampart_notify::smtp::Mailer;
use rampart_notify::template::{self, CompiledTemplate, Event, Template, TemplateContext};
use rampart_notify::xarf::{self, XarfReporter};
use rampart_store::notifications::{DirectiveRecord, GroupKey, NewNotification};
use rampart_store::{Actor, Store, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

/// How long a sender may hold a message before another may take it over.
pub const LEASE: chrono::Duration = chrono::Duration::minutes(5);

/// Who the CERT is in its messages, and its signing key.
#[derive(Clone)]
pub struct NotifySettings {
    pub cert_name: String,
    /// `From:` of notifications.
    pub from: String,
    /// Right-hand side of Message-IDs and the X-ARF reporter domain.
    pub domain: String,
    pub signer: Option<Arc<Signer>>,
    /// The first retry after a relay failure; later ones double, up to an hour.
    pub retry_first: chrono::Duration,
}

impl NotifySettings {
    /// The CERT's name and sender address from the web settings; no key yet.
    pub fn from_web(settings: &crate::WebSettings) -> Self {
        let domain =
            settings.mail_from.rsplit_once('@').map(|(_, d)| d.trim_end_matches('>').to_string()).unwrap_or_else(|| "localhost".into());
        Self {
            cert_name: settings.operator_name.clone(),
            from: settings.mail_from.clone(),
            domain,
            signer: None,
            retry_first: chrono::Duration::seconds(settings.retry_first_seconds),
        }
    }
}

impl std::fmt::Debug for NotifySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifySettings").field("from", &self.from).field("signs", &self.signer.is_some()).finish()
    }
}

fn forbidden(what: &str) -> ServiceError {
    ServiceError::Forbidden(what.to_string())
}

fn known(kind: &str, language: &str) -> ServiceResult<()> {
    if !TEMPLATE_KINDS.contains(&kind) {
        return Err(ServiceError::Invalid(format!("unknown notification kind {kind:?} (known: {})", TEMPLATE_KINDS.join(", "))));
    }
    if !LANGUAGES.contains(&language) {
        return Err(ServiceError::Invalid(format!("unknown language {language:?} (known: {})", LANGUAGES.join(", "))));
    }
    Ok(())
}

/// Every kind × language: the operator's version where there is one, else the default.
pub async fn templates(store: &dyn Store) -> ServiceResult<Vec<StoredTemplate>> {
    let stored = store.notifications().templates().await?;
    let mut out = Vec::new();
    for kind in TEMPLATE_KINDS {
        for language in LANGUAGES {
            match stored.iter().find(|t| t.kind == *kind && t.language == *language) {
                Some(t) => out.push(t.clone()),
                None => {
                    let d = template::default_template(kind, language).unwrap_or(Template { subject: String::new(), body: String::new() });
                    out.push(StoredTemplate {
                        kind: kind.to_string(),
                        language: language.to_string(),
                        subject: d.subject,
                        body: d.body,
                        updated_at: None,
                        customised: false,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// A template is checked before it is stored: it must compile (every variable known)
/// and render a sample message.
pub fn check_template(subject: &str, body: &str) -> ServiceResult<CompiledTemplate> {
    let compiled = template::compile(&Template { subject: subject.to_string(), body: body.to_string() })
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
    compiled.render(&sample_context()).map_err(|e| ServiceError::Invalid(format!("the template does not render: {e}")))?;
    Ok(compiled)
}

fn sample_context() -> TemplateContext {
    let event = Event(
        [("source.ip", "192.0.2.1"), ("classification.type", "vulnerable-service"), ("time.source", "2026-01-01T00:00:00Z")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    let mut vars = BTreeMap::new();
    for (name, _) in template::VARIABLES {
        vars.insert(*name, format!("<{name}>"));
    }
    TemplateContext { vars, events: vec![event] }
}

pub async fn save_template(
    store: &dyn Store,
    caller: &Caller,
    actor: &Actor,
    kind: &str,
    language: &str,
    subject: &str,
    body: &str,
) -> ServiceResult<()> {
    if !policy::may_coordinate(caller) {
        return Err(forbidden("only coordinators edit notification templates"));
    }
    known(kind, language)?;
    if body.len() > 64 * 1024 || subject.len() > 500 {
        return Err(ServiceError::Invalid("a template is at most 64 KiB, its subject at most 500 bytes".into()));
    }
    check_template(subject, body)?;
    Ok(store.notifications().save_template(actor, kind, language, subject, body).await?)
}

pub async fn reset_template(store: &dyn Store, caller: &Caller, actor: &Actor, kind: &str, language: &str) -> ServiceResult<()> {
    if !policy::may_coordinate(caller) {
        return Err(forbidden("only coordinators edit notification templates"));
    }
    known(kind, language)?;
    Ok(store.notifications().reset_template(actor, kind, language).await?)
}

async fn compiled_template(store: &dyn Store, kind: &str, language: &str) -> ServiceResult<CompiledTemplate> {
    let all = templates(store).await?;
    let chosen =
        all.iter().find(|t| t.kind == kind && t.language == language).or_else(|| all.iter().find(|t| t.kind == kind && t.language == "en"));
    let t = chosen.ok_or_else(|| ServiceError::Invalid(format!("no template for {kind}")))?;
    template::compile(&Template { subject: t.subject.clone(), body: t.body.clone() }).map_err(|e| ServiceError::Invalid(e.to_string()))
}

pub async fn add_rule(store: &dyn Store, caller: &Caller, actor: &Actor, new: NewSuppressionRule) -> ServiceResult<SuppressionRule> {
    if !policy::may_coordinate(caller) {
        return Err(forbidden("only coordinators keep suppression rules"));
    }
    let copy_to = match (new.action, new.copy_to.as_deref().map(str::trim).filter(|c| !c.is_empty())) {
        (SuppressionAction::Copy, Some(to)) => Some(
            rampart_core::account::normalise_email(to).map_err(|_| ServiceError::Invalid(format!("{to:?} is not an e-mail address")))?,
        ),
        (SuppressionAction::Copy, None) => return Err(ServiceError::Invalid("a copy rule needs copy_to".into())),
        (SuppressionAction::Suppress, Some(_)) => return Err(ServiceError::Invalid("copy_to belongs to copy rules only".into())),
        (SuppressionAction::Suppress, None) => None,
    };
    if let Some(org) = new.org_id {
        if store.get_org(org).await?.is_none() {
            return Err(ServiceError::Invalid("the organisation does not exist".into()));
        }
    }
    if let Some(sector) = &new.sector {
        if rampart_core::sectors::find(sector).is_none() {
            return Err(ServiceError::Invalid(format!("unknown sector {sector:?}")));
        }
    }
    let rule = SuppressionRule {
        id: rampart_core::ids::new_id(),
        org_id: new.org_id,
        sector: new.sector.filter(|s| !s.is_empty()),
        classification_type: new.classification_type.map(|c| c.trim().to_string()).filter(|c| !c.is_empty()),
        action: new.action,
        copy_to,
        comment: new.comment.trim().chars().take(1000).collect(),
        created_at: Utc::now(),
    };
    store.notifications().add_rule(actor, &rule).await?;
    Ok(rule)
}

/// What became of a batch of directives.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct DirectiveOutcome {
    pub stored: Vec<Directive>,
    /// The same event went to the same recipient within the interval.
    pub already_notified: usize,
    pub suppressed: usize,
    /// Directives with nobody to tell, by position in the request.
    pub unroutable: Vec<Unroutable>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Unroutable {
    pub index: usize,
    pub reason: String,
}

/// The contact a notification goes to: abuse first, then security, then anyone with mail.
pub fn notification_contact(contacts: &[Contact]) -> Option<&Contact> {
    let with_mail = |role: Option<ContactRole>| contacts.iter().find(|c| c.email.is_some() && role.is_none_or(|r| c.role == r));
    with_mail(Some(ContactRole::Abuse)).or_else(|| with_mail(Some(ContactRole::Security))).or_else(|| with_mail(None))
}

async fn route_event(store: &dyn Store, index: &RouteIndex, event: &BTreeMap<String, String>) -> ServiceResult<Result<Uuid, String>> {
    for field in ["source.ip", "source.fqdn", "source.asn", "source.url"] {
        let Some(value) = event.get(field).filter(|v| !v.trim().is_empty()) else { continue };
        let report = match routing::resolve(store, index, value).await {
            Ok(r) => r,
            Err(ServiceError::Invalid(why)) => return Ok(Err(format!("{field}: {why}"))),
            Err(e) => return Err(e),
        };
        if report.answer.tie {
            let names: Vec<String> = report.organisations.iter().map(|o| o.organisation.name.clone()).collect();
            return Ok(Err(format!("{field} {value}: several organisations hold it equally ({}); not guessing", names.join(", "))));
        }
        if let Some(m) = report.answer.matches.first() {
            return Ok(Ok(m.org_id));
        }
    }
    Ok(Err("no organisation is responsible for the event's source".into()))
}

/// Turns producers' directives into stored ones: routed, addressed, filtered by the
/// suppression rules, and skipped when the event was told already.
pub async fn create_directives(
    store: &dyn Store,
    index: &RouteIndex,
    actor: &Actor,
    news: Vec<NewDirective>,
) -> ServiceResult<DirectiveOutcome> {
    // Every directive is checked before any is stored: a bad batch changes nothing.
    let mut checked = Vec::with_capacity(news.len());
    for (i, d) in news.iter().enumerate() {
        let parts = d.check().map_err(|e| ServiceError::Invalid(format!("directive {i}: {e}")))?;
        if let Some(r) = &d.recipient {
            rampart_core::account::normalise_email(r)
                .map_err(|_| ServiceError::Invalid(format!("directive {i}: recipient {r:?} is not an e-mail address")))?;
        }
        if let Some(l) = &d.language {
            rampart_core::registry::normalise_language(l).map_err(|e| ServiceError::Invalid(format!("directive {i}: {e}")))?;
        }
        checked.push(parts);
    }
    let rules = store.notifications().rules().await?;
    let mut outcome = DirectiveOutcome::default();
    let mut records = Vec::new();
    for (i, (d, (key, interval, event_key))) in news.into_iter().zip(checked).enumerate() {
        let org_id = match d.org_id {
            Some(o) => Some(o),
            None if d.recipient.is_some() => None,
            None => match route_event(store, index, &d.event).await? {
                Ok(o) => Some(o),
                Err(reason) => {
                    outcome.unroutable.push(Unroutable { index: i, reason });
                    continue;
                }
            },
        };
        let org = match org_id {
            Some(id) => Some(
                store.get_org(id).await?.ok_or_else(|| ServiceError::Invalid(format!("directive {i}: the organisation does not exist")))?,
            ),
            None => None,
        };
        let contacts = match org_id {
            Some(id) => store.registry().contacts(id).await?,
            None => Vec::new(),
        };
        let contact = notification_contact(&contacts);
        let recipient = match (&d.recipient, contact) {
            (Some(r), _) => {
                rampart_core::account::normalise_email(r).map_err(|_| ServiceError::Invalid(format!("directive {i}: bad recipient")))?
            }
            (None, Some(c)) => c.email.clone().unwrap_or_default(),
            (None, None) => {
                let name = org.as_ref().map(|o| o.name.clone()).unwrap_or_default();
                outcome.unroutable.push(Unroutable { index: i, reason: format!("{name} has no contact with an e-mail address") });
                continue;
            }
        };
        let language = match (&d.language, contact) {
            (Some(l), _) => rampart_core::registry::normalise_language(l).unwrap_or_else(|_| "en".into()),
            (None, Some(c)) => c.language.clone(),
            (None, None) => "en".into(),
        };
        let classification = d.event.get("classification.type").map(String::as_str);
        let sector = org.as_ref().and_then(|o| o.sector.as_deref());
        let applying: Vec<&SuppressionRule> = rules.iter().filter(|r| r.applies(org_id, sector, classification)).collect();
        if applying.iter().any(|r| r.action == SuppressionAction::Suppress) {
            outcome.suppressed += 1;
            continue;
        }
        let record = DirectiveRecord {
            org_id,
            recipient,
            template_kind: d.template_kind.clone(),
            language,
            format: d.format,
            aggregation_key: key,
            interval_secs: interval,
            event_key,
            event: d.event.clone(),
            source: d.source,
            source_id: d.source_id.clone(),
            incident_id: d.incident_id,
        };
        for copy in applying.iter().filter_map(|r| r.copy_to.clone()) {
            records.push(DirectiveRecord { recipient: copy, ..record.clone() });
        }
        records.push(record);
    }
    let (stored, skipped) = store.notifications().add_directives(actor, &records).await?;
    outcome.stored = stored;
    outcome.already_notified = skipped;
    Ok(outcome)
}

fn key_usable(contacts: &[Contact], recipient: &str) -> (Option<pgp::composed::SignedPublicKey>, Option<String>) {
    let Some(armored) = contacts.iter().find(|c| c.email.as_deref() == Some(recipient)).and_then(|c| c.pgp_key.as_deref()) else {
        return (None, None);
    };
    match compose::public_key_from_armored(armored) {
        Ok((key, _)) => (Some(key), None),
        Err(e) => (None, Some(format!("not encrypted: the recipient's key is unusable ({e})"))),
    }
}

/// Composes one message per due group and puts it in the outbox. A group that fails
/// to compose stays waiting and is reported; the others go on.
pub async fn compose_due(
    store: &dyn Store,
    settings: &NotifySettings,
    now: DateTime<Utc>,
) -> ServiceResult<(Vec<Notification>, Vec<String>)> {
    let mut queued = Vec::new();
    let mut problems = Vec::new();
    for key in store.notifications().due_groups(now).await? {
        match compose_group(store, settings, &key).await {
            Ok(Some(n)) => queued.push(n),
            Ok(None) => {}
            // Another process composed this group first.
            Err(ServiceError::Store(StoreError::Conflict(_))) => {}
            Err(e) => problems.push(format!("{} / {}: {e}", key.recipient, key.aggregation_key)),
        }
    }
    Ok((queued, problems))
}

async fn compose_group(store: &dyn Store, settings: &NotifySettings, key: &GroupKey) -> ServiceResult<Option<Notification>> {
    let directives = store.notifications().waiting_directives(key).await?;
    let Some(first) = directives.first() else { return Ok(None) };
    let language = first.language.clone();
    let org = match first.org_id {
        Some(id) => store.get_org(id).await?,
        None => None,
    };
    let contacts = match first.org_id {
        Some(id) => store.registry().contacts(id).await?,
        None => Vec::new(),
    };
    let template = compiled_template(store, &key.template_kind, &language).await?;
    let events: Vec<Event> = directives.iter().map(|d| Event(d.event.clone())).collect();
    let reference = store.notifications().next_notification_reference().await?;
    let field = |name: &str| first.event.get(name).cloned().unwrap_or_default();
    let period_start = directives.iter().map(|d| d.created_at).min().unwrap_or_else(Utc::now);
    let period_end = directives.iter().map(|d| d.created_at).max().unwrap_or_else(Utc::now);
    let mut vars: BTreeMap<&'static str, String> = BTreeMap::new();
    vars.insert("org_name", org.as_ref().map(|o| o.name.clone()).unwrap_or_else(|| key.recipient.clone()));
    vars.insert("recipient_email", key.recipient.clone());
    vars.insert("cert_name", settings.cert_name.clone());
    vars.insert("cert_email", settings.from.clone());
    vars.insert("reference", reference.clone());
    vars.insert("event_count", events.len().to_string());
    vars.insert(
        "classification_type",
        if field("classification.type").is_empty() { key.aggregation_key.clone() } else { field("classification.type") },
    );
    vars.insert("feed_name", field("feed.name"));
    vars.insert("period_start", period_start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    vars.insert("period_end", period_end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    vars.insert("language", language.clone());
    let columns: Vec<&str> = ["time.source", "source.ip", "source.port", "source.fqdn", "classification.type", "protocol.application"]
        .into_iter()
        .filter(|c| events.iter().any(|e| e.0.contains_key(*c)))
        .collect();
    vars.insert("events_table", template::events_table(&events, &columns));
    let (subject, body) =
        template.render(&TemplateContext { vars, events: events.clone() }).map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let subject = rampart_notify::smtp::tagged_subject(&reference, &subject);

    let attachments = match key.format {
        NotificationFormat::TextCsv => {
            vec![Attachment {
                filename: format!("{reference}.csv"),
                content_type: "text/csv; charset=utf-8".into(),
                data: compose::events_csv(&events),
            }]
        }
        NotificationFormat::Xarf => {
            let reporter =
                XarfReporter { org: settings.cert_name.clone(), contact: settings.from.clone(), domain: settings.domain.clone() };
            let mut out = Vec::new();
            for (n, event) in events.iter().enumerate() {
                let report = xarf::xarf_report(event, &reporter, &format!("{reference}-{}", n + 1))
                    .map_err(|e| ServiceError::Invalid(e.to_string()))?;
                out.push(Attachment {
                    filename: format!("{reference}-{}.json", n + 1),
                    content_type: "application/json".into(),
                    data: serde_json::to_vec_pretty(&report).unwrap_or_default(),
                });
            }
            out
        }
    };
    let id = rampart_core::ids::new_id();
    // Fixed when composed: a resend after a crash carries the same Message-ID.
    let message_id = format!("<{reference}.{id}@{}>", settings.domain);
    let (encrypt_to, key_note) = key_usable(&contacts, &key.recipient);
    let from = settings.from.clone();
    let composition = Composition {
        from: &from,
        to: &key.recipient,
        cc: &[],
        subject: &subject,
        body: &body,
        message_id: &message_id,
        in_reply_to: None,
        date: Utc::now(),
        attachments,
    };
    let raw = compose::compose(&composition, settings.signer.as_deref(), encrypt_to.as_ref())
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let incident_id = first.incident_id.filter(|i| directives.iter().all(|d| d.incident_id == Some(*i)));
    let new = NewNotification {
        id,
        reference,
        org_id: first.org_id,
        recipient: key.recipient.clone(),
        cc: Vec::new(),
        template_kind: key.template_kind.clone(),
        language,
        format: key.format,
        aggregation_key: key.aggregation_key.clone(),
        subject,
        message_id,
        raw,
        signed: settings.signer.is_some(),
        encrypted: encrypt_to.is_some(),
        incident_id,
    };
    let ids: Vec<Uuid> = directives.iter().map(|d| d.id).collect();
    let notification = store.notifications().enqueue(&Actor::System, new, &ids).await?;
    if let Some(note) = key_note {
        store.notifications().log_delivery(notification.id, "queued", &note).await?;
    }
    Ok(Some(notification))
}

/// Sends what is due from the outbox. Returns how many were handed to the relay.
pub async fn send_due(store: &dyn Store, settings: &NotifySettings, mailer: &Mailer, now: DateTime<Utc>) -> ServiceResult<usize> {
    let claimed = store.notifications().claim_due(now, now + LEASE, 50).await?;
    let mut sent = 0;
    for (n, raw) in claimed {
        let mut recipients = vec![n.recipient.clone()];
        recipients.extend(n.cc.iter().cloned());
        match mailer.send_raw(&recipients, &raw).await {
            Ok(reply) => {
                store
                    .notifications()
                    .record_attempt(n.id, NotificationStatus::Sent, &format!("accepted by the relay: {reply}"), None)
                    .await?;
                sent += 1;
            }
            Err(failure) if failure.permanent => {
                store
                    .notifications()
                    .record_attempt(n.id, NotificationStatus::Bounced, &format!("refused by the relay: {}", failure.reason), None)
                    .await?;
            }
            Err(failure) if now - n.created_at > GIVE_UP_AFTER => {
                store
                    .notifications()
                    .record_attempt(
                        n.id,
                        NotificationStatus::Failed,
                        &format!("gave up after {} attempts: {}", n.attempts, failure.reason),
                        None,
                    )
                    .await?;
            }
            Err(failure) => {
                let next = now + retry_delay(n.attempts - 1, settings.retry_first);
                store.notifications().record_attempt(n.id, NotificationStatus::Deferred, &failure.reason, Some(next)).await?;
            }
        }
    }
    Ok(sent)
}

/// One pass of the notifier: compose what is due, then send what is due.
pub async fn tick(store: &dyn Store, settings: &NotifySettings, mailer: Option<&Mailer>) -> ServiceResult<(usize, usize, Vec<String>)> {
    let (queued, problems) = compose_due(store, settings, Utc::now()).await?;
    // After composing: what was just queued is due now too.
    let sent = match mailer {
        Some(m) => send_due(store, settings, m, Utc::now()).await?,
        None => 0,
    };
    Ok((queued.len(), sent, problems))
}

/// Runs the notifier until the process ends. Every replica may run it: groups and
/// messages are claimed in the database, so each is composed and sent once.
pub async fn run(store: crate::SharedStore, settings: NotifySettings, mailer: Option<Mailer>, every: std::time::Duration) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        match tick(&*store, &settings, mailer.as_ref()).await {
            Ok((_, _, problems)) => {
                for p in problems {
                    tracing::warn!(problem = %p, "a notification could not be composed; its events stay waiting");
                }
            }
            Err(e) => tracing::warn!(error = %e, "notifier pass failed; retrying"),
        }
    }
}

/// Reads of the outbox are for coordinators; an organisation sees what was sent to it.
pub fn may_read_notification(caller: &Caller, n: &Notification) -> bool {
    policy::may_coordinate(caller)
        || caller.has(rampart_core::account::Role::Analyst)
        || n.org_id.is_some_and(|o| policy::may_read_registry_of(caller, o))
}
