//! The event: one observation from a feed, as a list of named fields. Field names follow
//! IntelMQ's harmonisation (`source.ip`, `classification.type`, `extra.tag` …) so that
//! IntelMQ users find what they know, and events read and write IntelMQ JSON lines.
//!
//! Built for throughput: field names are interned once into [`FieldId`]s (a parser
//! resolves its columns when it starts, not per row), values borrow from the input
//! buffer where they can, and an event is a short vector that a worker clears and reuses.

use crate::experts::{bytes_equal_to, HIGH_BITS};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

/// An interned field name. Cheap to copy and compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(u32);

/// More distinct names than any feed set uses; a guard against a hostile mapping.
const MAX_FIELDS: usize = 65_536;

#[derive(Default)]
struct Interner {
    names: Vec<&'static str>,
    ids: HashMap<&'static str, FieldId>,
}

static INTERNER: LazyLock<RwLock<Interner>> = LazyLock::new(Default::default);
/// How many names are interned: a thread's table is stale when it has fewer.
static INTERNED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("{0:?} is not a field name (letters, digits, '.', '_', '-'; at most 200 characters)")]
    BadFieldName(String),
    #[error("too many distinct field names")]
    TooManyFields,
    #[error("not an IntelMQ JSON event: {0}")]
    BadJson(String),
}

/// Whether `name` is acceptable as a field name.
pub fn valid_field_name(name: &str) -> bool {
    (1..=200).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        && !name.starts_with('.')
        && !name.ends_with('.')
}

impl FieldId {
    /// The id of a field name, interning it on first use. Names live for the process,
    /// which is why their number is bounded.
    pub fn intern(name: &str) -> Result<FieldId, EventError> {
        if let Some(id) = INTERNER.read().expect("interner lock").ids.get(name) {
            return Ok(*id);
        }
        if !valid_field_name(name) {
            return Err(EventError::BadFieldName(name.chars().take(64).collect()));
        }
        let mut interner = INTERNER.write().expect("interner lock");
        if let Some(id) = interner.ids.get(name) {
            return Ok(*id);
        }
        if interner.names.len() >= MAX_FIELDS {
            return Err(EventError::TooManyFields);
        }
        let name: &'static str = Box::leak(name.to_string().into_boxed_str());
        let id = FieldId(interner.names.len() as u32);
        interner.names.push(name);
        interner.ids.insert(name, id);
        INTERNED.store(interner.names.len(), std::sync::atomic::Ordering::Release);
        Ok(id)
    }

    /// A name known to be valid (a literal in Rampart's code).
    pub fn of(name: &'static str) -> FieldId {
        FieldId::intern(name).unwrap_or_else(|e| panic!("built-in field name {name:?}: {e}"))
    }

    /// A small number of its own, for tables indexed by field.
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }

    pub fn name(self) -> &'static str {
        FieldTable::with(|t| t.get(self).name)
    }

    /// A hash of the name, the same in every process (unlike the id, which depends on
    /// the order names were first seen), for fingerprints that are stored.
    pub fn name_hash(self) -> u64 {
        FieldTable::with(|t| t.get(self).hash)
    }

    /// `extra.*` fields carry any JSON value in IntelMQ.
    pub fn is_extra(self) -> bool {
        self.name().starts_with("extra.")
    }
}

/// What is known about an interned name.
#[derive(Debug, Clone, Copy)]
pub struct FieldInfo {
    pub name: &'static str,
    /// [`FieldId::name_hash`].
    pub hash: u64,
    /// `,"name":` as written in JSON after the first member.
    pub json_key: &'static [u8],
    /// `json_key` and an opening quote, padded to a fixed size when it fits
    /// (`padded_len` > 0): copied as a block of known size, which needs no call to copy.
    padded_key: [u8; PADDED_KEY],
    padded_len: u8,
}

const PADDED_KEY: usize = 32;
const PADDED_JSON: usize = 64;

