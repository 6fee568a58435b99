//! Provider-native JSON and everything else that differs between the model APIs.
//!
//! One folder per API (`anthropic/`, `openai_chat/`, `openai_responses/`, `gemini/`), each implementing
//! [`Format`]: parsing requests and replies into the neutral [`crate::transcript`] model,
//! streams, follow-ups, and the API's facts — its endpoints and how a request asks for a
//! stream, the variables its SDKs read, its upstream, how its bodies are recognised, the texts
//! of its 400s, which result layouts it refuses, its id style and its error body. Parsing keeps
//! the native JSON untouched (the neutral model is a view of it), so emitting never loses
//! fields the neutral model does not know about: follow-ups are built by appending native
//! entries to the handler's own request.
//!
//! Code outside this folder never names an API: it asks the registry ([`Provider::ALL`],
//! [`Provider::format`], [`route`], [`detect`]) and the API's [`Format`].

pub mod anthropic;
mod common;
pub mod gemini;
pub mod openai_chat;
pub mod openai_responses;
pub mod sse;
#[cfg(test)]
mod test_support;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::transcript::{Reply, Request};
pub use sse::{SseEvent, StreamFraming};

/// The model API a cassette was recorded against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
pub enum Provider {
    /// Anthropic Messages (`POST /v1/messages`).
    #[serde(rename = "anthropic")]
    Anthropic,
    /// OpenAI Chat Completions (`POST /v1/chat/completions`).
    #[serde(rename = "openai-chat")]
    OpenAiChat,
    /// OpenAI Responses (`POST /v1/responses`).
    #[serde(rename = "openai-responses")]
    OpenAiResponses,
    /// Google Gemini Developer API (`POST /v1beta/models/{model}:generateContent`, and
    /// `:streamGenerateContent`).
    #[serde(rename = "gemini")]
    Gemini,
}

/// The registry: every API and its [`Format`]. The one table to extend with a new API.
const REGISTRY: &[(Provider, &dyn Format)] = &[
    (Provider::Anthropic, &anthropic::Anthropic),
    (Provider::OpenAiChat, &openai_chat::OpenAiChat),
    (
        Provider::OpenAiResponses,
        &openai_responses::OpenAiResponses,
    ),
    (Provider::Gemini, &gemini::Gemini),
];

/// Where `tooltape record` sends a request that no API claims by its path or headers (model
/// listings, files, ...): OpenAI's SDK reads the most such paths.
pub const FALLBACK_UPSTREAM: Provider = Provider::OpenAiChat;

impl Provider {
    /// Every provider, in a stable order.
    pub const ALL: [Provider; 4] = [
        Provider::Anthropic,
        Provider::OpenAiChat,
        Provider::OpenAiResponses,
        Provider::Gemini,
    ];

    /// The API's [`Format`].
    pub fn format(self) -> &'static dyn Format {
        REGISTRY
            .iter()
            .find(|(p, _)| *p == self)
            .map(|(_, f)| *f)
            .expect("every provider is in the registry")
    }

    /// The name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        self.format().name()
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Provider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
                format!("expected one of {}", names.join(", "))
            })
    }
}

/// The [`Format`] of a provider.
pub fn format(provider: Provider) -> &'static dyn Format {
    provider.format()
}

/// What a model call's URL says about the request, for an API that puts things there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlSays {
    /// Whether the URL asks for a stream (`None`: the body says, as `"stream": true`).
    pub stream: Option<bool>,
    /// The model the URL names.
    pub model: Option<String>,
    /// How a stream goes on the wire (Gemini without `alt=sse`: a JSON array).
    pub framing: StreamFraming,
}

/// A model call's API, and what its URL says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The API.
    pub provider: Provider,
    /// Whether the URL asks for a stream (`None`: the body says, as `"stream": true`).
    pub stream: Option<bool>,
    /// The model the URL names, where the API puts it there.
    pub model: Option<String>,
    /// How a stream goes on the wire.
    pub framing: StreamFraming,
}

