//! The constituency registry in the browser: the organisation directory, "who is
//! responsible?", and an organisation's page with its contacts, assets and claims,
//! incidents, and the notifications sent to it.

use super::pages::Opt;
use super::{
    error_page, internal_error, redirect_with_flash, redirect_with_flash_detail, render_page, require_complete, session_csrf_ok, PageCtx,
    UiForm,
};
use crate::auth::Principal;
use crate::service::incidents as incident_svc;
use crate::service::registry as svc;
use crate::service::routing::{self, RouteReport};
use crate::service::ServiceError;
use crate::time::display;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use rampart_core::constituency::resolve::{AssetKind, AssetSource};
use rampart_core::notification::NotificationStatus;
use rampart_core::org::Organisation;
use rampart_core::policy::{self, Action};
use rampart_core::registry::{AssetStatus, Contact, ContactRole, NewAsset, NewContact, LANGUAGES};
use rampart_core::sectors;
use rampart_store::notifications::NotificationFilter;
use rampart_store::{Actor, IncidentFilter, StoreError};
use serde::Deserialize;
use uuid::Uuid;

/// How many incidents and notifications an organisation's page lists.
const RECENT: i64 = 50;

#[derive(Debug, Clone)]
pub struct DirectoryRow {
    pub id: String,
    pub name: String,
    pub type_label: String,
    pub country: String,
    pub sector_label: String,
}

/// One contact as a lookup shows it.
#[derive(Debug, Clone)]
pub struct ContactLine {
    pub role_label: String,
    pub name: String,
    pub email: String,
    pub phone: String,
}

#[derive(Debug, Clone)]
pub struct RoutedRow {
    pub id: String,
    pub name: String,
    pub reason: String,
    pub contacts: Vec<ContactLine>,
}

/// The answer to "who is responsible?".
#[derive(Debug, Clone)]
pub struct LookupView {
    pub query: String,
    pub kind_label: String,
    /// `AS3462`, or empty.
    pub asn: String,
    pub country: String,
    /// The rule that decided, in the resolver's words.
    pub rule: String,
    pub tie: bool,
    pub orgs: Vec<RoutedRow>,
}

/// `GET /directory` and `GET /directory/lookup`.
#[derive(Template)]
#[template(path = "directory.html")]
pub struct DirectoryPage {
    pub page: PageCtx,
    pub q: String,
    pub rows: Vec<DirectoryRow>,
    /// False on the lookup page, which shows only the answer.
    pub show_list: bool,
    pub can_lookup: bool,
    pub lookup_q: String,
    pub lookup: Option<LookupView>,
    /// Why the query was not understood, in the resolver's words.
    pub lookup_error: String,
}

#[derive(Debug, Clone)]
pub struct ContactRow {
    pub id: String,
    pub role_label: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub language_label: String,
    /// Grouped in fours for reading aloud; empty without a key.
    pub fingerprint: String,
    pub key_expires: String,
    pub key_expired: bool,
}

#[derive(Debug, Clone)]
pub struct AssetRow {
    pub id: String,
    pub kind_label: String,
    pub value: String,
    pub is_domain: bool,
    pub subdomains: bool,
    pub source_label: String,
    pub status: String,
    pub status_label: String,
    pub status_class: String,
    pub validity: String,
    pub comment: String,
    pub can_decide: bool,
    pub can_delete: bool,
}

#[derive(Debug, Clone)]
pub struct OrgIncidentRow {
    pub id: String,
    pub reference: String,
    pub title: String,
    pub status: String,
    pub status_label: String,
    /// The incident page is for staff; others see the reference only.
    pub linked: bool,
}

#[derive(Debug, Clone)]
pub struct OrgNotificationRow {
    pub id: String,
    pub reference: String,
    pub subject: String,
    pub status_label: String,
    pub status_class: String,
    pub created: String,
    pub sent: String,
}

