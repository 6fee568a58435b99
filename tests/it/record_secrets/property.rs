//! Random credentials, random places, random encodings, random cuts: whatever is written holds
//! none of them in any form a reader can reassemble, and a cassette that holds none is never
//! refused.
//!
//! Each case is one run: a credential (an Anthropic, OpenAI or Google key, an opaque hex key, a
//! JWT), known to the run (in its environment) or not, encoded (raw, `\u` escapes, base64 —
//! plain, URL-safe, line-wrapped, twice —, hex, percent-encoding) and put in a request header,
//! a query parameter, a prompt, a secret-named JSON member, the text or the tool arguments of
//! a stream cut at random points (Anthropic, OpenAI Chat, OpenAI Responses, Gemini's shape),
//! or nowhere; amid realistic text (hashes, UUIDs, random base64 and hex data). The run goes
//! through the recorder's redaction and final scan in-process ([`super::support::Pipeline`]).
//!
//! The judge, [`reader_texts`], is written apart from the recorder's own decoders: every JSON
//! string, every member name, every stream path's deltas joined, and, recursively (three levels
//! deep, one more than the encodings here need), every escape, percent, base64 and hex decoding of
//! those, line breaks dropped. It looks for the whole credential and, for a key the patterns
//! mask, for each 16-character slice of it (a mask that stopped short leaves one).
//!
//! Cost: about 4 ms of CPU per case in a debug build, so `cargo test` runs 1,000 cases and
//! `ten_thousand_cases` (ignored) the full 10,000.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError};
use serde_json::{Value, json};
use tooltape::provider::{Provider, SseEvent};
use tooltape::record::redact::MASK;

use super::support::{Pipeline, stream_of};

/// What a credential looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Anthropic,
    OpenAi,
    Google,
    Hex,
    Jwt,
}

impl Kind {
    /// Whether the built-in patterns know it (an opaque hex key is found only as the run's).
    fn has_pattern(self) -> bool {
        self != Kind::Hex
    }
}

/// How it is written.
#[derive(Debug, Clone)]
enum Encoding {
    Raw,
    /// Characters as `\uXXXX`: all of them, or those whose bit in the mask is set.
    Escapes(Option<u64>),
    /// Base64, URL-safe or not, with some text before the key inside it.
    Base64 {
        url_safe: bool,
        inner_prefix: bool,
    },
    /// Base64 cut into lines of this width, CRLF or LF.
    Wrapped {
        width: usize,
        crlf: bool,
    },
    /// Base64 of base64.
    Twice,
    Hex {
        upper: bool,
    },
    /// Every byte as `%HH`.
    Percent,
}

impl Encoding {
    fn apply(&self, secret: &str) -> String {
        match self {
            Encoding::Raw => secret.to_string(),
            Encoding::Escapes(mask) => secret
                .chars()
                .enumerate()
                .map(|(i, c)| match mask {
                    Some(m) if m >> (i % 64) & 1 == 0 => c.to_string(),
                    _ => format!("\\u{:04x}", c as u32),
                })
                .collect(),
            Encoding::Base64 {
                url_safe,
                inner_prefix,
            } => {
                let inner = if *inner_prefix {
                    format!("token={secret}")
                } else {
                    secret.to_string()
                };
                if *url_safe {
                    URL_SAFE_NO_PAD.encode(inner)
                } else {
                    STANDARD.encode(inner)
                }
            }
            Encoding::Wrapped { width, crlf } => {
                let b = STANDARD.encode(format!("key: {secret}"));
                let lines: Vec<&str> = b
                    .as_bytes()
                    .chunks(*width)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect();
                lines.join(if *crlf { "\r\n" } else { "\n" })
            }
            Encoding::Twice => STANDARD.encode(STANDARD.encode(secret)),
            Encoding::Hex { upper } => secret
                .bytes()
                .map(|b| {
                    if *upper {
                        format!("{b:02X}")
                    } else {
                        format!("{b:02x}")
                    }
                })
                .collect(),
            Encoding::Percent => secret.bytes().map(|b| format!("%{b:02X}")).collect(),
        }
    }
}

