//! Anthropic Messages (`POST /v1/messages`).
//!
//! Calls are `tool_use` content blocks of the assistant message; results are `tool_result`
//! blocks of the next user message, with an `is_error` flag. Streams are `event:`-named SSE
//! (`message_start`, per block `content_block_start`/`_delta`/`_stop`, `message_delta`,
//! `message_stop`), see protocols.md §1.

use serde_json::{Map, Value, json};

use super::common::{
    Obj, array_field, at_index, at_key, error_text, event_json, flatten_content, history_array,
    is_true, mismatch, model, object, opt_array_field, opt_str_field, required, set_field, shorten,
    split_fragments, str_field,
};
use super::{Format, FormatError, ResultBlock, SseEvent};
use crate::transcript::{
    Message, Part, Provider, Reply, Request, Role, StopReason, ToolCall, ToolResult,
};

/// The Anthropic API.
pub struct Anthropic;

/// The request id of the error bodies tooltape sends. Real error bodies always carry one and
/// some clients print it, so it has the real shape; it is fixed because it identifies nothing.
const ERROR_REQUEST_ID: &str = "req_011CTt9oLtApEmockSrv4xQ2";

/// One content block as a neutral part (requests and replies share the mapping).
fn parse_block(block: &Value, path: &str) -> Result<Part, FormatError> {
    let obj = object(block, path, "a content block object")?;
    match str_field(obj, "type", path)? {
        "text" => Ok(Part::Text(str_field(obj, "text", path)?.to_string())),
        "tool_use" => Ok(Part::Call(ToolCall {
            id: str_field(obj, "id", path)?.to_string(),
            name: str_field(obj, "name", path)?.to_string(),
            input: required(obj, "input", path, "the call's input object")?.clone(),
        })),
        "tool_result" => {
            let is_error = match obj.get("is_error") {
                None | Some(Value::Null) => None,
                Some(Value::Bool(b)) => Some(*b),
                other => return Err(mismatch(at_key(path, "is_error"), "a boolean", other)),
            };
            Ok(Part::Result(ToolResult {
                call_id: str_field(obj, "tool_use_id", path)?.to_string(),
                content: flatten_content(obj.get("content"), &at_key(path, "content"))?,
                is_error,
            }))
        }
        // Thinking, images, documents, server tool blocks…: kept whole, so that rules comparing
        // histories still see them.
        _ => Ok(Part::Other(block.clone())),
    }
}

/// A message's `content`: a string is one text block, an array holds blocks.
fn parse_content(content: Option<&Value>, path: &str) -> Result<Vec<Part>, FormatError> {
    match content {
        Some(Value::String(s)) => Ok(vec![Part::Text(s.clone())]),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .enumerate()
            .map(|(i, b)| parse_block(b, &at_index(path, i)))
            .collect(),
        other => Err(mismatch(
            path,
            "a string or an array of content blocks",
            other,
        )),
    }
}

