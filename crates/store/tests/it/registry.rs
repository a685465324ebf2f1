use crate::for_each_backend;
use rampart_core::constituency::prefix::IpPrefix;
use rampart_core::constituency::resolve::{AssetKind, AssetSource, RoutingRow};
use rampart_core::notification::{DirectiveSource, NotificationFormat, NotificationStatus, SuppressionAction, SuppressionRule};
use rampart_core::org::{NewOrganisation, OrgType};
use rampart_core::registry::{AssetStatus, ContactRole, NewAsset, NewPeer};
use rampart_store::notifications::{DirectiveRecord, NewNotification, NotificationFilter};
use rampart_store::registry::{ContactRecord, ImportPlan, PlannedAsset};
use rampart_store::{verify_audit_chain, Actor, StoreError};
use std::collections::BTreeMap;

fn org(name: &str) -> NewOrganisation {
    NewOrganisation { name: name.into(), org_type: OrgType::Enterprise, sector: None, country: "TW".into(), parent_id: None }
}

fn contact(email: &str) -> ContactRecord {
    ContactRecord {
        role: ContactRole::Abuse,
        name: None,
        email: Some(email.into()),
        phone: None,
        language: "zh-TW".into(),
        pgp_key: None,
        pgp_fingerprint: None,
        pgp_expires_at: None,
    }
}

fn routing(prefix: &str, asn: u32) -> RoutingRow {
    RoutingRow { prefix: IpPrefix::parse(prefix).unwrap(), asn: Some(asn), country: Some("TW".into()) }
}

#[tokio::test]
async fn contacts_assets_claims_and_peers() {
    for_each_backend(|b| async move {
        let reg = b.store.registry();
        let o = b.store.create_org(&Actor::Cli, org("Example Telecom")).await.unwrap();
        let g0 = reg.generation().await.unwrap();

        let c = reg.add_contact(&Actor::Cli, o.id, &contact("abuse@example.tw")).await.unwrap();
        assert_eq!((c.source.as_str(), c.language.as_str()), ("manual", "zh-TW"));
        let changed =
            reg.update_contact(&Actor::Cli, c.id, &ContactRecord { language: "en".into(), ..contact("soc@example.tw") }).await.unwrap();
        assert_eq!(changed.email.as_deref(), Some("soc@example.tw"));
        assert_eq!(reg.contacts(o.id).await.unwrap().len(), 1);

        let asset = NewAsset {
            value: "1.34.0.0/16".into(),
            kind: None,
            include_subdomains: None,
            valid_from: None,
            valid_until: None,
            comment: "HQ".into(),
        }
        .validate()
        .unwrap();
        let a = reg.add_asset(&Actor::Cli, o.id, &asset, &AssetSource::Manual, AssetStatus::Active).await.unwrap();
        assert_eq!((a.kind, a.value.as_str()), (AssetKind::Ipv4Prefix, "1.34.0.0/16"));
        assert!(reg.generation().await.unwrap() > g0, "an active asset changes the index");
        let again = reg.add_asset(&Actor::Cli, o.id, &asset, &AssetSource::Manual, AssetStatus::Active).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");

        let claim = NewAsset {
            value: "example.tw".into(),
            kind: None,
            include_subdomains: None,
            valid_from: None,
            valid_until: None,
            comment: String::new(),
        }
        .validate()
        .unwrap();
        let g1 = reg.generation().await.unwrap();
        let pending = reg.add_asset(&Actor::Cli, o.id, &claim, &AssetSource::Manual, AssetStatus::Pending).await.unwrap();
        assert_eq!(reg.generation().await.unwrap(), g1, "a claim does not route until approved");
        assert_eq!(reg.assets_with_status(AssetStatus::Pending).await.unwrap().len(), 1);
        reg.set_asset_status(&Actor::Cli, pending.id, AssetStatus::Active).await.unwrap();
        assert_eq!(reg.assets_with_status(AssetStatus::Active).await.unwrap().len(), 2);

        let found = reg.search_orgs("example.tw", 10).await.unwrap();
        assert_eq!(found.len(), 1, "found by asset");
        assert_eq!(reg.search_orgs("soc@", 10).await.unwrap().len(), 1, "found by contact");
        assert!(reg.search_orgs("100%_", 10).await.unwrap().is_empty(), "LIKE wildcards are literal");

        let jp = b
            .store
            .create_org(&Actor::Cli, NewOrganisation { country: "JP".into(), org_type: OrgType::PeerCsirt, ..org("JPCERT/CC") })
            .await
            .unwrap();
        let peer = NewPeer {
            name: "JPCERT/CC".into(),
            country: "JP".into(),
            national: true,
            taxii_url: None,
            misp_url: None,
            comment: String::new(),
        };
        let p = reg.upsert_peer(&Actor::Cli, jp.id, &peer).await.unwrap();
        assert!(p.national);
        assert_eq!(reg.peers().await.unwrap().len(), 1);

        reg.delete_contact(&Actor::Cli, c.id).await.unwrap();
        reg.delete_asset(&Actor::Cli, a.id).await.unwrap();
        assert_eq!(verify_audit_chain(&*b.store).await.unwrap().map(|n| n > 8), Ok(true));
    })
    .await;
}

