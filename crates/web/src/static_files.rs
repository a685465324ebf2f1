//! The stylesheet, htmx and Rampart's one small script, compiled into the binary.

use crate::AppState;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

const CSS: &str = include_str!("../static/rampart.css");
const HTMX: &str = include_str!("../static/htmx.min.js");
const SCRIPT: &str = include_str!("../static/rampart.js");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/rampart.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route("/static/htmx.min.js", get(|| async { asset("text/javascript; charset=utf-8", HTMX) }))
        .route("/static/rampart.js", get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }))
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body)
}
