//! `tooltape mcp-stdio`: the stdio transport, as a bridge an agent spawns as its MCP server
//! command. It reads newline-delimited JSON-RPC on stdin, POSTs each message to the run's
//! Streamable HTTP endpoint (`TOOLTAPE_MCP_URL`) at once, each in its own request (so calls
//! the client sends together reach the engine together, and a client that serialises them is
//! seen doing so), and writes every response and notification back as one line on stdout.
//!
//! Cancellation: `notifications/cancelled` aborts that call's HTTP request, which the server
//! records as the call abandoned (and the notification is passed on too). When stdin closes
//! (the client's shutdown), open calls are dropped, the 2025-era session is ended with
//! `DELETE`, and the bridge exits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::http::TRANSPORT_HEADER;
use super::{Message, code, error, meta_version};

/// Why the bridge stopped.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// No URL to relay to.
    #[error(
        "no MCP URL: pass --url or set TOOLTAPE_MCP_URL (tooltape test -- CMD exports it; note that \
         MCP clients pass only a few variables to a server they spawn, so put it in the server's env)"
    )]
    NoUrl,
    /// The URL is not an http:// URL.
    #[error("--url {0:?} is not an http:// URL")]
    BadUrl(String),
    /// The HTTP client could not be made.
    #[error("cannot make the HTTP client: {0}")]
    Client(String),
    /// Reading stdin or writing stdout failed.
    #[error("stdio: {0}")]
    Io(#[from] std::io::Error),
}

/// What the bridge shares between its tasks.
struct Bridge {
    url: String,
    client: reqwest::Client,
    /// The session id the server gave on `initialize` (2025 era).
    session: Mutex<Option<String>>,
    /// The protocol version agreed on `initialize` (2025 era), sent as a header.
    version: Mutex<Option<String>>,
    /// Open requests by JSON-RPC id (as text), to abort on `notifications/cancelled`.
    open: Mutex<HashMap<String, tokio::task::AbortHandle>>,
    out: mpsc::UnboundedSender<String>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Relay `input` to `url` until `input` ends, writing answers to `output`.
pub async fn bridge(
    url: Option<String>,
    input: impl AsyncRead + Unpin,
    mut output: impl AsyncWrite + Unpin + Send + 'static,
) -> Result<(), BridgeError> {
    let url = url.filter(|u| !u.is_empty()).ok_or(BridgeError::NoUrl)?;
    if !url.starts_with("http://") {
        return Err(BridgeError::BadUrl(url));
    }
    // reqwest is built with rustls but no provider chosen (the recorder's setup); plain http
    // needs none, but the builder wants one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| BridgeError::Client(e.to_string()))?;
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        while let Some(mut line) = rx.recv().await {
            line.push('\n');
            if output.write_all(line.as_bytes()).await.is_err() || output.flush().await.is_err() {
                break;
            }
        }
    });
    let b = Arc::new(Bridge {
        url,
        client,
        session: Mutex::new(None),
        version: Mutex::new(None),
        open: Mutex::new(HashMap::new()),
        out: tx,
    });
    let mut lines = BufReader::new(input).lines();
    let mut tasks = tokio::task::JoinSet::new();
    while let Some(line) = lines.next_line().await? {
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Option<Value> = serde_json::from_str(&line).ok();
        let msg = parsed.as_ref().and_then(|v| Message::parse(v).ok());
        let mut request_id = None;
        match &msg {
            Some(Message::Notification { method, params })
                if method == "notifications/cancelled" =>
            {
                if let Some(id) = params.get("requestId")
                    && let Some(h) = lock(&b.open).remove(&id.to_string())
                {
                    h.abort();
                }
            }
            Some(Message::Request { id, .. }) => request_id = Some(id.clone()),
            _ => {}
        }
        let b2 = b.clone();
        let rid = request_id.clone();
        let handle = tasks.spawn(async move {
            relay(&b2, line, msg, rid.as_ref()).await;
            if let Some(id) = rid {
                lock(&b2.open).remove(&id.to_string());
            }
        });
        if let Some(id) = request_id {
            lock(&b.open).insert(id.to_string(), handle);
        }
        while tasks.try_join_next().is_some() {}
    }
    // stdin closed: the client is shutting down.
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    let session = lock(&b.session).take();
    if let Some(sid) = session {
        let _ = b
            .client
            .delete(&b.url)
            .header("mcp-session-id", sid)
            .send()
            .await;
    }
    drop(b);
    let _ = writer.await;
    Ok(())
}

/// POST one message and write what comes back.
async fn relay(b: &Bridge, line: String, msg: Option<Message>, id: Option<&Value>) {
    let mut req = b
        .client
        .post(&b.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header(TRANSPORT_HEADER, "stdio");
    if let Some(sid) = lock(&b.session).clone() {
        req = req.header("mcp-session-id", sid);
    }
    let mut initialize = false;
    if let Some(
        Message::Request { method, params, .. } | Message::Notification { method, params },
    ) = &msg
    {
        initialize = method == "initialize";
        let version = meta_version(params)
            .map(str::to_string)
            .or_else(|| lock(&b.version).clone());
        if let Some(v) = version {
            req = req.header("mcp-protocol-version", v);
        }
        req = req.header("mcp-method", method.as_str());
        if let Some(name) = params.get("name").and_then(Value::as_str)
            && method == "tools/call"
        {
            req = req.header("mcp-name", name);
        }
    }
    let resp = match req.body(line).send().await {
        Ok(r) => r,
        Err(e) => {
            if id.is_some() {
                let e = error(
                    id,
                    code::INTERNAL_ERROR,
                    format!("tooltape mcp-stdio: cannot reach {}: {e}", b.url),
                );
                let _ = b.out.send(e.to_string());
            }
            return;
        }
    };
    if initialize
        && let Some(sid) = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
    {
        *lock(&b.session) = Some(sid.to_string());
    }
    let status = resp.status();
    if matches!(msg, Some(Message::Notification { .. } | Message::Response)) {
        // Nothing answers a notification on stdio (an HTTP refusal of one has no id to go to).
        return;
    }
    let sse = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/event-stream"));
    if sse {
        // eventsource-stream, not the recorder's own parser: `record` sits above the transports
        // (it runs agents through `process`), and this needs no arrival times.
        use eventsource_stream::Eventsource;
        use futures_util::StreamExt;
        let mut events = resp.bytes_stream().eventsource();
        while let Some(Ok(event)) = events.next().await {
            if !event.data.is_empty() {
                emit(b, &event.data);
            }
        }
        return;
    }
    let bytes = resp.bytes().await.unwrap_or_default();
    if bytes.is_empty() {
        if id.is_some() && !status.is_success() {
            let e = error(
                id,
                code::INTERNAL_ERROR,
                format!("tooltape mcp-stdio: the server answered HTTP {status}"),
            );
            let _ = b.out.send(e.to_string());
        }
        return;
    }
    let text = String::from_utf8_lossy(&bytes);
    if initialize
        && let Ok(v) = serde_json::from_str::<Value>(&text)
        && let Some(version) = v["result"]["protocolVersion"].as_str()
    {
        *lock(&b.version) = Some(version.to_string());
    }
    emit(b, &text);
}

/// Write one JSON message as one line (re-encoded, so it holds no newline).
fn emit(b: &Bridge, text: &str) {
    let line = match serde_json::from_str::<Value>(text) {
        Ok(v) => v.to_string(),
        Err(_) => return,
    };
    let _ = b.out.send(line);
}
