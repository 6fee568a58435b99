//! Rules about how the tools were run, read from the fake tools' own records:
//! `sequential-execution`, `unsafe-parallel-writes`, `timeout-not-enforced`, `wrong-arguments`,
//! `call-not-run`, `call-run-twice`, `stopped-early`.
//!
//! Overlap is decided on the intervals the fake tools saw (half-open: a call that starts the
//! instant another ends did not overlap it). On the real clock the fake tools hold independent
//! calls until all of them have arrived, so a concurrent handler always overlaps them and a
//! sequential one never can: no verdict rests on a wall-clock threshold.

use crate::rules::catalogue::{Check, Family, Refused, Rule, Turn};
use crate::rules::input::{Execution, Match, Outcome, TurnMessages, peak_in_flight};
use crate::rules::{Level, RuleId, Violation};

/// Run `check` on a turn whose tools were observed; lint, which has no tools, judges nothing.
fn on_execution(
    t: &Turn<'_>,
    check: impl FnOnce(&TurnMessages, &Execution) -> Vec<Violation>,
) -> Vec<Violation> {
    t.execution.map_or_else(Vec::new, |x| check(t.messages, x))
}

pub(super) const SEQUENTIAL_EXECUTION: Rule = Rule {
    id: "sequential-execution",
    level: Level::Should,
    family: Family::Timing,
    refused: Refused::Never,
    summary: "ran independent calls one after another",
    why: "Calls in one assistant turn are independent: the provider's own guidance is to run them concurrently. Running them one by one makes a turn as slow as the sum of its tools instead of the slowest one.",
    providers: "Anthropic: \"calls are unordered; run them concurrently (Promise.all, asyncio.gather)\". OpenAI: parallel calls are meant to be run together. Google's and Anthropic's SDK loops run them sequentially, so handlers built on them trip this rule.",
    fix: "Start every independent call before awaiting any (asyncio.gather, Promise.all, join_all, a task per call).",
    check: Check::Turn {
        check: |t| on_execution(t, |m, x| sequential(m, x).into_iter().collect()),
        needs_execution: true,
    },
    exercised_by: |s| s.require_concurrency && s.some_turn_has(2, |c| !c.side_effects),
};

pub(super) const UNSAFE_PARALLEL_WRITES: Rule = Rule {
    id: "unsafe-parallel-writes",
    level: Level::Must,
    family: Family::Timing,
    refused: Refused::Never,
    summary: "overlapped calls to tools that the scenario marks side-effecting or order-dependent",
    why: "Tools that change the world, or whose order matters, must not run at the same time: two writes racing leave an undefined result.",
    providers: "No provider checks it; Anthropic's docs suggest running tools with side effects or ordering needs sequentially and answering dependents with is_error results. MCP marks such tools with destructiveHint / readOnlyHint annotations.",
    fix: "Run read-only calls concurrently and side-effecting ones one at a time, in the order the model gave them.",
    check: Check::Turn {
        check: |t| on_execution(t, unsafe_parallel_writes),
        needs_execution: true,
    },
    exercised_by: |s| s.some_turn_has(2, |c| c.side_effects),
};

pub(super) const TIMEOUT_NOT_ENFORCED: Rule = Rule {
    id: "timeout-not-enforced",
    level: Level::Must,
    family: Family::Timing,
    refused: Refused::Never,
    summary: "let a hung tool hold the turn past the scenario's deadline",
    why: "A hung tool must not hold the whole turn forever: the handler should give up on it after a deadline and answer it with an error result, so the model can carry on.",
    providers: "Anthropic: answer the abandoned call with an is_error tool_result. OpenAI: an error text result. MCP's spec: clients should implement timeouts for tool calls.",
    fix: "Wrap every tool call in a timeout (asyncio.wait_for, AbortSignal.timeout, tokio::time::timeout) and turn the timeout into an error result.",
    check: Check::Turn {
        check: |t| on_execution(t, timeout_not_enforced),
        needs_execution: true,
    },
    exercised_by: |s| s.any_outcome(|o| matches!(o, Outcome::Hang)),
};

