//! Scenario format v1: one test case. A cassette to replay, how its fake tools behave, the
//! completion orders to try and the policy the handler is held to.
//!
//! ```json
//! {
//!   "format": "tooltape-scenario",
//!   "version": 1,
//!   "description": "Three independent lookups; a handler must run them at once.",
//!   "cassette": "../cassettes/anthropic/weather_three.json",
//!   "tools": {
//!     "get_weather": { "latency_ms": [300, 200, 100] },
//!     "send_email": { "latency_ms": 50, "side_effects": true }
//!   },
//!   "calls": { "toolu_01Lq7Bv9mZc2XgUe8HnRwY3D": { "fail": "upstream timed out" } },
//!   "orders": ["call", "reverse", { "shuffle": 2 }],
//!   "stream_chunking": "one_chunk",
//!   "policy": { "tool_deadline_ms": 10000 },
//!   "exercises": ["missing-result", "mismatched-result"]
//! }
//! ```
//!
//! A scenario's JSON Schema is printed by `tooltape schema scenario` (and kept in
//! `docs/scenario.schema.json`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cassette::{self, LoadedCassette};
use crate::error::{Error, Location};
use crate::provider::StreamChunking;
use crate::rules::RuleId;
use crate::transcript::{Part, ToolCall};

/// The `format` value of every scenario.
pub const FORMAT: &str = "tooltape-scenario";
/// The newest scenario version this build reads.
pub const VERSION: u32 = 1;

/// A scenario as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Always `"tooltape-scenario"`.
    pub format: String,
    /// Format version; this build reads version 1.
    pub version: u32,
    /// The scenario's name; defaults to the file name without `.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the scenario is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The cassette to replay, relative to the scenario file.
    pub cassette: PathBuf,
    /// How each tool behaves, by tool name. Tools not listed take the defaults.
    #[serde(default)]
    pub tools: BTreeMap<String, ToolSpec>,
    /// Per-call overrides, by call id.
    #[serde(default)]
    pub calls: BTreeMap<String, CallSpec>,
    /// The completion orders to try; each is one run of the handler. Default: `["call", "reverse"]`.
    #[serde(default = "default_orders")]
    pub orders: Vec<OrderSpec>,
    /// How the mock cuts a reply into stream chunks when a handler asks for a stream and the
    /// cassette holds the reply as a body: `"one_chunk"` (default: every call in one chunk) or
    /// `"call_per_chunk"` (each call alone in its own chunk, with no index). Only Gemini streams
    /// differ; a recorded stream is always served as recorded.
    #[serde(default, skip_serializing_if = "StreamChunking::is_default")]
    pub stream_chunking: StreamChunking,
    /// What the handler is held to.
    #[serde(default)]
    pub policy: Policy,
    /// The rules this scenario can catch. Self-tests check that each `breaks-<rule>` handler
    /// is caught here exactly when its rule is listed, and that nothing else fires.
    #[serde(default)]
    pub exercises: Vec<RuleId>,
    /// Self-test expectations that differ from what `exercises` implies: built-in handler name
    /// (`reference`, `breaks-<rule>`) to the exact set of rules it must break here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub expect: BTreeMap<String, Vec<RuleId>>,
}

fn default_orders() -> Vec<OrderSpec> {
    vec![
        OrderSpec::Named(NamedOrder::Call),
        OrderSpec::Named(NamedOrder::Reverse),
    ]
}

/// How one tool behaves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ToolSpec {
    /// How long a call takes. Default: 100 ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<Latency>,
    /// The tool's output text. Default: the output recorded in the cassette for that call, or
    /// `"<tool> result"`. Either way a unique tag is appended per call (see `tag_outputs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Make every call fail with this error text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail: Option<String>,
    /// Make every call hang: it never completes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hang: bool,
    /// The tool changes the world: its calls must not overlap each other, and a handler that
    /// offers it must disable parallel calls.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub side_effects: bool,
    /// Its calls must also run in the order the model gave them (implies `side_effects`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub order_dependent: bool,
}

