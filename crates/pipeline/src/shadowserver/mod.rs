//! Shadowserver reports → events, driven by Shadowserver's own report schema.
//!
//! Shadowserver publishes, for each of its report types, which CSV column goes to which
//! IntelMQ field, through which converter, with which constant classification (`intelmq.json`
//! in The-Shadowserver-Foundation/report_schema; IntelMQ ≥ 3.3 downloads it). Rampart ships a
//! copy ([`Schema::builtin`]) and reads newer ones with [`Schema::parse`], so a new report type
//! or column needs new data, not new code.
//!
//! Work is split so that rows are cheap: a [`Report`] is compiled once per file header into a
//! [`CompiledReport`] (columns resolved to indexes, field names to [`FieldId`]s, constants
//! harmonised), and [`CompiledReport::parse_row`] then fills an [`Event`] from a row of
//! borrowed fields. A row that cannot be read gives a [`RowError`] with its line and reason;
//! the caller quarantines it and goes on.
//!
//! Semantics follow IntelMQ 3.x's Shadowserver parser, including its quieter rules: a value a
//! converter turns into nothing is left out; an optional value the field type refuses (say,
//! `source.geolocation.cc` = `AUT`) is kept under `extra.<column>` instead; columns no mapping
//! consumed go to `extra.<column>` when not empty; a target IntelMQ's harmonisation does not
//! know (`severity`) becomes `extra.<target>`. Deliberate differences from IntelMQ: an empty
//! value for an `extra.*` target is dropped (IntelMQ keeps `""`); a time stamp without a zone
//! is UTC (IntelMQ uses the host's zone); a required column missing from a short row, or an
//! unreadable required time stamp, fails the row (IntelMQ fills in nothing or today's date);
//! more fields than header columns fail the row (IntelMQ drops the surplus). `time.observation`
//! is the caller's to set.

mod convert;
mod schema;
mod step;

pub use convert::Stamp;
pub use schema::{report_type_from_file_name, Report, Schema, SchemaError, BUILTIN_SCHEMA_JSON};

use crate::csv::{CsvError, CsvReader, RecordInfo};
use crate::direct::{DirectRow, RowSink};
use crate::event::{fields, valid_field_name, Event, EventError, FieldId, Kind, Rendered};
use crate::memo::RowMemo;
use convert::{Converted, Converter, RowColumns};
use schema::{ConverterName, Mapping, Target};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use step::{run_step, Done, Made, Slot};

/// A report that cannot be parsed at all (as opposed to one bad row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("report file name {0:?} is not valid: expected a Shadowserver file name such as 2019-01-01-scan_dns-sample-asn.csv")]
    BadFileName(String),
    #[error("no configuration for the Shadowserver report type {0:?} in the schema")]
    UnknownReportType(String),
    #[error("required column {column:?} not found in feed {feed:?}")]
    MissingRequiredColumn { column: String, feed: String },
    #[error("feed {feed:?}: the mapping of column {column:?} names the unknown converter {converter:?}")]
    UnknownConverter { feed: String, column: String, converter: String },
    #[error("feed {feed:?}: {reason}")]
    BadMapping { feed: String, reason: String },
    #[error("the report is empty: it has no header line")]
    NoHeader,
    #[error("the header line is not valid CSV: {0}")]
    Header(CsvError),
    #[error("not a JSON array of objects: {0}")]
    Json(String),
}

/// A row that could not be turned into an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct RowError {
    /// The 1-based physical line the row starts on (for JSON input: the row's position).
    pub line: usize,
    pub problem: RowProblem,
}

/// What is wrong with a row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    #[error("{found} fields, but the header has {expected} columns")]
    TooManyColumns { expected: usize, found: usize },
    #[error("required column {column:?} is missing from the row ({found} of {expected} columns)")]
    MissingRequiredValue { column: String, found: usize, expected: usize },
    #[error("column {column:?}: {value:?} is not {expected} ({converter})")]
    Conversion { column: String, value: String, converter: &'static str, expected: &'static str },
    #[error("column {column:?}: {value:?} is not a valid {field}")]
    InvalidValue { column: String, field: &'static str, value: String },
    #[error("the row's columns are not those the report was compiled for")]
    DifferentColumns,
    #[error("a quoted field is still open at the end of the input")]
    UnclosedQuote,
}

impl From<CsvError> for RowError {
    fn from(e: CsvError) -> Self {
        match e {
            CsvError::UnclosedQuote { line } => RowError { line, problem: RowProblem::UnclosedQuote },
        }
    }
}

/// How rows become events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Set `raw`: base64 of the header line, a newline and the data line, as IntelMQ does.
    /// On by default; a benchmark or a store that keeps the file may switch it off.
    pub raw: bool,
    /// The incoming report's `feed.name`, if it has one. IntelMQ keeps it for the events unless
    /// `overwrite_feed_name` is set; without it the schema's feed name is used.
    pub report_feed_name: Option<String>,
    /// IntelMQ's `overwrite` parameter: always use the schema's feed name.
    pub overwrite_feed_name: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { raw: true, report_feed_name: None, overwrite_feed_name: false }
    }
}

