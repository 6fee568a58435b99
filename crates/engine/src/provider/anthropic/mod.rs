//! Anthropic Messages (`POST /v1/messages`).
//!
//! Calls are `tool_use` content blocks of the assistant message; results are `tool_result`
//! blocks of the next user message, with an `is_error` flag. Streams are `event:`-named SSE
//! (`message_start`, per block `content_block_start`/`_delta`/`_stop`, `message_delta`,
//! `message_stop`), see protocols.md §1.

mod follow_up;
mod parse;
mod stream;
#[cfg(test)]
mod tests;

use serde_json::{Value, json};

use super::common::{history_items, offers_tool_with, styled_id, unfamiliar_typed};
use super::{Endpoint, Format, FormatError, Refusal, ResultBlock, SplitVerdict, SseEvent, UrlSays};
use crate::transcript::{Reply, Request, Tool, ToolCall};

/// The Anthropic API.
pub struct Anthropic;

impl Format for Anthropic {
    fn name(&self) -> &'static str {
        "anthropic"
    }

    fn unfamiliar(&self, part: &Value) -> Option<String> {
        unfamiliar_typed(part, parse::ROLES, parse::BLOCK_TYPES, "a content block")
    }

    fn endpoint(&self, path: &str, _query: Option<&str>) -> Option<UrlSays> {
        // `@ai-sdk/anthropic` posts to `${ANTHROPIC_BASE_URL}/messages`.
        (path == "/messages" || path.ends_with("/v1/messages")).then(UrlSays::default)
    }

    fn history_key(&self) -> &'static str {
        "messages"
    }

    fn likeness(&self, body: &Value, _bare_array: bool) -> u8 {
        let blocks = history_items(body, "messages").iter().any(|m| {
            m.get("content")
                .and_then(Value::as_array)
                .is_some_and(|blocks| {
                    blocks.iter().any(|b| {
                        matches!(
                            b.get("type").and_then(Value::as_str),
                            Some("tool_use" | "tool_result")
                        )
                    })
                })
        });
        if blocks || offers_tool_with(body, "input_schema") {
            super::CLEAR_SIGN
        } else if body.get("messages").is_some() && body.get("system").is_some() {
            // System text apart from the messages: Anthropic's shape, not a proof.
            3
        } else {
            0
        }
    }

    fn base_url_env(&self, base: &str) -> Vec<(&'static str, String)> {
        // The SDKs read ANTHROPIC_BASE_URL; LangChain also ANTHROPIC_API_URL, LiteLLM
        // ANTHROPIC_API_BASE (all without a version).
        vec![
            ("ANTHROPIC_BASE_URL", base.to_string()),
            ("ANTHROPIC_API_URL", base.to_string()),
            ("ANTHROPIC_API_BASE", base.to_string()),
        ]
    }

    fn key_env(&self) -> &'static [(&'static str, &'static str)] {
        &[("ANTHROPIC_API_KEY", "sk-ant-tooltape-placeholder")]
    }

    fn env_remove(&self) -> &'static [&'static str] {
        // The SDKs prefer a bearer token to the key when both are set; the others send the
        // SDKs' Bedrock and Vertex clients (and Claude Code) to those clouds.
        &[
            "ANTHROPIC_AUTH_TOKEN",
            "ANTHROPIC_BEDROCK_BASE_URL",
            "ANTHROPIC_VERTEX_BASE_URL",
            "ANTHROPIC_VERTEX_PROJECT_ID",
            "CLAUDE_CODE_USE_BEDROCK",
            "CLAUDE_CODE_USE_VERTEX",
        ]
    }

    fn sdk_imports(&self) -> &'static [&'static str] {
        &[
            "import anthropic",
            "from anthropic",
            "@anthropic-ai/sdk",
            "@ai-sdk/anthropic",
            "langchain_anthropic",
        ]
    }

    fn header_signs(&self) -> &'static [&'static str] {
        &["anthropic-version", "x-api-key"]
    }

    fn upstream(&self) -> &'static str {
        "https://api.anthropic.com"
    }

    fn upstream_path<'a>(&self, path: &'a str) -> std::borrow::Cow<'a, str> {
        if path.trim_end_matches('/') == "/messages" {
            "/v1/messages".into()
        } else {
            path.into()
        }
    }

    fn call_id(&self, seed: &str) -> String {
        styled_id("toolu_01", seed, 22)
    }

    fn has_error_flag(&self) -> bool {
        true
    }

    fn error_flag_missing(&self) -> &'static str {
        "its tool_result lacks \"is_error\": true"
    }

    fn results_first_in_message(&self) -> bool {
        true
    }

    fn split_results(&self, contiguous: bool) -> SplitVerdict {
        // The Messages API merges consecutive user messages, so only a contiguous split is
        // accepted; the docs still say it teaches the model to stop calling tools in parallel.
        if contiguous {
            SplitVerdict::Accepted(
                "consecutive user messages (the API merges them, but Anthropic says this teaches Claude to stop making parallel calls)",
            )
        } else {
            SplitVerdict::Refused
        }
    }

    fn rejection_text(&self, refusal: &Refusal<'_>) -> String {
        follow_up::rejection_text(refusal)
    }

    fn preflight(&self, _endpoint: &Endpoint, request: &Value) -> Option<(u16, Value)> {
        follow_up::preflight(request)
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
        follow_up::envelope(id_seed, model, vec![json!({"type": "text", "text": text})])
    }

    fn calls_reply(&self, id_seed: &str, model: &str, calls: &[ToolCall]) -> Value {
        let blocks = calls
            .iter()
            .map(|c| json!({"type": "tool_use", "id": c.id, "name": c.name, "input": c.input}))
            .collect();
        follow_up::envelope(id_seed, model, blocks)
    }

    fn request_offering(&self, model: &str, text: &str, tools: &[Tool]) -> Value {
        let tools: Vec<Value> = tools
            .iter()
            .map(|t| {
                let mut v = json!({"name": t.name, "input_schema": t.input_schema.as_deref().cloned()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}}))});
                if t.strict {
                    v["strict"] = json!(true);
                }
                v
            })
            .collect();
        json!({"model": model, "max_tokens": 1024,
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
        follow_up::error_body_status(status, message)
    }
}
