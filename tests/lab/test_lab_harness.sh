#!/usr/bin/env bash
# test_lab_harness.sh - the lab itself works: three real libvirtd hosts in namespaces, a real
# TCG domain starts, live-migrates, survives a libvirtd restart, a partition cuts a host off and
# heals, a crash ends everything on a host, and lab_down leaves nothing behind. Later tests
# (HA, balancing) rely on each of these.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/testing.sh"
export LAB_NAME=vlh LAB_DIR=$(mktemp -d /tmp/vmsched-lab.XXXXXX)
. "$here/lab.sh"
trap 'lab_down > /dev/null 2>&1' EXIT

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# tcp_reachable FROM_HOST TO_HOST - can host FROM open a TCP connection to TO's libvirtd?
runs_on() { lab_virsh "$2" domstate "$1" 2>/dev/null | grep -q running; }

tcp_reachable() {
    lab_exec "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$(lab_ip "$2")/16509" 2>/dev/null
}

if ! lab_prepare; then fail lab-prepare "see the messages above"; testing_done; fi
t=$(date +%s%N)
if lab_up 3; then pass lab-up "3 hosts in $(ms_since "$t") ms"; else fail lab-up "see above"; testing_done; fi

host_uuid() { lab_virsh "$1" capabilities | grep -m1 -o '<uuid>[^<]*</uuid>'; }
check distinct-hosts "each host must have its own libvirtd (distinct host uuids)" \
    test "$(for i in 1 2 3; do host_uuid "$i"; done | sort -u | wc -l)" = 3

t=$(date +%s%N)
if lab_create 1 vm-a; then pass domain-start "$(ms_since "$t") ms"; else fail domain-start "virsh create failed"; fi
check domain-runs "vm-a should run on h1" runs_on vm-a 1

t=$(date +%s%N)
if lab_migrate vm-a 1 2; then pass live-migration "$(ms_since "$t") ms h1 -> h2"; else fail live-migration "virsh migrate failed"; fi
check one-copy-after-migration "exactly one running copy expected, saw $(lab_running_copies vm-a)" \
    test "$(lab_running_copies vm-a)" = 1
check migrated-to-h2 "vm-a should run on h2" runs_on vm-a 2

t=$(date +%s%N)
if lab_restart_libvirtd 2; then pass libvirtd-restart "$(ms_since "$t") ms"; else fail libvirtd-restart "libvirtd did not come back"; fi
check domain-survives-libvirtd-restart "vm-a must still run on h2" runs_on vm-a 2

check reachable-before-partition "h1 should reach h3" tcp_reachable 1 3
lab_partition 3
if tcp_reachable 1 3; then fail partition "h1 still reaches h3"; else pass partition; fi
lab_heal 3
check heal "h1 should reach h3 again" tcp_reachable 1 3

qemu_pid=$(lab_exec 2 cat /run/libvirt/qemu/vm-a.pid 2>/dev/null)
init=$(lab_host_pid 2)
lab_crash 2
gone() { ! kill -0 "$init" 2>/dev/null; }
t=$(date +%s%N)
for i in $(seq 1 100); do gone && break; sleep 0.02; done
if gone; then pass crash "host h2 gone in $(ms_since "$t") ms"; else fail crash "h2's init still alive"; fi
check crash-kills-domain "no copy of vm-a may survive the crash" test "$(lab_running_copies vm-a)" = 0
[ -n "$qemu_pid" ] && pass qemu-pid-read "qemu ran as pid $qemu_pid inside h2" || fail qemu-pid-read "no qemu pid file"

lab_down
check down-namespaces "no vlh namespace may remain" bash -c "! ip netns list | grep -q '^vlh-'"
check down-files "the lab directory must be gone" test ! -e "$LAB_DIR"

testing_done
