#!/usr/bin/env bash
# test_load.sh - smoothed load from usage, end to end: one scheduler and two agents on
# libvirt's test driver (private node files, reports every second).
#
# Checks: `host list` and `vm list` show a CPU % column (no CPU TIME column any more); their
# -o json documents carry cpu_pct, once two reports are in, for every running VM (within 0 ..
# 100 per vCPU) and every host (within 0 .. 100, the share of all its CPUs); a VM that does
# not run has none (null, "-" in the table). The test driver reports the wall clock as CPU
# time, so each running VM there shows one busy core (100 % for its one vCPU) and a host the
# sum of its VMs over its CPUs: checked as such (README.md, "Load").
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/testing.sh"
. "$here/../lib/cluster.sh"
: "${VMSCHED_BIN:?set VMSCHED_BIN to the directory with the built programs}"

cluster_test_dir vmsched-load || { fail load-dir "cannot make a temporary directory"; testing_done; }
# CLUSTER_PORT may be given, so that two runs on one machine do not collide; reports every 1 s.
export CLUSTER_PORT=${CLUSTER_PORT:-7640} CLUSTER_REPORT_MS=1000

dump_logs() {
    echo "--- scheduler.log"; tail -n 30 "$CLUSTER_DIR/scheduler.log"
    for h in h1 h2; do echo "--- $h/agent.log"; tail -n 15 "$CLUSTER_DIR/$h/agent.log"; done
}

cluster_node_xml "$CLUSTER_DIR/h1.xml" 8 16384 web-1:2048:running web-2:1024:running db-1:4096:shutoff
cluster_node_xml "$CLUSTER_DIR/h2.xml" 4 8192 app-1:2048:running
cluster_scheduler_conf
cluster_agent_conf h1 "test://$CLUSTER_DIR/h1.xml"
cluster_agent_conf h2 "test://$CLUSTER_DIR/h2.xml"
cluster_start_scheduler
cluster_start_agent h1
cluster_start_agent h2

if cluster_wait 15 cluster_hosts_up 2; then
    pass load-hosts-up
else
    fail load-hosts-up "2 hosts not up within 15 s: $(ctl host list 2>&1)"
    dump_logs
    testing_done
fi

# every_running_vm_measured - true when every running VM and every host has a cpu_pct.
every_running_vm_measured() {
    ctl -o json vm list | jq -e '[.vms[] | select(.state == "running")] | length == 3
        and all(.cpu_pct != null)' > /dev/null \
    && ctl -o json host list | jq -e 'all(.hosts[]; .cpu_pct != null)' > /dev/null
}
if cluster_wait 15 every_running_vm_measured; then
    pass load-measured "every running VM and host has a CPU % after two reports"
else
    fail load-measured "no cpu_pct within 15 s: $(ctl -o json vm list 2>&1 | jq -c '.vms[] | [.name, .state, .cpu_pct]')"
    dump_logs
fi

jqq() { jq -e "$@" > /dev/null; }     # jqq ARGS... - jq -e, verdict only

vms=$(ctl -o json vm list)
hosts=$(ctl -o json host list)
check load-vm-range "a running VM's cpu_pct is within 0 .. 100 per vCPU: $(jq -c '[.vms[] | [.name, .vcpus, .cpu_pct]]' <<<"$vms")" \
    jqq '[.vms[] | select(.state == "running")] | all(.cpu_pct >= 0 and .cpu_pct <= 100 * .vcpus)' <<<"$vms"
check load-host-range "a host's cpu_pct is within 0 .. 100: $(jq -c '[.hosts[] | [.name, .cpus, .cpu_pct]]' <<<"$hosts")" \
    jqq 'all(.hosts[]; .cpu_pct >= 0 and .cpu_pct <= 100)' <<<"$hosts"
check load-stopped-vm "a VM that does not run has no cpu_pct: $(jq -c '.vms[] | select(.name == "db-1")' <<<"$vms")" \
    jqq '.vms[] | select(.name == "db-1") | .cpu_pct == null' <<<"$vms"
# The test driver's CPU time is the wall clock: one busy core per running VM (1 vCPU each).
check load-test-driver-vm "on the test driver a running VM shows one busy core (90 .. 100 %)" \
    jqq '[.vms[] | select(.state == "running")] | all(.cpu_pct >= 90 and .cpu_pct <= 100)' <<<"$vms"
check load-test-driver-host "h1 (8 CPUs, 2 running VMs) shows about 25 %, h2 (4 CPUs, 1 VM) about 25 %: $(jq -c '[.hosts[] | [.name, .cpu_pct]]' <<<"$hosts")" \
    jqq 'all(.hosts[]; .cpu_pct >= 22 and .cpu_pct <= 25)' <<<"$hosts"
check load-json-fields "vm list and host list carry cpu_cores_used, contention_pct, mem_in_use_mib, load_age_ms" \
    jqq --argjson h "$hosts" 'all(.vms[]; has("cpu_cores_used") and has("contention_pct")
        and has("mem_in_use_mib") and has("load_age_ms"))
        and ($h | all(.hosts[]; has("cpu_cores_used") and has("load_age_ms")))' <<<"$vms"

table_vm=$(ctl vm list)
table_host=$(ctl host list)
check load-vm-column "vm list has a CPU % column and no CPU TIME column: $table_vm" \
    bash -c 'head -1 <<<"$1" | grep -q "CPU %" && ! head -1 <<<"$1" | grep -q "CPU TIME"' _ "$table_vm"
check load-host-column "host list has a CPU % column: $table_host" \
    bash -c 'head -1 <<<"$1" | grep -q "CPU %"' _ "$table_host"
# The column of db-1 (not running) shows "-"; web-1's a number.
cpu_col() {     # cpu_col TABLE NAME - the CPU % cell of row NAME
    awk -v n="$2" 'NR == 1 { c = index($0, "CPU %") } NR > 1 && $1 == n { s = substr($0, c); split(s, a, " "); print a[1] }' <<<"$1"
}
check load-vm-cells "web-1's CPU % is a number, db-1's '-': web-1 '$(cpu_col "$table_vm" web-1)', db-1 '$(cpu_col "$table_vm" db-1)'" \
    bash -c '[[ "$1" =~ ^[0-9]+\.[0-9]$ ]] && [ "$2" = - ]' _ "$(cpu_col "$table_vm" web-1)" "$(cpu_col "$table_vm" db-1)"

testing_done
