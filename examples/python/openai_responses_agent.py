"""A correct, concurrent agent loop on the official `openai` SDK, Responses API (stateless:
the whole history is sent each time).

    tooltape test scenarios/ --filter openai-responses -- python examples/python/openai_responses_agent.py [--stream]
"""

import asyncio
import json
import sys

from openai import AsyncOpenAI

from toolbox import PROMPT, TOOL_TIMEOUT_S, WRITES, responses_tools
from tooltape_shim import ToolFailed, call_tool


async def run_one(call):
    try:
        args = json.loads(call.arguments or "{}")
        output = await asyncio.wait_for(call_tool(call.name, args), TOOL_TIMEOUT_S)
    except ToolFailed as e:
        output = f"Error: {e}"
    except asyncio.TimeoutError:
        output = f"Error: {call.name} timed out after {TOOL_TIMEOUT_S:.0f} s"
    except json.JSONDecodeError as e:
        output = f"Error: the arguments are not valid JSON: {e}"
    return {"type": "function_call_output", "call_id": call.call_id, "output": output}


async def run_calls(calls):
    reads = [c for c in calls if c.name not in WRITES]
    writes = [c for c in calls if c.name in WRITES]

    async def writes_in_order():
        return [await run_one(c) for c in writes]

    read_results, write_results = await asyncio.gather(
        asyncio.gather(*(run_one(c) for c in reads)), writes_in_order()
    )
    by_id = {r["call_id"]: r for r in [*read_results, *write_results]}
    return [by_id[c.call_id] for c in calls]


async def ask(client, items, stream):
    kwargs = dict(model="gpt-4.1", input=items, tools=responses_tools(), parallel_tool_calls=False)
    if stream:
        async with client.responses.stream(**kwargs) as s:
            return await s.get_final_response()
    return await client.responses.create(**kwargs)


async def main():
    client = AsyncOpenAI()
    stream = "--stream" in sys.argv
    items = [{"role": "user", "content": PROMPT}]
    while True:
        response = await ask(client, items, stream)
        calls = [o for o in response.output if o.type == "function_call"]
        if not calls:
            print(response.output_text)
            return
        results = await run_calls(calls)
        items.extend(o.model_dump(exclude_none=True) for o in response.output)
        items.extend(results)


if __name__ == "__main__":
    asyncio.run(main())
