// A correct, concurrent agent loop on the official `@anthropic-ai/sdk`.
//
//   tooltape test scenarios/ --filter anthropic -- node examples/typescript/dist/anthropic_agent.js [--stream]
//
// Independent calls run at once (Promise.all), writes one at a time in call order, every result
// is tagged with its own call's id, failures and timeouts come back with is_error, all results
// go in one user message right after the assistant turn, and the loop runs until the model
// stops asking for tools.

import { fileURLToPath } from "node:url";
import Anthropic from "@anthropic-ai/sdk";
import { anthropicTools, PROMPT, runCalls, runTool } from "./toolbox.js";

export type Call = Anthropic.ToolUseBlock;
export type Result = Anthropic.ToolResultBlockParam;

export async function runOne(call: Call): Promise<Result> {
  const { text, isError } = await runTool(call.name, call.input);
  return { type: "tool_result", tool_use_id: call.id, content: text, ...(isError && { is_error: true }) };
}

export function runAll(calls: Call[]): Promise<Result[]> {
  return runCalls(calls, (c) => c.name, runOne);
}

async function ask(client: Anthropic, messages: Anthropic.MessageParam[], stream: boolean) {
  const params = {
    model: "claude-sonnet-4-6",
    max_tokens: 1024,
    tools: anthropicTools(),
    tool_choice: { type: "auto", disable_parallel_tool_use: true },
    messages,
  } satisfies Anthropic.MessageCreateParamsNonStreaming;
  return stream ? client.messages.stream(params).finalMessage() : client.messages.create(params);
}

/** The agent loop; `run` answers one turn's calls (swapped by the broken variants). */
export async function main(run: (calls: Call[]) => Promise<Result[]> = runAll) {
  const client = new Anthropic();
  const stream = process.argv.includes("--stream");
  const messages: Anthropic.MessageParam[] = [{ role: "user", content: PROMPT }];
  for (;;) {
    const reply = await ask(client, messages, stream);
    const calls = reply.content.filter((b): b is Call => b.type === "tool_use");
    if (calls.length === 0) {
      console.log(reply.content.find((b) => b.type === "text")?.text ?? "");
      return;
    }
    const results = await run(calls);
    messages.push({ role: "assistant", content: reply.content }, { role: "user", content: results });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
