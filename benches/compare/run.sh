#!/usr/bin/env bash
# tooltape beside its peers, from one run: by hand, not in CI (it installs from the registries).
#
#   benches/compare/run.sh [RUNS]        (default 20000 tooltape runs, 2000 pydantic-ai runs)
#
# Two comparisons, each with a peer installed from its registry:
#
# 1. In-process throughput on the same 3-call turn: tooltape's CLI path (`tooltape test --jobs 1`
# on anthropic-three_parallel with `orders: [{"shuffle": RUNS}]`, reference handler, every rule
# judged on every run) against pydantic-ai's scripted FunctionModel loop (PyPI, pinned). Both
# are reported per CPU-second as well as per wall second: on a shared machine CPU time is the
# steadier figure.
#
# 2. Model requests per second over HTTP: tooltape's mock (a fresh mock per run, every request
# judged, the tool call served in between) against llmposter (crates.io, pinned; canned replies
# from a fixture, nothing judged), driven one after the other by the same 8-agent HTTP/1.1
# client of benches/server.rs (`cargo bench --bench server -- --peer HOST:PORT`). LLMPOSTER=PATH
# uses an llmposter binary already built instead of `cargo install` (a few minutes).
#
# Paste the output, with the date and machine, into docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-20000}"
py_runs=$(( runs / 10 ))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== building tooltape (release)" >&2
cargo build -q --release
echo "== pydantic-ai (PyPI) in $work/venv" >&2
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check "pydantic-ai-slim==2.68.0"

# The bundled scenario with its cassette path made absolute and RUNS shuffled orders.
python3 - "$work/scenario.json" "$runs" <<'PY'
import json, pathlib, sys
src = pathlib.Path("scenarios/anthropic-three_parallel.json")
s = json.loads(src.read_text())
s["cassette"] = str((src.parent / s["cassette"]).resolve())
s["orders"] = [{"shuffle": int(sys.argv[2])}]
pathlib.Path(sys.argv[1]).write_text(json.dumps(s))
PY

echo "== tooltape: $runs runs" >&2
/usr/bin/time -f '%e %U %S' -o "$work/tt.time" target/release/tooltape test --jobs 1 "$work/scenario.json" >/dev/null
read -r tt_wall tt_user tt_sys < "$work/tt.time"
echo "== pydantic-ai: $py_runs runs" >&2
py=$("$work/venv/bin/python" benches/compare/pydantic_ai_three_calls.py "$py_runs")

python3 - "$runs" "$tt_wall" "$tt_user" "$tt_sys" "$py" <<'PY'
import json, os, platform, sys, datetime
runs, wall, user, sys_ = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
py = json.loads(sys.argv[5])
tt_cpu = user + sys_
rows = [
    ("tooltape (CLI, --jobs 1)", runs, wall, tt_cpu),
    ("pydantic-ai FunctionModel", py["runs"], py["wall_s"], py["cpu_s"]),
]
print(f"{datetime.date.today()} {platform.node()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
print(f"{'3-call turn, in process':<28} {'runs':>8} {'runs/s wall':>12} {'runs/CPU-s':>11}")
for name, n, w, c in rows:
    print(f"{name:<28} {n:>8} {n / w:>12,.0f} {n / c:>11,.0f}")
ratio_wall = (rows[0][1] / rows[0][2]) / (rows[1][1] / rows[1][2])
ratio_cpu = (rows[0][1] / rows[0][3]) / (rows[1][1] / rows[1][3])
print(f"tooltape / pydantic-ai: {ratio_wall:.0f}x per wall second, {ratio_cpu:.0f}x per CPU-second")
PY

echo "== llmposter (crates.io)" >&2
llmposter="${LLMPOSTER:-}"
if [ -z "$llmposter" ]; then
  cargo install -q --locked --no-default-features --root "$work/llmposter" llmposter@0.5.0
  llmposter="$work/llmposter/bin/llmposter"
fi
# The bundled single-call turn's first reply as a fixture, the final text as a catch-all
# (llmposter 0.5 matches the follow-up to the first fixture as well, as its user message is
# still in the conversation: both requests get the call, which does not change the rate).
cat > "$work/fixtures.yaml" <<'YAML'
fixtures:
  - match:
      user_message: "rotate an API key"
    provider: anthropic
    response:
      tool_calls:
        - name: search_docs
          arguments: { query: "rotate API key", max_results: 3 }
  - catch_all: true
    response:
      content: "Create a second key, deploy it, then revoke the first."
YAML
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$llmposter" --fixtures "$work/fixtures.yaml" --port "$port" 2>"$work/llmposter.log" &
peer_pid=$!
trap 'kill "$peer_pid" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do
  python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
  sleep 0.2
done
echo "== tooltape's mock beside llmposter (cargo bench --bench server -- --peer)" >&2
cargo bench -q --bench server -- --peer "127.0.0.1:$port"
