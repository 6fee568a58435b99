//! OpenAI Chat Completions (`POST /v1/chat/completions`).
//!
//! Calls are the assistant message's `tool_calls` (arguments as a JSON *string*); each result is
//! its own `role: "tool"` message, so a run of them is grouped into one neutral message. Streams
//! are unnamed `data:` chunks merged by index, ending with `data: [DONE]` (protocols.md §2).

use serde_json::{Map, Value, json};

use super::common::{
    Obj, array_field, at_index, at_key, error_text, event_json, flatten_content, history_array,
    is_true, mismatch, model, object, openai_error_body, openai_parallel_disabled, opt_array_field,
    opt_str_field, parse_arguments, required, set_openai_parallel_disabled, split_fragments,
    str_field,
};
use super::{Format, FormatError, ResultBlock, SseEvent};
use crate::transcript::{
    Message, Part, Provider, Reply, Request, Role, StopReason, ToolCall, ToolResult,
};

/// The OpenAI Chat Completions API.
pub struct OpenAiChat;

/// A message's `content`: a string is one text part, an array holds parts (`text` parts become
/// text, others — images, audio, refusals — are kept whole), null or missing holds nothing.
fn parse_content(content: Option<&Value>, path: &str) -> Result<Vec<Part>, FormatError> {
    match content {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![Part::Text(s.clone())]),
        Some(Value::Array(parts)) => parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let ppath = at_index(path, i);
                let obj = object(part, &ppath, "a content part object")?;
                match str_field(obj, "type", &ppath)? {
                    "text" => Ok(Part::Text(str_field(obj, "text", &ppath)?.to_string())),
                    _ => Ok(Part::Other(part.clone())),
                }
            })
            .collect(),
        other => Err(mismatch(
            path,
            "a string, an array of content parts or null",
            other,
        )),
    }
}

/// One entry of `tool_calls`. Function calls carry a JSON-string `arguments`; custom tool calls
/// carry free text `input`, kept as a string. Unknown kinds are kept whole.
fn parse_tool_call(call: &Value, path: &str) -> Result<Part, FormatError> {
    let obj = object(call, path, "a tool call object")?;
    let id = str_field(obj, "id", path)?.to_string();
    match obj.get("type").and_then(Value::as_str) {
        None | Some("function") => {
            let fpath = at_key(path, "function");
            let f = object(
                required(obj, "function", path, "a function object")?,
                &fpath,
                "a function object",
            )?;
            Ok(Part::Call(ToolCall {
                id,
                name: str_field(f, "name", &fpath)?.to_string(),
                input: parse_arguments(str_field(f, "arguments", &fpath)?),
            }))
        }
        Some("custom") => {
            let cpath = at_key(path, "custom");
            let c = object(
                required(obj, "custom", path, "a custom tool call object")?,
                &cpath,
                "a custom tool call object",
            )?;
            Ok(Part::Call(ToolCall {
                id,
                name: str_field(c, "name", &cpath)?.to_string(),
                input: Value::String(str_field(c, "input", &cpath)?.to_string()),
            }))
        }
        Some(_) => Ok(Part::Other(call.clone())),
    }
}

/// The parts of an assistant message: its content, then its tool calls in order.
fn assistant_parts(msg: &Obj, path: &str) -> Result<Vec<Part>, FormatError> {
    let mut parts = parse_content(msg.get("content"), &at_key(path, "content"))?;
    if let Some(calls) = opt_array_field(msg, "tool_calls", path)? {
        let cpath = at_key(path, "tool_calls");
        for (i, call) in calls.iter().enumerate() {
            parts.push(parse_tool_call(call, &at_index(&cpath, i))?);
        }
    }
    Ok(parts)
}

/// The name of an entry of `tools`: `function.name` for function tools, `custom.name` or a
/// top-level `name` for other shapes.
fn tool_name(tool: &Value) -> Option<&str> {
    tool.pointer("/function/name")
        .or_else(|| tool.pointer("/custom/name"))
        .or_else(|| tool.get("name"))
        .and_then(Value::as_str)
}

impl Format for OpenAiChat {
    fn provider(&self) -> Provider {
        Provider::OpenAiChat
    }

