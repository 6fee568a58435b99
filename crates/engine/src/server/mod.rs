//! The mock model API and the fake-tool endpoint, for agents in any language.
//!
//! One server serves one run (one [`Session`]): Anthropic `POST /v1/messages` (and
//! `/messages`, as `@ai-sdk/anthropic` posts there), OpenAI `POST /v1/chat/completions` and
//! `POST /v1/responses`, plain JSON or SSE when the request says `"stream": true`, Gemini
//! `POST /v1beta/models/{model}:generateContent` and `:streamGenerateContent` (the URL says
//! stream, and with `alt=sse` SSE, else a JSON array), and `POST /_tools/NAME` for the fake
//! tools, and `/mcp` for the same tools over MCP ([`crate::mcp`]). It binds 127.0.0.1 only.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::StreamExt;
use serde_json::{Value, json};

mod port;
pub mod probe;

use crate::provider::Provider;
use crate::provider::{self, SseEvent, StreamFraming};
use crate::replay::session::{Prepared, Session, ToolAnswer};

/// A running mock server.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    streaming: Arc<std::sync::atomic::AtomicUsize>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// The environment a command under test is started with (PRODUCT.md): every API's base
    /// URL variables pointing here, placeholder keys, and the fake-tool endpoint.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        env_for(self.addr)
    }

    /// Variables taken out of the environment of a command under test: credentials and base
    /// URLs the SDKs would prefer to the ones set here.
    pub fn env_remove() -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for p in Provider::ALL {
            for v in p.format().env_remove() {
                if !out.contains(v) {
                    out.push(v);
                }
            }
        }
        out
    }

    /// Wait until no streamed reply is still being sent (at most `limit`).
    pub async fn drained(&self, limit: Duration) {
        let until = tokio::time::Instant::now() + limit;
        while self.streaming.load(std::sync::atomic::Ordering::SeqCst) > 0
            && tokio::time::Instant::now() < until
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stop serving and wait for the server task.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // Open tool requests (a hung call) would hold a graceful shutdown forever.
        self.task.abort();
        let _ = self.task.await;
    }
}

/// The environment of a command under test for a server at `addr` (see [`Server::env_vars`]).
pub(crate) fn env_for(addr: SocketAddr) -> Vec<(String, String)> {
    let base = format!("http://{addr}");
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut add = |k: &str, v: String| {
        if !vars.iter().any(|(name, _)| name == k) {
            vars.push((k.to_string(), v));
        }
    };
    for p in Provider::ALL {
        let fmt = p.format();
        for (k, v) in fmt.base_url_env(&base) {
            add(k, v);
        }
    }
    for p in Provider::ALL {
        for (k, v) in p.format().key_env() {
            add(k, v.to_string());
        }
    }
    add("TOOLTAPE_TOOLS_URL", format!("{base}/_tools"));
    add(
        "TOOLTAPE_MCP_URL",
        format!("{base}{}", crate::mcp::http::PATH),
    );
    vars
}

struct AppState {
    session: Arc<Session>,
    /// `MockScenario::replies` of the session's scenario.
    replies: Arc<[Bytes]>,
    /// Last model request body and the response it got, to answer SDK retries identically.
    last: Mutex<Option<(Bytes, CachedResponse)>>,
    time_scale: f64,
    /// Streamed replies still being sent.
    streaming: Arc<std::sync::atomic::AtomicUsize>,
}

/// Counts a streamed reply as in flight until its body is sent or dropped.
struct Streaming(Arc<std::sync::atomic::AtomicUsize>);

