//! STIX patterns: the grammar (with errors that say where), the evaluation of
//! comparison and observation expressions as section 9 of the specification defines
//! them, every pattern of the official examples, and the indexed matcher giving the same
//! answers as trying every pattern.

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use rampart_intel::matcher::{Compiled, Matcher, Scratch};
use rampart_intel::pattern::{Observation, Pattern};
use serde_json::{json, Value};

fn at(t: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc)
}

fn observed(first: &str, last: &str, objects: Vec<Value>) -> Observation {
    Observation {
        first_observed: at(first),
        last_observed: at(last),
        objects: objects.into_iter().enumerate().map(|(i, o)| (i.to_string(), o)).collect(),
    }
}

fn one(objects: Vec<Value>) -> Vec<Observation> {
    vec![observed("2026-11-30T00:00:00Z", "2026-11-30T00:00:00Z", objects)]
}

fn matches(pattern: &str, observations: &[Observation]) -> bool {
    Pattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}")).matches(observations)
}

#[test]
fn comparison_expressions() {
    let file = one(vec![
        json!({
            "type": "file", "name": "invoice.exe", "size": 25536,
            "hashes": {"SHA-256": "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f", "MD5": "3773a88f65a5e780c8dff9cdc3a056f3"},
            "parent_directory_ref": "1", "x_tags": ["a", "b"]
        }),
        json!({"type": "directory", "path": "C:\\Windows\\Temp"}),
    ]);
    assert!(matches("[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']", &file));
    assert!(matches("[file:hashes.MD5 = '3773a88f65a5e780c8dff9cdc3a056f3' AND file:size > 1024]", &file));
    assert!(!matches("[file:hashes.MD5 = '3773a88f65a5e780c8dff9cdc3a056f3' AND file:size > 100000]", &file));
    assert!(matches("[file:size >= 25536 AND file:size <= 25536 AND file:size != 1]", &file));
    assert!(matches("[file:name LIKE '%.exe' AND file:name NOT LIKE 'report%']", &file));
    assert!(matches("[file:name MATCHES '^inv[a-z]+\\\\.exe$']", &file));
    assert!(matches("[file:name IN ('a.exe', 'invoice.exe')]", &file));
    assert!(matches("[file:parent_directory_ref.path = 'C:\\\\Windows\\\\Temp']", &file), "references resolve");
    assert!(matches("[file:x_tags[*] = 'b' AND file:x_tags[0] = 'a']", &file));
    assert!(matches("[EXISTS file:hashes.MD5]", &file));
    assert!(!matches("[EXISTS file:hashes.'SHA-1']", &file));
    assert!(!matches("[file:hashes.'SHA-1' NOT = 'x']", &file), "an absent property fails either way");
    assert!(matches("[file:name = 'nope' OR directory:path LIKE 'C:%']", &file), "OR may compare different types");

    let net = one(vec![json!({"type": "ipv4-addr", "value": "198.51.100.7"})]);
    assert!(matches("[ipv4-addr:value ISSUBSET '198.51.100.0/24']", &net));
    assert!(!matches("[ipv4-addr:value ISSUBSET '198.51.101.0/24']", &net));
    assert!(matches("[ipv4-addr:value = '198.51.100.0/25']", &net), "a network written with = means being in it");
    assert!(matches("[ipv4-addr:value = '198.51.100.7']", &net));
    let range = one(vec![json!({"type": "ipv4-addr", "value": "198.51.100.0/24"})]);
    assert!(matches("[ipv4-addr:value ISSUPERSET '198.51.100.9']", &range));
}

#[test]
fn observation_expressions_and_qualifiers() {
    let login = |t: &str, user: &str| observed(t, t, vec![json!({"type": "user-account", "user_id": user})]);
    let seen =
        vec![login("2026-11-30T10:00:00Z", "alice"), login("2026-11-30T10:00:30Z", "mallory"), login("2026-11-30T10:05:00Z", "mallory")];
    assert!(matches("[user-account:user_id = 'alice'] AND [user-account:user_id = 'mallory']", &seen));
    assert!(matches("[user-account:user_id = 'alice'] FOLLOWEDBY [user-account:user_id = 'mallory']", &seen));
    assert!(!matches("[user-account:user_id = 'mallory'] FOLLOWEDBY [user-account:user_id = 'alice']", &seen));
    assert!(matches("([user-account:user_id = 'alice'] FOLLOWEDBY [user-account:user_id = 'mallory']) WITHIN 60 SECONDS", &seen));
    assert!(!matches("([user-account:user_id = 'alice'] AND [user-account:user_id = 'eve']) WITHIN 600 SECONDS", &seen));
    assert!(matches("[user-account:user_id = 'mallory'] REPEATS 2 TIMES", &seen));
    assert!(!matches("[user-account:user_id = 'mallory'] REPEATS 3 TIMES", &seen));
    assert!(!matches("[user-account:user_id = 'alice'] AND [user-account:user_id = 'alice']", &seen), "two observations are needed");
    assert!(matches("[user-account:user_id = 'mallory'] START t'2026-11-30T10:04:00Z' STOP t'2026-11-30T10:06:00Z'", &seen));
    assert!(!matches("[user-account:user_id = 'alice'] START t'2026-11-30T10:04:00Z' STOP t'2026-11-30T10:06:00Z'", &seen));
    assert!(matches("[user-account:user_id = 'eve'] OR [user-account:user_id = 'alice']", &seen));
}

