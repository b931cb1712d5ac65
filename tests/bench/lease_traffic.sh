#!/usr/bin/env bash
# tests/bench/lease_traffic.sh - what the HA leases cost: messages per host, scheduler CPU.
#
# usage: tests/bench/lease_traffic.sh BINDIR OUTDIR          (make bench runs it)
#
# The real vmsched-scheduler and LEASE_BENCH_AGENTS (default 100) real vmsched-agent
# processes, each agent on a libvirt test-driver node of its own (test:///...node.xml, no
# VMs) with its witness on a port of its own, all on the loopback of a network namespace
# made for this run (so ports and nft rules touch nothing else). The scheduler, agents and
# [ha] timing run with their documented defaults (heartbeat 500 ms, [ha] profile default:
# h = 500 ms, k = 5 witnesses per host in a cluster this size). Once every host is up and
# every agent has its full lease config (k witnesses, k watched hosts), it measures over
# LEASE_BENCH_SECONDS (default 30):
#   - to the scheduler: the scheduler's own count of messages received from agents
#     (`clusterctl -o json status` .messages.received, delta);
#   - between witnesses: every agent's own counters (witness requests and replies it handed
#     to ZeroMQ; the agent logs them at debug level every 5 s: "counters at T ms: ...",
#     agent/agent.c s_log_counters), summed over the agents;
#   - on the wire, as a cross-check: nft counters in the namespace of TCP packets that carry
#     payload (ip length > 52) to and from the scheduler's port and the witness ports; these
#     include ZeroMQ's own ZMTP heartbeats (PING/PONG every 1 s per connection);
#   - the scheduler's CPU time (utime + stime of /proc/PID/stat) as a share of one core, and
#     the agents' on average.
# Prints the figures; asserts none. Needs root (namespace, nft) and the built programs.
# Environment: LAB_NAME (namespace prefix, default vhb), CLUSTER_PORT (default 7400; the
# witnesses use CLUSTER_PORT + 20 + i), LEASE_BENCH_AGENTS, LEASE_BENCH_SECONDS. Every
# process is started and ended by pid; the namespace and files go on every exit.
set -uo pipefail

usage="usage: tests/bench/lease_traffic.sh BINDIR OUTDIR"
here=$(cd "$(dirname "$0")" && pwd)
export VMSCHED_BIN=$(cd "${1:?$usage}" 2>/dev/null && pwd) || { echo "$usage" >&2; exit 2; }
out=${2:?$usage}
mkdir -p "$out"
out=$(cd "$out" && pwd)
agents=${LEASE_BENCH_AGENTS:-100}
seconds=${LEASE_BENCH_SECONDS:-30}
ns=${LAB_NAME:-vhb}-lt
export CLUSTER_PORT=${CLUSTER_PORT:-7400} CLUSTER_ADDR=127.0.0.1
export CLUSTER_EXEC="ip netns exec $ns"
export CLUSTER_DIR=$out/lease-traffic
export CLUSTER_HEARTBEAT_MS=500 CLUSTER_SUSPECT_MS=1500 CLUSTER_DOWN_MS=5000 CLUSTER_REPORT_MS=5000
. "$here/../lib/cluster.sh"

say() { echo "lease_traffic: $*" >&2; }
. "$here/prereq.sh"
prereq_check "a network namespace and nft counters" "ip nft jq awk" \
    "vmsched-scheduler vmsched-agent clusterctl"

