#!/usr/bin/env bash
# Cost of one rate-limit check on the hit path, before and after the fair limit (issue 13):
# bench/micro/rate_limit.cpp built against src/kv of the merge base with main (before) and of
# this tree (after). Needs a built tree (scripts/setup.sh). Usage: bench/micro/rate_limit.sh [base]
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE=${1:-$(git merge-base HEAD main)}
TMP=$(mktemp -d /tmp/imagecdn-ratelimit-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/before/kv"
for f in kv_store.h kv_store.cpp memory_kv_store.h memory_kv_store.cpp rate_limiter.h rate_limiter.cpp; do
  git show "$BASE:src/kv/$f" >"$TMP/before/kv/$f"
done
FLAGS=(-std=c++20 -O3 -DNDEBUG)
g++ "${FLAGS[@]}" -DBEFORE_FAIR_LIMIT -I"$TMP/before" -Isrc bench/micro/rate_limit.cpp \
  "$TMP"/before/kv/*.cpp build/src/core/libcdn_core.a -lpthread -o "$TMP/before.bin"
g++ "${FLAGS[@]}" -Isrc bench/micro/rate_limit.cpp build/src/kv/libcdn_kv.a \
  build/src/core/libcdn_core.a -lpthread -o "$TMP/after.bin"
for run in 1 2 3; do
  echo "run $run"; "$TMP/before.bin"; "$TMP/after.bin"
done
