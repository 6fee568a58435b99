//! Helpers shared by the three provider formats: error paths, typed field access that reports
//! "expected …, found …", result-content flattening, argument parsing, the OpenAI switches and
//! error body, and the splitting of strings into stream fragments.
//!
//! Paths follow [`FormatError`]: dotted keys and `[i]` indices relative to the document root,
//! the empty string for the root itself, `[3]` for the fourth event of a stream.

use serde_json::{Map, Value, json};

use super::{FormatError, SseEvent};
use crate::transcript::Tool;

/// A JSON object.
pub(super) type Obj = Map<String, Value>;

/// The path of `key` inside the value at `path`.
pub(super) fn at_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The path of element `i` of the array at `path`.
pub(super) fn at_index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// A short description of a value for error messages, so that a message says what was found.
pub(super) fn describe(found: Option<&Value>) -> String {
    match found {
        None => "nothing (the field is missing)".to_string(),
        Some(Value::Null) => "null".to_string(),
        Some(Value::Bool(b)) => format!("the boolean {b}"),
        Some(Value::Number(n)) => format!("the number {n}"),
        Some(Value::String(s)) => format!("the string {:?}", shorten(s)),
        Some(Value::Array(a)) if a.is_empty() => "an empty array".to_string(),
        Some(Value::Array(a)) => format!("an array of {} item(s)", a.len()),
        Some(Value::Object(o)) => match o.get("type").and_then(Value::as_str) {
            Some(t) => format!("an object of type {t:?}"),
            None => "an object".to_string(),
        },
    }
}

/// The first 60 characters of `s`, marked when cut, so that messages stay one line long.
pub(super) fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

/// The error "expected `expected`, found <what `found` is>" at `path`.
pub(super) fn mismatch(
    path: impl Into<String>,
    expected: &str,
    found: Option<&Value>,
) -> FormatError {
    FormatError::new(
        path,
        format!("expected {expected}, found {}", describe(found)),
    )
}

/// `obj[key]`. A wire object has a handful of members: comparing the keys one by one is cheaper
/// than hashing `key` as the map's own look-up does (the look-ups of parsing every request and
/// reply were a tenth of an in-process run). Larger objects are looked up by hash.
pub(super) fn field<'a>(obj: &'a Obj, key: &str) -> Option<&'a Value> {
    if obj.len() <= 8 {
        obj.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
    } else {
        obj.get(key)
    }
}

/// `value` as an object; `what` names the expected thing ("a message object").
pub(super) fn object<'a>(value: &'a Value, path: &str, what: &str) -> Result<&'a Obj, FormatError> {
    value
        .as_object()
        .ok_or_else(|| mismatch(path, what, Some(value)))
}

/// A required field of any type.
pub(super) fn required<'a>(
    obj: &'a Obj,
    key: &str,
    path: &str,
    what: &str,
) -> Result<&'a Value, FormatError> {
    field(obj, key).ok_or_else(|| mismatch(at_key(path, key), what, None))
}

/// A required string field of the object at `path`.
pub(super) fn str_field<'a>(obj: &'a Obj, key: &str, path: &str) -> Result<&'a str, FormatError> {
    match field(obj, key) {
        Some(Value::String(s)) => Ok(s),
        other => Err(mismatch(at_key(path, key), "a string", other)),
    }
}

/// An optional string field: missing or null is `None`, another type is an error.
pub(super) fn opt_str_field<'a>(
    obj: &'a Obj,
    key: &str,
    path: &str,
) -> Result<Option<&'a str>, FormatError> {
    match field(obj, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        other => Err(mismatch(at_key(path, key), "a string", other)),
    }
}

/// A required array field.
pub(super) fn array_field<'a>(
    obj: &'a Obj,
    key: &str,
    path: &str,
) -> Result<&'a [Value], FormatError> {
    match field(obj, key) {
        Some(Value::Array(a)) => Ok(a),
        other => Err(mismatch(at_key(path, key), "an array", other)),
    }
}

