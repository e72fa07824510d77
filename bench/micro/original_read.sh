#!/usr/bin/env bash
# CPU per read of an original on a miss, before and after issue 20's stop 28 (docs/perf.md,
# "Miss read path"): bench/micro/original_read.sh [files...] (the camera sources by default).
# Needs a built tree (scripts/setup.sh) and, for the default files, bench/transform's sources.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC="${XDG_CACHE_HOME:-$HOME/.cache}/imagecdn-bench/camera-$(sha1sum bench/transform/make_sources.js | cut -c1-12)"
FILES=("$@"); [ "${#FILES[@]}" -gt 0 ] || FILES=("$SRC/photo.jpg" "$SRC/graphic.png")
OUT=$(mktemp /tmp/imagecdn-original-read-XXXXXX)
trap 'rm -f "$OUT"' EXIT
g++ -std=c++20 -O2 -Isrc bench/micro/original_read.cpp build/src/storage/libcdn_storage.a \
    build/src/core/libcdn_core.a -lxxhash -lcrypto -ljemalloc -o "$OUT"
"$OUT" "${FILES[@]}"