pub(super) const WRONG_ARGUMENTS: Rule = Rule {
    id: "wrong-arguments",
    level: Level::Must,
    family: Family::Calls,
    refused: Refused::Never,
    summary: "ran a tool with other input than the call's",
    why: "A tool must run with exactly the input the model gave for the call; a changed, truncated or swapped input runs the wrong action.",
    providers: "Anthropic: input is an object. OpenAI: arguments is a JSON string to parse (it may be invalid JSON). Streams: concatenate the argument fragments before parsing.",
    fix: "Pass the parsed input of the call, untouched, to the tool; parse streamed arguments only once they are complete.",
    check: Check::Turn {
        check: |t| on_execution(t, wrong_arguments),
        needs_execution: true,
    },
    exercised_by: |s| s.calls().next().is_some(),
};

pub(super) const CALL_NOT_RUN: Rule = Rule {
    id: "call-not-run",
    level: Level::Must,
    family: Family::Calls,
    refused: Refused::Never,
    summary: "ran a call's tool zero times",
    why: "Every call the model asked for must be executed (and answered); a result invented without running the tool is a wrong answer.",
    providers: "Not checked by any API: only the tools can see it.",
    fix: "Run every call; if you decide not to, answer it with an error result that says so rather than with made-up output.",
    check: Check::Turn {
        check: |t| on_execution(t, call_not_run),
        needs_execution: true,
    },
    exercised_by: |s| s.calls().next().is_some(),
};

pub(super) const CALL_RUN_TWICE: Rule = Rule {
    id: "call-run-twice",
    level: Level::Must,
    family: Family::Calls,
    refused: Refused::Never,
    summary: "ran a call's tool more than once",
    why: "Each call must run exactly once: a second run repeats its side effects (a second email, a second payment).",
    providers: "Not checked by any API. SDK-level retries of the *model* request (x-stainless-retry-count) are not tool re-runs.",
    fix: "Run each call once; retry only tools you know to be idempotent, and never as a side effect of rebuilding the result list.",
    check: Check::Turn {
        check: |t| on_execution(t, call_run_twice),
        needs_execution: true,
    },
    exercised_by: |s| s.any_outcome(|o| matches!(o, Outcome::Output(_))),
};

pub(super) const STOPPED_EARLY: Rule = Rule {
    id: "stopped-early",
    level: Level::Must,
    family: Family::Calls,
    refused: Refused::Never,
    summary: "stopped the loop while the model still had tool calls to answer",
    why: "The agent loop must keep going while the model asks for tools: stopping after the first round, or when a tool fails, leaves the task half done.",
    providers: "Anthropic: continue while stop_reason is tool_use. OpenAI Chat: while finish_reason is tool_calls. OpenAI Responses: while the output holds function_call items.",
    fix: "Loop until the reply has no tool calls; treat tool failures as results, not as reasons to exit.",
    check: Check::Turn {
        check: |t| on_execution(t, |m, x| stopped_early(m, x).into_iter().collect()),
        needs_execution: true,
    },
    exercised_by: |s| s.calls().next().is_some(),
};

/// `sequential-execution`: independent calls that all ran, never overlapped.
pub(crate) fn sequential(m: &TurnMessages, x: &Execution) -> Option<Violation> {
    if !x.require_concurrency {
        return None;
    }
    let runs: Vec<_> = m
        .calls
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.side_effects)
        .filter_map(|(i, _)| x.runs_of(i).next())
        .collect();
    let seq: Vec<(u64, u64)> = runs
        .iter()
        .map(|inv| inv.seq_interval(x.judged_seq))
        .collect();
    if seq.len() < 2 || peak_in_flight(&seq) > 1 {
        return None;
    }
    Some(Violation::new(
        RuleId::SequentialExecution,
        m.turn,
        None,
        format!(
            "{} independent calls ran one after another (never more than 1 in flight)",
            seq.len()
        ),
    ))
}

