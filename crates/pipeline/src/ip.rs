//! Address parsing on the hot path. Every row of most feeds carries an address that is
//! read two or three times (validated, harmonised, routed); the standard parser is general
//! and slow for the dotted quads that make up nearly all of them.

use std::net::{IpAddr, Ipv4Addr};

/// An address exactly as `str::parse::<IpAddr>` reads it, with a fast path for IPv4.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    match parse_ipv4(text.as_bytes()) {
        Some(v4) => Some(IpAddr::V4(v4)),
        // Every IPv4 address the standard parser takes, the fast path took; IPv6 needs a
        // colon. Host names, which are asked about often, end here.
        None if !text.as_bytes().contains(&b':') => None,
        None => text.parse().ok(),
    }
}

/// A dotted quad of decimal octets without leading zeros (as the standard parser wants);
/// `None` for anything else, which the caller then hands to the standard parser.
fn parse_ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    if !(7..=15).contains(&b.len()) {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut at = 0;
    for (k, octet) in octets.iter_mut().enumerate() {
        let (value, end) = octet_at(b, at)?;
        *octet = value;
        at = end;
        if k < 3 {
            if b.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
    }
    (at == b.len()).then(|| Ipv4Addr::from(octets))
}

/// The octet of one to three digits at `at`, and where it ends. Unrolled: a loop that asked
/// three things of every digit cost more than the rest of reading an address.
#[inline(always)]
fn octet_at(b: &[u8], at: usize) -> Option<(u8, usize)> {
    let digit = |i: usize| b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d <= 9);
    let first = digit(at)?;
    let Some(second) = digit(at + 1) else { return Some((first, at + 1)) };
    if first == 0 {
        // A leading zero.
        return None;
    }
    let two = u32::from(first) * 10 + u32::from(second);
    let Some(third) = digit(at + 2) else { return Some((two as u8, at + 2)) };
    let three = two * 10 + u32::from(third);
    u8::try_from(three).ok().map(|n| (n, at + 3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dotted_quads_and_the_rest() {
        assert_eq!(parse_ip("192.0.2.1"), Some("192.0.2.1".parse().unwrap()));
        assert_eq!(parse_ip("255.255.255.255"), Some("255.255.255.255".parse().unwrap()));
        assert_eq!(parse_ip("2001:db8::1"), Some("2001:db8::1".parse().unwrap()));
        for bad in ["256.0.0.1", "01.2.3.4", "1.2.3", "1.2.3.4.", "1..2.3", " 1.2.3.4", "1.2.3.4 ", "1234.1.1.1", ""] {
            assert_eq!(parse_ip(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn agrees_with_the_standard_parser(text in "[0-9.:a-f]{0,20}") {
            prop_assert_eq!(parse_ip(&text), text.parse::<IpAddr>().ok());
        }

        #[test]
        fn agrees_on_near_quads(a in 0u32..400, b in 0u32..300, c in "0?[0-9]{1,3}", d in 0u32..1000) {
            let text = format!("{a}.{b}.{c}.{d}");
            prop_assert_eq!(parse_ip(&text), text.parse::<IpAddr>().ok());
        }
    }
}