impl ToolSpec {
    /// Whether its calls must not run side by side (`side_effects`, or `order_dependent`,
    /// which implies it).
    pub fn must_not_overlap(&self) -> bool {
        self.side_effects || self.order_dependent
    }
}

/// Per-call overrides of a tool's behaviour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    /// How long this call takes, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// This call's output text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Make this call fail with this error text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail: Option<String>,
    /// Make this call hang.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hang: bool,
}

/// A latency: fixed, one per call in order of appearance, or drawn from a seeded range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum Latency {
    /// Every call takes this long.
    Fixed(u64),
    /// The n-th call of the tool (in the cassette) takes the n-th value; the last repeats.
    PerCall(Vec<u64>),
    /// Drawn uniformly from `[min, max]` with the run's seed.
    Range {
        /// Shortest.
        min: u64,
        /// Longest.
        max: u64,
    },
}

/// A completion order to try.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum OrderSpec {
    /// A named order.
    Named(NamedOrder),
    /// `{"shuffle": N}`: N seeded random orders.
    Shuffle {
        /// How many: at least 1, and all orders of a scenario together at most 1000000 runs.
        shuffle: u32,
    },
}

/// The named completion orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum NamedOrder {
    /// Calls complete in the order the model gave them.
    Call,
    /// The last call completes first.
    Reverse,
    /// Calls complete when their latency says (ties in call order).
    Latency,
    /// Every permutation of each turn of at most 5 calls. A larger turn completes in call order,
    /// in reverse, then in seeded shuffles: at least 12 runs in all when a turn has more than 5
    /// calls (turns of at most 5 calls still go through all their permutations).
    All,
}

/// What the handler is held to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "schema"), derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Independent calls of a turn must overlap (else `sequential-execution`).
    pub require_concurrency: bool,
    /// A hung call must be given up within this many milliseconds of its start (else
    /// `timeout-not-enforced`, and the run is stopped).
    pub tool_deadline_ms: u64,
    /// Real clock: how long the fake tools wait for all independent calls of a turn to arrive
    /// before releasing them anyway. Default 2000 ms (1 ms on the virtual clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace_ms: Option<u64>,
    /// The whole run must end within this many milliseconds.
    pub run_timeout_ms: u64,
    /// Give every call's output and error text a unique tag (a `tooltape_tag` member in a JSON
    /// object, else ` [tt-…]` appended), so that a result filed under the wrong call is always
    /// detectable. Default true.
    pub tag_outputs: bool,
}

/// The barrier's grace window on the real clock when the policy sets none.
pub const DEFAULT_GRACE: std::time::Duration = std::time::Duration::from_millis(2000);

/// The barrier's grace window on the virtual clock (calls that arrive together arrive at the
/// same instant there).
pub const VIRTUAL_GRACE: std::time::Duration = std::time::Duration::from_millis(1);

impl Policy {
    /// The barrier's grace window on the real clock: `grace_ms`, or [`DEFAULT_GRACE`].
    pub fn real_grace(&self) -> std::time::Duration {
        self.grace_ms
            .map_or(DEFAULT_GRACE, std::time::Duration::from_millis)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            require_concurrency: true,
            tool_deadline_ms: 30_000,
            grace_ms: None,
            run_timeout_ms: 600_000,
            tag_outputs: true,
        }
    }
}

/// How one call behaves in a run, resolved from the scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct CallBehaviour {
    /// The call.
    pub call: ToolCall,
    /// Latency in milliseconds (for a range: drawn per run, see [`Scenario::latency_for`]).
    pub latency: LatencyResolved,
    /// What the tool answers.
    pub outcome: Outcome,
    /// Calls to this tool must not overlap other such calls.
    pub side_effects: bool,
    /// And must run in call order.
    pub order_dependent: bool,
}

impl CallBehaviour {
    /// What the rules need to know of the call.
    pub fn facts(&self) -> crate::rules::input::CallFacts {
        crate::rules::input::CallFacts {
            call: self.call.clone(),
            outcome: Some(self.outcome.clone()),
            side_effects: self.side_effects,
            order_dependent: self.order_dependent,
        }
    }
}

