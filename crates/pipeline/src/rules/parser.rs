//! The rules parser: tokens to compiled statements, by recursive descent. Every error
//! names the line and column of the token that is wrong (for an unclosed `{`, `(` or
//! `[` at the end of a block, the opening one).
//!
//! The grammar, in EBNF, is in `docs/rules.md`; each rule there is a method here
//! (`statements`, `statement`, `if_statement`, `block`, `condition`, `and_expr`,
//! `not_expr`, `primary`, `comparison`, `value`).

use super::eval::{parse_int, parse_number, parse_time, CidrSet, Cond, OrdLit, OrdOp, Stmt, Test, Value, ValueSet};
use super::lexer::{clip, lex, Tok, Token};
use super::RuleError;
use crate::event::{valid_field_name, FieldId};
use rampart_core::constituency::IpPrefix;
use regex::bytes::{Regex, RegexBuilder};

/// How deep blocks, parentheses and `not`s may nest together.
pub(crate) const MAX_DEPTH: usize = 64;

/// Words that cannot name a field.
const KEYWORDS: &[&str] = &["if", "elif", "else", "and", "or", "not", "in", "true", "false"];

const ACTIONS: &str = "if, drop, keep, set, remove, route, notify, incident or stop";

pub(crate) fn parse(src: &str) -> Result<Vec<Stmt>, RuleError> {
    let mut parser = Parser { toks: lex(src), pos: 0, depth: 0 };
    parser.statements(None)
}

struct Parser<'s> {
    /// Never empty: the lexer ends with `Eof` or `Error`.
    toks: Vec<Token<'s>>,
    pos: usize,
    depth: usize,
}

fn error_at(tok: &Token<'_>, message: impl Into<String>) -> RuleError {
    RuleError { line: tok.line, column: tok.column, message: message.into() }
}

/// Whether a word reads as an attempt at an address or prefix (rather than a field
/// name or a word that should have been quoted).
fn looks_like_address(word: &str) -> bool {
    word.contains([':', '/']) || (word.starts_with(|c: char| c.is_ascii_digit()) && word.contains('.'))
}

fn is_field_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic()) && valid_field_name(name) && !KEYWORDS.contains(&name)
}

/// What a bare word means as a value: `Ok(None)` when it is no value at all.
fn classify(word: &str) -> Result<Option<Value>, String> {
    match word {
        "true" => return Ok(Some(Value::Bool(true))),
        "false" => return Ok(Some(Value::Bool(false))),
        _ => {}
    }
    if let Some(i) = parse_int(word) {
        return Ok(Some(Value::Int(i)));
    }
    if let Some(f) = parse_number(word) {
        return Ok(Some(Value::Float(f)));
    }
    if parse_time(word).is_some() {
        return Ok(Some(Value::Text(word.to_string())));
    }
    if looks_like_address(word) {
        return match IpPrefix::parse(word) {
            Ok(prefix) if !word.contains('/') => Ok(Some(Value::Addr(prefix.addr()))),
            Ok(prefix) => Ok(Some(Value::Net(prefix))),
            Err(e) => Err(format!("bad IP address or CIDR prefix: {e}")),
        };
    }
    Ok(None)
}

/// Compiles a pattern. Without the regex crate's Unicode tables, `\d`, `\w`, `\b` and
/// `(?i)` are refused in Unicode mode; such a pattern is compiled again in ASCII mode.
fn compile_regex(pattern: &str) -> Result<Regex, String> {
    match RegexBuilder::new(pattern).build() {
        Ok(re) => Ok(re),
        Err(first) => RegexBuilder::new(pattern).unicode(false).build().map_err(|_| {
            let text = first.to_string();
            let reason = match text.rfind("error: ") {
                Some(at) => text[at + "error: ".len()..].trim().to_string(),
                None => text.trim().to_string(),
            };
            format!("bad regular expression {:?}: {reason}", clip(pattern))
        }),
    }
}

