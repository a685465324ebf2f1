//! Evaluating a pattern against observed data. A comparison expression holds for an
//! observation when one of its objects satisfies it (references, `…_ref`, lead to other
//! objects of the same observation); observation expressions combine observations,
//! with `FOLLOWEDBY` and the qualifiers looking at their times.

use super::{Comparison, Expression, Literal, ObjectPath, Operator, Qualifier, Step};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::net::IpAddr;

/// A STIX Cyber-observable Object as JSON.
pub type Sco = Value;

/// One observed-data: when, and the objects seen, by their keys (ids, or the keys of
/// the deprecated `objects` dictionary) so references resolve.
#[derive(Debug, Clone)]
pub struct Observation {
    pub first_observed: DateTime<Utc>,
    pub last_observed: DateTime<Utc>,
    pub objects: Vec<(String, Sco)>,
}

impl Observation {
    fn get(&self, key: &str) -> Option<&Sco> {
        self.objects.iter().find(|(k, _)| k == key).map(|(_, o)| o)
    }
}

/// Observation combinations are capped so a hostile pattern cannot explode.
const MAX_INSTANCES: usize = 1024;

#[derive(Debug, Clone)]
struct Instance {
    observations: Vec<u32>,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
}

impl Instance {
    fn disjoint(&self, other: &Instance) -> bool {
        !self.observations.iter().any(|o| other.observations.contains(o))
    }

    fn join(&self, other: &Instance) -> Instance {
        let mut observations = self.observations.clone();
        observations.extend(&other.observations);
        observations.sort_unstable();
        Instance { observations, first: self.first.min(other.first), last: self.last.max(other.last) }
    }
}

pub fn matches(e: &Expression, observations: &[Observation]) -> bool {
    !instances(e, observations).is_empty()
}

fn instances(e: &Expression, observations: &[Observation]) -> Vec<Instance> {
    match e {
        Expression::Observation(c) => observations
            .iter()
            .enumerate()
            .filter(|(_, o)| holds(c, o))
            .take(MAX_INSTANCES)
            .map(|(i, o)| Instance { observations: vec![i as u32], first: o.first_observed, last: o.last_observed })
            .collect(),
        Expression::Or(parts) => {
            let mut out = Vec::new();
            for p in parts {
                out.extend(instances(p, observations));
                out.truncate(MAX_INSTANCES);
            }
            out
        }
        Expression::And(parts) => combine(parts, observations, |_, _| true),
        Expression::FollowedBy(parts) => combine(parts, observations, |left, right| left.last <= right.first),
        Expression::Qualified(inner, q) => {
            let found = instances(inner, observations);
            match q {
                Qualifier::Within(seconds) => {
                    found.into_iter().filter(|i| (i.last - i.first).num_milliseconds() as f64 <= seconds * 1000.0).collect()
                }
                Qualifier::StartStop(start, stop) => found.into_iter().filter(|i| i.first >= *start && i.last < *stop).collect(),
                Qualifier::Repeats(n) => {
                    let mut chosen: Option<Instance> = None;
                    let mut count = 0;
                    for i in &found {
                        match &chosen {
                            None => chosen = Some(i.clone()),
                            Some(c) if c.disjoint(i) => chosen = Some(c.join(i)),
                            Some(_) => continue,
                        }
                        count += 1;
                        if count == *n {
                            return chosen.into_iter().collect();
                        }
                    }
                    Vec::new()
                }
            }
        }
    }
}

fn combine(parts: &[Expression], observations: &[Observation], order: impl Fn(&Instance, &Instance) -> bool) -> Vec<Instance> {
    let mut acc: Option<Vec<Instance>> = None;
    for p in parts {
        let next = instances(p, observations);
        acc = Some(match acc {
            None => next,
            Some(left) => {
                let mut out = Vec::new();
                'outer: for l in &left {
                    for r in &next {
                        if l.disjoint(r) && order(l, r) {
                            out.push(l.join(r));
                            if out.len() == MAX_INSTANCES {
                                break 'outer;
                            }
                        }
                    }
                }
                out
            }
        });
        if acc.as_ref().is_some_and(Vec::is_empty) {
            return Vec::new();
        }
    }
    acc.unwrap_or_default()
}

/// Whether a comparison expression holds in one observation.
fn holds(c: &Comparison, o: &Observation) -> bool {
    match c {
        Comparison::Or(parts) => parts.iter().any(|p| holds(p, o)),
        _ => {
            let Some(t) = object_type(c) else { return false };
            o.objects.iter().any(|(_, sco)| sco.get("type").and_then(Value::as_str) == Some(t) && holds_on(c, sco, o))
        }
    }
}

fn object_type(c: &Comparison) -> Option<&str> {
    match c {
        Comparison::Test { path, .. } | Comparison::Exists(path) => Some(&path.object_type),
        Comparison::And(parts) | Comparison::Or(parts) => parts.iter().find_map(object_type),
    }
}

/// Whether the comparison holds on this object (`AND` on the same object, `OR` on any).
fn holds_on(c: &Comparison, sco: &Sco, o: &Observation) -> bool {
    match c {
        Comparison::And(parts) => parts.iter().all(|p| holds_on(p, sco, o)),
        Comparison::Or(parts) => parts.iter().any(|p| match object_type(p) {
            Some(t) if sco.get("type").and_then(Value::as_str) == Some(t) => holds_on(p, sco, o),
            _ => holds(p, o),
        }),
        Comparison::Exists(path) => !resolve(path, sco, o).is_empty(),
        Comparison::Test { path, negated, operator, value } => {
            let operator = if network_equality(path, operator, value) { &Operator::IsSubset } else { operator };
            resolve(path, sco, o).into_iter().any(|v| test(operator, value, v) != *negated)
        }
    }
}

