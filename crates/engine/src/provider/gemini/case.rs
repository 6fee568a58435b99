//! Gemini field names in either case: the API reads camelCase (`functionCall`), the Python SDK
//! sends some fields snake_case (`function_call`); both the parser and the schema conversion
//! read them through these.

use serde_json::{Map, Value};

/// `camel` in snake_case (`functionCall` → `function_call`).
pub(super) fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `key` is `snake(camel)`, without spelling that out.
pub(super) fn is_snake_of(key: &str, camel: &str) -> bool {
    let mut k = key.chars();
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            if k.next() != Some('_') || k.next() != Some(c.to_ascii_lowercase()) {
                return false;
            }
        } else if k.next() != Some(c) {
            return false;
        }
    }
    k.next().is_none()
}

/// `key` in camelCase (`function_call` → `functionCall`; camelCase stays as it is).
pub(super) fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' && !out.is_empty() {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `value` with every object key in camelCase, for comparing parts whatever the client's
/// spelling.
pub(super) fn camel_keys(value: &Value) -> Value {
    match value {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (camel(k), camel_keys(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(camel_keys).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `is_snake_of` is `key == snake(camel)`, without spelling that out.
    #[test]
    fn is_snake_of_is_comparing_with_snake() {
        let names = [
            "",
            "a",
            "A",
            "parts",
            "functionCall",
            "function_call",
            "functionResponse",
            "thoughtSignature",
            "thought_signature",
            "systemInstruction",
            "x_y",
            "xY",
            "_x",
            "X",
            "_",
            "aBC",
            "a_b_c",
            "a__b",
            "éÉ",
            "name",
            "finishReason",
            "finish_reasonx",
        ];
        for key in names {
            for camel in names {
                assert_eq!(
                    is_snake_of(key, camel),
                    key == snake(camel),
                    "{key:?} {camel:?}"
                );
            }
        }
    }
}
