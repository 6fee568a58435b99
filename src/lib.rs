//! tooltape: a conformance and replay harness for **parallel tool calling**.
//!
//! A model reply can ask for several tools at once. The handler that runs them must run
//! independent calls concurrently, answer with exactly one result per call, tagged with that
//! call's id, all in one follow-up right after the assistant turn, flag failures, time out hung
//! tools, keep side-effecting calls sequential and keep looping while the model asks for tools.
//! tooltape replays recorded transcripts against a handler and reports every rule it breaks.
//!
//! # The model, in one line
//!
//! cassette + scenario → replay → observed turns → rules → report.
//!
//! - [`cassette`]: a recorded run, provider-native JSON (streams kept as events), versioned.
//! - [`scenario`]: one test case: a cassette, how its fake tools behave (latency, output,
//!   failure, hang, side effects), the completion orders to try, and the policy.
//! - [`provider`]: Anthropic Messages, OpenAI Chat Completions and OpenAI Responses, parsed into
//!   the neutral [`transcript`] model (and streams rebuilt or synthesized).
//! - [`replay`]: the engine. It serves the recorded replies, runs the fake tools behind a barrier
//!   that realises each completion order, records every tool start, end and input, and judges
//!   each follow-up. In-process handlers run on a virtual clock (a paused tokio runtime);
//!   processes on the real one, through the [`server`] (mock model API and fake-tool endpoint)
//!   and the [`process`] runner.
//! - [`rules`]: one pure function per rule over a [`rules::input::TurnObservation`]; the
//!   catalogue (ids, levels, explanations) lives beside them.
//! - [`timing`]: per-turn figures (wall, concurrency, peak in flight, efficiency, overhead) and a
//!   text timeline; [`report`]: terminal, JSON, JUnit and SVG/HTML timelines.
//! - [`handler`]: the in-process API ([`handler::Env`], [`handler::Handler`]) and the built-in
//!   handlers (`reference`, one `breaks-<rule>` per rule); [`harness`] turns a folder of
//!   scenarios into `cargo test` cases for your own handler.
//! - [`lint`]: checks recorded conversations on their own, with the same rule ids.
//! - [`import`]: turns vcrpy / pytest-recording cassettes and JSON request logs into cassettes.
//!
//! # Testing your own handler
//!
//! ```no_run
//! use tooltape::handler::{BoxError, Env, from_fn};
//!
//! async fn my_agent(env: Env) -> Result<(), BoxError> {
//!     let reply = env.model(env.initial_request()).await?;
//!     // ... run the tool calls with env.tool(name, &input), send the follow-up ...
//!     # let _ = reply;
//!     Ok(())
//! }
//!
//! let scenario = tooltape::scenario::load("scenarios/anthropic-three_parallel.json".as_ref())?;
//! let report = tooltape::handler::run_scenario(scenario.into(), &from_fn("mine", my_agent), 42);
//! for run in &report.runs {
//!     for v in &run.violations {
//!         println!("{} turn {}: {}", v.rule, v.turn, v.message);
//!     }
//! }
//! # Ok::<(), tooltape::error::Error>(())
//! ```
//!
//! `examples/anthropic_agent.rs` is a complete agent loop to start from.

// The engine (everything a run needs, optimised in a release build) is the `tooltape-engine`
// crate; its modules are re-exported here under their own names, so `tooltape::replay` is the
// engine's `replay`. The modules defined here are the command line's cold paths, which a
// release build leaves unoptimised (Cargo.toml, `[profile.release.package.tooltape]`).
#[cfg(feature = "synth")]
pub use tooltape_engine::fit;
#[cfg(any(feature = "record", all(test, feature = "synth")))]
use tooltape_engine::util;
pub use tooltape_engine::{
    baseline, cassette, error, handler, harness, partition, provider, replay, rules, runner,
    scenario, tag, timing, transcript,
};
#[cfg(feature = "mock")]
pub use tooltape_engine::{process, server};

#[cfg(feature = "import")]
pub mod import;
#[cfg(feature = "cli")]
pub mod init;
pub mod lint;
#[cfg(feature = "cli")]
pub mod logging;
#[cfg(feature = "record")]
pub mod record;
#[cfg(feature = "synth")]
pub mod synth;

/// MCP: the engine's endpoint, and here the stdio bridge of `tooltape mcp-stdio`.
#[cfg(feature = "mock")]
pub mod mcp {
    pub use tooltape_engine::mcp::*;
    #[cfg(feature = "record")]
    pub mod stdio;
}

/// Reporters: the engine's, and here the command line's progress bar.
pub mod report {
    pub use tooltape_engine::report::*;
    #[cfg(feature = "cli")]
    pub mod progress;
}
