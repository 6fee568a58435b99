//! The final scan: before a cassette is written, every credential the run used is searched for
//! in everything a reader of its text could reassemble, and a hit refuses the write, naming
//! where it was (exchange, event, field) and in what form, never the value.
//!
//! What is read: every string of the JSON (and every member name), each event's `data` parsed
//! as JSON, the texts a stream's deltas spell when joined ([`super::deltas`]), and of each of
//! those, its decodings ([`super::decode`]), recursively; then the text as written, byte for
//! byte ([`Credentials::scan`]).

use regex::Regex;
use serde_json::Value;

use super::decode::{self, Form, MAX_DEPTH};
use super::deltas::{self, Step};
use super::redact::{Credentials, Hit};

/// The run's credentials, as one search.
struct Matcher<'a> {
    credentials: &'a Credentials,
    re: Regex,
    /// Texts searched already, with nothing found (a stream repeats its ids in every event).
    clean: std::cell::RefCell<std::collections::HashSet<String>>,
}

impl Matcher<'_> {
    /// The source of a credential in `text` or its decodings, and the encodings around it
    /// (the fewest: a hit found deep is looked for again at each shallower depth).
    fn find(&self, text: &str) -> Option<(String, String)> {
        let mut chain = self.find_within(text, MAX_DEPTH, &mut Vec::new())?;
        for depth in 1..chain.1.len() {
            if let Some(shorter) = self.find_within(text, depth, &mut Vec::new()) {
                chain = shorter;
                break;
            }
        }
        let (source, forms) = chain;
        let form = if forms.is_empty() {
            "verbatim".to_string()
        } else {
            let names: Vec<&str> = forms.iter().rev().map(|f| f.name()).collect();
            format!("encoded ({})", names.join(" inside "))
        };
        Some((source, form))
    }

    /// Depth-first, at most `depth` decodings deep: the credential's source and the decodings
    /// on the way.
    fn find_within(
        &self,
        text: &str,
        depth: usize,
        chain: &mut Vec<Form>,
    ) -> Option<(String, Vec<Form>)> {
        if let Some(m) = self.re.find(text) {
            let source = self
                .credentials
                .iter()
                .find(|c| c.value == m.as_str())
                .map(|c| c.source.clone())
                .unwrap_or_default();
            return Some((source, chain.clone()));
        }
        if depth == 0 {
            return None;
        }
        for d in decode::decodings(text) {
            chain.push(d.form);
            let found = self.find_within(&d.text, depth - 1, chain);
            chain.pop();
            if found.is_some() {
                return found;
            }
        }
        None
    }

    fn hit(&self, text: &str, place: impl FnOnce() -> String) -> Option<Hit> {
        if self.clean.borrow().contains(text) {
            return None;
        }
        let Some((source, form)) = self.find(text) else {
            self.clean.borrow_mut().insert(text.to_string());
            return None;
        };
        Some(Hit {
            source,
            form,
            place: place(),
        })
    }
}

impl Credentials {
    /// The first credential of the run found in a cassette's text, in any form a reader can
    /// reassemble (see the module docs); `None` when there is none.
    pub fn scan_cassette(&self, text: &str) -> Option<Hit> {
        if self.found.is_empty() {
            return None;
        }
        let alternation: Vec<String> = self.found.iter().map(|c| regex::escape(&c.value)).collect();
        let re = Regex::new(&alternation.join("|")).ok()?;
        let m = Matcher {
            credentials: self,
            re,
            clean: Default::default(),
        };
        if let Ok(v) = serde_json::from_str::<Value>(text)
            && let Some(hit) = walk(&m, &v, &mut Vec::new())
        {
            return Some(hit);
        }
        self.scan(text)
    }
}

/// Every string and member name under `v`, streams also as events and joined deltas.
fn walk(m: &Matcher, v: &Value, path: &mut Vec<Step>) -> Option<Hit> {
    match v {
        Value::String(s) => m.hit(s, || place(path, None, None)),
        Value::Array(items) => {
            if let Some(hit) = stream(m, items, path) {
                return Some(hit);
            }
            items.iter().enumerate().find_map(|(i, item)| {
                path.push(Step::Index(i));
                let hit = walk(m, item, path);
                path.pop();
                hit
            })
        }
        Value::Object(map) => map.iter().find_map(|(k, item)| {
            path.push(Step::Key(k.clone()));
            let hit = m
                .hit(k, || place(path, None, Some("(a member name)")))
                .or_else(|| walk(m, item, path));
            path.pop();
            hit
        }),
        _ => None,
    }
}

