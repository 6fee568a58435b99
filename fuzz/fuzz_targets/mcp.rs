//! The MCP endpoint (`/mcp`, Streamable HTTP), in-process (no socket): JSON-RPC messages
//! through the same axum service `tooltape test -- CMD` serves, for one run of a bundled
//! scenario per API.
//!
//! Byte 0 picks the API (of `Provider::ALL`: its `three_parallel` scenario). Byte 1: bits 0-1
//! the `MCP-Protocol-Version` header (none, 2025-06-18, 2025-11-25, 2026-07-28), bit 2 an
//! `Accept` of JSON and SSE (else none), bit 3 carries the `Mcp-Session-Id` the server gave
//! into later requests, bits 4-5 the method of the last request (POST, DELETE, GET, PUT). The
//! rest, split at 0xFF bytes (never in UTF-8), is up to six messages posted one after another
//! to the same run. Every response body is read to its end.
//!
//! The runtime's clock is paused, so a `tools/call` held at the barrier or a hung fake tool
//! resolves as soon as the run's policy says, in virtual time: a hang is a finding only when
//! the engine itself never lets go.
#![no_main]

mod shared;

use axum::body::Body;
use axum::http::{Method, Request};
use libfuzzer_sys::fuzz_target;
use tooltape::provider::Provider;
use tower::ServiceExt;

const VERSIONS: [Option<&str>; 4] = [
    None,
    Some("2025-06-18"),
    Some("2025-11-25"),
    Some("2026-07-28"),
];

fuzz_target!(|data: &[u8]| {
    let [p, flags, rest @ ..] = data else {
        return;
    };
    let scenario = shared::SCENARIOS[usize::from(*p) % Provider::ALL.len()].clone();
    let version = VERSIONS[usize::from(flags & 0x03)];
    let accept = flags & 0x04 != 0;
    let keep_session = flags & 0x08 != 0;
    let last_method = [Method::POST, Method::DELETE, Method::GET, Method::PUT]
        [usize::from((flags >> 4) & 0x03)]
    .clone();
    let plan = tooltape::replay::order::plans(&scenario, 42)
        .next()
        .expect("a run");
    // A fresh paused runtime per input: nothing of one input's run outlives it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let app = tooltape::server::unbound(scenario, plan, 1.0);
        let bodies: Vec<&[u8]> = rest.split(|b| *b == 0xFF).take(6).collect();
        let mut session: Option<axum::http::HeaderValue> = None;
        for (i, body) in bodies.iter().enumerate() {
            let method = if i + 1 == bodies.len() {
                last_method.clone()
            } else {
                Method::POST
            };
            let mut request = Request::builder()
                .method(method)
                .uri("/mcp")
                .header("content-type", "application/json");
            if accept {
                request = request.header("accept", "application/json, text/event-stream");
            }
            if let Some(v) = version {
                request = request.header("mcp-protocol-version", v);
            }
            if let Some(id) = &session {
                request = request.header("mcp-session-id", id.clone());
            }
            let request = request.body(Body::from(body.to_vec())).expect("a request");
            let response = app.clone().oneshot(request).await.expect("infallible");
            if keep_session && let Some(id) = response.headers().get("mcp-session-id") {
                session = Some(id.clone());
            }
            let _ = axum::body::to_bytes(response.into_body(), usize::MAX).await;
        }
    });
});
