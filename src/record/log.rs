//! What the proxy saw, request by request, in arrival order: the raw material of a cassette.
//!
//! An entry is registered when a request arrives and completed by the [`Capture`] that relays
//! its reply. A capture dropped before the reply ended (the agent hung up, the run ended)
//! completes its entry as cut short, so nothing in flight is mistaken for a whole reply.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;

use super::redact::Credentials;
use super::sse::SseParser;
use crate::provider::Provider;
use crate::provider::SseEvent;

/// How far a request got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// No reply yet, or a reply still streaming.
    Pending,
    /// The reply ended normally.
    Done,
    /// The upstream could not be reached, or the reply broke off; why.
    Failed(String),
}

/// One request through the proxy and its reply.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `POST`, ...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string, without `?`.
    pub query: Option<String>,
    /// The model API, when the path is a model endpoint.
    pub provider: Option<Provider>,
    /// The request body.
    pub body: Bytes,
    /// `x-stainless-retry-count` (0 when absent).
    pub retry: u32,
    /// When the request arrived.
    pub arrived: Instant,
    /// The reply's HTTP status, once known.
    pub status: Option<u16>,
    /// The reply is an event stream.
    pub streamed: bool,
    /// A non-stream reply body (for a stream: empty).
    pub reply: Vec<u8>,
    /// A stream's events, with their arrival gaps.
    pub frames: Vec<SseEvent>,
    /// When the reply ended.
    pub ended: Option<Instant>,
    /// How far it got.
    pub state: State,
    /// Answered from the old cassette (`--mode new`): its exchange index.
    pub replayed: Option<usize>,
}

impl Entry {
    /// A request just arrived.
    pub fn new(
        method: String,
        path: String,
        query: Option<String>,
        body: Bytes,
        retry: u32,
    ) -> Self {
        Entry {
            provider: model_endpoint(&method, &path),
            method,
            path,
            query,
            body,
            retry,
            arrived: Instant::now(),
            status: None,
            streamed: false,
            reply: Vec::new(),
            frames: Vec::new(),
            ended: None,
            state: State::Pending,
            replayed: None,
        }
    }
}

/// The model API a request is for, by its method and path (as the mock server routes it).
pub fn model_endpoint(method: &str, path: &str) -> Option<Provider> {
    crate::provider::route(method, path, None).map(|e| e.provider)
}

/// Every request of the run, shared by the proxy's connections.
#[derive(Debug, Default)]
pub struct Log {
    entries: Mutex<Vec<Entry>>,
    credentials: Mutex<Credentials>,
}

impl Log {
    /// Add an arriving request; its index.
    pub fn register(&self, entry: Entry) -> usize {
        let mut e = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        e.push(entry);
        e.len() - 1
    }

    /// Change entry `i`.
    pub fn update(&self, i: usize, f: impl FnOnce(&mut Entry)) {
        let mut e = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = e.get_mut(i) {
            f(entry);
        }
    }

    /// Note the credentials in a request's headers and query string.
    pub fn credentials_from(&self, headers: &axum::http::HeaderMap, query: Option<&str>) {
        let mut c = self.credentials.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(q) = query {
            c.add_query(q);
        }
        for (name, value) in headers {
            if let Ok(v) = value.to_str() {
                c.add_header(name.as_str(), v);
            }
        }
    }

    /// Note the cookies an upstream set.
    pub fn cookies_from(&self, headers: &reqwest::header::HeaderMap) {
        let mut c = self.credentials.lock().unwrap_or_else(|e| e.into_inner());
        for v in headers.get_all(reqwest::header::SET_COOKIE) {
            if let Some(pair) = v.to_str().ok().and_then(|v| v.split(';').next()) {
                c.add_header("cookie", pair);
            }
        }
    }

