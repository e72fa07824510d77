#!/usr/bin/env bash
# Server CPU per cache hit, several builds side by side in one run (issue 20, item 2): what a
# change on the hit path saves, on a machine too busy for req/s to mean anything. Each build
# serves the camera-like photo's w=1100 WebP from its memory tier and, in a second server, from
# its disk tier only ([cache] memory_bytes = 0); the builds take turns, wrk -t2 at c=16 and 64,
# and each figure is the server's user+system time over the run divided by the requests served.
# Usage: bench/load/hit_cpu.sh DURATION_S ROUNDS BIN_A BIN_B...   (prints one line per round,
#   mode and c, one column per build, in the order given; "(ERR)" marks a run with errors)
set -euo pipefail
cd "$(dirname "$0")/../.."
D=$1 R=$2
shift 2
BINS=("$@")
source bench/load/common.sh
need_packages wrk mate-backgrounds
camera_sources
OBJECT="photo.jpg?w=1100&format=webp&q=75"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

declare -A URL PID
start_server() { # index binary mode
  start_hit_server "$2" "$WORK/d$1-$3" "$3" "$SOURCES/photo.jpg" "$OBJECT"
  PID[$1$3]=$HIT_PID URL[$1$3]=$HIT_URL
}

for i in "${!BINS[@]}"; do
  for mode in memory disk; do start_server "$i" "${BINS[$i]}" "$mode"; done
done
hz=$(getconf CLK_TCK)
for r in $(seq "$R"); do
  for mode in memory disk; do for c in 16 64; do
    line="r$r $mode c=$c"
    for i in "${!BINS[@]}"; do
      p=${PID[$i$mode]} before=$(cpu_ticks "${PID[$i$mode]}")
      out=$(wrk -t2 -c"$c" -d"${D}s" "${URL[$i$mode]}" 2>&1)
      after=$(cpu_ticks "$p"); n=$(awk '/requests in/ {print $1}' <<<"$out")
      err=$(grep -cE 'Non-2xx|Socket errors' <<<"$out" || true)
      line+=$(awk -v t=$((after - before)) -v n="$n" -v hz="$hz" -v e="$err" \
        'BEGIN {printf "  %6.2f", t / hz * 1e6 / n; if (e > 0) printf "(ERR)"}')
    done
    echo "$line"
  done; done
done
