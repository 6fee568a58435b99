use super::*;
use crate::provider::test_support::*;
use crate::provider::{Format, FormatError, ResultBlock, SseEvent};
use crate::transcript::*;
use serde_json::{Value, json};

const REQUEST_HISTORY: &str = include_str!(
    "../../../../../tests/fixtures/provider/openai_responses/request_parallel_history.json"
);
const REQUEST_STATEFUL: &str = include_str!(
    "../../../../../tests/fixtures/provider/openai_responses/request_stateful_outputs.json"
);
const REQUEST_FIRST: &str =
    include_str!("../../../../../tests/fixtures/provider/openai_responses/request_first_turn.json");
const REPLY_PARALLEL: &str = include_str!(
    "../../../../../tests/fixtures/provider/openai_responses/reply_parallel_calls.json"
);
const REPLY_REASONING: &str = include_str!(
    "../../../../../tests/fixtures/provider/openai_responses/reply_reasoning_text_calls.json"
);
const REPLY_FINAL: &str =
    include_str!("../../../../../tests/fixtures/provider/openai_responses/reply_final_answer.json");
const STREAM_RECORDED: &str = include_str!(
    "../../../../../tests/fixtures/provider/openai_responses/stream_two_calls_recorded.json"
);

fn shape(req: &Request) -> Vec<(Role, usize, usize)> {
    req.messages
        .iter()
        .map(|m| (m.role, m.wire_index, m.wire_len))
        .collect()
}

fn err_of(body: Value) -> FormatError {
    rejected(&OpenAiResponses, body)
}

#[test]
fn parses_a_stateless_parallel_request_with_history() {
    let req = OpenAiResponses
        .parse_request(&load(REQUEST_HISTORY))
        .unwrap();
    assert_eq!(req.model.as_deref(), Some("o4-mini"));
    assert_eq!(req.tool_names(), ["search", "weather"]);
    assert!(!req.parallel_disabled);
    assert!(!req.stream);
    assert_eq!(req.previous_response_id, None);
    assert_eq!(
        shape(&req),
        [
            (Role::System, 0, 0),
            (Role::User, 0, 1),
            (Role::Assistant, 1, 3),
            (Role::Tool, 4, 2),
            (Role::Assistant, 6, 1),
            (Role::User, 7, 1),
        ]
    );
    assert_eq!(
        req.messages[0].parts,
        [Part::Text(
            "You are a sports and weather assistant. Call independent tools in parallel.".into()
        )]
    );
    assert_eq!(
        req.messages[1].parts,
        [Part::Text(
            "When is the Tigers game and what's the weather in Detroit?".into()
        )]
    );
    let turn = &req.messages[2].parts;
    assert!(matches!(&turn[0], Part::Other(r) if r["type"] == "reasoning"));
    // The call id is `call_id`, never the `fc_` item id.
    assert_eq!(
        turn[1..],
        [
            call(
                "call_6irqoFHScAWPUZs0wKOD2EOW",
                "search",
                json!({"query": "Tigers game time October 6, 2023"})
            ),
            call(
                "call_RBMR4MVKXHFyKcGfqCLTrbdP",
                "weather",
                json!({"city": "Detroit"})
            ),
        ]
    );
    assert_eq!(
        req.messages[3].parts,
        [
            result("call_RBMR4MVKXHFyKcGfqCLTrbdP", "Detroit: 18°C, clear"),
            result(
                "call_6irqoFHScAWPUZs0wKOD2EOW",
                "First pitch 1:07 PM\nComerica Park"
            ),
        ]
    );
    assert_eq!(
        req.messages[4].parts,
        [Part::Text(
            "First pitch is at 1:07 PM; Detroit will be 18°C and clear.".into()
        )]
    );
    assert_eq!(req.messages[5].parts.len(), 2);
    assert_eq!(
        req.messages[5].parts[0],
        Part::Text("And tomorrow's forecast?".into())
    );
    assert!(matches!(&req.messages[5].parts[1], Part::Other(p) if p["type"] == "input_image"));
}

