//! MCP over stdio: the `tooltape mcp-stdio` bridge, run in-process against a real mock server on
//! loopback (no agent process): both eras, concurrent calls, errors, cancellation; and the
//! command without a URL.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tooltape::replay::order;
use tooltape::server::MockRun;

async fn mock(name: &str) -> (MockRun, Arc<tooltape::scenario::Scenario>, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    let s = Arc::new(tooltape::scenario::load(&path).unwrap());
    let plan = order::plans(&s, 42).next().expect("a plan");
    let m = MockRun::start(s.clone(), plan, 0, 1.0).await.unwrap();
    let url = m
        .env_vars()
        .into_iter()
        .find(|(k, _)| k == "TOOLTAPE_MCP_URL")
        .map(|(_, v)| v)
        .expect("TOOLTAPE_MCP_URL exported");
    assert_eq!(url, format!("http://{}/mcp", m.addr()));
    // Open the first turn: the model's reply with its calls.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let first = s.cassette.cassette.exchanges[0].request.clone();
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("http://{}/v1/messages", m.addr()))
        .header("content-type", "application/json")
        .body(first.to_string())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    (m, s, url)
}

/// The bridge on a pair of pipes: lines in, lines out.
struct Bridge {
    input: tokio::io::DuplexStream,
    output: tokio::io::Lines<BufReader<tokio::io::DuplexStream>>,
    task: tokio::task::JoinHandle<Result<(), tooltape::mcp::stdio::BridgeError>>,
}

fn bridge(url: &str) -> Bridge {
    let (input, bridge_in) = tokio::io::duplex(1 << 20);
    let (bridge_out, output) = tokio::io::duplex(1 << 20);
    let task = tokio::spawn(tooltape::mcp::stdio::bridge(
        Some(url.to_string()),
        bridge_in,
        bridge_out,
    ));
    Bridge {
        input,
        output: BufReader::new(output).lines(),
        task,
    }
}

impl Bridge {
    async fn send(&mut self, line: &str) {
        self.input.write_all(line.as_bytes()).await.unwrap();
        self.input.write_all(b"\n").await.unwrap();
    }

    async fn recv(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(30), self.output.next_line())
            .await
            .expect("an answer within 30 s")
            .unwrap()
            .expect("a line");
        assert!(!line.contains('\n'));
        serde_json::from_str(&line).unwrap()
    }
}

fn req(id: u64, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

#[tokio::test]
async fn stdio_handshake_era_every_method_and_error() {
    let (m, s, url) = mock("anthropic-three_parallel.json").await;
    let mut b = bridge(&url);
    b.send(&req(1, "initialize", json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}))).await;
    let init = b.recv().await;
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18", "{init}");
    b.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .await;
    b.send(&req(2, "ping", json!({}))).await;
    assert_eq!(
        b.recv().await,
        json!({"jsonrpc": "2.0", "id": 2, "result": {}})
    );
    b.send(&req(3, "tools/list", json!({}))).await;
    let list = b.recv().await;
    assert!(
        list["result"]["tools"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );

    // The turn's calls, all at once: they reach the engine together.
    for (i, c) in s.turns[0].iter().enumerate() {
        b.send(&req(
            10 + i as u64,
            "tools/call",
            json!({"name": c.call.name, "arguments": c.call.input}),
        ))
        .await;
    }
    let mut ids = Vec::new();
    for _ in 0..s.turns[0].len() {
        let a = b.recv().await;
        assert_eq!(a["result"]["isError"], false, "{a}");
        ids.push(a["id"].as_u64().unwrap());
    }
    ids.sort();
    assert_eq!(ids, vec![10, 11, 12]);

    // Errors come back as lines with the request's id (or null when there is none).
    for (line, code) in [
        ("{not json".to_string(), -32700),
        (
            json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]).to_string(),
            -32600,
        ),
        (req(20, "resources/list", json!({})), -32601),
        (
            req(21, "tools/call", json!({"name": "launch_rockets"})),
            -32602,
        ),
    ] {
        b.send(&line).await;
        let a = b.recv().await;
        assert_eq!(a["error"]["code"], code, "{line}: {a}");
    }
    drop(b.input);
    b.task.await.unwrap().unwrap();
    let report = m.finish().await;
    let bars = &report.turns[0].bars;
    assert_eq!(bars.len(), 3);
    assert!(
        bars.iter().all(|b| b.via == tooltape::mcp::VIA_STDIO),
        "{bars:?}"
    );
    assert_eq!(report.turns[0].peak_in_flight, 3);
}

