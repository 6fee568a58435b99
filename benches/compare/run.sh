#!/usr/bin/env bash
# tooltape beside its peers, from one run: by hand, not in CI (it installs from the registries).
#
#   benches/compare/run.sh [RUNS]        (default 20000 tooltape runs, 2000 pydantic-ai runs)
#
# In-process throughput on the same 3-call turn: tooltape's CLI path (`tooltape test --jobs 1`
# on anthropic-three_parallel with `orders: [{"shuffle": RUNS}]`, reference handler, every rule
# judged on every run) against pydantic-ai's scripted FunctionModel loop (PyPI, pinned). Both
# are reported per CPU-second as well as per wall second: on a shared machine CPU time is the
# steadier figure. Paste the output, with the date and machine, into docs/BENCHMARKS.md.
#
# Not yet here (issue #15, goal 4): llmposter's request rate (`cargo install llmposter` plus a
# load generator) beside tooltape's mock; benches/server.rs measures tooltape's side.
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
