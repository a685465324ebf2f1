//! Longest-prefix match over a fixed set of prefixes: built once, queried millions of times
//! (every address in every feed is routed to an organisation).
//!
//! Nested prefixes are flattened into sorted, disjoint address intervals, each labelled
//! with its most specific covering prefix, so a lookup is "the last interval start ≤ ip".
//! A directory on the address's top bits narrows that search to a few starts, so a lookup
//! touches a handful of cache lines and never allocates. Rebuild the map when the data changes.

use super::prefix::{mask4, mask6, IpPrefix};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Marks an interval that no prefix covers (and a prefix with no parent).
const NONE: u32 = u32::MAX;

/// An address as an unsigned integer, so one implementation serves IPv4 and IPv6.
trait Key: Copy + Ord {
    const BITS: u32;
    const ZERO: Self;
    fn bucket(self, shift: u32) -> usize;
    fn bucket_start(b: usize, shift: u32) -> Self;
    fn succ(self) -> Option<Self>;
}

impl Key for u32 {
    const BITS: u32 = 32;
    const ZERO: u32 = 0;

    #[inline]
    fn bucket(self, shift: u32) -> usize {
        (self >> shift) as usize
    }

    fn bucket_start(b: usize, shift: u32) -> u32 {
        (b as u32) << shift
    }

    fn succ(self) -> Option<u32> {
        self.checked_add(1)
    }
}

impl Key for u128 {
    const BITS: u32 = 128;
    const ZERO: u128 = 0;

    #[inline]
    fn bucket(self, shift: u32) -> usize {
        (self >> shift) as usize
    }

    fn bucket_start(b: usize, shift: u32) -> u128 {
        (b as u128) << shift
    }

    fn succ(self) -> Option<u128> {
        self.checked_add(1)
    }
}

/// One address family's flattened intervals and their directory.
#[derive(Debug, Clone)]
struct Flat<K> {
    /// Interval starts, strictly increasing; `starts[0]` is always 0.
    starts: Vec<K>,
    /// Entry index of the most specific prefix covering each interval, or `NONE`.
    vals: Vec<u32>,
    /// `dir[b]`: the last interval whose start ≤ the first address of bucket `b`;
    /// one extra entry at the end is the last interval.
    dir: Vec<u32>,
    /// Address bits below the directory bits.
    shift: u32,
}

impl<K: Key> Flat<K> {
    /// `ranges` are (first, last, entry index), sorted by first address and then by
    /// length, so a parent comes before its children. Records each range's closest
    /// enclosing range in `parents`.
    fn build(ranges: &[(K, K, u32)], parents: &mut [u32]) -> Flat<K> {
        let mut f = Flat {
            starts: Vec::with_capacity(2 * ranges.len() + 1),
            vals: Vec::with_capacity(2 * ranges.len() + 1),
            dir: Vec::new(),
            shift: 0,
        };
        f.emit(K::ZERO, NONE);
        // Open ranges, innermost on top: (last address, entry index).
        let mut stack: Vec<(K, u32)> = Vec::new();
        for &(first, last, idx) in ranges {
            // Close the ranges that end before this one starts; after each, the enclosing one resumes.
            while let Some(&(end, _)) = stack.last() {
                if end >= first {
                    break;
                }
                stack.pop();
                if let Some(next) = end.succ() {
                    f.emit(next, stack.last().map_or(NONE, |t| t.1));
                }
            }
            // Prefixes nest or are disjoint, so whatever is still open contains this one.
            parents[idx as usize] = stack.last().map_or(NONE, |t| t.1);
            f.emit(first, idx);
            stack.push((last, idx));
        }
        while let Some((end, _)) = stack.pop() {
            if let Some(next) = end.succ() {
                f.emit(next, stack.last().map_or(NONE, |t| t.1));
            }
        }

        let n = f.starts.len();
        assert!(n < NONE as usize, "too many intervals for a PrefixMap");
        let bits = (usize::BITS - (n - 1).leading_zeros() + 1).clamp(8, 20);
        f.shift = K::BITS - bits;
        let buckets = 1usize << bits;
        f.dir = Vec::with_capacity(buckets + 1);
        let mut j = 0usize;
        for b in 0..buckets {
            let start = K::bucket_start(b, f.shift);
            while j + 1 < n && f.starts[j + 1] <= start {
                j += 1;
            }
            f.dir.push(j as u32);
        }
        f.dir.push((n - 1) as u32);
        f
    }

