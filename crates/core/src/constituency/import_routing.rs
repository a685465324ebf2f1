//! IP→ASN and IP→country tables: libloc/ip2asn style `network asn cc` dumps and the RIRs'
//! `delegated-<rir>-extended` statistics. They say who routes or holds an address when no
//! constituent has claimed it.

use super::import::{count_lines, excerpt, normalise_country, Rejected};
use crate::constituency::prefix::{parse_asn, range_to_prefixes, IpPrefix};
use serde::Serialize;
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One network of a routing table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoutingRecord {
    pub prefix: IpPrefix,
    /// The origin AS; `None` when the network is registered but not announced.
    pub asn: Option<u32>,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Option<String>,
}

impl From<RoutingRecord> for crate::constituency::resolve::RoutingRow {
    fn from(r: RoutingRecord) -> Self {
        Self { prefix: r.prefix, asn: r.asn, country: r.country }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParsedRouting {
    /// In file order; each prefix once.
    pub rows: Vec<RoutingRecord>,
    pub rejected: Vec<Rejected>,
    /// Physical lines read.
    pub lines: usize,
    /// AS numbers and the country they are delegated to (RIR statistics only).
    pub asn_countries: Vec<(u32, String)>,
}

/// The largest block of AS numbers a delegated-statistics row may hold; RIRs assign far fewer,
/// and the bound keeps a corrupt row from expanding into billions of entries.
const MAX_ASN_BLOCK: u32 = 65_536;

/// Reads `network<TAB>asn<TAB>cc` lines (whitespace-separated also works). `#` lines are comments,
/// the ASN may be empty or `0` (`AS` prefix optional), the country may be missing.
pub fn parse_network_asn_cc(text: &str) -> ParsedRouting {
    let mut out = Collector::new(text);
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = if i == 0 { raw.trim_start_matches('\u{feff}') } else { raw };
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match network_asn_cc(raw) {
            Ok(record) => out.push(line, record),
            Err(reason) => out.reject(line, reason),
        }
    }
    out.finish()
}

fn network_asn_cc(raw: &str) -> Result<RoutingRecord, String> {
    let (network, asn, cc) = if raw.contains('\t') {
        let fields: Vec<&str> = raw.split('\t').map(str::trim).collect();
        if fields.len() > 3 {
            return Err(format!("expected network, asn and country separated by tabs, got {} fields", fields.len()));
        }
        (fields[0], fields.get(1).copied().unwrap_or(""), fields.get(2).copied().unwrap_or(""))
    } else {
        let fields: Vec<&str> = raw.split_whitespace().collect();
        match fields[..] {
            [network] => (network, "", ""),
            // With spaces an empty ASN cannot be written, so two fields are told apart by their look.
            [network, second] if second.len() == 2 && second.bytes().all(|b| b.is_ascii_alphabetic()) => (network, "", second),
            [network, asn] => (network, asn, ""),
            [network, asn, cc] => (network, asn, cc),
            _ => return Err(format!("expected network, asn and country, got {} fields", fields.len())),
        }
    };
    let prefix = IpPrefix::parse(network).map_err(|e| format!("network {:?}: {e}", excerpt(network)))?;
    let asn = match asn {
        // Some dumps write AS0 (RFC 7607: never originated) for "not announced".
        "" | "0" => None,
        raw if raw.eq_ignore_ascii_case("as0") => None,
        raw => Some(parse_asn(raw).map_err(|e| format!("asn {:?}: {e}", excerpt(raw)))?),
    };
    let country = match cc {
        "" | "--" => None,
        raw => Some(normalise_country(raw).ok_or_else(|| format!("country {:?} is not a two-letter code", excerpt(raw)))?),
    };
    Ok(RoutingRecord { prefix, asn, country: country.filter(|c| c != "ZZ") })
}

/// Reads RIR statistics (`registry|cc|type|start|value|date|status[|opaque-id[|extensions]]`).
/// Only `allocated` and `assigned` rows count; `available` and `reserved` ones and rows without
/// a country (`ZZ` or empty) are skipped. IPv4 rows may cover any number of addresses.
pub fn parse_rir_delegated(text: &str) -> ParsedRouting {
    let mut out = Collector::new(text);
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = if i == 0 { raw.trim_start_matches('\u{feff}') } else { raw };
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = trimmed.split('|').map(str::trim).collect();
        if is_version_line(fields[0]) || fields.get(5) == Some(&"summary") {
            continue;
        }
        if let Err(reason) = delegated_row(&fields, line, &mut out) {
            out.reject(line, reason);
        }
    }
    out.finish()
}

