//! Parsing openai_responses requests and replies into the neutral model.

use serde_json::Value;

use super::super::FormatError;
use super::super::common::{
    Obj, array_field, at_index, error_text, field, flatten_content, is_true, mismatch, model,
    neutral_tool, object, openai_parallel_disabled, opt_array_field, opt_str_field,
    parse_arguments, str_field, text_of_part,
};
use crate::transcript::{
    Message, Part, Reply, Request, Role, StopReason, Tool, ToolCall, ToolResult,
};

/// The roles a message item may have; others are kept whole and noted.
pub(super) const ROLES: &[&str] = &["user", "system", "developer", "assistant"];

/// Item and content part types the Responses API documents; a type outside this list is kept
/// whole and noted ([`super::super::Format::unfamiliar`]).
pub(super) const ITEM_TYPES: &[&str] = &[
    // Items.
    "message",
    "function_call",
    "function_call_output",
    "reasoning",
    "item_reference",
    "compaction",
    "web_search_call",
    "file_search_call",
    "computer_call",
    "computer_call_output",
    "code_interpreter_call",
    "image_generation_call",
    "local_shell_call",
    "local_shell_call_output",
    "shell_call",
    "shell_call_output",
    "apply_patch_call",
    "apply_patch_call_output",
    "mcp_call",
    "mcp_list_tools",
    "mcp_approval_request",
    "mcp_approval_response",
    "custom_tool_call",
    "custom_tool_call_output",
    // Content parts.
    "input_text",
    "input_image",
    "input_file",
    "input_audio",
    "output_text",
    "output_audio",
    "refusal",
    "summary_text",
    "reasoning_text",
];

/// Where an item goes in the neutral model.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Group {
    /// A message of its own with this role (user and system messages, unknown items).
    Own(Role),
    /// Part of a run of model output: the assistant turn.
    ModelOutput,
    /// Part of a run of tool outputs: the results message.
    ToolOutput,
}

/// A message item's `content`: a string is one text part; `input_text`/`output_text` parts are
/// text, others (images, files, refusals) are kept whole. Error paths are relative to the
/// content ([`FormatError::under`]).
pub(super) fn parse_message_content(content: Option<&Value>) -> Result<Vec<Part>, FormatError> {
    match content {
        Some(Value::String(s)) => Ok(vec![Part::Text(s.clone())]),
        Some(Value::Array(parts)) => parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let checked = object(part, "", "a content part object")
                    .and_then(|obj| str_field(obj, "type", ""));
                checked.map_err(|e| e.under(&at_index("", i)))?;
                Ok(match text_of_part(part) {
                    Some(text) => Part::Text(text.to_string()),
                    None => Part::Other(part.clone()),
                })
            })
            .collect(),
        other => Err(mismatch("", "a string or an array of content parts", other)),
    }
}

/// A message item, typed (`"type": "message"`) or the easy form (`{"role", "content"}`). Error
/// paths are relative to the item.
pub(super) fn parse_message_item(obj: &Obj) -> Result<(Group, Vec<Part>), FormatError> {
    let group = match str_field(obj, "role", "")? {
        "user" => Group::Own(Role::User),
        "system" | "developer" => Group::Own(Role::System),
        "assistant" => Group::ModelOutput,
        // A role the API may add later: the item kept whole, as instructions the rules pass
        // over.
        _ => {
            return Ok((
                Group::Own(Role::System),
                vec![Part::Other(Value::Object(obj.clone()))],
            ));
        }
    };
    Ok((
        group,
        parse_message_content(field(obj, "content")).map_err(|e| e.under("content"))?,
    ))
}

/// One input or output item, with the group it belongs to. Error paths are relative to the
/// item.
pub(super) fn parse_item(item: &Value) -> Result<(Group, Vec<Part>), FormatError> {
    let obj = object(item, "", "an item object")?;
    let Some(ty) = opt_str_field(obj, "type", "")? else {
        if obj.contains_key("role") {
            return parse_message_item(obj);
        }
        return Err(FormatError::new(
            "",
            "expected an item with a `type`, or a message with a `role`, found an object with \
             neither",
        ));
    };
    Ok(match ty {
        "message" => return parse_message_item(obj),
        "function_call" => (
            Group::ModelOutput,
            vec![Part::Call(ToolCall {
                id: str_field(obj, "call_id", "")?.to_string(),
                name: str_field(obj, "name", "")?.to_string(),
                input: parse_arguments(str_field(obj, "arguments", "")?),
            })],
        ),
        "function_call_output" => (
            Group::ToolOutput,
            vec![Part::Result(ToolResult {
                call_id: str_field(obj, "call_id", "")?.to_string(),
                content: flatten_content(field(obj, "output"), "output")?,
                is_error: None,
            })],
        ),
        // Reasoning, hosted tool calls the model made (`web_search_call`, …) and references to
        // stored items are model output: they belong to the assistant turn.
        t if t == "reasoning" || t == "item_reference" || t.ends_with("_call") => {
            (Group::ModelOutput, vec![Part::Other(item.clone())])
        }
        // Outputs of other tool kinds sit among the function outputs of the turn.
        t if t.ends_with("_output") => (Group::ToolOutput, vec![Part::Other(item.clone())]),
        _ => (Group::Own(Role::User), vec![Part::Other(item.clone())]),
    })
}

