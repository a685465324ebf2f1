//! Generic JSON feeds: the same mappings as CSV, with paths into each record in place of
//! column names.
//!
//! ```toml
//! [[feeds.mappings]]
//! name = "vendor-api"
//! format = "json"
//! records = "/data/results"   # the array of records inside the document
//! columns = { ip = "source.ip", "geo.asn" = "source.asn", "/http/server.name" = "extra.server" }
//! types = { "source.asn" = "integer" }
//! ```
//!
//! An input is first cut into one record per line ([`json_records_as_lines`]), so the
//! batch engine splits and resumes it by lines like any JSON lines file; then each line
//! is read with [`CompiledJsonMapping::parse_record`].

use super::{set_typed, ConstantsAndRequired, LineParser, MappingError, MappingFormat, MappingSpec, ValueType};
use crate::event::{Event, FieldId};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt::Write as _;

/// A JSON mapping ready to read records.
#[derive(Debug, Clone)]
pub struct CompiledJsonMapping {
    columns: Vec<JsonColumn>,
    fill: ConstantsAndRequired,
}

#[derive(Debug, Clone)]
struct JsonColumn {
    /// The path as a JSON Pointer, whichever way the mapping wrote it.
    pointer: String,
    field: FieldId,
    ty: ValueType,
    /// `path "geo.asn"`, as the mapping writes it, for errors.
    label: String,
}

impl MappingSpec {
    /// Prepares a JSON mapping (`format = "json"`) to read records.
    pub fn compile_json(&self) -> Result<CompiledJsonMapping, MappingError> {
        self.check()?;
        if self.format != MappingFormat::Json {
            return Err(MappingError::Invalid { mapping: self.name.clone(), reason: "it is a CSV mapping, not a JSON one".into() });
        }
        let mut columns = Vec::with_capacity(self.columns.len());
        for (path, field) in &self.columns {
            let pointer = column_pointer(path).map_err(|reason| MappingError::Invalid { mapping: self.name.clone(), reason })?;
            columns.push(JsonColumn {
                pointer,
                field: FieldId::of_checked(field),
                ty: self.value_type(field),
                label: format!("path {path:?}"),
            });
        }
        Ok(CompiledJsonMapping { columns, fill: self.constants_and_required() })
    }
}

impl CompiledJsonMapping {
    /// Reads one record (a JSON object on one line) into `event`. Strings are taken as
    /// text, numbers and booleans as their JSON text, null or a missing path as absent; an
    /// object or array is kept as compact JSON text, for text fields only.
    pub fn parse_record<'a>(&'a self, line: &'a str, event: &mut Event<'a>) -> Result<(), String> {
        let record: Value = serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
        if !record.is_object() {
            return Err(format!("not a JSON object: {}", describe(&record)));
        }
        for column in &self.columns {
            let Some(value) = record.pointer(&column.pointer) else { continue };
            let text = match value {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                Value::Bool(_) | Value::Number(_) => value.to_string(),
                Value::Array(_) | Value::Object(_) if column.ty == ValueType::Text => value.to_string(),
                Value::Array(_) | Value::Object(_) => {
                    return Err(format!("{}: {} is not {}", column.label, describe(value), column.ty.expected()));
                }
            };
            set_typed(event, column.field, column.ty, Cow::Owned(text), &column.label)?;
        }
        self.fill.apply(event, "record")
    }
}

impl LineParser for CompiledJsonMapping {
    fn parse_line<'a>(&'a self, line: &'a str, event: &mut Event<'a>) -> Result<(), String> {
        self.parse_record(line, event)
    }
}

