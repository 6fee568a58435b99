//! Rules about how the tools were run, read from the fake tools' own records:
//! `sequential-execution`, `unsafe-parallel-writes`, `timeout-not-enforced`, `wrong-arguments`,
//! `call-not-run`, `call-run-twice`, `stopped-early`.
//!
//! Overlap is decided on the intervals the fake tools saw (half-open: a call that starts the
//! instant another ends did not overlap it). On the real clock the fake tools hold independent
//! calls until all of them have arrived, so a concurrent handler always overlaps them and a
//! sequential one never can: no verdict rests on a wall-clock threshold.

use crate::rules::input::{Match, Outcome, TurnObservation, peak_in_flight};
use crate::rules::{RuleId, Violation};

/// `sequential-execution`: independent calls that all ran, never overlapped.
pub(crate) fn sequential(obs: &TurnObservation) -> Option<Violation> {
    if !obs.execution.require_concurrency {
        return None;
    }
    let runs: Vec<_> = obs
        .messages
        .calls
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.side_effects)
        .filter_map(|(i, _)| obs.execution.runs_of(i).next())
        .collect();
    let seq: Vec<(u64, u64)> = runs
        .iter()
        .map(|inv| inv.seq_interval(obs.execution.judged_seq))
        .collect();
    if seq.len() < 2 || peak_in_flight(&seq) > 1 {
        return None;
    }
    Some(Violation::new(
        RuleId::SequentialExecution,
        obs.messages.turn,
        None,
        format!(
            "{} independent calls ran one after another (never more than 1 in flight)",
            seq.len()
        ),
    ))
}

/// `unsafe-parallel-writes`: side-effecting calls never overlap one another, and
/// order-dependent ones start in call order.
pub(crate) fn unsafe_parallel_writes(obs: &TurnObservation) -> Vec<Violation> {
    let writes: Vec<(usize, u64, u64)> = obs
        .execution
        .invocations
        .iter()
        .filter_map(|inv| {
            let i = inv.call?;
            let (s, e) = inv.seq_interval(obs.execution.judged_seq);
            obs.messages.calls[i].side_effects.then_some((i, s, e))
        })
        .collect();
    let mut out = Vec::new();
    for (k, &(i, s1, e1)) in writes.iter().enumerate() {
        if let Some(&(j, _, _)) = writes[..k]
            .iter()
            .find(|&&(j, s0, e0)| j != i && s0 < e1 && s1 < e0)
        {
            out.push(Violation::new(
                RuleId::UnsafeParallelWrites,
                obs.messages.turn,
                Some(&obs.messages.calls[i].call.id),
                format!(
                    "side-effecting call {} ({}) ran at the same time as {} ({})",
                    obs.messages.calls[i].call.id,
                    obs.messages.calls[i].call.name,
                    obs.messages.calls[j].call.id,
                    obs.messages.calls[j].call.name
                ),
            ));
        }
    }
    let mut ordered: Vec<(usize, u64)> = writes
        .iter()
        .filter(|(i, _, _)| obs.messages.calls[*i].order_dependent)
        .map(|&(i, s, _)| (i, s))
        .collect();
    ordered.sort_by_key(|&(i, s)| (s, i));
    for w in ordered.windows(2) {
        if w[1].0 < w[0].0 {
            let (a, b) = (
                &obs.messages.calls[w[1].0].call,
                &obs.messages.calls[w[0].0].call,
            );
            out.push(Violation::new(
                RuleId::UnsafeParallelWrites,
                obs.messages.turn,
                Some(&b.id),
                format!(
                    "order-dependent call {} ({}) ran before {} ({}), which the model gave first",
                    b.id, b.name, a.id, a.name
                ),
            ));
        }
    }
    out
}