impl Streaming {
    fn start(counter: &Arc<std::sync::atomic::AtomicUsize>) -> Streaming {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Streaming(counter.clone())
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[derive(Clone)]
enum CachedResponse {
    /// A JSON body, serialised.
    Json(StatusCode, Bytes),
    Stream(Vec<SseEvent>, StreamFraming),
}

/// What every run of one scenario served by the mock shares, made once for all its runs (the
/// in-process runs share the same, `handler::run_scenario`): the engine's per-scenario
/// preparation (each call's tag and tagged answer, the side-effecting tools, the cache of drift
/// notes, whose schema check compiles a validator per tool) and the MCP tool list. Each run
/// still gets a fresh server and session: nothing a run changes is shared.
#[derive(Clone)]
pub struct MockScenario {
    scenario: Arc<crate::scenario::Scenario>,
    prepared: Arc<Prepared>,
    mcp_tools: Arc<[Value]>,
    /// Each recorded reply body serialised, by exchange: what a plain-JSON reply sends.
    replies: Arc<[Bytes]>,
    /// The mock's routes, each run's state not yet given (building them costs more than a
    /// model request).
    routes: Router<RunState>,
}

impl MockScenario {
    /// Prepare `scenario` for its runs.
    pub fn new(scenario: Arc<crate::scenario::Scenario>) -> MockScenario {
        MockScenario {
            prepared: Arc::new(Prepared::of(&scenario)),
            mcp_tools: crate::mcp::tool_list(&scenario).into(),
            replies: scenario
                .cassette
                .reply_bodies
                .iter()
                .map(json_bytes)
                .collect(),
            routes: routes(),
            scenario,
        }
    }

    /// The scenario.
    pub fn scenario(&self) -> &Arc<crate::scenario::Scenario> {
        &self.scenario
    }

    /// A session for one run on the real clock (the barrier window: the scenario's `grace_ms`
    /// or 2 s).
    pub(crate) fn session(&self, plan: crate::replay::RunPlan, time_scale: f64) -> Arc<Session> {
        let grace = self.scenario.file.policy.real_grace();
        Session::prepared(
            self.scenario.clone(),
            self.prepared.clone(),
            plan,
            grace,
            time_scale,
        )
    }

    /// Serve one run on 127.0.0.1:`port` (0: any free port): see [`MockRun::start`].
    pub async fn start(
        &self,
        plan: crate::replay::RunPlan,
        port: u16,
        time_scale: f64,
    ) -> std::io::Result<MockRun> {
        let session = self.session(plan, time_scale);
        let server = start(session.clone(), self, port, time_scale).await?;
        Ok(MockRun { session, server })
    }
}

/// Start a server for `session` (a run of `mock`'s scenario) on 127.0.0.1:`port` (0: any free
/// port).
pub(crate) async fn start(
    session: Arc<Session>,
    mock: &MockScenario,
    port: u16,
    time_scale: f64,
) -> std::io::Result<Server> {
    // A server runs on the real clock with tokio's I/O driver: fake tools may wait precisely.
    session.use_precise_timer();
    let streaming = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let state = Arc::new(AppState {
        session,
        replies: mock.replies.clone(),
        last: Mutex::new(None),
        time_scale,
        streaming: streaming.clone(),
    });
    let run = RunState::new(state, mock.mcp_tools.clone());
    let (addr, tx, task) = listen(mock.routes.clone().with_state(run), port).await?;
    Ok(Server {
        addr,
        streaming,
        shutdown: Some(tx),
        task,
    })
}

/// What one run's routes read: the mock's state and MCP's, for the same session.
#[derive(Clone)]
struct RunState {
    app: Arc<AppState>,
    mcp: Arc<crate::mcp::http::McpState>,
}

impl RunState {
    fn new(app: Arc<AppState>, mcp_tools: Arc<[Value]>) -> RunState {
        let mcp = crate::mcp::http::state(app.session.clone(), mcp_tools);
        RunState { app, mcp }
    }
}

impl axum::extract::FromRef<RunState> for Arc<AppState> {
    fn from_ref(run: &RunState) -> Self {
        run.app.clone()
    }
}

impl axum::extract::FromRef<RunState> for Arc<crate::mcp::http::McpState> {
    fn from_ref(run: &RunState) -> Self {
        run.mcp.clone()
    }
}

/// The mock's routes, to be given a run's state: what [`start`] serves.
fn routes() -> Router<RunState> {
    // Model calls are routed by the providers themselves (`provider::route`): each API knows
    // its own paths, and some (Gemini) put the model and the stream choice in the URL.
    Router::new()
        .route("/_tools/{name}", post(tool))
        .fallback(dispatch)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        // The same run's fake tools over MCP (`TOOLTAPE_MCP_URL`), on the same port. MCP
        // reads its bodies itself, under its own cap (`mcp::http::BODY_LIMIT`).
        .merge(crate::mcp::http::routes())
}

/// The mock of one run of `scenario`, as the service [`MockRun::start`] serves, without a
/// socket: for driving the request path in-process (the fuzz targets in `fuzz/` do). Not a
/// stable API. Must be called inside a tokio runtime.
#[doc(hidden)]
pub fn unbound(
    scenario: Arc<crate::scenario::Scenario>,
    plan: crate::replay::RunPlan,
    time_scale: f64,
) -> Router {
    let mock = MockScenario::new(scenario);
    let session = mock.session(plan, time_scale);
    let app = Arc::new(AppState {
        session,
        replies: mock.replies.clone(),
        last: Mutex::new(None),
        time_scale,
        streaming: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
    });
    mock.routes.with_state(RunState::new(app, mock.mcp_tools))
}

/// A running axum app on 127.0.0.1: its address, the sender that shuts it down gracefully,
/// and its task.
pub(crate) type Listening = (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
);

/// Serve `app` on 127.0.0.1:`port` (0: any free port, see [`port::bind`]), loopback only.
#[doc(hidden)] // for the `tooltape` crate
pub async fn listen(app: Router, port: u16) -> std::io::Result<Listening> {
    let listener = port::bind(port)?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    // Each connection gets a clone of the router (an `Arc`). A `Router` itself as the
    // make-service converts all its routes again for every connection (`with_state(())`), and
    // `Router::into_make_service` once per run; `ServiceExt`'s converts nothing (the mock's
    // routes were converted when they were given the run's state).
    let app = axum::ServiceExt::<axum::extract::Request>::into_make_service(app);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok((addr, tx, task))
}

/// The largest request body the mock reads (the recording proxy's limit too): a long real
/// conversation is far above axum's 2 MB default, and no API answers 413 that early.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// Every request but the fake tools': a model call of some API, or a 404. Errors are in the
/// scenario's API's own shape, so the agent's SDK reads them as it would the real API's.
async fn dispatch(
    State(s): State<Arc<AppState>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            let fmt = s.session.scenario.cassette.provider().format();
            let status = e.status();
            let msg = format!(
                "tooltape mock: cannot read the request body: {}",
                e.body_text()
            );
            return json_response(status, fmt.error_body_status(status.as_u16(), &msg));
        }
    };
    match provider::route(method.as_str(), uri.path(), uri.query()) {
        Some(endpoint) => model(s, endpoint, headers, body).await,
        None => {
            let fmt = s.session.scenario.cassette.provider().format();
            let msg = format!("tooltape mock: no route for {uri}");
            json_response(StatusCode::NOT_FOUND, fmt.error_body_status(404, &msg))
        }
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    json_bytes_response(status, json_bytes(&body))
}

/// `body` as JSON text, as `axum::Json` writes it.
fn json_bytes(body: &Value) -> Bytes {
    // Serialising a `Value` cannot fail (its keys are strings).
    Bytes::from(serde_json::to_vec(body).unwrap_or_default())
}

/// A JSON response from its serialised body, with the headers `axum::Json` sets.
fn json_bytes_response(status: StatusCode, body: Bytes) -> Response {
    let json = HeaderValue::from_static("application/json");
    let mut r = (status, [(header::CONTENT_TYPE, json)], body).into_response();
    if !status.is_success() {
        // The SDKs must not retry a rejection (they retry 408/409/429/5xx otherwise).
        r.headers_mut()
            .insert("x-should-retry", HeaderValue::from_static("false"));
    }
    r
}

async fn model(
    s: Arc<AppState>,
    endpoint: provider::Endpoint,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let provider = endpoint.provider;
    let fmt = provider.format();
    let expected = s.session.scenario.cassette.provider();
    if provider != expected {
        let msg = format!(
            "tooltape mock: this scenario replays a {expected} cassette; the agent called the {provider} API"
        );
        return json_response(StatusCode::NOT_FOUND, fmt.error_body_status(404, &msg));
    }
    let retry = headers
        .get("x-stainless-retry-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    if retry > 0 {
        let last = s.last.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some((prev, cached)) = last
            && prev == body
        {
            return render(cached, s.time_scale, &s.streaming);
        }
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            let msg = format!("the handler sent a model request whose body is not JSON: {e}");
            s.session.garbage(msg.clone());
            return json_response(StatusCode::BAD_REQUEST, fmt.error_body(&msg));
        }
    };
    if let Some((status, err)) = fmt.preflight(&endpoint, &request) {
        return json_response(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            err,
        );
    }
    let stream = endpoint
        .stream
        .unwrap_or_else(|| request.get("stream").and_then(Value::as_bool) == Some(true));
    // The reply is read where the cassette keeps it, never copied (a deep copy of its JSON
    // per request).
    let cassette = &s.session.scenario.cassette;
    let cached = match s.session.serve(&request) {
        Err(rejection) => CachedResponse::Json(
            StatusCode::from_u16(rejection.status).unwrap_or(StatusCode::BAD_REQUEST),
            json_bytes(&rejection.body),
        ),
        Ok(index) if stream => match &cassette.recorded_streams[index] {
            Some(events) => {
                let gaps: u64 = events.iter().map(|e| e.gap_ms).sum();
                let sent = Duration::from_millis(gaps).mul_f64(s.time_scale);
                s.session.streaming(index, sent);
                CachedResponse::Stream(events.to_vec(), endpoint.framing)
            }
            None => match fmt.stream_from_reply_as(
                s.session.reply_body(index),
                s.session.scenario.file.stream_chunking,
            ) {
                Ok(events) => CachedResponse::Stream(events, endpoint.framing),
                Err(e) => CachedResponse::Json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json_bytes(&fmt.error_body_status(
                        500,
                        &format!("tooltape mock: cannot stream this reply: {e}"),
                    )),
                ),
            },
        },
        // The session serves the cassette's reply as recorded: sent as serialised once.
        Ok(index) => CachedResponse::Json(StatusCode::OK, s.replies[index].clone()),
    };
    *s.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((body, cached.clone()));
    render(cached, s.time_scale, &s.streaming)
}

