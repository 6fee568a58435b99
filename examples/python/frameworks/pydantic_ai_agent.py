"""An agent on pydantic-ai (OpenAI Chat Completions), with its own tools and schemas, never
recorded: tooltape tests it by synthesizing the model's side from the tools it offers.

    tooltape test --synthesize -- python examples/python/frameworks/pydantic_ai_agent.py

The tools run through the tooltape shim (each call is a POST to $TOOLTAPE_TOOLS_URL/NAME); the
framework decides how the model's parallel calls are run and answered.
"""

import os
import sys
from typing import Literal

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from pydantic_ai import Agent  # noqa: E402

from tooltape_shim import call_tool  # noqa: E402

agent = Agent("openai:gpt-4.1", instructions="Answer travel questions with the tools.")


@agent.tool_plain
async def get_forecast(city: str, days: int = 3) -> str:
    """Weather forecast for a city, for the next `days` days."""
    return await call_tool("get_forecast", {"city": city, "days": days})


@agent.tool_plain
async def convert_currency(
    amount: float, from_currency: Literal["USD", "EUR", "JPY"], to_currency: Literal["USD", "EUR", "JPY"]
) -> str:
    """Convert an amount between currencies."""
    return await call_tool(
        "convert_currency",
        {"amount": amount, "from_currency": from_currency, "to_currency": to_currency},
    )


@agent.tool_plain
async def find_hotels(city: str, max_price: int, tags: list[str]) -> str:
    """Hotels in a city under a nightly price."""
    return await call_tool("find_hotels", {"city": city, "max_price": max_price, "tags": tags})


if __name__ == "__main__":
    print(agent.run_sync("Plan a weekend in Lisbon.").output)
