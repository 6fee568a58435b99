//! Built-in handlers: `reference` (correct and concurrent) and one `breaks-<rule>` per rule,
//! each the reference with exactly one bug, for demos and self-tests.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinSet;

use super::{BoxError, Env, Handler, HandlerFuture};
use crate::provider::{self, ResultBlock};
use crate::rules::RuleId;
use crate::transcript::{Part, ToolCall};

/// The longest the built-in handlers wait for a tool before answering it with an error; a
/// scenario with a shorter `tool_deadline_ms` gets [`tool_timeout`] instead.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the built-in handlers wait for a tool under a scenario's deadline: nine tenths of
/// it (a margin for the real clock's timer granularity), at most [`TOOL_TIMEOUT`].
pub fn tool_timeout(deadline: Duration) -> Duration {
    TOOL_TIMEOUT.min(deadline.mul_f64(0.9))
}

/// A built-in handler: the reference, or the reference with the bug that breaks one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    bug: Option<RuleId>,
    name: &'static str,
    /// `breaks-wrong-arguments` alters every call's input, not only the first one's.
    every_call: bool,
    /// Sends every integer argument as a float (`56` as `56.0`), as frameworks that validate
    /// arguments through a typed model do: the same input, so no rule may fire.
    floats: bool,
}

/// Every built-in handler: `reference` first, then one per rule.
pub fn all() -> Vec<Builtin> {
    std::iter::once(Builtin {
        bug: None,
        name: "reference",
        every_call: false,
        floats: false,
    })
    .chain(RuleId::ALL.iter().map(|&r| Builtin {
        bug: Some(r),
        name: breaks_name(r),
        every_call: false,
        floats: false,
    }))
    .collect()
}

/// Built-in handlers beyond one per rule, for self-tests of the engine:
/// `breaks-wrong-arguments-every-call` adds a member to every call's input (as a handler that
/// injects a default like `"units": "metric"` does), so each tool request matches no call
/// exactly and must still be paired with the call it answers; it starts the calls last first,
/// so the requests arrive out of call order.
pub fn extras() -> Vec<Builtin> {
    vec![
        Builtin {
            bug: Some(RuleId::WrongArguments),
            name: "breaks-wrong-arguments-every-call",
            every_call: true,
            floats: false,
        },
        Builtin {
            bug: None,
            name: "reference-float-arguments",
            every_call: false,
            floats: true,
        },
    ]
}

/// `breaks-<rule>`, made once per rule for the life of the process (handler names are
/// `&'static str` so reports can borrow them).
fn breaks_name(r: RuleId) -> &'static str {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        RuleId::ALL
            .iter()
            .map(|r| &*Box::leak(r.breaking_handler().into_boxed_str()))
            .collect()
    });
    names[RuleId::ALL.iter().position(|x| *x == r).unwrap_or(0)]
}

/// The built-in handler called `name` (`reference` or `breaks-<rule>`).
pub fn by_name(name: &str) -> Option<Builtin> {
    all().into_iter().chain(extras()).find(|b| b.name == name)
}

impl Builtin {
    /// The rule this handler breaks (`None` for the reference).
    pub fn breaks(&self) -> Option<RuleId> {
        self.bug
    }
}

impl Handler for Builtin {
    fn name(&self) -> &str {
        self.name
    }
    fn run(&self, env: Env) -> HandlerFuture {
        Box::pin(agent(env, self.bug, self.every_call, self.floats))
    }
}

/// What one call's run gave.
#[derive(Debug, Clone)]
struct Ran {
    content: String,
    is_error: bool,
}

async fn agent(
    env: Env,
    bug: Option<RuleId>,
    every_call: bool,
    floats: bool,
) -> Result<(), BoxError> {
    use RuleId::*;
    let provider = env.provider();
    let fmt = provider::format(provider);
    let mut request = env.initial_request();
    let writes = env.side_effect_tools();
    // Only a scenario with side-effecting tools needs the offered tools (parsing the whole
    // first request for them was a fifth of a run's parsing).
    if !writes.is_empty()
        && fmt
            .parse_request(&request)?
            .tools
            .iter()
            .any(|t| writes.contains(&t.name))
    {
        fmt.set_parallel_disabled(&mut request, bug != Some(ParallelWritesEnabled));
    }
    loop {
        let reply = env.model_borrowed(&request).await?;
        // The parsed reply's calls, moved out of it (not copied), shared with the tasks that
        // run them.
        // (An `Arc<[_]>` would copy the collected calls once more.)
        let calls: Arc<Vec<ToolCall>> = Arc::new(
            fmt.parse_reply(reply)?
                .message
                .parts
                .into_iter()
                .filter_map(|p| match p {
                    Part::Call(c) => Some(c),
                    _ => None,
                })
                .collect(),
        );
        if calls.is_empty() {
            return Ok(());
        }
        let (ran, completion) = run_calls(&env, &calls, &writes, bug, every_call, floats).await;
        if bug == Some(StoppedEarly) {
            return Ok(());
        }
        let results = build_results(fmt, &calls, ran, &completion, bug);
        let history = fmt.history_mut(&mut request)?;
        if bug == Some(HistoryChanged) {
            edit_first_user_text(history);
        }
        if bug != Some(MissingAssistantTurn) {
            history.extend(fmt.history_entries(reply)?);
        }
        let entries = match bug {
            Some(SplitResults) if results.len() > 1 => split_entries(fmt, &results),
            Some(ResultsNotFirst) if fmt.results_first_in_message() => {
                fmt.results_entries(&results, Some("Here are the tool results."))
            }
            _ => fmt.results_entries(&results, None),
        };
        history.extend(entries);
    }
}

