//! From what the proxy saw to cassette exchanges.
//!
//! - Only model requests (`POST` to a model endpoint) become exchanges, in arrival order.
//! - An SDK retry (`x-stainless-retry-count` > 0, same body as the request before it) replaces
//!   that attempt: one logical request, one exchange.
//! - A request whose last attempt got no complete 2xx reply is not an exchange. A 408, 409, 429
//!   or 5xx, an unreachable upstream or a broken stream is an upstream failure (the run failed);
//!   another status (a 400, say) is reported but not a failure by itself.
//! - `tool_latency_ms` of an exchange: for each call of the reply before it, the time from the
//!   end of that reply to the arrival of the next request. The proxy sees the turn, not each
//!   tool, so this is an upper bound of every call's run time (and includes the agent's own
//!   overhead).
//! - Bodies are redacted here (see [`super::redact`]), a stream's events together, so that a
//!   key cut across deltas is masked as one.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde_json::Value;

use super::error::RecordError;
use super::log::{Entry, State};
use super::redact::Redactor;
use crate::cassette::{Exchange, LoadedCassette, RecordedReply};
use crate::provider::Provider;
use crate::provider::{self, SseEvent};
use crate::transcript::Reply;

/// The exchanges of a run and what went wrong on the way.
#[derive(Debug, Default)]
pub struct Built {
    /// The API the run called (`None` when it made no model request).
    pub provider: Option<Provider>,
    /// The exchanges recorded from the upstream (not those served from an old cassette).
    pub exchanges: Vec<Exchange>,
    /// How many requests were answered from the old cassette (`--mode new`).
    pub replayed: usize,
    /// SDK retries folded into the attempt they repeat.
    pub retries: usize,
    /// Upstream failures: the run failed.
    pub failures: Vec<String>,
    /// Replies reported but not failing the run, and requests passed through unrecorded.
    pub problems: Vec<String>,
    /// Requests that were forwarded but are not model requests.
    pub passed_through: usize,
    /// The model's name, from the first reply (or request) that has one.
    pub model: Option<String>,
    /// The model endpoints used, like `POST /v1/messages?beta=true` (query redacted).
    pub endpoints: BTreeSet<String>,
}

/// One logical model request: its last attempt, and when its first attempt arrived.
struct Slot<'a> {
    number: usize,
    entry: &'a Entry,
    first_arrived: Instant,
}

