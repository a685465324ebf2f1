//! The report form, for the public and for signed-in constituents, and the
//! reporter's status page. Works without JavaScript.

use super::incident_pages::{ReportFormPage, ReportFormValues, ReportReceivedPage, ReportStatusPage};
use super::pages::Opt;
use super::{anonymous_csrf, anonymous_csrf_ok, error_page, language, render_page, session_csrf_ok, stage, take_flash, PageCtx, Stage};
use crate::auth::{client_ip, PeerAddr, Principal};
use crate::evidence::{safe_filename, EvidenceError, Upload};
use crate::service::incidents::{self as svc, IncomingFile};
use crate::AppState;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use rampart_core::credentials::secret_digest;
use rampart_core::incident::{Impact, TwLevel};
use rampart_core::records::{Channel, CiaImpact, NewReport};
use rampart_store::{Actor, Session};
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The trap field robots fill in and people never see.
pub const HONEYPOT: &str = "website";

/// The signed-in constituent (not staff) filing for their organisation, if any.
async fn constituent(state: &AppState, headers: &HeaderMap) -> Option<(Session, Principal)> {
    match stage(state, headers).await {
        Ok(Stage::Complete(s, p)) => Some((s, p)),
        _ => None,
    }
}

fn form_page(
    state: &AppState,
    headers: &HeaderMap,
    signed_in: Option<&(Session, Principal)>,
    flash_key: Option<&str>,
    values: ReportFormValues,
) -> (ReportFormPage, Option<(axum::http::HeaderName, String)>) {
    let principal = signed_in.map(|(_, p)| p);
    let lang = language(state, headers, principal);
    let (csrf, cookie) = match signed_in {
        Some((s, _)) => (s.csrf_token.clone(), None),
        None => anonymous_csrf(state, headers),
    };
    let flash = match flash_key {
        Some(key) => Some(super::pages::Flash { kind: "error".into(), message: crate::i18n::catalog(lang).get(key).to_string() }),
        None => take_flash(headers, lang),
    };
    let page = PageCtx::new(lang, csrf, principal, flash, "title.report", principal.is_some());
    let categories = rampart_core::rsit::classes().iter().map(|c| Opt { value: c.value.clone(), label: c.expanded.clone() }).collect();
    let levels = (1..=4).map(|l| Opt { value: l.to_string(), label: page.t(&format!("level.{l}")).to_string() }).collect();
    let impacts = Impact::ALL.iter().map(|i| Opt { value: i.to_string(), label: page.t(&format!("impact.{i}")).to_string() }).collect();
    let form = ReportFormPage {
        page,
        honeypot_name: HONEYPOT.into(),
        max_attachments: state.settings.max_attachments,
        max_attachment_mb: state.settings.max_attachment_bytes.div_ceil(1024 * 1024),
        categories,
        constituent: principal.is_some_and(|p| !p.user.is_staff()),
        levels,
        impacts,
        values,
    };
    (form, cookie)
}

pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let signed_in = constituent(&state, &headers).await;
    let (page, cookie) = form_page(&state, &headers, signed_in.as_ref(), None, ReportFormValues::default());
    render_page(StatusCode::OK, &page, cookie)
}

/// Shows the form again with what the reporter typed, so a refusal loses no text
/// (files must be chosen again: browsers do not allow setting them).
fn refuse(
    state: &AppState,
    headers: &HeaderMap,
    signed_in: Option<&(Session, Principal)>,
    status: StatusCode,
    key: &str,
    values: ReportFormValues,
) -> Response {
    let (page, cookie) = form_page(state, headers, signed_in, Some(key), values);
    render_page(status, &page, cookie)
}

/// `datetime-local` values are in the operator's time zone.
pub(super) fn parse_local_time(value: &str, offset: chrono::FixedOffset) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let naive = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    naive.and_local_timezone(offset).single().map(|t| t.with_timezone(&Utc))
}

struct Received {
    fields: std::collections::HashMap<String, String>,
    uploads: Vec<(Upload, String, String)>,
}

impl Received {
    fn field(&self, name: &str) -> String {
        self.fields.get(name).cloned().unwrap_or_default()
    }

    fn values(&self) -> ReportFormValues {
        ReportFormValues {
            title: self.field("title"),
            description: self.field("description"),
            started_at: self.field("started_at"),
            noticed_at: self.field("noticed_at"),
            affected: self.field("affected"),
            category: self.field("category"),
            reporter_name: self.field("reporter_name"),
            reporter_email: self.field("reporter_email"),
            reporter_org: self.field("reporter_org"),
            ci_services: self.field("ci_services"),
        }
    }

