#!/usr/bin/env python3
"""Generate tooltape's bundled cassettes and scenarios.

    python3 scripts/make_bundled.py           # write every file below
    python3 scripts/make_bundled.py --check   # write nothing; exit 1 if a file on disk differs

Paths are relative to the crate root (the parent of this script's folder):

    cassettes/<provider>/<name>.json    cassette format v1 (crates/engine/src/cassette.rs)
    scenarios/<provider>-<name>.json    scenario format v1 (crates/engine/src/scenario.rs)
    cassettes/README.md                 what each cassette holds (whole file)
    scenarios/README.md                 only the part between the two "bundled scenarios"
                                        markers; the rest of that file is kept as it is

The cassettes are SYNTHESIZED, not recorded. Each one is written from a hand-made "run" below
(system text, the user's question, the tool calls of every round with their outputs and observed
latencies, and the model's final answer) in the providers' exact wire formats, as set out in
shared/reference/protocols.md: Anthropic Messages (§1), OpenAI Chat Completions (§2), OpenAI
Responses in its stateless form (§3) and Gemini generateContent (§4 and gemini-mcp.md §1, calls
with ids as Gemini 3 sends them or without as Gemini 2.x does), plain JSON bodies or SSE streams
(§1.7, §2.7, §3.7, §4.6). Every later request is the previous request + the reply appended the way
the official SDKs do it + one result per call, in call order. They are meant to be replaced by recordings made with
`tooltape record` once that exists.

Deterministic: ids (toolu_01…, call_…, fc_…, msg_…, chatcmpl-…, resp_…; Gemini calls without ids
get tooltape's synthetic `name#k@fingerprint`, see gemini_call_ids()), token counts, stream
chunking and gaps come from a random.Random seeded with the cassette's name; timestamps derive
from a fixed recorded_at. Running the script twice gives identical bytes. JSON is written with a
2-space indent, keys in the order a person reads them (not sorted), and a trailing newline.

Before writing, the script checks every cassette: ids unique across the whole cassette and of
the right shape; every call id answered exactly once, in call order, in the very next request;
each request equal to the previous one with only its history extended, and extended exactly by
the reply's history entries (for streams: rebuilt from the events by an accumulator written
independently of the stream writer) plus the results; Anthropic block indices contiguous,
Responses sequence numbers strictly increasing, Chat streams ending in [DONE], Gemini chunks all
naming one response; the last reply is a final answer and every earlier one asks for tools.

`exercises` of each scenario is computed by tooltape itself (`tooltape scenario exercises`, from
the rule table's conditions), so the script holds no copy of the rules. For Gemini calls without
ids, results pair with calls by name and position, so a few built-in bugs show as more than their
own rule; expect_without_ids() computes those sets into the scenario's `expect`.

Python 3.11+, standard library only.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import tempfile
import copy
import datetime as dt
import json
import random
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "synthesized by scripts/make_bundled.py"
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"

MODELS = {
    # provider: (model named in the request, model echoed in the reply)
    "anthropic": ("claude-sonnet-4-6", "claude-sonnet-4-6"),
    "openai-chat": ("gpt-4.1", "gpt-4.1-2025-04-14"),
    "openai-responses": ("gpt-4.1", "gpt-4.1-2025-04-14"),
    # Gemini names the model in the URL; the reply's modelVersion. Runs with call ids use
    # Gemini 3 (Run.model), the others 2.5.
    "gemini": ("gemini-2.5-flash", "gemini-2.5-flash"),
}
GEMINI_3 = "gemini-3-flash-preview"

# ---------------------------------------------------------------------------------------------
# Tools: name -> (description, properties). Every property is required (OpenAI strict mode).


def _p(typ, desc, **extra):
    return {"type": typ, "description": desc, **extra}


TOOLS = {
    "get_weather": ("Get the current weather and today's forecast for a location.", {
        "location": _p("string", "City and country, e.g. \"Lisbon, Portugal\"."),
        "unit": _p("string", "Temperature unit.", enum=["celsius", "fahrenheit"]),
    }),
    "search_docs": ("Full-text search over the internal documentation and wiki. Returns the best matching pages with a snippet.", {
        "query": _p("string", "What to search for."),
        "max_results": _p("integer", "How many pages to return, 1 to 10."),
    }),
    "read_file": ("Read a UTF-8 text file and return its contents.", {
        "path": _p("string", "Path of the file, absolute or relative to the working directory."),
    }),
    "write_file": ("Create or overwrite a text file with the given contents.", {
        "path": _p("string", "Path of the file, absolute or relative to the working directory."),
        "content": _p("string", "The complete new contents of the file."),
    }),
    "list_dir": ("List the entries of a directory (directories end with a slash).", {
        "path": _p("string", "Path of the directory."),
    }),
    "send_email": ("Send an email from the user's account.", {
        "to": _p("string", "Recipient address."),
        "subject": _p("string", "Subject line."),
        "body": _p("string", "Plain-text body."),
    }),
    "get_stock_price": ("Get the latest trade price and today's change for a stock ticker.", {
        "ticker": _p("string", "Exchange ticker symbol, e.g. \"AAPL\"."),
    }),
    "lookup_user": ("Look up an account or employee profile by email address.", {
        "email": _p("string", "The person's email address."),
    }),
    "run_sql": ("Run a read-only SQL query against the analytics warehouse (PostgreSQL 16) and return the rows as a table.", {
        "query": _p("string", "A single SELECT statement."),
    }),
    "fetch_url": ("Fetch a URL with an HTTP GET and return the status line and the body (truncated to 8 kB).", {
        "url": _p("string", "Absolute http(s) URL."),
    }),
    "get_exchange_rate": ("Get the current mid-market exchange rate between two currencies.", {
        "base": _p("string", "ISO 4217 code of the currency to convert from."),
        "quote": _p("string", "ISO 4217 code of the currency to convert to."),
    }),
    "get_calendar_events": ("List the events of one day in a calendar.", {
        "date": _p("string", "The day, as YYYY-MM-DD."),
        "calendar": _p("string", "Calendar id (an email address) or \"primary\"."),
    }),
}


def tool_def(provider, name):
    desc, props = TOOLS[name]
    schema = {"type": "object", "properties": copy.deepcopy(props), "required": list(props)}
    if provider == "anthropic":
        return {"name": name, "description": desc, "input_schema": schema}
    if provider == "gemini":
        # google-genai sends the JSON Schema under its snake_case name (gemini-mcp.md §5).
        return {"name": name, "description": desc, "parameters_json_schema": schema}
    schema["additionalProperties"] = False
    if provider == "openai-chat":
        return {"type": "function", "function": {"name": name, "description": desc, "parameters": schema, "strict": True}}
    return {"type": "function", "name": name, "description": desc, "parameters": schema, "strict": True}


# ---------------------------------------------------------------------------------------------
# Runs: what happened in each (synthesized) live run.


@dataclass
class Call:
    name: str
    input: dict
    output: str = ""          # the tool's output; for `fail`, the error text the tool raised
    fail: bool = False        # the tool failed in the live run (and fails in the scenario)
    hang: bool = False        # the tool hung; the live handler gave up after `latency` ms
    latency: int | None = None  # observed run time in the live run (ms)


@dataclass
class Round:
    calls: list
    text: str | None = None   # assistant text placed before the calls


@dataclass
class Run:
    provider: str
    name: str
    description: str          # one sentence, used in the scenario and the READMEs
    recorded_at: str
    system: str
    user: str
    rounds: list
    final: str
    tools: dict               # scenario `tools` (latency, side_effects, ...)
    orders: list = field(default_factory=lambda: ["call", "reverse"])
    policy: dict | None = None
    stream: bool = False
    request_extra: dict = field(default_factory=dict)  # e.g. Anthropic tool_choice
    notes: str | None = None
    ids: bool = True          # Gemini: calls carry ids (Gemini 3) or not (2.x)
    model: str | None = None  # Gemini: the model that answered, when not MODELS' (GEMINI_3)
    chunking: str = "one_chunk"  # Gemini streams: "one_chunk" or "call_per_chunk" (recorded)
    stream_chunking: str | None = None  # the scenario's stream_chunking option


def C(name, inp, output="", **kw):
    return Call(name, inp, output, **kw)


def j(obj):
    """Compact JSON text, as tools and APIs put it on the wire."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


SHUFFLE = ["call", "reverse", {"shuffle": 2}]
ALL = ["all"]


def result_text(c: Call):
    """What the live handler sent back for a call."""
    if c.hang:
        return f"Error: {c.name} timed out after {c.latency // 1000} s"
    if c.fail:
        return f"Error: {c.output}"
    return c.output


# --- shared data -----------------------------------------------------------------------------

WATCHLIST = [  # ticker, price, change % today
    ("AAPL", 231.42, 0.84), ("MSFT", 428.17, -0.31), ("GOOGL", 176.55, 2.47),
    ("AMZN", 198.03, 1.12), ("META", 588.90, -2.86), ("NVDA", 142.61, 3.95),
    ("TSLA", 251.38, -4.12), ("AVGO", 171.24, 0.56), ("ORCL", 182.07, 1.73),
    ("CRM", 296.44, -0.92), ("ADBE", 497.81, -1.48), ("AMD", 148.29, 2.15),
    ("INTC", 22.96, -0.44), ("QCOM", 167.50, 0.27), ("TXN", 198.77, -0.68),
    ("IBM", 231.15, 0.19), ("CSCO", 58.42, 0.33), ("NFLX", 762.34, 1.06),
    ("SHOP", 79.88, -2.31), ("UBER", 71.45, 0.72),
]


def quote(ticker, price, pct, as_of, currency="USD"):
    change = round(price - price / (1 + pct / 100), 2)
    return j({"ticker": ticker, "price": price, "currency": currency, "change": change,
              "change_pct": pct, "market": "open", "as_of": as_of})


def watchlist_final():
    up = sorted([w for w in WATCHLIST if w[2] >= 2], key=lambda w: -w[2])
    down = sorted([w for w in WATCHLIST if w[2] <= -2], key=lambda w: w[2])
    lines = ["Here's your watchlist snapshot (prices as of 15:42 UTC).", "",
             "**Movers over 2%:**"]
    lines += [f"- {t} ${p:,.2f} (+{c:.2f}%)" for t, p, c in up]
    lines += [f"- {t} ${p:,.2f} ({c:.2f}%)" for t, p, c in down]
    rest = [w for w in WATCHLIST if abs(w[2]) < 2]
    lines += ["", "**Everything else** (within ±2%): " + ", ".join(
        f"{t} ${p:,.2f} ({c:+.2f}%)" for t, p, c in rest) + ".", "",
        "NVDA leads the gainers; TSLA is the weakest name on the list today."]
    return "\n".join(lines)


SERVICES = [  # name, version, uptime_s, health text (None = ok)
    ("api-gateway", "v4.12.0", 1209443), ("auth", "v2.31.4", 864211), ("billing", "v3.18.2", 311094),
    ("catalog", "v1.44.0", 1209512), ("checkout", "v5.2.1", 97311), ("email-dispatch", "v1.9.7", 2419877),
    ("feature-flags", "v0.27.3", 1814402), ("inventory", "v2.8.0", 604731), ("ledger", "v1.3.12", 1209390),
    ("notifications", "v2.14.1", 432019), ("orders", "v6.0.3", 86522), ("payments", "v4.7.9", 259211),
    ("pricing", "v2.2.0", 1036832), ("recommendations", "v3.5.1", 172810), ("search", "v8.1.2", 345601),
    ("sessions", "v1.17.0", 2592011), ("shipping", "v2.40.6", 777604), ("tax", "v1.6.3", 1555299),
    ("user-profile", "v3.0.8", 950411), ("webhooks", "v2.11.5", 40211),
]


def health(name, version, uptime):
    if name == "recommendations":
        return "HTTP 200 OK\n" + j({"status": "degraded", "version": version, "uptime_s": uptime,
                                     "checks": {"db": "ok", "model_store": "slow (p99 2.8 s)"}})
    if name == "webhooks":
        return "HTTP 503 Service Unavailable\n" + j({"status": "unhealthy", "version": version, "uptime_s": uptime,
                                                      "checks": {"db": "ok", "queue": "backlog 48213 messages"}})
    return "HTTP 200 OK\n" + j({"status": "ok", "version": version, "uptime_s": uptime, "checks": {"db": "ok"}})


RELEASE_NOTES = (
    "# billing-service 2.4.0\n\n"
    "Released 2026-10-30.\n\n"
    "## Added\n"
    "- Webhook deliveries are retried idempotently: every attempt carries the same `Idempotency-Key`, "
    "so receivers can drop duplicates safely.\n"
    "- Python 3.12 is supported and tested in CI.\n\n"
    "## Fixed\n"
    "- EUR amounts are rounded half-even to the cent before tax is applied (was: half-up after tax), "
    "matching the ledger.\n"
)

CI_YML = (
    "name: ci\non:\n  push:\n    branches: [main]\n  pull_request:\n\njobs:\n  test:\n"
    "    runs-on: ubuntu-24.04\n    strategy:\n      matrix:\n        python: [\"3.10\", \"3.11\"]\n"
    "    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-python@v5\n"
    "        with:\n          python-version: ${{ matrix.python }}\n"
    "      - run: pip install -e .[test]\n      - run: pytest -q\n"
)

EDITORCONFIG = (
    "root = true\n\n[*]\nend_of_line = lf\ninsert_final_newline = true\ncharset = utf-8\n\n"
    "[*.py]\nindent_style = space\nindent_size = 4\n\n[*.{yml,yaml}]\nindent_style = space\nindent_size = 2\n\n"
    "[Makefile]\nindent_style = tab\n"
)

EXPORT_LOG = (
    "2026-11-01T02:00:00Z INFO  export-job starting (run_id=exp-20261101, target=s3://acme-exports/daily/2026-11-01/)\n"
    "2026-11-01T02:00:01Z INFO  extract customers: 1,204,551 rows in 38.2 s\n"
    "2026-11-01T02:00:40Z INFO  extract invoices: 3,918,002 rows in 112.7 s\n"
    "2026-11-01T02:02:33Z INFO  extract orders: starting (query_timeout=900s)\n"
    "2026-11-01T02:17:33Z ERROR extract orders: canceling statement due to statement timeout (SQLSTATE 57014)\n"
    "2026-11-01T02:17:33Z ERROR export-job failed after 1053.4 s; 2 of 3 tables exported; upload skipped\n"
)

EXPORT_YAML = (
    "schedule: \"0 2 * * *\"\n"
    "target: s3://acme-exports/daily/{date}/\n"
    "database:\n  dsn: postgres://export_ro@warehouse-replica:5432/analytics\n  query_timeout: 900s\n"
    "tables:\n  - name: customers\n  - name: invoices\n  - name: orders\n"
    "    # full table scan; no incremental filter yet\n    query: SELECT * FROM orders\n"
)

# --- the runs ----------------------------------------------------------------------------------

