//! Scale-out feeds on NATS JetStream. `rampart ingest --queue URL` cuts a feed file into
//! batches of whole records and publishes each as one message; any number of
//! `rampart worker --queue URL` processes, on any number of machines, take batches from
//! one durable consumer and run the same pipeline as an in-process run.
//!
//! What keeps it exact:
//! - a batch is acknowledged to JetStream only after its results are committed, so a
//!   killed worker's batch is delivered again;
//! - a batch's commit records it as done (checkpoint `SOURCE#N`), so a batch delivered
//!   again after its commit is only acknowledged;
//! - workers parse and route in parallel, but check and commit one at a time per feed,
//!   under a lease in the database: a batch whose new events another worker accepted
//!   meanwhile is run again against them, so an event is accepted (and told) once;
//! - producers publish with a message id per batch, so a producer run again queues nothing
//!   twice; accepted events go to the events stream with a message id per batch too.

use super::feeds::{
    self, feed_rows, io_error, open_input, read_header_line, source_key, BatchError, BatchReader, FeedFormat, FeedRows, IngestOptions,
};
use super::routing::RouteIndex;
use super::{ServiceError, ServiceResult};
use async_nats::jetstream::{self, consumer, stream};
use async_nats::HeaderMap;
use chrono::Utc;
use futures_util::StreamExt;
use rampart_pipeline::engine::{self, Counts, FingerprintSet, Scratch, Stages};
use rampart_store::feeds::BatchCommit;
use rampart_store::{Actor, Store};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const HEADER_FEED: &str = "Rampart-Feed";
const HEADER_FILE: &str = "Rampart-File";
const HEADER_FORMAT: &str = "Rampart-Format";
const HEADER_SOURCE: &str = "Rampart-Source";
const HEADER_BATCH: &str = "Rampart-Batch";
const HEADER_FIRST_LINE: &str = "Rampart-First-Line";
const HEADER_CSV_HEADER: &str = "Rampart-Csv-Header";
const MESSAGE_ID: &str = "Nats-Msg-Id";
const WORKERS: &str = "rampart-feed-workers";

/// A queue: a NATS server and a namespace, `nats://host:port[/namespace]`. Namespaces
/// keep separate installations (or tests) on one server apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueAddress {
    pub server: String,
    pub namespace: Option<String>,
}

impl QueueAddress {
    pub fn parse(url: &str) -> ServiceResult<Self> {
        let rest = url
            .strip_prefix("nats://")
            .ok_or_else(|| ServiceError::Invalid(format!("a queue is nats://host:port[/namespace], not {url:?}")))?;
        let (server, namespace) = match rest.split_once('/') {
            Some((server, ns)) => (server, Some(ns.trim_matches('/')).filter(|ns| !ns.is_empty())),
            None => (rest, None),
        };
        if server.is_empty() {
            return Err(ServiceError::Invalid(format!("the queue {url:?} names no server")));
        }
        if let Some(ns) = namespace {
            if !ns.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') || ns.len() > 64 {
                return Err(ServiceError::Invalid(format!("a queue namespace is up to 64 letters, digits, - and _, not {ns:?}")));
            }
        }
        Ok(QueueAddress { server: server.to_string(), namespace: namespace.map(str::to_string) })
    }

    fn suffix(&self, separator: &str) -> String {
        self.namespace.as_ref().map(|ns| format!("{separator}{ns}")).unwrap_or_default()
    }

    /// The stream of batches waiting for a worker.
    pub fn batch_stream(&self) -> String {
        format!("RAMPART_FEEDS{}", self.suffix("_"))
    }

    pub fn batch_subject(&self) -> String {
        format!("rampart{}.feeds.batches", self.suffix("."))
    }

    /// The stream of accepted events (IntelMQ JSON lines, one message per batch).
    pub fn event_stream(&self) -> String {
        format!("RAMPART_EVENTS{}", self.suffix("_"))
    }

    /// Accepted events of one feed.
    pub fn event_subject(&self, feed: &str) -> String {
        let token: String = feed.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
        format!("rampart{}.events.{token}", self.suffix("."))
    }

    fn event_subjects(&self) -> String {
        format!("rampart{}.events.>", self.suffix("."))
    }
}

