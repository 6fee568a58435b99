//! The replay engine's state for one run: serves recorded replies to the handler's requests,
//! runs the fake tools (latency, completion order, failures, hangs) and judges each turn.
//!
//! The session is transport-free: an in-process handler reaches it through
//! [`crate::handler::Env`], a process through the mock server. Time is tokio's, so the same
//! code runs on the virtual clock (a paused runtime: tool latency costs nothing and figures are
//! exact) and on the real one.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::provider;
use crate::replay::order::{self, RunPlan, TurnOrder};
use crate::rules::input::{End, Execution, Invocation, Match, TurnMessages, TurnObservation};
use crate::rules::{self, Violation};
use crate::scenario::{CallBehaviour, Outcome, Scenario};
use crate::timing::TurnTiming;
use crate::transcript::{Message, Part, Reply, Request, Tool};

/// The log target of the events here: the `tooltape` crate's name, which log filters
/// (`TOOLTAPE_LOG=tooltape::replay=debug`) use, not this crate's.
const LOG: &str = "tooltape::replay::session";

/// Why a model request was not answered with a reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The HTTP status the real API would use.
    pub status: u16,
    /// The provider's error body.
    pub body: Value,
    /// The error message inside it.
    pub message: String,
}

/// What a fake tool answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolAnswer {
    /// Output text.
    Output(String),
    /// The tool failed with this text.
    Failed(String),
    /// The request names no call: no model reply with calls is open, or no call of the open
    /// turn has that tool. Not a tool failure but a wrong request (HTTP answers it with 4xx).
    Refused {
        /// No turn is open (else: no call has the tool).
        no_turn: bool,
        /// Why.
        reason: String,
    },
}

/// How the run ended, when the engine ended it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stop {
    /// A follow-up the real API would reject.
    Rejected(String),
    /// A hung call outlived the deadline.
    DeadlineExpired,
    /// A request that cannot be parsed, or one past the cassette's end.
    Error(String),
}

/// What every run of a scenario reads and none changes, made once for all its runs: each
/// call's tag and tagged answer, the side-effecting tools, and the drift notes of the last
/// first request seen (a handler usually sends the same one every run, and the schema check
/// behind them compiles a validator per tool).
pub(crate) struct Prepared {
    /// Per turn: the tags, the tags of the turns before it, the calls with their scripted
    /// outcomes and the reply served, as every run's [`TurnMessages`] shares them.
    tags: Vec<Arc<[String]>>,
    earlier_tags: Vec<Arc<[(String, usize)]>>,
    facts: Vec<Arc<[crate::rules::input::CallFacts]>>,
    replies: Vec<Arc<Reply>>,
    /// Per turn, per call: what the fake tool answers (`None`: it hangs).
    answers: Vec<Vec<Option<ToolAnswer>>>,
    /// Per turn, per call: its input, shared with the invocations that send it exactly.
    inputs: Vec<Vec<Arc<Value>>>,
    side_effect_tools: Vec<String>,
    /// Whether any call hangs: only then has the watchdog anything to watch.
    hangs: bool,
    /// Per request of the cassette (the first, then each turn's follow-up): its parse, while
    /// every run sends the same JSON for it.
    parsed: Mutex<Vec<SeenRequest>>,
    drift: Mutex<Option<(Request, Vec<String>)>>,
    /// The calls' latencies drawn for the last seed seen (every run of a suite has the same
    /// seed; a draw is a seeded generator per call).
    latencies: Mutex<Option<(u64, Vec<Vec<Duration>>)>>,
}

impl Prepared {
    /// Made from `scenario` as it is now.
    pub(crate) fn of(scenario: &Scenario) -> Prepared {
        let tags: Vec<Vec<String>> = scenario
            .turns
            .iter()
            .map(|t| {
                if scenario.file.policy.tag_outputs {
                    t.iter().map(|c| crate::tag::tag(&c.call.id)).collect()
                } else {
                    Vec::new()
                }
            })
            .collect();
        let tagged = |turn: usize, call: usize, text: &str| match tags[turn].get(call) {
            Some(tag) => crate::tag::tagged_text(text, tag),
            None => text.to_string(),
        };
        let answers = scenario
            .turns
            .iter()
            .enumerate()
            .map(|(t, calls)| {
                calls
                    .iter()
                    .enumerate()
                    .map(|(i, c)| match &c.outcome {
                        Outcome::Output(o) => Some(ToolAnswer::Output(tagged(t, i, o))),
                        Outcome::Fail(e) => Some(ToolAnswer::Failed(tagged(t, i, e))),
                        Outcome::Hang => None,
                    })
                    .collect()
            })
            .collect();
        let side_effect_tools = scenario.side_effect_tools();
        let earlier_tags = (0..tags.len())
            .map(|index| {
                tags[..index]
                    .iter()
                    .enumerate()
                    .flat_map(|(t, tags)| tags.iter().map(move |g| (g.clone(), t + 1)))
                    .collect()
            })
            .collect();
        let facts = scenario
            .turns
            .iter()
            .map(|t| t.iter().map(CallBehaviour::facts).collect())
            .collect();
        let replies = scenario
            .cassette
            .replies
            .iter()
            .map(|r| Arc::new(r.clone()))
            .collect();
        let inputs = scenario
            .turns
            .iter()
            .map(|t| t.iter().map(|c| Arc::new(c.call.input.clone())).collect())
            .collect();
        Prepared {
            inputs,
            tags: tags.into_iter().map(Arc::from).collect(),
            earlier_tags,
            facts,
            replies,
            answers,
            side_effect_tools,
            hangs: scenario
                .turns
                .iter()
                .flatten()
                .any(|c| matches!(c.outcome, Outcome::Hang)),
            drift: Mutex::new(None),
            parsed: Mutex::new(
                (0..scenario.cassette.replies.len())
                    .map(|_| SeenRequest::Unseen)
                    .collect(),
            ),
            latencies: Mutex::new(None),
        }
    }
}

