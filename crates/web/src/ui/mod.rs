//! The server-rendered UI. Every form works without JavaScript and carries a CSRF
//! token; every page is rendered in the user's language.

mod account;
mod admin;
pub(crate) mod export;
mod feed_pages;
mod handling;
mod incident_pages;
mod intel_pages;
mod login;
mod notification_pages;
mod pages;
mod registry_pages;
mod report_form;

pub use pages::PageCtx;

use crate::auth::{self, cookies, Principal};
use crate::problem::ApiError;
use crate::AppState;
use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderName, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use rampart_core::credentials::{constant_time_eq, new_secret};
use rampart_store::Session;

pub const ANON_CSRF_COOKIE: &str = "rampart_csrf";
pub const LANG_COOKIE: &str = "rampart_lang";
pub const FLASH_COOKIE: &str = "rampart_flash";

/// `report_body_limit`: the report form carries attachments, so it may be larger
/// than other requests.
pub fn router(report_body_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/", get(account::home))
        .route("/login", get(login::login_page).post(login::login_submit))
        .route("/login/totp", get(login::totp_page).post(login::totp_submit))
        .route("/logout", post(login::logout))
        .route("/setup", get(login::setup_page).post(login::setup_submit))
        .route("/account/totp", get(account::totp_page).post(account::totp_submit))
        .route("/account/password", get(account::password_page).post(account::password_submit))
        .route("/account/language", post(account::language_submit))
        .route("/admin/orgs", get(admin::orgs_page).post(admin::orgs_submit))
        .route("/admin/users", get(admin::users_page).post(admin::users_submit))
        .route("/report", get(report_form::form).post(report_form::submit).layer(axum::extract::DefaultBodyLimit::max(report_body_limit)))
        .route("/report/status/{secret}", get(report_form::status))
        .route("/queue", get(handling::queue))
        .route("/portal", get(handling::portal))
        .route("/reports/{id}", get(handling::report))
        .route("/reports/{id}/triage", post(handling::triage))
        .route("/incidents/{id}", get(handling::incident))
        .route("/incidents/{id}/{action}", post(handling::act))
        .route("/attachments/{id}", get(handling::attachment))
        .route("/directory", get(registry_pages::directory))
        .route("/directory/lookup", get(registry_pages::lookup))
        .route("/my-organisation", get(registry_pages::my_organisation))
        .route("/organisations/{id}", get(registry_pages::organisation))
        .route("/organisations/{id}/contacts", post(registry_pages::add_contact))
        .route("/organisations/{id}/assets", post(registry_pages::add_asset))
        .route("/contacts/{id}/delete", post(registry_pages::delete_contact))
        .route("/assets/{id}/{action}", post(registry_pages::asset_action))
        .route("/notifications", get(notification_pages::outbox))
        .route("/notifications/flush", post(notification_pages::flush))
        .route("/notifications/{id}", get(notification_pages::notification))
        .route("/notification-templates", get(notification_pages::templates))
        .route("/notification-templates/{kind}/{language}", get(notification_pages::template_page).post(notification_pages::template_save))
        .route("/notification-templates/{kind}/{language}/reset", post(notification_pages::template_reset))
        .route("/intel", get(intel_pages::browse))
        .route("/intel/objects/{id}", get(intel_pages::object))
        .route("/intel/submit", get(intel_pages::submit_page).post(intel_pages::submit))
        .route("/intel/review", get(intel_pages::review_page))
        .route("/intel/review/{seq}/edit", post(intel_pages::review_edit))
        .route("/intel/review/{seq}/{action}", post(intel_pages::review))
        .route("/intel/groups", get(intel_pages::groups_page).post(intel_pages::create_group))
        .route("/intel/groups/{id}/{action}", post(intel_pages::group_member))
        .route("/intel/peers", get(intel_pages::peers_page))
        .route("/feeds", get(feed_pages::feeds_page))
        .route("/feeds/upload", post(feed_pages::upload).layer(axum::extract::DefaultBodyLimit::max(feed_pages::UPLOAD_BODY_LIMIT)))
        .route("/feeds/quarantine/{id}", get(feed_pages::quarantine_entry))
        .route("/feeds/quarantine/{id}/replay", post(feed_pages::replay))
        .layer(axum::middleware::from_fn(expire_flash))
}

