#!/usr/bin/env bash
# PostgreSQL for scripts/stack: one cluster per stack, run by pg_ctl (as the
# postgres user when run as root), with its data directory and log under
# STATE/postgres. Source it after common.sh, do not run it:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.sh"
#
# It only defines functions; it changes no shell options. Call
# postgres_configure first: it sets the PG_* variables the others use.

# postgres_configure PROFILE STATE PORT: the server of the stack whose state is
# in STATE, listening on 127.0.0.1:PORT. The test and bench profiles run
# without fsync (throwaway data).
postgres_configure() {
    PG_PROFILE=$1
    PG_PORT=$3
    PG_DIR="$2/postgres"   # owned by the postgres user
    PG_DATA="$PG_DIR/data"
    PG_LOG="$PG_DIR/postgres.log"
    PG_SOCK_DIR="$PG_DIR/run"
    # Unix socket paths are limited to 107 bytes. In a deep checkout fall back
    # to a per-profile directory under /tmp (TCP on 127.0.0.1 is what clients
    # use).
    if [ $(( ${#PG_SOCK_DIR} + 20 )) -gt 107 ]; then
        PG_SOCK_DIR="/tmp/attache-pg-$PG_PROFILE-$PG_PORT"
    fi
}

pg_bin_dir() {
    # Debian installs each major version side by side; take the newest.
    local d
    d=$(printf '%s\n' /usr/lib/postgresql/*/bin | grep -v '\*' | sort -V | tail -n 1 || true)
    [ -n "$d" ] || die "PostgreSQL binaries not found under /usr/lib/postgresql (is the postgresql package installed?)"
    echo "$d"
}

# initdb and pg_ctl refuse to run as root: run them as the postgres user.
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_ctl_() { as_postgres "$(pg_bin_dir)/pg_ctl" -D "$PG_DATA" "$@"; }

# The postmaster pid, if the server is running.
pg_pid() {
    local pid
    [ -f "$PG_DATA/postmaster.pid" ] || return 0
    pid=$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)
    if pid_alive "$pid"; then echo "$pid"; fi
}

pg_fail() {
    say "PostgreSQL failed: $*"
    if [ -s "$PG_LOG" ]; then
        echo "---- last 40 lines of $PG_LOG" >&2
        tail -n 40 "$PG_LOG" >&2
    fi
    exit 1
}

# The postgres user must be able to reach its data directory: every parent
# directory needs the search (x) bit for it. Add o+x where it is missing
# (e.g. a checkout under /root, which is 700).
pg_make_reachable() {
    as_postgres test -x "$PG_DIR" 2>/dev/null && return 0
    local d=$PG_DIR
    while [ "$d" != / ]; do
        d=$(dirname "$d")
        if ! as_postgres test -x "$d" 2>/dev/null; then
            say "chmod o+x $d (so the postgres user can reach $PG_DIR)"
            chmod o+x "$d"
        fi
    done
    as_postgres test -x "$PG_DIR" || die "the postgres user cannot reach $PG_DIR"
}

pg_prepare() {
    mkdir -p "$PG_DIR" "$PG_SOCK_DIR"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres:postgres "$PG_DIR" "$PG_SOCK_DIR"
    fi
    chmod 700 "$PG_DIR"
    pg_make_reachable
    if [ ! -f "$PG_DATA/PG_VERSION" ]; then
        say "initdb $PG_DATA"
        as_postgres "$(pg_bin_dir)/initdb" -D "$PG_DATA" -U postgres --auth=trust \
            -E UTF8 --locale=C.UTF-8 > "$PG_DIR/initdb.log" 2>&1 \
            || { tail -n 40 "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    fi
}

psql_() {
    psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres "$@"
}

start_postgres() {
    local pid t0 opts
    t0=$(now_ms)
    pid=$(pg_pid)
    if [ -n "$pid" ]; then
        say "PostgreSQL already running (pid $pid) on 127.0.0.1:$PG_PORT"
    else
        if port_open "$PG_PORT"; then
            die "port $PG_PORT is already in use by another process; stop it or set ATTACHE_STACK_PG_PORT"
        fi
        pg_prepare
        opts="-p $PG_PORT -k $PG_SOCK_DIR -c listen_addresses=127.0.0.1 -c max_connections=300"
        # Throwaway data: skip fsync for speed. Not for demo, whose data a
        # person may care about after a crash.
        case "$PG_PROFILE" in
            test|bench) opts="$opts -c fsync=off" ;;
        esac
        say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
        pg_ctl_ -w -t 60 -l "$PG_LOG" -o "$opts" start > /dev/null \
            || pg_fail "pg_ctl start failed"
    fi

    # Create the application database if missing (checked on every start, so
    # an earlier start interrupted right after initdb is repaired too).
    if [ -z "$(psql_ -tA -c "SELECT 1 FROM pg_database WHERE datname = 'attache'")" ]; then
        say "creating database attache"
        psql_ -c 'CREATE DATABASE attache' || pg_fail "could not create database attache"
    fi
    if [ -z "$pid" ]; then
        say "PostgreSQL up (pid $(pg_pid)) on 127.0.0.1:$PG_PORT in $(( $(now_ms) - t0 )) ms"
    fi
}

stop_postgres() {
    local t0
    t0=$(now_ms)
    if [ -z "$(pg_pid)" ]; then
        say "PostgreSQL not running"
        return 0
    fi
    say "stopping PostgreSQL"
    # fast: roll back open transactions and disconnect clients right away.
    pg_ctl_ -m fast -w -t 60 stop > /dev/null || pg_fail "pg_ctl stop failed"
    say "PostgreSQL stopped in $(( $(now_ms) - t0 )) ms"
}

postgres_status() {
    local pid
    pid=$(pg_pid)
    if [ -n "$pid" ]; then
        echo "postgresql $PG_PROFILE: running (pid $pid) postgresql://127.0.0.1:$PG_PORT/attache"
    else
        echo "postgresql $PG_PROFILE: stopped"
        return 1
    fi
}