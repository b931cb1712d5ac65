/*  records.h - the scheduler's persistent records and the mutations that change them.

    A mutation is a typed record of one change of cluster state. The scheduler builds one per
    change and hands it to store_apply, the only writer of the database; the same records are
    what a later replicated log (DESIGN.md §9) will carry between scheduler replicas. Records
    are plain values: fixed-size strings, no pointers, so a mutation can be copied and queued.
    The one exception is a mutation's `blob`: variable-size text (a domain's XML, a decision's
    verdicts as JSON) owned by the mutation and freed by whoever drops it (mutations_clear).
*/
#ifndef VMSCHED_RECORDS_H
#define VMSCHED_RECORDS_H

#include "wire.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    HOST_STATE_UP = 1,          // heartbeats arrive in time
    HOST_STATE_SUSPECT,         // no heartbeat for suspect_after_ms
    HOST_STATE_DOWN,            // no heartbeat for down_after_ms: must register again
    HOST_STATE_DEAD             // declared dead (DESIGN.md §5.4, §5.5): its HA VMs may run
                                // elsewhere; must register again
} host_state_t;

//  True for the states in which a host must register again before it is heard (down, dead).
#define HOST_STATE_GONE(state) ((state) == HOST_STATE_DOWN || (state) == HOST_STATE_DEAD)

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
    bool maintenance;                       // operator asked to empty it; not schedulable
    char migration_uri [WIRE_TEXT_SIZE];    // where peers live-migrate to (from HELLO)
    char witness_endpoint [WIRE_TEXT_SIZE]; // where its witness listens (from HELLO; "")
    char watchdog [WIRE_TEXT_SIZE];         // what resets it ("none", "device PATH", ...)
    char public_key [WIRE_KEY_SIZE];        // its CURVE key at registration (witness sets)
} host_record_t;

//  One entry of a host's failover timeline (DESIGN.md §5): what happened when.
typedef struct {
    char host_id [WIRE_ID_SIZE];            // whose timeline
    int64_t at;                             // wall ms
    char kind [24];                         // "silent", "suspect", "witness", "fence",
                                            // "fenced", "fence-failed", "dead", "placed",
                                            // "started", "start-failed", "returned"
    char detail [WIRE_TEXT_SIZE * 2];       // one line
} host_event_record_t;

//  One observed copy of a domain: what host_id last reported of it. Keyed by (uuid,
//  host_id): two hosts reporting one uuid are two copies, never one VM that moved.
typedef struct {
    char uuid [WIRE_ID_SIZE];               // libvirt domain uuid
    char name [WIRE_NAME_SIZE];             // domain name
    char host_id [WIRE_ID_SIZE];            // host that reports this copy
    domain_state_t state;                   // last observed run state
    uint32_t vcpus;                         // vCPUs
    uint64_t memory_kib;                    // memory
    bool persistent;                        // defined on the host (or transient)
    int64_t updated_at;                     // wall ms of the last change
} vm_record_t;

//  What the operator wants of a cluster-managed VM.
typedef enum {
    VM_WANT_STOPPED = 1,        // defined in the cluster, not running
    VM_WANT_RUNNING,            // keep it running somewhere (autostart)
    VM_WANT_DELETED             // stop it, then forget it
} vm_want_t;

//  A cluster-managed VM: the definition and policy the operator gave (`vm create`). The
//  domain XML is kept beside it (specs.xml), not in the record.
typedef struct {
    char uuid [WIRE_ID_SIZE];               // assigned at creation, written into the XML
    char name [WIRE_NAME_SIZE];             // unique in the cluster
    vm_want_t want;                         // desired state
    bool ha;                                // restart elsewhere when its host dies (HA issue)
    int32_t priority;                       // start order: higher first
    uint32_t vcpus;                         // from the XML
    uint64_t memory_mib;                    // from the XML
    uint32_t cpu_reserve;                   // CPUs guaranteed (never overcommitted)
    uint64_t mem_reserve_mib;               // memory guaranteed
    bool needs_nested;                      // runs a hypervisor: needs vmx/svm + nested
    bool migratable;                        // may be live-migrated
    uint64_t generation;                    // bumped by every change of want or placement
    char host_id [WIRE_ID_SIZE];            // where the database places it ("" nowhere): the
                                            // copy kept when two are seen
    char reason [WIRE_TEXT_SIZE * 2];       // why it runs where it runs, or why it does not
    int64_t created_at;                     // wall ms
    int64_t updated_at;                     // wall ms of the last change
} spec_record_t;

