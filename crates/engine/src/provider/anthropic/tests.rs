use super::*;
use crate::provider::test_support::*;
use crate::provider::{Format, FormatError, ResultBlock, SseEvent};
use crate::transcript::*;
use serde_json::{Value, json};

const REQUEST_HISTORY: &str =
    include_str!("../../../../../tests/fixtures/provider/anthropic/request_parallel_history.json");
const REQUEST_FIRST: &str =
    include_str!("../../../../../tests/fixtures/provider/anthropic/request_first_turn.json");
const REPLY_PARALLEL: &str =
    include_str!("../../../../../tests/fixtures/provider/anthropic/reply_parallel_calls.json");
const REPLY_THREE: &str = include_str!(
    "../../../../../tests/fixtures/provider/anthropic/reply_three_calls_thinking.json"
);
const REPLY_FINAL: &str =
    include_str!("../../../../../tests/fixtures/provider/anthropic/reply_final_answer.json");
const STREAM_RECORDED: &str =
    include_str!("../../../../../tests/fixtures/provider/anthropic/stream_two_calls_recorded.json");

fn err_of(body: Value) -> FormatError {
    rejected(&Anthropic, body)
}

#[test]
fn parses_a_parallel_request_with_history() {
    let body = load(REQUEST_HISTORY);
    let req = Anthropic.parse_request(&body).unwrap();
    assert_eq!(req.model.as_deref(), Some("claude-sonnet-4-5"));
    assert_eq!(req.tool_names(), ["get_weather", "get_time", "web_search"]);
    assert!(!req.parallel_disabled);
    assert!(req.stream);
    assert_eq!(req.previous_response_id, None);
    assert_eq!(req.messages.len(), 6);

    let system = &req.messages[0];
    assert_eq!(system.role, Role::System);
    assert_eq!((system.wire_index, system.wire_len), (0, 0));
    assert_eq!(
        system.parts,
        [Part::Text(
            "You are a travel assistant. Use the tools; call independent tools in parallel.".into()
        )]
    );

    let user = &req.messages[1];
    assert_eq!(
        (user.role, user.wire_index, user.wire_len),
        (Role::User, 0, 1)
    );
    assert_eq!(
        user.parts,
        [Part::Text(
            "What's the weather in San Francisco and New York, and the time in New York?".into()
        )]
    );

    let assistant = &req.messages[2];
    assert_eq!(
        (assistant.role, assistant.wire_index, assistant.wire_len),
        (Role::Assistant, 1, 1)
    );
    assert_eq!(assistant.parts.len(), 5);
    assert!(matches!(&assistant.parts[0], Part::Other(b) if b["type"] == "thinking"));
    assert_eq!(
        assistant.parts[1],
        Part::Text("I'll look up both cities.".into())
    );
    assert_eq!(
        assistant.parts[2..],
        [
            call(
                "toolu_01A09q90qw90lq917835lq9",
                "get_weather",
                json!({"location": "San Francisco, CA"})
            ),
            call(
                "toolu_01B7rTq2dXq3mYb1vN4pQz8K",
                "get_weather",
                json!({"location": "New York, NY"})
            ),
            call(
                "toolu_01C4hWm8sLp2VxQ9rT6yN3kE",
                "get_time",
                json!({"timezone": "America/New_York"})
            ),
        ]
    );

    let results = &req.messages[3];
    assert_eq!(
        (results.role, results.wire_index, results.wire_len),
        (Role::User, 2, 1)
    );
    assert_eq!(
        results.parts,
        [
            flagged("toolu_01B7rTq2dXq3mYb1vN4pQz8K", "NYC: 12°C, rain", None),
            flagged(
                "toolu_01A09q90qw90lq917835lq9",
                "weather backend timed out after 30s",
                Some(true)
            ),
            flagged(
                "toolu_01C4hWm8sLp2VxQ9rT6yN3kE",
                "14:05\nEDT (UTC-4)",
                Some(false)
            ),
            Part::Text("Anything else I should check?".into()),
        ]
    );

    assert_eq!(
        (req.messages[4].role, req.messages[4].wire_index),
        (Role::Assistant, 3)
    );
    assert_eq!(
        (
            req.messages[5].role,
            req.messages[5].wire_index,
            req.messages[5].wire_len
        ),
        (Role::User, 4, 1)
    );
    assert_eq!(
        req.messages[5].parts,
        [Part::Text("Try San Francisco again, please.".into())]
    );
}

