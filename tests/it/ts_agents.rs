//! The TypeScript example agents of examples/typescript/ (the official `@anthropic-ai/sdk` and
//! `openai` SDKs, and the Vercel AI SDK with `@ai-sdk/anthropic` and `@ai-sdk/openai`), run the
//! way users run them: `tooltape test SCENARIOS --json - -- node AGENT`, judged from the JSON
//! report alone. The correct agents pass on all three APIs, streamed and not; the broken one is
//! caught with its rule and nothing else.
//!
//! Each run starts node afresh, so every test replays a few bundled scenarios, each with one
//! completion order (copies with only `orders` changed, written to a temporary folder).
//!
//! Needs `npm ci` in examples/typescript (.ci/run does it). Without node_modules these tests are
//! skipped, unless `TOOLTAPE_REQUIRE_NODE=1` (set by .ci/run), which makes that a failure. The
//! agents are compiled (`npm run build`) when dist/ is missing or older than a source file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn ts_dir() -> PathBuf {
    root().join("examples/typescript")
}

/// Whether the agents can run: node_modules installed, dist/ built from the current sources.
fn ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        let dir = ts_dir();
        let installed = dir.join("node_modules/.package-lock.json").is_file();
        let node = Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !installed || !node {
            let why = if node {
                "no examples/typescript/node_modules (run `npm ci` there)"
            } else {
                "no `node` on PATH"
            };
            if std::env::var_os("TOOLTAPE_REQUIRE_NODE").is_some_and(|v| v == "1") {
                panic!("TOOLTAPE_REQUIRE_NODE=1 but {why}");
            }
            eprintln!("skipped: {why}");
            return false;
        }
        if stale(&dir.join("src"), &dir.join("dist")) {
            eprintln!("building examples/typescript (dist/ is missing or older than src/)");
            let out = Command::new("node")
                .args(["node_modules/typescript/bin/tsc", "-p", "."])
                .current_dir(&dir)
                .output()
                .expect("node runs");
            assert!(
                out.status.success(),
                "tsc failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        true
    })
}

/// Whether some `src/**.ts` has no `dist/**.js`, or a newer one.
fn stale(src: &Path, dist: &Path) -> bool {
    let modified = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    std::fs::read_dir(src)
        .expect("examples/typescript/src")
        .flatten()
        .any(|entry| {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                return stale(&path, &dist.join(&name));
            }
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".ts")) else {
                return false;
            };
            let built: Option<SystemTime> = modified(&dist.join(format!("{stem}.js")));
            built.is_none_or(|b| modified(&path).is_some_and(|s| s > b))
        })
}

/// Run `tooltape test` on bundled scenarios, each with the one completion order given, against
/// `node examples/typescript/dist/AGENT ARGS...`; the JSON report's `scenarios`, by name.
/// None when the agents cannot run here (see [`ready`]).
fn run(agent: &[&str], scenarios: &[(&str, &str)]) -> Option<Vec<Value>> {
    if !ready() {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, order) in scenarios {
        let path = root().join("scenarios").join(format!("{name}.json"));
        let mut s: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).expect("scenario");
        let cassette = root()
            .join("scenarios")
            .join(s["cassette"].as_str().expect("cassette path"));
        s["cassette"] = cassette.display().to_string().into();
        s["orders"] = serde_json::json!([order]);
        let file = tmp.path().join(format!("{name}.json"));
        std::fs::write(&file, serde_json::to_string(&s).unwrap()).unwrap();
        files.push(file);
    }
    let script = ts_dir().join("dist").join(agent[0]);
    let out = Command::new(env!("CARGO_BIN_EXE_tooltape"))
        .current_dir(root())
        .arg("test")
        .args(&files)
        .args(["--json", "-", "--jobs", "2", "--", "node"])
        .arg(&script)
        .args(&agent[1..])
        .output()
        .expect("tooltape runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stderr:\n{stderr}"));
    let all_passed = report["failed"] == 0;
    assert_eq!(
        out.status.code(),
        Some(if all_passed { 0 } else { 1 }),
        "exit code against the report; stderr:\n{stderr}"
    );
    let by_name = |name: &str| {
        report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing from the report"))
            .clone()
    };
    Some(scenarios.iter().map(|(name, _)| by_name(name)).collect())
}

