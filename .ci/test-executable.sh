# Sourced by the fuzz scripts: `test_executable CARGO_TEST_ARGS…` builds the tests cargo
# would run for those arguments and prints the path of their executable.
test_executable() {
  cargo test --locked --no-run --message-format=json "$@" |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["executable"])'
}
