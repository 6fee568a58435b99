//! Where a violation points: the message (0-based index in the request's `messages` or
//! `input`, as the APIs' own errors count) that shows it. The rules say what broke; lint must
//! also say where, so a person can open the log at that entry.

use crate::rules::input::TurnMessages;
use crate::rules::{self, RuleId, Violation};
use crate::transcript::{Message, Part};

/// The wire index of part `pi` of `m`: exact where each wire entry gave one part (Chat tool
/// messages, Responses items), else the message's own index.
pub(super) fn wire_of(m: &Message, pi: usize) -> usize {
    if m.wire_len > 1 && m.wire_len == m.parts.len() {
        m.wire_index + pi
    } else {
        m.wire_index
    }
}

/// The first part where two versions of a message differ (for a grouped message, the wire
/// entry to point at).
fn first_difference(a: &Message, b: &Message) -> usize {
    (0..a.parts.len().max(b.parts.len()))
        .find(|&i| a.parts.get(i) != b.parts.get(i))
        .unwrap_or(0)
}

/// Each violation of a turn with the message it points at. `assistant` is the turn's assistant
/// message in the follow-up, when it has one.
pub(super) fn locate_all(
    vs: Vec<Violation>,
    obs: &TurnMessages,
    assistant: Option<usize>,
) -> Vec<(Option<usize>, Violation)> {
    let Some(f) = obs.followup.as_ref() else {
        return vs.into_iter().map(|v| (None, v)).collect();
    };
    let ids: Vec<&str> = obs.call_ids().collect();
    // (message, wire index) of every result for `id`.
    let results_of = |id: &str| -> Vec<(usize, usize)> {
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
    };
    let new_from = obs.previous.messages.len();
    let result_msgs: Vec<&Message> = f
        .messages
        .iter()
        .filter(|m| m.results().any(|r| ids.contains(&r.call_id.as_str())))
        .collect();
    let mut not_first = result_msgs.iter().filter(|m| {
        let last = m.parts.iter().rposition(|p| matches!(p, Part::Result(_)));
        let other = m.parts.iter().position(|p| !matches!(p, Part::Result(_)));
        matches!((last, other), (Some(l), Some(o)) if o < l)
    });
    let mut out = Vec::new();
    for v in vs {
        let id = v.call_id.as_deref().unwrap_or("");
        let at = match v.rule {
            RuleId::MissingResult => assistant.and_then(|a| {
                let m = &f.messages[a];
                let pi = m
                    .parts
                    .iter()
                    .position(|p| matches!(p, Part::Call(c) if c.id == id))?;
                Some(wire_of(m, pi))
            }),
            // The first one the previous request did not have (an old result sent again).
            RuleId::UnknownResult => {
                let all = results_of(id);
                all.iter()
                    .find(|(mi, _)| *mi >= new_from)
                    .or(all.first())
                    .map(|r| r.1)
            }
            RuleId::DuplicateResult => results_of(id).get(1).map(|r| r.1),
            RuleId::SplitResults => result_msgs.get(1).map(|m| m.wire_index),
            RuleId::MissingAssistantTurn => result_msgs.first().map(|m| m.wire_index),
            RuleId::ResultsNotFirst => not_first.next().map(|m| m.wire_index),
            RuleId::HistoryChanged if v.message.starts_with("the assistant turn") => {
                assistant.map(|a| {
                    let got = &f.messages[a];
                    wire_of(got, first_difference(&obs.served.message, got))
                })
            }
            RuleId::HistoryChanged => {
                let prev = &obs.previous.messages;
                (0..prev.len())
                    .find(|&i| {
                        f.messages
                            .get(i)
                            .is_none_or(|g| !rules::same_message(&prev[i], g))
                    })
                    .filter(|&i| prev[i].wire_len > 0)
                    .map(|i| match f.messages.get(i) {
                        Some(g) => wire_of(&prev[i], first_difference(&prev[i], g)),
                        None => prev[i].wire_index,
                    })
            }
            _ => None,
        };
        out.push((at, v));
    }
    out
}