/// A call's latency before the run's seed is applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LatencyResolved {
    /// Fixed.
    Fixed(u64),
    /// Drawn from `[min, max]`.
    Range(u64, u64),
}

pub use crate::rules::input::Outcome;

/// A scenario loaded and checked against its cassette.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// The file it came from.
    pub path: PathBuf,
    /// The stored form.
    pub file: ScenarioFile,
    /// The cassette.
    pub cassette: LoadedCassette,
    /// Per exchange, the behaviour of each call of its reply, in call order.
    pub turns: Vec<Vec<CallBehaviour>>,
}

impl Scenario {
    /// The tools marked `side_effects` or `order_dependent`, sorted: those whose calls must
    /// not run side by side.
    pub fn side_effect_tools(&self) -> Vec<String> {
        let mut tools: Vec<String> = self
            .file
            .tools
            .iter()
            .filter(|(_, t)| t.must_not_overlap())
            .map(|(n, _)| n.clone())
            .collect();
        tools.sort();
        tools
    }
}

/// Read a scenario file and the cassette it names.
pub fn load(path: &Path) -> Result<Scenario, Error> {
    let text = crate::error::read_text(path)?;
    parse(path, &text)
}

/// Parse a scenario from text (its cassette path is resolved against `path`'s folder).
pub fn parse(path: &Path, text: &str) -> Result<Scenario, Error> {
    let file: ScenarioFile = crate::error::from_json_text(path, text)?;
    let at = |p: &str| Location::pointer(path, text, p.to_string());
    crate::error::Header {
        kind: "scenario",
        format: FORMAT,
        version: VERSION,
    }
    .check(path, text, &file.format, file.version)?;
    if file.orders.is_empty() {
        return Err(Error::invalid(
            at("orders"),
            "at least one completion order is needed".into(),
        ));
    }
    let mut runs: u64 = 0;
    for (i, o) in file.orders.iter().enumerate() {
        runs += match o {
            OrderSpec::Shuffle { shuffle: 0 } => {
                return Err(Error::invalid(
                    at(&format!("orders[{i}].shuffle")),
                    "a shuffle count of 0 makes no run; give at least 1".into(),
                ));
            }
            OrderSpec::Shuffle { shuffle } => u64::from(*shuffle),
            OrderSpec::Named(_) => 1,
        };
        if runs > MAX_RUNS {
            return Err(Error::invalid(
                at(&format!("orders[{i}]")),
                format!(
                    "the orders ask for more than {MAX_RUNS} runs; a scenario may have at most {MAX_RUNS} (use fewer shuffles, or more seeds across CI runs)"
                ),
            ));
        }
    }
    let cassette_path = path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(&file.cassette);
    if !cassette_path.is_file() {
        let what = if !cassette_path.exists() {
            "does not exist"
        } else if cassette_path.is_dir() {
            "is a directory, not a file"
        } else {
            "is not a regular file (a device, pipe or socket)"
        };
        return Err(Error::invalid(
            at("cassette"),
            format!(
                "cassette {} {what} (paths are relative to the scenario file)",
                cassette_path.display()
            ),
        ));
    }
    let cassette = cassette::load(&cassette_path)?;

    let recorded_tools: Vec<&str> = cassette
        .replies
        .iter()
        .flat_map(|r| r.calls())
        .map(|c| c.name.as_str())
        .collect();
    for (name, spec) in &file.tools {
        if !recorded_tools.contains(&name.as_str()) {
            return Err(Error::invalid(
                at(&format!("tools.{name}")),
                format!(
                    "unknown tool {name:?}: the cassette calls only {}",
                    list_or_none(&recorded_tools)
                ),
            ));
        }
        if let Some(Latency::Range { min, max }) = &spec.latency_ms
            && min > max
        {
            return Err(Error::invalid(
                at(&format!("tools.{name}.latency_ms")),
                format!("min ({min}) is greater than max ({max})"),
            ));
        }
        if let Some(Latency::PerCall(v)) = &spec.latency_ms
            && v.is_empty()
        {
            return Err(Error::invalid(
                at(&format!("tools.{name}.latency_ms")),
                "a per-call latency list needs at least one value".into(),
            ));
        }
        let longest = match &spec.latency_ms {
            Some(Latency::Fixed(ms)) => *ms,
            Some(Latency::PerCall(v)) => v.iter().copied().max().unwrap_or(0),
            Some(Latency::Range { max, .. }) => *max,
            None => 0,
        };
        too_long(longest, || at(&format!("tools.{name}.latency_ms")))?;
    }
    for (id, c) in &file.calls {
        too_long(c.latency_ms.unwrap_or(0), || {
            at(&format!("calls.{id}.latency_ms"))
        })?;
    }
    for (name, spec) in &file.tools {
        one_outcome(
            spec.hang,
            spec.fail.is_some(),
            spec.output.is_some(),
            || at(&format!("tools.{name}")),
        )?;
    }
    for (id, c) in &file.calls {
        one_outcome(c.hang, c.fail.is_some(), c.output.is_some(), || {
            at(&format!("calls.{id}"))
        })?;
    }
    let p = &file.policy;
    for (ms, field) in [
        (p.tool_deadline_ms, "tool_deadline_ms"),
        (p.run_timeout_ms, "run_timeout_ms"),
    ] {
        if ms == 0 {
            return Err(Error::invalid(
                at(&format!("policy.{field}")),
                format!(
                    "{field} of 0 leaves no time at all; give a positive number of milliseconds"
                ),
            ));
        }
    }
    too_long(p.tool_deadline_ms, || at("policy.tool_deadline_ms"))?;
    too_long(p.run_timeout_ms, || at("policy.run_timeout_ms"))?;
    too_long(p.grace_ms.unwrap_or(0), || at("policy.grace_ms"))?;
    let all_ids: Vec<&str> = cassette
        .replies
        .iter()
        .flat_map(|r| r.calls())
        .map(|c| c.id.as_str())
        .collect();
    for id in file.calls.keys() {
        if !all_ids.contains(&id.as_str()) {
            return Err(Error::invalid(
                at(&format!("calls.{id}")),
                format!("unknown call id {id:?}: no reply of the cassette has it"),
            ));
        }
    }

    let mut per_tool_count: BTreeMap<&str, usize> = BTreeMap::new();
    let mut turns = Vec::new();
    for (i, reply) in cassette.replies.iter().enumerate() {
        let mut turn = Vec::new();
        for call in reply.calls() {
            let n = per_tool_count.entry(call.name.as_str()).or_default();
            let nth = *n;
            *n += 1;
            let tool = file.tools.get(&call.name).cloned().unwrap_or_default();
            let over = file.calls.get(&call.id).cloned().unwrap_or_default();
            let latency = match (over.latency_ms, &tool.latency_ms) {
                (Some(ms), _) => LatencyResolved::Fixed(ms),
                (None, None) => LatencyResolved::Fixed(100),
                (None, Some(Latency::Fixed(ms))) => LatencyResolved::Fixed(*ms),
                (None, Some(Latency::PerCall(v))) => {
                    LatencyResolved::Fixed(v[nth.min(v.len() - 1)])
                }
                (None, Some(Latency::Range { min, max })) => LatencyResolved::Range(*min, *max),
            };
            let outcome =
                if over.hang || (tool.hang && over.fail.is_none() && over.output.is_none()) {
                    Outcome::Hang
                } else if let Some(msg) = over.fail.clone() {
                    Outcome::Fail(msg)
                } else if let Some(out) = over.output.clone() {
                    Outcome::Output(out)
                } else if let Some(msg) = tool.fail.clone() {
                    Outcome::Fail(msg)
                } else {
                    Outcome::Output(
                        tool.output
                            .clone()
                            .or_else(|| recorded_output(&cassette, i, &call.id))
                            .unwrap_or_else(|| format!("{} result", call.name)),
                    )
                };
            turn.push(CallBehaviour {
                call: call.clone(),
                latency,
                outcome,
                side_effects: tool.side_effects || tool.order_dependent,
                order_dependent: tool.order_dependent,
            });
        }
        turns.push(turn);
    }
    let name = file.name.clone().unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".into())
    });
    Ok(Scenario {
        name,
        path: path.to_path_buf(),
        file,
        cassette,
        turns,
    })
}

