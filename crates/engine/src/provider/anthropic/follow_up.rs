//! Building anthropic follow-ups: history entries, result entries, switches, error bodies.

use serde_json::{Value, json};

use std::sync::LazyLock;

use super::super::common::{Obj, array_field, filled, history_array, object, template};
use super::super::{ApiFault, FormatError, Refusal, ResultBlock};

/// The request id of the error bodies tooltape sends. Real error bodies always carry one and
/// some clients print it, so it has the real shape; it is fixed because it identifies nothing.
const ERROR_REQUEST_ID: &str = "req_011CTt9oLtApEmockSrv4xQ2";

/// The objects built per run, as templates (see [`filled`]).
static MESSAGE: LazyLock<Obj> = LazyLock::new(|| template(["role", "content"]));
static RESULT: LazyLock<Obj> = LazyLock::new(|| template(["type", "tool_use_id", "content"]));

pub(super) fn history_entries(reply: &Value) -> Result<Vec<Value>, FormatError> {
    let root = object(reply, "", "a message object")?;
    let content = array_field(root, "content", "")?;
    Ok(vec![filled(
        &MESSAGE,
        ["assistant".into(), Value::Array(content.to_vec())],
    )])
}

pub(super) fn results_entries(results: &[ResultBlock], text_before: Option<&str>) -> Vec<Value> {
    let mut content = Vec::with_capacity(results.len() + 1);
    if let Some(text) = text_before {
        content.push(json!({"type": "text", "text": text}));
    }
    for r in results {
        let mut block = filled(
            &RESULT,
            [
                "tool_result".into(),
                r.call_id.as_str().into(),
                r.content.as_str().into(),
            ],
        );
        if r.is_error {
            block["is_error"] = Value::Bool(true);
        }
        content.push(block);
    }
    vec![filled(&MESSAGE, ["user".into(), Value::Array(content)])]
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
    error_body_status(400, message)
}

/// The error envelope for an HTTP status, with the API's error type for it (Anthropic's
/// "Errors" page: 400 invalid_request_error ... 529 overloaded_error).
pub(super) fn error_body_status(status: u16, message: &str) -> Value {
    let kind = match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        s if s >= 500 => "api_error",
        _ => "invalid_request_error",
    };
    json!({
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": ERROR_REQUEST_ID,
    })
}

/// The API's 400 message for a refused follow-up (protocols.md §1.5).
pub(super) fn rejection_text(r: &Refusal<'_>) -> String {
    let n = r.last_message;
    let id = r.call_id.unwrap_or("(see the follow-up)");
    match r.fault {
        ApiFault::MissingResult | ApiFault::SplitResults | ApiFault::ResultsNotFirst => format!(
            "messages.{}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
            n.saturating_sub(1),
            r.uncovered.join(", ")
        ),
        ApiFault::UnknownResult | ApiFault::MissingAssistantTurn => format!(
            "messages.{n}.content.0: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
        ),
        ApiFault::DuplicateResult => format!(
            "messages.{n}.content.0: each tool_use must have a single result. Found multiple `tool_result` blocks with id: {}",
            r.call_id.unwrap_or_default()
        ),
    }
}

/// The Anthropic SDK's tool runner first tries server-side threads; answer as a server
/// without them does, and the SDK resends the turn with full history.
pub(super) fn preflight(request: &Value) -> Option<(u16, Value)> {
    request.get("thread")?;
    let mut err = error_body("message threads are not supported by this server");
    err["error"]["details"] = json!({"error_code": "thread_unsupported_request"});
    Some((400, err))
}

/// A reply body around `content`, its stop reason from whether it calls tools.
pub(super) fn envelope(id_seed: &str, model: &str, content: Vec<Value>) -> Value {
    let wants_tools = content
        .iter()
        .any(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"));
    json!({
        "id": format!("msg_{id_seed}"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": if wants_tools { "tool_use" } else { "end_turn" },
        "stop_sequence": null,
        "usage": {"input_tokens": 0, "output_tokens": 0}
    })
}

/// The reply whose assistant turn is `entries` (one assistant message).
pub(super) fn reply_from_history(
    entries: &[Value],
    id_seed: &str,
    model: &str,
) -> Result<Value, String> {
    let [message] = entries else {
        return Err(format!(
            "expected one assistant message, found {}",
            entries.len()
        ));
    };
    let content = match message.get("content") {
        Some(Value::String(s)) => vec![json!({"type": "text", "text": s})],
        Some(Value::Array(blocks)) => blocks.clone(),
        _ => return Err("the assistant message has no content".into()),
    };
    Ok(envelope(id_seed, model, content))
}
