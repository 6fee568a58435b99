//! Verdicts that say what really happened (issue #10): in-process handlers, on the virtual
//! clock, that do what real clients do and must not be blamed for it.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use tooltape::handler::{BoxError, Env, from_fn};

fn scenario(name: &str) -> Arc<tooltape::scenario::Scenario> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    Arc::new(tooltape::scenario::load(&path).expect("bundled scenario"))
}

/// Runs `calls` (name, input) at once through the fake tools; each answer (`Err`: the failure
/// text) in the calls' order, whatever order they complete in.
async fn at_once(
    env: &Env,
    calls: impl Iterator<Item = (Value, Value)>,
) -> Result<Vec<Result<String, String>>, BoxError> {
    let mut tasks = tokio::task::JoinSet::new();
    let mut n = 0;
    for (k, (name, input)) in calls.enumerate() {
        let env = env.clone();
        tasks.spawn(async move {
            let name = name.as_str().unwrap_or_default().to_string();
            (k, env.tool(&name, &input).await.map_err(|e| e.0))
        });
        n = k + 1;
    }
    let mut answers = vec![Ok(String::new()); n];
    while let Some(done) = tasks.join_next().await {
        let (k, answer) = done?;
        answers[k] = answer;
    }
    Ok(answers)
}

/// A Responses loop that resends the assistant's message items as `item_reference`s, as the
/// Vercel AI SDK does with `store` on (the API resolves them to the stored items).
async fn responses_with_item_references(env: Env) -> Result<(), BoxError> {
    let mut request = env.initial_request();
    loop {
        let reply = env.model(request.clone()).await?;
        let output = reply["output"].as_array().cloned().unwrap_or_default();
        let calls: Vec<Value> = output
            .iter()
            .filter(|i| i["type"] == "function_call")
            .cloned()
            .collect();
        if calls.is_empty() {
            return Ok(());
        }
        let outputs: Vec<String> = at_once(
            &env,
            calls.iter().map(|c| {
                let input = serde_json::from_str(c["arguments"].as_str().unwrap_or("{}"));
                (c["name"].clone(), input.unwrap_or_default())
            }),
        )
        .await?
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| e))
        .collect();
        let input = request["input"].as_array_mut().ok_or("input is an array")?;
        for item in &output {
            if item["type"] == "message" {
                input.push(json!({"type": "item_reference", "id": item["id"]}));
            } else {
                input.push(item.clone());
            }
        }
        for (c, out) in calls.iter().zip(outputs) {
            input.push(
                json!({"type": "function_call_output", "call_id": c["call_id"], "output": out}),
            );
        }
    }
}

/// Item 5: a reference to a message served is that message; the history is unchanged.
#[test]
fn an_item_reference_to_a_served_message_is_not_a_history_change() {
    let handler = from_fn("item-references", responses_with_item_references);
    let report = tooltape::handler::run_scenario(
        scenario("openai-responses-text_with_calls.json"),
        &handler,
        42,
    );
    assert!(
        report.passed(false),
        "{}",
        tooltape::report::terminal::render_failures(&report)
    );
}

/// One run of a built-in handler on the virtual clock, with the real clock's barrier grace
/// (2 s): what `test -- CMD` does, exactly reproducible.
fn run_with_real_grace(scenario_file: &str, handler: &str) -> tooltape::replay::RunReport {
    let s = scenario(scenario_file);
    let plan = tooltape::replay::order::plans(&s, 42).next().unwrap();
    let handler = tooltape::handler::builtin::by_name(handler).expect("built-in handler");
    let grace = s.file.policy.real_grace();
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime")
        .block_on(tooltape::handler::drive(s, &handler, plan, grace))
}

fn ms(d: std::time::Duration) -> u128 {
    d.as_millis()
}

