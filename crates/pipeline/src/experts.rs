//! Experts: what the pipeline adds to an event after parsing — origin AS, network and
//! country from the routing table, the responsible constituent, the RSIT taxonomy of
//! its type — and the fingerprint that de-duplication compares.

use crate::event::{fields, Event, FieldId, Kind};
use rampart_core::constituency::resolve::ConstituencyIndex;
use std::hash::Hasher;
use std::net::IpAddr;
use std::sync::LazyLock;
use uuid::Uuid;

/// The outcome of routing one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Routed {
    pub org: Option<Uuid>,
    /// Several organisations hold the address equally; nobody is told until resolved.
    pub tie: bool,
}

pub(crate) static EXTRA_TIE: LazyLock<FieldId> = LazyLock::new(|| FieldId::of("extra.rampart_route_tie"));

/// What routing adds to one event: the routing table's facts for its address (each to be
/// set only where the feed did not give it) and the responsible organisation.
#[derive(Debug, Clone, Copy, Default)]
pub struct RouteFacts<'t> {
    pub asn: Option<u32>,
    pub network: Option<&'t str>,
    pub country: Option<&'t str>,
    pub routed: Routed,
}

/// Routes an address (`source.ip` as text), falling back to the feed's own AS number
/// (`source.asn`) for addresses the routing table does not place.
pub fn route_facts<'t>(ip: Option<&str>, feed_asn: Option<&str>, index: &'t ConstituencyIndex) -> RouteFacts<'t> {
    route_facts_of(ip.and_then(crate::ip::parse_ip), feed_asn, index)
}

/// [`route_facts`] for an address already read.
pub(crate) fn route_facts_of<'t>(ip: Option<IpAddr>, feed_asn: Option<&str>, index: &'t ConstituencyIndex) -> RouteFacts<'t> {
    let Some(ip) = ip else {
        return RouteFacts::default();
    };
    let mut route = index.route_ip(ip);
    if route.org.is_none() && !route.tie {
        if let Some(asn) = feed_asn.and_then(|a| a.parse::<u32>().ok()) {
            let by_asn = index.route_asn(asn);
            route.org = by_asn.org;
            route.tie = by_asn.tie;
        }
    }
    RouteFacts { asn: route.asn, network: route.network, country: route.country, routed: Routed { org: route.org, tie: route.tie } }
}

/// Adds `source.asn`, `source.network` and `source.geolocation.cc` from the routing table
/// where the feed did not give them, and the responsible organisation as
/// `extra.rampart_org`. Returns the routing outcome.
pub fn enrich_and_route<'t>(event: &mut Event<'t>, index: &'t ConstituencyIndex, buf: &mut String) -> Routed {
    let facts = route_facts(event.get(*fields::SOURCE_IP), event.get(*fields::SOURCE_ASN), index);
    if let (Some(asn), false) = (facts.asn, event.contains(*fields::SOURCE_ASN)) {
        buf.clear();
        push_u64(buf, u64::from(asn));
        event.set_kind(*fields::SOURCE_ASN, Kind::Integer, buf.clone());
    }
    if let (Some(network), false) = (facts.network, event.contains(*fields::SOURCE_NETWORK)) {
        event.set(*fields::SOURCE_NETWORK, network);
    }
    if let (Some(cc), false) = (facts.country, event.contains(*fields::SOURCE_GEOLOCATION_CC)) {
        event.set(*fields::SOURCE_GEOLOCATION_CC, cc);
    }
    if let Some(org) = facts.routed.org {
        event.set(*fields::EXTRA_ORGANISATION, org.to_string());
    }
    if facts.routed.tie {
        event.set_kind(*EXTRA_TIE, Kind::Boolean, "true");
    }
    facts.routed
}

fn push_u64(buf: &mut String, n: u64) {
    buf.push_str(decimal(n, &mut [0u8; 20]));
}

/// The decimal text of `n`, written into `digits`.
pub(crate) fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &str {
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&digits[i..]).expect("ASCII digits")
}

