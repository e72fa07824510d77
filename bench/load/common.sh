# Shared by the load scripts; source it after `cd` to the repository root.
# Sets WORK (a temporary folder, removed on exit, when every pid in PIDS is killed).

need_packages() { # Debian packages, installed when missing
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null; }
  done
}

WORK=$(mktemp -d /tmp/imagecdn-bench-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
public_key() { sed -E 's/.*"public_key":"([^"]+)".*/\1/'; } # of `imagecdn customer create`

noise_png() { # PATH: a ~30 KB PNG of noise (incompressible, so its size is what we ask for)
  python3 - "$1" <<'PY'
import os, random, struct, sys, zlib
path = sys.argv[1]; os.makedirs(os.path.dirname(path), exist_ok=True)
w, h = 100, 100
raw = b"".join(b"\x00" + bytes(random.getrandbits(8) for _ in range(w * 3)) for _ in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 0)) + chunk(b"IEND", b"")
open(path, "wb").write(png)
PY
}

write_miss_lua() { # PATH: a wrk script that makes every request a miss (a distinct `v` each,
  # MISS_PREFIX then a counter; wrk's threads count from different bases)
  cat >"$1" <<'LUA'
local counter = 0
local threads = 0
function setup(thread) thread:set("base", threads * 100000000); threads = threads + 1 end
function init(args) counter = base end
function request()
  counter = counter + 1
  local sep = string.find(wrk.path, "?") and "&" or "?"
  return wrk.format(nil, wrk.path .. sep .. "v=" .. os.getenv("MISS_PREFIX") .. counter)
end
LUA
}

# start_hit_server BIN DATA_DIR MODE PHOTO OBJECT: an imagecdn (BIN) with one pro customer whose
# PHOTO is OBJECT's original, its variant made once so every later request is a hit: from the
# memory tier (MODE memory) or, with the memory tier off, the disk tier (MODE disk). The pro
# rate limit is raised so hits, not 429s, are measured. Sets HIT_PID and HIT_URL.
start_hit_server() {
  local bin=$1 data=$2 mode=$3 photo=$4 object=$5 memory=268435456 pk port
  [ "$mode" = disk ] && memory=0
  pk=$("$bin" customer create --data-dir "$data" --email "bench-$mode@example.com" --plan pro | public_key)
  mkdir -p "$data/originals/$pk" && cp "$photo" "$data/originals/$pk/"
  port=$(free_port)
  IMAGECDN_LOG_LEVEL=warn IMAGECDN_SERVER_THREADS=2 IMAGECDN_CACHE_MEMORY_BYTES=$memory \
    IMAGECDN_PLANS_PRO_RATE_LIMIT_RPS=1000000000 \
    "$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" >"$data.out" 2>"$data.err" &
  HIT_PID=$!; PIDS+=("$HIT_PID")
  HIT_URL="http://127.0.0.1:$port/$pk/$object"
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  curl -sf "$HIT_URL" -o "$data.first" # the miss; every later request hits
  # The disk write follows the answer: wait for the file, or disk mode would measure misses.
  for _ in $(seq 100); do compgen -G "$data/cache/??/*" >/dev/null && break; sleep 0.1; done
}

# camera_sources: sets SOURCES, the folder of make_sources.js's camera-like photo.jpg, made once
# per version of make_sources.js (it takes ~40 s).
camera_sources() {
  SOURCES="${XDG_CACHE_HOME:-$HOME/.cache}/imagecdn-bench/sources-$(sha1sum bench/transform/make_sources.js | cut -c1-12)"
  if [ ! -f "$SOURCES/photo.jpg" ]; then
    mkdir -p "$SOURCES.tmp" && node bench/transform/make_sources.js "$SOURCES.tmp" camera >/dev/null
    rm -rf "$SOURCES" && mv "$SOURCES.tmp" "$SOURCES"
  fi
}

tree_pids() { echo "$1" $(pgrep -P "$1" || true); } # a process and its children
tree_rss_kib() { # current RSS of a process and its children (a node cluster's workers)
  local total=0 p; for p in $(tree_pids "$1"); do
    total=$((total + $(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0))); done; echo "$total"; }
