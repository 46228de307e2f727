#!/usr/bin/env bash
# Helpers shared by the scripts in scripts/. Source it, do not run it:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
#
# It only defines functions and variables; it changes no shell options, so the
# sourcing script keeps its own `set -euo pipefail`.

# Debian packages the project needs to build and to run its test stack:
# the C client libraries it links against, and the servers the tests use
# (Radicale is the CalDAV server the CalDAV provider's tests sync against;
# openssl makes the test SMTP server's certificate; Chromium is the browser the camera
# page's test loads it in, as the meeting bot would).
ATTACHE_OS_PACKAGES="librabbitmq-dev libpq-dev libcurl4-openssl-dev rabbitmq-server postgresql curl openssl radicale espeak-ng libespeak-ng-dev pocketsphinx pocketsphinx-en-us libpocketsphinx-dev libsphinxbase-dev chromium"
export ATTACHE_OS_PACKAGES

# Print the repository root (absolute, symlinks resolved). Derived from this
# file's own location (scripts/lib/common.sh), so it works from any cwd.
attache_root() {
    (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
}

# Logging goes to stderr so that stdout stays clean for output meant to be
# consumed (e.g. `scripts/stack test env`).
say()  { printf '==> %s\n' "$*" >&2; }
warn() { printf '==> WARNING: %s\n' "$*" >&2; }
die()  { printf '==> ERROR: %s\n' "$*" >&2; exit 1; }

# True when Debian package $1 is fully installed.
package_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

# ensure_packages PKG...: install whichever of the given Debian packages are
# missing. Does nothing (and needs no root) when all are already installed.
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        package_installed "$pkg" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0

    if [ "$(id -u)" -ne 0 ]; then
        die "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})"
    fi
    say "installing Debian packages: ${missing[*]}"
    # The package lists may be absent or stale on a fresh machine: refresh once.
    apt-get update -qq
    # Installing rabbitmq-server/postgresql does not start them here (no
    # systemd); scripts/stack starts its own instances.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
        || die "apt-get install failed for: ${missing[*]}"
}

# port_open PORT [HOST]: true if something accepts TCP connections there.
# Uses bash's /dev/tcp so it needs no netcat; `timeout` guards against hangs.
port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/${2:-127.0.0.1}/$1" 2>/dev/null
}

# pid_alive PID: true if PID names a live process (PID may be empty). A zombie
# (exited, not yet reaped by its parent or init) does not count: kill -0 alone
# would say it is alive.
pid_alive() {
    local stat
    [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    # The state letter follows the command name, which is in parentheses.
    stat=${stat##*) }
    [ "${stat:0:1}" != Z ]
}

# Milliseconds since the epoch, for timing messages.
now_ms() { date +%s%3N; }

# start_detached PID_FILE OUT DIR COMMAND...: runs COMMAND in a session of its
# own (so it outlives this script and is not hit by signals aimed at the
# caller's process group, e.g. Ctrl-C on a test run), in DIR, its output
# appended to OUT, and writes its pid to PID_FILE. Launched from a nested
# subshell: when the caller has job control on (set -m), a background job
# leads its own process group, and setsid then forks and exits at once, so
# the recorded pid died while the server was still booting and a loaded
# machine's slow start was reported as "exited during startup".
start_detached() {
    local pid_file=$1 out=$2 dir=$3
    shift 3
    (
        cd "$dir" || exit 1
        (exec setsid nohup "$@" >> "$out" 2>&1 < /dev/null) &
        echo $! > "$pid_file"
    )
}

# stop_server NAME PID PID_FILE WANTED: stops a server started in the background:
# SIGTERM, up to 10 s, then SIGKILL; removes its pid file. With no PID it says
# so only when WANTED is 1 (the profile runs that server).
stop_server() {
    local name=$1 pid=$2 pid_file=$3 wanted=$4 t0
    t0=$(now_ms)
    if [ -z "$pid" ]; then
        if [ "$wanted" = 1 ]; then say "$name not running"; fi
        rm -f "$pid_file"
        return 0
    fi
    say "stopping $name"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        pid_alive "$pid" || break
        sleep 0.1
    done
    if pid_alive "$pid"; then
        warn "$name (pid $pid) still alive after 10 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pid_file"
    say "$name stopped in $(( $(now_ms) - t0 )) ms"
}

# server_status LABEL PID PORT ADDRESS: one line of `scripts/stack status`;
# fails unless the server runs and its port answers.
server_status() {
    local label=$1 pid=$2 port=$3 address=$4
    if [ -n "$pid" ] && port_open "$port"; then
        echo "$label: running (pid $pid) $address"
    elif [ -n "$pid" ]; then
        echo "$label: starting or unhealthy (pid $pid), port $port closed"
        return 1
    else
        echo "$label: stopped"
        return 1
    fi
}
