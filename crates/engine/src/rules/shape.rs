//! Where the follow-up put the assistant turn and the results, and the ordering rules that
//! read it: `split-results`, `missing-assistant-turn`, `results-not-first`.

use crate::provider::{ApiFault, SplitVerdict};
use crate::rules::catalogue::{Check, Family, Refused, Rule};
use crate::rules::input::TurnMessages;
use crate::rules::results::on_followup;
use crate::rules::{Level, RuleId, Violation};
use crate::transcript::{Message, Part, Request, Role, ToolResult};

pub(super) const SPLIT_RESULTS: Rule = Rule {
    id: "split-results",
    level: Level::Must,
    family: Family::Placement,
    refused: Refused::AtMustLevel(ApiFault::SplitResults),
    summary: "spread the results over several messages, or put other messages between them",
    why: "All results of one turn belong in one follow-up message, right after the assistant turn. Anthropic merges consecutive user messages (so that form is a should-level finding: its docs say it teaches the model to stop making parallel calls); any other message in between makes the real API reject the request.",
    providers: "Anthropic: one user message holding every tool_result; a split with other content between is rejected as missing results. OpenAI Chat: a contiguous run of tool messages right after the assistant message. OpenAI Responses: the outputs together. Gemini: every functionResponse part in one content; a split is rejected (400 \"Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.\").",
    fix: "Gather every result first, then append them as one message (Anthropic) or one contiguous run (OpenAI).",
    check: Check::Turn {
        check: |t| on_followup(t, |m, _, s| split(m, s).into_iter().collect()),
        needs_execution: false,
    },
    exercised_by: |s| s.some_turn_has(2, |_| true),
};

pub(super) const MISSING_ASSISTANT_TURN: Rule = Rule {
    id: "missing-assistant-turn",
    level: Level::Must,
    family: Family::Placement,
    refused: Refused::Always(ApiFault::MissingAssistantTurn),
    summary: "did not put the assistant turn with the calls right before the results",
    why: "The results answer calls that only exist in the assistant turn; the follow-up must repeat that turn, unchanged, right before the results (or, with OpenAI Responses, name it with previous_response_id).",
    providers: "Anthropic: 400 \"unexpected `tool_use_id` found in `tool_result` blocks … must have a corresponding `tool_use` block in the previous message\". OpenAI Chat: 400 \"messages with role 'tool' must be a response to a preceeding message with 'tool_calls'\". OpenAI Responses: 400 \"No tool call found for function call output\". Gemini: 400 \"Please ensure that function response turn comes immediately after a function call turn.\" (or \"… function call turn comes immediately after a user turn or after a function response turn.\" when the model turn itself is out of place).",
    fix: "Append the model's reply to the history as it came (the assistant message, or the output items) before appending the results.",
    check: Check::Turn {
        check: |t| {
            on_followup(t, |m, _, s| {
                missing_assistant_turn(m, s).into_iter().collect()
            })
        },
        needs_execution: false,
    },
    exercised_by: |s| s.calls().next().is_some(),
};

pub(super) const RESULTS_NOT_FIRST: Rule = Rule {
    id: "results-not-first",
    level: Level::Must,
    family: Family::Placement,
    refused: Refused::Always(ApiFault::ResultsNotFirst),
    summary: "(Anthropic) put other content before the tool_result blocks",
    why: "Anthropic requires the tool_result blocks at the start of the user message; text may follow them, never precede them.",
    providers: "Anthropic: 400 (reported as the \"`tool_use` ids were found without `tool_result` blocks immediately after\" error; Bedrock: \"Did not find N `tool_result` block(s) at the beginning of this message\"). OpenAI and Gemini: not applicable.",
    fix: "Put every tool_result block first in the content array, then any text.",
    check: Check::Turn {
        check: |t| on_followup(t, results_not_first),
        needs_execution: false,
    },
    exercised_by: |s| s.provider.format().results_first_in_message() && s.calls().next().is_some(),
};