/// `ipv4-addr:value = '198.51.100.0/24'`, as indicators commonly write a network:
/// equality with a network means being in it.
pub(crate) fn network_equality(path: &ObjectPath, operator: &Operator, value: &Literal) -> bool {
    matches!(operator, Operator::Eq)
        && matches!(path.object_type.as_str(), "ipv4-addr" | "ipv6-addr")
        && matches!(value, Literal::Str(s) if s.contains('/') && !s.ends_with("/32") && !s.ends_with("/128"))
}

/// Every value the path reaches from the object.
fn resolve<'a>(path: &ObjectPath, sco: &'a Sco, o: &'a Observation) -> Vec<&'a Value> {
    let mut current: Vec<&Value> = vec![sco];
    let mut previous_key: Option<&str> = None;
    for step in &path.steps {
        let mut next = Vec::new();
        for v in current {
            // A reference leads to the object it names in the same observation.
            let v = match (previous_key, v) {
                (Some(k), Value::String(key)) if k.ends_with("_ref") || k.ends_with("_refs") => match o.get(key) {
                    Some(target) => target,
                    None => continue,
                },
                _ => v,
            };
            match (step, v) {
                (Step::Key(k), Value::Object(map)) => next.extend(map.get(k)),
                (Step::Index(i), Value::Array(list)) => next.extend(list.get(*i)),
                (Step::AnyIndex, Value::Array(list)) => next.extend(list.iter()),
                _ => {}
            }
        }
        previous_key = match step {
            Step::Key(k) => Some(k.as_str()),
            _ => previous_key,
        };
        current = next;
        if current.is_empty() {
            break;
        }
    }
    current
}

fn test(op: &Operator, literal: &Literal, v: &Value) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Operator::Eq => compare(literal, v) == Some(Equal),
        Operator::Ne => compare(literal, v).is_some_and(|o| o != Equal),
        Operator::Lt => compare(literal, v) == Some(Less),
        Operator::Le => matches!(compare(literal, v), Some(Less | Equal)),
        Operator::Gt => compare(literal, v) == Some(Greater),
        Operator::Ge => matches!(compare(literal, v), Some(Greater | Equal)),
        Operator::In(set) => set.iter().any(|l| compare(l, v) == Some(Equal)),
        Operator::Like(re) | Operator::Matches(re) => v.as_str().is_some_and(|s| re.is_match(s)),
        Operator::IsSubset => match (v.as_str().and_then(network), literal) {
            (Some(inner), Literal::Str(outer)) => network(outer).is_some_and(|outer| contains(outer, inner)),
            _ => false,
        },
        Operator::IsSuperset => match (v.as_str().and_then(network), literal) {
            (Some(outer), Literal::Str(inner)) => network(inner).is_some_and(|inner| contains(outer, inner)),
            _ => false,
        },
    }
}

/// How the observed value compares with the literal (observed on the left).
fn compare(literal: &Literal, v: &Value) -> Option<std::cmp::Ordering> {
    match (literal, v) {
        (Literal::Str(l), Value::String(s)) => Some(s.as_str().cmp(l.as_str())),
        (Literal::Int(l), Value::Number(n)) => n.as_i64().map(|n| n.cmp(l)).or_else(|| n.as_f64()?.partial_cmp(&(*l as f64))),
        (Literal::Float(l), Value::Number(n)) => n.as_f64()?.partial_cmp(l),
        (Literal::Bool(l), Value::Bool(b)) => Some(b.cmp(l)),
        (Literal::Time(l), Value::String(s)) => Some(DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc).cmp(l)),
        (Literal::Bytes(l), Value::String(s)) => Some(observed_bytes(s)?.as_slice().cmp(l.as_slice())),
        _ => None,
    }
}

/// Binary properties are base64 (`…_bin`) or hexadecimal (`…_hex`) text.
fn observed_bytes(s: &str) -> Option<Vec<u8>> {
    let hex = s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit());
    if hex {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
    } else {
        None
    }
}

/// An address or a network in CIDR notation, as (address bits, prefix length, v6).
fn network(s: &str) -> Option<(u128, u8, bool)> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
        None => (s, None),
    };
    match addr.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => {
            let len = len.unwrap_or(32);
            (len <= 32).then(|| (u128::from(u32::from(a)), len, false))
        }
        IpAddr::V6(a) => {
            let len = len.unwrap_or(128);
            (len <= 128).then(|| (u128::from(a), len, true))
        }
    }
}

fn contains(outer: (u128, u8, bool), inner: (u128, u8, bool)) -> bool {
    if outer.2 != inner.2 || inner.1 < outer.1 {
        return false;
    }
    let width = if outer.2 { 128 } else { 32 };
    let shift = width - u32::from(outer.1);
    shift >= width || (outer.0 >> shift) == (inner.0 >> shift)
}

/// A JSON scalar as the index keys it (`None` for what is not indexed).
pub fn scalar_key(v: &Value) -> Option<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(Cow::Owned(i.to_string())),
            None => n
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                .map(|f| Cow::Owned((f as i64).to_string()))
                .or_else(|| Some(Cow::Owned(n.to_string()))),
        },
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// A literal as [`scalar_key`] would key the equal observed value.
pub fn literal_key(l: &Literal) -> Option<String> {
    match l {
        Literal::Str(s) => Some(s.clone()),
        Literal::Int(i) => Some(i.to_string()),
        Literal::Float(f) if f.fract() == 0.0 && f.abs() < 9e15 => Some((*f as i64).to_string()),
        Literal::Bool(b) => Some(b.to_string()),
        Literal::Float(_) | Literal::Time(_) | Literal::Bytes(_) => None,
    }
}
