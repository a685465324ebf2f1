//! Who is calling: API callers by bearer token or session cookie, UI callers by
//! session cookie. Both end in a `policy::Caller` for the access policy.

pub mod basic;
pub mod cookies;
pub mod rate_limit;

use crate::problem::ApiError;
use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use chrono::Utc;
use rampart_core::account::{TokenScope, User};
use rampart_core::credentials::{constant_time_eq, secret_digest};
use rampart_core::org::Organisation;
use rampart_core::policy;
use rampart_store::Session;
use std::net::{IpAddr, SocketAddr};

pub const SESSION_COOKIE: &str = "rampart_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in user with their organisation.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub org: Organisation,
    /// The sharing groups the organisation belongs to.
    pub sharing_groups: Vec<uuid::Uuid>,
}

impl Principal {
    pub fn policy_caller(&self) -> policy::Caller {
        policy::Caller {
            user_id: Some(self.user.id),
            org_id: Some(self.org.id),
            org_parent_id: self.org.parent_id,
            roles: self.user.roles.clone(),
            sharing_groups: self.sharing_groups.clone(),
            constituent: self.org.org_type.is_constituent(),
        }
    }
}

/// Loads a user who may act now: exists, not disabled, not locked.
pub async fn load_principal(state: &AppState, user_id: uuid::Uuid) -> Result<Option<Principal>, ApiError> {
    let Some(user) = state.store.get_user(user_id).await? else { return Ok(None) };
    if user.disabled || user.is_locked(Utc::now()) {
        return Ok(None);
    }
    let org = state.store.get_org(user.org_id).await?.ok_or_else(ApiError::internal)?;
    let sharing_groups = state.store.intel().sharing_groups_of(org.id).await?;
    Ok(Some(Principal { user, org, sharing_groups }))
}

/// A live session from the request's cookie, whatever its sign-in stage.
pub async fn session_from_headers(state: &AppState, headers: &HeaderMap) -> Result<Option<(Session, Principal)>, ApiError> {
    let Some(cookie) = cookies::get(headers, SESSION_COOKIE) else { return Ok(None) };
    let digest = secret_digest(&cookie);
    let Some(session) = state.store.get_session(&digest).await? else { return Ok(None) };
    if session.expires_at <= Utc::now() {
        return Ok(None);
    }
    Ok(load_principal(state, session.user_id).await?.map(|p| (session, p)))
}

/// Whether a session has passed every sign-in step, including TOTP enrolment where
/// the configuration demands it of staff.
pub fn session_complete(state: &AppState, session: &Session, principal: &Principal) -> bool {
    session.second_factor_done && !(state.settings.require_totp_for_staff && principal.user.is_staff() && !principal.user.totp_enabled)
}

#[derive(Debug, Clone)]
pub enum Via {
    Token { scopes: Vec<TokenScope> },
    Session,
}

/// An authenticated API caller.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub principal: Principal,
    pub via: Via,
}

impl ApiCaller {
    pub fn policy_caller(&self) -> policy::Caller {
        self.principal.policy_caller()
    }

    /// Tokens carry scopes; a browser session has the user's full rights.
    pub fn require_scope(&self, scope: TokenScope) -> Result<(), ApiError> {
        match &self.via {
            Via::Token { scopes } if !scopes.contains(&scope) => {
                Err(ApiError::forbidden(format!("this token lacks the {scope} scope")).with_code("insufficient_scope"))
            }
            _ => Ok(()),
        }
    }
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let token = auth.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).ok_or_else(ApiError::unauthorized)?;
            let found = state.store.find_api_token(&secret_digest(token.trim())).await?;
            let token = found.filter(|t| t.usable_at(Utc::now())).ok_or_else(ApiError::unauthorized)?;
            let principal = load_principal(state, token.user_id).await?.ok_or_else(ApiError::unauthorized)?;
            let caller = ApiCaller { principal, via: Via::Token { scopes: token.scopes } };
            if unsafe_method {
                caller.require_scope(TokenScope::Write)?;
            }
            return Ok(caller);
        }
        let (session, principal) = session_from_headers(state, &parts.headers).await?.ok_or_else(ApiError::unauthorized)?;
        if !session_complete(state, &session, &principal) {
            return Err(ApiError::unauthorized());
        }
        if unsafe_method {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            if !constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes()) {
                return Err(ApiError::forbidden("send the session's CSRF token in X-CSRF-Token").with_code("csrf_failed"));
            }
        }
        Ok(ApiCaller { principal, via: Via::Session })
    }
}

/// The peer address of the connection, when the server recorded it.
pub struct PeerAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)))
    }
}

/// The client's address, from the connection or, behind a trusted proxy, the
/// left-most `X-Forwarded-For` entry.
pub fn client_ip(state: &AppState, parts_headers: &HeaderMap, peer: &PeerAddr) -> IpAddr {
    if state.settings.trust_forwarded_for {
        let forwarded = parts_headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        if let Some(ip) = forwarded.and_then(|v| v.split(',').next()).and_then(|s| s.trim().parse().ok()) {
            return ip;
        }
    }
    peer.0.map(|a| a.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]))
}