/// Where it goes.
#[derive(Debug, Clone)]
enum Place {
    /// A request header the proxy saw (never in a cassette).
    Header(usize),
    /// A query parameter with a secret-bearing name, in this spelling.
    Query(usize),
    /// A prompt of the request.
    Prompt(Provider),
    /// A request member with a secret-bearing name.
    Member(Provider),
    /// A streamed reply's text, cut at these fractions of the encoded credential.
    Text(Provider, Vec<u16>),
    /// A streamed reply's tool arguments, cut likewise.
    Arguments(Provider, Vec<u16>),
    /// A Gemini-shaped stream's text, cut likewise.
    Gemini(Vec<u16>),
}

const HEADERS: &[(&str, &str)] = &[
    ("x-api-key", ""),
    ("authorization", "Bearer "),
    ("X-Amz-Security-Token", ""),
    ("private-token", ""),
    ("x-goog-api-key", ""),
    ("cookie", "session="),
];

const PARAMS: &[&str] = &[
    "client_secret",
    "access-token",
    "X-Amz-Security-Token",
    "x_amz_security_token",
    "private_token",
    "private-token",
    "key",
    "api_key",
    "token",
];

const MEMBERS: &[&str] = &[
    "client_secret",
    "api_key",
    "accessToken",
    "x-api-key",
    "password",
];

/// Text around the credential, as tool outputs and replies have it.
const FILLER: &[&str] = &[
    "Here is the output:",
    "commit 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b (HEAD -> main)",
    "pod web-6513270e-269e-4d37-b2a7-4de452e6b438 Running",
    "sha256:b29814cf5792e684cd75d6a7fce7a67a11887e312f87ca2ac2496d81f365ff72",
    "thumbnail data:image/png;base64,bA/TkB/yOaGglfIPk5VlDPk4C47bIkprJIoekk6P0K4uGpSS",
    "xxd: 42845de82a5bc539888ac78054a2399ccfc9fcc2da31ce3dd166bdcd3a33",
    "Temperature in Paris: 18°C, light rain — 東京は晴れ",
    "const SESSION_COOKIE = 'acme_sid'; api_key=os.environ[\"API\"]",
    "",
];

/// One run.
#[derive(Debug, Clone)]
struct Case {
    kind: Kind,
    secret: String,
    encoding: Encoding,
    place: Option<Place>,
    /// The run's environment has it (as this variable).
    known: Option<&'static str>,
    before: &'static str,
    after: &'static str,
}

fn kind() -> impl Strategy<Value = (Kind, String)> {
    let chars = |n: &str| proptest::string::string_regex(n).unwrap();
    prop_oneof![
        chars("[A-Za-z0-9_-]{93}").prop_map(|s| (Kind::Anthropic, format!("sk-ant-api03-{s}AA"))),
        chars("[A-Za-z0-9_-]{40,156}").prop_map(|s| (Kind::OpenAi, format!("sk-proj-{s}"))),
        chars("[0-9A-Za-z_-]{35}").prop_map(|s| (Kind::Google, format!("AIza{s}"))),
        prop_oneof![Just(32usize), Just(40), Just(64)]
            .prop_flat_map(move |n| chars(&format!("[0-9a-f]{{{n}}}")))
            .prop_map(|s| (Kind::Hex, s)),
        (chars("[A-Za-z0-9]{6,20}"), any::<[u8; 32]>()).prop_map(|(sub, sig)| {
            let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
            let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"{sub}","iat":1700000000}}"#));
            (
                Kind::Jwt,
                format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(sig)),
            )
        }),
    ]
}

