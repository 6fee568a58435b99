use super::ids::{fingerprint, synthetic};
use super::*;
use crate::provider::test_support::*;
use crate::provider::{ApiFault, Format, FormatError, Provider, ResultBlock, SseEvent};
use crate::transcript::*;
use serde_json::{Value, json};

const REQUEST_HISTORY: &str =
    include_str!("../../../../../tests/fixtures/provider/gemini/request_parallel_history.json");
const REQUEST_NO_IDS: &str =
    include_str!("../../../../../tests/fixtures/provider/gemini/request_no_ids_snake_case.json");
const REPLY_PARALLEL: &str =
    include_str!("../../../../../tests/fixtures/provider/gemini/reply_parallel_calls.json");
const REPLY_NO_IDS: &str =
    include_str!("../../../../../tests/fixtures/provider/gemini/reply_no_ids.json");
const REPLY_FINAL: &str =
    include_str!("../../../../../tests/fixtures/provider/gemini/reply_final_answer.json");
const STREAM_RECORDED: &str = include_str!(
    "../../../../../tests/fixtures/provider/gemini/stream_calls_one_per_chunk_recorded.json"
);

fn err_of(body: Value) -> FormatError {
    rejected(&Gemini, body)
}

/// The synthetic ids of the Lisbon/Oslo/Rome turn of the id-less fixtures.
fn no_id_ids() -> Vec<String> {
    let (l, o, r) = (
        json!({"city": "Lisbon"}),
        json!({"city": "Oslo"}),
        json!({"city": "Rome"}),
    );
    let fp = fingerprint([
        ("get_weather", &l),
        ("get_weather", &o),
        ("get_weather", &r),
    ]);
    (0..3)
        .map(|k| synthetic("get_weather", k, Some(fp)))
        .collect()
}

fn other(v: Value) -> Part {
    Part::Other(v)
}

#[test]
fn parses_a_parallel_request_with_history() {
    let req = Gemini.parse_request(&load(REQUEST_HISTORY)).unwrap();
    assert_eq!(req.tool_names(), ["get_weather", "get_time"]);
    assert_eq!(req.model, None, "the model is in the URL");
    assert!(!req.stream, "the URL says whether it streams");
    assert!(req.parallel_disabled, "Gemini has no switch to set");
    assert_eq!(req.messages.len(), 6);

    let system = &req.messages[0];
    assert_eq!(
        (system.role, system.wire_index, system.wire_len),
        (Role::System, 0, 0)
    );
    assert_eq!(
        system.parts,
        [Part::Text(
            "You are a travel assistant. Call independent tools in parallel.".into()
        )]
    );
    assert_eq!(
        (req.messages[1].role, req.messages[1].wire_index),
        (Role::User, 0)
    );

    let model = &req.messages[2];
    assert_eq!(
        (model.role, model.wire_index, model.wire_len),
        (Role::Assistant, 1, 1)
    );
    assert_eq!(
        model.parts,
        [
            call("call_4162774", "get_weather", json!({"city": "Paris"})),
            other(json!({"thoughtSignature": "CiQBcsjafE2mZq0sig1"})),
            call("call_4162775", "get_weather", json!({"city": "Tokyo"})),
            call(
                "call_4162776",
                "get_time",
                json!({"timezone": "Asia/Tokyo"})
            ),
        ]
    );

    let results = &req.messages[3];
    assert_eq!((results.role, results.wire_index), (Role::User, 2));
    assert_eq!(
        results.parts,
        [
            flagged("call_4162775", "Tokyo: 21°C, clear", Some(false)),
            flagged(
                "call_4162774",
                "weather backend timed out after 30s",
                Some(true)
            ),
            flagged(
                "call_4162776",
                "{\"time\":\"22:05\",\"zone\":\"JST\"}",
                Some(false)
            ),
        ]
    );

    // Two text parts in a row read as one text (streams deliver text in pieces).
    assert_eq!(
        req.messages[4].parts,
        [Part::Text(
            "Tokyo is clear at 21°C; it is 22:05 there. Paris timed out.".into()
        )]
    );
    assert_eq!(
        req.messages[5].parts,
        [Part::Text("Try Paris again, please.".into())]
    );
}

