//! MCP over Streamable HTTP: `POST /mcp` carries one JSON-RPC message, answered with JSON (or
//! an SSE stream when the call asks for progress or the client accepts only a stream);
//! `DELETE /mcp` ends a 2025-era session; `GET /mcp` is 405 (no server-initiated stream).
//!
//! A `tools/call` is one future that goes through [`Session::tool_call`] with the transport's
//! label: the engine holds it at the barrier, releases it in the run's completion order, and
//! records it abandoned when the future is dropped: when the client closes the connection or
//! the stream (2026-07-28's cancel), sends `notifications/cancelled` (2025) or `DELETE`s its
//! session.

use std::collections::HashMap;
use std::convert::Infallible;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use futures_util::StreamExt;
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use super::{Message, code, error, meta_version, result};
use crate::replay::session::Session;

/// The path the MCP endpoint is served at (`TOOLTAPE_MCP_URL` ends with it).
pub const PATH: &str = "/mcp";
/// The largest request body read, 16 MiB: a 10 MB argument still goes through to the engine
/// (which judges it like any other input); anything larger gets a JSON-RPC error, not a
/// dropped connection.
pub const BODY_LIMIT: usize = 16 << 20;
/// At most this many 2025-era sessions live at once; `initialize` beyond it is refused (an
/// agent opening sessions in a loop must not grow the table without bound).
pub const MAX_SESSIONS: usize = 4096;
/// The header the stdio bridge adds, so its calls are labelled `mcp-stdio` in reports.
pub const TRANSPORT_HEADER: &str = "x-tooltape-transport";

const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";
const METHOD_HEADER: &str = "mcp-method";
const NAME_HEADER: &str = "mcp-name";

/// The MCP endpoint's state for one run.
pub(crate) struct McpState {
    session: Arc<Session>,
    /// The scenario's tools (`super::tool_list`), made once for all its runs.
    tools: Arc<[Value]>,
    /// 2025-era sessions: id -> the version agreed.
    sessions: Mutex<HashMap<String, String>>,
    /// Open `tools/call`s that `notifications/cancelled` or `DELETE` may cancel, by
    /// (session id, JSON-RPC id as text).
    cancels: Mutex<HashMap<(String, String), oneshot::Sender<()>>>,
    ids: RandomState,
    next: AtomicU64,
}

/// The router serving `/mcp` for `session`; `tools` is `super::tool_list` of the session's
/// scenario. (The mock merges [`routes`] into its own instead.)
#[cfg(test)]
pub(crate) fn router(session: Arc<Session>, tools: Arc<[Value]>) -> Router {
    routes().with_state(state(session, tools))
}

/// The route serving `/mcp`, to merge into the mock's before its state is given: built once,
/// then given each run's state (`Router::with_state`), which is far cheaper than building it.
pub(crate) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<McpState>: FromRef<S>,
{
    Router::new().route(PATH, any(endpoint))
}

