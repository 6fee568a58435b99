//! Running an agent command under test: a fresh mock server per run, the command started with
//! PRODUCT.md's variables in a process group of its own, its output kept, and the whole group
//! killed when the run ends so nothing is left behind.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::replay::session::Session;
use crate::replay::{HandlerEnd, RunPlan, RunReport, supervise};
use crate::scenario::Scenario;

/// How a command is run.
#[derive(Debug, Clone)]
pub struct ProcessOptions {
    /// Multiplies every tool latency and stream gap (`--time-scale`).
    pub time_scale: f64,
    /// Keep at most this many bytes of the command's output (the last ones).
    pub output_limit: usize,
}

impl Default for ProcessOptions {
    fn default() -> Self {
        ProcessOptions {
            time_scale: 1.0,
            output_limit: 64 * 1024,
        }
    }
}

/// Make this process the reaper of its orphaned grandchildren (Linux), so that a killed
/// agent's children are collected here and never linger as zombies.
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    {
        let _ = nix::sys::prctl::set_child_subreaper(true);
    }
}

/// One run of `command` against `scenario` on the real clock.
pub async fn run(
    scenario: Arc<Scenario>,
    plan: RunPlan,
    command: &[String],
    opts: &ProcessOptions,
) -> RunReport {
    let grace = scenario.file.policy.real_grace();
    let span = tracing::debug_span!("run", scenario = %scenario.name, order = %plan.label);
    let session = Session::new(scenario, plan.clone(), grace, opts.time_scale);
    let failed = |msg: String| RunReport::failed(&plan, msg);
    let server = match crate::server::start(session.clone(), 0, opts.time_scale).await {
        Ok(s) => s,
        Err(e) => return failed(format!("could not start the mock server: {e}")),
    };
    let mut child = match spawn(
        command,
        &server.env_vars(),
        &crate::server::Server::env_remove(),
        Output::Capture {
            limit: opts.output_limit,
        },
    ) {
        Ok(c) => c,
        Err(e) => {
            server.stop().await;
            return failed(format!("could not start `{}`: {e}", command.join(" ")));
        }
    };
    tracing::debug!(
        parent: &span,
        command = ?command,
        pid = child.pgid(),
        "started the command under test"
    );
    let ended = async {
        match child.wait().await {
            Ok(status) if status.success() => HandlerEnd::Finished,
            Ok(status) => HandlerEnd::Failed(format!("the command exited with {status}")),
            Err(e) => HandlerEnd::Failed(format!("waiting for the command failed: {e}")),
        }
    };
    let mut report = supervise(&session, ended, || async {}).await;
    tracing::debug!(
        parent: &span,
        violations = report.violations.len(),
        "the run ended"
    );
    // Whether it exited or was stopped, nothing of its group may outlive the run.
    let output = child.finish().await;
    server.stop().await;
    report.output = output;
    report
}

/// What happens to a started command's stdout and stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Keep the last `limit` bytes of both, interleaved.
    Capture {
        /// How many bytes to keep.
        limit: usize,
    },
    /// Let them through to ours (a recorded agent prints as it would alone).
    Inherit,
}

/// A command running in a process group of its own (see [`spawn`]).
pub struct GroupChild {
    child: tokio::process::Child,
    pgid: Option<u32>,
    output: Arc<Mutex<Vec<u8>>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

/// Start `command` (program and arguments) in a new process group with `env` added to our
/// environment and `env_remove` taken out of it, stdin closed. The group is killed when the
/// returned value is dropped or [`GroupChild::finish`]ed, so nothing it spawned outlives it.
pub fn spawn(
    command: &[String],
    env: &[(String, String)],
    env_remove: &[&str],
    output: Output,
) -> std::io::Result<GroupChild> {
    let Some((program, args)) = command.split_first() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "no command given",
        ));
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    for name in env_remove {
        cmd.env_remove(name);
    }
    let (out, err) = match output {
        Output::Capture { .. } => (Stdio::piped(), Stdio::piped()),
        Output::Inherit => (Stdio::inherit(), Stdio::inherit()),
    };
    cmd.stdout(out).stderr(err);
    let mut child = cmd.spawn()?;
    let pgid = child.id();
    let kept = Arc::new(Mutex::new(Vec::<u8>::new()));
    let mut readers = Vec::new();
    if let Output::Capture { limit } = output {
        if let Some(o) = child.stdout.take() {
            readers.push(tokio::spawn(collect(o, kept.clone(), limit)));
        }
        if let Some(e) = child.stderr.take() {
            readers.push(tokio::spawn(collect(e, kept.clone(), limit)));
        }
    }
    Ok(GroupChild {
        child,
        pgid,
        output: kept,
        readers,
    })
}

