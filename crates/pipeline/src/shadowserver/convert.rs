//! The converters a Shadowserver schema names, and the harmonisation of values for the
//! fields they land in. Both follow IntelMQ 3.x (`intelmq/bots/parsers/shadowserver/_config.py`
//! for the converters, `intelmq/lib/harmonization.py` for the field types), with the
//! deviations noted where they occur.

use crate::event::Kind;
use chrono::{Datelike, Timelike};
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

/// A converter named in the schema (the third element of a mapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Converter {
    AddUtcToTimestamp,
    CategoryOrDetail,
    ConvertBool,
    ConvertDate,
    ConvertDateUtc,
    ConvertFloat,
    ConvertHttpHostAndUrl,
    ConvertInt,
    ExtractCveFromTag,
    ForceBase64,
    InvalidateZero,
    ScanExchangeIdentifier,
    ScanExchangeTaxonomy,
    ScanExchangeType,
    ValidateFqdn,
    ValidateIp,
    ValidateNetwork,
    ValidateToNone,
}

impl Converter {
    const ALL: [Converter; 18] = [
        Converter::AddUtcToTimestamp,
        Converter::CategoryOrDetail,
        Converter::ConvertBool,
        Converter::ConvertDate,
        Converter::ConvertDateUtc,
        Converter::ConvertFloat,
        Converter::ConvertHttpHostAndUrl,
        Converter::ConvertInt,
        Converter::ExtractCveFromTag,
        Converter::ForceBase64,
        Converter::InvalidateZero,
        Converter::ScanExchangeIdentifier,
        Converter::ScanExchangeTaxonomy,
        Converter::ScanExchangeType,
        Converter::ValidateFqdn,
        Converter::ValidateIp,
        Converter::ValidateNetwork,
        Converter::ValidateToNone,
    ];

    /// Whether the converter looks at other columns of the row than its own; the outcome of
    /// any other depends on its value alone.
    pub(crate) fn reads_row(self) -> bool {
        matches!(self, Converter::CategoryOrDetail | Converter::ConvertHttpHostAndUrl)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Converter::AddUtcToTimestamp => "add_UTC_to_timestamp",
            Converter::CategoryOrDetail => "category_or_detail",
            Converter::ConvertBool => "convert_bool",
            Converter::ConvertDate => "convert_date",
            Converter::ConvertDateUtc => "convert_date_utc",
            Converter::ConvertFloat => "convert_float",
            Converter::ConvertHttpHostAndUrl => "convert_http_host_and_url",
            Converter::ConvertInt => "convert_int",
            Converter::ExtractCveFromTag => "extract_cve_from_tag",
            Converter::ForceBase64 => "force_base64",
            Converter::InvalidateZero => "invalidate_zero",
            Converter::ScanExchangeIdentifier => "scan_exchange_identifier",
            Converter::ScanExchangeTaxonomy => "scan_exchange_taxonomy",
            Converter::ScanExchangeType => "scan_exchange_type",
            Converter::ValidateFqdn => "validate_fqdn",
            Converter::ValidateIp => "validate_ip",
            Converter::ValidateNetwork => "validate_network",
            Converter::ValidateToNone => "validate_to_none",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Converter> {
        Converter::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// A converter's result, before the field type has its say.
#[derive(Debug, Clone, PartialEq)]
// A word-wide tag, as for `Kind`: with one byte, moving a result copied its padding in pieces,
// and reading those back stalled every converted value (a fifth of the row loop's own time).
#[repr(u64)]
pub(crate) enum Converted<'a> {
    Text(Cow<'a, str>),
    /// `add_UTC_to_timestamp`: a time stamp to be read as UTC. IntelMQ appends `" UTC"` and
    /// lets the `DateTime` type parse that; into an `extra.*` field the text goes as is.
    Timestamp(Cow<'a, str>),
    /// Canonical decimal text of an integer.
    Integer(Cow<'a, str>),
    /// `validate_ip` found an IPv4 address (surrounding spaces aside): the `IPAddress` type
    /// then takes the trimmed text as it is, without reading the address again, and routing
    /// takes the address read.
    Ipv4(Cow<'a, str>, Ipv4Addr),
    /// A finite number, as JSON number text with a fraction or an exponent.
    Float(Cow<'a, str>),
    Boolean(bool),
}

impl<'a> Converted<'a> {
    /// The value for an `extra.*` field, which IntelMQ stores without harmonisation.
    pub(crate) fn into_extra(self) -> (Kind, Cow<'a, str>) {
        match self {
            Converted::Text(t) | Converted::Ipv4(t, _) => (Kind::Text, t),
            Converted::Timestamp(t) => (Kind::Text, Cow::Owned(format!("{t} UTC"))),
            Converted::Integer(t) => (Kind::Integer, t),
            Converted::Float(t) => (Kind::Float, t),
            Converted::Boolean(b) => (Kind::Boolean, Cow::Borrowed(if b { "true" } else { "false" })),
        }
    }

    /// Whether IntelMQ's `Message.add` ignores the value (`""`, `"-"`, `"N/A"`).
    pub(crate) fn is_ignored(&self) -> bool {
        matches!(self, Converted::Text(t) if t.is_empty() || t == "-" || t == "N/A")
    }
}

/// A converter that could not read its value (IntelMQ raises, and the row fails).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConvertError {
    /// What the value should have been, e.g. "an integer".
    pub expected: &'static str,
}

const NOT_AN_INTEGER: ConvertError = ConvertError { expected: "an integer" };

/// The columns the whole-row converters look at, resolved once per header.
#[derive(Debug, Clone, Default)]
pub(crate) struct RowColumns {
    cc_dns: Option<usize>,
    http_host: Option<usize>,
    hostname: Option<usize>,
    ip: Option<usize>,
    url: Option<usize>,
    http_url: Option<usize>,
    application: Option<usize>,
    category: Option<usize>,
    detail: Option<usize>,
}

impl RowColumns {
    pub(crate) fn new(index: &HashMap<&str, usize>) -> Self {
        let at = |name: &str| index.get(name).copied();
        RowColumns {
            cc_dns: at("cc_dns"),
            http_host: at("http_host"),
            hostname: at("hostname"),
            ip: at("ip"),
            url: at("url"),
            http_url: at("http_url"),
            application: at("application"),
            category: at("category"),
            detail: at("detail"),
        }
    }
}

/// Runs a converter on one value. `Ok(None)` is IntelMQ's `None`: the field is not set.
pub(crate) fn convert<'a>(
    converter: Converter,
    value: &Cow<'a, str>,
    row: &[Cow<'a, str>],
    columns: &RowColumns,
) -> Result<Option<Converted<'a>>, ConvertError> {
    let text = |v: &Cow<'a, str>| Converted::Text(v.clone());
    Ok(match converter {
        Converter::AddUtcToTimestamp => Some(Converted::Timestamp(value.clone())),
        Converter::ValidateToNone => (!(value.is_empty() || value == "0" || value == "unknown")).then(|| text(value)),
        Converter::ConvertBool => convert_bool(value).map(Converted::Boolean),
        Converter::ConvertInt if value.is_empty() => None,
        Converter::ConvertInt => Some(Converted::Integer(canonical_int(value).ok_or(NOT_AN_INTEGER)?)),
        Converter::InvalidateZero if value.is_empty() => None,
        Converter::InvalidateZero => {
            let int = canonical_int(value).ok_or(NOT_AN_INTEGER)?;
            (int != "0").then_some(Converted::Integer(int))
        }
        Converter::ConvertFloat if value.is_empty() => None,
        Converter::ConvertFloat => Some(Converted::Float(float_text(value).ok_or(ConvertError { expected: "a number" })?)),
        Converter::ValidateIp if value == "0.0.0.0" || has_slash(value) => None,
        Converter::ValidateIp => match parse_ip(value.trim()) {
            Some(IpAddr::V4(address)) => Some(Converted::Ipv4(value.clone(), address)),
            Some(IpAddr::V6(_)) => Some(text(value)),
            None => None,
        },
        Converter::ValidateNetwork => (has_slash(value) && parse_network(value.trim()).is_some()).then(|| text(value)),
        Converter::ValidateFqdn => (!value.is_empty() && sanitize_fqdn(value.clone()).is_some()).then(|| text(value)),
        Converter::ConvertDate => parse_datetime(value).map(|t| Converted::Text(Cow::Owned(t))),
        Converter::ConvertDateUtc => parse_datetime(value).map(|t| Converted::Text(Cow::Owned(t))),
        Converter::ForceBase64 if value.is_empty() => None,
        Converter::ForceBase64 if is_base64(value) => Some(text(value)),
        Converter::ForceBase64 => Some(Converted::Text(Cow::Owned(data_encoding::BASE64.encode(value.as_bytes())))),
        Converter::ScanExchangeTaxonomy => {
            Some(Converted::Text(Cow::Borrowed(if value == "exchange;webshell" { "intrusions" } else { "vulnerable" })))
        }
        Converter::ScanExchangeType => {
            Some(Converted::Text(Cow::Borrowed(if value == "exchange;webshell" { "system-compromise" } else { "infected-system" })))
        }
        Converter::ScanExchangeIdentifier => Some(Converted::Text(Cow::Borrowed(if value == "exchange;webshell" {
            "exchange-server-webshell"
        } else {
            "vulnerable-exchange-server"
        }))),
        Converter::ExtractCveFromTag => extract_cve_from_tag(value).map(|t| Converted::Text(Cow::Owned(t))),
        Converter::CategoryOrDetail => {
            let get = |at: Option<usize>| at.and_then(|i| row.get(i));
            match get(columns.category) {
                Some(category) if !category.is_empty() => Some(text(category)),
                _ => Some(get(columns.detail).map_or(Converted::Text(Cow::Borrowed("")), text)),
            }
        }
        Converter::ConvertHttpHostAndUrl => Some(http_host_and_url(value, row, columns)),
    })
}

/// `convert_bool`: y/yes/true/enabled/1 and n/no/false/disabled/0, in any case; else `None`.
fn convert_bool(value: &str) -> Option<bool> {
    const TRUE: [&str; 5] = ["y", "yes", "true", "enabled", "1"];
    const FALSE: [&str; 5] = ["n", "no", "false", "disabled", "0"];
    if TRUE.iter().any(|t| value.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if FALSE.iter().any(|f| value.eq_ignore_ascii_case(f)) {
        Some(false)
    } else {
        None
    }
}

/// Reads an integer as Python's `int()` does (surrounding white space, a sign, digits with
/// single underscores between them) and gives its canonical decimal text, borrowing the
/// input when it already is canonical. Any size: the text is not narrowed to a machine word.
pub(crate) fn canonical_int<'a>(value: &Cow<'a, str>) -> Option<Cow<'a, str>> {
    let trimmed = trim_str(value);
    let (negative, digits) = match trimmed.as_bytes().first()? {
        b'-' => (true, &trimmed[1..]),
        b'+' => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    // Plain digits, the usual case, need none of the underscore rules.
    let plain_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if !plain_digits {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
            return None;
        }
        if digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
            return None;
        }
    }
    let canonical_already = plain_digits
        && !trimmed.starts_with('+')
        && ((digits == "0" && !negative) || !digits.starts_with('0'))
        && trimmed.len() == value.len();
    if canonical_already {
        return Some(value.clone());
    }
    let plain: String = digits.chars().filter(|c| *c != '_').collect();
    let significant = plain.trim_start_matches('0');
    if significant.is_empty() {
        return Some(Cow::Borrowed("0"));
    }
    Some(Cow::Owned(if negative { format!("-{significant}") } else { significant.to_string() }))
}

/// Reads a number as `float()` does and gives JSON number text for it: the input when it
/// already is JSON with a fraction or exponent, else Rust's shortest round-trip rendering
/// (with `.0` for whole numbers, as Python writes them). Not finite → `None` (Python would
/// accept `nan` and `inf`, which JSON cannot carry).
pub(crate) fn float_text<'a>(value: &Cow<'a, str>) -> Option<Cow<'a, str>> {
    let trimmed = trim_str(value);
    // A plain decimal fraction of JSON syntax is finite: no need to read the number.
    if trimmed.len() == value.len() && crate::event::plain_json_decimal(trimmed) {
        return Some(value.clone());
    }
    let number: f64 = trimmed.parse().ok()?;
    if !number.is_finite() {
        return None;
    }
    if is_json_float(trimmed) {
        return Some(match value {
            Cow::Borrowed(s) => Cow::Borrowed((*s).trim()),
            Cow::Owned(_) => Cow::Owned(trimmed.to_string()),
        });
    }
    let mut text = format!("{number}");
    if !text.contains(['.', 'e', 'E']) {
        text.push_str(".0");
    }
    Some(Cow::Owned(text))
}

/// JSON number syntax with a fraction or an exponent.
fn is_json_float(s: &str) -> bool {
    let b = s.as_bytes();
    let digits_from = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let mut i = usize::from(b.first() == Some(&b'-'));
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits_from(i),
        _ => return false,
    }
    let mut fraction_or_exponent = false;
    if b.get(i) == Some(&b'.') {
        let after = digits_from(i + 1);
        if after == i + 1 {
            return false;
        }
        i = after;
        fraction_or_exponent = true;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let after = digits_from(i);
        if after == i {
            return false;
        }
        i = after;
        fraction_or_exponent = true;
    }
    i == b.len() && fraction_or_exponent
}

