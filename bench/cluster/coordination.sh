#!/usr/bin/env bash
# Issue 19, first figure: what cluster coordination costs on the cache-hit path. In one run,
# alternating, RUNS each (median reported), wrk on one small cached variant of one edge:
#   A  one `imagecdn serve` alone (role all, embedded defaults: SQLite, in-process KV, local store);
#   B  the same binary as one `--role edge` node of a cluster on loopback: PostgreSQL 15, Redis,
#      s3rver, an `--role api` node and two edge nodes (deploy/config/*.toml, the addresses and
#      secrets given as IMAGECDN_* variables, as secrets.env does), loaded directly.
# Runs alternate A B, B A, ... so neither always goes first. The cluster stays up during A too,
# so both see the same idle background; the node under test (A's, or B's edge-1) is restarted and
# warmed (X-Cache: HIT) before each run. Redis commands per second during B's load come from
# `INFO commandstats` (every node's) and edge-1's own imagecdn_kv_commands_total. The node's CPU
# (user + system, /proc) per request is printed too: what the node itself spends on a hit (req/s
# on 2 shared cores moves with it from run to run, so compare both).
# Usage: bench/cluster/coordination.sh [duration_s] [connections,...] [runs]
#   e.g. bench/cluster/coordination.sh 10 64,16 3
# EDGE_ENV="IMAGECDN_KV_URL= ..." adds variables to B's edge (to take one backend out);
# PERF_DIR=DIR records `perf record -g` of the loaded node in each run into DIR.
# Needs: a built binary, wrk, redis-server, PostgreSQL 15, node with tests/s3's node_modules.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10}
CONNECTIONS=${2:-64}
RUNS=${3:-3}
BIN=${CDN_BIN:-$PWD/build/imagecdn}
PG_BIN=/usr/lib/postgresql/15/bin
VARIANT="hit.png?w=80"

source bench/load/common.sh
need_packages wrk redis-server postgresql-15

# PostgreSQL is started by pg_ctl (not our child): stopped after the nodes, before WORK goes.
finish() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -f "$WORK/pg/data/postmaster.pid" ] &&
    runuser -u postgres -- "$PG_BIN/pg_ctl" stop -D "$WORK/pg/data" -m fast >/dev/null 2>&1 || true
  cleanup
}
trap finish EXIT

wait_port() { # NAME PORT
  for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return; sleep 0.1; done
  echo "$1 is not listening on $2" >&2; exit 1
}

start_postgres() { # as the postgres user in WORK/pg, like scripts/cluster.sh
  PG_PORT=$(free_port)
  chmod 711 "$WORK"; mkdir -p "$WORK/pg"; chown postgres: "$WORK/pg"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$WORK/pg/data" -U postgres -A trust -E UTF8 \
    --locale=C -N >"$WORK/pg/initdb.log"
  runuser -u postgres -- "$PG_BIN/pg_ctl" start -W -D "$WORK/pg/data" -l "$WORK/pg/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $WORK/pg" >/dev/null
  until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; do sleep 0.1; done
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres imagecdn
}

start_redis() {
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
    >"$WORK/redis.log" 2>&1 &
  PIDS+=($!)
  wait_port redis "$REDIS_PORT"
}

start_s3rver() { # the plain s3rver, as scripts/cluster.sh runs it
  S3_PORT=$(free_port); mkdir -p "$WORK/s3"
  node --openssl-legacy-provider tests/s3/node_modules/s3rver/bin/s3rver.js -d "$WORK/s3" \
    -a 127.0.0.1 -p "$S3_PORT" --silent --configure-bucket originals >"$WORK/s3rver.log" 2>&1 &
  PIDS+=($!)
  wait_port s3rver "$S3_PORT"
}

SECRET=bench-internal-secret-0123456789abcdef
# Both A and B: quiet logs, two I/O threads, the pro plan's rate limit out of the way (hits, not
# 429s, are measured; B still counts every hit against it and reconciles the counts in Redis).
COMMON_ENV=(IMAGECDN_LOG_LEVEL=warn IMAGECDN_SERVER_THREADS=2
  IMAGECDN_PLANS_PRO_RATE_LIMIT_RPS=1000000000 IMAGECDN_AUTH_INTERNAL_SECRET=$SECRET)
cluster_env() { # what secrets.env and the addresses of this machine add to deploy/config/
  CLUSTER_ENV=("${COMMON_ENV[@]}" IMAGECDN_AUTH_JWT_SECRET=bench-jwt-secret-0123456789abcdef0123
    IMAGECDN_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/imagecdn"
    IMAGECDN_KV_URL="redis://127.0.0.1:$REDIS_PORT"
    IMAGECDN_STORAGE_ENDPOINT="http://127.0.0.1:$S3_PORT" IMAGECDN_STORAGE_BUCKET=originals
    IMAGECDN_STORAGE_REGION=us-east-1 IMAGECDN_STORAGE_PATH_STYLE=true
    IMAGECDN_STORAGE_ACCESS_KEY=S3RVER IMAGECDN_STORAGE_SECRET_KEY=S3RVER)
}

