#!/usr/bin/env bash
# test_plan.sh - `vmsched-scheduler plan`, the offline balancing planner, as a program.
#
# On clusters from gen_cluster (100 hosts, with rules and non-migratable VMs; a balanced
# one): -o json prints vm-plan-v1 (jq checks the keys and that every move names a VM, two
# hosts and a batch, in batch order); the same file gives the same moves twice; --max-moves
# caps them; a balanced cluster gets an empty plan; the text form summarises the plan;
# a bad file, a bad option and a missing --cluster exit 1, 2, 2 with the field or option
# named once on stderr. Needs jq (make deps installs it).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/testing.sh"
: "${VMSCHED_BIN:?set VMSCHED_BIN to the directory with the built programs}"
command -v jq > /dev/null || { fail plan/jq "jq is missing: apt-get install jq"; testing_done; }

dir=$(mktemp -d /tmp/vmsched-plan.XXXXXX)
trap 'rm -rf "$dir"' EXIT
plan="$VMSCHED_BIN/vmsched-scheduler plan"
jq_true() { jq -e "$@" > /dev/null; }

"$VMSCHED_BIN/gen_cluster" 100 3 "$dir/c.json" --extras
"$VMSCHED_BIN/gen_cluster" 30 3 "$dir/flat.json" --balanced
$plan --cluster "$dir/c.json" -o json > "$dir/p1.json"
check plan/json-exit "plan -o json failed" test $? -eq 0
check plan/json-shape "not a vm-plan-v1 with moves" jq_true '
    .format == "vm-plan-v1" and (.moves | length) > 0
    and .imbalance_after < .imbalance_before and (.metric | length) > 10
    and (.elapsed_ms | type) == "number"
    and all(.moves[]; (.vm | startswith("vm")) and (.from | startswith("node"))
                      and (.to | startswith("node")) and .from != .to
                      and (.batch | type) == "number" and .gain > .cost)
    and ([.moves[].batch] == ([.moves[].batch] | sort))' "$dir/p1.json"
$plan --cluster "$dir/c.json" -o json > "$dir/p2.json"
check plan/deterministic "two runs gave different moves" \
    test "$(jq -c '.moves' "$dir/p1.json")" = "$(jq -c '.moves' "$dir/p2.json")"
check plan/max-moves "--max-moves 5 did not give 5 moves" \
    test "$($plan --cluster "$dir/c.json" --max-moves 5 -o json | jq '.moves | length')" = 5
check plan/balanced "a balanced cluster got moves" \
    test "$($plan --cluster "$dir/flat.json" --level 5 -o json | jq '.moves | length')" = 0
check plan/text "the text form has no summary line" \
    grep -q '^plan (level 3): imbalance ' <($plan --cluster "$dir/c.json")

sed 's/"cpu_util": 0.0001,/"cpu_util": "low",/' "$dir/c.json" > "$dir/bad.json"
grep -q '"low"' "$dir/bad.json" || sed -i '0,/"cpu_util": [0-9.]*,/s//"cpu_util": "low",/' "$dir/bad.json"
$plan --cluster "$dir/bad.json" > "$dir/out" 2> "$dir/err"
rc=$?
check plan/bad-file "exit $rc, stderr: $(cat "$dir/err")" \
    grep -qE '^vmsched-scheduler plan: .*/bad.json: vms\[[0-9]+\]\.cpu_util is a string, expected a number$' "$dir/err"
check plan/bad-file-exit "exit status $rc, want 1, or output on stdout" test $rc -eq 1 -a ! -s "$dir/out"
check plan/bad-file-once "the error was not printed once" test "$(wc -l < "$dir/err")" -eq 1
$plan --cluster "$dir/c.json" --level 0 2> "$dir/err" > /dev/null
rc=$?
check plan/bad-level "exit $rc: $(cat "$dir/err")" \
    grep -q "^vmsched-scheduler plan: --level '0': expected a whole number from 1 to 5" "$dir/err"
$plan --level 3 2> "$dir/err" > /dev/null
rc=$?
check plan/no-cluster "exit $rc: $(head -1 "$dir/err")" test $rc -eq 2
testing_done
