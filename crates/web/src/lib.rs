//! Rampart over HTTP: the REST API (`/api/v1`, OpenAPI 3.1), the server-rendered UI,
//! health and metrics endpoints. Handlers parse and authorise, then call
//! [`service`] functions, which hold the logic and call the store.

pub mod api;
pub mod auth;
pub mod evidence;
pub mod i18n;
pub mod metrics;
pub mod misp;
pub mod problem;
mod security;
pub mod service;
pub mod settings;
mod state;
mod static_files;
pub mod taxii;
pub mod time;
pub mod ui;

pub use settings::WebSettings;
pub use state::AppState;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The whole application.
pub fn router(state: AppState) -> Router {
    let max_body = state.settings.max_body_bytes;
    let settings = &state.settings;
    let report_limit = (settings.max_attachments as u64 * settings.max_attachment_bytes + 1024 * 1024).min(usize::MAX as u64) as usize;
    Router::new()
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(metrics::staff_endpoint))
        .nest("/api/v1", api::router())
        .merge(taxii::router())
        .merge(misp::router())
        .merge(ui::router(report_limit))
        .merge(static_files::router())
        .fallback(ui::not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::count_requests))
        .layer(axum::middleware::from_fn(security::headers))
        .with_state(state)
}

/// A separate listener for Prometheus, unauthenticated, for a network only scrapers reach.
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(metrics::open_endpoint)).with_state(state)
}

/// Serves until the process is told to stop.
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await
}

pub async fn serve_metrics(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(listener, metrics_router(state)).with_graceful_shutdown(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

mod health {
    use super::AppState;
    use crate::problem::ApiError;
    use axum::extract::State;
    use axum::Json;
    use serde_json::{json, Value};

    /// Liveness: the process answers.
    pub async fn live() -> Json<Value> {
        Json(json!({ "status": "ok" }))
    }

    /// Readiness: the database answers.
    pub async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
        state.store.ping().await.map_err(|e| {
            tracing::warn!(error = %e, "readiness check failed");
            ApiError::unavailable("the database does not answer")
        })?;
        Ok(Json(json!({ "status": "ready", "database": state.store.backend() })))
    }
}

pub type SharedStore = Arc<dyn rampart_store::Store>;
