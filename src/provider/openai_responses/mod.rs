//! OpenAI Responses (`POST /v1/responses`).
//!
//! The conversation is a flat list of items: messages, `function_call` items (matched to their
//! results by `call_id`, not by the `fc_…` item id), `function_call_output` items, `reasoning`
//! items. Runs of model-output items and runs of outputs are grouped into one neutral message
//! each. Streams are `event:`-named with a strictly increasing `sequence_number` and end with
//! `response.completed`, whose `response` is the whole body (protocols.md §3).

mod follow_up;
mod parse;
mod stream;
#[cfg(test)]
mod tests;

use serde_json::Value;

use super::{Format, FormatError, ResultBlock, SseEvent};
use crate::provider::Provider;
use crate::transcript::{Reply, Request};

/// The OpenAI Responses API.
pub struct OpenAiResponses;

impl Format for OpenAiResponses {
    fn provider(&self) -> Provider {
        Provider::OpenAiResponses
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
