//! The STIX 2.1 pattern grammar, by recursive descent. Precedence from loosest:
//! `FOLLOWEDBY`, `OR`, `AND` between observations; `OR`, `AND` inside `[…]`.

use super::{Comparison, Expression, Literal, ObjectPath, Operator, PatternError, Qualifier, Step};
use chrono::{DateTime, Utc};

/// Patterns longer than this are refused: a pattern is a line, not a document.
const MAX_PATTERN: usize = 64 * 1024;
/// Nesting deeper than this is refused, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

pub fn parse(text: &str) -> Result<Expression, PatternError> {
    if text.len() > MAX_PATTERN {
        return Err(PatternError { at: 0, message: format!("a pattern is at most {MAX_PATTERN} bytes") });
    }
    let mut p = Parser { text, at: 0, depth: 0 };
    let e = p.followed_by()?;
    p.skip_space();
    if p.at < text.len() {
        return Err(p.error("unexpected text after the pattern"));
    }
    Ok(e)
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, message: impl Into<String>) -> PatternError {
        PatternError { at: self.at, message: message.into() }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    /// Consumes `token` if it comes next (keywords must end at a word boundary).
    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        let rest = self.rest();
        if !rest.starts_with(token) {
            return false;
        }
        let word = token.chars().all(|c| c.is_ascii_alphabetic());
        if word && rest[token.len()..].chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            return false;
        }
        self.at += token.len();
        true
    }

    fn expect(&mut self, token: &str) -> Result<(), PatternError> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.error(format!("expected {token}")))
        }
    }

    fn deeper(&mut self) -> Result<(), PatternError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        Ok(())
    }

    fn followed_by(&mut self) -> Result<Expression, PatternError> {
        let mut parts = vec![self.observation_or()?];
        while self.eat("FOLLOWEDBY") {
            parts.push(self.observation_or()?);
        }
        Ok(if parts.len() == 1 { parts.pop().unwrap() } else { Expression::FollowedBy(parts) })
    }

    fn observation_or(&mut self) -> Result<Expression, PatternError> {
        let mut parts = vec![self.observation_and()?];
        while self.eat("OR") {
            parts.push(self.observation_and()?);
        }
        Ok(if parts.len() == 1 { parts.pop().unwrap() } else { Expression::Or(parts) })
    }

    fn observation_and(&mut self) -> Result<Expression, PatternError> {
        let mut parts = vec![self.observation()?];
        while self.eat("AND") {
            parts.push(self.observation()?);
        }
        Ok(if parts.len() == 1 { parts.pop().unwrap() } else { Expression::And(parts) })
    }

    fn observation(&mut self) -> Result<Expression, PatternError> {
        self.deeper()?;
        self.skip_space();
        let opening = self.at;
        let mut e = if self.eat("[") {
            let c = self.comparison_or()?;
            self.expect("]")?;
            check_same_type(&c).map_err(|message| PatternError { at: opening, message })?;
            Expression::Observation(c)
        } else if self.eat("(") {
            let e = self.followed_by()?;
            self.expect(")")?;
            e
        } else {
            return Err(self.error("expected [ or ("));
        };
        loop {
            let q = if self.eat("WITHIN") {
                let n = self.number()?;
                if n <= 0.0 {
                    return Err(self.error("WITHIN needs a positive number of seconds"));
                }
                self.expect("SECONDS")?;
                Qualifier::Within(n)
            } else if self.eat("REPEATS") {
                self.skip_space();
                let at = self.at;
                let n = self.number()?;
                if n < 1.0 || n.fract() != 0.0 || n > f64::from(u32::MAX) {
                    return Err(PatternError { at, message: "REPEATS needs a positive whole number".into() });
                }
                self.expect("TIMES")?;
                Qualifier::Repeats(n as u32)
            } else if self.eat("START") {
                let start = self.timestamp()?;
                self.expect("STOP")?;
                let stop = self.timestamp()?;
                if stop <= start {
                    return Err(self.error("STOP must be later than START"));
                }
                Qualifier::StartStop(start, stop)
            } else {
                break;
            };
            e = Expression::Qualified(Box::new(e), q);
        }
        self.depth -= 1;
        Ok(e)
    }

    fn comparison_or(&mut self) -> Result<Comparison, PatternError> {
        let mut parts = vec![self.comparison_and()?];
        while self.eat("OR") {
            parts.push(self.comparison_and()?);
        }
        Ok(if parts.len() == 1 { parts.pop().unwrap() } else { Comparison::Or(parts) })
    }

    fn comparison_and(&mut self) -> Result<Comparison, PatternError> {
        let mut parts = vec![self.test()?];
        while self.eat("AND") {
            parts.push(self.test()?);
        }
        Ok(if parts.len() == 1 { parts.pop().unwrap() } else { Comparison::And(parts) })
    }

    fn test(&mut self) -> Result<Comparison, PatternError> {
        self.deeper()?;
        let result = if self.eat("(") {
            let c = self.comparison_or()?;
            self.expect(")")?;
            c
        } else if self.eat("EXISTS") {
            Comparison::Exists(self.path()?)
        } else {
            let path = self.path()?;
            let negated = self.eat("NOT");
            let (operator, value) = if self.eat("!=") || self.eat("<>") {
                (Operator::Ne, self.literal()?)
            } else if self.eat("<=") {
                (Operator::Le, self.orderable()?)
            } else if self.eat(">=") {
                (Operator::Ge, self.orderable()?)
            } else if self.eat("=") {
                (Operator::Eq, self.literal()?)
            } else if self.eat("<") {
                (Operator::Lt, self.orderable()?)
            } else if self.eat(">") {
                (Operator::Gt, self.orderable()?)
            } else if self.eat("IN") {
                (Operator::In(self.set()?), Literal::Bool(true))
            } else if self.eat("LIKE") {
                self.skip_space();
                let at = self.at;
                let s = self.string()?;
                (Operator::Like(like_regex(&s).map_err(|m| PatternError { at, message: m })?), Literal::Str(s))
            } else if self.eat("MATCHES") {
                self.skip_space();
                let at = self.at;
                let s = self.string()?;
                let re = regex::RegexBuilder::new(&s)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| PatternError { at, message: format!("MATCHES: {e}") })?;
                (Operator::Matches(re), Literal::Str(s))
            } else if self.eat("ISSUBSET") {
                (Operator::IsSubset, Literal::Str(self.string()?))
            } else if self.eat("ISSUPERSET") {
                (Operator::IsSuperset, Literal::Str(self.string()?))
            } else {
                return Err(self.error("expected a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)"));
            };
            Comparison::Test { path, negated, operator, value }
        };
        self.depth -= 1;
        Ok(result)
    }

    fn path(&mut self) -> Result<ObjectPath, PatternError> {
        self.skip_space();
        let rest = self.rest();
        let len = rest.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')).unwrap_or(rest.len());
        if len == 0 || !rest[len..].starts_with(':') {
            return Err(self.error("expected an object path such as ipv4-addr:value"));
        }
        let object_type = rest[..len].to_string();
        self.at += len + 1;
        let mut steps = vec![Step::Key(self.path_key()?)];
        loop {
            if self.rest().starts_with('.') {
                self.at += 1;
                steps.push(Step::Key(self.path_key()?));
            } else if self.rest().starts_with("[*]") {
                self.at += 3;
                steps.push(Step::AnyIndex);
            } else if self.rest().starts_with('[') {
                self.at += 1;
                let digits = self.rest().find(|c: char| !c.is_ascii_digit()).unwrap_or(0);
                let index = self.rest()[..digits].parse().map_err(|_| self.error("expected a list index or *"))?;
                self.at += digits;
                if !self.rest().starts_with(']') {
                    return Err(self.error("expected ]"));
                }
                self.at += 1;
                steps.push(Step::Index(index));
            } else {
                break;
            }
        }
        Ok(ObjectPath { object_type, steps })
    }

    fn path_key(&mut self) -> Result<String, PatternError> {
        if self.rest().starts_with('\'') {
            return self.string();
        }
        let rest = self.rest();
        let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(rest.len());
        if len == 0 {
            return Err(self.error("expected a property name"));
        }
        self.at += len;
        Ok(rest[..len].to_string())
    }

    /// `'…'` with `\'` and `\\` escapes.
    fn string(&mut self) -> Result<String, PatternError> {
        self.skip_space();
        if !self.rest().starts_with('\'') {
            return Err(self.error("expected a quoted string"));
        }
        let start = self.at;
        let mut out = String::new();
        let mut chars = self.rest()[1..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\'' => {
                    self.at += i + 2;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, e @ ('\'' | '\\'))) => out.push(e),
                    _ => return Err(PatternError { at: self.at + i + 1, message: "only \\' and \\\\ are escapes".into() }),
                },
                c => out.push(c),
            }
        }
        Err(PatternError { at: start, message: "the string is not closed".into() })
    }

    fn number(&mut self) -> Result<f64, PatternError> {
        self.skip_space();
        let rest = self.rest();
        let len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+')).unwrap_or(rest.len());
        let n = rest[..len].parse::<f64>().map_err(|_| self.error("expected a number"))?;
        self.at += len;
        Ok(n)
    }

    fn timestamp(&mut self) -> Result<DateTime<Utc>, PatternError> {
        self.skip_space();
        if !self.rest().starts_with("t'") {
            return Err(self.error("expected a timestamp t'…'"));
        }
        self.at += 1;
        let at = self.at;
        let s = self.string()?;
        DateTime::parse_from_rfc3339(&s).map(|t| t.with_timezone(&Utc)).map_err(|e| PatternError { at, message: format!("timestamp: {e}") })
    }

    fn literal(&mut self) -> Result<Literal, PatternError> {
        self.skip_space();
        let rest = self.rest();
        if rest.starts_with("t'") {
            return self.timestamp().map(Literal::Time);
        }
        if rest.starts_with("h'") {
            self.at += 1;
            let at = self.at;
            let s = self.string()?;
            return data_hex(&s).map(Literal::Bytes).ok_or(PatternError { at, message: "not hexadecimal".into() });
        }
        if rest.starts_with("b'") {
            self.at += 1;
            let at = self.at;
            let s = self.string()?;
            return data_base64(&s).map(Literal::Bytes).ok_or(PatternError { at, message: "not base64".into() });
        }
        if rest.starts_with('\'') {
            return self.string().map(Literal::Str);
        }
        if self.eat("true") {
            return Ok(Literal::Bool(true));
        }
        if self.eat("false") {
            return Ok(Literal::Bool(false));
        }
        let len =
            rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')).unwrap_or(rest.len());
        let token = &rest[..len];
        let value = if let Ok(i) = token.parse::<i64>() {
            Literal::Int(i)
        } else if let Ok(f) = token.parse::<f64>() {
            Literal::Float(f)
        } else {
            return Err(self.error("expected a value: 'string', number, true, false, t'…', h'…' or b'…'"));
        };
        self.at += len;
        Ok(value)
    }

    fn orderable(&mut self) -> Result<Literal, PatternError> {
        let at = self.at;
        match self.literal()? {
            Literal::Bool(_) => Err(PatternError { at, message: "true and false cannot be ordered".into() }),
            v => Ok(v),
        }
    }

    fn set(&mut self) -> Result<Vec<Literal>, PatternError> {
        self.expect("(")?;
        let mut out = Vec::new();
        if self.eat(")") {
            return Ok(out);
        }
        loop {
            out.push(self.literal()?);
            if self.eat(")") {
                return Ok(out);
            }
            self.expect(",")?;
        }
    }
}

/// Inside one `[…]`, paths joined by AND name the same object type (section 9.4).
fn check_same_type(c: &Comparison) -> Result<Option<String>, String> {
    match c {
        Comparison::Test { path, .. } | Comparison::Exists(path) => Ok(Some(path.object_type.clone())),
        Comparison::Or(parts) => {
            for p in parts {
                check_same_type(p)?;
            }
            Ok(None)
        }
        Comparison::And(parts) => {
            let mut seen: Option<String> = None;
            for p in parts {
                if let Some(t) = check_same_type(p)? {
                    match &seen {
                        Some(s) if *s != t => return Err(format!("AND joins {s} and {t}; inside one [ ], AND compares one object type")),
                        _ => seen = Some(t),
                    }
                }
            }
            Ok(seen)
        }
    }
}

/// SQL LIKE (`%` any run, `_` one character) as an anchored regular expression.
fn like_regex(like: &str) -> Result<regex::Regex, String> {
    let mut re = String::from("(?s)^");
    for c in like.chars() {
        match c {
            '%' => re.push_str(".*"),
            '_' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).map_err(|e| format!("LIKE: {e}"))
}

fn data_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

fn data_base64(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    Some(out)
}
