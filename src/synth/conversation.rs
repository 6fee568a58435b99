//! The model's side of a conversation, built from the agent's first request: rounds of
//! parallel calls to the agent's own tools, then a final answer, as a cassette and the
//! scenario that replays it.

use std::collections::BTreeMap;

use serde_json::Value;

use super::SynthError;
use super::args;
use super::spec::{SynthSpec, Variant};
use crate::cassette::{self, Cassette, Exchange, Meta, RecordedReply};
use crate::provider::{self, Provider, ResultBlock};
use crate::scenario::{CallSpec, ScenarioFile, ToolSpec};
use crate::transcript::{Tool, ToolCall};

/// The error text of the failing call of [`Variant::FailOne`].
pub const FAILURE_TEXT: &str = "synthetic failure: the service is unavailable";

/// The final answer of every synthesized conversation.
pub const FINAL_TEXT: &str = "All tool results received. (synthesized by tooltape)";

/// A synthesized test case: the cassette and the scenario file that names it.
#[derive(Debug, Clone)]
pub struct Synthesized {
    /// The variant it exercises.
    pub variant: Variant,
    /// The conversation.
    pub cassette: Cassette,
    /// The scenario; its `cassette` is a bare file name, for a cassette saved beside it.
    pub file: ScenarioFile,
}

/// Whether a tool counts as side-effecting for `spec`: by name or pattern, or by annotation.
pub fn side_effecting(spec: &SynthSpec, tool: &Tool) -> bool {
    spec.marks(&tool.name) || tool.annotated_side_effecting()
}

/// SplitMix64: a stable mix of the spec's seed and a call's place.
fn mix(seed: u64, salt: u64) -> u64 {
    let mut z = seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The tools the conversation calls, checked.
fn callable<'r>(spec: &SynthSpec, offered: &'r [Tool]) -> Result<Vec<&'r Tool>, SynthError> {
    let with_input: Vec<&Tool> = offered
        .iter()
        .filter(|t| t.input_schema.is_some())
        .collect();
    if with_input.is_empty() {
        return Err(SynthError::NoTools {
            offered: offered.iter().map(|t| t.name.clone()).collect(),
        });
    }
    if spec.tools.is_empty() {
        return Ok(with_input);
    }
    spec.tools
        .iter()
        .map(|name| {
            with_input
                .iter()
                .find(|t| &t.name == name)
                .copied()
                .ok_or_else(|| SynthError::UnknownTool {
                    tool: name.clone(),
                    offered: with_input.iter().map(|t| t.name.clone()).collect(),
                })
        })
        .collect()
}

/// Every variant of `spec` for the agent's `first_request` to `provider`.
pub fn synthesize(
    provider: Provider,
    first_request: &Value,
    spec: &SynthSpec,
) -> Result<Vec<Synthesized>, SynthError> {
    spec.variants
        .iter()
        .map(|v| synthesize_variant(provider, first_request, spec, *v))
        .collect()
}