    fn parse_request(&self, body: &Value) -> Result<Request, FormatError> {
        let root = object(body, "", "a request object")?;
        let mut messages: Vec<Message> = Vec::new();
        for (i, entry) in array_field(root, "messages", "")?.iter().enumerate() {
            let path = at_index("messages", i);
            let obj = object(entry, &path, "a message object")?;
            let role = match str_field(obj, "role", &path)? {
                "system" | "developer" => Role::System,
                "user" => Role::User,
                "assistant" => Role::Assistant,
                "tool" => Role::Tool,
                other => {
                    return Err(FormatError::new(
                        at_key(&path, "role"),
                        format!(
                            "expected \"system\", \"developer\", \"user\", \"assistant\" or \
                             \"tool\", found {other:?}"
                        ),
                    ));
                }
            };
            let parts = match role {
                Role::Assistant => assistant_parts(obj, &path)?,
                Role::Tool => vec![Part::Result(ToolResult {
                    call_id: str_field(obj, "tool_call_id", &path)?.to_string(),
                    content: flatten_content(obj.get("content"), &at_key(&path, "content"))?,
                    is_error: None,
                })],
                _ => parse_content(obj.get("content"), &at_key(&path, "content"))?,
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
            .filter_map(|t| tool_name(t).map(str::to_string))
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

    fn parse_reply(&self, body: &Value) -> Result<Reply, FormatError> {
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
        let mpath = at_key(cpath, "message");
        let msg = object(
            required(choice, "message", cpath, "a message object")?,
            &mpath,
            "a message object",
        )?;
        let stop = match choice.get("finish_reason") {
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
                parts: assistant_parts(msg, &mpath)?,
                wire_index: 0,
                wire_len: 1,
            },
            stop,
        })
    }

    fn reply_from_stream(&self, events: &[SseEvent]) -> Result<Value, FormatError> {
        let mut acc = ChunkAccumulator::default();
        for (i, event) in events.iter().enumerate() {
            if event.data.trim() == "[DONE]" {
                break;
            }
            let data = event_json(events, i)?;
            acc.apply(i, &data)?;
        }
        acc.finish()
    }

    fn stream_from_reply(&self, body: &Value) -> Result<Vec<SseEvent>, FormatError> {
        // Validates the first choice; the loop below checks what it streams of the others.
        self.parse_reply(body)?;
        let root = body.as_object().cloned().unwrap_or_default();
        // Every chunk repeats the completion's identity fields.
        let mut base = Map::new();
        base.insert("id".into(), root.get("id").cloned().unwrap_or(Value::Null));
        base.insert("object".into(), json!("chat.completion.chunk"));
        for key in ["created", "model", "service_tier", "system_fingerprint"] {
            if let Some(v) = root.get(key) {
                base.insert(key.into(), v.clone());
            }
        }
        let chunk = |choices: Value| {
            let mut c = base.clone();
            c.insert("choices".into(), choices);
            SseEvent::data(Value::Object(c).to_string())
        };
        let delta_chunk = |index: &Value, delta: Value, finish: &Value| {
            chunk(json!([{
                "index": index,
                "delta": delta,
                "logprobs": null,
                "finish_reason": finish,
            }]))
        };

        let mut events = Vec::new();
        let choices = root
            .get("choices")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (c, choice) in choices.iter().enumerate() {
            let cpath = at_index("choices", c);
            let index = choice.get("index").cloned().unwrap_or_else(|| json!(c));
            let msg = choice.get("message").cloned().unwrap_or_default();
            let content = match msg.get("content") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                other => {
                    return Err(mismatch(
                        at_key(&at_key(&cpath, "message"), "content"),
                        "string content (only text content can be streamed)",
                        other,
                    ));
                }
            };
            // The first chunk names the role; its content is "" for text, null otherwise.
            let opening = if content.is_some() {
                json!("")
            } else {
                Value::Null
            };
            events.push(delta_chunk(
                &index,
                json!({"role": "assistant", "content": opening}),
                &Value::Null,
            ));
            for piece in split_fragments(content.as_deref().unwrap_or_default(), 3) {
                events.push(delta_chunk(&index, json!({"content": piece}), &Value::Null));
            }
            if let Some(refusal) = msg.get("refusal").filter(|r| r.is_string()) {
                events.push(delta_chunk(
                    &index,
                    json!({"refusal": refusal}),
                    &Value::Null,
                ));
            }
            let calls = msg
                .get("tool_calls")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for (k, call) in calls.iter().enumerate() {
                for fragment in tool_call_fragments(k, call) {
                    events.push(delta_chunk(
                        &index,
                        json!({"tool_calls": [fragment]}),
                        &Value::Null,
                    ));
                }
            }
            let finish = choice.get("finish_reason").cloned().unwrap_or(Value::Null);
            events.push(delta_chunk(&index, json!({}), &finish));
        }
        // The usage chunk (sent with `stream_options.include_usage`) has no choices.
        if let Some(usage) = root.get("usage").filter(|u| !u.is_null()) {
            let mut last = base.clone();
            last.insert("choices".into(), json!([]));
            last.insert("usage".into(), usage.clone());
            events.push(SseEvent::data(Value::Object(last).to_string()));
        }
        events.push(SseEvent::data("[DONE]"));
        Ok(events)
    }

    fn history_entries(&self, reply: &Value) -> Result<Vec<Value>, FormatError> {
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

    fn results_entries(&self, results: &[ResultBlock], text_before: Option<&str>) -> Vec<Value> {
        let mut out = Vec::with_capacity(results.len() + 1);
        if let Some(text) = text_before {
            out.push(self.user_text_entry(text));
        }
        out.extend(
            results
                .iter()
                .map(|r| json!({"role": "tool", "tool_call_id": r.call_id, "content": r.content})),
        );
        out
    }

    fn user_text_entry(&self, text: &str) -> Value {
        json!({"role": "user", "content": text})
    }

    fn history_mut<'a>(&self, request: &'a mut Value) -> Result<&'a mut Vec<Value>, FormatError> {
        history_array(request, "messages")
    }

    fn set_parallel_disabled(&self, request: &mut Value, disabled: bool) {
        set_openai_parallel_disabled(request, disabled);
    }

    fn error_body(&self, message: &str) -> Value {
        openai_error_body(message)
    }
}

