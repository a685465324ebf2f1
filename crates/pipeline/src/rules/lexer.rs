//! The rules lexer: source text to tokens, each with the line and the 1-based column
//! (counted in characters) where it starts.
//!
//! A word is a run of letters, digits and `. _ - : / +`, so field names (`source.ip`),
//! tests (`:exists`), numbers (`-1.5`), addresses and prefixes (`10.0.0.0/8`,
//! `2001:db8::/32`) and bare timestamps each come out as one word; the parser decides
//! what a word means from where it stands. Strings take double quotes and end on the
//! line they start on. `#` starts a comment that runs to the end of the line.
//!
//! The lexer never fails outright: at the first character it cannot read it emits an
//! [`Tok::Error`] token and stops, so the parser reports whichever error comes first in
//! reading order.

use std::iter::Peekable;
use std::str::CharIndices;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok<'s> {
    /// A field name, keyword, action, number, address, prefix, `:exists` …
    Word(&'s str),
    /// A double-quoted string, escapes resolved.
    Str(String),
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Semi,
    /// `=`
    Assign,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `=~`
    Match,
    /// `!~`
    NotMatch,
    Lt,
    Le,
    Gt,
    Ge,
    /// `<<`
    Within,
    Newline,
    Eof,
    /// A lexical error (the message); always the last token.
    Error(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token<'s> {
    pub kind: Tok<'s>,
    pub line: usize,
    pub column: usize,
}

/// User text quoted in a message is cut, so one long token cannot flood it.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

impl Tok<'_> {
    /// How a message names the token: `'{'`, `'drop'`, `the string "x"`, `the end of the line`.
    pub(crate) fn describe(&self) -> String {
        let fixed = match self {
            Tok::Word(w) => return format!("'{}'", clip(w)),
            Tok::Str(s) => return format!("the string {:?}", clip(s)),
            Tok::Error(message) => return message.clone(),
            Tok::LBrace => "'{'",
            Tok::RBrace => "'}'",
            Tok::LParen => "'('",
            Tok::RParen => "')'",
            Tok::LBracket => "'['",
            Tok::RBracket => "']'",
            Tok::Comma => "','",
            Tok::Semi => "';'",
            Tok::Assign => "'='",
            Tok::Eq => "'=='",
            Tok::Ne => "'!='",
            Tok::Match => "'=~'",
            Tok::NotMatch => "'!~'",
            Tok::Lt => "'<'",
            Tok::Le => "'<='",
            Tok::Gt => "'>'",
            Tok::Ge => "'>='",
            Tok::Within => "'<<'",
            Tok::Newline => "the end of the line",
            Tok::Eof => "the end of the rules",
        };
        fixed.to_string()
    }
}

/// Whether `c` continues (or starts) a word.
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/' | '+')
}

struct Lexer<'s> {
    chars: Peekable<CharIndices<'s>>,
    line: usize,
    column: usize,
}

/// A lexical error at a position.
struct LexError {
    line: usize,
    column: usize,
    message: String,
}

impl Lexer<'_> {
    fn bump(&mut self) -> Option<(usize, char)> {
        let next = self.chars.next()?;
        if next.1 == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(next)
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().map(|&(_, c)| c)
    }

    fn eat(&mut self, want: char) -> bool {
        if self.peek() == Some(want) {
            self.bump();
            true
        } else {
            false
        }
    }

    /// The rest of a string whose opening quote (at `line`, `column`) was just read.
    fn string(&mut self, line: usize, column: usize) -> Result<String, LexError> {
        let unterminated =
            || LexError { line, column, message: "unterminated string: a string ends with '\"' on the line where it starts".to_string() };
        let mut out = String::new();
        loop {
            let (escape_line, escape_column) = (self.line, self.column);
            match self.bump() {
                None | Some((_, '\n')) => return Err(unterminated()),
                Some((_, '"')) => return Ok(out),
                Some((_, '\\')) => match self.bump() {
                    None | Some((_, '\n')) => return Err(unterminated()),
                    Some((_, '"')) => out.push('"'),
                    Some((_, '\\')) => out.push('\\'),
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, 'r')) => out.push('\r'),
                    Some((_, 'u')) => {
                        if !self.eat('{') {
                            out.push_str("\\u");
                            continue;
                        }
                        let bad = || LexError {
                            line: escape_line,
                            column: escape_column,
                            message: "bad escape: '\\u{…}' takes 1 to 6 hex digits naming a character".to_string(),
                        };
                        let mut value: u32 = 0;
                        let mut digits = 0;
                        loop {
                            match self.peek() {
                                Some('}') => {
                                    self.bump();
                                    break;
                                }
                                Some(c) if digits < 6 => match c.to_digit(16) {
                                    Some(d) => {
                                        self.bump();
                                        value = value * 16 + d;
                                        digits += 1;
                                    }
                                    None => return Err(bad()),
                                },
                                _ => return Err(bad()),
                            }
                        }
                        match char::from_u32(value) {
                            Some(c) if digits > 0 => out.push(c),
                            _ => return Err(bad()),
                        }
                    }
                    // Any other escape keeps its backslash, so regular expressions
                    // (`"^\d+\.example$"`) read as written.
                    Some((_, c)) => {
                        out.push('\\');
                        out.push(c);
                    }
                },
                Some((_, c)) => out.push(c),
            }
        }
    }
}