#[test]
fn calls_without_ids_pair_by_name_then_position_in_reply_and_history_alike() {
    let ids = no_id_ids();
    let reply = Gemini.parse_reply(&load(REPLY_NO_IDS)).unwrap();
    let got: Vec<&str> = reply.calls().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(got, ids);
    assert!(
        Gemini
            .pairing_note(&reply)
            .is_some_and(|n| n.contains("by name, then by position"))
    );
    assert_eq!(
        Gemini.pairing_note(&Gemini.parse_reply(&load(REPLY_PARALLEL)).unwrap()),
        None
    );

    // snake_case throughout, role "function", `result` as google-genai's own loop sends.
    let req = Gemini.parse_request(&load(REQUEST_NO_IDS)).unwrap();
    assert_eq!(req.tool_names(), ["get_weather"]);
    assert_eq!(req.messages[0].parts, [Part::Text("Use the tools.".into())]);
    assert_eq!(req.messages[2].parts, reply.message.parts);
    assert_eq!(req.messages[3].role, Role::Tool);
    assert_eq!(
        req.messages[3].parts,
        [
            flagged(&ids[0], "Lisbon: 22°C", Some(false)),
            flagged(&ids[1], "Oslo: 9°C", Some(false)),
            flagged(&ids[2], "Rome: 25°C", Some(false)),
        ]
    );

    // The outputs of two same-name calls swapped: position decides, so Oslo's answer now
    // sits under Lisbon's call, which the rules report as mismatched.
    let mut swapped = load(REQUEST_NO_IDS);
    let parts = swapped["contents"][2]["parts"].as_array_mut().unwrap();
    parts.swap(0, 1);
    let req = Gemini.parse_request(&swapped).unwrap();
    assert_eq!(
        req.messages[3].parts[..2],
        [
            flagged(&ids[0], "Oslo: 9°C", Some(false)),
            flagged(&ids[1], "Lisbon: 22°C", Some(false)),
        ]
    );
}

#[test]
fn results_spread_over_contents_keep_pairing_and_extras_get_ids_no_call_has() {
    let ids = no_id_ids();
    let mut body = load(REQUEST_NO_IDS);
    let parts = body["contents"][2]["parts"].as_array().unwrap().clone();
    body["contents"][2]["parts"] = json!([parts[0]]);
    body["contents"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "user", "parts": [parts[1], parts[2], parts[2]]}));
    let req = Gemini.parse_request(&body).unwrap();
    let result_ids: Vec<String> = req
        .messages
        .iter()
        .flat_map(|m| m.results().map(|r| r.call_id.clone()))
        .collect();
    let fp = ids[0].rsplit_once('@').unwrap().1;
    assert_eq!(
        result_ids,
        [
            ids[0].clone(),
            ids[1].clone(),
            ids[2].clone(),
            format!("get_weather#3@{fp}")
        ]
    );

    // Without a call turn before them, results pair with nothing.
    let lone = json!({"contents": [
        {"role": "user", "parts": [{"text": "hi"}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {}}}]}
    ]});
    let req = Gemini.parse_request(&lone).unwrap();
    assert_eq!(
        req.messages[1].parts,
        [flagged("get_weather#0@none", "{}", Some(false))]
    );

    // A result that carries an id keeps it, paired or not.
    let mut with_id = load(REQUEST_NO_IDS);
    with_id["contents"][2]["parts"][0]["function_response"]["id"] = json!("call_x");
    let req = Gemini.parse_request(&with_id).unwrap();
    let got: Vec<&str> = req.messages[3]
        .results()
        .map(|r| r.call_id.as_str())
        .collect();
    assert_eq!(got, ["call_x", ids[0].as_str(), ids[1].as_str()]);
}

#[test]
fn other_arguments_give_other_ids_and_spelling_does_not() {
    let a = Gemini.parse_reply(&load(REPLY_NO_IDS)).unwrap();
    let mut other_args = load(REPLY_NO_IDS);
    other_args["candidates"][0]["content"]["parts"][0]["functionCall"]["args"] =
        json!({"city": "Porto"});
    let b = Gemini.parse_reply(&other_args).unwrap();
    assert_ne!(a.calls()[1].id, b.calls()[1].id);
    // Key order and spelling do not change them.
    let mut respelled = load(REPLY_NO_IDS);
    let part = respelled["candidates"][0]["content"]["parts"][0].take();
    respelled["candidates"][0]["content"]["parts"][0] =
        json!({"function_call": {"args": part["functionCall"]["args"], "name": "get_weather"}});
    let c = Gemini.parse_reply(&respelled).unwrap();
    assert_eq!(a.calls(), c.calls());
}