fn encoding() -> impl Strategy<Value = Encoding> {
    prop_oneof![
        3 => Just(Encoding::Raw),
        1 => proptest::option::of(any::<u64>()).prop_map(Encoding::Escapes),
        1 => (any::<bool>(), any::<bool>())
            .prop_map(|(url_safe, inner_prefix)| Encoding::Base64 { url_safe, inner_prefix }),
        1 => (4usize..80, any::<bool>()).prop_map(|(width, crlf)| Encoding::Wrapped { width, crlf }),
        1 => Just(Encoding::Twice),
        1 => any::<bool>().prop_map(|upper| Encoding::Hex { upper }),
        1 => Just(Encoding::Percent),
    ]
}

fn api() -> impl Strategy<Value = Provider> {
    prop_oneof![
        Just(Provider::Anthropic),
        Just(Provider::OpenAiChat),
        Just(Provider::OpenAiResponses)
    ]
}

fn cuts() -> impl Strategy<Value = Vec<u16>> {
    proptest::collection::vec(0u16..=1000, 1..6)
}

fn place() -> impl Strategy<Value = Option<Place>> {
    prop_oneof![
        1 => Just(None),
        1 => (0..HEADERS.len()).prop_map(|i| Some(Place::Header(i))),
        1 => (0..PARAMS.len()).prop_map(|i| Some(Place::Query(i))),
        1 => api().prop_map(|a| Some(Place::Prompt(a))),
        1 => api().prop_map(|a| Some(Place::Member(a))),
        2 => (api(), cuts()).prop_map(|(a, c)| Some(Place::Text(a, c))),
        2 => (api(), cuts()).prop_map(|(a, c)| Some(Place::Arguments(a, c))),
        1 => cuts().prop_map(|c| Some(Place::Gemini(c))),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        kind(),
        encoding(),
        place(),
        prop_oneof![
            Just(None),
            Just(Some("SERVICE_API_KEY")),
            Just(Some("GITHUB_TOKEN")),
            Just(Some("MY_CLIENT_SECRET"))
        ],
        proptest::sample::select(FILLER),
        proptest::sample::select(FILLER),
    )
        .prop_map(|((kind, secret), encoding, place, known, before, after)| {
            // An opaque key in a body is found only as the run's own: it is the run's.
            let known = match (&place, known) {
                (Some(Place::Header(_) | Place::Query(_)) | None, k) => k,
                (_, None) if !kind.has_pattern() => Some("SERVICE_API_KEY"),
                (_, k) => k,
            };
            Case {
                kind,
                secret,
                encoding,
                place,
                known,
                before,
                after,
            }
        })
}

/// The text around the encoded credential, and where the credential is in it.
fn content(case: &Case) -> (String, std::ops::Range<usize>) {
    let encoded = case.encoding.apply(&case.secret);
    let head = format!("{} ", case.before);
    let text = format!("{head}{encoded} {}", case.after);
    (text, head.len()..head.len() + encoded.len())
}

/// Cut points: fractions of `span` (the credential), plus its ends sometimes.
fn cut_points(text: &str, span: &std::ops::Range<usize>, cuts: &[u16]) -> Vec<usize> {
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|&c| span.start + (span.len() * usize::from(c)) / 1000)
        .map(|mut i| {
            while !text.is_char_boundary(i) {
                i += 1;
            }
            i
        })
        .collect();
    at.push(0);
    at.push(text.len());
    at.sort_unstable();
    at.dedup();
    at
}

fn pieces_of(text: &str, at: &[usize]) -> Vec<String> {
    at.windows(2)
        .map(|w| text[w[0]..w[1]].to_string())
        .collect()
}

/// A minimal request of `provider` with one user message.
fn request(provider: Provider, text: &str) -> Value {
    match provider {
        Provider::Anthropic => {
            json!({"model": "claude-x", "max_tokens": 64, "stream": true, "messages": [{"role": "user", "content": text}]})
        }
        Provider::OpenAiChat => {
            json!({"model": "gpt-x", "stream": true, "messages": [{"role": "user", "content": text}]})
        }
        Provider::OpenAiResponses => {
            json!({"model": "gpt-x", "stream": true, "input": [{"role": "user", "content": text}]})
        }
        Provider::Gemini => json!({"contents": [{"role": "user", "parts": [{"text": text}]}]}),
    }
}