/// A request of the runs (the first, or a turn's follow-up), parsed once while they all send
/// the same JSON for it (a handler usually does: the recorded prompt, or its own, then the
/// same history and tagged outputs every run). Parsing the first again, and dropping it, was a
/// tenth of an in-process run; the follow-up's parse another 8%.
enum SeenRequest {
    Unseen,
    /// The body as sent, and its parse.
    Same(Value, Arc<Request>),
    /// The runs sent different first requests: each is parsed on its own.
    Varies,
}

pub(crate) struct Session {
    pub(crate) scenario: Arc<Scenario>,
    prepared: Arc<Prepared>,
    plan: RunPlan,
    latencies: Vec<Vec<Duration>>,
    grace: Duration,
    t0: Instant,
    state: Mutex<State>,
    changed: Notify,
    /// Fake tools wait with the precise timer (`replay::timer`): set by a transport on the
    /// real clock whose runtime has I/O (the mock server).
    precise_timer: std::sync::atomic::AtomicBool,
    /// The run's log context (scenario and order) for `-vv` logs; disabled when nobody logs.
    span: tracing::Span,
}

#[derive(Default)]
struct State {
    seq: u64,
    served: usize,
    turn: Option<Turn>,
    violations: Vec<Violation>,
    timings: Vec<TurnTiming>,
    stop: Option<Stop>,
    parallel_writes_seen: bool,
    notes: Vec<String>,
}

struct Turn {
    index: usize,
    reply_at: Duration,
    /// When the reply had been sent in full (later than `reply_at` for a stream with gaps).
    reply_end: Duration,
    served: Arc<Reply>,
    previous: Arc<Request>,
    invocations: Vec<Invocation>,
    /// Per call: how many invocations are filed under it (kept beside `invocations` so that
    /// filing one does not count them all for every call: that was quadratic in the calls).
    runs: Vec<usize>,
    /// When each invocation completes, once known.
    release: Vec<Option<Instant>>,
    /// Independent calls (not side-effecting) that have arrived.
    arrived: Vec<bool>,
    first_arrival: Option<Instant>,
    barrier_open: bool,
}

/// What the run produced, for the report.
pub(crate) struct Judged {
    pub violations: Vec<Violation>,
    pub timings: Vec<TurnTiming>,
    pub stop: Option<Stop>,
    pub served: usize,
    pub notes: Vec<String>,
}

impl Session {
    /// A session for one run. `scale` multiplies every tool latency (`--time-scale`).
    pub(crate) fn new(
        scenario: Arc<Scenario>,
        plan: RunPlan,
        grace: Duration,
        scale: f64,
    ) -> Arc<Session> {
        let prepared = Arc::new(Prepared::of(&scenario));
        Self::prepared(scenario, prepared, plan, grace, scale)
    }

