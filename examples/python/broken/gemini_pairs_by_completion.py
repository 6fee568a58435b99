"""BROKEN on purpose: sends the results in the order the calls finish, without ids, as many
Gemini 2.x clients do. Without ids the API pairs results with calls by name and position, so
two calls of one tool that finish out of order get each other's answers (caught as
mismatched-result)."""

import asyncio
import sys
from pathlib import Path

from google.genai import types

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import gemini_agent as agent  # noqa: E402


async def run_calls(calls):
    parts = []
    for done in asyncio.as_completed([agent.run_one(c) for c in calls]):
        part = await done
        fr = part.function_response
        parts.append(types.Part(function_response=types.FunctionResponse(name=fr.name, response=fr.response)))
    return parts


agent.run_calls = run_calls
asyncio.run(agent.main())
