#!/usr/bin/env bash
# tests/bench/run_bench.sh - vmsched's placement benchmark and the comparison with Ganeti's hail.
#
# usage: tests/bench/run_bench.sh BINDIR OUTDIR          (make bench runs it)
#
# 1. In process: single-VM placement latency at 100, 1,000 and 10,000 hosts (~15 VMs per host,
#    vm-cluster-v1 clusters that `bench_place --gen HOSTS 2024` writes into OUTDIR, the same
#    files on every run), with and without verdicts; bulk placement of 10,000 VMs into 1,000
#    empty hosts.
# 2. End to end, one process per request, against hail (ganeti-htools): each cluster turned
#    into IAllocator "allocate" requests (to_iallocator.py), hail and `bench_place_one --one`
#    (bench_place linked with the engine and jansson only) timed the same way, hail's
#    answers checked ("success": true and a node).
# Prints figures, asserts none. Needs nothing outside the repository but hail. Environment:
# VMSCHED_CLUSTERS (a folder of c100-s2024.json and c1000-s2024.json to use instead of the
# generated ones), BENCH_SECONDS (time budget per allocator and cluster size, default 40),
# BENCH_HAIL_10K=1 (also run hail on the 10,000-host cluster: one request takes minutes and
# gigabytes there, so it is off by default).
set -euo pipefail

bin=$(cd "${1:?usage: run_bench.sh BINDIR OUTDIR}" && pwd)
out=${2:?usage: run_bench.sh BINDIR OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
seconds=${BENCH_SECONDS:-40}
mkdir -p "$out"

# The clusters: generated (seed 2024; kept in OUTDIR, so later runs reuse them), or given.
for hosts in 100 1000 10000; do
    [ -s "$out/c$hosts-s2024.json" ] || "$bin/bench_place" --gen "$hosts" 2024 "$out/c$hosts-s2024.json"
done
clusters=${VMSCHED_CLUSTERS:-$out}
for f in c100-s2024.json c1000-s2024.json; do
    [ -r "$clusters/$f" ] || { echo "run_bench: $clusters/$f not found (VMSCHED_CLUSTERS)" >&2; exit 1; }
done
hail=$(dpkg -L ganeti-htools-3.0 ganeti-htools 2>/dev/null | grep -E '/hail$' | head -1 || true)
[ -n "$hail" ] || hail=$(command -v hail || true)
[ -x "$hail" ] || { echo "run_bench: hail not found: apt-get install ganeti-htools" >&2; exit 1; }

c100=$clusters/c100-s2024.json
c1000=$clusters/c1000-s2024.json
c10000=$out/c10000-s2024.json

echo "== vmsched placement engine ($(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
"$bin/bench_place" --inproc "$c100" "$c1000" "$c10000"

# The request sizes: the five commonest flavours of the mix (bench_place --compare asks for
# those with a request file).
flavours="1:1792 2:3584 4:7168 8:14336 8:57344"
echo
echo "== vmsched vs Ganeti hail ($("$hail" --version 2>&1 | head -1))"
rm -rf "$out/ia-100" "$out/ia-1000" "$out/ia-10000"
python3 "$here/to_iallocator.py" "$c100" "$out/ia-100" $flavours > /dev/null
python3 "$here/to_iallocator.py" "$c1000" "$out/ia-1000" $flavours > /dev/null
groups=(100 "$c100" "$out/ia-100" 1000 "$c1000" "$out/ia-1000")
if [ "${BENCH_HAIL_10K:-0}" = 1 ]; then
    python3 "$here/to_iallocator.py" "$c10000" "$out/ia-10000" 2:3584 > /dev/null
    groups+=(10000 "$c10000" "$out/ia-10000")
else
    groups+=(10000 "$c10000" -)
fi
"$bin/bench_place" --compare "$hail" "$bin/bench_place_one" "$seconds" "${groups[@]}"
[ "${BENCH_HAIL_10K:-0}" = 1 ] || echo "  (hail at 10,000 hosts: not run by default; BENCH_HAIL_10K=1 runs it: one request took 9.5 min and 2.2 GB here)"

# hail's default, with its global N+1 capacity check (which vmsched does not do), once.
start=$(date +%s%N)
answer=$("$hail" "$out/ia-100/req-2-3584.json")
end=$(date +%s%N)
echo "  (hail with its default N+1 capacity checks, 100 hosts, 1 request: $(( (end - start) / 1000000 )) ms: $(echo "$answer" | grep -o '"success":[a-z]*'))"
rm -rf "$out/ia-100" "$out/ia-1000" "$out/ia-10000"
