use crate::for_each_backend;
use chrono::{Duration, Utc};
use rampart_core::incident::{IncidentStatus, ReportStatus, Severity};
use rampart_core::observables::extract;
use rampart_core::records::{Channel, IncidentFields, NewReport, TimelineKind};
use rampart_store::{verify_audit_chain, Actor, IncidentFilter, NewAttachment, NewTimelineEntry, ReportFilter, StoreError, Triage};

fn report(text: &str) -> NewReport {
    NewReport {
        channel: Some(Channel::Web),
        description: text.into(),
        reporter_email: Some("someone@example.tw".into()),
        ..Default::default()
    }
}

fn titled(title: &str) -> IncidentFields {
    IncidentFields { title: Some(title.into()), ..Default::default() }
}

#[tokio::test]
async fn reports_get_yearly_references_and_their_observables() {
    for_each_backend(|b| async move {
        let store = b.store.incidents();
        let text = "Phishing site hxxp://bank-login[.]example.com asking for cards, mail from 203.0.113.9";
        let first = store.create_report(&Actor::Anonymous, report(text), &extract(text)).await.unwrap();
        let second = store.create_report(&Actor::Anonymous, report("second one"), &[]).await.unwrap();
        let year = Utc::now().format("%Y");
        assert_eq!(first.reference, format!("RPT-{year}-000001"));
        assert_eq!(second.reference, format!("RPT-{year}-000002"));
        assert_eq!(first.status, ReportStatus::New);
        assert_eq!(store.find_report_by_reference(&first.reference.to_lowercase()).await.unwrap().unwrap().id, first.id);
        let observables = store.report_observables(first.id).await.unwrap();
        assert!(observables.iter().any(|o| o.value == "bank-login.example.com"), "{observables:?}");
        assert!(observables.iter().any(|o| o.value == "203.0.113.9"));
        let listed = store.list_reports(&ReportFilter { status: Some(ReportStatus::New), limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(listed.iter().map(|r| r.id).collect::<Vec<_>>(), [second.id, first.id], "newest first");
        let timeline = store.report_timeline(first.id).await.unwrap();
        assert_eq!(timeline.len(), 1);
        assert!(matches!(store.create_report(&Actor::Anonymous, report("  "), &[]).await, Err(StoreError::Invalid(_))));
    })
    .await;
}

#[tokio::test]
async fn triage_promotes_a_report_into_an_incident_with_its_clocks_and_observables() {
    for_each_backend(|b| async move {
        let store = b.store.incidents();
        let noticed = Utc::now() - Duration::hours(3);
        let mut new = report("Ransomware on 198.51.100.20, note mentions CVE-2024-3400");
        new.noticed_at = Some(noticed);
        let r = store.create_report(&Actor::Anonymous, new.clone(), &extract(&new.description)).await.unwrap();
        let fields = IncidentFields {
            rsit_class: Some("malicious-code".into()),
            rsit_type: Some("infected-system".into()),
            tw_level: Some(2),
            severity: Some(Severity::High),
            ..Default::default()
        };
        let (r, incident) = store.triage_report(&Actor::Cli, r.id, Triage::Promote(fields)).await.unwrap();
        let incident = incident.unwrap();
        assert_eq!(r.status, ReportStatus::Linked);
        assert_eq!(r.incident_id, Some(incident.id));
        assert!(incident.reference.starts_with("INC-"));
        assert_eq!(incident.tw_level.map(|l| l.get()), Some(2));
        assert_eq!(incident.title, r.title, "the report's title carries over");
        let milestones = store.milestones(incident.id).await.unwrap();
        assert!((milestones["aware"] - noticed).num_milliseconds().abs() < 1, "aware = when the reporter noticed");
        assert!(milestones.contains_key("created") && milestones.contains_key("triaged"));
        let obs = store.incident_observables(incident.id).await.unwrap();
        assert!(obs.iter().any(|o| o.value == "CVE-2024-3400"), "{obs:?}");
        assert_eq!(store.incident_report_ids(incident.id).await.unwrap(), [r.id]);
        // A linked report cannot be rejected afterwards.
        assert!(matches!(store.triage_report(&Actor::Cli, r.id, Triage::Reject).await, Err(StoreError::Invalid(_))));

        // A second report about the same host links to it, and correlation finds the pair.
        let other = store.create_report(&Actor::Anonymous, report("also 198.51.100.20"), &extract("also 198.51.100.20")).await.unwrap();
        let second = store.triage_report(&Actor::Cli, other.id, Triage::Promote(titled("Second"))).await.unwrap().1.unwrap();
        let related = store.related_incidents(second.id, 10).await.unwrap();
        assert_eq!(related.len(), 1);
        assert_eq!((related[0].0, related[0].1.value.as_str()), (incident.id, "198.51.100.20"));
        assert_eq!(verify_audit_chain(&*b.store).await.unwrap().map(|n| n > 0), Ok(true));
    })
    .await;
}

#[tokio::test]
async fn incidents_change_state_by_the_lifecycle_and_record_it() {
    for_each_backend(|b| async move {
        let store = b.store.incidents();
        let i = store.create_incident(&Actor::Cli, titled("Defacement of www.example.gov.tw"), &[]).await.unwrap();
        assert_eq!(i.status, IncidentStatus::New);
        assert!(store.set_incident_status(&Actor::Cli, i.id, IncidentStatus::Contained).await.is_ok());
        let resolved = store.set_incident_status(&Actor::Cli, i.id, IncidentStatus::Resolved).await.unwrap();
        assert_eq!(resolved.status, IncidentStatus::Resolved);
        assert!(store.milestones(i.id).await.unwrap().contains_key("recovered"), "resolving records recovery");
        assert!(matches!(store.set_incident_status(&Actor::Cli, i.id, IncidentStatus::Contained).await, Err(StoreError::Invalid(_))));

        let raised = store.update_incident(&Actor::Cli, i.id, IncidentFields { tw_level: Some(3), ..Default::default() }).await.unwrap();
        assert_eq!(raised.tw_level.map(|l| l.get()), Some(3));
        assert_eq!(raised.title, i.title, "unspecified fields stay");
        let cleared = store.update_incident(&Actor::Cli, i.id, IncidentFields { tw_level: Some(0), ..Default::default() }).await.unwrap();
        assert_eq!(cleared.tw_level, None);
        assert!(matches!(
            store
                .update_incident(
                    &Actor::Cli,
                    i.id,
                    IncidentFields { rsit_class: Some("x".into()), rsit_type: Some("y".into()), ..Default::default() }
                )
                .await,
            Err(StoreError::Invalid(_))
        ));

        store.set_milestone(&Actor::Cli, i.id, "reported", Utc::now()).await.unwrap();
        let note = NewTimelineEntry {
            kind: TimelineKind::Note,
            event_at: Utc::now() - Duration::days(1),
            actor: "cli".into(),
            body: "backdated note".into(),
        };
        store.add_timeline(&Actor::Cli, Some(i.id), None, note).await.unwrap();
        let timeline = store.incident_timeline(i.id).await.unwrap();
        assert_eq!(timeline[0].body, "backdated note", "ordered by event time");
        let kinds: Vec<_> = timeline.iter().map(|t| t.kind).collect();
        assert!(
            kinds.contains(&TimelineKind::Status)
                && kinds.contains(&TimelineKind::Classification)
                && kinds.contains(&TimelineKind::Milestone)
        );
    })
    .await;
}

#[tokio::test]
async fn listing_filters_pages_and_searches() {
    for_each_backend(|b| async move {
        let store = b.store.incidents();
        for n in 0..7 {
            let title = if n == 3 { "Credential phishing against a hospital".to_string() } else { format!("Scan number {n}") };
            let fields = IncidentFields {
                title: Some(title),
                severity: Some(if n % 2 == 0 { Severity::High } else { Severity::Low }),
                ..Default::default()
            };
            store.create_incident(&Actor::Cli, fields, &[]).await.unwrap();
        }
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store.list_incidents(&IncidentFilter { after, limit: 3, ..Default::default() }).await.unwrap();
            seen.extend(page.iter().map(|i| i.reference.clone()));
            after = rampart_store::next_cursor(&page, 3);
            if after.is_none() {
                break;
            }
        }
        assert_eq!(seen.len(), 7, "keyset paging visits each once: {seen:?}");
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.reverse();
        assert_eq!(seen, sorted, "newest first");
        let high = store.list_incidents(&IncidentFilter { severity: Some(Severity::High), limit: 50, ..Default::default() }).await.unwrap();
        assert_eq!(high.len(), 4);
        let found = store
            .list_incidents(&IncidentFilter { text: Some("phishing hospital".into()), limit: 50, ..Default::default() })
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].title.contains("hospital"));
        let hostile =
            store.list_incidents(&IncidentFilter { text: Some("\" OR 1=1; -- NEAR(".into()), limit: 50, ..Default::default() }).await;
        assert!(hostile.is_ok(), "search syntax in user input is not an error: {hostile:?}");
    })
    .await;
}

