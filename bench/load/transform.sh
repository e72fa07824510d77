#!/usr/bin/env bash
# Transform throughput, every request a cache miss: imagecdn vs a sharp server (node cluster,
# one worker per core), same originals, same outputs, in one run; vipsthumbnail as the floor.
# Usage: bench/load/transform.sh [duration_s] [connections] [workloads...]
#   W1: 6000x4000 JPEG -> w=800 WebP q75; W2: same -> JPEG q75; W3: 4000x2500 PNG -> w=400 AVIF q50
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-20}
CONNECTIONS=${2:-16}
shift 2 2>/dev/null || true
WORKLOADS=("${@:-w1 w2 w3}")
[ "${#WORKLOADS[@]}" -eq 1 ] && read -r -a WORKLOADS <<<"${WORKLOADS[0]}"
BIN=${CDN_BIN:-build/imagecdn}

source bench/load/common.sh
need_packages wrk libvips-tools mate-backgrounds
[ -d bench/transform/node_modules/sharp ] || npm ci --prefix bench/transform --no-audit --no-fund >/dev/null

tree_rss_kib() { # current RSS of a process and its children
  local total=0; for p in $1 $(pgrep -P "$1" || true); do
    total=$((total + $(awk '/VmRSS/ {print $2}' /proc/$p/status 2>/dev/null || echo 0))); done; echo "$total"; }
watch_peak() { # pid outfile: samples the tree's RSS every 100 ms, keeps the peak
  local peak=0; while kill -0 "$1" 2>/dev/null; do
    local now; now=$(tree_rss_kib "$1"); [ "$now" -gt "$peak" ] && peak=$now && echo "$peak" >"$2"; sleep 0.1; done; }

SRC="$WORK/src"; mkdir -p "$SRC"
SOURCES=${SOURCES:-camera} # camera-like photographs with grain; `smooth` for the earlier gradients
node bench/transform/make_sources.js "$SRC" "$SOURCES"

DATA="$WORK/data"
PK=$("$BIN" customer create --data-dir "$DATA" --email bench@example.com --plan business | sed -E 's/.*"public_key":"([^"]+)".*/\1/')
mkdir -p "$DATA/originals/$PK"
cp "$SRC/photo.jpg" "$SRC/graphic.png" "$DATA/originals/$PK/"

CDN_PORT=$(free_port)
IMAGECDN_LOG_LEVEL=warn IMAGECDN_CACHE_DISK_BYTES=0 "$BIN" serve --data-dir "$DATA" --listen "127.0.0.1:$CDN_PORT" >"$WORK/cdn.out" 2>"$WORK/cdn.err" &
CDN_PID=$!; PIDS+=("$CDN_PID")
SHARP_PORT=$(free_port)
node bench/transform/sharp_server.js "$SHARP_PORT" "$SRC" &
SHARP_PID=$!; PIDS+=("$SHARP_PID")
for i in $(seq 100); do
  curl -sf "http://127.0.0.1:$CDN_PORT/healthz" >/dev/null && curl -sf "http://127.0.0.1:$SHARP_PORT/w3" -o /dev/null && break; sleep 0.2; done

# Every request a distinct `v`, so every request is a miss (threads count from different bases).
cat >"$WORK/miss.lua" <<'LUA'
local counter = 0
local threads = 0
function setup(thread) thread:set("base", threads * 100000000); threads = threads + 1 end
function init(args) counter = base end
function request()
  counter = counter + 1
  local sep = string.find(wrk.path, "?") and "&" or "?"
  return wrk.format(nil, wrk.path .. sep .. "v=" .. counter)
end
LUA

declare -A CDN_PATH=(
  [w1]="/$PK/photo.jpg?w=800&format=webp&q=75"
  [w2]="/$PK/photo.jpg?w=800&format=jpeg&q=75"
  [w3]="/$PK/graphic.png?w=400&format=avif&q=50")

measure() { # name url pid -> "rps p50 p99 peakMiB"
  local peak_file="$WORK/peak.$1"; echo 0 >"$peak_file"
  watch_peak "$3" "$peak_file" & local watcher=$!
  local out; out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 30s --latency -s "$WORK/miss.lua" "$2" 2>&1)
  kill "$watcher" 2>/dev/null || true; wait "$watcher" 2>/dev/null || true
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ' || true)
  printf "%s %s %s %s %s\n" "$rps" "$p50" "$p99" "$(awk -v k="$(cat "$peak_file")" 'BEGIN {printf "%.0f", k/1024}')" "$errors"
}

echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s, a miss every request, $(nproc) cores; peak RSS of the whole server (MiB)"
printf "%-4s %-9s %10s %10s %10s %9s  %s\n" load server req/s p50 p99 peakRSS notes
for w in "${WORKLOADS[@]}"; do
  read -r c_rps c_p50 c_p99 c_rss c_err <<<"$(measure cdn "http://127.0.0.1:$CDN_PORT${CDN_PATH[$w]}" "$CDN_PID")"
  read -r s_rps s_p50 s_p99 s_rss s_err <<<"$(measure sharp "http://127.0.0.1:$SHARP_PORT/$w" "$SHARP_PID")"
  printf "%-4s %-9s %10s %10s %10s %9s  %s\n" "$w" imagecdn "$c_rps" "$c_p50" "$c_p99" "$c_rss" "${c_err:-}"
  printf "%-4s %-9s %10s %10s %10s %9s  %s\n" "$w" sharp "$s_rps" "$s_p50" "$s_p99" "$s_rss" "${s_err:-}"
  awk -v a="$c_rps" -v b="$s_rps" -v w="$w" 'BEGIN {printf "%-4s ratio imagecdn/sharp: %.2f\n", w, a/b}'
done

# The floor: Debian's vipsthumbnail, one process per core, the W1 transform.
N=12
start=$(date +%s.%N)
for i in $(seq "$N"); do echo "$i"; done | xargs -P "$(nproc)" -I{} vipsthumbnail "$SRC/photo.jpg" -s 800x100000 -o "$WORK/thumb{}.webp[Q=75]"
end=$(date +%s.%N)
awk -v n="$N" -v s="$start" -v e="$end" 'BEGIN {printf "w1   vipsthumbnail (Debian, %d runs, %d parallel): %.2f images/s\n", n, '"$(nproc)"', n/(e-s)}'
