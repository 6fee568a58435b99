//! `tooltape import`: turn recordings a project already has into tooltape cassettes.
//!
//! Two kinds of input:
//!
//! - **vcrpy / pytest-recording cassettes** (YAML, or vcrpy's JSON serializer): the model calls
//!   among the interactions ([`vcr`]) — `POST …/v1/messages`, `…/chat/completions`,
//!   `…/responses`, told by the URI's path — that were answered 2xx, in order. Other requests
//!   and failed attempts are skipped with a note. Bodies may be plain strings, `!!binary`, or
//!   gzip/deflate-compressed bytes ([`body`]); a streamed reply is one body string holding the
//!   SSE frames, split back into events. Headers are never copied and URIs never kept.
//! - **JSON / JSON-lines conversation logs**, read as `tooltape lint` reads them (a request
//!   body, a bare messages array, one per line): the replies are rebuilt from the history of
//!   the request that follows, and a single request holding a whole conversation becomes one
//!   exchange per assistant turn in it ([`log`], [`rebuild`]).
//!
//! Requests that do not continue the conversation before them start a new one; each
//! conversation becomes its own cassette (`NAME.json`, `NAME-2.json`, ...), since a replay
//! follows one conversation. Every cassette is checked with [`cassette::parse`] before anything
//! is written, and written with [`cassette::save`] (never over an existing file without
//! `force`).
//!
//! ```no_run
//! use tooltape::import::{self, Options};
//!
//! let done = import::import(&["tests/cassettes/test_agent.yaml".into()], &Options::default())?;
//! for file in &done {
//!     for w in &file.written {
//!         println!("{} -> {} ({} exchanges)", file.input.display(), w.path.display(), w.exchanges);
//!     }
//! }
//! # Ok::<(), tooltape::error::Error>(())
//! ```

pub mod body;
pub mod log;
pub mod rebuild;
pub mod vcr;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cassette::{self, Cassette, Exchange, Meta, Overwrite, RecordedReply};
use crate::error::{Error, Location};
use crate::provider::Provider;
use crate::transcript::Request;

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Read raw requests as this API instead of telling it from their shape (logs); for vcrpy
    /// cassettes, the API the model calls must be.
    pub provider: Option<Provider>,
    /// Write the (first) cassette here. Only with one input.
    pub out: Option<PathBuf>,
    /// Write cassettes into this folder, named after their input.
    pub out_dir: Option<PathBuf>,
    /// Replace existing files.
    pub force: bool,
}

/// What kind of recording an input was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A vcrpy / pytest-recording cassette.
    Vcr,
    /// A JSON request body or messages array.
    Json,
    /// A JSON-lines log of them.
    JsonLines,
}

impl Kind {
    /// How `meta.source` names it.
    fn describe(self) -> &'static str {
        match self {
            Kind::Vcr => "vcrpy cassette",
            Kind::Json => "JSON log",
            Kind::JsonLines => "JSON-lines log",
        }
    }
}

/// One exchange found in an input, with what the grouping into conversations needs.
#[derive(Debug, Clone)]
pub struct Found {
    /// The request body.
    pub request: Value,
    /// Its parsed form.
    pub parsed: Request,
    /// The reply.
    pub reply: RecordedReply,
    /// Where in the input it came from (`interactions[3]`, `line 4`), for notes.
    pub place: String,
    /// The reply was made up: the input does not hold it.
    pub synthesized: bool,
}

/// An input turned into cassettes, not yet written.
#[derive(Debug, Clone)]
pub struct Conversion {
    /// What the input was.
    pub kind: Kind,
    /// One cassette per conversation, in input order.
    pub cassettes: Vec<Cassette>,
    /// What was skipped or made up, one line each.
    pub notes: Vec<String>,
}

/// One cassette written.
#[derive(Debug, Clone)]
pub struct Written {
    /// Where.
    pub path: PathBuf,
    /// Its API.
    pub provider: Provider,
    /// How many exchanges it holds.
    pub exchanges: usize,
    /// How many tool calls its replies make.
    pub calls: usize,
}

/// One input imported.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The input file.
    pub input: PathBuf,
    /// What it was.
    pub kind: Kind,
    /// The cassettes written from it.
    pub written: Vec<Written>,
    /// What was skipped or made up.
    pub notes: Vec<String>,
}

