//! `tooltape lint`: check recorded conversations on their own, without a handler.
//!
//! A replay judges a handler live; lint judges what a handler already sent — a cassette, or a
//! production log of request bodies — with the same rules where they apply: every tool call
//! answered exactly once in the next message, by a known id (`missing-result`,
//! `unknown-result`, `duplicate-result`, which also covers a call id used twice), the assistant
//! turn right before its results (`missing-assistant-turn`), the results together
//! (`split-results`) and first in their message (`results-not-first`, Anthropic), and the
//! history repeated unchanged from one request to the next (`history-changed`).
//!
//! Inputs: tooltape cassettes; a request body (`{"messages": …}` for Anthropic and OpenAI Chat,
//! `{"input": …}` for OpenAI Responses); a bare array of messages or input items; or a
//! JSON-lines file of any of those, one per line. The API is told from the shape
//! (`tool_use`/`tool_result` blocks: Anthropic; `tool_calls` or `role: "tool"`: Chat;
//! `function_call` items: Responses) unless [`Options::provider`] names it. Consecutive lines of
//! a log belong to one conversation when the later one opens with the same first message and
//! is not shorter; each conversation is checked across its requests.
//!
//! ```no_run
//! let report = tooltape::lint::lint_file(std::path::Path::new("log.jsonl"), &Default::default())?;
//! for finding in &report.findings {
//!     println!("{finding}");
//! }
//! # Ok::<(), tooltape::error::Error>(())
//! ```

mod check;
pub(crate) mod input;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::provider::Provider;
use crate::rules::{Level, Violation};

/// How to lint.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Read raw requests as this API instead of telling it from their shape.
    pub provider: Option<Provider>,
}

/// One broken rule, and where.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    /// The file.
    pub file: PathBuf,
    /// JSON-lines files: the 1-based line of the request.
    pub line: Option<usize>,
    /// Cassettes: the 1-based exchange whose request shows it.
    pub request: Option<usize>,
    /// The 0-based index of the message in the request's `messages` (or `input`), as the
    /// APIs' own errors count (`messages.5`).
    pub message: Option<usize>,
    /// The rule, call id and what happened.
    pub violation: Violation,
}

impl fmt::Display for Finding {
    /// `file:LINE: request 3, message 5, call toolu_…: missing-result — call … has no result`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        let mut place = Vec::new();
        if let Some(r) = self.request {
            place.push(format!("request {r}"));
        }
        if let Some(m) = self.message {
            place.push(format!("message {m}"));
        }
        if let Some(c) = &self.violation.call_id {
            place.push(format!("call {c}"));
        }
        write!(f, ": ")?;
        if !place.is_empty() {
            write!(f, "{}: ", place.join(", "))?;
        }
        write!(f, "{}", self.violation.rule)?;
        if self.violation.level == Level::Should {
            write!(f, " (should)")?;
        }
        write!(f, " — {}", self.violation.message)
    }
}

/// What lint found in one file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileReport {
    /// The file.
    pub file: PathBuf,
    /// Requests read.
    pub requests: usize,
    /// Conversations they formed.
    pub conversations: usize,
    /// Broken rules, in file order.
    pub findings: Vec<Finding>,
}

/// The machine-readable report of a lint run: every file with its findings (each with the
/// rule, level, call id and message), and how many files could not be read.
pub fn json_report(reports: &[FileReport], unreadable: usize) -> String {
    let findings: usize = reports.iter().map(|r| r.findings.len()).sum();
    let doc = serde_json::json!({
        "tooltape": env!("CARGO_PKG_VERSION"),
        "files": reports,
        "findings": findings,
        "unreadable": unreadable,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// Lint one file.
pub fn lint_file(file: &Path, options: &Options) -> Result<FileReport, Error> {
    let text = crate::error::read_text(file)?;
    lint_text(file, &text, options)
}

/// Lint `text`, the content of `file` (named in findings and errors).
pub fn lint_text(file: &Path, text: &str, options: &Options) -> Result<FileReport, Error> {
    let conversations = input::read(file, text, options.provider)?;
    let mut findings = Vec::new();
    for c in &conversations {
        for p in check::conversation(c) {
            let entry = &c.entries[p.entry];
            findings.push(Finding {
                file: file.to_path_buf(),
                line: entry.line,
                request: entry.exchange,
                message: p.message,
                violation: p.violation,
            });
        }
    }
    Ok(FileReport {
        file: file.to_path_buf(),
        requests: conversations.iter().map(|c| c.entries.len()).sum(),
        conversations: conversations.len(),
        findings,
    })
}

/// The files to lint: files as given, folders searched for `.json`, `.jsonl` and `.ndjson`
/// files (sorted, so output is stable).
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for p in paths {
        if !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let mut found = Vec::new();
        for entry in walkdir::WalkDir::new(p).sort_by_file_name() {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(p).to_path_buf();
                Error::io(&path, e.into())
            })?;
            let is_json = entry
                .path()
                .extension()
                .is_some_and(|x| x == "json" || x == "jsonl" || x == "ndjson");
            if entry.file_type().is_file() && is_json {
                found.push(entry.into_path());
            }
        }
        if found.is_empty() {
            return Err(Error::Usage(format!(
                "{}: no .json or .jsonl file in this folder",
                p.display()
            )));
        }
        out.extend(found);
    }
    Ok(out)
}

/// The closing line: `3 files checked, 12 requests: 2 findings in 1 file`, or `…: no
/// findings`; files that could not be read are counted apart, and when none could be read it
/// says that nothing was checked (the run exits 2, not 0).
pub fn summary(reports: &[FileReport], unreadable: usize) -> String {
    if reports.is_empty() && unreadable > 0 {
        return format!(
            "{} could not be read (see above): nothing was checked",
            plural(unreadable, "file")
        );
    }
    let requests: usize = reports.iter().map(|r| r.requests).sum();
    let findings: usize = reports.iter().map(|r| r.findings.len()).sum();
    let dirty = reports.iter().filter(|r| !r.findings.is_empty()).count();
    let mut s = plural(reports.len() + unreadable, "file") + " checked";
    if unreadable > 0 {
        s.push_str(&format!(" ({unreadable} could not be read)"));
    }
    s.push_str(&format!(", {}: ", plural(requests, "request")));
    if findings == 0 && unreadable > 0 {
        s.push_str("no findings in the files read");
    } else if findings == 0 {
        s.push_str("no findings");
    } else {
        s.push_str(&format!(
            "{} in {}",
            plural(findings, "finding"),
            plural(dirty, "file")
        ));
    }
    s
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests;