/// When `items` are a stream's events (objects with a string `data`): each event's data as
/// JSON, and the texts their deltas spell together.
fn stream(m: &Matcher, items: &[Value], path: &[Step]) -> Option<Hit> {
    let data: Vec<&str> = items
        .iter()
        .map(|e| e.get("data").and_then(Value::as_str))
        .collect::<Option<_>>()?;
    if data.is_empty() {
        return None;
    }
    let parsed: Vec<Option<Value>> = data
        .iter()
        .map(|d| {
            serde_json::from_str::<Value>(d)
                .ok()
                .filter(|v| v.is_object() || v.is_array())
        })
        .collect();
    for (i, v) in parsed.iter().enumerate() {
        let Some(v) = v else { continue };
        let mut inner = Vec::new();
        if let Some(hit) = leaves(m, v, &mut inner, &|field: &str| {
            place(path, Some(format!("reply event {}", i + 1)), Some(field))
        }) {
            return Some(hit);
        }
    }
    for g in deltas::groups(&parsed) {
        let joined: String = g
            .pieces
            .iter()
            .filter_map(|p| {
                parsed[p.event]
                    .as_ref()
                    .and_then(|v| deltas::leaf(v, &p.path))
            })
            .collect();
        let (first, last) = (
            g.pieces[0].event + 1,
            g.pieces[g.pieces.len() - 1].event + 1,
        );
        if let Some(hit) = m.hit(&joined, || {
            place(
                path,
                Some(format!("reply events {first}–{last} joined")),
                Some(&g.field),
            )
        }) {
            return Some(hit);
        }
    }
    None
}

/// Every string and member name inside one event's data.
fn leaves(
    m: &Matcher,
    v: &Value,
    path: &mut Vec<Step>,
    at: &dyn Fn(&str) -> String,
) -> Option<Hit> {
    match v {
        Value::String(s) => m.hit(s, || at(&deltas::show(path))),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            path.push(Step::Index(i));
            let hit = leaves(m, item, path, at);
            path.pop();
            hit
        }),
        Value::Object(map) => map.iter().find_map(|(k, item)| {
            path.push(Step::Key(k.clone()));
            let hit = m
                .hit(k, || at(&format!("{} (a member name)", deltas::show(path))))
                .or_else(|| leaves(m, item, path, at));
            path.pop();
            hit
        }),
        _ => None,
    }
}

