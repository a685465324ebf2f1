//! MISP warninglists: the file format (`list.json`, as in MISP/misp-warninglists) and the
//! check of a value of a MISP attribute type against every list that applies to it.
//!
//! Matching follows MISP's semantics per list type:
//! - `string`: the value equals an entry;
//! - `substring`: an entry occurs in the value;
//! - `hostname`: the value's host (a URL's host, a domain) is an entry or below one;
//! - `cidr`: the address, or the whole network, lies in an entry's network;
//! - `regex`: a PCRE-style entry (`/…/flags`) matches.
//!
//! Rampart compares text case-insensitively and without a trailing dot on host names, so
//! `Bit.ly.` hits `bit.ly`; composite values (`domain|ip`, `ip-dst|port`) are checked part
//! by part.

mod matcher;
mod pcre;

pub use matcher::{Hit, WarninglistSet};

use serde::Deserialize;
use std::collections::HashSet;
use std::path::Path;

/// How a list's entries are compared with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchType {
    String,
    Substring,
    Hostname,
    Cidr,
    Regex,
}

/// A warninglist as its file states it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Warninglist {
    pub name: String,
    pub description: String,
    pub version: u64,
    #[serde(rename = "type")]
    pub match_type: MatchType,
    /// MISP attribute types the list applies to; none given means every type.
    #[serde(default)]
    pub matching_attributes: Vec<String>,
    pub list: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WarninglistError {
    #[error("{source_name}: not a warninglist: {reason}")]
    Format { source_name: String, reason: String },
    #[error("warninglist {list:?}: entry {entry:?} is left out: {reason}")]
    Entry { list: String, entry: String, reason: String },
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
}

impl Warninglist {
    /// Reads one `list.json`; `source_name` names it in errors. Refuses what MISP's schema
    /// refuses: missing fields, unknown ones, an unknown type, repeated entries.
    pub fn parse(json: &str, source_name: &str) -> Result<Warninglist, WarninglistError> {
        let bad = |reason: String| WarninglistError::Format { source_name: source_name.to_string(), reason };
        let list: Warninglist = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        if list.name.trim().is_empty() {
            return Err(bad("the name is empty".into()));
        }
        let mut seen = HashSet::new();
        if let Some(repeated) = list.list.iter().find(|entry| !seen.insert(entry.as_str())) {
            return Err(bad(format!("the entry {repeated:?} is listed twice")));
        }
        let mut seen = HashSet::new();
        if let Some(repeated) = list.matching_attributes.iter().find(|a| !seen.insert(a.as_str())) {
            return Err(bad(format!("the attribute type {repeated:?} is listed twice")));
        }
        Ok(list)
    }

    /// Whether the list applies to values of this MISP attribute type.
    pub fn applies_to(&self, attribute_type: &str) -> bool {
        self.matching_attributes.is_empty() || self.matching_attributes.iter().any(|a| a == attribute_type || a == "ALL")
    }
}

/// Reads every `*/list.json` (MISP's `lists/` folder layout) and `*.json` file directly in
/// `dir`. A file that is not a warninglist is reported and skipped; the others load.
pub fn load_dir(dir: &Path) -> (Vec<Warninglist>, Vec<WarninglistError>) {
    let io = |path: &Path, e: std::io::Error| WarninglistError::Io { path: path.display().to_string(), reason: e.to_string() };
    let mut files = Vec::new();
    let mut errors = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() && path.join("list.json").is_file() {
                    files.push(path.join("list.json"));
                } else if path.extension().is_some_and(|e| e == "json") && path.is_file() {
                    files.push(path);
                }
            }
        }
        Err(e) => errors.push(io(dir, e)),
    }
    files.sort();
    let mut lists = Vec::new();
    for path in files {
        match std::fs::read_to_string(&path) {
            Ok(text) => match Warninglist::parse(&text, &path.display().to_string()) {
                Ok(list) => lists.push(list),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(io(&path, e)),
        }
    }
    (lists, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_checked_as_misp_checks_it() {
        let ok = r#"{"name":"n","description":"d","version":1,"type":"cidr","list":["10.0.0.0/8"]}"#;
        let list = Warninglist::parse(ok, "ok.json").unwrap();
        assert!(list.applies_to("ip-dst"), "no matching_attributes: every type");
        for (json, why) in [
            (r#"{"name":"n","description":"d","version":1,"type":"glob","list":[]}"#, "unknown variant"),
            (r#"{"name":"n","description":"d","version":1,"type":"string"}"#, "missing field `list`"),
            (r#"{"name":"n","description":"d","version":1,"type":"string","list":["a","a"],"x":1}"#, "unknown field"),
            (r#"{"name":"n","description":"d","version":1,"type":"string","list":["a","a"]}"#, "listed twice"),
            (r#"{"name":" ","description":"d","version":1,"type":"string","list":[]}"#, "name is empty"),
        ] {
            let err = Warninglist::parse(json, "bad.json").unwrap_err().to_string();
            assert!(err.contains(why) && err.contains("bad.json"), "{err}");
        }
    }
}
