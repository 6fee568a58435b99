use super::*;
use crate::provider::test_support::*;
use crate::provider::{Format, FormatError, ResultBlock, SseEvent};
use crate::transcript::*;
use serde_json::{Value, json};

const REQUEST_HISTORY: &str = include_str!(
    "../../../../../tests/fixtures/provider/openai_chat/request_parallel_history.json"
);
const REQUEST_FIRST: &str =
    include_str!("../../../../../tests/fixtures/provider/openai_chat/request_first_turn.json");
const REPLY_PARALLEL: &str =
    include_str!("../../../../../tests/fixtures/provider/openai_chat/reply_parallel_calls.json");
const REPLY_TEXT_CALLS: &str =
    include_str!("../../../../../tests/fixtures/provider/openai_chat/reply_text_and_calls.json");
const REPLY_FINAL: &str =
    include_str!("../../../../../tests/fixtures/provider/openai_chat/reply_final_answer.json");
const STREAM_RECORDED: &str = include_str!(
    "../../../../../tests/fixtures/provider/openai_chat/stream_two_calls_usage_recorded.json"
);

fn err_of(body: Value) -> FormatError {
    rejected(&OpenAiChat, body)
}

#[test]
fn parses_a_parallel_request_with_history() {
    let req = OpenAiChat.parse_request(&load(REQUEST_HISTORY)).unwrap();
    assert_eq!(req.model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!(
        req.tool_names(),
        ["GetWeatherArgs", "get_stock_price", "run_sql"]
    );
    assert!(!req.parallel_disabled);
    assert!(req.stream);
    assert_eq!(req.previous_response_id, None);

    let shape: Vec<(Role, usize, usize)> = req
        .messages
        .iter()
        .map(|m| (m.role, m.wire_index, m.wire_len))
        .collect();
    assert_eq!(
        shape,
        [
            (Role::System, 0, 1),
            (Role::System, 1, 1),
            (Role::User, 2, 1),
            (Role::Assistant, 3, 1),
            (Role::Tool, 4, 3),
            (Role::Assistant, 7, 1),
            (Role::User, 8, 1),
        ]
    );
    assert_eq!(
        req.messages[0].parts,
        [Part::Text(
            "You are a helpful assistant. Call independent tools in parallel.".into()
        )]
    );
    assert_eq!(
        req.messages[1].parts,
        [Part::Text("Prefer metric units.".into())]
    );
    assert_eq!(req.messages[2].parts.len(), 2);
    assert_eq!(
        req.messages[2].parts[0],
        Part::Text("Weather in Edinburgh and the AAPL price?".into())
    );
    assert!(matches!(&req.messages[2].parts[1], Part::Other(p) if p["type"] == "image_url"));
    assert_eq!(
        req.messages[3].parts,
        [
            Part::Text("Let me check both.".into()),
            call(
                "call_JMW1whyEaYG438VE1OIflxA2",
                "GetWeatherArgs",
                json!({"city": "Edinburgh", "country": "GB", "units": "c"})
            ),
            call(
                "call_DNYTawLBoN8fj3KN6qU9N1Ou",
                "get_stock_price",
                json!({"ticker": "AAPL", "exchange": "NASDAQ"})
            ),
            // Arguments that are not valid JSON stay the raw text.
            call(
                "call_Qx7TbVn2Lk9PzR4sWm6YdHc1",
                "get_stock_price",
                Value::String("{\"ticker\": \"MSFT\", \"exch".into())
            ),
        ]
    );
    assert_eq!(
        req.messages[4].parts,
        [
            result("call_DNYTawLBoN8fj3KN6qU9N1Ou", "AAPL 231.40 USD"),
            result(
                "call_JMW1whyEaYG438VE1OIflxA2",
                "Error: weather service unavailable"
            ),
            result("call_Qx7TbVn2Lk9PzR4sWm6YdHc1", "Error: invalid arguments"),
        ]
    );
    assert_eq!(
        req.messages[6].parts,
        [Part::Text("Retry the weather, please.".into())]
    );
}

#[test]
fn tool_runs_split_by_other_messages_stay_apart() {
    let req = OpenAiChat
        .parse_request(&json!({"messages": [
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": "{}"}},
                {"id": "call_2", "type": "function", "function": {"name": "b", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "one"},
            {"role": "user", "content": "interjection"},
            {"role": "tool", "tool_call_id": "call_2"}
        ], "parallel_tool_calls": false}))
        .unwrap();
    assert!(req.parallel_disabled);
    assert!(!req.stream);
    let shape: Vec<(Role, usize, usize)> = req
        .messages
        .iter()
        .map(|m| (m.role, m.wire_index, m.wire_len))
        .collect();
    assert_eq!(
        shape,
        [
            (Role::Assistant, 0, 1),
            (Role::Tool, 1, 1),
            (Role::User, 2, 1),
            (Role::Tool, 3, 1),
        ]
    );
    // Null content holds no part; a missing tool content is "".
    assert_eq!(req.messages[0].parts.len(), 2);
    assert_eq!(req.messages[3].parts, [result("call_2", "")]);
}

#[test]
fn custom_tool_calls_are_calls_with_text_input() {
    let req = OpenAiChat
        .parse_request(&json!({"messages": [
            {"role": "assistant", "tool_calls": [
                {"id": "call_9", "type": "custom", "custom": {"name": "run_sql", "input": "SELECT 1"}}
            ]}
        ]}))
        .unwrap();
    assert_eq!(
        req.messages[0].parts,
        [call("call_9", "run_sql", json!("SELECT 1"))]
    );
}

#[test]
fn malformed_requests_say_where_and_what() {
    let e = err_of(json!("hello"));
    assert_eq!(e.path, "");
    assert_eq!(
        e.message,
        "expected a request object, found the string \"hello\""
    );

    let e = err_of(json!({"messages": null}));
    assert_eq!(e.path, "messages");
    assert_eq!(e.message, "expected an array, found null");

    // An unknown role is kept (issue #10 item 11); a role that is not a string is refused.
    let e = err_of(json!({"messages": [{"role": 7, "content": "x"}]}));
    assert_eq!(e.path, "messages[0].role");

    let e = err_of(json!({"messages": [
        {"role": "user", "content": "hi"},
        {"role": "tool", "content": "orphan"}
    ]}));
    assert_eq!(e.path, "messages[1].tool_call_id");
    assert_eq!(
        e.message,
        "expected a string, found nothing (the field is missing)"
    );

    // A call without an id is kept with a synthetic one (issue #10 item 11); an id that is
    // not a string is refused.
    let e = err_of(json!({"messages": [{"role": "assistant", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": "{}"}},
        {"id": 5, "type": "function", "function": {"name": "b", "arguments": "{}"}}
    ]}]}));
    assert_eq!(e.path, "messages[0].tool_calls[1].id");

    let e = err_of(json!({"messages": [{"role": "assistant", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": {"x": 1}}}
    ]}]}));
    assert_eq!(e.path, "messages[0].tool_calls[0].function.arguments");
    assert_eq!(e.message, "expected a string, found an object");

    let e = err_of(json!({"messages": [{"role": "assistant", "tool_calls": [
        {"id": "call_1", "type": "function"}
    ]}]}));
    assert_eq!(e.path, "messages[0].tool_calls[0].function");

    let e = err_of(json!({"messages": [{"role": "user", "content": [{"text": "no type"}]}]}));
    assert_eq!(e.path, "messages[0].content[0].type");

    let e = err_of(json!({"messages": [{"role": "tool", "tool_call_id": "call_1", "content": 1}]}));
    assert_eq!(e.path, "messages[0].content");

    let e = err_of(json!({"messages": [], "model": 4}));
    assert_eq!(e.path, "model");
}