/// The layout of a follow-up relative to the turn's calls.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    /// The assistant message holding the turn's calls (the first one naming any of them).
    pub assistant: Option<usize>,
    /// Responses: `previous_response_id` names the reply served, so the turn is implicit.
    pub chained: bool,
    /// Responses: `previous_response_id` names some other response.
    pub chained_elsewhere: Option<String>,
    /// Messages holding results for the turn's calls, in order.
    pub result_msgs: Vec<usize>,
    /// For each call (in call order), the results sent for it.
    pub results_by_call: Vec<Vec<ToolResult>>,
    /// For each call, the id the follow-up's copy of the assistant turn gave it instead of the
    /// model's, when the handler rewrote it (a client that resends a Responses `function_call`
    /// with its `fc_…` item id as `call_id`). Its results are then looked for under that id:
    /// one cause, reported once, by `history-changed`.
    pub renamed: Vec<Option<String>>,
}

impl Shape {
    pub(crate) fn of(obs: &TurnMessages, f: &Request) -> Shape {
        let renamed = renamed_ids(obs, f);
        let ids: Vec<&str> = obs.call_ids().collect();
        let known = |id: &str| {
            ids.iter()
                .zip(&renamed)
                .position(|(c, r)| *c == id || r.as_deref() == Some(id))
        };
        let assistant = f
            .messages
            .iter()
            .position(|m| m.role == Role::Assistant && m.calls().any(|c| known(&c.id).is_some()));
        let (chained, chained_elsewhere) = match (&f.previous_response_id, &obs.served.id) {
            (Some(p), Some(served)) if p == served => (true, None),
            (Some(p), _) => (false, Some(p.clone())),
            (None, _) => (false, None),
        };
        let mut result_msgs = Vec::new();
        let mut results_by_call = vec![Vec::new(); ids.len()];
        for (mi, m) in f.messages.iter().enumerate() {
            let mut holds = false;
            for r in m.results() {
                if let Some(ci) = known(&r.call_id) {
                    results_by_call[ci].push(r.clone());
                    holds = true;
                }
            }
            if holds {
                result_msgs.push(mi);
            }
        }
        Shape {
            assistant,
            chained,
            chained_elsewhere,
            result_msgs,
            results_by_call,
            renamed,
        }
    }
}

/// Calls whose id the follow-up rewrote: the first assistant message that repeats the turn's
/// calls (same names and inputs, in order) but with ids of its own. A rewrite that swaps
/// the model's ids between calls is not one: that is a pairing bug the results rules judge.
fn renamed_ids(obs: &TurnMessages, f: &Request) -> Vec<Option<String>> {
    let none = vec![None; obs.calls.len()];
    let served: Vec<&str> = obs.call_ids().collect();
    let copy = f.messages.iter().find_map(|m| {
        let calls: Vec<_> = m.calls().collect();
        (m.role == Role::Assistant
            && calls.len() == obs.calls.len()
            && calls.iter().zip(obs.calls.iter()).all(|(a, b)| {
                a.name == b.call.name && crate::util::json_eq(&a.input, &b.call.input)
            }))
        .then_some(calls)
    });
    let Some(copy) = copy else {
        return none;
    };
    if copy
        .iter()
        .zip(&served)
        .any(|(c, s)| c.id != *s && served.contains(&c.id.as_str()))
    {
        return none;
    }
    copy.iter()
        .zip(&served)
        .map(|(c, s)| (c.id != *s).then(|| c.id.clone()))
        .collect()
}

/// The wire index of part `pi` of `m`: exact where each wire entry gave one part (Chat tool
/// messages, Responses items), else the message's own index.
pub fn wire_of(m: &Message, pi: usize) -> usize {
    if m.wire_len > 1 && m.wire_len == m.parts.len() {
        m.wire_index + pi
    } else {
        m.wire_index
    }
}

/// Every result for `id` in `f`: (message, wire index).
pub(crate) fn results_at(f: &Request, id: &str) -> Vec<(usize, usize)> {
    f.messages
        .iter()
        .enumerate()
        .flat_map(|(mi, m)| {
            m.parts
                .iter()
                .enumerate()
                .filter_map(move |(pi, p)| match p {
                    Part::Result(r) if r.call_id == id => Some((mi, wire_of(m, pi))),
                    _ => None,
                })
        })
        .collect()
}

