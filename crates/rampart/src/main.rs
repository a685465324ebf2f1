//! `rampart`: the one binary. Wiring only; the work happens in the library crates.

mod admin;
mod config;
mod ingest_cli;
mod mailgate;
mod match_cli;
mod progress;
mod registry_cli;
mod worker_cli;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::{Config, Overrides};
use rampart_store::Store;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "rampart", version, about = "Rampart, the operations platform of a national CERT")]
struct Cli {
    /// Configuration file (TOML); see `rampart config example`.
    #[arg(long, global = true, env = "RAMPART_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (SQLite database and files).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://…
    #[arg(long, global = true)]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (UI and API).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free one).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print the OpenAPI 3.1 document of the REST API.
    Openapi,
    /// Take one e-mail message on standard input, as an MTA pipe (like rt-mailgate).
    /// Exit status: 0 delivered, 65 unusable input, 75 try again later.
    Mailgate {
        /// Queue the address belongs to (recorded with the message).
        #[arg(long)]
        queue: Option<String>,
        /// The message carries feed files: ingest its attachments into this feed.
        #[arg(long)]
        feed: Option<String>,
    },
    /// Who is responsible for addresses, domains or AS numbers, and why.
    Route {
        /// IP addresses, prefixes, domains, URLs, e-mail addresses or AS numbers.
        #[arg(required = true)]
        queries: Vec<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Import organisations, assets and contacts, or the IP→ASN routing table.
    Import {
        #[command(subcommand)]
        command: registry_cli::ImportCommand,
    },
    /// Feed files through the pipeline: parse, enrich, route, de-duplicate, notify, write.
    Ingest(Box<ingest_cli::IngestArgs>),
    /// Check STIX 2.1 files (objects or bundles) against the OASIS schemas; exit 65 when one is invalid.
    StixValidate {
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
    /// Pull now from the peers' TAXII collections of `[[intel.taxii_pulls]]` (all, or those named).
    TaxiiPull { names: Vec<String> },
    /// MISP feeds: export what peers may read, import a peer's feed.
    MispFeed {
        #[command(subcommand)]
        command: match_cli::MispFeedCommand,
    },
    /// Report every hit of logs or observables against the active indicators (JSON lines).
    Match(match_cli::MatchArgs),
    /// Whether values are on the MISP warninglists of `intel.warninglists_dir`.
    Warninglist {
        /// The values' MISP attribute type: ip-dst, ip-src, domain, hostname, url, md5, sha256, email-dst, …
        #[arg(long = "type", default_value = "ip-dst")]
        attribute_type: String,
        #[arg(required = true)]
        values: Vec<String>,
    },
    /// Process feed batches from a NATS JetStream queue (scale-out; see docs/feeds.md).
    Worker(worker_cli::WorkerArgs),
    /// The feed pipeline's quarantine and counts.
    Feeds {
        #[command(subcommand)]
        command: ingest_cli::FeedsCommand,
    },
    /// Notifications: compose what is due and send the outbox now.
    Notify {
        #[command(subcommand)]
        command: registry_cli::NotifyCommand,
    },
    /// Administration from the command line.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print a commented example configuration file.
    Example,
    /// Print the effective configuration (passwords hidden).
    Show,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let listen = match &cli.command {
        Command::Serve { listen } => listen.clone(),
        _ => None,
    };
    let overrides = Overrides { data_dir: cli.data_dir.clone(), listen, database: cli.database.clone() };
    let config = Config::load(cli.config.as_deref(), &|var| std::env::var(var).ok(), &overrides)?;
    init_logging(&config.log);
    load_regimes(&config)?;
    match cli.command {
        Command::Config { command: ConfigCommand::Example } => print!("{}", config::EXAMPLE),
        Command::Config { command: ConfigCommand::Show } => print!("{}", config.to_toml_redacted()),
        Command::Openapi => println!("{}", rampart_web::api::openapi_json()),
        Command::Migrate => {
            let store = open_store(&config).await?;
            let applied = store.migrate().await?;
            println!("{} migration(s) applied", applied.len());
        }
        Command::Serve { .. } => serve(config).await?,
        Command::Mailgate { queue, feed: None } => return Ok(mailgate::run(&config, queue.as_deref()).await),
        Command::Mailgate { feed: Some(feed), .. } => return Ok(mailgate::run_feed(&config, &feed).await),
        Command::StixValidate { files } => {
            let mut invalid = false;
            for path in &files {
                let verdict = std::fs::read(path)
                    .map_err(|e| e.to_string())
                    .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).map_err(|e| format!("not JSON: {e}")))
                    .and_then(|doc| rampart_intel::stix::StixValidator::shipped().validate(&doc).map_err(|e| e.problems.join("\n  ")));
                match verdict {
                    Ok(()) => println!("{}: valid STIX 2.1", path.display()),
                    Err(why) => {
                        invalid = true;
                        println!("{}: invalid\n  {why}", path.display());
                    }
                }
            }
            return Ok(if invalid { std::process::ExitCode::from(65) } else { std::process::ExitCode::SUCCESS });
        }
        Command::Match(args) => return match_cli::run(&config, args).await,
        Command::TaxiiPull { names } => return match_cli::pull(&config, &names).await,
        Command::MispFeed { command } => return match_cli::misp_feed(&config, command).await,
        Command::Warninglist { attribute_type, values } => {
            let Some(lists) = warninglists(&config)? else {
                anyhow::bail!("no warninglists are configured: set intel.warninglists_dir (RAMPART_WARNINGLISTS_DIR)");
            };
            for value in &values {
                let hits = lists.check(&attribute_type, value);
                if hits.is_empty() {
                    println!("{value}\t-");
                }
                for hit in hits {
                    println!("{value}\t{}\t{}", hit.list, hit.entry);
                }
            }
            return Ok(std::process::ExitCode::SUCCESS);
        }
        Command::Route { queries, json } => {
            let store = open_store(&config).await?;
            store.migrate().await?;
            return registry_cli::route(&*store, &config, &queries, json).await;
        }
        Command::Import { command } => {
            let store = open_store(&config).await?;
            store.migrate().await?;
            return registry_cli::import(&*store, &config, command).await;
        }
        Command::Ingest(args) if args.queued() => return ingest_cli::enqueue(&config, *args).await,
        Command::Worker(args) => {
            let store = open_store(&config).await?;
            store.migrate().await?;
            return worker_cli::run(store, &config, args).await;
        }
        Command::Ingest(args) => {
            let store = open_store(&config).await?;
            store.migrate().await?;
            return ingest_cli::run(&*store, &config, *args).await;
        }
        Command::Feeds { command } => {
            let store = open_store(&config).await?;
            store.migrate().await?;
            return ingest_cli::feeds(&*store, command).await;
        }
        Command::Notify { command } => {
            let store = open_store(&config).await?;
            store.migrate().await?;
            return registry_cli::notify(store, &config, command).await;
        }
        Command::Admin { command } => {
            let store = open_store(&config).await?;
            store.migrate().await?;
            return admin::run(&*store, &config, command).await;
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// The operator's deadline regimes, checked before anything uses them.
fn load_regimes(config: &Config) -> anyhow::Result<()> {
    if config.deadlines.regimes_file.is_empty() {
        return Ok(());
    }
    let path = &config.deadlines.regimes_file;
    let text = std::fs::read_to_string(path).with_context(|| format!("reading deadline regimes {path}"))?;
    let regimes = rampart_core::deadlines::parse_regimes(&text).map_err(|e| anyhow::anyhow!("deadline regimes {path}: {e}"))?;
    rampart_core::deadlines::configure(regimes);
    Ok(())
}

fn init_logging(filter: &str) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let targets: Targets = filter.parse().unwrap_or_else(|_| Targets::new().with_default(tracing::Level::INFO));
    let _ = tracing_subscriber::registry().with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr)).with(targets).try_init();
}

