//! Verdicts that say what really happened (issue #10): in-process handlers, on the virtual
//! clock, that do what real clients do and must not be blamed for it.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use tooltape::handler::{BoxError, Env, from_fn};

fn scenario(name: &str) -> Arc<tooltape::scenario::Scenario> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    Arc::new(tooltape::scenario::load(&path).expect("bundled scenario"))
}

/// A Responses loop that resends the assistant's message items as `item_reference`s, as the
/// Vercel AI SDK does with `store` on (the API resolves them to the stored items).
async fn responses_with_item_references(env: Env) -> Result<(), BoxError> {
    let mut request = env.initial_request();
    loop {
        let reply = env.model(request.clone()).await?;
        let output = reply["output"].as_array().cloned().unwrap_or_default();
        let calls: Vec<Value> = output
            .iter()
            .filter(|i| i["type"] == "function_call")
            .cloned()
            .collect();
        if calls.is_empty() {
            return Ok(());
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (k, c) in calls.iter().enumerate() {
            let (env, c) = (env.clone(), c.clone());
            tasks.spawn(async move {
                let name = c["name"].as_str().unwrap_or_default().to_string();
                let input: Value = serde_json::from_str(c["arguments"].as_str().unwrap_or("{}"))
                    .unwrap_or_default();
                (k, env.tool(&name, &input).await.unwrap_or_else(|e| e.0))
            });
        }
        let mut outputs = vec![String::new(); calls.len()];
        while let Some(done) = tasks.join_next().await {
            let (k, out) = done?;
            outputs[k] = out;
        }
        let input = request["input"].as_array_mut().ok_or("input is an array")?;
        for item in &output {
            if item["type"] == "message" {
                input.push(json!({"type": "item_reference", "id": item["id"]}));
            } else {
                input.push(item.clone());
            }
        }
        for (c, out) in calls.iter().zip(outputs) {
            input.push(
                json!({"type": "function_call_output", "call_id": c["call_id"], "output": out}),
            );
        }
    }
}

/// Item 5: a reference to a message served is that message; the history is unchanged.
#[test]
fn an_item_reference_to_a_served_message_is_not_a_history_change() {
    let handler = from_fn("item-references", responses_with_item_references);
    let report = tooltape::handler::run_scenario(
        scenario("openai-responses-text_with_calls.json"),
        &handler,
        42,
    );
    assert!(
        report.passed(false),
        "{}",
        tooltape::report::terminal::render_failures(&report)
    );
}
