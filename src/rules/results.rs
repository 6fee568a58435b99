//! Rules about the results themselves: `missing-result`, `unknown-result`, `duplicate-result`,
//! `mismatched-result`, `error-not-flagged`.

use std::collections::BTreeSet;

use crate::provider::Provider;
use crate::rules::input::{Execution, Outcome, TurnMessages, TurnObservation};
use crate::rules::shape::Shape;
use crate::rules::{RuleId, Violation};
use crate::transcript::{Part, Request};
use crate::util::clip;

/// `missing-result`: every call has a result.
pub(crate) fn missing(obs: &TurnMessages, s: &Shape, x: Option<&Execution>) -> Vec<Violation> {
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
            Violation::new(
                RuleId::MissingResult,
                obs.turn,
                Some(&c.call.id),
                format!("call {} ({}) has no result{why}", c.call.id, c.call.name),
            )
        })
        .collect()
}

/// `unknown-result`: every result answers an open call (or is an earlier turn's, kept in history).
pub(crate) fn unknown(obs: &TurnMessages, f: &Request) -> Vec<Violation> {
    let open: BTreeSet<&str> = obs.call_ids().collect();
    // An earlier turn's result may stay in the history, but not be sent again.
    let count = |r: &Request, id: &str| result_ids(r).filter(|x| *x == id).count();
    result_ids(f)
        .filter(|id| !open.contains(id) && count(f, id) > count(&obs.previous, id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|id| {
            Violation::new(
                RuleId::UnknownResult,
                obs.turn,
                Some(id),
                format!(
                    "a result for {id}, which no call of this turn has (its calls: {})",
                    open.iter().copied().collect::<Vec<_>>().join(", ")
                ),
            )
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
pub(crate) fn duplicate(obs: &TurnMessages, s: &Shape) -> Vec<Violation> {
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
    let same = |a: usize, b: usize| {
        obs.calls[a].call.name == obs.calls[b].call.name
            && obs.calls[a].call.input == obs.calls[b].call.input
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
        // A call of the group that ran twice makes the fake tools' pairing ambiguous (the
        // repeat is indistinguishable from its twin's run); call-run-twice reports that.
        let group: Vec<usize> = (0..obs.calls.len())
            .filter(|&j| same(owners[k], j))
            .collect();
        let runs: usize = group
            .iter()
            .map(|&j| x.map_or(0, |x| x.runs_of(j).count()))
            .sum();
        if y.is_some() && taken_by_other && runs <= group.len() {
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
pub(crate) fn error_not_flagged(o: &TurnObservation, s: &Shape) -> Vec<Violation> {
    let obs = &o.messages;
    if !obs.provider.has_error_flag() || obs.provider != Provider::Anthropic {
        return Vec::new();
    }
    obs.calls
        .iter()
        .enumerate()
        .filter(|(i, _)| o.call_failed(*i))
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
                    "call {} ({}) {what}, but its tool_result lacks \"is_error\": true (content: {:?})",
                    c.call.id,
                    c.call.name,
                    clip(&s.results_by_call[i][0].content, 60)
                ),
            )
        })
        .collect()
}
