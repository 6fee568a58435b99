//! The integration tests, as one test binary (one link of the crate and its dependencies
//! instead of one per file). `tests/scenarios.rs` stays apart: it has a harness of its own
//! (one test case per bundled scenario file).

mod agents;
mod architecture;
mod ci_recipes;
mod cli;
mod cli_lint;
mod docs;
mod honest_verdicts;
mod import;
mod library;
mod mcp;
mod mcp_agents;
mod real_clock;
mod record;
mod record_secrets;
mod server;
mod synth;
mod timeline_render;
mod ts_agents;
mod verdicts;

/// A Python that imports `modules`: `TOOLTAPE_PYTHON` or `.venv/bin/python`. Missing, the test
/// is skipped, unless `TOOLTAPE_REQUIRE_PYTHON=1` (CI).
pub(crate) fn python_with(modules: &str) -> Option<std::path::PathBuf> {
    let candidate = std::env::var_os("TOOLTAPE_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python")
        });
    let ok = std::process::Command::new(&candidate)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(candidate);
    }
    if std::env::var_os("TOOLTAPE_REQUIRE_PYTHON").is_some_and(|v| v == "1") {
        panic!("no Python with {modules} at {}", candidate.display());
    }
    eprintln!("skipped: no Python with {modules} (set TOOLTAPE_PYTHON or create .venv)");
    None
}
