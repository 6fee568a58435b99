//! `tooltape scenario new`: a starting scenario for a cassette. Every tool the cassette calls,
//! with the latencies recorded for its calls (100 ms where none was recorded), calls whose
//! recorded result was flagged as an error made to fail with the recorded text, the default
//! completion orders and policy. It passes against the reference handler as written; then mark
//! side-effecting tools, add failures, hangs and orders to taste.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::cassette::{self, LoadedCassette, Overwrite};
use crate::error::Error;
use crate::scenario::{self, CallSpec, Latency, NamedOrder, OrderSpec, ScenarioFile, ToolSpec};
use crate::transcript::Part;

/// The latency given to a call whose run time was not recorded.
pub const DEFAULT_LATENCY_MS: u64 = 100;

/// A starting scenario, written.
#[derive(Debug, Clone)]
pub struct Starter {
    /// Where it was written.
    pub path: PathBuf,
    /// The scenario.
    pub file: ScenarioFile,
    /// How many calls had a recorded latency, of how many.
    pub latencies_recorded: (usize, usize),
}

/// Write a starting scenario for the cassette at `cassette_path` to `out`.
pub fn write(cassette_path: &Path, out: &Path, overwrite: Overwrite) -> Result<Starter, Error> {
    if overwrite == Overwrite::Never && out.exists() {
        return Err(Error::Usage(format!(
            "{}: the file exists; pass --force to replace it",
            out.display()
        )));
    }
    let loaded = cassette::load(cassette_path)?;
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let dir = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
    let target = cassette_path
        .canonicalize()
        .map_err(|e| Error::io(cassette_path, e))?;
    let (file, latencies_recorded) = scenario_for(&loaded, relative(&dir, &target));
    let mut value = serde_json::to_value(&file)
        .map_err(|e| Error::Usage(format!("cannot serialize the scenario: {e}")))?;
    if let Some(map) = value.as_object_mut() {
        for empty in ["calls", "exercises"] {
            if map.get(empty).is_some_and(|v| {
                v.as_array().is_some_and(Vec::is_empty)
                    || v.as_object().is_some_and(|o| o.is_empty())
            }) {
                map.shift_remove(empty);
            }
        }
    }
    let text = serde_json::to_string_pretty(&value)
        .map_err(|e| Error::Usage(format!("cannot serialize the scenario: {e}")))?
        + "\n";
    // It must load as written, from where it is written.
    scenario::parse(&dir.join(out.file_name().unwrap_or_default()), &text)?;
    cassette::save_text(out, &text, overwrite)?;
    Ok(Starter {
        path: out.to_path_buf(),
        file,
        latencies_recorded,
    })
}

/// The starting scenario for `loaded`, naming it as `cassette` (relative to the scenario).
pub fn scenario_for(loaded: &LoadedCassette, cassette: PathBuf) -> (ScenarioFile, (usize, usize)) {
    let exchanges = &loaded.cassette.exchanges;
    let mut tools: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut calls: BTreeMap<String, CallSpec> = BTreeMap::new();
    let (mut recorded, mut total) = (0, 0);
    for (i, reply) in loaded.replies.iter().enumerate() {
        let next = exchanges.get(i + 1);
        for call in reply.calls() {
            total += 1;
            let ms = next.and_then(|n| n.tool_latency_ms.get(&call.id).copied());
            recorded += usize::from(ms.is_some());
            tools
                .entry(call.name.clone())
                .or_default()
                .push(ms.unwrap_or(DEFAULT_LATENCY_MS));
            if let Some(text) = recorded_error(loaded, i, &call.id) {
                calls.insert(
                    call.id.clone(),
                    CallSpec {
                        fail: Some(text),
                        ..CallSpec::default()
                    },
                );
            }
        }
    }
    let rounds: Vec<String> = loaded
        .replies
        .iter()
        .map(|r| r.calls().len())
        .filter(|&n| n > 0)
        .map(|n| n.to_string())
        .collect();
    let meta = &loaded.cassette.meta;
    let mut description = format!(
        "Started from {} ({} exchange{}, calls per round {})",
        meta.source
            .as_deref()
            .map_or_else(|| "a cassette".to_string(), |s| format!("a run of `{s}`")),
        exchanges.len(),
        if exchanges.len() == 1 { "" } else { "s" },
        if rounds.is_empty() {
            "none".into()
        } else {
            rounds.join(" → ")
        },
    );
    if let Some(at) = &meta.recorded_at {
        description.push_str(&format!(", recorded {at}"));
    }
    description.push_str(". Mark tools that change the world with \"side_effects\": true.");
    let file = ScenarioFile {
        format: scenario::FORMAT.into(),
        version: scenario::VERSION,
        name: None,
        description: Some(description),
        cassette,
        tools: tools
            .into_iter()
            .map(|(name, ms)| {
                (
                    name,
                    ToolSpec {
                        latency_ms: Some(Latency::PerCall(ms)),
                        ..ToolSpec::default()
                    },
                )
            })
            .collect(),
        calls,
        orders: vec![
            OrderSpec::Named(NamedOrder::Call),
            OrderSpec::Named(NamedOrder::Reverse),
        ],
        stream_chunking: Default::default(),
        policy: scenario::Policy::default(),
        exercises: Vec::new(),
        expect: BTreeMap::new(),
    };
    (file, (recorded, total))
}

/// The text of the result recorded for `call_id` in the request after exchange `i`, when it
/// was flagged as an error.
fn recorded_error(loaded: &LoadedCassette, i: usize, call_id: &str) -> Option<String> {
    loaded
        .requests
        .get(i + 1)?
        .messages
        .iter()
        .flat_map(|m| &m.parts)
        .find_map(|p| match p {
            Part::Result(r) if r.call_id == call_id && r.is_error == Some(true) => {
                Some(r.content.clone())
            }
            _ => None,
        })
}

/// `target` relative to the folder `from` (both absolute and canonical).
fn relative(from: &Path, target: &Path) -> PathBuf {
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = target.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c.as_os_str());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_and_descend() {
        assert_eq!(
            relative(Path::new("/a/scenarios"), Path::new("/a/cassettes/x.json")),
            PathBuf::from("../cassettes/x.json")
        );
        assert_eq!(
            relative(Path::new("/a"), Path::new("/a/x.json")),
            PathBuf::from("x.json")
        );
        assert_eq!(
            relative(Path::new("/a/b/c"), Path::new("/x.json")),
            PathBuf::from("../../../x.json")
        );
    }

    #[test]
    fn latencies_come_from_the_next_exchange_and_errors_become_failures() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut loaded =
            cassette::load(&root.join("cassettes/anthropic/failing_tool.json")).unwrap();
        let ids: Vec<String> = loaded.replies[0]
            .calls()
            .iter()
            .map(|c| c.id.clone())
            .collect();
        loaded.cassette.exchanges[1].tool_latency_ms = BTreeMap::from([(ids[0].clone(), 250)]);
        let (file, (recorded, total)) = scenario_for(&loaded, PathBuf::from("c.json"));
        assert_eq!((recorded, total), (1, 3));
        let Some(Latency::PerCall(ms)) = &file.tools["get_stock_price"].latency_ms else {
            panic!()
        };
        assert_eq!(ms, &vec![250, DEFAULT_LATENCY_MS, DEFAULT_LATENCY_MS]);
        assert_eq!(
            file.calls.len(),
            1,
            "the failed call fails again: {:?}",
            file.calls
        );
        assert!(file.calls[&ids[1]].fail.is_some());
    }
}