/// RSIT taxonomy for IntelMQ classification types, for feeds that give only the type.
pub fn taxonomy_of(classification_type: &str) -> Option<&'static str> {
    Some(match classification_type {
        "spam" | "harmful-speech" | "violence" => "abusive-content",
        "infected-system" | "c2-server" | "malware-distribution" | "malware-configuration" | "malware" => "malicious-code",
        "scanner" | "sniffing" | "social-engineering" => "information-gathering",
        "ids-alert" | "brute-force" | "exploit" => "intrusion-attempts",
        "privileged-account-compromise"
        | "unprivileged-account-compromise"
        | "application-compromise"
        | "system-compromise"
        | "burglary" => "intrusions",
        "ddos" | "dos" | "outage" | "sabotage" => "availability",
        "unauthorised-information-access" | "unauthorised-information-modification" | "data-loss" | "data-leak" => {
            "information-content-security"
        }
        "unauthorized-use-of-resources" | "copyright" | "masquerade" | "phishing" => "fraud",
        "weak-crypto" | "ddos-amplifier" | "potentially-unwanted-accessible" | "information-disclosure" | "vulnerable-system" => {
            "vulnerable"
        }
        "blacklist" | "dga-domain" | "proxy" | "tor" | "undetermined" | "other" => "other",
        "test" => "test",
        _ => return None,
    })
}

/// Sets `classification.taxonomy` from `classification.type` when it is missing.
pub fn fill_taxonomy(event: &mut Event<'_>) {
    if event.contains(*fields::CLASSIFICATION_TAXONOMY) {
        return;
    }
    if let Some(t) = event.get(*fields::CLASSIFICATION_TYPE).and_then(taxonomy_of) {
        event.set(*fields::CLASSIFICATION_TAXONOMY, t);
    }
}

/// Marks an event whose address, host or URL is on a warninglist: `extra.rampart_warninglist`
/// names the list and the entry. True when it was marked.
pub fn mark_warninglisted(event: &mut Event<'_>, lists: &rampart_intel::warninglist::WarninglistSet) -> bool {
    // The event's fields a warninglist can know, with the MISP attribute type each is.
    let checked = [
        (*fields::SOURCE_IP, "ip-src"),
        (*fields::SOURCE_FQDN, "domain"),
        (*fields::SOURCE_URL, "url"),
        (*fields::DESTINATION_IP, "ip-dst"),
        (*fields::DESTINATION_FQDN, "domain"),
    ];
    for (field, attribute_type) in checked {
        let Some(value) = event.get(field) else { continue };
        if let Some(hit) = lists.check(attribute_type, value).first() {
            let mark = format!("{}: {}", hit.list, hit.entry);
            event.set(*fields::EXTRA_WARNINGLIST, mark);
            return true;
        }
    }
    false
}

/// Which fields make two events "the same". Like IntelMQ's deduplicator, the default
/// compares everything but `raw` and `time.observation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DedupeKeys {
    AllExcept(Vec<FieldId>),
    Only(Vec<FieldId>),
}

impl Default for DedupeKeys {
    fn default() -> Self {
        DedupeKeys::AllExcept(vec![*fields::RAW, *fields::TIME_OBSERVATION])
    }
}

impl DedupeKeys {
    /// From configuration: `only` the named fields when any are named, else every field
    /// but the `ignored` ones (IntelMQ's whitelist and blacklist filter types).
    pub fn from_names(only: &[String], ignored: &[String]) -> Result<DedupeKeys, crate::event::EventError> {
        let ids = |names: &[String]| names.iter().map(|n| FieldId::intern(n.trim())).collect::<Result<Vec<_>, _>>();
        Ok(if only.is_empty() { DedupeKeys::AllExcept(ids(ignored)?) } else { DedupeKeys::Only(ids(only)?) })
    }

    /// A 64-bit fingerprint of the chosen fields, independent of field order.
    pub fn fingerprint(&self, event: &Event<'_>) -> u64 {
        // Order-independent: a sum of per-field hashes, so feeds that emit fields in a
        // different order still match.
        crate::event::FieldTable::with(|table| self.fingerprint_with(table, event))
    }

