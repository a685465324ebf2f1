//! `rampart ingest FILE…`: feed files through the pipeline from the command line.

use crate::config::Config;
use crate::progress::Bar;
use anyhow::{bail, Context};
use clap::Args;
use rampart_core::constituency::import_routing;
use rampart_core::constituency::resolve::RoutingRow;
use rampart_store::{Actor, Store};
use rampart_web::service::feeds::{self, FeedFormat, IngestOptions, OutputSpec};
use rampart_web::service::routing::RouteIndex;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args)]
pub struct IngestArgs {
    /// Feed files: Shadowserver CSV reports, or IntelMQ JSON lines (.jsonl/.json).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The feed's name (fingerprints, counts and checkpoints are kept per feed);
    /// default: the Shadowserver feed name, or the file name.
    #[arg(long)]
    feed: Option<String>,
    /// `shadowserver` or `intelmq`; default by file extension.
    #[arg(long)]
    format: Option<String>,
    /// Read the files with this `[[feeds.mappings]]` entry of the configuration.
    #[arg(long)]
    mapping: Option<String>,
    /// Shadowserver report type (e.g. scan_dns) when the file name does not carry it.
    #[arg(long)]
    report_type: Option<String>,
    /// A newer Shadowserver report schema (intelmq.json) than the shipped one.
    #[arg(long)]
    schema: Option<PathBuf>,
    /// An extra IP→ASN table (`network asn cc` lines) for this run, on top of the registry's.
    #[arg(long)]
    routing: Vec<PathBuf>,
    /// Filter, modify and route events with these rules (docs/rules.md).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Write accepted events: `intelmq-jsonl:PATH`, or `csv:PATH` (columns with --csv-columns).
    #[arg(long)]
    output: Option<String>,
    /// Columns of CSV output, comma-separated IntelMQ field names.
    #[arg(long, value_delimiter = ',')]
    csv_columns: Vec<String>,
    /// Leave the original row (`raw`) out of events.
    #[arg(long)]
    no_raw: bool,
    /// Notify the responsible constituent of every routed event.
    #[arg(long)]
    notify: bool,
    /// How long an accepted event suppresses its duplicates.
    #[arg(long, default_value_t = 24)]
    dedupe_hours: i64,
    /// De-duplicate on these fields only (comma-separated); default: `feeds.dedupe_keys`, or
    /// every field but `feeds.dedupe_ignore` (raw and time.observation).
    #[arg(long, value_delimiter = ',')]
    dedupe_keys: Vec<String>,
    /// Worker threads; default: every core this process may use.
    #[arg(long)]
    threads: Option<usize>,
    /// Input read per batch (the unit of commit), in MiB; default 2 when one thread writes
    /// the events out as they are made (no rules), else 1: a batch's events then take
    /// several times its size while it is processed, so small batches keep memory low.
    #[arg(long)]
    batch_mib: Option<usize>,
    /// Process a file again although it was finished before.
    #[arg(long)]
    force: bool,
    /// Also write the end summary as JSON to this file.
    #[arg(long)]
    summary_json: Option<PathBuf>,
    /// Queue the files' batches on NATS JetStream (`nats://host:port[/namespace]`) for
    /// `rampart worker` processes instead of processing them here.
    #[arg(long, env = "RAMPART_QUEUE")]
    queue: Option<String>,
}

impl IngestArgs {
    /// The files go to a queue rather than through this process.
    pub fn queued(&self) -> bool {
        self.queue.is_some()
    }
}

fn extra_routing(paths: &[PathBuf]) -> anyhow::Result<Vec<RoutingRow>> {
    let mut rows = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let parsed = import_routing::parse_network_asn_cc(&text);
        for r in parsed.rejected.iter().take(20) {
            eprintln!("  {}:{}: {}", path.display(), r.line, r.reason);
        }
        rows.extend(parsed.rows.into_iter().map(RoutingRow::from));
    }
    Ok(rows)
}

