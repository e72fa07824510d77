#!/usr/bin/env bash
# Transform throughput, every request a cache miss: imagecdn vs a sharp server (node cluster,
# one worker per core) at equal encoder settings, and the in-process floor (the same libvips
# calls in a loop on one thread per core, bench/transform/floor.sh), all in one run.
# Usage: bench/load/transform.sh [duration_s] [connections] [workloads...]
#   connections: a list, "2 16" by default; workloads: w1 w2 w3 by default
#   W1: 6000x4000 JPEG -> w=800 WebP q75; W2: same -> JPEG q75; W3: 4000x2500 PNG -> w=400 AVIF q50
# Environment: RUNS (3; each run is printed, then the medians), SOURCES (camera | smooth),
#   MODE=overload: the overload figures instead (OVERLOAD_C clients, 64 by default, against a
#   c=2 baseline; see bench/load/overload.js), CDN_BIN (build/imagecdn).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-20}
read -r -a CONNS <<<"${2:-2 16}"
shift $(($# < 2 ? $# : 2))
WORKLOADS=("${@:-w1 w2 w3}")
[ "${#WORKLOADS[@]}" -eq 1 ] && read -r -a WORKLOADS <<<"${WORKLOADS[0]}"
RUNS=${RUNS:-3}
MODE=${MODE:-throughput}
BIN=${CDN_BIN:-build/imagecdn}

source bench/load/common.sh
need_packages wrk mate-backgrounds libjemalloc-dev
[ -d bench/transform/node_modules/sharp ] || npm ci --prefix bench/transform --no-audit --no-fund >/dev/null

tree_cpu_ticks() { # user + system time of a process and its children, in clock ticks
  local total=0; for p in $(tree_pids "$1"); do
    total=$((total + $(awk '{print $14 + $15}' /proc/$p/stat 2>/dev/null || echo 0))); done; echo "$total"; }
settled_cpu_ticks() { # the tree's CPU ticks once it has stopped working (at most 30 s)
  local before now; before=$(tree_cpu_ticks "$1")
  for _ in $(seq 60); do sleep 0.5; now=$(tree_cpu_ticks "$1"); [ $((now - before)) -le 2 ] && break; before=$now; done
  echo "$now"; }
watch_peak() { # pid outfile: samples the tree's RSS every 100 ms, keeps the peak
  local peak=0; while kill -0 "$1" 2>/dev/null; do
    local now; now=$(tree_rss_kib "$1"); [ "$now" -gt "$peak" ] && peak=$now && echo "$peak" >"$2"; sleep 0.1; done; }

# Generating the camera-like sources takes ~40 s: kept between runs, keyed by the generator.
SOURCES=${SOURCES:-camera}
SRC="${XDG_CACHE_HOME:-$HOME/.cache}/imagecdn-bench/$SOURCES-$(sha1sum bench/transform/make_sources.js | cut -c1-12)"
if [ ! -s "$SRC/graphic.png" ]; then
  mkdir -p "$SRC" && node bench/transform/make_sources.js "$SRC" "$SOURCES" >/dev/null
fi

DATA="$WORK/data"
PK=$("$BIN" customer create --data-dir "$DATA" --email bench@example.com --plan business | public_key)
mkdir -p "$DATA/originals/$PK"
cp "$SRC/photo.jpg" "$SRC/graphic.png" "$DATA/originals/$PK/"

CDN_PORT=$(free_port)
# Throughput: a queue that holds every connection and is never cut, so that every request is
# served, as sharp serves them (its queue is unbounded). Overload: the default queue.
# The decoded cache is off: W1-W3 ask for one original again and again, and would measure its
# hits instead of the decode (bench/load/srcset.sh measures it).
QUEUE=(); [ "$MODE" = overload ] || QUEUE=(IMAGECDN_LIMITS_TRANSFORM_QUEUE=256 IMAGECDN_LIMITS_TRANSFORM_QUEUE_PER_CUSTOMER=256 IMAGECDN_LIMITS_TRANSFORM_QUEUE_STANDING_MS=0)
env "${QUEUE[@]}" IMAGECDN_LOG_LEVEL=warn IMAGECDN_CACHE_DISK_BYTES=0 IMAGECDN_CACHE_DECODED_BYTES=0 "$BIN" serve --data-dir "$DATA" --listen "127.0.0.1:$CDN_PORT" >"$WORK/cdn.out" 2>"$WORK/cdn.err" &
CDN_PID=$!; PIDS+=("$CDN_PID")
SHARP_PORT=$(free_port)
node bench/transform/sharp_server.js "$SHARP_PORT" "$SRC" &
SHARP_PID=$!; PIDS+=("$SHARP_PID")
for i in $(seq 100); do
  curl -sf "http://127.0.0.1:$CDN_PORT/healthz" >/dev/null && curl -sf "http://127.0.0.1:$SHARP_PORT/w3" -o /dev/null && break; sleep 0.2; done

# Every request a distinct `v`, so every request is a miss (threads count from different bases).
write_miss_lua "$WORK/miss.lua"

declare -A URL=(
  [cdn.w1]="http://127.0.0.1:$CDN_PORT/$PK/photo.jpg?w=800&format=webp&q=75"
  [cdn.w2]="http://127.0.0.1:$CDN_PORT/$PK/photo.jpg?w=800&format=jpeg&q=75"
  [cdn.w3]="http://127.0.0.1:$CDN_PORT/$PK/graphic.png?w=400&format=avif&q=50"
  [sharp.w1]="http://127.0.0.1:$SHARP_PORT/w1" [sharp.w2]="http://127.0.0.1:$SHARP_PORT/w2"
  [sharp.w3]="http://127.0.0.1:$SHARP_PORT/w3")
declare -A PID=([cdn]=$CDN_PID [sharp]=$SHARP_PID)

to_ms() { awk '{v=$1+0; if ($1 ~ /us$/) v/=1000; else if ($1 ~ /ms$/) v=v; else if ($1 ~ /s$/) v*=1000; printf "%.0f", v}' <<<"$1"; }

measure() { # server workload connections -> "rps p50_ms p99_ms peakMiB cpu_ms_per_request errors"
  local pid=${PID[$1]} peak_file="$WORK/peak.$1"; echo 0 >"$peak_file"
  watch_peak "$pid" "$peak_file" & local watcher=$!
  local ticks0; ticks0=$(settled_cpu_ticks "$pid")
  local out; out=$(MISS_PREFIX="r$RANDOM$RANDOM-" wrk -t2 -c"$3" -d"${DURATION}s" --timeout 60s --latency -s "$WORK/miss.lua" "${URL[$1.$2]}" 2>&1)
  # The requests in flight when wrk stops are finished by the server: they count, and its
  # CPU is read once it is idle again.
  local ticks=$(($(settled_cpu_ticks "$pid") - ticks0))
  kill "$watcher" 2>/dev/null || true; wait "$watcher" 2>/dev/null || true
  local requests; requests=$(($(awk '/requests in/ {print $1}' <<<"$out") + $3))
  printf "%s %s %s %s %s %s\n" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")")" "$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")" \
    "$(awk -v k="$(cat "$peak_file")" 'BEGIN {printf "%.0f", k/1024}')" \
    "$(awk -v t="$ticks" -v n="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", n ? 1000*t/hz/n : 0}')" \
    "$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' \n' '_' || true)"
}

output_bytes() { curl -sf "${URL[$1.$2]}$([ "$1" = cdn ] && echo '&' || echo '?')v=size$RANDOM" | wc -c; }

median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

RESULTS="$WORK/results" # run workload c server rps p50 p99 rss cpu
run_throughput() {
  echo "wrk -t2 -d${DURATION}s per figure, a miss every request, $(nproc) cores, $SOURCES sources, $RUNS runs"
  printf "%-3s %-4s %-4s %-9s %8s %8s %8s %7s %10s  %s\n" run load c server req/s p50ms p99ms rssMiB cpu_ms/req notes
  for run in $(seq "$RUNS"); do
    for w in "${WORKLOADS[@]}"; do
      read -r f_rate f_cpu f_bytes <<<"$(bench/transform/floor.sh "$SRC" "$w" "$(nproc)" "$DURATION" |
        sed -E 's/.*: ([0-9.]+) images\/s, CPU ([0-9.]+) ms\/image, output ([0-9]+) bytes/\1 \2 \3/')"
      echo "$run $w floor floor $f_rate 0 0 0 $f_cpu" >>"$RESULTS"
      printf "%-3s %-4s %-4s %-9s %8s %8s %8s %7s %10s  output %s B\n" "$run" "$w" - floor "$f_rate" - - - "$f_cpu" "$f_bytes"
      # Who goes first alternates between runs: neither always gets the cooler machine.
      local order=(cdn sharp); [ $((run % 2)) -eq 0 ] && order=(sharp cdn)
      for c in "${CONNS[@]}"; do
        for server in "${order[@]}"; do
          read -r rps p50 p99 rss cpu notes <<<"$(measure "$server" "$w" "$c")"
          echo "$run $w $c $server $rps $p50 $p99 $rss $cpu" >>"$RESULTS"
          printf "%-3s %-4s %-4s %-9s %8s %8s %8s %7s %10s  %s\n" "$run" "$w" "$c" "$server" "$rps" "$p50" "$p99" "$rss" "$cpu" "${notes:-}"
        done
      done
      [ "$run" -eq 1 ] && echo "$w output bytes: imagecdn $(output_bytes cdn "$w"), sharp $(output_bytes sharp "$w"), floor $f_bytes" >>"$WORK/sizes"
    done
  done
  summary_throughput
}

