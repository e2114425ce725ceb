#!/bin/bash
# Benchmark 6's server, plain or recorded, counted in instructions per request under
# callgrind: steady state, not start-up, and not the machine's load (wall time and CPU time
# on a shared 2-core machine move by ±1 µs per request between runs; this moves by ~1%).
#
#   bench/http-instructions.sh [plain|record] [N]      (default: both, N = 3000)
#
# Only what runs inside the event loop's phases is counted (uv__io_poll, timers, check,
# idle: not start-up). Each mode runs twice, with N and 3N requests from bench 6's load
# generator (not under valgrind); the difference over 2N requests leaves out the JIT's
# warm-up (with N below ~3000 it does not: 500 gives 2.6x the figure). The log's chunk
# compression (brotli from trace format 5, deflate before it) is counted apart: under valgrind a 100 ms flush covers
# ~50x fewer requests than at full speed, so it would weigh ~50x too much. Takes a few
# minutes per run (valgrind is ~50x slower). Needs valgrind and a build.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROG=$ROOT/bench/programs/http-server.mjs
N=${2:-3000}
MODES=${1:-plain record}
[ "$MODES" = both ] && MODES="plain record"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
unset NODE_OPTIONS

# Instructions in the event loop, and in the log's compression, for one run of `total` requests.
count() {
  local mode=$1 total=$2 dir pid port
  dir=$(mktemp -d)
  local pre=()
  if [ "$mode" = record ]; then pre=(--require="$ROOT/dist/preload.cjs"); fi
  REWIND_MODE=$([ "$mode" = record ] && echo record || echo '') REWIND_DIR=$dir \
    valgrind --tool=callgrind --smc-check=all-non-file --collect-atstart=no \
    --toggle-collect=uv__io_poll --toggle-collect=uv__run_timers --toggle-collect=uv__run_check \
    --toggle-collect=uv__run_idle --callgrind-out-file="$dir/cg.out" \
    node "${pre[@]}" "$PROG" "$total" >"$dir/out" 2>"$dir/err" &
  pid=$!
  for _ in $(seq 1200); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
  port=$(grep -o 'listening [0-9]*' "$dir/out" | cut -d' ' -f2)
  env -u REWIND_MODE -u REWIND_DIR node "$ROOT/bench/programs/http-load.mjs" "$port" "$total" 16 >/dev/null
  wait "$pid"
  callgrind_annotate --inclusive=yes --threshold=100 "$dir/cg.out" 2>/dev/null | python3 -c '
import re, sys
total = zlib = 0
for line in sys.stdin:
    m = re.match(r"^\s*([\d,]+) \(.*?\)\s+(.*)$", line)
    if not m: continue
    n, what = int(m.group(1).replace(",", "")), m.group(2) + " "
    if "PROGRAM TOTALS" in what: total = n
    # Siblings, each counted inclusive: an encoder made, fed and freed per chunk.
    if re.search(r":(deflateInit2_|deflate|deflateEnd|BrotliEncoderCreateInstance|BrotliEncoderCompressStream|BrotliEncoderDestroyInstance) ", what): zlib += n
print(total, zlib)'
  rm -rf "$dir"
}

for mode in $MODES; do
  read -r t1 z1 < <(count "$mode" "$N")
  read -r t3 z3 < <(count "$mode" $((3 * N)))
  per=$(((t3 - z3 - t1 + z1) / (2 * N)))
  zper=$(((z3 - z1) / (2 * N)))
  echo "$mode: $per instructions per request in the event loop, steady state (log compression apart: $zper under valgrind's timing)"
done