/// The tokens of `src`, ending with [`Tok::Eof`] or, at the first unreadable
/// character, with [`Tok::Error`].
pub(crate) fn lex(src: &str) -> Vec<Token<'_>> {
    let mut lx = Lexer { chars: src.char_indices().peekable(), line: 1, column: 1 };
    let mut out = Vec::new();
    loop {
        let (line, column) = (lx.line, lx.column);
        let Some((start, c)) = lx.bump() else {
            out.push(Token { kind: Tok::Eof, line, column });
            return out;
        };
        let kind = match c {
            ' ' | '\t' | '\r' | '\u{feff}' => continue,
            '\n' => Tok::Newline,
            '#' => {
                while lx.peek().is_some_and(|c| c != '\n') {
                    lx.bump();
                }
                continue;
            }
            '"' => match lx.string(line, column) {
                Ok(s) => Tok::Str(s),
                Err(e) => {
                    out.push(Token { kind: Tok::Error(e.message), line: e.line, column: e.column });
                    return out;
                }
            },
            '{' => Tok::LBrace,
            '}' => Tok::RBrace,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            ',' => Tok::Comma,
            ';' => Tok::Semi,
            '=' => {
                if lx.eat('=') {
                    Tok::Eq
                } else if lx.eat('~') {
                    Tok::Match
                } else {
                    Tok::Assign
                }
            }
            '!' => {
                if lx.eat('=') {
                    Tok::Ne
                } else if lx.eat('~') {
                    Tok::NotMatch
                } else {
                    Tok::Error("unexpected character '!' (negate with 'not'; compare with '!=' or '!~')".to_string())
                }
            }
            '<' => {
                if lx.eat('<') {
                    Tok::Within
                } else if lx.eat('=') {
                    Tok::Le
                } else {
                    Tok::Lt
                }
            }
            '>' => {
                if lx.eat('=') {
                    Tok::Ge
                } else {
                    Tok::Gt
                }
            }
            '&' => Tok::Error("unexpected character '&' (write 'and')".to_string()),
            '|' => Tok::Error("unexpected character '|' (write 'or')".to_string()),
            '\'' => Tok::Error("unexpected character '\\'' (strings take double quotes)".to_string()),
            c if is_word_char(c) => {
                let mut end = start + c.len_utf8();
                while let Some(&(at, next)) = lx.chars.peek() {
                    if !is_word_char(next) {
                        break;
                    }
                    lx.bump();
                    end = at + next.len_utf8();
                }
                Tok::Word(&src[start..end])
            }
            other => Tok::Error(format!("unexpected character {other:?}")),
        };
        let stop = matches!(kind, Tok::Error(_));
        out.push(Token { kind, line, column });
        if stop {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok<'_>> {
        lex(src).into_iter().map(|t| t.kind).collect()
    }

    fn positions(src: &str) -> Vec<(usize, usize)> {
        lex(src).into_iter().map(|t| (t.line, t.column)).collect()
    }

    #[test]
    fn words_operators_and_punctuation() {
        assert_eq!(
            kinds("if :exists source.ip and source.ip << 10.0.0.0/8 { drop }"),
            vec![
                Tok::Word("if"),
                Tok::Word(":exists"),
                Tok::Word("source.ip"),
                Tok::Word("and"),
                Tok::Word("source.ip"),
                Tok::Within,
                Tok::Word("10.0.0.0/8"),
                Tok::LBrace,
                Tok::Word("drop"),
                Tok::RBrace,
                Tok::Eof,
            ]
        );
        assert_eq!(
            kinds("a==b!=c=~d!~e<f<=g>h>=i=j[1,2];(x)"),
            vec![
                Tok::Word("a"),
                Tok::Eq,
                Tok::Word("b"),
                Tok::Ne,
                Tok::Word("c"),
                Tok::Match,
                Tok::Word("d"),
                Tok::NotMatch,
                Tok::Word("e"),
                Tok::Lt,
                Tok::Word("f"),
                Tok::Le,
                Tok::Word("g"),
                Tok::Gt,
                Tok::Word("h"),
                Tok::Ge,
                Tok::Word("i"),
                Tok::Assign,
                Tok::Word("j"),
                Tok::LBracket,
                Tok::Word("1"),
                Tok::Comma,
                Tok::Word("2"),
                Tok::RBracket,
                Tok::Semi,
                Tok::LParen,
                Tok::Word("x"),
                Tok::RParen,
                Tok::Eof,
            ]
        );
        assert_eq!(
            kinds("x << 2001:db8::/32 -1.5"),
            vec![Tok::Word("x"), Tok::Within, Tok::Word("2001:db8::/32"), Tok::Word("-1.5"), Tok::Eof]
        );
    }

    #[test]
    fn comments_newlines_and_positions() {
        assert_eq!(kinds("drop # a comment \"not a string\n keep"), vec![Tok::Word("drop"), Tok::Newline, Tok::Word("keep"), Tok::Eof]);
        assert_eq!(positions("drop\n  keep\r\n\tstop"), vec![(1, 1), (1, 5), (2, 3), (2, 8), (3, 2), (3, 6)]);
        // Columns count characters, not bytes.
        assert_eq!(positions("\"été\" x"), vec![(1, 1), (1, 7), (1, 8)]);
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(kinds(r#""a\"b\\c\n\t\u{e9}""#), vec![Tok::Str("a\"b\\c\n\té".to_string()), Tok::Eof]);
        // Unknown escapes keep their backslash (for regular expressions).
        assert_eq!(kinds(r#""^\d+\.x$""#), vec![Tok::Str(r"^\d+\.x$".to_string()), Tok::Eof]);
        assert_eq!(kinds(r##""# not a comment""##), vec![Tok::Str("# not a comment".to_string()), Tok::Eof]);
    }

    #[test]
    fn errors_stop_the_lexer_at_their_position() {
        let tokens = lex("route \"abc\ndrop");
        let last = tokens.last().unwrap();
        assert!(matches!(&last.kind, Tok::Error(m) if m.contains("unterminated string")), "{last:?}");
        assert_eq!((last.line, last.column), (1, 7));

        let tokens = lex("set x = \"ab\\u{zz}\"");
        let last = tokens.last().unwrap();
        assert!(matches!(&last.kind, Tok::Error(m) if m.contains("bad escape")), "{last:?}");
        assert_eq!((last.line, last.column), (1, 12));

        let tokens = lex("drop\n  @");
        let last = tokens.last().unwrap();
        assert_eq!((last.line, last.column), (2, 3));
        assert_eq!(last.kind, Tok::Error("unexpected character '@'".to_string()));

        assert!(matches!(kinds("a && b")[1], Tok::Error(ref m) if m.contains("'and'")));
        assert!(matches!(kinds("!a")[0], Tok::Error(ref m) if m.contains("'not'")));
    }

    #[test]
    fn describe_and_clip() {
        assert_eq!(Tok::LBrace.describe(), "'{'");
        assert_eq!(Tok::Word("drop").describe(), "'drop'");
        assert_eq!(Tok::Str("x".into()).describe(), "the string \"x\"");
        assert_eq!(Tok::Newline.describe(), "the end of the line");
        assert_eq!(clip(&"a".repeat(100)).chars().count(), 41);
    }
}