/// The fragments of tool call `k` as the API streams them: the first carries id, type, name and
/// empty arguments, the next ones pieces of the arguments string. Other call kinds go whole.
fn tool_call_fragments(k: usize, call: &Value) -> Vec<Value> {
    let kind = call
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("function");
    if kind != "function" {
        let mut whole = Map::new();
        whole.insert("index".into(), json!(k));
        if let Some(obj) = call.as_object() {
            whole.extend(obj.clone());
        }
        return vec![Value::Object(whole)];
    }
    let name = call.pointer("/function/name").cloned().unwrap_or_default();
    let arguments = call
        .pointer("/function/arguments")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut out = vec![json!({
        "index": k,
        "id": call.get("id").cloned().unwrap_or_default(),
        "type": "function",
        "function": {"name": name, "arguments": ""},
    })];
    for piece in split_fragments(arguments, 3) {
        out.push(json!({"index": k, "function": {"arguments": piece}}));
    }
    out
}

/// One choice being rebuilt from chunks.
#[derive(Default)]
struct ChoiceSnapshot {
    /// The message so far, merged from the deltas.
    message: Obj,
    /// The finish reason, once a chunk gave it.
    finish_reason: Option<Value>,
}

/// The completion being rebuilt from chunks, as the SDK's stream helper does.
#[derive(Default)]
struct ChunkAccumulator {
    /// `id`, `created`, `model`, … from the first chunk that has them.
    header: Obj,
    /// Choices by their `index`.
    choices: Vec<(u64, ChoiceSnapshot)>,
    /// The usage chunk's `usage`.
    usage: Option<Value>,
    /// How many chunks were read.
    chunks: usize,
}

impl ChunkAccumulator {
    /// Merge chunk `i`.
    fn apply(&mut self, i: usize, data: &Value) -> Result<(), FormatError> {
        let path = at_index("", i);
        let chunk = object(data, &path, "a chat.completion.chunk object")?;
        if let Some(error) = chunk.get("error").filter(|e| !e.is_null()) {
            return Err(FormatError::new(
                path,
                format!("the stream carried an error ({})", error_text(Some(error))),
            ));
        }
        self.chunks += 1;
        for key in [
            "id",
            "created",
            "model",
            "service_tier",
            "system_fingerprint",
        ] {
            if let Some(v) = chunk.get(key).filter(|v| !v.is_null()) {
                self.header.entry(key).or_insert_with(|| v.clone());
            }
        }
        if let Some(usage) = chunk.get("usage").filter(|u| !u.is_null()) {
            self.usage = Some(usage.clone());
        }
        let Some(choices) = opt_array_field(chunk, "choices", &path)? else {
            return Ok(());
        };
        for (j, choice) in choices.iter().enumerate() {
            let cpath = at_index(&at_key(&path, "choices"), j);
            let choice = object(choice, &cpath, "a choice object")?;
            let index = match choice.get("index") {
                None => j as u64,
                Some(v) => v
                    .as_u64()
                    .ok_or_else(|| mismatch(at_key(&cpath, "index"), "a choice index", Some(v)))?,
            };
            let pos = match self.choices.iter().position(|(n, _)| *n == index) {
                Some(pos) => pos,
                None => {
                    self.choices.push((index, ChoiceSnapshot::default()));
                    self.choices.len() - 1
                }
            };
            let snapshot = &mut self.choices[pos].1;
            if let Some(delta) = choice.get("delta").filter(|d| !d.is_null()) {
                let dpath = at_key(&cpath, "delta");
                let delta = object(delta, &dpath, "a delta object")?;
                check_fragment_indices(delta, &dpath)?;
                merge_delta(&mut snapshot.message, delta);
            }
            if let Some(finish) = choice.get("finish_reason").filter(|f| !f.is_null()) {
                snapshot.finish_reason = Some(finish.clone());
            }
        }
        Ok(())
    }

    /// The `chat.completion` body.
    fn finish(self) -> Result<Value, FormatError> {
        if self.chunks == 0 {
            return Err(FormatError::new(
                "",
                "expected at least one chat.completion.chunk, found none",
            ));
        }
        if self.choices.is_empty() {
            return Err(FormatError::new(
                "",
                "expected chunks with choices, found none",
            ));
        }
        let mut body = Map::new();
        body.insert(
            "id".into(),
            self.header.get("id").cloned().unwrap_or(Value::Null),
        );
        body.insert("object".into(), json!("chat.completion"));
        for key in ["created", "model"] {
            if let Some(v) = self.header.get(key) {
                body.insert(key.into(), v.clone());
            }
        }
        let mut choices = self.choices;
        choices.sort_by_key(|(n, _)| *n);
        let choices: Vec<Value> = choices
            .into_iter()
            .map(|(index, snap)| {
                json!({
                    "index": index,
                    "message": final_message(snap.message),
                    "logprobs": null,
                    "finish_reason": snap.finish_reason.unwrap_or(Value::Null),
                })
            })
            .collect();
        body.insert("choices".into(), Value::Array(choices));
        if let Some(usage) = self.usage {
            body.insert("usage".into(), usage);
        }
        for key in ["service_tier", "system_fingerprint"] {
            if let Some(v) = self.header.get(key) {
                body.insert(key.into(), v.clone());
            }
        }
        Ok(Value::Object(body))
    }
}

