//! `rampart worker --queue nats://…`: takes feed batches from NATS JetStream and runs
//! them through the pipeline configured in `[feeds]`, with the same code as `ingest`.

use crate::config::Config;
use anyhow::Context;
use clap::Args;
use rampart_store::Store;
use rampart_web::service::feed_queue::{self, QueueAddress, WorkerOptions};
use rampart_web::service::routing::RouteIndex;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
pub struct WorkerArgs {
    /// The queue: `nats://host:port[/namespace]`.
    #[arg(long, env = "RAMPART_QUEUE")]
    queue: String,
    /// Threads per batch; default: every core this process may use.
    #[arg(long)]
    threads: Option<usize>,
    /// Exit once the queue has had nothing waiting or in flight for this many seconds.
    #[arg(long)]
    until_idle_seconds: Option<u64>,
    /// How long a batch may go unacknowledged before it is given to another worker
    /// (set when the workers' consumer is first created).
    #[arg(long, default_value_t = 60)]
    ack_wait_seconds: u64,
    /// This worker's name in leases and logs; default: host name and process id.
    #[arg(long)]
    name: Option<String>,
}

pub async fn run(store: Arc<dyn Store>, config: &Config, args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let address = QueueAddress::parse(&args.queue)?;
    let mut ingest = crate::feed_options(config)?;
    if let Some(threads) = args.threads {
        ingest.threads = threads.max(1);
    }
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "worker".into());
    let opts = WorkerOptions {
        ingest,
        until_idle: args.until_idle_seconds.map(Duration::from_secs),
        ack_wait: Duration::from_secs(args.ack_wait_seconds.clamp(1, 3600)),
        worker_id: args.name.unwrap_or_else(|| format!("{host}:{}", std::process::id())),
    };
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    // A signal lets the batch in hand finish and commit; the next one stays queued.
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminated => {}
        }
        let _ = stop_tx.send(true);
    });
    let index = RouteIndex::new(&config.constituency.country);
    println!("worker {} taking batches from {}", opts.worker_id, address.batch_stream());
    let summary = feed_queue::run_worker(&*store, &index, &address, &opts, &stop).await.context("the worker stopped")?;
    println!(
        "worker {}: {} batches ({} delivered again after their commit, {} run again), rows read {}, written {}, duplicates {}, quarantined {}, notified {}",
        opts.worker_id,
        summary.batches,
        summary.already_done,
        summary.reruns,
        summary.rows_read,
        summary.written,
        summary.duplicates,
        summary.quarantined,
        summary.notified
    );
    Ok(ExitCode::SUCCESS)
}
