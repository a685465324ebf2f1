//! Feeds into the pipeline: a file (from the command line, an upload, a watched folder
//! or a mail attachment) is read in batches of whole records; each batch is processed
//! on all cores and committed with its checkpoint, fingerprints, quarantined rows and
//! counts in one transaction, after its output lines are written (by a batch run alone,
//! as they are made). A crash repeats at most the batch in flight; its events are then
//! recognised by their fingerprints and told once.

use super::feed_lease::FeedLease;
use super::feed_output::RunOutput;
use super::notifications;
use super::routing::RouteIndex;
use super::{ServiceError, ServiceResult};
use chrono::Utc;
use rampart_core::constituency::resolve::{ConstituencyIndex, RoutingRow};
use rampart_core::notification::{DirectiveSource, NewDirective, NotificationFormat};
use rampart_pipeline::csv::{count_newlines, CsvReader};
use rampart_pipeline::engine::{self, BatchInput, BatchOutput, Counts, FingerprintSet, LineParser, RowParser, Scratch, Stages};
use rampart_pipeline::experts::DedupeKeys;
use rampart_pipeline::mapping::{MappingFormat, MappingSpec};
use rampart_pipeline::rules::RuleSet;
use rampart_pipeline::shadowserver;
use rampart_store::feeds::BatchCommit;
use rampart_store::{Actor, Store};
use serde::Serialize;
use std::io::{BufRead, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How a feed's rows are read.
#[derive(Debug, Clone)]
pub enum FeedFormat {
    /// A Shadowserver report; the type comes from the file name unless given.
    Shadowserver { report_type: Option<String> },
    /// IntelMQ JSON lines.
    IntelmqJson,
    /// A CSV feed read with a mapping from the configuration.
    Mapping(Arc<rampart_pipeline::mapping::MappingSpec>),
}

/// Where accepted events go besides notifications.
#[derive(Debug, Clone)]
pub enum OutputSpec {
    IntelmqJsonl(PathBuf),
    /// CSV with these columns (IntelMQ field names), a header line first.
    Csv(PathBuf, Vec<String>),
}

/// Columns of CSV output when none are named.
pub const DEFAULT_CSV_COLUMNS: &[&str] = &[
    "time.source",
    "source.ip",
    "source.port",
    "source.asn",
    "source.network",
    "source.geolocation.cc",
    "source.reverse_dns",
    "classification.taxonomy",
    "classification.type",
    "classification.identifier",
    "feed.name",
    "extra.rampart_org",
];

#[derive(Clone)]
pub struct IngestOptions {
    /// The feed's name: its fingerprints, counts and checkpoints are kept under it.
    pub feed: Option<String>,
    pub format: FeedFormat,
    pub include_raw: bool,
    /// Ask for a notification to the constituent of every routed event.
    pub notify: bool,
    pub rules: Option<Arc<RuleSet>>,
    pub dedupe_window: chrono::Duration,
    /// Which fields make two events the same.
    pub dedupe: DedupeKeys,
    pub threads: usize,
    /// Input read per batch (the unit of commit); `None`: [`engine::batch_bytes_for`].
    pub batch_bytes: Option<usize>,
    pub output: Option<OutputSpec>,
    /// An extra routing table for this run only (on top of the registry's).
    pub extra_routing: Vec<RoutingRow>,
    /// Process the file again even when it was finished before.
    pub force: bool,
    pub schema: Arc<shadowserver::Schema>,
    /// The configured mappings: named by `--mapping`, or chosen by their `files` patterns.
    pub mappings: Vec<Arc<MappingSpec>>,
    /// Warninglists: events they list are marked and not told.
    pub warninglists: Option<Arc<rampart_intel::warninglist::WarninglistSet>>,
}

impl IngestOptions {
    /// What an unconfigured feed gets: Shadowserver by file name, raw kept, every routed
    /// event notified, a day's de-duplication, all cores, batches by [`engine::batch_bytes_for`].
    pub fn defaults(schema: Arc<shadowserver::Schema>) -> Self {
        IngestOptions {
            feed: None,
            format: FeedFormat::Shadowserver { report_type: None },
            include_raw: true,
            notify: true,
            rules: None,
            dedupe_window: chrono::Duration::hours(24),
            dedupe: DedupeKeys::default(),
            threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            batch_bytes: None,
            output: None,
            extra_routing: Vec::new(),
            force: false,
            schema,
            mappings: Vec::new(),
            warninglists: None,
        }
    }
}

impl std::fmt::Debug for IngestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestOptions").field("feed", &self.feed).field("format", &self.format).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IngestSummary {
    pub feed: String,
    pub source: String,
    pub rows_read: u64,
    pub parsed: u64,
    pub quarantined: u64,
    pub dropped: u64,
    pub duplicates: u64,
    pub routed: u64,
    pub ties: u64,
    pub written: u64,
    pub notified: u64,
    pub incidents: u64,
    pub batches: u64,
    /// The line the run started from when it resumed an interrupted one.
    pub resumed_at_line: Option<i64>,
    /// The file had been processed completely before; nothing was done.
    pub already_done: bool,
    pub seconds: f64,
}

