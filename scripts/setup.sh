#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks and builds ImageCDN in Release.
# Idempotent: packages already present are not reinstalled; the build is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential g++ cmake ninja-build pkg-config git ca-certificates
  libboost1.81-dev libboost-json1.81-dev
  libsqlite3-dev libpq-dev libhiredis-dev libcurl4-openssl-dev libssl-dev libsodium-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev libxxhash-dev libjemalloc-dev
  libheif-dev libjxl-dev
  libgtest-dev libgmock-dev libvalijson-dev zlib1g-dev libheif-examples libjxl-tools
  postgresql-15  # the tests' private PostgreSQL server (initdb, pg_ctl; never the system service)
  redis-server  # the tests' private Redis (a child on a free port; never the system service)
  nginx  # the load balancer of scripts/cluster.sh and the cluster tests (a child, not the service)
  curl  # scripts/cluster.sh asks each demo URL which node answered
  mate-backgrounds  # real photographs for the transform tests
  chromium  # the dashboard's browser tests (playwright-core drives it; no browser download)
  clang libclang-rt-14-dev  # the fuzz build (scripts/fuzz.sh): clang, libFuzzer, ASan, UBSan
  "$@"
)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# libvips: the build sharp ships, pinned in deps/libvips/package-lock.json (docs/adr/0001).
if [ ! -d deps/libvips/node_modules/@img/sharp-libvips-linux-x64 ]; then
  npm ci --prefix deps/libvips --no-audit --no-fund
fi
# The fake Stripe the billing tests run (tests/fake_stripe): the official stripe package, pinned.
if [ ! -d tests/fake_stripe/node_modules/stripe ]; then
  npm ci --prefix tests/fake_stripe --no-audit --no-fund
fi
# The client-library compatibility test (tests/compat): @imgix/js-core and sharp, pinned.
if [ ! -d tests/compat/node_modules/@imgix/js-core ]; then
  npm ci --prefix tests/compat --no-audit --no-fund
fi
# The S3 tests (tests/s3): s3rver, @smithy/signature-v4 for the verifying proxy and the AWS
# SDK's presigner to compare signatures with, pinned.
if [ ! -d tests/s3/node_modules/s3rver ]; then
  npm ci --prefix tests/s3 --no-audit --no-fund
fi
# The OpenAPI tools the build and the CTest openapi_lint run (scripts/openapi): yaml and
# @redocly/cli, pinned.
if [ ! -d scripts/openapi/node_modules/@redocly/cli ]; then
  npm ci --prefix scripts/openapi --no-audit --no-fund
fi

# SETUP_BUILD=0: packages and npm folders only (scripts/test.sh --sanitize builds build-asan/).
[ "${SETUP_BUILD:-1}" = 0 ] && exit 0
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
