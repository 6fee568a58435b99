//! Each provider's request, reply and SSE parsers. Byte 0 picks the provider (of
//! `Provider::ALL`), byte 1 the parser; the rest is the document:
//! - 0, request: `Format::parse_request` and `provider::detect` of a request body;
//! - 1, reply: `Format::parse_reply`, then what the mock and recorder do with a reply
//!   (`history_entries`, `stream_from_reply` and back through `reply_from_stream`);
//! - 2, SSE: the wire text through the incremental SSE parser (cut into chunks at sizes taken
//!   from byte 2) and through the importer's whole-body reader, then `reply_from_stream`;
//!   Gemini's JSON-array framing too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tooltape::provider::{Format, Provider, SseEvent};

fuzz_target!(|data: &[u8]| {
    let [p, kind, rest @ ..] = data else {
        return;
    };
    let provider = Provider::ALL[usize::from(*p) % Provider::ALL.len()];
    let fmt = provider.format();
    match kind % 3 {
        0 => request(fmt, rest),
        1 => reply(fmt, rest),
        _ => sse(fmt, rest),
    }
});

fn request(fmt: &dyn Format, data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = tooltape::provider::detect(&body);
    if let Ok(mut parsed) = fmt.parse_request(&body) {
        fmt.resolve_references(&mut parsed, &[]);
    }
    let mut body = body;
    let _ = fmt.history_mut(&mut body);
}

fn reply(fmt: &dyn Format, data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if fmt.parse_reply(&body).is_err() {
        return;
    }
    let _ = fmt.history_entries(&body);
    if let Ok(events) = fmt.stream_from_reply(&body) {
        let _ = fmt.reply_from_stream(&events);
    }
}

fn sse(fmt: &dyn Format, data: &[u8]) {
    let [cut, rest @ ..] = data else {
        return;
    };
    // The recorder's parser, fed in chunks as a socket delivers them.
    let step = usize::from(*cut).max(1);
    let mut parser = tooltape::record::sse::SseParser::new();
    let mut frames = Vec::new();
    for chunk in rest.chunks(step) {
        frames.extend(parser.push(chunk));
    }
    let events: Vec<SseEvent> = frames
        .into_iter()
        .map(|f| SseEvent {
            event: f.event,
            data: f.data,
            gap_ms: 0,
        })
        .collect();
    rebuild(fmt, &events);
    // The importer's reader of a whole recorded body, and Gemini's JSON-array framing.
    if let Ok(text) = std::str::from_utf8(rest) {
        rebuild(fmt, &tooltape::import::body::events(text));
        if let Ok(array) = serde_json::from_str::<Value>(text)
            && let Some(events) = tooltape::provider::sse::events_from_json_array(&array)
        {
            rebuild(fmt, &events);
        }
    }
}

fn rebuild(fmt: &dyn Format, events: &[SseEvent]) {
    if let Ok(body) = fmt.reply_from_stream(events) {
        let _ = fmt.parse_reply(&body);
    }
}
