#!/usr/bin/env bash
# tests/fuzz/run_fuzz.sh ENGINES_DIR WORK_CORPUS SECONDS - runs every libFuzzer engine for
# SECONDS, starting from tests/fuzz/corpus/NAME (new inputs go to WORK_CORPUS/NAME, crash
# inputs to WORK_CORPUS/crashes), and prints executions and crashes per target.
set -uo pipefail
engines=$1 work=$2 seconds=$3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work/crashes"
total_runs=0 total_crashes=0
printf '%-28s %12s %10s %8s\n' TARGET EXECUTIONS "EXEC/S" CRASHES
for engine in "$engines"/engine_fuzz_*; do
    name=$(basename "$engine"); name=${name#engine_}
    mkdir -p "$work/$name"
    log="$work/$name.log"
    "$engine" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
        -artifact_prefix="$work/crashes/$name-" "$work/$name" "$here/corpus/$name" \
        > "$log" 2>&1
    runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log" | tail -1)
    speed=$(awk '/stat::average_exec_per_sec/ { print $2 }' "$log" | tail -1)
    crashes=$(ls "$work/crashes" 2>/dev/null | grep -c "^$name-")
    printf '%-28s %12s %10s %8s\n' "$name" "${runs:-?}" "${speed:-?}" "$crashes"
    total_runs=$((total_runs + ${runs:-0}))
    total_crashes=$((total_crashes + crashes))
done
echo "fuzz: $total_runs executions in all, $total_crashes crash input(s) in $work/crashes"
[ "$total_crashes" -eq 0 ]
