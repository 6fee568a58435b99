"""BROKEN on purpose: pairs outputs with calls by completion order (caught as
mismatched-result)."""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import openai_responses_agent as agent  # noqa: E402


async def run_calls(calls):
    outputs = []
    for done in asyncio.as_completed([agent.run_one(c) for c in calls]):
        outputs.append(await done)
    return [dict(r, call_id=c.call_id) for c, r in zip(calls, outputs)]


agent.run_calls = run_calls
asyncio.run(agent.main())
