//! Building openai_chat follow-ups: history entries, result entries, switches, error bodies.

use serde_json::{Value, json};

use super::super::common::{
    array_field, history_array, object, openai_error_body, required, set_openai_parallel_disabled,
};
use super::super::{FormatError, ResultBlock};

pub(super) fn history_entries(reply: &Value) -> Result<Vec<Value>, FormatError> {
    let root = object(reply, "", "a chat.completion object")?;
    let choices = array_field(root, "choices", "")?;
    let Some(first) = choices.first() else {
        return Err(FormatError::new(
            "choices",
            "expected at least one choice, found an empty array",
        ));
    };
    let choice = object(first, "choices[0]", "a choice object")?;
    Ok(vec![
        required(choice, "message", "choices[0]", "a message object")?.clone(),
    ])
}

pub(super) fn results_entries(results: &[ResultBlock], text_before: Option<&str>) -> Vec<Value> {
    let mut out = Vec::with_capacity(results.len() + 1);
    if let Some(text) = text_before {
        out.push(user_text_entry(text));
    }
    out.extend(
        results
            .iter()
            .map(|r| json!({"role": "tool", "tool_call_id": r.call_id, "content": r.content})),
    );
    out
}

pub(super) fn user_text_entry(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

pub(super) fn history_mut(request: &mut Value) -> Result<&mut Vec<Value>, FormatError> {
    history_array(request, "messages")
}

pub(super) fn set_parallel_disabled(request: &mut Value, disabled: bool) {
    set_openai_parallel_disabled(request, disabled);
}

pub(super) fn error_body(message: &str) -> Value {
    openai_error_body(message)
}