#[test]
fn malformed_requests_say_where_and_what() {
    let e = err_of(json!([1]));
    assert_eq!(
        (e.path.as_str(), e.message.as_str()),
        ("", "expected a request object, found an array of 1 item(s)")
    );

    let e = err_of(json!({"model": "gemini-2.5-flash"}));
    assert_eq!(e.path, "contents");
    assert_eq!(
        e.message,
        "expected an array of contents, found nothing (the field is missing)"
    );

    let e = err_of(json!({"contents": [{"role": "assistant", "parts": []}]}));
    assert_eq!(e.path, "contents[0].role");
    assert!(e.message.starts_with("expected \"user\" or \"model\""));
    assert!(
        e.message
            .contains("found \"assistant\": the API refuses it")
    );

    let e = err_of(json!({"contents": [{"role": "user", "content": "hi"}]}));
    assert_eq!(e.path, "contents[0].parts");

    let e = err_of(json!({"contents": [{"role": "user", "parts": ["hi"]}]}));
    assert_eq!(e.path, "contents[0].parts[0]");
    assert_eq!(e.message, "expected a part object, found the string \"hi\"");

    let e = err_of(json!({"contents": [{"role": "model", "parts": [
        {"functionCall": {"name": "get_weather", "args": "{\"city\": \"Paris\"}"}}
    ]}]}));
    assert_eq!(e.path, "contents[0].parts[0].functionCall.args");
    assert!(
        e.message
            .starts_with("expected an object (the call's arguments)")
    );

    let e = err_of(json!({"contents": [{"role": "model", "parts": [
        {"function_call": {"args": {}}}
    ]}]}));
    assert_eq!(e.path, "contents[0].parts[0].function_call.name");

    // The real API's own text for an empty name, with its path.
    let e = err_of(json!({"contents": [
        {"role": "user", "parts": [{"text": "go"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "a", "args": {}}}]},
        {"role": "user", "parts": [{"text": "x"}, {"functionResponse": {"name": "", "response": {}}}]}
    ]}));
    assert_eq!(e.path, "contents[2].parts[1].functionResponse.name");
    assert_eq!(
        e.message,
        "Name cannot be empty (the real API answers 400 INVALID_ARGUMENT: \"* GenerateContentRequest.contents[2].parts[1].function_response.name: Name cannot be empty.\")"
    );

    let e = err_of(json!({"contents": [{"role": "user", "parts": [
        {"functionResponse": {"name": "a", "response": "ok"}}
    ]}]}));
    assert_eq!(e.path, "contents[0].parts[0].functionResponse.response");

    let e = err_of(json!({"contents": [], "tools": [{"functionDeclarations": {}}]}));
    assert_eq!(e.path, "tools[0].functionDeclarations");
    let e = err_of(json!({"contents": [], "systemInstruction": 3}));
    assert_eq!(e.path, "systemInstruction");
}

