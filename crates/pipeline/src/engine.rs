//! The batch engine: a batch of feed rows is parsed, enriched, routed, filtered and
//! fingerprinted in parallel on all cores, then merged in input order, where
//! de-duplication, counting and output happen. A batch is the unit of acknowledgement:
//! the caller persists its results (outputs, fingerprints, quarantine, counters,
//! checkpoint) together, so a crash repeats at most the batch in flight, and the
//! fingerprints keep its notifications single.

use crate::csv::RecordInfo;
use crate::direct::DirectRow;
use crate::event::{fields, read_intelmq_json, Event, FieldId, FieldTable, Kind, Rendered};
use crate::experts::{self, DedupeKeys, Routed};
use crate::known_rows::{Known, KnownMap, KnownRows, RunMark};
pub use crate::mapping::LineParser;
use crate::memo::{MemoArena, RowMemo};
use crate::rules::RuleSet;
use rampart_core::constituency::resolve::ConstituencyIndex;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use uuid::Uuid;

/// Turns one CSV record into an event; implemented by each feed format.
pub trait RowParser: Send + Sync {
    /// `record.line` is the row's line in the whole input. Values may borrow from the
    /// parser (its constants) as well as from the input.
    fn parse_row<'a>(&'a self, fields: &[Cow<'a, str>], record: RecordInfo<'a>, event: &mut Event<'a>) -> Result<(), String>;

    /// [`RowParser::parse_row`] for one of a run of rows, which may take what `memo`
    /// remembers of the rows before it. By default it remembers nothing.
    fn parse_row_with_memo<'a>(
        &'a self,
        fields: &[Cow<'a, str>],
        record: RecordInfo<'a>,
        event: &mut Event<'a>,
        memo: &mut RowMemo<'a>,
    ) -> Result<(), String> {
        let _ = memo;
        self.parse_row(fields, record, event)
    }

    /// Whether [`RowParser::write_row_direct`] may be used for every row of this parser.
    fn writes_direct(&self) -> bool {
        false
    }

    /// [`RowParser::parse_row_with_memo`], writing the fields straight to `row` in the order
    /// the event would hold them ([`crate::direct`]). Called only when
    /// [`RowParser::writes_direct`] says so.
    fn write_row_direct<'a>(
        &'a self,
        fields: &[Cow<'a, str>],
        record: RecordInfo<'a>,
        row: &mut DirectRow<'a, '_>,
        memo: &mut RowMemo<'a>,
    ) -> Result<(), String> {
        let _ = (fields, record, row, memo);
        Err("this parser does not write rows directly".to_string())
    }
}

/// What the stages after parsing need.
pub struct Stages<'p> {
    pub index: &'p ConstituencyIndex,
    pub rules: Option<&'p RuleSet>,
    pub dedupe: &'p DedupeKeys,
    /// Replaces the feed's own `feed.name` when set.
    pub feed_name: Option<&'p str>,
    /// `time.observation` of every event of this run (RFC 3339).
    pub observation_time: &'p str,
    /// Ask for a notification directive for every routed event (rules may also ask).
    pub notify_all: bool,
    /// Events whose address, host or URL is on one of these lists are marked
    /// (`extra.rampart_warninglist`) and not told, unless a rule asks to.
    pub warninglists: Option<&'p rampart_intel::warninglist::WarninglistSet>,
}

/// A row that could not be used: kept with its line and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    pub line: usize,
    pub reason: String,
    pub raw: String,
}

/// An event that should reach its constituent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToNotify {
    pub line: usize,
    pub org: Uuid,
    pub event: BTreeMap<String, String>,
}

/// An event a rule wants an incident for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToIncident {
    pub line: usize,
    pub title: String,
    pub org: Option<Uuid>,
    pub event: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub rows_read: u64,
    pub parsed: u64,
    pub quarantined: u64,
    /// Dropped by a rule.
    pub dropped: u64,
    pub duplicates: u64,
    pub routed: u64,
    pub ties: u64,
    pub written: u64,
    pub notified: u64,
    pub incidents: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.rows_read += o.rows_read;
        self.parsed += o.parsed;
        self.quarantined += o.quarantined;
        self.dropped += o.dropped;
        self.duplicates += o.duplicates;
        self.routed += o.routed;
        self.ties += o.ties;
        self.written += o.written;
        self.notified += o.notified;
        self.incidents += o.incidents;
    }
}

/// Per (organisation, classification type) event counts, for statistics.
pub type Tally = HashMap<(Option<Uuid>, String), u64>;

/// What a batch produced, in input order.
#[derive(Debug, Default)]
pub struct BatchOutput {
    /// Accepted events as IntelMQ JSON lines.
    pub jsonl: JsonLines,
    /// Accepted events per named rule output, as IntelMQ JSON lines.
    pub routed_outputs: BTreeMap<String, Vec<u8>>,
    pub quarantined: Vec<Quarantined>,
    pub notify: Vec<ToNotify>,
    pub incidents: Vec<ToIncident>,
    /// Fingerprints first seen in this batch, to persist.
    pub new_fingerprints: Vec<u64>,
    pub counts: Counts,
    pub tally: Tally,
}

/// A batch's accepted events as IntelMQ JSON lines, in input order, in one buffer per piece
/// of the batch. Pieces that ran side by side keep their own buffers rather than being
/// copied into one: on two cores the copy held a third of a batch's output twice at once.
#[derive(Debug, Default)]
pub struct JsonLines {
    buffers: Vec<Vec<u8>>,
}