    /// [`Session::new`] with what the scenario's runs share made once beforehand.
    pub(crate) fn prepared(
        scenario: Arc<Scenario>,
        prepared: Arc<Prepared>,
        plan: RunPlan,
        grace: Duration,
        scale: f64,
    ) -> Arc<Session> {
        let latencies = {
            let mut cache = prepared.latencies.lock().unwrap_or_else(|e| e.into_inner());
            let drawn = match cache.as_ref() {
                Some((seed, drawn)) if *seed == plan.seed => drawn,
                _ => {
                    &cache
                        .insert((plan.seed, order::latencies(&scenario, plan.seed)))
                        .1
                }
            };
            drawn
                .iter()
                .map(|t| t.iter().map(|&l| crate::util::scaled(l, scale)).collect())
                .collect()
        };
        let span = tracing::debug_span!(target: LOG, "run", scenario = %scenario.name, order = %plan.label);
        Arc::new(Session {
            span,
            scenario,
            prepared,
            plan,
            latencies,
            grace,
            t0: Instant::now(),
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            precise_timer: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Let fake tools wait with the precise timer: only for a session on the real clock, on
    /// a runtime with tokio's I/O driver.
    #[cfg(feature = "mock")]
    pub(crate) fn use_precise_timer(&self) {
        self.precise_timer
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn plan_label(&self) -> &str {
        &self.plan.label
    }

    pub(crate) fn seed(&self) -> u64 {
        self.plan.seed
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep going with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn since_start(&self, t: Instant) -> Duration {
        t.saturating_duration_since(self.t0)
    }

    fn provider(&self) -> crate::provider::Provider {
        self.scenario.cassette.provider()
    }

    /// The request that opens the recording, for handlers that replay the recorded prompt.
    pub(crate) fn initial_request(&self) -> Value {
        self.scenario.cassette.cassette.exchanges[0].request.clone()
    }

    /// Tools the scenario marks side-effecting.
    pub(crate) fn side_effect_tools(&self) -> Vec<String> {
        self.prepared.side_effect_tools.clone()
    }

    fn reject(&self, message: String) -> Rejection {
        tracing::debug!(target: LOG, parent: &self.span, reason = %message, "model request rejected");
        let body = provider::format(self.provider()).error_body(&message);
        Rejection {
            status: 400,
            body,
            message,
        }
    }

    /// The recorded body of reply `index` (an index [`Session::serve`] gave), borrowed: an
    /// in-process handler that only reads the reply needs no copy of it.
    pub(crate) fn reply_body(&self, index: usize) -> &Value {
        &self.scenario.cassette.reply_bodies[index]
    }

    /// A model request from the handler: judges it as the follow-up of the open turn, then
    /// gives the index of the recorded reply to serve (or rejects it as the real API would).
    /// The transports read the reply where it is ([`Session::reply_body`]).
    pub(crate) fn serve(&self, body: &Value) -> Result<usize, Rejection> {
        let now = Instant::now();
        let mut st = self.lock();
        if let Some(stop) = &st.stop {
            let msg = match stop {
                Stop::Rejected(m) | Stop::Error(m) => m.clone(),
                Stop::DeadlineExpired => {
                    "tooltape: the run was stopped (a hung tool outlived the deadline)".into()
                }
            };
            return Err(self.reject(msg));
        }
        let fmt = provider::format(self.provider());
        // The recorded request's tools: a handler usually offers the same, whose schemas are
        // then shared rather than copied.
        let known = self
            .scenario
            .cassette
            .requests
            .get(st.served)
            .map_or(&[][..], |r| &r.tools[..]);
        let k = st.served;
        let parsed = self.parse_request(fmt, body, known, k);
        let mut request = match parsed {
            Ok(r) => r,
            Err(e) => {
                let msg = format!(
                    "request {} is not a valid {} request: {e}",
                    st.served + 1,
                    self.provider()
                );
                st.stop = Some(Stop::Error(msg.clone()));
                drop(st);
                self.changed.notify_waiters();
                return Err(self.reject(msg));
            }
        };
        if k == 0 {
            st.notes.extend(self.drift_cached(&request));
        }
        note_unfamiliar(
            fmt,
            &request.messages,
            || "a request from the handler".to_string(),
            &mut st.notes,
        );
        if !st.parallel_writes_seen {
            let marked: Vec<&str> = self
                .prepared
                .side_effect_tools
                .iter()
                .map(String::as_str)
                .collect();
            let found = rules::check_request(&request, &marked, k + 1);
            if !found.is_empty() {
                st.parallel_writes_seen = true;
                st.violations.extend(found);
            }
        }
        if let Some(turn) = st.turn.take() {
            let seq = st.seq;
            let mut obs = self.observe(turn, Some(request), now, seq, false, false);
            let found = rules::check_turn(&obs);
            // A clean turn is never refused: skip counting the history for it.
            let rejected = if found.is_empty() {
                None
            } else {
                rules::rejection_message(
                    self.provider(),
                    &found,
                    body_len(fmt, body).saturating_sub(1),
                    obs.messages.followup.as_deref(),
                )
            };
            tracing::debug!(target: LOG,
                parent: &self.span,
                turn = obs.messages.turn,
                violations = found.len(),
                "follow-up judged"
            );
            st.timings
                .push(TurnTiming::of(&obs, &self.latencies[obs.messages.turn - 1]));
            st.violations.extend(found);
            // Judged: the follow-up becomes the next turn's previous request (shared, not
            // cloned: it holds the whole conversation).
            request = obs.messages.followup.take().unwrap_or_default();
            if let Some(msg) = rejected {
                st.stop = Some(Stop::Rejected(msg.clone()));
                drop(st);
                self.changed.notify_waiters();
                return Err(self.reject(msg));
            }
        }
        let exchanges = &self.scenario.cassette;
        if k >= exchanges.replies.len() {
            let msg = format!(
                "the handler asked for reply {} but the cassette has only {}: it kept looping after the model's final answer",
                k + 1,
                exchanges.replies.len()
            );
            st.stop = Some(Stop::Error(msg.clone()));
            drop(st);
            self.changed.notify_waiters();
            return Err(self.reject(msg));
        }
        // Borrowed: only a reply with calls is kept, shared, by the turn it opens.
        let reply = &exchanges.replies[k];
        st.served = k + 1;
        if let Some(note) = fmt.pairing_note(reply) {
            st.notes.push(format!("turn {}: {note}", k + 1));
        }
        note_unfamiliar(
            fmt,
            std::slice::from_ref(&reply.message),
            || format!("the recorded reply {}", k + 1),
            &mut st.notes,
        );
        if reply.wants_tools() {
            let n = reply.calls().len();
            st.turn = Some(Turn {
                index: k,
                reply_at: self.since_start(now),
                reply_end: self.since_start(now),
                served: self.prepared.replies[k].clone(),
                previous: request,
                // Room for one invocation per call, as a correct handler makes.
                invocations: Vec::with_capacity(n),
                runs: vec![0; n],
                release: Vec::with_capacity(n),
                arrived: vec![false; n],
                first_arrival: None,
                barrier_open: false,
            });
        }
        drop(st);
        self.changed.notify_waiters();
        tracing::debug!(target: LOG,
            parent: &self.span,
            reply = k + 1,
            calls = exchanges.replies[k].calls().len(),
            "model request served"
        );
        Ok(k)
    }

    /// The transport streams reply `index` with its recorded gaps, taking `duration` to send:
    /// the handler's overhead counts from the end of the stream, not from its request.
    #[cfg(feature = "mock")]
    pub(crate) fn streaming(&self, index: usize, duration: Duration) {
        let mut st = self.lock();
        if let Some(turn) = st.turn.as_mut().filter(|t| t.index == index) {
            turn.reply_end = turn.reply_at + duration;
        }
    }

    /// Request `k` of a run (0: the first; then each turn's follow-up), parsed: the
    /// scenario's parse of it while every run sends the same JSON (members in the same
    /// order), else parsed here. What the parse depends on besides the body (the recorded
    /// request's tools, the replies before it) is the same for every run's request `k`.
    fn parse_request(
        &self,
        fmt: &dyn provider::Format,
        body: &Value,
        known: &[Tool],
        k: usize,
    ) -> Result<Arc<Request>, provider::FormatError> {
        let parse = || {
            fmt.parse_request_sharing(body, known).map(|mut r| {
                fmt.resolve_references(&mut r, &self.scenario.cassette.reply_bodies[..k]);
                r
            })
        };
        let mut cache = self
            .prepared
            .parsed
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // A request past the cassette's end is refused anyway: parsed on its own.
        let Some(seen) = cache.get_mut(k) else {
            drop(cache);
            return parse().map(Arc::new);
        };
        match &*seen {
            SeenRequest::Same(sent, parsed) if crate::util::json_identical(sent, body) => {
                // The parse it stands for, as the oracle (debug builds: every test's replay).
                debug_assert!(parse().is_ok_and(|fresh| fresh == **parsed));
                return Ok(parsed.clone());
            }
            SeenRequest::Same(..) => *seen = SeenRequest::Varies,
            SeenRequest::Varies => {}
            SeenRequest::Unseen => {
                let parsed = Arc::new(parse()?);
                *seen = SeenRequest::Same(body.clone(), parsed.clone());
                return Ok(parsed);
            }
        }
        drop(cache);
        parse().map(Arc::new)
    }

    /// [`Session::drift`], from the scenario's cache when the request offers the same tools
    /// and model as the last one judged.
    fn drift_cached(&self, request: &Request) -> Vec<String> {
        let mut cache = self
            .prepared
            .drift
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((seen, notes)) = cache.as_ref()
            && seen.model == request.model
            && same_tools(&seen.tools, &request.tools)
        {
            return notes.clone();
        }
        let notes = self.drift(request);
        let key = Request {
            tools: request.tools.clone(),
            model: request.model.clone(),
            ..Request::default()
        };
        *cache = Some((key, notes.clone()));
        notes
    }

    /// How the handler's own first request differs from the recording: information, never a
    /// violation (the handler is its own program), but a tool the recording calls that the
    /// handler does not offer usually explains a failure.
    fn drift(&self, request: &Request) -> Vec<String> {
        let recorded = &self.scenario.cassette.requests[0];
        let mut notes = Vec::new();
        if let (Some(a), Some(b)) = (&recorded.model, &request.model)
            && a != b
        {
            notes.push(format!(
                "drift: the handler asks for model {b}; the recording used {a}"
            ));
        }
        let mut called: Vec<&str> = self
            .scenario
            .turns
            .iter()
            .flatten()
            .map(|c| c.call.name.as_str())
            .filter(|n| request.tool(n).is_none())
            .collect();
        called.sort_unstable();
        called.dedup();
        if !called.is_empty() {
            notes.push(format!(
                "drift: the recording calls tool(s) the handler does not offer: {}",
                called.join(", ")
            ));
        }
        #[cfg(feature = "synth")]
        notes.extend(schema_drift(&self.scenario, request));
        notes
    }

    fn observe(
        &self,
        turn: Turn,
        followup: Option<Arc<Request>>,
        at: Instant,
        seq: u64,
        handler_ended: bool,
        deadline_expired: bool,
    ) -> TurnObservation {
        let index = turn.index;
        let policy = &self.scenario.file.policy;
        TurnObservation {
            messages: TurnMessages {
                provider: self.provider(),
                turn: index + 1,
                calls: self.prepared.facts[index].clone(),
                tags: self.prepared.tags[index].clone(),
                earlier_tags: self.prepared.earlier_tags[index].clone(),
                served: turn.served,
                previous: turn.previous,
                followup,
            },
            execution: Execution {
                invocations: turn.invocations,
                reply_at: turn.reply_at,
                reply_end: turn.reply_end,
                judged_at: self.since_start(at),
                judged_seq: seq,
                deadline_expired,
                handler_ended,
                require_concurrency: policy.require_concurrency,
                tool_deadline: Duration::from_millis(policy.tool_deadline_ms),
            },
        }
    }

    /// A fake tool call that came through the transport `via` (`in-process`, `http`, ...): file
    /// it under a call of the open turn and answer when the scenario says. A hung call never
    /// completes: the caller awaits forever (until it drops the future, which marks the call
    /// abandoned).
    pub(crate) async fn tool_call(
        self: &Arc<Self>,
        name: &str,
        input: &Value,
        via: &'static str,
    ) -> ToolAnswer {
        let (turn_index, inv, call) = match self.arrive(name, input, via) {
            Ok(x) => x,
            Err(answer) => return answer,
        };
        let mut guard = InvocationGuard {
            session: self.clone(),
            turn: turn_index,
            inv,
            done: false,
        };
        let answer = call.map(|i| &self.prepared.answers[turn_index][i]);
        if matches!(answer, Some(None)) {
            std::future::pending::<()>().await;
        }
        let at = self.release_time(turn_index, inv).await;
        // A timer rounds up to tokio's next millisecond tick: skip it when already due, and
        // on the real clock wait with a precise one (`timer`).
        if at > Instant::now() {
            let precise = self
                .precise_timer
                .load(std::sync::atomic::Ordering::Relaxed);
            crate::replay::timer::sleep_until(at, precise).await;
        }
        let answer = match answer {
            Some(Some(a)) => a.clone(),
            Some(None) => unreachable!("hung calls never get here"),
            None => ToolAnswer::Refused {
                no_turn: false,
                reason: format!("tooltape: no call of this turn asks for tool {name:?}"),
            },
        };
        let ended = match answer {
            ToolAnswer::Output(_) => End::Output,
            ToolAnswer::Failed(_) | ToolAnswer::Refused { .. } => End::Failed,
        };
        guard.finish(ended);
        answer
    }

    /// Record an arriving invocation. Errors answer at once (no open turn).
    #[allow(clippy::type_complexity)]
    fn arrive(
        &self,
        name: &str,
        input: &Value,
        via: &'static str,
    ) -> Result<(usize, usize, Option<usize>), ToolAnswer> {
        let now = Instant::now();
        let mut st = self.lock();
        st.seq += 1;
        let seq = st.seq;
        let Some(turn) = st.turn.as_mut() else {
            return Err(ToolAnswer::Refused {
                no_turn: true,
                reason: format!(
                    "tooltape: tool {name:?} was called while no model reply with tool calls is open"
                ),
            });
        };
        let behaviours = &self.scenario.turns[turn.index];
        // The old count, as the oracle of the kept one (debug builds: every test's replay).
        debug_assert!((0..behaviours.len()).all(|i| {
            turn.runs[i]
                == turn
                    .invocations
                    .iter()
                    .filter(|v| v.call == Some(i))
                    .count()
        }));
        let runs = |i: usize| turn.runs[i];
        let inputs = &self.prepared.inputs[turn.index];
        // The last call found to have exactly this input (members in the same order): its
        // input is then shared, and an identical input needs no comparison by value.
        let identical = std::cell::Cell::new(None);
        let same = |i: usize| {
            behaviours[i].call.name == name
                && (crate::util::json_identical(&inputs[i], input) && {
                    // Identical is the same by value, as the oracle (debug builds).
                    debug_assert!(crate::util::same_json(&behaviours[i].call.input, input));
                    identical.set(Some(i));
                    true
                } || crate::util::same_json(&behaviours[i].call.input, input))
        };
        // The first call not run yet with this input; its inputs are compared only with the
        // calls not run yet (comparing with every call made a turn's matching quadratic).
        let fresh = (0..behaviours.len()).find(|&i| runs(i) == 0 && same(i));
        let exact = || (0..behaviours.len()).filter(|&i| same(i));
        let (call, matched) = if let Some(i) = fresh {
            (Some(i), Match::Exact)
        } else if let Some(i) = exact().min_by_key(|&i| runs(i)) {
            (Some(i), Match::Repeat)
        } else if let Some(i) = closest_call(behaviours, name, input, runs) {
            (Some(i), Match::WrongArguments)
        } else {
            (None, Match::UnknownTool)
        };
        let idx = turn.invocations.len();
        if let Some(i) = call {
            turn.runs[i] += 1;
        }
        // The call's input when the handler sent exactly that (what it sent, either way).
        let sent = match call {
            Some(i) if identical.get() == Some(i) => inputs[i].clone(),
            Some(i) if crate::util::json_identical(&inputs[i], input) => inputs[i].clone(),
            _ => Arc::new(input.clone()),
        };
        // The copy it stands for, as the oracle (debug builds: every test's replay).
        debug_assert!(crate::util::json_identical(&sent, input) && *sent == *input);
        turn.invocations.push(Invocation {
            call,
            tool: name.to_string(),
            input: sent,
            via,
            matched,
            start: now.saturating_duration_since(self.t0),
            end: None,
            ended: End::Open,
            start_seq: seq,
            end_seq: None,
            held: Duration::ZERO,
        });
        turn.release.push(None);
        let turn_index = turn.index;
        let held = matches!(matched, Match::Exact)
            && call.is_some_and(|i| !behaviours[i].side_effects)
            && !turn.barrier_open;
        tracing::debug!(target: LOG,
            parent: &self.span,
            turn = turn_index + 1,
            tool = name,
            via,
            call_id = call.map(|i| behaviours[i].call.id.as_str()),
            matched = ?matched,
            held,
            "tool call filed"
        );
        match call {
            Some(i) if held => {
                turn.arrived[i] = true;
                turn.first_arrival.get_or_insert(now);
                let all = (0..behaviours.len())
                    .filter(|&j| !behaviours[j].side_effects)
                    .all(|j| turn.arrived[j]);
                if all {
                    self.open_barrier(turn, now);
                }
            }
            Some(i) => turn.release[idx] = Some(now + self.latencies[turn_index][i]),
            None => turn.release[idx] = Some(now),
        }
        drop(st);
        self.changed.notify_waiters();
        Ok((turn_index, idx, call))
    }

    /// Release every held invocation in the run's completion order.
    fn open_barrier(&self, turn: &mut Turn, now: Instant) {
        turn.barrier_open = true;
        let t = turn.index;
        let behaviours = &self.scenario.turns[t];
        let mut held: Vec<(usize, usize)> = turn
            .invocations
            .iter()
            .enumerate()
            .filter(|(k, inv)| turn.release[*k].is_none() && inv.call.is_some())
            .filter(|(_, inv)| !matches!(behaviours[inv.call.unwrap_or(0)].outcome, Outcome::Hang))
            .map(|(k, inv)| (k, inv.call.unwrap_or(0)))
            .collect();
        let natural =
            |k: usize, i: usize| self.t0 + turn.invocations[k].start + self.latencies[t][i];
        match &self.plan.turns[t] {
            TurnOrder::Latency => held.sort_by_key(|&(k, i)| (natural(k, i), i)),
            TurnOrder::Ranks(ranks) => held.sort_by_key(|&(_, i)| ranks[i]),
        }
        tracing::debug!(target: LOG,
            parent: &self.span,
            turn = t + 1,
            order = ?held.iter().map(|&(_, i)| behaviours[i].call.id.as_str()).collect::<Vec<_>>(),
            "barrier opened: held calls released in this order"
        );
        let mut prev: Option<Instant> = None;
        for (k, i) in held {
            let mut at = natural(k, i).max(now);
            if let Some(p) = prev {
                at = at.max(p + Duration::from_millis(1));
            }
            turn.release[k] = Some(at);
            prev = Some(at);
        }
    }

    /// Wait until the invocation's completion time is known (the barrier opened).
    async fn release_time(&self, turn_index: usize, inv: usize) -> Instant {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let grace_end = {
                let mut st = self.lock();
                let Some(turn) = st.turn.as_mut().filter(|t| t.index == turn_index) else {
                    // The turn was judged while this call was held: answer now.
                    return Instant::now();
                };
                if let Some(at) = turn.release[inv] {
                    return at;
                }
                let first = turn.first_arrival.unwrap_or_else(Instant::now);
                let grace_end = first + self.grace;
                if Instant::now() >= grace_end {
                    tracing::debug!(target: LOG,
                        parent: &self.span,
                        turn = turn_index + 1,
                        "barrier grace over before every call arrived"
                    );
                    self.open_barrier(turn, Instant::now());
                    self.changed.notify_waiters();
                    continue;
                }
                grace_end
            };
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(grace_end) => {}
            }
        }
    }

    fn end_invocation(&self, turn_index: usize, inv: usize, ended: End) {
        let now = Instant::now();
        let mut st = self.lock();
        st.seq += 1;
        let seq = st.seq;
        if let Some(turn) = st.turn.as_mut().filter(|t| t.index == turn_index)
            && let Some(v) = turn.invocations.get_mut(inv)
        {
            // Held: from when its scripted latency ran out to when the harness let it go (or
            // the handler gave up on it), whichever came first.
            if let (Some(i), Some(release)) = (v.call, turn.release[inv]) {
                let natural = self.t0 + v.start + self.latencies[turn_index][i];
                v.held = release.min(now).saturating_duration_since(natural);
            }
            v.end = Some(now.saturating_duration_since(self.t0));
            v.end_seq = Some(seq);
            v.ended = ended;
        }
        drop(st);
        self.changed.notify_waiters();
    }

    /// Resolves when a hung call of the open turn outlives the scenario's deadline; the run
    /// must then be stopped.
    pub(crate) async fn watchdog(&self) {
        // Without a hung call it never resolves: waking it on every change of the run (and
        // with it the task it shares with the handler) was work for nothing.
        if !self.prepared.hangs {
            return std::future::pending().await;
        }
        let deadline = Duration::from_millis(self.scenario.file.policy.tool_deadline_ms);
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let next = {
                let st = self.lock();
                if st.stop.is_some() {
                    None
                } else {
                    st.turn.as_ref().and_then(|turn| {
                        let hung = &self.scenario.turns[turn.index];
                        turn.invocations
                            .iter()
                            .filter(|v| {
                                v.call
                                    .is_some_and(|i| matches!(hung[i].outcome, Outcome::Hang))
                            })
                            .map(|v| (turn.index, self.t0 + v.start + deadline))
                            .min_by_key(|x| x.1)
                    })
                }
            };
            match next {
                Some((index, at)) => {
                    tokio::select! {
                        _ = &mut notified => {}
                        _ = tokio::time::sleep_until(at) => {
                            let mut st = self.lock();
                            if st.stop.is_none() && st.turn.as_ref().is_some_and(|t| t.index == index) {
                                st.stop = Some(Stop::DeadlineExpired);
                                return;
                            }
                        }
                    }
                }
                None => notified.await,
            }
        }
    }

    #[cfg(feature = "mock")]
    /// The handler sent something that is not a request at all (not JSON): end the run with
    /// that error, as the run cannot go on meaningfully.
    pub(crate) fn garbage(&self, message: String) {
        let mut st = self.lock();
        if st.stop.is_none() {
            st.stop = Some(Stop::Error(message));
        }
        drop(st);
        self.changed.notify_waiters();
    }

    #[cfg(feature = "mock")]
    /// Whether the run has nothing left to serve: stopped, or the final reply served with no
    /// turn open.
    pub(crate) fn is_done(&self) -> bool {
        let st = self.lock();
        st.stop.is_some()
            || (st.turn.is_none() && st.served == self.scenario.cassette.replies.len())
    }

    #[cfg(feature = "mock")]
    /// Resolves once [`Session::is_done`].
    pub(crate) async fn done(&self) {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_done() {
                return;
            }
            notified.await;
        }
    }

    /// Judge what is still open when the handler is gone and hand over the results.
    pub(crate) fn finish(&self, handler_ended: bool) -> Judged {
        let now = Instant::now();
        let mut st = self.lock();
        if let Some(turn) = st.turn.take() {
            let deadline_expired = st.stop == Some(Stop::DeadlineExpired);
            let seq = st.seq;
            let obs = self.observe(turn, None, now, seq, handler_ended, deadline_expired);
            let found = rules::check_turn(&obs);
            st.timings
                .push(TurnTiming::of(&obs, &self.latencies[obs.messages.turn - 1]));
            st.violations.extend(found);
        }
        let mut violations = std::mem::take(&mut st.violations);
        violations.sort_by_key(|a| (a.turn, a.rule));
        Judged {
            violations,
            timings: std::mem::take(&mut st.timings),
            stop: st.stop.clone(),
            served: st.served,
            notes: std::mem::take(&mut st.notes),
        }
    }
}

/// The call of tool `name` an invocation with other input than any call's most likely meant:
/// among the calls not run yet (else all of them), the one whose input differs least from
/// `input`, ties in call order. Which one is a guess, so the invocation is filed as
/// [`Match::WrongArguments`] and no rule judges result pairing or error flags through it.
fn closest_call(
    behaviours: &[CallBehaviour],
    name: &str,
    input: &Value,
    runs: impl Fn(usize) -> usize,
) -> Option<usize> {
    let named: Vec<usize> = (0..behaviours.len())
        .filter(|&i| behaviours[i].call.name == name)
        .collect();
    let fresh: Vec<usize> = named.iter().copied().filter(|&i| runs(i) == 0).collect();
    let pool = if fresh.is_empty() { named } else { fresh };
    pool.into_iter()
        .min_by_key(|&i| (input_distance(&behaviours[i].call.input, input), i))
}

/// `a == b` for offered tools, with their schemas compared by [`crate::util::json_eq`] (no
/// hashing of every member, as `==` does).
fn same_tools(a: &[Tool], b: &[Tool]) -> bool {
    let same_opt = |x: &Option<Value>, y: &Option<Value>| match (x, y) {
        (Some(x), Some(y)) => crate::util::json_eq(x, y),
        (x, y) => x.is_none() && y.is_none(),
    };
    // Schemas parsed from the same known tool are one value (`parse_request_sharing`).
    let same_schema = |x: &Option<Arc<Value>>, y: &Option<Arc<Value>>| match (x, y) {
        (Some(x), Some(y)) => Arc::ptr_eq(x, y) || crate::util::json_eq(x, y),
        (x, y) => x.is_none() && y.is_none(),
    };
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            // Every field named, so that a new one cannot be forgotten here.
            let Tool {
                name,
                input_schema,
                strict,
                annotations,
            } = x;
            *name == y.name
                && *strict == y.strict
                && same_schema(input_schema, &y.input_schema)
                && same_opt(annotations, &y.annotations)
        })
}