/// The results spread over several messages: one message per result where the API keeps such
/// messages apart (the gentlest split), else the first result, a user message, the rest.
fn split_entries(fmt: &dyn provider::Format, results: &[ResultBlock]) -> Vec<Value> {
    let per_result: Vec<Value> = results
        .iter()
        .flat_map(|r| fmt.results_entries(std::slice::from_ref(r), None))
        .collect();
    let mut probe = serde_json::json!({});
    let apart = fmt.history_mut(&mut probe).is_ok_and(|h| {
        h.extend(per_result.iter().cloned());
        true
    }) && fmt
        .parse_request(&probe)
        .is_ok_and(|r| r.messages.iter().filter(|m| m.has_results()).count() > 1);
    if apart {
        return per_result;
    }
    let mut out = fmt.results_entries(&results[..1], None);
    out.push(fmt.user_text_entry("(more results follow)"));
    out.extend(fmt.results_entries(&results[1..], None));
    out
}

/// Run the calls the way the handler does; returns each call's result (None: not run) and the
/// order in which they completed.
async fn run_calls(
    env: &Env,
    calls: &Arc<Vec<ToolCall>>,
    writes: &[String],
    bug: Option<RuleId>,
    every_call: bool,
    floats: bool,
) -> (Vec<Option<Ran>>, Vec<usize>) {
    use RuleId::*;
    let timeout = bug != Some(TimeoutNotEnforced);
    let done: Arc<Mutex<Vec<(usize, Ran)>>> = Arc::default();
    let skip = (bug == Some(CallNotRun)).then(|| calls.len() - 1);
    // breaks-call-run-twice runs again the first call that succeeds.
    let doubled = Arc::new(std::sync::atomic::AtomicBool::new(
        bug != Some(CallRunTwice),
    ));
    let wrong_args = |i: usize| bug == Some(WrongArguments) && (every_call || i == 0);

    let job = |i: usize| {
        let env = env.clone();
        let calls = calls.clone();
        let done = done.clone();
        let doubled = doubled.clone();
        // Only an altered input is a value of its own; else the call's, borrowed.
        let changed = if wrong_args(i) {
            Some(altered(&calls[i].input))
        } else if floats {
            Some(as_floats(&calls[i].input))
        } else {
            None
        };
        async move {
            let name = &calls[i].name;
            let input = changed.as_ref().unwrap_or(&calls[i].input);
            let mut ran = run_one(&env, name, input, timeout).await;
            let first_success = !ran.is_error
                && doubled
                    .compare_exchange(false, true, SeqCst, SeqCst)
                    .is_ok();
            if first_success {
                ran = run_one(&env, name, input, timeout).await;
            }
            done.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((i, ran));
        }
    };
    let runnable: Vec<usize> = (0..calls.len()).filter(|i| Some(*i) != skip).collect();
    match bug {
        Some(SequentialExecution) => {
            for &i in &runnable {
                job(i).await;
            }
        }
        _ => {
            let sequential_writes = bug != Some(UnsafeParallelWrites);
            let (reads, chain): (Vec<usize>, Vec<usize>) = runnable
                .iter()
                .partition(|&&i| !sequential_writes || !writes.contains(&calls[i].name));
            let mut set = JoinSet::new();
            // The every-call variant starts them last first (as a thread pool may), so its
            // tool requests arrive out of call order.
            let reads: Vec<usize> = if every_call {
                reads.into_iter().rev().collect()
            } else {
                reads
            };
            for i in reads {
                set.spawn(job(i));
            }
            if !chain.is_empty() {
                let jobs: Vec<_> = chain.into_iter().map(job).collect();
                set.spawn(async move {
                    for j in jobs {
                        j.await;
                    }
                });
            }
            while set.join_next().await.is_some() {}
        }
    }
    let finished = std::mem::take(&mut *done.lock().unwrap_or_else(|e| e.into_inner()));
    let mut ran: Vec<Option<Ran>> = vec![None; calls.len()];
    let mut completion = Vec::new();
    for (i, r) in finished {
        completion.push(i);
        ran[i] = Some(r);
    }
    if let Some(i) = skip {
        ran[i] = Some(Ran {
            content: "(answered from cache without running the tool)".into(),
            is_error: false,
        });
    }
    (ran, completion)
}

