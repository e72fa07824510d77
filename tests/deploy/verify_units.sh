#!/usr/bin/env bash
# The systemd units of deploy/systemd/ pass `systemd-analyze verify` (syntax, known options, an
# executable ExecStart: pointed at the binary under test, as the units expect it installed at
# /usr/local/bin/imagecdn) and `systemd-analyze security` rates their exposure at most 2.0.
# Usage: verify_units.sh SOURCE_DIR IMAGECDN_BINARY
set -euo pipefail
source_dir=$1
binary=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for unit in "$source_dir"/deploy/systemd/*.service; do
  sed "s|/usr/local/bin/imagecdn|$binary|g" "$unit" >"$work/$(basename "$unit")"
done
cd "$work"
systemd-analyze verify --man=no ./*.service
for unit in ./*.service; do
  exposure=$(systemd-analyze security --offline=yes --no-pager "$unit" |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  echo "$unit: exposure $exposure"
  awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.0) }'
done
