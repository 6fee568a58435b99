// BROKEN on purpose: runs the calls concurrently but collects the outputs in completion order,
// then pairs them with the calls by position (caught as mismatched-result whenever the calls
// finish out of order).
//
//   tooltape test scenarios/anthropic-three_parallel.json -- node examples/typescript/dist/broken/anthropic_pairs_by_completion.js

import { main, runOne, type Call, type Result } from "../anthropic_agent.js";

async function pairsByCompletion(calls: Call[]): Promise<Result[]> {
  const outputs: Result[] = [];
  await Promise.all(calls.map(async (c) => outputs.push(await runOne(c))));
  return calls.map((c, i) => ({ ...outputs[i], tool_use_id: c.id }));
}

await main(pairsByCompletion);