cleanup() {
    [ -d "$CLUSTER_DIR" ] && cluster_stop > /dev/null 2>&1
    ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns" && ip netns delete "$ns"
    rm -rf "$CLUSTER_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup                                 # what a killed earlier run may have left

ip netns add "$ns" && ip -n "$ns" link set lo up || prereq_fail "cannot create network namespace '$ns'"
last=$((CLUSTER_PORT + 20 + agents - 1))
# Counted in the output hook only: on loopback every packet passes it once.
nft_rules=$(cat <<NFT
table inet vmsched_bench {
    counter sched_in {}
    counter sched_out {}
    counter witness_req {}
    counter witness_rep {}
    chain out {
        type filter hook output priority 0;
        tcp dport $CLUSTER_PORT ip length > 52 counter name sched_in
        tcp sport $CLUSTER_PORT ip length > 52 counter name sched_out
        tcp dport $((CLUSTER_PORT + 20))-$last ip length > 52 counter name witness_req
        tcp sport $((CLUSTER_PORT + 20))-$last ip length > 52 counter name witness_rep
    }
}
NFT
)
ip netns exec "$ns" nft -f - <<<"$nft_rules" || prereq_fail "cannot load nft counters in '$ns'" \
    "apt-get install nftables (make deps)"

mkdir -p "$CLUSTER_DIR"
cluster_scheduler_conf || exit 1
printf '\n[ha]\nprofile = default\n' >> "$CLUSTER_DIR/scheduler.conf"
cluster_start_scheduler
cluster_wait 10 ctl status || { say "the scheduler does not answer:"; tail -20 "$CLUSTER_DIR/scheduler.log" >&2; exit 1; }

started=$(date +%s)
for i in $(seq 1 "$agents"); do
    cluster_node_xml "$CLUSTER_DIR/h$i.xml" 8 16384
    cluster_agent_conf "h$i" "test://$CLUSTER_DIR/h$i.xml" > /dev/null
    sed -i '/^\[agent\]$/a log_level = debug' "$CLUSTER_DIR/h$i/agent.conf"
    ctl host add "h$i" --key "$CLUSTER_DIR/h$i/agent.key" > /dev/null \
        || { say "cannot allow h$i's key"; exit 1; }
    cluster_spawn "agent-h$i" "$CLUSTER_DIR/h$i/agent.log" $CLUSTER_EXEC \
        "$VMSCHED_BIN/vmsched-agent" -c "$CLUSTER_DIR/h$i/agent.conf" > /dev/null
done
if ! cluster_wait 90 cluster_hosts_up "$agents"; then
    say "not all $agents hosts up: $(ctl -o json status | jq -c .hosts)"; exit 1
fi
# Every agent has its final lease config, and its witness link uses it: it asks k
# witnesses and accepts k watched hosts (agent/witness_link.c logs each change of its sets).
k_of() {
    grep -h "witness link of host .*: asks" "$CLUSTER_DIR/$1/agent.log" | tail -1 \
        | sed -n 's/.*asks \([0-9]*\) host(s).*accepts \([0-9]*\) host(s).*/\1 \2/p'
}
all_configured() {
    local i
    for i in $(seq 1 "$agents"); do
        [ "$(k_of "h$i")" = "$k $k" ] || return 1
    done
}
k=5; [ "$agents" -le 6 ] && k=$((agents - 1))
if ! cluster_wait 60 all_configured; then
    say "not every agent's witness link asks and accepts $k hosts: $(for i in $(seq 1 "$agents"); do echo "h$i:$(k_of "h$i" | tr ' ' /)"; done | tr '\n' ' ')"
    exit 1
fi
sleep 5                                 # the last witness connections are made
setup_s=$(( $(date +%s) - started ))

sched_pid=$(cluster_pid scheduler)
cpu_ticks() { awk '{ s += $14 + $15 } END { print s + 0 }' "$@" 2>/dev/null; }
agent_stats=()
for i in $(seq 1 "$agents"); do agent_stats+=("/proc/$(cluster_pid "agent-h$i")/stat"); done
nft_packets() {
    ip netns exec "$ns" nft -j list counters table inet vmsched_bench \
        | jq -r '[.nftables[] | select(.counter) | .counter | {(.name): .packets}] | add
                 | "\(.sched_in) \(.sched_out) \(.witness_req) \(.witness_rep)"'
}
received() { ctl -o json status | jq -r .messages.received; }
uptime_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

t_start=$(date +%s%N); b_start=$(uptime_ms)
s_cpu0=$(cpu_ticks "/proc/$sched_pid/stat"); a_cpu0=$(cpu_ticks "${agent_stats[@]}")
r0=$(received); read -r si0 so0 wq0 wr0 < <(nft_packets)
sleep "$seconds"
t_end=$(date +%s%N); b_end=$(uptime_ms)
s_cpu1=$(cpu_ticks "/proc/$sched_pid/stat"); a_cpu1=$(cpu_ticks "${agent_stats[@]}")
r1=$(received); read -r si1 so1 wq1 wr1 < <(nft_packets)
sleep 5.5                               # one more counters line from every agent
up=$(ctl -o json status | jq -r .hosts.up)

elapsed_ms=$(( (t_end - t_start) / 1000000 ))
hz=$(getconf CLK_TCK)
# The agents' counter lines inside the window: per agent the rate between its first and
# its last line there, summed: requests (link sent - replies) and replies (witness grants
# and refusals) to and from peers.
witness=$(for i in $(seq 1 "$agents"); do
    grep -h 'counters at ' "$CLUSTER_DIR/h$i/agent.log" \
      | sed -n 's/.*counters at \([0-9]*\) ms: .*witness link sent \([0-9]*\) received \([0-9]*\) .*witness grants \([0-9]*\) refusals \([0-9]*\).*/\1 \2 \3 \4 \5/p' \
      | awk -v a="$b_start" -v b="$b_end" '$1 >= a - 100 && $1 <= b + 100 {
            if (!n++) { t0 = $1; s0 = $2; g0 = $4 + $5 } t1 = $1; s1 = $2; g1 = $4 + $5 }
          END { if (n >= 2 && t1 > t0) printf "%.6f %.6f\n", (s1 - s0) * 1000 / (t1 - t0), (g1 - g0) * 1000 / (t1 - t0); else print "x x" }'
done | awk '$1 == "x" { missing++; next } { sent += $1; replies += $2; n++ }
          END { printf "%.2f %.2f %d %d\n", sent, replies, n, missing }')
read -r w_sent w_replies w_agents w_missing <<<"$witness"

fig() { awk -v v="$1" -v d="$2" 'BEGIN { printf "%.1f", v / d }'; }
secs=$(awk -v ms="$elapsed_ms" 'BEGIN { print ms / 1000 }')
to_sched=$(fig "$(( r1 - r0 ))" "$(awk -v s="$secs" -v n="$agents" 'BEGIN { print s * n }')")
between=$(fig "$w_sent" "$w_agents")
requests=$(fig "$(awk -v a="$w_sent" -v b="$w_replies" 'BEGIN { print a - b }')" "$w_agents")
replies=$(fig "$w_replies" "$w_agents")
sched_cpu=$(awk -v t=$((s_cpu1 - s_cpu0)) -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.1f", 100 * t / hz / s }')
agent_cpu=$(awk -v t=$((a_cpu1 - a_cpu0)) -v hz="$hz" -v s="$secs" -v n="$agents" 'BEGIN { printf "%.2f", 100 * t / hz / s / n }')
wire() { awk -v d="$1" -v s="$secs" -v n="$agents" 'BEGIN { printf "%.1f", d / s / n }'; }
rss=$(for f in "${agent_stats[@]}"; do awk '/^VmRSS/ { print $2 }' "${f%stat}status"; done | awk '{ s += $1 } END { printf "%.0f", s / 1024 }')

echo "== HA lease traffic: the real scheduler and $agents real agents (libvirt test driver, loopback of a namespace of its own), default profile (h = 500 ms), measured over $secs s after $setup_s s of setup; load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
echo "lease traffic: $to_sched msgs/s per host to the scheduler, $between msgs/s per host between witnesses (k = $k); scheduler CPU $sched_cpu % of a core with $agents agents"
echo "    between witnesses, per host and second: $requests requests (RENEW to its k witnesses) + $replies replies (GRANT to the k hosts it watches), from the agents' own counters ($w_agents agents$([ "$w_missing" -gt 0 ] && echo ", $w_missing without two counter lines in the window"))"
echo "    on the wire (nft, TCP packets with payload, ZMTP heartbeats included), per host and second: $(wire $((si1 - si0))) to the scheduler, $(wire $((so1 - so0))) from it; $(wire $((wq1 - wq0))) to witness ports, $(wire $((wr1 - wr0))) from them"
echo "    agents: $agent_cpu % of a core each on average, $rss MiB RSS in all; hosts up at the end: $up of $agents"
