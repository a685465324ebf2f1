//! Intake and handling: reports in, incidents out, with deadlines and observables.

use super::{ServiceError, ServiceResult};
use crate::evidence::Stored;
use chrono::Utc;
use rampart_core::deadlines::{self, ClockInput, Deadline};
use rampart_core::observables::{extract, Observable};
use rampart_core::policy::{self, Action, Audience, Caller, Resource};
use rampart_core::records::{Attachment, Incident, IncidentDetail, NewReport, Report};
use rampart_core::tlp::Pap;
use rampart_store::{Actor, NewAttachment, Store};
use uuid::Uuid;

/// An uploaded file, stored already.
#[derive(Debug, Clone)]
pub struct IncomingFile {
    pub stored: Stored,
    pub filename: String,
    pub content_type: String,
}

/// Everything a report says, scanned for observables.
pub fn report_observables(report: &NewReport) -> Vec<Observable> {
    let mut text = String::with_capacity(report.title.len() + report.description.len() + report.affected.len() + 2);
    for part in [&report.title, &report.description, &report.affected] {
        text.push_str(part);
        text.push('\n');
    }
    extract(&text)
}

/// Stores a report and its files. Returns the report and, when `with_status_link`,
/// the secret for the reporter's status page (only its digest is stored).
pub async fn submit_report(
    store: &dyn Store,
    actor: &Actor,
    mut report: NewReport,
    files: &[IncomingFile],
    with_status_link: bool,
) -> ServiceResult<(Report, Option<String>)> {
    let secret = with_status_link.then(|| rampart_core::credentials::new_secret(""));
    report.status_secret_digest = secret.as_deref().map(rampart_core::credentials::secret_digest);
    let observables = report_observables(&report);
    let report = store.incidents().create_report(actor, report, &observables).await?;
    for f in files {
        let new = NewAttachment {
            sha256: f.stored.sha256.clone(),
            size: f.stored.size as i64,
            filename: f.filename.clone(),
            content_type: f.content_type.clone(),
            report_id: Some(report.id),
            incident_id: None,
        };
        store.incidents().add_attachment(actor, new).await?;
    }
    Ok((report, secret))
}

/// Incidents belong to the operator and are addressed to the affected constituent.
pub fn incident_resource(incident: &Incident, operator: Uuid) -> Resource {
    Resource { owner_org: operator, tlp: incident.tlp, pap: incident.pap, audience: Audience::Orgs(incident.org_id.into_iter().collect()) }
}

/// A report is the reporting organisation's, addressed to the operator.
pub fn report_resource(report: &Report, operator: Uuid) -> Resource {
    Resource { owner_org: report.org_id.unwrap_or(operator), tlp: report.tlp, pap: Pap::Amber, audience: Audience::Orgs(vec![operator]) }
}

pub fn may(caller: &Caller, action: Action, resource: &Resource) -> bool {
    policy::decide(caller, action, resource).allowed()
}

/// The deadline clocks of an incident now.
pub async fn deadlines_of(store: &dyn Store, incident: &Incident) -> ServiceResult<Vec<Deadline>> {
    let milestones = store.incidents().milestones(incident.id).await?;
    let input = ClockInput {
        tw_level: incident.tw_level,
        nis2_significant: incident.nis2_significant,
        severity: Some(incident.severity),
        milestones,
    };
    Ok(deadlines::compute(deadlines::regimes(), &input, Utc::now()))
}

pub async fn detail(store: &dyn Store, incident: Incident) -> ServiceResult<IncidentDetail> {
    let deadlines = deadlines_of(store, &incident).await?;
    let observables = store.incidents().incident_observables(incident.id).await?;
    let report_ids = store.incidents().incident_report_ids(incident.id).await?;
    Ok(IncidentDetail { incident, deadlines, observables, report_ids })
}

/// Loads an incident the caller may read; others are "not found".
pub async fn readable_incident(store: &dyn Store, caller: &Caller, operator: Uuid, id: Uuid) -> ServiceResult<Option<Incident>> {
    Ok(store.incidents().get_incident(id).await?.filter(|i| may(caller, Action::Read, &incident_resource(i, operator))))
}

pub async fn writable_incident(store: &dyn Store, caller: &Caller, operator: Uuid, id: Uuid) -> ServiceResult<Incident> {
    let incident = readable_incident(store, caller, operator, id).await?.ok_or(ServiceError::Store(rampart_store::StoreError::NotFound))?;
    if !caller.is_staff() || !may(caller, Action::Write, &incident_resource(&incident, operator)) {
        return Err(ServiceError::Forbidden("only CERT staff handle incidents".into()));
    }
    Ok(incident)
}

/// Milestones an analyst may record by hand.
pub fn recordable_milestones() -> Vec<String> {
    deadlines::milestone_names(deadlines::regimes()).into_iter().filter(|m| m != "created").collect()
}

/// Evidence of a report or incident the caller may read.
pub async fn readable_attachment(store: &dyn Store, caller: &Caller, operator: Uuid, id: Uuid) -> ServiceResult<Option<Attachment>> {
    let Some(a) = store.incidents().get_attachment(id).await? else { return Ok(None) };
    let via_report = match a.report_id {
        Some(r) => store.incidents().get_report(r).await?.is_some_and(|r| may(caller, Action::Read, &report_resource(&r, operator))),
        None => false,
    };
    let via_incident = match a.incident_id {
        Some(i) => readable_incident(store, caller, operator, i).await?.is_some(),
        None => false,
    };
    Ok((via_report || via_incident).then_some(a))
}