impl JsonLines {
    /// The lines, buffer by buffer, in order; each buffer holds whole lines.
    pub fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.buffers.iter().map(Vec::as_slice).filter(|chunk| !chunk.is_empty())
    }

    /// How many bytes the lines take.
    pub fn len(&self) -> usize {
        self.buffers.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All the lines in one slice, copied only when they are in more than one buffer.
    pub fn contiguous(&self) -> Cow<'_, [u8]> {
        let mut chunks = self.chunks();
        match (chunks.next(), chunks.next()) {
            (None, _) => Cow::Borrowed(&[]),
            (Some(only), None) => Cow::Borrowed(only),
            _ => Cow::Owned(self.buffers.concat()),
        }
    }
}

/// Fingerprints are already well mixed; hashing them again is wasted work.
#[derive(Default)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Fingerprints of events already accepted (within the de-duplication window).
pub type FingerprintSet = HashSet<u64, BuildHasherDefault<IdentityHasher>>;

/// Rows are grouped by the end of complete records: a newline outside quotes.
/// Returns the length of the prefix of `bytes` that holds only complete records.
pub fn complete_records(bytes: &[u8]) -> usize {
    // Walks back from newline to newline, tracking the quote parity of what it steps over.
    let mut odd = count_quotes(bytes) % 2 == 1;
    let mut end = bytes.len();
    while let Some(nl) = memchr::memrchr(b'\n', &bytes[..end]) {
        odd ^= count_quotes(&bytes[nl..end]) % 2 == 1;
        if !odd {
            return nl + 1;
        }
        end = nl;
    }
    0
}

fn count_quotes(bytes: &[u8]) -> usize {
    crate::csv::count_byte(bytes, b'"')
}

/// The end (after the newline) of the first record that ends at or after `from`, where
/// `odd` is the quote parity of `bytes[..from]`; `None` when no record ends there.
fn record_end_after(bytes: &[u8], from: usize, mut odd: bool, csv_quotes: bool) -> Option<usize> {
    let mut start = from;
    loop {
        let nl = start + memchr::memchr(b'\n', &bytes[start..])?;
        if csv_quotes {
            odd ^= count_quotes(&bytes[start..nl]) % 2 == 1;
        }
        if !odd {
            return Some(nl + 1);
        }
        start = nl + 1;
    }
}

/// For line-oriented input (JSON lines), where a quote is no CSV quote: the length of
/// the prefix of `bytes` that ends with a newline.
pub fn complete_lines(bytes: &[u8]) -> usize {
    memchr::memrchr(b'\n', bytes).map_or(0, |i| i + 1)
}

/// Splits `text` (complete records) into at most `parts` pieces at record boundaries,
/// with the 0-based physical line each piece starts at.
pub fn split_records(text: &str, parts: usize) -> Vec<(usize, &str)> {
    split_pieces(text, parts, true)
}

fn split_pieces(text: &str, parts: usize, csv_quotes: bool) -> Vec<(usize, &str)> {
    let bytes = text.as_bytes();
    let parts = parts.max(1);
    if parts == 1 || bytes.is_empty() {
        return if bytes.is_empty() { Vec::new() } else { vec![(0, text)] };
    }
    let target = bytes.len() / parts + 1;
    let mut out = Vec::with_capacity(parts);
    let (mut start, mut line) = (0usize, 0usize);
    while out.len() + 1 < parts && start + target < bytes.len() {
        // The quote parity of the piece so far starts even: pieces begin at record starts.
        let from = start + target - 1;
        let odd = csv_quotes && count_quotes(&bytes[start..from]) % 2 == 1;
        let Some(end) = record_end_after(bytes, from, odd, csv_quotes) else { break };
        out.push((line, &text[start..end]));
        line += crate::csv::count_newlines(&bytes[start..end]);
        start = end;
    }
    if start < bytes.len() {
        out.push((line, &text[start..]));
    }
    out
}

struct RowMeta {
    line: usize,
    fingerprint: u64,
    end: usize,
    org: Option<Uuid>,
    tie: bool,
    type_index: u32,
    /// What rules and notification add; most rows have none, and a row's size is memory
    /// traffic for every row.
    extras: Option<Box<RowExtras>>,
}

struct RowExtras {
    notify: Option<BTreeMap<String, String>>,
    incident: Option<(String, BTreeMap<String, String>)>,
    outputs: Vec<String>,
}

enum RowResult {
    Event(RowMeta),
    Dropped,
    /// Seen before; no output was written for it.
    Duplicate,
    Quarantined(Quarantined),
}

struct Piece {
    json: Vec<u8>,
    /// Handed back to the batch's scratch.
    arena: Option<MemoArena>,
    rows: Vec<RowResult>,
    types: Vec<String>,
    /// Its events' fingerprints are already in the batch's set (the piece was alone).
    settled: bool,
    /// The records it met, when it ran beside others.
    known: Option<KnownMap>,
    /// Its lines were handed to a [`LineSink`] as they were made: `json` holds only the
    /// last of them, and the rows' ends point into what was handed on.
    streamed: bool,
    /// The sink refused lines; the rows after them were not read.
    sink_failed: Option<std::io::Error>,
}

/// Where a batch's lines go as they are made ([`process_batch_streaming`]): whole lines, in
/// order.
pub type LineSink<'s> = dyn FnMut(&[u8]) -> std::io::Result<()> + 's;

/// How many bytes of lines a streaming piece gathers before it hands them on: a batch then
/// holds its input and this much output, not its whole output (several times its input).
pub const STREAM_BYTES: usize = 1 << 20;

