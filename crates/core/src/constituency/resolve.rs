//! Which organisation answers for an IP address, prefix, AS number or domain: the
//! constituency rules every notification and feed entry is routed by.
//!
//! The rules, in order:
//!
//! 1. **Manual entries beat imported ones.** The CERT's own registrations are looked up
//!    first; imported data (RIPE, CSV, …) is consulted only when nothing manual matches,
//!    even if an imported prefix or domain is more specific.
//! 2. **The most specific entry wins** within a class: the longest prefix that contains
//!    the address (or the whole queried prefix), the longest registered domain that covers
//!    the name. A domain entry covers the name itself, and its subdomains only when it has
//!    `include_subdomains`.
//! 3. **Ties are reported, never broken.** When several organisations hold the winning
//!    prefix, domain or AS number in the same class, all are returned with `tie = true`,
//!    so a person decides rather than an accident of ordering.
//! 4. For an address or prefix no asset covers, the offline routing table gives its
//!    **origin AS**, and organisations holding that AS number answer (manual first again).
//! 5. Failing that, an address the routing table places **outside the home country** goes
//!    to that country's national CERT, when one is on record. Otherwise there is no match.
//!
//! Assets outside their validity window are ignored. Queries may be an address, a prefix,
//! `AS123` or a bare number (an AS number), a domain, or a URL or e-mail address, whose
//! host part is used.

use super::domains::DomainIndex;
use super::lpm::PrefixMap;
use super::prefix::{clip, normalise_domain, parse_asn, reserved_range, IpPrefix, PrefixError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::str::FromStr;
use uuid::Uuid;

crate::wire_enum! {
    /// What an organisation's asset is.
    AssetKind, "asset kind" {
        Ipv4Prefix => "ipv4_prefix",
        Ipv6Prefix => "ipv6_prefix",
        Asn => "asn",
        Domain => "domain",
    }
}

crate::wire_enum! {
    /// What a routing query was understood as.
    QueryKind, "query kind" {
        Ip => "ip",
        Prefix => "prefix",
        Asn => "asn",
        Domain => "domain",
    }
}

crate::wire_enum! {
    /// How a match was found: by the organisation's own asset, by the origin AS the
    /// routing table gives, or by the country (a national CERT abroad).
    MatchVia, "match kind" {
        Prefix => "prefix",
        Domain => "domain",
        Asn => "asn",
        OriginAsn => "origin_asn",
        Country => "country",
    }
}

/// Where an asset came from. Manual entries outrank imported ones, and an import only
/// ever replaces what the same source brought in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AssetSource {
    Manual,
    /// The import source's name, e.g. `ripe` or `csv:ministries`.
    Imported(String),
}

impl AssetSource {
    pub fn is_manual(&self) -> bool {
        matches!(self, AssetSource::Manual)
    }
}

impl fmt::Display for AssetSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssetSource::Manual => f.write_str("manual"),
            AssetSource::Imported(name) => write!(f, "imported:{name}"),
        }
    }
}

impl FromStr for AssetSource {
    type Err = crate::ParseEnumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("imported:") {
            Some(name) if !name.trim().is_empty() => Ok(AssetSource::Imported(name.to_string())),
            None if s == "manual" => Ok(AssetSource::Manual),
            _ => Err(crate::ParseEnumError { what: "asset source", value: clip(s), expected: "manual imported:<name>" }),
        }
    }
}

impl Serialize for AssetSource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AssetSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for AssetSource {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .description(Some("`manual`, or `imported:<source name>`"))
            .examples(["manual", "imported:ripe"])
            .into()
    }
}

impl utoipa::ToSchema for AssetSource {}

/// An organisation's network, AS number or domain, as the routing rules need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AssetRecord {
    pub id: Uuid,
    pub org_id: Uuid,
    pub kind: AssetKind,
    /// Normalised: `192.0.2.0/24`, `3462`, `example.tw`.
    pub value: String,
    /// Domains only: the entry also covers every name under the domain.
    pub include_subdomains: bool,
    pub source: AssetSource,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
}

impl AssetRecord {
    /// Whether `now` is inside the validity window (`valid_from` inclusive, `valid_until` exclusive).
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.valid_from.is_none_or(|from| from <= now) && self.valid_until.is_none_or(|until| now < until)
    }
}

/// One row of the offline IP → origin AS / country table (RIR and BGP dumps), which
/// is also what the feed pipeline enriches addresses with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoutingRow {
    #[schema(value_type = String)]
    pub prefix: IpPrefix,
    /// `None` when the network is registered but not announced.
    pub asn: Option<u32>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
}

/// The answer to "who handles this?", with the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RouteAnswer {
    /// The query as understood: an address, prefix, `AS123` or a normalised host name.
    pub query: String,
    pub kind: QueryKind,
    /// One per organisation, in registration order within the winning entry.
    pub matches: Vec<RouteMatch>,
    /// Several organisations hold the winning entry equally; someone must choose.
    pub tie: bool,
    /// Origin AS from the routing table (addresses and prefixes), or the queried AS number.
    pub asn: Option<u32>,
    /// Country from the routing table, for addresses and prefixes.
    pub country: Option<String>,
    /// Which rule decided, e.g. `most specific manual prefix 1.34.0.0/16` or `outside the constituency: JP`.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RouteMatch {
    pub org_id: Uuid,
    /// The asset that matched; `None` for a national CERT chosen by country.
    pub asset_id: Option<Uuid>,
    pub via: MatchVia,
    /// The prefix, domain, `AS123` or country code that matched.
    pub matched: String,
    /// `None` for a national CERT chosen by country.
    pub source: Option<AssetSource>,
}