/// `force_base64`'s test: Python's `base64.b64decode(value, validate=True)` succeeds.
fn is_base64(value: &str) -> bool {
    let data = value.trim_end_matches('=');
    value.len().is_multiple_of(4)
        && value.len() - data.len() <= 2
        && data.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// `extract_cve_from_tag`: the tags (`;`-separated) that are CVE ids in Shadowserver's
/// lower-case spelling (`cve-2021-26855`), sorted, without repeats, joined with `,`.
fn extract_cve_from_tag(value: &str) -> Option<String> {
    let mut cves: Vec<&str> = value.split(';').filter(|tag| is_cve_tag(tag)).collect();
    if cves.is_empty() {
        return None;
    }
    cves.sort_unstable();
    cves.dedup();
    Some(cves.join(","))
}

fn is_cve_tag(tag: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    tag.strip_prefix("cve-").and_then(|rest| rest.split_once('-')).is_some_and(|(year, number)| digits(year) && digits(number))
}

/// `convert_http_host_and_url` (IntelMQ 3.3+): a URL from the host (`cc_dns`, `http_host`,
/// `hostname` or `ip`, the first one set) and the path (`url`, else `http_url`), dropping
/// what precedes the path and follows it (`GET /x HTTP/1.1` → `/x`). Without a host or a
/// path the value stays as it is.
fn http_host_and_url<'a>(value: &Cow<'a, str>, row: &[Cow<'a, str>], columns: &RowColumns) -> Converted<'a> {
    let get = |at: Option<usize>| at.and_then(|i| row.get(i)).map(|v| &**v);
    let host = [columns.cc_dns, columns.http_host, columns.hostname, columns.ip].into_iter().filter_map(get).find(|h| !h.is_empty());
    let path = match (columns.url, columns.http_url) {
        (Some(_), _) => get(columns.url).unwrap_or(""),
        (None, Some(_)) => get(columns.http_url).unwrap_or(""),
        (None, None) => "",
    };
    match host {
        Some(host) if !path.is_empty() => {
            let path = path.find('/').map_or("", |at| &path[at..]);
            let path = path.find(char::is_whitespace).map_or(path, |at| &path[..at]);
            let scheme = if get(columns.application) == Some("https") { "https" } else { "http" };
            Converted::Text(Cow::Owned(format!("{scheme}://{host}{path}")))
        }
        _ => Converted::Text(value.clone()),
    }
}

// ---------------------------------------------------------------------------------------
// Harmonisation: the types IntelMQ gives its fields, and how each sanitises a value.

/// The IntelMQ type of a harmonised field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    /// `String`: white space trimmed.
    Text,
    /// `LowercaseString`.
    Lower,
    /// `LowercaseString` limited to printable ASCII (`malware.name`, `protocol.application`).
    LowerPrintable,
    /// `UppercaseString` (registry, TLP, event hash).
    Upper,
    /// Two letters or digits, upper-cased (`*.geolocation.cc`).
    CountryCode,
    Fqdn,
    Ip,
    Network,
    Url,
    DateTime,
    Integer,
    /// An AS number, 1 to 2³²−1.
    Asn,
    /// A port, 0 to 65535.
    Port,
    Float,
    Boolean,
}

impl FieldType {
    /// Whether what [`harmonise`] makes for this type is valid JSON for its kind as it is:
    /// addresses, networks, time stamps and integers, read and written again by their type,
    /// hold nothing JSON escapes.
    pub(crate) fn writes_plain(self) -> bool {
        matches!(self, FieldType::Ip | FieldType::Network | FieldType::DateTime | FieldType::Integer | FieldType::Asn | FieldType::Port)
    }
}

/// The type of an IntelMQ 3.x event field; `None` for a name IntelMQ's harmonisation does not
/// know (IntelMQ then files the value under `extra.<name>`).
pub(crate) fn field_type(name: &str) -> Option<FieldType> {
    use FieldType::*;
    Some(match name {
        "classification.identifier" => Text,
        "classification.taxonomy" | "classification.type" => Lower,
        "comment" => Text,
        "destination.abuse_contact" | "source.abuse_contact" => Lower,
        "destination.account" | "source.account" => Text,
        "destination.allocated" | "source.allocated" => DateTime,
        "destination.as_name" | "source.as_name" => Text,
        "destination.asn" | "source.asn" => Asn,
        "destination.domain_suffix" | "source.domain_suffix" => Fqdn,
        "destination.fqdn" | "source.fqdn" => Fqdn,
        "destination.geolocation.cc" | "source.geolocation.cc" | "source.geolocation.cymru_cc" | "source.geolocation.geoip_cc" => {
            CountryCode
        }
        "destination.geolocation.city"
        | "destination.geolocation.country"
        | "destination.geolocation.region"
        | "destination.geolocation.state"
        | "source.geolocation.city"
        | "source.geolocation.country"
        | "source.geolocation.region"
        | "source.geolocation.state" => Text,
        "destination.geolocation.latitude"
        | "destination.geolocation.longitude"
        | "source.geolocation.latitude"
        | "source.geolocation.longitude" => Float,
        "destination.ip" | "destination.local_ip" | "source.ip" | "source.local_ip" => Ip,
        "destination.local_hostname" | "source.local_hostname" => Text,
        "destination.network" | "source.network" => Network,
        "destination.port" | "source.port" => Port,
        "destination.registry" | "source.registry" => Upper,
        "destination.reverse_dns" | "source.reverse_dns" => Fqdn,
        "destination.tor_node" | "source.tor_node" => Boolean,
        "destination.url" | "source.url" => Url,
        "destination.urlpath" | "source.urlpath" => Text,
        "event_description.target" | "event_description.text" => Text,
        "event_description.url" => Url,
        "event_hash" => Upper,
        "feed.accuracy" => Float,
        "feed.code" | "feed.documentation" | "feed.name" | "feed.provider" => Text,
        "feed.url" => Url,
        "malware.hash.md5" | "malware.hash.sha1" | "malware.hash.sha256" | "malware.version" => Text,
        "malware.name" => LowerPrintable,
        "misp.attribute_uuid" | "misp.event_uuid" => Lower,
        "product.name" | "product.vendor" | "product.version" | "product.vulnerabilities" => Text,
        "protocol.application" => LowerPrintable,
        "protocol.transport" => Lower,
        "rtir_id" => Integer,
        "screenshot_url" => Url,
        "status" => Text,
        "time.observation" | "time.source" => DateTime,
        "tlp" => Upper,
        _ => return None,
    })
}

/// Sanitises and checks a value for a field of type `ty`, as IntelMQ's `Message.add` does.
/// `None`: the value is not valid for the field.
pub(crate) fn harmonise(ty: FieldType, value: Converted<'_>) -> Option<(Kind, Cow<'_, str>)> {
    match value {
        Converted::Text(text) => harmonise_text(ty, text),
        Converted::Timestamp(text) => match ty {
            FieldType::DateTime => parse_datetime(&text).map(|t| (Kind::Text, Cow::Owned(t))),
            _ => harmonise_text(ty, Cow::Owned(format!("{text} UTC"))),
        },
        Converted::Integer(int) => match ty {
            FieldType::Float => Some((Kind::Float, Cow::Owned(format!("{int}.0")))),
            // Already canonical: only the ranges are left to check.
            FieldType::Integer => Some((Kind::Integer, int)),
            FieldType::Asn => int.parse::<u64>().is_ok_and(|asn| (1..=4_294_967_295).contains(&asn)).then_some((Kind::Integer, int)),
            FieldType::Port => int.parse::<u16>().is_ok().then_some((Kind::Integer, int)),
            _ => harmonise_text(ty, int),
        },
        Converted::Ipv4(text, _) => match ty {
            FieldType::Ip => Some((Kind::Text, trim(text))),
            _ => harmonise_text(ty, text),
        },
        Converted::Float(float) => match ty {
            FieldType::Float => Some((Kind::Float, float)),
            FieldType::Integer | FieldType::Asn | FieldType::Port => {
                let number: f64 = float.parse().ok()?;
                if number.fract() != 0.0 || number.abs() >= 9.0e15 {
                    return None;
                }
                harmonise_text(ty, Cow::Owned(format!("{}", number as i64)))
            }
            _ => harmonise_text(ty, float),
        },
        Converted::Boolean(b) => match ty {
            FieldType::Boolean => Some((Kind::Boolean, Cow::Borrowed(if b { "true" } else { "false" }))),
            _ => harmonise_text(ty, Cow::Borrowed(if b { "True" } else { "False" })),
        },
    }
}

fn harmonise_text(ty: FieldType, value: Cow<'_, str>) -> Option<(Kind, Cow<'_, str>)> {
    let value = trim(value);
    if value.is_empty() {
        return None;
    }
    Some(match ty {
        FieldType::Text => (Kind::Text, value),
        FieldType::Lower => (Kind::Text, lower(value)),
        FieldType::LowerPrintable => {
            if !value.bytes().all(|b| (b' '..=b'~').contains(&b)) {
                return None;
            }
            (Kind::Text, lower(value))
        }
        FieldType::Upper => (Kind::Text, upper(value)),
        FieldType::CountryCode => {
            if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return None;
            }
            (Kind::Text, upper(value))
        }
        FieldType::Fqdn => (Kind::Text, sanitize_fqdn(value)?),
        FieldType::Ip => (Kind::Text, sanitize_ip(value)?),
        FieldType::Network => {
            parse_network(&value)?;
            (Kind::Text, value)
        }
        FieldType::Url => (Kind::Text, sanitize_url(value)?),
        FieldType::DateTime => (Kind::Text, Cow::Owned(parse_datetime(&value)?)),
        FieldType::Integer => (Kind::Integer, canonical_int(&value)?),
        FieldType::Asn => {
            let int = canonical_int(&value)?;
            let asn: u64 = int.parse().ok()?;
            if !(1..=4_294_967_295).contains(&asn) {
                return None;
            }
            (Kind::Integer, int)
        }
        FieldType::Port => {
            let int = canonical_int(&value)?;
            int.parse::<u16>().ok()?;
            (Kind::Integer, int)
        }
        FieldType::Float => (Kind::Float, float_text(&value)?),
        FieldType::Boolean => {
            if value.eq_ignore_ascii_case("true") {
                (Kind::Boolean, Cow::Borrowed("true"))
            } else if value.eq_ignore_ascii_case("false") {
                (Kind::Boolean, Cow::Borrowed("false"))
            } else {
                return None;
            }
        }
    })
}