/// Hands a piece's `lines` to its sink, when it has one, once they reach
/// [`STREAM_BYTES`]; they are then emptied.
#[inline]
fn drain(stream: &mut Option<&mut LineSink<'_>>, lines: &mut Vec<u8>) -> std::io::Result<()> {
    match stream {
        Some(sink) if lines.len() >= STREAM_BYTES => {
            sink(lines)?;
            lines.clear();
            Ok(())
        }
        _ => Ok(()),
    }
}

/// How a piece tells duplicates before writing them out. Alone, it owns the set. Beside
/// other pieces, it reads the set as it was before the batch and keeps its own for what
/// it has seen; a duplicate of an event in an earlier piece is then left for the merge.
enum Seen<'s> {
    Owned(&'s mut FingerprintSet),
    Shared { before: &'s FingerprintSet, own: FingerprintSet },
}

impl Seen<'_> {
    /// True the first time a fingerprint comes by.
    fn first_time(&mut self, fingerprint: u64) -> bool {
        match self {
            Seen::Owned(set) => set.insert(fingerprint),
            Seen::Shared { before, own } => !before.contains(&fingerprint) && own.insert(fingerprint),
        }
    }

    /// Whether a fingerprint came by already.
    fn has(&self, fingerprint: u64) -> bool {
        match self {
            Seen::Owned(set) => set.contains(&fingerprint),
            Seen::Shared { before, own } => before.contains(&fingerprint) || own.contains(&fingerprint),
        }
    }
}

fn event_map(event: &Event<'_>) -> BTreeMap<String, String> {
    event.iter().filter(|(f, _)| *f != *fields::RAW).map(|(f, v)| (f.name().to_string(), v.text.to_string())).collect()
}

/// The fields a run sets on every event, made once per piece.
struct RunFields {
    feed_name: Option<Rendered>,
    observation_time: Rendered,
}

impl RunFields {
    fn new(stages: &Stages<'_>) -> RunFields {
        RunFields {
            feed_name: stages.feed_name.map(|name| Rendered::new(*fields::FEED_NAME, Kind::Text, name)),
            observation_time: Rendered::new(*fields::TIME_OBSERVATION, Kind::Text, stages.observation_time),
        }
    }
}

/// What the engine adds to every parsed event: the run's fields, the taxonomy, routing and,
/// with warninglists, their mark. Gives the routing outcome and whether a list had it.
fn add_run_fields<'t>(event: &mut Event<'t>, stages: &Stages<'t>, run_fields: &'t RunFields, buf: &mut String) -> (Routed, bool) {
    if let Some(name) = &run_fields.feed_name {
        event.set_rendered(name);
    }
    event.set_rendered(&run_fields.observation_time);
    experts::fill_taxonomy(event);
    let routed = experts::enrich_and_route(event, stages.index, buf);
    let listed = stages.warninglists.is_some_and(|lists| experts::mark_warninglisted(event, lists));
    (routed, listed)
}

/// The index of a classification type among the piece's `types`.
fn type_index(types: &mut Vec<String>, type_name: &str) -> u32 {
    match types.iter().position(|t| t == type_name) {
        Some(i) => i as u32,
        None => {
            types.push(type_name.to_string());
            (types.len() - 1) as u32
        }
    }
}

/// Where a piece's rows go: its JSON lines and its classification types.
struct PieceOut<'p> {
    json: &'p mut Vec<u8>,
    types: &'p mut Vec<String>,
}

/// Everything after parsing, for one event: enrichment, routing, rules, de-duplication
/// and, for an event seen for the first time, its output.
fn after_parse<'t>(
    event: &mut Event<'t>,
    stages: &Stages<'t>,
    run_fields: &'t RunFields,
    buf: &mut String,
    line: usize,
    out: PieceOut<'_>,
    seen: &mut Seen<'_>,
) -> RowResult {
    let (Routed { org, tie }, listed) = add_run_fields(event, stages, run_fields, buf);
    let mut notify_wanted = stages.notify_all && !listed;
    let mut incident_title = None;
    let mut outputs = Vec::new();
    if let Some(rules) = stages.rules {
        let outcome = rules.apply(event);
        if outcome.dropped {
            return RowResult::Dropped;
        }
        notify_wanted |= outcome.notify;
        incident_title = outcome.incident;
        outputs = outcome.outputs;
    }
    // One pass over the fields writes the event and takes its fingerprint; a duplicate's
    // line is cut off again (one row in ten in a typical feed, cheaper than a second pass).
    let start = out.json.len();
    let fingerprint = FieldTable::with(|table| stages.dedupe.write_json_and_fingerprint(table, event, out.json));
    if !seen.first_time(fingerprint) {
        out.json.truncate(start);
        return RowResult::Duplicate;
    }
    out.json.push(b'\n');
    let type_index = type_index(out.types, event.get(*fields::CLASSIFICATION_TYPE).unwrap_or(""));
    let notify = (notify_wanted && org.is_some()).then(|| event_map(event));
    let incident = incident_title.map(|title| (title, event_map(event)));
    let extras = (notify.is_some() || incident.is_some() || !outputs.is_empty()).then(|| Box::new(RowExtras { notify, incident, outputs }));
    RowResult::Event(RowMeta { line, fingerprint, end: out.json.len(), org, tie, type_index, extras })
}

