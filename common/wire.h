/*  wire.h - the envelope codec: plain C messages <-> protobuf bytes, with validation.

    This is the only code outside tests that touches the generated protobuf-c types. Decoding
    uses a budgeted allocator (a hostile message cannot make us allocate more than
    WIRE_DECODE_BUDGET), then checks every field (protocol version, enum values, oneof case,
    string lengths and characters, counts, sizes) and copies it into a wire_msg_t, so the rest
    of the code only ever sees validated values and never a pointer into protobuf memory.
*/
#ifndef VMSCHED_WIRE_H
#define VMSCHED_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_PROTOCOL_VERSION  1
#define WIRE_MAX_MESSAGE       (4 * 1024 * 1024)    // ZMQ_MAXMSGSIZE on every socket
#define WIRE_DECODE_BUDGET     (16 * 1024 * 1024)   // heap a single decode may use
#define WIRE_MAX_DOMAINS       4096                 // per report
#define WIRE_MAX_NUMA          64                   // NUMA cells per host
#define WIRE_MAX_ARGS_JSON     (2 * 1024 * 1024)    // ctl request arguments, JSON text
#define WIRE_MAX_ARG           (1024 * 1024)        // one ctl argument (domain XML fits)
#define WIRE_ID_SIZE           37                   // uuid text + NUL
#define WIRE_NAME_SIZE         128                  // host / domain names
#define WIRE_TEXT_SIZE         256                  // uri, versions, reasons
#define WIRE_FLAGS_SIZE        4096                 // cpu flags, space separated
#define WIRE_KEY_SIZE          41                   // CURVE public key, Z85 + NUL
#define WIRE_MAX_WITNESSES     8                    // witness peers per host (k <= 7)
#define WIRE_MAX_COUNTER       INT64_MAX            // cumulative usage counters (ns): signed
                                                    // differences of two never overflow
#define WIRE_MAX_MEMORY_KIB    (UINT64_C (1) << 42) // memory figures of a domain (4 PiB)

typedef enum {
    WIRE_NONE = 0,
    WIRE_HELLO,         // agent -> scheduler
    WIRE_WELCOME,       // scheduler -> agent
    WIRE_HEARTBEAT,     // agent -> scheduler
    WIRE_REPORT,        // agent -> scheduler
    WIRE_EVENT,         // agent -> scheduler
    WIRE_REJECT,        // scheduler -> agent
    WIRE_CTL_REQUEST,   // clusterctl -> scheduler
    WIRE_CTL_REPLY,     // scheduler -> clusterctl
    WIRE_COMMAND,       // scheduler -> agent
    WIRE_COMMAND_RESULT,// agent -> scheduler
    WIRE_REPORT_REQUEST,// scheduler -> agent
    WIRE_RENEW,         // agent -> scheduler, agent -> witness
    WIRE_GRANT,         // scheduler -> agent, witness -> agent
    WIRE_LEASE_CONFIG,  // scheduler -> agent
    WIRE_WITNESS_REPORT // agent -> scheduler
} wire_kind_t;

typedef enum {
    COMMAND_NONE = 0, COMMAND_START, COMMAND_STOP, COMMAND_MIGRATE, COMMAND_ABORT,
    COMMAND_ACTION_COUNT
} command_action_t;

typedef enum {
    RESULT_NONE = 0, RESULT_ACCEPTED, RESULT_PROGRESS, RESULT_DONE, RESULT_FAILED, RESULT_STALE,
    RESULT_STATUS_COUNT
} command_status_t;

typedef enum {
    DOMAIN_UNKNOWN = 0, DOMAIN_RUNNING, DOMAIN_BLOCKED, DOMAIN_PAUSED, DOMAIN_SHUTDOWN,
    DOMAIN_SHUTOFF, DOMAIN_CRASHED, DOMAIN_PMSUSPENDED,
    DOMAIN_STATE_COUNT
} domain_state_t;

typedef enum {
    EVENT_UNKNOWN = 0, EVENT_DEFINED, EVENT_UNDEFINED, EVENT_STARTED, EVENT_SUSPENDED,
    EVENT_RESUMED, EVENT_STOPPED, EVENT_SHUTDOWN, EVENT_PMSUSPENDED, EVENT_CRASHED,
    EVENT_KIND_COUNT
} event_kind_t;

typedef struct {
    uint32_t id;                        // NUMA cell number
    uint32_t cpus;                      // CPUs in the cell
    uint64_t memory_mib;                // memory in the cell
} wire_numa_t;

typedef struct {
    uint32_t cpus;                      // logical CPUs for guests
    uint64_t memory_mib;                // memory for guests
    char cpu_model [WIRE_NAME_SIZE];    // CPU model name
    char cpu_flags [WIRE_FLAGS_SIZE];   // space-separated feature flags
    bool nested;                        // nested virtualization enabled
    uint32_t numa_count;                // used entries of numa
    wire_numa_t numa [WIRE_MAX_NUMA];   // NUMA cells
} wire_capacity_t;

