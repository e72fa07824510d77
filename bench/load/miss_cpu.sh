#!/usr/bin/env bash
# Server CPU per miss, two builds side by side in one run (issue 20, item 1): what a change on the
# miss path saves, on a machine too busy for req/s to mean anything. Both servers serve the same
# camera-like originals; each figure is the server's user+system time over a wrk run (read once
# it is idle again) divided by the requests it served. Who goes first alternates between runs.
# Usage: BASE_BIN=/path/to/old/imagecdn bench/load/miss_cpu.sh [duration_s] [connections] [workloads...]
#   connections: 2 by default; workloads: w1 w2 w3 by default (as bench/load/transform.sh)
# Environment: RUNS (3; each run printed, then the medians), CDN_BIN (build/imagecdn), BASE_BIN.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-15}
CONNS=${2:-2}
shift $(($# < 2 ? $# : 2))
WORKLOADS=("${@:-w1 w2 w3}")
[ "${#WORKLOADS[@]}" -eq 1 ] && read -r -a WORKLOADS <<<"${WORKLOADS[0]}"
RUNS=${RUNS:-3}
NEW_BIN=${CDN_BIN:-build/imagecdn}
: "${BASE_BIN:?set BASE_BIN to the imagecdn binary to compare against}"

source bench/load/common.sh
need_packages wrk
SRC="${XDG_CACHE_HOME:-$HOME/.cache}/imagecdn-bench/camera-$(sha1sum bench/transform/make_sources.js | cut -c1-12)"
if [ ! -s "$SRC/graphic.png" ]; then
  [ -d bench/transform/node_modules/sharp ] || npm ci --prefix bench/transform --no-audit --no-fund >/dev/null
  mkdir -p "$SRC" && node bench/transform/make_sources.js "$SRC" camera >/dev/null
fi

declare -A PORT PID PK
start() { # name binary: its own data folder, the same originals, the decoded cache off
  local data="$WORK/$1"
  PK[$1]=$("$2" customer create --data-dir "$data" --email "$1@example.com" --plan business | public_key)
  mkdir -p "$data/originals/${PK[$1]}" && cp "$SRC/photo.jpg" "$SRC/graphic.png" "$data/originals/${PK[$1]}/"
  PORT[$1]=$(free_port)
  IMAGECDN_LIMITS_TRANSFORM_QUEUE=256 IMAGECDN_LIMITS_TRANSFORM_QUEUE_PER_CUSTOMER=256 \
    IMAGECDN_LIMITS_TRANSFORM_QUEUE_STANDING_MS=0 IMAGECDN_LOG_LEVEL=warn IMAGECDN_CACHE_DISK_BYTES=0 \
    IMAGECDN_CACHE_DECODED_BYTES=0 "$2" serve --data-dir "$data" --listen "127.0.0.1:${PORT[$1]}" \
    >"$WORK/$1.out" 2>"$WORK/$1.err" &
  PID[$1]=$!; PIDS+=("${PID[$1]}")
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:${PORT[$1]}/healthz" >/dev/null && return; sleep 0.2; done
  echo "$1 did not start" >&2; exit 1
}
start base "$BASE_BIN"
start new "$NEW_BIN"

write_miss_lua "$WORK/miss.lua"
declare -A QUERY=([w1]="photo.jpg?w=800&format=webp&q=75" [w2]="photo.jpg?w=800&format=jpeg&q=75"
  [w3]="graphic.png?w=400&format=avif&q=50")

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
settled_ticks() { # the server's CPU ticks once it has stopped working (at most 30 s)
  local before now; before=$(cpu_ticks "$1")
  for _ in $(seq 60); do sleep 0.5; now=$(cpu_ticks "$1"); [ $((now - before)) -le 1 ] && break; before=$now; done
  echo "$now"; }
measure() { # server workload -> cpu ms per request, requests
  local t0 out n; t0=$(settled_ticks "${PID[$1]}")
  out=$(MISS_PREFIX="$1$RANDOM-" wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 60s -s "$WORK/miss.lua" \
    "http://127.0.0.1:${PORT[$1]}/${PK[$1]}/${QUERY[$2]}" 2>&1)
  grep -qE 'Non-2xx|Socket errors' <<<"$out" && { echo "$1 $2: errors: $out" >&2; exit 1; }
  n=$(($(awk '/requests in/ {print $1}' <<<"$out") + CONNS))
  awk -v t="$(($(settled_ticks "${PID[$1]}") - t0))" -v n="$n" -v hz="$(getconf CLK_TCK)" \
    'BEGIN {printf "%.1f %d\n", 1000 * t / hz / n, n}'
}
median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

echo "server CPU ms per miss, wrk -c$CONNS -d${DURATION}s, base $BASE_BIN vs new $NEW_BIN, $RUNS runs"
printf "%-4s %-4s %10s %10s %8s\n" run load base new new/base
for run in $(seq "$RUNS"); do
  for w in "${WORKLOADS[@]}"; do
    order=(base new); [ $((run % 2)) -eq 0 ] && order=(new base)
    declare -A CPU=()
    for s in "${order[@]}"; do read -r CPU[$s] _ <<<"$(measure "$s" "$w")"; done
    echo "$w ${CPU[base]} ${CPU[new]}" >>"$WORK/results"
    printf "%-4s %-4s %10s %10s %8s\n" "$run" "$w" "${CPU[base]}" "${CPU[new]}" \
      "$(awk -v a="${CPU[base]}" -v b="${CPU[new]}" 'BEGIN {printf "%.3f", b / a}')"
  done
done
echo
echo "| workload | base ms/miss | new ms/miss | new / base |"
echo "|---|---|---|---|"
for w in "${WORKLOADS[@]}"; do
  b=$(awk -v w="$w" '$1==w {print $2}' "$WORK/results" | median)
  n=$(awk -v w="$w" '$1==w {print $3}' "$WORK/results" | median)
  echo "| $w (c=$CONNS, median of $RUNS) | $b | $n | $(awk -v a="$b" -v b="$n" 'BEGIN {printf "%.3f", b / a}') |"
done