impl FieldInfo {
    /// Appends `,"name":` and, for a string value, its opening quote.
    #[inline]
    pub(crate) fn write_key(&self, out: &mut Vec<u8>, open_quote: bool) {
        let len = self.padded_len as usize;
        if len > 0 {
            out.extend_from_slice(&self.padded_key);
            out.truncate(out.len() - PADDED_KEY + len - usize::from(!open_quote));
        } else {
            out.extend_from_slice(self.json_key);
            if open_quote {
                out.push(b'"');
            }
        }
    }
}

/// This thread's copy of the interned names. Names never change once interned, so each
/// thread reads its copy without the lock; only an id it has not seen yet refreshes it.
/// Hot loops take the table once per event rather than once per field.
pub struct FieldTable {
    entries: Vec<FieldInfo>,
}

thread_local! {
    static FIELD_TABLE: std::cell::RefCell<FieldTable> = const { std::cell::RefCell::new(FieldTable { entries: Vec::new() }) };
}

/// JSON keys, leaked like the names they are made of (one per interned name).
static JSON_KEYS: LazyLock<RwLock<HashMap<&'static str, &'static [u8]>>> = LazyLock::new(Default::default);

impl FieldTable {
    /// Runs `f` with a table that knows every name interned so far.
    pub fn with<R>(f: impl FnOnce(&FieldTable) -> R) -> R {
        FIELD_TABLE.with(|cell| {
            let stale = cell.borrow().entries.len() < INTERNED.load(std::sync::atomic::Ordering::Acquire);
            if stale {
                let names: Vec<&'static str> = INTERNER.read().expect("interner lock").names.clone();
                let mut keys = JSON_KEYS.write().expect("json key lock");
                let entries = names
                    .into_iter()
                    .map(|name| {
                        let json_key = *keys.entry(name).or_insert_with(|| {
                            let mut key = vec![b','];
                            write_json_string(&mut key, name);
                            key.push(b':');
                            Box::leak(key.into_boxed_slice())
                        });
                        let (mut padded_key, mut padded_len) = ([0u8; PADDED_KEY], 0u8);
                        if json_key.len() < PADDED_KEY {
                            padded_key[..json_key.len()].copy_from_slice(json_key);
                            padded_key[json_key.len()] = b'"';
                            padded_len = json_key.len() as u8 + 1;
                        }
                        FieldInfo { name, hash: stable_hash(name.as_bytes()), json_key, padded_key, padded_len }
                    })
                    .collect();
                cell.borrow_mut().entries = entries;
            }
            f(&cell.borrow())
        })
    }

    /// A copy of this thread's table, for a loop that must not hold the thread's own while
    /// it runs.
    pub fn snapshot() -> FieldTable {
        FieldTable::with(|table| FieldTable { entries: table.entries.clone() })
    }

    /// Every field the table knows, by index.
    pub(crate) fn ids(&self) -> impl Iterator<Item = FieldId> {
        (0..self.entries.len() as u32).map(FieldId)
    }

    /// The entry of a field; every `FieldId` was interned before the table was taken.
    pub fn get(&self, field: FieldId) -> &FieldInfo {
        &self.entries[field.0 as usize]
    }
}

/// FNV-1a: small, stable across processes and versions.
fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// Well-known fields, interned once.
pub mod fields {
    use super::FieldId;
    use std::sync::LazyLock;

    macro_rules! known {
        ($($ident:ident => $name:literal),+ $(,)?) => {
            $(pub static $ident: LazyLock<FieldId> = LazyLock::new(|| FieldId::of($name));)+
        };
    }