#[test]
fn parses_replies() {
    let reply = OpenAiChat.parse_reply(&load(REPLY_PARALLEL)).unwrap();
    assert_eq!(
        reply.id.as_deref(),
        Some("chatcmpl-ABfwAwrNePHUgBBezonVC6MX3zd63")
    );
    assert_eq!(reply.stop, StopReason::ToolUse);
    assert_eq!(
        (
            reply.message.role,
            reply.message.wire_index,
            reply.message.wire_len
        ),
        (Role::Assistant, 0, 1)
    );
    assert_eq!(
        reply.message.parts,
        [
            call(
                "call_JMW1whyEaYG438VE1OIflxA2",
                "GetWeatherArgs",
                json!({"city": "Edinburgh", "country": "GB", "units": "c"})
            ),
            call(
                "call_DNYTawLBoN8fj3KN6qU9N1Ou",
                "get_stock_price",
                json!({"ticker": "AAPL", "exchange": "NASDAQ"})
            ),
        ]
    );

    let mixed = OpenAiChat.parse_reply(&load(REPLY_TEXT_CALLS)).unwrap();
    assert_eq!(
        mixed.message.parts[0],
        Part::Text("Checking Zürich, Oslo and Lisbon at once.".into())
    );
    assert_eq!(mixed.calls().len(), 3);
    assert_eq!(
        mixed.calls()[0].input,
        json!({"city": "Zürich", "days": [1, 2, 3]})
    );

    let fin = OpenAiChat.parse_reply(&load(REPLY_FINAL)).unwrap();
    assert_eq!(fin.stop, StopReason::EndTurn);
    assert!(!fin.wants_tools());

    let mut cut = load(REPLY_FINAL);
    cut["choices"][0]["finish_reason"] = json!("length");
    assert_eq!(
        OpenAiChat.parse_reply(&cut).unwrap().stop,
        StopReason::Other("length".into())
    );
}

