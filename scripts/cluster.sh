#!/usr/bin/env bash
# The multi-node counterpart of scripts/run.sh: sets up and builds what is missing, then runs a
# whole cluster on loopback, everything under ./cluster/: PostgreSQL (initdb on first start),
# Redis, s3rver (the bucket), one `--role api` node, two `--role edge` nodes, and Debian's nginx
# in front (deploy/nginx/imagecdn.conf.template). The api node creates the demo customer and its
# images (`serve --demo`: the API's own ingest), then the URLs to try are printed with the node
# that answered each (X-Served-By).
#
#   scripts/cluster.sh [start]   runs in the foreground; Ctrl-C stops every process
#   scripts/cluster.sh stop      stops a cluster started from another terminal
#
# Every process is stopped by the pid in ./cluster/<name>.pid, never by name. Ports: nginx on
# CLUSTER_PORT (8080); the api node on +10, the edges on +11 and +12, PostgreSQL +20, Redis +21,
# s3rver +22. The database and the bucket (Redis keeps nothing) stay in ./cluster/ between runs;
# `rm -rf cluster` starts afresh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=$ROOT/cluster
PORT=${CLUSTER_PORT:-8080}
API_PORT=$((PORT + 10))
EDGE_PORTS=($((PORT + 11)) $((PORT + 12)))
PG_PORT=$((PORT + 20))
REDIS_PORT=$((PORT + 21))
S3_PORT=$((PORT + 22))
PG_BIN=/usr/lib/postgresql/15/bin
# Stopped in this order: the load balancer first, the shared services last.
PROCESSES=(nginx edge-2 edge-1 api s3rver redis postgres)

log() { echo "cluster: $*" >&2; }

# Runs a PostgreSQL command as the owner of the data (initdb refuses root).
as_pg_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# The pid in cluster/NAME.pid if that process still runs the program it was started as.
live_pid() {
  local file=$DIR/$1.pid pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$(cat "$file.expect" 2>/dev/null || echo .)" ||
    return 1
  echo "$pid"
}

# Records a started process: its pid and a word of its command line (checked before any kill,
# so a stale pid file never kills a stranger).
remember() {
  echo "$2" >"$DIR/$1.pid"
  echo "$3" >"$DIR/$1.pid.expect"
}

# SIGTERM (SIGINT for PostgreSQL: its fast shutdown), then SIGKILL after 20 s.
stop_one() {
  local name=$1 pid signal=TERM
  pid=$(live_pid "$name") || { rm -f "$DIR/$name.pid" "$DIR/$name.pid.expect"; return 0; }
  [ "$name" = postgres ] && signal=INT
  kill -s "$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name ($pid) did not stop in 20 s: SIGKILL"
    kill -s KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$DIR/$name.pid" "$DIR/$name.pid.expect"
  log "stopped $name ($pid)"
}

stop_all() {
  # A second Ctrl-C (or a supervisor's repeated SIGTERM) must not cut the stopping short.
  trap '' INT TERM
  trap - EXIT
  for name in "${PROCESSES[@]}"; do
    stop_one "$name"
  done
}

