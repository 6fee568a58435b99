//! Server-sent events as tooltape keeps them: one frame per event, with its exact data text and
//! the gap since the previous frame.

use serde::{Deserialize, Serialize};

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SseEvent {
    /// The `event:` name, where the API sends one (Anthropic, Responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The `data:` text exactly as sent (a JSON document, or `[DONE]`).
    pub data: String,
    /// Milliseconds since the previous event (or since the request, for the first).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gap_ms: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl SseEvent {
    /// An event with a name and JSON data, no gap.
    pub fn named(event: &str, data: &serde_json::Value) -> Self {
        SseEvent {
            event: Some(event.to_string()),
            data: data.to_string(),
            gap_ms: 0,
        }
    }

    /// An unnamed event (OpenAI Chat), no gap.
    pub fn data(data: impl Into<String>) -> Self {
        SseEvent {
            event: None,
            data: data.into(),
            gap_ms: 0,
        }
    }

    /// The bytes of this event on the wire.
    pub fn to_wire(&self) -> String {
        let mut out = String::new();
        if let Some(e) = &self.event {
            out.push_str("event: ");
            out.push_str(e);
            out.push('\n');
        }
        for line in self.data.split('\n') {
            out.push_str("data: ");
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
        out
    }
}