/// A reply of `provider` with this text, or with a tool call with these arguments.
fn reply(provider: Provider, text: Option<&str>, arguments: Option<&str>) -> Value {
    let Some(args) = arguments else {
        return provider
            .format()
            .text_reply("1", "model-x", text.unwrap_or("ok"));
    };
    // A tool call's arguments stay the exact text given where the API carries them as text (the
    // secret's bytes where the case put them), which `Format::calls_reply` would re-serialise.
    let usage = json!({"input_tokens": 1, "output_tokens": 1});
    match provider {
        Provider::Anthropic => json!({"id": "msg_1", "type": "message",
            "role": "assistant", "model": "claude-x", "content": [{"type": "tool_use",
            "id": "toolu_1", "name": "lookup", "input": serde_json::from_str::<Value>(args).unwrap()}],
            "stop_reason": "tool_use", "stop_sequence": null, "usage": usage}),
        Provider::OpenAiChat => json!({"id": "chatcmpl-1",
            "object": "chat.completion", "created": 1, "model": "gpt-x", "choices": [{"index": 0,
            "message": {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1",
            "type": "function", "function": {"name": "lookup", "arguments": args}}]},
            "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}),
        Provider::OpenAiResponses => json!({"id": "resp_1", "object": "response",
            "created_at": 1, "status": "completed", "model": "gpt-x", "output": [{"type": "function_call",
            "id": "fc_1", "call_id": "call_1", "name": "lookup", "arguments": args, "status": "completed"}],
            "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}}),
        Provider::Gemini => json!({"candidates": [{"content": {"role": "model",
            "parts": [{"functionCall": {"name": "lookup", "args": serde_json::from_str::<Value>(args).unwrap()}}]},
            "finishReason": "STOP"}], "modelVersion": "gemini-x", "responseId": "r-1"}),
    }
}

/// Where each provider's stream puts its deltas.
fn delta_pointer(provider: Provider, arguments: bool) -> &'static str {
    match (provider, arguments) {
        (Provider::Anthropic, false) => "/delta/text",
        (Provider::Anthropic, true) => "/delta/partial_json",
        (Provider::OpenAiChat, false) => "/choices/0/delta/content",
        (Provider::OpenAiChat, true) => "/choices/0/delta/tool_calls/0/function/arguments",
        (Provider::OpenAiResponses, _) => "/delta",
        (Provider::Gemini, false) => "/candidates/0/content/parts/0/text",
        // Gemini sends a call's arguments whole, as an object: no deltas to join.
        (Provider::Gemini, true) => panic!("Gemini does not stream arguments"),
    }
}

/// `events` with their deltas (which spell `whole`) sent again as `pieces`: the delta events
/// are emptied and one event per piece, shaped like the last of them, follows that one.
fn recut(
    provider: Provider,
    arguments: bool,
    events: Vec<SseEvent>,
    whole: &str,
    pieces: &[String],
) -> Vec<SseEvent> {
    let pointer = delta_pointer(provider, arguments);
    let mut parsed: Vec<Option<Value>> = events
        .iter()
        .map(|e| serde_json::from_str(&e.data).ok())
        .collect();
    let deltas: Vec<usize> = (0..events.len())
        .filter(|&i| {
            parsed[i]
                .as_ref()
                .and_then(|v| v.pointer(pointer))
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        })
        .collect();
    let joined: String = deltas
        .iter()
        .map(|&i| {
            parsed[i]
                .as_ref()
                .unwrap()
                .pointer(pointer)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(joined, whole, "{provider:?} deltas");
    let last = *deltas.last().expect("a delta");
    let template = parsed[last].clone().unwrap();
    let name = events[last].event.clone();
    let mut out = Vec::new();
    for (i, e) in events.into_iter().enumerate() {
        if deltas.contains(&i) {
            let v = parsed[i].as_mut().unwrap();
            *v.pointer_mut(pointer).unwrap() = json!("");
            out.push(SseEvent {
                data: v.to_string(),
                ..e
            });
        } else {
            out.push(e);
        }
        if i == last {
            for p in pieces {
                let mut v = template.clone();
                *v.pointer_mut(pointer).unwrap() = json!(p);
                out.push(SseEvent {
                    event: name.clone(),
                    data: v.to_string(),
                    gap_ms: 0,
                });
            }
        }
    }
    out
}

/// A Gemini-shaped stream: one chunk per piece of text.
fn gemini(pieces: &[String]) -> Vec<SseEvent> {
    let n = pieces.len();
    pieces
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut chunk = json!({"candidates": [{"content": {"parts": [{"text": p}], "role": "model"}, "index": 0}],
                "modelVersion": "gemini-2.5-flash", "responseId": "r-1"});
            if i + 1 == n {
                chunk["candidates"][0]["finishReason"] = json!("STOP");
                chunk["usageMetadata"] = json!({"promptTokenCount": 3, "candidatesTokenCount": 5});
            }
            SseEvent { event: None, data: chunk.to_string(), gap_ms: 0 }
        })
        .collect()
}

/// The run of `case` through the recorder's redaction and scan.
fn run(case: &Case) -> (Pipeline, bool) {
    let mut p = Pipeline::new().run_key(super::RUN_KEY);
    if let Some(var) = case.known {
        p = p.env(var, &case.secret);
    }
    let (text, span) = content(case);
    let filler = format!("{} {}", case.before, case.after);
    // Whether the cassette's bodies hold the credential (before redaction).
    let mut in_body = true;
    let p = match &case.place {
        None => {
            in_body = false;
            p.streamed(
                Provider::Anthropic,
                request(Provider::Anthropic, &filler),
                stream_of(
                    Provider::Anthropic,
                    &reply(Provider::Anthropic, Some(&filler), None),
                ),
            )
        }
        Some(Place::Header(i)) => {
            in_body = false;
            let (name, scheme) = HEADERS[*i];
            p.header(name, &format!("{scheme}{}", case.secret))
                .plain_reply(
                    Provider::OpenAiChat,
                    request(Provider::OpenAiChat, &filler),
                    &reply(Provider::OpenAiChat, Some(&filler), None),
                )
        }
        Some(Place::Query(i)) => {
            in_body = false;
            let value = match case.encoding {
                Encoding::Percent => Encoding::Percent.apply(&case.secret),
                _ => case.secret.clone(),
            };
            p.query(&format!("api-version=2024-10-21&{}={value}", PARAMS[*i]))
                .plain_reply(
                    Provider::Anthropic,
                    request(Provider::Anthropic, &filler),
                    &reply(Provider::Anthropic, Some(&filler), None),
                )
        }
        Some(Place::Prompt(api)) => p.plain_reply(
            *api,
            request(*api, &text),
            &reply(*api, Some(&filler), None),
        ),
        Some(Place::Member(api)) => {
            let mut r = request(*api, &filler);
            let member = MEMBERS[case.secret.len() % MEMBERS.len()];
            r["metadata"] = json!({ member: case.encoding.apply(&case.secret) });
            p.plain_reply(*api, r, &reply(*api, Some(&filler), None))
        }
        Some(Place::Text(api, cuts)) => {
            let events = stream_of(*api, &reply(*api, Some(&text), None));
            let pieces = pieces_of(&text, &cut_points(&text, &span, cuts));
            p.streamed(
                *api,
                request(*api, &filler),
                recut(*api, false, events, &text, &pieces),
            )
        }
        Some(Place::Arguments(api, cuts)) => {
            let args = json!({"q": text}).to_string();
            // Where the credential is in the arguments' JSON text (escaping is per character).
            let start = "{\"q\":\"".len() + escaped(&text[..span.start]).len();
            let span = start..start + escaped(&text[span.clone()]).len();
            let events = stream_of(*api, &reply(*api, None, Some(&args)));
            let pieces = pieces_of(&args, &cut_points(&args, &span, cuts));
            p.streamed(
                *api,
                request(*api, &filler),
                recut(*api, true, events, &args, &pieces),
            )
        }
        Some(Place::Gemini(cuts)) => {
            let pieces = pieces_of(&text, &cut_points(&text, &span, cuts));
            p.raw_stream(
                json!({"contents": [{"role": "user", "parts": [{"text": filler}]}]}),
                gemini(&pieces),
            )
        }
    };
    (p, in_body)
}

/// `s` as a JSON string's contents.
fn escaped(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap();
    quoted[1..quoted.len() - 1].to_string()
}

/// Every text a reader can get from `text`: the text, every JSON string and member name (JSON
/// inside strings too), every stream path's deltas joined, and recursively their decodings.
pub fn reader_texts(text: &str) -> Vec<String> {
    let mut views = Vec::new();
    match serde_json::from_str::<Value>(text) {
        Ok(v) => strings(&v, &mut views),
        Err(_) => views.push(text.to_string()),
    }
    let mut out = vec![text.to_string()];
    for v in views {
        decoded(&v, 3, &mut out);
    }
    out
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            out.push(s.clone());
            if let Ok(inner @ (Value::Object(_) | Value::Array(_))) =
                serde_json::from_str::<Value>(s)
            {
                strings(&inner, out);
            }
        }
        Value::Array(items) => {
            let data: Option<Vec<&str>> = items.iter().map(|e| e.get("data")?.as_str()).collect();
            if let Some(data) = data {
                let mut joined: std::collections::BTreeMap<String, String> = Default::default();
                for e in data
                    .iter()
                    .filter_map(|d| serde_json::from_str::<Value>(d).ok())
                {
                    leaves(&e, String::new(), &mut joined);
                }
                for (_, text) in joined {
                    strings(&Value::String(text), out);
                }
            }
            items.iter().for_each(|i| strings(i, out));
        }
        Value::Object(map) => {
            for (k, item) in map {
                out.push(k.clone());
                strings(item, out);
            }
        }
        _ => {}
    }
}

/// Each string leaf of `v` appended to the text of its path (array positions left out).
fn leaves(v: &Value, path: String, out: &mut std::collections::BTreeMap<String, String>) {
    match v {
        Value::String(s) => out.entry(path).or_default().push_str(s),
        Value::Array(items) => items
            .iter()
            .for_each(|i| leaves(i, format!("{path}[]"), out)),
        Value::Object(map) => map
            .iter()
            .for_each(|(k, i)| leaves(i, format!("{path}.{k}"), out)),
        _ => {}
    }
}

/// Base64 with or without padding, trailing bits allowed: what a forgiving reader decodes.
const LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

fn decoded(text: &str, depth: usize, out: &mut Vec<String>) {
    out.push(text.to_string());
    if depth == 0 {
        return;
    }
    let mut next = Vec::new();
    if text.contains('\\') {
        next.push(unescape(text));
    }
    if text.contains('%') {
        next.push(unpercent(text));
    }
    // Line breaks dropped: a wrapped encoding reads as one.
    let flat: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    let b64 = |c: char| c.is_ascii_alphanumeric() || "+/-_".contains(c);
    for run in flat.split(|c: char| !b64(c)).filter(|r| r.len() >= 12) {
        let std: Vec<u8> = run
            .bytes()
            .map(|c| match c {
                b'-' => b'+',
                b'_' => b'/',
                c => c,
            })
            .collect();
        for skip in 0..4 {
            let mut part = &std[skip..];
            if part.len() % 4 == 1 {
                part = &part[..part.len() - 1];
            }
            if let Ok(bytes) = LENIENT.decode(part) {
                next.push(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    for run in flat
        .split(|c: char| !c.is_ascii_hexdigit())
        .filter(|r| r.len() >= 16)
    {
        for skip in 0..2 {
            let bytes: Vec<u8> = run.as_bytes()[skip..]
                .chunks_exact(2)
                .filter_map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
                .collect();
            next.push(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    next.sort();
    next.dedup();
    for n in next {
        if n != text {
            decoded(&n, depth - 1, out);
        }
    }
}

/// `\uXXXX`, `\n`, `\"`, ... undone (what JSON.parse or a Python literal would do).
fn unescape(s: &str) -> String {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|\\([nrt"\\/'])"#).unwrap()
    });
    RE.replace_all(s, |c: &regex::Captures| {
        if let Some(h) = c.get(1).or(c.get(2)) {
            char::from_u32(u32::from_str_radix(h.as_str(), 16).unwrap())
                .unwrap_or('?')
                .to_string()
        } else {
            match &c[3] {
                "n" => "\n".into(),
                "r" => "\r".into(),
                "t" => "\t".into(),
                other => other.to_string(),
            }
        }
    })
    .into_owned()
}

fn unpercent(s: &str) -> String {
    static RE: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new("%([0-9a-fA-F]{2})").unwrap());
    let bytes = RE.replace_all(s, |c: &regex::Captures| {
        let b = u8::from_str_radix(&c[1], 16).unwrap();
        if b.is_ascii() {
            (b as char).to_string()
        } else {
            c[0].to_string()
        }
    });
    bytes.into_owned()
}

/// The pieces of `secret` a reader must not find: the whole, and for a key the patterns mask,
/// each 16-character slice of it past its fixed prefix (a mask that stopped short leaves one).
fn needles(case: &Case) -> Vec<String> {
    let mut out = vec![case.secret.clone()];
    if case.kind.has_pattern() {
        let skip = match case.kind {
            Kind::Anthropic => "sk-ant-api03-".len(),
            Kind::OpenAi => "sk-proj-".len(),
            Kind::Google => 4,
            _ => case.secret.find('.').map_or(0, |i| i + 1),
        };
        let body = &case.secret.as_bytes()[skip..];
        out.extend(
            body.chunks_exact(16)
                .map(|c| String::from_utf8_lossy(c).into_owned()),
        );
    }
    out
}

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Outcome {
    /// Written, with the credential masked (some mask in the text).
    Masked,
    /// Written, nothing masked.
    Clean,
    /// Refused: a credential of the run was found.
    Refused,
}

fn check(case: &Case) -> Result<Outcome, TestCaseError> {
    let (pipeline, in_body) = run(case);
    match pipeline.finish() {
        Ok(text) => {
            let texts = reader_texts(&text);
            for needle in needles(case) {
                if let Some(t) = texts.iter().find(|t| t.contains(&needle)) {
                    return Err(TestCaseError::fail(format!(
                        "{needle:?} of the credential is readable in {t:?}\nwritten:\n{text}"
                    )));
                }
            }
            // Nothing ordinary is masked: with no credential in the bodies, the only mask is
            // the secret-named query parameter's, in the notes.
            if !in_body {
                let want = usize::from(matches!(case.place, Some(Place::Query(_))));
                prop_assert_eq!(text.matches(MASK).count(), want, "masks in:\n{}", text);
            }
            Ok(if text.contains(MASK) {
                Outcome::Masked
            } else {
                Outcome::Clean
            })
        }
        Err(hit) => {
            prop_assert!(
                in_body && case.known.is_some(),
                "refused with no credential of the run in the cassette: {hit:?}"
            );
            let var = case.known.unwrap_or_default();
            prop_assert!(hit.source.contains(var), "{hit:?} is not {var}");
            Ok(Outcome::Refused)
        }
    }
}

/// Run `cases` random cases; fail on the first bad one (shrunk), else print what was covered
/// and check that every kind, encoding, place and outcome came up.
fn property(cases: u32) {
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    let seen: Mutex<BTreeMap<String, usize>> = Mutex::default();
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    };
    let started = std::time::Instant::now();
    let result = proptest::test_runner::TestRunner::new(config).run(&case(), |case| {
        let outcome = check(&case)?;
        let place = format!("{:?}", case.place);
        let place = place.split(['(', ',']).nth(1).unwrap_or("None").to_string();
        let encoding = format!("{:?}", case.encoding);
        let encoding = encoding
            .split([' ', '('])
            .next()
            .unwrap_or_default()
            .to_string();
        let mut seen = seen.lock().unwrap();
        for key in [
            format!("kind {:?}", case.kind),
            format!("encoding {encoding}"),
            format!("place {place}"),
            format!("outcome {outcome:?}"),
        ] {
            *seen.entry(key).or_default() += 1;
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let seen = seen.into_inner().unwrap();
    eprintln!("{cases} cases in {:.1?}: {seen:?}", started.elapsed());
    let want = [
        "kind Anthropic",
        "kind OpenAi",
        "kind Google",
        "kind Hex",
        "kind Jwt",
        "encoding Raw",
        "encoding Escapes",
        "encoding Base64",
        "encoding Wrapped",
        "encoding Twice",
        "encoding Hex",
        "encoding Percent",
        "place None",
        "place Header",
        "place Query",
        "place Prompt",
        "place Member",
        "place Text",
        "place Arguments",
        "place Gemini",
        "outcome Masked",
        "outcome Clean",
        "outcome Refused",
    ];
    for w in want {
        assert!(seen.contains_key(w), "no case had {w}: {seen:?}");
    }
}

/// The cases `cargo test` runs (`ten_thousand_cases` runs the full count).
const DEFAULT_CASES: u32 = 1000;

#[test]
fn no_credential_is_readable_in_a_written_cassette() {
    property(DEFAULT_CASES);
}

/// The full run: `cargo test --test record_secrets -- --ignored`.
#[test]
#[ignore = "10,000 cases: run with --ignored"]
fn ten_thousand_cases() {
    property(10_000);
}

/// The test's own machinery is right: a cut stream still reads as the reply, and the judge
/// finds each encoding.
#[test]
fn the_judge_reads_every_encoding_and_recut_streams_still_parse() {
    let secret = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789";
    for enc in [
        Encoding::Raw,
        Encoding::Escapes(None),
        Encoding::Escapes(Some(0b1010_1100)),
        Encoding::Base64 {
            url_safe: true,
            inner_prefix: true,
        },
        Encoding::Wrapped {
            width: 7,
            crlf: true,
        },
        Encoding::Twice,
        Encoding::Hex { upper: true },
        Encoding::Percent,
    ] {
        let text = json!({"a": {"b": format!("x {} y", enc.apply(secret))}}).to_string();
        assert!(
            reader_texts(&text).iter().any(|t| t.contains(secret)),
            "{enc:?}"
        );
    }
    for api in [
        Provider::Anthropic,
        Provider::OpenAiChat,
        Provider::OpenAiResponses,
    ] {
        for arguments in [false, true] {
            let text = "hello sk-ant-api03-abc world";
            let whole = if arguments {
                json!({"q": text}).to_string()
            } else {
                text.to_string()
            };
            let r = if arguments {
                reply(api, None, Some(&whole))
            } else {
                reply(api, Some(text), None)
            };
            let pieces: Vec<String> = whole.chars().map(String::from).collect();
            let events = recut(api, arguments, stream_of(api, &r), &whole, &pieces);
            let back = tooltape::provider::format(api)
                .reply_from_stream(&events)
                .expect("parses");
            let back = back.to_string();
            assert!(
                back.contains("sk-ant-api03-abc"),
                "{api:?} {arguments}: {back}"
            );
            let only_deltas: Vec<Value> = events
                .iter()
                .filter(|e| !e.data.contains(text) && !e.data.contains("sk-ant-api03-abc"))
                .map(|e| json!({"data": e.data}))
                .collect();
            let cassette = json!({"stream": only_deltas}).to_string();
            assert!(
                reader_texts(&cassette).iter().any(|t| t.contains(text)),
                "{api:?} {arguments}: the judge joins the deltas"
            );
        }
    }
}
