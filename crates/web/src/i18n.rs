//! User-visible text in English and Traditional Chinese (Taiwan). Catalogs are flat
//! TOML files compiled into the binary; templates never hold text of their own.

use std::collections::HashMap;
use std::sync::OnceLock;

pub const LANGUAGES: &[&str] = &["en", "zh-TW"];

#[derive(Debug)]
pub struct Catalog {
    pub lang: &'static str,
    messages: HashMap<String, String>,
}

impl Catalog {
    /// The text for `key`; English when this catalog lacks it; the key itself as a last resort.
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.messages.get(key).or_else(|| catalogs()[0].messages.get(key)).map(String::as_str).unwrap_or(key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.messages.contains_key(key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.messages.keys().map(String::as_str)
    }
}

fn parse(lang: &'static str, source: &str) -> Catalog {
    let messages = toml::from_str::<HashMap<String, String>>(source).unwrap_or_else(|e| panic!("i18n/{lang}.toml: {e}"));
    Catalog { lang, messages }
}

fn catalogs() -> &'static [Catalog; 2] {
    static CATALOGS: OnceLock<[Catalog; 2]> = OnceLock::new();
    CATALOGS.get_or_init(|| [parse("en", include_str!("../i18n/en.toml")), parse("zh-TW", include_str!("../i18n/zh-TW.toml"))])
}

/// The catalog for a supported language code; English otherwise.
pub fn catalog(lang: &str) -> &'static Catalog {
    let all = catalogs();
    all.iter().find(|c| c.lang.eq_ignore_ascii_case(lang)).unwrap_or(&all[0])
}

/// The best supported language for an `Accept-Language` header.
pub fn negotiate(accept_language: &str) -> Option<&'static str> {
    let mut best: Option<(f32, &'static str)> = None;
    for part in accept_language.split(',').take(20) {
        let mut pieces = part.trim().split(';');
        let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
        let lang = if tag.starts_with("zh") {
            "zh-TW"
        } else if tag.starts_with("en") {
            "en"
        } else {
            continue;
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, lang)| lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language() {
        assert_eq!(negotiate("zh-TW,zh;q=0.9,en-US;q=0.8"), Some("zh-TW"));
        assert_eq!(negotiate("en-GB,zh-Hant;q=0.5"), Some("en"));
        assert_eq!(negotiate("fr, zh-Hant;q=0.4, en;q=0.3"), Some("zh-TW"));
        assert_eq!(negotiate("fr"), None);
        assert_eq!(negotiate("en;q=0, zh"), Some("zh-TW"));
    }

    proptest::proptest! {
        #[test]
        fn any_header_yields_a_supported_language_or_none(header in "\\PC{0,200}") {
            if let Some(lang) = negotiate(&header) {
                proptest::prop_assert!(LANGUAGES.contains(&lang));
            }
        }
    }

    #[test]
    fn catalogs_have_the_same_keys_and_no_empty_text() {
        let (en, zh) = (catalog("en"), catalog("zh-TW"));
        let mut missing: Vec<_> = en.keys().filter(|k| !zh.has(k)).collect();
        missing.extend(zh.keys().filter(|k| !en.has(k)));
        assert!(missing.is_empty(), "keys not in both catalogs: {missing:?}");
        for c in [en, zh] {
            for k in c.keys() {
                assert!(!c.get(k).trim().is_empty(), "{}: {k} is empty", c.lang);
            }
        }
        assert_ne!(en.get("title.login"), zh.get("title.login"));
    }
}