/// A flash message is shown once: a page rendered while the request carried one
/// expires it, unless the response sets a new one.
async fn expire_flash(request: Request, next: axum::middleware::Next) -> Response {
    let had_flash = cookies::get(request.headers(), FLASH_COOKIE).is_some();
    let mut response = next.run(request).await;
    let is_page = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    let sets_flash = response.headers().get_all(header::SET_COOKIE).iter().any(|v| v.as_bytes().starts_with(FLASH_COOKIE.as_bytes()));
    if had_flash && is_page && !sets_flash {
        if let Ok(v) = cookies::clear(FLASH_COOKIE, false).parse() {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// Where a request stands with respect to signing in.
pub enum Stage {
    Anonymous,
    /// Password accepted; the TOTP code is still due.
    NeedsSecondFactor(Session, Principal),
    /// Signed in, but staff must enrol TOTP first (when the configuration says so).
    NeedsEnrolment(Session, Principal),
    Complete(Session, Principal),
}

pub async fn stage(state: &AppState, headers: &HeaderMap) -> Result<Stage, ApiError> {
    Ok(match auth::session_from_headers(state, headers).await? {
        None => Stage::Anonymous,
        Some((s, p)) if !s.second_factor_done => Stage::NeedsSecondFactor(s, p),
        Some((s, p)) if !auth::session_complete(state, &s, &p) => Stage::NeedsEnrolment(s, p),
        Some((s, p)) => Stage::Complete(s, p),
    })
}

/// The signed-in session, or a redirect to where the user must go first.
pub async fn require_complete(state: &AppState, headers: &HeaderMap) -> Result<(Session, Principal), Response> {
    match stage(state, headers).await {
        Ok(Stage::Complete(s, p)) => Ok((s, p)),
        Ok(Stage::NeedsSecondFactor(..)) => Err(Redirect::to("/login/totp").into_response()),
        Ok(Stage::NeedsEnrolment(..)) => Err(Redirect::to("/account/totp").into_response()),
        Ok(Stage::Anonymous) => Err(Redirect::to("/login").into_response()),
        Err(e) => Err(error_page(state, headers, None, e.status, "error.internal")),
    }
}

/// The language for this request: the user's setting, the language cookie, the
/// browser's preference, then the configured default.
pub fn language(state: &AppState, headers: &HeaderMap, principal: Option<&Principal>) -> &'static str {
    let from_user = principal.and_then(|p| p.user.locale.clone());
    let from_cookie = cookies::get(headers, LANG_COOKIE);
    let from_browser =
        headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(crate::i18n::negotiate).map(String::from);
    let chosen = from_user.or(from_cookie).or(from_browser).unwrap_or_else(|| state.settings.default_locale.clone());
    crate::i18n::catalog(&chosen).lang
}

pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

pub fn error_page(state: &AppState, headers: &HeaderMap, principal: Option<&Principal>, status: StatusCode, message_key: &str) -> Response {
    let lang = language(state, headers, principal);
    let page = PageCtx::new(lang, String::new(), principal, None, "title.error", principal.is_some());
    let message = page.t(message_key).to_string();
    render(status, &pages::ErrorPage { page, status: status.as_u16(), message })
}

/// A failure behind a page: logged with its cause, shown as a plain internal error.
pub fn internal_error(state: &AppState, headers: &HeaderMap, principal: &Principal, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "page failed");
    error_page(state, headers, Some(principal), StatusCode::INTERNAL_SERVER_ERROR, "error.internal")
}

/// Unknown paths: a problem document under `/api`, a page elsewhere.
pub async fn not_found(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    if uri.path().starts_with("/api/") {
        return ApiError::not_found("endpoint").into_response();
    }
    error_page(&state, &headers, None, StatusCode::NOT_FOUND, "error.not_found")
}

/// A form body; a malformed one gets an error page, not a bare rejection.
pub struct UiForm<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<AppState> for UiForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(UiForm(value)),
            Err(rejection) => {
                let status = match &rejection {
                    FormRejection::BytesRejection(b) => b.status(),
                    FormRejection::InvalidFormContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    _ => StatusCode::BAD_REQUEST,
                };
                Err(error_page(state, &headers, None, status, "error.bad_request"))
            }
        }
    }
}

/// The CSRF token for pages shown before sign-in (double-submit cookie), and the
/// `Set-Cookie` header to send if it is new.
pub fn anonymous_csrf(state: &AppState, headers: &HeaderMap) -> (String, Option<(HeaderName, String)>) {
    match cookies::get(headers, ANON_CSRF_COOKIE) {
        Some(existing) => (existing, None),
        None => {
            let token = new_secret("");
            let cookie = cookies::set(ANON_CSRF_COOKIE, &token, 3600 * 12, state.settings.cookies_secure());
            (token, Some((header::SET_COOKIE, cookie)))
        }
    }
}

