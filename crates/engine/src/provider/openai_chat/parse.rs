//! Parsing openai_chat requests and replies into the neutral model.

use serde_json::Value;

use super::super::FormatError;
use super::super::common::{
    Obj, array_field, at_index, at_key, error_text, field, flatten_content, is_true, mismatch,
    model, neutral_tool, object, openai_parallel_disabled, opt_array_field, opt_str_field,
    parse_arguments, required, str_field,
};
use super::super::gemini::ids::{self, Pairing};
use crate::transcript::{
    Message, Part, Reply, Request, Role, StopReason, Tool, ToolCall, ToolResult,
};

/// The roles a `messages` entry may have; others (the legacy `function` among them) are kept
/// whole and noted.
pub(super) const ROLES: &[&str] = &["system", "developer", "user", "assistant", "tool"];

/// Content part types and tool call types the Chat Completions API documents; a type outside
/// this list is kept whole and noted ([`super::super::Format::unfamiliar`]).
pub(super) const PART_TYPES: &[&str] = &[
    "text",
    "image_url",
    "input_audio",
    "file",
    "refusal",
    "function",
    "custom",
];

/// A message's `content`: a string is one text part, an array holds parts (`text` parts become
/// text, others — images, audio, refusals — are kept whole), null or missing holds nothing.
/// Error paths are relative to the content ([`FormatError::under`]).
pub(super) fn parse_content(content: Option<&Value>) -> Result<Vec<Part>, FormatError> {
    match content {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![Part::Text(s.clone())]),
        Some(Value::Array(parts)) => parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let parsed = (|| {
                    let obj = object(part, "", "a content part object")?;
                    match str_field(obj, "type", "")? {
                        "text" => Ok(Part::Text(str_field(obj, "text", "")?.to_string())),
                        _ => Ok(Part::Other(part.clone())),
                    }
                })();
                parsed.map_err(|e: FormatError| e.under(&at_index("", i)))
            })
            .collect(),
        other => Err(mismatch(
            "",
            "a string, an array of content parts or null",
            other,
        )),
    }
}

/// One entry of `tool_calls`. Function calls carry a JSON-string `arguments`; custom tool calls
/// carry free text `input`, kept as a string. Unknown kinds are kept whole. Error paths are
/// relative to the entry.
pub(super) fn parse_tool_call(call: &Value) -> Result<Part, FormatError> {
    let obj = object(call, "", "a tool call object")?;
    // OpenAI-compatible servers may give no id (or an empty one): the message's parser gives
    // such calls a synthetic one ([`assistant_parts`]).
    let id = opt_str_field(obj, "id", "")?
        .unwrap_or_default()
        .to_string();
    match field(obj, "type").and_then(Value::as_str) {
        None | Some("function") => {
            let f = object(
                required(obj, "function", "", "a function object")?,
                "function",
                "a function object",
            )?;
            let name = str_field(f, "name", "").map_err(|e| e.under("function"))?;
            let arguments = str_field(f, "arguments", "").map_err(|e| e.under("function"))?;
            Ok(Part::Call(ToolCall {
                id,
                name: name.to_string(),
                input: parse_arguments(arguments),
            }))
        }
        Some("custom") => {
            let c = object(
                required(obj, "custom", "", "a custom tool call object")?,
                "custom",
                "a custom tool call object",
            )?;
            let name = str_field(c, "name", "").map_err(|e| e.under("custom"))?;
            let input = str_field(c, "input", "").map_err(|e| e.under("custom"))?;
            Ok(Part::Call(ToolCall {
                id,
                name: name.to_string(),
                input: Value::String(input.to_string()),
            }))
        }
        Some(_) => Ok(Part::Other(call.clone())),
    }
}

/// The parts of an assistant message: its content, then its tool calls in order. Error paths
/// are relative to the message.
pub(super) fn assistant_parts(msg: &Obj) -> Result<Vec<Part>, FormatError> {
    let mut parts = parse_content(field(msg, "content")).map_err(|e| e.under("content"))?;
    if let Some(calls) = opt_array_field(msg, "tool_calls", "")? {
        for (i, call) in calls.iter().enumerate() {
            parts.push(parse_tool_call(call).map_err(|e| e.under(&at_index("tool_calls", i)))?);
        }
    }
    name_idless_calls(&mut parts);
    Ok(parts)
}

/// Calls without an id get the synthetic id `{name}#{k}@{fingerprint}` that the same turn
/// always gets (as a reply, or in the next request's history), as Gemini's calls without ids
/// do; their results are then paired by name, then by position ([`Pairing`]).
fn name_idless_calls(parts: &mut [Part]) {
    let calls: Vec<(&str, &Value, Option<&str>)> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Call(c) => Some((
                c.name.as_str(),
                &c.input,
                (!c.id.is_empty()).then_some(c.id.as_str()),
            )),
            _ => None,
        })
        .collect();
    if calls.iter().all(|c| c.2.is_some()) {
        return;
    }
    let ids = ids::call_ids(&calls);
    let calls = parts.iter_mut().filter_map(|p| match p {
        Part::Call(c) => Some(c),
        _ => None,
    });
    for (c, id) in calls.zip(ids) {
        c.id = id;
    }
}

/// Whether a call id is one tooltape made for a call without one.
pub(super) fn is_synthetic(id: &str) -> bool {
    ids::is_synthetic(id)
}

/// The name of an entry of `tools`: `function.name` for function tools, `custom.name` or a
/// top-level `name` for other shapes.
pub(super) fn tool_name(tool: &Value) -> Option<&str> {
    tool.pointer("/function/name")
        .or_else(|| tool.pointer("/custom/name"))
        .or_else(|| tool.get("name"))
        .and_then(Value::as_str)
}

