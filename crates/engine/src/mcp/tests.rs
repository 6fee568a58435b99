//! The MCP endpoint, in-process (requests straight into the router, no sockets) on the virtual
//! clock: every method and error of both eras, cancellation, progress, and the rules judging
//! an agent whose tools come through MCP.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::http::{self, BODY_LIMIT};
use super::{HANDSHAKE_VERSIONS, MODERN_VERSION, VERSION_META, code};
use crate::handler::{self, BoxError, Env};
use crate::provider::{self, ResultBlock};
use crate::replay::order;
use crate::replay::session::Session;
use crate::rules::RuleId;
use crate::scenario::{self, Scenario};

fn bundled(name: &str) -> Arc<Scenario> {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("scenarios")
        .join(format!("{name}.json"));
    Arc::new(scenario::load(&path).expect("bundled scenario"))
}

/// A session of `name` whose first reply (with its calls) has been served, and the router.
fn opened(name: &str) -> (Arc<Session>, Router) {
    let s = bundled(name);
    let plan = order::plans(&s, 42).next().expect("a plan");
    let session = Session::new(s, plan, scenario::VIRTUAL_GRACE, 1.0);
    let first = session.initial_request();
    session.serve(&first).expect("first reply");
    let router = http::router(
        session.clone(),
        crate::mcp::tool_list(&session.scenario).into(),
    );
    (session, router)
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
    text: String,
}

