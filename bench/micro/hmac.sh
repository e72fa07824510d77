#!/usr/bin/env bash
# HMAC-SHA256 per signed request: OpenSSL 3's HMAC() vs security::hmac_sha256 (200k calls each).
# Needs a built tree (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=$(mktemp /tmp/imagecdn-hmac-XXXXXX)
trap 'rm -f "$OUT"' EXIT
g++ -std=c++20 -O2 -Isrc bench/micro/hmac.cpp build/src/security/libcdn_security.a -lcrypto -o "$OUT"
"$OUT"
