//! The in-process API as a user sees it: a hand-written agent passes, and the same agent with
//! a classic bug is caught with the right rule.

#[path = "../../examples/anthropic_agent.rs"]
mod example;

use std::path::Path;
use std::sync::Arc;

use tooltape::handler::{BoxError, Env, from_fn};
use tooltape::rules::RuleId;

fn scenario(name: &str) -> Arc<tooltape::scenario::Scenario> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    Arc::new(tooltape::scenario::load(&path).expect("bundled scenario"))
}

#[test]
fn the_example_agent_passes_every_bundled_anthropic_scenario() {
    let handler = from_fn("example", example::agent);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let files = tooltape::runner::discover(&[dir]).unwrap();
    let anthropic: Vec<_> = files
        .iter()
        .filter(|f| {
            f.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("anthropic-")
        })
        .collect();
    assert!(anthropic.len() >= 5);
    for f in anthropic {
        let s = Arc::new(tooltape::scenario::load(f).unwrap());
        let report = tooltape::handler::run_scenario(s, &handler, 42);
        let broken = report.rules_broken();
        if report.name == "anthropic-mixed_read_write" {
            // The example runs every call at once, write tools included, and never disables
            // parallel calls: exactly what this scenario is there to catch.
            assert_eq!(
                broken,
                [RuleId::UnsafeParallelWrites, RuleId::ParallelWritesEnabled].into(),
                "{}",
                tooltape::report::terminal::render_failures(&report)
            );
        } else {
            assert!(
                report.passed(false),
                "{}: {}",
                report.name,
                tooltape::report::terminal::render_failures(&report)
            );
        }
    }
}

/// The classic bug: results collected in completion order, then zipped with the calls.
async fn pairs_by_completion_order(env: Env) -> Result<(), BoxError> {
    let mut request = env.initial_request();
    loop {
        let reply = env.model(request.clone()).await?;
        let calls: Vec<serde_json::Value> = reply["content"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "tool_use")
            .cloned()
            .collect();
        if calls.is_empty() {
            return Ok(());
        }
        let mut tasks = tokio::task::JoinSet::new();
        for c in calls.clone() {
            let env = env.clone();
            tasks.spawn(async move {
                let name = c["name"].as_str().unwrap().to_string();
                env.tool(&name, &c["input"]).await.unwrap_or_else(|e| e.0)
            });
        }
        let mut outputs = Vec::new();
        while let Some(out) = tasks.join_next().await {
            outputs.push(out?);
        }
        let blocks: Vec<serde_json::Value> = calls
            .iter()
            .zip(outputs)
            .map(|(c, out)| serde_json::json!({"type": "tool_result", "tool_use_id": c["id"], "content": out}))
            .collect();
        let messages = request["messages"].as_array_mut().unwrap();
        messages.push(serde_json::json!({"role": "assistant", "content": reply["content"]}));
        messages.push(serde_json::json!({"role": "user", "content": blocks}));
    }
}

#[test]
fn pairing_by_completion_order_is_caught_as_mismatched_result() {
    let handler = from_fn("zip-by-completion", pairs_by_completion_order);
    let report =
        tooltape::handler::run_scenario(scenario("anthropic-three_parallel.json"), &handler, 42);
    assert!(!report.passed(false));
    assert!(report.rules_broken().contains(&RuleId::MismatchedResult));
    // In call order the zip happens to be right: only the other orders catch it.
    // Permutation 1 is call order: there the zip happens to be right.
    let call_order = report
        .runs
        .iter()
        .find(|r| r.order.starts_with("permutation 1/"))
        .expect("the scenario tries every permutation");
    assert!(
        call_order
            .violations
            .iter()
            .all(|v| v.rule != RuleId::MismatchedResult)
    );
}

#[test]
fn a_virtual_run_with_seconds_of_latency_takes_no_real_time_and_exact_figures() {
    let handler = from_fn("example", example::agent);
    let started = std::time::Instant::now();
    let report =
        tooltape::handler::run_scenario(scenario("anthropic-hung_tool.json"), &handler, 42);
    // The hung call costs 5 s of virtual time per run; real time stays far below that.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let turn = &report.runs[0].turns[0];
    assert_eq!(turn.wall, std::time::Duration::from_secs(5), "{turn:?}");
    assert!(
        report.passed(false),
        "{}",
        tooltape::report::terminal::render_failures(&report)
    );
}

/// Sends the recorded first request (with its first message's content replaced by a
/// `tool_result` block without its id when `break_it`) through `Env::model` or
/// `Env::model_borrowed`, and ends with the reply's JSON as its error, so that the report shows
/// what came back.
async fn first_reply(env: Env, borrowed: bool, break_it: bool) -> Result<(), BoxError> {
    let mut request = env.initial_request();
    if break_it {
        request["messages"][0]["content"] =
            serde_json::json!([{"type": "tool_result", "content": "x"}]);
    }
    let reply = if borrowed {
        env.model_borrowed(&request).await?.clone()
    } else {
        env.model(request).await?
    };
    Err(format!("got {reply}").into())
}

/// `Env::model_borrowed` judges a request exactly as `Env::model` does and lends the same
/// reply: same reports for a valid request and for a malformed one, whose error still names
/// the place in the request.
#[test]
fn model_borrowed_judges_as_model_does() {
    let s = scenario("anthropic-three_parallel.json");
    for break_it in [false, true] {
        let report = |borrowed: bool| {
            let h = from_fn("first-reply", move |env| {
                first_reply(env, borrowed, break_it)
            });
            tooltape::handler::run_scenario(s.clone(), &h, 42)
        };
        let (owned, lent) = (report(false), report(true));
        let runs = |r: &tooltape::replay::ScenarioReport| serde_json::to_value(&r.runs).unwrap();
        assert_eq!(runs(&owned), runs(&lent), "break_it: {break_it}");
        let text = runs(&lent).to_string();
        if break_it {
            assert!(
                text.contains("at `messages[0].content[0].tool_use_id`: expected a string"),
                "{text}"
            );
        } else {
            assert!(
                text.contains("the handler failed: got {") && text.contains("toolu_"),
                "{text}"
            );
        }
    }
}
