//! Running an agent command under test: a fresh mock server per run, the command started with
//! PRODUCT.md's variables in a process group of its own, its output kept, and the whole group
//! killed when the run ends so nothing is left behind.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

pub mod leftovers;

use crate::replay::{HandlerEnd, RunPlan, RunReport, supervise};
use crate::scenario::Scenario;

/// The log target of the events here: the `tooltape` crate's name, which log filters
/// (`TOOLTAPE_LOG=tooltape::replay=debug`) use, not this crate's.
const LOG: &str = "tooltape::process";

/// The largest `--time-scale` accepted: a scale that large already stretches every latency
/// past any sensible timeout.
pub const MAX_TIME_SCALE: f64 = 1000.0;

/// How a command is run.
#[derive(Debug, Clone)]
pub struct ProcessOptions {
    /// Multiplies every tool latency and stream gap (`--time-scale`).
    pub time_scale: f64,
    /// Keep at most this many bytes of the command's output (the last ones).
    pub output_limit: usize,
    /// Start no run after the first one that fails (`--fail-fast`); scenarios not started are
    /// left out of the reports.
    pub fail_fast: bool,
    /// Should-level violations do not fail a run (what `fail_fast` counts as failing).
    pub lenient: bool,
    /// Told of every run as it ends, before the next one of its scenario begins.
    pub on_run: Option<RunHook>,
}

/// A callback given each run's report as it ends: the scenario, the report, and how many runs
/// of the scenario are still to come.
#[derive(Clone)]
pub struct RunHook(pub Arc<RunHookFn>);

/// The function a [`RunHook`] holds.
pub type RunHookFn = dyn Fn(&Scenario, &RunReport, usize) + Send + Sync;

impl std::fmt::Debug for RunHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RunHook")
    }
}

