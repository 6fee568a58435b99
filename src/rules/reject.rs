//! The error text the real API returns for a follow-up it rejects (protocols.md §1.5, §2.5,
//! §3.5), so an agent under test fails the way it would in production.

use crate::provider::Provider;
use crate::rules::{RuleId, Violation};

/// The provider's 400 message for the first API-rejected violation in `violations`.
/// `last_message` is the index of the follow-up's last wire message.
pub fn rejection_message(
    provider: Provider,
    violations: &[Violation],
    last_message: usize,
) -> Option<String> {
    let v = violations.iter().find(|v| v.rejected_by_api(provider))?;
    // The calls the API would name: those without a result right after the assistant turn.
    let uncovered = {
        violations
            .iter()
            .filter(|x| {
                matches!(x.rule, MissingResult | SplitResults) && x.rejected_by_api(provider)
            })
            .filter_map(|x| x.call_id.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let id = v.call_id.clone().unwrap_or_default();
    let n = last_message;
    use Provider::*;
    use RuleId::*;
    Some(match (provider, v.rule) {
        (Anthropic, MissingResult | SplitResults | ResultsNotFirst) => format!(
            "messages.{}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
            n.saturating_sub(1),
            uncovered.clone()
        ),
        (Anthropic, UnknownResult | MissingAssistantTurn) => format!(
            "messages.{n}.content.0: unexpected `tool_use_id` found in `tool_result` blocks: {}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.",
            if id.is_empty() { "(see the follow-up)".into() } else { id }
        ),
        (Anthropic, DuplicateResult) => format!(
            "messages.{n}.content.0: each tool_use must have a single result. Found multiple `tool_result` blocks with id: {id}"
        ),
        (OpenAiChat, MissingResult | SplitResults | ResultsNotFirst) => format!(
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}",
            uncovered.clone()
        ),
        (OpenAiChat, UnknownResult) => format!(
            "Invalid parameter: 'tool_call_id' of '{id}' not found in 'tool_calls' of previous message."
        ),
        (OpenAiChat, MissingAssistantTurn) => "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.".to_string(),
        (OpenAiChat, DuplicateResult) => {
            format!("Duplicate value for 'tool_call_id' of {id} in message[{n}]")
        }
        (OpenAiResponses, MissingResult | SplitResults | ResultsNotFirst) => {
            format!("No tool output found for function call {}.", uncovered.clone())
        }
        (OpenAiResponses, UnknownResult | MissingAssistantTurn) => format!(
            "No tool call found for function call output with call_id {}.",
            if id.is_empty() { "(see the follow-up)".into() } else { id }
        ),
        (OpenAiResponses, DuplicateResult) => format!(
            "Duplicate function_call_output for call_id '{id}'. Each function_call must have exactly one matching function_call_output"
        ),
        (_, rule) => format!("tooltape: the follow-up breaks {rule}"),
    })
}