#[test]
fn string_system_and_switches() {
    let req = Anthropic
        .parse_request(&json!({
            "system": "Be brief.",
            "tools": [{"name": "a"}, {"type": "custom_without_name"}, {"name": "b"}],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
            "stream": false,
            "messages": []
        }))
        .unwrap();
    assert_eq!(req.messages.len(), 1);
    assert_eq!(req.messages[0].parts, [Part::Text("Be brief.".into())]);
    assert_eq!(req.tool_names(), ["a", "b"]);
    assert!(req.parallel_disabled);
    assert!(!req.stream);
    assert_eq!(req.model, None);

    let no_system = Anthropic
        .parse_request(&json!({"messages": [{"role": "user", "content": "hi"}]}))
        .unwrap();
    assert_eq!(no_system.messages.len(), 1);
    assert_eq!(no_system.messages[0].role, Role::User);
    assert!(!no_system.parallel_disabled);
}

#[test]
fn malformed_requests_say_where_and_what() {
    let e = err_of(json!([1, 2]));
    assert_eq!(e.path, "");
    assert_eq!(
        e.message,
        "expected a request object, found an array of 2 item(s)"
    );

    let e = err_of(json!({"model": "claude-sonnet-4-5"}));
    assert_eq!(e.path, "messages");
    assert_eq!(
        e.message,
        "expected an array, found nothing (the field is missing)"
    );

    // A `system` message inside `messages` is accepted (issue #10 item 11): see
    // tests/it/verdicts.rs.

    let e = err_of(json!({"messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "ok"},
            {"type": "tool_use", "name": "get_weather", "input": {}}
        ]}
    ]}));
    assert_eq!(e.path, "messages[1].content[1].id");
    assert_eq!(
        e.message,
        "expected a string, found nothing (the field is missing)"
    );

    let e = err_of(json!({"messages": [{"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_01X", "input": {}}
    ]}]}));
    assert_eq!(e.path, "messages[0].content[0].name");

    let e = err_of(json!({"messages": [
        {"role": "user", "content": [{"type": "tool_result", "content": "x"}]},
        {"role": "user", "content": "y"},
        {"role": "user", "content": [
            {"type": "text", "text": "a"},
            {"type": "tool_result", "tool_use_id": 7}
        ]}
    ]}));
    assert_eq!(e.path, "messages[0].content[0].tool_use_id");

    let e = err_of(json!({"messages": [{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01X", "is_error": "yes"}
    ]}]}));
    assert_eq!(e.path, "messages[0].content[0].is_error");
    assert_eq!(e.message, "expected a boolean, found the string \"yes\"");

    let e = err_of(json!({"messages": [{"role": "user", "content": 5}]}));
    assert_eq!(e.path, "messages[0].content");
    assert_eq!(
        e.message,
        "expected a string or an array of content blocks, found the number 5"
    );

    let e = err_of(json!({"messages": [{"role": "user", "content": ["hi"]}]}));
    assert_eq!(e.path, "messages[0].content[0]");

    let e = err_of(json!({"system": 3, "messages": []}));
    assert_eq!(e.path, "system");

    let e = err_of(json!({"messages": [], "tools": {}}));
    assert_eq!(e.path, "tools");
}

