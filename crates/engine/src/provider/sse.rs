//! Server-sent events as tooltape keeps them: one frame per event, with its exact data text and
//! the gap since the previous frame.

use serde::{Deserialize, Serialize};

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
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

/// How a stream's events go on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StreamFraming {
    /// Server-sent events (`text/event-stream`): every API, and Gemini with `alt=sse`.
    #[default]
    Sse,
    /// One JSON array whose elements are the events' data, sent element by element
    /// (`application/json`): Gemini's `streamGenerateContent` without `alt=sse`.
    JsonArray,
}

impl StreamFraming {
    /// The response's content type.
    pub fn content_type(self) -> &'static str {
        match self {
            StreamFraming::Sse => "text/event-stream",
            StreamFraming::JsonArray => "application/json",
        }
    }

    /// The bytes of each event on the wire, in order (a JSON array opens with the first event
    /// and closes after the last; an empty stream is `[]`).
    pub fn wire(self, events: &[SseEvent]) -> Vec<String> {
        match self {
            StreamFraming::Sse => events.iter().map(SseEvent::to_wire).collect(),
            StreamFraming::JsonArray => {
                let n = events.len();
                if n == 0 {
                    return vec!["[]".to_string()];
                }
                events
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        let open = if i == 0 { "[" } else { ",\r\n" };
                        let close = if i + 1 == n { "]" } else { "" };
                        format!("{open}{}{close}", e.data)
                    })
                    .collect()
            }
        }
    }
}

/// A stream received as one JSON array (Gemini's `streamGenerateContent` without `alt=sse`)
/// as the events tooltape keeps: one per element, its data the element's JSON. `None` when
/// `body` is not an array of objects.
pub fn events_from_json_array(body: &serde_json::Value) -> Option<Vec<SseEvent>> {
    let items = body.as_array()?;
    if items.is_empty() || !items.iter().all(serde_json::Value::is_object) {
        return None;
    }
    Some(
        items
            .iter()
            .map(|v| SseEvent::data(v.to_string()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_array_framing_joins_the_events_into_one_array() {
        let events = vec![SseEvent::data("{\"a\":1}"), SseEvent::data("{\"b\":2}")];
        let wire = StreamFraming::JsonArray.wire(&events);
        assert_eq!(wire, ["[{\"a\":1}", ",\r\n{\"b\":2}]"]);
        let whole: serde_json::Value = serde_json::from_str(&wire.concat()).unwrap();
        assert_eq!(events_from_json_array(&whole), Some(events.clone()));
        assert_eq!(StreamFraming::JsonArray.wire(&events[..1]), ["[{\"a\":1}]"]);
        assert_eq!(StreamFraming::JsonArray.wire(&[]), ["[]"]);
        assert_eq!(
            StreamFraming::Sse.wire(&events[..1]),
            ["data: {\"a\":1}\n\n"]
        );
        assert_eq!(events_from_json_array(&serde_json::json!([])), None);
        assert_eq!(events_from_json_array(&serde_json::json!([1])), None);
        assert_eq!(events_from_json_array(&serde_json::json!({})), None);
    }
}
