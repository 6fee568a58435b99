//! openai_responses streams: accumulating events into a reply, and emitting them from one.

use serde_json::{Map, Value, json};

use super::super::common::{
    at_index, at_key, error_text, event_json, object, required, set_field, split_fragments,
};
use super::super::{FormatError, SseEvent};
use super::parse::*;

pub(super) fn reply_from_stream(events: &[SseEvent]) -> Result<Value, FormatError> {
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

pub(super) fn stream_from_reply(body: &Value) -> Result<Vec<SseEvent>, FormatError> {
    // Validates the output items the rest streams.
    parse_reply(body)?;
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

/// Builds a Responses stream: every event's data starts with its `type` and a
/// `sequence_number` counting from 0.
#[derive(Default)]
pub(super) struct Emitter {
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