fn queue_error(what: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Invalid(format!("{what}: {e}"))
}

/// A connection to the queue with both streams in place.
struct Queue {
    address: QueueAddress,
    client: async_nats::Client,
    js: jetstream::Context,
    batches: stream::Stream,
}

impl Queue {
    async fn open(address: &QueueAddress) -> ServiceResult<Queue> {
        let client = async_nats::connect(address.server.as_str())
            .await
            .map_err(|e| queue_error(&format!("connecting to NATS at {}", address.server), e))?;
        let js = jetstream::new(client.clone());
        let batches = js
            .get_or_create_stream(stream::Config {
                name: address.batch_stream(),
                subjects: vec![address.batch_subject()],
                // A batch leaves the stream once a worker has acknowledged it.
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                // A producer run again within a day queues nothing twice.
                duplicate_window: Duration::from_secs(24 * 3600),
                ..Default::default()
            })
            .await
            .map_err(|e| queue_error("creating the batch stream", e))?;
        js.get_or_create_stream(stream::Config {
            name: address.event_stream(),
            subjects: vec![address.event_subjects()],
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(24 * 3600),
            max_age: Duration::from_secs(7 * 24 * 3600),
            ..Default::default()
        })
        .await
        .map_err(|e| queue_error("creating the event stream", e))?;
        Ok(Queue { address: address.clone(), client, js, batches })
    }
}

/// How a format travels in a batch's headers.
fn format_header(format: &FeedFormat) -> String {
    match format {
        FeedFormat::Shadowserver { report_type: Some(t) } => format!("shadowserver:{t}"),
        FeedFormat::Shadowserver { report_type: None } => "shadowserver".into(),
        FeedFormat::IntelmqJson => "intelmq-json".into(),
        FeedFormat::Mapping(spec) => format!("mapping:{}", spec.name),
    }
}