/// How many top-level members two inputs differ in (added, removed or changed); inputs that
/// are not both objects differ by one when unequal.
fn input_distance(a: &Value, b: &Value) -> usize {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let changed = x
                .iter()
                .filter(|(k, v)| !y.get(*k).is_some_and(|w| crate::util::same_json(v, w)))
                .count();
            let added = y.keys().filter(|k| !x.contains_key(*k)).count();
            changed + added
        }
        _ => usize::from(!crate::util::same_json(a, b)),
    }
}

/// How many entries the request's history has. The history is found by the provider's
/// `history_mut`, run on a skeleton of the body (top-level arrays as arrays of as many nulls,
/// strings kept, the rest null) rather than on a clone of the whole conversation.
fn body_len(fmt: &dyn provider::Format, body: &Value) -> usize {
    let mut skeleton = match body {
        Value::Object(root) => Value::Object(
            root.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::Array(a) => Value::Array(vec![Value::Null; a.len()]),
                        Value::String(s) => Value::String(s.clone()),
                        _ => Value::Null,
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    };
    fmt.history_mut(&mut skeleton).map(|h| h.len()).unwrap_or(0)
}

/// Marks an invocation abandoned if the handler drops it before it completes.
struct InvocationGuard {
    session: Arc<Session>,
    turn: usize,
    inv: usize,
    done: bool,
}

impl InvocationGuard {
    fn finish(&mut self, ended: End) {
        self.done = true;
        self.session.end_invocation(self.turn, self.inv, ended);
    }
}

impl Drop for InvocationGuard {
    fn drop(&mut self) {
        if !self.done {
            self.session
                .end_invocation(self.turn, self.inv, End::Abandoned);
        }
    }
}

/// Recorded calls whose input does not fit the handler's own schema for that tool (a
/// same-named tool with another schema), each naming the property that does not fit.
#[cfg(feature = "synth")]
fn schema_drift(scenario: &Scenario, request: &Request) -> Vec<String> {
    let mut notes = Vec::new();
    for call in scenario.turns.iter().flatten().map(|c| &c.call) {
        let Some(schema) = request
            .tool(&call.name)
            .and_then(|t| t.input_schema.as_ref())
        else {
            continue;
        };
        if let Some(m) = crate::fit::first_misfit(schema, &call.input) {
            if m.uncheckable {
                notes.push(format!(
                    "drift: the recording's call {} to {} could not be checked against the handler's input schema for it: {}",
                    call.id, call.name, m.message
                ));
                continue;
            }
            let what = m
                .property()
                .map_or_else(String::new, |p| format!(" (property `{p}`)"));
            notes.push(format!(
                "drift: the recording's call {} to {} does not fit the handler's input schema for it{what}: {}",
                call.id, call.name, m.message
            ));
        }
    }
    notes
}

/// Notes, each once per run, for the parts of `messages` the API's documentation does not name
/// ([`provider::Format::unfamiliar`]): they are kept as sent, and no rule judges them.
fn note_unfamiliar(
    fmt: &dyn provider::Format,
    messages: &[Message],
    whence: impl Fn() -> String,
    notes: &mut Vec<String>,
) {
    let kept = messages
        .iter()
        .flat_map(|m| &m.parts)
        .filter_map(|p| match p {
            Part::Other(v) => fmt.unfamiliar(v),
            _ => None,
        });
    for what in kept {
        let note = format!(
            "{} holds {what}, which this tooltape does not know: kept as sent and passed \
             over by the rules",
            whence()
        );
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
}
