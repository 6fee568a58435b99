//! Secrets never reach a recorded cassette: the redaction and the final scan of `tooltape
//! record`, driven in-process at the library level (no proxy, no processes).
//!
//! Each leak of issue #14 has a deterministic test here; `record_secrets/property.rs` puts
//! random credentials in random places and encodings.

#[path = "record_secrets/property.rs"]
mod property;
#[path = "record_secrets/support.rs"]
mod support;

use serde_json::json;
use support::{
    Pipeline, anthropic_stream, b64, events_holding, leaked_piece, reassembled_reply_text,
    request_with,
};
use tooltape::provider::Provider;
use tooltape::record::redact::MASK;

/// An Anthropic key shaped like the real ones.
const SK_ANT: &str =
    "sk-ant-api03-Zq3Lw9xPk2Vb7Nc4Md8Rf1Ty6Hs5Jg0-Aa_Ee2Ii4Oo6Uu8Kk1Ll3Pp5Qq7Ss9Ww0Xx2Yy4Zz6AA";
/// An opaque 40-hex key, shaped like no known key: only the run's own credentials find it.
const HEX_KEY: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b";
/// The agent's own key (its environment has it, and the proxy saw it in `x-api-key`).
const RUN_KEY: &str = "tt-anthropic-KEY-7Qx9Lm2Pz4Rw8Ty1";

/// The issue's first leak: a key split in three text deltas, each piece too short for the
/// `sk-` pattern; the reader joins them back. With a key of the real length, the first piece
/// was masked and the two others kept.
#[test]
fn a_key_split_in_three_text_deltas_is_masked() {
    let short = &SK_ANT[..45];
    for key in [short, SK_ANT] {
        let reply = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [{"type": "text", "text": key}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1}});
        let events = anthropic_stream(&reply);
        assert_eq!(
            events_holding(&events, key),
            0,
            "precondition: no single event holds the whole key"
        );
        let text = Pipeline::new()
            .streamed(Provider::Anthropic, request_with("hello"), events)
            .finish()
            .expect("nothing of the run's own is in it: written");
        let joined = reassembled_reply_text(&text);
        assert_eq!(leaked_piece(&joined, key), None, "{joined}");
        assert_eq!(leaked_piece(&text, key), None, "{text}");
        assert!(joined.contains(MASK), "{joined}");
    }
}

/// The issue's second leak: the run's opaque key split in two tool-argument deltas.
#[test]
fn the_runs_opaque_key_split_in_two_argument_deltas_refuses_the_write() {
    let reply = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": HEX_KEY}}],
        "stop_reason": "tool_use", "usage": {"input_tokens": 1, "output_tokens": 1}});
    let events = anthropic_stream(&reply);
    assert!(events_holding(&events, HEX_KEY) == 0, "precondition: split");
    let hit = Pipeline::new()
        .env("SERVICE_API_KEY", HEX_KEY)
        .streamed(Provider::Anthropic, request_with("hello"), events)
        .finish()
        .expect_err("the key of the run is in the arguments");
    assert!(hit.source.contains("SERVICE_API_KEY"), "{hit:?}");
}

/// The issue's third leak: the run's key as `\uXXXX` escapes inside an event's `data`, kept
/// verbatim (nothing in it looks like a key to the patterns).
#[test]
fn the_runs_key_in_unicode_escapes_inside_sse_data_refuses_the_write() {
    let reply = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [{"type": "text", "text": format!("my key: {RUN_KEY}")}],
        "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1}});
    let mut events = anthropic_stream(&reply);
    // One delta event with the whole text, every letter of the key escaped.
    let escaped: String = RUN_KEY
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    let first = events
        .iter()
        .position(|e| e.event.as_deref() == Some("content_block_delta"))
        .unwrap();
    events.retain(|e| e.event.as_deref() != Some("content_block_delta"));
    events.insert(
        first,
        tooltape::provider::SseEvent {
            event: Some("content_block_delta".into()),
            data: format!(
                r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":"my key: {escaped}"}}}}"#
            ),
            gap_ms: 0,
        },
    );
    let hit = Pipeline::new()
        .run_key(RUN_KEY)
        .streamed(Provider::Anthropic, request_with("hello"), events)
        .finish()
        .expect_err("the run's key, escaped");
    assert!(hit.source.contains("ANTHROPIC_API_KEY"), "{hit:?}");
}

