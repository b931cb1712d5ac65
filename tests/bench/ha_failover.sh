#!/usr/bin/env bash
# tests/bench/ha_failover.sh - HA failover time on three real libvirtd lab hosts (make bench).
#
# usage: tests/bench/ha_failover.sh BINDIR OUTDIR [CONFIG...]
#   CONFIG: lease    default HA profile, leases only, 6 HA VMs on the crashed host
#           fence    the same with the lab's fence agent configured for every host
#                    ([fence hN] agent = tests/lab/fence_vmsched_lab, lab_dir, plug = N)
#           lease20  leases only, 20 HA VMs on the crashed host (hosts of 8 CPUs / 2048 MiB,
#                    start_concurrency 4, the default)
#           lease-scN, lease20-scN   lease or lease20 with [scheduler] start_concurrency = N
#           (default: lease fence lease20, in that order)
#
# Per configuration: a fresh lab of three hosts (tests/lab/lab.sh), the scheduler in the
# lab's ctl namespace and an agent in every host with its witness on the host's lab address
# and a watchdog (the agent pets a file, lab_watchdog resets the host when it goes stale),
# as in tests/lab/test_ha_lab.sh. The scheduler and agents run with their documented
# defaults (heartbeat 500 ms, suspect 1500, down 5000, report 5000) and [ha] profile =
# default (h 0.5 s, L 2 s, F 1 s, W 3 s, D 7 s). The HA VMs are tiny TCG domains (32 MiB).
# Then, HA_BENCH_CRASHES times (default 10), rotating the victim h1, h2, h3, h1, ...:
#   1. every HA VM is live-migrated onto the victim (clusterctl vm migrate VM hV, 4 at a
#      time) and the copy counter must see each one running there once;
#   2. t0, lab_crash (SIGKILL of the host's init: everything on it dies at once);
#   3. every ~50 ms one lab_copycount --once (QEMU processes in /proc, from outside the
#      hosts) until every VM has exactly one copy, on another host, and then also
#      `virsh list --state-running` on the other hosts until every VM is running there
#      (a start shows a paused QEMU for 0.3-2 s before it runs). The failover time is then
#      taken from libvirt's own lifecycle events on the other hosts (`virsh event
#      --timestamp` in every host: the last VM's "Started" after t0; the poll's time when an
#      event is missing); the copy counter's time alone (QEMU processes up) is printed
#      beside it;
#   4. the scheduler's view of the crash from `host show` (when it declared the host dead,
#      whether a fence agent confirmed the power-off);
#   5. lab_boot, the agent started again, the host up again, a fresh watchdog.
# The copy counter (lab_copycount, every ~50 ms) runs for the whole configuration; at the
# end every VM must have had at most one running copy at every sample
# (max_copies_ex_incoming <= 1: a live migration's -incoming target is not a second copy).
#
# Prints one line per configuration and the anchors beside them. Timing is not asserted; a
# VM that never runs elsewhere (60 s), two running copies, a lease-only failover far above D
# (> D + 5 s) or a fence agent that is configured but never used are reported as problems,
# with the scheduler and agent logs of that run copied into HA_BENCH_EVIDENCE (default
# /tmp/vmsched-bench-evidence). Exit status: 0, or 1 when the lab cannot run (the reason and
# the fix are printed) or a VM never restarted or ran twice.
#
# Needs root, the lab's packages (make deps) and the built programs (make). Environment:
# LAB_NAME (default vhb), LAB_NET (default 10.77.5), CLUSTER_PORT (default 7400),
# HA_BENCH_CRASHES, HA_BENCH_EVIDENCE. Every process is started and ended by pid; the lab's
# namespaces and files go on every exit.
set -uo pipefail

usage="usage: tests/bench/ha_failover.sh BINDIR OUTDIR [lease|fence|lease20 ...]"
here=$(cd "$(dirname "$0")" && pwd)
export VMSCHED_BIN=$(cd "${1:?$usage}" 2>/dev/null && pwd) || { echo "$usage" >&2; exit 2; }
out=${2:?$usage}
shift 2
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(lease fence lease20)
crashes=${HA_BENCH_CRASHES:-10}
evidence_root=${HA_BENCH_EVIDENCE:-/tmp/vmsched-bench-evidence}
mkdir -p "$out"
out=$(cd "$out" && pwd)

