//! The constituency registry: who to contact at an organisation, which networks,
//! AS numbers and domains it answers for, and the peer CSIRTs abroad.

use crate::constituency::prefix::{normalise_domain, parse_asn, reserved_range, IpPrefix, PrefixError};
use crate::constituency::resolve::{AssetKind, AssetSource};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

crate::wire_enum! {
    /// What a contact is for; notifications go to `abuse` first, then `security`.
    ContactRole, "contact role" {
        Abuse => "abuse",
        Security => "security",
        Ciso => "ciso",
        DutyPhone => "duty_phone",
        Other => "other",
    }
}

crate::wire_enum! {
    /// Claims made by an organisation's own administrators wait for the CERT.
    AssetStatus, "asset status" {
        Active => "active",
        Pending => "pending",
        Rejected => "rejected",
    }
}

/// Languages notifications can be written in.
pub const LANGUAGES: &[&str] = &["en", "zh-TW"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Contact {
    pub id: Uuid,
    pub org_id: Uuid,
    pub role: ContactRole,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// `en` or `zh-TW`.
    pub language: String,
    /// Armored OpenPGP public key; mail to this contact is encrypted to it.
    pub pgp_key: Option<String>,
    pub pgp_fingerprint: Option<String>,
    pub pgp_expires_at: Option<DateTime<Utc>>,
    /// `manual` or `imported:<name>`.
    pub source: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A contact to add or replace. The key is checked by the caller (it needs OpenPGP),
/// which fills in fingerprint and expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    pub role: ContactRole,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default = "default_language")]
    pub language: String,
    #[serde(default)]
    pub pgp_key: Option<String>,
}

fn default_language() -> String {
    "en".to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("a contact needs an e-mail address or a phone number")]
    NoChannel,
    #[error("{0:?} is not a valid e-mail address")]
    BadEmail(String),
    #[error("{0:?} is not a valid phone number (digits, spaces, + - ( ) only)")]
    BadPhone(String),
    #[error("language must be one of: en, zh-TW (got {0:?})")]
    BadLanguage(String),
    #[error("names are at most 200 characters without control characters")]
    BadName,
    #[error("{0}")]
    Asset(#[from] PrefixError),
    #[error("{prefix} is {range}; an organisation cannot claim it")]
    Reserved { prefix: String, range: &'static str },
    #[error("the asset kind is {kind} but {value:?} is not one")]
    KindMismatch { kind: AssetKind, value: String },
    #[error("valid_until must be after valid_from")]
    BadWindow,
    #[error("comments are at most 1000 characters")]
    LongComment,
}

impl NewContact {
    pub fn validate(mut self) -> Result<Self, RegistryError> {
        self.name = clean_opt(self.name, 200)?;
        self.email = match clean_opt(self.email, 254)? {
            Some(e) => Some(crate::account::normalise_email(&e).map_err(|_| RegistryError::BadEmail(e.chars().take(64).collect()))?),
            None => None,
        };
        self.phone = clean_opt(self.phone, 40)?;
        if let Some(p) = &self.phone {
            let ok = p.chars().any(|c| c.is_ascii_digit()) && p.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
            if !ok {
                return Err(RegistryError::BadPhone(p.clone()));
            }
        }
        if self.email.is_none() && self.phone.is_none() {
            return Err(RegistryError::NoChannel);
        }
        self.language = normalise_language(&self.language)?;
        self.pgp_key = self.pgp_key.map(|k| k.trim().to_string()).filter(|k| !k.is_empty());
        Ok(self)
    }
}

/// `zh-tw`, `zh_TW` and `zh-Hant` all mean Traditional Chinese.
pub fn normalise_language(lang: &str) -> Result<String, RegistryError> {
    match lang.trim().replace('_', "-").to_ascii_lowercase().as_str() {
        "" | "en" | "en-us" | "en-gb" => Ok("en".into()),
        "zh-tw" | "zh-hant" | "zh-hant-tw" | "zh" => Ok("zh-TW".into()),
        other => Err(RegistryError::BadLanguage(other.chars().take(16).collect())),
    }
}

fn clean_opt(value: Option<String>, max: usize) -> Result<Option<String>, RegistryError> {
    match value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > max || v.chars().any(char::is_control) => Err(RegistryError::BadName),
        other => Ok(other),
    }
}

/// A network, AS number or domain an organisation answers for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Asset {
    pub id: Uuid,
    pub org_id: Uuid,
    pub kind: AssetKind,
    /// Normalised: `192.0.2.0/24`, `3462`, `example.tw`.
    pub value: String,
    pub include_subdomains: bool,
    #[schema(value_type = String)]
    pub source: AssetSource,
    pub status: AssetStatus,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub comment: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Asset> for crate::constituency::resolve::AssetRecord {
    /// What the lookup index needs of an asset.
    fn from(a: Asset) -> Self {
        Self {
            id: a.id,
            org_id: a.org_id,
            kind: a.kind,
            value: a.value,
            include_subdomains: a.include_subdomains,
            source: a.source,
            valid_from: a.valid_from,
            valid_until: a.valid_until,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAsset {
    /// A prefix (`192.0.2.0/24`, `2001:db8::/32`), an address, `AS123` or a domain.
    pub value: String,
    /// Detected from the value when omitted.
    #[serde(default)]
    pub kind: Option<AssetKind>,
    /// Domains only; default true.
    #[serde(default)]
    pub include_subdomains: Option<bool>,
    #[serde(default)]
    pub valid_from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub valid_until: Option<DateTime<Utc>>,
    #[serde(default)]
    pub comment: String,
}

/// A checked asset claim: kind detected, value normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedAsset {
    pub kind: AssetKind,
    pub value: String,
    pub include_subdomains: bool,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub comment: String,
}

impl NewAsset {
    pub fn validate(self) -> Result<CheckedAsset, RegistryError> {
        let (kind, value) = classify_asset(&self.value)?;
        if let Some(wanted) = self.kind {
            if wanted != kind {
                return Err(RegistryError::KindMismatch { kind: wanted, value: self.value.chars().take(64).collect() });
            }
        }
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until) {
            if until <= from {
                return Err(RegistryError::BadWindow);
            }
        }
        let comment = self.comment.trim().to_string();
        if comment.chars().count() > 1000 {
            return Err(RegistryError::LongComment);
        }
        Ok(CheckedAsset {
            kind,
            value,
            include_subdomains: kind == AssetKind::Domain && self.include_subdomains.unwrap_or(true),
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            comment,
        })
    }
}

/// Detects what a claimed value is and normalises it; reserved ranges are refused.
pub fn classify_asset(raw: &str) -> Result<(AssetKind, String), RegistryError> {
    let v = raw.trim();
    if v.contains(':') || v.contains('/') || v.parse::<std::net::IpAddr>().is_ok() {
        let prefix = IpPrefix::parse(v)?;
        if let Some(range) = reserved_range(&prefix) {
            return Err(RegistryError::Reserved { prefix: prefix.to_string(), range });
        }
        let kind = if prefix.is_ipv4() { AssetKind::Ipv4Prefix } else { AssetKind::Ipv6Prefix };
        return Ok((kind, prefix.to_string()));
    }
    let looks_like_asn = v.len() > 2 && v[..2].eq_ignore_ascii_case("as") && v[2..].bytes().all(|b| b.is_ascii_digit())
        || !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    if looks_like_asn {
        return Ok((AssetKind::Asn, parse_asn(v)?.to_string()));
    }
    Ok((AssetKind::Domain, normalise_domain(v)?))
}

/// A peer team abroad: notifications about addresses in its country go to it, and
/// later its sharing endpoints are pulled and pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PeerCsirt {
    pub org_id: Uuid,
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// The national CERT of its country: addresses of that country route to it.
    pub national: bool,
    pub taxii_url: Option<String>,
    pub misp_url: Option<String>,
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPeer {
    pub name: String,
    pub country: String,
    #[serde(default)]
    pub national: bool,
    #[serde(default)]
    pub taxii_url: Option<String>,
    #[serde(default)]
    pub misp_url: Option<String>,
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    #[error("{0:?} is not an http(s) URL")]
    BadUrl(String),
}

impl NewPeer {
    pub fn validate(mut self) -> Result<Self, PeerError> {
        for url in [&mut self.taxii_url, &mut self.misp_url] {
            *url = url.take().map(|u| u.trim().to_string()).filter(|u| !u.is_empty());
            if let Some(u) = url {
                let ok = (u.starts_with("https://") || u.starts_with("http://")) && !u.chars().any(|c| c.is_whitespace() || c.is_control());
                if !ok {
                    return Err(PeerError::BadUrl(u.chars().take(80).collect()));
                }
            }
        }
        self.comment = self.comment.trim().to_string();
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_classified_and_normalised() {
        assert_eq!(classify_asset(" 1.34.0.0/16 ").unwrap(), (AssetKind::Ipv4Prefix, "1.34.0.0/16".into()));
        assert_eq!(classify_asset("2001:b000::/20").unwrap().0, AssetKind::Ipv6Prefix);
        assert_eq!(classify_asset("AS3462").unwrap(), (AssetKind::Asn, "3462".into()));
        assert_eq!(classify_asset("3462").unwrap(), (AssetKind::Asn, "3462".into()));
        assert_eq!(classify_asset("Gov.TW.").unwrap(), (AssetKind::Domain, "gov.tw".into()));
        assert!(matches!(classify_asset("10.1.0.0/16"), Err(RegistryError::Reserved { .. })));
        assert!(classify_asset("1.2.3.4/24").is_err(), "host bits set");
        assert!(classify_asset("1.2.3.0/33").is_err());
    }

    #[test]
    fn contacts_need_a_channel_and_a_known_language() {
        let c = NewContact { role: ContactRole::Abuse, name: None, email: None, phone: None, language: "en".into(), pgp_key: None };
        assert_eq!(c.clone().validate(), Err(RegistryError::NoChannel));
        let ok = NewContact { email: Some(" Abuse@Example.TW ".into()), language: "zh_tw".into(), ..c.clone() }.validate().unwrap();
        assert_eq!(ok.email.as_deref(), Some("abuse@example.tw"));
        assert_eq!(ok.language, "zh-TW");
        assert!(NewContact { phone: Some("call me".into()), ..c.clone() }.validate().is_err());
        assert!(NewContact { email: Some("x@y.tw".into()), language: "fr".into(), ..c }.validate().is_err());
    }

    #[test]
    fn a_window_must_be_forward() {
        let now = Utc::now();
        let a = NewAsset {
            value: "example.tw".into(),
            kind: None,
            include_subdomains: None,
            valid_from: Some(now),
            valid_until: Some(now),
            comment: String::new(),
        };
        assert_eq!(a.validate(), Err(RegistryError::BadWindow));
    }
}
