//! An agent whose tools come from MCP, written with the official Python SDKs (`anthropic` for
//! the model, `mcp` for the tools), run as a command: it passes bundled Anthropic scenarios
//! over Streamable HTTP (the 2026-07-28 revision the SDK probes first) and over stdio through
//! `tooltape mcp-stdio` (forced to the 2025 handshake); its variant that serialises calls
//! through a lock is caught as sequential-execution. One completion order per scenario: the
//! orders themselves are the in-process tests' business.
//!
//! Needs a Python with `anthropic` and `mcp` (`TOOLTAPE_PYTHON` or `.venv/bin/python`, which
//! .ci/run creates); skipped without one unless `TOOLTAPE_REQUIRE_PYTHON=1`.

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
    crate::python_with("anthropic, mcp.client")
}

/// Bundled Anthropic scenarios, each with the reverse completion order.
fn scenarios(names: &[&str]) -> Vec<Arc<Scenario>> {
    names
        .iter()
        .map(|n| {
            let p = root().join("scenarios").join(format!("anthropic-{n}.json"));
            let mut s = tooltape::scenario::load(&p).expect("bundled scenario");
            s.file.orders = vec![OrderSpec::Named(NamedOrder::Reverse)];
            Arc::new(s)
        })
        .collect()
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
        "--tooltape".to_string(),
        env!("CARGO_BIN_EXE_tooltape").to_string(),
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

fn assert_pass_via(reports: &[ScenarioReport], via: &str) {
    for r in reports {
        assert!(r.passed(false), "{} failed:\n{}", r.name, describe(r));
        for t in &r.runs[0].turns {
            assert!(
                t.bars.iter().all(|b| b.via == via),
                "{}: {:?}",
                r.name,
                t.bars
            );
        }
    }
}

// Each Python agent run costs seconds (the SDKs' imports alone) and CI's budget is tight: the
// two transports share the bundled Anthropic scenarios between them, each scenario kind once
// (all ten passed over both transports when this was written; widen the lists to re-check).
#[test]
fn mcp_agent_passes_over_streamable_http() {
    let names = ["three_parallel", "failing_tool", "mixed_read_write"];
    let Some(reports) = run(&scenarios(&names), "mcp_agent.py", &[]) else {
        return;
    };
    assert_pass_via(&reports, tooltape::mcp::VIA_HTTP);
}

#[test]
fn mcp_agent_passes_over_stdio() {
    let names = ["hung_tool", "three_round_loop"];
    let Some(reports) = run(&scenarios(&names), "mcp_agent.py", &["--stdio", "--legacy"]) else {
        return;
    };
    assert_pass_via(&reports, tooltape::mcp::VIA_STDIO);
}

#[test]
fn mcp_agent_serialised_by_a_lock_is_caught_as_sequential_execution() {
    let mut s = tooltape::scenario::load(&root().join("scenarios/anthropic-three_parallel.json"))
        .expect("bundled scenario");
    s.file.orders = vec![OrderSpec::Named(NamedOrder::Call)];
    let Some(reports) = run(
        &[Arc::new(s)],
        "broken/mcp_serialised_by_lock.py",
        &["--stdio"],
    ) else {
        return;
    };
    assert_eq!(
        reports[0].rules_broken(),
        BTreeSet::from([RuleId::SequentialExecution]),
        "{}",
        describe(&reports[0])
    );
}
