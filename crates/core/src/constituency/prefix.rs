//! IP prefixes, AS numbers and domain names as the constituency registry stores them.
//! Parsing is strict: a prefix with host bits set is refused rather than quietly
//! truncated, because a typo in a claim would otherwise route someone else's network.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A value that is not a usable prefix, range, AS number, domain or query; the message says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    #[error("{input:?} is not an IP address or prefix (expected e.g. 192.0.2.0/24, 2001:db8::/32 or 192.0.2.1)")]
    BadAddress { input: String },
    #[error("{input:?}: the prefix length must be a number from 0 to {max}")]
    BadLength { input: String, max: u8 },
    #[error("{input} has host bits set; the network is {network}")]
    HostBitsSet { input: String, network: String },
    #[error("the range {start} - {end} mixes IPv4 and IPv6")]
    MixedFamilies { start: IpAddr, end: IpAddr },
    #[error("the range {start} - {end} ends before it starts")]
    ReversedRange { start: IpAddr, end: IpAddr },
    #[error("{input:?} is not an AS number: {reason}")]
    BadAsn { input: String, reason: &'static str },
    #[error("{input:?} is not a usable domain name: {reason}")]
    BadDomain { input: String, reason: String },
    #[error("{input:?} is not an IP address, prefix, AS number, domain name, URL or e-mail address")]
    BadQuery { input: String },
}

/// User input quoted in an error is cut, so one bad value cannot flood a message.
pub(crate) fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

pub(crate) fn mask4(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

pub(crate) fn mask6(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    }
}

fn max_len(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

/// An IPv4 or IPv6 network: an address with no host bits set and a prefix length.
/// Ordered by family, then address, then length, so a parent sorts before its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(clippy::len_without_is_empty)] // `len` is the prefix length, not a count
pub struct IpPrefix {
    addr: IpAddr,
    len: u8,
}

#[allow(clippy::len_without_is_empty)]
impl IpPrefix {
    /// Parses `192.0.2.0/24`, `2001:db8::/32`, or a bare address (a /32 or /128).
    pub fn parse(s: &str) -> Result<IpPrefix, PrefixError> {
        let t = s.trim();
        let (a, l) = match t.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (t, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| PrefixError::BadAddress { input: clip(t) })?;
        let max = max_len(addr);
        let len = match l {
            None => max,
            Some(l) => match l.parse::<u8>() {
                Ok(n) if n <= max && !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => return Err(PrefixError::BadLength { input: clip(t), max }),
            },
        };
        let p = IpPrefix::containing(addr, len);
        if p.addr != addr {
            return Err(PrefixError::HostBitsSet { input: clip(t), network: p.to_string() });
        }
        Ok(p)
    }

    /// The prefix `addr/len`, refused when the length is out of range or host bits are set.
    pub fn new(addr: IpAddr, len: u8) -> Result<IpPrefix, PrefixError> {
        let max = max_len(addr);
        if len > max {
            return Err(PrefixError::BadLength { input: format!("{addr}/{len}"), max });
        }
        let p = IpPrefix::containing(addr, len);
        if p.addr != addr {
            return Err(PrefixError::HostBitsSet { input: format!("{addr}/{len}"), network: p.to_string() });
        }
        Ok(p)
    }

    /// The network of length `len` (clamped to the family's maximum) that contains `addr`.
    pub fn containing(addr: IpAddr, len: u8) -> IpPrefix {
        let len = len.min(max_len(addr));
        let addr = match addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask4(len))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask6(len))),
        };
        IpPrefix { addr, len }
    }

    /// A single address as a /32 or /128.
    pub fn host(addr: IpAddr) -> IpPrefix {
        IpPrefix { addr, len: max_len(addr) }
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn len(&self) -> u8 {
        self.len
    }

    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// Whether `ip` lies in this network (never across families).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => (u32::from(a) & mask4(self.len)) == u32::from(n),
            (IpAddr::V6(n), IpAddr::V6(a)) => (u128::from(a) & mask6(self.len)) == u128::from(n),
            _ => false,
        }
    }

    /// Whether `other` is this network or lies wholly inside it.
    pub fn contains_prefix(&self, other: &IpPrefix) -> bool {
        other.len >= self.len && self.contains(other.addr)
    }

    /// Prefixes either nest or are disjoint, so they overlap when one contains the other.
    pub fn overlaps(&self, other: &IpPrefix) -> bool {
        self.contains_prefix(other) || other.contains_prefix(self)
    }

    /// The network address.
    pub fn first(&self) -> IpAddr {
        self.addr
    }

    /// The highest address in the network (the broadcast address for IPv4).
    pub fn last(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) | !mask4(self.len))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) | !mask6(self.len))),
        }
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for IpPrefix {
    type Err = PrefixError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IpPrefix::parse(s)
    }
}

