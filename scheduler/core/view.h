/*  view.h - the cluster as the placement engine sees it, built from model and desired state.

    Bridges the scheduler's structures and the pure engine (place.h): every host of the
    model, every VM (managed specs and observed domains) with the usage it puts on its host
    (observed running VMs; starts and migrations in flight count on their target), and the
    rules with names resolved to indices. Built per use (a few per second at most); owns its
    arrays, borrows names from the model and managed state, which must not change meanwhile.
*/
#ifndef VMSCHED_VIEW_H
#define VMSCHED_VIEW_H

#include "managed.h"
#include "model.h"
#include "place.h"

typedef struct view view_t;

//  Build the view. extra: a rule to include beside the stored ones (rule add), or NULL.
//  NULL when out of memory.
view_t *view_new (model_t *model, managed_t *managed, const place_policy_t *policy,
                  const rule_record_t *extra);
void view_destroy (view_t **self_p);

//  The engine's input (borrowed).
place_cluster_t *view_cluster (view_t *self);

//  Smoothed load (load.h) of the engine's input, for the balancer: hosts[i] for
//  cluster->hosts[i] (host_count entries) and vms[i] for cluster->vms[i] (vm_count entries;
//  a VM without an active observed copy has no figures: every has_ flag false). Either
//  array may be NULL. The figures are as of the last full reports (updated_at); a consumer
//  that wants memory where none is measured (libvirt's test driver) falls back to the
//  configured memory_mib.
void view_load (view_t *self, load_figures_t *hosts, load_figures_t *vms);

//  Host index of host (-1 when unknown) and the host at an index.
int view_host_index (view_t *self, const host_t *host);
host_t *view_host (view_t *self, int index);

//  Place a managed VM, host `exclude` rejected as "source host" (NULL: none). verdicts:
//  NULL or host-count entries. Returns the chosen host or NULL (decision says why).
host_t *view_place (view_t *self, const spec_t *spec, const host_t *exclude,
                    place_verdict_t *verdicts, place_decision_t *decision);

//  Count spec's usage on host from now on (a start or migration was just decided).
void view_assign (view_t *self, const spec_t *spec, const host_t *host);

//  Verdicts as a JSON array [{host, fits, score, reason}] (caller frees), NULL on failure.
char *view_verdicts_json (view_t *self, const place_verdict_t *verdicts);

#endif
