//! Reading what `tooltape lint` checks: tooltape cassettes, provider request bodies, bare
//! message arrays, and JSON-lines files of any of those; telling the API from the shape of the
//! JSON; and grouping requests into conversations.

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Location, from_json_text};
use crate::provider::Provider;
use crate::provider::{self, FormatError};
use crate::transcript::{Reply, Request, Role};

/// One request of a file, parsed, with the reply it got when the file holds it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The request.
    pub request: Request,
    /// The reply it got (cassettes only).
    pub reply: Option<Reply>,
    /// JSON-lines files: the 1-based line the request is on.
    pub line: Option<usize>,
    /// Cassettes: the 1-based exchange.
    pub exchange: Option<usize>,
}

/// Requests of one conversation, in order: each one repeats the previous one and adds to it.
#[derive(Debug, Clone)]
pub(crate) struct Conversation {
    /// The API.
    pub provider: Provider,
    /// The requests.
    pub entries: Vec<Entry>,
}

/// One JSON document of a file: the whole file, or one line of a JSON-lines file.
pub(crate) struct Doc<'a> {
    text: &'a str,
    /// The 1-based line it starts on, for JSON-lines files.
    pub(crate) line: Option<usize>,
}

impl Doc<'_> {
    /// The location of `json_path` in this document, as a place in the file.
    pub(crate) fn at(&self, file: &Path, json_path: String) -> Location {
        let mut loc = Location::pointer(file, self.text, json_path);
        if let (Some(n), Some((l, c))) = (self.line, loc.line_col) {
            loc.line_col = Some((n + l - 1, c));
        }
        loc
    }

    /// An error found while parsing this document, moved to its line in the file.
    fn shift(&self, e: Error) -> Error {
        match (e, self.line) {
            (Error::Invalid { mut at, message }, Some(n)) => {
                if let Some((l, c)) = at.line_col {
                    at.line_col = Some((n + l - 1, c));
                } else {
                    at.line_col = Some((n, 1));
                }
                Error::Invalid { at, message }
            }
            (e, _) => e,
        }
    }
}

/// Read every conversation in `text` (the content of `file`). `forced` overrides the API told
/// from the shape of raw requests (a cassette always names its own).
pub(crate) fn read(
    file: &Path,
    text: &str,
    forced: Option<Provider>,
) -> Result<Vec<Conversation>, Error> {
    let mut conversations: Vec<Conversation> = Vec::new();
    for (doc, value) in documents(file, text)? {
        if value.get("format").and_then(Value::as_str) == Some(crate::cassette::FORMAT) {
            conversations.push(cassette(file, &doc)?);
            continue;
        }
        let (provider, body, wrapped) = classify(&value, forced)
            .map_err(|message| Error::invalid(doc.at(file, String::new()), message))?;
        let request = provider::format(provider)
            .parse_request(&body)
            .map_err(|e| Error::invalid(doc.at(file, unwrap_path(&e, wrapped)), e.message))?;
        let entry = Entry {
            request,
            reply: None,
            line: doc.line,
            exchange: None,
        };
        match conversations.last_mut() {
            Some(c)
                if c.provider == provider
                    && c.entries.last().is_some_and(|prev| {
                        prev.line.is_some() && continues(&prev.request, &entry.request)
                    }) =>
            {
                c.entries.push(entry)
            }
            _ => conversations.push(Conversation {
                provider,
                entries: vec![entry],
            }),
        }
    }
    Ok(conversations)
}

/// The documents of a file: one JSON value, or one per non-empty line when the file is JSON
/// lines (named `.jsonl`/`.ndjson`, or not one JSON value but its first line is).
pub(crate) fn documents<'a>(file: &Path, text: &'a str) -> Result<Vec<(Doc<'a>, Value)>, Error> {
    let by_name = file
        .extension()
        .is_some_and(|e| e == "jsonl" || e == "ndjson");
    if !by_name {
        let whole = from_json_text::<Value>(file, text);
        let first_line_is_json = || {
            let mut lines = text.lines().filter(|l| !l.trim().is_empty());
            let first = lines.next();
            lines.next().is_some()
                && first.is_some_and(|l| serde_json::from_str::<Value>(l).is_ok())
        };
        match whole {
            Ok(v) => return Ok(vec![(Doc { text, line: None }, v)]),
            Err(e) if !first_line_is_json() => return Err(e),
            Err(_) => {}
        }
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let doc = Doc {
            text: line,
            line: Some(i + 1),
        };
        let value = from_json_text::<Value>(file, line).map_err(|e| doc.shift(e))?;
        out.push((doc, value));
    }
    if out.is_empty() {
        return Err(Error::invalid(
            Location::file(file),
            "expected JSON lines, found an empty file".into(),
        ));
    }
    Ok(out)
}

/// A cassette document as one conversation, every exchange's reply known.
fn cassette(file: &Path, doc: &Doc) -> Result<Conversation, Error> {
    let loaded = crate::cassette::parse_exchanges(file, doc.text).map_err(|e| doc.shift(e))?;
    let entries = loaded
        .requests
        .into_iter()
        .zip(loaded.replies)
        .enumerate()
        .map(|(i, (request, reply))| Entry {
            request,
            reply: Some(reply),
            line: doc.line,
            exchange: Some(i + 1),
        })
        .collect();
    Ok(Conversation {
        provider: loaded.cassette.provider,
        entries,
    })
}

/// Which API a raw document is for, and the request body to parse. A bare array is wrapped
/// into the API's history key (`{"messages": …}`, `{"input": …}`); the key used is returned
/// so that error paths can be given back in the file's own terms.
pub(crate) fn classify(
    value: &Value,
    forced: Option<Provider>,
) -> Result<(Provider, Value, Option<&'static str>), String> {
    if !matches!(value, Value::Object(_) | Value::Array(_)) {
        return Err(format!(
            "expected a tooltape cassette, a request body or an array of messages, found {}",
            kind_of(value)
        ));
    }
    let (provider, body) = match forced {
        Some(p) => {
            let body = match value {
                Value::Array(_) => Value::Object(
                    [(p.format().history_key().to_string(), value.clone())]
                        .into_iter()
                        .collect(),
                ),
                _ => value.clone(),
            };
            (p, body)
        }
        None => crate::provider::detect(value).map_err(|e| {
            format!("expected a tooltape cassette, a request body or an array of messages: {e}")
        })?,
    };
    let wrapped = value.is_array().then(|| provider.format().history_key());
    Ok((provider, body, wrapped))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A format error's path in the file's terms: for a wrapped bare array, `messages[2].content`
/// is `[2].content`.
pub(crate) fn unwrap_path(e: &FormatError, wrapped: Option<&str>) -> String {
    match wrapped.and_then(|k| e.path.strip_prefix(k)) {
        Some(rest) => rest.trim_start_matches('.').to_string(),
        None => e.path.clone(),
    }
}

/// Whether `next` (the next line of a log) continues the conversation of `prev`: it opens with
/// the same first message and is not shorter. Logs hold many conversations; a request that
/// starts elsewhere, or has fewer messages, starts a new one.
pub(crate) fn continues(prev: &Request, next: &Request) -> bool {
    let first = |r: &Request| r.messages.iter().find(|m| m.role != Role::System).cloned();
    match (first(prev), first(next)) {
        (Some(a), Some(b)) => {
            crate::rules::same_message(&a, &b) && next.messages.len() >= prev.messages.len()
        }
        _ => false,
    }
}