#[test]
fn malformed_replies() {
    let e = OpenAiChat
        .parse_reply(&json!({"id": "chatcmpl-1", "choices": []}))
        .unwrap_err();
    assert_eq!(e.path, "choices");
    assert_eq!(
        e.message,
        "expected at least one choice, found an empty array"
    );

    let mut no_finish = load(REPLY_FINAL);
    no_finish["choices"][0]["finish_reason"] = Value::Null;
    let e = OpenAiChat.parse_reply(&no_finish).unwrap_err();
    assert_eq!(e.path, "choices[0].finish_reason");

    let mut bad_call = load(REPLY_PARALLEL);
    bad_call["choices"][0]["message"]["tool_calls"][1]["function"]["name"] = json!(null);
    let e = OpenAiChat.parse_reply(&bad_call).unwrap_err();
    assert_eq!(e.path, "choices[0].message.tool_calls[1].function.name");
    assert_eq!(e.message, "expected a string, found null");

    let e = OpenAiChat
        .parse_reply(&OpenAiChat.error_body("bad request"))
        .unwrap_err();
    assert_eq!(e.path, "");
    assert!(e.message.contains("invalid_request_error: bad request"));
}

#[test]
fn stream_round_trip_on_every_fixture_reply() {
    for text in [REPLY_PARALLEL, REPLY_TEXT_CALLS, REPLY_FINAL] {
        let body = load(text);
        let events = OpenAiChat.stream_from_reply(&body).unwrap();
        let rebuilt = OpenAiChat.reply_from_stream(&events).unwrap();
        assert_eq!(
            OpenAiChat.parse_reply(&rebuilt).unwrap(),
            OpenAiChat.parse_reply(&body).unwrap()
        );
        assert_eq!(rebuilt["object"], "chat.completion");
        assert_eq!(rebuilt["usage"], body["usage"]);
        let (got, want) = (
            &rebuilt["choices"][0]["message"],
            &body["choices"][0]["message"],
        );
        assert_eq!(got["content"], want["content"]);
        assert_eq!(got["tool_calls"], want["tool_calls"]);
    }
}