/// The most runs a scenario's orders may ask for (`all` counts as one here: it makes at most
/// 120). Memory no longer grows with the runs (past [`crate::replay::LISTED_RUNS`] a run that
/// ends as a listed one did is only counted), so this bounds time: about 20-60 s of the
/// reference handler on one core for 3-call turns (docs/BENCHMARKS.md).
pub const MAX_RUNS: u64 = 1_000_000;

/// Durations longer than this are refused: no test waits a week, and clock arithmetic on
/// absurd values would overflow.
pub const MAX_MS: u64 = 7 * 24 * 3600 * 1000;

fn too_long(ms: u64, at: impl FnOnce() -> Location) -> Result<(), Error> {
    if ms > MAX_MS {
        return Err(Error::invalid(
            at(),
            format!("{ms} ms is longer than the {MAX_MS} ms (one week) a scenario may use"),
        ));
    }
    Ok(())
}

/// A tool or call is set to at most one of hang, fail and output: with two, which one wins
/// would be a guess.
fn one_outcome(
    hang: bool,
    fail: bool,
    output: bool,
    at: impl FnOnce() -> Location,
) -> Result<(), Error> {
    let set: Vec<&str> = [(hang, "hang"), (fail, "fail"), (output, "output")]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
    if set.len() > 1 {
        return Err(Error::invalid(
            at(),
            format!(
                "{} are both set; a call can do only one of hang, fail and output",
                set.join(" and ")
            ),
        ));
    }
    Ok(())
}

