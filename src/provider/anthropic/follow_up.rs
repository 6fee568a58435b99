//! Building anthropic follow-ups: history entries, result entries, switches, error bodies.

use serde_json::{Value, json};

use super::super::common::{array_field, history_array, object};
use super::super::{FormatError, ResultBlock};

/// The request id of the error bodies tooltape sends. Real error bodies always carry one and
/// some clients print it, so it has the real shape; it is fixed because it identifies nothing.
const ERROR_REQUEST_ID: &str = "req_011CTt9oLtApEmockSrv4xQ2";

pub(super) fn history_entries(reply: &Value) -> Result<Vec<Value>, FormatError> {
    let root = object(reply, "", "a message object")?;
    let content = array_field(root, "content", "")?;
    Ok(vec![json!({"role": "assistant", "content": content})])
}

pub(super) fn results_entries(results: &[ResultBlock], text_before: Option<&str>) -> Vec<Value> {
    let mut content = Vec::with_capacity(results.len() + 1);
    if let Some(text) = text_before {
        content.push(json!({"type": "text", "text": text}));
    }
    for r in results {
        let mut block = json!({
            "type": "tool_result",
            "tool_use_id": r.call_id,
            "content": r.content,
        });
        if r.is_error {
            block["is_error"] = Value::Bool(true);
        }
        content.push(block);
    }
    vec![json!({"role": "user", "content": content})]
}

pub(super) fn user_text_entry(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

pub(super) fn history_mut(request: &mut Value) -> Result<&mut Vec<Value>, FormatError> {
    history_array(request, "messages")
}

pub(super) fn set_parallel_disabled(request: &mut Value, disabled: bool) {
    let Some(root) = request.as_object_mut() else {
        return;
    };
    if !root.contains_key("tool_choice") {
        if disabled {
            root.insert(
                "tool_choice".into(),
                json!({"type": "auto", "disable_parallel_tool_use": true}),
            );
        }
        return;
    }
    let Some(Value::Object(choice)) = root.get_mut("tool_choice") else {
        return;
    };
    // `none` offers no tools at all and does not accept the switch.
    if choice.get("type").and_then(Value::as_str) == Some("none") {
        return;
    }
    if disabled {
        choice.insert("disable_parallel_tool_use".into(), Value::Bool(true));
    } else {
        choice.remove("disable_parallel_tool_use");
    }
}

pub(super) fn error_body(message: &str) -> Value {
    json!({
        "type": "error",
        "error": {"type": "invalid_request_error", "message": message},
        "request_id": ERROR_REQUEST_ID,
    })
}
