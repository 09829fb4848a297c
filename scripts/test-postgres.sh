#!/usr/bin/env bash
# A throw-away PostgreSQL server on 127.0.0.1:54329 for the PostgreSQL sink tests.
#   scripts/test-postgres.sh start   # prints the URL to export as EVALUATORD_TEST_POSTGRES
#   scripts/test-postgres.sh stop
set -euo pipefail
PORT=${PGPORT_TEST:-54329}
DIR=${PGDIR_TEST:-/tmp/evaluatord-test-pg}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$BIN" ] || { echo "no PostgreSQL server installed (apt-get install postgresql)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "${1:-}" in
  start)
    if [ ! -f "$DIR/PG_VERSION" ]; then
      rm -rf "$DIR"; mkdir -p "$DIR"
      [ "$(id -u)" = 0 ] && chown postgres "$DIR"
      as_pg "$BIN/initdb" -D "$DIR" -U postgres --auth=trust -E UTF8 >/dev/null
    fi
    # TLS too (a self-signed certificate for 127.0.0.1, its own CA), for sslmode=verify-*:
    # the tests find it as $DIR/server.pem.
    if [ ! -f "$DIR/server.pem" ]; then
      openssl req -x509 -newkey rsa:2048 -nodes -keyout "$DIR/server.key" -out "$DIR/server.pem" -days 3650 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
      chmod 600 "$DIR/server.key"; chmod 644 "$DIR/server.pem"
      [ "$(id -u)" = 0 ] && chown postgres "$DIR/server.key" "$DIR/server.pem"
    fi
    as_pg "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w \
      -o "-p $PORT -c listen_addresses=127.0.0.1 -k $DIR -c fsync=off -c ssl=on -c ssl_cert_file=$DIR/server.pem -c ssl_key_file=$DIR/server.key" start >/dev/null
    echo "postgres://postgres@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    [ -f "$DIR/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$DIR" -m fast -w stop >/dev/null || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