impl Serialize for IpPrefix {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpPrefix {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        IpPrefix::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The fewest prefixes that exactly cover the inclusive range `start - end`, as RIPE
/// `inetnum:` objects give them (`1.2.3.0 - 1.2.4.255` is `1.2.3.0/24` and `1.2.4.0/24`).
pub fn range_to_prefixes(start: IpAddr, end: IpAddr) -> Result<Vec<IpPrefix>, PrefixError> {
    let (s, e, width, v4) = match (start, end) {
        (IpAddr::V4(s), IpAddr::V4(e)) => (u128::from(u32::from(s)), u128::from(u32::from(e)), 32u32, true),
        (IpAddr::V6(s), IpAddr::V6(e)) => (u128::from(s), u128::from(e), 128u32, false),
        _ => return Err(PrefixError::MixedFamilies { start, end }),
    };
    if s > e {
        return Err(PrefixError::ReversedRange { start, end });
    }
    let low_mask = |k: u32| {
        if k == 0 {
            0
        } else if k >= 128 {
            u128::MAX
        } else {
            (1u128 << k) - 1
        }
    };
    let mut out = Vec::new();
    let mut cur = s;
    loop {
        // The largest aligned block starting at `cur` that does not run past `end`.
        let mut k = cur.trailing_zeros().min(width);
        while k > 0 && (cur | low_mask(k)) > e {
            k -= 1;
        }
        let last = cur | low_mask(k);
        let addr = if v4 { IpAddr::V4(Ipv4Addr::from(cur as u32)) } else { IpAddr::V6(Ipv6Addr::from(cur)) };
        // `k <= width <= 128`, so the length fits in a u8.
        out.push(IpPrefix { addr, len: (width - k) as u8 });
        if last >= e {
            return Ok(out);
        }
        cur = last + 1;
    }
}

/// Special-purpose ranges (IANA IPv4/IPv6 special-purpose registries, RFC 6890 and
/// successors) that no organisation can hold: private, loopback, documentation, multicast….
const RESERVED: &[(IpAddr, u8, &str)] = &[
    (IpAddr::V4(Ipv4Addr::new(0, 0, 0, 0)), 8, "\"this network\" (RFC 791)"),
    (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)), 8, "private-use (RFC 1918)"),
    (IpAddr::V4(Ipv4Addr::new(100, 64, 0, 0)), 10, "shared address space for carrier-grade NAT (RFC 6598)"),
    (IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8, "loopback (RFC 1122)"),
    (IpAddr::V4(Ipv4Addr::new(169, 254, 0, 0)), 16, "link-local (RFC 3927)"),
    (IpAddr::V4(Ipv4Addr::new(172, 16, 0, 0)), 12, "private-use (RFC 1918)"),
    (IpAddr::V4(Ipv4Addr::new(192, 0, 0, 0)), 24, "IETF protocol assignments (RFC 6890)"),
    (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 0)), 24, "documentation, TEST-NET-1 (RFC 5737)"),
    (IpAddr::V4(Ipv4Addr::new(192, 88, 99, 0)), 24, "6to4 relay anycast, deprecated (RFC 7526)"),
    (IpAddr::V4(Ipv4Addr::new(192, 168, 0, 0)), 16, "private-use (RFC 1918)"),
    (IpAddr::V4(Ipv4Addr::new(198, 18, 0, 0)), 15, "benchmarking (RFC 2544)"),
    (IpAddr::V4(Ipv4Addr::new(198, 51, 100, 0)), 24, "documentation, TEST-NET-2 (RFC 5737)"),
    (IpAddr::V4(Ipv4Addr::new(203, 0, 113, 0)), 24, "documentation, TEST-NET-3 (RFC 5737)"),
    (IpAddr::V4(Ipv4Addr::new(224, 0, 0, 0)), 4, "multicast (RFC 5771)"),
    (IpAddr::V4(Ipv4Addr::new(240, 0, 0, 0)), 4, "reserved for future use and limited broadcast (RFC 1112, RFC 919)"),
    (IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0)), 128, "the unspecified address (RFC 4291)"),
    (IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1)), 128, "loopback (RFC 4291)"),
    (IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0)), 96, "IPv4-mapped addresses (RFC 4291)"),
    (IpAddr::V6(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0)), 96, "IPv4/IPv6 translation (RFC 6052)"),
    (IpAddr::V6(Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0)), 48, "local-use IPv4/IPv6 translation (RFC 8215)"),
    (IpAddr::V6(Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0)), 64, "discard-only (RFC 6666)"),
    (IpAddr::V6(Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0)), 32, "Teredo (RFC 4380)"),
    (IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0)), 48, "benchmarking (RFC 5180)"),
    (IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0)), 32, "documentation (RFC 3849)"),
    (IpAddr::V6(Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0)), 16, "6to4 (RFC 3056)"),
    (IpAddr::V6(Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0)), 20, "documentation (RFC 9637)"),
    (IpAddr::V6(Ipv6Addr::new(0x5f00, 0, 0, 0, 0, 0, 0, 0)), 16, "segment routing SIDs (RFC 9602)"),
    (IpAddr::V6(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0)), 7, "unique-local (RFC 4193)"),
    (IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0)), 10, "link-local unicast (RFC 4291)"),
    (IpAddr::V6(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0)), 8, "multicast (RFC 4291)"),
];

