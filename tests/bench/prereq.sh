# tests/bench/prereq.sh - the HA benchmarks' prerequisite checks (sourced): a benchmark that
# cannot run says what is missing and how to fix it, and fails; it never skips silently.
#
# Needs: say (the caller's message function), VMSCHED_BIN.

# prereq_fail WHAT [FIX] - reports a missing prerequisite and exits 1.
prereq_fail() {
    say "cannot run: $1"
    say "fix: ${2:-run 'make deps' (as root), then 'make'}"
    exit 1
}

# prereq_check WHY_ROOT TOOLS PROGRAMS - root (for WHY_ROOT), every tool of the space-separated
# list TOOLS on the PATH, every program of PROGRAMS in $VMSCHED_BIN.
prereq_check() {
    local tool prog
    [ "$(id -u)" = 0 ] || prereq_fail "needs root ($1)" "run make bench as root"
    for tool in $2; do
        command -v "$tool" > /dev/null || prereq_fail "'$tool' is missing"
    done
    for prog in $3; do
        [ -x "$VMSCHED_BIN/$prog" ] || prereq_fail "$VMSCHED_BIN/$prog is missing" "run 'make'"
    done
}