    known! {
        SOURCE_IP => "source.ip",
        SOURCE_PORT => "source.port",
        SOURCE_ASN => "source.asn",
        SOURCE_AS_NAME => "source.as_name",
        SOURCE_NETWORK => "source.network",
        SOURCE_FQDN => "source.fqdn",
        SOURCE_URL => "source.url",
        SOURCE_REVERSE_DNS => "source.reverse_dns",
        SOURCE_GEOLOCATION_CC => "source.geolocation.cc",
        DESTINATION_IP => "destination.ip",
        DESTINATION_PORT => "destination.port",
        DESTINATION_FQDN => "destination.fqdn",
        CLASSIFICATION_TAXONOMY => "classification.taxonomy",
        CLASSIFICATION_TYPE => "classification.type",
        CLASSIFICATION_IDENTIFIER => "classification.identifier",
        FEED_NAME => "feed.name",
        FEED_PROVIDER => "feed.provider",
        FEED_ACCURACY => "feed.accuracy",
        FEED_URL => "feed.url",
        TIME_SOURCE => "time.source",
        TIME_OBSERVATION => "time.observation",
        PROTOCOL_TRANSPORT => "protocol.transport",
        PROTOCOL_APPLICATION => "protocol.application",
        RAW => "raw",
        EXTRA_FILE_NAME => "extra.file_name",
        EXTRA_ORGANISATION => "extra.rampart_org",
        EXTRA_WARNINGLIST => "extra.rampart_warninglist",
    }
}

/// How a value is written in JSON. IntelMQ's harmonisation types integers, floats and
/// booleans; everything else is a string. `Json` is an `extra.*` value that is itself
/// JSON (an object or array), kept as its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// A word-wide tag: a kind and its text pass between the conversion steps in memory, and with
// a one-byte tag the padding after it was copied in odd-sized pieces whose reloads stalled.
#[repr(u64)]
pub enum Kind {
    Text,
    Integer,
    Float,
    Boolean,
    Json,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldValue<'a> {
    pub kind: Kind,
    pub text: Cow<'a, str>,
}

/// A field whose value is known before any row is read (a report's constants, a run's
/// observation time). Its JSON member and its fingerprint term are made once, so rows
/// copy the one and add the other instead of writing and hashing the value again.
#[derive(Debug, Clone)]
pub struct Rendered {
    field: FieldId,
    kind: Kind,
    text: Box<str>,
    /// `,"name":value` as [`Event::write_intelmq_json`] writes it.
    json: Box<[u8]>,
    /// `json` padded to a fixed size when it fits (`padded_len` > 0): copied as a block of
    /// known size, which needs no call to copy.
    padded_json: [u8; PADDED_JSON],
    padded_len: u8,
    /// What the field adds to a fingerprint ([`crate::experts::field_term`]).
    hash_term: u64,
}

impl Rendered {
    pub fn new(field: FieldId, kind: Kind, text: &str) -> Rendered {
        let (json, hash_term) = FieldTable::with(|table| {
            let info = table.get(field);
            let mut json = Vec::with_capacity(info.json_key.len() + text.len() + 2);
            write_member(info, kind, text, &mut json);
            (json.into_boxed_slice(), crate::experts::field_term(info.hash, text))
        });
        let mut padded_json = [0u8; PADDED_JSON];
        let padded_len = if json.len() <= PADDED_JSON {
            padded_json[..json.len()].copy_from_slice(&json);
            json.len() as u8
        } else {
            0
        };
        Rendered { field, kind, text: text.into(), json, padded_json, padded_len, hash_term }
    }

    /// Appends `,"name":value`.
    #[inline]
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        let len = self.padded_len as usize;
        if len > 0 {
            out.extend_from_slice(&self.padded_json);
            out.truncate(out.len() - PADDED_JSON + len);
        } else {
            out.extend_from_slice(&self.json);
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn field(&self) -> FieldId {
        self.field
    }

    pub(crate) fn hash_term(&self) -> u64 {
        self.hash_term
    }
}

/// One field of an event: its value and, when the value came from a [`Rendered`], that.
#[derive(Debug, Clone)]
struct Slot<'a> {
    field: FieldId,
    value: FieldValue<'a>,
    rendered: Option<&'a Rendered>,
}

