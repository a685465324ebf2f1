use crate::for_each_backend;
use rampart_core::org::OrgType;
use rampart_core::policy::Audience;
use rampart_core::tlp::{Pap, Tlp};
use rampart_store::intel::{IntelQuery, IntelSubmission, NewIntelObject, ReviewStatus, VersionFilter};
use rampart_store::{Actor, Store, StoreError};
use uuid::Uuid;

async fn org(store: &dyn Store, name: &str) -> Uuid {
    crate::accounts::org(store, name, OrgType::IsacMember).await.id
}

fn object(id: &str, modified: &str, key: &str, tlp: Tlp) -> NewIntelObject {
    NewIntelObject {
        stix_id: id.into(),
        stix_type: id.split("--").next().unwrap().into(),
        spec_version: "2.1".into(),
        version_key: key.into(),
        version: modified.into(),
        tlp,
        pap: Pap::Green,
        body: format!("{{\"id\":\"{id}\",\"modified\":\"{modified}\"}}"),
        refs: Vec::new(),
    }
}

fn submission(org: Uuid, audience: Audience, status: ReviewStatus, objects: Vec<NewIntelObject>) -> IntelSubmission {
    IntelSubmission {
        id: rampart_core::ids::new_id(),
        producer_org: org,
        audience,
        status,
        source: "test".into(),
        total: objects.len() as u64 + 1,
        objects,
        refused: vec![("indicator--bad".into(), String::new(), "no pattern".into())],
    }
}

fn all() -> VersionFilter {
    VersionFilter { all: true, ..Default::default() }
}

fn query(audience: Audience, versions: VersionFilter) -> IntelQuery {
    IntelQuery { audience: Some(audience), status: Some(ReviewStatus::Published), versions, limit: 100, ..Default::default() }
}

const A: &str = "indicator--2f0b8a3c-0e43-4c8e-9a4b-5b1c2c3d4e01";
const B: &str = "malware--2f0b8a3c-0e43-4c8e-9a4b-5b1c2c3d4e02";

