#!/usr/bin/env bash
# test_lab_tools.sh - the lab's tools for the HA tests work on a real two-host lab.
#
# The copy counter (lab_copycount) sees one and then two running copies of a VM started on
# both hosts, with the right hosts, a live migration's target as "incoming", and keeps
# sampling every ~50 ms while a host is frozen, naming the frozen copies. lab_freeze stops
# every process of a host, even one that forks all the time, and lab_thaw undoes it. The
# watchdog stand-in (lab_watchdog) leaves a petted host alone, resets it (SIGKILL of its
# init) W ms after the last pet, its domains vanish from the counter, and after the host
# boots again only a new pet re-arms it. lab_down ends both tools.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/testing.sh"
: "${VMSCHED_BIN:?set VMSCHED_BIN to the directory with the built programs}"

# A lab of its own (namespaces vlt-*, network 10.77.9.0/24) beside the other lab tests'.
LAB_DIR=$(mktemp -d /tmp/vmsched-lab.XXXXXX)
export LAB_NAME=vlt LAB_NET=10.77.9 LAB_DIR
. "$here/lab.sh"
trap 'lab_down > /dev/null 2>&1' EXIT

W=1000                          # watchdog timeout (ms)
copies_log=$LAB_DIR/copies.log

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# state_of PID - one-letter process state (R, S, T, Z...), empty when gone.
state_of() {
    local stat
    read -r stat 2>/dev/null < "/proc/$1/stat" || return 0
    stat=${stat##*) }
    echo "${stat%% *}"
}
host_states() { local p; for p in $(lab_host_pids "$1"); do state_of "$p"; done; }
all_stopped() { [ -n "$(host_states "$1")" ] && ! host_states "$1" | grep -qv '^[TtZ]$'; }
none_stopped() { ! host_states "$1" | grep -q '^[Tt]$'; }
sampling() { lab_alive "$1" && [ "$(state_of "$1")" != T ]; }
quietly() { "$@" > /dev/null; }

# copies_are NAME EXPECTED - lab_copies NAME prints EXPECTED (e.g. "2 h1,h2 frozen:h2").
copies_are() { [ "$(lab_copies "$1")" = "$2" ]; }
# wait_copies_are NAME EXPECTED SECONDS
wait_copies_are() {
    local n
    for n in $(seq 1 $(( $3 * 20 ))); do copies_are "$1" "$2" && return 0; sleep 0.05; done
    copies_are "$1" "$2"
}
# logged LINE... - the copy counter's log has these change lines (without the time), in order.
logged() {
    local want
    want=$(printf '%s\n' "$@")
    cut -d' ' -f2- "$copies_log" | grep -Fx -f <(printf '%s\n' "$@") | awk '!seen[$0]++' \
        | diff -q - <(echo "$want") > /dev/null
}
json() { jq -r "$1" "$copies_log.json"; }

dump() {
    echo "--- copies.log"; cat "$copies_log" 2>/dev/null
    echo "--- copies.log.summary"; cat "$copies_log.summary" 2>/dev/null
    echo "--- h2/watchdog.log"; cat "$LAB_DIR/h2/watchdog.log" 2>/dev/null
}

for tool in lab_copycount lab_watchdog; do
    [ -x "$VMSCHED_BIN/$tool" ] || { fail tools-built "no $VMSCHED_BIN/$tool (run make)"; testing_done; }
done
command -v jq > /dev/null || { fail jq "jq is missing (make deps)"; testing_done; }
started=$(date +%s%N)
if ! lab_prepare || ! lab_up 2; then fail lab "the lab did not come up (see above)"; testing_done; fi

# ---------------------------------------------------------------------------------------
# Copy counter: one copy, then a deliberate second one on the other host

if lab_copycount_start "$copies_log"; then pass copycount-start; else fail copycount-start "see above"; testing_done; fi
counter=$(cat "$LAB_DIR/copycount.pid")

lab_create 1 vm-a || fail create "cannot start vm-a on h1"
check one-copy "vm-a should have 1 copy, seen: $(lab_copies vm-a)" lab_wait_copies vm-a 1 5
check one-copy-on-h1 "expected '1 h1', seen '$(lab_copies vm-a)'" copies_are vm-a "1 h1"

lab_create 2 vm-a && lab_create 2 vm-b || fail create "cannot start vm-a, vm-b on h2"
check two-copies "vm-a should have 2 copies, seen: $(lab_copies vm-a)" lab_wait_copies vm-a 2 5
check two-copies-hosts "expected '2 h1,h2', seen '$(lab_copies vm-a)'" copies_are vm-a "2 h1,h2"
check one-copy-vm-b "expected '1 h2', seen '$(lab_copies vm-b)'" wait_copies_are vm-b "1 h2" 5
check change-log "the log should show vm-a on h1, then on h1,h2" logged "vm-a 1 h1" "vm-a 2 h1,h2"

# A live migration: two QEMU processes for its duration, the younger one an -incoming target.
lab_create 1 vm-m && lab_migrate vm-m 1 2 > /dev/null || fail migrate "cannot migrate vm-m h1 -> h2"
check migrated "expected '1 h2', seen '$(lab_copies vm-m)'" wait_copies_are vm-m "1 h2" 5
check migration-target-seen "the log should show h2's copy as incoming during the migration" \
    logged "vm-m 1 h1" "vm-m 2 h1,h2 incoming:h2" "vm-m 1 h2"

# ---------------------------------------------------------------------------------------
# Freeze and thaw h2, with a process on it that forks all the time

forker=$(lab_spawn 2 "$LAB_DIR/forker.log" bash -c 'while :; do /bin/true; done')
sleep 0.2
t=$(date +%s%N)
if lab_freeze 2; then pass freeze "$(ms_since "$t") ms, $(lab_host_pids 2 | wc -l) processes"; else fail freeze "see above"; fi
check freeze-stops-all "every process of h2 should be stopped, states: $(host_states 2 | sort | uniq -c | xargs)" \
    all_stopped 2
sleep 0.5
check copycount-runs-while-frozen "lab_copycount (pid $counter) should be running, state $(state_of "$counter")" \
    sampling "$counter"
# shellcheck disable=SC2046
check copycount-once-not-blocked "lab_copycount --once should answer within 2 s" quietly \
    timeout 2 "$VMSCHED_BIN/lab_copycount" --once $(lab_copycount_hosts)
check frozen-copy-counts "expected '2 h1,h2 frozen:h2', seen '$(lab_copies vm-a)'" \
    copies_are vm-a "2 h1,h2 frozen:h2"
check frozen-copy-logged "the log should show vm-b frozen on h2" logged "vm-b 1 h2 frozen:h2"
sleep 0.5

t=$(date +%s%N)
if lab_thaw 2; then pass thaw "$(ms_since "$t") ms"; else fail thaw "see above"; fi
kill -TERM "$forker" 2>/dev/null
check thaw-continues-all "no process of h2 should stay stopped, states: $(host_states 2 | sort | uniq -c | xargs)" \
    none_stopped 2
check thawed-copy "expected '2 h1,h2', seen '$(lab_copies vm-a)'" wait_copies_are vm-a "2 h1,h2" 2
check libvirtd-after-thaw "h2's libvirtd should answer after the thaw" quietly \
    timeout 10 nsenter -t "$(lab_host_pid 2)" -n -m -u -p -- virsh -q -c qemu:///system domstate vm-b

# ---------------------------------------------------------------------------------------
# Watchdog stand-in on h2: petted, it waits; unpetted for W ms, it resets the host

pet=$(lab_pet_file 2)
init=$(lab_host_pid 2)
if lab_watchdog_start 2 "$pet" "$W"; then pass watchdog-start; else fail watchdog-start "see above"; fi
watchdog=$(cat "$LAB_DIR/h2/watchdog.pid")
lab_exec 2 touch "$pet"         # the agent's side: the same path inside the host
check pet-file-shared "a pet from inside h2 should show outside at $pet" test -f "$pet"
for _ in 1 2 3 4 5 6; do sleep 0.3; touch "$pet"; done
last_pet=$(date +%s%N)
check watchdog-armed "the watchdog log should say armed" grep -q "watchdog: armed" "$LAB_DIR/h2/watchdog.log"
check petted-host-lives "h2's init must live while petted (1.8 s > W)" lab_alive "$init"

while lab_alive "$init" && [ "$(ms_since "$last_pet")" -lt $(( W + 2000 )) ]; do sleep 0.01; done
unpetted=$(ms_since "$last_pet")
if lab_alive "$init"; then
    fail watchdog-reset "h2's init $init still alive $unpetted ms after the last pet"
elif [ "$unpetted" -lt $(( W - 10 )) ] || [ "$unpetted" -gt $(( W + 1000 )) ]; then
    fail watchdog-reset "h2's init died $unpetted ms after the last pet (expected $W..$(( W + 1000 )))"
else
    pass watchdog-reset "h2 gone $unpetted ms after the last pet, W = $W ms"
fi
reset_line=$(grep -o "host init $init reset after [0-9]* ms without a pet" "$LAB_DIR/h2/watchdog.log")
reported=$(echo "$reset_line" | awk '{print $6}')
check watchdog-log "expected 'host init $init reset after ~$W ms without a pet', log: $(cat "$LAB_DIR/h2/watchdog.log")" \
    test -n "$reported" -a "${reported:-0}" -ge $(( W - 10 )) -a "${reported:-0}" -le $(( W + 1000 ))
check reset-kills-domains "vm-b should have no copy left, seen: $(lab_copies vm-b)" lab_wait_copies vm-b 0 2
check reset-leaves-h1 "expected '1 h1', seen '$(lab_copies vm-a)'" copies_are vm-a "1 h1"

# After the host boots again, the stale pet file does not re-arm the watchdog; a new pet does.
lab_boot 2 || fail boot "h2 did not boot again"
sleep 0.3
check stale-pet-does-not-rearm "h2 must stay up after the boot until it pets again" \
    lab_alive "$(lab_host_pid 2)"
touch "$pet"
sleep 0.2
check watchdog-rearmed "the watchdog log should say re-armed" grep -q "watchdog: re-armed" "$LAB_DIR/h2/watchdog.log"
lab_watchdog_stop 2
check watchdog-stop "the watchdog should log its clean stop" \
    grep -q "watchdog: stopped after 1 reset$" "$LAB_DIR/h2/watchdog.log"
check watchdog-gone "lab_watchdog (pid $watchdog) should have exited" bash -c "! kill -0 $watchdog 2>/dev/null"

# ---------------------------------------------------------------------------------------
# Summary of the whole run

summary=$(lab_copycount_stop)
check copycount-stop "lab_copycount should stop and print its summary" grep -q "^copycount: " <<<"$summary"
echo "$summary" | sed 's/^/    /'
if [ -f "$copies_log.json" ]; then
    samples=$(json .samples) gap=$(json .max_gap_ms) duration=$(json .duration_ms)
    pass summary-json "$samples samples in $duration ms, max gap $gap ms"
    check max-copies-2 "vm-a: max_copies $(json '.vms["vm-a"].max_copies'), expected 2" \
        test "$(json '.vms["vm-a"].max_copies')" = 2
    check ms-multi "vm-a ran twice for a while, ms_multi $(json '.vms["vm-a"].ms_multi')" \
        test "$(json '.vms["vm-a"].ms_multi')" -gt 1000
    check sample-gap "max gap between samples $gap ms, expected < 200" test "$gap" -lt 200
    check sample-rate "$samples samples in $duration ms: expected one per ~50 ms" \
        test "$samples" -ge $(( duration / 70 ))
    check vm-b-last-host "vm-b: last_host $(json '.vms["vm-b"].last_host'), copies $(json '.vms["vm-b"].copies')" \
        test "$(json '.vms["vm-b"].last_host')/$(json '.vms["vm-b"].copies')" = h2/0
    check migration-figures "vm-m: max_copies 2 and 1 without migration targets, got $(jq -c '.vms["vm-m"]' "$copies_log.json")" \
        test "$(json '.vms["vm-m"] | "\(.max_copies) \(.max_copies_ex_incoming) \(.ms_multi_ex_incoming)"')" = "2 1 0"
else
    fail summary-json "no $copies_log.json"
fi

[ "$TESTING_FAILED" = 0 ] || dump
lab_down
check down-stops-tools "no lab tool may survive lab_down" bash -c "! kill -0 $counter 2>/dev/null"
check down-namespaces "no $LAB_NAME namespace may remain" bash -c "! ip netns list | grep -q '^$LAB_NAME-'"
pass total-time "$(ms_since "$started") ms"
testing_done