fn trim(value: Cow<'_, str>) -> Cow<'_, str> {
    match value {
        Cow::Borrowed(s) => Cow::Borrowed(trim_str(s)),
        Cow::Owned(s) if trim_str(&s).len() == s.len() => Cow::Owned(s),
        Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
    }
}

/// `str::trim`, without its Unicode scan for the usual value that starts and ends with a
/// visible ASCII character.
pub(crate) fn trim_str(s: &str) -> &str {
    let visible = |b: Option<&u8>| b.is_none_or(|&b| b > b' ' && b < 0x80);
    if visible(s.as_bytes().first()) && visible(s.as_bytes().last()) {
        s
    } else {
        s.trim()
    }
}

/// A byte search the compiler keeps inline: values here are a few bytes long, too short to
/// be worth a call to a general searcher.
fn has_slash(value: &str) -> bool {
    value.as_bytes().contains(&b'/')
}

fn lower(value: Cow<'_, str>) -> Cow<'_, str> {
    let needed = if value.is_ascii() { value.bytes().any(|b| b.is_ascii_uppercase()) } else { value.chars().any(char::is_uppercase) };
    if needed {
        Cow::Owned(value.to_lowercase())
    } else {
        value
    }
}

fn upper(value: Cow<'_, str>) -> Cow<'_, str> {
    if value.chars().any(char::is_lowercase) {
        Cow::Owned(value.to_uppercase())
    } else {
        value
    }
}

/// An IP address as IntelMQ's `IPAddress` type takes it: a single address, possibly written
/// as a /32 or /128 network; `0.0.0.0` is refused.
fn parse_ip(value: &str) -> Option<IpAddr> {
    let ip = if has_slash(value) {
        let (ip, prefix) = parse_network(value)?;
        let full = if ip.is_ipv4() { 32 } else { 128 };
        if prefix != full {
            return None;
        }
        ip
    } else {
        crate::ip::parse_ip(value)?
    };
    (ip != IpAddr::V4(Ipv4Addr::UNSPECIFIED)).then_some(ip)
}

/// The address in Python's spelling (IPv6 compressed, lower case). Every IPv4 address that
/// parses is already in that spelling (the parser refuses leading zeros), so it is borrowed.
fn sanitize_ip(value: Cow<'_, str>) -> Option<Cow<'_, str>> {
    let ip = parse_ip(&value)?;
    if ip.is_ipv4() && !has_slash(&value) {
        return Some(value);
    }
    let text = ip.to_string();
    Some(if text == value { value } else { Cow::Owned(text) })
}

/// A network as Python's `ipaddress.ip_network(value)` (strict) takes it: an address, a
/// prefix length in range, and no host bits set.
fn parse_network(value: &str) -> Option<(IpAddr, u8)> {
    let (ip, prefix) = value.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    let host_bits_clear = match ip {
        IpAddr::V4(v4) => {
            let host = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            prefix <= 32 && u32::from(v4) & host == 0
        }
        IpAddr::V6(v6) => {
            let host = u128::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            prefix <= 128 && u128::from(v6) & host == 0
        }
    };
    host_bits_clear.then_some((ip, prefix))
}

/// IntelMQ's `FQDN` type: trailing dots dropped, IDNA (punycode) for non-ASCII labels, lower
/// case; refused when empty, with an empty or over-long label, or when it is an IP address or
/// a URL.
pub(crate) fn sanitize_fqdn(value: Cow<'_, str>) -> Option<Cow<'_, str>> {
    let value = trim(value);
    let stripped_len = value.trim_end_matches('.').len();
    if stripped_len == 0 {
        return None;
    }
    let value = match value {
        Cow::Borrowed(s) => Cow::Borrowed(&s[..stripped_len]),
        Cow::Owned(mut s) => {
            s.truncate(stripped_len);
            Cow::Owned(s)
        }
    };
    match quick_fqdn(value.as_bytes()) {
        QuickFqdn::Refused => return None,
        QuickFqdn::Valid { upper, maybe_address } => {
            let value = if upper { Cow::Owned(value.to_ascii_lowercase()) } else { value };
            return if maybe_address { unless_address_or_url(value) } else { Some(value) };
        }
        QuickFqdn::Unknown => {}
    }
    sanitize_fqdn_general(value)
}

/// What one pass over a short ASCII name, eight bytes at a time, tells of it as an FQDN.
#[derive(Debug, PartialEq, Eq)]
enum QuickFqdn {
    Refused,
    /// Its labels are fine; `upper` when it needs lowering, `maybe_address` when it may be
    /// an address or a URL (a colon, a slash, or the length of a dotted quad).
    Valid {
        upper: bool,
        maybe_address: bool,
    },
    /// Longer than one label may be, or not ASCII: for the general path.
    Unknown,
}

/// Host names are read on most rows of many reports; a byte loop over them, then two more
/// searches for an address or a URL, cost more than the rest of their conversion. `bytes`
/// has no trailing dot. The name is read sixteen bytes at a time as bit masks, the last
/// sixteen overlapping the ones before (their bits dropped); a name shorter than sixteen is
/// copied into sixteen zeroed bytes, none of which is a byte looked for. Under callgrind,
/// `sanitize_fqdn` took 513 instructions a name for the benchmark's host names (about 33
/// bytes) with the word-at-a-time pass this replaced, and 235 with this one.
fn quick_fqdn(bytes: &[u8]) -> QuickFqdn {
    let len = bytes.len();
    // A name this short cannot have a label over 63 bytes.
    if len == 0 || len > 63 {
        return QuickFqdn::Unknown;
    }
    let mut masks = FqdnMasks::<u64>::default();
    let mut add = |block: FqdnMasks<u16>, at: usize, from: usize| {
        let keep = u64::MAX << from;
        masks.high |= (u64::from(block.high) << at) & keep;
        masks.dots |= (u64::from(block.dots) << at) & keep;
        masks.upper |= (u64::from(block.upper) << at) & keep;
        masks.special |= (u64::from(block.special) << at) & keep;
    };
    match bytes.first_chunk::<16>() {
        None => {
            let mut padded = [0u8; 16];
            padded[..len].copy_from_slice(bytes);
            add(fqdn_masks16(&padded), 0, 0);
        }
        Some(_) => {
            let mut at = 0;
            while let Some(chunk) = bytes.get(at..).and_then(<[u8]>::first_chunk::<16>) {
                add(fqdn_masks16(chunk), at, at);
                at += 16;
            }
            if at < len {
                let last = len - 16;
                add(fqdn_masks16(bytes[last..].try_into().expect("the last sixteen bytes")), last, at);
            }
        }
    }
    if masks.high != 0 {
        return QuickFqdn::Unknown;
    }
    // An empty label: a leading dot, or two dots in a row.
    if masks.dots & 1 != 0 || masks.dots & (masks.dots >> 1) != 0 {
        return QuickFqdn::Refused;
    }
    QuickFqdn::Valid { upper: masks.upper != 0, maybe_address: masks.special != 0 || (7..=15).contains(&len) }
}

/// One bit per byte: non-ASCII, `.`, `A`–`Z`, and `:` or `/`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct FqdnMasks<T> {
    high: T,
    dots: T,
    upper: T,
    special: T,
}

/// [`FqdnMasks`] of sixteen bytes: a few compares and a mask move each.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn fqdn_masks16(bytes: &[u8; 16]) -> FqdnMasks<u16> {
    use safe_arch::{
        bitand_m128i, bitor_m128i, cmp_eq_mask_i8_m128i, cmp_gt_mask_i8_m128i, load_unaligned_m128i, move_mask_i8_m128i, set_splat_i8_m128i,
    };
    let v = load_unaligned_m128i(bytes);
    let equal = |byte: u8| cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(byte as i8));
    // Signed compares: bytes from 0x80 up are below 'A' and so never counted as upper case.
    let upper = bitand_m128i(
        cmp_gt_mask_i8_m128i(v, set_splat_i8_m128i(b'A' as i8 - 1)),
        cmp_gt_mask_i8_m128i(set_splat_i8_m128i(b'Z' as i8 + 1), v),
    );
    let mask = |m| move_mask_i8_m128i(m) as u16;
    FqdnMasks { high: mask(v), dots: mask(equal(b'.')), upper: mask(upper), special: mask(bitor_m128i(equal(b':'), equal(b'/'))) }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn fqdn_masks16(bytes: &[u8; 16]) -> FqdnMasks<u16> {
    fqdn_masks16_bytewise(bytes)
}

/// [`fqdn_masks16`] a byte at a time: for other targets, and the reference the tests hold the
/// vector one to.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn fqdn_masks16_bytewise(bytes: &[u8; 16]) -> FqdnMasks<u16> {
    let mut masks = FqdnMasks::default();
    for (i, &b) in bytes.iter().enumerate() {
        let bit = 1u16 << i;
        masks.high |= if b >= 0x80 { bit } else { 0 };
        masks.dots |= if b == b'.' { bit } else { 0 };
        masks.upper |= if b.is_ascii_uppercase() { bit } else { 0 };
        masks.special |= if b == b':' || b == b'/' { bit } else { 0 };
    }
    masks
}

/// [`sanitize_fqdn`] for any name, after trimming.
fn sanitize_fqdn_general(value: Cow<'_, str>) -> Option<Cow<'_, str>> {
    let value = if value.is_ascii() {
        // One pass: label lengths and whether anything needs lowering.
        let (mut label, mut labels_ok, mut upper) = (0usize, true, false);
        for &b in value.as_bytes() {
            if b == b'.' {
                labels_ok &= (1..64).contains(&label);
                label = 0;
            } else {
                label += 1;
                upper |= b.is_ascii_uppercase();
            }
        }
        if !(labels_ok && (1..64).contains(&label)) {
            return None;
        }
        if upper {
            Cow::Owned(value.to_ascii_lowercase())
        } else {
            value
        }
    } else {
        let mut out = String::with_capacity(value.len() + 8);
        for (i, label) in value.split(['.', '\u{3002}', '\u{ff0e}', '\u{ff61}']).enumerate() {
            if i > 0 {
                out.push('.');
            }
            let label = label.to_lowercase();
            if label.is_ascii() {
                out.push_str(&label);
                if !(1..64).contains(&label.len()) {
                    return None;
                }
            } else {
                let encoded = punycode(&label)?;
                if encoded.len() + 4 >= 64 {
                    return None;
                }
                out.push_str("xn--");
                out.push_str(&encoded);
            }
        }
        Cow::Owned(out)
    };
    unless_address_or_url(value)
}

/// An FQDN is neither an IP address nor a URL.
fn unless_address_or_url(value: Cow<'_, str>) -> Option<Cow<'_, str>> {
    (parse_ip(&value).is_none() && url_netloc(&value).is_none()).then_some(value)
}

/// RFC 3492 punycode of one label.
fn punycode(label: &str) -> Option<String> {
    const BASE: u32 = 36;
    const T_MIN: u32 = 1;
    const T_MAX: u32 = 26;
    const SKEW: u32 = 38;
    const DAMP: u32 = 700;
    fn digit(d: u32) -> char {
        // d < 36
        char::from(if d < 26 { b'a' + d as u8 } else { b'0' + (d - 26) as u8 })
    }
    fn adapt(mut delta: u32, points: u32, first: bool) -> u32 {
        delta = if first { delta / DAMP } else { delta / 2 };
        delta += delta / points;
        let mut k = 0;
        while delta > ((BASE - T_MIN) * T_MAX) / 2 {
            delta /= BASE - T_MIN;
            k += BASE;
        }
        k + (BASE - T_MIN + 1) * delta / (delta + SKEW)
    }
    let input: Vec<u32> = label.chars().map(u32::from).collect();
    let mut output: String = label.chars().filter(char::is_ascii).collect();
    let basic = output.chars().count() as u32;
    let mut handled = basic;
    if basic > 0 {
        output.push('-');
    }
    let (mut n, mut delta, mut bias) = (128u32, 0u32, 72u32);
    let total = input.len() as u32;
    while handled < total {
        let m = input.iter().copied().filter(|&c| c >= n).min()?;
        delta = delta.checked_add((m - n).checked_mul(handled + 1)?)?;
        n = m;
        for &c in &input {
            if c < n {
                delta = delta.checked_add(1)?;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = if k <= bias {
                        T_MIN
                    } else if k >= bias + T_MAX {
                        T_MAX
                    } else {
                        k - bias
                    };
                    if q < t {
                        break;
                    }
                    output.push(digit(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                output.push(digit(q));
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta = delta.checked_add(1)?;
        n = n.checked_add(1)?;
    }
    Some(output)
}

/// The network location of a URL as Python's `urlsplit` finds it: after `scheme:` (if any),
/// a `//`, up to the next `/`, `?` or `#`. `None` when there is none.
fn url_netloc(value: &str) -> Option<&str> {
    // No `//` without a slash: most values (host names) end here.
    if !has_slash(value) {
        return None;
    }
    let rest = match value.split_once(':') {
        Some((scheme, rest)) if is_scheme(scheme) => rest,
        _ => value,
    };
    let after = rest.strip_prefix("//")?;
    let netloc = &after[..after.find(['/', '?', '#']).unwrap_or(after.len())];
    (!netloc.is_empty()).then_some(netloc)
}

fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic()) && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
}

/// IntelMQ's `URL` type: `hxxp://` and `hxxps://` read as `http://` and `https://`; the URL
/// must have a network location.
fn sanitize_url(value: Cow<'_, str>) -> Option<Cow<'_, str>> {
    let value =
        if value.contains("hxxp") { Cow::Owned(value.replace("hxxp://", "http://").replace("hxxps://", "https://")) } else { value };
    url_netloc(&value)?;
    Some(value)
}

// ---------------------------------------------------------------------------------------
// Time stamps.

/// Reads a time stamp the way IntelMQ's `DateTime` type reads Shadowserver's (ISO 8601 with a
/// space or `T`, optional fraction, optional offset or `Z`/`UTC`/`GMT`; RFC 2822 as in HTTP
/// `Date` headers; a bare date) and renders it as ISO 8601 in UTC:
/// `2018-04-14T00:14:34+00:00`, with `.ffffff` when there are microseconds. A stamp without
/// an offset is taken as UTC (IntelMQ would take the host's zone, which is UTC on its
/// servers). Digits past the microsecond are dropped, as `dateutil` does.
pub(crate) fn parse_datetime(value: &str) -> Option<String> {
    let value = trim_str(value);
    if value.is_empty() {
        return None;
    }
    plain_utc_stamp(value).or_else(|| parse_any_datetime(value))
}

/// [`parse_datetime`] for every form it reads, on a trimmed, non-empty value.
fn parse_any_datetime(value: &str) -> Option<String> {
    let (utc, micros) = match parse_iso(value) {
        Some(parsed) => parsed,
        None => {
            let parsed = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            (parsed.naive_utc(), parsed.timestamp_subsec_micros())
        }
    };
    if !(1..=9999).contains(&utc.year()) {
        return None;
    }
    // Written digit by digit: this runs for every row of most reports.
    let mut out = String::with_capacity(32);
    push_digits(&mut out, utc.year() as u32, 4);
    for (n, separator) in [(utc.month(), '-'), (utc.day(), '-'), (utc.hour(), 'T'), (utc.minute(), ':'), (utc.second(), ':')] {
        out.push(separator);
        push_digits(&mut out, n, 2);
    }
    if micros > 0 {
        out.push('.');
        push_digits(&mut out, micros, 6);
    }
    out.push_str("+00:00");
    Some(out)
}

/// A time stamp in IntelMQ's spelling, `2018-04-14T00:14:34+00:00`, kept in place rather
/// than on the heap: a row sets one, writes it and forgets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp([u8; 25]);

impl Stamp {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a stamp is ASCII")
    }

    /// The text's bytes: digits and `-:T+`, nothing JSON escapes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// What `harmonise` makes of `value` for a `DateTime` field when the value is a plain stamp
/// (see [`plain_stamp`]), without a heap string; `None` leaves the value to `harmonise`.
pub(crate) fn plain_date_time(value: &Converted<'_>) -> Option<Stamp> {
    match value {
        Converted::Timestamp(text) | Converted::Text(text) => plain_stamp(trim_str(text)),
        _ => None,
    }
}

/// Most reports stamp every row `YYYY-MM-DD HH:MM:SS` (or with a `T`): that form, valid,
/// is rewritten in place of being parsed. Anything else is `None`, for the full parser.
fn plain_utc_stamp(value: &str) -> Option<String> {
    plain_stamp(value).map(|stamp| stamp.as_str().to_string())
}

/// [`plain_utc_stamp`], written into a [`Stamp`].
fn plain_stamp(value: &str) -> Option<Stamp> {
    let b = value.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b' ' | b'T') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    // Every digit checked at once: a byte under '0' wraps round to a large value.
    let digit = |at: usize| u32::from(b[at].wrapping_sub(b'0'));
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18].map(digit);
    if digits.iter().any(|&d| d > 9) {
        return None;
    }
    let [y0, y1, y2, y3, mo0, mo1, d0, d1, h0, h1, mi0, mi1, s0, s1] = digits;
    let (year, month, day) = (((y0 * 10 + y1) * 10 + y2) * 10 + y3, mo0 * 10 + mo1, d0 * 10 + d1);
    let (hour, minute, second) = (h0 * 10 + h1, mi0 * 10 + mi1, s0 * 10 + s1);
    if year == 0 || hour > 23 || minute > 59 || second > 59 || !(1..=days_in_month(year, month)).contains(&day) {
        return None;
    }
    let mut out = [0u8; 25];
    out[..10].copy_from_slice(&b[..10]);
    out[10] = b'T';
    out[11..19].copy_from_slice(&b[11..19]);
    out[19..].copy_from_slice(b"+00:00");
    Some(Stamp(out))
}

/// The days of `month` (1–12) of `year` in the proleptic Gregorian calendar, as chrono
/// counts them; 0 for a month that is not one.
fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        _ => 0,
    }
}

/// `n` in exactly `width` decimal digits (leading zeros; higher digits dropped).
fn push_digits(out: &mut String, n: u32, width: u32) {
    for power in (0..width).rev() {
        out.push(char::from(b'0' + (n / 10u32.pow(power) % 10) as u8));
    }
}

/// `YYYY-MM-DD[( |T)HH:MM[:SS[.f]]][ ][offset|Z|UTC|GMT][ ][UTC|GMT|Z]` → the UTC time and its
/// microseconds.
fn parse_iso(value: &str) -> Option<(chrono::NaiveDateTime, u32)> {
    let mut s = Scanner { b: value.as_bytes(), i: 0 };
    let year = s.digits(4, 4)?;
    s.expect(b'-')?;
    let month = s.digits(1, 2)?;
    s.expect(b'-')?;
    let day = s.digits(1, 2)?;
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let (mut hour, mut minute, mut second, mut micros) = (0, 0, 0, 0);
    let mut offset_seconds: i64 = 0;
    if s.peek() == Some(b'T') || (s.peek() == Some(b' ') && s.peek_at(1).is_some_and(|b| b.is_ascii_digit())) {
        s.i += 1;
        s.skip_spaces();
        hour = s.digits(1, 2)?;
        s.expect(b':')?;
        minute = s.digits(2, 2)?;
        if s.peek() == Some(b':') {
            s.i += 1;
            second = s.digits(2, 2)?;
            if matches!(s.peek(), Some(b'.' | b',')) {
                s.i += 1;
                let start = s.i;
                while s.peek().is_some_and(|b| b.is_ascii_digit()) {
                    s.i += 1;
                }
                let fraction = &value[start..s.i];
                if fraction.is_empty() {
                    return None;
                }
                let six: String = fraction.chars().chain(std::iter::repeat('0')).take(6).collect();
                micros = six.parse().ok()?;
            }
        }
    }
    // Zone: an offset, or a name, possibly both (`+00 UTC`).
    s.skip_spaces();
    if let Some(sign @ (b'+' | b'-')) = s.peek() {
        s.i += 1;
        let hours = s.digits(2, 2)?;
        let mut minutes = 0;
        if s.peek() == Some(b':') {
            s.i += 1;
            minutes = s.digits(2, 2)?;
        } else if s.peek().is_some_and(|b| b.is_ascii_digit()) {
            minutes = s.digits(2, 2)?;
        }
        if hours > 23 || minutes > 59 {
            return None;
        }
        let magnitude = i64::from(hours * 3600 + minutes * 60);
        offset_seconds = if sign == b'-' { -magnitude } else { magnitude };
        s.skip_spaces();
    }
    let rest = &value[s.i..];
    let rest = rest.trim();
    let named_utc = ["UTC", "GMT", "Z"].iter().any(|name| rest.eq_ignore_ascii_case(name));
    if !(rest.is_empty() || named_utc) {
        return None;
    }
    let time = chrono::NaiveTime::from_hms_micro_opt(hour, minute, second, micros)?;
    let local = chrono::NaiveDateTime::new(date, time);
    let utc = local.checked_sub_signed(chrono::TimeDelta::try_seconds(offset_seconds)?)?;
    Some((utc, micros))
}

struct Scanner<'s> {
    b: &'s [u8],
    i: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.b.get(self.i + ahead).copied()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        if self.peek() != Some(byte) {
            return None;
        }
        self.i += 1;
        Some(())
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    /// `min..=max` decimal digits (what follows is for the caller to judge).
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.i;
        while self.i - start < max && self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        if self.i - start < min {
            return None;
        }
        std::str::from_utf8(&self.b[start..self.i]).ok()?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(converter: &str, value: &str) -> Result<Option<Converted<'static>>, ConvertError> {
        let converter = Converter::from_name(converter).expect("known converter");
        let value: Cow<'static, str> = Cow::Owned(value.to_string());
        convert(converter, &value, &[], &RowColumns::default())
    }

    fn text(s: &str) -> Option<Converted<'static>> {
        Some(Converted::Text(Cow::Owned(s.to_string())))
    }

    #[test]
    fn every_converter_has_its_schema_name() {
        for c in Converter::ALL {
            assert_eq!(Converter::from_name(c.name()), Some(c));
        }
        assert_eq!(Converter::from_name("no_such_converter"), None);
    }

    #[test]
    fn simple_converters_follow_intelmq() {
        assert_eq!(run("validate_to_none", ""), Ok(None));
        assert_eq!(run("validate_to_none", "0"), Ok(None));
        assert_eq!(run("validate_to_none", "unknown"), Ok(None));
        assert_eq!(run("validate_to_none", "00"), Ok(text("00")));
        assert_eq!(run("convert_bool", "Y"), Ok(Some(Converted::Boolean(true))));
        assert_eq!(run("convert_bool", "disabled"), Ok(Some(Converted::Boolean(false))));
        assert_eq!(run("convert_bool", "maybe"), Ok(None));
        assert_eq!(run("convert_int", ""), Ok(None));
        assert_eq!(run("convert_int", " 0053 "), Ok(Some(Converted::Integer(Cow::Borrowed("53")))));
        assert_eq!(run("convert_int", "-0"), Ok(Some(Converted::Integer(Cow::Borrowed("0")))));
        assert_eq!(run("convert_int", "1_000"), Ok(Some(Converted::Integer(Cow::Borrowed("1000")))));
        assert_eq!(run("convert_int", "4.5"), Err(ConvertError { expected: "an integer" }));
        assert_eq!(run("invalidate_zero", "0"), Ok(None));
        assert_eq!(run("invalidate_zero", "000"), Ok(None));
        assert_eq!(run("invalidate_zero", "64512"), Ok(Some(Converted::Integer(Cow::Borrowed("64512")))));
        assert!(run("invalidate_zero", "x").is_err());
        assert_eq!(run("convert_float", "4.6190"), Ok(Some(Converted::Float(Cow::Borrowed("4.6190")))));
        assert_eq!(run("convert_float", "2"), Ok(Some(Converted::Float(Cow::Borrowed("2.0")))));
        assert_eq!(run("convert_float", ".5"), Ok(Some(Converted::Float(Cow::Borrowed("0.5")))));
        assert!(run("convert_float", "nan").is_err());
        assert_eq!(run("validate_ip", "0.0.0.0"), Ok(None));
        assert_eq!(run("validate_ip", "198.51.100.0/24"), Ok(None));
        assert_eq!(
            run("validate_ip", "213.178.0.0"),
            Ok(Some(Converted::Ipv4(Cow::Borrowed("213.178.0.0"), Ipv4Addr::new(213, 178, 0, 0))))
        );
        assert_eq!(run("validate_ip", "2001:DB8::1"), Ok(text("2001:DB8::1")));
        assert_eq!(run("validate_ip", "300.1.1.1"), Ok(None));
        assert_eq!(run("validate_network", "198.51.100.0/24"), Ok(text("198.51.100.0/24")));
        assert_eq!(run("validate_network", "198.51.100.7/24"), Ok(None));
        assert_eq!(run("validate_network", "198.51.100.7"), Ok(None));
        assert_eq!(run("validate_fqdn", "Example.COM."), Ok(text("Example.COM.")));
        assert_eq!(run("validate_fqdn", "198.51.100.7"), Ok(None));
        assert_eq!(run("validate_fqdn", "a..b"), Ok(None));
        assert_eq!(run("validate_fqdn", "http://example.com"), Ok(None));
        assert_eq!(
            run("add_UTC_to_timestamp", "2018-04-14 00:14:34"),
            Ok(Some(Converted::Timestamp(Cow::Borrowed("2018-04-14 00:14:34"))))
        );
        assert_eq!(run("convert_date", "Wed, 10 Feb 2010 00:00:01 GMT"), Ok(text("2010-02-10T00:00:01+00:00")));
        assert_eq!(run("convert_date", ""), Ok(None));
        assert_eq!(run("convert_date_utc", "2021-03-27T00:00:00.044871Z"), Ok(text("2021-03-27T00:00:00.044871+00:00")));
        assert_eq!(run("force_base64", ""), Ok(None));
        assert_eq!(run("force_base64", "aGVsbG8="), Ok(text("aGVsbG8=")));
        assert_eq!(run("force_base64", "hello world"), Ok(text("aGVsbG8gd29ybGQ=")));
        assert_eq!(run("scan_exchange_taxonomy", "exchange;webshell"), Ok(text("intrusions")));
        assert_eq!(run("scan_exchange_type", "cve-2021-26855"), Ok(text("infected-system")));
        assert_eq!(run("scan_exchange_identifier", "exchange;webshell"), Ok(text("exchange-server-webshell")));
        assert_eq!(
            run("extract_cve_from_tag", "vpn;cve-2024-56789;ssl;cve-2023-12345;cve-2024-56789"),
            Ok(text("cve-2023-12345,cve-2024-56789"))
        );
        assert_eq!(run("extract_cve_from_tag", "CVE-2023-1;cve-x-1;cve-2023-"), Ok(None));
    }

    #[test]
    fn whole_row_converters() {
        let header = ["ip", "http_host", "url", "application", "category", "detail"];
        let index: HashMap<&str, usize> = header.iter().enumerate().map(|(i, h)| (*h, i)).collect();
        let columns = RowColumns::new(&index);
        let row: Vec<Cow<'static, str>> =
            ["198.51.100.7", "", "GET /a/b.php?x=1 HTTP/1.1", "https", "", "detail text"].into_iter().map(Cow::Borrowed).collect();
        let url = Converter::from_name("convert_http_host_and_url").unwrap();
        assert_eq!(convert(url, &row[2], &row, &columns), Ok(text("https://198.51.100.7/a/b.php?x=1")));
        let category = Converter::from_name("category_or_detail").unwrap();
        assert_eq!(convert(category, &row[4], &row, &columns), Ok(text("detail text")));
        let no_path: Vec<Cow<'static, str>> = ["198.51.100.7", "", "", "http", "cat", ""].into_iter().map(Cow::Borrowed).collect();
        assert_eq!(convert(url, &no_path[2], &no_path, &columns), Ok(text("")));
        assert_eq!(convert(category, &no_path[4], &no_path, &columns), Ok(text("cat")));
    }

    #[test]
    fn time_stamps() {
        let cases = [
            ("2018-04-14 00:14:34 UTC", Some("2018-04-14T00:14:34+00:00")),
            ("2018-08-01T00:00:00+00 UTC", Some("2018-08-01T00:00:00+00:00")),
            ("2018-08-01T02:30:00+02:30", Some("2018-08-01T00:00:00+00:00")),
            ("2018-08-01 00:00:00-0100", Some("2018-08-01T01:00:00+00:00")),
            ("2022-03-02T15:25:43.414574467Z", Some("2022-03-02T15:25:43.414574+00:00")),
            ("2021-03-27T00:00:00.5", Some("2021-03-27T00:00:00.500000+00:00")),
            ("2021-03-27", Some("2021-03-27T00:00:00+00:00")),
            ("Mon, 23 Apr 2018 13:25:26 GMT", Some("2018-04-23T13:25:26+00:00")),
            ("2018-02-30 00:00:00", None),
            ("2018-04-14 25:00:00", None),
            ("yesterday", None),
            ("2018-04-14 00:14:34 CEST", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_datetime(input).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn plain_stamps_know_the_calendar() {
        for (value, valid) in [
            ("2000-02-29 12:00:00", true),
            ("1900-02-29 12:00:00", false),
            ("2024-02-29 00:00:00", true),
            ("2023-02-29 00:00:00", false),
            ("2026-04-31 00:00:00", false),
            ("2026-12-31 23:59:59", true),
            ("2026-13-01 00:00:00", false),
            ("2026-00-10 00:00:00", false),
            ("2026-01-00 00:00:00", false),
            ("0001-01-01 00:00:00", true),
            ("9999-12-31 23:59:59", true),
        ] {
            assert_eq!(plain_utc_stamp(value).is_some(), valid, "{value}");
            // The full parser, which asks chrono, agrees.
            assert_eq!(plain_utc_stamp(value), parse_any_datetime(value), "{value}");
        }
    }

    proptest::proptest! {
        #[test]
        fn plain_stamps_read_as_the_full_parser_reads_them(
            y in 0u32..10000, mo in 0u32..14, d in 0u32..33, h in 0u32..26, mi in 0u32..62, se in 0u32..62, t in proptest::bool::ANY
        ) {
            let value = format!("{y:04}-{mo:02}-{d:02}{}{h:02}:{mi:02}:{se:02}", if t { 'T' } else { ' ' });
            if let Some(fast) = plain_utc_stamp(&value) {
                proptest::prop_assert_eq!(Some(fast), parse_any_datetime(&value));
            } else {
                proptest::prop_assert_eq!(parse_datetime(&value), parse_any_datetime(&value));
            }
        }

        /// A `DateTime` field set from a plain stamp without a heap string gets what
        /// `harmonise` gives it, for a converted text and a stamp read as UTC, spaces around.
        #[test]
        fn plain_date_times_harmonise_alike(
            stamp in "[0-9]{4}-[01][0-9]-[0-3][0-9][ T][0-2][0-9]:[0-6][0-9]:[0-6][0-9]|[0-9: T-]{17,21}",
            pad in proptest::sample::select(vec!["", " ", "\t"]),
            as_timestamp in proptest::bool::ANY,
        ) {
            let value = format!("{pad}{stamp}{pad}");
            let converted = |v: &str| if as_timestamp { Converted::Timestamp(Cow::Owned(v.to_string())) } else { Converted::Text(Cow::Owned(v.to_string())) };
            if let Some(fast) = plain_date_time(&converted(&value)) {
                let full = harmonise(FieldType::DateTime, converted(&value));
                proptest::prop_assert_eq!(Some((Kind::Text, fast.as_str())), full.as_ref().map(|(k, t)| (*k, t.as_ref())));
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(4096))]

        /// The word-at-a-time pass over short ASCII names decides as the general path does.
        #[test]
        fn host_names_sanitize_as_the_general_path_does(value in "[aZz09.:/\\-é]{0,70}|[a-z0-9.]{1,20}|[0-9.]{7,15}|[A-Za-z.]{60,66}") {
            let trimmed = value.trim_end_matches('.');
            proptest::prop_assert_eq!(sanitize_fqdn(Cow::Borrowed(&value)), sanitize_fqdn_general(Cow::Borrowed(trimmed)));
        }
    }

    proptest::proptest! {
        #[test]
        fn host_name_masks_match_the_byte_loop(bytes in proptest::array::uniform16(proptest::num::u8::ANY)) {
            proptest::prop_assert_eq!(fqdn_masks16(&bytes), fqdn_masks16_bytewise(&bytes));
        }
    }

    #[test]
    fn the_quick_pass_reads_labels_case_and_addresses() {
        for (name, want) in [
            ("a.b", QuickFqdn::Valid { upper: false, maybe_address: false }),
            ("abcdefgh.ijklmnop.example", QuickFqdn::Valid { upper: false, maybe_address: false }),
            ("Host-1.Example.NET", QuickFqdn::Valid { upper: true, maybe_address: false }),
            ("192.0.2.1", QuickFqdn::Valid { upper: false, maybe_address: true }),
            ("http://x.example", QuickFqdn::Valid { upper: false, maybe_address: true }),
            (".a.b", QuickFqdn::Refused),
            ("a..b", QuickFqdn::Refused),
            // Two dots across the boundary of the first eight bytes, and of the first sixteen.
            ("abcdefg..example", QuickFqdn::Refused),
            ("abcdefghijklmno..example", QuickFqdn::Refused),
            ("abcdefghijklmno.p.example", QuickFqdn::Valid { upper: false, maybe_address: false }),
            (&format!("{}.Z", "a".repeat(61)), QuickFqdn::Valid { upper: true, maybe_address: false }),
            (&format!("{}:", "a".repeat(62)), QuickFqdn::Valid { upper: false, maybe_address: true }),
            ("abcdefgh.ijklmnop", QuickFqdn::Valid { upper: false, maybe_address: false }),
            ("abcdefg.hijklmnop", QuickFqdn::Valid { upper: false, maybe_address: false }),
            ("ab\u{e9}.example", QuickFqdn::Unknown),
            (&"a".repeat(64), QuickFqdn::Unknown),
        ] {
            assert_eq!(quick_fqdn(name.as_bytes()), want, "{name}");
        }
        assert_eq!(sanitize_fqdn(Cow::Borrowed("Host-1.Example.NET.")).as_deref(), Some("host-1.example.net"));
        assert_eq!(sanitize_fqdn(Cow::Borrowed("192.0.2.1")), None);
        assert_eq!(sanitize_fqdn(Cow::Borrowed("abcdefg..example")), None);
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(1024))]

        /// Integers and addresses that a converter has read go into a field as the plain text
        /// would: the shortcuts that skip reading them again change no value.
        #[test]
        fn read_values_harmonise_as_their_text_does(
            value in proptest::prop_oneof![
                "[ ]?-?[0-9]{1,7}[ ]?".prop_map(String::from),
                "-?[0-9_]{1,8}".prop_map(String::from),
                proptest::strategy::Strategy::prop_map((proptest::array::uniform4(0u8..=255), "[ ]?", "[ ]?"), |(o, before, after)| {
                    format!("{before}{}.{}.{}.{}{after}", o[0], o[1], o[2], o[3])
                }),
                "[0-9a-fA-F:]{2,12}".prop_map(String::from),
                proptest::strategy::Just("0.0.0.0".to_string()),
            ],
            converter in proptest::sample::select(vec!["convert_int", "invalidate_zero", "validate_ip"]),
            ty in proptest::sample::select(vec![
                FieldType::Integer, FieldType::Asn, FieldType::Port, FieldType::Ip, FieldType::Text, FieldType::Fqdn, FieldType::Lower,
            ]),
        ) {
            let Ok(Some(converted)) = run(converter, &value) else { return Ok(()) };
            // Before the shortcuts, both went the plain text's way into every type but `Float`.
            let long_way = match &converted {
                Converted::Integer(text) | Converted::Ipv4(text, _) if ty != FieldType::Float => harmonise_text(ty, text.clone()),
                _ => return Ok(()),
            };
            proptest::prop_assert_eq!(harmonise(ty, converted), long_way, "{:?} {:?}", value, ty);
        }
    }

    #[test]
    fn harmonisation() {
        let h = |ty, v: &str| harmonise(ty, Converted::Text(Cow::Owned(v.to_string()))).map(|(k, t)| (k, t.into_owned()));
        assert_eq!(h(FieldType::Lower, " UDP "), Some((Kind::Text, "udp".into())));
        assert_eq!(h(FieldType::CountryCode, "at"), Some((Kind::Text, "AT".into())));
        assert_eq!(h(FieldType::CountryCode, "AUT"), None);
        assert_eq!(h(FieldType::Fqdn, "Node01.Example.COM."), Some((Kind::Text, "node01.example.com".into())));
        assert_eq!(h(FieldType::Fqdn, "bücher.de"), Some((Kind::Text, "xn--bcher-kva.de".into())));
        assert_eq!(h(FieldType::Fqdn, "MÜNCHEN.de"), Some((Kind::Text, "xn--mnchen-3ya.de".into())));
        assert_eq!(h(FieldType::Fqdn, "198.51.100.7"), None);
        assert_eq!(h(FieldType::Fqdn, "http://example.com/x"), None, "a URL is not a host name");
        assert_eq!(h(FieldType::Fqdn, "//example.com"), None);
        assert_eq!(h(FieldType::Ip, "2001:DB8:0:0::1"), Some((Kind::Text, "2001:db8::1".into())));
        assert_eq!(h(FieldType::Ip, "198.51.100.7/32"), Some((Kind::Text, "198.51.100.7".into())));
        assert_eq!(h(FieldType::Ip, "0.0.0.0"), None);
        assert_eq!(h(FieldType::Network, "2001:db8::/32"), Some((Kind::Text, "2001:db8::/32".into())));
        assert_eq!(h(FieldType::Url, "hxxp://example.com/x"), Some((Kind::Text, "http://example.com/x".into())));
        assert_eq!(h(FieldType::Url, "/just/a/path"), None);
        assert_eq!(h(FieldType::Asn, "0"), None);
        assert_eq!(h(FieldType::Asn, "4294967295"), Some((Kind::Integer, "4294967295".into())));
        assert_eq!(h(FieldType::Port, "65536"), None);
        assert_eq!(h(FieldType::Port, "053"), Some((Kind::Integer, "53".into())));
        assert_eq!(h(FieldType::LowerPrintable, "Zeroaccess"), Some((Kind::Text, "zeroaccess".into())));
        assert_eq!(h(FieldType::LowerPrintable, "zéro"), None);
        assert_eq!(h(FieldType::Text, "   "), None);
        assert_eq!(
            harmonise(FieldType::DateTime, Converted::Timestamp(Cow::Borrowed("2018-04-14 00:14:34"))),
            Some((Kind::Text, Cow::Owned("2018-04-14T00:14:34+00:00".to_string())))
        );
        assert_eq!(field_type("severity"), None);
        assert_eq!(field_type("product.vulnerabilities"), Some(FieldType::Text));
    }

    #[test]
    fn canonical_ints_borrow_when_they_can() {
        let borrowed = |s: &'static str| matches!(canonical_int(&Cow::Borrowed(s)), Some(Cow::Borrowed(t)) if t == s);
        assert!(borrowed("0"));
        assert!(borrowed("-12"));
        assert!(borrowed("64512"));
        assert_eq!(canonical_int(&Cow::Borrowed("+7")).as_deref(), Some("7"));
        assert_eq!(canonical_int(&Cow::Borrowed("-007")).as_deref(), Some("-7"));
        assert_eq!(canonical_int(&Cow::Borrowed("1_000")).as_deref(), Some("1000"));
        assert_eq!(canonical_int(&Cow::Borrowed(" 12 ")).as_deref(), Some("12"));
        assert_eq!(canonical_int(&Cow::Borrowed("99999999999999999999999")).as_deref(), Some("99999999999999999999999"));
        for bad in ["", "-", "1__0", "_1", "1_", "0x10", "1e3", "١"] {
            assert_eq!(canonical_int(&Cow::Borrowed(bad)), None, "{bad}");
        }
    }
}
