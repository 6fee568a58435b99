//! A small agent for the recording tests, run as the command under `tooltape record`: this very
//! test binary, started with `helper_agent --exact` and `TOOLTAPE_TEST_AGENT` set. It speaks
//! the provider's HTTP API through the base-URL variables (no SDK, no Python), runs the calls of
//! each reply concurrently through `TOOLTAPE_TOOLS_URL` (or answers `ok` without it), and loops
//! until a reply asks for no tools.
//!
//! - `TOOLTAPE_TEST_AGENT`: `loop`, or `hang` (after the first reply, write the pid to
//!   `TOOLTAPE_TEST_READY` and sleep), or `probe` (no request: write to `TOOLTAPE_TEST_READY`
//!   the base URL it was given and whether the proxy's port answers on this host's other
//!   address, then exit).
//! - `TOOLTAPE_TEST_CASSETTE`: the cassette whose first request is sent (the provider too).
//! - `TOOLTAPE_TEST_STREAM=1`: ask for streams.
//! - `TOOLTAPE_TEST_PROMPT`: a user message added to the first request.
//! - `TOOLTAPE_TEST_QUERY`: a query string added to every model request's URL.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tooltape::provider::Provider;
use tooltape::provider::{self, ResultBlock, SseEvent};
use tooltape::record::sse::SseParser;
use tooltape::transcript::ToolCall;

/// Run the agent when this process was started as one; exits the process.
pub fn run_if_asked() {
    let Ok(mode) = std::env::var("TOOLTAPE_TEST_AGENT") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let code = match rt.block_on(agent(&mode)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("test agent: {e}");
            1
        }
    };
    std::process::exit(code);
}

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

async fn agent(mode: &str) -> Result<(), String> {
    if mode == "probe" {
        return probe();
    }
    let cassette = tooltape::cassette::load(Path::new(&var("TOOLTAPE_TEST_CASSETTE")?))
        .map_err(|e| e.to_string())?;
    let provider = cassette.provider();
    let fmt = provider::format(provider);
    let stream = std::env::var("TOOLTAPE_TEST_STREAM").is_ok_and(|v| v == "1");
    let mut request = cassette.cassette.exchanges[0].request.clone();
    if provider != Provider::Gemini {
        // Gemini's URL says whether it streams.
        request["stream"] = json!(stream);
    }
    if let Ok(extra) = std::env::var("TOOLTAPE_TEST_PROMPT") {
        fmt.history_mut(&mut request)
            .map_err(|e| e.to_string())?
            .push(fmt.user_text_entry(&extra));
    }
    // tooltape's reqwest has no TLS provider of its own (ring is installed where needed).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let mut first = true;
    loop {
        let body = ask(&client, provider, &request, stream).await?;
        if mode == "hang" && std::mem::take(&mut first) {
            std::fs::write(var("TOOLTAPE_TEST_READY")?, std::process::id().to_string())
                .map_err(|e| e.to_string())?;
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        let reply = fmt.parse_reply(&body).map_err(|e| e.to_string())?;
        let calls: Vec<ToolCall> = reply.calls().into_iter().cloned().collect();
        if calls.is_empty() {
            return Ok(());
        }
        let results =
            futures_util::future::join_all(calls.iter().map(|c| run_tool(&client, c))).await;
        let history = fmt.history_mut(&mut request).map_err(|e| e.to_string())?;
        history.extend(fmt.history_entries(&body).map_err(|e| e.to_string())?);
        history.extend(fmt.results_entries(&results, None));
    }
}

/// The base URL given, and how the proxy's port answers on this host's non-loopback address
/// (`refused`, `connected`, or `none` when the host has no such address).
fn probe() -> Result<(), String> {
    let base = var("ANTHROPIC_BASE_URL")?;
    let url = reqwest::Url::parse(&base).map_err(|e| e.to_string())?;
    let port = url.port().ok_or("no port")?;
    let other = match other_address() {
        Some(ip) => {
            let at = std::net::SocketAddr::new(ip, port);
            match std::net::TcpStream::connect_timeout(&at, Duration::from_secs(2)) {
                Ok(_) => format!("{ip} connected"),
                Err(_) => format!("{ip} refused"),
            }
        }
        None => "none".into(),
    };
    std::fs::write(var("TOOLTAPE_TEST_READY")?, format!("{base}\n{other}\n"))
        .map_err(|e| e.to_string())
}

/// This host's address on its default route (a UDP "connect" sends nothing), if not loopback.
pub fn other_address() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

async fn ask(
    client: &reqwest::Client,
    provider: Provider,
    request: &Value,
    stream: bool,
) -> Result<Value, String> {
    let (url, auth) = match provider {
        Provider::Anthropic => (
            format!("{}/v1/messages", var("ANTHROPIC_BASE_URL")?),
            ("x-api-key", var("ANTHROPIC_API_KEY")?),
        ),
        // The key both ways Gemini takes it: the header and `?key=`.
        Provider::Gemini => {
            let key = var("GEMINI_API_KEY")?;
            let method = if stream {
                "streamGenerateContent?alt=sse&"
            } else {
                "generateContent?"
            };
            (
                format!(
                    "{}/v1beta/models/gemini-2.5-flash:{method}key={key}",
                    var("GOOGLE_GEMINI_BASE_URL")?
                ),
                ("x-goog-api-key", key),
            )
        }
        p => {
            let path = if p == Provider::OpenAiChat {
                "chat/completions"
            } else {
                "responses"
            };
            (
                format!("{}/{path}", var("OPENAI_BASE_URL")?),
                (
                    "authorization",
                    format!("Bearer {}", var("OPENAI_API_KEY")?),
                ),
            )
        }
    };
    let url = match std::env::var("TOOLTAPE_TEST_QUERY") {
        Ok(q) => format!("{url}?{q}"),
        Err(_) => url,
    };
    let mut r = client
        .post(&url)
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01")
        .header("x-stainless-retry-count", "0")
        .header(auth.0, auth.1)
        .body(request.to_string())
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .map_err(|e| format!("POST {url}: {e}"))?;
    let status = r.status();
    if !status.is_success() {
        let text = r.text().await.unwrap_or_default();
        return Err(format!("the model API answered {status}: {text}"));
    }
    if !stream {
        let bytes = r.bytes().await.map_err(|e| e.to_string())?;
        return serde_json::from_slice(&bytes).map_err(|e| e.to_string());
    }
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    while let Some(chunk) = r
        .chunk()
        .await
        .map_err(|e| format!("the stream broke: {e}"))?
    {
        events.extend(parser.push(&chunk).into_iter().map(|f| SseEvent {
            event: f.event,
            data: f.data,
            gap_ms: 0,
        }));
    }
    provider
        .format()
        .reply_from_stream(&events)
        .map_err(|e| e.to_string())
}

async fn run_tool(client: &reqwest::Client, call: &ToolCall) -> ResultBlock {
    let done = |content: String, is_error| ResultBlock {
        call_id: call.id.clone(),
        name: call.name.clone(),
        content,
        is_error,
    };
    let Ok(base) = std::env::var("TOOLTAPE_TOOLS_URL") else {
        return done(format!("{} ok", call.name), false);
    };
    let sent = client
        .post(format!("{base}/{}", call.name))
        .header("content-type", "application/json")
        .body(call.input.to_string())
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    match sent {
        Ok(r) => {
            let ok = r.status().is_success();
            let text = r.text().await.unwrap_or_default();
            done(text, !ok)
        }
        Err(e) => done(format!("Error: {e}"), true),
    }
}
