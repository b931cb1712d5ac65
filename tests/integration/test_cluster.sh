#!/usr/bin/env bash
# test_cluster.sh - one scheduler and three agents on libvirt's test driver, end to end.
#
# h1 and h2 run on private test-driver node files (test:///ABS/hN.xml, different CPUs, memory
# and domains). h3 runs on the test driver's shared `default` hypervisor inside a real libvirtd
# (a one-host lab from tests/lab/lab.sh, entered by mount namespace only, so the network is
# loopback), because a node file is private to the agent's own connection and nothing could
# start a domain "behind the agent's back" there. Checks: hosts appear with their capacity;
# domains are reported; a domain started behind the agent's back arrives by lifecycle event in
# under a second (h3's periodic report is 60 s, so only the event can deliver it); a killed
# agent's host goes suspect then down; a restarted agent re-registers with generation + 1 and
# leaves domains untouched; a SIGKILLed scheduler recovers hosts, generations and VMs from
# SQLite; bad configuration is refused with a clear message.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/testing.sh"
. "$here/../lib/cluster.sh"
: "${VMSCHED_BIN:?set VMSCHED_BIN to the directory with the built programs}"

export CLUSTER_DIR=$(mktemp -d /tmp/vmsched-it.XXXXXX)
# CLUSTER_PORT and LAB_NAME may be given, so that two runs on one machine do not collide.
export CLUSTER_PORT=${CLUSTER_PORT:-17100} CLUSTER_HEARTBEAT_MS=200 CLUSTER_SUSPECT_MS=1000
export CLUSTER_DOWN_MS=3000
export LAB_NAME=${LAB_NAME:-vmit} LAB_DIR="$CLUSTER_DIR/lab"
. "$here/../lab/lab.sh"

cleanup() {
    cluster_stop
    lab_down > /dev/null 2>&1
    rm -rf "$CLUSTER_DIR"
}
trap cleanup EXIT

# in_h3 CMD... - run CMD in h3's mount namespace (its libvirtd), on the root network.
in_h3() { nsenter -t "$(lab_host_pid 1)" -m -- "$@"; }