/// A report resolved against one header: ready to turn rows into events.
#[derive(Debug, Clone)]
pub struct CompiledReport {
    report_key: String,
    schema_feed_name: String,
    /// `feed.name` as the events get it.
    feed_name: Rendered,
    columns: Vec<String>,
    required: Vec<Step>,
    optional: Vec<Step>,
    constants: Vec<Rendered>,
    /// `extra.<column>` for values no mapping consumed; `None` for an earlier column of a
    /// repeated name (the last one counts).
    leftover: Vec<Option<FieldId>>,
    row_columns: RowColumns,
    raw: bool,
    raw_header: String,
    missing_optional: Vec<String>,
    raw_id: FieldId,
}

#[derive(Debug, Clone)]
struct Step {
    column: usize,
    slot: Slot,
    converter: Option<Converter>,
    /// Its outcome depends on its value alone, so a [`RowMemo`] may keep it.
    memo: bool,
}

impl Report {
    /// Resolves the report's mappings against a header, with default [`Options`]. A required
    /// column missing from the header is an error naming it and the feed; a missing optional
    /// one is noted ([`CompiledReport::missing_optional_columns`]; IntelMQ logs a warning).
    pub fn compile(&self, header: &[&str]) -> Result<CompiledReport, ParseError> {
        self.compile_with(header, &Options::default())
    }

    pub fn compile_with(&self, header: &[&str], options: &Options) -> Result<CompiledReport, ParseError> {
        let feed = self.feed_name.as_str();
        let bad = |e: EventError| ParseError::BadMapping { feed: feed.to_string(), reason: e.to_string() };
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(header.len());
        for (i, name) in header.iter().enumerate() {
            index.insert(name, i);
        }
        let mut leftover = Vec::with_capacity(header.len());
        for (i, name) in header.iter().enumerate() {
            leftover.push(if index.get(name) == Some(&i) { Some(extra_column_id(name).map_err(bad)?) } else { None });
        }
        let mut required = Vec::with_capacity(self.required.len());
        for mapping in &self.required {
            let Some(&column) = index.get(mapping.column.as_str()) else {
                return Err(ParseError::MissingRequiredColumn { column: mapping.column.clone(), feed: feed.to_string() });
            };
            required.push(self.step(mapping, column)?);
        }
        let mut optional = Vec::with_capacity(self.optional.len());
        let mut missing_optional: Vec<String> = Vec::new();
        for mapping in &self.optional {
            match index.get(mapping.column.as_str()) {
                Some(&column) => optional.push(self.step(mapping, column)?),
                None if !missing_optional.contains(&mapping.column) => missing_optional.push(mapping.column.clone()),
                None => {}
            }
        }
        let mut constants = Vec::with_capacity(self.constant_fields.len());
        for (name, value) in &self.constant_fields {
            match field_slot(name, feed)? {
                Slot::Field(id, ty) => {
                    let (kind, text) =
                        convert::harmonise(ty, Converted::Text(Cow::Borrowed(value.as_str()))).ok_or_else(|| ParseError::BadMapping {
                            feed: feed.to_string(),
                            reason: format!("constant field {name:?}: {value:?} is not a valid value"),
                        })?;
                    constants.push(Rendered::new(id, kind, &text));
                }
                Slot::Extra(id) => constants.push(Rendered::new(id, Kind::Text, value)),
                Slot::Ignore => {}
            }
        }
        let mut raw_header = String::with_capacity(header.iter().map(|h| h.len() + 3).sum());
        for (i, name) in header.iter().enumerate() {
            if i > 0 {
                raw_header.push(',');
            }
            raw_header.push('"');
            raw_header.push_str(&name.replace('"', "\"\""));
            raw_header.push('"');
        }
        let mut compiled = CompiledReport {
            report_key: self.key.clone(),
            schema_feed_name: self.feed_name.clone(),
            feed_name: Rendered::new(*fields::FEED_NAME, Kind::Text, &self.feed_name),
            columns: header.iter().map(|h| h.to_string()).collect(),
            required,
            optional,
            constants,
            leftover,
            row_columns: RowColumns::new(&index),
            raw: options.raw,
            raw_header,
            missing_optional,
            raw_id: *fields::RAW,
        };
        compiled.set_feed_name(options.report_feed_name.as_deref(), options.overwrite_feed_name);
        Ok(compiled)
    }

    fn step(&self, mapping: &Mapping, column: usize) -> Result<Step, ParseError> {
        let feed = self.feed_name.as_str();
        let converter = match &mapping.converter {
            None => None,
            Some(ConverterName::Known(converter)) => Some(*converter),
            Some(ConverterName::Unknown(name)) => {
                return Err(ParseError::UnknownConverter {
                    feed: feed.to_string(),
                    column: mapping.column.clone(),
                    converter: name.clone(),
                })
            }
        };
        let slot = match &mapping.target {
            Target::Ignore => Slot::Ignore,
            Target::ExtraColumn => Slot::Extra(
                extra_column_id(&mapping.column).map_err(|e| ParseError::BadMapping { feed: feed.to_string(), reason: e.to_string() })?,
            ),
            Target::Field(name) => field_slot(name, feed)?,
        };
        Ok(Step { column, slot, converter, memo: !converter.is_some_and(Converter::reads_row) })
    }
}