/// The name of the special-purpose range `p` overlaps, if any; an organisation
/// claiming such a range (or a block containing one) is refused.
pub fn reserved_range(p: &IpPrefix) -> Option<&'static str> {
    RESERVED.iter().find(|(addr, len, _)| IpPrefix { addr: *addr, len: *len }.overlaps(p)).map(|(_, _, name)| *name)
}

/// Whether `ip` lies in a special-purpose range (see [`reserved_range`]).
pub fn is_reserved_ip(ip: IpAddr) -> bool {
    reserved_range(&IpPrefix::host(ip)).is_some()
}

/// Parses `AS3462`, `as3462` or `3462`. AS0 and AS4294967295 are reserved and refused.
pub fn parse_asn(s: &str) -> Result<u32, PrefixError> {
    let t = s.trim();
    let err = |reason: &'static str| PrefixError::BadAsn { input: clip(t), reason };
    let digits = match t.get(..2) {
        Some(p) if p.eq_ignore_ascii_case("as") => &t[2..],
        _ => t,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("expected a number, optionally after \"AS\" (e.g. AS3462)"));
    }
    // Only digits remain, so parsing fails only when the number is far too large.
    match digits.parse::<u64>() {
        Ok(0) => Err(err("AS0 is reserved and never originates routes (RFC 7607)")),
        Ok(4_294_967_295) => Err(err("AS4294967295 is reserved (RFC 7300)")),
        Ok(n) => u32::try_from(n).map_err(|_| err("AS numbers end at 4294967294")),
        Err(_) => Err(err("AS numbers end at 4294967294")),
    }
}