pub fn anonymous_csrf_ok(headers: &HeaderMap, submitted: &str) -> bool {
    cookies::get(headers, ANON_CSRF_COOKIE).is_some_and(|c| constant_time_eq(c.as_bytes(), submitted.as_bytes()))
}

pub fn session_csrf_ok(session: &Session, submitted: &str) -> bool {
    constant_time_eq(session.csrf_token.as_bytes(), submitted.as_bytes())
}

/// A message for the next page, carried in a short-lived cookie (post/redirect/get).
pub fn flash_cookie(state: &AppState, kind: &str, key: &str) -> (HeaderName, String) {
    (header::SET_COOKIE, cookies::set(FLASH_COOKIE, &format!("{kind}:{key}"), 60, state.settings.cookies_secure()))
}

/// Redirects with a flash message.
pub fn redirect_with_flash(state: &AppState, to: &str, kind: &str, key: &str) -> Response {
    ([flash_cookie(state, kind, key)], Redirect::to(to)).into_response()
}

/// Separates the arguments of a flash detail that fills `{0}`, `{1}` … in the message.
pub const FLASH_ARG_SEP: char = '\u{1f}';
/// The longest flash cookie value that [`cookies::get`] accepts.
const FLASH_COOKIE_MAX: usize = 256;
/// Hex digits of a flash detail's authentication tag.
const FLASH_TAG_HEX: usize = 24;

/// Arguments for a flash message with placeholders, as one detail string.
pub fn flash_args(args: &[&str]) -> String {
    let sep = FLASH_ARG_SEP.to_string();
    args.iter().map(|a| a.replace(FLASH_ARG_SEP, " ")).collect::<Vec<_>>().join(sep.as_str())
}

/// Redirects with a flash message that carries a detail in the service's own words
/// (why an input was refused, what overlaps), or the arguments of its placeholders.
/// The detail is authenticated with the session cookie, so nobody else can put text
/// on a page through the flash cookie. Without a session only the message is kept.
pub fn redirect_with_flash_detail(state: &AppState, headers: &HeaderMap, to: &str, kind: &str, key: &str, detail: &str) -> Response {
    let Some(secret) = cookies::get(headers, auth::SESSION_COOKIE) else {
        return redirect_with_flash(state, to, kind, key);
    };
    let overhead = kind.len() + key.len() + 3 + FLASH_TAG_HEX;
    let detail = clip_utf8(detail.trim(), FLASH_COOKIE_MAX.saturating_sub(overhead) * 3 / 4);
    let encoded = data_encoding::BASE64URL_NOPAD.encode(detail.as_bytes());
    let tag = flash_tag(&secret, kind, key, &encoded);
    let value = format!("{kind}:{key}:{encoded}:{tag}");
    ([(header::SET_COOKIE, cookies::set(FLASH_COOKIE, &value, 60, state.settings.cookies_secure()))], Redirect::to(to)).into_response()
}

