/*  cluster_v1.h - reads a `vm-cluster-v1` snapshot (shared/formats/cluster-v1.md) for the
    placement engine.

    A loaded file owns every name, array and rule the engine borrows: cluster_v1_place hands
    out a place_cluster_t pointing into it, valid until cluster_v1_destroy. Hosts offer
    mem_mib - mem_reserved_mib; each placed VM's usage is already added to its host; rules
    become place_rule_t (hard or weighted). What the engine has no field for (ha, priority,
    migratable) is kept here, per VM, by the same index, with the measured load the balancer
    reads (cpu_load / cpu_util, cpu_ready, mem_used_mib, dirty_mib_s, last_migrated; nested
    and host_devices VMs are not migratable).
*/
#ifndef VMSCHED_CLUSTER_V1_H
#define VMSCHED_CLUSTER_V1_H

#include "balance.h"
#include "place.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct _cluster_v1_t cluster_v1_t;

//  Read and check the file at path (with jansson). Returns a new cluster the caller destroys,
//  or NULL with the reason in err, naming the file and the element: "c.json: vms[12].host
//  'node0099' is not a host", "c.json: hosts[3]: missing required field 'cpus'",
//  "c.json: hosts[3].cpus is a string, expected an integer", duplicate names, JSON syntax.
cluster_v1_t *cluster_v1_load (const char *path, char *err, size_t err_size);

//  The same from size bytes of JSON text in memory; name stands for the file in messages.
cluster_v1_t *cluster_v1_parse (const char *name, const char *text, size_t size, char *err,
                                size_t err_size);

//  Destroy a cluster and everything it owns. NULL-safe, sets *self_p to NULL.
void cluster_v1_destroy (cluster_v1_t **self_p);

//  The cluster as the placement engine sees it (default policy: spread, CPU overcommit 4.0,
//  memory 1.0). Borrowed: owned by self, which also owns what it points to; the caller may
//  change the policy, usage and VM hosts (place_bulk does).
place_cluster_t *cluster_v1_place (cluster_v1_t *self);

//  Per VM (same index as the place_cluster_t's vms): priority (0 when absent). Borrowed;
//  vm_count entries, for place_bulk_order.
const int *cluster_v1_priorities (const cluster_v1_t *self);

//  Whether the VM at index vm is HA-protected (vms[].ha, default false).
bool cluster_v1_vm_ha (const cluster_v1_t *self, size_t vm);

//  Whether the VM at index vm can live-migrate (vms[].migratable, default true).
bool cluster_v1_vm_migratable (const cluster_v1_t *self, size_t vm);

//  Per VM (same index): the load and migratability the balancer takes. Borrowed; vm_count
//  entries (the caller may change them).
const balance_vm_t *cluster_v1_load_figures (const cluster_v1_t *self);

//  The snapshot's time (top-level "time", seconds; 0 when absent): `now` for the cooldown.
double cluster_v1_time (const cluster_v1_t *self);

//  Index of the host / VM with this name, or -1.
int cluster_v1_host_index (const cluster_v1_t *self, const char *name);
int cluster_v1_vm_index (const cluster_v1_t *self, const char *name);

#endif