/// Item 1: a sequential handler's first call waits out the barrier's grace (2 s); that is the
/// harness's time, reported as `held`, not the handler's wall time.
#[test]
fn barrier_holds_are_reported_apart_from_the_handlers_wall_time() {
    // anthropic-three_parallel: calls of 300, 200 and 100 ms, completed in call order.
    let r = run_with_real_grace(
        "anthropic-three_parallel.json",
        "breaks-sequential-execution",
    );
    let t = &r.turns[0];
    assert_eq!(ms(t.held), 1700, "{t:?}"); // 2 s grace less the first call's 300 ms
    assert_eq!(ms(t.wall), 600, "{t:?}"); // 300 + 200 + 100, one after another
    assert_eq!(ms(t.tool_sum), 600, "{t:?}");
    assert!((t.concurrency - 1.0).abs() < 1e-9, "{t:?}");
    assert!((t.efficiency - 0.5).abs() < 1e-9, "{t:?}"); // ideal 300 ms of 600
    assert_eq!(ms(t.bars[0].held), 1700, "{t:?}");
    assert!(
        t.timeline(40).contains("held by tooltape 1700 ms"),
        "{}",
        t.timeline(40)
    );
    let json = serde_json::to_value(t).unwrap();
    assert_eq!(json["held_ms"], 1700.0);

    // The concurrent reference: the barrier fills at once, only the completion order's
    // 1 ms steps are the harness's; wall is the slowest call.
    let r = run_with_real_grace("anthropic-three_parallel.json", "reference");
    let t = &r.turns[0];
    assert_eq!(ms(t.wall), 300, "{t:?}");
    assert_eq!(ms(t.held), 2, "{t:?}");
    assert!((t.efficiency - 1.0).abs() < 1e-9, "{t:?}");
}

