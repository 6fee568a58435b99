// A correct agent on the Vercel AI SDK: its own tool loop (`ToolLoopAgent`), which runs a
// step's tool calls concurrently, files each result under its call's id, turns a thrown error
// into an error result (Anthropic `is_error`), and loops while the model asks for tools.
//
//   tooltape test scenarios/ --filter anthropic        -- node examples/typescript/dist/vercel_agent.js anthropic [--stream]
//   tooltape test scenarios/ --filter openai-chat      -- node examples/typescript/dist/vercel_agent.js openai-chat [--stream]
//   tooltape test scenarios/ --filter openai-responses -- node examples/typescript/dist/vercel_agent.js openai-responses [--stream] [--no-store]
//
// The providers read ANTHROPIC_BASE_URL and OPENAI_BASE_URL themselves. `@ai-sdk/anthropic`
// expects the version in ANTHROPIC_BASE_URL (it posts to `${ANTHROPIC_BASE_URL}/messages`);
// tooltape's mock serves `/messages` as well as `/v1/messages`, so the agent runs unchanged.
//
// `--no-store` sends `store: false` on the Responses API, so that the SDK resends earlier
// assistant messages in full instead of as `item_reference` items.

import { anthropic } from "@ai-sdk/anthropic";
import { openai } from "@ai-sdk/openai";
import { jsonSchema, stepCountIs, tool, ToolLoopAgent, type LanguageModel, type ToolSet } from "ai";
import { PROMPT, runTool, SCHEMA, TOOLS, WRITES } from "./toolbox.js";

const api = process.argv[2];
const stream = process.argv.includes("--stream");
const store = !process.argv.includes("--no-store");

const models: Record<string, () => LanguageModel> = {
  anthropic: () => anthropic("claude-sonnet-4-6"),
  "openai-chat": () => openai.chat("gpt-4.1"),
  "openai-responses": () => openai.responses("gpt-4.1"),
};
if (!(api in models)) {
  console.error(`usage: vercel_agent.js ${Object.keys(models).join("|")} [--stream] [--no-store]`);
  process.exit(2);
}

// Writes run one at a time in call order: each waits for the one before it.
let lastWrite: Promise<unknown> = Promise.resolve();
function oneAtATime<T>(run: () => Promise<T>): Promise<T> {
  const next = lastWrite.then(run);
  lastWrite = next.catch(() => undefined);
  return next;
}

const tools: ToolSet = Object.fromEntries(
  Object.entries(TOOLS).map(([name, description]) => [
    name,
    tool({
      description,
      inputSchema: jsonSchema<Record<string, unknown>>(SCHEMA),
      execute: async (input, { abortSignal }) => {
        const run = () => runTool(name, input, abortSignal);
        const { text, isError } = await (WRITES.has(name) ? oneAtATime(run) : run());
        // Thrown, it reaches the model as this call's error result.
        if (isError) throw new Error(text);
        return text;
      },
    }),
  ]),
);

const agent = new ToolLoopAgent({
  model: models[api](),
  tools,
  maxOutputTokens: 1024,
  // Loop while the model asks for tools (up to 20 steps, more than any bundled scenario needs).
  stopWhen: stepCountIs(20),
  providerOptions: {
    anthropic: { disableParallelToolUse: true },
    openai: { parallelToolCalls: false, ...(!store && { store: false }) },
  },
});

if (stream) {
  const result = await agent.stream({ prompt: PROMPT });
  for await (const part of result.fullStream) {
    if (part.type === "text-delta") process.stdout.write(part.text);
    if (part.type === "error") throw part.error;
  }
  process.stdout.write("\n");
} else {
  console.log((await agent.generate({ prompt: PROMPT })).text);
}
