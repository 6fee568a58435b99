//! A scripted fake upstream on 127.0.0.1: answers the model requests it gets, in order, with a
//! cassette's replies from some exchange on, or given replies (plain JSON, or SSE when asked,
//! rewritten when told), and fails where told: an HTTP status, or a stream cut after two events.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::Value;
use tooltape::provider;
use tooltape::provider::{Provider, SseEvent};

/// How the n-th request fails.
#[derive(Debug, Clone, Copy)]
pub enum Fail {
    /// Answer with this status and an error body.
    Status(u16),
    /// Stream two events of the reply, then break the connection.
    Cut,
}

/// What the upstream does.
pub struct Script {
    pub provider: Provider,
    /// The replies to serve, in order.
    pub replies: Vec<Value>,
    /// Request `n` (0-based) fails like this.
    pub fail_at: Option<(usize, Fail)>,
    pub served: AtomicUsize,
    /// Wait this long before the second stream event.
    pub pause_ms: u64,
    /// Change a stream's events before they are sent (to send data no provider would write).
    pub rewrite: Option<fn(Vec<SseEvent>) -> Vec<SseEvent>>,
}

impl Script {
    /// Serve `cassette`'s replies from exchange `from` on.
    pub fn from_cassette(
        cassette: &tooltape::cassette::LoadedCassette,
        from: usize,
        fail_at: Option<(usize, Fail)>,
    ) -> Self {
        Script::new(
            cassette.provider(),
            cassette.reply_bodies[from..].to_vec(),
            fail_at,
        )
    }

    /// Serve `replies` in order.
    pub fn new(provider: Provider, replies: Vec<Value>, fail_at: Option<(usize, Fail)>) -> Self {
        Script {
            provider,
            replies,
            fail_at,
            served: AtomicUsize::new(0),
            pause_ms: 0,
            rewrite: None,
        }
    }
}

/// A running fake upstream.
pub struct Upstream {
    pub addr: SocketAddr,
    pub script: Arc<Script>,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many model requests it got.
    pub fn served(&self) -> usize {
        self.script.served.load(Ordering::SeqCst)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn start(script: Script) -> Upstream {
    let script = Arc::new(script);
    let app = Router::new().fallback(answer).with_state(script.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Upstream { addr, script, task }
}

async fn answer(State(s): State<Arc<Script>>, body: Bytes) -> Response {
    let n = s.served.fetch_add(1, Ordering::SeqCst);
    let fmt = provider::format(s.provider);
    let stream = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("stream").and_then(Value::as_bool))
        == Some(true);
    let fail = s.fail_at.filter(|(at, _)| *at == n).map(|(_, f)| f);
    if let Some(Fail::Status(code)) = fail {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, axum::Json(fmt.error_body("scripted failure"))).into_response();
    }
    let Some(reply) = s.replies.get(n) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(fmt.error_body("the script has no more replies")),
        )
            .into_response();
    };
    if !stream && fail.is_none() {
        return (StatusCode::OK, axum::Json(reply.clone())).into_response();
    }
    let mut events = fmt.stream_from_reply(reply).expect("a streamable reply");
    if let Some(rewrite) = s.rewrite {
        events = rewrite(events);
    }
    let cut = matches!(fail, Some(Fail::Cut));
    let pause_ms = s.pause_ms;
    let frames: Vec<Result<Bytes, std::io::Error>> = events
        .iter()
        .enumerate()
        .map_while(|(i, e)| match (cut, i) {
            (true, 2) => Some(Err(std::io::Error::other("scripted cut"))),
            (true, 3..) => None,
            _ => Some(Ok(Bytes::from(e.to_wire()))),
        })
        .collect();
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        // A break comes a moment after the first events, so they reach the client first.
        .body(Body::from_stream(
            futures_util::stream::iter(frames.into_iter().enumerate()).then(
                move |(i, f)| async move {
                    if f.is_err() {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    } else if i == 1 && pause_ms > 0 {
                        tokio::time::sleep(Duration::from_millis(pause_ms)).await;
                    }
                    f
                },
            ),
        ))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