/// The MCP endpoint's state for a run of `session`; `tools` as for [`router`].
pub(crate) fn state(session: Arc<Session>, tools: Arc<[Value]>) -> Arc<McpState> {
    Arc::new(McpState {
        session,
        tools,
        sessions: Mutex::new(HashMap::new()),
        cancels: Mutex::new(HashMap::new()),
        ids: RandomState::new(),
        next: AtomicU64::new(1),
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn json_reply(status: StatusCode, body: &Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn endpoint(
    State(s): State<Arc<McpState>>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Some(origin) = headers.get(header::ORIGIN)
        && !local_origin(origin)
    {
        return json_reply(
            StatusCode::FORBIDDEN,
            &error(
                None,
                code::INVALID_REQUEST,
                "tooltape MCP: requests from another origin are refused",
            ),
        );
    }
    match method {
        Method::POST => post(s, headers, body).await,
        Method::DELETE => delete(&s, &headers),
        _ => {
            let mut r = json_reply(
                StatusCode::METHOD_NOT_ALLOWED,
                &error(
                    None,
                    code::INVALID_REQUEST,
                    "tooltape MCP: only POST and DELETE are served (no server-initiated stream)",
                ),
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST, DELETE"));
            r
        }
    }
}

/// DNS rebinding protection: a browser page may only reach the endpoint from loopback.
fn local_origin(origin: &HeaderValue) -> bool {
    let o = origin.to_str().unwrap_or("");
    let host = o.split("://").nth(1).unwrap_or(o);
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    matches!(host, "localhost" | "127.0.0.1" | "[::1]") || o == "null"
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn delete(s: &McpState, headers: &HeaderMap) -> Response {
    let Some(id) = header(headers, SESSION_HEADER) else {
        return json_reply(
            StatusCode::BAD_REQUEST,
            &error(
                None,
                code::INVALID_REQUEST,
                "DELETE needs the Mcp-Session-Id of the session to end",
            ),
        );
    };
    if lock(&s.sessions).remove(id).is_none() {
        return unknown_session(None, id);
    }
    // Ending a session cancels its open calls (dropping the sender wakes them).
    lock(&s.cancels).retain(|(session, _), _| session != id);
    StatusCode::OK.into_response()
}

fn unknown_session(id: Option<&Value>, session: &str) -> Response {
    json_reply(
        StatusCode::NOT_FOUND,
        &error(
            id,
            code::SESSION_NOT_FOUND,
            format!(
                "Session not found: no MCP session {session:?} (it was ended, or never began): send initialize again"
            ),
        ),
    )
}

/// Which era a request belongs to.
enum Era {
    /// 2025: a session made by `initialize`.
    Session(String),
    /// 2026-07-28: stateless.
    Modern,
}

async fn post(s: Arc<McpState>, headers: HeaderMap, body: Body) -> Response {
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(e) => {
            return json_reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                &error(
                    None,
                    code::INVALID_REQUEST,
                    format!(
                        "tooltape MCP: the request body could not be read whole (at most {} MiB): {e}",
                        BODY_LIMIT >> 20
                    ),
                ),
            );
        }
    };
    let parsed: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return json_reply(
                StatusCode::BAD_REQUEST,
                &error(
                    None,
                    code::PARSE_ERROR,
                    format!("Parse error: the body is not JSON: {e}"),
                ),
            );
        }
    };
    let msg = match Message::parse(&parsed) {
        Ok(m) => m,
        Err(e) => return json_reply(StatusCode::BAD_REQUEST, &e),
    };
    let (id, method, params) = match msg {
        Message::Response => return StatusCode::ACCEPTED.into_response(),
        Message::Notification { method, params } => (None, method, params),
        Message::Request { id, method, params } => (Some(id), method, params),
    };
    let era = match era(&s, &headers, id.as_ref(), &method, &params) {
        Ok(e) => e,
        Err(r) => return *r,
    };
    let Some(id) = id else {
        notification(&s, &era, &method, &params);
        return StatusCode::ACCEPTED.into_response();
    };
    let modern = matches!(era, Era::Modern);
    let answer = match method.as_str() {
        "initialize" => {
            let asked = params.get("protocolVersion").and_then(Value::as_str);
            let init = super::initialize_result(asked);
            let version = init["protocolVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let session = {
                let mut sessions = lock(&s.sessions);
                if sessions.len() >= MAX_SESSIONS {
                    return json_reply(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &error(
                            Some(&id),
                            code::INTERNAL_ERROR,
                            format!(
                                "tooltape MCP: {MAX_SESSIONS} sessions are open; end some with DELETE first"
                            ),
                        ),
                    );
                }
                let n = s.next.fetch_add(1, Ordering::Relaxed);
                let sid = format!("{:016x}{:016x}", s.ids.hash_one(n), s.ids.hash_one(!n));
                sessions.insert(sid.clone(), version);
                sid
            };
            let mut r = json_reply(StatusCode::OK, &result(&id, init));
            if let Ok(v) = HeaderValue::from_str(&session) {
                r.headers_mut().insert(SESSION_HEADER, v);
            }
            return r;
        }
        "server/discover" => Ok(super::discover_result()),
        "ping" if !modern => Ok(json!({})),
        "tools/list" => {
            let mut r = json!({"tools": &s.tools[..]});
            if modern {
                r["ttlMs"] = json!(0);
                r["cacheScope"] = json!("public");
            }
            Ok(r)
        }
        "tools/call" => return call(s, era, id, params, &headers).await,
        other => Err((
            code::METHOD_NOT_FOUND,
            format!("Method not found: {other} (tooltape serves tools only)"),
        )),
    };
    match answer {
        Ok(mut r) => {
            if modern {
                r["resultType"] = json!("complete");
            }
            json_reply(StatusCode::OK, &result(&id, r))
        }
        Err((c, m)) => {
            // 2026-07-28: an unknown method is a 404.
            let status = if modern && c == code::METHOD_NOT_FOUND {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            };
            json_reply(status, &error(Some(&id), c, m))
        }
    }
}

/// Tell the era of a message, checking what each era requires. `Err` is the answer to send
/// (boxed: a `Response` is large and this is the cold path).
fn era(
    s: &McpState,
    headers: &HeaderMap,
    id: Option<&Value>,
    method: &str,
    params: &Map<String, Value>,
) -> Result<Era, Box<Response>> {
    let bad =
        |status: StatusCode, c: i64, m: String| Box::new(json_reply(status, &error(id, c, m)));
    if let Some(version) = meta_version(params) {
        if version != super::MODERN_VERSION {
            let mut supported: Vec<&str> = super::HANDSHAKE_VERSIONS.to_vec();
            supported.push(super::MODERN_VERSION);
            let mut e = error(
                id,
                code::UNSUPPORTED_PROTOCOL_VERSION,
                format!("Unsupported protocol version {version:?}"),
            );
            e["error"]["data"] = json!({"supported": supported, "requested": version});
            return Err(Box::new(json_reply(StatusCode::BAD_REQUEST, &e)));
        }
        // Each routing header, when sent, must say what the body says.
        let checks = [
            (
                VERSION_HEADER,
                "MCP-Protocol-Version",
                Some(version),
                "_meta's version",
            ),
            (
                METHOD_HEADER,
                "Mcp-Method",
                Some(method),
                "the body's method",
            ),
            (
                NAME_HEADER,
                "Mcp-Name",
                params.get("name").and_then(Value::as_str),
                "the body's name",
            ),
        ];
        for (name, shown, body, what) in checks {
            if let (Some(h), Some(want)) = (header(headers, name), body)
                && h != want
            {
                return Err(bad(
                    StatusCode::BAD_REQUEST,
                    code::HEADER_MISMATCH,
                    format!("{shown} header {h:?} differs from {what} {want:?}"),
                ));
            }
        }
        return Ok(Era::Modern);
    }
    if method == "initialize" || method == "server/discover" {
        // A discover probe without _meta still gets its answer; initialize makes a session.
        return Ok(Era::Session(String::new()));
    }
    match header(headers, SESSION_HEADER) {
        Some(sid) if lock(&s.sessions).contains_key(sid) => Ok(Era::Session(sid.to_string())),
        Some(sid) => Err(Box::new(unknown_session(id, sid))),
        None => Err(bad(
            StatusCode::BAD_REQUEST,
            code::INVALID_REQUEST,
            format!(
                "Bad Request: {method} before initialize: no Mcp-Session-Id header, and no protocol version in params._meta[{:?}] (2026-07-28)",
                super::VERSION_META
            ),
        )),
    }
}

fn notification(s: &McpState, era: &Era, method: &str, params: &Map<String, Value>) {
    if method != "notifications/cancelled" {
        return; // notifications/initialized and the rest need nothing
    }
    let (Era::Session(sid), Some(request)) = (era, params.get("requestId")) else {
        return;
    };
    // Dropping the sender wakes the call, which then drops its engine future.
    lock(&s.cancels).remove(&(sid.clone(), request.to_string()));
}

/// Removes a call's cancel entry when the call ends any way.
struct Registered<'a> {
    s: &'a McpState,
    key: Option<(String, String)>,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            lock(&self.s.cancels).remove(&k);
        }
    }
}