fn rules(s: &Value) -> BTreeSet<&str> {
    s["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rule"].as_str().unwrap())
        .collect()
}

fn assert_pass(reports: &[Value]) {
    for s in reports {
        assert_eq!(s["passed"], true, "{} failed:\n{:#}", s["name"], s);
        assert!(rules(s).is_empty(), "{s:#}");
    }
}

/// Every scenario failed on `rule` alone, with no run error.
fn assert_caught(reports: &[Value], rule: &str) {
    for s in reports {
        assert_eq!(s["passed"], false, "{s:#}");
        assert_eq!(rules(s), BTreeSet::from([rule]), "{s:#}");
        for run in s["runs"].as_array().unwrap() {
            assert!(run.get("error").is_none_or(Value::is_null), "{run:#}");
        }
    }
}

/// The most calls of turn 1 in flight at once.
fn peak(s: &Value) -> u64 {
    s["runs"][0]["turns"][0]["peak_in_flight"]
        .as_u64()
        .expect("peak_in_flight")
}

/// The hung call of turn 1 was given up (by the agent's timeout, as the scenario passed).
fn assert_hung_call_given_up(s: &Value) {
    let bars = s["runs"][0]["turns"][0]["bars"].as_array().unwrap();
    assert!(
        bars.iter().any(|b| b["state"] == "hung"),
        "no hung call: {s:#}"
    );
}

// ---- the official SDKs: @anthropic-ai/sdk, openai ----

#[test]
fn anthropic_sdk_agent_passes_plain_json() {
    let Some(r) = run(
        &["anthropic_agent.js"],
        &[
            ("anthropic-three_parallel", "reverse"),
            ("anthropic-failing_tool", "reverse"),
        ],
    ) else {
        return;
    };
    assert_pass(&r);
    assert_eq!(peak(&r[0]), 3);
}

#[test]
fn anthropic_sdk_agent_passes_streamed() {
    let Some(r) = run(
        &["anthropic_agent.js", "--stream"],
        &[
            ("anthropic-three_round_loop", "call"),
            ("anthropic-hung_tool", "call"),
        ],
    ) else {
        return;
    };
    assert_pass(&r);
    assert_eq!(r[0]["runs"][0]["turns"].as_array().unwrap().len(), 3);
    assert_hung_call_given_up(&r[1]);
}

#[test]
fn openai_sdk_chat_agent_passes_plain_json() {
    let Some(r) = run(
        &["openai_chat_agent.js"],
        &[
            ("openai-chat-three_parallel", "reverse"),
            ("openai-chat-failing_tool", "call"),
        ],
    ) else {
        return;
    };
    assert_pass(&r);
    assert_eq!(peak(&r[0]), 3);
}

#[test]
fn openai_sdk_chat_agent_passes_streamed() {
    let Some(r) = run(
        &["openai_chat_agent.js", "--stream"],
        &[
            ("openai-chat-eight_parallel", "reverse"),
            ("openai-chat-hung_tool", "call"),
        ],
    ) else {
        return;
    };
    assert_pass(&r);
    assert_eq!(peak(&r[0]), 8);
    assert_hung_call_given_up(&r[1]);
}

#[test]
fn openai_sdk_responses_agent_passes_plain_json() {
    let Some(r) = run(
        &["openai_responses_agent.js"],
        &[
            ("openai-responses-three_parallel", "reverse"),
            ("openai-responses-failing_tool", "call"),
        ],
    ) else {
        return;
    };
    assert_pass(&r);
    assert_eq!(peak(&r[0]), 3);
}

