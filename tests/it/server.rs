//! The mock model server over HTTP: routes, streams, retries and garbage, seen from a raw
//! HTTP client (no SDK), against a bundled Anthropic scenario.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tooltape::replay::order;
use tooltape::server::MockRun;

pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: String,
    pub(crate) body: String,
}

pub(crate) async fn post(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Resp {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Resp {
        status,
        headers: head.to_ascii_lowercase(),
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

async fn mock(name: &str) -> (MockRun, Arc<tooltape::scenario::Scenario>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    let s = Arc::new(tooltape::scenario::load(&path).unwrap());
    let plan = order::plans(&s, 42).next().unwrap();
    (MockRun::start(s.clone(), plan, 0, 1.0).await.unwrap(), s)
}

fn first_request(s: &tooltape::scenario::Scenario, stream: bool) -> Value {
    let mut r = s.cassette.cassette.exchanges[0].request.clone();
    r["stream"] = json!(stream);
    r
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_400_and_ends_the_run_with_an_error() {
    let (m, _) = mock("anthropic-single_call.json").await;
    let r = post(m.addr(), "/v1/messages", &[], "{not json").await;
    assert_eq!(r.status, 400);
    assert!(r.headers.contains("x-should-retry: false"), "{}", r.headers);
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    let report = m.finish().await;
    assert!(
        report.error.as_deref().unwrap().contains("not JSON"),
        "{report:?}"
    );
}

#[tokio::test]
async fn the_wrong_api_gets_a_404_that_says_which_one_is_served() {
    let (m, s) = mock("anthropic-single_call.json").await;
    let r = post(
        m.addr(),
        "/v1/chat/completions",
        &[],
        &first_request(&s, false).to_string(),
    )
    .await;
    assert_eq!(r.status, 404);
    assert!(
        r.body.contains("anthropic cassette") && r.body.contains("openai-chat API"),
        "{}",
        r.body
    );
    let _ = m.finish().await;
}

#[tokio::test]
async fn an_sdk_retry_gets_the_same_reply_and_is_not_a_new_turn() {
    let (m, s) = mock("anthropic-single_call.json").await;
    let body = first_request(&s, false).to_string();
    let a = post(
        m.addr(),
        "/messages",
        &[("x-stainless-retry-count", "0")],
        &body,
    )
    .await;
    let b = post(
        m.addr(),
        "/v1/messages",
        &[("x-stainless-retry-count", "1")],
        &body,
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, b.body);
    // The run is still at turn 1: the reply has a tool call waiting for its result.
    let reply: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(reply["stop_reason"], "tool_use");
    let report = m.finish().await;
    assert_eq!(report.turns.len(), 1);
    assert!(
        report
            .violations
            .iter()
            .any(|v| v.rule == tooltape::rules::RuleId::StoppedEarly)
    );
}

#[tokio::test]
async fn a_streamed_request_gets_server_sent_events_with_event_lines() {
    let (m, s) = mock("anthropic-three_parallel.json").await;
    let r = post(
        m.addr(),
        "/v1/messages",
        &[],
        &first_request(&s, true).to_string(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers.contains("content-type: text/event-stream"),
        "{}",
        r.headers
    );
    let events: Vec<&str> = r
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(events.first(), Some(&"message_start"));
    assert_eq!(events.last(), Some(&"message_stop"));
    assert_eq!(
        events
            .iter()
            .filter(|e| **e == "content_block_start")
            .count(),
        4
    );
    let _ = m.finish().await;
}

#[tokio::test]
async fn fake_tools_answer_by_name_and_input_and_refuse_garbage() {
    let (m, s) = mock("anthropic-single_call.json").await;
    let reply = post(
        m.addr(),
        "/v1/messages",
        &[],
        &first_request(&s, false).to_string(),
    )
    .await;
    let reply: Value = serde_json::from_str(&reply.body).unwrap();
    let call = reply["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "tool_use")
        .unwrap()
        .clone();
    let name = call["name"].as_str().unwrap();
    let garbage = post(m.addr(), &format!("/_tools/{name}"), &[], "{oops").await;
    assert_eq!(garbage.status, 400);
    let unknown = post(m.addr(), "/_tools/no_such_tool", &[], "{}").await;
    // Not a tool failure: the agent asked for a tool no call has (issue #9 item 11).
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.contains("no_such_tool"), "{}", unknown.body);
    let ok = post(
        m.addr(),
        &format!("/_tools/{name}"),
        &[],
        &call["input"].to_string(),
    )
    .await;
    assert_eq!(ok.status, 200);
    assert!(
        ok.body.contains("tt-"),
        "outputs carry their call's tag: {}",
        ok.body
    );
    let report = m.finish().await;
    let rules: Vec<_> = report.violations.iter().map(|v| v.rule).collect();
    // The unknown tool run is a wrong-arguments finding; the turn was never answered.
    assert!(
        rules.contains(&tooltape::rules::RuleId::WrongArguments),
        "{rules:?}"
    );
}

#[tokio::test]
async fn a_stream_in_flight_holds_drained_until_its_last_frame() {
    let (m, s) = mock("anthropic-three_parallel.json").await;
    let body = first_request(&s, true).to_string();
    let addr = m.addr();
    let client = tokio::spawn(async move { post(addr, "/v1/messages", &[], &body).await });
    // The recorded stream spans about 1.7 s of gaps: it is still being sent.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let early = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        m.drained(std::time::Duration::from_secs(10)),
    )
    .await;
    assert!(
        early.is_err(),
        "drained returned while the stream was still being sent"
    );
    m.drained(std::time::Duration::from_secs(10)).await;
    let r = client.await.unwrap();
    assert!(r.body.contains("message_stop"), "{}", r.body);
    let _ = m.finish().await;
}

// ------------------------------------------------------------------------------------------
// Gemini: the URL says the model, whether it streams, and how (SSE with alt=sse, else a JSON
// array); errors come in Gemini's envelope.
// ------------------------------------------------------------------------------------------

const GEMINI_PLAIN: &str = "/v1/models/gemini-2.5-flash:generateContent";
const GEMINI_SSE: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
const GEMINI_ARRAY: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";

fn gemini() -> &'static dyn tooltape::provider::Format {
    tooltape::provider::Provider::Gemini.format()
}

/// The calls of a Gemini reply body, as (name, args).
fn gemini_calls(body: &Value) -> Vec<(String, Value)> {
    gemini()
        .parse_reply(body)
        .unwrap()
        .calls()
        .into_iter()
        .map(|c| (c.name.clone(), c.input.clone()))
        .collect()
}

#[tokio::test]
async fn gemini_is_served_plain_as_sse_and_as_a_json_array() {
    let first =
        |s: &tooltape::scenario::Scenario| s.cassette.cassette.exchanges[0].request.to_string();
    let (m, s) = mock("gemini-three_parallel_no_ids.json").await;
    let r = post(
        m.addr(),
        GEMINI_PLAIN,
        &[("x-goog-api-key", "k")],
        &first(&s),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let plain: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(gemini_calls(&plain).len(), 3);
    let _ = m.finish().await;

    let (m, s) = mock("gemini-three_parallel_no_ids.json").await;
    let r = post(m.addr(), GEMINI_SSE, &[], &first(&s)).await;
    assert!(
        r.headers.contains("content-type: text/event-stream"),
        "{}",
        r.headers
    );
    assert!(!r.body.contains("event:") && !r.body.contains("[DONE]"));
    let events: Vec<tooltape::provider::SseEvent> = r
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(tooltape::provider::SseEvent::data)
        .collect();
    let sse = gemini().reply_from_stream(&events).unwrap();
    assert_eq!(gemini_calls(&sse), gemini_calls(&plain));
    let _ = m.finish().await;

    let (m, s) = mock("gemini-three_parallel_no_ids.json").await;
    let r = post(m.addr(), GEMINI_ARRAY, &[], &first(&s)).await;
    assert!(
        r.headers.contains("content-type: application/json"),
        "{}",
        r.headers
    );
    let chunks: Value = serde_json::from_str(&r.body).expect("one JSON array");
    let elements = tooltape::provider::sse::events_from_json_array(&chunks).unwrap();
    assert_eq!(elements, events, "the same chunks, framed as an array");
    let array = gemini().reply_from_stream(&elements).unwrap();
    assert_eq!(array, sse);
    let _ = m.finish().await;
}

#[tokio::test]
async fn gemini_call_per_chunk_streams_each_call_alone() {
    let (m, s) = mock("gemini-call_per_chunk.json").await;
    let body = s.cassette.cassette.exchanges[0].request.to_string();
    let r = post(m.addr(), GEMINI_SSE, &[], &body).await;
    let chunks: Vec<Value> = r
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let with_calls: Vec<&Value> = chunks
        .iter()
        .filter(|c| c.to_string().contains("functionCall"))
        .collect();
    assert_eq!(with_calls.len(), 4);
    for c in with_calls {
        assert_eq!(
            c["candidates"][0]["content"]["parts"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
    let _ = m.finish().await;
}

#[tokio::test]
async fn gemini_refusals_come_in_gemini_s_envelope() {
    // A model name the API would not take: its own 400, before the engine sees anything.
    let (m, s) = mock("gemini-single_call.json").await;
    let first = s.cassette.cassette.exchanges[0].request.clone();
    let r = post(
        m.addr(),
        "/v1beta/models/gemini%202.5%20flash:generateContent",
        &[],
        &first.to_string(),
    )
    .await;
    assert_eq!(r.status, 400);
    let err: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        err["error"]["message"],
        "* GenerateContentRequest.model: unexpected model name format"
    );
    assert_eq!(err["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(err["error"]["code"], 400);

    // The same request under a good name is served; then a follow-up answering a call nobody
    // made (no ids: it pairs with no call) gets the API's count 400.
    let r = post(m.addr(), GEMINI_PLAIN, &[], &first.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let reply: Value = serde_json::from_str(&r.body).unwrap();
    let mut next = first.clone();
    let contents = next["contents"].as_array_mut().unwrap();
    contents.push(reply["candidates"][0]["content"].clone());
    contents.push(json!({"role": "user", "parts": [
        {"functionResponse": {"name": "lookup_weather", "response": {"output": "sunny"}}}
    ]}));
    let r = post(m.addr(), GEMINI_PLAIN, &[], &next.to_string()).await;
    assert_eq!(r.status, 400);
    assert!(r.headers.contains("x-should-retry: false"));
    let err: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        err["error"]["message"],
        "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn."
    );
    let report = m.finish().await;
    let rules: Vec<&str> = report.violations.iter().map(|v| v.rule.as_str()).collect();
    assert!(
        rules.contains(&"missing-result") && rules.contains(&"unknown-result"),
        "{rules:?}"
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("by name, then by position")),
        "{:?}",
        report.notes
    );
}

#[tokio::test]
async fn a_malformed_gemini_body_is_a_gemini_400_that_says_where() {
    let (m, _) = mock("gemini-single_call.json").await;
    let r = post(
        m.addr(),
        GEMINI_PLAIN,
        &[],
        &json!({"contents": [{"role": "user", "parts": [{"functionResponse": {"name": "", "response": {}}}]}]})
            .to_string(),
    )
    .await;
    assert_eq!(r.status, 400);
    let err: Value = serde_json::from_str(&r.body).unwrap();
    let msg = err["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("contents[0].parts[0].functionResponse.name")
            && msg.contains("Name cannot be empty"),
        "{msg}"
    );
    assert_eq!(err["error"]["status"], "INVALID_ARGUMENT");
    let report = m.finish().await;
    assert!(
        report
            .error
            .as_deref()
            .unwrap()
            .contains("not a valid gemini request")
    );
}

#[tokio::test]
async fn gemini_agents_get_the_sdk_variables() {
    let (m, _) = mock("gemini-single_call.json").await;
    let vars = m.env_vars();
    let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(
        get("GOOGLE_GEMINI_BASE_URL"),
        Some(format!("http://{}", m.addr())),
        "no version: the SDKs add /v1beta or /v1"
    );
    assert!(get("GEMINI_API_KEY").is_some());
    assert_eq!(get("GOOGLE_API_KEY"), None);
    assert!(tooltape::server::Server::env_remove().contains(&"GOOGLE_API_KEY"));
    let _ = m.finish().await;
}

// ---- issue #9 item 11: body limit, error shapes, tool endpoint statuses ----

#[tokio::test]
async fn a_long_conversation_above_two_megabytes_is_served() {
    let (m, s) = mock("anthropic-single_call.json").await;
    let mut r = first_request(&s, false);
    r["messages"][0]["content"] = json!("a long conversation ".repeat(150_000));
    let body = r.to_string();
    assert!(body.len() > 2_900_000);
    let resp = post(m.addr(), "/v1/messages", &[], &body).await;
    assert_eq!(
        resp.status,
        200,
        "{}",
        &resp.body[..resp.body.len().min(300)]
    );
}

#[tokio::test]
async fn mock_errors_come_in_the_scenario_apis_own_shape() {
    let (m, _) = mock("gemini-single_call.json").await;
    let r = post(m.addr(), "/v1beta/nothing/here", &[], "{}").await;
    assert_eq!(r.status, 404);
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["error"]["code"], 404, "{body}");
    assert_eq!(body["error"]["status"], "NOT_FOUND", "{body}");
    let (m, _) = mock("openai-chat-single_call.json").await;
    let r = post(m.addr(), "/v1/nothing", &[], "{}").await;
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    assert!(body["error"].get("param").is_some(), "{body}");
}

#[tokio::test]
async fn a_tool_request_that_names_no_call_is_a_4xx_with_the_reason() {
    let (m, s) = mock("anthropic-single_call.json").await;
    let r = post(m.addr(), "/_tools/search_docs", &[], "{}").await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body.contains("no model reply with tool calls is open"),
        "{}",
        r.body
    );
    let first = post(
        m.addr(),
        "/v1/messages",
        &[],
        &first_request(&s, false).to_string(),
    )
    .await;
    assert_eq!(first.status, 200);
    let r = post(m.addr(), "/_tools/no_such_tool", &[], "{}").await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(
        r.body.contains("no call of this turn asks for tool"),
        "{}",
        r.body
    );
}

/// `server::unbound` (the fuzz target's way in) is the service the socket serves: the first
/// request gets the recorded reply, an unknown path the API's 404, garbage the API's 400.
#[tokio::test]
async fn the_unbound_service_answers_as_the_served_one() {
    use tower::ServiceExt;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/anthropic-single_call.json");
    let s = Arc::new(tooltape::scenario::load(&path).unwrap());
    let plan = order::plans(&s, 42).next().unwrap();
    let app = tooltape::server::unbound(s.clone(), plan, 0.0);
    let call = |path: &str, body: String| {
        let request = axum::http::Request::post(path)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body))
            .unwrap();
        let app = app.clone();
        async move {
            let r = app.oneshot(request).await.unwrap();
            let status = r.status().as_u16();
            let body = axum::body::to_bytes(r.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, serde_json::from_slice::<Value>(&body).unwrap())
        }
    };
    let (status, body) = call("/nowhere", "{}".into()).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (404, Some("error")),
        "{body}"
    );
    let (status, body) = call("/v1/messages", first_request(&s, false).to_string()).await;
    assert_eq!(status, 200, "{body}");
    match &s.cassette.cassette.exchanges[0].reply {
        tooltape::cassette::RecordedReply::Body(recorded) => assert_eq!(&body, recorded),
        tooltape::cassette::RecordedReply::Stream(_) => panic!("the bundled reply is a body"),
    }
    let (status, body) = call("/v1/messages", "{not json".into()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

/// Runs of one `MockScenario` share only what no run changes (the scenario's preparation, its
/// serialised replies, the routes): a run after a broken one is judged as on a mock of its
/// own, an MCP session of the earlier run is unknown to it, and its replies are the bytes and
/// headers a one-off `MockRun` sends.
#[tokio::test]
async fn runs_of_one_mock_scenario_are_as_fresh_as_one_off_mocks() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join("anthropic-single_call.json");
    let s = Arc::new(tooltape::scenario::load(&path).unwrap());
    let plan = order::plans(&s, 42).next().unwrap();
    let shared = tooltape::server::MockScenario::new(s.clone());

    // A broken run first: an MCP session, then garbage that ends the run with an error.
    let m = shared.start(plan.clone(), 0, 1.0).await.unwrap();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}});
    let accept = ("Accept", "application/json, text/event-stream");
    let r = post(m.addr(), "/mcp", &[accept], &init.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sid = r
        .headers
        .lines()
        .find_map(|l| l.strip_prefix("mcp-session-id: "))
        .expect("a session id")
        .to_string();
    assert_eq!(
        post(m.addr(), "/v1/messages", &[], "{not json")
            .await
            .status,
        400
    );
    assert!(m.finish().await.error.is_some());

    // The next run of the shared one, beside a one-off mock of the same plan.
    let a = shared.start(plan.clone(), 0, 1.0).await.unwrap();
    let b = MockRun::start(s.clone(), plan, 0, 1.0).await.unwrap();
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let headers = [
        accept,
        ("Mcp-Session-Id", sid.as_str()),
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    let r = post(a.addr(), "/mcp", &headers, &list.to_string()).await;
    assert_eq!(r.status, 404, "the earlier run's MCP session: {}", r.body);
    let body = first_request(&s, false).to_string();
    let (ra, rb) = (
        post(a.addr(), "/v1/messages", &[], &body).await,
        post(b.addr(), "/v1/messages", &[], &body).await,
    );
    assert_eq!((ra.status, rb.status), (200, 200), "{}", ra.body);
    assert_eq!(ra.body, rb.body);
    assert!(
        ra.headers.contains("content-type: application/json"),
        "{}",
        ra.headers
    );
    let served: Value = serde_json::from_str(&ra.body).unwrap();
    assert_eq!(served, s.cassette.reply_bodies[0]);
    let (ra, rb) = (a.finish().await, b.finish().await);
    assert_eq!(ra.error, rb.error);
    assert_eq!(ra.violations, rb.violations);
    assert_eq!(ra.notes, rb.notes);
}
