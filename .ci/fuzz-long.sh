#!/usr/bin/env bash
# The long fuzz run (docs/security.md): the three harnesses — the parsers, the importers, the
# JSON bodies and forms over HTTP on SQLite and PostgreSQL — in rounds, every round with new
# random inputs, until MINUTES have passed. Stops at the first finding: its log (with the
# PROPTEST_RNG_SEED that replays it) is kept under target/fuzz-long/.
#
#   bash .ci/fuzz-long.sh MINUTES
#
# The harnesses are built once and run from copies, so building other things meanwhile does
# not change what runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/test-executable.sh
minutes="${1:?usage: bash .ci/fuzz-long.sh MINUTES}"
[ -n "${HOD_TEST_PG_URL:-}" ] || source .ci/postgres.sh
logs=target/fuzz-long
bin=$(mktemp -d)
mkdir -p "$logs"
trap 'rm -rf "$bin"; if declare -F stop_postgres >/dev/null; then stop_postgres; fi' EXIT

# The test executable cargo builds for `$@`, copied to $bin/$name.
build() {
  local name=$1
  shift
  cp "$(test_executable "$@")" "$bin/$name"
}
build parsers --release -p hod-domain --test parsers_fuzz
build importers -p hod-app --lib
build bodies -p hod-server --test it

# name, cases per round, then the harness's arguments.
harnesses=(
  "parsers 1000000"
  "importers 100000 import::fuzz"
  "bodies 1000 fuzz_bodies --test-threads 1"
)
declare -A total_cases total_secs
end=$(($(date +%s) + minutes * 60))
round=0
while [ "$(date +%s)" -lt "$end" ]; do
  round=$((round + 1))
  line="round $round:"
  for h in "${harnesses[@]}"; do
    read -r name cases args <<<"$h"
    start=$(date +%s)
    log="$logs/$name-round-$round.log"
    # shellcheck disable=SC2086 # the arguments are words
    if ! PROPTEST_CASES=$cases "$bin/$name" $args >"$log" 2>&1; then
      echo "$line $name FOUND something: $log"
      exit 1
    fi
    rm -f "$log"
    secs=$(($(date +%s) - start))
    total_cases[$name]=$((${total_cases[$name]:-0} + cases))
    total_secs[$name]=$((${total_secs[$name]:-0} + secs))
    line+=" $name ${cases} cases ${secs}s ok;"
  done
  echo "$line"
done
echo "after $round rounds, nothing found:"
echo "  parsers: ${total_cases[parsers]:-0} cases per property (6 properties), ${total_secs[parsers]:-0} s"
echo "  importers: ${total_cases[importers]:-0} mutated files and as many arbitrary ones, ${total_secs[importers]:-0} s"
echo "  bodies: ${total_cases[bodies]:-0} per JSON endpoint and form (and a quarter as many non-JSON bodies) on each database, ${total_secs[bodies]:-0} s"
