#!/usr/bin/env bash
# test_ha_lab.sh - HA on three real libvirtd hosts: failures, and never two running copies.
#
# The scheduler runs in the lab's ctl namespace, one agent in each host with its witness on
# the host's lab address and a watchdog: the agent pets a file, lab_watchdog (outside the
# host) SIGKILLs the host's init when the file goes W ms without a pet (LAB.md). Each host
# runs HA VMs. The copy counter (lab_copycount: QEMU processes in /proc, mapped to hosts by
# network namespace, about every 50 ms, from outside the hosts) runs for the whole test, and
# the test ends by asserting that no VM ever had two running copies.
#
# Cases, in order (each leaves every host up again):
#   domain-crash one HA VM's QEMU killed on a healthy host: it is started again, once.
#   crash        SIGKILL of everything on a host: its HA VMs run on the other hosts.
#   partition    a host cut off from everyone: its fencer kills its HA VMs, its watchdog
#                resets it, they run elsewhere exactly once; it boots and registers again.
#   sched-only   a host cut off from the scheduler only: nothing restarted, nothing fenced.
#   sched-down   the scheduler killed for longer than L: nothing fenced, nothing restarted.
#   freeze       every process of a host stopped (SIGSTOP): the watchdog resets it, the VMs
#                run elsewhere; thawed, nothing runs twice.
#   agent-kill   only the agent killed: the watchdog resets the host, the VMs run elsewhere
#                once.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/testing.sh"
. "$here/../lib/cluster.sh"
: "${VMSCHED_BIN:?set VMSCHED_BIN to the directory with the built programs}"

export LAB_NAME=vha LAB_NET=10.77.3 LAB_DIR=$(mktemp -d /tmp/vmsched-lab.XXXXXX)
. "$here/lab.sh"
export CLUSTER_DIR="$LAB_DIR/cluster" CLUSTER_PORT=7100 CLUSTER_ADDR=$(lab_ip 254)
export CLUSTER_EXEC="ip netns exec $(lab_ctl_ns)"
export CLUSTER_HEARTBEAT_MS=200 CLUSTER_SUSPECT_MS=1000 CLUSTER_DOWN_MS=3000
WATCHDOG_MS=3000            # W of the default profile
mkdir -p "$CLUSTER_DIR"

cleanup() {
    cluster_stop
    # VMSCHED_KEEP_LOGS=DIR keeps the logs of the run (for a failure's post-mortem).
    [ -z "${VMSCHED_KEEP_LOGS:-}" ] || cp -r "$CLUSTER_DIR" "$VMSCHED_KEEP_LOGS"
    lab_down > /dev/null 2>&1
}
trap cleanup EXIT

