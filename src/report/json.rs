//! The `--json` report: per scenario its name, verdict, violations and per-turn timing.

use serde::Serialize;

use super::Suite;
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
    scenarios: Vec<JsonScenario<'a>>,
}

#[derive(Serialize)]
struct JsonScenario<'a> {
    name: &'a str,
    path: String,
    provider: &'static str,
    passed: bool,
    /// Every violation of every run (each also appears under its run).
    violations: Vec<&'a Violation>,
    runs: &'a [RunReport],
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
        scenarios: suite
            .scenarios
            .iter()
            .map(|s| JsonScenario {
                name: &s.name,
                path: s.path.display().to_string(),
                provider: s.provider.as_str(),
                passed: s.passed(suite.lenient),
                violations: s.runs.iter().flat_map(|r| r.violations.iter()).collect(),
                runs: &s.runs,
            })
            .collect(),
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")) + "\n"
}
