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
