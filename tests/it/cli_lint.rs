//! `tooltape lint` as CI scripts see it: exit 0 clean, 1 on findings, 2 on unreadable input,
//! one line per finding and a summary line.

use assert_cmd::Command;
use predicates::prelude::*;

fn tooltape() -> Command {
    let mut c = assert_cmd::cargo::cargo_bin_cmd!("tooltape");
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[test]
fn the_bundled_cassettes_lint_clean() {
    tooltape()
        .args(["lint", "cassettes"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::is_match(r"(?m)^\d+ files checked, \d+ requests: no findings$")
                .unwrap(),
        );
}

#[test]
fn a_broken_conversation_names_the_rule_and_exits_1() {
    tooltape()
        .args(["lint", "tests/fixtures/lint/chat_missing_result.json", "tests/fixtures/lint/chat_clean.json"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "tests/fixtures/lint/chat_missing_result.json: message 2, call call_rome: missing-result — call call_rome (get_weather) has no result\n",
        ))
        .stdout(predicate::str::contains("2 files checked, 2 requests: 1 finding in 1 file\n"));
}

#[test]
fn unreadable_input_exits_2_with_the_place() {
    tooltape()
        .args([
            "lint",
            "tests/fixtures/lint/bad/malformed.json",
            "tests/fixtures/lint/chat_missing_result.json",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: tests/fixtures/lint/bad/malformed.json:3:24",
        ))
        .stdout(predicate::str::contains("missing-result"));
    tooltape().args(["lint"]).assert().code(2);
    tooltape()
        .args([
            "lint",
            "--provider",
            "mistral",
            "tests/fixtures/lint/chat_clean.json",
        ])
        .assert()
        .code(2);
    // A known API that the file does not fit: unreadable as that API, naming the place.
    tooltape()
        .args([
            "lint",
            "--provider",
            "gemini",
            "tests/fixtures/lint/chat_clean.json",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("contents"));
}

#[test]
fn the_provider_can_be_forced() {
    tooltape()
        .args([
            "lint",
            "--provider",
            "openai-chat",
            "tests/fixtures/lint/chat_messages_array.json",
        ])
        .assert()
        .code(0);
    tooltape()
        .args([
            "lint",
            "--provider",
            "anthropic",
            "tests/fixtures/lint/chat_clean.json",
        ])
        .assert()
        .code(2)
        // A `system` message is valid Anthropic now (issue #10 item 11): the null content of
        // the assistant's tool-call message is what no Anthropic request has.
        .stderr(predicate::str::contains("messages[2].content"));
}

#[test]
fn json_output_lists_each_finding_with_its_rule_and_place() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lint.json");
    tooltape()
        .args([
            "lint",
            "tests/fixtures/lint/chat_missing_result.json",
            "--json",
        ])
        .arg(&out)
        .assert()
        .code(1);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(doc["findings"], 1);
    assert_eq!(doc["unreadable"], 0);
    let f = &doc["files"][0]["findings"][0];
    assert_eq!(f["violation"]["rule"], "missing-result");
    assert_eq!(f["violation"]["call_id"], "call_rome");
    assert_eq!(f["message"], 2);
}

#[test]
fn gemini_logs_lint_with_calls_paired_by_name_and_position() {
    // Calls without ids: the results of a turn, split over two contents, still pair with
    // their calls by name and position; the split is the finding.
    tooltape()
        .args([
            "lint",
            "tests/fixtures/lint/gemini_log.jsonl",
            "tests/fixtures/lint/gemini_split_results.json",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "tests/fixtures/lint/gemini_split_results.json: message 3, call get_weather#1@f3c2bc40: split-results — the results of this turn are spread over 2 consecutive messages: messages #2, #3",
        ))
        .stdout(predicate::str::contains("2 files checked, 3 requests: 1 finding in 1 file\n"));
    // A nameless functionResponse: unreadable, with the line and the API's own text.
    tooltape()
        .args(["lint", "tests/fixtures/lint/bad/gemini_empty_name.jsonl"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "tests/fixtures/lint/bad/gemini_empty_name.jsonl:2:",
        ))
        .stderr(predicate::str::contains(
            "(at `contents[2].parts[1].functionResponse.name`): Name cannot be empty (the real API answers 400 INVALID_ARGUMENT: \"* GenerateContentRequest.contents[2].parts[1].function_response.name: Name cannot be empty.\")",
        ));
}