RUNS: list[Run] = [
    # ================================ Anthropic =================================================
    Run(
        "anthropic", "single_call",
        "One search_docs call, then an answer grounded in its result.",
        "2026-10-19T08:12:41Z",
        "You are DocsBot, the assistant of the Acme Cloud developer portal. Answer from the documentation: use search_docs before answering and cite the page titles you used.",
        "How do I rotate an API key without downtime?",
        [Round([C("search_docs", {"query": "rotate API key without downtime", "max_results": 5}, j({"results": [
            {"title": "Rotating API keys", "url": "https://docs.acme.cloud/security/api-keys/rotate",
             "snippet": "Create a second key, deploy it alongside the old one, then revoke the old key. Both keys stay valid until one is revoked, so clients can switch over gradually."},
            {"title": "API key scopes and expiry", "url": "https://docs.acme.cloud/security/api-keys/scopes",
             "snippet": "Keys can carry an expiry date (max 365 days). Expired keys return 401 with error code key_expired."},
            {"title": "Audit log events", "url": "https://docs.acme.cloud/security/audit-log",
             "snippet": "api_key.created, api_key.revoked and api_key.used events are retained for 400 days."},
        ]}), latency=240)], "Let me check the docs on key rotation.")],
        "According to **Rotating API keys**, you can rotate without downtime because Acme Cloud lets two keys be valid at the same time:\n\n"
        "1. Create a second key with the same scopes.\n2. Deploy it to your services alongside the old one and switch clients over gradually.\n"
        "3. Once the audit log shows no more `api_key.used` events for the old key, revoke it.\n\n"
        "Per **API key scopes and expiry**, consider giving the new key an expiry date (up to 365 days) so the next rotation is scheduled for you; expired keys fail with `401 key_expired`.",
        {"search_docs": {"latency_ms": 250}},
    ),
    Run(
        "anthropic", "three_parallel",
        "Streamed reply with text before three independent get_weather calls.",
        "2026-10-21T16:03:09Z",
        "You are a concise travel assistant. Use the tools for live data; never guess the weather.",
        "I'm choosing between Lisbon, Barcelona and Athens for a long weekend starting Friday. What's the weather like in each right now?",
        [Round([
            C("get_weather", {"location": "Lisbon, Portugal", "unit": "celsius"},
              j({"location": "Lisbon, PT", "temperature": 21, "unit": "celsius", "conditions": "sunny", "humidity": 58, "wind_kph": 17, "forecast": "sunny, high 23, low 15"}), latency=310),
            C("get_weather", {"location": "Barcelona, Spain", "unit": "celsius"},
              j({"location": "Barcelona, ES", "temperature": 19, "unit": "celsius", "conditions": "light rain", "humidity": 81, "wind_kph": 22, "forecast": "showers until 18:00, high 20, low 14"}), latency=280),
            C("get_weather", {"location": "Athens, Greece", "unit": "celsius"},
              j({"location": "Athens, GR", "temperature": 24, "unit": "celsius", "conditions": "clear", "humidity": 44, "wind_kph": 9, "forecast": "clear, high 26, low 17"}), latency=195),
        ], "I'll check the current weather in all three cities at once.")],
        "Right now:\n\n- **Athens**: 24 °C and clear, light wind; high of 26 °C today.\n- **Lisbon**: 21 °C and sunny, a bit breezy; high of 23 °C.\n"
        "- **Barcelona**: 19 °C with light rain (showers until about 18:00), 81% humidity.\n\n"
        "For a sunny long weekend, Athens or Lisbon look best at the moment; Barcelona is the damp one today.",
        {"get_weather": {"latency_ms": [300, 200, 100]}},
        orders=ALL, stream=True,
    ),
    Run(
        "anthropic", "eight_parallel",
        "A morning briefing: eight independent calls over six tools in one turn.",
        "2026-11-03T06:45:22Z",
        "You are Morgan, the executive assistant of Dana Whitfield (CFO, Berlin office). Build briefings from live data using the tools; keep them short and skimmable.",
        "Morning! Give me my briefing for today, Tuesday 3 November: Berlin weather, my calendar, how NVDA, SAP and ASML are trading, the EUR/USD rate, last night's signups, and whether anything is on the status page.",
        [Round([
            C("get_weather", {"location": "Berlin, Germany", "unit": "celsius"},
              j({"location": "Berlin, DE", "temperature": 7, "unit": "celsius", "conditions": "overcast", "humidity": 86, "wind_kph": 19, "forecast": "drizzle after 15:00, high 10, low 5"}), latency=290),
            C("get_calendar_events", {"date": "2026-11-03", "calendar": "dana.whitfield@acme.io"},
              j({"date": "2026-11-03", "events": [
                  {"start": "09:00", "end": "09:30", "title": "Leadership stand-up", "location": "Spree room"},
                  {"start": "11:00", "end": "12:00", "title": "Q4 forecast review with FP&A", "location": "Zoom"},
                  {"start": "14:30", "end": "15:00", "title": "1:1 Jonas Brandt (Controlling)", "location": "Dana's office"},
                  {"start": "17:00", "end": "18:00", "title": "Audit committee prep", "location": "Board room"}]}), latency=170),
            C("get_stock_price", {"ticker": "NVDA"}, quote("NVDA", 142.61, 1.84, "2026-11-03T06:44:58Z"), latency=140),
            C("get_stock_price", {"ticker": "SAP"}, quote("SAP", 231.90, -0.62, "2026-11-03T06:44:58Z", "EUR"), latency=155),
            C("get_stock_price", {"ticker": "ASML"}, quote("ASML", 648.30, 0.41, "2026-11-03T06:44:59Z", "EUR"), latency=150),
            C("get_exchange_rate", {"base": "EUR", "quote": "USD"},
              j({"base": "EUR", "quote": "USD", "rate": 1.0846, "as_of": "2026-11-03T06:45:00Z"}), latency=95),
            C("run_sql", {"query": "SELECT count(*) AS signups, count(*) FILTER (WHERE plan <> 'free') AS paid FROM accounts WHERE created_at >= '2026-11-02' AND created_at < '2026-11-03'"},
              " signups | paid\n---------+------\n    1284 |  97\n(1 row)", latency=620),
            C("fetch_url", {"url": "https://status.acme.io/api/v2/summary.json"},
              "HTTP 200 OK\n" + j({"status": {"indicator": "none", "description": "All Systems Operational"}, "incidents": [], "scheduled_maintenances": [
                  {"name": "Database failover test", "scheduled_for": "2026-11-05T22:00:00Z", "impact": "minor"}]}), latency=380),
        ], "Good morning, Dana — pulling everything together now.")],
        "**Briefing — Tuesday 3 November**\n\n"
        "- **Weather (Berlin):** 7 °C and overcast, drizzle from about 15:00; high 10 °C. Bring an umbrella.\n"
        "- **Calendar:** 09:00 leadership stand-up · 11:00 Q4 forecast review (Zoom) · 14:30 1:1 with Jonas Brandt · 17:00 audit committee prep.\n"
        "- **Markets:** NVDA $142.61 (+1.84%) · SAP €231.90 (−0.62%) · ASML €648.30 (+0.41%).\n"
        "- **EUR/USD:** 1.0846.\n"
        "- **Signups yesterday:** 1,284, of which 97 paid.\n"
        "- **Status page:** all systems operational; a minor database failover test is scheduled for Thursday 5 Nov, 22:00 UTC.",
        {"get_weather": {"latency_ms": 280}, "get_calendar_events": {"latency_ms": 160},
         "get_stock_price": {"latency_ms": [150, 90, 210]}, "get_exchange_rate": {"latency_ms": 80},
         "run_sql": {"latency_ms": 600}, "fetch_url": {"latency_ms": 350}},
        orders=SHUFFLE,
    ),
    Run(
        "anthropic", "twenty_parallel",
        "Twenty get_stock_price calls in one turn, with latencies drawn from a range.",
        "2026-10-27T15:42:03Z",
        "You are a portfolio assistant. Quote prices only from get_stock_price; never estimate or use remembered prices.",
        "Snapshot my watchlist please: " + ", ".join(t for t, _, _ in WATCHLIST) + ". Which ones moved more than 2% either way today?",
        [Round([C("get_stock_price", {"ticker": t}, quote(t, p, c, f"2026-10-27T15:42:{7 + i // 4:02d}Z"))
                for i, (t, p, c) in enumerate(WATCHLIST)],
               "Fetching all twenty quotes now.")],
        watchlist_final(),
        {"get_stock_price": {"latency_ms": {"min": 50, "max": 400}}},
        orders=SHUFFLE,
    ),
    Run(
        "anthropic", "three_round_loop",
        "An investigation over three rounds of parallel calls (two each), then a final answer.",
        "2026-11-02T07:31:55Z",
        "You are the on-call assistant of the data platform team. Investigate with the tools, then give the root cause and a recommended fix. Read-only access only.",
        "The nightly export job failed last night (2026-11-01). Can you find out why?",
        [
            Round([
                C("list_dir", {"path": "/var/log/export/2026-11-01"}, "export-job.log\nexport-job.metrics.json\nupload.log", latency=35),
                C("search_docs", {"query": "nightly export job runbook", "max_results": 3}, j({"results": [
                    {"title": "Runbook: nightly export", "url": "https://wiki.acme.io/data/runbooks/nightly-export",
                     "snippet": "The job extracts customers, invoices and orders from the warehouse replica and uploads them to S3. Config: /etc/export/export.yaml. Most failures are statement timeouts on large tables."},
                    {"title": "Warehouse replica limits", "url": "https://wiki.acme.io/data/warehouse/replica",
                     "snippet": "Long queries on the replica are cancelled after the configured statement timeout."}]}), latency=260),
            ], "I'll start with that night's log folder and the runbook."),
            Round([
                C("read_file", {"path": "/var/log/export/2026-11-01/export-job.log"}, EXPORT_LOG, latency=60),
                C("read_file", {"path": "/etc/export/export.yaml"}, EXPORT_YAML, latency=45),
            ], "Next, the job log itself and the job's configuration."),
            Round([
                C("run_sql", {"query": "SELECT pg_size_pretty(pg_total_relation_size('orders')) AS size, count(*) AS row_count FROM orders"},
                  "  size  | row_count\n--------+-----------\n 412 GB | 61804417\n(1 row)", latency=410),
                C("run_sql", {"query": "SELECT run_date, status, duration_s, rows_exported FROM export_runs ORDER BY run_date DESC LIMIT 5"},
                  "  run_date  | status | duration_s | rows_exported\n------------+--------+------------+---------------\n 2026-11-01 | failed |       1053 |       5122553\n 2026-10-31 | ok     |        874 |      66523418\n 2026-10-30 | ok     |        851 |      66301977\n 2026-10-29 | ok     |        829 |      66087340\n 2026-10-28 | ok     |        806 |      65880112\n(5 rows)", latency=150),
            ], "The orders extract hit the statement timeout. Let me check how big the table is and how long recent runs took."),
        ],
        "**Root cause:** the `orders` extract ran into the replica's 900 s statement timeout and was cancelled (SQLSTATE 57014), so the job failed after exporting only customers and invoices, and skipped the upload.\n\n"
        "**Why now:** `export.yaml` extracts orders with a full `SELECT * FROM orders` (no incremental filter). The table is 412 GB / 61.8 M rows and still growing, and total run time has crept up every night (806 s → 874 s over four nights), so the orders step finally crossed 900 s.\n\n"
        "**Recommended fix:** make the orders extract incremental (e.g. `WHERE updated_at >= :last_run`) or split it into date-range chunks. As a stop-gap, raise `query_timeout` to 1800 s and re-run the 2026-11-01 export manually.",
        {"list_dir": {"latency_ms": 40}, "search_docs": {"latency_ms": 220},
         "read_file": {"latency_ms": [80, 60]}, "run_sql": {"latency_ms": [400, 150]}},
    ),
    Run(
        "anthropic", "mixed_read_write",
        "Two reads and two write_file calls in one turn; write_file has side effects and is offered without disabling parallel calls.",
        "2026-10-30T13:20:48Z",
        "You are a coding assistant working in the repository at /srv/repos/billing-service. Use the file tools; always write complete file contents.",
        "Release prep for 2.4.0: set VERSION to 2.4.0 and create docs/releases/2.4.0.md with the release notes (idempotent webhook retries, the EUR rounding fix, Python 3.12 support). While you're at it, show me the current CI workflow and what's in docs/releases.",
        [Round([
            C("read_file", {"path": ".github/workflows/ci.yml"}, CI_YML, latency=55),
            C("list_dir", {"path": "docs/releases"}, "2.1.0.md\n2.2.0.md\n2.3.0.md\n2.3.1.md\nindex.md", latency=30),
            C("write_file", {"path": "VERSION", "content": "2.4.0\n"}, "Wrote 6 bytes to VERSION", latency=110),
            C("write_file", {"path": "docs/releases/2.4.0.md", "content": RELEASE_NOTES},
              f"Wrote {len(RELEASE_NOTES.encode())} bytes to docs/releases/2.4.0.md", latency=125),
        ], "I'll write both files and pull up the CI workflow and the releases folder at the same time.")],
        "Done:\n\n- `VERSION` now reads `2.4.0`.\n- `docs/releases/2.4.0.md` has the notes: idempotent webhook retries, Python 3.12 support, and the EUR rounding fix.\n\n"
        "**CI workflow:** `ci.yml` runs `pytest -q` on push to main and on pull requests, on Ubuntu 24.04, but its Python matrix is only `3.10` and `3.11` — since 2.4.0 claims 3.12 support, you'll want to add `\"3.12\"` to the matrix before tagging.\n\n"
        "**docs/releases:** 2.1.0, 2.2.0, 2.3.0, 2.3.1 and an `index.md` — remember to link the new 2.4.0 page from the index.",
        {"read_file": {"latency_ms": 80}, "list_dir": {"latency_ms": 30},
         "write_file": {"latency_ms": 120, "side_effects": True}},
        orders=SHUFFLE,
    ),
    Run(
        "anthropic", "failing_tool",
        "Three get_stock_price calls, of which the second fails; its result must come back flagged is_error.",
        "2026-10-22T14:05:17Z",
        "You are a portfolio assistant. Quote prices only from get_stock_price; never estimate or use remembered prices.",
        "What are Microsoft, Alphabet and Amazon trading at right now?",
        [Round([
            C("get_stock_price", {"ticker": "MSFT"}, quote("MSFT", 426.88, 0.57, "2026-10-22T14:05:19Z"), latency=160),
            C("get_stock_price", {"ticker": "GOOGL"}, "quotes backend returned HTTP 503 Service Unavailable (upstream: nasdaq-feed)", fail=True, latency=2010),
            C("get_stock_price", {"ticker": "AMZN"}, quote("AMZN", 195.37, -0.88, "2026-10-22T14:05:19Z"), latency=175),
        ], "Getting all three quotes.")],
        "- **Microsoft (MSFT):** $426.88, up 0.57% today.\n- **Amazon (AMZN):** $195.37, down 0.88%.\n"
        "- **Alphabet (GOOGL):** I couldn't get a quote — the quotes backend returned *503 Service Unavailable*. Want me to try again in a minute?",
        {"get_stock_price": {"latency_ms": [150, 300, 200]}},
        orders=ALL,
    ),
    Run(
        "anthropic", "hung_tool",
        "Three calls of which fetch_url hangs; the handler must give up on it and answer it with an is_error result.",
        "2026-10-28T10:47:30Z",
        "You are the research assistant of the Acme engineering wiki. Check claims against primary sources and say clearly when a source could not be reached.",
        "Is our Postgres 16 upgrade plan consistent with the official release notes? Compare docs/plans/pg16-upgrade.md, the wiki page on the upgrade, and the PostgreSQL 16 release notes.",
        [Round([
            C("search_docs", {"query": "Postgres 16 upgrade plan", "max_results": 3}, j({"results": [
                {"title": "Postgres 16 upgrade (Q4)", "url": "https://wiki.acme.io/platform/pg16-upgrade",
                 "snippet": "Method: pg_upgrade --link on a promoted replica. Downtime budget 20 min. Extensions to check: postgis 3.4, pg_partman 5.0."}]}), latency=230),
            C("fetch_url", {"url": "https://www.postgresql.org/docs/16/release-16.html"}, hang=True, latency=15000),
            C("read_file", {"path": "docs/plans/pg16-upgrade.md"},
              "# PG16 upgrade plan\n\n- Method: pg_upgrade --link on a promoted replica\n- Downtime budget: 20 minutes\n- Pre-checks: postgis 3.4, pg_partman 5.0, pg_stat_statements\n- Post-upgrade: vacuumdb --all --analyze-in-stages\n- Rollback: keep the old replica for 48 h\n", latency=40),
        ], "I'll pull the plan, the wiki page and the release notes in parallel.")],
        "Our two internal sources agree with each other: both use `pg_upgrade --link` on a promoted replica with a 20-minute downtime budget, and both list postgis 3.4 and pg_partman 5.0 as extensions to check (the plan file also adds pg_stat_statements, a post-upgrade `vacuumdb --analyze-in-stages`, and a 48 h rollback window).\n\n"
        "I could **not** compare them with the official release notes: fetching postgresql.org timed out after 15 s. Want me to retry, or would you rather paste the relevant section?",
        {"search_docs": {"latency_ms": 200}, "fetch_url": {"hang": True}, "read_file": {"latency_ms": 50}},
        policy={"tool_deadline_ms": 20000},
    ),
    Run(
        "anthropic", "identical_calls",
        "Two lookup_user calls with identical input plus a third lookup; identical calls are interchangeable but each needs its own result.",
        "2026-10-24T09:58:12Z",
        "You are the support-operations assistant of ShopRight. Verify account holders with lookup_user before answering questions about refunds.",
        "Before I issue refunds, confirm the account holders for these orders: #10482 (placed by maria.santos@example.com), #10497 (maria.santos@example.com) and #10511 (j.okafor@example.net). Are all three accounts in good standing?",
        [Round([
            C("lookup_user", {"email": "maria.santos@example.com"},
              j({"id": "usr_30917", "name": "Maria Santos", "email": "maria.santos@example.com", "status": "active", "since": "2021-03-14", "refunds_last_90d": 1, "flags": []}), latency=120),
            C("lookup_user", {"email": "maria.santos@example.com"},
              j({"id": "usr_30917", "name": "Maria Santos", "email": "maria.santos@example.com", "status": "active", "since": "2021-03-14", "refunds_last_90d": 1, "flags": []}), latency=135),
            C("lookup_user", {"email": "j.okafor@example.net"},
              j({"id": "usr_58822", "name": "Joseph Okafor", "email": "j.okafor@example.net", "status": "active", "since": "2024-11-02", "refunds_last_90d": 4, "flags": ["refund_review"]}), latency=110),
        ], "I'll look up the account behind each order.")],
        "- **#10482 and #10497** — both placed by **Maria Santos** (usr_30917), active since March 2021, one refund in the last 90 days, no flags. Good standing.\n"
        "- **#10511** — **Joseph Okafor** (usr_58822), active since November 2024, but with 4 refunds in the last 90 days and a `refund_review` flag on the account.\n\n"
        "So Maria's two refunds can go ahead; Joseph's account is flagged for refund review, so that one should go through the review queue first.",
        {"lookup_user": {"latency_ms": [120, 180, 90]}},
        orders=ALL,
    ),
    Run(
        "anthropic", "parallel_disabled",
        "Parallel tool use disabled in the request (send_email has side effects): one call per turn over two rounds.",
        "2026-11-02T17:09:36Z",
        "You are an assistant for the finance team. You can read files in the shared drive and send email on the user's behalf. Say exactly what you sent.",
        "Read reports/2026-10/expense-summary.md and email the totals to finance-leads@acme.io with the subject \"October expenses\".",
        [
            Round([C("read_file", {"path": "reports/2026-10/expense-summary.md"},
                     "# Expenses — October 2026\n\n| Category | Amount (EUR) |\n|---|---:|\n| Travel | 18,420.55 |\n| Software | 9,310.00 |\n| Meals | 2,148.70 |\n| Office | 1,075.20 |\n| **Total** | **30,954.45** |\n\nBudget: 32,000.00 (96.7% used)\n", latency=70)],
                  "I'll read the summary first."),
            Round([C("send_email", {"to": "finance-leads@acme.io", "subject": "October expenses",
                                    "body": "Hi all,\n\nOctober 2026 expense totals:\n- Travel: EUR 18,420.55\n- Software: EUR 9,310.00\n- Meals: EUR 2,148.70\n- Office: EUR 1,075.20\nTotal: EUR 30,954.45 (96.7% of the EUR 32,000.00 budget)\n\nSource: reports/2026-10/expense-summary.md\n"},
                     j({"status": "sent", "message_id": "<20261102170941.4f2a9c@mail.acme.io>", "to": ["finance-leads@acme.io"]}), latency=640)],
                  "Now sending the email."),
        ],
        "Sent to finance-leads@acme.io with the subject \"October expenses\". The email lists Travel EUR 18,420.55, Software EUR 9,310.00, Meals EUR 2,148.70 and Office EUR 1,075.20, for a total of **EUR 30,954.45** — 96.7% of the EUR 32,000 budget.",
        {"read_file": {"latency_ms": 60}, "send_email": {"latency_ms": 300, "side_effects": True}},
        request_extra={"tool_choice": {"type": "auto", "disable_parallel_tool_use": True}},
    ),
    # ================================ OpenAI Chat ===============================================
    Run(
        "openai-chat", "single_call",
        "One get_weather call, then the answer.",
        "2026-10-20T19:44:02Z",
        "You are a helpful assistant. Use get_weather for anything about the weather.",
        "Do I need an umbrella in Seattle this afternoon?",
        [Round([C("get_weather", {"location": "Seattle, WA", "unit": "fahrenheit"},
                  j({"location": "Seattle, US", "temperature": 54, "unit": "fahrenheit", "conditions": "light rain", "humidity": 89, "wind_mph": 8, "forecast": "rain until 17:00 (80%), then cloudy; high 57, low 47"}), latency=190)])],
        "Yes — bring one. It's 54 °F with light rain in Seattle right now, and rain is likely (80%) until about 5 pm before it clears to clouds.",
        {"get_weather": {"latency_ms": 180}},
    ),
    Run(
        "openai-chat", "three_parallel",
        "Streamed reply (with usage chunk and [DONE]) holding three independent calls to three tools.",
        "2026-10-20T15:11:37Z",
        "You are an assistant for engineering managers. Use the tools to gather context before meetings.",
        "I have a 1:1 with Priya Raman tomorrow (2026-10-21). Pull her profile, my calendar for tomorrow, and our promotion guidelines for senior engineers.",
        [Round([
            C("lookup_user", {"email": "priya.raman@acme.io"},
              j({"name": "Priya Raman", "email": "priya.raman@acme.io", "title": "Software Engineer II", "team": "Payments Platform", "manager": "you", "start_date": "2023-02-06", "location": "Toronto"}), latency=140),
            C("get_calendar_events", {"date": "2026-10-21", "calendar": "primary"},
              j({"date": "2026-10-21", "events": [
                  {"start": "10:00", "end": "10:30", "title": "1:1 Priya Raman"},
                  {"start": "13:00", "end": "14:00", "title": "Payments roadmap review"},
                  {"start": "16:00", "end": "16:45", "title": "Hiring debrief: backend candidate"}]}), latency=120),
            C("search_docs", {"query": "promotion guidelines senior engineer", "max_results": 3}, j({"results": [
                {"title": "Engineering career ladder: Senior Engineer", "url": "https://wiki.acme.io/eng/ladder/senior",
                 "snippet": "Owns the design of multi-quarter projects; leads cross-team work without supervision; mentors at least one engineer; sustained for two review cycles."},
                {"title": "Promotion process", "url": "https://wiki.acme.io/eng/promotions",
                 "snippet": "Managers submit a packet by the calibration deadline (2026-11-15 for H2): impact summary, two peer reviews, one design doc."}]}), latency=280),
        ])],
        "Here's your prep for the 1:1 with **Priya Raman** (tomorrow, 10:00–10:30):\n\n"
        "- **Profile:** Software Engineer II on Payments Platform, based in Toronto, with the company since Feb 2023.\n"
        "- **Your day:** after the 1:1 you have the Payments roadmap review at 13:00 and a hiring debrief at 16:00.\n"
        "- **Senior Engineer bar:** owns the design of multi-quarter projects, leads cross-team work without supervision, mentors at least one engineer — sustained over two review cycles.\n"
        "- **Process:** packets (impact summary, two peer reviews, one design doc) are due by **15 November** for the H2 calibration.\n\n"
        "Suggested topic: whether the roadmap review could give her a cross-team project to lead before the packet deadline.",
        {"lookup_user": {"latency_ms": 150}, "get_calendar_events": {"latency_ms": 90}, "search_docs": {"latency_ms": 260}},
        orders=ALL, stream=True,
    ),
    Run(
        "openai-chat", "eight_parallel",
        "Eight read_file and list_dir calls in one turn, completing in latency order and in reverse.",
        "2026-10-26T11:26:50Z",
        "You are a code-review assistant with read-only access to the repository at /srv/repos/web-frontend.",
        "Give me an overview of how authentication works in this repo. Start with src/auth, src/api and the middleware.",
        [Round([
            C("list_dir", {"path": "src/auth"}, "index.ts\noauth.ts\nsession.ts\ntokens.ts\n__tests__/", latency=20),
            C("read_file", {"path": "src/auth/session.ts"},
              "import { cookies } from './cookies';\nimport { refreshAccessToken } from './tokens';\n\nexport const SESSION_COOKIE = 'acme_sid';\nconst MAX_AGE_S = 60 * 60 * 8;\n\nexport async function getSession(req: Request) {\n  const sid = cookies(req).get(SESSION_COOKIE);\n  if (!sid) return null;\n  const session = await sessionStore.get(sid);\n  if (session && session.expiresAt < Date.now() + 60_000) {\n    return refreshAccessToken(session);\n  }\n  return session;\n}\n", latency=45),
            C("read_file", {"path": "src/auth/oauth.ts"},
              "export const authorizeUrl = (state: string, verifier: string) =>\n  `${ISSUER}/oauth2/authorize?response_type=code&client_id=${CLIENT_ID}` +\n  `&code_challenge=${s256(verifier)}&code_challenge_method=S256&state=${state}`;\n\nexport async function handleCallback(code: string, verifier: string) {\n  const tokens = await postForm(`${ISSUER}/oauth2/token`, { grant_type: 'authorization_code', code, code_verifier: verifier });\n  return sessionStore.create(tokens);\n}\n", latency=38),
            C("list_dir", {"path": "src/api"}, "client.ts\nerrors.ts\nendpoints/\n", latency=18),
            C("read_file", {"path": "src/api/client.ts"},
              "export async function apiFetch(path: string, init: RequestInit = {}) {\n  const res = await fetch(`/api${path}`, { ...init, credentials: 'include' });\n  if (res.status === 401) {\n    window.location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);\n  }\n  return res;\n}\n", latency=40),
            C("list_dir", {"path": "src/middleware"}, "requireAuth.ts\nrateLimit.ts\ncsp.ts\n", latency=17),
            C("read_file", {"path": "src/middleware/requireAuth.ts"},
              "import { getSession } from '../auth/session';\n\nexport async function requireAuth(req: Request, next: Handler) {\n  const session = await getSession(req);\n  if (!session) return Response.redirect('/login', 302);\n  req.user = session.user;\n  return next(req);\n}\n", latency=36),
            C("read_file", {"path": "package.json"},
              j({"name": "web-frontend", "private": True, "scripts": {"dev": "vite", "build": "vite build", "test": "vitest"},
                 "dependencies": {"react": "^19.1.0", "react-router": "^7.6.0", "jose": "^6.0.11"}}), latency=33),
        ])],
        "**How authentication works in web-frontend**\n\n"
        "1. **Login (OAuth 2.0 + PKCE)** — `src/auth/oauth.ts` builds the authorize URL with an S256 code challenge, and `handleCallback` exchanges the code (with the verifier) at the issuer's token endpoint, then creates a server-side session.\n"
        "2. **Session** — `src/auth/session.ts` keeps the session id in the `acme_sid` cookie (8 h max age) and refreshes the access token when it is within a minute of expiry.\n"
        "3. **Protecting routes** — `src/middleware/requireAuth.ts` loads the session and redirects to `/login` if there is none; otherwise it sets `req.user`.\n"
        "4. **API calls** — `src/api/client.ts` sends cookies (`credentials: 'include'`) and sends the browser to `/login?next=…` on a 401.\n\n"
        "Tokens are handled with `jose` (see package.json); `src/auth/tokens.ts` and the `__tests__` folder would be the next things to read.",
        {"read_file": {"latency_ms": [120, 80, 200, 60, 150]}, "list_dir": {"latency_ms": 90}},
        orders=["latency", "reverse"],
    ),
    Run(
        "openai-chat", "three_round_loop",
        "A data question answered over three rounds of parallel run_sql and search_docs calls, then a final answer.",
        "2026-10-23T12:02:18Z",
        "You are a data analyst assistant with read-only SQL access to the analytics warehouse (PostgreSQL 16). Explore the schema before writing queries, and state the numbers you base conclusions on.",
        "Which marketing channel brought in the most revenue last quarter (Q3 2026), and how does that compare with Q2?",
        [
            Round([
                C("run_sql", {"query": "SELECT table_name FROM information_schema.tables WHERE table_schema = 'analytics' ORDER BY table_name"},
                  "     table_name\n---------------------\n attribution_touches\n customers\n order_items\n orders\n sessions\n(5 rows)", latency=95),
                C("search_docs", {"query": "marketing channel attribution definition", "max_results": 3}, j({"results": [
                    {"title": "Attribution model", "url": "https://wiki.acme.io/data/attribution",
                     "snippet": "Revenue is attributed to the channel of the last non-direct touch (attribution_touches.is_last_touch = true) within 30 days before the order."}]}), latency=240),
            ]),
            Round([
                C("run_sql", {"query": "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'analytics' AND table_name = 'orders' ORDER BY ordinal_position"},
                  " column_name  |        data_type\n--------------+--------------------------\n id           | bigint\n customer_id  | bigint\n placed_at    | timestamp with time zone\n status       | text\n total_usd    | numeric\n(5 rows)", latency=70),
                C("run_sql", {"query": "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'analytics' AND table_name = 'attribution_touches' ORDER BY ordinal_position"},
                  " column_name  |        data_type\n--------------+--------------------------\n order_id     | bigint\n channel      | text\n touched_at   | timestamp with time zone\n is_last_touch| boolean\n(4 rows)", latency=66),
            ]),
            Round([
                C("run_sql", {"query": "SELECT t.channel, round(sum(o.total_usd)) AS revenue_usd, count(*) AS orders FROM analytics.orders o JOIN analytics.attribution_touches t ON t.order_id = o.id AND t.is_last_touch WHERE o.status = 'completed' AND o.placed_at >= '2026-07-01' AND o.placed_at < '2026-10-01' GROUP BY t.channel ORDER BY revenue_usd DESC"},
                  "   channel    | revenue_usd | orders\n--------------+-------------+--------\n paid_search  |     1842310 |  14022\n organic      |     1530877 |  12840\n email        |      911402 |   8801\n social_paid  |      604118 |   5930\n referral     |      287650 |   2114\n(5 rows)", latency=1320),
                C("run_sql", {"query": "SELECT t.channel, round(sum(o.total_usd)) AS revenue_usd, count(*) AS orders FROM analytics.orders o JOIN analytics.attribution_touches t ON t.order_id = o.id AND t.is_last_touch WHERE o.status = 'completed' AND o.placed_at >= '2026-04-01' AND o.placed_at < '2026-07-01' GROUP BY t.channel ORDER BY revenue_usd DESC"},
                  "   channel    | revenue_usd | orders\n--------------+-------------+--------\n organic      |     1611204 |  13377\n paid_search  |     1498733 |  11650\n email        |      874090 |   8412\n social_paid  |      702561 |   6644\n referral     |      259982 |   1980\n(5 rows)", latency=1275),
            ]),
        ],
        "**Paid search** was the top channel in Q3 2026 with **$1.84 M** in last-touch revenue (14,022 completed orders), ahead of organic at $1.53 M.\n\n"
        "Compared with Q2 the two swapped places: in Q2 organic led with $1.61 M and paid search had $1.50 M. Paid search grew **+22.9%** quarter on quarter while organic fell 5.0%. Email was roughly flat (+4.3%), paid social dropped 14.0%, and referral grew 10.6%.\n\n"
        "(Revenue = completed orders' `total_usd`, attributed to the last non-direct touch within 30 days, per the wiki's attribution model.)",
        {"run_sql": {"latency_ms": [90, 70, 60, 1300, 1250]}, "search_docs": {"latency_ms": 240}},
        orders=SHUFFLE,
    ),
    Run(
        "openai-chat", "failing_tool",
        "Three calls of which one run_sql fails; the error text must still come back as that call's tool message.",
        "2026-11-01T09:15:04Z",
        "You are a data analyst assistant with read-only SQL access to the analytics warehouse (PostgreSQL 16). State the numbers you base conclusions on.",
        "How many refunds did we issue in October, how many orders did we ship, and what's our refund window?",
        [Round([
            C("run_sql", {"query": "SELECT count(*) AS refunds, sum(amount_usd) AS refunded_usd FROM analytics.refunds WHERE issued_at >= '2026-10-01' AND issued_at < '2026-11-01'"},
              "ERROR:  relation \"analytics.refunds\" does not exist\nLINE 1: SELECT count(*) AS refunds, sum(amount_usd) AS refunded_usd FROM analytics.refunds WHERE ...\n                                                                         ^", fail=True, latency=48),
            C("run_sql", {"query": "SELECT count(*) AS shipped FROM analytics.orders WHERE shipped_at >= '2026-10-01' AND shipped_at < '2026-11-01'"},
              " shipped\n---------\n   41377\n(1 row)", latency=730),
            C("search_docs", {"query": "refund policy window", "max_results": 3}, j({"results": [
                {"title": "Refund policy", "url": "https://wiki.acme.io/support/refunds",
                 "snippet": "Customers can request a refund within 30 days of delivery. Digital goods: 14 days, and only if not downloaded."}]}), latency=205),
        ])],
        "- **Orders shipped in October:** 41,377.\n- **Refund window:** 30 days from delivery (14 days for digital goods, and only if not downloaded).\n"
        "- **Refunds issued in October:** I couldn't get this — the query failed because there is no `analytics.refunds` table. Refunds may live in another schema (for example billing); if you tell me where, I'll rerun it.",
        {"run_sql": {"latency_ms": [300, 100]}, "search_docs": {"latency_ms": 200}},
        orders=ALL,
    ),
    Run(
        "openai-chat", "hung_tool",
        "Three calls of which run_sql hangs; the handler must time it out and answer it with an error text.",
        "2026-10-28T15:36:44Z",
        "You are the internal helpdesk assistant of Acme. Use the tools to look up people, tickets and calendars. If a lookup fails, say so.",
        "Can you check whether Tomás Ferreira's laptop replacement ticket is moving? He says it's urgent. Also, is he free for a quick call tomorrow?",
        [Round([
            C("lookup_user", {"email": "tomas.ferreira@acme.io"},
              j({"name": "Tomás Ferreira", "email": "tomas.ferreira@acme.io", "title": "Account Executive", "team": "Sales EMEA", "location": "Lisbon", "timezone": "Europe/Lisbon"}), latency=130),
            C("run_sql", {"query": "SELECT id, status, priority, assignee, updated_at FROM helpdesk.tickets WHERE requester = 'tomas.ferreira@acme.io' AND category = 'hardware' ORDER BY updated_at DESC LIMIT 3"},
              hang=True, latency=15000),
            C("get_calendar_events", {"date": "2026-10-29", "calendar": "tomas.ferreira@acme.io"},
              j({"date": "2026-10-29", "events": [
                  {"start": "09:30", "end": "11:00", "title": "Customer visit: Banco Atlântico"},
                  {"start": "14:00", "end": "14:30", "title": "Pipeline review"}]}), latency=105),
        ])],
        "**Tomás Ferreira** (Account Executive, Sales EMEA, Lisbon).\n\n"
        "- **Laptop ticket:** I couldn't check it — the helpdesk database query timed out after 15 s. You may want to look in the helpdesk UI directly, or I can try again.\n"
        "- **Tomorrow (29 Oct, Lisbon time):** he's busy 09:30–11:00 (customer visit) and 14:00–14:30 (pipeline review), so 11:00–14:00 or after 14:30 would work for a quick call.",
        {"lookup_user": {"latency_ms": 120}, "get_calendar_events": {"latency_ms": 100}},
        policy={"tool_deadline_ms": 20000},
    ),
    Run(
        "openai-chat", "mixed_read_write",
        "Two read_file and two write_file calls in one turn; write_file has side effects and is offered with parallel calls left on.",
        "2026-10-29T10:08:26Z",
        "You are a coding assistant working in the repository at /srv/repos/ingest-worker. Use the file tools; always write complete file contents.",
        "Add an .editorconfig (2-space indent for YAML, 4 spaces for Python) and a CODEOWNERS file that gives @acme/data-platform ownership of everything. Also show me the current pyproject.toml and Makefile.",
        [Round([
            C("read_file", {"path": "pyproject.toml"},
              "[project]\nname = \"ingest-worker\"\nversion = \"0.9.3\"\nrequires-python = \">=3.11\"\ndependencies = [\"boto3>=1.35\", \"psycopg[binary]>=3.2\", \"pydantic>=2.9\"]\n\n[tool.ruff]\nline-length = 100\n", latency=40),
            C("read_file", {"path": "Makefile"},
              ".PHONY: lint test run\nlint:\n\truff check .\ntest:\n\tpytest -q\nrun:\n\tpython -m ingest_worker\n", latency=35),
            C("write_file", {"path": ".editorconfig", "content": EDITORCONFIG},
              f"Wrote {len(EDITORCONFIG.encode())} bytes to .editorconfig", latency=95),
            C("write_file", {"path": ".github/CODEOWNERS", "content": "* @acme/data-platform\n"},
              "Wrote 22 bytes to .github/CODEOWNERS", latency=88),
        ])],
        "Added both files:\n\n- **`.editorconfig`** — LF line endings and a final newline everywhere, 4-space indents for Python, 2 for YAML, and tabs for the Makefile (make requires them).\n"
        "- **`.github/CODEOWNERS`** — `* @acme/data-platform`.\n\n"
        "**pyproject.toml:** `ingest-worker` 0.9.3, Python ≥ 3.11, depends on boto3, psycopg 3 and pydantic 2; ruff is set to a 100-character line length.\n"
        "**Makefile:** `lint` (ruff check), `test` (pytest -q) and `run` (python -m ingest_worker).",
        {"read_file": {"latency_ms": 70}, "write_file": {"latency_ms": [150, 90], "side_effects": True}},
        orders=SHUFFLE,
    ),
    # ================================ OpenAI Responses ==========================================
    Run(
        "openai-responses", "three_parallel",
        "Streamed Responses reply with three independent function_call items to three tools.",
        "2026-10-25T18:22:10Z",
        "You are a corporate travel assistant. Use the tools for live data and for company policy.",
        "I'm going to Tokyo next week to visit a client. What's the weather there, the current USD to JPY rate, and what's our per diem for Japan?",
        [Round([
            C("get_weather", {"location": "Tokyo, Japan", "unit": "celsius"},
              j({"location": "Tokyo, JP", "temperature": 17, "unit": "celsius", "conditions": "partly cloudy", "humidity": 62, "wind_kph": 11, "forecast": "next 7 days: 14-20 °C, rain likely Thursday"}), latency=260),
            C("get_exchange_rate", {"base": "USD", "quote": "JPY"},
              j({"base": "USD", "quote": "JPY", "rate": 151.37, "as_of": "2026-10-25T18:22:11Z"}), latency=85),
            C("search_docs", {"query": "travel per diem Japan", "max_results": 3}, j({"results": [
                {"title": "Travel policy: per diem rates (APAC)", "url": "https://wiki.acme.io/travel/per-diem-apac",
                 "snippet": "Japan (Tokyo): JPY 12,000 per day for meals and incidentals; lodging reimbursed at cost up to JPY 28,000 per night."}]}), latency=230),
        ])],
        "- **Weather in Tokyo:** 17 °C and partly cloudy now; 14–20 °C over the next week, with rain likely on Thursday — pack a light jacket and an umbrella.\n"
        "- **Exchange rate:** 1 USD = 151.37 JPY.\n"
        "- **Per diem (Tokyo):** JPY 12,000 a day for meals and incidentals (about $79), and lodging at cost up to JPY 28,000 a night (about $185).",
        {"get_weather": {"latency_ms": 250}, "get_exchange_rate": {"latency_ms": 90}, "search_docs": {"latency_ms": 210}},
        orders=ALL, stream=True,
    ),
    Run(
        "openai-responses", "twenty_parallel",
        "Twenty fetch_url health checks in one turn.",
        "2026-11-03T03:14:29Z",
        "You are the SRE assistant. Check service health by fetching each service's /healthz endpoint, then report problems first.",
        "Run a health check across all 20 production services: " + ", ".join(s for s, _, _ in SERVICES) + ". Their health endpoints are https://<service>.prod.acme.internal/healthz.",
        [Round([C("fetch_url", {"url": f"https://{s}.prod.acme.internal/healthz"}, health(s, v, u)) for s, v, u in SERVICES])],
        "**2 of 20 services need attention:**\n\n"
        "- **webhooks** (v2.11.5) — **unhealthy**, HTTP 503: queue backlog of 48,213 messages. It restarted about 11 hours ago (uptime 40,211 s).\n"
        "- **recommendations** (v3.5.1) — **degraded**: the model store is slow (p99 2.8 s); the database is fine.\n\n"
        "The other 18 (api-gateway, auth, billing, catalog, checkout, email-dispatch, feature-flags, inventory, ledger, notifications, orders, payments, pricing, search, sessions, shipping, tax, user-profile) report `ok`.",
        {"fetch_url": {"latency_ms": 120}},
        orders=SHUFFLE,
    ),
    Run(
        "openai-responses", "three_round_loop",
        "A support case worked over three rounds of parallel function calls, then a final message.",
        "2026-10-31T14:40:51Z",
        "You are a customer-support agent for ShopRight. Investigate with the tools before answering, and follow the refund policy exactly.",
        "Customer ana.lima@example.com says her order never arrived and wants a refund. What should I tell her?",
        [
            Round([
                C("lookup_user", {"email": "ana.lima@example.com"},
                  j({"id": "usr_48213", "name": "Ana Lima", "email": "ana.lima@example.com", "country": "BR", "status": "active", "since": "2022-06-19"}), latency=115),
                C("search_docs", {"query": "refund policy lost package", "max_results": 3}, j({"results": [
                    {"title": "Refunds: lost or undelivered packages", "url": "https://help.shopright.example/policies/lost-packages",
                     "snippet": "If tracking shows no delivery 10 days after the estimated date, refund in full without return. Refunds above USD 500 need a team lead's approval."}]}), latency=220),
            ]),
            Round([
                C("run_sql", {"query": "SELECT id, placed_at, total, currency, carrier, tracking_number, status FROM orders WHERE user_id = 'usr_48213' ORDER BY placed_at DESC LIMIT 3"},
                  "   id   |      placed_at      |  total  | currency | carrier    | tracking_number | status\n--------+---------------------+---------+----------+------------+-----------------+---------\n 772104 | 2026-10-02 11:20:07 | 1890.00 | BRL      | ParcelFlow | PF7730091456BR  | shipped\n 768830 | 2026-08-14 19:02:44 |  249.90 | BRL      | ParcelFlow | PF7701188342BR  | delivered\n(2 rows)", latency=340),
                C("run_sql", {"query": "SELECT id, created_at, subject, status FROM tickets WHERE user_id = 'usr_48213' ORDER BY created_at DESC LIMIT 5"},
                  "  id   |     created_at      |          subject          | status\n-------+---------------------+---------------------------+--------\n 90211 | 2026-10-29 08:13:55 | Order 772104 not received | open\n(1 row)", latency=180),
            ]),
            Round([
                C("fetch_url", {"url": "https://api.parcelflow.com/v1/track/PF7730091456BR"},
                  "HTTP 200 OK\n" + j({"tracking_number": "PF7730091456BR", "status": "in_transit", "estimated_delivery": "2026-10-12",
                                       "last_event": {"at": "2026-10-09T06:41:00-03:00", "location": "Curitiba, PR", "description": "Held at sorting facility"}}), latency=560),
                C("get_exchange_rate", {"base": "BRL", "quote": "USD"},
                  j({"base": "BRL", "quote": "USD", "rate": 0.1852, "as_of": "2026-10-31T14:41:03Z"}), latency=90),
            ]),
        ],
        "Ana is entitled to a full refund, no return needed:\n\n"
        "- Order **772104** (BRL 1,890.00, placed 2 Oct) was due on **12 Oct**, but ParcelFlow's last scan is from 9 Oct — *held at sorting facility* in Curitiba. That's 19 days past the estimated date, well over the policy's 10 days.\n"
        "- BRL 1,890.00 is about **USD 350** at today's rate (0.1852), under the USD 500 limit, so you can approve it yourself.\n\n"
        "Suggested reply: apologise, confirm a full refund of BRL 1,890.00 to her original payment method, and close ticket 90211 once it's issued.",
        {"lookup_user": {"latency_ms": 110}, "search_docs": {"latency_ms": 200},
         "run_sql": {"latency_ms": [350, 180]}, "fetch_url": {"latency_ms": 500}, "get_exchange_rate": {"latency_ms": 90}},
    ),
    Run(
        "openai-responses", "failing_tool",
        "Three fetch_url calls of which one fails with an HTTP 502; its error must still be returned as that call's output.",
        "2026-10-18T20:57:33Z",
        "You are a research assistant. Fetch the pages the user names and summarise them faithfully; say which pages you could not read.",
        "Summarise what's new in these three releases: https://nodejs.org/en/blog/release/v24.11.0 , https://www.python.org/downloads/release/python-3140/ and https://go.dev/doc/go1.25",
        [Round([
            C("fetch_url", {"url": "https://nodejs.org/en/blog/release/v24.11.0"},
              "HTTP 200 OK\nNode.js 24.11.0 (LTS 'Krypton'). Notable changes: Node.js 24 enters Active LTS; the built-in test runner's coverage is stable; npm updated to 11.6.", latency=420),
            C("fetch_url", {"url": "https://www.python.org/downloads/release/python-3140/"},
              "HTTP 502 Bad Gateway from www.python.org", fail=True, latency=1240),
            C("fetch_url", {"url": "https://go.dev/doc/go1.25"},
              "HTTP 200 OK\nGo 1.25 Release Notes. Container-aware GOMAXPROCS on Linux; experimental garbage collector (GOEXPERIMENT=greenteagc); new testing/synctest package; encoding/json/v2 available as an experiment.", latency=380),
        ])],
        "- **Node.js 24.11.0** — Node 24 moves to Active LTS (\"Krypton\"); coverage in the built-in test runner is now stable, and npm is updated to 11.6.\n"
        "- **Go 1.25** — GOMAXPROCS now respects container CPU limits on Linux, a new experimental garbage collector (`GOEXPERIMENT=greenteagc`), the `testing/synctest` package, and `encoding/json/v2` as an experiment.\n"
        "- **Python 3.14.0** — I couldn't read this page: python.org answered *502 Bad Gateway*. I can try again if you like.",
        {"fetch_url": {"latency_ms": [400, 250, 350]}},
        orders=ALL,
    ),
    Run(
        "openai-responses", "identical_calls",
        "Two get_exchange_rate calls with identical arguments plus a third; each call id needs its own output.",
        "2026-10-30T08:33:07Z",
        "You are a bookkeeping assistant. Use get_exchange_rate for every conversion; never use remembered rates. Round to the cent.",
        "Convert these three supplier invoices to USD for the ledger: INV-2291 EUR 1,240.00, INV-2294 EUR 318.50, INV-2302 GBP 860.00.",
        [Round([
            C("get_exchange_rate", {"base": "EUR", "quote": "USD"}, j({"base": "EUR", "quote": "USD", "rate": 1.0812, "as_of": "2026-10-30T08:33:08Z"}), latency=90),
            C("get_exchange_rate", {"base": "EUR", "quote": "USD"}, j({"base": "EUR", "quote": "USD", "rate": 1.0812, "as_of": "2026-10-30T08:33:08Z"}), latency=96),
            C("get_exchange_rate", {"base": "GBP", "quote": "USD"}, j({"base": "GBP", "quote": "USD", "rate": 1.2963, "as_of": "2026-10-30T08:33:08Z"}), latency=88),
        ])],
        "| Invoice | Amount | Rate | USD |\n|---|---:|---:|---:|\n| INV-2291 | EUR 1,240.00 | 1.0812 | 1,340.69 |\n| INV-2294 | EUR 318.50 | 1.0812 | 344.36 |\n| INV-2302 | GBP 860.00 | 1.2963 | 1,114.82 |\n| **Total** | | | **2,799.87** |\n\nRates are mid-market as of 08:33 UTC today.",
        {"get_exchange_rate": {"latency_ms": [200, 100, 150]}},
        orders=ALL,
    ),
    Run(
        "openai-responses", "text_with_calls",
        "An assistant message item with text, then three function_call items in the same response.",
        "2026-11-02T11:52:40Z",
        "You are the assistant of Acme's account managers. Before calling tools, tell the user in one sentence what you are about to check.",
        "Quick status on the Northwind account: who's our main contact there, what have they spent this quarter, and is anything in the account plan due soon?",
        [Round([
            C("run_sql", {"query": "SELECT name, email, role FROM crm.contacts WHERE account = 'Northwind Traders' AND is_primary"},
              "     name     |           email            |        role\n--------------+----------------------------+---------------------\n Jenna Harlow | j.harlow@northwind.example | Head of Procurement\n(1 row)", latency=150),
            C("run_sql", {"query": "SELECT sum(amount_usd) AS spend_usd, count(*) AS invoices FROM billing.invoices WHERE account = 'Northwind Traders' AND issued_at >= '2026-10-01'"},
              " spend_usd | invoices\n-----------+----------\n  84250.00 |        3\n(1 row)", latency=410),
            C("search_docs", {"query": "Northwind Traders account plan", "max_results": 3}, j({"results": [
                {"title": "Account plan: Northwind Traders (FY26)", "url": "https://wiki.acme.io/sales/accounts/northwind",
                 "snippet": "Renewal due 2026-11-30 (3-year term, USD 310k ARR). Expansion target: add the analytics module in Q4. QBR scheduled 2026-11-12."}]}), latency=230),
        ], "I'll look up Northwind's primary contact, pull their spend for this quarter, and check the account plan.")],
        "**Northwind Traders**\n\n- **Main contact:** Jenna Harlow, Head of Procurement (j.harlow@northwind.example).\n"
        "- **Spend this quarter (since 1 Oct):** USD 84,250 across 3 invoices.\n"
        "- **Coming up:** the QBR on **12 Nov**, and the **renewal is due 30 Nov** (3-year term, USD 310k ARR). The plan also targets adding the analytics module this quarter — the QBR is the natural place to raise it.",
        {"run_sql": {"latency_ms": [150, 400]}, "search_docs": {"latency_ms": 230}},
        orders=SHUFFLE,
    ),
    # ================================ Gemini ====================================================
    Run(
        "gemini", "single_call",
        "Gemini 2.5, one search_docs call without an id, then an answer grounded in its result.",
        "2026-11-04T09:02:17Z",
        "You are DocsBot, the assistant of the Acme Cloud developer portal. Answer from the documentation: use search_docs before answering and cite the page titles you used.",
        "Can I restrict an API key to a set of IP addresses?",
        [Round([C("search_docs", {"query": "restrict API key to IP addresses", "max_results": 3}, j({"results": [
            {"title": "API key restrictions", "url": "https://docs.acme.cloud/security/api-keys/restrictions",
             "snippet": "Keys can be limited to IPv4/IPv6 CIDR ranges (up to 50 per key). Requests from other addresses fail with 403 ip_not_allowed."},
            {"title": "Audit log events", "url": "https://docs.acme.cloud/security/audit-log",
             "snippet": "api_key.restriction_changed is logged whenever a key's allowed ranges change."}]}), latency=230)])],
        "Yes. Per **API key restrictions**, each key can be limited to up to 50 IPv4 or IPv6 CIDR ranges; requests from any other address are refused with `403 ip_not_allowed`. "
        "Changes to a key's ranges show up in the audit log as `api_key.restriction_changed` (see **Audit log events**).",
        {"search_docs": {"latency_ms": 240}},
        ids=False,
    ),
    Run(
        "gemini", "three_parallel",
        "Gemini 3, streamed: text, then three get_weather calls with ids in one chunk, the first carrying the thought signature.",
        "2026-11-04T11:20:44Z",
        "You are a concise travel assistant. Use the tools for live data; never guess the weather.",
        "Porto, Seville or Marseille for a weekend away — what's the weather in each right now?",
        [Round([
            C("get_weather", {"location": "Porto, Portugal", "unit": "celsius"},
              j({"location": "Porto, PT", "temperature": 18, "unit": "celsius", "conditions": "cloudy", "humidity": 77, "wind_kph": 21, "forecast": "showers tomorrow, high 19, low 13"}), latency=290),
            C("get_weather", {"location": "Seville, Spain", "unit": "celsius"},
              j({"location": "Seville, ES", "temperature": 26, "unit": "celsius", "conditions": "sunny", "humidity": 35, "wind_kph": 8, "forecast": "sunny, high 28, low 15"}), latency=240),
            C("get_weather", {"location": "Marseille, France", "unit": "celsius"},
              j({"location": "Marseille, FR", "temperature": 22, "unit": "celsius", "conditions": "mistral, clear", "humidity": 41, "wind_kph": 46, "forecast": "windy, high 23, low 14"}), latency=210),
        ], "Let me check all three cities at once.")],
        "- **Seville**: 26 °C and sunny, light wind — the warmest and calmest.\n- **Marseille**: 22 °C and clear, but the mistral is blowing at 46 km/h.\n"
        "- **Porto**: 18 °C and cloudy, with showers tomorrow.\n\nFor a sunny weekend, Seville is the pick.",
        {"get_weather": {"latency_ms": [300, 200, 100]}},
        orders=ALL, stream=True, model=GEMINI_3,
    ),
    Run(
        "gemini", "three_parallel_no_ids",
        "Gemini 2.5: three get_weather calls without ids; results pair with calls by name and position, so sending them in another order swaps the answers.",
        "2026-11-04T11:41:09Z",
        "You are a concise travel assistant. Use the tools for live data; never guess the weather.",
        "What's the weather in Lisbon, Oslo and Rome right now?",
        [Round([
            C("get_weather", {"location": "Lisbon, Portugal", "unit": "celsius"},
              j({"location": "Lisbon, PT", "temperature": 22, "unit": "celsius", "conditions": "sunny", "humidity": 55, "wind_kph": 14, "forecast": "sunny, high 24, low 16"}), latency=260),
            C("get_weather", {"location": "Oslo, Norway", "unit": "celsius"},
              j({"location": "Oslo, NO", "temperature": 9, "unit": "celsius", "conditions": "overcast", "humidity": 82, "wind_kph": 12, "forecast": "rain from 16:00, high 10, low 4"}), latency=330),
            C("get_weather", {"location": "Rome, Italy", "unit": "celsius"},
              j({"location": "Rome, IT", "temperature": 25, "unit": "celsius", "conditions": "clear", "humidity": 48, "wind_kph": 7, "forecast": "clear, high 27, low 17"}), latency=190),
        ])],
        "- **Rome**: 25 °C and clear — the warmest.\n- **Lisbon**: 22 °C and sunny.\n- **Oslo**: 9 °C and overcast, with rain from 16:00.",
        {"get_weather": {"latency_ms": [300, 200, 100]}},
        orders=ALL, ids=False,
    ),
    Run(
        "gemini", "failing_tool",
        "Gemini 3: three get_stock_price calls with ids, of which the second fails; its error must come back under \"error\".",
        "2026-11-05T14:31:52Z",
        "You are a portfolio assistant. Quote prices only from get_stock_price; never estimate or use remembered prices.",
        "Where are Netflix, Adobe and Shopify trading right now?",
        [Round([
            C("get_stock_price", {"ticker": "NFLX"}, quote("NFLX", 771.06, 1.14, "2026-11-05T14:31:54Z"), latency=150),
            C("get_stock_price", {"ticker": "ADBE"}, "quotes backend returned HTTP 504 Gateway Timeout (upstream: nasdaq-feed)", fail=True, latency=2040),
            C("get_stock_price", {"ticker": "SHOP"}, quote("SHOP", 81.27, 1.74, "2026-11-05T14:31:54Z"), latency=170),
        ], "Fetching the three quotes.")],
        "- **Netflix (NFLX):** $771.06, up 1.14% today.\n- **Shopify (SHOP):** $81.27, up 1.74%.\n"
        "- **Adobe (ADBE):** no quote — the quotes backend timed out (*504 Gateway Timeout*). Shall I try again?",
        {"get_stock_price": {"latency_ms": [150, 300, 200]}},
        orders=ALL, model=GEMINI_3,
    ),
    Run(
        "gemini", "hung_tool",
        "Gemini 2.5: three calls without ids, of which run_sql hangs; the handler must give up on it and answer it with an error.",
        "2026-11-05T16:08:33Z",
        "You are the internal helpdesk assistant of Acme. Use the tools to look up people, tickets and calendars. If a lookup fails, say so.",
        "Is Priya Nair's VPN access request still open? And is she free tomorrow afternoon?",
        [Round([
            C("lookup_user", {"email": "priya.nair@acme.io"},
              j({"name": "Priya Nair", "email": "priya.nair@acme.io", "title": "Data Engineer", "team": "Data Platform", "location": "Bangalore", "timezone": "Asia/Kolkata"}), latency=120),
            C("run_sql", {"query": "SELECT id, status, updated_at FROM helpdesk.tickets WHERE requester = 'priya.nair@acme.io' AND category = 'access' ORDER BY updated_at DESC LIMIT 3"},
              hang=True, latency=15000),
            C("get_calendar_events", {"date": "2026-11-06", "calendar": "priya.nair@acme.io"},
              j({"date": "2026-11-06", "events": [{"start": "14:00", "end": "15:00", "title": "Sprint review"}]}), latency=95),
        ])],
        "**Priya Nair** (Data Engineer, Data Platform, Bangalore).\n\n"
        "- **VPN request:** I couldn't check it — the helpdesk query timed out after 15 s.\n"
        "- **Tomorrow afternoon (6 Nov, IST):** only the sprint review 14:00–15:00, so she's free after 15:00.",
        {"lookup_user": {"latency_ms": 120}, "get_calendar_events": {"latency_ms": 100}},
        policy={"tool_deadline_ms": 20000}, ids=False,
    ),
    Run(
        "gemini", "three_round_loop",
        "Gemini 3, streamed with each call in its own chunk: three rounds of two calls with ids, then a final answer.",
        "2026-11-06T08:14:02Z",
        "You are the on-call assistant of the data platform team. Investigate with the tools, then give the root cause and a recommended fix. Read-only access only.",
        "Yesterday's dashboard refresh (2026-11-05) never finished. What happened?",
        [
            Round([
                C("list_dir", {"path": "/var/log/dashboards/2026-11-05"}, "refresh.log\nrefresh.metrics.json", latency=30),
                C("search_docs", {"query": "dashboard refresh runbook", "max_results": 3}, j({"results": [
                    {"title": "Runbook: dashboard refresh", "url": "https://wiki.acme.io/data/runbooks/dashboard-refresh",
                     "snippet": "The refresh rebuilds the materialized views in order: sessions_daily, revenue_daily, funnel_daily. Config: /etc/dashboards/refresh.yaml."}]}), latency=240),
            ], "I'll look at that day's logs and the runbook first."),
            Round([
                C("read_file", {"path": "/var/log/dashboards/2026-11-05/refresh.log"},
                  "2026-11-05T03:00:00Z INFO  refresh starting\n2026-11-05T03:00:41Z INFO  sessions_daily rebuilt in 41.0 s\n2026-11-05T03:00:41Z INFO  revenue_daily: waiting for lock on analytics.orders\n", latency=55),
                C("read_file", {"path": "/etc/dashboards/refresh.yaml"},
                  "schedule: \"0 3 * * *\"\nviews: [sessions_daily, revenue_daily, funnel_daily]\nlock_timeout: 0  # wait forever\n", latency=40),
            ], "The refresh stalled on revenue_daily, waiting for a lock. Let me read the log and the config."),
            Round([
                C("run_sql", {"query": "SELECT pid, state, query_start, left(query, 60) AS query FROM pg_stat_activity WHERE datname = 'analytics' AND wait_event_type = 'Lock'"},
                  "  pid  | state  |     query_start     |                    query\n-------+--------+---------------------+----------------------------------------------\n 48122 | active | 2026-11-05 03:00:41 | REFRESH MATERIALIZED VIEW analytics.revenue_daily\n(1 row)", latency=180),
                C("run_sql", {"query": "SELECT pid, usename, xact_start, left(query, 60) AS query FROM pg_stat_activity WHERE pid IN (SELECT unnest(pg_blocking_pids(48122)))"},
                  "  pid  | usename  |     xact_start      |                  query\n-------+----------+---------------------+------------------------------------------\n 47310 | backfill | 2026-11-04 22:12:09 | UPDATE analytics.orders SET currency = ...\n(1 row)", latency=160),
            ], "Let me see which session holds the lock."),
        ],
        "**Root cause:** a manual backfill (`backfill` user, pid 47310) has held a transaction on `analytics.orders` open since 22:12 the night before. The refresh's `REFRESH MATERIALIZED VIEW revenue_daily` has been waiting for its lock since 03:00:41, and `refresh.yaml` sets `lock_timeout: 0`, so it waits forever; funnel_daily never started.\n\n"
        "**Fix:** finish or cancel the backfill transaction (pid 47310), then re-run the refresh. Set a `lock_timeout` (e.g. 10 min) so a stuck lock fails the job loudly instead of hanging.",
        {"list_dir": {"latency_ms": 40}, "search_docs": {"latency_ms": 220},
         "read_file": {"latency_ms": [80, 60]}, "run_sql": {"latency_ms": [200, 150]}},
        stream=True, model=GEMINI_3, chunking="call_per_chunk",
    ),
    Run(
        "gemini", "twenty_parallel",
        "Gemini 2.5: twenty get_stock_price calls without ids in one turn; every result pairs by position among the twenty.",
        "2026-11-06T15:42:03Z",
        "You are a portfolio assistant. Quote prices only from get_stock_price; never estimate or use remembered prices.",
        "Snapshot my watchlist please: " + ", ".join(t for t, _, _ in WATCHLIST) + ". Which ones moved more than 2% either way today?",
        [Round([C("get_stock_price", {"ticker": t}, quote(t, p, c, f"2026-11-06T15:42:{7 + i // 4:02d}Z"))
                for i, (t, p, c) in enumerate(WATCHLIST)])],
        watchlist_final(),
        {"get_stock_price": {"latency_ms": {"min": 50, "max": 400}}},
        orders=SHUFFLE, ids=False,
    ),
    Run(
        "gemini", "call_per_chunk",
        "Gemini 2.5: four calls without ids, streamed by the mock with each call alone in its chunk, as parts[0] with no index; a client that keys calls by part index keeps only one.",
        "2026-11-07T10:26:51Z",
        "You are a research assistant. Fetch the pages the user names and check them against the internal docs.",
        "Compare the changelogs of requests 2.33, httpx 0.29 and urllib3 2.6 with what our HTTP client guide recommends.",
        [Round([
            C("fetch_url", {"url": "https://requests.readthedocs.io/en/latest/community/updates/"},
              "HTTP 200 OK\nRequests 2.33.0: drops Python 3.9; `verify` now defaults to the system trust store via truststore.", latency=410),
            C("fetch_url", {"url": "https://www.python-httpx.org/changelog/"},
              "HTTP 200 OK\nhttpx 0.29.0: HTTP/2 on by default when h2 is installed; `proxies=` removed (use `proxy=`).", latency=380),
            C("fetch_url", {"url": "https://urllib3.readthedocs.io/en/stable/changelog.html"},
              "HTTP 200 OK\nurllib3 2.6.0: Emscripten support is stable; `HTTPResponse.getheaders()` removed.", latency=350),
            C("search_docs", {"query": "HTTP client guide python", "max_results": 3}, j({"results": [
                {"title": "Guide: HTTP clients in Python services", "url": "https://wiki.acme.io/eng/http-clients",
                 "snippet": "Use httpx with an explicit timeout; pass proxies= for the egress proxy; pin urllib3 < 2.6 until the vendored SDKs stop calling getheaders()."}]}), latency=220),
        ])],
        "Two things in our guide are now out of date:\n\n"
        "- **httpx 0.29** removed `proxies=`; the guide still says to pass `proxies=` for the egress proxy — it should say `proxy=`.\n"
        "- **urllib3 2.6** removed `HTTPResponse.getheaders()`, which is exactly why the guide pins `urllib3 < 2.6`; keep the pin until the vendored SDKs are updated.\n\n"
        "Requests 2.33 (system trust store by default, no Python 3.9) needs no change to the guide.",
        {"fetch_url": {"latency_ms": [300, 200, 100]}, "search_docs": {"latency_ms": 150}},
        orders=["call", "reverse", {"shuffle": 1}], ids=False, stream_chunking="call_per_chunk",
    ),
    Run(
        "gemini", "mixed_read_write",
        "Gemini 3: two reads and two write_file calls with ids in one turn; the writes must not overlap (Gemini has no switch to ask for one call at a time).",
        "2026-11-07T13:47:05Z",
        "You are a coding assistant working in the repository at /srv/repos/notify-service. Use the file tools; always write complete file contents.",
        "Bump the version to 1.8.0 and add docs/releases/1.8.0.md saying we now retry SMS sends with backoff. Also show me the Dockerfile and what's in docs/releases.",
        [Round([
            C("read_file", {"path": "Dockerfile"},
              "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install --no-cache-dir .\nCMD [\"python\", \"-m\", \"notify_service\"]\n", latency=45),
            C("list_dir", {"path": "docs/releases"}, "1.6.0.md\n1.7.0.md\n1.7.1.md\nindex.md", latency=25),
            C("write_file", {"path": "VERSION", "content": "1.8.0\n"}, "Wrote 6 bytes to VERSION", latency=105),
            C("write_file", {"path": "docs/releases/1.8.0.md", "content": "# notify-service 1.8.0\n\n- SMS sends are retried with exponential backoff (3 attempts).\n"},
              "Wrote 85 bytes to docs/releases/1.8.0.md", latency=115),
        ], "I'll update both files and look at the Dockerfile and the releases folder.")],
        "Done: `VERSION` is `1.8.0` and `docs/releases/1.8.0.md` describes the SMS retries with backoff.\n\n"
        "**Dockerfile:** `python:3.12-slim`, installs the package and runs `python -m notify_service`.\n"
        "**docs/releases:** 1.6.0, 1.7.0, 1.7.1 and `index.md` — link the new 1.8.0 page from the index.",
        {"read_file": {"latency_ms": 60}, "list_dir": {"latency_ms": 30},
         "write_file": {"latency_ms": 120, "side_effects": True}},
        orders=SHUFFLE, model=GEMINI_3,
    ),
]