/// Build the exchanges of `entries` (in arrival order). `old` is the cassette whose replies
/// were served first (`--mode new`).
pub fn build(
    entries: &[Entry],
    old: Option<&LoadedCassette>,
    redactor: &Redactor,
) -> Result<Built, RecordError> {
    let mut built = Built {
        provider: old.map(LoadedCassette::provider),
        ..Built::default()
    };
    let mut slots: Vec<Slot> = Vec::new();
    for e in entries {
        let Some(p) = e.provider else {
            built.passed_through += 1;
            if let Some(s) = e.status.filter(|s| !(200..300).contains(s)) {
                built.problems.push(format!(
                    "{} {}: the upstream answered {s} (passed through, not recorded)",
                    e.method, e.path
                ));
            }
            continue;
        };
        match built.provider {
            None => built.provider = Some(p),
            Some(first) if first != p => {
                return Err(RecordError::MixedProviders { first, other: p });
            }
            Some(_) => {}
        }
        built.endpoints.insert(match &e.query {
            Some(q) => format!("{} {}?{}", e.method, e.path, redactor.query(q)),
            None => format!("{} {}", e.method, e.path),
        });
        if e.retry > 0
            && let Some(last) = slots.last_mut()
            && last.entry.body == e.body
        {
            last.entry = e;
            built.retries += 1;
            continue;
        }
        slots.push(Slot {
            number: slots.len() + 1,
            entry: e,
            first_arrived: e.arrived,
        });
    }
    let Some(provider) = built.provider else {
        return Ok(built);
    };
    let fmt = provider::format(provider);

    // The reply before the next request: its calls and when it ended.
    let mut previous: Option<(Vec<String>, Instant)> = None;
    // Latencies measured, waiting for the next exchange recorded.
    let mut pending_latency: BTreeMap<String, u64> = BTreeMap::new();
    for slot in &slots {
        let e = slot.entry;
        if let Some((calls, ended)) = previous.take() {
            let ms = u64::try_from(
                slot.first_arrived
                    .saturating_duration_since(ended)
                    .as_millis(),
            )
            .unwrap_or(u64::MAX);
            pending_latency = calls.into_iter().map(|id| (id, ms)).collect();
        }
        let what = format!("model request {}", slot.number);
        if let Some(i) = e.replayed {
            built.replayed += 1;
            if let (Some(old), Some(ended)) = (old, e.ended) {
                previous = Some((call_ids(&old.replies[i]), ended));
            }
            continue;
        }
        match (&e.state, e.status) {
            (State::Failed(why), _) => built.failures.push(format!("{what}: {why}")),
            (State::Pending, _) => built
                .failures
                .push(format!("{what}: no complete reply when the run ended")),
            (State::Done, Some(s)) if !(200..300).contains(&s) => {
                let text = redactor
                    .text(&String::from_utf8_lossy(&e.reply))
                    .into_owned();
                let msg = format!(
                    "{what}: the upstream answered {s}: {}",
                    crate::util::clip(text.trim(), 300)
                );
                if matches!(s, 408 | 409 | 429) || s >= 500 {
                    built.failures.push(msg);
                } else {
                    built.problems.push(format!("{msg} (not recorded)"));
                }
            }
            (State::Done, _) => match exchange(fmt, e, redactor) {
                Ok((mut exchange, reply)) => {
                    exchange.tool_latency_ms = std::mem::take(&mut pending_latency);
                    if built.model.is_none() {
                        built.model = model_of(&exchange).or_else(|| {
                            // Gemini names the model in the URL only.
                            provider::route(&e.method, &e.path, e.query.as_deref())
                                .and_then(|ep| ep.model)
                        });
                    }
                    if let Some(ended) = e.ended {
                        previous = Some((call_ids(&reply), ended));
                    }
                    built.exchanges.push(exchange);
                }
                Err(why) => built.failures.push(format!("{what}: {why}")),
            },
        }
    }
    Ok(built)
}

fn call_ids(reply: &Reply) -> Vec<String> {
    reply.calls().into_iter().map(|c| c.id.clone()).collect()
}

/// One exchange from a complete 2xx entry, redacted, and its parsed reply.
fn exchange(
    fmt: &dyn provider::Format,
    e: &Entry,
    redactor: &Redactor,
) -> Result<(Exchange, Reply), String> {
    let mut request: Value = serde_json::from_slice(&e.body)
        .map_err(|err| format!("the request body is not JSON ({err}); not recorded"))?;
    fmt.parse_request(&request).map_err(|err| {
        format!(
            "the request is not a {} request ({err}); not recorded",
            fmt.name()
        )
    })?;
    redactor.value(&mut request);
    let (reply, body) = if e.streamed {
        let mut frames: Vec<SseEvent> = e.frames.clone();
        redactor.stream(&mut frames);
        let body = fmt
            .reply_from_stream(&frames)
            .map_err(|err| format!("the streamed reply cannot be read ({err}); not recorded"))?;
        (RecordedReply::Stream(frames), body)
    } else {
        let mut body: Value = serde_json::from_slice(&e.reply)
            .map_err(|err| format!("the reply body is not JSON ({err}); not recorded"))?;
        redactor.value(&mut body);
        // A stream sent as one JSON array (Gemini without `alt=sse`) is kept as its events.
        match provider::sse::events_from_json_array(&body) {
            Some(events) => {
                let whole = fmt.reply_from_stream(&events).map_err(|err| {
                    format!("the streamed reply cannot be read ({err}); not recorded")
                })?;
                (RecordedReply::Stream(events), whole)
            }
            None => (RecordedReply::Body(body.clone()), body),
        }
    };
    let parsed = fmt.parse_reply(&body).map_err(|err| {
        format!(
            "the reply is not a {} reply ({err}); not recorded",
            fmt.name()
        )
    })?;
    Ok((
        Exchange {
            request,
            reply,
            tool_latency_ms: BTreeMap::new(),
        },
        parsed,
    ))
}

