"""A correct, concurrent agent loop on the official `anthropic` SDK.

    tooltape test scenarios/ --filter anthropic -- python examples/python/anthropic_agent.py [--stream]

Independent calls run at once (asyncio.gather), writes one at a time in call order, every
result is tagged with its own call's id, failures and timeouts come back with is_error, all
results go in one user message right after the assistant turn, and the loop runs until the
model stops asking for tools.
"""

import asyncio
import sys

from anthropic import AsyncAnthropic

from toolbox import PROMPT, TOOL_TIMEOUT_S, WRITES, anthropic_tools
from tooltape_shim import ToolFailed, call_tool


async def run_one(call):
    try:
        output = await asyncio.wait_for(call_tool(call.name, call.input), TOOL_TIMEOUT_S)
        return {"type": "tool_result", "tool_use_id": call.id, "content": output}
    except ToolFailed as e:
        text = f"Error: {e}"
    except asyncio.TimeoutError:
        text = f"Error: {call.name} timed out after {TOOL_TIMEOUT_S:.0f} s"
    return {"type": "tool_result", "tool_use_id": call.id, "content": text, "is_error": True}


async def run_calls(calls):
    reads = [c for c in calls if c.name not in WRITES]
    writes = [c for c in calls if c.name in WRITES]

    async def writes_in_order():
        return [await run_one(c) for c in writes]

    read_results, write_results = await asyncio.gather(
        asyncio.gather(*(run_one(c) for c in reads)), writes_in_order()
    )
    by_id = {r["tool_use_id"]: r for r in [*read_results, *write_results]}
    return [by_id[c.id] for c in calls]


def results_messages(results):
    return [{"role": "user", "content": results}]


async def ask(client, messages, stream):
    kwargs = dict(
        model="claude-sonnet-4-6",
        max_tokens=1024,
        tools=anthropic_tools(),
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
        messages=messages,
    )
    if stream:
        async with client.messages.stream(**kwargs) as s:
            return await s.get_final_message()
    return await client.messages.create(**kwargs)


async def main():
    client = AsyncAnthropic()
    stream = "--stream" in sys.argv
    messages = [{"role": "user", "content": PROMPT}]
    while True:
        reply = await ask(client, messages, stream)
        calls = [b for b in reply.content if b.type == "tool_use"]
        if not calls:
            print(next((b.text for b in reply.content if b.type == "text"), ""))
            return
        results = await run_calls(calls)
        messages.append({"role": "assistant", "content": reply.content})
        messages.extend(results_messages(results))


if __name__ == "__main__":
    asyncio.run(main())
