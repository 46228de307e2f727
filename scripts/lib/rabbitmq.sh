#!/usr/bin/env bash
# RabbitMQ for scripts/stack: one broker node per stack, run as a plain
# background process with its data, logs and pid files under STATE/rabbitmq.
# Source it after common.sh, do not run it:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/rabbitmq.sh"
#
# It only defines functions; it changes no shell options. Call
# rabbitmq_configure first: it sets the RMQ_* variables the others use.

# rabbitmq_configure PROFILE STATE PORT DEFAULT_PORT: the broker of the stack
# whose state is in STATE, listening for AMQP on 127.0.0.1:PORT. DEFAULT_PORT
# is the profile's own AMQP port: a stack moved off it gets another node name.
rabbitmq_configure() {
    RMQ_PORT=$3
    RMQ_BIN=/usr/lib/rabbitmq/bin
    RMQ_DIR="$2/rabbitmq"
    # Node names must be unique per machine (epmd is shared): a stack moved to
    # other ports (e.g. a second checkout) gets its own name.
    if [ "$RMQ_PORT" = "$4" ]; then
        RMQ_NODE="rabbit-$1@localhost"
    else
        RMQ_NODE="rabbit-$1-$RMQ_PORT@localhost"
    fi
    RMQ_PID_FILE="$RMQ_DIR/rabbitmq.pid"          # written by the broker: the beam pid
    RMQ_LAUNCHER_PID_FILE="$RMQ_DIR/launcher.pid" # the rabbitmq-server shell wrapper
    RMQ_OUT="$RMQ_DIR/server.out"                 # the server's stdout/stderr
    RMQ_LOG="$RMQ_DIR/log/$RMQ_NODE.log"          # the broker's own log file
    RMQ_START_TIMEOUT=180
    # rabbitmq_prometheus's /metrics, one port per broker beside its AMQP port
    # (5672 -> 15692, the plugin's default; 5682 -> 15702; ...).
    RMQ_METRICS_PORT=$((RMQ_PORT + 10020))
}

# Everything RabbitMQ (server and CLI) reads from the environment. Exported in
# a subshell by rmq_run so that the server and every CLI call share one HOME,
# hence one Erlang cookie (~/.erlang.cookie); with different cookies the CLI
# cannot talk to the node. Nothing is read from /etc/rabbitmq.
rmq_export_env() {
    export HOME="$RMQ_DIR/home"
    export RABBITMQ_NODENAME="$RMQ_NODE"
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT="$RMQ_PORT"
    # Erlang distribution port (inter-node and CLI traffic), one per profile.
    # Set explicitly rather than relying on RabbitMQ deriving the same value.
    export RABBITMQ_DIST_PORT=$((RMQ_PORT + 20000))
    # CLI tools listen on a small port range of their own; the built-in default
    # (35672-35682) is the same for every node, give each profile its own.
    export RABBITMQ_CTL_DIST_PORT_MIN=$((RMQ_PORT + 30000))
    export RABBITMQ_CTL_DIST_PORT_MAX=$((RMQ_PORT + 30009))
    # Keep Erlang distribution and epmd on loopback too.
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export ERL_EPMD_ADDRESS=127.0.0.1
    export RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
    export RABBITMQ_LOG_BASE="$RMQ_DIR/log"
    export RABBITMQ_PID_FILE="$RMQ_PID_FILE"
    export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
    export RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq.conf"
    export RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config" # never created
    export RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf"      # empty
    export ERL_CRASH_DUMP="$RMQ_DIR/erl_crash.dump"
}

# rmq_run TOOL ARGS...: run a RabbitMQ CLI tool from /usr/lib/rabbitmq/bin
# (not the /usr/sbin wrappers: they switch to the rabbitmq user, whose HOME
# and cookie differ) with this profile's environment. Bounded in time so that
# a wedged node cannot hang the caller forever.
rmq_run() {
    local tool=$1; shift
    (rmq_export_env; cd "$RMQ_BIN" && timeout $((RMQ_START_TIMEOUT + 30)) "./$tool" "$@")
}

rmqctl() { rmq_run rabbitmqctl -n "$RMQ_NODE" "$@"; }

# The broker's beam pid, if the pid file names a live beam process.
rmq_pid() {
    local pid
    pid=$(cat "$RMQ_PID_FILE" 2>/dev/null || true)
    if pid_alive "$pid" && grep -q beam "/proc/$pid/comm" 2>/dev/null; then
        echo "$pid"
    fi
}

