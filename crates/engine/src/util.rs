//! Small helpers shared by several modules.

/// `s` cut to at most `max` characters, with an ellipsis when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// A unified diff of two texts, or `None` when they are equal.
pub fn diff(
    expected_label: &str,
    actual_label: &str,
    expected: &str,
    actual: &str,
) -> Option<String> {
    if expected == actual {
        return None;
    }
    // diffy, not similar: similar's diff is generic, and its instances (five algorithms, each
    // per hook type) were a sixth of this crate's generated code in a release build; diffy's
    // `create_patch` is monomorphic, so it is compiled once, in its own crate.
    let patch = diffy::DiffOptions::new()
        .set_context_len(3)
        .set_original_filename(expected_label.to_owned())
        .set_modified_filename(actual_label.to_owned())
        .create_patch(expected, actual);
    Some(patch.to_string())
}

/// The text of a panic's payload (`panic!("...")` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panic: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panic: {s}")
    } else {
        "panic (no message)".into()
    }
}

/// `d` times `scale`, saturating at about 136 years instead of panicking
/// (`Duration::mul_f64` panics on overflow, and an `Instant` plus `Duration::MAX` would too).
pub fn scaled(d: std::time::Duration, scale: f64) -> std::time::Duration {
    let most = std::time::Duration::from_secs(u64::from(u32::MAX));
    std::time::Duration::try_from_secs_f64(d.as_secs_f64() * scale).map_or(
        if scale > 0.0 {
            most
        } else {
            std::time::Duration::ZERO
        },
        |x| x.min(most),
    )
}

/// `a == b` for JSON values, made cheaper for objects whose members come in the same order
/// (the usual case: a handler echoes what it was given). serde_json's own comparison looks
/// every member up by its key, hashing it, which was a tenth of an in-process run; here
/// members are compared pairwise while their keys line up, and looked up by key only when
/// the order differs. The result is always exactly `a == b`.
pub fn json_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    structurally(a, b, &|a, b| a == b)
}

/// Whether two JSON values are the same, members in the same order: what a copy of `a` would
/// be. (`==` and [`json_eq`] ignore member order, which a schema's printed form and the order
/// of a validator's findings do not.)
///
/// The replay checks every run's requests with it (the first and each follow-up: a twelfth of
/// a 3-call run), so leaves are compared here, variant by variant, rather than through
/// `Value`'s `==` (a call per leaf that matches the variants again).
pub fn json_identical(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_identical(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k, v), (l, w))| k == l && json_identical(v, w))
        }
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Null, Value::Null) => true,
        _ => false,
    }
}

/// Whether two JSON values say the same thing: numbers by value (`56` and `56.0` are one
/// number, as every JSON reader but an exact comparison of serde_json's representation takes
/// them; frameworks that validate arguments through a typed model re-serialise integers as
/// floats), everything else structurally. Object member order never matters.
pub fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    structurally(a, b, &|a, b| match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y
                || match (x.as_i128(), y.as_i128()) {
                    (Some(i), Some(j)) => i == j,
                    _ => x.as_f64().zip(y.as_f64()).is_some_and(|(f, g)| f == g),
                }
        }
        _ => a == b,
    })
}

/// Arrays element by element and objects member by member (pairwise while the keys line up,
/// by key otherwise), with `leaf` comparing everything else.
fn structurally<F>(a: &serde_json::Value, b: &serde_json::Value, leaf: &F) -> bool
where
    F: Fn(&serde_json::Value, &serde_json::Value) -> bool,
{
    use serde_json::Value;
    let same = |p, q| structurally(p, q, leaf);
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && if x.keys().zip(y.keys()).all(|(k, l)| k == l) {
                    x.values().zip(y.values()).all(|(v, w)| same(v, w))
                } else {
                    x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
                }
        }
        _ => leaf(a, b),
    }
}

/// Checks a generated doc, `file` under the package, against `generated`, or rewrites the file
/// when `TOOLTAPE_UPDATE_DOCS` is set. Every generated doc is checked by a unit test named
/// `the_published_*`, so `TOOLTAPE_UPDATE_DOCS=1 cargo test --lib published` rewrites them all.
/// Test support only: public with the `schema` feature (which the `tooltape` crate's
/// dev-dependency turns on) for that crate's unit tests, which cannot see this one's `cfg(test)`.
#[cfg(any(test, feature = "schema"))]
pub fn check_published(file: &str, generated: &str) {
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(file);
    if std::env::var_os("TOOLTAPE_UPDATE_DOCS").is_some() {
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{file} is out of date; run `TOOLTAPE_UPDATE_DOCS=1 cargo test --lib published` and commit it"
    );
}

