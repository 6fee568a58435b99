//! Conversion rules on small inputs: output names, replies rebuilt from logs, and the vcrpy
//! reader's checks. The recorded fixtures are exercised in tests/import.rs.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::*;
use crate::error::Error;

fn convert_json(name: &str, value: &Value) -> Result<Conversion, Error> {
    convert(Path::new(name), &value.to_string(), None)
}

fn jsonl(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn reply_body(c: &Cassette, i: usize) -> &Value {
    match &c.exchanges[i].reply {
        RecordedReply::Body(b) => b,
        RecordedReply::Stream(_) => panic!("a body"),
    }
}

fn history_len(c: &Cassette, i: usize) -> usize {
    c.exchanges[i].request["messages"]
        .as_array()
        .map_or(0, Vec::len)
}

fn tool_use(id: &str) -> Value {
    json!({"type": "tool_use", "id": id, "name": "get_weather", "input": {"city": id}})
}

fn tool_result(id: &str) -> Value {
    json!({"type": "tool_result", "tool_use_id": id, "content": "sunny"})
}

#[test]
fn output_names_follow_the_input_and_number_further_conversations() {
    let input = Path::new("rec/test_x.yaml");
    let paths = |n, options: &Options| output_paths(input, n, options).unwrap();
    assert_eq!(
        paths(1, &Options::default()),
        [PathBuf::from("rec/test_x.json")]
    );
    let in_dir = Options {
        out_dir: Some("out".into()),
        ..Options::default()
    };
    assert_eq!(
        paths(3, &in_dir),
        [
            PathBuf::from("out/test_x.json"),
            PathBuf::from("out/test_x-2.json"),
            PathBuf::from("out/test_x-3.json")
        ]
    );
    let named = Options {
        out: Some("c/a.json".into()),
        ..Options::default()
    };
    assert_eq!(
        paths(2, &named),
        [PathBuf::from("c/a.json"), PathBuf::from("c/a-2.json")]
    );
    let err = output_paths(Path::new("log.json"), 1, &Options::default()).unwrap_err();
    assert!(err.to_string().contains("its own input"), "{err}");
}

#[test]
fn one_body_holding_a_whole_conversation_gives_one_exchange_per_assistant_turn() {
    let body = json!({
        "model": "claude-sonnet-4-6",
        "max_tokens": 1024,
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": "Weather in Oslo and Rome?"},
            {"role": "assistant", "content": [tool_use("toolu_a"), tool_use("toolu_b")]},
            {"role": "user", "content": [tool_result("toolu_a"), tool_result("toolu_b")]},
            {"role": "assistant", "content": "Sunny in both."}
        ]
    });
    let conv = convert_json("t.json", &body).unwrap();
    assert_eq!(conv.kind, Kind::Json);
    assert!(conv.notes.is_empty(), "{:?}", conv.notes);
    let [c] = conv.cassettes.as_slice() else {
        panic!("one cassette")
    };
    assert_eq!(c.provider, Provider::Anthropic);
    assert_eq!(c.exchanges.len(), 2);
    assert_eq!((history_len(c, 0), history_len(c, 1)), (1, 3));
    assert_eq!(c.exchanges[0].request["system"], "Be brief.");
    assert_eq!(reply_body(c, 0)["stop_reason"], "tool_use");
    assert_eq!(reply_body(c, 1)["content"][0]["text"], "Sunny in both.");
    assert_eq!(c.meta.notes, None);
    assert_eq!(c.meta.model.as_deref(), Some("claude-sonnet-4-6"));
}

#[test]
fn a_log_ending_on_calls_gets_placeholder_results_and_a_made_up_answer() {
    let body = json!({"model": "gpt-4.1", "messages": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
        ]}
    ]});
    let conv = convert_json("t.json", &body).unwrap();
    let c = &conv.cassettes[0];
    assert_eq!(c.provider, Provider::OpenAiChat);
    assert_eq!(c.exchanges.len(), 2);
    let follow_up = c.exchanges[1].request["messages"].as_array().unwrap();
    assert_eq!(follow_up[2]["role"], "tool");
    assert_eq!(follow_up[2]["tool_call_id"], "call_1");
    assert_eq!(follow_up[2]["content"], rebuild::MISSING_RESULT);
    assert_eq!(
        reply_body(c, 1)["choices"][0]["message"]["content"],
        rebuild::SYNTHESIZED_ANSWER
    );
    assert!(c.meta.notes.as_deref().unwrap().contains("exchange 2"));
    assert!(
        conv.notes[0].contains("placeholder results"),
        "{:?}",
        conv.notes
    );
}

#[test]
fn a_request_whose_reply_the_next_line_does_not_carry_is_skipped() {
    let first = json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Weather?"}]}
    ]});
    let second = json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
        {"role": "assistant", "content": [tool_use("toolu_a")]},
        {"role": "user", "content": [tool_result("toolu_a")]}
    ]});
    // The first line is sent twice (a retry): only its second copy has its reply next.
    let text = jsonl(&[first.clone(), first, second]);
    let conv = convert(Path::new("log.jsonl"), &text, Some(Provider::Anthropic)).unwrap();
    assert_eq!(conv.kind, Kind::JsonLines);
    assert_eq!(
        conv.notes,
        [
            "line 1: skipped, its reply is not in the log (the next request does not carry it)",
            "line 3: its reply is not in the log; a final answer was made up",
        ]
    );
    let c = &conv.cassettes[0];
    assert_eq!(c.exchanges.len(), 2);
    assert_eq!(reply_body(c, 0)["content"][0]["id"], "toolu_a");
    assert_eq!(reply_body(c, 0)["id"], "msg_import0001");
}

