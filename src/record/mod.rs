//! `tooltape record`: record a live run of an agent into a cassette.
//!
//! A reverse [`proxy`] on 127.0.0.1 sits in front of the real APIs; the agent command is started
//! with `ANTHROPIC_BASE_URL` / `OPENAI_BASE_URL` pointing at it and its own credentials left in
//! its environment, so it sends them and the proxy forwards them. Requests go upstream
//! unchanged and replies come back chunk by chunk as they arrive, each chunk also
//! [`log`]ged (streams split into their events with [`sse`], stamped with their arrival gaps).
//! When the command exits, the model exchanges are [`build`]t into one cassette, bodies
//! [`redact`]ed, and the text scanned for every credential the run used before it is written
//! atomically.
//!
//! Modes, like vcrpy's: [`Mode::Once`] records only a cassette that does not exist yet;
//! [`Mode::New`] serves an existing cassette's replies to the run's first requests and appends
//! what the run asks beyond them (it continues a partial recording); [`Mode::All`] re-records,
//! replacing the file only with `force`, and reports the [`drift`] from the old one.
//!
//! Nothing is lost: an existing cassette is never replaced without `force`, a run that failed
//! (the command, the upstream, or a signal) writes nothing unless `keep_partial` says so, and the
//! write itself is a rename of a complete temporary file.

pub mod build;
pub mod drift;
mod error;
pub mod log;
pub mod proxy;
pub mod redact;
pub mod report;
pub mod sse;
pub mod starter;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use error::RecordError;

use crate::cassette::{self, Cassette, LoadedCassette, Meta, Overwrite};
use crate::error::Error;
use crate::process::{self, Output};
use drift::Drift;
use redact::{Credentials, Redactor};

/// When to record (`--mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Record only if the file does not exist (else refuse, without running).
    #[default]
    Once,
    /// Replay the existing cassette's replies first, record what comes after, append it.
    New,
    /// Re-record; an existing file is replaced only with `force`.
    All,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "once" => Ok(Mode::Once),
            "new" => Ok(Mode::New),
            "all" => Ok(Mode::All),
            _ => Err(format!("{s:?} is not a mode; expected once, new or all")),
        }
    }
}

/// What to record and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The cassette to write.
    pub out: PathBuf,
    /// One base URL for every request, instead of the providers' public endpoints.
    pub upstream: Option<String>,
    /// When to record.
    pub mode: Mode,
    /// Allow replacing an existing cassette (`--mode all`).
    pub force: bool,
    /// Write what was recorded even when the run failed.
    pub keep_partial: bool,
    /// Extra patterns to mask (`--redact`).
    pub redact: Vec<String>,
    /// The agent command and its arguments.
    pub command: Vec<String>,
}

/// Things worth showing while the run goes on.
#[derive(Debug, Clone)]
pub enum Progress {
    /// The proxy listens and the command is about to start.
    Started {
        /// Where the proxy listens.
        addr: SocketAddr,
        /// Where it forwards to.
        upstreams: String,
        /// `--mode new`: how many recorded replies will be served first.
        replaying: usize,
    },
    /// A signal arrived; the command is being stopped.
    Interrupted(&'static str),
}

/// A cassette written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Exchanges in the file.
    pub exchanges: usize,
    /// Of which recorded in this run.
    pub recorded: usize,
    /// Written despite a failed run (`keep_partial`).
    pub partial: bool,
    /// An older file was replaced (or extended).
    pub replaced: bool,
}

/// How a recording went.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The cassette file.
    pub out: PathBuf,
    /// What was written, if anything.
    pub written: Option<Written>,
    /// Why the run failed (empty: it did not).
    pub failures: Vec<String>,
    /// Replies reported but not failing the run.
    pub problems: Vec<String>,
    /// What a partial cassette lacks.
    pub missing: Vec<String>,
    /// Re-recording: what changed against the old cassette.
    pub drift: Option<Drift>,
    /// Anything else worth saying.
    pub notes: Vec<String>,
}

impl Outcome {
    /// Whether the run failed.
    pub fn failed(&self) -> bool {
        !self.failures.is_empty()
    }

    /// 0 when the cassette was written from a complete run, 1 when the run failed.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.failed())
    }
}

/// Everything checked before the command runs.
struct Prepared {
    redactor: Redactor,
    upstreams: proxy::Upstreams,
    existed: bool,
    old: Option<LoadedCassette>,
    notes: Vec<String>,
}