/// `GET /organisations/{id}`.
#[derive(Template)]
#[template(path = "organisation.html")]
pub struct OrgPage {
    pub page: PageCtx,
    pub id: String,
    pub name: String,
    pub type_label: String,
    pub sector_label: String,
    pub country: String,
    pub parent_name: String,
    pub contacts: Vec<ContactRow>,
    pub can_edit_contacts: bool,
    pub role_opts: Vec<Opt>,
    pub language_opts: Vec<Opt>,
    pub default_language: String,
    pub assets: Vec<AssetRow>,
    pub can_add_assets: bool,
    /// The caller claims (for approval) rather than records.
    pub claims_only: bool,
    pub pending_count: usize,
    pub incidents: Vec<OrgIncidentRow>,
    pub notifications: Vec<OrgNotificationRow>,
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// A form that carries nothing but its CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

fn forbidden(state: &AppState, headers: &HeaderMap, principal: &Principal) -> Response {
    error_page(state, headers, Some(principal), StatusCode::FORBIDDEN, "error.forbidden")
}

fn not_found(state: &AppState, headers: &HeaderMap, principal: &Principal) -> Response {
    error_page(state, headers, Some(principal), StatusCode::NOT_FOUND, "error.not_found")
}

/// A service's refusal as the user sees it: what they can correct goes back to the
/// form in a flash, with the service's reason; what they may not do, or what is
/// gone, gets the error page.
fn refused(state: &AppState, headers: &HeaderMap, principal: &Principal, back: &str, key: &str, e: ServiceError) -> Response {
    match e {
        ServiceError::Invalid(why) | ServiceError::Store(StoreError::Invalid(why) | StoreError::Conflict(why)) => {
            redirect_with_flash_detail(state, headers, back, "error", key, &why)
        }
        ServiceError::Forbidden(_) => forbidden(state, headers, principal),
        ServiceError::Store(StoreError::NotFound) => not_found(state, headers, principal),
        e => internal_error(state, headers, principal, e),
    }
}

/// At most `max` characters of a query.
fn clip(s: &str, max: usize) -> String {
    s.trim().chars().take(max).collect()
}

fn language_label(page: &PageCtx, language: &str) -> String {
    match language {
        "en" => page.t("lang.en").to_string(),
        "zh-TW" => page.t("lang.zh_tw").to_string(),
        other => other.to_string(),
    }
}

fn source_label(page: &PageCtx, source: &AssetSource) -> String {
    match source {
        AssetSource::Manual => page.t("asset_source.manual").to_string(),
        AssetSource::Imported(name) => format!("{} {name}", page.t("asset_source.imported")),
    }
}

fn asset_status_class(status: AssetStatus) -> &'static str {
    match status {
        AssetStatus::Active => "badge-ok",
        AssetStatus::Pending => "badge-warn",
        AssetStatus::Rejected => "badge-error",
    }
}

pub(crate) fn notification_status_class(status: NotificationStatus) -> &'static str {
    match status {
        NotificationStatus::Sent => "badge-ok",
        NotificationStatus::Queued | NotificationStatus::Sending => "badge-neutral",
        NotificationStatus::Deferred => "badge-warn",
        NotificationStatus::Bounced | NotificationStatus::Failed => "badge-error",
    }
}

/// `from … until …`, either side left out when open; empty when always valid.
fn validity(page: &PageCtx, from: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>, zone: &str) -> String {
    let mut parts = Vec::new();
    if let Some(from) = from {
        parts.push(format!("{} {}", page.t("asset.valid_from"), display(from, zone)));
    }
    if let Some(until) = until {
        parts.push(format!("{} {}", page.t("asset.valid_until"), display(until, zone)));
    }
    parts.join(" ")
}

