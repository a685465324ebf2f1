//! What the HTTP layer needs to know from the configuration.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebSettings {
    /// The address users reach Rampart at; `https://…` makes cookies `Secure`.
    pub public_url: String,
    /// The operator's name, shown on the setup page and as the TOTP issuer.
    pub operator_name: String,
    pub max_body_bytes: usize,
    pub require_totp_for_staff: bool,
    pub session_hours: i64,
    pub login_max_failures: i64,
    pub lockout_minutes: i64,
    /// Sign-in attempts allowed per client address per minute.
    pub login_rate_per_minute: u32,
    pub default_locale: String,
    /// Trust `X-Forwarded-For` for the client address (only behind a reverse proxy).
    pub trust_forwarded_for: bool,
    /// Where evidence files are kept (`<data_dir>/evidence`).
    pub data_dir: std::path::PathBuf,
    pub max_attachments: usize,
    pub max_attachment_bytes: u64,
    /// Reports accepted from one client address per hour on the public form.
    pub reports_per_hour: u32,
    /// Times are shown in this zone (`Asia/Taipei`, `UTC` or `+08:00`).
    pub time_zone: String,
    /// SMTP relay `host:port` for outgoing mail; empty sends none.
    pub smtp_relay: String,
    /// The sender of outgoing mail.
    pub mail_from: String,
    /// ISO country code of the constituency: addresses elsewhere route to that
    /// country's national CERT.
    pub home_country: String,
    /// First retry of a notification after the relay failed.
    pub retry_first_seconds: i64,
    /// The largest TAXII request body (the API root's `max_content_length`).
    pub taxii_max_content_bytes: usize,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            operator_name: "Rampart CERT".into(),
            max_body_bytes: 1024 * 1024,
            require_totp_for_staff: true,
            session_hours: 12,
            login_max_failures: 5,
            lockout_minutes: 15,
            login_rate_per_minute: 20,
            default_locale: "en".into(),
            trust_forwarded_for: false,
            data_dir: "./rampart-data".into(),
            max_attachments: 10,
            max_attachment_bytes: 25 * 1024 * 1024,
            reports_per_hour: 20,
            time_zone: "Asia/Taipei".into(),
            smtp_relay: String::new(),
            mail_from: "cert@localhost.localdomain".into(),
            home_country: "TW".into(),
            retry_first_seconds: 60,
            taxii_max_content_bytes: 16 * 1024 * 1024,
        }
    }
}

impl WebSettings {
    pub fn cookies_secure(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}
