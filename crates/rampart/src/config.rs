//! Configuration: built-in defaults, then a TOML file, then `RAMPART_*` environment
//! variables, then command-line flags; each later source wins.

use anyhow::{bail, Context};
use rampart_web::WebSettings;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Every setting, resolved.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: String,
    /// Empty means `sqlite://<data_dir>/rampart.db`.
    pub database: String,
    /// Empty means `http://<listen>`.
    pub public_url: String,
    pub operator_name: String,
    pub log: String,
    pub http: HttpConfig,
    pub auth: AuthConfig,
    pub ui: UiConfig,
    pub intake: IntakeConfig,
    pub smtp: SmtpConfig,
    pub deadlines: DeadlinesConfig,
    pub pgp: PgpConfig,
    pub constituency: ConstituencyConfig,
    pub notifications: NotificationsConfig,
    pub feeds: FeedsConfig,
    pub intel: IntelConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IntelConfig {
    /// MISP warninglists (a folder of `*/list.json`, as in MISP/misp-warninglists); empty: none.
    pub warninglists_dir: String,
    /// The largest TAXII request body, in bytes.
    pub taxii_max_content_bytes: usize,
    /// Peers' TAXII 2.1 collections pulled on a schedule.
    #[serde(default)]
    pub taxii_pulls: Vec<rampart_web::service::taxii_pull::TaxiiPull>,
}

