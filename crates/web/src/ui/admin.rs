//! Administration of organisations and users.

use super::pages::{Opt, OrgRow, OrgsPage, UserRow, UsersPage};
use super::{error_page, internal_error, redirect_with_flash, render_page, require_complete, session_csrf_ok, PageCtx, UiForm};
use crate::auth::Principal;
use crate::service::accounts::{self, CreateUser};
use crate::service::{orgs, ServiceError};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use rampart_core::account::Role;
use rampart_core::org::{NewOrganisation, OrgType};
use rampart_core::{policy, sectors};
use rampart_store::{Actor, Session, StoreError};
use serde::Deserialize;
use std::collections::HashMap;

/// An administrator's complete session, or the page to show instead.
async fn admin_session(state: &AppState, headers: &HeaderMap) -> Result<(Session, Principal), Response> {
    let (session, principal) = require_complete(state, headers).await?;
    if !policy::may_administer(&principal.policy_caller()) {
        return Err(error_page(state, headers, Some(&principal), StatusCode::FORBIDDEN, "error.forbidden"));
    }
    Ok((session, principal))
}

pub async fn orgs_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (session, principal) = match admin_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let all = match state.store.list_orgs().await {
        Ok(all) => all,
        Err(e) => return internal_error(&state, &headers, &principal, e),
    };
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.orgs", true);
    let names: HashMap<_, _> = all.iter().map(|o| (o.id, o.name.clone())).collect();
    let rows = all
        .iter()
        .map(|o| OrgRow {
            id: o.id.to_string(),
            name: o.name.clone(),
            type_label: page.t(&format!("org_type.{}", o.org_type)).to_string(),
            sector_label: o.sector.as_deref().and_then(sectors::find).map(|s| s.label(&page.lang).to_string()).unwrap_or_default(),
            country: o.country.clone(),
            parent_name: o.parent_id.and_then(|p| names.get(&p).cloned()).unwrap_or_default(),
        })
        .collect();
    let org_types =
        OrgType::ALL.iter().map(|t| Opt { value: t.to_string(), label: page.t(&format!("org_type.{t}")).to_string() }).collect();
    let sector_opts = sectors::all().iter().map(|s| Opt { value: s.code.clone(), label: s.label(&page.lang).to_string() }).collect();
    let parents = all.iter().map(|o| Opt { value: o.id.to_string(), label: o.name.clone() }).collect();
    let view = OrgsPage { page, orgs: rows, org_types, sectors: sector_opts, parents };
    render_page(StatusCode::OK, &view, None)
}

#[derive(Deserialize)]
pub struct OrgForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    org_type: String,
    #[serde(default)]
    sector: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    csrf: String,
}

pub async fn orgs_submit(State(state): State<AppState>, headers: HeaderMap, UiForm(form): UiForm<OrgForm>) -> Response {
    let (session, principal) = match admin_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let back = "/admin/orgs";
    if !session_csrf_ok(&session, &form.csrf) {
        return redirect_with_flash(&state, back, "error", "flash.csrf");
    }
    let (Ok(org_type), Ok(parent_id)) = (form.org_type.parse::<OrgType>(), optional_uuid(&form.parent_id)) else {
        return redirect_with_flash(&state, back, "error", "flash.invalid_input");
    };
    let new = NewOrganisation {
        name: form.name,
        org_type,
        sector: Some(form.sector).filter(|s| !s.is_empty()),
        country: if form.country.trim().is_empty() { "TW".into() } else { form.country },
        parent_id,
    };
    match orgs::create(&*state.store, Some(&principal.policy_caller()), &Actor::User(principal.user.id), new).await {
        Ok(_) => redirect_with_flash(&state, back, "ok", "flash.org_created"),
        Err(ServiceError::Invalid(_) | ServiceError::Store(StoreError::Conflict(_) | StoreError::Invalid(_))) => {
            redirect_with_flash(&state, back, "error", "flash.invalid_input")
        }
        Err(e) => internal_error(&state, &headers, &principal, e),
    }
}

fn optional_uuid(value: &str) -> Result<Option<uuid::Uuid>, uuid::Error> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        value.trim().parse().map(Some)
    }
}

pub async fn users_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (session, principal) = match admin_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let (users, all_orgs) = match (state.store.list_users(None).await, state.store.list_orgs().await) {
        (Ok(u), Ok(o)) => (u, o),
        (Err(e), _) | (_, Err(e)) => return internal_error(&state, &headers, &principal, e),
    };
    let page = PageCtx::for_user(&state, &headers, &session, &principal, "title.users", true);
    let names: HashMap<_, _> = all_orgs.iter().map(|o| (o.id, o.name.clone())).collect();
    let now = Utc::now();
    let rows = users
        .iter()
        .map(|u| UserRow {
            id: u.id.to_string(),
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            org_name: names.get(&u.org_id).cloned().unwrap_or_default(),
            role_labels: u.roles.iter().map(|r| page.t(&format!("role.{r}")).to_string()).collect::<Vec<_>>().join(", "),
            totp: u.totp_enabled,
            locked: u.is_locked(now) || u.disabled,
        })
        .collect();
    let orgs = all_orgs.iter().map(|o| Opt { value: o.id.to_string(), label: o.name.clone() }).collect();
    let roles = Role::ALL.iter().map(|r| Opt { value: r.to_string(), label: page.t(&format!("role.{r}")).to_string() }).collect();
    render_page(StatusCode::OK, &UsersPage { page, users: rows, orgs, roles }, None)
}

#[derive(Deserialize)]
pub struct UserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    org_id: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn users_submit(State(state): State<AppState>, headers: HeaderMap, UiForm(form): UiForm<UserForm>) -> Response {
    let (session, principal) = match admin_session(&state, &headers).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let back = "/admin/users";
    if !session_csrf_ok(&session, &form.csrf) {
        return redirect_with_flash(&state, back, "error", "flash.csrf");
    }
    let (Ok(org_id), Ok(role)) = (form.org_id.trim().parse(), form.role.parse::<Role>()) else {
        return redirect_with_flash(&state, back, "error", "flash.invalid_input");
    };
    if rampart_core::account::check_password_policy(&form.password).is_err() {
        return redirect_with_flash(&state, back, "error", "flash.password_too_short");
    }
    let input = CreateUser {
        email: form.email,
        display_name: form.display_name,
        org_id,
        roles: vec![role],
        password: Some(form.password),
        locale: None,
    };
    match accounts::create_user(&*state.store, Some(&principal.policy_caller()), &Actor::User(principal.user.id), input).await {
        Ok(_) => redirect_with_flash(&state, back, "ok", "flash.user_created"),
        Err(
            ServiceError::Invalid(_) | ServiceError::Forbidden(_) | ServiceError::Store(StoreError::Conflict(_) | StoreError::Invalid(_)),
        ) => redirect_with_flash(&state, back, "error", "flash.invalid_input"),
        Err(e) => internal_error(&state, &headers, &principal, e),
    }
}
