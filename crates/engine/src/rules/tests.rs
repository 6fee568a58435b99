//! Unit tests for the rules: for every rule, an observation that breaks it (the rule fires with
//! the right id, level, turn, call and message) and a correct one (it stays quiet), plus the
//! tricky cases each rule has to get right.
//!
//! Observations are built from the neutral model directly ([`observe`] gives a fully correct
//! turn; tests then break one thing), or, for Anthropic, OpenAI Chat and Gemini, parsed from
//! compact provider JSON so the parsers' grouping (and Gemini's pairing of calls without ids)
//! is exercised too.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Level, RuleId, Violation, check_turn, rejection_message};
use crate::provider::Provider;
use crate::rules::input::{
    CallFacts, End, Execution, Invocation, Match, Outcome, TurnMessages, TurnObservation,
};
use crate::tag::tag;
use crate::transcript::{Message, Part, Reply, Request, Role, StopReason, ToolCall, ToolResult};

// ------------------------------------------------------------------------------------------
// Building blocks
// ------------------------------------------------------------------------------------------

/// The one request-rule violation of `request`, if any.
fn check_request(request: &Request, writes: &[&str], turn: usize) -> Option<Violation> {
    let mut v = super::check_request(request, writes, turn);
    assert!(v.len() <= 1, "{v:#?}");
    v.pop()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A call id in the provider's own style: `toolu_01A` or `call_A`.
fn cid(p: Provider, s: &str) -> String {
    match p {
        Provider::Anthropic => format!("toolu_01{s}"),
        _ => format!("call_{s}"),
    }
}

fn reply_id(p: Provider) -> &'static str {
    match p {
        Provider::Anthropic => "msg_01S",
        Provider::OpenAiChat => "chatcmpl-S",
        Provider::OpenAiResponses => "resp_01S",
        Provider::Gemini => "gemini-resp-S",
    }
}

fn call(id: &str, name: &str, input: Value) -> ToolCall {
    ToolCall {
        id: id.to_string(),
        name: name.to_string(),
        input,
    }
}

fn behaves(id: &str, name: &str, input: Value, outcome: Outcome) -> CallFacts {
    CallFacts {
        call: call(id, name, input),
        outcome: Some(outcome),
        side_effects: false,
        order_dependent: false,
    }
}

/// A call whose tool succeeds.
fn ok(id: &str, name: &str, input: Value) -> CallFacts {
    let out = format!("{name} says {input}");
    behaves(id, name, input, Outcome::Output(out))
}

/// A call whose tool fails.
fn failing(id: &str, name: &str, input: Value) -> CallFacts {
    behaves(id, name, input, Outcome::Fail("upstream timed out".into()))
}

/// A call whose tool never completes.
fn hanging(id: &str, name: &str, input: Value) -> CallFacts {
    behaves(id, name, input, Outcome::Hang)
}

/// A side-effecting call (and order-dependent when asked).
fn write(id: &str, name: &str, input: Value, order_dependent: bool) -> CallFacts {
    CallFacts {
        side_effects: true,
        order_dependent,
        ..ok(id, name, input)
    }
}

fn text(s: &str) -> Part {
    Part::Text(s.to_string())
}

fn res(id: &str, content: &str) -> Part {
    Part::Result(ToolResult {
        call_id: id.to_string(),
        content: content.to_string(),
        is_error: None,
    })
}

fn err_res(id: &str, content: &str) -> Part {
    Part::Result(ToolResult {
        call_id: id.to_string(),
        content: content.to_string(),
        is_error: Some(true),
    })
}

/// A message; `wire_index` is set by [`renumber`].
fn message(role: Role, parts: Vec<Part>) -> Message {
    Message {
        role,
        parts,
        wire_index: 0,
        wire_len: 1,
    }
}

fn user(s: &str) -> Message {
    message(Role::User, vec![text(s)])
}

/// An assistant turn; Responses spreads it over one output item per part.
fn assistant(p: Provider, parts: Vec<Part>) -> Message {
    let wire_len = if p == Provider::OpenAiResponses {
        parts.len().max(1)
    } else {
        1
    };
    Message {
        wire_len,
        ..message(Role::Assistant, parts)
    }
}

/// One results message: an Anthropic user message of tool_result blocks, a Gemini user content
/// of functionResponse parts, or a run of OpenAI tool messages / function_call_output items
/// (one wire entry per part).
fn results_message(p: Provider, parts: Vec<Part>) -> Message {
    match p {
        Provider::Anthropic | Provider::Gemini => message(Role::User, parts),
        _ => Message {
            wire_len: parts.len().max(1),
            ..message(Role::Tool, parts)
        },
    }
}

fn renumber(messages: &mut [Message]) {
    let mut w = 0;
    for m in messages {
        m.wire_index = w;
        w += m.wire_len;
    }
}

fn request(mut messages: Vec<Message>) -> Request {
    renumber(&mut messages);
    Request {
        messages,
        tools: vec!["get_weather".into(), "get_time".into()],
        parallel_disabled: false,
        stream: false,
        previous_response_id: None,
        model: Some("some-model".into()),
    }
}

/// The text a correct handler sends back for call `i`: the tool's tagged output or error, or an
/// error text of its own for a call it gave up on.
fn output_text(obs: &TurnObservation, i: usize) -> String {
    match &obs.messages.calls[i].outcome {
        Some(Outcome::Output(o)) => format!("{o} [{}]", obs.messages.tags[i]),
        Some(Outcome::Fail(e)) => format!("{e} [{}]", obs.messages.tags[i]),
        _ => "the tool did not answer in time".to_string(),
    }
}

/// A correct result for call `i` (with the error flag where the API has one: Anthropic
/// `is_error`, Gemini's `error` key).
fn result_for(obs: &TurnObservation, i: usize) -> Part {
    let id = &obs.messages.calls[i].call.id;
    let failed = !matches!(obs.messages.calls[i].outcome, Some(Outcome::Output(_)));
    if failed && obs.messages.provider.format().has_error_flag() {
        err_res(id, &output_text(obs, i))
    } else {
        res(id, &output_text(obs, i))
    }
}

/// Correct results for every call, in call order.
fn correct_results(obs: &TurnObservation) -> Vec<Part> {
    (0..obs.messages.calls.len())
        .map(|i| result_for(obs, i))
        .collect()
}

/// Set the follow-up: the previous request's messages, the reply served, then `tail`.
fn answer(obs: &mut TurnObservation, tail: Vec<Message>) {
    let mut messages = obs.messages.previous.messages.clone();
    messages.push(obs.messages.served.message.clone());
    messages.extend(tail);
    renumber(&mut messages);
    obs.messages.followup = Some(Arc::new(Request {
        messages,
        ..Request::clone(&obs.messages.previous)
    }));
}

/// Set the follow-up with these result parts as its one results message.
fn answer_with(obs: &mut TurnObservation, parts: Vec<Part>) {
    let m = results_message(obs.messages.provider, parts);
    answer(obs, vec![m]);
}

/// Set the invocations from `(call, start_seq, end_seq)`; times are 10 ms per sequence step.
/// A second run of a call is a `Repeat`. The turn is judged one step after the last event.
fn set_runs(obs: &mut TurnObservation, spec: &[(usize, u64, u64)]) {
    let mut seen = vec![false; obs.messages.calls.len()];
    obs.execution.invocations = spec
        .iter()
        .map(|&(i, s, e)| {
            let c = &obs.messages.calls[i];
            let matched = if std::mem::replace(&mut seen[i], true) {
                Match::Repeat
            } else {
                Match::Exact
            };
            Invocation {
                call: Some(i),
                tool: c.call.name.clone(),
                input: c.call.input.clone().into(),
                via: "in-process",
                matched,
                start: ms(10 * s),
                end: Some(ms(10 * e)),
                ended: match c.outcome {
                    Some(Outcome::Output(_)) => End::Output,
                    Some(Outcome::Fail(_)) => End::Failed,
                    _ => End::Abandoned,
                },
                start_seq: s,
                end_seq: Some(e),
                held: Duration::ZERO,
            }
        })
        .collect();
    let last = spec.iter().map(|r| r.2).max().unwrap_or(0) + 1;
    obs.execution.judged_seq = last;
    obs.execution.judged_at = ms(10 * last);
}

/// A fully correct turn 1 for these calls: every call run once, all overlapping, every result
/// in one message right after the assistant turn, in call order.
fn observe(p: Provider, calls: Vec<CallFacts>) -> TurnObservation {
    let mut parts = vec![text("Let me look that up.")];
    parts.extend(calls.iter().map(|c| Part::Call(c.call.clone())));
    let served = Reply {
        id: Some(reply_id(p).to_string()),
        message: assistant(p, parts),
        stop: StopReason::ToolUse,
    };
    let mut obs = TurnObservation {
        messages: TurnMessages {
            provider: p,
            turn: 1,
            tags: calls.iter().map(|c| tag(&c.call.id)).collect(),
            calls: calls.into(),
            earlier_tags: Vec::new().into(),
            served: served.into(),
            previous: request(vec![user("What is the weather in Paris and Rome?")]).into(),
            followup: None,
        },
        execution: Execution {
            invocations: Vec::new(),
            reply_at: Duration::ZERO,
            reply_end: Duration::ZERO,
            judged_at: Duration::ZERO,
            judged_seq: 0,
            deadline_expired: false,
            handler_ended: false,
            require_concurrency: true,
            tool_deadline: Duration::from_millis(30_000),
        },
    };
    let n = obs.messages.calls.len() as u64;
    let all_at_once: Vec<(usize, u64, u64)> =
        (0..n).map(|i| (i as usize, i + 1, n + 1 + i)).collect();
    set_runs(&mut obs, &all_at_once);
    let results = correct_results(&obs);
    answer_with(&mut obs, results);
    obs
}

/// The usual turn: two calls of one tool with different input (not interchangeable).
fn two_calls(p: Provider) -> TurnObservation {
    observe(
        p,
        vec![
            ok(&cid(p, "A"), "get_weather", json!({"city": "Paris"})),
            ok(&cid(p, "B"), "get_weather", json!({"city": "Rome"})),
        ],
    )
}

/// A correct turn 2: turn 1 asked for the time (call `Z`) and was answered.
fn second_turn(p: Provider) -> TurnObservation {
    let mut obs = two_calls(p);
    let z = call(&cid(p, "Z"), "get_time", json!({"tz": "Europe/Paris"}));
    let earlier = tag(&z.id);
    let old_results = results_message(p, vec![res(&z.id, &format!("12:00 [{earlier}]"))]);
    std::sync::Arc::make_mut(&mut obs.messages.previous)
        .messages
        .extend([assistant(p, vec![Part::Call(z)]), old_results]);
    renumber(&mut std::sync::Arc::make_mut(&mut obs.messages.previous).messages);
    obs.messages.turn = 2;
    obs.messages.earlier_tags = vec![(earlier, 1)].into();
    let results = correct_results(&obs);
    answer_with(&mut obs, results);
    obs
}

/// Drop the follow-up: the turn is judged without one.
fn no_followup(obs: &mut TurnObservation) {
    obs.messages.followup = None;
}

fn id(obs: &TurnObservation, i: usize) -> String {
    obs.messages.calls[i].call.id.clone()
}

