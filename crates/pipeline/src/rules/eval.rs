//! Compiled rules and how they run against an event.
//!
//! Everything costly happens once, at compile time: field names are interned, regular
//! expressions compiled, value lists sorted for binary search and CIDR lists merged into
//! sorted, disjoint address ranges. Evaluating a condition reads the event's fields in
//! place and parses numbers, addresses and timestamps from them without allocating;
//! only actions (`set`, `route`, `incident`) allocate.

use super::Outcome;
use crate::event::{Event, FieldId, Kind};
use chrono::{DateTime, FixedOffset, NaiveDate};
use rampart_core::constituency::IpPrefix;
use regex::bytes::Regex;
use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One statement.
#[derive(Debug, Clone)]
pub(crate) enum Stmt {
    /// `if … elif … else …`: the body of the first branch whose condition holds, else `otherwise`.
    If {
        branches: Vec<(Cond, Vec<Stmt>)>,
        otherwise: Vec<Stmt>,
    },
    Drop,
    Keep,
    Stop,
    Notify,
    Set {
        field: FieldId,
        kind: Kind,
        text: Box<str>,
    },
    Remove(FieldId),
    Route(Box<str>),
    Incident(Box<str>),
}

/// A condition.
#[derive(Debug, Clone)]
pub(crate) enum Cond {
    Any(Vec<Cond>),
    All(Vec<Cond>),
    Not(Box<Cond>),
    Exists(FieldId),
    /// A test of a field's value; false when the field is absent.
    Test {
        field: FieldId,
        test: Test,
    },
}

/// A test of one field value.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    /// `==`, `in` (and with `negate`, `!=`, `not in`).
    Member { set: ValueSet, negate: bool },
    /// `=~` (and with `negate`, `!~`).
    Regex { re: Regex, negate: bool },
    /// `<`, `<=`, `>`, `>=`.
    Order { op: OrdOp, lit: OrdLit },
    /// `<<`.
    Within(CidrSet),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrdOp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl OrdOp {
    fn accepts(self, field_vs_literal: Ordering) -> bool {
        match self {
            OrdOp::Lt => field_vs_literal == Ordering::Less,
            OrdOp::Le => field_vs_literal != Ordering::Greater,
            OrdOp::Gt => field_vs_literal == Ordering::Greater,
            OrdOp::Ge => field_vs_literal != Ordering::Less,
        }
    }
}

/// The right-hand side of an ordering comparison.
#[derive(Debug, Clone)]
pub(crate) enum OrdLit {
    Int(i64),
    Float(f64),
    Time(DateTime<FixedOffset>),
}

impl OrdLit {
    /// The field's value compared with the literal, when both are numbers or both timestamps.
    fn compare(&self, text: &str) -> Option<Ordering> {
        match self {
            OrdLit::Int(lit) => match parse_int(text) {
                Some(value) => Some(value.cmp(lit)),
                None => parse_number(text)?.partial_cmp(&(*lit as f64)),
            },
            OrdLit::Float(lit) => parse_number(text)?.partial_cmp(lit),
            OrdLit::Time(lit) => parse_time(text).map(|value| value.cmp(lit)),
        }
    }
}

/// A literal value as written in the rules.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Addr(IpAddr),
    Net(IpPrefix),
}

impl Value {
    /// How `set` stores the value.
    pub(crate) fn into_field_value(self) -> (Kind, String) {
        match self {
            Value::Text(s) => (Kind::Text, s),
            Value::Int(i) => (Kind::Integer, i.to_string()),
            Value::Float(f) => (Kind::Float, f.to_string()),
            Value::Bool(b) => (Kind::Boolean, b.to_string()),
            Value::Addr(a) => (Kind::Text, a.to_string()),
            Value::Net(p) => (Kind::Text, p.to_string()),
        }
    }
}

/// The values an `==` or `in` accepts. A field value is a member when it is one of the
/// strings exactly, or parses as one of the numbers, or as one of the addresses or
/// prefixes (in any spelling: `2001:DB8::1` is `2001:db8::1`).
#[derive(Debug, Clone, Default)]
pub(crate) struct ValueSet {
    /// Sorted, deduplicated.
    texts: Vec<Box<str>>,
    /// Sorted by total order, deduplicated, no negative zero.
    numbers: Vec<f64>,
    /// Sorted, deduplicated.
    addrs: Vec<IpAddr>,
    /// Networks (host bits clear) and lengths; sorted, deduplicated.
    nets: Vec<(IpAddr, u8)>,
}

