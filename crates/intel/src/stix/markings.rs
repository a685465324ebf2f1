//! TLP as STIX carries it: the standard marking-definition ids of TLP 2.0 (FIRST's
//! extension) and of TLP 1.0 (the STIX 2.1 specification), on the object or on parts
//! of it. An object's TLP is the strictest of every TLP marking it carries, so a
//! forged or contradictory marking never widens its audience.

use rampart_core::tlp::Tlp;
use serde_json::Value;

/// TLP 2.0 marking definitions, as published with the STIX extension for TLP 2.0.
pub const TLP2: [(Tlp, &str); 5] = [
    (Tlp::Clear, "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"),
    (Tlp::Green, "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"),
    (Tlp::Amber, "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"),
    (Tlp::AmberStrict, "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"),
    (Tlp::Red, "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"),
];

/// TLP 1.0 marking definitions of the STIX 2.1 specification (WHITE reads as CLEAR).
const TLP1: [(Tlp, &str); 4] = [
    (Tlp::Clear, "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"),
    (Tlp::Green, "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"),
    (Tlp::Amber, "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"),
    (Tlp::Red, "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"),
];

/// The TLP a marking-definition id stands for, if it is one of the standard ones.
pub fn tlp_of_marking(id: &str) -> Option<Tlp> {
    TLP2.iter().chain(TLP1.iter()).find(|(_, m)| *m == id).map(|(t, _)| *t)
}

/// The marking-definition id of a TLP 2.0 level.
pub fn marking_of(tlp: Tlp) -> &'static str {
    TLP2.iter().find(|(t, _)| *t == tlp).map(|(_, m)| *m).unwrap_or(TLP2[4].1)
}

/// The strictest TLP among the object's own and granular markings; `None` if unmarked.
pub fn tlp_of(object: &Value) -> Option<Tlp> {
    let own = object.get("object_marking_refs").and_then(Value::as_array).into_iter().flatten();
    let granular = object.get("granular_markings").and_then(Value::as_array).into_iter().flatten().filter_map(|g| g.get("marking_ref"));
    own.chain(granular).filter_map(Value::as_str).filter_map(tlp_of_marking).max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_strictest_marking_wins() {
        let object = json!({
            "object_marking_refs": [TLP2[1].1],
            "granular_markings": [{"marking_ref": TLP1[3].1, "selectors": ["description"]}]
        });
        assert_eq!(tlp_of(&object), Some(Tlp::Red));
        assert_eq!(tlp_of(&json!({"object_marking_refs": [TLP1[0].1]})), Some(Tlp::Clear));
        assert_eq!(tlp_of(&json!({"object_marking_refs": ["marking-definition--00000000-0000-4000-8000-000000000000"]})), None);
        assert_eq!(tlp_of(&json!({})), None);
        for (tlp, id) in TLP2 {
            assert_eq!(marking_of(tlp), id);
            assert_eq!(tlp_of_marking(id), Some(tlp));
        }
    }
}