fn rules_of(obs: &TurnObservation) -> Vec<RuleId> {
    check_turn(obs).iter().map(|v| v.rule).collect()
}

/// Exactly one violation of `rule`, with this level, the observation's turn, this call and a
/// message containing `phrase`.
#[track_caller]
fn expect_one(
    obs: &TurnObservation,
    rule: RuleId,
    level: Level,
    call_id: Option<&str>,
    phrase: &str,
) -> Violation {
    let all = check_turn(obs);
    let hits: Vec<&Violation> = all.iter().filter(|v| v.rule == rule).collect();
    assert_eq!(hits.len(), 1, "expected one {rule}, got {all:#?}");
    let v = hits[0].clone();
    assert_eq!(v.level, level, "{v:#?}");
    assert_eq!(v.turn, obs.messages.turn, "{v:#?}");
    assert_eq!(v.call_id.as_deref(), call_id, "{v:#?}");
    assert!(
        v.message.contains(phrase),
        "message {:?} lacks {phrase:?}",
        v.message
    );
    v
}

#[track_caller]
fn expect_quiet(obs: &TurnObservation, rule: RuleId) {
    let all = check_turn(obs);
    assert!(all.iter().all(|v| v.rule != rule), "{rule} fired: {all:#?}");
}

#[track_caller]
fn expect_clean(obs: &TurnObservation) {
    let all = check_turn(obs);
    assert!(all.is_empty(), "expected no violation, got {all:#?}");
}

// ------------------------------------------------------------------------------------------
// The catalogue these tests cover, and correct turns
// ------------------------------------------------------------------------------------------

#[test]
fn every_rule_of_the_catalogue_is_covered_here() {
    // A new rule must get its tests in this file: extend this list when adding one.
    use RuleId::*;
    let covered = [
        MissingResult,
        UnknownResult,
        DuplicateResult,
        MismatchedResult,
        SplitResults,
        MissingAssistantTurn,
        ResultsNotFirst,
        HistoryChanged,
        ErrorNotFlagged,
        SequentialExecution,
        UnsafeParallelWrites,
        ParallelWritesEnabled,
        TimeoutNotEnforced,
        WrongArguments,
        CallNotRun,
        CallRunTwice,
        StoppedEarly,
    ];
    assert_eq!(RuleId::ALL, covered.as_slice());
}

#[test]
fn a_correct_turn_is_clean_for_every_provider() {
    for p in Provider::ALL {
        expect_clean(&two_calls(p));
        expect_clean(&second_turn(p));
    }
}

#[test]
fn a_correct_turn_with_failures_and_a_hang_is_clean_for_every_provider() {
    for p in Provider::ALL {
        let mut obs = observe(
            p,
            vec![
                ok(&cid(p, "A"), "get_weather", json!({"city": "Paris"})),
                failing(&cid(p, "B"), "get_weather", json!({"city": "Rome"})),
                hanging(&cid(p, "C"), "get_time", json!({"tz": "UTC"})),
            ],
        );
        obs.execution.tool_deadline = ms(1_000);
        expect_clean(&obs);
    }
}

#[test]
fn a_chained_responses_follow_up_is_clean() {
    // previous_response_id names the reply served: the follow-up holds only the outputs.
    let mut obs = two_calls(Provider::OpenAiResponses);
    let results = results_message(obs.messages.provider, correct_results(&obs));
    let mut f = request(vec![results]);
    f.previous_response_id = Some(reply_id(obs.messages.provider).to_string());
    obs.messages.followup = Some(Arc::new(f));
    expect_clean(&obs);
}

#[test]
fn results_in_any_order_are_legal() {
    for p in Provider::ALL {
        let mut obs = observe(
            p,
            vec![
                ok(&cid(p, "A"), "get_weather", json!({"city": "Paris"})),
                ok(&cid(p, "B"), "get_weather", json!({"city": "Rome"})),
                ok(&cid(p, "C"), "get_time", json!({"tz": "UTC"})),
            ],
        );
        let mut results = correct_results(&obs);
        results.reverse();
        answer_with(&mut obs, results);
        expect_clean(&obs);
    }
}

// ------------------------------------------------------------------------------------------
// Provider JSON, parsed (Anthropic and OpenAI Chat)
// ------------------------------------------------------------------------------------------

fn parse_request(p: Provider, body: Value) -> Request {
    crate::provider::format(p)
        .parse_request(&body)
        .unwrap_or_else(|e| panic!("{p} request does not parse: {e}"))
}

fn parse_reply(p: Provider, body: Value) -> Reply {
    crate::provider::format(p)
        .parse_reply(&body)
        .unwrap_or_else(|e| panic!("{p} reply does not parse: {e}"))
}

/// Turn 1 of two weather calls, with the previous request and reply served parsed from
/// Anthropic JSON, and a follow-up holding `tail` after the assistant turn.
fn anthropic_wire(tail: Value) -> TurnObservation {
    let p = Provider::Anthropic;
    let mut obs = two_calls(p);
    let first = json!({"role": "user", "content": "Weather in Paris and Rome?"});
    let content = json!([
        {"type": "text", "text": "Checking both."},
        {"type": "tool_use", "id": id(&obs, 0), "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": id(&obs, 1), "name": "get_weather", "input": {"city": "Rome"}},
    ]);
    let tools = json!([{"name": "get_weather", "input_schema": {"type": "object"}}]);
    obs.messages.previous = parse_request(
        p,
        json!({"model": "claude-x", "max_tokens": 512, "tools": tools, "messages": [first]}),
    )
    .into();
    obs.messages.served = parse_reply(
        p,
        json!({
            "id": "msg_01S", "type": "message", "role": "assistant", "model": "claude-x",
            "content": content, "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 20}
        }),
    )
    .into();
    let mut messages = vec![first, json!({"role": "assistant", "content": content})];
    messages.extend(tail.as_array().cloned().unwrap_or_default());
    obs.messages.followup = Some(Arc::new(parse_request(
        p,
        json!({"model": "claude-x", "max_tokens": 512, "tools": tools, "messages": messages}),
    )));
    obs
}