/// The slot for a field name from the schema: `extra.*` as is, a harmonised field with its
/// type, anything else under `extra.` (IntelMQ's fallback for keys it does not know).
fn field_slot(name: &str, feed: &str) -> Result<Slot, ParseError> {
    let bad = |e: EventError| ParseError::BadMapping { feed: feed.to_string(), reason: e.to_string() };
    if name.starts_with("extra.") {
        return Ok(Slot::Extra(FieldId::intern(name).map_err(bad)?));
    }
    match convert::field_type(name) {
        Some(ty) => Ok(Slot::Field(FieldId::intern(name).map_err(bad)?, ty)),
        None => Ok(Slot::Extra(FieldId::intern(&format!("extra.{name}")).map_err(bad)?)),
    }
}

/// `extra.<column>`; a column name that is not usable in a field name has its odd characters
/// replaced by `_`.
fn extra_column_id(column: &str) -> Result<FieldId, EventError> {
    let name = format!("extra.{column}");
    if valid_field_name(&name) {
        return FieldId::intern(&name);
    }
    let cleaned: String = column.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect();
    let cleaned = cleaned.trim_matches('.');
    let mut name = format!("extra.{}", if cleaned.is_empty() { "_" } else { cleaned });
    name.truncate(200);
    while name.ends_with('.') {
        name.pop();
    }
    FieldId::intern(&name)
}

/// A value for an error message.
fn shorten(value: &str) -> String {
    const MAX: usize = 120;
    if value.chars().count() <= MAX {
        return value.to_string();
    }
    let mut short: String = value.chars().take(MAX).collect();
    short.push('…');
    short
}

/// Where `raw` comes from.
enum RawSource<'r> {
    /// IntelMQ's CSV rule: the header line, a newline, the data line.
    Csv { header: &'r str, line: &'r str },
    /// IntelMQ's JSON rule: the row as its own JSON document.
    Verbatim(&'r str),
}

impl RawSource<'_> {
    fn encode(&self) -> String {
        let parts: [&[u8]; 3] = match self {
            RawSource::Csv { header, line } => [header.as_bytes(), b"\n", line.trim_end().as_bytes()],
            RawSource::Verbatim(text) => [text.as_bytes(), b"", b""],
        };
        // A local copy: the encoder borrows the encoding, and the constant is only a temporary.
        let base64 = data_encoding::BASE64;
        let len = parts.iter().map(|p| p.len()).sum();
        let mut out = String::with_capacity(base64.encode_len(len));
        let mut encoder = base64.new_encoder(&mut out);
        for part in parts {
            encoder.append(part);
        }
        encoder.finalize();
        out
    }
}

/// Which columns still wait for a home (IntelMQ's list of unconsumed field names): one bit
/// per column, in words the caller lends (on the stack for up to 256 columns), so that
/// setting a bit does not first ask where the words are.
struct Pending<'w> {
    words: &'w mut [u64],
}

/// Room for [`Pending`]'s bits: on the stack for up to 256 columns.
#[derive(Default)]
struct PendingWords {
    inline: [u64; 4],
    heap: Vec<u64>,
}

impl PendingWords {
    /// Zeroed words for `columns` bits.
    fn lend(&mut self, columns: usize) -> &mut [u64] {
        if columns > 64 * self.inline.len() {
            self.heap.resize(columns.div_ceil(64), 0);
            &mut self.heap
        } else {
            &mut self.inline
        }
    }
}

impl<'w> Pending<'w> {
    /// The first `found` columns pending, in `words` (zeros, one bit per column): set a word
    /// at a time, as a loop of single bits is a chain of dependent stores.
    fn new(words: &'w mut [u64], found: usize) -> Self {
        for (w, word) in words.iter_mut().enumerate().take(found.div_ceil(64)) {
            let bits = (found - w * 64).min(64);
            *word = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
        }
        Pending { words }
    }

    #[inline]
    fn set(&mut self, i: usize) {
        self.words[i / 64] |= 1u64 << (i % 64);
    }

    #[inline]
    fn clear(&mut self, i: usize) {
        self.words[i / 64] &= !(1u64 << (i % 64));
    }

    /// The pending columns, in order.
    fn columns(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            std::iter::successors((word != 0).then_some(word), |&rest| Some(rest & (rest - 1)).filter(|&r| r != 0))
                .map(move |bits| w * 64 + bits.trailing_zeros() as usize)
        })
    }
}

impl CompiledReport {
    /// The schema's key for the report, e.g. `scan_dns`.
    pub fn report_key(&self) -> &str {
        &self.report_key
    }

    /// The `feed.name` the events get.
    pub fn feed_name(&self) -> &str {
        self.feed_name.text()
    }

    /// The header columns the report was compiled for.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Optional columns of the schema that the header lacks (IntelMQ warns "Optional key …
    /// not found in feed …").
    pub fn missing_optional_columns(&self) -> &[String] {
        &self.missing_optional
    }