#[tokio::test]
async fn stdio_modern_era_and_a_cancelled_hung_call() {
    let (m, s, url) = mock("anthropic-hung_tool.json").await;
    let mut b = bridge(&url);
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28"});
    b.send(&req(1, "server/discover", json!({"_meta": meta})))
        .await;
    let d = b.recv().await;
    assert_eq!(d["result"]["resultType"], "complete", "{d}");
    // Before initialize, a 2025-era request without a session is refused with the reason.
    b.send(&req(2, "tools/list", json!({}))).await;
    let a = b.recv().await;
    assert_eq!(a["error"]["code"], -32600, "{a}");
    let hung = s.turns[0]
        .iter()
        .find(|c| matches!(c.outcome, tooltape::scenario::Outcome::Hang))
        .unwrap();
    b.send(&req(
        3,
        "tools/call",
        json!({"name": hung.call.name, "arguments": hung.call.input, "_meta": meta}),
    ))
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.send(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}"#)
        .await;
    // The cancelled call gets no answer; the bridge goes on answering.
    b.send(&req(4, "tools/list", json!({"_meta": meta}))).await;
    let a = b.recv().await;
    assert_eq!(a["id"], 4, "{a}");
    drop(b.input);
    b.task.await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let report = m.finish().await;
    let bar = report.turns[0]
        .bars
        .iter()
        .find(|b| b.tool == hung.call.name)
        .unwrap();
    assert_eq!(bar.state, "hung");
    assert!(bar.end.is_some(), "the cancel was recorded: {bar:?}");
}

#[tokio::test]
async fn stdio_when_tooltape_is_not_serving_each_request_gets_an_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    drop(listener);
    let mut b = bridge(&url);
    b.send(&req(1, "initialize", json!({}))).await;
    let a = b.recv().await;
    assert_eq!(a["id"], 1);
    assert_eq!(a["error"]["code"], -32603);
    assert!(
        a["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot reach")
    );
}

#[test]
fn mcp_stdio_without_a_url_exits_2_saying_so() {
    let out = assert_cmd::Command::cargo_bin("tooltape")
        .unwrap()
        .arg("mcp-stdio")
        .env_remove("TOOLTAPE_MCP_URL")
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TOOLTAPE_MCP_URL") && err.contains("--url"),
        "{err}"
    );
}

/// A `progressToken` over stdio: the server answers with an event stream, and the bridge
/// relays its progress notifications and then the result, one line each. Then 10 MB of
/// arguments on one line: answered like any other call, and the bridge goes on.
#[tokio::test]
async fn stdio_relays_progress_and_carries_ten_megabyte_arguments() {
    let (m, s, url) = mock("anthropic-three_parallel.json").await;
    let mut b = bridge(&url);
    b.send(&req(1, "initialize", json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}))).await;
    assert_eq!(b.recv().await["result"]["protocolVersion"], "2025-11-25");
    let first = &s.turns[0][0].call;
    b.send(&req(
        2,
        "tools/call",
        json!({"name": first.name, "arguments": first.input, "_meta": {"progressToken": 7}}),
    ))
    .await;
    for p in [0, 1] {
        let note = b.recv().await;
        assert_eq!(note["method"], "notifications/progress", "{note}");
        assert_eq!(note["params"]["progressToken"], 7);
        assert_eq!(note["params"]["progress"], p);
    }
    let answer = b.recv().await;
    assert_eq!(answer["id"], 2);
    assert_eq!(answer["result"]["isError"], false, "{answer}");

    let second = &s.turns[0][1].call;
    let big = "x".repeat(10_000_000);
    b.send(&req(
        3,
        "tools/call",
        json!({"name": second.name, "arguments": {"blob": big}}),
    ))
    .await;
    let answer = b.recv().await;
    assert_eq!(answer["id"], 3);
    assert_eq!(answer["result"]["isError"], false, "{answer}");
    b.send(&req(4, "ping", json!({}))).await;
    assert_eq!(b.recv().await["id"], 4, "the bridge goes on");
    drop(b.input);
    b.task.await.unwrap().unwrap();
    let report = m.finish().await;
    let states: Vec<&str> = report.turns[0].bars.iter().map(|b| b.state).collect();
    assert!(states.contains(&"wrong-arguments"), "{states:?}");
}

