#!/usr/bin/env python3
"""Seed the fuzz corpora from the repository's bundled files (issue #9 item 12).

Writes fuzz/corpus/<target>/ (git-ignored) from cassettes/, scenarios/ and tests/fixtures/,
with the selector bytes each target reads first (see the comment atop each target in
fuzz/fuzz_targets/). Run from anywhere: `python3 fuzz/seed.py`. Idempotent: a seed's file
name is its content's hash.
"""

import glob
import gzip
import hashlib
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
# The order of tooltape's Provider::ALL: the targets pick a provider by this index.
PROVIDERS = ["anthropic", "openai-chat", "openai-responses", "gemini"]
FIXTURE_DIRS = {
    "anthropic": "anthropic",
    "openai_chat": "openai-chat",
    "openai_responses": "openai-responses",
    "gemini": "gemini",
}


def files(*patterns):
    out = []
    for p in patterns:
        out.extend(sorted(glob.glob(os.path.join(ROOT, p), recursive=True)))
    return out


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    return gzip.decompress(data) if path.endswith(".gz") else data


def put(target, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def dumps(v):
    return json.dumps(v, ensure_ascii=False).encode()


def sse_wire(events):
    out = []
    for e in events:
        if e.get("event"):
            out.append(f"event: {e['event']}\n")
        for line in e["data"].split("\n"):
            out.append(f"data: {line}\n")
        out.append("\n")
    return "".join(out).encode()


def cassettes():
    """(provider index, parsed cassette) of every bundled cassette that parses as JSON."""
    out = []
    for path in files("cassettes/**/*.json", "tests/fixtures/**/*.json"):
        try:
            c = json.loads(read(path))
        except ValueError:
            continue
        if isinstance(c, dict) and c.get("provider") in PROVIDERS and isinstance(c.get("exchanges"), list):
            out.append((PROVIDERS.index(c["provider"]), c))
    return out


def main():
    everything_json = files("cassettes/**/*.json", "scenarios/*.json", "tests/fixtures/**/*.json")
    # Loaders: every bundled JSON file (cassettes, scenarios, good and bad fixtures).
    for path in everything_json:
        put("cassette", read(path))
        put("scenario", read(path))

    # Providers: requests, replies and streams out of the cassettes and provider fixtures.
    for p, c in cassettes():
        for e in c["exchanges"]:
            if not isinstance(e, dict):
                continue
            req, reply = e.get("request"), e.get("reply")
            if req is not None:
                put("provider", bytes([p, 0]) + dumps(req))
            if isinstance(reply, dict) and isinstance(reply.get("stream"), list):
                events = [x for x in reply["stream"] if isinstance(x, dict) and isinstance(x.get("data"), str)]
                for cut in (255, 7):
                    put("provider", bytes([p, 2, cut]) + sse_wire(events))
                if PROVIDERS[p] == "gemini":
                    array = [json.loads(x["data"]) for x in events if x["data"].strip().startswith("{")]
                    put("provider", bytes([p, 2, 255]) + dumps(array))
            elif reply is not None:
                put("provider", bytes([p, 1]) + dumps(reply))
    for d, name in FIXTURE_DIRS.items():
        p = PROVIDERS.index(name)
        for path in files(f"tests/fixtures/provider/{d}/*.json"):
            base = os.path.basename(path)
            kind = 0 if base.startswith("request") else 1 if base.startswith("reply") else None
            if kind is not None:
                put("provider", bytes([p, kind]) + read(path))
    for path in files("tests/fixtures/record/*.sse"):
        put("provider", bytes([0, 2, 255]) + read(path))
        put("provider", bytes([0, 2, 3]) + read(path))

    # Importers: vcrpy cassettes (YAML and JSON) and request logs, with no forced provider
    # (byte 1 = 4 picks none).
    for path in files("tests/fixtures/import/**/*.yaml", "tests/fixtures/import/**/*.yaml.gz"):
        put("import", bytes([0, 4]) + read(path))
    for path in files("tests/fixtures/import/**/*.json"):
        put("import", bytes([1, 4]) + read(path))
    for path in files("tests/fixtures/import/**/*.jsonl", "tests/fixtures/lint/**/*.jsonl"):
        put("import", bytes([2, 4]) + read(path))

    # Lint: its fixtures, cassettes and provider requests, by extension.
    for path in files("tests/fixtures/lint/**/*.json", "cassettes/**/*.json", "tests/fixtures/provider/**/request_*.json"):
        put("lint", bytes([0, 4]) + read(path))
    for path in files("tests/fixtures/lint/**/*.jsonl", "tests/fixtures/import/**/*.jsonl"):
        put("lint", bytes([1, 4]) + read(path))

    # Mock: the first four requests of every bundled cassette, in order, 0xFF-separated, on
    # every route variant (Gemini's three).
    for p, c in cassettes():
        reqs = [dumps(e["request"]) for e in c["exchanges"] if isinstance(e, dict) and "request" in e]
        if not reqs:
            continue
        for variant in (0, 1, 2, 0x40):
            put("mock", bytes([p, variant]) + b"\xff".join(reqs[:4]))


    # MCP: a session's messages in order, 0xFF-separated, for each API's scenario, in the 2025
    # era (session kept, byte 1 = version | accept | keep-session) and the 2026 stateless one.
    def rpc(i, method, params=None):
        m = {"jsonrpc": "2.0", "method": method}
        if i is not None:
            m["id"] = i
        if params is not None:
            m["params"] = params
        return dumps(m)

    for p in range(len(PROVIDERS)):
        for version, flags in (("2025-06-18", 0x0D), ("2025-11-25", 0x0E), ("2026-07-28", 0x07)):
            msgs = [
                rpc(1, "initialize", {"protocolVersion": version, "capabilities": {},
                                      "clientInfo": {"name": "seed", "version": "0"}}),
                rpc(None, "notifications/initialized"),
                rpc(2, "tools/list"),
                rpc(3, "tools/call", {"name": "get_weather", "arguments": {"city": "Paris"},
                                      "_meta": {"progressToken": "t"}}),
                rpc(4, "ping"),
                rpc(None, "notifications/cancelled", {"requestId": 3}),
            ]
            if version == "2026-07-28":
                msgs[0] = rpc(1, "server/discover", {"_meta": {"protocolVersion": version}})
            put("mcp", bytes([p, flags]) + b"\xff".join(msgs))
            put("mcp", bytes([p, flags | 0x10]) + b"\xff".join(msgs[:3]))

if __name__ == "__main__":
    main()
    for t in sorted(os.listdir(CORPUS)):
        print(t, len(os.listdir(os.path.join(CORPUS, t))))
