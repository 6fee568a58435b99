//! openai_chat streams: accumulating events into a reply, and emitting them from one.

use serde_json::{Map, Value, json};

use super::super::common::{
    Obj, at_index, at_key, error_text, event_json, mismatch, object, opt_array_field,
    split_fragments,
};
use super::super::{FormatError, SseEvent};
use super::parse::*;

pub(super) fn reply_from_stream(events: &[SseEvent]) -> Result<Value, FormatError> {
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

pub(super) fn stream_from_reply(body: &Value) -> Result<Vec<SseEvent>, FormatError> {
    // Validates the first choice; the loop below checks what it streams of the others.
    parse_reply(body)?;
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

/// The fragments of tool call `k` as the API streams them: the first carries id, type, name and
/// empty arguments, the next ones pieces of the arguments string. Other call kinds go whole.
pub(super) fn tool_call_fragments(k: usize, call: &Value) -> Vec<Value> {
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
pub(super) struct ChoiceSnapshot {
    /// The message so far, merged from the deltas.
    message: Obj,
    /// The finish reason, once a chunk gave it.
    finish_reason: Option<Value>,
}

/// The completion being rebuilt from chunks, as the SDK's stream helper does.
#[derive(Default)]
pub(super) struct ChunkAccumulator {
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
pub(super) fn check_fragment_indices(delta: &Obj, dpath: &str) -> Result<(), FormatError> {
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
pub(super) fn merge_delta(acc: &mut Obj, delta: &Obj) {
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
pub(super) fn merge_indexed(acc: &mut Vec<Value>, delta: &[Value]) {
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
pub(super) fn final_message(mut merged: Obj) -> Value {
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