#[test]
fn unknown_parts_are_kept_whole() {
    let body = json!({"contents": [{"role": "user", "parts": [
        {"inline_data": {"mime_type": "image/png", "data": "iVBORw0KGgo="}},
        {"text": "What is this?"},
        {"someFuturePart": {"x": 1}}
    ]}, {"role": "model", "parts": [
        {"thought": true, "text": "Thinking "},
        {"thought": true, "text": "it over.", "thoughtSignature": "sig"},
        {"executableCode": {"language": "PYTHON", "code": "print(1)"}}
    ]}]});
    let req = Gemini.parse_request(&body).unwrap();
    assert_eq!(
        req.messages[0].parts,
        [
            other(json!({"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}})),
            Part::Text("What is this?".into()),
            other(json!({"someFuturePart": {"x": 1}})),
        ]
    );
    assert_eq!(
        req.messages[1].parts,
        [
            other(json!({"thought": true, "text": "Thinking it over.", "thoughtSignature": "sig"})),
            other(json!({"executableCode": {"language": "PYTHON", "code": "print(1)"}})),
        ]
    );
}

#[test]
fn parses_replies() {
    let reply = Gemini.parse_reply(&load(REPLY_PARALLEL)).unwrap();
    assert_eq!(reply.id.as_deref(), Some("Qv8UacqRK4Xb7M8PtfyIuAk"));
    assert_eq!(
        reply.stop,
        StopReason::ToolUse,
        "calls end with STOP; they decide"
    );
    assert_eq!(reply.message.role, Role::Assistant);
    assert_eq!(reply.calls().len(), 3);
    assert_eq!(
        reply.message.parts[..2],
        [
            Part::Text("I'll check both cities and the time at once.".into()),
            call("call_4162774", "get_weather", json!({"city": "Paris"})),
        ]
    );

    let fin = Gemini.parse_reply(&load(REPLY_FINAL)).unwrap();
    assert_eq!(fin.stop, StopReason::EndTurn);
    assert!(!fin.wants_tools());
    let mut capped = load(REPLY_FINAL);
    capped["candidates"][0]["finishReason"] = json!("MAX_TOKENS");
    assert_eq!(
        Gemini.parse_reply(&capped).unwrap().stop,
        StopReason::Other("MAX_TOKENS".into())
    );
    // A candidate stopped before any content (SAFETY) has no parts.
    let empty = json!({"candidates": [{"finishReason": "SAFETY"}]});
    assert!(Gemini.parse_reply(&empty).unwrap().message.parts.is_empty());
}

#[test]
fn malformed_replies() {
    let e = Gemini
        .parse_reply(&Gemini.error_body("Please ensure that …"))
        .unwrap_err();
    assert_eq!(e.path, "");
    assert!(e.message.contains("INVALID_ARGUMENT: Please ensure that …"));

    let e = Gemini
        .parse_reply(&json!({"promptFeedback": {"blockReason": "SAFETY"}}))
        .unwrap_err();
    assert_eq!(e.path, "candidates");
    assert!(e.message.contains("blockReason"), "{}", e.message);

    let e = Gemini.parse_reply(&json!({"candidates": []})).unwrap_err();
    assert_eq!(
        e.message,
        "expected at least one candidate, found an empty array"
    );

    let mut bad = load(REPLY_PARALLEL);
    bad["candidates"][0]["content"]["parts"][1]["functionCall"]["name"] = json!("");
    let e = Gemini.parse_reply(&bad).unwrap_err();
    assert_eq!(e.path, "candidates[0].content.parts[1].functionCall.name");
    assert_eq!(e.message, "Name cannot be empty");
}

fn datas(events: &[SseEvent]) -> Vec<Value> {
    events
        .iter()
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect()
}

fn parts_of(chunk: &Value) -> &Vec<Value> {
    chunk["candidates"][0]["content"]["parts"]
        .as_array()
        .unwrap()
}

/// The property the mock relies on: streaming a reply either way and accumulating it back gives
/// the same reply.
#[test]
fn stream_round_trip_both_ways_on_every_fixture_reply() {
    for text in [REPLY_PARALLEL, REPLY_NO_IDS, REPLY_FINAL] {
        let body = load(text);
        for chunking in [StreamChunking::OneChunk, StreamChunking::CallPerChunk] {
            let events = Gemini.stream_from_reply_as(&body, chunking).unwrap();
            assert!(
                events
                    .iter()
                    .all(|e| e.event.is_none() && e.data != "[DONE]")
            );
            let rebuilt = Gemini.reply_from_stream(&events).unwrap();
            assert_eq!(rebuilt, body, "{chunking:?}");
            assert_eq!(
                Gemini.parse_reply(&rebuilt).unwrap(),
                Gemini.parse_reply(&body).unwrap()
            );
        }
    }
}

#[test]
fn streams_put_all_calls_in_one_chunk_or_each_in_its_own() {
    let body = load(REPLY_PARALLEL);
    let together = datas(&Gemini.stream_from_reply(&body).unwrap());
    let last = together.last().unwrap();
    assert_eq!(parts_of(last).len(), 3, "every call in the last chunk");
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["usageMetadata"]["totalTokenCount"], 273);
    assert_eq!(
        parts_of(last)[0]["thoughtSignature"],
        "CiQBcsjafE2mZq0sig1",
        "the signature stays on the first call"
    );
    // Text first, in pieces, before the calls; every chunk names the response.
    assert!(together.len() >= 3);
    for chunk in &together[..together.len() - 1] {
        assert!(parts_of(chunk)[0]["text"].is_string());
        assert!(chunk.get("usageMetadata").is_none());
        assert!(chunk["candidates"][0].get("finishReason").is_none());
        assert_eq!(chunk["responseId"], "Qv8UacqRK4Xb7M8PtfyIuAk");
    }

    let apart = datas(
        &Gemini
            .stream_from_reply_as(&body, StreamChunking::CallPerChunk)
            .unwrap(),
    );
    let call_chunks: Vec<&Value> = apart
        .iter()
        .filter(|c| parts_of(c).iter().any(|p| p.get("functionCall").is_some()))
        .collect();
    assert_eq!(call_chunks.len(), 3);
    for (k, c) in call_chunks.iter().enumerate() {
        // Alone, as parts[0], with no index anywhere.
        assert_eq!(parts_of(c).len(), 1);
        assert!(!c.to_string().contains("\"index\":1"));
        assert_eq!(
            parts_of(c)[0]["functionCall"],
            body["candidates"][0]["content"]["parts"][k + 1]["functionCall"]
        );
    }
}

#[test]
fn accumulates_a_recorded_one_call_per_chunk_stream() {
    let events: Vec<SseEvent> = serde_json::from_str(STREAM_RECORDED).unwrap();
    let body = Gemini.reply_from_stream(&events).unwrap();
    assert_eq!(body["responseId"], "Zx8UacqRK4Xb7M8PtfyIuAk");
    assert_eq!(body["usageMetadata"]["totalTokenCount"], 276);
    assert_eq!(body["candidates"][0]["finishReason"], "STOP");
    let reply = Gemini.parse_reply(&body).unwrap();
    assert_eq!(
        reply.message.parts,
        [
            Part::Text("Checking all three.".into()),
            call("call_1", "get_weather", json!({"city": "Paris"})),
            other(json!({"thoughtSignature": "EuYBCuMBAdHtim9"})),
            call("call_2", "get_weather", json!({"city": "Tokyo"})),
            call("call_3", "get_time", json!({"timezone": "Asia/Tokyo"})),
        ]
    );
}

#[test]
fn stream_errors_point_at_the_event() {
    let good: Vec<SseEvent> = serde_json::from_str(STREAM_RECORDED).unwrap();
    let e = Gemini.reply_from_stream(&[]).unwrap_err();
    assert!(e.message.contains("found no events"));

    let mut bad_json = good.clone();
    bad_json[2].data = "{\"candidates\":".into();
    let e = Gemini.reply_from_stream(&bad_json).unwrap_err();
    assert_eq!(e.path, "[2]");
    assert!(e.message.starts_with("expected the event data to be JSON"));

    let mut with_error = good.clone();
    with_error.insert(
        3,
        SseEvent::data(
            json!({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}})
                .to_string(),
        ),
    );
    let e = Gemini.reply_from_stream(&with_error).unwrap_err();
    assert_eq!(e.path, "[3]");
    assert_eq!(
        e.message,
        "the stream carried an error (UNAVAILABLE: The model is overloaded.)"
    );

    let e = Gemini
        .reply_from_stream(&[SseEvent::data("{\"usageMetadata\": {}}")])
        .unwrap_err();
    assert!(e.message.contains("expected a chunk with a candidate"));

    let e = Gemini
        .reply_from_stream(&[SseEvent::data(
            json!({"candidates": [{"content": {"parts": 1}}]}).to_string(),
        )])
        .unwrap_err();
    assert_eq!(e.path, "[0].candidates[0].content.parts");
}

fn block(call_id: &str, name: &str, content: &str, is_error: bool) -> ResultBlock {
    ResultBlock {
        call_id: call_id.into(),
        name: name.into(),
        content: content.into(),
        is_error,
    }
}

#[test]
fn follow_up_built_from_entries_parses_back_with_ids() {
    let reply = load(REPLY_PARALLEL);
    let mut request = json!({"contents": [{"role": "user", "parts": [{"text": "go"}]}]});
    let entries = Gemini.results_entries(
        &[
            block("call_4162775", "get_weather", "Tokyo: 21°C", false),
            block("call_4162774", "get_weather", "timed out", true),
            block("call_4162776", "get_time", "22:05", false),
        ],
        None,
    );
    assert_eq!(entries.len(), 1, "one content for all results");
    assert_eq!(
        entries[0]["parts"][1],
        json!({"functionResponse": {"id": "call_4162774", "name": "get_weather", "response": {"error": "timed out"}}})
    );
    let model = Gemini.history_entries(&reply).unwrap();
    assert_eq!(model, [reply["candidates"][0]["content"].clone()]);
    let history = Gemini.history_mut(&mut request).unwrap();
    history.extend(model);
    history.extend(entries);
    let req = Gemini.parse_request(&request).unwrap();
    let served = Gemini.parse_reply(&reply).unwrap();
    assert_eq!(req.messages[1].parts, served.message.parts);
    assert_eq!(
        req.messages[2].parts,
        [
            flagged("call_4162775", "Tokyo: 21°C", Some(false)),
            flagged("call_4162774", "timed out", Some(true)),
            flagged("call_4162776", "22:05", Some(false)),
        ]
    );
}

#[test]
fn follow_up_to_calls_without_ids_answers_by_name_without_ids() {
    let ids = no_id_ids();
    let reply = load(REPLY_NO_IDS);
    let entries = Gemini.results_entries(
        &[
            block(&ids[0], "get_weather", "Lisbon", false),
            block(&ids[1], "", "Oslo", false),
            block(&ids[2], "get_weather", "Rome", false),
        ],
        Some("Here you go."),
    );
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0], Gemini.user_text_entry("Here you go."));
    assert_eq!(
        entries[1]["parts"][1],
        json!({"functionResponse": {"name": "get_weather", "response": {"output": "Oslo"}}}),
        "no id on the wire; the name comes from the id when not given"
    );
    let mut request = json!({"contents": [{"role": "user", "parts": [{"text": "go"}]}]});
    let history = Gemini.history_mut(&mut request).unwrap();
    history.extend(Gemini.history_entries(&reply).unwrap());
    history.push(entries[1].clone());
    let req = Gemini.parse_request(&request).unwrap();
    let got: Vec<&str> = req.messages[2]
        .results()
        .map(|r| r.call_id.as_str())
        .collect();
    assert_eq!(got, ids);
    assert!(Gemini.results_entries(&[], None).is_empty());
}

