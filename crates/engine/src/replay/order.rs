//! Completion orders and seeded draws: which call of a turn completes first in a run, and the
//! latencies drawn from ranges. Seeded with ChaCha8 (portable across platforms and rand
//! versions) and our own Fisher–Yates, so a printed `--seed` always reproduces a run.

use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

use crate::scenario::{LatencyResolved, NamedOrder, OrderSpec, Scenario};

/// Turns larger than this are not enumerated by the `all` order.
pub const MAX_PERMUTED_CALLS: usize = 5;

/// The fewest runs `all` makes when a turn has more than [`MAX_PERMUTED_CALLS`] calls: such a
/// turn completes in call order, in reverse, then in seeded shuffles.
pub const MIN_ALL_RUNS_LARGE: usize = 12;

/// How the calls of one turn complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnOrder {
    /// By latency (ties in call order).
    Latency,
    /// `ranks[i]` is the position at which call `i` completes (0 first).
    Ranks(Vec<usize>),
}

/// One run of a scenario: its completion orders per turn and a label for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPlan {
    /// Like `call`, `reverse`, `shuffle 2/3`, `permutation 4/6`.
    pub label: String,
    /// The seed of the run.
    pub seed: u64,
    /// Per exchange, the completion order of its reply's calls.
    pub turns: Vec<TurnOrder>,
}

/// Every run a scenario asks for, in the order of its `orders`, built one at a time as the
/// iterator is drawn: a scenario asking for thousands of shuffles holds one plan at a time.
pub fn plans(scenario: &Scenario, seed: u64) -> Plans {
    let sizes: Arc<[usize]> = scenario.turns.iter().map(Vec::len).collect();
    let orders = scenario.file.orders.clone();
    Plans(Box::new(orders.into_iter().flat_map(move |spec| {
        let sizes = sizes.clone();
        let runs: Box<dyn Iterator<Item = RunPlan> + Send> = match spec {
            OrderSpec::Named(NamedOrder::Call) => {
                Box::new(std::iter::once(fixed("call", seed, &sizes, |n| {
                    (0..n).collect()
                })))
            }
            OrderSpec::Named(NamedOrder::Reverse) => {
                Box::new(std::iter::once(fixed("reverse", seed, &sizes, |n| {
                    (0..n).rev().collect()
                })))
            }
            OrderSpec::Named(NamedOrder::Latency) => Box::new(std::iter::once(RunPlan {
                label: "latency".into(),
                seed,
                turns: sizes.iter().map(|_| TurnOrder::Latency).collect(),
            })),
            OrderSpec::Shuffle { shuffle } => Box::new((0..shuffle).map(move |k| {
                let mut rng = rng(seed, &format!("shuffle/{k}"));
                RunPlan {
                    label: format!("shuffle {}/{shuffle}", k + 1),
                    seed,
                    turns: sizes
                        .iter()
                        .map(|&n| TurnOrder::Ranks(ranks_of(&shuffled(n, &mut rng))))
                        .collect(),
                }
            })),
            OrderSpec::Named(NamedOrder::All) => {
                let count = all_count(&sizes);
                Box::new((0..count).map(move |k| {
                    RunPlan {
                        label: format!("permutation {}/{count}", k + 1),
                        seed,
                        turns: sizes
                            .iter()
                            .enumerate()
                            .map(|(t, &n)| {
                                let order = if n <= MAX_PERMUTED_CALLS {
                                    nth_permutation(n, k % factorial(n))
                                } else {
                                    large_turn_order(n, k, seed, t)
                                };
                                TurnOrder::Ranks(ranks_of(&order))
                            })
                            .collect(),
                    }
                }))
            }
        };
        runs
    })))
}

/// The runs of a scenario, made as they are drawn (see [`plans`]).
pub struct Plans(Box<dyn Iterator<Item = RunPlan> + Send>);

impl Iterator for Plans {
    type Item = RunPlan;
    fn next(&mut self) -> Option<RunPlan> {
        self.0.next()
    }
}

impl std::fmt::Debug for Plans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Plans")
    }
}

