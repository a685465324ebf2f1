//! What a store needs to know of a STIX object without keeping its schema in mind: its
//! id, type and version. Versions are compared as instants, so `…00Z` and `…00.000Z`
//! are the same version.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

/// An object's identity and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub id: String,
    pub kind: String,
    pub spec_version: String,
    /// `modified`, else `created`, normalised by [`version_key`]; empty for objects that
    /// have neither (most SCOs), which have one version only.
    pub version_key: String,
    /// The same timestamp as the object writes it.
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MetaError(pub String);

impl ObjectMeta {
    pub fn of(object: &Value) -> Result<ObjectMeta, MetaError> {
        let text = |name: &str| object.get(name).and_then(Value::as_str);
        let id = text("id").ok_or_else(|| MetaError("the object has no id".into()))?;
        let kind = text("type").ok_or_else(|| MetaError(format!("{id}: the object has no type")))?;
        if id.split_once("--").map(|(prefix, _)| prefix) != Some(kind) {
            return Err(MetaError(format!("{id}: the id does not start with its type {kind:?}")));
        }
        let version = text("modified").or_else(|| text("created")).unwrap_or("");
        let version_key = if version.is_empty() {
            String::new()
        } else {
            version_key(version).ok_or_else(|| MetaError(format!("{id}: {version:?} is not a timestamp")))?
        };
        Ok(ObjectMeta {
            id: id.to_string(),
            kind: kind.to_string(),
            spec_version: text("spec_version").unwrap_or("2.1").to_string(),
            version_key,
            version: version.to_string(),
        })
    }
}

/// A timestamp as fixed-width UTC text with microseconds, which sorts as time does.
pub fn version_key(timestamp: &str) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(timestamp).ok()?.with_timezone(&Utc);
    Some(timestamp_key(t))
}

pub fn timestamp_key(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_compare_as_instants() {
        assert_eq!(version_key("2026-01-01T00:00:00Z"), version_key("2026-01-01T08:00:00.000+08:00"));
        assert!(version_key("2026-01-01T00:00:00.5Z") > version_key("2026-01-01T00:00:00.25Z"));
        let m =
            ObjectMeta::of(&json!({"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.3"}))
                .unwrap();
        assert_eq!((m.version_key.as_str(), m.spec_version.as_str()), ("", "2.1"));
        assert!(ObjectMeta::of(&json!({"type": "indicator", "id": "malware--ff26c055-6336-5bc5-b98d-13d6226742dd"})).is_err());
        assert!(ObjectMeta::of(&json!({"type": "indicator", "id": "indicator--x", "modified": "yesterday"})).is_err());
    }
}
