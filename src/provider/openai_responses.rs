//! OpenAI Responses (`POST /v1/responses`).
//!
//! The conversation is a flat list of items: messages, `function_call` items (matched to their
//! results by `call_id`, not by the `fc_…` item id), `function_call_output` items, `reasoning`
//! items. Runs of model-output items and runs of outputs are grouped into one neutral message
//! each. Streams are `event:`-named with a strictly increasing `sequence_number` and end with
//! `response.completed`, whose `response` is the whole body (protocols.md §3).

use serde_json::{Map, Value, json};

use super::common::{
    Obj, array_field, at_index, at_key, error_text, event_json, flatten_content, history_array,
    is_true, mismatch, model, object, openai_error_body, openai_parallel_disabled, opt_array_field,
    opt_str_field, parse_arguments, required, set_field, set_openai_parallel_disabled,
    split_fragments, str_field, text_of_part,
};
use super::{Format, FormatError, ResultBlock, SseEvent};
use crate::transcript::{
    Message, Part, Provider, Reply, Request, Role, StopReason, ToolCall, ToolResult,
};

/// The OpenAI Responses API.
pub struct OpenAiResponses;

/// Where an item goes in the neutral model.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    /// A message of its own with this role (user and system messages, unknown items).
    Own(Role),
    /// Part of a run of model output: the assistant turn.
    ModelOutput,
    /// Part of a run of tool outputs: the results message.
    ToolOutput,
}

/// A message item's `content`: a string is one text part; `input_text`/`output_text` parts are
/// text, others (images, files, refusals) are kept whole.
fn parse_message_content(content: Option<&Value>, path: &str) -> Result<Vec<Part>, FormatError> {
    match content {
        Some(Value::String(s)) => Ok(vec![Part::Text(s.clone())]),
        Some(Value::Array(parts)) => parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let ppath = at_index(path, i);
                let obj = object(part, &ppath, "a content part object")?;
                str_field(obj, "type", &ppath)?;
                Ok(match text_of_part(part) {
                    Some(text) => Part::Text(text.to_string()),
                    None => Part::Other(part.clone()),
                })
            })
            .collect(),
        other => Err(mismatch(
            path,
            "a string or an array of content parts",
            other,
        )),
    }
}

/// A message item, typed (`"type": "message"`) or the easy form (`{"role", "content"}`).
fn parse_message_item(obj: &Obj, path: &str) -> Result<(Group, Vec<Part>), FormatError> {
    let group = match str_field(obj, "role", path)? {
        "user" => Group::Own(Role::User),
        "system" | "developer" => Group::Own(Role::System),
        "assistant" => Group::ModelOutput,
        other => {
            return Err(FormatError::new(
                at_key(path, "role"),
                format!(
                    "expected \"user\", \"system\", \"developer\" or \"assistant\", found {other:?}"
                ),
            ));
        }
    };
    Ok((
        group,
        parse_message_content(obj.get("content"), &at_key(path, "content"))?,
    ))
}