async fn call(
    s: Arc<McpState>,
    era: Era,
    id: Value,
    params: Map<String, Value>,
    headers: &HeaderMap,
) -> Response {
    let modern = matches!(era, Era::Modern);
    let invalid =
        |m: String| json_reply(StatusCode::OK, &error(Some(&id), code::INVALID_PARAMS, m));
    let Some(name) = params
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return invalid("tools/call needs params.name, a string".into());
    };
    if !s.tools.iter().any(|t| t["name"] == name.as_str()) {
        return invalid(format!("Unknown tool: {name}"));
    }
    let input = match params.get("arguments") {
        None | Some(Value::Null) => json!({}),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => return invalid("tools/call params.arguments must be an object".into()),
    };
    let via = if header(headers, TRANSPORT_HEADER) == Some("stdio") {
        super::VIA_STDIO
    } else {
        super::VIA_HTTP
    };
    let progress = params
        .get("_meta")
        .and_then(|m| m.get("progressToken"))
        .filter(|t| t.is_string() || t.is_i64() || t.is_u64())
        .cloned();
    let stream_only = header(headers, header::ACCEPT.as_str())
        .is_some_and(|a| a.contains("text/event-stream") && !a.contains("application/json"));
    let (tx, rx) = oneshot::channel::<()>();
    // 2025: the sender waits in the table for a cancel; 2026 has none (closing the stream is
    // the cancel), so the call keeps its own sender alive.
    let (key, _own) = match &era {
        Era::Session(sid) => {
            let k = (sid.clone(), id.to_string());
            lock(&s.cancels).insert(k.clone(), tx);
            (Some(k), None)
        }
        Era::Modern => (None, Some(tx)),
    };
    let work = {
        let s = s.clone();
        let id = id.clone();
        async move {
            let _own = _own;
            let _registered = Registered { s: &s, key };
            tokio::select! {
                answer = s.session.tool_call(&name, &input, via) => {
                    Some(match super::call_answer(&answer) {
                        Ok(mut r) => {
                            if modern {
                                r["resultType"] = json!("complete");
                            }
                            result(&id, r)
                        }
                        Err((c, m)) => error(Some(&id), c, m),
                    })
                }
                // Cancelled: the engine's future is dropped here (recorded as abandoned); the
                // client expects no response to a cancelled request.
                _ = rx => None,
            }
        }
    };
    if progress.is_none() && !stream_only {
        return match work.await {
            Some(r) => json_reply(StatusCode::OK, &r),
            // Cancelled: no response is due (202, as for a notification).
            None => StatusCode::ACCEPTED.into_response(),
        };
    }
    // A stream: a progress notification when the call starts and when it ends, then the
    // response. Dropping the body (the client closed it) drops `work`, cancelling the call.
    let note = |p: u32| {
        progress.as_ref().map(|t| {
            json!({"jsonrpc": "2.0", "method": "notifications/progress",
                   "params": {"progressToken": t, "progress": p, "total": 1}})
        })
    };
    let (first, last) = (note(0), note(1));
    let events = futures_util::stream::iter(first)
        .chain(futures_util::stream::once(work).flat_map(move |r| {
            futures_util::stream::iter(
                r.map(|r| [last.clone(), Some(r)])
                    .into_iter()
                    .flatten()
                    .flatten(),
            )
        }))
        .map(|v| Ok::<_, Infallible>(Bytes::from(format!("event: message\ndata: {v}\n\n"))));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .header("x-accel-buffering", "no")
        .body(Body::from_stream(events))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
