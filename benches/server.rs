//! Real-clock figures for the mock model server and the fake-tool endpoint: the harness's own
//! overhead per tool call and per turn (p50, p99) and the server's requests per second.
//!
//! A small HTTP/1.1 client written here plays a correct concurrent Anthropic agent: it sends
//! the cassette's recorded requests (with `stream` removed, so replies come back as plain JSON)
//! with the tool results replaced by what the fake tools really answered, and runs every tool
//! call of a reply at once, one connection per call. Every measured run must pass. The same
//! agent calls its tools either through the HTTP shim (`POST /_tools/NAME`) or over MCP
//! (`tools/call` on `/mcp`, Streamable HTTP, in a 2025-era session or stateless 2026-07-28), so
//! MCP's per-call overhead is measured beside the shim's.
//!
//! Run with `cargo bench --bench server`; `cargo bench --bench server -- holds [N]` measures
//! only how precisely calls are held, with N lone calls at 300 ms (default 200) and more
//! samples of every other case. See docs/BENCHMARKS.md for the method and figures.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tooltape::replay::{RunPlan, RunReport, order};
use tooltape::scenario::{LatencyResolved, NamedOrder, OrderSpec, Scenario};
use tooltape::server::MockScenario;
use tooltape::timing::TurnTiming;

const SEED: u64 = 42;

/// Agents side by side in the model-request throughput phase.
const AGENTS: usize = 8;

// The allocator is the `tooltape` binary's, mimalloc (the engine declares it with the `cli`
// feature), so the figures are the product's: with glibc's malloc, allocation was a fifth of
// this bench's CPU time.

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client.

/// One connection to the mock server.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    host: String,
    /// The head (status line and headers) of the last response.
    head: String,
}

impl Conn {
    async fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
            host: addr.to_string(),
            head: String::new(),
        })
    }

    /// A header of the last response.
    fn header(&self, name: &str) -> Option<&str> {
        self.head.split("\r\n").skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// `POST path` with a JSON body and `extra` headers; returns the status and the body once
    /// fully received.
    async fn post(
        &mut self,
        path: &str,
        body: &[u8],
        keep_alive: bool,
        extra: &[(&str, &str)],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let extra: String = extra.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: {}\r\n{extra}\r\n",
            self.host,
            body.len(),
            if keep_alive { "keep-alive" } else { "close" }
        );
        let mut req = Vec::with_capacity(head.len() + body.len());
        req.extend_from_slice(head.as_bytes());
        req.extend_from_slice(body);
        self.stream.write_all(&req).await?;
        self.buf.clear();
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).map_err(invalid)?;
        self.head = head.to_string();
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid("no status line"))?;
        let mut length = None;
        let mut chunked = false;
        for line in head.split("\r\n").skip(1) {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = v.trim();
            if k.eq_ignore_ascii_case("content-length") {
                length = Some(v.parse::<usize>().map_err(invalid)?);
            } else if k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked") {
                chunked = true;
            }
        }
        let body = if let Some(n) = length {
            while self.buf.len() < head_end + n {
                self.fill().await?;
            }
            self.buf[head_end..head_end + n].to_vec()
        } else if chunked {
            loop {
                if let Some(b) = dechunk(&self.buf[head_end..]) {
                    break b;
                }
                self.fill().await?;
            }
        } else {
            while self.fill().await.is_ok() {}
            self.buf[head_end..].to_vec()
        };
        Ok((status, body))
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        // Straight into the buffer's spare room: a zeroed 16 KB chunk per read was half of
        // this client's instructions.
        self.buf.reserve(16 * 1024);
        let n = self.stream.read_buf(&mut self.buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}

