/*  ctl.h - the scheduler's answers to clusterctl: one table of request verbs.

    Each verb ("status", "host.list", "host.show", "vm.list", "vm.show") is a row with its
    argument count and a handler that reads the model (and the store, for history) and builds
    the reply's JSON document (docs/clusterctl-json.md). Handlers only read; a verb that
    changes state will append mutations the same way the agent handlers do.
*/
#ifndef VMSCHED_CTL_H
#define VMSCHED_CTL_H

#include "model.h"
#include "store.h"
#include "wire.h"

//  What a handler may look at.
typedef struct {
    model_t *model;                 // the cluster
    store_t *store;                 // for history
    const char *version;            // scheduler version
    uint64_t epoch;                 // leader epoch
    int64_t uptime_ms;              // since start
    int64_t now;                    // boot ms (for "last seen" ages)
    const char *database;           // database path
    const char *agent_endpoint;     // where agents connect
    const char *ctl_endpoint;       // where clusterctl connects
    uint64_t received;              // agent messages accepted
    uint64_t rejected;              // agent messages refused (malformed or stale)
} ctl_context_t;

//  Answer one request: fills reply (status, error, json; the caller resets it).
void ctl_handle (const ctl_context_t *context, const wire_ctl_request_t *request,
                 wire_ctl_reply_t *reply);

#endif
