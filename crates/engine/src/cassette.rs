//! Cassette format v1: a recorded transcript, provider-native, versioned.
//!
//! ```json
//! {
//!   "format": "tooltape-cassette",
//!   "version": 1,
//!   "provider": "anthropic",
//!   "meta": { "model": "claude-sonnet-4-5", "recorded_at": "2026-11-02T10:14:03Z" },
//!   "exchanges": [
//!     { "request": { ... }, "reply": { "body": { ... } } },
//!     { "request": { ... }, "reply": { "stream": [ { "event": "message_start", "data": "{...}" } ] },
//!       "tool_latency_ms": { "toolu_01...": 230 } }
//!   ]
//! }
//! ```
//!
//! An exchange is one model request and its reply. The reply is kept as the JSON body or, when
//! the run streamed, as the stream's events with their gaps. `tool_latency_ms` holds, when known,
//! how long each call of the *previous* reply took in the live run. No credentials are ever
//! stored: a cassette holds bodies, never headers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Location};
use crate::provider::Provider;
use crate::provider::{self, SseEvent};
use crate::transcript::{Reply, Request};

/// The `format` value of every cassette.
pub const FORMAT: &str = "tooltape-cassette";
/// The newest cassette version this build reads and writes.
pub const VERSION: u32 = 1;

/// A cassette as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Cassette {
    /// Always `"tooltape-cassette"`.
    pub format: String,
    /// Format version; this build reads version 1.
    pub version: u32,
    /// The API the exchanges were recorded against.
    pub provider: Provider,
    /// Facts about the recording.
    #[serde(default)]
    pub meta: Meta,
    /// The model requests and replies, in order.
    pub exchanges: Vec<Exchange>,
}

/// Facts about a recording.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
pub struct Meta {
    /// The model that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// When the run was recorded (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<String>,
    /// Where the cassette came from (a command, an import, a hand-made fixture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// One model request and its reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// The request body as the agent sent it.
    #[cfg_attr(
        any(test, feature = "schema"),
        schemars(with = "serde_json::Map<String, Value>")
    )]
    pub request: Value,
    /// The reply.
    pub reply: RecordedReply,
    /// Observed run time of each call of the previous reply, by call id, in milliseconds.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tool_latency_ms: BTreeMap<String, u64>,
}

/// A reply as recorded: a JSON body, or a stream's events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RecordedReply {
    /// A non-streamed reply body.
    Body(
        #[cfg_attr(
            any(test, feature = "schema"),
            schemars(with = "serde_json::Map<String, Value>")
        )]
        Value,
    ),
    /// A streamed reply, one entry per server-sent event.
    Stream(Vec<SseEvent>),
}

/// A cassette loaded and checked: every request and reply parses for its provider.
#[derive(Debug, Clone)]
pub struct LoadedCassette {
    /// Where it was read from.
    pub path: PathBuf,
    /// The stored form.
    pub cassette: Cassette,
    /// Each exchange's request, parsed.
    pub requests: Vec<Request>,
    /// Each exchange's reply body (streams accumulated).
    pub reply_bodies: Vec<Value>,
    /// Each exchange's recorded stream events, when it was recorded as a stream.
    pub recorded_streams: Vec<Option<std::sync::Arc<[SseEvent]>>>,
    /// Each exchange's reply, parsed.
    pub replies: Vec<Reply>,
}

impl LoadedCassette {
    /// The provider.
    pub fn provider(&self) -> Provider {
        self.cassette.provider
    }
}

/// The longest gap between two recorded stream events a cassette may hold (ten minutes, the
/// default run timeout): a longer one stalls every run that replays it.
pub const MAX_GAP_MS: u64 = 600_000;

/// Read and check a cassette file.
pub fn load(path: &Path) -> Result<LoadedCassette, Error> {
    let text = crate::error::read_text(path)?;
    parse(path, &text)
}

/// Parse and check a cassette from text; `path` names it in errors.
pub fn parse(path: &Path, text: &str) -> Result<LoadedCassette, Error> {
    let loaded = parse_exchanges(path, text)?;
    let mut seen_ids: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, reply) in loaded.replies.iter().enumerate() {
        for (j, call) in reply.calls().into_iter().enumerate() {
            let at = || Location::pointer(path, text, format!("exchanges[{i}].reply"));
            if call.id.is_empty() {
                return Err(Error::invalid(
                    at(),
                    format!("tool call {j} ({}) has an empty id", call.name),
                ));
            }
            if let Some(prev) = seen_ids.insert(&call.id, i) {
                let hint = provider::format(loaded.provider())
                    .repeated_id_hint(&call.id)
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                return Err(Error::invalid(
                    at(),
                    format!(
                        "tool call id {} is used twice (also in exchange {prev}); ids must be unique{hint}",
                        call.id
                    ),
                ));
            }
        }
    }
    Ok(loaded)
}

