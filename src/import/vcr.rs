//! vcrpy / pytest-recording cassettes: the model calls among their interactions.
//!
//! vcrpy's YAML (its JSON serializer writes the same structure, which YAML also reads):
//!
//! ```yaml
//! interactions:
//! - request:
//!     body: '{"model":"claude-sonnet-4-6","messages":[...]}'
//!     headers: {x-api-key: [...]}
//!     method: POST
//!     uri: https://api.anthropic.com/v1/messages
//!   response:
//!     body: {string: !!binary "H4sIAAAA..."}
//!     headers: {Content-Encoding: [gzip], Content-Type: [application/json]}
//!     status: {code: 200, message: OK}
//! version: 1
//! ```
//!
//! Read with serde-saphyr into these typed structs (it has no untyped value); every error
//! names the line and column, and problems inside one interaction name it too
//! (`interactions[3].response.body`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::{Spanned, Tagged};

use super::{Found, body};
use crate::cassette::RecordedReply;
use crate::error::{Error, Location};
use crate::provider;
use crate::provider::Provider;

/// The vcrpy cassette format version this reads.
const VCR_VERSION: u32 = 1;

#[derive(Deserialize)]
struct VcrCassette {
    #[serde(default)]
    version: Option<Spanned<u32>>,
    interactions: Vec<Spanned<Interaction>>,
}

#[derive(Deserialize)]
struct Interaction {
    request: VcrRequest,
    response: VcrResponse,
}

#[derive(Deserialize)]
struct VcrRequest {
    method: String,
    uri: String,
    #[serde(default)]
    body: Option<Tagged<Option<String>>>,
    /// A JSON body kept as a YAML mapping (a custom serializer some agent frameworks use for
    /// their test cassettes writes `parsed_body` instead of `body` for JSON bodies).
    #[serde(default)]
    parsed_body: Option<Value>,
}

#[derive(Deserialize)]
struct VcrResponse {
    status: Status,
    #[serde(default)]
    headers: BTreeMap<String, HeaderValues>,
    #[serde(default)]
    body: Option<ResponseBody>,
    /// A JSON reply kept as a YAML mapping (see [`VcrRequest::parsed_body`]).
    #[serde(default)]
    parsed_body: Option<Value>,
}

