#!/usr/bin/env bash
# W5, a page's srcset × format: 6 widths (320 … 1280) × 2 formats (WebP q75, JPEG q75 progressive
# with optimised Huffman tables) of each of 8 camera-like 6000x4000 JPEGs, requested original by
# original (the 12 variants of camera-1, then camera-2, …; at c=16 the 12 arrive together),
# every request a miss of the variant cache (a new `v` each pass over the 96 URLs). Side by side
# in each run: imagecdn, imagecdn without its decoded-original cache, and sharp (node cluster).
# Usage: bench/load/srcset.sh [duration_s] [runs]   (env CONNECTIONS="2 16", CDN_BIN)
#
# imagecdn runs with `[cache] decoded_bytes` = 24 MiB: less than the 8 originals' decodes (5.6 MB
# each at 1/8 and 1/4), so a pass finds none of its originals still decoded from the previous one
# (LRU over a cycle larger than the cache): every original is decoded on its first variant, as
# real traffic does when a page is first viewed. The decodes per request are printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-15}
RUNS=${2:-3}
read -r -a CONNS <<<"${CONNECTIONS:-2 16}"
BIN=${CDN_BIN:-build/imagecdn}
DECODED_BYTES=25165824

source bench/load/common.sh
need_packages wrk mate-backgrounds
[ -d bench/transform/node_modules/sharp ] || npm ci --prefix bench/transform --no-audit --no-fund >/dev/null

# The originals take ~40 s to make: kept between runs, keyed by the generator's hash.
SRC=${XDG_CACHE_HOME:-$HOME/.cache}/imagecdn-bench/camera-$(sha256sum bench/transform/make_sources.js | cut -c1-16)
if [ ! -f "$SRC/camera-8.jpg" ]; then
  rm -rf "$SRC.tmp"; mkdir -p "$SRC.tmp"
  node bench/transform/make_sources.js "$SRC.tmp" camera >/dev/null
  rm -rf "$SRC"; mv "$SRC.tmp" "$SRC"
fi

WIDTHS=(320 480 640 800 1024 1280)
FORMATS=(webp jpeg)

start_cdn() { # name decoded_bytes -> sets PORT_<name>, PID_<name>, PK_<name>, METRICS_<name>
  local data="$WORK/data-$1" pk port metrics
  pk=$("$BIN" customer create --data-dir "$data" --email "$1@example.com" --plan business | public_key)
  mkdir -p "$data/originals/$pk"; cp "$SRC"/camera-*.jpg "$data/originals/$pk/"
  port=$(free_port); metrics=$(free_port)
  # Throughput: every request queued and served, as sharp serves them (no standing-queue cut).
  IMAGECDN_LOG_LEVEL=warn IMAGECDN_CACHE_DISK_BYTES=0 IMAGECDN_CACHE_DECODED_BYTES="$2" \
    IMAGECDN_LIMITS_TRANSFORM_QUEUE_STANDING_MS=0 IMAGECDN_METRICS_LISTEN="127.0.0.1:$metrics" \
    "$BIN" serve --data-dir "$data" --listen "127.0.0.1:$port" >"$WORK/$1.out" 2>"$WORK/$1.err" &
  PIDS+=("$!"); printf -v "PID_$1" %s "$!"; printf -v "PORT_$1" %s "$port"; printf -v "DATA_$1" %s "$data"
  printf -v "PK_$1" %s "$pk"; printf -v "METRICS_$1" %s "$metrics"
}
start_cdn cdn "$DECODED_BYTES"
start_cdn nocache 0
PORT_sharp=$(free_port)
node bench/transform/sharp_server.js "$PORT_sharp" "$SRC" &
PID_sharp=$!; PIDS+=("$PID_sharp")
for _ in $(seq 150); do
  curl -sf "http://127.0.0.1:$PORT_cdn/healthz" >/dev/null && curl -sf "http://127.0.0.1:$PORT_nocache/healthz" >/dev/null &&
    curl -sf "http://127.0.0.1:$PORT_sharp/w5/camera-1.jpg/320/webp" -o /dev/null && break; sleep 0.2; done

