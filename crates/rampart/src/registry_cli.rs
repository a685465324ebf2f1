//! `rampart route`, `rampart import …` and `rampart notify …`.

use crate::config::Config;
use crate::progress::Bar;
use anyhow::Context;
use clap::Subcommand;
use rampart_core::constituency::{import_csv, import_routing, import_rpsl};
use rampart_store::{Actor, Store};
use rampart_web::service::imports::{self, RejectedLine};
use rampart_web::service::routing::{self, RouteIndex};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Organisations with their assets and contacts (CSV or RIPE-database split files).
    Registry {
        /// The import's name; its entries are `imported:<name>`, replaced on the next run.
        #[arg(long)]
        name: String,
        /// `csv` (columns in docs/imports.md) or `rpsl` (ripe.db.inetnum, .inet6num, .aut-num, .organisation, .role).
        #[arg(long)]
        format: String,
        /// Country to keep from RIPE data; default: constituency.country.
        #[arg(long)]
        country: Option<String>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The IP→ASN routing table: `network asn cc` lines, or RIR delegated statistics.
    Routing {
        #[arg(long)]
        name: String,
        /// `tsv` or `delegated`.
        #[arg(long)]
        format: String,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum NotifyCommand {
    /// Compose what is due and send the outbox once, then exit.
    Flush,
}

fn read_files(files: &[PathBuf]) -> anyhow::Result<Vec<(String, String)>> {
    let bar = Bar { label: "reading" };
    let mut out = Vec::new();
    for (i, path) in files.iter().enumerate() {
        bar.show(i, files.len());
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let text = String::from_utf8(bytes)
            .map_err(|e| anyhow::anyhow!("{} is not UTF-8 text (byte {})", path.display(), e.utf8_error().valid_up_to()))?;
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        out.push((name, text));
    }
    bar.show(files.len(), files.len());
    Ok(out)
}

fn print_rejected(rejected: &[RejectedLine]) {
    for r in rejected.iter().take(200) {
        match &r.file {
            Some(f) => eprintln!("  rejected {f}:{}: {}", r.line, r.reason),
            None => eprintln!("  rejected line {}: {}", r.line, r.reason),
        }
    }
    if rejected.len() > 200 {
        eprintln!("  … and {} more", rejected.len() - 200);
    }
}

pub async fn import(store: &dyn Store, config: &Config, command: ImportCommand) -> anyhow::Result<ExitCode> {
    let index = RouteIndex::new(&config.constituency.country);
    match command {
        ImportCommand::Registry { name, format, country, files } => {
            let texts = read_files(&files)?;
            let country = country.unwrap_or_else(|| config.constituency.country.clone()).to_ascii_uppercase();
            let parsed = match format.as_str() {
                "csv" => {
                    let mut all = rampart_core::constituency::import::ParsedImport { orgs: Vec::new(), rejected: Vec::new(), lines: 0 };
                    for (file, text) in &texts {
                        let mut one = import_csv::parse_csv(text);
                        for r in &mut one.rejected {
                            r.file = Some(file.clone());
                        }
                        all.lines += one.lines;
                        all.orgs.extend(one.orgs);
                        all.rejected.extend(one.rejected);
                    }
                    all
                }
                "rpsl" => {
                    let refs: Vec<(&str, &str)> = texts.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
                    import_rpsl::parse_rpsl(&refs, &country)
                }
                other => anyhow::bail!("unknown format {other:?}: use csv or rpsl"),
            };
            let bar = Bar { label: "organisations" };
            let progress = move |done: usize, total: usize| bar.show(done, total);
            let summary = imports::import_registry(store, &index, &Actor::Cli, &name, &parsed, &country, &progress).await?;
            println!(
                "import {}: {} line(s) read; {} organisation(s) created\n  assets:   {} added, {} changed, {} removed, {} unchanged\n  contacts: {} added, {} changed, {} removed, {} unchanged\n  rejected: {}",
                summary.source,
                summary.lines,
                summary.organisations_created,
                summary.assets.added,
                summary.assets.changed,
                summary.assets.removed,
                summary.assets.unchanged,
                summary.contacts.added,
                summary.contacts.changed,
                summary.contacts.removed,
                summary.contacts.unchanged,
                summary.rejected.len()
            );
            print_rejected(&summary.rejected);
        }
        ImportCommand::Routing { name, format, files } => {
            let texts = read_files(&files)?;
            let mut all = import_routing::ParsedRouting { rows: Vec::new(), rejected: Vec::new(), lines: 0, asn_countries: Vec::new() };
            let bar = Bar { label: "parsing" };
            for (i, (file, text)) in texts.iter().enumerate() {
                bar.show(i, texts.len());
                let mut one = match format.as_str() {
                    "tsv" => import_routing::parse_network_asn_cc(text),
                    "delegated" => import_routing::parse_rir_delegated(text),
                    other => anyhow::bail!("unknown format {other:?}: use tsv or delegated"),
                };
                for r in &mut one.rejected {
                    r.file = Some(file.clone());
                }
                all.lines += one.lines;
                all.rows.extend(one.rows);
                all.rejected.extend(one.rejected);
                all.asn_countries.extend(one.asn_countries);
            }
            bar.show(texts.len(), texts.len());
            let summary = imports::import_routing(store, &index, &Actor::Cli, &name, &all).await?;
            println!(
                "routing {}: {} line(s) read\n  prefixes: {} added, {} changed, {} removed, {} unchanged\n  rejected: {}",
                summary.source,
                summary.lines,
                summary.prefixes.added,
                summary.prefixes.changed,
                summary.prefixes.removed,
                summary.prefixes.unchanged,
                summary.rejected.len()
            );
            print_rejected(&summary.rejected);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn route(store: &dyn Store, config: &Config, queries: &[String], json: bool) -> anyhow::Result<ExitCode> {
    let index = RouteIndex::new(&config.constituency.country);
    let mut failed = false;
    for q in queries {
        match routing::resolve(store, &index, q).await {
            Ok(report) if json => println!("{}", serde_json::to_string(&report)?),
            Ok(report) => {
                let a = &report.answer;
                let context = match (a.asn, &a.country) {
                    (Some(asn), Some(cc)) => format!(" [AS{asn}, {cc}]"),
                    (Some(asn), None) => format!(" [AS{asn}]"),
                    (None, Some(cc)) => format!(" [{cc}]"),
                    (None, None) => String::new(),
                };
                if report.organisations.is_empty() {
                    println!("{q}{context}: no responsible organisation");
                }
                for o in &report.organisations {
                    let contacts: Vec<String> =
                        o.contacts.iter().filter_map(|c| c.email.as_ref().map(|e| format!("{} {e}", c.role))).collect();
                    let tie = if a.tie { " (tie: several organisations hold this equally)" } else { "" };
                    println!(
                        "{q}{context}: {} — {}{tie}; contacts: {}",
                        o.organisation.name,
                        o.reason,
                        if contacts.is_empty() { "none".into() } else { contacts.join(", ") }
                    );
                }
            }
            Err(e) => {
                eprintln!("{q}: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::from(65) } else { ExitCode::SUCCESS })
}

pub async fn notify(store: Arc<dyn Store>, config: &Config, command: NotifyCommand) -> anyhow::Result<ExitCode> {
    match command {
        NotifyCommand::Flush => {
            let settings = config.web_settings(&config.listen);
            let mailer = if settings.smtp_relay.is_empty() {
                None
            } else {
                Some(rampart_notify::smtp::Mailer::new(&settings.smtp_relay, &settings.mail_from).context("smtp settings")?)
            };
            let mut notify = rampart_web::service::notifications::NotifySettings::from_web(&settings);
            notify.signer = crate::notification_signer(config)?.map(Arc::new);
            let (queued, sent, problems) = rampart_web::service::notifications::tick(&*store, &notify, mailer.as_ref()).await?;
            println!("{queued} message(s) composed, {sent} sent");
            for p in &problems {
                eprintln!("  not composed: {p}");
            }
            if mailer.is_none() {
                eprintln!("  no smtp.relay is configured: messages stay in the outbox");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