    async fn abort(self) {
        for (upload, _, _) in self.uploads {
            upload.abort().await;
        }
    }
}

enum ReadError {
    TooLarge,
    TooMany,
    Malformed,
}

/// Reads the multipart body: text fields into memory (bounded), files to disk.
async fn read_form(state: &AppState, mut multipart: Multipart) -> Result<Received, (Received, ReadError)> {
    let mut received = Received { fields: Default::default(), uploads: Vec::new() };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(received),
            Err(e) => {
                let kind = if e.status() == StatusCode::PAYLOAD_TOO_LARGE { ReadError::TooLarge } else { ReadError::Malformed };
                return Err((received, kind));
            }
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "attachments" {
            let filename = field.file_name().map(safe_filename);
            let Some(filename) = filename else { continue };
            if received.uploads.len() >= state.settings.max_attachments {
                return Err((received, ReadError::TooMany));
            }
            let content_type = field.content_type().unwrap_or("application/octet-stream").chars().take(100).collect();
            let mut upload = match state.evidence.begin(state.settings.max_attachment_bytes).await {
                Ok(u) => u,
                Err(_) => return Err((received, ReadError::Malformed)),
            };
            let mut field = field;
            let mut empty = true;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        empty = false;
                        if let Err(e) = upload.write(&chunk).await {
                            let kind = if matches!(e, EvidenceError::TooLarge { .. }) { ReadError::TooLarge } else { ReadError::Malformed };
                            return Err((received, kind));
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {
                        upload.abort().await;
                        return Err((received, ReadError::TooLarge));
                    }
                }
            }
            if empty {
                // A file input left empty still sends a part with no bytes.
                upload.abort().await;
            } else {
                received.uploads.push((upload, filename, content_type));
            }
        } else {
            match field.text().await {
                Ok(text) if text.len() <= rampart_core::records::MAX_TEXT_BYTES => {
                    received.fields.insert(name, text);
                }
                _ => return Err((received, ReadError::TooLarge)),
            }
        }
    }
}