#[tokio::test]
async fn attachments_keep_a_chain_of_custody() {
    for_each_backend(|b| async move {
        let store = b.store.incidents();
        let r = store.create_report(&Actor::Anonymous, report("see attached"), &[]).await.unwrap();
        let sha = "a".repeat(64);
        let a = store
            .add_attachment(
                &Actor::Anonymous,
                NewAttachment {
                    sha256: sha.clone(),
                    size: 10,
                    filename: "mail.eml".into(),
                    content_type: "message/rfc822".into(),
                    report_id: Some(r.id),
                    incident_id: None,
                },
            )
            .await
            .unwrap();
        store.record_custody(&Actor::Cli, a.id, "viewed", "downloaded").await.unwrap();
        let custody = store.custody(a.id).await.unwrap();
        assert_eq!(custody.iter().map(|c| c.action.as_str()).collect::<Vec<_>>(), ["received", "viewed"]);
        assert_eq!(store.attachments_of(Some(r.id), None).await.unwrap().len(), 1);
        let (_, incident) = store.triage_report(&Actor::Cli, r.id, Triage::Promote(IncidentFields::default())).await.unwrap();
        assert_eq!(store.attachments_of(None, incident.map(|i| i.id)).await.unwrap().len(), 1, "an incident sees its reports' evidence");
    })
    .await;
}