#[test]
fn parses_replies() {
    let reply = Anthropic.parse_reply(&load(REPLY_PARALLEL)).unwrap();
    assert_eq!(reply.id.as_deref(), Some("msg_01Aq9w938a90dw8q4HzL7cGe"));
    assert_eq!(reply.stop, StopReason::ToolUse);
    assert_eq!(reply.message.role, Role::Assistant);
    assert_eq!((reply.message.wire_index, reply.message.wire_len), (0, 1));
    assert_eq!(
        reply.message.parts,
        [
            Part::Text("I'll look up both cities.".into()),
            call(
                "toolu_01A09q90qw90lq917835lq9",
                "get_weather",
                json!({"location": "San Francisco, CA"})
            ),
            call(
                "toolu_01B7rTq2dXq3mYb1vN4pQz8K",
                "get_weather",
                json!({"location": "New York, NY"})
            ),
        ]
    );

    let three = Anthropic.parse_reply(&load(REPLY_THREE)).unwrap();
    assert_eq!(three.calls().len(), 3);
    assert_eq!(three.calls()[2].input, json!({}));
    assert!(matches!(&three.message.parts[0], Part::Other(b) if b["type"] == "thinking"));

    let fin = Anthropic.parse_reply(&load(REPLY_FINAL)).unwrap();
    assert_eq!(fin.stop, StopReason::EndTurn);
    assert!(!fin.wants_tools());

    let mut capped = load(REPLY_FINAL);
    capped["stop_reason"] = json!("max_tokens");
    assert_eq!(
        Anthropic.parse_reply(&capped).unwrap().stop,
        StopReason::Other("max_tokens".into())
    );
}

#[test]
fn malformed_replies() {
    let mut no_stop = load(REPLY_FINAL);
    no_stop["stop_reason"] = Value::Null;
    let e = Anthropic.parse_reply(&no_stop).unwrap_err();
    assert_eq!(e.path, "stop_reason");
    assert!(e.message.ends_with("found null"));

    let mut bad_block = load(REPLY_PARALLEL);
    bad_block["content"][2]["input"] = Value::Null;
    bad_block["content"][2]
        .as_object_mut()
        .unwrap()
        .remove("input");
    let e = Anthropic.parse_reply(&bad_block).unwrap_err();
    assert_eq!(e.path, "content[2].input");

    let e = Anthropic
        .parse_reply(&Anthropic.error_body("messages.1: bad"))
        .unwrap_err();
    assert_eq!(e.path, "");
    assert!(e.message.contains("invalid_request_error: messages.1: bad"));

    let e = Anthropic.parse_reply(&json!({"id": "msg_1"})).unwrap_err();
    assert_eq!(e.path, "content");
}

/// The property the mock server relies on: streaming a reply and accumulating it back gives
/// the same reply (and here even the same JSON).
#[test]
fn stream_round_trip_on_every_fixture_reply() {
    for text in [REPLY_PARALLEL, REPLY_THREE, REPLY_FINAL] {
        let body = load(text);
        let events = Anthropic.stream_from_reply(&body).unwrap();
        let rebuilt = Anthropic.reply_from_stream(&events).unwrap();
        assert_eq!(rebuilt, body);
        assert_eq!(
            Anthropic.parse_reply(&rebuilt).unwrap(),
            Anthropic.parse_reply(&body).unwrap()
        );
    }
}

