#!/usr/bin/env bash
# Crashes and outages under load, short runs (docs/security.md has the long ones and their
# last results): nodes killed with SIGKILL on PostgreSQL and on SQLite, PostgreSQL stopped and
# started again mid-load, and (as root, which can mount a small tmpfs) the disk filling up.
# Each run fails when its checker finds a violation. Uses target/debug/hod.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${HOD_CHAOS_SECONDS:-20}"
cargo build -p hod-chaos --locked
chaos=target/debug/hod-chaos
$chaos sqlite-kill --seconds "$seconds"
$chaos pg-kill --seconds "$seconds" --kill-every 3
$chaos pg-restart --seconds "$seconds"
if [ "$(id -u)" = 0 ]; then
  $chaos disk-full --seconds "$seconds"
else
  echo "disk-full: skipped (mounting a tmpfs needs root)"
fi