typedef enum {
    RULE_AFFINITY = 1,          // the VMs run on one host
    RULE_ANTI_AFFINITY,         // no two of the VMs share a host
    RULE_VM_HOST                // the VMs run on (positive) / away from (!positive) the hosts
} rule_kind_t;

#define RULE_MAX_MEMBERS 16

//  A placement rule (`rule add`). Members are names; a member that does not exist yet
//  simply does not constrain anything until it does.
typedef struct {
    char name [WIRE_NAME_SIZE];             // unique
    rule_kind_t kind;                       // what it says
    bool hard;                              // must / must-not (filter) or should (penalty)
    bool positive;                          // VM_HOST: must/should (true), must-not/should-not
    uint32_t weight;                        // soft rules: penalty when violated
    uint32_t vm_count;                      // used entries of vms
    char vms [RULE_MAX_MEMBERS][WIRE_NAME_SIZE];    // VM names
    uint32_t host_count;                    // used entries of hosts (VM_HOST)
    char hosts [RULE_MAX_MEMBERS][WIRE_NAME_SIZE];  // host names
    int64_t created_at;                     // wall ms
} rule_record_t;

//  One command the scheduler issued and what became of it.
typedef struct {
    uint64_t id;                            // command id sent to the agent
    char vm_uuid [WIRE_ID_SIZE];            // which VM
    char vm_name [WIRE_NAME_SIZE];          // its name
    command_action_t action;                // start, stop, migrate
    char host_id [WIRE_ID_SIZE];            // host it was sent to (migration source)
    char target_host_id [WIRE_ID_SIZE];     // migration target
    uint64_t host_generation;               // registration of host_id the command was fenced with
    char state [16];                        // "running", "done", "failed", "abandoned"
    char message [WIRE_TEXT_SIZE * 2];      // outcome
    int64_t started_at;                     // wall ms
    int64_t finished_at;                    // wall ms, 0 while running
} op_record_t;

//  A host where a copy of a managed VM may run because a command was sent there (the
//  target of a START or of a migration), kept until a report proves otherwise (DESIGN.md
//  §5.9). Observed copies are the other members of the set; together they say where a VM
//  may run, and a VM is started only when that set is empty.
typedef struct {
    char vm_uuid [WIRE_ID_SIZE];            // which managed VM
    char host_id [WIRE_ID_SIZE];            // where a copy may run
    uint64_t op_id;                         // the command that put it there
    uint64_t host_generation;               // the registration that command was fenced with
} may_run_record_t;

typedef enum {
    PRINCIPAL_HOST = 1,         // an agent's key: may speak for one host
    PRINCIPAL_USER              // an operator's key: may use clusterctl within its role
} principal_kind_t;

typedef enum {
    ROLE_NONE = 0,              // hosts have no operator role
    ROLE_VIEWER,                // read verbs only
    ROLE_OPERATOR,              // VM lifecycle, migration, maintenance
    ROLE_ADMIN                  // everything: hosts, users, rules, settings
} role_t;

#define PRINCIPAL_NAME_SIZE WIRE_NAME_SIZE
#define PRINCIPAL_KEY_SIZE  41  // Z85 public key + NUL

//  A key the scheduler accepts (the allow list).
typedef struct {
    char name [PRINCIPAL_NAME_SIZE];        // host name or user name
    principal_kind_t kind;                  // host or user
    role_t role;                            // users: what they may do
    char key [PRINCIPAL_KEY_SIZE];          // CURVE public key, Z85
    int64_t created_at;                     // wall ms
} principal_record_t;

