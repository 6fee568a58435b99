"""A correct, concurrent agent loop whose tools come from an MCP server: the official
`anthropic` SDK for the model, the official `mcp` client SDK for the tools.

    tooltape test scenarios/ --filter anthropic -- python examples/python/mcp_agent.py [--stdio] [--legacy]

The tools are whatever the server lists (`tools/list`, with their input schemas). Calls the
server marks read-only run at once (asyncio.gather over `call_tool` on one client session);
the others one at a time in call order. Every result carries its own call's id, failures
(`isError`) and timeouts come back with is_error, all results go in one user message right
after the assistant turn, and the loop runs until the model stops asking for tools.

Over Streamable HTTP by default (`TOOLTAPE_MCP_URL`); `--stdio` spawns `tooltape mcp-stdio` as
the MCP server command instead (`--tooltape PATH` names the binary; the URL is passed in the
server's env, since the SDK passes only a few variables to a server it spawns). `--legacy`
forces the 2025 initialize handshake; by default the SDK probes the 2026-07-28 revision.
"""

import argparse
import asyncio
import os

from anthropic import AsyncAnthropic
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from toolbox import PROMPT, TOOL_TIMEOUT_S


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--stdio", action="store_true", help="spawn `tooltape mcp-stdio`")
    p.add_argument("--legacy", action="store_true", help="the 2025 initialize handshake")
    p.add_argument("--tooltape", default=os.environ.get("TOOLTAPE_BIN", "tooltape"))
    return p.parse_args()


def server(args):
    url = os.environ["TOOLTAPE_MCP_URL"]
    if not args.stdio:
        return url
    return StdioServerParameters(
        command=args.tooltape, args=["mcp-stdio"], env={"TOOLTAPE_MCP_URL": url}
    )


async def run_one(mcp, call):
    try:
        result = await asyncio.wait_for(mcp.call_tool(call.name, call.input), TOOL_TIMEOUT_S)
    except asyncio.TimeoutError:
        text = f"Error: {call.name} timed out after {TOOL_TIMEOUT_S:.0f} s"
        return {"type": "tool_result", "tool_use_id": call.id, "content": text, "is_error": True}
    text = "".join(c.text for c in result.content if c.type == "text")
    block = {"type": "tool_result", "tool_use_id": call.id, "content": text}
    if result.is_error:
        block["is_error"] = True
    return block


async def run_calls(mcp, calls, writes):
    reads = [c for c in calls if c.name not in writes]
    chain = [c for c in calls if c.name in writes]

    async def writes_in_order():
        return [await run_one(mcp, c) for c in chain]

    read_results, write_results = await asyncio.gather(
        asyncio.gather(*(run_one(mcp, c) for c in reads)), writes_in_order()
    )
    by_id = {r["tool_use_id"]: r for r in [*read_results, *write_results]}
    return [by_id[c.id] for c in calls]


async def main():
    args = parse_args()
    client = AsyncAnthropic()
    async with Client(server(args), mode="legacy" if args.legacy else "auto") as mcp:
        listed = (await mcp.list_tools()).tools
        tools = [
            {"name": t.name, "description": t.description or t.name, "input_schema": t.input_schema}
            for t in listed
        ]
        # The server's annotations say which tools change the world: one at a time, and never
        # offered with parallel calls on.
        writes = {t.name for t in listed if not (t.annotations and t.annotations.read_only_hint)}
        tool_choice = {"type": "auto", "disable_parallel_tool_use": bool(writes)}
        messages = [{"role": "user", "content": PROMPT}]
        while True:
            reply = await client.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=1024,
                tools=tools,
                tool_choice=tool_choice,
                messages=messages,
            )
            calls = [b for b in reply.content if b.type == "tool_use"]
            if not calls:
                print(next((b.text for b in reply.content if b.type == "text"), ""))
                return
            results = await run_calls(mcp, calls, writes)
            messages.append({"role": "assistant", "content": reply.content})
            messages.append({"role": "user", "content": results})


if __name__ == "__main__":
    asyncio.run(main())
