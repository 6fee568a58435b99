//! Building openai_responses follow-ups: history entries, result entries, switches, error bodies.

use serde_json::{Map, Value, json};

use super::super::common::{
    array_field, history_array, object, object_of, openai_error_body, set_openai_parallel_disabled,
};
use super::super::{ApiFault, FormatError, Refusal, ResultBlock};

pub(super) fn history_entries(reply: &Value) -> Result<Vec<Value>, FormatError> {
    let root = object(reply, "", "a response object")?;
    Ok(array_field(root, "output", "")?.to_vec())
}

pub(super) fn results_entries(results: &[ResultBlock], text_before: Option<&str>) -> Vec<Value> {
    let mut out = Vec::with_capacity(results.len() + 1);
    if let Some(text) = text_before {
        out.push(user_text_entry(text));
    }
    out.extend(results.iter().map(|r| {
        object_of([
            ("type", "function_call_output".into()),
            ("call_id", r.call_id.as_str().into()),
            ("output", r.content.as_str().into()),
        ])
    }));
    out
}

pub(super) fn user_text_entry(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

pub(super) fn history_mut(request: &mut Value) -> Result<&mut Vec<Value>, FormatError> {
    // A string input is shorthand for one user message; make it the array form first.
    if let Some(slot) = request.get_mut("input")
        && let Value::String(text) = slot
    {
        let text = std::mem::take(text);
        *slot = json!([{"role": "user", "content": text}]);
    }
    history_array(request, "input")
}

pub(super) fn set_parallel_disabled(request: &mut Value, disabled: bool) {
    set_openai_parallel_disabled(request, disabled);
}

pub(super) fn error_body(message: &str) -> Value {
    openai_error_body(message)
}

/// The API's 400 message for a refused follow-up (protocols.md §3.5).
pub(super) fn rejection_text(r: &Refusal<'_>) -> String {
    let id = r.call_id.unwrap_or_default();
    match r.fault {
        ApiFault::MissingResult | ApiFault::SplitResults | ApiFault::ResultsNotFirst => format!(
            "No tool output found for function call {}.",
            r.uncovered.join(", ")
        ),
        ApiFault::UnknownResult | ApiFault::MissingAssistantTurn => format!(
            "No tool call found for function call output with call_id {}.",
            r.call_id.unwrap_or("(see the follow-up)")
        ),
        ApiFault::DuplicateResult => format!(
            "Duplicate function_call_output for call_id '{id}'. Each function_call must have exactly one matching function_call_output"
        ),
    }
}

/// A reply body around these output items.
pub(super) fn envelope(id_seed: &str, model: &str, output: Vec<Value>) -> Value {
    let mut body = Map::new();
    body.insert("id".into(), json!(format!("resp_{id_seed}")));
    body.insert("object".into(), json!("response"));
    body.insert("created_at".into(), json!(0));
    body.insert("status".into(), json!("completed"));
    body.insert("error".into(), Value::Null);
    body.insert("incomplete_details".into(), Value::Null);
    body.insert("model".into(), json!(model));
    body.insert("output".into(), Value::Array(output));
    body.insert("parallel_tool_calls".into(), json!(true));
    body.insert(
        "usage".into(),
        json!({"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}),
    );
    Value::Object(body)
}

/// An `output_text` content part.
pub(super) fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": []})
}

/// A model's input item (an assistant message in any of its input forms, a function call,
/// reasoning) as the output item the API returned: ids and statuses the input form may leave
/// out are filled in, assistant text becomes `output_text` parts.
fn output_item(item: &Value, id_seed: &str, i: usize) -> Value {
    let Value::Object(obj) = item else {
        return item.clone();
    };
    let mut obj = obj.clone();
    let ty = obj.get("type").and_then(Value::as_str).map(str::to_string);
    match ty.as_deref() {
        None | Some("message") => {
            obj.insert("type".into(), json!("message"));
            obj.entry("id")
                .or_insert_with(|| json!(format!("msg_{id_seed}x{i}")));
            obj.entry("status").or_insert_with(|| json!("completed"));
            let content = match obj.get("content") {
                Some(Value::String(s)) => vec![output_text(s)],
                Some(Value::Array(parts)) => parts
                    .iter()
                    .map(
                        |p| match (p.get("type").and_then(Value::as_str), p.get("text")) {
                            (Some("input_text" | "text"), Some(Value::String(t))) => output_text(t),
                            _ => p.clone(),
                        },
                    )
                    .collect(),
                _ => Vec::new(),
            };
            obj.insert("content".into(), Value::Array(content));
        }
        Some("function_call") => {
            obj.entry("id")
                .or_insert_with(|| json!(format!("fc_{id_seed}x{i}")));
            obj.entry("status").or_insert_with(|| json!("completed"));
        }
        _ => {}
    }
    Value::Object(obj)
}

/// The reply whose output items are `entries`.
pub(super) fn reply_from_history(
    entries: &[Value],
    id_seed: &str,
    model: &str,
) -> Result<Value, String> {
    let output = entries
        .iter()
        .enumerate()
        .map(|(i, item)| output_item(item, id_seed, i))
        .collect();
    Ok(envelope(id_seed, model, output))
}
