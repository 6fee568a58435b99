//! What the rules read: one turn, as plain values, in two parts.
//!
//! - [`TurnMessages`]: what the messages show — the reply served, the handler's previous
//!   request and its follow-up, and what each call's tool was scripted to do. This is all
//!   `tooltape lint` can know about a recorded conversation.
//! - [`Execution`]: what running the fake tools showed — every invocation with its input,
//!   start and end, and how the turn ended. Only a replay has it.
//!
//! The replay engine builds both; lint builds only the first. Nothing here knows about the
//! clock, the transport or the report.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::provider::Provider;
use crate::transcript::{Reply, Request, ToolCall};

/// What a fake tool does with a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Succeeds with this text.
    Output(String),
    /// Fails with this error text.
    Fail(String),
    /// Never completes.
    Hang,
}

/// One call of the reply served, with what its tool was scripted to do.
#[derive(Debug, Clone, PartialEq)]
pub struct CallFacts {
    /// The call.
    pub call: ToolCall,
    /// What its tool answers; `None` when unknown (a recorded conversation linted on its own).
    pub outcome: Option<Outcome>,
    /// Calls to this tool must not overlap other such calls.
    pub side_effects: bool,
    /// And must run in call order.
    pub order_dependent: bool,
}

/// What the messages of one turn show: the reply served, the handler's previous request and
/// its follow-up.
///
/// What every run of a scenario shares (the calls with their scripted outcomes, the tags, the
/// reply served, and the first request while every run sends the same one) is behind an
/// [`Arc`], made once per scenario: a replay judges many runs, and copying or parsing those
/// per run was a tenth of an in-process run. Build them with `.into()` from a `Vec` or a value.
#[derive(Debug, Clone)]
pub struct TurnMessages {
    /// The API.
    pub provider: Provider,
    /// 1-based turn number (turn n = the n-th reply served and its follow-up).
    pub turn: usize,
    /// The calls of the reply served, in call order.
    pub calls: Arc<[CallFacts]>,
    /// The unique tag in each call's output (same order as `calls`); empty when tagging is off
    /// or unknown.
    pub tags: Arc<[String]>,
    /// Tags of calls of earlier turns (tag, turn) so stale outputs are recognised.
    pub earlier_tags: Arc<[(String, usize)]>,
    /// The reply served.
    pub served: Arc<Reply>,
    /// The handler's request that this reply answered.
    pub previous: Arc<Request>,
    /// The handler's follow-up, if it sent one. Shared: a replay parses a follow-up once
    /// while every run of a scenario sends the same JSON for that turn.
    pub followup: Option<Arc<Request>>,
}

impl TurnMessages {
    /// Ids of the calls, in call order.
    pub fn call_ids(&self) -> impl Iterator<Item = &str> {
        self.calls.iter().map(|c| c.call.id.as_str())
    }
}

/// How a tool invocation was matched to the open calls of its turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Match {
    /// Same name and input as a call not run before.
    Exact,
    /// Same name and input as a call that had already run.
    Repeat,
    /// A call of that tool, but other input (filed under the closest call).
    WrongArguments,
    /// No call of the turn has that tool.
    UnknownTool,
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum End {
    /// The tool answered with output.
    Output,
    /// The tool answered with an error.
    Failed,
    /// The handler gave up waiting (hung call abandoned, or the request was dropped).
    Abandoned,
    /// Still open when the turn was judged.
    Open,
}

/// One call of a fake tool by the handler.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Invocation {
    /// Index of the call (in its turn) this invocation was filed under.
    pub call: Option<usize>,
    /// The tool's name.
    pub tool: String,
    /// The input the handler sent. Shared with the call's own input when it is that JSON
    /// exactly (members in the same order), as a correct handler sends it: copying each
    /// input per run was a fiftieth of a 3-call run.
    pub input: Arc<Value>,
    /// The transport it came through (`in-process`, `http`, `mcp`).
    pub via: &'static str,
    /// How it was matched.
    pub matched: Match,
    /// When it arrived, since the run started.
    #[serde(serialize_with = "ser_ms")]
    pub start: Duration,
    /// When it ended (answered or abandoned); `None` while open.
    #[serde(serialize_with = "ser_opt_ms")]
    pub end: Option<Duration>,
    /// How it ended.
    pub ended: End,
    /// How long the harness kept it past its scripted latency: the real-clock barrier waiting
    /// for the turn's other calls, or a completion order making it finish after a slower call.
    /// Harness time, not the handler's: the timing figures leave it out.
    #[serde(rename = "held_ms", serialize_with = "ser_ms")]
    pub held: Duration,
    /// Sequence number of its start among all tool events of the run (exact ordering even
    /// when no time passes between events).
    #[serde(skip)]
    pub start_seq: u64,
    /// Sequence number of its end.
    #[serde(skip)]
    pub end_seq: Option<u64>,
}

impl Invocation {
    /// The end of its interval for figures: its end, or `until` while still open.
    pub fn end_or(&self, until: Duration) -> Duration {
        self.end.unwrap_or(until)
    }

    /// Its interval in event order, for overlap verdicts; open ones end at `until`.
    pub fn seq_interval(&self, until: u64) -> (u64, u64) {
        (self.start_seq, self.end_seq.unwrap_or(until))
    }
}

