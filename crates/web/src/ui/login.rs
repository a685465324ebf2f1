//! Signing in and out, the TOTP challenge, and the first administrator's setup.

use super::pages::{LoginPage, SetupPage, TotpChallengePage};
use super::{
    anonymous_csrf, anonymous_csrf_ok, error_page, language, redirect_with_flash, render_page, session_csrf_ok, stage, take_flash, PageCtx,
    Stage, UiForm, LANG_COOKIE,
};
use crate::auth::{client_ip, cookies, PeerAddr, SESSION_COOKIE};
use crate::service::accounts::{self, LoginOutcome};
use crate::service::{orgs, ServiceError};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use rampart_core::credentials::{new_secret, secret_digest};
use rampart_store::NewSession;
use rampart_store::StoreError;
use serde::Deserialize;
use std::sync::atomic::Ordering;
use std::time::Instant;

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

/// `?lang=` on anonymous pages: remember the choice in a cookie and use it now.
fn lang_choice(state: &AppState, headers: &HeaderMap, query: &LangQuery) -> (&'static str, Option<(HeaderName, String)>) {
    match query.lang.as_deref().map(crate::i18n::catalog) {
        Some(catalog) => {
            let cookie = cookies::set(LANG_COOKIE, catalog.lang, 3600 * 24 * 365, state.settings.cookies_secure());
            (catalog.lang, Some((header::SET_COOKIE, cookie)))
        }
        None => (language(state, headers, None), None),
    }
}

fn login_form(state: &AppState, headers: &HeaderMap, lang: &str, email: &str, flash_key: Option<&str>, status: StatusCode) -> Response {
    let (csrf, csrf_cookie) = anonymous_csrf(state, headers);
    let stored_flash = take_flash(headers, lang);
    let flash = match flash_key {
        Some(key) => Some(super::pages::Flash { kind: "error".into(), message: crate::i18n::catalog(lang).get(key).to_string() }),
        None => stored_flash,
    };
    let page = LoginPage { page: PageCtx::new(lang, csrf, None, flash, "title.login", false), email: email.to_string() };
    render_page(status, &page, csrf_cookie)
}

