//! Provider-native JSON: parse requests and replies into the neutral [`crate::transcript`]
//! model, turn streams into replies and back, and build follow-up requests.
//!
//! One file per API, each implementing [`Format`]. Parsing keeps the native JSON untouched
//! (the neutral model is a view of it), so emitting never loses fields the model model does not
//! know about: follow-ups are built by appending native entries to the handler's own request.

pub mod anthropic;
mod common;
pub mod openai_chat;
pub mod openai_responses;
pub mod sse;
#[cfg(test)]
mod test_support;

use serde_json::Value;

use crate::transcript::{Reply, Request};
use serde::{Deserialize, Serialize};
pub use sse::SseEvent;

/// The model API a cassette was recorded against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
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
}

impl Provider {
    /// Every provider, in a stable order.
    pub const ALL: [Provider; 3] = [
        Provider::Anthropic,
        Provider::OpenAiChat,
        Provider::OpenAiResponses,
    ];

    /// The name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::OpenAiChat => "openai-chat",
            Provider::OpenAiResponses => "openai-responses",
        }
    }

    /// Whether the provider has a per-result error flag (only Anthropic's `is_error`).
    pub fn has_error_flag(self) -> bool {
        matches!(self, Provider::Anthropic)
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
}

/// One tool result for a follow-up that a handler builds.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultBlock {
    /// The call id the result answers.
    pub call_id: String,
    /// The tool's output, or its error text.
    pub content: String,
    /// Whether the tool failed. Providers without an error flag ignore it (the text carries it).
    pub is_error: bool,
}

/// The per-API operations tooltape needs. Implemented by [`anthropic::Anthropic`],
/// [`openai_chat::OpenAiChat`] and [`openai_responses::OpenAiResponses`]; get one with
/// [`format`].
pub trait Format: Send + Sync {
    /// Which API this is.
    fn provider(&self) -> Provider;

    /// Parse a request body a handler sent.
    fn parse_request(&self, body: &Value) -> Result<Request, FormatError>;

    /// Parse a non-streamed reply body.
    fn parse_reply(&self, body: &Value) -> Result<Reply, FormatError>;

    /// Rebuild the non-streamed reply body from a stream's events, as the official SDKs'
    /// accumulators do.
    fn reply_from_stream(&self, events: &[SseEvent]) -> Result<Value, FormatError>;

    /// Turn a reply body into the stream events the real API would send for it (contiguous
    /// indices, `event:` lines where the API has them, the API's closing frame).
    fn stream_from_reply(&self, body: &Value) -> Result<Vec<SseEvent>, FormatError>;

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

    /// Set or clear the request's parallel-disable switch.
    fn set_parallel_disabled(&self, request: &mut Value, disabled: bool);

    /// The provider's HTTP 400 error body for `message` (`invalid_request_error`).
    fn error_body(&self, message: &str) -> Value;
}

/// The [`Format`] of a provider.
pub fn format(provider: Provider) -> &'static dyn Format {
    match provider {
        Provider::Anthropic => &anthropic::Anthropic,
        Provider::OpenAiChat => &openai_chat::OpenAiChat,
        Provider::OpenAiResponses => &openai_responses::OpenAiResponses,
    }
}
