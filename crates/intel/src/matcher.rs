//! Matching observations against many indicators at once. Each STIX pattern is indexed
//! by the values one of which any match needs (its anchors): an observation looks up
//! its own values and evaluates only the patterns they point to. A pattern that is a
//! single equality or network test is answered by the index alone; domain indicators
//! also match subdomains, as analysts expect of a blocklist.

use crate::pattern::eval::scalar_key;
use crate::pattern::{Anchor, Comparison, Expression, Observation, Operator, Pattern};
use rampart_core::constituency::lpm::PrefixMap;
use rampart_core::constituency::prefix::IpPrefix;
use serde_json::Value;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// An indicator to match: the caller's reference to it and its compiled pattern.
#[derive(Debug, Clone)]
pub struct Compiled<T> {
    pub item: T,
    pub pattern: Pattern,
}

struct Entry<T> {
    item: T,
    /// `None` when the index alone decides (a single `=`, `IN` or `ISSUBSET` test), so
    /// millions of plain indicators cost no pattern tree.
    pattern: Option<Pattern>,
}

impl<T> Entry<T> {
    fn matches(&self, observation: &[Observation]) -> bool {
        self.pattern.as_ref().is_none_or(|p| p.matches(observation))
    }
}

/// The indicators, indexed.
pub struct Matcher<T> {
    entries: Vec<Entry<T>>,
    /// The 64-bit hash of `type, path, value` → an entry, or (with [`LIST`] set) a list in
    /// `lists`. Keys are kept as hashes, not strings, so a lookup is one probe into one
    /// table; two different values share a hash with odds of about one in 2^64 per
    /// indicator.
    equals: HashTable,
    lists: Vec<Vec<u32>>,
    /// Bit i: entry i is decided by the index alone. Kept apart from the entries so a hit
    /// does not touch them.
    simple: Vec<u64>,
    /// (type, path) → networks → entries; a handful, so a list.
    networks: Vec<(String, String, PrefixMap<u32>)>,
    /// Entries no anchor pins down: tried on every observation.
    unanchored: Vec<u32>,
}

impl<T> std::fmt::Debug for Matcher<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher").field("indicators", &self.entries.len()).field("unanchored", &self.unanchored.len()).finish()
    }
}

/// Values compared without regard to case.
fn case_free(object_type: &str) -> bool {
    matches!(object_type, "domain-name" | "email-addr")
}

/// The parents of a domain down to the second level (`a.b.evil.tw` → `b.evil.tw`,
/// `evil.tw`): an indicator on a whole top-level domain would be a mistake.
fn parent_domains(domain: &str) -> impl Iterator<Item = &str> {
    let mut rest = domain;
    std::iter::from_fn(move || {
        let (_, parent) = rest.split_once('.')?;
        rest = parent;
        parent.contains('.').then_some(parent)
    })
}

/// An address, or a network's first address (`198.51.100.0/24`); dotted quads the fast way.
fn parse_address(value: &str) -> Option<std::net::IpAddr> {
    let address = value.split_once('/').map_or(value, |(a, _)| a);
    let bytes = address.as_bytes();
    if bytes.len() <= 15 && bytes.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
        let mut octets = [0u8; 4];
        let mut parts = address.split('.');
        for o in &mut octets {
            let part = parts.next()?;
            if part.is_empty() || part.len() > 3 || (part.len() > 1 && part.starts_with('0')) {
                return None;
            }
            *o = part.parse().ok()?;
        }
        return parts.next().is_none().then(|| std::net::IpAddr::from(octets));
    }
    address.parse().ok()
}

/// Marks a slot that points into `lists`.
const LIST: u32 = 1 << 31;
const SEED: u64 = 0x7261_6d70_6172_7421;

/// Open addressing with the keys inline: a lookup reads one cache line. Key 0 marks
/// an empty slot (a hash of 0 is stored as 1). A bit per key in front of it (eight bits
/// per key, small enough to stay in the processor's cache) turns most lookups of values
/// no indicator has away before they reach the table.
struct HashTable {
    slots: Vec<(u64, u32)>,
    mask: usize,
    filter: Vec<u64>,
    filter_mask: u64,
}