fn list_or_none(names: &[&str]) -> String {
    let mut v: Vec<&str> = names.to_vec();
    v.sort_unstable();
    v.dedup();
    if v.is_empty() {
        "no tools".into()
    } else {
        v.join(", ")
    }
}

/// The output recorded for `call_id`: the matching result in the request after exchange `i`.
fn recorded_output(cassette: &LoadedCassette, i: usize, call_id: &str) -> Option<String> {
    let next = cassette.requests.get(i + 1)?;
    next.messages
        .iter()
        .flat_map(|m| m.parts.iter())
        .find_map(|p| match p {
            Part::Result(r) if r.call_id == call_id && r.is_error != Some(true) => {
                Some(r.content.clone())
            }
            _ => None,
        })
}

/// Replace the `exercises` list of the scenario file at `path`, keeping everything else of the
/// file as it is (key order included).
pub fn write_exercises(path: &Path, rules: &[RuleId]) -> Result<(), Error> {
    let text = crate::error::read_text(path)?;
    let mut doc: serde_json::Value = crate::error::from_json_text(path, &text)?;
    let Some(obj) = doc.as_object_mut() else {
        return Err(Error::invalid(
            Location::file(path),
            "expected a scenario object".into(),
        ));
    };
    obj.insert(
        "exercises".into(),
        serde_json::to_value(rules)
            .map_err(|e| Error::invalid(Location::file(path), format!("cannot serialize: {e}")))?,
    );
    let out = serde_json::to_string_pretty(&doc)
        .map_err(|e| Error::invalid(Location::file(path), format!("cannot serialize: {e}")))?
        + "\n";
    crate::cassette::save_text(path, &out, crate::cassette::Overwrite::Replace)
}

/// The JSON Schema of the scenario format, pretty-printed: the published
/// `docs/scenario.schema.json`, which the unit test below keeps equal to what the types derive.
pub fn json_schema() -> String {
    let published = include_str!("../../../docs/scenario.schema.json");
    published.strip_suffix('\n').unwrap_or(published).to_owned()
}

/// The published schema is the one the types derive today.
#[cfg(test)]
#[test]
fn the_published_schema_is_the_derived_one() {
    crate::util::check_derived_schema::<ScenarioFile>("docs/scenario.schema.json");
}