/// A response; streams go out frame by frame with their recorded gaps (scaled).
fn render(
    r: CachedResponse,
    time_scale: f64,
    streaming: &Arc<std::sync::atomic::AtomicUsize>,
) -> Response {
    match r {
        CachedResponse::Json(status, body) => json_bytes_response(status, body),
        CachedResponse::Stream(events, framing) => {
            // The closure owns the guard, so the count drops when hyper drops the body.
            let guard = Streaming::start(streaming);
            let gaps: Vec<u64> = events.iter().map(|e| e.gap_ms).collect();
            let wire = framing.wire(&events);
            let frames =
                futures_util::stream::iter(gaps.into_iter().chain(std::iter::repeat(0)).zip(wire))
                    .then(move |(gap_ms, bytes)| {
                        let _alive = &guard;
                        async move {
                            if gap_ms > 0 {
                                tokio::time::sleep(crate::util::scaled(
                                    Duration::from_millis(gap_ms),
                                    time_scale,
                                ))
                                .await;
                            }
                            Ok::<_, Infallible>(Bytes::from(bytes))
                        }
                    });
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, framing.content_type())
                .header(header::CACHE_CONTROL, "no-cache")
                .body(Body::from_stream(frames))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

/// `POST /_tools/NAME` with the tool's input as the JSON body: 200 with the output text, or
/// 500 with the error text of a failing tool; 404 when no call of the open turn has the tool,
/// 409 when no turn is open, each with the reason. A hung call never answers; when the agent gives up and closes the
/// connection, the call is recorded as abandoned.
async fn tool(State(s): State<Arc<AppState>>, Path(name): Path<String>, body: Bytes) -> Response {
    let input: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return (
                    StatusCode::BAD_REQUEST,
                    format!("tooltape: the body of POST /_tools/{name} must be the tool's input as JSON: {e}"),
                )
                    .into_response();
            }
        }
    };
    match s.session.tool_call(&name, &input, "http").await {
        ToolAnswer::Output(o) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            o,
        )
            .into_response(),
        ToolAnswer::Failed(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            e,
        )
            .into_response(),
        // A request that names no call is the agent's mistake, not a tool failure.
        ToolAnswer::Refused { no_turn, reason } => (
            if no_turn {
                StatusCode::CONFLICT
            } else {
                StatusCode::NOT_FOUND
            },
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            reason,
        )
            .into_response(),
    }
}

