//! Users, their roles, and which roles an organisation's users may hold.

use crate::org::OrgType;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

crate::wire_enum! {
    /// Roles. The first four are CERT staff and exist only in a `cert` organisation.
    Role, "role" {
        Admin => "admin",
        Coordinator => "coordinator",
        Analyst => "analyst",
        Auditor => "auditor",
        OrgAdmin => "org_admin",
        OrgMember => "org_member",
    }
}

impl Role {
    /// CERT staff: the operator's own people.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Admin | Role::Coordinator | Role::Analyst | Role::Auditor)
    }

    /// Whether an organisation of this type may give its users this role.
    pub fn allowed_in(self, org_type: OrgType) -> bool {
        !self.is_staff() || org_type == OrgType::Cert
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub org_id: Uuid,
    pub roles: Vec<Role>,
    /// `en` or `zh-TW`; `None` follows the browser.
    pub locale: Option<String>,
    pub totp_enabled: bool,
    pub disabled: bool,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl User {
    pub fn is_staff(&self) -> bool {
        self.roles.iter().any(|r| r.is_staff())
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

crate::wire_enum! {
    /// What an API token may do, on top of what its user may do.
    TokenScope, "token scope" {
        Read => "read",
        Write => "write",
        Admin => "admin",
    }
}

/// An API token as stored: never the secret itself.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    #[serde(skip)]
    pub digest: String,
    pub scopes: Vec<TokenScope>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    pub fn usable_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

pub const SUPPORTED_LOCALES: &[&str] = &["en", "zh-TW"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("e-mail address is not valid")]
    BadEmail,
    #[error("display name must be at most 200 characters without control characters")]
    BadDisplayName,
    #[error("a user needs at least one role")]
    NoRole,
    #[error("role {role} is not allowed in an organisation of type {org_type}")]
    RoleNotAllowed { role: Role, org_type: OrgType },
    #[error("unsupported locale (expected en or zh-TW)")]
    BadLocale,
    #[error("password must be at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
    #[error("password must be at most {MAX_PASSWORD_BYTES} bytes")]
    PasswordTooLong,
}

pub const MIN_PASSWORD_CHARS: usize = 12;
/// Bounds the work an attacker can make argon2 do per request.
pub const MAX_PASSWORD_BYTES: usize = 1024;

pub fn check_password_policy(password: &str) -> Result<(), AccountError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountError::PasswordTooLong);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::PasswordTooShort);
    }
    Ok(())
}

/// Lower-cases and checks an e-mail address (a pragmatic subset of RFC 5321).
pub fn normalise_email(email: &str) -> Result<String, AccountError> {
    let email = email.trim().to_lowercase();
    let (local, domain) = email.rsplit_once('@').ok_or(AccountError::BadEmail)?;
    let ok = !local.is_empty()
        && local.len() <= 64
        && email.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.')
        && !local.chars().any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\@".contains(c));
    if ok {
        Ok(email)
    } else {
        Err(AccountError::BadEmail)
    }
}

pub fn check_display_name(name: &str) -> Result<String, AccountError> {
    let name = name.trim();
    if name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(AccountError::BadDisplayName);
    }
    Ok(name.to_string())
}

pub fn check_locale(locale: &str) -> Result<String, AccountError> {
    SUPPORTED_LOCALES.iter().find(|l| l.eq_ignore_ascii_case(locale)).map(|l| l.to_string()).ok_or(AccountError::BadLocale)
}

pub fn check_roles(roles: &[Role], org_type: OrgType) -> Result<(), AccountError> {
    if roles.is_empty() {
        return Err(AccountError::NoRole);
    }
    for role in roles {
        if !role.allowed_in(org_type) {
            return Err(AccountError::RoleNotAllowed { role: *role, org_type });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_roles_only_in_the_cert() {
        for role in Role::ALL {
            for org_type in OrgType::ALL {
                let expected = if role.is_staff() { *org_type == OrgType::Cert } else { true };
                assert_eq!(role.allowed_in(*org_type), expected, "{role} in {org_type}");
            }
        }
        assert!(check_roles(&[], OrgType::Cert).is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(normalise_email(" Alice@Example.TW ").unwrap(), "alice@example.tw");
        for bad in ["", "a", "a@b", "@b.tw", "a b@c.tw", "a@.tw", "a@b.tw.", "a<@b.tw", "a@b_c.tw"] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn normalised_emails_are_stable(raw in "\\PC{0,80}") {
            if let Ok(email) = normalise_email(&raw) {
                proptest::prop_assert_eq!(normalise_email(&email), Ok(email.clone()));
                proptest::prop_assert!(email.contains('@') && email.len() <= 254);
            }
        }
    }

    #[test]
    fn passwords_and_locales() {
        assert!(check_password_policy("short").is_err());
        assert!(check_password_policy("correct horse battery").is_ok());
        assert!(check_password_policy(&"x".repeat(2000)).is_err());
        assert_eq!(check_locale("zh-tw").unwrap(), "zh-TW");
        assert!(check_locale("fr").is_err());
    }
}
