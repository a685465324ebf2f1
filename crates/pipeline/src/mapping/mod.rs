//! Generic CSV and JSON feeds: a declarative mapping from a feed's columns (or, for JSON,
//! paths into each record) to event fields, with value types and constants, given in the
//! configuration. Both formats convert values by the same rules (`set_typed`).
//!
//! ```toml
//! [[feeds.mappings]]
//! name = "vendor-blocklist"
//! columns = { ip = "source.ip", port = "source.port", seen = "time.source" }
//! types = { "source.port" = "integer", "time.source" = "timestamp" }
//! constants = { "classification.type" = "blacklist", "feed.name" = "Vendor blocklist" }
//! required = ["source.ip"]
//! ```
//!
//! A JSON mapping adds `format = "json"` and maps paths (`geo.asn` or the pointer
//! `/geo/asn`); `records` points at the array of records inside a whole document.

use crate::csv::RecordInfo;
use crate::engine::RowParser;
use crate::event::{Event, FieldId, Kind};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

mod json;

pub use json::{json_records_as_lines, CompiledJsonMapping};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    Text,
    Integer,
    Float,
    Boolean,
    /// A time, written as RFC 3339 in UTC; `2026-11-30 08:00:00` is read as UTC.
    Timestamp,
}

impl ValueType {
    /// What a value of this type looks like, for error messages.
    fn expected(self) -> &'static str {
        match self {
            ValueType::Text => "text",
            ValueType::Integer => "an integer",
            ValueType::Float => "a number",
            ValueType::Boolean => "true or false",
            ValueType::Timestamp => "a time",
        }
    }
}

/// The kind of input a mapping reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MappingFormat {
    /// CSV with a header line.
    #[default]
    Csv,
    /// JSON records: a top-level array, an array inside a document (`records`), or JSON lines.
    Json,
}

/// A mapping as the configuration states it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSpec {
    pub name: String,
    #[serde(default)]
    pub format: MappingFormat,
    /// JSON only: a JSON Pointer (RFC 6901) to the array of records inside the document.
    /// Without it the input is a top-level array of records or JSON lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<String>,
    /// Column name (CSV) or path into a record (JSON: `geo.asn` or the pointer `/geo/asn`) → event field.
    pub columns: BTreeMap<String, String>,
    /// Event field → value type (text when not given).
    #[serde(default)]
    pub types: BTreeMap<String, ValueType>,
    /// Event field → value set on every event.
    #[serde(default)]
    pub constants: BTreeMap<String, String>,
    /// Fields every row (record) must give; one without is quarantined.
    #[serde(default)]
    pub required: Vec<String>,
    /// Names of files this mapping reads when they arrive without one being named (the
    /// watched folder, uploads, mail, HTTP feeds); `*` is any run of characters, `?` one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

impl MappingSpec {
    /// The feed's default name: its `feed.name` constant, else the mapping's name.
    pub fn feed_name(&self) -> &str {
        self.constants.get("feed.name").map_or(&self.name, |n| n.as_str())
    }

    /// Whether `file_name` matches one of the `files` patterns (case-insensitive).
    pub fn reads_file(&self, file_name: &str) -> bool {
        let name: Vec<char> = file_name.to_lowercase().chars().collect();
        self.files.iter().any(|p| glob_match(&p.to_lowercase().chars().collect::<Vec<_>>(), &name))
    }
}

/// `*` and `?` wildcards, by backtracking to the last star: linear for one star.
fn glob_match(pattern: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == '?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("mapping {mapping:?}: {reason}")]
    Invalid { mapping: String, reason: String },
    #[error("mapping {mapping:?}: the file has no column {column:?} (it has: {have})")]
    MissingColumn { mapping: String, column: String, have: String },
    /// A JSON input that cannot be cut into records (it names no mapping: the same
    /// input shape serves any JSON mapping).
    #[error("JSON input: {0}")]
    JsonInput(String),
}

/// A CSV mapping resolved against one file's header.
#[derive(Debug, Clone)]
pub struct CompiledMapping {
    /// Per header column: the field and type it fills, and `column "name"` for errors.
    by_column: Vec<Option<(FieldId, ValueType, String)>>,
    fill: ConstantsAndRequired,
}

/// What every event of a mapping gets after its values, whatever the format.
#[derive(Debug, Clone)]
struct ConstantsAndRequired {
    constants: Vec<(FieldId, String)>,
    /// With the name as configured, for the error.
    required: Vec<(FieldId, String)>,
}