    /// The header as IntelMQ writes it into `raw`: every name quoted.
    pub fn raw_header(&self) -> &str {
        &self.raw_header
    }

    /// Whether events get `raw`.
    pub fn set_raw(&mut self, raw: bool) {
        self.raw = raw;
    }

    pub fn with_raw(mut self, raw: bool) -> Self {
        self.raw = raw;
        self
    }

    /// The report's own `feed.name` (kept unless `overwrite`), or the schema's.
    pub fn set_feed_name(&mut self, report_feed_name: Option<&str>, overwrite: bool) {
        let name = match report_feed_name {
            Some(name) if !overwrite && !name.trim().is_empty() => name,
            _ => &self.schema_feed_name,
        };
        self.feed_name = Rendered::new(*fields::FEED_NAME, Kind::Text, name);
    }

    /// Fills `event` (cleared first) from one CSV row: `feed.name`, the mapped fields, the
    /// constants, `raw` (from `header_line` — IntelMQ uses [`CompiledReport::raw_header`] — and
    /// `record.raw`) and `extra.*` for the columns no mapping took. Values borrow from `fields`
    /// where they can. On an error the event holds part of the row and should be dropped.
    pub fn parse_row<'a>(
        &'a self,
        fields: &[Cow<'a, str>],
        record: RecordInfo<'a>,
        header_line: &str,
        event: &mut Event<'a>,
    ) -> Result<(), RowError> {
        event.clear();
        self.fill(fields, record.line, RawSource::Csv { header: header_line, line: record.raw }, event, None)
    }

    /// [`CompiledReport::parse_row`], taking what `memo` remembers of the rows before (which
    /// must all be rows of this report) and remembering this row's values for the next.
    pub fn parse_row_with_memo<'a>(
        &'a self,
        fields: &[Cow<'a, str>],
        record: RecordInfo<'a>,
        header_line: &str,
        event: &mut Event<'a>,
        memo: &mut RowMemo<'a>,
    ) -> Result<(), RowError> {
        event.clear();
        self.fill(fields, record.line, RawSource::Csv { header: header_line, line: record.raw }, event, Some(memo))
    }

    /// [`CompiledReport::parse_row_with_memo`], writing the row's fields straight to `row`.
    /// On an error the row is half written and should be abandoned.
    pub fn write_row_direct<'a>(
        &'a self,
        fields: &[Cow<'a, str>],
        record: RecordInfo<'a>,
        header_line: &str,
        row: &mut DirectRow<'a, '_>,
        memo: &mut RowMemo<'a>,
    ) -> Result<(), RowError> {
        self.fill(fields, record.line, RawSource::Csv { header: header_line, line: record.raw }, row, Some(memo))
    }

