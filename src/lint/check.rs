//! The checks of one conversation. Each request is checked on its own: every assistant turn
//! with calls must be followed by one results message answering each call once (a trailing
//! assistant turn, the very last message, is legitimately unanswered), call ids are unique,
//! no result is left without its call. Between consecutive requests the history must be
//! repeated unchanged, and when the file holds the reply (cassettes) the next request must
//! answer it exactly as the replay engine would demand.
//!
//! The per-turn judgements are the replay's own rule functions
//! ([`crate::rules::check_messages`]) on an observation built from the messages, so lint and
//! replay report a broken rule the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::input::{Conversation, Entry};
use crate::provider::Provider;
use crate::rules::input::{CallFacts, TurnMessages};
use crate::rules::wire_of;
use crate::rules::{self, RuleId, Violation};
use crate::transcript::{Message, Part, Reply, Request, Role, StopReason, ToolCall};

/// A violation and where it is: the request (index in the conversation) and the message
/// (0-based index in the request's `messages`/`input`, as the APIs count).
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    pub entry: usize,
    pub message: Option<usize>,
    pub violation: Violation,
}

/// What the check across two requests already judged in the later one.
#[derive(Default)]
struct Covered {
    /// The assistant message of the served turn.
    window: Option<usize>,
    /// The served turn's call ids.
    ids: BTreeSet<String>,
}

/// How much of a request the previous one already showed: turns wholly inside it were
/// checked there (a log repeats its history in every line; checking it again would make a
/// long log quadratic to lint).
#[derive(Clone, Copy)]
struct Seen {
    /// Leading messages equal in both requests.
    common: usize,
    /// Messages of the previous request.
    prev_len: usize,
}

impl Seen {
    fn between(prev: &Request, next: &Request) -> Seen {
        let common = prev
            .messages
            .iter()
            .zip(&next.messages)
            .take_while(|(a, b)| a == b)
            .count();
        Seen {
            common,
            prev_len: prev.messages.len(),
        }
    }

    /// Whether the turn at `a` whose window ends at `end` was checked, identical, in the
    /// previous request (there, a turn that was the last message was not checked).
    fn checked(self, a: usize, end: usize) -> bool {
        end < self.common || (end == self.common && self.common == self.prev_len && a + 1 < end)
    }
}

/// Every violation of a conversation. A broken turn stays in every later request's history;
/// it is reported once, at the first request that shows it.
pub(crate) fn conversation(c: &Conversation) -> Vec<Placed> {
    let mut out = Vec::new();
    let mut reported = BTreeSet::new();
    for (k, e) in c.entries.iter().enumerate() {
        let prev = k.checked_sub(1).map(|p| &c.entries[p]);
        let mut covered = Covered::default();
        let mut found = Vec::new();
        if let Some(prev) = prev {
            found.extend(between(c.provider, k + 1, prev, e, &mut covered));
        }
        let seen = prev.map(|p| Seen::between(&p.request, &e.request));
        found.extend(within(c.provider, &e.request, &covered, seen));
        // One finding per rule and call in a request (several checks may see the same fault).
        let mut local = BTreeSet::new();
        for (message, v) in found {
            let place = if v.call_id.is_some() { None } else { message };
            let text = if v.call_id.is_some() {
                String::new()
            } else {
                v.message.clone()
            };
            if !local.insert((v.rule, v.call_id.clone(), place, text)) {
                continue;
            }
            if !reported.insert((v.rule, v.call_id.clone(), message, v.message.clone())) {
                continue;
            }
            out.push(Placed {
                entry: k,
                message,
                violation: v,
            });
        }
    }
    out
}

/// The turn between two consecutive requests: with the reply known, the follow-up rules; without
/// it, the history alone.
fn between(
    provider: Provider,
    turn: usize,
    prev: &Entry,
    next: &Entry,
    covered: &mut Covered,
) -> Vec<(Option<usize>, Violation)> {
    let f = &next.request;
    match &prev.reply {
        Some(reply) => {
            let known = call_sites(&prev.request);
            let calls = fresh(reply.message.calls(), |id| known.contains_key(id));
            if calls.is_empty() {
                // A final answer (or calls reusing old ids, reported in the request): the
                // history is all there is to check.
                let obs = observation(
                    provider,
                    turn,
                    calls,
                    reply.clone(),
                    prev.request.clone(),
                    f.clone(),
                );
                return placed(rules::check_history(&obs));
            }
            let obs = observation(
                provider,
                turn,
                calls,
                reply.clone(),
                prev.request.clone(),
                f.clone(),
            );
            covered.ids = obs.call_ids().map(str::to_string).collect();
            covered.window = (!covered.ids.is_empty())
                .then(|| {
                    f.messages.iter().position(|m| {
                        m.role == Role::Assistant && m.calls().any(|c| covered.ids.contains(&c.id))
                    })
                })
                .flatten();
            let vs = rules::check_messages(&obs, true);
            placed(vs)
        }
        // A request continuing a stored response does not repeat the history.
        None if f.previous_response_id.is_some() => Vec::new(),
        None => {
            let served = Reply {
                id: None,
                message: Message {
                    role: Role::Assistant,
                    parts: Vec::new(),
                    wire_index: 0,
                    wire_len: 0,
                },
                stop: StopReason::EndTurn,
            };
            let obs = observation(
                provider,
                turn,
                Vec::new(),
                served,
                prev.request.clone(),
                f.clone(),
            );
            placed(rules::check_history(&obs))
        }
    }
}

