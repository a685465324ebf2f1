//! MISP events as STIX, and back. An event is a `report` (id from the event's uuid)
//! whose `object_refs` are its attributes; an attribute of a common type is an
//! `indicator` with a STIX pattern, any other an `x-misp-attribute` object. Every MISP
//! field is kept in `x_misp_*` properties, so an event read back is the event sent.
//! TLP tags become the standard TLP marking definitions.

use crate::stix::markings::marking_of;
use rampart_core::tlp::Tlp;
use serde_json::{json, Map, Value};

/// The MISP attribute types with a STIX pattern: (type, category by default, pattern's object path).
pub const TYPES: &[(&str, &str, &str)] = &[
    ("ip-src", "Network activity", "ipv4-addr:value"),
    ("ip-dst", "Network activity", "ipv4-addr:value"),
    ("domain", "Network activity", "domain-name:value"),
    ("hostname", "Network activity", "domain-name:value"),
    ("url", "Network activity", "url:value"),
    ("link", "External analysis", "url:value"),
    ("email", "Social network", "email-addr:value"),
    ("email-src", "Payload delivery", "email-addr:value"),
    ("email-dst", "Network activity", "email-addr:value"),
    ("md5", "Payload delivery", "file:hashes.MD5"),
    ("sha1", "Payload delivery", "file:hashes.'SHA-1'"),
    ("sha256", "Payload delivery", "file:hashes.'SHA-256'"),
    ("filename", "Payload delivery", "file:name"),
];

/// Further types stored as `x-misp-attribute` (kept, not matched).
pub const OTHER_TYPES: &[(&str, &str)] = &[
    ("text", "Other"),
    ("comment", "Other"),
    ("other", "Other"),
    ("vulnerability", "External analysis"),
    ("AS", "Network activity"),
    ("port", "Network activity"),
];

/// Why an event cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MispError(pub String);

fn text<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// Whether text is a uuid in its usual form (8-4-4-4-12 hexadecimal digits).
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36 && s.chars().enumerate().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
}

/// A MISP timestamp (seconds since 1970, as text or number) as STIX time.
fn stix_time(v: Option<&Value>, fallback: &str) -> String {
    let seconds = v.and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())));
    seconds
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| fallback.to_string())
}

fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

/// The pattern of an attribute of a common type.
pub fn pattern_for(misp_type: &str, value: &str) -> Option<String> {
    let (_, _, path) = TYPES.iter().find(|(t, _, _)| *t == misp_type)?;
    let path = if path.starts_with("ipv4-addr") && value.contains(':') { "ipv6-addr:value" } else { path };
    Some(format!("[{path} = '{}']", quote(value)))
}

/// The TLP of an event's tags (`tlp:amber`, `tlp:white`…), the strictest one.
pub fn tlp_of_tags(tags: &[String]) -> Option<Tlp> {
    tags.iter()
        .filter_map(|t| match t.to_ascii_lowercase().as_str() {
            "tlp:clear" | "tlp:white" => Some(Tlp::Clear),
            "tlp:green" => Some(Tlp::Green),
            "tlp:amber" => Some(Tlp::Amber),
            "tlp:amber+strict" => Some(Tlp::AmberStrict),
            "tlp:red" => Some(Tlp::Red),
            _ => None,
        })
        .max()
}

fn tag_names(v: &Value) -> Vec<String> {
    v.get("Tag").and_then(Value::as_array).into_iter().flatten().filter_map(|t| text(t, "name").map(str::to_string)).collect()
}