/// One piece of a batch and what it runs with.
struct PieceRun<'t, 's, 'k> {
    text: &'t str,
    arena: MemoArena,
    /// The 0-based physical line the piece starts at, in the whole input.
    first_line: usize,
    stages: &'s Stages<'t>,
    json: Vec<u8>,
    seen: Seen<'s>,
    known: Known<'s>,
    /// Only for a piece that runs alone, without rules (whose named outputs copy lines).
    stream: Option<&'s mut LineSink<'k>>,
}

impl Piece {
    fn new(json: Vec<u8>, seen: &Seen<'_>, rows: usize, streamed: bool) -> Piece {
        Piece {
            json,
            arena: None,
            rows: Vec::with_capacity(rows),
            types: Vec::new(),
            settled: matches!(seen, Seen::Owned(_)),
            known: None,
            streamed,
            sink_failed: None,
        }
    }
}

fn run_csv_piece<'t>(parser: &'t dyn RowParser, run: PieceRun<'t, '_, '_>) -> Piece {
    let PieceRun { text, arena, first_line, stages, json, mut seen, mut known, mut stream } = run;
    let mut piece = Piece::new(json, &seen, text.len() / 64, stream.is_some());
    let direct = writes_direct(parser, stages);
    let mut sets = PieceSets { seen: &mut seen, known: &mut known };
    piece.sink_failed = csv_rows(parser, text, first_line, stages, &arena, &mut piece, &mut sets, direct, &mut stream).err();
    piece.arena = Some(arena);
    piece.known = known.into_own();
    piece
}

/// The next row of a piece's CSV records, with its line in the whole input: blank records
/// are skipped, and records that are not valid CSV go to `rows` as quarantined.
fn next_row<'t>(
    reader: &mut crate::csv::CsvReader<'t>,
    cells: &mut Vec<Cow<'t, str>>,
    first_line: usize,
    rows: &mut Vec<RowResult>,
) -> Option<RecordInfo<'t>> {
    loop {
        match reader.next_record(cells)? {
            Ok(_) if cells.len() == 1 && cells[0].trim().is_empty() => {}
            Ok(info) => return Some(RecordInfo { line: first_line + info.line, raw: info.raw }),
            Err(e) => {
                rows.push(RowResult::Quarantined(Quarantined { line: first_line + e.line(), reason: e.to_string(), raw: String::new() }))
            }
        }
    }
}

/// Whether a CSV piece's rows are written straight to JSON: rules and warninglists read and
/// change events; without them, rows can be written as they are parsed.
fn writes_direct(parser: &dyn RowParser, stages: &Stages<'_>) -> bool {
    stages.rules.is_none() && stages.warninglists.is_none() && parser.writes_direct()
}

/// What a piece tells duplicates by: fingerprints, and the records met before.
struct PieceSets<'p, 's> {
    seen: &'p mut Seen<'s>,
    known: &'p mut Known<'s>,
}

/// The rows of a CSV piece, into `piece`; `arena` holds what the parser remembers from row
/// to row (and from the batches of its run before). `direct`: the parser writes its rows
/// straight to JSON ([`crate::direct`]); a record met before whose event is still a
/// duplicate is then counted without being read ([`crate::known_rows`]). With a `stream`,
/// lines are handed on as they gather; an error there stops the piece.
#[allow(clippy::too_many_arguments)]
fn csv_rows<'t>(
    parser: &'t dyn RowParser,
    text: &'t str,
    first_line: usize,
    stages: &Stages<'t>,
    arena: &MemoArena,
    piece: &mut Piece,
    sets: &mut PieceSets<'_, '_>,
    direct: bool,
    stream: &mut Option<&mut LineSink<'_>>,
) -> std::io::Result<()> {
    let PieceSets { seen, known } = sets;
    let run_fields = RunFields::new(stages);
    let mut reader = crate::csv::CsvReader::new(text);
    let mut cells: Vec<Cow<'_, str>> = Vec::with_capacity(64);
    let mut buf = String::new();
    let mut event = Event::new();
    // Rows written directly go into this buffer; it is the piece's again at the end.
    let mut direct = direct.then(|| DirectRow::new(stages.dedupe, std::mem::take(&mut piece.json), run_fields.feed_name.as_ref()));
    // Last, so dropped first: it hands what it remembered back to the arena then.
    let mut memo = RowMemo::new(arena);
    loop {
        // Between rows, where the lines hold only whole ones.
        drain(stream, direct.as_mut().map_or(&mut piece.json, |row| row.lines_mut()))?;
        let Some(record) = next_row(&mut reader, &mut cells, first_line, &mut piece.rows) else { break };
        if let Some(row) = direct.as_mut() {
            let key = known.key(record.raw);
            if known.get(key).is_some_and(|fingerprint| seen.has(fingerprint)) {
                piece.rows.push(RowResult::Duplicate);
                continue;
            }
            row.begin();
            if let Err(reason) = parser.write_row_direct(&cells, record, row, &mut memo) {
                row.abandon();
                piece.rows.push(quarantined(record, reason));
                continue;
            }
            let (Routed { org, tie }, fingerprint) = row.finish(&run_fields.observation_time, stages.index);
            if !row.conflicted() {
                known.insert(key, fingerprint);
                if !seen.first_time(fingerprint) {
                    row.abandon();
                    piece.rows.push(RowResult::Duplicate);
                    continue;
                }
                row.end_line();
                let type_index = type_index(&mut piece.types, row.classification_type());
                // The few rows to notify are parsed again as events, for the directive.
                let notify = (stages.notify_all && org.is_some())
                    .then(|| {
                        event.clear();
                        parser.parse_row(&cells, record, &mut event).ok()?;
                        add_run_fields(&mut event, stages, &run_fields, &mut buf);
                        Some(event_map(&event))
                    })
                    .flatten();
                let extras = notify.is_some().then(|| Box::new(RowExtras { notify, incident: None, outputs: Vec::new() }));
                piece.rows.push(RowResult::Event(RowMeta { line: record.line, fingerprint, end: row.len(), org, tie, type_index, extras }));
                continue;
            }
            // A field set twice: an event keeps the last value where the first was, so the
            // row is made as one below.
            row.abandon();
        }
        event.clear();
        let json = match direct.as_mut() {
            Some(row) => row.lines_mut(),
            None => &mut piece.json,
        };
        let result = match parser.parse_row_with_memo(&cells, record, &mut event, &mut memo) {
            Ok(()) => after_parse(&mut event, stages, &run_fields, &mut buf, record.line, PieceOut { json, types: &mut piece.types }, seen),
            Err(reason) => quarantined(record, reason),
        };
        piece.rows.push(result);
    }
    if let Some(row) = direct {
        piece.json = row.into_lines();
    }
    Ok(())
}

