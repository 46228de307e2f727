#!/usr/bin/env bash
# An SMTP server for scripts/stack: the server the Mail client's tests send to,
# run as a plain background process (scripts/lib/smtp_server.py, on PyPI's
# aiosmtpd) with its certificate, Maildir and pid file under STATE/smtp.
# Source it after common.sh, do not run it:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/smtp.sh"
#
# It only defines functions; it changes no shell options. Call smtp_configure
# first: it sets the SMTP_* variables the others use.

# smtp_configure PROFILE STATE PORT WANTED: the server of the stack whose state
# is in STATE, listening on 127.0.0.1:PORT. WANTED is 1 if the profile runs it.
smtp_configure() {
    SMTP_PROFILE=$1
    SMTP_DIR="$2/smtp"
    SMTP_PORT=$3
    SMTP_WANTED=$4
    SMTP_PID_FILE="$SMTP_DIR/smtp.pid"
    SMTP_OUT="$SMTP_DIR/server.out"
    SMTP_CERT="$SMTP_DIR/cert.pem"
    SMTP_MAILDIR="$SMTP_DIR/maildir"
    SMTP_USER=attache
    SMTP_PASSWORD=attache-test
    SMTP_START_TIMEOUT=30
    SMTP_SCRIPT="$(attache_root)/scripts/lib/smtp_server.py"
}

ensure_aiosmtpd() {
    python3 -c 'import aiosmtpd' 2> /dev/null && return 0
    [ "$(id -u)" -eq 0 ] || die "aiosmtpd not found: pip install aiosmtpd (as root, or in your environment)"
    say "installing aiosmtpd (pip install aiosmtpd)"
    python3 -m pip install -q aiosmtpd >&2 || die "pip install aiosmtpd failed"
    python3 -c 'import aiosmtpd' 2> /dev/null || die "aiosmtpd is installed but python3 cannot import it"
}

smtp_pid() {
    local pid
    pid=$(cat "$SMTP_PID_FILE" 2>/dev/null || true)
    if pid_alive "$pid" && tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | grep -q 'smtp_server.py'; then
        echo "$pid"
    fi
}

smtp_fail() {
    say "SMTP server failed: $*"
    if [ -s "$SMTP_OUT" ]; then
        echo "---- last 40 lines of $SMTP_OUT" >&2
        tail -n 40 "$SMTP_OUT" >&2
    fi
    exit 1
}

# The server's greeting, read with bash's /dev/tcp: "220" once it serves.
smtp_greeting() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && head -c 3 <&3 && printf 'QUIT\r\n' >&3" 2>/dev/null || true
}

start_smtp() {
    local pid started_pid t0 deadline
    t0=$(now_ms)
    pid=$(smtp_pid)
    if [ -n "$pid" ] && port_open "$SMTP_PORT"; then
        say "SMTP server already running (pid $pid) on 127.0.0.1:$SMTP_PORT"
        return 0
    fi
    if [ -z "$pid" ]; then
        port_open "$SMTP_PORT" && die "port $SMTP_PORT is already in use by another process; stop it or set ATTACHE_STACK_SMTP_PORT"
        ensure_aiosmtpd
        # Test data only: every start begins with an empty Maildir and a new certificate.
        rm -rf "$SMTP_MAILDIR"
        mkdir -p "$SMTP_MAILDIR"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
            -keyout "$SMTP_DIR/key.pem" -out "$SMTP_CERT" -subj "/CN=127.0.0.1" \
            -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" > /dev/null 2>&1 \
            || smtp_fail "openssl could not make the server's certificate"
        say "starting the SMTP server on 127.0.0.1:$SMTP_PORT"
        echo "==== $(date -Is) start" >> "$SMTP_OUT"
        start_detached "$SMTP_PID_FILE" "$SMTP_OUT" "$SMTP_DIR" \
            python3 "$SMTP_SCRIPT" "$SMTP_PORT" "$SMTP_DIR" "$SMTP_USER" "$SMTP_PASSWORD"
    fi
    started_pid=$(cat "$SMTP_PID_FILE")
    deadline=$((SECONDS + SMTP_START_TIMEOUT))
    while [ "$(smtp_greeting "$SMTP_PORT")" != 220 ]; do
        pid_alive "$started_pid" || smtp_fail "the server process exited during startup"
        [ "$SECONDS" -lt "$deadline" ] || smtp_fail "no greeting on port $SMTP_PORT within ${SMTP_START_TIMEOUT}s"
        sleep 0.2
    done
    say "SMTP server up (pid $started_pid) on 127.0.0.1:$SMTP_PORT in $(( $(now_ms) - t0 )) ms"
}

stop_smtp() {
    stop_server "SMTP server" "$(smtp_pid)" "$SMTP_PID_FILE" "$SMTP_WANTED"
}

smtp_status() {
    server_status "smtp       $SMTP_PROFILE" "$(smtp_pid)" "$SMTP_PORT" "smtp://127.0.0.1:$SMTP_PORT/"
}