#[test]
fn endpoints_come_from_the_url() {
    let says = |path: &str, query: Option<&str>| Gemini.endpoint(path, query);
    let plain = says("/v1beta/models/gemini-2.5-flash:generateContent", None).unwrap();
    assert_eq!(plain.stream, Some(false));
    assert_eq!(plain.model.as_deref(), Some("gemini-2.5-flash"));
    assert_eq!(plain.framing, StreamFraming::Sse);

    let sse = says(
        "/v1/models/gemini-3-flash-preview:streamGenerateContent",
        Some("alt=sse"),
    )
    .unwrap();
    assert_eq!((sse.stream, sse.framing), (Some(true), StreamFraming::Sse));
    let array = says(
        "/v1beta/models/gemini-2.5-pro:streamGenerateContent",
        Some("key=abc"),
    )
    .unwrap();
    assert_eq!(
        (array.stream, array.framing),
        (Some(true), StreamFraming::JsonArray)
    );
    assert_eq!(
        says("/gw/google/v1beta/models/m%201:generateContent", None)
            .unwrap()
            .model
            .as_deref(),
        Some("m 1"),
        "behind a gateway prefix, percent-decoded"
    );
    assert_eq!(
        says("/v1beta/tunedModels/my-tuned:generateContent", None)
            .unwrap()
            .model
            .as_deref(),
        Some("my-tuned")
    );
    assert_eq!(
        says("/v1beta/models/gemini-2.5-flash%3AgenerateContent", None)
            .unwrap()
            .model
            .as_deref(),
        Some("gemini-2.5-flash"),
        "an escaped colon"
    );
    for not_ours in [
        "/v1beta/models/gemini-2.5-flash:countTokens",
        "/v1beta/models/gemini-2.5-flash",
        "/v1beta/files:generateContent",
        "/v1/messages",
    ] {
        assert_eq!(says(not_ours, None), None, "{not_ours}");
    }
    let routed = crate::provider::route(
        "POST",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        Some("alt=sse"),
    )
    .unwrap();
    assert_eq!(routed.provider, Provider::Gemini);
    assert_eq!(routed.stream, Some(true));
}

