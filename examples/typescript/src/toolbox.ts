// The example agents' toolbox: the tools they offer the model, which ones have side effects,
// and how one call is run. A real agent knows its own tools; these cover the bundled scenarios.
// Every tool is run through the tooltape shim.

import { callTool, ToolFailed } from "./shim.js";

export const PROMPT = "Please help me with today's tasks, using the tools you have.";
export const TOOL_TIMEOUT_MS = 5000;

export const TOOLS: Record<string, string> = {
  get_weather: "Current weather for a city.",
  search_docs: "Search the documentation.",
  read_file: "Read a file.",
  write_file: "Write a file.",
  list_dir: "List a directory.",
  send_email: "Send an email.",
  get_stock_price: "Latest price of a stock.",
  lookup_user: "Look up a user account.",
  run_sql: "Run a read-only SQL query.",
  fetch_url: "Fetch a URL.",
  get_calendar_events: "Calendar events for a day.",
  get_exchange_rate: "Exchange rate between two currencies.",
};

/** Tools that change the world: run one at a time, and never offered with parallel calls on. */
export const WRITES = new Set(["write_file", "send_email"]);

export const SCHEMA = { type: "object", additionalProperties: true } as const;

/** What one call came to: its output, or the error text of a failure or a timeout. */
export interface Outcome {
  text: string;
  isError: boolean;
}

/** Run one call through the shim, giving up after TOOL_TIMEOUT_MS. */
export async function runTool(name: string, input: unknown, signal?: AbortSignal): Promise<Outcome> {
  const timeout = AbortSignal.timeout(TOOL_TIMEOUT_MS);
  try {
    const text = await callTool(name, input, signal ? AbortSignal.any([signal, timeout]) : timeout);
    return { text, isError: false };
  } catch (e) {
    if (e instanceof ToolFailed) return { text: `Error: ${e.message}`, isError: true };
    if (timeout.aborted) {
      return { text: `Error: ${name} timed out after ${TOOL_TIMEOUT_MS / 1000} s`, isError: true };
    }
    throw e;
  }
}

/**
 * Run one turn's calls: the independent ones all at once (Promise.all), the writes one at a
 * time in call order, alongside. Results come back in call order; `run` tags each with its
 * own call's id.
 */
export async function runCalls<C, R>(
  calls: C[],
  name: (call: C) => string,
  run: (call: C) => Promise<R>,
): Promise<R[]> {
  const writes = calls.filter((c) => WRITES.has(name(c)));
  const reads = calls.filter((c) => !WRITES.has(name(c)));
  const writesInOrder = async () => {
    const done: [C, R][] = [];
    for (const c of writes) done.push([c, await run(c)]);
    return done;
  };
  const [r, w] = await Promise.all([
    Promise.all(reads.map(async (c): Promise<[C, R]> => [c, await run(c)])),
    writesInOrder(),
  ]);
  const byCall = new Map([...r, ...w]);
  return calls.map((c) => byCall.get(c)!);
}

/** The tool list in each API's shape, all with a permissive schema. */
export function anthropicTools() {
  return Object.entries(TOOLS).map(([name, description]) => ({ name, description, input_schema: SCHEMA }));
}

export function chatTools() {
  return Object.entries(TOOLS).map(([name, description]) => ({
    type: "function" as const,
    function: { name, description, parameters: SCHEMA },
  }));
}

export function responsesTools() {
  return Object.entries(TOOLS).map(([name, description]) => ({
    type: "function" as const,
    name,
    description,
    parameters: SCHEMA,
    strict: false,
  }));
}
