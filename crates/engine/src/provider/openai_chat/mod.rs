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

use super::common::{history_items, offers_tool_with, styled_id, unfamiliar_typed};
use super::{Format, FormatError, Refusal, ResultBlock, SplitVerdict, SseEvent, UrlSays};
use crate::transcript::{Reply, Request, Tool, ToolCall};

/// The OpenAI Chat Completions API.
pub struct OpenAiChat;

impl Format for OpenAiChat {
    fn name(&self) -> &'static str {
        "openai-chat"
    }

    fn unfamiliar(&self, part: &Value) -> Option<String> {
        unfamiliar_typed(
            part,
            parse::ROLES,
            parse::PART_TYPES,
            "a content part or call",
        )
    }

    fn endpoint(&self, path: &str, _query: Option<&str>) -> Option<UrlSays> {
        path.ends_with("/chat/completions").then(UrlSays::default)
    }

    fn history_key(&self) -> &'static str {
        "messages"
    }

    fn likeness(&self, body: &Value, _bare_array: bool) -> u8 {
        let Some(Value::Array(_)) = body.get("messages") else {
            return 0;
        };
        let messages = history_items(body, "messages");
        let role = |m: &Value| m.get("role").and_then(Value::as_str).map(str::to_string);
        if messages
            .iter()
            .any(|m| m.get("tool_calls").is_some() || role(m).as_deref() == Some("tool"))
            || offers_tool_with(body, "function")
        {
            super::CLEAR_SIGN
        } else if messages
            .iter()
            .any(|m| matches!(role(m).as_deref(), Some("system" | "developer")))
        {
            // Instructions inside the messages: Chat's shape, not a proof.
            4
        } else {
            // Messages and nothing else to go by: the most common API.
            1
        }
    }

    fn base_url_env(&self, base: &str) -> Vec<(&'static str, String)> {
        super::common::openai_base_url_env(base)
    }

    fn key_env(&self) -> &'static [(&'static str, &'static str)] {
        &[("OPENAI_API_KEY", "sk-tooltape-placeholder")]
    }

    fn env_remove(&self) -> &'static [&'static str] {
        super::common::OPENAI_ENV_REMOVE
    }

    fn sdk_imports(&self) -> &'static [&'static str] {
        super::common::OPENAI_SDK_IMPORTS
    }

    fn header_signs(&self) -> &'static [&'static str] {
        &[]
    }

    fn upstream(&self) -> &'static str {
        "https://api.openai.com"
    }

    fn call_id(&self, seed: &str) -> String {
        styled_id("call_", seed, 24)
    }

    fn has_error_flag(&self) -> bool {
        false
    }

    fn pairing_note(&self, reply: &Reply) -> Option<String> {
        reply
            .calls()
            .iter()
            .any(|c| parse::is_synthetic(&c.id))
            .then(|| {
                "its calls carry no ids (an OpenAI-compatible server): results are matched to \
                 them by name, then by position, as clients must then match them"
                    .to_string()
            })
    }

    fn results_first_in_message(&self) -> bool {
        false
    }

    fn split_results(&self, _contiguous: bool) -> SplitVerdict {
        // The tool messages must be one run right after the assistant message.
        SplitVerdict::Refused
    }

    fn rejection_text(&self, refusal: &Refusal<'_>) -> String {
        follow_up::rejection_text(refusal)
    }

    fn reply_from_history(
        &self,
        entries: &[Value],
        id_seed: &str,
        model: &str,
    ) -> Result<Value, String> {
        follow_up::reply_from_history(entries, id_seed, model)
    }

    fn text_reply(&self, id_seed: &str, model: &str, text: &str) -> Value {
        let mut message = serde_json::Map::new();
        message.insert("role".into(), Value::from("assistant"));
        message.insert("content".into(), Value::from(text));
        follow_up::envelope(id_seed, model, message)
    }

    fn calls_reply(&self, id_seed: &str, model: &str, calls: &[ToolCall]) -> Value {
        let mut message = serde_json::Map::new();
        message.insert("role".into(), Value::from("assistant"));
        message.insert("content".into(), Value::Null);
        message.insert("refusal".into(), Value::Null);
        let calls: Vec<Value> = calls
            .iter()
            .map(|c| {
                serde_json::json!({
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.input.to_string()}
                })
            })
            .collect();
        message.insert("tool_calls".into(), Value::Array(calls));
        follow_up::envelope(id_seed, model, message)
    }

    fn request_offering(&self, model: &str, text: &str, tools: &[Tool]) -> Value {
        let tools: Vec<Value> = tools
            .iter()
            .map(|t| {
                let mut f = serde_json::json!({"name": t.name, "parameters": t.input_schema.as_deref().cloned()
                    .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}}))});
                if t.strict {
                    f["strict"] = Value::Bool(true);
                }
                serde_json::json!({"type": "function", "function": f})
            })
            .collect();
        serde_json::json!({"model": model,
               "messages": [{"role": "user", "content": text}], "tools": tools})
    }

    fn parse_request_sharing(
        &self,
        body: &Value,
        known: &[crate::transcript::Tool],
    ) -> Result<Request, FormatError> {
        parse::parse_request(body, known)
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

    fn error_body_status(&self, status: u16, message: &str) -> Value {
        crate::provider::common::openai_error_body_status(status, message)
    }
}