fn default_dedupe_ignore() -> Vec<String> {
    vec!["raw".into(), "time.observation".into()]
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FeedsConfig {
    /// A folder watched for feed files; empty watches none.
    pub watch_dir: String,
    pub poll_seconds: u64,
    /// Notify the responsible constituent of every routed event.
    pub notify: bool,
    /// Rules applied to every feed (docs/rules.md); empty applies none.
    pub rules_file: String,
    /// A newer Shadowserver report schema than the shipped one.
    pub schema_file: String,
    /// How long an accepted event suppresses its duplicates.
    pub dedupe_hours: i64,
    /// De-duplicate on these fields only; when empty, on every field but `dedupe_ignore`.
    #[serde(default)]
    pub dedupe_keys: Vec<String>,
    #[serde(default = "default_dedupe_ignore")]
    pub dedupe_ignore: Vec<String>,
    /// Generic CSV feeds: column → field mappings (docs/feeds.md), chosen with `ingest --mapping NAME`.
    #[serde(default)]
    pub mappings: Vec<rampart_pipeline::mapping::MappingSpec>,
    /// Feeds fetched over HTTP(S) on a schedule with conditional GET (docs/feeds.md).
    #[serde(default)]
    pub http: Vec<rampart_web::service::feed_http::HttpFeed>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConstituencyConfig {
    /// ISO 3166-1 code of the constituency's country.
    pub country: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NotificationsConfig {
    /// How often waiting notifications are composed and the outbox is sent.
    pub poll_seconds: u64,
    /// First retry after the relay failed; later retries double, up to an hour.
    pub retry_first_seconds: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PgpConfig {
    /// The CERT's OpenPGP secret key (armored or binary); its passphrase is read from
    /// the environment variable RAMPART_PGP_PASSPHRASE.
    pub secret_key_file: String,
    /// A folder of contacts' public keys (`*.asc`, `*.gpg`, `*.pgp`).
    pub contact_keys_dir: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeadlinesConfig {
    /// How often the clocks are checked.
    pub check_seconds: u64,
    /// A reminder goes to the assignee this long before a clock runs out.
    pub remind_before_minutes: i64,
    /// The operator's own deadline regimes (TOML, the format of the shipped
    /// `crates/core/data/deadline_regimes.toml`); empty uses the shipped ones.
    pub regimes_file: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub relay: String,
    pub from: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IntakeConfig {
    pub max_attachments: usize,
    pub max_attachment_bytes: u64,
    pub reports_per_hour: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub max_body_bytes: usize,
    /// Empty: metrics only at `/metrics` on the main listener, for staff.
    pub metrics_listen: String,
    pub trust_forwarded_for: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub require_totp_for_staff: bool,
    pub session_hours: i64,
    pub login_max_failures: i64,
    pub lockout_minutes: i64,
    pub login_rate_per_minute: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    pub default_locale: String,
    pub time_zone: String,
}

impl Default for Config {
    fn default() -> Self {
        let web = WebSettings::default();
        Self {
            data_dir: PathBuf::from("./rampart-data"),
            listen: "127.0.0.1:8080".into(),
            database: String::new(),
            public_url: String::new(),
            operator_name: web.operator_name,
            log: "info".into(),
            http: HttpConfig { max_body_bytes: web.max_body_bytes, metrics_listen: String::new(), trust_forwarded_for: false },
            auth: AuthConfig {
                require_totp_for_staff: web.require_totp_for_staff,
                session_hours: web.session_hours,
                login_max_failures: web.login_max_failures,
                lockout_minutes: web.lockout_minutes,
                login_rate_per_minute: web.login_rate_per_minute,
            },
            ui: UiConfig { default_locale: web.default_locale, time_zone: "Asia/Taipei".into() },
            intake: IntakeConfig {
                max_attachments: web.max_attachments,
                max_attachment_bytes: web.max_attachment_bytes,
                reports_per_hour: web.reports_per_hour,
            },
            smtp: SmtpConfig { relay: web.smtp_relay, from: web.mail_from },
            deadlines: DeadlinesConfig { check_seconds: 60, remind_before_minutes: 30, regimes_file: String::new() },
            pgp: PgpConfig { secret_key_file: String::new(), contact_keys_dir: String::new() },
            constituency: ConstituencyConfig { country: web.home_country },
            intel: IntelConfig {
                warninglists_dir: String::new(),
                taxii_max_content_bytes: web.taxii_max_content_bytes,
                taxii_pulls: Vec::new(),
            },
            notifications: NotificationsConfig { poll_seconds: 30, retry_first_seconds: web.retry_first_seconds },
            feeds: FeedsConfig {
                watch_dir: String::new(),
                poll_seconds: 30,
                notify: true,
                rules_file: String::new(),
                schema_file: String::new(),
                dedupe_hours: 24,
                dedupe_keys: Vec::new(),
                dedupe_ignore: default_dedupe_ignore(),
                mappings: Vec::new(),
                http: Vec::new(),
            },
        }
    }
}

/// Flags that override everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub database: Option<String>,
}

/// Environment variables and the setting each one sets (as a TOML path).
pub const ENV_VARS: &[(&str, &str)] = &[
    ("RAMPART_DATA_DIR", "data_dir"),
    ("RAMPART_LISTEN", "listen"),
    ("RAMPART_DATABASE", "database"),
    ("RAMPART_PUBLIC_URL", "public_url"),
    ("RAMPART_OPERATOR_NAME", "operator_name"),
    ("RAMPART_LOG", "log"),
    ("RAMPART_MAX_BODY_BYTES", "http.max_body_bytes"),
    ("RAMPART_METRICS_LISTEN", "http.metrics_listen"),
    ("RAMPART_TRUST_FORWARDED_FOR", "http.trust_forwarded_for"),
    ("RAMPART_REQUIRE_TOTP_FOR_STAFF", "auth.require_totp_for_staff"),
    ("RAMPART_SESSION_HOURS", "auth.session_hours"),
    ("RAMPART_LOGIN_MAX_FAILURES", "auth.login_max_failures"),
    ("RAMPART_LOCKOUT_MINUTES", "auth.lockout_minutes"),
    ("RAMPART_LOGIN_RATE_PER_MINUTE", "auth.login_rate_per_minute"),
    ("RAMPART_DEFAULT_LOCALE", "ui.default_locale"),
    ("RAMPART_TIME_ZONE", "ui.time_zone"),
    ("RAMPART_MAX_ATTACHMENTS", "intake.max_attachments"),
    ("RAMPART_MAX_ATTACHMENT_BYTES", "intake.max_attachment_bytes"),
    ("RAMPART_REPORTS_PER_HOUR", "intake.reports_per_hour"),
    ("RAMPART_SMTP_RELAY", "smtp.relay"),
    ("RAMPART_MAIL_FROM", "smtp.from"),
    ("RAMPART_DEADLINE_CHECK_SECONDS", "deadlines.check_seconds"),
    ("RAMPART_REMIND_BEFORE_MINUTES", "deadlines.remind_before_minutes"),
    ("RAMPART_DEADLINE_REGIMES_FILE", "deadlines.regimes_file"),
    ("RAMPART_PGP_SECRET_KEY_FILE", "pgp.secret_key_file"),
    ("RAMPART_PGP_CONTACT_KEYS_DIR", "pgp.contact_keys_dir"),
    ("RAMPART_COUNTRY", "constituency.country"),
    ("RAMPART_WARNINGLISTS_DIR", "intel.warninglists_dir"),
    ("RAMPART_TAXII_MAX_CONTENT_BYTES", "intel.taxii_max_content_bytes"),
    ("RAMPART_NOTIFY_POLL_SECONDS", "notifications.poll_seconds"),
    ("RAMPART_NOTIFY_RETRY_FIRST_SECONDS", "notifications.retry_first_seconds"),
    ("RAMPART_FEEDS_WATCH_DIR", "feeds.watch_dir"),
    ("RAMPART_FEEDS_POLL_SECONDS", "feeds.poll_seconds"),
    ("RAMPART_FEEDS_NOTIFY", "feeds.notify"),
    ("RAMPART_FEEDS_RULES_FILE", "feeds.rules_file"),
    ("RAMPART_FEEDS_SCHEMA_FILE", "feeds.schema_file"),
    ("RAMPART_FEEDS_DEDUPE_HOURS", "feeds.dedupe_hours"),
];

impl Config {
    /// Resolves the configuration from all sources. `env` is passed in so tests can
    /// supply their own.
    pub fn load(file: Option<&Path>, env: &dyn Fn(&str) -> Option<String>, flags: &Overrides) -> anyhow::Result<Self> {
        let mut merged = toml::Value::try_from(Config::default()).context("default configuration")?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading configuration file {}", path.display()))?;
            let from_file: toml::Value =
                text.parse::<toml::Table>().map(toml::Value::Table).with_context(|| format!("parsing {}", path.display()))?;
            merge(&mut merged, from_file);
        }
        for (var, key) in ENV_VARS {
            if let Some(value) = env(var) {
                set_path(&mut merged, key, &value).with_context(|| format!("environment variable {var}"))?;
            }
        }
        let mut config: Config = merged.try_into().context("configuration")?;
        if let Some(d) = &flags.data_dir {
            config.data_dir = d.clone();
        }
        if let Some(l) = &flags.listen {
            config.listen = l.clone();
        }
        if let Some(db) = &flags.database {
            config.database = db.clone();
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if !self.database.is_empty() && !["sqlite://", "postgres://", "postgresql://"].iter().any(|p| self.database.starts_with(p)) {
            bail!("database must be a sqlite://… or postgres://… URL");
        }
        if rampart_core::account::check_locale(&self.ui.default_locale).is_err() {
            bail!("ui.default_locale must be en or zh-TW");
        }
        if self.intel.taxii_max_content_bytes < 1024 {
            bail!("intel.taxii_max_content_bytes must be at least 1024");
        }
        let mut pull_names = std::collections::HashSet::new();
        for pull in &self.intel.taxii_pulls {
            pull.check().map_err(|e| anyhow::anyhow!("intel.taxii_pulls: {e}"))?;
            if !pull_names.insert(pull.name.as_str()) {
                bail!("intel.taxii_pulls: the name {:?} is used twice", pull.name);
            }
        }
        if self.http.max_body_bytes < 1024 {
            bail!("http.max_body_bytes must be at least 1024");
        }
        if self.intake.max_attachments > 100 || self.intake.reports_per_hour < 1 {
            bail!("intake.max_attachments must be at most 100 and intake.reports_per_hour positive");
        }
        if self.deadlines.check_seconds < 1 || self.deadlines.remind_before_minutes < 0 {
            bail!("deadlines.check_seconds must be positive and deadlines.remind_before_minutes not negative");
        }
        let cc = &self.constituency.country;
        if cc.len() != 2 || !cc.bytes().all(|b| b.is_ascii_uppercase()) {
            bail!("constituency.country must be a two-letter upper-case ISO 3166-1 code such as TW");
        }
        if self.notifications.poll_seconds < 1 || !(1..=3600).contains(&self.notifications.retry_first_seconds) {
            bail!("notifications.poll_seconds must be positive and notifications.retry_first_seconds 1 to 3600");
        }
        rampart_pipeline::experts::DedupeKeys::from_names(&self.feeds.dedupe_keys, &self.feeds.dedupe_ignore)
            .map_err(|e| anyhow::anyhow!("feeds.dedupe_keys / feeds.dedupe_ignore: {e}"))?;
        if self.feeds.poll_seconds < 1 || self.feeds.dedupe_hours < 0 {
            bail!("feeds.poll_seconds must be positive and feeds.dedupe_hours not negative");
        }
        for (i, m) in self.feeds.mappings.iter().enumerate() {
            m.check().map_err(|e| anyhow::anyhow!("feeds.mappings: {e}"))?;
            if self.feeds.mappings[..i].iter().any(|other| other.name == m.name) {
                bail!("feeds.mappings: the name {:?} is used twice", m.name);
            }
        }
        for (i, feed) in self.feeds.http.iter().enumerate() {
            feed.check().map_err(|e| anyhow::anyhow!("feeds.http: {e}"))?;
            // The name keys the feed's state file, fingerprints and counts.
            if let Some(mapping) = feed.mapping.as_deref().filter(|m| !self.feeds.mappings.iter().any(|x| &x.name == m)) {
                bail!("feeds.http: feed {:?} names the mapping {mapping:?}, which [[feeds.mappings]] does not have", feed.name);
            }
            if self.feeds.http[..i].iter().any(|other| other.name == feed.name) {
                bail!("feeds.http: the name {:?} is used twice", feed.name);
            }
        }
        if self.auth.session_hours < 1
            || self.auth.login_max_failures < 1
            || self.auth.lockout_minutes < 1
            || self.auth.login_rate_per_minute < 1
        {
            bail!("auth settings must be positive");
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        if self.database.is_empty() {
            format!("sqlite://{}", self.data_dir.join("rampart.db").display())
        } else {
            self.database.clone()
        }
    }

    pub fn web_settings(&self, bound: &str) -> WebSettings {
        WebSettings {
            public_url: if self.public_url.is_empty() {
                format!("http://{bound}")
            } else {
                self.public_url.trim_end_matches('/').to_string()
            },
            operator_name: self.operator_name.clone(),
            max_body_bytes: self.http.max_body_bytes,
            require_totp_for_staff: self.auth.require_totp_for_staff,
            session_hours: self.auth.session_hours,
            login_max_failures: self.auth.login_max_failures,
            lockout_minutes: self.auth.lockout_minutes,
            login_rate_per_minute: self.auth.login_rate_per_minute,
            default_locale: self.ui.default_locale.clone(),
            trust_forwarded_for: self.http.trust_forwarded_for,
            data_dir: self.data_dir.clone(),
            max_attachments: self.intake.max_attachments,
            max_attachment_bytes: self.intake.max_attachment_bytes,
            reports_per_hour: self.intake.reports_per_hour,
            time_zone: self.ui.time_zone.clone(),
            smtp_relay: self.smtp.relay.clone(),
            mail_from: self.smtp.from.clone(),
            home_country: self.constituency.country.clone(),
            retry_first_seconds: self.notifications.retry_first_seconds,
            taxii_max_content_bytes: self.intel.taxii_max_content_bytes,
        }
    }

    /// The effective configuration as TOML, with any password in the database URL hidden.
    pub fn to_toml_redacted(&self) -> String {
        let mut shown = self.clone();
        shown.database = redact_url(&shown.database);
        toml::to_string(&shown).unwrap_or_default()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(base), toml::Value::Table(over)) => {
            for (k, v) in over {
                match base.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        base.insert(k, v);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

/// Sets `a.b` from an environment string, typed like the default already there.
fn set_path(root: &mut toml::Value, path: &str, raw: &str) -> anyhow::Result<()> {
    let mut node = root;
    for part in path.split('.') {
        node = node.get_mut(part).with_context(|| format!("unknown setting {path}"))?;
    }
    *node = match node {
        toml::Value::Boolean(_) => toml::Value::Boolean(match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => bail!("expected true or false, got {raw:?}"),
        }),
        toml::Value::Integer(_) => toml::Value::Integer(raw.trim().parse().with_context(|| format!("expected a number, got {raw:?}"))?),
        _ => toml::Value::String(raw.to_string()),
    };
    Ok(())
}

pub const EXAMPLE: &str = r#"# Rampart configuration. Every setting is optional; these are the defaults.
# Precedence: this file < RAMPART_* environment variables < command-line flags.

# Where Rampart keeps its SQLite database and files.   (RAMPART_DATA_DIR, --data-dir)
data_dir = "./rampart-data"
# Address the web server listens on.                     (RAMPART_LISTEN, --listen)
listen = "127.0.0.1:8080"
# Empty: embedded SQLite in data_dir. For scale-out: "postgres://user@host/rampart".
#                                                         (RAMPART_DATABASE, --database)
database = ""
# The address users reach Rampart at, used in links. "https://…" makes cookies Secure.
# Empty: http://<listen>.                                 (RAMPART_PUBLIC_URL)
public_url = ""
# The operator's name: the CERT organisation created at first start, TOTP issuer.
operator_name = "Rampart CERT"                            # (RAMPART_OPERATOR_NAME)
# Log filter: error, warn, info, debug, trace, or per module ("info,rampart_web=debug").
log = "info"                                              # (RAMPART_LOG)

[http]
# Largest request body accepted, in bytes.                (RAMPART_MAX_BODY_BYTES)
max_body_bytes = 1048576
# A separate, unauthenticated Prometheus listener, e.g. "127.0.0.1:9090".
# Empty: /metrics on the main listener, for CERT staff only. (RAMPART_METRICS_LISTEN)
metrics_listen = ""
# Take the client address from X-Forwarded-For (only behind your reverse proxy).
trust_forwarded_for = false                               # (RAMPART_TRUST_FORWARDED_FOR)

[auth]
# CERT staff must enrol a TOTP second factor before they can work. (RAMPART_REQUIRE_TOTP_FOR_STAFF)
require_totp_for_staff = true
session_hours = 12                                        # (RAMPART_SESSION_HOURS)
# Failed sign-ins before the account is locked, and for how long.
login_max_failures = 5                                    # (RAMPART_LOGIN_MAX_FAILURES)
lockout_minutes = 15                                      # (RAMPART_LOCKOUT_MINUTES)
# Sign-in attempts per client address per minute.         (RAMPART_LOGIN_RATE_PER_MINUTE)
login_rate_per_minute = 20

[ui]
# Language when neither the user nor the browser says: "en" or "zh-TW". (RAMPART_DEFAULT_LOCALE)
default_locale = "en"
# Time zone times are shown in.                           (RAMPART_TIME_ZONE)
time_zone = "Asia/Taipei"

[intake]
# Files per report on the report form, and the size of each.
max_attachments = 10                                      # (RAMPART_MAX_ATTACHMENTS)
max_attachment_bytes = 26214400                           # (RAMPART_MAX_ATTACHMENT_BYTES)
# Reports accepted from one client address per hour on the public form.
reports_per_hour = 20                                     # (RAMPART_REPORTS_PER_HOUR)

[smtp]
# Relay for outgoing mail (acknowledgements, correspondence), "host:port".
# Empty: Rampart sends no mail.                           (RAMPART_SMTP_RELAY)
relay = ""
# The sender; replies to it should reach `rampart mailgate`. (RAMPART_MAIL_FROM)
from = "cert@localhost.localdomain"

[deadlines]
# How often the deadline clocks are checked.             (RAMPART_DEADLINE_CHECK_SECONDS)
check_seconds = 60
# Reminder to the assignee this long before a clock runs out; when it has, the
# coordinators are told.                                  (RAMPART_REMIND_BEFORE_MINUTES)
remind_before_minutes = 30
# Your own legal and service-level regimes, replacing the shipped ones (Taiwan, NIS2,
# internal SLAs); same TOML format.                      (RAMPART_DEADLINE_REGIMES_FILE)
regimes_file = ""

[pgp]
# The CERT's OpenPGP secret key, to decrypt mail sent to the mailgate. Its passphrase
# comes from the environment variable RAMPART_PGP_PASSPHRASE, never from this file.
secret_key_file = ""                                      # (RAMPART_PGP_SECRET_KEY_FILE)
# A folder of contacts' public keys (*.asc); signatures by them are reported as good.
contact_keys_dir = ""                                     # (RAMPART_PGP_CONTACT_KEYS_DIR)

[constituency]
# The constituency's country. Addresses whose routing-table country is another one go
# to that country's national CERT in the peer directory.  (RAMPART_COUNTRY)
country = "TW"

[intel]
# MISP warninglists: a folder of */list.json as in github.com/MISP/misp-warninglists/lists.
# Feed events whose address, host or URL is listed are marked extra.rampart_warninglist and
# not told.  (RAMPART_WARNINGLISTS_DIR)
warninglists_dir = ""
# The largest TAXII request body (the API root's max_content_length), in bytes.
taxii_max_content_bytes = 16777216                        # (RAMPART_TAXII_MAX_CONTENT_BYTES)

# Peers' TAXII 2.1 collections, pulled incrementally on a schedule (`rampart taxii-pull`
# pulls now). Objects keep the peer's markings and are recorded as produced by `org`.
# [[intel.taxii_pulls]]
# name = "jpcert"
# collection_url = "https://taxii.peer.example/taxii2/api1/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/"
# org = "Peer CSIRT"                 # an organisation in Rampart, usually of type peer_csirt
# share_with = "community"           # community, cert, or group:<sharing group name>
# every_minutes = 60
# auth_header_env = "PEER_TAXII_AUTH" # holds e.g. "Bearer …"; the secret stays out of files

[notifications]
# How often waiting notifications are aggregated into messages and the outbox is sent.
# Messages are signed with pgp.secret_key_file when it is set.  (RAMPART_NOTIFY_POLL_SECONDS)
poll_seconds = 30
# First retry after the relay failed; then doubling up to an hour, for three days.
retry_first_seconds = 60                                  # (RAMPART_NOTIFY_RETRY_FIRST_SECONDS)

[feeds]
# A folder watched for feed files (Shadowserver CSV, IntelMQ JSON lines); each file is
# ingested, then moved to done/ or failed/ beside it. Empty: none. (RAMPART_FEEDS_WATCH_DIR)
watch_dir = ""
poll_seconds = 30                                         # (RAMPART_FEEDS_POLL_SECONDS)
# Notify the responsible constituent of every routed event. (RAMPART_FEEDS_NOTIFY)
notify = true
# Rules for every feed (docs/rules.md). Empty: none.      (RAMPART_FEEDS_RULES_FILE)
rules_file = ""
# A newer Shadowserver report schema (intelmq.json) than the shipped one. (RAMPART_FEEDS_SCHEMA_FILE)
schema_file = ""
# How long an accepted event suppresses its duplicates.   (RAMPART_FEEDS_DEDUPE_HOURS)
dedupe_hours = 24
# Which fields make two events the same: only `dedupe_keys` when given, else every field
# but `dedupe_ignore` (as IntelMQ's deduplicator's whitelist and blacklist).
dedupe_keys = []
dedupe_ignore = ["raw", "time.observation"]
# Generic CSV (or, with format = "json", JSON) feeds, read with `rampart ingest --mapping NAME`,
# or chosen by the file name patterns in `files` for the watched folder, uploads, mail and HTTP:
# [[feeds.mappings]]
# name = "vendor-blocklist"
# columns = { ip = "source.ip", port = "source.port", seen = "time.source" }
# types = { "source.port" = "integer", "time.source" = "timestamp" }   # text, integer, float, boolean, timestamp
# constants = { "classification.type" = "blacklist", "feed.name" = "Vendor blocklist" }
# required = ["source.ip"]
# files = ["vendor-blocklist-*.csv"]
# Feeds fetched over HTTP(S) every `every_minutes`, with conditional GET; the value of the
# environment variable named by auth_header_env is sent as the Authorization header:
# [[feeds.http]]
# name = "shadowserver-scan-dns"
# url = "https://feeds.example.net/2026-11-30-scan_dns-taiwan-geo.csv"
# every_minutes = 60
# auth_header_env = "RAMPART_FEED_TOKEN"
# mapping = "vendor-blocklist"   # optional: read the body with a mapping
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn example_is_the_defaults() {
        let parsed: Config = toml::from_str(EXAMPLE).unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn file_then_env_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rampart.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:1\"\ndata_dir = \"/from/file\"\n[auth]\nsession_hours = 3\nrequire_totp_for_staff = false\n",
        )
        .unwrap();
        let env = |var: &str| match var {
            "RAMPART_LISTEN" => Some("127.0.0.1:2".to_string()),
            "RAMPART_SESSION_HOURS" => Some("4".to_string()),
            _ => None,
        };
        let flags = Overrides { listen: Some("127.0.0.1:3".into()), ..Default::default() };
        let c = Config::load(Some(&file), &env, &flags).unwrap();
        assert_eq!(c.listen, "127.0.0.1:3", "flag beats env and file");
        assert_eq!(c.auth.session_hours, 4, "env beats file");
        assert_eq!(c.data_dir, PathBuf::from("/from/file"), "file beats default");
        assert!(!c.auth.require_totp_for_staff, "file beats default");
        assert_eq!(c.database_url(), "sqlite:///from/file/rampart.db");
    }

    #[test]
    fn bad_settings_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "lissten = \"x\"\n").unwrap();
        let err = format!("{:#}", Config::load(Some(&file), &no_env, &Overrides::default()).unwrap_err());
        assert!(err.contains("lissten"), "{err}");
        let env = |v: &str| (v == "RAMPART_SESSION_HOURS").then(|| "soon".to_string());
        let err = format!("{:#}", Config::load(None, &env, &Overrides::default()).unwrap_err());
        assert!(err.contains("RAMPART_SESSION_HOURS"), "{err}");
        let flags = Overrides { database: Some("mysql://x".into()), ..Default::default() };
        assert!(Config::load(None, &no_env, &flags).is_err());
    }

    #[test]
    fn http_feeds_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("feeds.toml");
        let feed = "[[feeds.http]]\nname = \"dns\"\nurl = \"https://feeds.example.net/2026-11-30-scan_dns-tw.csv\"\n";
        std::fs::write(&file, feed).unwrap();
        let c = Config::load(Some(&file), &no_env, &Overrides::default()).unwrap();
        assert_eq!((c.feeds.http[0].every_minutes, c.feeds.http[0].max_bytes()), (60, 1 << 30), "the defaults");
        std::fs::write(&file, format!("{feed}{feed}")).unwrap();
        let err = format!("{:#}", Config::load(Some(&file), &no_env, &Overrides::default()).unwrap_err());
        assert!(err.contains("used twice"), "{err}");
        std::fs::write(&file, feed.replace("https://", "ftp://")).unwrap();
        let err = format!("{:#}", Config::load(Some(&file), &no_env, &Overrides::default()).unwrap_err());
        assert!(err.contains("feeds.http") && err.contains("http://"), "{err}");
    }

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(redact_url("postgres://rampart:s3cret@db:5432/rampart"), "postgres://rampart:***@db:5432/rampart");
        assert_eq!(redact_url("postgres://db/rampart"), "postgres://db/rampart");
    }
}