typedef struct {
    char uuid [WIRE_ID_SIZE];           // libvirt domain uuid
    char name [WIRE_NAME_SIZE];         // libvirt domain name
    domain_state_t state;               // run state
    uint32_t vcpus;                     // current vCPUs
    uint64_t memory_kib;                // current memory
    bool persistent;                    // defined (true) or transient
    bool has_cpu_time;                  // cpu_time_ns is valid
    uint64_t cpu_time_ns;               // total CPU time of the domain (<= WIRE_MAX_COUNTER)
    bool has_vcpu_delay;                // vcpu_delay_ns is valid
    uint64_t vcpu_delay_ns;             // total time vCPUs waited to run (<= WIRE_MAX_COUNTER)
    bool has_rss;                       // rss_kib is valid
    uint64_t rss_kib;                   // resident memory of the QEMU process (balloon.rss)
    bool has_balloon;                   // balloon_kib is valid
    uint64_t balloon_kib;               // memory the guest has now (balloon.current)
} wire_domain_t;

typedef struct {
    char host_id [WIRE_ID_SIZE];        // persistent host identity
    char name [WIRE_NAME_SIZE];         // host name
    char boot_id [WIRE_ID_SIZE];        // kernel boot id
    char hypervisor_uri [WIRE_TEXT_SIZE];   // libvirt URI the agent uses
    char agent_version [WIRE_NAME_SIZE];    // vmsched version of the agent
    wire_capacity_t capacity;           // what the host offers
    char migration_uri [WIRE_TEXT_SIZE];    // libvirt URI peers live-migrate to
    char witness_endpoint [WIRE_TEXT_SIZE]; // where peers send witness renewals ("": none)
    char watchdog [WIRE_TEXT_SIZE];         // "none", "device PATH" or "file PATH"
} wire_hello_t;

typedef struct {
    uint64_t generation;                // host generation of this registration
    uint64_t leader_epoch;              // scheduler epoch
    uint64_t hello_seq;                 // seq of the Hello this answers
    uint32_t heartbeat_ms;              // expected heartbeat interval
} wire_welcome_t;

typedef struct {
    bool hypervisor_connected;          // agent currently connected to libvirtd
    uint32_t domain_count;              // used entries of domains (report only)
    wire_domain_t *domains;             // owned array (report only)
    uint64_t request_token;             // report only: the newest REPORT_REQUEST token the
                                        // agent had received before listing (0 none)
} wire_report_t;                        // also used for WIRE_HEARTBEAT (count 0)

typedef struct {
    event_kind_t kind;                  // what happened
    wire_domain_t domain;               // domain after the event
} wire_event_t;

typedef struct {
    char reason [WIRE_TEXT_SIZE];       // why the message was refused
    bool reregister;                    // agent must send Hello again
} wire_reject_t;

typedef struct {
    char reason [WIRE_TEXT_SIZE];       // why a full report is asked for (may be empty)
    uint64_t token;                     // echoed by the reports listed after it (0: none)
} wire_report_request_t;

typedef struct {
    char verb [WIRE_NAME_SIZE];         // "host.list", "vm.show", ...
    char *args_json;                    // owned: the arguments, one JSON object's text (read
                                        // by scheduler/ctl_args.c); NULL when none
    bool legacy_args;                   // decoded only: the sender used the old key=value
                                        // strings (field 2, never sent)
} wire_ctl_request_t;

typedef struct {
    int32_t status;                     // 0 ok, 1 refused/failed, 2 bad usage
    char error [WIRE_TEXT_SIZE * 4];    // message when status != 0
    char *json;                         // owned result document, NULL when none
} wire_ctl_reply_t;

typedef struct {
    uint64_t id;                        // operation id
    uint64_t leader_epoch;              // sender's epoch
    uint64_t host_generation;           // registration the command is meant for
    uint64_t vm_generation;             // VM's desired-state generation
    char vm_uuid [WIRE_ID_SIZE];        // which VM
    char vm_name [WIRE_NAME_SIZE];      // its name (logs)
    command_action_t action;            // what to do
    char *domain_xml;                   // owned: START's domain definition, else NULL
    char target_uri [WIRE_TEXT_SIZE];   // MIGRATE: libvirt URI of the target
    char target_host [WIRE_NAME_SIZE];  // MIGRATE: target host name
    uint32_t timeout_ms;                // MIGRATE: abort after this long
    uint32_t graceful_ms;               // STOP: shutdown grace before destroy (0: destroy)
    bool ha;                            // START: an HA VM (needs a lease on the host)
} wire_command_t;

