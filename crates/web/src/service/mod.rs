//! What Rampart does, without HTTP: the logic behind handlers and CLI commands alike.

pub mod accounts;
pub mod correlate;
pub mod correspondence;
pub mod deadline_watch;
pub mod feed_http;
pub mod feed_queue;
pub mod feeds;
pub mod imports;
pub mod incidents;
pub mod intel;
pub mod intel_match;
pub mod mailgate;
pub mod misp_events;
pub mod misp_feed;
pub mod notifications;
pub mod orgs;
pub mod registry;
pub mod routing;
pub mod taxii_pull;

use rampart_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl From<rampart_core::account::AccountError> for ServiceError {
    fn from(e: rampart_core::account::AccountError) -> Self {
        ServiceError::Invalid(e.to_string())
    }
}

impl From<ServiceError> for crate::problem::ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(why) => crate::problem::ApiError::validation(why),
            ServiceError::Forbidden(why) => crate::problem::ApiError::forbidden(why),
            ServiceError::Store(e) => e.into(),
        }
    }
}

/// Runs CPU-heavy work (argon2) off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task does not panic")
}