/// Item 7: a reply kept as a stream is sent with its recorded gaps; the handler's overhead
/// counts from the end of the stream, and the stream's time is reported apart.
#[tokio::test]
async fn stream_gaps_are_not_counted_as_the_handlers_overhead() {
    use crate::server::post;
    let s = scenario("anthropic-three_parallel.json");
    let plan = tooltape::replay::order::plans(&s, 42).next().unwrap();
    // Half speed: the first reply's recorded gaps (1,730 ms) take 865 ms to send.
    let m = tooltape::server::MockRun::start(s.clone(), plan, 0, 0.5)
        .await
        .unwrap();
    let fmt = tooltape::provider::format(s.cassette.provider());
    let mut request = s.cassette.cassette.exchanges[0].request.clone();
    request["stream"] = json!(true);
    let r = post(m.addr(), "/v1/messages", &[], &request.to_string()).await;
    assert!(r.body.contains("message_stop"), "{}", r.body);
    // The reply as the stream accumulates (the cassette holds it).
    let reply = &s.cassette.reply_bodies[0];
    let calls: Vec<Value> = reply["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "tool_use")
        .cloned()
        .collect();
    let addr = m.addr();
    let outputs = futures_util::future::join_all(calls.iter().map(|c| async move {
        let path = format!("/_tools/{}", c["name"].as_str().unwrap());
        post(addr, &path, &[], &c["input"].to_string()).await
    }))
    .await;
    let results: Vec<tooltape::provider::ResultBlock> = calls
        .iter()
        .zip(outputs)
        .map(|(c, o)| tooltape::provider::ResultBlock {
            call_id: c["id"].as_str().unwrap().into(),
            name: c["name"].as_str().unwrap().into(),
            content: o.body,
            is_error: false,
        })
        .collect();
    let history = fmt.history_mut(&mut request).unwrap();
    history.extend(fmt.history_entries(reply).unwrap());
    history.extend(fmt.results_entries(&results, None));
    request["stream"] = json!(false);
    let _ = post(m.addr(), "/v1/messages", &[], &request.to_string()).await;
    let report = m.finish().await;
    let t = &report.turns[0];
    assert_eq!(ms(t.stream), 865, "{t:?}");
    // Before: the overhead was at least the stream's 865 ms. Now it is the client's own
    // time, which is far below (a margin of hundreds of ms, not a speed target).
    let overhead = t.overhead.expect("a follow-up came");
    assert!(overhead < t.stream, "{t:?}");
    assert!(report.violations.is_empty(), "{:?}", report.violations);
}

/// Item 8: every base URL variable the SDKs and common frameworks read points at the mock,
/// and the settings that would send the agent elsewhere are taken out of its environment.
#[tokio::test]
async fn the_agent_environment_points_every_known_variable_at_the_mock() {
    let s = scenario("anthropic-single_call.json");
    let plan = tooltape::replay::order::plans(&s, 42).next().unwrap();
    let m = tooltape::server::MockRun::start(s, plan, 0, 1.0)
        .await
        .unwrap();
    let base = format!("http://{}", m.addr());
    let vars = m.env_vars();
    for (k, v) in [
        ("OPENAI_BASE_URL", format!("{base}/v1")),
        ("OPENAI_API_BASE", format!("{base}/v1")),
        ("ANTHROPIC_BASE_URL", base.clone()),
        ("ANTHROPIC_API_URL", base.clone()),
        ("ANTHROPIC_API_BASE", base.clone()),
    ] {
        assert!(vars.contains(&(k.to_string(), v)), "{k} missing: {vars:?}");
    }
    let removed = tooltape::server::Server::env_remove();
    for k in [
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BEDROCK_BASE_URL",
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
        "AZURE_OPENAI_ENDPOINT",
        "GOOGLE_API_KEY",
        "GOOGLE_CLOUD_PROJECT",
        "GEMINI_API_BASE",
    ] {
        assert!(removed.contains(&k), "{k} is not removed: {removed:?}");
    }
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for k in vars
        .iter()
        .map(|(k, _)| k.as_str())
        .chain(removed.iter().copied())
    {
        assert!(
            readme.contains(&format!("`{k}`")),
            "README does not list {k}"
        );
    }
    let _ = m.finish().await;
}

/// Item 11: parsers are forward-compatible. A `system` message inside Anthropic `messages`
/// (the API accepts it, 2026) and roles no API has today are kept, whole, as instructions the
/// rules pass over; they are not refused.
#[test]
fn unknown_roles_and_system_messages_are_kept_not_refused() {
    use tooltape::provider::{Provider, format};
    use tooltape::transcript::{Part, Role};
    let cases = [
        (
            Provider::Anthropic,
            json!({"model": "m", "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "hi"},
                {"role": "narrator", "content": "meanwhile"}
            ]}),
        ),
        (
            Provider::OpenAiChat,
            json!({"model": "m", "messages": [
                {"role": "user", "content": "hi"},
                {"role": "narrator", "content": "meanwhile"}
            ]}),
        ),
        (
            Provider::OpenAiResponses,
            json!({"model": "m", "input": [
                {"role": "user", "content": "hi"},
                {"role": "narrator", "content": "meanwhile"}
            ]}),
        ),
    ];
    // Gemini alone refuses a role it does not know, as the API does (a false pass otherwise).
    let e = format(Provider::Gemini)
        .parse_request(&json!({"contents": [
            {"role": "user", "parts": [{"text": "hi"}]},
            {"role": "assistant", "parts": [{"text": "meanwhile"}]}
        ]}))
        .unwrap_err();
    assert_eq!(e.path, "contents[1].role");
    assert!(e.message.contains("Please use a valid role"), "{e}");
    for (p, body) in cases {
        let r = format(p)
            .parse_request(&body)
            .unwrap_or_else(|e| panic!("{p}: {e}"));
        let last = r.messages.last().unwrap();
        assert_eq!(last.role, Role::System, "{p}");
        assert_eq!(
            last.parts,
            vec![Part::Other(
                json!({"role": "narrator", "content": "meanwhile"})
            )],
            "{p}: kept whole"
        );
    }
    let r = format(Provider::Anthropic)
        .parse_request(&cases_first())
        .unwrap();
    assert_eq!(r.messages[0].role, Role::System);
    assert_eq!(r.messages[0].parts, vec![Part::Text("Be brief.".into())]);
}

fn cases_first() -> Value {
    json!({"model": "m", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]})
}

