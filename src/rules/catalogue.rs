//! The rule catalogue: one source of truth for every rule's id, level and explanation.
//! `tooltape rules` and docs/rules.md are generated from it.

use serde::{Deserialize, Serialize};

/// How strongly a rule binds, like MUST and SHOULD in a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The real API would reject the follow-up, or the answer is wrong: always fails.
    Must,
    /// Fails unless `--lenient` is given; always reported.
    Should,
}

impl Level {
    /// `must` or `should`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
        }
    }
}

macro_rules! rules {
    ($( $variant:ident = $id:literal, $level:ident, $summary:literal; )*) => {
        /// A rule's stable id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
        pub enum RuleId {
            $(
                #[doc = $summary]
                #[serde(rename = $id)]
                $variant,
            )*
        }

        impl RuleId {
            /// Every rule, in catalogue order.
            pub const ALL: &'static [RuleId] = &[$(RuleId::$variant),*];

            /// The stable id, like `missing-result`.
            pub fn as_str(self) -> &'static str {
                match self { $(RuleId::$variant => $id,)* }
            }

            /// The rule's usual level (a violation may carry a weaker one, see `split-results`).
            pub fn level(self) -> Level {
                match self { $(RuleId::$variant => Level::$level,)* }
            }

            /// One line: what the handler did wrong.
            pub fn summary(self) -> &'static str {
                match self { $(RuleId::$variant => $summary,)* }
            }
        }
    };
}

rules! {
    MissingResult = "missing-result", Must, "sent no result for a call (e.g. dropped a failed tool)";
    UnknownResult = "unknown-result", Must, "sent a result whose id no open call has";
    DuplicateResult = "duplicate-result", Must, "sent two results for one call";
    MismatchedResult = "mismatched-result", Must, "put a call's output under another call's id (paired by position or completion order)";
    SplitResults = "split-results", Must, "spread the results over several messages, or put other messages between them";
    MissingAssistantTurn = "missing-assistant-turn", Must, "did not put the assistant turn with the calls right before the results";
    ResultsNotFirst = "results-not-first", Must, "(Anthropic) put other content before the tool_result blocks";
    HistoryChanged = "history-changed", Must, "altered or dropped earlier messages of its own conversation";
    ErrorNotFlagged = "error-not-flagged", Must, "returned a failed tool's error without the provider's error flag (Anthropic is_error)";
    SequentialExecution = "sequential-execution", Should, "ran independent calls one after another";
    UnsafeParallelWrites = "unsafe-parallel-writes", Must, "overlapped calls to tools that the scenario marks side-effecting or order-dependent";
    ParallelWritesEnabled = "parallel-writes-enabled", Should, "offered such tools without disabling parallel calls in the request";
    TimeoutNotEnforced = "timeout-not-enforced", Must, "let a hung tool hold the turn past the scenario's deadline";
    WrongArguments = "wrong-arguments", Must, "ran a tool with other input than the call's";
    CallNotRun = "call-not-run", Must, "ran a call's tool zero times";
    CallRunTwice = "call-run-twice", Must, "ran a call's tool more than once";
    StoppedEarly = "stopped-early", Must, "stopped the loop while the model still had tool calls to answer";
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RuleId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        RuleId::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown rule {s:?} (see `tooltape rules`)"))
    }
}

/// The long explanation of a rule: why it matters, what each provider does, how to fix it.
pub struct Explanation {
    /// Why it matters.
    pub why: &'static str,
    /// What each provider does about it (protocols.md §8).
    pub providers: &'static str,
    /// How to fix a handler that breaks it.
    pub fix: &'static str,
}