/// One event. Field order is insertion order, which is also the output order.
#[derive(Debug, Clone, Default)]
pub struct Event<'a> {
    slots: Vec<Slot<'a>>,
    /// One bit per field id modulo 64 of the fields present: most lookups of an absent
    /// field, and most sets of a new one, need no scan of the list.
    present: u64,
}

impl PartialEq for Event<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.slots.len() == other.slots.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

fn bit(field: FieldId) -> u64 {
    1 << (field.0 & 63)
}

impl<'a> Event<'a> {
    pub fn new() -> Self {
        Self { slots: Vec::with_capacity(32), present: 0 }
    }

    pub fn clear(&mut self) {
        self.slots.clear();
        self.present = 0;
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn get(&self, field: FieldId) -> Option<&str> {
        self.get_value(field).map(|v| v.text.as_ref())
    }

    pub fn get_value(&self, field: FieldId) -> Option<&FieldValue<'a>> {
        if self.present & bit(field) == 0 {
            return None;
        }
        self.slots.iter().find(|s| s.field == field).map(|s| &s.value)
    }

    pub fn contains(&self, field: FieldId) -> bool {
        self.get_value(field).is_some()
    }

    /// Sets a text value, replacing any earlier one.
    pub fn set(&mut self, field: FieldId, text: impl Into<Cow<'a, str>>) {
        self.set_kind(field, Kind::Text, text);
    }

    pub fn set_kind(&mut self, field: FieldId, kind: Kind, text: impl Into<Cow<'a, str>>) {
        self.put(Slot { field, value: FieldValue { kind, text: text.into() }, rendered: None });
    }

    /// Sets a value made ahead of time, replacing any earlier one.
    pub fn set_rendered(&mut self, rendered: &'a Rendered) {
        let value = FieldValue { kind: rendered.kind, text: Cow::Borrowed(&rendered.text) };
        self.put(Slot { field: rendered.field, value, rendered: Some(rendered) });
    }

    // Inlined: a slot handed over in memory is read back before its stores have landed,
    // which stalled every set (two thirds of `put`'s own time in a profile).
    #[inline(always)]
    fn put(&mut self, slot: Slot<'a>) {
        if self.present & bit(slot.field) != 0 {
            if let Some(old) = self.slots.iter_mut().find(|s| s.field == slot.field) {
                *old = slot;
                return;
            }
        }
        self.present |= bit(slot.field);
        self.slots.push(slot);
    }

