//! Agents written with the official Python SDKs, run as commands against the mock server:
//! the correct ones pass (streamed and not, all four APIs), each broken one is caught with
//! its rule, and nothing is left running after a hung agent.
//!
//! Needs a Python with `anthropic`, `openai` and `google-genai` installed: `TOOLTAPE_PYTHON`, or
//! `.venv/bin/python` (.ci/run creates it). Without one these tests are skipped, unless
//! `TOOLTAPE_REQUIRE_PYTHON=1` (set by .ci/run), which makes a missing Python a failure.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tooltape::process::{self, ProcessOptions};
use tooltape::replay::ScenarioReport;
use tooltape::rules::RuleId;
use tooltape::scenario::{NamedOrder, OrderSpec, Scenario};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> Option<PathBuf> {
    crate::python_with("anthropic, openai, google.genai")
}

fn scenario(name: &str, orders: &[NamedOrder]) -> Arc<Scenario> {
    let mut s = tooltape::scenario::load(&root().join("scenarios").join(format!("{name}.json")))
        .expect("bundled scenario");
    s.file.orders = orders.iter().map(|o| OrderSpec::Named(*o)).collect();
    Arc::new(s)
}

fn run(scenarios: &[Arc<Scenario>], script: &str, extra: &[&str]) -> Option<Vec<ScenarioReport>> {
    let py = python()?;
    let mut cmd = vec![
        py.display().to_string(),
        root()
            .join("examples/python")
            .join(script)
            .display()
            .to_string(),
    ];
    cmd.extend(extra.iter().map(|s| s.to_string()));
    Some(process::run_suite(scenarios, &cmd, 42, 2, &ProcessOptions::default(), &|_| {}).unwrap())
}

fn describe(r: &ScenarioReport) -> String {
    let mut s = tooltape::report::terminal::render_failures(r);
    for run in &r.runs {
        if let Some(out) = &run.output {
            s.push_str(&format!("--- output [{}]\n{out}\n", run.order));
        }
    }
    s
}

fn assert_pass(reports: &[ScenarioReport]) {
    for r in reports {
        assert!(r.passed(false), "{} failed:\n{}", r.name, describe(r));
    }
}

fn assert_caught(reports: &[ScenarioReport], rule: RuleId) {
    for r in reports {
        assert_eq!(
            r.rules_broken(),
            BTreeSet::from([rule]),
            "{}:\n{}",
            r.name,
            describe(r)
        );
    }
}

use NamedOrder::{Call, Reverse};

/// Every bundled Gemini scenario, each with one completion order.
fn every_gemini_scenario(order: NamedOrder) -> Vec<Arc<Scenario>> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| {
            Some(
                n.strip_prefix("gemini-")?
                    .strip_suffix(".json")?
                    .to_string(),
            )
        })
        .collect();
    names.sort();
    assert!(names.len() >= 6, "{names:?}");
    names
        .iter()
        .map(|n| scenario(&format!("gemini-{n}"), &[order]))
        .collect()
}

#[test]
fn anthropic_agent_passes_plain_json() {
    let Some(reports) = run(
        &[
            scenario("anthropic-three_parallel", &[Reverse]),
            scenario("anthropic-failing_tool", &[Reverse]),
        ],
        "anthropic_agent.py",
        &[],
    ) else {
        return;
    };
    assert_pass(&reports);
    // All three calls were in flight at once.
    assert_eq!(reports[0].runs[0].turns[0].peak_in_flight, 3);
}

#[test]
fn anthropic_agent_passes_streamed() {
    let Some(reports) = run(
        &[
            scenario("anthropic-three_round_loop", &[Call]),
            scenario("anthropic-hung_tool", &[Call]),
        ],
        "anthropic_agent.py",
        &["--stream"],
    ) else {
        return;
    };
    assert_pass(&reports);
}

#[test]
fn openai_chat_agent_passes_plain_json() {
    let Some(reports) = run(
        &[
            scenario("openai-chat-three_parallel", &[Reverse]),
            scenario("openai-chat-failing_tool", &[Call]),
        ],
        "openai_chat_agent.py",
        &[],
    ) else {
        return;
    };
    assert_pass(&reports);
}

#[test]
fn openai_chat_agent_passes_streamed() {
    let Some(reports) = run(
        &[
            scenario("openai-chat-eight_parallel", &[Reverse]),
            scenario("openai-chat-hung_tool", &[Call]),
        ],
        "openai_chat_agent.py",
        &["--stream"],
    ) else {
        return;
    };
    assert_pass(&reports);
    assert_eq!(reports[0].runs[0].turns[0].peak_in_flight, 8);
}

#[test]
fn openai_responses_agent_passes_plain_json() {
    let Some(reports) = run(
        &[
            scenario("openai-responses-three_parallel", &[Reverse]),
            scenario("openai-responses-failing_tool", &[Call]),
        ],
        "openai_responses_agent.py",
        &[],
    ) else {
        return;
    };
    assert_pass(&reports);
}

#[test]
fn openai_responses_agent_passes_streamed() {
    let Some(reports) = run(
        &[
            scenario("openai-responses-three_round_loop", &[Call]),
            scenario("openai-responses-identical_calls", &[Reverse]),
        ],
        "openai_responses_agent.py",
        &["--stream"],
    ) else {
        return;
    };
    assert_pass(&reports);
}

#[test]
fn dropping_a_failed_result_is_caught() {
    let Some(a) = run(
        &[scenario("anthropic-failing_tool", &[Call])],
        "broken/anthropic_drops_failed_result.py",
        &[],
    ) else {
        return;
    };
    assert_caught(&a, RuleId::MissingResult);
    let Some(c) = run(
        &[scenario("openai-chat-failing_tool", &[Call])],
        "broken/openai_chat_drops_failed_result.py",
        &[],
    ) else {
        return;
    };
    assert_caught(&c, RuleId::MissingResult);
}