/// Items 2 and 3: a failing scenario shows the agent's output (stderr included) once, also when
/// it broke a rule without a run error; a note that reads the same in every order is printed
/// once, with the orders it applies to.
#[test]
fn failure_details_show_the_output_once_and_each_note_once_with_its_orders() {
    use tooltape::replay::{RunReport, ScenarioReport};
    use tooltape::rules::{RuleId, Violation};
    let s = scenario("anthropic-three_parallel.json");
    let note = "the follow-up was rejected as the real API would: tool_use ids were found without tool_result blocks";
    let runs = ["call", "reverse", "shuffle 1/2"]
        .into_iter()
        .map(|order| RunReport {
            order: order.into(),
            seed: 42,
            violations: vec![Violation::new(
                RuleId::MissingResult,
                1,
                Some("toolu_x"),
                "call toolu_x (get_weather) has no result",
            )],
            error: None,
            timed_out: false,
            repeats: 0,
            notes: vec![note.into()],
            turns: Vec::new(),
            output: Some(format!("starting\nTraceback: KeyError in {order}\n")),
        })
        .collect();
    let report = ScenarioReport::new(&s, "agent".into(), runs);
    let text = tooltape::report::terminal::render_failures(&report);
    assert_eq!(text.matches(note).count(), 1, "{text}");
    assert!(
        text.contains(&format!("note [orders call, reverse, shuffle 1/2]: {note}")),
        "{text}"
    );
    assert!(
        text.contains("output of the handler in order call:"),
        "{text}"
    );
    assert!(text.contains("| Traceback: KeyError in call"), "{text}");
    assert_eq!(text.matches("output of the handler").count(), 1, "{text}");
}

fn tooltape() -> assert_cmd::Command {
    let mut c = assert_cmd::cargo::cargo_bin_cmd!("tooltape");
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// Item 4: each message says what is wrong, where. An unreadable file is not "no findings";
/// a directory or a device is not "does not exist"; bad UTF-8 has its line and column.
#[test]
fn unreadable_inputs_are_named_for_what_they_are() {
    use predicates::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    tooltape()
        .args(["lint", "no/such/missing.json"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("no findings").not())
        .stdout(predicate::str::contains(
            "1 file could not be read (see above): nothing was checked",
        ));
    tooltape()
        .args(["lint", "/dev/zero"])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/dev/zero: is not a regular file"));
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, b"{\n  \"messages\": \"caf\xe9\"\n}\n").unwrap();
    tooltape()
        .arg("lint")
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}:2:19: not UTF-8 text: byte 0xe9",
            bad.display()
        )));
    // A scenario whose cassette is a directory.
    let cassette_dir = dir.path().join("cassette.json");
    std::fs::create_dir(&cassette_dir).unwrap();
    let mut sc: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/anthropic-single_call.json"),
        )
        .unwrap(),
    )
    .unwrap();
    sc["cassette"] = json!("cassette.json");
    let sc_path = dir.path().join("s.json");
    std::fs::write(&sc_path, sc.to_string()).unwrap();
    tooltape()
        .arg("test")
        .arg(&sc_path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is a directory, not a file"));
}

/// Item 11: an OpenAI-compatible reply whose tool calls have no id is not refused ("empty
/// id"): the calls get ids the same turn always gets, results without ids are paired by name,
/// then by position, and the replay says so in a note.
#[test]
fn chat_calls_without_ids_are_paired_by_position_and_said_so() {
    use tooltape::provider::{Provider, format};
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lint/chat_calls_without_ids.json");
    let loaded = tooltape::cassette::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let calls: Vec<String> = loaded.replies[0]
        .calls()
        .iter()
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(calls.len(), 2);
    assert_ne!(calls[0], calls[1]);
    // The next request's copy of the turn names the same calls; its results pair by position.
    let next = &loaded.requests[1];
    let copy: Vec<String> = next.messages[1].calls().map(|c| c.id.clone()).collect();
    assert_eq!(copy, calls);
    let results: Vec<String> = next.messages[2]
        .results()
        .map(|r| r.call_id.clone())
        .collect();
    assert_eq!(results, calls);
    let note = format(Provider::OpenAiChat)
        .pairing_note(&loaded.replies[0])
        .expect("a note");
    assert!(note.contains("by name, then by position"), "{note}");
    // And lint finds nothing wrong with the conversation.
    tooltape()
        .args(["lint", "tests/fixtures/lint/chat_calls_without_ids.json"])
        .assert()
        .code(0);
    // A result without an id where the calls had ids is still refused, as the API refuses it.
    let e = format(Provider::OpenAiChat)
        .parse_request(&json!({"messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "content": "x"}
        ]}))
        .unwrap_err();
    assert_eq!(e.path, "messages[2].tool_call_id");
}