#[test]
fn openai_sdk_responses_agent_passes_streamed() {
    let Some(r) = run(
        &["openai_responses_agent.js", "--stream"],
        &[
            ("openai-responses-three_round_loop", "call"),
            ("openai-responses-identical_calls", "reverse"),
            ("openai-responses-text_with_calls", "call"),
        ],
    ) else {
        return;
    };
    assert_pass(&r);
}

// ---- the Vercel AI SDK: its own tool loop (ToolLoopAgent) ----

#[test]
fn vercel_anthropic_agent_passes_plain_json() {
    let Some(r) = run(
        &["vercel_agent.js", "anthropic"],
        &[
            ("anthropic-eight_parallel", "reverse"),
            ("anthropic-failing_tool", "call"),
            // Writes one at a time, parallel calls disabled in the request.
            ("anthropic-mixed_read_write", "call"),
        ],
    ) else {
        return;
    };
    assert_pass(&r);
    assert_eq!(peak(&r[0]), 8);
}

#[test]
fn vercel_anthropic_agent_passes_streamed() {
    let Some(r) = run(
        &["vercel_agent.js", "anthropic", "--stream"],
        &[
            ("anthropic-three_round_loop", "reverse"),
            ("anthropic-hung_tool", "call"),
        ],
    ) else {
        return;
    };
    assert_pass(&r);
    assert_hung_call_given_up(&r[1]);
}

#[test]
fn vercel_openai_chat_agent_passes_plain_json() {
    let Some(r) = run(
        &["vercel_agent.js", "openai-chat"],
        &[
            ("openai-chat-three_parallel", "reverse"),
            ("openai-chat-hung_tool", "call"),
        ],
    ) else {
        return;
    };
    assert_pass(&r);
    assert_eq!(peak(&r[0]), 3);
    assert_hung_call_given_up(&r[1]);
}

#[test]
fn vercel_openai_chat_agent_passes_streamed() {
    let Some(r) = run(
        &["vercel_agent.js", "openai-chat", "--stream"],
        &[
            ("openai-chat-failing_tool", "call"),
            ("openai-chat-mixed_read_write", "reverse"),
        ],
    ) else {
        return;
    };
    assert_pass(&r);
}

#[test]
fn vercel_openai_responses_agent_passes_streamed() {
    let Some(r) = run(
        &["vercel_agent.js", "openai-responses", "--stream"],
        &[
            ("openai-responses-twenty_parallel", "reverse"),
            ("openai-responses-failing_tool", "call"),
        ],
    ) else {
        return;
    };
    assert_pass(&r);
    assert_eq!(peak(&r[0]), 20);
}

/// With `store: false` the SDK resends the assistant's text message in full.
#[test]
fn vercel_openai_responses_agent_passes_plain_json_without_store() {
    let Some(r) = run(
        &["vercel_agent.js", "openai-responses", "--no-store"],
        &[
            ("openai-responses-text_with_calls", "call"),
            ("openai-responses-three_round_loop", "reverse"),
        ],
    ) else {
        return;
    };
    assert_pass(&r);
}

/// With `store` left on (the SDK's default) the follow-up resends the assistant's text message
/// as `{"type":"item_reference","id":"msg_…"}`, which the API resolves to the stored item; the
/// history is unchanged, and tooltape resolves the reference against the items it served (issue
/// #10 item 5). One run, one order: about 3 s of CI.
#[test]
fn vercel_openai_responses_agent_passes_with_item_references() {
    let Some(r) = run(
        &["vercel_agent.js", "openai-responses"],
        &[("openai-responses-text_with_calls", "call")],
    ) else {
        return;
    };
    assert_pass(&r);
}

// ---- a broken agent, caught with its rule ----

#[test]
fn pairing_by_completion_order_is_caught() {
    let Some(r) = run(
        &["broken/anthropic_pairs_by_completion.js"],
        &[("anthropic-three_parallel", "reverse")],
    ) else {
        return;
    };
    assert_caught(&r, "mismatched-result");
    // Concurrent it is: the one rule it breaks is the pairing.
    assert_eq!(peak(&r[0]), 3);
}
