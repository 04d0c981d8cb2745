#!/usr/bin/env bash
# Browser tests: the agent journeys in Debian's Chromium against a real `hod serve`, on SQLite
# and, when HOD_TEST_PG_URL is set (CI), on PostgreSQL. Needs target/debug/hod (cargo build).
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules ] || npm ci --no-audit --no-fund
export HOD_BIN="${HOD_BIN:-$(cd ../.. && pwd)/target/debug/hod}"
echo "browser tests on SQLite"
npm test
if [ -n "${HOD_TEST_PG_URL:-}" ]; then
  db="hod_e2e_$$"
  psql "$HOD_TEST_PG_URL" -qc "CREATE DATABASE $db"
  trap 'psql "$HOD_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true' EXIT
  echo "browser tests on PostgreSQL"
  HOD_E2E_PG_URL="${HOD_TEST_PG_URL%/*}/$db" npm test
fi