#[test]
fn emitted_stream_looks_like_the_api() {
    let body = load(REPLY_PARALLEL);
    let events = Anthropic.stream_from_reply(&body).unwrap();
    let datas: Vec<Value> = events
        .iter()
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect();
    for (e, d) in events.iter().zip(&datas) {
        assert_eq!(
            e.event.as_deref(),
            d["type"].as_str(),
            "event name = data type"
        );
        assert_eq!(e.gap_ms, 0);
    }
    let names: Vec<&str> = events.iter().filter_map(|e| e.event.as_deref()).collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(names.last(), Some(&"message_stop"));
    assert_eq!(names[names.len() - 2], "message_delta");

    let start = &datas[0]["message"];
    assert_eq!(start["content"], json!([]));
    assert_eq!(start["stop_reason"], Value::Null);
    assert_eq!(start["id"], body["id"]);

    // Blocks one at a time, indices 0, 1, 2 in order.
    let mut open: Option<u64> = None;
    let mut started = Vec::new();
    for d in &datas {
        match d["type"].as_str().unwrap() {
            "content_block_start" => {
                assert_eq!(open, None);
                let i = d["index"].as_u64().unwrap();
                assert_eq!(i, started.len() as u64);
                started.push(d["content_block"]["type"].as_str().unwrap().to_string());
                open = Some(i);
            }
            "content_block_delta" => assert_eq!(Some(d["index"].as_u64().unwrap()), open),
            "content_block_stop" => {
                assert_eq!(Some(d["index"].as_u64().unwrap()), open);
                open = None;
            }
            _ => {}
        }
    }
    assert_eq!(started, ["text", "tool_use", "tool_use"]);

    // Tool input arrives as JSON text fragments, the block starting with an empty input.
    let tool_start = datas
        .iter()
        .find(|d| d["content_block"]["type"] == "tool_use")
        .unwrap();
    assert_eq!(tool_start["content_block"]["input"], json!({}));
    let fragments: Vec<&str> = datas
        .iter()
        .filter(|d| d["index"] == 1 && d["delta"]["type"] == "input_json_delta")
        .map(|d| d["delta"]["partial_json"].as_str().unwrap())
        .collect();
    assert!((2..=3).contains(&fragments.len()));
    assert_eq!(
        serde_json::from_str::<Value>(&fragments.concat()).unwrap(),
        json!({"location": "San Francisco, CA"})
    );

    let delta = &datas[datas.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert_eq!(delta["usage"]["output_tokens"], 89);
}

#[test]
fn accumulates_the_recorded_two_call_stream_with_ping() {
    let events: Vec<SseEvent> = serde_json::from_str(STREAM_RECORDED).unwrap();
    assert!(events.iter().any(|e| e.event.as_deref() == Some("ping")));
    let body = Anthropic.reply_from_stream(&events).unwrap();
    assert_eq!(body["id"], "msg_014p7gG3wDgGV9EUtLvnow3U");
    assert_eq!(body["stop_reason"], "tool_use");
    assert_eq!(
        body["usage"],
        json!({"input_tokens": 472, "output_tokens": 89})
    );
    let reply = Anthropic.parse_reply(&body).unwrap();
    assert_eq!(reply.stop, StopReason::ToolUse);
    assert_eq!(
        reply.message.parts,
        [
            Part::Text("Checking both cities.".into()),
            call(
                "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                "get_weather",
                json!({"location": "San Francisco, CA"})
            ),
            call(
                "toolu_01Lq7Bv9mZc2XgUe8HnRwY3D",
                "get_weather",
                json!({"location": "New York, NY"})
            ),
        ]
    );
}

#[test]
fn stream_accumulates_thinking_and_empty_input() {
    let events: Vec<SseEvent> = [
        ("message_start", json!({"type": "message_start", "message": {"id": "msg_01", "type": "message", "role": "assistant", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 5, "output_tokens": 1}}})),
        ("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}})),
        ("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Let me "}})),
        ("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "think."}})),
        ("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQB"}})),
        ("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
        ("content_block_start", json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_01Z", "name": "list_alerts", "input": {}}})),
        ("content_block_delta", json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": ""}})),
        ("content_block_stop", json!({"type": "content_block_stop", "index": 1})),
        ("some_future_event", json!({"type": "some_future_event"})),
        ("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 12}})),
        ("message_stop", json!({"type": "message_stop"})),
    ]
    .iter()
    .map(|(n, d)| SseEvent::named(n, d))
    .collect();
    let body = Anthropic.reply_from_stream(&events).unwrap();
    assert_eq!(
        body["content"],
        json!([
            {"type": "thinking", "thinking": "Let me think.", "signature": "EqQB"},
            {"type": "tool_use", "id": "toolu_01Z", "name": "list_alerts", "input": {}}
        ])
    );
    assert_eq!(
        body["usage"],
        json!({"input_tokens": 5, "output_tokens": 12})
    );
}

#[test]
fn stream_errors_point_at_the_event() {
    let good: Vec<SseEvent> = serde_json::from_str(STREAM_RECORDED).unwrap();

    let e = Anthropic.reply_from_stream(&[]).unwrap_err();
    assert_eq!(e.path, "");
    assert!(e.message.contains("message_start"));

    let e = Anthropic.reply_from_stream(&good[1..]).unwrap_err();
    assert_eq!(e.path, "[0]");
    assert_eq!(
        e.message,
        "expected message_start before any other event, found content_block_start"
    );

    let mut with_error = good.clone();
    with_error.insert(
        4,
        SseEvent::named(
            "error",
            &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        ),
    );
    let e = Anthropic.reply_from_stream(&with_error).unwrap_err();
    assert_eq!(e.path, "[4]");
    assert_eq!(
        e.message,
        "the stream carried an error event (overloaded_error: Overloaded)"
    );

    let mut bad_json = good.clone();
    bad_json[3].data = "{\"type\":".into();
    let e = Anthropic.reply_from_stream(&bad_json).unwrap_err();
    assert_eq!(e.path, "[3]");
    assert!(e.message.starts_with("expected the event data to be JSON"));

    // Event 8 is the last input fragment of block 1: the error points at it.
    let mut bad_input = good.clone();
    bad_input[8] = SseEvent::named(
        "content_block_delta",
        &json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "ncisco"}}),
    );
    let e = Anthropic.reply_from_stream(&bad_input).unwrap_err();
    assert_eq!(e.path, "[8]");
    assert!(
        e.message
            .starts_with("expected the input_json_delta fragments of block 1")
    );

    let mut bad_index = good.clone();
    bad_index[3] = SseEvent::named(
        "content_block_delta",
        &json!({"type": "content_block_delta", "index": 5, "delta": {"type": "text_delta", "text": "x"}}),
    );
    let e = Anthropic.reply_from_stream(&bad_index).unwrap_err();
    assert_eq!(e.path, "[3].index");
    assert_eq!(
        e.message,
        "expected the index of a started block (below 1), found the number 5"
    );

    let mut wrong_delta = good.clone();
    wrong_delta[3] = SseEvent::named(
        "content_block_delta",
        &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{}"}}),
    );
    let e = Anthropic.reply_from_stream(&wrong_delta).unwrap_err();
    assert_eq!(e.path, "[3].delta");
    assert!(e.message.contains("tool_use block"));

    let mut skipped_index = good.clone();
    skipped_index[5] = SseEvent::named(
        "content_block_start",
        &json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_01T", "name": "x", "input": {}}}),
    );
    let e = Anthropic.reply_from_stream(&skipped_index).unwrap_err();
    assert_eq!(e.path, "[5].index");
}

