#!/usr/bin/env bash
# What the edge policy steps (issue 4) cost on cache hits, measured in one run:
#   off  — a pro customer with no allowlist and no signing (rate limit, quota and usage still run)
#   same — that customer, with a request of the same shape as `on` (a 64-character `v` in place
#          of `s`, the same Origin header): what the policy steps cost apart from request size
#   on   — a pro customer with an allowlist (request carries a matching Origin), signed URLs
#          required (request carries a valid s), so steps 3–6 and 12 all do their work
# Usage: bench/load/policy.sh [duration_s] [connections] [rounds]
# With CDN_BASELINE=/path/to/imagecdn, that binary serves the same data on another port and each
# round measures it too, next to the binary under test (rows marked "base", order alternating by
# round): a before/after comparison in one run, under the same noise.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10}
CONNECTIONS=${2:-64}
ROUNDS=${3:-2}
BIN=${CDN_BIN:-build/imagecdn}

dpkg-query -W -f='${Status}' wrk 2>/dev/null | grep -q "install ok installed" ||
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

WORK=$(mktemp -d /tmp/imagecdn-policy-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
public_key() { sed -E 's/.*"public_key":"([^"]+)".*/\1/'; }

DATA="$WORK/data"
OFF=$("$BIN" customer create --data-dir "$DATA" --email off@example.com --plan pro | public_key)
ON=$("$BIN" customer create --data-dir "$DATA" --email on@example.com --plan pro | public_key)
"$BIN" customer update "$ON" --data-dir "$DATA" \
  --settings '{"allowed_domains":["example.com","*.example.com"],"require_signed_urls":true}'
SECRET=$("$BIN" customer show "$ON" --data-dir "$DATA" | sed -E 's/.*"signing_secret":"([^"]+)".*/\1/')
for pk in "$OFF" "$ON"; do
  mkdir -p "$DATA/originals/$pk"
  head -c 30000 /dev/urandom | python3 -c '
import struct, sys, zlib
raw = sys.stdin.buffer.read(); w, h = 100, 100
rows = b"".join(b"\x00" + raw[y*300:(y+1)*300] for y in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows, 0)) + chunk(b"IEND", b""))' >"$DATA/originals/$pk/hit.png"
done
SIGNED=$("$BIN" sign-url "/$ON/hit.png?v=1" --secret "$SECRET")
SAME_SHAPE=$(printf 'x%.0s' $(seq 64))

start() { # binary, data dir → port
  local port; port=$(free_port)
  IMAGECDN_LOG_LEVEL=warn IMAGECDN_SERVER_THREADS=2 IMAGECDN_PLANS_PRO_RATE_LIMIT_RPS=1000000000 \
    "$1" serve --data-dir "${2:-$DATA}" --listen "127.0.0.1:$port" >>"$WORK/cdn.out" 2>>"$WORK/cdn.err" &
  PIDS+=($!); SERVER_PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  PORT=$port
}
# Runs `rps` against the server on port $2 with pid $1, the rest of the arguments a URL path and
# wrk options.
rps_on() {
  local pid=$1 port=$2 path=$3; shift 3
  SERVER_PID=$pid rps "$@" "http://127.0.0.1:$port$path"
}
stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# requests/s, and the server's CPU time per request (user + system, so the kernel's share of
# the socket work too): the second is far less sensitive to a noisy neighbour than the first.
rps() {
  local before after out
  before=$(cpu_ticks "$SERVER_PID")
  out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" "$@" 2>&1)
  after=$(cpu_ticks "$SERVER_PID")
  awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
    /Non-2xx/ {bad=1} /requests in/ {n=$1} /Requests\/sec/ {r=$2}
    END {printf "%s%12s %10.1f", (bad ? "ERR:" : ""), r, ticks / hz * 1e6 / n}' <<<"$out"
}

if [ -n "${CDN_BASELINE:-}" ]; then # its own copy of the data: one server per data dir
  cp -a "$DATA" "$WORK/data-base"
  start "$CDN_BASELINE" "$WORK/data-base"; BASE_PID=$SERVER_PID; BASE_PORT=$PORT
fi
start "$BIN"
NEW_PID=$SERVER_PID
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "http://127.0.0.1:$PORT/$OFF/hit.png")" = 200 ]
[ "$(code -H 'Origin: https://www.example.com' "http://127.0.0.1:$PORT$SIGNED")" = 200 ]
[ "$(code "http://127.0.0.1:$PORT/$ON/hit.png?v=1")" = 403 ] # unsigned: refused, so policy is on
[ "$(code "http://127.0.0.1:$PORT/$OFF/hit.png?v=$SAME_SHAPE")" = 200 ]
echo "30 KB cache hits; wrk -t2 -c$CONNECTIONS -d${DURATION}s; $(nproc) cores; $ROUNDS rounds"
printf "%-6s %-10s %12s %10s\n" round case "requests/s" "CPU µs/req"
cases() { # label, pid, port
  printf "%-6s %-10s %s\n" "$round" "off$1" "$(rps_on "$2" "$3" "/$OFF/hit.png")"
  printf "%-6s %-10s %s\n" "$round" "same$1" "$(rps_on "$2" "$3" "/$OFF/hit.png?v=$SAME_SHAPE" -H 'Origin: https://www.example.com')"
  printf "%-6s %-10s %s\n" "$round" "on$1" "$(rps_on "$2" "$3" "$SIGNED" -H 'Origin: https://www.example.com')"
}
for round in $(seq "$ROUNDS"); do
  if [ -n "${CDN_BASELINE:-}" ] && [ $((round % 2)) = 0 ]; then # alternate who goes first
    cases " base" "$BASE_PID" "$BASE_PORT"; cases "" "$NEW_PID" "$PORT"
  else
    cases "" "$NEW_PID" "$PORT"; [ -z "${CDN_BASELINE:-}" ] || cases " base" "$BASE_PID" "$BASE_PORT"
  fi
done
stop
