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
    why: "Each request must repeat the conversation so far unchanged: the handler's own earlier messages and the model's replies as served. Edited or dropped turns break thinking signatures and reasoning items, and make the model reason over a past that did not happen. The message names the change (which message, what was there, what is there now). Must-level: calls, results, thinking or reasoning blocks, user or system text altered, added or dropped, and messages dropped or inserted. Should-level (the APIs accept these and the facts stay): only the assistant's own text differs (LiteLLM replaces an empty text with a placeholder), or the client added an assistant turn the model never sent with its own answered calls (a framework's synthetic call to load deferred tools). A call id rewritten in the resent history, with its results keyed the same way, is reported here once, not as missing, unknown or misplaced results.",
    providers: "Anthropic: thinking blocks must be replayed unmodified. OpenAI Responses: reasoning and function_call items must be replayed together (\"was provided without its required 'reasoning' item\"). OpenAI Chat: the assistant tool_calls must be present as returned. Gemini: the model content must come back whole, with the thoughtSignature on its first functionCall part (Gemini 3 rejects it otherwise); the parallel calls must stay in one content.",
    fix: "Keep the history as an append-only list; append the reply and the results, never rebuild earlier entries.",
    check: Check::Turn {
        check: |t| on_followup(t, changed),
        needs_execution: false,
    },
    exercised_by: |s| s.calls().next().is_some(),
};
use crate::transcript::{Message, Part, Request, Role};
use crate::util::clip;

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
    if let Some(i) = (0..n).find(|&i| !got.get(i).is_some_and(|g| same_message(g, &prev[i]))) {
        let change = history_change(prev, got, i, s.assistant);
        let expected = render(&prev[i..n.min(i + 3)]);
        let actual = render(&got[i.min(got.len())..got.len().min(i + 3)]);
        // The place: the wire entry that differs (none for text kept apart, like `system`).
        let at = (prev[i].wire_len > 0).then(|| match got.get(i) {
            Some(g) => wire_of(&prev[i], first_difference(&prev[i], g)),
            None => prev[i].wire_index,
        });
        out.push(
            Violation::new(RuleId::HistoryChanged, obs.turn, None, change.what)
                .at_level(change.level)
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
        && !same_message(&got[a], &obs.served.message)
    {
        let change = message_change(&obs.served.message, &got[a]);
        let keyed = if s.renamed.iter().any(Option::is_some) {
            " (its results are keyed the same way, so they answer the calls; the model's own ids are gone from the conversation)"
        } else {
            ""
        };
        out.push(
            Violation::new(
                RuleId::HistoryChanged,
                obs.turn,
                None,
                format!(
                    "the assistant turn in the follow-up differs from the reply served: {}{keyed}",
                    change.what
                ),
            )
            .at_level(change.level)
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
    // Assistant turns with calls after the history that are not the reply served: turns the
    // client made up (a framework's synthetic call to load deferred tools), not the model's.
    // Only where the reply served is known and found (lint of a bare log knows no reply).
    let after = s.assistant.map_or(got.len(), |a| a + 1);
    for m in got.iter().skip(after) {
        if m.role != Role::Assistant {
            continue;
        }
        let calls: Vec<String> = m
            .calls()
            .filter(|c| !obs.call_ids().any(|id| id == c.id))
            .map(|c| format!("{} ({})", c.id, c.name))
            .collect();
        if calls.is_empty() {
            continue;
        }
        out.push(
            Violation::new(
                RuleId::HistoryChanged,
                obs.turn,
                None,
                format!(
                    "message #{} is an assistant turn the model never sent, with call(s) {}: {INJECTED}",
                    m.wire_index,
                    calls.join(", ")
                ),
            )
            .at_level(Level::Should)
            .at_message(Some(m.wire_index)),
        );
    }
    out
}

/// Why an injected turn is should-level: the APIs accept it and the real calls' answers are
/// intact, but the model is told it did something it did not.
const INJECTED: &str = "the API accepts it, but the model reasons over a call it never made";

/// What changed, and how much it matters.
struct Change {
    what: String,
    level: Level,
}

/// The change at the first message `i` where the follow-up's history leaves the previous
/// request: messages inserted (a made-up turn and its results: should; anything else:
/// must), dropped (must), or one message altered ([`message_change`]). `served_at`: where the
/// follow-up holds the reply served.
fn history_change(prev: &[Message], got: &[Message], i: usize, served_at: Option<usize>) -> Change {
    let n = prev.len();
    let same = |a: &Message, b: &Message| same_message(a, b);
    // Inserted: skipping k messages of the follow-up, the rest of the history is there.
    let inserted =
        (1..=got.len().saturating_sub(n)).find(|&k| (i..n).all(|j| same(&prev[j], &got[j + k])));
    if let Some(k) = inserted {
        let added = &got[i..i + k];
        let calls: Vec<&crate::transcript::ToolCall> =
            added.iter().flat_map(Message::calls).collect();
        let answered_inside = added
            .iter()
            .flat_map(Message::results)
            .all(|r| calls.iter().any(|c| c.id == r.call_id));
        let made_up_turn = !calls.is_empty()
            && answered_inside
            && added.iter().all(|m| {
                m.role == Role::Assistant || m.parts.iter().all(|p| matches!(p, Part::Result(_)))
            });
        let list: Vec<String> = calls
            .iter()
            .map(|c| format!("{} ({})", c.id, c.name))
            .collect();
        return if made_up_turn {
            Change {
                what: format!(
                    "{k} message(s) inserted at #{}: an assistant turn the model never sent, with call(s) {}, and its result(s); {INJECTED}",
                    added[0].wire_index,
                    list.join(", ")
                ),
                level: Level::Should,
            }
        } else {
            Change {
                what: format!(
                    "{k} message(s) inserted at #{} ({}) into the earlier conversation",
                    added[0].wire_index,
                    added.iter().map(role_name).collect::<Vec<_>>().join(", ")
                ),
                level: Level::Must,
            }
        };
    }
    let Some(g) = got.get(i) else {
        return Change {
            what: format!(
                "the follow-up has {} messages before the new ones; the previous request had {n}: message #{} ({}) and after were dropped",
                got.len(),
                prev[i].wire_index,
                role_name(&prev[i])
            ),
            level: Level::Must,
        };
    };
    // Dropped: the rest of the history follows a gap, or the reply served comes right here.
    if served_at == Some(i)
        || (i + 1..n)
            .any(|j| (j..n).all(|m| got.get(m - (j - i)).is_some_and(|x| same(&prev[m], x))))
    {
        return Change {
            what: format!(
                "message #{} ({}) of the previous request was dropped",
                prev[i].wire_index,
                role_name(&prev[i])
            ),
            level: Level::Must,
        };
    }
    let c = message_change(&prev[i], g);
    Change {
        what: format!(
            "message #{} ({}) differs from the handler's previous request: {}",
            prev[i].wire_index,
            role_name(&prev[i]),
            c.what
        ),
        level: c.level,
    }
}

/// How `after` differs from `before`, most serious first. Calls, results and other blocks
/// (thinking, reasoning) altered, added or dropped are must-level: the APIs check thinking
/// signatures and reasoning items, and altered calls or results make the model reason over
/// a past that did not happen. Only the assistant's own text differing is should-level:
/// every API accepts it (LiteLLM replaces an empty text with a placeholder) and the facts of
/// the conversation stay.
fn message_change(before: &Message, after: &Message) -> Change {
    let mut must: Vec<String> = Vec::new();
    let mut should: Vec<String> = Vec::new();
    if before.role != after.role {
        must.push(format!(
            "its role {} became {}",
            role_name(before),
            role_name(after)
        ));
    }
    let (bc, ac): (Vec<_>, Vec<_>) = (before.calls().collect(), after.calls().collect());
    for k in 0..bc.len().max(ac.len()) {
        match (bc.get(k), ac.get(k)) {
            (Some(b), Some(a)) if b == a => {}
            (Some(b), Some(a)) if b.name == a.name && crate::util::json_eq(&b.input, &a.input) => {
                must.push(format!(
                    "call #{} ({}): its id {} became {}",
                    k + 1,
                    b.name,
                    b.id,
                    a.id
                ))
            }
            (Some(b), Some(a)) if b.name != a.name => must.push(format!(
                "call {}: its name {} became {}",
                b.id, b.name, a.name
            )),
            (Some(b), Some(a)) => must.push(format!(
                "call {} ({}): its input {}",
                b.id,
                b.name,
                value_change(&b.input, &a.input, "input")
            )),
            (Some(b), None) => must.push(format!("call {} ({}) was dropped", b.id, b.name)),
            (None, Some(a)) => must.push(format!(
                "call {} ({}) was added, which the model never made",
                a.id, a.name
            )),
            (None, None) => {}
        }
    }
    let (br, ar): (Vec<_>, Vec<_>) = (before.results().collect(), after.results().collect());
    for k in 0..br.len().max(ar.len()) {
        match (br.get(k), ar.get(k)) {
            (Some(b), Some(a)) if b == a || norm_result(b) == norm_result(a) => {}
            (Some(b), Some(a)) if b.call_id != a.call_id => must.push(format!(
                "result #{}: its call id {} became {}",
                k + 1,
                b.call_id,
                a.call_id
            )),
            (Some(b), Some(a)) if b.content != a.content => must.push(format!(
                "the result for {}: its content {:?} became {:?}",
                b.call_id,
                clip(&b.content, 40),
                clip(&a.content, 40)
            )),
            (Some(b), Some(_)) => must.push(format!(
                "the result for {}: its error flag changed",
                b.call_id
            )),
            (Some(b), None) => must.push(format!("the result for {} was dropped", b.call_id)),
            (None, Some(a)) => must.push(format!("a result for {} was added", a.call_id)),
            (None, None) => {}
        }
    }
    let others = |m: &Message| -> Vec<Value> {
        m.parts
            .iter()
            .filter_map(|p| match p {
                Part::Other(v) => Some(strip_nulls(v)),
                _ => None,
            })
            .collect()
    };
    let (bo, ao) = (others(before), others(after));
    if bo != ao {
        let kind = |v: Option<&Value>| {
            v.and_then(|v| v.get("type"))
                .and_then(Value::as_str)
                .unwrap_or("non-text")
                .to_string()
        };
        let k = (0..bo.len().max(ao.len()))
            .find(|&k| bo.get(k) != ao.get(k))
            .unwrap_or(0);
        must.push(match (bo.get(k), ao.get(k)) {
            (Some(b), Some(a)) => format!("a {} block {}", kind(Some(b)), value_change(b, a, "")),
            (Some(b), None) => format!("a {} block was dropped", kind(Some(b))),
            (None, a) => format!("a {} block was added", kind(a)),
        });
    }
    let texts = |m: &Message| -> Vec<String> {
        m.parts
            .iter()
            .filter_map(|p| match p {
                Part::Text(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
                _ => None,
            })
            .collect()
    };
    let (bt, at) = (texts(before), texts(after));
    if bt != at {
        let show = |t: &[String]| {
            if t.is_empty() {
                "no text".to_string()
            } else {
                format!("{:?}", clip(&t.join(" "), 60))
            }
        };
        let text = format!("its text {} became {}", show(&bt), show(&at));
        if before.role == Role::Assistant && after.role == Role::Assistant {
            should.push(format!("{text} (assistant text only: the APIs accept it)"));
        } else {
            must.push(text);
        }
    }
    let level = if must.is_empty() {
        Level::Should
    } else {
        Level::Must
    };
    let mut all = must;
    all.extend(should);
    let more = all.len().saturating_sub(3);
    all.truncate(3);
    let mut what = all.join("; ");
    if more > 0 {
        what.push_str(&format!("; and {more} more change(s)"));
    }
    if what.is_empty() {
        what = "its parts differ".into();
    }
    Change { what, level }
}

fn norm_result(r: &crate::transcript::ToolResult) -> (String, String, bool) {
    (
        r.call_id.clone(),
        r.content.clone(),
        r.is_error.unwrap_or(false),
    )
}

/// Where two JSON values first differ: `at `path`: before → after`.
fn value_change(before: &Value, after: &Value, path: &str) -> String {
    fn first(a: &Value, b: &Value, path: String) -> Option<(String, Option<Value>, Option<Value>)> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                keys.into_iter().find_map(|k| {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    match (x.get(k), y.get(k)) {
                        (Some(u), Some(v)) => first(u, v, p),
                        (u, v) => Some((p, u.cloned(), v.cloned())),
                    }
                })
            }
            (Value::Array(x), Value::Array(y)) => (0..x.len().max(y.len())).find_map(|i| {
                let p = format!("{path}[{i}]");
                match (x.get(i), y.get(i)) {
                    (Some(u), Some(v)) => first(u, v, p),
                    (u, v) => Some((p, u.cloned(), v.cloned())),
                }
            }),
            _ if a == b => None,
            _ => Some((path, Some(a.clone()), Some(b.clone()))),
        }
    }
    let show = |v: Option<Value>| v.map_or("(absent)".to_string(), |v| clip(&v.to_string(), 40));
    match first(before, after, path.to_string()) {
        Some((p, b, a)) => format!("at `{p}`: {} became {}", show(b), show(a)),
        None => "differs".into(),
    }
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

/// Whether two messages are the same as compared: `norm(a) == norm(b)`, without building
/// either (this runs for every message of every follow-up of every run).
pub(super) fn same_message(a: &Message, b: &Message) -> bool {
    fn kept(m: &Message) -> impl Iterator<Item = &Part> {
        m.parts
            .iter()
            .filter(|p| !matches!(p, Part::Text(t) if t.trim().is_empty()))
    }
    fn same_part(a: &Part, b: &Part) -> bool {
        match (a, b) {
            (Part::Text(x), Part::Text(y)) => x.trim() == y.trim(),
            (Part::Call(x), Part::Call(y)) => {
                x.id == y.id && x.name == y.name && crate::util::json_eq(&x.input, &y.input)
            }
            (Part::Result(x), Part::Result(y)) => {
                x.call_id == y.call_id
                    && x.content == y.content
                    && x.is_error.unwrap_or(false) == y.is_error.unwrap_or(false)
            }
            (Part::Other(x), Part::Other(y)) => same_without_nulls(x, y),
            _ => false,
        }
    }
    if role_name(a) != role_name(b) {
        return false;
    }
    let (mut x, mut y) = (kept(a), kept(b));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) if same_part(p, q) => {}
            _ => return false,
        }
    }
}

/// `strip_nulls(a) == strip_nulls(b)`, without building either.
fn same_without_nulls(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let present = |o: &'_ Map<String, Value>| o.values().filter(|v| !v.is_null()).count();
            present(x) == present(y)
                && x.iter().filter(|(_, v)| !v.is_null()).all(|(k, v)| {
                    y.get(k)
                        .is_some_and(|w| !w.is_null() && same_without_nulls(v, w))
                })
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_without_nulls(v, w))
        }
        _ => a == b,
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
