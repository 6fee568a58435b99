//! `history-changed`: the follow-up repeats the handler's previous request and the reply served,
//! unchanged. Compared on the neutral model (so re-serialisation by an SDK, key order, null
//! fields or the Responses item ids that some clients drop are not changes), and shown as a
//! diff of the messages.

use serde_json::{Map, Value, json};

use crate::rules::catalogue::{Check, Family, Refused, Rule};
use crate::rules::input::TurnMessages;
use crate::rules::results::on_followup;
use crate::rules::shape::{Shape, wire_of};
use crate::rules::{Level, RuleId, Violation};

pub(super) const HISTORY_CHANGED: Rule = Rule {
    id: "history-changed",
    level: Level::Must,
    family: Family::History,
    refused: Refused::Never,
    summary: "altered or dropped earlier messages of its own conversation",
    why: "Each request must repeat the conversation so far unchanged: the handler's own earlier messages and the model's replies as served. Edited or dropped turns break thinking signatures and reasoning items, and make the model reason over a past that did not happen.",
    providers: "Anthropic: thinking blocks must be replayed unmodified. OpenAI Responses: reasoning and function_call items must be replayed together (\"was provided without its required 'reasoning' item\"). OpenAI Chat: the assistant tool_calls must be present as returned. Gemini: the model content must come back whole, with the thoughtSignature on its first functionCall part (Gemini 3 rejects it otherwise); the parallel calls must stay in one content.",
    fix: "Keep the history as an append-only list; append the reply and the results, never rebuild earlier entries.",
    check: Check::Turn {
        check: |t| on_followup(t, changed),
        needs_execution: false,
    },
    exercised_by: |s| s.calls().next().is_some(),
};
use crate::transcript::{Message, Part, Request};

/// `history-changed`.
pub(crate) fn changed(obs: &TurnMessages, f: &Request, s: &Shape) -> Vec<Violation> {
    let mut out = Vec::new();
    if s.chained {
        // Responses with previous_response_id: the server holds the history.
        return out;
    }
    let prev = &obs.previous.messages;
    let got = &f.messages;
    let n = prev.len();
    if let Some(i) = (0..n).find(|&i| got.get(i).map(norm) != Some(norm(&prev[i]))) {
        let what = match got.get(i) {
            None => format!(
                "the follow-up has {} messages before the new ones; the previous request had {n}",
                got.len()
            ),
            Some(_) => format!(
                "message #{} ({}) differs from the handler's previous request",
                prev[i].wire_index,
                role_name(&prev[i])
            ),
        };
        let expected = render(&prev[i..n.min(i + 3)]);
        let actual = render(&got[i.min(got.len())..got.len().min(i + 3)]);
        // The place: the wire entry that differs (none for text kept apart, like `system`).
        let at = (prev[i].wire_len > 0).then(|| match got.get(i) {
            Some(g) => wire_of(&prev[i], first_difference(&prev[i], g)),
            None => prev[i].wire_index,
        });
        out.push(
            Violation::new(RuleId::HistoryChanged, obs.turn, None, what)
                .with_diff(crate::util::diff(
                    "previous request",
                    "follow-up",
                    &expected,
                    &actual,
                ))
                .at_message(at),
        );
    }
    if let Some(a) = s.assistant
        && norm(&got[a]) != norm(&obs.served.message)
    {
        out.push(
            Violation::new(
                RuleId::HistoryChanged,
                obs.turn,
                None,
                "the assistant turn in the follow-up differs from the reply served",
            )
            .with_diff(crate::util::diff(
                "reply served",
                "follow-up",
                &render(std::slice::from_ref(&obs.served.message)),
                &render(std::slice::from_ref(&got[a])),
            ))
            .at_message(Some(wire_of(
                &got[a],
                first_difference(&obs.served.message, &got[a]),
            ))),
        );
    }
    out
}

/// The first part where two versions of a message differ (for a grouped message, the wire
/// entry to point at).
fn first_difference(a: &Message, b: &Message) -> usize {
    (0..a.parts.len().max(b.parts.len()))
        .find(|&i| a.parts.get(i) != b.parts.get(i))
        .unwrap_or(0)
}

fn role_name(m: &Message) -> &'static str {
    match m.role {
        crate::transcript::Role::System => "system",
        crate::transcript::Role::User => "user",
        crate::transcript::Role::Assistant => "assistant",
        crate::transcript::Role::Tool => "tool",
    }
}

/// A message as compared: role and parts, empty text dropped, nulls removed.
pub(super) fn norm(m: &Message) -> Value {
    let parts: Vec<Value> = m
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::Text(t) if t.trim().is_empty() => None,
            Part::Text(t) => Some(json!({"text": t.trim()})),
            Part::Call(c) => Some(json!({"call": c.id, "name": c.name, "input": c.input})),
            Part::Result(r) => Some(json!({
                "result": r.call_id,
                "content": r.content,
                "is_error": r.is_error.unwrap_or(false),
            })),
            Part::Other(v) => Some(json!({"other": strip_nulls(v)})),
        })
        .collect();
    json!({"role": role_name(m), "parts": parts})
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

fn render(msgs: &[Message]) -> String {
    let mut s = String::new();
    for m in msgs {
        s.push_str(&serde_json::to_string_pretty(&norm(m)).unwrap_or_default());
        s.push('\n');
    }
    s
}