/// Prefixes whose stored value overlaps `candidate` (either contains the other), so a
/// new claim can warn about networks someone already holds.
pub fn assets_overlapping<'a>(assets: &'a [AssetRecord], candidate: &IpPrefix) -> Vec<&'a AssetRecord> {
    assets
        .iter()
        .filter(|a| matches!(a.kind, AssetKind::Ipv4Prefix | AssetKind::Ipv6Prefix))
        .filter(|a| IpPrefix::parse(&a.value).is_ok_and(|p| p.overlaps(candidate)))
        .collect()
}

#[derive(Debug, Clone)]
struct Holder {
    org_id: Uuid,
    asset_id: Uuid,
    source: AssetSource,
}

/// The assets of one source class (manual or imported).
#[derive(Debug, Clone)]
struct ClassIndex {
    prefixes: PrefixMap<Holder>,
    domains: DomainIndex<Holder>,
    asns: HashMap<u32, Vec<Holder>>,
}

#[derive(Default)]
struct ClassParts {
    prefixes: Vec<(IpPrefix, Holder)>,
    domains: Vec<(String, bool, Holder)>,
    asns: HashMap<u32, Vec<Holder>>,
}

impl ClassParts {
    /// Adds the asset; false when its value does not parse as its kind.
    fn add(&mut self, a: &AssetRecord) -> bool {
        let holder = Holder { org_id: a.org_id, asset_id: a.id, source: a.source.clone() };
        match a.kind {
            AssetKind::Ipv4Prefix | AssetKind::Ipv6Prefix => match IpPrefix::parse(&a.value) {
                Ok(p) if p.is_ipv4() == (a.kind == AssetKind::Ipv4Prefix) => self.prefixes.push((p, holder)),
                _ => return false,
            },
            AssetKind::Asn => match parse_asn(&a.value) {
                Ok(n) => self.asns.entry(n).or_default().push(holder),
                Err(_) => return false,
            },
            AssetKind::Domain => match normalise_domain(&a.value) {
                Ok(d) => self.domains.push((d, a.include_subdomains, holder)),
                Err(_) => return false,
            },
        }
        true
    }

    fn build(self) -> ClassIndex {
        ClassIndex { prefixes: PrefixMap::build(self.prefixes), domains: DomainIndex::build(self.domains), asns: self.asns }
    }
}

/// What a query string was understood as.
enum Query {
    Ip(IpAddr),
    Prefix(IpPrefix),
    Asn(u32),
    Domain(String),
}

/// The routing rules over one snapshot of the registry; rebuild it when assets change.
#[derive(Debug, Clone)]
pub struct ConstituencyIndex {
    manual: ClassIndex,
    imported: ClassIndex,
    routing: PrefixMap<RoutingRow>,
    /// What routing an address reads of each routing entry, by entry index.
    routing_facts: RoutingFacts,
    /// Upper-case country code → the peer organisation that is its national CERT.
    national_certs: HashMap<String, Uuid>,
    home_country: String,
    invalid: Vec<Uuid>,
}

impl ConstituencyIndex {
    pub fn build(
        assets: &[AssetRecord],
        routing: Vec<RoutingRow>,
        national_certs: HashMap<String, Uuid>,
        home_country: &str,
        now: DateTime<Utc>,
    ) -> ConstituencyIndex {
        let mut manual = ClassParts::default();
        let mut imported = ClassParts::default();
        let mut invalid = Vec::new();
        for a in assets.iter().filter(|a| a.is_active(now)) {
            let class = if a.source.is_manual() { &mut manual } else { &mut imported };
            if !class.add(a) {
                invalid.push(a.id);
            }
        }
        let routing = PrefixMap::build(routing.into_iter().map(|r| (r.prefix, r)).collect());
        let national_certs: HashMap<String, Uuid> =
            national_certs.into_iter().map(|(cc, org)| (cc.trim().to_ascii_uppercase(), org)).collect();
        let home_country = home_country.trim().to_ascii_uppercase();
        let routing_facts = RoutingFacts::build(&routing, &national_certs, &home_country);
        ConstituencyIndex {
            manual: manual.build(),
            imported: imported.build(),
            routing,
            routing_facts,
            national_certs,
            home_country,
            invalid,
        }
    }

    /// `row`'s country, upper case, when it has one and that is not the home country.
    fn foreign_country(row: &RoutingRow, home_country: &str) -> Option<String> {
        let cc = row.country.as_deref()?.trim().to_ascii_uppercase();
        (!cc.is_empty() && cc != home_country).then_some(cc)
    }

    /// The national CERT that takes addresses of `row`'s country, when that is not the home
    /// country.
    fn foreign_cert(row: &RoutingRow, national_certs: &HashMap<String, Uuid>, home_country: &str) -> Option<Uuid> {
        national_certs.get(&Self::foreign_country(row, home_country)?).copied()
    }

    /// Active assets whose value did not parse as their kind and were left out.
    pub fn invalid_assets(&self) -> &[Uuid] {
        &self.invalid
    }

    /// The most specific routing-table row for `ip`.
    pub fn routing(&self, ip: IpAddr) -> Option<&RoutingRow> {
        self.routing.lookup(ip.to_canonical()).and_then(|(_, rows)| rows.first())
    }