/// How many runs `all` makes: every permutation of the largest turn it can enumerate, and at
/// least [`MIN_ALL_RUNS_LARGE`] when a turn is too large to enumerate.
fn all_count(sizes: &[usize]) -> usize {
    let enumerated = sizes
        .iter()
        .copied()
        .filter(|&n| n <= MAX_PERMUTED_CALLS)
        .map(factorial)
        .max()
        .unwrap_or(1);
    if sizes.iter().any(|&n| n > MAX_PERMUTED_CALLS) {
        enumerated.max(MIN_ALL_RUNS_LARGE)
    } else {
        enumerated
    }
}

/// The k-th order `all` tries on a turn too large to enumerate: call order, reverse, then
/// seeded shuffles (drawn per turn, so two large turns are not shuffled alike).
fn large_turn_order(n: usize, k: usize, seed: u64, turn: usize) -> Vec<usize> {
    match k {
        0 => (0..n).collect(),
        1 => (0..n).rev().collect(),
        _ => shuffled(n, &mut rng(seed, &format!("all/{turn}/{k}"))),
    }
}

fn fixed(label: &str, seed: u64, sizes: &[usize], order: impl Fn(usize) -> Vec<usize>) -> RunPlan {
    RunPlan {
        label: label.into(),
        seed,
        turns: sizes
            .iter()
            .map(|&n| TurnOrder::Ranks(ranks_of(&order(n))))
            .collect(),
    }
}

/// From "call order[k] completes k-th" to "call i completes ranks[i]-th".
fn ranks_of(order: &[usize]) -> Vec<usize> {
    let mut ranks = vec![0; order.len()];
    for (k, &i) in order.iter().enumerate() {
        ranks[i] = k;
    }
    ranks
}

fn factorial(n: usize) -> usize {
    (1..=n).product::<usize>().max(1)
}

/// The k-th permutation of 0..n in lexicographic order.
fn nth_permutation(n: usize, mut k: usize) -> Vec<usize> {
    let mut pool: Vec<usize> = (0..n).collect();
    let mut out = Vec::with_capacity(n);
    for i in (0..n).rev() {
        let f = factorial(i);
        out.push(pool.remove(k / f));
        k %= f;
    }
    out
}

/// A generator for `seed` and a purpose, so independent draws do not disturb each other.
fn rng(seed: u64, purpose: &str) -> ChaCha8Rng {
    // FNV-1a of the purpose, mixed into the seed.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in purpose.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    ChaCha8Rng::seed_from_u64(seed ^ h)
}

fn next_below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    use rand::Rng;
    if n == 0 { 0 } else { rng.next_u64() % n }
}

/// Fisher–Yates, written out so the output never changes with a rand upgrade.
fn shuffled(n: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = next_below(rng, i as u64 + 1) as usize;
        v.swap(i, j);
    }
    v
}

/// The latency of every call of every turn for a seed.
pub fn latencies(scenario: &Scenario, seed: u64) -> Vec<Vec<Duration>> {
    scenario
        .turns
        .iter()
        .enumerate()
        .map(|(t, calls)| {
            calls
                .iter()
                .enumerate()
                .map(|(i, c)| match c.latency {
                    LatencyResolved::Fixed(ms) => Duration::from_millis(ms),
                    LatencyResolved::Range(lo, hi) => {
                        let mut r = rng(seed, &format!("latency/{t}/{i}"));
                        Duration::from_millis(lo + next_below(&mut r, hi - lo + 1))
                    }
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_all_distinct() {
        let mut seen: Vec<Vec<usize>> = (0..24).map(|k| nth_permutation(4, k)).collect();
        assert_eq!(seen[0], vec![0, 1, 2, 3]);
        assert_eq!(seen[23], vec![3, 2, 1, 0]);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 24);
    }

    #[test]
    fn ranks_invert_orders() {
        assert_eq!(ranks_of(&[2, 0, 1]), vec![1, 2, 0]);
    }

    #[test]
    fn shuffles_are_reproducible_and_seed_dependent() {
        let a = shuffled(20, &mut rng(7, "x"));
        let b = shuffled(20, &mut rng(7, "x"));
        let c = shuffled(20, &mut rng(8, "x"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>());
    }
}
