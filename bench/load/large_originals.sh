#!/usr/bin/env bash
# Memory under a flood of misses on one very large original: 64 clients (bench/load/overload.js,
# Retry-After honoured) ask distinct 400 px WebP variants of a 94 MB PNG (5600x5600 noise,
# uncompressed) of one business-plan customer, the default queue. Prints the server's RSS every
# 50 ms for the first 3 s, the answers, and the peak RSS (VmHWM).
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

PORT=$(free_port)
IMAGECDN_LOG_LEVEL=warn IMAGECDN_CACHE_DISK_BYTES=0 IMAGECDN_CACHE_DECODED_BYTES=0 \
  "$BIN" serve --data-dir "$DATA" --listen "127.0.0.1:$PORT" >"$WORK/cdn.out" 2>&1 &
PID=$!; PIDS+=("$PID")
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/livez" >/dev/null && break; sleep 0.1; done

( for _ in $(seq 60); do awk '/VmRSS/ {printf "%d ", $2 / 1024}' "/proc/$PID/status"; sleep 0.05; done; echo "(MiB, every 50 ms)" ) &
SAMPLER=$!
node bench/load/overload.js "http://127.0.0.1:$PORT/$PK/big.png?w=400&format=webp" 64 "$DURATION"
wait "$SAMPLER"
grep VmHWM "/proc/$PID/status"
