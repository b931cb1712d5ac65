#!/usr/bin/env bash
# tests/model/run_model.sh - model-check the HA lease protocol (tests/model/ha.pml) with SPIN.
#
# usage: tests/model/run_model.sh [quick|full]      (default: $MODEL_MODE, else quick)
#
# Every configuration is compiled (spin -a, gcc pan.c) and searched exhaustively (pan, hash
# compaction) and prints one line, "PASS name: ..." or "FAIL name: ...", with the states
# explored and the seconds taken. What each configuration must show:
#   safe/...    the protocol as built: the search completes and finds no error (S1 holds,
#               no deadlock) under the fault bounds named.
#   reach/...   assert(false) where a failover happens: it must be hit, so the safe runs
#               are not vacuous (the VM does get restarted elsewhere in the model).
#   mutant/...  a deliberately broken protocol: the search must find S1 violated.
# quick (make test, a few minutes) uses small fault bounds; full (make model) larger ones.
# MODEL_JOBS (default: 2, at most the number of cores) runs that many searches at a time.
# MODEL_TRACE=1 prints the counterexample of each run that found one (one line per tick).
# Exits non-zero if any configuration failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
model=$here/ha.pml
mode=${1:-${MODEL_MODE:-quick}}

for tool in spin gcc; do
    if ! command -v "$tool" > /dev/null; then
        echo "FAIL model/prerequisites: $tool is not installed (apt-get install -y spin gcc)"
        exit 1
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/vmsched-model.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

# The configurations: name | expectation (safe, reach, mutant) | bounds and macros | -w.
# Bounds: P partition changes, M single message faults, C host crashes, A agent crashes,
# Z freezes, R leader restarts, G highest generation. A bound not named is 0 (G: 2).
quick=(
    "safe/partitions+agent-crash|safe|P=2 A=1|26"
    "safe/partition+agent-crashes|safe|P=1 A=2|24"
    "safe/partitions+message-fault|safe|P=2 M=1|24"
    "safe/crash+freeze+leader-restart|safe|P=1 C=1 Z=1 R=1|26"
    "safe/no-symmetry-reduction|safe|P=1 A=2 NO_SYMMETRY|24"
    "reach/failover-after-crash|reach|C=1 REACH_CRASH|20"
    "reach/failover-after-partition|reach|P=1 REACH_PARTITION|20"
    "mutant/no-disk-blocks|mutant|P=2 A=2 NO_DISK_BLOCKS|26"
    "mutant/short-d|mutant|P=1 SHORT_D|20"
    "mutant/no-watchdog|mutant|Z=1 NO_WATCHDOG|20"
)
full=(
    "${quick[@]}"
    "safe/partitions+agent-crashes|safe|P=2 A=2|28"
    "safe/partitions+message+crash+agent|safe|P=2 M=1 C=1 A=1|28"
    "safe/partitions+freeze+leader+message|safe|P=2 Z=1 R=1 M=1|28"
    "safe/partition+all-host-faults+gen3|safe|P=1 M=1 C=1 A=1 Z=1 R=1 G=3|28"
)
case "$mode" in
quick) configs=("${quick[@]}") ;;
full)  configs=("${full[@]}") ;;
*)     echo "usage: $0 [quick|full]" >&2; exit 2 ;;
esac

# defines SPEC - the -D options for a bounds-and-macros spec such as "P=2 A=1 NO_WATCHDOG".
defines() {
    local -A bound=([P]=0 [M]=0 [C]=0 [A]=0 [Z]=0 [R]=0 [G]=2)
    local -A macro=([P]=MAX_PART [M]=MAX_MSG [C]=MAX_CRASH [A]=MAX_AGENT [Z]=MAX_FREEZE
                    [R]=MAX_LEADER [G]=MAXGEN)
    local out=() word
    for word in $1; do
        case "$word" in
        [PMCAZRG]=*) bound[${word%%=*}]=${word#*=} ;;
        *) out+=("-D$word") ;;
        esac
    done
    for key in P M C A Z R G; do out+=("-D${macro[$key]}=${bound[$key]}"); done
    echo "${out[@]}"
}