declare -A PORT PID
start_node() { # NAME [serve args...]: on a free port, data in WORK/NAME, env from NODE_ENV
  local name=$1; shift
  PORT[$name]=$(free_port); mkdir -p "$WORK/$name"
  env "${NODE_ENV[@]}" "$BIN" serve "$@" --data-dir "$WORK/$name" \
    --listen "127.0.0.1:${PORT[$name]}" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PID[$name]=$!; PIDS+=($!)
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:${PORT[$name]}/healthz" >/dev/null && return
    kill -0 "${PID[$name]}" 2>/dev/null || break; sleep 0.1
  done
  echo "node $name did not start" >&2; cat "$WORK/$name.err" >&2; exit 1
}
stop_node() { kill "${PID[$1]}"; wait "${PID[$1]}" 2>/dev/null || true; }
alone_node() { NODE_ENV=("${COMMON_ENV[@]}"); start_node alone; }
edge_node() {
  NODE_ENV=("${CLUSTER_ENV[@]}" ${EDGE_ENV:-})
  start_node "$1" --role edge --config deploy/config/edge.toml
}

# The object: the ~30 KB PNG of noise, in A's local store and uploaded through the api node.
PNG="$WORK/hit.png"; noise_png "$PNG"
PK_ALONE=$(env "${COMMON_ENV[@]}" "$BIN" customer create --data-dir "$WORK/alone" \
  --email bench@example.com --plan pro | public_key)
mkdir -p "$WORK/alone/originals/$PK_ALONE"; cp "$PNG" "$WORK/alone/originals/$PK_ALONE/hit.png"

start_postgres; start_redis; start_s3rver; cluster_env
NODE_ENV=("${CLUSTER_ENV[@]}"); start_node api --role api --config deploy/config/api.toml
ACCOUNT=$(env "${CLUSTER_ENV[@]}" "$BIN" customer create --data-dir "$WORK/api" \
  --email bench@example.com --plan pro)
PK_CLUSTER=$(public_key <<<"$ACCOUNT")
API_KEY=$(sed -E 's/.*"api_key":"([^"]+)".*/\1/' <<<"$ACCOUNT")
curl -sf -X PUT -H "X-API-Key: $API_KEY" -H 'Content-Type: application/octet-stream' \
  --data-binary "@$PNG" "http://127.0.0.1:${PORT[api]}/api/v1/images/hit.png" >/dev/null ||
  { echo "upload through the api node failed" >&2; exit 1; }
edge_node edge-2

# Requests NODE's variant until it answers X-Cache: HIT (the first is a MISS or HIT-SHARED).
warm() { # NODE PK
  local url="http://127.0.0.1:${PORT[$1]}/$2/$VARIANT" cache
  for _ in $(seq 50); do
    cache=$(curl -sf -o /dev/null -w '%header{x-cache}' "$url") || true
    [ "$cache" = HIT ] && return; sleep 0.1
  done
  echo "$1 never answered X-Cache: HIT for $url (last: '$cache')" >&2; exit 1
}
redis_stats() { redis-cli -p "$REDIS_PORT" INFO commandstats | tr -d '\r' |
  sed -nE 's/^cmdstat_([^:]+):calls=([0-9]+),.*/\1 \2/p'; }
