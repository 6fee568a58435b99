//! Whether a JSON value fits a JSON Schema, by the `boon` crate: used to check generated
//! arguments (synthesis) and to explain drift (a recorded call whose input does not fit the
//! agent's own schema for that tool).
//!
//! `boon` rather than `jsonschema`: both pass the JSON-Schema-Test-Suite for drafts 4 to
//! 2020-12 and both treat `format` as an assertion up to draft 7 and as an annotation after it,
//! but `jsonschema` was the largest unit of a cold release build (~130 s of CPU alone, issue #15)
//! and `boon` builds in a few seconds on crates the recorder already needs (`regex`, `url`).
//! One difference: `boon` matches `pattern` with the `regex` crate (ECMA-262 classes mapped
//! onto it), which has no look-around or back-references; a schema with such a pattern cannot be
//! compiled, and is reported as a misfit that says so, never as a fit.

use std::error::Error;

use boon::{CompileError, Compiler, ErrorKind, OutputError, Schemas, UrlLoader, ValidationError};
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
    /// The property a `required`, `dependentRequired` or `additionalProperties` keyword names.
    named: Option<String>,
    /// The schema itself could not be compiled (invalid, or a `pattern` the validator cannot
    /// run): the value was not checked at all.
    pub uncheckable: bool,
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
    /// instance path, or else the property a `required`, `dependentRequired` or
    /// `additionalProperties` keyword names.
    pub fn property(&self) -> Option<String> {
        if let Some(last) = self
            .instance_path
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
        {
            return Some(last.replace("~1", "/").replace("~0", "~"));
        }
        self.named.clone()
    }
}

/// Where the schema under test lives for the validator: a name only, never fetched.
const SCHEMA_URL: &str = "https://tooltape.invalid/input-schema.json";

/// Loads nothing: a tool schema's `$ref` to another document (a file, a URL) is not followed,
/// so checking a schema never reads the disk or the network.
struct NoLoader;

impl UrlLoader for NoLoader {
    fn load(&self, url: &str) -> Result<Value, Box<dyn Error>> {
        Err(format!("{url} is outside the schema; tooltape follows only `$ref`s within it").into())
    }
}

/// The first misfit of `value` against `schema`, or `None` when it fits. A schema the
/// validator cannot compile is itself a misfit at its own path.
pub fn first_misfit(schema: &Value, value: &Value) -> Option<Misfit> {
    let mut compiler = Compiler::new();
    compiler.use_loader(Box::new(NoLoader));
    let mut schemas = Schemas::new();
    let compiled = match compiler.add_resource(SCHEMA_URL, schema.clone()) {
        Ok(()) => compiler.compile(SCHEMA_URL, &mut schemas),
        Err(e) => Err(e),
    };
    let index = match compiled {
        Ok(index) => index,
        Err(e) => return Some(uncompiled(&e)),
    };
    let error = schemas.validate(value, index).err()?;
    let first = first_cause(&error);
    Some(Misfit {
        instance_path: first.instance_location.to_string(),
        schema_path: keyword_location(&error, first),
        message: first.kind.to_string(),
        named: named(&first.kind),
        uncheckable: false,
    })
}

/// The misfit for a schema that does not compile: where in the schema, and why, on one line.
fn uncompiled(e: &CompileError) -> Misfit {
    let (schema_path, why, regex) = match e {
        // The schema broke its meta-schema: the instance there is the schema.
        CompileError::ValidationError { src, .. } => {
            let leaf = first_cause(src);
            let regex = matches!(leaf.kind, ErrorKind::Format { want: "regex", .. });
            (
                leaf.instance_location.to_string(),
                leaf.kind.to_string(),
                regex,
            )
        }
        CompileError::InvalidRegex { url, .. } => (fragment(url), e.to_string(), true),
        _ => (String::new(), format!("{e:#}"), false),
    };
    let at = if schema_path.is_empty() {
        String::new()
    } else {
        format!(" at {schema_path}")
    };
    let why = why.split_whitespace().collect::<Vec<_>>().join(" ");
    // A regex the `regex` crate cannot run may well be a valid ECMA-262 pattern: say so rather
    // than call the schema invalid.
    let message = if regex {
        format!(
            "the pattern{at} cannot be checked: tooltape's validator supports neither \
             look-around nor back-references ({why})"
        )
    } else {
        format!("the schema itself is invalid{at}: {why}")
    };
    Misfit {
        instance_path: String::new(),
        schema_path,
        message,
        named: None,
        uncheckable: true,
    }
}

/// The JSON Pointer in a `…#/a/b` URL (percent-decoding left out: `boon` keeps property names
/// as written in the pointer it builds).
fn fragment(url: &str) -> String {
    url.split_once('#')
        .map_or_else(String::new, |(_, f)| f.to_string())
}

/// The first leaf of the error tree, in the schema's order. It stops at `anyOf`, `oneOf` and
/// `not`: there the misfit is the keyword itself (no one branch is to blame), as `jsonschema`
/// reported it before; `allOf`, `$ref` and groups are looked through.
fn first_cause<'a, 's, 'v>(e: &'a ValidationError<'s, 'v>) -> &'a ValidationError<'s, 'v> {
    match e.kind {
        ErrorKind::AnyOf | ErrorKind::OneOf(_) | ErrorKind::Not => e,
        _ => e.causes.first().map_or(e, first_cause),
    }
}

