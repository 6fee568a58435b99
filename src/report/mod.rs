//! Reporters: turn scenario reports into text for people and files for machines. Nothing else
//! in tooltape prints.

pub mod json;
pub mod terminal;

use crate::replay::ScenarioReport;

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
}

impl Suite {
    /// (passed, failed) scenario counts.
    pub fn counts(&self) -> (usize, usize) {
        let passed = self.scenarios.iter().filter(|s| s.passed(self.lenient)).count();
        (passed, self.scenarios.len() - passed)
    }

    /// Whether every scenario passed.
    pub fn passed(&self) -> bool {
        self.counts().1 == 0
    }
}
