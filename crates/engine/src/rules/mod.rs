//! The rules: one small pure function per rule (or small family) over what one turn observed.
//!
//! The rule table ([`catalogue`]) lists every rule with its id, level, family, explanation and
//! check. [`check_turn`] runs every turn rule on a [`TurnObservation`]; [`check_request`] runs
//! the rules about a request on its own; [`check_messages`] runs the rules that only need the
//! messages (what `tooltape lint` can judge). Rules never print and never look at the clock:
//! they read their input ([`input`]) and return [`Violation`]s.
//!
//! The rules sit below the engine: they import nothing from `replay`, `timing` or `report`.

mod catalogue;
pub mod doc;
mod execution;
mod history;
pub mod input;
mod request;
mod results;
mod shape;

use serde::Serialize;

pub use catalogue::{Check, Family, Level, Refused, Rule, RuleId, Turn};
#[doc(hidden)] // for the `tooltape` crate
pub use shape::wire_of;

use crate::provider::{Provider, Refusal};
use crate::transcript::Request;
use input::{ScenarioFacts, TurnMessages, TurnObservation};

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
    /// Where in the follow-up it shows: the 0-based index of the wire message (in `messages`
    /// or `input`, as the APIs' own errors count), when one message shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_index: Option<usize>,
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
            message_index: None,
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

    /// Say which wire message of the follow-up shows it.
    pub fn at_message(mut self, index: Option<usize>) -> Self {
        self.message_index = index;
        self
    }

    /// Whether the real API would reject the follow-up for this (so the replay must stop).
    pub fn refused_by_api(&self) -> bool {
        match self.rule.rule().refused {
            Refused::Never => false,
            Refused::Always(_) => true,
            Refused::AtMustLevel(_) => self.level == Level::Must,
        }
    }
}

fn sorted(mut out: Vec<Violation>) -> Vec<Violation> {
    out.sort_by_key(|v| v.rule);
    out
}

/// Run the turn rules that `pick` selects on one turn.
fn run_turn_rules(t: &Turn<'_>, pick: impl Fn(&Rule, bool) -> bool) -> Vec<Violation> {
    let mut out = Vec::new();
    for r in RuleId::ALL {
        let rule = r.rule();
        if let Check::Turn {
            check,
            needs_execution,
        } = rule.check
            && pick(rule, needs_execution)
        {
            out.extend(check(t));
        }
    }
    sorted(out)
}

/// Run every turn rule on one observed turn, in catalogue order.
pub fn check_turn(obs: &TurnObservation) -> Vec<Violation> {
    let m = &obs.messages;
    let shape = m.followup.as_ref().map(|f| shape::Shape::of(m, f));
    let t = Turn {
        messages: m,
        shape: shape.as_ref(),
        execution: Some(&obs.execution),
    };
    run_turn_rules(&t, |_, _| true)
}

/// The turn rules that read only the messages — the results, their order and the history —
/// for `tooltape lint`, which judges recorded conversations without a handler or tools. The
/// same functions as [`check_turn`], so lint and replay report a broken rule alike. Without
/// `history` the history is not compared (a turn cut out of one request has nothing to
/// compare it with).
pub fn check_messages(m: &TurnMessages, history: bool) -> Vec<Violation> {
    let Some(f) = &m.followup else {
        return Vec::new();
    };
    let shape = shape::Shape::of(m, f);
    let t = Turn {
        messages: m,
        shape: Some(&shape),
        execution: None,
    };
    run_turn_rules(&t, |rule, needs_execution| {
        !needs_execution && (history || rule.family != Family::History)
    })
}

/// The history rules alone: the follow-up repeats the previous request (and, when the
/// observation has calls, the reply served), for requests whose reply is unknown.
pub fn check_history(m: &TurnMessages) -> Vec<Violation> {
    let Some(f) = &m.followup else {
        return Vec::new();
    };
    let shape = shape::Shape::of(m, f);
    let t = Turn {
        messages: m,
        shape: Some(&shape),
        execution: None,
    };
    run_turn_rules(&t, |rule, _| rule.family == Family::History)
}

/// Whether two messages are the same for `history-changed` (so callers can point at the first
/// message that differs).
#[doc(hidden)] // for the `tooltape` crate
pub fn same_message(a: &crate::transcript::Message, b: &crate::transcript::Message) -> bool {
    history::same_message(a, b)
}

/// The rules about a request on its own (`parallel-writes-enabled`). `side_effect_tools` are
/// the tools the scenario marks side-effecting; `turn` is the turn whose reply the request
/// asks for.
pub fn check_request(request: &Request, side_effect_tools: &[&str], turn: usize) -> Vec<Violation> {
    let mut out = Vec::new();
    for r in RuleId::ALL {
        if let Check::Request(check) = r.rule().check {
            out.extend(check(request, side_effect_tools, turn));
        }
    }
    sorted(out)
}

/// The rules a scenario with these facts can catch, in catalogue order.
pub fn exercised(facts: &ScenarioFacts) -> Vec<RuleId> {
    RuleId::ALL
        .iter()
        .copied()
        .filter(|r| (r.rule().exercised_by)(facts))
        .collect()
}

/// The provider's 400 message for the first API-refused violation in `violations`, as the
/// real API words it. `last_message` is the index of the follow-up's last wire message;
/// `followup` the follow-up itself, for APIs whose text depends on its layout.
pub fn rejection_message(
    provider: Provider,
    violations: &[Violation],
    last_message: usize,
    followup: Option<&Request>,
) -> Option<String> {
    let v = violations.iter().find(|v| v.refused_by_api())?;
    let fault = match v.rule.rule().refused {
        Refused::Always(f) | Refused::AtMustLevel(f) => f,
        Refused::Never => return None,
    };
    // The calls the API would name: those without a result right after the assistant turn.
    let uncovered: Vec<&str> = violations
        .iter()
        .filter(|x| x.refused_by_api())
        .filter(|x| {
            matches!(
                x.rule.rule().refused,
                Refused::Always(f) | Refused::AtMustLevel(f) if f.leaves_calls_unanswered()
            )
        })
        .filter_map(|x| x.call_id.as_deref())
        .collect();
    Some(provider.format().rejection_text(&Refusal {
        fault,
        call_id: v.call_id.as_deref(),
        uncovered: &uncovered,
        last_message,
        followup,
    }))
}

#[cfg(test)]
mod tests;
