#!/usr/bin/env bash
# Cache key per request: the XXH3-128 key of older builds vs cache::make_cache_key (SHA-256),
# 1M keys each, three runs. Needs a built tree (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=$(mktemp /tmp/imagecdn-cache-key-XXXXXX)
trap 'rm -f "$OUT"' EXIT
g++ -std=c++20 -O2 -Isrc bench/micro/cache_key.cpp build/src/cache/libcdn_cache.a \
    build/src/core/libcdn_core.a -lxxhash -lcrypto -o "$OUT"
"$OUT"
