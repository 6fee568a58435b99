//! Reporters: turn scenario reports into text for people and files for machines. Nothing else
//! in tooltape prints.

pub mod json;
pub mod junit;
pub mod terminal;
pub mod timeline;

use std::collections::BTreeSet;

use crate::baseline::{Baseline, Stale};
use crate::partition::Partition;
use crate::replay::{RunReport, ScenarioReport};
use crate::rules::Violation;

/// What a whole `tooltape test` produced.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The handler's name.
    pub handler: String,
    /// The seed.
    pub seed: u64,
    /// Whether should-level rules are reported without failing.
    pub lenient: bool,
    /// One per scenario, in discovery order.
    pub scenarios: Vec<ScenarioReport>,
    /// Known violations (`--expected-failures`): reported, not failing.
    pub baseline: Option<Baseline>,
    /// Baseline entries that no longer apply (fixed, or naming no scenario).
    pub stale: Vec<Stale>,
    /// The shard of the suite that ran (`--partition`).
    pub partition: Option<Partition>,
}

/// The verdict on a scenario or a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Nothing failing.
    Passed,
    /// A failing violation the baseline does not list, or a run error.
    Failed,
    /// Failing violations, all listed in the baseline.
    ExpectedFailure,
}

impl Suite {
    /// A suite with no baseline and no partition.
    pub fn new(handler: String, seed: u64, lenient: bool, scenarios: Vec<ScenarioReport>) -> Self {
        Suite {
            handler,
            seed,
            lenient,
            scenarios,
            baseline: None,
            stale: Vec::new(),
            partition: None,
        }
    }

    /// Judge against `baseline`; `suite_names` are the names of every scenario of the suite,
    /// also those that did not run (see [`Baseline::stale`]).
    pub fn with_baseline(mut self, baseline: Baseline, suite_names: &BTreeSet<String>) -> Self {
        self.stale = baseline.stale(&self.scenarios, suite_names);
        self.baseline = Some(baseline);
        self
    }

    /// Whether violation `v` of scenario `s` is listed in the baseline.
    pub fn is_expected(&self, s: &ScenarioReport, v: &Violation) -> bool {
        self.baseline
            .as_ref()
            .is_some_and(|b| b.expects(&s.name, v))
    }

    /// The verdict on one run of `s`.
    pub fn run_status(&self, s: &ScenarioReport, run: &RunReport) -> Status {
        if run.passed(self.lenient) {
            Status::Passed
        } else if run.error.is_none() && run.failing(self.lenient).all(|v| self.is_expected(s, v)) {
            Status::ExpectedFailure
        } else {
            Status::Failed
        }
    }

    /// The verdict on a scenario: failed if any run failed, else expected failure if any was.
    pub fn status(&self, s: &ScenarioReport) -> Status {
        let mut out = Status::Passed;
        for run in &s.runs {
            match self.run_status(s, run) {
                Status::Failed => return Status::Failed,
                Status::ExpectedFailure => out = Status::ExpectedFailure,
                Status::Passed => {}
            }
        }
        out
    }

    /// (passed, failed) scenario counts; expected failures are in neither.
    pub fn counts(&self) -> (usize, usize) {
        let count = |st| {
            self.scenarios
                .iter()
                .filter(|s| self.status(s) == st)
                .count()
        };
        (count(Status::Passed), count(Status::Failed))
    }

    /// How many scenarios failed only in ways the baseline lists.
    pub fn expected_failures(&self) -> usize {
        self.scenarios
            .iter()
            .filter(|s| self.status(s) == Status::ExpectedFailure)
            .count()
    }

    /// Whether no scenario failed (expected failures do not count).
    pub fn passed(&self) -> bool {
        self.counts().1 == 0
    }
}
