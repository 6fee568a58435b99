"""BROKEN on purpose: runs the calls one after another (caught as sequential-execution)."""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import openai_chat_agent as agent  # noqa: E402


async def run_calls(calls):
    return [await agent.run_one(c) for c in calls]


agent.run_calls = run_calls
asyncio.run(agent.main())