export LAB_NAME=${LAB_NAME:-vhb} LAB_NET=${LAB_NET:-10.77.5}
export CLUSTER_PORT=${CLUSTER_PORT:-7400}
export LAB_DIR=$out/ha-lab          # one lab at a time; lab_down removes it
. "$here/../lab/lab.sh"
. "$here/../lib/cluster.sh"
export CLUSTER_DIR="$LAB_DIR/cluster" CLUSTER_ADDR=$(lab_ip 254)
export CLUSTER_EXEC="ip netns exec $(lab_ctl_ns)"
# The documented defaults of the scheduler and the agent (README.md), not the tests' faster ones.
export CLUSTER_HEARTBEAT_MS=500 CLUSTER_SUSPECT_MS=1500 CLUSTER_DOWN_MS=5000 CLUSTER_REPORT_MS=5000
WATCHDOG_MS=3000            # W of the default profile
DEAD_AFTER_MS=7000          # D of the default profile
FENCE_AGENT=$(cd "$here/../lab" && pwd)/fence_vmsched_lab

say() { echo "ha_failover: $*" >&2; }

# ---------------------------------------------------------------------------------------
# Prerequisites: never skip silently

. "$here/prereq.sh"
prereq_check "network, mount and pid namespaces, libvirtd" "jq awk nsenter sqlite3" \
    "vmsched-scheduler vmsched-agent clusterctl lab_copycount lab_watchdog"
[ -x "$FENCE_AGENT" ] || prereq_fail "$FENCE_AGENT is not executable" "chmod +x $FENCE_AGENT"
lab_down > /dev/null 2>&1           # what a killed earlier run may have left
lab_prepare || prereq_fail "the lab's prerequisites are missing (lab: messages above)"

cleanup() {
    [ -d "$CLUSTER_DIR" ] && cluster_stop > /dev/null 2>&1
    lab_down > /dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------
# Helpers

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }


# forget_dead_pids - drops the processes that ended (a crashed host's) from the lab's and the
# cluster's pid lists, so that the clean-up never signals a pid the kernel gave to another.
forget_dead_pids() {
    local pid label
    if [ -f "$LAB_DIR/spawned" ]; then
        while read -r pid; do lab_alive "$pid" || lab_forget_pid "$pid"; done < <(cat "$LAB_DIR/spawned")
    fi
    if [ -f "$CLUSTER_DIR/pids" ]; then
        while read -r label pid; do
            lab_alive "$pid" || sed -i "/^$label $pid\$/d" "$CLUSTER_DIR/pids"
        done < <(cat "$CLUSTER_DIR/pids")
    fi
}

host_state() { ctl -o json host show "$1" 2>/dev/null | jq -r .state; }
host_up() { [ "$(host_state "$1")" = up ]; }
all_up() { host_up h1 && host_up h2 && host_up h3; }

# counter_all CHECK HOST VM... - one look of the copy counter: CHECK "on" = every VM runs
# exactly once, on HOST; "off" = every VM runs exactly once, not on HOST; "any" = every VM
# runs exactly once (never a frozen copy or a migration's incoming one).
counter_all() {
    local check=$1 host=$2
    shift 2
    lab_copycount_once 2>/dev/null | awk -v check="$check" -v host="$host" -v vms="$*" '
        BEGIN { n = split(vms, list, " "); for (i = 1; i <= n; i++) want[list[i]] = 1 }
        ($1 in want) && $2 == 1 && NF == 3 && (check == "any" || (check == "on") == ($3 == host)) { ok++ }
        END { exit !(ok == n) }'
}

# petted_since FILE EPOCH_S - FILE was touched at or after EPOCH_S.
petted_since() { [ "$(stat -c %Y "$1" 2>/dev/null || echo 0)" -ge "$2" ]; }

# wait_for SECONDS CMD... - polls CMD every 50 ms; 1 on timeout.
wait_for() { cluster_wait "$@"; }