pub async fn submit(State(state): State<AppState>, peer: PeerAddr, headers: HeaderMap, multipart: Multipart) -> Response {
    let signed_in = constituent(&state, &headers).await;
    let received = match read_form(&state, multipart).await {
        Ok(r) => r,
        Err((partial, why)) => {
            let values = partial.values();
            partial.abort().await;
            let key = match why {
                ReadError::TooLarge | ReadError::TooMany => "flash.report_too_large",
                ReadError::Malformed => "flash.report_invalid",
            };
            return refuse(&state, &headers, signed_in.as_ref(), StatusCode::PAYLOAD_TOO_LARGE, key, values);
        }
    };
    let csrf = received.field("csrf");
    let csrf_ok = match &signed_in {
        Some((session, _)) => session_csrf_ok(session, &csrf),
        None => anonymous_csrf_ok(&headers, &csrf),
    };
    if !csrf_ok {
        let values = received.values();
        received.abort().await;
        return refuse(&state, &headers, signed_in.as_ref(), StatusCode::FORBIDDEN, "flash.csrf", values);
    }
    if !received.field(HONEYPOT).is_empty() {
        received.abort().await;
        state.metrics.reports_trapped.fetch_add(1, Ordering::Relaxed);
        return refuse(
            &state,
            &headers,
            signed_in.as_ref(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "flash.report_invalid",
            ReportFormValues::default(),
        );
    }
    let ip = client_ip(&state, &headers, &peer);
    if !state.report_limiter.allow(ip, Instant::now()) {
        let values = received.values();
        received.abort().await;
        return refuse(&state, &headers, signed_in.as_ref(), StatusCode::TOO_MANY_REQUESTS, "flash.rate_limited", values);
    }

    let offset = crate::time::offset(&state.settings.time_zone);
    let principal = signed_in.as_ref().map(|(_, p)| p);
    let is_constituent = principal.is_some_and(|p| !p.user.is_staff());
    let impact = |name: &str| received.field(name).parse::<Impact>().ok();
    let cia = match (impact("impact_confidentiality"), impact("impact_integrity"), impact("impact_availability")) {
        (Some(c), Some(i), Some(a)) if is_constituent => Some(CiaImpact { confidentiality: c, integrity: i, availability: a }),
        _ => None,
    };
    let report = NewReport {
        channel: Some(if principal.is_some() { Channel::Portal } else { Channel::Web }),
        reporter_name: Some(received.field("reporter_name")),
        reporter_email: Some(received.field("reporter_email")),
        reporter_org: Some(received.field("reporter_org")),
        submitted_by: principal.map(|p| p.user.id),
        org_id: principal.filter(|_| is_constituent).map(|p| p.org.id),
        title: received.field("title"),
        description: received.field("description"),
        started_at: parse_local_time(&received.field("started_at"), offset),
        noticed_at: parse_local_time(&received.field("noticed_at"), offset),
        affected: received.field("affected"),
        suggested_category: Some(received.field("category")).filter(|c| rampart_core::rsit::classes().iter().any(|k| &k.value == c)),
        tw_level: received.field("tw_level").parse().ok().and_then(TwLevel::new).filter(|_| is_constituent),
        impact: cia,
        ci_services: Some(received.field("ci_services")).filter(|_| is_constituent),
        ..Default::default()
    };
    let report = match report.validate() {
        Ok(r) => r,
        Err(_) => {
            let values = received.values();
            received.abort().await;
            return refuse(&state, &headers, signed_in.as_ref(), StatusCode::UNPROCESSABLE_ENTITY, "flash.report_invalid", values);
        }
    };
    let mut files = Vec::with_capacity(received.uploads.len());
    for (upload, filename, content_type) in received.uploads {
        match upload.finish().await {
            Ok(stored) => files.push(IncomingFile { stored, filename, content_type }),
            Err(e) => {
                tracing::error!(error = %e, "storing an attachment failed");
                return error_page(&state, &headers, principal, StatusCode::INTERNAL_SERVER_ERROR, "error.internal");
            }
        }
    }
    let actor = principal.map(|p| Actor::User(p.user.id)).unwrap_or(Actor::Anonymous);
    let (report, secret) = match svc::submit_report(&*state.store, &actor, report, &files, true).await {
        Ok(done) => done,
        Err(e) => {
            tracing::error!(error = %e, "storing a report failed");
            return error_page(&state, &headers, principal, StatusCode::INTERNAL_SERVER_ERROR, "error.internal");
        }
    };
    let lang = language(&state, &headers, principal);
    let status_url = format!("{}/report/status/{}", state.settings.public_url, secret.unwrap_or_default());
    let acknowledgement_sent = acknowledge(&state, &report, lang, &status_url).await;
    let csrf = signed_in.as_ref().map(|(s, _)| s.csrf_token.clone()).unwrap_or_default();
    let page = ReportReceivedPage {
        page: PageCtx::new(lang, csrf, principal, None, "title.report_received", principal.is_some()),
        reference: report.reference,
        status_url,
        acknowledgement_sent,
    };
    render_page(StatusCode::OK, &page, None)
}

/// Tells the reporter, if they gave an address, that the report arrived. A failure
/// is logged and shown, and changes nothing about the stored report.
async fn acknowledge(state: &AppState, report: &rampart_core::records::Report, lang: &str, status_url: &str) -> bool {
    let (Some(to), Some(_)) = (&report.reporter_email, &state.mailer) else { return false };
    let catalog = crate::i18n::catalog(lang);
    let fill = |key: &str| catalog.get(key).replace("{reference}", &report.reference).replace("{status_url}", status_url);
    let mail = rampart_notify::smtp::Outgoing {
        to: to.clone(),
        subject: fill("mail.ack_subject"),
        body: fill("mail.ack_body"),
        in_reply_to: None,
    };
    let record = crate::service::correspondence::Record::Report(report.id);
    match crate::service::correspondence::send(&*state.store, state.mailer.as_ref(), &Actor::System, record, &report.reference, mail).await
    {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, reference = %report.reference, "acknowledgement not sent");
            false
        }
    }
}

pub async fn status(State(state): State<AppState>, headers: HeaderMap, Path(secret): Path<String>) -> Response {
    let report = if secret.len() <= 64 {
        state.store.incidents().find_report_by_status_secret(&secret_digest(&secret)).await.ok().flatten()
    } else {
        None
    };
    let Some(report) = report else {
        return error_page(&state, &headers, None, StatusCode::NOT_FOUND, "error.report_not_found");
    };
    let incident_reference = match report.incident_id {
        Some(id) => state.store.incidents().get_incident(id).await.ok().flatten().map(|i| i.reference).unwrap_or_default(),
        None => String::new(),
    };
    let lang = language(&state, &headers, None);
    let page = PageCtx::new(lang, String::new(), None, None, "title.report_status", false);
    let view = ReportStatusPage {
        status: report.status.to_string(),
        status_label: page.t(&format!("report_status.{}", report.status)).to_string(),
        reference: report.reference,
        received_at: crate::time::display(report.created_at, &state.settings.time_zone),
        incident_reference,
        page,
    };
    render_page(StatusCode::OK, &view, None)
}
