//! Gemini's function parameters as JSON Schema.
//!
//! A function declaration gives its input either as `parametersJsonSchema` (JSON Schema, taken
//! as is) or as `parameters`, a `Schema` object in Gemini's OpenAPI 3.0 subset: upper-case
//! `type` names (`OBJECT`, `STRING`, …), `nullable`, 64-bit integers such as `minItems` written
//! as JSON strings, and field names in camelCase or snake_case. No crate converts this dialect,
//! and the mapping is a short walk over a fixed list of fields, so it is written here.

use serde_json::{Map, Value, json};

use super::case::camel;

/// The fields of Gemini's `Schema` whose value is a 64-bit integer (sent as a string in JSON).
const INTEGER_FIELDS: &[&str] = &[
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minProperties",
    "maxProperties",
];

/// The fields that map across unchanged (after integer-string decoding).
const PLAIN_FIELDS: &[&str] = &[
    "format",
    "title",
    "description",
    "enum",
    "required",
    "pattern",
    "minimum",
    "maximum",
    "default",
];

/// A Gemini `Schema` (OpenAPI subset) as JSON Schema. Values that are not objects come back
/// unchanged, so that a later check can name what is wrong with them.
pub(super) fn to_json_schema(schema: &Value) -> Value {
    let Value::Object(obj) = schema else {
        return schema.clone();
    };
    let obj: Map<String, Value> = obj.iter().map(|(k, v)| (camel(k), v.clone())).collect();
    let mut out = Map::new();
    let nullable = obj.get("nullable").and_then(Value::as_bool) == Some(true);
    if let Some(t) = obj.get("type") {
        let t = match t.as_str() {
            Some(s) if s.eq_ignore_ascii_case("TYPE_UNSPECIFIED") => None,
            Some(s) => Some(Value::String(s.to_ascii_lowercase())),
            None => Some(t.clone()),
        };
        if let Some(t) = t {
            out.insert("type".into(), if nullable { json!([t, "null"]) } else { t });
        }
    }
    for &k in PLAIN_FIELDS {
        if let Some(v) = obj.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    for &k in INTEGER_FIELDS {
        if let Some(v) = obj.get(k) {
            let v = match v.as_str().and_then(|s| s.parse::<u64>().ok()) {
                Some(n) => Value::from(n),
                None => v.clone(),
            };
            out.insert(k.into(), v);
        }
    }
    if nullable && let Some(Value::Array(e)) = out.get_mut("enum") {
        e.push(Value::Null);
    }
    if let Some(items) = obj.get("items") {
        out.insert("items".into(), to_json_schema(items));
    }
    if let Some(Value::Object(props)) = obj.get("properties") {
        // Property names are the user's own: never re-cased.
        let props: Map<String, Value> = props
            .iter()
            .map(|(k, v)| (k.clone(), to_json_schema(v)))
            .collect();
        out.insert("properties".into(), Value::Object(props));
    }
    if let Some(Value::Array(any)) = obj.get("anyOf") {
        out.insert(
            "anyOf".into(),
            Value::Array(any.iter().map(to_json_schema).collect()),
        );
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_types_nullable_and_integer_strings_become_json_schema() {
        let gemini = json!({
            "type": "OBJECT",
            "properties": {
                "city_name": {"type": "STRING", "description": "City"},
                "unit": {"type": "STRING", "format": "enum", "enum": ["c", "f"], "nullable": true},
                "tags": {"type": "ARRAY", "items": {"type": "STRING"}, "min_items": "1", "maxItems": "3"},
                "at": {"anyOf": [{"type": "INTEGER"}, {"type": "NUMBER", "minimum": 0.5}]}
            },
            "required": ["city_name"],
            "propertyOrdering": ["city_name", "unit"]
        });
        assert_eq!(
            to_json_schema(&gemini),
            json!({
                "type": "object",
                "required": ["city_name"],
                "properties": {
                    "city_name": {"type": "string", "description": "City"},
                    "unit": {"type": ["string", "null"], "format": "enum", "enum": ["c", "f", null]},
                    "tags": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"type": "string"}},
                    "at": {"anyOf": [{"type": "integer"}, {"type": "number", "minimum": 0.5}]}
                }
            })
        );
    }
}
