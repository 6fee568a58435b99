//! The synthesis spec: how many calls, how many rounds, which variants, which tools write.
//!
//! ```json
//! {
//!   "format": "tooltape-synth",
//!   "version": 1,
//!   "calls_per_turn": 3,
//!   "rounds": 2,
//!   "seed": 0,
//!   "variants": ["parallel", "fail_one", "hang_one"],
//!   "side_effects": ["send_*", "delete_file"],
//!   "orders": ["call", "reverse"],
//!   "policy": { "tool_deadline_ms": 10000 }
//! }
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Location};
use crate::scenario::{Latency, NamedOrder, OrderSpec, Policy};

/// The `format` value of every synthesis spec.
pub const FORMAT: &str = "tooltape-synth";
/// The newest spec version this build reads.
pub const VERSION: u32 = 1;

/// How to synthesize the model's side of a conversation from the agent's own tools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SynthSpec {
    /// Always `"tooltape-synth"`.
    pub format: String,
    /// Format version; this build reads version 1.
    pub version: u32,
    /// What the spec is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Calls per assistant turn (default 3).
    #[serde(default = "default_calls")]
    pub calls_per_turn: usize,
    /// Rounds of parallel calls before the final text answer (default 2).
    #[serde(default = "default_rounds")]
    pub rounds: usize,
    /// Seed of the generated arguments and ids.
    #[serde(default)]
    pub seed: u64,
    /// The tools to call, by name (default: every tool the agent offers with a JSON input).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// Tools that change the world, by name or `*` pattern. Tools whose MCP-style annotations
    /// say `destructiveHint: true` or `readOnlyHint: false` count as well.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub side_effects: Vec<String>,
    /// The test cases to make, one scenario each (default: parallel, fail_one, hang_one).
    #[serde(default = "default_variants")]
    pub variants: Vec<Variant>,
    /// How long each call takes: the n-th call of a turn takes the n-th value (default: later
    /// calls finish first, `[300, 200, 100]`).
    #[serde(default = "default_latency")]
    pub latency_ms: Latency,
    /// The completion orders to try (default `["call", "reverse"]`).
    #[serde(default = "default_orders")]
    pub orders: Vec<OrderSpec>,
    /// What the agent is held to (default: as for recorded scenarios, with a 10 s tool deadline).
    #[serde(default = "default_policy")]
    pub policy: Policy,
}

/// One synthesized test case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// Every call succeeds.
    Parallel,
    /// The last call of the first turn fails.
    FailOne,
    /// The second call of the first turn never completes.
    HangOne,
    /// The first turn calls the same tool with the same arguments twice.
    Identical,
    /// The first turn calls a side-effecting tool twice (needs one in `side_effects` or
    /// marked by annotation).
    SideEffectTwice,
}

impl Variant {
    /// The name used in scenario names and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Parallel => "parallel",
            Variant::FailOne => "fail_one",
            Variant::HangOne => "hang_one",
            Variant::Identical => "identical",
            Variant::SideEffectTwice => "side_effect_twice",
        }
    }
}

fn default_calls() -> usize {
    3
}
fn default_rounds() -> usize {
    2
}
fn default_variants() -> Vec<Variant> {
    vec![Variant::Parallel, Variant::FailOne, Variant::HangOne]
}
fn default_latency() -> Latency {
    Latency::PerCall(vec![300, 200, 100])
}
fn default_orders() -> Vec<OrderSpec> {
    vec![
        OrderSpec::Named(NamedOrder::Call),
        OrderSpec::Named(NamedOrder::Reverse),
    ]
}
fn default_policy() -> Policy {
    Policy {
        tool_deadline_ms: 10_000,
        ..Policy::default()
    }
}

impl Default for SynthSpec {
    fn default() -> Self {
        SynthSpec {
            format: FORMAT.into(),
            version: VERSION,
            description: None,
            calls_per_turn: default_calls(),
            rounds: default_rounds(),
            seed: 0,
            tools: Vec::new(),
            side_effects: Vec::new(),
            variants: default_variants(),
            latency_ms: default_latency(),
            orders: default_orders(),
            policy: default_policy(),
        }
    }
}

impl SynthSpec {
    /// Whether `name` matches one of the `side_effects` entries (`*` matches any run of
    /// characters).
    pub fn marks(&self, name: &str) -> bool {
        self.side_effects.iter().any(|p| glob(p, name))
    }
}

/// Read and check a spec file.
pub fn load(path: &Path) -> Result<SynthSpec, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let spec: SynthSpec = crate::error::from_json_text(path, &text)?;
    crate::error::Header {
        kind: "synthesis spec",
        format: FORMAT,
        version: VERSION,
    }
    .check(path, &text, &spec.format, spec.version)?;
    let at = |p: &str| Location::pointer(path, &text, p.to_string());
    if spec.calls_per_turn == 0 || spec.calls_per_turn > 64 {
        return Err(Error::invalid(
            at("calls_per_turn"),
            format!(
                "expected 1 to 64 calls per turn, found {}",
                spec.calls_per_turn
            ),
        ));
    }
    if spec.rounds == 0 || spec.rounds > 32 {
        return Err(Error::invalid(
            at("rounds"),
            format!("expected 1 to 32 rounds, found {}", spec.rounds),
        ));
    }
    if spec.variants.is_empty() {
        return Err(Error::invalid(
            at("variants"),
            "at least one variant is needed".into(),
        ));
    }
    if spec.orders.is_empty() {
        return Err(Error::invalid(
            at("orders"),
            "at least one completion order is needed".into(),
        ));
    }
    if let Latency::PerCall(v) = &spec.latency_ms
        && v.is_empty()
    {
        return Err(Error::invalid(
            at("latency_ms"),
            "a per-call latency list needs at least one value".into(),
        ));
    }
    Ok(spec)
}

/// `*`-only glob matching, written out: one wildcard kind needs no pattern crate.
fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// The JSON Schema of the synth spec format, pretty-printed: the published
/// `docs/synth.schema.json`, which the unit test below keeps equal to what the types derive.
pub fn json_schema() -> String {
    let published = include_str!("../../docs/synth.schema.json");
    published.strip_suffix('\n').unwrap_or(published).to_owned()
}

/// The published schema is the one the types derive today.
#[cfg(test)]
#[test]
fn the_published_schema_is_the_derived_one() {
    crate::util::check_derived_schema::<SynthSpec>("docs/synth.schema.json");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_names_and_patterns() {
        assert!(glob("send_email", "send_email"));
        assert!(!glob("send_email", "send_emails"));
        assert!(glob("send_*", "send_email"));
        assert!(glob("*_file", "delete_file"));
        assert!(glob("*write*", "overwrite_db"));
        assert!(!glob("send_*", "get_weather"));
        assert!(!glob("a*a", "a"));
    }

    #[test]
    fn bad_specs_name_the_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        std::fs::write(
            &p,
            r#"{"format": "tooltape-synth", "version": 1, "rounds": 0}"#,
        )
        .unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("s.json:1:") && e.contains("rounds"), "{e}");
        std::fs::write(
            &p,
            r#"{"format": "tooltape-synth", "version": 1, "variants": ["x"]}"#,
        )
        .unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("variants"), "{e}");
        std::fs::write(&p, r#"{"format": "tooltape-synth", "version": 1}"#).unwrap();
        assert_eq!(load(&p).unwrap(), SynthSpec::default());
    }
}