/// What running the fake tools of one turn showed.
#[derive(Debug, Clone)]
pub struct Execution {
    /// Tool invocations during the turn, in arrival order.
    pub invocations: Vec<Invocation>,
    /// When the reply was served (its request arrived).
    pub reply_at: Duration,
    /// When the served reply had been sent in full: `reply_at` for a body, later for a stream
    /// sent with its recorded gaps between events.
    pub reply_end: Duration,
    /// When the follow-up arrived (or the turn was judged without one).
    pub judged_at: Duration,
    /// The event sequence number at that moment.
    pub judged_seq: u64,
    /// The engine stopped the run because a hung call outlived the deadline.
    pub deadline_expired: bool,
    /// The handler ended on its own (returned or exited) without a follow-up.
    pub handler_ended: bool,
    /// Independent calls of a turn must overlap (the scenario's policy).
    pub require_concurrency: bool,
    /// A hung call must be given up within this long of its start (the scenario's policy).
    pub tool_deadline: Duration,
}

impl Execution {
    /// Invocations filed under call `i`.
    pub fn runs_of(&self, i: usize) -> impl Iterator<Item = &Invocation> {
        self.invocations
            .iter()
            .filter(move |inv| inv.call == Some(i))
    }
}

/// Everything one replayed turn showed. Rules are pure functions of this.
#[derive(Debug, Clone)]
pub struct TurnObservation {
    /// What the messages show.
    pub messages: TurnMessages,
    /// What running the tools showed.
    pub execution: Execution,
}

impl TurnObservation {
    /// Whether call `i` ran and its tool failed or hung.
    pub fn call_failed(&self, i: usize) -> bool {
        self.execution.runs_of(i).next().is_some()
            && matches!(
                self.messages.calls[i].outcome,
                Some(Outcome::Fail(_) | Outcome::Hang)
            )
    }
}

/// What a scenario offers the rules: enough to tell which of them it can catch (a rule is
/// exercised when a handler breaking it is caught on some run of the scenario).
#[derive(Debug, Clone)]
pub struct ScenarioFacts {
    /// The API.
    pub provider: Provider,
    /// Per turn, its calls with their scripted outcomes.
    pub turns: Vec<Vec<CallFacts>>,
    /// Whether some run completes two calls of a turn that differ (in name or input) in
    /// another order than the model gave them, so that pairing by completion order shows.
    pub reorders_distinct_calls: bool,
    /// The tools the recorded first request offers.
    pub offered: Vec<String>,
    /// The tools the scenario marks side-effecting.
    pub side_effect_tools: Vec<String>,
    /// The policy's `require_concurrency`.
    pub require_concurrency: bool,
}

impl ScenarioFacts {
    /// Every call of every turn.
    pub fn calls(&self) -> impl Iterator<Item = &CallFacts> {
        self.turns.iter().flatten()
    }

    /// Whether some call's tool has this outcome.
    pub fn any_outcome(&self, f: impl Fn(&Outcome) -> bool) -> bool {
        self.calls().any(|c| c.outcome.as_ref().is_some_and(&f))
    }

    /// Whether some turn has at least `n` calls that satisfy `f`.
    pub fn some_turn_has(&self, n: usize, f: impl Fn(&CallFacts) -> bool) -> bool {
        self.turns
            .iter()
            .any(|t| t.iter().filter(|c| f(c)).count() >= n)
    }
}

/// The most intervals in flight at once. Intervals are half-open: one that ends exactly where
/// another starts does not overlap it. Verdicts use event sequence numbers as the keys (exact
/// even when no time passes between events); figures may use times.
pub fn peak_in_flight<T: Ord + Copy>(intervals: &[(T, T)]) -> usize {
    let mut events: Vec<(T, i32)> = Vec::with_capacity(intervals.len() * 2);
    for &(s, e) in intervals {
        if e > s {
            events.push((s, 1));
            events.push((e, -1));
        }
    }
    // Ends sort before starts at the same key.
    events.sort();
    let (mut cur, mut peak) = (0i32, 0i32);
    for (_, d) in events {
        cur += d;
        peak = peak.max(cur);
    }
    // An interval of no length is still one call in flight.
    (peak as usize).max(usize::from(!intervals.is_empty()))
}

/// Milliseconds, with microsecond precision.
pub fn ms(d: Duration) -> f64 {
    (d.as_micros() as f64) / 1000.0
}

/// Serialize a duration as milliseconds.
pub fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(ms(*d))
}

/// Serialize an optional duration as milliseconds or null.
pub fn ser_opt_ms<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(ms(*d)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::peak_in_flight;
    use std::time::Duration;

    fn d(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn touching_intervals_do_not_overlap() {
        assert_eq!(peak_in_flight(&[(d(0), d(100)), (d(100), d(200))]), 1);
    }

    #[test]
    fn overlapping_intervals_count() {
        assert_eq!(
            peak_in_flight(&[(d(0), d(300)), (d(0), d(200)), (d(0), d(100))]),
            3
        );
        assert_eq!(
            peak_in_flight(&[(d(0), d(100)), (d(50), d(150)), (d(120), d(200))]),
            2
        );
        assert_eq!(peak_in_flight::<u64>(&[]), 0);
    }

    #[test]
    fn instant_calls_count_once() {
        assert_eq!(peak_in_flight(&[(d(5), d(5)), (d(5), d(5))]), 1);
    }

    #[test]
    fn sequence_numbers_order_events_at_the_same_instant() {
        // Sequential: start 0, end 1, start 2, end 3. Concurrent: start 0, start 1, end 2, end 3.
        assert_eq!(peak_in_flight(&[(0u64, 1u64), (2, 3)]), 1);
        assert_eq!(peak_in_flight(&[(0u64, 2u64), (1, 3)]), 2);
    }
}