impl HashTable {
    fn build(pairs: &HashMap<u64, u32>) -> HashTable {
        let capacity = (pairs.len() * 2).next_power_of_two().max(16);
        let mut slots = vec![(0u64, 0u32); capacity];
        let mask = capacity - 1;
        let filter_bits = (pairs.len() * 8).next_power_of_two().max(64);
        let mut filter = vec![0u64; filter_bits / 64];
        let filter_mask = filter_bits as u64 - 1;
        for (&k, &v) in pairs {
            let k = k.max(1);
            let bit = (k >> 32) & filter_mask;
            filter[(bit / 64) as usize] |= 1 << (bit % 64);
            let mut i = (k as usize) & mask;
            while slots[i].0 != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = (k, v);
        }
        HashTable { slots, mask, filter, filter_mask }
    }

    #[inline]
    fn get(&self, k: u64) -> Option<u32> {
        let k = k.max(1);
        let bit = (k >> 32) & self.filter_mask;
        if self.filter[(bit / 64) as usize] & (1 << (bit % 64)) == 0 {
            return None;
        }
        let mut i = (k as usize) & self.mask;
        loop {
            let (key, value) = self.slots[i];
            if key == k {
                return Some(value);
            }
            if key == 0 {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }
}

/// The index key of a value; `lower` is scratch for values compared without case.
fn key(lower: &mut String, object_type: &str, path: &str, value: &str) -> u64 {
    let value = if case_free(object_type) && value.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
        lower.clear();
        if value.is_ascii() {
            lower.push_str(value);
            lower.make_ascii_lowercase();
        } else {
            lower.extend(value.chars().flat_map(char::to_lowercase));
        }
        lower.as_str()
    } else {
        value
    };
    let mut h = foldhash::fast::FixedState::with_seed(SEED).build_hasher();
    h.write(object_type.as_bytes());
    h.write(path.as_bytes());
    h.write(value.as_bytes());
    h.finish()
}

fn is_simple(p: &Pattern) -> bool {
    match &p.expression {
        Expression::Observation(Comparison::Test { negated: false, operator: Operator::Eq | Operator::In(_) | Operator::IsSubset, path, .. }) => path.dotted().is_some(),
        Expression::Observation(Comparison::Or(parts)) => parts.iter().all(|c| {
            matches!(c, Comparison::Test { negated: false, operator: Operator::Eq | Operator::In(_) | Operator::IsSubset, path, .. } if path.dotted().is_some())
        }),
        _ => false,
    }
}

impl<T> Matcher<T> {
    pub fn build(compiled: Vec<Compiled<T>>) -> Matcher<T> {
        let mut equals: HashMap<u64, u32> = HashMap::new();
        let mut simple_bits = Vec::new();
        let mut lists: Vec<Vec<u32>> = Vec::new();
        let mut networks: HashMap<(String, String), Vec<(IpPrefix, u32)>> = HashMap::new();
        let mut unanchored = Vec::new();
        let mut entries = Vec::with_capacity(compiled.len());
        let mut buf = String::new();
        for (i, c) in compiled.into_iter().enumerate() {
            let i = i as u32;
            let anchors = c.pattern.anchors();
            // Only a pattern the index pins down can be decided by it.
            let simple = anchors.is_some() && is_simple(&c.pattern);
            match anchors {
                None => unanchored.push(i),
                Some(anchors) => {
                    for a in anchors {
                        match a {
                            Anchor::Equals { object_type, path, value } => {
                                let k = key(&mut buf, &object_type, &path, &value);
                                match equals.entry(k) {
                                    std::collections::hash_map::Entry::Vacant(v) => {
                                        v.insert(i);
                                    }
                                    std::collections::hash_map::Entry::Occupied(mut o) => {
                                        let slot = *o.get();
                                        if slot & LIST != 0 {
                                            lists[(slot & !LIST) as usize].push(i);
                                        } else if slot != i {
                                            o.insert(LIST | lists.len() as u32);
                                            lists.push(vec![slot, i]);
                                        }
                                    }
                                }
                            }
                            Anchor::InNetwork { object_type, path, network } => {
                                // Not a network: no address can be in it.
                                if let Ok(prefix) = IpPrefix::parse(&network) {
                                    networks.entry((object_type, path)).or_default().push((prefix, i));
                                }
                            }
                        }
                    }
                }
            }
            if simple_bits.len() <= i as usize / 64 {
                simple_bits.push(0u64);
            }
            if simple {
                simple_bits[i as usize / 64] |= 1 << (i % 64);
            }
            let pattern = (!simple).then_some(c.pattern);
            entries.push(Entry { item: c.item, pattern });
        }
        let networks = networks.into_iter().map(|((t, p), v)| (t, p, PrefixMap::build(v))).collect();
        let equals = HashTable::build(&equals);
        Matcher { entries, equals, lists, simple: simple_bits, networks, unanchored }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Patterns the index cannot narrow down (tried on every observation).
    pub fn unanchored(&self) -> usize {
        self.unanchored.len()
    }

    pub fn item(&self, index: u32) -> &T {
        &self.entries[index as usize].item
    }

    /// The indicators that match one observation, each once, in index order.
    pub fn match_observation<'s>(&self, observation: &Observation, scratch: &'s mut Scratch) -> &'s [u32] {
        scratch.candidates.clear();
        scratch.subdomain.clear();
        scratch.hits.clear();
        for (_, sco) in &observation.objects {
            self.lookup(sco, scratch);
        }
        let hits = &mut scratch.hits;
        scratch.candidates.sort_unstable();
        scratch.candidates.dedup();
        let one = std::slice::from_ref(observation);
        for &c in &scratch.candidates {
            if self.is_simple(c) || self.entries[c as usize].matches(one) {
                hits.push(c);
            }
        }
        // A domain indicator matches its subdomains too (the index found it by a parent domain).
        for &c in &scratch.subdomain {
            if self.is_simple(c) {
                hits.push(c);
            }
        }
        for &c in &self.unanchored {
            if self.entries[c as usize].matches(one) {
                hits.push(c);
            }
        }
        hits.sort_unstable();
        hits.dedup();
        &scratch.hits
    }

