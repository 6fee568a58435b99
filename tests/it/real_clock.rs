//! The real clock: concurrency verdicts come from the fake tools' barrier, never from timing,
//! so they hold on a loaded machine; and the figures measure the truth within a few ms.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tooltape::handler::builtin;
use tooltape::replay::order;
use tooltape::rules::RuleId;
use tooltape::scenario::{LatencyResolved, NamedOrder, OrderSpec, Scenario};

fn scenario(name: &str, latencies_ms: &[u64]) -> Arc<Scenario> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    let mut s = tooltape::scenario::load(&path).expect("bundled scenario");
    s.file.orders = vec![OrderSpec::Named(NamedOrder::Latency)];
    for (c, ms) in s.turns[0].iter_mut().zip(latencies_ms) {
        c.latency = LatencyResolved::Fixed(*ms);
    }
    Arc::new(s)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Busy threads that keep both cores loaded while they live.
struct Load(Arc<AtomicBool>, Vec<std::thread::JoinHandle<()>>);

impl Load {
    fn start(threads: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let handles = (0..threads)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x: u64 = 1;
                    while !stop.load(Ordering::Relaxed) {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    }
                    std::hint::black_box(x);
                })
            })
            .collect();
        Load(stop, handles)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
        for h in self.1.drain(..) {
            let _ = h.join();
        }
    }
}

fn sequential_verdicts(handler: &str, runs: usize) -> usize {
    let s = scenario("anthropic-three_parallel.json", &[5, 5, 5]);
    let handler = builtin::by_name(handler).unwrap();
    let plan = order::plans(&s, 42).next().unwrap();
    let rt = runtime();
    let _load = Load::start(3);
    (0..runs)
        .filter(|_| {
            let report = rt.block_on(tooltape::handler::drive(
                s.clone(),
                &handler,
                plan.clone(),
                Duration::from_millis(60),
            ));
            assert!(report.error.is_none(), "{:?}", report.error);
            report
                .violations
                .iter()
                .any(|v| v.rule == RuleId::SequentialExecution)
        })
        .count()
}

#[test]
fn a_concurrent_handler_always_fills_the_barrier_on_a_loaded_machine() {
    assert_eq!(sequential_verdicts("reference", 50), 0);
}

#[test]
fn a_sequential_handler_never_passes_on_a_loaded_machine() {
    assert_eq!(sequential_verdicts("breaks-sequential-execution", 50), 50);
}

#[test]
fn real_clock_figures_match_the_truth() {
    let s = scenario("anthropic-three_parallel.json", &[300, 200, 100]);
    let handler = builtin::by_name("reference").unwrap();
    let plan = order::plans(&s, 42).next().unwrap();
    let report = runtime().block_on(tooltape::handler::drive(
        s,
        &handler,
        plan,
        Duration::from_secs(2),
    ));
    assert!(report.passed(false), "{report:?}");
    let t = &report.turns[0];
    assert_eq!(t.peak_in_flight, 3);
    let wall = t.wall.as_secs_f64() * 1000.0;
    let sum = t.tool_sum.as_secs_f64() * 1000.0;
    // Generous slack: this machine is shared; the point is that no barrier time leaks in.
    assert!((295.0..360.0).contains(&wall), "wall {wall} ms");
    assert!((595.0..700.0).contains(&sum), "sum {sum} ms");
    assert!(
        (1.7..2.1).contains(&t.concurrency),
        "concurrency {}",
        t.concurrency
    );
}
