//! OpenAI Chat Completions (`POST /v1/chat/completions`).
//!
//! Calls are the assistant message's `tool_calls` (arguments as a JSON *string*); each result is
//! its own `role: "tool"` message, so a run of them is grouped into one neutral message. Streams
//! are unnamed `data:` chunks merged by index, ending with `data: [DONE]` (protocols.md §2).

mod follow_up;
mod parse;
mod stream;
#[cfg(test)]
mod tests;

use serde_json::Value;

use super::{Format, FormatError, ResultBlock, SseEvent};
use crate::provider::Provider;
use crate::transcript::{Reply, Request};

/// The OpenAI Chat Completions API.
pub struct OpenAiChat;

impl Format for OpenAiChat {
    fn provider(&self) -> Provider {
        Provider::OpenAiChat
    }

    fn parse_request(&self, body: &Value) -> Result<Request, FormatError> {
        parse::parse_request(body)
    }

    fn parse_reply(&self, body: &Value) -> Result<Reply, FormatError> {
        parse::parse_reply(body)
    }

    fn reply_from_stream(&self, events: &[SseEvent]) -> Result<Value, FormatError> {
        stream::reply_from_stream(events)
    }

    fn stream_from_reply(&self, body: &Value) -> Result<Vec<SseEvent>, FormatError> {
        stream::stream_from_reply(body)
    }

    fn history_entries(&self, reply: &Value) -> Result<Vec<Value>, FormatError> {
        follow_up::history_entries(reply)
    }

    fn results_entries(&self, results: &[ResultBlock], text_before: Option<&str>) -> Vec<Value> {
        follow_up::results_entries(results, text_before)
    }

    fn user_text_entry(&self, text: &str) -> Value {
        follow_up::user_text_entry(text)
    }

    fn history_mut<'a>(&self, request: &'a mut Value) -> Result<&'a mut Vec<Value>, FormatError> {
        follow_up::history_mut(request)
    }

    fn set_parallel_disabled(&self, request: &mut Value, disabled: bool) {
        follow_up::set_parallel_disabled(request, disabled)
    }

    fn error_body(&self, message: &str) -> Value {
        follow_up::error_body(message)
    }
}