    /// Routes a query string; see the module documentation for the rules.
    pub fn lookup(&self, query: &str) -> Result<RouteAnswer, PrefixError> {
        Ok(match parse_query(query)? {
            Query::Ip(ip) => self.lookup_ip(ip),
            Query::Prefix(p) => self.lookup_prefix(&p),
            Query::Asn(n) => self.lookup_asn(n),
            Query::Domain(d) => self.lookup_normalised_domain(d),
        })
    }

    /// Manual assets first, then imported ones.
    fn classes(&self) -> [(&'static str, &ClassIndex); 2] {
        [("manual", &self.manual), ("imported", &self.imported)]
    }

    pub fn lookup_ip(&self, ip: IpAddr) -> RouteAnswer {
        let ip = ip.to_canonical();
        let route = self.routing(ip);
        let answer = RouteAnswer::start(ip.to_string(), QueryKind::Ip, route);
        for (class, ix) in self.classes() {
            if let Some((p, holders)) = ix.prefixes.lookup(ip) {
                return answer
                    .finish(holder_matches(holders, MatchVia::Prefix, &p.to_string()), format!("most specific {class} prefix {p}"));
            }
        }
        if let Some((found, reason)) = self.by_route(route) {
            return answer.finish(found, reason);
        }
        let reason = match (reserved_range(&IpPrefix::host(ip)), route) {
            (Some(range), _) => format!("no match: {ip} is in a {range} range"),
            (None, None) => "no match, and the address is not in the routing table".to_string(),
            (None, Some(_)) => "no match".to_string(),
        };
        answer.finish(Vec::new(), reason)
    }

    /// The same rules as [`lookup_ip`](Self::lookup_ip) without building a report: the
    /// hot path of the feed pipeline, which routes millions of addresses.
    pub fn route_ip(&self, ip: IpAddr) -> FastRoute<'_> {
        let ip = ip.to_canonical();
        let entry = match ip {
            IpAddr::V4(a) => self.routing.lookup_v4(u32::from(a)),
            IpAddr::V6(a) => self.routing.lookup_v6(u128::from(a)),
        };
        let facts = entry.map(|i| self.routing_facts.get(i));
        let mut out = FastRoute {
            org: None,
            tie: false,
            asn: facts.and_then(|f| f.asn),
            network: facts.map(|f| f.network),
            country: facts.and_then(|f| f.country),
        };
        for (_, ix) in self.classes() {
            if let Some((_, holders)) = ix.prefixes.lookup(ip) {
                out.set_holders(holders);
                return out;
            }
        }
        if let Some(facts) = facts {
            if let Some(asn) = facts.asn {
                for (_, ix) in self.classes() {
                    if let Some(holders) = ix.asns.get(&asn) {
                        out.set_holders(holders);
                        return out;
                    }
                }
            }
            out.org = facts.foreign_cert;
        }
        out
    }

    /// Routes by an AS number a feed gave for an address that [`route_ip`](Self::route_ip)
    /// could not place, without allocating.
    pub fn route_asn(&self, asn: u32) -> FastRoute<'_> {
        let mut out = FastRoute { org: None, tie: false, asn: None, network: None, country: None };
        for (_, ix) in self.classes() {
            if let Some(holders) = ix.asns.get(&asn) {
                out.set_holders(holders);
                break;
            }
        }
        out
    }

    /// The most specific asset prefix that contains all of `p`.
    pub fn lookup_prefix(&self, p: &IpPrefix) -> RouteAnswer {
        let route = self.routing.lookup_prefix(p).and_then(|(_, rows)| rows.first());
        let answer = RouteAnswer::start(p.to_string(), QueryKind::Prefix, route);
        for (class, ix) in self.classes() {
            if let Some((q, holders)) = ix.prefixes.lookup_prefix(p) {
                return answer
                    .finish(holder_matches(holders, MatchVia::Prefix, &q.to_string()), format!("most specific {class} prefix {q}"));
            }
        }
        match self.by_route(route) {
            Some((found, reason)) => answer.finish(found, reason),
            None => answer.finish(Vec::new(), "no match".to_string()),
        }
    }

    pub fn lookup_asn(&self, asn: u32) -> RouteAnswer {
        let mut answer = RouteAnswer::start(format!("AS{asn}"), QueryKind::Asn, None);
        answer.asn = Some(asn);
        for (class, ix) in self.classes() {
            if let Some(holders) = ix.asns.get(&asn) {
                return answer.finish(holder_matches(holders, MatchVia::Asn, &format!("AS{asn}")), format!("{class} AS{asn}"));
            }
        }
        answer.finish(Vec::new(), format!("no organisation holds AS{asn}"))
    }

    /// The most specific registered domain covering `name` (normalised here).
    pub fn lookup_domain(&self, name: &str) -> Result<RouteAnswer, PrefixError> {
        Ok(self.lookup_normalised_domain(normalise_domain(name)?))
    }

    fn lookup_normalised_domain(&self, name: String) -> RouteAnswer {
        for (class, ix) in self.classes() {
            if let Some((d, holders)) = ix.domains.lookup(&name) {
                let reason = format!("most specific {class} domain {d}");
                let found = holder_matches(holders, MatchVia::Domain, d);
                return RouteAnswer::start(name, QueryKind::Domain, None).finish(found, reason);
            }
        }
        RouteAnswer::start(name, QueryKind::Domain, None).finish(Vec::new(), "no match".to_string())
    }

    /// Rules 4 and 5 for an address or prefix no asset covers: its origin AS, then its
    /// country's national CERT. `None` when neither applies.
    fn by_route(&self, route: Option<&RoutingRow>) -> Option<(Vec<RouteMatch>, String)> {
        let row = route?;
        if let Some(asn) = row.asn {
            for (_, ix) in self.classes() {
                if let Some(holders) = ix.asns.get(&asn) {
                    return Some((
                        holder_matches(holders, MatchVia::OriginAsn, &format!("AS{asn}")),
                        format!("origin AS{asn} of {}", row.prefix),
                    ));
                }
            }
        }
        let cc = Self::foreign_country(row, &self.home_country)?;
        Some(match self.national_certs.get(&cc) {
            Some(&org_id) => {
                let reason = format!("outside the constituency: {cc}");
                (vec![RouteMatch { org_id, asset_id: None, via: MatchVia::Country, matched: cc, source: None }], reason)
            }
            None => (Vec::new(), format!("outside the constituency: {cc}, and no national CERT is on record for it")),
        })
    }
}

