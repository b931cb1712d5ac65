# tests/lib/cluster.sh - start a scheduler and agents on libvirt's test driver (sourced).
#
# Used by `make demo` (tests/demo.sh) and the integration tests. Every process started here
# is recorded by pid in $CLUSTER_DIR/pids and stopped by cluster_stop, by pid only.
#
# Needs: VMSCHED_BIN (directory with vmsched-scheduler, vmsched-agent, clusterctl) and
# CLUSTER_DIR (a directory owned by the caller). Every connection is CurveZMQ: the
# scheduler's key pair and the operator's (allowed as user 'admin' through admin_key) live in
# $CLUSTER_DIR/keys, each agent's in its own directory, allowed with `clusterctl host add`
# when it is started. Ports: CLUSTER_PORT (default 7100) for agents,
# +1 for clusterctl, on CLUSTER_ADDR (default 127.0.0.1; the lab uses its ctl namespace's
# address and sets CLUSTER_EXEC to the command prefix that enters that namespace).

CLUSTER_PORT=${CLUSTER_PORT:-7100}
CLUSTER_ADDR=${CLUSTER_ADDR:-127.0.0.1}
CLUSTER_EXEC=${CLUSTER_EXEC:-}

# cluster_uuid_of NAME - a stable uuid derived from a name (test-driver domains keep it).
cluster_uuid_of() {
    local h
    h=$(printf '%s' "$1" | md5sum)
    echo "${h:0:8}-${h:8:4}-${h:12:4}-${h:16:4}-${h:20:12}"
}

# cluster_node_xml FILE CPUS MEM_MIB [DOMAIN_NAME:MEM_MIB:STATE ...] - a test-driver node file
# with the given capacity and domains (STATE running or shutoff).
cluster_node_xml() {
    local file=$1 cpus=$2 mem_mib=$3
    shift 3
    {
        echo "<node>"
        echo "  <cpu><mhz>2400</mhz><model>x86_64</model><active>$cpus</active><nodes>1</nodes>"
        echo "       <sockets>1</sockets><cores>$cpus</cores><threads>1</threads></cpu>"
        echo "  <memory>$((mem_mib * 1024))</memory>"
        local spec name mem state
        for spec in "$@"; do
            IFS=: read -r name mem state <<<"$spec"
            echo "  <domain type='test'><name>$name</name><uuid>$(cluster_uuid_of "$name")</uuid>"
            echo "    <memory>$((mem * 1024))</memory>"
            echo "    <vcpu>1</vcpu><os><type>hvm</type></os>"
            [ "$state" = running ] && echo "    <test:runstate xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>1</test:runstate>"
            [ "$state" = shutoff ] && echo "    <test:runstate xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>5</test:runstate>"
            echo "  </domain>"
        done
        echo "</node>"
    } > "$file"
}

# cluster_keys - the scheduler's and the admin's key pairs and clusterctl's settings
# (once per cluster directory).
cluster_keys() {
    local keys="$CLUSTER_DIR/keys"
    [ -f "$keys/scheduler.key" ] && return 0
    mkdir -p "$keys"
    "$VMSCHED_BIN/vmsched-scheduler" --keygen "$keys/scheduler.key" > /dev/null || return 1
    "$VMSCHED_BIN/clusterctl" keygen "$keys/admin.key" > /dev/null || return 1
    cat > "$CLUSTER_DIR/clusterctl.conf" <<CONF
[clusterctl]
secret_key = $keys/admin.key_secret
scheduler_key = $keys/scheduler.key
CONF
}

