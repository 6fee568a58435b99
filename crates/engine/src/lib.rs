//! The engine of [tooltape](https://github.com/tooltape/tooltape): cassettes and scenarios,
//! the provider formats, replay, the rules, timing and the reports, the mock server and the
//! MCP endpoint. Use it through the `tooltape` crate, which re-exports every module here
//! under the same path (`tooltape::replay`, `tooltape::rules`, …) and adds the command line's
//! cold paths (recording, import, lint, synthesis, `init`).
//!
//! Why a crate of its own: a release build optimises this crate fully (every benchmark runs
//! here), while the `tooltape` crate on top is built unoptimised. The two are one design
//! (docs/ARCHITECTURE.md); the split only lets the optimiser skip code that runs once per
//! command (docs/BENCHMARKS.md, "The engine in a crate of its own").

/// The binary's allocator (feature `mimalloc`, part of the `tooltape` crate's `cli`): declared
/// here so that the allocator's entry points are compiled with the engine, optimised.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod baseline;
pub mod cassette;
pub mod error;
#[cfg(feature = "synth")]
pub mod fit;
pub mod handler;
pub mod harness;
mod jsonpos;
#[cfg(feature = "mock")]
pub mod mcp;
pub mod partition;
#[cfg(feature = "mock")]
pub mod process;
pub mod provider;
pub mod replay;
pub mod report;
pub mod rules;
pub mod runner;
pub mod scenario;
#[cfg(feature = "mock")]
pub mod server;
pub mod tag;
pub mod timing;
pub mod transcript;
#[doc(hidden)]
pub mod util;