/// Where an address routes, without allocating: the organisation (none on a tie) and
/// what the routing table says of it.
#[derive(Debug, Clone, Copy)]
pub struct FastRoute<'a> {
    pub org: Option<Uuid>,
    pub tie: bool,
    /// The routing entry's origin AS.
    pub asn: Option<u32>,
    /// The routing entry's prefix as text.
    pub network: Option<&'a str>,
    /// The routing entry's country, as the table has it.
    pub country: Option<&'a str>,
}

/// What routing an address reads of each routing-table entry (its first row), by entry
/// index, in one array and one run of text. Read through the rows themselves, a lookup
/// touched three heap objects far apart; a feed routes every row, and those cache misses
/// were most of its routing time.
#[derive(Debug, Clone, Default)]
struct RoutingFacts {
    entries: Vec<PackedFacts>,
    /// Each entry's prefix and then its country, back to back.
    text: String,
    certs: Vec<Uuid>,
}

#[derive(Debug, Clone, Copy)]
struct PackedFacts {
    asn: Option<u32>,
    text_start: u32,
    network_len: u16,
    /// `u16::MAX` when the entry has no country.
    country_len: u16,
    /// Index into `certs`, or `u32::MAX`: an `Option<Uuid>` here would grow the record
    /// from 20 bytes to 36, and the records are what a lookup reads.
    cert: u32,
}

/// One entry's facts, as [`RoutingFacts::get`] gives them.
#[derive(Debug, Clone, Copy)]
struct EntryFacts<'a> {
    asn: Option<u32>,
    network: &'a str,
    country: Option<&'a str>,
    /// The national CERT of the entry's country, when that is not the home country.
    foreign_cert: Option<Uuid>,
}

impl RoutingFacts {
    fn build(routing: &PrefixMap<RoutingRow>, national_certs: &HashMap<String, Uuid>, home_country: &str) -> RoutingFacts {
        let mut facts = RoutingFacts::default();
        let mut cert_index: HashMap<Uuid, u32> = HashMap::new();
        for i in 0..routing.len() as u32 {
            let (prefix, rows) = routing.entry(i);
            let row = rows.first();
            let text_start = facts.text.len();
            write!(facts.text, "{prefix}").expect("writing to a String");
            let network_len = facts.text.len() - text_start;
            // A country too long to pack is no country code; it is left out.
            let country = row.and_then(|r| r.country.as_deref()).filter(|cc| cc.len() < usize::from(u16::MAX));
            facts.text.push_str(country.unwrap_or(""));
            let cert = match row.and_then(|r| ConstituencyIndex::foreign_cert(r, national_certs, home_country)) {
                Some(org) => *cert_index.entry(org).or_insert_with(|| {
                    facts.certs.push(org);
                    facts.certs.len() as u32 - 1
                }),
                None => u32::MAX,
            };
            facts.entries.push(PackedFacts {
                asn: row.and_then(|r| r.asn),
                text_start: u32::try_from(text_start).expect("routing text under 4 GiB"),
                network_len: network_len as u16,
                country_len: country.map_or(u16::MAX, |cc| cc.len() as u16),
                cert,
            });
        }
        facts
    }

    #[inline]
    fn get(&self, entry: u32) -> EntryFacts<'_> {
        let packed = self.entries[entry as usize];
        let start = packed.text_start as usize;
        let country_start = start + usize::from(packed.network_len);
        EntryFacts {
            asn: packed.asn,
            network: &self.text[start..country_start],
            country: (packed.country_len != u16::MAX).then(|| &self.text[country_start..country_start + usize::from(packed.country_len)]),
            foreign_cert: self.certs.get(packed.cert as usize).copied(),
        }
    }
}

impl FastRoute<'_> {
    fn set_holders(&mut self, holders: &[Holder]) {
        let first = holders.first().map(|h| h.org_id);
        self.tie = holders.iter().any(|h| Some(h.org_id) != first);
        self.org = if self.tie { None } else { first };
    }
}

impl RouteAnswer {
    fn start(query: String, kind: QueryKind, route: Option<&RoutingRow>) -> RouteAnswer {
        RouteAnswer {
            query,
            kind,
            matches: Vec::new(),
            tie: false,
            asn: route.and_then(|r| r.asn),
            country: route.and_then(|r| r.country.clone()),
            reason: String::new(),
        }
    }

    fn finish(mut self, matches: Vec<RouteMatch>, reason: String) -> RouteAnswer {
        self.tie = matches.len() > 1;
        self.matches = matches;
        self.reason = reason;
        self
    }
}

