//! Who is calling TAXII: HTTP Basic (a user's e-mail and password), an API token
//! (`Bearer` or `Token`), or nobody (public reads only).

use super::TaxiiError;
use crate::auth::{self, basic, PeerAddr, Principal};
use crate::service::accounts::{self, LoginOutcome};
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};
use chrono::Utc;
use rampart_core::account::TokenScope;
use rampart_core::credentials::secret_digest;
use rampart_core::policy::Caller;
use rampart_store::Actor;
use std::time::Instant;

pub struct TaxiiCaller {
    pub principal: Option<Principal>,
}

impl TaxiiCaller {
    pub fn policy(&self) -> Caller {
        self.principal.as_ref().map(Principal::policy_caller).unwrap_or_else(Caller::anonymous)
    }

    pub fn actor(&self) -> Actor {
        self.principal.as_ref().map(|p| Actor::User(p.user.id)).unwrap_or(Actor::System)
    }
}

impl FromRequestParts<AppState> for TaxiiCaller {
    type Rejection = TaxiiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let writes = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return if writes { Err(TaxiiError::unauthorized()) } else { Ok(TaxiiCaller { principal: None }) };
        };
        let value = value.to_str().map_err(|_| TaxiiError::unauthorized())?.trim();
        let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("Token "));
        if let Some(token) = token {
            let found = state.store.find_api_token(&secret_digest(token.trim())).await?;
            let token = found.filter(|t| t.usable_at(Utc::now())).ok_or_else(TaxiiError::unauthorized)?;
            if writes && !token.scopes.contains(&TokenScope::Write) {
                return Err(TaxiiError::forbidden("this token lacks the write scope"));
            }
            let principal = auth::load_principal(state, token.user_id).await?.ok_or_else(TaxiiError::unauthorized)?;
            return Ok(TaxiiCaller { principal: Some(principal) });
        }
        let (email, password) = basic::decode(value).ok_or_else(TaxiiError::unauthorized)?;
        let now = Instant::now();
        let user_id = match state.basic_auth.get(value, now) {
            Some(user) => user,
            None => {
                let peer = PeerAddr(parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0));
                let ip = auth::client_ip(state, &parts.headers, &peer);
                if !state.login_limiter.allow(ip, now) {
                    return Err(TaxiiError::new(axum::http::StatusCode::TOO_MANY_REQUESTS, "Too many attempts", "wait a minute"));
                }
                let lockout = chrono::Duration::minutes(state.settings.lockout_minutes);
                match accounts::authenticate(&*state.store, &email, &password, state.settings.login_max_failures, lockout).await? {
                    LoginOutcome::Success(user) => {
                        // A password alone would skip the second factor staff must use.
                        if state.settings.require_totp_for_staff && user.is_staff() {
                            return Err(TaxiiError::forbidden(
                                "staff use an API token for TAXII (Authorization: Bearer …), as sign-in needs a second factor",
                            ));
                        }
                        state.basic_auth.put(value, user.id, now);
                        user.id
                    }
                    LoginOutcome::BadCredentials | LoginOutcome::Locked => return Err(TaxiiError::unauthorized()),
                }
            }
        };
        let principal = auth::load_principal(state, user_id).await?.ok_or_else(TaxiiError::unauthorized)?;
        Ok(TaxiiCaller { principal: Some(principal) })
    }
}
