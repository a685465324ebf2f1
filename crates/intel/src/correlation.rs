//! Correlation: which holders (intel objects, incidents) share a value — the same value,
//! an address inside a network, a domain under another. Stored per value, not per pair:
//! a value seen in n holders costs n entries, where pairs would cost n². A value held by
//! more than the cap (a public resolver, an empty-file hash) correlates with too much to
//! mean anything and is left out, as MISP does with its correlation exclusions.

use rampart_core::constituency::lpm::PrefixMap;
use rampart_core::constituency::prefix::IpPrefix;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// What kind of value an attribute is; values of different kinds never correlate
/// (except addresses with networks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Ip,
    Network,
    Domain,
    Url,
    Email,
    Hash,
    Other,
}

/// One value of one holder.
#[derive(Debug, Clone)]
pub struct Attribute<'a> {
    pub holder: u32,
    pub kind: Kind,
    pub value: &'a str,
}

const SEED: u64 = 0x636f_7272_656c_6174;

fn normalised(kind: Kind, value: &str) -> std::borrow::Cow<'_, str> {
    let value = value.trim();
    match kind {
        Kind::Domain | Kind::Email | Kind::Hash if value.bytes().any(|b| b.is_ascii_uppercase()) => value.to_ascii_lowercase().into(),
        Kind::Domain => value.trim_end_matches('.').into(),
        _ => value.into(),
    }
}

fn key(kind: Kind, value: &str) -> u64 {
    let mut h = foldhash::fast::FixedState::with_seed(SEED).build_hasher();
    h.write_u8(kind as u8);
    h.write(value.as_bytes());
    // 0 stays free as "none".
    h.finish().max(1)
}

/// How a value relates to another value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// An address inside a network (from the address to the network).
    InNetwork,
    /// A domain under another (from the subdomain to the parent).
    Subdomain,
}

/// The correlations of a set of attributes.
pub struct Correlation {
    /// Per distinct value: its key and holders (`holders[starts[v]..starts[v + 1]]`).
    keys: Vec<u64>,
    starts: Vec<u32>,
    holders: Vec<u32>,
    /// Values over the cap, by key.
    excluded: Vec<u64>,
    /// Per holder: its values (`holder_values[holder_starts[h]..holder_starts[h + 1]]`).
    holder_starts: Vec<u32>,
    holder_values: Vec<u32>,
    /// Links between values (value index pairs).
    links: Vec<(u32, u32, Link)>,
    link_index: HashMap<u32, Vec<u32>>,
}

impl std::fmt::Debug for Correlation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Correlation")
            .field("values", &self.keys.len())
            .field("excluded", &self.excluded.len())
            .field("links", &self.links.len())
            .finish()
    }
}

/// Figures of a correlation run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub attributes: u64,
    pub distinct_values: u64,
    /// Values held by at least two holders (and not over the cap).
    pub correlating_values: u64,
    pub excluded_values: u64,
    pub links: u64,
    /// Holder pairs the kept values imply (what a per-pair table would have stored).
    pub implied_pairs: u64,
}

