//! The part of the store that is the same SQL on both backends. Each backend module
//! provides `writer()` (a write transaction), `reader()` (a pool for reads),
//! `lock_audit_chain()`, `apply_migrations()` and `backup()`, then invokes
//! [`impl_store!`] to get the `Store` implementation. A macro rather than generics:
//! sqlx's per-database trait bounds would otherwise spread over every method.

use crate::{Actor, Result, StoreError};
use rampart_core::account::User;
use rampart_core::org::Organisation;
use serde::Serialize;

/// Maps a unique-constraint violation to `Conflict`, everything else through.
pub(crate) fn conflict(what: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.to_string()),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::Invalid(format!("{what}: refers to something that does not exist"))
        }
        _ => StoreError::Database(e),
    }
}

pub(crate) fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

pub(crate) fn parse_uuid(s: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("bad id {s:?}: {e}")))
}

/// The audit view of a user: never a secret.
pub(crate) fn user_json(user: &User) -> String {
    json(user)
}

pub(crate) fn org_json(org: &Organisation) -> String {
    json(org)
}

pub(crate) fn actor_string(actor: &Actor) -> String {
    actor.to_string()
}

macro_rules! impl_store {
    ($store:ty, $db:ty, $backend:literal) => {
        const USER_COLUMNS: &str = "id, email, display_name, org_id, roles, locale, totp_secret IS NOT NULL AS totp_enabled, disabled, locked_until, created_at";
        const ORG_COLUMNS: &str = "id, name, org_type, sector, country, parent_id, created_at";
        const TOKEN_COLUMNS: &str = "id, user_id, name, digest, scopes, created_at, expires_at, revoked_at";

        type Row = <$db as sqlx::Database>::Row;
        type Tx = sqlx::Transaction<'static, $db>;

        fn org_from_row(row: &Row) -> $crate::Result<rampart_core::org::Organisation> {
            use sqlx::Row as _;
            Ok(rampart_core::org::Organisation {
                id: $crate::common::parse_uuid(&row.try_get::<String, _>("id")?)?,
                name: row.try_get("name")?,
                org_type: row.try_get::<String, _>("org_type")?.parse().map_err(|e: rampart_core::ParseEnumError| $crate::StoreError::Corrupt(e.to_string()))?,
                sector: row.try_get("sector")?,
                country: row.try_get("country")?,
                parent_id: row.try_get::<Option<String>, _>("parent_id")?.map(|p| $crate::common::parse_uuid(&p)).transpose()?,
                created_at: row.try_get("created_at")?,
            })
        }

        fn user_from_row(row: &Row) -> $crate::Result<rampart_core::account::User> {
            use sqlx::Row as _;
            Ok(rampart_core::account::User {
                id: $crate::common::parse_uuid(&row.try_get::<String, _>("id")?)?,
                email: row.try_get("email")?,
                display_name: row.try_get("display_name")?,
                org_id: $crate::common::parse_uuid(&row.try_get::<String, _>("org_id")?)?,
                roles: $crate::types::split_wire(&row.try_get::<String, _>("roles")?)?,
                locale: row.try_get("locale")?,
                totp_enabled: row.try_get("totp_enabled")?,
                disabled: row.try_get("disabled")?,
                locked_until: row.try_get("locked_until")?,
                created_at: row.try_get("created_at")?,
            })
        }

        fn token_from_row(row: &Row) -> $crate::Result<rampart_core::account::ApiToken> {
            use sqlx::Row as _;
            Ok(rampart_core::account::ApiToken {
                id: $crate::common::parse_uuid(&row.try_get::<String, _>("id")?)?,
                user_id: $crate::common::parse_uuid(&row.try_get::<String, _>("user_id")?)?,
                name: row.try_get("name")?,
                digest: row.try_get("digest")?,
                scopes: $crate::types::split_wire(&row.try_get::<String, _>("scopes")?)?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
                revoked_at: row.try_get("revoked_at")?,
            })
        }

        fn audit_from_row(row: &Row) -> $crate::Result<rampart_core::audit::AuditEntry> {
            use sqlx::Row as _;
            Ok(rampart_core::audit::AuditEntry {
                seq: row.try_get("seq")?,
                at: row.try_get("at")?,
                actor: row.try_get("actor")?,
                action: row.try_get("action")?,
                object_type: row.try_get("object_type")?,
                object_id: row.try_get("object_id")?,
                before: row.try_get("before_json")?,
                after: row.try_get("after_json")?,
                prev_hash: row.try_get("prev_hash")?,
                hash: row.try_get("hash")?,
            })
        }

        /// Appends to the audit chain inside the caller's write transaction.
        async fn audit(tx: &mut Tx, actor: &$crate::Actor, action: &str, object_type: &str, object_id: &str, before: Option<String>, after: Option<String>) -> $crate::Result<()> {
            use sqlx::Row as _;
            <$store>::lock_audit_chain(tx).await?;
            let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(&mut **tx).await?;
            let (seq, prev_hash) = match last {
                Some(row) => (row.try_get::<i64, _>("seq")? + 1, row.try_get::<String, _>("hash")?),
                None => (1, rampart_core::audit::GENESIS_HASH.to_string()),
            };
            let at = $crate::types::now_micros();
            let actor = $crate::common::actor_string(actor);
            let before = before.unwrap_or_else(|| "null".into());
            let after = after.unwrap_or_else(|| "null".into());
            let hash = rampart_core::audit::entry_hash(seq, at, &actor, action, object_type, object_id, &before, &after, &prev_hash);
            sqlx::query("INSERT INTO audit_log (seq, at, actor, action, object_type, object_id, before_json, after_json, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                .bind(seq).bind(at).bind(actor).bind(action).bind(object_type).bind(object_id).bind(before).bind(after).bind(prev_hash).bind(hash)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// Applies one migration inside the caller's transaction unless it is recorded
        /// already; returns its name when applied now.
        async fn apply_migration(tx: &mut Tx, m: &$crate::migrations::Migration) -> $crate::Result<Option<String>> {
            use sqlx::Row as _;
            let done: i64 = sqlx::query("SELECT COUNT(*) AS n FROM rampart_migrations WHERE version = $1").bind(m.version).fetch_one(&mut **tx).await?.try_get("n")?;
            if done > 0 {
                return Ok(None);
            }
            sqlx::Executor::execute(&mut **tx, m.sql).await?;
            sqlx::query("INSERT INTO rampart_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                .bind(m.version)
                .bind(m.name)
                .bind(chrono::Utc::now().to_rfc3339())
                .execute(&mut **tx)
                .await?;
            Ok(Some(m.name.to_string()))
        }

        async fn user_in(tx: &mut Tx, id: uuid::Uuid) -> $crate::Result<rampart_core::account::User> {
            let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                .bind(id.to_string())
                .fetch_optional(&mut **tx)
                .await?
                .ok_or($crate::StoreError::NotFound)?;
            user_from_row(&row)
        }

        async fn insert_user(tx: &mut Tx, actor: &$crate::Actor, new: $crate::NewUser) -> $crate::Result<rampart_core::account::User> {
            let id = rampart_core::ids::new_id();
            let now = $crate::types::now_micros();
            sqlx::query("INSERT INTO users (id, email, display_name, org_id, roles, locale, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(id.to_string())
                .bind(&new.email)
                .bind(&new.display_name)
                .bind(new.org_id.to_string())
                .bind($crate::types::join_wire(&new.roles))
                .bind(&new.locale)
                .bind(&new.password_hash)
                .bind(now)
                .execute(&mut **tx)
                .await
                .map_err($crate::common::conflict("a user with this e-mail address"))?;
            let user = user_in(tx, id).await?;
            audit(tx, actor, "user.create", "user", &id.to_string(), None, Some($crate::common::user_json(&user))).await?;
            Ok(user)
        }

        /// Runs `change` on a user and audits the user before and after it.
        async fn change_user(store: &$store, actor: &$crate::Actor, user_id: uuid::Uuid, action: &str, sql: &str, bind: Option<String>) -> $crate::Result<rampart_core::account::User> {
            let mut tx = store.writer().await?;
            let before = user_in(&mut tx, user_id).await?;
            sqlx::query(sql).bind(bind).bind(user_id.to_string()).execute(&mut *tx).await?;
            let after = user_in(&mut tx, user_id).await?;
            audit(&mut tx, actor, action, "user", &user_id.to_string(), Some($crate::common::user_json(&before)), Some($crate::common::user_json(&after))).await?;
            tx.commit().await?;
            Ok(after)
        }

        #[async_trait::async_trait]
        impl $crate::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            fn incidents(&self) -> &dyn $crate::IncidentStore {
                self
            }

            fn work(&self) -> &dyn $crate::WorkStore {
                self
            }

            fn registry(&self) -> &dyn $crate::RegistryStore {
                self
            }

            fn notifications(&self) -> &dyn $crate::NotificationStore {
                self
            }

            fn feeds(&self) -> &dyn $crate::FeedStore {
                self
            }

            fn intel(&self) -> &dyn $crate::IntelStore {
                self
            }

            async fn ping(&self) -> $crate::Result<()> {
                sqlx::query("SELECT 1").execute(self.reader()).await?;
                Ok(())
            }

            async fn migrate(&self) -> $crate::Result<Vec<String>> {
                self.apply_migrations().await
            }

            async fn create_org(&self, actor: &$crate::Actor, new: rampart_core::org::NewOrganisation) -> $crate::Result<rampart_core::org::Organisation> {
                let new = new.validate().map_err(|e| $crate::StoreError::Invalid(e.to_string()))?;
                let id = rampart_core::ids::new_id();
                let now = $crate::types::now_micros();
                let mut tx = self.writer().await?;
                sqlx::query("INSERT INTO organisations (id, name, org_type, sector, country, parent_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(id.to_string())
                    .bind(&new.name)
                    .bind(new.org_type.as_str())
                    .bind(&new.sector)
                    .bind(&new.country)
                    .bind(new.parent_id.map(|p| p.to_string()))
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::common::conflict("an organisation with this name"))?;
                let row = sqlx::query(&format!("SELECT {ORG_COLUMNS} FROM organisations WHERE id = $1")).bind(id.to_string()).fetch_one(&mut *tx).await?;
                let org = org_from_row(&row)?;
                audit(&mut tx, actor, "organisation.create", "organisation", &id.to_string(), None, Some($crate::common::org_json(&org))).await?;
                tx.commit().await?;
                Ok(org)
            }

            async fn get_org(&self, id: uuid::Uuid) -> $crate::Result<Option<rampart_core::org::Organisation>> {
                let row = sqlx::query(&format!("SELECT {ORG_COLUMNS} FROM organisations WHERE id = $1")).bind(id.to_string()).fetch_optional(self.reader()).await?;
                row.as_ref().map(org_from_row).transpose()
            }

            async fn find_org_by_name(&self, name: &str) -> $crate::Result<Option<rampart_core::org::Organisation>> {
                let row = sqlx::query(&format!("SELECT {ORG_COLUMNS} FROM organisations WHERE lower(name) = lower($1)")).bind(name.trim()).fetch_optional(self.reader()).await?;
                row.as_ref().map(org_from_row).transpose()
            }

            async fn list_orgs(&self) -> $crate::Result<Vec<rampart_core::org::Organisation>> {
                let rows = sqlx::query(&format!("SELECT {ORG_COLUMNS} FROM organisations ORDER BY lower(name)")).fetch_all(self.reader()).await?;
                rows.iter().map(org_from_row).collect()
            }

            async fn count_users(&self) -> $crate::Result<i64> {
                use sqlx::Row as _;
                Ok(sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(self.reader()).await?.try_get("n")?)
            }

            async fn create_user(&self, actor: &$crate::Actor, new: $crate::NewUser) -> $crate::Result<rampart_core::account::User> {
                let mut tx = self.writer().await?;
                let user = insert_user(&mut tx, actor, new).await?;
                tx.commit().await?;
                Ok(user)
            }

            async fn get_user(&self, id: uuid::Uuid) -> $crate::Result<Option<rampart_core::account::User>> {
                let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")).bind(id.to_string()).fetch_optional(self.reader()).await?;
                row.as_ref().map(user_from_row).transpose()
            }

            async fn find_user_by_email(&self, email: &str) -> $crate::Result<Option<rampart_core::account::User>> {
                let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1")).bind(email.trim().to_lowercase()).fetch_optional(self.reader()).await?;
                row.as_ref().map(user_from_row).transpose()
            }

            async fn user_secrets(&self, id: uuid::Uuid) -> $crate::Result<$crate::UserSecrets> {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT password_hash, totp_secret, totp_pending_secret, totp_last_step, failed_logins FROM users WHERE id = $1")
                    .bind(id.to_string())
                    .fetch_optional(self.reader())
                    .await?
                    .ok_or($crate::StoreError::NotFound)?;
                Ok($crate::UserSecrets {
                    password_hash: row.try_get("password_hash")?,
                    totp_secret: row.try_get("totp_secret")?,
                    totp_pending_secret: row.try_get("totp_pending_secret")?,
                    totp_last_step: row.try_get("totp_last_step")?,
                    failed_logins: row.try_get("failed_logins")?,
                })
            }

            async fn list_users(&self, org: Option<uuid::Uuid>) -> $crate::Result<Vec<rampart_core::account::User>> {
                let rows = match org {
                    Some(org) => sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 ORDER BY email")).bind(org.to_string()).fetch_all(self.reader()).await?,
                    None => sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY email")).fetch_all(self.reader()).await?,
                };
                rows.iter().map(user_from_row).collect()
            }

            async fn set_roles(&self, actor: &$crate::Actor, user_id: uuid::Uuid, roles: &[rampart_core::account::Role]) -> $crate::Result<rampart_core::account::User> {
                change_user(self, actor, user_id, "user.roles", "UPDATE users SET roles = $1 WHERE id = $2", Some($crate::types::join_wire(roles))).await
            }

            async fn set_disabled(&self, actor: &$crate::Actor, user_id: uuid::Uuid, disabled: bool) -> $crate::Result<rampart_core::account::User> {
                let mut tx = self.writer().await?;
                let before = user_in(&mut tx, user_id).await?;
                sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2").bind(disabled).bind(user_id.to_string()).execute(&mut *tx).await?;
                if disabled {
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id.to_string()).execute(&mut *tx).await?;
                }
                let after = user_in(&mut tx, user_id).await?;
                let action = if disabled { "user.disable" } else { "user.enable" };
                audit(&mut tx, actor, action, "user", &user_id.to_string(), Some($crate::common::user_json(&before)), Some($crate::common::user_json(&after))).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn set_password(&self, actor: &$crate::Actor, user_id: uuid::Uuid, password_hash: &str) -> $crate::Result<()> {
                let mut tx = self.writer().await?;
                user_in(&mut tx, user_id).await?;
                sqlx::query("UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = NULL WHERE id = $2").bind(password_hash).bind(user_id.to_string()).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id.to_string()).execute(&mut *tx).await?;
                // The hash itself stays out of the audit log.
                audit(&mut tx, actor, "user.password_change", "user", &user_id.to_string(), None, None).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn set_locale(&self, actor: &$crate::Actor, user_id: uuid::Uuid, locale: Option<&str>) -> $crate::Result<()> {
                change_user(self, actor, user_id, "user.locale", "UPDATE users SET locale = $1 WHERE id = $2", locale.map(str::to_string)).await.map(|_| ())
            }

            async fn set_totp_pending(&self, actor: &$crate::Actor, user_id: uuid::Uuid, secret: &str) -> $crate::Result<()> {
                let mut tx = self.writer().await?;
                user_in(&mut tx, user_id).await?;
                sqlx::query("UPDATE users SET totp_pending_secret = $1 WHERE id = $2").bind(secret).bind(user_id.to_string()).execute(&mut *tx).await?;
                audit(&mut tx, actor, "user.totp_enrolment_start", "user", &user_id.to_string(), None, None).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn enable_totp(&self, actor: &$crate::Actor, user_id: uuid::Uuid, step: i64) -> $crate::Result<()> {
                let mut tx = self.writer().await?;
                let before = user_in(&mut tx, user_id).await?;
                let done = sqlx::query("UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, totp_last_step = $1 WHERE id = $2 AND totp_pending_secret IS NOT NULL")
                    .bind(step)
                    .bind(user_id.to_string())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::Invalid("no two-factor enrolment is pending".into()));
                }
                let after = user_in(&mut tx, user_id).await?;
                audit(&mut tx, actor, "user.totp_enable", "user", &user_id.to_string(), Some($crate::common::user_json(&before)), Some($crate::common::user_json(&after))).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn consume_totp_step(&self, user_id: uuid::Uuid, step: i64) -> $crate::Result<bool> {
                let mut tx = self.writer().await?;
                let done = sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)")
                    .bind(step)
                    .bind(user_id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }

            async fn record_login_failure(&self, user_id: uuid::Uuid, max_failures: i64, lockout: chrono::Duration) -> $crate::Result<rampart_core::account::User> {
                use sqlx::Row as _;
                let mut tx = self.writer().await?;
                let row = sqlx::query("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins")
                    .bind(user_id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::StoreError::NotFound)?;
                let failures: i64 = row.try_get("failed_logins")?;
                if failures >= max_failures {
                    let until = $crate::types::now_micros() + lockout;
                    sqlx::query("UPDATE users SET locked_until = $1, failed_logins = 0 WHERE id = $2").bind(until).bind(user_id.to_string()).execute(&mut *tx).await?;
                    let after = user_in(&mut tx, user_id).await?;
                    audit(&mut tx, &$crate::Actor::Anonymous, "user.lockout", "user", &user_id.to_string(), None, Some($crate::common::user_json(&after))).await?;
                } else {
                    audit(&mut tx, &$crate::Actor::Anonymous, "auth.login_failure", "user", &user_id.to_string(), None, None).await?;
                }
                let user = user_in(&mut tx, user_id).await?;
                tx.commit().await?;
                Ok(user)
            }

            async fn create_session(&self, new: $crate::NewSession) -> $crate::Result<()> {
                let now = $crate::types::now_micros();
                let mut tx = self.writer().await?;
                sqlx::query("INSERT INTO sessions (id_digest, user_id, csrf_token, second_factor_done, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(&new.id_digest)
                    .bind(new.user_id.to_string())
                    .bind(&new.csrf_token)
                    .bind(new.second_factor_done)
                    .bind(now)
                    .bind(new.expires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::common::conflict("session"))?;
                sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = $1 WHERE id = $2").bind(now).bind(new.user_id.to_string()).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(now).execute(&mut *tx).await?;
                audit(&mut tx, &$crate::Actor::User(new.user_id), "auth.login", "user", &new.user_id.to_string(), None, None).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_session(&self, id_digest: &str) -> $crate::Result<Option<$crate::Session>> {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT id_digest, user_id, csrf_token, second_factor_done, created_at, expires_at FROM sessions WHERE id_digest = $1")
                    .bind(id_digest)
                    .fetch_optional(self.reader())
                    .await?;
                row.map(|row| {
                    Ok($crate::Session {
                        id_digest: row.try_get("id_digest")?,
                        user_id: $crate::common::parse_uuid(&row.try_get::<String, _>("user_id")?)?,
                        csrf_token: row.try_get("csrf_token")?,
                        second_factor_done: row.try_get("second_factor_done")?,
                        created_at: row.try_get("created_at")?,
                        expires_at: row.try_get("expires_at")?,
                    })
                })
                .transpose()
            }

            async fn complete_second_factor(&self, id_digest: &str) -> $crate::Result<()> {
                let mut tx = self.writer().await?;
                let done = sqlx::query("UPDATE sessions SET second_factor_done = $1 WHERE id_digest = $2").bind(true).bind(id_digest).execute(&mut *tx).await?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::NotFound);
                }
                tx.commit().await?;
                Ok(())
            }

            async fn delete_session(&self, id_digest: &str) -> $crate::Result<()> {
                use sqlx::Row as _;
                let mut tx = self.writer().await?;
                let row = sqlx::query("DELETE FROM sessions WHERE id_digest = $1 RETURNING user_id").bind(id_digest).fetch_optional(&mut *tx).await?;
                if let Some(row) = row {
                    let user_id: String = row.try_get("user_id")?;
                    let actor = $crate::Actor::User($crate::common::parse_uuid(&user_id)?);
                    audit(&mut tx, &actor, "auth.logout", "user", &user_id, None, None).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn create_api_token(&self, actor: &$crate::Actor, new: $crate::NewApiToken) -> $crate::Result<rampart_core::account::ApiToken> {
                if new.scopes.is_empty() {
                    return Err($crate::StoreError::Invalid("a token needs at least one scope".into()));
                }
                let id = rampart_core::ids::new_id();
                let now = $crate::types::now_micros();
                let mut tx = self.writer().await?;
                sqlx::query("INSERT INTO api_tokens (id, user_id, name, digest, scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(id.to_string())
                    .bind(new.user_id.to_string())
                    .bind(&new.name)
                    .bind(&new.digest)
                    .bind($crate::types::join_wire(&new.scopes))
                    .bind(now)
                    .bind(new.expires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::common::conflict("api token"))?;
                let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1")).bind(id.to_string()).fetch_one(&mut *tx).await?;
                let token = token_from_row(&row)?;
                audit(&mut tx, actor, "api_token.create", "api_token", &id.to_string(), None, Some($crate::common::json(&token))).await?;
                tx.commit().await?;
                Ok(token)
            }

            async fn find_api_token(&self, digest: &str) -> $crate::Result<Option<rampart_core::account::ApiToken>> {
                let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE digest = $1")).bind(digest).fetch_optional(self.reader()).await?;
                row.as_ref().map(token_from_row).transpose()
            }

            async fn list_api_tokens(&self, user_id: uuid::Uuid) -> $crate::Result<Vec<rampart_core::account::ApiToken>> {
                let rows = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at")).bind(user_id.to_string()).fetch_all(self.reader()).await?;
                rows.iter().map(token_from_row).collect()
            }

            async fn revoke_api_token(&self, actor: &$crate::Actor, token_id: uuid::Uuid) -> $crate::Result<()> {
                let now = $crate::types::now_micros();
                let mut tx = self.writer().await?;
                let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL").bind(now).bind(token_id.to_string()).execute(&mut *tx).await?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::NotFound);
                }
                audit(&mut tx, actor, "api_token.revoke", "api_token", &token_id.to_string(), None, None).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn replace_setup_token(&self, digest: &str, expires_at: chrono::DateTime<chrono::Utc>) -> $crate::Result<()> {
                let mut tx = self.writer().await?;
                sqlx::query("DELETE FROM setup_tokens").execute(&mut *tx).await?;
                sqlx::query("INSERT INTO setup_tokens (digest, created_at, expires_at) VALUES ($1, $2, $3)").bind(digest).bind($crate::types::now_micros()).bind(expires_at).execute(&mut *tx).await?;
                audit(&mut tx, &$crate::Actor::System, "setup_link.issue", "setup_link", "first-admin", None, None).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn setup_token_valid(&self, digest: &str, now: chrono::DateTime<chrono::Utc>) -> $crate::Result<bool> {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT expires_at FROM setup_tokens WHERE digest = $1").bind(digest).fetch_optional(self.reader()).await?;
                Ok(match row {
                    Some(row) => row.try_get::<chrono::DateTime<chrono::Utc>, _>("expires_at")? > now,
                    None => false,
                })
            }

            async fn complete_setup(&self, digest: &str, now: chrono::DateTime<chrono::Utc>, new: $crate::NewUser) -> $crate::Result<rampart_core::account::User> {
                use sqlx::Row as _;
                let mut tx = self.writer().await?;
                let row = sqlx::query("DELETE FROM setup_tokens WHERE digest = $1 RETURNING expires_at").bind(digest).fetch_optional(&mut *tx).await?;
                let valid = match row {
                    Some(row) => row.try_get::<chrono::DateTime<chrono::Utc>, _>("expires_at")? > now,
                    None => false,
                };
                let users: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(&mut *tx).await?.try_get("n")?;
                if !valid || users > 0 {
                    return Err($crate::StoreError::Invalid("the setup link is invalid or expired".into()));
                }
                let user = insert_user(&mut tx, &$crate::Actor::System, new).await?;
                tx.commit().await?;
                Ok(user)
            }

            async fn audit_page(&self, after: i64, limit: i64) -> $crate::Result<Vec<rampart_core::audit::AuditEntry>> {
                let rows = sqlx::query("SELECT seq, at, actor, action, object_type, object_id, before_json, after_json, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
                    .bind(after)
                    .bind(limit)
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(audit_from_row).collect()
            }

            async fn backup_to(&self, path: &std::path::Path) -> $crate::Result<()> {
                self.backup(path).await
            }
        }
    };
}

pub(crate) use impl_store;
