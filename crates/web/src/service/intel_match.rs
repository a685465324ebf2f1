//! Matching logs and observables against the active indicators the caller may see:
//! published, newest version, STIX patterns, not revoked or expired, and not made only
//! of values on the warninglists.

use super::intel::visible;
use super::ServiceResult;
use chrono::{DateTime, Utc};
use rampart_core::observables::{self, ObservableKind};
use rampart_core::policy::Caller;
use rampart_core::tlp::Tlp;
use rampart_intel::matcher::{Compiled, Matcher};
use rampart_intel::pattern::{Anchor, Observation, Pattern};
use rampart_intel::warninglist::WarninglistSet;
use rampart_store::Store;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// An indicator as a hit names it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IndicatorRef {
    pub id: String,
    pub name: String,
    pub pattern: String,
    pub tlp: Tlp,
}

/// What loading the indicators found.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct LoadReport {
    /// Indicators compiled into the matcher.
    pub indicators: usize,
    /// Of those, patterns no value pins down (tried on every observation).
    pub unanchored: usize,
    /// Not STIX patterns (Sigma, YARA, …): not matched here.
    pub other_pattern_types: usize,
    pub revoked_or_expired: usize,
    /// Every value they look for is on a warninglist.
    pub warninglisted: usize,
    /// (indicator id, why its pattern does not compile), the first 20.
    pub invalid: Vec<(String, String)>,
}

/// Builds the matcher from the store, as the caller is allowed to see it.
pub async fn load(
    store: &dyn Store,
    caller: &Caller,
    warninglists: Option<&WarninglistSet>,
    now: DateTime<Utc>,
) -> ServiceResult<(Matcher<IndicatorRef>, LoadReport)> {
    let mut report = LoadReport::default();
    let mut compiled = Vec::new();
    super::intel::for_each_latest(store, Some("indicator"), |row, body| {
        if !visible(caller, &row) {
            return;
        }
        if body.get("pattern_type").and_then(Value::as_str).is_some_and(|t| t != "stix") {
            report.other_pattern_types += 1;
            return;
        }
        let ended =
            body.get("valid_until").and_then(Value::as_str).and_then(|t| DateTime::parse_from_rfc3339(t).ok()).is_some_and(|t| t <= now);
        if ended || body.get("revoked").and_then(Value::as_bool) == Some(true) {
            report.revoked_or_expired += 1;
            return;
        }
        let text = body.get("pattern").and_then(Value::as_str).unwrap_or("");
        let pattern = match Pattern::parse(text) {
            Ok(p) => p,
            Err(e) => {
                if report.invalid.len() < 20 {
                    report.invalid.push((row.stix_id.clone(), e.to_string()));
                }
                return;
            }
        };
        if let (Some(lists), Some(anchors)) = (warninglists, pattern.anchors()) {
            if !anchors.is_empty() && anchors.iter().all(|a| warninglisted(lists, a)) {
                report.warninglisted += 1;
                return;
            }
        }
        let name = body.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        compiled.push(Compiled { item: IndicatorRef { id: row.stix_id, name, pattern: text.to_string(), tlp: row.tlp }, pattern });
    })
    .await?;
    let matcher = Matcher::build(compiled);
    report.indicators = matcher.len();
    report.unanchored = matcher.unanchored();
    Ok((matcher, report))
}

/// The warninglists that hold a value an indicator looks for: the flag shown with it.
pub fn warninglists_of(lists: &WarninglistSet, body: &Value) -> Vec<String> {
    if body.get("type").and_then(Value::as_str) != Some("indicator") {
        return Vec::new();
    }
    let anchors =
        body.get("pattern").and_then(Value::as_str).and_then(|p| Pattern::parse(p).ok()).and_then(|p| p.anchors()).unwrap_or_default();
    let mut names: Vec<String> = anchors
        .iter()
        .filter_map(|a| {
            let (misp_type, value) = misp_type_of(a)?;
            Some(lists.check(misp_type, value).into_iter().map(|h| h.list.to_string()).collect::<Vec<_>>())
        })
        .flatten()
        .collect();
    names.sort();
    names.dedup();
    names
}

fn misp_type_of(anchor: &Anchor) -> Option<(&'static str, &str)> {
    let (object_type, path, value) = match anchor {
        Anchor::Equals { object_type, path, value } => (object_type.as_str(), path.as_str(), value.as_str()),
        Anchor::InNetwork { object_type, path, network } => (object_type.as_str(), path.as_str(), network.as_str()),
    };
    let misp_type = match (object_type, path) {
        ("ipv4-addr" | "ipv6-addr", "value") => "ip-dst",
        ("domain-name", "value") => "domain",
        ("url", "value") => "url",
        ("email-addr", "value") => "email-dst",
        ("file", "hashes.MD5") => "md5",
        ("file", "hashes.SHA-1") => "sha1",
        ("file", "hashes.SHA-256") => "sha256",
        _ => return None,
    };
    Some((misp_type, value))
}

/// Whether a value an indicator looks for is on a warninglist (MISP's attribute types).
pub fn warninglisted(lists: &WarninglistSet, anchor: &Anchor) -> bool {
    misp_type_of(anchor).is_some_and(|(misp_type, value)| lists.is_listed(misp_type, value))
}

