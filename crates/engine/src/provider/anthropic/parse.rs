//! Parsing anthropic requests and replies into the neutral model.

use serde_json::Value;

use super::super::FormatError;
use super::super::common::{
    Obj, array_field, at_index, at_key, error_text, field, flatten_content, is_true, mismatch,
    model, neutral_tool, object, opt_array_field, opt_str_field, required, str_field,
};
use crate::transcript::{
    Message, Part, Reply, Request, Role, StopReason, Tool, ToolCall, ToolResult,
};

/// The roles a `messages` entry may have; others are kept whole and noted.
pub(super) const ROLES: &[&str] = &["user", "assistant", "system"];

/// Content block types the Messages API documents (requests and replies, beta tools
/// included): the rules judge `text`, `tool_use` and `tool_result` and pass over the rest
/// silently; a type outside this list is kept whole and noted ([`super::super::Format::unfamiliar`]).
pub(super) const BLOCK_TYPES: &[&str] = &[
    "text",
    "image",
    "document",
    "search_result",
    "thinking",
    "redacted_thinking",
    "tool_use",
    "tool_result",
    "server_tool_use",
    "web_search_tool_result",
    "web_fetch_tool_result",
    "code_execution_tool_result",
    "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result",
    "tool_search_tool_result",
    "tool_reference",
    "mcp_tool_use",
    "mcp_tool_result",
    "container_upload",
    "compaction",
];

/// One content block as a neutral part (requests and replies share the mapping). Error paths
/// are relative to the block ([`FormatError::under`]).
pub(super) fn parse_block(block: &Value) -> Result<Part, FormatError> {
    let obj = object(block, "", "a content block object")?;
    match str_field(obj, "type", "")? {
        "text" => Ok(Part::Text(str_field(obj, "text", "")?.to_string())),
        "tool_use" => Ok(Part::Call(ToolCall {
            id: str_field(obj, "id", "")?.to_string(),
            name: str_field(obj, "name", "")?.to_string(),
            input: required(obj, "input", "", "the call's input object")?.clone(),
        })),
        "tool_result" => {
            let is_error = match field(obj, "is_error") {
                None | Some(Value::Null) => None,
                Some(Value::Bool(b)) => Some(*b),
                other => return Err(mismatch("is_error", "a boolean", other)),
            };
            Ok(Part::Result(ToolResult {
                call_id: str_field(obj, "tool_use_id", "")?.to_string(),
                content: flatten_content(field(obj, "content"), "content")?,
                is_error,
            }))
        }
        // Thinking, images, documents, server tool blocks…: kept whole, so that rules comparing
        // histories still see them.
        _ => Ok(Part::Other(block.clone())),
    }
}

/// A message's `content`: a string is one text block, an array holds blocks. Error paths are
/// relative to the content.
pub(super) fn parse_content(content: Option<&Value>) -> Result<Vec<Part>, FormatError> {
    match content {
        Some(Value::String(s)) => Ok(vec![Part::Text(s.clone())]),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .enumerate()
            .map(|(i, b)| parse_block(b).map_err(|e| e.under(&at_index("", i))))
            .collect(),
        other => Err(mismatch(
            "",
            "a string or an array of content blocks",
            other,
        )),
    }
}

/// The stop reason of a reply or accumulated stream.
pub(super) fn parse_stop(root: &Obj) -> Result<StopReason, FormatError> {
    match field(root, "stop_reason") {
        Some(Value::String(s)) => Ok(match s.as_str() {
            "tool_use" => StopReason::ToolUse,
            "end_turn" => StopReason::EndTurn,
            other => StopReason::Other(other.to_string()),
        }),
        other => Err(mismatch(
            "stop_reason",
            "a stop reason string (\"tool_use\", \"end_turn\", …)",
            other,
        )),
    }
}

pub(super) fn parse_request(body: &Value, known: &[Tool]) -> Result<Request, FormatError> {
    let root = object(body, "", "a request object")?;
    let mut messages = Vec::new();
    // `system` is not an entry of `messages`: its message covers no wire entry.
    match field(root, "system") {
        None | Some(Value::Null) => {}
        Some(system @ (Value::String(_) | Value::Array(_))) => messages.push(Message {
            role: Role::System,
            parts: parse_content(Some(system)).map_err(|e| e.under("system"))?,
            wire_index: 0,
            wire_len: 0,
        }),
        other => {
            return Err(mismatch(
                "system",
                "a string or an array of text blocks",
                other,
            ));
        }
    }
    for (i, entry) in array_field(root, "messages", "")?.iter().enumerate() {
        // Formatted only for an error.
        let path = || at_index("messages", i);
        let obj = object(entry, "", "a message object").map_err(|e| e.under(&path()))?;
        let (role, parts) = match str_field(obj, "role", "").map_err(|e| e.under(&path()))? {
            "user" => (Role::User, None),
            "assistant" => (Role::Assistant, None),
            // The API accepts `system` messages inside `messages` (2026); roles it may add
            // later are kept whole, as instructions the rules pass over.
            "system" => (Role::System, None),
            _ => (Role::System, Some(vec![Part::Other(entry.clone())])),
        };
        let parts = match parts {
            Some(kept) => kept,
            None => parse_content(field(obj, "content"))
                .map_err(|e| e.under(&at_key(&path(), "content")))?,
        };
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
        .filter_map(Value::as_object)
        .filter_map(|t| {
            let name = field(t, "name").and_then(Value::as_str)?;
            // Custom tools (no `type`, or `"custom"`) take JSON input; the API's own tools
            // (`web_search_20250305`, `bash_…`, …) carry no schema.
            let custom = matches!(
                field(t, "type").and_then(Value::as_str),
                None | Some("custom")
            );
            let mut tool = neutral_tool(t, name, field(t, "input_schema"), custom, known);
            tool.strict = is_true(t, "strict");
            Some(tool)
        })
        .collect();
    let parallel_disabled = field(root, "tool_choice")
        .and_then(Value::as_object)
        .is_some_and(|tc| is_true(tc, "disable_parallel_tool_use"));
    Ok(Request {
        messages,
        tools,
        parallel_disabled,
        stream: is_true(root, "stream"),
        previous_response_id: None,
        model: model(root)?,
    })
}

pub(super) fn parse_reply(body: &Value) -> Result<Reply, FormatError> {
    let root = object(body, "", "a message object")?;
    if field(root, "type").and_then(Value::as_str) == Some("error") {
        return Err(FormatError::new(
            "",
            format!(
                "expected a message, found an error body ({})",
                error_text(field(root, "error"))
            ),
        ));
    }
    let id = opt_str_field(root, "id", "")?.map(str::to_string);
    let parts = array_field(root, "content", "")?
        .iter()
        .enumerate()
        .map(|(i, b)| parse_block(b).map_err(|e| e.under(&at_index("content", i))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Reply {
        id,
        message: Message {
            role: Role::Assistant,
            parts,
            wire_index: 0,
            wire_len: 1,
        },
        stop: parse_stop(root)?,
    })
}
