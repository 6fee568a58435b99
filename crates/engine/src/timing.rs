//! Per-turn timing figures from the fake tools' own start and end times, and a plain-text
//! timeline. Under the virtual clock these are exact and reproducible.

use std::time::Duration;

use serde::Serialize;

use crate::rules::input::{
    End, Match, Outcome, TurnObservation, ms, peak_in_flight, ser_ms, ser_opt_ms,
};

/// One bar of the timeline: one invocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bar {
    /// The call it was filed under (empty for an unknown tool).
    pub call_id: String,
    /// The tool.
    pub tool: String,
    /// Start since the run began.
    #[serde(serialize_with = "ser_ms")]
    pub start: Duration,
    /// End since the run began (`None`: still open when judged).
    #[serde(serialize_with = "ser_opt_ms")]
    pub end: Option<Duration>,
    /// `ok`, `failed`, `hung`, `abandoned`, `open`, and for odd runs `wrong-arguments`,
    /// `repeat`, `unknown-tool`.
    pub state: &'static str,
    /// How long the harness held the call past its latency (barrier, completion order):
    /// harness time, drawn apart at the bar's end.
    #[serde(rename = "held_ms", serialize_with = "ser_ms")]
    pub held: Duration,
    /// The transport the call came through: `in-process`, `http` (the shim), `mcp-http`,
    /// `mcp-stdio`.
    pub via: &'static str,
}

/// The figures of one turn.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TurnTiming {
    /// 1-based turn.
    pub turn: usize,
    /// Calls in the reply.
    pub calls: usize,
    /// First tool start to last tool end, less the time when every call in flight was only
    /// being held by the harness (see `held`): the handler's wall time.
    #[serde(rename = "wall_ms", serialize_with = "ser_ms")]
    pub wall: Duration,
    /// Time taken out of `wall`: every call in flight was done by its latency and held by the
    /// harness (the real-clock barrier waiting for calls that a sequential handler had not
    /// sent yet, or a completion order). Reported apart so that wall, concurrency and
    /// efficiency describe the handler, not the harness.
    #[serde(rename = "held_ms", serialize_with = "ser_ms")]
    pub held: Duration,
    /// Sum of the tools' own times (held time excluded).
    #[serde(rename = "tool_sum_ms", serialize_with = "ser_ms")]
    pub tool_sum: Duration,
    /// `tool_sum / wall`: 1.0 is sequential, n is n calls fully overlapped.
    pub concurrency: f64,
    /// The most calls in flight at once.
    pub peak_in_flight: usize,
    /// The best wall time possible: the slowest independent call, or the side-effecting calls
    /// run one after another if they take longer.
    #[serde(rename = "ideal_ms", serialize_with = "ser_ms")]
    pub ideal: Duration,
    /// `ideal / wall` (1.0 is perfect).
    pub efficiency: f64,
    /// How long the reply took to send: the recorded gaps between a stream's events (scaled);
    /// zero for a reply sent as one body. Not the handler's time: left out of `overhead`.
    #[serde(rename = "stream_ms", serialize_with = "ser_ms")]
    pub stream: Duration,
    /// Reply served to follow-up received, less the time the reply took to stream and the time
    /// tools were in flight: the handler's own cost.
    #[serde(rename = "overhead_ms", serialize_with = "ser_opt_ms")]
    pub overhead: Option<Duration>,
    /// One bar per invocation.
    pub bars: Vec<Bar>,
}

/// How long the union of `spans` lasts outside the union of `except` (half-open intervals).
/// Written out: a sweep over a few dozen intervals, which no interval crate makes shorter.
/// Between two neighbouring ends, an interval covers the window when it began at or before the
/// window's start and has not ended by then; so one pass over the sorted ends, counting
/// intervals open in each set, does it (checking every window against every interval was a
/// twentieth of a 20-call run).
fn covered(spans: &[(Duration, Duration)], except: &[(Duration, Duration)]) -> Duration {
    // (at, change in open spans, change in open exceptions); an empty interval covers nothing.
    let mut ends: Vec<(Duration, i32, i32)> = Vec::with_capacity(2 * (spans.len() + except.len()));
    for &(s, e) in spans.iter().filter(|(s, e)| s < e) {
        ends.extend([(s, 1, 0), (e, -1, 0)]);
    }
    for &(s, e) in except.iter().filter(|(s, e)| s < e) {
        ends.extend([(s, 0, 1), (e, 0, -1)]);
    }
    ends.sort_unstable_by_key(|x| x.0);
    let (mut open, mut open_except, mut total) = (0, 0, Duration::ZERO);
    let mut k = 0;
    while k < ends.len() {
        let at = ends[k].0;
        while k < ends.len() && ends[k].0 == at {
            open += ends[k].1;
            open_except += ends[k].2;
            k += 1;
        }
        if let Some(&(next, _, _)) = ends.get(k)
            && open > 0
            && open_except == 0
        {
            total += next - at;
        }
    }
    total
}

