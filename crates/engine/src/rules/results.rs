//! Rules about the results themselves: `missing-result`, `unknown-result`, `duplicate-result`,
//! `mismatched-result`, `error-not-flagged`.

use std::collections::BTreeSet;

use crate::provider::ApiFault;
use crate::rules::catalogue::{Check, Family, Refused, Rule, Turn};
use crate::rules::input::{Execution, Match, Outcome, TurnMessages};
use crate::rules::shape::{Shape, results_at, wire_of};
use crate::rules::{Level, RuleId, Violation};
use crate::transcript::{Part, Request, Role};
use crate::util::clip;

/// Run `check` on a turn that has a follow-up (and so a shape); without one, nothing to judge.
pub(super) fn on_followup(
    t: &Turn<'_>,
    check: impl FnOnce(&TurnMessages, &Request, &Shape) -> Vec<Violation>,
) -> Vec<Violation> {
    match (t.messages.followup.as_deref(), t.shape) {
        (Some(f), Some(s)) => check(t.messages, f, s),
        _ => Vec::new(),
    }
}

pub(super) const MISSING_RESULT: Rule = Rule {
    id: "missing-result",
    level: Level::Must,
    family: Family::Results,
    refused: Refused::Always(ApiFault::MissingResult),
    summary: "sent no result for a call (e.g. dropped a failed tool)",
    why: "Every tool call must be answered, including calls that failed, timed out or were skipped. A dropped result either gets the follow-up rejected or leaves the model waiting for an answer it never sees.",
    providers: "Anthropic: 400 \"`tool_use` ids were found without `tool_result` blocks immediately after\". OpenAI Chat: 400 \"An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'\". OpenAI Responses: 400 \"No tool output found for function call\". Gemini: 400 \"Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.\"",
    fix: "Build one result per call id before sending the follow-up; turn exceptions and timeouts into error results instead of skipping the call.",
    check: Check::Turn {
        check: |t| on_followup(t, |m, f, s| missing(m, f, s, t.execution)),
        needs_execution: false,
    },
    exercised_by: |s| s.calls().next().is_some(),
};

pub(super) const UNKNOWN_RESULT: Rule = Rule {
    id: "unknown-result",
    level: Level::Must,
    family: Family::Results,
    refused: Refused::Always(ApiFault::UnknownResult),
    summary: "sent a result whose id no open call has",
    why: "A result must answer a call of the assistant turn right before it. A result with an id the model never issued is a bookkeeping bug (an id from another turn, a made-up or mangled id).",
    providers: "Anthropic: 400 \"unexpected `tool_use_id` found in `tool_result` blocks\". OpenAI Chat: 400 \"'tool_call_id' of '…' not found in 'tool_calls' of previous message\". OpenAI Responses: 400 \"No tool call found for function call output with call_id\". Gemini: 400 \"Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.\" (for a result beyond the calls; an unknown id alone is not documented).",
    fix: "Take result ids from the calls of the latest reply and nowhere else.",
    check: Check::Turn {
        check: |t| on_followup(t, |m, f, _| unknown(m, f)),
        needs_execution: false,
    },
    exercised_by: |s| s.calls().next().is_some(),
};

pub(super) const DUPLICATE_RESULT: Rule = Rule {
    id: "duplicate-result",
    level: Level::Must,
    family: Family::Results,
    refused: Refused::Always(ApiFault::DuplicateResult),
    summary: "sent two results for one call",
    why: "One call, one result. Two results for one id usually mean a retry that appended instead of replacing, or a list built twice.",
    providers: "Anthropic: 400 \"each tool_use must have a single result\". OpenAI Responses: \"Duplicate function_call_output for call_id\" on strict backends; OpenAI-compatible Chat servers: \"Duplicate value for 'tool_call_id'\". Gemini: 400 \"Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.\" Without ids (Gemini 2.x) a second result for a call pairs with the next call of that name, so it shows as mismatched-result and unknown-result instead.",
    fix: "Key results by call id (a map), and send each once.",
    check: Check::Turn {
        check: |t| on_followup(t, duplicate),
        needs_execution: false,
    },
    exercised_by: |s| s.calls().next().is_some(),
};

