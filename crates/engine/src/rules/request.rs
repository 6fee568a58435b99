//! Rules about a request on its own: `parallel-writes-enabled`.

use crate::rules::catalogue::{Check, Family, Refused, Rule};
use crate::rules::{Level, RuleId, Violation};
use crate::transcript::Request;

pub(super) const PARALLEL_WRITES_ENABLED: Rule = Rule {
    id: "parallel-writes-enabled",
    level: Level::Should,
    family: Family::Request,
    refused: Refused::Never,
    summary: "offered such tools without disabling parallel calls in the request",
    why: "When a handler offers side-effecting tools it should ask the model for at most one call per turn, so the model does not plan several writes at once.",
    providers: "Anthropic: tool_choice: {\"type\": \"auto\", \"disable_parallel_tool_use\": true}. OpenAI Chat and Responses: parallel_tool_calls: false. Gemini: no such switch exists (toolConfig.functionCallingConfig.mode chooses whether and which functions are called, never how many), so there is nothing to set and this rule does not apply; what protects the writes there is running them one at a time (unsafe-parallel-writes).",
    fix: "Set the provider's parallel-disable switch in every request that offers a side-effecting tool.",
    check: Check::Request(parallel_writes_enabled),
    exercised_by: |s| {
        s.provider.format().has_parallel_switch()
            && s.offered.iter().any(|t| s.side_effect_tools.contains(t))
    },
};

/// `parallel-writes-enabled`: a request offering side-effecting tools disables parallel calls.
/// `side_effect_tools` are the tools the scenario marks side-effecting; `turn` is the turn
/// whose reply the request asks for.
pub(crate) fn parallel_writes_enabled(
    request: &Request,
    side_effect_tools: &[&str],
    turn: usize,
) -> Option<Violation> {
    let offered: Vec<&str> = request
        .tools
        .iter()
        .map(|t| t.name.as_str())
        .filter(|t| side_effect_tools.contains(t))
        .collect();
    if offered.is_empty() || request.parallel_disabled {
        return None;
    }
    Some(Violation::new(
        RuleId::ParallelWritesEnabled,
        turn,
        None,
        format!(
            "the request offers side-effecting tool{} {} but does not disable parallel tool calls",
            if offered.len() == 1 { "" } else { "s" },
            offered.join(", ")
        ),
    ))
}