impl IngestSummary {
    fn from_counts(feed: &str, source: &str, c: &Counts) -> Self {
        IngestSummary {
            feed: feed.to_string(),
            source: source.to_string(),
            rows_read: c.rows_read,
            parsed: c.parsed,
            quarantined: c.quarantined,
            dropped: c.dropped,
            duplicates: c.duplicates,
            routed: c.routed,
            ties: c.ties,
            written: c.written,
            notified: c.notified,
            incidents: c.incidents,
            batches: 0,
            resumed_at_line: None,
            already_done: false,
            seconds: 0.0,
        }
    }
}

/// A CSV file's parser with its header line (kept with quarantined rows) and the
/// feed's default name.
pub(crate) struct CsvRows {
    pub(crate) parser: Box<dyn RowParser>,
    pub(crate) header_line: String,
    pub(crate) feed_name: String,
}

impl FeedFormat {
    /// The first line names the columns.
    pub fn has_header(&self) -> bool {
        match self {
            FeedFormat::Shadowserver { .. } => true,
            FeedFormat::IntelmqJson => false,
            FeedFormat::Mapping(spec) => spec.format == MappingFormat::Csv,
        }
    }

    /// A JSON mapping whose records are inside one document (an array, or under a
    /// pointer), which is turned into lines before batching.
    fn json_document(&self) -> Option<&MappingSpec> {
        match self {
            FeedFormat::Mapping(spec) if spec.format == MappingFormat::Json => Some(spec),
            _ => None,
        }
    }
}

/// An input read in batches: a file, or a JSON document already turned into lines.
pub(crate) trait Input: Read + Seek + Send {}
impl<T: Read + Seek + Send> Input for T {}

