//! What an import source says about organisations, before anything is stored.
//! The parsers only read text: comparing with the registry and writing is the caller's job,
//! so a dry run and the real import see exactly the same result.

use crate::constituency::resolve::AssetKind;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// One organisation with its assets and contacts as an import source describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportedOrg {
    /// Stable within the source (a RIPE org handle such as `ORG-HA1-RIPE`, `netname:<NETNAME>`,
    /// or the CSV organisation name), so a re-import finds the same organisation again.
    pub key: String,
    pub name: String,
    /// ISO 3166-1 alpha-2, upper case, when the source says.
    pub country: Option<String>,
    pub assets: Vec<ImportedAsset>,
    pub contacts: Vec<ImportedContact>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportedAsset {
    pub kind: AssetKind,
    /// Normalised as the registry stores it: `192.0.2.0/24`, `3462`, `example.tw`.
    pub value: String,
    /// Only ever true for domains.
    pub include_subdomains: bool,
    pub comment: String,
    /// Where the asset was read (for RPSL: the line of the object within its file).
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportedContact {
    /// `abuse`, `security`, `ciso`, `duty_phone` or `other`.
    pub role: String,
    /// Lower case.
    pub email: Option<String>,
    pub phone: Option<String>,
    /// `en` or `zh-TW`; `None` when the source does not say.
    pub language: Option<String>,
    pub line: usize,
}

/// A line that was not imported, or a note about one; the reason says what to fix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    /// The file within a multi-file import (RPSL); `None` for single-text formats.
    pub file: Option<String>,
    /// 1-based, within `file` when there is one.
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParsedImport {
    /// In the order the source first mentions them.
    pub orgs: Vec<ImportedOrg>,
    pub rejected: Vec<Rejected>,
    /// Physical lines read (summed over files).
    pub lines: usize,
}

impl ParsedImport {
    pub fn asset_count(&self) -> usize {
        self.orgs.iter().map(|o| o.assets.len()).sum()
    }

    pub fn contact_count(&self) -> usize {
        self.orgs.iter().map(|o| o.contacts.len()).sum()
    }
}

/// Lines as an editor numbers them: an empty text still has line 1, so every reject fits in `1..=lines`.
pub(crate) fn count_lines(text: &str) -> usize {
    text.lines().count().max(1)
}

/// Two ASCII letters, upper-cased.
pub(crate) fn normalise_country(raw: &str) -> Option<String> {
    let cc = raw.trim();
    (cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_alphabetic())).then(|| cc.to_ascii_uppercase())
}

/// Cuts user-supplied text quoted in a reason, so one bad cell cannot flood the report.
pub(crate) fn excerpt(raw: &str) -> String {
    const MAX: usize = 64;
    if raw.chars().count() > MAX {
        let mut s: String = raw.chars().take(MAX).collect();
        s.push('…');
        s
    } else {
        raw.to_string()
    }
}

/// Gathers organisations in first-seen order, merging by key, and keeps each asset value
/// and each contact once per organisation.
#[derive(Debug, Default)]
pub(crate) struct OrgCollector {
    orgs: Vec<ImportedOrg>,
    index: HashMap<String, usize>,
    assets: HashSet<(usize, String)>,
}

impl OrgCollector {
    pub(crate) fn find(&self, key: &str) -> Option<&ImportedOrg> {
        self.index.get(key).map(|&i| &self.orgs[i])
    }

    /// The organisation under `key`, created if new (then the second value is true).
    /// A country given later fills one that was missing; it never overwrites.
    pub(crate) fn org(&mut self, key: &str, name: &str, country: Option<&str>) -> (usize, bool) {
        if let Some(&i) = self.index.get(key) {
            if self.orgs[i].country.is_none() {
                self.orgs[i].country = country.map(str::to_string);
            }
            return (i, false);
        }
        let i = self.orgs.len();
        self.orgs.push(ImportedOrg {
            key: key.to_string(),
            name: name.to_string(),
            country: country.map(str::to_string),
            assets: Vec::new(),
            contacts: Vec::new(),
        });
        self.index.insert(key.to_string(), i);
        (i, true)
    }

    /// Adds the asset unless the organisation already has this value (the first one wins).
    pub(crate) fn add_asset(&mut self, org: usize, asset: ImportedAsset) {
        if self.assets.insert((org, asset.value.clone())) {
            self.orgs[org].assets.push(asset);
        }
    }

    /// Adds the contact unless the organisation has one with the same role, e-mail and phone.
    pub(crate) fn add_contact(&mut self, org: usize, contact: ImportedContact) {
        let contacts = &mut self.orgs[org].contacts;
        match contacts.iter_mut().find(|c| c.role == contact.role && c.email == contact.email && c.phone == contact.phone) {
            Some(existing) => {
                if existing.language.is_none() {
                    existing.language = contact.language;
                }
            }
            None => contacts.push(contact),
        }
    }

    pub(crate) fn finish(self) -> Vec<ImportedOrg> {
        self.orgs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(value: &str, line: usize) -> ImportedAsset {
        ImportedAsset { kind: AssetKind::Domain, value: value.into(), include_subdomains: true, comment: String::new(), line }
    }

    #[test]
    fn collector_merges_by_key_in_first_seen_order_and_dedups() {
        let mut c = OrgCollector::default();
        let (a, new_a) = c.org("A", "Alpha", None);
        let (b, _) = c.org("B", "Beta", Some("TW"));
        let (a2, new_a2) = c.org("A", "ignored", Some("JP"));
        assert!(new_a && !new_a2);
        assert_eq!(a, a2);
        c.add_asset(a, asset("example.tw", 2));
        c.add_asset(a, asset("example.tw", 3));
        c.add_asset(b, asset("example.tw", 4));
        let contact = ImportedContact { role: "abuse".into(), email: Some("a@b.tw".into()), phone: None, language: None, line: 5 };
        c.add_contact(a, contact.clone());
        c.add_contact(a, ImportedContact { language: Some("en".into()), ..contact });
        let orgs = c.finish();
        assert_eq!(orgs.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["A", "B"]);
        assert_eq!((orgs[0].name.as_str(), orgs[0].country.as_deref()), ("Alpha", Some("JP")));
        assert_eq!(orgs[0].assets.len(), 1);
        assert_eq!(orgs[0].assets[0].line, 2);
        assert_eq!(orgs[1].assets.len(), 1);
        assert_eq!(orgs[0].contacts.len(), 1);
        assert_eq!(orgs[0].contacts[0].language.as_deref(), Some("en"));
    }

    #[test]
    fn helpers() {
        assert_eq!(count_lines(""), 1);
        assert_eq!(count_lines("a\nb\n"), 2);
        assert_eq!(count_lines("a\r\nb"), 2);
        assert_eq!(normalise_country(" tw "), Some("TW".into()));
        assert_eq!(normalise_country("TWN"), None);
        assert_eq!(excerpt(&"x".repeat(100)).chars().count(), 65);
    }
}