impl RuleId {
    /// The rule's long explanation.
    pub fn explain(self) -> Explanation {
        use RuleId::*;
        let (why, providers, fix) = match self {
            MissingResult => (
                "Every tool call must be answered, including calls that failed, timed out or were skipped. A dropped result either gets the follow-up rejected or leaves the model waiting for an answer it never sees.",
                "Anthropic: 400 \"`tool_use` ids were found without `tool_result` blocks immediately after\". OpenAI Chat: 400 \"An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'\". OpenAI Responses: 400 \"No tool output found for function call\".",
                "Build one result per call id before sending the follow-up; turn exceptions and timeouts into error results instead of skipping the call.",
            ),
            UnknownResult => (
                "A result must answer a call of the assistant turn right before it. A result with an id the model never issued is a bookkeeping bug (an id from another turn, a made-up or mangled id).",
                "Anthropic: 400 \"unexpected `tool_use_id` found in `tool_result` blocks\". OpenAI Chat: 400 \"'tool_call_id' of '…' not found in 'tool_calls' of previous message\". OpenAI Responses: 400 \"No tool call found for function call output with call_id\".",
                "Take result ids from the calls of the latest reply and nowhere else.",
            ),
            DuplicateResult => (
                "One call, one result. Two results for one id usually mean a retry that appended instead of replacing, or a list built twice.",
                "Anthropic: 400 \"each tool_use must have a single result\". OpenAI Responses: \"Duplicate function_call_output for call_id\" on strict backends; OpenAI-compatible Chat servers: \"Duplicate value for 'tool_call_id'\".",
                "Key results by call id (a map), and send each once.",
            ),
            MismatchedResult => (
                "The API cannot see this one: every id is valid, but a call's output sits under another call's id, so the model reads the wrong answer to its question. The classic causes are pairing outputs with calls by position after collecting them in completion order, or zipping two lists built in different orders.",
                "No provider detects it; all of them match results to calls by id only (Anthropic tool_use_id, OpenAI tool_call_id / call_id).",
                "Carry the call id with the task that runs the call and tag the output with it; never rely on list positions or the order in which tasks finish.",
            ),
            SplitResults => (
                "All results of one turn belong in one follow-up message, right after the assistant turn. Anthropic merges consecutive user messages (so that form is a should-level finding: its docs say it teaches the model to stop making parallel calls); any other message in between makes the real API reject the request.",
                "Anthropic: one user message holding every tool_result; a split with other content between is rejected as missing results. OpenAI Chat: a contiguous run of tool messages right after the assistant message. OpenAI Responses: the outputs together.",
                "Gather every result first, then append them as one message (Anthropic) or one contiguous run (OpenAI).",
            ),
            MissingAssistantTurn => (
                "The results answer calls that only exist in the assistant turn; the follow-up must repeat that turn, unchanged, right before the results (or, with OpenAI Responses, name it with previous_response_id).",
                "Anthropic: 400 \"unexpected `tool_use_id` found in `tool_result` blocks … must have a corresponding `tool_use` block in the previous message\". OpenAI Chat: 400 \"messages with role 'tool' must be a response to a preceeding message with 'tool_calls'\". OpenAI Responses: 400 \"No tool call found for function call output\".",
                "Append the model's reply to the history as it came (the assistant message, or the output items) before appending the results.",
            ),
            ResultsNotFirst => (
                "Anthropic requires the tool_result blocks at the start of the user message; text may follow them, never precede them.",
                "Anthropic: 400 (reported as the \"`tool_use` ids were found without `tool_result` blocks immediately after\" error; Bedrock: \"Did not find N `tool_result` block(s) at the beginning of this message\"). OpenAI: not applicable.",
                "Put every tool_result block first in the content array, then any text.",
            ),
            HistoryChanged => (
                "Each request must repeat the conversation so far unchanged: the handler's own earlier messages and the model's replies as served. Edited or dropped turns break thinking signatures and reasoning items, and make the model reason over a past that did not happen.",
                "Anthropic: thinking blocks must be replayed unmodified. OpenAI Responses: reasoning and function_call items must be replayed together (\"was provided without its required 'reasoning' item\"). OpenAI Chat: the assistant tool_calls must be present as returned.",
                "Keep the history as an append-only list; append the reply and the results, never rebuild earlier entries.",
            ),
            ErrorNotFlagged => (
                "A failed tool must be reported as a failure, so the model knows the text is an error and not data.",
                "Anthropic: set is_error: true on the tool_result (the API accepts it either way, so only a harness sees it). OpenAI Chat and Responses: no flag exists; the error text is the signal, so this rule never fires there.",
                "When a tool raises or times out, send its message as the result with is_error: true.",
            ),
            SequentialExecution => (
                "Calls in one assistant turn are independent: the provider's own guidance is to run them concurrently. Running them one by one makes a turn as slow as the sum of its tools instead of the slowest one.",
                "Anthropic: \"calls are unordered; run them concurrently (Promise.all, asyncio.gather)\". OpenAI: parallel calls are meant to be run together. Google's and Anthropic's SDK loops run them sequentially, so handlers built on them trip this rule.",
                "Start every independent call before awaiting any (asyncio.gather, Promise.all, join_all, a task per call).",
            ),
            UnsafeParallelWrites => (
                "Tools that change the world, or whose order matters, must not run at the same time: two writes racing leave an undefined result.",
                "No provider checks it; Anthropic's docs suggest running tools with side effects or ordering needs sequentially and answering dependents with is_error results. MCP marks such tools with destructiveHint / readOnlyHint annotations.",
                "Run read-only calls concurrently and side-effecting ones one at a time, in the order the model gave them.",
            ),
            ParallelWritesEnabled => (
                "When a handler offers side-effecting tools it should ask the model for at most one call per turn, so the model does not plan several writes at once.",
                "Anthropic: tool_choice: {\"type\": \"auto\", \"disable_parallel_tool_use\": true}. OpenAI Chat and Responses: parallel_tool_calls: false.",
                "Set the provider's parallel-disable switch in every request that offers a side-effecting tool.",
            ),
            TimeoutNotEnforced => (
                "A hung tool must not hold the whole turn forever: the handler should give up on it after a deadline and answer it with an error result, so the model can carry on.",
                "Anthropic: answer the abandoned call with an is_error tool_result. OpenAI: an error text result. MCP's spec: clients should implement timeouts for tool calls.",
                "Wrap every tool call in a timeout (asyncio.wait_for, AbortSignal.timeout, tokio::time::timeout) and turn the timeout into an error result.",
            ),
            WrongArguments => (
                "A tool must run with exactly the input the model gave for the call; a changed, truncated or swapped input runs the wrong action.",
                "Anthropic: input is an object. OpenAI: arguments is a JSON string to parse (it may be invalid JSON). Streams: concatenate the argument fragments before parsing.",
                "Pass the parsed input of the call, untouched, to the tool; parse streamed arguments only once they are complete.",
            ),
            CallNotRun => (
                "Every call the model asked for must be executed (and answered); a result invented without running the tool is a wrong answer.",
                "Not checked by any API: only the tools can see it.",
                "Run every call; if you decide not to, answer it with an error result that says so rather than with made-up output.",
            ),
            CallRunTwice => (
                "Each call must run exactly once: a second run repeats its side effects (a second email, a second payment).",
                "Not checked by any API. SDK-level retries of the *model* request (x-stainless-retry-count) are not tool re-runs.",
                "Run each call once; retry only tools you know to be idempotent, and never as a side effect of rebuilding the result list.",
            ),
            StoppedEarly => (
                "The agent loop must keep going while the model asks for tools: stopping after the first round, or when a tool fails, leaves the task half done.",
                "Anthropic: continue while stop_reason is tool_use. OpenAI Chat: while finish_reason is tool_calls. OpenAI Responses: while the output holds function_call items.",
                "Loop until the reply has no tool calls; treat tool failures as results, not as reasons to exit.",
            ),
        };
        Explanation {
            why,
            providers,
            fix,
        }
    }
}