# The rabbitmq-server shell wrapper's pid, if still alive (checked against its
# command line, so a stale pid file reused by another process is ignored).
rmq_launcher_pid() {
    local pid
    pid=$(cat "$RMQ_LAUNCHER_PID_FILE" 2>/dev/null || true)
    if pid_alive "$pid" && tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | grep -q rabbitmq-server; then
        echo "$pid"
    fi
}

rmq_write_config() {
    mkdir -p "$RMQ_DIR/home" "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
    # The HOME holds the Erlang cookie, which Erlang wants private.
    chmod 700 "$RMQ_DIR/home"
    # Only rabbitmq_prometheus (queue depth, consumers, the broker's health for
    # deploy/prometheus and the dashboard); no management UI: faster start, fewer ports.
    echo '[rabbitmq_prometheus].' > "$RMQ_DIR/enabled_plugins"
    : > "$RMQ_DIR/rabbitmq-env.conf"
    # Listener address and port come from RABBITMQ_NODE_IP_ADDRESS/_PORT.
    # guest/guest stays restricted to loopback (the default), which is all we
    # need. Low disk and memory alarms block publishers: keep the disk limit
    # small so a full-ish CI disk does not stall the tests.
    cat > "$RMQ_DIR/rabbitmq.conf" <<EOF
# Generated by scripts/stack; rewritten on every start.
vm_memory_high_watermark.relative = 0.4
disk_free_limit.absolute = 50MB
prometheus.tcp.ip = 127.0.0.1
prometheus.tcp.port = $RMQ_METRICS_PORT
EOF
}

rmq_fail() {
    say "RabbitMQ ($RMQ_NODE) failed: $*"
    local f
    for f in "$RMQ_OUT" "$RMQ_LOG"; do
        if [ -s "$f" ]; then
            echo "---- last 40 lines of $f" >&2
            tail -n 40 "$f" >&2
        fi
    done
    exit 1
}

start_rabbitmq() {
    local pid t0 deadline
    t0=$(now_ms)
    # A live launcher without a live beam is a start still booting (or hung):
    # wait for it below rather than starting a second node with the same name.
    pid=$(rmq_pid)
    [ -n "$pid" ] || pid=$(rmq_launcher_pid)
    if [ -z "$pid" ] && port_open "$RMQ_PORT"; then
        die "port $RMQ_PORT is already in use by another process (not $RMQ_NODE); stop it or set ATTACHE_STACK_AMQP_PORT"
    fi

    if [ -n "$pid" ] && port_open "$RMQ_PORT"; then
        say "RabbitMQ $RMQ_NODE already running (pid $pid) on 127.0.0.1:$RMQ_PORT"
        return 0
    fi

    if [ -z "$pid" ]; then
        rmq_write_config
        rm -f "$RMQ_PID_FILE"
        say "starting RabbitMQ $RMQ_NODE on 127.0.0.1:$RMQ_PORT"
        echo "==== $(date -Is) start" >> "$RMQ_OUT"
        # Its cwd is the state dir so stray files land there.
        (
            rmq_export_env
            start_detached "$RMQ_LAUNCHER_PID_FILE" "$RMQ_OUT" "$RMQ_DIR" "$RMQ_BIN/rabbitmq-server"
        )
    fi

    # Wait for the AMQP port, watching that the server did not die meanwhile.
    deadline=$((SECONDS + RMQ_START_TIMEOUT))
    until port_open "$RMQ_PORT"; do
        if [ -z "$(rmq_launcher_pid)" ] && [ -z "$(rmq_pid)" ]; then
            rmq_fail "the server process exited during startup"
        fi
        [ "$SECONDS" -lt "$deadline" ] || rmq_fail "port $RMQ_PORT did not open within ${RMQ_START_TIMEOUT}s"
        sleep 0.2
    done
    # The port opens before the boot finishes (e.g. before quorum queues are
    # recovered): await_startup waits for the full boot.
    rmqctl await_startup --timeout "$RMQ_START_TIMEOUT" > /dev/null 2>&1 \
        || rmq_fail "rabbitmqctl await_startup failed"
    say "RabbitMQ $RMQ_NODE up (pid $(rmq_pid)) on 127.0.0.1:$RMQ_PORT in $(( $(now_ms) - t0 )) ms"
}

