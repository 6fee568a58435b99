//! Building openai_chat follow-ups: history entries, result entries, switches, error bodies.

use serde_json::{Map, Value, json};

use super::super::common::{
    array_field, history_array, object, object_of, openai_error_body, required,
    set_openai_parallel_disabled,
};
use super::super::{ApiFault, FormatError, Refusal, ResultBlock};

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
    out.extend(results.iter().map(|r| {
        object_of([
            ("role", "tool".into()),
            ("tool_call_id", r.call_id.as_str().into()),
            ("content", r.content.as_str().into()),
        ])
    }));
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

/// The API's 400 message for a refused follow-up (protocols.md §2.5).
pub(super) fn rejection_text(r: &Refusal<'_>) -> String {
    let id = r.call_id.unwrap_or_default();
    match r.fault {
        ApiFault::MissingResult | ApiFault::SplitResults | ApiFault::ResultsNotFirst => format!(
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}",
            r.uncovered.join(", ")
        ),
        ApiFault::UnknownResult => format!(
            "Invalid parameter: 'tool_call_id' of '{id}' not found in 'tool_calls' of previous message."
        ),
        ApiFault::MissingAssistantTurn => "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.".to_string(),
        ApiFault::DuplicateResult => format!(
            "Duplicate value for 'tool_call_id' of {id} in message[{}]",
            r.last_message
        ),
    }
}

/// A reply body around one assistant `message`, its finish reason from whether it calls tools.
pub(super) fn envelope(id_seed: &str, model: &str, message: Map<String, Value>) -> Value {
    let wants_tools = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .is_some_and(|c| !c.is_empty());
    json!({
        "id": format!("chatcmpl-{id_seed}"),
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": if wants_tools { "tool_calls" } else { "stop" }
        }],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    })
}

/// The reply whose assistant turn is `entries` (one assistant message).
pub(super) fn reply_from_history(
    entries: &[Value],
    id_seed: &str,
    model: &str,
) -> Result<Value, String> {
    let [Value::Object(message)] = entries else {
        return Err(format!(
            "expected one assistant message, found {}",
            entries.len()
        ));
    };
    let mut message = message.clone();
    message.entry("content").or_insert(Value::Null);
    Ok(envelope(id_seed, model, message))
}