fn invalid(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The body of a complete chunked message, or `None` while incomplete.
fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = find(b, b"\r\n")?;
        let size_text = std::str::from_utf8(&b[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if size == 0 {
            return find(b, b"\r\n").map(|_| out);
        }
        if b.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

// ---------------------------------------------------------------------------------------------
// A correct concurrent Anthropic agent.

/// A scenario prepared for the bench: every call at one fixed latency, completion by latency.
struct Case {
    name: &'static str,
    scenario: Arc<Scenario>,
    /// The scenario prepared once for its runs, each served by a fresh `MockRun`.
    mock: MockScenario,
    plan: RunPlan,
    /// The recorded requests, `stream` removed.
    requests: Arc<Vec<Template>>,
    latency: Duration,
}

fn case(file: &'static str, latency_ms: u64) -> Case {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(file);
    let mut s = tooltape::scenario::load(&path)
        .unwrap_or_else(|e| panic!("bundled scenario {file} does not load: {e}"));
    s.file.orders = vec![OrderSpec::Named(NamedOrder::Latency)];
    for turn in &mut s.turns {
        for c in turn {
            c.latency = LatencyResolved::Fixed(latency_ms);
        }
    }
    let requests = s
        .cassette
        .cassette
        .exchanges
        .iter()
        .map(|e| {
            let mut r = e.request.clone();
            if let Some(o) = r.as_object_mut() {
                o.remove("stream");
            }
            Template::of(&r)
        })
        .collect();
    let plan = order::plans(&s, SEED).next().unwrap();
    let s = Arc::new(s);
    Case {
        name: file,
        mock: MockScenario::new(s.clone()),
        scenario: s,
        plan,
        requests: Arc::new(requests),
        latency: Duration::from_millis(latency_ms),
    }
}

/// What one run gave, as seen by the agent.
struct Run {
    report: RunReport,
    /// Per tool call: call id and the time from sending the request to having the response.
    tool_rtts: Vec<(String, Duration)>,
    /// Per model request, the same.
    model_rtts: Vec<Duration>,
    /// Per turn with tool calls: sending the request answered with the calls to having the
    /// reply to its follow-up.
    turn_e2e: Vec<Duration>,
}

/// A recorded request as the agent sends it: serialised once, with a slot in each tool result
/// for what the fake tool really answered. (The agent used to clone the request's JSON tree,
/// fill it and serialise it per request: as costly as the server's whole model request.)
struct Template {
    /// The JSON text around the slots: one more piece than slots.
    pieces: Vec<String>,
    /// The call id whose result fills each slot.
    slots: Vec<String>,
}

impl Template {
    fn of(request: &Value) -> Template {
        let mut request = request.clone();
        let mut slots = Vec::new();
        let blocks = request
            .get_mut("messages")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(|m| m.get_mut("content").and_then(Value::as_array_mut))
            .flatten();
        for b in blocks {
            if b.get("type").and_then(Value::as_str) != Some("tool_result") {
                continue;
            }
            let id = b.get("tool_use_id").and_then(Value::as_str).unwrap_or("");
            slots.push(id.to_string());
            let o = b.as_object_mut().expect("a block is an object");
            o.insert("content".into(), Value::String(slot(slots.len() - 1)));
            o.remove("is_error");
        }
        let mut text = serde_json::to_string(&request).expect("serialise");
        let mut pieces = Vec::new();
        for n in 0..slots.len() {
            let marker = serde_json::to_string(&slot(n)).expect("serialise");
            let at = text.find(&marker).expect("the slot is in the text");
            pieces.push(text[..at].to_string());
            text = text[at + marker.len()..].to_string();
        }
        pieces.push(text);
        Template { pieces, slots }
    }

    /// The request with every tool result's content the fake tool's answer (and
    /// `"is_error": true` after a failure).
    fn fill(&self, results: &HashMap<String, (String, bool)>) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.pieces.iter().map(String::len).sum::<usize>() + 256);
        for (piece, id) in self.pieces.iter().zip(&self.slots) {
            out.extend_from_slice(piece.as_bytes());
            let (text, failed) = results.get(id).expect("every call was answered");
            serde_json::to_writer(&mut out, text).expect("serialise");
            if *failed {
                out.extend_from_slice(br#","is_error":true"#);
            }
        }
        out.extend_from_slice(self.pieces[self.slots.len()].as_bytes());
        out
    }
}

fn slot(n: usize) -> String {
    format!("@@tooltape bench: tool result {n}@@")
}

/// The fields of a model reply the agent reads.
#[derive(serde::Deserialize)]
struct ReplyBody {
    #[serde(default)]
    content: Vec<ReplyBlock>,
}

#[derive(serde::Deserialize)]
struct ReplyBlock {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    input: Value,
}

/// How the agent calls its fake tools.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Via {
    /// The HTTP shim: `POST /_tools/NAME` with the input as the body.
    Shim,
    /// MCP `tools/call` on `/mcp` in a 2025-11-25 session (`initialize` once per run, untimed).
    McpSession,
    /// MCP `tools/call` on `/mcp`, stateless 2026-07-28 (the version in `_meta`, no session).
    McpStateless,
}

const MCP_PATH: &str = "/mcp";
const MODERN: &str = "2026-07-28";

/// Open a 2025-era MCP session the way the SDKs do (`initialize`, then
/// `notifications/initialized`); returns its id.
async fn mcp_session(addr: SocketAddr) -> String {
    let mut c = Conn::open(addr).await.expect("connect to /mcp");
    let init = serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "bench", "version": "1"}}});
    let accept = [("Accept", "application/json, text/event-stream")];
    let (status, body) = c
        .post(MCP_PATH, init.to_string().as_bytes(), true, &accept)
        .await
        .expect("initialize");
    assert_eq!(
        status,
        200,
        "initialize: {}",
        String::from_utf8_lossy(&body)
    );
    let sid = c
        .header("mcp-session-id")
        .expect("a session id")
        .to_string();
    let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let headers = [
        accept[0],
        ("Mcp-Session-Id", sid.as_str()),
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    let (status, _) = c
        .post(MCP_PATH, note.as_bytes(), false, &headers)
        .await
        .expect("initialized");
    assert_eq!(status, 202);
    sid
}