impl ValueSet {
    pub(crate) fn push(&mut self, value: Value) {
        match value {
            Value::Text(s) => self.texts.push(s.into_boxed_str()),
            Value::Int(i) => self.numbers.push(positive_zero(i as f64)),
            Value::Float(f) => self.numbers.push(positive_zero(f)),
            Value::Bool(b) => self.texts.push(Box::from(if b { "true" } else { "false" })),
            Value::Addr(a) => self.addrs.push(a),
            Value::Net(p) => self.nets.push((p.addr(), p.len())),
        }
    }

    /// Sorts the lists for binary search.
    pub(crate) fn finish(mut self) -> Self {
        self.texts.sort_unstable();
        self.texts.dedup();
        self.numbers.sort_unstable_by(f64::total_cmp);
        self.numbers.dedup();
        self.addrs.sort_unstable();
        self.addrs.dedup();
        self.nets.sort_unstable();
        self.nets.dedup();
        self
    }

    fn contains(&self, text: &str) -> bool {
        if self.texts.binary_search_by(|t| (**t).cmp(text)).is_ok() {
            return true;
        }
        if !self.numbers.is_empty() {
            if let Some(n) = parse_number(text) {
                if self.numbers.binary_search_by(|x| x.total_cmp(&n)).is_ok() {
                    return true;
                }
            }
        }
        if !self.addrs.is_empty() || !self.nets.is_empty() {
            match parse_net(text) {
                Some((addr, None)) => return self.addrs.binary_search(&addr).is_ok(),
                Some((net, Some(len))) => return self.nets.binary_search(&(net, len)).is_ok(),
                None => {}
            }
        }
        false
    }
}

/// The networks of a `<<` test, as sorted, disjoint, non-adjacent address ranges.
#[derive(Debug, Clone, Default)]
pub(crate) struct CidrSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl CidrSet {
    pub(crate) fn push(&mut self, prefix: &IpPrefix) {
        match (prefix.first(), prefix.last()) {
            (IpAddr::V4(first), IpAddr::V4(last)) => self.v4.push((u32::from(first), u32::from(last))),
            (IpAddr::V6(first), IpAddr::V6(last)) => self.v6.push((u128::from(first), u128::from(last))),
            _ => {}
        }
    }

    /// Sorts and merges the ranges.
    pub(crate) fn finish(mut self) -> Self {
        merge(&mut self.v4, |x: u32| x.checked_add(1));
        merge(&mut self.v6, |x: u128| x.checked_add(1));
        self
    }

    /// Whether the field's address (or, for a prefix like `10.1.0.0/16`, every address
    /// of it) lies in the set.
    fn contains(&self, text: &str) -> bool {
        match parse_net(text) {
            Some((IpAddr::V4(a), len)) => {
                let lo = u32::from(a);
                covers(&self.v4, lo, len.map_or(lo, |len| lo | !mask4(len)))
            }
            Some((IpAddr::V6(a), len)) => {
                let lo = u128::from(a);
                covers(&self.v6, lo, len.map_or(lo, |len| lo | !mask6(len)))
            }
            None => false,
        }
    }
}

fn merge<T: Copy + Ord>(ranges: &mut Vec<(T, T)>, next: fn(T) -> Option<T>) {
    ranges.sort_unstable();
    let mut merged: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for &(lo, hi) in ranges.iter() {
        if let Some(last) = merged.last_mut() {
            if next(last.1).is_none_or(|after| lo <= after) {
                last.1 = last.1.max(hi);
                continue;
            }
        }
        merged.push((lo, hi));
    }
    *ranges = merged;
}

fn covers<T: Copy + Ord>(ranges: &[(T, T)], lo: T, hi: T) -> bool {
    let at = ranges.partition_point(|r| r.0 <= lo);
    at > 0 && ranges[at - 1].1 >= hi
}

fn mask4(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

fn mask6(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    }
}

/// An integer field value (surrounding spaces allowed).
pub(crate) fn parse_int(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

/// A finite number (`23`, `-1.5`, `1e3`); not `inf`, `NaN` or `0x10`. Negative zero is zero.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    let bytes = t.as_bytes();
    if !bytes.iter().any(u8::is_ascii_digit) || !bytes.iter().all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E')) {
        return None;
    }
    let n: f64 = t.parse().ok()?;
    n.is_finite().then_some(positive_zero(n))
}

