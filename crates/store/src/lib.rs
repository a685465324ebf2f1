//! Rampart's storage. [`Store`] is what the rest of Rampart sees; SQLite (embedded,
//! the default) and PostgreSQL (scale-out) implement it with the same behaviour,
//! proven by one conformance suite run against both.
//!
//! Every write method records an audit entry in the same transaction.

mod common;
mod feed_sql;
pub mod feeds;
mod incident_sql;
mod incident_types;
pub mod incidents;
pub mod intel;
mod intel_sql;
mod migrations;
mod notification_sql;
pub mod notifications;
pub mod postgres;
pub mod registry;
mod registry_sql;
pub mod sqlite;
mod types;
pub mod work;
mod work_sql;

pub use feeds::FeedStore;
pub use incident_types::*;
pub use incidents::{next_cursor, IncidentStore};
pub use intel::IntelStore;
pub use notifications::NotificationStore;
pub use registry::RegistryStore;
pub use types::*;
pub use work::WorkStore;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rampart_core::account::{ApiToken, Role, User};
use rampart_core::audit::AuditEntry;
use rampart_core::org::{NewOrganisation, Organisation};
use std::path::Path;
use std::sync::Arc;
use uuid::Uuid;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("unsupported on this backend: {0}")]
    Unsupported(&'static str),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Reports, incidents and their evidence.
    fn incidents(&self) -> &dyn IncidentStore;
    /// Tasks, investigations, countermeasures, links and merges.
    fn work(&self) -> &dyn WorkStore;
    /// Contacts, network assets, peers and the routing table.
    fn registry(&self) -> &dyn RegistryStore;
    /// Templates, directives, the outbox and its delivery log.
    fn notifications(&self) -> &dyn NotificationStore;
    /// The feed pipeline's fingerprints, quarantine, counts and checkpoints.
    fn feeds(&self) -> &dyn FeedStore;
    /// STIX objects, submissions and review, sharing groups.
    fn intel(&self) -> &dyn IntelStore;
    /// Whether the database answers (readiness).
    async fn ping(&self) -> Result<()>;
    /// Applies pending migrations; returns the names of those applied now.
    async fn migrate(&self) -> Result<Vec<String>>;

    async fn create_org(&self, actor: &Actor, new: NewOrganisation) -> Result<Organisation>;
    async fn get_org(&self, id: Uuid) -> Result<Option<Organisation>>;
    async fn find_org_by_name(&self, name: &str) -> Result<Option<Organisation>>;
    async fn list_orgs(&self) -> Result<Vec<Organisation>>;

    async fn count_users(&self) -> Result<i64>;
    async fn create_user(&self, actor: &Actor, new: NewUser) -> Result<User>;
    async fn get_user(&self, id: Uuid) -> Result<Option<User>>;
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn user_secrets(&self, id: Uuid) -> Result<UserSecrets>;
    async fn list_users(&self, org: Option<Uuid>) -> Result<Vec<User>>;
    async fn set_roles(&self, actor: &Actor, user_id: Uuid, roles: &[Role]) -> Result<User>;
    async fn set_disabled(&self, actor: &Actor, user_id: Uuid, disabled: bool) -> Result<User>;
    /// Replaces the password hash and ends the user's sessions.
    async fn set_password(&self, actor: &Actor, user_id: Uuid, password_hash: &str) -> Result<()>;
    async fn set_locale(&self, actor: &Actor, user_id: Uuid, locale: Option<&str>) -> Result<()>;
    /// Stores a TOTP secret that becomes active once confirmed with a code.
    async fn set_totp_pending(&self, actor: &Actor, user_id: Uuid, secret: &str) -> Result<()>;
    /// Activates the pending secret, recording the step of the confirming code.
    async fn enable_totp(&self, actor: &Actor, user_id: Uuid, step: i64) -> Result<()>;
    /// Records a used TOTP step; `false` if that step (or a later one) was used already.
    async fn consume_totp_step(&self, user_id: Uuid, step: i64) -> Result<bool>;
    /// Counts a failed sign-in; locks the account for `lockout` after `max_failures`.
    async fn record_login_failure(&self, user_id: Uuid, max_failures: i64, lockout: chrono::Duration) -> Result<User>;

    /// Creates a session (a sign-in) and resets the failure count.
    async fn create_session(&self, new: NewSession) -> Result<()>;
    async fn get_session(&self, id_digest: &str) -> Result<Option<Session>>;
    async fn complete_second_factor(&self, id_digest: &str) -> Result<()>;
    async fn delete_session(&self, id_digest: &str) -> Result<()>;

    async fn create_api_token(&self, actor: &Actor, new: NewApiToken) -> Result<ApiToken>;
    async fn find_api_token(&self, digest: &str) -> Result<Option<ApiToken>>;
    async fn list_api_tokens(&self, user_id: Uuid) -> Result<Vec<ApiToken>>;
    async fn revoke_api_token(&self, actor: &Actor, token_id: Uuid) -> Result<()>;

    /// Replaces any first-admin setup link with a new one.
    async fn replace_setup_token(&self, digest: &str, expires_at: DateTime<Utc>) -> Result<()>;
    /// Whether a setup link is valid now (without using it up).
    async fn setup_token_valid(&self, digest: &str, now: DateTime<Utc>) -> Result<bool>;
    /// Creates the first administrator with a valid setup link, using the link up.
    /// Fails with `Invalid` if the link is unknown or expired or a user exists already.
    async fn complete_setup(&self, digest: &str, now: DateTime<Utc>, new: NewUser) -> Result<User>;

    /// Audit entries with `seq > after`, in order, at most `limit`.
    async fn audit_page(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>>;

    /// A consistent copy of the live database at `path` (SQLite only).
    async fn backup_to(&self, path: &Path) -> Result<()>;
}

/// Opens the database named by a `sqlite://…` or `postgres://…` URL.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(sqlite::SqliteStore::open(Path::new(path)).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else {
        Err(StoreError::Invalid("database URL must start with sqlite:// or postgres://".into()))
    }
}

/// Verifies the whole audit chain, page by page; returns the number of entries.
pub async fn verify_audit_chain(store: &dyn Store) -> Result<Result<u64, rampart_core::audit::ChainError>> {
    let mut verifier = rampart_core::audit::ChainVerifier::default();
    loop {
        let page = store.audit_page(verifier.last_seq(), 1000).await?;
        if page.is_empty() {
            return Ok(Ok(verifier.count()));
        }
        for entry in &page {
            if let Err(broken) = verifier.check(entry) {
                return Ok(Err(broken));
            }
        }
    }
}