#[test]
fn pairing_by_completion_order_is_caught() {
    let Some(a) = run(
        &[scenario("anthropic-three_parallel", &[Reverse])],
        "broken/anthropic_pairs_by_completion.py",
        &["--stream"],
    ) else {
        return;
    };
    assert_caught(&a, RuleId::MismatchedResult);
    let Some(r) = run(
        &[scenario("openai-responses-three_parallel", &[Reverse])],
        "broken/openai_responses_pairs_by_completion.py",
        &[],
    ) else {
        return;
    };
    assert_caught(&r, RuleId::MismatchedResult);
}

#[test]
fn running_calls_one_by_one_is_caught() {
    let Some(c) = run(
        &[scenario("openai-chat-three_parallel", &[Call])],
        "broken/openai_chat_sequential.py",
        &[],
    ) else {
        return;
    };
    assert_caught(&c, RuleId::SequentialExecution);
}

#[test]
fn one_message_per_result_is_caught() {
    let Some(a) = run(
        &[scenario("anthropic-three_parallel", &[Call])],
        "broken/anthropic_one_message_per_result.py",
        &[],
    ) else {
        return;
    };
    assert_caught(&a, RuleId::SplitResults);
}

#[test]
fn a_hung_agent_is_killed_with_its_children() {
    // An "agent" that never calls the model and leaves a grandchild behind.
    let marker = "sleep 6007.319";
    let mut s =
        tooltape::scenario::load(&root().join("scenarios/anthropic-single_call.json")).unwrap();
    s.file.orders = vec![OrderSpec::Named(Call)];
    s.file.policy.run_timeout_ms = 1500;
    let cmd: Vec<String> = ["sh", "-c", &format!("{marker} & {marker}")]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let started = std::time::Instant::now();
    let reports = process::run_suite(
        &[Arc::new(s)],
        &cmd,
        42,
        1,
        &ProcessOptions::default(),
        &|_| {},
    )
    .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let run = &reports[0].runs[0];
    assert!(
        run.error
            .as_deref()
            .is_some_and(|e| e.contains("run_timeout_ms")),
        "{run:?}"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    let left = std::process::Command::new("pgrep")
        .args(["-f", marker])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "processes left behind: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

#[test]
fn a_command_that_does_not_exist_is_a_command_line_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tooltape"))
        .current_dir(root())
        .args([
            "test",
            "scenarios/anthropic-single_call.json",
            "--",
            "no-such-agent-7f3",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-agent-7f3") && err.contains("not found"),
        "{err}"
    );
}

#[test]
fn the_anthropic_sdk_tool_runner_works_through_the_thread_fallback_and_runs_sequentially() {
    let Some(r) = run(
        &[scenario("anthropic-three_parallel", &[Call])],
        "anthropic_tool_runner_agent.py",
        &[],
    ) else {
        return;
    };
    // No missing-assistant-turn: the declined thread made the SDK resend full history.
    assert_caught(&r, RuleId::SequentialExecution);
}

#[test]
fn gemini_agent_passes_every_gemini_scenario_plain_json() {
    let Some(reports) = run(&every_gemini_scenario(Reverse), "gemini_agent.py", &[]) else {
        return;
    };
    assert_pass(&reports);
    let twenty = reports
        .iter()
        .find(|r| r.name == "gemini-twenty_parallel")
        .unwrap();
    assert_eq!(twenty.runs[0].turns[0].peak_in_flight, 20);
    // Calls without ids: the report says how their results were matched.
    let no_ids = reports
        .iter()
        .find(|r| r.name == "gemini-three_parallel_no_ids")
        .unwrap();
    assert!(
        no_ids.runs[0]
            .notes
            .iter()
            .any(|n| n.contains("matched to them by name, then by position")),
        "{:?}",
        no_ids.runs[0].notes
    );
}

#[test]
fn gemini_agent_passes_every_gemini_scenario_streamed() {
    let Some(reports) = run(
        &every_gemini_scenario(Reverse),
        "gemini_agent.py",
        &["--stream"],
    ) else {
        return;
    };
    assert_pass(&reports);
}

#[test]
fn gemini_results_in_completion_order_without_ids_are_caught() {
    // With no ids the API pairs results by name and position: completion order swaps the
    // answers of two get_weather calls.
    let Some(r) = run(
        &[scenario("gemini-three_parallel_no_ids", &[Reverse])],
        "broken/gemini_pairs_by_completion.py",
        &[],
    ) else {
        return;
    };
    assert_caught(&r, RuleId::MismatchedResult);
}

#[test]
fn gemini_calls_keyed_by_part_index_are_caught_when_each_call_has_its_own_chunk() {
    let script = "broken/gemini_keys_stream_calls_by_part_index.py";
    let Some(r) = run(&[scenario("gemini-call_per_chunk", &[Call])], script, &[]) else {
        return;
    };
    for report in &r {
        assert_eq!(
            report.rules_broken(),
            BTreeSet::from([RuleId::MissingResult, RuleId::CallNotRun]),
            "{}",
            describe(report)
        );
    }
    // The same stream with every call in one chunk hides the bug: the option is what shows it.
    let mut together = (*scenario("gemini-call_per_chunk", &[Call])).clone();
    together.file.stream_chunking = tooltape::provider::StreamChunking::OneChunk;
    let Some(r) = run(&[Arc::new(together)], script, &[]) else {
        return;
    };
    assert_pass(&r);
}
