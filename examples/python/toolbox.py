"""The example agents' toolbox: the tools they offer the model, and which ones have side
effects. A real agent knows its own tools; these cover the bundled scenarios. Every tool is run
through the tooltape shim."""

PROMPT = "Please help me with today's tasks, using the tools you have."
TOOL_TIMEOUT_S = 5.0

TOOLS = {
    "get_weather": "Current weather for a city.",
    "search_docs": "Search the documentation.",
    "read_file": "Read a file.",
    "write_file": "Write a file.",
    "list_dir": "List a directory.",
    "send_email": "Send an email.",
    "get_stock_price": "Latest price of a stock.",
    "lookup_user": "Look up a user account.",
    "run_sql": "Run a read-only SQL query.",
    "fetch_url": "Fetch a URL.",
    "get_calendar_events": "Calendar events for a day.",
    "get_exchange_rate": "Exchange rate between two currencies.",
}

# Tools that change the world: run one at a time, and never offered with parallel calls on.
WRITES = {"write_file", "send_email"}

SCHEMA = {"type": "object", "additionalProperties": True}


def anthropic_tools():
    return [{"name": n, "description": d, "input_schema": SCHEMA} for n, d in TOOLS.items()]


def chat_tools():
    return [
        {"type": "function", "function": {"name": n, "description": d, "parameters": SCHEMA}}
        for n, d in TOOLS.items()
    ]


def responses_tools():
    return [
        {"type": "function", "name": n, "description": d, "parameters": SCHEMA}
        for n, d in TOOLS.items()
    ]


def gemini_tools():
    # google-genai takes the JSON Schema as `parameters_json_schema` (and sends it so).
    return [
        {
            "function_declarations": [
                {"name": n, "description": d, "parameters_json_schema": SCHEMA}
                for n, d in TOOLS.items()
            ]
        }
    ]
