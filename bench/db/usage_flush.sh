#!/usr/bin/env bash
# Usage flush of 10,000 customer-hours (bench/db/usage_flush.cpp, the real UsageRecorder::flush
# into usage_hourly), SQLite vs PostgreSQL in one run, each a fresh database with 3 rounds.
# Usage: bench/db/usage_flush.sh [customers=10000] [hours=1] [rounds=3]
# Needs a built tree (scripts/setup.sh) for the module libraries; PostgreSQL 15 (installed here).
set -euo pipefail
cd "$(dirname "$0")/../.."
CUSTOMERS=${1:-10000}
HOURS=${2:-1}
ROUNDS=${3:-3}
source bench/load/common.sh
source bench/db/postgres.sh

g++ -std=c++20 -O2 -DNDEBUG -Isrc -Itests/support bench/db/usage_flush.cpp \
  build/src/usage/libcdn_usage.a build/src/db/libcdn_db.a build/src/core/libcdn_core.a \
  -lsqlite3 -lpq -lboost_json -lspdlog -lfmt -lxxhash -pthread -o "$WORK/usage_flush"
start_postgres
echo "$(nproc) cores; $CUSTOMERS customers x $HOURS hours per flush; $ROUNDS rounds"
"$WORK/usage_flush" "$WORK/imagecdn.db" "$CUSTOMERS" "$HOURS" "$ROUNDS"
"$WORK/usage_flush" "$(new_postgres_database)" "$CUSTOMERS" "$HOURS" "$ROUNDS"
