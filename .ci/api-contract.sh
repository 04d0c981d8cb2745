#!/usr/bin/env bash
# The public interface checked from outside, against a running `hod demo` on loopback:
# - schemathesis runs every check of its own against /api/v1/openapi.json, with a partner key
#   and an agent token, and must create referrals (201s) along the way;
# - promtool (Debian's prometheus package) checks what /metrics serves.
# Needs target/debug/hod (the tests build it). Bounded: a fixed number of examples per operation.
set -euo pipefail
cd "$(dirname "$0")/.."
hod="${HOD_BIN:-$PWD/target/debug/hod}"
venv=target/schemathesis-venv
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5"
fi
work=$(mktemp -d /tmp/hod-contract.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
db="sqlite://$work/contract.sqlite"
base="http://127.0.0.1:$port"
HOD_LOG=warn "$hod" demo --addr "127.0.0.1:$port" --database-url "$db" >"$work/demo.out" 2>"$work/demo.err" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

http() { # METHOD URL [JSON] → body on stdout
  python3 - "$@" <<'PY'
import json, sys, urllib.request
method, url = sys.argv[1], sys.argv[2]
data = sys.argv[3].encode() if len(sys.argv) > 3 else None
req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
print(urllib.request.urlopen(req, timeout=10).read().decode())
PY
}
for _ in $(seq 1 100); do
  http GET "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/demo.err" >&2; exit 1; }
  sleep 0.2
done
partner=$("$hod" api-key create --name schemathesis --database-url "$db")
user=$(awk '/Agents \(password/ { getline; print $1; exit }' "$work/demo.out")
password=$(sed -n 's/.*Agents (password \(.*\)):.*/\1/p' "$work/demo.out")
token=$(http POST "$base/api/v1/agent/token" "{\"username\":\"$user\",\"password\":\"$password\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

echo "schemathesis against $base/api/v1/openapi.json"
# Bounded twice: a fixed number of examples per operation (about a minute here), and a hard stop.
PARTNER_KEY="$partner" AGENT_TOKEN="$token" timeout 900 "$venv/bin/st" --config-file .ci/schemathesis.toml \
  run "$base/api/v1/openapi.json" --checks all --workers 1 --request-timeout 10 --no-color

created=$(http GET "$base/metrics" | awk -F' ' '/^hod_referrals_submitted_total\{source="api"\}/ { print $2 }')
echo "referrals created through the API during the run: ${created:-0}"
[ "${created:-0}" != 0 ] || { echo "schemathesis created no referral (no 201)" >&2; exit 1; }

echo "promtool check metrics on $base/metrics"
http GET "$base/metrics" | promtool check metrics
