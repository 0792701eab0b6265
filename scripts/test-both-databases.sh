#!/usr/bin/env bash
# The passes of `make test`, at the same time, each with its own database:
#   - on SQLite, the tests of the lab engine and the browser (`make test-sqlite-engine`),
#     output shown as it comes;
#   - on SQLite, every other test (`make test-sqlite-db`), in the background;
#   - on PostgreSQL, those same database tests (`make test-postgres`), in the background.
# The engine and browser tests wait on Docker and Chromium much of the time, so on two
# cores the database passes fit mostly into their idle time. Together the two SQLite
# passes are the whole suite (`make test-sqlite` runs it in one process). The background
# passes' output is kept in files and shown, whole, afterwards. Fails when any pass
# fails, and says which.
set -uo pipefail
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}

sqlite_db_log=$(mktemp --tmpdir lms-test-sqlite-db.XXXXXX.log)
postgres_log=$(mktemp --tmpdir lms-test-postgres.XXXXXX.log)
trap 'rm -f "$sqlite_db_log" "$postgres_log"' EXIT

# Sessions of their own, so that an interrupted run stops the background passes too.
setsid "$MAKE" --no-print-directory test-sqlite-db >"$sqlite_db_log" 2>&1 &
sqlite_db_pid=$!
setsid "$MAKE" --no-print-directory test-postgres >"$postgres_log" 2>&1 &
postgres_pid=$!
trap 'kill -TERM -- "-$sqlite_db_pid" "-$postgres_pid" 2>/dev/null; exit 130' INT TERM
echo "SQLite (database tests) and PostgreSQL passes running in the background" \
    "(their output follows)."

echo "=== SQLite pass: the lab engine and browser tests ==="
"$MAKE" --no-print-directory test-sqlite-engine
engine_status=$?

wait "$sqlite_db_pid"
sqlite_db_status=$?
echo "=== SQLite pass: the database tests ==="
cat "$sqlite_db_log"

wait "$postgres_pid"
postgres_status=$?
echo "=== PostgreSQL pass (database tests) ==="
cat "$postgres_log"

verdict() { [ "$1" -eq 0 ] && echo passed || echo "FAILED (exit $1)"; }
echo "SQLite engine and browser tests: $(verdict "$engine_status");" \
    "SQLite database tests: $(verdict "$sqlite_db_status");" \
    "PostgreSQL pass: $(verdict "$postgres_status")"
[ "$engine_status" -eq 0 ] && [ "$sqlite_db_status" -eq 0 ] && [ "$postgres_status" -eq 0 ]
