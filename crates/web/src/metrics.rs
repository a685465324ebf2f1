//! Prometheus metrics: request counts by route class and status, sign-in outcomes.

use crate::auth::ApiCaller;
use crate::problem::ApiError;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    /// Indexed by status class 1xx..5xx.
    responses: [AtomicU64; 5],
    pub logins_succeeded: AtomicU64,
    pub logins_failed: AtomicU64,
    pub logins_rate_limited: AtomicU64,
    /// Report-form submissions caught by the honeypot field.
    pub reports_trapped: AtomicU64,
}

impl Metrics {
    pub fn render(&self, backend: &str) -> String {
        let mut out = String::new();
        out.push_str("# HELP rampart_http_responses_total HTTP responses by status class.\n# TYPE rampart_http_responses_total counter\n");
        for (i, count) in self.responses.iter().enumerate() {
            let _ = writeln!(out, "rampart_http_responses_total{{class=\"{}xx\"}} {}", i + 1, count.load(Ordering::Relaxed));
        }
        out.push_str("# HELP rampart_logins_total Sign-in attempts by outcome.\n# TYPE rampart_logins_total counter\n");
        for (outcome, count) in
            [("success", &self.logins_succeeded), ("failure", &self.logins_failed), ("rate_limited", &self.logins_rate_limited)]
        {
            let _ = writeln!(out, "rampart_logins_total{{outcome=\"{outcome}\"}} {}", count.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP rampart_reports_trapped_total Report-form posts caught by the honeypot.\n# TYPE rampart_reports_trapped_total counter"
        );
        let _ = writeln!(out, "rampart_reports_trapped_total {}", self.reports_trapped.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP rampart_info Build and storage information.\n# TYPE rampart_info gauge");
        let _ = writeln!(out, "rampart_info{{version=\"{}\",database=\"{backend}\"}} 1", env!("CARGO_PKG_VERSION"));
        out
    }
}

pub async fn count_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let class = (response.status().as_u16() / 100).clamp(1, 5) as usize - 1;
    state.metrics.responses[class].fetch_add(1, Ordering::Relaxed);
    response
}

fn exposition(state: &AppState) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render(state.store.backend())).into_response()
}

/// `/metrics` on the main listener: CERT staff only.
pub async fn staff_endpoint(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, ApiError> {
    if !rampart_core::policy::may_read_metrics(&caller.policy_caller()) {
        return Err(ApiError::forbidden("metrics are for CERT staff"));
    }
    Ok(exposition(&state))
}

/// `/metrics` on the separate metrics listener.
pub async fn open_endpoint(State(state): State<AppState>) -> Response {
    exposition(&state)
}
