//! The replay engine: drives a conversation against a handler turn by turn, serving the
//! recorded replies, running the fake tools on a clock and judging each follow-up.
//!
//! In-process handlers run on the virtual clock (a paused tokio runtime): ten seconds of tool
//! latency cost microseconds and every figure is exact and reproducible.

pub mod order;
pub mod session;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::handler::{Env, Handler};
use crate::provider::Provider;
use crate::rules::{Level, Violation};
use crate::scenario::Scenario;
use crate::timing::TurnTiming;
pub use order::RunPlan;
use session::{Session, Stop};

/// The grace window of the fake tools' barrier on the virtual clock.
pub const VIRTUAL_GRACE: Duration = Duration::from_millis(1);

/// One run of a scenario: one completion order.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The completion order, like `reverse`.
    pub order: String,
    /// The run's seed.
    pub seed: u64,
    /// Broken rules.
    pub violations: Vec<Violation>,
    /// A problem that ended the run other than a rule (a request that cannot be parsed, a
    /// handler that crashed or kept asking after the final answer, a run that timed out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Things worth knowing that are not failures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Per-turn timing figures.
    pub turns: Vec<TurnTiming>,
    /// What a handler process printed (stdout and stderr, the last part if long).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

impl RunReport {
    /// Whether the run passed. With `lenient`, should-level violations do not fail it.
    pub fn passed(&self, lenient: bool) -> bool {
        self.error.is_none() && self.failing(lenient).next().is_none()
    }

    /// The violations that fail the run.
    pub fn failing(&self, lenient: bool) -> impl Iterator<Item = &Violation> {
        self.violations
            .iter()
            .filter(move |v| !(lenient && v.level == Level::Should))
    }
}

/// Every run of one scenario against one handler.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub name: String,
    /// Its file.
    pub path: std::path::PathBuf,
    /// Its API.
    pub provider: Provider,
    /// The handler's name.
    pub handler: String,
    /// One per completion order.
    pub runs: Vec<RunReport>,
}

impl ScenarioReport {
    /// Whether every run passed.
    pub fn passed(&self, lenient: bool) -> bool {
        self.runs.iter().all(|r| r.passed(lenient))
    }

    /// The distinct rules broken over all runs.
    pub fn rules_broken(&self) -> std::collections::BTreeSet<crate::rules::RuleId> {
        self.runs
            .iter()
            .flat_map(|r| r.violations.iter().map(|v| v.rule))
            .collect()
    }
}

/// Run every completion order of `scenario` against `handler` on the virtual clock.
pub fn run_scenario(scenario: Arc<Scenario>, handler: &dyn Handler, seed: u64) -> ScenarioReport {
    let runs = order::plans(&scenario, seed)
        .into_iter()
        .map(|plan| run_virtual(scenario.clone(), handler, plan))
        .collect();
    ScenarioReport {
        name: scenario.name.clone(),
        path: scenario.path.clone(),
        provider: scenario.cassette.provider(),
        handler: handler.name().to_string(),
        runs,
    }
}

/// One run on the virtual clock, on a runtime of its own.
pub fn run_virtual(scenario: Arc<Scenario>, handler: &dyn Handler, plan: RunPlan) -> RunReport {
    let label = plan.label.clone();
    let seed = plan.seed;
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return RunReport {
                order: label,
                seed,
                violations: Vec::new(),
                error: Some(format!("could not start a runtime: {e}")),
                notes: Vec::new(),
                turns: Vec::new(),
                output: None,
            };
        }
    };
    rt.block_on(drive(scenario, handler, plan, VIRTUAL_GRACE))
}

/// Drive one run of an in-process handler on the current runtime's clock.
pub async fn drive(
    scenario: Arc<Scenario>,
    handler: &dyn Handler,
    plan: RunPlan,
    grace: Duration,
) -> RunReport {
    let session = Session::new(scenario, plan, grace, 1.0);
    let env = Env {
        session: session.clone(),
    };
    let fut = handler.run(env);
    let ended = async {
        match fut.await {
            Ok(()) => HandlerEnd::Finished,
            Err(e) => HandlerEnd::Failed(e.to_string()),
        }
    };
    supervise(&session, ended, || async {}).await
}

/// How the handler under test ended, when it ended on its own.
#[derive(Debug, Clone, PartialEq)]
pub enum HandlerEnd {
    /// It returned, or its process exited with status 0.
    Finished,
    /// It returned an error, or its process exited with a failure status.
    Failed(String),
}

/// Run the handler (`ended` resolves when it ends) under the session's watchdog and run
/// timeout; `stop` is called when the engine ends the run first (to kill a process). Then
/// judge what is open and assemble the report.
pub(crate) async fn supervise<F, S, SF>(session: &Arc<Session>, ended: F, stop: S) -> RunReport
where
    F: std::future::Future<Output = HandlerEnd>,
    S: FnOnce() -> SF,
    SF: std::future::Future<Output = ()>,
{
    let run_timeout = Duration::from_millis(session.scenario.file.policy.run_timeout_ms);
    enum End {
        Handler(HandlerEnd),
        Deadline,
        Timeout,
    }
    let end = tokio::select! {
        r = ended => End::Handler(r),
        _ = session.watchdog() => End::Deadline,
        _ = tokio::time::sleep(run_timeout) => End::Timeout,
    };
    if !matches!(end, End::Handler(_)) {
        stop().await;
    }
    let judged = session.finish(matches!(end, End::Handler(_)));
    let mut error = None;
    let mut notes = judged.notes.clone();
    match (&end, &judged.stop) {
        (_, Some(Stop::Error(e))) => error = Some(e.clone()),
        (End::Timeout, _) => {
            error = Some(format!(
                "the run did not end within run_timeout_ms ({} ms)",
                run_timeout.as_millis()
            ))
        }
        // The handler stopping on the rejection is what a real agent would do.
        (End::Handler(HandlerEnd::Failed(_)), Some(Stop::Rejected(_))) => {}
        (End::Handler(HandlerEnd::Failed(e)), _) => {
            if judged
                .violations
                .iter()
                .any(|v| v.rule == crate::rules::RuleId::StoppedEarly)
            {
                notes.push(format!("the handler failed: {e}"));
            } else {
                error = Some(format!("the handler failed: {e}"));
            }
        }
        (End::Handler(HandlerEnd::Finished), None) if judged.served == 0 => {
            error = Some("the handler ended without asking the model anything".into())
        }
        _ => {}
    }
    if let Some(Stop::Rejected(msg)) = &judged.stop {
        notes.push(format!(
            "the follow-up was rejected as the real API would: {msg}"
        ));
    }
    RunReport {
        order: session.plan_label().to_string(),
        seed: session.seed(),
        violations: judged.violations,
        error,
        notes,
        turns: judged.timings,
        output: None,
    }
}
