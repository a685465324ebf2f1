//! PostgreSQL, for scale-out: any number of Rampart processes share one database.

use crate::migrations;
use crate::{Result, StoreError};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Postgres;
use std::path::Path;
use std::time::Duration;

/// Advisory-lock keys; arbitrary but fixed.
const AUDIT_CHAIN_LOCK: i64 = 0x5241_4d50_4155_4454; // "RAMPAUDT"
const MIGRATION_LOCK: i64 = 0x5241_4d50_4d49_4752; // "RAMPMIGR"

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect(url).await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn writer(&self) -> Result<sqlx::Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    /// Concurrent writers from several processes take turns at the chain's head, so
    /// two entries never link to the same predecessor. Held until the transaction ends.
    async fn lock_audit_chain(tx: &mut sqlx::Transaction<'static, Postgres>) -> Result<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_CHAIN_LOCK).execute(&mut **tx).await?;
        Ok(())
    }

    async fn apply_migrations(&self) -> Result<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        // Replicas starting together wait for one of them to migrate.
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK).execute(&mut *tx).await?;
        sqlx::query(migrations::CREATE_TABLE).execute(&mut *tx).await?;
        let mut applied = Vec::new();
        for m in migrations::POSTGRES {
            applied.extend(apply_migration(&mut tx, m).await?);
        }
        tx.commit().await?;
        Ok(applied)
    }

    async fn backup(&self, _target: &Path) -> Result<()> {
        Err(StoreError::Unsupported("back up PostgreSQL with pg_dump (see the README)"))
    }
}

crate::common::impl_store!(PgStore, Postgres, "postgres");
crate::incident_sql::impl_incident_store!(
    PgStore,
    Postgres,
    fts_from = "incidents",
    fts = "incidents.search @@ plainto_tsquery('simple', {})",
    fts_order = "incidents.created_at DESC, incidents.id DESC",
    fts_quote = |text: &str| text.to_string()
);
crate::registry_sql::impl_registry_store!(PgStore);
crate::notification_sql::impl_notification_store!(PgStore);
crate::feed_sql::impl_feed_store!(PgStore);
crate::intel_sql::impl_intel_store!(PgStore, Postgres);
crate::work_sql::impl_work_store!(PgStore);