/// The options every file of this run shares.
fn base_options(config: &Config, args: &IngestArgs) -> anyhow::Result<IngestOptions> {
    let schema = crate::shadowserver_schema(args.schema.as_deref())?;
    let rules = args.rules.as_deref().map(crate::feed_rules).transpose()?.map(Arc::new);
    let output = match args.output.as_deref() {
        Some(spec) => match spec.split_once(':') {
            Some(("intelmq-jsonl", path)) => Some(OutputSpec::IntelmqJsonl(PathBuf::from(path))),
            Some(("csv", path)) => {
                let columns = if args.csv_columns.is_empty() {
                    feeds::DEFAULT_CSV_COLUMNS.iter().map(|c| c.to_string()).collect()
                } else {
                    args.csv_columns.iter().map(|c| c.trim().to_string()).collect()
                };
                Some(OutputSpec::Csv(PathBuf::from(path), columns))
            }
            _ => bail!("--output must be intelmq-jsonl:PATH or csv:PATH"),
        },
        None => None,
    };
    let defaults = IngestOptions::defaults(Arc::new(schema));
    Ok(IngestOptions {
        feed: args.feed.clone(),
        include_raw: !args.no_raw,
        notify: args.notify,
        rules,
        dedupe_window: chrono::Duration::hours(args.dedupe_hours.max(0)),
        dedupe: if args.dedupe_keys.is_empty() {
            rampart_pipeline::experts::DedupeKeys::from_names(&config.feeds.dedupe_keys, &config.feeds.dedupe_ignore)?
        } else {
            rampart_pipeline::experts::DedupeKeys::from_names(&args.dedupe_keys, &[])?
        },
        threads: args.threads.unwrap_or(defaults.threads),
        batch_bytes: args.batch_mib.map(|mib| mib.clamp(1, 1024) << 20),
        output,
        extra_routing: extra_routing(&args.routing)?,
        force: args.force,
        warninglists: crate::warninglists(config)?.map(Arc::new),
        ..defaults
    })
}

/// How a file is read: a named mapping, an explicit format, or by its extension.
fn format_of(config: &Config, args: &IngestArgs, path: &std::path::Path) -> anyhow::Result<FeedFormat> {
    let is_json = path.extension().is_some_and(|e| e == "jsonl" || e == "json");
    let mapping = match &args.mapping {
        Some(name) => Some(Arc::new(
            config
                .feeds
                .mappings
                .iter()
                .find(|m| &m.name == name)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("no [[feeds.mappings]] entry is named {name:?}"))?,
        )),
        None => None,
    };
    Ok(match (args.format.as_deref(), mapping) {
        (_, Some(spec)) => FeedFormat::Mapping(spec),
        (format, None) => match format {
            Some("shadowserver") => FeedFormat::Shadowserver { report_type: args.report_type.clone() },
            Some("intelmq") => FeedFormat::IntelmqJson,
            Some(other) => bail!("unknown --format {other:?}: use shadowserver or intelmq"),
            None if is_json => FeedFormat::IntelmqJson,
            None => FeedFormat::Shadowserver { report_type: args.report_type.clone() },
        },
    })
}

/// `ingest --queue`: the files' batches go to the queue for the workers.
pub async fn enqueue(config: &Config, args: IngestArgs) -> anyhow::Result<ExitCode> {
    let address = rampart_web::service::feed_queue::QueueAddress::parse(args.queue.as_deref().unwrap_or_default())?;
    if args.output.is_some() || !args.routing.is_empty() || args.rules.is_some() {
        bail!("with --queue, outputs, rules and routing tables are the workers' (their configuration); accepted events go to the queue's event stream");
    }
    let base = base_options(config, &args)?;
    let mut failed = false;
    for path in &args.files {
        let opts = IngestOptions { format: format_of(config, &args, path)?, ..base.clone() };
        let bar = Bar { label: "queueing" };
        let progress = move |done: u64, total: u64| bar.show(done as usize, total as usize);
        match rampart_web::service::feed_queue::enqueue_file(&address, path, &opts, &progress).await {
            Ok(s) => println!(
                "{}: queued {} batches ({} bytes){}",
                path.display(),
                s.batches,
                s.bytes,
                if s.already_queued > 0 { format!(", {} of them were queued before", s.already_queued) } else { String::new() }
            ),
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::from(65) } else { ExitCode::SUCCESS })
}

