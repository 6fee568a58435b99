//! JSON and JSON-lines conversation logs: request bodies, bare messages arrays, one per line,
//! read and grouped into conversations exactly as `tooltape lint` reads them.
//!
//! A log holds requests, not replies; each reply is rebuilt from the history of the request
//! that follows it, whose new assistant turn is what the model answered. Assistant turns a
//! request carries that no earlier line asked for (a log that starts mid-conversation, or one
//! request holding a whole transcript) become exchanges of their own, their request being the
//! history up to them. The last request's reply is not in the log: a short final answer is
//! made up for it, and marked.

use std::path::Path;

use serde_json::Value;

use super::{Found, Kind, rebuild};
use crate::cassette::{self, RecordedReply};
use crate::error::{Error, Location};
use crate::lint::input;
use crate::provider::Provider;
use crate::provider::{self, Format};
use crate::transcript::{Request, Role};

/// What a log holds for tooltape.
#[derive(Debug)]
pub struct Read {
    /// A single JSON document, or JSON lines.
    pub kind: Kind,
    /// Its conversations, each with its API and exchanges.
    pub conversations: Vec<(Provider, Vec<Found>)>,
    /// Requests skipped and replies made up.
    pub notes: Vec<String>,
}

/// One request of the log.
struct Logged {
    body: Value,
    parsed: Request,
    /// JSON lines: the 1-based line.
    line: Option<usize>,
}

impl Logged {
    fn place(&self) -> String {
        match self.line {
            Some(l) => format!("line {l}"),
            None => "the request".into(),
        }
    }
}

/// Read a log. `forced` overrides the API told from the shape of the requests.
pub fn read(file: &Path, text: &str, forced: Option<Provider>) -> Result<Read, Error> {
    let docs = input::documents(file, text)?;
    let kind = match docs.as_slice() {
        [(doc, _)] if doc.line.is_none() => Kind::Json,
        _ => Kind::JsonLines,
    };
    let mut grouped: Vec<(Provider, Vec<Logged>)> = Vec::new();
    for (doc, value) in &docs {
        if value.get("format").and_then(Value::as_str) == Some(cassette::FORMAT) {
            return Err(Error::invalid(
                doc.at(file, String::new()),
                "this is already a tooltape cassette; nothing to import".into(),
            ));
        }
        let (p, body, wrapped) = input::classify(value, forced)
            .map_err(|message| Error::invalid(doc.at(file, String::new()), message))?;
        let parsed = provider::format(p).parse_request(&body).map_err(|e| {
            Error::invalid(doc.at(file, input::unwrap_path(&e, wrapped)), e.message)
        })?;
        if parsed.previous_response_id.is_some() {
            return Err(Error::invalid(
                doc.at(file, "previous_response_id".into()),
                "this request continues a stored response (previous_response_id): the model's \
                 output items are not in the log, so its replies cannot be rebuilt; log \
                 full-history requests (store: false) instead"
                    .into(),
            ));
        }
        let entry = Logged {
            body,
            parsed,
            line: doc.line,
        };
        match grouped.last_mut() {
            Some((gp, list))
                if *gp == p
                    && list.last().is_some_and(|prev| {
                        prev.line.is_some() && input::continues(&prev.parsed, &entry.parsed)
                    }) =>
            {
                list.push(entry)
            }
            _ => grouped.push((p, vec![entry])),
        }
    }
    let mut notes = Vec::new();
    let mut conversations = Vec::new();
    for (p, logged) in grouped {
        let found = rebuild_conversation(file, p, &logged, &mut notes)?;
        if !found.is_empty() {
            conversations.push((p, found));
        }
    }
    if conversations.is_empty() {
        return Err(Error::invalid(
            Location::file(file),
            format!("no exchange could be rebuilt: {}", notes.join("; ")),
        ));
    }
    Ok(Read {
        kind,
        conversations,
        notes,
    })
}