/// The keyword location (through `$ref`s) of `leaf` within `root`'s tree, as boon's "basic"
/// output spells it; the leaf is found there by identity.
fn keyword_location(root: &ValidationError, leaf: &ValidationError) -> String {
    let output = root.basic_output();
    let location = match &output.error {
        OutputError::Branch(units) => units
            .iter()
            .find(|u| matches!(u.error, OutputError::Leaf(k) if std::ptr::eq(k, &leaf.kind)))
            .map_or_else(String::new, |u| u.keyword_location.clone()),
        OutputError::Leaf(_) => output.keyword_location.clone(),
    };
    // boon 0.6 spells this one keyword in the singular in its locations.
    match (&leaf.kind, location.strip_suffix("/additionalProperty")) {
        (ErrorKind::AdditionalProperties { .. }, Some(parent)) => {
            format!("{parent}/additionalProperties")
        }
        _ => location,
    }
}

/// The property a keyword about the object's own members names.
fn named(kind: &ErrorKind) -> Option<String> {
    match kind {
        ErrorKind::Required { want } => want.first().map(|s| (*s).to_string()),
        ErrorKind::DependentRequired { missing, .. } | ErrorKind::Dependency { missing, .. } => {
            missing.first().map(|s| (*s).to_string())
        }
        ErrorKind::AdditionalProperties { got } => got.first().map(|s| s.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn weather() -> Value {
        json!({"type": "object", "additionalProperties": false,
            "$defs": {"unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "properties": {
                "city": {"type": "string", "minLength": 2},
                "unit": {"$ref": "#/$defs/unit"},
                "days": {"type": "integer", "minimum": 1},
                "when": {"type": "string", "format": "date"},
                "target": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "required": ["city"]})
    }

    #[test]
    fn a_fitting_value_has_no_misfit() {
        let v = json!({"city": "Oslo", "unit": "celsius", "days": 3, "target": 7});
        assert_eq!(first_misfit(&weather(), &v), None);
    }

    #[test]
    fn a_misfit_names_the_property_and_both_paths() {
        let m = first_misfit(&weather(), &json!({"city": "Oslo", "unit": "kelvin"})).unwrap();
        assert_eq!(m.property().as_deref(), Some("unit"));
        assert_eq!(m.instance_path, "/unit");
        assert_eq!(m.schema_path, "/properties/unit/$ref/enum");
        assert!(m.message.contains("celsius"), "{m:?}");

        let m = first_misfit(&weather(), &json!({"city": "Oslo", "days": 0})).unwrap();
        assert_eq!(
            (m.at(), m.schema_path.as_str()),
            ("/days", "/properties/days/minimum")
        );
    }

    /// Keywords about the object's own members name the member, though the misfit is at `/`.
    #[test]
    fn required_and_extra_members_are_named() {
        let m = first_misfit(&weather(), &json!({"unit": "celsius"})).unwrap();
        assert_eq!((m.at(), m.property().as_deref()), ("/", Some("city")));
        assert_eq!(m.schema_path, "/required");
        let m = first_misfit(&weather(), &json!({"city": "Oslo", "zone": 1})).unwrap();
        assert_eq!(m.property().as_deref(), Some("zone"));
        assert_eq!(m.schema_path, "/additionalProperties");
        let m = first_misfit(&json!({"type": "object"}), &json!("Oslo")).unwrap();
        assert_eq!(m.property(), None, "{m:?}");
    }

    /// No one branch of an `anyOf` is to blame: the misfit is the `anyOf` itself.
    #[test]
    fn an_any_of_misfit_is_the_keyword() {
        let m = first_misfit(&weather(), &json!({"city": "Oslo", "target": true})).unwrap();
        assert_eq!(m.schema_path, "/properties/target/anyOf");
        assert_eq!(m.property().as_deref(), Some("target"));
    }

    /// `format` asserts up to draft 7 and is an annotation from 2019-09 on (the default draft is
    /// 2020-12), as the JSON Schema specification has it.
    #[test]
    fn format_asserts_only_in_the_drafts_that_say_so() {
        let v = json!({"city": "Oslo", "when": "soon"});
        assert_eq!(first_misfit(&weather(), &v), None);
        let mut draft7 = weather();
        draft7["$schema"] = json!("http://json-schema.org/draft-07/schema#");
        draft7["definitions"] = draft7["$defs"].take();
        draft7["properties"]["unit"]["$ref"] = json!("#/definitions/unit");
        let m = first_misfit(&draft7, &v).unwrap();
        assert_eq!(
            (m.at(), m.schema_path.as_str()),
            ("/when", "/properties/when/format")
        );
    }

    /// A schema that cannot be compiled is a misfit, never a fit; a `$ref` out of the schema is
    /// not followed (no file or URL is read).
    #[test]
    fn an_uncheckable_schema_is_a_misfit() {
        let look_ahead = json!({"type": "string", "pattern": "^(?=.*[0-9]).{8,}$"});
        let m = first_misfit(&look_ahead, &json!("password1")).unwrap();
        assert!(m.message.contains("cannot be checked"), "{m:?}");
        assert!(m.uncheckable);
        assert_eq!(m.schema_path, "/pattern");

        let outside = json!({"$ref": "file:///etc/hostname"});
        let m = first_misfit(&outside, &json!("x")).unwrap();
        assert!(m.message.contains("outside the schema"), "{m:?}");

        let broken = json!({"type": "object", "properties": {"n": {"type": "integr"}}});
        let m = first_misfit(&broken, &json!({"n": 1})).unwrap();
        assert!(
            m.message.starts_with("the schema itself is invalid"),
            "{m:?}"
        );
        assert!(m.schema_path.starts_with("/properties/n"), "{m:?}");
    }

    /// ECMA-262 classes, as the APIs' schemas (written for JavaScript validators) mean them.
    #[test]
    fn patterns_are_ecma_262() {
        let digits = json!({"type": "string", "pattern": "^\\d+$"});
        assert_eq!(first_misfit(&digits, &json!("123")), None);
        assert!(
            first_misfit(&digits, &json!("١٢٣")).is_some(),
            "\\d is ASCII in ECMA-262"
        );
    }
}