/// Opens a feed file. A JSON mapping's document (a top-level array, or records under a
/// pointer) is read whole and turned into one record per line; JSON lines stream as
/// they are.
pub(crate) fn open_input(path: &Path, format: &FeedFormat) -> ServiceResult<Box<dyn Input>> {
    let mut file = std::fs::File::open(path).map_err(|e| io_error("opening", path, e))?;
    let Some(spec) = format.json_document() else { return Ok(Box::new(file)) };
    let mut start = [0u8; 4096];
    let n = file.read(&mut start).map_err(|e| io_error("reading", path, e))?;
    let first = start[..n].iter().copied().find(|b| !b.is_ascii_whitespace() && !matches!(b, 0xEF | 0xBB | 0xBF));
    if spec.records.is_none() && first != Some(b'[') {
        file.seek(std::io::SeekFrom::Start(0)).map_err(|e| io_error("reading", path, e))?;
        return Ok(Box::new(file));
    }
    let size = file.metadata().map_err(|e| io_error("reading", path, e))?.len();
    if size > MAX_JSON_DOCUMENT {
        return Err(ServiceError::Invalid(format!(
            "{}: a JSON document of {} MiB; documents up to {} MiB are read whole, larger feeds must come as JSON lines",
            path.display(),
            size >> 20,
            MAX_JSON_DOCUMENT >> 20
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| io_error("reading", path, e))?;
    let lines = rampart_pipeline::mapping::json_records_as_lines(&bytes, spec.records.as_deref())
        .map_err(|e| ServiceError::Invalid(format!("{}: {e}", path.display())))?;
    Ok(Box::new(std::io::Cursor::new(lines.into_bytes())))
}

/// The longest record a file may have (a longer one is mostly an unbalanced quote).
const MAX_RECORD: usize = 256 << 20;

/// The largest JSON document read whole (JSON lines have no limit).
const MAX_JSON_DOCUMENT: u64 = 1 << 30;

/// How a feed's records are read.
pub(crate) enum FeedRows {
    Csv(CsvRows),
    Lines { parser: Box<dyn LineParser>, feed_name: String },
    IntelmqJson,
}

impl FeedRows {
    pub(crate) fn feed_name(&self) -> Option<&str> {
        match self {
            FeedRows::Csv(rows) => Some(&rows.feed_name),
            FeedRows::Lines { feed_name, .. } => Some(feed_name),
            FeedRows::IntelmqJson => None,
        }
    }

    /// Kept with quarantined rows, so one can be replayed on its own.
    pub(crate) fn header_line(&self) -> Option<&str> {
        match self {
            FeedRows::Csv(rows) => Some(&rows.header_line),
            _ => None,
        }
    }

    /// The length of the complete records at the start of `bytes`.
    pub(crate) fn complete(&self, bytes: &[u8]) -> usize {
        match self {
            FeedRows::Csv(_) => engine::complete_records(bytes),
            _ => engine::complete_lines(bytes),
        }
    }

    pub(crate) fn input<'t>(&'t self, text: &'t str, first_line: usize) -> BatchInput<'t> {
        match self {
            FeedRows::Csv(rows) => BatchInput::Csv { parser: &*rows.parser, text, first_line },
            FeedRows::Lines { parser, .. } => BatchInput::Lines { parser: &**parser, text, first_line },
            FeedRows::IntelmqJson => BatchInput::JsonLines { text, first_line },
        }
    }
}

/// The reader of a feed's records; `header` is a CSV feed's first line.
pub(crate) fn feed_rows(format: &FeedFormat, header: Option<String>, file_name: &str, opts: &IngestOptions) -> ServiceResult<FeedRows> {
    match (format, header) {
        (FeedFormat::IntelmqJson, _) => Ok(FeedRows::IntelmqJson),
        (FeedFormat::Mapping(spec), _) if spec.format == MappingFormat::Json => {
            let parser = spec.compile_json().map_err(|e| ServiceError::Invalid(format!("{file_name}: {e}")))?;
            let feed_name = spec.feed_name().to_string();
            Ok(FeedRows::Lines { parser: Box::new(parser), feed_name })
        }
        (format, Some(header)) => Ok(FeedRows::Csv(csv_rows(format, header, file_name, opts)?)),
        (_, None) => Err(ServiceError::Invalid(format!("{file_name}: a CSV feed without its header line"))),
    }
}

/// The parser of a CSV feed with this header line; `file_name` names the report type
/// when the format does not.
fn csv_rows(format: &FeedFormat, header_line: String, file_name: &str, opts: &IngestOptions) -> ServiceResult<CsvRows> {
    let columns = header_columns(&header_line);
    let refs: Vec<&str> = columns.iter().map(String::as_str).collect();
    match format {
        FeedFormat::Shadowserver { report_type } => {
            let report = match report_type {
                Some(t) => opts.schema.report(t).ok_or_else(|| ServiceError::Invalid(format!("unknown Shadowserver report type {t:?}")))?,
                None => opts.schema.report_for_file_name(file_name).ok_or_else(|| {
                    ServiceError::Invalid(format!("{file_name:?} does not name a known Shadowserver report type; give --report-type"))
                })?,
            };
            let compiled =
                report.compile(&refs).map_err(|e| ServiceError::Invalid(format!("{file_name}: {e}")))?.with_raw(opts.include_raw);
            let feed_name = compiled.feed_name().to_string();
            let rows = shadowserver::CsvReportRows { report: compiled, header_line: header_line.clone() };
            Ok(CsvRows { parser: Box::new(rows), header_line, feed_name })
        }
        FeedFormat::Mapping(spec) => {
            let compiled = spec.compile(&refs).map_err(|e| ServiceError::Invalid(format!("{file_name}: {e}")))?;
            let feed_name = spec.feed_name().to_string();
            Ok(CsvRows { parser: Box::new(compiled), header_line, feed_name })
        }
        FeedFormat::IntelmqJson => Err(ServiceError::Invalid("IntelMQ JSON lines have no CSV header".into())),
    }
}

/// Hands a batch's results to the rest of Rampart: notification directives for the
/// events to tell, incidents for the events rules chose. Runs before the batch commits:
/// a crash in between repeats the batch, and its directives are recognised as waiting.
pub(crate) async fn deliver(
    store: &dyn Store,
    route_index: &RouteIndex,
    actor: &Actor,
    feed: &str,
    out: &BatchOutput,
) -> ServiceResult<()> {
    if !out.notify.is_empty() {
        let directives = out
            .notify
            .iter()
            .map(|n| NewDirective {
                org_id: Some(n.org),
                recipient: None,
                template_kind: "feed_events".into(),
                language: None,
                format: NotificationFormat::TextCsv,
                aggregation_key: None,
                interval_secs: None,
                event: n.event.clone(),
                source: DirectiveSource::Feed,
                source_id: Some(feed.to_string()),
                incident_id: None,
            })
            .collect();
        notifications::create_directives(store, route_index, actor, directives).await?;
    }
    for inc in &out.incidents {
        let fields = rampart_core::records::IncidentFields {
            title: Some(format!("{} ({feed}, line {})", inc.title, inc.line)),
            description: Some(serde_json::to_string_pretty(&inc.event).unwrap_or_default()),
            org_id: inc.org,
            ..Default::default()
        };
        let observables = rampart_core::observables::extract(&inc.event.values().cloned().collect::<Vec<_>>().join(" "));
        store.incidents().create_incident(actor, fields, &observables).await?;
    }
    Ok(())
}

/// Quarantined rows as stored: a CSV row with its header, so it can be replayed on its own.
pub(crate) fn quarantine_rows(out: &BatchOutput, header_line: Option<&str>) -> Vec<(i64, String, String)> {
    out.quarantined
        .iter()
        .map(|q| {
            let raw = match header_line {
                Some(header) if !q.raw.is_empty() => format!("{header}\n{}", q.raw),
                _ => q.raw.clone(),
            };
            (q.line as i64, q.reason.clone(), raw)
        })
        .collect()
}

/// A CSV feed's first line, without its line end or a byte-order mark, and how many bytes
/// it took (at most 64 KiB and one byte are taken for it). The input is left just after it.
pub(crate) fn read_header_line(input: &mut (impl Read + Seek), path: &Path) -> ServiceResult<(String, u64)> {
    const MOST: u64 = (1 << 16) + 1;
    let failed = |e| io_error("reading", path, e);
    let start = input.stream_position().map_err(failed)?;
    // Read buffered and put back to the line's end: unbuffered, each byte of the header was a
    // system call.
    let mut first = Vec::new();
    std::io::BufReader::with_capacity(4096, input.by_ref().take(MOST)).read_until(b'\n', &mut first).map_err(failed)?;
    input.seek(std::io::SeekFrom::Start(start + first.len() as u64)).map_err(failed)?;
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let header = String::from_utf8(first).map_err(|_| ServiceError::Invalid(format!("{name}: the header line is not UTF-8")))?;
    let header_len = header.len() as u64;
    Ok((header.trim_end_matches(['\r', '\n']).trim_start_matches('\u{feff}').to_string(), header_len))
}

/// An input read in batches of whole records. A batch is filled to `batch_bytes` and cut
/// after its last whole record; a record longer than that makes its batch longer, up to
/// `max_record` bytes.
pub(crate) struct BatchReader<R> {
    input: R,
    batch_bytes: usize,
    max_record: usize,
    /// What was read after the last batch's last whole record: the start of the next.
    rest: Vec<u8>,
    /// A batch's buffer handed back: the next one is read into it rather than into fresh
    /// memory the kernel must fault in and zero. One buffer serves every batch.
    spare: Vec<u8>,
    eof: bool,
    /// A batch known to be the last was handed out.
    ended: bool,
}

/// One batch of whole records and how many lines they span.
pub(crate) struct Batch {
    pub(crate) bytes: Vec<u8>,
    pub(crate) lines: usize,
}

pub(crate) enum BatchError {
    Io(std::io::Error),
    /// No record ends within `max_record` bytes.
    RecordTooLong,
}

impl<R: Read> BatchReader<R> {
    pub(crate) fn new(input: R, batch_bytes: usize, max_record: usize) -> Self {
        BatchReader {
            input,
            batch_bytes: batch_bytes.max(1),
            max_record: max_record.max(batch_bytes),
            rest: Vec::new(),
            spare: Vec::new(),
            eof: false,
            ended: false,
        }
    }

    /// The next batch, cut where `rows` says records end; `None` at the end of the input.
    /// The last batch is the one after which [`BatchReader::finished`] holds: when the end
    /// of the input shows only after a full batch, an empty last batch follows, so the
    /// caller always sees one batch that finishes the input.
    pub(crate) fn next_batch(&mut self, rows: &FeedRows) -> Result<Option<Batch>, BatchError> {
        let batch = self.read_batch(rows)?;
        if self.ended {
            return Ok(None);
        }
        self.ended = self.finished();
        Ok(Some(batch.unwrap_or(Batch { bytes: Vec::new(), lines: 0 })))
    }

    fn read_batch(&mut self, rows: &FeedRows) -> Result<Option<Batch>, BatchError> {
        let mut want = self.batch_bytes;
        let mut pending = std::mem::take(&mut self.spare);
        pending.clear();
        pending.append(&mut self.rest);
        loop {
            let filled = pending.len();
            if filled < want && !self.eof {
                // Read into the buffer's spare room: zeroing a batch's worth first cost as
                // much as a pass over it.
                let need = (want - filled) as u64;
                pending.reserve(want - filled);
                let read = (&mut self.input).take(need).read_to_end(&mut pending).map_err(BatchError::Io)?;
                self.eof |= (read as u64) < need;
            }
            if pending.is_empty() {
                self.spare = pending;
                return Ok(None);
            }
            let cut = if self.eof { pending.len() } else { rows.complete(&pending) };
            if cut > 0 {
                self.rest.extend_from_slice(&pending[cut..]);
                pending.truncate(cut);
                let lines = count_newlines(&pending) + usize::from(pending.last().is_some_and(|&b| b != b'\n'));
                return Ok(Some(Batch { bytes: pending, lines }));
            }
            if want >= self.max_record {
                return Err(BatchError::RecordTooLong);
            }
            want = (want + self.batch_bytes).min(self.max_record);
        }
    }

    /// Takes back a batch's buffer once its bytes are no longer needed.
    pub(crate) fn recycle(&mut self, mut bytes: Vec<u8>) {
        bytes.clear();
        self.spare = bytes;
    }

    /// Everything was handed out.
    pub(crate) fn finished(&self) -> bool {
        self.eof && self.rest.is_empty()
    }
}

/// The column names of a CSV header line.
pub(crate) fn header_columns(line: &str) -> Vec<String> {
    let mut reader = CsvReader::new(line);
    let mut cells = Vec::new();
    match reader.next_record(&mut cells) {
        Some(Ok(_)) => cells.iter().map(|c| c.trim().to_string()).collect(),
        _ => Vec::new(),
    }
}

/// The routing index with this run's extra routing table.
pub(crate) async fn index_for(store: &dyn Store, index: &RouteIndex, extra: &[RoutingRow]) -> ServiceResult<Arc<ConstituencyIndex>> {
    if extra.is_empty() {
        return index.current(store).await;
    }
    Ok(Arc::new(index.build(store, extra.to_vec()).await?))
}

/// The fields of CSV output columns, by their IntelMQ names.
fn csv_fields(names: &[String]) -> ServiceResult<Vec<rampart_pipeline::event::FieldId>> {
    names
        .iter()
        .map(|c| rampart_pipeline::event::FieldId::intern(c).map_err(|e| ServiceError::Invalid(format!("CSV output column: {e}"))))
        .collect()
}

pub(crate) fn io_error(what: &str, path: &Path, e: std::io::Error) -> ServiceError {
    ServiceError::Invalid(format!("{what} {}: {e}", path.display()))
}

/// A failure to write a run's output file (or its sink).
fn output_error(e: std::io::Error) -> ServiceError {
    ServiceError::Invalid(format!("writing the output: {e}"))
}

/// A stable identity for an input: its name, size and BLAKE3 hash. The hash is read
/// before any row, over the whole file, so it runs at memory speed: BLAKE3 with the
/// machine's vector units read and hashed the benchmark's 17 MiB input in 5 ms, where
/// SHA-256 took 12 ms.
pub(crate) fn source_key(path: &Path) -> ServiceResult<(String, u64)> {
    let file = std::fs::File::open(path).map_err(|e| io_error("opening", path, e))?;
    let mut hash = blake3::Hasher::new();
    // Read through a 64 KiB buffer, which stays in the cache between the read and the hash
    // and is 16 fresh pages for the kernel to fault in rather than a megabyte's 256 (on a
    // virtual machine, a fresh page may first have to be backed by the host).
    hash.update_reader(file).map_err(|e| io_error("reading", path, e))?;
    let size = hash.count();
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    Ok((format!("{name}:{size}:{}", data_encoding::HEXLOWER.encode(&hash.finalize().as_bytes()[..12])), size))
}

/// Progress callback: (bytes done, bytes in all).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Send + Sync);

/// Ingests one file. See the module documentation for what is durable when.
pub async fn ingest_file(
    store: &dyn Store,
    route_index: &RouteIndex,
    actor: &Actor,
    path: &Path,
    opts: &IngestOptions,
    progress: Progress<'_>,
) -> ServiceResult<IngestSummary> {
    let started = std::time::Instant::now();
    let file_name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let (source, size) = source_key(path)?;
    let mut file = open_input(path, &opts.format)?;

    // The header (CSV) and the parser for this file.
    let (parser, header_len): (FeedRows, u64) = if opts.format.has_header() {
        let (header_line, header_len) = read_header_line(&mut file, path)?;
        (feed_rows(&opts.format, Some(header_line), &file_name, opts)?, header_len)
    } else {
        (feed_rows(&opts.format, None, &file_name, opts)?, 0)
    };
    let feed = opts.feed.clone().unwrap_or_else(|| parser.feed_name().unwrap_or(&file_name).to_string());

    // One run of a feed at a time: from the checkpoint and fingerprints to the last commit.
    let mut lease = FeedLease::take(store, &feed).await?;
    let result: ServiceResult<IngestSummary> = async {
        let threads = opts.threads.max(1);
        // Whether its batches hand on their lines as they make them: the output is then
        // written directly where it can be, and batches read more.
        let streams = engine::streams_with(threads, opts.rules.is_some());
        // Where an interrupted run stopped.
        let checkpoint = store.feeds().checkpoint(&feed, &source).await?;
        if checkpoint.is_some_and(|c| c.finished) && !opts.force {
            let mut summary = IngestSummary::from_counts(&feed, &source, &Counts::default());
            summary.already_done = true;
            return Ok(summary);
        }
        let resume = checkpoint.filter(|c| !c.finished && !opts.force);
        let mut offset = resume.map(|c| c.bytes_done as u64).unwrap_or(header_len).max(header_len);
        let mut lines_done = resume.map(|c| c.lines_done).unwrap_or(i64::from(header_len > 0));
        let mut output = match &opts.output {
            Some(OutputSpec::IntelmqJsonl(out) | OutputSpec::Csv(out, _)) => {
                let csv_columns = match &opts.output {
                    Some(OutputSpec::Csv(_, names)) => Some(csv_fields(names)?),
                    _ => None,
                };
                // A crash after writing but before committing left lines the next run writes again.
                let keep = resume.map(|c| c.output_bytes as u64);
                // Waits while another run writes the same file.
                let opened = tokio::task::block_in_place(|| RunOutput::open(out, keep, csv_columns, streams));
                Some(opened.map_err(|e| io_error("opening", out, e))?)
            }
            None => None,
        };
        file.seek(std::io::SeekFrom::Start(offset)).map_err(|e| io_error("reading", path, e))?;
        let day = Utc::now().format("%Y-%m-%d").to_string();
        if resume.is_none() {
            // A starting point on record: a crash in the first batch cuts the output back to here.
            let start = BatchCommit {
                feed: feed.clone(),
                source: source.clone(),
                bytes_done: offset as i64,
                lines_done,
                output_bytes: output.as_ref().map_or(0, |o| o.len() as i64),
                day: day.clone(),
                ..Default::default()
            };
            store.feeds().commit_batch(&start).await?;
        }

        let index = index_for(store, route_index, &opts.extra_routing).await?;
        let mut seen: FingerprintSet = lease.fingerprints().await?.into_iter().collect();
        let observation_time = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        let stages = Stages {
            index: &index,
            rules: opts.rules.as_deref(),
            dedupe: &opts.dedupe,
            feed_name: opts.feed.as_deref(),
            observation_time: &observation_time,
            notify_all: opts.notify,
            warninglists: opts.warninglists.as_deref(),
        };
        let mut totals = Counts::default();
        let mut batches = 0u64;
        let mut scratch = Scratch::default();
        let batch_bytes = opts.batch_bytes.unwrap_or_else(|| engine::batch_bytes_for(streams));
        let mut reader = BatchReader::new(file, batch_bytes.max(64 * 1024), MAX_RECORD);
        loop {
            let batch = match reader.next_batch(&parser) {
                Ok(Some(batch)) => batch,
                Ok(None) => break,
                Err(BatchError::Io(e)) => return Err(io_error("reading", path, e)),
                Err(BatchError::RecordTooLong) => {
                    return Err(ServiceError::Invalid(format!("{file_name}: a record longer than 256 MiB (unbalanced quotes?)")))
                }
            };
            let cut = batch.bytes.len();
            let batch_lines = batch.lines as i64;
            let text = match String::from_utf8(batch.bytes) {
                Ok(text) => text,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            };
            let first_line = lines_done as usize;
            let out = loop {
                // Where this batch's lines start in the output: cut back to here to run it again.
                let batch_start = output.as_ref().map(RunOutput::len);
                // The batch is CPU work on all cores; the async threads stay free meanwhile. Run
                // alone, it writes its lines out as they gather.
                let out = tokio::task::block_in_place(|| {
                    let mut sink = |lines: &[u8]| output.as_mut().map_or(Ok(()), |o| o.write_lines(lines));
                    engine::process_batch_streaming(
                        parser.input(&text, first_line),
                        &stages,
                        threads,
                        &mut seen,
                        &mut scratch,
                        Some(&mut sink),
                    )
                })
                .map_err(output_error)?;
                // Only after a stall that let the lease run out can another run have committed.
                if engine::take_in_newer(&mut seen, &out.new_fingerprints, lease.keep().await?) {
                    if let (Some(o), Some(start)) = (output.as_mut(), batch_start) {
                        o.cut_to(start).map_err(output_error)?;
                    }
                    scratch.recycle(out.jsonl);
                    continue;
                }
                break out;
            };
            offset += cut as u64;
            lines_done += batch_lines;
            batches += 1;

            // Outputs first, then the commit: a crash in between repeats this batch, whose
            // file output is cut back and whose directives are recognised as already waiting.
            if let Some(o) = output.as_mut() {
                for lines in out.jsonl.chunks() {
                    o.write_lines(lines).map_err(output_error)?;
                }
            }
            // What the commit records must be in the file.
            let output_bytes = match output.as_mut() {
                Some(o) => o.settle().map_err(output_error)? as i64,
                None => 0,
            };
            deliver(store, route_index, actor, &feed, &out).await?;
            let commit = BatchCommit {
                feed: feed.clone(),
                source: source.clone(),
                bytes_done: offset as i64,
                lines_done,
                output_bytes,
                finished: reader.finished(),
                fingerprints: out.new_fingerprints.clone(),
                fingerprints_expire: Utc::now() + opts.dedupe_window,
                quarantined: quarantine_rows(&out, parser.header_line()),
                counts: out.tally.iter().map(|((org, kind), n)| (*org, kind.clone(), *n as i64)).collect(),
                day: day.clone(),
            };
            store.feeds().commit_batch(&commit).await?;
            totals.add(&out.counts);
            scratch.recycle(out.jsonl);
            reader.recycle(text.into_bytes());
            progress(offset, size);
        }
        // Every line is written and committed by now: space left reserved is only disk space.
        if let Some(Err(e)) = output.map(RunOutput::finish) {
            tracing::warn!(feed = %feed, error = %e, "could not give back the output file's space reserved past its end");
        }
        let mut summary = IngestSummary::from_counts(&feed, &source, &totals);
        summary.batches = batches;
        summary.resumed_at_line = resume.map(|c| c.lines_done);
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }
    .await;
    let released = lease.release().await;
    let summary = result?;
    released?;
    Ok(summary)
}

/// Keeps an incoming feed file (an upload, a mail attachment) under
/// `<data_dir>/feeds/incoming/<id>/` and ingests it. The file stays there either way, so an
/// input that fails is not lost.
pub async fn ingest_bytes(
    store: &dyn Store,
    route_index: &RouteIndex,
    actor: &Actor,
    data_dir: &Path,
    file_name: &str,
    bytes: &[u8],
    opts: &IngestOptions,
) -> ServiceResult<IngestSummary> {
    let safe = safe_file_name(file_name);
    // A folder of its own keeps the original name: it carries the report type, and the
    // same file uploaded twice is recognised as done.
    let dir = data_dir.join("feeds").join("incoming").join(rampart_core::ids::new_id().simple().to_string());
    std::fs::create_dir_all(&dir).map_err(|e| io_error("creating", &dir, e))?;
    let path = dir.join(&safe);
    std::fs::write(&path, bytes).map_err(|e| io_error("writing", &path, e))?;
    // The report type is read from the original name, not the stored one.
    let mut opts = opts.clone();
    opts.format = with_report_type_from(&opts.format, &opts.schema, file_name);
    let progress = |_: u64, _: u64| {};
    ingest_file(store, route_index, actor, &path, &opts, &progress).await
}

/// A name to keep a feed file under: ASCII letters, digits and `-_.` (anything else becomes
/// `_`), at most 200 characters; `feed.csv` when nothing usable is left.
pub fn safe_file_name(file_name: &str) -> String {
    let safe: String = file_name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).take(200).collect();
    if safe.trim_matches('.').is_empty() {
        "feed.csv".to_string()
    } else {
        safe
    }
}

/// `format` with the Shadowserver report type taken from `file_name` when the format leaves
/// it open, so a copy stored under a sanitised name is still read as the original report.
pub fn with_report_type_from(format: &FeedFormat, schema: &shadowserver::Schema, file_name: &str) -> FeedFormat {
    match (format, schema.report_for_file_name(file_name)) {
        (FeedFormat::Shadowserver { report_type: None }, Some(report)) => {
            FeedFormat::Shadowserver { report_type: Some(report.file_name().to_string()) }
        }
        _ => format.clone(),
    }
}

impl IngestOptions {
    /// The format a file's name suggests: a mapping whose `files` patterns match it, else
    /// IntelMQ JSON lines for `.json`/`.jsonl`, else a Shadowserver report. A given
    /// report type means Shadowserver.
    pub fn format_for(&self, file_name: &str, report_type: Option<String>) -> FeedFormat {
        if report_type.is_none() {
            if let Some(spec) = self.mappings.iter().find(|m| m.reads_file(file_name)) {
                return FeedFormat::Mapping(spec.clone());
            }
        }
        let lower = file_name.to_ascii_lowercase();
        if report_type.is_none() && (lower.ends_with(".jsonl") || lower.ends_with(".json")) {
            FeedFormat::IntelmqJson
        } else {
            FeedFormat::Shadowserver { report_type }
        }
    }

    /// An upload's format (API and UI): the named mapping, else what the file name and
    /// report type say.
    pub fn upload_format(&self, mapping: Option<&str>, file_name: &str, report_type: Option<String>) -> ServiceResult<FeedFormat> {
        match mapping {
            Some(name) => self.mapping(name),
            None => Ok(self.format_for(file_name, report_type)),
        }
    }

    /// The mapping of this name, for an input that names one.
    pub fn mapping(&self, name: &str) -> ServiceResult<FeedFormat> {
        self.mappings
            .iter()
            .find(|m| m.name == name)
            .map(|m| FeedFormat::Mapping(m.clone()))
            .ok_or_else(|| ServiceError::Invalid(format!("no mapping is named {name:?} in the configuration")))
    }
}

/// Watches a folder: every file that appears is ingested and then moved to `done/`
/// (or `failed/` with a `.why` file beside it). Runs until the process ends.
pub async fn watch_folder(
    store: crate::SharedStore,
    route_index: Arc<RouteIndex>,
    dir: PathBuf,
    opts: IngestOptions,
    every: std::time::Duration,
) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
        files.sort();
        for path in files {
            let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            // Files still being written by their producer end in .part or start with a dot.
            if name.starts_with('.') || name.ends_with(".part") || name.ends_with(".tmp") {
                continue;
            }
            let opts = IngestOptions { format: opts.format_for(&name, None), ..opts.clone() };
            let progress = |_: u64, _: u64| {};
            let result = ingest_file(&*store, &route_index, &Actor::System, &path, &opts, &progress).await;
            let (target, why) = match &result {
                Ok(s) => {
                    tracing::info!(file = %name, feed = %s.feed, written = s.written, quarantined = s.quarantined, "feed file ingested");
                    ("done", None)
                }
                Err(e) => {
                    tracing::warn!(file = %name, error = %e, "feed file failed");
                    ("failed", Some(e.to_string()))
                }
            };
            let to = dir.join(target);
            if std::fs::create_dir_all(&to).is_ok() {
                let _ = std::fs::rename(&path, to.join(&name));
                if let Some(why) = why {
                    let _ = std::fs::write(to.join(format!("{name}.why")), why);
                }
            }
        }
    }
}