fn parse_format(text: &str, mappings: &[Arc<rampart_pipeline::mapping::MappingSpec>]) -> ServiceResult<FeedFormat> {
    Ok(match text.split_once(':') {
        None if text == "shadowserver" => FeedFormat::Shadowserver { report_type: None },
        None if text == "intelmq-json" => FeedFormat::IntelmqJson,
        Some(("shadowserver", t)) => FeedFormat::Shadowserver { report_type: Some(t.to_string()) },
        Some(("mapping", name)) => FeedFormat::Mapping(
            mappings
                .iter()
                .find(|m| m.name == name)
                .cloned()
                .ok_or_else(|| ServiceError::Invalid(format!("this worker's configuration has no mapping {name:?}")))?,
        ),
        _ => return Err(ServiceError::Invalid(format!("unknown feed format {text:?}"))),
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EnqueueSummary {
    pub source: String,
    pub batches: u64,
    pub bytes: u64,
    /// Batches the stream already had from an earlier run of the same file.
    pub already_queued: u64,
}

/// Cuts a feed file into batches and queues them. Nothing is parsed here: the workers
/// do that, and quarantine what they cannot read.
pub async fn enqueue_file(
    address: &QueueAddress,
    path: &Path,
    opts: &IngestOptions,
    progress: feeds::Progress<'_>,
) -> ServiceResult<EnqueueSummary> {
    let queue = Queue::open(address).await?;
    let file_name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let (source, size) = source_key(path)?;
    let mut input = std::io::BufReader::with_capacity(1 << 20, open_input(path, &opts.format)?);

    let mut headers_base = HeaderMap::new();
    headers_base.insert(HEADER_FEED, opts.feed.clone().unwrap_or_default());
    headers_base.insert(HEADER_FILE, sanitize_header(&file_name));
    headers_base.insert(HEADER_FORMAT, format_header(&opts.format));
    headers_base.insert(HEADER_SOURCE, sanitize_header(&source));
    let mut first_line = 0usize;
    let mut header_len = 0usize;
    let mut rows = None;
    if opts.format.has_header() {
        let (header, len) = read_header_line(&mut input, path)?;
        header_len = len as usize;
        headers_base.insert(HEADER_CSV_HEADER, sanitize_header(&header));
        // The workers check it against the report; checked here too, so a wrong file
        // fails before anything is queued.
        rows = Some(feed_rows(&opts.format, Some(header), &file_name, opts)?);
        first_line = 1;
    }
    let rows = match rows {
        Some(rows) => rows,
        None => feed_rows(&opts.format, None, &file_name, opts)?,
    };
    // A message must fit the server's payload limit, with room for the headers.
    let limit = queue.client.server_info().max_payload.saturating_sub(header_len + 8192).max(4096);
    // Workers hold a batch's events whole.
    let batch_bytes = opts.batch_bytes.unwrap_or_else(|| engine::batch_bytes_for(false)).min(limit);

    let mut summary = EnqueueSummary { source: source.clone(), batches: 0, bytes: header_len as u64, already_queued: 0 };
    let mut acks = Vec::new();
    // A message holds a whole number of records: one longer than a message is refused.
    let mut reader = BatchReader::new(input, batch_bytes, batch_bytes);
    loop {
        let batch = match reader.next_batch(&rows) {
            Ok(Some(batch)) if batch.bytes.is_empty() => break,
            Ok(Some(batch)) => batch,
            Ok(None) => break,
            Err(BatchError::Io(e)) => return Err(io_error("reading", path, e)),
            Err(BatchError::RecordTooLong) => {
                return Err(ServiceError::Invalid(format!(
                    "{file_name}: a record after line {first_line} is longer than a queue message ({batch_bytes} bytes)"
                )))
            }
        };
        let (batch, lines) = (batch.bytes, batch.lines);
        let mut headers = headers_base.clone();
        headers.insert(HEADER_BATCH, summary.batches.to_string());
        headers.insert(HEADER_FIRST_LINE, first_line.to_string());
        headers.insert(MESSAGE_ID, format!("{}#{}", sanitize_header(&source), summary.batches));
        summary.bytes += batch.len() as u64;
        summary.batches += 1;
        first_line += lines;
        let ack = queue
            .js
            .publish_with_headers(address.batch_subject(), headers, bytes::Bytes::from(batch))
            .await
            .map_err(|e| queue_error("queueing a batch", e))?;
        acks.push(ack);
        // A bounded number of batches in flight: the server confirms each.
        if acks.len() >= 32 {
            for ack in acks.drain(..) {
                summary.already_queued += u64::from(ack.await.map_err(|e| queue_error("queueing a batch", e))?.duplicate);
            }
        }
        progress(summary.bytes, size);
    }
    for ack in acks {
        summary.already_queued += u64::from(ack.await.map_err(|e| queue_error("queueing a batch", e))?.duplicate);
    }
    Ok(summary)
}

/// Header values are one line of visible text.
fn sanitize_header(value: &str) -> String {
    value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The pipeline as configured (rules, notification, de-duplication window, schema).
    pub ingest: IngestOptions,
    /// Stop once the queue has been empty (nothing waiting, nothing in flight) this long.
    pub until_idle: Option<Duration>,
    /// How long a batch may stay unacknowledged before it goes to another worker.
    pub ack_wait: Duration,
    /// This worker's name in leases and logs.
    pub worker_id: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct WorkerSummary {
    pub batches: u64,
    /// Batches delivered again that had been committed already.
    pub already_done: u64,
    /// Batches run again because another worker accepted some of their events first.
    pub reruns: u64,
    pub rows_read: u64,
    pub written: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub notified: u64,
}

/// A feed's fingerprints as far as this worker has read them.
#[derive(Default)]
struct FeedState {
    seen: FingerprintSet,
    seq: i64,
}

/// What a batch message says about itself.
struct BatchMeta {
    feed: String,
    file_name: String,
    /// Unreadable here (a mapping this worker's configuration lacks): the batch is quarantined.
    format: Result<FeedFormat, String>,
    source: String,
    batch: u64,
    first_line: usize,
    csv_header: Option<String>,
}

impl BatchMeta {
    fn read(headers: Option<&HeaderMap>, mappings: &[Arc<rampart_pipeline::mapping::MappingSpec>]) -> ServiceResult<BatchMeta> {
        let headers = headers.ok_or_else(|| ServiceError::Invalid("a batch without headers".into()))?;
        let get = |name: &str| headers.get(name).map(|v| v.as_str().to_string());
        let need = |name: &str| get(name).ok_or_else(|| ServiceError::Invalid(format!("a batch without {name}")));
        let number = |name: &str| need(name)?.parse::<u64>().map_err(|_| ServiceError::Invalid(format!("a batch with a bad {name}")));
        Ok(BatchMeta {
            feed: get(HEADER_FEED).unwrap_or_default(),
            file_name: need(HEADER_FILE)?,
            format: parse_format(&need(HEADER_FORMAT)?, mappings).map_err(|e| e.to_string()),
            source: need(HEADER_SOURCE)?,
            batch: number(HEADER_BATCH)?,
            first_line: number(HEADER_FIRST_LINE)? as usize,
            csv_header: get(HEADER_CSV_HEADER),
        })
    }
}

/// Takes batches from the queue until stopped (or idle, with `until_idle`).
pub async fn run_worker(
    store: &dyn Store,
    route_index: &RouteIndex,
    address: &QueueAddress,
    opts: &WorkerOptions,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> ServiceResult<WorkerSummary> {
    let queue = Queue::open(address).await?;
    let consumer: consumer::PullConsumer = queue
        .batches
        .get_or_create_consumer(
            WORKERS,
            consumer::pull::Config {
                durable_name: Some(WORKERS.into()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: opts.ack_wait,
                max_deliver: -1,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| queue_error("joining the workers' consumer", e))?;
    let mut summary = WorkerSummary::default();
    let mut feeds: HashMap<String, FeedState> = HashMap::new();
    let mut scratch = Scratch::default();
    let mut idle_since: Option<Instant> = None;
    while !*stop.borrow() {
        let mut messages = consumer
            .batch()
            .max_messages(1)
            .expires(Duration::from_secs(1))
            .messages()
            .await
            .map_err(|e| queue_error("asking for a batch", e))?;
        let mut got = false;
        while let Some(message) = messages.next().await {
            let message = match message {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "reading from the queue");
                    continue;
                }
            };
            got = true;
            idle_since = None;
            let meta = match BatchMeta::read(message.headers.as_ref(), &opts.ingest.mappings) {
                Ok(meta) => meta,
                Err(e) => {
                    // Not ours to read: never delivered again, and said so.
                    tracing::error!(subject = %message.subject, error = %e, "a batch this worker cannot read; it is dropped from the queue");
                    message.ack_with(jetstream::AckKind::Term).await.map_err(|e| queue_error("acknowledging", e))?;
                    continue;
                }
            };
            let text = match std::str::from_utf8(&message.payload) {
                Ok(t) => t.to_string(),
                Err(_) => String::from_utf8_lossy(&message.payload).into_owned(),
            };
            run_batch(store, route_index, &queue, opts, &message, &meta, &text, &mut feeds, &mut scratch, &mut summary).await?;
            message.double_ack().await.map_err(|e| queue_error("acknowledging a batch", e))?;
        }
        if got {
            continue;
        }
        if let Some(idle) = opts.until_idle {
            let info = consumer.get_info().await.map_err(|e| queue_error("reading the queue's state", e))?;
            if info.num_pending == 0 && info.num_ack_pending == 0 {
                let since = *idle_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= idle {
                    break;
                }
            } else {
                idle_since = None;
            }
        }
    }
    Ok(summary)
}

#[allow(clippy::too_many_arguments)]
async fn run_batch(
    store: &dyn Store,
    route_index: &RouteIndex,
    queue: &Queue,
    opts: &WorkerOptions,
    message: &jetstream::Message,
    meta: &BatchMeta,
    text: &str,
    feeds: &mut HashMap<String, FeedState>,
    scratch: &mut Scratch,
    summary: &mut WorkerSummary,
) -> ServiceResult<()> {
    let ingest = &opts.ingest;
    let parsed = meta
        .format
        .clone()
        .map_err(ServiceError::Invalid)
        .and_then(|format| feed_rows(&format, meta.csv_header.clone(), &meta.file_name, ingest));
    let parser = match parsed {
        Ok(parser) => parser,
        Err(e) => return quarantine_batch(store, meta, text, &e.to_string(), summary).await,
    };
    let feed = if !meta.feed.is_empty() { meta.feed.clone() } else { parser.feed_name().unwrap_or(&meta.file_name).to_string() };
    let batch_source = format!("{}#{}", meta.source, meta.batch);
    if store.feeds().checkpoint(&feed, &batch_source).await?.is_some_and(|c| c.finished) {
        summary.already_done += 1;
        return Ok(());
    }
    let index = feeds::index_for(store, route_index, &ingest.extra_routing).await?;
    let observation_time = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    let keys = ingest.dedupe.clone();
    let feed_override = (!meta.feed.is_empty()).then_some(meta.feed.as_str());
    let state = feeds.entry(feed.clone()).or_default();
    let lease = Duration::from_secs(30).min(opts.ack_wait);
    // Each message is a run of its own: its parser, routing and observation time.
    scratch.new_run();
    loop {
        let (newer, seq) = store.feeds().fingerprints_since(&feed, Utc::now(), state.seq).await?;
        state.seen.extend(newer);
        state.seq = seq;
        let out = tokio::task::block_in_place(|| {
            let stages = Stages {
                index: &index,
                rules: ingest.rules.as_deref(),
                dedupe: &keys,
                feed_name: feed_override,
                observation_time: &observation_time,
                notify_all: ingest.notify,
                warninglists: ingest.warninglists.as_deref(),
            };
            engine::process_batch(parser.input(text, meta.first_line), &stages, ingest.threads.max(1), &mut state.seen, scratch)
        });

        // One worker at a time checks against the latest fingerprints and commits.
        // A lease left by a killed worker runs out; meanwhile the batch stays ours.
        let mut last_progress = Instant::now();
        let started = Instant::now();
        while !store.feeds().take_lease(&feed, &opts.worker_id, Utc::now(), Utc::now() + lease).await? {
            if started.elapsed() > lease * 10 {
                return Err(ServiceError::Invalid(format!("the lease on feed {feed:?} was not free for {:?}", lease * 10)));
            }
            if last_progress.elapsed() > opts.ack_wait / 3 {
                message.ack_with(jetstream::AckKind::Progress).await.map_err(|e| queue_error("extending a batch", e))?;
                last_progress = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let result = commit_batch(store, route_index, queue, ingest, &feed, &batch_source, &parser, state, out).await;
        store.feeds().release_lease(&feed, &opts.worker_id).await?;
        match result? {
            Committed::Yes(counts) => {
                summary.batches += 1;
                summary.rows_read += counts.rows_read;
                summary.written += counts.written;
                summary.duplicates += counts.duplicates;
                summary.quarantined += counts.quarantined;
                summary.notified += counts.notified;
                return Ok(());
            }
            Committed::RunAgain => summary.reruns += 1,
        }
    }
}

/// A batch no row of which can be read (its report type is unknown here, say) is kept
/// whole in the quarantine, with its header, rather than lost or retried for ever.
async fn quarantine_batch(store: &dyn Store, meta: &BatchMeta, text: &str, reason: &str, summary: &mut WorkerSummary) -> ServiceResult<()> {
    let feed = if meta.feed.is_empty() { meta.file_name.clone() } else { meta.feed.clone() };
    tracing::warn!(feed = %feed, source = %meta.source, batch = meta.batch, reason, "a queued batch cannot be read; it is quarantined");
    let raw = match &meta.csv_header {
        Some(header) => format!("{header}\n{text}"),
        None => text.to_string(),
    };
    let commit = BatchCommit {
        feed,
        source: format!("{}#{}", meta.source, meta.batch),
        finished: true,
        quarantined: vec![(meta.first_line as i64 + 1, format!("the whole batch: {reason}"), raw)],
        day: Utc::now().format("%Y-%m-%d").to_string(),
        ..Default::default()
    };
    store.feeds().commit_batch(&commit).await?;
    summary.batches += 1;
    summary.quarantined += 1;
    Ok(())
}

enum Committed {
    Yes(Counts),
    RunAgain,
}

/// Under the feed's lease: the batch's new events are checked against what other workers
/// accepted since this one looked, then delivered and committed.
#[allow(clippy::too_many_arguments)]
async fn commit_batch(
    store: &dyn Store,
    route_index: &RouteIndex,
    queue: &Queue,
    ingest: &IngestOptions,
    feed: &str,
    batch_source: &str,
    parser: &FeedRows,
    state: &mut FeedState,
    out: engine::BatchOutput,
) -> ServiceResult<Committed> {
    let (newer, seq) = store.feeds().fingerprints_since(feed, Utc::now(), state.seq).await?;
    state.seq = seq;
    if engine::take_in_newer(&mut state.seen, &out.new_fingerprints, newer) {
        return Ok(Committed::RunAgain);
    }
    // As one run of lines: how they are cut into messages, which are told apart by their
    // place, must not depend on how many pieces the batch ran in.
    publish_events(queue, feed, batch_source, &out.jsonl.contiguous()).await?;
    feeds::deliver(store, route_index, &Actor::System, feed, &out).await?;
    let commit = BatchCommit {
        feed: feed.to_string(),
        source: batch_source.to_string(),
        finished: true,
        fingerprints: out.new_fingerprints.clone(),
        fingerprints_expire: Utc::now() + ingest.dedupe_window,
        quarantined: feeds::quarantine_rows(&out, parser.header_line()),
        counts: out.tally.iter().map(|((org, kind), n)| (*org, kind.clone(), *n as i64)).collect(),
        day: Utc::now().format("%Y-%m-%d").to_string(),
        ..Default::default()
    };
    store.feeds().commit_batch(&commit).await?;
    Ok(Committed::Yes(out.counts))
}

/// Accepted events go to the event stream in messages that fit the server's limit, each
/// with an id of its own, so a batch run again publishes nothing twice.
async fn publish_events(queue: &Queue, feed: &str, batch_source: &str, jsonl: &[u8]) -> ServiceResult<()> {
    let limit = queue.client.server_info().max_payload.saturating_sub(4096).max(4096);
    let mut acks = Vec::new();
    let mut rest = jsonl;
    let mut part = 0usize;
    while !rest.is_empty() {
        let mut cut = rest.len().min(limit);
        if cut < rest.len() {
            // At a line's end; a single line longer than the limit goes alone and fails loudly.
            cut = engine::complete_lines(&rest[..cut]);
            if cut == 0 {
                cut = rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |i| i + 1);
            }
        }
        let mut headers = HeaderMap::new();
        headers.insert(MESSAGE_ID, format!("{}.{part}", sanitize_header(batch_source)));
        headers.insert(HEADER_FEED, sanitize_header(feed));
        let ack = queue
            .js
            .publish_with_headers(queue.address.event_subject(feed), headers, bytes::Bytes::copy_from_slice(&rest[..cut]))
            .await
            .map_err(|e| queue_error("publishing events", e))?;
        acks.push(ack);
        rest = &rest[cut..];
        part += 1;
    }
    for ack in acks {
        ack.await.map_err(|e| queue_error("publishing events", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_addresses_name_streams_by_namespace() {
        let plain = QueueAddress::parse("nats://127.0.0.1:4222").unwrap();
        assert_eq!((plain.batch_stream().as_str(), plain.batch_subject().as_str()), ("RAMPART_FEEDS", "rampart.feeds.batches"));
        let ns = QueueAddress::parse("nats://nats.cert.example:4222/tw-prod").unwrap();
        assert_eq!(ns.batch_stream(), "RAMPART_FEEDS_tw-prod");
        assert_eq!(ns.event_subject("DNS Open Resolvers"), "rampart.tw-prod.events.DNS_Open_Resolvers");
        for bad in ["http://x", "nats://", "nats://h/a.b", "nats://h/a b"] {
            assert!(QueueAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_travel_in_headers_and_back() {
        let spec: rampart_pipeline::mapping::MappingSpec = toml::from_str("name = \"vendor\"\ncolumns = { ip = \"source.ip\" }").unwrap();
        let mappings = vec![Arc::new(spec)];
        for format in [
            FeedFormat::Shadowserver { report_type: None },
            FeedFormat::Shadowserver { report_type: Some("scan_dns".into()) },
            FeedFormat::IntelmqJson,
            FeedFormat::Mapping(mappings[0].clone()),
        ] {
            let text = format_header(&format);
            assert_eq!(format_header(&parse_format(&text, &mappings).unwrap()), text);
        }
        assert!(parse_format("mapping:other", &mappings).unwrap_err().to_string().contains("other"));
        assert!(parse_format("xml", &mappings).is_err());
    }
}