/// Tool call fragments are merged by their `index`; a fragment without one cannot be placed.
fn check_fragment_indices(delta: &Obj, dpath: &str) -> Result<(), FormatError> {
    if let Some(calls) = opt_array_field(delta, "tool_calls", dpath)? {
        let cpath = at_key(dpath, "tool_calls");
        for (k, fragment) in calls.iter().enumerate() {
            let fpath = at_index(&cpath, k);
            let obj = object(fragment, &fpath, "a tool call fragment object")?;
            if obj.get("index").and_then(Value::as_u64).is_none() {
                return Err(mismatch(
                    at_key(&fpath, "index"),
                    "the integer index of the tool call",
                    obj.get("index"),
                ));
            }
        }
    }
    Ok(())
}

/// Merge a delta into the snapshot the way the SDK does: strings concatenate (except
/// identifiers, which are replaced), objects merge, arrays of indexed objects merge by `index`,
/// a null never erases what came before.
fn merge_delta(acc: &mut Obj, delta: &Obj) {
    const REPLACED: [&str; 4] = ["index", "type", "role", "id"];
    for (key, d) in delta {
        let Some(a) = acc.get_mut(key) else {
            acc.insert(key.clone(), d.clone());
            continue;
        };
        if a.is_null() {
            *a = d.clone();
            continue;
        }
        match (a, d) {
            (_, Value::Null) => {}
            (Value::String(a), Value::String(d)) if !REPLACED.contains(&key.as_str()) => {
                a.push_str(d);
            }
            (Value::Object(a), Value::Object(d)) => merge_delta(a, d),
            (Value::Array(a), Value::Array(d)) => merge_indexed(a, d),
            (a, d) => *a = d.clone(),
        }
    }
}

/// Merge array fragments: an object with an integer `index` merges into the entry with the same
/// index, anything else is appended.
fn merge_indexed(acc: &mut Vec<Value>, delta: &[Value]) {
    for fragment in delta {
        let index = fragment.get("index").and_then(Value::as_u64);
        let existing = index.and_then(|n| {
            acc.iter_mut()
                .find(|e| e.get("index").and_then(Value::as_u64) == Some(n))
        });
        match (existing, fragment) {
            (Some(Value::Object(entry)), Value::Object(f)) => merge_delta(entry, f),
            _ => acc.push(fragment.clone()),
        }
    }
}