/// An optional array field: missing or null is `None`, another type is an error.
pub(super) fn opt_array_field<'a>(
    obj: &'a Obj,
    key: &str,
    path: &str,
) -> Result<Option<&'a [Value]>, FormatError> {
    match field(obj, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        other => Err(mismatch(at_key(path, key), "an array", other)),
    }
}

/// A JSON object of `members`, in their order. For follow-ups built per run: `json!` copies
/// every value it interpolates through serde's serializer, which cost more than the copy
/// itself (about a tenth of an in-process run went to it).
pub(super) fn object_of<const N: usize>(members: [(&str, Value); N]) -> Value {
    Value::Object(
        members
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// An object of `keys`, each null: a template for [`filled`], made once.
pub(super) fn template<const N: usize>(keys: [&str; N]) -> Obj {
    keys.into_iter()
        .map(|k| (k.to_string(), Value::Null))
        .collect()
}

/// A copy of `template` with its values, in order: [`object_of`] without hashing the keys.
/// serde_json's maps keep their order with a hash table: building one hashes every key
/// (SipHash), copying one copies the table; for the objects built per run (result blocks,
/// history entries) the copy is the cheaper.
pub(super) fn filled<const N: usize>(template: &Obj, values: [Value; N]) -> Value {
    debug_assert_eq!(template.len(), N, "a template and its values");
    let mut obj = template.clone();
    for (slot, v) in obj.values_mut().zip(values) {
        *slot = v;
    }
    Value::Object(obj)
}

/// Whether `obj[key]` is exactly `true` (request switches such as `stream`).
pub(super) fn is_true(obj: &Obj, key: &str) -> bool {
    field(obj, key).and_then(Value::as_bool) == Some(true)
}

/// The optional `model` field of a request.
pub(super) fn model(root: &Obj) -> Result<Option<String>, FormatError> {
    Ok(opt_str_field(root, "model", "")?.map(str::to_string))
}

/// The text types of content parts across the three APIs (`text` for Anthropic and Chat,
/// `input_text`/`output_text` for Responses).
const TEXT_PART_TYPES: [&str; 3] = ["text", "input_text", "output_text"];

/// The text of a content part, when it is a text part.
pub(super) fn text_of_part(part: &Value) -> Option<&str> {
    let obj = part.as_object()?;
    let ty = field(obj, "type")?.as_str()?;
    if TEXT_PART_TYPES.contains(&ty) {
        field(obj, "text")?.as_str()
    } else {
        None
    }
}

/// A tool result's content as one string: a string as is; an array with its text parts' text
/// and other parts' compact JSON joined by newlines; missing or null as "". The rules compare
/// results as text, so every provider's content forms must land in the same shape.
pub(super) fn flatten_content(content: Option<&Value>, path: &str) -> Result<String, FormatError> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => Ok(parts
            .iter()
            .map(|p| match text_of_part(p) {
                Some(t) => t.to_string(),
                None => p.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")),
        other => Err(mismatch(
            path,
            "a string or an array of content parts",
            other,
        )),
    }
}

/// OpenAI's JSON-string arguments, parsed. Models may emit invalid JSON; such text is kept as a
/// `Value::String` so the rules can still compare it with what the tool received.
pub(super) fn parse_arguments(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

/// Split `s` into at most `max` non-empty pieces at character boundaries, the way streams
/// deliver text and arguments in several fragments. An empty string gives no pieces.
pub(super) fn split_fragments(s: &str, max: usize) -> Vec<String> {
    let chars: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
    let n = chars.len();
    if n == 0 {
        return Vec::new();
    }
    let pieces = match n {
        1 => 1,
        2..=11 => 2.min(max.max(1)),
        _ => max.max(1),
    };
    let mut out = Vec::with_capacity(pieces);
    let mut start = 0;
    for k in 1..=pieces {
        let end = if k == pieces {
            s.len()
        } else {
            chars[k * n / pieces]
        };
        out.push(s[start..end].to_string());
        start = end;
    }
    out
}

/// Set `key` of `value` when it is an object (stream skeletons are built from validated
/// bodies, but indexing assignment would panic on anything else).
pub(super) fn set_field(value: &mut Value, key: &str, new: Value) {
    if let Some(obj) = value.as_object_mut() {
        obj.insert(key.to_string(), new);
    }
}

/// The JSON of stream event `i`.
pub(super) fn event_json(events: &[SseEvent], i: usize) -> Result<Value, FormatError> {
    let data = &events[i].data;
    serde_json::from_str(data).map_err(|e| {
        FormatError::new(
            at_index("", i),
            format!(
                "expected the event data to be JSON, found {:?} ({e})",
                shorten(data)
            ),
        )
    })
}

/// The message of an error object (`{"type": …, "message": …}`) for error texts.
pub(super) fn error_text(error: Option<&Value>) -> String {
    let Some(err) = error else {
        return "no details".to_string();
    };
    // OpenAI objects carry both; `code` is the specific one (and a Responses `error` event's
    // `type` is just "error").
    let kind = err
        .get("code")
        .and_then(Value::as_str)
        .or_else(|| err.get("type").and_then(Value::as_str));
    let message = err.get("message").and_then(Value::as_str);
    match (kind, message) {
        (Some(k), Some(m)) => format!("{k}: {m}"),
        (None, Some(m)) => m.to_string(),
        _ => err.to_string(),
    }
}

/// A request's `messages` or `input` array, created empty when missing.
pub(super) fn history_array<'a>(
    request: &'a mut Value,
    key: &str,
) -> Result<&'a mut Vec<Value>, FormatError> {
    let root = match request {
        Value::Object(root) => root,
        other => return Err(mismatch("", "a request object", Some(other))),
    };
    // Found by scan, not by hash (as `field`); hashed only to insert a missing one.
    if !root.keys().any(|k| k == key) {
        root.insert(key.to_string(), Value::Array(Vec::new()));
    }
    let Some(slot) = root.iter_mut().find(|(k, _)| *k == key).map(|(_, v)| v) else {
        return Err(mismatch(key, "an array", None));
    };
    if slot.is_null() {
        *slot = Value::Array(Vec::new());
    }
    match slot {
        Value::Array(a) => Ok(a),
        other => Err(mismatch(key, "an array", Some(other))),
    }
}

/// OpenAI's switch (both APIs): `parallel_tool_calls: false` when disabled; when enabled the
/// key is removed, which leaves the API default (parallel calls on).
pub(super) fn set_openai_parallel_disabled(request: &mut Value, disabled: bool) {
    if let Some(root) = request.as_object_mut() {
        if disabled {
            root.insert("parallel_tool_calls".into(), Value::Bool(false));
        } else {
            root.remove("parallel_tool_calls");
        }
    }
}

/// Whether an OpenAI request disables parallel calls.
pub(super) fn openai_parallel_disabled(root: &Obj) -> bool {
    root.get("parallel_tool_calls").and_then(Value::as_bool) == Some(false)
}

/// OpenAI's HTTP 400 envelope (both APIs).
pub(super) fn openai_error_body(message: &str) -> Value {
    openai_error_body_status(400, message)
}

/// OpenAI's error envelope for an HTTP status: `server_error` for 5xx, else
/// `invalid_request_error` (as the API answers an unknown URL or a body too large).
pub(super) fn openai_error_body_status(status: u16, message: &str) -> Value {
    json!({
        "error": {
            "message": message,
            "type": if status >= 500 { "server_error" } else { "invalid_request_error" },
            "param": null,
            "code": null
        }
    })
}

/// An id in an API's style: `prefix`, then `seed` cut or padded with `0` to `len` characters.
pub(super) fn styled_id(prefix: &str, seed: &str, len: usize) -> String {
    let mut body: String = seed
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(len)
        .collect();
    while body.len() < len {
        body.push('0');
    }
    format!("{prefix}{body}")
}

/// Whether a request body offers a tool with this key (`input_schema`, `function`, ...).
pub(super) fn offers_tool_with(body: &Value, key: &str) -> bool {
    body.get("tools")
        .and_then(Value::as_array)
        .is_some_and(|tools| tools.iter().any(|t| t.get(key).is_some()))
}

/// The history array of a request body, when it has one under `key`.
pub(super) fn history_items<'a>(body: &'a Value, key: &str) -> &'a [Value] {
    body.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The base URL variables of the OpenAI SDKs (`OPENAI_BASE_URL`) and of the frameworks that
/// read the older name (`OPENAI_API_BASE`: LangChain, LiteLLM, openai-python 0.x), with the
/// version, as both expect.
pub(super) fn openai_base_url_env(base: &str) -> Vec<(&'static str, String)> {
    vec![
        ("OPENAI_BASE_URL", format!("{base}/v1")),
        ("OPENAI_API_BASE", format!("{base}/v1")),
    ]
}

/// Settings of the OpenAI SDKs and frameworks that send a request elsewhere or with another
/// account's headers: the organisation and project (sent as headers the mock does not
/// know), Azure OpenAI's endpoint, key and API type.
pub(super) const OPENAI_ENV_REMOVE: &[&str] = &[
    "OPENAI_ORG_ID",
    "OPENAI_ORGANIZATION",
    "OPENAI_PROJECT_ID",
    "OPENAI_API_TYPE",
    "OPENAI_API_VERSION",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
];

/// A tool entry of a request in the neutral model. `schema` is the entry's input schema when it
/// has one; `function` says whether the entry is a JSON-input function tool, whose missing schema
/// means "no parameters" (an empty object) rather than "no JSON input". The schema of the
/// `known` tool of that name is shared when it is the same JSON, members in the same order
/// ([`super::Format::parse_request_sharing`]); else the schema is copied.
pub(super) fn neutral_tool(
    entry: &Obj,
    name: &str,
    schema: Option<&Value>,
    function: bool,
    known: &[Tool],
) -> Tool {
    let share = |s: &Value| {
        known
            .iter()
            .find(|t| t.name == name)
            .and_then(|t| t.input_schema.as_ref())
            .filter(|k| crate::util::json_identical(k, s))
            .map_or_else(|| std::sync::Arc::new(s.clone()), std::sync::Arc::clone)
    };
    let input_schema = match schema {
        Some(s) if !s.is_null() => Some(share(s)),
        _ if function => Some(share(&json!({"type": "object", "properties": {}}))),
        _ => None,
    };
    Tool {
        name: name.to_string(),
        input_schema,
        strict: false,
        annotations: field(entry, "annotations")
            .filter(|a| a.is_object())
            .cloned(),
    }
}

/// Imports of the OpenAI SDKs and of frameworks built on them (Chat and Responses alike).
pub(super) const OPENAI_SDK_IMPORTS: &[&str] = &[
    "import openai",
    "from openai",
    "from agents import",
    "from 'openai'",
    "from \"openai\"",
    "@ai-sdk/openai",
];

/// [`super::Format::unfamiliar`] for APIs whose parts name their kind in `"type"` and whose
/// messages name theirs in `"role"`: a kept-whole message of a role outside `roles`, or a part
/// of a type outside `types`, described with `noun` ("a content block").
pub(super) fn unfamiliar_typed(
    part: &Value,
    roles: &[&str],
    types: &[&str],
    noun: &str,
) -> Option<String> {
    let obj = part.as_object()?;
    // A message kept whole names its role; its own `type` ("message") says nothing new.
    if let Some(role) = obj.get("role").and_then(Value::as_str) {
        return (!roles.contains(&role)).then(|| format!("a message of role {:?}", shorten(role)));
    }
    let ty = obj.get("type").and_then(Value::as_str)?;
    (!types.contains(&ty)).then(|| format!("{noun} of type {:?}", shorten(ty)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `filled` gives what `object_of` gives: the same members, in the same order.
    #[test]
    fn filled_is_object_of() {
        let t = template(["type", "tool_use_id", "content"]);
        let values = || [json!("tool_result"), json!("toolu_1"), json!([{"a": 1}])];
        let [a, b, c] = values();
        let built = object_of([("type", a), ("tool_use_id", b), ("content", c)]);
        let copied = filled(&t, values());
        assert_eq!(copied, built);
        assert_eq!(copied.to_string(), built.to_string(), "member order");
        assert_eq!(
            t.values().filter(|v| v.is_null()).count(),
            3,
            "template unchanged"
        );
    }

    /// `parse_request_sharing` gives what `parse_request` gives, whatever the known tools: on
    /// every bundled cassette's requests, the schemas shared when the known ones are the same
    /// JSON, copied when they differ (a member more, or the same members in another order).
    #[test]
    fn sharing_schemas_parses_as_copying_them() {
        let mut shared = 0;
        for dir in
            std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../cassettes")).unwrap()
        {
            let dir = dir.unwrap().path();
            if !dir.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&dir).unwrap() {
                let loaded = crate::cassette::load(&file.unwrap().path()).unwrap();
                let fmt = loaded.provider().format();
                for (x, parsed) in loaded.cassette.exchanges.iter().zip(&loaded.requests) {
                    let body = &x.request;
                    let plain = fmt.parse_request(body).unwrap();
                    let same = fmt.parse_request_sharing(body, &parsed.tools).unwrap();
                    assert_eq!(same, plain, "{}", dir.display());
                    for (t, k) in same.tools.iter().zip(&parsed.tools) {
                        if let (Some(a), Some(b)) = (&t.input_schema, &k.input_schema) {
                            assert!(std::sync::Arc::ptr_eq(a, b), "{}", dir.display());
                            shared += 1;
                        }
                    }
                    // Known schemas that differ from the request's are not shared.
                    let other: Vec<Tool> = parsed
                        .tools
                        .iter()
                        .map(|t| Tool {
                            input_schema: t.input_schema.as_ref().map(|s| {
                                let mut s = Value::clone(s);
                                match &mut s {
                                    Value::Object(o) if o.len() > 1 => {
                                        *o = std::mem::take(o).into_iter().rev().collect();
                                    }
                                    Value::Object(o) => {
                                        o.insert("x".into(), Value::Null);
                                    }
                                    _ => {}
                                }
                                std::sync::Arc::new(s)
                            }),
                            ..t.clone()
                        })
                        .collect();
                    let copied = fmt.parse_request_sharing(body, &other).unwrap();
                    assert_eq!(copied, plain, "{}", dir.display());
                    for (t, k) in copied.tools.iter().zip(&other) {
                        if let (Some(a), Some(b)) = (&t.input_schema, &k.input_schema) {
                            assert!(!std::sync::Arc::ptr_eq(a, b), "{}", dir.display());
                        }
                    }
                }
            }
        }
        assert!(shared > 20, "only {shared} schemas shared");
    }

    #[test]
    fn paths_join_keys_and_indices() {
        assert_eq!(at_key("", "messages"), "messages");
        assert_eq!(
            at_key(&at_index("messages", 2), "content"),
            "messages[2].content"
        );
        assert_eq!(at_index("", 3), "[3]");
        assert_eq!(at_key(&at_index("", 3), "delta"), "[3].delta");
    }

    /// `field` finds what the map's own look-up finds, in small and large objects.
    #[test]
    fn field_is_get() {
        for n in [0, 1, 3, 8, 9, 12] {
            let obj: Obj = (0..n).map(|i| (format!("k{i}"), json!(i))).collect();
            for i in 0..=n {
                let key = format!("k{i}");
                assert_eq!(field(&obj, &key), obj.get(&key), "{n} members, {key}");
            }
        }
    }

    /// A relative path put under its prefix reads as the same path built from the root.
    #[test]
    fn under_joins_as_the_path_helpers_do() {
        let under = |prefix: &str, rel: &str| FormatError::new(rel, "m").under(prefix).path;
        let m2 = at_index("messages", 2);
        assert_eq!(under(&m2, ""), m2);
        assert_eq!(under(&m2, "content"), at_key(&m2, "content"));
        assert_eq!(under(&m2, "[0].type"), at_key(&at_index(&m2, 0), "type"));
        assert_eq!(under("", "[3]"), at_index("", 3));
        assert_eq!(under("", "type"), at_key("", "type"));
        assert_eq!(under("", ""), "");
        assert_eq!(
            under(&at_key(&m2, "content"), "[1].id"),
            "messages[2].content[1].id"
        );
    }

    #[test]
    fn describe_says_what_was_found() {
        assert_eq!(describe(None), "nothing (the field is missing)");
        assert_eq!(describe(Some(&json!(42))), "the number 42");
        assert_eq!(describe(Some(&json!("hi"))), "the string \"hi\"");
        assert_eq!(describe(Some(&json!([]))), "an empty array");
        assert_eq!(
            describe(Some(&json!({"type": "text"}))),
            "an object of type \"text\""
        );
        let long = "x".repeat(100);
        assert!(describe(Some(&json!(long))).ends_with("…\""));
    }

    #[test]
    fn flattening_joins_text_and_keeps_other_parts_as_json() {
        assert_eq!(flatten_content(None, "c").unwrap(), "");
        assert_eq!(flatten_content(Some(&Value::Null), "c").unwrap(), "");
        assert_eq!(flatten_content(Some(&json!("ok")), "c").unwrap(), "ok");
        let parts = json!([
            {"type": "text", "text": "a"},
            {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
            {"type": "input_text", "text": "b"}
        ]);
        assert_eq!(
            flatten_content(Some(&parts), "c").unwrap(),
            "a\n{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://x/y.png\"}}\nb"
        );
        let err = flatten_content(Some(&json!(3)), "messages[1].content").unwrap_err();
        assert_eq!(err.path, "messages[1].content");
        assert_eq!(
            err.message,
            "expected a string or an array of content parts, found the number 3"
        );
    }

    #[test]
    fn arguments_that_are_not_json_stay_text() {
        assert_eq!(parse_arguments("{\"a\":1}"), json!({"a": 1}));
        assert_eq!(parse_arguments("{\"a\":"), json!("{\"a\":"));
    }

    #[test]
    fn fragments_cover_the_string_exactly() {
        for s in [
            "",
            "a",
            "ab",
            "{\"city\":\"Zürich\"}",
            "héllo wörld, ünïcode ok",
        ] {
            for max in 1..=3 {
                let parts = split_fragments(s, max);
                assert_eq!(parts.concat(), s);
                assert!(parts.len() <= max);
                assert!(parts.iter().all(|p| !p.is_empty()));
            }
        }
        assert_eq!(split_fragments("{\"city\":\"Paris\"}", 3).len(), 3);
    }

    #[test]
    fn history_array_creates_and_checks() {
        let mut v = json!({});
        history_array(&mut v, "messages").unwrap().push(json!(1));
        assert_eq!(v, json!({"messages": [1]}));
        let mut bad = json!({"messages": "x"});
        let err = history_array(&mut bad, "messages").unwrap_err();
        assert_eq!(err.path, "messages");
        let mut not_obj = json!([]);
        assert_eq!(
            history_array(&mut not_obj, "messages").unwrap_err().path,
            ""
        );
    }

    #[test]
    fn openai_switch_sets_and_removes() {
        let mut v = json!({"model": "gpt-4o"});
        set_openai_parallel_disabled(&mut v, true);
        assert_eq!(v["parallel_tool_calls"], json!(false));
        assert!(openai_parallel_disabled(v.as_object().unwrap()));
        set_openai_parallel_disabled(&mut v, false);
        assert_eq!(v, json!({"model": "gpt-4o"}));
    }

    /// Odd shapes never panic in any format: every entry point answers with a value or an error.
    #[test]
    fn odd_input_never_panics() {
        let bodies = [
            json!(null),
            json!(1),
            json!("x"),
            json!([]),
            json!({}),
            json!({"messages": [null, 1, {"role": 2}, {"role": "user", "content": [null, {"type": 1}]}]}),
            json!({"messages": [{"role": "tool"}, {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": 1}]}]}),
            json!({"input": [{"type": "function_call"}, {"role": "user", "content": [{}]}], "instructions": 1}),
            json!({"content": [{"type": "tool_use"}, "x"], "stop_reason": 3}),
            json!({"content": [{"type": "thinking", "thinking": 5}], "stop_reason": "end_turn"}),
            json!({"choices": [{"message": null}], "error": {}}),
            json!({"choices": [{"message": {"content": [1], "tool_calls": "x"}, "finish_reason": "stop"}]}),
            json!({"output": [1, {"type": "message", "role": "assistant", "content": "x"}], "status": 1}),
            json!({"output": [{"type": "reasoning", "summary": [1, "x"]}], "status": "completed"}),
            json!({"tool_choice": "auto", "input": "x", "messages": {}}),
            json!({"contents": [null, {"parts": [null, {"functionCall": 1}, {"functionResponse": {"name": 2}}]}]}),
            json!({"contents": [{"role": "model", "parts": [{"functionCall": {"name": "a", "args": []}}, {"text": 1}]}], "tools": [1, {"functionDeclarations": [1]}]}),
            json!({"candidates": [1], "responseId": 2}),
            json!({"candidates": [{"content": {"parts": [{"functionCall": {}}, {"thought": "yes", "text": "x"}]}, "finishReason": 1}]}),
            json!({"candidates": [{"content": []}], "error": 1}),
        ];
        let named = |name: &str, data: Value| SseEvent::named(name, &data);
        let streams: Vec<Vec<SseEvent>> = vec![
            vec![SseEvent::data(""), SseEvent::data("null")],
            vec![SseEvent::data("[DONE]"), SseEvent::data("[]")],
            vec![
                named("message_start", json!({"message": {"content": [1, 2]}})),
                named(
                    "content_block_delta",
                    json!({"index": 1, "delta": {"type": "input_json_delta", "partial_json": "{"}}),
                ),
                named(
                    "message_delta",
                    json!({"delta": {"content": [1, 2, 3, 4, 5]}, "usage": 1}),
                ),
                named(
                    "content_block_delta",
                    json!({"index": 4, "delta": {"type": "text_delta", "text": "x"}}),
                ),
                named("content_block_stop", json!({"index": 99})),
            ],
            vec![
                SseEvent::data(json!({"choices": [{"index": -1}]}).to_string()),
                SseEvent::data(
                    json!({"choices": [{"delta": {"tool_calls": [{"index": 0}, 1]}}]}).to_string(),
                ),
            ],
            vec![
                SseEvent::data("[DONE]"),
                named("response.created", json!({})),
                named("response.completed", json!({"response": []})),
            ],
            vec![
                SseEvent::data(
                    json!({"candidates": [{"content": {"parts": [{"text": "a"}, 1]}}]}).to_string(),
                ),
                SseEvent::data(json!({"candidates": [null, {"content": 1}]}).to_string()),
                SseEvent::data(json!({"candidates": []}).to_string()),
            ],
        ];
        for provider in crate::provider::Provider::ALL {
            let f = super::super::format(provider);
            for body in &bodies {
                let _ = f.parse_request(body);
                let _ = f.parse_reply(body);
                let _ = f.stream_from_reply(body);
                let _ = f.history_entries(body);
                let mut copy = body.clone();
                let _ = f.history_mut(&mut copy);
                f.set_parallel_disabled(&mut copy, true);
                f.set_parallel_disabled(&mut copy, false);
            }
            for events in &streams {
                let _ = f.reply_from_stream(events);
            }
        }
    }
}
