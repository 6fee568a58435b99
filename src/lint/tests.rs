//! Lint on hand-made fixtures (tests/fixtures/lint/): a clean conversation per API, one
//! hand-broken copy per rule and API where the rule applies, JSON lines, bare message arrays,
//! cassettes; and every bundled cassette must lint clean.

use std::path::{Path, PathBuf};

use super::{FileReport, Options, lint_file, summary};
use crate::error::Error;
use crate::provider::Provider;
use crate::rules::{Level, RuleId};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lint")
        .join(name)
}

fn report(name: &str) -> FileReport {
    lint_file(&fixture(name), &Options::default())
        .unwrap_or_else(|e| panic!("{name} should be readable: {e}"))
}

/// (rule, message index, call id) of every finding.
fn found(name: &str) -> Vec<(RuleId, Option<usize>, Option<String>)> {
    report(name)
        .findings
        .into_iter()
        .map(|f| (f.violation.rule, f.message, f.violation.call_id))
        .collect()
}

fn one(
    rule: RuleId,
    message: usize,
    call: Option<&str>,
) -> Vec<(RuleId, Option<usize>, Option<String>)> {
    vec![(rule, Some(message), call.map(str::to_string))]
}

#[test]
fn clean_conversations_have_no_findings() {
    for name in [
        "anthropic_clean.json",
        "chat_clean.json",
        "responses_clean.json",
        // Continues a stored response: its calls are on the server, not in the request.
        "responses_stateful.json",
        "chat_log.jsonl",
        "chat_messages_array.json",
        "cassette_clean.json",
    ] {
        let r = report(name);
        assert!(r.findings.is_empty(), "{name}: {:#?}", r.findings);
    }
}

#[test]
fn missing_result_in_every_api() {
    use RuleId::MissingResult as R;
    assert_eq!(
        found("anthropic_missing_result.json"),
        one(R, 1, Some("toolu_01Rome"))
    );
    assert_eq!(
        found("chat_missing_result.json"),
        one(R, 2, Some("call_rome"))
    );
    // Responses: input[3] is the function_call item of the unanswered call.
    assert_eq!(
        found("responses_missing_result.json"),
        one(R, 3, Some("call_rome"))
    );
}

#[test]
fn unknown_result_in_every_api() {
    use RuleId::UnknownResult as R;
    assert_eq!(
        found("anthropic_unknown_result.json"),
        one(R, 2, Some("toolu_01Madrid"))
    );
    assert_eq!(
        found("chat_unknown_result.json"),
        one(R, 5, Some("call_madrid"))
    );
    assert_eq!(
        found("responses_unknown_result.json"),
        one(R, 6, Some("call_madrid"))
    );
}

#[test]
fn duplicate_result_in_every_api() {
    use RuleId::DuplicateResult as R;
    assert_eq!(
        found("anthropic_duplicate_result.json"),
        one(R, 2, Some("toolu_01Paris"))
    );
    assert_eq!(
        found("chat_duplicate_result.json"),
        one(R, 5, Some("call_paris"))
    );
    assert_eq!(
        found("responses_duplicate_result.json"),
        one(R, 6, Some("call_paris"))
    );
}

#[test]
fn a_call_id_used_twice_is_a_duplicate() {
    let r = report("anthropic_duplicate_call_id.json");
    assert_eq!(r.findings.len(), 1, "{:#?}", r.findings);
    let v = &r.findings[0].violation;
    assert_eq!(
        (v.rule, v.call_id.as_deref()),
        (RuleId::DuplicateResult, Some("toolu_01Paris"))
    );
    assert!(v.message.contains("messages #1 and #5"), "{}", v.message);
}

#[test]
fn split_results_with_the_level_of_each_api() {
    let level = |name| {
        let r = report(name);
        assert_eq!(r.findings.len(), 1, "{name}: {:#?}", r.findings);
        let f = &r.findings[0];
        assert_eq!(f.violation.rule, RuleId::SplitResults);
        (f.message, f.violation.level)
    };
    // Consecutive user messages: the Messages API merges them.
    assert_eq!(
        level("anthropic_split_results.json"),
        (Some(3), Level::Should)
    );
    assert_eq!(level("chat_split_results.json"), (Some(5), Level::Must));
    assert_eq!(
        level("responses_split_results.json"),
        (Some(6), Level::Should)
    );
}

#[test]
fn missing_assistant_turn_in_every_api() {
    use RuleId::MissingAssistantTurn as R;
    assert_eq!(
        found("anthropic_missing_assistant_turn.json"),
        one(R, 3, None)
    );
    assert_eq!(found("chat_missing_assistant_turn.json"), one(R, 4, None));
    assert_eq!(
        found("responses_missing_assistant_turn.json"),
        one(R, 5, None)
    );
}

