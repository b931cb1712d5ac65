#!/usr/bin/env bash
# test_placement_lab.sh - cluster-managed VMs on three real libvirtd hosts.
#
# Everything through clusterctl, checked against what the hosts' libvirtd really run:
# create and start VMs (spread placement), an anti-affinity rule respected and a conflicting
# rule refused, a must rule, a VM that fits nowhere with a correct `vm why`, live migration
# chosen by the engine and to a named host (one running copy afterwards), a non-migratable
# VM refused, maintenance that empties a host, stop, delete, and cluster autostart: a VM
# killed behind the scheduler's back while it is down is started again when it comes back.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/testing.sh"
. "$here/../lib/cluster.sh"
: "${VMSCHED_BIN:?set VMSCHED_BIN to the directory with the built programs}"

export LAB_NAME=vpl LAB_DIR=$(mktemp -d /tmp/vmsched-lab.XXXXXX)
. "$here/lab.sh"
export CLUSTER_DIR="$LAB_DIR/cluster" CLUSTER_PORT=7100 CLUSTER_ADDR=$(lab_ip 254)
export CLUSTER_EXEC="ip netns exec $(lab_ctl_ns)"
export CLUSTER_HEARTBEAT_MS=200 CLUSTER_SUSPECT_MS=1500 CLUSTER_DOWN_MS=4000
mkdir -p "$CLUSTER_DIR"

cleanup() {
    cluster_stop
    lab_down > /dev/null 2>&1
}
trap cleanup EXIT