/// `-0.0` as `0.0`, so that binary search by total order finds zero either way.
fn positive_zero(n: f64) -> f64 {
    if n == 0.0 {
        0.0
    } else {
        n
    }
}

/// An address (`None` length) or a prefix (its network, host bits cleared, and length).
/// Unlike [`IpPrefix::parse`] this neither allocates nor refuses host bits: it reads
/// feed values.
pub(crate) fn parse_net(text: &str) -> Option<(IpAddr, Option<u8>)> {
    let t = text.trim();
    let Some((addr, len)) = t.split_once('/') else {
        return t.parse::<IpAddr>().ok().map(|a| (a, None));
    };
    let addr: IpAddr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let net = match addr {
        IpAddr::V4(a) if len <= 32 => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask4(len))),
        IpAddr::V6(a) if len <= 128 => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask6(len))),
        _ => return None,
    };
    Some((net, Some(len)))
}

/// An RFC 3339 timestamp (`2026-01-01T00:00:00Z`, `2026-01-01 00:00:00+02:00`) or a
/// date (`2026-01-01`, midnight UTC).
pub(crate) fn parse_time(text: &str) -> Option<DateTime<FixedOffset>> {
    let t = text.trim();
    let b = t.as_bytes();
    if b.len() < 10 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    if b.len() == 10 {
        let digits = b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
        if !digits {
            return None;
        }
        let year: i32 = t[0..4].parse().ok()?;
        let month: u32 = t[5..7].parse().ok()?;
        let day: u32 = t[8..10].parse().ok()?;
        let midnight = NaiveDate::from_ymd_opt(year, month, day)?.and_hms_opt(0, 0, 0)?;
        return Some(midnight.and_utc().fixed_offset());
    }
    DateTime::parse_from_rfc3339(t).ok()
}

impl Cond {
    pub(crate) fn eval(&self, event: &Event<'_>) -> bool {
        match self {
            Cond::Any(conds) => conds.iter().any(|c| c.eval(event)),
            Cond::All(conds) => conds.iter().all(|c| c.eval(event)),
            Cond::Not(cond) => !cond.eval(event),
            Cond::Exists(field) => event.contains(*field),
            Cond::Test { field, test } => event.get(*field).is_some_and(|text| test.eval(text)),
        }
    }
}