pick() { awk -v w="$1" -v c="$2" -v s="$3" -v col="$4" '$2==w && $3==c && $4==s {print $col}' "$RESULTS" | median; }
runs_of() { awk -v w="$1" -v c="$2" -v s="$3" -v col="$4" '$2==w && $3==c && $4==s {printf "%s%s", sep, $col; sep=" / "}' "$RESULTS"; }

summary_throughput() {
  echo; echo "Medians of $RUNS runs (each run's figure in brackets); CPU is the server's user+system time per request"
  echo "| workload | c | imagecdn req/s | sharp req/s | imagecdn/sharp | floor img/s | imagecdn/floor | p99 ms imagecdn / sharp | CPU ms/req imagecdn / sharp / floor |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for w in "${WORKLOADS[@]}"; do
    local floor; floor=$(pick "$w" floor floor 5)
    for c in "${CONNS[@]}"; do
      local cdn sharp; cdn=$(pick "$w" "$c" cdn 5); sharp=$(pick "$w" "$c" sharp 5)
      awk -v w="$w" -v c="$c" -v a="$cdn" -v b="$sharp" -v f="$floor" -v ar="$(runs_of "$w" "$c" cdn 5)" \
        -v br="$(runs_of "$w" "$c" sharp 5)" -v fr="$(runs_of "$w" floor floor 5)" \
        -v p="$(pick "$w" "$c" cdn 7) / $(pick "$w" "$c" sharp 7)" \
        -v cpu="$(pick "$w" "$c" cdn 9) / $(pick "$w" "$c" sharp 9) / $(pick "$w" floor floor 9)" \
        'BEGIN {printf "| %s | %s | %.2f (%s) | %.2f (%s) | %.2f× | %.2f (%s) | %.2f× | %s | %s |\n", w, c, a, ar, b, br, a/b, f, fr, a/f, p, cpu}'
    done
  done
  echo; cat "$WORK/sizes"
}

