//! The texts a reader reassembles from a stream: a streamed reply sends its text and its tool
//! arguments in pieces, one per event, and a key cut in three is whole again once they are
//! joined. Which JSON paths hold those pieces differs by API (`delta.text`,
//! `choices[0].delta.content`, `delta`, `candidates[0].content.parts[0].text`, ...), so nothing
//! here names one: every string leaf of the events' JSON is joined with the leaves of the same
//! path in the other events, in event order, two ways:
//!
//! - per block: the same path, array positions included, and the same values of the members
//!   that tell blocks apart (`index`, `output_index`, `content_index`, `item_id`, ... — any
//!   `index`, `*_index` or `*_id` member along the path): one text per content block, tool
//!   call or output item, as an SDK rebuilds them;
//! - per path: the same path with array positions left out, and nothing else: everything a
//!   stream sent under that path, in case an API moves a block between positions.

use std::collections::BTreeMap;

use serde_json::Value;

/// One step into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
}

/// Where a string leaf is: which event, and the steps into its JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The event's position in the stream.
    pub event: usize,
    /// The steps to the leaf.
    pub path: Vec<Step>,
}

/// The pieces of one reassembled text, in event order.
#[derive(Debug, Clone)]
pub struct Group {
    /// The path, for messages (`delta.text`, `choices[0].delta.content`).
    pub field: String,
    /// Its pieces (two or more, from two or more events).
    pub pieces: Vec<Piece>,
}

/// The path as a reader writes it: `choices[0].delta.tool_calls[1].function.arguments`.
pub fn show(path: &[Step]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// The string at `path` in `v`.
pub fn leaf<'a>(v: &'a Value, path: &[Step]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, step| match step {
            Step::Key(k) => v.get(k),
            Step::Index(i) => v.get(i),
        })?
        .as_str()
}

/// The string at `path` in `v`, to change.
pub fn leaf_mut<'a>(v: &'a mut Value, path: &[Step]) -> Option<&'a mut String> {
    let target = path.iter().try_fold(v, |v, step| match step {
        Step::Key(k) => v.get_mut(k),
        Step::Index(i) => v.get_mut(i),
    })?;
    match target {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// Whether a member tells blocks apart.
fn tells_apart(name: &str) -> bool {
    name == "index"
        || name.ends_with("_index")
        || name.ends_with("Index")
        || ((name.ends_with("_id") || name.ends_with("Id")) && name.len() > 3)
}

/// Every text a reader can reassemble from `events` (each an event's parsed JSON data, `None`
/// when it is not JSON): per block first, then per path; only texts of two different non-empty
/// pieces or more, and a per-path text only when it differs from every per-block one.
pub fn groups(events: &[Option<Value>]) -> Vec<Group> {
    let mut per_block: BTreeMap<(String, String), Group> = BTreeMap::new();
    let mut per_path: BTreeMap<String, Group> = BTreeMap::new();
    for (event, v) in events.iter().enumerate() {
        let Some(v) = v else { continue };
        let mut leaves = Vec::new();
        walk(v, &mut Vec::new(), &mut String::new(), &mut leaves);
        for (path, apart) in leaves {
            let field = show(&path);
            let loose = loose(&path);
            let piece = Piece { event, path };
            per_block
                .entry((field.clone(), apart))
                .or_insert_with(|| Group {
                    field: field.clone(),
                    pieces: Vec::new(),
                })
                .pieces
                .push(piece.clone());
            per_path
                .entry(loose.clone())
                .or_insert_with(|| Group {
                    field: loose,
                    pieces: Vec::new(),
                })
                .pieces
                .push(piece);
        }
    }
    // A text of one piece was seen on its own; one that repeats a single value (an id, a
    // model name, an event type in every event) spells nothing new.
    let joined = |g: &Group| {
        let texts: Vec<&str> = g
            .pieces
            .iter()
            .filter_map(|p| events[p.event].as_ref().and_then(|v| leaf(v, &p.path)))
            .filter(|t| !t.is_empty())
            .collect();
        texts.len() > 1 && texts.iter().any(|t| *t != texts[0])
    };
    let mut out: Vec<Group> = per_block.into_values().filter(joined).collect();
    for g in per_path.into_values().filter(joined) {
        if !out.iter().any(|b| b.pieces == g.pieces) {
            out.push(g);
        }
    }
    out
}

/// The path without array positions: `choices[].delta.content`.
fn loose(path: &[Step]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Step::Index(_) => s.push_str("[]"),
        }
    }
    s
}

/// Collect the string leaves under `v` with the values of the members that tell blocks apart
/// on the way (`apart`), leaving out those members themselves.
fn walk(v: &Value, path: &mut Vec<Step>, apart: &mut String, out: &mut Vec<(Vec<Step>, String)>) {
    match v {
        Value::String(_) => out.push((path.clone(), apart.clone())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i));
                walk(item, path, apart, out);
                path.pop();
            }
        }
        Value::Object(map) => {
            let mark = apart.len();
            for (k, item) in map {
                if tells_apart(k) && !item.is_object() && !item.is_array() {
                    apart.push_str(&format!("{}={item};", show(path) + "." + k));
                }
            }
            for (k, item) in map {
                if tells_apart(k) && !item.is_object() && !item.is_array() {
                    continue;
                }
                path.push(Step::Key(k.clone()));
                walk(item, path, apart, out);
                path.pop();
            }
            apart.truncate(mark);
        }
        _ => {}
    }
}

