//! The code's shape, checked: only the engine's `src/provider/` knows which APIs exist, the
//! rules import nothing from the engine or the reports, and the top-level modules of both
//! crates (`crates/engine/src/`, and `src/` on top of it, which names the engine's modules
//! through its re-exports) form no import cycle (data flows one way: cassette + scenario ->
//! replay -> observations -> rules -> report).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The `tooltape` crate's sources.
fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The engine's sources.
fn engine() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/engine/src")
}

/// Both crates' sources, as [`sources`] gives them.
fn all_sources() -> Vec<(PathBuf, String)> {
    let mut all = sources(&engine());
    all.extend(sources(&src()));
    all
}

/// Every `.rs` file under `dir`, with its text up to its first `#[cfg(test)]` (unit tests may
/// name anything), skipping files that are tests as a whole.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        let path = entry.path();
        let name = path.file_name().unwrap().to_string_lossy();
        if path.extension().is_none_or(|e| e != "rs")
            || name == "tests.rs"
            || name == "test_support.rs"
            || path.components().any(|c| c.as_os_str() == "tests")
        {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        let code = match text.find("#[cfg(test)]") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        out.push((path.to_path_buf(), code));
    }
    out
}

#[test]
fn no_code_outside_src_provider_names_an_api() {
    let variants: Vec<String> = tooltape::provider::Provider::ALL
        .iter()
        .map(|p| format!("Provider::{p:?}"))
        .collect();
    let mut found = Vec::new();
    for (path, code) in all_sources() {
        if path.starts_with(engine().join("provider")) {
            continue;
        }
        for (n, line) in code.lines().enumerate() {
            if variants.iter().any(|v| line.contains(v.as_str())) {
                found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "API knowledge belongs behind provider::Format; these lines name an API:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_rules_use_nothing_from_the_engine_timing_or_reports() {
    let mut found = Vec::new();
    for (path, code) in sources(&engine().join("rules")) {
        for (n, line) in code.lines().enumerate() {
            for m in [
                "crate::replay",
                "crate::timing",
                "crate::report",
                "crate::handler",
            ] {
                if line.contains(m) {
                    found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The top-level module a file belongs to (`crates/engine/src/replay/session.rs` -> `replay`).
fn module_of(path: &Path) -> String {
    let rel = path
        .strip_prefix(engine())
        .or_else(|_| path.strip_prefix(src()))
        .unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

#[test]
fn the_top_level_modules_form_no_import_cycle() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let modules: BTreeSet<String> = all_sources().iter().map(|(p, _)| module_of(p)).collect();
    for (path, code) in all_sources() {
        let from = module_of(&path);
        if from == "main" || from == "lib" {
            continue;
        }
        // Code only: a doc link to a module above is not an import.
        let code: String = code
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for piece in code.split("crate::").skip(1) {
            let to: String = piece
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if to != from && modules.contains(&to) {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == m) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        stack.push(m.to_string());
        for next in edges.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in &modules {
        if let Some(cycle) = visit(m, &edges, &mut Vec::new(), &mut done) {
            panic!(
                "import cycle between top-level modules: {}\n(edges: {edges:#?})",
                cycle.join(" -> ")
            );
        }
    }
}
