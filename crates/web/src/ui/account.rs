//! The signed-in user's own pages: home, two-factor enrolment, password, language.

use super::pages::{HomePage, PasswordPage, TotpEnrolPage};
use super::{error_page, redirect_with_flash, render_page, require_complete, session_csrf_ok, stage, PageCtx, Stage, UiForm};
use crate::service::{accounts, ServiceError};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rampart_core::totp;
use rampart_store::Actor;
use serde::Deserialize;

pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(redirect) => return redirect,
    };
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.home", true);
    let role_labels = principal.user.roles.iter().map(|r| page.t(&format!("role.{r}")).to_string()).collect();
    let org_type_label = page.t(&format!("org_type.{}", principal.org.org_type)).to_string();
    let home =
        HomePage { org_name: principal.org.name.clone(), org_type_label, role_labels, totp_enabled: principal.user.totp_enabled, page };
    render_page(StatusCode::OK, &home, None)
}

/// Enrolment is open to a signed-in user who has passed any second factor already,
/// including staff who must enrol before they may do anything else.
async fn enrolling_session(state: &AppState, headers: &HeaderMap) -> Result<(rampart_store::Session, crate::auth::Principal), Response> {
    match stage(state, headers).await {
        Ok(Stage::Complete(s, p) | Stage::NeedsEnrolment(s, p)) => Ok((s, p)),
        Ok(Stage::NeedsSecondFactor(..)) => Err(Redirect::to("/login/totp").into_response()),
        Ok(Stage::Anonymous) => Err(Redirect::to("/login").into_response()),
        Err(e) => Err(error_page(state, headers, None, e.status, "error.internal")),
    }
}

fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => {
            let svg = code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build();
            // Inline in HTML: drop the XML declaration.
            svg.find("<svg").map(|i| svg[i..].to_string()).unwrap_or_default()
        }
        Err(_) => String::new(),
    }
}

pub async fn totp_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (session, principal) = match enrolling_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(redirect) => return redirect,
    };
    let required = state.settings.require_totp_for_staff && principal.user.is_staff();
    let full = crate::auth::session_complete(&state, &session, &principal);
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.totp", full);
    let user = &principal.user;
    let (secret, uri, svg) = if user.totp_enabled {
        (String::new(), String::new(), String::new())
    } else {
        let pending = match accounts::pending_totp(&*state.store, user).await {
            Ok(Some(secret)) => Ok(secret),
            Ok(None) => accounts::start_totp(&*state.store, user).await,
            Err(e) => Err(e),
        };
        let Ok(secret) = pending else {
            return error_page(&state, &headers, Some(&principal), StatusCode::INTERNAL_SERVER_ERROR, "error.internal");
        };
        let uri = totp::otpauth_uri(&state.settings.operator_name, &user.email, &secret);
        let svg = qr_svg(&uri);
        (secret, uri, svg)
    };
    let enrol = TotpEnrolPage { page, secret, otpauth_uri: uri, qr_svg: svg, enabled: user.totp_enabled, required };
    render_page(StatusCode::OK, &enrol, None)
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
}

pub async fn totp_submit(State(state): State<AppState>, headers: HeaderMap, UiForm(form): UiForm<CodeForm>) -> Response {
    let (session, principal) = match enrolling_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(redirect) => return redirect,
    };
    if !session_csrf_ok(&session, &form.csrf) {
        return redirect_with_flash(&state, "/account/totp", "error", "flash.csrf");
    }
    match accounts::confirm_totp(&*state.store, &principal.user, &form.code).await {
        Ok(true) => redirect_with_flash(&state, "/", "ok", "flash.totp_enabled"),
        Ok(false) => redirect_with_flash(&state, "/account/totp", "error", "flash.totp_invalid"),
        Err(_) => error_page(&state, &headers, Some(&principal), StatusCode::INTERNAL_SERVER_ERROR, "error.internal"),
    }
}

pub async fn password_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(redirect) => return redirect,
    };
    let page = PasswordPage { page: PageCtx::for_user(&state, &headers, &session, &principal, "title.password", true) };
    render_page(StatusCode::OK, &page, None)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn password_submit(State(state): State<AppState>, headers: HeaderMap, UiForm(form): UiForm<PasswordForm>) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(redirect) => return redirect,
    };
    let back = "/account/password";
    if !session_csrf_ok(&session, &form.csrf) {
        return redirect_with_flash(&state, back, "error", "flash.csrf");
    }
    if form.new_password != form.confirm_password {
        return redirect_with_flash(&state, back, "error", "flash.password_mismatch");
    }
    if rampart_core::account::check_password_policy(&form.new_password).is_err() {
        return redirect_with_flash(&state, back, "error", "flash.password_too_short");
    }
    match accounts::change_password(&*state.store, &principal.user, &form.current_password, &form.new_password).await {
        // Changing the password ends every session, this one included.
        Ok(()) => redirect_with_flash(&state, "/login", "ok", "flash.password_changed"),
        Err(ServiceError::Forbidden(_)) => redirect_with_flash(&state, back, "error", "flash.password_wrong"),
        Err(_) => redirect_with_flash(&state, back, "error", "flash.invalid_input"),
    }
}

#[derive(Deserialize)]
pub struct LanguageForm {
    #[serde(default)]
    locale: String,
    #[serde(default)]
    csrf: String,
}

pub async fn language_submit(State(state): State<AppState>, headers: HeaderMap, UiForm(form): UiForm<LanguageForm>) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(redirect) => return redirect,
    };
    if !session_csrf_ok(&session, &form.csrf) {
        return redirect_with_flash(&state, "/", "error", "flash.csrf");
    }
    let Ok(locale) = rampart_core::account::check_locale(&form.locale) else {
        return redirect_with_flash(&state, "/", "error", "flash.invalid_input");
    };
    let user_id = principal.user.id;
    match state.store.set_locale(&Actor::User(user_id), user_id, Some(&locale)).await {
        Ok(()) => redirect_with_flash(&state, "/", "ok", "flash.language_saved"),
        Err(_) => error_page(&state, &headers, Some(&principal), StatusCode::INTERNAL_SERVER_ERROR, "error.internal"),
    }
}
