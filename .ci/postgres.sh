# Starts a throwaway PostgreSQL cluster on a free loopback port and exports HOD_TEST_PG_URL.
# Source it: `source .ci/postgres.sh`; the cluster stops when the shell exits.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  echo "postgres.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
  return 1 2>/dev/null || exit 1
fi
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
fi
PG_DIR=$(mktemp -d /tmp/hod-pg.XXXXXX)
chmod 755 "$PG_DIR"
[ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$pg_bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
  || { cat "$PG_DIR/initdb.log" >&2; return 1 2>/dev/null || exit 1; }
as_pg "$pg_bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null \
  || { cat "$PG_DIR/server.log" >&2; return 1 2>/dev/null || exit 1; }
export HOD_TEST_PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
stop_postgres() { as_pg "$pg_bin/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$PG_DIR"; }
trap stop_postgres EXIT
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT (HOD_TEST_PG_URL set)"