/// The API whose model call `POST path?query` is. Gateways put the APIs under a prefix
/// (`/openai/deployments/x/chat/completions`, `/anthropic/v1/messages`), so each API matches
/// the path's end.
pub fn route(method: &str, path: &str, query: Option<&str>) -> Option<Endpoint> {
    if method != "POST" {
        return None;
    }
    let path = path.trim_end_matches('/');
    REGISTRY.iter().find_map(|(p, f)| {
        f.endpoint(path, query).map(|u| Endpoint {
            provider: *p,
            stream: u.stream,
            model: u.model,
            framing: u.framing,
        })
    })
}

/// Which API a request body is for, told from its shape: a request body, or a bare array of
/// messages or items (wrapped into the API's history key). Each API scores how much the
/// document looks like its own; the best one wins, and a tie between APIs that both see clear
/// signs of their own is an error (name the API instead).
pub fn detect(value: &Value) -> Result<(Provider, Value), String> {
    let mut scored: Vec<(u8, Provider, Value)> = REGISTRY
        .iter()
        .filter_map(|(p, f)| {
            let body = match value {
                Value::Array(_) => Value::Object(
                    [(f.history_key().to_string(), value.clone())]
                        .into_iter()
                        .collect(),
                ),
                _ => value.clone(),
            };
            let score = f.likeness(&body, value.is_array());
            (score > 0).then_some((score, *p, body))
        })
        .collect();
    scored.sort_by_key(|(s, _, _)| std::cmp::Reverse(*s));
    match scored.as_slice() {
        [] => Err(format!(
            "it fits none of the APIs' request shapes ({})",
            Provider::ALL.map(|p| p.as_str()).join(", ")
        )),
        [(a, pa, _), (b, pb, _), ..] if a == b && *a >= CLEAR_SIGN => Err(format!(
            "it shows signs of both {pa} and {pb}; name the API with --provider"
        )),
        [(_, p, body), ..] => Ok((*p, body.clone())),
    }
}

/// A [`Format::likeness`] at or above this is a clear sign of the API (its own block or item
/// types); below it, only a guess.
pub const CLEAR_SIGN: u8 = 10;

/// A fault in a follow-up that the real API refuses with an HTTP 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFault {
    /// A call without a result right after its turn.
    MissingResult,
    /// A result whose id no call of the turn before it has.
    UnknownResult,
    /// Two results for one call.
    DuplicateResult,
    /// Results not right after the assistant turn with their calls.
    MissingAssistantTurn,
    /// Other content before the results in their message.
    ResultsNotFirst,
    /// Results spread over messages with others between them.
    SplitResults,
}

impl ApiFault {
    /// Whether the fault leaves calls without a result where the API looks for one (the API
    /// then names those calls).
    pub fn leaves_calls_unanswered(self) -> bool {
        matches!(self, ApiFault::MissingResult | ApiFault::SplitResults)
    }
}

/// What the API's 400 message names.
#[derive(Debug, Clone)]
pub struct Refusal<'a> {
    /// The fault.
    pub fault: ApiFault,
    /// The call (or result id) it concerns, when one.
    pub call_id: Option<&'a str>,
    /// The calls left without a result where the API looks for one.
    pub uncovered: &'a [&'a str],
    /// The index of the follow-up's last wire message.
    pub last_message: usize,
    /// The follow-up, parsed, for APIs whose text depends on its layout (Gemini names the turn
    /// that is out of place).
    pub followup: Option<&'a Request>,
}

/// How an API treats the results of one turn spread over several messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitVerdict {
    /// It refuses the request.
    Refused,
    /// It accepts it (merging the messages, or reading items wherever they are); the text says
    /// how the split looks in this API.
    Accepted(&'static str),
}