impl GroupChild {
    /// The group's id (the leader's pid).
    pub fn pgid(&self) -> Option<u32> {
        self.pgid
    }

    /// Wait for the command itself (the group's leader) to exit.
    pub async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.child.wait().await
    }

    /// Kill what is left of the group (SIGTERM, then SIGKILL after half a second) and give
    /// the captured output, if any was captured.
    pub async fn finish(mut self) -> Option<String> {
        if let Some(pgid) = self.pgid {
            kill_group(pgid).await;
        }
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
        for r in std::mem::take(&mut self.readers) {
            let _ = tokio::time::timeout(Duration::from_secs(2), r).await;
        }
        let out = self
            .output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        (!out.is_empty()).then(|| String::from_utf8_lossy(&out).into_owned())
    }
}

async fn collect<R: AsyncRead + Unpin>(mut r: R, into: Arc<Mutex<Vec<u8>>>, limit: usize) {
    let mut buf = [0u8; 8192];
    while let Ok(n) = r.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let mut out = into.lock().unwrap_or_else(|e| e.into_inner());
        out.extend_from_slice(&buf[..n]);
        if out.len() > limit {
            let cut = out.len() - limit;
            out.drain(..cut);
        }
    }
}

/// SIGTERM the process group, then SIGKILL what is left after a moment.
async fn kill_group(pgid: u32) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    let Ok(raw) = i32::try_from(pgid) else { return };
    let pg = Pid::from_raw(raw);
    if killpg(pg, Signal::SIGTERM).is_err() {
        return; // the group is gone already
    }
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        reap(pg);
        if killpg(pg, None).is_err() {
            return;
        }
    }
    let _ = killpg(pg, Signal::SIGKILL);
    tokio::time::sleep(Duration::from_millis(25)).await;
    reap(pg);
}

/// Collect exited members of the group that were re-parented to us (see
/// [`become_subreaper`]), so they do not stay zombies. The group's leader has been waited for
/// by then, so this never takes tokio's own child from it.
fn reap(pg: nix::unistd::Pid) {
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    let group = nix::unistd::Pid::from_raw(-pg.as_raw());
    while let Ok(status) = waitpid(group, Some(WaitPidFlag::WNOHANG)) {
        if status == WaitStatus::StillAlive {
            break;
        }
    }
}

