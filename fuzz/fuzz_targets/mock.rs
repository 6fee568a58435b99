//! The mock's request path, in-process (no socket): request bodies through the same axum
//! service `tooltape test -- CMD` serves, for one run of a bundled scenario per API.
//!
//! Byte 0 picks the API (of `Provider::ALL`: its `three_parallel` scenario), byte 1 the route
//! variant (Gemini: `generateContent`, `streamGenerateContent?alt=sse` or the JSON-array
//! stream; bit 0x40 adds `x-stainless-retry-count: 1`; bit 0x80 posts to the next API's route
//! instead, the wrong API for the scenario). The rest, split at 0xFF bytes (never in UTF-8),
//! is up to four request bodies posted one after another to the same run, so later turns are
//! reachable. Every response body is read to its end.
#![no_main]

mod shared;

use std::sync::LazyLock;

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use tooltape::provider::Provider;
use tower::ServiceExt;

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime")
});

/// The model routes of an API, by its name.
fn routes(provider: Provider) -> &'static [&'static str] {
    match provider.as_str() {
        "anthropic" => &["/v1/messages", "/messages"],
        "openai-chat" => &["/v1/chat/completions", "/chat/completions"],
        "openai-responses" => &["/v1/responses", "/responses"],
        _ => &[
            "/v1beta/models/gemini-3-flash-preview:generateContent",
            "/v1beta/models/gemini-3-flash-preview:streamGenerateContent?alt=sse",
            "/v1beta/models/gemini-3-flash-preview:streamGenerateContent",
        ],
    }
}

fuzz_target!(|data: &[u8]| {
    let [p, variant, rest @ ..] = data else {
        return;
    };
    let n = Provider::ALL.len();
    let index = usize::from(*p) % n;
    let scenario = shared::SCENARIOS[index].clone();
    let route_of = if variant & 0x80 != 0 {
        Provider::ALL[(index + 1) % n]
    } else {
        Provider::ALL[index]
    };
    let paths = routes(route_of);
    let path = paths[usize::from(variant & 0x3f) % paths.len()];
    let retry = variant & 0x40 != 0;
    let plan = tooltape::replay::order::plans(&scenario, 42)
        .next()
        .expect("a run");
    RUNTIME.block_on(async move {
        let app = tooltape::server::unbound(scenario, plan, 0.0);
        for body in rest.split(|b| *b == 0xFF).take(4) {
            let mut request = Request::post(path).header("content-type", "application/json");
            if retry {
                request = request.header("x-stainless-retry-count", "1");
            }
            let request = request.body(Body::from(body.to_vec())).expect("a request");
            let response = app.clone().oneshot(request).await.expect("infallible");
            let _ = axum::body::to_bytes(response.into_body(), usize::MAX).await;
        }
    });
});
