//! MISP's regex entries are PHP PCRE literals, `/pattern/flags`. They become Rust regexes:
//! the flags `i`, `m`, `s`, `x` and `u` carry over, `g` and `D` mean nothing for a yes/no
//! match, and what Rust's engine does not have (look-around, back-references) is refused
//! with the reason, so the entry is reported instead of silently never matching.

use regex::Regex;

/// Compiles one entry; the error says why it cannot be used.
pub fn compile(entry: &str) -> Result<Regex, String> {
    let (pattern, flags) = split(entry)?;
    let mut inline = String::new();
    for flag in flags.chars() {
        match flag {
            'i' | 'm' | 's' | 'x' | 'u' => {
                if !inline.contains(flag) {
                    inline.push(flag);
                }
            }
            // Global search and "dollar at end only" change nothing for a yes/no match.
            'g' | 'D' => {}
            other => return Err(format!("the PCRE flag {other:?} is not supported")),
        }
    }
    let full = if inline.is_empty() { pattern.to_string() } else { format!("(?{inline}){pattern}") };
    regex::RegexBuilder::new(&full).size_limit(1 << 20).build().map_err(|e| match e {
        regex::Error::Syntax(text) => format!("not a pattern Rampart can run: {}", text.lines().last().unwrap_or("syntax error")),
        regex::Error::CompiledTooBig(_) => "the pattern is too large".to_string(),
        other => other.to_string(),
    })
}

/// `/pattern/flags` with any non-alphanumeric delimiter (PHP allows `#…#`, `~…~`, and the
/// bracket pairs); a bare pattern is taken as it is.
fn split(entry: &str) -> Result<(&str, &str), String> {
    let Some(first) = entry.chars().next() else { return Err("the entry is empty".into()) };
    if first.is_alphanumeric() || first == '\\' || first.is_whitespace() {
        return Ok((entry, ""));
    }
    let closing = match first {
        '(' => ')',
        '[' => ']',
        '{' => '}',
        '<' => '>',
        other => other,
    };
    let body = &entry[first.len_utf8()..];
    let end = body.rfind(closing).ok_or_else(|| format!("no closing {closing:?} delimiter"))?;
    Ok((&body[..end], &body[end + closing.len_utf8()..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pcre_literals_become_rust_regexes() {
        let re = compile(r"/^(security|noc|soc|abuse)\@.*\..*$/i").unwrap();
        assert!(re.is_match("Abuse@example.org") && !re.is_match("alice@example.org"));
        assert!(compile(r"/((?:\+|00)1)?([0-9]{3})55501([0-9]{2})/g").unwrap().is_match("+12125550199"));
        assert!(compile("#a/b#").unwrap().is_match("xa/by"));
        assert!(compile("{ab}i").unwrap().is_match("AB"));
        assert!(compile("plain[0-9]").unwrap().is_match("plain7"));
        assert!(compile("/(?=x)x/").unwrap_err().contains("not a pattern"), "look-ahead is refused");
        assert!(compile(r"/(a)\1/").is_err(), "back-references are refused");
        assert!(compile("/abc/e").unwrap_err().contains("flag"));
        assert!(compile("/abc").unwrap_err().contains("delimiter"));
        assert!(compile("").is_err());
    }

    proptest! {
        #[test]
        fn any_entry_compiles_or_says_why(entry in ".{0,40}") {
            if let Err(reason) = compile(&entry) {
                prop_assert!(!reason.is_empty());
            }
        }
    }
}