# cluster_scheduler_conf - writes $CLUSTER_DIR/scheduler.conf (and makes the keys).
cluster_scheduler_conf() {
    cluster_keys || return 1
    cat > "$CLUSTER_DIR/scheduler.conf" <<CONF
[scheduler]
secret_key = $CLUSTER_DIR/keys/scheduler.key_secret
admin_key = $CLUSTER_DIR/keys/admin.key
agent_endpoint = tcp://$CLUSTER_ADDR:$CLUSTER_PORT
ctl_endpoint = tcp://$CLUSTER_ADDR:$((CLUSTER_PORT + 1))
database = $CLUSTER_DIR/vmsched.db
heartbeat_ms = ${CLUSTER_HEARTBEAT_MS:-200}
suspect_after_ms = ${CLUSTER_SUSPECT_MS:-1000}
down_after_ms = ${CLUSTER_DOWN_MS:-3000}
CONF
}

# cluster_agent_conf NAME URI [CPUS MEM_MIB [MIGRATION_URI [WATCHDOG]]] - writes
# $CLUSTER_DIR/NAME/agent.conf and the agent's key pair. Each agent's witness listens on
# $CLUSTER_ADDR (or $CLUSTER_WITNESS_ADDR) at a port of its own above CLUSTER_PORT + 20; an
# agent on libvirt's test driver gets a QEMU run directory of its own (there is no QEMU).
cluster_agent_conf() {
    local name=$1 uri=$2 cpus=${3:-0} mem=${4:-0} migration=${5:-} watchdog=${6:-none}
    local index witness_port run_dir=""
    [ -d "$CLUSTER_DIR/$name" ] || mkdir -p "$CLUSTER_DIR/$name"
    index=$(cat "$CLUSTER_DIR/$name/index" 2>/dev/null) || {
        index=$(find "$CLUSTER_DIR" -maxdepth 2 -name index | wc -l)
        echo "$index" > "$CLUSTER_DIR/$name/index"
    }
    witness_port=$((CLUSTER_PORT + 20 + index))
    case "$uri" in test://*) run_dir="qemu_run_dir = $CLUSTER_DIR/$name/no-qemu" ;; esac
    mkdir -p "$CLUSTER_DIR/$name/state"
    [ -f "$CLUSTER_DIR/$name/agent.key" ] \
        || "$VMSCHED_BIN/vmsched-agent" --keygen "$CLUSTER_DIR/$name/agent.key" > /dev/null
    cat > "$CLUSTER_DIR/$name/agent.conf" <<CONF
[agent]
name = $name
secret_key = $CLUSTER_DIR/$name/agent.key_secret
scheduler_key = $CLUSTER_DIR/keys/scheduler.key
scheduler = tcp://$CLUSTER_ADDR:$CLUSTER_PORT
libvirt_uri = $uri
state_dir = $CLUSTER_DIR/$name/state
heartbeat_ms = ${CLUSTER_HEARTBEAT_MS:-200}
report_ms = ${CLUSTER_REPORT_MS:-2000}
${migration:+migration_uri = $migration}

[capacity]
cpus = $cpus
memory_mib = $mem

[ha]
witness_bind = tcp://${CLUSTER_WITNESS_ADDR:-$CLUSTER_ADDR}:$witness_port
watchdog = $watchdog
$run_dir
CONF
}

# cluster_spawn LABEL LOG CMD... - starts CMD in the background, records and prints its pid.
cluster_spawn() {
    local label=$1 log=$2
    shift 2
    setsid "$@" >>"$log" 2>&1 < /dev/null &
    local pid=$!
    disown "$pid"
    echo "$label $pid" >> "$CLUSTER_DIR/pids"
    echo "$pid"
}

# cluster_pid LABEL - the pid recorded for LABEL (latest).
cluster_pid() {
    awk -v l="$1" '$1 == l { p = $2 } END { print p }' "$CLUSTER_DIR/pids" 2>/dev/null
}

# cluster_start_scheduler - starts the scheduler; log in $CLUSTER_DIR/scheduler.log.
cluster_start_scheduler() {
    cluster_spawn scheduler "$CLUSTER_DIR/scheduler.log" $CLUSTER_EXEC \
        "$VMSCHED_BIN/vmsched-scheduler" -c "$CLUSTER_DIR/scheduler.conf" > /dev/null
}