# all_running_on_survivors VICTIM VM... - libvirt on the other hosts says every VM is
# running (state running: started and resumed, not the paused QEMU of a start in progress).
all_running_on_survivors() {
    local victim=$1 i
    shift
    for i in 1 2 3; do
        [ "$i" = "$victim" ] || lab_virsh "$i" list --name --state-running 2>/dev/null &
    done | awk -v vms="$*" '
        BEGIN { n = split(vms, list, " "); for (i = 1; i <= n; i++) want[list[i]] = 1 }
        ($1 in want) && !seen[$1]++ { ok++ }
        END { exit !(ok == n) }'
}

# start_events I - libvirt's lifecycle events of host I with their times, into
# $CLUSTER_DIR/hI/events.log (virsh event inside the host: it ends with the host).
start_events() {
    lab_spawn "$1" "$CLUSTER_DIR/h$1/events.log" \
        virsh -q -c qemu:///system event --event lifecycle --loop --timestamp > /dev/null
}

# started_after T0_MS VICTIM VM... - ms from T0 to the last of the VMs' first "Started"
# lifecycle event on another host after T0 (libvirt emits it once the domain runs); nothing
# when some VM has none.
started_after() {
    local t0=$1 victim=$2 i
    shift 2
    for i in 1 2 3; do
        [ "$i" = "$victim" ] && continue
        sed -n "s/^\([0-9-]* [0-9:.]*+0000\): event 'lifecycle' for domain '\([^']*\)': Started.*/\1|\2/p" \
            "$CLUSTER_DIR/h$i/events.log" 2>/dev/null
    done | while IFS='|' read -r when vm; do
        echo "$(date -u -d "$when" +%s%3N) $vm"
    done | awk -v t0="$t0" -v vms="$*" '
        BEGIN { n = split(vms, list, " "); for (i = 1; i <= n; i++) want[list[i]] = 1 }
        ($2 in want) && $1 >= t0 && !($2 in first) { first[$2] = $1 }
        END { last = 0
              for (i = 1; i <= n; i++) { if (!(list[i] in first)) exit; if (first[list[i]] > last) last = first[list[i]] }
              print last - t0 }'
}

# vm_hosts VM... - "VM HOST" per VM as the copy counter sees it now ("-" when not running).
vm_hosts() {
    lab_copycount_once 2>/dev/null | awk -v vms="$*" '
        BEGIN { n = split(vms, list, " "); for (i = 1; i <= n; i++) host[list[i]] = "-" }
        ($1 in host) { host[$1] = ($2 == 1 && NF == 3)? $3: "?" }
        END { for (i = 1; i <= n; i++) print list[i], host[list[i]] }'
}

# gather HOST VM... - live-migrates every VM not on HOST there, 4 at a time, and waits until
# the copy counter sees them all there once.
gather() {
    local host=$1 vm running=0 failed=0 n
    shift
    for n in 1 2 3; do
        wait_for 30 counter_all any - "$@"     # nothing starting or migrating
        while read -r vm on; do
            [ "$on" = "$host" ] && continue
            ctl vm migrate "$vm" "$host" --wait 60 >> "$CLUSTER_DIR/gather.log" 2>&1 &
            running=$((running + 1))
            if [ "$running" -ge 4 ]; then wait -n; running=$((running - 1)); fi
        done < <(vm_hosts "$@")
        wait
        running=0
        wait_for 20 counter_all on "$host" "$@" && return 0
    done
    say "cannot gather the VMs on $host: $(vm_hosts "$@" | tr '\n' ' ')"
    return 1
}

# collect_evidence CONFIG WHY - the run's logs into the evidence directory.
collect_evidence() {
    local dir="$evidence_root/$1-$(date +%Y%m%d-%H%M%S)" f
    mkdir -p "$dir"
    echo "$2" >> "$dir/WHY"
    cp "$CLUSTER_DIR/scheduler.log" "$CLUSTER_DIR/scheduler.conf" "$dir/" 2>/dev/null
    for f in "$CLUSTER_DIR"/h*/agent.log; do cp "$f" "$dir/$(basename "$(dirname "$f")")-agent.log"; done
    for f in "$CLUSTER_DIR"/h*/agent.conf; do cp "$f" "$dir/$(basename "$(dirname "$f")")-agent.conf"; done
    for f in "$LAB_DIR"/h*/watchdog.log; do
        [ -f "$f" ] && cp "$f" "$dir/$(basename "$(dirname "$f")")-watchdog.log"
    done
    cp "$CLUSTER_DIR"/copies.log* "$CLUSTER_DIR/rounds.log" "$CLUSTER_DIR/gather.log" "$dir/" 2>/dev/null
    for f in h1 h2 h3; do ctl -o json host show "$f" > "$dir/$f-show.json" 2>/dev/null; done
    ctl -o json vm list > "$dir/vm-list.json" 2>/dev/null
    say "evidence: $dir ($2)"
    echo "$dir"
}