stop_rabbitmq() {
    local pid launcher t0 p
    t0=$(now_ms)
    pid=$(rmq_pid)
    launcher=$(rmq_launcher_pid)
    if [ -z "$pid" ] && [ -z "$launcher" ]; then
        say "RabbitMQ $RMQ_NODE not running"
        rm -f "$RMQ_PID_FILE" "$RMQ_LAUNCHER_PID_FILE"
        return 0
    fi

    say "stopping RabbitMQ $RMQ_NODE"
    # `shutdown` stops the node and waits for its OS process to exit.
    if [ -n "$pid" ] && rmqctl shutdown > /dev/null 2>&1; then
        :
    else
        # The CLI could not reach the node (e.g. still booting, or wedged):
        # SIGTERM to the beam is a clean shutdown too; SIGKILL as last resort.
        warn "rabbitmqctl shutdown failed; sending SIGTERM"
        for p in $pid $launcher; do kill -TERM "$p" 2>/dev/null || true; done
        for _ in $(seq 1 150); do
            pid_alive "$pid" || pid_alive "$launcher" || break
            sleep 0.1
        done
        for p in $pid $launcher; do
            if pid_alive "$p"; then
                warn "pid $p still alive after 15 s; sending SIGKILL"
                kill -KILL "$p" 2>/dev/null || true
            fi
        done
    fi
    # The launcher shell exits right after the beam; wait for it briefly so
    # that a following start does not mistake it for a live server.
    for _ in $(seq 1 50); do
        pid_alive "$launcher" || break
        sleep 0.1
    done
    rm -f "$RMQ_PID_FILE" "$RMQ_LAUNCHER_PID_FILE"
    say "RabbitMQ $RMQ_NODE stopped in $(( $(now_ms) - t0 )) ms"
}

# True if any Erlang VM runs on the machine (a node still booting registers
# with epmd only after a moment; CLI tools are Erlang VMs too).
erlang_vm_running() {
    local f
    for f in /proc/[0-9]*/comm; do
        if [ "$(cat "$f" 2>/dev/null)" = beam.smp ]; then
            f=${f#/proc/}
            pid_alive "${f%/comm}" && return 0
        fi
    done
    return 1
}

# epmd (Erlang's port mapper, port 4369) is started on demand by the first
# Erlang node and outlives it. It is shared by all profiles (and anything else
# Erlang on the machine), so stop it only when no node is registered any more
# and no Erlang VM is left that could be about to register.
stop_epmd_if_unused() {
    local names
    names=$(epmd -names 2>/dev/null) || return 0 # not running
    if printf '%s\n' "$names" | grep -q '^name '; then
        say "epmd left running: other nodes still registered ($(printf '%s\n' "$names" | awk '/^name /{print $2}' | paste -sd ' '))"
        return 0
    fi
    if erlang_vm_running; then
        say "epmd left running: another Erlang VM is running"
        return 0
    fi
    epmd -kill > /dev/null 2>&1 || true
}

rabbitmq_status() {
    local pid
    pid=$(rmq_pid)
    if [ -n "$pid" ] && port_open "$RMQ_PORT"; then
        echo "rabbitmq   $RMQ_NODE: running (pid $pid) amqp://127.0.0.1:$RMQ_PORT"
    elif [ -n "$pid" ] || [ -n "$(rmq_launcher_pid)" ]; then
        echo "rabbitmq   $RMQ_NODE: starting or unhealthy (pid ${pid:-$(rmq_launcher_pid)}), port $RMQ_PORT closed"
        return 1
    else
        echo "rabbitmq   $RMQ_NODE: stopped"
        return 1
    fi
}
# ------------------------------------------------------------------ cluster --
# A three-node cluster for fault tests (scripts/chaos): node N (1-3) listens for
# AMQP on PORT + 10*(N-1), its Erlang distribution on that + 20000, its state in
# STATE/cluster/nN. The nodes share one Erlang cookie (written into each node's
# HOME before it starts), and nodes 2 and 3 join node 1 on their first start;
# later starts find the cluster in their own data. Queues declared as quorum
# queues once the three have joined get a replica on every node.

RMQ_CLUSTER_SIZE=3

# rabbitmq_cluster_configure PROFILE STATE PORT DEFAULT_PORT: remembers the
# cluster's base settings; rmq_cluster_node N then points the RMQ_* variables
# (as rabbitmq_configure does) at node N.
rabbitmq_cluster_configure() {
    RMQC_PROFILE=$1
    RMQC_STATE="$2/cluster"
    RMQC_PORT=$3
    RMQC_DEFAULT_PORT=$4
}

rmq_cluster_node() {
    local n=$1
    rabbitmq_configure "$RMQC_PROFILE-n$n" "$RMQC_STATE/n$n" $((RMQC_PORT + 10 * (n - 1))) \
        $((RMQC_DEFAULT_PORT + 10 * (n - 1)))
}

rmq_cluster_check_node() {
    case "$1" in
        [1-3]) ;;
        *) die "no node '$1': the cluster's nodes are 1, 2 and 3" ;;
    esac
}

