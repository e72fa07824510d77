#!/usr/bin/env bash
# The preview pass's cost on the edge's metering step, per request (docs/previews.md).
# Needs a built tree (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=$(mktemp /tmp/imagecdn-preview-pass-XXXXXX)
trap 'rm -f "$OUT"' EXIT
g++ -std=c++20 -O2 -Isrc bench/micro/preview_pass.cpp build/src/security/libcdn_security.a \
    build/src/http/libcdn_http.a build/src/core/libcdn_core.a -lcrypto -lfmt -o "$OUT"
"$OUT"