TYPICAL_LATENCY = {  # observed-latency ranges (ms) for calls without an explicit one
    "get_stock_price": (90, 380), "fetch_url": (80, 450),
}

# ---------------------------------------------------------------------------------------------
# Per-cassette randomness (ids, chunking, gaps, token counts).


class Ctx:
    def __init__(self, run: Run):
        self.run = run
        self.ids = random.Random(f"tooltape-bundled/ids/{run.provider}/{run.name}")
        self.noise = random.Random(f"tooltape-bundled/noise/{run.provider}/{run.name}")
        self.seen: set[str] = set()
        self.clock = dt.datetime.strptime(run.recorded_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc).timestamp()
        self.fingerprint = "fp_" + self._hex(10)

    def _alnum(self, n):
        return "".join(self.ids.choice(ALNUM) for _ in range(n))

    def _hex(self, n):
        return "".join(self.ids.choice(HEX) for _ in range(n))

    def fresh(self, make):
        while True:
            v = make()
            if v not in self.seen:
                self.seen.add(v)
                return v

    def toolu(self):
        return self.fresh(lambda: "toolu_01" + self._alnum(22))

    def msg_anthropic(self):
        return self.fresh(lambda: "msg_01" + self._alnum(22))

    def call(self):
        return self.fresh(lambda: "call_" + self._alnum(24))

    def gemini_call(self):
        return self.fresh(lambda: "call_" + "".join(self.ids.choice(string.ascii_lowercase + string.digits) for _ in range(8)))

    def gemini_response_id(self):
        return self.fresh(lambda: self._alnum(23))

    def signature(self):
        """An opaque thought signature: base64 of made-up bytes (the SDKs decode it)."""
        while True:
            sig = base64.b64encode(bytes(self.ids.randrange(256) for _ in range(66))).decode()
            if "+" not in sig and "/" not in sig:  # valid in either base64 alphabet
                return sig

    def chatcmpl(self):
        return self.fresh(lambda: "chatcmpl-" + self._alnum(29))

    def resp_family(self):
        """A response id and a maker of its item ids: resp_/fc_/msg_ + 48 hex; the first 8 hex
        are the creation time and the last 16 are shared by the response and its items, as in
        recorded traffic."""
        created = int(self.clock)
        suffix = self._hex(16)
        rid = self.fresh(lambda: f"resp_{created:08x}{self._hex(24)}{suffix}")
        return rid, lambda prefix: self.fresh(lambda: f"{prefix}_{created:08x}{self._hex(24)}{suffix}")

    def latency(self, c: Call):
        if c.latency is not None:
            return c.latency
        lo, hi = TYPICAL_LATENCY.get(c.name, (60, 300))
        return self.noise.randint(lo, hi)

    def pieces(self, text, lo, hi, first_empty=False):
        """Split text into consecutive fragments of lo..hi characters."""
        out = [""] if first_empty else []
        i = 0
        while i < len(text):
            n = self.noise.randint(lo, hi)
            out.append(text[i:i + n])
            i += n
        return out

    def words(self, text, lo=1, hi=4):
        """Split text into runs of lo..hi words (each keeps its trailing space)."""
        toks, cur = [], ""
        for ch in text:
            cur += ch
            if ch in " \n":
                toks.append(cur)
                cur = ""
        if cur:
            toks.append(cur)
        out, i = [], 0
        while i < len(toks):
            n = self.noise.randint(lo, hi)
            out.append("".join(toks[i:i + n]))
            i += n
        return out

    def first_gap(self):
        return self.noise.randint(380, 950)

    def gap(self):
        return self.noise.randint(4, 45)