/// Import every input: convert and check them all first, then write. Nothing is written when
/// an input cannot be converted or an output exists (without `force`).
pub fn import(inputs: &[PathBuf], options: &Options) -> Result<Vec<Imported>, Error> {
    if options.out.is_some() && inputs.len() > 1 {
        return Err(Error::Usage(
            "--out names one file but several inputs were given; use --out-dir".into(),
        ));
    }
    let mut planned = Vec::new();
    for input in inputs {
        let mut conversion = convert_file(input, options.provider)?;
        // Recordings made by other tools may hold keys in their bodies: scrub them as
        // `tooltape record` does before anything reaches a file.
        let redactor = crate::record::redact::Redactor::new(&[])
            .map_err(|e| Error::Usage(format!("redaction patterns: {e}")))?;
        for c in &mut conversion.cassettes {
            scrub(c, &redactor);
        }
        let paths = output_paths(input, conversion.cassettes.len(), options)?;
        for (path, c) in paths.iter().zip(&conversion.cassettes) {
            check(input, path, c)?;
        }
        planned.push((input, conversion, paths));
    }
    let overwrite = if options.force {
        Overwrite::Replace
    } else {
        Overwrite::Never
    };
    if overwrite == Overwrite::Never
        && let Some(p) = planned
            .iter()
            .flat_map(|(_, _, paths)| paths)
            .find(|p| p.exists())
    {
        return Err(Error::Usage(format!(
            "{} exists; pass --force to replace it (nothing was written)",
            p.display()
        )));
    }
    let mut done = Vec::new();
    for (input, conversion, paths) in planned {
        let mut written = Vec::new();
        for (path, c) in paths.into_iter().zip(&conversion.cassettes) {
            cassette::save(&path, c, overwrite)?;
            written.push(Written {
                provider: c.provider,
                exchanges: c.exchanges.len(),
                calls: count_calls(c),
                path,
            });
        }
        done.push(Imported {
            input: input.clone(),
            kind: conversion.kind,
            written,
            notes: conversion.notes,
        });
    }
    Ok(done)
}

/// The largest input (and the largest a compressed input may unpack to): recordings of agent
/// runs are kilobytes to a few megabytes; anything near this is not one.
pub const MAX_INPUT_BYTES: u64 = 256 * 1024 * 1024;

/// Read and convert one input file (`.gz` inputs are unpacked first).
pub fn convert_file(input: &Path, provider: Option<Provider>) -> Result<Conversion, Error> {
    let text = body::read_input(input, MAX_INPUT_BYTES)?;
    convert(input, &text, provider)
}

/// Convert `text`, the content of `input` (named in errors and in `meta.source`).
pub fn convert(input: &Path, text: &str, provider: Option<Provider>) -> Result<Conversion, Error> {
    let (kind, conversations, notes, recorded_at) = if is_vcr(input, text) {
        let v = vcr::read(input, text, provider)?;
        (
            Kind::Vcr,
            group(v.apis.into_iter().zip(v.found)),
            v.notes,
            v.recorded_at,
        )
    } else {
        let l = log::read(input, text, provider)?;
        (l.kind, l.conversations, l.notes, None)
    };
    let source = format!("imported from {} {}", kind.describe(), input.display());
    let cassettes = conversations
        .into_iter()
        .map(|(provider, exchanges)| cassette_of(provider, exchanges, &source, &recorded_at))
        .collect();
    Ok(Conversion {
        kind,
        cassettes,
        notes,
    })
}

/// Whether `text` is a vcrpy cassette: a `.yaml`/`.yml` file, or JSON with an `interactions`
/// list (vcrpy's JSON serializer).
fn is_vcr(input: &Path, text: &str) -> bool {
    let name = input.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
    yaml || serde_json::from_str::<Value>(text)
        .ok()
        .is_some_and(|v| v.get("interactions").is_some_and(Value::is_array))
}

/// Split exchanges into conversations: a request that does not continue the latest
/// conversation of its API (another first message, or a shorter history) starts a new one.
/// Calls to several APIs interleave: each continues its own API's conversation.
fn group(found: impl IntoIterator<Item = (Provider, Found)>) -> Vec<(Provider, Vec<Found>)> {
    let mut out: Vec<(Provider, Vec<Found>)> = Vec::new();
    for (provider, f) in found {
        match out.iter_mut().rev().find(|(p, _)| *p == provider) {
            Some((_, list))
                if list
                    .last()
                    .is_some_and(|prev| crate::lint::input::continues(&prev.parsed, &f.parsed)) =>
            {
                list.push(f)
            }
            _ => out.push((provider, vec![f])),
        }
    }
    out
}