vm_field() { ctl -o json vm show "$1" 2>/dev/null | jq -r "$2"; }
on_host() { vm_field "$1" .host; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
runs_on() { lab_virsh "$2" domstate "$1" 2>/dev/null | grep -q running; }
running() { [ "$(vm_field "$1" .state)" = running ]; }

dump_logs() {
    echo "--- scheduler.log"; tail -n 30 "$CLUSTER_DIR/scheduler.log"
    for h in h1 h2 h3; do echo "--- $h/agent.log"; tail -n 10 "$CLUSTER_DIR/$h/agent.log"; done
}

# xml NAME [MIB] - a tiny domain definition file, printed path.
xml() {
    lab_tiny_xml "$1" "${2:-32}" > "$CLUSTER_DIR/$1.xml"
    echo "$CLUSTER_DIR/$1.xml"
}

# ---------------------------------------------------------------------------------------
# Set-up: three hosts offering 2 CPUs and 512 MiB each, agents inside them

if ! lab_prepare || ! lab_up 3; then fail lab "the lab did not come up (see above)"; testing_done; fi
cluster_scheduler_conf
cluster_start_scheduler
for i in 1 2 3; do
    CLUSTER_WITNESS_ADDR=$(lab_ip "$i") cluster_agent_conf "h$i" "qemu:///system" 2 512 "qemu+tcp://$(lab_ip "$i")/system"
    cluster_allow_host "h$i" || fail allow "cannot allow h$i's key"
    pid=$(lab_spawn "$i" "$CLUSTER_DIR/h$i/agent.log" \
          "$VMSCHED_BIN/vmsched-agent" -c "$CLUSTER_DIR/h$i/agent.conf") \
        && echo "agent-h$i $pid" >> "$CLUSTER_DIR/pids"
done
if ! cluster_wait 20 cluster_hosts_up 3; then
    fail hosts-up "3 hosts not up: $(ctl host list 2>&1)"; dump_logs; testing_done
fi

# ---------------------------------------------------------------------------------------
# Create, rules, start

ctl vm create web-1 --xml "$(xml web-1)" > /dev/null && ctl vm create web-2 --xml "$(xml web-2)" > /dev/null \
    && ctl vm create db-1 --xml "$(xml db-1)" --priority 10 > /dev/null \
    || fail create "vm create failed"
check create-stored "three managed vms, stopped" \
    test "$(ctl -o json vm list | jq '[.vms[] | select(.managed and .want == "stopped")] | length')" = 3

out=$(ctl vm create bad --xml /dev/null 2>&1); rc=$?
check create-bad-xml "empty XML refused with exit 1 and a reason, got $rc: $out" \
    exited_with "$rc" 1 "$out" "not valid XML"
printf "<domain type='qemu'><name>other</name><memory>32768</memory><vcpu>1</vcpu></domain>" > "$CLUSTER_DIR/other.xml"
out=$(ctl vm create mismatch --xml "$CLUSTER_DIR/other.xml" 2>&1); rc=$?
check create-name-mismatch "XML naming another domain refused, got $rc: $out" \
    exited_with "$rc" 1 "$out" "names the domain 'other'"
check nothing-half-stored "refused creations leave nothing behind" \
    test "$(ctl -o json vm list | jq '.vms | length')" = 3

ctl rule add web-spread anti-affinity web-1 web-2 > /dev/null || fail rule-add "anti-affinity rule refused"
out=$(ctl rule add web-together affinity web-1 web-2 2>&1); rc=$?
check rule-conflict "a contradicting affinity rule must be refused naming web-spread, got $rc: $out" \
    exited_with "$rc" 1 "$out" "web-spread"
ctl rule add pin-db must db-1 --hosts h3 > /dev/null || fail rule-must "must rule refused"
check rule-list "rule list shows two rules" test "$(ctl -o json rule list | jq '.rules | length')" = 2

t=$(date +%s%N)
for vm in db-1 web-1 web-2; do
    ctl vm start "$vm" > "$CLUSTER_DIR/start-$vm.out" 2>&1 || fail "start-$vm" "$(cat "$CLUSTER_DIR/start-$vm.out")"
done
pass start-three "$(ms_since "$t") ms for three 'vm start' until running"
check must-rule "db-1 must run on h3, runs on $(on_host db-1)" test "$(on_host db-1)" = h3
check anti-affinity "web-1 and web-2 must be apart: $(on_host web-1) / $(on_host web-2)" \
    test "$(on_host web-1)" != "$(on_host web-2)"
for vm in db-1 web-1 web-2; do
    h=$(on_host "$vm")
    check "really-running-$vm" "libvirtd of $h should run $vm" runs_on "$vm" "${h#h}"
done

# ---------------------------------------------------------------------------------------
# A VM that fits nowhere, and why

ctl vm create big-1 --xml "$(xml big-1 8192)" > /dev/null
out=$(ctl vm start big-1 2>&1); rc=$?
check fits-nowhere "vm start of a too large vm exits 1 with the reason, got $rc: $out" \
    exited_with "$rc" 1 "$out" "not enough memory"
why=$(ctl vm why big-1)
check why-per-host "vm why must list every host with 'need 8192 MiB': $why" \
    test "$(ctl -o json vm why big-1 | jq '[.now.verdicts[] | select(.reason | test("not enough memory: need 8192 MiB, free [0-9]+ MiB"))] | length')" = 3
check why-stored "the decision is stored with its reasons" \
    test "$(ctl -o json vm why big-1 | jq -r '.decision.summary' | grep -c 'no host fits')" = 1
ctl vm stop big-1 > /dev/null 2>&1

# ---------------------------------------------------------------------------------------
# Live migration

ctl vm create batch-1 --xml "$(xml batch-1 128)" --start > /dev/null
cluster_wait 10 running batch-1
from=$(on_host batch-1)
t=$(date +%s%N)
if ctl vm migrate batch-1 > "$CLUSTER_DIR/migrate.out" 2>&1; then
    to=$(on_host batch-1)
    pass migrate-engine "$from -> $to in $(ms_since "$t") ms"
else
    fail migrate-engine "$(cat "$CLUSTER_DIR/migrate.out")"; dump_logs
fi
check migrate-moved "batch-1 should have left $from" test "$(on_host batch-1)" != "$from"
check migrate-one-copy "exactly one running copy of batch-1, saw $(lab_running_copies batch-1)" \
    test "$(lab_running_copies batch-1)" = 1
target=$(for h in h1 h2 h3; do [ "$h" != "$(on_host batch-1)" ] && echo "$h"; done | head -1)
if ctl vm migrate batch-1 "$target" > "$CLUSTER_DIR/migrate2.out" 2>&1; then
    check migrate-named "batch-1 should be on $target" test "$(on_host batch-1)" = "$target"
else
    fail migrate-named "$(cat "$CLUSTER_DIR/migrate2.out")"
fi
out=$(ctl vm migrate web-1 "$(on_host web-2)" 2>&1); rc=$?
check migrate-rule "migrating web-1 next to web-2 must be refused by the rule, got $rc: $out" \
    exited_with "$rc" 1 "$out" "web-spread"

# A migration over its timeout is aborted by the source agent; the VM stays where it was.
from=$(on_host batch-1)
t=$(date +%s%N)
out=$(ctl vm migrate batch-1 --migration-timeout 100 2>&1); rc=$?
check migrate-timeout "exit 1 after the abort, got $rc: $out" exited_with "$rc" 1 "$out" "aborted"
check migrate-timeout-stays "batch-1 must still run on $from, is on $(on_host batch-1)" \
    runs_on batch-1 "${from#h}"
check migrate-timeout-one-copy "exactly one running copy of batch-1" \
    test "$(lab_running_copies batch-1)" = 1
pass migrate-timeout-took "$(ms_since "$t") ms until clusterctl reported the abort"

ctl vm create pinned-1 --xml "$(xml pinned-1)" --no-migrate --start > /dev/null
cluster_wait 10 running pinned-1
out=$(ctl vm migrate pinned-1 2>&1); rc=$?
check migrate-refused "a --no-migrate vm is refused with the reason, got $rc: $out" \
    exited_with "$rc" 1 "$out" "non-migratable"
ctl vm delete pinned-1 > /dev/null 2>&1

# ---------------------------------------------------------------------------------------
# Maintenance empties a host

victim=$(on_host batch-1)
before=$(ctl -o json vm list | jq -r --arg h "$victim" '[.vms[] | select(.host == $h and .state == "running")] | length')
t=$(date +%s%N)
if ctl host maintenance enter "$victim" > "$CLUSTER_DIR/maint.out" 2>&1; then
    pass maintenance-enter "$victim emptied of $before vm(s) in $(ms_since "$t") ms"
else
    fail maintenance-enter "$(cat "$CLUSTER_DIR/maint.out")"; dump_logs
fi
check maintenance-empty "libvirtd of $victim must run no domain" \
    test -z "$(lab_virsh "${victim#h}" list --name 2>/dev/null | tr -d '[:space:]')"
check maintenance-flag "host list shows $victim in maintenance" \
    test "$(ctl -o json host show "$victim" | jq .maintenance)" = true
for vm in web-1 web-2 db-1 batch-1; do
    h=$(on_host "$vm")
    [ "$h" = "$victim" ] && fail "maintenance-$vm" "$vm still on $victim"
done
check maintenance-rules-kept "web-1 and web-2 still apart" test "$(on_host web-1)" != "$(on_host web-2)"
ctl host maintenance exit "$victim" > /dev/null
check maintenance-exit "$victim schedulable again" \
    test "$(ctl -o json host show "$victim" | jq .maintenance)" = false

# ---------------------------------------------------------------------------------------
# Autostart: a VM dies while the scheduler is down; the scheduler starts it again

h=$(on_host web-1)
cluster_kill scheduler KILL
lab_virsh "${h#h}" destroy web-1 > /dev/null
cluster_start_scheduler
back() { [ "$(vm_field web-1 .state)" = running ] && [ "$(lab_running_copies web-1)" = 1 ]; }
t=$(date +%s%N)
if cluster_wait 20 back; then
    pass autostart "web-1 running again on $(on_host web-1) $(ms_since "$t") ms after the scheduler restart"
else
    fail autostart "web-1 not restarted: $(vm_field web-1 .reason)"; dump_logs
fi
check autostart-one-copy "exactly one web-1" test "$(lab_running_copies web-1)" = 1

# ---------------------------------------------------------------------------------------
# Autostart after a host comes back: db-1 (must run on h3) waits while h3 is down, never
# starts elsewhere, and is started again on h3 when h3 is back with its agent.

cluster_kill agent-h3 KILL
lab_crash 3
down3() { [ "$(ctl -o json host show h3 | jq -r .state)" = down ]; }
check host-down "h3 should be declared down" cluster_wait 10 down3
stays_off() {   # stays_off VM SECONDS - VM runs on no host at any look during SECONDS
    local until=$(( $(now_ms) + $2 * 1000 ))
    while [ "$(now_ms)" -lt "$until" ]; do
        [ "$(lab_running_copies "$1")" = 0 ] || return 1
        sleep 0.2
    done
}
check waits-for-host "db-1 must not run anywhere while h3 is down (must rule), copies: $(lab_running_copies db-1)" \
    stays_off db-1 3
why=$(vm_field db-1 .reason)
check reason-while-down "db-1's reason should say it waits for h3, is: $why" \
    exited_with 0 0 "$why" "h3"
t=$(date +%s%N)
lab_boot 3 || fail host-boot "h3 did not come back"
pid=$(lab_spawn 3 "$CLUSTER_DIR/h3/agent.log" "$VMSCHED_BIN/vmsched-agent" -c "$CLUSTER_DIR/h3/agent.conf") \
    && echo "agent-h3 $pid" >> "$CLUSTER_DIR/pids"
restarted() { [ "$(vm_field db-1 .state)" = running ] && [ "$(vm_field db-1 .host)" = h3 ] \
              && [ "$(lab_running_copies db-1)" = 1 ]; }
if cluster_wait 30 restarted; then
    pass autostart-host-back "db-1 running on h3 again $(ms_since "$t") ms after h3 was powered on"
else
    fail autostart-host-back "db-1: $(vm_field db-1 .reason)"; dump_logs
fi

# ---------------------------------------------------------------------------------------
# Stop and delete

ctl vm stop web-2 > /dev/null || fail stop "vm stop web-2 failed"
check stopped "web-2 runs nowhere" test "$(lab_running_copies web-2)" = 0
ctl vm delete web-2 > /dev/null || fail delete "vm delete web-2 failed"
check deleted "web-2 gone from vm list" \
    test "$(ctl -o json vm list | jq '[.vms[] | select(.name == "web-2")] | length')" = 0

check scheduler-alive "the scheduler must still run" kill -0 "$(cluster_pid scheduler)"
testing_done
