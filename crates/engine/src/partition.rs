//! `--partition K/N`: a stable split of a suite for CI matrices.
//!
//! Each scenario goes to the shard its **name** hashes to (FNV-1a, 64 bit, written out here so
//! the assignment never changes with a Rust or crate version). It does not depend on position:
//! adding, removing or reordering scenarios never moves the others to another shard. The
//! price is that shards are only roughly even, and with few scenarios one may be empty. The
//! partitions `1/N` to `N/N` together hold every scenario exactly once.

use std::fmt;
use std::str::FromStr;

/// One shard of `count`, numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// 1-based shard number, at most `count`.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl Partition {
    /// Whether the scenario with this name belongs to this shard.
    pub fn contains(&self, name: &str) -> bool {
        fnv1a(name.as_bytes()) % self.count == self.index - 1
    }
}

impl FromStr for Partition {
    type Err = String;

    /// `K/N` with `1 <= K <= N`. The error does not repeat the value (clap shows it).
    fn from_str(s: &str) -> Result<Self, String> {
        let expected = "expected K/N with 1 <= K <= N, like 2/3";
        let (k, n) = s.split_once('/').ok_or_else(|| expected.to_string())?;
        let parse = |x: &str, what: &str| {
            x.trim()
                .parse::<u64>()
                .map_err(|_| format!("{what} {x:?} is not a whole number; {expected}"))
        };
        let (index, count) = (parse(k, "K")?, parse(n, "N")?);
        if count == 0 {
            return Err(format!("N must be at least 1; {expected}"));
        }
        if index == 0 || index > count {
            return Err(format!(
                "K must be between 1 and {count} (partitions are numbered from 1)"
            ));
        }
        Ok(Partition { index, count })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// FNV-1a, 64 bit: tiny, and its output is fixed by its definition.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        let mut v: Vec<String> = (0..40).map(|i| format!("scenario-{i}")).collect();
        v.extend(
            [
                "anthropic-three_parallel",
                "openai-chat-single_call",
                "",
                "x",
            ]
            .map(String::from),
        );
        v
    }

    #[test]
    fn the_partitions_together_hold_every_scenario_exactly_once() {
        let names = names();
        for n in 1..=5 {
            let mut seen = vec![0usize; names.len()];
            for k in 1..=n {
                let p: Partition = format!("{k}/{n}").parse().unwrap();
                for (i, name) in names.iter().enumerate() {
                    if p.contains(name) {
                        seen[i] += 1;
                    }
                }
            }
            assert!(seen.iter().all(|&c| c == 1), "N={n}: {seen:?}");
        }
    }

    #[test]
    fn adding_a_scenario_moves_no_other() {
        let p: Partition = "2/3".parse().unwrap();
        let before: Vec<bool> = names().iter().map(|n| p.contains(n)).collect();
        let mut more = vec!["a-new-one".to_string()];
        more.extend(names());
        let after: Vec<bool> = more[1..].iter().map(|n| p.contains(n)).collect();
        assert_eq!(before, after);
    }

    #[test]
    fn the_hash_is_fixed() {
        // FNV-1a test vectors: a change here would reshuffle every user's CI matrix.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn bad_values_say_what_is_expected() {
        for bad in ["0/3", "4/3", "x/y", "3", "1/0", "", "-1/3", "1/3/5"] {
            let err = bad.parse::<Partition>().unwrap_err();
            assert!(err.contains("K"), "{bad}: {err}");
        }
        assert_eq!(
            "3/3".parse::<Partition>().unwrap(),
            Partition { index: 3, count: 3 }
        );
        assert_eq!(
            " 1 / 2 ".trim().parse::<Partition>().unwrap().to_string(),
            "1/2"
        );
    }
}
