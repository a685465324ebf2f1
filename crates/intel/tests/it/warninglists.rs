use proptest::prelude::*;
use rampart_intel::warninglist::{load_dir, MatchType, WarninglistSet};
use std::sync::LazyLock;

static SET: LazyLock<WarninglistSet> = LazyLock::new(|| {
    let (lists, errors) = load_dir(&rampart_core::testdata::path("misp/warninglists/lists"));
    assert!(errors.is_empty(), "every shared list loads: {errors:?}");
    assert_eq!(lists.len(), 17);
    let (set, errors) = WarninglistSet::new(lists);
    assert!(errors.is_empty(), "every entry of the shared lists is usable: {errors:?}");
    set
});

fn lists_hit(attribute_type: &str, value: &str) -> Vec<String> {
    let mut names: Vec<String> = SET.check(attribute_type, value).iter().map(|h| h.list.to_string()).collect();
    names.sort();
    names
}

/// Asserts that the value is on the named list.
fn on(list: &str, attribute_type: &str, value: &str) {
    let hits = lists_hit(attribute_type, value);
    assert!(hits.iter().any(|n| n == list), "{attribute_type} {value:?} should be on {list:?}; it is on {hits:?}");
}

#[test]
fn every_match_type_finds_what_misp_finds() {
    // cidr
    on("List of RFC 1918 CIDR blocks", "ip-dst", "10.20.30.40");
    on("List of RFC 1918 CIDR blocks", "ip-dst|port", "192.168.0.1|443");
    on("List of RFC 6598 CIDR blocks", "ip-src", "100.64.1.1");
    on("List of IPv6 link local blocks", "ip-dst", "fe80::1234");
    assert!(lists_hit("ip-dst", "203.74.205.1").is_empty(), "a public address of the constituency is on no list");
    // string
    on("List of known hashes for empty files", "md5", "d41d8cd98f00b204e9800998ecf8427e");
    on("TLDs as known by IANA", "domain", "COM");
    assert!(lists_hit("md5", "0123456789abcdef0123456789abcdef").is_empty());
    // hostname
    on("List of known URL Shorteners domains", "domain", "bit.ly");
    on("List of known URL Shorteners domains", "url", "https://bit.ly/3xYz");
    assert!(lists_hit("domain", "evil-bit.ly.example").is_empty());
    // substring
    on("List of known domains used by automated malware analysis services & security vendors", "url", "https://app.any.run/tasks/abc");
    // regex
    on("Common contact e-mail addresses", "email-dst", "abuse@example.net");
    assert!(lists_hit("email-dst", "ceo@example.net").is_empty());
    on("Unattributed phone number.", "phone-number", "+12125550199");
}

#[test]
fn a_list_only_applies_to_its_attribute_types() {
    assert!(lists_hit("md5", "10.0.0.1").is_empty());
    assert!(lists_hit("text", "bit.ly").is_empty());
}

#[test]
fn a_file_that_is_not_a_warninglist_is_reported_and_the_others_load() {
    let dir = std::env::temp_dir().join(format!("rampart-warninglists-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("good")).unwrap();
    std::fs::write(dir.join("good/list.json"), r#"{"name":"g","description":"d","version":1,"type":"string","list":["x"]}"#).unwrap();
    std::fs::write(dir.join("broken.json"), r#"{"name":"b","version":1}"#).unwrap();
    let (lists, errors) = load_dir(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(lists.len(), 1);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].to_string().contains("broken.json") && errors[0].to_string().contains("description"), "{}", errors[0]);
}

proptest! {
    #[test]
    fn every_exact_entry_finds_itself(index in 0usize..10_000) {
        for list in SET.lists().filter(|l| matches!(l.match_type, MatchType::String | MatchType::Hostname | MatchType::Cidr)) {
            let entry = &list.list[index % list.list.len()];
            let attribute = list.matching_attributes.first().cloned().unwrap_or_else(|| "text".into());
            let value = if attribute.contains('|') { format!("{entry}|1") } else { entry.clone() };
            prop_assert!(SET.check(&attribute, &value).iter().any(|h| h.list == list.name), "{} {}: {}", list.name, attribute, value);
        }
    }

    #[test]
    fn checking_any_value_never_panics(attribute in "(ip-dst|domain|url|md5|email-dst|domain\\|ip|text)", value in ".{0,80}") {
        let _ = SET.check(&attribute, &value);
    }
}
