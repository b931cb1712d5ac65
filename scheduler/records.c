/*  records.c - names of the scheduler's record enums (see records.h). */
#include "records.h"

const char *
host_state_name (host_state_t state)
{
    switch (state) {
        case HOST_STATE_UP:      return "up";
        case HOST_STATE_SUSPECT: return "suspect";
        case HOST_STATE_DOWN:    return "down";
    }
    return "invalid";
}

const char *
mutation_kind_name (mutation_kind_t kind)
{
    switch (kind) {
        case MUTATION_EPOCH:      return "epoch";
        case MUTATION_HOST_PUT:   return "host-put";
        case MUTATION_HOST_STATE: return "host-state";
        case MUTATION_VM_PUT:     return "vm-put";
        case MUTATION_VM_DELETE:  return "vm-delete";
    }
    return "invalid";
}