node_kv_commands() {
  curl -sf -H "Authorization: Bearer $SECRET" "http://127.0.0.1:${PORT[$1]}/metrics" |
    awk '$1 ~ /^imagecdn_kv_commands_total/ {n += $2} END {printf "%d", n}'
}
to_ms() { sed -E 's/([0-9.]+)us/\1 0.001/; s/([0-9.]+)ms/\1 1/; s/([0-9.]+)s$/\1 1000/' |
  awk '{printf "%.2f", $1*$2}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Per-command calls/s between two `redis_stats` files, the busiest first; the redis-cli INFO of
# the "after" snapshot itself is left out.
redis_rates() { # BEFORE AFTER
  awk -v d="$DURATION" 'NR==FNR {b[$1]=$2; next}
    {n=$2-b[$1]-($1=="info"); if (n>0) printf "%s %.1f\n", $1, n/d}' "$1" "$2" | sort -k2 -nr; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system
wait_perf() { [ -z "${PERF_DIR:-}" ] || wait "$!" || true; }
# One wrk run on NODE (PK's variant): appends "rps p99 non2xx redis/s node-kv/s" to WORK/KIND.C.
measure() { # KIND NODE PK C
  local kind=$1 node=$2 c=$4 out rps p99 bad kv_before kv_after total node_rate cpu_before cpu_us
  warm "$node" "$3"
  if [ "$run" = 1 ]; then
    echo "  $node answers $(curl -s -o /dev/null -w '%{size_download} bytes of %{content_type}' \
      "http://127.0.0.1:${PORT[$node]}/$3/$VARIANT")"
  fi
  redis_stats >"$WORK/redis.before"; kv_before=$(node_kv_commands "$node")
  cpu_before=$(cpu_ticks "${PID[$node]}")
  if [ -n "${PERF_DIR:-}" ]; then
    perf record -q -g -F 499 -p "${PID[$node]}" -o "$PERF_DIR/$kind.$c.$run.data" \
      -- sleep "$DURATION" 2>/dev/null &
  fi
  out=$(wrk -t2 -c"$c" -d"${DURATION}s" --latency \
    "http://127.0.0.1:${PORT[$node]}/$3/$VARIANT" 2>&1)
  cpu_us=$(awk -v t="$(( $(cpu_ticks "${PID[$node]}") - cpu_before ))" -v hz="$(getconf CLK_TCK)" \
    '/requests in/ {printf "%.1f", t * 1e6 / hz / $1}' <<<"$out")
  wait_perf; kv_after=$(node_kv_commands "$node"); redis_stats >"$WORK/redis.after"
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out" | to_ms)
  bad=$(awk '/Non-2xx/ {n=$NF} END {print n+0}' <<<"$out")
  redis_rates "$WORK/redis.before" "$WORK/redis.after" >"$WORK/rates.$kind.$c.$run"
  total=$(awk '{s+=$2} END {printf "%.0f", s}' "$WORK/rates.$kind.$c.$run")
  node_rate=$(awk -v a="$kv_before" -v b="$kv_after" -v d="$DURATION" \
    'BEGIN {printf "%.0f", (b-a)/d}')
  echo "$rps $p99 $bad $total $node_rate $cpu_us" >>"$WORK/$kind.$c"
  printf "  c=%-3s run %d %-7s %10s req/s  p99 %7s ms  CPU %5s us/req  non-2xx %s" \
    "$c" "$run" "$kind" "$rps" "$p99" "$cpu_us" "$bad"
  echo "  redis commands/s $total ($node_rate from $node)"
}
# A run of KIND (alone or cluster) at C connections: its node started, measured, stopped.
run_kind() { # KIND C
  if [ "$1" = alone ]; then
    alone_node; measure alone alone "$PK_ALONE" "$2"; stop_node alone
  else
    edge_node edge-1; measure cluster edge-1 "$PK_CLUSTER" "$2"; stop_node edge-1
  fi
}

column_median() { cut -d' ' -f"$2" "$1" | median; }
echo "cache hits of /$VARIANT (~30 KB PNG): wrk -t2 -d${DURATION}s, $RUNS runs each, alternating;" \
  "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
for c in ${CONNECTIONS//,/ }; do
  : >"$WORK/alone.$c"; : >"$WORK/cluster.$c"
  for run in $(seq "$RUNS"); do
    order="alone cluster"; [ $((run % 2)) = 0 ] && order="cluster alone" # A B, B A, ...
    for kind in $order; do run_kind "$kind" "$c"; done
  done
  for kind in alone cluster; do
    printf "  c=%-3s median %-7s %10s req/s  p99 %7s ms  CPU %5s us/req  redis commands/s %s" \
      "$c" "$kind" "$(column_median "$WORK/$kind.$c" 1)" "$(column_median "$WORK/$kind.$c" 2)" \
      "$(column_median "$WORK/$kind.$c" 6)" "$(column_median "$WORK/$kind.$c" 4)"
    echo " ($(column_median "$WORK/$kind.$c" 5) from the node)"
  done
  awk -v b="$(column_median "$WORK/cluster.$c" 1)" -v a="$(column_median "$WORK/alone.$c" 1)" \
    -v c="$c" 'BEGIN {printf "  c=%-3s cluster/alone throughput (B/A): %.3f\n", c, b/a}'
  awk -v b="$(column_median "$WORK/cluster.$c" 6)" -v a="$(column_median "$WORK/alone.$c" 6)" \
    -v c="$c" 'BEGIN {printf "  c=%-3s cluster/alone node CPU per request: %.3f\n", c, b/a}'
  echo "  c=$c Redis commands/s during B's last run, by command (all nodes):" \
    "$(awk '{printf "%s %s, ", $1, $2}' "$WORK/rates.cluster.$c.$RUNS" | sed 's/, $//')"
done
