#!/usr/bin/env bash
# Issue 17 figures, in one run: cache hits with `[kv] url` on Redis vs in-process (alternating,
# median of RUNS each), the Redis commands one node sends under that hit load, and the time
# from a settings change on node A to its effect on node B (two nodes on one Redis).
# Usage: bench/kv/redis.sh [duration_s] [connections] [runs] [changes]
# Needs: a built binary, wrk and redis-server (a private one is started here on a free port).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10}
CONNECTIONS=${2:-64}
RUNS=${3:-3}
CHANGES=${4:-100}
BIN=${CDN_BIN:-build/imagecdn}

source bench/load/common.sh
need_packages wrk redis-server

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
KV_URL="redis://127.0.0.1:$REDIS_PORT/0"
redis() { redis-cli -p "$REDIS_PORT" "$@"; }
for i in $(seq 50); do redis PING >/dev/null 2>&1 && break; sleep 0.1; done

DATA="$WORK/data"
CREATED=$("$BIN" customer create --data-dir "$DATA" --email bench@example.com --plan pro)
PK=$(public_key <<<"$CREATED")
API_KEY=$(sed -E 's/.*"api_key":"([^"]+)".*/\1/' <<<"$CREATED")
noise_png "$DATA/originals/$PK/hit.png"

# serve NAME DATA_DIR KV_URL [env...]: starts a node on a free port; sets PORT_<NAME>.
serve() {
  local name=$1 dir=$2 url=$3 port; shift 3; port=$(free_port)
  env IMAGECDN_LOG_LEVEL=warn IMAGECDN_SERVER_THREADS=2 IMAGECDN_PLANS_PRO_RATE_LIMIT_RPS=1000000000 \
    IMAGECDN_KV_URL="$url" IMAGECDN_LIMITS_PURGE_REQUESTS_PER_MINUTE=1000000 "$@" \
    "$BIN" serve --data-dir "$dir" --listen "127.0.0.1:$port" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!); eval "PID_$name=$!"; eval "PORT_$name=$port"
  for i in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
  echo "node $name did not start"; cat "$WORK/$name.err"; exit 1
}
stop() { local pid; eval "pid=\$PID_$1"; kill "$pid"; wait "$pid" 2>/dev/null || true; }
commands() { redis INFO stats | awk -F: '/total_commands_processed/ {print $2+0}'; }
field() { awk -v k="$1" '$1==k {print $2}'; }
to_ms() { sed -E 's/([0-9.]+)us/\1 0.001/; s/([0-9.]+)ms/\1 1/; s/([0-9.]+)s$/\1 1000/' | awk '{printf "%.2f", $1*$2}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# 1. Cache hits, alternating in-process and Redis nodes on the same data directory.
echo "cache hits: wrk -t2 -c$CONNECTIONS -d${DURATION}s, $RUNS runs each, alternating, $(nproc) cores"
: >"$WORK/memory.rows"; : >"$WORK/redis.rows"
for run in $(seq "$RUNS"); do
  for kind in memory redis; do
    url=""; [ "$kind" = redis ] && url=$KV_URL
    serve hit "$DATA" "$url"
    curl -sf "http://127.0.0.1:$PORT_hit/$PK/hit.png" -o /dev/null  # the miss
    before=$(commands)
    out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$PORT_hit/$PK/hit.png" 2>&1)
    after=$(commands)
    stop hit
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out"); p99=$(field 99% <<<"$out" | to_ms)
    per_s=$(awk -v a="$before" -v b="$after" -v d="$DURATION" 'BEGIN {printf "%.0f", (b-a-1)/d}')
    echo "$rps $p99 $per_s" >>"$WORK/$kind.rows"
    printf "  run %d %-7s %10s req/s  p99 %7s ms  redis commands/s %s\n" "$run" "$kind" "$rps" "$p99" "$per_s"
  done
done
for kind in memory redis; do
  printf "median %-7s %10s req/s  p99 %7s ms  redis commands/s %s\n" "$kind" \
    "$(cut -d' ' -f1 "$WORK/$kind.rows" | median)" "$(cut -d' ' -f2 "$WORK/$kind.rows" | median)" \
    "$(cut -d' ' -f3 "$WORK/$kind.rows" | median)"
done
awk -v a="$(cut -d' ' -f1 "$WORK/redis.rows" | median)" -v b="$(cut -d' ' -f1 "$WORK/memory.rows" | median)" \
  'BEGIN {printf "redis/in-process throughput: %.3f\n", a/b}'

# 2. Settings change on A to its effect on B: two nodes, one Redis, A's database and store.
serve a "$DATA" "$KV_URL" IMAGECDN_CACHE_CONFIG_TTL_SECONDS=3600
serve b "$WORK/b" "$KV_URL" IMAGECDN_CACHE_CONFIG_TTL_SECONDS=3600 \
  IMAGECDN_DATABASE_URL="sqlite://$DATA/imagecdn.db" IMAGECDN_STORAGE_ROOT="$DATA/originals"
python3 - "$PORT_a" "$PORT_b" "$PK" "$API_KEY" "$CHANGES" <<'PY'
import http.client, json, statistics, sys, time
port_a, port_b, pk, key, changes = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
a = http.client.HTTPConnection("127.0.0.1", port_a); b = http.client.HTTPConnection("127.0.0.1", port_b)
def status_on_b():
    b.request("GET", f"/{pk}/hit.png", headers={"Referer": "https://elsewhere.test/"})
    r = b.getresponse(); r.read(); return r.status
def allow(domains):
    a.request("PATCH", "/api/v1/customer/settings", body=json.dumps({"allowed_domains": domains}),
              headers={"X-API-Key": key, "Content-Type": "application/json"})
    r = a.getresponse(); body = r.read()
    assert r.status == 200, (r.status, body)
allow([]); assert status_on_b() == 200
took = []
for change in range(changes):
    restrict = change % 2 == 0
    start = time.monotonic(); want = 403 if restrict else 200
    allow(["example.com"] if restrict else [])
    while status_on_b() != want:
        if time.monotonic() - start > 5: sys.exit(f"change {change} never reached B")
    took.append((time.monotonic() - start) * 1000)
took.sort()
print(f"settings change on A to effect on B over {changes} changes: "
      f"p50 {statistics.median(took):.2f} ms, max {took[-1]:.2f} ms "
      f"(from sending the PATCH to A, which answers once it has published; B polled back to back)")
PY