/// The pieces' texts after masking `spans` of their concatenation: the part of a span that
/// falls in the first piece it touches becomes `mask`, the rest of it is dropped, so the
/// pieces joined read as the concatenation with each span masked once.
pub fn mask_pieces(pieces: &[&str], spans: &[std::ops::Range<usize>], mask: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(pieces.len());
    let mut at = 0;
    for piece in pieces {
        let (start, end) = (at, at + piece.len());
        let mut s = String::with_capacity(piece.len());
        let mut pos = start;
        for span in spans {
            if span.end <= start || span.start >= end {
                continue;
            }
            let (from, to) = (span.start.max(start), span.end.min(end));
            s.push_str(&piece[pos - start..from - start]);
            if span.start >= start {
                s.push_str(mask);
            }
            pos = to;
        }
        s.push_str(&piece[pos - start..]);
        out.push(s);
        at = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn texts(events: &[Value]) -> Vec<(String, String)> {
        let events: Vec<Option<Value>> = events.iter().cloned().map(Some).collect();
        groups(&events)
            .into_iter()
            .map(|g| {
                let joined: String = g
                    .pieces
                    .iter()
                    .map(|p| leaf(events[p.event].as_ref().unwrap(), &p.path).unwrap())
                    .collect();
                (g.field, joined)
            })
            .collect()
    }

    fn has(got: &[(String, String)], field: &str, text: &str) -> bool {
        got.iter().any(|(f, t)| f == field && t == text)
    }

    #[test]
    fn anthropic_blocks_are_joined_each_on_its_own() {
        let ev = [
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"q\":"}}),
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"r\":"}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "1}"}}),
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "2}"}}),
        ];
        let got = texts(&ev);
        assert!(has(&got, "delta.text", "Hello"), "{got:?}");
        assert!(has(&got, "delta.partial_json", "{\"q\":1}"), "{got:?}");
        assert!(has(&got, "delta.partial_json", "{\"r\":2}"), "{got:?}");
        assert!(
            has(&got, "delta.partial_json", "{\"q\":{\"r\":1}2}"),
            "and everything under the path, interleaved as sent: {got:?}"
        );
    }

    #[test]
    fn openai_chat_tool_calls_by_their_index() {
        let chunk = |tc: Value| json!({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"tool_calls": [tc]}}]});
        let ev = [
            chunk(json!({"index": 0, "id": "call_a", "function": {"name": "f", "arguments": ""}})),
            chunk(json!({"index": 0, "function": {"arguments": "{\"a\":"}})),
            chunk(
                json!({"index": 1, "id": "call_b", "function": {"name": "g", "arguments": "{\"b\""}}),
            ),
            chunk(json!({"index": 0, "function": {"arguments": "1}"}})),
            chunk(json!({"index": 1, "function": {"arguments": ":2}"}})),
        ];
        let got = texts(&ev);
        let field = "choices[0].delta.tool_calls[0].function.arguments";
        assert!(has(&got, field, "{\"a\":1}"), "{got:?}");
        assert!(has(&got, field, "{\"b\":2}"), "{got:?}");
        assert!(
            !got.iter().any(|(f, _)| f == "id"),
            "a value every event repeats spells nothing: {got:?}"
        );
    }

    #[test]
    fn openai_responses_items_by_output_index_and_item_id() {
        let d = |item: &str, out: u64, seq: u64, delta: &str| json!({"type": "response.output_text.delta", "sequence_number": seq, "item_id": item, "output_index": out, "content_index": 0, "delta": delta});
        let ev = [
            d("msg_1", 0, 1, "ab"),
            d("msg_1", 0, 2, "cd"),
            d("fc_2", 1, 3, "xy"),
        ];
        let got = texts(&ev);
        assert!(has(&got, "delta", "abcd"), "{got:?}");
        assert!(has(&got, "delta", "abcdxy"), "{got:?}");
    }

    #[test]
    fn gemini_parts_by_path_even_when_their_position_moves() {
        let chunk = |parts: Value| json!({"candidates": [{"content": {"parts": parts, "role": "model"}, "index": 0}], "responseId": "r1"});
        let ev = [
            chunk(json!([{"text": "sk-ant-"}])),
            chunk(json!([{"thought": true, "text": "hmm"}, {"text": "api03-"}])),
            chunk(json!([{"text": "rest"}])),
        ];
        let got = texts(&ev);
        assert!(
            has(
                &got,
                "candidates[0].content.parts[0].text",
                "sk-ant-hmmrest"
            ),
            "{got:?}"
        );
        assert!(
            has(
                &got,
                "candidates[].content.parts[].text",
                "sk-ant-hmmapi03-rest"
            ),
            "{got:?}"
        );
    }

    #[test]
    fn masking_a_span_of_the_joined_text_masks_it_once_across_pieces() {
        let pieces = ["ab sk-", "ant-xyz", "123 cd", " ef"];
        let joined: String = pieces.concat();
        let start = joined.find("sk-").unwrap();
        let end = joined.find(" cd").unwrap();
        let span = std::iter::once(start..end).collect::<Vec<_>>();
        let got = mask_pieces(&pieces, &span, "[M]");
        assert_eq!(got, ["ab [M]", "", " cd", " ef"]);
        assert_eq!(got.concat(), "ab [M] cd ef");
        let got = mask_pieces(&pieces, &[0..2, 16..19], "[M]");
        assert_eq!(got.concat(), "[M] sk-ant-xyz123[M] ef");
        assert_eq!(mask_pieces(&pieces, &[], "[M]").concat(), joined);
    }
}