/// When stdin closes (the client shutting down), the bridge ends the 2025-era session the server
/// gave it with `DELETE`, carrying that session's id, and then exits. Checked against a stand-in
/// endpoint that records what reaches it (the real server's session table is not visible).
#[tokio::test]
async fn stdio_ends_its_session_with_delete_when_stdin_closes() {
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use std::sync::Mutex;

    type Seen = Arc<Mutex<Vec<(&'static str, Option<String>)>>>;
    let seen: Seen = Arc::default();
    let session_of = |h: &HeaderMap| {
        h.get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (on_post, on_delete) = (seen.clone(), seen.clone());
    let app = axum::Router::new().route(
        "/mcp",
        axum::routing::post(move |h: HeaderMap, body: String| async move {
            on_post.lock().unwrap().push(("POST", session_of(&h)));
            let msg: Value = serde_json::from_str(&body).unwrap();
            if msg["method"] != "initialize" {
                return StatusCode::ACCEPTED.into_response();
            }
            let result = json!({"jsonrpc": "2.0", "id": msg["id"], "result": {
                "protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                "serverInfo": {"name": "stand-in", "version": "0"}}});
            ([("mcp-session-id", "s-42")], axum::Json(result)).into_response()
        })
        .delete(move |h: HeaderMap| async move {
            on_delete.lock().unwrap().push(("DELETE", session_of(&h)));
            StatusCode::OK
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut b = bridge(&format!("http://{addr}/mcp"));
    b.send(&req(
        1,
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {},
               "clientInfo": {"name": "test", "version": "0"}}),
    ))
    .await;
    assert_eq!(b.recv().await["result"]["serverInfo"]["name"], "stand-in");
    b.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string())
        .await;
    // Let the notification reach the stand-in before stdin closes (closing aborts open relays).
    tokio::time::timeout(Duration::from_secs(10), async {
        while seen.lock().unwrap().len() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the notification is relayed");
    drop(b.input);
    tokio::time::timeout(Duration::from_secs(10), b.task)
        .await
        .expect("the bridge exits once stdin closes")
        .unwrap()
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            ("POST", None),
            ("POST", Some("s-42".to_string())),
            ("DELETE", Some("s-42".to_string())),
        ]
    );
}

/// Five hundred 2025-era sessions open at once on a real server over loopback TCP (the same
/// count as the in-process router test in crates/engine/src/mcp/tests.rs), each listing the tools and then
/// ended with `DELETE`; requests are sent 64 at a time so the test stays inside small
/// descriptor limits (macOS: 256). A session id is never reused, and an ended one is refused.
#[tokio::test]
async fn five_hundred_sessions_over_tcp() {
    let (m, _s, url) = mock("anthropic-three_parallel.json").await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let gate = Arc::new(tokio::sync::Semaphore::new(64));
    let rpc = |sid: Option<String>, method: &'static str, id: u64| {
        let (client, url, gate) = (client.clone(), url.clone(), gate.clone());
        async move {
            let _permit = gate.acquire_owned().await.unwrap();
            let mut r = client
                .post(&url)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", "2025-06-18");
            if let Some(sid) = &sid {
                r = r.header("mcp-session-id", sid);
            }
            let params = if method == "initialize" {
                json!({"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "test", "version": "0"}})
            } else {
                json!({})
            };
            let resp = r.body(req(id, method, params)).send().await.unwrap();
            let sid = resp
                .headers()
                .get("mcp-session-id")
                .map(|v| v.to_str().unwrap().to_string());
            let status = resp.status().as_u16();
            let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
            (status, sid, body)
        }
    };
    let opened = futures_util::future::join_all((0..500).map(|i| rpc(None, "initialize", i))).await;
    let ids: std::collections::BTreeSet<String> = opened
        .iter()
        .map(|(status, sid, body)| {
            assert_eq!(*status, 200, "{body}");
            sid.clone().expect("a session id")
        })
        .collect();
    assert_eq!(ids.len(), 500, "distinct session ids");
    let lists = futures_util::future::join_all(
        ids.iter()
            .map(|sid| rpc(Some(sid.clone()), "tools/list", 2)),
    )
    .await;
    for (status, _, body) in &lists {
        assert_eq!(*status, 200, "{body}");
        assert!(body["result"]["tools"].is_array(), "{body}");
    }
    for sid in &ids {
        let r = client
            .delete(&url)
            .header("mcp-session-id", sid)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
    let (status, _, body) = rpc(ids.first().cloned(), "tools/list", 3).await;
    assert_eq!(status, 404, "an ended session is refused: {body}");
    drop(m);
}