#[test]
fn odd_model_names_get_the_api_400() {
    let at = |path: &str| crate::provider::route("POST", path, None).unwrap();
    assert_eq!(
        Gemini.preflight(
            &at("/v1beta/models/gemini-2.5-flash:generateContent"),
            &json!({})
        ),
        None
    );
    for odd in [
        "/v1beta/models/:generateContent",
        "/v1beta/models/gemini%202.5:generateContent",
        "/v1beta/models/a/b:generateContent",
        "/v1beta/models/%E2%9C%93:generateContent",
    ] {
        let (status, body) = Gemini.preflight(&at(odd), &json!({})).expect(odd);
        assert_eq!(status, 400);
        assert_eq!(
            body["error"]["message"],
            "* GenerateContentRequest.model: unexpected model name format"
        );
        assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
        assert!(
            body["error"]["details"][0]["detail"]
                .as_str()
                .unwrap()
                .contains("tooltape mock")
        );
    }
}

fn refusal<'a>(fault: ApiFault, followup: Option<&'a Request>) -> crate::provider::Refusal<'a> {
    crate::provider::Refusal {
        fault,
        call_id: None,
        uncovered: &[],
        last_message: 3,
        followup,
    }
}

#[test]
fn rejections_are_the_api_texts() {
    let count = "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.";
    for fault in [
        ApiFault::MissingResult,
        ApiFault::UnknownResult,
        ApiFault::DuplicateResult,
        ApiFault::SplitResults,
    ] {
        assert_eq!(Gemini.rejection_text(&refusal(fault, None)), count);
    }
    let response_turn =
        "Please ensure that function response turn comes immediately after a function call turn.";
    let call_turn = "Please ensure that function call turn comes immediately after a user turn or after a function response turn.";
    let parse = |contents: Value| {
        Gemini
            .parse_request(&json!({"contents": contents}))
            .unwrap()
    };
    let user = json!({"role": "user", "parts": [{"text": "go"}]});
    let fc =
        |city: &str| json!({"functionCall": {"id": city, "name": "w", "args": {"city": city}}});
    let fr = |city: &str| json!({"functionResponse": {"id": city, "name": "w", "response": {}}});
    let model = json!({"role": "model", "parts": [fc("a"), fc("b")]});
    let results = json!({"role": "user", "parts": [fr("a"), fr("b")]});

    let text_between = parse(json!([user, model, user, results]));
    assert_eq!(
        Gemini.rejection_text(&refusal(
            ApiFault::MissingAssistantTurn,
            Some(&text_between)
        )),
        response_turn
    );
    let no_model = parse(json!([user, results]));
    assert_eq!(
        Gemini.rejection_text(&refusal(ApiFault::MissingAssistantTurn, Some(&no_model))),
        response_turn
    );
    // The parallel calls split over two model contents: the second follows a model turn.
    let split_model = parse(json!([
        user,
        {"role": "model", "parts": [fc("a")]},
        {"role": "model", "parts": [fc("b")]},
        results
    ]));
    assert_eq!(
        Gemini.rejection_text(&refusal(ApiFault::MissingAssistantTurn, Some(&split_model))),
        call_turn
    );
    assert_eq!(
        Gemini.rejection_text(&refusal(ApiFault::MissingAssistantTurn, None)),
        response_turn
    );
}

