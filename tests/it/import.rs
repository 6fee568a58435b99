//! `tooltape import` on recordings made the way projects make them: vcrpy cassettes written by
//! pytest-recording around the official SDKs (tests/fixtures/import/cassettes, see its
//! README), variants of them, and JSON / JSON-lines request logs. Every import must load as a
//! cassette and replay cleanly against the reference handler.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

use tooltape::cassette::{self, RecordedReply};
use tooltape::error::Error;
use tooltape::handler::builtin;
use tooltape::import::{self, Kind, Options};
use tooltape::provider::Provider;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(rel)
}

fn recorded(name: &str) -> PathBuf {
    fixture(&format!("cassettes/test_agents/{name}.yaml"))
}

/// Import `input` into a fresh folder; the cassettes written, loaded back.
fn import_into(dir: &Path, input: &Path) -> (import::Imported, Vec<cassette::LoadedCassette>) {
    let options = Options {
        out_dir: Some(dir.to_path_buf()),
        ..Options::default()
    };
    let mut done = import::import(&[input.to_path_buf()], &options)
        .unwrap_or_else(|e| panic!("{}: {e}", input.display()));
    let imported = done.remove(0);
    let loaded = imported
        .written
        .iter()
        .map(|w| cassette::load(&w.path).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    (imported, loaded)
}

/// Replay a cassette with the default scenario against the reference handler.
fn replays_cleanly(cassette: &Path) {
    let dir = cassette.parent().unwrap();
    let name = cassette.file_name().unwrap().to_string_lossy();
    let path = dir.join(format!("scenario-{name}"));
    let text = format!(r#"{{"format": "tooltape-scenario", "version": 1, "cassette": "{name}"}}"#);
    let scenario = tooltape::scenario::parse(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    let handler = builtin::by_name("reference").expect("the reference handler");
    let report = tooltape::handler::run_scenario(Arc::new(scenario), &handler, 42);
    assert!(
        report.passed(false),
        "{}: {}",
        cassette.display(),
        tooltape::report::terminal::render_failures(&report)
    );
}

fn calls(c: &cassette::LoadedCassette) -> usize {
    c.replies.iter().map(|r| r.calls().len()).sum()
}

#[test]
fn recorded_vcrpy_cassettes_of_all_four_apis_import_and_replay() {
    let cases = [
        ("test_anthropic_plain", Provider::Anthropic, false, 3),
        ("test_anthropic_streamed", Provider::Anthropic, true, 1),
        ("test_openai_chat_gzip", Provider::OpenAiChat, false, 3),
        ("test_openai_chat_streamed", Provider::OpenAiChat, true, 1),
        (
            "test_openai_responses_plain",
            Provider::OpenAiResponses,
            false,
            3,
        ),
        (
            "test_openai_responses_streamed",
            Provider::OpenAiResponses,
            true,
            3,
        ),
        // Gemini calls without ids (plain) and with ids (streamed, alt=sse).
        ("test_gemini_plain", Provider::Gemini, false, 3),
        ("test_gemini_streamed", Provider::Gemini, true, 3),
    ];
    for (name, provider, streamed, n_calls) in cases {
        let dir = tempfile::tempdir().unwrap();
        let input = recorded(name);
        let (imported, loaded) = import_into(dir.path(), &input);
        assert_eq!(imported.kind, Kind::Vcr, "{name}");
        // One note per interaction, each saying it was kept.
        assert_eq!(imported.notes.len(), 2, "{name}: {:?}", imported.notes);
        for (i, note) in imported.notes.iter().enumerate() {
            assert!(
                note.starts_with(&format!("interactions[{i}]: kept POST /"))
                    && note.ends_with(&format!(" as exchange {i}")),
                "{name}: {note}"
            );
        }
        let [c] = loaded.as_slice() else {
            panic!("{name}: expected one cassette, got {}", loaded.len())
        };
        assert_eq!(c.path, dir.path().join(format!("{name}.json")));
        assert_eq!(c.provider(), provider, "{name}");
        assert_eq!(c.cassette.exchanges.len(), 2, "{name}");
        assert_eq!(calls(c), n_calls, "{name}");
        for ex in &c.cassette.exchanges {
            assert_eq!(
                matches!(ex.reply, RecordedReply::Stream(_)),
                streamed,
                "{name}: streamed replies are kept as their events"
            );
        }
        let meta = &c.cassette.meta;
        assert_eq!(
            meta.source.as_deref(),
            Some(format!("imported from vcrpy cassette {}", input.display()).as_str())
        );
        assert!(meta.model.is_some(), "{name}");
        assert!(
            meta.recorded_at
                .as_deref()
                .is_some_and(|t| t.ends_with('Z')),
            "{name}: recorded_at from the Date header: {:?}",
            meta.recorded_at
        );
        assert_eq!(meta.notes, None, "{name}");
        replays_cleanly(&c.path);
    }
}

#[test]
fn a_gzip_body_is_decompressed() {
    let text = std::fs::read_to_string(recorded("test_openai_chat_gzip")).unwrap();
    assert!(
        text.contains("string: !!binary |\n        H4sI"),
        "the fixture holds gzip bytes"
    );
    let conversion = import::convert_file(&recorded("test_openai_chat_gzip"), None).unwrap();
    let c = &conversion.cassettes[0];
    let RecordedReply::Body(body) = &c.exchanges[0].reply else {
        panic!("a JSON reply")
    };
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
}

#[test]
fn binary_bodies_and_the_json_serializer_read_like_the_plain_yaml() {
    let same_exchanges = |variant: &str, original: &str| {
        let a = import::convert_file(&fixture(variant), None).unwrap();
        let b = import::convert_file(&recorded(original), None).unwrap();
        assert_eq!(a.kind, Kind::Vcr);
        assert_eq!(
            a.cassettes[0].exchanges, b.cassettes[0].exchanges,
            "{variant}"
        );
    };
    let text = std::fs::read_to_string(fixture("variants/binary_bodies.yaml")).unwrap();
    assert!(text.contains("    body: !!binary |") && text.contains("string: !!binary |"));
    same_exchanges("variants/binary_bodies.yaml", "test_openai_responses_plain");
    same_exchanges("variants/json_serializer.json", "test_anthropic_plain");
    // Bodies kept as YAML mappings under `parsed_body`.
    let text = std::fs::read_to_string(fixture("variants/parsed_body.yaml")).unwrap();
    assert!(text.contains("    parsed_body:\n") && !text.contains("    body:"));
    same_exchanges("variants/parsed_body.yaml", "test_anthropic_plain");
    // Gzip replies as untagged base64 and as one character per byte.
    same_exchanges(
        "variants/string_encoded_bodies.yaml",
        "test_openai_chat_gzip",
    );
    // A whole cassette gzipped, named after its stem.
    same_exchanges(
        "variants/anthropic_streamed.yaml.gz",
        "test_anthropic_streamed",
    );
    let dir = tempfile::tempdir().unwrap();
    let (_, loaded) = import_into(dir.path(), &fixture("variants/anthropic_streamed.yaml.gz"));
    assert_eq!(loaded[0].path, dir.path().join("anthropic_streamed.json"));
    replays_cleanly(&loaded[0].path);
}

#[test]
fn an_imported_recording_of_a_broken_client_is_flagged_by_lint() {
    let dir = tempfile::tempdir().unwrap();
    let (_, loaded) = import_into(dir.path(), &fixture("variants/missing_result.yaml"));
    let report = tooltape::lint::lint_file(&loaded[0].path, &Default::default()).unwrap();
    let rules: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.request, f.violation.rule.to_string()))
        .collect();
    assert_eq!(
        rules,
        [(Some(2), "missing-result".to_string())],
        "{:?}",
        report.findings
    );
    // The conformant recording it was made from lints clean.
    let (_, clean) = import_into(dir.path(), &recorded("test_anthropic_plain"));
    let report = tooltape::lint::lint_file(&clean[0].path, &Default::default()).unwrap();
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

#[test]
fn a_cut_or_corrupt_gzip_input_exits_2_naming_it_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(fixture("variants/anthropic_streamed.yaml.gz")).unwrap();
    let cut = dir.path().join("cut.yaml.gz");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let out = dir.path().join("out");
    tooltape()
        .args(["import", "--out-dir"])
        .arg(&out)
        .arg(&cut)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cut.yaml.gz"))
        .stderr(predicate::str::contains("corrupt or cut short"));
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
    // Larger than any recording: refused before it is read (a sparse file costs no disk).
    let huge = dir.path().join("huge.yaml");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(import::MAX_INPUT_BYTES + 1)
        .unwrap();
    tooltape()
        .args(["import", "--out-dir"])
        .arg(&out)
        .arg(&huge)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("huge.yaml"))
        .stderr(predicate::str::contains("larger than"));
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
}