/// Feeds a quarantined row again, as it was or as corrected (for CSV: the header line
/// and the row), into its feed. The entry is marked replayed when the row went through.
pub async fn replay(
    store: &dyn Store,
    route_index: &RouteIndex,
    actor: &Actor,
    data_dir: &Path,
    id: uuid::Uuid,
    corrected: Option<&str>,
    opts: &IngestOptions,
) -> ServiceResult<IngestSummary> {
    let entry = store.feeds().get_quarantined(id).await?.ok_or(ServiceError::Store(rampart_store::StoreError::NotFound))?;
    if entry.replayed_at.is_some() {
        return Err(ServiceError::Invalid("this row was replayed already".into()));
    }
    let text = corrected.map(str::to_string).unwrap_or_else(|| entry.raw.clone());
    if text.trim().is_empty() || text.len() > 1 << 20 {
        return Err(ServiceError::Invalid("a replayed row is 1 byte to 1 MiB of text".into()));
    }
    // The original file name carries the report type.
    let file_name = entry.source.split(':').next().unwrap_or("replay.csv").to_string();
    let mut opts = opts.clone();
    opts.feed = Some(entry.feed.clone());
    opts.format = opts.format_for(&file_name, None);
    opts.force = true;
    opts.output = None;
    let mut body = text.into_bytes();
    if body.last() != Some(&b'\n') {
        body.push(b'\n');
    }
    let summary = ingest_bytes(store, route_index, actor, data_dir, &file_name, &body, &opts).await?;
    if summary.quarantined == 0 {
        store.feeds().mark_replayed(id).await?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batches(input: &str, batch_bytes: usize, max_record: usize, rows: &FeedRows) -> Result<Vec<(String, usize, bool)>, String> {
        let mut reader = BatchReader::new(input.as_bytes(), batch_bytes, max_record);
        let mut out = Vec::new();
        loop {
            match reader.next_batch(rows) {
                Ok(Some(b)) => {
                    out.push((String::from_utf8(b.bytes.clone()).unwrap(), b.lines, reader.finished()));
                    // As ingest does: the next batch is read into this one's buffer.
                    reader.recycle(b.bytes);
                }
                Ok(None) => return Ok(out),
                Err(BatchError::RecordTooLong) => return Err("too long".into()),
                Err(BatchError::Io(e)) => return Err(e.to_string()),
            }
        }
    }

    #[test]
    fn the_header_line_is_read_whole_and_the_input_left_after_it() {
        let path = Path::new("feed.csv");
        let mut input = std::io::Cursor::new(b"\xef\xbb\xbf\"a\",\"b\"\r\n1,2\n3,4\n".to_vec());
        let (header, len) = read_header_line(&mut input, path).unwrap();
        assert_eq!((header.as_str(), len), ("\"a\",\"b\"", 12));
        let mut rest = String::new();
        input.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "1,2\n3,4\n");

        // From where the input stands, across blocks, and without a line end at all.
        let long = format!("x\n{}\nrow\n", "h".repeat(10_000));
        let mut input = std::io::Cursor::new(long.into_bytes());
        input.set_position(2);
        assert_eq!(read_header_line(&mut input, path).unwrap(), ("h".repeat(10_000), 10_001));
        assert_eq!(input.position(), 10_003);
        let mut input = std::io::Cursor::new(b"only".to_vec());
        assert_eq!(read_header_line(&mut input, path).unwrap(), ("only".to_string(), 4));

        // A line longer than 64 KiB is cut there; the rest is left to be read as rows.
        let mut input = std::io::Cursor::new(vec![b'h'; 100_000]);
        let (header, len) = read_header_line(&mut input, path).unwrap();
        assert_eq!((header.len(), len), ((1 << 16) + 1, (1 << 16) + 1));
        assert_eq!(input.position(), (1 << 16) + 1);
        let mut input = std::io::Cursor::new(b"\xff\xfe\n".to_vec());
        assert!(read_header_line(&mut input, path).is_err());
    }

    #[test]
    fn batches_hold_whole_records_and_the_last_one_says_so() {
        let lines = FeedRows::IntelmqJson;
        let got = batches("a\nbb\nccc\n", 5, 100, &lines).unwrap();
        assert_eq!(got, vec![("a\nbb\n".into(), 2, false), ("ccc\n".into(), 1, true)]);
        // The end shows only after a full batch: an empty batch finishes the input.
        let got = batches("ab\ncd\n", 6, 100, &lines).unwrap();
        assert_eq!(got, vec![("ab\ncd\n".into(), 2, false), (String::new(), 0, true)]);
        assert_eq!(batches("", 6, 100, &lines).unwrap(), vec![(String::new(), 0, true)], "an empty input finishes too");
        assert_eq!(batches("no newline", 4, 100, &lines).unwrap(), vec![("no newline".into(), 1, true)]);
        // A record longer than a batch grows it, up to the limit.
        assert_eq!(batches("0123456789\nx\n", 4, 12, &lines).unwrap()[0].0, "0123456789\n");
        assert_eq!(batches("0123456789\nx\n", 4, 8, &lines).unwrap_err(), "too long");
        // A recycled buffer carries nothing over: every batch holds only its own records.
        let text: String = (0..200).map(|i| format!("line {i}\n")).collect();
        let got = batches(&text, 64, 1000, &lines).unwrap();
        assert_eq!(got.iter().map(|(t, ..)| t.as_str()).collect::<String>(), text);
        assert_eq!(got.iter().map(|(_, n, _)| n).sum::<usize>(), 200);
        assert!(got.iter().all(|(t, ..)| t.len() <= 64));
    }
}
