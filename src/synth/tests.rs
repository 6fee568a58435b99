use proptest::prelude::*;
use serde_json::{Value, json};

use super::args::generate;
use super::*;
use crate::provider::{self, Provider};
use crate::transcript::Tool;

/// Schemas of every shape the APIs accept: nested objects, arrays, enums, anyOf, optional
/// fields, strict mode (every property required, no extra ones), formats, bounds, `$ref`s.
fn shapes() -> Vec<(&'static str, Value)> {
    vec![
        ("empty", json!({"type": "object", "properties": {}})),
        (
            "weather",
            json!({"type": "object", "properties": {
                "location": {"type": "string", "description": "City"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                "required": ["location"]}),
        ),
        (
            "strict",
            json!({"type": "object", "additionalProperties": false,
                "properties": {
                    "query": {"type": "string", "minLength": 3, "maxLength": 12},
                    "limit": {"type": ["integer", "null"], "minimum": 1, "maximum": 5},
                    "filters": {"type": "object", "additionalProperties": false,
                        "properties": {"tag": {"type": "string"}, "since": {"type": "string", "format": "date"}},
                        "required": ["tag", "since"]}},
                "required": ["query", "limit", "filters"]}),
        ),
        (
            "arrays",
            json!({"type": "object", "properties": {
                "ids": {"type": "array", "items": {"type": "integer", "exclusiveMinimum": 0, "multipleOf": 3}, "minItems": 2, "maxItems": 4, "uniqueItems": true},
                "points": {"type": "array", "items": {"type": "object", "properties": {
                    "x": {"type": "number", "minimum": -1.5, "maximum": 1.5},
                    "y": {"type": "number"}}, "required": ["x", "y"]}},
                "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "boolean"}], "minItems": 2}},
                "required": ["ids", "points", "pair"]}),
        ),
        (
            "any_of",
            json!({"type": "object", "properties": {
                "target": {"anyOf": [
                    {"type": "object", "properties": {"email": {"type": "string", "format": "email"}}, "required": ["email"]},
                    {"type": "object", "properties": {"phone": {"type": "string", "minLength": 7}}, "required": ["phone"]}]},
                "when": {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
                "kind": {"const": "urgent"}},
                "required": ["target", "when", "kind"]}),
        ),
        (
            "refs",
            json!({"type": "object", "$defs": {
                "node": {"type": "object", "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                    "required": ["name"]}},
                "properties": {"root": {"$ref": "#/$defs/node"}, "id": {"type": "string", "format": "uuid"}},
                "required": ["root", "id"]}),
        ),
        (
            "all_of",
            json!({"allOf": [
                {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                {"properties": {"b": {"type": "string", "format": "uri"}}, "required": ["b"]}]}),
        ),
        (
            "gemini_openapi",
            // What provider/gemini converts an OpenAPI `parameters` into.
            json!({"type": "object", "properties": {
                "unit": {"type": ["string", "null"], "enum": ["c", "f", null]},
                "days": {"type": "integer", "minimum": 1, "maximum": 10},
                "tags": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"type": "string"}}},
                "required": ["unit", "days", "tags"]}),
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Over many seeds, the arguments fit every schema (checked again by the validator, `boon`, via
    /// `fit`, independently of the generator's walk).
    #[test]
    fn generated_arguments_fit_every_shape(seed in any::<u64>()) {
        for (name, schema) in shapes() {
            let v = generate(&schema, seed).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
            let misfit = crate::fit::first_misfit(&schema, &v);
            prop_assert!(misfit.is_none(), "{name}: {v} does not fit: {misfit:?}");
            prop_assert_eq!(&generate(&schema, seed).unwrap(), &v, "{} is not deterministic", name);
        }
    }
}

#[test]
fn different_seeds_give_different_arguments() {
    for (name, schema) in shapes() {
        if name == "empty" {
            continue;
        }
        let values: std::collections::BTreeSet<String> = (0..8)
            .map(|s| generate(&schema, s).unwrap().to_string())
            .collect();
        assert!(
            values.len() >= 6,
            "{name}: only {} distinct of 8: {values:?}",
            values.len()
        );
    }
}

#[test]
fn unsatisfiable_schemas_name_the_path() {
    let cases = [
        (
            json!({"type": "object", "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 2}}, "required": ["n"]}),
            "/properties/n",
        ),
        (
            json!({"type": "object", "properties": {"s": {"type": "string", "minLength": 4, "maxLength": 2}}, "required": ["s"]}),
            "/properties/s/maxLength",
        ),
        (
            json!({"type": "object", "properties": {"e": {"enum": []}}, "required": ["e"]}),
            "/properties/e/enum",
        ),
        (
            json!({"type": "object", "$defs": {"loop": {"type": "object", "properties": {"next": {"$ref": "#/$defs/loop"}}, "required": ["next"]}},
                "properties": {"l": {"$ref": "#/$defs/loop"}}, "required": ["l"]}),
            "/properties/l/$ref/properties/next",
        ),
        (
            json!({"type": "object", "properties": {}, "required": ["x"], "additionalProperties": false}),
            "/required",
        ),
        (
            json!({"type": "object", "properties": {"r": {"$ref": "https://example.com/s.json"}}, "required": ["r"]}),
            "/properties/r",
        ),
        (
            json!({"type": "object", "properties": {"p": {"type": "string", "pattern": "^[0-9]{3}$"}}, "required": ["p"]}),
            "/properties/p/pattern",
        ),
        (
            json!({"allOf": [{"type": "string"}, {"type": "integer"}]}),
            "/allOf/1/type",
        ),
    ];
    for (schema, path) in cases {
        let e = generate(&schema, 1).unwrap_err();
        assert_eq!(e.path, path, "{schema}: {e}");
    }
}

#[test]
fn a_pattern_with_an_example_uses_it() {
    let schema = json!({"type": "object", "properties": {"zip": {"type": "string", "pattern": "^[0-9]{5}$", "examples": ["12345"]}}, "required": ["zip"]});
    assert_eq!(generate(&schema, 3).unwrap(), json!({"zip": "12345"}));
}

fn tools() -> Vec<Tool> {
    shapes()
        .into_iter()
        .filter(|(n, _)| ["weather", "strict", "any_of"].contains(n))
        .map(|(n, s)| Tool {
            name: format!("get_{n}"),
            input_schema: Some(s.into()),
            strict: false,
            annotations: None,
        })
        .collect()
}

/// Every API: the synthesized cassette parses, its replies call the agent's tools with
/// arguments that fit, in the API's id style, every id distinct, and streams round-trip.
#[test]
fn conversations_in_every_api_format() {
    for provider in Provider::ALL {
        let fmt = provider::format(provider);
        let first = fmt.request_offering("m-1", "hi", &tools());
        let spec = SynthSpec::default();
        let cases = synthesize(provider, &first, &spec).unwrap();
        assert_eq!(cases.len(), 3);
        let dir = tempfile::tempdir().unwrap();
        for case in &cases {
            let (scenario, _) = save(case, dir.path(), 7).unwrap();
            let c = &scenario.cassette;
            assert_eq!(
                c.replies.len(),
                3,
                "{provider}: 2 rounds then a final answer"
            );
            let mut ids = std::collections::BTreeSet::new();
            for reply in &c.replies[..2] {
                assert_eq!(reply.calls().len(), 3);
                for call in reply.calls() {
                    let t = tools().into_iter().find(|t| t.name == call.name).unwrap();
                    args::check(t.input_schema.as_ref().unwrap(), &call.input).unwrap();
                    let styled = fmt.call_id("x");
                    assert_eq!(call.id.len(), styled.len(), "{provider}: {}", call.id);
                    assert_eq!(call.id[..5], styled[..5], "{provider}: {}", call.id);
                    assert!(
                        ids.insert(call.id.clone()),
                        "{provider}: repeated id {}",
                        call.id
                    );
                }
            }
            assert!(!c.replies[2].wants_tools());
            for body in &c.reply_bodies {
                let events = fmt.stream_from_reply(body).unwrap();
                let back = fmt.reply_from_stream(&events).unwrap();
                assert_eq!(
                    fmt.parse_reply(&back).unwrap(),
                    fmt.parse_reply(body).unwrap(),
                    "{provider}"
                );
            }
        }
    }
}

#[test]
fn bad_first_requests_are_harness_errors() {
    let fmt = provider::format(Provider::ALL[0]);
    let no_tools = fmt.request_offering("m", "hi", &[]);
    let e = synthesize(Provider::ALL[0], &no_tools, &SynthSpec::default()).unwrap_err();
    assert!(matches!(e, SynthError::NoTools { .. }), "{e}");
    assert!(e.to_string().contains("offers no tool"), "{e}");

    let bad = fmt.request_offering(
        "m",
        "hi",
        &[Tool {
            name: "book".into(),
            input_schema: Some(json!({"type": "object", "properties": {"n": {"type": "integer", "minimum": 3, "maximum": 1}}, "required": ["n"]}).into()),
            strict: false,
            annotations: None,
        }],
    );
    let e = synthesize(Provider::ALL[0], &bad, &SynthSpec::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "tool \"book\": cannot make arguments for its input schema at `/properties/n`: no integer lies between the lower bound 3 and the upper bound 1"
    );

    let e = synthesize(
        Provider::ALL[0],
        &json!({"messages": 3}),
        &SynthSpec::default(),
    )
    .unwrap_err();
    assert!(matches!(e, SynthError::Request(_)), "{e}");

    let spec = SynthSpec {
        variants: vec![Variant::SideEffectTwice],
        ..SynthSpec::default()
    };
    let e = synthesize(
        Provider::ALL[0],
        &fmt.request_offering("m", "hi", &tools()),
        &spec,
    )
    .unwrap_err();
    assert!(matches!(e, SynthError::NoSideEffectingTool { .. }), "{e}");
}

/// The self-test of bundled scenarios, on synthesized ones: in every API, the reference
/// handler passes every variant, and each `breaks-<rule>` handler is caught with exactly its
/// rule where the variant exercises it and with nothing where it does not.
#[test]
fn builtin_handlers_on_synthesized_scenarios() {
    use crate::handler::{Handler, builtin};
    let mut problems = Vec::new();
    let mut caught = std::collections::BTreeSet::new();
    for provider in Provider::ALL {
        let fmt = provider::format(provider);
        let mut offered = tools();
        offered.push(Tool {
            name: "send_email".into(),
            input_schema: Some(json!({"type": "object", "properties": {"to": {"type": "string", "format": "email"}}, "required": ["to"]}).into()),
            strict: false,
            annotations: Some(json!({"destructiveHint": true})),
        });
        let first = fmt.request_offering("m-1", "hi", &offered);
        let spec = SynthSpec {
            variants: vec![
                Variant::Parallel,
                Variant::FailOne,
                Variant::HangOne,
                Variant::Identical,
            ],
            tools: vec![
                "get_weather".into(),
                "get_strict".into(),
                "get_any_of".into(),
            ],
            ..SynthSpec::default()
        };
        let mut cases = synthesize(provider, &first, &spec).unwrap();
        // The side-effect variant calls the writing tool, which the spec's list leaves out:
        // make it from a spec that names it by pattern.
        let se = SynthSpec {
            variants: vec![Variant::SideEffectTwice],
            side_effects: vec!["send_*".into()],
            ..SynthSpec::default()
        };
        cases.extend(synthesize(provider, &first, &se).unwrap());
        let dir = tempfile::tempdir().unwrap();
        for case in &cases {
            let (scenario, _) = save(case, dir.path(), 42).unwrap();
            let scenario = std::sync::Arc::new(scenario);
            let exercised = &scenario.file.exercises;
            for handler in builtin::all() {
                let expected: std::collections::BTreeSet<_> = match handler.breaks() {
                    Some(rule) if exercised.contains(&rule) => [rule].into(),
                    _ => Default::default(),
                };
                let report = crate::handler::run_scenario(scenario.clone(), &handler, 42);
                let got = report.rules_broken();
                let errors: Vec<_> = report.runs.iter().filter_map(|r| r.error.clone()).collect();
                if got != expected || !errors.is_empty() {
                    problems.push(format!(
                        "{provider} {}: {}: expected {expected:?}, got {got:?} {errors:?}",
                        case.variant.as_str(),
                        handler.name()
                    ));
                }
                caught.extend(got);
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The variants together exercise the rules that matter for parallel calls.
    for rule in [
        "missing-result",
        "mismatched-result",
        "sequential-execution",
        "timeout-not-enforced",
    ] {
        assert!(
            caught.iter().any(|r| r.as_str() == rule),
            "{rule} never caught: {caught:?}"
        );
    }
}

#[test]
fn side_effecting_by_name_pattern_or_annotation() {
    let spec = SynthSpec {
        side_effects: vec!["delete_*".into()],
        ..SynthSpec::default()
    };
    let tool = |name: &str, annotations: Option<Value>| Tool {
        name: name.into(),
        input_schema: None,
        strict: false,
        annotations,
    };
    let marked = |t: &Tool| conversation::side_effecting(&spec, t);
    assert!(marked(&tool("delete_file", None)));
    assert!(!marked(&tool("read_file", None)));
    assert!(marked(&tool(
        "write",
        Some(json!({"destructiveHint": true}))
    )));
    assert!(marked(&tool("write", Some(json!({"readOnlyHint": false})))));
    assert!(!marked(&tool("read", Some(json!({"readOnlyHint": true})))));
}

/// Item 4: a recorded call whose input does not fit the handler's own schema for that tool is
/// named in a drift note, with the property; a fitting schema gives no such note.
#[test]
fn drift_notes_name_the_property_a_recorded_call_misfits() {
    use std::sync::Arc;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/anthropic-three_parallel.json");
    let scenario = Arc::new(crate::scenario::load(&path).unwrap());
    let notes_for = |unit: Value| {
        let handler = crate::handler::from_fn("schema-drift", move |env| {
            let unit = unit.clone();
            async move {
                let mut request = env.initial_request();
                request["tools"][0]["input_schema"]["properties"]["unit"] = unit;
                let _ = env.model(request).await;
                Ok(())
            }
        });
        let report = crate::handler::run_scenario(scenario.clone(), &handler, 42);
        report.runs[0].notes.clone()
    };
    let misfit: Vec<String> = notes_for(json!({"type": "string", "enum": ["kelvin"]}))
        .into_iter()
        .filter(|n| n.contains("input schema"))
        .collect();
    assert!(!misfit.is_empty(), "no schema drift note");
    assert!(
        misfit[0].contains("to get_weather") && misfit[0].contains("(property `unit`)"),
        "{misfit:?}"
    );
    let fitting = notes_for(json!({"type": "string", "enum": ["celsius", "fahrenheit"]}));
    assert!(
        !fitting.iter().any(|n| n.contains("input schema")),
        "{fitting:?}"
    );
    // A pattern the validator cannot run (look-ahead) is not a misfit of the call: the note
    // says the call could not be checked, never that it does not fit.
    let unchecked = notes_for(json!({"type": "string", "pattern": "^(?=c)"}));
    let unchecked: Vec<&String> = unchecked
        .iter()
        .filter(|n| n.contains("input schema"))
        .collect();
    assert!(
        !unchecked.is_empty()
            && unchecked.iter().all(|n| n.contains("could not be checked")
                && n.contains("the pattern at /properties/unit/pattern cannot be checked")
                && !n.contains("does not fit")
                && !n.contains("invalid")),
        "{unchecked:?}"
    );
}

/// A request that turns parallel calls off gets one call per turn, as from a real model; Gemini
/// has no such switch and keeps its parallel calls.
#[test]
fn parallel_disabled_requests_get_one_call_per_turn() {
    for provider in Provider::ALL {
        let fmt = provider::format(provider);
        let mut first = fmt.request_offering("m-1", "hi", &tools());
        fmt.set_parallel_disabled(&mut first, true);
        let spec = SynthSpec {
            variants: vec![Variant::Parallel],
            ..SynthSpec::default()
        };
        let case = synthesize(provider, &first, &spec).unwrap().remove(0);
        let calls = fmt
            .parse_reply(match &case.cassette.exchanges[0].reply {
                crate::cassette::RecordedReply::Body(b) => b,
                crate::cassette::RecordedReply::Stream(_) => unreachable!(),
            })
            .unwrap()
            .calls()
            .len();
        let expected = if fmt.has_parallel_switch() { 1 } else { 3 };
        assert_eq!(calls, expected, "{provider}");
    }
}
