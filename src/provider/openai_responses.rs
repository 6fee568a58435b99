//! Stub: being written.
use serde_json::Value;

use super::{Format, FormatError, ResultBlock, SseEvent};
use crate::transcript::{Provider, Reply, Request};

/// The OpenAiResponses API.
pub struct OpenAiResponses;

impl Format for OpenAiResponses {
    fn provider(&self) -> Provider {
        Provider::OpenAiResponses
    }
    fn parse_request(&self, _body: &Value) -> Result<Request, FormatError> {
        todo!()
    }
    fn parse_reply(&self, _body: &Value) -> Result<Reply, FormatError> {
        todo!()
    }
    fn reply_from_stream(&self, _events: &[SseEvent]) -> Result<Value, FormatError> {
        todo!()
    }
    fn stream_from_reply(&self, _body: &Value) -> Result<Vec<SseEvent>, FormatError> {
        todo!()
    }
    fn history_entries(&self, _reply: &Value) -> Result<Vec<Value>, FormatError> {
        todo!()
    }
    fn results_entries(&self, _results: &[ResultBlock], _text_before: Option<&str>) -> Vec<Value> {
        todo!()
    }
    fn user_text_entry(&self, _text: &str) -> Value {
        todo!()
    }
    fn history_mut<'a>(&self, _request: &'a mut Value) -> Result<&'a mut Vec<Value>, FormatError> {
        todo!()
    }
    fn set_parallel_disabled(&self, _request: &mut Value, _disabled: bool) {
        todo!()
    }
    fn error_body(&self, _message: &str) -> Value {
        todo!()
    }
}