/// A row the parser refused, kept with its text.
fn quarantined(record: RecordInfo<'_>, reason: String) -> RowResult {
    RowResult::Quarantined(Quarantined { line: record.line, reason, raw: record.raw.to_string() })
}

/// IntelMQ JSON lines as a line format.
struct IntelmqLines;

impl LineParser for IntelmqLines {
    fn parse_line<'a>(&'a self, line: &'a str, event: &mut Event<'a>) -> Result<(), String> {
        *event = read_intelmq_json(line).map_err(|e| e.to_string())?;
        Ok(())
    }
}

fn run_lines_piece<'t>(parser: &'t dyn LineParser, run: PieceRun<'t, '_, '_>) -> Piece {
    let PieceRun { text, arena, first_line, stages, json, mut seen, known: _, mut stream } = run;
    let mut piece = Piece::new(json, &seen, text.len() / 256, stream.is_some());
    piece.arena = Some(arena);
    let run_fields = RunFields::new(stages);
    let mut buf = String::new();
    for (i, raw) in text.lines().enumerate() {
        if let Err(e) = drain(&mut stream, &mut piece.json) {
            piece.sink_failed = Some(e);
            break;
        }
        let line = first_line + i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let mut event = Event::new();
        let row = match parser.parse_line(raw, &mut event) {
            Ok(()) => {
                let out = PieceOut { json: &mut piece.json, types: &mut piece.types };
                after_parse(&mut event, stages, &run_fields, &mut buf, line, out, &mut seen)
            }
            Err(reason) => RowResult::Quarantined(Quarantined { line, reason, raw: raw.chars().take(4096).collect() }),
        };
        piece.rows.push(row);
    }
    piece
}

/// The input of one batch.
pub enum BatchInput<'t> {
    /// CSV records (no header), the 0-based physical line of their first line.
    Csv { parser: &'t dyn RowParser, text: &'t str, first_line: usize },
    /// IntelMQ JSON lines.
    JsonLines { text: &'t str, first_line: usize },
    /// One record per line, read by `parser` (a JSON mapping).
    Lines { parser: &'t dyn LineParser, text: &'t str, first_line: usize },
}

/// Output buffers and memo arenas kept from one batch to the next (fresh ones each time
/// would cost page faults on every batch, and the values a parser met would be converted
/// again), and the records the run has met.
#[derive(Debug, Default)]
pub struct Scratch {
    pieces: Vec<Vec<u8>>,
    arenas: Vec<MemoArena>,
    /// The records of the run met so far.
    known: KnownRows,
}

impl Scratch {
    /// A scratch serves the batches of one run (one input, one parser, one set of stages);
    /// kept for another run, it must forget the records and values the last one met.
    pub fn new_run(&mut self) {
        self.known.forget();
        for arena in &mut self.arenas {
            arena.clear();
        }
    }

    /// Gives a batch's output buffers back once they have been written.
    pub fn recycle(&mut self, jsonl: JsonLines) {
        for mut buffer in jsonl.buffers {
            buffer.clear();
            self.pieces.push(buffer);
        }
    }
}

/// Processes one batch on `threads` threads and merges it in order against `seen`.
pub fn process_batch<'t>(
    input: BatchInput<'t>,
    stages: &Stages<'t>,
    threads: usize,
    seen: &mut FingerprintSet,
    scratch: &mut Scratch,
) -> BatchOutput {
    match process_batch_streaming(input, stages, threads, seen, scratch, None) {
        Ok(out) => out,
        Err(e) => unreachable!("only a sink fails, and there is none: {e}"),
    }
}