#[test]
fn other_requests_and_failed_attempts_are_skipped_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let (imported, loaded) = import_into(dir.path(), &recorded("test_anthropic_retry_and_models"));
    assert_eq!(
        imported.notes,
        [
            "interactions[0]: skipped GET /v1/models (not a model call)",
            "interactions[1]: skipped POST /v1/messages, answered 500 Internal Server Error",
            "interactions[2]: kept POST /v1/messages as exchange 0",
            "interactions[3]: kept POST /v1/messages as exchange 1",
        ]
    );
    assert_eq!(loaded[0].cassette.exchanges.len(), 2);
    // Never a header or a URI in the file.
    let text = std::fs::read_to_string(&loaded[0].path).unwrap();
    for absent in ["x-stainless", "api.anthropic.com", "sk-ant", "content-type"] {
        assert!(!text.contains(absent), "{absent} leaked into the cassette");
    }
    replays_cleanly(&loaded[0].path);
}

/// Issue #10 item 11: a vcrpy cassette holding calls to several APIs is split into one
/// cassette per API conversation (it was refused: "a cassette holds one API").
#[test]
fn mixed_providers_are_split_into_a_cassette_per_api() {
    let c = import::convert_file(&recorded("test_mixed_providers"), None)
        .unwrap_or_else(|e| panic!("{e}"));
    let apis: Vec<Provider> = c.cassettes.iter().map(|c| c.provider).collect();
    assert!(
        apis.contains(&Provider::Anthropic) && apis.contains(&Provider::OpenAiChat),
        "{apis:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let (_, loaded) = import_into(dir.path(), &recorded("test_mixed_providers"));
    assert_eq!(loaded.len(), c.cassettes.len());
    // --provider keeps that API's calls only; none here is one.
    let err = import::convert_file(
        &recorded("test_anthropic_plain"),
        Some(Provider::OpenAiChat),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("--provider says openai-chat"),
        "{err}"
    );
}

#[test]
fn malformed_yaml_is_an_error_with_line_and_column() {
    let input = fixture("variants/malformed.yaml");
    let err = import::convert_file(&input, None).unwrap_err();
    let Error::Invalid { at, message } = &err else {
        panic!("{err}")
    };
    assert_eq!(at.file, input);
    assert_eq!(at.line_col, Some((11, 15)));
    assert_eq!(message, "not a readable vcrpy cassette: unclosed quote");
}

#[test]
fn logs_become_exchanges_with_replies_from_the_next_request() {
    let dir = tempfile::tempdir().unwrap();
    // Successive requests: the first reply is in the second request; the last is made up.
    let (imported, loaded) = import_into(dir.path(), &fixture("logs/anthropic_requests.jsonl"));
    assert_eq!(imported.kind, Kind::JsonLines);
    assert_eq!(loaded.len(), 1);
    let c = &loaded[0];
    assert_eq!(c.provider(), Provider::Anthropic);
    assert_eq!(c.cassette.exchanges.len(), 2);
    assert_eq!(calls(c), 3);
    assert_eq!(
        c.cassette.meta.notes.as_deref(),
        Some("the reply of exchange 2 is not in the input; it was synthesized by tooltape import")
    );
    assert_eq!(
        imported.notes,
        ["line 2: its reply is not in the log; a final answer was made up"]
    );
    replays_cleanly(&c.path);

    // One request body holding a whole conversation: one exchange per assistant turn.
    let (imported, loaded) = import_into(dir.path(), &fixture("logs/chat_conversation.json"));
    assert_eq!(imported.kind, Kind::Json);
    assert!(imported.notes.is_empty(), "{:?}", imported.notes);
    let c = &loaded[0];
    assert_eq!(c.provider(), Provider::OpenAiChat);
    assert_eq!(c.cassette.exchanges.len(), 2);
    assert_eq!(c.cassette.meta.notes, None);
    assert!(!c.replies[1].wants_tools());
    replays_cleanly(&c.path);

    // A bare Responses input array ending with the results.
    let (_, loaded) = import_into(dir.path(), &fixture("logs/responses_input.json"));
    assert_eq!(loaded[0].provider(), Provider::OpenAiResponses);
    assert_eq!(calls(&loaded[0]), 3);
    replays_cleanly(&loaded[0].path);

    // Gemini requests whose calls carry no ids: the rebuilt reply keeps them id-less, and the
    // logged results pair with them by name and position.
    let (_, loaded) = import_into(dir.path(), &fixture("logs/gemini_requests.jsonl"));
    let c = &loaded[0];
    assert_eq!(c.provider(), Provider::Gemini);
    assert_eq!(calls(c), 3);
    assert!(
        c.replies[0]
            .calls()
            .iter()
            .all(|k| k.id.starts_with("get_weather#"))
    );
    replays_cleanly(&c.path);
}

#[test]
fn each_conversation_of_a_log_becomes_its_own_cassette() {
    let dir = tempfile::tempdir().unwrap();
    let (imported, loaded) = import_into(dir.path(), &fixture("logs/two_conversations.jsonl"));
    let names: Vec<_> = imported
        .written
        .iter()
        .map(|w| w.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["two_conversations.json", "two_conversations-2.json"]
    );
    for c in &loaded {
        replays_cleanly(&c.path);
    }
}

#[test]
fn existing_files_are_kept_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.json");
    std::fs::write(&out, "old").unwrap();
    let options = |force| Options {
        out: Some(out.clone()),
        force,
        ..Options::default()
    };
    let input = recorded("test_anthropic_plain");
    let err = import::import(std::slice::from_ref(&input), &options(false)).unwrap_err();
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old");
    import::import(&[input], &options(true)).unwrap();
    cassette::load(&out).unwrap();
}