overload_point() { # server workload clients -> JSON of latencies by status
  node bench/load/overload.js "${URL[$1.$2]}" "$3" "$DURATION"
}

run_overload() {
  local high=${OVERLOAD_C:-64}
  echo "Overload: $high clients vs 2, ${DURATION}s each, a miss every request; clients honour Retry-After (RETRY_AFTER=0: not)"
  echo "Last two columns: only the requests asked 2 s or more into the run (the sustained overload; overload.js STEADY_MS)"
  echo "| run | workload | server | c=2 p50 ms | c=$high served p50 / p99 ms | p99 / c=2 p50 | refused share | 503 p50 / p99 ms | 503s within 10 ms | after 2 s: served p99 / c=2 p50 | after 2 s: 503s within 10 ms |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  for run in $(seq "$RUNS"); do
    for w in "${WORKLOADS[@]}"; do
      for server in cdn sharp; do
        local base high_json; base=$(overload_point "$server" "$w" 2); high_json=$(overload_point "$server" "$w" "$high")
        node -e '
          const [run, w, server, base, high] = process.argv.slice(1);
          const b = JSON.parse(base)["200"], h = JSON.parse(high), ok = h["200"] || { n: 0 }, busy = h["503"] || { n: 0 };
          const f = (v) => (v === undefined || Number.isNaN(v) ? "-" : v.toFixed(1));
          const within10 = (s) => (s.n ? (100 * s.within10 / s.n).toFixed(1) + "%" : "-");
          const s = h.steady || {}, sOk = s["200"] || { n: 0 }, sBusy = s["503"] || { n: 0 };
          console.log(`| ${run} | ${w} | ${server === "cdn" ? "imagecdn" : "sharp"} | ${f(b.p50)} | ${f(ok.p50)} / ${f(ok.p99)} | ` +
            `${(ok.p99 / b.p50).toFixed(2)}× | ${(busy.n / (busy.n + ok.n)).toFixed(2)} (${busy.n} of ${busy.n + ok.n}) | ${f(busy.p50)} / ${f(busy.p99)} | ${within10(busy)} | ` +
            `${(sOk.p99 / b.p50).toFixed(2)}× (${sOk.n} served) | ${within10(sBusy)} (${sBusy.n}) |`);
        ' "$run" "$w" "$server" "$base" "$high_json"
      done
    done
  done
}

if [ "$MODE" = overload ]; then run_overload; else run_throughput; fi