#[test]
fn parses_a_stateful_request_and_string_input() {
    let req = OpenAiResponses
        .parse_request(&load(REQUEST_STATEFUL))
        .unwrap();
    assert_eq!(
        req.previous_response_id.as_deref(),
        Some("resp_684b3f920c38819b9ab7c6ae941d7bbc06a71505999f7ca4")
    );
    assert!(req.parallel_disabled);
    assert!(req.stream);
    assert_eq!(shape(&req), [(Role::Tool, 0, 2)]);
    assert_eq!(req.messages[0].results().count(), 2);

    let first = OpenAiResponses.parse_request(&load(REQUEST_FIRST)).unwrap();
    assert_eq!(shape(&first), [(Role::System, 0, 0), (Role::User, 0, 1)]);
    assert_eq!(
        first.messages[1].parts,
        [Part::Text(
            "When is the Tigers game and what's the weather in Detroit?".into()
        )]
    );
}

#[test]
fn groups_follow_item_kinds() {
    let req = OpenAiResponses
        .parse_request(&json!({"input": [
            {"type": "message", "role": "developer", "content": "Be terse."},
            {"role": "system", "content": [{"type": "input_text", "text": "Rule two."}]},
            {"type": "web_search_call", "id": "ws_1", "status": "completed"},
            {"role": "assistant", "content": "Searching."},
            {"type": "function_call", "call_id": "call_1", "name": "a", "arguments": "{\"x\":"},
            {"type": "function_call_output", "call_id": "call_1", "output": null},
            {"type": "custom_tool_call_output", "call_id": "call_2", "output": "x"},
            {"type": "function_call_output", "call_id": "call_3"},
            {"type": "mcp_approval_response", "approve": true, "approval_request_id": "mcpr_1"},
            {"type": "function_call_output", "call_id": "call_4", "output": "late"}
        ]}))
        .unwrap();
    assert_eq!(
        shape(&req),
        [
            (Role::System, 0, 1),
            (Role::System, 1, 1),
            (Role::Assistant, 2, 3),
            (Role::Tool, 5, 3),
            (Role::User, 8, 1),
            (Role::Tool, 9, 1),
        ]
    );
    assert_eq!(
        req.messages[2].parts[2],
        call("call_1", "a", json!("{\"x\":"))
    );
    assert_eq!(req.messages[3].parts[0], result("call_1", ""));
    assert_eq!(req.messages[3].parts[2], result("call_3", ""));
    assert!(matches!(&req.messages[3].parts[1], Part::Other(_)));
}

#[test]
fn malformed_requests_say_where_and_what() {
    let e = err_of(json!(null));
    assert_eq!(e.path, "");
    assert_eq!(e.message, "expected a request object, found null");

    let e = err_of(json!({"model": "gpt-4o"}));
    assert_eq!(e.path, "input");
    assert_eq!(
        e.message,
        "expected a string or an array of input items, found nothing (the field is missing)"
    );

    let e = err_of(json!({"input": [
        {"role": "user", "content": "hi"},
        {"type": "function_call", "id": "fc_1", "name": "a", "arguments": "{}"}
    ]}));
    assert_eq!(e.path, "input[1].call_id");

    let e = err_of(json!({"input": [{"type": "function_call_output", "output": "x"}]}));
    assert_eq!(e.path, "input[0].call_id");
    assert_eq!(
        e.message,
        "expected a string, found nothing (the field is missing)"
    );

    let e = err_of(
        json!({"input": [{"type": "function_call", "call_id": "c", "name": "a", "arguments": {}}]}),
    );
    assert_eq!(e.path, "input[0].arguments");

    // An unknown role is kept (issue #10 item 11); a role that is not a string is refused.
    let e = err_of(json!({"input": [{"role": 7, "content": "x"}]}));
    assert_eq!(e.path, "input[0].role");

    let e = err_of(json!({"input": [{"content": "x"}]}));
    assert_eq!(e.path, "input[0]");

    let e = err_of(json!({"input": [{"role": "user"}]}));
    assert_eq!(e.path, "input[0].content");

    let e =
        err_of(json!({"input": [{"type": "function_call_output", "call_id": "c", "output": 3}]}));
    assert_eq!(e.path, "input[0].output");

    let e = err_of(json!({"input": [], "instructions": ["x"]}));
    assert_eq!(e.path, "instructions");

    let e = err_of(json!({"input": [], "previous_response_id": 1}));
    assert_eq!(e.path, "previous_response_id");
}