# check NAME EXPECT SPEC HASHBITS - runs one configuration; writes its verdict line to
# $work/NAME.line (and the counterexample to $work/NAME.trace).
check() {
    local name=$1 expect=$2 spec=$3 bits=$4
    local dir=$work/${name//\//_} verdict detail
    mkdir -p "$dir"
    local -a defs
    read -r -a defs <<< "$(defines "$spec")"
    local started ended
    started=$(date +%s.%N)
    if ! (cd "$dir" && spin -a "${defs[@]}" "$model" > spin.log 2>&1); then
        echo "FAIL $name: spin -a failed: $(tail -1 "$dir/spin.log")" | tee "$dir.line"
        return
    fi
    if ! (cd "$dir" && gcc -O2 -w -DSAFETY -DNOREDUCE -DHC4 -DMEMLIM=${MODEL_MEMLIM:-12000} \
            -o pan pan.c > gcc.log 2>&1); then
        echo "FAIL $name: gcc pan.c failed: $(tail -1 "$dir/gcc.log")" | tee "$dir.line"
        return
    fi
    (cd "$dir" && ./pan -m200000 -w"$bits" > pan.log 2>&1)
    ended=$(date +%s.%N)
    local log=$dir/pan.log errors states depth secs search
    errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$log" | tail -1)
    states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$log" | tail -1)
    depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' "$log" | tail -1)
    secs=$(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.1f", b - a }')
    search=$(sed -n 's/^pan: elapsed time \([0-9.e+]*\) seconds.*/\1/p' "$log" | tail -1)
    detail="states=${states:-?} depth=${depth:-?} search=${search:-0}s wall=${secs}s [$spec]"
    local violated
    violated=$(grep -m1 -E '^pan:[0-9]+: ' "$log" | sed 's/^pan:[0-9]*: //')
    if [ -z "$errors" ]; then
        verdict="FAIL $name: pan did not finish: $(tail -1 "$log") $detail"
    elif grep -qE 'reached -DMEMLIM bound|max search depth too small|Search not completed' "$log" \
            && [ "$expect" = safe ]; then
        verdict="FAIL $name: search incomplete ($(grep -m1 -E 'MEMLIM|too small|not completed' "$log")) $detail"
    else
        case "$expect" in
        safe)
            if [ "$errors" -eq 0 ]; then verdict="PASS $name: no error, $detail"
            else verdict="FAIL $name: $violated, $detail"; fi ;;
        reach)
            if [ "$errors" -ge 1 ] && [[ "$violated" == *crashed0* ]]; then
                verdict="PASS $name: failover reached, $detail"
            else verdict="FAIL $name: failover never reached (${violated:-no error}), $detail"; fi ;;
        mutant)
            if [ "$errors" -ge 1 ] && [[ "$violated" == *"copy[0]"* ]]; then
                verdict="PASS $name: two copies found, $detail"
            else verdict="FAIL $name: mutant not caught (${violated:-no error}), $detail"; fi ;;
        esac
    fi
    if [ -f "$dir/ha.pml.trail" ]; then
        (cd "$dir" && spin -t -k ha.pml.trail "${defs[@]}" "$model" 2>&1 |
            grep -E '^ *(tick:|H[0-9] |event:)|assertion violated' | sed 's/^ *//' > "$dir.trace")
    fi
    echo "$verdict" > "$dir.line"
    echo "$verdict"
}

jobs=${MODEL_JOBS:-2}
cores=$(nproc 2> /dev/null || echo 1)
[ "$jobs" -le "$cores" ] || jobs=$cores
echo "model: $mode check of $model ($jobs at a time)"
running=0
for config in "${configs[@]}"; do
    IFS='|' read -r name expect spec bits <<< "$config"
    check "$name" "$expect" "$spec" "$bits" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

# Verdicts were printed as the searches ended; now the ones that never printed one, and the
# counterexamples (of failures, or all with MODEL_TRACE=1).
failed=0
for config in "${configs[@]}"; do
    IFS='|' read -r name _ _ _ <<< "$config"
    line_file=$work/${name//\//_}.line
    [ -f "$line_file" ] || echo "FAIL $name: no verdict"
    grep -q '^PASS ' "$line_file" 2> /dev/null || failed=1
    trace=$work/${name//\//_}.trace
    if [ -s "$trace" ] && { [ "${MODEL_TRACE:-0}" = 1 ] || ! grep -q '^PASS ' "$line_file"; }; then
        echo "counterexample of $name (the state at the start of each tick):"
        sed 's/^/    /' "$trace"
    fi
done
exit "$failed"