    /// As [`CompiledReport::parse_row`] for a row of a JSON report; `line` is its position.
    /// The row must have the columns the report was compiled for.
    pub fn parse_json_row<'a>(&'a self, row: &'a JsonRow, line: usize, event: &mut Event<'a>) -> Result<(), RowError> {
        if row.columns != self.columns {
            event.clear();
            return Err(RowError { line, problem: RowProblem::DifferentColumns });
        }
        let fields: Vec<Cow<'a, str>> = row.values.iter().map(|v| Cow::Borrowed(v.as_str())).collect();
        event.clear();
        self.fill(&fields, line, RawSource::Verbatim(&row.raw), event, None)
    }

    /// Sets a row's fields, in order, on `event`: an empty event, or a row written directly.
    fn fill<'a>(
        &'a self,
        fields: &[Cow<'a, str>],
        line: usize,
        raw: RawSource<'_>,
        event: &mut impl RowSink<'a>,
        mut memo: Option<&mut RowMemo<'a>>,
    ) -> Result<(), RowError> {
        let fail = |problem| RowError { line, problem };
        let found = fields.len();
        let expected = self.columns.len();
        if found > expected {
            return Err(fail(RowProblem::TooManyColumns { expected, found }));
        }
        event.set_rendered(&self.feed_name);
        let mut words = PendingWords::default();
        let mut pending = Pending::new(words.lend(expected), found);

        for (index, step) in self.required.iter().enumerate() {
            let Some(value) = fields.get(step.column) else {
                return Err(fail(RowProblem::MissingRequiredValue { column: self.columns[step.column].clone(), found, expected }));
            };
            pending.set(step.column);
            let memo = memo.as_deref_mut().filter(|_| step.memo);
            match run_step(memo, index, value, event, || self.make(step, value, fields)) {
                // IntelMQ: nothing to set, and the column stays for `extra`.
                Ok(Done::Nothing) => continue,
                Ok(Done::Taken) => pending.clear(step.column),
                Ok(Done::Refused) => return Err(fail(self.invalid_value(step, value))),
                Err(e) => return Err(fail(self.conversion_failed(step, value, e))),
            }
        }

        let first_optional = self.required.len();
        for (index, step) in self.optional.iter().enumerate() {
            let Some(value) = fields.get(step.column) else {
                // Absent from a short row: IntelMQ's `None`, nothing to do.
                continue;
            };
            let memo = memo.as_deref_mut().filter(|_| step.memo);
            match run_step(memo, first_optional + index, value, event, || self.make(step, value, fields)) {
                Ok(Done::Nothing | Done::Taken) => pending.clear(step.column),
                // Not valid for the field: IntelMQ keeps the column for `extra`.
                Ok(Done::Refused) => pending.set(step.column),
                Err(e) => return Err(fail(self.conversion_failed(step, value, e))),
            }
        }

        event.set_all_rendered(&self.constants);
        if self.raw {
            event.set_kind(self.raw_id, Kind::Text, Cow::Owned(raw.encode()));
        }
        let first_leftover = first_optional + self.optional.len();
        for i in pending.columns() {
            let Some(value) = fields.get(i) else { break };
            if !value.is_empty() {
                if let Some(id) = self.leftover[i] {
                    let _ =
                        run_step(memo.as_deref_mut(), first_leftover + i, value, event, || Ok(Made::Set(id, Kind::Text, value.clone())));
                }
            }
        }
        Ok(())
    }

    /// What a step makes of its value.
    #[inline(always)]
    fn make<'a>(&self, step: &Step, value: &Cow<'a, str>, fields: &[Cow<'a, str>]) -> Result<Made<'a>, convert::ConvertError> {
        Ok(match self.run(step, value, fields)? {
            Some(converted) => Made::for_slot(step.slot, converted),
            None => Made::Nothing,
        })
    }

    /// Runs a step's converter. The error stays small (the row's problem is spelled out in
    /// a cold path): this runs for every column of every row.
    #[inline]
    fn run<'a>(&self, step: &Step, value: &Cow<'a, str>, fields: &[Cow<'a, str>]) -> Result<Option<Converted<'a>>, convert::ConvertError> {
        match step.converter {
            None => Ok(Some(Converted::Text(value.clone()))),
            Some(converter) => convert::convert(converter, value, fields, &self.row_columns),
        }
    }

    #[cold]
    fn conversion_failed(&self, step: &Step, value: &str, e: convert::ConvertError) -> RowProblem {
        RowProblem::Conversion {
            column: self.columns[step.column].clone(),
            value: shorten(value),
            converter: step.converter.map_or("", |c| c.name()),
            expected: e.expected,
        }
    }

    #[cold]
    fn invalid_value(&self, step: &Step, value: &str) -> RowProblem {
        let field = match step.slot {
            Slot::Field(id, _) | Slot::Extra(id) => id.name(),
            Slot::Ignore => "",
        };
        RowProblem::InvalidValue { column: self.columns[step.column].clone(), field, value: shorten(value) }
    }
}

/// A compiled report with the header line of its file: the engine's parser for the file's
/// rows ([`crate::engine::RowParser`]).
pub struct CsvReportRows {
    pub report: CompiledReport,
    /// For `raw`, as IntelMQ writes it.
    pub header_line: String,
}

impl crate::engine::RowParser for CsvReportRows {
    fn parse_row<'a>(&'a self, fields: &[Cow<'a, str>], record: RecordInfo<'a>, event: &mut Event<'a>) -> Result<(), String> {
        self.report.parse_row(fields, record, &self.header_line, event).map_err(|e| e.problem.to_string())
    }

    fn parse_row_with_memo<'a>(
        &'a self,
        fields: &[Cow<'a, str>],
        record: RecordInfo<'a>,
        event: &mut Event<'a>,
        memo: &mut RowMemo<'a>,
    ) -> Result<(), String> {
        self.report.parse_row_with_memo(fields, record, &self.header_line, event, memo).map_err(|e| e.problem.to_string())
    }

    fn writes_direct(&self) -> bool {
        true
    }

    fn write_row_direct<'a>(
        &'a self,
        fields: &[Cow<'a, str>],
        record: RecordInfo<'a>,
        row: &mut DirectRow<'a, '_>,
        memo: &mut RowMemo<'a>,
    ) -> Result<(), String> {
        self.report.write_row_direct(fields, record, &self.header_line, row, memo).map_err(|e| e.problem.to_string())
    }
}

// ---------------------------------------------------------------------------------------
// JSON reports.

/// One object of a JSON report (an array of flat objects, as Shadowserver's JSON reports and
/// IntelMQ's Shadowserver JSON parser have them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonRow {
    columns: Vec<String>,
    values: Vec<String>,
    raw: String,
}

impl JsonRow {
    /// The keys, in the object's order (`null` values left out).
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The header to compile a report for: the keys.
    pub fn header(&self) -> Vec<&str> {
        self.columns.iter().map(String::as_str).collect()
    }

    /// The values as text, one per column.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// The row as IntelMQ writes it into `raw`: `json.dumps([row])`.
    pub fn raw(&self) -> &str {
        &self.raw
    }
}

