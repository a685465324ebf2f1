//! MISP events to STIX and back: whatever the attributes' types and values (quotes,
//! backslashes, non-ASCII), each comes back with its type, value, category, `to_ids` and
//! comment, and every object produced passes STIX validation.

use proptest::prelude::*;
use rampart_intel::misp::{event_from_stix, event_to_stix};
use rampart_intel::stix::StixValidator;
use serde_json::{json, Value};

fn attribute_type() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("ip-dst"),
        Just("domain"),
        Just("url"),
        Just("md5"),
        Just("email-src"),
        Just("filename"),
        Just("text"),
        Just("comment"),
        Just("regkey|value")
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn attributes_survive_the_round_trip(
        attrs in proptest::collection::vec((attribute_type(), "[a-zA-Z0-9'\\\\.:/@台灣-][a-zA-Z0-9'\\\\ .:/@台灣-]{0,39}", any::<bool>(), "[a-z ]{0,20}"), 0..8),
        info in "[a-zA-Z台灣][a-zA-Z 台灣]{0,29}",
    ) {
        let attributes: Vec<Value> = attrs.iter().map(|(t, v, ids, c)| json!({"type": t, "value": v, "to_ids": ids, "comment": c, "category": "Other"})).collect();
        let event = json!({"Event": {"info": info, "Attribute": attributes, "Tag": [{"name": "tlp:green"}]}});
        let mut n = 0u32;
        let mut fresh = || { n += 1; format!("6f1e2d3c-0000-4000-8000-{n:012}") };
        let objects = event_to_stix(&event, "2026-11-30T00:00:00.000Z", &mut fresh).unwrap();
        for o in &objects {
            prop_assert!(StixValidator::shipped().validate(o).is_ok(), "{}", o);
        }
        let stored: Vec<(i64, Value)> = objects[1..].iter().enumerate().map(|(i, o)| (i as i64, o.clone())).collect();
        let back = event_from_stix(&objects[0], 1, ("1", "CERT"), &stored);
        let got: Vec<(String, String, bool, String)> = back["Attribute"].as_array().unwrap().iter()
            .map(|a| (a["type"].as_str().unwrap().to_string(), a["value"].as_str().unwrap().to_string(), a["to_ids"].as_bool().unwrap(), a["comment"].as_str().unwrap().to_string()))
            .collect();
        let want: Vec<(String, String, bool, String)> = attrs.iter().map(|(t, v, ids, c)| (t.to_string(), v.trim().to_string(), *ids, c.to_string())).collect();
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            prop_assert_eq!(&g.0, &w.0);
            prop_assert_eq!(&g.1, &w.1.to_string());
            prop_assert_eq!(g.2, w.2);
            prop_assert_eq!(&g.3, &w.3);
        }
        prop_assert_eq!(back["info"].as_str().unwrap(), info.trim());
    }
}
