//! The mock model server over HTTP: routes, streams, retries and garbage, seen from a raw
//! HTTP client (no SDK), against a bundled Anthropic scenario.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tooltape::replay::order;
use tooltape::server::MockRun;

struct Resp {
    status: u16,
    headers: String,
    body: String,
}

async fn post(
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
    let plan = order::plans(&s, 42).remove(0);
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
    assert_eq!(unknown.status, 500);
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