/// How the mock cuts a reply into stream chunks when it makes a stream from a reply body (a
/// recorded stream is always served as recorded). Only APIs whose chunks carry no index
/// (Gemini) have a choice: the others stream every call as its own indexed events either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum StreamChunking {
    /// Every tool call of the reply in one chunk (after the text).
    #[default]
    OneChunk,
    /// Each tool call in a chunk of its own, as the only part of that chunk and with no index
    /// (Gemini does both; a client that keys calls by their part index keeps only one).
    CallPerChunk,
}

impl StreamChunking {
    /// Whether this is the default (for `skip_serializing_if`).
    pub fn is_default(&self) -> bool {
        *self == StreamChunking::default()
    }
}

/// A problem in provider-native JSON, with the place it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at `{path}`: {message}")]
pub struct FormatError {
    /// Where in the document, like `messages[2].content[0].tool_use_id` (empty for the root).
    pub path: String,
    /// What was expected and what was found.
    pub message: String,
}

impl FormatError {
    /// A new error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        FormatError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// This error, found inside the value at `prefix`, with its path from the root: parsers
    /// report paths relative to the value they read, and their callers prefix them only when
    /// there is an error (a path formatted for every block of every request was a tenth of an
    /// in-process run).
    pub(crate) fn under(mut self, prefix: &str) -> FormatError {
        self.path = if self.path.is_empty() {
            prefix.to_string()
        } else if prefix.is_empty() {
            self.path
        } else if self.path.starts_with('[') {
            format!("{prefix}{}", self.path)
        } else {
            format!("{prefix}.{}", self.path)
        };
        self
    }
}

/// One tool result for a follow-up that a handler builds.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultBlock {
    /// The call id the result answers.
    pub call_id: String,
    /// The name of the tool the call asked for (Gemini's `functionResponse` requires it; the
    /// other APIs ignore it).
    pub name: String,
    /// The tool's output, or its error text.
    pub content: String,
    /// Whether the tool failed. Providers without an error flag ignore it (the text carries it).
    pub is_error: bool,
}

/// The per-API operations tooltape needs. Implemented by [`anthropic::Anthropic`],
/// [`openai_chat::OpenAiChat`], [`openai_responses::OpenAiResponses`] and
/// [`gemini::Gemini`]; get one with [`format`].
pub trait Format: Send + Sync {
    /// The name used in files and on the command line (`anthropic`).
    fn name(&self) -> &'static str;

    /// Whether `POST path?query` (path without a trailing slash) is this API's model call,
    /// and what the URL says about it. Match the path's end: gateways add prefixes.
    fn endpoint(&self, path: &str, query: Option<&str>) -> Option<UrlSays>;

    /// The key of the request's history (`messages`, `input`).
    fn history_key(&self) -> &'static str;

    /// How much a request body looks like this API's: 0 not at all, [`CLEAR_SIGN`] or more
    /// for a clear sign (its own block or item types), less for a guess. `bare_array`: the
    /// body is a bare array of messages, wrapped under [`Format::history_key`].
    fn likeness(&self, body: &Value, bare_array: bool) -> u8;

    /// Variables the API's official SDKs read for their base URL, pointing at `base`
    /// (`http://127.0.0.1:PORT`).
    fn base_url_env(&self, base: &str) -> Vec<(&'static str, String)>;

    /// Variables holding the API's credentials, each with a placeholder (for the mock; a
    /// recording keeps the agent's own).
    fn key_env(&self) -> &'static [(&'static str, &'static str)];

    /// Variables that must not reach an agent under test: other credentials the SDKs prefer,
    /// other base URLs that would send it elsewhere.
    fn env_remove(&self) -> &'static [&'static str];

