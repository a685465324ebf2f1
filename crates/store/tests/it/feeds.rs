use crate::for_each_backend;
use rampart_store::feeds::BatchCommit;

#[tokio::test]
async fn batches_commit_fingerprints_quarantine_counts_and_checkpoints_together() {
    for_each_backend(|b| async move {
        let feeds = b.store.feeds();
        let now = chrono::Utc::now();
        assert_eq!(feeds.checkpoint("scan_dns", "a.csv:1:x").await.unwrap(), None);
        let org = rampart_core::ids::new_id();
        let batch = BatchCommit {
            feed: "scan_dns".into(),
            source: "a.csv:1:x".into(),
            bytes_done: 1000,
            lines_done: 11,
            output_bytes: 5000,
            finished: false,
            // High bits set: fingerprints are u64 and must survive a signed column.
            fingerprints: (0..1200u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect(),
            fingerprints_expire: now + chrono::Duration::hours(1),
            quarantined: vec![(7, "bad timestamp".into(), "\"x\",1".into())],
            counts: vec![(Some(org), "vulnerable-system".into(), 9), (None, "scanner".into(), 1)],
            day: "2026-11-30".into(),
        };
        feeds.commit_batch(&batch).await.unwrap();
        let (mut got, _) = feeds.fingerprints_since("scan_dns", now, 0).await.unwrap();
        got.sort_unstable();
        let mut want = batch.fingerprints.clone();
        want.sort_unstable();
        assert_eq!(got, want);
        assert!(feeds.fingerprints_since("other", now, 0).await.unwrap().0.is_empty());
        let cp = feeds.checkpoint("scan_dns", "a.csv:1:x").await.unwrap().unwrap();
        assert_eq!((cp.bytes_done, cp.lines_done, cp.output_bytes, cp.finished), (1000, 11, 5000, false));

        // The next batch adds to the counts and moves the checkpoint.
        let next = BatchCommit {
            bytes_done: 2000,
            lines_done: 21,
            finished: true,
            fingerprints: vec![1],
            quarantined: Vec::new(),
            ..batch.clone()
        };
        feeds.commit_batch(&next).await.unwrap();
        assert!(feeds.checkpoint("scan_dns", "a.csv:1:x").await.unwrap().unwrap().finished);
        let counts = feeds.counts(Some("scan_dns"), "2026-11-01").await.unwrap();
        let vuln = counts.iter().find(|c| c.org_id == Some(org)).unwrap();
        assert_eq!(vuln.events, 18);
        assert!(counts.iter().any(|c| c.org_id.is_none() && c.classification_type == "scanner" && c.events == 2));

        let q = feeds.quarantine(Some("scan_dns"), 10).await.unwrap();
        assert_eq!((q.len(), q[0].line, q[0].reason.as_str()), (1, 7, "bad timestamp"));
        feeds.mark_replayed(q[0].id).await.unwrap();
        assert!(feeds.get_quarantined(q[0].id).await.unwrap().unwrap().replayed_at.is_some());

        // Expired fingerprints go.
        let removed = feeds.expire_fingerprints(now + chrono::Duration::hours(2)).await.unwrap();
        assert_eq!(removed, 1201, "both batches' fingerprints");
        assert!(feeds.fingerprints_since("scan_dns", now + chrono::Duration::hours(2), 0).await.unwrap().0.is_empty());
    })
    .await;
}

#[tokio::test]
async fn workers_load_only_newer_fingerprints_and_take_turns_with_a_lease() {
    for_each_backend(|b| async move {
        let feeds = b.store.feeds();
        let now = chrono::Utc::now();
        let batch = |fingerprints: Vec<u64>, hours: i64| BatchCommit {
            feed: "scan_ntp".into(),
            source: "b.csv".into(),
            fingerprints,
            fingerprints_expire: now + chrono::Duration::hours(hours),
            day: "2026-11-30".into(),
            ..Default::default()
        };
        assert_eq!(feeds.fingerprints_since("scan_ntp", now, 0).await.unwrap(), (vec![], 0));
        feeds.commit_batch(&batch(vec![1, 2], 1)).await.unwrap();
        let (first, seq) = feeds.fingerprints_since("scan_ntp", now, 0).await.unwrap();
        assert_eq!((first, seq), (vec![1, 2], 1));
        feeds.commit_batch(&batch(vec![3], 1)).await.unwrap();
        feeds.commit_batch(&batch(vec![4], -1)).await.unwrap(); // already expired
        let (newer, last) = feeds.fingerprints_since("scan_ntp", now, seq).await.unwrap();
        assert_eq!((newer, last), (vec![3], 3), "the expired batch moves the sequence but adds nothing");
        assert_eq!(feeds.fingerprints_since("scan_ntp", now, last).await.unwrap(), (vec![], 3));

        let later = now + chrono::Duration::seconds(30);
        assert!(feeds.take_lease("scan_ntp", "worker-a", now, later).await.unwrap());
        assert!(!feeds.take_lease("scan_ntp", "worker-b", now, later).await.unwrap(), "held by a");
        assert!(feeds.take_lease("scan_ntp", "worker-a", now, later).await.unwrap(), "renewed by its holder");
        assert!(feeds.take_lease("other", "worker-b", now, later).await.unwrap(), "per feed");
        assert!(feeds.take_lease("scan_ntp", "worker-b", later, later + chrono::Duration::seconds(30)).await.unwrap(), "after it ran out");
        feeds.release_lease("scan_ntp", "worker-a").await.unwrap();
        assert!(!feeds.take_lease("scan_ntp", "worker-a", later, later).await.unwrap(), "a's release does not free b's lease");
        feeds.release_lease("scan_ntp", "worker-b").await.unwrap();
        assert!(feeds.take_lease("scan_ntp", "worker-a", later, later).await.unwrap());
    })
    .await;
}
