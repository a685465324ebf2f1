//! Every official STIX 2.1 example (`../shared/testdata/stix/examples/`) is valid; objects
//! broken in the ways a hostile or careless peer breaks them are refused with the reason.

use rampart_intel::stix::StixValidator;
use serde_json::Value;

fn examples() -> Vec<(String, Value)> {
    let root = rampart_core::testdata::path("stix/examples");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("threat-reports")] {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                files.push((path.display().to_string(), doc));
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

#[test]
fn every_official_example_is_accepted() {
    let examples = examples();
    assert_eq!(examples.len(), 8, "the six examples and two threat reports");
    let mut objects = 0;
    for (name, doc) in &examples {
        if let Err(e) = StixValidator::shipped().validate(doc) {
            panic!("{name}: {e}");
        }
        objects += doc["objects"].as_array().map_or(1, Vec::len);
    }
    assert!(objects > 100, "{objects} objects checked");
}

#[test]
fn broken_objects_are_refused_with_the_reason() {
    let (_, bundle) = examples().into_iter().find(|(n, _)| n.ends_with("indicator-for-c2-ip-address.json")).unwrap();
    let objects = bundle["objects"].as_array().unwrap();
    let indicator = objects.iter().find(|o| o["type"] == "indicator").unwrap().clone();
    let v = StixValidator::shipped();
    type Break = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Break)> = vec![
        ("spec_version", Box::new(|o| o["spec_version"] = "2.0".into())),
        ("created", Box::new(|o| o["created"] = "2026-13-45".into())),
        (
            "pattern_type",
            Box::new(|o| {
                o.as_object_mut().unwrap().remove("pattern_type");
            }),
        ),
        ("id", Box::new(|o| o["id"] = "indicator--not-a-uuid".into())),
        ("type", Box::new(|o| o["type"] = "Indicator".into())),
    ];
    for (field, break_it) in cases {
        let mut broken = indicator.clone();
        break_it(&mut broken);
        let err = v.validate(&broken).expect_err(field).to_string();
        assert!(err.contains(field) || err.contains("type"), "{field}: {err}");
    }
}

#[test]
fn an_object_is_not_modified_before_it_was_created() {
    let (_, bundle) = examples().into_iter().find(|(n, _)| n.ends_with("indicator-for-c2-ip-address.json")).unwrap();
    let mut indicator = bundle["objects"].as_array().unwrap().iter().find(|o| o["type"] == "indicator").unwrap().clone();
    indicator["created"] = "2026-11-30T08:00:00.000Z".into();
    indicator["modified"] = "2026-11-29T08:00:00.000Z".into();
    let err = StixValidator::shipped().validate(&indicator).unwrap_err().to_string();
    assert!(err.contains("/modified: earlier than created"), "{err}");
}
