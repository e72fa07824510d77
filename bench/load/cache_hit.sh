#!/usr/bin/env bash
# Cache-hit throughput (W4): imagecdn vs nginx serving the same 26.7 KB WebP, side by side in one
# run. The WebP is imagecdn's own variant of the camera-like photo.jpg (bench/transform/
# make_sources.js) at w=1100, WebP q75; nginx serves the same bytes from a file (sendfile and
# open_file_cache on: a fair, well-tuned nginx). Both write an access-log line per request
# (NGINX_ACCESS_LOG=off: nginx does not, as before stop 28).
# Usage: bench/load/cache_hit.sh [duration_s] [connections,...] [runs] [modes...]
#   modes: memory (a memory-tier hit) and disk (memory tier off, [cache] memory_bytes = 0: every
#   hit from the disk tier). Defaults: 6 s, 16,64 connections, 3 runs, both modes.
# Prints every run, then the medians as a table for docs/perf.md. Server CPU per request is
# utime+stime of the server's processes over the run divided by the requests it answered.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-6}
IFS=, read -r -a CONNECTIONS <<<"${2:-16,64}"
RUNS=${3:-3}
shift 3 2>/dev/null || shift $#
MODES=("${@:-memory disk}")
[ "${#MODES[@]}" -eq 1 ] && read -r -a MODES <<<"${MODES[0]}"
BIN=${CDN_BIN:-build/imagecdn}

source bench/load/common.sh
need_packages nginx-light wrk mate-backgrounds
[ -d bench/transform/node_modules/sharp ] || npm ci --prefix bench/transform --no-audit --no-fund >/dev/null

camera_sources
OBJECT="photo.jpg?w=1100&format=webp&q=75"

cpu_ticks() { # summed utime+stime of the pids
  local total=0 p; for p in "$@"; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$total"; }
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.2f", v}' <<<"$1"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }

start_cdn() { # mode -> sets CDN_PID, CDN_URL; the variant made and (disk mode) on disk
  start_hit_server "$BIN" "$WORK/data-$1" "$1" "$SOURCES/photo.jpg" "$OBJECT"
  CDN_PID=$HIT_PID CDN_URL=$HIT_URL
  cp "$WORK/data-$1.first" "$WORK/hit.webp"
}

start_nginx() {
  NGINX_PORT=$(free_port)
  local NGINX_LOG_LINE="access_log $WORK/nginx/logs/access.log combined buffer=64k flush=1s;"
  [ "${NGINX_ACCESS_LOG:-on}" = off ] && NGINX_LOG_LINE="access_log off;"
  mkdir -p "$WORK/nginx/logs" "$WORK/www"
  cp "$WORK/hit.webp" "$WORK/www/hit.webp"
  chmod -R a+rX "$WORK" # nginx workers run as an unprivileged user
  cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log;
events { worker_connections 4096; }
http {
  # Equal settings: imagecdn writes an access-log line per request (buffered, JSON), so nginx
  # writes one too (buffered; its combined format). NGINX_ACCESS_LOG=off gives the figures of
  # stop 27 and before (nginx not logging), for comparison.
  $NGINX_LOG_LINE
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_requests 1000000;
  open_file_cache max=1000;
  types { image/webp webp; }
  server { listen 127.0.0.1:$NGINX_PORT; root $WORK/www; }
}
CONF
  nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
  local master=$!; PIDS+=("$master")
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$NGINX_PORT/hit.webp" -o /dev/null && break; sleep 0.1; done
  NGINX_PIDS=("$master" $(pgrep -P "$master")) # the master and its workers
}

measure() { # url pids... -> "req/s p99_ms cpu_us_per_request errors"
  local url=$1; shift
  local before after out requests
  before=$(cpu_ticks "$@")
  out=$(wrk -t2 -c"$C" -d"${DURATION}s" --latency "$url" 2>&1)
  after=$(cpu_ticks "$@")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  printf "%s %s %s %s\n" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")" \
    "$(awk -v t=$((after - before)) -v r="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / hz * 1e6 / r}')" \
    "$(grep -cE 'Non-2xx|Socket errors' <<<"$out" || true)"
}

declare -A CDN_URLS CDN_PIDS
for mode in "${MODES[@]}"; do
  start_cdn "$mode"; CDN_URLS[$mode]=$CDN_URL; CDN_PIDS[$mode]=$CDN_PID
done
start_nginx
[ "$(stat -c %s "$WORK/hit.webp")" -gt 0 ] && cmp -s "$WORK/hit.webp" <(curl -sf "http://127.0.0.1:$NGINX_PORT/hit.webp") ||
  { echo "nginx does not serve the variant's bytes"; exit 1; }
echo "object: $(stat -c %s "$WORK/hit.webp") bytes WebP; wrk -t2 -d${DURATION}s on $(nproc) cores; $RUNS runs"
printf "%-4s %-7s %4s %12s %9s %8s %12s %9s %8s %6s\n" run mode c imagecdn p99_ms cpu_us nginx p99_ms cpu_us ratio
RESULTS="$WORK/results"
for run in $(seq "$RUNS"); do
  for mode in "${MODES[@]}"; do
    for C in "${CONNECTIONS[@]}"; do
      read -r cdn_rps cdn_p99 cdn_cpu cdn_err <<<"$(measure "${CDN_URLS[$mode]}" "${CDN_PIDS[$mode]}")"
      read -r ngx_rps ngx_p99 ngx_cpu ngx_err <<<"$(measure "http://127.0.0.1:$NGINX_PORT/hit.webp" "${NGINX_PIDS[@]}")"
      ratio=$(awk -v a="$cdn_rps" -v b="$ngx_rps" 'BEGIN {printf "%.2f", a / b}')
      [ "$cdn_err$ngx_err" = 00 ] || ratio="$ratio (errors!)"
      printf "%-4s %-7s %4s %12s %9s %8s %12s %9s %8s %6s\n" "$run" "$mode" "$C" "$cdn_rps" "$cdn_p99" \
        "$cdn_cpu" "$ngx_rps" "$ngx_p99" "$ngx_cpu" "$ratio"
      echo "$mode $C $cdn_rps $cdn_p99 $cdn_cpu $ngx_rps $ngx_p99 $ngx_cpu $ratio" >>"$RESULTS"
    done
  done
done

col() { awk -v m="$1" -v c="$2" -v k="$3" '$1==m && $2==c {print $k}' "$RESULTS" | median; }
echo
echo "Medians of $RUNS runs (req/s; p99 in ms; server CPU µs per request):"
echo
echo "| W4 hit | c | imagecdn req/s | nginx req/s | ratio | imagecdn p99 | nginx p99 | imagecdn CPU/req | nginx CPU/req |"
echo "|---|---|---|---|---|---|---|---|---|"
for mode in "${MODES[@]}"; do
  for C in "${CONNECTIONS[@]}"; do
    echo "| $mode | $C | $(col "$mode" "$C" 3) | $(col "$mode" "$C" 6) | $(col "$mode" "$C" 9) | $(col "$mode" "$C" 4) | $(col "$mode" "$C" 7) | $(col "$mode" "$C" 5) µs | $(col "$mode" "$C" 8) µs |"
  done
done