    pub fn remove(&mut self, field: FieldId) -> Option<FieldValue<'a>> {
        if self.present & bit(field) == 0 {
            return None;
        }
        let at = self.slots.iter().position(|s| s.field == field)?;
        let removed = self.slots.remove(at).value;
        self.recount();
        Some(removed)
    }

    fn recount(&mut self) {
        self.present = self.slots.iter().fold(0, |bits, s| bits | bit(s.field));
    }

    pub fn iter(&self) -> impl Iterator<Item = (FieldId, &FieldValue<'a>)> {
        self.slots.iter().map(|s| (s.field, &s.value))
    }

    /// The fields with what was made ahead of time for them, if anything.
    pub(crate) fn iter_rendered(&self) -> impl Iterator<Item = (FieldId, &FieldValue<'a>, Option<&'a Rendered>)> {
        self.slots.iter().map(|s| (s.field, &s.value, s.rendered))
    }

    /// Drops the fields `keep` says no to.
    pub fn retain(&mut self, mut keep: impl FnMut(FieldId, &FieldValue<'a>) -> bool) {
        self.slots.retain(|s| keep(s.field, &s.value));
        self.recount();
    }

    /// An event that no longer borrows from its input.
    pub fn into_owned(self) -> Event<'static> {
        Event {
            slots: self
                .slots
                .into_iter()
                .map(|s| Slot {
                    field: s.field,
                    value: FieldValue { kind: s.value.kind, text: Cow::Owned(s.value.text.into_owned()) },
                    rendered: None,
                })
                .collect(),
            present: self.present,
        }
    }

    /// Appends the event as one line of IntelMQ JSON (a flat object, `__type: Event`),
    /// without the newline.
    pub fn write_intelmq_json(&self, out: &mut Vec<u8>) {
        FieldTable::with(|table| self.write_intelmq_json_with(table, out));
    }

    /// [`Event::write_intelmq_json`] with the field table already in hand.
    pub fn write_intelmq_json_with(&self, table: &FieldTable, out: &mut Vec<u8>) {
        // No field chosen: nothing is hashed, and the sums are left unused.
        self.write_intelmq_json_summing(table, |_| false, out);
    }

    /// [`Event::write_intelmq_json_with`], adding up on the way the fingerprint terms of the
    /// fields `chosen` says yes to ([`crate::experts::field_term`]): (their sum, how many).
    pub(crate) fn write_intelmq_json_summing(&self, table: &FieldTable, chosen: impl Fn(FieldId) -> bool, out: &mut Vec<u8>) -> (u64, u64) {
        out.extend_from_slice(b"{\"__type\":\"Event\"");
        let (mut sum, mut count) = (0u64, 0u64);
        for slot in &self.slots {
            let take = chosen(slot.field);
            let term = match slot.rendered {
                Some(rendered) => {
                    rendered.write_json(out);
                    rendered.hash_term
                }
                None => {
                    let info = table.get(slot.field);
                    write_member(info, slot.value.kind, &slot.value.text, out);
                    if take {
                        crate::experts::field_term(info.hash, &slot.value.text)
                    } else {
                        0
                    }
                }
            };
            if take {
                sum = sum.wrapping_add(term);
                count += 1;
            }
        }
        out.push(b'}');
        (sum, count)
    }

    /// The event as a `serde_json` map (for tests and the API).
    pub fn to_json(&self) -> serde_json::Map<String, Value> {
        let mut line = Vec::with_capacity(512);
        self.write_intelmq_json(&mut line);
        match serde_json::from_slice(&line) {
            Ok(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        }
    }
}

/// Reads one line of IntelMQ JSON. `__type` is dropped; numbers, booleans and nested
/// values keep their kind.
pub fn read_intelmq_json(line: &str) -> Result<Event<'static>, EventError> {
    let value: Value = serde_json::from_str(line).map_err(|e| EventError::BadJson(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(EventError::BadJson("a line must be a JSON object".into()));
    };
    let mut event = Event::new();
    for (name, value) in map {
        if name == "__type" {
            continue;
        }
        let field = FieldId::intern(&name)?;
        let (kind, text) = match value {
            Value::Null => continue,
            Value::String(s) => (Kind::Text, s),
            Value::Bool(b) => (Kind::Boolean, b.to_string()),
            Value::Number(n) if n.is_i64() || n.is_u64() => (Kind::Integer, n.to_string()),
            Value::Number(n) => (Kind::Float, n.to_string()),
            other => (Kind::Json, other.to_string()),
        };
        event.set_kind(field, kind, text);
    }
    Ok(event)
}

fn is_json_scalar_or_doc(kind: Kind, text: &str) -> bool {
    match kind {
        Kind::Integer => !text.is_empty() && text.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit()) && text != "-",
        Kind::Float => plain_json_decimal(text) || (text.parse::<f64>().is_ok_and(f64::is_finite) && !text.contains(['i', 'n', 'N', 'I'])),
        Kind::Json => serde_json::from_str::<Value>(text).is_ok(),
        _ => false,
    }
}

/// Appends `,"name":value`: numbers, booleans and JSON documents bare when valid, all
/// else as a string.
pub(crate) fn write_member(key: &FieldInfo, kind: Kind, text: &str, out: &mut Vec<u8>) {
    let bare = match kind {
        Kind::Text => false,
        Kind::Integer | Kind::Float | Kind::Json => is_json_scalar_or_doc(kind, text),
        Kind::Boolean => text == "true" || text == "false",
    };
    key.write_key(out, !bare);
    if bare {
        out.extend_from_slice(text.as_bytes());
    } else {
        write_json_string_body(out, text);
        out.push(b'"');
    }
}

