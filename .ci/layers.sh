#!/usr/bin/env bash
# The shape rules of docs/architecture.md that a compiler does not check: web and the CLI
# reach storage only through the app, SQL lives in crates/db, no source file grows past 700
# lines, `cargo run` runs hod. Prints each breach and fails.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
breach() { echo "layers: $*" >&2; fail=1; }

# hod-db reaches hod-web only through hod-app (DESIGN.md §1: web → app → db).
if cargo tree -p hod-web -e normal,build --depth 1 --prefix none --locked | grep -q '^hod-db '; then
  breach "hod-web depends on hod-db directly; go through hod-app's use cases"
fi
if grep -rn 'hod_db' crates/server/src/cli; then
  breach "the CLI's commands name hod_db; go through hod-app"
fi

# SQL only in crates/db.
if grep -rnE 'sqlx::|"(SELECT|INSERT INTO|UPDATE|DELETE FROM) ' crates/*/src --include=*.rs | grep -v '^crates/db/'; then
  breach "SQL outside crates/db"
fi

# Files small enough to read in one sitting.
while read -r lines file; do
  [ "$file" = total ] && continue
  [ "$lines" -lt 700 ] || breach "$file has $lines lines (at most 699)"
done < <(find crates -path '*/src/*' -name '*.rs' -print0 | xargs -0 wc -l)

# The README's `cargo run --release -- demo` needs `hod` to be the only binary among the
# workspace's default members (cargo refuses to guess between several).
bins=$(cargo metadata --no-deps --format-version 1 --locked | python3 -c '
import json, sys
m = json.load(sys.stdin)
default = set(m["workspace_default_members"])
print(" ".join(sorted(t["name"] for p in m["packages"] if p["id"] in default
                      for t in p["targets"] if "bin" in t["kind"])))')
[ "$bins" = hod ] || breach "the default members' binaries are '$bins', so cargo run cannot tell it should run hod; list only crates without other binaries in Cargo.toml's default-members"

exit "$fail"