impl Correlation {
    /// Correlates from scratch. `cap`: a value with more holders than this is excluded.
    pub fn build<'a>(attributes: impl IntoIterator<Item = Attribute<'a>>, cap: usize) -> (Correlation, Summary) {
        let mut summary = Summary::default();
        let mut pairs: Vec<(u64, u32)> = Vec::new();
        // Networks, and the distinct addresses and domains (first spelling kept) for links.
        let mut networks: Vec<(IpPrefix, u64)> = Vec::new();
        let mut addresses: HashMap<u64, std::net::IpAddr, foldhash::fast::RandomState> = HashMap::default();
        let mut domains: HashMap<u64, String, foldhash::fast::RandomState> = HashMap::default();
        let mut holder_count = 0u32;
        for a in attributes {
            summary.attributes += 1;
            holder_count = holder_count.max(a.holder + 1);
            let value = normalised(a.kind, a.value);
            let k = key(a.kind, &value);
            pairs.push((k, a.holder));
            match a.kind {
                Kind::Network => {
                    if let Ok(p) = IpPrefix::parse(&value) {
                        networks.push((p, k));
                    }
                }
                Kind::Ip => {
                    if let std::collections::hash_map::Entry::Vacant(v) = addresses.entry(k) {
                        if let Ok(ip) = value.parse() {
                            v.insert(ip);
                        }
                    }
                }
                Kind::Domain => {
                    domains.entry(k).or_insert_with(|| value.into_owned());
                }
                _ => {}
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let mut keys = Vec::new();
        let mut starts = Vec::new();
        let mut holders = Vec::with_capacity(pairs.len());
        let mut excluded = Vec::new();
        let mut i = 0;
        while i < pairs.len() {
            let k = pairs[i].0;
            let mut j = i;
            while j < pairs.len() && pairs[j].0 == k {
                j += 1;
            }
            summary.distinct_values += 1;
            let n = j - i;
            if n > cap {
                excluded.push(k);
            } else {
                keys.push(k);
                starts.push(holders.len() as u32);
                holders.extend(pairs[i..j].iter().map(|p| p.1));
                if n >= 2 {
                    summary.correlating_values += 1;
                    summary.implied_pairs += (n as u64) * (n as u64 - 1) / 2;
                }
            }
            i = j;
        }
        starts.push(holders.len() as u32);
        drop(pairs);
        summary.excluded_values = excluded.len() as u64;
        let position: HashMap<u64, u32, foldhash::fast::RandomState> = keys.iter().enumerate().map(|(i, &k)| (k, i as u32)).collect();

        // Links: addresses in networks, subdomains under domains that are values too.
        let mut links = Vec::new();
        let size = |v: u32| (starts[v as usize + 1] - starts[v as usize]) as u64;
        if !networks.is_empty() {
            let map = PrefixMap::build(networks);
            for (k, ip) in &addresses {
                let Some(&from) = position.get(k) else { continue };
                let mut at = match ip {
                    std::net::IpAddr::V4(a) => map.lookup_v4(u32::from(*a)),
                    std::net::IpAddr::V6(a) => map.lookup_v6(u128::from(*a)),
                };
                while let Some(e) = at {
                    for network_key in map.entry(e).1 {
                        if let Some(&to) = position.get(network_key) {
                            links.push((from, to, Link::InNetwork));
                        }
                    }
                    at = map.parent(e);
                }
            }
        }
        for (k, domain) in &domains {
            let Some(&from) = position.get(k) else { continue };
            let mut rest = domain.as_str();
            while let Some((_, parent)) = rest.split_once('.') {
                if let Some(&to) = position.get(&key(Kind::Domain, parent)) {
                    links.push((from, to, Link::Subdomain));
                }
                rest = parent;
            }
        }
        links.sort_unstable_by_key(|l| (l.0, l.1));
        links.dedup_by_key(|l| (l.0, l.1));
        for &(a, b, _) in &links {
            summary.implied_pairs += size(a) * size(b);
        }
        summary.links = links.len() as u64;
        let mut link_index: HashMap<u32, Vec<u32>> = HashMap::new();
        for &(a, b, _) in &links {
            link_index.entry(a).or_default().push(b);
            link_index.entry(b).or_default().push(a);
        }

        // Per holder, its values (a counting sort).
        let mut holder_starts = vec![0u32; holder_count as usize + 1];
        for &h in &holders {
            holder_starts[h as usize + 1] += 1;
        }
        for h in 0..holder_count as usize {
            holder_starts[h + 1] += holder_starts[h];
        }
        let mut fill = holder_starts.clone();
        let mut holder_values = vec![0u32; holders.len()];
        for v in 0..keys.len() {
            for &h in &holders[starts[v] as usize..starts[v + 1] as usize] {
                holder_values[fill[h as usize] as usize] = v as u32;
                fill[h as usize] += 1;
            }
        }
        let correlation = Correlation { keys, starts, holders, excluded, holder_starts, holder_values, links, link_index };
        (correlation, summary)
    }

    fn holders_of(&self, value: u32) -> &[u32] {
        &self.holders[self.starts[value as usize] as usize..self.starts[value as usize + 1] as usize]
    }

    /// The other holders a holder correlates with, each once, sorted.
    pub fn related(&self, holder: u32) -> Vec<u32> {
        let Some(range) = self.holder_starts.get(holder as usize..holder as usize + 2) else { return Vec::new() };
        let mut out = Vec::new();
        for &v in &self.holder_values[range[0] as usize..range[1] as usize] {
            out.extend_from_slice(self.holders_of(v));
            for &linked in self.link_index.get(&v).into_iter().flatten() {
                out.extend_from_slice(self.holders_of(linked));
            }
        }
        out.sort_unstable();
        out.dedup();
        out.retain(|&h| h != holder);
        out
    }

    /// Whether a value was left out for correlating with too much.
    pub fn is_excluded(&self, kind: Kind, value: &str) -> bool {
        self.excluded.contains(&key(kind, &normalised(kind, value)))
    }

    /// Distinct values kept.
    pub fn values(&self) -> usize {
        self.keys.len()
    }
}