/// The checks of one request on its own.
fn within(
    provider: Provider,
    req: &Request,
    covered: &Covered,
    seen: Option<Seen>,
) -> Vec<(Option<usize>, Violation)> {
    let msgs = &req.messages;
    let n = msgs.len();
    let mut out = Vec::new();
    let sites = call_sites(req);
    // Ids unique across the conversation.
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    for (a, m) in msgs.iter().enumerate() {
        for (pi, p) in m.parts.iter().enumerate() {
            let Part::Call(c) = p else { continue };
            if let Some(&earlier) = first.get(c.id.as_str()) {
                out.push((
                    Some(wire_of(m, pi)),
                    Violation::new(
                        RuleId::DuplicateResult,
                        0,
                        Some(&c.id),
                        format!(
                            "call id {} is used by two tool calls (messages #{} and #{}); ids must be unique in a conversation, or results cannot say which call they answer",
                            c.id,
                            msgs[earlier].wire_index,
                            m.wire_index
                        ),
                    ),
                ));
            } else {
                first.insert(&c.id, a);
            }
        }
    }
    // Every assistant turn with calls, and the messages up to the next assistant turn.
    let mut window_of: Vec<Option<usize>> = vec![None; n];
    let mut turn = 0;
    for a in 0..n {
        if msgs[a].role != Role::Assistant || msgs[a].calls().next().is_none() {
            continue;
        }
        turn += 1;
        let end = (a + 1..n)
            .find(|&j| msgs[j].role == Role::Assistant)
            .unwrap_or(n);
        for w in &mut window_of[a + 1..end] {
            *w = Some(a);
        }
        let trailing = a + 1 == n;
        if trailing || covered.window == Some(a) || seen.is_some_and(|s| s.checked(a, end)) {
            continue;
        }
        let calls = fresh(msgs[a].calls(), |id| first.get(id) != Some(&a));
        if calls.is_empty() {
            continue;
        }
        let served = Reply {
            id: None,
            message: msgs[a].clone(),
            stop: StopReason::ToolUse,
        };
        let obs = observation(
            provider,
            turn,
            calls,
            served,
            prefix(req, a),
            prefix(req, end),
        );
        // Cut from this request, the turn's history is this request's: nothing to compare.
        let vs = rules::check_messages(&obs, false)
            .into_iter()
            .filter(|v| {
                !v.call_id
                    .as_ref()
                    .is_some_and(|id| covered.ids.contains(id))
            })
            .collect();
        out.extend(placed(vs));
    }
    out.extend(orphans(req, &window_of, &sites, covered));
    out
}

/// Each violation with the message it points at (the rules place what they find).
fn placed(vs: Vec<Violation>) -> Vec<(Option<usize>, Violation)> {
    vs.into_iter().map(|v| (v.message_index, v)).collect()
}

/// Results outside every turn's window: after an assistant turn without calls, or before
/// any assistant turn.
fn orphans(
    req: &Request,
    window_of: &[Option<usize>],
    sites: &BTreeMap<String, usize>,
    covered: &Covered,
) -> Vec<(Option<usize>, Violation)> {
    let first_assistant = req.messages.iter().position(|m| m.role == Role::Assistant);
    let mut out = Vec::new();
    for (j, m) in req.messages.iter().enumerate() {
        if window_of[j].is_some() || m.role == Role::Assistant {
            continue;
        }
        for (pi, p) in m.parts.iter().enumerate() {
            let Part::Result(r) = p else { continue };
            let id = r.call_id.as_str();
            // Continuing a stored response: its calls are not in this request.
            let stored =
                req.previous_response_id.is_some() && first_assistant.is_none_or(|fa| j < fa);
            if covered.ids.contains(id) || stored {
                continue;
            }
            let v = match sites.get(id) {
                // Its own turn's check reports results placed before the turn.
                Some(&ci) if ci > j => continue,
                Some(&ci) => Violation::new(
                    RuleId::MissingAssistantTurn,
                    0,
                    Some(id),
                    format!(
                        "the result for {id} (message #{}) does not follow the assistant turn with its call (message #{}): other messages sit between them",
                        wire_of(m, pi),
                        req.messages[ci].wire_index
                    ),
                ),
                None => Violation::new(
                    RuleId::UnknownResult,
                    0,
                    Some(id),
                    format!("a result for {id}, which no tool call before it has"),
                ),
            };
            out.push((Some(wire_of(m, pi)), v));
        }
    }
    out
}

/// Where each call id is first called: message index in the request.
fn call_sites(req: &Request) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (i, m) in req.messages.iter().enumerate() {
        for c in m.calls() {
            out.entry(c.id.clone()).or_insert(i);
        }
    }
    out
}

/// The calls not `taken` already, each id once.
fn fresh<'a>(
    calls: impl Iterator<Item = &'a ToolCall>,
    taken: impl Fn(&str) -> bool,
) -> Vec<ToolCall> {
    let mut seen = BTreeSet::new();
    calls
        .filter(|c| !taken(&c.id) && seen.insert(c.id.clone()))
        .cloned()
        .collect()
}

/// `req` with only its first `n` messages, continuing no stored response.
fn prefix(req: &Request, n: usize) -> Request {
    Request {
        messages: req.messages[..n].to_vec(),
        previous_response_id: None,
        ..req.clone()
    }
}

/// What the messages of a turn show: the calls (with no scripted outcome: lint only has the
/// messages), the reply and the two requests around it.
fn observation(
    provider: Provider,
    turn: usize,
    calls: Vec<ToolCall>,
    served: Reply,
    previous: Request,
    followup: Request,
) -> TurnMessages {
    TurnMessages {
        provider,
        turn,
        calls: calls
            .into_iter()
            .map(|call| CallFacts {
                call,
                outcome: None,
                side_effects: false,
                order_dependent: false,
            })
            .collect(),
        tags: Arc::new([]),
        earlier_tags: Arc::new([]),
        served: Arc::new(served),
        previous: Arc::new(previous),
        followup: Some(Arc::new(followup)),
    }
}
