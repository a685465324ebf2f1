//! The embedded default: one SQLite file in WAL mode, one writer connection
//! (`BEGIN IMMEDIATE`, so writers queue instead of failing on lock upgrades) and a
//! separate pool of read-only connections.

use crate::migrations::{self, Migration};
use crate::{Result, StoreError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Sqlite;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct SqliteStore {
    path: PathBuf,
    writer: SqlitePool,
    readers: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`.
    pub async fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        // Two processes opening a new file at once (two `rampart ingest` runs, say) can find it
        // locked while the other switches it to WAL; SQLite answers that at once, without
        // waiting out the busy timeout, so the open is tried again for as long.
        let started = std::time::Instant::now();
        loop {
            let opened = async {
                // An in-process connection does not go stale as a network one does: the
                // check before each use would be one more round trip to its thread.
                let writer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .test_before_acquire(false)
                    .connect_with(options.clone())
                    .await?;
                let readers = SqlitePoolOptions::new()
                    .max_connections(reader_count())
                    .test_before_acquire(false)
                    .connect_with(options.clone().pragma("query_only", "ON"))
                    .await?;
                Ok::<_, sqlx::Error>((writer, readers))
            }
            .await;
            match opened {
                Ok((writer, readers)) => return Ok(Self { path: path.to_path_buf(), writer, readers }),
                Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => tokio::time::sleep(Duration::from_millis(20)).await,
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn writer(&self) -> Result<sqlx::Transaction<'static, Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    fn reader(&self) -> &SqlitePool {
        &self.readers
    }

    /// The single writer already serialises appends to the chain.
    async fn lock_audit_chain(_tx: &mut sqlx::Transaction<'static, Sqlite>) -> Result<()> {
        Ok(())
    }

    async fn apply_migrations(&self) -> Result<Vec<String>> {
        apply(&self.writer, migrations::SQLITE).await
    }

    /// `VACUUM INTO` writes a consistent snapshot while the database stays online.
    async fn backup(&self, target: &Path) -> Result<()> {
        if target.exists() {
            return Err(StoreError::Invalid(format!("{} exists already; choose a new file", target.display())));
        }
        let target = target.to_str().ok_or_else(|| StoreError::Invalid("backup path must be UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1").bind(target).execute(&self.writer).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.readers.close().await;
        self.writer.close().await;
    }
}

/// How long a writer waits for another one.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// SQLite's "database is locked" (`SQLITE_BUSY`, `SQLITE_LOCKED` and their extended codes).
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(e) => e.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| matches!(c & 0xff, 5 | 6)),
        _ => false,
    }
}

fn reader_count() -> u32 {
    std::thread::available_parallelism().map(|n| n.get() as u32 * 2).unwrap_or(4).clamp(2, 16)
}

async fn apply(pool: &SqlitePool, list: &[Migration]) -> Result<Vec<String>> {
    sqlx::query(migrations::CREATE_TABLE).execute(pool).await?;
    let mut applied = Vec::new();
    for m in list {
        // One writer at a time: another process migrating the same file waits here.
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        applied.extend(apply_migration(&mut tx, m).await?);
        tx.commit().await?;
    }
    Ok(applied)
}

/// Checks that a file is an intact SQLite database with Rampart's schema.
pub async fn check_backup_file(path: &Path) -> Result<()> {
    use sqlx::Row as _;
    let options = SqliteConnectOptions::new().filename(path).read_only(true);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
    let verdict: String = sqlx::query("PRAGMA integrity_check").fetch_one(&pool).await?.try_get(0)?;
    if verdict != "ok" {
        return Err(StoreError::Corrupt(format!("integrity check: {verdict}")));
    }
    sqlx::query("SELECT COUNT(*) FROM rampart_migrations")
        .fetch_one(&pool)
        .await
        .map_err(|_| StoreError::Invalid("not a Rampart database".into()))?;
    pool.close().await;
    Ok(())
}

crate::common::impl_store!(SqliteStore, Sqlite, "sqlite");
// Rampart inserts incidents with the time of insertion through one writer, so rowid
// order is creation order: FTS5 can walk its matches newest first and stop after a page.
crate::incident_sql::impl_incident_store!(
    SqliteStore,
    Sqlite,
    fts_from = "incidents_fts JOIN incidents ON incidents.rowid = incidents_fts.rowid",
    fts = "incidents_fts MATCH {}",
    fts_order = "incidents_fts.rowid DESC",
    fts_quote = crate::incidents::fts5_query
);
crate::registry_sql::impl_registry_store!(SqliteStore);
crate::notification_sql::impl_notification_store!(SqliteStore);
crate::feed_sql::impl_feed_store!(SqliteStore);
crate::intel_sql::impl_intel_store!(SqliteStore, Sqlite);
crate::work_sql::impl_work_store!(SqliteStore);
