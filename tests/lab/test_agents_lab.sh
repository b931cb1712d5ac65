#!/usr/bin/env bash
# test_agents_lab.sh - agents on three real libvirtd hosts report real QEMU domains.
#
# The scheduler runs in the lab's ctl namespace (10.77.0.254), one agent inside each host
# (qemu:///system of that host's own libvirtd), capacity given by configuration because every
# lab host sees the whole machine. Checks: hosts register with the configured capacity and
# the real CPU model; real tiny TCG domains are reported with usage (CPU time, vCPU delay,
# RSS); a domain started later arrives by lifecycle event (reports are 60 s apart, so only the
# event can deliver it); a live migration moves the VM to the target host in the scheduler's
# view; a libvirtd restart on one host is survived (the agent reconnects, the host never
# leaves "up", the domains stay, and events flow again); an agent restart leaves the domains
# running and re-registers with generation + 1, and the report after it (the second sample of
# web-1's counters) gives web-1 and h1 a smoothed CPU % from real QEMU usage, with contention
# (vcpu.N.delay) and memory in use (balloon.rss).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/testing.sh"
. "$here/../lib/cluster.sh"
: "${VMSCHED_BIN:?set VMSCHED_BIN to the directory with the built programs}"

export LAB_NAME=${LAB_NAME:-vla} LAB_DIR=$(mktemp -d /tmp/vmsched-lab.XXXXXX)
. "$here/lab.sh"
export CLUSTER_DIR="$LAB_DIR/cluster" CLUSTER_PORT=7100 CLUSTER_ADDR=$(lab_ip 254)
export CLUSTER_EXEC="ip netns exec $(lab_ctl_ns)"
export CLUSTER_HEARTBEAT_MS=200 CLUSTER_SUSPECT_MS=1000 CLUSTER_DOWN_MS=3000 CLUSTER_REPORT_MS=60000
mkdir -p "$CLUSTER_DIR"

cleanup() {
    cluster_stop
    lab_down > /dev/null 2>&1
}
trap cleanup EXIT

field() { ctl -o json host list 2>/dev/null | jq -r --arg n "$1" ".hosts[] | select(.name == \$n) | $2"; }
vm_field() { ctl -o json vm list 2>/dev/null | jq -r --arg n "$1" ".vms[] | select(.name == \$n) | $2"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

dump_logs() {
    echo "--- scheduler.log"; tail -n 20 "$CLUSTER_DIR/scheduler.log"
    for h in h1 h2 h3; do echo "--- $h/agent.log"; tail -n 10 "$CLUSTER_DIR/$h/agent.log"; done
}

# start_agent I - the agent of host hI, inside that host.
start_agent() { cluster_allow_host "h$1" && cluster_start_lab_agent "$1"; }

# ---------------------------------------------------------------------------------------
# Set-up: lab, domains that exist before the agents start, scheduler, agents

if ! lab_prepare || ! lab_up 3; then fail lab "the lab did not come up (see above)"; testing_done; fi
lab_create 1 web-1 && lab_create 1 web-2 && lab_create 2 db-1 \
    || { fail domains "cannot start the first domains"; testing_done; }

cluster_scheduler_conf
cluster_start_scheduler
for i in 1 2 3; do
    CLUSTER_WITNESS_ADDR=$(lab_ip "$i") cluster_agent_conf "h$i" "qemu:///system" 4 4096
    start_agent "$i" || { fail agent-start "cannot start the agent on h$i"; testing_done; }
done

if cluster_wait 20 cluster_hosts_up 3; then
    pass hosts-register
else
    fail hosts-register "3 hosts not up within 20 s: $(ctl host list 2>&1)"
    dump_logs
    testing_done
fi
check capacity-from-config "every host should offer 4 cpus / 4096 MiB, saw: $(ctl -o json host list | jq -c '[.hosts[] | "\(.cpus)/\(.memory_mib)"]')" \
    test "$(ctl -o json host list | jq -r '[.hosts[] | "\(.cpus)/\(.memory_mib)"] | unique | .[]')" = "4/4096"
model=$(field h1 .cpu_model)
check real-cpu-model "h1's CPU model should come from libvirt's capabilities, got '$model'" test -n "$model"

reported() { [ "$(vm_field web-1 .state)" = running ] && [ "$(vm_field db-1 .host)" = h2 ]; }
check real-domains-reported "web-1 on h1 and db-1 on h2 expected: $(ctl vm list 2>&1)" cluster_wait 10 reported
check vm-host "web-2 should be on h1" test "$(vm_field web-2 .host)" = h1
usage=$(vm_field web-1 '"\(.cpu_time_s) \(.vcpu_delay_ms) \(.rss_mib)"')
check real-usage "cpu time, vcpu delay and rss should be numbers for a real domain, got '$usage'" \
    grep -qxE '[0-9.]+ [0-9.]+ [0-9]+' <<< "$usage"

# ---------------------------------------------------------------------------------------
# Lifecycle events from real libvirtd

t=$(date +%s%N)
lab_create 3 batch-1
created=$(ms_since "$t")
t=$(date +%s%N)
seen() { [ "$(vm_field batch-1 .state)" = running ] && [ "$(vm_field batch-1 .host)" = h3 ]; }
if cluster_wait 5 seen; then
    pass event-start "visible $(ms_since "$t") ms after virsh create returned (create took $created ms)"
else
    fail event-start "batch-1 not seen on h3 within 5 s (reports are 60 s apart: the event path is broken)"
    dump_logs
fi

t=$(date +%s%N)
lab_migrate web-2 1 2 || fail migrate "virsh migrate web-2 h1 -> h2 failed"
moved() { [ "$(vm_field web-2 .host)" = h2 ] && [ "$(vm_field web-2 .state)" = running ]; }
if cluster_wait 5 moved; then
    pass migration-seen "web-2 on h2 in the scheduler $(ms_since "$t") ms after the migration started"
else
    fail migration-seen "web-2 shows as '$(vm_field web-2 .state)' on '$(vm_field web-2 .host)'"
fi

# ---------------------------------------------------------------------------------------
# libvirtd restart on h2

states=""
watch_h2() {
    local s
    s=$(field h2 .state)
    case "$states" in *"$s") ;; *) states="$states $s" ;; esac
}
lab_kill_libvirtd 2
disconnected() { watch_h2; [ "$(field h2 .hypervisor_connected)" = false ]; }
check hv-disconnect-seen "the scheduler should see h2's agent lose libvirt" cluster_wait 5 disconnected
lab_start_libvirtd 2 || fail libvirtd-start "libvirtd on h2 did not come back"
reconnected() { watch_h2; [ "$(field h2 .hypervisor_connected)" = true ]; }
t=$(date +%s%N)
if cluster_wait 15 reconnected; then
    pass agent-reconnects "$(ms_since "$t") ms after libvirtd was back"