fn prepare(opts: &Options) -> Result<Prepared, Error> {
    if opts.command.is_empty() {
        return Err(RecordError::NoCommand.into());
    }
    let redactor = Redactor::new(&opts.redact)?;
    let upstreams = proxy::Upstreams::new(opts.upstream.as_deref())?;
    let out = &opts.out;
    if out.is_dir() {
        return Err(Error::Usage(format!(
            "--out {}: is a folder; give a file name like {}/run.json",
            out.display(),
            out.display()
        )));
    }
    let existed = out.exists();
    let mut notes = Vec::new();
    let old = match (opts.mode, existed) {
        (_, false) => None,
        (Mode::Once, true) => {
            return Err(RecordError::Exists {
                path: out.clone(),
                hint: "--mode once records only new cassettes; use --mode new to continue it, or --mode all --force to re-record it",
            }
            .into());
        }
        (Mode::All, true) if !opts.force => {
            return Err(RecordError::Exists {
                path: out.clone(),
                hint: "--mode all replaces it only with --force",
            }
            .into());
        }
        (Mode::All, true) => {
            match cassette::load(out) {
                Ok(c) => Some(c),
                Err(e) => {
                    notes.push(format!("the old file is not a readable cassette, so there is no drift summary ({e})"));
                    None
                }
            }
        }
        (Mode::New, true) => Some(cassette::load(out)?),
    };
    check_writable(out)?;
    Ok(Prepared {
        redactor,
        upstreams,
        existed,
        old,
        notes,
    })
}

/// Make sure the cassette's folder exists and takes files, before a long run is spent.
fn check_writable(out: &Path) -> Result<(), Error> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    tempfile::Builder::new()
        .prefix(".tooltape-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| Error::io(dir, e))
}

/// Record a run of `opts.command` (on a runtime of its own). `progress` hears what happens
/// while the command runs. Errors are about the input (exit 2) or, as [`RecordError`], about a
/// run that could not be written ([`RecordError::exit_code`]); a failed run that was reported
/// is an [`Outcome`] with `failures`.
pub fn record(opts: &Options, progress: &(dyn Fn(Progress) + Sync)) -> Result<Outcome, Error> {
    let prepared = prepare(opts)?;
    process::become_subreaper();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(RecordError::Proxy)?;
    rt.block_on(run(opts, prepared, progress))
}