    /// A copy of every entry, in arrival order.
    pub fn snapshot(&self) -> Vec<Entry> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The credentials seen in headers.
    pub fn credentials(&self) -> Credentials {
        self.credentials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Records a reply as it is relayed, chunk by chunk; completes its entry when the reply ends,
/// breaks, or is dropped unfinished.
pub struct Capture {
    log: Arc<Log>,
    index: usize,
    parser: Option<SseParser>,
    body: Vec<u8>,
    frames: Vec<SseEvent>,
    last: Instant,
    /// The reply's `Content-Length`: the body is complete when that many bytes came (the
    /// server stops reading the body there, so its end may never be seen otherwise).
    expected: Option<u64>,
    received: u64,
    done: bool,
}

impl Capture {
    /// Capture the reply of entry `index`; `streamed` for an event stream. Gaps count from
    /// `since` (the request's arrival) for the first frame.
    pub fn new(
        log: Arc<Log>,
        index: usize,
        streamed: bool,
        since: Instant,
        expected: Option<u64>,
    ) -> Self {
        let mut c = Capture {
            log,
            index,
            parser: streamed.then(SseParser::new),
            body: Vec::new(),
            frames: Vec::new(),
            last: since,
            expected,
            received: 0,
            done: false,
        };
        if expected == Some(0) {
            c.end(None);
        }
        c
    }

    /// The next chunk, as it is passed on. A chunk that completes a body of known length ends
    /// the capture.
    pub fn chunk(&mut self, bytes: &[u8]) {
        self.record(bytes);
        self.received += bytes.len() as u64;
        if self.expected.is_some_and(|n| self.received >= n) {
            self.end(None);
        }
    }

    fn record(&mut self, bytes: &[u8]) {
        let now = Instant::now();
        match &mut self.parser {
            Some(p) => {
                for f in p.push(bytes) {
                    let gap = now.saturating_duration_since(self.last);
                    self.last = now;
                    self.frames.push(SseEvent {
                        event: f.event,
                        data: f.data,
                        gap_ms: u64::try_from(gap.as_millis()).unwrap_or(u64::MAX),
                    });
                }
            }
            None => self.body.extend_from_slice(bytes),
        }
    }

    /// The reply ended: normally (`None`) or broken off (`Some(why)`).
    pub fn end(&mut self, broken: Option<String>) {
        if self.done {
            return;
        }
        let broken = broken.or_else(|| {
            self.parser.as_ref().filter(|p| p.mid_event()).map(|p| {
                format!(
                    "the stream stopped in the middle of an event after {} bytes",
                    p.bytes_seen()
                )
            })
        });
        let state = match broken {
            Some(why) => State::Failed(why),
            None => State::Done,
        };
        let (body, frames) = (
            std::mem::take(&mut self.body),
            std::mem::take(&mut self.frames),
        );
        self.log.update(self.index, |e| {
            e.reply = body;
            e.frames = frames;
            e.ended = Some(Instant::now());
            e.state = state;
        });
        self.done = true;
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if !self.done {
            self.end(Some(
                "the reply was cut short: the agent hung up, or the run ended, before it was complete".into(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_endpoints_by_path() {
        assert_eq!(
            model_endpoint("POST", "/v1/messages"),
            Some(Provider::Anthropic)
        );
        assert_eq!(
            model_endpoint("POST", "/messages/"),
            Some(Provider::Anthropic)
        );
        assert_eq!(
            model_endpoint("POST", "/v1/chat/completions"),
            Some(Provider::OpenAiChat)
        );
        assert_eq!(
            model_endpoint("POST", "/v1/responses"),
            Some(Provider::OpenAiResponses)
        );
        assert_eq!(model_endpoint("GET", "/v1/messages"), None);
        assert_eq!(model_endpoint("POST", "/v1/messages/count_tokens"), None);
    }

    fn entry(log: &Arc<Log>) -> usize {
        log.register(Entry::new(
            "POST".into(),
            "/v1/messages".into(),
            None,
            Bytes::new(),
            0,
        ))
    }

    #[test]
    fn a_capture_records_frames_and_completes_its_entry() {
        let log = Arc::new(Log::default());
        let i = entry(&log);
        let mut c = Capture::new(log.clone(), i, true, Instant::now(), None);
        c.chunk(b"event: a\ndata: 1\n\nda");
        c.chunk(b"ta: 2\n\n");
        assert_eq!(log.snapshot()[i].state, State::Pending);
        c.end(None);
        let e = &log.snapshot()[i];
        assert_eq!(e.state, State::Done);
        assert_eq!(
            e.frames.iter().map(|f| f.data.as_str()).collect::<Vec<_>>(),
            ["1", "2"]
        );
        assert_eq!(e.frames[0].event.as_deref(), Some("a"));
    }

    #[test]
    fn a_stream_stopping_mid_event_or_dropped_unfinished_is_a_failure() {
        let log = Arc::new(Log::default());
        let i = entry(&log);
        let mut c = Capture::new(log.clone(), i, true, Instant::now(), None);
        c.chunk(b"data: {\"half\"");
        c.end(None);
        assert!(
            matches!(&log.snapshot()[i].state, State::Failed(m) if m.contains("middle of an event"))
        );

        let j = entry(&log);
        drop(Capture::new(log.clone(), j, false, Instant::now(), None));

        let k = entry(&log);
        let mut c = Capture::new(log.clone(), k, false, Instant::now(), Some(4));
        c.chunk(b"{}");
        c.chunk(b"{}");
        drop(c);
        assert_eq!(
            log.snapshot()[k].state,
            State::Done,
            "a body of known length is complete at its length"
        );
        assert!(matches!(&log.snapshot()[j].state, State::Failed(m) if m.contains("cut short")));
    }
}
