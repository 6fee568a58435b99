//! Google Gemini, Developer API (`POST /v1beta/models/{model}:generateContent`, and
//! `:streamGenerateContent`; `/v1/…` alike).
//!
//! The conversation is `contents`: `user` and `model` contents of `parts`. Calls are
//! `functionCall` parts of a model content (`args` an object; `id` present from Gemini 3 on,
//! often missing on 2.x); results are `functionResponse` parts (`name` required, `id` echoing
//! the call's, `response` an object with `output` or `error`), all in one content right after
//! the model turn, with role `user` (`function` and `tool` are accepted too). A thought
//! signature rides on the first call part and must come back unchanged. Streams send whole
//! `GenerateContentResponse` chunks: `data:` events with `?alt=sse` (no `[DONE]`), else one
//! JSON array sent progressively. See protocols.md §4 and gemini-mcp.md §1.
//!
//! Calls without ids get a synthetic id (see [`ids`]) so that results pair with them by name
//! and position, as the real clients do; the report says so ([`Format::pairing_note`]).
//!
//! No request switch limits the model to one call per turn (protocols.md §4.5: `mode` picks
//! whether and which functions are called, not how many), so requests count as having done what
//! they can and `parallel-writes-enabled` does not apply; the protection left is running the
//! writes one at a time (`unsafe-parallel-writes`).

mod case;
mod follow_up;
pub(super) mod ids;
mod parse;
mod schema;
mod stream;
#[cfg(test)]
mod tests;

use serde_json::{Value, json};

use super::common::styled_id;
use super::{
    Endpoint, Format, FormatError, Refusal, ResultBlock, SplitVerdict, SseEvent, StreamChunking,
    StreamFraming, UrlSays,
};
use crate::transcript::{Reply, Request, Tool, ToolCall};

/// The Gemini Developer API.
pub struct Gemini;

/// The model named by a path's last segment `…/models/{model}:{method}` (percent-decoded), and
/// the method; `None` when the path is not shaped so.
fn model_and_method(path: &str) -> Option<(String, &str)> {
    let (head, method) = path.rsplit_once(':')?;
    let at = head
        .rfind("/models/")
        .map(|i| i + "/models/".len())
        .or_else(|| {
            head.rfind("/tunedModels/")
                .map(|i| i + "/tunedModels/".len())
        })?;
    Some((percent_decode(&head[at..]), method))
}