#[test]
fn follow_up_built_from_entries_parses_back() {
    let mut request = load(REQUEST_FIRST);
    let reply = load(REPLY_PARALLEL);
    let results = [
        ResultBlock {
            call_id: "toolu_01B7rTq2dXq3mYb1vN4pQz8K".into(),
            name: "get_weather".into(),
            content: "NYC: 12°C, rain".into(),
            is_error: false,
        },
        ResultBlock {
            call_id: "toolu_01A09q90qw90lq917835lq9".into(),
            name: "get_weather".into(),
            content: "weather backend timed out".into(),
            is_error: true,
        },
    ];
    let assistant = Anthropic.history_entries(&reply).unwrap();
    assert_eq!(
        assistant,
        [json!({"role": "assistant", "content": reply["content"]})]
    );
    let entries = Anthropic.results_entries(&results, None);
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "toolu_01B7rTq2dXq3mYb1vN4pQz8K", "content": "NYC: 12°C, rain"})
    );
    assert_eq!(entries[0]["content"][1]["is_error"], json!(true));
    let history = Anthropic.history_mut(&mut request).unwrap();
    history.extend(assistant);
    history.extend(entries);

    let req = Anthropic.parse_request(&request).unwrap();
    assert_eq!(req.messages.len(), 4);
    let parsed_reply = Anthropic.parse_reply(&reply).unwrap();
    let turn = &req.messages[2];
    assert_eq!((turn.role, turn.wire_index), (Role::Assistant, 1));
    assert_eq!(turn.parts, parsed_reply.message.parts);
    let res = &req.messages[3];
    assert_eq!((res.role, res.wire_index, res.wire_len), (Role::User, 2, 1));
    assert_eq!(
        res.parts,
        [
            flagged("toolu_01B7rTq2dXq3mYb1vN4pQz8K", "NYC: 12°C, rain", None),
            flagged(
                "toolu_01A09q90qw90lq917835lq9",
                "weather backend timed out",
                Some(true)
            ),
        ]
    );

    // text_before goes first, in the same user message.
    let with_text = Anthropic.results_entries(&results[..1], Some("Here you go."));
    assert_eq!(with_text.len(), 1);
    assert_eq!(
        with_text[0]["content"][0],
        json!({"type": "text", "text": "Here you go."})
    );
    assert_eq!(with_text[0]["content"][1]["type"], "tool_result");

    let mut next = request.clone();
    Anthropic
        .history_mut(&mut next)
        .unwrap()
        .push(Anthropic.user_text_entry("thanks"));
    let req = Anthropic.parse_request(&next).unwrap();
    assert_eq!(
        req.messages.last().unwrap().parts,
        [Part::Text("thanks".into())]
    );
}