/// One match per organisation holding the winning entry (an organisation holding it twice is no tie).
fn holder_matches(holders: &[Holder], via: MatchVia, matched: &str) -> Vec<RouteMatch> {
    let mut seen = HashSet::new();
    holders
        .iter()
        .filter(|h| seen.insert(h.org_id))
        .map(|h| RouteMatch {
            org_id: h.org_id,
            asset_id: Some(h.asset_id),
            via,
            matched: matched.to_string(),
            source: Some(h.source.clone()),
        })
        .collect()
}

fn parse_query(raw: &str) -> Result<Query, PrefixError> {
    let q = raw.trim();
    let bad = || PrefixError::BadQuery { input: clip(q) };
    if q.is_empty() {
        return Err(bad());
    }
    if let Ok(ip) = q.parse::<IpAddr>() {
        return Ok(Query::Ip(ip.to_canonical()));
    }
    if let Some(inner) = q.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        return inner.parse::<IpAddr>().map(|ip| Query::Ip(ip.to_canonical())).map_err(|_| bad());
    }
    // Addresses and prefixes, with their precise errors when they are malformed.
    let head = q.split('/').next().unwrap_or(q);
    let ipv4ish = head.contains('.') && head.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let ipv6ish = head.matches(':').count() >= 2 && !q.contains("://") && !q.contains('@');
    if ipv4ish || ipv6ish {
        return IpPrefix::parse(q).map(Query::Prefix);
    }
    if let Some((_, rest)) = q.split_once("://") {
        return host_query(url_host(rest), q);
    }
    let asn_digits = match q.get(..2) {
        Some(p) if p.eq_ignore_ascii_case("as") => q[2..].trim_start(),
        _ => q,
    };
    if !asn_digits.is_empty() && asn_digits.bytes().all(|b| b.is_ascii_digit()) {
        return parse_asn(asn_digits).map(Query::Asn);
    }
    if let Some((_, host)) = q.rsplit_once('@') {
        return host_query(host.trim_end_matches('>'), q);
    }
    if q.contains('/') || q.contains(':') {
        // A URL without its scheme, or host:port.
        return host_query(url_host(q), q);
    }
    normalise_domain(q).map(Query::Domain)
}

/// The host of a URL's `authority[/path][?query][#fragment]`, without user info, port or brackets.
fn url_host(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("");
    }
    host_port.split(':').next().unwrap_or("")
}