pub(super) const MISMATCHED_RESULT: Rule = Rule {
    id: "mismatched-result",
    level: Level::Must,
    family: Family::Results,
    refused: Refused::Never,
    summary: "put a call's output under another call's id (paired by position or completion order)",
    why: "The API cannot see this one: every id is valid, but a call's output sits under another call's id, so the model reads the wrong answer to its question. The classic causes are pairing outputs with calls by position after collecting them in completion order, or zipping two lists built in different orders.",
    providers: "No provider detects it; all of them match results to calls by id only (Anthropic tool_use_id, OpenAI tool_call_id / call_id, Gemini functionResponse.id). Gemini calls without ids (2.x) are matched by name, then by position among the calls of that name, as google-genai's own loop does: there, results of same-name calls sent in another order than the calls are mismatched.",
    fix: "Carry the call id with the task that runs the call and tag the output with it; never rely on list positions or the order in which tasks finish.",
    check: Check::Turn {
        check: |t| on_followup(t, |m, _, s| mismatched(m, s, t.execution)),
        needs_execution: false,
    },
    exercised_by: |s| s.reorders_distinct_calls,
};

pub(super) const ERROR_NOT_FLAGGED: Rule = Rule {
    id: "error-not-flagged",
    level: Level::Must,
    family: Family::Results,
    refused: Refused::Never,
    summary: "returned a failed tool's error without the provider's error flag (Anthropic is_error, Gemini's error key)",
    why: "A failed tool must be reported as a failure, so the model knows the text is an error and not data.",
    providers: "Anthropic: set is_error: true on the tool_result (the API accepts it either way, so only a harness sees it). Gemini: put the error under \"error\" in functionResponse.response, not under \"output\" (the documented convention; google-genai's own loop sends {\"error\": str(e)}). OpenAI Chat and Responses: no flag exists; the error text is the signal, so this rule never fires there.",
    fix: "When a tool raises or times out, send its message as the result with the provider's error flag (Anthropic is_error: true, Gemini {\"error\": …}).",
    check: Check::Turn {
        check: |t| match t.execution {
            Some(x) => on_followup(t, |m, _, s| error_not_flagged(m, s, x)),
            None => Vec::new(),
        },
        needs_execution: true,
    },
    exercised_by: |s| {
        s.provider.format().has_error_flag() && s.any_outcome(|o| !matches!(o, Outcome::Output(_)))
    },
};

/// `missing-result`: every call has a result.
pub(crate) fn missing(
    obs: &TurnMessages,
    f: &Request,
    s: &Shape,
    x: Option<&Execution>,
) -> Vec<Violation> {
    obs.calls
        .iter()
        .enumerate()
        .filter(|(i, _)| s.results_by_call[*i].is_empty())
        .map(|(i, c)| {
            let ran = x.is_some_and(|x| x.runs_of(i).next().is_some());
            let why = match (&c.outcome, ran) {
                (Some(Outcome::Fail(_)), true) => " (its tool failed)",
                (Some(Outcome::Hang), true) => " (its tool hung)",
                _ => "",
            };
            // The place: the call in the follow-up's copy of the assistant turn.
            let at = s.assistant.and_then(|a| {
                let m = &f.messages[a];
                let pi = m
                    .parts
                    .iter()
                    .position(|p| matches!(p, Part::Call(k) if k.id == c.call.id))?;
                Some(wire_of(m, pi))
            });
            Violation::new(
                RuleId::MissingResult,
                obs.turn,
                Some(&c.call.id),
                format!("call {} ({}) has no result{why}", c.call.id, c.call.name),
            )
            .at_message(at)
        })
        .collect()
}

