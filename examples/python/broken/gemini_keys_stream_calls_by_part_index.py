"""BROKEN on purpose: while streaming, files each call under its part index within its chunk.
When Gemini sends each call in a chunk of its own (every one is parts[0]), later calls
overwrite earlier ones and only the last is run and answered (caught as missing-result and
call-not-run). The model turn itself is kept whole."""

import asyncio
import sys
from pathlib import Path

from google.genai import types

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import gemini_agent as agent  # noqa: E402


async def main():
    client = agent.genai.Client()
    contents = [types.Content(role="user", parts=[types.Part(text=agent.PROMPT)])]
    while True:
        parts, calls_by_index = [], {}
        async for chunk in await client.aio.models.generate_content_stream(
            model=agent.MODEL, contents=contents, config=agent.config()
        ):
            chunk_parts = (chunk.candidates[0].content.parts or []) if chunk.candidates else []
            parts.extend(chunk_parts)
            for i, p in enumerate(chunk_parts):
                if p.function_call:
                    calls_by_index[i] = p.function_call
        calls = [calls_by_index[i] for i in sorted(calls_by_index)]
        if not calls:
            return
        results = await agent.run_calls(calls)
        contents.append(types.Content(role="model", parts=parts))
        contents.append(types.Content(role="user", parts=results))


asyncio.run(main())
