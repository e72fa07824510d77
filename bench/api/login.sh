#!/usr/bin/env bash
# Login throughput and latency (argon2id, m=19 MiB, t=2, p=1): POST /api/v1/auth/login with
# correct passwords under wrk at 2 connections (= the server's argon2 slots on a 2-core machine,
# see src/api/auth/hash_gate.h) and at [connections] (beyond the slots: the excess is refused
# at once with 503 busy, counted as non-2xx), then with wrong passwords (the failed-login path,
# which trips the per-address rate limit after 30 failures and then answers 429 without hashing).
# Usage: bench/api/login.sh [duration_s] [connections] [users]
# Needs: a built binary (scripts/setup.sh), wrk and curl.
#
# Rate limits count failures only, so the success phase never trips them; several users are
# signed up anyway so the run is not one hot row. Every request comes from 127.0.0.1, so the
# failure phase hits the per-address limit (30 per 15 min) after its first 30 requests.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10}
CONNECTIONS=${2:-8}
USERS=${3:-20}
BIN=${CDN_BIN:-build/imagecdn}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }

WORK=$(mktemp -d /tmp/imagecdn-bench-login-XXXXXX)
CDN_PID=
cleanup() { [ -n "$CDN_PID" ] && kill "$CDN_PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
peak_rss_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
IMAGECDN_LOG_LEVEL=warn "$BIN" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" \
  >"$WORK/cdn.out" 2>"$WORK/cdn.err" &
CDN_PID=$!
for _ in $(seq 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "$BASE/healthz" >/dev/null || { echo "server did not start"; cat "$WORK/cdn.err"; exit 1; }

# Users: signup hashes each password once (two at a time, one per core).
: >"$WORK/users.txt"
seq "$USERS" | xargs -P2 -I{} sh -c '
  code=$(curl -s -o /dev/null -w "%{http_code}" -H "Content-Type: application/json" \
    -d "{\"email\":\"bench{}@example.com\",\"password\":\"bench-password-{}\"}" "$0/api/v1/auth/signup")
  [ "$code" = 201 ] || { echo "signup {} answered $code" >&2; exit 1; }' "$BASE"
for i in $(seq "$USERS"); do echo "bench$i@example.com bench-password-$i" >>"$WORK/users.txt"; done

# One login by hand: must be 200 before we measure anything.
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -d '{"email":"bench1@example.com","password":"bench-password-1"}' "$BASE/api/v1/auth/login")
[ "$code" = 200 ] || { echo "login answered $code"; exit 1; }

# Single logins, one at a time (no queueing): the cost of one argon2id verification + tokens.
single=()
for i in $(seq 20); do
  u=$(( (i - 1) % USERS + 1 ))
  single+=("$(curl -s -o /dev/null -w '%{time_total}' -H 'Content-Type: application/json' \
    -d "{\"email\":\"bench$u@example.com\",\"password\":\"bench-password-$u\"}" "$BASE/api/v1/auth/login")")
done
printf '%s\n' "${single[@]}" | sort -n | awk '{a[NR]=$1*1000} END {
  printf "sequential logins (curl, n=%d): p50 %.1f ms, min %.1f ms, max %.1f ms\n", NR, a[int((NR+1)/2)], a[1], a[NR]}'

row() { # name, wrk output
  local rps ok p50 p99 statuses
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$2")
  ok=$(awk -v d="$DURATION" '/^status:/ {split($2, a, "="); printf "%.1f", a[2] / d}' <<<"$2")
  p50=$(awk '$1=="50%" {print $2}' <<<"$2")
  p99=$(awk '$1=="99%" {print $2}' <<<"$2")
  statuses=$(grep '^status:' <<<"$2" || true)
  printf "%-24s %10s %10s %10s %10s  %s\n" "$1" "$rps" "$ok" "$p50" "$p99" "$statuses"
}

echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency on $(nproc) cores, $USERS users"
printf "%-24s %10s %10s %10s %10s\n" "phase" "req/s" "200/s" "p50" "p99"
echo "(p50/p99 are over all answers: at c>2 most are the instant 503s, so they are not login latency)"
OK2=$(wrk -t2 -c2 -d"${DURATION}s" --latency -s bench/api/login.lua "$BASE" -- "$WORK/users.txt" 2>&1)
row "login (correct) c=2" "$OK2"
OK=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/api/login.lua "$BASE" -- "$WORK/users.txt" 2>&1)
row "login (correct) c=$CONNECTIONS" "$OK"
echo "peak RSS after success phases: $(peak_rss_mib "$CDN_PID") MiB"

BAD=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/api/login.lua "$BASE" -- "$WORK/users.txt" wrong 2>&1)
row "login (wrong pw)" "$BAD"
echo "(the wrong-password phase: the first 30 are 401 after an argon2id verification, the rest"
echo " 429 from the per-address limit without hashing)"
[ -n "${VERBOSE:-}" ] && { echo "$OK2"; echo "$OK"; echo "$BAD"; }
exit 0