/// The same for OpenAI Chat.
fn chat_wire(tail: Value) -> TurnObservation {
    let p = Provider::OpenAiChat;
    let mut obs = two_calls(p);
    let first = json!({"role": "user", "content": "Weather in Paris and Rome?"});
    let assistant = json!({
        "role": "assistant",
        "content": null,
        "tool_calls": [
            {"id": id(&obs, 0), "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": id(&obs, 1), "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}},
        ]
    });
    let tools =
        json!([{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]);
    obs.messages.previous = parse_request(
        p,
        json!({"model": "gpt-x", "tools": tools, "messages": [first]}),
    )
    .into();
    obs.messages.served = parse_reply(
        p,
        json!({
            "id": "chatcmpl-S", "object": "chat.completion", "model": "gpt-x",
            "choices": [{"index": 0, "message": assistant, "finish_reason": "tool_calls"}]
        }),
    )
    .into();
    let mut messages = vec![first, assistant];
    messages.extend(tail.as_array().cloned().unwrap_or_default());
    obs.messages.followup = Some(Arc::new(parse_request(
        p,
        json!({"model": "gpt-x", "tools": tools, "messages": messages}),
    )));
    obs
}

#[test]
fn anthropic_wire_follow_up_in_reverse_order_with_trailing_text_is_clean() {
    let o = two_calls(Provider::Anthropic);
    let obs = anthropic_wire(json!([{
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": id(&o, 1), "content": output_text(&o, 1)},
            {"type": "tool_result", "tool_use_id": id(&o, 0),
             "content": [{"type": "text", "text": output_text(&o, 0)}]},
            {"type": "text", "text": "Anything else?"}
        ]
    }]));
    expect_clean(&obs);
}

#[test]
fn openai_chat_wire_follow_up_is_clean() {
    let o = two_calls(Provider::OpenAiChat);
    let obs = chat_wire(json!([
        {"role": "tool", "tool_call_id": id(&o, 1), "content": output_text(&o, 1)},
        {"role": "tool", "tool_call_id": id(&o, 0), "content": output_text(&o, 0)},
    ]));
    expect_clean(&obs);
}

// ------------------------------------------------------------------------------------------
// missing-result, unknown-result, duplicate-result
// ------------------------------------------------------------------------------------------

#[test]
fn missing_result_fires_for_each_unanswered_call() {
    for p in Provider::ALL {
        let mut obs = two_calls(p);
        let results = vec![result_for(&obs, 0)];
        answer_with(&mut obs, results);
        let b = id(&obs, 1);
        expect_one(
            &obs,
            RuleId::MissingResult,
            Level::Must,
            Some(&b),
            "has no result",
        );
        assert_eq!(rules_of(&obs), vec![RuleId::MissingResult]);
    }
}

#[test]
fn missing_result_says_when_the_dropped_call_had_failed() {
    let p = Provider::Anthropic;
    let mut obs = observe(
        p,
        vec![
            ok(&cid(p, "A"), "get_weather", json!({"city": "Paris"})),
            failing(&cid(p, "B"), "get_weather", json!({"city": "Rome"})),
        ],
    );
    let results = vec![result_for(&obs, 0)];
    answer_with(&mut obs, results);
    let b = id(&obs, 1);
    expect_one(
        &obs,
        RuleId::MissingResult,
        Level::Must,
        Some(&b),
        "(its tool failed)",
    );
}

#[test]
fn missing_result_is_quiet_when_every_call_is_answered() {
    for p in Provider::ALL {
        expect_quiet(&two_calls(p), RuleId::MissingResult);
    }
}

#[test]
fn unknown_result_fires_for_an_id_no_call_has() {
    for p in Provider::ALL {
        let mut obs = two_calls(p);
        let mut results = correct_results(&obs);
        results.push(res(&cid(p, "X"), "made up"));
        answer_with(&mut obs, results);
        let x = cid(p, "X");
        let v = expect_one(
            &obs,
            RuleId::UnknownResult,
            Level::Must,
            Some(&x),
            "which no call of this turn has",
        );
        assert!(
            v.message.contains(&id(&obs, 0)) && v.message.contains(&id(&obs, 1)),
            "{v:?}"
        );
    }
}

#[test]
fn unknown_result_is_quiet_for_results_of_earlier_turns_in_the_history() {
    for p in Provider::ALL {
        let obs = second_turn(p);
        expect_quiet(&obs, RuleId::UnknownResult);
        expect_clean(&obs);
    }
}

#[test]
fn unknown_result_fires_for_an_earlier_turns_result_resent_with_this_turns_results() {
    // The real API checks results against the assistant message right before them: Anthropic
    // answers "unexpected `tool_use_id` found in `tool_result` blocks", OpenAI Chat "'tool_call_id'
    // of '…' not found in 'tool_calls' of previous message".
    for p in Provider::ALL {
        let mut obs = second_turn(p);
        let z = cid(p, "Z");
        let stale = format!("12:00 [{}]", obs.messages.earlier_tags[0].0);
        let mut results = correct_results(&obs);
        results.push(res(&z, &stale));
        answer_with(&mut obs, results);
        expect_one(
            &obs,
            RuleId::UnknownResult,
            Level::Must,
            Some(&z),
            "which no call of this turn has",
        );
    }
}

#[test]
fn duplicate_result_fires_for_two_results_of_one_call() {
    for p in Provider::ALL {
        let mut obs = two_calls(p);
        let mut results = correct_results(&obs);
        results.push(result_for(&obs, 0));
        answer_with(&mut obs, results);
        let a = id(&obs, 0);
        expect_one(
            &obs,
            RuleId::DuplicateResult,
            Level::Must,
            Some(&a),
            "has 2 results",
        );
        assert_eq!(rules_of(&obs), vec![RuleId::DuplicateResult]);
    }
}

#[test]
fn duplicate_result_is_quiet_for_one_result_per_call() {
    for p in Provider::ALL {
        expect_quiet(&two_calls(p), RuleId::DuplicateResult);
    }
}

// ------------------------------------------------------------------------------------------
// mismatched-result
// ------------------------------------------------------------------------------------------

#[test]
fn mismatched_result_fires_when_outputs_are_swapped() {
    for p in Provider::ALL {
        let mut obs = two_calls(p);
        let (a, b) = (id(&obs, 0), id(&obs, 1));
        // Paired by completion order: each id gets the other call's output.
        let swapped = vec![
            res(&a, &output_text(&obs, 1)),
            res(&b, &output_text(&obs, 0)),
        ];
        answer_with(&mut obs, swapped);
        let all = check_turn(&obs);
        let hits: Vec<_> = all
            .iter()
            .filter(|v| v.rule == RuleId::MismatchedResult)
            .collect();
        assert_eq!(hits.len(), 2, "{all:#?}");
        assert_eq!(hits[0].call_id.as_deref(), Some(a.as_str()));
        assert_eq!(hits[1].call_id.as_deref(), Some(b.as_str()));
        for v in &hits {
            assert_eq!((v.level, v.turn), (Level::Must, 1));
        }
        assert!(
            hits[0]
                .message
                .contains(&format!("carries the output of {b}")),
            "{:?}",
            hits[0]
        );
        let diff = hits[0].diff.as_deref().expect("a diff");
        assert!(
            diff.contains(&output_text(&obs, 0)) && diff.contains(&output_text(&obs, 1)),
            "{diff}"
        );
        assert_eq!(
            rules_of(&obs),
            vec![RuleId::MismatchedResult, RuleId::MismatchedResult]
        );
    }
}

#[test]
fn mismatched_result_is_quiet_for_correctly_tagged_outputs() {
    for p in Provider::ALL {
        expect_quiet(&two_calls(p), RuleId::MismatchedResult);
    }
}

fn identical_calls(p: Provider) -> TurnObservation {
    observe(
        p,
        vec![
            ok(&cid(p, "A"), "get_weather", json!({"city": "Paris"})),
            ok(&cid(p, "B"), "get_weather", json!({"city": "Paris"})),
        ],
    )
}

#[test]
fn identical_calls_may_swap_their_outputs() {
    for p in Provider::ALL {
        let mut obs = identical_calls(p);
        let (a, b) = (id(&obs, 0), id(&obs, 1));
        let swapped = vec![
            res(&a, &output_text(&obs, 1)),
            res(&b, &output_text(&obs, 0)),
        ];
        answer_with(&mut obs, swapped);
        expect_clean(&obs);
    }
}

#[test]
fn identical_calls_may_not_share_one_output() {
    for p in Provider::ALL {
        let mut obs = identical_calls(p);
        let (a, b) = (id(&obs, 0), id(&obs, 1));
        let same = vec![
            res(&a, &output_text(&obs, 0)),
            res(&b, &output_text(&obs, 0)),
        ];
        answer_with(&mut obs, same);
        expect_one(
            &obs,
            RuleId::MismatchedResult,
            Level::Must,
            Some(&b),
            &format!("repeats the output already given for {a}"),
        );
        assert_eq!(rules_of(&obs), vec![RuleId::MismatchedResult]);
    }
}

#[test]
fn mismatched_result_fires_for_an_output_of_an_earlier_turn() {
    for p in Provider::ALL {
        let mut obs = second_turn(p);
        let (a, b) = (id(&obs, 0), id(&obs, 1));
        let stale = obs.messages.earlier_tags[0].0.clone();
        let results = vec![result_for(&obs, 0), res(&b, &format!("12:00 [{stale}]"))];
        answer_with(&mut obs, results);
        assert_ne!(a, b);
        expect_one(
            &obs,
            RuleId::MismatchedResult,
            Level::Must,
            Some(&b),
            &format!("carries an output of turn 1 ({stale})"),
        );
        assert_eq!(obs.messages.turn, 2);
    }
}

#[test]
fn mismatched_result_is_off_when_outputs_are_not_tagged() {
    let mut obs = two_calls(Provider::Anthropic);
    let (a, b) = (id(&obs, 0), id(&obs, 1));
    let swapped = vec![
        res(&a, &output_text(&obs, 1)),
        res(&b, &output_text(&obs, 0)),
    ];
    answer_with(&mut obs, swapped);
    obs.messages.tags = Vec::new().into();
    expect_clean(&obs);
}

// ------------------------------------------------------------------------------------------
// split-results
// ------------------------------------------------------------------------------------------

#[test]
fn split_results_over_consecutive_anthropic_user_messages_is_should() {
    let p = Provider::Anthropic;
    let mut obs = two_calls(p);
    let tail = vec![
        results_message(p, vec![result_for(&obs, 0)]),
        results_message(p, vec![result_for(&obs, 1)]),
    ];
    answer(&mut obs, tail);
    let v = expect_one(
        &obs,
        RuleId::SplitResults,
        Level::Should,
        Some("toolu_01B"),
        "spread over 2 consecutive user messages",
    );
    assert!(v.message.contains("#2, #3"), "{v:?}");
    assert_eq!(rules_of(&obs), vec![RuleId::SplitResults]);
    assert!(!v.refused_by_api());
}

#[test]
fn split_results_with_another_anthropic_message_between_is_must() {
    let p = Provider::Anthropic;
    let mut obs = two_calls(p);
    let tail = vec![
        results_message(p, vec![result_for(&obs, 0)]),
        assistant(p, vec![text("One moment.")]),
        results_message(p, vec![result_for(&obs, 1)]),
    ];
    answer(&mut obs, tail);
    let v = expect_one(
        &obs,
        RuleId::SplitResults,
        Level::Must,
        Some("toolu_01B"),
        "with other messages between them",
    );
    assert!(v.message.contains("#2, #4"), "{v:?}");
    assert!(v.refused_by_api());
}

#[test]
fn split_results_interrupted_by_a_user_message_is_must_for_openai_chat() {
    let p = Provider::OpenAiChat;
    let mut obs = two_calls(p);
    let tail = vec![
        results_message(p, vec![result_for(&obs, 0)]),
        user("and also"),
        results_message(p, vec![result_for(&obs, 1)]),
    ];
    answer(&mut obs, tail);
    expect_one(
        &obs,
        RuleId::SplitResults,
        Level::Must,
        Some("call_B"),
        "spread over 2",
    );
}

#[test]
fn split_results_interrupted_by_a_user_message_is_must_for_openai_chat_on_the_wire() {
    let o = two_calls(Provider::OpenAiChat);
    let obs = chat_wire(json!([
        {"role": "tool", "tool_call_id": id(&o, 0), "content": output_text(&o, 0)},
        {"role": "user", "content": "and also"},
        {"role": "tool", "tool_call_id": id(&o, 1), "content": output_text(&o, 1)},
    ]));
    let v = expect_one(
        &obs,
        RuleId::SplitResults,
        Level::Must,
        Some("call_B"),
        "messages #2, #4",
    );
    assert!(v.refused_by_api());
}

#[test]
fn split_results_is_should_for_openai_responses() {
    let p = Provider::OpenAiResponses;
    let mut obs = two_calls(p);
    let tail = vec![
        results_message(p, vec![result_for(&obs, 0)]),
        user("and also"),
        results_message(p, vec![result_for(&obs, 1)]),
    ];
    answer(&mut obs, tail);
    let v = expect_one(
        &obs,
        RuleId::SplitResults,
        Level::Should,
        Some("call_B"),
        "input items with other items between them",
    );
    assert!(!v.refused_by_api());
}

#[test]
fn split_results_is_quiet_for_one_results_message() {
    for p in Provider::ALL {
        expect_quiet(&two_calls(p), RuleId::SplitResults);
    }
    // A run of Chat tool messages on the wire is one results message.
    let o = two_calls(Provider::OpenAiChat);
    let obs = chat_wire(json!([
        {"role": "tool", "tool_call_id": id(&o, 0), "content": output_text(&o, 0)},
        {"role": "tool", "tool_call_id": id(&o, 1), "content": output_text(&o, 1)},
    ]));
    expect_quiet(&obs, RuleId::SplitResults);
}

// ------------------------------------------------------------------------------------------
// missing-assistant-turn
// ------------------------------------------------------------------------------------------

#[test]
fn missing_assistant_turn_fires_when_the_turn_is_absent() {
    for p in Provider::ALL {
        let mut obs = two_calls(p);
        let mut messages = obs.messages.previous.messages.clone();
        messages.push(results_message(p, correct_results(&obs)));
        obs.messages.followup = Some(Arc::new(request(messages)));
        expect_one(
            &obs,
            RuleId::MissingAssistantTurn,
            Level::Must,
            None,
            "does not contain the assistant turn with the calls",
        );
        assert_eq!(rules_of(&obs), vec![RuleId::MissingAssistantTurn]);
    }
}

#[test]
fn missing_assistant_turn_fires_for_a_message_between_turn_and_results() {
    for p in Provider::ALL {
        let mut obs = two_calls(p);
        let tail = vec![
            user("Here you go:"),
            results_message(p, correct_results(&obs)),
        ];
        answer(&mut obs, tail);
        // Responses spreads the assistant turn over three output items.
        let (a, r) = if p == Provider::OpenAiResponses {
            (1, 5)
        } else {
            (1, 3)
        };
        expect_one(
            &obs,
            RuleId::MissingAssistantTurn,
            Level::Must,
            None,
            &format!("1 message(s) sit between the assistant turn (#{a}) and the results (#{r})"),
        );
    }
}

#[test]
fn missing_assistant_turn_fires_when_results_come_before_the_turn() {
    let p = Provider::Anthropic;
    let mut obs = two_calls(p);
    let mut messages = obs.messages.previous.messages.clone();
    messages.push(results_message(p, correct_results(&obs)));
    messages.push(obs.messages.served.message.clone());
    obs.messages.followup = Some(Arc::new(request(messages)));
    expect_one(
        &obs,
        RuleId::MissingAssistantTurn,
        Level::Must,
        None,
        "the results come before the assistant turn",
    );
}

#[test]
fn missing_assistant_turn_is_quiet_when_results_follow_the_turn() {
    for p in Provider::ALL {
        expect_quiet(&two_calls(p), RuleId::MissingAssistantTurn);
    }
}

#[test]
fn responses_previous_response_id_of_the_served_reply_stands_for_the_turn() {
    let mut obs = two_calls(Provider::OpenAiResponses);
    let mut f = request(vec![results_message(
        obs.messages.provider,
        correct_results(&obs),
    )]);
    f.previous_response_id = Some("resp_01S".into());
    obs.messages.followup = Some(Arc::new(f));
    expect_quiet(&obs, RuleId::MissingAssistantTurn);
    expect_clean(&obs);
}

#[test]
fn responses_previous_response_id_of_another_response_is_missing_assistant_turn() {
    let mut obs = two_calls(Provider::OpenAiResponses);
    let mut f = request(vec![results_message(
        obs.messages.provider,
        correct_results(&obs),
    )]);
    f.previous_response_id = Some("resp_other".into());
    obs.messages.followup = Some(Arc::new(f));
    expect_one(
        &obs,
        RuleId::MissingAssistantTurn,
        Level::Must,
        None,
        "previous_response_id is resp_other, not the reply served (resp_01S)",
    );
}

// ------------------------------------------------------------------------------------------
// results-not-first
// ------------------------------------------------------------------------------------------

#[test]
fn results_not_first_fires_for_anthropic_text_before_the_results() {
    let p = Provider::Anthropic;
    let mut obs = two_calls(p);
    let mut parts = vec![text("Here are the results")];
    parts.extend(correct_results(&obs));
    answer_with(&mut obs, parts);
    expect_one(
        &obs,
        RuleId::ResultsNotFirst,
        Level::Must,
        None,
        "message #2 has a text block (\"Here are the results\") before its tool_result blocks",
    );
    assert_eq!(rules_of(&obs), vec![RuleId::ResultsNotFirst]);
}

#[test]
fn results_not_first_fires_for_text_between_anthropic_results() {
    let p = Provider::Anthropic;
    let mut obs = two_calls(p);
    let parts = vec![result_for(&obs, 0), text("and"), result_for(&obs, 1)];
    answer_with(&mut obs, parts);
    expect_one(
        &obs,
        RuleId::ResultsNotFirst,
        Level::Must,
        None,
        "they must come first",
    );
}

#[test]
fn results_not_first_is_quiet_for_text_after_the_results() {
    let p = Provider::Anthropic;
    let mut obs = two_calls(p);
    let mut parts = correct_results(&obs);
    parts.push(text("Anything else?"));
    answer_with(&mut obs, parts);
    expect_clean(&obs);
}

#[test]
fn results_not_first_never_fires_for_openai_or_gemini() {
    for p in [
        Provider::OpenAiChat,
        Provider::OpenAiResponses,
        Provider::Gemini,
    ] {
        let mut obs = two_calls(p);
        let mut parts = vec![text("Here are the results")];
        parts.extend(correct_results(&obs));
        answer_with(&mut obs, parts);
        expect_quiet(&obs, RuleId::ResultsNotFirst);
    }
}

// ------------------------------------------------------------------------------------------
// history-changed
// ------------------------------------------------------------------------------------------

fn with_followup_messages(obs: &mut TurnObservation, edit: impl FnOnce(&mut Vec<Message>)) {
    let f = Arc::make_mut(obs.messages.followup.as_mut().expect("a follow-up"));
    edit(&mut f.messages);
    renumber(&mut f.messages);
}

#[test]
fn history_changed_fires_for_an_edited_earlier_message() {
    for p in Provider::ALL {
        let mut obs = two_calls(p);
        with_followup_messages(&mut obs, |m| m[0] = user("What is the weather in Paris?"));
        let v = expect_one(
            &obs,
            RuleId::HistoryChanged,
            Level::Must,
            None,
            "message #0 (user) differs from the handler's previous request",
        );
        let diff = v.diff.expect("a diff");
        assert!(diff.contains("Paris and Rome"), "{diff}");
        assert_eq!(rules_of(&obs), vec![RuleId::HistoryChanged]);
    }
}

#[test]
fn history_changed_fires_for_a_dropped_earlier_message() {
    for p in Provider::ALL {
        // Turn 2: the handler drops turn 1's results from its history.
        let mut obs = second_turn(p);
        with_followup_messages(&mut obs, |m| {
            m.remove(2);
        });
        let v = expect_one(
            &obs,
            RuleId::HistoryChanged,
            Level::Must,
            None,
            "of the previous request was dropped",
        );
        assert!(v.diff.is_some());
    }
}

#[test]
fn history_changed_fires_for_a_follow_up_shorter_than_the_history() {
    let p = Provider::Anthropic;
    let mut obs = second_turn(p);
    // The follow-up is the history with its last message cut off, and nothing more.
    obs.messages.followup = Some(Arc::new(request(
        obs.messages.previous.messages[..2].to_vec(),
    )));
    expect_one(
        &obs,
        RuleId::HistoryChanged,
        Level::Must,
        None,
        "the follow-up has 2 messages before the new ones; the previous request had 3",
    );
}

#[test]
fn history_changed_fires_for_an_altered_assistant_turn() {
    for p in Provider::ALL {
        let mut obs = two_calls(p);
        with_followup_messages(&mut obs, |m| {
            for part in &mut m[1].parts {
                if let Part::Call(c) = part
                    && c.input == json!({"city": "Rome"})
                {
                    c.input = json!({"city": "Milan"});
                }
            }
        });
        let v = expect_one(
            &obs,
            RuleId::HistoryChanged,
            Level::Must,
            None,
            "the assistant turn in the follow-up differs from the reply served",
        );
        let diff = v.diff.expect("a diff");
        assert!(diff.contains("Rome") && diff.contains("Milan"), "{diff}");
    }
}

#[test]
fn history_changed_fires_for_an_altered_thinking_block() {
    let p = Provider::Anthropic;
    let mut obs = two_calls(p);
    std::sync::Arc::make_mut(&mut obs.messages.served)
        .message
        .parts
        .insert(
            0,
            Part::Other(json!({"type": "thinking", "thinking": "hmm", "signature": "sig1"})),
        );
    let results = correct_results(&obs);
    answer_with(&mut obs, results);
    with_followup_messages(&mut obs, |m| {
        m[1].parts[0] =
            Part::Other(json!({"type": "thinking", "thinking": "hmm", "signature": "sig2"}));
    });
    expect_one(
        &obs,
        RuleId::HistoryChanged,
        Level::Must,
        None,
        "differs from the reply served",
    );
}

#[test]
fn history_changed_ignores_reserialisation_noise() {
    for p in Provider::ALL {
        let mut obs = two_calls(p);
        let image = json!({"type": "image", "source": {"type": "url", "url": "https://x/y.png"}});
        std::sync::Arc::make_mut(&mut obs.messages.previous).messages[0]
            .parts
            .push(Part::Other(image));
        std::sync::Arc::make_mut(&mut obs.messages.served)
            .message
            .parts
            .insert(
                0,
                Part::Other(json!({"type": "thinking", "thinking": "hmm", "signature": "sig"})),
            );
        let results = correct_results(&obs);
        answer_with(&mut obs, results);
        with_followup_messages(&mut obs, |m| {
            // An SDK writes explicit nulls, an empty text block and trailing whitespace.
            m[0].parts[1] = Part::Other(json!({
                "type": "image",
                "cache_control": null,
                "source": {"type": "url", "url": "https://x/y.png", "detail": null}
            }));
            m[0].parts.push(text(""));
            m[0].parts[0] = text("What is the weather in Paris and Rome?  ");
            m[1].parts[0] = Part::Other(json!({
                "signature": "sig", "thinking": "hmm", "type": "thinking", "cache_control": null
            }));
            m[1].parts.push(text("  "));
        });
        expect_clean(&obs);
    }
}

#[test]
fn history_changed_treats_is_error_false_as_absent() {
    let p = Provider::Anthropic;
    let mut obs = second_turn(p);
    with_followup_messages(&mut obs, |m| {
        if let Part::Result(r) = &mut m[2].parts[0] {
            r.is_error = Some(false);
        }
    });
    expect_clean(&obs);
}

/// Issue #10 item 6: the message names the change (where, before, after); a call's input
/// altered is must-level.
#[test]
fn history_changed_names_an_altered_input_with_its_path() {
    for p in Provider::ALL {
        let mut obs = two_calls(p);
        with_followup_messages(&mut obs, |m| {
            for part in &mut m[1].parts {
                if let Part::Call(c) = part
                    && c.input == json!({"city": "Rome"})
                {
                    c.input = json!({"city": "Milan"});
                }
            }
        });
        expect_one(
            &obs,
            RuleId::HistoryChanged,
            Level::Must,
            None,
            &format!(
                "call {} (get_weather): its input at `input.city`: \"Rome\" became \"Milan\"",
                cid(p, "B")
            ),
        );
    }
}

/// Issue #10 item 6: only the assistant's text differs (LiteLLM puts a placeholder where the
/// reply had empty text): the APIs accept it, so should-level, and the message says so.
#[test]
fn history_changed_is_should_level_for_assistant_text_only() {
    for p in Provider::ALL {
        let mut obs = two_calls(p);
        std::sync::Arc::make_mut(&mut obs.messages.served)
            .message
            .parts[0] = text("");
        let results = correct_results(&obs);
        answer_with(&mut obs, results);
        with_followup_messages(&mut obs, |m| m[1].parts[0] = text("(no content)"));
        expect_one(
            &obs,
            RuleId::HistoryChanged,
            Level::Should,
            None,
            "its text no text became \"(no content)\" (assistant text only",
        );
        assert_eq!(rules_of(&obs), vec![RuleId::HistoryChanged]);
        // The same edit in an earlier turn's assistant message of the history.
        let mut obs = second_turn(p);
        std::sync::Arc::make_mut(&mut obs.messages.previous).messages[1]
            .parts
            .insert(0, text("Checking."));
        let results = correct_results(&obs);
        answer_with(&mut obs, results);
        with_followup_messages(&mut obs, |m| m[1].parts[0] = text("Checking now."));
        expect_one(
            &obs,
            RuleId::HistoryChanged,
            Level::Should,
            None,
            "message #1 (assistant) differs from the handler's previous request: its text \"Checking.\" became \"Checking now.\"",
        );
    }
}

/// Issue #10 item 10: a client injects an assistant turn with a call the model never made
/// (a synthetic call to load deferred tools) and answers it. The API accepts it: its result
/// answers the call right before it, so it is no unknown-result; the injected turn is a
/// should-level history-changed.
#[test]
fn an_injected_answered_turn_is_history_changed_at_should_level_not_unknown_result() {
    for p in Provider::ALL {
        let mut obs = two_calls(p);
        let results = correct_results(&obs);
        let x = call(&cid(p, "X"), "load_tools", json!({"names": ["search"]}));
        let injected = vec![
            results_message(p, results),
            assistant(p, vec![Part::Call(x.clone())]),
            results_message(p, vec![res(&x.id, "loaded")]),
        ];
        answer(&mut obs, injected);
        expect_one(
            &obs,
            RuleId::HistoryChanged,
            Level::Should,
            None,
            &format!(
                "message #{} is an assistant turn the model never sent, with call(s) {} (load_tools)",
                obs.messages.followup.as_deref().unwrap().messages[3].wire_index,
                x.id
            ),
        );
        assert_eq!(rules_of(&obs), vec![RuleId::HistoryChanged], "{p}");

        // Injected into the earlier history (before turn 1's messages) of a second turn.
        let mut obs = second_turn(p);
        with_followup_messages(&mut obs, |m| {
            m.insert(1, assistant(p, vec![Part::Call(x.clone())]));
            m.insert(2, results_message(p, vec![res(&x.id, "loaded")]));
        });
        expect_one(
            &obs,
            RuleId::HistoryChanged,
            Level::Should,
            None,
            &format!(
                "2 message(s) inserted at #1: an assistant turn the model never sent, with call(s) {} (load_tools)",
                x.id
            ),
        );
        assert_eq!(rules_of(&obs), vec![RuleId::HistoryChanged], "{p}");
    }
}

/// Issue #10 item 9: the client resends the calls under ids of its own (a Responses
/// function_call's `fc_…` item id as its `call_id`) and keys the results the same way. One
/// cause, one violation that names it: not missing-result, unknown-result and
/// missing-assistant-turn besides.
#[test]
fn a_rewritten_call_id_is_one_history_changed_not_three_results_violations() {
    for p in Provider::ALL {
        let mut obs = two_calls(p);
        let outputs: Vec<String> = (0..2).map(|i| output_text(&obs, i)).collect();
        let served = obs.messages.served.message.clone();
        let mut copy = served.clone();
        for part in &mut copy.parts {
            if let Part::Call(c) = part {
                c.id = format!("fc_{}", c.id);
            }
        }
        let a = format!("fc_{}", cid(p, "A"));
        let b = format!("fc_{}", cid(p, "B"));
        let results = results_message(p, vec![res(&a, &outputs[0]), res(&b, &outputs[1])]);
        answer(&mut obs, vec![results]);
        with_followup_messages(&mut obs, |m| m[1] = copy.clone());
        expect_one(
            &obs,
            RuleId::HistoryChanged,
            Level::Must,
            None,
            &format!("call #1 (get_weather): its id {} became {a}", cid(p, "A")),
        );
        assert_eq!(rules_of(&obs), vec![RuleId::HistoryChanged], "{p}");

        // The same rewrite with the results swapped is still caught as mismatched.
        let results = results_message(p, vec![res(&a, &outputs[1]), res(&b, &outputs[0])]);
        answer(&mut obs, vec![results]);
        with_followup_messages(&mut obs, |m| m[1] = copy.clone());
        assert!(rules_of(&obs).contains(&RuleId::MismatchedResult), "{p}");
    }
}

#[test]
fn history_changed_is_quiet_for_an_unchanged_history() {
    for p in Provider::ALL {
        expect_quiet(&two_calls(p), RuleId::HistoryChanged);
        expect_quiet(&second_turn(p), RuleId::HistoryChanged);
    }
}

// ------------------------------------------------------------------------------------------
// error-not-flagged
// ------------------------------------------------------------------------------------------

fn one_failure(p: Provider) -> TurnObservation {
    observe(
        p,
        vec![
            ok(&cid(p, "A"), "get_weather", json!({"city": "Paris"})),
            failing(&cid(p, "B"), "get_weather", json!({"city": "Rome"})),
        ],
    )
}

#[test]
fn error_not_flagged_fires_for_an_anthropic_failure_without_is_error() {
    let p = Provider::Anthropic;
    let mut obs = one_failure(p);
    let b = id(&obs, 1);
    let results = vec![result_for(&obs, 0), res(&b, &output_text(&obs, 1))];
    answer_with(&mut obs, results);
    expect_one(
        &obs,
        RuleId::ErrorNotFlagged,
        Level::Must,
        Some(&b),
        "failed, but its tool_result lacks \"is_error\": true",
    );
    assert_eq!(rules_of(&obs), vec![RuleId::ErrorNotFlagged]);
}

#[test]
fn error_not_flagged_fires_for_is_error_false() {
    let p = Provider::Anthropic;
    let mut obs = one_failure(p);
    let b = id(&obs, 1);
    let flagged_false = Part::Result(ToolResult {
        call_id: b.clone(),
        content: output_text(&obs, 1),
        is_error: Some(false),
    });
    let results = vec![result_for(&obs, 0), flagged_false];
    answer_with(&mut obs, results);
    expect_one(
        &obs,
        RuleId::ErrorNotFlagged,
        Level::Must,
        Some(&b),
        "failed",
    );
}

#[test]
fn error_not_flagged_fires_for_an_abandoned_hung_call() {
    let p = Provider::Anthropic;
    let mut obs = observe(
        p,
        vec![
            ok(&cid(p, "A"), "get_weather", json!({"city": "Paris"})),
            hanging(&cid(p, "B"), "get_weather", json!({"city": "Rome"})),
        ],
    );
    let b = id(&obs, 1);
    let results = vec![result_for(&obs, 0), res(&b, "gave up")];
    answer_with(&mut obs, results);
    expect_one(
        &obs,
        RuleId::ErrorNotFlagged,
        Level::Must,
        Some(&b),
        "hung and was given up",
    );
}

#[test]
fn error_not_flagged_is_quiet_with_is_error_true() {
    let obs = one_failure(Provider::Anthropic);
    expect_quiet(&obs, RuleId::ErrorNotFlagged);
    expect_clean(&obs);
}

#[test]
fn error_not_flagged_never_fires_for_openai() {
    for p in [Provider::OpenAiChat, Provider::OpenAiResponses] {
        let obs = one_failure(p);
        // The error text is the result, unflagged: there is no flag to set.
        assert!(matches!(
            &obs.messages.followup.as_deref().unwrap().messages[2].parts[1],
            Part::Result(ToolResult { is_error: None, .. })
        ));
        expect_clean(&obs);
    }
}

#[test]
fn error_not_flagged_never_fires_for_a_call_that_was_not_run() {
    let p = Provider::Anthropic;
    let mut obs = one_failure(p);
    let b = id(&obs, 1);
    set_runs(&mut obs, &[(0, 1, 2)]);
    let results = vec![result_for(&obs, 0), res(&b, "not run")];
    answer_with(&mut obs, results);
    expect_quiet(&obs, RuleId::ErrorNotFlagged);
    expect_one(
        &obs,
        RuleId::CallNotRun,
        Level::Must,
        Some(&b),
        "answered without running its tool",
    );
}

// ------------------------------------------------------------------------------------------
// sequential-execution
// ------------------------------------------------------------------------------------------

#[test]
fn sequential_execution_fires_for_independent_calls_one_after_another() {
    for p in Provider::ALL {
        let mut obs = two_calls(p);
        set_runs(&mut obs, &[(0, 1, 2), (1, 3, 4)]);
        expect_one(
            &obs,
            RuleId::SequentialExecution,
            Level::Should,
            None,
            "2 independent calls ran one after another (never more than 1 in flight)",
        );
        assert_eq!(rules_of(&obs), vec![RuleId::SequentialExecution]);
    }
}

#[test]
fn sequential_execution_is_quiet_for_overlapping_calls() {
    let mut obs = two_calls(Provider::Anthropic);
    set_runs(&mut obs, &[(0, 1, 3), (1, 2, 4)]);
    expect_clean(&obs);
}

#[test]
fn sequential_execution_treats_touching_intervals_as_sequential() {
    // The second call starts at the very event the first one ends: no overlap.
    let mut obs = two_calls(Provider::Anthropic);
    set_runs(&mut obs, &[(0, 1, 2), (1, 2, 3)]);
    expect_one(
        &obs,
        RuleId::SequentialExecution,
        Level::Should,
        None,
        "ran one after another",
    );
}

#[test]
fn sequential_execution_does_not_count_side_effecting_calls() {
    let p = Provider::Anthropic;
    let mut obs = observe(
        p,
        vec![
            write(&cid(p, "A"), "send_email", json!({"to": "a"}), false),
            write(&cid(p, "B"), "send_email", json!({"to": "b"}), false),
        ],
    );
    set_runs(&mut obs, &[(0, 1, 2), (1, 3, 4)]);
    expect_clean(&obs);

    // One read and one write, run one after another: only one independent call.
    let mut obs = observe(
        p,
        vec![
            ok(&cid(p, "A"), "get_weather", json!({"city": "Paris"})),
            write(&cid(p, "B"), "send_email", json!({"to": "b"}), false),
        ],
    );
    set_runs(&mut obs, &[(0, 1, 2), (1, 3, 4)]);
    expect_clean(&obs);
}

#[test]
fn sequential_execution_is_silenced_by_the_policy() {
    let mut obs = two_calls(Provider::Anthropic);
    set_runs(&mut obs, &[(0, 1, 2), (1, 3, 4)]);
    obs.execution.require_concurrency = false;
    expect_clean(&obs);
}

#[test]
fn sequential_execution_never_fires_for_a_single_call() {
    let p = Provider::Anthropic;
    let obs = observe(
        p,
        vec![ok(&cid(p, "A"), "get_weather", json!({"city": "Paris"}))],
    );
    expect_clean(&obs);
}

// ------------------------------------------------------------------------------------------
// unsafe-parallel-writes
// ------------------------------------------------------------------------------------------

fn two_writes(order_dependent: bool) -> TurnObservation {
    let p = Provider::Anthropic;
    observe(
        p,
        vec![
            write(
                &cid(p, "A"),
                "append_line",
                json!({"line": "first"}),
                order_dependent,
            ),
            write(
                &cid(p, "B"),
                "append_line",
                json!({"line": "second"}),
                order_dependent,
            ),
        ],
    )
}

#[test]
fn unsafe_parallel_writes_fires_for_overlapping_side_effecting_calls() {
    let mut obs = two_writes(false);
    set_runs(&mut obs, &[(0, 1, 3), (1, 2, 4)]);
    let (a, b) = (id(&obs, 0), id(&obs, 1));
    expect_one(
        &obs,
        RuleId::UnsafeParallelWrites,
        Level::Must,
        Some(&b),
        &format!("side-effecting call {b} (append_line) ran at the same time as {a} (append_line)"),
    );
    assert_eq!(rules_of(&obs), vec![RuleId::UnsafeParallelWrites]);
}

#[test]
fn unsafe_parallel_writes_is_quiet_for_writes_one_at_a_time() {
    let mut obs = two_writes(true);
    set_runs(&mut obs, &[(0, 1, 2), (1, 3, 4)]);
    expect_clean(&obs);
}

#[test]
fn unsafe_parallel_writes_is_quiet_for_a_read_overlapping_a_write() {
    let p = Provider::Anthropic;
    let obs = observe(
        p,
        vec![
            ok(&cid(p, "A"), "get_weather", json!({"city": "Paris"})),
            write(&cid(p, "B"), "send_email", json!({"to": "b"}), false),
        ],
    );
    // `observe` runs them at once.
    expect_clean(&obs);
}

#[test]
fn unsafe_parallel_writes_fires_for_order_dependent_calls_out_of_order() {
    let mut obs = two_writes(true);
    // One at a time, but the model's second call first.
    set_runs(&mut obs, &[(1, 1, 2), (0, 3, 4)]);
    let (a, b) = (id(&obs, 0), id(&obs, 1));
    expect_one(
        &obs,
        RuleId::UnsafeParallelWrites,
        Level::Must,
        Some(&b),
        &format!(
            "order-dependent call {b} (append_line) ran before {a} (append_line), which the model gave first"
        ),
    );
}

#[test]
fn unsafe_parallel_writes_lets_unordered_writes_run_in_any_order() {
    let mut obs = two_writes(false);
    set_runs(&mut obs, &[(1, 1, 2), (0, 3, 4)]);
    expect_clean(&obs);
}

// ------------------------------------------------------------------------------------------
// parallel-writes-enabled (check_request)
// ------------------------------------------------------------------------------------------

fn offering(tools: &[&str], parallel_disabled: bool) -> Request {
    Request {
        tools: tools.iter().map(|&t| t.into()).collect(),
        parallel_disabled,
        ..request(vec![user("hello")])
    }
}

#[test]
fn parallel_writes_enabled_fires_when_a_side_effecting_tool_is_offered() {
    let r = offering(&["get_weather", "send_email"], false);
    let v = check_request(&r, &["send_email", "delete_file"], 3).expect("a violation");
    assert_eq!(v.rule, RuleId::ParallelWritesEnabled);
    assert_eq!(v.level, Level::Should);
    assert_eq!(v.turn, 3);
    assert_eq!(v.call_id, None);
    assert!(
        v.message.contains(
            "offers side-effecting tool send_email but does not disable parallel tool calls"
        ),
        "{}",
        v.message
    );

    let r = offering(&["send_email", "delete_file"], false);
    let v = check_request(&r, &["send_email", "delete_file"], 1).expect("a violation");
    assert!(
        v.message.contains("tools send_email, delete_file"),
        "{}",
        v.message
    );
}

#[test]
fn parallel_writes_enabled_is_quiet_when_parallel_calls_are_disabled() {
    let r = offering(&["get_weather", "send_email"], true);
    assert_eq!(check_request(&r, &["send_email"], 1), None);
}

#[test]
fn parallel_writes_enabled_is_quiet_without_side_effecting_tools() {
    let r = offering(&["get_weather"], false);
    assert_eq!(check_request(&r, &["send_email"], 1), None);
    assert_eq!(check_request(&r, &[], 1), None);
}

#[test]
fn parallel_writes_enabled_reads_the_wire_switches() {
    let tools_a = json!([{"name": "send_email", "input_schema": {"type": "object"}}]);
    let messages = json!([{"role": "user", "content": "hi"}]);
    let on = parse_request(
        Provider::Anthropic,
        json!({"model": "m", "max_tokens": 1, "tools": tools_a, "messages": messages}),
    );
    assert!(check_request(&on, &["send_email"], 1).is_some());
    let off = parse_request(
        Provider::Anthropic,
        json!({
            "model": "m", "max_tokens": 1, "tools": tools_a, "messages": messages,
            "tool_choice": {"type": "auto", "disable_parallel_tool_use": true}
        }),
    );
    assert_eq!(check_request(&off, &["send_email"], 1), None);

    let tools_o =
        json!([{"type": "function", "function": {"name": "send_email", "parameters": {}}}]);
    let on = parse_request(
        Provider::OpenAiChat,
        json!({"model": "m", "tools": tools_o, "messages": messages}),
    );
    assert!(check_request(&on, &["send_email"], 1).is_some());
    let off = parse_request(
        Provider::OpenAiChat,
        json!({"model": "m", "tools": tools_o, "messages": messages, "parallel_tool_calls": false}),
    );
    assert_eq!(check_request(&off, &["send_email"], 1), None);
}

// ------------------------------------------------------------------------------------------
// timeout-not-enforced
// ------------------------------------------------------------------------------------------

/// One hung call, started at 100 ms, with a 1000 ms deadline; the handler gives up on it at
/// `abandoned_ms` and the follow-up arrives at `followup_ms`.
fn hung(abandoned_ms: Option<u64>, followup_ms: u64) -> TurnObservation {
    let p = Provider::Anthropic;
    let mut obs = observe(
        p,
        vec![hanging(&cid(p, "H"), "slow_lookup", json!({"q": "x"}))],
    );
    obs.execution.tool_deadline = ms(1_000);
    let inv = &mut obs.execution.invocations[0];
    inv.start = ms(100);
    inv.end = abandoned_ms.map(ms);
    inv.ended = if abandoned_ms.is_some() {
        End::Abandoned
    } else {
        End::Open
    };
    inv.start_seq = 1;
    inv.end_seq = abandoned_ms.map(|_| 2);
    obs.execution.judged_at = ms(followup_ms);
    obs.execution.judged_seq = 3;
    obs
}

#[test]
fn timeout_not_enforced_fires_for_a_follow_up_past_the_deadline() {
    let obs = hung(Some(1_250), 1_300);
    let h = id(&obs, 0);
    expect_one(
        &obs,
        RuleId::TimeoutNotEnforced,
        Level::Must,
        Some(&h),
        "hung and was given up 1150 ms after it started, past the 1000 ms deadline",
    );
    assert_eq!(rules_of(&obs), vec![RuleId::TimeoutNotEnforced]);
}

#[test]
fn timeout_not_enforced_is_quiet_for_a_follow_up_before_the_deadline() {
    let obs = hung(Some(1_000), 1_050);
    expect_clean(&obs);
    // Exactly at the deadline is in time.
    let obs = hung(Some(1_100), 1_100);
    expect_clean(&obs);
}

#[test]
fn timeout_not_enforced_fires_when_the_engine_stopped_a_run_still_waiting() {
    let mut obs = hung(None, 1_100);
    no_followup(&mut obs);
    obs.execution.deadline_expired = true;
    let h = id(&obs, 0);
    expect_one(
        &obs,
        RuleId::TimeoutNotEnforced,
        Level::Must,
        Some(&h),
        "hung and the handler was still waiting 1000 ms later; the run was stopped",
    );
    // The engine stopped it: that is not the handler stopping early.
    assert_eq!(rules_of(&obs), vec![RuleId::TimeoutNotEnforced]);
}

#[test]
fn timeout_not_enforced_is_quiet_without_follow_up_before_the_deadline_expires() {
    let mut obs = hung(None, 500);
    no_followup(&mut obs);
    expect_clean(&obs);
}

#[test]
fn timeout_not_enforced_is_quiet_when_the_hung_call_was_given_up_in_time() {
    // Deadline 1000 ms. The hung read starts at 0 and is abandoned at 1000 ms, exactly on time;
    // two 800 ms writes run one after another (as they must), so the follow-up comes at
    // 1600 ms. The hung tool did not hold the turn past its deadline (Policy::tool_deadline_ms:
    // "a hung call must be given up within this many milliseconds of its start").
    let p = Provider::Anthropic;
    let mut obs = observe(
        p,
        vec![
            hanging(&cid(p, "H"), "slow_lookup", json!({"q": "x"})),
            write(&cid(p, "A"), "append_line", json!({"line": "first"}), true),
            write(&cid(p, "B"), "append_line", json!({"line": "second"}), true),
        ],
    );
    obs.execution.tool_deadline = ms(1_000);
    set_runs(&mut obs, &[(0, 1, 5), (1, 2, 3), (2, 4, 6)]);
    let times = [(0, 1_000), (0, 800), (800, 1_600)];
    for (inv, (s, e)) in obs.execution.invocations.iter_mut().zip(times) {
        inv.start = ms(s);
        inv.end = Some(ms(e));
    }
    obs.execution.judged_at = ms(1_600);
    expect_clean(&obs);
}

// ------------------------------------------------------------------------------------------
// wrong-arguments, call-not-run, call-run-twice
// ------------------------------------------------------------------------------------------

#[test]
fn wrong_arguments_fires_for_other_input_with_a_diff() {
    for p in Provider::ALL {
        let mut obs = two_calls(p);
        let inv = &mut obs.execution.invocations[1];
        inv.input = json!({"city": "Roma"}).into();
        inv.matched = Match::WrongArguments;
        let b = id(&obs, 1);
        let v = expect_one(
            &obs,
            RuleId::WrongArguments,
            Level::Must,
            Some(&b),
            &format!(
                "get_weather ran with input {{\"city\":\"Roma\"}} but call {b} asked for {{\"city\":\"Rome\"}}"
            ),
        );
        let diff = v.diff.expect("a diff");
        assert!(
            diff.contains("-  \"city\": \"Rome\"") && diff.contains("+  \"city\": \"Roma\""),
            "{diff}"
        );
        assert_eq!(rules_of(&obs), vec![RuleId::WrongArguments]);
    }
}

#[test]
fn wrong_arguments_fires_for_a_tool_no_call_asks_for() {
    let mut obs = two_calls(Provider::Anthropic);
    obs.execution.invocations.push(Invocation {
        call: None,
        tool: "delete_everything".into(),
        input: json!({"sure": true}).into(),
        via: "in-process",
        matched: Match::UnknownTool,
        start: ms(10),
        end: Some(ms(20)),
        ended: End::Failed,
        start_seq: 1,
        end_seq: Some(2),
        held: Duration::ZERO,
    });
    let v = expect_one(
        &obs,
        RuleId::WrongArguments,
        Level::Must,
        None,
        "ran tool delete_everything with {\"sure\":true}, but no call of this turn asks for that tool",
    );
    assert_eq!(v.diff, None);
}

#[test]
fn wrong_arguments_is_quiet_for_exact_input() {
    for p in Provider::ALL {
        expect_quiet(&two_calls(p), RuleId::WrongArguments);
    }
}

#[test]
fn call_not_run_fires_for_a_call_answered_without_running_its_tool() {
    for p in Provider::ALL {
        let mut obs = two_calls(p);
        set_runs(&mut obs, &[(0, 1, 2)]);
        let b = id(&obs, 1);
        expect_one(
            &obs,
            RuleId::CallNotRun,
            Level::Must,
            Some(&b),
            &format!("call {b} (get_weather) was answered without running its tool"),
        );
        assert_eq!(rules_of(&obs), vec![RuleId::CallNotRun]);
    }
}

#[test]
fn call_not_run_needs_a_follow_up() {
    let mut obs = two_calls(Provider::Anthropic);
    set_runs(&mut obs, &[(0, 1, 2)]);
    no_followup(&mut obs);
    expect_clean(&obs);
}

#[test]
fn call_not_run_and_call_run_twice_are_quiet_for_one_run_each() {
    for p in Provider::ALL {
        let obs = two_calls(p);
        expect_quiet(&obs, RuleId::CallNotRun);
        expect_quiet(&obs, RuleId::CallRunTwice);
    }
}

#[test]
fn call_run_twice_fires_for_a_repeated_run() {
    for p in Provider::ALL {
        let mut obs = two_calls(p);
        set_runs(&mut obs, &[(0, 1, 3), (1, 2, 4), (0, 5, 6)]);
        assert_eq!(obs.execution.invocations[2].matched, Match::Repeat);
        let a = id(&obs, 0);
        expect_one(
            &obs,
            RuleId::CallRunTwice,
            Level::Must,
            Some(&a),
            &format!("call {a} (get_weather) ran 2 times"),
        );
        assert_eq!(rules_of(&obs), vec![RuleId::CallRunTwice]);
    }
}

// ------------------------------------------------------------------------------------------
// stopped-early
// ------------------------------------------------------------------------------------------

#[test]
fn stopped_early_fires_when_the_handler_ends_without_a_follow_up() {
    for p in Provider::ALL {
        let mut obs = two_calls(p);
        no_followup(&mut obs);
        obs.execution.handler_ended = true;
        expect_one(
            &obs,
            RuleId::StoppedEarly,
            Level::Must,
            None,
            "the handler stopped without answering the 2 call(s) of turn 1",
        );
        assert_eq!(rules_of(&obs), vec![RuleId::StoppedEarly]);
    }
}

#[test]
fn stopped_early_is_quiet_with_a_follow_up() {
    let mut obs = two_calls(Provider::Anthropic);
    obs.execution.handler_ended = true;
    expect_clean(&obs);
}

#[test]
fn stopped_early_is_quiet_while_the_handler_still_runs() {
    let mut obs = two_calls(Provider::Anthropic);
    no_followup(&mut obs);
    expect_clean(&obs);
}

#[test]
fn stopped_early_is_quiet_when_the_engine_stopped_the_run() {
    let mut obs = two_calls(Provider::Anthropic);
    no_followup(&mut obs);
    obs.execution.handler_ended = true;
    obs.execution.deadline_expired = true;
    expect_quiet(&obs, RuleId::StoppedEarly);
}

#[test]
fn stopped_early_is_quiet_after_a_reply_without_calls() {
    let p = Provider::Anthropic;
    let mut obs = observe(p, Vec::new());
    std::sync::Arc::make_mut(&mut obs.messages.served).stop = StopReason::EndTurn;
    no_followup(&mut obs);
    obs.execution.handler_ended = true;
    expect_clean(&obs);
}

// ------------------------------------------------------------------------------------------
// rejection_message
// ------------------------------------------------------------------------------------------

/// The index of the follow-up's last wire message.
fn last_wire(obs: &TurnObservation) -> usize {
    let f = obs.messages.followup.as_deref().unwrap();
    let last = f.messages.last().unwrap();
    last.wire_index + last.wire_len - 1
}

#[test]
fn rejection_of_missing_results_is_the_anthropic_error() {
    let p = Provider::Anthropic;
    let mut obs = two_calls(p);
    answer(&mut obs, vec![user("go on")]);
    let v = check_turn(&obs);
    assert_eq!(
        v.iter().filter(|v| v.rule == RuleId::MissingResult).count(),
        2,
        "{v:#?}"
    );
    assert_eq!(
        rejection_message(p, &v, last_wire(&obs), obs.messages.followup.as_deref()).as_deref(),
        Some(
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01A, toolu_01B. Each `tool_use` block must have a corresponding `tool_result` block in the next message."
        )
    );
}

#[test]
fn rejection_of_a_missing_result_is_the_openai_chat_error() {
    let p = Provider::OpenAiChat;
    let mut obs = two_calls(p);
    let results = vec![result_for(&obs, 0)];
    answer_with(&mut obs, results);
    let v = check_turn(&obs);
    assert_eq!(
        rejection_message(p, &v, last_wire(&obs), obs.messages.followup.as_deref()).as_deref(),
        Some(
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: call_B"
        )
    );
}

#[test]
fn rejection_of_a_missing_result_is_the_openai_responses_error() {
    let p = Provider::OpenAiResponses;
    let mut obs = two_calls(p);
    let results = vec![result_for(&obs, 1)];
    answer_with(&mut obs, results);
    let v = check_turn(&obs);
    assert_eq!(
        rejection_message(p, &v, last_wire(&obs), obs.messages.followup.as_deref()).as_deref(),
        Some("No tool output found for function call call_A.")
    );
}

#[test]
fn rejection_of_other_must_violations_names_the_call() {
    // Unknown result.
    let p = Provider::OpenAiChat;
    let mut obs = two_calls(p);
    let mut results = correct_results(&obs);
    results.push(res("call_X", "made up"));
    answer_with(&mut obs, results);
    assert_eq!(
        rejection_message(
            p,
            &check_turn(&obs),
            last_wire(&obs),
            obs.messages.followup.as_deref()
        )
        .as_deref(),
        Some(
            "Invalid parameter: 'tool_call_id' of 'call_X' not found in 'tool_calls' of previous message."
        )
    );
    // Duplicate result.
    let p = Provider::Anthropic;
    let mut obs = two_calls(p);
    let mut results = correct_results(&obs);
    results.push(result_for(&obs, 1));
    answer_with(&mut obs, results);
    assert_eq!(
        rejection_message(
            p,
            &check_turn(&obs),
            last_wire(&obs),
            obs.messages.followup.as_deref()
        )
        .as_deref(),
        Some(
            "messages.2.content.0: each tool_use must have a single result. Found multiple `tool_result` blocks with id: toolu_01B"
        )
    );
}

#[test]
fn rejection_is_none_for_should_level_splits_and_clean_turns() {
    for p in [Provider::Anthropic, Provider::OpenAiResponses] {
        let mut obs = two_calls(p);
        let tail = vec![
            results_message(p, vec![result_for(&obs, 0)]),
            results_message(p, vec![result_for(&obs, 1)]),
        ];
        answer(&mut obs, tail);
        let v = check_turn(&obs);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(
            (v[0].rule, v[0].level),
            (RuleId::SplitResults, Level::Should)
        );
        assert_eq!(
            rejection_message(p, &v, last_wire(&obs), obs.messages.followup.as_deref()),
            None
        );
    }
    for p in Provider::ALL {
        let obs = two_calls(p);
        assert_eq!(
            rejection_message(
                p,
                &check_turn(&obs),
                last_wire(&obs),
                obs.messages.followup.as_deref()
            ),
            None
        );
    }
}

#[test]
fn rejection_is_none_for_violations_the_api_cannot_see() {
    // Mismatched results and sequential execution: the real API accepts the follow-up.
    let p = Provider::Anthropic;
    let mut obs = two_calls(p);
    let (a, b) = (id(&obs, 0), id(&obs, 1));
    let results = vec![
        res(&a, &output_text(&obs, 1)),
        res(&b, &output_text(&obs, 0)),
    ];
    answer_with(&mut obs, results);
    set_runs(&mut obs, &[(0, 1, 2), (1, 3, 4)]);
    let v = check_turn(&obs);
    assert!(!v.is_empty());
    assert_eq!(
        rejection_message(p, &v, last_wire(&obs), obs.messages.followup.as_deref()),
        None
    );
}

#[test]
fn rejection_of_a_must_level_anthropic_split_is_the_missing_results_error() {
    let p = Provider::Anthropic;
    let mut obs = two_calls(p);
    let tail = vec![
        results_message(p, vec![result_for(&obs, 0)]),
        assistant(p, vec![text("One moment.")]),
        results_message(p, vec![result_for(&obs, 1)]),
    ];
    answer(&mut obs, tail);
    let msg = rejection_message(
        p,
        &check_turn(&obs),
        last_wire(&obs),
        obs.messages.followup.as_deref(),
    )
    .expect("rejected");
    assert!(
        msg.contains("`tool_use` ids were found without `tool_result` blocks immediately after"),
        "{msg}"
    );
}

#[test]
fn rejection_of_an_openai_chat_split_names_the_calls_cut_off() {
    let p = Provider::OpenAiChat;
    let mut obs = two_calls(p);
    let tail = vec![
        results_message(p, vec![result_for(&obs, 0)]),
        user("and also"),
        results_message(p, vec![result_for(&obs, 1)]),
    ];
    answer(&mut obs, tail);
    let msg = rejection_message(
        p,
        &check_turn(&obs),
        last_wire(&obs),
        obs.messages.followup.as_deref(),
    )
    .expect("rejected");
    // The real API lists the calls whose tool messages do not follow the assistant turn.
    assert!(
        msg.ends_with("did not have response messages: call_B"),
        "{msg}"
    );
}

// ------------------------------------------------------------------------------------------
// Gemini on the wire: calls with ids (Gemini 3) and without (2.x, paired by name and position)
// ------------------------------------------------------------------------------------------

/// Turn 1 of two get_weather calls and one get_time call, parsed from Gemini JSON: with ids
/// or without. `tail` follows the model content in the follow-up. The observation's calls and
/// tags are the parsed ones, so the tags follow the ids the parser gives.
fn gemini_wire(with_ids: bool, tail: impl FnOnce(&[Value]) -> Vec<Value>) -> TurnObservation {
    let p = Provider::Gemini;
    let specs = [
        ("get_weather", json!({"city": "Paris"})),
        ("get_weather", json!({"city": "Rome"})),
        ("get_time", json!({"tz": "UTC"})),
    ];
    let parts: Vec<Value> = specs
        .iter()
        .enumerate()
        .map(|(i, (name, args))| {
            let mut fc = json!({"name": name, "args": args});
            if with_ids {
                fc["id"] = json!(format!("call_{i}"));
            }
            let mut part = json!({"functionCall": fc});
            if i == 0 {
                part["thoughtSignature"] = json!("CiQBsig");
            }
            part
        })
        .collect();
    let model = json!({"role": "model", "parts": parts});
    let first =
        json!({"role": "user", "parts": [{"text": "Weather in Paris and Rome, and the time?"}]});
    let tools = json!([{"functionDeclarations": [{"name": "get_weather"}, {"name": "get_time"}]}]);
    let served = parse_reply(
        p,
        json!({"candidates": [{"content": model, "finishReason": "STOP"}], "responseId": "r1"}),
    );
    let calls: Vec<CallFacts> = served
        .calls()
        .into_iter()
        .map(|c| ok(&c.id, &c.name, c.input.clone()))
        .collect();
    let mut obs = observe(p, calls);
    obs.messages.served = served.into();
    obs.messages.previous = parse_request(p, json!({"contents": [first], "tools": tools})).into();
    // The wire result of call `i`: its name, its id when it had one, its tagged output.
    let results: Vec<Value> = (0..3)
        .map(|i| {
            let mut fr = json!({"name": specs[i].0, "response": {"output": output_text(&obs, i)}});
            if with_ids {
                fr["id"] = json!(format!("call_{i}"));
            }
            json!({"functionResponse": fr})
        })
        .collect();
    let mut contents = vec![first, model];
    contents.extend(tail(&results));
    obs.messages.followup = Some(Arc::new(parse_request(
        p,
        json!({"contents": contents, "tools": tools}),
    )));
    obs
}

fn gemini_results(parts: Vec<Value>) -> Vec<Value> {
    vec![json!({"role": "user", "parts": parts})]
}

fn gemini_rejection(obs: &TurnObservation) -> Option<String> {
    rejection_message(
        Provider::Gemini,
        &check_turn(obs),
        last_wire(obs),
        obs.messages.followup.as_deref(),
    )
}

const GEMINI_COUNT: &str = "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.";

#[test]
fn gemini_wire_follow_ups_are_clean_with_and_without_ids() {
    // With ids, in any order.
    let obs = gemini_wire(true, |r| {
        gemini_results(vec![r[2].clone(), r[1].clone(), r[0].clone()])
    });
    expect_clean(&obs);
    // Without ids, in call order; a call of another name may move (the name tells them apart).
    let obs = gemini_wire(false, |r| gemini_results(r.to_vec()));
    assert!(id(&obs, 1).starts_with("get_weather#1@"), "{}", id(&obs, 1));
    expect_clean(&obs);
    let obs = gemini_wire(false, |r| {
        gemini_results(vec![r[2].clone(), r[0].clone(), r[1].clone()])
    });
    expect_clean(&obs);
}

#[test]
fn gemini_without_ids_swapped_same_name_outputs_are_mismatched() {
    // Results sent in completion order (Rome first) with no ids: by position, Rome's answer is
    // Paris's. With ids the same order is fine (above).
    let obs = gemini_wire(false, |r| {
        gemini_results(vec![r[1].clone(), r[0].clone(), r[2].clone()])
    });
    let all = check_turn(&obs);
    assert_eq!(
        rules_of(&obs),
        vec![RuleId::MismatchedResult, RuleId::MismatchedResult]
    );
    let (a, b) = (id(&obs, 0), id(&obs, 1));
    assert!(
        all[0].message.contains(&format!(
            "the result for {a} (get_weather) carries the output of {b}"
        )),
        "{all:#?}"
    );
    assert_eq!(gemini_rejection(&obs), None, "the API cannot see it");
}

#[test]
fn gemini_missing_extra_and_split_results_are_the_count_400() {
    // A dropped result.
    let obs = gemini_wire(false, |r| gemini_results(r[..2].to_vec()));
    expect_one(
        &obs,
        RuleId::MissingResult,
        Level::Must,
        Some(&id(&obs, 2)),
        "has no result",
    );
    assert_eq!(gemini_rejection(&obs).as_deref(), Some(GEMINI_COUNT));
    // One result too many, without an id: it pairs with a third get_weather nobody called.
    let obs = gemini_wire(false, |r| {
        gemini_results(vec![r[0].clone(), r[1].clone(), r[2].clone(), r[1].clone()])
    });
    let fp = id(&obs, 0).rsplit_once('@').unwrap().1.to_string();
    let extra = format!("get_weather#2@{fp}");
    expect_one(
        &obs,
        RuleId::UnknownResult,
        Level::Must,
        Some(&extra),
        "which no call of this turn has",
    );
    assert_eq!(gemini_rejection(&obs).as_deref(), Some(GEMINI_COUNT));
    // One content per result: a split the API refuses.
    for with_ids in [true, false] {
        let obs = gemini_wire(with_ids, |r| {
            r.iter()
                .map(|x| gemini_results(vec![x.clone()]).remove(0))
                .collect()
        });
        expect_one(
            &obs,
            RuleId::SplitResults,
            Level::Must,
            Some(&id(&obs, 1)),
            "spread over 3",
        );
        assert_eq!(rules_of(&obs), vec![RuleId::SplitResults]);
        assert_eq!(gemini_rejection(&obs).as_deref(), Some(GEMINI_COUNT));
    }
    // Two results for one call with ids.
    let obs = gemini_wire(true, |r| {
        gemini_results(vec![r[0].clone(), r[0].clone(), r[1].clone(), r[2].clone()])
    });
    expect_one(
        &obs,
        RuleId::DuplicateResult,
        Level::Must,
        Some("call_0"),
        "has 2 results",
    );
    assert_eq!(gemini_rejection(&obs).as_deref(), Some(GEMINI_COUNT));
}

#[test]
fn gemini_results_away_from_the_model_turn_are_missing_assistant_turn() {
    let obs = gemini_wire(true, |r| {
        let mut t = vec![json!({"role": "user", "parts": [{"text": "(results follow)"}]})];
        t.extend(gemini_results(r.to_vec()));
        t
    });
    expect_one(
        &obs,
        RuleId::MissingAssistantTurn,
        Level::Must,
        None,
        "1 message(s) sit between",
    );
    assert_eq!(
        gemini_rejection(&obs).as_deref(),
        Some(
            "Please ensure that function response turn comes immediately after a function call turn."
        )
    );
}

#[test]
fn gemini_history_changed_fires_for_a_dropped_thought_signature() {
    let mut obs = gemini_wire(true, |r| gemini_results(r.to_vec()));
    with_followup_messages(&mut obs, |m| {
        m[1].parts
            .retain(|p| !matches!(p, Part::Other(v) if v.get("thoughtSignature").is_some()));
    });
    expect_one(
        &obs,
        RuleId::HistoryChanged,
        Level::Must,
        None,
        "the assistant turn in the follow-up differs from the reply served",
    );
}

#[test]
fn gemini_error_not_flagged_reads_the_error_key() {
    let p = Provider::Gemini;
    let mut obs = one_failure(p);
    expect_clean(&obs);
    let b = id(&obs, 1);
    let results = vec![result_for(&obs, 0), res(&b, &output_text(&obs, 1))];
    answer_with(&mut obs, results);
    expect_one(
        &obs,
        RuleId::ErrorNotFlagged,
        Level::Must,
        Some(&b),
        "failed, but its functionResponse.response has no \"error\" key",
    );
    // On the wire: a failure sent under "output" is not flagged, under "error" it is.
    for (key, flagged) in [("output", false), ("error", true)] {
        let req = parse_request(
            p,
            json!({"contents": [{"role": "user", "parts": [
                {"functionResponse": {"id": "c", "name": "f", "response": {key: "boom"}}}
            ]}]}),
        );
        assert_eq!(
            req.messages[0].parts,
            [Part::Result(ToolResult {
                call_id: "c".into(),
                content: "boom".into(),
                is_error: Some(flagged),
            })]
        );
    }
}

#[test]
fn gemini_execution_rules_fire_as_for_every_api() {
    let p = Provider::Gemini;
    // Two writes at once.
    let mut obs = observe(
        p,
        vec![
            write(&cid(p, "A"), "append_line", json!({"line": "1"}), false),
            write(&cid(p, "B"), "append_line", json!({"line": "2"}), false),
        ],
    );
    set_runs(&mut obs, &[(0, 1, 3), (1, 2, 4)]);
    assert_eq!(rules_of(&obs), vec![RuleId::UnsafeParallelWrites]);
    set_runs(&mut obs, &[(0, 1, 2), (1, 3, 4)]);
    expect_clean(&obs);
    // A hung call answered past the deadline.
    let mut obs = observe(p, vec![hanging(&cid(p, "H"), "slow_lookup", json!({}))]);
    obs.execution.tool_deadline = ms(1_000);
    obs.execution.invocations[0].end = Some(ms(1_500));
    obs.execution.judged_at = ms(1_600);
    assert_eq!(rules_of(&obs), vec![RuleId::TimeoutNotEnforced]);
}

#[test]
fn parallel_writes_enabled_does_not_apply_to_gemini() {
    // Gemini has no switch: its requests never break the rule, and no scenario exercises it.
    let req = parse_request(
        Provider::Gemini,
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
               "tools": [{"functionDeclarations": [{"name": "send_email"}]}]}),
    );
    assert_eq!(req.tool_names(), ["send_email"]);
    assert_eq!(check_request(&req, &["send_email"], 1), None);
    let facts = |provider| crate::rules::input::ScenarioFacts {
        provider,
        turns: vec![vec![ok("c", "send_email", json!({}))]],
        reorders_distinct_calls: false,
        offered: vec!["send_email".into()],
        side_effect_tools: vec!["send_email".into()],
        require_concurrency: true,
    };
    assert!(super::exercised(&facts(Provider::Anthropic)).contains(&RuleId::ParallelWritesEnabled));
    assert!(!super::exercised(&facts(Provider::Gemini)).contains(&RuleId::ParallelWritesEnabled));
}