/// [`process_batch`], handing the lines to `sink` as they gather when the batch runs as
/// one piece without rules (see [`streams`]): the batch then never holds its whole output,
/// and [`BatchOutput::jsonl`] holds only the lines made after the last hand-over. An error
/// from `sink` stops the batch and is returned; the lines it took are the batch's first.
/// `seen` and `scratch` then hold what the batch met before it stopped: the caller starts
/// again from its last commit with fresh ones.
pub fn process_batch_streaming<'t>(
    input: BatchInput<'t>,
    stages: &Stages<'t>,
    threads: usize,
    seen: &mut FingerprintSet,
    scratch: &mut Scratch,
    sink: Option<&mut LineSink<'_>>,
) -> std::io::Result<BatchOutput> {
    let (text, first_line) = match &input {
        BatchInput::Csv { text, first_line, .. }
        | BatchInput::JsonLines { text, first_line }
        | BatchInput::Lines { text, first_line, .. } => (*text, *first_line),
    };
    let csv_quotes = matches!(input, BatchInput::Csv { .. });
    // The parser, told by address: what its steps made is remembered from batch to batch
    // of its run, and so are the records it read.
    let maker = match &input {
        BatchInput::Csv { parser, .. } => (*parser as *const dyn RowParser).cast::<()>() as usize,
        BatchInput::Lines { parser, .. } => (*parser as *const dyn LineParser).cast::<()>() as usize,
        BatchInput::JsonLines { .. } => 0,
    };
    // The fingerprints and the records met grow by doubling as rows come. Room reserved
    // from a guess of the batch's rows overshot, and doubled both sets a step early: for
    // 110,000 rows, 4 MiB of records met where 2 MiB hold them.
    let pieces = split_pieces(text, threads.max(1), csv_quotes);
    let streaming = sink.is_some() && streams(threads, stages);
    let jobs: Vec<((usize, &str), Vec<u8>, MemoArena)> = pieces
        .into_iter()
        .map(|p| {
            let mut buf = scratch.pieces.pop().unwrap_or_default();
            buf.clear();
            buf.reserve(if streaming { STREAM_BYTES + (64 << 10) } else { p.1.len() * 4 });
            let mut arena = scratch.arenas.pop().unwrap_or_default();
            arena.ready_for(maker);
            (p, buf, arena)
        })
        .collect();
    // Only rows written directly are kept as records met.
    if let BatchInput::Csv { parser, .. } = &input {
        if writes_direct(*parser, stages) {
            scratch.known.start(RunMark {
                parser: maker,
                index: std::ptr::from_ref(stages.index) as usize,
                dedupe: stages.dedupe.clone(),
                feed_name: stages.feed_name.map(str::to_string),
                observation_time: stages.observation_time.to_string(),
            });
        }
    }
    let run = |((offset, text), json, arena): ((usize, &'t str), Vec<u8>, MemoArena),
               seen: Seen<'_>,
               known: Known<'_>,
               stream: Option<&mut LineSink<'_>>| {
        let piece = PieceRun { text, arena, first_line: first_line + offset, stages, json, seen, known, stream };
        match &input {
            BatchInput::Csv { parser, .. } => run_csv_piece(*parser, piece),
            BatchInput::JsonLines { .. } => run_lines_piece(&IntelmqLines, piece),
            BatchInput::Lines { parser, .. } => run_lines_piece(*parser, piece),
        }
    };
    let known = &mut scratch.known;
    let mut pieces: Vec<Piece> = if jobs.len() <= 1 {
        let mut stream = if streaming { sink } else { None };
        jobs.into_iter().map(|job| run(job, Seen::Owned(&mut *seen), known.alone(), stream.take())).collect()
    } else {
        let before: &FingerprintSet = seen;
        let known_before: &KnownRows = known;
        std::thread::scope(|scope| {
            let handles: Vec<_> = jobs
                .into_iter()
                .map(|job| {
                    scope.spawn(move || run(job, Seen::Shared { before, own: FingerprintSet::default() }, known_before.beside(), None))
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a pipeline thread does not panic")).collect()
        })
    };
    for own in pieces.iter_mut().filter_map(|p| p.known.take()) {
        scratch.known.take_in(own);
    }
    scratch.arenas.extend(pieces.iter_mut().filter_map(|p| p.arena.take()));
    if let Some(e) = pieces.iter_mut().find_map(|p| p.sink_failed.take()) {
        return Err(e);
    }
    Ok(merge(pieces, seen))
}

/// Whether a batch's lines can be handed on as they are made: it runs as one piece, whose
/// lines are final as soon as they are written (pieces beside each other may repeat each
/// other's events, told only when they are merged), and without rules, whose named outputs
/// copy lines at the merge.
pub fn streams(threads: usize, stages: &Stages<'_>) -> bool {
    streams_with(threads, stages.rules.is_some())
}

/// [`streams`], for a caller that has not made its stages yet.
pub fn streams_with(threads: usize, rules: bool) -> bool {
    threads <= 1 && !rules
}

/// The input a batch reads unless told otherwise. A batch that [`streams`] holds little
/// more than its input, so it reads 2 MiB: half the commits of 1 MiB. One that holds its
/// lines (on several threads, or with rules) holds several times its input and reads 1 MiB.
pub fn batch_bytes_for(streams: bool) -> usize {
    if streams {
        2 << 20
    } else {
        1 << 20
    }
}

/// Merges the pieces in order. Each piece's buffer becomes part of the output. The first
/// piece wrote no duplicate (it tells its own and those of earlier batches); in a later
/// one, a line repeating an event of an earlier piece is left out by moving the lines after
/// it down.
fn merge(pieces: Vec<Piece>, seen: &mut FingerprintSet) -> BatchOutput {
    let mut out = BatchOutput::default();
    out.jsonl.buffers.reserve(pieces.len());
    for (index, piece) in pieces.into_iter().enumerate() {
        let mut json = piece.json;
        // The end of the lines kept so far.
        let mut kept = 0usize;
        let mut start = 0usize;
        // Counted by the piece's type index; the type names are looked up once per piece.
        let mut piece_tally: HashMap<(Option<Uuid>, u32), u64> = HashMap::new();
        let mut run: Option<((Option<Uuid>, u32), u64)> = None;
        for row in piece.rows {
            out.counts.rows_read += 1;
            match row {
                RowResult::Quarantined(q) => {
                    out.counts.quarantined += 1;
                    out.quarantined.push(q);
                }
                RowResult::Dropped => {
                    out.counts.parsed += 1;
                    out.counts.dropped += 1;
                }
                RowResult::Duplicate => {
                    out.counts.parsed += 1;
                    out.counts.duplicates += 1;
                }
                RowResult::Event(meta) => {
                    out.counts.parsed += 1;
                    let (from, to) = (start, meta.end);
                    start = meta.end;
                    // A piece that ran beside others may repeat an event of an earlier one.
                    if !piece.settled && !seen.insert(meta.fingerprint) {
                        debug_assert!(index > 0, "the first piece writes no duplicate");
                        out.counts.duplicates += 1;
                        continue;
                    }
                    out.new_fingerprints.push(meta.fingerprint);
                    // A streamed piece's lines were handed on already; it has no named outputs.
                    let bytes: &[u8] = if piece.streamed {
                        &[]
                    } else {
                        if kept != from {
                            json.copy_within(from..to, kept);
                        }
                        kept += to - from;
                        &json[kept - (to - from)..kept]
                    };
                    out.counts.written += 1;
                    if meta.org.is_some() {
                        out.counts.routed += 1;
                    }
                    if meta.tie {
                        out.counts.ties += 1;
                    }
                    // Rows of one organisation and type come in runs: counted as such.
                    match &mut run {
                        Some((key, n)) if *key == (meta.org, meta.type_index) => *n += 1,
                        _ => {
                            if let Some((key, n)) = run.replace(((meta.org, meta.type_index), 1)) {
                                *piece_tally.entry(key).or_default() += n;
                            }
                        }
                    }
                    let Some(extras) = meta.extras else { continue };
                    let RowExtras { notify, incident, outputs } = *extras;
                    for name in outputs {
                        out.routed_outputs.entry(name).or_default().extend_from_slice(bytes);
                    }
                    if let (Some(event), Some(org)) = (notify, meta.org) {
                        out.counts.notified += 1;
                        out.notify.push(ToNotify { line: meta.line, org, event });
                    }
                    if let Some((title, event)) = incident {
                        out.counts.incidents += 1;
                        out.incidents.push(ToIncident { line: meta.line, title, org: meta.org, event });
                    }
                }
            }
        }
        if let Some((key, n)) = run {
            *piece_tally.entry(key).or_default() += n;
        }
        for ((org, type_index), n) in piece_tally {
            *out.tally.entry((org, piece.types[type_index as usize].clone())).or_default() += n;
        }
        if !piece.streamed {
            json.truncate(kept);
        }
        out.jsonl.buffers.push(json);
    }
    out
}

/// Takes in fingerprints other runs committed while a batch ran (`newer`). True when the
/// batch accepted one of them: its own are then taken back out and it must run again.
pub fn take_in_newer(seen: &mut FingerprintSet, accepted: &[u64], newer: Vec<u64>) -> bool {
    if newer.is_empty() {
        return false;
    }
    let newer_set: HashSet<u64> = newer.iter().copied().collect();
    let clash = accepted.iter().any(|f| newer_set.contains(f));
    if clash {
        for f in accepted {
            seen.remove(f);
        }
    }
    seen.extend(newer);
    clash
}

/// CSV output of accepted events: the named columns, RFC 4180 quoting, formula cells defused.
pub fn events_to_csv(jsonl: &[u8], columns: &[FieldId], out: &mut Vec<u8>) {
    for line in jsonl.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let Ok(text) = std::str::from_utf8(line) else { continue };
        let Ok(event) = read_intelmq_json(text) else { continue };
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let value = event.get(*column).unwrap_or("");
            let value =
                if value.starts_with(['=', '+', '-', '@', '\t', '\r']) && event.get_value(*column).map(|v| v.kind) == Some(Kind::Text) {
                    format!("'{value}")
                } else {
                    value.to_string()
                };
            if value.contains([',', '"', '\n', '\r']) {
                out.push(b'"');
                out.extend_from_slice(value.replace('"', "\"\"").as_bytes());
                out.push(b'"');
            } else {
                out.extend_from_slice(value.as_bytes());
            }
        }
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_split_only_outside_quotes() {
        let text = "a,b\n\"x\ny\",2\nc,3\nd,4\n";
        assert_eq!(complete_records(b"a,b\n\"x\ny"), 4);
        let pieces = split_records(text, 3);
        let joined: String = pieces.iter().map(|(_, p)| *p).collect();
        assert_eq!(joined, text);
        for (_, p) in &pieces {
            assert_eq!(p.matches('"').count() % 2, 0, "no piece cuts a quoted field: {p:?}");
        }
        // Lines are physical: the quoted newline counts.
        let lines: Vec<usize> = pieces.iter().map(|(l, _)| *l).collect();
        let mut expected = 0;
        for (l, p) in &pieces {
            assert_eq!(*l, expected);
            expected += p.matches('\n').count();
        }
        assert!(!lines.is_empty());
    }

    /// The definition: a newline outside quotes, read byte by byte.
    fn record_ends(bytes: &[u8]) -> Vec<usize> {
        let mut in_quotes = false;
        let mut ends = Vec::new();
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'"' => in_quotes = !in_quotes,
                b'\n' if !in_quotes => ends.push(i + 1),
                _ => {}
            }
        }
        ends
    }

    proptest::proptest! {
        #[test]
        fn record_ends_are_found_as_the_definition_finds_them(text in "[a\",\n]{0,200}", parts in 1usize..6) {
            let ends = record_ends(text.as_bytes());
            proptest::prop_assert_eq!(complete_records(text.as_bytes()), ends.last().copied().unwrap_or(0));
            let whole = &text[..complete_records(text.as_bytes())];
            let pieces = split_records(whole, parts);
            proptest::prop_assert!(pieces.len() <= parts);
            proptest::prop_assert_eq!(pieces.iter().map(|(_, p)| *p).collect::<String>(), whole);
            let mut at = 0;
            for (line, piece) in &pieces {
                proptest::prop_assert_eq!(*line, whole[..at].matches('\n').count());
                at += piece.len();
                proptest::prop_assert!(ends.contains(&at) || at == whole.len(), "a piece ends at a record end");
            }
        }
    }

    struct TwoColumns;
    impl RowParser for TwoColumns {
        fn parse_row<'a>(&'a self, fields: &[Cow<'a, str>], _record: RecordInfo<'a>, event: &mut Event<'a>) -> Result<(), String> {
            if fields.len() != 2 {
                return Err(format!("expected 2 columns, found {}", fields.len()));
            }
            event.set(*fields::SOURCE_IP, fields[0].clone());
            event.set(*fields::CLASSIFICATION_TYPE, fields[1].clone());
            Ok(())
        }
    }

    fn empty_index() -> ConstituencyIndex {
        ConstituencyIndex::build(&[], Vec::new(), Default::default(), "TW", chrono::Utc::now())
    }

    /// No rules, lists or notifications, and the feed name `test`.
    fn plain_stages<'t>(index: &'t ConstituencyIndex, keys: &'t DedupeKeys) -> Stages<'t> {
        Stages {
            index,
            rules: None,
            dedupe: keys,
            feed_name: Some("test"),
            observation_time: "2026-11-30T00:00:00+00:00",
            notify_all: false,
            warninglists: None,
        }
    }

    #[test]
    fn batches_parse_route_dedupe_and_quarantine_in_order() {
        let (index, keys) = (empty_index(), DedupeKeys::default());
        let stages = plain_stages(&index, &keys);
        let mut text = String::new();
        for i in 0..1000 {
            text.push_str(&format!("192.0.2.{},scanner\n", i % 200));
        }
        text.push_str("broken\n");
        let mut seen = FingerprintSet::default();
        for threads in [1, 4] {
            seen.clear();
            let out = process_batch(
                BatchInput::Csv { parser: &TwoColumns, text: &text, first_line: 1 },
                &stages,
                threads,
                &mut seen,
                &mut Scratch::default(),
            );
            assert_eq!(out.counts.rows_read, 1001);
            assert_eq!((out.counts.written, out.counts.duplicates, out.counts.quarantined), (200, 800, 1));
            assert_eq!(out.quarantined[0].line, 1002, "the header is line 1");
            let first = std::str::from_utf8(&out.jsonl.contiguous()).unwrap().lines().next().unwrap().to_string();
            assert!(
                first.contains("\"source.ip\":\"192.0.2.0\"") && first.contains("\"classification.taxonomy\":\"information-gathering\""),
                "{first}"
            );
            assert_eq!(out.tally[&(None, "scanner".to_string())], 200);
        }
        let again = process_batch(
            BatchInput::Csv { parser: &TwoColumns, text: &text, first_line: 1 },
            &stages,
            2,
            &mut seen,
            &mut Scratch::default(),
        );
        assert_eq!((again.counts.written, again.counts.duplicates), (0, 1000), "a repeated batch writes nothing new");
    }

    #[test]
    fn pieces_side_by_side_give_the_lines_one_piece_gives() {
        let (index, keys) = (empty_index(), DedupeKeys::default());
        let stages = plain_stages(&index, &keys);
        // 300 addresses, each new one followed by two seen before: every later piece holds
        // events of an earlier one between events of its own.
        let text: String = (0..900)
            .map(|i| {
                let (k, j) = (i / 3, i % 3);
                let address = k / (j + 1);
                format!("10.0.{}.{},scanner\n", address / 100, address % 100)
            })
            .collect();
        let run = |threads| {
            let mut seen = FingerprintSet::default();
            process_batch(
                BatchInput::Csv { parser: &TwoColumns, text: &text, first_line: 1 },
                &stages,
                threads,
                &mut seen,
                &mut Scratch::default(),
            )
        };
        let alone = run(1);
        assert_eq!((alone.counts.written, alone.counts.duplicates), (300, 600));
        for threads in [2, 3, 4] {
            let side_by_side = run(threads);
            assert_eq!(side_by_side.jsonl.chunks().count(), threads, "one buffer per piece");
            assert_eq!(side_by_side.jsonl.contiguous(), alone.jsonl.contiguous(), "{threads} pieces");
            assert_eq!(side_by_side.jsonl.len(), alone.jsonl.len());
            assert_eq!(side_by_side.new_fingerprints, alone.new_fingerprints, "{threads} pieces");
            assert_eq!(side_by_side.counts, alone.counts, "{threads} pieces");
        }
    }

    #[test]
    fn csv_output_defuses_formulas() {
        let mut e = Event::new();
        e.set(*fields::SOURCE_IP, "=cmd|' /C calc'!A0");
        e.set(*fields::FEED_NAME, "a,b");
        let mut line = Vec::new();
        e.write_intelmq_json(&mut line);
        line.push(b'\n');
        let mut out = Vec::new();
        events_to_csv(&line, &[*fields::SOURCE_IP, *fields::FEED_NAME], &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "'=cmd|' /C calc'!A0,\"a,b\"\n");
    }
}
