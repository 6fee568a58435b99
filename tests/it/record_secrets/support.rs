//! What the secret tests share: a run as the proxy would have logged it, taken through the
//! recorder's redaction and final scan in-process, and small builders of streams and bodies.

use std::path::Path;
use std::time::Instant;

use base64::Engine as _;
use bytes::Bytes;
use serde_json::Value;
use tooltape::cassette::{self, Cassette, Meta, RecordedReply};
use tooltape::provider::{self, Provider, SseEvent};
use tooltape::record::log::{Entry, State};
use tooltape::record::redact::{Credentials, Hit, Redactor};
use tooltape::record::{build, write};

fn bundled(path: &str) -> cassette::LoadedCassette {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("cassettes");
    cassette::load(&root.join(path)).unwrap_or_else(|e| panic!("{e}"))
}

/// A bundled cassette of `provider` with a first request and a final text reply: its
/// three-parallel-calls recording, which every API's folder has (named as the provider is).
fn sample(provider: Provider) -> (Value, Value) {
    let c = bundled(&format!("{provider}/three_parallel.json"));
    (
        c.cassette.exchanges[0].request.clone(),
        c.reply_bodies.last().cloned().expect("a reply"),
    )
}

/// A final text reply of `provider` (no tool calls).
pub fn final_reply(provider: Provider) -> Value {
    sample(provider).1
}

/// `provider`'s sample first request with one more user message.
pub fn request_for(provider: Provider, text: &str) -> Value {
    let fmt = provider::format(provider);
    let mut request = sample(provider).0;
    fmt.history_mut(&mut request)
        .expect("a history")
        .push(fmt.user_text_entry(text));
    request
}

/// An Anthropic request with one more user message.
pub fn request_with(text: &str) -> Value {
    request_for(Provider::Anthropic, text)
}

/// The events `provider` streams `reply` as.
pub fn stream_of(provider: Provider, reply: &Value) -> Vec<SseEvent> {
    provider::format(provider)
        .stream_from_reply(reply)
        .expect("a streamable reply")
}

/// The events Anthropic streams `reply` as (text in three deltas, tool input in two).
pub fn anthropic_stream(reply: &Value) -> Vec<SseEvent> {
    stream_of(Provider::Anthropic, reply)
}

/// How many events hold `s` in their data.
pub fn events_holding(events: &[SseEvent], s: &str) -> usize {
    events.iter().filter(|e| e.data.contains(s)).count()
}

/// A piece of `key` (12 characters or more, past its fixed prefix) that `text` still holds.
pub fn leaked_piece<'a>(text: &str, key: &'a str) -> Option<&'a str> {
    let chars: Vec<(usize, char)> = key.char_indices().collect();
    let start = key
        .rfind('-')
        .map_or(0, |i| i + 1)
        .min(key.len().saturating_sub(12));
    chars
        .windows(12)
        .filter(|w| w[0].0 >= start)
        .map(|w| &key[w[0].0..w[11].0 + w[11].1.len_utf8()])
        .find(|piece| text.contains(piece))
}

/// Standard base64.
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The reply a reader rebuilds from the first exchange's stream of a cassette text, as JSON text.
pub fn reassembled_reply_text(text: &str) -> String {
    let c: Cassette = serde_json::from_str(text).expect("a cassette");
    let RecordedReply::Stream(events) = &c.exchanges[0].reply else {
        panic!("not a stream")
    };
    provider::format(c.provider)
        .reply_from_stream(events)
        .expect("the stream still reads")
        .to_string()
}

fn path_of(provider: Provider) -> &'static str {
    match provider {
        Provider::Anthropic => "/v1/messages",
        Provider::OpenAiChat => "/v1/chat/completions",
        Provider::OpenAiResponses => "/v1/responses",
        Provider::Gemini => "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
    }
}

/// The built-in patterns, compiled once (a few milliseconds in a debug build).
static REDACTOR: std::sync::LazyLock<Redactor> =
    std::sync::LazyLock::new(|| Redactor::new(&[]).expect("built-in patterns"));

/// A run: what the proxy saw (requests, replies, headers, query strings) and the environment.
pub struct Pipeline {
    env: Vec<(String, String)>,
    seen: Credentials,
    query: Option<String>,
    entries: Vec<Entry>,
    redactor: Redactor,
    /// A stream no provider of this tree parses (Gemini's shape), and its request.
    raw: Option<(Value, Vec<SseEvent>)>,
}

