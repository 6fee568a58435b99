//! Reply bodies rebuilt from a conversation's history: the assistant turn a request carries is
//! what the model replied to the request before it, so it is wrapped back into the API's reply
//! envelope. And, where a log ends before the model's last answer, a short final answer made up
//! in its place (the cassette's `meta.notes` says so).
//!
//! Ids of rebuilt replies are made from the exchange number (`msg_import0002`), so an import is
//! reproducible; usage figures are zero, since the log does not have them.

use serde_json::Value;

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
    provider
        .format()
        .reply_from_history(entries, &id_seed(n), model.unwrap_or("unknown"))
}

/// A made-up final answer (text, no tool calls) for exchange number `n`.
pub fn final_answer(provider: Provider, model: Option<&str>, n: usize) -> Value {
    provider
        .format()
        .text_reply(&id_seed(n), model.unwrap_or("unknown"), SYNTHESIZED_ANSWER)
}

/// The seed of a rebuilt reply's ids: `import0002` for exchange 2 (`msg_import0002`).
fn id_seed(n: usize) -> String {
    format!("import{n:04}")
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
            name: c.name.clone(),
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
    use serde_json::json;

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