#[test]
fn parallel_calls_have_no_switch() {
    assert!(!Gemini.has_parallel_switch());
    let mut body = load(REQUEST_HISTORY);
    Gemini.set_parallel_disabled(&mut body, true);
    assert_eq!(body, load(REQUEST_HISTORY), "nothing to set");
    Gemini.set_parallel_disabled(&mut body, false);
    assert_eq!(body, load(REQUEST_HISTORY));
    assert!(Gemini.parse_request(&body).unwrap().parallel_disabled);
    assert!(Provider::Anthropic.format().has_parallel_switch());
}

#[test]
fn requests_and_bare_contents_are_recognised() {
    let (p, _) = crate::provider::detect(&load(REQUEST_HISTORY)).unwrap();
    assert_eq!(p, Provider::Gemini);
    let contents = load(REQUEST_NO_IDS)["contents"].clone();
    let (p, wrapped) = crate::provider::detect(&contents).unwrap();
    assert_eq!(p, Provider::Gemini);
    assert_eq!(wrapped["contents"], contents);
    assert_eq!(Gemini.likeness(&json!({"messages": []}), false), 0);
    assert_eq!(
        Gemini.likeness(
            &json!({"contents": [], "tools": [{"function_declarations": []}]}),
            false
        ),
        crate::provider::CLEAR_SIGN
    );
}

