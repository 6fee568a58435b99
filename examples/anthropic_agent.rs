//! A correct, concurrent Anthropic agent loop written against tooltape's in-process API, the
//! way you would write your own: plain provider JSON in and out, one task per tool call, each
//! result tagged with its own call's id, all results in one user message, a timeout per tool.
//!
//! Run it against the bundled Anthropic scenarios:
//!
//! ```text
//! cargo run --example anthropic_agent
//! ```
//!
//! Copy `agent` into your crate's tests and replace its body with a call into your own loop.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use tooltape::handler::{BoxError, Env};

/// The agent loop under test.
pub async fn agent(env: Env) -> Result<(), BoxError> {
    let mut request = env.initial_request();
    loop {
        let reply = env.model(request.clone()).await?;
        let calls: Vec<(String, String, Value)> = reply["content"]
            .as_array()
            .ok_or("reply has no content")?
            .iter()
            .filter(|b| b["type"] == "tool_use")
            .map(|b| {
                let id = b["id"].as_str().unwrap_or_default().to_string();
                let name = b["name"].as_str().unwrap_or_default().to_string();
                (id, name, b["input"].clone())
            })
            .collect();
        if calls.is_empty() {
            return Ok(());
        }

        // Start every call before awaiting any; keep the id with the task.
        let mut tasks = tokio::task::JoinSet::new();
        for (id, name, input) in calls.clone() {
            let env = env.clone();
            tasks.spawn(async move {
                match tokio::time::timeout(Duration::from_secs(5), env.tool(&name, &input)).await {
                    Ok(Ok(output)) => (id, output, false),
                    Ok(Err(error)) => (id, format!("Error: {error}"), true),
                    Err(_) => (id, format!("Error: {name} timed out after 5 s"), true),
                }
            });
        }
        let mut results: HashMap<String, (String, bool)> = HashMap::new();
        while let Some(done) = tasks.join_next().await {
            let (id, text, is_error) = done?;
            results.insert(id, (text, is_error));
        }

        // One user message, one tool_result per call, matched by id.
        let blocks: Vec<Value> = calls
            .iter()
            .map(|(id, _, _)| {
                let (text, is_error) = &results[id];
                json!({"type": "tool_result", "tool_use_id": id, "content": text, "is_error": is_error})
            })
            .collect();
        let messages = request["messages"]
            .as_array_mut()
            .ok_or("request has no messages")?;
        messages.push(json!({"role": "assistant", "content": reply["content"]}));
        messages.push(json!({"role": "user", "content": blocks}));
    }
}

#[allow(dead_code)]
fn main() {
    let handler = tooltape::handler::from_fn("example-anthropic-agent", agent);
    let files = tooltape::runner::discover(&["scenarios".into()]).expect("run from the crate root");
    let mut failed = 0;
    for file in files
        .iter()
        .filter(|f| f.to_string_lossy().contains("anthropic-"))
    {
        let scenario = tooltape::scenario::load(file).expect("bundled scenarios load");
        let report = tooltape::handler::run_scenario(scenario.into(), &handler, 42);
        let verdict = if report.passed(false) { "PASS" } else { "FAIL" };
        println!("{verdict} {}", report.name);
        if !report.passed(false) {
            failed += 1;
            print!("{}", tooltape::report::terminal::render_failures(&report));
        }
    }
    std::process::exit(i32::from(failed > 0));
}
