/*  plan_v1.c - a balancing plan as vm-plan-v1 JSON (jansson) or as text.

    Implements plan_v1.h. Owns nothing beyond the string it returns.
*/
#include "plan_v1.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Name of host h, or "-" when the index is out of range (never in a well-formed plan).
static const char *
s_host (const place_cluster_t *cluster, int h)
{
    return h >= 0 && (size_t) h < cluster->host_count && cluster->hosts [h].name
         ? cluster->hosts [h].name: "-";
}

static const char *
s_vm (const place_cluster_t *cluster, int v)
{
    return v >= 0 && (size_t) v < cluster->vm_count && cluster->vms [v].name
         ? cluster->vms [v].name: "-";
}

char *
plan_v1_json (const place_cluster_t *cluster, const balance_plan_t *plan, double elapsed_ms)
{
    json_t *moves = json_array ();
    json_t *root = moves? json_object (): NULL;
    if (!root) {
        json_decref (moves);
        return NULL;
    }
    int rc = json_object_set_new (root, "format", json_string ("vm-plan-v1"));
    rc |= json_object_set (root, "moves", moves);
    for (size_t i = 0; i < plan->move_count && rc == 0; i++) {
        const balance_move_t *move = &plan->moves [i];
        rc |= json_array_append_new (moves, json_pack ("{s:s, s:s, s:s, s:I, s:f, s:f}",
            "vm", s_vm (cluster, move->vm), "from", s_host (cluster, move->from),
            "to", s_host (cluster, move->to), "batch", (json_int_t) move->batch,
            "gain", move->gain, "cost", move->cost));
    }
    rc |= json_object_set_new (root, "imbalance_before", json_real (plan->imbalance_before));
    rc |= json_object_set_new (root, "imbalance_after", json_real (plan->imbalance_after));
    rc |= json_object_set_new (root, "metric", json_string (balance_metric ()));
    rc |= json_object_set_new (root, "elapsed_ms", json_real (elapsed_ms));
    char *text = rc? NULL: json_dumps (root, JSON_INDENT (1) | JSON_PRESERVE_ORDER
                                             | JSON_REAL_PRECISION (6));
    json_decref (moves);
    json_decref (root);
    if (!text)
        return NULL;
    //  json_dumps ends without a newline; add one.
    size_t len = strlen (text);
    char *line = realloc (text, len + 2);
    if (!line) {
        free (text);
        return NULL;
    }
    line [len] = '\n';
    line [len + 1] = 0;
    return line;
}

char *
plan_v1_text (const place_cluster_t *cluster, const balance_plan_t *plan, int level,
              double elapsed_ms)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    if (!out)
        return NULL;
    double before = plan->imbalance_before, after = plan->imbalance_after;
    fprintf (out, "plan (level %d): imbalance %.4f -> %.4f (%.1f%% lower), %zu move%s in %u "
             "batch%s, %zu of %zu vms could move, %zu hosts counted, %.1f ms\n",
             level, before, after, before > 1e-9? 100.0 * (before - after) / before: 0.0,
             plan->move_count, plan->move_count == 1? "": "s", plan->batch_count,
             plan->batch_count == 1? "": "es", plan->candidates, cluster->vm_count,
             plan->hosts_counted, elapsed_ms);
    fprintf (out, "metric: %s\n", balance_metric ());
    if (plan->move_count == 0)
        fprintf (out, "no moves: the cluster is balanced enough for level %d\n", level);
    for (size_t i = 0; i < plan->move_count; i++) {
        const balance_move_t *move = &plan->moves [i];
        if (i == 0 || move->batch != plan->moves [i - 1].batch) {
            size_t count = 0;
            for (size_t j = i; j < plan->move_count && plan->moves [j].batch == move->batch; j++)
                count++;
            fprintf (out, "batch %u (%zu in parallel):\n", move->batch, count);
        }
        fprintf (out, "  %-12s %-12s -> %-12s gain %.6f  cost %.6f\n", s_vm (cluster, move->vm),
                 s_host (cluster, move->from), s_host (cluster, move->to), move->gain, move->cost);
    }
    if (fclose (out)) {
        free (text);
        return NULL;
    }
    return text;
}
