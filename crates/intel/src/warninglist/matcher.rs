//! Warninglists compiled for checking: hash sets for `string` and `hostname`, one
//! automaton for all of a `substring` list's entries, the constituency registry's prefix
//! map for `cidr`, compiled regexes. A check costs a few lookups per list, whatever the
//! list's length.

use super::{pcre, MatchType, Warninglist, WarninglistError};
use rampart_core::constituency::lpm::PrefixMap;
use rampart_core::constituency::prefix::IpPrefix;
use regex::Regex;
use std::collections::HashMap;
use std::net::IpAddr;

/// A value found on a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit<'a> {
    /// The list's name.
    pub list: &'a str,
    /// The entry that matched, as the list gives it.
    pub entry: &'a str,
}

/// Every loaded list, ready to check values against.
#[derive(Debug)]
pub struct WarninglistSet {
    lists: Vec<Compiled>,
}

#[derive(Debug)]
struct Compiled {
    list: Warninglist,
    matcher: Matcher,
}

#[derive(Debug)]
enum Matcher {
    /// Normalised entry → its index in the list.
    Exact(HashMap<String, usize>),
    /// All entries in one alternation; the entry itself is found only on a hit.
    Substring(Option<Regex>, Vec<(String, usize)>),
    Hostname(HashMap<String, usize>),
    /// The entries' networks with their indexes; the most specific one holding a value wins.
    Cidr(PrefixMap<usize>),
    Regex(Vec<(Regex, usize)>),
}

/// An address or network as a warninglist writes it: IPv4-mapped IPv6 is read as IPv4,
/// and host bits are cleared (`10.0.0.1/8` is `10.0.0.0/8`).
fn parse_net(text: &str) -> Option<IpPrefix> {
    let text = text.trim();
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
        None => (text, None),
    };
    let addr = match addr.parse::<IpAddr>().ok()? {
        IpAddr::V6(a) => a.to_ipv4_mapped().map_or(IpAddr::V6(a), IpAddr::V4),
        v4 => v4,
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    (len <= max).then(|| IpPrefix::containing(addr, len))
}

/// Lower case, no surrounding space, no trailing dot (`Example.COM.` → `example.com`).
fn normalise(value: &str) -> String {
    value.trim().trim_end_matches('.').to_lowercase()
}

/// The host of a URL (`https://user@Host.example:8443/x` → `host.example`), or the value
/// itself up to a path.
fn host_of(value: &str) -> String {
    let value = value.trim();
    let rest = match value.find("://") {
        Some(at) => &value[at + 3..],
        None => value,
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    // An IPv6 literal keeps its colons; otherwise a colon starts the port.
    let host = if host.starts_with('[') {
        host.trim_start_matches('[').split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    normalise(host)
}

impl WarninglistSet {
    /// Compiles the lists. Entries that cannot be used (a malformed network, a regex
    /// Rampart cannot run) are reported and left out; the rest of their list works.
    pub fn new(lists: Vec<Warninglist>) -> (WarninglistSet, Vec<WarninglistError>) {
        let mut errors = Vec::new();
        let mut compiled = Vec::with_capacity(lists.len());
        for list in lists {
            let mut refuse = |entry: &str, reason: String| {
                errors.push(WarninglistError::Entry { list: list.name.clone(), entry: entry.chars().take(200).collect(), reason })
            };
            let entries = list.list.iter().enumerate();
            let matcher = match list.match_type {
                MatchType::String => Matcher::Exact(entries.map(|(i, e)| (normalise(e), i)).collect()),
                MatchType::Hostname => Matcher::Hostname(entries.map(|(i, e)| (host_of(e), i)).filter(|(h, _)| !h.is_empty()).collect()),
                MatchType::Substring => {
                    let literals: Vec<(String, usize)> =
                        entries.map(|(i, e)| (e.to_lowercase(), i)).filter(|(e, _)| !e.is_empty()).collect();
                    let pattern = literals.iter().map(|(e, _)| regex::escape(e)).collect::<Vec<_>>().join("|");
                    let automaton = if literals.is_empty() {
                        None
                    } else {
                        match regex::RegexBuilder::new(&pattern).size_limit(64 << 20).build() {
                            Ok(re) => Some(re),
                            Err(e) => {
                                refuse("(all entries)", format!("the list is too large to compile: {e}"));
                                None
                            }
                        }
                    };
                    Matcher::Substring(automaton, literals)
                }
                MatchType::Cidr => {
                    let mut networks = Vec::with_capacity(list.list.len());
                    for (i, entry) in entries {
                        match parse_net(entry) {
                            Some(net) => networks.push((net, i)),
                            None => refuse(entry, "not an IP address or network".into()),
                        }
                    }
                    Matcher::Cidr(PrefixMap::build(networks))
                }
                MatchType::Regex => Matcher::Regex(
                    entries
                        .filter_map(|(i, e)| match pcre::compile(e) {
                            Ok(re) => Some((re, i)),
                            Err(reason) => {
                                refuse(e, reason);
                                None
                            }
                        })
                        .collect(),
                ),
            };
            compiled.push(Compiled { list, matcher });
        }
        (WarninglistSet { lists: compiled }, errors)
    }

    pub fn lists(&self) -> impl Iterator<Item = &Warninglist> {
        self.lists.iter().map(|c| &c.list)
    }

    /// Every list entry a value of this MISP attribute type (`ip-dst`, `domain`, `url`,
    /// `md5`, `domain|ip`, …) is found on.
    pub fn check<'s>(&'s self, attribute_type: &str, value: &str) -> Vec<Hit<'s>> {
        // Composite types (`domain|ip`, `ip-dst|port`) carry one value per part.
        let parts: Vec<&str> = if attribute_type.contains('|') { value.split('|').collect() } else { vec![value] };
        let mut hits = Vec::new();
        for compiled in self.lists.iter().filter(|c| c.list.applies_to(attribute_type)) {
            for part in &parts {
                if let Some(index) = compiled.matcher.find(part) {
                    hits.push(Hit { list: &compiled.list.name, entry: &compiled.list.list[index] });
                    break;
                }
            }
        }
        hits
    }

    /// Whether any list that applies has the value.
    pub fn is_listed(&self, attribute_type: &str, value: &str) -> bool {
        !self.check(attribute_type, value).is_empty()
    }
}

