//! The replay engine: drives a conversation against a handler turn by turn, serving the
//! recorded replies, running the fake tools on a clock and judging each follow-up.
//!
//! In-process handlers run on the virtual clock (a paused tokio runtime): ten seconds of tool
//! latency cost microseconds and every figure is exact and reproducible.

pub mod exercise;
pub mod order;
pub mod session;
mod timer;

pub use timer::real_clock_runtime;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::provider::Provider;
use crate::rules::{Level, Violation};
use crate::scenario::Scenario;
use crate::timing::TurnTiming;
pub use order::RunPlan;
use session::{Session, Stop};

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
    /// The run was stopped at `run_timeout_ms` (its `error` says so).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// How many further runs, not listed, ended exactly as this one did: the same error,
    /// notes and violations (rule, level, turn, call), so the same verdict. Past
    /// [`LISTED_RUNS`] runs of a scenario, such runs are folded into the first like them
    /// (their timing figures and violation texts are not kept), so memory stays flat in the
    /// number of runs.
    #[serde(skip_serializing_if = "is_zero")]
    pub repeats: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// How many runs of a scenario are listed one by one in its report before runs that end as
/// a listed run did are folded into it ([`RunReport::repeats`]).
pub const LISTED_RUNS: usize = 1_000;

/// What makes two runs end the same way for every report: the verdict and what the reports
/// print of a failing run once deduplicated (terminal, JUnit, baseline matching).
type Signature = (
    Option<String>,
    bool,
    Vec<String>,
    Vec<(crate::rules::RuleId, Level, usize, Option<String>)>,
);

fn signature(r: &RunReport) -> Signature {
    (
        r.error.clone(),
        r.timed_out,
        r.notes.clone(),
        r.violations
            .iter()
            .map(|v| (v.rule, v.level, v.turn, v.call_id.clone()))
            .collect(),
    )
}

/// A scenario's runs as they end: the first [`LISTED_RUNS`] kept whole, later ones folded
/// into the first listed run that ended the same way, or listed when none did. Memory then
/// grows with the number of distinct outcomes, not with the number of runs.
#[derive(Debug, Default)]
pub struct Runs {
    listed: Vec<RunReport>,
    /// Listed runs by signature (the first of each), filled once folding starts.
    by_signature: std::collections::HashMap<Signature, usize>,
}

impl Runs {
    /// Add a run that ended.
    pub fn push(&mut self, run: RunReport) {
        if self.listed.len() < LISTED_RUNS {
            self.listed.push(run);
            return;
        }
        if self.by_signature.is_empty() {
            for (i, r) in self.listed.iter().enumerate() {
                self.by_signature.entry(signature(r)).or_insert(i);
            }
        }
        let sig = signature(&run);
        match self.by_signature.get(&sig) {
            Some(&i) => self.listed[i].repeats += 1,
            None => {
                self.by_signature.insert(sig, self.listed.len());
                self.listed.push(run);
            }
        }
    }

    /// Whether no run ended yet.
    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    /// How many runs ended, folded ones included.
    pub fn total(&self) -> u64 {
        self.listed.iter().map(|r| 1 + r.repeats).sum()
    }
}

impl From<Vec<RunReport>> for Runs {
    fn from(runs: Vec<RunReport>) -> Runs {
        let mut out = Runs::default();
        for r in runs {
            out.push(r);
        }
        out
    }
}

impl RunReport {
    /// A run that could not take place: `error` says why.
    pub fn failed(plan: &RunPlan, error: String) -> RunReport {
        RunReport {
            order: plan.label.clone(),
            seed: plan.seed,
            violations: Vec::new(),
            error: Some(error),
            notes: Vec::new(),
            turns: Vec::new(),
            output: None,
            timed_out: false,
            repeats: 0,
        }
    }

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
    /// One per completion order, except that past [`LISTED_RUNS`] a run that ended as a
    /// listed one did is counted in that run's [`RunReport::repeats`] instead.
    pub runs: Vec<RunReport>,
    /// tooltape itself failed on this scenario (a panic in the engine, a task lost): the verdict
    /// is unknown, so the suite ends with exit 2 whatever the other scenarios gave.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub harness_error: Option<String>,
}

