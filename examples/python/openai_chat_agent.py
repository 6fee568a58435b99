"""A correct, concurrent agent loop on the official `openai` SDK, Chat Completions API.

    tooltape test scenarios/ --filter openai-chat -- python examples/python/openai_chat_agent.py [--stream]
"""

import asyncio
import json
import sys

from openai import AsyncOpenAI

from toolbox import PROMPT, TOOL_TIMEOUT_S, WRITES, chat_tools
from tooltape_shim import ToolFailed, call_tool


async def run_one(call):
    name = call.function.name
    try:
        args = json.loads(call.function.arguments or "{}")
        output = await asyncio.wait_for(call_tool(name, args), TOOL_TIMEOUT_S)
    except ToolFailed as e:
        output = f"Error: {e}"
    except asyncio.TimeoutError:
        output = f"Error: {name} timed out after {TOOL_TIMEOUT_S:.0f} s"
    except json.JSONDecodeError as e:
        output = f"Error: the arguments are not valid JSON: {e}"
    return {"role": "tool", "tool_call_id": call.id, "content": output}


async def run_calls(calls):
    reads = [c for c in calls if c.function.name not in WRITES]
    writes = [c for c in calls if c.function.name in WRITES]

    async def writes_in_order():
        return [await run_one(c) for c in writes]

    read_results, write_results = await asyncio.gather(
        asyncio.gather(*(run_one(c) for c in reads)), writes_in_order()
    )
    by_id = {r["tool_call_id"]: r for r in [*read_results, *write_results]}
    return [by_id[c.id] for c in calls]


async def ask(client, messages, stream):
    kwargs = dict(model="gpt-4.1", messages=messages, tools=chat_tools(), parallel_tool_calls=False)
    if stream:
        async with client.chat.completions.stream(**kwargs) as s:
            return (await s.get_final_completion()).choices[0].message
    return (await client.chat.completions.create(**kwargs)).choices[0].message


async def main():
    client = AsyncOpenAI()
    stream = "--stream" in sys.argv
    messages = [{"role": "user", "content": PROMPT}]
    while True:
        message = await ask(client, messages, stream)
        calls = message.tool_calls or []
        if not calls:
            print(message.content or "")
            return
        results = await run_calls(calls)
        messages.append(
            {
                "role": "assistant",
                "content": message.content,
                "tool_calls": [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.function.name, "arguments": c.function.arguments},
                    }
                    for c in calls
                ],
            }
        )
        messages.extend(results)


if __name__ == "__main__":
    asyncio.run(main())
