/*  plan_v1.h - writes a balancing plan as `vm-plan-v1` JSON (shared/formats/plan-v1.md)
    or as text for people.

    Pure formatting: names come from the cluster the plan was made for (borrowed), figures
    from the plan; nothing is computed here but the per-batch counts of the text form. The
    JSON is jansson's, with object keys in the order of the format document.
*/
#ifndef VMSCHED_PLAN_V1_H
#define VMSCHED_PLAN_V1_H

#include "balance.h"
#include "place.h"

//  The plan as vm-plan-v1 JSON text, ending in a newline: moves in execution order with
//  vm, from, to, batch, gain and cost; imbalance_before / after, metric, elapsed_ms.
//  Returns a new string the caller frees, or NULL when out of memory.
char *plan_v1_json (const place_cluster_t *cluster, const balance_plan_t *plan,
                    double elapsed_ms);

//  The same plan as text: a summary (level, imbalance before -> after, moves, batches,
//  candidates, time), the metric, then one line per move grouped by batch
//  ("  vm00017  node0003 -> node0009  gain 0.00123  cost 0.00009"). Returns a new string
//  the caller frees, or NULL when out of memory.
char *plan_v1_text (const place_cluster_t *cluster, const balance_plan_t *plan, int level,
                    double elapsed_ms);

#endif
