# tests/lib/testing.sh - verdict lines for shell tests (sourced).
#
# Each case prints "PASS name" or "FAIL name: why"; tests/run counts them. testing_done exits
# non-zero if any case failed.

TESTING_FAILED=0

# pass NAME [DETAIL] - one passed case.
pass() { echo "PASS $1${2:+ ($2)}"; }

# fail NAME WHY - one failed case.
fail() { echo "FAIL $1: $2"; TESTING_FAILED=1; }

# check NAME WHY CMD... - pass if CMD succeeds, else fail with WHY.
check() {
    local name=$1 why=$2
    shift 2
    if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}

# exited_with RC EXPECTED OUTPUT TEXT... - true when RC is EXPECTED and OUTPUT contains every
# TEXT (fixed strings: quotes and globs in them mean nothing).
exited_with() {
    local rc=$1 expected=$2 output=$3 text
    shift 3
    [ "$rc" = "$expected" ] || return 1
    for text in "$@"; do grep -qF -- "$text" <<<"$output" || return 1; done
}

# now_ms - wall clock in milliseconds.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# testing_done - exit status of the whole test program.
testing_done() { exit "$TESTING_FAILED"; }