impl Test {
    fn eval(&self, text: &str) -> bool {
        match self {
            Test::Member { set, negate } => set.contains(text) != *negate,
            Test::Regex { re, negate } => re.is_match(text.as_bytes()) != *negate,
            Test::Order { op, lit } => lit.compare(text).is_some_and(|o| op.accepts(o)),
            Test::Within(set) => set.contains(text),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// Runs the statements against the event, recording requests in `out`.
pub(crate) fn execute(stmts: &[Stmt], event: &mut Event<'_>, out: &mut Outcome) {
    run(stmts, event, out);
}

fn run(stmts: &[Stmt], event: &mut Event<'_>, out: &mut Outcome) -> Flow {
    for stmt in stmts {
        match stmt {
            Stmt::If { branches, otherwise } => {
                let body = branches.iter().find(|(cond, _)| cond.eval(event)).map_or(otherwise.as_slice(), |(_, body)| body.as_slice());
                if run(body, event, out) == Flow::Stop {
                    return Flow::Stop;
                }
            }
            Stmt::Drop => {
                out.dropped = true;
                out.outputs.clear();
                return Flow::Stop;
            }
            Stmt::Keep | Stmt::Stop => return Flow::Stop,
            Stmt::Notify => out.notify = true,
            Stmt::Set { field, kind, text } => event.set_kind(*field, *kind, String::from(&**text)),
            Stmt::Remove(field) => {
                event.remove(*field);
            }
            Stmt::Route(name) => {
                if !out.outputs.iter().any(|o| **o == **name) {
                    out.outputs.push(String::from(&**name));
                }
            }
            Stmt::Incident(title) => out.incident = Some(String::from(&**title)),
        }
    }
    Flow::Continue
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_strictly() {
        assert_eq!(parse_number("23"), Some(23.0));
        assert_eq!(parse_number(" -1.5 "), Some(-1.5));
        assert_eq!(parse_number("1e3"), Some(1000.0));
        assert_eq!(parse_number("-0").map(f64::is_sign_negative), Some(false));
        for bad in ["", "inf", "NaN", "infinity", "0x10", "1.2.3.4", "2026-01-01", "e", "-", "1e999", "AS64512"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn nets_parse_loosely_and_clear_host_bits() {
        assert_eq!(parse_net("10.1.2.3"), Some(("10.1.2.3".parse::<IpAddr>().unwrap(), None)));
        assert_eq!(parse_net("10.1.2.3/8"), Some(("10.0.0.0".parse::<IpAddr>().unwrap(), Some(8))));
        assert_eq!(parse_net("2001:db8::1/32"), Some(("2001:db8::".parse::<IpAddr>().unwrap(), Some(32))));
        assert_eq!(parse_net("10.0.0.0/0"), Some(("0.0.0.0".parse::<IpAddr>().unwrap(), Some(0))));
        for bad in ["", "10.0.0.0/33", "::/129", "10.0.0.0/", "x/8", "10.0.0.256"] {
            assert_eq!(parse_net(bad), None, "{bad}");
        }
    }

    #[test]
    fn times_parse_as_rfc3339_or_dates() {
        let t = parse_time("2026-01-01T01:00:00+02:00").unwrap();
        assert_eq!(t, parse_time("2025-12-31 23:00:00Z").unwrap());
        assert_eq!(parse_time("2026-01-01").unwrap(), parse_time("2026-01-01T00:00:00Z").unwrap());
        for bad in ["", "2026", "2026-13-01", "2026-1-01", "yesterday", "2026-01-01T25:00:00Z"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn cidr_sets_merge_and_cover() {
        let mut set = CidrSet::default();
        for p in ["10.0.0.0/9", "10.128.0.0/9", "192.168.0.0/16", "192.168.1.0/24", "255.255.255.255/32", "fc00::/7"] {
            set.push(&IpPrefix::parse(p).unwrap());
        }
        let set = set.finish();
        assert_eq!(set.v4.len(), 3);
        assert!(set.contains("10.0.0.0/8"));
        assert!(set.contains("10.255.255.255"));
        assert!(!set.contains("11.0.0.0"));
        assert!(!set.contains("10.0.0.0/7"));
        assert!(set.contains("192.168.200.1"));
        assert!(set.contains("255.255.255.255"));
        assert!(set.contains("fd00::1"));
        assert!(!set.contains("2001:db8::1"));
        assert!(!set.contains("not an address"));
        assert!(!CidrSet::default().finish().contains("10.0.0.1"));

        let mut all = CidrSet::default();
        all.push(&IpPrefix::parse("0.0.0.0/0").unwrap());
        all.push(&IpPrefix::parse("10.0.0.0/8").unwrap());
        let all = all.finish();
        assert_eq!(all.v4, vec![(0, u32::MAX)]);
        assert!(all.contains("0.0.0.0/0"));
    }

    #[test]
    fn value_sets_match_text_numbers_and_addresses() {
        let mut set = ValueSet::default();
        for v in [Value::Text("a".into()), Value::Int(23), Value::Float(-0.0), Value::Bool(true)] {
            set.push(v);
        }
        set.push(Value::Addr("2001:db8::1".parse().unwrap()));
        set.push(Value::Net(IpPrefix::parse("10.0.0.0/8").unwrap()));
        let set = set.finish();
        for yes in ["a", "23", "23.0", "023", "0", "-0", "true", "2001:DB8:0::1", "10.0.0.0/8", "10.1.0.0/8"] {
            assert!(set.contains(yes), "{yes}");
        }
        for no in ["A", "24", "false", "2001:db8::2", "10.0.0.0/9", "", "b"] {
            assert!(!set.contains(no), "{no}");
        }
    }

    #[test]
    fn ordering_literals_compare_numbers_and_times() {
        assert_eq!(OrdLit::Int(10).compare("9"), Some(Ordering::Less));
        assert_eq!(OrdLit::Int(10).compare("10.5"), Some(Ordering::Greater));
        assert_eq!(OrdLit::Float(1.5).compare("1.5"), Some(Ordering::Equal));
        assert_eq!(OrdLit::Int(10).compare("ten"), None);
        let lit = OrdLit::Time(parse_time("2026-01-01T00:00:00Z").unwrap());
        assert_eq!(lit.compare("2026-01-01T01:00:00+02:00"), Some(Ordering::Less));
        assert_eq!(lit.compare("10"), None);
        assert!(OrdOp::Le.accepts(Ordering::Equal) && !OrdOp::Lt.accepts(Ordering::Equal));
        assert!(OrdOp::Ge.accepts(Ordering::Greater) && !OrdOp::Gt.accepts(Ordering::Less));
    }
}