# Each measurement asks for the originals under a new folder (hard links: same bytes, another
# store key), so none is still decoded from the measurement before.
fresh_originals() { # server -> the folder's name
  [ "$1" = sharp ] && return
  local data="DATA_$1" pk="PK_$1" folder="m$PASS"
  mkdir -p "${!data}/originals/${!pk}/$folder"
  ln "${!data}/originals/${!pk}"/camera-*.jpg "${!data}/originals/${!pk}/$folder/"
  echo "$folder"
}
url_of() { # server folder original width format
  if [ "$1" = sharp ]; then echo "/w5/camera-$3.jpg/$4/$5"; return; fi
  local pk="PK_$1" format=$5; [ "$format" = jpeg ] && format=pjpg
  echo "/${!pk}/$2/camera-$3.jpg?w=$4&format=$format&q=75"
}
lua_for() { # server -> a wrk script walking the 96 URLs in order, a new `v` each pass
  local file="$WORK/$1.lua" sep="&" folder; [ "$1" = sharp ] && sep="?"
  folder=$(fresh_originals "$1")
  { echo "local paths = {"
    for o in $(seq 8); do for w in "${WIDTHS[@]}"; do for f in "${FORMATS[@]}"; do
      echo "  \"$(url_of "$1" "$folder" "$o" "$w" "$f")$sep\","; done; done; done
    echo "}"
    cat <<'LUA'
local i = 0
local pass = tonumber(os.getenv("PASS_BASE"))
function request()
  if i == #paths then i = 0; pass = pass + 1 end
  i = i + 1
  return wrk.format(nil, paths[i] .. "v=" .. pass)
end
LUA
  } >"$file"; echo "$file"; }

cpu_ticks() { # utime+stime of a process and its children (clock ticks)
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$total"; }
decodes() { # server -> decodes run so far (imagecdn only)
  local m="METRICS_$1"; [ -n "${!m:-}" ] || { echo 0; return; }
  curl -sf "http://127.0.0.1:${!m}/metrics" | awk '$1=="imagecdn_decoded_cache_misses_total" {print $2}'; }

PASS=0 # each measurement's own `v` range and originals folder: set before measure (a subshell)
measure() { # server connections -> "req/s cpu_ms_per_req decodes_per_req errors"
  local pid="PID_$1" port="PORT_$1" out c0 c1 d0 d1
  c0=$(cpu_ticks "${!pid}"); d0=$(decodes "$1")
  out=$(PASS_BASE=$PASS wrk -t1 -c"$2" -d"${DURATION}s" --timeout 30s -s "$(lua_for "$1")" \
    "http://127.0.0.1:${!port}" 2>&1)
  c1=$(cpu_ticks "${!pid}"); d1=$(decodes "$1")
  awk -v out="$out" -v c="$((c1 - c0))" -v d="$((${d1%.*} - ${d0%.*}))" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    n = split(out, line, "\n"); rps = 0; reqs = 0; err = ""
    for (i = 1; i <= n; i++) {
      if (line[i] ~ /Requests\/sec/) { split(line[i], f, " "); rps = f[2] }
      if (line[i] ~ /requests in/) { split(line[i], f, " "); reqs = f[1] }
      if (line[i] ~ /Non-2xx|Socket errors/) { gsub(/ +/, "_", line[i]); err = err line[i] }
    }
    printf "%s %.0f %.2f %s\n", rps, reqs ? 1000 * c / hz / reqs : 0, reqs ? d / reqs : 0, err }'
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

declare -A RPS CPU DEC
SERVERS=(cdn nocache sharp)
echo "W5 srcset: wrk -t1 -d${DURATION}s, 96 URLs in order, $RUNS runs, $(nproc) cores; cdn = imagecdn, nocache = imagecdn with [cache] decoded_bytes = 0"
printf "%-4s %-4s %-8s %8s %12s %12s  %s\n" run c server req/s "CPU ms/req" decodes/req notes
for run in $(seq "$RUNS"); do
  for c in "${CONNS[@]}"; do
    for s in "${SERVERS[@]}"; do
      PASS=$((PASS + 1000000))
      read -r rps cpu dec err <<<"$(measure "$s" "$c")"
      RPS[$s,$c]+="$rps "; CPU[$s,$c]+="$cpu "; DEC[$s,$c]+="$dec "
      printf "%-4s %-4s %-8s %8s %12s %12s  %s\n" "$run" "$c" "$s" "$rps" "$cpu" "$([ "$s" = sharp ] && echo - || echo "$dec")" "${err:-}"
    done
  done
done

echo
echo "Medians of $RUNS runs (W5, req/s; CPU ms per request in brackets):"
echo
echo "| c | imagecdn | imagecdn, no decoded cache | sharp | imagecdn / sharp | decodes per request |"
echo "|---|---|---|---|---|---|"
for c in "${CONNS[@]}"; do
  declare -A M=()
  for s in "${SERVERS[@]}"; do
    M[$s]=$(median <<<"${RPS[$s,$c]}"); M[$s.cpu]=$(median <<<"${CPU[$s,$c]}"); done
  printf "| %s | %s (%s) | %s (%s) | %s (%s) | %s | %s |\n" "$c" "${M[cdn]}" "${M[cdn.cpu]}" \
    "${M[nocache]}" "${M[nocache.cpu]}" "${M[sharp]}" "${M[sharp.cpu]}" \
    "$(awk -v a="${M[cdn]}" -v b="${M[sharp]}" 'BEGIN {printf "%.2f×", b ? a/b : 0}')" \
    "$(median <<<"${DEC[cdn,$c]}")"
done
