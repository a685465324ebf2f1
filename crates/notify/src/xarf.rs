//! X-ARF v4 abuse reports (<https://xarf.org>): one JSON report per event, for recipients
//! whose abuse desks process reports automatically. The event's RSIT/IntelMQ
//! classification decides the X-ARF category and type; each type's required fields come
//! from the event, and an event that lacks one is refused with the field named, rather
//! than sent as a report the recipient's validator would reject.

use crate::template::Event;
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// The X-ARF schema release the reports follow (the v4 samples' `xarf_version`).
pub const XARF_VERSION: &str = "4.2.0";

/// Who files the report: the CERT. Used for both `reporter` and `sender`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XarfReporter {
    pub org: String,
    pub contact: String,
    pub domain: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XarfError {
    #[error("cannot make an X-ARF {kind} report: the event has no {field}")]
    Missing { kind: String, field: &'static str },
    #[error("cannot make an X-ARF report: the event's {field} {value:?} is not {expected}")]
    Invalid { field: &'static str, value: String, expected: &'static str },
    #[error("the X-ARF reporter is not usable: {0}")]
    Reporter(String),
    #[error("an X-ARF report needs a report id")]
    ReportId,
}

/// The X-ARF category and type for an RSIT/IntelMQ `classification.type`. Anything
/// without a closer match is reported as threat intelligence about the source.
pub fn xarf_class(classification_type: &str) -> (&'static str, &'static str) {
    match classification_type.trim().to_ascii_lowercase().as_str() {
        "vulnerable-service" | "vulnerable-system" | "potentially-unwanted-accessible" | "ddos-amplifier" => {
            ("vulnerability", "open_service")
        }
        "infected-system" | "infected system" | "botnet drone" => ("infrastructure", "botnet"),
        "scanner" => ("connection", "port_scan"),
        "ddos" => ("connection", "ddos"),
        "brute-force" => ("connection", "login_attack"),
        "phishing" => ("content", "phishing"),
        "malware-distribution" => ("content", "malware"),
        "spam" => ("messaging", "spam"),
        "compromised" | "system-compromise" | "application-compromise" => ("infrastructure", "compromised_server"),
        "blacklist" | "blocklist" => ("reputation", "blocklist"),
        _ => ("reputation", "threat_intelligence"),
    }
}

/// Where the evidence comes from, as each type's schema allows it: the CERT forwards
/// what its feeds observed.
fn evidence_source(category: &str, xtype: &str) -> &'static str {
    match (category, xtype) {
        ("messaging", "spam") => "reputation_feed",
        ("connection", "ddos") => "traffic_monitoring",
        ("vulnerability", _) => "vulnerability_scan",
        _ => "threat_intelligence",
    }
}

