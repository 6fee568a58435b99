// A correct, concurrent agent loop on the official `openai` SDK, Responses API (stateless: the
// whole history is sent each time).
//
//   tooltape test scenarios/ --filter openai-responses -- node examples/typescript/dist/openai_responses_agent.js [--stream]

import OpenAI from "openai";
import { PROMPT, responsesTools, runCalls, runTool } from "./toolbox.js";

type Call = OpenAI.Responses.ResponseFunctionToolCall;
type Result = OpenAI.Responses.ResponseInputItem.FunctionCallOutput;

async function runOne(call: Call): Promise<Result> {
  let input: unknown;
  try {
    input = JSON.parse(call.arguments || "{}");
  } catch (e) {
    return { type: "function_call_output", call_id: call.call_id, output: `Error: the arguments are not valid JSON: ${e}` };
  }
  const { text } = await runTool(call.name, input);
  return { type: "function_call_output", call_id: call.call_id, output: text };
}

async function ask(client: OpenAI, input: OpenAI.Responses.ResponseInputItem[], stream: boolean) {
  const params = {
    model: "gpt-4.1",
    input,
    tools: responsesTools(),
    parallel_tool_calls: false,
  } satisfies OpenAI.Responses.ResponseCreateParamsNonStreaming;
  return stream ? client.responses.stream(params).finalResponse() : client.responses.create(params);
}

function withoutNulls<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_key, v) => (v === null ? undefined : v)));
}

const client = new OpenAI();
const stream = process.argv.includes("--stream");
const items: OpenAI.Responses.ResponseInputItem[] = [{ role: "user", content: PROMPT }];
for (;;) {
  const response = await ask(client, items, stream);
  const calls: Call[] = response.output.flatMap((o) => (o.type === "function_call" ? [o] : []));
  if (calls.length === 0) {
    console.log(response.output_text);
    break;
  }
  const results = await runCalls(calls, (c) => c.name, runOne);
  // The output items go back as they came, less the stream helper's `parsed_arguments: null`
  // and `parsed: null`, which the API does not take as input.
  items.push(...withoutNulls(response.output as OpenAI.Responses.ResponseInputItem[]), ...results);
}
