//! Fake tools over MCP: the run's fake tools served as an MCP server, so an agent that gets its
//! tools from MCP runs unchanged (one URL or one command line differs) and is judged by the
//! same rules as one that calls the HTTP shim.
//!
//! - Streamable HTTP at `/mcp` on the mock's own port (`TOOLTAPE_MCP_URL`), in [`http`];
//! - stdio through `tooltape mcp-stdio`, a bridge the agent spawns as its server command and
//!   that relays newline-delimited JSON-RPC to that URL, in the `tooltape` crate's `mcp::stdio`.
//!
//! Both eras of the protocol are spoken: the 2025-06-18 / 2025-11-25 handshake (`initialize`,
//! `Mcp-Session-Id`, `ping`, `DELETE`) and the stateless 2026-07-28 revision (`server/discover`,
//! the version in each request's `_meta`, `resultType` on every result), told apart per request
//! the way the official SDKs tell them: a request whose `_meta` names a protocol version is
//! modern; anything else needs a session.
//!
//! Why hand-written and not `rmcp` (the official Rust SDK): a `tools/call` here must be one
//! future that the engine's barrier holds and whose drop (a closed stream, a
//! `notifications/cancelled`, a `DELETE`) the engine records as an abandoned call. rmcp's
//! Streamable HTTP service owns the session table, the per-request tasks and their
//! cancellation, and speaks the handshake era only; it would take the stateless 2026 revision,
//! the exact error answers (a call before `initialize`, an unknown session, batches, oversized
//! bodies) and the stream-close-is-cancel rule out of our hands. What we need is five methods of
//! JSON-RPC over axum, which tooltape already serves.

pub mod http;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value, json};

use crate::scenario::{Scenario, ToolSpec};

/// The handshake-era revisions `initialize` accepts, oldest first; a client asking for another
/// gets the newest.
pub const HANDSHAKE_VERSIONS: [&str; 3] = ["2025-03-26", "2025-06-18", "2025-11-25"];
/// The stateless revision.
pub const MODERN_VERSION: &str = "2026-07-28";
/// Where a 2026-07-28 request names its protocol version, in `params._meta`.
pub const VERSION_META: &str = "io.modelcontextprotocol/protocolVersion";

/// JSON-RPC and MCP error codes.
pub mod code {
    /// The body is not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Not a JSON-RPC request (a batch, no method, a wrong `jsonrpc`, ...).
    pub const INVALID_REQUEST: i64 = -32600;
    /// No such method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Bad parameters (an unknown tool, arguments that are not an object).
    pub const INVALID_PARAMS: i64 = -32602;
    /// Internal error (the bridge cannot reach tooltape).
    pub const INTERNAL_ERROR: i64 = -32603;
    /// The `Mcp-Session-Id` names no session (the official SDKs use this code).
    pub const SESSION_NOT_FOUND: i64 = -32001;
    /// A header disagrees with the body (2026-07-28).
    pub const HEADER_MISMATCH: i64 = -32020;
    /// The requested protocol version is not served (2026-07-28).
    pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
}

/// The transport labels calls carry into reports and timelines.
pub const VIA_HTTP: &str = "mcp-http";
/// See [`VIA_HTTP`].
pub const VIA_STDIO: &str = "mcp-stdio";

/// A JSON-RPC error response.
pub fn error(id: Option<&Value>, code: i64, message: impl Into<String>) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id.cloned().unwrap_or(Value::Null),
        "error": {"code": code, "message": message.into()},
    })
}

/// A JSON-RPC result response.
pub fn result(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// One incoming JSON-RPC message, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request: it gets a response.
    Request {
        /// Its id (a string or a number).
        id: Value,
        /// The method.
        method: String,
        /// The params (an empty object when absent).
        params: Map<String, Value>,
    },
    /// A notification: no response.
    Notification {
        /// The method.
        method: String,
        /// The params (an empty object when absent).
        params: Map<String, Value>,
    },
    /// A response to a request of ours (we send none; ignored).
    Response,
}

impl Message {
    /// Classify a parsed body. `Err` is the JSON-RPC error response to send back.
    pub fn parse(body: &Value) -> Result<Message, Value> {
        if body.is_array() {
            return Err(error(
                None,
                code::INVALID_REQUEST,
                "JSON-RPC batch arrays are not supported: MCP (2025-06-18 and later) sends one message at a time",
            ));
        }
        let Some(obj) = body.as_object() else {
            return Err(error(
                None,
                code::INVALID_REQUEST,
                "a JSON-RPC message must be a JSON object",
            ));
        };
        let id = obj.get("id");
        if let Some(id) = id
            && !(id.is_string() || id.is_i64() || id.is_u64())
        {
            return Err(error(
                None,
                code::INVALID_REQUEST,
                "the JSON-RPC id must be a string or an integer",
            ));
        }
        if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Err(error(
                id,
                code::INVALID_REQUEST,
                "the message lacks \"jsonrpc\": \"2.0\"",
            ));
        }
        let params = match obj.get("params") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => {
                return Err(error(
                    id,
                    code::INVALID_REQUEST,
                    "\"params\" must be an object",
                ));
            }
        };
        match (obj.get("method"), id) {
            (Some(Value::String(m)), Some(id)) => Ok(Message::Request {
                id: id.clone(),
                method: m.clone(),
                params,
            }),
            (Some(Value::String(m)), None) => Ok(Message::Notification {
                method: m.clone(),
                params,
            }),
            (Some(_), _) => Err(error(
                id,
                code::INVALID_REQUEST,
                "\"method\" must be a string",
            )),
            (None, Some(_)) if obj.contains_key("result") || obj.contains_key("error") => {
                Ok(Message::Response)
            }
            (None, _) => Err(error(
                id,
                code::INVALID_REQUEST,
                "the message has no \"method\"",
            )),
        }
    }
}

