/*  ctl.h - the scheduler's answers to clusterctl: one table of request verbs.

    Each verb ("status", "host.list", "vm.create", "rule.add", ...) is a row with the schema
    of its argument object (ctl_args.h) and a handler that builds the reply's JSON document
    (docs/clusterctl-json.md). Reading verbs look at the model, the desired state and the
    store; changing verbs (ctl_ops.c) append mutations and commands the same way the agent
    handlers do, and the scheduler commits them before the reply leaves.
*/
#ifndef VMSCHED_CTL_H
#define VMSCHED_CTL_H

#include "auth.h"
#include "core.h"
#include "ctl_args.h"
#include "managed.h"
#include "model.h"
#include "reconcile.h"
#include "store.h"
#include "wire.h"

#include <jansson.h>

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
    uint64_t handshake_failed;      // handshakes failed before ZAP (not CURVE...), both ROUTERs
    int64_t wall;                   // wall ms (records)
    managed_t *managed;             // desired state (changing verbs modify it)
    const reconcile_config_t *reconcile;    // placement policy and operation settings
    outbox_t *outbox;               // commands to send after the commit
    mutations_t *mutations;         // changes to commit before replying
    auth_t *auth;                   // allow list (admin verbs change it)
    const principal_record_t *principal;    // who asks; NULL: the key is no longer allowed
    const char *who;                // their User-Id ("user:alice"), for the audit log
    ha_t *ha;                       // HA settings and timelines (status, host show); NULL:
                                    // none (tests without HA: those fields are left out)
} ctl_context_t;

//  A verb handler: args is the request's argument object, already checked against the
//  verb's schema (read it with the ctl_args accessors). Builds *result and returns 0, or
//  returns 1 (refused) or 2 (bad usage) with the reason in err.
typedef int (ctl_handler_fn) (const ctl_context_t *context, const json_t *args,
                              json_t **result, char *err, size_t err_size);

//  The argument object of request, read with its verb's schema (for ctl_handle and the fuzz
//  target). Returns it (caller json_decref's it), or NULL with the reason in err (an
//  unknown verb, or what ctl_args_read refused).
json_t *ctl_request_args (const wire_ctl_request_t *request, char *err, size_t err_size);

//  Answer one request: checks the asker's role against the verb's, runs it, audits every
//  request that changes something or is refused for lack of rights; fills reply (status,
//  error, json; the caller resets it).
void ctl_handle (const ctl_context_t *context, const wire_ctl_request_t *request,
                 wire_ctl_reply_t *reply);

//  What the daemon lends the handlers besides the core: history, the allow list, facts about
//  itself.
typedef struct {
    store_t *store;                 // for history (read) and nothing else
    auth_t *auth;                   // allow list (admin verbs change it)
    const char *version;            // scheduler version
    int64_t started;                // boot ms the scheduler started
    const char *database;           // database path
    const char *agent_endpoint;     // where agents connect
    const char *ctl_endpoint;       // where clusterctl connects
    uint64_t received;              // agent messages accepted
    uint64_t rejected;              // agent messages refused (malformed or stale)
    uint64_t handshake_failed;      // handshakes failed before ZAP, both ROUTERs
} ctl_env_t;

//  The request entry point, shaped like core_on_agent: one clusterctl request from `who`
//  (principal: its allow-list entry, NULL when no longer allowed) over core, at now (boot
//  ms) and wall (wall ms). Changes go to fx->mutations, commands the handler decided are
//  routed into fx->sends, and reply is filled (the caller resets it). The daemon commits fx,
//  then sends fx's messages and the reply.
void ctl_on_request (core_t *core, const ctl_env_t *env, const principal_record_t *principal,
                     const char *who, const wire_ctl_request_t *request, int64_t now,
                     int64_t wall, fx_t *fx, wire_ctl_reply_t *reply);

#endif