/// One input or output item, with the group it belongs to.
fn parse_item(item: &Value, path: &str) -> Result<(Group, Vec<Part>), FormatError> {
    let obj = object(item, path, "an item object")?;
    let Some(ty) = opt_str_field(obj, "type", path)? else {
        if obj.contains_key("role") {
            return parse_message_item(obj, path);
        }
        return Err(FormatError::new(
            path,
            "expected an item with a `type`, or a message with a `role`, found an object with \
             neither",
        ));
    };
    Ok(match ty {
        "message" => return parse_message_item(obj, path),
        "function_call" => (
            Group::ModelOutput,
            vec![Part::Call(ToolCall {
                id: str_field(obj, "call_id", path)?.to_string(),
                name: str_field(obj, "name", path)?.to_string(),
                input: parse_arguments(str_field(obj, "arguments", path)?),
            })],
        ),
        "function_call_output" => (
            Group::ToolOutput,
            vec![Part::Result(ToolResult {
                call_id: str_field(obj, "call_id", path)?.to_string(),
                content: flatten_content(obj.get("output"), &at_key(path, "output"))?,
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

impl Format for OpenAiResponses {
    fn provider(&self) -> Provider {
        Provider::OpenAiResponses
    }

    fn parse_request(&self, body: &Value) -> Result<Request, FormatError> {
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
        match root.get("input") {
            Some(Value::String(text)) => messages.push(Message {
                role: Role::User,
                parts: vec![Part::Text(text.clone())],
                wire_index: 0,
                wire_len: 1,
            }),
            Some(Value::Array(items)) => {
                let mut last_group = None;
                for (i, item) in items.iter().enumerate() {
                    let (group, parts) = parse_item(item, &at_index("input", i))?;
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
            .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string))
            .collect();
        Ok(Request {
            messages,
            tools,
            parallel_disabled: openai_parallel_disabled(root),
            stream: is_true(root, "stream"),
            previous_response_id: opt_str_field(root, "previous_response_id", "")?
                .map(str::to_string),
            model: model(root)?,
        })
    }

    fn parse_reply(&self, body: &Value) -> Result<Reply, FormatError> {
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
            let (_, item_parts) = parse_item(item, &at_index("output", i))?;
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

    fn reply_from_stream(&self, events: &[SseEvent]) -> Result<Value, FormatError> {
        if events.is_empty() {
            return Err(FormatError::new(
                "",
                "expected a stream starting with response.created, found no events",
            ));
        }
        let mut created = false;
        for (i, event) in events.iter().enumerate() {
            // Some proxies close the stream with a Chat-style terminator; it carries nothing.
            if event.data.trim() == "[DONE]" {
                continue;
            }
            let path = at_index("", i);
            let data = event_json(events, i)?;
            let ev = object(&data, &path, "an event object")?;
            let ty = ev
                .get("type")
                .and_then(Value::as_str)
                .or(event.event.as_deref())
                .unwrap_or_default();
            // The SDK helper refuses a stream that does not open with the response snapshot.
            if !created && ty != "response.created" {
                return Err(FormatError::new(
                    path,
                    format!("expected the stream to begin with response.created, found {ty:?}"),
                ));
            }
            created = true;
            match ty {
                "error" => {
                    return Err(FormatError::new(
                        path,
                        format!(
                            "the stream carried an error event ({})",
                            error_text(ev.get("error").or(Some(&data)))
                        ),
                    ));
                }
                "response.failed" => {
                    return Err(FormatError::new(
                        path,
                        format!(
                            "the response failed ({})",
                            error_text(data.pointer("/response/error"))
                        ),
                    ));
                }
                "response.completed" => {
                    let response = required(ev, "response", &path, "a response object")?;
                    object(response, &at_key(&path, "response"), "a response object")?;
                    return Ok(response.clone());
                }
                // Deltas and item events only preview what response.completed holds in full.
                _ => {}
            }
        }
        Err(FormatError::new(
            "",
            "expected a response.completed event, found none (the stream ended early)",
        ))
    }

    fn stream_from_reply(&self, body: &Value) -> Result<Vec<SseEvent>, FormatError> {
        // Validates the output items the rest streams.
        self.parse_reply(body)?;
        let root = body.as_object().cloned().unwrap_or_default();
        let mut out = Emitter::default();

        let mut snapshot = root.clone();
        snapshot.insert("status".into(), json!("in_progress"));
        snapshot.insert("output".into(), json!([]));
        for key in ["usage", "completed_at"] {
            if let Some(v) = snapshot.get_mut(key) {
                *v = Value::Null;
            }
        }
        out.emit(
            "response.created",
            vec![("response", Value::Object(snapshot.clone()))],
        );
        out.emit(
            "response.in_progress",
            vec![("response", Value::Object(snapshot))],
        );

        let items = root
            .get("output")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (k, item) in items.iter().enumerate() {
            out.item(k, item);
        }
        out.emit("response.completed", vec![("response", body.clone())]);
        Ok(out.events)
    }

    fn history_entries(&self, reply: &Value) -> Result<Vec<Value>, FormatError> {
        let root = object(reply, "", "a response object")?;
        Ok(array_field(root, "output", "")?.to_vec())
    }

    fn results_entries(&self, results: &[ResultBlock], text_before: Option<&str>) -> Vec<Value> {
        let mut out = Vec::with_capacity(results.len() + 1);
        if let Some(text) = text_before {
            out.push(self.user_text_entry(text));
        }
        out.extend(results.iter().map(
            |r| json!({"type": "function_call_output", "call_id": r.call_id, "output": r.content}),
        ));
        out
    }

    fn user_text_entry(&self, text: &str) -> Value {
        json!({"role": "user", "content": text})
    }

    fn history_mut<'a>(&self, request: &'a mut Value) -> Result<&'a mut Vec<Value>, FormatError> {
        // A string input is shorthand for one user message; make it the array form first.
        if let Some(slot) = request.get_mut("input")
            && let Value::String(text) = slot
        {
            let text = std::mem::take(text);
            *slot = json!([{"role": "user", "content": text}]);
        }
        history_array(request, "input")
    }

    fn set_parallel_disabled(&self, request: &mut Value, disabled: bool) {
        set_openai_parallel_disabled(request, disabled);
    }

    fn error_body(&self, message: &str) -> Value {
        openai_error_body(message)
    }
}

/// Builds a Responses stream: every event's data starts with its `type` and a
/// `sequence_number` counting from 0.
#[derive(Default)]
struct Emitter {
    /// The events so far.
    events: Vec<SseEvent>,
}

impl Emitter {
    /// The events of output item `k`, as the API streams each kind.
    fn item(&mut self, k: usize, item: &Value) {
        let ty = item.get("type").and_then(Value::as_str).unwrap_or_default();
        let item_id = item.get("id").cloned().unwrap_or(Value::Null);
        let mut added = item.clone();
        if added.get("status").is_some() {
            set_field(&mut added, "status", json!("in_progress"));
        }
        match ty {
            "function_call" => {
                set_field(&mut added, "arguments", json!(""));
                self.emit(
                    "response.output_item.added",
                    vec![("output_index", json!(k)), ("item", added)],
                );
                let arguments = item
                    .get("arguments")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                for piece in split_fragments(arguments, 3) {
                    self.emit(
                        "response.function_call_arguments.delta",
                        vec![
                            ("item_id", item_id.clone()),
                            ("output_index", json!(k)),
                            ("delta", json!(piece)),
                        ],
                    );
                }
                self.emit(
                    "response.function_call_arguments.done",
                    vec![
                        ("item_id", item_id),
                        ("output_index", json!(k)),
                        ("arguments", json!(arguments)),
                    ],
                );
            }
            "message" => {
                set_field(&mut added, "content", json!([]));
                self.emit(
                    "response.output_item.added",
                    vec![("output_index", json!(k)), ("item", added)],
                );
                let parts = item
                    .get("content")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for (c, part) in parts.iter().enumerate() {
                    self.content_part(&item_id, k, c, part);
                }
            }
            "reasoning" => {
                set_field(&mut added, "summary", json!([]));
                self.emit(
                    "response.output_item.added",
                    vec![("output_index", json!(k)), ("item", added)],
                );
                let summary = item
                    .get("summary")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for (s, part) in summary.iter().enumerate() {
                    self.summary_part(&item_id, k, s, part);
                }
            }
            _ => {
                self.emit(
                    "response.output_item.added",
                    vec![("output_index", json!(k)), ("item", added)],
                );
            }
        }
        self.emit(
            "response.output_item.done",
            vec![("output_index", json!(k)), ("item", item.clone())],
        );
    }

    /// The events of content part `c` of message item `k`: text grows from "" in deltas.
    fn content_part(&mut self, item_id: &Value, k: usize, c: usize, part: &Value) {
        let at = |extra: Vec<(&'static str, Value)>| {
            let mut fields = vec![
                ("item_id", item_id.clone()),
                ("output_index", json!(k)),
                ("content_index", json!(c)),
            ];
            fields.extend(extra);
            fields
        };
        let kind = part.get("type").and_then(Value::as_str).unwrap_or_default();
        let (field, delta_event, done_event) = match kind {
            "output_text" => (
                "text",
                "response.output_text.delta",
                "response.output_text.done",
            ),
            "refusal" => ("refusal", "response.refusal.delta", "response.refusal.done"),
            _ => {
                self.emit(
                    "response.content_part.added",
                    at(vec![("part", part.clone())]),
                );
                self.emit(
                    "response.content_part.done",
                    at(vec![("part", part.clone())]),
                );
                return;
            }
        };
        let text = part.get(field).and_then(Value::as_str).unwrap_or_default();
        let mut skeleton = part.clone();
        set_field(&mut skeleton, field, json!(""));
        self.emit("response.content_part.added", at(vec![("part", skeleton)]));
        let logprobs = || -> Vec<(&'static str, Value)> {
            if kind == "output_text" {
                vec![("logprobs", json!([]))]
            } else {
                Vec::new()
            }
        };
        for piece in split_fragments(text, 3) {
            let mut extra = vec![("delta", json!(piece))];
            extra.extend(logprobs());
            self.emit(delta_event, at(extra));
        }
        let mut extra = vec![(field, json!(text))];
        extra.extend(logprobs());
        self.emit(done_event, at(extra));
        self.emit(
            "response.content_part.done",
            at(vec![("part", part.clone())]),
        );
    }

    /// The events of summary part `s` of reasoning item `k`.
    fn summary_part(&mut self, item_id: &Value, k: usize, s: usize, part: &Value) {
        let at = |extra: (&'static str, Value)| {
            vec![
                ("item_id", item_id.clone()),
                ("output_index", json!(k)),
                ("summary_index", json!(s)),
                extra,
            ]
        };
        let text = part.get("text").and_then(Value::as_str).unwrap_or_default();
        let mut skeleton = part.clone();
        set_field(&mut skeleton, "text", json!(""));
        self.emit(
            "response.reasoning_summary_part.added",
            at(("part", skeleton)),
        );
        for piece in split_fragments(text, 3) {
            self.emit(
                "response.reasoning_summary_text.delta",
                at(("delta", json!(piece))),
            );
        }
        self.emit(
            "response.reasoning_summary_text.done",
            at(("text", json!(text))),
        );
        self.emit(
            "response.reasoning_summary_part.done",
            at(("part", part.clone())),
        );
    }

    /// Append an event of type `ty` with these fields after `type` and `sequence_number`.
    fn emit(&mut self, ty: &str, fields: Vec<(&str, Value)>) {
        let mut data = Map::new();
        data.insert("type".into(), json!(ty));
        data.insert("sequence_number".into(), json!(self.events.len()));
        for (k, v) in fields {
            data.insert(k.into(), v);
        }
        self.events.push(SseEvent::named(ty, &Value::Object(data)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::test_support::*;

    const REQUEST_HISTORY: &str = include_str!(
        "../../tests/fixtures/provider/openai_responses/request_parallel_history.json"
    );
    const REQUEST_STATEFUL: &str = include_str!(
        "../../tests/fixtures/provider/openai_responses/request_stateful_outputs.json"
    );
    const REQUEST_FIRST: &str =
        include_str!("../../tests/fixtures/provider/openai_responses/request_first_turn.json");
    const REPLY_PARALLEL: &str =
        include_str!("../../tests/fixtures/provider/openai_responses/reply_parallel_calls.json");
    const REPLY_REASONING: &str = include_str!(
        "../../tests/fixtures/provider/openai_responses/reply_reasoning_text_calls.json"
    );
    const REPLY_FINAL: &str =
        include_str!("../../tests/fixtures/provider/openai_responses/reply_final_answer.json");
    const STREAM_RECORDED: &str = include_str!(
        "../../tests/fixtures/provider/openai_responses/stream_two_calls_recorded.json"
    );

    fn shape(req: &Request) -> Vec<(Role, usize, usize)> {
        req.messages
            .iter()
            .map(|m| (m.role, m.wire_index, m.wire_len))
            .collect()
    }

    fn err_of(body: Value) -> FormatError {
        rejected(&OpenAiResponses, body)
    }

    #[test]
    fn parses_a_stateless_parallel_request_with_history() {
        let req = OpenAiResponses
            .parse_request(&load(REQUEST_HISTORY))
            .unwrap();
        assert_eq!(req.model.as_deref(), Some("o4-mini"));
        assert_eq!(req.tools, ["search", "weather"]);
        assert!(!req.parallel_disabled);
        assert!(!req.stream);
        assert_eq!(req.previous_response_id, None);
        assert_eq!(
            shape(&req),
            [
                (Role::System, 0, 0),
                (Role::User, 0, 1),
                (Role::Assistant, 1, 3),
                (Role::Tool, 4, 2),
                (Role::Assistant, 6, 1),
                (Role::User, 7, 1),
            ]
        );
        assert_eq!(
            req.messages[0].parts,
            [Part::Text(
                "You are a sports and weather assistant. Call independent tools in parallel."
                    .into()
            )]
        );
        assert_eq!(
            req.messages[1].parts,
            [Part::Text(
                "When is the Tigers game and what's the weather in Detroit?".into()
            )]
        );
        let turn = &req.messages[2].parts;
        assert!(matches!(&turn[0], Part::Other(r) if r["type"] == "reasoning"));
        // The call id is `call_id`, never the `fc_` item id.
        assert_eq!(
            turn[1..],
            [
                call(
                    "call_6irqoFHScAWPUZs0wKOD2EOW",
                    "search",
                    json!({"query": "Tigers game time October 6, 2023"})
                ),
                call(
                    "call_RBMR4MVKXHFyKcGfqCLTrbdP",
                    "weather",
                    json!({"city": "Detroit"})
                ),
            ]
        );
        assert_eq!(
            req.messages[3].parts,
            [
                result("call_RBMR4MVKXHFyKcGfqCLTrbdP", "Detroit: 18°C, clear"),
                result(
                    "call_6irqoFHScAWPUZs0wKOD2EOW",
                    "First pitch 1:07 PM\nComerica Park"
                ),
            ]
        );
        assert_eq!(
            req.messages[4].parts,
            [Part::Text(
                "First pitch is at 1:07 PM; Detroit will be 18°C and clear.".into()
            )]
        );
        assert_eq!(req.messages[5].parts.len(), 2);
        assert_eq!(
            req.messages[5].parts[0],
            Part::Text("And tomorrow's forecast?".into())
        );
        assert!(matches!(&req.messages[5].parts[1], Part::Other(p) if p["type"] == "input_image"));
    }

    #[test]
    fn parses_a_stateful_request_and_string_input() {
        let req = OpenAiResponses
            .parse_request(&load(REQUEST_STATEFUL))
            .unwrap();
        assert_eq!(
            req.previous_response_id.as_deref(),
            Some("resp_684b3f920c38819b9ab7c6ae941d7bbc06a71505999f7ca4")
        );
        assert!(req.parallel_disabled);
        assert!(req.stream);
        assert_eq!(shape(&req), [(Role::Tool, 0, 2)]);
        assert_eq!(req.messages[0].results().count(), 2);

        let first = OpenAiResponses.parse_request(&load(REQUEST_FIRST)).unwrap();
        assert_eq!(shape(&first), [(Role::System, 0, 0), (Role::User, 0, 1)]);
        assert_eq!(
            first.messages[1].parts,
            [Part::Text(
                "When is the Tigers game and what's the weather in Detroit?".into()
            )]
        );
    }

    #[test]
    fn groups_follow_item_kinds() {
        let req = OpenAiResponses
            .parse_request(&json!({"input": [
                {"type": "message", "role": "developer", "content": "Be terse."},
                {"role": "system", "content": [{"type": "input_text", "text": "Rule two."}]},
                {"type": "web_search_call", "id": "ws_1", "status": "completed"},
                {"role": "assistant", "content": "Searching."},
                {"type": "function_call", "call_id": "call_1", "name": "a", "arguments": "{\"x\":"},
                {"type": "function_call_output", "call_id": "call_1", "output": null},
                {"type": "custom_tool_call_output", "call_id": "call_2", "output": "x"},
                {"type": "function_call_output", "call_id": "call_3"},
                {"type": "mcp_approval_response", "approve": true, "approval_request_id": "mcpr_1"},
                {"type": "function_call_output", "call_id": "call_4", "output": "late"}
            ]}))
            .unwrap();
        assert_eq!(
            shape(&req),
            [
                (Role::System, 0, 1),
                (Role::System, 1, 1),
                (Role::Assistant, 2, 3),
                (Role::Tool, 5, 3),
                (Role::User, 8, 1),
                (Role::Tool, 9, 1),
            ]
        );
        assert_eq!(
            req.messages[2].parts[2],
            call("call_1", "a", json!("{\"x\":"))
        );
        assert_eq!(req.messages[3].parts[0], result("call_1", ""));
        assert_eq!(req.messages[3].parts[2], result("call_3", ""));
        assert!(matches!(&req.messages[3].parts[1], Part::Other(_)));
    }

    #[test]
    fn malformed_requests_say_where_and_what() {
        let e = err_of(json!(null));
        assert_eq!(e.path, "");
        assert_eq!(e.message, "expected a request object, found null");

        let e = err_of(json!({"model": "gpt-4o"}));
        assert_eq!(e.path, "input");
        assert_eq!(
            e.message,
            "expected a string or an array of input items, found nothing (the field is missing)"
        );

        let e = err_of(json!({"input": [
            {"role": "user", "content": "hi"},
            {"type": "function_call", "id": "fc_1", "name": "a", "arguments": "{}"}
        ]}));
        assert_eq!(e.path, "input[1].call_id");

        let e = err_of(json!({"input": [{"type": "function_call_output", "output": "x"}]}));
        assert_eq!(e.path, "input[0].call_id");
        assert_eq!(
            e.message,
            "expected a string, found nothing (the field is missing)"
        );

        let e = err_of(
            json!({"input": [{"type": "function_call", "call_id": "c", "name": "a", "arguments": {}}]}),
        );
        assert_eq!(e.path, "input[0].arguments");

        let e = err_of(json!({"input": [{"role": "tool", "content": "x"}]}));
        assert_eq!(e.path, "input[0].role");
        assert!(e.message.ends_with("found \"tool\""));

        let e = err_of(json!({"input": [{"content": "x"}]}));
        assert_eq!(e.path, "input[0]");

        let e = err_of(json!({"input": [{"role": "user"}]}));
        assert_eq!(e.path, "input[0].content");

        let e = err_of(
            json!({"input": [{"type": "function_call_output", "call_id": "c", "output": 3}]}),
        );
        assert_eq!(e.path, "input[0].output");

        let e = err_of(json!({"input": [], "instructions": ["x"]}));
        assert_eq!(e.path, "instructions");

        let e = err_of(json!({"input": [], "previous_response_id": 1}));
        assert_eq!(e.path, "previous_response_id");
    }

    #[test]
    fn parses_replies() {
        let reply = OpenAiResponses.parse_reply(&load(REPLY_PARALLEL)).unwrap();
        assert_eq!(
            reply.id.as_deref(),
            Some("resp_684b3f920c38819b9ab7c6ae941d7bbc06a71505999f7ca4")
        );
        assert_eq!(reply.stop, StopReason::ToolUse);
        assert_eq!(
            (
                reply.message.role,
                reply.message.wire_index,
                reply.message.wire_len
            ),
            (Role::Assistant, 0, 2)
        );
        assert_eq!(
            reply.message.parts,
            [
                call(
                    "call_6irqoFHScAWPUZs0wKOD2EOW",
                    "search",
                    json!({"query": "Tigers game time October 6, 2023"})
                ),
                call(
                    "call_RBMR4MVKXHFyKcGfqCLTrbdP",
                    "weather",
                    json!({"city": "Detroit"})
                ),
            ]
        );

        let mixed = OpenAiResponses.parse_reply(&load(REPLY_REASONING)).unwrap();
        assert_eq!(mixed.message.wire_len, 4);
        assert_eq!(mixed.stop, StopReason::ToolUse);
        assert!(matches!(&mixed.message.parts[0], Part::Other(r) if r["type"] == "reasoning"));
        assert_eq!(
            mixed.message.parts[1],
            Part::Text("Let me look up the game time and the Detroit weather.".into())
        );
        assert_eq!(mixed.calls().len(), 2);
        assert_eq!(mixed.calls()[1].id, "call_gH6jK9lM2nP5qR8sT1uV4wX7");

        let fin = OpenAiResponses.parse_reply(&load(REPLY_FINAL)).unwrap();
        assert_eq!(fin.stop, StopReason::EndTurn);
        assert_eq!(fin.message.wire_len, 1);

        let mut cut = load(REPLY_FINAL);
        cut["status"] = json!("incomplete");
        assert_eq!(
            OpenAiResponses.parse_reply(&cut).unwrap().stop,
            StopReason::Other("incomplete".into())
        );
    }

    #[test]
    fn malformed_replies() {
        let mut no_status = load(REPLY_FINAL);
        no_status.as_object_mut().unwrap().remove("status");
        let e = OpenAiResponses.parse_reply(&no_status).unwrap_err();
        assert_eq!(e.path, "status");
        assert_eq!(
            e.message,
            "expected a status string, found nothing (the field is missing)"
        );

        let mut bad_call = load(REPLY_PARALLEL);
        bad_call["output"][1]["name"] = json!(7);
        let e = OpenAiResponses.parse_reply(&bad_call).unwrap_err();
        assert_eq!(e.path, "output[1].name");
        assert_eq!(e.message, "expected a string, found the number 7");

        let e = OpenAiResponses
            .parse_reply(&OpenAiResponses.error_body("No tool output found"))
            .unwrap_err();
        assert_eq!(e.path, "");
        assert!(e.message.contains("No tool output found"));
    }

    #[test]
    fn stream_round_trip_on_every_fixture_reply() {
        for text in [REPLY_PARALLEL, REPLY_REASONING, REPLY_FINAL] {
            let body = load(text);
            let events = OpenAiResponses.stream_from_reply(&body).unwrap();
            let rebuilt = OpenAiResponses.reply_from_stream(&events).unwrap();
            assert_eq!(rebuilt, body);
            assert_eq!(
                OpenAiResponses.parse_reply(&rebuilt).unwrap(),
                OpenAiResponses.parse_reply(&body).unwrap()
            );
        }
    }

    /// What the SDK accumulators would rebuild from the item events alone matches the body: the
    /// events are right, not only the final `response.completed`.
    #[test]
    fn emitted_events_rebuild_every_item() {
        for text in [REPLY_PARALLEL, REPLY_REASONING, REPLY_FINAL] {
            let body = load(text);
            let events = OpenAiResponses.stream_from_reply(&body).unwrap();
            let datas: Vec<Value> = events
                .iter()
                .map(|e| serde_json::from_str(&e.data).unwrap())
                .collect();
            for (n, (e, d)) in events.iter().zip(&datas).enumerate() {
                assert_eq!(e.event.as_deref(), d["type"].as_str());
                assert_eq!(d["sequence_number"], n, "sequence numbers count from 0");
                assert_eq!(e.gap_ms, 0);
            }
            assert_eq!(datas[0]["type"], "response.created");
            assert_eq!(datas[0]["response"]["status"], "in_progress");
            assert_eq!(datas[0]["response"]["output"], json!([]));
            assert_eq!(datas[0]["response"]["usage"], Value::Null);
            assert_eq!(datas[1]["type"], "response.in_progress");
            assert_eq!(datas.last().unwrap()["type"], "response.completed");

            let mut output: Vec<Value> = Vec::new();
            for d in &datas {
                let k = d["output_index"].as_u64().unwrap_or(0) as usize;
                match d["type"].as_str().unwrap() {
                    "response.output_item.added" => {
                        assert_eq!(k, output.len(), "items are added in order");
                        if d["item"]["type"] == "function_call" {
                            assert_eq!(d["item"]["status"], "in_progress");
                            assert_eq!(d["item"]["arguments"], "");
                        }
                        output.push(d["item"].clone());
                    }
                    "response.function_call_arguments.delta" => {
                        assert_eq!(d["item_id"], output[k]["id"]);
                        let mut args = output[k]["arguments"].as_str().unwrap().to_string();
                        args.push_str(d["delta"].as_str().unwrap());
                        output[k]["arguments"] = json!(args);
                    }
                    "response.content_part.added" => {
                        output[k]["content"]
                            .as_array_mut()
                            .unwrap()
                            .push(d["part"].clone());
                    }
                    "response.output_text.delta" => {
                        let c = d["content_index"].as_u64().unwrap() as usize;
                        let part = &mut output[k]["content"][c];
                        let text = format!(
                            "{}{}",
                            part["text"].as_str().unwrap(),
                            d["delta"].as_str().unwrap()
                        );
                        part["text"] = json!(text);
                    }
                    "response.reasoning_summary_part.added" => {
                        output[k]["summary"]
                            .as_array_mut()
                            .unwrap()
                            .push(d["part"].clone());
                    }
                    "response.reasoning_summary_text.delta" => {
                        let s = d["summary_index"].as_u64().unwrap() as usize;
                        let part = &mut output[k]["summary"][s];
                        let text = format!(
                            "{}{}",
                            part["text"].as_str().unwrap(),
                            d["delta"].as_str().unwrap()
                        );
                        part["text"] = json!(text);
                    }
                    "response.output_item.done" => {
                        assert_eq!(d["item"], body["output"][k]);
                        let mut built = output[k].clone();
                        if built.get("status").is_some() {
                            built["status"] = d["item"]["status"].clone();
                        }
                        assert_eq!(built, body["output"][k], "deltas rebuild item {k}");
                    }
                    _ => {}
                }
            }
            assert_eq!(output.len(), body["output"].as_array().unwrap().len());
        }
    }

    #[test]
    fn accumulates_the_recorded_two_call_stream() {
        let events: Vec<SseEvent> = serde_json::from_str(STREAM_RECORDED).unwrap();
        let body = OpenAiResponses.reply_from_stream(&events).unwrap();
        assert_eq!(body, load(REPLY_PARALLEL));
        let reply = OpenAiResponses.parse_reply(&body).unwrap();
        assert_eq!(reply.stop, StopReason::ToolUse);
        assert_eq!(
            reply
                .calls()
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>(),
            [
                "call_6irqoFHScAWPUZs0wKOD2EOW",
                "call_RBMR4MVKXHFyKcGfqCLTrbdP"
            ]
        );
        // The recording (its argument deltas merged) and the emitted stream have the same event
        // sequence once repeated deltas are collapsed.
        let ours = OpenAiResponses.stream_from_reply(&body).unwrap();
        let names = |evs: &[SseEvent]| -> Vec<Option<String>> {
            let mut names: Vec<Option<String>> = evs.iter().map(|e| e.event.clone()).collect();
            names.dedup();
            names
        };
        assert_eq!(names(&ours), names(&events));
    }

    #[test]
    fn stream_errors_point_at_the_event() {
        let events: Vec<SseEvent> = serde_json::from_str(STREAM_RECORDED).unwrap();

        let e = OpenAiResponses.reply_from_stream(&[]).unwrap_err();
        assert_eq!(e.path, "");

        let e = OpenAiResponses.reply_from_stream(&events[1..]).unwrap_err();
        assert_eq!(e.path, "[0]");
        assert_eq!(
            e.message,
            "expected the stream to begin with response.created, found \"response.in_progress\""
        );

        let e = OpenAiResponses
            .reply_from_stream(&events[..events.len() - 1])
            .unwrap_err();
        assert_eq!(e.path, "");
        assert_eq!(
            e.message,
            "expected a response.completed event, found none (the stream ended early)"
        );

        let mut with_error = events[..4].to_vec();
        with_error.push(SseEvent::named(
            "error",
            &json!({"type": "error", "sequence_number": 4, "code": "server_error", "message": "The server had an error"}),
        ));
        let e = OpenAiResponses.reply_from_stream(&with_error).unwrap_err();
        assert_eq!(e.path, "[4]");
        assert_eq!(
            e.message,
            "the stream carried an error event (server_error: The server had an error)"
        );

        let mut failed = events[..2].to_vec();
        failed.push(SseEvent::named(
            "response.failed",
            &json!({"type": "response.failed", "sequence_number": 2, "response": {"id": "resp_1", "status": "failed", "error": {"code": "rate_limit_exceeded", "message": "Slow down"}}}),
        ));
        let e = OpenAiResponses.reply_from_stream(&failed).unwrap_err();
        assert_eq!(e.path, "[2]");
        assert_eq!(
            e.message,
            "the response failed (rate_limit_exceeded: Slow down)"
        );

        let mut bad_completed = events.clone();
        let last = bad_completed.len() - 1;
        bad_completed[last] = SseEvent::named(
            "response.completed",
            &json!({"type": "response.completed", "sequence_number": 10, "response": "done"}),
        );
        let e = OpenAiResponses
            .reply_from_stream(&bad_completed)
            .unwrap_err();
        assert_eq!(e.path, "[10].response");

        // A stray terminator before the first event does not excuse a missing response.created.
        let mut late_start = vec![SseEvent::data("[DONE]")];
        late_start.extend_from_slice(&events[1..]);
        let e = OpenAiResponses.reply_from_stream(&late_start).unwrap_err();
        assert_eq!(e.path, "[1]");

        let mut garbled = events.clone();
        garbled[3].data = "{".into();
        assert_eq!(
            OpenAiResponses
                .reply_from_stream(&garbled)
                .unwrap_err()
                .path,
            "[3]"
        );
    }

    #[test]
    fn follow_up_built_from_entries_parses_back() {
        let mut request = load(REQUEST_FIRST);
        let reply = load(REPLY_REASONING);
        let results = [
            ResultBlock {
                call_id: "call_gH6jK9lM2nP5qR8sT1uV4wX7".into(),
                content: "Detroit tonight: 15°C".into(),
                is_error: false,
            },
            ResultBlock {
                call_id: "call_kP3sQ9vT2wX5yZ8aB1cD4eF7".into(),
                content: "Error: search backend unavailable".into(),
                is_error: true,
            },
        ];
        let items = OpenAiResponses.history_entries(&reply).unwrap();
        assert_eq!(items, reply["output"].as_array().unwrap().clone());
        let entries = OpenAiResponses.results_entries(&results, None);
        assert_eq!(
            entries[1],
            json!({"type": "function_call_output", "call_id": "call_kP3sQ9vT2wX5yZ8aB1cD4eF7", "output": "Error: search backend unavailable"})
        );
        // The string input becomes the equivalent one-message array.
        let history = OpenAiResponses.history_mut(&mut request).unwrap();
        assert_eq!(
            history,
            &[
                json!({"role": "user", "content": "When is the Tigers game and what's the weather in Detroit?"})
            ]
        );
        history.extend(items);
        history.extend(entries);

        let req = OpenAiResponses.parse_request(&request).unwrap();
        assert_eq!(
            shape(&req),
            [
                (Role::System, 0, 0),
                (Role::User, 0, 1),
                (Role::Assistant, 1, 4),
                (Role::Tool, 5, 2),
            ]
        );
        assert_eq!(
            req.messages[2].parts,
            OpenAiResponses.parse_reply(&reply).unwrap().message.parts
        );
        assert_eq!(
            req.messages[3].parts,
            [
                result("call_gH6jK9lM2nP5qR8sT1uV4wX7", "Detroit tonight: 15°C"),
                result(
                    "call_kP3sQ9vT2wX5yZ8aB1cD4eF7",
                    "Error: search backend unavailable"
                ),
            ]
        );

        let with_text = OpenAiResponses.results_entries(&results[..1], Some("Results:"));
        assert_eq!(with_text[0], json!({"role": "user", "content": "Results:"}));
        assert_eq!(with_text[1]["type"], "function_call_output");
    }

    #[test]
    fn history_mut_handles_missing_and_wrong_input() {
        let mut missing = json!({"model": "gpt-4o"});
        assert!(
            OpenAiResponses
                .history_mut(&mut missing)
                .unwrap()
                .is_empty()
        );
        assert_eq!(missing["input"], json!([]));
        let mut bad = json!({"input": 3});
        let e = OpenAiResponses.history_mut(&mut bad).unwrap_err();
        assert_eq!(e.path, "input");
        assert_eq!(e.message, "expected an array, found the number 3");
        assert_eq!(
            OpenAiResponses
                .history_mut(&mut json!([]))
                .unwrap_err()
                .path,
            ""
        );
        let e = OpenAiResponses
            .history_entries(&json!({"id": "resp_1"}))
            .unwrap_err();
        assert_eq!(e.path, "output");
    }

    #[test]
    fn parallel_switch_round_trips() {
        let mut request = load(REQUEST_FIRST);
        assert!(
            !OpenAiResponses
                .parse_request(&request)
                .unwrap()
                .parallel_disabled
        );
        OpenAiResponses.set_parallel_disabled(&mut request, true);
        assert_eq!(request["parallel_tool_calls"], json!(false));
        assert!(
            OpenAiResponses
                .parse_request(&request)
                .unwrap()
                .parallel_disabled
        );
        OpenAiResponses.set_parallel_disabled(&mut request, false);
        assert_eq!(request, load(REQUEST_FIRST));
    }

    #[test]
    fn error_body_and_user_entry() {
        assert_eq!(
            OpenAiResponses.error_body("No tool call found for function call output"),
            json!({"error": {
                "message": "No tool call found for function call output",
                "type": "invalid_request_error",
                "param": null,
                "code": null
            }})
        );
        assert_eq!(
            OpenAiResponses.user_text_entry("next"),
            json!({"role": "user", "content": "next"})
        );
        assert_eq!(OpenAiResponses.provider(), Provider::OpenAiResponses);
    }
}