/// Cuts a JSON input into JSON lines, one compact record per line, so the batch engine
/// can split it at line boundaries. With `records`, the whole document is read and the
/// pointer must lead to an array; without it, a top-level array is cut into its elements,
/// and anything else is taken as JSON lines already and returned as it is, so that a bad
/// line is quarantined alone rather than refusing the file. Elements that are not objects
/// still get a line each, to be quarantined by [`CompiledJsonMapping::parse_record`].
pub fn json_records_as_lines(input: &[u8], records: Option<&str>) -> Result<String, MappingError> {
    let bad = MappingError::JsonInput;
    let text = std::str::from_utf8(input).map_err(|e| bad(format!("not UTF-8 text: {e}")))?;
    // A byte order mark is not JSON, but some tools on Windows write one.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let items = match records {
        Some(pointer) => {
            let mut document: Value = serde_json::from_str(text).map_err(|e| bad(format!("not a valid JSON document: {e}")))?;
            // Taken out rather than cloned: the document is dropped right after.
            match document.pointer_mut(pointer).map(Value::take) {
                Some(Value::Array(items)) => items,
                Some(other) => return Err(bad(format!("the records at {pointer:?} are {}, not an array", describe(&other)))),
                None => return Err(bad(format!("the document has nothing at {pointer:?}"))),
            }
        }
        None if text.trim_start().starts_with('[') => {
            serde_json::from_str::<Vec<Value>>(text).map_err(|e| bad(format!("not a valid JSON array: {e}")))?
        }
        None => return Ok(text.to_owned()),
    };
    let mut lines = String::with_capacity(text.len());
    for item in &items {
        // Compact JSON escapes newlines inside strings, so each record stays on one line.
        writeln!(lines, "{item}").expect("writing to a String does not fail");
    }
    Ok(lines)
}

/// Checks a JSON Pointer (RFC 6901): empty (the whole document) or starting with "/",
/// with "~" only as the escapes "~0" and "~1".
pub(super) fn check_pointer(pointer: &str) -> Result<(), String> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err("a JSON Pointer starts with \"/\" (or is empty, for the whole document)".into());
    }
    if !pointer.split('~').skip(1).all(|after| after.starts_with(['0', '1'])) {
        return Err("in a JSON Pointer \"~\" is written \"~0\" and \"/\" inside a key \"~1\"".into());
    }
    Ok(())
}

/// The JSON Pointer of a column's path: a pointer as it is, or a dotted path (`geo.asn`)
/// turned into one (`/geo/asn`).
pub(super) fn column_pointer(path: &str) -> Result<String, String> {
    if path.starts_with('/') {
        check_pointer(path)?;
        return Ok(path.to_owned());
    }
    if path.is_empty() {
        return Err("the path is empty".into());
    }
    if path.split('.').any(str::is_empty) {
        return Err("a dotted path has a key between each two dots; a key with a dot in it is reached with a pointer (\"/a.b\")".into());
    }
    let mut pointer = String::with_capacity(path.len() + 1);
    for key in path.split('.') {
        pointer.push('/');
        pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
    }
    Ok(pointer)
}