h3_virsh() { in_h3 virsh -q -c test+unix:///default "$@"; }

field() {   # field HOST JQ-FIELD - a field of a host from `host list -o json`
    ctl -o json host list 2>/dev/null | jq -r --arg n "$1" ".hosts[] | select(.name == \$n) | $2"
}

vm_state() {    # vm_state NAME - the VM's state in the scheduler, or nothing
    ctl -o json vm list 2>/dev/null | jq -r --arg n "$1" '.vms[] | select(.name == $n) | .state'
}

dump_logs() {
    echo "--- scheduler.log"; tail -n 30 "$CLUSTER_DIR/scheduler.log"
    for h in h1 h2 h3; do echo "--- $h/agent.log"; tail -n 15 "$CLUSTER_DIR/$h/agent.log"; done
}

# ---------------------------------------------------------------------------------------
# Set-up

lab_prepare > "$CLUSTER_DIR/lab-prepare.log" 2>&1 || { fail lab-prepare "see lab_prepare output"; cat "$CLUSTER_DIR/lab-prepare.log"; testing_done; }
lab_up 1 > "$CLUSTER_DIR/lab-up.log" 2>&1 || { fail lab-up "cannot start the libvirtd for h3"; cat "$CLUSTER_DIR/lab-up.log"; testing_done; }

cluster_node_xml "$CLUSTER_DIR/h1.xml" 8 16384 web-1:2048:running web-2:1024:running db-1:4096:shutoff
cluster_node_xml "$CLUSTER_DIR/h2.xml" 16 32768 app-1:4096:running
cluster_scheduler_conf
cluster_agent_conf h1 "test://$CLUSTER_DIR/h1.xml"
cluster_agent_conf h2 "test://$CLUSTER_DIR/h2.xml"
CLUSTER_REPORT_MS=60000 cluster_agent_conf h3 "test+unix:///default" 4 8192

# libvirtd frees the shared test:///default hypervisor when its last connection closes; a
# standing virsh connection keeps it alive while h3's agent restarts, as a real host would.
cluster_spawn holder "$CLUSTER_DIR/holder.log" nsenter -t "$(lab_host_pid 1)" -m -- \
    virsh -c test+unix:///default event --loop --all > /dev/null
cluster_start_scheduler
cluster_start_agent h1
cluster_start_agent h2
cluster_allow_host h3
cluster_spawn agent-h3 "$CLUSTER_DIR/h3/agent.log" \
    nsenter -t "$(lab_host_pid 1)" -m -- "$VMSCHED_BIN/vmsched-agent" -c "$CLUSTER_DIR/h3/agent.conf" > /dev/null

# ---------------------------------------------------------------------------------------
# Hosts appear with their own capacity

if cluster_wait 15 cluster_hosts_up 3; then
    pass hosts-appear
else
    fail hosts-appear "3 hosts not up within 15 s: $(ctl host list 2>&1)"
    dump_logs
    testing_done
fi
check capacity-h1 "h1 should have 8 cpus / 16384 MiB" \
    test "$(field h1 '"\(.cpus)/\(.memory_mib)"')" = "8/16384"
check capacity-h2 "h2 should have 16 cpus / 32768 MiB" \
    test "$(field h2 '"\(.cpus)/\(.memory_mib)"')" = "16/32768"
check capacity-override "h3's configured capacity should replace the driver's" \
    test "$(field h3 '"\(.cpus)/\(.memory_mib)"')" = "4/8192"
check generation-1 "a first registration has generation 1" \
    test "$(field h1 .generation)" = 1

all_reported() {
    [ "$(vm_state web-1)" = running ] && [ "$(vm_state db-1)" = shutoff ] \
        && [ "$(vm_state app-1)" = running ]
}
check domains-reported "web-1 running, db-1 shutoff and app-1 running expected: $(ctl vm list 2>&1)" \
    cluster_wait 10 all_reported
check vm-host "web-1 should be on h1" \
    test "$(ctl -o json vm show web-1 | jq -r .host)" = h1

# ---------------------------------------------------------------------------------------
# A domain started behind the agent's back arrives through a lifecycle event

cat > "$CLUSTER_DIR/sneaky.xml" <<XML
<domain type='test'><name>sneaky</name><uuid>$(cluster_uuid_of sneaky)</uuid>
  <memory>524288</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>
XML
seen_running() { [ "$(vm_state sneaky)" = running ]; }
started=$(now_ms)
h3_virsh create "$CLUSTER_DIR/sneaky.xml" > /dev/null || fail event-start "virsh create failed"
if cluster_wait 5 seen_running; then
    latency=$(( $(now_ms) - started ))
    if [ "$latency" -lt 1000 ]; then
        pass event-start "${latency} ms from virsh create to clusterctl"
    else
        fail event-start "took ${latency} ms (must be under 1000 ms: the event path is broken)"
    fi
else
    fail event-start "sneaky never showed up as running"
    dump_logs
fi
check event-host "sneaky should be on h3" test "$(ctl -o json vm show sneaky | jq -r .host)" = h3

started=$(now_ms)
h3_virsh destroy sneaky > /dev/null
gone() { [ -z "$(vm_state sneaky)" ]; }
if cluster_wait 5 gone; then
    pass event-stop "$(( $(now_ms) - started )) ms until the transient domain was gone"
else
    fail event-stop "sneaky still listed as '$(vm_state sneaky)' after destroy"
fi

# ---------------------------------------------------------------------------------------
# A killed agent: suspect, then down; restarted: generation + 1, domains untouched

gen_before=$(field h2 .generation)
cluster_kill agent-h2 KILL
killed=$(now_ms)
states=""
while [ $(( $(now_ms) - killed )) -lt 8000 ]; do
    s=$(field h2 .state)
    case "$states" in *"$s") ;; *) states="$states $s" ;; esac
    [ "$s" = down ] && break
    sleep 0.05
