#!/usr/bin/env bash
# Cache-hit throughput: imagecdn vs nginx serving the same ~30 KB file, in one run.
# Usage: bench/load/cache_hit.sh [duration_s] [connections]
# Needs: a built binary (scripts/setup.sh), and Debian's nginx-light and wrk (installed here).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-15}
CONNECTIONS=${2:-64}
BIN=${CDN_BIN:-build/imagecdn}

source bench/load/common.sh
need_packages nginx-light wrk

peak_rss_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
nginx_rss_mib() { # master + workers, each process's peak
  local total=0; for p in $(pgrep -f "nginx.*$WORK" || true); do
    total=$((total + $(awk '/VmHWM/ {print $2}' /proc/$p/status))); done
  awk -v t="$total" 'BEGIN {printf "%.1f", t/1024}'; }

# The object: a ~30 KB PNG of noise.
DATA="$WORK/data"
PK=$("$BIN" customer create --data-dir "$DATA" --email bench@example.com --plan pro | sed -E 's/.*"public_key":"([^"]+)".*/\1/')
noise_png "$DATA/originals/$PK/hit.png"
SIZE=$(stat -c %s "$DATA/originals/$PK/hit.png")

CDN_PORT=$(free_port)
# The pro limit (500/s) raised so hits, not 429s, are measured.
IMAGECDN_LOG_LEVEL=warn IMAGECDN_SERVER_THREADS=2 IMAGECDN_PLANS_PRO_RATE_LIMIT_RPS=1000000000 "$BIN" serve --data-dir "$DATA" --listen "127.0.0.1:$CDN_PORT" >"$WORK/cdn.out" 2>"$WORK/cdn.err" &
CDN_PID=$!; PIDS+=("$CDN_PID")

NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx/logs" "$WORK/www"
cp "$DATA/originals/$PK/hit.png" "$WORK/www/hit.png"
chmod -R a+rX "$WORK"  # nginx workers run as an unprivileged user
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_requests 1000000;
  open_file_cache max=1000;
  types { image/png png; }
  server { listen 127.0.0.1:$NGINX_PORT; root $WORK/www; }
}
CONF
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)

for i in $(seq 50); do curl -sf "http://127.0.0.1:$CDN_PORT/healthz" >/dev/null && curl -sf "http://127.0.0.1:$NGINX_PORT/hit.png" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$CDN_PORT/$PK/hit.png" -o /dev/null  # the miss; every later request hits

run_wrk() { wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$1" 2>&1; }
row() { # name, wrk output
  local rps p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$2")
  p99=$(awk '$1=="99%" {print $2}' <<<"$2")
  errors=$(grep -E 'Non-2xx|Socket errors' <<<"$2" | tr -s ' ' | tr '\n' ';' || true)
  printf "%-9s %12s %10s  %s\n" "$1" "$rps" "$p99" "$errors"
}
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NGINX_PORT/hit.png")" = 200 ] || { echo "nginx does not serve the file"; exit 1; }
echo "object: $SIZE bytes; wrk -t2 -c$CONNECTIONS -d${DURATION}s on $(nproc) cores"
CDN_OUT=$(run_wrk "http://127.0.0.1:$CDN_PORT/$PK/hit.png")
NGINX_OUT=$(run_wrk "http://127.0.0.1:$NGINX_PORT/hit.png")
printf "%-9s %12s %10s\n" server "requests/s" p99
row imagecdn "$CDN_OUT"
row nginx "$NGINX_OUT"
awk -v a="$(awk '/Requests\/sec/ {print $2}' <<<"$CDN_OUT")" -v b="$(awk '/Requests\/sec/ {print $2}' <<<"$NGINX_OUT")" \
  'BEGIN {printf "ratio imagecdn/nginx: %.2f\n", a/b}'
echo "peak RSS: imagecdn $(peak_rss_mib "$CDN_PID") MiB, nginx (all processes) $(nginx_rss_mib) MiB"
