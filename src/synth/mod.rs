//! Synthesized scenarios: test an agent that was never recorded. The model's side is made from
//! the agent's own first request: the tools it offers (names and JSON Schemas, in each API's
//! format, read by `provider/`) are called in parallel rounds with arguments generated from
//! their schemas, then a final answer ends the conversation. The result is an ordinary cassette
//! and scenario, replayed by the engine like a recording, so every rule applies with its id.
//!
//! - `spec`: the synthesis spec (`tooltape-synth` files, `--synthesize [SPEC]`);
//! - `args`: schema → arguments, checked against the schema;
//! - `conversation`: the cassette and scenario of each variant.

pub mod args;
pub mod conversation;
pub mod spec;

use std::path::{Path, PathBuf};

pub use conversation::{Synthesized, synthesize, synthesize_variant};
pub use spec::{SynthSpec, Variant};

use crate::error::Error;
use crate::scenario::Scenario;

/// Why a conversation could not be synthesized for an agent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SynthError {
    /// The agent's first request offers no tool that takes JSON input.
    #[error(
        "the agent's first request offers no tool to call{}: synthesis needs the agent to send its tools with its model request",
        if offered.is_empty() { String::new() } else { format!(" (only tools without a JSON input: {})", offered.join(", ")) }
    )]
    NoTools {
        /// The tools it offers without an input schema.
        offered: Vec<String>,
    },
    /// The spec names a tool the agent does not offer.
    #[error("the spec names tool {tool:?}, which the agent does not offer (it offers {})", offered.join(", "))]
    UnknownTool {
        /// The name in the spec.
        tool: String,
        /// What the agent offers.
        offered: Vec<String>,
    },
    /// The side-effect variant needs a side-effecting tool.
    #[error(
        "variant side_effect_twice needs a side-effecting tool: name one in the spec's `side_effects` (offered: {})",
        offered.join(", ")
    )]
    NoSideEffectingTool {
        /// What the agent offers.
        offered: Vec<String>,
    },
    /// No arguments fit a tool's input schema.
    #[error("tool {tool:?}: cannot make arguments for its input schema at `{}`: {why}", if path.is_empty() { "#" } else { path })]
    Schema {
        /// The tool.
        tool: String,
        /// JSON Pointer into its input schema.
        path: String,
        /// What cannot be satisfied.
        why: String,
    },
    /// The agent's first request is not one tooltape can read.
    #[error("the agent's first request cannot be read: {0}")]
    Request(String),
}

/// Write a synthesized case into `dir` (its cassette and its scenario, the scenario's
/// `exercises` computed) and load it as a scenario. Returns the scenario and its file's path.
pub fn save(case: &Synthesized, dir: &Path, seed: u64) -> Result<(Scenario, PathBuf), Error> {
    let cassette_path = dir.join(&case.file.cassette);
    crate::cassette::save(
        &cassette_path,
        &case.cassette,
        crate::cassette::Overwrite::Replace,
    )?;
    let name = case.file.name.clone().unwrap_or_else(|| "synth".into());
    let scenario_path = dir.join(format!("{name}.json"));
    let write = |file: &crate::scenario::ScenarioFile| -> Result<(), Error> {
        let text = serde_json::to_string_pretty(file).map_err(|e| {
            Error::invalid(
                crate::error::Location::file(&scenario_path),
                format!("cannot serialize: {e}"),
            )
        })? + "\n";
        crate::cassette::save_text(&scenario_path, &text, crate::cassette::Overwrite::Replace)
    };
    write(&case.file)?;
    let scenario = crate::scenario::load(&scenario_path)?;
    let mut file = case.file.clone();
    file.exercises = crate::replay::exercise::exercised(&scenario, seed);
    write(&file)?;
    let scenario = crate::scenario::load(&scenario_path)?;
    Ok((scenario, scenario_path))
}

#[cfg(test)]
mod tests;