else
    fail agent-reconnects "h2's agent did not reconnect to libvirtd"
    dump_logs
fi
watch_h2
check host-stays-up "h2 must stay up through the libvirtd restart, states seen:$states" test "$states" = " up"
check domains-survive "db-1 and web-2 still running on h2" \
    test "$(vm_field db-1 .state)/$(vm_field web-2 .state)" = running/running
lab_create 2 after-restart
seen_after() { [ "$(vm_field after-restart .host)" = h2 ]; }
check events-after-restart "a domain started after the restart must arrive by event" cluster_wait 5 seen_after

# ---------------------------------------------------------------------------------------
# Agent restart: domains untouched, new generation

gen=$(field h1 .generation)
cluster_kill agent-h1 TERM
check agent-stop-keeps-domains "web-1 must still run on h1 with its agent stopped" \
    grep -q running <<< "$(lab_virsh 1 domstate web-1)"
start_agent 1
regen() { [ "$(field h1 .generation)" = "$((gen + 1))" ] && [ "$(field h1 .state)" = up ]; }
check agent-reregisters "h1 should be up with generation $((gen + 1)), is $(field h1 .generation)" \
    cluster_wait 10 regen
check vms-kept "web-1 still listed running on h1" test "$(vm_field web-1 .host)/$(vm_field web-1 .state)" = h1/running

# ---------------------------------------------------------------------------------------
# Load from real usage: the full report after the re-registration is web-1's second sample

measured() { [ "$(vm_field web-1 .cpu_pct)" != null ] && [ "$(field h1 .cpu_pct)" != null ]; }
check real-load "web-1 and h1 should have a CPU % after the second report, got '$(vm_field web-1 .cpu_pct)' / '$(field h1 .cpu_pct)'" \
    cluster_wait 10 measured
load=$(vm_field web-1 '"\(.cpu_pct) \(.vcpus) \(.contention_pct) \(.mem_in_use_mib)"')
host_pct=$(field h1 .cpu_pct)
in_range() {    # in_range LOAD HOST_PCT - numbers, within 0..100 per vCPU and 0..100
    local pct vcpus contention mem
    read -r pct vcpus contention mem <<< "$1"
    awk -v p="$pct" -v v="$vcpus" -v c="$contention" -v m="$mem" -v h="$2" 'BEGIN {
        ok = p ~ /^[0-9.]+$/ && c ~ /^[0-9.]+$/ && m ~ /^[0-9.]+$/ && h ~ /^[0-9.]+$/
        exit !(ok && p >= 0 && p <= 100 * v && c >= 0 && c <= 100 && m > 0 && h >= 0 && h <= 100) }'
}
if in_range "$load" "$host_pct"; then
    pass real-load-range "web-1 cpu_pct, vcpus, contention_pct, mem_in_use_mib: $load; h1 cpu_pct: $host_pct"
else
    fail real-load-range "web-1's cpu_pct within 0..100 per vCPU with contention and memory in use, h1's within 0..100: got '$load' / '$host_pct'"
fi

check scheduler-alive "the scheduler must still run" kill -0 "$(cluster_pid scheduler)"
testing_done
