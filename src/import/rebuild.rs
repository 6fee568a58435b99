//! Reply bodies rebuilt from a conversation's history: the assistant turn a request carries is
//! what the model replied to the request before it, so it is wrapped back into the API's reply
//! envelope. And, where a log ends before the model's last answer, a short final answer made up
//! in its place (the cassette's `meta.notes` says so).
//!
//! Ids of rebuilt replies are made from the exchange number (`msg_import0002`), so an import is
//! reproducible; usage figures are zero, since the log does not have them.

use serde_json::{Map, Value, json};

use crate::provider::Provider;
use crate::provider::{self, ResultBlock};

/// The text of a made-up final answer.
pub const SYNTHESIZED_ANSWER: &str =
    "[tooltape import: the recording ends before the model's final answer; this one was made up]";

/// The output text of a tool result the recording does not hold.
pub const MISSING_RESULT: &str = "[tooltape import: this result is not in the recording]";

/// The reply body whose assistant turn is `entries` (the history entries of one assistant turn,
/// as the next request carries them), for exchange number `n` (1-based).
pub fn reply_from_entries(
    provider: Provider,
    entries: &[Value],
    model: Option<&str>,
    n: usize,
) -> Result<Value, String> {
    let model = Value::String(model.unwrap_or("unknown").to_string());
    match provider {
        Provider::Anthropic => {
            let [message] = entries else {
                return Err(format!(
                    "expected one assistant message, found {}",
                    entries.len()
                ));
            };
            let content = match message.get("content") {
                Some(Value::String(s)) => vec![json!({"type": "text", "text": s})],
                Some(Value::Array(blocks)) => blocks.clone(),
                _ => return Err("the assistant message has no content".into()),
            };
            Ok(anthropic_envelope(n, model, content))
        }
        Provider::OpenAiChat => {
            let [Value::Object(message)] = entries else {
                return Err(format!(
                    "expected one assistant message, found {}",
                    entries.len()
                ));
            };
            let mut message = message.clone();
            message.entry("content").or_insert(Value::Null);
            Ok(chat_envelope(n, model, message))
        }
        Provider::OpenAiResponses => {
            let output: Vec<Value> = entries
                .iter()
                .enumerate()
                .map(|(i, item)| output_item(item, n, i))
                .collect();
            Ok(responses_envelope(n, model, output))
        }
    }
}

fn anthropic_envelope(n: usize, model: Value, content: Vec<Value>) -> Value {
    let wants_tools = content
        .iter()
        .any(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"));
    json!({
        "id": format!("msg_import{n:04}"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": if wants_tools { "tool_use" } else { "end_turn" },
        "stop_sequence": null,
        "usage": {"input_tokens": 0, "output_tokens": 0}
    })
}

fn chat_envelope(n: usize, model: Value, message: Map<String, Value>) -> Value {
    let wants_tools = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .is_some_and(|c| !c.is_empty());
    json!({
        "id": format!("chatcmpl-import{n:04}"),
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": if wants_tools { "tool_calls" } else { "stop" }
        }],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    })
}

/// A Responses input item of the model's (an assistant message in any of its input forms, a
/// function call, reasoning) as the output item the API returned: ids and statuses the input
/// form may leave out are filled in, assistant text becomes `output_text` parts.
fn output_item(item: &Value, n: usize, i: usize) -> Value {
    let Value::Object(obj) = item else {
        return item.clone();
    };
    let mut obj = obj.clone();
    let ty = obj.get("type").and_then(Value::as_str).map(str::to_string);
    match ty.as_deref() {
        None | Some("message") => {
            obj.insert("type".into(), json!("message"));
            obj.entry("id")
                .or_insert_with(|| json!(format!("msg_import{n:04}x{i}")));
            obj.entry("status").or_insert_with(|| json!("completed"));
            let content = match obj.get("content") {
                Some(Value::String(s)) => vec![output_text(s)],
                Some(Value::Array(parts)) => parts
                    .iter()
                    .map(
                        |p| match (p.get("type").and_then(Value::as_str), p.get("text")) {
                            (Some("input_text" | "text"), Some(Value::String(t))) => output_text(t),
                            _ => p.clone(),
                        },
                    )
                    .collect(),
                _ => Vec::new(),
            };
            obj.insert("content".into(), Value::Array(content));
        }
        Some("function_call") => {
            obj.entry("id")
                .or_insert_with(|| json!(format!("fc_import{n:04}x{i}")));
            obj.entry("status").or_insert_with(|| json!("completed"));
        }
        _ => {}
    }
    Value::Object(obj)
}

fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": []})
}

