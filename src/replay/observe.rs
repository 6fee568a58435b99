//! What a replay observed, as plain values: the input of the rules and the timing figures.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::provider::Provider;
use crate::scenario::{CallBehaviour, Outcome, Policy};
use crate::transcript::{Reply, Request};

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
    /// The input the handler sent.
    pub input: Value,
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

/// Everything one turn showed: the reply served, the handler's previous request and its
/// follow-up, and every tool invocation. Rules are pure functions of this.
#[derive(Debug, Clone)]
pub struct TurnObservation {
    /// The API.
    pub provider: Provider,
    /// 1-based turn number (turn n = the n-th reply served and its follow-up).
    pub turn: usize,
    /// The calls of the reply served, with how their tools behave.
    pub calls: Vec<CallBehaviour>,
    /// The unique tag in each call's output (same order as `calls`); empty when tagging is off.
    pub tags: Vec<String>,
    /// The reply served.
    pub served: Reply,
    /// The handler's request that this reply answered.
    pub previous: Request,
    /// The handler's follow-up, if it sent one.
    pub followup: Option<Request>,
    /// Tool invocations during the turn, in arrival order.
    pub invocations: Vec<Invocation>,
    /// When the reply was served.
    pub reply_at: Duration,
    /// When the follow-up arrived (or the turn was judged without one).
    pub judged_at: Duration,
    /// The event sequence number at that moment.
    pub judged_seq: u64,
    /// The engine stopped the run because a hung call outlived the deadline.
    pub deadline_expired: bool,
    /// The handler ended on its own (returned or exited) without a follow-up.
    pub handler_ended: bool,
    /// The scenario's policy.
    pub policy: Policy,
    /// Tags of calls of earlier turns (tag, turn) so stale outputs are recognised.
    pub earlier_tags: Vec<(String, usize)>,
}

impl TurnObservation {
    /// Ids of the calls, in call order.
    pub fn call_ids(&self) -> impl Iterator<Item = &str> {
        self.calls.iter().map(|c| c.call.id.as_str())
    }

    /// Invocations filed under call `i`.
    pub fn runs_of(&self, i: usize) -> impl Iterator<Item = &Invocation> {
        self.invocations
            .iter()
            .filter(move |inv| inv.call == Some(i))
    }

    /// Whether call `i` ran and its tool failed or hung.
    pub fn call_failed(&self, i: usize) -> bool {
        self.runs_of(i).next().is_some()
            && matches!(self.calls[i].outcome, Outcome::Fail(_) | Outcome::Hang)
    }
}

pub(crate) fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(ms(*d))
}

pub(crate) fn ser_opt_ms<S: serde::Serializer>(
    d: &Option<Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(ms(*d)),
        None => s.serialize_none(),
    }
}

/// Milliseconds, with microsecond precision.
pub fn ms(d: Duration) -> f64 {
    (d.as_micros() as f64) / 1000.0
}