def tokens(obj, extra=0):
    text = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
    return max(1, len(text) // 4 + extra)


def ev(event, data, gap):
    """One stored SSE event; `event` is None for OpenAI Chat."""
    out = {} if event is None else {"event": event}
    out["data"] = data if isinstance(data, str) else j(data)
    out["gap_ms"] = gap
    return out


# ---------------------------------------------------------------------------------------------
# Anthropic Messages


class Anthropic:
    history_key = "messages"

    @staticmethod
    def first_request(run):
        req = {"model": MODELS["anthropic"][0], "max_tokens": 4096, "system": run.system,
               "tools": [tool_def("anthropic", n) for n in offered_tools(run)]}
        req.update(copy.deepcopy(run.request_extra))
        req["messages"] = [{"role": "user", "content": run.user}]
        if run.stream:
            req["stream"] = True
        return req

    @staticmethod
    def new_call_id(ctx):
        return ctx.toolu()

    @staticmethod
    def reply(ctx, req, rnd, calls):
        content = []
        text = rnd.text if rnd else ctx.run.final
        if text:
            content.append({"type": "text", "text": text})
        for cid, c in calls:
            content.append({"type": "tool_use", "id": cid, "name": c.name, "input": copy.deepcopy(c.input)})
        body = {"id": ctx.msg_anthropic(), "type": "message", "role": "assistant", "model": MODELS["anthropic"][1],
                "content": content, "stop_reason": "tool_use" if calls else "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": tokens(req, 380), "cache_creation_input_tokens": 0,
                          "cache_read_input_tokens": 0, "output_tokens": tokens(content, 12), "service_tier": "standard"}}
        return body, [{"role": "assistant", "content": copy.deepcopy(content)}]

    @staticmethod
    def results(calls):
        blocks = []
        for cid, c in calls:
            b = {"type": "tool_result", "tool_use_id": cid, "content": result_text(c)}
            if c.fail or c.hang:
                b["is_error"] = True
            blocks.append(b)
        return [{"role": "user", "content": blocks}]

    @staticmethod
    def stream(ctx, body):
        start = {k: v for k, v in body.items()}
        start["content"] = []
        start["stop_reason"] = None
        start["usage"] = dict(body["usage"], output_tokens=1)
        events = [ev("message_start", {"type": "message_start", "message": start}, ctx.first_gap())]
        for i, block in enumerate(body["content"]):
            if block["type"] == "text":
                events.append(ev("content_block_start", {"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}, ctx.gap()))
                if i == 0:
                    events.append(ev("ping", {"type": "ping"}, 1))
                for piece in ctx.words(block["text"], 2, 6):
                    events.append(ev("content_block_delta", {"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": piece}}, ctx.gap()))
            else:
                events.append(ev("content_block_start", {"type": "content_block_start", "index": i, "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}}, ctx.gap()))
                if i == 0:
                    events.append(ev("ping", {"type": "ping"}, 1))
                # Anthropic streams the input as Python-style JSON ("k": "v"), roughly a key at a time.
                for piece in ctx.pieces(json.dumps(block["input"], ensure_ascii=False), 6, 24, first_empty=True):
                    events.append(ev("content_block_delta", {"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": piece}}, ctx.gap() * 3))
            events.append(ev("content_block_stop", {"type": "content_block_stop", "index": i}, ctx.gap()))
        events.append(ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": body["stop_reason"], "stop_sequence": None},
                                           "usage": {"output_tokens": body["usage"]["output_tokens"]}}, ctx.gap()))
        events.append(ev("message_stop", {"type": "message_stop"}, 1))
        return events

    @staticmethod
    def accumulate(events):
        """Rebuild the message from a stream, as the Anthropic SDK's accumulator does."""
        msg = None
        partial: dict[int, str] = {}
        for e in events:
            d = json.loads(e["data"])
            assert d["type"] == e["event"], f"event name {e['event']} but data type {d['type']}"
            t = d["type"]
            if t == "ping":
                continue
            if msg is None:
                assert t == "message_start", f"first event is {t}"
                msg = copy.deepcopy(d["message"])
                continue
            if t == "content_block_start":
                assert d["index"] == len(msg["content"]), "block indices must be contiguous"
                msg["content"].append(copy.deepcopy(d["content_block"]))
            elif t == "content_block_delta":
                assert d["index"] == len(msg["content"]) - 1, "delta for a block that is not open"
                blk, dl = msg["content"][d["index"]], d["delta"]
                if dl["type"] == "text_delta":
                    blk["text"] += dl["text"]
                else:
                    partial[d["index"]] = partial.get(d["index"], "") + dl["partial_json"]
            elif t == "content_block_stop":
                blk = msg["content"][d["index"]]
                if blk["type"] == "tool_use":
                    blk["input"] = json.loads(partial.get(d["index"], "") or "{}")
            elif t == "message_delta":
                msg["stop_reason"] = d["delta"]["stop_reason"]
                msg["stop_sequence"] = d["delta"]["stop_sequence"]
                msg["usage"]["output_tokens"] = d["usage"]["output_tokens"]
            elif t == "message_stop":
                assert e is events[-1], "message_stop must be last"
        return msg

    @staticmethod
    def calls_of(body):
        return [(b["id"], b["name"], b["input"]) for b in body["content"] if b["type"] == "tool_use"]

    @staticmethod
    def wants_tools(body):
        return body["stop_reason"] == "tool_use"

    @staticmethod
    def history_of(body):
        return [{"role": "assistant", "content": body["content"]}]

    @staticmethod
    def results_of(entries, calls=()):
        assert len(entries) == 1 and entries[0]["role"] == "user", "results must be ONE user message"
        out = []
        for b in entries[0]["content"]:
            assert b["type"] == "tool_result", "only tool_result blocks expected"
            out.append((b["tool_use_id"], b.get("is_error", False)))
        return out


# ---------------------------------------------------------------------------------------------
# OpenAI Chat Completions


class Chat:
    history_key = "messages"

    @staticmethod
    def first_request(run):
        req = {"model": MODELS["openai-chat"][0],
               "messages": [{"role": "system", "content": run.system}, {"role": "user", "content": run.user}],
               "tools": [tool_def("openai-chat", n) for n in offered_tools(run)]}
        req.update(copy.deepcopy(run.request_extra))
        if run.stream:
            req["stream"] = True
            req["stream_options"] = {"include_usage": True}
        return req

    @staticmethod
    def new_call_id(ctx):
        return ctx.call()

    @staticmethod
    def reply(ctx, req, rnd, calls):
        if calls:
            msg = {"role": "assistant", "content": rnd.text,
                   "tool_calls": [{"id": cid, "type": "function", "function": {"name": c.name, "arguments": j(c.input)}} for cid, c in calls]}
        else:
            msg = {"role": "assistant", "content": ctx.run.final}
        if not ctx.run.stream:
            # A non-streamed message as the API returns it; a streamed one is what the deltas add up to.
            msg["refusal"] = None
            msg["annotations"] = []
        elif not calls:
            msg["refusal"] = None
        prompt, completion = tokens(req, 60), tokens(msg, 5)
        body = {"id": ctx.chatcmpl(), "object": "chat.completion", "created": int(ctx.clock), "model": MODELS["openai-chat"][1],
                "choices": [{"index": 0, "message": msg, "logprobs": None, "finish_reason": "tool_calls" if calls else "stop"}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                          "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                          "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                        "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
                "service_tier": "default", "system_fingerprint": ctx.fingerprint}
        return body, [copy.deepcopy(msg)]

    @staticmethod
    def results(calls):
        return [{"role": "tool", "tool_call_id": cid, "content": result_text(c)} for cid, c in calls]

    @staticmethod
    def stream(ctx, body):
        msg, choice = body["choices"][0]["message"], body["choices"][0]
        head = {"id": body["id"], "object": "chat.completion.chunk", "created": body["created"], "model": body["model"],
                "system_fingerprint": body["system_fingerprint"]}

        def chunk(delta, finish=None):
            return dict(head, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])

        events = []
        first = {"role": "assistant", "content": None if msg.get("tool_calls") else ""}
        if "refusal" in msg:
            first["refusal"] = None
        events.append(ev(None, chunk(first), ctx.first_gap()))
        if msg["content"]:
            for piece in ctx.words(msg["content"], 1, 4):
                events.append(ev(None, chunk({"content": piece}), ctx.gap()))
        for i, tc in enumerate(msg.get("tool_calls") or []):
            events.append(ev(None, chunk({"tool_calls": [{"index": i, "id": tc["id"], "type": "function",
                                                          "function": {"name": tc["function"]["name"], "arguments": ""}}]}), ctx.gap()))
            for piece in ctx.pieces(tc["function"]["arguments"], 3, 12):
                events.append(ev(None, chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}), ctx.gap()))
        events.append(ev(None, chunk({}, choice["finish_reason"]), ctx.gap()))
        events.append(ev(None, dict(head, choices=[], usage=body["usage"]), ctx.gap()))
        events.append(ev(None, "[DONE]", 1))
        return events

    @staticmethod
    def accumulate(events):
        """Rebuild the completion from chunks, as the OpenAI SDK's stream helper does."""
        assert events[-1]["data"] == "[DONE]", "a Chat stream ends with [DONE]"
        msg, finish, usage, head = {}, None, None, None
        for e in events[:-1]:
            assert "event" not in e, "Chat streams have no event: lines"
            d = json.loads(e["data"])
            assert d["object"] == "chat.completion.chunk"
            if head is None:
                head = {k: d[k] for k in ("id", "created", "model")}
            assert all(d[k] == v for k, v in head.items()), "chunks must share id, created and model"
            if not d["choices"]:
                usage = d["usage"]
                continue
            assert usage is None, "the usage chunk comes last"
            ch = d["choices"][0]
            for k, v in ch["delta"].items():
                if k == "tool_calls":
                    tcs = msg.setdefault("tool_calls", [])
                    for frag in v:
                        if frag["index"] == len(tcs):
                            tcs.append({"id": frag["id"], "type": frag["type"], "function": {"name": frag["function"]["name"], "arguments": ""}})
                        assert frag["index"] == len(tcs) - 1, "tool call indices must be contiguous and in order"
                        tcs[frag["index"]]["function"]["arguments"] += frag["function"]["arguments"]
                elif k == "content" and isinstance(v, str) and isinstance(msg.get("content"), str):
                    msg["content"] += v
                else:
                    msg[k] = v
            if ch["finish_reason"]:
                finish = ch["finish_reason"]
        assert usage is not None, "usage chunk missing"
        return dict(head, object="chat.completion", choices=[{"index": 0, "message": msg, "finish_reason": finish}], usage=usage)

    @staticmethod
    def calls_of(body):
        return [(tc["id"], tc["function"]["name"], json.loads(tc["function"]["arguments"]))
                for tc in body["choices"][0]["message"].get("tool_calls") or []]

    @staticmethod
    def wants_tools(body):
        return body["choices"][0]["finish_reason"] == "tool_calls"

    @staticmethod
    def history_of(body):
        return [body["choices"][0]["message"]]

    @staticmethod
    def results_of(entries, calls=()):
        out = []
        for m in entries:
            assert m["role"] == "tool", "results must be a run of tool messages"
            out.append((m["tool_call_id"], False))
        return out