//  One audited request: who did what, and how it ended.
typedef struct {
    char who [PRINCIPAL_NAME_SIZE + 8];     // "user:alice", "host:h1"
    char verb [WIRE_NAME_SIZE];             // request verb
    int32_t status;                         // 0 done, 1 refused or failed, 2 bad usage
    char message [WIRE_TEXT_SIZE * 2];      // the error, or "ok"
} audit_record_t;

typedef enum {
    MUTATION_EPOCH = 1,         // a scheduler started leading with a new epoch
    MUTATION_HOST_PUT,          // insert or replace a host record
    MUTATION_HOST_STATE,        // a host's liveness state changed
    MUTATION_VM_PUT,            // insert or replace a VM record
    MUTATION_VM_DELETE,         // a VM is gone from the cluster
    MUTATION_SPEC_PUT,          // insert or replace a managed VM (blob: its XML, or NULL to
                                // keep the stored XML)
    MUTATION_SPEC_DELETE,       // a managed VM was deleted
    MUTATION_RULE_PUT,          // insert a rule
    MUTATION_RULE_DELETE,       // delete a rule
    MUTATION_OP_PUT,            // insert or update an operation
    MUTATION_DECISION,          // a placement decision with its verdicts (blob: JSON)
    MUTATION_PRINCIPAL_PUT,     // a key was allowed
    MUTATION_PRINCIPAL_DELETE,  // a key was revoked
    MUTATION_AUDIT,             // a request was audited (blob: its arguments, abridged)
    MUTATION_MAY_RUN_PUT,       // a command made a host a place where a VM may run
    MUTATION_MAY_RUN_DELETE,    // a report proved that copy absent (vm_uuid, host_id, op_id)
    MUTATION_HOST_EVENT         // an entry of a host's failover timeline
} mutation_kind_t;

typedef struct {
    mutation_kind_t kind;                   // which member of the union is valid
    uint64_t seq;                           // place in the committed history, numbered by
                                            // the daemon at commit (0 before); the event
                                            // stream and replication follow it
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
            char host_id [WIRE_ID_SIZE];    // which copy: the host that no longer has it
            char reason [WIRE_TEXT_SIZE];   // why it is gone
        } vm_delete;                        // MUTATION_VM_DELETE
        spec_record_t spec;                 // MUTATION_SPEC_PUT
        char spec_uuid [WIRE_ID_SIZE];      // MUTATION_SPEC_DELETE
        rule_record_t rule;                 // MUTATION_RULE_PUT
        char rule_name [WIRE_NAME_SIZE];    // MUTATION_RULE_DELETE
        op_record_t op;                     // MUTATION_OP_PUT
        struct {
            char vm_uuid [WIRE_ID_SIZE];    // which VM
            char host [WIRE_NAME_SIZE];     // chosen host name, "" when none fits
            char summary [WIRE_TEXT_SIZE * 2];  // the decision in one line
        } decision;                         // MUTATION_DECISION
        principal_record_t principal;       // MUTATION_PRINCIPAL_PUT, _DELETE (kind, name)
        audit_record_t audit;               // MUTATION_AUDIT
        may_run_record_t may_run;           // MUTATION_MAY_RUN_PUT, _DELETE
        host_event_record_t host_event;     // MUTATION_HOST_EVENT
    } u;
    char *blob;                             // owned variable-size text (see above) or NULL
} mutation_t;

//  "up", "suspect", "down", "dead".
const char *host_state_name (host_state_t state);

//  "epoch", "host-put", ... for logs.
const char *mutation_kind_name (mutation_kind_t kind);

//  "stopped", "running", "deleted".
const char *vm_want_name (vm_want_t want);

//  "affinity", "anti-affinity", "vm-host".
const char *rule_kind_name (rule_kind_t kind);

//  "viewer", "operator", "admin" ("none" for ROLE_NONE); role_parse returns ROLE_NONE for
//  anything else.
const char *role_name (role_t role);
role_t role_parse (const char *text);

#endif
