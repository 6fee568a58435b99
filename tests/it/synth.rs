//! `tooltape test --synthesize -- CMD`: agents that were never recorded, tested from their own
//! tools. The project's example agents and two frameworks from PyPI (pydantic-ai,
//! openai-agents; pinned in .ci/run) each run once per synthesized case with one completion
//! order, and their verdicts are kept here (and listed in docs/frameworks.md). Bad first
//! requests are harness errors (exit 2) that name the tool and the schema path.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn tooltape() -> Command {
    let mut c = assert_cmd::cargo::cargo_bin_cmd!("tooltape");
    c.current_dir(root())
        .env_remove("NO_COLOR")
        .env_remove("TOOLTAPE_SEED");
    c
}

/// One completion order per case (reverse: the telling one), a short hang deadline.
fn spec(dir: &Path, extra: Value) -> PathBuf {
    let mut spec = json!({
        "format": "tooltape-synth", "version": 1,
        "orders": ["reverse"],
        "policy": {"tool_deadline_ms": 8000}
    });
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    let path = dir.join("spec.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    path
}

/// Run `tooltape test --synthesize SPEC -- python SCRIPT`; the exit code and, per case, the
/// rules broken.
fn verdicts(
    spec: &Path,
    py: &Path,
    script: &str,
    extra: &[&str],
) -> (i32, BTreeMap<String, BTreeSet<String>>, Value) {
    let out = tooltape()
        .args(["test", "--synthesize"])
        .arg(spec)
        .args(extra)
        .args(["--json", "-", "--"])
        .arg(py)
        .arg(root().join(script))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let mut by_case = BTreeMap::new();
    for s in report["scenarios"].as_array().unwrap() {
        let rules: BTreeSet<String> = s["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["rule"].as_str().unwrap().to_string())
            .collect();
        by_case.insert(s["name"].as_str().unwrap().to_string(), rules);
    }
    (out.status.code().unwrap(), by_case, report)
}

fn set(rules: &[&str]) -> BTreeSet<String> {
    rules.iter().map(|r| r.to_string()).collect()
}

#[test]
fn the_example_agent_passes_every_synthesized_case_and_the_cassette_is_saved() {
    // The Gemini example: Gemini has no switch that turns parallel calls off, so every turn
    // has 3 (the other examples turn them off, and get one call per turn, as from a model).
    let Some(py) = crate::python_with("google.genai") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The example agent runs its writes one at a time: the spec says which tools write.
    let spec = spec(
        dir.path(),
        json!({"side_effects": ["write_file", "send_email"]}),
    );
    let saved = dir.path().join("agent.json");
    let (code, cases, report) = verdicts(
        &spec,
        &py,
        "examples/python/gemini_agent.py",
        &["--save-cassette", saved.to_str().unwrap()],
    );
    let names: Vec<&str> = cases.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "synth-gemini-fail_one",
            "synth-gemini-hang_one",
            "synth-gemini-parallel"
        ]
    );
    assert!(cases.values().all(BTreeSet::is_empty), "{report:#}");
    assert_eq!(code, 0);
    // The parallel case's cassette, and each other case's beside it, replay as recordings.
    for f in ["agent.json", "agent.fail_one.json", "agent.hang_one.json"] {
        let c = tooltape::cassette::load(&dir.path().join(f)).unwrap();
        assert_eq!(c.replies.len(), 3, "{f}");
    }
}

/// pydantic-ai 2.68 (`openai:` models go through the Responses API): see docs/frameworks.md.
#[test]
fn pydantic_ai_verdicts() {
    let Some(py) = crate::python_with("pydantic_ai") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_, cases, report) = verdicts(
        &spec(dir.path(), json!({})),
        &py,
        "examples/python/frameworks/pydantic_ai_agent.py",
        &[],
    );
    eprintln!("{report:#}");
    assert_eq!(
        cases["synth-openai-responses-parallel"],
        set(PARALLEL_VERDICT),
        "{report:#}"
    );
    assert_eq!(
        cases["synth-openai-responses-fail_one"],
        set(PYDANTIC_FAIL),
        "{report:#}"
    );
    assert_eq!(
        cases["synth-openai-responses-hang_one"],
        set(PYDANTIC_HANG),
        "{report:#}"
    );
}

/// openai-agents 0.24 (Responses API): see docs/frameworks.md.
#[test]
fn openai_agents_verdicts() {
    let Some(py) = crate::python_with("agents") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_, cases, report) = verdicts(
        &spec(dir.path(), json!({})),
        &py,
        "examples/python/frameworks/openai_agents_agent.py",
        &[],
    );
    eprintln!("{report:#}");
    assert_eq!(
        cases["synth-openai-responses-parallel"],
        set(AGENTS_PARALLEL),
        "{report:#}"
    );
    assert_eq!(
        cases["synth-openai-responses-fail_one"],
        set(AGENTS_FAIL),
        "{report:#}"
    );
    assert_eq!(
        cases["synth-openai-responses-hang_one"],
        set(AGENTS_HANG),
        "{report:#}"
    );
}

// Both frameworks coerce an integral `number` argument to a float (56 becomes 56.0) before the
// tool runs: the same JSON number, so the same arguments (`util::same_json`). pydantic-ai also
// fills in a schema default the model left out, which the tool then receives as an argument the
// model never sent: `wrong-arguments`. Neither enforces a tool deadline; pydantic-ai lets a
// tool's exception end the run (no result for the turn), openai-agents sends it to the model as
// the result.
const PARALLEL_VERDICT: &[&str] = &["wrong-arguments"];
const AGENTS_PARALLEL: &[&str] = &[];
const PYDANTIC_FAIL: &[&str] = &["stopped-early", "wrong-arguments"];
const PYDANTIC_HANG: &[&str] = &["timeout-not-enforced", "wrong-arguments"];
const AGENTS_FAIL: &[&str] = &[];
const AGENTS_HANG: &[&str] = &["timeout-not-enforced"];

/// Bad first requests: exit 2 and a message saying what and where; no scenario is run.
#[test]
fn bad_first_requests_are_harness_errors() {
    let agent = root().join("tests/fixtures/synth/raw_agent.py");
    for (mode, expected) in [
        ("no-tools", "offers no tool to call"),
        (
            "bad-schema",
            "tool \"book_table\": cannot make arguments for its input schema at `/properties/guests`",
        ),
        ("not-json", "the body is not JSON"),
    ] {
        let out = tooltape()
            .args(["test", "--synthesize", "--", "python3"])
            .arg(&agent)
            .arg(mode)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{mode}: {err}");
        assert!(err.contains(expected), "{mode}: {err}");
    }
    // An agent that never asks the model.
    let out = tooltape()
        .args([
            "test",
            "--synthesize",
            "--",
            "python3",
            "-c",
            "print('bye')",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("exited")
            && err.contains("before its first model request")
            && err.contains("bye"),
        "{err}"
    );
}

#[test]
fn scenario_new_synthesize_writes_the_default_spec() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("synth.json");
    tooltape()
        .args(["scenario", "new", "--synthesize", "--out"])
        .arg(&out)
        .assert()
        .success();
    assert_eq!(
        tooltape::synth::spec::load(&out).unwrap(),
        tooltape::synth::SynthSpec::default()
    );
    // Not twice without --force.
    tooltape()
        .args(["scenario", "new", "--synthesize", "--out"])
        .arg(&out)
        .assert()
        .code(2);
}
