#!/usr/bin/env bash
# SQLite vs PostgreSQL in one run (issue 16's figures): each measurement runs on both engines,
# alternating, ROUNDS times with equal settings, and the medians are printed.
#   - GET /api/v1/images?limit=100 with 1000 originals: req/s and p99 (bench/api/list_images.sh)
#   - Stripe webhooks at 200 events/s, signed: p99 (bench/billing/webhooks.mjs)
#   - cache hits: req/s (bench/load/cache_hit.sh's imagecdn row; the hit path never reads the
#     database, so the two should match within noise)
#   - one usage flush of 10,000 customer-hours: ms (bench/db/usage_flush.sh, its own 3 rounds)
# PostgreSQL is a private server (bench/db/postgres.sh), a fresh database per measurement.
# Usage: bench/db/engines.sh [rounds=3] [seconds=10]
# Needs a built tree (scripts/setup.sh): build/imagecdn, the module libraries, node, npm ci in
# tests/fake_stripe; wrk, nginx-light and postgresql-15 are installed when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
SECONDS_EACH=${2:-10}
source bench/load/common.sh
source bench/db/postgres.sh
need_packages wrk nginx-light
start_postgres

ms() { # a wrk latency (850.00us, 12.34ms, 1.02s) in ms
  awk '{v=$1+0; if ($1 ~ /us$/) v/=1000; else if ($1 ~ /[0-9]s$/) v*=1000; printf "%.2f", v}' <<<"$1"; }

# One measurement on one engine; appends "engine figure value" lines to $WORK/figures.
measure() { # engine, url (empty: SQLite)
  local engine=$1 out
  export IMAGECDN_DATABASE_URL=$2
  [ -n "$2" ] || unset IMAGECDN_DATABASE_URL
  out=$(bench/api/list_images.sh "$SECONDS_EACH" 32 1000 2>&1) || { echo "$out"; exit 1; }
  echo "$engine list_rps $(awk '/Requests\/sec/ {print $2}' <<<"$out")" >>"$WORK/figures"
  echo "$engine list_p99_ms $(ms "$(awk '$1=="99%" {print $2}' <<<"$out")")" >>"$WORK/figures"
  [ -z "$2" ] || export IMAGECDN_DATABASE_URL=$(new_postgres_database)
  out=$(node bench/billing/webhooks.mjs 200 "$SECONDS_EACH" 20 2>&1) || { echo "$out"; exit 1; }
  echo "$engine webhook_p99_ms $(sed -nE 's/.* p99 ([0-9.]+) .*/\1/p' <<<"$out")" >>"$WORK/figures"
  [ -z "$2" ] || export IMAGECDN_DATABASE_URL=$(new_postgres_database)
  out=$(bench/load/cache_hit.sh "$SECONDS_EACH" 64 2>&1) || { echo "$out"; exit 1; }
  echo "$engine hit_rps $(awk '$1=="imagecdn" {print $2}' <<<"$out")" >>"$WORK/figures"
}

echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), \
$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $ROUNDS rounds of ${SECONDS_EACH} s"
for round in $(seq "$ROUNDS"); do
  measure sqlite ""
  measure postgres "$(new_postgres_database)"
  echo "round $round done"
done
unset IMAGECDN_DATABASE_URL

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
printf "%-28s %12s %12s\n" figure sqlite postgres
for figure in list_rps list_p99_ms webhook_p99_ms hit_rps; do
  printf "%-28s %12s %12s\n" "$figure" \
    "$(awk -v f=$figure '$1=="sqlite" && $2==f {print $3}' "$WORK/figures" | median)" \
    "$(awk -v f=$figure '$1=="postgres" && $2==f {print $3}' "$WORK/figures" | median)"
done
echo "(each: median of $ROUNDS; every run: $(tr '\n' ';' <"$WORK/figures"))"
bench/db/usage_flush.sh 10000 1 "$ROUNDS" | grep -E 'median|cores'
