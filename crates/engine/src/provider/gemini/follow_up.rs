//! Building Gemini follow-ups: history entries, result entries, error bodies, the API's 400s.

use serde_json::{Value, json};

use super::super::common::{history_array, object, object_of};
use super::super::{ApiFault, Endpoint, FormatError, Refusal, ResultBlock};
use super::ids;
use super::parse::{candidate, get};
use crate::transcript::{Message, Request, Role};

/// The count the real API checks (gemini-mcp.md §1.5).
const COUNT: &str = "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.";
/// Results not right after the call turn.
const RESPONSE_TURN: &str =
    "Please ensure that function response turn comes immediately after a function call turn.";
/// A call turn after something other than a user turn or a response turn.
const CALL_TURN: &str = "Please ensure that function call turn comes immediately after a user turn or after a function response turn.";

pub(super) fn history_entries(reply: &Value) -> Result<Vec<Value>, FormatError> {
    let root = object(reply, "", "a GenerateContentResponse object")?;
    let (cand, path) = candidate(root)?;
    match get(cand, "content") {
        Some((_, content @ Value::Object(_))) => Ok(vec![content.clone()]),
        other => Err(super::super::common::mismatch(
            format!("{path}.content"),
            "a content object",
            other.map(|(_, v)| v),
        )),
    }
}

/// One `functionResponse` part. A call that had no id is answered without one, by name (the
/// id tooltape gave it is its own); a call with an id gets it back.
fn response_part(r: &ResultBlock) -> Value {
    let synthetic = ids::parse_synthetic(&r.call_id);
    let name = match (r.name.is_empty(), synthetic) {
        (true, Some((n, _))) => n.to_string(),
        _ => r.name.clone(),
    };
    // Objects built directly: `json!` copies what it interpolates through serde's serializer.
    let key = if r.is_error { "error" } else { "output" };
    let response = object_of([(key, r.content.as_str().into())]);
    let fr = if synthetic.is_none() {
        object_of([
            ("id", r.call_id.as_str().into()),
            ("name", name.into()),
            ("response", response),
        ])
    } else {
        object_of([("name", name.into()), ("response", response)])
    };
    object_of([("functionResponse", fr)])
}

/// The results as one user content of `functionResponse` parts (nothing for no results).
/// `text_before` becomes a user content of its own before them: a text part inside would
/// count against the number of response parts.
pub(super) fn results_entries(results: &[ResultBlock], text_before: Option<&str>) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(text) = text_before {
        out.push(user_text_entry(text));
    }
    if !results.is_empty() {
        let parts: Vec<Value> = results.iter().map(response_part).collect();
        out.push(object_of([
            ("role", "user".into()),
            ("parts", Value::Array(parts)),
        ]));
    }
    out
}

pub(super) fn user_text_entry(text: &str) -> Value {
    json!({"role": "user", "parts": [{"text": text}]})
}

pub(super) fn history_mut(request: &mut Value) -> Result<&mut Vec<Value>, FormatError> {
    history_array(request, "contents")
}

/// Gemini's error envelope.
pub(super) fn error_body(message: &str) -> Value {
    error_with(400, "INVALID_ARGUMENT", message)
}

/// The envelope for an HTTP status, with the google.rpc status name Google APIs pair with it.
pub(super) fn error_body_status(code: u16, message: &str) -> Value {
    let status = match code {
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        c if c >= 500 => "INTERNAL",
        _ => "INVALID_ARGUMENT",
    };
    error_with(code, status, message)
}

fn error_with(code: u16, status: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "status": status}})
}

fn has_calls(m: &Message) -> bool {
    m.calls().next().is_some()
}

/// Which of the API's ordering texts the follow-up's layout earns: the first content out of
/// place, read in order, as a validator would.
fn ordering_text(f: &Request) -> &'static str {
    let wire: Vec<&Message> = f.messages.iter().filter(|m| m.wire_len > 0).collect();
    for (i, m) in wire.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| wire[p]);
        if has_calls(m) {
            let ok = match prev {
                None => false,
                Some(p) => p.role != Role::Assistant,
            };
            if !ok {
                return CALL_TURN;
            }
        }
        if m.has_results() && !prev.is_some_and(has_calls) {
            return RESPONSE_TURN;
        }
    }
    RESPONSE_TURN
}

/// The API's 400 message for a refused follow-up (gemini-mcp.md §1.5). Gemini names no call:
/// a result missing, extra, doubled or in another content all show as a count mismatch.
pub(super) fn rejection_text(r: &Refusal<'_>) -> String {
    match r.fault {
        ApiFault::MissingResult
        | ApiFault::UnknownResult
        | ApiFault::DuplicateResult
        | ApiFault::SplitResults
        | ApiFault::ResultsNotFirst => COUNT.to_string(),
        ApiFault::MissingAssistantTurn => r.followup.map_or(RESPONSE_TURN, ordering_text).into(),
    }
}

/// Whether a model name is one the API could know: letters, digits, `.`, `-`, `_`.
fn plausible_model(model: &str) -> bool {
    !model.is_empty()
        && model.len() <= 128
        && model
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// A model name the API would refuse is answered as the API does, before the engine sees the
/// request (the mock serves any well-formed model name: the handler's may differ from the
/// recording's).
pub(super) fn preflight(endpoint: &Endpoint, _request: &Value) -> Option<(u16, Value)> {
    let model = endpoint.model.as_deref()?;
    if plausible_model(model) {
        return None;
    }
    let mut body = error_body("* GenerateContentRequest.model: unexpected model name format");
    body["error"]["details"] = json!([{
        "@type": "type.googleapis.com/google.rpc.DebugInfo",
        "detail": format!(
            "tooltape mock: the URL names the model {:?}; a model name has letters, digits, '.', '-' and '_' only",
            super::super::common::shorten(model)
        ),
    }]);
    Some((400, body))
}

/// A reply body around one model content.
pub(super) fn envelope(id_seed: &str, model: &str, content: Value) -> Value {
    json!({
        "candidates": [{"content": content, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 0, "candidatesTokenCount": 0, "totalTokenCount": 0},
        "modelVersion": model,
        "responseId": id_seed,
    })
}

/// The reply whose model turn is `entries` (one model content).
pub(super) fn reply_from_history(
    entries: &[Value],
    id_seed: &str,
    model: &str,
) -> Result<Value, String> {
    let [content] = entries else {
        return Err(format!(
            "expected one model content, found {}",
            entries.len()
        ));
    };
    if !content.get("parts").is_some_and(Value::is_array) {
        return Err("the model content has no parts".into());
    }
    Ok(envelope(id_seed, model, content.clone()))
}

pub(super) fn text_reply(id_seed: &str, model: &str, text: &str) -> Value {
    envelope(
        id_seed,
        model,
        json!({"role": "model", "parts": [{"text": text}]}),
    )
}
