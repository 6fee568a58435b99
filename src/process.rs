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

/// The real-clock barrier window when the scenario does not set one.
pub const DEFAULT_GRACE: Duration = Duration::from_millis(2000);

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
    let grace = scenario
        .file
        .policy
        .grace_ms
        .map_or(DEFAULT_GRACE, Duration::from_millis);
    let session = Session::new(scenario, plan.clone(), grace, opts.time_scale);
    let failed = |msg: String| RunReport {
        order: plan.label.clone(),
        seed: plan.seed,
        violations: Vec::new(),
        error: Some(msg),
        notes: Vec::new(),
        turns: Vec::new(),
        output: None,
    };
    let server = match crate::server::start(session.clone(), 0, opts.time_scale).await {
        Ok(s) => s,
        Err(e) => return failed(format!("could not start the mock server: {e}")),
    };
    let Some((program, args)) = command.split_first() else {
        server.stop().await;
        return failed("no command given".into());
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .envs(server.env_vars())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env_remove("ANTHROPIC_AUTH_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            server.stop().await;
            return failed(format!("could not start `{}`: {e}", command.join(" ")));
        }
    };
    let pgid = child.id();
    let output = Arc::new(Mutex::new(Vec::<u8>::new()));
    let readers = [
        child.stdout.take().map(|o| tokio::spawn(collect(o, output.clone(), opts.output_limit))),
        child.stderr.take().map(|e| tokio::spawn(collect(e, output.clone(), opts.output_limit))),
    ];
    let ended = async {
        match child.wait().await {
            Ok(status) if status.success() => HandlerEnd::Finished,
            Ok(status) => HandlerEnd::Failed(format!("the command exited with {status}")),
            Err(e) => HandlerEnd::Failed(format!("waiting for the command failed: {e}")),
        }
    };
    let mut report = supervise(&session, ended, || async {}).await;
    // Whether it exited or was stopped, nothing of its group may outlive the run.
    if let Some(pgid) = pgid {
        kill_group(pgid).await;
    }
    for r in readers.into_iter().flatten() {
        let _ = tokio::time::timeout(Duration::from_secs(2), r).await;
    }
    server.stop().await;
    let out = output.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if !out.is_empty() {
        report.output = Some(String::from_utf8_lossy(&out).into_owned());
    }
    report
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
            let (s, limit, command, opts, handler) =
                (s.clone(), limit.clone(), command.to_vec(), opts.clone(), handler.clone());
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let mut runs = Vec::new();
                for plan in crate::replay::order::plans(&s, seed) {
                    runs.push(run(s.clone(), plan, &command, &opts).await);
                }
                let report = crate::replay::ScenarioReport {
                    name: s.name.clone(),
                    path: s.path.clone(),
                    provider: s.cassette.provider(),
                    handler,
                    runs,
                };
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
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut report = mock.finish().await;
    if interrupted {
        report
            .notes
            .push("interrupted (Ctrl-C) before the cassette was spent".into());
    }
    Ok(report)
}