async fn run_one(env: &Env, name: &str, input: &Value, timeout: bool) -> Ran {
    let fut = env.tool(name, input);
    let result = if timeout {
        let limit = tool_timeout(env.tool_deadline());
        match tokio::time::timeout(limit, fut).await {
            Ok(r) => r,
            Err(_) => {
                return Ran {
                    content: format!(
                        "Error: tool {name} timed out after {} ms",
                        limit.as_millis()
                    ),
                    is_error: true,
                };
            }
        }
    } else {
        fut.await
    };
    match result {
        Ok(out) => Ran {
            content: out,
            is_error: false,
        },
        Err(e) => Ran {
            content: format!("Error: {e}"),
            is_error: true,
        },
    }
}

fn altered(input: &Value) -> Value {
    match input {
        Value::Object(o) => {
            let mut o = o.clone();
            o.insert("tooltape_unexpected".into(), Value::Bool(true));
            Value::Object(o)
        }
        other => serde_json::json!({ "tooltape_unexpected": other }),
    }
}

fn build_results(
    fmt: &dyn provider::Format,
    calls: &[ToolCall],
    ran: Vec<Option<Ran>>,
    completion: &[usize],
    bug: Option<RuleId>,
) -> Vec<ResultBlock> {
    use RuleId::*;
    let ran: Vec<Ran> = ran
        .into_iter()
        .map(|r| {
            r.unwrap_or(Ran {
                content: String::new(),
                is_error: true,
            })
        })
        .collect();
    // Outputs paired with ids by completion order (flags stay with their ids): the outputs
    // as they were, before they are moved into the results.
    let misfiled: Vec<String> = if bug == Some(MismatchedResult) {
        completion.iter().map(|&i| ran[i].content.clone()).collect()
    } else {
        Vec::new()
    };
    let mut results: Vec<ResultBlock> = calls
        .iter()
        .zip(ran)
        .map(|(c, r)| ResultBlock {
            call_id: c.id.clone(),
            name: c.name.clone(),
            content: r.content,
            is_error: r.is_error,
        })
        .collect();
    match bug {
        Some(MismatchedResult) => {
            for (slot, content) in results.iter_mut().zip(misfiled) {
                slot.content = content;
            }
        }
        Some(MissingResult) => {
            if results.iter().any(|r| r.is_error) {
                results.retain(|r| !r.is_error);
            } else {
                results.pop();
            }
        }
        Some(UnknownResult) => {
            results.push(ResultBlock {
                call_id: fmt.call_id("TooltapeUnknownCallId"),
                name: calls[0].name.clone(),
                content: "result for a call nobody made".into(),
                is_error: false,
            });
        }
        Some(DuplicateResult) => {
            let first = results[0].clone();
            results.insert(1, first);
        }
        Some(ErrorNotFlagged) => {
            for r in &mut results {
                r.is_error = false;
            }
        }
        _ => {}
    }
    results
}

/// Change the text of the first user message (the classic "rebuilt the prompt" bug).
fn edit_first_user_text(history: &mut [Value]) {
    for entry in history.iter_mut() {
        if entry.get("role").and_then(Value::as_str) != Some("user") {
            continue;
        }
        // Gemini keeps a message's content under `parts`.
        let key = if entry.get("parts").is_some() {
            "parts"
        } else {
            "content"
        };
        match entry.get_mut(key) {
            Some(Value::String(s)) => {
                s.push_str(" (edited)");
                return;
            }
            Some(Value::Array(parts)) => {
                for p in parts.iter_mut() {
                    if let Some(Value::String(t)) = p.get_mut("text") {
                        t.push_str(" (edited)");
                        return;
                    }
                }
            }
            _ => {}
        }
    }
}

/// `input` with every integer written as a float.
fn as_floats(input: &Value) -> Value {
    match input {
        Value::Number(n) if n.is_i64() || n.is_u64() => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| input.clone(), Value::Number),
        Value::Array(a) => Value::Array(a.iter().map(as_floats).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), as_floats(v))).collect())
        }
        _ => input.clone(),
    }
}