/// A place in a cassette, as a reader finds it: `exchange 2, request, field messages[1].content`,
/// `exchange 1, reply events 4–6 joined, field delta.text`, `meta, field notes`.
fn place(path: &[Step], events: Option<String>, field: Option<&str>) -> String {
    let mut parts = Vec::new();
    let mut rest = path;
    if let [Step::Key(top), Step::Index(i), tail @ ..] = path
        && top == "exchanges"
    {
        parts.push(format!("exchange {}", i + 1));
        rest = tail;
        match rest {
            [Step::Key(r), tail @ ..] if r == "request" => {
                parts.push("request".into());
                rest = tail;
            }
            [Step::Key(r), Step::Key(b), tail @ ..] if r == "reply" && b == "body" => {
                parts.push("reply".into());
                rest = tail;
            }
            [Step::Key(r), Step::Key(s), tail @ ..] if r == "reply" && s == "stream" => {
                rest = match tail {
                    [Step::Index(e), tail @ ..] if events.is_none() => {
                        parts.push(format!("reply event {}", e + 1));
                        tail
                    }
                    _ => tail,
                };
            }
            _ => {}
        }
    } else if let [Step::Key(top), tail @ ..] = path {
        parts.push(top.clone());
        rest = tail;
    }
    if let Some(e) = events {
        parts.push(e);
        rest = &[];
    }
    let shown = deltas::show(rest);
    match (field, shown.is_empty()) {
        (Some(f), _) if !f.is_empty() && !f.starts_with('(') => parts.push(format!("field {f}")),
        (Some(f), true) => parts.push(f.to_string()),
        (Some(f), false) => parts.push(format!("field {shown} {f}")),
        (None, false) => parts.push(format!("field {shown}")),
        (None, true) => {}
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn creds(value: &str) -> Credentials {
        Credentials::from_env([("SERVICE_API_KEY".to_string(), value.to_string())])
    }

    const KEY: &str = "tt-opaque-7Qx9Lm2Pz4Rw8Ty1";

    fn cassette(exchanges: Value) -> String {
        serde_json::to_string_pretty(&json!({"format": "tooltape-cassette", "version": 1,
            "provider": "anthropic", "meta": {"notes": "n"}, "exchanges": exchanges}))
        .unwrap()
    }

    #[test]
    fn names_the_exchange_the_part_and_the_field() {
        let text = cassette(json!([
            {"request": {"messages": [{"role": "user", "content": "hi"}]}, "reply": {"body": {"x": 1}}},
            {"request": {"messages": [{"role": "user", "content": format!("key {KEY}")}]}, "reply": {"body": {}}}
        ]));
        let hit = creds(KEY).scan_cassette(&text).unwrap();
        assert_eq!(hit.place, "exchange 2, request, field messages[0].content");
        assert_eq!(hit.form, "verbatim");
        assert!(hit.source.contains("SERVICE_API_KEY"));
    }

    #[test]
    fn names_the_events_a_joined_delta_came_from() {
        let ev = |t: &str| json!({"event": "content_block_delta", "data": json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}).to_string()});
        let (a, b) = KEY.split_at(9);
        let text = cassette(json!([{"request": {}, "reply": {"stream": [
            {"event": "message_start", "data": "{}"}, ev("x "), ev(a), ev(b)
        ]}}]));
        let hit = creds(KEY).scan_cassette(&text).unwrap();
        assert_eq!(
            hit.place,
            "exchange 1, reply events 2–4 joined, field delta.text"
        );
    }

    #[test]
    fn names_the_event_and_the_encodings_around_it() {
        let escaped: String = base64_of(KEY)
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        let data = format!(r#"{{"delta":{{"text":"{escaped}"}}}}"#);
        let text = cassette(json!([{"request": {}, "reply": {"stream": [{"data": data}]}}]));
        let hit = creds(KEY).scan_cassette(&text).unwrap();
        assert_eq!(hit.place, "exchange 1, reply event 1, field delta.text");
        assert_eq!(hit.form, "encoded (base64)", "serde undid the escapes");
        let text = cassette(
            json!([{"request": {"note": format!("a\\u0062{escaped}")}, "reply": {"body": {}}}]),
        );
        let hit = creds(KEY).scan_cassette(&text).unwrap();
        assert_eq!(hit.form, "encoded (base64 inside escapes)");
        // An escape elsewhere in the text is not around the credential.
        let note = format!("\\u0041 {}", base64_of(KEY));
        let text = cassette(json!([{"request": {"note": note}, "reply": {"body": {}}}]));
        let hit = creds(KEY).scan_cassette(&text).unwrap();
        assert_eq!(hit.form, "encoded (base64)");
    }

    fn base64_of(s: &str) -> String {
        super::super::redact::base64_encode(s.as_bytes(), false)
    }

    #[test]
    fn hashes_uuids_and_masks_are_not_credentials() {
        let text = cassette(
            json!([{"request": {"m": "commit 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b, id 123e4567-e89b-12d3-a456-426614174000, [REDACTED]"}, "reply": {"body": {}}}]),
        );
        assert_eq!(creds(KEY).scan_cassette(&text), None);
        assert_eq!(Credentials::default().scan_cassette(&text), None);
    }

    #[test]
    fn text_that_is_not_json_is_still_searched_byte_for_byte() {
        let hit = creds(KEY)
            .scan_cassette(&format!("{{ broken\n{KEY}"))
            .unwrap();
        assert_eq!(hit.place, "line 2 of the file");
    }
}
