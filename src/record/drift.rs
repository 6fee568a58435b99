//! What changed between an old cassette and its re-recording: turns, call counts, tool sets,
//! the tools offered and the model. Printed when `--mode all --force` replaces a cassette, so
//! a stale or changed recording is noticed rather than silently replaced.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::cassette::LoadedCassette;
use crate::transcript::Reply;

/// The differences, one line each (empty: none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drift {
    /// Human-readable lines, like `turn 2: 3 calls → 2 calls (get_weather×3 → get_weather×2)`.
    pub lines: Vec<String>,
}

impl Drift {
    /// Whether nothing that matters changed.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lines.is_empty() {
            return writeln!(
                f,
                "no drift against the old cassette: same turns, call counts and tool sets"
            );
        }
        writeln!(f, "drift against the old cassette:")?;
        for l in &self.lines {
            writeln!(f, "  {l}")?;
        }
        Ok(())
    }
}

/// Compare `old` with `new`.
pub fn drift(old: &LoadedCassette, new: &LoadedCassette) -> Drift {
    let mut lines = Vec::new();
    if old.provider() != new.provider() {
        lines.push(format!("API: {} → {}", old.provider(), new.provider()));
    }
    let (om, nm) = (&old.cassette.meta.model, &new.cassette.meta.model);
    if om != nm {
        lines.push(format!(
            "model: {} → {}",
            om.as_deref().unwrap_or("(unknown)"),
            nm.as_deref().unwrap_or("(unknown)")
        ));
    }
    let offered = |c: &LoadedCassette| -> BTreeSet<String> {
        c.requests
            .first()
            .map(|r| r.tool_names().into_iter().collect())
            .unwrap_or_default()
    };
    let (ot, nt) = (offered(old), offered(new));
    if ot != nt {
        let added: Vec<String> = nt.difference(&ot).map(|t| format!("+{t}")).collect();
        let removed: Vec<String> = ot.difference(&nt).map(|t| format!("-{t}")).collect();
        lines.push(format!(
            "tools offered: {}",
            [added, removed].concat().join(" ")
        ));
    }
    let (on, nn) = (old.replies.len(), new.replies.len());
    if on != nn {
        lines.push(format!("turns: {on} → {nn}"));
    }
    for i in 0..on.max(nn) {
        let turn = i + 1;
        match (old.replies.get(i), new.replies.get(i)) {
            (Some(o), None) => lines.push(format!("turn {turn}: gone (was {})", describe(o))),
            (None, Some(n)) => lines.push(format!("turn {turn}: new ({})", describe(n))),
            (Some(o), Some(n)) => {
                let (oc, nc) = (o.calls().len(), n.calls().len());
                let (os, ns) = (tool_set(o), tool_set(n));
                if oc != nc || os != ns {
                    let counts = if oc == nc {
                        format!("{} each", calls(oc))
                    } else {
                        format!("{} → {}", calls(oc), calls(nc))
                    };
                    lines.push(format!(
                        "turn {turn}: {counts} ({} → {})",
                        tools(&os),
                        tools(&ns)
                    ));
                }
            }
            (None, None) => {}
        }
    }
    Drift { lines }
}

fn tool_set(r: &Reply) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for c in r.calls() {
        *m.entry(c.name.clone()).or_default() += 1;
    }
    m
}

fn tools(set: &BTreeMap<String, usize>) -> String {
    if set.is_empty() {
        return "no tools".into();
    }
    set.iter()
        .map(|(n, k)| {
            if *k == 1 {
                n.clone()
            } else {
                format!("{n}×{k}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn calls(n: usize) -> String {
    if n == 1 {
        "1 call".into()
    } else {
        format!("{n} calls")
    }
}

fn describe(r: &Reply) -> String {
    if r.calls().is_empty() {
        "the final answer".into()
    } else {
        format!("{}: {}", calls(r.calls().len()), tools(&tool_set(r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn load(name: &str) -> LoadedCassette {
        crate::cassette::load(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("cassettes")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn a_cassette_has_no_drift_against_itself() {
        let c = load("anthropic/three_round_loop.json");
        let d = drift(&c, &c);
        assert!(d.is_empty());
        assert!(d.to_string().starts_with("no drift"));
    }

    #[test]
    fn turns_calls_and_tool_sets_are_compared() {
        let old = load("anthropic/three_parallel.json");
        let new = load("anthropic/three_round_loop.json");
        let d = drift(&old, &new);
        let text = d.to_string();
        assert!(text.contains("turns: 2 → 4"), "{text}");
        assert!(
            text.contains("turn 1: 3 calls → 2 calls (get_weather×3 → "),
            "{text}"
        );
        assert!(text.contains("turn 3: new (2 calls"), "{text}");
        assert!(text.contains("tools offered: +"), "{text}");
        let back = drift(&new, &old).to_string();
        assert!(
            back.contains("turn 4: gone (was the final answer)"),
            "{back}"
        );
    }
}
