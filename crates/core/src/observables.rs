//! Observables in free text: IP addresses, domains, URLs, e-mail addresses, file
//! hashes and CVE ids, also when defanged (`1.2.3[.]4`, `hxxp://`, `evil(dot)tw`).
//! Reporters paste anything; extraction never fails, it only finds less.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

crate::wire_enum! {
    ObservableKind, "observable kind" {
        Ipv4 => "ipv4",
        Ipv6 => "ipv6",
        Domain => "domain",
        Url => "url",
        Email => "email",
        Md5 => "md5",
        Sha1 => "sha1",
        Sha256 => "sha256",
        Cve => "cve",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Observable {
    pub kind: ObservableKind,
    /// Normalised: refanged, lower-case where case does not matter, CVE ids upper-case.
    pub value: String,
}

impl Observable {
    /// An observable whose value is normalised already.
    pub fn new(kind: ObservableKind, value: impl Into<String>) -> Self {
        Self { kind, value: value.into() }
    }
}

/// Text larger than this is read only up to here; a reporter's 2 GB paste must not
/// stall intake.
pub const MAX_SCAN_BYTES: usize = 4 * 1024 * 1024;

/// Every distinct observable in `text`, sorted.
pub fn extract(text: &str) -> Vec<Observable> {
    let mut end = text.len().min(MAX_SCAN_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let text = refang(&text[..end]);
    let mut found = BTreeSet::new();
    for token in text.split(is_separator) {
        classify(token.trim_matches(is_edge_punctuation), &mut found);
    }
    found.into_iter().collect()
}

/// Undoes the usual ways of making indicators unclickable.
pub fn refang(text: &str) -> String {
    let mut out = text.to_string();
    for (from, to) in [
        ("[.]", "."),
        ("(.)", "."),
        ("{.}", "."),
        ("[dot]", "."),
        ("(dot)", "."),
        ("[:]", ":"),
        ("[://]", "://"),
        ("[@]", "@"),
        ("[at]", "@"),
        ("(at)", "@"),
    ] {
        if out.contains(from) {
            out = out.replace(from, to);
        }
    }
    // hxxp, hXXps, fxp → http, https, ftp (case-insensitive, at a word start)
    let mut fixed = String::with_capacity(out.len());
    let lower = out.to_ascii_lowercase();
    let mut i = 0;
    while i < out.len() {
        let rest = &lower[i..];
        let at_word_start = i == 0 || !lower.as_bytes()[i - 1].is_ascii_alphanumeric();
        if at_word_start && (rest.starts_with("hxxp") || rest.starts_with("hxxps")) {
            fixed.push_str("http");
            i += 4;
        } else if at_word_start && rest.starts_with("fxp://") {
            fixed.push_str("ftp");
            i += 3;
        } else {
            let ch = out[i..].chars().next().unwrap_or(' ');
            fixed.push(ch);
            i += ch.len_utf8();
        }
    }
    fixed
}

/// Indicators are ASCII (IDNs travel as punycode), so any other character, such as
/// Chinese text written without spaces around an address, separates tokens.
fn is_separator(c: char) -> bool {
    !c.is_ascii()
        || c.is_ascii_whitespace()
        || c.is_ascii_control()
        || matches!(c, '<' | '>' | '"' | '\'' | '`' | ',' | ';' | '|' | '(' | ')' | '{' | '}' | '\\' | '^')
}

fn is_edge_punctuation(c: char) -> bool {
    matches!(c, '.' | ':' | '!' | '?' | '*' | '=' | '-' | '_' | '/' | '#')
}

fn tlds() -> &'static HashSet<&'static str> {
    static TLDS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    TLDS.get_or_init(|| include_str!("../data/tlds.txt").lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect())
}

fn classify(token: &str, found: &mut BTreeSet<Observable>) {
    if token.len() < 3 || token.len() > 2048 {
        return;
    }
    let lower = token.to_ascii_lowercase();
    if let Some(scheme_end) = lower.find("://") {
        let scheme = &lower[..scheme_end];
        if matches!(scheme, "http" | "https" | "ftp") && token.len() > scheme_end + 3 {
            found.insert(Observable::new(ObservableKind::Url, normalise_url(token, scheme_end)));
            let host = host_of(&token[scheme_end + 3..]);
            classify_host(host, found);
        }
        return;
    }
    // key=value logs (`src=192.0.2.1`, `sha256=…`): the value.
    if let Some((_, value)) = token.rsplit_once('=') {
        classify(value, found);
        return;
    }
    if let Some(cve) = as_cve(&lower) {
        found.insert(Observable::new(ObservableKind::Cve, cve));
        return;
    }
    if let Some((local, domain)) = lower.rsplit_once('@') {
        if !local.is_empty() && is_domain(domain) && local.chars().all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c)) {
            found.insert(Observable::new(ObservableKind::Email, lower.clone()));
            found.insert(Observable::new(ObservableKind::Domain, domain.to_string()));
        }
        return;
    }
    if lower.len() >= 32 && lower.bytes().all(|b| b.is_ascii_hexdigit()) {
        let kind = match lower.len() {
            32 => Some(ObservableKind::Md5),
            40 => Some(ObservableKind::Sha1),
            64 => Some(ObservableKind::Sha256),
            _ => None,
        };
        if let Some(kind) = kind {
            found.insert(Observable::new(kind, lower));
        }
        return;
    }
    classify_host(token, found);
}

/// An IP address (with or without port, IPv6 in brackets) or a domain.
fn classify_host(host: &str, found: &mut BTreeSet<Observable>) {
    let host = host.trim_matches(is_edge_punctuation);
    // `[2001:db8::1]:443`, `[evil.tw]`
    let host = match host.strip_prefix('[') {
        Some(inner) => inner.split(']').next().unwrap_or(inner),
        None => host.trim_end_matches(']'),
    };
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        found.insert(Observable::new(ObservableKind::Ipv4, ip.to_string()));
        return;
    }
    if let Some((ip, port)) = host.rsplit_once(':') {
        if port.bytes().all(|b| b.is_ascii_digit()) && !port.is_empty() {
            if let Ok(ip) = ip.parse::<Ipv4Addr>() {
                found.insert(Observable::new(ObservableKind::Ipv4, ip.to_string()));
                return;
            }
        }
    }
    let without_zone = host.split('%').next().unwrap_or(host);
    if without_zone.matches(':').count() >= 2 {
        if let Ok(ip) = without_zone.parse::<Ipv6Addr>() {
            found.insert(Observable::new(ObservableKind::Ipv6, ip.to_string()));
        }
        return;
    }
    let lower = host.to_lowercase();
    let domain = lower.trim_end_matches('.');
    if is_domain(domain) {
        found.insert(Observable::new(ObservableKind::Domain, domain.to_string()));
    }
}