#[test]
fn envelopes_and_entries() {
    assert_eq!(
        Gemini.error_body("bad"),
        json!({"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}})
    );
    let content = load(REPLY_NO_IDS)["candidates"][0]["content"].clone();
    let rebuilt = Gemini
        .reply_from_history(std::slice::from_ref(&content), "seed1", "gemini-2.5-flash")
        .unwrap();
    assert_eq!(rebuilt["responseId"], "seed1");
    assert_eq!(
        Gemini.parse_reply(&rebuilt).unwrap().message,
        Gemini.parse_reply(&load(REPLY_NO_IDS)).unwrap().message
    );
    assert!(Gemini.reply_from_history(&[], "s", "m").is_err());
    let text = Gemini.text_reply("s", "m", "Done.");
    let parsed = Gemini.parse_reply(&text).unwrap();
    assert_eq!(parsed.stop, StopReason::EndTurn);
    assert_eq!(parsed.message.parts, [Part::Text("Done.".into())]);
    assert!(
        Gemini
            .history_entries(&json!({"candidates": [{}]}))
            .is_err()
    );
    let mut bad = json!({"contents": {}});
    assert_eq!(Gemini.history_mut(&mut bad).unwrap_err().path, "contents");
    assert_eq!(Gemini.call_id("TooltapeUnknownCallId"), "call_Tooltape");
    assert_eq!(Provider::Gemini.as_str(), "gemini");
    assert_eq!("gemini".parse::<Provider>(), Ok(Provider::Gemini));
}

#[test]
fn two_turns_with_the_same_id_less_calls_are_refused_with_a_hint() {
    let path = std::path::Path::new("tests/fixtures/provider/gemini/cassette_repeated_turn.json");
    let text =
        include_str!("../../../../../tests/fixtures/provider/gemini/cassette_repeated_turn.json");
    let e = crate::cassette::parse(path, text).unwrap_err().to_string();
    assert!(e.contains("exchanges[1].reply"), "{e}");
    assert!(
        e.contains("is used twice (also in exchange 0)")
            && e.contains("these calls carry no ids")
            && e.contains("Gemini 3"),
        "{e}"
    );
}

#[test]
fn declarations_carry_json_schema_from_either_field() {
    let req = Gemini
        .parse_request(&json!({
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "tools": [
                {"function_declarations": [
                    {"name": "weather", "parameters": {"type": "OBJECT",
                        "properties": {"city": {"type": "STRING"}}, "required": ["city"]}},
                    {"name": "raw", "parameters_json_schema": {"type": "object",
                        "properties": {"n": {"type": "integer"}}}},
                    {"name": "ping"}
                ]},
                {"googleSearch": {}}
            ]
        }))
        .unwrap();
    assert_eq!(req.tool_names(), ["weather", "raw", "ping"]);
    assert_eq!(
        req.tools[0].input_schema.as_deref().cloned(),
        Some(json!({"type": "object", "required": ["city"],
                    "properties": {"city": {"type": "string"}}}))
    );
    assert_eq!(
        req.tools[1].input_schema.as_deref().cloned(),
        Some(json!({"type": "object", "properties": {"n": {"type": "integer"}}}))
    );
    assert_eq!(
        req.tools[2].input_schema.as_deref().cloned(),
        Some(json!({"type": "object", "properties": {}}))
    );
}
