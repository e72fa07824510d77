#!/usr/bin/env bash
# API-key authenticated `GET /api/v1/images` (a page of 100 of 500 originals, or $3) under wrk: each
# request looks up the key by prefix, compares its hash, reads one page from the database and
# writes JSON, on the blocking pool. On the database of IMAGECDN_DATABASE_URL when set (SQLite in
# the data dir otherwise): bench/db/engines.sh runs it on both.
# Usage: bench/api/list_images.sh [duration_s] [connections] [originals=500]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10}
CONNECTIONS=${2:-32}
ORIGINALS=${3:-500}
BIN=${CDN_BIN:-build/imagecdn}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }

WORK=$(mktemp -d /tmp/imagecdn-bench-list-XXXXXX)
CDN_PID=
cleanup() { [ -n "$CDN_PID" ] && kill "$CDN_PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

KEY=$("$BIN" customer create --data-dir "$WORK/data" --email list@example.com --plan pro |
  sed -E 's/.*"api_key":"([^"]+)".*/\1/')
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
IMAGECDN_LOG_LEVEL=warn IMAGECDN_SERVER_THREADS=2 "$BIN" serve --data-dir "$WORK/data" \
  --listen "127.0.0.1:$PORT" >"$WORK/cdn.out" 2>"$WORK/cdn.err" &
CDN_PID=$!
for _ in $(seq 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done

# $ORIGINALS small PNGs through the API (so each has its row: path, size, dimensions).
python3 - "$WORK/tiny.png" <<'PY'
import struct, sys, zlib
w = h = 8
raw = b"".join(b"\x00" + b"\x80" * (w * 3) for _ in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
seq -w "$ORIGINALS" | xargs -P4 -I{} curl -sf -o /dev/null -X PUT -H "X-API-Key: $KEY" \
  -H 'Content-Type: image/png' --data-binary @"$WORK/tiny.png" "$BASE/api/v1/images/products/item-{}.png"
items=$(curl -sf -H "X-API-Key: $KEY" "$BASE/api/v1/images?limit=100" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
[ "$items" = 100 ] || { echo "listing answered $items items"; exit 1; }

echo "GET /api/v1/images?limit=100 ($ORIGINALS originals), X-API-Key; wrk -t2 -c$CONNECTIONS -d${DURATION}s; $(nproc) cores"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "X-API-Key: $KEY" "$BASE/api/v1/images?limit=100" |
  grep -E "Requests/sec|Latency |  50%|  99%|Non-2xx"