/// `split-results`: every result of the turn in one message (one run of tool messages).
pub(crate) fn split(obs: &TurnMessages, s: &Shape) -> Option<Violation> {
    if s.result_msgs.len() < 2 {
        return None;
    }
    let f = obs.followup.as_ref()?;
    let contiguous = s.result_msgs.windows(2).all(|w| w[1] == w[0] + 1);
    let list = s
        .result_msgs
        .iter()
        .map(|i| format!("#{}", f.messages[*i].wire_index))
        .collect::<Vec<_>>()
        .join(", ");
    let (level, how) = match obs.provider.format().split_results(contiguous) {
        SplitVerdict::Refused if contiguous => (Level::Must, "consecutive messages"),
        SplitVerdict::Refused => (Level::Must, "messages with other messages between them"),
        SplitVerdict::Accepted(how) => (Level::Should, how),
    };
    // The calls whose results are not in the first results message.
    let first = s.result_msgs[0];
    let cut_off: Vec<&str> = obs
        .calls
        .iter()
        .zip(&s.results_by_call)
        .filter(|(_, rs)| {
            rs.iter()
                .all(|r| !f.messages[first].results().any(|x| x == r))
        })
        .map(|(c, _)| c.call.id.as_str())
        .collect();
    Some(
        Violation::new(
            RuleId::SplitResults,
            obs.turn,
            cut_off.first().copied(),
            format!(
                "the results of this turn are spread over {} {how}: messages {list} (results for {} come later)",
                s.result_msgs.len(),
                cut_off.join(", ")
            ),
        )
        .at_level(level)
        .at_message(s.result_msgs.get(1).map(|&i| f.messages[i].wire_index)),
    )
}

/// `missing-assistant-turn`: the assistant turn with the calls comes right before the results.
pub(crate) fn missing_assistant_turn(obs: &TurnMessages, s: &Shape) -> Option<Violation> {
    if s.chained {
        return None;
    }
    let f = obs.followup.as_ref()?;
    // The place: the first message of results, which has no turn right before it.
    let first_results = s.result_msgs.first().map(|&i| f.messages[i].wire_index);
    if let Some(other) = &s.chained_elsewhere {
        return Some(
            Violation::new(
                RuleId::MissingAssistantTurn,
                obs.turn,
                None,
                format!(
                    "previous_response_id is {other}, not the reply served ({})",
                    obs.served.id.as_deref().unwrap_or("no id")
                ),
            )
            .at_message(first_results),
        );
    }
    match (s.assistant, s.result_msgs.first()) {
        (None, _) => Some(
            Violation::new(
                RuleId::MissingAssistantTurn,
                obs.turn,
                None,
                "the follow-up does not contain the assistant turn with the calls; results must come right after it",
            )
            .at_message(first_results),
        ),
        (Some(a), Some(&r)) if r != a + 1 => {
            let what = if r < a {
                "the results come before the assistant turn".to_string()
            } else {
                format!(
                    "{} message(s) sit between the assistant turn (#{}) and the results (#{})",
                    r - a - 1,
                    f.messages[a].wire_index,
                    f.messages[r].wire_index
                )
            };
            Some(
                Violation::new(RuleId::MissingAssistantTurn, obs.turn, None, what)
                    .at_message(first_results),
            )
        }
        _ => None,
    }
}

/// `results-not-first` (Anthropic): tool_result blocks open the user message.
pub(crate) fn results_not_first(obs: &TurnMessages, f: &Request, s: &Shape) -> Vec<Violation> {
    if !obs.provider.format().results_first_in_message() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for &mi in &s.result_msgs {
        let parts = &f.messages[mi].parts;
        let last_result = parts.iter().rposition(|p| matches!(p, Part::Result(_)));
        let first_other = parts.iter().position(|p| !matches!(p, Part::Result(_)));
        if let (Some(lr), Some(fo)) = (last_result, first_other)
            && fo < lr
        {
            out.push(
                Violation::new(
                    RuleId::ResultsNotFirst,
                    obs.turn,
                    None,
                    format!(
                        "message #{} has {} before its tool_result blocks; they must come first",
                        f.messages[mi].wire_index,
                        describe(&parts[fo])
                    ),
                )
                .at_message(Some(f.messages[mi].wire_index)),
            );
        }
    }
    out
}

fn describe(p: &Part) -> String {
    match p {
        Part::Text(t) => format!("a text block ({:?})", crate::util::clip(t, 40)),
        Part::Call(_) => "a tool_use block".into(),
        Part::Result(_) => "a tool_result block".into(),
        Part::Other(v) => format!(
            "a {} block",
            v.get("type")
                .and_then(|t| t.as_str())
                .unwrap_or("non-result")
        ),
    }
}
