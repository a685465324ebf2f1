use super::{blocking, ServiceError, ServiceResult};
use chrono::{Duration, Utc};
use rampart_core::account::{self, ApiToken, Role, TokenScope, User};
use rampart_core::credentials::{self, new_secret, secret_digest};
use rampart_core::policy::{self, Caller};
use rampart_core::totp;
use rampart_store::{Actor, NewApiToken, NewUser, Store};
use uuid::Uuid;

/// A user to create, as entered.
#[derive(Debug, Clone)]
pub struct CreateUser {
    pub email: String,
    pub display_name: String,
    pub org_id: Uuid,
    pub roles: Vec<Role>,
    pub password: Option<String>,
    pub locale: Option<String>,
}

async fn hash(password: String) -> ServiceResult<String> {
    account::check_password_policy(&password)?;
    blocking(move || credentials::hash_password(&password)).await.map_err(|e| ServiceError::Invalid(e.to_string()))
}

async fn checked_new_user(store: &dyn Store, input: CreateUser) -> ServiceResult<NewUser> {
    let email = account::normalise_email(&input.email)?;
    let display_name = account::check_display_name(&input.display_name)?;
    let org = store.get_org(input.org_id).await?.ok_or_else(|| ServiceError::Invalid("the organisation does not exist".into()))?;
    account::check_roles(&input.roles, org.org_type)?;
    let locale = input.locale.as_deref().map(account::check_locale).transpose()?;
    let password_hash = match input.password {
        Some(p) => Some(hash(p).await?),
        None => None,
    };
    Ok(NewUser { email, display_name, org_id: org.id, roles: input.roles, password_hash, locale })
}

/// Creates a user. With a `caller`, the policy decides: administrators anywhere,
/// organisation administrators in their own organisation and without staff roles.
pub async fn create_user(store: &dyn Store, caller: Option<&Caller>, actor: &Actor, input: CreateUser) -> ServiceResult<User> {
    if let Some(caller) = caller {
        if !policy::may_manage_users_of(caller, input.org_id) {
            return Err(ServiceError::Forbidden("you may not manage users of this organisation".into()));
        }
        if !policy::may_administer(caller) && input.roles.iter().any(|r| r.is_staff() || *r == Role::Admin) {
            return Err(ServiceError::Forbidden("only administrators grant staff roles".into()));
        }
    }
    let new = checked_new_user(store, input).await?;
    Ok(store.create_user(actor, new).await?)
}

pub enum LoginOutcome {
    Success(User),
    /// Wrong address or password; deliberately indistinguishable.
    BadCredentials,
    Locked,
}

/// Checks a password, counting failures towards the lockout.
pub async fn authenticate(
    store: &dyn Store,
    email: &str,
    password: &str,
    max_failures: i64,
    lockout: Duration,
) -> ServiceResult<LoginOutcome> {
    let password = password.to_string();
    let user = match account::normalise_email(email) {
        Ok(email) => store.find_user_by_email(&email).await?,
        Err(_) => None,
    };
    let Some(user) = user else {
        // Same work as a real check, so timing does not tell which addresses exist.
        blocking(move || credentials::verify_password(&password, credentials::dummy_hash())).await;
        return Ok(LoginOutcome::BadCredentials);
    };
    if user.is_locked(Utc::now()) {
        return Ok(LoginOutcome::Locked);
    }
    let stored = store.user_secrets(user.id).await?.password_hash.unwrap_or_default();
    let matches = blocking(move || credentials::verify_password(&password, &stored)).await;
    if !matches || user.disabled {
        let after = store.record_login_failure(user.id, max_failures, lockout).await?;
        return Ok(if after.is_locked(Utc::now()) { LoginOutcome::Locked } else { LoginOutcome::BadCredentials });
    }
    Ok(LoginOutcome::Success(user))
}

pub async fn change_password(store: &dyn Store, user: &User, current: &str, new: &str) -> ServiceResult<()> {
    let stored = store.user_secrets(user.id).await?.password_hash.unwrap_or_default();
    let current = current.to_string();
    if !blocking(move || credentials::verify_password(&current, &stored)).await {
        return Err(ServiceError::Forbidden("the current password is wrong".into()));
    }
    set_password(store, &Actor::User(user.id), user.id, new).await
}

