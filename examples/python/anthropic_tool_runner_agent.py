"""An agent on the Anthropic SDK's own beta tool runner (`client.beta.messages.tool_runner`).

The runner first asks for a server-side message thread; tooltape's mock declines the way a
server without threads does, and the SDK carries on with full history. In the SDK version
checked here the runner executes a turn's calls one after another, so tooltape reports
sequential-execution for it.

    tooltape test scenarios/anthropic-three_parallel.json -- python examples/python/anthropic_tool_runner_agent.py
"""

import asyncio

from anthropic import Anthropic, beta_tool

from toolbox import PROMPT
from tooltape_shim import call_tool


@beta_tool
def get_weather(location: str, unit: str = "celsius") -> str:
    """Current weather for a place.

    Args:
        location: the city and country
        unit: celsius or fahrenheit
    """
    return asyncio.run(call_tool("get_weather", {"location": location, "unit": unit}))


def main():
    client = Anthropic()
    runner = client.beta.messages.tool_runner(
        model="claude-sonnet-4-6",
        max_tokens=1024,
        tools=[get_weather],
        messages=[{"role": "user", "content": PROMPT}],
    )
    for _ in runner:
        pass


if __name__ == "__main__":
    main()