# cluster_allow_host NAME - allows host NAME's agent key (once; the scheduler must answer).
cluster_allow_host() {
    ctl -o json user list 2>/dev/null | jq -e --arg n "$1" '.hosts[] | select(.name == $n)' \
        > /dev/null && return 0
    cluster_wait 10 ctl status || return 1
    ctl host add "$1" --key "$CLUSTER_DIR/$1/agent.key" > /dev/null
}

# cluster_start_agent NAME - allows and starts the agent configured by cluster_agent_conf NAME.
cluster_start_agent() {
    cluster_allow_host "$1" || return 1
    cluster_spawn "agent-$1" "$CLUSTER_DIR/$1/agent.log" \
        "$VMSCHED_BIN/vmsched-agent" -c "$CLUSTER_DIR/$1/agent.conf" > /dev/null
}

# cluster_start_lab_agent I - starts the agent configured by cluster_agent_conf hI inside lab
# host I (tests/lab/lab.sh must be sourced; the caller allows its key). Recorded as agent-hI.
cluster_start_lab_agent() {
    local pid
    pid=$(lab_spawn "$1" "$CLUSTER_DIR/h$1/agent.log" \
          "$VMSCHED_BIN/vmsched-agent" -c "$CLUSTER_DIR/h$1/agent.conf") || return 1
    echo "agent-h$1 $pid" >> "$CLUSTER_DIR/pids"
}

# cluster_kill LABEL [SIGNAL] - signals the recorded process and waits for it to end.
cluster_kill() {
    local pid
    pid=$(cluster_pid "$1")
    [ -n "$pid" ] || return 0
    kill "-${2:-TERM}" "$pid" 2>/dev/null || return 0
    local i
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null
}

# ctl ARGS... - clusterctl against this cluster.
ctl() {
    $CLUSTER_EXEC "$VMSCHED_BIN/clusterctl" -c "$CLUSTER_DIR/clusterctl.conf" \
        -s "tcp://$CLUSTER_ADDR:$((CLUSTER_PORT + 1))" "$@"
}

# cluster_wait SECONDS CMD... - polls CMD every 50 ms until it succeeds; 1 on timeout.
cluster_wait() {
    local deadline=$(( $(date +%s%N) + $1 * 1000000000 ))
    shift
    until "$@" > /dev/null 2>&1; do
        [ "$(date +%s%N)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

# cluster_host_state NAME - prints the host's state ("up", ...) or nothing.
cluster_host_state() {
    ctl -o json host list 2>/dev/null | jq -r --arg n "$1" '.hosts[] | select(.name == $n) | .state'
}

# cluster_hosts_up N - true when exactly N hosts are up.
cluster_hosts_up() {
    [ "$(ctl -o json status 2>/dev/null | jq -r '.hosts.up')" = "$1" ]
}

# cluster_test_dir PREFIX - for a test without a lab: a fresh CLUSTER_DIR (/tmp/PREFIX.XXXXXX),
# whose recorded processes are stopped and which is removed when the shell exits.
cluster_test_dir() {
    CLUSTER_DIR=$(mktemp -d "/tmp/$1.XXXXXX") || return 1
    export CLUSTER_DIR
    trap 'cluster_stop; rm -rf "$CLUSTER_DIR"' EXIT
}

# cluster_stop - stops every recorded process (TERM, then KILL), newest first.
cluster_stop() {
    [ -f "$CLUSTER_DIR/pids" ] || return 0
    local label pid
    tac "$CLUSTER_DIR/pids" | while read -r label pid; do
        kill -TERM "$pid" 2>/dev/null || true     # already gone is fine (also under set -e)
    done
    sleep 0.2
    tac "$CLUSTER_DIR/pids" | while read -r label pid; do
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    rm -f "$CLUSTER_DIR/pids"
}
