//! `tooltape record`: record a live run of an agent into a cassette.
//!
//! A reverse [`proxy`] on 127.0.0.1 sits in front of the real APIs; the agent command is started
//! with every API's base-URL variable (`ANTHROPIC_BASE_URL`, `OPENAI_BASE_URL`,
//! `GOOGLE_GEMINI_BASE_URL`) pointing at it and its own credentials left in
//! its environment, so it sends them and the proxy forwards them. Requests go upstream
//! unchanged and replies come back chunk by chunk as they arrive, each chunk also
//! [`log`]ged (streams split into their events with [`sse`], stamped with their arrival gaps).
//! When the command exits, the model exchanges are [`build`]t into one cassette, bodies
//! [`redact`]ed (streams also as the texts their [`deltas`] spell together, every text also in
//! its [`decode`]d forms), and the text scanned for every credential the run used before it is
//! written atomically, readable by its owner only until the scan of the written bytes passed.
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
pub mod decode;
pub mod deltas;
pub mod drift;
mod error;
pub mod log;
pub mod names;
pub mod proxy;
pub mod redact;
pub mod report;
mod scan;
pub mod sse;
pub mod starter;
pub mod write;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use error::RecordError;

use crate::cassette::{self, LoadedCassette};
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

fn prepare(opts: &Options) -> Result<Prepared, RecordError> {
    if opts.command.is_empty() {
        return Err(RecordError::NoCommand);
    }
    let redactor = Redactor::new(&opts.redact)?;
    let upstreams = proxy::Upstreams::new(opts.upstream.as_deref())?;
    let out = &opts.out;
    if out.is_dir() {
        return Err(Error::Usage(format!(
            "--out {}: is a folder; give a file name like {}/run.json",
            out.display(),
            out.display()
        ))
        .into());
    }
    let existed = out.exists();
    let mut notes = Vec::new();
    let old = match (opts.mode, existed) {
        (_, false) => None,
        (Mode::Once, true) => {
            return Err(RecordError::Exists {
                path: out.clone(),
                hint: "--mode once records only new cassettes; use --mode new to continue it, or --mode all --force to re-record it",
            });
        }
        (Mode::All, true) if !opts.force => {
            return Err(RecordError::Exists {
                path: out.clone(),
                hint: "--mode all replaces it only with --force",
            });
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
fn check_writable(out: &Path) -> Result<(), RecordError> {
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
        .map_err(|e| Error::io(dir, e).into())
}

/// Record a run of `opts.command` (on a runtime of its own). `progress` hears what happens
/// while the command runs. Errors are about the input (exit 2) or, as [`RecordError`], about a
/// run that could not be written ([`RecordError::exit_code`]); a failed run that was reported
/// is an [`Outcome`] with `failures`.
pub fn record(
    opts: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Outcome, RecordError> {
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
) -> Result<Outcome, RecordError> {
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
    // Every API's base URL variables point at the proxy; the agent keeps its own keys.
    let mut env: Vec<(String, String)> = Vec::new();
    for p in crate::provider::Provider::ALL {
        for (k, v) in p.format().base_url_env(&base) {
            if !env.iter().any(|(name, _)| name == k) {
                env.push((k.to_string(), v));
            }
        }
    }
    progress(Progress::Started {
        addr: proxy.addr,
        upstreams: prep.upstreams.describe(),
        replaying,
    });
    let mut child = match process::spawn(&opts.command, &env, &[], Output::Inherit) {
        Ok(c) => c,
        Err(error) => {
            proxy.stop().await;
            return Err(RecordError::Spawn {
                command: opts.command.join(" "),
                error,
            });
        }
    };
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

    let mut credentials = Credentials::from_env(
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
    );
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
            });
        }
        r => r?,
    };

    write::conclude(opts, prep, &ended, built, &credentials)
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
        let code = |r: Result<Prepared, RecordError>| match r {
            Err(e) => e.exit_code(),
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
        assert!(matches!(prepare(&no_cmd), Err(RecordError::NoCommand)));
        let bad = Options {
            redact: vec!["(".into()],
            ..opts(Mode::All, true)
        };
        assert!(matches!(prepare(&bad), Err(RecordError::BadPattern { .. })));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "old");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary files left: {names:?}");
    }
}