/// The merged message in the non-streamed shape: role, content and refusal first (null when
/// absent), tool calls in index order without their stream-only `index`.
fn final_message(mut merged: Obj) -> Value {
    let mut msg = Map::new();
    msg.insert(
        "role".into(),
        merged.remove("role").unwrap_or_else(|| json!("assistant")),
    );
    msg.insert(
        "content".into(),
        merged.remove("content").unwrap_or(Value::Null),
    );
    msg.insert(
        "refusal".into(),
        merged.remove("refusal").unwrap_or(Value::Null),
    );
    if let Some(Value::Array(mut calls)) = merged.remove("tool_calls") {
        calls.sort_by_key(|c| c.get("index").and_then(Value::as_u64).unwrap_or(u64::MAX));
        for call in &mut calls {
            if let Value::Object(c) = call {
                c.shift_remove("index");
            }
        }
        msg.insert("tool_calls".into(), Value::Array(calls));
    }
    msg.extend(merged);
    Value::Object(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::test_support::*;

    const REQUEST_HISTORY: &str =
        include_str!("../../tests/fixtures/provider/openai_chat/request_parallel_history.json");
    const REQUEST_FIRST: &str =
        include_str!("../../tests/fixtures/provider/openai_chat/request_first_turn.json");
    const REPLY_PARALLEL: &str =
        include_str!("../../tests/fixtures/provider/openai_chat/reply_parallel_calls.json");
    const REPLY_TEXT_CALLS: &str =
        include_str!("../../tests/fixtures/provider/openai_chat/reply_text_and_calls.json");
    const REPLY_FINAL: &str =
        include_str!("../../tests/fixtures/provider/openai_chat/reply_final_answer.json");
    const STREAM_RECORDED: &str = include_str!(
        "../../tests/fixtures/provider/openai_chat/stream_two_calls_usage_recorded.json"
    );

    fn err_of(body: Value) -> FormatError {
        rejected(&OpenAiChat, body)
    }

    #[test]
    fn parses_a_parallel_request_with_history() {
        let req = OpenAiChat.parse_request(&load(REQUEST_HISTORY)).unwrap();
        assert_eq!(req.model.as_deref(), Some("gpt-4o-2024-08-06"));
        assert_eq!(req.tools, ["GetWeatherArgs", "get_stock_price", "run_sql"]);
        assert!(!req.parallel_disabled);
        assert!(req.stream);
        assert_eq!(req.previous_response_id, None);

        let shape: Vec<(Role, usize, usize)> = req
            .messages
            .iter()
            .map(|m| (m.role, m.wire_index, m.wire_len))
            .collect();
        assert_eq!(
            shape,
            [
                (Role::System, 0, 1),
                (Role::System, 1, 1),
                (Role::User, 2, 1),
                (Role::Assistant, 3, 1),
                (Role::Tool, 4, 3),
                (Role::Assistant, 7, 1),
                (Role::User, 8, 1),
            ]
        );
        assert_eq!(
            req.messages[0].parts,
            [Part::Text(
                "You are a helpful assistant. Call independent tools in parallel.".into()
            )]
        );
        assert_eq!(
            req.messages[1].parts,
            [Part::Text("Prefer metric units.".into())]
        );
        assert_eq!(req.messages[2].parts.len(), 2);
        assert_eq!(
            req.messages[2].parts[0],
            Part::Text("Weather in Edinburgh and the AAPL price?".into())
        );
        assert!(matches!(&req.messages[2].parts[1], Part::Other(p) if p["type"] == "image_url"));
        assert_eq!(
            req.messages[3].parts,
            [
                Part::Text("Let me check both.".into()),
                call(
                    "call_JMW1whyEaYG438VE1OIflxA2",
                    "GetWeatherArgs",
                    json!({"city": "Edinburgh", "country": "GB", "units": "c"})
                ),
                call(
                    "call_DNYTawLBoN8fj3KN6qU9N1Ou",
                    "get_stock_price",
                    json!({"ticker": "AAPL", "exchange": "NASDAQ"})
                ),
                // Arguments that are not valid JSON stay the raw text.
                call(
                    "call_Qx7TbVn2Lk9PzR4sWm6YdHc1",
                    "get_stock_price",
                    Value::String("{\"ticker\": \"MSFT\", \"exch".into())
                ),
            ]
        );
        assert_eq!(
            req.messages[4].parts,
            [
                result("call_DNYTawLBoN8fj3KN6qU9N1Ou", "AAPL 231.40 USD"),
                result(
                    "call_JMW1whyEaYG438VE1OIflxA2",
                    "Error: weather service unavailable"
                ),
                result("call_Qx7TbVn2Lk9PzR4sWm6YdHc1", "Error: invalid arguments"),
            ]
        );
        assert_eq!(
            req.messages[6].parts,
            [Part::Text("Retry the weather, please.".into())]
        );
    }

    #[test]
    fn tool_runs_split_by_other_messages_stay_apart() {
        let req = OpenAiChat
            .parse_request(&json!({"messages": [
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": "{}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "b", "arguments": "{}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "one"},
                {"role": "user", "content": "interjection"},
                {"role": "tool", "tool_call_id": "call_2"}
            ], "parallel_tool_calls": false}))
            .unwrap();
        assert!(req.parallel_disabled);
        assert!(!req.stream);
        let shape: Vec<(Role, usize, usize)> = req
            .messages
            .iter()
            .map(|m| (m.role, m.wire_index, m.wire_len))
            .collect();
        assert_eq!(
            shape,
            [
                (Role::Assistant, 0, 1),
                (Role::Tool, 1, 1),
                (Role::User, 2, 1),
                (Role::Tool, 3, 1),
            ]
        );
        // Null content holds no part; a missing tool content is "".
        assert_eq!(req.messages[0].parts.len(), 2);
        assert_eq!(req.messages[3].parts, [result("call_2", "")]);
    }

    #[test]
    fn custom_tool_calls_are_calls_with_text_input() {
        let req = OpenAiChat
            .parse_request(&json!({"messages": [
                {"role": "assistant", "tool_calls": [
                    {"id": "call_9", "type": "custom", "custom": {"name": "run_sql", "input": "SELECT 1"}}
                ]}
            ]}))
            .unwrap();
        assert_eq!(
            req.messages[0].parts,
            [call("call_9", "run_sql", json!("SELECT 1"))]
        );
    }

    #[test]
    fn malformed_requests_say_where_and_what() {
        let e = err_of(json!("hello"));
        assert_eq!(e.path, "");
        assert_eq!(
            e.message,
            "expected a request object, found the string \"hello\""
        );

        let e = err_of(json!({"messages": null}));
        assert_eq!(e.path, "messages");
        assert_eq!(e.message, "expected an array, found null");

        let e = err_of(json!({"messages": [{"role": "function", "content": "x"}]}));
        assert_eq!(e.path, "messages[0].role");
        assert!(e.message.ends_with("found \"function\""));

        let e = err_of(json!({"messages": [
            {"role": "user", "content": "hi"},
            {"role": "tool", "content": "orphan"}
        ]}));
        assert_eq!(e.path, "messages[1].tool_call_id");
        assert_eq!(
            e.message,
            "expected a string, found nothing (the field is missing)"
        );

        let e = err_of(json!({"messages": [{"role": "assistant", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": "{}"}},
            {"type": "function", "function": {"name": "b", "arguments": "{}"}}
        ]}]}));
        assert_eq!(e.path, "messages[0].tool_calls[1].id");

        let e = err_of(json!({"messages": [{"role": "assistant", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": {"x": 1}}}
        ]}]}));
        assert_eq!(e.path, "messages[0].tool_calls[0].function.arguments");
        assert_eq!(e.message, "expected a string, found an object");

        let e = err_of(json!({"messages": [{"role": "assistant", "tool_calls": [
            {"id": "call_1", "type": "function"}
        ]}]}));
        assert_eq!(e.path, "messages[0].tool_calls[0].function");

        let e = err_of(json!({"messages": [{"role": "user", "content": [{"text": "no type"}]}]}));
        assert_eq!(e.path, "messages[0].content[0].type");

        let e =
            err_of(json!({"messages": [{"role": "tool", "tool_call_id": "call_1", "content": 1}]}));
        assert_eq!(e.path, "messages[0].content");

        let e = err_of(json!({"messages": [], "model": 4}));
        assert_eq!(e.path, "model");
    }

    #[test]
    fn parses_replies() {
        let reply = OpenAiChat.parse_reply(&load(REPLY_PARALLEL)).unwrap();
        assert_eq!(
            reply.id.as_deref(),
            Some("chatcmpl-ABfwAwrNePHUgBBezonVC6MX3zd63")
        );
        assert_eq!(reply.stop, StopReason::ToolUse);
        assert_eq!(
            (
                reply.message.role,
                reply.message.wire_index,
                reply.message.wire_len
            ),
            (Role::Assistant, 0, 1)
        );
        assert_eq!(
            reply.message.parts,
            [
                call(
                    "call_JMW1whyEaYG438VE1OIflxA2",
                    "GetWeatherArgs",
                    json!({"city": "Edinburgh", "country": "GB", "units": "c"})
                ),
                call(
                    "call_DNYTawLBoN8fj3KN6qU9N1Ou",
                    "get_stock_price",
                    json!({"ticker": "AAPL", "exchange": "NASDAQ"})
                ),
            ]
        );

        let mixed = OpenAiChat.parse_reply(&load(REPLY_TEXT_CALLS)).unwrap();
        assert_eq!(
            mixed.message.parts[0],
            Part::Text("Checking Zürich, Oslo and Lisbon at once.".into())
        );
        assert_eq!(mixed.calls().len(), 3);
        assert_eq!(
            mixed.calls()[0].input,
            json!({"city": "Zürich", "days": [1, 2, 3]})
        );

        let fin = OpenAiChat.parse_reply(&load(REPLY_FINAL)).unwrap();
        assert_eq!(fin.stop, StopReason::EndTurn);
        assert!(!fin.wants_tools());

        let mut cut = load(REPLY_FINAL);
        cut["choices"][0]["finish_reason"] = json!("length");
        assert_eq!(
            OpenAiChat.parse_reply(&cut).unwrap().stop,
            StopReason::Other("length".into())
        );
    }

    #[test]
    fn malformed_replies() {
        let e = OpenAiChat
            .parse_reply(&json!({"id": "chatcmpl-1", "choices": []}))
            .unwrap_err();
        assert_eq!(e.path, "choices");
        assert_eq!(
            e.message,
            "expected at least one choice, found an empty array"
        );

        let mut no_finish = load(REPLY_FINAL);
        no_finish["choices"][0]["finish_reason"] = Value::Null;
        let e = OpenAiChat.parse_reply(&no_finish).unwrap_err();
        assert_eq!(e.path, "choices[0].finish_reason");

        let mut bad_call = load(REPLY_PARALLEL);
        bad_call["choices"][0]["message"]["tool_calls"][1]["function"]["name"] = json!(null);
        let e = OpenAiChat.parse_reply(&bad_call).unwrap_err();
        assert_eq!(e.path, "choices[0].message.tool_calls[1].function.name");
        assert_eq!(e.message, "expected a string, found null");

        let e = OpenAiChat
            .parse_reply(&OpenAiChat.error_body("bad request"))
            .unwrap_err();
        assert_eq!(e.path, "");
        assert!(e.message.contains("invalid_request_error: bad request"));
    }

    #[test]
    fn stream_round_trip_on_every_fixture_reply() {
        for text in [REPLY_PARALLEL, REPLY_TEXT_CALLS, REPLY_FINAL] {
            let body = load(text);
            let events = OpenAiChat.stream_from_reply(&body).unwrap();
            let rebuilt = OpenAiChat.reply_from_stream(&events).unwrap();
            assert_eq!(
                OpenAiChat.parse_reply(&rebuilt).unwrap(),
                OpenAiChat.parse_reply(&body).unwrap()
            );
            assert_eq!(rebuilt["object"], "chat.completion");
            assert_eq!(rebuilt["usage"], body["usage"]);
            let (got, want) = (
                &rebuilt["choices"][0]["message"],
                &body["choices"][0]["message"],
            );
            assert_eq!(got["content"], want["content"]);
            assert_eq!(got["tool_calls"], want["tool_calls"]);
        }
    }

    #[test]
    fn emitted_stream_looks_like_the_api() {
        let body = load(REPLY_TEXT_CALLS);
        let events = OpenAiChat.stream_from_reply(&body).unwrap();
        assert!(events.iter().all(|e| e.event.is_none() && e.gap_ms == 0));
        assert_eq!(events.last().unwrap().data, "[DONE]");
        let chunks: Vec<Value> = events[..events.len() - 1]
            .iter()
            .map(|e| serde_json::from_str(&e.data).unwrap())
            .collect();
        for c in &chunks {
            assert_eq!(c["object"], "chat.completion.chunk");
            assert_eq!(c["id"], body["id"]);
            assert_eq!(c["created"], body["created"]);
        }
        assert_eq!(
            chunks[0]["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
        );
        // The usage chunk comes last, with no choices; the finish reason just before it.
        let usage = &chunks[chunks.len() - 1];
        assert_eq!(usage["choices"], json!([]));
        assert_eq!(usage["usage"], body["usage"]);
        let last = &chunks[chunks.len() - 2]["choices"][0];
        assert_eq!(last["delta"], json!({}));
        assert_eq!(last["finish_reason"], "tool_calls");

        // Per call: a first fragment with id/type/name and empty arguments, then pieces.
        let fragments: Vec<&Value> = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
            .collect();
        let firsts: Vec<&Value> = fragments
            .iter()
            .copied()
            .filter(|f| f.get("id").is_some())
            .collect();
        assert_eq!(firsts.len(), 3);
        for (k, first) in firsts.iter().enumerate() {
            assert_eq!(first["index"], k);
            assert_eq!(first["type"], "function");
            assert_eq!(first["function"]["arguments"], "");
        }
        let args0: String = fragments
            .iter()
            .filter(|f| f["index"] == 0)
            .map(|f| f["function"]["arguments"].as_str().unwrap())
            .collect();
        assert_eq!(args0, "{\"city\":\"Zürich\",\"days\":[1,2,3]}");
        assert!(fragments.iter().filter(|f| f["index"] == 0).count() >= 3);

        let plain = OpenAiChat.stream_from_reply(&load(REPLY_PARALLEL)).unwrap();
        let first: Value = serde_json::from_str(&plain[0].data).unwrap();
        assert_eq!(
            first["choices"][0]["delta"],
            json!({"role": "assistant", "content": null})
        );
    }

    #[test]
    fn accumulates_the_recorded_stream_with_usage_and_done() {
        let events: Vec<SseEvent> = serde_json::from_str(STREAM_RECORDED).unwrap();
        assert_eq!(events.last().unwrap().data, "[DONE]");
        let body = OpenAiChat.reply_from_stream(&events).unwrap();
        assert_eq!(body["id"], "chatcmpl-ABfwAwrNePHUgBBezonVC6MX3zd63");
        assert_eq!(body["object"], "chat.completion");
        assert_eq!(body["model"], "gpt-4o-2024-08-06");
        assert_eq!(body["system_fingerprint"], "fp_5050236cbd");
        assert_eq!(body["usage"]["total_tokens"], 209);
        let msg = &body["choices"][0]["message"];
        assert_eq!(msg["role"], "assistant");
        assert_eq!(msg["content"], Value::Null);
        assert_eq!(
            msg["tool_calls"],
            json!([
                {"id": "call_JMW1whyEaYG438VE1OIflxA2", "type": "function", "function": {"name": "GetWeatherArgs", "arguments": "{\"city\": \"Edinburgh\", \"country\": \"GB\", \"units\": \"c\"}"}},
                {"id": "call_DNYTawLBoN8fj3KN6qU9N1Ou", "type": "function", "function": {"name": "get_stock_price", "arguments": "{\"ticker\": \"AAPL\", \"exchange\": \"NASDAQ\"}"}}
            ])
        );
        let reply = OpenAiChat.parse_reply(&body).unwrap();
        assert_eq!(reply.stop, StopReason::ToolUse);
        assert_eq!(
            reply,
            OpenAiChat.parse_reply(&load(REPLY_PARALLEL)).unwrap()
        );

        // Whatever follows [DONE] is not read.
        let mut trailing = events.clone();
        trailing.push(SseEvent::data("not json"));
        assert_eq!(OpenAiChat.reply_from_stream(&trailing).unwrap(), body);
    }

    #[test]
    fn interleaved_fragments_merge_by_index() {
        let chunk = |delta: Value, finish: Value| {
            SseEvent::data(
                json!({"id": "chatcmpl-X", "object": "chat.completion.chunk", "created": 1, "model": "m",
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
                .to_string(),
            )
        };
        let events = vec![
            chunk(json!({"role": "assistant", "content": null}), Value::Null),
            chunk(
                json!({"tool_calls": [{"index": 1, "id": "call_B", "type": "function", "function": {"name": "b", "arguments": ""}}]}),
                Value::Null,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_A", "type": "function", "function": {"name": "a", "arguments": "{\"x\""}}]}),
                Value::Null,
            ),
            chunk(
                json!({"tool_calls": [{"index": 1, "function": {"arguments": "not json"}}]}),
                Value::Null,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}),
                Value::Null,
            ),
            chunk(json!({}), json!("tool_calls")),
            SseEvent::data("[DONE]"),
        ];
        let body = OpenAiChat.reply_from_stream(&events).unwrap();
        let reply = OpenAiChat.parse_reply(&body).unwrap();
        assert_eq!(
            reply.message.parts,
            [
                call("call_A", "a", json!({"x": 1})),
                call("call_B", "b", json!("not json")),
            ]
        );
    }

    #[test]
    fn stream_errors_point_at_the_event() {
        let events: Vec<SseEvent> = serde_json::from_str(STREAM_RECORDED).unwrap();

        let e = OpenAiChat.reply_from_stream(&[]).unwrap_err();
        assert_eq!(e.path, "");
        let e = OpenAiChat
            .reply_from_stream(&[SseEvent::data("[DONE]")])
            .unwrap_err();
        assert_eq!(
            e.message,
            "expected at least one chat.completion.chunk, found none"
        );

        let mut bad = events.clone();
        bad[2].data = "{oops".into();
        let e = OpenAiChat.reply_from_stream(&bad).unwrap_err();
        assert_eq!(e.path, "[2]");

        let mut with_error = events.clone();
        with_error.insert(
            3,
            SseEvent::data(
                json!({"error": {"message": "The server had an error", "type": "server_error"}})
                    .to_string(),
            ),
        );
        let e = OpenAiChat.reply_from_stream(&with_error).unwrap_err();
        assert_eq!(e.path, "[3]");
        assert_eq!(
            e.message,
            "the stream carried an error (server_error: The server had an error)"
        );

        let mut no_index = events.clone();
        no_index[2].data = no_index[2]
            .data
            .replace("\"index\":0,\"function\"", "\"function\"");
        let e = OpenAiChat.reply_from_stream(&no_index).unwrap_err();
        assert_eq!(e.path, "[2].choices[0].delta.tool_calls[0].index");
        assert_eq!(
            e.message,
            "expected the integer index of the tool call, found nothing (the field is missing)"
        );

        let mut bad_delta = events.clone();
        bad_delta[1].data = bad_delta[1].data.replace(
            "\"delta\":{\"tool_calls\"",
            "\"delta\":\"x\",\"was\":{\"tool_calls\"",
        );
        let e = OpenAiChat.reply_from_stream(&bad_delta).unwrap_err();
        assert_eq!(e.path, "[1].choices[0].delta");
    }

    #[test]
    fn follow_up_built_from_entries_parses_back() {
        let mut request = load(REQUEST_FIRST);
        let reply = load(REPLY_PARALLEL);
        let results = [
            ResultBlock {
                call_id: "call_DNYTawLBoN8fj3KN6qU9N1Ou".into(),
                content: "AAPL 231.40 USD".into(),
                is_error: false,
            },
            ResultBlock {
                call_id: "call_JMW1whyEaYG438VE1OIflxA2".into(),
                content: "Error: weather service unavailable".into(),
                is_error: true,
            },
        ];
        let assistant = OpenAiChat.history_entries(&reply).unwrap();
        assert_eq!(assistant, [reply["choices"][0]["message"].clone()]);
        let entries = OpenAiChat.results_entries(&results, None);
        assert_eq!(
            entries,
            [
                json!({"role": "tool", "tool_call_id": "call_DNYTawLBoN8fj3KN6qU9N1Ou", "content": "AAPL 231.40 USD"}),
                json!({"role": "tool", "tool_call_id": "call_JMW1whyEaYG438VE1OIflxA2", "content": "Error: weather service unavailable"}),
            ]
        );
        let history = OpenAiChat.history_mut(&mut request).unwrap();
        history.extend(assistant);
        history.extend(entries);

        let req = OpenAiChat.parse_request(&request).unwrap();
        assert_eq!(req.messages.len(), 4);
        let turn = &req.messages[2];
        assert_eq!((turn.role, turn.wire_index), (Role::Assistant, 2));
        assert_eq!(
            turn.parts,
            OpenAiChat.parse_reply(&reply).unwrap().message.parts
        );
        let res = &req.messages[3];
        assert_eq!((res.role, res.wire_index, res.wire_len), (Role::Tool, 3, 2));
        assert_eq!(
            res.parts,
            [
                result("call_DNYTawLBoN8fj3KN6qU9N1Ou", "AAPL 231.40 USD"),
                result(
                    "call_JMW1whyEaYG438VE1OIflxA2",
                    "Error: weather service unavailable"
                ),
            ]
        );

        let with_text = OpenAiChat.results_entries(&results[..1], Some("Before the results."));
        assert_eq!(
            with_text[0],
            json!({"role": "user", "content": "Before the results."})
        );
        assert_eq!(with_text[1]["role"], "tool");
    }

    #[test]
    fn history_mut_and_entries_check_the_body() {
        let mut bad = json!({"messages": "hi"});
        let e = OpenAiChat.history_mut(&mut bad).unwrap_err();
        assert_eq!(e.path, "messages");
        assert_eq!(e.message, "expected an array, found the string \"hi\"");
        assert_eq!(
            OpenAiChat.history_mut(&mut json!(null)).unwrap_err().path,
            ""
        );
        let e = OpenAiChat
            .history_entries(&json!({"choices": []}))
            .unwrap_err();
        assert_eq!(e.path, "choices");
    }

    #[test]
    fn parallel_switch_round_trips() {
        let mut request = load(REQUEST_FIRST);
        assert!(
            !OpenAiChat
                .parse_request(&request)
                .unwrap()
                .parallel_disabled
        );
        OpenAiChat.set_parallel_disabled(&mut request, true);
        assert_eq!(request["parallel_tool_calls"], json!(false));
        assert!(
            OpenAiChat
                .parse_request(&request)
                .unwrap()
                .parallel_disabled
        );
        OpenAiChat.set_parallel_disabled(&mut request, false);
        assert!(request.get("parallel_tool_calls").is_none());
        assert!(
            !OpenAiChat
                .parse_request(&request)
                .unwrap()
                .parallel_disabled
        );
    }

    #[test]
    fn error_body_and_user_entry() {
        assert_eq!(
            OpenAiChat.error_body("An assistant message with 'tool_calls' must be followed"),
            json!({"error": {
                "message": "An assistant message with 'tool_calls' must be followed",
                "type": "invalid_request_error",
                "param": null,
                "code": null
            }})
        );
        assert_eq!(
            OpenAiChat.user_text_entry("next"),
            json!({"role": "user", "content": "next"})
        );
        assert_eq!(OpenAiChat.provider(), Provider::OpenAiChat);
    }
}