    /// Appends an interval, replacing an empty one at the same start and merging with an
    /// equal neighbour, so starts stay strictly increasing and the table small.
    fn emit(&mut self, start: K, val: u32) {
        if self.starts.last() == Some(&start) {
            self.starts.pop();
            self.vals.pop();
        }
        if self.vals.last() == Some(&val) {
            return;
        }
        self.starts.push(start);
        self.vals.push(val);
    }

    #[inline]
    fn find(&self, ip: K) -> u32 {
        let b = ip.bucket(self.shift);
        let lo = self.dir[b] as usize;
        let hi = self.dir[b + 1] as usize;
        // The answer is the last start ≤ ip within starts[lo..=hi]; starts[lo] ≤ ip always.
        let i = if hi - lo <= 8 {
            let mut i = lo;
            while i < hi && self.starts[i + 1] <= ip {
                i += 1;
            }
            i
        } else {
            lo + self.starts[lo + 1..=hi].partition_point(|&s| s <= ip)
        };
        self.vals[i]
    }
}

/// Prefixes with values and a fast most-specific-match lookup. Identical prefixes are
/// kept once with all their values, in the order given.
#[derive(Debug, Clone)]
pub struct PrefixMap<V> {
    /// Distinct prefixes in `IpPrefix` order; an entry index points here.
    prefixes: Vec<IpPrefix>,
    /// Entry `i`'s values are `values[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<usize>,
    values: Vec<V>,
    /// Closest enclosing entry of each entry, or `NONE`.
    parents: Vec<u32>,
    v4: Flat<u32>,
    v6: Flat<u128>,
}

impl<V> PrefixMap<V> {
    pub fn build(mut entries: Vec<(IpPrefix, V)>) -> PrefixMap<V> {
        // Stable, so values of one prefix keep their order.
        entries.sort_by_key(|e| e.0);
        let mut prefixes: Vec<IpPrefix> = Vec::new();
        let mut offsets = Vec::new();
        let mut values = Vec::with_capacity(entries.len());
        for (p, v) in entries {
            if prefixes.last() != Some(&p) {
                offsets.push(values.len());
                prefixes.push(p);
            }
            values.push(v);
        }
        offsets.push(values.len());
        assert!(prefixes.len() < NONE as usize, "a PrefixMap holds fewer than 2^32 - 1 prefixes");

        // `IpPrefix` order is (family, address, length): exactly what the sweep needs.
        let mut r4 = Vec::new();
        let mut r6 = Vec::new();
        for (i, p) in prefixes.iter().enumerate() {
            match p.addr() {
                IpAddr::V4(a) => {
                    let s = u32::from(a);
                    r4.push((s, s | !mask4(p.len()), i as u32));
                }
                IpAddr::V6(a) => {
                    let s = u128::from(a);
                    r6.push((s, s | !mask6(p.len()), i as u32));
                }
            }
        }
        let mut parents = vec![NONE; prefixes.len()];
        let v4 = Flat::build(&r4, &mut parents);
        let v6 = Flat::build(&r6, &mut parents);
        PrefixMap { prefixes, offsets, values, parents, v4, v6 }
    }

    /// The most specific prefix containing `ip`, with its values.
    pub fn lookup(&self, ip: IpAddr) -> Option<(IpPrefix, &[V])> {
        let idx = match ip {
            IpAddr::V4(a) => self.lookup_v4(u32::from(a)),
            IpAddr::V6(a) => self.lookup_v6(u128::from(a)),
        }?;
        Some(self.entry(idx))
    }

    /// The entry index of the most specific IPv4 prefix containing `ip` (the hot path).
    #[inline]
    pub fn lookup_v4(&self, ip: u32) -> Option<u32> {
        let v = self.v4.find(ip);
        (v != NONE).then_some(v)
    }

