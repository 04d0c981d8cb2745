#!/usr/bin/env bash
# How much of the code they aim at the fuzz harnesses reach (docs/security.md): each harness
# built with `-C instrument-coverage` (in target/coverage), run once, and llvm-cov's report on
# the files holding that code. llvm-cov is Debian's, of the LLVM version the project's rustc
# uses (installed when missing).
#
#   bash .ci/fuzz-coverage.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/test-executable.sh
llvm=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
if ! command -v "llvm-cov-$llvm" >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "llvm-$llvm"
fi
[ -n "${HOD_TEST_PG_URL:-}" ] || source .ci/postgres.sh
host=$(rustc -vV | sed -n 's/^host: //p')
out=target/coverage/fuzz
rm -rf "$out"
mkdir -p "$out"
# With --target, the flag reaches the project's code and its libraries, not build scripts
# and procedural macros.
export CARGO_TARGET_DIR=target/coverage RUSTFLAGS="-C instrument-coverage"

# name, cases, the files the harness aims at, then `--`, the harness's arguments; `build`
# holds what cargo builds for it.
measure() {
  local name=$1 cases=$2 files=() exe
  shift 2
  while [ "$1" != -- ]; do files+=("$1"); shift; done
  shift
  exe=$(test_executable --target "$host" "${build[@]}")
  # shellcheck disable=SC2068 # the arguments are words
  LLVM_PROFILE_FILE="$out/$name-%p-%m.profraw" PROPTEST_CASES=$cases "$exe" $@ >"$out/$name.log" 2>&1 ||
    { cat "$out/$name.log"; exit 1; }
  "llvm-profdata-$llvm" merge -sparse "$out/$name"-*.profraw -o "$out/$name.profdata"
  echo "== $name: $cases cases"
  "llvm-cov-$llvm" report "$exe" -instr-profile="$out/$name.profdata" "${files[@]}" |
    sed "s|$PWD/||"
}

build=(-p hod-domain --test parsers_fuzz)
measure parsers 200000 crates/domain/src/{account,availability,geo,lang,npn,password,text}.rs --
build=(-p hod-app --lib)
measure importers 20000 crates/app/src/import/{csvfile,nipr,rows,source}.rs -- import::fuzz
build=(-p hod-server --test it)
measure bodies 200 crates/web/src/{api/mod,api/agent,api/partner,api/push,consumer,agent,recover,admin/mod,limits}.rs \
  crates/app/src/fields.rs -- fuzz_bodies --test-threads 1
