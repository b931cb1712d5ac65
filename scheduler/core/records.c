/*  records.c - names of the scheduler's record enums (see records.h). */
#include "records.h"

#include <string.h>

const char *
host_state_name (host_state_t state)
{
    switch (state) {
        case HOST_STATE_UP:      return "up";
        case HOST_STATE_SUSPECT: return "suspect";
        case HOST_STATE_DOWN:    return "down";
        case HOST_STATE_DEAD:    return "dead";
    }
    return "invalid";
}

const char *
mutation_kind_name (mutation_kind_t kind)
{
    switch (kind) {
        case MUTATION_EPOCH:       return "epoch";
        case MUTATION_HOST_PUT:    return "host-put";
        case MUTATION_HOST_STATE:  return "host-state";
        case MUTATION_VM_PUT:      return "vm-put";
        case MUTATION_VM_DELETE:   return "vm-delete";
        case MUTATION_SPEC_PUT:    return "spec-put";
        case MUTATION_SPEC_DELETE: return "spec-delete";
        case MUTATION_RULE_PUT:    return "rule-put";
        case MUTATION_RULE_DELETE: return "rule-delete";
        case MUTATION_OP_PUT:      return "op-put";
        case MUTATION_DECISION:    return "decision";
        case MUTATION_PRINCIPAL_PUT:    return "principal-put";
        case MUTATION_PRINCIPAL_DELETE: return "principal-delete";
        case MUTATION_AUDIT:       return "audit";
        case MUTATION_MAY_RUN_PUT: return "may-run-put";
        case MUTATION_MAY_RUN_DELETE: return "may-run-delete";
        case MUTATION_HOST_EVENT:  return "host-event";
    }
    return "invalid";
}

const char *
vm_want_name (vm_want_t want)
{
    switch (want) {
        case VM_WANT_STOPPED: return "stopped";
        case VM_WANT_RUNNING: return "running";
        case VM_WANT_DELETED: return "deleted";
    }
    return "invalid";
}

const char *
rule_kind_name (rule_kind_t kind)
{
    switch (kind) {
        case RULE_AFFINITY:      return "affinity";
        case RULE_ANTI_AFFINITY: return "anti-affinity";
        case RULE_VM_HOST:       return "vm-host";
    }
    return "invalid";
}

const char *
role_name (role_t role)
{
    switch (role) {
        case ROLE_NONE:     return "none";
        case ROLE_VIEWER:   return "viewer";
        case ROLE_OPERATOR: return "operator";
        case ROLE_ADMIN:    return "admin";
    }
    return "invalid";
}

role_t
role_parse (const char *text)
{
    for (role_t role = ROLE_VIEWER; role <= ROLE_ADMIN; role++)
        if (strcmp (text, role_name (role)) == 0)
            return role;
    return ROLE_NONE;
}