fn cassette_of(
    provider: Provider,
    exchanges: Vec<Found>,
    source: &str,
    recorded_at: &Option<String>,
) -> Cassette {
    let model = exchanges.iter().find_map(|f| {
        let from_reply = match &f.reply {
            RecordedReply::Body(b) => b.get("model").and_then(Value::as_str),
            RecordedReply::Stream(_) => None,
        };
        from_reply
            .map(str::to_string)
            .or_else(|| f.parsed.model.clone())
    });
    let made_up: Vec<String> = exchanges
        .iter()
        .enumerate()
        .filter(|(_, f)| f.synthesized)
        .map(|(i, _)| (i + 1).to_string())
        .collect();
    let notes = (!made_up.is_empty()).then(|| {
        format!(
            "the reply of exchange {} is not in the input; it was synthesized by tooltape import",
            made_up.join(", ")
        )
    });
    Cassette {
        format: cassette::FORMAT.into(),
        version: cassette::VERSION,
        provider,
        meta: Meta {
            model,
            recorded_at: recorded_at.clone(),
            source: Some(source.to_string()),
            notes,
        },
        exchanges: exchanges
            .into_iter()
            .map(|f| Exchange {
                request: f.request,
                reply: f.reply,
                tool_latency_ms: Default::default(),
            })
            .collect(),
    }
}

/// Where each of `n` cassettes made from `input` goes: `--out`, or the input's stem + `.json`
/// beside it or in `--out-dir`; the second conversation on get `-2`, `-3`, ... before `.json`.
pub fn output_paths(input: &Path, n: usize, options: &Options) -> Result<Vec<PathBuf>, Error> {
    let first = match (&options.out, &options.out_dir) {
        (Some(out), _) => out.clone(),
        (None, dir) => {
            let stem = input
                .file_stem()
                .ok_or_else(|| Error::Usage(format!("{}: not a file name", input.display())))?;
            // `run.yaml.gz` is named after `run`, as `run.yaml` is.
            let stem = Path::new(stem);
            let stem = match input.extension() {
                Some(ext) if ext.eq_ignore_ascii_case("gz") => stem.file_stem().unwrap_or_default(),
                _ => stem.as_os_str(),
            };
            let name = format!("{}.json", stem.to_string_lossy());
            match dir {
                Some(d) => d.join(name),
                None => input.with_file_name(name),
            }
        }
    };
    let mut paths = vec![first.clone()];
    for k in 2..=n {
        let stem = first.file_stem().unwrap_or_default().to_string_lossy();
        let name = match first.extension() {
            Some(ext) => format!("{stem}-{k}.{}", ext.to_string_lossy()),
            None => format!("{stem}-{k}"),
        };
        paths.push(first.with_file_name(name));
    }
    if let Some(p) = paths.iter().find(|p| same_file(p, input)) {
        return Err(Error::Usage(format!(
            "{}: the cassette would replace its own input; name it with --out or --out-dir",
            p.display()
        )));
    }
    Ok(paths)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Check a cassette as `tooltape` will load it; an invalid import is an error, not a file.
fn check(input: &Path, out: &Path, c: &Cassette) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(c)
        .map_err(|e| Error::invalid(Location::file(input), format!("cannot serialize: {e}")))?;
    cassette::parse(out, &text).map(|_| ()).map_err(|e| {
        Error::invalid(
            Location::file(input),
            format!("the import does not make a valid cassette ({e}); nothing was written"),
        )
    })
}

fn count_calls(c: &Cassette) -> usize {
    let fmt = crate::provider::format(c.provider);
    c.exchanges
        .iter()
        .filter_map(|e| match &e.reply {
            RecordedReply::Body(b) => fmt.parse_reply(b).ok(),
            RecordedReply::Stream(s) => fmt
                .reply_from_stream(s)
                .ok()
                .and_then(|b| fmt.parse_reply(&b).ok()),
        })
        .map(|r| r.calls().len())
        .sum()
}

#[cfg(test)]
mod tests;

/// Mask credential-looking values in every body of `c`.
fn scrub(c: &mut crate::cassette::Cassette, r: &crate::record::redact::Redactor) {
    for ex in &mut c.exchanges {
        r.value(&mut ex.request);
        match &mut ex.reply {
            crate::cassette::RecordedReply::Body(b) => {
                r.value(b);
            }
            crate::cassette::RecordedReply::Stream(events) => {
                // As a whole: a key split across deltas is masked too.
                r.stream(events);
            }
        }
    }
}
