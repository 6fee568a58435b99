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
}

/// The figures of one turn.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TurnTiming {
    /// 1-based turn.
    pub turn: usize,
    /// Calls in the reply.
    pub calls: usize,
    /// First tool start to last tool end.
    #[serde(rename = "wall_ms", serialize_with = "ser_ms")]
    pub wall: Duration,
    /// Sum of the tools' own times.
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
    /// Reply served to follow-up received, less the tools' wall time: the handler's own cost.
    #[serde(rename = "overhead_ms", serialize_with = "ser_opt_ms")]
    pub overhead: Option<Duration>,
    /// One bar per invocation.
    pub bars: Vec<Bar>,
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
        let wall = last.saturating_sub(first);
        let tool_sum: Duration = intervals.iter().map(|(s, e)| e.saturating_sub(*s)).sum();
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
        let overhead = obs.messages.followup.as_ref().map(|_| {
            until
                .saturating_sub(obs.execution.reply_at)
                .saturating_sub(wall)
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
                start: inv.start,
                end: inv.end,
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
            tool_sum,
            concurrency: if obs.execution.invocations.is_empty() {
                0.0
            } else {
                ratio(tool_sum, wall)
            },
            peak_in_flight: peak_in_flight(&seq_intervals),
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

    /// The plain-text timeline: a header of figures, then one bar per invocation on a shared
    /// axis of `width` columns.
    pub fn timeline(&self, width: usize) -> String {
        let mut out = format!(
            "turn {}: {} call(s), wall {:.1} ms, tools {:.1} ms, concurrency {:.2}, peak {} in flight, efficiency {:.0}%\n",
            self.turn,
            self.calls,
            ms(self.wall),
            ms(self.tool_sum),
            self.concurrency,
            self.peak_in_flight,
            self.efficiency * 100.0
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
            let fill = match b.state {
                "ok" | "repeat" | "wrong-arguments" | "unknown-tool" => '█',
                "failed" => 'x',
                _ => '░',
            };
            let mut bar = String::with_capacity(width);
            for i in 0..width {
                bar.push(if i >= s && (i < e || (i == s && e == s)) {
                    fill
                } else {
                    ' '
                });
            }
            let end = b
                .end
                .map_or("…".to_string(), |e| format!("{:.0}", ms(e - t0)));
            out.push_str(&format!(
                "  {:<id_w$} {:<tool_w$} |{bar}| {:.0}–{end} ms{}\n",
                crate::util::clip(&b.call_id, id_w),
                crate::util::clip(&b.tool, tool_w),
                ms(b.start - t0),
                if b.state == "ok" {
                    String::new()
                } else {
                    format!(" {}", b.state)
                }
            ));
        }
        out
    }
}