/// An Anthropic loop that sends, after its results, a content block of a type no API version
/// has (as a client of a newer API version might).
async fn anthropic_with_a_new_block_type(env: Env) -> Result<(), BoxError> {
    let mut request = env.initial_request();
    loop {
        let reply = env.model(request.clone()).await?;
        let content = reply["content"].as_array().cloned().unwrap_or_default();
        let calls: Vec<Value> = content
            .iter()
            .filter(|b| b["type"] == "tool_use")
            .cloned()
            .collect();
        if calls.is_empty() {
            return Ok(());
        }
        let answers = at_once(
            &env,
            calls
                .iter()
                .map(|c| (c["name"].clone(), c["input"].clone())),
        );
        let mut results: Vec<Value> = calls
            .iter()
            .zip(answers.await?)
            .map(|(c, answer)| {
                let failed = answer.is_err();
                let out = answer.unwrap_or_else(|e| e);
                json!({"type": "tool_result", "tool_use_id": c["id"], "content": out, "is_error": failed})
            })
            .collect();
        results.push(json!({"type": "hologram", "data": "a block of a later API version"}));
        let messages = request["messages"]
            .as_array_mut()
            .ok_or("messages is an array")?;
        messages.push(json!({"role": "assistant", "content": content}));
        messages.push(json!({"role": "user", "content": results}));
    }
}

/// Item 11: a block type no API documents is kept, passed over by the rules (the handler is
/// not blamed for it) and noted once per run; the known kinds (thinking, images) are not noted.
#[test]
fn unknown_block_types_are_passed_over_with_a_note() {
    let handler = from_fn("new-block-type", anthropic_with_a_new_block_type);
    let report =
        tooltape::handler::run_scenario(scenario("anthropic-three_round_loop.json"), &handler, 7);
    assert!(
        report.passed(false),
        "{}",
        tooltape::report::terminal::render_failures(&report)
    );
    for run in &report.runs {
        let noted: Vec<&String> = run
            .notes
            .iter()
            .filter(|n| n.contains("which this tooltape does not know"))
            .collect();
        assert_eq!(noted.len(), 1, "{:?}", run.notes);
        assert!(
            noted[0].contains("a content block of type \"hologram\""),
            "{noted:?}"
        );
    }
    use tooltape::provider::{Provider, format};
    let fmt = format(Provider::Anthropic);
    assert_eq!(
        fmt.unfamiliar(&json!({"type": "thinking", "thinking": ""})),
        None
    );
    assert_eq!(
        fmt.unfamiliar(&json!({"type": "image", "source": {}})),
        None
    );
}

/// Item 11: each API names what it keeps without knowing it: a message of an unknown role, a
/// block, part or item of an unknown type; Gemini parts name their kind by field, so a new
/// field is what is noted there.
#[test]
fn each_api_names_what_it_does_not_know() {
    use tooltape::provider::{Provider, format};
    let cases = [
        (
            Provider::Anthropic,
            json!({"role": "narrator", "content": "x"}),
            "a message of role \"narrator\"",
        ),
        (
            Provider::OpenAiChat,
            json!({"type": "video_url", "video_url": {}}),
            "a content part or call of type \"video_url\"",
        ),
        (
            Provider::OpenAiResponses,
            json!({"type": "teleport_call", "id": "t"}),
            "an item or content part of type \"teleport_call\"",
        ),
        (
            Provider::Gemini,
            json!({"hologram": {"data": "x"}}),
            "a part with field(s) \"hologram\"",
        ),
    ];
    for (p, part, what) in cases {
        assert_eq!(format(p).unfamiliar(&part).as_deref(), Some(what), "{p}");
    }
    let known = [
        (Provider::OpenAiChat, json!({"type": "image_url"})),
        (Provider::OpenAiResponses, json!({"type": "reasoning"})),
        (Provider::Gemini, json!({"inline_data": {}})),
        (Provider::Gemini, json!({"thought": true, "text": "x"})),
    ];
    for (p, part) in known {
        assert_eq!(format(p).unfamiliar(&part), None, "{p}: {part}");
    }
}
