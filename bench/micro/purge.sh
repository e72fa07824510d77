#!/usr/bin/env bash
# Cost of 1,000 path purges with 100k cached variants (bench/micro/purge.cpp), three runs, built
# against this tree's cache sources and, when BEFORE=<commit> is given, against that commit's
# (e.g. BEFORE=644e62f, the full-scan purge). Needs a built tree (scripts/setup.sh) for the
# core library. The disk tier lives in /dev/shm when it exists, so file I/O does not dominate.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=$(mktemp -d /tmp/imagecdn-purge-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
CACHE_DIR=/tmp
[ -d /dev/shm ] && CACHE_DIR=/dev/shm
CACHE_SOURCES="cache_key memory_cache disk_cache tiered_cache purge"

build() { # $1: source tree holding src/cache, $2: output binary
    local sources=()
    for name in $CACHE_SOURCES; do sources+=("$1/src/cache/$name.cpp"); done
    g++ -std=c++20 -O3 -DNDEBUG -I"$1/src" -Isrc bench/micro/purge.cpp "${sources[@]}" \
        build/src/core/libcdn_core.a -lboost_json -lspdlog -lfmt -lxxhash -pthread -o "$2"
}

run() { # $1: label, $2: binary
    for i in 1 2 3; do
        echo "$1 run $i: $("$2" "$CACHE_DIR/imagecdn-purge-bench-$$")"
    done
}

if [ -n "${BEFORE:-}" ]; then
    mkdir -p "$WORK/before/src"
    git archive "$BEFORE" src/cache src/core src/storage | tar -x -C "$WORK/before"
    build "$WORK/before" "$WORK/purge-before"
    run "before ($BEFORE)" "$WORK/purge-before"
fi
build . "$WORK/purge-after"
run "after ($(git rev-parse --short HEAD))" "$WORK/purge-after"
