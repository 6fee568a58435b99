#!/usr/bin/env bash
# The JSON reports of `tooltape test` on the bundled scenarios for the reference handler and
# every breaks-<rule> handler, with the timing fields (and the newer `message_index` places)
# taken out, one file per handler: to check that a refactoring changed no verdict.
#
#   scripts/report_snapshot.sh OLD_BINARY /tmp/before
#   scripts/report_snapshot.sh target/debug/tooltape /tmp/after
#   diff -r /tmp/before /tmp/after
set -euo pipefail
BIN=$1
OUT=$2
mkdir -p "$OUT"
for h in reference $("$BIN" rules | grep -o '^| `[a-z-]*`' | tr -d '|` ' | sed 's/^/breaks-/'); do
  "$BIN" test --handler "builtin:$h" --json - --jobs 2 2>/dev/null | python3 -c '
import json, sys
TIMING = {"wall_ms", "tool_sum_ms", "concurrency", "ideal_ms", "efficiency", "overhead_ms",
          "bars", "start", "end", "message_index"}
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k not in TIMING}
    if isinstance(o, list):
        return [strip(x) for x in o]
    return o
json.dump(strip(json.load(sys.stdin)), sys.stdout, indent=1, sort_keys=True)' > "$OUT/$h.json" || true
done
ls "$OUT" | wc -l
