// A correct, concurrent agent loop on the official `openai` SDK, Chat Completions API.
//
//   tooltape test scenarios/ --filter openai-chat -- node examples/typescript/dist/openai_chat_agent.js [--stream]

import OpenAI from "openai";
import { chatTools, PROMPT, runCalls, runTool } from "./toolbox.js";

type Call = OpenAI.ChatCompletionMessageFunctionToolCall;
type Result = OpenAI.ChatCompletionToolMessageParam;

async function runOne(call: Call): Promise<Result> {
  let input: unknown;
  try {
    input = JSON.parse(call.function.arguments || "{}");
  } catch (e) {
    return { role: "tool", tool_call_id: call.id, content: `Error: the arguments are not valid JSON: ${e}` };
  }
  const { text } = await runTool(call.function.name, input);
  return { role: "tool", tool_call_id: call.id, content: text };
}

async function ask(client: OpenAI, messages: OpenAI.ChatCompletionMessageParam[], stream: boolean) {
  const params = {
    model: "gpt-4.1",
    messages,
    tools: chatTools(),
    parallel_tool_calls: false,
  } satisfies OpenAI.ChatCompletionCreateParamsNonStreaming;
  const completion = stream
    ? await client.chat.completions.stream(params).finalChatCompletion()
    : await client.chat.completions.create(params);
  return completion.choices[0].message;
}

const client = new OpenAI();
const stream = process.argv.includes("--stream");
const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: PROMPT }];
for (;;) {
  const message = await ask(client, messages, stream);
  const calls = (message.tool_calls ?? []).filter((c): c is Call => c.type === "function");
  if (calls.length === 0) {
    console.log(message.content ?? "");
    break;
  }
  const results = await runCalls(calls, (c) => c.function.name, runOne);
  messages.push(
    {
      role: "assistant",
      content: message.content,
      tool_calls: calls.map((c) => ({
        id: c.id,
        type: "function",
        function: { name: c.function.name, arguments: c.function.arguments },
      })),
    },
    ...results,
  );
}