impl Default for Pipeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Pipeline {
    pub fn new() -> Self {
        Pipeline {
            env: Vec::new(),
            seen: Credentials::default(),
            query: None,
            entries: Vec::new(),
            redactor: REDACTOR.clone(),
            raw: None,
        }
    }

    /// An environment variable of the recorder.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// The agent's Anthropic key: in the environment, and sent as `x-api-key`.
    pub fn run_key(self, key: &str) -> Self {
        self.env("ANTHROPIC_API_KEY", key).header("x-api-key", key)
    }

    /// A request header the proxy saw.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.seen.add_header(name, value);
        self
    }

    /// The query string of the next requests.
    pub fn query(mut self, q: &str) -> Self {
        self.seen.add_query(q);
        self.query = Some(q.into());
        self
    }

    fn entry(&self, provider: Provider, request: &Value) -> Entry {
        let mut e = Entry::new(
            "POST".into(),
            path_of(provider).into(),
            self.query.clone(),
            Bytes::from(request.to_string()),
            0,
        );
        e.status = Some(200);
        e.ended = Some(Instant::now());
        e.state = State::Done;
        e
    }

    /// An exchange with a plain JSON reply (a final text reply of the provider).
    pub fn plain(self, provider: Provider, request: Value) -> Self {
        let reply = final_reply(provider);
        self.plain_reply(provider, request, &reply)
    }

    /// An exchange with this plain JSON reply.
    pub fn plain_reply(mut self, provider: Provider, request: Value, reply: &Value) -> Self {
        let mut e = self.entry(provider, &request);
        e.reply = reply.to_string().into_bytes();
        self.entries.push(e);
        self
    }

    /// An exchange with a streamed reply.
    pub fn streamed(mut self, provider: Provider, request: Value, events: Vec<SseEvent>) -> Self {
        let mut e = self.entry(provider, &request);
        e.streamed = true;
        e.frames = events;
        self.entries.push(e);
        self
    }

    /// An exchange whose stream is stored as it comes (Gemini's shape, built by hand rather
    /// than by the provider's own stream writer): redacted with [`Redactor::stream`] as `build`
    /// does.
    pub fn raw_stream(mut self, request: Value, events: Vec<SseEvent>) -> Self {
        self.raw = Some((request, events));
        self
    }

    /// The credentials of the run, as `tooltape record` gathers them.
    pub fn credentials(&self) -> Credentials {
        let mut c = Credentials::from_env(self.env.clone());
        c.merge(&self.seen);
        c
    }

    /// Redact, assemble and scan: the text that would be written, or where a credential of
    /// the run was found.
    pub fn finish(self) -> Result<String, Hit> {
        let credentials = self.credentials();
        let (provider, exchanges, endpoints) = match self.raw {
            Some((mut request, mut events)) => {
                self.redactor.value(&mut request);
                self.redactor.stream(&mut events);
                let exchange = cassette::Exchange {
                    request,
                    reply: RecordedReply::Stream(events),
                    tool_latency_ms: Default::default(),
                };
                (Provider::Gemini, vec![exchange], String::new())
            }
            None => {
                let built = build::build(&self.entries, None, &self.redactor).expect("one API");
                assert!(
                    built.failures.is_empty() && built.problems.is_empty(),
                    "the exchanges are recorded: {:?} {:?}",
                    built.failures,
                    built.problems
                );
                assert_eq!(built.exchanges.len(), self.entries.len());
                let endpoints = built.endpoints.iter().cloned().collect::<Vec<_>>();
                (
                    built.provider.expect("a provider"),
                    built.exchanges,
                    endpoints.join(", "),
                )
            }
        };
        let cassette = Cassette {
            format: cassette::FORMAT.into(),
            version: cassette::VERSION,
            provider,
            meta: Meta {
                model: None,
                recorded_at: None,
                source: Some("python agent.py".into()),
                // As `tooltape record` notes them.
                notes: Some(format!(
                    "Recorded by tooltape record through http://127.0.0.1:9 ({endpoints})."
                )),
            },
            exchanges,
        };
        write::finish(cassette, &self.redactor, &credentials)
    }
}