impl Default for ProcessOptions {
    fn default() -> Self {
        ProcessOptions {
            time_scale: 1.0,
            output_limit: 64 * 1024,
            fail_fast: false,
            lenient: false,
            on_run: None,
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

/// One run of `command` against `mock`'s scenario on the real clock.
pub async fn run(
    mock: &crate::server::MockScenario,
    plan: RunPlan,
    command: &[String],
    opts: &ProcessOptions,
) -> RunReport {
    let span = tracing::debug_span!(target: LOG, "run", scenario = %mock.scenario().name, order = %plan.label);
    let session = mock.session(plan.clone(), opts.time_scale);
    let failed = |msg: String| RunReport::failed(&plan, msg);
    let server = match crate::server::start(session.clone(), mock, 0, opts.time_scale).await {
        Ok(s) => s,
        Err(e) => return failed(format!("could not start the mock server: {e}")),
    };
    let run_id = leftovers::new_run_id();
    let mut env = server.env_vars();
    env.push((leftovers::RUN_ID_VAR.to_string(), run_id.clone()));
    let mut child = match spawn(
        command,
        &env,
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
    tracing::debug!(target: LOG,
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
    tracing::debug!(target: LOG,
        parent: &span,
        violations = report.violations.len(),
        "the run ended"
    );
    // Whether it exited or was stopped, nothing of its group may outlive the run.
    child.kill().await;
    // What left the group (setsid, double fork) is found by the run's id, killed and named;
    // before the output is collected, as such a process may hold the pipes open.
    let left = leftovers::kill_all(&run_id).await;
    let output = child.finish().await;
    if !left.is_empty() {
        let names: Vec<String> = left
            .iter()
            .map(|p| format!("pid {} `{}`", p.pid, crate::util::clip(&p.command, 80)))
            .collect();
        report.notes.push(format!(
            "the command left {} process(es) running after it exited, now killed: {}",
            left.len(),
            names.join(", ")
        ));
    }
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
        // The mock is on loopback: a proxy of the developer's shell must not see it.
        .env("NO_PROXY", "127.0.0.1,localhost,::1")
        .env("no_proxy", "127.0.0.1,localhost,::1")
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

    /// Kill what is left of the group (SIGTERM, then SIGKILL after half a second) and wait
    /// for the leader.
    pub async fn kill(&mut self) {
        if let Some(pgid) = self.pgid {
            kill_group(pgid).await;
        }
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
    }

    /// Kill what is left of the group (see [`Self::kill`]) and give the captured output, if
    /// any was captured (waiting at most two seconds for the pipes to close).
    pub async fn finish(mut self) -> Option<String> {
        self.kill().await;
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
        Some(program) => {
            if let Err(why) = find_program(program) {
                return Err(std::io::Error::new(std::io::ErrorKind::NotFound, why));
            }
        }
    }
    become_subreaper();
    let rt = crate::replay::real_clock_runtime(Some(jobs.clamp(2, 8)))?;
    let handler = command.join(" ");
    let reports = rt.block_on(async {
        let limit = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
        let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks = tokio::task::JoinSet::new();
        let mut index = std::collections::HashMap::new();
        for (i, s) in scenarios.iter().enumerate() {
            let (s, limit, command, opts, handler, failed) = (
                s.clone(),
                limit.clone(),
                command.to_vec(),
                opts.clone(),
                handler.clone(),
                failed.clone(),
            );
            let task = tasks.spawn(async move {
                use std::sync::atomic::Ordering::SeqCst;
                let _permit = limit.acquire_owned().await;
                let mut runs = crate::replay::Runs::default();
                let total = crate::replay::order::plans(&s, seed).count();
                let mock = crate::server::MockScenario::new(s.clone());
                for (done, plan) in crate::replay::order::plans(&s, seed).enumerate() {
                    if opts.fail_fast && failed.load(SeqCst) {
                        break;
                    }
                    let report = run(&mock, plan, &command, &opts).await;
                    if opts.fail_fast && !report.passed(opts.lenient) {
                        failed.store(true, SeqCst);
                    }
                    if let Some(hook) = &opts.on_run {
                        (hook.0)(&s, &report, total - done - 1);
                    }
                    runs.push(report);
                }
                // Not started (--fail-fast): no report, rather than one of zero runs that passes.
                (!runs.is_empty())
                    .then(|| crate::replay::ScenarioReport::from_runs(&s, handler, runs))
            });
            index.insert(task.id(), i);
        }
        gather(tasks, &index, scenarios, &handler, on_done).await
    });
    Ok(reports)
}

/// Collect the scenario tasks' reports in the scenarios' order. A task that panicked or was
/// cancelled still gets its report, as a harness failure: a scenario never vanishes from a
/// suite (which could then pass).
async fn gather(
    mut tasks: tokio::task::JoinSet<Option<crate::replay::ScenarioReport>>,
    index: &std::collections::HashMap<tokio::task::Id, usize>,
    scenarios: &[Arc<Scenario>],
    handler: &str,
    on_done: &(dyn Fn(&crate::replay::ScenarioReport) + Sync),
) -> Vec<crate::replay::ScenarioReport> {
    let mut slots: Vec<Option<crate::replay::ScenarioReport>> = vec![None; scenarios.len()];
    while let Some(done) = tasks.join_next_with_id().await {
        let (id, report) = match done {
            Ok((_, None)) => continue,
            Ok((id, Some(report))) => (id, report),
            Err(e) => {
                let id = e.id();
                let Some(&i) = index.get(&id) else { continue };
                let why = match e.try_into_panic() {
                    Ok(payload) => crate::util::panic_message(payload.as_ref()),
                    Err(e) => e.to_string(),
                };
                let report = crate::replay::ScenarioReport::harness_failure(
                    &scenarios[i],
                    handler.to_string(),
                    why,
                );
                (id, report)
            }
        };
        if let Some(&i) = index.get(&id) {
            on_done(&report);
            slots[i] = Some(report);
        }
    }
    slots.into_iter().flatten().collect()
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
/// executable of that name on `PATH`; or why it cannot be started.
fn find_program(program: &str) -> Result<std::path::PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &std::path::Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let not_found = || format!("`{program}` was not found (not a file, and not on PATH)");
    let found = if program.contains('/') {
        let p = std::path::PathBuf::from(program);
        if p.is_file() && !executable(&p) {
            return Err(format!(
                "`{program}` is not executable (chmod +x it, or name its interpreter first)"
            ));
        }
        executable(&p).then_some(p).ok_or_else(not_found)?
    } else {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join(program))
            .find(|p| executable(p))
            .ok_or_else(not_found)?
    };
    startable(&found).map_err(|why| format!("`{program}` cannot be started: {why}"))?;
    Ok(found)
}

/// Whether the kernel can start `path`: a script (`#!`) or a binary (ELF on Linux). Checked by
/// hand because the only other way to know is to start it, which runs the agent: a file with
/// the execute bit but neither header fails with "Exec format error" (Rust's `Command` does not
/// fall back to `sh` as a shell would).
fn startable(path: &std::path::Path) -> Result<(), String> {
    use std::io::Read;
    let mut head = [0u8; 4];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| e.to_string())?;
    let head = &head[..n];
    if head.starts_with(b"#!") || !cfg!(target_os = "linux") || head == b"\x7fELF" {
        Ok(())
    } else {
        Err("it is neither a script starting with `#!` nor a binary (Exec format error)".into())
    }
}

/// The first model request of `command`, for synthesis: the command is started against a
/// probe (see [`crate::server::probe`]) and stopped, with its whole group, once its first
/// model call is in, or after `limit`. `Err` says why there is none: the command could not
/// start, exited first (with the end of its output) or sent nothing in time.
pub fn first_request(
    command: &[String],
    limit: Duration,
) -> Result<crate::server::probe::FirstRequest, String> {
    if let Some(program) = command.first() {
        find_program(program)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scenario_task_that_panics_is_reported_not_dropped() {
        let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("scenarios/anthropic-single_call.json");
        let s = Arc::new(crate::scenario::load(&path).unwrap());
        let scenarios = vec![s.clone(), s.clone()];
        let mut tasks = tokio::task::JoinSet::new();
        let mut index = std::collections::HashMap::new();
        let fine = s.clone();
        let ok = tasks.spawn(async move {
            Some(crate::replay::ScenarioReport::new(
                &fine,
                "h".into(),
                Vec::new(),
            ))
        });
        index.insert(ok.id(), 0);
        let bad = tasks.spawn(async move {
            // black_box: a panic the compiler cannot see coming, as in real code.
            if std::hint::black_box(true) {
                panic!("engine bug");
            }
            None
        });
        index.insert(bad.id(), 1);
        let reports = gather(tasks, &index, &scenarios, "h", &|_| {}).await;
        assert_eq!(reports.len(), 2, "the panicking scenario vanished");
        let e = reports[1].harness_error.as_deref().unwrap();
        assert!(e.contains("engine bug"), "{e}");
        assert!(!reports[1].passed(false));
    }
}
