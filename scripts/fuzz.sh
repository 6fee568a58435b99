#!/usr/bin/env bash
# Fuzz every parser (issue #9 item 12; docs/FUZZING.md): seed the corpora from the bundled
# files, build the cargo-fuzz targets in fuzz/, and run each target in turn for SECONDS
# (default 600) with one worker. Not run in CI.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (default: every target)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Logs go to
# $FUZZ_LOGS (default /tmp/fuzz-logs), one per target; findings to fuzz/artifacts/TARGET/.
# A hang (an input running over 10 s) and an out-of-memory (over 2 GiB) count as findings like
# a crash; the run goes on after each one (fork mode), so one finding does not end the time.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${1:-600}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(cassette scenario provider import lint mock mcp)
fi
logs="${FUZZ_LOGS:-/tmp/fuzz-logs}"
mkdir -p "$logs"

python3 fuzz/seed.py
# One build profile for build and run (release, debug assertions on), so `run` does not rebuild.
flags=(-O --debug-assertions)
(cd fuzz && cargo +nightly fuzz build "${flags[@]}")

status=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/artifacts/$t"
    echo "== $t: ${seconds}s, log $logs/$t.log"
    (cd fuzz && cargo +nightly fuzz run "${flags[@]}" "$t" -- \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -artifact_prefix="artifacts/$t/" -print_final_stats=1) >"$logs/$t.log" 2>&1 || status=$?
    # The last status line: runs, coverage, features, and in fork mode oom/timeout/crash counts.
    grep -E '^#[0-9]+' "$logs/$t.log" | tail -1 || true
    found=$(find "fuzz/artifacts/$t" -type f | wc -l)
    echo "   findings in fuzz/artifacts/$t: $found"
    [ "$found" -eq 0 ] || status=1
done
exit "$status"
