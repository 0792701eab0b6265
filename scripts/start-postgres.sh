#!/usr/bin/env bash
# Start PostgreSQL when it is not running and create the test role and database.
set -euo pipefail
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  if ! pg_lsclusters -h | grep -q "^$version main"; then
    pg_createcluster "$version" main >/dev/null
  fi
  pg_ctlcluster "$version" main start
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
  done
fi
as_postgres() { runuser -u postgres -- "$@"; }
if ! as_postgres psql -tAc "select 1 from pg_roles where rolname='lms'" | grep -q 1; then
  as_postgres psql -q -c "create role lms login password 'lms' createdb"
fi
if ! as_postgres psql -tAc "select 1 from pg_database where datname='lms_test'" | grep -q 1; then
  as_postgres createdb -O lms lms_test
fi