/// Run every scenario (every completion order of each) against `command`, `jobs` scenarios
/// side by side, each run with its own server on its own port. Reports come back in the
/// scenarios' order.
pub fn run_suite(
    scenarios: &[Arc<Scenario>],
    command: &[String],
    seed: u64,
    jobs: usize,
    opts: &ProcessOptions,
    on_done: &(dyn Fn(&crate::replay::ScenarioReport) + Sync),
) -> std::io::Result<Vec<crate::replay::ScenarioReport>> {
    // A command that cannot start is a command-line error, found once, before any run.
    match command.first() {
        None => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "no command given after `--`",
            ));
        }
        Some(program) if find_program(program).is_none() => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("`{program}` was not found (not a file, and not on PATH)"),
            ));
        }
        Some(_) => {}
    }
    become_subreaper();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(jobs.clamp(2, 8))
        .enable_all()
        .build()?;
    let handler = command.join(" ");
    let reports = rt.block_on(async {
        let limit = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, s) in scenarios.iter().enumerate() {
            let (s, limit, command, opts, handler) = (
                s.clone(),
                limit.clone(),
                command.to_vec(),
                opts.clone(),
                handler.clone(),
            );
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let mut runs = Vec::new();
                for plan in crate::replay::order::plans(&s, seed) {
                    runs.push(run(s.clone(), plan, &command, &opts).await);
                }
                let report = crate::replay::ScenarioReport::new(&s, handler, runs);
                (i, report)
            });
        }
        let mut slots: Vec<Option<crate::replay::ScenarioReport>> = vec![None; scenarios.len()];
        while let Some(done) = tasks.join_next().await {
            if let Ok((i, report)) = done {
                on_done(&report);
                slots[i] = Some(report);
            }
        }
        slots.into_iter().flatten().collect()
    });
    Ok(reports)
}

/// `tooltape serve`: the mock server alone for one run of `scenario`, for an agent started by
/// hand. `ready` gets the variables to export once the server listens. Serves until the
/// cassette is spent or Ctrl-C.
pub async fn serve(
    scenario: Arc<Scenario>,
    plan: RunPlan,
    port: u16,
    ready: impl FnOnce(&[(String, String)]),
) -> std::io::Result<RunReport> {
    let mock = crate::server::MockRun::start(scenario, plan, port, 1.0).await?;
    ready(&mock.env_vars());
    let interrupted = tokio::select! {
        _ = mock.done() => false,
        _ = tokio::signal::ctrl_c() => true,
    };
    // Let the last response reach the agent before the server goes away.
    mock.drained(Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut report = mock.finish().await;
    if interrupted {
        report
            .notes
            .push("interrupted (Ctrl-C) before the cassette was spent".into());
    }
    Ok(report)
}

/// Where `program` would be started from: itself when it names a path, else the first
/// executable of that name on `PATH`.
fn find_program(program: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &std::path::Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = std::path::PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| executable(p))
}

/// The first model request of `command`, for synthesis: the command is started against a
/// probe (see [`crate::server::probe`]) and stopped, with its whole group, once its first
/// model call is in, or after `limit`. `Err` says why there is none: the command could not
/// start, exited first (with the end of its output) or sent nothing in time.
pub fn first_request(
    command: &[String],
    limit: Duration,
) -> Result<crate::server::probe::FirstRequest, String> {
    if let Some(program) = command.first()
        && find_program(program).is_none()
    {
        return Err(format!(
            "`{program}` was not found (not a file, and not on PATH)"
        ));
    }
    become_subreaper();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    rt.block_on(async {
        let ((addr, shutdown, task), rx) = crate::server::probe::start()
            .await
            .map_err(|e| format!("could not start the probe server: {e}"))?;
        let stop = || {
            let _ = shutdown.send(());
            task.abort();
        };
        let mut child = match spawn(
            command,
            &crate::server::env_for(addr),
            &crate::server::Server::env_remove(),
            Output::Capture { limit: 4096 },
        ) {
            Ok(c) => c,
            Err(e) => {
                stop();
                return Err(format!("could not start `{}`: {e}", command.join(" ")));
            }
        };
        let outcome = tokio::select! {
            got = rx => got.map_err(|_| "the probe server stopped".to_string()),
            status = child.wait() => Err(match status {
                Ok(s) => format!("the command exited ({s}) before its first model request"),
                Err(e) => format!("waiting for the command failed: {e}"),
            }),
            () = tokio::time::sleep(limit) => Err(format!(
                "the command sent no model request within {} s",
                limit.as_secs()
            )),
        };
        let output = child.finish().await;
        stop();
        outcome.map_err(|why| match output {
            Some(out) => format!("{why}; the end of its output:\n{}", out.trim_end()),
            None => why,
        })
    })
}