/// Builds the X-ARF v4 report for one event. X-ARF wants a UUID as `report_id`; any
/// other id (such as `NTF-2026-000042-1`) is turned into one, the same every time, so a
/// resent report keeps its id.
pub fn xarf_report(event: &Event, reporter: &XarfReporter, report_id: &str) -> Result<Value, XarfError> {
    check_reporter(reporter)?;
    let id = report_uuid(report_id)?;
    let classification = event.get("classification.type").unwrap_or("");
    let (category, xtype) = xarf_class(classification);
    let kind = format!("{category}/{xtype}");
    let missing = |field: &'static str| XarfError::Missing { kind: kind.clone(), field };

    let ip_text = event.get("source.ip").ok_or_else(|| missing("source.ip"))?;
    let ip: IpAddr = ip_text.trim().parse().map_err(|_| invalid("source.ip", ip_text, "an IP address"))?;
    let source_port = port(event, "source.port")?;
    let time_text = event.get("time.source").or_else(|| event.get("time.observation")).ok_or_else(|| missing("time.source"))?;
    let when = parse_time(time_text).ok_or_else(|| invalid("time.source", time_text, "a date and time (RFC 3339)"))?;
    let timestamp = when.to_rfc3339_opts(SecondsFormat::Secs, true);

    let contact = json!({ "org": reporter.org.trim(), "contact": bare_address(&reporter.contact), "domain": reporter.domain.trim() });
    let mut r = Map::new();
    r.insert("xarf_version".into(), XARF_VERSION.into());
    r.insert("report_id".into(), id.hyphenated().to_string().into());
    r.insert("timestamp".into(), timestamp.clone().into());
    r.insert("reporter".into(), contact.clone());
    r.insert("sender".into(), contact);
    r.insert("source_identifier".into(), ip.to_string().into());
    if let Some(p) = source_port {
        r.insert("source_port".into(), p.into());
    }
    r.insert("category".into(), category.into());
    r.insert("type".into(), xtype.into());
    r.insert("evidence_source".into(), evidence_source(category, xtype).into());
    r.insert("description".into(), description(event, classification, ip, source_port, &timestamp).into());

    match (category, xtype) {
        ("vulnerability", "open_service") => {
            let service = event.get("protocol.application").or_else(|| event.get("classification.identifier")).unwrap_or("unknown");
            r.insert("service".into(), clip(service, 200).into());
            if let Some(p) = source_port {
                r.insert("service_port".into(), p.into());
            }
        }
        ("infrastructure", "botnet") => {
            let family = event.get("malware.name").or_else(|| event.get("classification.identifier"));
            let c2 = event.get("destination.fqdn").or_else(|| event.get("destination.ip"));
            let mut evidence = format!("Reported as infected by {} at {timestamp}", data_source(event));
            if let Some(family) = family {
                evidence.push_str(&format!("; malware family {family}"));
                r.insert("malware_family".into(), clip(family, 200).into());
            }
            if let Some(c2) = c2 {
                evidence.push_str(&format!("; connection to {c2} observed"));
                r.insert("c2_server".into(), c2.trim().into());
            }
            r.insert("compromise_evidence".into(), evidence.into());
        }
        ("connection", _) => {
            let protocol = event.get("protocol.transport").ok_or_else(|| missing("protocol.transport"))?.trim().to_ascii_lowercase();
            if !matches!(protocol.as_str(), "tcp" | "udp" | "icmp" | "sctp") {
                return Err(invalid("protocol.transport", &protocol, "one of tcp, udp, icmp, sctp"));
            }
            // The schemas require the source port whenever the source is an IP address,
            // because behind carrier-grade NAT the address alone names no one.
            if source_port.is_none() {
                return Err(missing("source.port"));
            }
            r.insert("protocol".into(), protocol.into());
            r.insert("first_seen".into(), timestamp.clone().into());
            if let Some(dst) = event.get("destination.ip").and_then(|v| v.trim().parse::<IpAddr>().ok()) {
                r.insert("destination_ip".into(), dst.to_string().into());
            }
            if let Some(p) = port(event, "destination.port")? {
                r.insert("destination_port".into(), p.into());
            }
            if xtype == "login_attack" {
                if let Some(service) = event.get("protocol.application") {
                    r.insert("service".into(), clip(service, 200).into());
                }
            }
        }
        ("content", _) => {
            let url = event.get("source.url").ok_or_else(|| missing("source.url"))?.trim();
            if !url.contains("://") || url.chars().any(char::is_whitespace) {
                return Err(invalid("source.url", url, "a URL"));
            }
            r.insert("url".into(), url.into());
            if let Some(family) = event.get("malware.name").filter(|_| xtype == "malware") {
                r.insert("malware_family".into(), clip(family, 200).into());
            }
        }
        ("messaging", "spam") => {
            let sender = ["extra.smtp_from", "extra.mail_from", "source.account"]
                .iter()
                .filter_map(|f| event.get(f))
                .map(str::trim)
                .find(|a| looks_like_email(a))
                .ok_or_else(|| missing("extra.smtp_from (the envelope sender)"))?;
            if source_port.is_none() {
                return Err(missing("source.port"));
            }
            r.insert("protocol".into(), "smtp".into());
            r.insert("smtp_from".into(), sender.into());
        }
        ("infrastructure", "compromised_server") => {
            let method = event.get("extra.compromise_method").or_else(|| event.get("classification.identifier")).unwrap_or("unknown");
            r.insert("compromise_method".into(), clip(method, 200).into());
            if let Some(service) = event.get("protocol.application") {
                r.insert("service".into(), clip(service, 200).into());
            }
        }
        _ => {
            // Reputation: blocklist or threat intelligence.
            let threat = match classification.trim() {
                "c2-server" => "command_and_control",
                "" => event.get("classification.taxonomy").unwrap_or("unknown"),
                other => other,
            };
            r.insert("threat_type".into(), clip(threat, 200).into());
        }
    }

    let tags = tags(event);
    if !tags.is_empty() {
        r.insert("tags".into(), tags.into());
    }
    if let Some(evidence) = evidence(event) {
        r.insert("evidence".into(), Value::Array(vec![evidence]));
    }
    Ok(Value::Object(r))
}