    /// Request headers only this API's clients send (to route a request of an unknown path).
    fn header_signs(&self) -> &'static [&'static str];

    /// Text in an agent's source that shows it calls this API: its SDKs' and the common
    /// frameworks' imports (`tooltape init` looks for them). OpenAI's Chat and Responses share
    /// one SDK, so both name the same imports.
    fn sdk_imports(&self) -> &'static [&'static str];

    /// Where `tooltape record` sends this API's requests by default.
    fn upstream(&self) -> &'static str;

    /// The path a model call must have upstream, for a `path` this API's [`Format::endpoint`]
    /// accepted (a short alias some clients post to becomes the real path).
    fn upstream_path<'a>(&self, path: &'a str) -> std::borrow::Cow<'a, str> {
        std::borrow::Cow::Borrowed(path)
    }

    /// A call id in the API's style, made from `seed` (letters and digits).
    fn call_id(&self, seed: &str) -> String;

    /// Whether results carry an error flag (Anthropic `is_error`, Gemini's `error` key).
    fn has_error_flag(&self) -> bool;

    /// How a failed call's result that lacks the error flag reads in a message ("its
    /// tool_result lacks \"is_error\": true"); only asked where [`Format::has_error_flag`].
    fn error_flag_missing(&self) -> &'static str {
        "its result lacks the error flag"
    }

    /// Whether a request can ask the model for one call per turn at most (Anthropic
    /// `disable_parallel_tool_use`, OpenAI `parallel_tool_calls: false`). Where it cannot
    /// (Gemini), `parallel-writes-enabled` has nothing to check.
    fn has_parallel_switch(&self) -> bool {
        true
    }

    /// How the results of this reply's calls are matched to them, when not simply by id: a
    /// note for the report (Gemini calls without ids are matched by name and position).
    fn pairing_note(&self, _reply: &Reply) -> Option<String> {
        None
    }

    /// What a part kept whole ([`crate::transcript::Part::Other`]) is, when this API's
    /// documentation does not name it: a role, block, item or part type added after this
    /// tooltape was written. `None` for the known kinds the rules pass over on purpose
    /// (images, thinking, hosted tools, ...). The run's report notes each one: it is kept
    /// losslessly and no rule judges it.
    fn unfamiliar(&self, _part: &Value) -> Option<String> {
        None
    }

    /// Why a call id can occur twice in a recording and what to do, when the API has a reason
    /// of its own (ids tooltape made for calls without one).
    fn repeated_id_hint(&self, _call_id: &str) -> Option<&'static str> {
        None
    }

    /// Whether the API wants the results first in their message (Anthropic).
    fn results_first_in_message(&self) -> bool;

    /// How the API treats a turn's results spread over several messages; `contiguous`: the
    /// messages follow one another with nothing between them.
    fn split_results(&self, contiguous: bool) -> SplitVerdict;

    /// The API's 400 message for a refused follow-up.
    fn rejection_text(&self, refusal: &Refusal<'_>) -> String;

    /// A request the mock must answer itself, before the engine sees it, as a server without
    /// some optional feature would, or as the API answers a malformed URL (`Some((status,
    /// body))`). `endpoint` is what the URL said.
    fn preflight(&self, _endpoint: &Endpoint, _request: &Value) -> Option<(u16, Value)> {
        None
    }

    /// A reply body built back from one assistant turn's history entries (as the next request
    /// carries them); its ids are made from `id_seed` in the API's style.
    fn reply_from_history(
        &self,
        entries: &[Value],
        id_seed: &str,
        model: &str,
    ) -> Result<Value, String>;

    /// A reply body holding only this final answer text; ids made from `id_seed`.
    fn text_reply(&self, id_seed: &str, model: &str, text: &str) -> Value;

    /// A reply body asking for these calls, in this order, with their ids as given (made with
    /// [`Format::call_id`]) and nothing else: what a model answers when it calls tools in
    /// parallel. Other ids are made from `id_seed`.
    fn calls_reply(
        &self,
        id_seed: &str,
        model: &str,
        calls: &[crate::transcript::ToolCall],
    ) -> Value;

    /// A first request asking `text` and offering `tools` (each with its JSON Schema), as an
    /// agent built on the API's SDK sends it: where `tooltape scenario new --synthesize`
    /// starts, and what tests of synthesis use.
    fn request_offering(&self, model: &str, text: &str, tools: &[crate::transcript::Tool])
    -> Value;

    /// Parse a request body a handler sent.
    fn parse_request(&self, body: &Value) -> Result<Request, FormatError> {
        self.parse_request_sharing(body, &[])
    }

    /// [`Format::parse_request`], with each offered tool's input schema shared with the
    /// `known` tool of the same name (an [`std::sync::Arc`] clone) when both are the same JSON,
    /// members in the same order, instead of copied: the replay engine passes the recorded
    /// request's tools, which a handler usually offers unchanged. The result is equal to
    /// `parse_request`'s whatever `known` holds.
    fn parse_request_sharing(
        &self,
        body: &Value,
        known: &[crate::transcript::Tool],
    ) -> Result<Request, FormatError>;

    /// Replace references to items the API stores (Responses `{"type": "item_reference",
    /// "id": "msg_…"}`, which the Vercel AI SDK sends for the assistant's earlier output and the
    /// API resolves) by the items they name, looked up in the reply bodies `served` so far.
    /// A reference to no item served is kept as it is. APIs without stored items do nothing.
    fn resolve_references(&self, _request: &mut Request, _served: &[Value]) {}

    /// Parse a non-streamed reply body.
    fn parse_reply(&self, body: &Value) -> Result<Reply, FormatError>;

    /// Rebuild the non-streamed reply body from a stream's events, as the official SDKs'
    /// accumulators do.
    fn reply_from_stream(&self, events: &[SseEvent]) -> Result<Value, FormatError>;

    /// Turn a reply body into the stream events the real API would send for it (contiguous
    /// indices, `event:` lines where the API has them, the API's closing frame).
    fn stream_from_reply(&self, body: &Value) -> Result<Vec<SseEvent>, FormatError>;

    /// [`Format::stream_from_reply`], cut into chunks as `chunking` says where the API's
    /// streams can come either way (Gemini); other APIs stream one way only.
    fn stream_from_reply_as(
        &self,
        body: &Value,
        _chunking: StreamChunking,
    ) -> Result<Vec<SseEvent>, FormatError> {
        self.stream_from_reply(body)
    }

    /// The wire entries a reply adds to the next request's history, verbatim: the assistant
    /// message (Anthropic, Chat) or the output items (Responses).
    fn history_entries(&self, reply: &Value) -> Result<Vec<Value>, FormatError>;

    /// The wire entries carrying these results as one results message: one user message of
    /// `tool_result` blocks (Anthropic; `text_before` becomes a text block placed *before* them),
    /// a run of `tool` messages (Chat) or of `function_call_output` items (Responses). For the
    /// OpenAI APIs `text_before` becomes a user message placed before the results.
    fn results_entries(&self, results: &[ResultBlock], text_before: Option<&str>) -> Vec<Value>;

    /// A plain user message holding `text`.
    fn user_text_entry(&self, text: &str) -> Value;

    /// The request's history array (`messages`, or `input`: a string `input` is first turned
    /// into the equivalent one-message array).
    fn history_mut<'a>(&self, request: &'a mut Value) -> Result<&'a mut Vec<Value>, FormatError>;

    /// Set or clear the request's parallel-disable switch (nothing, where the API has none).
    fn set_parallel_disabled(&self, request: &mut Value, disabled: bool);

    /// The provider's HTTP 400 error body for `message` (`invalid_request_error`).
    fn error_body(&self, message: &str) -> Value;

    /// The provider's error body for another HTTP status (404, 413, 500, ...), so that every
    /// answer of the mock is one the agent's SDK can read. Default: the 400 body.
    fn error_body_status(&self, status: u16, message: &str) -> Value {
        let _ = status;
        self.error_body(message)
    }
}