# stats FILE - "p50 min max count" of the integers in FILE (p50: nearest rank).
stats() {
    sort -n "$1" | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "- - - 0"; exit }
        r = int((NR + 1) / 2); print v[r], v[1], v[NR], NR }'
}

# host_events HOST T0_MS - the scheduler's failover timeline of HOST since T0 (epoch ms):
# "KIND AT_MS" lines. `host show` does not include the timeline (ha_timeline is not in its
# JSON), so this reads the scheduler's database (table host_events), read-only.
host_events() {
    sqlite3 "file:$CLUSTER_DIR/vmsched.db?mode=ro" \
        "SELECT e.kind, e.at FROM host_events e JOIN hosts h ON h.id = e.host_id
         WHERE h.name = '$1' AND e.at >= $2 - 1000 ORDER BY e.id" 2>/dev/null | tr '|' ' '
}

# ---------------------------------------------------------------------------------------
# One configuration

# run_config NAME LABEL NVMS CPUS MEM_MIB START_CONCURRENCY FENCE(0|1)
run_config() {
    local name=$1 label=$2 nvms=$3 cpus=$4 mem=$5 conc=$6 fence=$7
    local i vm problems=() slow=() hard=0 times="$out/ha-$name.ms"
    : > "$times"; : > "$out/ha-$name.dead.ms"; : > "$out/ha-$name.restart.ms"
    : > "$out/ha-$name.qemu.ms"
    lab_down > /dev/null 2>&1
    if ! lab_up 3 2> "$out/ha-$name.lab.log"; then
        cat "$out/ha-$name.lab.log" >&2
        say "$name: the lab did not come up"; return 2
    fi
    mkdir -p "$CLUSTER_DIR"
    cluster_scheduler_conf
    {
        echo "start_concurrency = $conc"
        echo
        echo "[ha]"
        echo "profile = default"
        if [ "$fence" = 1 ]; then
            for i in 1 2 3; do
                printf '\n[fence h%s]\nagent = %s\nlab_dir = %s\nplug = %s\n' \
                    "$i" "$FENCE_AGENT" "$LAB_DIR" "$i"
            done
        fi
    } >> "$CLUSTER_DIR/scheduler.conf"
    cluster_start_scheduler
    for i in 1 2 3; do
        CLUSTER_WITNESS_ADDR=$(lab_ip "$i") cluster_agent_conf "h$i" "qemu:///system" "$cpus" \
            "$mem" "qemu+tcp://$(lab_ip "$i")/system" "file:$(lab_pet_file "$i")"
        cluster_allow_host "h$i" || { say "$name: cannot allow h$i"; return 2; }
        cluster_start_lab_agent "$i" || { say "$name: cannot start the agent of h$i"; return 2; }
        lab_watchdog_start "$i" "$(lab_pet_file "$i")" "$WATCHDOG_MS" || return 2
        start_events "$i" || return 2
    done
    if ! wait_for 30 all_up; then
        collect_evidence "$name" "hosts not up: $(ctl host list 2>&1)" > /dev/null; return 2
    fi
    lab_copycount_start "$CLUSTER_DIR/copies.log" || return 2
    local vms=()
    for i in $(seq 1 "$nvms"); do vms+=("ha-$i"); done
    for vm in "${vms[@]}"; do
        lab_tiny_xml "$vm" 32 > "$CLUSTER_DIR/$vm.xml"
        if ! ctl vm create "$vm" --xml "$CLUSTER_DIR/$vm.xml" --ha --start \
                > "$CLUSTER_DIR/create-$vm.out" 2>&1; then
            collect_evidence "$name" "vm create $vm: $(cat "$CLUSTER_DIR/create-$vm.out")" > /dev/null
            return 2
        fi
    done

    local round victim t0 t0_ms ms qemu_ms poll_ms event_ms dead_at fenced=0 events booted
    for round in $(seq 1 "$crashes"); do
        victim=$(( (round - 1) % 3 + 1 ))
        if ! wait_for 30 all_up || ! gather "h$victim" "${vms[@]}"; then
            problems+=("round $round: could not set up (hosts: $(ctl host list 2>&1 | tr '\n' ';'))")
            hard=1; break
        fi
        sleep 1                                 # let reports and leases settle
        t0=$(date +%s%N); t0_ms=$((t0 / 1000000))
        lab_crash "$victim"
        ms="" qemu_ms=""
        while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 60000 ]; do
            if counter_all off "h$victim" "${vms[@]}"; then
                [ -n "$qemu_ms" ] || qemu_ms=$(ms_since "$t0")
                if all_running_on_survivors "$victim" "${vms[@]}" \
                   && counter_all off "h$victim" "${vms[@]}"; then
                    ms=$(ms_since "$t0"); break
                fi
            fi
            sleep 0.05
        done
        lab_watchdog_stop "$victim"             # power cycling resets a watchdog too
        forget_dead_pids
        if [ -z "$ms" ]; then
            problems+=("round $round: h$victim's VMs did not all run elsewhere within 60 s: $(vm_hosts "${vms[@]}" | tr '\n' ' ')")
            hard=1
            echo "round $round crash h$victim at $t0_ms: NOT RESTARTED" >> "$CLUSTER_DIR/rounds.log"
            break
        fi
        poll_ms=$ms
        event_ms=$(started_after "$t0_ms" "$victim" "${vms[@]}")
        [ -n "$event_ms" ] && ms=$event_ms
        echo "$ms" >> "$times"
        echo "$qemu_ms" >> "$out/ha-$name.qemu.ms"
        events=$(host_events "h$victim" "$t0_ms")
        dead_at=$(awk '$1 == "dead" { print $2; exit }' <<<"$events")
        grep -q '^fenced ' <<<"$events" && fenced=$((fenced + 1))
        [ -n "$dead_at" ] && echo $((dead_at - t0_ms)) >> "$out/ha-$name.dead.ms" \
            && echo $((ms - (dead_at - t0_ms))) >> "$out/ha-$name.restart.ms"
        echo "round $round crash h$victim at $t0_ms: all $nvms running elsewhere after $ms ms" \
             "(libvirt's Started events: ${event_ms:-none}, seen by the poll: $poll_ms," \
             "their QEMU processes: $qemu_ms ms);" \
             "dead at +$([ -n "$dead_at" ] && echo $((dead_at - t0_ms)) || echo '?') ms;" \
             "events: $(echo "$events" | awk '{ print $1 }' | tr '\n' ' ')" >> "$CLUSTER_DIR/rounds.log"
        if [ "$fence" = 0 ] && [ "$ms" -gt $((DEAD_AFTER_MS + 5000)) ]; then
            slow+=("round $round: $ms ms (dead after $([ -n "$dead_at" ] && echo $((dead_at - t0_ms)) || echo '?') ms)")
        fi
        booted=$(date +%s)
        lab_boot "$victim" > /dev/null 2>&1 && cluster_start_lab_agent "$victim" \
            || { problems+=("round $round: h$victim did not boot again"); hard=1; break; }
        if ! wait_for 30 host_up "h$victim"; then
            problems+=("round $round: h$victim did not register again within 30 s"); hard=1; break
        fi
        start_events "$victim" || { problems+=("round $round: no event log for h$victim"); hard=1; break; }
        wait_for 10 petted_since "$(lab_pet_file "$victim")" "$booted"   # the new agent pets
        lab_watchdog_start "$victim" "$(lab_pet_file "$victim")" "$WATCHDOG_MS" \
            || { problems+=("round $round: no watchdog for h$victim"); hard=1; break; }
    done

    [ ${#slow[@]} -eq 0 ] || problems+=("${#slow[@]} of $(wc -l < "$times") lease-only failovers took more than D + 5 s = $((DEAD_AFTER_MS + 5000)) ms: $(IFS=';'; echo "${slow[*]}")")
    lab_copycount_stop > "$CLUSTER_DIR/copies.summary" 2>&1
    local json="$CLUSTER_DIR/copies.log.json" twice gap
    twice=$(jq -r '[.vms | to_entries[] | select(.value.max_copies_ex_incoming > 1) | .key] | join(" ")' "$json" 2>/dev/null)
    gap=$(jq -r '.max_gap_ms' "$json" 2>/dev/null)
    local never_two=yes
    if [ ! -s "$json" ]; then never_two="unknown (no copy counter summary)"; hard=1
    elif [ -n "$twice" ]; then
        never_two="NO ($twice)"; hard=1
        problems+=("two running copies at once of: $twice (copy counter: $CLUSTER_DIR/copies.log)")
    fi
    if [ "$fence" = 1 ] && [ "$fenced" -eq 0 ] && [ -s "$times" ]; then
        problems+=("fence agent configured for every host, but the scheduler confirmed no power-off in $(wc -l < "$times") crashes: every failover went the lease way")
    fi
    cp "$CLUSTER_DIR/rounds.log" "$out/ha-$name.rounds.log" 2>/dev/null
    cp "$CLUSTER_DIR/scheduler.log" "$out/ha-$name.scheduler.log" 2>/dev/null

    read -r p50 min max n < <(stats "$times")
    read -r dp50 dmin dmax dn < <(stats "$out/ha-$name.dead.ms")
    read -r rp50 rmin rmax rn < <(stats "$out/ha-$name.restart.ms")
    read -r qp50 qmin qmax qn < <(stats "$out/ha-$name.qemu.ms")
    echo "ha failover ($label): p50 $p50 ms, max $max ms, min $min ms over $n crashes; never two copies: $never_two"
    echo "    crash -> declared dead: p50 $dp50 ms (min $dmin, max $dmax); dead -> all running: p50 $rp50 ms (min $rmin, max $rmax); every QEMU process up (copy counter alone): p50 $qp50 ms (max $qmax); fenced by the agent: $fenced of $n; copy counter max gap $gap ms"
    if [ ${#problems[@]} -gt 0 ]; then
        local dir p
        dir=$(collect_evidence "$name" "$(printf '%s\n' "${problems[@]}")")
        for p in "${problems[@]}"; do echo "    PROBLEM: $p"; done
        echo "    logs of this run: $dir"
    fi
    cluster_stop > /dev/null 2>&1
    lab_down > /dev/null 2>&1
    return $hard
}

echo "== HA failover: 3 real libvirtd lab hosts, host crash (SIGKILL of everything on it) ->" \
     "every HA VM of it running elsewhere (libvirt's Started events there; one copy each by the" \
     "copy counter), $crashes crashes per line; load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
rc=0
for config in "${configs[@]}"; do
    case "$config" in
        lease)   run_config lease "default, 6 vms, lease" 6 4 1024 4 0 || rc=1 ;;
        fence)   run_config fence "default, 6 vms, fence agent" 6 4 1024 4 1 || rc=1 ;;
        lease20) run_config lease20 "default, 20 vms, lease, hosts 8 cpus 2048 MiB" 20 8 2048 4 0 || rc=1 ;;
        lease-sc[0-9]*)
            run_config "$config" "default, 6 vms, lease, start_concurrency ${config#lease-sc}" 6 4 1024 "${config#lease-sc}" 0 || rc=1 ;;
        lease20-sc[0-9]*)
            run_config "$config" "default, 20 vms, lease, start_concurrency ${config#lease20-sc}, hosts 8 cpus 2048 MiB" 20 8 2048 "${config#lease20-sc}" 0 || rc=1 ;;
        *) say "unknown configuration '$config' (lease, fence, lease20, lease-scN, lease20-scN)"; exit 2 ;;
    esac
done
echo "    anchors: vSphere HA: host declared dead at 15-18 s, restarts 10-15 s later; Proxmox HA: about 120 s"
echo "    targets: p50 < 3 s with fence agent, < 8 s lease-only (DESIGN.md 5: D = 7 s)"
exit $rc
