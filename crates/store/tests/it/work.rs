use crate::for_each_backend;
use rampart_core::incident::{CountermeasureStatus, IncidentStatus, InvestigationStatus};
use rampart_core::records::{IncidentFields, NewReport};
use rampart_core::work::CountermeasureKind;
use rampart_store::{verify_audit_chain, Actor, StoreError, Triage};

fn fields(title: &str) -> IncidentFields {
    IncidentFields { title: Some(title.into()), ..Default::default() }
}

#[tokio::test]
async fn playbooks_tasks_investigations_and_countermeasures() {
    for_each_backend(|b| async move {
        let (incidents, work) = (b.store.incidents(), b.store.work());
        let phishing = IncidentFields { rsit_class: Some("fraud".into()), rsit_type: Some("phishing".into()), ..fields("Bank phishing") };
        let i = incidents.create_incident(&Actor::Cli, phishing, &[]).await.unwrap();
        let tasks = work.tasks(i.id).await.unwrap();
        assert!(tasks.len() >= 3, "the phishing playbook starts the work: {tasks:?}");
        assert!(tasks.iter().all(|t| t.due_at.is_some() && t.done_at.is_none()));
        let done = work.set_task_done(&Actor::Cli, tasks[0].id, true).await.unwrap();
        assert!(done.done_at.is_some());
        assert!(work.add_task(&Actor::Cli, i.id, "  ", None, None).await.is_err());
        work.add_task(&Actor::Cli, i.id, "Call the bank's SOC", None, None).await.unwrap();
        assert_eq!(work.tasks(i.id).await.unwrap().len(), tasks.len() + 1);

        // Classifying later applies the playbook once.
        let plain = incidents.create_incident(&Actor::Cli, fields("Unknown"), &[]).await.unwrap();
        assert!(work.tasks(plain.id).await.unwrap().is_empty());
        let classified =
            IncidentFields { rsit_class: Some("malicious-code".into()), rsit_type: Some("infected-system".into()), ..Default::default() };
        incidents.update_incident(&Actor::Cli, plain.id, classified.clone()).await.unwrap();
        let n = work.tasks(plain.id).await.unwrap().len();
        assert!(n > 0);
        incidents.update_incident(&Actor::Cli, plain.id, classified).await.unwrap();
        assert_eq!(work.tasks(plain.id).await.unwrap().len(), n, "not twice");

        let inv = work.add_investigation(&Actor::Cli, i.id, "HiNet hosting", Some("Abuse@HiNet.example"), None).await.unwrap();
        assert_eq!((inv.status, inv.contact.as_deref()), (InvestigationStatus::Open, Some("abuse@hinet.example")));
        assert!(work.add_investigation(&Actor::Cli, i.id, "x", Some("not mail"), None).await.is_err());
        assert_eq!(
            work.set_investigation_status(&Actor::Cli, inv.id, InvestigationStatus::Closed).await.unwrap().status,
            InvestigationStatus::Closed
        );

        let cm = work.add_countermeasure(&Actor::Cli, i.id, CountermeasureKind::BlockDomain, "bank-login.example.com").await.unwrap();
        assert_eq!(cm.status, CountermeasureStatus::PendingActivation);
        assert!(matches!(
            work.set_countermeasure_status(&Actor::Cli, cm.id, CountermeasureStatus::PendingRemoval).await,
            Err(StoreError::Invalid(_))
        ));
        work.set_countermeasure_status(&Actor::Cli, cm.id, CountermeasureStatus::Active).await.unwrap();
        work.set_countermeasure_status(&Actor::Cli, cm.id, CountermeasureStatus::PendingRemoval).await.unwrap();
        assert_eq!(
            work.set_countermeasure_status(&Actor::Cli, cm.id, CountermeasureStatus::Removed).await.unwrap().status,
            CountermeasureStatus::Removed
        );
        assert!(incidents.incident_timeline(i.id).await.unwrap().iter().any(|t| t.body.contains("pending_removal → removed")));
        assert_eq!(verify_audit_chain(&*b.store).await.unwrap().map(|n| n > 10), Ok(true));
    })
    .await;
}

#[tokio::test]
async fn links_merges_and_notices() {
    for_each_backend(|b| async move {
        let (incidents, work) = (b.store.incidents(), b.store.work());
        let a = incidents.create_incident(&Actor::Cli, fields("A"), &rampart_core::observables::extract("203.0.113.1")).await.unwrap();
        let c = incidents.create_incident(&Actor::Cli, fields("C"), &rampart_core::observables::extract("evil.example.com")).await.unwrap();
        work.link_incidents(&Actor::Cli, a.id, c.id).await.unwrap();
        assert_eq!(work.linked_incidents(c.id).await.unwrap(), [a.id]);
        assert!(work.link_incidents(&Actor::Cli, a.id, a.id).await.is_err());

        let report = incidents
            .create_report(&Actor::Anonymous, NewReport { description: "about C".into(), ..Default::default() }, &[])
            .await
            .unwrap();
        incidents.triage_report(&Actor::Cli, report.id, Triage::Link(c.id)).await.unwrap();
        work.merge_incident(&Actor::Cli, c.id, a.id).await.unwrap();
        let merged = incidents.get_incident(c.id).await.unwrap().unwrap();
        assert_eq!((merged.merged_into, merged.status), (Some(a.id), IncidentStatus::Closed));
        assert_eq!(incidents.incident_report_ids(a.id).await.unwrap(), [report.id], "the report moved over");
        assert!(incidents.incident_observables(a.id).await.unwrap().iter().any(|o| o.value == "evil.example.com"));
        assert!(work.merge_incident(&Actor::Cli, c.id, a.id).await.is_err(), "not twice");

        let due = chrono::Utc::now();
        assert!(work.record_notice(a.id, "tw", "report", "reminder", due).await.unwrap());
        assert!(!work.record_notice(a.id, "tw", "report", "reminder", due).await.unwrap(), "each notice once");
        assert!(work.record_notice(a.id, "tw", "report", "escalation", due).await.unwrap());
    })
    .await;
}
