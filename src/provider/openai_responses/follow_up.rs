//! Building openai_responses follow-ups: history entries, result entries, switches, error bodies.

use serde_json::{Value, json};

use super::super::common::{
    array_field, history_array, object, openai_error_body, set_openai_parallel_disabled,
};
use super::super::{FormatError, ResultBlock};

pub(super) fn history_entries(reply: &Value) -> Result<Vec<Value>, FormatError> {
    let root = object(reply, "", "a response object")?;
    Ok(array_field(root, "output", "")?.to_vec())
}

pub(super) fn results_entries(results: &[ResultBlock], text_before: Option<&str>) -> Vec<Value> {
    let mut out = Vec::with_capacity(results.len() + 1);
    if let Some(text) = text_before {
        out.push(user_text_entry(text));
    }
    out.extend(results.iter().map(
        |r| json!({"type": "function_call_output", "call_id": r.call_id, "output": r.content}),
    ));
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