/// The protocol version a 2026-07-28 request names in its `_meta`, if it names one.
pub fn meta_version(params: &Map<String, Value>) -> Option<&str> {
    params.get("_meta")?.get(VERSION_META)?.as_str()
}

/// The entries of `tools/list`: every tool the recording's first request offered with an input
/// schema (the API's own server-side tools have none and are not the agent's to run), in the
/// request's order, with that schema; then any tool the scenario calls that the request did not
/// offer, taking any object. Side-effecting or order-dependent tools (by the scenario, or by
/// the recorded tool's own MCP annotations, read as synthesis reads them:
/// [`crate::transcript::Tool::annotated_side_effecting`]) are marked `readOnlyHint: false, destructiveHint: true`
/// (hosts such as the Claude Agent SDK run only read-only tools concurrently), the others
/// `readOnlyHint: true`.
pub fn tool_list(scenario: &Scenario) -> Vec<Value> {
    let mut tools: Vec<(&str, Value, bool)> = scenario
        .cassette
        .requests
        .first()
        .map(|r| {
            r.tools
                .iter()
                .filter_map(|t| {
                    let schema = Value::clone(t.input_schema.as_deref()?);
                    Some((t.name.as_str(), schema, t.annotated_side_effecting()))
                })
                .collect()
        })
        .unwrap_or_default();
    for c in scenario.turns.iter().flatten() {
        if !tools.iter().any(|(n, _, _)| *n == c.call.name) {
            tools.push((&c.call.name, json!({"type": "object"}), false));
        }
    }
    tools
        .into_iter()
        .map(|(name, schema, annotated)| {
            let marked = annotated
                || scenario
                    .file
                    .tools
                    .get(name)
                    .is_some_and(ToolSpec::must_not_overlap);
            let annotations = if marked {
                json!({"readOnlyHint": false, "destructiveHint": true})
            } else {
                json!({"readOnlyHint": true})
            };
            json!({"name": name, "inputSchema": schema, "annotations": annotations})
        })
        .collect()
}

/// What this server answers `initialize` and `server/discover` with.
fn server_info() -> Value {
    json!({"name": "tooltape", "version": env!("CARGO_PKG_VERSION")})
}

fn capabilities() -> Value {
    json!({"tools": {"listChanged": false}})
}

/// The `initialize` result for a client asking for `asked`.
pub fn initialize_result(asked: Option<&str>) -> Value {
    let version = asked
        .filter(|v| HANDSHAKE_VERSIONS.contains(v))
        .unwrap_or(HANDSHAKE_VERSIONS[HANDSHAKE_VERSIONS.len() - 1]);
    json!({
        "protocolVersion": version,
        "capabilities": capabilities(),
        "serverInfo": server_info(),
    })
}

/// The `server/discover` result (2026-07-28).
pub fn discover_result() -> Value {
    let mut supported: Vec<&str> = HANDSHAKE_VERSIONS.to_vec();
    supported.push(MODERN_VERSION);
    json!({
        "supportedVersions": supported,
        "capabilities": capabilities(),
        "serverInfo": server_info(),
        "ttlMs": 0,
        "cacheScope": "public",
        "resultType": "complete",
    })
}

/// The `tools/call` answer for a fake tool's answer: a result (a failure is a result with
/// `isError: true`, as MCP asks of tool errors), or, for a call the engine refuses because it
/// names no call of the open turn (or no turn is open), the JSON-RPC error to send: that is
/// the client's mistake, not a tool failure, as the HTTP shim's 4xx says.
pub fn call_answer(answer: &crate::replay::session::ToolAnswer) -> Result<Value, (i64, String)> {
    use crate::replay::session::ToolAnswer;
    let (text, failed) = match answer {
        ToolAnswer::Output(o) => (o, false),
        ToolAnswer::Failed(e) => (e, true),
        ToolAnswer::Refused { reason, .. } => return Err((code::INVALID_PARAMS, reason.clone())),
    };
    Ok(json!({"content": [{"type": "text", "text": text}], "isError": failed}))
}
