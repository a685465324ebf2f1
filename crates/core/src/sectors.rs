//! The sector list organisations are classified by: Taiwan's critical-infrastructure
//! sectors and the NIS2 Annex I/II sectors. Shipped as data (`data/sectors.toml`).

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Sector {
    pub code: String,
    /// `tw_ci`, `nis2_annex1`, `nis2_annex2` or `other`.
    pub scheme: String,
    pub en: String,
    pub zh_tw: String,
}

impl Sector {
    pub fn label(&self, lang: &str) -> &str {
        if lang == "zh-TW" {
            &self.zh_tw
        } else {
            &self.en
        }
    }
}

#[derive(Deserialize)]
struct SectorFile {
    sector: Vec<Sector>,
}

const SECTORS_TOML: &str = include_str!("../data/sectors.toml");

/// Every shipped sector, in file order.
pub fn all() -> &'static [Sector] {
    static SECTORS: OnceLock<Vec<Sector>> = OnceLock::new();
    SECTORS.get_or_init(|| toml::from_str::<SectorFile>(SECTORS_TOML).expect("data/sectors.toml is checked by the unit tests").sector)
}

pub fn find(code: &str) -> Option<&'static Sector> {
    all().iter().find(|s| s.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn shipped_list_is_complete_and_unique() {
        let sectors = all();
        let codes: HashSet<_> = sectors.iter().map(|s| s.code.as_str()).collect();
        assert_eq!(codes.len(), sectors.len(), "duplicate sector code");
        for scheme in ["tw_ci", "nis2_annex1", "nis2_annex2", "other"] {
            assert!(sectors.iter().any(|s| s.scheme == scheme), "no sector in scheme {scheme}");
        }
        for s in sectors {
            assert!(!s.en.is_empty() && !s.zh_tw.is_empty(), "{} lacks a label", s.code);
            assert!(s.code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(c)), "{}", s.code);
        }
        assert!(find("tw-ci.energy").is_some());
        assert_eq!(find("tw-ci.energy").unwrap().label("zh-TW"), "能源");
    }
}