/// An event (`{"Event": {…}}` or the event itself) as STIX objects, report first. The
/// uuids of the event and its attributes are kept; missing ones are made from `fresh`.
pub fn event_to_stix(doc: &Value, now: &str, fresh: &mut dyn FnMut() -> String) -> Result<Vec<Value>, MispError> {
    let event = doc.get("Event").unwrap_or(doc);
    let info = text(event, "info").map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| MispError("an event needs an info".into()))?;
    let uuid = match text(event, "uuid") {
        Some(u) if is_uuid(u) => u.to_ascii_lowercase(),
        Some(u) => return Err(MispError(format!("{u:?} is not a uuid"))),
        None => fresh(),
    };
    let tags = tag_names(event);
    let marking = tlp_of_tags(&tags).map(marking_of);
    let modified = stix_time(event.get("timestamp"), now);
    let date = text(event, "date").filter(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok());
    let published = date.map(|d| format!("{d}T00:00:00.000Z")).unwrap_or_else(|| modified.clone());
    let mut objects = Vec::new();
    let mut refs = Vec::new();
    for (i, a) in event.get("Attribute").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let t = text(a, "type").ok_or_else(|| MispError(format!("attribute {i} has no type")))?;
        // MISP trims values as it saves them; an attribute without one is refused.
        let value = a
            .get("value")
            .and_then(|v| v.as_str().map(|s| s.trim().to_string()).or_else(|| (!v.is_null()).then(|| v.to_string())))
            .filter(|v| !v.is_empty())
            .ok_or_else(|| MispError(format!("attribute {i} has no value")))?;
        let a_uuid = match text(a, "uuid") {
            Some(u) if is_uuid(u) => u.to_ascii_lowercase(),
            Some(u) => return Err(MispError(format!("attribute {i}: {u:?} is not a uuid"))),
            None => fresh(),
        };
        let category = text(a, "category").map(str::to_string).or_else(|| {
            TYPES.iter().map(|(t, c, _)| (*t, *c)).chain(OTHER_TYPES.iter().copied()).find(|(x, _)| *x == t).map(|(_, c)| c.to_string())
        });
        let to_ids =
            a.get("to_ids").map(|v| v.as_bool().unwrap_or_else(|| v.as_str() == Some("1") || v.as_i64() == Some(1))).unwrap_or(false);
        let a_modified = stix_time(a.get("timestamp"), &modified);
        let mut o = Map::new();
        let id = match pattern_for(t, &value) {
            Some(pattern) => {
                let id = format!("indicator--{a_uuid}");
                o.insert("type".into(), json!("indicator"));
                o.insert("pattern".into(), json!(pattern));
                o.insert("pattern_type".into(), json!("stix"));
                o.insert("valid_from".into(), json!(a_modified));
                o.insert("name".into(), json!(value));
                id
            }
            None => {
                o.insert("type".into(), json!("x-misp-attribute"));
                format!("x-misp-attribute--{a_uuid}")
            }
        };
        o.insert("spec_version".into(), json!("2.1"));
        o.insert("id".into(), json!(id));
        o.insert("created".into(), json!(a_modified));
        o.insert("modified".into(), json!(a_modified));
        o.insert("x_misp_type".into(), json!(t));
        o.insert("x_misp_value".into(), json!(value));
        o.insert("x_misp_category".into(), json!(category.unwrap_or_else(|| "Other".into())));
        o.insert("x_misp_to_ids".into(), json!(to_ids));
        if let Some(c) = text(a, "comment").filter(|c| !c.is_empty()) {
            o.insert("x_misp_comment".into(), json!(c));
        }
        let a_tags = tag_names(a);
        if !a_tags.is_empty() {
            o.insert("labels".into(), json!(a_tags));
        }
        if let Some(m) = tlp_of_tags(&a_tags).map(marking_of).or(marking) {
            o.insert("object_marking_refs".into(), json!([m]));
        }
        refs.push(json!(id));
        objects.push(Value::Object(o));
    }
    let report_id = format!("report--{uuid}");
    if refs.is_empty() {
        // A report must name something; an event without attributes names itself.
        refs.push(json!(report_id));
    }
    let mut r = Map::new();
    r.insert("type".into(), json!("report"));
    r.insert("spec_version".into(), json!("2.1"));
    r.insert("id".into(), json!(report_id));
    r.insert("created".into(), json!(modified));
    r.insert("modified".into(), json!(modified));
    r.insert("name".into(), json!(info));
    r.insert("published".into(), json!(published));
    r.insert("object_refs".into(), Value::Array(refs));
    r.insert("report_types".into(), json!(["threat-report"]));
    if !tags.is_empty() {
        r.insert("labels".into(), json!(tags));
    }
    for (k, default) in [("threat_level_id", "4"), ("analysis", "0"), ("distribution", "1")] {
        let v =
            event.get(k).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).unwrap_or_else(|| default.to_string());
        r.insert(format!("x_misp_{k}"), json!(v));
    }
    if let Some(d) = date {
        r.insert("x_misp_date".into(), json!(d));
    }
    r.insert("x_misp_published".into(), json!(event.get("published").and_then(Value::as_bool).unwrap_or(false)));
    if let Some(m) = marking {
        r.insert("object_marking_refs".into(), json!([m]));
    }
    objects.insert(0, Value::Object(r));
    Ok(objects)
}

