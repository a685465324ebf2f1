//! STIX 2.1 patterns (specification section 9): parsed once into a tree, evaluated
//! against observed data, and indexed by the values their comparisons require so a
//! matcher looks up candidates instead of trying every pattern.

pub(crate) mod eval;
mod parse;

pub use eval::{Observation, Sco};
pub use parse::parse;

use chrono::{DateTime, Utc};

/// Why a pattern could not be read: what and where (byte offset).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {}: {message}", .at + 1)]
pub struct PatternError {
    pub at: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Time(DateTime<Utc>),
    /// `h'…'` and `b'…'`.
    Bytes(Vec<u8>),
}

/// One step of an object path after the object type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
    /// `[*]`: any element.
    AnyIndex,
}

/// `type:step.step[0]…`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPath {
    pub object_type: String,
    pub steps: Vec<Step>,
}

impl ObjectPath {
    /// The path after the type as dotted keys (`hashes.SHA-256`), if it has no list steps.
    pub fn dotted(&self) -> Option<String> {
        let mut out = String::new();
        for step in &self.steps {
            let Step::Key(k) = step else { return None };
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(k);
        }
        Some(out)
    }
}

#[derive(Debug, Clone)]
pub enum Operator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In(Vec<Literal>),
    Like(regex::Regex),
    Matches(regex::Regex),
    IsSubset,
    IsSuperset,
}

#[derive(Debug, Clone)]
pub enum Comparison {
    Test { path: ObjectPath, negated: bool, operator: Operator, value: Literal },
    Exists(ObjectPath),
    And(Vec<Comparison>),
    Or(Vec<Comparison>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Qualifier {
    /// `WITHIN n SECONDS`
    Within(f64),
    /// `REPEATS n TIMES`
    Repeats(u32),
    /// `START t'…' STOP t'…'`
    StartStop(DateTime<Utc>, DateTime<Utc>),
}

#[derive(Debug, Clone)]
pub enum Expression {
    /// `[ … ]`
    Observation(Comparison),
    And(Vec<Expression>),
    Or(Vec<Expression>),
    FollowedBy(Vec<Expression>),
    Qualified(Box<Expression>, Qualifier),
}

/// A value that, if no observed object has it, rules a pattern out.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Anchor {
    /// `type:path = value`, with the value as [`eval::scalar_key`] writes it.
    Equals { object_type: String, path: String, value: String },
    /// `type:path ISSUBSET 'prefix'` for addresses.
    InNetwork { object_type: String, path: String, network: String },
}

/// A parsed pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub expression: Expression,
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        parse(text).map(|expression| Pattern { expression })
    }

    /// Values one of which any match needs; `None` when the pattern has a branch that
    /// no equality or network test pins down (it must then be tried on everything).
    pub fn anchors(&self) -> Option<Vec<Anchor>> {
        let mut out = expression_anchors(&self.expression)?;
        out.sort();
        out.dedup();
        Some(out)
    }

    /// Whether the pattern matches the observations (in any order; times decide).
    pub fn matches(&self, observations: &[Observation]) -> bool {
        eval::matches(&self.expression, observations)
    }
}

fn expression_anchors(e: &Expression) -> Option<Vec<Anchor>> {
    match e {
        Expression::Observation(c) => comparison_anchors(c),
        // Every part must match: the part with the fewest anchors rules out the most.
        Expression::And(parts) | Expression::FollowedBy(parts) => parts.iter().filter_map(expression_anchors).min_by_key(Vec::len),
        Expression::Or(parts) => union(parts.iter().map(expression_anchors)),
        Expression::Qualified(inner, _) => expression_anchors(inner),
    }
}

fn comparison_anchors(c: &Comparison) -> Option<Vec<Anchor>> {
    match c {
        Comparison::Test { path, negated: false, operator, value } => {
            let dotted = path.dotted()?;
            let equals = |v: &Literal| {
                eval::literal_key(v).map(|value| Anchor::Equals { object_type: path.object_type.clone(), path: dotted.clone(), value })
            };
            let network = |v: &Literal| match v {
                Literal::Str(network) => {
                    Some(vec![Anchor::InNetwork { object_type: path.object_type.clone(), path: dotted.clone(), network: network.clone() }])
                }
                _ => None,
            };
            if eval::network_equality(path, operator, value) {
                return network(value);
            }
            match operator {
                Operator::Eq => equals(value).map(|a| vec![a]),
                Operator::In(set) => set.iter().map(equals).collect(),
                Operator::IsSubset => network(value),
                _ => None,
            }
        }
        Comparison::Test { .. } | Comparison::Exists(_) => None,
        Comparison::And(parts) => parts.iter().filter_map(comparison_anchors).min_by_key(Vec::len),
        Comparison::Or(parts) => union(parts.iter().map(comparison_anchors)),
    }
}

fn union(parts: impl Iterator<Item = Option<Vec<Anchor>>>) -> Option<Vec<Anchor>> {
    let mut out = Vec::new();
    for p in parts {
        out.extend(p?);
    }
    Some(out)
}