/// The stop reason of a reply or accumulated stream.
fn parse_stop(root: &Obj) -> Result<StopReason, FormatError> {
    match root.get("stop_reason") {
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

impl Format for Anthropic {
    fn provider(&self) -> Provider {
        Provider::Anthropic
    }

    fn parse_request(&self, body: &Value) -> Result<Request, FormatError> {
        let root = object(body, "", "a request object")?;
        let mut messages = Vec::new();
        // `system` is not an entry of `messages`: its message covers no wire entry.
        match root.get("system") {
            None | Some(Value::Null) => {}
            Some(system @ (Value::String(_) | Value::Array(_))) => messages.push(Message {
                role: Role::System,
                parts: parse_content(Some(system), "system")?,
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
            let path = at_index("messages", i);
            let obj = object(entry, &path, "a message object")?;
            let role = match str_field(obj, "role", &path)? {
                "user" => Role::User,
                "assistant" => Role::Assistant,
                other => {
                    return Err(FormatError::new(
                        at_key(&path, "role"),
                        format!(
                            "expected \"user\" or \"assistant\" (system text goes in the \
                             top-level `system` field), found {other:?}"
                        ),
                    ));
                }
            };
            messages.push(Message {
                role,
                parts: parse_content(obj.get("content"), &at_key(&path, "content"))?,
                wire_index: i,
                wire_len: 1,
            });
        }
        let tools = opt_array_field(root, "tools", "")?
            .unwrap_or_default()
            .iter()
            .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string))
            .collect();
        let parallel_disabled = root
            .get("tool_choice")
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

    fn parse_reply(&self, body: &Value) -> Result<Reply, FormatError> {
        let root = object(body, "", "a message object")?;
        if root.get("type").and_then(Value::as_str) == Some("error") {
            return Err(FormatError::new(
                "",
                format!(
                    "expected a message, found an error body ({})",
                    error_text(root.get("error"))
                ),
            ));
        }
        let id = opt_str_field(root, "id", "")?.map(str::to_string);
        let parts = array_field(root, "content", "")?
            .iter()
            .enumerate()
            .map(|(i, b)| parse_block(b, &at_index("content", i)))
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

    fn reply_from_stream(&self, events: &[SseEvent]) -> Result<Value, FormatError> {
        let mut acc = StreamAccumulator::default();
        for (i, event) in events.iter().enumerate() {
            // The SDK drops pings before looking at their data.
            if event.event.as_deref() == Some("ping") {
                continue;
            }
            let data = event_json(events, i)?;
            // The SDK dispatches on the `event:` name; the data's `type` is the fallback for
            // streams recorded without names.
            let name = match &event.event {
                Some(n) => n.clone(),
                None => data
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            };
            acc.apply(i, &name, &data)?;
        }
        acc.finish(events.len())
    }

    fn stream_from_reply(&self, body: &Value) -> Result<Vec<SseEvent>, FormatError> {
        // Validates everything the rest relies on (an object with an array of typed blocks).
        self.parse_reply(body)?;
        let root = body.as_object().cloned().unwrap_or_default();
        let blocks = root
            .get("content")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();

        let mut start = root.clone();
        start.insert("content".into(), json!([]));
        start.insert("stop_reason".into(), Value::Null);
        start.insert("stop_sequence".into(), Value::Null);
        // The real message_start counts only the first output token; message_delta brings the
        // total.
        if let Some(Value::Object(usage)) = start.get_mut("usage")
            && let Some(n) = usage.get("output_tokens").and_then(Value::as_u64)
        {
            usage.insert("output_tokens".into(), json!(n.min(1)));
        }

        let mut events = vec![
            SseEvent::named(
                "message_start",
                &json!({"type": "message_start", "message": start}),
            ),
            SseEvent::named("ping", &json!({"type": "ping"})),
        ];
        for (index, block) in blocks.iter().enumerate() {
            let (skeleton, deltas) = block_stream_parts(block);
            events.push(SseEvent::named(
                "content_block_start",
                &json!({"type": "content_block_start", "index": index, "content_block": skeleton}),
            ));
            for delta in deltas {
                events.push(SseEvent::named(
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": index, "delta": delta}),
                ));
            }
            events.push(SseEvent::named(
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": index}),
            ));
        }
        let mut message_delta = json!({
            "type": "message_delta",
            "delta": {
                "stop_reason": root.get("stop_reason").cloned().unwrap_or(Value::Null),
                "stop_sequence": root.get("stop_sequence").cloned().unwrap_or(Value::Null),
            }
        });
        if let Some(n) = root.get("usage").and_then(|u| u.get("output_tokens")) {
            message_delta["usage"] = json!({ "output_tokens": n });
        }
        events.push(SseEvent::named("message_delta", &message_delta));
        events.push(SseEvent::named(
            "message_stop",
            &json!({"type": "message_stop"}),
        ));
        Ok(events)
    }

    fn history_entries(&self, reply: &Value) -> Result<Vec<Value>, FormatError> {
        let root = object(reply, "", "a message object")?;
        let content = array_field(root, "content", "")?;
        Ok(vec![json!({"role": "assistant", "content": content})])
    }

    fn results_entries(&self, results: &[ResultBlock], text_before: Option<&str>) -> Vec<Value> {
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

    fn user_text_entry(&self, text: &str) -> Value {
        json!({"role": "user", "content": text})
    }

    fn history_mut<'a>(&self, request: &'a mut Value) -> Result<&'a mut Vec<Value>, FormatError> {
        history_array(request, "messages")
    }

    fn set_parallel_disabled(&self, request: &mut Value, disabled: bool) {
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

    fn error_body(&self, message: &str) -> Value {
        json!({
            "type": "error",
            "error": {"type": "invalid_request_error", "message": message},
            "request_id": ERROR_REQUEST_ID,
        })
    }
}

/// A block's `content_block_start` skeleton and its deltas, as the API streams it: text and
/// thinking grow from "", tool input arrives as JSON text fragments (the first one empty, as the
/// API often sends), other blocks (redacted thinking, …) arrive whole at the start.
fn block_stream_parts(block: &Value) -> (Value, Vec<Value>) {
    let mut skeleton = block.clone();
    let mut deltas = Vec::new();
    let ty = block
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match ty {
        "text" => {
            set_field(&mut skeleton, "text", json!(""));
            let text = block
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default();
            for piece in split_fragments(text, 3) {
                deltas.push(json!({"type": "text_delta", "text": piece}));
            }
        }
        "thinking" => {
            set_field(&mut skeleton, "thinking", json!(""));
            if block.get("signature").is_some() {
                set_field(&mut skeleton, "signature", json!(""));
            }
            let thinking = block
                .get("thinking")
                .and_then(Value::as_str)
                .unwrap_or_default();
            for piece in split_fragments(thinking, 3) {
                deltas.push(json!({"type": "thinking_delta", "thinking": piece}));
            }
            if let Some(sig) = block.get("signature") {
                deltas.push(json!({"type": "signature_delta", "signature": sig}));
            }
        }
        t if t.ends_with("tool_use") => {
            set_field(&mut skeleton, "input", json!({}));
            let input = block.get("input").cloned().unwrap_or_else(|| json!({}));
            deltas.push(json!({"type": "input_json_delta", "partial_json": ""}));
            if input != json!({}) {
                for piece in split_fragments(&input.to_string(), 2) {
                    deltas.push(json!({"type": "input_json_delta", "partial_json": piece}));
                }
            }
        }
        _ => {}
    }
    (skeleton, deltas)
}

/// The message under construction while reading a stream, as the SDK's accumulator keeps it.
#[derive(Default)]
struct StreamAccumulator {
    /// The message from `message_start`, with the blocks seen so far.
    message: Option<Obj>,
    /// Per block: the `input_json_delta` text received, and the event that last added to it.
    json_buffers: Vec<Option<(String, usize)>>,
}

impl StreamAccumulator {
    /// Apply event `i` named `name`.
    fn apply(&mut self, i: usize, name: &str, data: &Value) -> Result<(), FormatError> {
        let path = at_index("", i);
        let ev = object(data, &path, "an event object")?;
        match name {
            "error" => Err(FormatError::new(
                path,
                format!(
                    "the stream carried an error event ({})",
                    error_text(ev.get("error"))
                ),
            )),
            "message_start" => {
                if self.message.is_some() {
                    return Err(FormatError::new(
                        path,
                        "expected one message_start per stream, found a second one",
                    ));
                }
                let mpath = at_key(&path, "message");
                let mut message = object(
                    required(ev, "message", &path, "a message object")?,
                    &mpath,
                    "a message object",
                )?
                .clone();
                let blocks = match message.get("content") {
                    None | Some(Value::Null) => 0,
                    Some(Value::Array(a)) => a.len(),
                    other => {
                        return Err(mismatch(at_key(&mpath, "content"), "an array", other));
                    }
                };
                if blocks == 0 {
                    message.insert("content".into(), json!([]));
                }
                self.json_buffers = vec![None; blocks];
                self.message = Some(message);
                Ok(())
            }
            "content_block_start" => {
                let block = object(
                    required(ev, "content_block", &path, "a content block object")?,
                    &at_key(&path, "content_block"),
                    "a content block object",
                )?
                .clone();
                let content = self.content(&path, name)?;
                // The SDK appends without looking at `index`; deltas then address blocks by
                // index, so a stream whose indices are not 0, 1, 2… would corrupt the message.
                if let Some(index) = ev.get("index")
                    && index.as_u64() != Some(content.len() as u64)
                {
                    return Err(mismatch(
                        at_key(&path, "index"),
                        &format!("index {} (blocks are started in order)", content.len()),
                        Some(index),
                    ));
                }
                content.push(Value::Object(block));
                self.json_buffers.push(None);
                Ok(())
            }
            "content_block_delta" => self.apply_delta(i, ev),
            "content_block_stop" => {
                let index = self.block_index(ev, &path, name)?;
                self.finish_json(index)
            }
            "message_delta" => {
                let message = self.message_mut(&path, name)?;
                if let Some(delta) = ev.get("delta") {
                    let delta = object(delta, &at_key(&path, "delta"), "a delta object")?;
                    // Top-level fields (stop_reason, stop_sequence, container…); the content
                    // only ever grows through block events.
                    for (k, v) in delta.iter().filter(|(k, _)| k.as_str() != "content") {
                        message.insert(k.clone(), v.clone());
                    }
                }
                if let Some(Value::Object(usage)) = ev.get("usage") {
                    let total = message.entry("usage").or_insert_with(|| json!({}));
                    if let Value::Object(total) = total {
                        for (k, v) in usage.iter().filter(|(_, v)| !v.is_null()) {
                            total.insert(k.clone(), v.clone());
                        }
                    }
                }
                Ok(())
            }
            "message_stop" => self.message_mut(&path, name).map(|_| ()),
            // Newer or unknown events: clients must tolerate them.
            _ => Ok(()),
        }
    }

    /// The message, or the error for an event that came before `message_start`.
    fn message_mut(&mut self, path: &str, name: &str) -> Result<&mut Obj, FormatError> {
        self.message.as_mut().ok_or_else(|| {
            FormatError::new(
                path,
                format!("expected message_start before any other event, found {name}"),
            )
        })
    }

    /// The content array of the message.
    fn content(&mut self, path: &str, name: &str) -> Result<&mut Vec<Value>, FormatError> {
        let message = self.message_mut(path, name)?;
        match message.get_mut("content") {
            Some(Value::Array(a)) => Ok(a),
            _ => Err(FormatError::new(path, "the message has no content array")),
        }
    }

    /// The `index` of a block event, checked against the blocks started so far.
    fn block_index(&mut self, ev: &Obj, path: &str, name: &str) -> Result<usize, FormatError> {
        let started = self.content(path, name)?.len();
        match ev.get("index").and_then(Value::as_u64) {
            Some(n) if (n as usize) < started => Ok(n as usize),
            _ => Err(mismatch(
                at_key(path, "index"),
                &format!("the index of a started block (below {started})"),
                ev.get("index"),
            )),
        }
    }

    /// Apply a `content_block_delta` (event `i`) to its block.
    fn apply_delta(&mut self, i: usize, ev: &Obj) -> Result<(), FormatError> {
        let path = at_index("", i);
        let index = self.block_index(ev, &path, "content_block_delta")?;
        let dpath = at_key(&path, "delta");
        let delta = object(
            required(ev, "delta", &path, "a delta object")?,
            &dpath,
            "a delta object",
        )?;
        let delta_type = str_field(delta, "type", &dpath)?;
        let content = self.content(&path, "content_block_delta")?;
        let Some(block) = content[index].as_object_mut() else {
            return Err(FormatError::new(path, "the block is not an object"));
        };
        let block_type = block
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let wrong_block = |expected: &str| {
            FormatError::new(
                dpath.clone(),
                format!(
                    "expected a delta for a {expected} block, found a {delta_type} for a \
                     {block_type:?} block"
                ),
            )
        };
        match delta_type {
            "text_delta" => {
                if block_type != "text" {
                    return Err(wrong_block("text"));
                }
                append(block, "text", str_field(delta, "text", &dpath)?);
            }
            "thinking_delta" => {
                if block_type != "thinking" {
                    return Err(wrong_block("thinking"));
                }
                append(block, "thinking", str_field(delta, "thinking", &dpath)?);
            }
            "signature_delta" => {
                if block_type != "thinking" {
                    return Err(wrong_block("thinking"));
                }
                let sig = str_field(delta, "signature", &dpath)?;
                block.insert("signature".into(), json!(sig));
            }
            "citations_delta" => {
                let citation = required(delta, "citation", &dpath, "a citation object")?.clone();
                match block.entry("citations").or_insert_with(|| json!([])) {
                    Value::Array(list) => list.push(citation),
                    slot => *slot = json!([citation]),
                }
            }
            "input_json_delta" => {
                if !block_type.ends_with("tool_use") {
                    return Err(wrong_block("tool_use"));
                }
                let piece = str_field(delta, "partial_json", &dpath)?;
                if self.json_buffers.len() <= index {
                    self.json_buffers.resize(index + 1, None);
                }
                let buffer = self.json_buffers[index].get_or_insert_with(|| (String::new(), i));
                buffer.0.push_str(piece);
                buffer.1 = i;
            }
            // Unknown delta types are newer API features: tolerated.
            _ => {}
        }
        Ok(())
    }

    /// Parse the `input_json_delta` text of block `index` into its `input` ("" means `{}`).
    fn finish_json(&mut self, index: usize) -> Result<(), FormatError> {
        let Some((text, last_event)) = self.json_buffers.get_mut(index).and_then(Option::take)
        else {
            return Ok(());
        };
        let input = if text.is_empty() {
            json!({})
        } else {
            serde_json::from_str(&text).map_err(|e| {
                FormatError::new(
                    at_index("", last_event),
                    format!(
                        "expected the input_json_delta fragments of block {index} to form JSON, \
                         found {:?} ({e})",
                        shorten(&text)
                    ),
                )
            })?
        };
        if let Some(Some(Value::Object(block))) = self
            .message
            .as_mut()
            .and_then(|m| m.get_mut("content"))
            .and_then(Value::as_array_mut)
            .map(|c| c.get_mut(index))
        {
            block.insert("input".into(), input);
        }
        Ok(())
    }

    /// The accumulated message; blocks left open are closed as the SDK would read them.
    fn finish(mut self, event_count: usize) -> Result<Value, FormatError> {
        if self.message.is_none() {
            return Err(FormatError::new(
                "",
                if event_count == 0 {
                    "expected a stream starting with message_start, found no events".to_string()
                } else {
                    "expected a stream starting with message_start, found none".to_string()
                },
            ));
        }
        for index in 0..self.json_buffers.len() {
            self.finish_json(index)?;
        }
        Ok(Value::Object(self.message.unwrap_or_default()))
    }
}

/// Append `piece` to the string field `key` of `block` (created when missing).
fn append(block: &mut Map<String, Value>, key: &str, piece: &str) {
    match block.entry(key).or_insert_with(|| json!("")) {
        Value::String(s) => s.push_str(piece),
        slot => *slot = json!(piece),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::test_support::*;

    const REQUEST_HISTORY: &str =
        include_str!("../../tests/fixtures/provider/anthropic/request_parallel_history.json");
    const REQUEST_FIRST: &str =
        include_str!("../../tests/fixtures/provider/anthropic/request_first_turn.json");
    const REPLY_PARALLEL: &str =
        include_str!("../../tests/fixtures/provider/anthropic/reply_parallel_calls.json");
    const REPLY_THREE: &str =
        include_str!("../../tests/fixtures/provider/anthropic/reply_three_calls_thinking.json");
    const REPLY_FINAL: &str =
        include_str!("../../tests/fixtures/provider/anthropic/reply_final_answer.json");
    const STREAM_RECORDED: &str =
        include_str!("../../tests/fixtures/provider/anthropic/stream_two_calls_recorded.json");

    fn err_of(body: Value) -> FormatError {
        rejected(&Anthropic, body)
    }

    #[test]
    fn parses_a_parallel_request_with_history() {
        let body = load(REQUEST_HISTORY);
        let req = Anthropic.parse_request(&body).unwrap();
        assert_eq!(req.model.as_deref(), Some("claude-sonnet-4-5"));
        assert_eq!(req.tools, ["get_weather", "get_time", "web_search"]);
        assert!(!req.parallel_disabled);
        assert!(req.stream);
        assert_eq!(req.previous_response_id, None);
        assert_eq!(req.messages.len(), 6);

        let system = &req.messages[0];
        assert_eq!(system.role, Role::System);
        assert_eq!((system.wire_index, system.wire_len), (0, 0));
        assert_eq!(
            system.parts,
            [Part::Text(
                "You are a travel assistant. Use the tools; call independent tools in parallel."
                    .into()
            )]
        );

        let user = &req.messages[1];
        assert_eq!(
            (user.role, user.wire_index, user.wire_len),
            (Role::User, 0, 1)
        );
        assert_eq!(
            user.parts,
            [Part::Text(
                "What's the weather in San Francisco and New York, and the time in New York?"
                    .into()
            )]
        );

        let assistant = &req.messages[2];
        assert_eq!(
            (assistant.role, assistant.wire_index, assistant.wire_len),
            (Role::Assistant, 1, 1)
        );
        assert_eq!(assistant.parts.len(), 5);
        assert!(matches!(&assistant.parts[0], Part::Other(b) if b["type"] == "thinking"));
        assert_eq!(
            assistant.parts[1],
            Part::Text("I'll look up both cities.".into())
        );
        assert_eq!(
            assistant.parts[2..],
            [
                call(
                    "toolu_01A09q90qw90lq917835lq9",
                    "get_weather",
                    json!({"location": "San Francisco, CA"})
                ),
                call(
                    "toolu_01B7rTq2dXq3mYb1vN4pQz8K",
                    "get_weather",
                    json!({"location": "New York, NY"})
                ),
                call(
                    "toolu_01C4hWm8sLp2VxQ9rT6yN3kE",
                    "get_time",
                    json!({"timezone": "America/New_York"})
                ),
            ]
        );

        let results = &req.messages[3];
        assert_eq!(
            (results.role, results.wire_index, results.wire_len),
            (Role::User, 2, 1)
        );
        assert_eq!(
            results.parts,
            [
                flagged("toolu_01B7rTq2dXq3mYb1vN4pQz8K", "NYC: 12°C, rain", None),
                flagged(
                    "toolu_01A09q90qw90lq917835lq9",
                    "weather backend timed out after 30s",
                    Some(true)
                ),
                flagged(
                    "toolu_01C4hWm8sLp2VxQ9rT6yN3kE",
                    "14:05\nEDT (UTC-4)",
                    Some(false)
                ),
                Part::Text("Anything else I should check?".into()),
            ]
        );

        assert_eq!(
            (req.messages[4].role, req.messages[4].wire_index),
            (Role::Assistant, 3)
        );
        assert_eq!(
            (
                req.messages[5].role,
                req.messages[5].wire_index,
                req.messages[5].wire_len
            ),
            (Role::User, 4, 1)
        );
        assert_eq!(
            req.messages[5].parts,
            [Part::Text("Try San Francisco again, please.".into())]
        );
    }

    #[test]
    fn string_system_and_switches() {
        let req = Anthropic
            .parse_request(&json!({
                "system": "Be brief.",
                "tools": [{"name": "a"}, {"type": "custom_without_name"}, {"name": "b"}],
                "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
                "stream": false,
                "messages": []
            }))
            .unwrap();
        assert_eq!(req.messages.len(), 1);
        assert_eq!(req.messages[0].parts, [Part::Text("Be brief.".into())]);
        assert_eq!(req.tools, ["a", "b"]);
        assert!(req.parallel_disabled);
        assert!(!req.stream);
        assert_eq!(req.model, None);

        let no_system = Anthropic
            .parse_request(&json!({"messages": [{"role": "user", "content": "hi"}]}))
            .unwrap();
        assert_eq!(no_system.messages.len(), 1);
        assert_eq!(no_system.messages[0].role, Role::User);
        assert!(!no_system.parallel_disabled);
    }

    #[test]
    fn malformed_requests_say_where_and_what() {
        let e = err_of(json!([1, 2]));
        assert_eq!(e.path, "");
        assert_eq!(
            e.message,
            "expected a request object, found an array of 2 item(s)"
        );

        let e = err_of(json!({"model": "claude-sonnet-4-5"}));
        assert_eq!(e.path, "messages");
        assert_eq!(
            e.message,
            "expected an array, found nothing (the field is missing)"
        );

        let e = err_of(json!({"messages": [{"role": "system", "content": "x"}]}));
        assert_eq!(e.path, "messages[0].role");
        assert!(e.message.starts_with("expected \"user\" or \"assistant\""));
        assert!(e.message.ends_with("found \"system\""));

        let e = err_of(json!({"messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "ok"},
                {"type": "tool_use", "name": "get_weather", "input": {}}
            ]}
        ]}));
        assert_eq!(e.path, "messages[1].content[1].id");
        assert_eq!(
            e.message,
            "expected a string, found nothing (the field is missing)"
        );

        let e = err_of(json!({"messages": [{"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_01X", "input": {}}
        ]}]}));
        assert_eq!(e.path, "messages[0].content[0].name");

        let e = err_of(json!({"messages": [
            {"role": "user", "content": [{"type": "tool_result", "content": "x"}]},
            {"role": "user", "content": "y"},
            {"role": "user", "content": [
                {"type": "text", "text": "a"},
                {"type": "tool_result", "tool_use_id": 7}
            ]}
        ]}));
        assert_eq!(e.path, "messages[0].content[0].tool_use_id");

        let e = err_of(json!({"messages": [{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01X", "is_error": "yes"}
        ]}]}));
        assert_eq!(e.path, "messages[0].content[0].is_error");
        assert_eq!(e.message, "expected a boolean, found the string \"yes\"");

        let e = err_of(json!({"messages": [{"role": "user", "content": 5}]}));
        assert_eq!(e.path, "messages[0].content");
        assert_eq!(
            e.message,
            "expected a string or an array of content blocks, found the number 5"
        );

        let e = err_of(json!({"messages": [{"role": "user", "content": ["hi"]}]}));
        assert_eq!(e.path, "messages[0].content[0]");

        let e = err_of(json!({"system": 3, "messages": []}));
        assert_eq!(e.path, "system");

        let e = err_of(json!({"messages": [], "tools": {}}));
        assert_eq!(e.path, "tools");
    }

    #[test]
    fn parses_replies() {
        let reply = Anthropic.parse_reply(&load(REPLY_PARALLEL)).unwrap();
        assert_eq!(reply.id.as_deref(), Some("msg_01Aq9w938a90dw8q4HzL7cGe"));
        assert_eq!(reply.stop, StopReason::ToolUse);
        assert_eq!(reply.message.role, Role::Assistant);
        assert_eq!((reply.message.wire_index, reply.message.wire_len), (0, 1));
        assert_eq!(
            reply.message.parts,
            [
                Part::Text("I'll look up both cities.".into()),
                call(
                    "toolu_01A09q90qw90lq917835lq9",
                    "get_weather",
                    json!({"location": "San Francisco, CA"})
                ),
                call(
                    "toolu_01B7rTq2dXq3mYb1vN4pQz8K",
                    "get_weather",
                    json!({"location": "New York, NY"})
                ),
            ]
        );

        let three = Anthropic.parse_reply(&load(REPLY_THREE)).unwrap();
        assert_eq!(three.calls().len(), 3);
        assert_eq!(three.calls()[2].input, json!({}));
        assert!(matches!(&three.message.parts[0], Part::Other(b) if b["type"] == "thinking"));

        let fin = Anthropic.parse_reply(&load(REPLY_FINAL)).unwrap();
        assert_eq!(fin.stop, StopReason::EndTurn);
        assert!(!fin.wants_tools());

        let mut capped = load(REPLY_FINAL);
        capped["stop_reason"] = json!("max_tokens");
        assert_eq!(
            Anthropic.parse_reply(&capped).unwrap().stop,
            StopReason::Other("max_tokens".into())
        );
    }

    #[test]
    fn malformed_replies() {
        let mut no_stop = load(REPLY_FINAL);
        no_stop["stop_reason"] = Value::Null;
        let e = Anthropic.parse_reply(&no_stop).unwrap_err();
        assert_eq!(e.path, "stop_reason");
        assert!(e.message.ends_with("found null"));

        let mut bad_block = load(REPLY_PARALLEL);
        bad_block["content"][2]["input"] = Value::Null;
        bad_block["content"][2]
            .as_object_mut()
            .unwrap()
            .remove("input");
        let e = Anthropic.parse_reply(&bad_block).unwrap_err();
        assert_eq!(e.path, "content[2].input");

        let e = Anthropic
            .parse_reply(&Anthropic.error_body("messages.1: bad"))
            .unwrap_err();
        assert_eq!(e.path, "");
        assert!(e.message.contains("invalid_request_error: messages.1: bad"));

        let e = Anthropic.parse_reply(&json!({"id": "msg_1"})).unwrap_err();
        assert_eq!(e.path, "content");
    }

    /// The property the mock server relies on: streaming a reply and accumulating it back gives
    /// the same reply (and here even the same JSON).
    #[test]
    fn stream_round_trip_on_every_fixture_reply() {
        for text in [REPLY_PARALLEL, REPLY_THREE, REPLY_FINAL] {
            let body = load(text);
            let events = Anthropic.stream_from_reply(&body).unwrap();
            let rebuilt = Anthropic.reply_from_stream(&events).unwrap();
            assert_eq!(rebuilt, body);
            assert_eq!(
                Anthropic.parse_reply(&rebuilt).unwrap(),
                Anthropic.parse_reply(&body).unwrap()
            );
        }
    }

    #[test]
    fn emitted_stream_looks_like_the_api() {
        let body = load(REPLY_PARALLEL);
        let events = Anthropic.stream_from_reply(&body).unwrap();
        let datas: Vec<Value> = events
            .iter()
            .map(|e| serde_json::from_str(&e.data).unwrap())
            .collect();
        for (e, d) in events.iter().zip(&datas) {
            assert_eq!(
                e.event.as_deref(),
                d["type"].as_str(),
                "event name = data type"
            );
            assert_eq!(e.gap_ms, 0);
        }
        let names: Vec<&str> = events.iter().filter_map(|e| e.event.as_deref()).collect();
        assert_eq!(names.first(), Some(&"message_start"));
        assert_eq!(names.last(), Some(&"message_stop"));
        assert_eq!(names[names.len() - 2], "message_delta");

        let start = &datas[0]["message"];
        assert_eq!(start["content"], json!([]));
        assert_eq!(start["stop_reason"], Value::Null);
        assert_eq!(start["id"], body["id"]);

        // Blocks one at a time, indices 0, 1, 2 in order.
        let mut open: Option<u64> = None;
        let mut started = Vec::new();
        for d in &datas {
            match d["type"].as_str().unwrap() {
                "content_block_start" => {
                    assert_eq!(open, None);
                    let i = d["index"].as_u64().unwrap();
                    assert_eq!(i, started.len() as u64);
                    started.push(d["content_block"]["type"].as_str().unwrap().to_string());
                    open = Some(i);
                }
                "content_block_delta" => assert_eq!(Some(d["index"].as_u64().unwrap()), open),
                "content_block_stop" => {
                    assert_eq!(Some(d["index"].as_u64().unwrap()), open);
                    open = None;
                }
                _ => {}
            }
        }
        assert_eq!(started, ["text", "tool_use", "tool_use"]);

        // Tool input arrives as JSON text fragments, the block starting with an empty input.
        let tool_start = datas
            .iter()
            .find(|d| d["content_block"]["type"] == "tool_use")
            .unwrap();
        assert_eq!(tool_start["content_block"]["input"], json!({}));
        let fragments: Vec<&str> = datas
            .iter()
            .filter(|d| d["index"] == 1 && d["delta"]["type"] == "input_json_delta")
            .map(|d| d["delta"]["partial_json"].as_str().unwrap())
            .collect();
        assert!((2..=3).contains(&fragments.len()));
        assert_eq!(
            serde_json::from_str::<Value>(&fragments.concat()).unwrap(),
            json!({"location": "San Francisco, CA"})
        );

        let delta = &datas[datas.len() - 2];
        assert_eq!(delta["delta"]["stop_reason"], "tool_use");
        assert_eq!(delta["usage"]["output_tokens"], 89);
    }

    #[test]
    fn accumulates_the_recorded_two_call_stream_with_ping() {
        let events: Vec<SseEvent> = serde_json::from_str(STREAM_RECORDED).unwrap();
        assert!(events.iter().any(|e| e.event.as_deref() == Some("ping")));
        let body = Anthropic.reply_from_stream(&events).unwrap();
        assert_eq!(body["id"], "msg_014p7gG3wDgGV9EUtLvnow3U");
        assert_eq!(body["stop_reason"], "tool_use");
        assert_eq!(
            body["usage"],
            json!({"input_tokens": 472, "output_tokens": 89})
        );
        let reply = Anthropic.parse_reply(&body).unwrap();
        assert_eq!(reply.stop, StopReason::ToolUse);
        assert_eq!(
            reply.message.parts,
            [
                Part::Text("Checking both cities.".into()),
                call(
                    "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                    "get_weather",
                    json!({"location": "San Francisco, CA"})
                ),
                call(
                    "toolu_01Lq7Bv9mZc2XgUe8HnRwY3D",
                    "get_weather",
                    json!({"location": "New York, NY"})
                ),
            ]
        );
    }

    #[test]
    fn stream_accumulates_thinking_and_empty_input() {
        let events: Vec<SseEvent> = [
            ("message_start", json!({"type": "message_start", "message": {"id": "msg_01", "type": "message", "role": "assistant", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 5, "output_tokens": 1}}})),
            ("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}})),
            ("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Let me "}})),
            ("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "think."}})),
            ("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQB"}})),
            ("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
            ("content_block_start", json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_01Z", "name": "list_alerts", "input": {}}})),
            ("content_block_delta", json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": ""}})),
            ("content_block_stop", json!({"type": "content_block_stop", "index": 1})),
            ("some_future_event", json!({"type": "some_future_event"})),
            ("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 12}})),
            ("message_stop", json!({"type": "message_stop"})),
        ]
        .iter()
        .map(|(n, d)| SseEvent::named(n, d))
        .collect();
        let body = Anthropic.reply_from_stream(&events).unwrap();
        assert_eq!(
            body["content"],
            json!([
                {"type": "thinking", "thinking": "Let me think.", "signature": "EqQB"},
                {"type": "tool_use", "id": "toolu_01Z", "name": "list_alerts", "input": {}}
            ])
        );
        assert_eq!(
            body["usage"],
            json!({"input_tokens": 5, "output_tokens": 12})
        );
    }

    #[test]
    fn stream_errors_point_at_the_event() {
        let good: Vec<SseEvent> = serde_json::from_str(STREAM_RECORDED).unwrap();

        let e = Anthropic.reply_from_stream(&[]).unwrap_err();
        assert_eq!(e.path, "");
        assert!(e.message.contains("message_start"));

        let e = Anthropic.reply_from_stream(&good[1..]).unwrap_err();
        assert_eq!(e.path, "[0]");
        assert_eq!(
            e.message,
            "expected message_start before any other event, found content_block_start"
        );

        let mut with_error = good.clone();
        with_error.insert(
            4,
            SseEvent::named(
                "error",
                &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            ),
        );
        let e = Anthropic.reply_from_stream(&with_error).unwrap_err();
        assert_eq!(e.path, "[4]");
        assert_eq!(
            e.message,
            "the stream carried an error event (overloaded_error: Overloaded)"
        );

        let mut bad_json = good.clone();
        bad_json[3].data = "{\"type\":".into();
        let e = Anthropic.reply_from_stream(&bad_json).unwrap_err();
        assert_eq!(e.path, "[3]");
        assert!(e.message.starts_with("expected the event data to be JSON"));

        // Event 8 is the last input fragment of block 1: the error points at it.
        let mut bad_input = good.clone();
        bad_input[8] = SseEvent::named(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "ncisco"}}),
        );
        let e = Anthropic.reply_from_stream(&bad_input).unwrap_err();
        assert_eq!(e.path, "[8]");
        assert!(
            e.message
                .starts_with("expected the input_json_delta fragments of block 1")
        );

        let mut bad_index = good.clone();
        bad_index[3] = SseEvent::named(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 5, "delta": {"type": "text_delta", "text": "x"}}),
        );
        let e = Anthropic.reply_from_stream(&bad_index).unwrap_err();
        assert_eq!(e.path, "[3].index");
        assert_eq!(
            e.message,
            "expected the index of a started block (below 1), found the number 5"
        );

        let mut wrong_delta = good.clone();
        wrong_delta[3] = SseEvent::named(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{}"}}),
        );
        let e = Anthropic.reply_from_stream(&wrong_delta).unwrap_err();
        assert_eq!(e.path, "[3].delta");
        assert!(e.message.contains("tool_use block"));

        let mut skipped_index = good.clone();
        skipped_index[5] = SseEvent::named(
            "content_block_start",
            &json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_01T", "name": "x", "input": {}}}),
        );
        let e = Anthropic.reply_from_stream(&skipped_index).unwrap_err();
        assert_eq!(e.path, "[5].index");
    }

    #[test]
    fn follow_up_built_from_entries_parses_back() {
        let mut request = load(REQUEST_FIRST);
        let reply = load(REPLY_PARALLEL);
        let results = [
            ResultBlock {
                call_id: "toolu_01B7rTq2dXq3mYb1vN4pQz8K".into(),
                content: "NYC: 12°C, rain".into(),
                is_error: false,
            },
            ResultBlock {
                call_id: "toolu_01A09q90qw90lq917835lq9".into(),
                content: "weather backend timed out".into(),
                is_error: true,
            },
        ];
        let assistant = Anthropic.history_entries(&reply).unwrap();
        assert_eq!(
            assistant,
            [json!({"role": "assistant", "content": reply["content"]})]
        );
        let entries = Anthropic.results_entries(&results, None);
        assert_eq!(entries.len(), 1);
        assert_eq!(
            entries[0]["content"][0],
            json!({"type": "tool_result", "tool_use_id": "toolu_01B7rTq2dXq3mYb1vN4pQz8K", "content": "NYC: 12°C, rain"})
        );
        assert_eq!(entries[0]["content"][1]["is_error"], json!(true));
        let history = Anthropic.history_mut(&mut request).unwrap();
        history.extend(assistant);
        history.extend(entries);

        let req = Anthropic.parse_request(&request).unwrap();
        assert_eq!(req.messages.len(), 4);
        let parsed_reply = Anthropic.parse_reply(&reply).unwrap();
        let turn = &req.messages[2];
        assert_eq!((turn.role, turn.wire_index), (Role::Assistant, 1));
        assert_eq!(turn.parts, parsed_reply.message.parts);
        let res = &req.messages[3];
        assert_eq!((res.role, res.wire_index, res.wire_len), (Role::User, 2, 1));
        assert_eq!(
            res.parts,
            [
                flagged("toolu_01B7rTq2dXq3mYb1vN4pQz8K", "NYC: 12°C, rain", None),
                flagged(
                    "toolu_01A09q90qw90lq917835lq9",
                    "weather backend timed out",
                    Some(true)
                ),
            ]
        );

        // text_before goes first, in the same user message.
        let with_text = Anthropic.results_entries(&results[..1], Some("Here you go."));
        assert_eq!(with_text.len(), 1);
        assert_eq!(
            with_text[0]["content"][0],
            json!({"type": "text", "text": "Here you go."})
        );
        assert_eq!(with_text[0]["content"][1]["type"], "tool_result");

        let mut next = request.clone();
        Anthropic
            .history_mut(&mut next)
            .unwrap()
            .push(Anthropic.user_text_entry("thanks"));
        let req = Anthropic.parse_request(&next).unwrap();
        assert_eq!(
            req.messages.last().unwrap().parts,
            [Part::Text("thanks".into())]
        );
    }

    #[test]
    fn history_mut_checks_the_body() {
        let mut empty = json!({"model": "m"});
        assert!(Anthropic.history_mut(&mut empty).unwrap().is_empty());
        assert_eq!(empty["messages"], json!([]));
        let mut bad = json!({"messages": {"role": "user"}});
        let e = Anthropic.history_mut(&mut bad).unwrap_err();
        assert_eq!(e.path, "messages");
        assert_eq!(e.message, "expected an array, found an object");
        assert_eq!(Anthropic.history_mut(&mut json!("x")).unwrap_err().path, "");
        assert!(Anthropic.history_entries(&json!({"id": "msg_1"})).is_err());
    }

    #[test]
    fn parallel_switch_round_trips() {
        let mut request = load(REQUEST_FIRST);
        assert!(!Anthropic.parse_request(&request).unwrap().parallel_disabled);
        Anthropic.set_parallel_disabled(&mut request, true);
        assert_eq!(
            request["tool_choice"],
            json!({"type": "auto", "disable_parallel_tool_use": true})
        );
        assert!(Anthropic.parse_request(&request).unwrap().parallel_disabled);
        Anthropic.set_parallel_disabled(&mut request, false);
        assert_eq!(request["tool_choice"], json!({"type": "auto"}));
        assert!(!Anthropic.parse_request(&request).unwrap().parallel_disabled);

        let mut forced = load(REQUEST_FIRST);
        forced["tool_choice"] = json!({"type": "tool", "name": "get_weather"});
        Anthropic.set_parallel_disabled(&mut forced, true);
        assert_eq!(
            forced["tool_choice"],
            json!({"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true})
        );

        let mut none = load(REQUEST_FIRST);
        none["tool_choice"] = json!({"type": "none"});
        Anthropic.set_parallel_disabled(&mut none, true);
        assert_eq!(none["tool_choice"], json!({"type": "none"}));

        let mut untouched = load(REQUEST_FIRST);
        Anthropic.set_parallel_disabled(&mut untouched, false);
        assert_eq!(untouched, load(REQUEST_FIRST));
    }

    #[test]
    fn error_body_has_the_api_envelope() {
        let body = Anthropic.error_body("messages.2: bad");
        assert_eq!(body["type"], "error");
        assert_eq!(
            body["error"],
            json!({"type": "invalid_request_error", "message": "messages.2: bad"})
        );
        assert!(body["request_id"].as_str().unwrap().starts_with("req_"));
        assert_eq!(
            Anthropic.user_text_entry("hi"),
            json!({"role": "user", "content": "hi"})
        );
        assert_eq!(Anthropic.provider(), Provider::Anthropic);
    }
}