done
check agent-killed-suspect-down "expected ' up suspect down' or ' suspect down', saw '$states'" \
    grep -qxE ' (up )?suspect down' <<< "$states"
history=$(ctl -o json host show h2 | jq -r '.history[] | "\(.from)->\(.to)"' | tr '\n' ' ')
check history-recorded "host show h2 should list up->suspect and suspect->down, got: $history" \
    grep -qF 'up->suspect suspect->down' <<< "$history"

cluster_start_agent h2
back_up() { [ "$(field h2 .state)" = up ]; }
if cluster_wait 10 back_up; then
    check agent-reregistered "generation should be $((gen_before + 1)), is $(field h2 .generation)" \
        test "$(field h2 .generation)" = "$((gen_before + 1))"
else
    fail agent-reregistered "h2 not up again within 10 s"
fi
check same-identity "a restarted agent must keep its host id (still 3 hosts)" \
    test "$(ctl -o json status | jq .hosts.total)" = 3

h3_virsh create "$CLUSTER_DIR/sneaky.xml" > /dev/null
cluster_wait 5 seen_running
cluster_kill agent-h3 TERM
check agent-restart-keeps-vms "sneaky must still run after the agent stopped" \
    grep -q running <<< "$(h3_virsh domstate sneaky)"
gen3=$(field h3 .generation)
cluster_spawn agent-h3 "$CLUSTER_DIR/h3/agent.log" \
    nsenter -t "$(lab_host_pid 1)" -m -- "$VMSCHED_BIN/vmsched-agent" -c "$CLUSTER_DIR/h3/agent.conf" > /dev/null
h3_up() { [ "$(field h3 .state)" = up ] && [ "$(field h3 .generation)" = $((gen3 + 1)) ]; }
cluster_wait 10 h3_up
sleep 0.5   # the full report follows the WELCOME at once; give it time to land
check agent-restart-resync "h3 back up (generation $((gen3 + 1))) with sneaky running per its new report" \
    test "$(field h3 .generation)/$(vm_state sneaky)" = "$((gen3 + 1))/running"

# ---------------------------------------------------------------------------------------
# A SIGKILLed scheduler recovers its state from SQLite

cluster_wait 5 cluster_hosts_up 3
before=$(ctl -o json host list | jq -c '[.hosts[] | {name, id, generation}]')
vms_before=$(ctl -o json vm list | jq -c '[.vms[] | {name, uuid, host, state}]')
epoch_before=$(ctl -o json status | jq .scheduler.epoch)
cluster_kill scheduler KILL
cluster_start_scheduler
answering() { ctl status > /dev/null 2>&1; }
cluster_wait 10 answering
after=$(ctl -o json host list | jq -c '[.hosts[] | {name, id, generation}]')
vms_after=$(ctl -o json vm list | jq -c '[.vms[] | {name, uuid, host, state}]')
check scheduler-recovers-hosts "hosts before: $before after: $after" test "$before" = "$after"
check scheduler-recovers-vms "vms before: $vms_before after: $vms_after" test "$vms_before" = "$vms_after"
check scheduler-new-epoch "epoch should be $((epoch_before + 1))" \
    test "$(ctl -o json status | jq .scheduler.epoch)" = "$((epoch_before + 1))"
check agents-continue "all 3 hosts up again after the scheduler restart" cluster_wait 10 cluster_hosts_up 3
check generations-kept "agents continue without re-registering" \
    test "$(ctl -o json host list | jq -c '[.hosts[] | {name, id, generation}]')" = "$before"

# ---------------------------------------------------------------------------------------
# A cluster-managed VM on the test driver: placed, started by an agent's worker, stopped,
# deleted

cat > "$CLUSTER_DIR/m-1.xml" <<XML
<domain type='test'><name>m-1</name><memory unit='MiB'>1024</memory><vcpu>1</vcpu>
  <os><type>hvm</type></os></domain>