/// `timeout-not-enforced`: a hung call is given up, and the turn answered, before the deadline.
pub(crate) fn timeout_not_enforced(obs: &TurnObservation) -> Vec<Violation> {
    let deadline = obs.execution.tool_deadline;
    obs.messages.calls
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.outcome, Some(Outcome::Hang)))
        .filter_map(|(i, c)| {
            let inv = obs.execution.runs_of(i).next()?;
            let limit = inv.start + deadline;
            // Given up in time is what counts (the turn may rightly go on with calls that
            // must run one at a time); a call never given up holds the turn until it is judged.
            let gave_up = inv.end.unwrap_or(obs.execution.judged_at);
            let late = if obs.messages.followup.is_some() {
                gave_up > limit
            } else {
                obs.execution.deadline_expired
            };
            late.then(|| {
                Violation::new(
                    RuleId::TimeoutNotEnforced,
                    obs.messages.turn,
                    Some(&c.call.id),
                    if obs.messages.followup.is_some() {
                        format!(
                            "call {} ({}) hung and was given up {} ms after it started, past the {} ms deadline",
                            c.call.id,
                            c.call.name,
                            (gave_up - inv.start).as_millis(),
                            deadline.as_millis()
                        )
                    } else {
                        format!(
                            "call {} ({}) hung and the handler was still waiting {} ms later; the run was stopped",
                            c.call.id,
                            c.call.name,
                            deadline.as_millis()
                        )
                    },
                )
            })
        })
        .collect()
}

/// `wrong-arguments`: each tool ran with exactly a call's input.
pub(crate) fn wrong_arguments(obs: &TurnObservation) -> Vec<Violation> {
    obs.execution
        .invocations
        .iter()
        .filter_map(|inv| match (inv.matched, inv.call) {
            (Match::WrongArguments, Some(i)) => {
                let call = &obs.messages.calls[i].call;
                let pretty = |v| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
                Some(
                    Violation::new(
                        RuleId::WrongArguments,
                        obs.messages.turn,
                        Some(&call.id),
                        format!(
                            "{} ran with input {} but call {} asked for {}",
                            call.name,
                            crate::util::clip(&inv.input.to_string(), 80),
                            call.id,
                            crate::util::clip(&call.input.to_string(), 80)
                        ),
                    )
                    .with_diff(crate::util::diff(
                        "call input",
                        "tool ran with",
                        &pretty(&call.input),
                        &pretty(&inv.input),
                    )),
                )
            }
            (Match::UnknownTool, _) => Some(Violation::new(
                RuleId::WrongArguments,
                obs.messages.turn,
                None,
                format!(
                    "ran tool {} with {}, but no call of this turn asks for that tool",
                    inv.tool,
                    crate::util::clip(&inv.input.to_string(), 80)
                ),
            )),
            _ => None,
        })
        .collect()
}

/// `call-not-run` and `call-run-twice`: each call's tool ran exactly once.
pub(crate) fn call_counts(obs: &TurnObservation) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, c) in obs.messages.calls.iter().enumerate() {
        let n = obs.execution.runs_of(i).count();
        if n == 0 && obs.messages.followup.is_some() {
            out.push(Violation::new(
                RuleId::CallNotRun,
                obs.messages.turn,
                Some(&c.call.id),
                format!(
                    "call {} ({}) was answered without running its tool",
                    c.call.id, c.call.name
                ),
            ));
        } else if n > 1 {
            out.push(Violation::new(
                RuleId::CallRunTwice,
                obs.messages.turn,
                Some(&c.call.id),
                format!("call {} ({}) ran {n} times", c.call.id, c.call.name),
            ));
        }
    }
    out
}

/// `stopped-early`: the handler ended while the reply still had calls to answer.
pub(crate) fn stopped_early(obs: &TurnObservation) -> Option<Violation> {
    (obs.messages.followup.is_none()
        && obs.execution.handler_ended
        && !obs.execution.deadline_expired
        && obs.messages.served.wants_tools())
    .then(|| {
        Violation::new(
            RuleId::StoppedEarly,
            obs.messages.turn,
            None,
            format!(
                "the handler stopped without answering the {} call(s) of turn {}",
                obs.messages.calls.len(),
                obs.messages.turn
            ),
        )
    })
}
