//! Generic CSV feeds: a declarative mapping from a feed's columns to event fields, with
//! value types and constants, given in the configuration.
//!
//! ```toml
//! [[feeds.mappings]]
//! name = "vendor-blocklist"
//! columns = { ip = "source.ip", port = "source.port", seen = "time.source" }
//! types = { "source.port" = "integer", "time.source" = "timestamp" }
//! constants = { "classification.type" = "blacklist", "feed.name" = "Vendor blocklist" }
//! required = ["source.ip"]
//! ```

use crate::csv::RecordInfo;
use crate::engine::RowParser;
use crate::event::{Event, FieldId, Kind};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

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

/// A mapping as the configuration states it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSpec {
    pub name: String,
    /// Column name → event field.
    pub columns: BTreeMap<String, String>,
    /// Event field → value type (text when not given).
    #[serde(default)]
    pub types: BTreeMap<String, ValueType>,
    /// Event field → value set on every event.
    #[serde(default)]
    pub constants: BTreeMap<String, String>,
    /// Fields every row must give; a row without one is quarantined.
    #[serde(default)]
    pub required: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("mapping {mapping:?}: {reason}")]
    Invalid { mapping: String, reason: String },
    #[error("mapping {mapping:?}: the file has no column {column:?} (it has: {have})")]
    MissingColumn { mapping: String, column: String, have: String },
}

/// A mapping resolved against one file's header.
#[derive(Debug, Clone)]
pub struct CompiledMapping {
    /// Per header column: the field and type it fills.
    by_column: Vec<Option<(FieldId, ValueType, String)>>,
    constants: Vec<(FieldId, String)>,
    required: Vec<(FieldId, String)>,
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
        Ok(())
    }

    pub fn compile(&self, header: &[&str]) -> Result<CompiledMapping, MappingError> {
        self.check()?;
        let mut by_column = vec![None; header.len()];
        for (column, field) in &self.columns {
            let at = header.iter().position(|h| h.trim().eq_ignore_ascii_case(column)).ok_or_else(|| MappingError::MissingColumn {
                mapping: self.name.clone(),
                column: column.clone(),
                have: header.join(", "),
            })?;
            let ty = self.types.get(field).copied().unwrap_or(ValueType::Text);
            by_column[at] = Some((FieldId::of_checked(field), ty, column.clone()));
        }
        Ok(CompiledMapping {
            by_column,
            constants: self.constants.iter().map(|(f, v)| (FieldId::of_checked(f), v.clone())).collect(),
            required: self.required.iter().map(|f| (FieldId::of_checked(f), f.clone())).collect(),
        })
    }
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
    fn parse_row<'a>(&self, fields: &[Cow<'a, str>], _record: RecordInfo<'a>, event: &mut Event<'a>) -> Result<(), String> {
        if fields.len() > self.by_column.len() {
            return Err(format!("{} fields, but the header has {} columns", fields.len(), self.by_column.len()));
        }
        for (cell, slot) in fields.iter().zip(&self.by_column) {
            let Some((field, ty, column)) = slot else { continue };
            let value = cell.trim();
            if value.is_empty() {
                continue;
            }
            let bad = |expected: &str| format!("column {column:?}: {value:?} is not {expected}");
            match ty {
                ValueType::Text => event.set(*field, cell.clone()),
                ValueType::Integer => {
                    let n: i64 = value.parse().map_err(|_| bad("an integer"))?;
                    event.set_kind(*field, Kind::Integer, n.to_string());
                }
                ValueType::Float => {
                    let x: f64 = value.parse().ok().filter(|x: &f64| x.is_finite()).ok_or_else(|| bad("a number"))?;
                    event.set_kind(*field, Kind::Float, x.to_string());
                }
                ValueType::Boolean => {
                    let b = match value.to_ascii_lowercase().as_str() {
                        "true" | "yes" | "1" => "true",
                        "false" | "no" | "0" => "false",
                        _ => return Err(bad("true or false")),
                    };
                    event.set_kind(*field, Kind::Boolean, b);
                }
                ValueType::Timestamp => event.set(*field, timestamp(value).ok_or_else(|| bad("a time"))?),
            }
        }
        for (field, value) in &self.constants {
            event.set(*field, value.clone());
        }
        for (field, name) in &self.required {
            if !event.contains(*field) {
                return Err(format!("the row has no {name}"));
            }
        }
        Ok(())
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
}