pub async fn set_password(store: &dyn Store, actor: &Actor, user_id: Uuid, new: &str) -> ServiceResult<()> {
    let hashed = hash(new.to_string()).await?;
    Ok(store.set_password(actor, user_id, &hashed).await?)
}

/// Starts (or restarts) TOTP enrolment; returns the secret to show once.
pub async fn start_totp(store: &dyn Store, user: &User) -> ServiceResult<String> {
    let secret = totp::new_secret();
    store.set_totp_pending(&Actor::User(user.id), user.id, &secret).await?;
    Ok(secret)
}

/// The pending secret of an enrolment in progress.
pub async fn pending_totp(store: &dyn Store, user: &User) -> ServiceResult<Option<String>> {
    Ok(store.user_secrets(user.id).await?.totp_pending_secret)
}

/// Confirms enrolment with a code from the authenticator.
pub async fn confirm_totp(store: &dyn Store, user: &User, code: &str) -> ServiceResult<bool> {
    let Some(secret) = store.user_secrets(user.id).await?.totp_pending_secret else { return Ok(false) };
    match totp::verify(&secret, code, Utc::now().timestamp(), None) {
        Some(step) => {
            store.enable_totp(&Actor::User(user.id), user.id, step).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// The second sign-in step: a code not used before.
pub async fn verify_totp(store: &dyn Store, user: &User, code: &str) -> ServiceResult<bool> {
    let secrets = store.user_secrets(user.id).await?;
    let Some(secret) = secrets.totp_secret else { return Ok(false) };
    match totp::verify(&secret, code, Utc::now().timestamp(), secrets.totp_last_step) {
        Some(step) => Ok(store.consume_totp_step(user.id, step).await?),
        None => Ok(false),
    }
}

/// Issues a one-time link for setting the first administrator's password. Returns
/// the secret to print; only its digest is stored.
pub async fn issue_setup_secret(store: &dyn Store) -> ServiceResult<String> {
    let secret = new_secret("");
    store.replace_setup_token(&secret_digest(&secret), Utc::now() + Duration::hours(24)).await?;
    Ok(secret)
}

pub async fn setup_secret_valid(store: &dyn Store, secret: &str) -> ServiceResult<bool> {
    Ok(store.setup_token_valid(&secret_digest(secret), Utc::now()).await?)
}

/// Creates the first administrator in the operator's organisation.
pub async fn complete_setup(
    store: &dyn Store,
    secret: &str,
    operator_org: Uuid,
    email: &str,
    display_name: &str,
    password: &str,
) -> ServiceResult<User> {
    let input = CreateUser {
        email: email.into(),
        display_name: display_name.into(),
        org_id: operator_org,
        roles: vec![Role::Admin],
        password: Some(password.into()),
        locale: None,
    };
    let new = checked_new_user(store, input).await?;
    Ok(store.complete_setup(&secret_digest(secret), Utc::now(), new).await?)
}

/// Creates an API token; the secret is returned once and never stored.
pub async fn create_token(
    store: &dyn Store,
    actor: &Actor,
    user: &User,
    name: &str,
    scopes: Vec<TokenScope>,
    expires_days: Option<i64>,
) -> ServiceResult<(String, ApiToken)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ServiceError::Invalid("token name must be 1 to 100 characters".into()));
    }
    if let Some(days) = expires_days {
        if !(1..=3650).contains(&days) {
            return Err(ServiceError::Invalid("expiry must be between 1 and 3650 days".into()));
        }
    }
    if scopes.contains(&TokenScope::Admin) && !(user.has(Role::Admin) || user.has(Role::OrgAdmin)) {
        return Err(ServiceError::Forbidden("only administrators and organisation administrators hold admin-scoped tokens".into()));
    }
    let secret = new_secret("rmp_");
    let new = NewApiToken {
        user_id: user.id,
        name: name.to_string(),
        digest: secret_digest(&secret),
        scopes,
        expires_at: expires_days.map(|d| Utc::now() + Duration::days(d)),
    };
    let token = store.create_api_token(actor, new).await?;
    Ok((secret, token))
}