/// The exchanges of one conversation's requests.
fn rebuild_conversation(
    file: &Path,
    p: Provider,
    logged: &[Logged],
    notes: &mut Vec<String>,
) -> Result<Vec<Found>, Error> {
    let fmt = provider::format(p);
    let key = fmt.history_key();
    let mut out: Vec<Found> = Vec::new();
    // History entries already turned into exchanges.
    let mut covered = 0;
    for (k, r) in logged.iter().enumerate() {
        let fail = |json_path: String, message: String| {
            let mut at = Location::file(file);
            at.line_col = r.line.map(|l| (l, 1));
            at.json_path = Some(json_path);
            Error::invalid(at, message)
        };
        let history = wire(fmt, &r.body).map_err(|m| fail(key.into(), m))?;
        let spans = assistant_spans(&r.parsed);
        for &(s, e) in spans.iter().filter(|(s, _)| *s >= covered) {
            let request = truncated(fmt, &r.body, s).map_err(|m| fail(key.into(), m))?;
            let reply = rebuild::reply_from_entries(
                p,
                &history[s..e],
                r.parsed.model.as_deref(),
                out.len() + 1,
            )
            .map_err(|m| fail(format!("{key}[{s}]"), m))?;
            out.push(found(
                file,
                fmt,
                request,
                reply,
                format!("{}, {key}[{s}]", r.place()),
                false,
            )?);
        }
        covered = history.len();
        if let Some(next) = logged.get(k + 1) {
            let next_history = wire(fmt, &next.body).map_err(|m| fail(key.into(), m))?;
            match assistant_spans(&next.parsed)
                .into_iter()
                .find(|(s, _)| *s == history.len())
            {
                Some((s, e)) => {
                    let reply = rebuild::reply_from_entries(
                        p,
                        &next_history[s..e],
                        r.parsed.model.as_deref(),
                        out.len() + 1,
                    )
                    .map_err(|m| fail(format!("{key}[{s}]"), m))?;
                    out.push(found(file, fmt, r.body.clone(), reply, r.place(), false)?);
                    covered = e;
                }
                None => notes.push(format!(
                    "{}: skipped, its reply is not in the log (the next request does not carry it)",
                    r.place()
                )),
            }
        } else if spans.last().is_none_or(|&(_, e)| e < history.len()) {
            let reply = rebuild::final_answer(p, r.parsed.model.as_deref(), out.len() + 1);
            notes.push(format!(
                "{}: its reply is not in the log; a final answer was made up",
                r.place()
            ));
            out.push(found(file, fmt, r.body.clone(), reply, r.place(), true)?);
        }
    }
    // The log stops right after a reply with calls: answer them with placeholders, then end.
    if let Some(last) = out.last()
        && let RecordedReply::Body(reply) = &last.reply
        && fmt.parse_reply(reply).is_ok_and(|r| r.wants_tools())
    {
        let place = last.place.clone();
        let request = rebuild::follow_up(p, &last.request, reply)
            .map_err(|e| Error::invalid(Location::file(file), format!("{place}: {e}")))?;
        let model = last.parsed.model.clone();
        let reply = rebuild::final_answer(p, model.as_deref(), out.len() + 1);
        notes.push(format!(
            "{place}: the log ends before the results of its calls; placeholder results and a \
             final answer were made up"
        ));
        out.push(found(file, fmt, request, reply, place, true)?);
    }
    Ok(out)
}

fn found(
    file: &Path,
    fmt: &dyn Format,
    request: Value,
    reply: Value,
    place: String,
    synthesized: bool,
) -> Result<Found, Error> {
    let parsed = fmt.parse_request(&request).map_err(|e| {
        Error::invalid(
            Location::file(file),
            format!("{place}: the rebuilt request does not parse: {e}"),
        )
    })?;
    Ok(Found {
        request,
        parsed,
        reply: RecordedReply::Body(reply),
        place,
        synthesized,
    })
}

/// A request's history entries (`messages`, or `input` with a string made an array).
fn wire(fmt: &dyn Format, body: &Value) -> Result<Vec<Value>, String> {
    let mut body = body.clone();
    fmt.history_mut(&mut body)
        .map(std::mem::take)
        .map_err(|e| e.to_string())
}

/// `body` with its history cut to the first `len` entries.
fn truncated(fmt: &dyn Format, body: &Value, len: usize) -> Result<Value, String> {
    let mut body = body.clone();
    fmt.history_mut(&mut body)
        .map_err(|e| e.to_string())?
        .truncate(len);
    Ok(body)
}

/// Where the assistant turns of a request's history are: `(first entry, end)` of each.
fn assistant_spans(request: &Request) -> Vec<(usize, usize)> {
    request
        .messages
        .iter()
        .filter(|m| m.role == Role::Assistant && m.wire_len > 0)
        .map(|m| (m.wire_index, m.wire_index + m.wire_len))
        .collect()
}