    /// The entries indexed under one value (exact, or its network, or a parent domain).
    pub fn lookup_value(&self, object_type: &str, path: &str, value: &str, scratch: &mut Scratch) {
        self.equal(key(&mut scratch.lower, object_type, path, value), &mut scratch.candidates);
        if let Some((_, _, prefixes)) = self.networks.iter().find(|(t, p, _)| t == object_type && p == path) {
            if let Some(ip) = parse_address(value) {
                // Every network containing the address: the best match and its parents.
                let mut at = match ip {
                    std::net::IpAddr::V4(a) => prefixes.lookup_v4(u32::from(a)),
                    std::net::IpAddr::V6(a) => prefixes.lookup_v6(u128::from(a)),
                };
                while let Some(i) = at {
                    scratch.candidates.extend_from_slice(prefixes.entry(i).1);
                    at = prefixes.parent(i);
                }
            }
        }
        if object_type == "domain-name" && path == "value" {
            for parent in parent_domains(value) {
                self.equal(key(&mut scratch.lower, object_type, path, parent), &mut scratch.subdomain);
            }
        }
    }

    #[inline]
    fn is_simple(&self, i: u32) -> bool {
        self.simple[i as usize / 64] & (1 << (i % 64)) != 0
    }

    fn equal(&self, k: u64, out: &mut Vec<u32>) {
        if let Some(slot) = self.equals.get(k) {
            if slot & LIST != 0 {
                out.extend_from_slice(&self.lists[(slot & !LIST) as usize]);
            } else {
                out.push(slot);
            }
        }
    }