typedef struct {
    uint64_t id;                        // operation id
    char vm_uuid [WIRE_ID_SIZE];        // which VM
    uint64_t vm_generation;             // the command's VM generation
    command_status_t status;            // what became of it
    char message [WIRE_TEXT_SIZE * 2];  // why / what
    uint64_t data_total;                // PROGRESS: migration bytes in all
    uint64_t data_processed;            // PROGRESS: bytes transferred
    uint64_t data_remaining;            // PROGRESS: bytes still to go
    uint32_t elapsed_ms;                // since the agent began executing the command
} wire_command_result_t;

typedef struct {
    uint64_t id;                        // per sender process, increasing
    uint64_t config_version;            // the lease config the sender holds
} wire_renew_t;

typedef struct {
    uint64_t id;                        // the renew this answers
    uint32_t lease_ms;                  // granted: lease to send time + lease_ms
    bool refused;                       // not granted
    char reason [WIRE_TEXT_SIZE];       // refused: why
} wire_grant_t;

typedef struct {
    char host_id [WIRE_ID_SIZE];        // the peer
    char name [WIRE_NAME_SIZE];         // its name (logs)
    char endpoint [WIRE_TEXT_SIZE];     // its witness endpoint
    char public_key [WIRE_KEY_SIZE];    // its CURVE public key
    uint64_t generation;                // its registration
} wire_witness_peer_t;

typedef struct {
    uint64_t version;                   // increases with every change
    uint32_t renew_ms;                  // h
    uint32_t lease_ms;                  // L
    uint32_t dead_after_ms;             // D
    uint32_t witness_count;             // peers to renew witness leases from
    wire_witness_peer_t witnesses [WIRE_MAX_WITNESSES];
    uint32_t watched_count;             // peers to grant to and watch
    wire_witness_peer_t watched [WIRE_MAX_WITNESSES];
} wire_lease_config_t;

typedef struct {
    char host_id [WIRE_ID_SIZE];        // the silent peer
    uint64_t generation;                // its registration that fell silent
    uint32_t silent_ms;                 // silent this long
    bool blocked;                       // blocked on the witness's disk
} wire_silent_t;

typedef struct {
    uint32_t count;
    wire_silent_t silent [WIRE_MAX_WITNESSES];
} wire_witness_report_t;

typedef struct {
    wire_kind_t kind;                   // which body is valid
    uint32_t version;                   // sender's protocol version
    uint64_t seq;                       // sender's sequence number
    char host_id [WIRE_ID_SIZE];        // agent messages: sender host id
    uint64_t generation;                // agent messages: host generation
    uint64_t session;                   // random per sender process
    union {
        wire_hello_t hello;
        wire_welcome_t welcome;
        wire_report_t report;           // WIRE_REPORT and WIRE_HEARTBEAT
        wire_event_t event;
        wire_reject_t reject;
        wire_ctl_request_t request;
        wire_ctl_reply_t reply;
        wire_command_t command;
        wire_command_result_t result;
        wire_report_request_t report_request;
        wire_renew_t renew;
        wire_grant_t grant;
        wire_lease_config_t lease_config;
        wire_witness_report_t witness_report;
    } body;
} wire_msg_t;

//  Zero a message for kind (version set to WIRE_PROTOCOL_VERSION).
void wire_msg_init (wire_msg_t *msg, wire_kind_t kind);

//  Free what a message owns (report domains, request args_json, reply json, command xml)
//  and zero it.
void wire_msg_reset (wire_msg_t *msg);

//  Encode msg; on success *data is a malloc'd buffer the caller frees. Returns 0 or -1
//  (message invalid for sending: the same checks as decoding, so we never send what a
//  peer would refuse) with the reason in err.
int wire_encode (const wire_msg_t *msg, uint8_t **data, size_t *size, char *err, size_t err_size);

//  Decode and validate size bytes into msg (which the caller later wire_msg_reset()s).
//  Returns 0, or -1 with a one-line reason in err; msg is then empty.
int wire_decode (const uint8_t *data, size_t size, wire_msg_t *msg, char *err, size_t err_size);

//  Names for logs and JSON ("running", "started", "hello").
const char *wire_kind_name (wire_kind_t kind);
const char *domain_state_name (domain_state_t state);
const char *event_kind_name (event_kind_t kind);
const char *command_action_name (command_action_t action);     // "start", "migrate", ...
const char *command_status_name (command_status_t status);     // "done", "failed", ...

//  True when text is a canonical uuid (36 characters, dashes at 8, 13, 18, 23, hex digits).
bool wire_uuid_valid (const char *text);

//  Ctl request helper: sets request's args_json to a copy of json (NULL: none), replacing
//  the old one. Returns -1 (nothing changed) when out of memory; the size is checked by
//  wire_encode like every field.
int wire_request_set_args (wire_ctl_request_t *request, const char *json);

#endif