/// [`check_published`] for a JSON Schema file, against the schema `T` derives (schemars is a
/// dev-dependency: the `schema` command prints the checked-in files). Public, with the `schema`
/// feature, for the `tooltape` crate's unit tests (synthesis specs).
#[cfg(any(test, feature = "schema"))]
pub fn check_derived_schema<T: schemars::JsonSchema>(file: &str) {
    let schema = schemars::schema_for!(T);
    let generated = serde_json::to_string_pretty(&schema).expect("a schema always serializes");
    check_published(file, &(generated + "\n"));
}

#[cfg(test)]
mod tests {
    /// `json_eq` is `==`, whatever the member order.
    #[test]
    fn json_eq_is_equality() {
        use serde_json::json;
        let cases = [
            json!({"a": 1, "b": [1, {"c": null}]}),
            json!({"b": [1, {"c": null}], "a": 1}),
            json!({"a": 1, "b": [1, {"c": false}]}),
            json!({"a": 1.0, "b": [1, {"c": null}]}),
            json!({"a": 1, "c": [1, {"c": null}]}),
            json!({"a": 1}),
            json!([{"a": 1, "b": 2}, "x"]),
            json!([{"b": 2, "a": 1}, "x"]),
            json!([{"b": 2, "a": 1}]),
            json!("x"),
            json!(56),
            json!(56.0),
            json!(null),
        ];
        for a in &cases {
            for b in &cases {
                assert_eq!(super::json_eq(a, b), a == b, "{a} vs {b}");
            }
        }
    }

    /// `json_identical` as it was (leaves through `Value`'s `==`), the oracle of the one
    /// that compares leaves in place.
    fn identical_by_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
        use serde_json::Value;
        match (a, b) {
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| identical_by_eq(p, q))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .zip(y)
                        .all(|((k, v), (l, w))| k == l && identical_by_eq(v, w))
            }
            _ => a == b,
        }
    }

    #[test]
    fn json_identical_compares_leaves_as_eq_does() {
        use serde_json::json;
        let cases = [
            json!({"a": 1, "b": [1, {"c": null}]}),
            json!({"b": [1, {"c": null}], "a": 1}),
            json!({"a": 1, "b": [1, {"c": false}]}),
            json!({"a": 1.0, "b": [1, {"c": null}]}),
            json!({"a": -1, "b": [1, {"c": true}]}),
            json!({"a": "1", "b": [1, {"c": null}]}),
            json!({"a": 1}),
            json!([{"a": 1, "b": 2}, "x"]),
            json!([{"b": 2, "a": 1}, "x"]),
            json!([{"a": 1, "b": 2}, "y"]),
            json!([]),
            json!({}),
            json!("x"),
            json!(""),
            json!(56),
            json!(56.0),
            json!(-0.0),
            json!(0.0),
            json!(0),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(true),
            json!(false),
            json!(null),
        ];
        for a in &cases {
            for b in &cases {
                assert_eq!(
                    super::json_identical(a, b),
                    identical_by_eq(a, b),
                    "{a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn same_json_takes_numbers_by_value_and_ignores_member_order() {
        use serde_json::json;
        assert!(super::same_json(
            &json!({"n": 56, "m": [1, {"x": 2}]}),
            &json!({"m": [1.0, {"x": 2.0}], "n": 56.0})
        ));
        assert!(super::same_json(&json!(u64::MAX), &json!(u64::MAX)));
        assert!(!super::same_json(&json!(u64::MAX), &json!(u64::MAX - 1)));
        assert!(!super::same_json(&json!({"n": 56}), &json!({"n": 56.5})));
        assert!(!super::same_json(&json!({"n": 56}), &json!({"n": "56"})));
        assert!(!super::same_json(
            &json!({"n": 56}),
            &json!({"n": 56, "extra": true})
        ));
        assert!(!super::same_json(&json!([1, 2]), &json!([2, 1])));
    }

    use super::*;

    #[test]
    fn clip_cuts_on_characters() {
        assert_eq!(clip("héllo", 10), "héllo");
        assert_eq!(clip("héllo wörld", 5), "héll…");
    }

    #[test]
    fn diff_is_none_for_equal_texts_and_marks_changes() {
        assert_eq!(diff("a", "b", "x\n", "x\n"), None);
        let d = diff("expected", "actual", "x\ny\n", "x\nz\n").unwrap();
        assert!(d.contains("-y") && d.contains("+z"), "{d}");
        assert!(
            d.contains("--- expected") && d.contains("+++ actual"),
            "{d}"
        );
    }
}
