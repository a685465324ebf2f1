//! The feed pipeline's durable state. A batch's results are committed in one
//! transaction with its checkpoint, so a crash repeats at most the batch in flight.
//! Implemented by both backends through [`crate::feed_sql`].

use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// A row that could not be used, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QuarantineEntry {
    pub id: Uuid,
    pub feed: String,
    /// The input it came from (file name).
    pub source: String,
    pub line: i64,
    pub reason: String,
    pub raw: String,
    pub created_at: DateTime<Utc>,
    pub replayed_at: Option<DateTime<Utc>>,
}

/// One processed batch, to commit at once.
#[derive(Debug, Clone, Default)]
pub struct BatchCommit {
    pub feed: String,
    /// Identifies the input (a file's name and digest).
    pub source: String,
    pub bytes_done: i64,
    pub lines_done: i64,
    /// Length of the output file after this batch, so a resumed run can cut what a
    /// crash left after the last commit.
    pub output_bytes: i64,
    pub finished: bool,
    pub fingerprints: Vec<u64>,
    pub fingerprints_expire: DateTime<Utc>,
    /// (line, reason, raw)
    pub quarantined: Vec<(i64, String, String)>,
    /// (organisation, classification type, events)
    pub counts: Vec<(Option<Uuid>, String, i64)>,
    pub day: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub bytes_done: i64,
    pub lines_done: i64,
    pub output_bytes: i64,
    pub finished: bool,
}

/// Per-day event counts for statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FeedCount {
    pub day: String,
    pub feed: String,
    pub org_id: Option<Uuid>,
    pub classification_type: String,
    pub events: i64,
}

#[async_trait]
pub trait FeedStore: Send + Sync {
    async fn checkpoint(&self, feed: &str, source: &str) -> Result<Option<Checkpoint>>;
    async fn commit_batch(&self, batch: &BatchCommit) -> Result<()>;
    async fn quarantine(&self, feed: Option<&str>, limit: i64) -> Result<Vec<QuarantineEntry>>;
    async fn get_quarantined(&self, id: Uuid) -> Result<Option<QuarantineEntry>>;
    async fn mark_replayed(&self, id: Uuid) -> Result<()>;
    async fn counts(&self, feed: Option<&str>, since_day: &str) -> Result<Vec<FeedCount>>;
    /// Drops fingerprints that expired before `now`; returns how many.
    async fn expire_fingerprints(&self, now: DateTime<Utc>) -> Result<u64>;
    /// Fingerprints of `feed` committed after sequence number `after_seq` and not expired
    /// at `now`, with the highest sequence number seen (or `after_seq` when none).
    async fn fingerprints_since(&self, feed: &str, now: DateTime<Utc>, after_seq: i64) -> Result<(Vec<u64>, i64)>;
    /// Takes or renews the lease on `feed` for `holder` until `until`; false while
    /// another holder's lease runs.
    async fn take_lease(&self, feed: &str, holder: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> Result<bool>;
    async fn release_lease(&self, feed: &str, holder: &str) -> Result<()>;
}
