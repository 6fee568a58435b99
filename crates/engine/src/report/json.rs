//! The `--json` report: per scenario its name, verdict, violations and per-turn timing.
//!
//! Top level: `tooltape` (version), `handler`, `seed`, `lenient`, `passed`, `failed` and
//! `expected_failures` (scenario counts), `partition` (`"K/N"`, when given), `baseline` (when
//! given: its `path` and the `stale` entries, each with a `reason`: `fixed` or
//! `unknown-scenario`), and `scenarios`. Each scenario has `name`, `path`, `provider`,
//! `status` (`passed`, `failed` or `expected-failure`), `passed` (false only for `failed`),
//! `violations` (every violation of every run: `rule`, `level`, `turn`, `call_id`,
//! `message`, `diff` when there is one, and `expected`: listed in the baseline) and `runs`
//! (one per completion order: `order`, `seed`, `violations`, `error`, `notes`, `repeats` when
//! runs past the first 1,000 that ended the same way were folded into this one, and `turns`
//! with the timing figures `wall_ms`, `held_ms` (harness holds, left out of the wall),
//! `tool_sum_ms`, `concurrency`, `peak_in_flight`, `ideal_ms`, `efficiency`, `stream_ms` (the
//! reply's stream gaps), `overhead_ms` and the timeline `bars`, each with its `held_ms`).

use serde::Serialize;

use super::{Status, Suite};
use crate::baseline::Stale;
use crate::replay::RunReport;
use crate::rules::Violation;

#[derive(Serialize)]
struct JsonSuite<'a> {
    tooltape: &'static str,
    handler: &'a str,
    seed: u64,
    lenient: bool,
    passed: usize,
    failed: usize,
    expected_failures: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    partition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<JsonBaseline<'a>>,
    scenarios: Vec<JsonScenario<'a>>,
}

#[derive(Serialize)]
struct JsonBaseline<'a> {
    path: String,
    stale: &'a [Stale],
}

#[derive(Serialize)]
struct JsonScenario<'a> {
    name: &'a str,
    path: String,
    provider: &'static str,
    status: &'static str,
    passed: bool,
    /// Every violation of every run (each also appears under its run).
    violations: Vec<JsonViolation<'a>>,
    runs: &'a [RunReport],
}

#[derive(Serialize)]
struct JsonViolation<'a> {
    #[serde(flatten)]
    violation: &'a Violation,
    expected: bool,
}

/// The JSON report of a suite, pretty-printed.
pub fn render(suite: &Suite) -> String {
    let (passed, failed) = suite.counts();
    let doc = JsonSuite {
        tooltape: env!("CARGO_PKG_VERSION"),
        handler: &suite.handler,
        seed: suite.seed,
        lenient: suite.lenient,
        passed,
        failed,
        expected_failures: suite.expected_failures(),
        partition: suite.partition.map(|p| p.to_string()),
        baseline: suite.baseline.as_ref().map(|b| JsonBaseline {
            path: b.path.display().to_string(),
            stale: &suite.stale,
        }),
        scenarios: suite
            .scenarios
            .iter()
            .map(|s| {
                let status = suite.status(s);
                JsonScenario {
                    name: &s.name,
                    path: s.path.display().to_string(),
                    provider: s.provider.as_str(),
                    status: match status {
                        Status::Passed => "passed",
                        Status::Failed => "failed",
                        Status::ExpectedFailure => "expected-failure",
                    },
                    passed: status != Status::Failed,
                    violations: s
                        .runs
                        .iter()
                        .flat_map(|r| r.violations.iter())
                        .map(|v| JsonViolation {
                            violation: v,
                            expected: suite.is_expected(s, v),
                        })
                        .collect(),
                    runs: &s.runs,
                }
            })
            .collect(),
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")) + "\n"
}