/// Reads a JSON report: an array of objects. Keys keep their order; strings stay as they are,
/// numbers and booleans become their JSON text, `null` means the key is absent.
pub fn parse_json_rows(text: &str) -> Result<Vec<JsonRow>, ParseError> {
    let objects: Vec<OrderedObject> = serde_json::from_str(text).map_err(|e| ParseError::Json(e.to_string()))?;
    Ok(objects
        .into_iter()
        .map(|OrderedObject(entries)| {
            let mut raw = String::with_capacity(64 * entries.len());
            raw.push_str("[{");
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    raw.push_str(", ");
                }
                python_json_string(key, &mut raw);
                raw.push_str(": ");
                python_json(value, &mut raw);
            }
            raw.push_str("}]");
            let (columns, values) = entries
                .into_iter()
                .filter_map(|(key, value)| {
                    let text = match value {
                        Value::Null => return None,
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    Some((key, text))
                })
                .unzip();
            JsonRow { columns, values, raw }
        })
        .collect())
}

/// A JSON object with its keys in document order (whatever `serde_json`'s map does).
struct OrderedObject(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for OrderedObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = OrderedObject;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<OrderedObject, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(16).min(1024));
                while let Some((key, value)) = map.next_entry::<String, Value>()? {
                    entries.push((key, value));
                }
                Ok(OrderedObject(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// Python's `json.dumps` layout (`", "` and `": "` separators, ASCII only).
fn python_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => python_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                python_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                python_json_string(key, out);
                out.push_str(": ");
                python_json(item, out);
            }
            out.push('}');
        }
    }
}

/// A string as Python's `json.dumps` writes it with `ensure_ascii`.
fn python_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------------------
// Whole reports.

/// What parsing a report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The schema's key for the report type.
    pub report: String,
    pub feed_name: String,
    /// Data rows read (events plus errors).
    pub rows: usize,
    pub events: usize,
    pub errors: usize,
    /// Optional columns of the schema the report lacks.
    pub missing_optional_columns: Vec<String>,
}

/// Parses whole Shadowserver reports with one schema: picks the report type from the file
/// name, compiles it for the report's header, and hands each row's event or error to a sink.
#[derive(Debug, Clone)]
pub struct ShadowserverParser {
    schema: Arc<Schema>,
}

impl ShadowserverParser {
    pub fn new(schema: Schema) -> Self {
        ShadowserverParser { schema: Arc::new(schema) }
    }