/// `-?(0|[1-9][0-9]*)\.[0-9]+`, short: valid JSON and finite, known without reading the number.
pub(crate) fn plain_json_decimal(text: &str) -> bool {
    let b = text.as_bytes();
    let b = b.strip_prefix(b"-").unwrap_or(b);
    let Some(dot) = b.iter().position(|&c| c == b'.') else { return false };
    let (whole, fraction) = (&b[..dot], &b[dot + 1..]);
    b.len() < 40
        && !whole.is_empty()
        && !fraction.is_empty()
        && (whole == b"0" || whole[0] != b'0')
        && whole.iter().chain(fraction).all(u8::is_ascii_digit)
}

/// Appends `s` as a JSON string literal.
pub fn write_json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    write_json_string_body(out, s);
    out.push(b'"');
}

/// Whether a byte of `bytes` must be escaped in a JSON string (a control character, a quote,
/// a backslash), eight bytes at a time. Values are mostly shorter than a vector loop's
/// stride; a loop over their bytes, as the compiler left the short ones, took a compare
/// and a branch per byte.
fn needs_escape(bytes: &[u8]) -> bool {
    let len = bytes.len();
    if len < 8 {
        if len == 0 {
            return false;
        }
        // The missing bytes are zeros, which count as control characters: masked off.
        let present = HIGH_BITS & (u64::MAX >> (8 * (8 - len)));
        return escape_bytes(crate::experts::tail_word(bytes)) & present != 0;
    }
    let mut chunks = bytes.chunks_exact(8);
    let mut found = 0;
    for chunk in &mut chunks {
        found |= escape_bytes(u64::from_le_bytes(chunk.try_into().expect("chunks of 8 bytes")));
    }
    if !chunks.remainder().is_empty() {
        // The last eight bytes, overlapping the chunk before.
        found |= escape_bytes(u64::from_le_bytes(bytes[len - 8..].try_into().expect("8 bytes")));
    }
    found != 0
}

/// The high bit of every byte of `word` that JSON escapes, and no other bit.
fn escape_bytes(word: u64) -> u64 {
    // Below 0x20: the low seven bits are under 0x20 and the high bit is clear.
    let control = !((word | HIGH_BITS) - 0x2020_2020_2020_2020) & !word & HIGH_BITS;
    control | bytes_equal_to(word, b'"') | bytes_equal_to(word, b'\\')
}

