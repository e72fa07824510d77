#!/usr/bin/env bash
# Sets up, builds and runs ImageCDN on its embedded default (SQLite + local files under
# ./data), with a demo customer and sample images; prints the URLs to try.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec build/imagecdn serve --demo "$@"
