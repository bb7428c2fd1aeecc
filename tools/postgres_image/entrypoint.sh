#!/bin/sh
# Entry point of the hotdash PostgreSQL 15 image, with the interface of the official `postgres` image so the
# same run command serves both: POSTGRES_PASSWORD (required), POSTGRES_USER (default postgres), PGDATA
# (default /var/lib/postgresql/data); arguments are the server's (`postgres -c key=value ...`, or only the
# `-c ...` options); anything else runs as given (`podman run IMAGE true`).
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
POSTGRES_USER=${POSTGRES_USER:-postgres}
bin=/usr/lib/postgresql/15/bin
export PGDATA

case "${1:-postgres}" in
  -*) set -- postgres "$@" ;;
  postgres) ;;
  *) exec "$@" ;;
esac
shift || true

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "entrypoint: POSTGRES_PASSWORD is not set: the superuser needs a password for TCP connections" >&2
    exit 1
  fi
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  "$bin/initdb" -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >/dev/null
  rm -f "$pwfile"
  # Like the official image: listen everywhere inside the container and accept password logins from any
  # address (clients come through the bridge's gateway); on the host network, pass -c listen_addresses=127.0.0.1.
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
fi
exec "$bin/postgres" "$@"