pub(super) fn parse_request(body: &Value, known: &[Tool]) -> Result<Request, FormatError> {
    let root = object(body, "", "a request object")?;
    let mut messages: Vec<Message> = Vec::new();
    // `instructions` is not an input item: its message covers no wire entry.
    if let Some(text) = opt_str_field(root, "instructions", "")? {
        messages.push(Message {
            role: Role::System,
            parts: vec![Part::Text(text.to_string())],
            wire_index: 0,
            wire_len: 0,
        });
    }
    match field(root, "input") {
        Some(Value::String(text)) => messages.push(Message {
            role: Role::User,
            parts: vec![Part::Text(text.clone())],
            wire_index: 0,
            wire_len: 1,
        }),
        Some(Value::Array(items)) => {
            let mut last_group = None;
            for (i, item) in items.iter().enumerate() {
                let (group, parts) =
                    parse_item(item).map_err(|e| e.under(&at_index("input", i)))?;
                let role = match group {
                    Group::Own(role) => role,
                    Group::ModelOutput => Role::Assistant,
                    Group::ToolOutput => Role::Tool,
                };
                if group != Group::Own(role)
                    && last_group == Some(group)
                    && let Some(last) = messages.last_mut()
                {
                    last.parts.extend(parts);
                    last.wire_len += 1;
                } else {
                    messages.push(Message {
                        role,
                        parts,
                        wire_index: i,
                        wire_len: 1,
                    });
                }
                last_group = Some(group);
            }
        }
        other => {
            return Err(mismatch(
                "input",
                "a string or an array of input items",
                other,
            ));
        }
    }
    let tools = opt_array_field(root, "tools", "")?
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|t| {
            let name = field(t, "name").and_then(Value::as_str)?;
            let function = field(t, "type").and_then(Value::as_str) == Some("function");
            let mut tool = neutral_tool(t, name, field(t, "parameters"), function, known);
            // The Responses API holds function calls to the schema unless told not to
            // (`strict` defaults to true there, unlike Chat Completions).
            tool.strict = function && field(t, "strict").and_then(Value::as_bool).unwrap_or(true);
            Some(tool)
        })
        .collect();
    Ok(Request {
        messages,
        tools,
        parallel_disabled: openai_parallel_disabled(root),
        stream: is_true(root, "stream"),
        previous_response_id: opt_str_field(root, "previous_response_id", "")?.map(str::to_string),
        model: model(root)?,
    })
}

pub(super) fn parse_reply(body: &Value) -> Result<Reply, FormatError> {
    let root = object(body, "", "a response object")?;
    if !root.contains_key("output")
        && let Some(error) = root.get("error").filter(|e| !e.is_null())
    {
        return Err(FormatError::new(
            "",
            format!(
                "expected a response, found an error body ({})",
                error_text(Some(error))
            ),
        ));
    }
    let id = opt_str_field(root, "id", "")?.map(str::to_string);
    let items = array_field(root, "output", "")?;
    let mut parts = Vec::new();
    let mut wants_tools = false;
    for (i, item) in items.iter().enumerate() {
        let (_, item_parts) = parse_item(item).map_err(|e| e.under(&at_index("output", i)))?;
        wants_tools |= item_parts.iter().any(|p| matches!(p, Part::Call(_)));
        parts.extend(item_parts);
    }
    // There is no stop reason: function_call items are the signal.
    let stop = if wants_tools {
        StopReason::ToolUse
    } else {
        match root.get("status") {
            Some(Value::String(s)) if s == "completed" => StopReason::EndTurn,
            Some(Value::String(s)) => StopReason::Other(s.clone()),
            other => return Err(mismatch("status", "a status string", other)),
        }
    };
    Ok(Reply {
        id,
        message: Message {
            role: Role::Assistant,
            parts,
            wire_index: 0,
            wire_len: items.len(),
        },
        stop,
    })
}

/// Replace each `item_reference` part by the parts of the output item with that id among the
/// replies served (the API resolves references against the items it stored; an assistant
/// `message`, a `reasoning` or a `function_call` item all stay in the assistant turn).
pub(super) fn resolve_references(request: &mut Request, served: &[Value]) {
    let find = |id: &str| {
        served
            .iter()
            .filter_map(|body| body.get("output").and_then(Value::as_array))
            .flatten()
            .find(|item| item.get("id").and_then(Value::as_str) == Some(id))
    };
    for message in &mut request.messages {
        if !message.parts.iter().any(|p| reference_id(p).is_some()) {
            continue;
        }
        let mut parts = Vec::with_capacity(message.parts.len());
        for part in std::mem::take(&mut message.parts) {
            let resolved = reference_id(&part)
                .and_then(find)
                .and_then(|item| parse_item(item).ok())
                .filter(|(group, _)| *group == Group::ModelOutput);
            match resolved {
                Some((_, item_parts)) => parts.extend(item_parts),
                None => parts.push(part),
            }
        }
        message.parts = parts;
    }
}

/// The id an `item_reference` part names.
fn reference_id(part: &Part) -> Option<&str> {
    match part {
        Part::Other(v) if v.get("type").and_then(Value::as_str) == Some("item_reference") => {
            v.get("id").and_then(Value::as_str)
        }
        _ => None,
    }
}