    /// The entry index of the most specific IPv6 prefix containing `ip`.
    #[inline]
    pub fn lookup_v6(&self, ip: u128) -> Option<u32> {
        let v = self.v6.find(ip);
        (v != NONE).then_some(v)
    }

    /// The most specific prefix that contains all of `p` (possibly `p` itself).
    pub fn lookup_prefix(&self, p: &IpPrefix) -> Option<(IpPrefix, &[V])> {
        let mut idx = match p.addr() {
            IpAddr::V4(a) => self.lookup_v4(u32::from(a)),
            IpAddr::V6(a) => self.lookup_v6(u128::from(a)),
        }?;
        // Everything containing the first address is on the parent chain of the best match for it.
        while self.prefixes[idx as usize].len() > p.len() {
            idx = self.parent(idx)?;
        }
        Some(self.entry(idx))
    }

    /// An entry by index, as returned by `lookup_v4`/`lookup_v6`. Panics when out of range.
    pub fn entry(&self, idx: u32) -> (IpPrefix, &[V]) {
        let i = idx as usize;
        (self.prefixes[i], &self.values[self.offsets[i]..self.offsets[i + 1]])
    }

    /// The index of the closest less specific entry containing entry `idx`.
    pub fn parent(&self, idx: u32) -> Option<u32> {
        let p = self.parents[idx as usize];
        (p != NONE).then_some(p)
    }

    /// The number of distinct prefixes.
    pub fn len(&self) -> usize {
        self.prefixes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// The number of flattened (IPv4, IPv6) intervals, for sizing and benchmarks.
    pub fn interval_counts(&self) -> (usize, usize) {
        (self.v4.starts.len(), self.v6.starts.len())
    }

    /// Distinct prefixes with their values, IPv4 first, in address order.
    pub fn iter(&self) -> impl Iterator<Item = (IpPrefix, &[V])> + '_ {
        (0..self.prefixes.len()).map(move |i| self.entry(i as u32))
    }
}

#[derive(Debug, Clone, Default)]
struct NaiveTable<K> {
    starts: Vec<K>,
    ends: Vec<K>,
    /// The largest end among entries `0..=i`: once it is below the address, nothing earlier can contain it.
    max_end: Vec<K>,
    idx: Vec<u32>,
}

impl<K: Key> NaiveTable<K> {
    fn push(&mut self, start: K, end: K, idx: u32) {
        let m = self.max_end.last().map_or(end, |&m| m.max(end));
        self.starts.push(start);
        self.ends.push(end);
        self.max_end.push(m);
        self.idx.push(idx);
    }

    fn find(&self, ip: K) -> Option<u32> {
        let mut i = self.starts.partition_point(|&s| s <= ip);
        // Walking back, the first prefix that contains `ip` is the most specific one:
        // children sort after their parents.
        while i > 0 {
            i -= 1;
            if self.max_end[i] < ip {
                return None;
            }
            if self.ends[i] >= ip {
                return Some(self.idx[i]);
            }
        }
        None
    }
}

/// The baseline `PrefixMap` is measured and tested against: prefixes sorted by start, a
/// binary search for the last start ≤ the address, then a walk backwards to the first
/// prefix that contains it. Correct, simple, and slow inside large, busy prefixes.
/// Entry indices are the same as a `PrefixMap` built from the same prefixes.
#[derive(Debug, Clone)]
pub struct NaiveSortedPrefixes {
    prefixes: Vec<IpPrefix>,
    v4: NaiveTable<u32>,
    v6: NaiveTable<u128>,
}

impl NaiveSortedPrefixes {
    pub fn build(mut prefixes: Vec<IpPrefix>) -> NaiveSortedPrefixes {
        prefixes.sort();
        prefixes.dedup();
        let mut v4 = NaiveTable::default();
        let mut v6 = NaiveTable::default();
        for (i, p) in prefixes.iter().enumerate() {
            match p.addr() {
                IpAddr::V4(a) => {
                    let s = u32::from(a);
                    v4.push(s, s | !mask4(p.len()), i as u32);
                }
                IpAddr::V6(a) => {
                    let s = u128::from(a);
                    v6.push(s, s | !mask6(p.len()), i as u32);
                }
            }
        }
        NaiveSortedPrefixes { prefixes, v4, v6 }
    }