    /// [`DedupeKeys::fingerprint`] with the field table already in hand.
    pub fn fingerprint_with(&self, table: &crate::event::FieldTable, event: &Event<'_>) -> u64 {
        let mut sum: u64 = 0;
        let mut count: u64 = 0;
        for (field, value, rendered) in event.iter_rendered() {
            if self.chooses(field) {
                sum = sum.wrapping_add(match rendered {
                    Some(rendered) => rendered.hash_term(),
                    None => field_term(table.get(field).hash, &value.text),
                });
                count += 1;
            }
        }
        fingerprint_of(sum, count)
    }

    /// Appends the event as [`Event::write_intelmq_json_with`] does and returns its
    /// [`DedupeKeys::fingerprint_with`], in one pass over its fields.
    pub fn write_json_and_fingerprint(&self, table: &crate::event::FieldTable, event: &Event<'_>, out: &mut Vec<u8>) -> u64 {
        let (sum, count) = event.write_intelmq_json_summing(table, |field| self.chooses(field), out);
        fingerprint_of(sum, count)
    }

    #[inline]
    pub(crate) fn chooses(&self, field: FieldId) -> bool {
        match self {
            DedupeKeys::AllExcept(skip) => !skip.contains(&field),
            DedupeKeys::Only(keep) => keep.contains(&field),
        }
    }
}

/// The fingerprint of chosen fields whose terms add up to `sum`.
pub(crate) fn fingerprint_of(sum: u64, count: u64) -> u64 {
    mix(sum ^ count.rotate_left(32))
}

/// What one field adds to a fingerprint: a hash of its value seeded with its name's.
pub(crate) fn field_term(name_hash: u64, text: &str) -> u64 {
    field_term_of_bytes(name_hash, text.as_bytes())
}

/// [`field_term`] of a text given as its bytes.
pub(crate) fn field_term_of_bytes(name_hash: u64, text: &[u8]) -> u64 {
    let mut h = FastHasher { state: name_hash };
    h.write(text);
    mix(h.finish())
}

/// A fast non-cryptographic hash over 8-byte words (the de-duplication key is not a
/// security boundary: a collision only merges two events of the same feed).
#[derive(Default)]
pub struct FastHasher {
    state: u64,
}

