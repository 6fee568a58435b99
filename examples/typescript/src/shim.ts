// The fake-tool shim: how an agent under tooltape runs its tools.
//
// Every tool of the agent becomes a POST to $TOOLTAPE_TOOLS_URL/NAME with the tool's input
// object as the JSON body. A 2xx reply's body is the tool's output; any other status means the
// tool failed, its body the error text, and the shim throws ToolFailed. tooltape decides when
// each call completes (latency, completion order), whether it fails, and whether it hangs.
// Aborting the call (`signal`) closes its connection, which tooltape records as the call being
// given up.

/** The tool failed; `message` is its error text. */
export class ToolFailed extends Error {}

export async function callTool(name: string, input: unknown, signal?: AbortSignal): Promise<string> {
  const base = process.env.TOOLTAPE_TOOLS_URL;
  if (!base) throw new Error("TOOLTAPE_TOOLS_URL is not set: run this agent under `tooltape test -- CMD`");
  const r = await fetch(`${base}/${name}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(input ?? {}),
    signal,
  });
  const text = await r.text();
  if (!r.ok) throw new ToolFailed(text);
  return text;
}
