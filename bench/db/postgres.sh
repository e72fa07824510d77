# A private PostgreSQL 15 for the benchmarks, started like the tests' (tests/support/
# postgres_process.cpp): initdb into a temporary folder, pg_ctl on a free 127.0.0.1 port, as the
# postgres user when run as root; never the system service. Source it after bench/load/common.sh
# (uses WORK and free_port); the server is stopped by its pid when the script exits.
#   start_postgres            starts it; sets PG_PORT
#   new_postgres_database     prints the URL of a fresh empty database on it
#
# Durability matches the embedded engine's (SQLite WAL with synchronous=NORMAL: a commit is not
# fsynced, a crash loses the last commits but never consistency): synchronous_commit=off. Every
# other setting is PostgreSQL's default (fsync on). PG_OPTIONS adds or overrides (-c name=value).
PG_BIN=/usr/lib/postgresql/15/bin
PG_ROOT=
PG_PORT=

as_pg_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

stop_postgres() {
  [ -n "$PG_ROOT" ] && [ -f "$PG_ROOT/data/postmaster.pid" ] || return 0
  local pid; pid=$(head -n1 "$PG_ROOT/data/postmaster.pid")
  as_pg_owner "$PG_BIN/pg_ctl" stop -D "$PG_ROOT/data" -m fast -w -t 15 >/dev/null 2>&1 || kill -KILL "$pid" 2>/dev/null || true
  rm -rf "$PG_ROOT"
}

start_postgres() {
  need_packages postgresql-15
  PG_ROOT=$(mktemp -d /tmp/imagecdn-bench-pg-XXXXXX)
  chmod 755 "$PG_ROOT"
  [ "$(id -u)" = 0 ] && chown postgres "$PG_ROOT"
  trap 'stop_postgres; cleanup' EXIT
  as_pg_owner "$PG_BIN/initdb" -D "$PG_ROOT/data" -U postgres -A trust -E UTF8 --locale=C -N >"$PG_ROOT/initdb.log" 2>&1 ||
    { cat "$PG_ROOT/initdb.log"; return 1; }
  PG_PORT=$(free_port)
  as_pg_owner "$PG_BIN/pg_ctl" start -w -D "$PG_ROOT/data" -l "$PG_ROOT/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_ROOT -c synchronous_commit=off ${PG_OPTIONS:-}" >/dev/null ||
    { cat "$PG_ROOT/server.log"; return 1; }
}

new_postgres_database() {
  local name="bench_$(date +%s%N)"
  psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "CREATE DATABASE $name" >/dev/null
  echo "postgres://postgres@127.0.0.1:$PG_PORT/$name"
}
