"""BROKEN on purpose: collects outputs in completion order, then pairs them with the calls by
position (caught as mismatched-result whenever the calls finish out of order)."""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import anthropic_agent as agent  # noqa: E402


async def run_calls(calls):
    outputs = []
    for done in asyncio.as_completed([agent.run_one(c) for c in calls]):
        outputs.append(await done)
    return [dict(r, tool_use_id=c.id) for c, r in zip(calls, outputs)]


agent.run_calls = run_calls
asyncio.run(agent.main())
