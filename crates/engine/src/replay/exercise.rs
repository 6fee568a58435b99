//! Which rules a scenario can catch: the facts the rule table's `exercised_by` predicates read,
//! computed from the scenario and the completion orders its runs will use.

use crate::rules::input::{Outcome, ScenarioFacts};
use crate::rules::{self, RuleId};
use crate::scenario::{CallBehaviour, Scenario};

use super::order::{self, TurnOrder};

/// The facts of `scenario` for the runs of `seed`.
pub fn facts(scenario: &Scenario, seed: u64) -> ScenarioFacts {
    let side_effect_tools = scenario.side_effect_tools();
    ScenarioFacts {
        provider: scenario.cassette.provider(),
        turns: scenario
            .turns
            .iter()
            .map(|t| t.iter().map(CallBehaviour::facts).collect())
            .collect(),
        reorders_distinct_calls: reorders_distinct_calls(scenario, seed),
        offered: scenario
            .cassette
            .requests
            .first()
            .map(|r| r.tool_names())
            .unwrap_or_default(),
        side_effect_tools,
        require_concurrency: scenario.file.policy.require_concurrency,
    }
}

/// The rules `scenario` can catch with the runs of `seed`, in catalogue order.
pub fn exercised(scenario: &Scenario, seed: u64) -> Vec<RuleId> {
    rules::exercised(&facts(scenario, seed))
}

/// Whether some run completes two calls of a turn that differ in name or input out of the
/// model's order: then a handler that pairs outputs with ids by completion order files an
/// output under the wrong call. Hung calls complete last (when the handler gives up on them).
fn reorders_distinct_calls(scenario: &Scenario, seed: u64) -> bool {
    let latencies = order::latencies(scenario, seed);
    order::plans(scenario, seed).any(|plan| {
        plan.turns.iter().enumerate().any(|(t, turn_order)| {
            let calls = &scenario.turns[t];
            let key = |i: usize| (&calls[i].call.name, &calls[i].call.input);
            let hung = |i: usize| matches!(calls[i].outcome, Outcome::Hang);
            let mut done: Vec<usize> = (0..calls.len()).collect();
            match turn_order {
                TurnOrder::Ranks(ranks) => done.sort_by_key(|&i| (hung(i), ranks[i])),
                TurnOrder::Latency => done.sort_by_key(|&i| (hung(i), latencies[t][i], i)),
            }
            done.iter().enumerate().any(|(k, &i)| key(i) != key(k))
        })
    })
}