#[test]
fn parses_replies() {
    let reply = OpenAiResponses.parse_reply(&load(REPLY_PARALLEL)).unwrap();
    assert_eq!(
        reply.id.as_deref(),
        Some("resp_684b3f920c38819b9ab7c6ae941d7bbc06a71505999f7ca4")
    );
    assert_eq!(reply.stop, StopReason::ToolUse);
    assert_eq!(
        (
            reply.message.role,
            reply.message.wire_index,
            reply.message.wire_len
        ),
        (Role::Assistant, 0, 2)
    );
    assert_eq!(
        reply.message.parts,
        [
            call(
                "call_6irqoFHScAWPUZs0wKOD2EOW",
                "search",
                json!({"query": "Tigers game time October 6, 2023"})
            ),
            call(
                "call_RBMR4MVKXHFyKcGfqCLTrbdP",
                "weather",
                json!({"city": "Detroit"})
            ),
        ]
    );

    let mixed = OpenAiResponses.parse_reply(&load(REPLY_REASONING)).unwrap();
    assert_eq!(mixed.message.wire_len, 4);
    assert_eq!(mixed.stop, StopReason::ToolUse);
    assert!(matches!(&mixed.message.parts[0], Part::Other(r) if r["type"] == "reasoning"));
    assert_eq!(
        mixed.message.parts[1],
        Part::Text("Let me look up the game time and the Detroit weather.".into())
    );
    assert_eq!(mixed.calls().len(), 2);
    assert_eq!(mixed.calls()[1].id, "call_gH6jK9lM2nP5qR8sT1uV4wX7");

    let fin = OpenAiResponses.parse_reply(&load(REPLY_FINAL)).unwrap();
    assert_eq!(fin.stop, StopReason::EndTurn);
    assert_eq!(fin.message.wire_len, 1);

    let mut cut = load(REPLY_FINAL);
    cut["status"] = json!("incomplete");
    assert_eq!(
        OpenAiResponses.parse_reply(&cut).unwrap().stop,
        StopReason::Other("incomplete".into())
    );
}

#[test]
fn malformed_replies() {
    let mut no_status = load(REPLY_FINAL);
    no_status.as_object_mut().unwrap().remove("status");
    let e = OpenAiResponses.parse_reply(&no_status).unwrap_err();
    assert_eq!(e.path, "status");
    assert_eq!(
        e.message,
        "expected a status string, found nothing (the field is missing)"
    );

    let mut bad_call = load(REPLY_PARALLEL);
    bad_call["output"][1]["name"] = json!(7);
    let e = OpenAiResponses.parse_reply(&bad_call).unwrap_err();
    assert_eq!(e.path, "output[1].name");
    assert_eq!(e.message, "expected a string, found the number 7");

    let e = OpenAiResponses
        .parse_reply(&OpenAiResponses.error_body("No tool output found"))
        .unwrap_err();
    assert_eq!(e.path, "");
    assert!(e.message.contains("No tool output found"));
}

#[test]
fn stream_round_trip_on_every_fixture_reply() {
    for text in [REPLY_PARALLEL, REPLY_REASONING, REPLY_FINAL] {
        let body = load(text);
        let events = OpenAiResponses.stream_from_reply(&body).unwrap();
        let rebuilt = OpenAiResponses.reply_from_stream(&events).unwrap();
        assert_eq!(rebuilt, body);
        assert_eq!(
            OpenAiResponses.parse_reply(&rebuilt).unwrap(),
            OpenAiResponses.parse_reply(&body).unwrap()
        );
    }
}