/// `unsafe-parallel-writes`: side-effecting calls never overlap one another, and
/// order-dependent ones start in call order.
pub(crate) fn unsafe_parallel_writes(m: &TurnMessages, x: &Execution) -> Vec<Violation> {
    let writes: Vec<(usize, u64, u64)> = x
        .invocations
        .iter()
        .filter_map(|inv| {
            let i = inv.call?;
            let (s, e) = inv.seq_interval(x.judged_seq);
            m.calls[i].side_effects.then_some((i, s, e))
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
                m.turn,
                Some(&m.calls[i].call.id),
                format!(
                    "side-effecting call {} ({}) ran at the same time as {} ({})",
                    m.calls[i].call.id,
                    m.calls[i].call.name,
                    m.calls[j].call.id,
                    m.calls[j].call.name
                ),
            ));
        }
    }
    let mut ordered: Vec<(usize, u64)> = writes
        .iter()
        .filter(|(i, _, _)| m.calls[*i].order_dependent)
        .map(|&(i, s, _)| (i, s))
        .collect();
    ordered.sort_by_key(|&(i, s)| (s, i));
    for w in ordered.windows(2) {
        if w[1].0 < w[0].0 {
            let (a, b) = (&m.calls[w[1].0].call, &m.calls[w[0].0].call);
            out.push(Violation::new(
                RuleId::UnsafeParallelWrites,
                m.turn,
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
pub(crate) fn timeout_not_enforced(m: &TurnMessages, x: &Execution) -> Vec<Violation> {
    let deadline = x.tool_deadline;
    m.calls
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.outcome, Some(Outcome::Hang)))
        .filter_map(|(i, c)| {
            let inv = x.runs_of(i).next()?;
            let limit = inv.start + deadline;
            // Given up in time is what counts (the turn may rightly go on with calls that
            // must run one at a time); a call never given up holds the turn until it is judged.
            let gave_up = inv.end.unwrap_or(x.judged_at);
            let late = if m.followup.is_some() {
                gave_up > limit
            } else {
                x.deadline_expired
            };
            late.then(|| {
                Violation::new(
                    RuleId::TimeoutNotEnforced,
                    m.turn,
                    Some(&c.call.id),
                    if m.followup.is_some() {
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
pub(crate) fn wrong_arguments(m: &TurnMessages, x: &Execution) -> Vec<Violation> {
    x.invocations
        .iter()
        .filter_map(|inv| match (inv.matched, inv.call) {
            (Match::WrongArguments, Some(i)) => {
                let call = &m.calls[i].call;
                let pretty = |v| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
                Some(
                    Violation::new(
                        RuleId::WrongArguments,
                        m.turn,
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
                m.turn,
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

/// `call-not-run`: each call answered had its tool run.
pub(crate) fn call_not_run(m: &TurnMessages, x: &Execution) -> Vec<Violation> {
    if m.followup.is_none() {
        return Vec::new();
    }
    m.calls
        .iter()
        .enumerate()
        .filter(|(i, _)| x.runs_of(*i).next().is_none())
        .map(|(_, c)| {
            Violation::new(
                RuleId::CallNotRun,
                m.turn,
                Some(&c.call.id),
                format!(
                    "call {} ({}) was answered without running its tool",
                    c.call.id, c.call.name
                ),
            )
        })
        .collect()
}

/// `call-run-twice`: no call's tool ran more than once.
pub(crate) fn call_run_twice(m: &TurnMessages, x: &Execution) -> Vec<Violation> {
    m.calls
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let n = x.runs_of(i).count();
            (n > 1).then(|| {
                Violation::new(
                    RuleId::CallRunTwice,
                    m.turn,
                    Some(&c.call.id),
                    format!("call {} ({}) ran {n} times", c.call.id, c.call.name),
                )
            })
        })
        .collect()
}

/// `stopped-early`: the handler ended while the reply still had calls to answer.
pub(crate) fn stopped_early(m: &TurnMessages, x: &Execution) -> Option<Violation> {
    (m.followup.is_none() && x.handler_ended && !x.deadline_expired && m.served.wants_tools()).then(
        || {
            Violation::new(
                RuleId::StoppedEarly,
                m.turn,
                None,
                format!(
                    "the handler stopped without answering the {} call(s) of turn {}",
                    m.calls.len(),
                    m.turn
                ),
            )
        },
    )
}