#[test]
fn errors_say_what_and_where() {
    for (pattern, column, words) in [
        ("[ipv4-addr:value = '1.2.3.4'", 29, "expected ]"),
        ("[ipv4-addr:value == '1.2.3.4']", 19, "expected a value"),
        ("[ipv4-addr:value = '1.2.3.4' AND domain-name:value = 'x.tw']", 1, "AND joins ipv4-addr and domain-name"),
        ("[file:name = 'unterminated]", 14, "not closed"),
        ("[ipv4-addr:value = '1.2.3.4'] REPEATS 0 TIMES", 39, "positive whole number"),
        ("[ipv4-addr:value = '1.2.3.4'] xyz", 31, "unexpected text"),
        ("[file:name MATCHES '(']", 20, "MATCHES"),
        ("[Bad:value = 1]", 2, "object path"),
    ] {
        let e = Pattern::parse(pattern).unwrap_err();
        assert!(e.to_string().contains(words), "{pattern}: {e}");
        assert_eq!(e.at + 1, column, "{pattern}: {e}");
    }
    let deep = format!("{}[a:b = 1]{}", "(".repeat(200), ")".repeat(200));
    assert!(Pattern::parse(&deep).unwrap_err().to_string().contains("deeply"));
}

#[test]
fn every_pattern_of_the_official_examples_compiles() {
    let root = rampart_core::testdata::path("stix/examples");
    let mut seen = 0;
    let mut unanchored = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for o in doc["objects"].as_array().into_iter().flatten() {
                if o["type"] == "indicator" && o["pattern_type"] == "stix" {
                    let pattern = o["pattern"].as_str().unwrap();
                    let p = Pattern::parse(pattern).unwrap_or_else(|e| panic!("{}: {pattern}: {e}", path.display()));
                    if p.anchors().is_none() {
                        unanchored.push(pattern.to_string());
                    }
                    seen += 1;
                }
            }
        }
    }
    assert!(seen >= 40, "{seen} patterns");
    // Only a regular expression leaves nothing to look up.
    assert!(unanchored.iter().all(|p| p.contains("MATCHES")) && unanchored.len() <= 2, "{unanchored:?}");
}

