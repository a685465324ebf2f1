//! Shadowserver's report schema (`intelmq.json`): per report type the feed name, the report-type
//! token of the file names, the constant fields, and the column mappings.
//!
//! Parsing checks the document's shape only; what a report's mappings mean (converters known,
//! field names valid, columns present) is checked when the report is compiled for a header, so
//! one odd report in a newer schema costs only that report.

use super::convert::Converter;
use super::ParseError;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::LazyLock;

/// The schema Rampart ships: The-Shadowserver-Foundation/report_schema `intelmq.json` @ 8e06fb9
/// (2026-03-24). See `data/LICENSES.md`.
pub const BUILTIN_SCHEMA_JSON: &str = include_str!("../../data/shadowserver-schema.json");

static BUILTIN: LazyLock<Schema> =
    LazyLock::new(|| Schema::parse(BUILTIN_SCHEMA_JSON).unwrap_or_else(|e| panic!("the built-in Shadowserver schema: {e}")));

/// A schema that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("the Shadowserver schema is not valid JSON: {0}")]
    Json(String),
    #[error("the Shadowserver schema must be a JSON object with one entry per report")]
    NotAnObject,
    #[error("the Shadowserver schema has no reports")]
    Empty,
    #[error("report {report:?} of the Shadowserver schema: {reason}")]
    Report { report: String, reason: String },
    #[error("reports {first:?} and {second:?} of the Shadowserver schema have the same file name {file_name:?}")]
    DuplicateFileName { file_name: String, first: String, second: String },
}

/// A parsed schema.
#[derive(Debug, Clone)]
pub struct Schema {
    reports: Vec<Report>,
    by_file_name: HashMap<String, usize>,
    by_feed_name: HashMap<String, usize>,
    date_created: Option<String>,
    change_log: Vec<String>,
}

/// One report type of the schema.
#[derive(Debug, Clone)]
pub struct Report {
    pub(crate) key: String,
    pub(crate) feed_name: String,
    pub(crate) file_name: String,
    pub(crate) url: Option<String>,
    pub(crate) constant_fields: Vec<(String, String)>,
    pub(crate) required: Vec<Mapping>,
    pub(crate) optional: Vec<Mapping>,
}

/// `[field, column]`, `[field, column, converter]` or `[field, column, converter, whole_row]`.
#[derive(Debug, Clone)]
pub(crate) struct Mapping {
    pub(crate) target: Target,
    pub(crate) column: String,
    pub(crate) converter: Option<ConverterName>,
}

/// Where a mapped value goes, as written in the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A field name (`source.ip`, `extra.source.naics`, `severity` …).
    Field(String),
    /// `"extra."`: `extra.<column>`.
    ExtraColumn,
    /// `false`: the column is read and dropped.
    Ignore,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConverterName {
    Known(Converter),
    Unknown(String),
}

impl Schema {
    /// Reads a schema in Shadowserver's `intelmq.json` format.
    pub fn parse(json: &str) -> Result<Schema, SchemaError> {
        let value: Value = serde_json::from_str(json).map_err(|e| SchemaError::Json(e.to_string()))?;
        let Value::Object(entries) = value else {
            return Err(SchemaError::NotAnObject);
        };
        let mut schema = Schema {
            reports: Vec::with_capacity(entries.len()),
            by_file_name: HashMap::new(),
            by_feed_name: HashMap::new(),
            date_created: None,
            change_log: Vec::new(),
        };
        for (key, entry) in entries {
            if key == "_meta" {
                schema.date_created = entry.get("date_created").and_then(Value::as_str).map(str::to_string);
                if let Some(log) = entry.get("change_log").and_then(Value::as_array) {
                    schema.change_log = log.iter().filter_map(Value::as_str).map(str::to_string).collect();
                }
                continue;
            }
            let report = Report::parse(&key, &entry).map_err(|reason| SchemaError::Report { report: key.clone(), reason })?;
            let at = schema.reports.len();
            if let Some(&earlier) = schema.by_file_name.get(&report.file_name) {
                return Err(SchemaError::DuplicateFileName {
                    file_name: report.file_name.clone(),
                    first: schema.reports[earlier].key.clone(),
                    second: key,
                });
            }
            schema.by_file_name.insert(report.file_name.clone(), at);
            schema.by_feed_name.entry(report.feed_name.clone()).or_insert(at);
            schema.reports.push(report);
        }
        if schema.reports.is_empty() {
            return Err(SchemaError::Empty);
        }
        Ok(schema)
    }