fn unix(stix: Option<&str>) -> String {
    stix.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).map(|t| t.timestamp().to_string()).unwrap_or_else(|| "0".into())
}

/// An attribute from its STIX object: what `x_misp_*` kept, else what the pattern says.
pub fn attribute_from_stix(o: &Value, id: i64, event_id: i64, event_uuid: &str) -> Value {
    let uuid = text(o, "id").and_then(|i| i.split_once("--")).map(|(_, u)| u.to_string()).unwrap_or_default();
    let (misp_type, value) = match (text(o, "x_misp_type"), text(o, "x_misp_value")) {
        (Some(t), Some(v)) => (t.to_string(), v.to_string()),
        _ => guess(text(o, "pattern").unwrap_or("")),
    };
    let category = text(o, "x_misp_category").unwrap_or("Other");
    let to_ids = o.get("x_misp_to_ids").and_then(Value::as_bool).unwrap_or(text(o, "type") == Some("indicator"));
    let tags: Vec<Value> =
        o.get("labels").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(|n| json!({"name": n})).collect();
    json!({
        "id": id.to_string(), "event_id": event_id.to_string(), "object_id": "0", "uuid": uuid, "type": misp_type, "category": category,
        "value": value, "to_ids": to_ids, "comment": text(o, "x_misp_comment").unwrap_or(""), "distribution": "5",
        "timestamp": unix(text(o, "modified")), "deleted": false, "disable_correlation": false, "Tag": tags,
        "Event": {"id": event_id.to_string(), "uuid": event_uuid},
    })
}

/// A MISP type and value from a single-comparison pattern of another producer.
fn guess(pattern: &str) -> (String, String) {
    let inner = pattern.trim().trim_start_matches('[').trim_end_matches(']');
    let Some((path, value)) = inner.split_once(" = ") else { return ("other".into(), pattern.into()) };
    let value = value.trim().trim_matches('\'').replace("\\'", "'").replace("\\\\", "\\");
    let t = TYPES.iter().find(|(_, _, p)| *p == path.trim()).map(|(t, _, _)| *t).unwrap_or(match path.trim() {
        "ipv6-addr:value" => "ip-dst",
        _ => "other",
    });
    (t.into(), value)
}

