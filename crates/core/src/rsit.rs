//! The Reference Security Incident Taxonomy (RSIT): classes and their types, shipped
//! as the MISP machinetag file `data/rsit.json`.

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RsitClass {
    /// e.g. `malicious-code`
    pub value: String,
    pub expanded: String,
    pub types: Vec<RsitType>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RsitType {
    /// e.g. `infected-system`
    pub value: String,
    pub expanded: String,
    pub description: String,
}

#[derive(Deserialize)]
struct MachineTag {
    predicates: Vec<Predicate>,
    values: Vec<Values>,
}

#[derive(Deserialize)]
struct Predicate {
    value: String,
    expanded: String,
}

#[derive(Deserialize)]
struct Values {
    predicate: String,
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    value: String,
    expanded: String,
    #[serde(default)]
    description: String,
}

pub fn classes() -> &'static [RsitClass] {
    static CLASSES: OnceLock<Vec<RsitClass>> = OnceLock::new();
    CLASSES.get_or_init(|| {
        let file: MachineTag = serde_json::from_str(include_str!("../data/rsit.json")).expect("data/rsit.json is checked by the tests");
        file.predicates
            .into_iter()
            .map(|p| {
                let types = file
                    .values
                    .iter()
                    .filter(|v| v.predicate == p.value)
                    .flat_map(|v| &v.entry)
                    .map(|e| RsitType { value: e.value.clone(), expanded: e.expanded.clone(), description: e.description.clone() })
                    .collect();
                RsitClass { value: p.value, expanded: p.expanded, types }
            })
            .collect()
    })
}

/// Whether `class`/`rsit_type` is a pair in the taxonomy.
pub fn is_valid(class: &str, rsit_type: &str) -> bool {
    classes().iter().any(|c| c.value == class && c.types.iter().any(|t| t.value == rsit_type))
}

/// The machine tag, e.g. `rsit:malicious-code="infected-system"`.
pub fn machine_tag(class: &str, rsit_type: &str) -> String {
    format!("rsit:{class}=\"{rsit_type}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_taxonomy_matches_the_reference() {
        let classes = classes();
        assert_eq!(classes.len(), 11, "RSIT has 11 classes");
        assert_eq!(classes.iter().map(|c| c.types.len()).sum::<usize>(), 39, "and 39 types");
        assert!(is_valid("malicious-code", "infected-system"));
        assert!(is_valid("fraud", "phishing"));
        assert!(!is_valid("fraud", "infected-system"));
        assert_eq!(machine_tag("fraud", "phishing"), "rsit:fraud=\"phishing\"");
    }

    /// The shipped copy is the one the shared test data describes.
    #[test]
    fn same_as_the_shared_reference_copy() {
        let reference = crate::testdata::read("taxonomies/rsit/machinetag.json");
        assert_eq!(reference, include_str!("../data/rsit.json"));
    }
}