impl ConstantsAndRequired {
    /// Sets the constants, then refuses an event without a required field; `unit` is
    /// "row" or "record", for the message.
    fn apply<'a>(&'a self, event: &mut Event<'a>, unit: &str) -> Result<(), String> {
        for (field, value) in &self.constants {
            event.set(*field, value.as_str());
        }
        for (field, name) in &self.required {
            if !event.contains(*field) {
                return Err(format!("the {unit} has no {name}"));
            }
        }
        Ok(())
    }
}

/// A column's or path's type conversion, shared by CSV and JSON so both read values
/// alike: blank values are absent, text is kept as given (and borrowed where the input
/// allows), other types are trimmed and normalised. `source` names the column or path.
fn set_typed<'a>(event: &mut Event<'a>, field: FieldId, ty: ValueType, raw: Cow<'a, str>, source: &str) -> Result<(), String> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(());
    }
    let bad = || format!("{source}: {value:?} is not {}", ty.expected());
    match ty {
        ValueType::Text => event.set(field, raw),
        ValueType::Integer => {
            let n: i64 = value.parse().map_err(|_| bad())?;
            event.set_kind(field, Kind::Integer, n.to_string());
        }
        ValueType::Float => {
            let x: f64 = value.parse().ok().filter(|x: &f64| x.is_finite()).ok_or_else(bad)?;
            event.set_kind(field, Kind::Float, x.to_string());
        }
        ValueType::Boolean => {
            let b = match value.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => "true",
                "false" | "no" | "0" => "false",
                _ => return Err(bad()),
            };
            event.set_kind(field, Kind::Boolean, b);
        }
        ValueType::Timestamp => event.set(field, timestamp(value).ok_or_else(bad)?),
    }
    Ok(())
}

impl MappingSpec {
    /// Checks field names and types; called when the configuration is loaded.
    pub fn check(&self) -> Result<(), MappingError> {
        let bad = |reason: String| MappingError::Invalid { mapping: self.name.clone(), reason };
        if self.columns.is_empty() {
            return Err(bad("it maps no columns".into()));
        }
        for field in self.columns.values().chain(self.types.keys()).chain(self.constants.keys()).chain(self.required.iter()) {
            FieldId::intern(field).map_err(|e| bad(e.to_string()))?;
        }
        for field in self.types.keys() {
            if !self.columns.values().any(|f| f == field) {
                return Err(bad(format!("a type is given for {field:?}, which no column fills")));
            }
        }
        match self.format {
            MappingFormat::Csv if self.records.is_some() => {
                return Err(bad("`records` is for JSON mappings (format = \"json\"); this one reads CSV".into()));
            }
            MappingFormat::Csv => {}
            MappingFormat::Json => {
                if let Some(records) = &self.records {
                    json::check_pointer(records).map_err(|e| bad(format!("records {records:?}: {e}")))?;
                }
                for path in self.columns.keys() {
                    json::column_pointer(path).map_err(|e| bad(format!("path {path:?}: {e}")))?;
                }
            }
        }
        Ok(())
    }

    /// Resolves a CSV mapping against a file's header.
    pub fn compile(&self, header: &[&str]) -> Result<CompiledMapping, MappingError> {
        self.check()?;
        if self.format != MappingFormat::Csv {
            return Err(MappingError::Invalid { mapping: self.name.clone(), reason: "it is a JSON mapping, not a CSV one".into() });
        }
        let mut by_column = vec![None; header.len()];
        for (column, field) in &self.columns {
            let at = header.iter().position(|h| h.trim().eq_ignore_ascii_case(column)).ok_or_else(|| MappingError::MissingColumn {
                mapping: self.name.clone(),
                column: column.clone(),
                have: header.join(", "),
            })?;
            by_column[at] = Some((FieldId::of_checked(field), self.value_type(field), format!("column {column:?}")));
        }
        Ok(CompiledMapping { by_column, fill: self.constants_and_required() })
    }

    /// The type a field is converted to (text when not given).
    fn value_type(&self, field: &str) -> ValueType {
        self.types.get(field).copied().unwrap_or(ValueType::Text)
    }

    /// Call after [`MappingSpec::check`].
    fn constants_and_required(&self) -> ConstantsAndRequired {
        ConstantsAndRequired {
            constants: self.constants.iter().map(|(f, v)| (FieldId::of_checked(f), v.clone())).collect(),
            required: self.required.iter().map(|f| (FieldId::of_checked(f), f.clone())).collect(),
        }
    }
}

/// Turns one line of text (for JSON mappings, one record) into an event. The batch
/// engine runs it on each non-blank line of a piece, like [`RowParser`] on CSV records.
pub trait LineParser: Send + Sync {
    fn parse_line<'a>(&'a self, line: &'a str, event: &mut Event<'a>) -> Result<(), String>;
}