/// An event from its report and the objects it names.
pub fn event_from_stix(report: &Value, id: i64, org: (&str, &str), attributes: &[(i64, Value)]) -> Value {
    let uuid = text(report, "id").and_then(|i| i.split_once("--")).map(|(_, u)| u.to_string()).unwrap_or_default();
    let field = |k: &str, default: &str| text(report, &format!("x_misp_{k}")).unwrap_or(default).to_string();
    let date = text(report, "x_misp_date")
        .map(str::to_string)
        .unwrap_or_else(|| text(report, "published").unwrap_or("").chars().take(10).collect());
    let tags: Vec<Value> = report
        .get("labels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|n| json!({"name": n}))
        .collect();
    let attributes: Vec<Value> = attributes.iter().map(|(aid, o)| attribute_from_stix(o, *aid, id, &uuid)).collect();
    json!({
        "id": id.to_string(), "uuid": uuid, "info": text(report, "name").unwrap_or(""), "date": date,
        "threat_level_id": field("threat_level_id", "4"), "analysis": field("analysis", "0"), "distribution": field("distribution", "1"),
        "published": report.get("x_misp_published").and_then(Value::as_bool).unwrap_or(true),
        "timestamp": unix(text(report, "modified")), "publish_timestamp": unix(text(report, "published")),
        "org_id": org.0, "orgc_id": org.0, "Org": {"id": org.0, "name": org.1}, "Orgc": {"id": org.0, "name": org.1},
        "attribute_count": attributes.len().to_string(), "Attribute": attributes, "Tag": tags, "Object": [], "Galaxy": [], "RelatedEvent": [],
    })
}

/// What `describeTypes.json` answers: the types Rampart maps, by category.
pub fn describe_types() -> Value {
    let mut categories: Vec<&str> = TYPES.iter().map(|t| t.1).chain(OTHER_TYPES.iter().map(|t| t.1)).collect();
    categories.sort_unstable();
    categories.dedup();
    let types: Vec<&str> = TYPES.iter().map(|t| t.0).chain(OTHER_TYPES.iter().map(|t| t.0)).collect();
    let mut mappings = Map::new();
    for c in &categories {
        let of: Vec<&str> =
            TYPES.iter().filter(|t| t.1 == *c).map(|t| t.0).chain(OTHER_TYPES.iter().filter(|t| t.1 == *c).map(|t| t.0)).collect();
        mappings.insert(c.to_string(), json!(of));
    }
    let mut defaults = Map::new();
    for (t, c, _) in TYPES {
        defaults.insert(t.to_string(), json!({"default_category": c, "to_ids": 1}));
    }
    for (t, c) in OTHER_TYPES {
        defaults.insert(t.to_string(), json!({"default_category": c, "to_ids": 0}));
    }
    json!({"result": {"sane_defaults": defaults, "types": types, "categories": categories, "category_type_mappings": mappings}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_goes_to_stix_and_back() {
        let event = json!({"Event": {
            "uuid": "5e3a1c2d-0000-4000-8000-000000000001", "info": "Phishing wave", "date": "2026-11-30",
            "threat_level_id": "2", "analysis": "1", "distribution": "1", "timestamp": "1796000000",
            "Tag": [{"name": "tlp:amber"}, {"name": "type:OSINT"}],
            "Attribute": [
                {"uuid": "5e3a1c2d-0000-4000-8000-000000000002", "type": "ip-dst", "category": "Network activity", "value": "198.51.100.7", "to_ids": true, "comment": "C2"},
                {"uuid": "5e3a1c2d-0000-4000-8000-000000000003", "type": "text", "value": "it's a campaign", "to_ids": false},
                {"uuid": "5e3a1c2d-0000-4000-8000-000000000004", "type": "url", "value": "http://x.example/it's", "to_ids": "1"}
            ]
        }});
        let objects = event_to_stix(&event, "2026-11-30T00:00:00.000Z", &mut || unreachable!()).unwrap();
        assert_eq!(objects.len(), 4);
        assert_eq!(objects[0]["type"], "report");
        assert_eq!(objects[0]["object_marking_refs"][0], marking_of(Tlp::Amber));
        assert_eq!(objects[1]["pattern"], "[ipv4-addr:value = '198.51.100.7']");
        assert_eq!(objects[2]["type"], "x-misp-attribute");
        assert_eq!(objects[3]["pattern"], "[url:value = 'http://x.example/it\\'s']");
        for o in &objects {
            crate::stix::StixValidator::shipped().validate(o).unwrap_or_else(|e| panic!("{o}: {e}"));
        }
        let back = event_from_stix(
            &objects[0],
            7,
            ("1", "CERT"),
            &objects[1..].iter().enumerate().map(|(i, o)| (i as i64 + 10, o.clone())).collect::<Vec<_>>(),
        );
        assert_eq!(back["info"], "Phishing wave");
        assert_eq!(
            (back["threat_level_id"].clone(), back["analysis"].clone(), back["date"].clone()),
            (json!("2"), json!("1"), json!("2026-11-30"))
        );
        let attrs = back["Attribute"].as_array().unwrap();
        assert_eq!(attrs[0]["value"], "198.51.100.7");
        assert_eq!(attrs[0]["comment"], "C2");
        assert_eq!(attrs[1]["type"], "text");
        assert_eq!(attrs[1]["to_ids"], false);
        assert_eq!(attrs[2]["value"], "http://x.example/it's");
        assert_eq!(attrs[2]["to_ids"], true);
        assert_eq!(guess("[ipv6-addr:value = '2001:db8::1']"), ("ip-dst".to_string(), "2001:db8::1".to_string()));
        assert!(event_to_stix(&json!({"info": " "}), "x", &mut || "u".into()).is_err());
    }
}
