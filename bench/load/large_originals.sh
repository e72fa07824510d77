#!/usr/bin/env bash
# Memory under a flood of misses on one very large original: 64 clients (bench/load/overload.js,
# Retry-After honoured) ask distinct 400 px WebP variants of a 94 MB PNG (5600x5600 noise,
# uncompressed) of one business-plan customer, the default queue; then the same load on the sharp
# peer (bench/transform/sharp_server.js, same encoder settings). Prints each server's RSS (with
# sharp's cluster workers) every 50 ms for the first 3 s, the peak of those samples, and the
# answers.
# Usage: bench/load/large_originals.sh [seconds] ; CDN_BIN (build/imagecdn); extra IMAGECDN_*
# variables are passed to the server.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-4}
BIN=${CDN_BIN:-build/imagecdn}
source bench/load/common.sh
[ -d bench/transform/node_modules/sharp ] || npm ci --prefix bench/transform --no-audit --no-fund >/dev/null

DATA="$WORK/data"
PK=$("$BIN" customer create --data-dir "$DATA" --email big@example.com --plan business | public_key)
mkdir -p "$DATA/originals/$PK"
(cd bench/transform && node -e "
  require('sharp')({create: {width: 5600, height: 5600, channels: 3,
                             noise: {type: 'gaussian', mean: 128, sigma: 40}}})
    .png({compressionLevel: 0}).toFile(process.argv[1]).then((i) => console.log('original:', i.size, 'bytes'))" \
  "$DATA/originals/$PK/big.png")

# run NAME PID URL: RSS (with sharp's cluster workers) every 50 ms for the first 3 s and its peak, then overload.js's answers
run() {
  local peak=0 now line="" _
  node bench/load/overload.js "$3" 64 "$DURATION" >"$WORK/$1.json" &
  local load=$!
  for _ in $(seq 60); do now=$(($(tree_rss_kib "$2") / 1024)); line+="$now "; [ "$now" -gt "$peak" ] && peak=$now; sleep 0.05; done
  wait "$load"
  echo "$1: RSS (MiB, every 50 ms): $line"
  echo "$1: peak of those samples ${peak} MiB; answers $(cut -c1-300 "$WORK/$1.json")"
}

PORT=$(free_port)
IMAGECDN_LOG_LEVEL=warn IMAGECDN_CACHE_DISK_BYTES=0 IMAGECDN_CACHE_DECODED_BYTES=0 \
  "$BIN" serve --data-dir "$DATA" --listen "127.0.0.1:$PORT" >"$WORK/cdn.out" 2>&1 &
CDN_PID=$!; PIDS+=("$CDN_PID")
SHARP_PORT=$(free_port)
node bench/transform/sharp_server.js "$SHARP_PORT" "$DATA/originals/$PK" >"$WORK/sharp.out" 2>&1 &
SHARP_PID=$!; PIDS+=("$SHARP_PID")
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/livez" >/dev/null && break; sleep 0.1; done
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$SHARP_PORT/" && break; sleep 0.1; done

# Equal settings: 400 px wide WebP q75 (effort 4, sharp_server.js), every request a miss.
run imagecdn "$CDN_PID" "http://127.0.0.1:$PORT/$PK/big.png?w=400&format=webp&q=75"
run sharp "$SHARP_PID" "http://127.0.0.1:$SHARP_PORT/big"
