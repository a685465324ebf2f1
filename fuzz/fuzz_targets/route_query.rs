#![no_main]
//! A lookup query comes from any staff member, a feed row or a mail: an address, a
//! prefix, a URL, an e-mail address, an AS number or a domain, or garbage.
use std::sync::OnceLock;

fn index() -> &'static rampart_core::constituency::ConstituencyIndex {
    static INDEX: OnceLock<rampart_core::constituency::ConstituencyIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        use rampart_core::constituency::resolve::{AssetKind, AssetRecord, AssetSource, ConstituencyIndex};
        let org = uuid::Uuid::nil();
        let asset = |kind, value: &str| AssetRecord {
            id: uuid::Uuid::now_v7(),
            org_id: org,
            kind,
            value: value.into(),
            include_subdomains: true,
            source: AssetSource::Manual,
            valid_from: None,
            valid_until: None,
        };
        let assets = [asset(AssetKind::Ipv4Prefix, "1.34.0.0/16"), asset(AssetKind::Domain, "example.tw"), asset(AssetKind::Asn, "3462")];
        ConstituencyIndex::build(&assets, Vec::new(), Default::default(), "TW", chrono::Utc::now())
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(query) = std::str::from_utf8(data) {
        let _ = index().lookup(query);
    }
});
