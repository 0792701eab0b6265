#!/usr/bin/env bash
# The two passes of `make test` at the same time: the whole suite on SQLite (its output
# shown as it comes) and the database tests on PostgreSQL in the background (its output
# kept in a file and shown, whole, after the SQLite pass). The SQLite pass waits on the
# Docker engine and Chromium much of the time, so on two cores the PostgreSQL pass fits
# mostly into its idle time. Each pass has its own database (SQLite files under pytest's
# temporary directories; PostgreSQL's lms_test). Fails when either pass fails, and says
# which.
set -uo pipefail
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}

postgres_log=$(mktemp --tmpdir lms-test-postgres.XXXXXX.log)
trap 'rm -f "$postgres_log"' EXIT

# A session of its own, so that an interrupted run stops the whole background pass too.
setsid "$MAKE" --no-print-directory test-postgres >"$postgres_log" 2>&1 &
postgres_pid=$!
trap 'kill -TERM -- "-$postgres_pid" 2>/dev/null; exit 130' INT TERM
echo "PostgreSQL pass running in the background (its output follows the SQLite pass's)."

echo "=== SQLite pass ==="
"$MAKE" --no-print-directory test-sqlite
sqlite_status=$?

wait "$postgres_pid"
postgres_status=$?
echo "=== PostgreSQL pass (database tests) ==="
cat "$postgres_log"

echo "SQLite pass: $([ "$sqlite_status" -eq 0 ] && echo passed || echo "FAILED (exit $sqlite_status)");" \
    "PostgreSQL pass: $([ "$postgres_status" -eq 0 ] && echo passed || echo "FAILED (exit $postgres_status)")"
[ "$sqlite_status" -eq 0 ] && [ "$postgres_status" -eq 0 ]