#[test]
fn results_not_first_in_anthropic() {
    assert_eq!(
        found("anthropic_results_not_first.json"),
        one(RuleId::ResultsNotFirst, 2, None)
    );
}

#[test]
fn results_given_after_the_next_turn() {
    assert_eq!(
        found("anthropic_results_after_next_turn.json"),
        vec![
            (RuleId::MissingResult, Some(1), Some("toolu_01Paris".into())),
            (
                RuleId::MissingAssistantTurn,
                Some(4),
                Some("toolu_01Paris".into())
            ),
        ]
    );
}

#[test]
fn an_earlier_result_sent_again_is_unknown_to_the_later_turn() {
    // As the replay judges it, and as the API rejects it: the id is not a call of the turn.
    assert_eq!(
        found("anthropic_result_sent_again.json"),
        one(RuleId::UnknownResult, 6, Some("toolu_01Paris"))
    );
}

#[test]
fn results_without_any_call_are_unknown() {
    assert_eq!(
        found("chat_dropped_assistant_turn.json"),
        one(RuleId::UnknownResult, 7, Some("call_fcst"))
    );
}

#[test]
fn history_changed_between_lines_of_a_log() {
    for (name, message) in [
        ("anthropic_history_changed.jsonl", 2),
        ("chat_history_changed.jsonl", 4),
        ("responses_history_changed.jsonl", 5),
    ] {
        let r = report(name);
        assert_eq!(r.findings.len(), 1, "{name}: {:#?}", r.findings);
        let f = &r.findings[0];
        assert_eq!(f.violation.rule, RuleId::HistoryChanged, "{name}");
        assert_eq!((f.line, f.message), (Some(2), Some(message)), "{name}");
    }
}

#[test]
fn cassettes_are_checked_against_the_replies_served() {
    let dropped = report("cassette_dropped_assistant_turn.json");
    assert_eq!(dropped.findings.len(), 1, "{:#?}", dropped.findings);
    let f = &dropped.findings[0];
    assert_eq!(
        (f.violation.rule, f.request, f.message),
        (RuleId::MissingAssistantTurn, Some(2), Some(1))
    );
    let edited = report("cassette_edited_reply.json");
    assert_eq!(edited.findings.len(), 1, "{:#?}", edited.findings);
    let f = &edited.findings[0];
    assert_eq!(
        (f.violation.rule, f.request),
        (RuleId::HistoryChanged, Some(2))
    );
    assert!(
        f.violation.message.contains("reply served"),
        "{}",
        f.violation.message
    );
}

#[test]
fn a_bare_messages_array_is_linted_and_a_trailing_turn_is_not_a_finding() {
    // chat_messages_array.json ends with an assistant turn whose calls are not answered yet.
    assert!(report("chat_messages_array.json").findings.is_empty());
    assert_eq!(
        found("anthropic_messages_array_missing_result.json"),
        one(RuleId::MissingResult, 1, Some("toolu_01Paris"))
    );
}

#[test]
fn a_log_is_split_into_conversations() {
    let r = report("chat_log.jsonl");
    assert_eq!((r.requests, r.conversations), (5, 2));
}

#[test]
fn every_bundled_cassette_lints_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cassettes");
    let files = super::discover(&[dir]).unwrap();
    assert!(files.len() >= 20, "{files:?}");
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "json"))
    {
        let r = lint_file(f, &Options::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.requests >= 2, "{}", f.display());
        assert!(r.findings.is_empty(), "{}: {:#?}", f.display(), r.findings);
    }
}

#[test]
fn the_provider_is_told_from_the_shape_or_forced() {
    let provider = |name: &str, forced| {
        let text = std::fs::read_to_string(fixture(name)).unwrap();
        let cs = super::input::read(&fixture(name), &text, forced).unwrap();
        cs[0].provider
    };
    assert_eq!(provider("anthropic_clean.json", None), Provider::Anthropic);
    assert_eq!(provider("chat_clean.json", None), Provider::OpenAiChat);
    assert_eq!(
        provider("responses_clean.json", None),
        Provider::OpenAiResponses
    );
    assert_eq!(
        provider("anthropic_messages_array_missing_result.json", None),
        Provider::Anthropic
    );
    // Plain messages with no tool traffic read the same in both APIs.
    assert_eq!(
        provider("chat_messages_array.json", Some(Provider::OpenAiChat)),
        Provider::OpenAiChat
    );
    // Forcing the wrong API makes the body malformed for it, not silently clean.
    let forced = lint_file(
        &fixture("chat_clean.json"),
        &Options {
            provider: Some(Provider::Anthropic),
        },
    );
    assert!(matches!(forced, Err(Error::Invalid { .. })), "{forced:?}");
}