#[tokio::test]
async fn imports_are_idempotent_and_leave_manual_entries_alone() {
    for_each_backend(|b| async move {
        let reg = b.store.registry();
        let o = b.store.create_org(&Actor::Cli, org("Campus Net")).await.unwrap();
        let manual = NewAsset {
            value: "140.112.0.0/16".into(),
            kind: None,
            include_subdomains: None,
            valid_from: None,
            valid_until: None,
            comment: String::new(),
        }
        .validate()
        .unwrap();
        reg.add_asset(&Actor::Cli, o.id, &manual, &AssetSource::Manual, AssetStatus::Active).await.unwrap();

        let planned = |value: &str, comment: &str| PlannedAsset {
            org_id: o.id,
            kind: if value.contains('/') { AssetKind::Ipv4Prefix } else { AssetKind::Domain },
            value: value.into(),
            include_subdomains: !value.contains('/'),
            comment: comment.into(),
        };
        let source = AssetSource::Imported("campus".into());
        let plan = ImportPlan {
            assets: vec![planned("140.112.0.0/16", "from csv"), planned("ntu.edu.tw", "")],
            contacts: vec![(o.id, contact("abuse@ntu.edu.tw"))],
        };
        let (assets, contacts) = reg.apply_import(&Actor::Cli, &source, &plan).await.unwrap();
        assert_eq!((assets.added, contacts.added), (2, 1));
        let (assets, contacts) = reg.apply_import(&Actor::Cli, &source, &plan).await.unwrap();
        assert_eq!((assets.added, assets.changed, assets.removed, assets.unchanged), (0, 0, 0, 2), "idempotent");
        assert_eq!(contacts.unchanged, 1);

        let smaller = ImportPlan { assets: vec![planned("140.112.0.0/16", "renamed")], contacts: Vec::new() };
        let (assets, contacts) = reg.apply_import(&Actor::Cli, &source, &smaller).await.unwrap();
        assert_eq!((assets.changed, assets.removed, contacts.removed), (1, 1, 1));
        let all = reg.assets(o.id).await.unwrap();
        assert_eq!(all.len(), 2, "the manual entry and one imported: {all:?}");
        assert!(all.iter().any(|a| a.source == AssetSource::Manual));

        let rows: Vec<RoutingRow> = (0..1200).map(|i| routing(&format!("1.{}.{}.0/24", i / 256, i % 256), 3462)).collect();
        let counts = reg.replace_routing(&Actor::Cli, "libloc", &rows).await.unwrap();
        assert_eq!(counts.added, 1200, "batched beyond one statement");
        let counts = reg.replace_routing(&Actor::Cli, "libloc", &rows).await.unwrap();
        assert_eq!((counts.added, counts.unchanged), (0, 1200));
        let mut changed = rows[..600].to_vec();
        changed[0].asn = Some(1659);
        let counts = reg.replace_routing(&Actor::Cli, "libloc", &changed).await.unwrap();
        assert_eq!((counts.changed, counts.removed, counts.unchanged), (1, 600, 599));
        assert_eq!(reg.routing_rows().await.unwrap().len(), 600);
        assert_eq!(reg.routing_sources().await.unwrap(), vec![("libloc".to_string(), 600)]);
    })
    .await;
}