impl FieldId {
    /// A name already checked by [`MappingSpec::check`].
    fn of_checked(name: &str) -> FieldId {
        FieldId::intern(name).unwrap_or_else(|e| panic!("checked field name {name:?}: {e}"))
    }
}

/// Reads a time as RFC 3339 UTC.
fn timestamp(value: &str) -> Option<String> {
    use chrono::{DateTime, NaiveDateTime, Utc};
    let v = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&Utc).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false));
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, format) {
            return Some(t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false));
        }
    }
    None
}

impl RowParser for CompiledMapping {
    fn parse_row<'a>(&'a self, fields: &[Cow<'a, str>], _record: RecordInfo<'a>, event: &mut Event<'a>) -> Result<(), String> {
        if fields.len() > self.by_column.len() {
            return Err(format!("{} fields, but the header has {} columns", fields.len(), self.by_column.len()));
        }
        for (cell, slot) in fields.iter().zip(&self.by_column) {
            let Some((field, ty, column)) = slot else { continue };
            // Cheap: a cell borrows the input unless it held escaped quotes.
            set_typed(event, *field, *ty, cell.clone(), column)?;
        }
        self.fill.apply(event, "row")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> MappingSpec {
        toml::from_str(
            r#"
            name = "vendor"
            columns = { ip = "source.ip", port = "source.port", seen = "time.source", score = "extra.score", live = "extra.live" }
            types = { "source.port" = "integer", "time.source" = "timestamp", "extra.score" = "float", "extra.live" = "boolean" }
            constants = { "classification.type" = "blacklist" }
            required = ["source.ip"]
            "#,
        )
        .unwrap()
    }

    fn parse(m: &CompiledMapping, row: &[&str]) -> Result<serde_json::Map<String, serde_json::Value>, String> {
        let cells: Vec<Cow<'_, str>> = row.iter().map(|c| Cow::Borrowed(*c)).collect();
        let mut e = Event::new();
        m.parse_row(&cells, RecordInfo { line: 2, raw: "" }, &mut e)?;
        Ok(e.to_json())
    }

    #[test]
    fn columns_types_and_constants_become_fields() {
        let m = spec().compile(&["Seen", "IP", "port", "score", "live", "other"]).unwrap();
        let e = parse(&m, &["2026-11-30 08:00:00", "192.0.2.7", "443", "0.75", "yes", "x"]).unwrap();
        assert_eq!(e["source.ip"], "192.0.2.7");
        assert_eq!(e["source.port"], 443);
        assert_eq!(e["time.source"], "2026-11-30T08:00:00+00:00");
        assert_eq!(e["extra.score"], 0.75);
        assert_eq!(e["extra.live"], true);
        assert_eq!(e["classification.type"], "blacklist");
        assert!(!e.contains_key("other"));
    }

    #[test]
    fn bad_rows_and_bad_mappings_are_named() {
        let m = spec().compile(&["ip", "port", "seen", "score", "live"]).unwrap();
        assert!(parse(&m, &["192.0.2.7", "http", "", "", ""]).unwrap_err().contains("\"port\""));
        assert!(parse(&m, &["", "80", "", "", ""]).unwrap_err().contains("source.ip"));
        assert!(parse(&m, &["192.0.2.7", "80", "yesterday", "", ""]).unwrap_err().contains("a time"));
        let missing = spec().compile(&["ip"]).unwrap_err().to_string();
        assert!(missing.contains("no column") && missing.contains("vendor"), "{missing}");
        let mut bad = spec();
        bad.columns.insert("x".into(), "bad name".into());
        assert!(bad.check().is_err());
        let mut typo = spec();
        typo.types.insert("source.prot".into(), ValueType::Integer);
        assert!(typo.check().unwrap_err().to_string().contains("source.prot"));
    }

    #[test]
    fn file_patterns_choose_a_mapping() {
        let mut m = spec();
        m.files = vec!["vendor-*.csv".into(), "blocklist-????.txt".into()];
        assert!(m.reads_file("vendor-2026-11-30.csv"));
        assert!(m.reads_file("VENDOR-x.CSV"), "case does not matter");
        assert!(m.reads_file("blocklist-2026.txt"));
        assert!(!m.reads_file("blocklist-26.txt"));
        assert!(!m.reads_file("other-vendor-1.csv"));
        assert!(!spec().reads_file("vendor-1.csv"), "no patterns, no files");
        m.files = vec!["*a*b*c".into()];
        assert!(m.reads_file("xxaxxbxxc") && !m.reads_file("xxaxxcxxb"));
    }
}