fn is_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || domain.len() > 253 {
        return false;
    }
    let tld = labels[labels.len() - 1];
    let tld_ok = tlds().contains(tld) || (tld.starts_with("xn--") && tld.len() > 4);
    tld_ok
        && labels.iter().all(|l| {
            !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-') && l.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
        // A bare "1.2.3.com"-like string of digits is not a host anyone registers.
        && !labels[..labels.len() - 1].iter().all(|l| l.bytes().all(|b| b.is_ascii_digit()))
}

fn host_of(after_scheme: &str) -> &str {
    let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    if host_port.starts_with('[') {
        return host_port;
    }
    host_port.split(':').next().unwrap_or(host_port)
}

/// Lower-cases scheme and host; keeps path and query as written.
fn normalise_url(url: &str, scheme_end: usize) -> String {
    let after = &url[scheme_end + 3..];
    let host_len = after.find(['/', '?', '#']).unwrap_or(after.len());
    format!("{}://{}{}", url[..scheme_end].to_ascii_lowercase(), after[..host_len].to_lowercase(), &after[host_len..])
}

fn as_cve(lower: &str) -> Option<String> {
    let rest = lower.strip_prefix("cve-")?;
    let (year, number) = rest.split_once('-')?;
    let ok = year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && number.len() >= 4
        && number.len() <= 19
        && number.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| format!("CVE-{year}-{number}"))
}

#[cfg(test)]
mod tests {
    use super::ObservableKind::*;
    use super::*;

    fn kinds(text: &str) -> Vec<(ObservableKind, String)> {
        extract(text).into_iter().map(|o| (o.kind, o.value)).collect()
    }

    #[test]
    fn finds_each_kind_also_defanged() {
        let text = "Phishing from hxxps://Login.Example-Bank[.]tw/verify?id=1 hosted on 203.0.113[.]7:8443, \
                    mail from attacker[@]evil(dot)com. IPv6 [2001:db8::1]:443 and 2001:DB8:0:0::2. \
                    Dropper 44d88612fea8a8f36de82e1278abb02f, sha1 3395856ce81f2b7382dee72602f798b642f14140, \
                    sha256 275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f exploits cve-2024-3400.";
        let got = kinds(text);
        for expected in [
            (Url, "https://login.example-bank.tw/verify?id=1"),
            (Domain, "login.example-bank.tw"),
            (Ipv4, "203.0.113.7"),
            (Email, "attacker@evil.com"),
            (Domain, "evil.com"),
            (Ipv6, "2001:db8::1"),
            (Ipv6, "2001:db8::2"),
            (Md5, "44d88612fea8a8f36de82e1278abb02f"),
            (Sha1, "3395856ce81f2b7382dee72602f798b642f14140"),
            (Sha256, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"),
            (Cve, "CVE-2024-3400"),
        ] {
            assert!(got.contains(&(expected.0, expected.1.to_string())), "missing {expected:?} in {got:?}");
        }
    }

    #[test]
    fn deduplicates_and_ignores_look_alikes() {
        let got = kinds("1.2.3.4 1.2.3.4 1.2.3[.]4 report.pdf invoice.exe 1.2.3 999.1.1.1 version 2.10.4 deadbeef");
        assert_eq!(got, vec![(Ipv4, "1.2.3.4".to_string())]);
    }

    #[test]
    fn key_value_logs_give_their_values() {
        let got = kinds("src=198.51.100.4 dst=evil.example.tw sha256=AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F");
        assert_eq!(
            got,
            vec![
                (Ipv4, "198.51.100.4".to_string()),
                (Domain, "evil.example.tw".to_string()),
                (Sha256, "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f".to_string())
            ]
        );
    }

    #[test]
    fn chinese_text_around_indicators() {
        let got = kinds("請協助封鎖惡意網域 malware.example.com，來源 IP 為 198.51.100.23。");
        assert!(got.contains(&(Domain, "malware.example.com".to_string())), "{got:?}");
        assert!(got.contains(&(Ipv4, "198.51.100.23".to_string())), "{got:?}");
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_output_is_sorted_and_unique(text in "\\PC{0,400}") {
            let got = extract(&text);
            let mut sorted = got.clone();
            sorted.sort();
            sorted.dedup();
            proptest::prop_assert_eq!(got, sorted);
        }
    }
}
