#!/usr/bin/env bash
# What the cluster's coordination costs and saves (issue 19): an api node and two edge nodes on one
# redis-server and one s3rver (behind the SigV4-verifying proxy of tests/s3), all on loopback.
#   1. N variants transformed on edge A (MISS) vs the same N read from the shared tier on edge B
#      (HIT-SHARED): latency (curl time_total) and edge CPU per request (/proc utime+stime).
#   2. 20 concurrent misses of one new variant, alternating over both edges: transforms run in
#      the cluster (imagecdn_transforms_total summed), CPU of both edges, p99 of the 20.
# Usage: bench/load/shared_tier.sh [variants]
# Needs: a built binary, redis-server, node with tests/s3's node_modules (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-30}
BIN=${CDN_BIN:-$PWD/build/imagecdn}
source bench/load/common.sh

# The photo: the demo's 2400×1600 landscape JPEG, made by a throwaway embedded node.
DEMO_PORT=$(free_port)
IMAGECDN_LOG_LEVEL=warn "$BIN" serve --demo --data-dir "$WORK/demo" --listen "127.0.0.1:$DEMO_PORT" \
  >/dev/null 2>&1 &
DEMO_PID=$!; PIDS+=($DEMO_PID)
until PHOTO=$(ls "$WORK"/demo/originals/*/photos/landscape.jpg 2>/dev/null); do sleep 0.1; done
kill "$DEMO_PID"

SECRET=bench-internal-secret-0123456789abcdef
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >/dev/null &
PIDS+=($!)
mkfifo "$WORK/s3.in"
(cd tests/s3 && exec node server.mjs originals <"$WORK/s3.in" >"$WORK/s3.out" 2>&1) &
PIDS+=($!)
exec 9>"$WORK/s3.in" # s3rver exits when this closes
until grep -q READY "$WORK/s3.out" 2>/dev/null; do sleep 0.1; done
S3_PORT=$(awk '/READY/ {print $2}' "$WORK/s3.out")

export IMAGECDN_LOG_LEVEL=warn IMAGECDN_AUTH_INTERNAL_SECRET=$SECRET \
  IMAGECDN_AUTH_JWT_SECRET=bench-jwt-secret-0123456789abcdef0123 \
  IMAGECDN_KV_URL=redis://127.0.0.1:$REDIS_PORT IMAGECDN_DATABASE_URL=sqlite://$WORK/api/imagecdn.db \
  IMAGECDN_STORAGE_KIND=s3 IMAGECDN_STORAGE_ENDPOINT=http://127.0.0.1:$S3_PORT \
  IMAGECDN_STORAGE_BUCKET=originals IMAGECDN_STORAGE_REGION=eu-west-3 \
  IMAGECDN_STORAGE_ACCESS_KEY=S3RVER IMAGECDN_STORAGE_SECRET_KEY=S3RVER \
  IMAGECDN_PLANS_PRO_RATE_LIMIT_RPS=1000000
ACCOUNT=$("$BIN" customer create --data-dir "$WORK/api" --email bench@example.com --plan pro)
PK=$(echo "$ACCOUNT" | public_key)
API_KEY=$(echo "$ACCOUNT" | sed -E 's/.*"api_key":"([^"]+)".*/\1/')

declare -A PORT PID
start_node() { # NAME ROLE
  PORT[$1]=$(free_port)
  "$BIN" serve --role "$2" --data-dir "$WORK/$1" --listen "127.0.0.1:${PORT[$1]}" \
    >"$WORK/$1.out" 2>"$WORK/$1.err" &
  PID[$1]=$!; PIDS+=($!)
  until curl -sf "http://127.0.0.1:${PORT[$1]}/healthz" >/dev/null; do sleep 0.1; done
}
start_node api api
start_node a edge
start_node b edge
curl -sf -X PUT -H "X-API-Key: $API_KEY" -H 'Content-Type: application/octet-stream' \
  --data-binary "@$PHOTO" \
  "http://127.0.0.1:${PORT[api]}/api/v1/images/photo.jpg" >/dev/null ||
  { echo "upload failed" >&2; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
transforms() { curl -sf -H "Authorization: Bearer $SECRET" "http://127.0.0.1:${PORT[$1]}/metrics" |
  awk '$1 == "imagecdn_transforms_total" {print $2}'; }
ms_per_tick=$(awk -v hz="$(getconf CLK_TCK)" 'BEGIN {print 1000 / hz}')

# One request per variant on NODE, sequential: "p50 p99 ms, CPU ms per request, X-Cache seen".
series() { # NODE
  local before after
  before=$(cpu_ticks "${PID[$1]}")
  for i in $(seq 1 "$N"); do
    curl -s -o /dev/null -w '%{time_total} %header{x-cache}\n' \
      "http://127.0.0.1:${PORT[$1]}/$PK/photo.jpg?w=$((300 + i))"
  done >"$WORK/series.$1"
  after=$(cpu_ticks "${PID[$1]}")
  sort -n "$WORK/series.$1" | awk -v n="$N" -v cpu="$(( after - before ))" -v mpt="$ms_per_tick" \
    '{t[NR] = $1 * 1000; c[$2]++} END {printf "p50 %.1f ms  p99 %.1f ms  CPU %.1f ms/request  ",
      t[int(n * 0.5) + 1], t[int(n * 0.99) + (n * 0.99 > int(n * 0.99))], cpu * mpt / n;
      for (k in c) printf "%s×%d ", k, c[k]; print ""}'
}
echo "transform on edge A (MISS):       $(series a)"
sleep 1 # A's shared writes go after its answers
echo "shared tier on edge B (HIT-SHARED): $(series b)"

cpu_a=$(cpu_ticks "${PID[a]}"); cpu_b=$(cpu_ticks "${PID[b]}")
t_before=$(( $(transforms a) + $(transforms b) ))
for i in $(seq 1 20); do
  node=$([ $((i % 2)) -eq 0 ] && echo a || echo b)
  curl -s -o /dev/null -w '%{http_code} %{time_total}\n' \
    "http://127.0.0.1:${PORT[$node]}/$PK/photo.jpg?w=777&blur=3" &
done >"$WORK/twenty"
wait_for_twenty() { while [ "$(wc -l <"$WORK/twenty")" -lt 20 ]; do sleep 0.05; done; }
wait_for_twenty
cpu=$(( $(cpu_ticks "${PID[a]}") - cpu_a + $(cpu_ticks "${PID[b]}") - cpu_b ))
echo "20 concurrent misses over A and B: $(( $(transforms a) + $(transforms b) - t_before )) transform(s)," \
  "$(awk '$1 == 200' "$WORK/twenty" | wc -l)/20 answered 200," \
  "CPU $(awk -v c="$cpu" -v m="$ms_per_tick" 'BEGIN {printf "%.0f", c * m}') ms (both edges)," \
  "p99 $(sort -k2 -n "$WORK/twenty" | tail -1 | awk '{printf "%.0f", $2 * 1000}') ms"