/// How input is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Free text (logs): the addresses, domains, URLs, e-mail addresses and hashes in each line.
    Lines,
    /// IntelMQ events, one JSON object per line.
    IntelMq,
    /// CSV: each row's cells, read as text.
    Csv,
    /// STIX: observed-data (with `objects`), a bundle, or SCOs, one JSON document per line.
    Stix,
}

impl std::str::FromStr for InputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "lines" => Ok(InputFormat::Lines),
            "intelmq" => Ok(InputFormat::IntelMq),
            "csv" => Ok(InputFormat::Csv),
            "stix" => Ok(InputFormat::Stix),
            other => Err(format!("{other:?}: the formats are lines, intelmq, csv and stix")),
        }
    }
}

fn observation(objects: Vec<Value>, at: DateTime<Utc>) -> Observation {
    Observation {
        first_observed: at,
        last_observed: at,
        objects: objects.into_iter().enumerate().map(|(i, o)| (i.to_string(), o)).collect(),
    }
}

/// The SCOs of the observables found in text.
pub fn scos_in_text(text: &str) -> Vec<Value> {
    observables::extract(text)
        .into_iter()
        .filter_map(|o| {
            Some(match o.kind {
                ObservableKind::Ipv4 => json!({"type": "ipv4-addr", "value": o.value}),
                ObservableKind::Ipv6 => json!({"type": "ipv6-addr", "value": o.value}),
                ObservableKind::Domain => json!({"type": "domain-name", "value": o.value}),
                ObservableKind::Url => json!({"type": "url", "value": o.value}),
                ObservableKind::Email => json!({"type": "email-addr", "value": o.value}),
                ObservableKind::Md5 => json!({"type": "file", "hashes": {"MD5": o.value}}),
                ObservableKind::Sha1 => json!({"type": "file", "hashes": {"SHA-1": o.value}}),
                ObservableKind::Sha256 => json!({"type": "file", "hashes": {"SHA-256": o.value}}),
                ObservableKind::Cve => return None,
            })
        })
        .collect()
}

/// The SCOs of an IntelMQ event's addresses, names, URLs and hashes.
fn scos_in_intelmq(event: &Map<String, Value>) -> Vec<Value> {
    let mut out = Vec::new();
    let text = |k: &str| event.get(k).and_then(Value::as_str);
    for side in ["source", "destination"] {
        if let Some(ip) = text(&format!("{side}.ip")) {
            let kind = if ip.contains(':') { "ipv6-addr" } else { "ipv4-addr" };
            out.push(json!({"type": kind, "value": ip}));
        }
        if let Some(fqdn) = text(&format!("{side}.fqdn")) {
            out.push(json!({"type": "domain-name", "value": fqdn.to_ascii_lowercase()}));
        }
        if let Some(url) = text(&format!("{side}.url")) {
            out.push(json!({"type": "url", "value": url}));
        }
    }
    for (key, name) in [("malware.hash.md5", "MD5"), ("malware.hash.sha1", "SHA-1"), ("malware.hash.sha256", "SHA-256")] {
        if let Some(h) = text(key) {
            out.push(json!({"type": "file", "hashes": {name: h.to_ascii_lowercase()}}));
        }
    }
    out
}

/// One line of input as an observation; `Err` says why the line is unreadable.
pub fn read_line(format: InputFormat, line: &str, now: DateTime<Utc>) -> Result<Option<Observation>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(match format {
        InputFormat::Lines | InputFormat::Csv => observation(scos_in_text(line), now),
        InputFormat::IntelMq => {
            let event: Map<String, Value> = serde_json::from_str(line).map_err(|e| format!("not an IntelMQ JSON event: {e}"))?;
            let at = event
                .get("time.source")
                .and_then(Value::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(now);
            observation(scos_in_intelmq(&event), at)
        }
        InputFormat::Stix => stix_observation(&serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?, now)?,
    }))
}

fn stix_observation(doc: &Value, now: DateTime<Utc>) -> Result<Observation, String> {
    let time =
        |k: &str| doc.get(k).and_then(Value::as_str).and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc));
    match doc.get("type").and_then(Value::as_str) {
        Some("observed-data") => {
            let objects =
                doc.get("objects").and_then(Value::as_object).ok_or("observed-data without objects (send the SCOs in a bundle instead)")?;
            Ok(Observation {
                first_observed: time("first_observed").unwrap_or(now),
                last_observed: time("last_observed").unwrap_or(now),
                objects: objects.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            })
        }
        Some("bundle") => {
            let objects = doc.get("objects").and_then(Value::as_array).ok_or("a bundle without objects")?;
            Ok(keyed_by_id(objects, now))
        }
        Some(_) => Ok(keyed_by_id(std::slice::from_ref(doc), now)),
        None => match doc.as_array() {
            Some(list) => Ok(keyed_by_id(list, now)),
            None => Err("expected observed-data, a bundle, an SCO or a list of SCOs".into()),
        },
    }
}

fn keyed_by_id(objects: &[Value], now: DateTime<Utc>) -> Observation {
    let keyed = objects
        .iter()
        .enumerate()
        .map(|(i, o)| (o.get("id").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| i.to_string()), o.clone()));
    Observation { first_observed: now, last_observed: now, objects: keyed.collect() }
}
