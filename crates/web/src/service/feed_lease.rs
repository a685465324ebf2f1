//! One writer per feed at a time, for runs in this process. De-duplication compares a
//! batch with the fingerprints its run has seen; two runs of the same feed side by side
//! (a watched folder and an upload, two `rampart ingest` commands, an ingest beside queue
//! workers) would each accept the other's events. A run therefore holds the feed's lease in
//! the database from before it reads the fingerprints until its last commit, renewing it as
//! it goes; another run waits for it. Queue workers take the same lease around each commit.
//!
//! A run that dies leaves a lease that runs out after [`LEASE`]. A run that stalls longer
//! than that may find that another took the feed meanwhile: it then reads what was committed
//! since and has its batch run again when it clashes.

use super::ServiceResult;
use chrono::Utc;
use rampart_store::Store;
use std::time::{Duration, Instant};

/// How long a lease lasts without renewal.
pub(crate) const LEASE: Duration = Duration::from_secs(10);

/// The lease on one feed, held by this run.
pub(crate) struct FeedLease<'s> {
    store: &'s dyn Store,
    feed: String,
    holder: String,
    /// When the lease was last taken or renewed.
    renewed: Instant,
    /// The highest fingerprint sequence number this run has read.
    seq: i64,
}

impl<'s> FeedLease<'s> {
    /// Takes the lease on `feed`, waiting while another run holds it.
    pub(crate) async fn take(store: &'s dyn Store, feed: &str) -> ServiceResult<FeedLease<'s>> {
        let mut lease = FeedLease {
            store,
            feed: feed.to_string(),
            holder: format!("ingest-{}", uuid::Uuid::now_v7()),
            renewed: Instant::now(),
            seq: 0,
        };
        lease.acquire().await?;
        Ok(lease)
    }

    async fn acquire(&mut self) -> ServiceResult<()> {
        let mut waited = false;
        loop {
            let now = Utc::now();
            let until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
            if self.store.feeds().take_lease(&self.feed, &self.holder, now, until).await? {
                self.renewed = Instant::now();
                return Ok(());
            }
            if !waited {
                tracing::info!(feed = %self.feed, "another run holds this feed; waiting for it");
                waited = true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The feed's unexpired fingerprints, as the run starts.
    pub(crate) async fn fingerprints(&mut self) -> ServiceResult<Vec<u64>> {
        let (all, seq) = self.store.feeds().fingerprints_since(&self.feed, Utc::now(), 0).await?;
        self.seq = seq;
        Ok(all)
    }

    /// Renews the lease before a commit when a third of it has gone by. When it may have
    /// run out meanwhile, returns the fingerprints others committed since this run last
    /// looked (empty when nobody did).
    pub(crate) async fn keep(&mut self) -> ServiceResult<Vec<u64>> {
        let elapsed = self.renewed.elapsed();
        if elapsed < LEASE / 3 {
            return Ok(Vec::new());
        }
        self.acquire().await?;
        if elapsed < LEASE {
            return Ok(Vec::new());
        }
        let (newer, seq) = self.store.feeds().fingerprints_since(&self.feed, Utc::now(), self.seq).await?;
        self.seq = seq;
        Ok(newer)
    }

    /// Lets the next run have the feed.
    pub(crate) async fn release(self) -> ServiceResult<()> {
        self.store.feeds().release_lease(&self.feed, &self.holder).await?;
        Ok(())
    }
}