/// `ABCD 1234 …`: a fingerprint as people compare it.
fn grouped(fingerprint: &str) -> String {
    let chars: Vec<char> = fingerprint.chars().filter(|c| !c.is_whitespace()).collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

fn contact_line(page: &PageCtx, c: &Contact) -> ContactLine {
    ContactLine {
        role_label: page.t(&format!("contact_role.{}", c.role)).to_string(),
        name: c.name.clone().unwrap_or_default(),
        email: c.email.clone().unwrap_or_default(),
        phone: c.phone.clone().unwrap_or_default(),
    }
}

fn directory_rows(page: &PageCtx, orgs: &[Organisation]) -> Vec<DirectoryRow> {
    orgs.iter()
        .map(|o| DirectoryRow {
            id: o.id.to_string(),
            name: o.name.clone(),
            type_label: page.t(&format!("org_type.{}", o.org_type)).to_string(),
            country: o.country.clone(),
            sector_label: o.sector.as_deref().and_then(sectors::find).map(|s| s.label(&page.lang).to_string()).unwrap_or_default(),
        })
        .collect()
}

fn lookup_view(page: &PageCtx, report: &RouteReport) -> LookupView {
    let answer = &report.answer;
    let orgs = report
        .organisations
        .iter()
        .map(|routed| {
            let reason = answer
                .matches
                .iter()
                .find(|m| m.org_id == routed.organisation.id)
                .map(|m| {
                    let source = m.source.as_ref().map(|s| format!(" ({})", source_label(page, s))).unwrap_or_default();
                    format!("{} {}{source}", page.t(&format!("match_via.{}", m.via)), m.matched)
                })
                .unwrap_or_else(|| routed.reason.clone());
            RoutedRow {
                id: routed.organisation.id.to_string(),
                name: routed.organisation.name.clone(),
                reason,
                contacts: routed.contacts.iter().map(|c| contact_line(page, c)).collect(),
            }
        })
        .collect();
    LookupView {
        query: answer.query.clone(),
        kind_label: page.t(&format!("query_kind.{}", answer.kind)).to_string(),
        asn: answer.asn.map(|n| format!("AS{n}")).unwrap_or_default(),
        country: answer.country.clone().unwrap_or_default(),
        rule: answer.reason.clone(),
        tie: answer.tie,
        orgs,
    }
}

/// `GET /directory?q=`: organisations by name, asset or contact address.
pub async fn directory(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<SearchQuery>) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let caller = principal.policy_caller();
    let q = clip(&query.q, 200);
    let found = match svc::search(&*state.store, &caller, &q).await {
        Ok(found) => found,
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.directory", true);
    let rows = directory_rows(&page, &found);
    let view = DirectoryPage {
        page,
        q,
        rows,
        show_list: true,
        can_lookup: policy::may_route(&caller),
        lookup_q: String::new(),
        lookup: None,
        lookup_error: String::new(),
    };
    render_page(StatusCode::OK, &view, None)
}

/// `GET /directory/lookup?q=`: who is responsible for an address, prefix, AS or domain.
pub async fn lookup(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<SearchQuery>) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let caller = principal.policy_caller();
    if !policy::may_route(&caller) {
        return forbidden(&state, &headers, &principal);
    }
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.directory", true);
    let q = clip(&query.q, 500);
    let (lookup, lookup_error) = if q.is_empty() {
        (None, String::new())
    } else {
        match routing::lookup(&*state.store, &state.route_index, &caller, &q).await {
            Ok(report) => (Some(lookup_view(&page, &report)), String::new()),
            Err(ServiceError::Invalid(why)) => (None, why),
            Err(ServiceError::Forbidden(_)) => return forbidden(&state, &headers, &principal),
            Err(e) => return internal_error(&state, &headers, &principal, e),
        }
    };
    let view =
        DirectoryPage { page, q: String::new(), rows: Vec::new(), show_list: false, can_lookup: true, lookup_q: q, lookup, lookup_error };
    render_page(StatusCode::OK, &view, None)
}

/// `GET /my-organisation`: the signed-in user's own organisation page.
pub async fn my_organisation(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match require_complete(&state, &headers).await {
        Ok((_, principal)) => Redirect::to(&format!("/organisations/{}", principal.org.id)).into_response(),
        Err(page) => page,
    }
}