/// What the SDK accumulators would rebuild from the item events alone matches the body: the
/// events are right, not only the final `response.completed`.
#[test]
fn emitted_events_rebuild_every_item() {
    for text in [REPLY_PARALLEL, REPLY_REASONING, REPLY_FINAL] {
        let body = load(text);
        let events = OpenAiResponses.stream_from_reply(&body).unwrap();
        let datas: Vec<Value> = events
            .iter()
            .map(|e| serde_json::from_str(&e.data).unwrap())
            .collect();
        for (n, (e, d)) in events.iter().zip(&datas).enumerate() {
            assert_eq!(e.event.as_deref(), d["type"].as_str());
            assert_eq!(d["sequence_number"], n, "sequence numbers count from 0");
            assert_eq!(e.gap_ms, 0);
        }
        assert_eq!(datas[0]["type"], "response.created");
        assert_eq!(datas[0]["response"]["status"], "in_progress");
        assert_eq!(datas[0]["response"]["output"], json!([]));
        assert_eq!(datas[0]["response"]["usage"], Value::Null);
        assert_eq!(datas[1]["type"], "response.in_progress");
        assert_eq!(datas.last().unwrap()["type"], "response.completed");

        let mut output: Vec<Value> = Vec::new();
        for d in &datas {
            let k = d["output_index"].as_u64().unwrap_or(0) as usize;
            match d["type"].as_str().unwrap() {
                "response.output_item.added" => {
                    assert_eq!(k, output.len(), "items are added in order");
                    if d["item"]["type"] == "function_call" {
                        assert_eq!(d["item"]["status"], "in_progress");
                        assert_eq!(d["item"]["arguments"], "");
                    }
                    output.push(d["item"].clone());
                }
                "response.function_call_arguments.delta" => {
                    assert_eq!(d["item_id"], output[k]["id"]);
                    let mut args = output[k]["arguments"].as_str().unwrap().to_string();
                    args.push_str(d["delta"].as_str().unwrap());
                    output[k]["arguments"] = json!(args);
                }
                "response.content_part.added" => {
                    output[k]["content"]
                        .as_array_mut()
                        .unwrap()
                        .push(d["part"].clone());
                }
                "response.output_text.delta" => {
                    let c = d["content_index"].as_u64().unwrap() as usize;
                    let part = &mut output[k]["content"][c];
                    let text = format!(
                        "{}{}",
                        part["text"].as_str().unwrap(),
                        d["delta"].as_str().unwrap()
                    );
                    part["text"] = json!(text);
                }
                "response.reasoning_summary_part.added" => {
                    output[k]["summary"]
                        .as_array_mut()
                        .unwrap()
                        .push(d["part"].clone());
                }
                "response.reasoning_summary_text.delta" => {
                    let s = d["summary_index"].as_u64().unwrap() as usize;
                    let part = &mut output[k]["summary"][s];
                    let text = format!(
                        "{}{}",
                        part["text"].as_str().unwrap(),
                        d["delta"].as_str().unwrap()
                    );
                    part["text"] = json!(text);
                }
                "response.output_item.done" => {
                    assert_eq!(d["item"], body["output"][k]);
                    let mut built = output[k].clone();
                    if built.get("status").is_some() {
                        built["status"] = d["item"]["status"].clone();
                    }
                    assert_eq!(built, body["output"][k], "deltas rebuild item {k}");
                }
                _ => {}
            }
        }
        assert_eq!(output.len(), body["output"].as_array().unwrap().len());
    }
}

#[test]
fn accumulates_the_recorded_two_call_stream() {
    let events: Vec<SseEvent> = serde_json::from_str(STREAM_RECORDED).unwrap();
    let body = OpenAiResponses.reply_from_stream(&events).unwrap();
    assert_eq!(body, load(REPLY_PARALLEL));
    let reply = OpenAiResponses.parse_reply(&body).unwrap();
    assert_eq!(reply.stop, StopReason::ToolUse);
    assert_eq!(
        reply
            .calls()
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        [
            "call_6irqoFHScAWPUZs0wKOD2EOW",
            "call_RBMR4MVKXHFyKcGfqCLTrbdP"
        ]
    );
    // The recording (its argument deltas merged) and the emitted stream have the same event
    // sequence once repeated deltas are collapsed.
    let ours = OpenAiResponses.stream_from_reply(&body).unwrap();
    let names = |evs: &[SseEvent]| -> Vec<Option<String>> {
        let mut names: Vec<Option<String>> = evs.iter().map(|e| e.event.clone()).collect();
        names.dedup();
        names
    };
    assert_eq!(names(&ours), names(&events));
}