pub async fn login_page(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    if let Ok(Stage::Complete(..)) = stage(&state, &headers).await {
        return Redirect::to("/").into_response();
    }
    let (lang, lang_cookie) = lang_choice(&state, &headers, &q);
    let mut response = login_form(&state, &headers, lang, "", None, StatusCode::OK);
    if let Some((name, value)) = lang_cookie {
        if let Ok(v) = value.parse() {
            response.headers_mut().append(name, v);
        }
    }
    response
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn login_submit(State(state): State<AppState>, peer: PeerAddr, headers: HeaderMap, UiForm(form): UiForm<LoginForm>) -> Response {
    let lang = language(&state, &headers, None);
    let email: String = form.email.chars().take(254).collect();
    if !anonymous_csrf_ok(&headers, &form.csrf) {
        return login_form(&state, &headers, lang, &email, Some("flash.csrf"), StatusCode::FORBIDDEN);
    }
    let ip = client_ip(&state, &headers, &peer);
    if !state.login_limiter.allow(ip, Instant::now()) {
        state.metrics.logins_rate_limited.fetch_add(1, Ordering::Relaxed);
        return login_form(&state, &headers, lang, &email, Some("flash.rate_limited"), StatusCode::TOO_MANY_REQUESTS);
    }
    let settings = &state.settings;
    let outcome = accounts::authenticate(
        &*state.store,
        &email,
        &form.password,
        settings.login_max_failures,
        Duration::minutes(settings.lockout_minutes),
    )
    .await;
    let user = match outcome {
        Ok(LoginOutcome::Success(user)) => user,
        Ok(LoginOutcome::BadCredentials) => {
            state.metrics.logins_failed.fetch_add(1, Ordering::Relaxed);
            return login_form(&state, &headers, lang, &email, Some("flash.login_failed"), StatusCode::UNAUTHORIZED);
        }
        Ok(LoginOutcome::Locked) => {
            state.metrics.logins_failed.fetch_add(1, Ordering::Relaxed);
            return login_form(&state, &headers, lang, &email, Some("flash.locked"), StatusCode::UNAUTHORIZED);
        }
        Err(e) => {
            tracing::error!(error = %e, "sign-in failed");
            return error_page(&state, &headers, None, StatusCode::INTERNAL_SERVER_ERROR, "error.internal");
        }
    };
    state.metrics.logins_succeeded.fetch_add(1, Ordering::Relaxed);
    // A fresh session id at every sign-in: no fixation.
    let secret = new_secret("");
    let new = NewSession {
        id_digest: secret_digest(&secret),
        user_id: user.id,
        csrf_token: new_secret(""),
        second_factor_done: !user.totp_enabled,
        expires_at: Utc::now() + Duration::hours(settings.session_hours),
    };
    if let Err(e) = state.store.create_session(new).await {
        tracing::error!(error = %e, "could not create a session");
        return error_page(&state, &headers, None, StatusCode::INTERNAL_SERVER_ERROR, "error.internal");
    }
    let next = if user.totp_enabled {
        "/login/totp"
    } else if settings.require_totp_for_staff && user.is_staff() {
        "/account/totp"
    } else {
        "/"
    };
    let cookie = cookies::set(SESSION_COOKIE, &secret, settings.session_hours * 3600, settings.cookies_secure());
    ([(header::SET_COOKIE, cookie)], Redirect::to(next)).into_response()
}

pub async fn totp_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match stage(&state, &headers).await {
        Ok(Stage::NeedsSecondFactor(session, principal)) => {
            let page = TotpChallengePage { page: PageCtx::for_user(&state, &headers, &session, &principal, "title.login_totp", false) };
            render_page(StatusCode::OK, &page, None)
        }
        Ok(Stage::Anonymous) => Redirect::to("/login").into_response(),
        _ => Redirect::to("/").into_response(),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
}

pub async fn totp_submit(State(state): State<AppState>, headers: HeaderMap, UiForm(form): UiForm<CodeForm>) -> Response {
    let Ok(Stage::NeedsSecondFactor(session, principal)) = stage(&state, &headers).await else {
        return Redirect::to("/login").into_response();
    };
    if !session_csrf_ok(&session, &form.csrf) {
        return redirect_with_flash(&state, "/login/totp", "error", "flash.csrf");
    }
    match accounts::verify_totp(&*state.store, &principal.user, &form.code).await {
        Ok(true) => match state.store.complete_second_factor(&session.id_digest).await {
            Ok(()) => Redirect::to("/").into_response(),
            Err(_) => error_page(&state, &headers, Some(&principal), StatusCode::INTERNAL_SERVER_ERROR, "error.internal"),
        },
        Ok(false) => {
            // Wrong codes count towards the lockout like wrong passwords.
            let lockout = Duration::minutes(state.settings.lockout_minutes);
            let _ = state.store.record_login_failure(principal.user.id, state.settings.login_max_failures, lockout).await;
            redirect_with_flash(&state, "/login/totp", "error", "flash.totp_invalid")
        }
        Err(_) => error_page(&state, &headers, Some(&principal), StatusCode::INTERNAL_SERVER_ERROR, "error.internal"),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap, UiForm(form): UiForm<CsrfForm>) -> Response {
    let session = match stage(&state, &headers).await {
        Ok(Stage::Complete(s, _) | Stage::NeedsEnrolment(s, _) | Stage::NeedsSecondFactor(s, _)) => s,
        _ => return Redirect::to("/login").into_response(),
    };
    if !session_csrf_ok(&session, &form.csrf) {
        return redirect_with_flash(&state, "/", "error", "flash.csrf");
    }
    if let Err(e) = state.store.delete_session(&session.id_digest).await {
        tracing::error!(error = %e, "could not end a session");
    }
    let secure = state.settings.cookies_secure();
    let mut response = redirect_with_flash(&state, "/login", "ok", "flash.signed_out");
    if let Ok(v) = cookies::clear(SESSION_COOKIE, secure).parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[derive(Deserialize)]
pub struct SetupQuery {
    #[serde(default)]
    token: String,
    lang: Option<String>,
}

pub async fn setup_page(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<SetupQuery>) -> Response {
    let (lang, lang_cookie) = lang_choice(&state, &headers, &LangQuery { lang: q.lang.clone() });
    if !matches!(accounts::setup_secret_valid(&*state.store, &q.token).await, Ok(true)) {
        return error_page(&state, &headers, None, StatusCode::NOT_FOUND, "flash.setup_invalid");
    }
    let (csrf, csrf_cookie) = anonymous_csrf(&state, &headers);
    let flash = take_flash(&headers, lang);
    let page = SetupPage {
        page: PageCtx::new(lang, csrf, None, flash, "title.setup", false),
        token: q.token,
        operator_name: state.settings.operator_name.clone(),
    };
    let mut response = render_page(StatusCode::OK, &page, csrf_cookie);
    if let Some((name, value)) = lang_cookie {
        if let Ok(v) = value.parse() {
            response.headers_mut().append(name, v);
        }
    }
    response
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn setup_submit(State(state): State<AppState>, headers: HeaderMap, UiForm(form): UiForm<SetupForm>) -> Response {
    let back =
        format!("/setup?token={}", form.token.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect::<String>());
    if !anonymous_csrf_ok(&headers, &form.csrf) {
        return redirect_with_flash(&state, &back, "error", "flash.csrf");
    }
    if form.password != form.confirm_password {
        return redirect_with_flash(&state, &back, "error", "flash.password_mismatch");
    }
    let operator = match orgs::ensure_operator(&*state.store, &state.settings.operator_name).await {
        Ok(org) => org,
        Err(_) => return error_page(&state, &headers, None, StatusCode::INTERNAL_SERVER_ERROR, "error.internal"),
    };
    if rampart_core::account::check_password_policy(&form.password).is_err() {
        return redirect_with_flash(&state, &back, "error", "flash.password_too_short");
    }
    match accounts::complete_setup(&*state.store, &form.token, operator.id, &form.email, &form.display_name, &form.password).await {
        Ok(_) => redirect_with_flash(&state, "/login", "ok", "flash.setup_done"),
        // The store refuses a used, expired or unknown link, or a second first admin.
        Err(ServiceError::Store(StoreError::Invalid(_))) => {
            error_page(&state, &headers, None, StatusCode::NOT_FOUND, "flash.setup_invalid")
        }
        Err(ServiceError::Invalid(_) | ServiceError::Store(StoreError::Conflict(_))) => {
            redirect_with_flash(&state, &back, "error", "flash.invalid_input")
        }
        Err(e) => {
            tracing::error!(error = %e, "first-admin setup failed");
            error_page(&state, &headers, None, StatusCode::INTERNAL_SERVER_ERROR, "error.internal")
        }
    }
}