// ------------------------------------------------------------------------------------------
// guessed pairings (issue #9 item 5)
// ------------------------------------------------------------------------------------------

#[test]
fn no_result_pairing_is_judged_through_a_guessed_pairing_between_twins() {
    for p in Provider::ALL {
        // Call B of get_weather ran with other input: filed under B, but only as a guess
        // (call A has the same tool), so its output under either id proves nothing.
        let mut obs = two_calls(p);
        obs.execution.invocations[1].input = json!({"city": "Rome", "units": "metric"}).into();
        obs.execution.invocations[1].matched = Match::WrongArguments;
        let (a, b) = (id(&obs, 0), id(&obs, 1));
        let swapped = vec![
            res(&a, &output_text(&obs, 1)),
            res(&b, &output_text(&obs, 0)),
        ];
        answer_with(&mut obs, swapped);
        assert_eq!(rules_of(&obs), vec![RuleId::WrongArguments], "{p}");
    }
}

#[test]
fn a_pairing_with_the_only_call_of_its_tool_is_no_guess() {
    for p in Provider::ALL {
        let mut obs = observe(
            p,
            vec![
                ok(&cid(p, "A"), "get_weather", json!({"city": "Paris"})),
                ok(&cid(p, "B"), "get_time", json!({"city": "Rome"})),
            ],
        );
        obs.execution.invocations[1].input = json!({"city": "Rome", "units": "metric"}).into();
        obs.execution.invocations[1].matched = Match::WrongArguments;
        let (a, b) = (id(&obs, 0), id(&obs, 1));
        let swapped = vec![
            res(&a, &output_text(&obs, 1)),
            res(&b, &output_text(&obs, 0)),
        ];
        answer_with(&mut obs, swapped);
        assert_eq!(
            rules_of(&obs),
            vec![
                RuleId::MismatchedResult,
                RuleId::MismatchedResult,
                RuleId::WrongArguments
            ],
            "{p}"
        );
    }
}

