//! The provider-neutral model of a conversation: messages made of text, tool calls and tool
//! results, the request a handler sends and the reply the model gives.
//!
//! Every provider module parses its native JSON into these types (see [`crate::provider`]).
//! The rules only ever look at these types, so one rule serves every API.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// One tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The id the result must carry (`toolu_…`, `call_…`; for Responses the `call_id`).
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The call's input. OpenAI sends arguments as a JSON string: it is parsed here; a string
    /// that is not valid JSON is kept as a `Value::String` holding the raw text.
    pub input: Value,
}

/// One tool result a handler sent back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    /// The call id the result claims to answer.
    pub call_id: String,
    /// The result's text (content blocks flattened: text parts joined by newlines, other
    /// parts as their JSON).
    pub content: String,
    /// The provider's error flag, where it has one (Anthropic `is_error`); `None` when absent.
    pub is_error: Option<bool>,
}

/// Who a message is from, in the neutral model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// System or developer instructions.
    System,
    /// The user (in Anthropic this also carries tool results).
    User,
    /// The model.
    Assistant,
    /// Tool results (OpenAI `role: "tool"` messages and Responses `function_call_output` items).
    Tool,
}

/// A piece of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Plain text.
    Text(String),
    /// A tool call (assistant messages).
    Call(ToolCall),
    /// A tool result.
    Result(ToolResult),
    /// Anything else (images, thinking blocks, reasoning items, ...), kept as its JSON.
    Other(Value),
}

/// One message of a conversation in the neutral model.
///
/// Providers that spread one logical message over several wire entries are grouped here: a run
/// of OpenAI Chat `tool` messages is one `Role::Tool` message; a run of Responses output items
/// (`reasoning`, `function_call`, assistant `message`) is one `Role::Assistant` message and a run
/// of `function_call_output` items one `Role::Tool` message. With that grouping the ordering
/// rules read the same for every provider: the assistant turn, then one message of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who the message is from.
    pub role: Role,
    /// Its parts, in order.
    pub parts: Vec<Part>,
    /// Index of the first wire entry (in `messages` / `input`) this message came from.
    pub wire_index: usize,
    /// How many wire entries were grouped into this message.
    pub wire_len: usize,
}

impl Message {
    /// The tool calls in this message.
    pub fn calls(&self) -> impl Iterator<Item = &ToolCall> {
        self.parts.iter().filter_map(|p| match p {
            Part::Call(c) => Some(c),
            _ => None,
        })
    }

    /// The tool results in this message.
    pub fn results(&self) -> impl Iterator<Item = &ToolResult> {
        self.parts.iter().filter_map(|p| match p {
            Part::Result(r) => Some(r),
            _ => None,
        })
    }

    /// Whether the message holds at least one tool result.
    pub fn has_results(&self) -> bool {
        self.results().next().is_some()
    }
}

/// A request a handler sent to the model, parsed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The conversation, system text first when the provider keeps it apart (Anthropic `system`,
    /// Responses `instructions`).
    pub messages: Vec<Message>,
    /// The tools offered, in the request's order (the API's own server-side tools included,
    /// without a schema).
    pub tools: Vec<Tool>,
    /// Whether parallel tool calls are disabled (Anthropic
    /// `tool_choice.disable_parallel_tool_use`, OpenAI `parallel_tool_calls: false`). Gemini has
    /// no such switch: its requests always count as disabled, as there is nothing to set.
    pub parallel_disabled: bool,
    /// Whether the handler asked for a stream.
    pub stream: bool,
    /// Responses only: the stored response this request continues.
    pub previous_response_id: Option<String>,
    /// The model named in the request.
    pub model: Option<String>,
}

impl Request {
    /// The names of the tools offered.
    pub fn tool_names(&self) -> Vec<String> {
        self.tools.iter().map(|t| t.name.clone()).collect()
    }

    /// The tool of this name, when the request offers it.
    pub fn tool(&self, name: &str) -> Option<&Tool> {
        self.tools.iter().find(|t| t.name == name)
    }
}

/// A tool a request offers the model, in the neutral model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// The tool's name.
    pub name: String,
    /// The JSON Schema of its input (an API's own schema dialect, such as Gemini's OpenAPI
    /// `parameters`, converted). `None` for a tool that takes no JSON input: the API's own
    /// server-side tools, free-text (grammar) tools. Shared: a replay parses the same tools
    /// from every request of every run, and [`crate::provider::Format::parse_request_sharing`]
    /// reuses a known tool's schema when the request's is the same JSON (copying each schema
    /// per request was a tenth of an in-process run's copying).
    pub input_schema: Option<Arc<Value>>,
    /// Whether the request asks the API to hold the model's calls to the schema exactly
    /// (OpenAI `strict`, Anthropic `strict`).
    pub strict: bool,
    /// MCP-style hints (`readOnlyHint`, `destructiveHint`, ...), when the tool entry carries
    /// an `annotations` object (as MCP tools do).
    pub annotations: Option<Value>,
}

impl Tool {
    /// A tool known only by its name.
    pub fn named(name: impl Into<String>) -> Tool {
        Tool {
            name: name.into(),
            input_schema: None,
            strict: false,
            annotations: None,
        }
    }

    /// Whether the tool's own MCP annotations say it has side effects (`destructiveHint: true`
    /// or `readOnlyHint: false`). Synthesis and the MCP server's `tools/list` both read it.
    pub fn annotated_side_effecting(&self) -> bool {
        let hint = |k: &str| {
            self.annotations
                .as_ref()
                .and_then(|a| a.get(k))
                .and_then(Value::as_bool)
        };
        hint("destructiveHint") == Some(true) || hint("readOnlyHint") == Some(false)
    }
}

impl From<&str> for Tool {
    fn from(name: &str) -> Tool {
        Tool::named(name)
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model wants tool results (Anthropic `tool_use`, OpenAI `tool_calls`, or Responses
    /// output holding `function_call` items).
    ToolUse,
    /// The model finished its answer.
    EndTurn,
    /// Anything else, as the provider spelled it.
    Other(String),
}

/// A model reply, parsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The reply's id (`msg_…`, `chatcmpl-…`, `resp_…`).
    pub id: Option<String>,
    /// The reply as it must appear in the next request's history (the assistant turn).
    pub message: Message,
    /// Why the model stopped.
    pub stop: StopReason,
}

impl Reply {
    /// The tool calls of the reply, in the order the model gave them.
    pub fn calls(&self) -> Vec<&ToolCall> {
        self.message.calls().collect()
    }

    /// Whether the model asked for tools.
    pub fn wants_tools(&self) -> bool {
        self.message.calls().next().is_some()
    }
}