/// The error's text and its line and column.
fn error(name: &str) -> (String, Option<(usize, usize)>) {
    match lint_file(&fixture(name), &Options::default()) {
        Err(Error::Invalid { at, message }) => (format!("{at}: {message}"), at.line_col),
        other => panic!("{name}: expected an invalid-input error, got {other:?}"),
    }
}

#[test]
fn malformed_input_names_the_line_and_column() {
    let (text, at) = error("bad/malformed.json");
    assert_eq!(at, Some((3, 24)), "{text}");
    // A bad line of a log is reported at its line of the file.
    let (text, at) = error("bad/malformed_line.jsonl");
    assert_eq!(at.map(|a| a.0), Some(2), "{text}");
    // A wrapped array's errors are given in the file's own terms.
    let (text, at) = error("bad/call_without_input.json");
    assert!(
        text.contains("`[1].content[0].input`") && text.contains("input object"),
        "{text}"
    );
    assert_eq!(at.map(|a| a.0), Some(3), "{text}");
    let (text, _) = error("bad/mixed_providers.json");
    assert!(text.contains("--provider"), "{text}");
    let (text, _) = error("bad/not_a_conversation.json");
    assert!(text.contains("expected a tooltape cassette"), "{text}");
    let missing = lint_file(&fixture("bad/no_such_file.json"), &Options::default());
    assert!(matches!(missing, Err(Error::Io { .. })), "{missing:?}");
}

#[test]
fn findings_and_the_summary_read_as_documented() {
    let r = report("cassette_dropped_assistant_turn.json");
    let line = r.findings[0].to_string();
    assert!(
        line.ends_with(
            "cassette_dropped_assistant_turn.json: request 2, message 1: missing-assistant-turn — the follow-up does not contain the assistant turn with the calls; results must come right after it"
        ),
        "{line}"
    );
    let log = report("anthropic_history_changed.jsonl");
    assert!(
        log.findings[0]
            .to_string()
            .contains("anthropic_history_changed.jsonl:2: message 2: history-changed — ")
    );
    let split = report("anthropic_split_results.json");
    assert!(
        split.findings[0]
            .to_string()
            .contains("split-results (should) — ")
    );
    let missing = report("chat_missing_result.json");
    assert!(
        missing.findings[0]
            .to_string()
            .contains(": message 2, call call_rome: missing-result — ")
    );
    let clean = report("chat_clean.json");
    assert_eq!(
        summary(std::slice::from_ref(&clean), 0),
        "1 file checked, 1 request: no findings"
    );
    assert_eq!(
        summary(&[clean, r, log], 1),
        "4 files checked (1 could not be read), 5 requests: 2 findings in 2 files"
    );
}

/// Issue #10 item 9, as a real recording shows it: the client resent its function_call items
/// with `call_id` set to the `fc_…` item id and keyed its outputs the same way. One finding,
/// naming the cause (not missing-result, unknown-result and missing-assistant-turn).
#[test]
fn a_rewritten_call_id_is_one_finding_that_names_it() {
    let r = report("responses_rewritten_call_id.json");
    assert_eq!(r.findings.len(), 1, "{:#?}", r.findings);
    let v = &r.findings[0].violation;
    assert_eq!((v.rule, v.level), (RuleId::HistoryChanged, Level::Must));
    assert!(
        v.message
            .contains("call #1 (get_weather): its id call_Paris became fc_01Paris"),
        "{}",
        v.message
    );
}

/// Issue #10 item 10: a synthetic tool_use the model never made, answered; the API accepts
/// it. Its result answers the call right before it (no unknown-result); the injected turn is
/// a should-level history-changed.
#[test]
fn an_injected_answered_tool_use_is_a_should_level_history_change() {
    let r = report("anthropic_injected_tool_use.json");
    assert_eq!(r.findings.len(), 1, "{:#?}", r.findings);
    let f = &r.findings[0];
    assert_eq!(
        (f.violation.rule, f.violation.level, f.message),
        (RuleId::HistoryChanged, Level::Should, Some(3))
    );
    assert!(
        f.violation.message.contains(
            "assistant turn the model never sent, with call(s) toolu_load01 (load_tools)"
        ),
        "{}",
        f.violation.message
    );
}
