use crate::auth::rate_limit::RateLimiter;
use crate::evidence::EvidenceStore;
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
    pub report_limiter: Arc<RateLimiter>,
    pub metrics: Arc<Metrics>,
    pub evidence: EvidenceStore,
    /// The operator's own organisation: owner of incidents.
    pub operator_org_id: uuid::Uuid,
    /// Outgoing mail, when a relay is configured.
    pub mailer: Option<rampart_notify::smtp::Mailer>,
    /// Who is responsible for what: rebuilt when the registry changes.
    pub route_index: Arc<crate::service::routing::RouteIndex>,
    /// The CERT's identity and signing key in notifications.
    pub notify: Arc<crate::service::notifications::NotifySettings>,
    /// How uploaded and mailed feed files are processed.
    pub feeds: Arc<crate::service::feeds::IngestOptions>,
    /// HTTP Basic credentials verified lately, so TAXII clients do not pay for argon2id
    /// on every page.
    pub basic_auth: Arc<crate::auth::basic::BasicCache>,
    /// The intelligence correlation index, rebuilt when stale.
    pub correlation: Arc<crate::service::correlate::SnapshotCache>,
    /// The peers' TAXII collections pulled on a schedule (shown on the peers page).
    pub taxii_pulls: Arc<Vec<crate::service::taxii_pull::TaxiiPull>>,
    /// The configured HTTP(S) feeds, whose checks the feeds page shows.
    pub http_feeds: Arc<Vec<crate::service::feed_http::HttpFeed>>,
}

impl AppState {
    /// Fails only when the mail settings are unusable.
    pub fn new(store: SharedStore, settings: WebSettings, operator_org_id: uuid::Uuid) -> Result<Self, rampart_notify::smtp::MailError> {
        let mailer = if settings.smtp_relay.is_empty() {
            None
        } else {
            Some(rampart_notify::smtp::Mailer::new(&settings.smtp_relay, &settings.mail_from)?)
        };
        let limiter = RateLimiter::per_minute(settings.login_rate_per_minute);
        let report_limiter = RateLimiter::new(settings.reports_per_hour, std::time::Duration::from_secs(3600));
        let notify = crate::service::notifications::NotifySettings::from_web(&settings);
        Ok(Self {
            route_index: Arc::new(crate::service::routing::RouteIndex::new(&settings.home_country)),
            notify: Arc::new(notify),
            feeds: Arc::new(crate::service::feeds::IngestOptions::defaults(Arc::new(
                rampart_pipeline::shadowserver::Schema::builtin().clone(),
            ))),
            store,
            evidence: EvidenceStore::new(&settings.data_dir),
            settings: Arc::new(settings),
            login_limiter: Arc::new(limiter),
            report_limiter: Arc::new(report_limiter),
            metrics: Arc::new(Metrics::default()),
            operator_org_id,
            mailer,
            basic_auth: Arc::new(crate::auth::basic::BasicCache::default()),
            correlation: Arc::new(crate::service::correlate::SnapshotCache::default()),
            taxii_pulls: Arc::new(Vec::new()),
            http_feeds: Arc::new(Vec::new()),
        })
    }

    /// Feed files are processed with these options from now on.
    pub fn with_feed_options(mut self, options: crate::service::feeds::IngestOptions) -> Self {
        self.feeds = Arc::new(options);
        self
    }

    /// The TAXII pulls the peers page lists.
    pub fn with_taxii_pulls(mut self, pulls: Vec<crate::service::taxii_pull::TaxiiPull>) -> Self {
        self.taxii_pulls = Arc::new(pulls);
        self
    }

    /// The HTTP(S) feeds the feeds page lists.
    pub fn with_http_feeds(mut self, feeds: Vec<crate::service::feed_http::HttpFeed>) -> Self {
        self.http_feeds = Arc::new(feeds);
        self
    }

    /// Notifications are signed with this key from now on.
    pub fn with_signer(mut self, signer: rampart_notify::compose::Signer) -> Self {
        let mut notify = (*self.notify).clone();
        notify.signer = Some(Arc::new(signer));
        self.notify = Arc::new(notify);
        self
    }
}
