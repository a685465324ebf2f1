//! Records the store reads and writes besides the core domain types.

use chrono::{DateTime, Utc};
use rampart_core::account::{Role, TokenScope};
use uuid::Uuid;

/// Who performed a write, as recorded in the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(Uuid),
    /// An operator at the command line (`rampart admin …`).
    Cli,
    /// Rampart itself (start-up, setup, scheduled work).
    System,
    /// Someone not yet signed in, e.g. at the sign-in form.
    Anonymous,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::User(id) => write!(f, "user:{id}"),
            Actor::Cli => f.write_str("cli"),
            Actor::System => f.write_str("system"),
            Actor::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// A user to create; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    pub org_id: Uuid,
    pub roles: Vec<Role>,
    pub password_hash: Option<String>,
    pub locale: Option<String>,
}

/// What sign-in needs that is never shown or logged.
#[derive(Clone, Default)]
pub struct UserSecrets {
    pub password_hash: Option<String>,
    pub totp_secret: Option<String>,
    pub totp_pending_secret: Option<String>,
    pub totp_last_step: Option<i64>,
    pub failed_logins: i64,
}

impl std::fmt::Debug for UserSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserSecrets").field("failed_logins", &self.failed_logins).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the cookie value; the value itself is never stored.
    pub id_digest: String,
    pub user_id: Uuid,
    pub csrf_token: String,
    pub second_factor_done: bool,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct Session {
    pub id_digest: String,
    pub user_id: Uuid,
    pub csrf_token: String,
    pub second_factor_done: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("user_id", &self.user_id).field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub user_id: Uuid,
    pub name: String,
    pub digest: String,
    pub scopes: Vec<TokenScope>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Joins enum values for a TEXT column: `admin,analyst`.
pub(crate) fn join_wire<T: std::fmt::Display>(values: &[T]) -> String {
    values.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

pub(crate) fn split_wire<T: std::str::FromStr>(column: &str) -> Result<Vec<T>, crate::StoreError>
where
    T::Err: std::fmt::Display,
{
    column.split(',').filter(|s| !s.is_empty()).map(|s| s.parse::<T>().map_err(|e| crate::StoreError::Corrupt(e.to_string()))).collect()
}

/// Timestamps are kept to the microsecond, the precision PostgreSQL stores, so that
/// what is hashed in the audit chain is exactly what is read back.
pub(crate) fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}