/// `unknown-result`: every result answers an open call (or is an earlier turn's, kept in
/// history). As the APIs do, a result also answers a call of the assistant message right
/// before its own: a turn the client injected (and answered) is not this rule's; it is
/// reported by `history-changed`.
pub(crate) fn unknown(obs: &TurnMessages, f: &Request) -> Vec<Violation> {
    let open: BTreeSet<&str> = obs.call_ids().collect();
    // An earlier turn's result may stay in the history, but not be sent again.
    let count = |r: &Request, id: &str| result_ids(r).filter(|x| *x == id).count();
    let answers_the_turn_before = |id: &str| {
        results_at(f, id).iter().all(|&(mi, _)| {
            mi > 0
                && f.messages[mi - 1].role == Role::Assistant
                && f.messages[mi - 1].calls().any(|c| c.id == id)
        })
    };
    result_ids(f)
        .filter(|id| !open.contains(id) && count(f, id) > count(&obs.previous, id))
        .filter(|id| !answers_the_turn_before(id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|id| {
            // The place: the first such result the previous request did not have.
            let all = results_at(f, id);
            let new_from = obs.previous.messages.len();
            let at = all
                .iter()
                .find(|(mi, _)| *mi >= new_from)
                .or(all.first())
                .map(|r| r.1);
            Violation::new(
                RuleId::UnknownResult,
                obs.turn,
                Some(id),
                format!(
                    "a result for {id}, which no call of this turn has (its calls: {})",
                    open.iter().copied().collect::<Vec<_>>().join(", ")
                ),
            )
            .at_message(at)
        })
        .collect()
}

fn result_ids(r: &Request) -> impl Iterator<Item = &str> {
    r.messages
        .iter()
        .flat_map(|m| m.parts.iter())
        .filter_map(|p| match p {
            Part::Result(r) => Some(r.call_id.as_str()),
            _ => None,
        })
}

/// `duplicate-result`: at most one result per call.
pub(crate) fn duplicate(obs: &TurnMessages, f: &Request, s: &Shape) -> Vec<Violation> {
    obs.calls
        .iter()
        .enumerate()
        .filter(|(i, _)| s.results_by_call[*i].len() > 1)
        .map(|(i, c)| {
            Violation::new(
                RuleId::DuplicateResult,
                obs.turn,
                Some(&c.call.id),
                format!(
                    "call {} ({}) has {} results",
                    c.call.id,
                    c.call.name,
                    s.results_by_call[i].len()
                ),
            )
            .at_message(results_at(f, &c.call.id).get(1).map(|r| r.1))
        })
        .collect()
}

/// `mismatched-result`: a result carries the output of another call. Outputs are tagged per
/// call, so this is exact; calls with the same name and input are interchangeable, but each
/// output may still be used once.
pub(crate) fn mismatched(obs: &TurnMessages, s: &Shape, x: Option<&Execution>) -> Vec<Violation> {
    if obs.tags.is_empty() {
        return Vec::new();
    }
    let exec = x;
    let guess = |i: usize| exec.is_some_and(|x| guessed(obs, x, i));
    let same = |a: usize, b: usize| {
        obs.calls[a].call.name == obs.calls[b].call.name
            && crate::util::json_eq(&obs.calls[a].call.input, &obs.calls[b].call.input)
    };
    let mut used: Vec<Option<usize>> = Vec::new(); // which call's output each result carries
    let mut owners: Vec<usize> = Vec::new();
    let mut out = Vec::new();
    for (x, results) in s.results_by_call.iter().enumerate() {
        for r in results {
            let carried = if r.content.contains(&obs.tags[x]) {
                Some(x)
            } else {
                obs.tags.iter().position(|t| r.content.contains(t.as_str()))
            };
            let id = &obs.calls[x].call.id;
            match carried {
                // Through a guessed pairing, whose output is under which id proves nothing.
                Some(y) if guess(x) || guess(y) => {}
                Some(y) if y != x && !same(x, y) => out.push(
                    Violation::new(
                        RuleId::MismatchedResult,
                        obs.turn,
                        Some(id),
                        format!(
                            "the result for {id} ({}) carries the output of {} ({})",
                            obs.calls[x].call.name, obs.calls[y].call.id, obs.calls[y].call.name
                        ),
                    )
                    .with_diff(content_diff(obs, x, &r.content)),
                ),
                Some(y) => {
                    used.push(Some(y));
                    owners.push(x);
                }
                None => {
                    if let Some((tag, turn)) = obs
                        .earlier_tags
                        .iter()
                        .find(|(t, _)| r.content.contains(t.as_str()))
                    {
                        out.push(Violation::new(
                            RuleId::MismatchedResult,
                            obs.turn,
                            Some(id),
                            format!("the result for {id} carries an output of turn {turn} ({tag})"),
                        ));
                    }
                }
            }
        }
    }
    // Interchangeable calls: each output used once.
    for (k, y) in used.iter().enumerate() {
        let taken_by_other = (0..k).any(|j| used[j] == *y && owners[j] != owners[k]);
        // An output used once is fine: the group look-up below (each call's input against
        // every other's) is only for one used twice.
        if y.is_none() || !taken_by_other {
            continue;
        }
        // A call of the group that ran twice makes the fake tools' pairing ambiguous (the
        // repeat is indistinguishable from its twin's run); call-run-twice reports that.
        let group: Vec<usize> = (0..obs.calls.len())
            .filter(|&j| same(owners[k], j))
            .collect();
        let runs: usize = group
            .iter()
            .map(|&j| x.map_or(0, |x| x.runs_of(j).count()))
            .sum();
        let through_guess = guess(owners[k]) || y.is_some_and(guess);
        if runs <= group.len() && !through_guess {
            let x = owners[k];
            let id = &obs.calls[x].call.id;
            out.push(Violation::new(
                RuleId::MismatchedResult,
                obs.turn,
                Some(id),
                format!(
                    "the result for {id} repeats the output already given for {}",
                    obs.calls[y.unwrap_or(x)].call.id
                ),
            ));
        }
    }
    out
}

/// Whether call `i` was run only through a guess: an invocation with other input than any
/// call's, filed under `i` while another call of the turn has the same tool. What such a run
/// answered may belong to the other call, so neither result pairing nor error flags are judged
/// through it (`wrong-arguments` reports the input).
fn guessed(obs: &TurnMessages, x: &Execution, i: usize) -> bool {
    let name = &obs.calls[i].call.name;
    let twins = obs.calls.iter().filter(|c| &c.call.name == name).count() > 1;
    twins && x.runs_of(i).any(|v| v.matched == Match::WrongArguments)
}

fn content_diff(obs: &TurnMessages, x: usize, actual: &str) -> Option<String> {
    let expected = match &obs.calls[x].outcome {
        Some(Outcome::Output(o)) => crate::tag::tagged_text(o, &obs.tags[x]),
        Some(Outcome::Fail(e)) => crate::tag::tagged_text(e, &obs.tags[x]),
        Some(Outcome::Hang) => "(an error result: the tool hung)".to_string(),
        None => format!("(the output of {})", obs.calls[x].call.id),
    };
    crate::util::diff(
        &format!("expected result for {}", obs.calls[x].call.id),
        "actual",
        &format!("{}\n", clip(&expected, 200)),
        &format!("{}\n", clip(actual, 200)),
    )
}

/// `error-not-flagged` (Anthropic): a failed or abandoned call's result has `is_error: true`.
pub(crate) fn error_not_flagged(obs: &TurnMessages, s: &Shape, x: &Execution) -> Vec<Violation> {
    if !obs.provider.format().has_error_flag() {
        return Vec::new();
    }
    obs.calls
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            x.runs_of(*i).next().is_some()
                && !guessed(obs, x, *i)
                && matches!(c.outcome, Some(Outcome::Fail(_) | Outcome::Hang))
        })
        .filter(|(i, _)| {
            let rs = &s.results_by_call[*i];
            !rs.is_empty() && rs.iter().any(|r| r.is_error != Some(true))
        })
        .map(|(i, c)| {
            let what = if matches!(c.outcome, Some(Outcome::Hang)) {
                "hung and was given up"
            } else {
                "failed"
            };
            Violation::new(
                RuleId::ErrorNotFlagged,
                obs.turn,
                Some(&c.call.id),
                format!(
                    "call {} ({}) {what}, but {} (content: {:?})",
                    c.call.id,
                    c.call.name,
                    obs.provider.format().error_flag_missing(),
                    clip(&s.results_by_call[i][0].content, 60)
                ),
            )
        })
        .collect()
}
