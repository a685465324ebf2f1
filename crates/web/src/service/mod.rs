//! What Rampart does, without HTTP: the logic behind handlers and CLI commands alike.

pub mod accounts;
pub mod correlate;
pub mod correspondence;
pub mod deadline_watch;
mod direct_output;
pub mod feed_http;
mod feed_lease;
mod feed_output;
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

/// An HTTP client for what Rampart fetches from feeds and peers: bounded waits, and the
/// `Authorization` header follows a redirect within its host, never to another one.
pub(crate) fn http_agent(response_timeout: std::time::Duration, read_timeout: Option<std::time::Duration>) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(std::time::Duration::from_secs(30)))
        .timeout_recv_response(Some(response_timeout))
        .timeout_per_read(read_timeout)
        .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
        .user_agent(concat!("rampart/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// Writes JSON beside its place, then renames it there: a crash leaves the old file or
/// the new one, never half of one.
pub(crate) fn write_json_atomically<T: serde::Serialize>(path: &std::path::Path, value: &T) -> ServiceResult<()> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    let failed = |what: &str, p: &std::path::Path, e: std::io::Error| ServiceError::Invalid(format!("{what} {}: {e}", p.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| failed("creating", dir, e))?;
    }
    let text = serde_json::to_vec_pretty(value).map_err(|e| ServiceError::Invalid(format!("{}: {e}", path.display())))?;
    let mut file = std::fs::File::create(&tmp).map_err(|e| failed("creating", &tmp, e))?;
    file.write_all(&text).and_then(|()| file.sync_all()).map_err(|e| failed("writing", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| failed("renaming", &tmp, e))
}

/// A name that becomes a file name (a feed's, a pull's): 1 to 100 ASCII letters, digits,
/// '-', '_' or '.', not starting with '.'.
pub(crate) fn check_file_name(what: &str, name: &str) -> Result<(), String> {
    let fine = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if fine {
        Ok(())
    } else {
        Err(format!("the {what} name {name:?} must be 1 to 100 ASCII letters, digits, '-', '_' or '.', not starting with '.'"))
    }
}