/// Parse a cassette and every request and reply in it, without the checks across exchanges
/// (unique call ids): `tooltape lint` reports those as findings, not as unreadable input.
#[doc(hidden)] // for the `tooltape` crate
pub fn parse_exchanges(path: &Path, text: &str) -> Result<LoadedCassette, Error> {
    let cassette: Cassette = crate::error::from_json_text(path, text)?;
    let at = |p: String| Location::pointer(path, text, p);
    crate::error::Header {
        kind: "cassette",
        format: FORMAT,
        version: VERSION,
    }
    .check(path, text, &cassette.format, cassette.version)?;
    if cassette.exchanges.is_empty() {
        return Err(Error::invalid(
            at("exchanges".into()),
            "a cassette needs at least one exchange".into(),
        ));
    }
    let fmt = provider::format(cassette.provider);
    let mut requests = Vec::new();
    let mut reply_bodies = Vec::new();
    let mut replies = Vec::new();
    for (i, ex) in cassette.exchanges.iter().enumerate() {
        let mut req = fmt.parse_request(&ex.request).map_err(|e| {
            Error::invalid(
                at(format!("exchanges[{i}].request.{}", e.path)),
                e.message.clone(),
            )
        })?;
        if let RecordedReply::Stream(events) = &ex.reply
            && let Some(k) = events.iter().position(|e| e.gap_ms > MAX_GAP_MS)
        {
            return Err(Error::invalid(
                at(format!("exchanges[{i}].reply.stream[{k}].gap_ms")),
                format!(
                    "a gap of {} ms between stream events is longer than the {MAX_GAP_MS} ms (ten minutes) a cassette may hold; it would stall every run",
                    events[k].gap_ms
                ),
            ));
        }
        let body = match &ex.reply {
            RecordedReply::Body(b) => b.clone(),
            RecordedReply::Stream(events) => fmt.reply_from_stream(events).map_err(|e| {
                Error::invalid(
                    at(format!("exchanges[{i}].reply.stream{}", bracket(&e.path))),
                    e.message.clone(),
                )
            })?,
        };
        let reply = fmt.parse_reply(&body).map_err(|e| {
            Error::invalid(
                at(format!("exchanges[{i}].reply.body.{}", e.path)),
                e.message.clone(),
            )
        })?;
        fmt.resolve_references(&mut req, &reply_bodies);
        requests.push(req);
        reply_bodies.push(body);
        replies.push(reply);
    }
    let recorded_streams = cassette
        .exchanges
        .iter()
        .map(|ex| match &ex.reply {
            RecordedReply::Stream(events) => Some(events.as_slice().into()),
            RecordedReply::Body(_) => None,
        })
        .collect();
    Ok(LoadedCassette {
        path: path.to_path_buf(),
        cassette,
        requests,
        recorded_streams,
        reply_bodies,
        replies,
    })
}

fn bracket(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else if path.starts_with('[') {
        path.to_string()
    } else {
        format!(".{path}")
    }
}

/// The JSON Schema of the cassette format, pretty-printed: the published
/// `docs/cassette.schema.json`, which the unit test below keeps equal to what the types derive.
pub fn json_schema() -> String {
    let published = include_str!("../../../docs/cassette.schema.json");
    published.strip_suffix('\n').unwrap_or(published).to_owned()
}

/// Whether [`save`] may replace an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Refuse when the file exists.
    Never,
    /// Replace it.
    Replace,
}

/// Write a cassette atomically: a temporary file in the same folder, flushed, then renamed
/// over `path`, so a crash or a kill leaves either the old file or the new one, never half of
/// one. Refuses to replace an existing file unless `overwrite` says so.
pub fn save(path: &Path, cassette: &Cassette, overwrite: Overwrite) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(cassette)
        .map_err(|e| Error::invalid(Location::file(path), format!("cannot serialize: {e}")))?
        + "\n";
    save_text(path, &text, overwrite)
}

/// Write `text` to `path` atomically (see [`save`]).
pub fn save_text(path: &Path, text: &str, overwrite: Overwrite) -> Result<(), Error> {
    use std::io::Write as _;
    if overwrite == Overwrite::Never && path.exists() {
        return Err(Error::Usage(format!(
            "{} exists; pass --force to replace it",
            path.display()
        )));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tooltape-").suffix(".tmp");
    // Like any file a tool writes (0666 less the umask), not tempfile's private 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io(tmp.path(), e))?;
    let result = if overwrite == Overwrite::Never {
        tmp.persist_noclobber(path)
    } else {
        tmp.persist(path)
    };
    result.map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// The published schema is the one the types derive today.
#[cfg(test)]
#[test]
fn the_published_schema_is_the_derived_one() {
    crate::util::check_derived_schema::<Cassette>("docs/cassette.schema.json");
}

#[cfg(test)]
mod save_tests {
    use super::*;

    fn sample() -> Cassette {
        Cassette {
            format: FORMAT.into(),
            version: VERSION,
            provider: Provider::Anthropic,
            meta: Meta::default(),
            exchanges: Vec::new(),
        }
    }

    #[test]
    fn save_refuses_to_overwrite_and_leaves_the_old_file_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        std::fs::write(&path, "old").unwrap();
        let err = save(&path, &sample(), Overwrite::Never).unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        save(&path, &sample(), Overwrite::Replace).unwrap();
        let back: Cassette =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(back, sample());
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("c.json")]);
    }

    #[test]
    fn save_creates_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c.json");
        save(&path, &sample(), Overwrite::Never).unwrap();
        assert!(path.is_file());
    }
}