    /// The schema built into Rampart (parsed on first use).
    pub fn builtin() -> &'static Schema {
        &BUILTIN
    }

    /// The report whose report-type token (`file_name` in the schema) is `token`, e.g. `scan_dns`.
    pub fn report(&self, token: &str) -> Option<&Report> {
        self.by_file_name.get(token).map(|&at| &self.reports[at])
    }

    /// The report with this feed name, e.g. `DNS-Open-Resolvers` (IntelMQ's `feedname` parameter).
    pub fn report_by_feed_name(&self, feed_name: &str) -> Option<&Report> {
        self.by_feed_name.get(feed_name).map(|&at| &self.reports[at])
    }

    /// The report for a Shadowserver file name such as `2019-01-01-scan_dns-test-test.csv`.
    pub fn report_for_file_name(&self, file_name: &str) -> Option<&Report> {
        self.report(report_type_from_file_name(file_name)?)
    }

    /// As [`Schema::report_for_file_name`], with an error that says what is wrong.
    pub fn resolve_file_name(&self, file_name: &str) -> Result<&Report, ParseError> {
        let token = report_type_from_file_name(file_name).ok_or_else(|| ParseError::BadFileName(file_name.chars().take(200).collect()))?;
        self.report(token).ok_or_else(|| ParseError::UnknownReportType(token.to_string()))
    }

    pub fn reports(&self) -> impl Iterator<Item = &Report> {
        self.reports.iter()
    }

    pub fn len(&self) -> usize {
        self.reports.len()
    }

    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }

    /// `_meta.date_created`, the schema's version.
    pub fn date_created(&self) -> Option<&str> {
        self.date_created.as_deref()
    }

    /// `_meta.change_log`.
    pub fn change_log(&self) -> &[String] {
        &self.change_log
    }
}

/// The report-type token of a Shadowserver file name: `2019-01-01-scan_dns-test-test.csv` →
/// `scan_dns`. The date is optional, as in IntelMQ (`scan_dns.csv` → `scan_dns`); the name
/// must end in `.csv` or `.json`; a directory part is ignored. `None` when the name does not
/// have that form.
pub fn report_type_from_file_name(file_name: &str) -> Option<&str> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let stem = base.strip_suffix(".csv").or_else(|| base.strip_suffix(".json"))?;
    let b = stem.as_bytes();
    let dated = b.len() > 11
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && b[10] == b'-';
    let rest = if dated { &stem[11..] } else { stem };
    let (token, suffix) = match rest.split_once('-') {
        Some((token, suffix)) => (token, Some(suffix)),
        None => (rest, None),
    };
    let word = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
    // The rest ("sample-asn", "123-sample-asn-delayed") must not have empty parts.
    if !word(token) || suffix.is_some_and(|rest| rest.split('-').any(str::is_empty)) {
        return None;
    }
    Some(token)
}

impl Report {
    fn parse(key: &str, entry: &Value) -> Result<Report, String> {
        let Value::Object(entry) = entry else {
            return Err("not a JSON object".into());
        };
        let text = |name: &str| -> Result<String, String> {
            match entry.get(name) {
                Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                Some(_) => Err(format!("{name:?} must be a non-empty string")),
                None => Err(format!("{name:?} is missing")),
            }
        };
        let feed_name = text("feed_name")?;
        let file_name = text("file_name")?;
        let url = entry.get("url").and_then(Value::as_str).map(str::to_string);
        let constant_fields = match entry.get("constant_fields") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(field, value)| match value {
                    Value::String(s) => Ok((field.clone(), s.clone())),
                    Value::Number(n) => Ok((field.clone(), n.to_string())),
                    Value::Bool(b) => Ok((field.clone(), b.to_string())),
                    _ => Err(format!("constant field {field:?} must be a string")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("\"constant_fields\" must be an object".into()),
        };
        let mappings = |name: &str| -> Result<Vec<Mapping>, String> {
            match entry.get(name) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => items.iter().map(|item| Mapping::parse(item).map_err(|e| format!("{name}: {e}"))).collect(),
                Some(_) => Err(format!("{name:?} must be an array")),
            }
        };
        let required = mappings("required_fields")?;
        let optional = mappings("optional_fields")?;
        Ok(Report { key: key.to_string(), feed_name, file_name, url, constant_fields, required, optional })
    }

    /// The schema's key for the report, e.g. `event_sinkhole_http`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The feed name, e.g. `DNS-Open-Resolvers`.
    pub fn feed_name(&self) -> &str {
        &self.feed_name
    }

    /// The report-type token of its file names, e.g. `scan_dns`.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// Shadowserver's page about the report.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// The columns the report requires.
    pub fn required_columns(&self) -> impl Iterator<Item = &str> {
        self.required.iter().map(|m| m.column.as_str())
    }
}

