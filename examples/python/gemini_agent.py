"""A correct, concurrent agent loop on the official `google-genai` SDK (Gemini Developer API).

    tooltape test scenarios/ --filter gemini -- python examples/python/gemini_agent.py [--stream]

The SDK reads GEMINI_API_KEY and GOOGLE_GEMINI_BASE_URL, which tooltape sets. Automatic
function calling is off: this loop runs the calls itself. Independent calls run at once
(asyncio.gather), writes one at a time in call order. Every call gets exactly one
functionResponse, carrying the call's id when the model gave one (Gemini 3) and sent in call
order (Gemini 2.x calls have no id: results are then paired with calls by name and position).
Failures and timeouts go under "error". The model turn is appended as it came (thought
signatures included) and all results follow it in one content; the loop runs until the model
stops calling tools. Streamed replies are read chunk by chunk, keeping every part: a chunk may
hold several calls, or each call may come in a chunk of its own.
"""

import asyncio
import sys

from google import genai
from google.genai import types

from toolbox import PROMPT, TOOL_TIMEOUT_S, WRITES, gemini_tools
from tooltape_shim import ToolFailed, call_tool

MODEL = "gemini-2.5-flash"


async def run_one(call):
    try:
        output = await asyncio.wait_for(call_tool(call.name, dict(call.args or {})), TOOL_TIMEOUT_S)
        response = {"output": output}
    except ToolFailed as e:
        response = {"error": f"Error: {e}"}
    except asyncio.TimeoutError:
        response = {"error": f"Error: {call.name} timed out after {TOOL_TIMEOUT_S:.0f} s"}
    return types.Part(
        function_response=types.FunctionResponse(id=call.id, name=call.name, response=response)
    )


async def run_calls(calls):
    """One response part per call, in call order, whatever order the calls finish in."""
    reads = [i for i, c in enumerate(calls) if c.name not in WRITES]
    writes = [i for i, c in enumerate(calls) if c.name in WRITES]

    async def writes_in_order():
        return [await run_one(calls[i]) for i in writes]

    read_parts, write_parts = await asyncio.gather(
        asyncio.gather(*(run_one(calls[i]) for i in reads)), writes_in_order()
    )
    by_index = dict(zip(reads + writes, [*read_parts, *write_parts]))
    return [by_index[i] for i in range(len(calls))]


def config():
    return types.GenerateContentConfig(
        tools=gemini_tools(),
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )


async def ask(client, contents, stream):
    """The model's turn, as one Content to append to the history."""
    if not stream:
        response = await client.aio.models.generate_content(
            model=MODEL, contents=contents, config=config()
        )
        return response.candidates[0].content
    parts = []
    async for chunk in await client.aio.models.generate_content_stream(
        model=MODEL, contents=contents, config=config()
    ):
        if chunk.candidates and chunk.candidates[0].content:
            parts.extend(chunk.candidates[0].content.parts or [])
    return types.Content(role="model", parts=parts)


async def main():
    client = genai.Client()
    stream = "--stream" in sys.argv
    contents = [types.Content(role="user", parts=[types.Part(text=PROMPT)])]
    while True:
        turn = await ask(client, contents, stream)
        calls = [p.function_call for p in turn.parts or [] if p.function_call]
        if not calls:
            print("".join(p.text or "" for p in turn.parts or []))
            return
        results = await run_calls(calls)
        contents.append(turn)
        contents.append(types.Content(role="user", parts=results))


if __name__ == "__main__":
    asyncio.run(main())