# The cookie every node shares, made once per cluster state folder (before the
# nodes start side by side: made by each, they would differ and never join).
rmq_cluster_make_cookie() {
    mkdir -p "$RMQC_STATE"
    if [ ! -s "$RMQC_STATE/erlang.cookie" ]; then
        (umask 077; head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$RMQC_STATE/erlang.cookie")
    fi
}

# Copies the shared cookie into the current node's HOME.
rmq_cluster_cookie() {
    mkdir -p "$RMQ_DIR/home"
    chmod 700 "$RMQ_DIR/home"
    rm -f "$RMQ_DIR/home/.erlang.cookie"
    cp "$RMQC_STATE/erlang.cookie" "$RMQ_DIR/home/.erlang.cookie"
    chmod 400 "$RMQ_DIR/home/.erlang.cookie"
}

# start_rabbitmq_cluster [N...]: starts the given nodes (default: all three) at
# once (a node restarted after the whole cluster stopped waits for its peers,
# so they must boot side by side), then joins any node not joined yet to node 1.
start_rabbitmq_cluster() {
    local nodes=("$@") n pids=() rc=0 first
    [ ${#nodes[@]} -gt 0 ] || nodes=(1 2 3)
    rmq_cluster_make_cookie
    for n in "${nodes[@]}"; do
        rmq_cluster_check_node "$n"
        (rmq_cluster_node "$n"; rmq_cluster_cookie; start_rabbitmq) &
        pids+=($!)
    done
    for n in "${pids[@]}"; do wait "$n" || rc=1; done
    [ "$rc" = 0 ] || die "a cluster node did not start (logs under $RMQC_STATE)"
    rmq_cluster_node 1
    first=$RMQ_NODE
    for n in "${nodes[@]}"; do
        [ "$n" = 1 ] && continue
        [ -f "$RMQC_STATE/n$n/joined" ] && continue
        rmq_cluster_node "$n"
        say "joining $RMQ_NODE to $first"
        rmqctl stop_app > /dev/null || rmq_fail "stop_app before joining failed"
        rmqctl join_cluster "$first" >&2 || rmq_fail "join_cluster $first failed"
        rmqctl start_app > /dev/null || rmq_fail "start_app after joining failed"
        rmqctl await_startup --timeout "$RMQ_START_TIMEOUT" > /dev/null || rmq_fail "await_startup after joining failed"
        touch "$RMQC_STATE/n$n/joined"
    done
    rmq_cluster_node 1
    if [ ! -f "$RMQC_STATE/n1/joined" ]; then touch "$RMQC_STATE/n1/joined"; fi
    say "cluster up: $(rmqctl eval 'length(rabbit_nodes:all_running()).' 2>/dev/null || echo '?') of $RMQ_CLUSTER_SIZE nodes running"
}

# stop_rabbitmq_cluster [N...]: stops the given nodes (default: all) cleanly,
# side by side (each shutdown takes seconds; they start side by side again too).
stop_rabbitmq_cluster() {
    local nodes=("$@") n pids=()
    [ ${#nodes[@]} -gt 0 ] || nodes=(3 2 1)
    for n in "${nodes[@]}"; do
        rmq_cluster_check_node "$n"
        (rmq_cluster_node "$n"; stop_rabbitmq) &
        pids+=($!)
    done
    for n in "${pids[@]}"; do wait "$n" || true; done
}

# kill_rabbitmq_node N: SIGKILL to node N's Erlang VM, as a crashed machine.
kill_rabbitmq_node() {
    local pid launcher
    rmq_cluster_check_node "$1"
    rmq_cluster_node "$1"
    pid=$(rmq_pid)
    launcher=$(rmq_launcher_pid)
    [ -n "$pid" ] || die "node $1 ($RMQ_NODE) is not running"
    say "killing $RMQ_NODE (pid $pid) with SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        pid_alive "$pid" || pid_alive "$launcher" || break
        sleep 0.1
    done
    rm -f "$RMQ_PID_FILE" "$RMQ_LAUNCHER_PID_FILE"
}

rabbitmq_cluster_status() {
    local n rc=0
    for n in 1 2 3; do
        rmq_cluster_node "$n"
        rabbitmq_status || rc=1
    done
    return "$rc"
}

# The clients' broker list: every node, node 1 first.
rabbitmq_cluster_urls() {
    local n urls=()
    for n in 1 2 3; do
        urls+=("amqp://guest:guest@127.0.0.1:$((RMQC_PORT + 10 * (n - 1)))/")
    done
    (IFS=,; echo "${urls[*]}")
}