    /// Indicators hit by a single value, decided by the index alone (a list of values
    /// looked up one by one); complex patterns need [`Matcher::match_observation`].
    pub fn match_value<'s>(&self, object_type: &str, path: &str, value: &str, scratch: &'s mut Scratch) -> &'s [u32] {
        scratch.candidates.clear();
        scratch.subdomain.clear();
        scratch.hits.clear();
        self.lookup_value(object_type, path, value, scratch);
        let Scratch { candidates, subdomain, hits, .. } = scratch;
        hits.extend(candidates.iter().chain(subdomain.iter()).copied().filter(|&c| self.is_simple(c)));
        hits.sort_unstable();
        hits.dedup();
        &scratch.hits
    }

    /// Indicators hit by each of many values, decided by the index alone: (value's
    /// position, entry) pairs, in value order. All keys are hashed first and probed
    /// after, so the memory reads of a batch overlap instead of waiting one by one.
    pub fn match_values<'s>(&self, values: &[(&str, &str, &str)], scratch: &'s mut Scratch) -> &'s [(u32, u32)] {
        scratch.keys.clear();
        scratch.pairs.clear();
        for (n, &(object_type, path, value)) in values.iter().enumerate() {
            let n = n as u32;
            scratch.keys.push((key(&mut scratch.lower, object_type, path, value), n));
            if object_type == "domain-name" && path == "value" {
                for parent in parent_domains(value) {
                    scratch.keys.push((key(&mut scratch.lower, object_type, path, parent), n));
                }
            }
        }
        scratch.probes.clear();
        scratch.probes.extend(scratch.keys.iter().map(|&(k, _)| self.equals.get(k)));
        for (&(_, n), &slot) in scratch.keys.iter().zip(&scratch.probes) {
            let Some(slot) = slot else { continue };
            if slot & LIST != 0 {
                scratch.pairs.extend(self.lists[(slot & !LIST) as usize].iter().filter(|&&e| self.is_simple(e)).map(|&e| (n, e)));
            } else if self.is_simple(slot) {
                scratch.pairs.push((n, slot));
            }
        }
        for (t, p, prefixes) in &self.networks {
            // Addresses first, then their lookups, so those overlap too.
            scratch.addresses.clear();
            for (n, &(object_type, path, value)) in values.iter().enumerate() {
                if object_type == t && path == p {
                    if let Some(ip) = parse_address(value) {
                        scratch.addresses.push((n as u32, ip));
                    }
                }
            }
            scratch.networks_found.clear();
            scratch.networks_found.extend(scratch.addresses.iter().map(|&(n, ip)| {
                (
                    n,
                    match ip {
                        std::net::IpAddr::V4(a) => prefixes.lookup_v4(u32::from(a)),
                        std::net::IpAddr::V6(a) => prefixes.lookup_v6(u128::from(a)),
                    },
                )
            }));
            for &(n, mut at) in &scratch.networks_found {
                while let Some(i) = at {
                    scratch.pairs.extend(prefixes.entry(i).1.iter().filter(|&&e| self.is_simple(e)).map(|&e| (n, e)));
                    at = prefixes.parent(i);
                }
            }
        }
        scratch.pairs.sort_unstable();
        scratch.pairs.dedup();
        &scratch.pairs
    }

    fn lookup(&self, sco: &Value, scratch: &mut Scratch) {
        let Some(map) = sco.as_object() else { return };
        let Some(object_type) = map.get("type").and_then(Value::as_str) else { return };
        let mut path = std::mem::take(&mut scratch.path);
        for (k, v) in map {
            if matches!(k.as_str(), "type" | "id" | "spec_version") {
                continue;
            }
            match v {
                Value::Object(inner) => {
                    for (k2, v2) in inner {
                        if let Some(s) = scalar_key(v2) {
                            path.clear();
                            path.push_str(k);
                            path.push('.');
                            path.push_str(k2);
                            let k = key(&mut scratch.lower, object_type, &path, &s);
                            self.equal(k, &mut scratch.candidates);
                        }
                    }
                }
                v => {
                    if let Some(s) = scalar_key(v) {
                        self.lookup_value(object_type, k, &s, scratch);
                    }
                }
            }
        }
        scratch.path = path;
    }
}

/// Buffers reused from one observation to the next.
#[derive(Debug, Default)]
pub struct Scratch {
    lower: String,
    path: String,
    candidates: Vec<u32>,
    subdomain: Vec<u32>,
    hits: Vec<u32>,
    keys: Vec<(u64, u32)>,
    probes: Vec<Option<u32>>,
    addresses: Vec<(u32, std::net::IpAddr)>,
    networks_found: Vec<(u32, Option<u32>)>,
    pairs: Vec<(u32, u32)>,
}
