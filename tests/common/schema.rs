//! A JSON Schema validator for the keywords `reports/report.schema.json` uses, and no others.
//!
//! A general validator (the `jsonschema` crate) cost minutes of every cold `cargo test` for one
//! file. This one knows the subset below; a schema that uses any other keyword, or a `pattern`
//! it does not know, makes it panic, so the schema cannot quietly outgrow the check.

use serde_json::{Map, Value};

/// Keywords that only annotate.
const ANNOTATIONS: &[&str] = &["$schema", "$id", "$defs", "title", "description"];

/// The instance paths and messages of every violation of `schema` by `instance`; empty when
/// it is valid.
pub fn violations(schema: &Value, instance: &Value) -> Vec<String> {
    violations_under(schema, schema, instance)
}

fn check(root: &Value, schema: &Value, instance: &Value, at: &str, found: &mut Vec<String>) {
    let Value::Object(schema) = schema else {
        panic!("{at}: a schema must be an object, not {schema}");
    };
    for (keyword, rule) in schema {
        match keyword.as_str() {
            k if ANNOTATIONS.contains(&k) => {}
            "$ref" => check(root, resolve(root, rule), instance, at, found),
            "type" => {
                let allowed: Vec<&str> = match rule {
                    Value::String(one) => vec![one],
                    Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
                    other => panic!("type {other}"),
                };
                if !allowed.iter().any(|t| is_type(instance, t)) {
                    found.push(format!("{at}: {instance} is not {allowed:?}"));
                }
            }
            "const" if instance != rule => found.push(format!("{at}: {instance} is not {rule}")),
            "enum" if !rule.as_array().expect("enum's list").contains(instance) => {
                found.push(format!("{at}: {instance} is not one of {rule}"))
            }
            "const" | "enum" => {}
            "minimum" | "exclusiveMinimum" => {
                let bound = rule.as_f64().expect("a numeric bound");
                if let Some(n) = instance.as_f64() {
                    let below = if keyword == "minimum" {
                        n < bound
                    } else {
                        n <= bound
                    };
                    if below {
                        found.push(format!("{at}: {n} is below {keyword} {bound}"));
                    }
                }
            }
            "pattern" => {
                let pattern = rule.as_str().expect("a pattern");
                assert_eq!(pattern, "^[a-z0-9_-]+$", "a pattern this validator knows");
                if let Some(s) = instance.as_str() {
                    let ok = !s.is_empty()
                        && s.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                        });
                    if !ok {
                        found.push(format!("{at}: {s:?} does not match {pattern}"));
                    }
                }
            }
            "required" => {
                if let Some(object) = instance.as_object() {
                    for name in rule.as_array().expect("required's list") {
                        let name = name.as_str().expect("a property name");
                        if !object.contains_key(name) {
                            found.push(format!("{at}: {name} is missing"));
                        }
                    }
                }
            }
            "properties" => {
                if let Some(object) = instance.as_object() {
                    for (name, value) in object {
                        if let Some(property) = rule.get(name) {
                            check(root, property, value, &format!("{at}/{name}"), found);
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(object) = instance.as_object() {
                    let declared = schema.get("properties").and_then(Value::as_object);
                    for (name, value) in extra(object, declared) {
                        let path = format!("{at}/{name}");
                        match rule {
                            Value::Bool(true) => {}
                            Value::Bool(false) => found.push(format!("{path} is not allowed")),
                            property => check(root, property, value, &path, found),
                        }
                    }
                }
            }
            "items" => {
                for (i, item) in instance.as_array().into_iter().flatten().enumerate() {
                    check(root, rule, item, &format!("{at}/{i}"), found);
                }
            }
            "oneOf" => {
                let matching = rule
                    .as_array()
                    .expect("oneOf's list")
                    .iter()
                    .filter(|option| violations_under(root, option, instance).is_empty())
                    .count();
                if matching != 1 {
                    found.push(format!("{at}: {matching} of oneOf's schemas match, not 1"));
                }
            }
            other => panic!("{at}: the keyword {other} is not known to this validator"),
        }
    }
}

/// The violations of `schema`, a part of `root` (which its references point into).
fn violations_under(root: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    let mut found = Vec::new();
    check(root, schema, instance, "", &mut found);
    found
}

/// The properties of `object` that `declared` does not name.
fn extra<'a>(
    object: &'a Map<String, Value>,
    declared: Option<&'a Map<String, Value>>,
) -> impl Iterator<Item = (&'a String, &'a Value)> {
    object
        .iter()
        .filter(move |(name, _)| declared.is_none_or(|d| !d.contains_key(*name)))
}

/// The schema a local reference (`#/$defs/name`) points at.
fn resolve<'a>(root: &'a Value, reference: &Value) -> &'a Value {
    let reference = reference.as_str().expect("a reference");
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("only local references are known: {reference}"));
    root.pointer(pointer)
        .unwrap_or_else(|| panic!("{reference} points at nothing"))
}

fn is_type(instance: &Value, name: &str) -> bool {
    match name {
        "null" => instance.is_null(),
        "boolean" => instance.is_boolean(),
        "object" => instance.is_object(),
        "array" => instance.is_array(),
        "string" => instance.is_string(),
        "number" => instance.is_number(),
        // JSON Schema counts 3.0 as an integer.
        "integer" => {
            instance.is_i64()
                || instance.is_u64()
                || instance.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        other => panic!("the type {other} is not known to this validator"),
    }
}