impl<'s> Parser<'s> {
    fn peek(&self) -> &Token<'s> {
        &self.toks[self.pos]
    }

    fn kind(&self) -> &Tok<'s> {
        &self.peek().kind
    }

    fn advance(&mut self) {
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.kind(), Tok::Word(w) if *w == word)
    }

    fn skip_newlines(&mut self) {
        while matches!(self.kind(), Tok::Newline) {
            self.advance();
        }
    }

    /// How a message names the token before the current one.
    fn prev(&self) -> String {
        match self.pos.checked_sub(1) {
            Some(at) => self.toks[at].kind.describe(),
            None => "the start".to_string(),
        }
    }

    /// An error at the current token; a lexical error there wins, as it explains more.
    fn error(&self, message: impl Into<String>) -> RuleError {
        let tok = self.peek();
        match &tok.kind {
            Tok::Error(lexical) => error_at(tok, lexical.clone()),
            _ => error_at(tok, message),
        }
    }

    fn expected(&self, what: &str) -> RuleError {
        self.error(format!("expected {what}, found {}", self.kind().describe()))
    }

    /// Errors for a closing bracket that closes nothing.
    fn stray(&self) -> Option<RuleError> {
        match self.kind() {
            Tok::RParen => Some(self.error("')' without a matching '('")),
            Tok::RBracket => Some(self.error("']' without a matching '['")),
            Tok::RBrace => Some(self.error("'}' without a matching '{'")),
            _ => None,
        }
    }

    fn enter(&mut self) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("nested too deeply (more than {MAX_DEPTH} levels of blocks, parentheses and 'not')")));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Statements up to the end of the input, or (when `open` is the index of a `{`)
    /// up to and including the matching `}`.
    fn statements(&mut self, open: Option<usize>) -> Result<Vec<Stmt>, RuleError> {
        let mut out = Vec::new();
        loop {
            while matches!(self.kind(), Tok::Newline | Tok::Semi) {
                self.advance();
            }
            if matches!(self.kind(), Tok::Eof) {
                return match open {
                    None => Ok(out),
                    Some(at) => Err(error_at(&self.toks[at], "'{' is never closed: expected '}' before the end of the rules")),
                };
            }
            if open.is_some() && matches!(self.kind(), Tok::RBrace) {
                self.advance();
                return Ok(out);
            }
            out.push(self.statement()?);
            match self.kind() {
                Tok::Newline | Tok::Semi | Tok::RBrace | Tok::Eof => {}
                _ => {
                    return Err(match self.stray() {
                        Some(e) => e,
                        None => self.expected(&format!("a new line or ';' after {}", self.prev())),
                    })
                }
            }
        }
    }

    fn statement(&mut self) -> Result<Stmt, RuleError> {
        let word = match self.kind() {
            Tok::Word(w) => *w,
            _ => {
                return Err(match self.stray() {
                    Some(e) => e,
                    None => self.expected(&format!("an action ({ACTIONS})")),
                })
            }
        };
        match word {
            "if" => return self.if_statement(),
            "elif" | "else" => {
                return Err(
                    self.error(format!("'{word}' without a matching 'if' (it must follow the '}}' that closes an 'if' or 'elif' block)"))
                )
            }
            _ => {}
        }
        let at = self.pos;
        self.advance();
        Ok(match word {
            "drop" => Stmt::Drop,
            "keep" => Stmt::Keep,
            "stop" => Stmt::Stop,
            "notify" => Stmt::Notify,
            "set" => {
                let field = self.field("after 'set'")?;
                if !matches!(self.kind(), Tok::Assign) {
                    return Err(self.expected(&format!("'=' after {}", self.prev())));
                }
                self.advance();
                let (kind, text) = self.value()?.into_field_value();
                Stmt::Set { field, kind, text: text.into_boxed_str() }
            }
            "remove" => Stmt::Remove(self.field("after 'remove'")?),
            "route" => Stmt::Route(self.quoted("the output name", "route")?),
            "incident" => Stmt::Incident(self.quoted("the incident title", "incident")?),
            _ => return Err(error_at(&self.toks[at], format!("unknown action '{}' (expected {ACTIONS})", clip(word)))),
        })
    }

    /// At `if`.
    fn if_statement(&mut self) -> Result<Stmt, RuleError> {
        self.advance();
        let mut branches = Vec::new();
        let cond = self.condition()?;
        let body = self.block(true)?;
        branches.push((cond, body));
        let mut otherwise = Vec::new();
        loop {
            let save = self.pos;
            self.skip_newlines();
            if self.is_word("elif") {
                self.advance();
                let cond = self.condition()?;
                let body = self.block(true)?;
                branches.push((cond, body));
            } else if self.is_word("else") {
                self.advance();
                if self.is_word("if") {
                    self.enter()?;
                    otherwise.push(self.if_statement()?);
                    self.leave();
                } else {
                    otherwise = self.block(false)?;
                }
                break;
            } else {
                self.pos = save;
                break;
            }
        }
        Ok(Stmt::If { branches, otherwise })
    }

    /// `{ statements }`, after a condition or after `else`.
    fn block(&mut self, after_condition: bool) -> Result<Vec<Stmt>, RuleError> {
        let after = self.prev();
        self.skip_newlines();
        if !matches!(self.kind(), Tok::LBrace) {
            if let Some(e) = self.stray() {
                return Err(e);
            }
            return Err(if after_condition {
                self.expected(&format!("'and', 'or' or '{{' after {after}"))
            } else {
                self.expected(&format!("'{{' after {after}"))
            });
        }
        let open = self.pos;
        self.enter()?;
        self.advance();
        let body = self.statements(Some(open))?;
        self.leave();
        Ok(body)
    }

    fn condition(&mut self) -> Result<Cond, RuleError> {
        let first = self.and_expr()?;
        if !self.continues_with("or") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.continues_with("or") {
            self.advance();
            self.skip_newlines();
            items.push(self.and_expr()?);
        }
        Ok(Cond::Any(items))
    }

    fn and_expr(&mut self) -> Result<Cond, RuleError> {
        let first = self.not_expr()?;
        if !self.continues_with("and") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.continues_with("and") {
            self.advance();
            self.skip_newlines();
            items.push(self.not_expr()?);
        }
        Ok(Cond::All(items))
    }

    /// Whether the next token, past any line breaks, is `word` (which then becomes the
    /// current token). A statement never starts with `and` or `or`, so a condition may
    /// go on at the start of the next line.
    fn continues_with(&mut self, word: &str) -> bool {
        let mut at = self.pos;
        while at + 1 < self.toks.len() && matches!(self.toks[at].kind, Tok::Newline) {
            at += 1;
        }
        let found = matches!(&self.toks[at].kind, Tok::Word(w) if *w == word);
        if found {
            self.pos = at;
        }
        found
    }

    fn not_expr(&mut self) -> Result<Cond, RuleError> {
        if !self.is_word("not") {
            return self.primary();
        }
        self.advance();
        self.skip_newlines();
        self.enter()?;
        let inner = self.not_expr()?;
        self.leave();
        Ok(Cond::Not(Box::new(inner)))
    }

    fn primary(&mut self) -> Result<Cond, RuleError> {
        let word = match self.kind() {
            Tok::LParen => return self.group(),
            Tok::Word(w) => *w,
            _ => {
                return Err(match self.stray() {
                    Some(e) => e,
                    None => self.expected(&format!("a condition after {}", self.prev())),
                })
            }
        };
        match word {
            ":exists" | ":notexists" => {
                self.advance();
                let field = self.field(&format!("after '{word}'"))?;
                let exists = Cond::Exists(field);
                Ok(if word == ":exists" { exists } else { Cond::Not(Box::new(exists)) })
            }
            _ if word.starts_with(':') => Err(self.error(format!("unknown test '{}' (expected ':exists' or ':notexists')", clip(word)))),
            _ => {
                let field = self.field("in the condition")?;
                self.comparison(field, word)
            }
        }
    }

    /// At `(`.
    fn group(&mut self) -> Result<Cond, RuleError> {
        let open = self.pos;
        self.enter()?;
        self.advance();
        self.skip_newlines();
        let inner = self.condition()?;
        self.skip_newlines();
        match self.kind() {
            Tok::RParen => {}
            Tok::LBrace | Tok::RBrace | Tok::Eof => {
                return Err(error_at(&self.toks[open], format!("'(' is never closed: found {} before a ')'", self.kind().describe())))
            }
            _ => return Err(self.expected(&format!("')', 'and' or 'or' after {}", self.prev()))),
        }
        self.advance();
        self.leave();
        Ok(inner)
    }

    fn comparison(&mut self, field: FieldId, name: &str) -> Result<Cond, RuleError> {
        let test = match self.kind() {
            Tok::Eq | Tok::Ne => {
                let negate = matches!(self.kind(), Tok::Ne);
                self.advance();
                let mut set = ValueSet::default();
                set.push(self.value()?);
                Test::Member { set: set.finish(), negate }
            }
            Tok::Match | Tok::NotMatch => {
                let negate = matches!(self.kind(), Tok::NotMatch);
                self.advance();
                Test::Regex { re: self.regex()?, negate }
            }
            Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge => {
                let op = match self.kind() {
                    Tok::Lt => OrdOp::Lt,
                    Tok::Le => OrdOp::Le,
                    Tok::Gt => OrdOp::Gt,
                    _ => OrdOp::Ge,
                };
                self.advance();
                Test::Order { op, lit: self.order_literal()? }
            }
            Tok::Within => {
                self.advance();
                Test::Within(self.cidrs()?)
            }
            Tok::Word("in") => {
                self.advance();
                Test::Member { set: self.list()?, negate: false }
            }
            Tok::Word("not") => {
                self.advance();
                if !self.is_word("in") {
                    return Err(self.expected("'in' after 'not'"));
                }
                self.advance();
                Test::Member { set: self.list()?, negate: true }
            }
            Tok::Assign => return Err(self.error(format!("expected a comparison after '{}', found '=' (compare with '==')", clip(name)))),
            _ => {
                return Err(self.expected(&format!("a comparison (==, !=, =~, !~, <, <=, >, >=, <<, in, not in) after '{}'", clip(name))));
            }
        };
        Ok(Cond::Test { field, test })
    }

    /// A field name at the current token.
    fn field(&mut self, context: &str) -> Result<FieldId, RuleError> {
        let name = match self.kind() {
            Tok::Word(w) => *w,
            _ => return Err(self.expected(&format!("a field name {context}"))),
        };
        if !is_field_name(name) {
            return Err(self.error(format!(
                "bad field name '{}': a field name starts with a letter, has only letters, digits, '.', '_' and '-', and is no keyword",
                clip(name)
            )));
        }
        let id = FieldId::intern(name).map_err(|e| self.error(e.to_string()))?;
        self.advance();
        Ok(id)
    }

    /// A quoted, non-empty string (an output name or incident title).
    fn quoted(&mut self, what: &str, after: &str) -> Result<Box<str>, RuleError> {
        let text = match self.kind() {
            Tok::Str(s) => s.clone(),
            _ => return Err(self.expected(&format!("{what} in double quotes after '{after}'"))),
        };
        if text.trim().is_empty() {
            return Err(self.error(format!("{what} must not be empty")));
        }
        self.advance();
        Ok(text.into_boxed_str())
    }

    /// A value: a string, number, boolean, address or prefix.
    fn value(&mut self) -> Result<Value, RuleError> {
        let after = self.prev();
        let value = match self.kind() {
            Tok::Str(s) => Value::Text(s.clone()),
            Tok::Word(w) => match classify(w) {
                Ok(Some(value)) => value,
                Ok(None) => {
                    return Err(self.error(format!("expected a value after {after}, found '{}' (text goes in double quotes)", clip(w))));
                }
                Err(message) => return Err(self.error(message)),
            },
            _ => return Err(self.expected(&format!("a value after {after}"))),
        };
        self.advance();
        Ok(value)
    }

    fn regex(&mut self) -> Result<Regex, RuleError> {
        let pattern = match self.kind() {
            Tok::Str(s) => s.clone(),
            _ => return Err(self.expected(&format!("a regular expression in double quotes after {}", self.prev()))),
        };
        let re = compile_regex(&pattern).map_err(|message| self.error(message))?;
        self.advance();
        Ok(re)
    }

    fn order_literal(&mut self) -> Result<OrdLit, RuleError> {
        let what = format!("a number or an RFC 3339 timestamp after {}", self.prev());
        let text: &str = match self.kind() {
            Tok::Str(s) => s.as_str(),
            Tok::Word(w) => w,
            _ => return Err(self.expected(&what)),
        };
        let literal = if let Some(i) = parse_int(text) {
            OrdLit::Int(i)
        } else if let Some(f) = parse_number(text) {
            OrdLit::Float(f)
        } else if let Some(t) = parse_time(text) {
            OrdLit::Time(t)
        } else {
            return Err(self.expected(&what));
        };
        self.advance();
        Ok(literal)
    }

    /// An address or prefix, bare or quoted.
    fn prefix(&mut self) -> Result<IpPrefix, RuleError> {
        let parsed = match self.kind() {
            Tok::Str(s) => IpPrefix::parse(s),
            Tok::Word(w) if looks_like_address(w) => IpPrefix::parse(w),
            _ => return Err(self.expected(&format!("an IP address or CIDR prefix after {}", self.prev()))),
        };
        let prefix = parsed.map_err(|e| self.error(format!("bad IP address or CIDR prefix: {e}")))?;
        self.advance();
        Ok(prefix)
    }

    /// After `<<`: one prefix or a list of them.
    fn cidrs(&mut self) -> Result<CidrSet, RuleError> {
        let mut set = CidrSet::default();
        if matches!(self.kind(), Tok::LBracket) {
            self.bracketed(&mut set, |parser, set| {
                set.push(&parser.prefix()?);
                Ok(())
            })?;
        } else {
            set.push(&self.prefix()?);
        }
        Ok(set.finish())
    }

    /// After `in`: a list of values.
    fn list(&mut self) -> Result<ValueSet, RuleError> {
        let mut set = ValueSet::default();
        self.bracketed(&mut set, |parser, set| {
            set.push(parser.value()?);
            Ok(())
        })?;
        Ok(set.finish())
    }

    /// `[ item, item, … ]`, trailing comma and line breaks allowed.
    fn bracketed<T>(&mut self, acc: &mut T, item: fn(&mut Self, &mut T) -> Result<(), RuleError>) -> Result<(), RuleError> {
        if !matches!(self.kind(), Tok::LBracket) {
            return Err(self.expected(&format!("a list in '[' and ']' after {}", self.prev())));
        }
        let open = self.pos;
        self.advance();
        loop {
            self.skip_newlines();
            let unclosed = |parser: &Self| {
                error_at(&parser.toks[open], format!("'[' is never closed: found {} before a ']'", parser.kind().describe()))
            };
            match self.kind() {
                Tok::RBracket => {
                    self.advance();
                    return Ok(());
                }
                Tok::Eof | Tok::LBrace | Tok::RBrace => return Err(unclosed(self)),
                _ => {}
            }
            item(self, acc)?;
            self.skip_newlines();
            match self.kind() {
                Tok::Comma => self.advance(),
                Tok::RBracket => {}
                Tok::Eof | Tok::LBrace | Tok::RBrace => return Err(unclosed(self)),
                _ => return Err(self.expected(&format!("',' or ']' after {}", self.prev()))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::compile;

    /// The error for `src`, as (line, column, message).
    fn error(src: &str) -> (usize, usize, String) {
        match compile(src) {
            Ok(_) => panic!("{src:?} compiled"),
            Err(e) => (e.line, e.column, e.message),
        }
    }

    fn assert_error(src: &str, line: usize, column: usize, needle: &str) {
        let (l, c, message) = error(src);
        assert_eq!((l, c), (line, column), "{src:?}: {message}");
        assert!(message.contains(needle), "{src:?}: {message:?} lacks {needle:?}");
    }

    #[test]
    fn the_documented_message() {
        let err = compile("drop\n\nif x.abcd == { drop }").unwrap_err();
        assert_eq!(err.to_string(), "line 3, column 14: expected a value after '==', found '{'");
    }

    #[test]
    fn unknown_actions() {
        assert_error("if a == 1 {\n  dorp\n}", 2, 3, "unknown action 'dorp'");
        assert_error("source.ip == 1", 1, 1, "unknown action 'source.ip'");
        assert_error("{ drop }", 1, 1, "expected an action");
        assert_error("drop\n  \"x\"", 2, 3, "expected an action");
    }

    #[test]
    fn unterminated_strings() {
        assert_error("drop\nroute \"abc\ndrop", 2, 7, "unterminated string");
        assert_error("if feed.name == \"x { drop }", 1, 17, "unterminated string");
        assert_error("incident \"ends with a backslash\\", 1, 10, "unterminated string");
        // A lexical error after a syntax error does not hide the syntax error.
        assert_error("dorp\nroute \"abc", 1, 1, "unknown action");
    }

    #[test]
    fn bad_regular_expressions() {
        let (line, column, message) = error("if feed.name =~ \"(\" { drop }");
        assert_eq!((line, column), (1, 17));
        assert!(message.starts_with("bad regular expression \"(\""), "{message}");
        assert!(message.contains("unclosed group"), "{message}");
        assert_error("if a !~ \"[z-a]\" { drop }", 1, 9, "bad regular expression");
        assert_error("if a =~ DNS { drop }", 1, 9, "expected a regular expression in double quotes after '=~', found 'DNS'");
    }

    #[test]
    fn bad_cidrs() {
        assert_error("if source.ip << 10.0.0.1/8 { drop }", 1, 17, "host bits set");
        assert_error("if source.ip << [10.0.0.0/8,\n  192.168.0.0/33] { drop }", 2, 3, "prefix length");
        assert_error("if source.ip << \"10.0.0.300/8\" { drop }", 1, 17, "bad IP address or CIDR prefix");
        assert_error("if source.ip == 10.0.0.1/8 { drop }", 1, 17, "host bits set");
        assert_error("set source.network = 2001:db8::1/32", 1, 22, "host bits set");
        assert_error("if source.ip << 10 { drop }", 1, 17, "expected an IP address or CIDR prefix after '<<', found '10'");
    }

    #[test]
    fn bad_field_names() {
        assert_error("remove 9raw", 1, 8, "bad field name '9raw'");
        assert_error("set a:b = 1", 1, 5, "bad field name 'a:b'");
        assert_error("if :exists source..ip/x { drop }", 1, 12, "bad field name");
        assert_error("if x == 1 and and { drop }", 1, 15, "bad field name 'and'");
        assert_error("if fïeld == 1 { drop }", 1, 4, "bad field name");
        assert_error("remove \"raw\"", 1, 8, "expected a field name after 'remove', found the string \"raw\"");
        assert_error("if :exist raw { drop }", 1, 4, "unknown test ':exist'");
    }

    #[test]
    fn unbalanced_braces_and_parentheses() {
        assert_error("if a == 1 {\n  drop\n", 1, 11, "'{' is never closed");
        assert_error("if a == 1 { if b == 2 { drop }", 1, 11, "'{' is never closed");
        assert_error("drop\n}", 2, 1, "'}' without a matching '{'");
        assert_error("if a == 1 { drop } }", 1, 20, "'}' without a matching '{'");
        assert_error("if (a == 1 { drop }", 1, 4, "'(' is never closed");
        assert_error("if ((a == 1) or b == 2 { drop }", 1, 4, "'(' is never closed");
        assert_error("if a == 1) { drop }", 1, 10, "')' without a matching '('");
        assert_error("if (a == 1 b == 2) { drop }", 1, 12, "expected ')', 'and' or 'or' after '1', found 'b'");
        assert_error("if a in [1, 2 { drop }", 1, 9, "'[' is never closed");
        assert_error("drop )", 1, 6, "')' without a matching '('");
        assert_error("]", 1, 1, "']' without a matching '['");
    }

    #[test]
    fn elif_and_else_without_if() {
        assert_error("drop\nelif a == 1 { keep }", 2, 1, "'elif' without a matching 'if'");
        assert_error("else { keep }", 1, 1, "'else' without a matching 'if'");
        assert_error("if a == 1 { drop }; else { keep }", 1, 21, "'else' without a matching 'if'");
        assert_error("if a == 1 { drop }\n\nkeep\nelse { keep }", 4, 1, "'else' without a matching 'if'");
        assert_error("if a == 1 { drop } else { keep } else { drop }", 1, 34, "expected a new line or ';' after '}', found 'else'");
    }

    #[test]
    fn missing_values() {
        assert_error("if source.ip == { drop }", 1, 17, "expected a value after '==', found '{'");
        assert_error("set extra.priority =\ndrop", 1, 21, "expected a value after '=', found the end of the line");
        assert_error("set extra.priority = ", 1, 22, "expected a value after '=', found the end of the rules");
        assert_error("set extra.priority 2", 1, 20, "expected '=' after 'extra.priority', found '2'");
        assert_error("if a == b { drop }", 1, 9, "expected a value after '==', found 'b' (text goes in double quotes)");
        assert_error("if a in [1,, 2] { drop }", 1, 12, "expected a value after ',', found ','");
        assert_error("if a < \"soon\" { drop }", 1, 8, "expected a number or an RFC 3339 timestamp after '<'");
        assert_error("if a { drop }", 1, 6, "expected a comparison");
        assert_error("if a = 1 { drop }", 1, 6, "compare with '=='");
        assert_error("if a not [1] { drop }", 1, 10, "expected 'in' after 'not'");
        assert_error("if a in 1 { drop }", 1, 9, "expected a list in '[' and ']' after 'in'");
        assert_error("if { drop }", 1, 4, "expected a condition after 'if', found '{'");
        assert_error("if a == 1 and { drop }", 1, 15, "expected a condition after 'and'");
        assert_error("route", 1, 6, "expected the output name in double quotes after 'route'");
        assert_error("route \" \"", 1, 7, "the output name must not be empty");
        assert_error("incident 3", 1, 10, "expected the incident title in double quotes");
    }

    #[test]
    fn trailing_garbage() {
        assert_error("drop now", 1, 6, "expected a new line or ';' after 'drop', found 'now'");
        assert_error("set a = 1 2", 1, 11, "after '1', found '2'");
        assert_error("if a == 1 2 { drop }", 1, 11, "expected 'and', 'or' or '{' after '1', found '2'");
        assert_error("if a == 1 { drop } keep", 1, 20, "after '}', found 'keep'");
        assert_error("else", 1, 1, "without a matching 'if'");
    }

    #[test]
    fn other_lexical_errors() {
        assert_error("if a == 1 && b == 2 { drop }", 1, 11, "write 'and'");
        assert_error("if !a { drop }", 1, 4, "negate with 'not'");
        assert_error("route 'x'", 1, 7, "double quotes");
        assert_error("set a = \"\\u{110000}\"", 1, 10, "bad escape");
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("if {}a == 1{} {{ drop }}", "(".repeat(100), ")".repeat(100));
        let (line, _, message) = error(&deep);
        assert_eq!(line, 1);
        assert!(message.contains("nested too deeply"), "{message}");
        let nots = format!("if {} a == 1 {{ drop }}", "not ".repeat(200));
        assert!(error(&nots).2.contains("nested too deeply"));
        let blocks = format!("{}drop{}", "if a == 1 { ".repeat(100), " }".repeat(100));
        assert!(error(&blocks).2.contains("nested too deeply"));
        let chain = format!("if a == 1 {{ drop }}{}", " else if a == 2 { drop }".repeat(100));
        assert!(error(&chain).2.contains("nested too deeply"));
        // Within the limit all is well.
        let fine = format!("if {}a == 1{} {{ drop }}", "(".repeat(20), ")".repeat(20));
        assert!(compile(&fine).is_ok());
    }

    #[test]
    fn layout_is_flexible() {
        let src = "
            # a comment line
            if (source.ip << 10.0.0.0/8
                or source.ip << 192.168.0.0/16) and
               :exists feed.name
            {
                drop;
            }
            elif source.port in [
                23,
                2323,
            ] { route \"telnet\"; notify }
            else
            {
                keep
            }
            if a == 1 { drop } elif a == 2 { keep } else if a == 3 { stop } else { notify }
            if classification.type == \"vulnerable-system\"
               and source.port in [23, 2323]
               or not
                  :exists x { notify }
        ";
        compile(src).unwrap();
    }

    #[test]
    fn classify_values() {
        assert_eq!(classify("true"), Ok(Some(Value::Bool(true))));
        assert_eq!(classify("-12"), Ok(Some(Value::Int(-12))));
        assert_eq!(classify("1.5"), Ok(Some(Value::Float(1.5))));
        assert_eq!(classify("2026-01-01T00:00:00Z"), Ok(Some(Value::Text("2026-01-01T00:00:00Z".into()))));
        assert_eq!(classify("::1"), Ok(Some(Value::Addr("::1".parse().unwrap()))));
        assert!(matches!(classify("10.0.0.0/8"), Ok(Some(Value::Net(_)))));
        assert!(classify("10.0.0.1/8").is_err());
        assert_eq!(classify("telnet"), Ok(None));
        assert_eq!(classify("source.ip"), Ok(None));
    }
}