pub(crate) async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = config.database_url();
    if url.starts_with("sqlite://") {
        std::fs::create_dir_all(&config.data_dir).with_context(|| format!("creating {}", config.data_dir.display()))?;
    }
    rampart_store::open(&url).await.with_context(|| format!("opening the database {}", config::redact_url(&url)))
}

/// How feed files are processed, from the `[feeds]` settings.
pub(crate) fn feed_options(config: &Config) -> anyhow::Result<rampart_web::service::feeds::IngestOptions> {
    let schema = Some(config.feeds.schema_file.as_str()).filter(|p| !p.is_empty()).map(std::path::Path::new);
    let mut options = rampart_web::service::feeds::IngestOptions::defaults(Arc::new(shadowserver_schema(schema)?));
    options.notify = config.feeds.notify;
    options.dedupe_window = chrono::Duration::hours(config.feeds.dedupe_hours);
    options.dedupe = rampart_pipeline::experts::DedupeKeys::from_names(&config.feeds.dedupe_keys, &config.feeds.dedupe_ignore)?;
    options.mappings = config.feeds.mappings.iter().cloned().map(Arc::new).collect();
    options.warninglists = warninglists(config)?.map(Arc::new);
    if !config.feeds.rules_file.is_empty() {
        options.rules = Some(Arc::new(feed_rules(std::path::Path::new(&config.feeds.rules_file))?));
    }
    Ok(options)
}

/// The configured warninglists. A list or entry that cannot be used is reported and left
/// out; a folder that cannot be read at all is an error.
pub(crate) fn warninglists(config: &Config) -> anyhow::Result<Option<rampart_intel::warninglist::WarninglistSet>> {
    if config.intel.warninglists_dir.is_empty() {
        return Ok(None);
    }
    let dir = std::path::Path::new(&config.intel.warninglists_dir);
    if !dir.is_dir() {
        anyhow::bail!("intel.warninglists_dir {} is not a folder", dir.display());
    }
    let (lists, mut problems) = rampart_intel::warninglist::load_dir(dir);
    let (set, entry_problems) = rampart_intel::warninglist::WarninglistSet::new(lists);
    problems.extend(entry_problems);
    for problem in &problems {
        tracing::warn!(%problem, "warninglist");
    }
    Ok(Some(set))
}