pub async fn run(store: &dyn Store, config: &Config, args: IngestArgs) -> anyhow::Result<ExitCode> {
    let index = RouteIndex::new(&config.constituency.country);
    let base = base_options(config, &args)?;
    let mut failed = false;
    let mut summaries = Vec::new();
    for path in &args.files {
        let format = format_of(config, &args, path)?;
        let opts = IngestOptions { format, ..base.clone() };
        let bar = Bar { label: "ingesting" };
        let progress = move |done: u64, total: u64| bar.show(done as usize, total as usize);
        match feeds::ingest_file(store, &index, &Actor::Cli, path, &opts, &progress).await {
            Ok(s) if s.already_done => {
                println!("{}: already processed completely (feed {}); --force processes it again", path.display(), s.feed);
                summaries.push(s);
            }
            Ok(s) => {
                let resumed = s.resumed_at_line.map(|l| format!(" (resumed after line {l})")).unwrap_or_default();
                println!(
                    "{}: feed {}{resumed}\n  rows read {}, parsed {}, quarantined {}, dropped by rules {}, duplicates {}, routed {} ({} ties), written {}, notified {}, incidents {}\n  {:.3} s, {:.0} rows/s",
                    path.display(),
                    s.feed,
                    s.rows_read,
                    s.parsed,
                    s.quarantined,
                    s.dropped,
                    s.duplicates,
                    s.routed,
                    s.ties,
                    s.written,
                    s.notified,
                    s.incidents,
                    s.seconds,
                    s.rows_read as f64 / s.seconds.max(1e-9)
                );
                if s.quarantined > 0 {
                    println!("  quarantined rows are listed with `rampart feeds quarantine` and in the UI");
                }
                summaries.push(s);
            }
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                failed = true;
            }
        }
    }
    if let Some(path) = &args.summary_json {
        let json =
            if summaries.len() == 1 { serde_json::to_string_pretty(&summaries[0])? } else { serde_json::to_string_pretty(&summaries)? };
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(if failed { ExitCode::from(65) } else { ExitCode::SUCCESS })
}

#[derive(clap::Subcommand)]
pub enum FeedsCommand {
    /// Rows that could not be used, with their line and reason (newest first).
    Quarantine {
        #[arg(long)]
        feed: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Events per day, feed, organisation and type since a day (YYYY-MM-DD).
    Counts {
        #[arg(long)]
        feed: Option<String>,
        #[arg(long, default_value = "1970-01-01")]
        since: String,
    },
}

pub async fn feeds(store: &dyn Store, command: FeedsCommand) -> anyhow::Result<ExitCode> {
    match command {
        FeedsCommand::Quarantine { feed, limit } => {
            for q in store.feeds().quarantine(feed.as_deref(), limit.clamp(1, 10_000)).await? {
                println!(
                    "{}\t{}\t{}:{}\t{}\t{}",
                    q.id,
                    q.feed,
                    q.source.split(':').next().unwrap_or(""),
                    q.line,
                    q.reason,
                    q.raw.chars().take(200).collect::<String>()
                );
            }
        }
        FeedsCommand::Counts { feed, since } => {
            for c in store.feeds().counts(feed.as_deref(), &since).await? {
                let org = c.org_id.map(|o| o.to_string()).unwrap_or_else(|| "-".into());
                println!("{}\t{}\t{}\t{}\t{}", c.day, c.feed, org, c.classification_type, c.events);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
