#!/usr/bin/env python3
"""to_iallocator.py - turn a vm-cluster-v1 file into Ganeti IAllocator "allocate" requests.

usage: to_iallocator.py CLUSTER.json OUTDIR VCPUS:MEM_MIB [VCPUS:MEM_MIB ...]

Writes OUTDIR/req-VCPUS-MEM.json, one request per size, for hail
(/usr/lib/ganeti/iallocators/hail FILE). The translation keeps what both allocators
understand and nothing else: every host becomes a vm_capable node of one node group (memory
total / reserved / free, CPUs), every placed VM a running instance on shared storage
(disk template "ext", so disks do not constrain either side), the group's instance policy
allows every flavour and the same vCPU overcommit as vmsched's default (4.0). Hosts in
maintenance become drained nodes, hosts down offline ones. Rules are not translated (hail
has no VM-VM or VM-host rules besides exclusion tags), so benchmark clusters carry none.
Standard library only.
"""
import json
import os
import sys

GROUP = "uuid-group-1"
VCPU_RATIO = 4.0


def ipolicy():
    """An instance policy that admits every flavour of the benchmark mix."""
    spec_min = {"cpu-count": 1, "disk-count": 1, "disk-size": 1, "memory-size": 128,
                "nic-count": 0, "spindle-use": 0}
    spec_max = {"cpu-count": 256, "disk-count": 16, "disk-size": 16777216,
                "memory-size": 4194304, "nic-count": 8, "spindle-use": 64}
    return {"minmax": [{"min": spec_min, "max": spec_max}],
            "std": {"cpu-count": 1, "disk-count": 1, "disk-size": 1024, "memory-size": 1024,
                    "nic-count": 1, "spindle-use": 1},
            "vcpu-ratio": VCPU_RATIO, "spindle-ratio": 1024.0,
            "disk-templates": ["ext", "diskless", "sharedfile", "rbd", "plain", "drbd"]}


def instance(vcpus, mem, nodes):
    """One instance (cluster member or the request) on shared storage."""
    return {"disks": [{"size": 1024, "mode": "rw", "spindles": 0}], "disk_space_total": 1024,
            "disk_template": "ext", "hypervisor": "kvm", "memory": mem, "vcpus": vcpus,
            "spindle_use": 0, "nics": [], "tags": [], "admin_state": "up",
            "admin_state_source": "admin", "nodes": nodes, "os": "debootstrap"}


def convert(cluster):
    """The request without its "request" member: nodes, instances, the node group."""
    used = {h["name"]: 0 for h in cluster["hosts"]}
    instances = {}
    for vm in cluster["vms"]:
        host = vm.get("host")
        if host is None:
            continue
        used[host] += vm["mem_mib"]
        instances[vm["name"]] = instance(vm["vcpus"], vm["mem_mib"], [host])
    nodes = {}
    for h in cluster["hosts"]:
        state = h.get("state", "up")
        reserved = h.get("mem_reserved_mib", 0)
        nodes[h["name"]] = {
            "total_memory": h["mem_mib"], "reserved_memory": reserved,
            "free_memory": max(0, h["mem_mib"] - reserved - used[h["name"]]),
            "i_pri_memory": used[h["name"]], "i_pri_up_memory": used[h["name"]],
            "total_cpus": h["cpus"], "reserved_cpus": 0,
            "total_disk": h.get("disk_mib", 1048576), "free_disk": h.get("disk_mib", 1048576),
            "total_spindles": 64, "free_spindles": 64,
            "offline": state == "down", "drained": state == "maintenance",
            "vm_capable": True, "master_candidate": True, "master_capable": True,
            "group": GROUP, "tags": [],
            "ndparams": {"exclusive_storage": False, "spindle_count": 64, "oob_program": None},
        }
    return {"cluster_name": "bench", "cluster_tags": [], "enabled_hypervisors": ["kvm"],
            "nodegroups": {GROUP: {"name": "default", "alloc_policy": "preferred",
                                   "networks": [], "tags": [], "ipolicy": ipolicy()}},
            "nodes": nodes, "instances": instances}


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__.strip().splitlines()[2])
    with open(argv[1]) as f:
        cluster = json.load(f)
    base = convert(cluster)
    os.makedirs(argv[2], exist_ok=True)
    for spec in argv[3:]:
        vcpus, mem = (int(x) for x in spec.split(":"))
        request = dict(instance(vcpus, mem, []), name="bench-new", type="allocate",
                       required_nodes=1)
        del request["nodes"], request["admin_state"], request["admin_state_source"]
        path = os.path.join(argv[2], "req-%d-%d.json" % (vcpus, mem))
        with open(path, "w") as f:
            json.dump(dict(base, request=request), f, separators=(",", ":"))
        print(path)


if __name__ == "__main__":
    main(sys.argv)
