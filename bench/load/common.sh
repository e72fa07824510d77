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
