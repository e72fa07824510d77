#!/usr/bin/env bash
# Noisy neighbour: customer B's hit and miss latency alone, then while customer A floods
# cache-busting misses at its plan's full rate, in one run of one server (issue 13 item 2).
# Targets: B's miss p99 under attack <= 2x alone, B's hit p99 <= 1.5x alone, no 503 for B.
# Usage: bench/load/noisy_neighbour.sh [phase_s] [runs]
#   Each run: B alone for phase_s, then B with A's flood for phase_s; the median of the runs.
#   B: hits at 200 req/s (4 connections, paced) and misses one at a time (1 connection).
#   A: misses paced at the pro plan's 500 req/s over 100 connections (many wait in the queue),
#      each a distinct `v=`.
# Needs: a built binary, Debian's wrk and mate-backgrounds (the original photo; installed here).
# IMAGECDN_* variables pass through to the server (e.g. IMAGECDN_LIMITS_MAX_CONCURRENT_TRANSFORMS).
set -euo pipefail
cd "$(dirname "$0")/../.."
PHASE=${1:-20}
RUNS=${2:-3}
BIN=${CDN_BIN:-build/imagecdn}
PHOTO=/usr/share/backgrounds/mate/nature/LadyBird.jpg # 2560x1600 JPEG

source bench/load/common.sh
need_packages wrk mate-backgrounds

# Paced requests (wrk's delay() hook: DELAY_MS between a connection's requests), every one a
# distinct `v` when MISS is set (threads count from different bases). A's script also tallies
# statuses, so the report says how A was refused.
cat >"$WORK/load.lua" <<'LUA'
local counter, threads = 0, {}
statuses = {} -- a global: done() reads each thread's with thread:get
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")
local miss = os.getenv("MISS") == "1"
local prefix = os.getenv("PREFIX") or "v"
function setup(thread) thread:set("base", #threads * 100000000); table.insert(threads, thread) end
function init(args) counter = base; statuses = {} end
function delay() return delay_ms end
function request()
  if not miss then return wrk.format(nil, wrk.path) end
  counter = counter + 1
  local sep = string.find(wrk.path, "?") and "&" or "?"
  return wrk.format(nil, wrk.path .. sep .. "v=" .. prefix .. counter)
end
function response(status) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for s, n in pairs(t:get("statuses")) do total[s] = (total[s] or 0) + n end
  end
  local parts = {}
  for s, n in pairs(total) do table.insert(parts, s .. ":" .. n) end
  table.sort(parts)
  io.write("STATUSES " .. table.concat(parts, " ") .. "\n")
end
LUA

DATA="$WORK/data"
new_customer() { "$BIN" customer create --data-dir "$DATA" --email "$1" --plan pro | public_key; }
PK_A=$(new_customer noisy@example.com)
PK_B=$(new_customer quiet@example.com)
for pk in "$PK_A" "$PK_B"; do mkdir -p "$DATA/originals/$pk" && cp "$PHOTO" "$DATA/originals/$pk/photo.jpg"; done

PORT=$(free_port)
IMAGECDN_LOG_LEVEL=warn IMAGECDN_CACHE_DISK_BYTES=0 "$BIN" serve --data-dir "$DATA" --listen "127.0.0.1:$PORT" >"$WORK/cdn.out" 2>"$WORK/cdn.err" &
PIDS+=($!)
for i in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
BASE="http://127.0.0.1:$PORT"
HIT="$BASE/$PK_B/photo.jpg?w=300&format=webp"
MISS_PATH="/photo.jpg?w=800&format=webp&q=75"
curl -sf "$HIT" -o /dev/null # the one miss; every later request of this URL hits

# name connections delay_ms miss(0|1) prefix url -> wrk output in $WORK/name.out
load() { DELAY_MS=$3 MISS=$4 PREFIX=$5 wrk -t1 -c"$2" -d"${PHASE}s" --timeout 30s --latency -s "$WORK/load.lua" "$6" >"$WORK/$1.out" 2>&1; }
ms() { # a wrk latency ("850.00us", "12.3ms", "1.2s") in ms
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }
pct() { ms "$(awk -v p="$2" '$1 == p {print $2}' "$WORK/$1.out")"; }
non2xx() { awk '/Non-2xx/ {print $NF; f=1} END {if (!f) print 0}' "$WORK/$1.out"; }
statuses() { sed -n 's/^STATUSES //p' "$WORK/$1.out"; }

# One phase: B's hits and misses, with A's flood when $1 is "attack". Prints
# "hit_p50 hit_p99 miss_p50 miss_p99 b_non2xx miss_count".
phase() {
  local run=$2 pids=()
  [ "$1" = attack ] && { load "a$run" 100 200 1 "a$run-" "$BASE/$PK_A$MISS_PATH" & pids+=($!); sleep 2; }
  load "hit$1$run" 4 20 0 - "$HIT" & pids+=($!)
  load "miss$1$run" 1 0 1 "b$1$run-" "$BASE/$PK_B$MISS_PATH" & pids+=($!)
  wait "${pids[@]}"
  echo "$(pct "hit$1$run" 50%) $(pct "hit$1$run" 99%) $(pct "miss$1$run" 50%) $(pct "miss$1$run" 99%)" \
    "$(( $(non2xx "hit$1$run") + $(non2xx "miss$1$run") ))" \
    "$(awk '/requests in/ {print $1}' "$WORK/miss$1$run.out")"
}

echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); ${PHASE}s per phase; B hits 200/s, B misses 1 at a time; A 500/s misses"
printf "%-4s %-7s %9s %9s %10s %10s %8s %7s  %s\n" run phase "hit p50" "hit p99" "miss p50" "miss p99" "B !2xx" "B miss" "A statuses"
RESULTS="$WORK/results"
for run in $(seq "$RUNS"); do
  read -r h50 h99 m50 m99 bad n <<<"$(phase alone "$run")"
  printf "%-4s %-7s %9s %9s %10s %10s %8s %7s\n" "$run" alone "$h50" "$h99" "$m50" "$m99" "$bad" "$n"
  read -r ah50 ah99 am50 am99 abad an <<<"$(phase attack "$run")"
  printf "%-4s %-7s %9s %9s %10s %10s %8s %7s  %s\n" "$run" attack "$ah50" "$ah99" "$am50" "$am99" "$abad" "$an" "$(statuses "a$run")"
  echo "$h99 $m50 $m99 $ah99 $am50 $am99 $bad $abad" >>"$RESULTS"
done

# Medians over the runs, and the ratios the issue sets as targets.
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
col() { awk -v c="$1" '{print $c}' "$RESULTS" | median; }
echo "median of $RUNS runs (ms): hit p99 alone $(col 1) attack $(col 4); miss p50 alone $(col 2) attack $(col 5); miss p99 alone $(col 3) attack $(col 6)"
awk -v h="$(col 1)" -v ha="$(col 4)" -v m="$(col 3)" -v ma="$(col 6)" 'BEGIN {
  printf "B hit p99 attack/alone: %.2f (target <= 1.5); B miss p99 attack/alone: %.2f (target <= 2)\n", ha / h, ma / m }'
echo "B answers other than 2xx, all runs: alone $(awk '{s += $7} END {print s}' "$RESULTS"), attack $(awk '{s += $8} END {print s}' "$RESULTS")"
