"""pydantic-ai's in-process loop on the turn tooltape's 3-call bench replays.

Its scripted `FunctionModel` asks for three get_weather calls at once, then answers; the tool
returns at once. Prints one JSON line: runs, wall seconds, CPU seconds.
"""

import json
import sys
import time

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

CITIES = ["Paris", "Tokyo", "Lima"]


def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    if len(messages) == 1:
        return ModelResponse(
            parts=[
                ToolCallPart("get_weather", {"city": c}, tool_call_id=f"call_{i}")
                for i, c in enumerate(CITIES)
            ]
        )
    return ModelResponse(parts=[TextPart("Sunny everywhere.")])


agent = Agent(FunctionModel(model))


@agent.tool_plain
def get_weather(city: str) -> str:
    return f"sunny in {city}"


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    agent.run_sync("Weather in Paris, Tokyo and Lima?")  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(runs):
        agent.run_sync("Weather in Paris, Tokyo and Lima?")
    print(
        json.dumps(
            {
                "runs": runs,
                "wall_s": time.perf_counter() - wall,
                "cpu_s": time.process_time() - cpu,
            }
        )
    )


if __name__ == "__main__":
    main()
