"""BROKEN on purpose: the MCP agent with every tool call taken under one lock, as hosts that
share one MCP client do (caught as sequential-execution). The calls are still started with
asyncio.gather, so the code looks concurrent; the lock makes them run one at a time."""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import mcp_agent as agent  # noqa: E402

_lock = asyncio.Lock()
_correct_run_one = agent.run_one


async def run_one(mcp, call):
    async with _lock:
        return await _correct_run_one(mcp, call)


agent.run_one = run_one
asyncio.run(agent.main())