/// One variant of `spec` for the agent's `first_request` to `provider`.
pub fn synthesize_variant(
    provider: Provider,
    first_request: &Value,
    spec: &SynthSpec,
    variant: Variant,
) -> Result<Synthesized, SynthError> {
    let fmt = provider::format(provider);
    let request = fmt
        .parse_request(first_request)
        .map_err(|e| SynthError::Request(e.to_string()))?;
    let tools = callable(spec, &request.tools)?;
    let model = request
        .model
        .clone()
        .unwrap_or_else(|| "tooltape-synth".into());
    let writer = tools.iter().copied().find(|t| side_effecting(spec, t));
    if variant == Variant::SideEffectTwice && writer.is_none() {
        return Err(SynthError::NoSideEffectingTool {
            offered: tools.iter().map(|t| t.name.clone()).collect(),
        });
    }
    // An agent that turned parallel calls off gets what a model then sends: one call per turn
    // (where the API has such a switch; Gemini has none).
    let n = if fmt.has_parallel_switch() && request.parallel_disabled {
        1
    } else {
        spec.calls_per_turn.max(1)
    };
    let mut exchanges = Vec::new();
    let mut body = first_request.clone();
    let mut next_tool = 0usize;
    let mut calls_spec: BTreeMap<String, CallSpec> = BTreeMap::new();
    for round in 0..spec.rounds.max(1) {
        let mut calls: Vec<ToolCall> = Vec::with_capacity(n);
        for j in 0..n {
            let salt = mix(spec.seed, (round * 1000 + j) as u64);
            let tool = match (variant, round, j) {
                (Variant::SideEffectTwice, 0, 0 | 1) => writer.expect("checked above"),
                _ => {
                    let t = tools[next_tool % tools.len()];
                    next_tool += 1;
                    t
                }
            };
            let schema = tool
                .input_schema
                .as_ref()
                .expect("callable tools have a schema");
            let input = match (variant, round, j) {
                (Variant::Identical, 0, 1) => calls[0].input.clone(),
                _ => args::generate(schema, salt).map_err(|e| SynthError::Schema {
                    tool: tool.name.clone(),
                    path: e.path.clone(),
                    why: e.why.clone(),
                })?,
            };
            let name = match (variant, round, j) {
                (Variant::Identical, 0, 1) => calls[0].name.clone(),
                _ => tool.name.clone(),
            };
            let id = fmt.call_id(&format!("r{round}c{j}s{salt:016x}{salt:016x}"));
            calls.push(ToolCall { id, name, input });
        }
        if round == 0 {
            match variant {
                Variant::FailOne => {
                    calls_spec.insert(
                        calls[n - 1].id.clone(),
                        CallSpec {
                            fail: Some(FAILURE_TEXT.into()),
                            ..CallSpec::default()
                        },
                    );
                }
                Variant::HangOne => {
                    calls_spec.insert(
                        calls[1.min(n - 1)].id.clone(),
                        CallSpec {
                            hang: true,
                            ..CallSpec::default()
                        },
                    );
                }
                _ => {}
            }
        }
        let id_seed = format!("synth{round}x{:08x}", mix(spec.seed, round as u64) as u32);
        let reply = fmt.calls_reply(&id_seed, &model, &calls);
        exchanges.push(Exchange {
            request: body.clone(),
            reply: RecordedReply::Body(reply.clone()),
            tool_latency_ms: BTreeMap::new(),
        });
        // The next request is what a correct agent sends: the history, the assistant turn,
        // one result per call.
        let results: Vec<ResultBlock> = calls
            .iter()
            .map(|c| {
                let failed = calls_spec.get(&c.id).is_some_and(|s| s.fail.is_some());
                ResultBlock {
                    call_id: c.id.clone(),
                    name: c.name.clone(),
                    content: if failed {
                        FAILURE_TEXT.into()
                    } else {
                        format!("{} result", c.name)
                    },
                    is_error: failed,
                }
            })
            .collect();
        let entries = fmt
            .history_entries(&reply)
            .map_err(|e| SynthError::Request(e.to_string()))?;
        let results = fmt.results_entries(&results, None);
        let history = fmt
            .history_mut(&mut body)
            .map_err(|e| SynthError::Request(e.to_string()))?;
        history.extend(entries);
        history.extend(results);
    }
    let final_reply = fmt.text_reply("synthfinal", &model, FINAL_TEXT);
    exchanges.push(Exchange {
        request: body,
        reply: RecordedReply::Body(final_reply),
        tool_latency_ms: BTreeMap::new(),
    });

    let mut tool_specs: BTreeMap<String, ToolSpec> = BTreeMap::new();
    let called: std::collections::BTreeSet<String> = exchanges
        .iter()
        .filter_map(|e| match &e.reply {
            RecordedReply::Body(b) => fmt.parse_reply(b).ok(),
            RecordedReply::Stream(_) => None,
        })
        .flat_map(|r| r.message.parts)
        .filter_map(|p| match p {
            crate::transcript::Part::Call(c) => Some(c.name),
            _ => None,
        })
        .collect();
    for name in called {
        let tool = tools.iter().find(|t| t.name == name);
        let side_effects = tool.is_some_and(|t| side_effecting(spec, t));
        tool_specs.insert(
            name,
            ToolSpec {
                latency_ms: Some(spec.latency_ms.clone()),
                side_effects,
                ..ToolSpec::default()
            },
        );
    }
    let cassette = Cassette {
        format: cassette::FORMAT.into(),
        version: cassette::VERSION,
        provider,
        meta: Meta {
            model: Some(model),
            recorded_at: None,
            source: Some(format!(
                "tooltape synthesize: variant {}, seed {}, {} call(s) x {} round(s)",
                variant.as_str(),
                spec.seed,
                n,
                spec.rounds
            )),
            notes: Some("The model's side was synthesized from the agent's own tools.".into()),
        },
        exchanges,
    };
    let file = ScenarioFile {
        format: crate::scenario::FORMAT.into(),
        version: crate::scenario::VERSION,
        name: Some(format!("synth-{}-{}", provider.as_str(), variant.as_str())),
        description: Some(describe(variant, n, spec.rounds)),
        cassette: format!(
            "synth-{}-{}.cassette.json",
            provider.as_str(),
            variant.as_str()
        )
        .into(),
        tools: tool_specs,
        calls: calls_spec,
        orders: spec.orders.clone(),
        stream_chunking: Default::default(),
        policy: spec.policy.clone(),
        exercises: Vec::new(),
        expect: BTreeMap::new(),
    };
    Ok(Synthesized {
        variant,
        cassette,
        file,
    })
}

fn describe(variant: Variant, n: usize, rounds: usize) -> String {
    let base = format!(
        "{n} parallel calls to the agent's own tools, {rounds} round(s), then a final answer"
    );
    match variant {
        Variant::Parallel => base,
        Variant::FailOne => format!("{base}; the last call of the first turn fails"),
        Variant::HangOne => format!("{base}; the second call of the first turn hangs"),
        Variant::Identical => format!("{base}; the first turn repeats a call exactly"),
        Variant::SideEffectTwice => {
            format!("{base}; the first turn calls a side-effecting tool twice")
        }
    }
}