XML
ctl vm create m-1 --xml "$CLUSTER_DIR/m-1.xml" > /dev/null || fail managed-create "vm create m-1 failed"
if ctl vm start m-1 > "$CLUSTER_DIR/m-1.out" 2>&1; then
    pass managed-start "m-1 running on $(ctl -o json vm show m-1 | jq -r .host)"
else
    fail managed-start "$(cat "$CLUSTER_DIR/m-1.out")"
fi
check managed-stop "vm stop m-1 should end with m-1 shut off" ctl vm stop m-1
check managed-delete "vm delete m-1 should forget it" ctl vm delete m-1
check managed-gone "m-1 should be gone from vm list" \
    test "$(ctl -o json vm list | jq '[.vms[] | select(.name == "m-1")] | length')" = 0

# ---------------------------------------------------------------------------------------
# Bad configuration and bad usage

printf '[scheduler]\nheartbeat_ms = fast\n' > "$CLUSTER_DIR/bad.conf"
out=$("$VMSCHED_BIN/vmsched-scheduler" -c "$CLUSTER_DIR/bad.conf" 2>&1); rc=$?
check bad-config "exit 1 with file, line and expectation; got $rc: $out" \
    exited_with "$rc" 1 "$out" "bad.conf" "line 2" "heartbeat_ms"
out=$("$VMSCHED_BIN/vmsched-scheduler" -c "$CLUSTER_DIR/missing.conf" 2>&1); rc=$?
check missing-config "exit 1 naming the missing file; got $rc: $out" \
    exited_with "$rc" 1 "$out" "missing.conf"
sed "s|^secret_key = .*|secret_key = $CLUSTER_DIR/none.key_secret|; s|^database = .*|database = $CLUSTER_DIR/other.db|" \
    "$CLUSTER_DIR/scheduler.conf" > "$CLUSTER_DIR/nokey.conf"
out=$("$VMSCHED_BIN/vmsched-scheduler" -c "$CLUSTER_DIR/nokey.conf" 2>&1); rc=$?
check missing-key "a missing secret key stops the scheduler with exit 1 naming it; got $rc: $out" \
    exited_with "$rc" 1 "$out" "none.key_secret" "--keygen"
"$VMSCHED_BIN/vmsched-scheduler" --keygen "$CLUSTER_DIR/open.key" > /dev/null
chmod 644 "$CLUSTER_DIR/open.key_secret"
sed -i "s|^secret_key = .*|secret_key = $CLUSTER_DIR/open.key_secret|" "$CLUSTER_DIR/nokey.conf"
out=$("$VMSCHED_BIN/vmsched-scheduler" -c "$CLUSTER_DIR/nokey.conf" 2>&1); rc=$?
check open-key "a world-readable secret key is refused with the chmod to run; got $rc: $out" \
    exited_with "$rc" 1 "$out" "chmod 600"
"$VMSCHED_BIN/clusterctl" keygen "$CLUSTER_DIR/stranger.key" > /dev/null
printf '[clusterctl]\nsecret_key = %s\nscheduler_key = %s\n' "$CLUSTER_DIR/stranger.key_secret" \
    "$CLUSTER_DIR/keys/scheduler.key" > "$CLUSTER_DIR/stranger.conf"
out=$($CLUSTER_EXEC "$VMSCHED_BIN/clusterctl" -c "$CLUSTER_DIR/stranger.conf" \
      -s "tcp://$CLUSTER_ADDR:$((CLUSTER_PORT + 1))" status 2>&1); rc=$?
check unknown-key "an unknown operator key is refused (exit 1, 'refused this key'); got $rc: $out" \
    exited_with "$rc" 1 "$out" "refused this key"

ctl host show no-such-host > /dev/null 2>&1; rc=$?
check ctl-refused "host show of an unknown host exits 1, got $rc" test "$rc" = 1
ctl frobnicate > /dev/null 2>&1; rc=$?
check ctl-usage "an unknown verb exits 2, got $rc" test "$rc" = 2

check daemons-alive "scheduler should still be running" kill -0 "$(cluster_pid scheduler)"

testing_done