fn model_of(ex: &Exchange) -> Option<String> {
    let from_reply = match &ex.reply {
        RecordedReply::Body(b) => b.get("model").and_then(Value::as_str).map(str::to_string),
        RecordedReply::Stream(_) => None,
    };
    from_reply.or_else(|| {
        ex.request
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use serde_json::json;
    use std::time::Duration;

    fn redactor() -> Redactor {
        Redactor::new(&[]).unwrap()
    }

    fn request(text: &str) -> Value {
        json!({"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": text}]})
    }

    fn tool_reply(id: &str) -> Value {
        json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
               "content": [{"type": "tool_use", "id": id, "name": "get_weather", "input": {}}],
               "stop_reason": "tool_use", "usage": {"input_tokens": 1, "output_tokens": 1}})
    }

    fn final_reply() -> Value {
        json!({"id": "msg_2", "type": "message", "role": "assistant", "model": "claude-x",
               "content": [{"type": "text", "text": "done"}],
               "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1}})
    }

    fn entry(
        t0: Instant,
        at_ms: u64,
        end_ms: u64,
        body: &Value,
        status: u16,
        reply: &Value,
        retry: u32,
    ) -> Entry {
        let mut e = Entry::new(
            "POST".into(),
            "/v1/messages".into(),
            None,
            Bytes::from(body.to_string()),
            retry,
        );
        e.arrived = t0 + Duration::from_millis(at_ms);
        e.ended = Some(t0 + Duration::from_millis(end_ms));
        e.status = Some(status);
        e.reply = reply.to_string().into_bytes();
        e.state = State::Done;
        e
    }

    #[test]
    fn exchanges_in_order_with_tool_latency_from_reply_end_to_next_request() {
        let t0 = Instant::now();
        let first = request("hi");
        let follow = request("hi, with results");
        let entries = [
            entry(t0, 0, 100, &first, 200, &tool_reply("toolu_a"), 0),
            entry(t0, 350, 400, &follow, 200, &final_reply(), 0),
        ];
        let b = build(&entries, None, &redactor()).unwrap();
        assert_eq!(b.provider, Some(Provider::Anthropic));
        assert_eq!(b.exchanges.len(), 2);
        assert!(b.exchanges[0].tool_latency_ms.is_empty());
        assert_eq!(
            b.exchanges[1].tool_latency_ms,
            BTreeMap::from([("toolu_a".to_string(), 250)])
        );
        assert!(b.failures.is_empty() && b.problems.is_empty());
        assert_eq!(b.model.as_deref(), Some("claude-x"));
        assert_eq!(
            b.endpoints,
            BTreeSet::from(["POST /v1/messages".to_string()])
        );
    }

    #[test]
    fn a_retry_replaces_the_failed_attempt_and_latency_counts_from_the_first_attempt() {
        let t0 = Instant::now();
        let first = request("hi");
        let follow = request("follow-up");
        let overloaded = json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
        let entries = [
            entry(t0, 0, 100, &first, 200, &tool_reply("toolu_a"), 0),
            entry(t0, 300, 310, &follow, 529, &overloaded, 0),
            entry(t0, 900, 1000, &follow, 200, &final_reply(), 1),
        ];
        let b = build(&entries, None, &redactor()).unwrap();
        assert_eq!(b.exchanges.len(), 2);
        assert_eq!(b.retries, 1);
        assert!(b.failures.is_empty(), "{:?}", b.failures);
        assert_eq!(b.exchanges[1].tool_latency_ms["toolu_a"], 200);
    }

    #[test]
    fn an_unanswered_5xx_is_a_failure_and_a_4xx_a_problem() {
        let t0 = Instant::now();
        let err = json!({"error": {"message": "bad key sk-ant-api03-abcdefghijklmnopqrstuv"}});
        let b = build(
            &[entry(t0, 0, 1, &request("a"), 500, &err, 0)],
            None,
            &redactor(),
        )
        .unwrap();
        assert_eq!(b.failures.len(), 1);
        assert!(b.failures[0].contains("answered 500"), "{:?}", b.failures);
        assert!(
            !b.failures[0].contains("sk-ant-api03"),
            "reports are redacted too"
        );
        let b = build(
            &[entry(t0, 0, 1, &request("a"), 400, &err, 0)],
            None,
            &redactor(),
        )
        .unwrap();
        assert!(b.failures.is_empty());
        assert_eq!(b.problems.len(), 1);
        assert!(b.exchanges.is_empty());
    }

    #[test]
    fn broken_and_unfinished_replies_are_failures() {
        let t0 = Instant::now();
        let mut broken = entry(t0, 0, 1, &request("a"), 200, &json!({}), 0);
        broken.state = State::Failed("the upstream reply broke off".into());
        let mut pending = entry(t0, 2, 3, &request("b"), 200, &json!({}), 0);
        pending.state = State::Pending;
        let b = build(&[broken, pending], None, &redactor()).unwrap();
        assert_eq!(b.failures.len(), 2, "{:?}", b.failures);
        assert!(b.failures[0].starts_with("model request 1: the upstream reply broke off"));
        assert!(b.failures[1].starts_with("model request 2: no complete reply"));
    }

    #[test]
    fn two_apis_in_one_run_are_refused() {
        let t0 = Instant::now();
        let mut chat = entry(t0, 5, 6, &request("b"), 200, &final_reply(), 0);
        chat.provider = Some(Provider::OpenAiChat);
        let err = build(
            &[entry(t0, 0, 1, &request("a"), 200, &final_reply(), 0), chat],
            None,
            &redactor(),
        )
        .unwrap_err();
        assert!(matches!(err, RecordError::MixedProviders { .. }), "{err}");
    }

    #[test]
    fn bodies_are_redacted_and_other_paths_passed_through() {
        let t0 = Instant::now();
        let mut models = Entry::new("GET".into(), "/v1/models".into(), None, Bytes::new(), 0);
        models.status = Some(404);
        let entries = [
            entry(
                t0,
                0,
                1,
                &request("key sk-ant-api03-abcdefghijklmnopqrstuv"),
                200,
                &final_reply(),
                0,
            ),
            models,
        ];
        let b = build(&entries, None, &redactor()).unwrap();
        assert_eq!(
            b.exchanges[0].request["messages"][0]["content"],
            "key [REDACTED]"
        );
        assert_eq!(b.passed_through, 1);
        assert!(b.problems[0].contains("GET /v1/models"), "{:?}", b.problems);
    }

    #[test]
    fn streamed_replies_keep_their_frames_and_gaps() {
        let t0 = Instant::now();
        let mut e = entry(t0, 0, 50, &request("a"), 200, &json!(null), 0);
        e.streamed = true;
        e.reply.clear();
        let fmt = provider::format(Provider::Anthropic);
        e.frames = fmt.stream_from_reply(&final_reply()).unwrap();
        e.frames[1].gap_ms = 42;
        let b = build(&[e], None, &redactor()).unwrap();
        let RecordedReply::Stream(frames) = &b.exchanges[0].reply else {
            panic!("not a stream")
        };
        assert_eq!(frames[1].gap_ms, 42);
    }
}