/// `%XX` escapes decoded (bytes that do not form UTF-8 are replaced).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: &u8| (*c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (b.get(i + 1).and_then(hex), b.get(i + 2).and_then(hex))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Format for Gemini {
    fn name(&self) -> &'static str {
        "gemini"
    }

    fn unfamiliar(&self, part: &Value) -> Option<String> {
        parse::unfamiliar(part)
    }

    fn endpoint(&self, path: &str, query: Option<&str>) -> Option<UrlSays> {
        // Some HTTP clients escape the colon before the method.
        let path = path.replace("%3A", ":").replace("%3a", ":");
        let (model, method) = model_and_method(&path)?;
        let stream = match method {
            "generateContent" => false,
            "streamGenerateContent" => true,
            _ => return None,
        };
        let sse = query.is_some_and(|q| q.split('&').any(|kv| kv.eq_ignore_ascii_case("alt=sse")));
        Some(UrlSays {
            stream: Some(stream),
            model: Some(model),
            framing: if stream && !sse {
                StreamFraming::JsonArray
            } else {
                StreamFraming::Sse
            },
        })
    }

    fn history_key(&self) -> &'static str {
        "contents"
    }

    fn likeness(&self, body: &Value, _bare_array: bool) -> u8 {
        if parse::has_contents(body) || parse::declares_functions(body) {
            super::CLEAR_SIGN
        } else {
            0
        }
    }

    fn base_url_env(&self, base: &str) -> Vec<(&'static str, String)> {
        // No version: the SDKs append `/v1beta` (or `/v1`) themselves.
        vec![("GOOGLE_GEMINI_BASE_URL", base.to_string())]
    }

    fn key_env(&self) -> &'static [(&'static str, &'static str)] {
        &[("GEMINI_API_KEY", "tooltape-placeholder-gemini-key")]
    }

    fn env_remove(&self) -> &'static [&'static str] {
        // google-genai prefers GOOGLE_API_KEY to GEMINI_API_KEY (and warns on every run when
        // both are set); GOOGLE_GENAI_USE_VERTEXAI would send it to Vertex AI instead.
        // The rest point it at a Vertex AI project, or LiteLLM at another Gemini host.
        &[
            "GOOGLE_API_KEY",
            "GOOGLE_GENAI_USE_VERTEXAI",
            "GOOGLE_CLOUD_PROJECT",
            "GOOGLE_CLOUD_LOCATION",
            "GOOGLE_VERTEX_BASE_URL",
            "GEMINI_API_BASE",
        ]
    }

    fn sdk_imports(&self) -> &'static [&'static str] {
        &[
            "from google import genai",
            "@google/genai",
            "@ai-sdk/google",
        ]
    }

    fn header_signs(&self) -> &'static [&'static str] {
        &["x-goog-api-key", "x-goog-api-client"]
    }

    fn upstream(&self) -> &'static str {
        "https://generativelanguage.googleapis.com"
    }

    fn call_id(&self, seed: &str) -> String {
        styled_id("call_", seed, 8)
    }

    fn has_error_flag(&self) -> bool {
        // The documented convention: `response: {"error": …}` (protocols.md §4.7).
        true
    }

    fn error_flag_missing(&self) -> &'static str {
        "its functionResponse.response has no \"error\" key"
    }

    fn has_parallel_switch(&self) -> bool {
        false
    }

    fn pairing_note(&self, reply: &Reply) -> Option<String> {
        reply
            .calls()
            .iter()
            .any(|c| ids::is_synthetic(&c.id))
            .then(|| {
                "its calls carry no ids: results are matched to them by name, then by position \
             among the calls of the same name (as google-genai's own loop does)"
                    .to_string()
            })
    }

    fn repeated_id_hint(&self, call_id: &str) -> Option<&'static str> {
        ids::is_synthetic(call_id).then_some(
            "these calls carry no ids, and two turns make exactly the same calls with the same \
             arguments, so tooltape cannot tell their results apart; record with a model that \
             gives call ids (Gemini 3), or keep one of the two turns",
        )
    }

    fn results_first_in_message(&self) -> bool {
        false
    }

    fn split_results(&self, _contiguous: bool) -> SplitVerdict {
        // Each content's response parts are counted against the call turn's call parts.
        SplitVerdict::Refused
    }

    fn rejection_text(&self, refusal: &Refusal<'_>) -> String {
        follow_up::rejection_text(refusal)
    }

    fn preflight(&self, endpoint: &Endpoint, request: &Value) -> Option<(u16, Value)> {
        follow_up::preflight(endpoint, request)
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
        follow_up::text_reply(id_seed, model, text)
    }

    fn calls_reply(&self, id_seed: &str, model: &str, calls: &[ToolCall]) -> Value {
        let parts: Vec<Value> = calls
            .iter()
            .map(|c| json!({"functionCall": {"id": c.id, "name": c.name, "args": c.input}}))
            .collect();
        follow_up::envelope(id_seed, model, json!({"role": "model", "parts": parts}))
    }

    fn request_offering(&self, _model: &str, text: &str, tools: &[Tool]) -> Value {
        // The model is in the URL, not the body.
        let decls: Vec<Value> = tools
            .iter()
            .map(|t| match &t.input_schema {
                Some(s) => json!({"name": t.name, "parametersJsonSchema": s}),
                None => json!({"name": t.name}),
            })
            .collect();
        json!({"contents": [{"role": "user", "parts": [{"text": text}]}],
               "tools": [{"functionDeclarations": decls}]})
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
        stream::stream_from_reply(body, StreamChunking::OneChunk)
    }

    fn stream_from_reply_as(
        &self,
        body: &Value,
        chunking: StreamChunking,
    ) -> Result<Vec<SseEvent>, FormatError> {
        stream::stream_from_reply(body, chunking)
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

    fn set_parallel_disabled(&self, _request: &mut Value, _disabled: bool) {
        // No such switch exists (protocols.md §4.5).
    }

    fn error_body(&self, message: &str) -> Value {
        follow_up::error_body(message)
    }

    fn error_body_status(&self, status: u16, message: &str) -> Value {
        follow_up::error_body_status(status, message)
    }
}
