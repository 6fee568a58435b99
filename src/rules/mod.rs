//! The rules: one small pure function per rule (or small family) over what one turn observed.
//!
//! [`check_turn`] runs every turn rule on a [`TurnObservation`]; [`check_request`] runs the
//! rules about a request on its own. Rules never print and never look at the clock: they read
//! the observation and return [`Violation`]s.

mod catalogue;
pub mod doc;
mod execution;
mod history;
pub mod input;
mod reject;
mod results;
mod shape;

use serde::Serialize;

pub use catalogue::{Explanation, Level, RuleId};
pub use reject::rejection_message;

use crate::provider::Provider;
use crate::transcript::Request;
use input::{TurnMessages, TurnObservation};

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Which rule.
    pub rule: RuleId,
    /// How strongly it binds here (split-results is should-level where the API merges).
    pub level: Level,
    /// The turn (1-based) it happened in.
    pub turn: usize,
    /// The call it concerns, when it concerns one.
    pub call_id: Option<String>,
    /// One line saying what happened.
    pub message: String,
    /// Expected versus actual, as a unified diff, where that helps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

impl Violation {
    /// A violation at the rule's usual level.
    pub fn new(
        rule: RuleId,
        turn: usize,
        call_id: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Violation {
            rule,
            level: rule.level(),
            turn,
            call_id: call_id.map(str::to_string),
            message: message.into(),
            diff: None,
        }
    }

    /// Attach a diff.
    pub fn with_diff(mut self, diff: Option<String>) -> Self {
        self.diff = diff;
        self
    }

    /// Set the level.
    pub fn at_level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Whether the real API would reject the follow-up for this (so the replay must stop).
    pub fn rejected_by_api(&self, provider: Provider) -> bool {
        use RuleId::*;
        match self.rule {
            MissingResult | UnknownResult | DuplicateResult | MissingAssistantTurn => true,
            ResultsNotFirst => provider == Provider::Anthropic,
            SplitResults => self.level == Level::Must,
            _ => false,
        }
    }
}

/// Run every turn rule on one observed turn, in catalogue order.
pub fn check_turn(obs: &TurnObservation) -> Vec<Violation> {
    let m = &obs.messages;
    let x = Some(&obs.execution);
    let mut out = Vec::new();
    if let Some(f) = &m.followup {
        let s = shape::Shape::of(m, f);
        out.extend(results::missing(m, &s, x));
        out.extend(results::unknown(m, f));
        out.extend(results::duplicate(m, &s));
        out.extend(results::mismatched(m, &s, x));
        out.extend(shape::split(m, &s));
        out.extend(shape::missing_assistant_turn(m, &s));
        out.extend(shape::results_not_first(m, f, &s));
        out.extend(history::changed(m, f, &s));
        out.extend(results::error_not_flagged(obs, &s));
    }
    out.extend(execution::sequential(obs));
    out.extend(execution::unsafe_parallel_writes(obs));
    out.extend(execution::timeout_not_enforced(obs));
    out.extend(execution::wrong_arguments(obs));
    out.extend(execution::call_counts(obs));
    out.extend(execution::stopped_early(obs));
    out.sort_by_key(|v| v.rule);
    out
}

/// The turn rules that read only the messages — the results, their order and the history —
/// for `tooltape lint`, which judges recorded conversations without a handler or tools. The
/// same functions as [`check_turn`], so lint and replay report a broken rule alike. Without
/// `history` the history is not compared (a turn cut out of one request has nothing to
/// compare it with).
pub(crate) fn check_messages(m: &TurnMessages, history: bool) -> Vec<Violation> {
    let Some(f) = &m.followup else {
        return Vec::new();
    };
    let s = shape::Shape::of(m, f);
    let mut out = Vec::new();
    out.extend(results::missing(m, &s, None));
    out.extend(results::unknown(m, f));
    out.extend(results::duplicate(m, &s));
    out.extend(shape::split(m, &s));
    out.extend(shape::missing_assistant_turn(m, &s));
    out.extend(shape::results_not_first(m, f, &s));
    if history {
        out.extend(history::changed(m, f, &s));
    }
    out.sort_by_key(|v| v.rule);
    out
}

/// `history-changed` alone: the follow-up repeats the previous request (and, when the
/// observation has calls, the reply served), for requests whose reply is unknown.
pub(crate) fn check_history(m: &TurnMessages) -> Vec<Violation> {
    let Some(f) = &m.followup else {
        return Vec::new();
    };
    history::changed(m, f, &shape::Shape::of(m, f))
}

/// Whether two messages are the same for `history-changed` (so callers can point at the first
/// message that differs).
pub(crate) fn same_message(a: &crate::transcript::Message, b: &crate::transcript::Message) -> bool {
    history::norm(a) == history::norm(b)
}

/// Rules about a request on its own: `parallel-writes-enabled`. `side_effect_tools` are the
/// tools the scenario marks side-effecting; `turn` is the turn whose reply the request asks for.
pub fn check_request(
    request: &Request,
    side_effect_tools: &[&str],
    turn: usize,
) -> Option<Violation> {
    let offered: Vec<&str> = request
        .tools
        .iter()
        .map(String::as_str)
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

#[cfg(test)]
mod tests;
