"""An agent on the OpenAI Agents SDK (openai-agents, Responses API), with its own tools and
schemas, never recorded: tooltape tests it by synthesizing the model's side from the tools it
offers.

    tooltape test --synthesize -- python examples/python/frameworks/openai_agents_agent.py

The tools run through the tooltape shim (each call is a POST to $TOOLTAPE_TOOLS_URL/NAME); the
framework decides how the model's parallel calls are run and answered.
"""

import asyncio
import os
import sys
from typing import Literal

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from agents import Agent, Runner, function_tool, set_tracing_disabled  # noqa: E402

from tooltape_shim import call_tool  # noqa: E402

# Traces would go to api.openai.com, outside the mock.
set_tracing_disabled(True)


@function_tool
async def get_forecast(city: str, days: int) -> str:
    """Weather forecast for a city, for the next `days` days."""
    return await call_tool("get_forecast", {"city": city, "days": days})


@function_tool
async def convert_currency(
    amount: float, from_currency: Literal["USD", "EUR", "JPY"], to_currency: Literal["USD", "EUR", "JPY"]
) -> str:
    """Convert an amount between currencies."""
    return await call_tool(
        "convert_currency",
        {"amount": amount, "from_currency": from_currency, "to_currency": to_currency},
    )


@function_tool
async def find_hotels(city: str, max_price: int, tags: list[str]) -> str:
    """Hotels in a city under a nightly price."""
    return await call_tool("find_hotels", {"city": city, "max_price": max_price, "tags": tags})


agent = Agent(
    name="travel",
    instructions="Answer travel questions with the tools.",
    model="gpt-4.1",
    tools=[get_forecast, convert_currency, find_hotels],
)


async def main():
    result = await Runner.run(agent, "Plan a weekend in Lisbon.")
    print(result.final_output)


if __name__ == "__main__":
    asyncio.run(main())