/// `2|ripencc|20221029|…` or `2.3|apnic|…`: the header, never data (data starts with a registry name).
fn is_version_line(first: &str) -> bool {
    first.starts_with(|c: char| c.is_ascii_digit()) && first.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

fn delegated_row(fields: &[&str], line: usize, out: &mut Collector) -> Result<(), String> {
    let [_registry, cc, kind, start, value, _date, status, ..] = fields else {
        return Err(format!("expected registry|cc|type|start|value|date|status, got {} fields", fields.len()));
    };
    match status.to_ascii_lowercase().as_str() {
        "allocated" | "assigned" => {}
        "available" | "reserved" => return Ok(()),
        other => return Err(format!("unknown status {:?} (expected allocated, assigned, available or reserved)", excerpt(other))),
    }
    let country = match *cc {
        "" => return Ok(()),
        raw => normalise_country(raw).ok_or_else(|| format!("country {:?} is not a two-letter code", excerpt(raw)))?,
    };
    if country == "ZZ" {
        return Ok(());
    }
    match kind.to_ascii_lowercase().as_str() {
        "ipv4" => {
            let first: Ipv4Addr = start.parse().map_err(|_| format!("{:?} is not an IPv4 address", excerpt(start)))?;
            let count: u32 = value.parse().map_err(|_| format!("address count {:?} is not a number", excerpt(value)))?;
            if count == 0 {
                return Err("the address count is 0".into());
            }
            let last = u32::from(first)
                .checked_add(count - 1)
                .ok_or_else(|| format!("{first} plus {count} addresses runs past 255.255.255.255"))?;
            let prefixes = range_to_prefixes(IpAddr::V4(first), IpAddr::V4(Ipv4Addr::from(last))).map_err(|e| e.to_string())?;
            for prefix in prefixes {
                out.push(line, RoutingRecord { prefix, asn: None, country: Some(country.clone()) });
            }
        }
        "ipv6" => {
            let first: Ipv6Addr = start.parse().map_err(|_| format!("{:?} is not an IPv6 address", excerpt(start)))?;
            let len = value
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= 128)
                .ok_or_else(|| format!("prefix length {:?} is not 0 to 128", excerpt(value)))?;
            let prefix = IpPrefix::parse(&format!("{first}/{len}")).map_err(|e| e.to_string())?;
            out.push(line, RoutingRecord { prefix, asn: None, country: Some(country) });
        }
        "asn" => {
            let first = parse_asn(start).map_err(|e| format!("asn {:?}: {e}", excerpt(start)))?;
            let count: u32 = value.parse().map_err(|_| format!("AS count {:?} is not a number", excerpt(value)))?;
            if !(1..=MAX_ASN_BLOCK).contains(&count) {
                return Err(format!("an AS block of {count} numbers is not plausible (1 to {MAX_ASN_BLOCK})"));
            }
            let last = first.checked_add(count - 1).ok_or_else(|| format!("AS{first} plus {count} numbers runs past AS4294967295"))?;
            out.asn_countries.extend((first..=last).map(|asn| (asn, country.clone())));
        }
        other => return Err(format!("unknown type {:?} (expected ipv4, ipv6 or asn)", excerpt(other))),
    }
    Ok(())
}

/// Keeps each prefix once (the first row wins) and notes a later row that disagrees.
struct Collector {
    rows: Vec<RoutingRecord>,
    seen: HashSet<IpPrefix>,
    rejected: Vec<Rejected>,
    lines: usize,
    asn_countries: Vec<(u32, String)>,
}

impl Collector {
    fn new(text: &str) -> Self {
        Collector { rows: Vec::new(), seen: HashSet::new(), rejected: Vec::new(), lines: count_lines(text), asn_countries: Vec::new() }
    }

    fn reject(&mut self, line: usize, reason: String) {
        self.rejected.push(Rejected { file: None, line, reason });
    }

    fn push(&mut self, line: usize, record: RoutingRecord) {
        if self.seen.insert(record.prefix) {
            self.rows.push(record);
        } else if let Some(first) = self.rows.iter().find(|r| r.prefix == record.prefix) {
            if first.asn != record.asn || first.country != record.country {
                let reason = format!("{} appears again with different data; the first row is kept", record.prefix);
                self.reject(line, reason);
            }
        }
    }

