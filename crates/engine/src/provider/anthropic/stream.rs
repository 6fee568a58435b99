//! anthropic streams: accumulating events into a reply, and emitting them from one.

use serde_json::{Map, Value, json};

use super::super::common::{
    Obj, at_index, at_key, error_text, event_json, mismatch, object, required, set_field, shorten,
    split_fragments, str_field,
};
use super::super::{FormatError, SseEvent};
use super::parse::*;

pub(super) fn reply_from_stream(events: &[SseEvent]) -> Result<Value, FormatError> {
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

pub(super) fn stream_from_reply(body: &Value) -> Result<Vec<SseEvent>, FormatError> {
    // Validates everything the rest relies on (an object with an array of typed blocks).
    parse_reply(body)?;
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

/// A block's `content_block_start` skeleton and its deltas, as the API streams it: text and
/// thinking grow from "", tool input arrives as JSON text fragments (the first one empty, as the
/// API often sends), other blocks (redacted thinking, …) arrive whole at the start.
pub(super) fn block_stream_parts(block: &Value) -> (Value, Vec<Value>) {
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
pub(super) struct StreamAccumulator {
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
pub(super) fn append(block: &mut Map<String, Value>, key: &str, piece: &str) {
    match block.entry(key).or_insert_with(|| json!("")) {
        Value::String(s) => s.push_str(piece),
        slot => *slot = json!(piece),
    }
}
