//! What a STIX object points at: relationships (source to target), sightings (to what
//! was sighted) and the contents of reports, groupings, notes and opinions.

use serde_json::Value;

/// (from, to, kind): `kind` is the relationship type, `sighting`, or `contains`.
pub fn references(object: &Value) -> Vec<(String, String, String)> {
    let text = |k: &str| object.get(k).and_then(Value::as_str);
    let Some(id) = text("id") else { return Vec::new() };
    match text("type") {
        Some("relationship") => match (text("source_ref"), text("target_ref")) {
            (Some(s), Some(t)) => vec![(s.to_string(), t.to_string(), text("relationship_type").unwrap_or("related-to").to_string())],
            _ => Vec::new(),
        },
        Some("sighting") => {
            text("sighting_of_ref").map(|t| vec![(id.to_string(), t.to_string(), "sighting".to_string())]).unwrap_or_default()
        }
        Some("report" | "grouping" | "note" | "opinion") => object
            .get("object_refs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .take(10_000)
            .map(|t| (id.to_string(), t.to_string(), "contains".to_string()))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn relationships_sightings_and_contents() {
        let r = json!({"type": "relationship", "id": "relationship--1", "relationship_type": "indicates", "source_ref": "indicator--a", "target_ref": "malware--b"});
        assert_eq!(references(&r), [("indicator--a".into(), "malware--b".into(), "indicates".into())]);
        let s = json!({"type": "sighting", "id": "sighting--1", "sighting_of_ref": "indicator--a", "count": 3});
        assert_eq!(references(&s), [("sighting--1".into(), "indicator--a".into(), "sighting".into())]);
        let rep = json!({"type": "report", "id": "report--1", "object_refs": ["indicator--a", "malware--b"]});
        assert_eq!(references(&rep).len(), 2);
        assert!(references(&json!({"type": "indicator", "id": "indicator--a"})).is_empty());
    }
}