    fn finish(self) -> ParsedRouting {
        ParsedRouting { rows: self.rows, rejected: self.rejected, lines: self.lines, asn_countries: self.asn_countries }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libloc_dump_for_taiwan() {
        let text = crate::testdata::read("asn/networks_TW.tsv");
        let parsed = parse_network_asn_cc(&text);
        assert_eq!(parsed.rejected.len(), 0, "{:?}", parsed.rejected.first());
        assert_eq!(parsed.rows.len(), 9_930);
        assert_eq!(parsed.lines, 9_931);
        assert_eq!(parsed.rows.iter().filter(|r| r.asn.is_none()).count(), 674);
        assert!(parsed.rows.iter().all(|r| r.country.as_deref() == Some("TW")));
        assert_eq!(parsed.rows[1].prefix.to_string(), "1.34.0.0/15");
        assert_eq!(parsed.rows[1].asn, Some(3462));
        assert!(parsed.asn_countries.is_empty());
    }

    #[test]
    fn network_asn_cc_lines() {
        let text = "# network\tasn\tcc\n1.34.0.0/15\t3462\tTW\n1.32.208.0/21\t\ttw\n2001:b000::/20 AS3462 TW\n1.35.0.0/16 TW\n1.36.0.0/16 3462\n1.40.0.0/16\t0\tTW\n\
1.2.3.4/24\t1\tTW\n1.37.0.0/16\tx\tTW\n1.38.0.0/16\t1\tTWN\n1.39.0.0/16 1 TW extra\n1.34.0.0/15\t3462\tTW\n1.34.0.0/15\t9999\tTW\n";
        let parsed = parse_network_asn_cc(text);
        let rows: Vec<(String, Option<u32>, Option<&str>)> =
            parsed.rows.iter().map(|r| (r.prefix.to_string(), r.asn, r.country.as_deref())).collect();
        assert_eq!(
            rows,
            [
                ("1.34.0.0/15".to_string(), Some(3462), Some("TW")),
                ("1.32.208.0/21".to_string(), None, Some("TW")),
                ("2001:b000::/20".to_string(), Some(3462), Some("TW")),
                ("1.35.0.0/16".to_string(), None, Some("TW")),
                ("1.36.0.0/16".to_string(), Some(3462), None),
                ("1.40.0.0/16".to_string(), None, Some("TW")),
            ]
        );
        let lines: Vec<usize> = parsed.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [8, 9, 10, 11, 13]);
        assert_eq!(parsed.lines, 13);
    }

    const DELEGATED: &str = "\
2.3|apnic|20221029|80000|19830613|20221028|+1000
# a comment
apnic|*|asn|*|3|summary
apnic|*|ipv4|*|4|summary
apnic|*|ipv6|*|1|summary
apnic|TW|ipv4|1.2.3.0|768|20100101|allocated|A91A5B7C
apnic|tw|ipv6|2001:288::|32|20010101|assigned|A91A5B7C|e-stats
apnic|TW|asn|3462|2|19950101|allocated|A91A5B7C
apnic||ipv4|1.0.0.0|256||available|
apnic|ZZ|ipv4|1.0.1.0|256||reserved|
apnic|ZZ|ipv4|1.0.2.0|256|20110101|allocated|
apnic|TW|ipv4|1.2.300.0|256|20100101|allocated
apnic|TW|ipv4|1.4.0.0
apnic|JP|ipv4|1.5.0.0|1024|20100101|assigned
";

    #[test]
    fn delegated_extended_sample() {
        let parsed = parse_rir_delegated(DELEGATED);
        let rows: Vec<(String, Option<&str>)> = parsed.rows.iter().map(|r| (r.prefix.to_string(), r.country.as_deref())).collect();
        assert_eq!(
            rows,
            [
                ("1.2.3.0/24".to_string(), Some("TW")),
                ("1.2.4.0/23".to_string(), Some("TW")),
                ("2001:288::/32".to_string(), Some("TW")),
                ("1.5.0.0/22".to_string(), Some("JP")),
            ]
        );
        assert!(parsed.rows.iter().all(|r| r.asn.is_none()));
        assert_eq!(parsed.asn_countries, [(3462, "TW".to_string()), (3463, "TW".to_string())]);
        let rejected: Vec<usize> = parsed.rejected.iter().map(|r| r.line).collect();
        assert_eq!(rejected, [12, 13]);
        assert!(parsed.rejected[0].reason.contains("1.2.300.0"));
        assert!(parsed.rejected[1].reason.contains("fields"));
        assert_eq!(parsed.lines, 14);
    }

    #[test]
    fn delegated_limits() {
        let parsed =
            parse_rir_delegated("arin|US|ipv4|255.255.255.0|512|20100101|allocated\narin|US|asn|1|4000000000|20100101|allocated\n");
        assert_eq!(parsed.rejected.len(), 2);
        assert!(parsed.rows.is_empty() && parsed.asn_countries.is_empty());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(a in "\\PC{0,300}", b in "([a-z]{0,6}|TW|ZZ|ipv4|ipv6|asn|allocated|available|[0-9.:]{1,15}|[|\t #]|\n){0,80}") {
            for parsed in [parse_network_asn_cc(&a), parse_rir_delegated(&a), parse_network_asn_cc(&b), parse_rir_delegated(&b)] {
                for r in &parsed.rejected {
                    proptest::prop_assert!(r.line >= 1 && r.line <= parsed.lines, "{r:?} outside 1..={}", parsed.lines);
                }
            }
        }
    }
}
