/*  ctl_docs.h - the documents clusterctl's answers are made of (docs/clusterctl-json.md).

    Builders shared by all request handlers: they read the core's state (and, for history,
    the store) through a handler's context and return new jansson values (caller owns).
*/
#ifndef VMSCHED_CTL_DOCS_H
#define VMSCHED_CTL_DOCS_H

#include "ctl.h"

#include <jansson.h>

//  A host as `host list` shows it; detailed adds domains and history (`host show`).
json_t *ctl_host_json (const ctl_context_t *context, host_t *host, bool detailed);

//  A VM: observed (vm, may be NULL) and/or managed (spec, may be NULL; not both NULL);
//  detailed adds history and operations (`vm show`).
json_t *ctl_vm_json_of (const ctl_context_t *context, const vm_t *vm, const spec_t *spec,
                        bool detailed);

//  A managed VM as `vm list` shows it (its placed copy, if any).
json_t *ctl_vm_json (const ctl_context_t *context, const spec_t *spec);

//  The newest transitions of one entity (host id or vm uuid), oldest first.
json_t *ctl_history_json (const ctl_context_t *context, const char *entity_id);

//  A host by name or id; NULL with "no host named 'x' (see 'clusterctl host list')" in err.
host_t *ctl_find_host (const ctl_context_t *context, const char *name, char *err,
                       size_t err_size);

#endif
