//! Completion orders and seeded draws: which call of a turn completes first in a run, and the
//! latencies drawn from ranges. Seeded with ChaCha8 (portable across platforms and rand
//! versions) and our own Fisher–Yates, so a printed `--seed` always reproduces a run.

use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

use crate::scenario::{LatencyResolved, NamedOrder, OrderSpec, Scenario};

/// Turns larger than this are not enumerated by the `all` order.
pub const MAX_PERMUTED_CALLS: usize = 5;

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

/// Every run a scenario asks for, in the order of its `orders`.
pub fn plans(scenario: &Scenario, seed: u64) -> Vec<RunPlan> {
    let sizes: Vec<usize> = scenario.turns.iter().map(Vec::len).collect();
    let mut out = Vec::new();
    for spec in &scenario.file.orders {
        match spec {
            OrderSpec::Named(NamedOrder::Call) => {
                out.push(fixed("call", seed, &sizes, |n| (0..n).collect()))
            }
            OrderSpec::Named(NamedOrder::Reverse) => {
                out.push(fixed("reverse", seed, &sizes, |n| (0..n).rev().collect()))
            }
            OrderSpec::Named(NamedOrder::Latency) => out.push(RunPlan {
                label: "latency".into(),
                seed,
                turns: sizes.iter().map(|_| TurnOrder::Latency).collect(),
            }),
            OrderSpec::Shuffle { shuffle } => {
                for k in 0..*shuffle {
                    let mut rng = rng(seed, &format!("shuffle/{k}"));
                    out.push(RunPlan {
                        label: format!("shuffle {}/{shuffle}", k + 1),
                        seed,
                        turns: sizes
                            .iter()
                            .map(|&n| TurnOrder::Ranks(ranks_of(&shuffled(n, &mut rng))))
                            .collect(),
                    });
                }
            }
            OrderSpec::Named(NamedOrder::All) => {
                let largest = sizes
                    .iter()
                    .copied()
                    .filter(|&n| n <= MAX_PERMUTED_CALLS)
                    .max()
                    .unwrap_or(1);
                let count = factorial(largest);
                for k in 0..count {
                    out.push(RunPlan {
                        label: format!("permutation {}/{count}", k + 1),
                        seed,
                        turns: sizes
                            .iter()
                            .map(|&n| {
                                let order = if n <= MAX_PERMUTED_CALLS {
                                    nth_permutation(n, k % factorial(n))
                                } else if k % 2 == 0 {
                                    (0..n).collect()
                                } else {
                                    (0..n).rev().collect()
                                };
                                TurnOrder::Ranks(ranks_of(&order))
                            })
                            .collect(),
                    });
                }
            }
        }
    }
    out
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
