//! Organisations: the operator itself, its constituents, members, peers and vendors.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

crate::wire_enum! {
    /// What kind of organisation this is; it bounds which roles its users may hold.
    OrgType, "organisation type" {
        Cert => "cert",
        GovernmentAgency => "government_agency",
        CriticalInfrastructure => "critical_infrastructure",
        Enterprise => "enterprise",
        IsacMember => "isac_member",
        PeerCsirt => "peer_csirt",
        Vendor => "vendor",
    }
}

impl OrgType {
    /// Whether the CERT serves it: its constituency (peers abroad and vendors are not).
    pub fn is_constituent(self) -> bool {
        matches!(self, OrgType::GovernmentAgency | OrgType::CriticalInfrastructure | OrgType::Enterprise | OrgType::IsacMember)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Organisation {
    pub id: Uuid,
    pub name: String,
    pub org_type: OrgType,
    /// Code from the shipped sector list (`sectors::all()`), if any.
    pub sector: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    pub parent_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// What is needed to create an organisation; `validate` normalises and checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    pub name: String,
    pub org_type: OrgType,
    #[serde(default)]
    pub sector: Option<String>,
    #[serde(default = "default_country")]
    pub country: String,
    #[serde(default)]
    pub parent_id: Option<Uuid>,
}

fn default_country() -> String {
    "TW".to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    #[error("organisation name must be 1 to 200 characters without control characters")]
    BadName,
    #[error("country must be a two-letter ISO 3166-1 code")]
    BadCountry,
    #[error("unknown sector {0:?}")]
    UnknownSector(String),
}

impl NewOrganisation {
    pub fn validate(mut self) -> Result<Self, OrgError> {
        self.name = self.name.trim().to_string();
        let len = self.name.chars().count();
        if len == 0 || len > 200 || self.name.chars().any(char::is_control) {
            return Err(OrgError::BadName);
        }
        self.country = self.country.trim().to_ascii_uppercase();
        if self.country.len() != 2 || !self.country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(OrgError::BadCountry);
        }
        self.sector = self.sector.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        if let Some(code) = &self.sector {
            if crate::sectors::find(code).is_none() {
                return Err(OrgError::UnknownSector(code.chars().take(64).collect()));
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str, country: &str, sector: Option<&str>) -> NewOrganisation {
        NewOrganisation {
            name: name.into(),
            org_type: OrgType::Enterprise,
            sector: sector.map(Into::into),
            country: country.into(),
            parent_id: None,
        }
    }

    #[test]
    fn validation_normalises_and_rejects() {
        let ok = new("  Taipower ", "tw", Some("tw-ci.energy")).validate().unwrap();
        assert_eq!((ok.name.as_str(), ok.country.as_str()), ("Taipower", "TW"));
        assert_eq!(new("", "TW", None).validate(), Err(OrgError::BadName));
        assert_eq!(new("a\u{7}b", "TW", None).validate(), Err(OrgError::BadName));
        assert_eq!(new("x", "TWN", None).validate(), Err(OrgError::BadCountry));
        assert!(matches!(new("x", "TW", Some("nope")).validate(), Err(OrgError::UnknownSector(_))));
        assert_eq!(new("x", "TW", Some(" ")).validate().unwrap().sector, None);
    }
}
