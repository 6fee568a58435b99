//! Replay throughput on the virtual clock against the built-in `reference` handler, and the
//! cost of loading (parsing + checking) a scenario with its cassette.
//!
//! Run with `cargo bench --bench replay`. See docs/BENCHMARKS.md for the method and figures.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tooltape::handler::builtin;
use tooltape::replay::order;
use tooltape::scenario::{self, Scenario};

/// The seed for completion orders and drawn latencies (the CLI's default seed is irrelevant here:
/// one fixed seed keeps every run identical).
const SEED: u64 = 42;

/// (benchmark id, scenario file): a 3-call and a 20-call turn per API where bundled.
const REPLAY_CASES: &[(&str, &str)] = &[
    ("anthropic/3_calls", "anthropic-three_parallel.json"),
    ("anthropic/20_calls", "anthropic-twenty_parallel.json"),
    ("openai-chat/3_calls", "openai-chat-three_parallel.json"),
    (
        "openai-responses/3_calls",
        "openai-responses-three_parallel.json",
    ),
    (
        "openai-responses/20_calls",
        "openai-responses-twenty_parallel.json",
    ),
];

/// Scenarios whose loading is measured.
const LOAD_CASES: &[(&str, &str)] = &[
    ("anthropic/3_calls", "anthropic-three_parallel.json"),
    ("anthropic/20_calls", "anthropic-twenty_parallel.json"),
    ("openai-chat/3_calls", "openai-chat-three_parallel.json"),
    (
        "openai-responses/20_calls",
        "openai-responses-twenty_parallel.json",
    ),
];

fn scenario_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(file)
}

/// Load a bundled scenario, or say why it is skipped (a provider's parser may not have landed).
fn load(file: &str) -> Option<Scenario> {
    match scenario::load(&scenario_path(file)) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("skipping {file}: it does not load: {e}");
            None
        }
    }
}

fn replay_virtual(c: &mut Criterion) {
    let handler = builtin::by_name("reference").expect("the reference handler exists");
    let mut group = c.benchmark_group("replay_virtual");
    group.throughput(Throughput::Elements(1));
    for &(id, file) in REPLAY_CASES {
        let Some(s) = load(file) else { continue };
        let s = Arc::new(s);
        let plan = order::plans(&s, SEED)
            .next()
            .expect("a scenario has at least one completion order");
        // Only time runs that do what they should: the reference passes every bundled scenario.
        let check = tooltape::handler::run_virtual(s.clone(), &handler, plan.clone());
        if !check.passed(false) {
            eprintln!(
                "skipping {file}: the reference handler does not pass it ({}): {:?} {:?}",
                plan.label, check.error, check.violations
            );
            continue;
        }
        let wall: Duration = check.turns.iter().map(|t| t.wall).sum();
        let tool_sum: Duration = check.turns.iter().map(|t| t.tool_sum).sum();
        eprintln!(
            "{id}: {file}, plan `{}`, {} turn(s), simulated tool wall {wall:?} (tool time {tool_sum:?})",
            plan.label,
            check.turns.len()
        );
        group.bench_function(id, |b| {
            b.iter(|| {
                black_box(tooltape::handler::run_virtual(
                    s.clone(),
                    &handler,
                    black_box(plan.clone()),
                ))
            })
        });
    }
    group.finish();
}

fn load_scenario(c: &mut Criterion) {
    let mut group = c.benchmark_group("load_scenario");
    group.throughput(Throughput::Elements(1));
    for &(id, file) in LOAD_CASES {
        if load(file).is_none() {
            continue;
        }
        let path = scenario_path(file);
        group.bench_function(id, |b| {
            b.iter(|| black_box(scenario::load(black_box(&path))).expect("loaded before"))
        });
    }
    group.finish();
}

fn config() -> Criterion {
    // Short windows keep the whole `cargo bench --bench replay` well under two minutes.
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = replay_virtual, load_scenario
}
criterion_main!(benches);
