//! The recording proxy: an HTTP server on 127.0.0.1 that forwards every request to the real
//! API unchanged (method, path, query, body, headers but hop-by-hop ones and `Host`) and relays
//! the reply chunk by chunk as it arrives, so a streamed reply's time to first token is the
//! upstream's own. Each chunk is also fed to a [`Capture`] on its way through.
//!
//! One header is changed: `Accept-Encoding` becomes `identity`, so that replies arrive as plain
//! text the recorder can read (the proxy never decodes or re-encodes a body).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::Value;

use super::log::{Capture, Entry, Log, State as EntryState};
use crate::cassette::{LoadedCassette, RecordedReply};
use crate::provider;
use crate::provider::Provider;

/// The largest request body the proxy accepts.
const MAX_REQUEST_BODY: usize = 64 * 1024 * 1024;

/// Where requests go: each API's upstream (its public endpoint, or one `--upstream` for all).
#[derive(Debug, Clone)]
pub struct Upstreams {
    by_api: Vec<(Provider, reqwest::Url)>,
}

impl Upstreams {
    /// The providers' public endpoints, or `one` for everything (`--upstream`).
    pub fn new(one: Option<&str>) -> Result<Self, super::RecordError> {
        let parse = |s: &str| {
            let url = reqwest::Url::parse(s).map_err(|e| super::RecordError::BadUpstream {
                url: s.to_string(),
                message: e.to_string(),
            })?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(super::RecordError::BadUpstream {
                    url: s.to_string(),
                    message: "not an http:// or https:// URL".into(),
                });
            }
            if url.query().is_some() {
                return Err(super::RecordError::BadUpstream {
                    url: s.to_string(),
                    message: "a base URL takes no query string".into(),
                });
            }
            Ok(url)
        };
        let one = one.map(parse).transpose()?;
        let by_api = Provider::ALL
            .into_iter()
            .map(|p| {
                let url = match &one {
                    Some(u) => u.clone(),
                    None => parse(p.format().upstream())?,
                };
                Ok((p, url))
            })
            .collect::<Result<_, super::RecordError>>()?;
        Ok(Upstreams { by_api })
    }

    /// The base a request goes to: its API's (by its path, else by headers only that API's
    /// clients send), else the registry's fallback.
    fn base(&self, provider: Option<Provider>, headers: &HeaderMap) -> &reqwest::Url {
        let p = provider
            .or_else(|| {
                Provider::ALL.into_iter().find(|p| {
                    p.format()
                        .header_signs()
                        .iter()
                        .any(|h| headers.contains_key(*h))
                })
            })
            .unwrap_or(crate::provider::FALLBACK_UPSTREAM);
        self.by_api
            .iter()
            .find(|(q, _)| *q == p)
            .map(|(_, u)| u)
            .unwrap_or(&self.by_api[0].1)
    }

    /// The upstream URL for a path and query; a model call goes to its API's own path (a
    /// client may post to a short alias the mock also serves).
    fn url(
        &self,
        provider: Option<Provider>,
        headers: &HeaderMap,
        path: &str,
        query: Option<&str>,
    ) -> String {
        let base = self.base(provider, headers).as_str().trim_end_matches('/');
        let path = match provider {
            Some(p) => p.format().upstream_path(path),
            None => std::borrow::Cow::Borrowed(path),
        };
        match query {
            Some(q) => format!("{base}{path}?{q}"),
            None => format!("{base}{path}"),
        }
    }

    /// How the upstreams read in messages: one URL, or each URL with the APIs it serves.
    pub fn describe(&self) -> String {
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        for (p, u) in &self.by_api {
            let u = u.as_str().trim_end_matches('/');
            match groups.iter_mut().find(|(url, _)| *url == u) {
                Some((_, apis)) => apis.push(p.as_str()),
                None => groups.push((u, vec![p.as_str()])),
            }
        }
        if groups.len() == 1 {
            return groups[0].0.to_string();
        }
        groups
            .iter()
            .map(|(u, apis)| format!("{u} ({})", apis.join(", ")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `--mode new`: the old cassette's replies, served to the run's first requests in order.
pub struct Replay {
    cassette: LoadedCassette,
    /// The next exchange to serve, and the last request served (to answer SDK retries).
    next: Mutex<(usize, Option<(Bytes, usize)>)>,
}

impl Replay {
    /// Serve `cassette`'s replies first.
    pub fn new(cassette: LoadedCassette) -> Self {
        Replay {
            cassette,
            next: Mutex::new((0, None)),
        }
    }
}

struct Proxy {
    log: Arc<Log>,
    upstreams: Upstreams,
    client: reqwest::Client,
    replay: Option<Replay>,
}

/// A running proxy.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it saw.
    pub log: Arc<Log>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stop serving; replies still in flight are cut (their entries say so).
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if tokio::time::timeout(Duration::from_millis(200), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
            let _ = (&mut self.task).await;
        }
    }
}

/// Start the proxy on 127.0.0.1, any free port.
pub async fn start(upstreams: Upstreams, replay: Option<Replay>) -> std::io::Result<Running> {
    // TLS by rustls with ring (reqwest's own default, aws-lc, needs a C toolchain and cmake to
    // build). Installing fails only when a provider is already installed, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(30))
        .build()
        .map_err(std::io::Error::other)?;
    let log = Arc::new(Log::default());
    let state = Arc::new(Proxy {
        log: log.clone(),
        upstreams,
        client,
        replay,
    });
    let app = Router::new().fallback(forward).with_state(state);
    let (addr, tx, task) = crate::server::listen(app, 0).await?;
    Ok(Running {
        addr,
        log,
        shutdown: Some(tx),
        task,
    })
}

/// Headers that belong to one connection, not to the message (RFC 9110 §7.6.1).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The end-to-end headers of `headers` (`skip`: more names to leave out).
fn end_to_end(headers: &HeaderMap, skip: &[&str]) -> Vec<(HeaderName, HeaderValue)> {
    let listed: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    headers
        .iter()
        .filter(|(n, _)| {
            let n = n.as_str();
            !HOP_BY_HOP.contains(&n) && !skip.contains(&n) && !listed.iter().any(|l| l == n)
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

async fn forward(State(p): State<Arc<Proxy>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_REQUEST_BODY).await {
        Ok(b) => b,
        Err(e) => {
            return error_response(
                None,
                StatusCode::BAD_REQUEST,
                &format!("tooltape record: could not read the request body: {e}"),
            );
        }
    };
    let retry = parts
        .headers
        .get("x-stainless-retry-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(0);
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    p.log.credentials_from(&parts.headers, query.as_deref());
    let entry = Entry::new(
        parts.method.to_string(),
        path.clone(),
        query.clone(),
        body.clone(),
        retry,
    );
    let provider = entry.provider;
    let arrived = entry.arrived;
    let index = p.log.register(entry);

    if let (Some(replay), Some(_)) = (&p.replay, provider)
        && let Some(response) = serve_old(&p.log, index, replay, &parts.uri, &body, retry)
    {
        return response;
    }

    let url = p
        .upstreams
        .url(provider, &parts.headers, &path, query.as_deref());
    let mut upstream = p.client.request(parts.method.clone(), &url);
    for (name, value) in end_to_end(
        &parts.headers,
        &["host", "content-length", "accept-encoding"],
    ) {
        upstream = upstream.header(name, value);
    }
    let upstream = upstream
        .header(header::ACCEPT_ENCODING, "identity")
        .body(body);
    let reply = match upstream.send().await {
        Ok(r) => r,
        Err(e) => {
            let why = format!("could not reach {}: {}", base_of(&url), error_chain(&e));
            tracing::warn!(path = %path, "{why}");
            p.log.update(index, |en| {
                en.ended = Some(Instant::now());
                en.state = EntryState::Failed(why.clone());
            });
            return error_response(
                provider,
                StatusCode::BAD_GATEWAY,
                &format!("tooltape record: {why}"),
            );
        }
    };
    let status = reply.status();
    let streamed = reply
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/event-stream")
        });
    p.log.cookies_from(reply.headers());
    tracing::debug!(
        method = %parts.method,
        path = %path,
        upstream = %base_of(&url),
        status = status.as_u16(),
        streamed,
        "proxied a model request"
    );
    p.log.update(index, |en| {
        en.status = Some(status.as_u16());
        en.streamed = streamed;
    });
    let mut builder = Response::builder().status(status.as_u16());
    for (name, value) in end_to_end(reply.headers(), &[]) {
        builder = builder.header(name, value);
    }
    let capture = Capture::new(
        p.log.clone(),
        index,
        streamed,
        arrived,
        reply.content_length(),
    );
    let relay = futures_util::stream::unfold(
        (reply.bytes_stream(), Some(capture)),
        |(mut upstream, mut capture)| async move {
            let c = capture.as_mut()?;
            match upstream.next().await {
                Some(Ok(chunk)) => {
                    c.chunk(&chunk);
                    Some((Ok(chunk), (upstream, capture)))
                }
                Some(Err(e)) => {
                    let why = format!("the upstream reply broke off: {}", error_chain(&e));
                    c.end(Some(why.clone()));
                    Some((Err(std::io::Error::other(why)), (upstream, None)))
                }
                None => {
                    c.end(None);
                    None
                }
            }
        },
    );
    builder
        .body(Body::from_stream(relay))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

/// `--mode new`: answer from the old cassette while it has replies left.
fn serve_old(
    log: &Log,
    index: usize,
    replay: &Replay,
    uri: &axum::http::Uri,
    body: &Bytes,
    retry: u32,
) -> Option<Response> {
    let endpoint = provider::route("POST", uri.path(), uri.query())?;
    let provider = endpoint.provider;
    let old = replay.cassette.provider();
    if provider != old {
        let why = format!("the old cassette is {old}; this request is for the {provider} API");
        log.update(index, |e| {
            e.state = EntryState::Failed(why.clone());
            e.ended = Some(Instant::now());
        });
        return Some(error_response(
            Some(provider),
            StatusCode::BAD_REQUEST,
            &format!("tooltape record --mode new: {why}"),
        ));
    }
    let served = {
        let mut next = replay.next.lock().unwrap_or_else(|e| e.into_inner());
        let again = match &next.1 {
            Some((prev, i)) if retry > 0 && prev == body => Some(*i),
            _ => None,
        };
        match again {
            Some(i) => i,
            None if next.0 < replay.cassette.cassette.exchanges.len() => {
                let i = next.0;
                *next = (i + 1, Some((body.clone(), i)));
                i
            }
            None => return None,
        }
    };
    // The URL says (Gemini), else the body's `"stream": true`.
    let stream = endpoint.stream.unwrap_or_else(|| {
        serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("stream").and_then(Value::as_bool))
            == Some(true)
    });
    let fmt = provider::format(provider);
    let response = if stream {
        let events = match &replay.cassette.cassette.exchanges[served].reply {
            RecordedReply::Stream(events) => Ok(events.clone()),
            RecordedReply::Body(b) => fmt.stream_from_reply(b),
        };
        match events {
            Ok(events) => {
                let wire: String = endpoint.framing.wire(&events).concat();
                (
                    [(header::CONTENT_TYPE, endpoint.framing.content_type())],
                    wire,
                )
                    .into_response()
            }
            Err(e) => error_response(
                Some(provider),
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!(
                    "tooltape record: cannot stream exchange {served} of the old cassette: {e}"
                ),
            ),
        }
    } else {
        (
            StatusCode::OK,
            axum::Json(replay.cassette.reply_bodies[served].clone()),
        )
            .into_response()
    };
    log.update(index, |e| {
        e.replayed = Some(served);
        e.status = Some(response.status().as_u16());
        e.ended = Some(Instant::now());
        e.state = EntryState::Done;
    });
    Some(response)
}

/// The proxy's own error, in the API's error shape, marked not to be retried.
fn error_response(provider: Option<Provider>, status: StatusCode, message: &str) -> Response {
    let body = match provider {
        Some(p) => provider::format(p).error_body(message),
        None => serde_json::json!({"error": {"type": "proxy_error", "message": message}}),
    };
    let mut r = (status, axum::Json(body)).into_response();
    if status.is_client_error() {
        r.headers_mut()
            .insert("x-should-retry", HeaderValue::from_static("false"));
    }
    r
}

fn base_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// An error with its causes (reqwest's own message is often just "error sending request").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cause = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_urls_join_base_path_and_query() {
        let u = Upstreams::new(None).unwrap();
        let h = HeaderMap::new();
        assert_eq!(
            u.url(
                Some(Provider::Anthropic),
                &h,
                "/v1/messages",
                Some("beta=true")
            ),
            "https://api.anthropic.com/v1/messages?beta=true"
        );
        assert_eq!(
            u.url(Some(Provider::OpenAiResponses), &h, "/v1/responses", None),
            "https://api.openai.com/v1/responses"
        );
        assert_eq!(
            u.url(
                Some(Provider::Gemini),
                &h,
                "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
                Some("alt=sse")
            ),
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        );
        let mut goog = HeaderMap::new();
        goog.insert("x-goog-api-key", HeaderValue::from_static("k"));
        assert_eq!(
            u.url(None, &goog, "/v1beta/models", None),
            "https://generativelanguage.googleapis.com/v1beta/models",
            "a Gemini client's other calls go to Google"
        );
        let mut ant = HeaderMap::new();
        ant.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        assert_eq!(
            u.url(None, &ant, "/v1/models", None),
            "https://api.anthropic.com/v1/models"
        );
        assert_eq!(
            u.url(Some(Provider::Anthropic), &h, "/messages", None),
            "https://api.anthropic.com/v1/messages",
            "the alias @ai-sdk/anthropic posts to goes to the real path upstream"
        );
        assert_eq!(
            u.describe(),
            "https://api.anthropic.com (anthropic), https://api.openai.com (openai-chat, openai-responses), https://generativelanguage.googleapis.com (gemini)"
        );
        let one = Upstreams::new(Some("http://127.0.0.1:9/gw/")).unwrap();
        assert_eq!(
            one.url(Some(Provider::OpenAiChat), &h, "/v1/chat/completions", None),
            "http://127.0.0.1:9/gw/v1/chat/completions"
        );
        assert_eq!(one.describe(), "http://127.0.0.1:9/gw");
    }

    #[test]
    fn bad_upstreams_are_refused() {
        for bad in ["localhost:8080", "ftp://x", "http://x/?a=1", "not a url"] {
            assert!(Upstreams::new(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn hop_by_hop_and_connection_listed_headers_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-private"),
        );
        h.insert("x-private", HeaderValue::from_static("1"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1"));
        h.insert("x-api-key", HeaderValue::from_static("k"));
        let kept: Vec<String> = end_to_end(&h, &["host"])
            .into_iter()
            .map(|(n, _)| n.to_string())
            .collect();
        assert_eq!(kept, ["x-api-key"]);
    }

    #[test]
    fn base_of_keeps_scheme_and_authority() {
        assert_eq!(
            base_of("https://api.openai.com/v1/x?y"),
            "https://api.openai.com"
        );
        assert_eq!(base_of("http://127.0.0.1:9"), "http://127.0.0.1:9");
    }
}
