//! STIX 2.1 validation against the OASIS JSON schemas: every object type (SDOs, SROs,
//! SCOs, marking definitions, language content, extension definitions) and bundles.
//! A bundle is checked object by object, so a refusal names the object and the reason
//! instead of the schema's "matches none of 40 alternatives".

pub mod markings;
pub mod meta;
pub mod refs;
mod schemas;

use jsonschema::Validator;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::LazyLock;

/// Where a schema's `$id` says it lives; relative `$ref`s resolve against it.
const SCHEMA_BASE: &str = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/";

/// Why a document is not valid STIX 2.1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("; "))]
pub struct Invalid {
    /// Each problem with where it is (`/objects/3/pattern: …`).
    pub problems: Vec<String>,
}

impl Invalid {
    fn one(problem: String) -> Invalid {
        Invalid { problems: vec![problem] }
    }
}

/// The compiled schemas, one per object type.
pub struct StixValidator {
    by_type: HashMap<String, Validator>,
    /// For custom (`x-…`) object types: the common properties every object has.
    custom: Validator,
}

impl std::fmt::Debug for StixValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StixValidator").field("types", &self.by_type.len()).finish()
    }
}

static SHIPPED: LazyLock<StixValidator> =
    LazyLock::new(|| StixValidator::from_schemas(schemas::SCHEMAS).unwrap_or_else(|e| panic!("the shipped STIX schemas: {e}")));

/// The most objects one bundle may carry.
pub const MAX_BUNDLE_OBJECTS: usize = 1_000_000;

impl StixValidator {
    /// The validator of the schemas Rampart ships, compiled once.
    pub fn shipped() -> &'static StixValidator {
        &SHIPPED
    }

    /// Compiles schemas given as (path under `schemas/`, text).
    pub fn from_schemas(files: &[(&str, &str)]) -> Result<StixValidator, String> {
        let mut documents = Vec::with_capacity(files.len());
        for (path, text) in files {
            let doc: Value = serde_json::from_str(text).map_err(|e| format!("{path}: {e}"))?;
            documents.push((*path, doc));
        }
        let mut registry = jsonschema::Registry::new();
        for (path, doc) in &documents {
            let id = doc.get("$id").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| format!("{SCHEMA_BASE}{path}"));
            registry = registry.add(id, doc.clone()).map_err(|e| format!("{path}: {e}"))?;
        }
        let registry = registry.prepare().map_err(|e| format!("resolving the schemas' references: {e}"))?;
        let build = |doc: &Value, path: &str| {
            jsonschema::options().with_registry(&registry).should_validate_formats(true).build(doc).map_err(|e| format!("{path}: {e}"))
        };
        let mut by_type = HashMap::new();
        let mut custom = None;
        for (path, doc) in &documents {
            let (folder, file) = path.split_once('/').unwrap_or(("", path));
            let name = file.trim_end_matches(".json");
            let is_object_type = matches!(folder, "sdos" | "sros" | "observables")
                || matches!(name, "bundle" | "marking-definition" | "language-content" | "extension-definition");
            if is_object_type {
                by_type.insert(name.to_string(), build(doc, path)?);
            } else if *path == "common/core.json" {
                custom = Some(build(doc, path)?);
            }
        }
        let custom = custom.ok_or("common/core.json is missing")?;
        Ok(StixValidator { by_type, custom })
    }

    /// The object types with a schema.
    pub fn types(&self) -> impl Iterator<Item = &str> {
        self.by_type.keys().map(String::as_str).filter(|t| *t != "bundle")
    }

    /// Checks one object, or a bundle and every object in it.
    pub fn validate(&self, document: &Value) -> Result<(), Invalid> {
        let kind = document.get("type").and_then(Value::as_str).ok_or_else(|| Invalid::one("/type: a STIX object has a type".into()))?;
        if kind != "bundle" {
            return self.validate_object(document, "");
        }
        let objects = document.get("objects").and_then(Value::as_array);
        if objects.is_some_and(|o| o.len() > MAX_BUNDLE_OBJECTS) {
            return Err(Invalid::one(format!("/objects: more than {MAX_BUNDLE_OBJECTS} objects in one bundle")));
        }
        // The envelope alone; the objects one by one, for errors that say which.
        let mut envelope = document.clone();
        if let Some(list) = envelope.get_mut("objects").and_then(Value::as_array_mut) {
            list.clear();
        }
        let mut problems = Vec::new();
        if let Some(errors) = errors_of(&self.by_type["bundle"], &envelope, "") {
            problems.extend(errors.into_iter().filter(|e| !e.starts_with("/objects")));
        }
        for (i, object) in objects.into_iter().flatten().enumerate() {
            if let Err(e) = self.validate_object(object, &format!("/objects/{i}")) {
                problems.extend(e.problems);
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Invalid { problems })
        }
    }

    fn validate_object(&self, object: &Value, at: &str) -> Result<(), Invalid> {
        let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
        let validator = match self.by_type.get(kind) {
            Some(v) if kind != "bundle" => v,
            Some(_) => return Err(Invalid::one(format!("{at}/type: a bundle cannot hold a bundle"))),
            None if kind.starts_with("x-") => &self.custom,
            None if kind.is_empty() => return Err(Invalid::one(format!("{at}/type: a STIX object has a type"))),
            None => return Err(Invalid::one(format!("{at}/type: {kind:?} is not a STIX 2.1 type (custom types start with x-)"))),
        };
        let mut problems = errors_of(validator, object, at).unwrap_or_default();
        problems.extend(rules_beyond_the_schema(object, at));
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Invalid { problems })
        }
    }
}