vm_host() { ctl -o json vm show "$1" 2>/dev/null | jq -r .host; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
copies() { lab_copies "$1"; }

dump_logs() {
    echo "--- scheduler.log"; tail -n 40 "$CLUSTER_DIR/scheduler.log"
    for h in h1 h2 h3; do echo "--- $h/agent.log"; tail -n 15 "$CLUSTER_DIR/$h/agent.log"; done
}

# revive I - host I boots again after a crash or a watchdog reset, with its agent and a
# fresh watchdog (power cycling resets a hardware watchdog too: the old stand-in, left
# running, would find the old agent's stale pet file and reset the new boot at once).
revive() {
    lab_watchdog_stop "$1"
    lab_boot "$1" && lab_watchdog_start "$1" "$(lab_pet_file "$1")" "$WATCHDOG_MS" \
        && cluster_start_lab_agent "$1"
}

# returns NAME H - checks that host H registers again (40 s); the logs when it does not.
returns() {
    if cluster_wait 40 host_up "$2"; then pass "$1"; else fail "$1" "$2 does not register again"; dump_logs; fi
}

# host_state NAME - the scheduler's state of host NAME.
host_state() { ctl -o json host show "$1" 2>/dev/null | jq -r .state; }
host_up() { [ "$(host_state "$1")" = up ]; }
all_up() { host_up h1 && host_up h2 && host_up h3; }
#  Every host up and heard by this scheduler process within the last second (a scheduler that
#  just started loads them as up before it hears any).
all_heard() {
    all_up && [ "$(ctl -o json host list 2>/dev/null | jq '[.hosts[] | select(.last_seen_ms != null and .last_seen_ms < 1000)] | length')" = 3 ]
}

# ha_vms_on H - the managed VMs the scheduler places on host H.
ha_vms_on() { ctl -o json vm list 2>/dev/null | jq -r --arg h "$1" '.vms[] | select(.managed and .host == $h) | .name'; }

# all_running VM... - the scheduler sees every VM running.
all_running() {
    local vm
    for vm in "$@"; do [ "$(ctl -o json vm show "$vm" 2>/dev/null | jq -r .state)" = running ] || return 1; done
}
has_vms_on() { [ -n "$(ha_vms_on "$1")" ]; }

# runs_elsewhere VM HOST - VM has one running copy, and not on HOST.
runs_elsewhere() {
    local seen
    seen=$(copies "$1")
    [ "${seen%% *}" = 1 ] && [ "$(echo "$seen" | awk '{print $2}')" != "$2" ]
}

# all_run_elsewhere HOST VM... - every VM runs once, none on HOST.
all_run_elsewhere() {
    local host=$1 vm
    shift
    for vm in "$@"; do runs_elsewhere "$vm" "$host" || return 1; done
}

# until_elsewhere T0 HOST VM... - waits (30 s) until every VM (at least one) runs once
# elsewhere; prints the ms since T0 (date +%s%N) or fails.
until_elsewhere() {
    local t0=$1 host=$2 deadline
    shift 2
    [ $# -gt 0 ] || { echo "no HA vm was on $host"; return 1; }
    deadline=$(( $(date +%s) + 30 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if all_run_elsewhere "$host" "$@"; then ms_since "$t0"; return 0; fi
        sleep 0.1
    done
    return 1
}

# nft_drop I PEER_IP... - host I drops its traffic with these addresses only.
nft_drop() {
    local i=$1 set
    shift
    set=$(IFS=,; echo "$*")
    ip netns exec "$(lab_ns "$i")" nft -f - <<NFT
table inet vmsched_lab {
    chain input { type filter hook input priority 0; ip saddr { $set } drop; }
    chain output { type filter hook output priority 0; ip daddr { $set } drop; }
}
NFT
}

# fencer_kills H - how many HA domains the fencer of host H killed (its agent log).
fencer_kills() { grep -c 'fencer: killed HA domain' "$CLUSTER_DIR/$1/agent.log" 2>/dev/null || true; }

# ---------------------------------------------------------------------------------------
# Set-up: three hosts with witnesses and watchdogs, HA VMs on each

if ! lab_prepare || ! lab_up 3; then fail lab "the lab did not come up (see above)"; testing_done; fi
cluster_scheduler_conf
cluster_start_scheduler
for i in 1 2 3; do
    CLUSTER_WITNESS_ADDR=$(lab_ip "$i") cluster_agent_conf "h$i" "qemu:///system" 4 1024 \
        "qemu+tcp://$(lab_ip "$i")/system" "file:$(lab_pet_file "$i")"
    cluster_allow_host "h$i" || fail allow "cannot allow h$i's key"
    cluster_start_lab_agent "$i" || fail agent "cannot start the agent of h$i"
    lab_watchdog_start "$i" "$(lab_pet_file "$i")" "$WATCHDOG_MS" || fail watchdog "h$i"
done
if ! cluster_wait 20 all_up; then
    fail hosts-up "3 hosts not up: $(ctl host list 2>&1)"; dump_logs; testing_done
fi
lab_copycount_start "$CLUSTER_DIR/copies.log" || fail copycount "the copy counter did not start"
#  HA VMs go only to hosts that hold a lease: every host renews its first one within a second.
all_leased() { [ "$(ctl -o json host list 2>/dev/null | jq '[.hosts[] | select(.leased)] | length')" = 3 ]; }
check leased "every host holds a lease before the HA VMs are created" cluster_wait 20 all_leased

VMS=(ha-1 ha-2 ha-3 ha-4 ha-5 ha-6)
for vm in "${VMS[@]}"; do
    lab_tiny_xml "$vm" 32 > "$CLUSTER_DIR/$vm.xml"
    ctl vm create "$vm" --xml "$CLUSTER_DIR/$vm.xml" --ha --start > "$CLUSTER_DIR/create-$vm.out" 2>&1 \
        || fail "create-$vm" "$(cat "$CLUSTER_DIR/create-$vm.out")"
done
check ha-vms-running "six HA VMs run" cluster_wait 20 all_running "${VMS[@]}"
check protected-hosts "every host is protected by its watchdog" \
    test "$(ctl -o json status | jq '.ha.unprotected_hosts | length')" = 0

# ---------------------------------------------------------------------------------------
# one domain crashes on a healthy host (its QEMU killed): started again, once

victim=ha-1
on=$(vm_host "$victim")
qemu_pid=$(lab_exec "${on#h}" cat "/run/libvirt/qemu/$victim.pid" 2>/dev/null)
t0=$(date +%s%N)
if [ -n "$qemu_pid" ] && lab_exec "${on#h}" kill -KILL "$qemu_pid"; then
    gone="vm '$victim': no longer seen on host '$on'"
    check domain-crash-seen "the scheduler saw $victim stop on $on (scheduler log)" \
        cluster_wait 10 grep -q "$gone" "$CLUSTER_DIR/scheduler.log"
    if cluster_wait 30 all_running "$victim" && lab_wait_copies "$victim" 1 30; then
        pass domain-crash-restarted "$victim (QEMU pid $qemu_pid on $on killed) runs again, once, $(ms_since "$t0") ms later, on $(vm_host "$victim")"
    else
        fail domain-crash-restarted "$victim not running again: $(copies "$victim")"; dump_logs
    fi
else
    fail domain-crash-restarted "no QEMU pid of $victim on host '$on' to kill (pid '$qemu_pid')"
fi
cluster_wait 20 all_running "${VMS[@]}"

# ---------------------------------------------------------------------------------------
# crash

victims=($(ha_vms_on h1))
t0=$(date +%s%N)
lab_crash 1
if ms=$(until_elsewhere "$t0" h1 "${victims[@]}"); then
    pass crash-failover "${#victims[@]} HA VMs of h1 run elsewhere $ms ms after the crash"
else
    fail crash-failover "h1's VMs (${victims[*]}) not all running elsewhere: $(lab_copycount_once | tr '\n' ';')"
    dump_logs
fi
check crash-dead "h1 is declared dead (not just down)" test "$(host_state h1)" = dead
timeline_started() {
    [ "$(ctl -o json host show h1 | jq '[.timeline[] | select(.kind == "started")] | length')" -ge "$1" ]
}
#  A copy runs (the counter sees QEMU) a moment before its agent reports the start done.
check crash-timeline "host show h1 has a timeline ending with the VMs started" \
    cluster_wait 5 timeline_started "${#victims[@]}"
revive 1
returns crash-returns h1

# ---------------------------------------------------------------------------------------
# partition from everyone

cluster_wait 10 has_vms_on h2
victims=($(ha_vms_on h2))
t0=$(date +%s%N)
lab_partition 2
if ms=$(until_elsewhere "$t0" h2 "${victims[@]}"); then
    pass partition-failover "${#victims[@]} HA VMs of isolated h2 run elsewhere after $ms ms"
else
    fail partition-failover "h2's VMs (${victims[*]}): $(lab_copycount_once | tr '\n' ';')"; dump_logs
fi
check partition-fenced "h2's fencer killed its HA VMs (agent log)" test "$(fencer_kills h2)" -ge 1
#  Holding no lease, it stopped petting its watchdog too: reset W later (DESIGN.md §5.3).
check partition-reset "h2's watchdog reset it" cluster_wait 10 grep -q reset "$LAB_DIR/h2/watchdog.log"
lab_heal 2
revive 2
returns partition-returns h2

# ---------------------------------------------------------------------------------------
# partition from the scheduler only

cluster_wait 20 all_heard
before=$(ha_vms_on h3 | sort | tr '\n' ' ')
kills=$(fencer_kills h3)
nft_drop 3 "$(lab_ip 254)"
sleep 10                    # > D: the scheduler would have declared it dead by now
check sched-only-nothing-moved "h3's VMs stay on h3 ($before)" \
    test "$(ha_vms_on h3 | sort | tr '\n' ' ')" = "$before"
check sched-only-not-fenced "h3's fencer killed nothing" test "$(fencer_kills h3)" = "$kills"
check sched-only-not-dead "h3 is not dead: $(host_state h3)" test "$(host_state h3)" != dead
lab_heal 3
cluster_wait 20 all_heard

# ---------------------------------------------------------------------------------------
# scheduler down for longer than L

#  h3 registered again a moment ago: its new witness set reaches it within a renewal or two.
#  (Killed within ~0.3 s of such a registration, a leader left h3 fenced once here: an open
#  problem, see tests/lab/README.md.)
sleep 3
placement=$(ctl -o json vm list | jq -c '[.vms[] | select(.managed) | [.name, .host]]')
kills="$(fencer_kills h1) $(fencer_kills h2) $(fencer_kills h3)"
pid=$(cluster_pid scheduler)
kill -KILL "$pid"
sleep 6                     # L = 2 s: only the witnesses keep the hosts connected
cluster_start_scheduler
cluster_wait 20 all_heard
sleep 2                     # every host holds a leader lease again
check sched-down-not-fenced "no fencer killed anything while the scheduler was away" \
    test "$(fencer_kills h1) $(fencer_kills h2) $(fencer_kills h3)" = "$kills"
check sched-down-nothing-moved "every VM kept its host" \
    test "$(ctl -o json vm list | jq -c '[.vms[] | select(.managed) | [.name, .host]]')" = "$placement"

# ---------------------------------------------------------------------------------------
# freeze a whole host, thaw it

cluster_wait 20 all_heard
victims=($(ha_vms_on h1))
t0=$(date +%s%N)
lab_freeze 1
if ms=$(until_elsewhere "$t0" h1 "${victims[@]}"); then
    pass freeze-failover "${#victims[@]} HA VMs of frozen h1 run elsewhere after $ms ms (watchdog reset)"
else
    fail freeze-failover "h1's VMs (${victims[*]}): $(lab_copycount_once | tr '\n' ';')"; dump_logs
fi
check freeze-reset "the watchdog reset h1" grep -q reset "$LAB_DIR/h1/watchdog.log"
lab_thaw 1 2>/dev/null
revive 1
returns freeze-returns h1

# ---------------------------------------------------------------------------------------
# kill only the agent

cluster_wait 20 all_heard
victims=($(ha_vms_on h2))
pid=$(cluster_pid agent-h2)
t0=$(date +%s%N)
kill -KILL "$pid"
if ms=$(until_elsewhere "$t0" h2 "${victims[@]}"); then
    pass agent-kill-failover "${#victims[@]} HA VMs of h2 run elsewhere once, $ms ms after its agent died"
else
    fail agent-kill-failover "h2's VMs (${victims[*]}): $(lab_copycount_once | tr '\n' ';')"; dump_logs
fi
revive 2
cluster_wait 20 all_heard

# ---------------------------------------------------------------------------------------
# The copy counter's verdict over the whole test

summary=$(lab_copycount_stop)
json="$CLUSTER_DIR/copies.log.json"
check counter-sampled "the copy counter sampled every ~50 ms (max gap $(jq .max_gap_ms "$json") ms)" \
    test "$(jq '.max_gap_ms < 500' "$json")" = true
for vm in "${VMS[@]}"; do
    check "never-twice-$vm" "$vm had at most one running copy at every sample: $(jq -c --arg v "$vm" '.vms[$v]' "$json")" \
        test "$(jq --arg v "$vm" '.vms[$v].max_copies_ex_incoming // 0' "$json")" -le 1
done
echo "$summary" | head -20
testing_done
