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

use super::common::{history_items, styled_id, unfamiliar_typed};
use super::{Format, FormatError, Refusal, ResultBlock, SplitVerdict, SseEvent, UrlSays};
use crate::transcript::{Reply, Request, Tool, ToolCall};

/// The OpenAI Responses API.
pub struct OpenAiResponses;

impl Format for OpenAiResponses {
    fn name(&self) -> &'static str {
        "openai-responses"
    }

    fn unfamiliar(&self, part: &Value) -> Option<String> {
        unfamiliar_typed(
            part,
            parse::ROLES,
            parse::ITEM_TYPES,
            "an item or content part",
        )
    }

    fn endpoint(&self, path: &str, _query: Option<&str>) -> Option<UrlSays> {
        (path == "/responses"
            || path.ends_with("/v1/responses")
            || path.ends_with("/openai/responses"))
        .then(UrlSays::default)
    }

    fn history_key(&self) -> &'static str {
        "input"
    }

    fn likeness(&self, body: &Value, bare_array: bool) -> u8 {
        if body.get("messages").is_some() {
            return 0;
        }
        match body.get("input") {
            None => 0,
            // A bare array of plain role/content messages is Chat's as much as ours.
            Some(Value::Array(_))
                if bare_array && !history_items(body, "input").iter().any(is_item) =>
            {
                0
            }
            Some(_) => super::CLEAR_SIGN,
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

    fn results_first_in_message(&self) -> bool {
        false
    }

    fn split_results(&self, _contiguous: bool) -> SplitVerdict {
        // Outputs are read wherever they sit in the input.
        SplitVerdict::Accepted("input items with other items between them")
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
        follow_up::envelope(
            id_seed,
            model,
            vec![serde_json::json!({
                "type": "message",
                "id": format!("msg_{id_seed}x0"),
                "status": "completed",
                "role": "assistant",
                "content": [follow_up::output_text(text)]
            })],
        )
    }

    fn calls_reply(&self, id_seed: &str, model: &str, calls: &[ToolCall]) -> Value {
        let items = calls
            .iter()
            .enumerate()
            .map(|(i, c)| {
                serde_json::json!({
                    "type": "function_call",
                    "id": format!("fc_{id_seed}x{i}"),
                    "call_id": c.id,
                    "name": c.name,
                    "arguments": c.input.to_string(),
                    "status": "completed"
                })
            })
            .collect();
        follow_up::envelope(id_seed, model, items)
    }

    fn request_offering(&self, model: &str, text: &str, tools: &[Tool]) -> Value {
        let tools: Vec<Value> = tools
            .iter()
            .map(|t| {
                serde_json::json!({"type": "function", "name": t.name, "strict": t.strict,
                    "parameters": t.input_schema.as_deref().cloned()
                        .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}}))})
            })
            .collect();
        serde_json::json!({"model": model, "input": text, "tools": tools})
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

    fn resolve_references(&self, request: &mut Request, served: &[Value]) {
        parse::resolve_references(request, served)
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

/// Whether an array entry is a Responses input item rather than a chat message.
fn is_item(item: &Value) -> bool {
    matches!(
        item.get("type").and_then(Value::as_str),
        Some("function_call" | "function_call_output" | "reasoning" | "item_reference" | "message")
    )
}
