//! The probe: a mock that answers no model call but keeps the first one, so that a conversation
//! can be synthesized from the agent's own first request (`tooltape test --synthesize`). The
//! call is left waiting (an error reply would make SDKs retry or agents print a failure); the
//! agent is stopped once its request is in.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::oneshot;

use super::Listening;
use crate::provider::{self, Provider};

/// An agent's first model request, as the probe saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstRequest {
    /// The API it called (told from the path).
    pub provider: Provider,
    /// The request body, or why it is not JSON.
    pub body: Result<Value, String>,
    /// The model the URL names, where the API puts it there.
    pub model: Option<String>,
}

type Slot = Arc<Mutex<Option<oneshot::Sender<FirstRequest>>>>;

/// Start a probe on 127.0.0.1 (any free port). The receiver resolves with the first model call.
pub async fn start() -> std::io::Result<(Listening, oneshot::Receiver<FirstRequest>)> {
    let (tx, rx) = oneshot::channel();
    let slot: Slot = Arc::new(Mutex::new(Some(tx)));
    let app = Router::new().fallback(
        move |method: axum::http::Method, uri: axum::http::Uri, body: Bytes| {
            let slot = slot.clone();
            async move { answer(slot, method, uri, body).await }
        },
    );
    Ok((super::listen(app, 0).await?, rx))
}

async fn answer(
    slot: Slot,
    method: axum::http::Method,
    uri: axum::http::Uri,
    body: Bytes,
) -> Response {
    let Some(endpoint) = provider::route(method.as_str(), uri.path(), uri.query()) else {
        return (
            StatusCode::NOT_FOUND,
            format!("tooltape probe: no route for {uri}"),
        )
            .into_response();
    };
    let body =
        serde_json::from_slice::<Value>(&body).map_err(|e| format!("the body is not JSON: {e}"));
    let taken = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(tx) = taken {
        let _ = tx.send(FirstRequest {
            provider: endpoint.provider,
            body,
            model: endpoint.model,
        });
    }
    // The agent is stopped before this ever answers.
    std::future::pending::<Response>().await
}