/// `GET /organisations/{id}`.
pub async fn organisation(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<Uuid>) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let caller = principal.policy_caller();
    if !policy::may_read_registry_of(&caller, id) {
        return forbidden(&state, &headers, &principal);
    }
    let store = &*state.store;
    let org = match store.get_org(id).await {
        Ok(Some(org)) => org,
        Ok(None) => return not_found(&state, &headers, &principal),
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let contacts = match svc::contacts(store, &caller, id).await {
        Ok(c) => c,
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let assets = match svc::assets(store, &caller, id).await {
        Ok(a) => a,
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let filter = IncidentFilter { org_id: Some(id), limit: RECENT, ..Default::default() };
    let incidents = match store.incidents().list_incidents(&filter).await {
        Ok(i) => i,
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let filter = NotificationFilter { org_id: Some(id), limit: RECENT, ..Default::default() };
    let notifications = match store.notifications().notifications(&filter).await {
        Ok(n) => n,
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let parent_name = match org.parent_id {
        Some(parent) => store.get_org(parent).await.ok().flatten().map(|o| o.name).unwrap_or_default(),
        None => String::new(),
    };

    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.organisation", true);
    let zone = &state.settings.time_zone;
    let now = Utc::now();
    let coordinator = policy::may_coordinate(&caller);
    let claimant = policy::may_claim_assets_of(&caller, id);
    let staff = principal.user.is_staff();

    let contact_rows = contacts
        .iter()
        .map(|c| ContactRow {
            id: c.id.to_string(),
            role_label: page.t(&format!("contact_role.{}", c.role)).to_string(),
            name: c.name.clone().unwrap_or_default(),
            email: c.email.clone().unwrap_or_default(),
            phone: c.phone.clone().unwrap_or_default(),
            language_label: language_label(&page, &c.language),
            fingerprint: c.pgp_fingerprint.as_deref().map(grouped).unwrap_or_default(),
            key_expires: c.pgp_expires_at.map(|t| display(t, zone)).unwrap_or_default(),
            key_expired: c.pgp_expires_at.is_some_and(|t| t <= now),
        })
        .collect();
    let asset_rows: Vec<AssetRow> = assets
        .iter()
        .map(|a| {
            let pending = a.status == AssetStatus::Pending;
            AssetRow {
                id: a.id.to_string(),
                kind_label: page.t(&format!("asset_kind.{}", a.kind)).to_string(),
                value: a.value.clone(),
                is_domain: a.kind == AssetKind::Domain,
                subdomains: a.include_subdomains,
                source_label: source_label(&page, &a.source),
                status: a.status.to_string(),
                status_label: page.t(&format!("asset_status.{}", a.status)).to_string(),
                status_class: asset_status_class(a.status).to_string(),
                validity: validity(&page, a.valid_from, a.valid_until, zone),
                comment: a.comment.clone(),
                can_decide: coordinator && pending,
                can_delete: coordinator || (pending && claimant),
            }
        })
        .collect();
    let pending_count = assets.iter().filter(|a| a.status == AssetStatus::Pending).count();
    let incident_rows = incidents
        .iter()
        .filter(|i| incident_svc::may(&caller, Action::Read, &incident_svc::incident_resource(i, state.operator_org_id)))
        .map(|i| OrgIncidentRow {
            id: i.id.to_string(),
            reference: i.reference.clone(),
            title: i.title.clone(),
            status: i.status.to_string(),
            status_label: page.t(&format!("incident_status.{}", i.status)).to_string(),
            linked: staff,
        })
        .collect();
    let notification_rows = notifications
        .iter()
        .filter(|n| crate::service::notifications::may_read_notification(&caller, n))
        .map(|n| OrgNotificationRow {
            id: n.id.to_string(),
            reference: n.reference.clone(),
            subject: n.subject.clone(),
            status_label: page.t(&format!("notification_status.{}", n.status)).to_string(),
            status_class: notification_status_class(n.status).to_string(),
            created: display(n.created_at, zone),
            sent: n.sent_at.map(|t| display(t, zone)).unwrap_or_default(),
        })
        .collect();
    let role_opts =
        ContactRole::ALL.iter().map(|r| Opt { value: r.to_string(), label: page.t(&format!("contact_role.{r}")).to_string() }).collect();
    let language_opts = LANGUAGES.iter().map(|l| Opt { value: l.to_string(), label: language_label(&page, l) }).collect();
    let view = OrgPage {
        id: org.id.to_string(),
        name: org.name.clone(),
        type_label: page.t(&format!("org_type.{}", org.org_type)).to_string(),
        sector_label: org.sector.as_deref().and_then(sectors::find).map(|s| s.label(&page.lang).to_string()).unwrap_or_default(),
        country: org.country.clone(),
        parent_name,
        contacts: contact_rows,
        can_edit_contacts: policy::may_edit_contacts_of(&caller, id),
        role_opts,
        language_opts,
        default_language: if org.country == "TW" { "zh-TW".to_string() } else { "en".to_string() },
        assets: asset_rows,
        can_add_assets: coordinator || claimant,
        claims_only: !coordinator && claimant,
        pending_count,
        incidents: incident_rows,
        notifications: notification_rows,
        page,
    };
    render_page(StatusCode::OK, &view, None)
}

#[derive(Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    pgp_key: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /organisations/{id}/contacts`.
pub async fn add_contact(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    UiForm(form): UiForm<ContactForm>,
) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let back = format!("/organisations/{id}");
    if !session_csrf_ok(&session, &form.csrf) {
        return redirect_with_flash(&state, &back, "error", "flash.csrf");
    }
    let Ok(role) = form.role.parse::<ContactRole>() else {
        return redirect_with_flash(&state, &back, "error", "flash.invalid_input");
    };
    // Empty fields become absent when the contact is checked.
    let new = NewContact {
        role,
        name: Some(form.name),
        email: Some(form.email),
        phone: Some(form.phone),
        language: form.language,
        pgp_key: Some(form.pgp_key),
    };
    let actor = Actor::User(principal.user.id);
    match svc::add_contact(&*state.store, &principal.policy_caller(), &actor, id, new).await {
        Ok(_) => redirect_with_flash(&state, &back, "ok", "flash.contact_added"),
        Err(e) => refused(&state, &headers, &principal, &back, "flash.contact_refused", e),
    }
}

/// `POST /contacts/{id}/delete`.
pub async fn delete_contact(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    UiForm(form): UiForm<CsrfForm>,
) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let caller = principal.policy_caller();
    let contact = match state.store.registry().get_contact(id).await {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(&state, &headers, &principal),
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    if !policy::may_edit_contacts_of(&caller, contact.org_id) {
        return forbidden(&state, &headers, &principal);
    }
    let back = format!("/organisations/{}", contact.org_id);
    if !session_csrf_ok(&session, &form.csrf) {
        return redirect_with_flash(&state, &back, "error", "flash.csrf");
    }
    match svc::delete_contact(&*state.store, &caller, &Actor::User(principal.user.id), id).await {
        Ok(()) => redirect_with_flash(&state, &back, "ok", "flash.contact_deleted"),
        Err(e) => refused(&state, &headers, &principal, &back, "flash.contact_refused", e),
    }
}

#[derive(Deserialize)]
pub struct AssetForm {
    #[serde(default)]
    value: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    include_subdomains: Option<String>,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /organisations/{id}/assets`: coordinators record, the organisation's
/// administrators claim for approval.
pub async fn add_asset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    UiForm(form): UiForm<AssetForm>,
) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let back = format!("/organisations/{id}");
    if !session_csrf_ok(&session, &form.csrf) {
        return redirect_with_flash(&state, &back, "error", "flash.csrf");
    }
    let new = NewAsset {
        value: form.value,
        kind: None,
        include_subdomains: Some(form.include_subdomains.is_some()),
        valid_from: None,
        valid_until: None,
        comment: form.comment,
    };
    let actor = Actor::User(principal.user.id);
    match svc::add_asset(&*state.store, &state.route_index, &principal.policy_caller(), &actor, id, new).await {
        Ok(outcome) => {
            let claimed = outcome.asset.status == AssetStatus::Pending;
            if outcome.overlaps.is_empty() {
                let key = if claimed { "flash.asset_claimed" } else { "flash.asset_added" };
                redirect_with_flash(&state, &back, "ok", key)
            } else {
                let key = if claimed { "flash.asset_claimed_overlaps" } else { "flash.asset_added_overlaps" };
                redirect_with_flash_detail(&state, &headers, &back, "warn", key, &outcome.overlaps.join("; "))
            }
        }
        Err(e) => refused(&state, &headers, &principal, &back, "flash.asset_refused", e),
    }
}

/// `POST /assets/{id}/{approve|reject|delete}`.
pub async fn asset_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, action)): Path<(Uuid, String)>,
    UiForm(form): UiForm<CsrfForm>,
) -> Response {
    let (session, principal) = match require_complete(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    if !matches!(action.as_str(), "approve" | "reject" | "delete") {
        return not_found(&state, &headers, &principal);
    }
    let caller = principal.policy_caller();
    let asset = match state.store.registry().get_asset(id).await {
        Ok(Some(a)) => a,
        Ok(None) => return not_found(&state, &headers, &principal),
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    if !policy::may_read_registry_of(&caller, asset.org_id) {
        return forbidden(&state, &headers, &principal);
    }
    let back = format!("/organisations/{}", asset.org_id);
    if !session_csrf_ok(&session, &form.csrf) {
        return redirect_with_flash(&state, &back, "error", "flash.csrf");
    }
    let (store, index, actor) = (&*state.store, &*state.route_index, Actor::User(principal.user.id));
    let outcome = match action.as_str() {
        "approve" => svc::decide_claim(store, index, &caller, &actor, id, true).await.map(|_| "flash.claim_approved"),
        "reject" => svc::decide_claim(store, index, &caller, &actor, id, false).await.map(|_| "flash.claim_rejected"),
        _ => svc::delete_asset(store, index, &caller, &actor, id).await.map(|()| "flash.asset_deleted"),
    };
    match outcome {
        Ok(key) => redirect_with_flash(&state, &back, "ok", key),
        Err(e) => refused(&state, &headers, &principal, &back, "flash.asset_action_refused", e),
    }
}