const K: u64 = 0x9E37_79B9_7F4A_7C15;

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// The high bit of each byte of a word.
pub(crate) const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The high bit of every byte of `word` equal to `byte`, and no other bit (exact: no carry
/// from one byte reaches the next).
#[inline(always)]
pub(crate) fn bytes_equal_to(word: u64, byte: u8) -> u64 {
    const LOW: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let x = word ^ (0x0101_0101_0101_0101 * u64::from(byte));
    !(((x & LOW) + LOW) | x | LOW)
}

/// The up to 7 bytes of `rest` as a zero-padded little-endian word, read in two or three
/// overlapping loads rather than byte by byte (overlapping bytes are the same bytes).
pub(crate) fn tail_word(rest: &[u8]) -> u64 {
    let len = rest.len();
    match len {
        0 => 0,
        1..=3 => u64::from(rest[0]) | (u64::from(rest[len / 2]) << (8 * (len / 2))) | (u64::from(rest[len - 1]) << (8 * (len - 1))),
        _ => {
            let low = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
            let high = u32::from_le_bytes([rest[len - 4], rest[len - 3], rest[len - 2], rest[len - 1]]);
            u64::from(low) | (u64::from(high) << (8 * (len - 4)))
        }
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.state = (self.state ^ word).wrapping_mul(K).rotate_left(29);
        }
        let rest = chunks.remainder();
        let tail = tail_word(rest);
        self.state = (self.state ^ tail ^ ((rest.len() as u64) << 56)).wrapping_mul(K).rotate_left(29);
    }

    fn finish(&self) -> u64 {
        mix(self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::constituency::prefix::IpPrefix;
    use rampart_core::constituency::resolve::{AssetKind, AssetRecord, AssetSource, RoutingRow};

    fn index(org: Uuid) -> ConstituencyIndex {
        let asset = AssetRecord {
            id: Uuid::now_v7(),
            org_id: org,
            kind: AssetKind::Ipv4Prefix,
            value: "1.34.0.0/16".into(),
            include_subdomains: false,
            source: AssetSource::Manual,
            valid_from: None,
            valid_until: None,
        };
        let routing = vec![RoutingRow { prefix: IpPrefix::parse("1.34.0.0/15").unwrap(), asn: Some(3462), country: Some("TW".into()) }];
        ConstituencyIndex::build(&[asset], routing, Default::default(), "TW", chrono::Utc::now())
    }

    #[test]
    fn events_get_their_asn_network_country_and_organisation() {
        let org = Uuid::now_v7();
        let ix = index(org);
        let mut e = Event::new();
        e.set(*fields::SOURCE_IP, "1.34.9.9");
        let mut buf = String::new();
        let routed = enrich_and_route(&mut e, &ix, &mut buf);
        assert_eq!(routed, Routed { org: Some(org), tie: false });
        let json = e.to_json();
        assert_eq!(json["source.asn"], 3462);
        assert_eq!(json["source.network"], "1.34.0.0/15");
        assert_eq!(json["source.geolocation.cc"], "TW");
        assert_eq!(json["extra.rampart_org"], org.to_string());
        // What the feed said is kept.
        let mut e = Event::new();
        e.set(*fields::SOURCE_IP, "1.35.0.1");
        e.set_kind(*fields::SOURCE_ASN, Kind::Integer, "64512");
        assert_eq!(enrich_and_route(&mut e, &ix, &mut buf), Routed::default());
        assert_eq!(e.to_json()["source.asn"], 64512);
    }

    #[test]
    fn fingerprints_ignore_order_raw_and_observation_time() {
        let keys = DedupeKeys::default();
        let mut a = Event::new();
        a.set(*fields::SOURCE_IP, "192.0.2.1");
        a.set(*fields::SOURCE_PORT, "53");
        a.set(*fields::RAW, "x");
        let mut b = Event::new();
        b.set(*fields::SOURCE_PORT, "53");
        b.set(*fields::SOURCE_IP, "192.0.2.1");
        b.set(*fields::TIME_OBSERVATION, "2026-01-01T00:00:00+00:00");
        assert_eq!(keys.fingerprint(&a), keys.fingerprint(&b));
        b.set(*fields::SOURCE_PORT, "54");
        assert_ne!(keys.fingerprint(&a), keys.fingerprint(&b));
        // A value moved between fields is a different event.
        let mut c = Event::new();
        c.set(*fields::SOURCE_IP, "53");
        c.set(*fields::SOURCE_PORT, "192.0.2.1");
        assert_ne!(keys.fingerprint(&a), keys.fingerprint(&c));
        let only = DedupeKeys::Only(vec![*fields::SOURCE_IP]);
        assert_ne!(only.fingerprint(&a), only.fingerprint(&c));
        let mut d = a.clone();
        d.set(*fields::SOURCE_PORT, "99");
        assert_eq!(only.fingerprint(&a), only.fingerprint(&d), "only the chosen fields count");
    }

    #[test]
    fn values_made_ahead_write_and_hash_as_plain_ones() {
        use crate::event::Rendered;
        let keys = DedupeKeys::default();
        let cases = [
            (*fields::FEED_NAME, Kind::Text, "Open \"DNS\"\nresolvers \u{1}"),
            (*fields::SOURCE_PORT, Kind::Integer, "53"),
            (*fields::SOURCE_PORT, Kind::Integer, "53x"),
            (*fields::FEED_ACCURACY, Kind::Float, "99.5"),
            (FieldId::of("extra.flag"), Kind::Boolean, "true"),
            (FieldId::of("extra.list"), Kind::Json, "[1,\"a\"]"),
            (*fields::TIME_OBSERVATION, Kind::Text, "2026-11-30T00:00:00+00:00"),
        ];
        for (field, kind, text) in cases {
            let rendered = Rendered::new(field, kind, text);
            let mut made = Event::new();
            made.set(*fields::SOURCE_IP, "192.0.2.1");
            made.set_rendered(&rendered);
            let mut plain = Event::new();
            plain.set(*fields::SOURCE_IP, "192.0.2.1");
            plain.set_kind(field, kind, text);
            assert_eq!(made, plain);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            made.write_intelmq_json(&mut a);
            plain.write_intelmq_json(&mut b);
            assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap(), "{text:?}");
            assert_eq!(keys.fingerprint(&made), keys.fingerprint(&plain), "{text:?}");
            // A later value replaces what was made ahead, in the output too.
            made.set(field, "other");
            plain.set(field, "other");
            let (mut a, mut b) = (Vec::new(), Vec::new());
            made.write_intelmq_json(&mut a);
            plain.write_intelmq_json(&mut b);
            assert_eq!(a, b);
            assert_eq!(keys.fingerprint(&made), keys.fingerprint(&plain));
        }
    }

    #[test]
    fn one_pass_writes_and_fingerprints_as_the_two_passes_do() {
        use crate::event::{FieldTable, Rendered};
        let observed = Rendered::new(*fields::TIME_OBSERVATION, Kind::Text, "2026-11-30T00:00:00+00:00");
        let tag = Rendered::new(FieldId::intern("extra.tag").unwrap(), Kind::Text, "openresolver");
        let mut event = Event::new();
        event.set(*fields::SOURCE_IP, "192.0.2.1");
        event.set_rendered(&observed);
        event.set_kind(*fields::SOURCE_PORT, Kind::Integer, "53");
        event.set_rendered(&tag);
        event.set(*fields::RAW, "cmF3");
        let only = DedupeKeys::from_names(&["source.ip".into(), "extra.tag".into()], &[]).unwrap();
        let skip_tag = DedupeKeys::from_names(&[], &["extra.tag".into(), "source.port".into()]).unwrap();
        for keys in [DedupeKeys::default(), only, skip_tag] {
            let mut two_passes = b"before".to_vec();
            event.write_intelmq_json(&mut two_passes);
            let mut one_pass = b"before".to_vec();
            let fingerprint = FieldTable::with(|table| keys.write_json_and_fingerprint(table, &event, &mut one_pass));
            assert_eq!(String::from_utf8(one_pass).unwrap(), String::from_utf8(two_passes).unwrap(), "{keys:?}");
            assert_eq!(fingerprint, keys.fingerprint(&event), "{keys:?}");
        }
    }

    #[test]
    fn tails_hash_as_their_zero_padded_word() {
        // The hash is stored (fingerprints outlive the process): it must not change.
        for len in 0..24usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 200) as u8).collect();
            let mut hasher = FastHasher { state: 7 };
            hasher.write(&bytes);
            let mut state = 7u64;
            let mut chunks = bytes.chunks_exact(8);
            for c in &mut chunks {
                state = (state ^ u64::from_le_bytes(c.try_into().unwrap())).wrapping_mul(K).rotate_left(29);
            }
            let mut tail = [0u8; 8];
            tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
            state = (state ^ u64::from_le_bytes(tail) ^ ((chunks.remainder().len() as u64) << 56)).wrapping_mul(K).rotate_left(29);
            assert_eq!(hasher.finish(), mix(state), "{len} bytes");
        }
    }

    #[test]
    fn taxonomy_follows_the_type() {
        let mut e = Event::new();
        e.set(*fields::CLASSIFICATION_TYPE, "vulnerable-system");
        fill_taxonomy(&mut e);
        assert_eq!(e.get(*fields::CLASSIFICATION_TAXONOMY), Some("vulnerable"));
        assert_eq!(taxonomy_of("nonsense"), None);
    }
}
