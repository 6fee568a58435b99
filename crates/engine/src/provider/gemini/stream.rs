//! Gemini streams: `streamGenerateContent` sends a series of whole `GenerateContentResponse`
//! chunks (as `data:` events with `alt=sse`, else as the elements of one JSON array). A chunk
//! carries the next parts of the candidate's content; text comes in pieces, a function call
//! always whole (arguments are never streamed on the Developer API), several calls in one chunk
//! or each in its own chunk with no index (gemini-mcp.md §1.3). The last chunk carries the
//! finish reason and the usage.

use serde_json::{Map, Value, json};

use super::super::common::{Obj, at_index, at_key, event_json, object, split_fragments};
use super::super::{FormatError, SseEvent, StreamChunking};
use super::case::camel;
use super::parse::{error_text, get, parse_reply};

pub(super) fn reply_from_stream(events: &[SseEvent]) -> Result<Value, FormatError> {
    if events.is_empty() {
        return Err(FormatError::new(
            "",
            "expected a stream of GenerateContentResponse chunks, found no events",
        ));
    }
    let mut top = Map::new();
    let mut cand = Map::new();
    let mut role: Option<Value> = None;
    let mut parts: Vec<Value> = Vec::new();
    let mut saw_candidate = false;
    for i in 0..events.len() {
        let data = event_json(events, i)?;
        let path = at_index("", i);
        let chunk = object(&data, &path, "a GenerateContentResponse chunk")?;
        if let Some(err) = chunk.get("error") {
            return Err(FormatError::new(
                path,
                format!("the stream carried an error ({})", error_text(err)),
            ));
        }
        for (k, v) in chunk {
            if camel(k) != "candidates" && !v.is_null() {
                top.insert(k.clone(), v.clone());
            }
        }
        let Some((ck, Value::Array(cands))) = get(chunk, "candidates") else {
            continue;
        };
        let Some(first) = cands.first() else {
            continue;
        };
        let cpath = at_index(&at_key(&path, ck), 0);
        let first = object(first, &cpath, "a candidate object")?;
        saw_candidate = true;
        for (k, v) in first {
            if camel(k) != "content" && !v.is_null() {
                cand.insert(k.clone(), v.clone());
            }
        }
        if let Some((k, content)) = get(first, "content") {
            let content = object(content, &at_key(&cpath, k), "a content object")?;
            if let Some(r) = content.get("role") {
                role.get_or_insert_with(|| r.clone());
            }
            if let Some((pk, p)) = get(content, "parts") {
                let Value::Array(p) = p else {
                    return Err(super::super::common::mismatch(
                        at_key(&at_key(&cpath, k), pk),
                        "an array of parts",
                        Some(p),
                    ));
                };
                for part in p {
                    push_part(&mut parts, part.clone());
                }
            }
        }
    }
    if !saw_candidate {
        return Err(FormatError::new(
            "",
            format!(
                "expected a chunk with a candidate among the {} event(s), found none",
                events.len()
            ),
        ));
    }
    let mut content = Map::new();
    if let Some(r) = role {
        content.insert("role".into(), r);
    }
    content.insert("parts".into(), Value::Array(parts));
    cand.insert("content".into(), Value::Object(content));
    let mut body = Map::new();
    body.insert("candidates".into(), json!([Value::Object(cand)]));
    body.extend(top);
    Ok(Value::Object(body))
}

/// Whether a part is a piece of text that more text may continue: text (and the `thought`
/// flag) only.
fn open_text(part: &Obj) -> bool {
    part.get("text").is_some_and(Value::is_string)
        && part.keys().all(|k| k == "text" || k == "thought")
}

/// Append a part, joining a text piece to the text before it (same `thought` flag), as a
/// client reading the whole reply sees it.
fn push_part(parts: &mut Vec<Value>, part: Value) {
    if let (Some(Value::Object(prev)), Value::Object(next)) = (parts.last_mut(), &part)
        && open_text(prev)
        && next.get("text").is_some_and(Value::is_string)
        && prev.get("thought") == next.get("thought")
    {
        let piece = next.get("text").and_then(Value::as_str).unwrap_or_default();
        if let Some(Value::String(t)) = prev.get_mut("text") {
            t.push_str(piece);
        }
        for (k, v) in next {
            if k != "text" {
                prev.insert(k.clone(), v.clone());
            }
        }
        return;
    }
    parts.push(part);
}

fn is_call(part: &Value) -> bool {
    part.as_object()
        .is_some_and(|p| get(p, "functionCall").is_some())
}

pub(super) fn stream_from_reply(
    body: &Value,
    chunking: StreamChunking,
) -> Result<Vec<SseEvent>, FormatError> {
    // Validates everything the rest relies on.
    parse_reply(body)?;
    let root = body.as_object().cloned().unwrap_or_default();
    let cand = root
        .get("candidates")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let content = cand
        .get("content")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let parts = content
        .get("parts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();

    // The parts of each chunk, in order.
    let mut chunks: Vec<Vec<Value>> = Vec::new();
    let mut calls_open = false;
    for part in parts {
        if is_call(&part) {
            match chunking {
                StreamChunking::OneChunk if calls_open => {
                    if let Some(last) = chunks.last_mut() {
                        last.push(part);
                    }
                }
                _ => chunks.push(vec![part]),
            }
            calls_open = true;
            continue;
        }
        calls_open = false;
        match part.as_object() {
            Some(p) if p.get("text").is_some_and(Value::is_string) => {
                let text = p.get("text").and_then(Value::as_str).unwrap_or_default();
                let pieces = split_fragments(text, 3);
                let n = pieces.len().max(1);
                for k in 0..n {
                    let mut piece = Map::new();
                    piece.insert(
                        "text".into(),
                        json!(pieces.get(k).cloned().unwrap_or_default()),
                    );
                    if let Some(t) = p.get("thought") {
                        piece.insert("thought".into(), t.clone());
                    }
                    if k + 1 == n {
                        // The part's other fields (a signature) come with its last piece.
                        for (key, v) in p {
                            if key != "text" && key != "thought" {
                                piece.insert(key.clone(), v.clone());
                            }
                        }
                    }
                    chunks.push(vec![Value::Object(piece)]);
                }
            }
            _ => chunks.push(vec![part]),
        }
    }
    if chunks.is_empty() {
        chunks.push(Vec::new());
    }

    let head: Map<String, Value> = root
        .iter()
        .filter(|(k, _)| !matches!(camel(k).as_str(), "candidates" | "usageMetadata"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let last = chunks.len() - 1;
    Ok(chunks
        .into_iter()
        .enumerate()
        .map(|(i, parts)| {
            let mut c = Map::new();
            if let Some(r) = content.get("role") {
                c.insert("role".into(), r.clone());
            }
            c.insert("parts".into(), Value::Array(parts));
            let mut candidate = Map::new();
            candidate.insert("content".into(), Value::Object(c));
            let mut chunk = Map::new();
            if i == last {
                for (k, v) in &cand {
                    if k != "content" {
                        candidate.insert(k.clone(), v.clone());
                    }
                }
            }
            chunk.insert("candidates".into(), json!([Value::Object(candidate)]));
            chunk.extend(head.clone());
            if i == last {
                for (k, v) in &root {
                    if camel(k) == "usageMetadata" {
                        chunk.insert(k.clone(), v.clone());
                    }
                }
            }
            SseEvent::data(Value::Object(chunk).to_string())
        })
        .collect())
}
