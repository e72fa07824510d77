#!/usr/bin/env bash
# Issue 18 figures, in one run: the local store vs S3 (s3rver 3.7.1 from tests/s3, reached
# directly: no verifying proxy in between), alternating, median of RUNS each:
#   - W2 miss throughput: the 6000x4000 camera-like JPEG (bench/transform/make_sources.js, about
#     6.6 MB) -> w=800 JPEG q75, every request a new `v`, so each one reads its original;
#   - p99 of a fetch of that original by the store: Server-Timing `fetch` of FETCHES sequential
#     misses of the original itself (no options, a new `v` each), which is the store's get();
#   - connections opened per 1,000 store requests (S3 only): imagecdn_store_connections_opened_total
#     over imagecdn_store_attempts_total, through both loads above.
# Usage: bench/storage/local_vs_s3.sh [duration_s] [connections] [runs] [fetches]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-15}
CONNECTIONS=${2:-8}
RUNS=${3:-3}
FETCHES=${4:-200}
BIN=${CDN_BIN:-build/imagecdn}
SECRET=bench-internal-secret-0123456789abcdef

source bench/load/common.sh
need_packages wrk
[ -d bench/transform/node_modules/sharp ] || npm ci --prefix bench/transform --no-audit --no-fund >/dev/null
[ -d tests/s3/node_modules/s3rver ] || npm ci --prefix tests/s3 --no-audit --no-fund >/dev/null

SRC="$WORK/src"; mkdir -p "$SRC"
node bench/transform/make_sources.js "$SRC" >/dev/null
PHOTO_BYTES=$(stat -c %s "$SRC/photo.jpg")

S3_PORT=$(free_port)
node tests/s3/node_modules/.bin/s3rver -d "$WORK/s3rver" -a 127.0.0.1 -p "$S3_PORT" -s \
  --configure-bucket originals >"$WORK/s3rver.log" 2>&1 &
PIDS+=($!)
for i in $(seq 100); do curl -s "http://127.0.0.1:$S3_PORT/" -o /dev/null && break; sleep 0.1; done

# serve NAME KIND: a node on a fresh data dir with one business customer; sets PORT_<NAME>, PK_<NAME>.
serve() {
  local name=$1 kind=$2 dir="$WORK/$1" port created; port=$(free_port)
  local -a store=(IMAGECDN_STORAGE_KIND=local)
  [ "$kind" = s3 ] && store=(IMAGECDN_STORAGE_KIND=s3 IMAGECDN_STORAGE_ENDPOINT="http://127.0.0.1:$S3_PORT"
    IMAGECDN_STORAGE_BUCKET=originals IMAGECDN_STORAGE_ACCESS_KEY=S3RVER IMAGECDN_STORAGE_SECRET_KEY=S3RVER)
  created=$("$BIN" customer create --data-dir "$dir" --email "$name@example.com" --plan business)
  env IMAGECDN_LOG_LEVEL=warn IMAGECDN_CACHE_DISK_BYTES=0 IMAGECDN_AUTH_INTERNAL_SECRET=$SECRET "${store[@]}" \
    "$BIN" serve --data-dir "$dir" --listen "127.0.0.1:$port" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!); eval "PID_$name=$!"; eval "PORT_$name=$port"; eval "PK_$name=$(public_key <<<"$created")"
  for i in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  curl -sf -X PUT "http://127.0.0.1:$port/api/v1/images/photo.jpg" -H "Content-Type: application/octet-stream" \
    -H "X-API-Key: $(sed -E 's/.*"api_key":"([^"]+)".*/\1/' <<<"$created")" \
    --data-binary "@$SRC/photo.jpg" -o /dev/null || { echo "upload to $name failed"; cat "$WORK/$name.err"; exit 1; }
}
metric() { curl -s "http://127.0.0.1:$1/metrics" -H "Authorization: Bearer $SECRET" | awk -v m="$2" '$1==m {print $2+0}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
to_ms() { sed -E 's/([0-9.]+)us/\1 0.001/; s/([0-9.]+)ms/\1 1/; s/([0-9.]+)s$/\1 1000/' | awk '{printf "%.1f", $1*$2}'; }

# Every request a distinct `v`, so every request is a miss (threads and runs count from different
# bases; the run is the script's argument).
cat >"$WORK/miss.lua" <<'LUA'
local counter = 0
local threads = 0
function setup(thread) thread:set("base", threads * 100000000); threads = threads + 1 end
function init(args) counter = base + tonumber(args[1]) * 10000000 end
function request()
  counter = counter + 1
  return wrk.format(nil, wrk.path .. "&v=" .. counter)
end
LUA

serve local local
serve s3 s3
s3_attempts0=$(metric "$PORT_s3" imagecdn_store_attempts_total)
s3_conns0=$(metric "$PORT_s3" imagecdn_store_connections_opened_total)
for kind in local s3; do : >"$WORK/$kind.rps"; : >"$WORK/$kind.p99"; : >"$WORK/$kind.fetch"; done

# fetch_p99 NAME RUN: FETCHES sequential misses of the original; p99 of their Server-Timing fetch.
fetch_p99() {
  local port pk; eval "port=\$PORT_$1"; eval "pk=\$PK_$1"
  for i in $(seq "$FETCHES"); do
    curl -s -o /dev/null -D - "http://127.0.0.1:$port/$pk/photo.jpg?v=f$2-$i" |
      sed -nE 's/^[Ss]erver-[Tt]iming: fetch;dur=([0-9.]+).*/\1/p'
  done | sort -n | awk '{a[NR]=$1} END {i=int(NR*0.99+0.999); print a[i]}'
}

echo "W2 misses: wrk -t2 -c$CONNECTIONS -d${DURATION}s; fetch p99 of $FETCHES sequential misses; $RUNS runs each, alternating; $(nproc) cores; original $PHOTO_BYTES bytes"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$RUNS"); do
  for kind in local s3; do
    eval "port=\$PORT_$kind"; eval "pk=\$PK_$kind"
    out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 30s --latency -s "$WORK/miss.lua" \
      "http://127.0.0.1:$port/$pk/photo.jpg?w=800&format=jpeg&q=75" -- "$run" 2>&1)
    grep -E 'Non-2xx|Socket errors' <<<"$out" && echo "($kind run $run)"
    awk '/Requests\/sec/ {print $2}' <<<"$out" >>"$WORK/$kind.rps"
    awk '$1=="99%" {print $2}' <<<"$out" | to_ms >>"$WORK/$kind.p99"; echo >>"$WORK/$kind.p99"
    fetch_p99 "$kind" "$run" >>"$WORK/$kind.fetch"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

printf "%-6s %12s %14s %16s   %s\n" store "W2 req/s" "W2 p99 ms" "fetch p99 ms" "runs (req/s | fetch p99)"
for kind in local s3; do
  printf "%-6s %12s %14s %16s   %s | %s\n" "$kind" "$(median <"$WORK/$kind.rps")" "$(median <"$WORK/$kind.p99")" \
    "$(median <"$WORK/$kind.fetch")" "$(tr '\n' ' ' <"$WORK/$kind.rps")" "$(tr '\n' ' ' <"$WORK/$kind.fetch")"
done
s3_attempts=$(( $(metric "$PORT_s3" imagecdn_store_attempts_total) - s3_attempts0 ))
s3_conns=$(( $(metric "$PORT_s3" imagecdn_store_connections_opened_total) - s3_conns0 ))
awk -v c="$s3_conns" -v a="$s3_attempts" 'BEGIN {printf "s3: %d store requests opened %d connections: %.1f per 1,000\n", a, c, a ? 1000*c/a : 0}'