impl TurnTiming {
    /// Figures for one observed turn. `latencies` are the calls' drawn latencies.
    pub fn of(obs: &TurnObservation, latencies: &[Duration]) -> TurnTiming {
        let until = obs.execution.judged_at;
        let intervals: Vec<(Duration, Duration)> = obs
            .execution
            .invocations
            .iter()
            .map(|i| (i.start, i.end_or(until)))
            .collect();
        let seq_intervals: Vec<(u64, u64)> = obs
            .execution
            .invocations
            .iter()
            .map(|i| (i.start_seq, i.end_seq.unwrap_or(obs.execution.judged_seq)))
            .collect();
        let first = intervals.iter().map(|i| i.0).min().unwrap_or_default();
        let last = intervals.iter().map(|i| i.1).max().unwrap_or_default();
        // The part of each call the harness held it: from when its latency ran out, for
        // `held`. The rest (before, and after its release until the answer went out) is the
        // call's own time.
        let held_parts: Vec<(Duration, Duration)> = obs
            .execution
            .invocations
            .iter()
            .zip(&intervals)
            .map(|(inv, &(s, e))| {
                let natural = inv
                    .call
                    .and_then(|i| latencies.get(i))
                    .map_or(e, |l| (s + *l).min(e));
                (natural, (natural + inv.held).min(e))
            })
            .collect();
        let own: Vec<(Duration, Duration)> = intervals
            .iter()
            .zip(&held_parts)
            .flat_map(|(&(s, e), &(hs, he))| [(s, hs), (he, e)])
            .collect();
        let held = covered(&held_parts, &own);
        let wall = last.saturating_sub(first).saturating_sub(held);
        let tool_sum: Duration = own.iter().map(|(s, e)| e.saturating_sub(*s)).sum();
        // The best a correct handler can do: independent calls overlapped, side-effecting
        // ones one after another.
        let finite = || {
            obs.messages
                .calls
                .iter()
                .zip(latencies)
                .filter(|(c, _)| !matches!(c.outcome, Some(Outcome::Hang)))
        };
        let slowest = finite()
            .filter(|(c, _)| !c.side_effects)
            .map(|(_, l)| *l)
            .max();
        let writes: Duration = finite()
            .filter(|(c, _)| c.side_effects)
            .map(|(_, l)| *l)
            .sum();
        let ideal = slowest.unwrap_or_default().max(writes);
        let ratio = |a: Duration, b: Duration| {
            if b.is_zero() {
                if a.is_zero() { 1.0 } else { 0.0 }
            } else {
                a.as_secs_f64() / b.as_secs_f64()
            }
        };
        // The handler's own time between the reply and its follow-up: neither receiving the
        // reply (a stream is sent with its recorded gaps) nor waiting on a tool.
        let overhead = obs.messages.followup.as_ref().map(|_| {
            let from = obs.execution.reply_at;
            let mut busy = intervals.clone();
            busy.push((from, obs.execution.reply_end.max(from)));
            let busy: Vec<(Duration, Duration)> = busy
                .into_iter()
                .map(|(s, e)| (s.clamp(from, until), e.clamp(from, until)))
                .collect();
            until
                .saturating_sub(from)
                .saturating_sub(covered(&busy, &[]))
        });
        let bars = obs
            .execution
            .invocations
            .iter()
            .map(|inv| Bar {
                call_id: inv
                    .call
                    .map(|i| obs.messages.calls[i].call.id.clone())
                    .unwrap_or_default(),
                tool: inv.tool.clone(),
                via: inv.via,
                start: inv.start,
                end: inv.end,
                held: inv.held,
                state: match (inv.matched, &inv.ended) {
                    (Match::UnknownTool, _) => "unknown-tool",
                    (Match::WrongArguments, _) => "wrong-arguments",
                    (Match::Repeat, _) => "repeat",
                    (_, End::Output) => "ok",
                    (_, End::Failed) => "failed",
                    (_, End::Abandoned) => {
                        if inv.call.is_some_and(|i| {
                            matches!(obs.messages.calls[i].outcome, Some(Outcome::Hang))
                        }) {
                            "hung"
                        } else {
                            "abandoned"
                        }
                    }
                    (_, End::Open) => "open",
                },
            })
            .collect();
        TurnTiming {
            turn: obs.messages.turn,
            calls: obs.messages.calls.len(),
            wall,
            held,
            tool_sum,
            concurrency: if obs.execution.invocations.is_empty() {
                0.0
            } else {
                ratio(tool_sum, wall)
            },
            peak_in_flight: peak_in_flight(&seq_intervals),
            stream: obs
                .execution
                .reply_end
                .saturating_sub(obs.execution.reply_at),
            ideal,
            efficiency: if obs.execution.invocations.is_empty() {
                0.0
            } else {
                ratio(ideal, wall).min(1.0)
            },
            overhead,
            bars,
        }
    }