#[test]
fn the_matcher_finds_addresses_networks_domains_and_subdomains_hashes() {
    let patterns = [
        "[ipv4-addr:value = '203.0.113.9']",
        "[ipv4-addr:value = '198.51.100.0/24']",
        "[ipv4-addr:value ISSUBSET '198.51.0.0/16']",
        "[domain-name:value = 'Evil.example.tw']",
        "[url:value = 'http://evil.example.tw/x']",
        "[email-addr:value = 'ceo@phish.example']",
        "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
        "[file:name LIKE '%.scr']",
        "[ipv4-addr:value = '203.0.113.9'] FOLLOWEDBY [domain-name:value = 'x.tw']",
        "[file:created = t'2026-01-01T00:00:00Z']",
    ];
    let compiled = patterns.iter().enumerate().map(|(i, p)| Compiled { item: i, pattern: Pattern::parse(p).unwrap() }).collect();
    let m = Matcher::build(compiled);
    assert_eq!(m.unanchored(), 2, "only the LIKE and the timestamp patterns are tried on everything");
    let mut scratch = Scratch::default();
    let mut hits = |objects: Vec<Value>| -> Vec<usize> {
        m.match_observation(&one(objects).remove(0), &mut scratch).iter().map(|&i| *m.item(i)).collect()
    };
    assert_eq!(hits(vec![json!({"type": "ipv4-addr", "value": "203.0.113.9"})]), [0]);
    assert_eq!(hits(vec![json!({"type": "ipv4-addr", "value": "198.51.100.77"})]), [1, 2]);
    assert_eq!(hits(vec![json!({"type": "ipv4-addr", "value": "198.51.3.4"})]), [2]);
    assert_eq!(hits(vec![json!({"type": "domain-name", "value": "evil.example.tw"})]), [3], "case does not matter in domains");
    assert_eq!(hits(vec![json!({"type": "domain-name", "value": "cdn.evil.example.tw"})]), [3], "subdomains match");
    assert!(hits(vec![json!({"type": "domain-name", "value": "notevil.example.tw"})]).is_empty());
    assert_eq!(hits(vec![json!({"type": "url", "value": "http://evil.example.tw/x"})]), [4]);
    assert_eq!(hits(vec![json!({"type": "email-addr", "value": "CEO@phish.example"})]), [5]);
    assert_eq!(
        hits(vec![json!({"type": "file", "hashes": {"SHA-256": "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"}})]),
        [6]
    );
    assert_eq!(hits(vec![json!({"type": "file", "name": "x.scr"})]), [7]);
    assert!(hits(vec![json!({"type": "ipv4-addr", "value": "192.0.2.1"})]).is_empty());
    assert_eq!(hits(vec![json!({"type": "file", "created": "2026-01-01T00:00:00.000Z"})]), [9], "a timestamp compares as time");

    // Values looked up in a batch find what they find one by one.
    let values = [
        ("ipv4-addr", "value", "198.51.100.77"),
        ("domain-name", "value", "cdn.evil.example.tw"),
        ("email-addr", "value", "CEO@phish.example"),
        ("file", "hashes.SHA-256", "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"),
        ("ipv4-addr", "value", "192.0.2.1"),
        ("url", "value", "http://evil.example.tw/x"),
    ];
    let batch: Vec<(u32, usize)> = m.match_values(&values, &mut scratch).iter().map(|&(n, i)| (n, *m.item(i))).collect();
    let mut single = Vec::new();
    for (n, (t, p, v)) in values.iter().enumerate() {
        single.extend(m.match_value(t, p, v, &mut scratch).iter().map(|&i| (n as u32, *m.item(i))));
    }
    assert_eq!(batch, single);
    assert_eq!(batch, [(0, 1), (0, 2), (1, 3), (2, 5), (3, 6), (5, 4)]);
}

fn value_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("c".to_string()),
        Just("10.0.0.1".to_string()),
        Just("10.0.1.1".to_string())
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// The index finds exactly what trying every pattern finds (domains aside, where
    /// it adds subdomains on purpose).
    #[test]
    fn the_index_agrees_with_trying_every_pattern(
        specs in proptest::collection::vec((0usize..6, value_strategy(), value_strategy()), 1..30),
        observed_values in proptest::collection::vec((0usize..3, value_strategy()), 1..4),
    ) {
        let types = ["x-a", "x-b", "ipv4-addr"];
        let patterns: Vec<String> = specs.iter().map(|(shape, v, w)| match shape {
            0 => format!("[x-a:name = '{v}']"),
            1 => format!("[x-b:name = '{v}' OR x-a:name = '{w}']"),
            2 => format!("[x-a:name = '{v}' AND x-a:size > 1]"),
            3 => format!("[x-b:name IN ('{v}', '{w}')]"),
            4 => format!("[ipv4-addr:value ISSUBSET '10.0.0.0/24'] OR [x-a:name != '{v}']"),
            _ => format!("[x-a:name LIKE '{v}%']"),
        }).collect();
        let compiled: Vec<Compiled<usize>> = patterns.iter().enumerate().map(|(i, p)| Compiled { item: i, pattern: Pattern::parse(p).unwrap() }).collect();
        let every: Vec<Pattern> = compiled.iter().map(|c| c.pattern.clone()).collect();
        let m = Matcher::build(compiled);
        let objects: Vec<Value> = observed_values.iter().map(|(t, v)| {
            let t = types[*t];
            if t == "ipv4-addr" { json!({"type": t, "value": v}) } else { json!({"type": t, "name": v, "size": 2}) }
        }).collect();
        let observation = one(objects);
        let mut scratch = Scratch::default();
        let indexed: Vec<usize> = m.match_observation(&observation[0], &mut scratch).iter().map(|&i| *m.item(i)).collect();
        let brute: Vec<usize> = every.iter().enumerate().filter(|(_, p)| p.matches(&observation)).map(|(i, _)| i).collect();
        prop_assert_eq!(indexed, brute);
    }

    /// Hostile text is refused or parsed, never a panic.
    #[test]
    fn any_text_is_refused_or_parsed(text in "\\PC{0,200}") {
        let _ = Pattern::parse(&text);
    }

    #[test]
    fn pattern_like_text_is_refused_or_parsed(text in "[\\[\\]()' =:a-z0-9.*,<>!-]{0,80}( (AND|OR|FOLLOWEDBY|WITHIN|REPEATS|IN|LIKE|NOT) [\\[\\]()' =:a-z0-9.*]{0,20}){0,4}") {
        let _ = Pattern::parse(&text);
    }
}