/// A host taken from a URL or e-mail address: an address (also an e-mail address
/// literal such as `[192.0.2.1]` or `[IPv6:2001:db8::1]`) or a domain.
fn host_query(host: &str, original: &str) -> Result<Query, PrefixError> {
    let host = host.trim();
    if host.is_empty() {
        return Err(PrefixError::BadQuery { input: clip(original) });
    }
    let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    let literal = literal.map(|h| h.get(..5).filter(|p| p.eq_ignore_ascii_case("ipv6:")).map_or(h, |_| &h[5..]));
    if let Ok(ip) = literal.unwrap_or(host).parse::<IpAddr>() {
        return Ok(Query::Ip(ip.to_canonical()));
    }
    if literal.is_some() {
        return Err(PrefixError::BadQuery { input: clip(original) });
    }
    normalise_domain(host).map(Query::Domain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    const A: Uuid = Uuid::from_u128(0xA);
    const B: Uuid = Uuid::from_u128(0xB);
    const C: Uuid = Uuid::from_u128(0xC);
    const JP_CERT: Uuid = Uuid::from_u128(0x1A9);

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
    }

    fn asset(org: Uuid, value: &str, source: &str) -> AssetRecord {
        let (kind, value) = if let Ok(p) = IpPrefix::parse(value) {
            (if p.is_ipv4() { AssetKind::Ipv4Prefix } else { AssetKind::Ipv6Prefix }, p.to_string())
        } else if let Ok(n) = parse_asn(value) {
            (AssetKind::Asn, n.to_string())
        } else {
            (AssetKind::Domain, normalise_domain(value).unwrap())
        };
        AssetRecord {
            id: crate::ids::new_id(),
            org_id: org,
            kind,
            value,
            include_subdomains: true,
            source: source.parse().unwrap(),
            valid_from: None,
            valid_until: None,
        }
    }

    fn row(prefix: &str, asn: Option<u32>, cc: &str) -> RoutingRow {
        RoutingRow { prefix: IpPrefix::parse(prefix).unwrap(), asn, country: Some(cc.to_string()) }
    }

    fn index(assets: &[AssetRecord]) -> ConstituencyIndex {
        let routing = vec![
            row("1.34.0.0/15", Some(3462), "TW"),
            row("1.36.0.0/16", Some(64_500), "TW"),
            row("133.0.0.0/8", Some(2500), "JP"),
            row("8.8.8.0/24", Some(15169), "US"),
            row("2001:b000::/20", Some(3462), "TW"),
        ];
        ConstituencyIndex::build(assets, routing, HashMap::from([("jp".to_string(), JP_CERT)]), "tw", now())
    }

    fn orgs(answer: &RouteAnswer) -> Vec<Uuid> {
        answer.matches.iter().map(|m| m.org_id).collect()
    }

    /// The feed pipeline's `route_ip` and the full answer must route every address alike.
    #[test]
    fn the_fast_route_agrees_with_the_full_answer() {
        let mut routing = vec![
            row("1.34.0.0/15", Some(3462), "TW"),
            row("1.34.128.0/17", None, "TW"),
            row("133.0.0.0/8", Some(2500), " jp "),
            row("133.1.0.0/16", Some(2501), "KR"),
            row("8.8.8.0/24", Some(15169), "US"),
            row("9.9.9.0/24", Some(19281), ""),
            row("2001:b000::/20", Some(3462), "TW"),
            row("2400:4000::/22", Some(2500), "JP"),
            // The same prefix twice: the first row counts.
            row("10.0.0.0/8", Some(64_501), "JP"),
            row("10.0.0.0/8", Some(64_502), "TW"),
        ];
        routing.push(RoutingRow { prefix: IpPrefix::parse("11.0.0.0/8").unwrap(), asn: Some(64_503), country: None });
        let assets = [
            asset(A, "1.34.1.0/24", "imported:ripe"),
            asset(B, "1.34.0.0/16", "manual"),
            asset(C, "1.35.0.0/24", "manual"),
            asset(A, "1.35.0.0/24", "manual"),
            asset(C, "AS15169", "imported:ripe"),
            asset(A, "AS2501", "manual"),
            asset(B, "AS2501", "manual"),
        ];
        let certs = HashMap::from([("jp".to_string(), JP_CERT), ("US".to_string(), C)]);
        let ix = ConstituencyIndex::build(&assets, routing, certs, " tw", now());
        let addresses = [
            "1.34.1.5",
            "1.34.200.1",
            "1.35.0.9",
            "1.35.1.1",
            "133.5.5.5",
            "133.1.2.3",
            "8.8.8.8",
            "9.9.9.9",
            "10.1.2.3",
            "11.1.1.1",
            "2001:b000::1",
            "2400:4000::5",
            "::ffff:133.5.5.5",
            "192.0.2.1",
            "2001:db8::1",
        ];
        for text in addresses {
            let ip: IpAddr = text.parse().unwrap();
            let full = ix.lookup_ip(ip);
            let fast = ix.route_ip(ip);
            let want_org = if full.tie { None } else { full.matches.first().map(|m| m.org_id) };
            assert_eq!((fast.org, fast.tie), (want_org, full.tie), "{text}: {full:?}");
            assert_eq!((fast.asn, fast.country), (full.asn, full.country.as_deref()), "{text}");
            let network = ix.routing(ip).map(|r| r.prefix.to_string());
            assert_eq!(fast.network, network.as_deref(), "{text}");
        }
        // The cases above reach every way of routing.
        let route = |text: &str| ix.route_ip(text.parse().unwrap());
        assert_eq!(route("133.5.5.5").org, Some(JP_CERT));
        assert_eq!(route("::ffff:133.5.5.5").country, Some(" jp "));
        assert_eq!(route("8.8.8.8").org, Some(C));
        assert!(route("133.1.2.3").tie);
        assert_eq!((route("10.1.2.3").asn, route("10.1.2.3").org), (Some(64_501), Some(JP_CERT)));
        assert_eq!((route("11.1.1.1").asn, route("11.1.1.1").country), (Some(64_503), None));
        assert_eq!(route("1.34.200.1").network, Some("1.34.128.0/17"));
    }

    #[test]
    fn manual_beats_imported_even_when_less_specific() {
        let ix = index(&[asset(A, "1.34.1.0/24", "imported:ripe"), asset(B, "1.34.0.0/16", "manual")]);
        let a = ix.lookup("1.34.1.5").unwrap();
        assert_eq!(orgs(&a), [B]);
        assert_eq!((a.matches[0].via, a.matches[0].matched.as_str()), (MatchVia::Prefix, "1.34.0.0/16"));
        assert_eq!(a.matches[0].source, Some(AssetSource::Manual));
        assert_eq!(a.reason, "most specific manual prefix 1.34.0.0/16");
        assert_eq!((a.kind, a.asn, a.country.as_deref(), a.tie), (QueryKind::Ip, Some(3462), Some("TW"), false));
        // Outside the manual /16, the imported data is used.
        let ix = index(&[asset(A, "1.35.1.0/24", "imported:ripe"), asset(B, "1.34.0.0/16", "manual")]);
        let a = ix.lookup("1.35.1.5").unwrap();
        assert_eq!(orgs(&a), [A]);
        assert_eq!(a.matches[0].source, Some(AssetSource::Imported("ripe".into())));
    }

    #[test]
    fn most_specific_prefix_wins_within_a_class() {
        let ix = index(&[asset(A, "1.34.0.0/15", "manual"), asset(B, "1.34.1.0/24", "manual"), asset(C, "1.34.1.0/25", "imported:csv")]);
        assert_eq!(orgs(&ix.lookup("1.34.1.1").unwrap()), [B]);
        assert_eq!(orgs(&ix.lookup("1.35.0.1").unwrap()), [A]);
        // A prefix query answers with the most specific asset that contains all of it.
        let p = ix.lookup("1.34.1.0/25").unwrap();
        assert_eq!((p.kind, orgs(&p)), (QueryKind::Prefix, vec![B]));
        assert_eq!(orgs(&ix.lookup("1.34.0.0/23").unwrap()), [A]);
        assert_eq!(ix.lookup("1.32.0.0/14").unwrap().matches.len(), 0);
    }

    #[test]
    fn several_holders_are_a_tie_never_a_choice() {
        let ix = index(&[asset(A, "1.34.1.0/24", "manual"), asset(B, "1.34.1.0/24", "manual"), asset(C, "1.34.1.0/24", "imported:ripe")]);
        let a = ix.lookup("1.34.1.9").unwrap();
        assert!(a.tie);
        assert_eq!(orgs(&a), [A, B], "imported holders do not join a manual tie");
        let ix = index(&[asset(A, "1.34.1.0/24", "manual"), asset(A, "1.34.1.0/24", "imported:x"), asset(A, "1.34.1.0/24", "manual")]);
        let a = ix.lookup("1.34.1.9").unwrap();
        assert!(!a.tie && orgs(&a) == [A], "one organisation twice is no tie");
        let ix = index(&[asset(A, "example.tw", "manual"), asset(B, "example.tw", "manual")]);
        assert!(ix.lookup("www.example.tw").unwrap().tie);
        let ix = index(&[asset(A, "AS3462", "imported:ripe"), asset(B, "3462", "imported:csv")]);
        let a = ix.lookup("AS3462").unwrap();
        assert!(a.tie && orgs(&a) == [A, B]);
    }

    #[test]
    fn assets_outside_their_validity_window_are_ignored() {
        let mut expired = asset(A, "1.34.1.0/24", "manual");
        expired.valid_until = Some(now());
        let mut future = asset(B, "1.34.1.0/24", "manual");
        future.valid_from = Some(now() + Duration::seconds(1));
        let mut current = asset(C, "1.34.0.0/16", "manual");
        current.valid_from = Some(now() - Duration::days(1));
        current.valid_until = Some(now() + Duration::days(1));
        assert!(!expired.is_active(now()) && !future.is_active(now()) && current.is_active(now()));
        let ix = index(&[expired, future, current]);
        assert_eq!(orgs(&ix.lookup("1.34.1.1").unwrap()), [C]);
    }

    #[test]
    fn uncovered_addresses_fall_back_to_the_origin_as() {
        let ix = index(&[asset(A, "AS3462", "imported:ripe"), asset(B, "1.34.1.0/24", "imported:ripe")]);
        let a = ix.lookup("1.34.200.1").unwrap();
        assert_eq!(orgs(&a), [A]);
        assert_eq!((a.matches[0].via, a.matches[0].matched.as_str()), (MatchVia::OriginAsn, "AS3462"));
        assert_eq!(a.reason, "origin AS3462 of 1.34.0.0/15");
        assert_eq!(a.asn, Some(3462));
        // The prefix asset still wins where it applies.
        assert_eq!(orgs(&ix.lookup("1.34.1.1").unwrap()), [B]);
        assert_eq!(orgs(&ix.lookup("2001:b000::1").unwrap()), [A]);
    }

    #[test]
    fn foreign_addresses_go_to_the_national_cert() {
        let ix = index(&[]);
        let a = ix.lookup("133.1.1.1").unwrap();
        assert_eq!(orgs(&a), [JP_CERT]);
        assert_eq!((a.matches[0].via, a.matches[0].matched.as_str(), a.matches[0].asset_id), (MatchVia::Country, "JP", None));
        assert_eq!(a.reason, "outside the constituency: JP");
        assert_eq!(a.country.as_deref(), Some("JP"));
        // A country without a national CERT on record: no match, but the reason says why.
        let a = ix.lookup("8.8.8.8").unwrap();
        assert!(a.matches.is_empty() && a.reason.contains("outside the constituency: US"), "{a:?}");
        // An organisation holding the foreign address's origin AS still comes first.
        let ix = index(&[asset(B, "AS2500", "manual")]);
        assert_eq!(orgs(&ix.lookup("133.1.1.1").unwrap()), [B]);
    }

    #[test]
    fn home_country_addresses_without_assets_match_nothing() {
        let ix = index(&[]);
        let a = ix.lookup("1.36.0.1").unwrap();
        assert!(a.matches.is_empty() && !a.tie);
        assert_eq!((a.asn, a.country.as_deref(), a.reason.as_str()), (Some(64_500), Some("TW"), "no match"));
        let a = ix.lookup("192.168.1.1").unwrap();
        assert!(a.matches.is_empty() && a.reason.contains("private-use"), "{a:?}");
        let a = ix.lookup("9.9.9.9").unwrap();
        assert!(a.matches.is_empty() && a.country.is_none() && a.asn.is_none());
    }

    #[test]
    fn domains_with_and_without_subdomains() {
        let mut exact = asset(B, "www.example.tw", "manual");
        exact.include_subdomains = false;
        let ix = index(&[asset(A, "example.tw", "manual"), exact, asset(C, "gov.tw", "imported:csv")]);
        let d = |q: &str| ix.lookup(q).unwrap();
        assert_eq!(orgs(&d("example.tw")), [A]);
        assert_eq!(orgs(&d("mail.example.tw")), [A]);
        assert_eq!(orgs(&d("www.example.tw")), [B]);
        assert_eq!(orgs(&d("a.www.example.tw")), [A]);
        assert_eq!(orgs(&d("moi.gov.tw")), [C]);
        assert!(d("example.com").matches.is_empty());
        let a = d("WWW.Example.TW.");
        assert_eq!((a.query.as_str(), a.kind, a.matches[0].via), ("www.example.tw", QueryKind::Domain, MatchVia::Domain));
        assert_eq!(a.matches[0].matched, "www.example.tw");
        assert_eq!(d("mail.example.tw").reason, "most specific manual domain example.tw");
    }

    #[test]
    fn urls_and_email_addresses_use_their_host() {
        let ix = index(&[asset(A, "example.tw", "manual"), asset(B, "1.34.1.0/24", "manual"), asset(C, "2001:b000::/20", "manual")]);
        for (q, org, kind) in [
            ("https://www.Example.TW:8443/login?next=/x#top", A, QueryKind::Domain),
            ("http://user:secret@mail.example.tw/", A, QueryKind::Domain),
            ("www.example.tw/phish/index.html", A, QueryKind::Domain),
            ("example.tw:443", A, QueryKind::Domain),
            ("abuse@example.tw", A, QueryKind::Domain),
            ("Someone <someone@mail.example.tw>", A, QueryKind::Domain),
            ("http://1.34.1.7:8080/x", B, QueryKind::Ip),
            ("https://[2001:b000::5]/", C, QueryKind::Ip),
            ("[2001:b000::6]", C, QueryKind::Ip),
            ("user@[1.34.1.8]", B, QueryKind::Ip),
            ("user@[IPv6:2001:b000::7]", C, QueryKind::Ip),
            ("::ffff:1.34.1.9", B, QueryKind::Ip),
        ] {
            let a = ix.lookup(q).unwrap_or_else(|e| panic!("{q}: {e}"));
            assert_eq!((orgs(&a), a.kind), (vec![org], kind), "{q}");
        }
    }

    #[test]
    fn asn_queries() {
        let ix = index(&[asset(A, "AS3462", "manual")]);
        for q in ["AS3462", "as3462", "3462", "AS 3462"] {
            let a = ix.lookup(q).unwrap();
            assert_eq!((a.kind, a.query.as_str(), orgs(&a), a.asn), (QueryKind::Asn, "AS3462", vec![A], Some(3462)), "{q}");
            assert_eq!(a.matches[0].via, MatchVia::Asn);
        }
        assert!(ix.lookup("AS1").unwrap().matches.is_empty());
    }

    #[test]
    fn malformed_queries_are_errors() {
        let ix = index(&[]);
        for q in [
            "",
            "   ",
            "1.2.3.4/24",
            "1.2.3.0/33",
            "999.1.1.1",
            "1.2.3",
            "2001:db8::zz",
            "AS0",
            "4294967295",
            "exa mple.tw",
            "*.example.tw",
            "http://",
            "https:///path",
            "user@",
            "[nope]",
            "user@[1.2.3]",
            "台灣.tw",
        ] {
            assert!(ix.lookup(q).is_err(), "{q:?} should be refused");
        }
        assert!(matches!(ix.lookup("1.2.3.4/24"), Err(PrefixError::HostBitsSet { .. })));
        assert!(matches!(ix.lookup("999.1.1.1"), Err(PrefixError::BadAddress { .. })));
        assert!(matches!(ix.lookup("AS0"), Err(PrefixError::BadAsn { .. })));
        assert!(matches!(ix.lookup("http://"), Err(PrefixError::BadQuery { .. })));
    }

    #[test]
    fn invalid_stored_values_are_left_out_and_reported() {
        let mut wrong_family = asset(A, "1.34.1.0/24", "manual");
        wrong_family.kind = AssetKind::Ipv6Prefix;
        let mut garbage = asset(B, "example.tw", "manual");
        garbage.value = "not a domain".into();
        let (w, g) = (wrong_family.id, garbage.id);
        let ix = index(&[wrong_family, garbage, asset(C, "1.34.0.0/16", "manual")]);
        assert_eq!(ix.invalid_assets(), [w, g]);
        assert_eq!(orgs(&ix.lookup("1.34.1.1").unwrap()), [C]);
    }

    #[test]
    fn overlapping_claims_are_found() {
        let assets = [
            asset(A, "1.34.0.0/16", "manual"),
            asset(B, "1.34.1.0/24", "imported:ripe"),
            asset(C, "1.36.0.0/16", "manual"),
            asset(C, "AS3462", "manual"),
        ];
        let found = |p: &str| assets_overlapping(&assets, &IpPrefix::parse(p).unwrap()).iter().map(|a| a.org_id).collect::<Vec<_>>();
        assert_eq!(found("1.34.1.128/25"), [A, B]);
        assert_eq!(found("1.34.0.0/15"), [A, B]);
        assert_eq!(found("1.35.0.0/16"), Vec::<Uuid>::new());
        assert_eq!(found("0.0.0.0/0"), [A, B, C]);
    }

    #[test]
    fn asset_sources_use_their_wire_form() {
        assert_eq!("manual".parse::<AssetSource>().unwrap(), AssetSource::Manual);
        assert_eq!("imported:ripe".parse::<AssetSource>().unwrap(), AssetSource::Imported("ripe".into()));
        assert_eq!(AssetSource::Imported("csv:ministries".into()).to_string(), "imported:csv:ministries");
        for bad in ["", "Manual", "imported:", "imported: ", "ripe"] {
            assert!(bad.parse::<AssetSource>().is_err(), "{bad:?}");
        }
        let json = serde_json::to_string(&AssetSource::Imported("ripe".into())).unwrap();
        assert_eq!(json, "\"imported:ripe\"");
        assert_eq!(serde_json::from_str::<AssetSource>(&json).unwrap(), AssetSource::Imported("ripe".into()));
        assert!(serde_json::from_str::<AssetSource>("\"bogus\"").is_err());
        assert_eq!(AssetKind::Ipv4Prefix.as_str(), "ipv4_prefix");
        assert_eq!(MatchVia::OriginAsn.to_string(), "origin_asn");
    }
}
