#!/usr/bin/env python3
"""to_hbal.py - turn a vm-cluster-v1 file (optionally with a vm-plan-v1 plan applied) into
Ganeti's htools text backend and a dynamic utilisation file, for hbal (-t FILE -U UTIL).

usage: to_hbal.py CLUSTER.json OUT.data OUT.util [PLAN.json]
       to_hbal.py --hbal-plan HBAL.out OUT.json
       to_hbal.py --apply CLUSTER.json PLAN.json OUT.json

--hbal-plan turns the moves hbal printed ("  1. vm00017 node0003 => node0009 0.412 a=...",
also those of a run cut short by SIGINT) into a vm-plan-v1 file, so hbal's result goes through
the same conversion as vmsched's; --apply writes the cluster with a plan's moves applied (to
judge a result by vmsched's formula).

The translation keeps what both planners understand: every host a node of one group (memory
total / used by the node itself = mem_reserved_mib / free, disk 1 TiB free: shared storage,
CPUs; maintenance hosts drained, down hosts offline), every placed VM a running instance with
disk template "ext" (shared storage: its only move is a live migration to any node), the
group's instance policy with vCPU ratio 4.0 as vmsched's default. The utilisation file gives
each instance its CPU load as a fraction of a 48-core host's cores (cpu_load / cpus of its
host), so hbal's cpu_load_cv term is vmsched's CPU term; memory, disk and network load 0.
With PLAN.json, its moves are applied in order first (the result of vmsched's plan).
Standard library only.
"""
import json
import sys

GROUP = "uuid-group-1"
IPOLICY = ("128,1,1024,1,1,1|128,1,1024,1,1,1;4194304,256,16777216,16,8,64|"
           "ext,diskless,sharedfile,rbd,plain,drbd|4.0|1024.0")


def write(cluster, data_path, util_path, plan=None):
    hosts = {h["name"]: h for h in cluster["hosts"]}
    where = {v["name"]: v.get("host") for v in cluster["vms"]}
    if plan:
        for move in plan["moves"]:
            if where.get(move["vm"]) != move["from"]:
                sys.exit("to_hbal: plan move of %s from %s: it is on %s"
                         % (move["vm"], move["from"], where.get(move["vm"])))
            where[move["vm"]] = move["to"]
    used = {name: 0 for name in hosts}
    for vm in cluster["vms"]:
        if where[vm["name"]]:
            used[where[vm["name"]]] += vm["mem_mib"]
    cores = 48
    with open(data_path, "w") as out:
        out.write("default|%s|preferred||\n\n" % GROUP)
        for name, h in hosts.items():
            reserved = h.get("mem_reserved_mib", 0)
            state = h.get("state", "up")
            flag = {"up": "N", "maintenance": "Y", "down": "Y"}[state]
            out.write("%s|%d|%d|%d|1048576|1048576|%d|%s|%s|1\n"
                      % (name, h["mem_mib"], reserved, h["mem_mib"] - reserved - used[name],
                         h["cpus"], flag, GROUP))
            cores = h["cpus"]
        out.write("\n")
        for vm in cluster["vms"]:
            if where[vm["name"]]:
                out.write("%s|%d|1024|%d|running|Y|%s||ext||1\n"
                          % (vm["name"], vm["mem_mib"], vm["vcpus"], where[vm["name"]]))
        out.write("\n\n|%s\n%s|%s\n" % (IPOLICY, "default", IPOLICY))
    with open(util_path, "w") as out:
        for vm in cluster["vms"]:
            if where[vm["name"]]:
                load = vm.get("cpu_load", vm.get("cpu_util", 0) * vm["vcpus"])
                out.write("%s %.6f 0 0 0\n" % (vm["name"], load / cores))


def hbal_plan(out_path, plan_path):
    moves = []
    for line in open(out_path):
        fields = line.split()
        if len(fields) >= 5 and fields[0].rstrip(".").isdigit() and fields[3] == "=>":
            moves.append({"vm": fields[1], "from": fields[2], "to": fields[4], "batch": 0,
                          "gain": 0, "cost": 0})
    json.dump({"format": "vm-plan-v1", "moves": moves}, open(plan_path, "w"))


def apply(cluster_path, plan_path, out_path):
    cluster = json.load(open(cluster_path))
    vms = {v["name"]: v for v in cluster["vms"]}
    for move in json.load(open(plan_path))["moves"]:
        vm = vms[move["vm"]]
        if vm.get("host") != move["from"]:
            sys.exit("to_hbal: move of %s from %s: it is on %s"
                     % (move["vm"], move["from"], vm.get("host")))
        vm["host"] = move["to"]
    json.dump(cluster, open(out_path, "w"))


def main(argv):
    if len(argv) == 4 and argv[1] == "--hbal-plan":
        hbal_plan(argv[2], argv[3])
        return 0
    if len(argv) == 5 and argv[1] == "--apply":
        apply(argv[2], argv[3], argv[4])
        return 0
    if len(argv) not in (4, 5):
        sys.exit(__doc__.split("\n\n")[1])
    cluster = json.load(open(argv[1]))
    plan = json.load(open(argv[4])) if len(argv) == 5 else None
    write(cluster, argv[2], argv[3], plan)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