impl Matcher {
    fn find(&self, value: &str) -> Option<usize> {
        match self {
            Matcher::Exact(entries) => entries.get(&normalise(value)).copied(),
            Matcher::Hostname(entries) => {
                let host = host_of(value);
                let mut candidate = host.as_str();
                loop {
                    if let Some(i) = entries.get(candidate) {
                        return Some(*i);
                    }
                    candidate = candidate.split_once('.')?.1;
                }
            }
            Matcher::Substring(automaton, literals) => {
                let lower = value.to_lowercase();
                automaton.as_ref()?.find(&lower)?;
                literals.iter().find(|(e, _)| lower.contains(e.as_str())).map(|(_, i)| *i)
            }
            Matcher::Cidr(networks) => networks.lookup_prefix(&parse_net(value)?).and_then(|(_, indexes)| indexes.first().copied()),
            Matcher::Regex(patterns) => patterns.iter().find(|(re, _)| re.is_match(value)).map(|(_, i)| *i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(match_type: &str, entries: &[&str], types: &[&str]) -> WarninglistSet {
        let json = serde_json::json!({"name": "test", "description": "d", "version": 1, "type": match_type,
            "list": entries, "matching_attributes": types});
        let (set, errors) = WarninglistSet::new(vec![Warninglist::parse(&json.to_string(), "t").unwrap()]);
        assert!(errors.is_empty(), "{errors:?}");
        set
    }

    #[test]
    fn networks_hold_addresses_and_smaller_networks() {
        let s = set("cidr", &["10.0.0.0/8", "192.168.1.1", "fe80::/10", "0.0.0.0/0"], &["ip-dst"]);
        assert_eq!(s.check("ip-dst", "10.200.3.4")[0].entry, "10.0.0.0/8");
        assert_eq!(s.check("ip-dst", "10.1.0.0/16")[0].entry, "10.0.0.0/8");
        assert_eq!(s.check("ip-dst", "fe80::1")[0].entry, "fe80::/10");
        assert_eq!(s.check("ip-dst", "::ffff:192.168.1.1")[0].entry, "192.168.1.1", "IPv4-mapped is IPv4");
        assert_eq!(s.check("ip-dst", "8.8.8.8")[0].entry, "0.0.0.0/0");
        assert!(s.check("ip-dst", "2001:db8::1").is_empty(), "IPv6 is not in 0.0.0.0/0");
        assert!(s.check("ip-dst", "not an address").is_empty());
        assert!(s.check("domain", "10.0.0.1").is_empty(), "the list is not for domains");
    }

    #[test]
    fn hosts_match_themselves_and_below_and_urls_by_their_host() {
        let s = set("hostname", &["bit.ly", "Example.COM."], &["domain", "url", "domain|ip"]);
        assert_eq!(s.check("domain", "bit.ly")[0].entry, "bit.ly");
        assert_eq!(s.check("domain", "a.b.BIT.LY.")[0].entry, "bit.ly");
        assert!(s.check("domain", "notbit.ly").is_empty());
        assert_eq!(s.check("url", "https://user@www.example.com:8443/path?q=1")[0].entry, "Example.COM.");
        assert_eq!(s.check("domain|ip", "x.bit.ly|192.0.2.1").len(), 1);
    }

    #[test]
    fn strings_substrings_and_regexes() {
        let s = set("string", &["D41D8CD98F00B204E9800998ECF8427E", "com"], &[]);
        assert_eq!(s.check("md5", "d41d8cd98f00b204e9800998ecf8427e").len(), 1);
        assert!(s.check("domain", "example.com").is_empty(), "exact only");
        let s = set("substring", &["app.any.run", "sandbox"], &["url"]);
        assert_eq!(s.check("url", "https://APP.any.run/tasks/1")[0].entry, "app.any.run");
        assert_eq!(s.check("url", "http://my-sandbox.example")[0].entry, "sandbox");
        assert!(s.check("url", "https://example.org").is_empty());
        let s = set("regex", &[r"/^(security|abuse)\@.*$/i"], &["email-dst"]);
        assert_eq!(s.check("email-dst", "ABUSE@example.org").len(), 1);
        assert!(s.check("email-dst", "alice@example.org").is_empty());
    }

    #[test]
    fn unusable_entries_are_reported_and_the_rest_load() {
        let json = r#"{"name":"mixed","description":"d","version":1,"type":"cidr","list":["10.0.0.0/8","10.0.0.0/33","banana"]}"#;
        let (set, errors) = WarninglistSet::new(vec![Warninglist::parse(json, "t").unwrap()]);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].to_string().contains("mixed") && errors[0].to_string().contains("10.0.0.0/33"));
        assert!(set.is_listed("ip-src", "10.1.1.1"));
    }
}
