//! The REST API under `/api/v1`. The OpenAPI document is generated from these
//! handlers' annotations and served at `/api/v1/openapi.json`.

mod accounts;
mod audit;
mod feeds;
mod incidents;
mod intel;
mod notifications;
mod orgs;
mod registry;
mod work;

use crate::problem::{ApiError, Problem};
use crate::AppState;
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Rampart API", description = "The REST API of Rampart, the operations platform of a national CERT. \
        Authenticate with `Authorization: Bearer <token>` (create tokens with `rampart admin token create` or `POST /api/v1/tokens`). \
        Errors are RFC 9457 problem documents with a stable `code`.", license(name = "Apache-2.0")),
    paths(
        accounts::me, accounts::list_users, accounts::create_user, accounts::list_tokens, accounts::create_token, accounts::revoke_token,
        orgs::list_orgs, orgs::create_org, orgs::get_org, orgs::list_sectors,
        audit::audit_log,
        incidents::create_reports, incidents::list_reports, incidents::get_report, incidents::triage_report,
        incidents::create_incident, incidents::list_incidents, incidents::get_incident, incidents::update_incident, incidents::set_status,
        incidents::set_milestone, incidents::deadlines, incidents::observables, incidents::timeline, incidents::add_note, incidents::related, incidents::export, incidents::send_mail, incidents::evidence,
        work::list_tasks, work::add_task, work::update_task, work::list_investigations, work::add_investigation, work::investigation_status,
        work::list_countermeasures, work::add_countermeasure, work::countermeasure_status, work::link, work::merge, work::list_teams, work::create_team, work::add_team_member,
        registry::lookup, registry::directory, registry::list_contacts, registry::add_contact, registry::update_contact, registry::delete_contact,
        registry::list_assets, registry::add_asset, registry::pending_assets, registry::decide_claim, registry::delete_asset,
        registry::list_peers, registry::upsert_peer, registry::import_registry, registry::import_routing_table,
        notifications::list_templates, notifications::save_template, notifications::reset_template,
        notifications::list_rules, notifications::add_rule, notifications::delete_rule,
        notifications::create_directives, notifications::notify_incident, notifications::list_notifications, notifications::get_notification,
        notifications::notification_message, notifications::flush,
        feeds::upload, feeds::quarantine, feeds::counts, feeds::replay,
        intel::list_sharing_groups, intel::create_sharing_group, intel::add_member, intel::remove_member,
        intel::submit, intel::list, intel::get_object, intel::review_queue, intel::review, intel::trust_publisher, intel::distrust_publisher, intel::match_text,
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags((name = "accounts", description = "The caller, users and API tokens"),
         (name = "organisations", description = "The operator, constituents, members, peers and vendors"),
         (name = "audit", description = "The hash-chained audit log"),
         (name = "incidents", description = "Reports, incidents, deadline clocks, observables"),
         (name = "work", description = "Tasks, investigations, countermeasures, links and merges"),
         (name = "constituency", description = "Who is responsible: contacts, network assets, peers, routing, imports"),
         (name = "notifications", description = "Telling constituents: templates, rules, directives, the outbox"),
         (name = "feeds", description = "The feed pipeline: uploads, quarantine, counts"),
         (name = "intel", description = "The intelligence exchange: STIX objects, review, sharing groups (TAXII 2.1 at /taxii2/)")),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// The OpenAPI 3.1 document, as served.
pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().expect("the OpenAPI document serialises")
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(|| async { ([(axum::http::header::CONTENT_TYPE, "application/json")], openapi_json()) }))
        .route("/me", get(accounts::me))
        .route("/users", get(accounts::list_users).post(accounts::create_user))
        .route("/tokens", get(accounts::list_tokens).post(accounts::create_token))
        .route("/tokens/{id}", delete(accounts::revoke_token))
        .route("/organisations", get(orgs::list_orgs).post(orgs::create_org))
        .route("/organisations/{id}", get(orgs::get_org))
        .route("/sectors", get(orgs::list_sectors))
        .route("/sharing-groups", get(intel::list_sharing_groups).post(intel::create_sharing_group))
        .route("/sharing-groups/{id}/members/{org}", put(intel::add_member).delete(intel::remove_member))
        .route("/intel/objects", get(intel::list).post(intel::submit))
        .route("/intel/objects/{id}", get(intel::get_object))
        .route("/intel/review", get(intel::review_queue))
        .route("/intel/match", post(intel::match_text))
        .route("/intel/review/{seq}", post(intel::review))
        .route("/intel/publishers/{org}", put(intel::trust_publisher).delete(intel::distrust_publisher))
        .route("/audit", get(audit::audit_log))
        .route("/reports", get(incidents::list_reports).post(incidents::create_reports))
        .route("/reports/{id}", get(incidents::get_report))
        .route("/reports/{id}/triage", post(incidents::triage_report))
        .route("/incidents", get(incidents::list_incidents).post(incidents::create_incident))
        .route("/incidents/{id}", get(incidents::get_incident).patch(incidents::update_incident))
        .route("/incidents/{id}/status", post(incidents::set_status))
        .route("/incidents/{id}/milestones/{name}", put(incidents::set_milestone))
        .route("/incidents/{id}/deadlines", get(incidents::deadlines))
        .route("/incidents/{id}/observables", get(incidents::observables))
        .route("/incidents/{id}/timeline", get(incidents::timeline))
        .route("/incidents/{id}/notes", post(incidents::add_note))
        .route("/incidents/{id}/related", get(incidents::related))
        .route("/incidents/{id}/export", get(incidents::export))
        .route("/incidents/{id}/mail", post(incidents::send_mail))
        .route("/incidents/{id}/evidence", get(incidents::evidence))
        .route("/incidents/{id}/tasks", get(work::list_tasks).post(work::add_task))
        .route("/tasks/{id}", patch(work::update_task))
        .route("/incidents/{id}/investigations", get(work::list_investigations).post(work::add_investigation))
        .route("/investigations/{id}/status", post(work::investigation_status))
        .route("/incidents/{id}/countermeasures", get(work::list_countermeasures).post(work::add_countermeasure))
        .route("/countermeasures/{id}/status", post(work::countermeasure_status))
        .route("/incidents/{id}/links", post(work::link))
        .route("/incidents/{id}/merge", post(work::merge))
        .route("/teams", get(work::list_teams).post(work::create_team))
        .route("/teams/{id}/members", post(work::add_team_member))
        .route("/constituency/lookup", get(registry::lookup))
        .route("/directory", get(registry::directory))
        .route("/organisations/{id}/contacts", get(registry::list_contacts).post(registry::add_contact))
        .route("/contacts/{id}", put(registry::update_contact).delete(registry::delete_contact))
        .route("/organisations/{id}/assets", get(registry::list_assets).post(registry::add_asset))
        .route("/assets/pending", get(registry::pending_assets))
        .route("/assets/{id}/decision", post(registry::decide_claim))
        .route("/assets/{id}", delete(registry::delete_asset))
        .route("/peers", get(registry::list_peers).post(registry::upsert_peer))
        .route("/imports/registry", post(registry::import_registry))
        .route("/imports/routing", post(registry::import_routing_table))
        .route("/notification-templates", get(notifications::list_templates))
        .route("/notification-templates/{kind}/{language}", put(notifications::save_template).delete(notifications::reset_template))
        .route("/suppression-rules", get(notifications::list_rules).post(notifications::add_rule))
        .route("/suppression-rules/{id}", delete(notifications::delete_rule))
        .route("/notifications/directives", post(notifications::create_directives))
        .route("/incidents/{id}/notify", post(notifications::notify_incident))
        .route("/notifications", get(notifications::list_notifications))
        .route("/notifications/flush", post(notifications::flush))
        .route("/notifications/{id}", get(notifications::get_notification))
        .route("/notifications/{id}/message", get(notifications::notification_message))
        .route("/feeds/upload", post(feeds::upload).layer(axum::extract::DefaultBodyLimit::max(FEED_UPLOAD_LIMIT)))
        .route("/feeds/quarantine", get(feeds::quarantine))
        .route("/feeds/counts", get(feeds::counts))
        .route("/feeds/quarantine/{id}/replay", post(feeds::replay))
        .fallback(|| async { ApiError::not_found("endpoint") })
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// Feed files are larger than other requests; beyond this, use `rampart ingest`.
const FEED_UPLOAD_LIMIT: usize = 256 << 20;
