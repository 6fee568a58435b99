"""BROKEN on purpose: sends each result in its own user message (caught as split-results;
Anthropic merges consecutive user messages, but says this teaches Claude to stop making
parallel calls)."""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import anthropic_agent as agent  # noqa: E402

agent.results_messages = lambda results: [{"role": "user", "content": [r]} for r in results]
asyncio.run(agent.main())
