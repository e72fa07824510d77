#!/usr/bin/env bash
# The in-process floor of a miss (bench/transform/floor.cpp) against the npm libvips the server
# links, with the server's allocator (jemalloc). Usage: floor.sh SOURCE_DIR WORKLOAD [THREADS] [SECONDS]
# FLOOR_MALLOC=glibc runs it on glibc malloc instead, to see what the allocator is worth.
set -euo pipefail
cd "$(dirname "$0")/../.."
VIPS=deps/libvips/node_modules/@img
LIB=$(cd "$(dirname "$(ls $VIPS/sharp-libvips-linux-x64/lib/libvips-cpp.so.* | head -1)")" && pwd)
BIN=${FLOOR_BIN:-build/bench/floor-${FLOOR_MALLOC:-jemalloc}}
if [ ! -x "$BIN" ] || [ bench/transform/floor.cpp -nt "$BIN" ]; then
  mkdir -p "$(dirname "$BIN")"
  g++ -std=c++20 -O2 bench/transform/floor.cpp -o "$BIN" \
    -I$VIPS/sharp-libvips-dev/include -I$VIPS/sharp-libvips-dev/include/glib-2.0 \
    -I$LIB/glib-2.0/include -L"$LIB" -Wl,-rpath,"$LIB" -l:"$(basename "$(ls $LIB/libvips-cpp.so.* | head -1)")" \
    $([ "${FLOOR_MALLOC:-jemalloc}" = glibc ] || echo -ljemalloc) -pthread
fi
exec "$BIN" "$@"