/// At most `max` bytes of `s`, cut at a character boundary and marked when cut.
fn clip_utf8(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn flash_tag(secret: &str, kind: &str, key: &str, encoded: &str) -> String {
    let mac = hmac_sha256(secret.as_bytes(), &[kind.as_bytes(), b":", key.as_bytes(), b":", encoded.as_bytes()]);
    data_encoding::HEXLOWER.encode(&mac[..FLASH_TAG_HEX / 2])
}

/// HMAC-SHA256 over the concatenation of `parts`.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The detail of a flash cookie, if its tag proves this server set it for this session.
fn verified_detail(headers: &HeaderMap, kind: &str, key: &str, encoded: &str, tag: &str) -> Option<String> {
    let secret = cookies::get(headers, auth::SESSION_COOKIE)?;
    if !constant_time_eq(flash_tag(&secret, kind, key, encoded).as_bytes(), tag.as_bytes()) {
        return None;
    }
    let bytes = data_encoding::BASE64URL_NOPAD.decode(encoded.as_bytes()).ok()?;
    String::from_utf8(bytes).ok()
}

/// Puts a detail into a message: its arguments into `{0}`, `{1}` …, or after the message.
fn fill_flash(message: &str, detail: &str) -> String {
    if message.contains("{0}") {
        detail.split(FLASH_ARG_SEP).enumerate().fold(message.to_string(), |text, (i, arg)| text.replace(&format!("{{{i}}}"), arg))
    } else {
        format!("{message} {detail}")
    }
}

/// Reads the flash cookie. The message is always a catalog text, so it cannot inject
/// text; a detail is shown only when its tag proves this server set it.
pub fn take_flash(headers: &HeaderMap, lang: &str) -> Option<pages::Flash> {
    let raw = cookies::get(headers, FLASH_COOKIE)?;
    let mut parts = raw.split(':');
    let (kind, key) = (parts.next()?, parts.next()?);
    let detail = match (parts.next(), parts.next()) {
        (None, _) => None,
        (Some(encoded), Some(tag)) => Some(verified_detail(headers, kind, key, encoded, tag)?),
        (Some(_), None) => return None,
    };
    let catalog = crate::i18n::catalog(lang);
    if !catalog.has(key) {
        return None;
    }
    let text = catalog.get(key);
    let message = match detail {
        Some(detail) => fill_flash(text, &detail),
        None if text.contains("{0}") => return None,
        None => text.to_string(),
    };
    let kind = match kind {
        "ok" => "ok",
        "warn" => "warn",
        _ => "error",
    };
    Some(pages::Flash { kind: kind.to_string(), message })
}

/// Renders a page, with one extra header (a cookie) when given.
pub fn render_page<T: Template>(status: StatusCode, page: &T, extra: Option<(HeaderName, String)>) -> Response {
    let mut response = render(status, page);
    if let Some((name, value)) = extra {
        if let Ok(v) = value.parse() {
            response.headers_mut().append(name, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn templates() -> Vec<(String, String)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut all: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "html"))
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
            .collect();
        all.sort();
        all
    }

    /// Removes `{{ … }}`, `{% … %}`, `{# … #}`, tags and entities, leaving the text a
    /// template would show of its own accord.
    fn literal_text(template: &str) -> String {
        let mut out = String::new();
        let mut rest = template;
        while !rest.is_empty() {
            let next = ["{{", "{%", "{#", "<", "&"].iter().filter_map(|m| rest.find(m).map(|i| (i, *m))).min();
            let Some((i, marker)) = next else {
                out.push_str(rest);
                break;
            };
            out.push_str(&rest[..i]);
            let close = match marker {
                "{{" => "}}",
                "{%" => "%}",
                "{#" => "#}",
                "<" => ">",
                _ => ";",
            };
            rest = match rest[i..].find(close) {
                Some(j) => &rest[i + j + close.len()..],
                None => "",
            };
        }
        out
    }

    #[test]
    fn templates_hold_no_user_visible_text_of_their_own() {
        for (name, source) in templates() {
            // Text between tags, and the attributes people read.
            let text = literal_text(&source);
            let letters: String = text.chars().filter(|c| c.is_alphabetic()).collect();
            assert!(
                letters.is_empty(),
                "{name} hard-codes visible text: {:?}",
                text.split_whitespace().filter(|w| w.chars().any(char::is_alphabetic)).collect::<Vec<_>>()
            );
            for attr in ["placeholder=\"", "title=\"", "aria-label=\"", "alt=\""] {
                for (i, _) in source.match_indices(attr) {
                    let value = &source[i + attr.len()..];
                    let value = &value[..value.find('"').unwrap_or(0)];
                    assert!(value.is_empty() || value.trim_start().starts_with("{{"), "{name}: {attr}{value}\" is not translated");
                }
            }
        }
    }

    #[test]
    fn every_key_a_template_uses_is_in_both_catalogs() {
        for (name, source) in templates() {
            for (i, _) in source.match_indices("page.t(\"") {
                let key = &source[i + 8..];
                let key = &key[..key.find('"').unwrap()];
                for lang in crate::i18n::LANGUAGES {
                    assert!(crate::i18n::catalog(lang).has(key), "{name}: {key} missing from {lang}");
                }
            }
        }
    }

    #[test]
    fn the_checker_sees_hard_coded_text() {
        assert_eq!(literal_text("<p>{{ page.t(\"a\") }}</p>").trim(), "");
        assert!(literal_text("<p>Sign in</p>").contains("Sign in"));
        assert!(literal_text("<b>{% if x %}Hello{% endif %}</b>").contains("Hello"));
    }
}
