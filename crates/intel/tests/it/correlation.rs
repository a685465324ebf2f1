//! Correlation by value, address in network and domain under domain; values over the
//! cap left out; the same answers as comparing every pair of holders.

use proptest::prelude::*;
use rampart_intel::correlation::{Attribute, Correlation, Kind};

fn attr(holder: u32, kind: Kind, value: &str) -> Attribute<'_> {
    Attribute { holder, kind, value }
}

#[test]
fn shared_values_networks_and_parent_domains_correlate() {
    let attrs = vec![
        attr(0, Kind::Ip, "198.51.100.7"),
        attr(1, Kind::Ip, "198.51.100.7"),
        attr(2, Kind::Network, "198.51.100.0/24"),
        attr(3, Kind::Domain, "Evil.Example.tw"),
        attr(4, Kind::Domain, "cdn.evil.example.tw"),
        attr(5, Kind::Hash, "d41d8cd98f00b204e9800998ecf8427e"),
        attr(6, Kind::Hash, "d41d8cd98f00b204e9800998ecf8427e"),
        attr(7, Kind::Hash, "d41d8cd98f00b204e9800998ecf8427e"),
        attr(8, Kind::Url, "http://evil.example.tw/x"),
        attr(9, Kind::Domain, "198.51.100.7"),
    ];
    let (c, s) = Correlation::build(attrs, 2);
    assert_eq!(c.related(0), [1, 2], "the same address, and the network holding it");
    assert_eq!(c.related(2), [0, 1]);
    assert_eq!(c.related(4), [3], "a subdomain, whatever the case");
    assert!(c.related(5).is_empty(), "a value in more holders than the cap is left out");
    assert!(c.is_excluded(Kind::Hash, "D41D8CD98F00B204E9800998ECF8427E"));
    assert!(c.related(8).is_empty() && c.related(9).is_empty(), "values of different kinds do not correlate");
    assert_eq!(s.excluded_values, 1);
    assert_eq!(s.correlating_values, 1);
    assert_eq!(s.links, 2);
    assert_eq!(s.implied_pairs, 1 + 2 + 1, "0-1 by value, 0-2 and 1-2 by network, 3-4 by domain");
    assert!(c.related(1000).is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    /// Stored per value, answered as if every pair had been compared.
    #[test]
    fn per_value_storage_answers_as_pairwise_comparison(values in proptest::collection::vec((0u32..20, 0usize..6), 1..80)) {
        let pool = ["a.tw", "x.a.tw", "b.tw", "10.0.0.1", "10.0.0.2", "10.0.0.0/30"];
        let kind = |v: &str| if v.contains('/') { Kind::Network } else if v.starts_with("10.") { Kind::Ip } else { Kind::Domain };
        let attrs: Vec<Attribute> = values.iter().map(|&(h, v)| attr(h, kind(pool[v]), pool[v])).collect();
        let (c, _) = Correlation::build(attrs.clone(), usize::MAX);
        let related_by_pair = |x: &str, y: &str| {
            x == y || (x.contains('/') && y.starts_with("10.0.0.") && !y.contains('/') && y != "10.0.0.9")
                || (y.contains('/') && x.starts_with("10.0.0.") && !x.contains('/'))
                || x.ends_with(&format!(".{y}")) || y.ends_with(&format!(".{x}"))
        };
        for h in 0..20u32 {
            let mine: Vec<&str> = attrs.iter().filter(|a| a.holder == h).map(|a| a.value).collect();
            let mut expected: Vec<u32> = attrs.iter().filter(|a| a.holder != h && mine.iter().any(|m| related_by_pair(m, a.value))).map(|a| a.holder).collect();
            expected.sort_unstable();
            expected.dedup();
            prop_assert_eq!(c.related(h), expected, "holder {}", h);
        }
    }
}