/// One run served over HTTP, for embedding the mock in your own test runner (or a benchmark):
/// start it, point an agent at [`MockRun::env_vars`], then [`MockRun::finish`] for the report.
pub struct MockRun {
    session: Arc<Session>,
    server: Server,
}

impl MockRun {
    /// Serve one run of `scenario` on 127.0.0.1:`port` (0: any free port). Tool latencies and
    /// stream gaps are multiplied by `time_scale`; the real-clock barrier window is the
    /// scenario's `grace_ms` or 2 s. For many runs of one scenario, [`MockScenario::start`]
    /// prepares the scenario once.
    pub async fn start(
        scenario: Arc<crate::scenario::Scenario>,
        plan: crate::replay::RunPlan,
        port: u16,
        time_scale: f64,
    ) -> std::io::Result<MockRun> {
        MockScenario::new(scenario)
            .start(plan, port, time_scale)
            .await
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// The variables to start an agent with.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        self.server.env_vars()
    }

    /// Resolves when the cassette is spent, the run was stopped, or a hung call outlived the
    /// scenario's deadline.
    pub async fn done(&self) {
        tokio::select! {
            _ = self.session.done() => {}
            _ = self.session.watchdog() => {}
        }
    }

    /// Wait until the streamed replies being sent are done (at most `limit`).
    pub async fn drained(&self, limit: Duration) {
        self.server.drained(limit).await
    }

    /// Judge the run, as if the agent ended now, stop serving and give the report.
    pub async fn finish(self) -> crate::replay::RunReport {
        let report = crate::replay::supervise(
            &self.session,
            async { crate::replay::HandlerEnd::Finished },
            || async {},
        )
        .await;
        self.server.stop().await;
        report
    }
}
