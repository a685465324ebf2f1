//! TAXII 2.1's wire types and query filters (OASIS TAXII 2.1, sections 3 to 5).

use serde::Serialize;
use serde_json::Value;

/// The media type of every TAXII 2.1 request and response body.
pub const MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
/// The media type of the STIX objects a collection holds.
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// Whether an `Accept` header admits TAXII 2.1 (a missing header admits anything).
pub fn accepts_taxii(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return true };
    accept.split(',').any(|range| {
        let mut parts = range.split(';').map(|p| p.trim().to_ascii_lowercase());
        let kind = parts.next().unwrap_or_default();
        let version = parts.find_map(|p| p.strip_prefix("version=").map(str::to_string));
        match kind.as_str() {
            "application/taxii+json" => version.is_none_or(|v| v == "2.1"),
            "*/*" | "application/*" => true,
            _ => false,
        }
    })
}

/// Whether a request body's `Content-Type` is TAXII 2.1.
pub fn is_taxii_content(content_type: Option<&str>) -> bool {
    let Some(value) = content_type else { return false };
    let mut parts = value.split(';').map(|p| p.trim().to_ascii_lowercase());
    parts.next().as_deref() == Some("application/taxii+json")
        && parts.find_map(|p| p.strip_prefix("version=").map(str::to_string)).is_none_or(|v| v == "2.1")
}

#[derive(Debug, Clone, Serialize)]
pub struct Discovery {
    pub title: String,
    pub description: String,
    pub default: String,
    pub api_roots: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiRoot {
    pub title: String,
    pub description: String,
    pub versions: Vec<String>,
    pub max_content_length: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Collection {
    pub id: String,
    pub title: String,
    pub description: String,
    pub can_read: bool,
    pub can_write: bool,
    pub media_types: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Collections {
    pub collections: Vec<Collection>,
}

/// A page of objects.
#[derive(Debug, Clone, Serialize)]
pub struct Envelope {
    pub more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManifestRecord {
    pub id: String,
    pub date_added: String,
    pub version: String,
    pub media_type: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ManifestRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    pub more: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StatusDetail {
    pub id: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub id: String,
    /// `complete` or `pending`.
    pub status: String,
    pub request_timestamp: String,
    pub total_count: u64,
    pub success_count: u64,
    pub successes: Vec<StatusDetail>,
    pub failure_count: u64,
    pub failures: Vec<StatusDetail>,
    pub pending_count: u64,
    pub pendings: Vec<StatusDetail>,
}

/// The error message resource.
#[derive(Debug, Clone, Serialize)]
pub struct Error {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub http_status: String,
}

/// `match[version]`: which versions of each object a request wants (default: the last).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionMatch {
    pub all: bool,
    pub first: bool,
    pub last: bool,
    /// Exact versions, as keys of [`crate::stix::meta::version_key`].
    pub at: Vec<String>,
}

impl VersionMatch {
    pub fn last() -> Self {
        VersionMatch { last: true, ..Default::default() }
    }

    /// Parses the comma-separated parameter; `None` means absent (the last version).
    pub fn parse(value: Option<&str>) -> Result<VersionMatch, String> {
        let Some(value) = value.filter(|v| !v.trim().is_empty()) else { return Ok(VersionMatch::last()) };
        let mut m = VersionMatch::default();
        for item in value.split(',').map(str::trim) {
            match item {
                "all" => m.all = true,
                "first" => m.first = true,
                "last" => m.last = true,
                t => m.at.push(
                    crate::stix::meta::version_key(t)
                        .ok_or_else(|| format!("match[version]: {t:?} is neither first, last, all nor a timestamp"))?,
                ),
            }
        }
        Ok(m)
    }
}

/// The comma-separated values of a `match[…]` parameter.
pub fn list(value: Option<&str>) -> Vec<String> {
    value.into_iter().flat_map(|v| v.split(',')).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_are_negotiated_as_the_spec_says() {
        assert!(accepts_taxii(Some("application/taxii+json;version=2.1")));
        assert!(accepts_taxii(Some("application/taxii+json")));
        assert!(accepts_taxii(Some("text/html, application/taxii+json; version=2.1")));
        assert!(accepts_taxii(None));
        assert!(!accepts_taxii(Some("application/taxii+json;version=2.0")));
        assert!(!accepts_taxii(Some("text/html")));
        assert!(is_taxii_content(Some("application/taxii+json;version=2.1")));
        assert!(is_taxii_content(Some("application/taxii+json")));
        assert!(!is_taxii_content(Some("application/json")));
        assert!(!is_taxii_content(None));
    }

    #[test]
    fn version_filters_parse() {
        assert_eq!(VersionMatch::parse(None).unwrap(), VersionMatch::last());
        let m = VersionMatch::parse(Some("first,2026-01-01T00:00:00Z")).unwrap();
        assert!(m.first && !m.last && m.at == ["2026-01-01T00:00:00.000000Z"]);
        assert!(VersionMatch::parse(Some("newest")).is_err());
        assert_eq!(list(Some("indicator, malware,")), ["indicator", "malware"]);
    }
}