# ---------------------------------------------------------------------------------------------
# OpenAI Responses (stateless: the full history goes back in `input`)


class Responses:
    history_key = "input"

    @staticmethod
    def first_request(run):
        req = {"model": MODELS["openai-responses"][0], "instructions": run.system,
               "input": [{"role": "user", "content": run.user}],
               "tools": [tool_def("openai-responses", n) for n in offered_tools(run)]}
        req.update(copy.deepcopy(run.request_extra))
        if run.stream:
            req["stream"] = True
        return req

    @staticmethod
    def new_call_id(ctx):
        return ctx.call()

    @staticmethod
    def reply(ctx, req, rnd, calls):
        rid, item_id = ctx.resp_family()
        output = []
        text = rnd.text if rnd else ctx.run.final
        if text:
            output.append({"id": item_id("msg"), "type": "message", "status": "completed",
                           "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}], "role": "assistant"})
        for cid, c in calls:
            output.append({"id": item_id("fc"), "type": "function_call", "status": "completed",
                           "arguments": j(c.input), "call_id": cid, "name": c.name})
        inp, out = tokens(req, 40), tokens(output, 4)
        body = response_object(rid, int(ctx.clock), req, "completed", output,
                               {"input_tokens": inp, "input_tokens_details": {"cached_tokens": 0},
                                "output_tokens": out, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": inp + out})
        return body, copy.deepcopy(output)

    @staticmethod
    def results(calls):
        return [{"type": "function_call_output", "call_id": cid, "output": result_text(c)} for cid, c in calls]

    @staticmethod
    def stream(ctx, body):
        seq = iter(range(10**6))
        events = []

        def add(data, gap=None):
            data = {"type": data["type"], "sequence_number": next(seq), **{k: v for k, v in data.items() if k != "type"}}
            events.append(ev(data["type"], data, ctx.gap() if gap is None else gap))

        shell = dict(body, status="in_progress", output=[], usage=None)
        add({"type": "response.created", "response": shell}, ctx.first_gap() // 2)
        add({"type": "response.in_progress", "response": shell}, 1)
        for oi, item in enumerate(body["output"]):
            if item["type"] == "message":
                add({"type": "response.output_item.added", "output_index": oi,
                     "item": dict(item, status="in_progress", content=[])}, ctx.first_gap() // 2)
                text = item["content"][0]["text"]
                empty = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
                add({"type": "response.content_part.added", "item_id": item["id"], "output_index": oi, "content_index": 0, "part": empty}, 1)
                for piece in ctx.words(text, 1, 4):
                    add({"type": "response.output_text.delta", "item_id": item["id"], "output_index": oi, "content_index": 0,
                         "delta": piece, "logprobs": []})
                add({"type": "response.output_text.done", "item_id": item["id"], "output_index": oi, "content_index": 0,
                     "text": text, "logprobs": []})
                add({"type": "response.content_part.done", "item_id": item["id"], "output_index": oi, "content_index": 0,
                     "part": item["content"][0]}, 1)
            else:
                add({"type": "response.output_item.added", "output_index": oi,
                     "item": dict(item, status="in_progress", arguments="")}, ctx.first_gap() // 2 if oi == 0 else None)
                for piece in ctx.pieces(item["arguments"], 2, 10):
                    add({"type": "response.function_call_arguments.delta", "item_id": item["id"], "output_index": oi, "delta": piece})
                add({"type": "response.function_call_arguments.done", "item_id": item["id"], "output_index": oi,
                     "arguments": item["arguments"]})
            add({"type": "response.output_item.done", "output_index": oi, "item": item}, 1)
        add({"type": "response.completed", "response": body})
        return events

    @staticmethod
    def accumulate(events):
        """Check a Responses stream and rebuild its output, as the OpenAI SDK's helper does."""
        first = json.loads(events[0]["data"])
        assert first["type"] == "response.created", "a Responses stream starts with response.created"
        last_seq, items, final = -1, {}, None
        for e in events:
            d = json.loads(e["data"])
            assert d["type"] == e["event"], "event name and data type differ"
            assert d["sequence_number"] > last_seq, "sequence_number must increase"
            last_seq = d["sequence_number"]
            t = d["type"]
            if t == "response.output_item.added":
                assert d["output_index"] == len(items), "output_index must be contiguous"
                items[d["output_index"]] = copy.deepcopy(d["item"])
            elif t == "response.function_call_arguments.delta":
                items[d["output_index"]]["arguments"] += d["delta"]
            elif t == "response.function_call_arguments.done":
                assert items[d["output_index"]]["arguments"] == d["arguments"]
            elif t == "response.content_part.added":
                items[d["output_index"]]["content"].append(copy.deepcopy(d["part"]))
            elif t == "response.output_text.delta":
                items[d["output_index"]]["content"][d["content_index"]]["text"] += d["delta"]
            elif t == "response.output_item.done":
                got = items[d["output_index"]]
                got["status"] = "completed"
                assert got == d["item"], "accumulated item differs from output_item.done"
            elif t == "response.completed":
                assert e is events[-1], "response.completed must be last"
                final = d["response"]
        assert final is not None, "no response.completed"
        assert final["output"] == [items[i] for i in range(len(items))], "accumulated output differs"
        return final

    @staticmethod
    def calls_of(body):
        return [(i["call_id"], i["name"], json.loads(i["arguments"])) for i in body["output"] if i["type"] == "function_call"]

    @staticmethod
    def wants_tools(body):
        return any(i["type"] == "function_call" for i in body["output"])

    @staticmethod
    def history_of(body):
        return body["output"]

    @staticmethod
    def results_of(entries, calls=()):
        out = []
        for m in entries:
            assert m.get("type") == "function_call_output", "results must be function_call_output items"
            out.append((m["call_id"], False))
        return out


def response_object(rid, created, req, status, output, usage):
    return {"id": rid, "object": "response", "created_at": created, "status": status, "background": False,
            "error": None, "incomplete_details": None, "instructions": req["instructions"], "max_output_tokens": None,
            "model": MODELS["openai-responses"][1], "output": output, "parallel_tool_calls": req.get("parallel_tool_calls", True),
            "previous_response_id": None, "reasoning": {"effort": None, "summary": None}, "service_tier": "default",
            "store": True, "temperature": 1.0, "text": {"format": {"type": "text"}}, "tool_choice": "auto",
            "tools": copy.deepcopy(req["tools"]), "top_p": 1.0, "truncation": "disabled", "usage": usage,
            "user": None, "metadata": {}}


# ---------------------------------------------------------------------------------------------
# Gemini generateContent (Developer API)


def gemini_call_ids(calls):
    """tooltape's ids for the calls of a turn that carry none (crates/engine/src/provider/gemini/ids.rs):
    `name#k@fp`, k the call's position among the calls of that name, fp FNV-1a (32 bits) over
    `name \\x1f canonical-args \\x1e` of every call of the turn, in order."""
    text = "".join(f"{c.name}\x1f{json.dumps(c.input, sort_keys=True, separators=(',', ':'), ensure_ascii=False)}\x1e"
                   for c in calls)
    h = 0x811C9DC5
    for b in text.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    seen: dict[str, int] = {}
    out = []
    for c in calls:
        k = seen.get(c.name, 0)
        seen[c.name] = k + 1
        out.append(f"{c.name}#{k}@{h:08x}")
    return out


def is_gemini_synthetic(cid):
    return "#" in cid and "@" in cid


class Gemini:
    history_key = "contents"
    stream_in_body = False  # the URL says :streamGenerateContent; the body has no "stream"

    @staticmethod
    def first_request(run):
        req = {"contents": [{"role": "user", "parts": [{"text": run.user}]}],
               "systemInstruction": {"parts": [{"text": run.system}]},
               "tools": [{"functionDeclarations": [tool_def("gemini", n) for n in offered_tools(run)]}],
               "generationConfig": {"temperature": 0.4}}
        req.update(copy.deepcopy(run.request_extra))
        return req

    @staticmethod
    def turn_ids(ctx, calls):
        if ctx.run.ids:
            return [ctx.gemini_call() for _ in calls]
        return gemini_call_ids(calls)

    @staticmethod
    def reply(ctx, req, rnd, calls):
        parts = []
        text = rnd.text if rnd else ctx.run.final
        if text:
            parts.append({"text": text})
        for i, (cid, c) in enumerate(calls):
            fc = {"id": cid} if ctx.run.ids else {}
            fc.update({"name": c.name, "args": copy.deepcopy(c.input)})
            part = {"functionCall": fc}
            if i == 0 and ctx.run.ids:
                # Gemini 3 thinks: the signature rides on the first call part only.
                part["thoughtSignature"] = ctx.signature()
            parts.append(part)
        content = {"role": "model", "parts": parts}
        prompt, out = tokens(req, 30), tokens(parts, 4)
        usage = {"promptTokenCount": prompt, "candidatesTokenCount": out, "totalTokenCount": prompt + out,
                 "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]}
        if ctx.run.model == GEMINI_3:
            thoughts = ctx.noise.randint(40, 240)
            usage["thoughtsTokenCount"] = thoughts
            usage["totalTokenCount"] += thoughts
        body = {"candidates": [{"content": content, "finishReason": "STOP", "index": 0}],
                "usageMetadata": usage, "modelVersion": ctx.run.model or MODELS["gemini"][1],
                "responseId": ctx.gemini_response_id()}
        return body, [copy.deepcopy(content)]

    @staticmethod
    def results(calls):
        parts = []
        for cid, c in calls:
            fr = {} if is_gemini_synthetic(cid) else {"id": cid}
            key = "error" if c.fail or c.hang else "output"
            fr.update({"name": c.name, "response": {key: result_text(c)}})
            parts.append({"functionResponse": fr})
        return [{"role": "user", "parts": parts}]

    @staticmethod
    def stream(ctx, body):
        """Whole GenerateContentResponse chunks: the text in pieces, then the calls in one chunk
        or each in its own (run.chunking); the last chunk has finishReason and the full usage."""
        cand = body["candidates"][0]
        chunks = []
        calls_open = False
        for part in cand["content"]["parts"]:
            if "functionCall" in part:
                if ctx.run.chunking == "one_chunk" and calls_open:
                    chunks[-1].append(part)
                else:
                    chunks.append([part])
                calls_open = True
                continue
            calls_open = False
            for piece in ctx.words(part["text"], 3, 9):
                chunks.append([{"text": piece}])
        events = []
        usage = body["usageMetadata"]
        for i, parts in enumerate(chunks):
            last = i == len(chunks) - 1
            c = {"content": {"parts": parts, "role": "model"}}
            if last:
                c["finishReason"] = cand["finishReason"]
                c["index"] = 0
            u = usage if last else {"promptTokenCount": usage["promptTokenCount"], "totalTokenCount": usage["promptTokenCount"],
                                    "promptTokensDetails": usage["promptTokensDetails"]}
            chunk = {"candidates": [c], "usageMetadata": u, "modelVersion": body["modelVersion"], "responseId": body["responseId"]}
            events.append(ev(None, chunk, ctx.first_gap() if i == 0 else ctx.gap()))
        return events

    @staticmethod
    def accumulate(events):
        """Rebuild the response from its chunks: parts appended in order (text pieces joined),
        the last chunk's finishReason and usage."""
        parts, head, finish, usage, index = [], None, None, None, None
        for e in events:
            assert "event" not in e and e["data"] != "[DONE]", "Gemini streams are bare data: events, no [DONE]"
            d = json.loads(e["data"])
            h = {k: d[k] for k in ("modelVersion", "responseId")}
            assert head in (None, h), "chunks must share modelVersion and responseId"
            head = h
            c = d["candidates"][0]
            for p in c["content"]["parts"]:
                if parts and set(p) == {"text"} and set(parts[-1]) == {"text"}:
                    parts[-1]["text"] += p["text"]
                else:
                    parts.append(copy.deepcopy(p))
            finish = c.get("finishReason", finish)
            index = c.get("index", index)
            usage = d["usageMetadata"]
        assert finish is not None, "no chunk has a finishReason"
        cand = {"content": {"role": "model", "parts": parts}, "finishReason": finish}
        if index is not None:
            cand["index"] = index
        return {"candidates": [cand], "usageMetadata": usage, **head}

    @staticmethod
    def calls_of(body):
        fcs = [p["functionCall"] for p in body["candidates"][0]["content"]["parts"] if "functionCall" in p]
        synthetic = gemini_call_ids([Call(f["name"], f["args"]) for f in fcs])
        return [(f.get("id") or s, f["name"], f["args"]) for f, s in zip(fcs, synthetic)]

    @staticmethod
    def wants_tools(body):
        return any("functionCall" in p for p in body["candidates"][0]["content"]["parts"])

    @staticmethod
    def history_of(body):
        return [body["candidates"][0]["content"]]

    @staticmethod
    def results_of(entries, calls=()):
        """(call id, error flag) per functionResponse; one without an id pairs with the next
        call of its name, as the real clients pair them."""
        assert len(entries) == 1 and entries[0]["role"] == "user", "results must be ONE user content"
        taken: dict[str, int] = {}
        out = []
        for p in entries[0]["parts"]:
            fr = p["functionResponse"]
            if "id" in fr:
                cid = fr["id"]
            else:
                k = taken.get(fr["name"], 0)
                taken[fr["name"]] = k + 1
                cid = [c for c, n, _ in calls if n == fr["name"]][k]
            out.append((cid, "error" in fr["response"]))
        return out


PROVIDERS = {"anthropic": Anthropic, "openai-chat": Chat, "openai-responses": Responses, "gemini": Gemini}
ID_SHAPES = {
    "anthropic": lambda i: i.startswith("toolu_01") and len(i) == 30 and i[8:].isalnum(),
    "openai-chat": lambda i: i.startswith("call_") and len(i) == 29 and i[5:].isalnum(),
    "openai-responses": lambda i: i.startswith("call_") and len(i) == 29 and i[5:].isalnum(),
    "gemini": lambda i: (i.startswith("call_") and len(i) == 13 and i[5:].isalnum() and i[5:].islower())
    or (is_gemini_synthetic(i) and i.rsplit("@", 1)[1].isalnum() and len(i.rsplit("@", 1)[1]) == 8),
}


def offered_tools(run):
    names = []
    for r in run.rounds:
        for c in r.calls:
            if c.name not in names:
                names.append(c.name)
    return names


# ---------------------------------------------------------------------------------------------
# Building a cassette


def build_cassette(run: Run):
    P = PROVIDERS[run.provider]
    ctx = Ctx(run)
    req = P.first_request(run)
    exchanges, turns, latencies = [], [], None
    for rnd in run.rounds + [None]:
        if not rnd:
            calls = []
        elif hasattr(P, "turn_ids"):  # Gemini: ids per turn (synthetic ones depend on every call)
            calls = list(zip(P.turn_ids(ctx, rnd.calls), rnd.calls))
        else:
            calls = [(P.new_call_id(ctx), c) for c in rnd.calls]
        body, hist = P.reply(ctx, req, rnd, calls)
        ex = {"request": req, "reply": {"stream": P.stream(ctx, body)} if run.stream else {"body": body}}
        if latencies:
            ex["tool_latency_ms"] = latencies
        exchanges.append(ex)
        if rnd is None:
            break
        turns.append(calls)
        latencies = {cid: ctx.latency(c) for cid, c in calls}
        ctx.clock += 2 + max(latencies.values()) / 1000 + ctx.noise.randint(0, 3)
        key = P.history_key
        req = {k: (copy.deepcopy(v) + hist + P.results(calls) if k == key else copy.deepcopy(v)) for k, v in req.items()}
    meta = {"model": run.model or MODELS[run.provider][1], "recorded_at": run.recorded_at, "source": SOURCE}
    if run.notes:
        meta["notes"] = run.notes
    cassette = {"format": "tooltape-cassette", "version": 1, "provider": run.provider, "meta": meta, "exchanges": exchanges}
    return cassette, turns


def collect_ids(obj, out):
    """Every string under an `id`/`call_id`/`tool_use_id`-like key, for the uniqueness check."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("id",) and isinstance(v, str):
                out.append(v)
            collect_ids(v, out)
    elif isinstance(obj, list):
        for v in obj:
            collect_ids(v, out)


def check_cassette(run: Run, cassette):
    """The checks promised in the module doc; raises AssertionError with the place."""
    P = PROVIDERS[run.provider]
    key = P.history_key
    exs = cassette["exchanges"]
    bodies = []
    for i, ex in enumerate(exs):
        where = f"{run.provider}/{run.name} exchange {i}"
        try:
            in_body = getattr(P, "stream_in_body", True)
            if "stream" in ex["reply"]:
                assert run.stream and (ex["request"].get("stream") is True or not in_body), "stream stored for a non-streaming request"
                bodies.append(P.accumulate(ex["reply"]["stream"]))
            else:
                assert not ex["request"].get("stream"), "body stored for a streaming request"
                bodies.append(ex["reply"]["body"])
        except AssertionError as e:
            raise AssertionError(f"{where}: {e}") from None
    # Reply ids (msg_, chatcmpl-, resp_, and Responses item ids) and call ids: unique, right shape.
    seen = set()
    for i, body in enumerate(bodies):
        ids = []
        collect_ids(body.get("output", []), ids)
        ids.append(body["id"] if "id" in body else body["responseId"])
        ids += [cid for cid, _, _ in P.calls_of(body)]
        for x in ids:
            assert x not in seen, f"{run.provider}/{run.name}: id {x} used twice"
            seen.add(x)
        for cid, _, _ in P.calls_of(body):
            assert ID_SHAPES[run.provider](cid), f"bad call id {cid}"
        for x in ids:
            if x.startswith(("fc_", "resp_")) or (run.provider == "openai-responses" and x.startswith("msg_")):
                tail = x.split("_", 1)[1]
                assert len(tail) == 48 and all(ch in HEX for ch in tail), f"bad id {x}"
    for i in range(len(exs)):
        where = f"{run.provider}/{run.name} exchange {i}"
        body, calls = bodies[i], P.calls_of(bodies[i])
        last = i == len(exs) - 1
        assert P.wants_tools(body) == (not last) == bool(calls), f"{where}: only the last reply is a final answer"
        if last:
            break
        prev, nxt = exs[i]["request"], exs[i + 1]["request"]
        assert {k: v for k, v in prev.items() if k != key} == {k: v for k, v in nxt.items() if k != key}, f"{where}: request fields other than the history changed"
        assert list(prev) == list(nxt), f"{where}: key order changed"
        ph, nh = prev[key], nxt[key]
        assert nh[:len(ph)] == ph, f"{where}: the next request does not extend this one's history"
        hist = P.history_of(body)
        assert nh[len(ph):len(ph) + len(hist)] == hist, f"{where}: the reply is not appended verbatim"
        got = P.results_of(nh[len(ph) + len(hist):], calls)
        assert [g for g, _ in got] == [cid for cid, _, _ in calls], f"{where}: results must answer every call once, in call order"
        spec = {cid: c for cid, c in turn_calls(run, bodies)[i]}
        for cid, flagged in got:
            if run.provider in ("anthropic", "gemini"):
                assert flagged == (spec[cid].fail or spec[cid].hang), f"{where}: error flag wrong for {cid}"
        lat = exs[i + 1].get("tool_latency_ms", {})
        assert list(lat) == [cid for cid, _, _ in calls], f"{where}: tool_latency_ms must cover the previous reply's calls"
    assert "tool_latency_ms" not in exs[0]


def turn_calls(run, bodies):
    P = PROVIDERS[run.provider]
    out = []
    for i, rnd in enumerate(run.rounds):
        ids = [cid for cid, _, _ in P.calls_of(bodies[i])]
        out.append(list(zip(ids, rnd.calls)))
    return out


# ---------------------------------------------------------------------------------------------
# Scenarios and what they exercise


def call_key(c: Call):
    return (c.name, json.dumps(c.input, sort_keys=True, ensure_ascii=False))


def outcome(run: Run, cid, c: Call, overrides):
    tool = run.tools.get(c.name, {})
    over = overrides.get(cid, {})
    if over.get("hang") or (tool.get("hang") and "fail" not in over and "output" not in over):
        return "hang"
    if "fail" in over:
        return "fail"
    if "output" in over:
        return "ok"
    return "fail" if "fail" in tool else "ok"


def resolved_latencies(run: Run, turns):
    """Per turn, each call's latency as the scenario gives it (None for a range)."""
    nth: dict[str, int] = {}
    out = []
    for turn in turns:
        row = []
        for _, c in turn:
            n = nth.get(c.name, 0)
            nth[c.name] = n + 1
            lat = run.tools.get(c.name, {}).get("latency_ms", 100)
            if isinstance(lat, list):
                lat = lat[min(n, len(lat) - 1)]
            elif isinstance(lat, dict):
                lat = None
            row.append(lat)
        out.append(row)
    return out


def tooltape_exercises(files, scenarios):
    """Fill each scenario's `exercises` with what tooltape computes from it (`tooltape scenario
    exercises --write`, the rule table's own conditions): the generated files are written to a
    scratch copy of the layout, the command rewrites the scenarios there, and they are read back.
    The binary is $TOOLTAPE_BIN, or `cargo run` of this checkout."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for path, text in files.items():
            out = tmp / path.relative_to(ROOT)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text)
        binary = os.environ.get("TOOLTAPE_BIN")
        cmd = [binary] if binary else ["cargo", "run", "-q", "--manifest-path", str(ROOT / "Cargo.toml"), "--"]
        subprocess.run(cmd + ["scenario", "exercises", "--write", str(tmp / "scenarios")],
                       check=True, stdout=subprocess.DEVNULL)
        for (prov, name), scn in scenarios.items():
            path = ROOT / "scenarios" / f"{prov}-{name}.json"
            text = (tmp / path.relative_to(ROOT)).read_text()
            files[path] = text
            scn["exercises"] = json.loads(text).get("exercises", [])


def build_scenario(run: Run, cassette, turns):
    overrides = {}
    for turn in turns:
        for cid, c in turn:
            if c.hang and not run.tools.get(c.name, {}).get("hang"):
                overrides[cid] = {"hang": True}
            elif c.fail and run.tools.get(c.name, {}).get("fail") != c.output:
                overrides[cid] = {"fail": c.output}
    called = offered_tools(run)
    for n, t in run.tools.items():
        if t.get("hang"):
            assert all(c.hang for turn in turns for _, c in turn if c.name == n), f"{run.name}: tool-level hang but a {n} call completed"
    assert set(run.tools) <= set(called), f"{run.name}: scenario names a tool the cassette never calls"
    if any(c.hang for t in turns for _, c in t):
        assert (run.policy or {}).get("tool_deadline_ms") == 20000, f"{run.name}: hung calls need tool_deadline_ms 20000"
    scn = {"format": "tooltape-scenario", "version": 1, "description": run.description,
           "cassette": f"../cassettes/{run.provider}/{run.name}.json",
           "tools": {n: run.tools[n] for n in called if n in run.tools}}
    if overrides:
        scn["calls"] = overrides
    scn["orders"] = run.orders
    if run.stream_chunking:
        scn["stream_chunking"] = run.stream_chunking
    if run.policy:
        scn["policy"] = run.policy
    return scn


def expect_without_ids(run: Run, turns, overrides, exercised):
    """Gemini calls without ids: the built-in bugs that change which results are sent show
    through name-and-position pairing as more than their own rule. The run stops at the first
    turn with calls (the API refuses these follow-ups), so that turn decides."""
    if run.provider != "gemini" or run.ids or not any(turns):
        return {}
    turn = next(t for t in turns if t)
    names = [c.name for _, c in turn]
    keys = [call_key(c) for _, c in turn]
    outs = [outcome(run, cid, c, overrides) for cid, c in turn]

    def judge(sent):
        """The rules broken by sending the results of calls `sent` (indices), in that order."""
        taken: dict[str, int] = {}
        by_call = [[] for _ in turn]
        unknown = False
        for j in sent:
            k = taken.get(names[j], 0)
            taken[names[j]] = k + 1
            same = [i for i, n in enumerate(names) if n == names[j]]
            if k < len(same):
                by_call[same[k]].append(j)
            else:
                unknown = True
        got = []  # in catalogue order
        if any(not r for r in by_call):
            got.append("missing-result")
        if unknown:
            got.append("unknown-result")
        if any(len(r) > 1 for r in by_call):
            got.append("duplicate-result")
        if any(keys[j] != keys[i] for i, r in enumerate(by_call) for j in r):
            got.append("mismatched-result")
        return got

    n = len(turn)
    failed = [i for i in range(n) if outs[i] != "ok"]
    sent = {
        # breaks-missing-result drops the failed calls' results, else the last one.
        "missing-result": [i for i in range(n) if i not in failed] if failed else list(range(n - 1)),
        # breaks-duplicate-result sends the first result twice, the copy second.
        "duplicate-result": [0, 0] + list(range(1, n)),
    }
    expect = {}
    for rule, order in sent.items():
        got = judge(order)
        if got != ([rule] if rule in exercised else []):
            expect[f"breaks-{rule}"] = got
    # Without the model turn before them, results pair with no call at all.
    expect["breaks-missing-assistant-turn"] = ["missing-result", "unknown-result", "missing-assistant-turn"]
    return expect


# ---------------------------------------------------------------------------------------------
# READMEs

PROVIDER_TITLES = {"anthropic": "Anthropic Messages", "openai-chat": "OpenAI Chat Completions",
                   "openai-responses": "OpenAI Responses (stateless)", "gemini": "Gemini generateContent"}
BEGIN = "<!-- BEGIN bundled scenarios: generated by scripts/make_bundled.py, do not edit by hand -->"
END = "<!-- END bundled scenarios -->"


def shape(run: Run):
    rounds = " → ".join(str(len(r.calls)) for r in run.rounds)
    s = f"{len(run.rounds) + 1} exchanges, calls per round {rounds}"
    if run.stream:
        s += ", streamed"
    return s


def cassettes_readme():
    lines = [
        "# Bundled cassettes",
        "",
        "Cassette format v1 (see `crates/engine/src/cassette.rs`): one model run per file, the requests and replies",
        "in the provider's own wire format, streamed replies kept as their SSE events.",
        "",
        "**These cassettes are synthesized, not recorded.** `scripts/make_bundled.py` writes them from",
        "hand-made runs in the providers' exact wire formats (as set out in",
        "`shared/reference/protocols.md`): every request is the previous one plus the reply appended",
        "the way the official SDKs do it plus one result per call. Their `meta.source` says so. They are",
        "to be replaced by recordings made with `tooltape record` once that exists. Do not edit them by",
        "hand: change the script and run `python3 scripts/make_bundled.py` (`--check` verifies that the",
        "files are up to date).",
        "",
    ]
    for prov in PROVIDERS:
        lines += [f"## `{prov}/` — {PROVIDER_TITLES[prov]}", ""]
        for run in RUNS:
            if run.provider == prov:
                lines.append(f"- `{run.name}.json` — {run.description} ({shape(run)}.)")
        lines.append("")
    return "\n".join(lines)


def scenarios_section(scenarios):
    lines = [
        BEGIN,
        "## Bundled scenarios",
        "",
        "One scenario per bundled cassette (`../cassettes/`, synthesized by `scripts/make_bundled.py`",
        "in the providers' exact wire formats, to be replaced by recordings made with `tooltape record`",
        "once it exists). `exercises` lists the rules each scenario can catch, as",
        "`tooltape scenario exercises` computes them from the rule table.",
        "",
    ]
    for run in RUNS:
        scn = scenarios[(run.provider, run.name)]
        lines.append(f"- `{run.provider}-{run.name}` — {run.description} Exercises: {', '.join(scn['exercises'])}.")
    lines.append(END)
    return "\n".join(lines)


def scenarios_readme(existing: str | None, section: str):
    if existing and BEGIN in existing and END in existing:
        head, rest = existing.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        return head + section + tail
    if existing:
        return existing.rstrip("\n") + "\n\n" + section + "\n"
    return "# Scenarios\n\nScenario format v1: see `crates/engine/src/scenario.rs`.\n\n" + section + "\n"


# ---------------------------------------------------------------------------------------------


def dump(obj):
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def generate():
    """Path -> text of every generated file."""
    files, scenarios = {}, {}
    built = []
    names = set()
    for run in RUNS:
        assert (run.provider, run.name) not in names, f"duplicate run {run.provider}/{run.name}"
        names.add((run.provider, run.name))
        cassette, turns = build_cassette(run)
        check_cassette(run, cassette)
        scn = build_scenario(run, cassette, turns)
        built.append((run, turns))
        scenarios[(run.provider, run.name)] = scn
        files[ROOT / "cassettes" / run.provider / f"{run.name}.json"] = dump(cassette)
        files[ROOT / "scenarios" / f"{run.provider}-{run.name}.json"] = dump(scn)
    tooltape_exercises(files, scenarios)
    for run, turns in built:
        scn = scenarios[(run.provider, run.name)]
        expect = expect_without_ids(run, turns, scn.get("calls", {}), scn["exercises"])
        if expect:
            scn["expect"] = expect
            files[ROOT / "scenarios" / f"{run.provider}-{run.name}.json"] = dump(scn)
    files[ROOT / "cassettes" / "README.md"] = cassettes_readme()
    readme = ROOT / "scenarios" / "README.md"
    files[readme] = scenarios_readme(readme.read_text() if readme.exists() else None, scenarios_section(scenarios))
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a generated file differs from the disk")
    args = ap.parse_args()
    files = generate()
    stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    if args.check:
        for p in stale:
            print(f"out of date: {p.relative_to(ROOT)}", file=sys.stderr)
        sys.exit(1 if stale else 0)
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(files[p])
    print(f"{len(files)} files, {len(stale)} written", file=sys.stderr)


if __name__ == "__main__":
    main()