    /// With the schema built into Rampart.
    pub fn builtin() -> Self {
        static BUILTIN: LazyLock<Arc<Schema>> = LazyLock::new(|| Arc::new(Schema::builtin().clone()));
        ShadowserverParser { schema: Arc::clone(&BUILTIN) }
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Parses a CSV report named `file_name` (e.g. `2019-01-01-scan_dns-test-test.csv`). The
    /// sink gets each row's event (reused between rows: clone or convert it to keep it) or
    /// the row's error. Errors that concern the whole report come back as `Err`.
    pub fn parse_csv<'a>(
        &self,
        file_name: &str,
        text: &'a str,
        options: &Options,
        mut sink: impl FnMut(Result<&Event<'_>, RowError>),
    ) -> Result<Summary, ParseError> {
        let report = self.schema.resolve_file_name(file_name)?;
        let mut reader = CsvReader::new(text);
        let mut fields: Vec<Cow<'a, str>> = Vec::with_capacity(64);
        let header = match reader.next_record(&mut fields) {
            None => return Err(ParseError::NoHeader),
            Some(Err(e)) => return Err(ParseError::Header(e)),
            Some(Ok(_)) => std::mem::take(&mut fields),
        };
        let names: Vec<&str> = header.iter().map(|h| &**h).collect();
        let compiled = report.compile_with(&names, options)?;
        let mut summary = Summary {
            report: compiled.report_key.clone(),
            feed_name: compiled.feed_name().to_string(),
            rows: 0,
            events: 0,
            errors: 0,
            missing_optional_columns: compiled.missing_optional.clone(),
        };
        let mut event = Event::new();
        while let Some(record) = reader.next_record(&mut fields) {
            summary.rows += 1;
            let result = match record {
                Ok(info) => compiled.parse_row(&fields, info, compiled.raw_header(), &mut event),
                Err(e) => Err(RowError::from(e)),
            };
            match result {
                Ok(()) => {
                    summary.events += 1;
                    sink(Ok(&event));
                }
                Err(e) => {
                    summary.errors += 1;
                    sink(Err(e));
                }
            }
        }
        Ok(summary)
    }

    /// Parses a JSON report (an array of objects) named `file_name` (e.g.
    /// `2019-01-01-scan_smb-test-geo.json`), as [`ShadowserverParser::parse_csv`] does.
    pub fn parse_json(
        &self,
        file_name: &str,
        text: &str,
        options: &Options,
        mut sink: impl FnMut(Result<&Event<'_>, RowError>),
    ) -> Result<Summary, ParseError> {
        let report = self.schema.resolve_file_name(file_name)?;
        let rows = parse_json_rows(text)?;
        let mut summary = Summary {
            report: report.key().to_string(),
            feed_name: String::new(),
            rows: 0,
            events: 0,
            errors: 0,
            missing_optional_columns: Vec::new(),
        };
        let mut compiled: Option<CompiledReport> = None;
        for (i, row) in rows.iter().enumerate() {
            summary.rows += 1;
            if compiled.as_ref().is_none_or(|c| c.columns != row.columns) {
                let fresh = report.compile_with(&row.header(), options)?;
                for column in &fresh.missing_optional {
                    if !summary.missing_optional_columns.contains(column) {
                        summary.missing_optional_columns.push(column.clone());
                    }
                }
                summary.feed_name = fresh.feed_name().to_string();
                compiled = Some(fresh);
            }
            let Some(current) = compiled.as_ref() else { continue };
            let mut event = Event::new();
            match current.parse_json_row(row, i + 1, &mut event) {
                Ok(()) => {
                    summary.events += 1;
                    sink(Ok(&event));
                }
                Err(e) => {
                    summary.errors += 1;
                    sink(Err(e));
                }
            }
        }
        if summary.feed_name.is_empty() {
            summary.feed_name = report.feed_name().to_string();
        }
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(token: &str, header: &str) -> CompiledReport {
        let names: Vec<&str> = header.split(',').collect();
        Schema::builtin().report(token).unwrap().compile(&names).unwrap()
    }

    fn row(compiled: &CompiledReport, line: &str) -> Result<serde_json::Map<String, Value>, RowError> {
        let mut reader = CsvReader::new(line);
        let mut fields = Vec::new();
        let info = reader.next_record(&mut fields).unwrap().unwrap();
        let mut event = Event::new();
        compiled.parse_row(&fields, info, compiled.raw_header(), &mut event)?;
        Ok(event.to_json())
    }

    #[test]
    fn a_scan_row_becomes_an_intelmq_event() {
        let compiled = compile("scan_dns", "timestamp,ip,protocol,port,hostname,tag,dns_version,asn,geo,min_amplification,naics,sic,odd");
        assert_eq!(compiled.feed_name(), "DNS-Open-Resolvers");
        assert!(compiled.missing_optional_columns().contains(&"region".to_string()));
        let json =
            row(&compiled, "2018-04-14 00:14:34,198.51.100.179,UDP,53,Host.Example.NET.,openresolver,dnsmasq-2.66,0,at,4.6190,0,0,x")
                .unwrap();
        assert_eq!(json["time.source"], "2018-04-14T00:14:34+00:00");
        assert_eq!(json["source.ip"], "198.51.100.179");
        assert_eq!(json["source.port"], 53);
        assert_eq!(json["protocol.transport"], "udp");
        assert_eq!(json["source.reverse_dns"], "host.example.net");
        assert_eq!(json["source.geolocation.cc"], "AT");
        assert_eq!(json["extra.min_amplification"], 4.619);
        assert_eq!(json["extra.sic"], "0");
        assert_eq!(json["extra.odd"], "x");
        assert_eq!(json["classification.identifier"], "dns-open-resolver");
        assert_eq!(json["protocol.application"], "dns");
        assert_eq!(json["feed.name"], "DNS-Open-Resolvers");
        assert!(!json.contains_key("source.asn"), "invalidate_zero drops 0");
        assert!(!json.contains_key("extra.naics"));
        assert!(!json.contains_key("time.observation"));
        let raw = data_encoding::BASE64.decode(json["raw"].as_str().unwrap().as_bytes()).unwrap();
        assert!(String::from_utf8(raw).unwrap().starts_with("\"timestamp\",\"ip\","));
    }

    #[test]
    fn invalid_optional_values_go_to_extra_and_bad_required_ones_fail_the_row() {
        let compiled = compile("scan_dns", "timestamp,ip,port,geo,hostname");
        let json = row(&compiled, "2018-04-14 00:14:34,198.51.100.7,53,AUT,198.51.100.7").unwrap();
        assert_eq!(json["extra.geo"], "AUT");
        assert_eq!(json["extra.hostname"], "198.51.100.7");
        assert!(!json.contains_key("source.geolocation.cc"));
        let json = row(&compiled, "2018-04-14 00:14:34,0.0.0.0,53,,").unwrap();
        assert_eq!(json["extra.ip"], "0.0.0.0", "validate_ip gives None: the column stays for extra");
        assert!(!json.contains_key("source.ip"));

        let err = row(&compiled, "yesterday,198.51.100.7,53,,").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(matches!(&err.problem, RowProblem::InvalidValue { column, field: "time.source", .. } if column == "timestamp"), "{err}");
        let err = row(&compiled, "2018-04-14 00:14:34,198.51.100.7,fifty-three,,").unwrap_err();
        assert_eq!(err.to_string(), "line 1: column \"port\": \"fifty-three\" is not an integer (convert_int)");
        let err = row(&compiled, "2018-04-14 00:14:34,198.51.100.7,53,,,surplus").unwrap_err();
        assert_eq!(err.problem, RowProblem::TooManyColumns { expected: 5, found: 6 });
        let err = row(&compiled, "2018-04-14 00:14:34,198.51.100.7").unwrap_err();
        assert!(matches!(err.problem, RowProblem::MissingRequiredValue { ref column, found: 2, expected: 5 } if column == "port"));
        let json = row(&compiled, "2018-04-14 00:14:34,198.51.100.7,53").unwrap();
        assert_eq!(json["source.port"], 53, "a short row is fine when only optional columns are missing");
    }

    #[test]
    fn options_switch_raw_and_the_feed_name() {
        let report = Schema::builtin().report("scan_dns").unwrap();
        let options = Options { raw: false, report_feed_name: Some("report feedname".into()), overwrite_feed_name: false };
        let compiled = report.compile_with(&["timestamp", "ip", "port"], &options).unwrap();
        let json = row(&compiled, "2018-04-14 00:14:34,198.51.100.7,53").unwrap();
        assert_eq!(json["feed.name"], "report feedname");
        assert!(!json.contains_key("raw"));
        let compiled =
            report.compile_with(&["timestamp", "ip", "port"], &Options { overwrite_feed_name: true, ..options }).unwrap().with_raw(true);
        let json = row(&compiled, "2018-04-14 00:14:34,198.51.100.7,53").unwrap();
        assert_eq!(json["feed.name"], "DNS-Open-Resolvers");
        assert!(json.contains_key("raw"));
    }

    #[test]
    fn compile_errors_name_what_is_missing() {
        let report = Schema::builtin().report("scan_http").unwrap();
        let err = report.compile(&["adasdasdasdasd"]).unwrap_err();
        assert_eq!(err, ParseError::MissingRequiredColumn { column: "timestamp".into(), feed: "Accessible-HTTP".into() });
        assert_eq!(err.to_string(), "required column \"timestamp\" not found in feed \"Accessible-HTTP\"");
        let schema =
            Schema::parse(r#"{"x": {"feed_name": "X", "file_name": "x", "required_fields": [["source.ip", "ip", "brand_new"]]}}"#).unwrap();
        assert!(matches!(schema.report("x").unwrap().compile(&["ip"]), Err(ParseError::UnknownConverter { .. })));
        let schema =
            Schema::parse(r#"{"x": {"feed_name": "X", "file_name": "x", "constant_fields": {"source.ip": "not an ip"}}}"#).unwrap();
        assert!(matches!(schema.report("x").unwrap().compile(&[]), Err(ParseError::BadMapping { .. })));
    }

    #[test]
    fn odd_column_names_still_get_an_extra_field() {
        let schema = Schema::parse(r#"{"x": {"feed_name": "X", "file_name": "x", "optional_fields": [["severity", "sev"]]}}"#).unwrap();
        let compiled = schema.report("x").unwrap().compile(&["sev", "odd name!", "dup", "dup"]).unwrap();
        let json = row(&compiled, "high,v,first,second").unwrap();
        assert_eq!(json["extra.severity"], "high", "a target IntelMQ does not know goes to extra");
        assert_eq!(json["extra.odd_name_"], "v");
        assert_eq!(json["extra.dup"], "second");
    }

    #[test]
    fn json_rows_keep_key_order_and_python_raw() {
        let rows =
            parse_json_rows(r#"[{"timestamp": "2010-02-10 00:00:00", "ip": "192.168.0.1", "port": 445, "x": null, "name": "é\"\n"}]"#)
                .unwrap();
        assert_eq!(rows[0].header(), ["timestamp", "ip", "port", "name"]);
        assert_eq!(rows[0].values()[2], "445");
        assert_eq!(
            rows[0].raw(),
            r#"[{"timestamp": "2010-02-10 00:00:00", "ip": "192.168.0.1", "port": 445, "x": null, "name": "\u00e9\"\n"}]"#
        );
        assert!(matches!(parse_json_rows("{}"), Err(ParseError::Json(_))));
        let compiled = compile("scan_smb", "timestamp,ip,port,name");
        let mut event = Event::new();
        compiled.parse_json_row(&rows[0], 1, &mut event).unwrap();
        assert_eq!(event.to_json()["source.port"], 445);
        let other = compile("scan_smb", "timestamp,ip,port");
        assert_eq!(other.parse_json_row(&rows[0], 7, &mut event).unwrap_err(), RowError { line: 7, problem: RowProblem::DifferentColumns });
    }

    #[test]
    fn pending_bits_work_past_the_inline_words() {
        let columns = |pending: &Pending| pending.columns().collect::<Vec<_>>();
        for columns_in_all in [17, 300] {
            for found in [0, 1, 17, 63, 64, 65, 200, 256, 300].into_iter().filter(|&f| f <= columns_in_all) {
                let mut words = PendingWords::default();
                let pending = Pending::new(words.lend(columns_in_all), found);
                assert_eq!(columns(&pending), (0..found).collect::<Vec<_>>(), "{found} of {columns_in_all} pending");
            }
        }
        let mut words = PendingWords::default();
        let mut pending = Pending::new(words.lend(300), 0);
        for i in [299, 3, 64, 63, 128] {
            pending.set(i);
        }
        assert_eq!(columns(&pending), [3, 63, 64, 128, 299]);
        pending.clear(299);
        pending.clear(64);
        assert_eq!(columns(&pending), [3, 63, 128]);
    }
}