#[test]
fn stream_errors_point_at_the_event() {
    let events: Vec<SseEvent> = serde_json::from_str(STREAM_RECORDED).unwrap();

    let e = OpenAiResponses.reply_from_stream(&[]).unwrap_err();
    assert_eq!(e.path, "");

    let e = OpenAiResponses.reply_from_stream(&events[1..]).unwrap_err();
    assert_eq!(e.path, "[0]");
    assert_eq!(
        e.message,
        "expected the stream to begin with response.created, found \"response.in_progress\""
    );

    let e = OpenAiResponses
        .reply_from_stream(&events[..events.len() - 1])
        .unwrap_err();
    assert_eq!(e.path, "");
    assert_eq!(
        e.message,
        "expected a response.completed event, found none (the stream ended early)"
    );

    let mut with_error = events[..4].to_vec();
    with_error.push(SseEvent::named(
        "error",
        &json!({"type": "error", "sequence_number": 4, "code": "server_error", "message": "The server had an error"}),
    ));
    let e = OpenAiResponses.reply_from_stream(&with_error).unwrap_err();
    assert_eq!(e.path, "[4]");
    assert_eq!(
        e.message,
        "the stream carried an error event (server_error: The server had an error)"
    );

    let mut failed = events[..2].to_vec();
    failed.push(SseEvent::named(
        "response.failed",
        &json!({"type": "response.failed", "sequence_number": 2, "response": {"id": "resp_1", "status": "failed", "error": {"code": "rate_limit_exceeded", "message": "Slow down"}}}),
    ));
    let e = OpenAiResponses.reply_from_stream(&failed).unwrap_err();
    assert_eq!(e.path, "[2]");
    assert_eq!(
        e.message,
        "the response failed (rate_limit_exceeded: Slow down)"
    );

    let mut bad_completed = events.clone();
    let last = bad_completed.len() - 1;
    bad_completed[last] = SseEvent::named(
        "response.completed",
        &json!({"type": "response.completed", "sequence_number": 10, "response": "done"}),
    );
    let e = OpenAiResponses
        .reply_from_stream(&bad_completed)
        .unwrap_err();
    assert_eq!(e.path, "[10].response");

    // A stray terminator before the first event does not excuse a missing response.created.
    let mut late_start = vec![SseEvent::data("[DONE]")];
    late_start.extend_from_slice(&events[1..]);
    let e = OpenAiResponses.reply_from_stream(&late_start).unwrap_err();
    assert_eq!(e.path, "[1]");

    let mut garbled = events.clone();
    garbled[3].data = "{".into();
    assert_eq!(
        OpenAiResponses
            .reply_from_stream(&garbled)
            .unwrap_err()
            .path,
        "[3]"
    );
}

