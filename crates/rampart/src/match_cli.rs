//! The intelligence exchange at the command line. `rampart match`: every hit of logs or
//! observables against the active indicators, as JSON lines on standard output, with what
//! was loaded and read on standard error. `rampart taxii-pull`: pull from peers now.

use crate::config::Config;
use anyhow::Context;
use rampart_core::account::Role;
use rampart_core::policy::Caller;
use rampart_intel::matcher::Scratch;
use rampart_web::service::intel_match::{self, InputFormat};
use std::io::{BufRead, Write};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct MatchArgs {
    /// lines (free text, e.g. logs), intelmq (JSON events), csv, or stix (observed-data, bundles or SCOs, one per line).
    #[arg(long, default_value = "lines")]
    format: String,
    /// Files to read; `-` is standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub async fn run(config: &Config, args: MatchArgs) -> anyhow::Result<std::process::ExitCode> {
    let format: InputFormat = args.format.parse().map_err(anyhow::Error::msg)?;
    let store = crate::open_store(config).await?;
    store.migrate().await?;
    let operator = rampart_web::service::orgs::ensure_operator(&*store, &config.operator_name).await?;
    // The operator at the command line reads as CERT staff: everything but TLP:RED not for it.
    let caller = Caller { org_id: Some(operator.id), roles: vec![Role::Analyst], ..Caller::default() };
    let lists = crate::warninglists(config)?;
    let now = chrono::Utc::now();
    let (matcher, report) = intel_match::load(&*store, &caller, lists.as_ref(), now).await?;
    eprintln!(
        "{} indicators ({} tried on every line), {} not STIX patterns, {} revoked or expired, {} only warninglisted values, {} invalid",
        report.indicators,
        report.unanchored,
        report.other_pattern_types,
        report.revoked_or_expired,
        report.warninglisted,
        report.invalid.len()
    );
    for (id, why) in &report.invalid {
        eprintln!("  {id}: {why}");
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut scratch = Scratch::default();
    let (mut lines, mut hits, mut unreadable) = (0u64, 0u64, 0u64);
    for path in &args.files {
        let name = path.display().to_string();
        let reader: Box<dyn BufRead> = if name == "-" {
            Box::new(std::io::BufReader::new(std::io::stdin()))
        } else {
            Box::new(std::io::BufReader::new(std::fs::File::open(path).with_context(|| format!("opening {name}"))?))
        };
        for (n, line) in reader.split(b'\n').enumerate() {
            let line = line.with_context(|| format!("reading {name}"))?;
            let line = String::from_utf8_lossy(&line);
            lines += 1;
            let observation = match intel_match::read_line(format, &line, now) {
                Ok(Some(o)) => o,
                Ok(None) => continue,
                Err(why) => {
                    unreadable += 1;
                    eprintln!("{name}:{}: {why}", n + 1);
                    continue;
                }
            };
            for &hit in matcher.match_observation(&observation, &mut scratch) {
                let indicator = matcher.item(hit);
                hits += 1;
                let record = serde_json::json!({
                    "source": name, "line": n + 1, "indicator": indicator.id, "name": indicator.name,
                    "pattern": indicator.pattern, "tlp": indicator.tlp,
                });
                writeln!(out, "{record}")?;
            }
        }
    }
    out.flush()?;
    eprintln!("{lines} lines read, {unreadable} unreadable, {hits} hits");
    Ok(std::process::ExitCode::SUCCESS)
}

pub async fn pull(config: &Config, names: &[String]) -> anyhow::Result<std::process::ExitCode> {
    let pulls: Vec<_> = config.intel.taxii_pulls.iter().filter(|p| names.is_empty() || names.contains(&p.name)).collect();
    if let Some(unknown) = names.iter().find(|n| !config.intel.taxii_pulls.iter().any(|p| &p.name == *n)) {
        anyhow::bail!("no [[intel.taxii_pulls]] entry is named {unknown:?}");
    }
    if pulls.is_empty() {
        anyhow::bail!("no peers to pull: add [[intel.taxii_pulls]] to the configuration");
    }
    let store = crate::open_store(config).await?;
    store.migrate().await?;
    let operator = rampart_web::service::orgs::ensure_operator(&*store, &config.operator_name).await?;
    let mut failed = false;
    for pull in pulls {
        match rampart_web::service::taxii_pull::pull_once(&*store, &config.data_dir, pull, operator.id).await {
            Ok(o) => println!(
                "{}: {} pages, {} objects received, {} new, {} already present, {} refused",
                pull.name, o.pages, o.received, o.added, o.present, o.refused
            ),
            Err(e) => {
                failed = true;
                println!("{}: failed: {e}", pull.name);
            }
        }
    }
    Ok(if failed { std::process::ExitCode::FAILURE } else { std::process::ExitCode::SUCCESS })
}

#[derive(clap::Subcommand)]
pub enum MispFeedCommand {
    /// Write the events a peer may read as a MISP feed (manifest.json, <uuid>.json, hashes.csv).
    Export {
        dir: PathBuf,
        /// Whose view: an organisation's name (default: any member of the community).
        #[arg(long)]
        as_org: Option<String>,
    },
    /// Import a MISP feed from a folder or an http(s) URL.
    Import {
        /// A folder, or the feed's base URL.
        source: String,
        /// The organisation the events are recorded as produced by (e.g. the peer).
        #[arg(long)]
        org: String,
        /// community, constituency, cert (CERT staff only) or group:<sharing group name>.
        #[arg(long, default_value = "community")]
        share_with: String,
        /// An environment variable holding the Authorization header for a URL.
        #[arg(long)]
        auth_header_env: Option<String>,
    },
}

pub async fn misp_feed(config: &Config, command: MispFeedCommand) -> anyhow::Result<std::process::ExitCode> {
    use rampart_web::service::misp_feed;
    let store = crate::open_store(config).await?;
    store.migrate().await?;
    let operator = rampart_web::service::orgs::ensure_operator(&*store, &config.operator_name).await?;
    let summary = match command {
        MispFeedCommand::Export { dir, as_org } => {
            let caller = match as_org {
                Some(name) => {
                    let org = store.find_org_by_name(&name).await?.with_context(|| format!("no organisation named {name:?}"))?;
                    let sharing_groups = store.intel().sharing_groups_of(org.id).await?;
                    Caller {
                        org_id: Some(org.id),
                        org_parent_id: org.parent_id,
                        roles: vec![Role::OrgMember],
                        sharing_groups,
                        ..Caller::default()
                    }
                }
                // A member of no group: what the whole community may read.
                None => Caller { org_id: Some(uuid::Uuid::nil()), roles: vec![Role::OrgMember], ..Caller::default() },
            };
            misp_feed::export(&*store, &caller, &dir).await?
        }
        MispFeedCommand::Import { source, org, share_with, auth_header_env } => {
            let producer = store.find_org_by_name(&org).await?.with_context(|| format!("no organisation named {org:?}"))?;
            let audience = rampart_web::service::intel::audience_named(&*store, &share_with, operator.id).await?;
            let authorization = match auth_header_env {
                Some(var) => Some(std::env::var(&var).with_context(|| format!("the environment variable {var} is not set"))?),
                None => None,
            };
            let src = if source.starts_with("http://") || source.starts_with("https://") {
                misp_feed::Source::Url { base: &source, authorization: authorization.as_deref() }
            } else {
                misp_feed::Source::Dir(std::path::Path::new(&source))
            };
            misp_feed::import(&*store, src, producer.id, audience).await?
        }
    };
    println!(
        "{} events, {} attributes; {} objects new, {} already present; {} events skipped",
        summary.events,
        summary.attributes,
        summary.added,
        summary.present,
        summary.skipped.len()
    );
    for (uuid, why) in &summary.skipped {
        println!("  skipped {uuid}: {why}");
    }
    Ok(if summary.skipped.is_empty() { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::from(65) })
}