/// The report id as a UUID: itself when it is one, else a version-8 (custom) UUID made
/// from its SHA-256.
fn report_uuid(report_id: &str) -> Result<uuid::Uuid, XarfError> {
    let report_id = report_id.trim();
    if report_id.is_empty() {
        return Err(XarfError::ReportId);
    }
    if let Ok(id) = uuid::Uuid::parse_str(report_id) {
        return Ok(id);
    }
    let digest = Sha256::digest(report_id.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Ok(uuid::Uuid::from_bytes(bytes))
}

fn invalid(field: &'static str, value: &str, expected: &'static str) -> XarfError {
    XarfError::Invalid { field, value: value.to_string(), expected }
}

fn check_reporter(reporter: &XarfReporter) -> Result<(), XarfError> {
    let org = reporter.org.trim();
    if org.is_empty() || org.chars().count() > 200 {
        return Err(XarfError::Reporter("the organisation name must have 1 to 200 characters".into()));
    }
    if !looks_like_email(bare_address(&reporter.contact)) {
        return Err(XarfError::Reporter(format!("the contact {:?} is not an e-mail address", reporter.contact)));
    }
    if !looks_like_hostname(reporter.domain.trim()) {
        return Err(XarfError::Reporter(format!("the domain {:?} is not a domain name", reporter.domain)));
    }
    Ok(())
}

/// `cert@example.tw` from `Example CERT <cert@example.tw>`; X-ARF wants the address only.
fn bare_address(contact: &str) -> &str {
    let contact = contact.trim();
    match (contact.rfind('<'), contact.strip_suffix('>')) {
        (Some(open), Some(rest)) if open < rest.len() => rest[open + 1..].trim(),
        _ => contact,
    }
}

fn looks_like_email(a: &str) -> bool {
    match a.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !a.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | '"'))
                && looks_like_hostname(domain)
        }
        None => false,
    }
}

fn looks_like_hostname(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn port(event: &Event, field: &'static str) -> Result<Option<u16>, XarfError> {
    match event.get(field) {
        None => Ok(None),
        Some(text) => match text.trim().parse::<u16>() {
            Ok(p) if p > 0 => Ok(Some(p)),
            _ => Err(invalid(field, text, "a port number from 1 to 65535")),
        },
    }
}

/// Reads an event time: RFC 3339, or without an offset (taken as UTC).
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|t| t.and_utc())
}

fn data_source(event: &Event) -> String {
    match event.get("feed.name") {
        Some(feed) => format!("the data feed \"{}\"", feed.trim()),
        None => "a data feed".to_string(),
    }
}

fn description(event: &Event, classification: &str, ip: IpAddr, port: Option<u16>, timestamp: &str) -> String {
    let what = if classification.trim().is_empty() { "Abuse" } else { classification.trim() };
    let source = match (ip, port) {
        (IpAddr::V6(ip), Some(p)) => format!("[{ip}]:{p}"),
        (ip, Some(p)) => format!("{ip}:{p}"),
        (ip, None) => ip.to_string(),
    };
    let mut text = format!("{what} reported for {source} at {timestamp} by {}", data_source(event));
    if let Some(tag) = event.get("extra.tag").or_else(|| event.get("classification.identifier")) {
        text.push_str(&format!(" ({})", tag.trim()));
    }
    text.push('.');
    clip(&text, 1000)
}

/// At most `max` characters, control characters replaced.
fn clip(text: &str, max: usize) -> String {
    text.trim().chars().map(|c| if c.is_control() { ' ' } else { c }).take(max).collect()
}

/// Namespaced tags (`namespace:value`, lowercase) from the classification and feed.
fn tags(event: &Event) -> Vec<Value> {
    let sources = [
        ("taxonomy", "classification.taxonomy"),
        ("classification", "classification.type"),
        ("malware", "malware.name"),
        ("feed", "feed.name"),
    ];
    sources
        .iter()
        .filter_map(|(namespace, field)| {
            let value = tag_value(event.get(field)?);
            (!value.is_empty()).then(|| Value::String(format!("{namespace}:{value}")))
        })
        .collect()
}

/// Lowercase, with every character outside `[a-z0-9_+-]` replaced by `-`, starting with a letter or digit.
fn tag_value(text: &str) -> String {
    let mapped: String = text
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '+' | '-') { c } else { '-' })
        .collect();
    mapped.trim_start_matches(|c: char| !c.is_ascii_alphanumeric()).chars().take(64).collect()
}

