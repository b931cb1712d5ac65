/*  records.h - the scheduler's persistent records and the mutations that change them.

    A mutation is a typed record of one change of cluster state. The scheduler builds one per
    change and hands it to store_apply, the only writer of the database; the same records are
    what a later replicated log (DESIGN.md §9) will carry between scheduler replicas. Records
    are plain values: fixed-size strings, no pointers, so a mutation can be copied and queued.
*/
#ifndef VMSCHED_RECORDS_H
#define VMSCHED_RECORDS_H

#include "wire.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    HOST_STATE_UP = 1,          // heartbeats arrive in time
    HOST_STATE_SUSPECT,         // no heartbeat for suspect_after_ms
    HOST_STATE_DOWN             // no heartbeat for down_after_ms
} host_state_t;

typedef struct {
    char id [WIRE_ID_SIZE];                 // persistent host identity (agent's uuid)
    char name [WIRE_NAME_SIZE];             // host name (unique)
    char boot_id [WIRE_ID_SIZE];            // kernel boot id at registration
    char hypervisor_uri [WIRE_TEXT_SIZE];   // libvirt URI the agent uses
    char agent_version [WIRE_NAME_SIZE];    // agent's vmsched version
    host_state_t state;                     // liveness state
    uint64_t generation;                    // bumped by every registration
    wire_capacity_t capacity;               // what the host offers
    int64_t registered_at;                  // wall ms of the last registration
    int64_t state_since;                    // wall ms of the last state change
} host_record_t;

typedef struct {
    char uuid [WIRE_ID_SIZE];               // libvirt domain uuid
    char name [WIRE_NAME_SIZE];             // domain name
    char host_id [WIRE_ID_SIZE];            // host it was last seen on
    domain_state_t state;                   // last observed run state
    uint32_t vcpus;                         // vCPUs
    uint64_t memory_kib;                    // memory
    bool persistent;                        // defined on the host (or transient)
    int64_t updated_at;                     // wall ms of the last change
} vm_record_t;

typedef enum {
    MUTATION_EPOCH = 1,         // a scheduler started leading with a new epoch
    MUTATION_HOST_PUT,          // insert or replace a host record
    MUTATION_HOST_STATE,        // a host's liveness state changed
    MUTATION_VM_PUT,            // insert or replace a VM record
    MUTATION_VM_DELETE          // a VM is gone from the cluster
} mutation_kind_t;

typedef struct {
    mutation_kind_t kind;                   // which member of the union is valid
    int64_t at;                             // wall ms when the change happened
    union {
        uint64_t epoch;                     // MUTATION_EPOCH
        host_record_t host;                 // MUTATION_HOST_PUT
        struct {
            char host_id [WIRE_ID_SIZE];    // which host
            host_state_t from, to;          // transition
            char reason [WIRE_TEXT_SIZE];   // why ("no heartbeat for 1520 ms")
        } host_state;                       // MUTATION_HOST_STATE
        struct {
            vm_record_t vm;                 // new record
            bool existed;                   // there was a previous record
            domain_state_t prev_state;      // its state (when existed)
            char prev_host_id [WIRE_ID_SIZE];   // its host (when existed)
        } vm_put;                           // MUTATION_VM_PUT
        struct {
            char uuid [WIRE_ID_SIZE];       // which VM
            char reason [WIRE_TEXT_SIZE];   // why it is gone
        } vm_delete;                        // MUTATION_VM_DELETE
    } u;
} mutation_t;

//  "up", "suspect", "down".
const char *host_state_name (host_state_t state);

//  "epoch", "host-put", ... for logs.
const char *mutation_kind_name (mutation_kind_t kind);

#endif