/// One tool call through `via` on a fresh connection: (status as the shim would give it: 200
/// for output, 500 for a failure; the output text; the round trip).
async fn tool_call(
    addr: SocketAddr,
    via: Via,
    session: Option<&str>,
    id: u64,
    name: String,
    input: Value,
) -> (u16, String, Duration) {
    let (path, body, headers): (String, Vec<u8>, Vec<(&str, &str)>) = match via {
        Via::Shim => (
            format!("/_tools/{name}"),
            serde_json::to_vec(&input).expect("serialise"),
            Vec::new(),
        ),
        Via::McpSession => (
            MCP_PATH.to_string(),
            serde_json::to_vec(&serde_json::json!({"jsonrpc": "2.0", "id": id,
                "method": "tools/call", "params": {"name": name, "arguments": input}}))
            .expect("serialise"),
            vec![
                ("Accept", "application/json, text/event-stream"),
                ("Mcp-Session-Id", session.expect("a session")),
                ("MCP-Protocol-Version", "2025-11-25"),
            ],
        ),
        Via::McpStateless => (
            MCP_PATH.to_string(),
            serde_json::to_vec(&serde_json::json!({"jsonrpc": "2.0", "id": id,
                "method": "tools/call", "params": {"name": name, "arguments": input,
                "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN}}}))
            .expect("serialise"),
            vec![
                ("Accept", "application/json, text/event-stream"),
                ("MCP-Protocol-Version", MODERN),
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", name.as_str()),
            ],
        ),
    };
    let t = Instant::now();
    let mut c = Conn::open(addr)
        .await
        .expect("connect to the tool endpoint");
    let (status, out) = c
        .post(&path, &body, false, &headers)
        .await
        .expect("tool request");
    let rtt = t.elapsed();
    if via == Via::Shim {
        return (
            status,
            String::from_utf8(out).expect("tool output is UTF-8"),
            rtt,
        );
    }
    let answer: Value = serde_json::from_slice(&out).expect("a JSON-RPC answer");
    let result = &answer["result"];
    assert!(
        status == 200 && result.is_object(),
        "MCP tools/call got HTTP {status}: {answer}"
    );
    let text = result["content"][0]["text"]
        .as_str()
        .expect("a text result")
        .to_string();
    let code = if result["isError"] == true { 500 } else { 200 };
    (code, text, rtt)
}

/// One run of `case` on a fresh server, driven by the agent; panics unless it passes.
async fn drive(case: &Case, via: Via) -> Run {
    let run = case
        .mock
        .start(case.plan.clone(), 0, 1.0)
        .await
        .expect("the mock server starts");
    let addr = run.addr();
    let mut model = Conn::open(addr).await.expect("connect to the mock API");
    let session: Option<Arc<str>> = match via {
        Via::McpSession => Some(mcp_session(addr).await.into()),
        _ => None,
    };
    let mut results: HashMap<String, (String, bool)> = HashMap::new();
    let (mut tool_rtts, mut model_rtts, mut turn_e2e) = (Vec::new(), Vec::new(), Vec::new());
    let mut turn_start: Option<Instant> = None;
    for k in 0..case.requests.len() {
        let body = case.requests[k].fill(&results);
        let t0 = Instant::now();
        let (status, reply) = model
            .post("/v1/messages", &body, true, &[])
            .await
            .expect("model request");
        let t1 = Instant::now();
        assert_eq!(
            status,
            200,
            "{}: model request {} was refused: {}",
            case.name,
            k + 1,
            String::from_utf8_lossy(&reply)
        );
        model_rtts.push(t1 - t0);
        if let Some(s) = turn_start.take() {
            turn_e2e.push(t1 - s);
        }
        let reply: ReplyBody = serde_json::from_slice(&reply).expect("the reply is JSON");
        let calls: Vec<(String, String, Value)> = reply
            .content
            .into_iter()
            .filter(|b| b.kind == "tool_use")
            .map(|b| (b.id, b.name, b.input))
            .collect();
        if calls.is_empty() {
            break;
        }
        turn_start = Some(t0);
        let mut set = tokio::task::JoinSet::new();
        for (n, (id, name, input)) in calls.into_iter().enumerate() {
            let session = session.clone();
            set.spawn(async move {
                let answer = tool_call(addr, via, session.as_deref(), n as u64, name, input).await;
                (id, answer)
            });
        }
        while let Some(done) = set.join_next().await {
            let (id, (status, out, rtt)) = done.expect("a tool task");
            assert!(
                status == 200 || status == 500,
                "{}: tool call {id} got HTTP {status}: {out}",
                case.name
            );
            tool_rtts.push((id.clone(), rtt));
            results.insert(id, (out, status == 500));
        }
    }
    drop(model);
    tokio::time::timeout(Duration::from_secs(5), run.done())
        .await
        .expect("the run ends once the cassette is spent");
    let report = run.finish().await;
    assert!(
        report.passed(false),
        "{}: a measured run failed: error {:?}, violations {:?}",
        case.name,
        report.error,
        report.violations
    );
    Run {
        report,
        tool_rtts,
        model_rtts,
        turn_e2e,
    }
}

/// Up to `n` runs one after another, stopping early after `budget`.
async fn sequential(case: &Case, via: Via, n: usize, budget: Duration) -> Vec<Run> {
    let start = Instant::now();
    let mut out = Vec::with_capacity(n);
    while out.len() < n && start.elapsed() < budget {
        out.push(drive(case, via).await);
    }
    out
}

/// Up to `n` runs through each of `vias`, taken in turn (shim, MCP, shim, MCP, ...) so that
/// the machine's load falls alike on each, stopping early after `budget`.
async fn interleaved(case: &Case, vias: &[Via], n: usize, budget: Duration) -> Vec<Vec<Run>> {
    let start = Instant::now();
    let mut out: Vec<Vec<Run>> = vias.iter().map(|_| Vec::with_capacity(n)).collect();
    while out[0].len() < n && start.elapsed() < budget {
        for (i, via) in vias.iter().enumerate() {
            out[i].push(drive(case, *via).await);
        }
    }
    out
}

/// `workers` agents side by side, each doing runs back to back until `max_runs` in all or
/// `budget` has passed. Returns the runs and the elapsed time.
async fn concurrent(
    case: &Arc<Case>,
    workers: usize,
    max_runs: usize,
    budget: Duration,
) -> (Vec<RoundTrips>, Duration) {
    let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let case = case.clone();
        let started = started.clone();
        set.spawn(async move {
            let mut runs = Vec::new();
            while start.elapsed() < budget
                && started.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < max_runs
            {
                runs.push(RoundTrips::of(drive(&case, Via::Shim).await));
            }
            runs
        });
    }
    let mut runs = Vec::new();
    while let Some(r) = set.join_next().await {
        runs.extend(r.expect("a worker"));
    }
    (runs, start.elapsed())
}

/// What the throughput phases keep of a run: its round trips. (`drive` has checked that the
/// run passed; keeping thousands of reports grew the heap, and its page faults were a tenth of
/// the bench's CPU time.)
struct RoundTrips {
    model: Vec<Duration>,
    tools: Vec<Duration>,
}

impl RoundTrips {
    fn of(run: Run) -> RoundTrips {
        RoundTrips {
            model: run.model_rtts,
            tools: run.tool_rtts.into_iter().map(|(_, d)| d).collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A peer beside tooltape (`--peer URL`, used by benches/compare/run.sh).

/// `workers` agents side by side against a canned-reply mock at `addr` (a peer such as
/// llmposter), for `budget`: each "run" opens a connection and sends `case`'s recorded model
/// requests in turn, as the agent does to a fresh tooltape mock (which also judges each request
/// and serves the tool calls in between; the peer judges nothing). Returns the round trips and
/// the elapsed time.
async fn peer_requests(
    case: &Arc<Case>,
    addr: SocketAddr,
    workers: usize,
    budget: Duration,
) -> (Vec<Duration>, Duration) {
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let case = case.clone();
        set.spawn(async move {
            // Every recorded tool result answered with one text: the peer does not check them.
            let results: HashMap<String, (String, bool)> = case
                .requests
                .iter()
                .flat_map(|t| &t.slots)
                .map(|id| (id.clone(), ("a tool result".to_string(), false)))
                .collect();
            let bodies: Vec<Vec<u8>> = case.requests.iter().map(|t| t.fill(&results)).collect();
            let mut rtts = Vec::new();
            while start.elapsed() < budget {
                let mut conn = Conn::open(addr).await.expect("connect to the peer");
                for body in &bodies {
                    let t0 = Instant::now();
                    let (status, reply) = conn
                        .post("/v1/messages", body, true, &[])
                        .await
                        .expect("a request to the peer");
                    assert_eq!(
                        status,
                        200,
                        "the peer refused a request: {}",
                        String::from_utf8_lossy(&reply)
                    );
                    rtts.push(t0.elapsed());
                }
            }
            rtts
        });
    }
    let mut rtts = Vec::new();
    while let Some(r) = set.join_next().await {
        rtts.extend(r.expect("a worker"));
    }
    (rtts, start.elapsed())
}

// ---------------------------------------------------------------------------------------------
// Figures.

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Signed milliseconds `a - b`.
fn diff_ms(a: Duration, b: Duration) -> f64 {
    ms(a) - ms(b)
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn row(label: &str, mut v: Vec<f64>) {
    assert!(!v.is_empty(), "no samples for {label}");
    v.sort_by(f64::total_cmp);
    println!(
        "  {label:<58} {:>6} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
        v.len(),
        v[0],
        pct(&v, 50.0),
        pct(&v, 99.0),
        v[v.len() - 1]
    );
}

fn header(title: &str) {
    println!("\n{title}");
    println!(
        "  {:<58} {:>6} {:>9} {:>9} {:>9} {:>9}",
        "figure (ms)", "n", "min", "p50", "p99", "max"
    );
}

/// How long the harness means to hold each call of a turn, by call id: the fake tools hold
/// every call until all of the turn's calls have arrived (the barrier opens at the last
/// arrival), then release them in completion order (here by latency), each at
/// `max(start + L, barrier)` and at least 1 ms after the one before (crates/engine/src/replay/session.rs).
fn planned_waits(turn: &TurnTiming, latency: Duration) -> HashMap<&str, Duration> {
    let mut bars: Vec<_> = turn.bars.iter().collect();
    let open = bars.iter().map(|b| b.start).max().unwrap_or_default();
    bars.sort_by_key(|b| b.start + latency);
    let mut prev: Option<Duration> = None;
    let mut out = HashMap::new();
    for b in bars {
        let mut at = (b.start + latency).max(open);
        if let Some(p) = prev {
            at = at.max(p + Duration::from_millis(1));
        }
        out.insert(b.call_id.as_str(), at - b.start);
        prev = Some(at);
    }
    out
}

/// Per tool call, with "plan" the time the harness means to hold the call (L for a lone call):
/// the agent's round trip less the plan, the time the harness held it less the plan, and the
/// HTTP round trip outside the session (round trip less the harness's own start-to-end).
fn per_call(label: &str, case: &Case, runs: &[Run]) -> Vec<f64> {
    let (mut total, mut held, mut outside) = (Vec::new(), Vec::new(), Vec::new());
    for r in runs {
        let mut seen = HashMap::new();
        for t in &r.report.turns {
            let plan = planned_waits(t, case.latency);
            for b in &t.bars {
                let held = b.end.expect("every call ended") - b.start;
                seen.insert(b.call_id.as_str(), (held, plan[b.call_id.as_str()]));
            }
        }
        for (id, rtt) in &r.tool_rtts {
            let (bar, plan) = seen[id.as_str()];
            total.push(diff_ms(*rtt, plan));
            held.push(diff_ms(bar, plan));
            outside.push(diff_ms(*rtt, bar));
        }
    }
    row(&format!("{label}: round trip - plan"), total.clone());
    row(&format!("{label}:   held by the harness - plan"), held);
    row(&format!("{label}:   HTTP outside the session"), outside);
    total.sort_by(f64::total_cmp);
    total
}

/// MCP's per-call overhead beside the shim's: the difference of the round trip − plan
/// percentiles (the goal: p99 no more than 0.2 ms above the shim's).
fn mcp_beside_shim(label: &str, shim: &[f64], mcp: &[f64]) {
    println!(
        "  {label}: MCP - shim, round trip - plan: p50 {:+.3} ms, p99 {:+.3} ms",
        pct(mcp, 50.0) - pct(shim, 50.0),
        pct(mcp, 99.0) - pct(shim, 99.0)
    );
}

/// Per turn: the report's overhead, its wall time against the plan and the agent's end-to-end
/// time.
fn per_turn(label: &str, case: &Case, runs: &[Run]) {
    let turns = || runs.iter().flat_map(|r| &r.report.turns);
    row(
        &format!("{label}: overhead (TurnTiming)"),
        turns()
            .map(|t| ms(t.overhead.expect("a follow-up came")))
            .collect(),
    );
    row(
        &format!("{label}: tools' wall (TurnTiming)"),
        turns().map(|t| ms(t.wall)).collect(),
    );
    row(
        // The plan includes the harness's holds (barrier, completion order), which the
        // report takes out of `wall` and keeps in `held`: compare the span with both.
        &format!("{label}: tools' wall + held - planned span"),
        turns()
            .map(|t| {
                let plan = planned_waits(t, case.latency);
                let first = t.bars.iter().map(|b| b.start).min().unwrap_or_default();
                let last = t
                    .bars
                    .iter()
                    .map(|b| b.start + plan[b.call_id.as_str()])
                    .max()
                    .unwrap_or_default();
                diff_ms(t.wall + t.held, last - first)
            })
            .collect(),
    );
    row(
        &format!("{label}: end to end (agent)"),
        runs.iter()
            .flat_map(|r| &r.turn_e2e)
            .map(|d| ms(*d))
            .collect(),
    );
    let peaks: Vec<usize> = turns().map(|t| t.peak_in_flight).collect();
    let calls = turns().map(|t| t.calls).max().unwrap_or(0);
    let full = peaks.iter().filter(|&&p| p == calls).count();
    println!(
        "  {label}: all {calls} call(s) in flight at once in {full} of {} turns",
        peaks.len()
    );
}

/// CPU time used by this process so far (Linux: /proc/self/stat, in 1/100 s), if known.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn cpu_note(before: Option<Duration>, took: Duration, cores: usize) -> String {
    match (before, cpu_time()) {
        (Some(a), Some(b)) => format!(
            "; bench process CPU {:.0}% of {cores} core(s)",
            100.0 * (b - a).as_secs_f64() / took.as_secs_f64() / cores as f64
        ),
        _ => String::new(),
    }
}

/// Model requests per second with a fresh `MockRun` per run, `workers` agents side by side, and
/// the round trip under that load, printed; returns the rate.
async fn model_throughput(
    single0: &Arc<Case>,
    workers: usize,
    max_runs: usize,
    budget: Duration,
    cores: usize,
) -> f64 {
    let cpu0 = cpu_time();
    let (runs, took) = concurrent(single0, workers, max_runs, budget).await;
    let cpu = cpu_note(cpu0, took, cores);
    let model: usize = runs.iter().map(|r| r.model.len()).sum();
    let tools: usize = runs.iter().map(|r| r.tools.len()).sum();
    println!(
        "  model requests: {:.0}/s ({} runs, {model} model requests and {tools} tool calls in {:.2} s, \
         {workers} agents side by side; each run = fresh MockRun + 2 model requests + 1 tool call at 0 ms{cpu})",
        model as f64 / took.as_secs_f64(),
        runs.len(),
        took.as_secs_f64()
    );
    println!("  runs: {:.0}/s", runs.len() as f64 / took.as_secs_f64());
    // Per CPU-second of the whole bench process (server and agents): what the rate would be
    // with both cores to itself, less sensitive to the other work on a shared machine.
    if let (Some(a), Some(b)) = (cpu0, cpu_time()) {
        println!(
            "  model requests per CPU-second of the bench process: {:.0}",
            model as f64 / (b - a).as_secs_f64()
        );
    }
    let mut rtts: Vec<f64> = runs.iter().flat_map(|r| &r.model).map(|d| ms(*d)).collect();
    rtts.sort_by(f64::total_cmp);
    println!(
        "  model request round trip under that load: p50 {:.3} ms, p99 {:.3} ms",
        pct(&rtts, 50.0),
        pct(&rtts, 99.0)
    );
    model as f64 / took.as_secs_f64()
}

/// tooltape's model-request throughput beside a peer's at `addr`, one after the other, each for
/// the same time with the same 8 agents.
async fn peer(addr: SocketAddr, cores: usize) {
    let single0 = Arc::new(case("anthropic-single_call.json", 0));
    sequential(&single0, Via::Shim, 30, Duration::from_secs(2)).await;
    println!("\ntooltape: fresh mock per run, every request judged");
    let ours = model_throughput(&single0, AGENTS, 10_000, Duration::from_secs(3), cores).await;
    let workers = AGENTS;
    let budget = Duration::from_secs(3);
    // Warm the peer up, then measure.
    peer_requests(&single0, addr, workers, Duration::from_millis(500)).await;
    let cpu0 = cpu_time();
    let (mut rtts, took) = peer_requests(&single0, addr, workers, budget).await;
    let cpu = cpu_note(cpu0, took, cores);
    println!(
        "\npeer at {addr}: canned replies, nothing judged; a connection per run of {} requests",
        single0.requests.len()
    );
    let theirs = rtts.len() as f64 / took.as_secs_f64();
    println!(
        "  model requests: {theirs:.0}/s ({} requests in {:.2} s, {workers} agents side by side{cpu}; \
         the peer's own CPU not counted)",
        rtts.len(),
        took.as_secs_f64()
    );
    rtts.sort();
    let rtts: Vec<f64> = rtts.into_iter().map(ms).collect();
    println!(
        "  model request round trip under that load: p50 {:.3} ms, p99 {:.3} ms",
        pct(&rtts, 50.0),
        pct(&rtts, 99.0)
    );
    println!(
        "\ntooltape / peer, model requests per second: {:.2}",
        ours / theirs
    );
}

/// The cases both modes measure: one call at 0, 20 and 300 ms, 3 and 20 calls at 20 ms.
struct Cases {
    single0: Case,
    single20: Case,
    single300: Case,
    three20: Case,
    twenty20: Case,
}

impl Cases {
    fn load() -> Cases {
        Cases {
            single0: case("anthropic-single_call.json", 0),
            single20: case("anthropic-single_call.json", 20),
            single300: case("anthropic-single_call.json", 300),
            three20: case("anthropic-three_parallel.json", 20),
            twenty20: case("anthropic-twenty_parallel.json", 20),
        }
    }
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // The product's real-clock runtime (real-time scheduling where permitted).
    let rt = tooltape::replay::real_clock_runtime(Some(cores)).expect("a runtime");
    let begin = Instant::now();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "tooltape real-clock bench: {cores} core(s) (available_parallelism); server and agent share one \
         tokio runtime with {cores} worker(s); 127.0.0.1 only"
    );
    if !load.is_empty() {
        println!("load average before the bench: {}", load.trim());
    }
    println!(
        "every run is a fresh MockRun (time_scale 1.0) driven by a concurrent agent and must pass"
    );

    // `--peer HOST:PORT`: only the model-request throughput, tooltape's beside a canned-reply
    // mock's at that address, driven by the same agent (benches/compare/run.sh).
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--peer") {
        let addr: SocketAddr = args
            .get(i + 1)
            .and_then(|a| a.parse().ok())
            .expect("--peer HOST:PORT, e.g. --peer 127.0.0.1:2112");
        rt.block_on(peer(addr, cores));
        return;
    }

    // `cargo bench --bench server -- throughput [RUNS [AGENTS]]`: only the model-request
    // throughput phase, with RUNS runs and no time budget when given (for callgrind: a fixed
    // amount of work), AGENTS agents side by side (default 8).
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if args.first().map(String::as_str) == Some("throughput") {
        let runs: Option<usize> = args.get(1).map(|n| n.parse().expect("RUNS is a number"));
        let agents: usize = args
            .get(2)
            .map_or(AGENTS, |n| n.parse().expect("AGENTS is a number"));
        rt.block_on(async {
            let single0 = Arc::new(case("anthropic-single_call.json", 0));
            sequential(&single0, Via::Shim, 30, Duration::from_secs(2)).await;
            let (max, budget) = match runs {
                Some(n) => (n, Duration::from_secs(3600)),
                None => (10_000, Duration::from_secs(3)),
            };
            model_throughput(&single0, agents, max, budget, cores).await;
        });
        return;
    }

    // `cargo bench --bench server -- holds [N]`: only how precisely calls are held (issue #15,
    // goal 2), with enough samples that p99 is not the worst one: N lone calls at 300 ms
    // (default 200, a minute), 5N at 20 ms, N turns of 3 and of 20 calls at 20 ms.
    if args.first().map(String::as_str) == Some("holds") {
        let n: usize = args
            .get(1)
            .map_or(200, |n| n.parse().expect("N is a number"));
        let no_budget = Duration::from_secs(24 * 3600);
        rt.block_on(async {
            let Cases {
                single0,
                single20,
                single300,
                three20,
                twenty20,
            } = Cases::load();
            sequential(&single0, Via::Shim, 30, Duration::from_secs(2)).await;
            header(
                "Per tool call: anthropic-single_call (1 call per turn), fresh connection per call",
            );
            let runs20 = sequential(&single20, Via::Shim, 5 * n, no_budget).await;
            per_call("L = 20 ms", &single20, &runs20);
            let runs300 = sequential(&single300, Via::Shim, n, no_budget).await;
            per_call("L = 300 ms", &single300, &runs300);
            header("Per turn: calls at L = 20 ms each, all sent at once (completion by latency)");
            per_turn("1 call", &single20, &runs20);
            let runs3 = sequential(&three20, Via::Shim, n, no_budget).await;
            per_turn("3 calls", &three20, &runs3);
            per_call("3 calls, per call", &three20, &runs3);
            let runs20c = sequential(&twenty20, Via::Shim, n, no_budget).await;
            per_turn("20 calls", &twenty20, &runs20c);
            per_call("20 calls, per call", &twenty20, &runs20c);
        });
        println!("\nwhole bench: {:.1} s", begin.elapsed().as_secs_f64());
        return;
    }

    rt.block_on(async {
        let Cases {
            single0,
            single20,
            single300,
            three20,
            twenty20,
        } = Cases::load();

        // Warm up: page cache, allocator, connection paths.
        sequential(&single0, Via::Shim, 30, Duration::from_secs(2)).await;
        sequential(&single0, Via::McpSession, 10, Duration::from_secs(1)).await;
        sequential(&single0, Via::McpStateless, 10, Duration::from_secs(1)).await;

        header("Per tool call: anthropic-single_call (1 call per turn), fresh connection per call");
        let runs0 = sequential(&single0, Via::Shim, 500, Duration::from_secs(5)).await;
        per_call("L = 0 ms", &single0, &runs0);
        let runs20 = sequential(&single20, Via::Shim, 250, Duration::from_secs(8)).await;
        per_call("L = 20 ms", &single20, &runs20);
        let runs300 = sequential(&single300, Via::Shim, 40, Duration::from_secs(14)).await;
        per_call("L = 300 ms", &single300, &runs300);
        row(
            "model request round trip (keep-alive, plain JSON)",
            runs0
                .iter()
                .chain(&runs20)
                .flat_map(|r| &r.model_rtts)
                .map(|d| ms(*d))
                .collect(),
        );

        header("Per turn: calls at L = 20 ms each, all sent at once (completion by latency)");
        per_turn("1 call", &single20, &runs20);
        let runs3 = sequential(&three20, Via::Shim, 250, Duration::from_secs(8)).await;
        per_turn("3 calls", &three20, &runs3);
        let runs20c = sequential(&twenty20, Via::Shim, 150, Duration::from_secs(10)).await;
        per_turn("20 calls", &twenty20, &runs20c);
        per_call("20 calls, per call", &twenty20, &runs20c);

        header(
            "MCP beside the shim, per tool call: runs taken in turn (shim, MCP session, MCP stateless), \
             fresh connection per call",
        );
        let vias = [Via::Shim, Via::McpSession, Via::McpStateless];
        for (case, n, secs) in [(&single0, 400, 9), (&three20, 150, 12)] {
            let runs = interleaved(case, &vias, n, Duration::from_secs(secs)).await;
            let l = case.latency.as_millis();
            let calls = case.scenario.turns[0].len();
            let shim = per_call(&format!("shim, {calls} call(s), L = {l} ms"), case, &runs[0]);
            let session = per_call(
                &format!("MCP 2025 session, {calls} call(s), L = {l} ms"),
                case,
                &runs[1],
            );
            let stateless = per_call(
                &format!("MCP 2026 stateless, {calls} call(s), L = {l} ms"),
                case,
                &runs[2],
            );
            mcp_beside_shim(&format!("2025 session, {calls} call(s)"), &shim, &session);
            mcp_beside_shim(&format!("2026 stateless, {calls} call(s)"), &shim, &stateless);
            if calls > 1 {
                per_turn(&format!("MCP 2025 session, {calls} calls"), case, &runs[1]);
            }
        }

        println!("\nThroughput (loopback, bounded in count and time)");
        let single0 = Arc::new(single0);
        model_throughput(&single0, AGENTS, 10_000, Duration::from_secs(3), cores).await;

        let workers = 16;
        let twenty0 = Arc::new(case("anthropic-twenty_parallel.json", 0));
        let cpu0 = cpu_time();
        let (runs, took) = concurrent(&twenty0, workers, 2000, Duration::from_secs(4)).await;
        let cpu = cpu_note(cpu0, took, cores);
        let tools: usize = runs.iter().map(|r| r.tools.len()).sum();
        println!(
            "  tool calls: {:.0}/s ({} runs, {tools} tool calls in {:.2} s, {workers} runs side by side, \
             20 calls at 0 ms per run, each on its own connection: up to {} connections open{cpu})",
            tools as f64 / took.as_secs_f64(),
            runs.len(),
            took.as_secs_f64(),
            workers * 20
        );
        let mut rtts: Vec<f64> = runs
            .iter()
            .flat_map(|r| &r.tools)
            .map(|d| ms(*d))
            .collect();
        rtts.sort_by(f64::total_cmp);
        println!(
            "  tool call round trip under that load: p50 {:.3} ms, p99 {:.3} ms",
            pct(&rtts, 50.0),
            pct(&rtts, 99.0)
        );
    });
    println!("\nwhole bench: {:.1} s", begin.elapsed().as_secs_f64());
}