#[test]
fn follow_up_built_from_entries_parses_back() {
    let mut request = load(REQUEST_FIRST);
    let reply = load(REPLY_REASONING);
    let results = [
        ResultBlock {
            call_id: "call_gH6jK9lM2nP5qR8sT1uV4wX7".into(),
            name: "get_weather".into(),
            content: "Detroit tonight: 15°C".into(),
            is_error: false,
        },
        ResultBlock {
            call_id: "call_kP3sQ9vT2wX5yZ8aB1cD4eF7".into(),
            name: "get_weather".into(),
            content: "Error: search backend unavailable".into(),
            is_error: true,
        },
    ];
    let items = OpenAiResponses.history_entries(&reply).unwrap();
    assert_eq!(items, reply["output"].as_array().unwrap().clone());
    let entries = OpenAiResponses.results_entries(&results, None);
    assert_eq!(
        entries[1],
        json!({"type": "function_call_output", "call_id": "call_kP3sQ9vT2wX5yZ8aB1cD4eF7", "output": "Error: search backend unavailable"})
    );
    // The string input becomes the equivalent one-message array.
    let history = OpenAiResponses.history_mut(&mut request).unwrap();
    assert_eq!(
        history,
        &[
            json!({"role": "user", "content": "When is the Tigers game and what's the weather in Detroit?"})
        ]
    );
    history.extend(items);
    history.extend(entries);

    let req = OpenAiResponses.parse_request(&request).unwrap();
    assert_eq!(
        shape(&req),
        [
            (Role::System, 0, 0),
            (Role::User, 0, 1),
            (Role::Assistant, 1, 4),
            (Role::Tool, 5, 2),
        ]
    );
    assert_eq!(
        req.messages[2].parts,
        OpenAiResponses.parse_reply(&reply).unwrap().message.parts
    );
    assert_eq!(
        req.messages[3].parts,
        [
            result("call_gH6jK9lM2nP5qR8sT1uV4wX7", "Detroit tonight: 15°C"),
            result(
                "call_kP3sQ9vT2wX5yZ8aB1cD4eF7",
                "Error: search backend unavailable"
            ),
        ]
    );

    let with_text = OpenAiResponses.results_entries(&results[..1], Some("Results:"));
    assert_eq!(with_text[0], json!({"role": "user", "content": "Results:"}));
    assert_eq!(with_text[1]["type"], "function_call_output");
}

#[test]
fn history_mut_handles_missing_and_wrong_input() {
    let mut missing = json!({"model": "gpt-4o"});
    assert!(
        OpenAiResponses
            .history_mut(&mut missing)
            .unwrap()
            .is_empty()
    );
    assert_eq!(missing["input"], json!([]));
    let mut bad = json!({"input": 3});
    let e = OpenAiResponses.history_mut(&mut bad).unwrap_err();
    assert_eq!(e.path, "input");
    assert_eq!(e.message, "expected an array, found the number 3");
    assert_eq!(
        OpenAiResponses
            .history_mut(&mut json!([]))
            .unwrap_err()
            .path,
        ""
    );
    let e = OpenAiResponses
        .history_entries(&json!({"id": "resp_1"}))
        .unwrap_err();
    assert_eq!(e.path, "output");
}

#[test]
fn parallel_switch_round_trips() {
    let mut request = load(REQUEST_FIRST);
    assert!(
        !OpenAiResponses
            .parse_request(&request)
            .unwrap()
            .parallel_disabled
    );
    OpenAiResponses.set_parallel_disabled(&mut request, true);
    assert_eq!(request["parallel_tool_calls"], json!(false));
    assert!(
        OpenAiResponses
            .parse_request(&request)
            .unwrap()
            .parallel_disabled
    );
    OpenAiResponses.set_parallel_disabled(&mut request, false);
    assert_eq!(request, load(REQUEST_FIRST));
}

#[test]
fn error_body_and_user_entry() {
    assert_eq!(
        OpenAiResponses.error_body("No tool call found for function call output"),
        json!({"error": {
            "message": "No tool call found for function call output",
            "type": "invalid_request_error",
            "param": null,
            "code": null
        }})
    );
    assert_eq!(
        OpenAiResponses.user_text_entry("next"),
        json!({"role": "user", "content": "next"})
    );
    assert_eq!(
        crate::provider::Provider::OpenAiResponses.format().name(),
        OpenAiResponses.name()
    );
}

#[test]
fn tools_carry_schema_and_strict_defaults_to_true() {
    let schema = json!({"type": "object", "properties": {"q": {"type": "string"}}});
    let req = OpenAiResponses
        .parse_request(&json!({
            "model": "m", "input": "hi",
            "tools": [
                {"type": "function", "name": "search", "parameters": schema},
                {"type": "function", "name": "loose", "parameters": schema, "strict": false},
                {"type": "web_search"}
            ]
        }))
        .unwrap();
    assert_eq!(req.tool_names(), ["search", "loose"]);
    assert_eq!(req.tools[0].input_schema.as_deref(), Some(&schema));
    assert!(req.tools[0].strict);
    assert!(!req.tools[1].strict);
}