#[test]
fn a_log_starting_mid_conversation_keeps_the_earlier_turns() {
    let msgs = |n: usize| {
        let all = [
            json!({"role": "user", "content": "Go"}),
            json!({"role": "assistant", "content": [tool_use("toolu_a")]}),
            json!({"role": "user", "content": [tool_result("toolu_a")]}),
            json!({"role": "assistant", "content": [tool_use("toolu_b")]}),
            json!({"role": "user", "content": [tool_result("toolu_b")]}),
        ];
        json!({"model": "m", "max_tokens": 10, "messages": all[..n].to_vec()})
    };
    let conv = convert(Path::new("log.jsonl"), &jsonl(&[msgs(3), msgs(5)]), None).unwrap();
    let c = &conv.cassettes[0];
    let lens: Vec<usize> = (0..c.exchanges.len()).map(|i| history_len(c, i)).collect();
    assert_eq!(lens, [1, 3, 5]);
    assert_eq!(reply_body(c, 0)["content"][0]["id"], "toolu_a");
    assert_eq!(reply_body(c, 1)["content"][0]["id"], "toolu_b");
    assert_eq!(reply_body(c, 2)["stop_reason"], "end_turn");
}

#[test]
fn stored_responses_and_cassettes_are_refused() {
    let stored = json!({"model": "gpt-4.1", "previous_response_id": "resp_1", "input": [
        {"type": "function_call_output", "call_id": "call_1", "output": "ok"}
    ]});
    let err = convert_json("t.json", &stored).unwrap_err();
    assert!(err.to_string().contains("previous_response_id"), "{err}");
    let cassette = json!({"format": "tooltape-cassette", "version": 1, "provider": "anthropic",
                          "exchanges": []});
    let err = convert_json("t.json", &cassette).unwrap_err();
    assert!(
        err.to_string().contains("already a tooltape cassette"),
        "{err}"
    );
}

const PLAIN_CALL: &str = r#"
- request:
    body: '{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}'
    method: POST
    uri: https://api.anthropic.com/v1/messages?beta=true
  response:
    body:
      string: '{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn"}'
    headers:
      Content-Type:
      - application/json
    status:
      code: 200
      message: OK
"#;

#[test]
fn vcr_checks_the_version_and_wants_a_model_call() {
    let yaml = format!("interactions:{PLAIN_CALL}version: 2\n");
    let err = convert(Path::new("c.yaml"), &yaml, None).unwrap_err();
    assert!(
        err.to_string().contains("version 2 is not supported"),
        "{err}"
    );
    let yaml = "interactions: []\nversion: 1\n";
    let err = convert(Path::new("c.yaml"), yaml, None).unwrap_err();
    assert!(
        err.to_string().contains("no successful model call"),
        "{err}"
    );
}

#[test]
fn vcr_keeps_the_last_answer_of_a_repeated_request() {
    let yaml = format!("interactions:{PLAIN_CALL}{PLAIN_CALL}version: 1\n");
    let conv = convert(Path::new("c.yaml"), &yaml, None).unwrap();
    assert_eq!(conv.cassettes.len(), 1);
    assert_eq!(conv.cassettes[0].exchanges.len(), 1);
    assert_eq!(
        conv.notes,
        [
            "interactions[0]: skipped POST /v1/messages, the same request is answered again later",
            "interactions[1]: repeats the request of interactions[0]; kept this later answer"
        ]
    );
    // The query string is not kept anywhere.
    let text = serde_json::to_string(&conv.cassettes[0]).unwrap();
    assert!(!text.contains("beta=true"));
}

#[test]
fn vcr_problems_inside_an_interaction_name_it() {
    let yaml = format!(
        "interactions:{}version: 1\n",
        PLAIN_CALL.replace("\"Hello\"", "7")
    );
    let err = convert(Path::new("c.yaml"), &yaml, None).unwrap_err();
    let Error::Invalid { at, message } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        at.json_path.as_deref(),
        Some("interactions[0].response.body")
    );
    assert_eq!(at.line_col, Some((2, 3)));
    assert!(message.contains("not a valid anthropic reply"), "{message}");
}

#[test]
fn vcr_calls_of_separate_conversations_become_separate_cassettes() {
    let other = PLAIN_CALL.replace("\"Hi\"", "\"Bye\"");
    let yaml = format!("interactions:{PLAIN_CALL}{other}version: 1\n");
    let conv = convert(Path::new("c.yaml"), &yaml, None).unwrap();
    assert_eq!(conv.cassettes.len(), 2);
    for c in &conv.cassettes {
        assert_eq!(c.exchanges.len(), 1);
        assert_eq!(
            c.meta.source.as_deref(),
            Some("imported from vcrpy cassette c.yaml")
        );
    }
}