fn directive(recipient: &str, ip: &str) -> DirectiveRecord {
    let event: BTreeMap<String, String> = [("source.ip", ip), ("classification.type", "vulnerable-service")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    DirectiveRecord {
        org_id: None,
        recipient: recipient.into(),
        template_kind: "feed_events".into(),
        language: "en".into(),
        format: NotificationFormat::TextCsv,
        aggregation_key: "vulnerable-service".into(),
        interval_secs: 3600,
        event_key: rampart_core::notification::event_key(&event),
        event,
        source: DirectiveSource::Feed,
        source_id: None,
        incident_id: None,
    }
}

fn notification(reference: String, ids_recipient: &str) -> NewNotification {
    let id = rampart_core::ids::new_id();
    NewNotification {
        id,
        message_id: format!("<{reference}.{id}@cert.example.tw>"),
        reference,
        org_id: None,
        recipient: ids_recipient.into(),
        cc: Vec::new(),
        template_kind: "feed_events".into(),
        language: "en".into(),
        format: NotificationFormat::TextCsv,
        aggregation_key: "vulnerable-service".into(),
        subject: "[NTF] test".into(),
        raw: b"Subject: test\r\n\r\nbody\r\n".to_vec(),
        signed: false,
        encrypted: false,
        incident_id: None,
    }
}

#[tokio::test]
async fn directives_aggregate_once_per_interval_and_the_outbox_leases() {
    for_each_backend(|b| async move {
        let n = b.store.notifications();
        let (stored, skipped) = n
            .add_directives(
                &Actor::System,
                &[directive("abuse@a.tw", "1.34.0.1"), directive("abuse@a.tw", "1.34.0.2"), directive("abuse@a.tw", "1.34.0.1")],
            )
            .await
            .unwrap();
        assert_eq!((stored.len(), skipped), (2, 1), "the same event in one batch is told once");
        let (_, skipped) = n.add_directives(&Actor::System, &[directive("abuse@a.tw", "1.34.0.2")]).await.unwrap();
        assert_eq!(skipped, 1, "still waiting");

        let now = chrono::Utc::now();
        let groups = n.due_groups(now).await.unwrap();
        assert_eq!(groups.len(), 1);
        let waiting = n.waiting_directives(&groups[0]).await.unwrap();
        assert_eq!(waiting.len(), 2);
        let reference = n.next_notification_reference().await.unwrap();
        assert!(reference.starts_with("NTF-"), "{reference}");
        let ids: Vec<_> = waiting.iter().map(|d| d.id).collect();
        let queued = n.enqueue(&Actor::System, notification(reference.clone(), "abuse@a.tw"), &ids).await.unwrap();
        assert_eq!((queued.status, queued.event_count), (NotificationStatus::Queued, 2));
        let twice = n.enqueue(&Actor::System, notification(n.next_notification_reference().await.unwrap(), "abuse@a.tw"), &ids).await;
        assert!(matches!(twice, Err(StoreError::Conflict(_))), "directives go in one message only: {twice:?}");
        assert!(n.due_groups(now).await.unwrap().is_empty());

        // Within the interval, new events wait for the next message and old ones are not told again.
        let (stored, skipped) =
            n.add_directives(&Actor::System, &[directive("abuse@a.tw", "1.34.0.1"), directive("abuse@a.tw", "1.34.0.3")]).await.unwrap();
        assert_eq!((stored.len(), skipped), (1, 1));
        assert!(n.due_groups(chrono::Utc::now()).await.unwrap().is_empty(), "at most once per interval");
        assert_eq!(n.due_groups(chrono::Utc::now() + chrono::Duration::hours(2)).await.unwrap().len(), 1);

        // The outbox: one sender gets a message; a lease that runs out lets another resend it.
        let now = chrono::Utc::now();
        let lease = now + chrono::Duration::minutes(5);
        let claimed = n.claim_due(now, lease, 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].1, b"Subject: test\r\n\r\nbody\r\n".to_vec(), "the message as composed");
        assert!(n.claim_due(now, lease, 10).await.unwrap().is_empty(), "leased");
        let later = now + chrono::Duration::minutes(6);
        let again = n.claim_due(later, later + chrono::Duration::minutes(5), 10).await.unwrap();
        assert_eq!(again.len(), 1, "a dead sender's message goes again");
        assert_eq!(again[0].0.message_id, queued.message_id, "with the same Message-ID");
        assert_eq!(again[0].0.attempts, 2);
        let deferred = n
            .record_attempt(queued.id, NotificationStatus::Deferred, "relay down", Some(later + chrono::Duration::minutes(2)))
            .await
            .unwrap();
        assert_eq!(deferred.status, NotificationStatus::Deferred);
        assert!(n.claim_due(later, later, 10).await.unwrap().is_empty(), "not before its retry time");
        assert_eq!(n.claim_due(later + chrono::Duration::minutes(3), later + chrono::Duration::minutes(8), 10).await.unwrap().len(), 1);
        let sent = n.record_attempt(queued.id, NotificationStatus::Sent, "250 ok", None).await.unwrap();
        assert!(sent.sent_at.is_some());
        n.log_delivery(queued.id, "reply", "Reply from abuse@a.tw").await.unwrap();
        let log: Vec<String> = n.delivery_log(queued.id).await.unwrap().into_iter().map(|l| l.status).collect();
        assert_eq!(log, ["queued", "deferred", "sent", "reply"]);
        assert_eq!(n.find_notification(&reference).await.unwrap().map(|x| x.id), Some(queued.id));
        assert_eq!(n.find_notification(&queued.message_id).await.unwrap().map(|x| x.id), Some(queued.id));
        assert_eq!(n.directives_of(queued.id).await.unwrap().len(), 2);
        let filter = NotificationFilter { status: Some(NotificationStatus::Sent), limit: 10, ..Default::default() };
        assert_eq!(n.notifications(&filter).await.unwrap().len(), 1);

        // Templates and rules.
        n.save_template(&Actor::Cli, "feed_events", "en", "Hello {{ org_name }}", "Body").await.unwrap();
        assert_eq!(n.templates().await.unwrap().len(), 1);
        n.reset_template(&Actor::Cli, "feed_events", "en").await.unwrap();
        assert!(n.templates().await.unwrap().is_empty());
        let rule = SuppressionRule {
            id: rampart_core::ids::new_id(),
            org_id: None,
            sector: None,
            classification_type: Some("scanner".into()),
            action: SuppressionAction::Suppress,
            copy_to: None,
            comment: String::new(),
            created_at: chrono::Utc::now(),
        };
        n.add_rule(&Actor::Cli, &rule).await.unwrap();
        assert_eq!(n.rules().await.unwrap().len(), 1);
        n.delete_rule(&Actor::Cli, rule.id).await.unwrap();
        assert!(matches!(n.delete_rule(&Actor::Cli, rule.id).await, Err(StoreError::NotFound)));
        assert_eq!(verify_audit_chain(&*b.store).await.unwrap().map(|c| c > 5), Ok(true));
    })
    .await;
}
