use crate::auth::rate_limit::RateLimiter;
use crate::metrics::Metrics;
use crate::settings::WebSettings;
use crate::SharedStore;
use std::sync::Arc;

/// Everything a handler may reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: SharedStore,
    pub settings: Arc<WebSettings>,
    pub login_limiter: Arc<RateLimiter>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(store: SharedStore, settings: WebSettings) -> Self {
        let limiter = RateLimiter::per_minute(settings.login_rate_per_minute);
        Self { store, settings: Arc::new(settings), login_limiter: Arc::new(limiter), metrics: Arc::new(Metrics::default()) }
    }
}
