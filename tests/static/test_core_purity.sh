#!/usr/bin/env bash
# tests/static/test_core_purity.sh - the decision cores are pure (DESIGN.md §2).
#
# Nothing in scheduler/core/ (nor in the agent's core: agent_core, agent_fx, commands, lease)
# may include czmq, zmq, sqlite3, libvirt or daemon headers, read a clock or a random source,
# or hold a ZeroMQ routing id. The check runs once on the tree and once on a planted copy
# with one violation of each kind, which it must find: a check that cannot fail proves nothing.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)

# violations DIR... - prints every forbidden line in the C files under the given dirs/files.
violations() {
    local files=()
    for path in "$@"; do
        if [ -d "$path" ]; then
            while IFS= read -r f; do files+=("$f"); done < <(find "$path" -name '*.[ch]' | sort)
        elif [ -f "$path" ]; then files+=("$path"); fi
    done
    [ ${#files[@]} -gt 0 ] || return 0
    grep -nHE \
        -e '#[[:space:]]*include[[:space:]]*[<"](czmq|zmq|sqlite3|libvirt/[a-z-]+|transport|store|auth|peers|scheduler|clock)\.h[>"]' \
        -e '(^|[^a-z_])(clock_gettime|clock_boottime_ms|clock_wall_ms|gettimeofday|time|rand|random|srand|randof|getrandom|arc4random|zclock_[a-z]+|zuuid_[a-z]+|sleep|usleep|nanosleep)[[:space:]]*\(' \
        -e '/dev/u?random' \
        -e 'transport_route_t|zframe_t|zsock_t' \
        "${files[@]}" | grep -vE ':[0-9]+:[[:space:]]*(//|/?\*)'
}

failed=0
core_paths=("$top/scheduler/core")
for f in "$top"/agent/agent_core.[ch] "$top"/agent/agent_fx.[ch] "$top"/agent/commands.[ch] "$top"/agent/lease.[ch]; do [ -f "$f" ] && core_paths+=("$f"); done

found=$(violations "${core_paths[@]}")
if [ -n "$found" ]; then
    echo "$found"
    echo "FAIL core_purity (the lines above break DESIGN.md §2: effects belong in the daemon or shell)"
    failed=1
else
    echo "PASS core_purity (${core_paths[*]#$top/})"
fi

# The check itself must catch each kind of violation.
planted=$(mktemp -d)
trap 'rm -rf "$planted"' EXIT
cat > "$planted/a.c" <<'C'
#include <czmq.h>
#include "store.h"
static long f (void) { return clock_boottime_ms () + time (NULL) + rand (); }
static transport_route_t route;
C
cat > "$planted/b.c" <<'C'
#include <libvirt/libvirt.h>
#include <sqlite3.h>
static int g (void) { return open ("/dev/urandom", 0); }
C
cat > "$planted/clean.c" <<'C'
// time (NULL) in a comment is fine; so is a runtime or timeout_ms field
static int runtime (int timeout_ms) { return timeout_ms; }
C
got=$(violations "$planted" | wc -l)
clean=$(violations "$planted/clean.c" | wc -l)
if [ "$got" -eq 7 ] && [ "$clean" -eq 0 ]; then
    echo "PASS core_purity_check_catches_violations"
else
    violations "$planted"
    echo "FAIL core_purity_check_catches_violations (found $got of 7 planted violations, $clean in clean code)"
    failed=1
fi
exit $failed