/// The Shadowserver report schema in `path`, or the shipped one.
pub(crate) fn shadowserver_schema(path: Option<&std::path::Path>) -> anyhow::Result<rampart_pipeline::shadowserver::Schema> {
    let Some(path) = path else { return Ok(rampart_pipeline::shadowserver::Schema::builtin().clone()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    rampart_pipeline::shadowserver::Schema::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The feed rules in `path`, compiled.
pub(crate) fn feed_rules(path: &std::path::Path) -> anyhow::Result<rampart_pipeline::rules::RuleSet> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    rampart_pipeline::rules::compile(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The CERT key that signs notifications, when one is configured.
pub(crate) fn notification_signer(config: &Config) -> anyhow::Result<Option<rampart_notify::compose::Signer>> {
    if config.pgp.secret_key_file.is_empty() {
        return Ok(None);
    }
    let path = &config.pgp.secret_key_file;
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the CERT key {path}"))?;
    let passphrase = std::env::var("RAMPART_PGP_PASSPHRASE").unwrap_or_default();
    let signer =
        rampart_notify::compose::Signer::from_armored(&text, &passphrase).map_err(|e| anyhow::anyhow!("the CERT key {path}: {e}"))?;
    Ok(Some(signer))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let applied = store.migrate().await?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "database migrated");
    }
    let listener = tokio::net::TcpListener::bind(&config.listen).await.with_context(|| format!("listening on {}", config.listen))?;
    let bound = listener.local_addr()?.to_string();
    let settings = config.web_settings(&bound);
    let operator = rampart_web::service::orgs::ensure_operator(&*store, &config.operator_name).await?;
    if store.count_users().await? == 0 {
        let secret = rampart_web::service::accounts::issue_setup_secret(&*store).await?;
        println!("No administrator exists yet. To set the first administrator's password, open (valid 24 hours, once):");
        println!("  {}/setup?token={secret}", settings.public_url);
        println!("or create one here: rampart admin user add EMAIL --org \"{}\" --role admin --password-stdin", operator.name);
    }
    let mut state = rampart_web::AppState::new(store, settings, operator.id).context("smtp settings")?;
    if let Some(signer) = notification_signer(&config)? {
        state = state.with_signer(signer);
    }
    let feed_options = feed_options(&config)?;
    state = state.with_feed_options(feed_options.clone()).with_http_feeds(config.feeds.http.clone());
    if !config.feeds.http.is_empty() {
        tokio::spawn(rampart_web::service::feed_http::poll_http_feeds(
            state.store.clone(),
            state.route_index.clone(),
            config.data_dir.clone(),
            config.feeds.http.clone(),
            feed_options.clone(),
            rampart_web::service::feed_http::POLL_TICK,
        ));
    }
    state = state.with_taxii_pulls(config.intel.taxii_pulls.clone());
    if !config.intel.taxii_pulls.is_empty() {
        tokio::spawn(rampart_web::service::taxii_pull::poll_pulls(
            state.store.clone(),
            config.data_dir.clone(),
            config.intel.taxii_pulls.clone(),
            state.operator_org_id,
            rampart_web::service::taxii_pull::POLL_TICK,
        ));
    }
    if !config.feeds.watch_dir.is_empty() {
        let dir = std::path::PathBuf::from(&config.feeds.watch_dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        tokio::spawn(rampart_web::service::feeds::watch_folder(
            state.store.clone(),
            state.route_index.clone(),
            dir,
            feed_options,
            std::time::Duration::from_secs(config.feeds.poll_seconds),
        ));
    }
    tokio::spawn(rampart_web::service::notifications::run(
        state.store.clone(),
        (*state.notify).clone(),
        state.mailer.clone(),
        std::time::Duration::from_secs(config.notifications.poll_seconds),
    ));
    tokio::spawn(rampart_web::service::deadline_watch::watch(
        state.store.clone(),
        state.mailer.clone(),
        std::time::Duration::from_secs(config.deadlines.check_seconds),
        chrono::Duration::minutes(config.deadlines.remind_before_minutes),
    ));
    if !config.http.metrics_listen.is_empty() {
        let metrics = tokio::net::TcpListener::bind(&config.http.metrics_listen)
            .await
            .with_context(|| format!("listening on {} for metrics", config.http.metrics_listen))?;
        println!("Metrics on http://{}/metrics", metrics.local_addr()?);
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = rampart_web::serve_metrics(metrics, state).await {
                tracing::error!(error = %e, "metrics listener stopped");
            }
        });
    }
    // Printed last: whoever watches the output knows everything above is there.
    println!(
        "Rampart is listening on http://{bound} (database: {backend}, operator: {operator})",
        backend = state.store.backend(),
        operator = operator.name
    );
    rampart_web::serve(listener, state).await?;
    Ok(())
}
