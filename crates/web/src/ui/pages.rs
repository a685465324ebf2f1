//! The page structs the templates render. Each carries a [`PageCtx`].

use crate::auth::Principal;
use askama::Template;

#[derive(Debug, Clone)]
pub struct UserView {
    pub email: String,
    pub display_name: String,
    pub org_name: String,
    pub is_admin: bool,
    pub is_staff: bool,
}

#[derive(Debug, Clone)]
pub struct Flash {
    /// `ok` or `error`.
    pub kind: String,
    pub message: String,
}

/// What every page needs: language, CSRF token, the user, a message, the title.
#[derive(Debug, Clone)]
pub struct PageCtx {
    pub lang: String,
    pub csrf: String,
    pub user: Option<UserView>,
    pub flash: Option<Flash>,
    pub title_key: String,
    pub signed_in_fully: bool,
    catalog: &'static crate::i18n::Catalog,
}

impl PageCtx {
    pub fn new(
        lang: &str,
        csrf: String,
        principal: Option<&Principal>,
        flash: Option<Flash>,
        title_key: &str,
        signed_in_fully: bool,
    ) -> Self {
        let user = principal.map(|p| UserView {
            email: p.user.email.clone(),
            display_name: if p.user.display_name.is_empty() { p.user.email.clone() } else { p.user.display_name.clone() },
            org_name: p.org.name.clone(),
            is_admin: p.user.has(rampart_core::account::Role::Admin),
            is_staff: p.user.is_staff(),
        });
        let catalog = crate::i18n::catalog(lang);
        Self { lang: catalog.lang.to_string(), csrf, user, flash, title_key: title_key.to_string(), signed_in_fully, catalog }
    }

    /// The context for a signed-in user's page: their language, the session's CSRF
    /// token, any flash message waiting.
    pub fn for_user(
        state: &crate::AppState,
        headers: &axum::http::HeaderMap,
        session: &rampart_store::Session,
        principal: &Principal,
        title_key: &str,
        signed_in_fully: bool,
    ) -> Self {
        let lang = super::language(state, headers, Some(principal));
        let flash = super::take_flash(headers, lang);
        Self::new(lang, session.csrf_token.clone(), Some(principal), flash, title_key, signed_in_fully)
    }

    /// Translated text for a catalog key.
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.catalog.get(key)
    }
}

#[derive(Debug, Clone)]
pub struct Opt {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub page: PageCtx,
    pub email: String,
}

#[derive(Template)]
#[template(path = "login_totp.html")]
pub struct TotpChallengePage {
    pub page: PageCtx,
}

#[derive(Template)]
#[template(path = "totp_enrol.html")]
pub struct TotpEnrolPage {
    pub page: PageCtx,
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
    pub enabled: bool,
    pub required: bool,
}

#[derive(Template)]
#[template(path = "password.html")]
pub struct PasswordPage {
    pub page: PageCtx,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub page: PageCtx,
    pub org_name: String,
    pub org_type_label: String,
    pub role_labels: Vec<String>,
    pub totp_enabled: bool,
}

#[derive(Template)]
#[template(path = "setup.html")]
pub struct SetupPage {
    pub page: PageCtx,
    pub token: String,
    pub operator_name: String,
}

#[derive(Debug, Clone)]
pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub type_label: String,
    pub sector_label: String,
    pub country: String,
    pub parent_name: String,
}

#[derive(Template)]
#[template(path = "admin_orgs.html")]
pub struct OrgsPage {
    pub page: PageCtx,
    pub orgs: Vec<OrgRow>,
    pub org_types: Vec<Opt>,
    pub sectors: Vec<Opt>,
    pub parents: Vec<Opt>,
}

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub org_name: String,
    pub role_labels: String,
    pub totp: bool,
    pub locked: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
pub struct UsersPage {
    pub page: PageCtx,
    pub users: Vec<UserRow>,
    pub orgs: Vec<Opt>,
    pub roles: Vec<Opt>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub page: PageCtx,
    pub status: u16,
    pub message: String,
}
