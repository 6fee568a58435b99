"""BROKEN on purpose: a tool that fails raises out of the gather and its result is never
sent; the agent carries on with the others (caught as missing-result)."""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import openai_chat_agent as agent  # noqa: E402

correct_run_calls = agent.run_calls


async def run_calls(calls):
    return [r for r in await correct_run_calls(calls) if not r["content"].startswith("Error:")]


agent.run_calls = run_calls
asyncio.run(agent.main())