/// A JSON value's kind, for messages.
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JSON mapping with every kind of path and type; `top` adds top-level settings.
    fn spec(top: &str) -> MappingSpec {
        toml::from_str(&format!(
            r#"
            name = "vendor-json"
            format = "json"
            {top}
            constants = {{ "classification.type" = "blacklist" }}
            required = ["source.ip"]

            [columns]
            ip = "source.ip"
            "geo.asn" = "source.asn"
            "/geo/cc" = "source.geolocation.cc"
            "/seen" = "time.source"
            score = "extra.score"
            live = "extra.live"
            tags = "extra.tags"
            "/a.b" = "extra.dotted"

            [types]
            "source.asn" = "integer"
            "time.source" = "timestamp"
            "extra.score" = "float"
            "extra.live" = "boolean"
            "#
        ))
        .unwrap()
    }

    fn parse(m: &CompiledJsonMapping, line: &str) -> Result<serde_json::Map<String, Value>, String> {
        let mut e = Event::new();
        m.parse_record(line, &mut e)?;
        Ok(e.to_json())
    }

    fn lines_as_values(lines: &str) -> Vec<Value> {
        lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    #[test]
    fn paths_types_and_constants_become_fields() {
        let m = spec("").compile_json().unwrap();
        let line = r#"{"ip":"192.0.2.7","geo":{"asn":64500,"cc":"TW"},"seen":"2026-11-30 08:00:00","score":0.75,"live":true,"tags":["a",{"b":1}],"a.b":"x","other":1}"#;
        let e = parse(&m, line).unwrap();
        assert_eq!(e["source.ip"], "192.0.2.7");
        assert_eq!(e["source.asn"], 64500);
        assert_eq!(e["source.geolocation.cc"], "TW");
        assert_eq!(e["time.source"], "2026-11-30T08:00:00+00:00");
        assert_eq!(e["extra.score"], 0.75);
        assert_eq!(e["extra.live"], true);
        assert_eq!(e["extra.tags"], r#"["a",{"b":1}]"#, "an array into a text field is its compact JSON");
        assert_eq!(e["extra.dotted"], "x", "a pointer reaches a key with a dot in it");
        assert_eq!(e["classification.type"], "blacklist");
        assert!(!e.contains_key("other"));

        // Strings convert by the same rules as CSV cells; null and missing are absent.
        let e = parse(&m, r#"{"ip":"192.0.2.8","geo":{"asn":" 64501 ","cc":null},"live":"no","score":null}"#).unwrap();
        assert_eq!(e["source.asn"], 64501);
        assert_eq!(e["extra.live"], false);
        assert!(!e.contains_key("source.geolocation.cc") && !e.contains_key("extra.score") && !e.contains_key("time.source"));
    }

    #[test]
    fn bad_records_are_named() {
        let m = spec("").compile_json().unwrap();
        let wrong_type = parse(&m, r#"{"ip":"192.0.2.7","geo":{"asn":"AS1"}}"#).unwrap_err();
        assert!(
            wrong_type.contains(r#"path "geo.asn""#) && wrong_type.contains("AS1") && wrong_type.contains("an integer"),
            "{wrong_type}"
        );
        let no_time = parse(&m, r#"{"ip":"192.0.2.7","seen":"yesterday"}"#).unwrap_err();
        assert!(no_time.contains(r#""/seen""#) && no_time.contains("a time"), "{no_time}");
        let object_for_integer = parse(&m, r#"{"ip":"192.0.2.7","geo":{"asn":{"n":1}}}"#).unwrap_err();
        assert!(object_for_integer.contains("geo.asn") && object_for_integer.contains("an object"), "{object_for_integer}");
        assert!(parse(&m, r#"{"geo":{"asn":1}}"#).unwrap_err().contains("the record has no source.ip"));
        assert!(parse(&m, r#"{"ip":""}"#).unwrap_err().contains("source.ip"), "an empty string is absent");
        assert!(parse(&m, "[1]").unwrap_err().starts_with("not a JSON object"));
        assert!(parse(&m, "7").unwrap_err().starts_with("not a JSON object"));
        let broken = parse(&m, r#"{"ip":"#).unwrap_err();
        assert!(broken.contains("not valid JSON") && broken.contains("line 1 column"), "{broken}");
    }

    #[test]
    fn a_mapping_reads_lines_through_the_line_parser() {
        let m = spec("").compile_json().unwrap();
        let parser: &dyn LineParser = &m;
        let mut e = Event::new();
        parser.parse_line(r#"{"ip":"192.0.2.9"}"#, &mut e).unwrap();
        assert_eq!(e.to_json()["source.ip"], "192.0.2.9");
    }

    #[test]
    fn records_inside_a_document_become_lines() {
        let document = r#"{"meta":{"count":3},"data":{"results":[{"ip":"192.0.2.1"},{"ip":"192.0.2.2","geo":{"asn":1}},"stray"]}}"#;
        let with_records = spec(r#"records = "/data/results""#);
        let lines = json_records_as_lines(document.as_bytes(), with_records.records.as_deref()).unwrap();
        assert_eq!(
            lines_as_values(&lines),
            vec![serde_json::json!({"ip":"192.0.2.1"}), serde_json::json!({"ip":"192.0.2.2","geo":{"asn":1}}), serde_json::json!("stray")]
        );
        let mapping = with_records.compile_json().unwrap();
        let parsed: Vec<Result<_, _>> = lines.lines().map(|l| parse(&mapping, l)).collect();
        assert_eq!(parsed[1].as_ref().unwrap()["source.asn"], 1);
        assert!(parsed[2].as_ref().unwrap_err().starts_with("not a JSON object"), "a stray element is quarantined, not the file");

        let not_found = json_records_as_lines(document.as_bytes(), Some("/data/nothing")).unwrap_err().to_string();
        assert!(not_found.contains("/data/nothing"), "{not_found}");
        let not_array = json_records_as_lines(document.as_bytes(), Some("/meta")).unwrap_err().to_string();
        assert!(not_array.contains("an object, not an array"), "{not_array}");
        let broken = json_records_as_lines(b"{\"data\":\n[1,", Some("/data")).unwrap_err().to_string();
        assert!(broken.contains("line 2"), "{broken}");
        assert!(json_records_as_lines(b"[\"\xff\"]", None).unwrap_err().to_string().contains("UTF-8"));
    }

    #[test]
    fn a_top_level_array_becomes_lines_and_json_lines_pass_through() {
        let array = "\u{feff} [\n  {\"ip\": \"192.0.2.1\"},\n  7,\n  {\"ip\": \"a\\nb\"}\n]\n";
        let lines = json_records_as_lines(array.as_bytes(), None).unwrap();
        assert_eq!(lines.lines().count(), 3, "{lines}");
        assert_eq!(lines_as_values(&lines)[2], serde_json::json!({"ip": "a\nb"}));
        assert!(json_records_as_lines(b"[]", None).unwrap().is_empty());
        assert!(json_records_as_lines(b"[{\"ip\":1},", None).unwrap_err().to_string().contains("line 1"));

        let jsonl = "\n{\"ip\":\"192.0.2.1\"}\n\nnot json\n{\"ip\":\"192.0.2.2\"}";
        assert_eq!(json_records_as_lines(jsonl.as_bytes(), None).unwrap(), jsonl, "JSON lines are left for per-line quarantine");
    }

    #[test]
    fn bad_json_mappings_are_refused() {
        let csv_with_records: MappingSpec = toml::from_str("name = \"c\"\nrecords = \"/data\"\ncolumns = { ip = \"source.ip\" }").unwrap();
        assert!(csv_with_records.check().unwrap_err().to_string().contains("records"));
        let relative = spec(r#"records = "data/results""#).check().unwrap_err().to_string();
        assert!(relative.contains("data/results") && relative.contains("starts with"), "{relative}");
        assert!(spec(r#"records = "/a~2""#).check().is_err());
        assert!(spec(r#"records = """#).check().is_ok(), "the empty pointer is the whole document");

        let mut empty_step = spec("");
        empty_step.columns.insert("geo..asn".into(), "extra.asn".into());
        assert!(empty_step.check().unwrap_err().to_string().contains("geo..asn"));
        let mut bad_escape = spec("");
        bad_escape.columns.insert("/a~".into(), "extra.a".into());
        assert!(bad_escape.check().is_err());

        assert!(spec("").compile(&["ip"]).unwrap_err().to_string().contains("JSON mapping"));
        let csv: MappingSpec = toml::from_str("name = \"c\"\ncolumns = { ip = \"source.ip\" }").unwrap();
        assert!(csv.compile_json().unwrap_err().to_string().contains("CSV mapping"));
        assert!(toml::from_str::<MappingSpec>("name = \"x\"\nformat = \"xml\"\ncolumns = { ip = \"source.ip\" }").is_err());
    }

    #[test]
    fn dotted_paths_escape_pointer_characters() {
        assert_eq!(column_pointer("geo.asn").unwrap(), "/geo/asn");
        assert_eq!(column_pointer("a/b.c~d").unwrap(), "/a~1b/c~0d");
        assert_eq!(column_pointer("/a.b/0").unwrap(), "/a.b/0");
        assert!(column_pointer("").is_err() && column_pointer(".a").is_err() && column_pointer("a.").is_err());
    }

    proptest::proptest! {
        #[test]
        fn a_top_level_array_gives_one_line_per_record(
            records in proptest::collection::vec(
                proptest::collection::btree_map("[a-z.é\"\\\\/~]{0,6}", "[a-z é\"\\\\\n\t]{0,8}", 0..4),
                0..6,
            ),
            pretty in proptest::bool::ANY,
        ) {
            let objects: Vec<Value> = records
                .iter()
                .map(|record| Value::Object(record.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect()))
                .collect();
            let array = Value::Array(objects.clone());
            let text = if pretty { serde_json::to_string_pretty(&array).unwrap() } else { array.to_string() };
            let lines = json_records_as_lines(text.as_bytes(), None).unwrap();
            proptest::prop_assert_eq!(lines.lines().count(), objects.len(), "{}", lines);
            proptest::prop_assert_eq!(lines_as_values(&lines), objects);
        }
    }
}