/// Appends `s` escaped for the inside of a JSON string literal.
fn write_json_string_body(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Most values need no escaping: one check, one copy.
    if !needs_escape(bytes) {
        out.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_intern_once_and_refuse_bad_names() {
        let a = FieldId::intern("source.ip").unwrap();
        assert_eq!(a, *fields::SOURCE_IP);
        assert_eq!(a.name(), "source.ip");
        assert!(FieldId::intern("bad name").is_err());
        assert!(FieldId::intern(".x").is_err());
        assert!(FieldId::intern("extra.tag").unwrap().is_extra());
    }

    #[test]
    fn intelmq_json_round_trips_with_kinds() {
        let line = r#"{"__type":"Event","source.ip":"198.51.100.7","source.port":53,"extra.min_amplification":4.619,"extra.flag":true,"extra.list":[1,"a"],"raw":"a\"b\\c\u0001"}"#;
        let event = read_intelmq_json(line).unwrap();
        assert_eq!(event.get(*fields::SOURCE_IP), Some("198.51.100.7"));
        assert_eq!(event.get_value(*fields::SOURCE_PORT).unwrap().kind, Kind::Integer);
        let mut out = Vec::new();
        event.write_intelmq_json(&mut out);
        let back: Value = serde_json::from_slice(&out).unwrap();
        let original: Value = serde_json::from_str(line).unwrap();
        assert_eq!(back, original);
        assert!(read_intelmq_json("[1]").is_err());
        assert!(read_intelmq_json("{").is_err());
    }

    #[test]
    fn plain_decimals_are_known_without_reading_them() {
        for ok in ["0.5", "-12.25", "27.9433"] {
            assert!(plain_json_decimal(ok) && is_json_scalar_or_doc(Kind::Float, ok), "{ok}");
        }
        for not_plain in ["1.", ".5", "01.5", "1e5", "-", "1.2.3", "NaN", ""] {
            assert!(!plain_json_decimal(not_plain), "{not_plain}");
        }
        assert!(is_json_scalar_or_doc(Kind::Float, "1e5"), "the full check still runs");
    }

    #[test]
    fn a_bad_number_is_written_as_text() {
        let mut e = Event::new();
        e.set_kind(*fields::SOURCE_PORT, Kind::Integer, "53x");
        e.set_kind(*fields::SOURCE_ASN, Kind::Float, "NaN");
        let json = e.to_json();
        assert_eq!(json["source.port"], "53x");
        assert_eq!(json["source.asn"], "NaN");
    }

    #[test]
    fn a_rendered_field_writes_what_a_plain_one_writes_at_any_length() {
        // Members of up to 64 bytes are copied as a padded block, longer ones as they are.
        for len in [0, 1, 30, 40, 44, 45, 46, 100, 300] {
            let text: String = "a\"é".chars().cycle().take(len).collect();
            let rendered = Rendered::new(*fields::SOURCE_FQDN, Kind::Text, &text);
            let (mut plain, mut with_rendered) = (Event::new(), Event::new());
            plain.set(*fields::SOURCE_FQDN, text.as_str());
            plain.set(*fields::SOURCE_PORT, "1");
            with_rendered.set_rendered(&rendered);
            with_rendered.set(*fields::SOURCE_PORT, "1");
            let (mut a, mut b) = (Vec::new(), Vec::new());
            plain.write_intelmq_json(&mut a);
            with_rendered.write_intelmq_json(&mut b);
            assert_eq!(String::from_utf8(b).unwrap(), String::from_utf8(a).unwrap(), "{len} characters");
        }
    }

    #[test]
    fn set_replaces_and_remove_removes() {
        let mut e = Event::new();
        e.set(*fields::FEED_NAME, "a");
        e.set(*fields::FEED_NAME, "b");
        assert_eq!((e.len(), e.get(*fields::FEED_NAME)), (1, Some("b")));
        assert!(e.remove(*fields::FEED_NAME).is_some());
        assert!(e.is_empty());
    }

    proptest::proptest! {
        #[test]
        fn escapes_are_found_in_every_place(text in "[a\"\\\\\u{1}\u{1f} \u{7f}é\n]{0,40}") {
            let naive = text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
            proptest::prop_assert_eq!(needs_escape(text.as_bytes()), naive, "{:?}", text);
            let mut out = Vec::new();
            write_json_string(&mut out, &text);
            proptest::prop_assert_eq!(serde_json::from_slice::<String>(&out).ok(), Some(text.clone()));
        }

        #[test]
        fn one_escape_anywhere_is_found(
            clean in "[a-z0-9é .-]{0,30}",
            at in 0usize..40,
            odd in proptest::sample::select(vec!['"', '\\', '\u{0}', '\u{1f}', '\n', 'x', '\u{7f}']),
        ) {
            let mut chars: Vec<char> = clean.chars().collect();
            chars.insert(at.min(chars.len()), odd);
            let text: String = chars.into_iter().collect();
            let naive = text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
            proptest::prop_assert_eq!(needs_escape(text.as_bytes()), naive, "{:?}", text);
            proptest::prop_assert_eq!(needs_escape(clean.as_bytes()), false);
        }
    }
}