#[test]
fn emitted_stream_looks_like_the_api() {
    let body = load(REPLY_TEXT_CALLS);
    let events = OpenAiChat.stream_from_reply(&body).unwrap();
    assert!(events.iter().all(|e| e.event.is_none() && e.gap_ms == 0));
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect();
    for c in &chunks {
        assert_eq!(c["object"], "chat.completion.chunk");
        assert_eq!(c["id"], body["id"]);
        assert_eq!(c["created"], body["created"]);
    }
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    // The usage chunk comes last, with no choices; the finish reason just before it.
    let usage = &chunks[chunks.len() - 1];
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"], body["usage"]);
    let last = &chunks[chunks.len() - 2]["choices"][0];
    assert_eq!(last["delta"], json!({}));
    assert_eq!(last["finish_reason"], "tool_calls");

    // Per call: a first fragment with id/type/name and empty arguments, then pieces.
    let fragments: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
        .collect();
    let firsts: Vec<&Value> = fragments
        .iter()
        .copied()
        .filter(|f| f.get("id").is_some())
        .collect();
    assert_eq!(firsts.len(), 3);
    for (k, first) in firsts.iter().enumerate() {
        assert_eq!(first["index"], k);
        assert_eq!(first["type"], "function");
        assert_eq!(first["function"]["arguments"], "");
    }
    let args0: String = fragments
        .iter()
        .filter(|f| f["index"] == 0)
        .map(|f| f["function"]["arguments"].as_str().unwrap())
        .collect();
    assert_eq!(args0, "{\"city\":\"Zürich\",\"days\":[1,2,3]}");
    assert!(fragments.iter().filter(|f| f["index"] == 0).count() >= 3);

    let plain = OpenAiChat.stream_from_reply(&load(REPLY_PARALLEL)).unwrap();
    let first: Value = serde_json::from_str(&plain[0].data).unwrap();
    assert_eq!(
        first["choices"][0]["delta"],
        json!({"role": "assistant", "content": null})
    );
}

#[test]
fn accumulates_the_recorded_stream_with_usage_and_done() {
    let events: Vec<SseEvent> = serde_json::from_str(STREAM_RECORDED).unwrap();
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let body = OpenAiChat.reply_from_stream(&events).unwrap();
    assert_eq!(body["id"], "chatcmpl-ABfwAwrNePHUgBBezonVC6MX3zd63");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "gpt-4o-2024-08-06");
    assert_eq!(body["system_fingerprint"], "fp_5050236cbd");
    assert_eq!(body["usage"]["total_tokens"], 209);
    let msg = &body["choices"][0]["message"];
    assert_eq!(msg["role"], "assistant");
    assert_eq!(msg["content"], Value::Null);
    assert_eq!(
        msg["tool_calls"],
        json!([
            {"id": "call_JMW1whyEaYG438VE1OIflxA2", "type": "function", "function": {"name": "GetWeatherArgs", "arguments": "{\"city\": \"Edinburgh\", \"country\": \"GB\", \"units\": \"c\"}"}},
            {"id": "call_DNYTawLBoN8fj3KN6qU9N1Ou", "type": "function", "function": {"name": "get_stock_price", "arguments": "{\"ticker\": \"AAPL\", \"exchange\": \"NASDAQ\"}"}}
        ])
    );
    let reply = OpenAiChat.parse_reply(&body).unwrap();
    assert_eq!(reply.stop, StopReason::ToolUse);
    assert_eq!(
        reply,
        OpenAiChat.parse_reply(&load(REPLY_PARALLEL)).unwrap()
    );

    // Whatever follows [DONE] is not read.
    let mut trailing = events.clone();
    trailing.push(SseEvent::data("not json"));
    assert_eq!(OpenAiChat.reply_from_stream(&trailing).unwrap(), body);
}

