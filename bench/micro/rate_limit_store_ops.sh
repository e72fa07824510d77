#!/usr/bin/env bash
# KvStore operations per second issued by one node's rate limiter at 20,000 requests a second
# (with Redis: its command rate), before issue 17 (a store round trip per request) and after
# (node memory on the hit path, reconciliation every 50 ms): bench/micro/rate_limit_store_ops.cpp
# built against src/kv before issue 17's reconciliation (e6367d4, main just before it was merged)
# and of this tree (after).
# Needs a built tree (scripts/setup.sh). Usage: bench/micro/rate_limit_store_ops.sh [base]
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE=${1:-e6367d4abe63000adb7480c9be22d81a02797c16}
TMP=$(mktemp -d /tmp/imagecdn-storeops-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/before/kv"
for f in $(git ls-tree --name-only "$BASE" src/kv/); do
  git show "$BASE:$f" >"$TMP/before/kv/$(basename "$f")"
done
FLAGS=(-std=c++20 -O3 -DNDEBUG)
g++ "${FLAGS[@]}" -DBEFORE_RECONCILE -I"$TMP/before" -Isrc -Itests/support bench/micro/rate_limit_store_ops.cpp \
  $(ls "$TMP"/before/kv/*.cpp | grep -v /redis_) \
  build/src/core/libcdn_core.a -lpthread -lspdlog -lfmt -o "$TMP/before.bin"
g++ "${FLAGS[@]}" -Isrc -Itests/support bench/micro/rate_limit_store_ops.cpp build/src/kv/libcdn_kv.a \
  build/src/core/libcdn_core.a -lpthread -lspdlog -lfmt -o "$TMP/after.bin"
"$TMP/before.bin"
"$TMP/after.bin"