async fn send(router: &Router, method: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
    let mut req = Request::builder().method(method).uri("/mcp");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = router
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Answer {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

async fn post(router: &Router, headers: &[(&str, &str)], msg: Value) -> Answer {
    send(router, "POST", headers, msg.to_string().into_bytes()).await
}

/// A 2026-07-28 request: the version in `_meta`, and the headers the SDKs send.
fn modern(id: u64, method: &str, mut params: Value) -> Value {
    params["_meta"][VERSION_META] = json!(MODERN_VERSION);
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

fn request(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

async fn initialize(router: &Router, version: &str) -> (String, Value) {
    let a = post(
        router,
        &[],
        request(
            1,
            "initialize",
            json!({"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let sid = a.headers["mcp-session-id"].to_str().unwrap().to_string();
    (sid, a.body["result"].clone())
}

fn error_code(a: &Answer) -> i64 {
    a.body["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("no JSON-RPC error in {}", a.text))
}

#[tokio::test(start_paused = true)]
async fn discover_lists_the_recorded_tools_with_annotations_and_result_types() {
    let (_, router) = opened("anthropic-mixed_read_write");
    let a = post(&router, &[], modern(1, "server/discover", json!({}))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let r = &a.body["result"];
    assert_eq!(r["resultType"], "complete");
    assert!(
        r["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!(MODERN_VERSION))
    );
    assert_eq!(r["cacheScope"], "public");
    assert_eq!(r["serverInfo"]["name"], "tooltape");
    assert!(r["capabilities"]["tools"].is_object());

    let a = post(&router, &[], modern(2, "tools/list", json!({}))).await;
    let r = &a.body["result"];
    assert_eq!(r["resultType"], "complete");
    assert_eq!(r["ttlMs"], 0);
    let tools = r["tools"].as_array().unwrap();
    let s = bundled("anthropic-mixed_read_write");
    let offered = &s.cassette.requests[0].tools;
    let listed: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    let names: Vec<&str> = offered.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        &listed[..offered.len()],
        names.as_slice(),
        "the recording's order"
    );
    for (t, o) in tools.iter().zip(offered) {
        assert_eq!(
            Some(&t["inputSchema"]),
            o.input_schema.as_deref(),
            "the recorded schema"
        );
    }
    for t in tools {
        let name = t["name"].as_str().unwrap();
        let marked = s
            .file
            .tools
            .get(name)
            .is_some_and(|b| b.side_effects || b.order_dependent);
        assert!(t["inputSchema"].is_object());
        if marked {
            assert_eq!(
                t["annotations"],
                json!({"readOnlyHint": false, "destructiveHint": true})
            );
        } else {
            assert_eq!(t["annotations"], json!({"readOnlyHint": true}), "{name}");
        }
    }
    assert!(
        tools
            .iter()
            .any(|t| t["annotations"]["readOnlyHint"] == false),
        "the scenario marks a write"
    );
    // The same list every time (deterministic, never per connection).
    let again = post(&router, &[], modern(3, "tools/list", json!({}))).await;
    assert_eq!(again.body["result"]["tools"], r["tools"]);
}

/// A recorded tool whose own MCP annotations say it writes is listed as destructive even when
/// the scenario does not mark it (the same reading synthesis makes).
#[test]
fn recorded_annotations_mark_a_tool_destructive() {
    let mut s = (*bundled("anthropic-mixed_read_write")).clone();
    let first = s.cassette.requests[0].tools[0].name.clone();
    s.file.tools.remove(&first);
    let plain = super::tool_list(&s);
    assert_eq!(plain[0]["annotations"], json!({"readOnlyHint": true}));
    s.cassette.requests[0].tools[0].annotations = Some(json!({"destructiveHint": true}));
    let listed = super::tool_list(&s);
    assert_eq!(listed[0]["name"], first.as_str());
    assert_eq!(
        listed[0]["annotations"],
        json!({"readOnlyHint": false, "destructiveHint": true})
    );
}

/// The three calls of the turn, as (name, arguments) from the scenario.
fn calls(s: &Session) -> Vec<(String, Value)> {
    s.scenario.turns[0]
        .iter()
        .map(|c| (c.call.name.clone(), c.call.input.clone()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn tools_call_goes_through_the_engine_and_is_labelled_mcp() {
    let (session, router) = opened("anthropic-three_parallel");
    let calls = calls(&session);
    let r = &router;
    let answers =
        futures_util::future::join_all(calls.iter().enumerate().map(|(i, (n, a))| async move {
            post(
                r,
                &[("mcp-method", "tools/call"), ("mcp-name", n)],
                modern(
                    10 + i as u64,
                    "tools/call",
                    json!({"name": n, "arguments": a}),
                ),
            )
            .await
        }))
        .await;
    for (i, a) in answers.iter().enumerate() {
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert_eq!(a.body["id"], 10 + i as u64);
        let r = &a.body["result"];
        assert_eq!(r["isError"], false);
        assert_eq!(r["resultType"], "complete");
        let text = r["content"][0]["text"].as_str().unwrap();
        assert!(
            text.contains(&crate::tag::tag(&session.scenario.turns[0][i].call.id)),
            "{text}"
        );
    }
    let judged = session.finish(true);
    let bars = &judged.timings[0].bars;
    assert_eq!(bars.len(), 3);
    assert!(
        bars.iter()
            .all(|b| b.via == super::VIA_HTTP && b.state == "ok")
    );
    // Held together at the barrier: all three overlapped.
    assert_eq!(judged.timings[0].peak_in_flight, 3);
}

#[tokio::test(start_paused = true)]
async fn a_failing_tool_is_an_is_error_result_with_the_failure_text() {
    let (session, router) = opened("anthropic-failing_tool");
    let failing = session.scenario.turns[0]
        .iter()
        .position(|c| matches!(c.outcome, crate::scenario::Outcome::Fail(_)))
        .expect("a failing call");
    let calls = calls(&session);
    let r = &router;
    let answers = futures_util::future::join_all(calls.iter().map(|(n, a)| async move {
        let (sid, _) = initialize(r, "2025-06-18").await;
        post(
            r,
            &[("mcp-session-id", &sid)],
            request(7, "tools/call", json!({"name": n, "arguments": a})),
        )
        .await
    }))
    .await;
    for (i, a) in answers.iter().enumerate() {
        let r = &a.body["result"];
        assert!(
            r.get("resultType").is_none(),
            "2025 results carry no resultType"
        );
        assert_eq!(r["isError"], i == failing, "{}", a.text);
    }
    let crate::scenario::Outcome::Fail(text) = &session.scenario.turns[0][failing].outcome else {
        unreachable!()
    };
    let got = answers[failing].body["result"]["content"][0]["text"]
        .as_str()
        .unwrap();
    assert!(got.contains(text.as_str()), "{got}");
}

#[tokio::test(start_paused = true)]
async fn the_handshake_era_initialize_ping_delete() {
    let (_, router) = opened("anthropic-three_parallel");
    let (sid, r) = initialize(&router, "2025-06-18").await;
    assert_eq!(r["protocolVersion"], "2025-06-18");
    assert!(r["capabilities"]["tools"].is_object());
    // An unknown version gets the newest handshake revision.
    let (other, r) = initialize(&router, "2024-01-01").await;
    assert_eq!(
        r["protocolVersion"],
        HANDSHAKE_VERSIONS[HANDSHAKE_VERSIONS.len() - 1]
    );
    assert_ne!(sid, other, "each initialize is a session of its own");

    let h = [("mcp-session-id", sid.as_str())];
    let a = post(
        &router,
        &h,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert!(a.text.is_empty());
    let a = post(&router, &h, request(2, "ping", json!({}))).await;
    assert_eq!(a.body["result"], json!({}));
    let a = post(&router, &h, request(3, "tools/list", json!({}))).await;
    assert!(
        a.body["result"]["tools"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
    assert!(a.body["result"].get("resultType").is_none());
    // A response to a request of ours (we send none) is accepted and ignored.
    let a = post(
        &router,
        &h,
        json!({"jsonrpc": "2.0", "id": 99, "result": {}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);

    let a = send(&router, "DELETE", &h, Vec::new()).await;
    assert_eq!(a.status, StatusCode::OK);
    // The session is gone: its id is unknown now, to requests and to DELETE.
    let a = post(&router, &h, request(4, "tools/list", json!({}))).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&a), code::SESSION_NOT_FOUND);
    assert_eq!(a.body["id"], 4);
    let a = send(&router, "DELETE", &h, Vec::new()).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = send(&router, "DELETE", &[], Vec::new()).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    // No server-initiated stream.
    let a = send(&router, "GET", &[], Vec::new()).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.headers["allow"], "POST, DELETE");
}

#[tokio::test(start_paused = true)]
async fn bad_input_gets_clear_json_rpc_errors() {
    let (session, router) = opened("anthropic-three_parallel");
    let (sid, _) = initialize(&router, "2025-11-25").await;
    let h = [("mcp-session-id", sid.as_str())];
    // (what, body, headers, status, JSON-RPC code, what the message says)
    type Case<'a> = (
        &'a str,
        Vec<u8>,
        &'a [(&'a str, &'a str)],
        StatusCode,
        i64,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "not JSON",
            b"{\"jsonrpc\": ".to_vec(),
            &h,
            StatusCode::BAD_REQUEST,
            code::PARSE_ERROR,
            "Parse error",
        ),
        (
            "a batch",
            json!([request(1, "tools/list", json!({}))])
                .to_string()
                .into_bytes(),
            &h,
            StatusCode::BAD_REQUEST,
            code::INVALID_REQUEST,
            "batch",
        ),
        (
            "a string",
            b"\"hello\"".to_vec(),
            &h,
            StatusCode::BAD_REQUEST,
            code::INVALID_REQUEST,
            "object",
        ),
        (
            "no jsonrpc",
            json!({"id": 1, "method": "ping"}).to_string().into_bytes(),
            &h,
            StatusCode::BAD_REQUEST,
            code::INVALID_REQUEST,
            "2.0",
        ),
        (
            "an object id",
            json!({"jsonrpc": "2.0", "id": {}, "method": "ping"})
                .to_string()
                .into_bytes(),
            &h,
            StatusCode::BAD_REQUEST,
            code::INVALID_REQUEST,
            "id",
        ),
        (
            "before initialize",
            request(1, "tools/list", json!({})).to_string().into_bytes(),
            &[],
            StatusCode::BAD_REQUEST,
            code::INVALID_REQUEST,
            "before initialize",
        ),
        (
            "an unknown session",
            request(1, "tools/list", json!({})).to_string().into_bytes(),
            &[("mcp-session-id", "no-such-session")],
            StatusCode::NOT_FOUND,
            code::SESSION_NOT_FOUND,
            "no-such-session",
        ),
        (
            "an unknown method (2025)",
            request(1, "resources/list", json!({}))
                .to_string()
                .into_bytes(),
            &h,
            StatusCode::OK,
            code::METHOD_NOT_FOUND,
            "resources/list",
        ),
        (
            "an unknown method (2026)",
            modern(1, "resources/list", json!({}))
                .to_string()
                .into_bytes(),
            &[],
            StatusCode::NOT_FOUND,
            code::METHOD_NOT_FOUND,
            "resources/list",
        ),
        (
            "ping in 2026 (removed)",
            modern(1, "ping", json!({})).to_string().into_bytes(),
            &[],
            StatusCode::NOT_FOUND,
            code::METHOD_NOT_FOUND,
            "ping",
        ),
        (
            "an unknown tool",
            request(
                1,
                "tools/call",
                json!({"name": "launch_rockets", "arguments": {}}),
            )
            .to_string()
            .into_bytes(),
            &h,
            StatusCode::OK,
            code::INVALID_PARAMS,
            "Unknown tool: launch_rockets",
        ),
        (
            "no tool name",
            request(1, "tools/call", json!({"arguments": {}}))
                .to_string()
                .into_bytes(),
            &h,
            StatusCode::OK,
            code::INVALID_PARAMS,
            "params.name",
        ),
        (
            "arguments not an object",
            request(
                1,
                "tools/call",
                json!({"name": "get_weather", "arguments": [1]}),
            )
            .to_string()
            .into_bytes(),
            &h,
            StatusCode::OK,
            code::INVALID_PARAMS,
            "arguments",
        ),
        (
            "a version header that differs from _meta",
            modern(1, "tools/list", json!({})).to_string().into_bytes(),
            &[("mcp-protocol-version", "2025-06-18")],
            StatusCode::BAD_REQUEST,
            code::HEADER_MISMATCH,
            "MCP-Protocol-Version",
        ),
        (
            "a method header that differs from the body",
            modern(1, "tools/list", json!({})).to_string().into_bytes(),
            &[("mcp-method", "tools/call")],
            StatusCode::BAD_REQUEST,
            code::HEADER_MISMATCH,
            "Mcp-Method",
        ),
        (
            "a name header that differs from the body",
            modern(1, "tools/call", json!({"name": "get_weather"}))
                .to_string()
                .into_bytes(),
            &[("mcp-name", "read_file")],
            StatusCode::BAD_REQUEST,
            code::HEADER_MISMATCH,
            "Mcp-Name",
        ),
        (
            "a foreign origin",
            modern(1, "tools/list", json!({})).to_string().into_bytes(),
            &[("origin", "https://evil.example")],
            StatusCode::FORBIDDEN,
            code::INVALID_REQUEST,
            "origin",
        ),
    ];
    for (what, body, headers, status, c, says) in cases {
        let a = send(&router, "POST", headers, body).await;
        assert_eq!(a.status, status, "{what}: {}", a.text);
        assert_eq!(error_code(&a), c, "{what}: {}", a.text);
        let msg = a.body["error"]["message"].as_str().unwrap();
        assert!(msg.contains(says), "{what}: {msg}");
    }
    // A modern request at a version we do not serve: -32022 naming the ones we do.
    let mut m = modern(1, "tools/list", json!({}));
    m["params"]["_meta"][VERSION_META] = json!("2099-01-01");
    let a = post(&router, &[], m).await;
    assert_eq!(error_code(&a), code::UNSUPPORTED_PROTOCOL_VERSION);
    assert!(
        a.body["error"]["data"]["supported"]
            .as_array()
            .unwrap()
            .contains(&json!(MODERN_VERSION))
    );
    // A body past the limit: a JSON-RPC error, not a dropped connection.
    let a = send(&router, "POST", &h, vec![b' '; BODY_LIMIT + 1]).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&a), code::INVALID_REQUEST);
    // None of it touched the engine, and the run goes on: the calls still work.
    let (n, args) = calls(&session).remove(0);
    let a = post(
        &router,
        &h,
        request(5, "tools/call", json!({"name": n, "arguments": args})),
    )
    .await;
    assert_eq!(a.body["result"]["isError"], false, "{}", a.text);
}

/// A listed tool called while no model reply with calls is open names no call: the engine
/// refuses it, and MCP says so as a JSON-RPC error with the engine's reason (as the HTTP shim
/// answers 409), not as a tool result the agent would take for the tool's output.
#[tokio::test(start_paused = true)]
async fn a_call_with_no_turn_open_is_a_json_rpc_error_not_a_result() {
    let s = bundled("anthropic-three_parallel");
    let plan = order::plans(&s, 42).next().expect("a plan");
    let session = Session::new(s, plan, scenario::VIRTUAL_GRACE, 1.0);
    let router = http::router(
        session.clone(),
        crate::mcp::tool_list(&session.scenario).into(),
    );
    let (n, args) = calls(&session).remove(0);
    let a = post(
        &router,
        &[],
        modern(1, "tools/call", json!({"name": n, "arguments": args})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(error_code(&a), code::INVALID_PARAMS, "{}", a.text);
    assert!(a.body.get("result").is_none(), "{}", a.text);
    let msg = a.body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("no model reply with tool calls is open"),
        "{msg}"
    );
    // The run goes on: once the reply is served, the same call is answered.
    session
        .serve(&session.initial_request())
        .expect("first reply");
    let a = post(
        &router,
        &[],
        modern(2, "tools/call", json!({"name": n, "arguments": args})),
    )
    .await;
    assert_eq!(a.body["result"]["isError"], false, "{}", a.text);
}

#[tokio::test(start_paused = true)]
async fn ten_megabyte_arguments_are_judged_like_any_other_input() {
    let (session, router) = opened("anthropic-three_parallel");
    let (n, _) = calls(&session).remove(0);
    let big = "x".repeat(10_000_000);
    let a = post(
        &router,
        &[],
        modern(
            1,
            "tools/call",
            json!({"name": n, "arguments": {"blob": big}}),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["result"]["isError"], false);
    let judged = session.finish(true);
    assert_eq!(judged.timings[0].bars[0].state, "wrong-arguments");
}

#[tokio::test(start_paused = true)]
async fn five_hundred_sessions_at_once() {
    let (_, router) = opened("anthropic-three_parallel");
    let sessions =
        futures_util::future::join_all((0..500).map(|_| initialize(&router, "2025-06-18"))).await;
    let ids: std::collections::BTreeSet<&str> = sessions.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(ids.len(), 500, "distinct session ids");
    let r = &router;
    let lists = futures_util::future::join_all(sessions.iter().map(|(sid, _)| async move {
        post(
            r,
            &[("mcp-session-id", sid)],
            request(2, "tools/list", json!({})),
        )
        .await
    }))
    .await;
    assert!(
        lists
            .iter()
            .all(|a| a.status == StatusCode::OK && a.body["result"]["tools"].is_array())
    );
}

/// Past `MAX_SESSIONS` open sessions, `initialize` is refused with a JSON-RPC error that says
/// what to do (HTTP 503), open sessions keep working, and ending one makes room again.
#[tokio::test(start_paused = true)]
async fn past_the_session_cap_initialize_is_refused_clearly_and_the_run_goes_on() {
    let (_, router) = opened("anthropic-three_parallel");
    let mut first = None;
    for _ in 0..http::MAX_SESSIONS {
        let (sid, _) = initialize(&router, "2025-11-25").await;
        first.get_or_insert(sid);
    }
    let init = request(9, "initialize", json!({"protocolVersion": "2025-11-25"}));
    let a = post(&router, &[], init.clone()).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text);
    assert_eq!(error_code(&a), code::INTERNAL_ERROR);
    assert_eq!(a.body["id"], 9);
    let msg = a.body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("sessions are open") && msg.contains("DELETE"),
        "{msg}"
    );
    let sid = first.unwrap();
    let h = [("mcp-session-id", sid.as_str())];
    let a = post(&router, &h, request(2, "tools/list", json!({}))).await;
    assert!(a.body["result"]["tools"].is_array(), "{}", a.text);
    assert_eq!(
        send(&router, "DELETE", &h, Vec::new()).await.status,
        StatusCode::OK
    );
    let a = post(&router, &[], init).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
}

#[tokio::test(start_paused = true)]
async fn a_hung_call_is_held_until_cancelled_and_recorded_abandoned() {
    // 2025: notifications/cancelled with the call's id.
    let (session, router) = opened("anthropic-hung_tool");
    let hung = session.scenario.turns[0]
        .iter()
        .position(|c| matches!(c.outcome, crate::scenario::Outcome::Hang))
        .expect("a hung call");
    let (n, args) = calls(&session).remove(hung);
    let (sid, _) = initialize(&router, "2025-06-18").await;
    let h = [("mcp-session-id", sid.as_str())];
    let call = post(
        &router,
        &h,
        request(42, "tools/call", json!({"name": n, "arguments": args})),
    );
    let cancel = async {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        // Another session's cancel of the same id does nothing.
        let (other, _) = initialize(&router, "2025-06-18").await;
        let note = json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 42}});
        post(&router, &[("mcp-session-id", &other)], note.clone()).await;
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        post(&router, &h, note).await
    };
    let (answer, cancelled) = tokio::join!(call, cancel);
    assert_eq!(cancelled.status, StatusCode::ACCEPTED);
    assert_eq!(
        answer.status,
        StatusCode::ACCEPTED,
        "no response to a cancelled call"
    );
    let bar = &session.finish(true).timings[0].bars[0];
    assert_eq!(bar.state, "hung");
    assert_eq!(
        bar.end.unwrap() - bar.start,
        std::time::Duration::from_secs(6)
    );

    // 2026: closing the call's stream (dropping the request) is the cancel.
    let (session, router) = opened("anthropic-hung_tool");
    let (n, args) = calls(&session).remove(hung);
    let call = post(
        &router,
        &[],
        modern(1, "tools/call", json!({"name": n, "arguments": args})),
    );
    let closed = tokio::time::timeout(std::time::Duration::from_secs(3), call).await;
    assert!(closed.is_err(), "a hung call never answers");
    let bar = &session.finish(true).timings[0].bars[0];
    assert_eq!(bar.state, "hung");
    assert_eq!(
        bar.end.unwrap() - bar.start,
        std::time::Duration::from_secs(3)
    );

    // DELETE of the session cancels its open calls too.
    let (session, router) = opened("anthropic-hung_tool");
    let (n, args) = calls(&session).remove(hung);
    let (sid, _) = initialize(&router, "2025-06-18").await;
    let h = [("mcp-session-id", sid.as_str())];
    let call = post(
        &router,
        &h,
        request(1, "tools/call", json!({"name": n, "arguments": args})),
    );
    let end = async {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        send(&router, "DELETE", &h, Vec::new()).await
    };
    let (answer, deleted) = tokio::join!(call, end);
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    assert!(session.finish(true).timings[0].bars[0].end.is_some());
}

#[tokio::test(start_paused = true)]
async fn a_progress_token_gets_progress_notifications_then_the_result() {
    let (session, router) = opened("anthropic-single_call");
    let (n, args) = calls(&session).remove(0);
    let a = post(
        &router,
        &[],
        modern(3, "tools/call", json!({"name": n, "arguments": args, "_meta": {"progressToken": "p1", VERSION_META: MODERN_VERSION}})),
    )
    .await;
    assert_eq!(a.headers["content-type"], "text/event-stream");
    let events: Vec<Value> = a
        .text
        .split("\n\n")
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(events.len(), 3, "{}", a.text);
    for (e, p) in events[..2].iter().zip([0, 1]) {
        assert_eq!(e["method"], "notifications/progress");
        assert_eq!(e["params"]["progressToken"], "p1");
        assert_eq!(e["params"]["progress"], p);
    }
    assert_eq!(events[2]["id"], 3);
    assert_eq!(events[2]["result"]["isError"], false);
}

/// An agent loop whose tools go through MCP (2026 era), run in-process on the virtual clock:
/// all calls of a turn at once, or (`sequential`) one after another.
async fn mcp_agent(env: Env, sequential: bool) -> Result<(), BoxError> {
    let router = http::router(
        env.session.clone(),
        crate::mcp::tool_list(&env.session.scenario).into(),
    );
    let fmt = provider::format(env.provider());
    let mut request = env.initial_request();
    let mut id = 0u64;
    loop {
        let reply = env.model(request.clone()).await?;
        let calls: Vec<_> = fmt
            .parse_reply(&reply)?
            .calls()
            .into_iter()
            .cloned()
            .collect();
        if calls.is_empty() {
            return Ok(());
        }
        let one = |call: crate::transcript::ToolCall, id: u64| {
            let router = router.clone();
            async move {
                let a = post(
                    &router,
                    &[],
                    modern(
                        id,
                        "tools/call",
                        json!({"name": call.name, "arguments": call.input}),
                    ),
                )
                .await;
                let r = &a.body["result"];
                ResultBlock {
                    call_id: call.id.clone(),
                    name: call.name.clone(),
                    content: r["content"][0]["text"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    is_error: r["isError"] == true,
                }
            }
        };
        let mut results = Vec::new();
        if sequential {
            for c in &calls {
                id += 1;
                results.push(one(c.clone(), id).await);
            }
        } else {
            let futs: Vec<_> = calls
                .iter()
                .map(|c| {
                    id += 1;
                    one(c.clone(), id)
                })
                .collect();
            results = futures_util::future::join_all(futs).await;
        }
        let mut next = request.clone();
        let history = fmt.history_mut(&mut next)?;
        history.extend(fmt.history_entries(&reply)?);
        history.extend(fmt.results_entries(&results, None));
        request = next;
    }
}

#[test]
fn the_rules_judge_calls_that_came_through_mcp() {
    for name in [
        "anthropic-three_parallel",
        "openai-chat-three_parallel",
        "gemini-three_parallel",
    ] {
        let s = bundled(name);
        let good = handler::from_fn("mcp", |env| mcp_agent(env, false));
        let report = handler::run_scenario(s.clone(), &good, 42);
        assert!(
            report.passed(false),
            "{name}: {:?}",
            report.runs[0].violations
        );
        let bars = &report.runs[0].turns[0].bars;
        assert!(!bars.is_empty() && bars.iter().all(|b| b.via == super::VIA_HTTP));

        let sequential = handler::from_fn("mcp-sequential", |env| mcp_agent(env, true));
        let report = handler::run_scenario(s, &sequential, 42);
        assert_eq!(
            report.rules_broken(),
            std::collections::BTreeSet::from([RuleId::SequentialExecution]),
            "{name}"
        );
    }
}