    pub fn lookup(&self, ip: IpAddr) -> Option<IpPrefix> {
        let idx = match ip {
            IpAddr::V4(a) => self.lookup_v4(u32::from(a)),
            IpAddr::V6(a) => self.lookup_v6(u128::from(a)),
        }?;
        Some(self.prefix(idx))
    }

    pub fn lookup_v4(&self, ip: u32) -> Option<u32> {
        self.v4.find(ip)
    }

    pub fn lookup_v6(&self, ip: u128) -> Option<u32> {
        self.v6.find(ip)
    }

    pub fn prefix(&self, idx: u32) -> IpPrefix {
        self.prefixes[idx as usize]
    }

    pub fn len(&self) -> usize {
        self.prefixes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }
}

/// `a.b.c.d` as the integer `lookup_v4` takes.
pub fn v4_bits(ip: Ipv4Addr) -> u32 {
    u32::from(ip)
}

/// An IPv6 address as the integer `lookup_v6` takes.
pub fn v6_bits(ip: Ipv6Addr) -> u128 {
    u128::from(ip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> IpPrefix {
        IpPrefix::parse(s).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn map(prefixes: &[&str]) -> PrefixMap<usize> {
        PrefixMap::build(prefixes.iter().enumerate().map(|(i, s)| (p(s), i)).collect())
    }

    fn best(m: &PrefixMap<usize>, addr: &str) -> Option<String> {
        m.lookup(ip(addr)).map(|(q, _)| q.to_string())
    }

    /// The most specific containing prefix by brute force.
    fn brute(prefixes: &[IpPrefix], addr: IpAddr) -> Option<IpPrefix> {
        prefixes.iter().filter(|q| q.contains(addr)).max_by_key(|q| q.len()).copied()
    }

    #[test]
    fn most_specific_of_nested_prefixes_wins() {
        let m = map(&["1.34.0.0/15", "1.34.0.0/16", "1.34.1.0/24", "1.36.0.0/16"]);
        assert_eq!(best(&m, "1.34.1.7").as_deref(), Some("1.34.1.0/24"));
        assert_eq!(best(&m, "1.34.0.255").as_deref(), Some("1.34.0.0/16"));
        assert_eq!(best(&m, "1.34.2.0").as_deref(), Some("1.34.0.0/16"));
        assert_eq!(best(&m, "1.35.255.255").as_deref(), Some("1.34.0.0/15"));
        assert_eq!(best(&m, "1.34.0.0").as_deref(), Some("1.34.0.0/16"));
        assert_eq!(best(&m, "1.33.255.255"), None);
        assert_eq!(best(&m, "1.36.0.1").as_deref(), Some("1.36.0.0/16"));
        assert_eq!(best(&m, "1.37.0.0"), None);
        assert_eq!(best(&m, "::1"), None);
        assert_eq!(m.len(), 4);
        assert_eq!(m.lookup(ip("1.34.1.1")).unwrap().1, &[2usize]);
        // Uncovered, /16, /24, /16 again, /15, 1.36/16, uncovered; the IPv6 table is one empty interval.
        assert_eq!(m.interval_counts(), (7, 1));
    }

    #[test]
    fn default_route_and_host_routes() {
        let m = map(&["0.0.0.0/0", "192.0.2.1/32", "255.255.255.255/32", "0.0.0.0/32"]);
        assert_eq!(best(&m, "8.8.8.8").as_deref(), Some("0.0.0.0/0"));
        assert_eq!(best(&m, "192.0.2.1").as_deref(), Some("192.0.2.1/32"));
        assert_eq!(best(&m, "192.0.2.2").as_deref(), Some("0.0.0.0/0"));
        assert_eq!(best(&m, "192.0.2.0").as_deref(), Some("0.0.0.0/0"));
        assert_eq!(best(&m, "255.255.255.255").as_deref(), Some("255.255.255.255/32"));
        assert_eq!(best(&m, "255.255.255.254").as_deref(), Some("0.0.0.0/0"));
        assert_eq!(best(&m, "0.0.0.0").as_deref(), Some("0.0.0.0/32"));
        assert_eq!(best(&m, "0.0.0.1").as_deref(), Some("0.0.0.0/0"));
        assert_eq!(best(&m, "2001:db8::1"), None, "an IPv4 default route says nothing about IPv6");
    }

    #[test]
    fn ipv6() {
        let m = map(&["2001:b000::/20", "2001:b030::/32", "2001:b030:1::/48", "::/0", "2001:db8::1/128"]);
        assert_eq!(best(&m, "2001:b030:1::5").as_deref(), Some("2001:b030:1::/48"));
        assert_eq!(best(&m, "2001:b030:2::5").as_deref(), Some("2001:b030::/32"));
        assert_eq!(best(&m, "2001:b7ff:ffff::").as_deref(), Some("2001:b000::/20"));
        assert_eq!(best(&m, "2001:c000::").as_deref(), Some("::/0"));
        assert_eq!(best(&m, "2001:db8::1").as_deref(), Some("2001:db8::1/128"));
        assert_eq!(best(&m, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").as_deref(), Some("::/0"));
        assert_eq!(best(&m, "10.0.0.1"), None);
    }

    #[test]
    fn duplicates_keep_every_value_in_order() {
        let m = PrefixMap::build(vec![(p("10.0.0.0/8"), "a"), (p("10.1.0.0/16"), "b"), (p("10.0.0.0/8"), "c"), (p("10.0.0.0/8"), "d")]);
        assert_eq!(m.len(), 2);
        let (q, vals) = m.lookup(ip("10.2.3.4")).unwrap();
        assert_eq!((q, vals), (p("10.0.0.0/8"), &["a", "c", "d"][..]));
        assert_eq!(m.lookup(ip("10.1.3.4")).unwrap().1, &["b"]);
        let all: Vec<(String, usize)> = m.iter().map(|(q, v)| (q.to_string(), v.len())).collect();
        assert_eq!(all, [("10.0.0.0/8".to_string(), 3), ("10.1.0.0/16".to_string(), 1)]);
    }

    #[test]
    fn empty_map() {
        let m: PrefixMap<()> = PrefixMap::build(Vec::new());
        assert!(m.is_empty());
        assert!(m.lookup(ip("1.2.3.4")).is_none() && m.lookup(ip("::")).is_none());
        assert_eq!(m.lookup_v4(u32::MAX), None);
        assert_eq!(m.lookup_v6(u128::MAX), None);
        assert_eq!(m.iter().count(), 0);
        assert!(NaiveSortedPrefixes::build(Vec::new()).lookup(ip("1.2.3.4")).is_none());
    }

    #[test]
    fn parents_and_prefix_lookups() {
        let m = map(&["1.34.0.0/15", "1.34.0.0/16", "1.34.1.0/24", "1.34.2.0/24"]);
        let leaf = m.lookup_v4(v4_bits("1.34.1.1".parse().unwrap())).unwrap();
        let chain: Vec<String> = std::iter::successors(Some(leaf), |&i| m.parent(i)).map(|i| m.entry(i).0.to_string()).collect();
        assert_eq!(chain, ["1.34.1.0/24", "1.34.0.0/16", "1.34.0.0/15"]);
        let lp = |s: &str| m.lookup_prefix(&p(s)).map(|(q, _)| q.to_string());
        assert_eq!(lp("1.34.1.0/24").as_deref(), Some("1.34.1.0/24"));
        assert_eq!(lp("1.34.1.128/25").as_deref(), Some("1.34.1.0/24"));
        assert_eq!(lp("1.34.0.0/23").as_deref(), Some("1.34.0.0/16"));
        assert_eq!(lp("1.34.0.0/16").as_deref(), Some("1.34.0.0/16"));
        assert_eq!(lp("1.35.0.0/16").as_deref(), Some("1.34.0.0/15"));
        assert_eq!(lp("1.32.0.0/14"), None);
        assert_eq!(lp("9.9.9.0/24"), None);
    }

    #[test]
    fn dense_directory_buckets_fall_back_to_binary_search() {
        // A thousand /32s close together put far more than 8 intervals into single buckets.
        let entries: Vec<(IpPrefix, u32)> =
            (0..1024u32).map(|i| (IpPrefix::host(IpAddr::V4(Ipv4Addr::from(0x0A00_0000 + 3 * i))), i)).collect();
        let prefixes: Vec<IpPrefix> = entries.iter().map(|e| e.0).collect();
        let m = PrefixMap::build(entries);
        for a in 0x0A00_0000u32 - 5..0x0A00_0000 + 3 * 1024 + 5 {
            let want = brute(&prefixes, IpAddr::V4(Ipv4Addr::from(a)));
            assert_eq!(m.lookup(IpAddr::V4(Ipv4Addr::from(a))).map(|e| e.0), want, "{a:#x}");
        }
    }

    fn v4_prefix() -> impl Strategy<Value = IpPrefix> {
        // Half the prefixes crowd into 10.0.0.0/16, so nesting (also at equal starts) is common.
        (any::<u32>(), 0u8..=32, any::<bool>()).prop_map(|(a, len, local)| {
            let (a, len) = if local { (0x0A00_0000 | (a & 0xFFFF), len.max(8)) } else { (a, len) };
            IpPrefix::containing(IpAddr::V4(Ipv4Addr::from(a)), len)
        })
    }

    fn v4_addr() -> impl Strategy<Value = u32> {
        (any::<u32>(), any::<bool>()).prop_map(|(a, local)| if local { 0x0A00_0000 | (a & 0xFFFF) } else { a })
    }

    const DOC6: u128 = 0x2001_0db8 << 96;

    fn v6_prefix() -> impl Strategy<Value = IpPrefix> {
        (any::<u128>(), 0u8..=128, any::<bool>()).prop_map(|(a, len, local)| {
            let (a, len) = if local { (DOC6 | ((a & 0xFFFF) << 80), len.max(32)) } else { (a, len) };
            IpPrefix::containing(IpAddr::V6(Ipv6Addr::from(a)), len)
        })
    }

    fn v6_addr() -> impl Strategy<Value = u128> {
        (any::<u128>(), any::<bool>()).prop_map(|(a, local)| if local { DOC6 | ((a & 0xFFFF) << 80) | ((a >> 64) & 0xF) } else { a })
    }

    /// Addresses at and just outside every prefix's edges, where interval bugs show.
    fn edges(prefixes: &[IpPrefix]) -> Vec<IpAddr> {
        let mut out = Vec::new();
        for q in prefixes {
            match (q.first(), q.last()) {
                (IpAddr::V4(f), IpAddr::V4(l)) => {
                    let (f, l) = (u32::from(f), u32::from(l));
                    out.extend([f.wrapping_sub(1), f, l, l.wrapping_add(1)].map(|a| IpAddr::V4(Ipv4Addr::from(a))));
                }
                (IpAddr::V6(f), IpAddr::V6(l)) => {
                    let (f, l) = (u128::from(f), u128::from(l));
                    out.extend([f.wrapping_sub(1), f, l, l.wrapping_add(1)].map(|a| IpAddr::V6(Ipv6Addr::from(a))));
                }
                _ => unreachable!("a prefix's first and last address share a family"),
            }
        }
        out
    }

    fn check_against_brute_force(prefixes: &[IpPrefix], probes: &[IpAddr]) -> Result<(), TestCaseError> {
        let m = PrefixMap::build(prefixes.iter().map(|&q| (q, ())).collect());
        let naive = NaiveSortedPrefixes::build(prefixes.to_vec());
        let mut distinct = prefixes.to_vec();
        distinct.sort();
        distinct.dedup();
        prop_assert_eq!(m.len(), distinct.len());
        prop_assert_eq!(naive.len(), distinct.len());
        for &addr in probes {
            let want = brute(prefixes, addr);
            prop_assert_eq!(m.lookup(addr).map(|e| e.0), want, "PrefixMap at {}", addr);
            prop_assert_eq!(naive.lookup(addr), want, "naive at {}", addr);
        }
        for q in &distinct {
            let want = prefixes.iter().filter(|c| c.contains_prefix(q)).max_by_key(|c| c.len()).copied();
            prop_assert_eq!(m.lookup_prefix(q).map(|e| e.0), want, "lookup_prefix {}", q);
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn v4_lookups_match_brute_force(prefixes in prop::collection::vec(v4_prefix(), 0..48), addrs in prop::collection::vec(v4_addr(), 1..64)) {
            let mut probes: Vec<IpAddr> = addrs.into_iter().map(|a| IpAddr::V4(Ipv4Addr::from(a))).collect();
            probes.extend(edges(&prefixes));
            check_against_brute_force(&prefixes, &probes)?;
        }

        #[test]
        fn v6_lookups_match_brute_force(prefixes in prop::collection::vec(v6_prefix(), 0..48), addrs in prop::collection::vec(v6_addr(), 1..64)) {
            let mut probes: Vec<IpAddr> = addrs.into_iter().map(|a| IpAddr::V6(Ipv6Addr::from(a))).collect();
            probes.extend(edges(&prefixes));
            check_against_brute_force(&prefixes, &probes)?;
        }

        #[test]
        fn mixed_families_do_not_interfere(v4 in prop::collection::vec(v4_prefix(), 0..24), v6 in prop::collection::vec(v6_prefix(), 0..24), a in v4_addr(), b in v6_addr()) {
            let mut all = v4;
            all.extend(v6);
            let mut probes = edges(&all);
            probes.push(IpAddr::V4(Ipv4Addr::from(a)));
            probes.push(IpAddr::V6(Ipv6Addr::from(b)));
            check_against_brute_force(&all, &probes)?;
        }
    }

    /// The IPFire libloc extract in the shared test data: six countries' networks (nested,
    /// IPv4 and IPv6) and the answers libloc itself gave for a set of addresses.
    #[test]
    fn agrees_with_libloc_on_the_shared_test_data() {
        const COUNTRIES: [&str; 6] = ["TW", "JP", "KR", "HK", "MO", "PH"];
        let dir = crate::testdata::path("asn");
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (the shared test data sits next to the project)", path.display()))
        };
        let mut entries: Vec<(IpPrefix, (Option<u32>, String))> = Vec::new();
        for cc in COUNTRIES {
            for line in read(&format!("networks_{cc}.tsv")).lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
                let mut f = line.split('\t');
                let net = IpPrefix::parse(f.next().unwrap()).unwrap_or_else(|e| panic!("{line}: {e}"));
                let asn = f.next().filter(|a| !a.is_empty()).map(|a| a.parse::<u32>().unwrap());
                let country = f.next().unwrap_or("").to_string();
                entries.push((net, (asn, country)));
            }
        }
        let total = entries.len();
        let m = PrefixMap::build(entries);
        assert!(total > 80_000 && m.len() == total, "{total} networks, {} distinct", m.len());

        let mut checked = 0;
        for line in read("lookups.tsv").lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let f: Vec<&str> = line.split('\t').collect();
            let addr: IpAddr = f[0].parse().unwrap();
            let (net, asn, cc) = (f.get(1).copied().unwrap_or(""), f.get(2).copied().unwrap_or(""), f.get(3).copied().unwrap_or(""));
            if net.is_empty() {
                assert!(m.lookup(addr).is_none(), "{addr} should match nothing");
                checked += 1;
                continue;
            }
            if !COUNTRIES.contains(&cc) {
                continue; // libloc answered from a country that is not in the extract
            }
            let (got, vals) = m.lookup(addr).unwrap_or_else(|| panic!("{addr}: no match, expected {net}"));
            assert_eq!(got, p(net), "{addr}");
            let want_asn = if asn.is_empty() { None } else { Some(asn.parse::<u32>().unwrap()) };
            assert_eq!(vals.to_vec(), vec![(want_asn, cc.to_string())], "{addr}");
            checked += 1;
        }
        assert_eq!(checked, 71, "lookups checked");
    }
}