fn responses_envelope(n: usize, model: Value, output: Vec<Value>) -> Value {
    let mut body = Map::new();
    body.insert("id".into(), json!(format!("resp_import{n:04}")));
    body.insert("object".into(), json!("response"));
    body.insert("created_at".into(), json!(0));
    body.insert("status".into(), json!("completed"));
    body.insert("error".into(), Value::Null);
    body.insert("incomplete_details".into(), Value::Null);
    body.insert("model".into(), model);
    body.insert("output".into(), Value::Array(output));
    body.insert("parallel_tool_calls".into(), json!(true));
    body.insert(
        "usage".into(),
        json!({"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}),
    );
    Value::Object(body)
}

/// A made-up final answer (text, no tool calls) for exchange number `n`.
pub fn final_answer(provider: Provider, model: Option<&str>, n: usize) -> Value {
    let model = Value::String(model.unwrap_or("unknown").to_string());
    match provider {
        Provider::Anthropic => anthropic_envelope(
            n,
            model,
            vec![json!({"type": "text", "text": SYNTHESIZED_ANSWER})],
        ),
        Provider::OpenAiChat => {
            let mut message = Map::new();
            message.insert("role".into(), json!("assistant"));
            message.insert("content".into(), json!(SYNTHESIZED_ANSWER));
            chat_envelope(n, model, message)
        }
        Provider::OpenAiResponses => responses_envelope(
            n,
            model,
            vec![json!({
                "type": "message",
                "id": format!("msg_import{n:04}x0"),
                "status": "completed",
                "role": "assistant",
                "content": [output_text(SYNTHESIZED_ANSWER)]
            })],
        ),
    }
}

/// The request that follows `request` and its `reply` when the recording stops there: the
/// reply's assistant turn appended, then a placeholder result for each of its calls.
pub fn follow_up(
    provider: Provider,
    request: &Value,
    reply: &Value,
) -> Result<Value, provider::FormatError> {
    let fmt = provider::format(provider);
    let parsed = fmt.parse_reply(reply)?;
    let results: Vec<ResultBlock> = parsed
        .calls()
        .into_iter()
        .map(|c| ResultBlock {
            call_id: c.id.clone(),
            content: MISSING_RESULT.to_string(),
            is_error: false,
        })
        .collect();
    let mut next = request.clone();
    let entries = fmt.history_entries(reply)?;
    let history = fmt.history_mut(&mut next)?;
    history.extend(entries);
    history.extend(fmt.results_entries(&results, None));
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::StopReason;

    fn parses(provider: Provider, body: &Value) -> crate::transcript::Reply {
        provider::format(provider)
            .parse_reply(body)
            .unwrap_or_else(|e| panic!("{provider}: {e}\n{body:#}"))
    }

    #[test]
    fn anthropic_turns_with_string_or_block_content() {
        let calls = json!({"role": "assistant", "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}
        ]});
        let body = reply_from_entries(Provider::Anthropic, &[calls], Some("claude"), 1).unwrap();
        let reply = parses(Provider::Anthropic, &body);
        assert_eq!(reply.stop, StopReason::ToolUse);
        assert_eq!(reply.calls()[0].id, "toolu_1");
        assert_eq!(body["id"], "msg_import0001");
        let text = json!({"role": "assistant", "content": "Done."});
        let body = reply_from_entries(Provider::Anthropic, &[text], None, 2).unwrap();
        assert_eq!(parses(Provider::Anthropic, &body).stop, StopReason::EndTurn);
        assert!(reply_from_entries(Provider::Anthropic, &[], None, 3).is_err());
    }

    #[test]
    fn chat_turns_keep_the_message_and_set_the_finish_reason() {
        let calls = json!({"role": "assistant", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ]});
        let body = reply_from_entries(Provider::OpenAiChat, &[calls], Some("gpt"), 1).unwrap();
        assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(body["choices"][0]["message"]["content"], Value::Null);
        assert_eq!(parses(Provider::OpenAiChat, &body).calls()[0].id, "call_1");
    }

    #[test]
    fn responses_items_become_output_items() {
        let items = [
            json!({"type": "reasoning", "id": "rs_1", "summary": []}),
            json!({"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"}),
            json!({"role": "assistant", "content": "and a note"}),
        ];
        let body = reply_from_entries(Provider::OpenAiResponses, &items, None, 3).unwrap();
        let out = body["output"].as_array().unwrap();
        assert_eq!(out[0], items[0]);
        assert_eq!(out[1]["id"], "fc_import0003x1");
        assert_eq!(out[1]["status"], "completed");
        assert_eq!(out[2]["type"], "message");
        assert_eq!(out[2]["content"][0]["type"], "output_text");
        let reply = parses(Provider::OpenAiResponses, &body);
        assert_eq!(reply.stop, StopReason::ToolUse);
    }

    #[test]
    fn final_answers_and_follow_ups_parse_for_every_api() {
        for p in Provider::ALL {
            let body = final_answer(p, Some("m"), 4);
            let reply = parses(p, &body);
            assert_eq!(reply.stop, StopReason::EndTurn, "{p}");
            assert!(!reply.wants_tools());
        }
        let request = json!({"model": "claude", "messages": [{"role": "user", "content": "hi"}]});
        let reply = json!({"id": "msg_1", "type": "message", "role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_9", "name": "f", "input": {}}
        ], "stop_reason": "tool_use"});
        let next = follow_up(Provider::Anthropic, &request, &reply).unwrap();
        let messages = next["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[2]["content"][0]["tool_use_id"], "toolu_9");
        assert_eq!(messages[2]["content"][0]["content"], MISSING_RESULT);
    }
}