/// The event itself, as JSON, so the recipient has every field the feed gave.
fn evidence(event: &Event) -> Option<Value> {
    let payload = serde_json::to_vec(&event.0).ok()?;
    if payload.len() > 5 * 1024 * 1024 {
        return None;
    }
    let hash = data_encoding::HEXLOWER.encode(&Sha256::digest(&payload));
    Some(json!({
        "content_type": "application/json",
        "description": "The event as the data feed reported it",
        "payload": data_encoding::BASE64.encode(&payload),
        "hash": format!("sha256:{hash}"),
        "size": payload.len(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn schemas() -> std::path::PathBuf {
        rampart_core::testdata::path("xarf/xarf-spec/schemas/v4")
    }
    fn samples() -> std::path::PathBuf {
        rampart_core::testdata::path("xarf/xarf-spec/samples/v4")
    }
    const ID: &str = "0195a3c2-7d4e-7b21-9c33-1f2e3d4c5b6a";

    fn reporter() -> XarfReporter {
        XarfReporter { org: "Example CERT".into(), contact: "cert@cert.example.tw".into(), domain: "cert.example.tw".into() }
    }

    fn event(classification: &str) -> Event {
        [
            ("classification.taxonomy", "vulnerable"),
            ("classification.type", classification),
            ("classification.identifier", "accessible-rdp"),
            ("source.ip", "192.0.2.10"),
            ("source.port", "3389"),
            ("source.url", "http://login.bank.example.net/verify"),
            ("source.account", "billing@spam.example.net"),
            ("destination.ip", "203.0.113.5"),
            ("destination.port", "22"),
            ("protocol.transport", "tcp"),
            ("protocol.application", "rdp"),
            ("malware.name", "mirai"),
            ("time.source", "2026-03-01T10:00:00+00:00"),
            ("feed.name", "Shadowserver Accessible RDP"),
            ("extra.tag", "rdp"),
        ]
        .into_iter()
        .collect()
    }

    fn load(path: &Path) -> Value {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
    }

    /// The schema file of a category/type; some files spell the type with `-`, some with `_`.
    fn type_schema(category: &str, xtype: &str) -> PathBuf {
        let dir = schemas().join("types");
        let dashed = dir.join(format!("{category}-{}.json", xtype.replace('_', "-")));
        if dashed.exists() {
            dashed
        } else {
            dir.join(format!("{category}-{xtype}.json"))
        }
    }

    /// Does an `if` of the schemas hold? They test `const` values and IP-address formats.
    fn condition_holds(condition: &Value, value: &Value) -> bool {
        let Some(properties) = condition.get("properties").and_then(Value::as_object) else { return true };
        properties.iter().all(|(name, schema)| match value.get(name) {
            None => true,
            Some(v) => {
                if let Some(c) = schema.get("const") {
                    return v == c;
                }
                match schema.get("anyOf").and_then(Value::as_array) {
                    Some(alternatives) => alternatives.iter().any(|alt| match alt.get("format").and_then(Value::as_str) {
                        Some("ipv4") => v.as_str().is_some_and(|s| s.parse::<std::net::Ipv4Addr>().is_ok()),
                        Some("ipv6") => v.as_str().is_some_and(|s| s.parse::<std::net::Ipv6Addr>().is_ok()),
                        _ => true,
                    }),
                    None => true,
                }
            }
        })
    }

    /// A small JSON Schema check, enough for the X-ARF schemas: `$ref` (to other files and
    /// within one), `allOf`, `if`/`then`, `required`, `const`, `enum`, `type`, bounds,
    /// `maxLength`, `properties`, `items`, `additionalProperties: false` and the formats
    /// date-time, email and uuid.
    fn check(schema: &Value, doc: &Value, dir: &Path, value: &Value, at: &str, problems: &mut Vec<String>) {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            if let Some(pointer) = reference.strip_prefix('#') {
                let target = doc.pointer(pointer).unwrap_or_else(|| panic!("unresolved $ref {reference}"));
                check(target, doc, dir, value, at, problems);
            } else {
                let path = dir.join(reference);
                let other = load(&path);
                let other_dir = path.parent().unwrap().to_path_buf();
                check(&other, &other, &other_dir, value, at, problems);
            }
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for sub in all {
                check(sub, doc, dir, value, at, problems);
            }
        }
        if let (Some(condition), Some(then)) = (schema.get("if"), schema.get("then")) {
            if condition_holds(condition, value) {
                check(then, doc, dir, value, at, problems);
            }
        }
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if value.get(name).is_none() {
                    problems.push(format!("{at}: required property {name} is missing"));
                }
            }
        }
        if let Some(c) = schema.get("const") {
            if value != c {
                problems.push(format!("{at}: {value} is not {c}"));
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            if !allowed.contains(value) {
                problems.push(format!("{at}: {value} is not one of {allowed:?}"));
            }
        }
        if let Some(t) = schema.get("type").and_then(Value::as_str) {
            let ok = match t {
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "object" => value.is_object(),
                "array" => value.is_array(),
                "boolean" => value.is_boolean(),
                _ => true,
            };
            if !ok {
                problems.push(format!("{at}: {value} is not of type {t}"));
            }
        }
        if let (Some(max), Some(s)) = (schema.get("maxLength").and_then(Value::as_u64), value.as_str()) {
            if s.chars().count() as u64 > max {
                problems.push(format!("{at}: longer than {max} characters"));
            }
        }
        if let Some(n) = value.as_f64() {
            if schema.get("minimum").and_then(Value::as_f64).is_some_and(|min| n < min) {
                problems.push(format!("{at}: {n} is below the minimum"));
            }
            if schema.get("maximum").and_then(Value::as_f64).is_some_and(|max| n > max) {
                problems.push(format!("{at}: {n} is above the maximum"));
            }
        }
        if let (Some(format), Some(s)) = (schema.get("format").and_then(Value::as_str), value.as_str()) {
            let ok = match format {
                "date-time" => DateTime::parse_from_rfc3339(s).is_ok(),
                "email" => looks_like_email(s),
                "uuid" => uuid::Uuid::parse_str(s).is_ok(),
                _ => true,
            };
            if !ok {
                problems.push(format!("{at}: {s:?} is not a valid {format}"));
            }
        }
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, sub) in properties {
                if let Some(v) = value.get(name) {
                    check(sub, doc, dir, v, &format!("{at}.{name}"), problems);
                }
            }
            if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
                if let Some(object) = value.as_object() {
                    for name in object.keys().filter(|k| !properties.contains_key(*k)) {
                        problems.push(format!("{at}: property {name} is not allowed"));
                    }
                }
            }
        }
        if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
            for (i, v) in array.iter().enumerate() {
                check(items, doc, dir, v, &format!("{at}[{i}]"), problems);
            }
        }
    }

    fn problems(report: &Value) -> Vec<String> {
        let category = report["category"].as_str().unwrap();
        let xtype = report["type"].as_str().unwrap();
        let path = type_schema(category, xtype);
        let schema = load(&path);
        let mut problems = Vec::new();
        check(&schema, &schema, path.parent().unwrap(), report, "report", &mut problems);
        let core_path = schemas().join("xarf-core.json");
        let core = load(&core_path);
        check(&core, &core, &schemas(), report, "report", &mut problems);
        problems
    }

    #[test]
    fn the_schema_check_accepts_the_spec_samples() {
        let mut checked = 0;
        for entry in std::fs::read_dir(samples()).unwrap() {
            let sample = load(&entry.unwrap().path());
            let found = problems(&sample);
            assert!(found.is_empty(), "sample {} {}: {found:?}", sample["category"], sample["type"]);
            checked += 1;
        }
        assert!(checked >= 30, "only {checked} samples");
    }

    #[test]
    fn every_mapped_type_meets_its_schema() {
        let mapped = [
            ("vulnerable-service", "vulnerability", "open_service"),
            ("infected-system", "infrastructure", "botnet"),
            ("scanner", "connection", "port_scan"),
            ("ddos", "connection", "ddos"),
            ("phishing", "content", "phishing"),
            ("brute-force", "connection", "login_attack"),
            ("spam", "messaging", "spam"),
            ("malware-distribution", "content", "malware"),
            ("compromised", "infrastructure", "compromised_server"),
            ("blacklist", "reputation", "blocklist"),
            ("c2-server", "reputation", "threat_intelligence"),
            ("exploit", "reputation", "threat_intelligence"),
            ("something-new", "reputation", "threat_intelligence"),
        ];
        for (classification, category, xtype) in mapped {
            assert_eq!(xarf_class(classification), (category, xtype));
            let report = xarf_report(&event(classification), &reporter(), ID).unwrap_or_else(|e| panic!("{classification}: {e}"));
            assert!(type_schema(category, xtype).exists(), "{category}/{xtype} has no schema file");
            let found = problems(&report);
            assert!(found.is_empty(), "{classification}: {found:?}\n{report:#}");
            assert_eq!(report["xarf_version"], XARF_VERSION);
            assert_eq!(report["report_id"], ID);
            assert_eq!(report["timestamp"], "2026-03-01T10:00:00Z");
            assert_eq!(report["source_identifier"], "192.0.2.10");
            assert_eq!(report["source_port"], 3389);
            assert_eq!(report["reporter"], report["sender"]);
        }
        let c2 = xarf_report(&event("c2-server"), &reporter(), ID).unwrap();
        assert_eq!(c2["threat_type"], "command_and_control");
        let rdp = xarf_report(&event("vulnerable-service"), &reporter(), ID).unwrap();
        assert_eq!(rdp["service"], "rdp");
        assert_eq!(rdp["tags"][0], "taxonomy:vulnerable");
        let payload = data_encoding::BASE64.decode(rdp["evidence"][0]["payload"].as_str().unwrap().as_bytes()).unwrap();
        let back: Event = serde_json::from_slice(&payload).unwrap();
        assert_eq!(back, event("vulnerable-service"));
    }

    #[test]
    fn what_a_type_needs_is_named_when_missing() {
        let mut e = event("scanner");
        e.0.remove("source.port");
        let err = xarf_report(&e, &reporter(), ID).unwrap_err();
        assert_eq!(err.to_string(), "cannot make an X-ARF connection/port_scan report: the event has no source.port");
        let mut e = event("phishing");
        e.0.remove("source.url");
        assert!(xarf_report(&e, &reporter(), ID).unwrap_err().to_string().contains("source.url"));
        let mut e = event("spam");
        e.0.remove("source.account");
        assert!(xarf_report(&e, &reporter(), ID).unwrap_err().to_string().contains("envelope sender"));
        let mut e = event("infected-system");
        e.0.remove("source.ip");
        assert!(xarf_report(&e, &reporter(), ID).unwrap_err().to_string().contains("source.ip"));
        let mut e = event("scanner");
        e.0.insert("source.ip".into(), "not-an-ip".into());
        assert!(matches!(xarf_report(&e, &reporter(), ID), Err(XarfError::Invalid { field: "source.ip", .. })));
        let mut e = event("scanner");
        e.0.insert("source.port".into(), "70000".into());
        assert!(matches!(xarf_report(&e, &reporter(), ID), Err(XarfError::Invalid { field: "source.port", .. })));

        assert!(matches!(xarf_report(&event("scanner"), &reporter(), " "), Err(XarfError::ReportId)));
        let named = XarfReporter { contact: "Example CERT <cert@cert.example.tw>".into(), ..reporter() };
        assert_eq!(xarf_report(&event("scanner"), &named, ID).unwrap()["reporter"]["contact"], "cert@cert.example.tw");
        let bad = XarfReporter { contact: "nobody".into(), ..reporter() };
        assert!(matches!(xarf_report(&event("scanner"), &bad, ID), Err(XarfError::Reporter(_))));
    }

    #[test]
    fn report_ids_become_uuids() {
        let first = xarf_report(&event("scanner"), &reporter(), "NTF-2026-000042-1").unwrap();
        let again = xarf_report(&event("scanner"), &reporter(), "NTF-2026-000042-1").unwrap();
        let other = xarf_report(&event("scanner"), &reporter(), "NTF-2026-000042-2").unwrap();
        let id = first["report_id"].as_str().unwrap();
        assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 8);
        assert_eq!(first["report_id"], again["report_id"]);
        assert_ne!(first["report_id"], other["report_id"]);
        assert!(problems(&first).is_empty());
    }

    #[test]
    fn times_without_an_offset_are_utc() {
        assert_eq!(parse_time("2026-03-01 10:00:00").unwrap().to_rfc3339(), "2026-03-01T10:00:00+00:00");
        assert_eq!(parse_time("2026-03-01T18:00:00+08:00").unwrap().to_rfc3339(), "2026-03-01T10:00:00+00:00");
        assert!(parse_time("yesterday").is_none());
        assert_eq!(tag_value("Shadowserver Accessible RDP"), "shadowserver-accessible-rdp");
        assert_eq!(tag_value("--Mirai"), "mirai");
    }
}