    /// `, held by tooltape N ms` when the harness's holds were taken out of the wall time.
    pub fn held_note(&self) -> String {
        if self.held.is_zero() {
            String::new()
        } else {
            format!(
                ", held by tooltape {:.0} ms (not counted in wall)",
                ms(self.held)
            )
        }
    }

    /// The plain-text timeline: a header of figures, then one bar per invocation on a shared
    /// axis of `width` columns.
    pub fn timeline(&self, width: usize) -> String {
        let mut out = format!(
            "turn {}: {} call(s), wall {:.1} ms, tools {:.1} ms, concurrency {:.2}, peak {} in flight, efficiency {:.0}%{}\n",
            self.turn,
            self.calls,
            ms(self.wall),
            ms(self.tool_sum),
            self.concurrency,
            self.peak_in_flight,
            self.efficiency * 100.0,
            self.held_note()
        );
        let Some(t0) = self.bars.iter().map(|b| b.start).min() else {
            out.push_str("  (no tool ran)\n");
            return out;
        };
        let t1 = self
            .bars
            .iter()
            .map(|b| b.end.unwrap_or(b.start))
            .max()
            .unwrap_or(t0)
            .max(t0 + Duration::from_millis(1));
        let span = (t1 - t0).as_secs_f64();
        let col = |t: Duration| (((t - t0).as_secs_f64() / span) * width as f64).round() as usize;
        let id_w = self
            .bars
            .iter()
            .map(|b| b.call_id.chars().count())
            .max()
            .unwrap_or(0)
            .min(28);
        let tool_w = self
            .bars
            .iter()
            .map(|b| b.tool.chars().count())
            .max()
            .unwrap_or(0)
            .min(20);
        for b in &self.bars {
            let s = col(b.start).min(width);
            let e = b.end.map_or(width, col).clamp(s, width);
            // The held tail, drawn `·`: the harness's time, not the tool's.
            let h = b.end.map_or(e, |end| {
                col(end.saturating_sub(b.held).max(b.start)).clamp(s, e)
            });
            let fill = match b.state {
                "ok" | "repeat" | "wrong-arguments" | "unknown-tool" => '█',
                "failed" => 'x',
                _ => '░',
            };
            let mut bar = String::with_capacity(width);
            for i in 0..width {
                bar.push(if i >= h && i < e && h > s {
                    '·'
                } else if i >= s && (i < e || (i == s && e == s)) {
                    fill
                } else {
                    ' '
                });
            }
            let end = b
                .end
                .map_or("…".to_string(), |e| format!("{:.0}", ms(e - t0)));
            out.push_str(&format!(
                "  {:<id_w$} {:<tool_w$} |{bar}| {:.0}–{end} ms{}{}\n",
                crate::util::clip(&b.call_id, id_w),
                crate::util::clip(&b.tool, tool_w),
                ms(b.start - t0),
                if b.state == "ok" {
                    String::new()
                } else {
                    format!(" {}", b.state)
                },
                // The shim and in-process calls are the norm; other transports are named.
                if matches!(b.via, "in-process" | "http") {
                    String::new()
                } else {
                    format!(" via {}", b.via)
                }
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The window-by-window definition `covered` replaced, as the oracle.
    fn covered_by_windows(
        spans: &[(Duration, Duration)],
        except: &[(Duration, Duration)],
    ) -> Duration {
        let mut points: Vec<Duration> = spans
            .iter()
            .chain(except)
            .flat_map(|&(s, e)| [s, e])
            .collect();
        points.sort();
        points.dedup();
        points
            .windows(2)
            .filter(|w| {
                let inside =
                    |set: &[(Duration, Duration)]| set.iter().any(|&(s, e)| s <= w[0] && w[1] <= e);
                inside(spans) && !inside(except)
            })
            .map(|w| w[1] - w[0])
            .sum()
    }

    #[test]
    fn covered_sweeps_as_the_windows_count() {
        // A small deterministic generator: interval sets with shared ends, nesting, empty
        // and reversed intervals.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Duration::from_millis(x % m)
        };
        let mut nonzero = 0;
        for case in 0..2000 {
            let n = case % 7;
            let spans: Vec<_> = (0..n).map(|_| (next(12), next(12))).collect();
            let except: Vec<_> = (0..case % 4).map(|_| (next(12), next(12))).collect();
            let swept = covered(&spans, &except);
            assert_eq!(
                swept,
                covered_by_windows(&spans, &except),
                "{spans:?} except {except:?}"
            );
            nonzero += usize::from(!swept.is_zero());
        }
        assert!(nonzero > 500, "{nonzero}");
    }
}
