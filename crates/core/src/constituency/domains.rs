//! Most-specific match of a host name against registered domains.
//!
//! An entry either covers exactly one name (`www.example.tw` only) or a name and every
//! name under it (`example.tw` with `include_subdomains`). A lookup walks the name's
//! label suffixes from the full name outward, so the longest registered domain wins.

use std::collections::HashMap;

#[derive(Debug, Clone)]
struct Node<V> {
    /// Values of entries that include subdomains first, then exact-only ones.
    values: Vec<V>,
    /// How many of `values` include subdomains.
    with_subdomains: usize,
}

/// Registered domains with values. Identical domains are kept once with all their
/// values; an exact and a subdomain-including entry for the same domain both match
/// that name itself, equally specific.
#[derive(Debug, Clone)]
pub struct DomainIndex<V> {
    nodes: HashMap<String, Node<V>>,
}

impl<V> DomainIndex<V> {
    /// `entries` are (domain normalised by `normalise_domain`, include_subdomains, value).
    pub fn build(entries: Vec<(String, bool, V)>) -> DomainIndex<V> {
        let mut split: HashMap<String, (Vec<V>, Vec<V>)> = HashMap::new();
        for (domain, include_subdomains, value) in entries {
            let (subtree, exact) = split.entry(domain).or_default();
            if include_subdomains {
                subtree.push(value);
            } else {
                exact.push(value);
            }
        }
        let nodes = split
            .into_iter()
            .map(|(domain, (mut values, exact))| {
                let with_subdomains = values.len();
                values.extend(exact);
                (domain, Node { values, with_subdomains })
            })
            .collect();
        DomainIndex { nodes }
    }

    /// The most specific registered domain matching `name`, with its values. `name` should
    /// be normalised; upper case and one trailing dot are tolerated.
    pub fn lookup(&self, name: &str) -> Option<(&str, &[V])> {
        let name = name.strip_suffix('.').unwrap_or(name);
        let lowered;
        let mut rest = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            lowered = name.to_ascii_lowercase();
            lowered.as_str()
        } else {
            name
        };
        let mut whole = true;
        loop {
            if let Some((domain, node)) = self.nodes.get_key_value(rest) {
                let values = if whole { &node.values[..] } else { &node.values[..node.with_subdomains] };
                if !values.is_empty() {
                    return Some((domain.as_str(), values));
                }
            }
            whole = false;
            rest = rest.split_once('.')?.1;
        }
    }

    /// The number of distinct domains.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Distinct domains with whether each value includes subdomains, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Vec<(bool, &V)>)> + '_ {
        self.nodes
            .iter()
            .map(|(d, n)| (d.as_str(), n.values.iter().enumerate().map(|(i, v)| (i < n.with_subdomains, v)).collect::<Vec<_>>()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> DomainIndex<&'static str> {
        DomainIndex::build(vec![
            ("example.tw".into(), true, "example"),
            ("www.example.tw".into(), false, "www-only"),
            ("gov.tw".into(), true, "gov"),
            ("moi.gov.tw".into(), true, "moi"),
            ("exact.tw".into(), false, "exact"),
            ("shared.tw".into(), true, "a"),
            ("shared.tw".into(), false, "b"),
            ("shared.tw".into(), true, "c"),
        ])
    }

    fn find(ix: &DomainIndex<&'static str>, name: &str) -> Option<(String, Vec<&'static str>)> {
        ix.lookup(name).map(|(d, v)| (d.to_string(), v.to_vec()))
    }

    fn hit(domain: &str, values: &[&'static str]) -> Option<(String, Vec<&'static str>)> {
        Some((domain.to_string(), values.to_vec()))
    }

    #[test]
    fn most_specific_domain_wins() {
        let ix = index();
        assert_eq!(find(&ix, "example.tw"), hit("example.tw", &["example"]));
        assert_eq!(find(&ix, "mail.example.tw"), hit("example.tw", &["example"]));
        assert_eq!(find(&ix, "www.example.tw"), hit("www.example.tw", &["www-only"]));
        assert_eq!(find(&ix, "a.www.example.tw"), hit("example.tw", &["example"]), "www.example.tw is exact only");
        assert_eq!(find(&ix, "x.moi.gov.tw"), hit("moi.gov.tw", &["moi"]));
        assert_eq!(find(&ix, "ey.gov.tw"), hit("gov.tw", &["gov"]));
        assert_eq!(find(&ix, "notexample.tw"), None, "labels, not string suffixes");
        assert_eq!(find(&ix, "tw"), None);
        assert_eq!(find(&ix, "example.com"), None);
    }

    #[test]
    fn exact_entries_match_only_the_name_itself() {
        let ix = index();
        assert_eq!(find(&ix, "exact.tw"), hit("exact.tw", &["exact"]));
        assert_eq!(find(&ix, "www.exact.tw"), None);
    }

    #[test]
    fn several_holders_of_one_domain_are_all_returned() {
        let ix = index();
        assert_eq!(find(&ix, "shared.tw"), hit("shared.tw", &["a", "c", "b"]));
        assert_eq!(find(&ix, "www.shared.tw"), hit("shared.tw", &["a", "c"]));
        assert_eq!(ix.len(), 6);
        let shared = ix.iter().find(|(d, _)| *d == "shared.tw").unwrap().1;
        assert_eq!(shared, vec![(true, &"a"), (true, &"c"), (false, &"b")]);
    }

    #[test]
    fn lookup_tolerates_case_and_a_trailing_dot() {
        let ix = index();
        assert_eq!(find(&ix, "Mail.Example.TW."), hit("example.tw", &["example"]));
        assert_eq!(find(&ix, ""), None);
        assert_eq!(find(&ix, "."), None);
        let empty: DomainIndex<()> = DomainIndex::build(Vec::new());
        assert!(empty.is_empty() && empty.lookup("example.tw").is_none());
    }
}