pub(super) fn parse_request(body: &Value, known: &[Tool]) -> Result<Request, FormatError> {
    let root = object(body, "", "a request object")?;
    let mut messages: Vec<Message> = Vec::new();
    let mut pairing = Pairing::default();
    // Whether the latest turn with calls had calls without ids (only then may a result
    // without one be paired; else it is refused, as the API refuses it).
    let mut idless_turn = false;
    for (i, entry) in array_field(root, "messages", "")?.iter().enumerate() {
        // Formatted only for an error.
        let path = || at_index("messages", i);
        let obj = object(entry, "", "a message object").map_err(|e| e.under(&path()))?;
        let role = match str_field(obj, "role", "").map_err(|e| e.under(&path()))? {
            "system" | "developer" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "tool" => Role::Tool,
            // A role the API may add later (or the legacy `function`): kept whole, as
            // instructions the rules pass over.
            _ => {
                messages.push(Message {
                    role: Role::System,
                    parts: vec![Part::Other(entry.clone())],
                    wire_index: i,
                    wire_len: 1,
                });
                continue;
            }
        };
        let parts = match role {
            Role::Assistant => {
                let parts = assistant_parts(obj).map_err(|e| e.under(&path()))?;
                let calls: Vec<(&str, &Value, String)> = parts
                    .iter()
                    .filter_map(|p| match p {
                        Part::Call(c) => Some((c.name.as_str(), &c.input, c.id.clone())),
                        _ => None,
                    })
                    .collect();
                if !calls.is_empty() {
                    pairing.open(&calls);
                    idless_turn = calls.iter().any(|c| ids::is_synthetic(&c.2));
                }
                parts
            }
            Role::Tool => vec![Part::Result(ToolResult {
                // Without an id (OpenAI-compatible servers that give calls none): the call of
                // the turn before with that `name`, else the next one by position.
                call_id: match opt_str_field(obj, "tool_call_id", "")
                    .map_err(|e| e.under(&path()))?
                {
                    Some(id) if !id.is_empty() => id.to_string(),
                    _ if !idless_turn => str_field(obj, "tool_call_id", "")
                        .map_err(|e| e.under(&path()))?
                        .to_string(),
                    _ => match opt_str_field(obj, "name", "").map_err(|e| e.under(&path()))? {
                        Some(name) => pairing.pair(name),
                        None => pairing.pair_by_position(),
                    },
                },
                content: flatten_content(field(obj, "content"), "")
                    .map_err(|e| e.under(&at_key(&path(), "content")))?,
                is_error: None,
            })],
            _ => parse_content(field(obj, "content"))
                .map_err(|e| e.under(&at_key(&path(), "content")))?,
        };
        // A run of tool messages is one results message in the neutral model.
        if role == Role::Tool
            && let Some(last) = messages.last_mut()
            && last.role == Role::Tool
        {
            last.parts.extend(parts);
            last.wire_len += 1;
            continue;
        }
        messages.push(Message {
            role,
            parts,
            wire_index: i,
            wire_len: 1,
        });
    }
    let tools = opt_array_field(root, "tools", "")?
        .unwrap_or_default()
        .iter()
        .filter_map(|t| {
            let name = tool_name(t)?;
            let entry = t.as_object()?;
            match t.pointer("/function").and_then(Value::as_object) {
                Some(f) => {
                    let mut tool = neutral_tool(entry, name, f.get("parameters"), true, known);
                    tool.strict = is_true(f, "strict");
                    Some(tool)
                }
                // Custom (free-text, grammar) tools take no JSON input.
                None => Some(neutral_tool(entry, name, None, false, known)),
            }
        })
        .collect();
    Ok(Request {
        messages,
        tools,
        parallel_disabled: openai_parallel_disabled(root),
        stream: is_true(root, "stream"),
        previous_response_id: None,
        model: model(root)?,
    })
}

pub(super) fn parse_reply(body: &Value) -> Result<Reply, FormatError> {
    let root = object(body, "", "a chat.completion object")?;
    if !root.contains_key("choices")
        && let Some(error) = root.get("error").filter(|e| !e.is_null())
    {
        return Err(FormatError::new(
            "",
            format!(
                "expected a chat.completion, found an error body ({})",
                error_text(Some(error))
            ),
        ));
    }
    let id = opt_str_field(root, "id", "")?.map(str::to_string);
    let choices = array_field(root, "choices", "")?;
    let Some(first) = choices.first() else {
        return Err(FormatError::new(
            "choices",
            "expected at least one choice, found an empty array",
        ));
    };
    let cpath = "choices[0]";
    let choice = object(first, cpath, "a choice object")?;
    let mpath = "choices[0].message";
    let msg = object(
        required(choice, "message", cpath, "a message object")?,
        mpath,
        "a message object",
    )?;
    let stop = match field(choice, "finish_reason") {
        Some(Value::String(s)) => match s.as_str() {
            "tool_calls" => StopReason::ToolUse,
            "stop" => StopReason::EndTurn,
            other => StopReason::Other(other.to_string()),
        },
        other => {
            return Err(mismatch(
                at_key(cpath, "finish_reason"),
                "a finish reason string (\"tool_calls\", \"stop\", …)",
                other,
            ));
        }
    };
    Ok(Reply {
        id,
        message: Message {
            role: Role::Assistant,
            parts: assistant_parts(msg).map_err(|e| e.under(mpath))?,
            wire_index: 0,
            wire_len: 1,
        },
        stop,
    })
}
