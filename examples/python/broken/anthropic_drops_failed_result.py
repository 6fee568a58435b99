"""BROKEN on purpose: drops the results of failed tools (caught as missing-result; the real
API answers such a follow-up with a 400)."""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import anthropic_agent as agent  # noqa: E402

correct_run_calls = agent.run_calls


async def run_calls(calls):
    return [r for r in await correct_run_calls(calls) if not r.get("is_error")]


agent.run_calls = run_calls
asyncio.run(agent.main())
