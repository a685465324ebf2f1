//! The TAXII 2.1 server: discovery at `/taxii2/`, one API root (`/taxii2/intel/`) whose
//! collections are the sharing scopes the caller may see (Public, Community, and each
//! sharing group). Every object read goes through the access policy.

mod caller;
mod objects;

pub use caller::TaxiiCaller;

use crate::AppState;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rampart_intel::taxii::{self, MEDIA_TYPE};
use serde::Serialize;

/// The API root's path under `/taxii2/`.
pub const API_ROOT: &str = "intel";

pub fn router() -> Router<AppState> {
    let root = format!("/taxii2/{API_ROOT}");
    Router::new()
        .route("/taxii2/", get(objects::discovery))
        .route(&format!("{root}/"), get(objects::api_root))
        .route(&format!("{root}/status/{{id}}"), get(objects::status))
        .route(&format!("{root}/status/{{id}}/"), get(objects::status))
        .route(&format!("{root}/collections/"), get(objects::collections))
        .route(&format!("{root}/collections/{{collection}}/"), get(objects::collection))
        .route(&format!("{root}/collections/{{collection}}/objects/"), get(objects::get_objects).post(objects::add_objects))
        .route(&format!("{root}/collections/{{collection}}/objects/{{object}}/"), get(objects::get_object).delete(objects::delete_object))
        .route(&format!("{root}/collections/{{collection}}/objects/{{object}}/versions/"), get(objects::versions))
        .route(&format!("{root}/collections/{{collection}}/manifest/"), get(objects::manifest))
        // The body is read with the API root's own limit, which answers 413 as TAXII does.
        .layer(DefaultBodyLimit::disable())
}

/// A TAXII error message resource with its status.
#[derive(Debug)]
pub struct TaxiiError {
    status: StatusCode,
    title: &'static str,
    description: Option<String>,
}

impl TaxiiError {
    pub fn new(status: StatusCode, title: &'static str, description: impl Into<String>) -> Self {
        TaxiiError { status, title, description: Some(description.into()) }
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Authentication required",
            "send HTTP Basic credentials or an API token (Authorization: Bearer …)",
        )
    }
    pub fn forbidden(why: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", why)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", format!("no such {what}, or not for you"))
    }
    pub fn bad_request(why: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", why)
    }
    fn internal() -> Self {
        TaxiiError { status: StatusCode::INTERNAL_SERVER_ERROR, title: "Internal error", description: None }
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let body = taxii::Error { title: self.title.into(), description: self.description, http_status: self.status.as_u16().to_string() };
        let mut response = taxii_json(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Rampart TAXII\", Bearer"));
        }
        response
    }
}

impl From<crate::service::ServiceError> for TaxiiError {
    fn from(e: crate::service::ServiceError) -> Self {
        use crate::service::ServiceError;
        match e {
            ServiceError::Invalid(why) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", why),
            ServiceError::Forbidden(why) => Self::forbidden(why),
            ServiceError::Store(e) => e.into(),
        }
    }
}

impl From<rampart_store::StoreError> for TaxiiError {
    fn from(e: rampart_store::StoreError) -> Self {
        use rampart_store::StoreError;
        match e {
            StoreError::NotFound => Self::not_found("object"),
            StoreError::Invalid(why) | StoreError::Conflict(why) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", why),
            other => {
                tracing::error!(error = %other, "TAXII request failed in the store");
                Self::internal()
            }
        }
    }
}

impl From<crate::problem::ApiError> for TaxiiError {
    fn from(e: crate::problem::ApiError) -> Self {
        let problem = e.problem();
        let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status == StatusCode::UNAUTHORIZED {
            return Self::unauthorized();
        }
        TaxiiError { status, title: "Request refused", description: Some(problem.detail) }
    }
}

pub type TaxiiResult<T = Response> = Result<T, TaxiiError>;

/// A TAXII body with its media type.
pub fn taxii_json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE))], text).into_response()
}

/// 406 unless the client accepts TAXII 2.1.
pub fn check_accept(headers: &HeaderMap) -> TaxiiResult<()> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    if taxii::accepts_taxii(accept) {
        Ok(())
    } else {
        Err(TaxiiError::new(StatusCode::NOT_ACCEPTABLE, "Not acceptable", format!("this server answers {MEDIA_TYPE}")))
    }
}