#[tokio::test]
async fn versions_are_kept_in_order_with_the_latest_marked() {
    for_each_backend(|b| async move {
        let store = &*b.store;
        let intel = store.intel();
        let producer = org(store, "Member Bank").await;
        let first = submission(
            producer,
            Audience::Community,
            ReviewStatus::Published,
            vec![
                object(A, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000000Z", Tlp::Green),
                object(B, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000000Z", Tlp::Amber),
            ],
        );
        let added = intel.add_intel(&Actor::Cli, &first).await.unwrap();
        assert_eq!((added.added.len(), added.present.len()), (2, 0));
        // A new version of A, and A's first version again (a no-op).
        let second = submission(
            producer,
            Audience::Community,
            ReviewStatus::Published,
            vec![
                object(A, "2026-02-01T00:00:00.000Z", "2026-02-01T00:00:00.000000Z", Tlp::Green),
                object(A, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000000Z", Tlp::Green),
            ],
        );
        let added = intel.add_intel(&Actor::Cli, &second).await.unwrap();
        assert_eq!(added.added, vec![(A.to_string(), "2026-02-01T00:00:00.000Z".to_string())]);
        assert_eq!(added.present.len(), 1);

        let latest = intel.query_intel(&query(Audience::Community, VersionFilter { last: true, ..Default::default() })).await.unwrap();
        let got: Vec<(&str, &str)> = latest.iter().map(|o| (o.stix_id.as_str(), o.version.as_str())).collect();
        assert_eq!(got, [(B, "2026-01-01T00:00:00Z"), (A, "2026-02-01T00:00:00.000Z")], "in order of arrival");
        let first_versions =
            intel.query_intel(&query(Audience::Community, VersionFilter { first: true, ..Default::default() })).await.unwrap();
        assert_eq!(first_versions.len(), 2);
        assert!(first_versions.iter().all(|o| o.version.starts_with("2026-01-01")));
        let at = VersionFilter { at: vec!["2026-02-01T00:00:00.000000Z".into()], ..Default::default() };
        assert_eq!(intel.query_intel(&query(Audience::Community, at)).await.unwrap().len(), 1);
        let every = intel.query_intel(&query(Audience::Community, all())).await.unwrap();
        assert_eq!(every.len(), 3);
        // date_added grows strictly with arrival, and added_after cuts there.
        assert!(every.windows(2).all(|w| w[0].date_added < w[1].date_added && w[0].seq < w[1].seq));
        let mut after = query(Audience::Community, all());
        after.added_after = Some(every[1].date_added.clone());
        assert_eq!(intel.query_intel(&after).await.unwrap().len(), 1);
        // Filters by id and type, paging by seq, and other audiences see nothing of it.
        let mut by_type = query(Audience::Community, all());
        by_type.types = vec!["malware".into()];
        assert_eq!(intel.query_intel(&by_type).await.unwrap()[0].stix_id, B);
        let mut paged = query(Audience::Community, all());
        paged.limit = 1;
        paged.after_seq = every[0].seq;
        assert_eq!(intel.query_intel(&paged).await.unwrap()[0].seq, every[1].seq);
        assert!(intel.query_intel(&query(Audience::Public, all())).await.unwrap().is_empty());

        // The submission remembers what came of each object, and what was refused.
        let state = intel.submission(second.id).await.unwrap().unwrap();
        assert_eq!((state.total, state.objects.len(), state.refused.len()), (3, 2, 1));

        // Deleting the newest version makes the older one the latest again.
        let last = VersionFilter { last: true, ..Default::default() };
        assert_eq!(intel.delete_intel(&Actor::Cli, &Audience::Community, A, &last, &[]).await.unwrap(), 1);
        let latest = intel.query_intel(&query(Audience::Community, VersionFilter { last: true, ..Default::default() })).await.unwrap();
        assert!(latest.iter().any(|o| o.stix_id == A && o.version == "2026-01-01T00:00:00Z"));
        assert_eq!(intel.delete_intel(&Actor::Cli, &Audience::Public, B, &all(), &[]).await.unwrap(), 0, "only in its own audience");
    })
    .await;
}

#[tokio::test]
async fn submissions_in_review_stay_out_until_accepted() {
    for_each_backend(|b| async move {
        let store = &*b.store;
        let intel = store.intel();
        let producer = org(store, "Member Bank").await;
        let s = submission(
            producer,
            Audience::Community,
            ReviewStatus::Pending,
            vec![
                object(A, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000000Z", Tlp::Green),
                object(B, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000000Z", Tlp::Green),
            ],
        );
        intel.add_intel(&Actor::Cli, &s).await.unwrap();
        assert!(intel.query_intel(&query(Audience::Community, VersionFilter::default())).await.unwrap().is_empty());
        let pending = IntelQuery { status: Some(ReviewStatus::Pending), versions: all(), limit: 10, ..Default::default() };
        let waiting = intel.query_intel(&pending).await.unwrap();
        assert_eq!(waiting.len(), 2);
        let accepted = intel.review_intel(&Actor::Cli, waiting[0].seq, true).await.unwrap();
        assert!(accepted.status == ReviewStatus::Published && accepted.latest);
        let rejected = intel.review_intel(&Actor::Cli, waiting[1].seq, false).await.unwrap();
        assert_eq!(rejected.status, ReviewStatus::Rejected);
        assert!(matches!(intel.review_intel(&Actor::Cli, waiting[1].seq, true).await, Err(StoreError::Invalid(_))), "decided once");
        let visible = intel.query_intel(&query(Audience::Community, VersionFilter { last: true, ..Default::default() })).await.unwrap();
        assert_eq!(visible.iter().map(|o| o.stix_id.as_str()).collect::<Vec<_>>(), [A]);
        let state = intel.submission(s.id).await.unwrap().unwrap();
        let statuses: Vec<ReviewStatus> = state.objects.iter().map(|o| o.2).collect();
        assert_eq!(statuses, [ReviewStatus::Published, ReviewStatus::Rejected]);
        let trail = store.audit_page(0, 100).await.unwrap();
        for action in ["intel.add", "intel.accept", "intel.reject"] {
            assert!(trail.iter().any(|e| e.action == action), "{action} is audited");
        }
    })
    .await;
}

#[tokio::test]
async fn sharing_groups_and_trusted_publishers() {
    for_each_backend(|b| async move {
        let store = &*b.store;
        let intel = store.intel();
        let bank = org(store, "Member Bank").await;
        let peer = org(store, "Peer CSIRT").await;
        let group = intel.create_sharing_group(&Actor::Cli, "Finance ISAC", "banks", &[bank, bank]).await.unwrap();
        assert_eq!(group.members, [bank]);
        assert!(matches!(intel.create_sharing_group(&Actor::Cli, "Finance ISAC", "", &[]).await, Err(StoreError::Conflict(_))));
        assert!(matches!(intel.create_sharing_group(&Actor::Cli, "  ", "", &[]).await, Err(StoreError::Invalid(_))));
        assert!(intel.create_sharing_group(&Actor::Cli, "Ghosts", "", &[Uuid::now_v7()]).await.is_err(), "members must exist");
        let group = intel.set_sharing_group_member(&Actor::Cli, group.id, peer, true).await.unwrap();
        assert_eq!(group.members.len(), 2);
        assert_eq!(intel.sharing_groups_of(peer).await.unwrap(), [group.id]);
        intel.set_sharing_group_member(&Actor::Cli, group.id, peer, false).await.unwrap();
        assert!(intel.sharing_groups_of(peer).await.unwrap().is_empty());
        assert_eq!(intel.list_sharing_groups().await.unwrap()[0].members, [bank]);
        assert_eq!(intel.get_sharing_group(group.id).await.unwrap().unwrap().name, "Finance ISAC");

        assert!(!intel.is_intel_publisher(bank).await.unwrap());
        intel.set_intel_publisher(&Actor::Cli, bank, true).await.unwrap();
        intel.set_intel_publisher(&Actor::Cli, bank, true).await.unwrap();
        assert!(intel.is_intel_publisher(bank).await.unwrap());
        intel.set_intel_publisher(&Actor::Cli, bank, false).await.unwrap();
        assert!(!intel.is_intel_publisher(bank).await.unwrap());
    })
    .await;
}
