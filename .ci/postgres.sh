#!/usr/bin/env bash
# Start a PostgreSQL server for the registry tests and print the URL to use:
#
#     eval "$(.ci/postgres.sh)"      # exports CONSILIENCE_TEST_PG_URL
#
# * installs PostgreSQL from the Debian packages when it is missing (needs root, no prompts);
# * runs the cluster as the unprivileged 'postgres' user when called by root (as the calling
#   user otherwise), listening on localhost on a free port;
# * creates the role 'consilience' (password generated once) and the database
#   'consilience_test';
# * is idempotent: a second call reuses the running server and prints the same URL.
#
# State lives in $CONSILIENCE_PG_HOME (default: consilience-test/ in the postgres user's home,
# or ~/.cache/consilience-pg for a non-root caller). Only the export line goes to stdout; progress
# goes to stderr. In GitHub Actions the variable is also appended to $GITHUB_ENV.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

find_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/psql" ]; then
    echo "$dir"
  fi
}

BIN="$(find_bin)"
if [ -z "$BIN" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "PostgreSQL is not installed; run this script as root to install it with apt-get."
    exit 1
  fi
  log "installing PostgreSQL from the Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  BIN="$(find_bin)"
  if [ -z "$BIN" ]; then
    log "PostgreSQL was installed but its programs were not found under /usr/lib/postgresql."
    exit 1
  fi
fi

if [ "$(id -u)" -eq 0 ]; then
  OWNER=postgres
  OWNER_HOME="$(getent passwd postgres | cut -d: -f6)"
  STATE="${CONSILIENCE_PG_HOME:-$OWNER_HOME/consilience-test}"
else
  OWNER="$(id -un)"
  STATE="${CONSILIENCE_PG_HOME:-$HOME/.cache/consilience-pg}"
fi
DATA="$STATE/data"
SOCKET="$STATE/socket"
mkdir -p "$STATE" "$SOCKET"
if [ "$(id -u)" -eq 0 ]; then
  chown -R "$OWNER": "$STATE"
fi
chmod 700 "$STATE"

as_owner() {
  # From inside the state directory, so the owner never needs access to the caller's directory.
  if [ "$(id -u)" -eq 0 ]; then
    (cd "$STATE" && runuser -u "$OWNER" -- "$@")
  else
    (cd "$STATE" && "$@")
  fi
}

if [ ! -s "$STATE/password" ]; then
  (umask 077 && head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$STATE/password")
  if [ "$(id -u)" -eq 0 ]; then chown "$OWNER": "$STATE/password"; fi
fi
PASSWORD="$(cat "$STATE/password")"

if [ ! -s "$DATA/PG_VERSION" ]; then
  log "creating a cluster in $DATA"
  as_owner "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
fi

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1 && [ -s "$STATE/port" ]; then
  PORT="$(cat "$STATE/port")"
  log "reusing the server on port $PORT"
else
  PORT=""
  for candidate in $(seq 55432 55631); do
    if port_free "$candidate"; then PORT="$candidate"; break; fi
  done
  if [ -z "$PORT" ]; then
    log "no free port between 55432 and 55631"
    exit 1
  fi
  echo "$PORT" > "$STATE/port"
  log "starting the server on port $PORT"
  # fsync off: a test server whose data can be thrown away; durability is not under test.
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$STATE/server.log" -w -t 60 \
    -o "-p $PORT -k $SOCKET -c listen_addresses=localhost -c fsync=off -c max_connections=200" \
    start >&2
fi

psql_admin() {
  as_owner "$BIN/psql" -h "$SOCKET" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"
}

if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'consilience'")" != "1" ]; then
  psql_admin -c "CREATE ROLE consilience LOGIN CREATEDB PASSWORD '$PASSWORD'" >/dev/null
else
  psql_admin -c "ALTER ROLE consilience LOGIN CREATEDB PASSWORD '$PASSWORD'" >/dev/null
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'consilience_test'")" != "1" ]; then
  psql_admin -c "CREATE DATABASE consilience_test OWNER consilience" >/dev/null
fi

URL="postgresql+psycopg://consilience:$PASSWORD@localhost:$PORT/consilience_test"
if [ -n "${GITHUB_ENV:-}" ]; then
  echo "CONSILIENCE_TEST_PG_URL=$URL" >> "$GITHUB_ENV"
fi
echo "export CONSILIENCE_TEST_PG_URL=$URL"
