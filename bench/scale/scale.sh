#!/usr/bin/env bash
# Cost as work grows (issue 20, item 5; docs/perf.md): each figure at three sizes, RUNS runs
# (default 3), every run printed, then one table of medians with the growth from the middle size
# to the largest (1.0 = linear for totals, constant for per-entry figures).
#
#   bench/scale/scale.sh [RUNS]
#   SIZES="10000 100000 1000000" CUSTOMER_SIZES="1000 10000 100000" SCALE_DIR=/tmp/imagecdn-scale
#
# The disk-tier folders (SIZES entries of ~300 bytes: 1M takes ~4 GB of disk and a few minutes
# to write) are kept in SCALE_DIR between invocations and rebuilt only when missing. Start-up is
# measured side by side: from the index saved at the previous clean close, and without it (as
# after a crash) scanning every file before serving, or in the background (as `imagecdn serve`
# does). All read through a warm page cache: run `sync; echo 3 > /proc/sys/vm/drop_caches`
# before an invocation for a cold one.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-${RUNS:-3}}
SIZES=${SIZES:-"10000 100000 1000000"}
CUSTOMER_SIZES=${CUSTOMER_SIZES:-"1000 10000 100000"}
SCALE_DIR=${SCALE_DIR:-/tmp/imagecdn-scale}
BIN=build/bench/scale_bench
RESULTS=$(mktemp /tmp/imagecdn-scale-results-XXXXXX)
trap 'rm -f "$RESULTS" "$SCALE_DIR"/customers-*.db' EXIT

[ -d build ] || cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target scale_bench >/dev/null
mkdir -p "$SCALE_DIR"

field() { sed -E "s/.*\\b$1=([^ ]+).*/\\1/"; } # FIELD: a key=value of a scale_bench line
record() { echo "$1 $2 $3" >>"$RESULTS"; }      # SIZE FIGURE VALUE

disk_folder() { # SIZE: a folder holding SIZE disk-tier entries, built once
    local dir="$SCALE_DIR/disk-$1"
    if [ ! -f "$dir.ready" ]; then
        rm -rf "$dir"
        echo "building $dir ($1 entries)..." >&2
        "$BIN" disk-build "$1" "$dir" >/dev/null
        touch "$dir.ready"
    fi
    echo "$dir"
}

run_once() { # RUN
    local n dir line
    for n in $SIZES; do
        dir=$(disk_folder "$n")
        line=$("$BIN" memory "$n"); echo "run $1 memory $n: $line"
        record "$n" "memory-tier index, bytes per entry" "$(field index_bytes_per_entry <<<"$line")"
        record "$n" "memory-tier insert, ns per entry" "$(field insert_ns <<<"$line")"
        line=$("$BIN" disk-open "$dir"); echo "run $1 open (saved index) $n: $line"
        record "$n" "disk-tier index, bytes per entry" "$(field index_bytes_per_entry <<<"$line")"
        record "$n" "start-up, saved index (s)" "$(field open_s <<<"$line")"
        record "$n" "clean close, saving the index (s)" "$(field close_s <<<"$line")"
        rm -f "$dir/index"
        line=$("$BIN" disk-open "$dir"); echo "run $1 open (scan, no index) $n: $line"
        record "$n" "start-up, scanning every file (s)" "$(field open_s <<<"$line")"
        rm -f "$dir/index"
        line=$("$BIN" disk-open "$dir" background)
        echo "run $1 open (background scan, no index) $n: $line"
        record "$n" "start-up, background scan: serving after (s)" "$(field open_s <<<"$line")"
        record "$n" "start-up, background scan: all indexed after (s)" \
            "$(field indexed_s <<<"$line")"
        line=$("$BIN" purge "$n" "$dir"); echo "run $1 purge $n: $line"
        record "$n" "purge one path, 5 variants, memory tier (µs)" \
            "$(field memory_path_purge_us <<<"$line")"
        record "$n" "purge one path, 5 variants, disk tier (µs)" \
            "$(field disk_path_purge_us <<<"$line")"
        record "$n" "purge a prefix, 500 variants, both tiers (ms)" \
            "$(field prefix_purge_ms <<<"$line")"
    done
    for n in $CUSTOMER_SIZES; do
        line=$("$BIN" directory "$n" "$SCALE_DIR/customers-$n.db")
        echo "run $1 customers $n: $line"
        record "$n" "config cache, bytes per customer" "$(field bytes_per_customer <<<"$line")"
        record "$n" "config cache, load µs per customer" "$(field load_us <<<"$line")"
    done
}

for run in $(seq 1 "$RUNS"); do
    run_once "$run"
done

python3 - "$RESULTS" <<'PY'
import collections, statistics, sys
def cell(v): return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"
values = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[1]):
    size, rest = line.split(" ", 1)
    figure, value = rest.rstrip("\n").rsplit(" ", 1)
    values[figure][int(size)].append(float(value))
groups = collections.defaultdict(list) # one table per set of sizes
for figure, by_size in values.items():
    groups[tuple(sorted(by_size))].append(figure)
for sizes, figures in groups.items():
    ratio = sizes[-1] // sizes[-2]
    print(f"\n| figure (median of runs) | {' | '.join(f'{s:,}' for s in sizes)} | growth at ×{ratio} |")
    print("|---|" + "---|" * (len(sizes) + 1))
    for figure in figures:
        meds = [statistics.median(values[figure][s]) for s in sizes]
        growth = f"{meds[-1] / meds[-2]:.2f}×" if meds[-2] else ""
        print(f"| {figure} | {' | '.join(cell(m) for m in meds)} | {growth} |")
PY