impl Mapping {
    fn parse(item: &Value) -> Result<Mapping, String> {
        let Value::Array(parts) = item else {
            return Err(format!("{item} is not a list"));
        };
        if !(2..=4).contains(&parts.len()) {
            return Err(format!("{item} must have 2 to 4 elements"));
        }
        let target = match &parts[0] {
            Value::String(s) if s == "extra." => Target::ExtraColumn,
            Value::String(s) if !s.is_empty() => Target::Field(s.clone()),
            Value::Bool(false) | Value::Null => Target::Ignore,
            _ => return Err(format!("{item}: the first element must be a field name or false")),
        };
        let column = match &parts[1] {
            Value::String(s) if !s.is_empty() => s.clone(),
            _ => return Err(format!("{item}: the second element must be a column name")),
        };
        let converter = match parts.get(2) {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(match Converter::from_name(name) {
                Some(known) => ConverterName::Known(known),
                None => ConverterName::Unknown(name.clone()),
            }),
            Some(_) => return Err(format!("{item}: the third element must be a converter name")),
        };
        match parts.get(3) {
            None | Some(Value::Bool(_)) | Some(Value::Null) => {}
            Some(_) => return Err(format!("{item}: the fourth element must be true or false")),
        }
        Ok(Mapping { target, column, converter })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_schema_parses() {
        let schema = Schema::builtin();
        assert_eq!(schema.len(), 170);
        assert_eq!(schema.date_created(), Some("2026-03-24T15:31:20Z"));
        let dns = schema.report("scan_dns").unwrap();
        assert_eq!((dns.key(), dns.feed_name(), dns.file_name()), ("scan_dns", "DNS-Open-Resolvers", "scan_dns"));
        assert_eq!(dns.required_columns().collect::<Vec<_>>(), ["timestamp", "ip", "port"]);
        assert_eq!(schema.report("event4_sinkhole_http").map(Report::key), Some("event_sinkhole_http"));
        assert_eq!(schema.report_by_feed_name("DNS-Open-Resolvers").map(Report::key), Some("scan_dns"));
        for report in schema.reports() {
            for mapping in report.required.iter().chain(&report.optional) {
                assert!(!matches!(mapping.converter, Some(ConverterName::Unknown(_))), "{}: {mapping:?}", report.key);
            }
        }
    }

    #[test]
    fn report_types_from_file_names() {
        let cases = [
            ("2019-01-01-scan_dns-test-test.csv", Some("scan_dns")),
            ("2015-01-01-dns_openresolver-sample-asn.csv", Some("dns_openresolver")),
            ("2024-07-04-dns_openresolver-123-sample-asn.csv", Some("dns_openresolver")),
            ("2019-01-01-scan_smb-test-geo.json", Some("scan_smb")),
            ("/var/spool/2020-04-03-scan_ics-sample-asn-delayed.csv", Some("scan_ics")),
            ("scan_dns.csv", Some("scan_dns")),
            ("2020.wrong-filename.csv", None),
            ("2019-01-01-scan_dns-test-test.txt", None),
            ("2019-01-01-.csv", None),
            ("2019-01-01-scan_dns-.csv", None),
            ("", None),
        ];
        for (name, want) in cases {
            assert_eq!(report_type_from_file_name(name), want, "{name}");
        }
        let schema = Schema::builtin();
        assert!(
            matches!(schema.resolve_file_name("2019-01-01-some_string-test-test.csv"), Err(ParseError::UnknownReportType(t)) if t == "some_string")
        );
        assert!(matches!(schema.resolve_file_name("2020.wrong-filename.csv"), Err(ParseError::BadFileName(_))));
        assert_eq!(schema.report_for_file_name("2019-01-01-scan_dns-test-test.csv").map(Report::key), Some("scan_dns"));
    }

    #[test]
    fn bad_schemas_are_refused_with_reasons() {
        assert!(matches!(Schema::parse("{"), Err(SchemaError::Json(_))));
        assert_eq!(Schema::parse("[]").unwrap_err(), SchemaError::NotAnObject);
        assert_eq!(Schema::parse(r#"{"_meta": {"date_created": "x"}}"#).unwrap_err(), SchemaError::Empty);
        let no_feed = r#"{"a": {"file_name": "a", "required_fields": []}}"#;
        assert!(Schema::parse(no_feed).unwrap_err().to_string().contains("\"feed_name\" is missing"));
        let bad_mapping = r#"{"a": {"feed_name": "A", "file_name": "a", "required_fields": [["source.ip"]]}}"#;
        assert!(matches!(Schema::parse(bad_mapping), Err(SchemaError::Report { report, .. }) if report == "a"));
        let twice = r#"{"a": {"feed_name": "A", "file_name": "x"}, "b": {"feed_name": "B", "file_name": "x"}}"#;
        assert!(matches!(Schema::parse(twice), Err(SchemaError::DuplicateFileName { .. })));
        let odd_converter = r#"{"a": {"feed_name": "A", "file_name": "a", "optional_fields": [["extra.", "x", "brand_new"]]}}"#;
        let schema = Schema::parse(odd_converter).unwrap();
        assert_eq!(schema.report("a").unwrap().optional[0].converter, Some(ConverterName::Unknown("brand_new".into())));
    }
}