impl ScenarioReport {
    /// The report of `scenario`'s runs against the handler called `handler`.
    pub fn new(scenario: &Scenario, handler: String, runs: Vec<RunReport>) -> ScenarioReport {
        Self::from_runs(scenario, handler, runs.into())
    }

    /// [`ScenarioReport::new`] from runs gathered as they ended.
    pub fn from_runs(scenario: &Scenario, handler: String, runs: Runs) -> ScenarioReport {
        ScenarioReport {
            name: scenario.name.clone(),
            path: scenario.path.clone(),
            provider: scenario.cassette.provider(),
            handler,
            runs: runs.listed,
            harness_error: None,
        }
    }

    /// How many runs the scenario had, folded ones included.
    pub fn run_count(&self) -> u64 {
        self.runs.iter().map(|r| 1 + r.repeats).sum()
    }

    /// The report of a scenario on which tooltape itself failed (`error` says how): one failed
    /// run carrying the error, so every report shows it, and [`Self::harness_error`] set.
    pub fn harness_failure(scenario: &Scenario, handler: String, error: String) -> ScenarioReport {
        let plan = RunPlan {
            label: "(harness)".into(),
            seed: 0,
            turns: Vec::new(),
        };
        let error = format!("tooltape failed on this scenario (not the handler): {error}");
        let mut report = Self::new(
            scenario,
            handler,
            vec![RunReport::failed(&plan, error.clone())],
        );
        report.harness_error = Some(error);
        report
    }

    /// Whether every run passed.
    pub fn passed(&self, lenient: bool) -> bool {
        self.harness_error.is_none() && self.runs.iter().all(|r| r.passed(lenient))
    }

    /// The distinct rules broken over all runs.
    pub fn rules_broken(&self) -> std::collections::BTreeSet<crate::rules::RuleId> {
        self.runs
            .iter()
            .flat_map(|r| r.violations.iter().map(|v| v.rule))
            .collect()
    }
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
        timed_out: matches!(end, End::Timeout),
        repeats: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleId;

    fn run(order: usize, violation: Option<(RuleId, &str)>) -> RunReport {
        let plan = RunPlan {
            label: format!("shuffle {order}"),
            seed: order as u64,
            turns: Vec::new(),
        };
        let mut r = RunReport::failed(&plan, String::new());
        r.error = None;
        if let Some((rule, call)) = violation {
            r.violations
                .push(Violation::new(rule, 1, Some(call), format!("run {order}")));
        }
        r
    }

    /// Past LISTED_RUNS, a run that ends as a listed one did is only counted; one that ends
    /// another way (another rule, another call) is listed, so every verdict stays as it was.
    #[test]
    fn runs_fold_into_counts_past_the_listed_ones() {
        let mut runs = Runs::default();
        let n = LISTED_RUNS + 5_000;
        for i in 0..n {
            let v = match i % 4 {
                0 => None,
                1 => Some((RuleId::MismatchedResult, "a")),
                2 => Some((RuleId::MismatchedResult, "b")),
                _ => Some((RuleId::MissingResult, "a")),
            };
            runs.push(run(i, v));
        }
        runs.push(run(n, Some((RuleId::HistoryChanged, "c"))));
        assert_eq!(runs.total(), n as u64 + 1);
        assert_eq!(runs.listed.len(), LISTED_RUNS + 1, "one new outcome listed");
        let last = runs.listed.last().unwrap();
        assert_eq!(last.violations[0].rule, RuleId::HistoryChanged);
        // Each of the first four outcomes took its share of the folded runs.
        let folded: Vec<u64> = runs.listed[..4].iter().map(|r| r.repeats).collect();
        assert_eq!(folded, vec![1_250; 4]);
        assert!(runs.listed[4..].iter().all(|r| r.repeats == 0));
    }
}