# Waits until something accepts connections on 127.0.0.1:PORT, or fails naming the log.
wait_for_port() {
  local name=$1 port=$2
  for _ in $(seq 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    # Not live_pid: right after the fork the child's command line is still this script's.
    kill -0 "$(cat "$DIR/$name.pid")" 2>/dev/null ||
      { log "$name exited; see $DIR/$name.log"; tail -5 "$DIR/$name.log" >&2; return 1; }
    sleep 0.1
  done
  log "$name is not listening on $port after 30 s; see $DIR/$name.log"
  return 1
}

start_postgres() {
  mkdir -p "$DIR/pg"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$DIR/pg"
  if [ ! -f "$DIR/pg/data/PG_VERSION" ]; then
    as_pg_owner "$PG_BIN/initdb" -D "$DIR/pg/data" -U postgres -A trust -E UTF8 --locale=C -N \
      >"$DIR/postgres.log"
  fi
  as_pg_owner "$PG_BIN/pg_ctl" start -W -D "$DIR/pg/data" -l "$DIR/pg/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $DIR/pg" >>"$DIR/postgres.log"
  for _ in $(seq 300); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break
    sleep 0.1
  done
  remember postgres "$(head -1 "$DIR/pg/data/postmaster.pid")" postgres
  "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'imagecdn'" | grep -q 1 ||
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres imagecdn
  log "postgres on 127.0.0.1:$PG_PORT (data in $DIR/pg/data)"
}

start_redis() {
  mkdir -p "$DIR/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$DIR/redis" >"$DIR/redis.log" 2>&1 &
  remember redis $! redis-server
  wait_for_port redis "$REDIS_PORT"
  log "redis on 127.0.0.1:$REDIS_PORT"
}

start_s3rver() {
  mkdir -p "$DIR/s3"
  # --openssl-legacy-provider: s3rver's ListObjectsV2 continuation tokens use DES.
  # standalone.mjs: s3rver with its writes one at a time (tests/s3/serialize_writes.mjs).
  node --openssl-legacy-provider tests/s3/standalone.mjs "$DIR/s3" "$S3_PORT" originals \
    >"$DIR/s3rver.log" 2>&1 &
  remember s3rver $! tests/s3/standalone.mjs
  wait_for_port s3rver "$S3_PORT"
  log "s3rver on 127.0.0.1:$S3_PORT (bucket 'originals' in $DIR/s3)"
}

# cluster/<name>.toml: what every node shares, then the node's own address and name.
write_node_config() {
  local name=$1 port=$2
  cat >"$DIR/$name.toml" <<EOF
# Written by scripts/cluster.sh; deploy/config/ has the annotated examples.
[server]
listen = "127.0.0.1:$port"
node_name = "$name"
public_base_url = "http://127.0.0.1:$PORT"
trusted_proxies = ["127.0.0.1"]

[database]
url = "postgres://postgres@127.0.0.1:$PG_PORT/imagecdn"

[kv]
url = "redis://127.0.0.1:$REDIS_PORT"
expected_nodes = 2

[storage]
kind = "s3"
endpoint = "http://127.0.0.1:$S3_PORT"
bucket = "originals"
region = "us-east-1"
access_key = "S3RVER"
secret_key = "S3RVER"

[auth]
internal_secret = "$(cat "$DIR/internal_secret")"
jwt_secret = "$(cat "$DIR/jwt_secret")"
EOF
}

# imagecdn serve --role ROLE as NAME on PORT, its data (the variant cache) in cluster/NAME/.
start_node() {
  local name=$1 role=$2 port=$3
  shift 3
  mkdir -p "$DIR/$name"
  write_node_config "$name" "$port"
  build/imagecdn serve --role "$role" --config "$DIR/$name.toml" --data-dir "$DIR/$name" "$@" \
    >"$DIR/$name.log" 2>&1 &
  remember "$name" $! imagecdn
  wait_for_port "$name" "$port"
  log "$name (--role $role) on 127.0.0.1:$port"
}

# The template on stdin with its placeholders filled (as tests/support/nginx_process.cpp does):
# LISTEN, then the edge and the api addresses, each list space-separated. A line naming @EDGE@
# or @API@ is repeated once per address; comments are copied as they are.
render_nginx_template() {
  awk -v listen="$1" -v edges="$2" -v apis="$3" '
    /^[[:space:]]*#/ { print; next }
    /@EDGE@/ || /@API@/ {
      n = split(/@EDGE@/ ? edges : apis, addresses, " ")
      for (i = 1; i <= n; i++) { line = $0; gsub(/@EDGE@|@API@/, addresses[i], line); print line }
      next
    }
    { gsub(/@LISTEN@/, listen); print }'
}

# nginx as a child on PORT with this checkout's template; never the system service.
start_nginx() {
  local edges=""
  for port in "${EDGE_PORTS[@]}"; do
    edges+="127.0.0.1:$port "
  done
  mkdir -p "$DIR/nginx"
  render_nginx_template "127.0.0.1:$PORT" "$edges" "127.0.0.1:$API_PORT" \
    <deploy/nginx/imagecdn.conf.template >"$DIR/nginx/imagecdn.conf"
  sed "s|@DIR@|$DIR/nginx|g" deploy/nginx/standalone.conf.template >"$DIR/nginx/nginx.conf"
  /usr/sbin/nginx -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -g 'daemon off;' \
    >"$DIR/nginx.log" 2>&1 &
  remember nginx $! nginx
  wait_for_port nginx "$PORT"
  log "nginx on 127.0.0.1:$PORT (edges ${EDGE_PORTS[*]}, api $API_PORT)"
}

# The demo's URLs (the api node prints them once the customer and images exist), each fetched
# through nginx with the node that answered.
print_demo() {
  for _ in $(seq 300); do
    grep -q "demo account:" "$DIR/api.log" && break
    sleep 0.1
  done
  sed -n '/ImageCDN is running/,/demo account:/p' "$DIR/api.log"
  echo
  echo "Through nginx on http://127.0.0.1:$PORT, answered by:"
  grep -Eo 'http://[^ ]+' "$DIR/api.log" | awk '!seen[$0]++' | while read -r url; do
    curl -s -o /dev/null -D - "$url" | tr -d '\r' |
      awk -v url="$url" '/^HTTP/ {status = $2} tolower($1) == "x-served-by:" {node = $2}
        END {printf "  %-7s %s  %s\n", node, status, url}'
  done
  echo
  echo "Logs and pid files in $DIR/. Ctrl-C (or scripts/cluster.sh stop) stops everything."
}

start() {
  scripts/setup.sh
  mkdir -p "$DIR"
  for name in cluster "${PROCESSES[@]}"; do
    if live_pid "$name" >/dev/null; then
      log "$name already runs (pid $(live_pid "$name")): scripts/cluster.sh stop first"
      exit 1
    fi
  done
  for secret in internal_secret jwt_secret; do
    [ -s "$DIR/$secret" ] ||
      (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$DIR/$secret")
  done
  trap finish INT TERM EXIT
  remember cluster $$ cluster.sh
  start_postgres
  start_redis
  start_s3rver
  # The api node first: it migrates the database the edges then read.
  start_node api api "$API_PORT" --demo
  start_node edge-1 edge "${EDGE_PORTS[0]}"
  start_node edge-2 edge "${EDGE_PORTS[1]}"
  start_nginx
  print_demo
  # Until Ctrl-C, or until `scripts/cluster.sh stop` (or a crash) ends a process.
  wait -n || true
  finish
}

# The foreground script's end, however it comes: every process, then its own pid file.
finish() {
  stop_all
  rm -f "$DIR/cluster.pid" "$DIR/cluster.pid.expect"
}

# `stop` from another terminal: the foreground script stops its processes itself (it is the
# first pid file); whatever is left (it was killed) is stopped here.
stop() {
  local pid
  if pid=$(live_pid cluster); then
    kill -s TERM "$pid"
    for _ in $(seq 600); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  stop_all
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  # The nginx config for LISTEN, EDGES and APIS (space-separated HOST:PORT lists) on stdout, as
  # start renders it: the cluster tests compare it with their own rendering.
  render-nginx) render_nginx_template "$2" "$3" "$4" <deploy/nginx/imagecdn.conf.template ;;
  *)
    echo "usage: scripts/cluster.sh [start|stop|render-nginx LISTEN EDGES APIS]" >&2
    exit 2
    ;;
esac