/// Normalises a domain name for storage and lookup: trimmed, one trailing dot removed,
/// lower case. Internationalised names must already be in punycode (`xn--…`), and a
/// wildcard is refused because `include_subdomains` says the same thing explicitly.
pub fn normalise_domain(s: &str) -> Result<String, PrefixError> {
    let t = s.trim();
    let err = |reason: String| PrefixError::BadDomain { input: clip(t), reason };
    if t.starts_with("*.") {
        return Err(err("wildcards are not stored; register the parent domain with include_subdomains instead".into()));
    }
    let t = t.strip_suffix('.').unwrap_or(t);
    if t.is_empty() {
        return Err(err("it is empty".into()));
    }
    if !t.is_ascii() {
        return Err(err("internationalised names must be given in their punycode (xn--…) form".into()));
    }
    let name = t.to_ascii_lowercase();
    if name.len() > 253 {
        return Err(err("it is longer than 253 characters".into()));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(err("it has an empty label (a leading dot or two dots in a row)".into()));
        }
        if label.len() > 63 {
            return Err(err(format!("the label {:?} is longer than 63 characters", clip(label))));
        }
        if let Some(c) = label.chars().find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-' | '_')) {
            return Err(err(format!("{c:?} is not allowed (letters, digits, '-' and '_' only)")));
        }
    }
    if name.rsplit('.').next().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
        return Err(err("the last label is all digits, so this is not a host name (an IP address?)".into()));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> IpPrefix {
        IpPrefix::parse(s).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_prefixes_and_bare_addresses() {
        assert_eq!(p("1.2.3.0/24").to_string(), "1.2.3.0/24");
        assert_eq!(p(" 2001:DB8::/32 ").to_string(), "2001:db8::/32");
        assert_eq!(p("192.0.2.7"), IpPrefix::host(ip("192.0.2.7")));
        assert_eq!(p("192.0.2.7").len(), 32);
        assert_eq!(p("2001:db8::1").len(), 128);
        assert_eq!(p("0.0.0.0/0").len(), 0);
        assert_eq!(p("::/0").to_string(), "::/0");
        assert!(p("1.2.3.0/24").is_ipv4() && !p("::/0").is_ipv4());
        assert_eq!("10.0.0.0/8".parse::<IpPrefix>().unwrap(), p("10.0.0.0/8"));
    }

    #[test]
    fn refuses_bad_prefixes_with_clear_messages() {
        let e = IpPrefix::parse("1.2.3.4/24").unwrap_err();
        assert_eq!(e.to_string(), "1.2.3.4/24 has host bits set; the network is 1.2.3.0/24");
        assert!(matches!(IpPrefix::parse("2001:db8::1/32"), Err(PrefixError::HostBitsSet { .. })));
        for bad in ["1.2.3.0/33", "::/129", "1.2.3.0/", "1.2.3.0/+8", "1.2.3.0/x", "1.2.3.0/999"] {
            assert!(matches!(IpPrefix::parse(bad), Err(PrefixError::BadLength { .. })), "{bad}");
        }
        for bad in ["", "1.2.3", "1.2.3.256/24", "example.tw", "fe80::1%eth0", "01.2.3.4"] {
            assert!(matches!(IpPrefix::parse(bad), Err(PrefixError::BadAddress { .. })), "{bad}");
        }
        let long = "x".repeat(500);
        let msg = IpPrefix::parse(&long).unwrap_err().to_string();
        assert!(msg.len() < 200, "{msg}");
        assert!(IpPrefix::new(ip("10.0.0.1"), 8).is_err());
        assert!(IpPrefix::new(ip("10.0.0.0"), 33).is_err());
        assert_eq!(IpPrefix::new(ip("10.0.0.0"), 8).unwrap(), p("10.0.0.0/8"));
    }

    #[test]
    fn containment_and_bounds() {
        let net = p("1.34.0.0/15");
        assert!(net.contains(ip("1.35.255.255")) && net.contains(ip("1.34.0.0")));
        assert!(!net.contains(ip("1.36.0.0")) && !net.contains(ip("::1")));
        assert!(net.contains_prefix(&p("1.34.1.0/24")) && net.contains_prefix(&net));
        assert!(!p("1.34.1.0/24").contains_prefix(&net));
        assert!(net.overlaps(&p("1.35.0.0/16")) && !net.overlaps(&p("1.36.0.0/16")));
        assert_eq!((net.first(), net.last()), (ip("1.34.0.0"), ip("1.35.255.255")));
        assert_eq!(p("0.0.0.0/0").last(), ip("255.255.255.255"));
        assert_eq!(p("2001:db8::/32").last(), ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
        assert!(p("::/0").contains(ip("ffff::1")));
        assert_eq!(IpPrefix::containing(ip("1.2.3.4"), 24), p("1.2.3.0/24"));
        assert_eq!(IpPrefix::containing(ip("1.2.3.4"), 200), p("1.2.3.4/32"));
    }

    #[test]
    fn ordering_puts_parents_first() {
        let mut v = [p("1.34.1.0/24"), p("::/0"), p("1.34.0.0/16"), p("1.34.0.0/15"), p("0.0.0.0/0")];
        v.sort();
        let s: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(s, ["0.0.0.0/0", "1.34.0.0/15", "1.34.0.0/16", "1.34.1.0/24", "::/0"]);
    }

    #[test]
    fn serde_uses_the_string_form() {
        let v = serde_json::to_string(&p("2001:db8::/32")).unwrap();
        assert_eq!(v, "\"2001:db8::/32\"");
        assert_eq!(serde_json::from_str::<IpPrefix>(&v).unwrap(), p("2001:db8::/32"));
        assert!(serde_json::from_str::<IpPrefix>("\"1.2.3.4/24\"").is_err());
    }

    #[test]
    fn ranges_become_minimal_prefix_covers() {
        let cover = |a: &str, b: &str| range_to_prefixes(ip(a), ip(b)).unwrap().iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(cover("1.2.3.0", "1.2.4.255"), ["1.2.3.0/24", "1.2.4.0/24"]);
        assert_eq!(cover("1.2.3.0", "1.2.3.255"), ["1.2.3.0/24"]);
        assert_eq!(cover("1.2.3.4", "1.2.3.4"), ["1.2.3.4/32"]);
        assert_eq!(cover("0.0.0.0", "255.255.255.255"), ["0.0.0.0/0"]);
        assert_eq!(cover("1.2.3.1", "1.2.3.6"), ["1.2.3.1/32", "1.2.3.2/31", "1.2.3.4/31", "1.2.3.6/32"]);
        assert_eq!(cover("255.255.255.254", "255.255.255.255"), ["255.255.255.254/31"]);
        assert_eq!(cover("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), ["::/0"]);
        assert_eq!(cover("2001:db8::", "2001:db9:ffff:ffff:ffff:ffff:ffff:ffff"), ["2001:db8::/31"]);
        assert!(matches!(range_to_prefixes(ip("1.2.3.4"), ip("::1")), Err(PrefixError::MixedFamilies { .. })));
        assert!(matches!(range_to_prefixes(ip("1.2.3.4"), ip("1.2.3.3")), Err(PrefixError::ReversedRange { .. })));
    }

    #[test]
    fn range_covers_are_exact_and_minimal() {
        // Exhaustive over a small window: every address covered once, nothing outside.
        for a in 0u32..40 {
            for b in a..40 {
                let (s, e) = (0x0102_0300 + a, 0x0102_0300 + b);
                let cover = range_to_prefixes(IpAddr::V4(s.into()), IpAddr::V4(e.into())).unwrap();
                let mut next = s;
                for q in &cover {
                    assert_eq!(q.first(), IpAddr::V4(next.into()));
                    match q.last() {
                        IpAddr::V4(l) => next = u32::from(l) + 1,
                        IpAddr::V6(_) => unreachable!(),
                    }
                }
                assert_eq!(next, e + 1);
                // Two neighbours of the same length that could merge would mean it is not minimal.
                for w in cover.windows(2) {
                    let parent = IpPrefix::containing(w[0].addr(), w[0].len() - 1);
                    let mergeable = w[0].len() == w[1].len() && parent.contains_prefix(&w[1]);
                    assert!(!mergeable, "{cover:?}");
                }
            }
        }
    }

    #[test]
    fn reserved_ranges_are_named() {
        assert_eq!(reserved_range(&p("10.1.0.0/16")), Some("private-use (RFC 1918)"));
        assert_eq!(reserved_range(&p("192.168.0.0/24")), Some("private-use (RFC 1918)"));
        assert!(reserved_range(&p("0.0.0.0/0")).is_some(), "a block containing a reserved range overlaps it");
        assert!(reserved_range(&p("8.0.0.0/7")).is_none());
        assert!(reserved_range(&p("1.34.0.0/15")).is_none());
        assert!(reserved_range(&p("2001:db8:1::/48")).is_some());
        assert!(reserved_range(&p("fd00::/8")).is_some());
        assert!(reserved_range(&p("2001:b000::/20")).is_none());
        assert!(is_reserved_ip(ip("127.0.0.1")) && is_reserved_ip(ip("::1")) && is_reserved_ip(ip("224.0.0.5")));
        assert!(is_reserved_ip(ip("100.64.1.1")) && is_reserved_ip(ip("255.255.255.255")));
        assert!(!is_reserved_ip(ip("8.8.8.8")) && !is_reserved_ip(ip("2001:4860::8888")));
    }

    #[test]
    fn asns() {
        assert_eq!(parse_asn("AS3462"), Ok(3462));
        assert_eq!(parse_asn(" as3462 "), Ok(3462));
        assert_eq!(parse_asn("3462"), Ok(3462));
        assert_eq!(parse_asn("AS4294967294"), Ok(4_294_967_294));
        for bad in ["", "AS", "AS0", "0", "4294967295", "4294967296", "99999999999999999999999", "AS-1", "ASx", "AS 1", "1.5", "ÅS1"] {
            assert!(matches!(parse_asn(bad), Err(PrefixError::BadAsn { .. })), "{bad}");
        }
        assert!(parse_asn("AS0").unwrap_err().to_string().contains("reserved"));
    }

    #[test]
    fn domains() {
        assert_eq!(normalise_domain(" Gov.TW. ").unwrap(), "gov.tw");
        assert_eq!(normalise_domain("xn--kpry57d.tw").unwrap(), "xn--kpry57d.tw");
        assert_eq!(normalise_domain("_dmarc.example.tw").unwrap(), "_dmarc.example.tw");
        assert_eq!(normalise_domain("tw").unwrap(), "tw");
        let long_label = format!("{}.tw", "a".repeat(64));
        let long_name = format!("{}tw", "abcdefghi.".repeat(26));
        for bad in
            ["", ".", "a..tw", ".a.tw", "a.tw..", "exa mple.tw", "a/b.tw", "1.2.3.4", "1.2.3", long_label.as_str(), long_name.as_str()]
        {
            assert!(matches!(normalise_domain(bad), Err(PrefixError::BadDomain { .. })), "{bad}");
        }
        assert!(normalise_domain("*.example.tw").unwrap_err().to_string().contains("include_subdomains"));
        assert!(normalise_domain("台灣.tw").unwrap_err().to_string().contains("punycode"));
        assert_eq!(normalise_domain(&format!("{}.tw", "a".repeat(63))).unwrap().len(), 66);
    }
}