/// What the STIX 2.1 specification requires and the schemas leave to code (as the OASIS
/// validator does): the specification version, and that an object is not modified before
/// it was created.
fn rules_beyond_the_schema(object: &Value, at: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(version) = object.get("spec_version").and_then(Value::as_str) {
        if version != "2.1" {
            problems.push(format!("{at}/spec_version: Rampart keeps STIX 2.1; this object is {version:?}"));
        }
    }
    let time = |name: &str| object.get(name).and_then(Value::as_str).and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    if let (Some(created), Some(modified)) = (time("created"), time("modified")) {
        if modified < created {
            problems.push(format!("{at}/modified: earlier than created"));
        }
    }
    problems
}

/// The schema's complaints, each with its place in the document, at most 20.
fn errors_of(validator: &Validator, instance: &Value, at: &str) -> Option<Vec<String>> {
    let problems: Vec<String> = validator
        .iter_errors(instance)
        .take(20)
        .map(|e| {
            let path = e.instance_path().to_string();
            let mut text = e.to_string();
            if text.len() > 300 {
                let cut = (0..=300).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
                text.truncate(cut);
                text.push('…');
            }
            format!("{at}{path}: {text}")
        })
        .collect();
    (!problems.is_empty()).then_some(problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn indicator() -> Value {
        json!({
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2026-11-30T08:00:00.000Z", "modified": "2026-11-30T08:00:00.000Z",
            "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
            "valid_from": "2026-11-30T08:00:00Z"
        })
    }

    #[test]
    fn objects_are_checked_against_their_type() {
        let v = StixValidator::shipped();
        assert_eq!(v.types().count(), 42, "19 SDOs, 2 SROs, 18 SCOs, marking definitions, language content, extension definitions");
        v.validate(&indicator()).unwrap();
        let mut missing = indicator();
        missing.as_object_mut().unwrap().remove("pattern");
        let err = v.validate(&missing).unwrap_err().to_string();
        assert!(err.contains("pattern"), "{err}");
        let mut bad_id = indicator();
        bad_id["id"] = json!("malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f");
        assert!(v.validate(&bad_id).is_err(), "an indicator's id starts with indicator--");
        assert!(v.validate(&json!({"type": "nonsense"})).unwrap_err().to_string().contains("not a STIX 2.1 type"));
        assert!(v.validate(&json!({"id": "x"})).is_err());
    }

    #[test]
    fn a_bundle_names_the_object_that_is_wrong() {
        let v = StixValidator::shipped();
        let mut wrong = indicator();
        wrong["created"] = json!("yesterday");
        let bundle = json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [indicator(), wrong]});
        let err = v.validate(&bundle).unwrap_err();
        assert!(err.problems.iter().all(|p| p.starts_with("/objects/1")), "{err:?}");
        let bad_envelope = json!({"type": "bundle", "id": "nope", "objects": [indicator()]});
        assert!(v.validate(&bad_envelope).unwrap_err().problems.iter().any(|p| p.starts_with("/id")));
    }
}