/// `history-changed` compares messages without building their normal form; the comparison
/// must agree with the normal form's equality (which the diffs still show).
#[test]
fn same_message_agrees_with_the_normal_form() {
    let call = |input: serde_json::Value| {
        Part::Call(ToolCall {
            id: "c1".into(),
            name: "get".into(),
            input,
        })
    };
    let result = |content: &str, is_error: Option<bool>| {
        Part::Result(ToolResult {
            call_id: "c1".into(),
            content: content.into(),
            is_error,
        })
    };
    let msg = |role: Role, parts: Vec<Part>| Message {
        role,
        parts,
        wire_index: 0,
        wire_len: 1,
    };
    let cases = vec![
        msg(Role::User, vec![Part::Text("hi".into())]),
        msg(
            Role::User,
            vec![Part::Text("  hi \n".into()), Part::Text(" ".into())],
        ),
        msg(Role::Assistant, vec![Part::Text("hi".into())]),
        msg(Role::Assistant, vec![call(json!({"a": 1, "b": [1, null]}))]),
        msg(Role::Assistant, vec![call(json!({"b": [1, null], "a": 1}))]),
        msg(
            Role::Assistant,
            vec![call(json!({"a": 1.0, "b": [1, null]}))],
        ),
        msg(Role::Tool, vec![result("x", None)]),
        msg(Role::Tool, vec![result("x", Some(false))]),
        msg(Role::Tool, vec![result("x", Some(true))]),
        msg(
            Role::User,
            vec![Part::Other(
                json!({"k": null, "v": {"w": null, "x": [null]}}),
            )],
        ),
        msg(Role::User, vec![Part::Other(json!({"v": {"x": [null]}}))]),
        msg(Role::User, vec![Part::Other(json!({"v": {"x": []}}))]),
        msg(
            Role::User,
            vec![Part::Other(json!({"v": {"x": [null]}, "k": 0}))],
        ),
        msg(Role::User, vec![Part::Other(serde_json::Value::Null)]),
        msg(Role::User, vec![]),
    ];
    for a in &cases {
        for b in &cases {
            assert_eq!(
                super::history::same_message(a, b),
                super::history::norm(a) == super::history::norm(b),
                "{a:?} vs {b:?}"
            );
        }
    }
}
