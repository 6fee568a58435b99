//! Whether a JSON value fits a JSON Schema, by the `jsonschema` crate: used to check generated
//! arguments (synthesis) and to explain drift (a recorded call whose input does not fit the
//! agent's own schema for that tool).

use serde_json::Value;

/// The first way a value does not fit a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misfit {
    /// JSON Pointer to the offending part of the value (`""` for the whole value).
    pub instance_path: String,
    /// JSON Pointer to the keyword of the schema it breaks (`/properties/unit/enum`).
    pub schema_path: String,
    /// What is wrong, as the validator says it.
    pub message: String,
}

impl Misfit {
    /// The instance path for a message: `/` for the whole value.
    pub fn at(&self) -> &str {
        if self.instance_path.is_empty() {
            "/"
        } else {
            &self.instance_path
        }
    }

    /// The property that does not fit, where the misfit is about one: the last segment of the
    /// instance path, or the property a `required` or `additionalProperties` keyword names.
    pub fn property(&self) -> Option<String> {
        if let Some(last) = self
            .instance_path
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
        {
            return Some(last.replace("~1", "/").replace("~0", "~"));
        }
        // "\"unit\" is a required property", "Additional properties are not allowed ('x' was
        // unexpected)": the name is the first quoted word.
        let m = &self.message;
        let start = m.find(['"', '\''])?;
        let quote = m[start..].chars().next()?;
        let rest = &m[start + 1..];
        rest.find(quote).map(|end| rest[..end].to_string())
    }
}

/// The first misfit of `value` against `schema`, or `None` when it fits. A schema the
/// validator cannot compile is itself a misfit at its own path.
pub fn first_misfit(schema: &Value, value: &Value) -> Option<Misfit> {
    let validator = match jsonschema::validator_for(schema) {
        Ok(v) => v,
        Err(e) => {
            return Some(Misfit {
                instance_path: String::new(),
                schema_path: e.schema_path().to_string(),
                message: format!("the schema itself is invalid: {e}"),
            });
        }
    };
    validator.iter_errors(value).next().map(|e| Misfit {
        instance_path: e.instance_path().to_string(),
        schema_path: e.schema_path().to_string(),
        message: e.to_string(),
    })
}
