#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the gradebook tests, on 127.0.0.1 only.
#
#   url=$(.ci/postgres.sh start)   # installs the Debian package if missing; prints the URL
#   export LLM_FROM_SCRATCH_TEST_DATABASE_URL="$url"
#   .ci/postgres.sh stop           # stops the server and deletes its data folder
#
# Settings (environment): PGTEST_DIR (data folder, default /tmp/llm-from-scratch-pg),
# PGTEST_PORT (default 54329). Logs go to $PGTEST_DIR/server.log; only the URL goes to stdout.
set -euo pipefail

DIR="${PGTEST_DIR:-/tmp/llm-from-scratch-pg}"
PORT="${PGTEST_PORT:-54329}"
DATABASE=gradebook_test

find_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

as_postgres() {
    if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

install_if_missing() {
    if [ -z "$(find_bin)" ]; then
        echo "installing the postgresql package" >&2
        apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
    fi
}

start() {
    install_if_missing
    local bin; bin="$(find_bin)"
    # A server left from an earlier run (or only its stale pid file) is stopped and replaced.
    if [ -f "$DIR/data/postmaster.pid" ]; then
        echo "stopping the server left running from $DIR" >&2
        as_postgres "$bin/pg_ctl" -D "$DIR/data" -m fast -w stop >&2 || true
    fi
    rm -rf "$DIR" && mkdir -p "$DIR" && chown postgres "$DIR"
    as_postgres "$bin/initdb" -D "$DIR/data" -U postgres --auth=trust >"$DIR/initdb.log" 2>&1
    # The socket goes into the data folder so the server needs no write access to /var/run.
    as_postgres "$bin/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR/data -c max_connections=200" start >&2
    as_postgres "$bin/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$DATABASE"
    echo "postgresql+psycopg2://postgres@127.0.0.1:$PORT/$DATABASE"
}

stop() {
    local bin; bin="$(find_bin)"
    if [ -n "$bin" ] && [ -f "$DIR/data/postmaster.pid" ]; then
        as_postgres "$bin/pg_ctl" -D "$DIR/data" -m fast -w stop >&2
    fi
    rm -rf "$DIR"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop (start prints the database URL)" >&2; exit 2 ;;
esac