#[test]
fn interleaved_fragments_merge_by_index() {
    let chunk = |delta: Value, finish: Value| {
        SseEvent::data(
            json!({"id": "chatcmpl-X", "object": "chat.completion.chunk", "created": 1, "model": "m",
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
            .to_string(),
        )
    };
    let events = vec![
        chunk(json!({"role": "assistant", "content": null}), Value::Null),
        chunk(
            json!({"tool_calls": [{"index": 1, "id": "call_B", "type": "function", "function": {"name": "b", "arguments": ""}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_A", "type": "function", "function": {"name": "a", "arguments": "{\"x\""}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 1, "function": {"arguments": "not json"}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}),
            Value::Null,
        ),
        chunk(json!({}), json!("tool_calls")),
        SseEvent::data("[DONE]"),
    ];
    let body = OpenAiChat.reply_from_stream(&events).unwrap();
    let reply = OpenAiChat.parse_reply(&body).unwrap();
    assert_eq!(
        reply.message.parts,
        [
            call("call_A", "a", json!({"x": 1})),
            call("call_B", "b", json!("not json")),
        ]
    );
}

#[test]
fn stream_errors_point_at_the_event() {
    let events: Vec<SseEvent> = serde_json::from_str(STREAM_RECORDED).unwrap();

    let e = OpenAiChat.reply_from_stream(&[]).unwrap_err();
    assert_eq!(e.path, "");
    let e = OpenAiChat
        .reply_from_stream(&[SseEvent::data("[DONE]")])
        .unwrap_err();
    assert_eq!(
        e.message,
        "expected at least one chat.completion.chunk, found none"
    );

    let mut bad = events.clone();
    bad[2].data = "{oops".into();
    let e = OpenAiChat.reply_from_stream(&bad).unwrap_err();
    assert_eq!(e.path, "[2]");

    let mut with_error = events.clone();
    with_error.insert(
        3,
        SseEvent::data(
            json!({"error": {"message": "The server had an error", "type": "server_error"}})
                .to_string(),
        ),
    );
    let e = OpenAiChat.reply_from_stream(&with_error).unwrap_err();
    assert_eq!(e.path, "[3]");
    assert_eq!(
        e.message,
        "the stream carried an error (server_error: The server had an error)"
    );

    let mut no_index = events.clone();
    no_index[2].data = no_index[2]
        .data
        .replace("\"index\":0,\"function\"", "\"function\"");
    let e = OpenAiChat.reply_from_stream(&no_index).unwrap_err();
    assert_eq!(e.path, "[2].choices[0].delta.tool_calls[0].index");
    assert_eq!(
        e.message,
        "expected the integer index of the tool call, found nothing (the field is missing)"
    );

    let mut bad_delta = events.clone();
    bad_delta[1].data = bad_delta[1].data.replace(
        "\"delta\":{\"tool_calls\"",
        "\"delta\":\"x\",\"was\":{\"tool_calls\"",
    );
    let e = OpenAiChat.reply_from_stream(&bad_delta).unwrap_err();
    assert_eq!(e.path, "[1].choices[0].delta");
}

#[test]
fn follow_up_built_from_entries_parses_back() {
    let mut request = load(REQUEST_FIRST);
    let reply = load(REPLY_PARALLEL);
    let results = [
        ResultBlock {
            call_id: "call_DNYTawLBoN8fj3KN6qU9N1Ou".into(),
            name: "get_weather".into(),
            content: "AAPL 231.40 USD".into(),
            is_error: false,
        },
        ResultBlock {
            call_id: "call_JMW1whyEaYG438VE1OIflxA2".into(),
            name: "get_weather".into(),
            content: "Error: weather service unavailable".into(),
            is_error: true,
        },
    ];
    let assistant = OpenAiChat.history_entries(&reply).unwrap();
    assert_eq!(assistant, [reply["choices"][0]["message"].clone()]);
    let entries = OpenAiChat.results_entries(&results, None);
    assert_eq!(
        entries,
        [
            json!({"role": "tool", "tool_call_id": "call_DNYTawLBoN8fj3KN6qU9N1Ou", "content": "AAPL 231.40 USD"}),
            json!({"role": "tool", "tool_call_id": "call_JMW1whyEaYG438VE1OIflxA2", "content": "Error: weather service unavailable"}),
        ]
    );
    let history = OpenAiChat.history_mut(&mut request).unwrap();
    history.extend(assistant);
    history.extend(entries);

    let req = OpenAiChat.parse_request(&request).unwrap();
    assert_eq!(req.messages.len(), 4);
    let turn = &req.messages[2];
    assert_eq!((turn.role, turn.wire_index), (Role::Assistant, 2));
    assert_eq!(
        turn.parts,
        OpenAiChat.parse_reply(&reply).unwrap().message.parts
    );
    let res = &req.messages[3];
    assert_eq!((res.role, res.wire_index, res.wire_len), (Role::Tool, 3, 2));
    assert_eq!(
        res.parts,
        [
            result("call_DNYTawLBoN8fj3KN6qU9N1Ou", "AAPL 231.40 USD"),
            result(
                "call_JMW1whyEaYG438VE1OIflxA2",
                "Error: weather service unavailable"
            ),
        ]
    );

    let with_text = OpenAiChat.results_entries(&results[..1], Some("Before the results."));
    assert_eq!(
        with_text[0],
        json!({"role": "user", "content": "Before the results."})
    );
    assert_eq!(with_text[1]["role"], "tool");
}

#[test]
fn history_mut_and_entries_check_the_body() {
    let mut bad = json!({"messages": "hi"});
    let e = OpenAiChat.history_mut(&mut bad).unwrap_err();
    assert_eq!(e.path, "messages");
    assert_eq!(e.message, "expected an array, found the string \"hi\"");
    assert_eq!(
        OpenAiChat.history_mut(&mut json!(null)).unwrap_err().path,
        ""
    );
    let e = OpenAiChat
        .history_entries(&json!({"choices": []}))
        .unwrap_err();
    assert_eq!(e.path, "choices");
}

#[test]
fn parallel_switch_round_trips() {
    let mut request = load(REQUEST_FIRST);
    assert!(
        !OpenAiChat
            .parse_request(&request)
            .unwrap()
            .parallel_disabled
    );
    OpenAiChat.set_parallel_disabled(&mut request, true);
    assert_eq!(request["parallel_tool_calls"], json!(false));
    assert!(
        OpenAiChat
            .parse_request(&request)
            .unwrap()
            .parallel_disabled
    );
    OpenAiChat.set_parallel_disabled(&mut request, false);
    assert!(request.get("parallel_tool_calls").is_none());
    assert!(
        !OpenAiChat
            .parse_request(&request)
            .unwrap()
            .parallel_disabled
    );
}

#[test]
fn error_body_and_user_entry() {
    assert_eq!(
        OpenAiChat.error_body("An assistant message with 'tool_calls' must be followed"),
        json!({"error": {
            "message": "An assistant message with 'tool_calls' must be followed",
            "type": "invalid_request_error",
            "param": null,
            "code": null
        }})
    );
    assert_eq!(
        OpenAiChat.user_text_entry("next"),
        json!({"role": "user", "content": "next"})
    );
    assert_eq!(
        crate::provider::Provider::OpenAiChat.format().name(),
        OpenAiChat.name()
    );
}

#[test]
fn tools_carry_schema_and_strictness() {
    let schema = json!({"type": "object", "properties": {"q": {"type": "string"}},
                        "required": ["q"], "additionalProperties": false});
    let req = OpenAiChat
        .parse_request(&json!({
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [
                {"type": "function", "function": {"name": "search", "parameters": schema, "strict": true}},
                {"type": "function", "function": {"name": "now"}},
                {"type": "custom", "custom": {"name": "patch", "format": {"type": "text"}}}
            ]
        }))
        .unwrap();
    assert_eq!(req.tool_names(), ["search", "now", "patch"]);
    assert_eq!(req.tools[0].input_schema.as_deref(), Some(&schema));
    assert!(req.tools[0].strict);
    // A function with no `parameters` takes an empty object; a custom tool takes free text.
    assert_eq!(
        req.tools[1].input_schema.as_deref().cloned(),
        Some(json!({"type": "object", "properties": {}}))
    );
    assert!(!req.tools[1].strict);
    assert_eq!(req.tools[2].input_schema, None);
}