#[derive(Deserialize)]
struct Status {
    code: u16,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct ResponseBody {
    #[serde(default)]
    string: Option<Tagged<Option<String>>>,
}

/// A header's values: vcrpy writes a list of strings; a lone scalar is accepted too. Only the
/// content type and encoding are ever read.
#[derive(Default)]
struct HeaderValues(Vec<String>);

impl<'de> Deserialize<'de> for HeaderValues {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HeaderValues;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a header value or a list of them")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<HeaderValues, E> {
                Ok(HeaderValues(vec![s.to_string()]))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<HeaderValues, E> {
                Ok(HeaderValues(vec![n.to_string()]))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<HeaderValues, E> {
                Ok(HeaderValues(vec![n.to_string()]))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<HeaderValues, E> {
                Ok(HeaderValues(vec![n.to_string()]))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<HeaderValues, E> {
                Ok(HeaderValues(vec![b.to_string()]))
            }
            fn visit_unit<E: de::Error>(self) -> Result<HeaderValues, E> {
                Ok(HeaderValues::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<HeaderValues, A::Error> {
                let mut out = Vec::new();
                while let Some(HeaderValues(v)) = seq.next_element()? {
                    out.extend(v);
                }
                Ok(HeaderValues(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeaderValues, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(HeaderValues::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// What a vcrpy cassette holds for tooltape.
#[derive(Debug)]
pub struct Read {
    /// The API of the first model call.
    pub provider: Provider,
    /// The model calls answered 2xx, in order (a repeated request keeps its last answer).
    pub found: Vec<Found>,
    /// The API of each of them: a cassette may hold calls to several APIs (an agent that plans
    /// with one and summarises with another); each API's conversations become cassettes of
    /// their own.
    pub apis: Vec<Provider>,
    /// The interactions skipped and why.
    pub notes: Vec<String>,
    /// When the first model call was answered (its `Date` header), RFC 3339.
    pub recorded_at: Option<String>,
}

/// Read the model calls of a vcrpy cassette. `forced` is the API they must be for.
pub fn read(file: &Path, text: &str, forced: Option<Provider>) -> Result<Read, Error> {
    let cassette = parse_yaml(file, text)?;
    if let Some(v) = &cassette.version
        && v.value != VCR_VERSION
    {
        return Err(Error::invalid(
            at_span(file, &v.referenced, Some("version".into())),
            format!(
                "vcrpy cassette version {} is not supported (tooltape import reads version {VCR_VERSION})",
                v.value
            ),
        ));
    }
    // The API of the calls, and the interaction that set it (`None`: --provider did).
    let mut provider: Option<(Provider, Option<usize>)> = forced.map(|p| (p, None));
    let mut found: Vec<Found> = Vec::new();
    let mut apis: Vec<Provider> = Vec::new();
    let mut notes = Vec::new();
    let mut recorded_at = None;
    // The note that says the last exchange was kept (rewritten when a repeat replaces it).
    let mut last_kept: Option<usize> = None;
    for (i, spanned) in cassette.interactions.iter().enumerate() {
        let it = &spanned.value;
        let place = format!("interactions[{i}]");
        let at = |sub: &str| at_span(file, &spanned.referenced, Some(format!("{place}{sub}")));
        let method = it.request.method.to_ascii_uppercase();
        let path = uri_path(&it.request.uri);
        let Some(p) = model_endpoint(&method, path) else {
            notes.push(format!(
                "{place}: skipped {method} {path} (not a model call)"
            ));
            continue;
        };
        let code = it.response.status.code;
        if !(200..300).contains(&code) {
            let message = it.response.status.message.as_deref().unwrap_or("");
            let line = format!("{place}: skipped {method} {path}, answered {code} {message}");
            notes.push(line.trim_end().to_string());
            continue;
        }
        match provider {
            None => provider = Some((p, Some(i))),
            // --provider keeps that API's calls only.
            Some((first, None)) if first != p => {
                notes.push(format!(
                    "{place}: skipped {method} {path}, a {p} call (--provider says {first})"
                ));
                continue;
            }
            // Several APIs: each API's conversations are split into cassettes of their own.
            Some(_) => {}
        }
        let fmt = provider::format(p);
        let request = match &it.request.parsed_body {
            Some(v) => v.clone(),
            None => json_body(it.request.body.as_ref(), None)
                .map_err(|m| Error::invalid(at(".request.body"), m))?,
        };
        let mut parsed = fmt.parse_request(&request).map_err(|e| {
            Error::invalid(at(".request.body"), format!("not a valid {p} request: {e}"))
        })?;
        if parsed.model.is_none() {
            // Gemini names the model in the URL only.
            parsed.model = crate::provider::route(&method, path, None).and_then(|e| e.model);
        }
        let reply =
            reply_of(&it.response, p).map_err(|m| Error::invalid(at(".response.body"), m))?;
        if recorded_at.is_none() {
            recorded_at = header(&it.response, "date").and_then(rfc3339);
        }
        if let Some(prev) = found.last_mut()
            && prev.request == request
            && apis.last() == Some(&p)
        {
            // A retry answered twice (or an episode recorded again): one request, its last answer.
            if let Some(k) = last_kept {
                notes[k] = format!(
                    "{}: skipped {method} {path}, the same request is answered again later",
                    prev.place
                );
            }
            last_kept = Some(notes.len());
            notes.push(format!(
                "{place}: repeats the request of {}; kept this later answer",
                prev.place
            ));
            *prev = Found {
                request,
                parsed,
                reply,
                place,
                synthesized: false,
            };
            continue;
        }
        last_kept = Some(notes.len());
        notes.push(format!(
            "{place}: kept {method} {path} as exchange {}",
            found.len()
        ));
        found.push(Found {
            request,
            parsed,
            reply,
            place,
            synthesized: false,
        });
        apis.push(p);
    }
    let Some((provider, _)) = provider.filter(|_| !found.is_empty()) else {
        return Err(Error::invalid(
            Location::file(file),
            format!(
                "no successful model call among its {} interaction(s) (POST …/v1/messages, \
                 …/chat/completions, …/responses or …/models/…:generateContent answered 2xx){}",
                cassette.interactions.len(),
                if notes.is_empty() {
                    String::new()
                } else {
                    format!(": {}", notes.join("; "))
                }
            ),
        ));
    };
    Ok(Read {
        provider,
        found,
        apis,
        notes,
        recorded_at,
    })
}

fn parse_yaml(file: &Path, text: &str) -> Result<VcrCassette, Error> {
    let mut options = serde_saphyr::Options::default();
    // `!!binary` bodies are read as their base64 text (with the tag) and decoded here, since a
    // gzip body is not UTF-8 and could not become a string.
    options.ignore_binary_tag_for_string = true;
    options.with_snippet = false;
    serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let line_col = e
            .location()
            .filter(|l| l.line() > 0)
            .map(|l| (to_usize(l.line()), to_usize(l.column())));
        let message = e.to_string();
        let message = match message.rfind(" at line ") {
            Some(cut) => message[..cut].to_string(),
            None => message,
        };
        Error::Invalid {
            at: Location {
                file: file.to_path_buf(),
                line_col,
                json_path: None,
            },
            message: format!("not a readable vcrpy cassette: {message}"),
        }
    })
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn at_span(file: &Path, loc: &serde_saphyr::Location, json_path: Option<String>) -> Location {
    Location {
        file: file.to_path_buf(),
        line_col: (loc.line() > 0).then(|| (to_usize(loc.line()), to_usize(loc.column()))),
        json_path,
    }
}

/// The path of a URI, without scheme, host, query or fragment (`/v1/messages`).
pub fn uri_path(uri: &str) -> &str {
    let rest = match uri.find("://") {
        Some(i) => {
            let after = &uri[i + 3..];
            match after.find(['/', '?', '#']) {
                Some(j) => &after[j..],
                None => "",
            }
        }
        None => uri,
    };
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    match &rest[..end] {
        "" => "/",
        p => p,
    }
}

/// The API a model call is for, by its method and path ([`crate::provider::route`]: gateways
/// put the APIs under a prefix, so each API matches the path's end; the Assistants API's
/// `/threads/…/messages` is not a model call).
pub fn model_endpoint(method: &str, path: &str) -> Option<Provider> {
    crate::provider::route(method, path, None).map(|e| e.provider)
}

/// The first value of a response header, matched without regard to case.
fn header<'a>(response: &'a VcrResponse, name: &str) -> Option<&'a str> {
    response
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.0.first())
        .map(String::as_str)
}

/// An HTTP date (`Tue, 24 Nov 2026 08:08:51 GMT`) as RFC 3339.
fn rfc3339(date: &str) -> Option<String> {
    jiff::fmt::rfc2822::parse(date)
        .ok()
        .map(|z| z.timestamp().to_string())
}

/// A stored body's text: bytes decoded, decompressed and read as UTF-8.
fn body_text(
    stored: Option<&Tagged<Option<String>>>,
    encoding: Option<&str>,
) -> Result<String, String> {
    let Some(Tagged(Some(raw), tag)) = stored else {
        return Err("expected a body, found none".into());
    };
    let bytes = body::stored_bytes(raw, tag.as_deref())?;
    body::text(body::decompress(bytes, encoding)?)
}

fn json_body(
    stored: Option<&Tagged<Option<String>>>,
    encoding: Option<&str>,
) -> Result<Value, String> {
    let text = body_text(stored, encoding)?;
    serde_json::from_str(&text).map_err(|e| format!("expected a JSON body ({e})"))
}

/// The reply of a model call: its events when it streamed, else its JSON body; checked as the
/// API's reply so that a problem names the interaction.
fn reply_of(response: &VcrResponse, p: Provider) -> Result<RecordedReply, String> {
    let fmt = provider::format(p);
    if let Some(value) = &response.parsed_body {
        return json_reply(fmt, p, value.clone());
    }
    let stored = response.body.as_ref().and_then(|b| b.string.as_ref());
    let text = body_text(stored, header(response, "content-encoding"))?;
    if body::is_stream(header(response, "content-type"), &text) {
        let events = body::events(&text);
        let whole = fmt
            .reply_from_stream(&events)
            .map_err(|e| format!("the {p} stream does not make a reply: {e}"))?;
        fmt.parse_reply(&whole)
            .map_err(|e| format!("the {p} stream does not make a reply: {e}"))?;
        return Ok(RecordedReply::Stream(events));
    }
    let value: Value =
        serde_json::from_str(&text).map_err(|e| format!("expected a JSON body ({e})"))?;
    json_reply(fmt, p, value)
}

/// A reply read as JSON: a body, or a stream sent as one JSON array.
fn json_reply(
    fmt: &dyn provider::Format,
    p: Provider,
    value: Value,
) -> Result<RecordedReply, String> {
    // A stream sent as one JSON array (Gemini's streamGenerateContent without `alt=sse`).
    if let Some(events) = provider::sse::events_from_json_array(&value) {
        let whole = fmt
            .reply_from_stream(&events)
            .map_err(|e| format!("the {p} stream does not make a reply: {e}"))?;
        fmt.parse_reply(&whole)
            .map_err(|e| format!("the {p} stream does not make a reply: {e}"))?;
        return Ok(RecordedReply::Stream(events));
    }
    fmt.parse_reply(&value)
        .map_err(|e| format!("not a valid {p} reply: {e}"))?;
    Ok(RecordedReply::Body(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_paths_lose_host_query_and_fragment() {
        assert_eq!(
            uri_path("https://api.anthropic.com/v1/messages?beta=true"),
            "/v1/messages"
        );
        assert_eq!(
            uri_path("http://127.0.0.1:8080/v1/responses#x"),
            "/v1/responses"
        );
        assert_eq!(uri_path("https://example.com"), "/");
        assert_eq!(uri_path("https://example.com?key=1"), "/");
        assert_eq!(uri_path("/v1/chat/completions?a=b"), "/v1/chat/completions");
    }

    #[test]
    fn model_endpoints_by_method_and_path_end() {
        use Provider::*;
        let cases = [
            ("POST", "/v1/messages", Some(Anthropic)),
            ("POST", "/v1/messages/", Some(Anthropic)),
            ("POST", "/anthropic/v1/messages", Some(Anthropic)),
            ("POST", "/v1/messages/count_tokens", None),
            ("POST", "/v1/threads/thread_1/messages", None),
            ("GET", "/v1/messages", None),
            ("POST", "/v1/chat/completions", Some(OpenAiChat)),
            (
                "POST",
                "/openai/deployments/gpt/chat/completions",
                Some(OpenAiChat),
            ),
            ("POST", "/v1/responses", Some(OpenAiResponses)),
            ("POST", "/openai/responses", Some(OpenAiResponses)),
            ("POST", "/v1/responses/resp_1/cancel", None),
            ("POST", "/v1/embeddings", None),
        ];
        for (m, p, want) in cases {
            assert_eq!(model_endpoint(m, p), want, "{m} {p}");
        }
    }

    #[test]
    fn http_dates_become_rfc3339() {
        assert_eq!(
            rfc3339("Tue, 24 Nov 2026 08:08:51 GMT").as_deref(),
            Some("2026-11-24T08:08:51Z")
        );
        assert_eq!(rfc3339("yesterday"), None);
    }

    #[test]
    fn header_values_in_any_shape() {
        let yaml = "a: [x, 'y']\nb: plain\nc: 3\nd: ~\ne: {k: v}\n";
        let h: BTreeMap<String, HeaderValues> = serde_saphyr::from_str(yaml).unwrap();
        let got: Vec<(&str, Vec<String>)> =
            h.iter().map(|(k, v)| (k.as_str(), v.0.clone())).collect();
        assert_eq!(
            got,
            vec![
                ("a", vec!["x".to_string(), "y".to_string()]),
                ("b", vec!["plain".to_string()]),
                ("c", vec!["3".to_string()]),
                ("d", vec![]),
                ("e", vec![]),
            ]
        );
    }
}