fn tooltape() -> Command {
    let mut c = assert_cmd::cargo::cargo_bin_cmd!("tooltape");
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[test]
fn the_command_writes_next_to_an_out_dir_and_exits_2_on_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    tooltape()
        .args(["import", "--out-dir"])
        .arg(dir.path())
        .args([
            "tests/fixtures/import/cassettes/test_agents/test_anthropic_retry_and_models.yaml",
            "tests/fixtures/import/logs/chat_conversation.json",
        ])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "test_anthropic_retry_and_models.json: 2 exchange(s), 1 tool call(s), anthropic",
        ))
        .stderr(predicate::str::contains(
            "interactions[1]: skipped POST /v1/messages, answered 500",
        ));
    assert!(dir.path().join("chat_conversation.json").is_file());
    // Again: the files exist.
    tooltape()
        .args(["import", "--out-dir"])
        .arg(dir.path())
        .arg("tests/fixtures/import/logs/chat_conversation.json")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pass --force"));
    tooltape()
        .args(["import", "--out-dir"])
        .arg(dir.path())
        .arg("tests/fixtures/import/variants/malformed.yaml")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: tests/fixtures/import/variants/malformed.yaml:11:15: not a readable vcrpy cassette",
        ));
    // A JSON log's default name would be the input itself.
    tooltape()
        .args([
            "import",
            "tests/fixtures/import/logs/chat_conversation.json",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("would replace its own input"));
    let stored: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("chat_conversation.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(stored["format"], "tooltape-cassette");
}

#[test]
fn keys_inside_bodies_never_reach_the_imported_cassette() {
    let dir = tempfile::tempdir().unwrap();
    let key = "sk-ant-api03-Zq8xVb2kLm4nPq7rSt9uVw1yXz3aBc5dEf7gHi9jKl";
    let text = std::fs::read_to_string(fixture("logs/chat_conversation.json")).unwrap();
    let mut log: serde_json::Value = serde_json::from_str(&text).unwrap();
    let first = log["messages"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|m| m["role"] == "user")
        .unwrap();
    first["content"] = serde_json::json!(format!("my key is {key}, keep it safe"));
    let input = dir.path().join("with_key.json");
    std::fs::write(&input, serde_json::to_string_pretty(&log).unwrap()).unwrap();
    let out = dir.path().join("out");
    let (_, cassettes) = import_into(&out, &input);
    assert!(!cassettes.is_empty());
    for entry in std::fs::read_dir(&out).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(key), "the key reached {text}");
        assert!(text.contains("REDACTED"), "{text}");
    }
}

#[test]
fn a_gemini_stream_sent_as_a_json_array_is_kept_as_its_chunks() {
    // The streamed recording as a client gets it without `alt=sse`: one JSON array per reply.
    let dir = tempfile::tempdir().unwrap();
    let (_, array) = import_into(dir.path(), &fixture("variants/gemini_json_array.yaml"));
    let (_, sse) = import_into(dir.path(), &recorded("test_gemini_streamed"));
    let (a, b) = (&array[0], &sse[0]);
    assert_eq!(a.provider(), Provider::Gemini);
    assert_eq!(
        a.cassette.meta.model.as_deref(),
        Some("gemini-2.5-flash"),
        "from the URL"
    );
    for (x, y) in a.cassette.exchanges.iter().zip(&b.cassette.exchanges) {
        let (RecordedReply::Stream(xe), RecordedReply::Stream(ye)) = (&x.reply, &y.reply) else {
            panic!("both kept as streams");
        };
        assert_eq!(xe.len(), ye.len(), "one event per array element");
    }
    assert_eq!(a.replies, b.replies);
    replays_cleanly(&a.path);
}
