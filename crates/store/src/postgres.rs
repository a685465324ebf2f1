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
        use sqlx::Row as _;
        let mut tx = self.pool.begin().await?;
        // Replicas starting together wait for one of them to migrate.
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK).execute(&mut *tx).await?;
        sqlx::query(migrations::CREATE_TABLE).execute(&mut *tx).await?;
        let mut applied = Vec::new();
        for m in migrations::POSTGRES {
            let done: i64 = sqlx::query("SELECT COUNT(*) AS n FROM rampart_migrations WHERE version = $1")
                .bind(m.version)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            if done == 0 {
                sqlx::Executor::execute(&mut *tx, m.sql).await?;
                sqlx::query("INSERT INTO rampart_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                    .bind(m.version)
                    .bind(m.name)
                    .bind(chrono::Utc::now().to_rfc3339())
                    .execute(&mut *tx)
                    .await?;
                applied.push(m.name.to_string());
            }
        }
        tx.commit().await?;
        Ok(applied)
    }

    async fn backup(&self, _target: &Path) -> Result<()> {
        Err(StoreError::Unsupported("back up PostgreSQL with pg_dump (see the README)"))
    }
}

crate::common::impl_store!(PgStore, Postgres, "postgres");