/// How the command ended.
enum Ended {
    Exited(std::process::ExitStatus),
    Signal(&'static str),
    WaitFailed(std::io::Error),
}

async fn run(
    opts: &Options,
    prep: Prepared,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Outcome, Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let replay = match (opts.mode, &prep.old) {
        (Mode::New, Some(old)) => Some(proxy::Replay::new(old.clone())),
        _ => None,
    };
    let replaying = replay
        .as_ref()
        .map_or(0, |_| prep.old.as_ref().map_or(0, |o| o.replies.len()));
    // Listen for signals before the command starts, so none is missed.
    let mut term = signal(SignalKind::terminate()).map_err(RecordError::Proxy)?;
    let mut int = signal(SignalKind::interrupt()).map_err(RecordError::Proxy)?;
    let mut hup = signal(SignalKind::hangup()).map_err(RecordError::Proxy)?;
    let proxy = proxy::start(prep.upstreams.clone(), replay)
        .await
        .map_err(RecordError::Proxy)?;
    let base = format!("http://{}", proxy.addr);
    let env = [
        ("ANTHROPIC_BASE_URL".to_string(), base.clone()),
        ("OPENAI_BASE_URL".to_string(), format!("{base}/v1")),
    ];
    let mut child = match process::spawn(&opts.command, &env, &[], Output::Inherit) {
        Ok(c) => c,
        Err(error) => {
            proxy.stop().await;
            return Err(RecordError::Spawn {
                command: opts.command.join(" "),
                error,
            }
            .into());
        }
    };
    progress(Progress::Started {
        addr: proxy.addr,
        upstreams: prep.upstreams.describe(),
        replaying,
    });
    let ended = tokio::select! {
        r = child.wait() => match r {
            Ok(status) => Ended::Exited(status),
            Err(e) => Ended::WaitFailed(e),
        },
        _ = int.recv() => Ended::Signal("SIGINT"),
        _ = term.recv() => Ended::Signal("SIGTERM"),
        _ = hup.recv() => Ended::Signal("SIGHUP"),
    };
    if let Ended::Signal(name) = ended {
        progress(Progress::Interrupted(name));
    }
    // Nothing the command started may outlive the run; then no reply is still coming.
    let _ = child.finish().await;
    let log = proxy.log.clone();
    proxy.stop().await;

    let mut credentials = Credentials::from_env(std::env::vars());
    credentials.merge(&log.credentials());
    let old_for_new = if opts.mode == Mode::New {
        prep.old.as_ref()
    } else {
        None
    };
    let built = match build::build(&log.snapshot(), old_for_new, &prep.redactor) {
        Err(RecordError::MixedProviders { first, other }) if old_for_new.is_some() => {
            return Err(RecordError::ProviderChanged {
                path: opts.out.clone(),
                old: first,
                new: other,
            }
            .into());
        }
        r => r?,
    };

    let mut outcome = Outcome {
        out: opts.out.clone(),
        notes: prep.notes,
        problems: built.problems.clone(),
        ..Outcome::default()
    };
    match &ended {
        Ended::Exited(s) if s.success() => {}
        Ended::Exited(s) => outcome
            .failures
            .push(format!("the command exited with {s}")),
        Ended::Signal(name) => outcome
            .failures
            .push(format!("interrupted by {name} before the command ended")),
        Ended::WaitFailed(e) => outcome
            .failures
            .push(format!("waiting for the command failed: {e}")),
    }
    outcome.failures.extend(built.failures.iter().cloned());
    if built.retries > 0 {
        outcome.notes.push(format!(
            "{} SDK retr{} folded into the request{} they repeat",
            built.retries,
            if built.retries == 1 { "y" } else { "ies" },
            if built.retries == 1 { "" } else { "s" }
        ));
    }
    if built.passed_through > 0 {
        outcome.notes.push(format!(
            "{} request(s) to other endpoints passed through, not recorded",
            built.passed_through
        ));
    }
    if built.replayed > 0 {
        outcome.notes.push(format!(
            "{} request(s) answered from the old cassette",
            built.replayed
        ));
    }
    let recorded = built.exchanges.len();
    let Some(provider) = built.provider else {
        outcome.failures.push(
            "the command made no model request through the proxy (does it read ANTHROPIC_BASE_URL or OPENAI_BASE_URL?)".into(),
        );
        return Ok(outcome);
    };
    if recorded == 0 {
        if opts.mode == Mode::New && built.replayed > 0 && !outcome.failed() {
            outcome.notes.push(format!("nothing new to record: the run asked for nothing beyond the cassette's {} exchanges; {} is unchanged", built.replayed, opts.out.display()));
            return Ok(outcome);
        }
        if !outcome.failed() {
            outcome
                .failures
                .push("no model exchange could be recorded".into());
        }
    }
    let keep = !outcome.failed() || opts.keep_partial;
    if !keep || recorded == 0 {
        let fate = if prep.existed {
            "is unchanged"
        } else {
            "was not created"
        };
        let hint = if recorded > 0 {
            format!("; --keep-partial writes the {recorded} exchange(s) recorded so far")
        } else {
            String::new()
        };
        outcome.notes.push(format!(
            "nothing written: {} {fate}{hint}",
            opts.out.display()
        ));
        return Ok(outcome);
    }
    if outcome.failed() {
        outcome.missing = missing(&built, provider);
    }

    let (mut exchanges, mut meta) = match (old_for_new, &prep.old) {
        (Some(_), Some(old)) => (old.cassette.exchanges.clone(), old.cassette.meta.clone()),
        _ => (Vec::new(), Meta::default()),
    };
    let now = now_rfc3339();
    let via = format!(
        "through {} ({})",
        prep.upstreams.describe(),
        built
            .endpoints
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut notes = vec![if old_for_new.is_some() {
        format!("{recorded} exchange(s) appended by tooltape record --mode new on {now}, {via}.")
    } else {
        format!(
            "Recorded by tooltape record {via}. tool_latency_ms is the time from a reply's end to the next request: \
             an upper bound of each call's run time (the proxy sees the turn, not each tool)."
        )
    }];
    if outcome.failed() {
        notes.push(format!("PARTIAL: {}", outcome.failures.join("; ")));
    }
    meta.notes = Some(match meta.notes.take() {
        Some(old) => format!("{old} {}", notes.join(" ")),
        None => notes.join(" "),
    });
    if old_for_new.is_none() {
        meta.model = built.model.clone();
        meta.recorded_at = Some(now);
        meta.source = Some(prep.redactor.text(&shell_words(&opts.command)).into_owned());
    }
    let mut meta_value = serde_json::to_value(&meta).unwrap_or_default();
    prep.redactor.value(&mut meta_value);
    let meta: Meta = serde_json::from_value(meta_value).unwrap_or(meta);
    exchanges.extend(built.exchanges);
    let cassette = Cassette {
        format: cassette::FORMAT.into(),
        version: cassette::VERSION,
        provider,
        meta,
        exchanges,
    };
    let text = serde_json::to_string_pretty(&cassette)
        .map_err(|e| Error::Usage(format!("cannot serialize the cassette: {e}")))?
        + "\n";
    if let Some(hit) = credentials.scan(&text) {
        let len = credentials
            .iter()
            .find(|c| c.source == hit.source)
            .map_or(0, |c| c.len());
        return Err(RecordError::CredentialInFile {
            path: opts.out.clone(),
            source_name: hit.source,
            len,
            form: hit.form,
            line: hit.line,
            existed: prep.existed,
        }
        .into());
    }
    let loaded = match cassette::parse(&opts.out, &text) {
        Ok(l) => Some(l),
        Err(e) if opts.keep_partial => {
            outcome
                .failures
                .push(format!("the recording does not load as a cassette: {e}"));
            None
        }
        Err(e) => {
            outcome
                .failures
                .push(format!("the recording does not load as a cassette: {e}"));
            outcome.notes.push(format!(
                "nothing written; --keep-partial writes it anyway to {}",
                opts.out.display()
            ));
            return Ok(outcome);
        }
    };
    if opts.mode == Mode::All
        && let (Some(old), Some(new)) = (&prep.old, &loaded)
    {
        outcome.drift = Some(drift::drift(old, new));
    }
    let overwrite = if prep.existed {
        Overwrite::Replace
    } else {
        Overwrite::Never
    };
    cassette::save_text(&opts.out, &text, overwrite)?;
    outcome.written = Some(Written {
        exchanges: cassette.exchanges.len(),
        recorded,
        partial: outcome.failed(),
        replaced: prep.existed,
    });
    Ok(outcome)
}

/// What a partial cassette lacks.
fn missing(built: &build::Built, provider: crate::transcript::Provider) -> Vec<String> {
    let mut out: Vec<String> = built
        .failures
        .iter()
        .map(|f| format!("no exchange for {f}"))
        .collect();
    if let Some(last) = built.exchanges.last() {
        let fmt = crate::provider::format(provider);
        let body = match &last.reply {
            cassette::RecordedReply::Body(b) => Ok(b.clone()),
            cassette::RecordedReply::Stream(ev) => fmt.reply_from_stream(ev),
        };
        if let Some(reply) = body.ok().and_then(|b| fmt.parse_reply(&b).ok())
            && reply.wants_tools()
        {
            out.push(format!(
                "the last reply asks for {} tool call(s); the follow-up that answers them was not recorded (continue with --mode new)",
                reply.calls().len()
            ));
        }
    }
    out
}

/// The current time in RFC 3339, to the second.
fn now_rfc3339() -> String {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}

/// The command as a shell would take it back: arguments quoted where needed.
fn shell_words(command: &[String]) -> String {
    command
        .iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse() {
        assert_eq!("once".parse::<Mode>(), Ok(Mode::Once));
        assert_eq!("new".parse::<Mode>(), Ok(Mode::New));
        assert_eq!("all".parse::<Mode>(), Ok(Mode::All));
        assert!("always".parse::<Mode>().is_err());
    }

    #[test]
    fn shell_words_quote_only_what_needs_it() {
        let cmd = [
            "python".to_string(),
            "agent.py".into(),
            "--prompt".into(),
            "it's here".into(),
            String::new(),
        ];
        assert_eq!(
            shell_words(&cmd),
            r"python agent.py --prompt 'it'\''s here' ''"
        );
    }

    #[test]
    fn timestamps_are_rfc3339_to_the_second() {
        let t = now_rfc3339();
        assert!(t.ends_with('Z') && t.len() == 20, "{t}");
        assert!(t.parse::<jiff::Timestamp>().is_ok());
    }

    #[test]
    fn refusals_happen_before_anything_runs() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("c.json");
        std::fs::write(&out, "old").unwrap();
        let opts = |mode, force| Options {
            out: out.clone(),
            mode,
            force,
            command: vec!["false".into()],
            ..Options::default()
        };
        let code = |r: Result<Prepared, Error>| match r {
            Err(Error::Record(e)) => e.exit_code(),
            Err(_) => 2,
            Ok(_) => 0,
        };
        assert_eq!(code(prepare(&opts(Mode::Once, false))), 2);
        assert_eq!(code(prepare(&opts(Mode::Once, true))), 2);
        assert_eq!(code(prepare(&opts(Mode::All, false))), 2);
        assert_eq!(
            code(prepare(&opts(Mode::New, false))),
            2,
            "new needs a readable cassette"
        );
        let p = prepare(&opts(Mode::All, true))
            .map_err(|e| e.to_string())
            .unwrap();
        assert!(p.old.is_none() && p.notes[0].contains("not a readable cassette"));
        let no_cmd = Options {
            command: vec![],
            ..opts(Mode::All, true)
        };
        assert!(matches!(
            prepare(&no_cmd),
            Err(Error::Record(RecordError::NoCommand))
        ));
        let bad = Options {
            redact: vec!["(".into()],
            ..opts(Mode::All, true)
        };
        assert!(matches!(
            prepare(&bad),
            Err(Error::Record(RecordError::BadPattern { .. }))
        ));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "old");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary files left: {names:?}");
    }
}