/// The issue's fourth leak: the run's key base64-encoded and wrapped across a line break,
/// base64-encoded twice, or hex-encoded, in a prompt or a tool output.
#[test]
fn the_runs_key_wrapped_in_base64_double_base64_or_hex_refuses_the_write() {
    let once = b64(format!("token={RUN_KEY}").as_bytes());
    let wrapped = format!("{}\n{}", &once[..20], &once[20..]);
    let crlf = format!("{}\r\n{}", &once[..17], &once[17..]);
    let twice = b64(once.as_bytes());
    let hex: String = RUN_KEY.bytes().map(|b| format!("{b:02x}")).collect();
    for (form, text) in [
        ("base64 across a line break", wrapped),
        ("base64 across a CRLF", crlf),
        ("base64 twice", twice),
        ("hex", hex.clone()),
        ("upper-case hex", hex.to_uppercase()),
    ] {
        let hit = Pipeline::new()
            .run_key(RUN_KEY)
            .plain(
                Provider::Anthropic,
                request_with(&format!("attachment: {text} end")),
            )
            .finish()
            .expect_err(form);
        assert!(hit.source.contains("ANTHROPIC_API_KEY"), "{form}: {hit:?}");
    }
}

/// The issue's fifth leak: query parameters named like credentials, but missing from the old
/// list, were written verbatim into `meta.notes`.
#[test]
fn secret_named_query_parameters_never_reach_the_notes() {
    let values = [
        "cs-0b9f7e3a5c1d2e4f6a8b",
        "at-5e6f7a8b9c0d1e2f3a4b",
        "IQoJb3JpZ2luX2VjEXAMPLETOKEN",
        "glpat-xY7zW3vU1tS9rQ5pO2nM",
        "kk-plain-snake-token-1",
        "pp-dash-private-token-2",
    ];
    let query = format!(
        "api-version=2024-10-21&client_secret={}&access-token={}&X-Amz-Security-Token={}&private_token={}&x_amz_security_token={}&private-token={}",
        values[0], values[1], values[2], values[3], values[4], values[5]
    );
    let text = Pipeline::new()
        .query(&query)
        .plain(Provider::Anthropic, request_with("hello"))
        .finish()
        .expect("no credential of the run in the bodies");
    for v in values {
        assert!(!text.contains(v), "{v} is in the cassette:\n{text}");
    }
    assert!(text.contains("api-version=2024-10-21"), "{text}");
    assert!(text.contains("client_secret=[REDACTED]"), "{text}");
    assert!(text.contains("X-Amz-Security-Token=[REDACTED]"), "{text}");
}

/// No false alarm on what ordinary cassettes hold: every bundled cassette goes through the
/// redaction unchanged, and the scan, with the run's credentials known, lets it through.
#[test]
fn bundled_cassettes_are_neither_masked_nor_refused() {
    use tooltape::cassette::RecordedReply;
    use tooltape::record::redact::Redactor;
    let redactor = Redactor::new(&[]).unwrap();
    let credentials = Pipeline::new()
        .run_key(RUN_KEY)
        .env("SERVICE_API_KEY", HEX_KEY)
        .header("authorization", "Bearer sk-proj-AbCdEfGhIjKlMnOpQrStUvWx")
        .credentials();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cassettes");
    let mut seen = 0;
    for entry in walkdir::WalkDir::new(&root) {
        let path = entry.unwrap().into_path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let loaded = tooltape::cassette::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut c = loaded.cassette.clone();
        for ex in &mut c.exchanges {
            redactor.value(&mut ex.request);
            match &mut ex.reply {
                RecordedReply::Body(b) => {
                    redactor.value(b);
                }
                RecordedReply::Stream(events) => {
                    redactor.stream(events);
                }
            }
        }
        let (got, want) = (
            serde_json::to_string_pretty(&c).unwrap(),
            serde_json::to_string_pretty(&loaded.cassette).unwrap(),
        );
        if let Some((g, w)) = got.lines().zip(want.lines()).find(|(g, w)| g != w) {
            panic!("{}: masked\n{w}\nas\n{g}", path.display());
        }
        let text = tooltape::record::write::finish(c, &redactor, &credentials)
            .unwrap_or_else(|hit| panic!("{}: {hit:?}", path.display()));
        assert!(!text.contains(MASK), "{}", path.display());
        seen += 1;
    }
    assert!(seen >= 20, "{seen} cassettes");
}

/// Tool outputs full of hashes, UUIDs, base64 data and hex dumps are kept as they are, and are
/// no credential of the run.
#[test]
fn hashes_uuids_and_binary_data_in_tool_outputs_are_kept() {
    let output = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/record/secrets/ordinary_tool_output.txt"),
    )
    .unwrap();
    let request = request_with(&output);
    let text = Pipeline::new()
        .run_key(RUN_KEY)
        .env("SERVICE_API_KEY", HEX_KEY)
        .env("GITHUB_TOKEN", "ghp_16C7e42F292c6912E7710c838347Ae178B4a")
        .plain(Provider::Anthropic, request.clone())
        .finish()
        .expect("no credential of the run in it");
    let c: tooltape::cassette::Cassette = serde_json::from_str(&text).unwrap();
    assert_eq!(c.exchanges[0].request, request, "nothing masked");
}