#[test]
fn history_mut_checks_the_body() {
    let mut empty = json!({"model": "m"});
    assert!(Anthropic.history_mut(&mut empty).unwrap().is_empty());
    assert_eq!(empty["messages"], json!([]));
    let mut bad = json!({"messages": {"role": "user"}});
    let e = Anthropic.history_mut(&mut bad).unwrap_err();
    assert_eq!(e.path, "messages");
    assert_eq!(e.message, "expected an array, found an object");
    assert_eq!(Anthropic.history_mut(&mut json!("x")).unwrap_err().path, "");
    assert!(Anthropic.history_entries(&json!({"id": "msg_1"})).is_err());
}

#[test]
fn parallel_switch_round_trips() {
    let mut request = load(REQUEST_FIRST);
    assert!(!Anthropic.parse_request(&request).unwrap().parallel_disabled);
    Anthropic.set_parallel_disabled(&mut request, true);
    assert_eq!(
        request["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
    assert!(Anthropic.parse_request(&request).unwrap().parallel_disabled);
    Anthropic.set_parallel_disabled(&mut request, false);
    assert_eq!(request["tool_choice"], json!({"type": "auto"}));
    assert!(!Anthropic.parse_request(&request).unwrap().parallel_disabled);

    let mut forced = load(REQUEST_FIRST);
    forced["tool_choice"] = json!({"type": "tool", "name": "get_weather"});
    Anthropic.set_parallel_disabled(&mut forced, true);
    assert_eq!(
        forced["tool_choice"],
        json!({"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true})
    );

    let mut none = load(REQUEST_FIRST);
    none["tool_choice"] = json!({"type": "none"});
    Anthropic.set_parallel_disabled(&mut none, true);
    assert_eq!(none["tool_choice"], json!({"type": "none"}));

    let mut untouched = load(REQUEST_FIRST);
    Anthropic.set_parallel_disabled(&mut untouched, false);
    assert_eq!(untouched, load(REQUEST_FIRST));
}

#[test]
fn error_body_has_the_api_envelope() {
    let body = Anthropic.error_body("messages.2: bad");
    assert_eq!(body["type"], "error");
    assert_eq!(
        body["error"],
        json!({"type": "invalid_request_error", "message": "messages.2: bad"})
    );
    assert!(body["request_id"].as_str().unwrap().starts_with("req_"));
    assert_eq!(
        Anthropic.user_text_entry("hi"),
        json!({"role": "user", "content": "hi"})
    );
    assert_eq!(
        crate::provider::Provider::Anthropic.format().name(),
        Anthropic.name()
    );
}

#[test]
fn tools_carry_schema_strictness_and_annotations() {
    let schema =
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    let req = Anthropic
        .parse_request(&json!({
            "model": "m", "max_tokens": 10,
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [
                {"name": "get_weather", "input_schema": schema, "strict": true},
                {"type": "custom", "name": "send", "input_schema": {"type": "object"},
                 "annotations": {"destructiveHint": true}},
                {"type": "web_search_20250305", "name": "web_search"}
            ]
        }))
        .unwrap();
    assert_eq!(req.tools[0].input_schema.as_deref(), Some(&schema));
    assert!(req.tools[0].strict);
    assert!(!req.tools[1].strict);
    assert_eq!(
        req.tools[1].annotations,
        Some(json!({"destructiveHint": true}))
    );
    assert_eq!(req.tool("web_search").unwrap().input_schema, None);
}
