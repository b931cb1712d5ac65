/*  wire.c - the envelope codec: plain C messages <-> protobuf bytes, with validation.

    Owns the mapping between wire_msg_t and the generated Vmsched__* types. Decoding never
    trusts the bytes: a budgeted allocator caps what protobuf-c may allocate, and every field
    is validated before it is copied out. Encoding runs the same validation, so a message we
    send is always one our peers accept.
*/
#include "wire.h"
#include "vmsched.pb-c.h"
#include "keys.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  --------------------------------------------------------------------------
//  Names

static const char *s_kind_names [] = {
    "none", "hello", "welcome", "heartbeat", "report", "event", "reject",
    "ctl-request", "ctl-reply", "command", "command-result", "report-request",
    "renew", "grant", "lease-config", "witness-report"
};
static const char *s_action_names [COMMAND_ACTION_COUNT] = {
    "none", "start", "stop", "migrate", "abort"
};
static const char *s_status_names [RESULT_STATUS_COUNT] = {
    "none", "accepted", "progress", "done", "failed", "stale"
};
static const char *s_state_names [DOMAIN_STATE_COUNT] = {
    "unknown", "running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended"
};
static const char *s_event_names [EVENT_KIND_COUNT] = {
    "unknown", "defined", "undefined", "started", "suspended", "resumed", "stopped",
    "shutdown", "pmsuspended", "crashed"
};

const char *
wire_kind_name (wire_kind_t kind)
{
    return (unsigned) kind <= WIRE_WITNESS_REPORT? s_kind_names [kind]: "invalid";
}

const char *
command_action_name (command_action_t action)
{
    return (unsigned) action < COMMAND_ACTION_COUNT? s_action_names [action]: "invalid";
}

const char *
command_status_name (command_status_t status)
{
    return (unsigned) status < RESULT_STATUS_COUNT? s_status_names [status]: "invalid";
}

const char *
domain_state_name (domain_state_t state)
{
    return (unsigned) state < DOMAIN_STATE_COUNT? s_state_names [state]: "invalid";
}

const char *
event_kind_name (event_kind_t kind)
{
    return (unsigned) kind < EVENT_KIND_COUNT? s_event_names [kind]: "invalid";
}

//  --------------------------------------------------------------------------
//  Message lifetime

void
wire_msg_init (wire_msg_t *msg, wire_kind_t kind)
{
    memset (msg, 0, sizeof *msg);
    msg->kind = kind;
    msg->version = WIRE_PROTOCOL_VERSION;
}

void
wire_msg_reset (wire_msg_t *msg)
{
    if (msg->kind == WIRE_REPORT || msg->kind == WIRE_HEARTBEAT)
        free (msg->body.report.domains);
    else
    if (msg->kind == WIRE_CTL_REQUEST)
        free (msg->body.request.args_json);
    else
    if (msg->kind == WIRE_CTL_REPLY)
        free (msg->body.reply.json);
    else
    if (msg->kind == WIRE_COMMAND)
        free (msg->body.command.domain_xml);
    memset (msg, 0, sizeof *msg);
}

bool
wire_uuid_valid (const char *text)
{
    if (strlen (text) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash? text [i] != '-': !isxdigit ((unsigned char) text [i]))
            return false;
    }
    return true;
}

int
wire_request_set_args (wire_ctl_request_t *request, const char *json)
{
    char *copy = json? strdup (json): NULL;
    if (json && !copy)
        return -1;
    free (request->args_json);
    request->args_json = copy;
    return 0;
}

//  --------------------------------------------------------------------------
//  Validation helpers: each returns 0 or -1 after writing the reason into the checker.

typedef struct {
    char *err;              // caller's buffer
    size_t err_size;        // its size
} s_check_t;

static int
s_fail (s_check_t *check, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    vsnprintf (check->err, check->err_size, fmt, args);
    va_end (args);
    return -1;
}

//  Copies a printable string of at most size-1 bytes; NULL counts as empty.
static int
s_copy_text (s_check_t *check, const char *field, const char *value, char *dest, size_t size,
             bool required)
{
    if (!value)
        value = "";
    size_t length = strlen (value);
    if (required && length == 0)
        return s_fail (check, "field '%s' is missing", field);
    if (length >= size)
        return s_fail (check, "field '%s' is too long (%zu bytes, at most %zu)",
                       field, length, size - 1);
    for (size_t i = 0; i < length; i++)
        if (iscntrl ((unsigned char) value [i]))
            return s_fail (check, "field '%s' contains a control character", field);
    memcpy (dest, value, length + 1);
    return 0;
}

//  Copies a canonical textual UUID (36 characters, lowercase or uppercase hex).
static int
s_copy_uuid (s_check_t *check, const char *field, const char *value, char *dest,
             bool required)
{
    if (!value || !*value) {
        if (required)
            return s_fail (check, "field '%s' is missing", field);
        dest [0] = 0;
        return 0;
    }
    if (!wire_uuid_valid (value))
        return s_fail (check, "field '%s' is not a uuid", field);
    //  One spelling per uuid past this point: libvirt's, lowercase.
    for (int i = 0; i < 37; i++)
        dest [i] = (char) tolower ((unsigned char) value [i]);
    return 0;
}

static int
s_check_range (s_check_t *check, const char *field, uint64_t value, uint64_t max)
{
    if (value > max)
        return s_fail (check, "field '%s' is out of range (%" PRIu64 ", at most %" PRIu64 ")",
                       field, value, max);
    return 0;
}

//  --------------------------------------------------------------------------
//  Budgeted allocator for decoding untrusted bytes

typedef struct {
    size_t used;            // bytes currently allocated
    size_t limit;           // WIRE_DECODE_BUDGET
} s_budget_t;

typedef struct {
    size_t size;            // bytes handed out after this header
    max_align_t align;      // keeps the payload aligned
} s_block_t;

static void *
s_budget_alloc (void *data, size_t size)
{
    s_budget_t *budget = data;
    if (size > budget->limit - budget->used)
        return NULL;
    s_block_t *block = malloc (sizeof (s_block_t) + size);
    if (!block)
        return NULL;
    block->size = size;
    budget->used += size;
    return block + 1;
}

static void
s_budget_free (void *data, void *pointer)
{
    if (!pointer)
        return;
    s_budget_t *budget = data;
    s_block_t *block = (s_block_t *) pointer - 1;
    budget->used -= block->size;
    free (block);
}

//  --------------------------------------------------------------------------
//  Decoding: generated type -> validated plain struct

static int
s_take_capacity (s_check_t *check, const Vmsched__Capacity *in, wire_capacity_t *out)
{
    if (!in)
        return s_fail (check, "field 'capacity' is missing");
    if (!in->has_cpus || in->cpus == 0 || in->cpus > 65536)
        return s_fail (check, "field 'capacity.cpus' must be 1..65536");
    if (!in->has_memory_mib || in->memory_mib == 0 || in->memory_mib > (UINT64_C (1) << 32))
        return s_fail (check, "field 'capacity.memory_mib' must be 1..4294967296");
    out->cpus = in->cpus;
    out->memory_mib = in->memory_mib;
    out->nested = in->has_nested && in->nested;
    if (s_copy_text (check, "capacity.cpu_model", in->cpu_model, out->cpu_model,
                     sizeof out->cpu_model, false)
    ||  s_copy_text (check, "capacity.cpu_flags", in->cpu_flags, out->cpu_flags,
                     sizeof out->cpu_flags, false)
    ||  s_check_range (check, "capacity.numa count", in->n_numa, WIRE_MAX_NUMA))
        return -1;
    out->numa_count = (uint32_t) in->n_numa;
    for (size_t i = 0; i < in->n_numa; i++) {
        const Vmsched__NumaCell *cell = in->numa [i];
        if (s_check_range (check, "capacity.numa.cpus", cell->cpus, 65536)
        ||  s_check_range (check, "capacity.numa.memory_mib", cell->memory_mib,
                           UINT64_C (1) << 32))
            return -1;
        out->numa [i] = (wire_numa_t) { cell->id, cell->cpus, cell->memory_mib };
    }
    return 0;
}

static int
s_take_domain (s_check_t *check, const Vmsched__Domain *in, wire_domain_t *out)
{
    if (!in)
        return s_fail (check, "field 'domain' is missing");
    memset (out, 0, sizeof *out);
    if (s_copy_uuid (check, "domain.uuid", in->uuid, out->uuid, true)
    ||  s_copy_text (check, "domain.name", in->name, out->name, sizeof out->name, true))
        return -1;
    if ((unsigned) in->state >= DOMAIN_STATE_COUNT)
        return s_fail (check, "field 'domain.state' has unknown value %d", (int) in->state);
    if (s_check_range (check, "domain.vcpus", in->vcpus, 4096)
    ||  s_check_range (check, "domain.memory_kib", in->memory_kib, WIRE_MAX_MEMORY_KIB)
    ||  s_check_range (check, "domain.cpu_time_ns", in->cpu_time_ns, WIRE_MAX_COUNTER)
    ||  s_check_range (check, "domain.vcpu_delay_ns", in->vcpu_delay_ns, WIRE_MAX_COUNTER)
    ||  s_check_range (check, "domain.rss_kib", in->rss_kib, WIRE_MAX_MEMORY_KIB)
    ||  s_check_range (check, "domain.balloon_current_kib", in->balloon_current_kib,
                       WIRE_MAX_MEMORY_KIB))
        return -1;
    out->state = (domain_state_t) in->state;
    out->vcpus = in->vcpus;
    out->memory_kib = in->memory_kib;
    out->persistent = in->has_persistent && in->persistent;
    out->has_cpu_time = in->has_cpu_time_ns;
    out->cpu_time_ns = in->cpu_time_ns;
    out->has_vcpu_delay = in->has_vcpu_delay_ns;
    out->vcpu_delay_ns = in->vcpu_delay_ns;
    out->has_rss = in->has_rss_kib;
    out->rss_kib = in->rss_kib;
    out->has_balloon = in->has_balloon_current_kib;
    out->balloon_kib = in->balloon_current_kib;
    return 0;
}

static int
s_take_command (s_check_t *check, const Vmsched__Command *in, wire_command_t *out)
{
    if (!in->has_id || in->id == 0)
        return s_fail (check, "field 'command.id' is missing");
    if ((unsigned) in->action >= COMMAND_ACTION_COUNT || in->action == 0)
        return s_fail (check, "field 'command.action' has unknown value %d", (int) in->action);
    out->id = in->id;
    out->leader_epoch = in->leader_epoch;
    out->host_generation = in->host_generation;
    out->vm_generation = in->vm_generation;
    out->action = (command_action_t) in->action;
    out->timeout_ms = in->timeout_ms;
    out->graceful_ms = in->graceful_ms;
    out->ha = in->has_ha && in->ha;
    if (s_copy_uuid (check, "command.vm_uuid", in->vm_uuid, out->vm_uuid, true)
    ||  s_copy_text (check, "command.vm_name", in->vm_name, out->vm_name, sizeof out->vm_name,
                     true)
    ||  s_copy_text (check, "command.target_uri", in->target_uri, out->target_uri,
                     sizeof out->target_uri, out->action == COMMAND_MIGRATE)
    ||  s_copy_text (check, "command.target_host", in->target_host, out->target_host,
                     sizeof out->target_host, false))
        return -1;
    if (out->action == COMMAND_START) {
        if (!in->domain_xml || !*in->domain_xml)
            return s_fail (check, "field 'command.domain_xml' is missing");
        if (strlen (in->domain_xml) > WIRE_MAX_ARG)
            return s_fail (check, "field 'command.domain_xml' is too long");
        out->domain_xml = strdup (in->domain_xml);
        if (!out->domain_xml)
            return s_fail (check, "out of memory");
    }
    return 0;
}

static int
s_take_result (s_check_t *check, const Vmsched__CommandResult *in, wire_command_result_t *out)
{
    if (!in->has_id || in->id == 0)
        return s_fail (check, "field 'command_result.id' is missing");
    if ((unsigned) in->status >= RESULT_STATUS_COUNT || in->status == 0)
        return s_fail (check, "field 'command_result.status' has unknown value %d",
                       (int) in->status);
    out->id = in->id;
    out->vm_generation = in->vm_generation;
    out->status = (command_status_t) in->status;
    out->data_total = in->data_total;
    out->data_processed = in->data_processed;
    out->data_remaining = in->data_remaining;
    out->elapsed_ms = in->elapsed_ms;
    //  Long libvirt error texts are cut, never refused: the status matters more.
    snprintf (out->message, sizeof out->message, "%s", in->message? in->message: "");
    for (char *c = out->message; *c; c++)
        if (iscntrl ((unsigned char) *c))
            *c = ' ';
    return s_copy_uuid (check, "command_result.vm_uuid", in->vm_uuid, out->vm_uuid, true);
}

//  One witness peer; field names the list ("lease_config.witnesses").
static int
s_take_peer (s_check_t *check, const char *field, const Vmsched__WitnessPeer *in,
             wire_witness_peer_t *out)
{
    char name [64];
    snprintf (name, sizeof name, "%s.host_id", field);
    if (s_copy_uuid (check, name, in->host_id, out->host_id, true))
        return -1;
    snprintf (name, sizeof name, "%s.name", field);
    if (s_copy_text (check, name, in->name, out->name, sizeof out->name, true))
        return -1;
    snprintf (name, sizeof name, "%s.endpoint", field);
    if (s_copy_text (check, name, in->endpoint, out->endpoint, sizeof out->endpoint, true))
        return -1;
    if (!in->public_key || !keys_valid_z85 (in->public_key))
        return s_fail (check, "field '%s.public_key' is not a Z85 CURVE key", field);
    snprintf (out->public_key, sizeof out->public_key, "%s", in->public_key);
    if (in->generation == 0)
        return s_fail (check, "field '%s.generation' is missing", field);
    out->generation = in->generation;
    return 0;
}

static int
s_take_lease_config (s_check_t *check, const Vmsched__LeaseConfig *in,
                     wire_lease_config_t *out)
{
    if (in->version == 0)
        return s_fail (check, "field 'lease_config.version' is missing");
    //  h < L < D, each within a minute or so: anything else is a broken scheduler.
    if (in->renew_ms < 10 || in->renew_ms > 60000)
        return s_fail (check, "field 'lease_config.renew_ms' must be 10..60000");
    if (in->lease_ms <= in->renew_ms || in->lease_ms > 600000)
        return s_fail (check, "field 'lease_config.lease_ms' must exceed renew_ms (at most "
                       "600000)");
    if (in->dead_after_ms <= in->lease_ms || in->dead_after_ms > 3600000)
        return s_fail (check, "field 'lease_config.dead_after_ms' must exceed lease_ms (at "
                       "most 3600000)");
    if (s_check_range (check, "lease_config.witnesses count", in->n_witnesses,
                       WIRE_MAX_WITNESSES)
    ||  s_check_range (check, "lease_config.watched count", in->n_watched,
                       WIRE_MAX_WITNESSES))
        return -1;
    out->version = in->version;
    out->renew_ms = in->renew_ms;
    out->lease_ms = in->lease_ms;
    out->dead_after_ms = in->dead_after_ms;
    for (size_t i = 0; i < in->n_witnesses; i++, out->witness_count++)
        if (s_take_peer (check, "lease_config.witnesses", in->witnesses [i],
                         &out->witnesses [i]))
            return -1;
    for (size_t i = 0; i < in->n_watched; i++, out->watched_count++)
        if (s_take_peer (check, "lease_config.watched", in->watched [i], &out->watched [i]))
            return -1;
    return 0;
}

static int
s_take_witness_report (s_check_t *check, const Vmsched__WitnessReport *in,
                       wire_witness_report_t *out)
{
    if (s_check_range (check, "witness_report.silent count", in->n_silent,
                       WIRE_MAX_WITNESSES))
        return -1;
    for (size_t i = 0; i < in->n_silent; i++, out->count++) {
        const Vmsched__SilentHost *silent = in->silent [i];
        if (s_copy_uuid (check, "witness_report.silent.host_id", silent->host_id,
                         out->silent [i].host_id, true))
            return -1;
        if (silent->generation == 0)
            return s_fail (check, "field 'witness_report.silent.generation' is missing");
        out->silent [i].generation = silent->generation;
        out->silent [i].silent_ms = silent->silent_ms;
        out->silent [i].blocked = silent->has_blocked && silent->blocked;
    }
    return 0;
}

static int
s_take_body (s_check_t *check, const Vmsched__Envelope *in, wire_msg_t *out)
{
    switch (in->body_case) {
        case VMSCHED__ENVELOPE__BODY_HELLO: {
            const Vmsched__Hello *hello = in->hello;
            wire_hello_t *h = &out->body.hello;
            out->kind = WIRE_HELLO;
            if (s_copy_uuid (check, "hello.host_id", hello->host_id, h->host_id, true)
            ||  s_copy_text (check, "hello.name", hello->name, h->name, sizeof h->name, true)
            ||  s_copy_uuid (check, "hello.boot_id", hello->boot_id, h->boot_id, false)
            ||  s_copy_text (check, "hello.hypervisor_uri", hello->hypervisor_uri,
                             h->hypervisor_uri, sizeof h->hypervisor_uri, false)
            ||  s_copy_text (check, "hello.agent_version", hello->agent_version,
                             h->agent_version, sizeof h->agent_version, false)
            ||  s_copy_text (check, "hello.migration_uri", hello->migration_uri,
                             h->migration_uri, sizeof h->migration_uri, false)
            ||  s_copy_text (check, "hello.witness_endpoint", hello->witness_endpoint,
                             h->witness_endpoint, sizeof h->witness_endpoint, false)
            ||  s_copy_text (check, "hello.watchdog", hello->watchdog, h->watchdog,
                             sizeof h->watchdog, false)
            ||  s_take_capacity (check, hello->capacity, &h->capacity))
                return -1;
            if (strcmp (h->host_id, out->host_id) != 0)
                return s_fail (check, "hello.host_id differs from the envelope's host_id");
            return 0;
        }
        case VMSCHED__ENVELOPE__BODY_WELCOME:
            out->kind = WIRE_WELCOME;
            if (in->welcome->generation == 0)
                return s_fail (check, "field 'welcome.generation' is missing");
            out->body.welcome = (wire_welcome_t) {
                in->welcome->generation, in->welcome->leader_epoch,
                in->welcome->hello_seq, in->welcome->heartbeat_ms };
            return 0;
        case VMSCHED__ENVELOPE__BODY_HEARTBEAT:
            out->kind = WIRE_HEARTBEAT;
            out->body.report.hypervisor_connected = in->heartbeat->hypervisor_connected;
            return 0;
        case VMSCHED__ENVELOPE__BODY_REPORT: {
            const Vmsched__Report *report = in->report;
            out->kind = WIRE_REPORT;
            if (s_check_range (check, "report.domains count", report->n_domains,
                               WIRE_MAX_DOMAINS))
                return -1;
            out->body.report.hypervisor_connected = report->hypervisor_connected;
            out->body.report.request_token = report->request_token;
            if (report->n_domains) {
                out->body.report.domains = calloc (report->n_domains, sizeof (wire_domain_t));
                if (!out->body.report.domains)
                    return s_fail (check, "out of memory");
            }
            for (size_t i = 0; i < report->n_domains; i++) {
                if (s_take_domain (check, report->domains [i], &out->body.report.domains [i]))
                    return -1;
                out->body.report.domain_count++;
            }
            return 0;
        }
        case VMSCHED__ENVELOPE__BODY_EVENT:
            out->kind = WIRE_EVENT;
            if ((unsigned) in->event->kind >= EVENT_KIND_COUNT || in->event->kind == 0)
                return s_fail (check, "field 'event.kind' has unknown value %d",
                               (int) in->event->kind);
            out->body.event.kind = (event_kind_t) in->event->kind;
            return s_take_domain (check, in->event->domain, &out->body.event.domain);
        case VMSCHED__ENVELOPE__BODY_REJECT:
            out->kind = WIRE_REJECT;
            out->body.reject.reregister = in->reject->reregister;
            return s_copy_text (check, "reject.reason", in->reject->reason,
                                out->body.reject.reason, sizeof out->body.reject.reason, false);
        case VMSCHED__ENVELOPE__BODY_CTL_REQUEST: {
            const Vmsched__CtlRequest *request = in->ctl_request;
            out->kind = WIRE_CTL_REQUEST;
            if (s_copy_text (check, "ctl_request.verb", request->verb, out->body.request.verb,
                             sizeof out->body.request.verb, true))
                return -1;
            //  Only the size here: the text is JSON for the scheduler to read (ctl_args.c),
            //  which refuses anything else. Old clusterctls sent key=value strings in field
            //  2: remembered, so that the scheduler can say so instead of "usage".
            out->body.request.legacy_args = request->n_legacy_args > 0;
            size_t length = request->args_json? strlen (request->args_json): 0;
            if (length > WIRE_MAX_ARGS_JSON)
                return s_fail (check, "field 'ctl_request.args_json' is too long (%zu bytes, at "
                               "most %d)", length, WIRE_MAX_ARGS_JSON);
            if (length && !(out->body.request.args_json = strdup (request->args_json)))
                return s_fail (check, "out of memory");
            return 0;
        }
        case VMSCHED__ENVELOPE__BODY_CTL_REPLY: {
            const Vmsched__CtlReply *reply = in->ctl_reply;
            out->kind = WIRE_CTL_REPLY;
            if (reply->status < 0 || reply->status > 2)
                return s_fail (check, "field 'ctl_reply.status' has unknown value %d",
                               (int) reply->status);
            out->body.reply.status = reply->status;
            snprintf (out->body.reply.error, sizeof out->body.reply.error, "%s",
                      reply->error? reply->error: "");
            if (reply->json && *reply->json) {
                out->body.reply.json = strdup (reply->json);
                if (!out->body.reply.json)
                    return s_fail (check, "out of memory");
            }
            return 0;
        }
        case VMSCHED__ENVELOPE__BODY_COMMAND:
            out->kind = WIRE_COMMAND;
            return s_take_command (check, in->command, &out->body.command);
        case VMSCHED__ENVELOPE__BODY_COMMAND_RESULT:
            out->kind = WIRE_COMMAND_RESULT;
            return s_take_result (check, in->command_result, &out->body.result);
        case VMSCHED__ENVELOPE__BODY_REPORT_REQUEST:
            out->kind = WIRE_REPORT_REQUEST;
            out->body.report_request.token = in->report_request->token;
            return s_copy_text (check, "report_request.reason", in->report_request->reason,
                                out->body.report_request.reason,
                                sizeof out->body.report_request.reason, false);
        case VMSCHED__ENVELOPE__BODY_RENEW:
            out->kind = WIRE_RENEW;
            if (in->renew->id == 0)
                return s_fail (check, "field 'renew.id' is missing");
            out->body.renew.id = in->renew->id;
            out->body.renew.config_version = in->renew->config_version;
            return 0;
        case VMSCHED__ENVELOPE__BODY_GRANT: {
            const Vmsched__Grant *grant = in->grant;
            out->kind = WIRE_GRANT;
            if (grant->id == 0)
                return s_fail (check, "field 'grant.id' is missing");
            bool refused = grant->has_refused && grant->refused;
            if (!refused && (grant->lease_ms == 0 || grant->lease_ms > 600000))
                return s_fail (check, "field 'grant.lease_ms' must be 1..600000");
            out->body.grant.id = grant->id;
            out->body.grant.lease_ms = refused? 0: grant->lease_ms;
            out->body.grant.refused = refused;
            return s_copy_text (check, "grant.reason", grant->reason, out->body.grant.reason,
                                sizeof out->body.grant.reason, false);
        }
        case VMSCHED__ENVELOPE__BODY_LEASE_CONFIG:
            out->kind = WIRE_LEASE_CONFIG;
            return s_take_lease_config (check, in->lease_config, &out->body.lease_config);
        case VMSCHED__ENVELOPE__BODY_WITNESS_REPORT:
            out->kind = WIRE_WITNESS_REPORT;
            return s_take_witness_report (check, in->witness_report,
                                          &out->body.witness_report);
        default:
            return s_fail (check, "envelope has no known body (case %d)", (int) in->body_case);
    }
}

int
wire_decode (const uint8_t *data, size_t size, wire_msg_t *msg, char *err, size_t err_size)
{
    s_check_t check = { err, err_size };
    memset (msg, 0, sizeof *msg);
    if (size > WIRE_MAX_MESSAGE)
        return s_fail (&check, "message too large (%zu bytes)", size);
    s_budget_t budget = { 0, WIRE_DECODE_BUDGET };
    ProtobufCAllocator allocator = { s_budget_alloc, s_budget_free, &budget };
    Vmsched__Envelope *in = vmsched__envelope__unpack (&allocator, size, data);
    if (!in)
        return s_fail (&check, "not a valid envelope (%zu bytes)", size);
    int rc = -1;
    if (!in->has_version)
        s_fail (&check, "envelope has no protocol version");
    else
    if (in->version != WIRE_PROTOCOL_VERSION)
        s_fail (&check, "unsupported protocol version %" PRIu32 " (this peer speaks %d)",
                in->version, WIRE_PROTOCOL_VERSION);
    else
    if (s_copy_uuid (&check, "host_id", in->host_id, msg->host_id, false) == 0) {
        msg->version = in->version;
        msg->seq = in->seq;
        msg->generation = in->generation;
        msg->session = in->session;
        rc = s_take_body (&check, in, msg);
    }
    vmsched__envelope__free_unpacked (in, &allocator);
    if (rc)
        wire_msg_reset (msg);
    return rc;
}

//  --------------------------------------------------------------------------
//  Encoding: plain struct -> generated type (pointers borrow from msg) -> bytes

typedef struct {
    Vmsched__Envelope envelope;
    Vmsched__Hello hello;
    Vmsched__Capacity capacity;
    Vmsched__NumaCell numa [WIRE_MAX_NUMA];
    Vmsched__NumaCell *numa_ptrs [WIRE_MAX_NUMA];
    Vmsched__Welcome welcome;
    Vmsched__Heartbeat heartbeat;
    Vmsched__Report report;
    Vmsched__Domain *domains;           // heap: report domains
    Vmsched__Domain **domain_ptrs;      // heap
    Vmsched__Domain event_domain;
    Vmsched__Event event;
    Vmsched__Reject reject;
    Vmsched__CtlRequest request;
    Vmsched__CtlReply reply;
    Vmsched__Command command;
    Vmsched__CommandResult result;
    Vmsched__ReportRequest report_request;
    Vmsched__Renew renew;
    Vmsched__Grant grant;
    Vmsched__LeaseConfig lease_config;
    Vmsched__WitnessPeer peers [2 * WIRE_MAX_WITNESSES];
    Vmsched__WitnessPeer *witness_ptrs [WIRE_MAX_WITNESSES];
    Vmsched__WitnessPeer *watched_ptrs [WIRE_MAX_WITNESSES];
    Vmsched__WitnessReport witness_report;
    Vmsched__SilentHost silent [WIRE_MAX_WITNESSES];
    Vmsched__SilentHost *silent_ptrs [WIRE_MAX_WITNESSES];
} s_out_t;

static void
s_put_peer (const wire_witness_peer_t *in, Vmsched__WitnessPeer *out)
{
    vmsched__witness_peer__init (out);
    out->host_id = (char *) in->host_id;
    out->name = (char *) in->name;
    out->endpoint = (char *) in->endpoint;
    out->public_key = (char *) in->public_key;
    out->has_generation = true;
    out->generation = in->generation;
}

static void
s_put_domain (const wire_domain_t *in, Vmsched__Domain *out)
{
    vmsched__domain__init (out);
    out->uuid = (char *) in->uuid;
    out->name = (char *) in->name;
    out->has_state = true;
    out->state = (Vmsched__DomainState) in->state;
    out->has_vcpus = true;
    out->vcpus = in->vcpus;
    out->has_memory_kib = true;
    out->memory_kib = in->memory_kib;
    out->has_persistent = true;
    out->persistent = in->persistent;
    out->has_cpu_time_ns = in->has_cpu_time;
    out->cpu_time_ns = in->cpu_time_ns;
    out->has_vcpu_delay_ns = in->has_vcpu_delay;
    out->vcpu_delay_ns = in->vcpu_delay_ns;
    out->has_rss_kib = in->has_rss;
    out->rss_kib = in->rss_kib;
    out->has_balloon_current_kib = in->has_balloon;
    out->balloon_current_kib = in->balloon_kib;
}

static int
s_put_body (const wire_msg_t *msg, s_out_t *out)
{
    Vmsched__Envelope *env = &out->envelope;
    switch (msg->kind) {
        case WIRE_HELLO: {
            const wire_hello_t *h = &msg->body.hello;
            vmsched__hello__init (&out->hello);
            vmsched__capacity__init (&out->capacity);
            out->hello.host_id = (char *) h->host_id;
            out->hello.name = (char *) h->name;
            out->hello.boot_id = (char *) h->boot_id;
            out->hello.hypervisor_uri = (char *) h->hypervisor_uri;
            out->hello.agent_version = (char *) h->agent_version;
            out->hello.migration_uri = (char *) h->migration_uri;
            out->hello.witness_endpoint = (char *) h->witness_endpoint;
            out->hello.watchdog = (char *) h->watchdog;
            out->capacity.has_cpus = out->capacity.has_memory_mib = true;
            out->capacity.cpus = h->capacity.cpus;
            out->capacity.memory_mib = h->capacity.memory_mib;
            out->capacity.cpu_model = (char *) h->capacity.cpu_model;
            out->capacity.cpu_flags = (char *) h->capacity.cpu_flags;
            out->capacity.has_nested = true;
            out->capacity.nested = h->capacity.nested;
            for (uint32_t i = 0; i < h->capacity.numa_count && i < WIRE_MAX_NUMA; i++) {
                vmsched__numa_cell__init (&out->numa [i]);
                out->numa [i].has_id = out->numa [i].has_cpus = true;
                out->numa [i].has_memory_mib = true;
                out->numa [i].id = h->capacity.numa [i].id;
                out->numa [i].cpus = h->capacity.numa [i].cpus;
                out->numa [i].memory_mib = h->capacity.numa [i].memory_mib;
                out->numa_ptrs [i] = &out->numa [i];
            }
            out->capacity.n_numa = h->capacity.numa_count;
            out->capacity.numa = out->numa_ptrs;
            out->hello.capacity = &out->capacity;
            env->body_case = VMSCHED__ENVELOPE__BODY_HELLO;
            env->hello = &out->hello;
            return 0;
        }
        case WIRE_WELCOME:
            vmsched__welcome__init (&out->welcome);
            out->welcome.has_generation = out->welcome.has_leader_epoch = true;
            out->welcome.has_hello_seq = out->welcome.has_heartbeat_ms = true;
            out->welcome.generation = msg->body.welcome.generation;
            out->welcome.leader_epoch = msg->body.welcome.leader_epoch;
            out->welcome.hello_seq = msg->body.welcome.hello_seq;
            out->welcome.heartbeat_ms = msg->body.welcome.heartbeat_ms;
            env->body_case = VMSCHED__ENVELOPE__BODY_WELCOME;
            env->welcome = &out->welcome;
            return 0;
        case WIRE_HEARTBEAT:
            vmsched__heartbeat__init (&out->heartbeat);
            out->heartbeat.has_hypervisor_connected = true;
            out->heartbeat.hypervisor_connected = msg->body.report.hypervisor_connected;
            env->body_case = VMSCHED__ENVELOPE__BODY_HEARTBEAT;
            env->heartbeat = &out->heartbeat;
            return 0;
        case WIRE_REPORT: {
            const wire_report_t *r = &msg->body.report;
            vmsched__report__init (&out->report);
            out->report.has_hypervisor_connected = true;
            out->report.hypervisor_connected = r->hypervisor_connected;
            out->report.has_request_token = r->request_token != 0;
            out->report.request_token = r->request_token;
            if (r->domain_count) {
                out->domains = calloc (r->domain_count, sizeof (Vmsched__Domain));
                out->domain_ptrs = calloc (r->domain_count, sizeof (Vmsched__Domain *));
                if (!out->domains || !out->domain_ptrs)
                    return -1;
            }
            for (uint32_t i = 0; i < r->domain_count; i++) {
                s_put_domain (&r->domains [i], &out->domains [i]);
                out->domain_ptrs [i] = &out->domains [i];
            }
            out->report.n_domains = r->domain_count;
            out->report.domains = out->domain_ptrs;
            env->body_case = VMSCHED__ENVELOPE__BODY_REPORT;
            env->report = &out->report;
            return 0;
        }
        case WIRE_EVENT:
            vmsched__event__init (&out->event);
            s_put_domain (&msg->body.event.domain, &out->event_domain);
            out->event.has_kind = true;
            out->event.kind = (Vmsched__EventKind) msg->body.event.kind;
            out->event.domain = &out->event_domain;
            env->body_case = VMSCHED__ENVELOPE__BODY_EVENT;
            env->event = &out->event;
            return 0;
        case WIRE_REJECT:
            vmsched__reject__init (&out->reject);
            out->reject.reason = (char *) msg->body.reject.reason;
            out->reject.has_reregister = true;
            out->reject.reregister = msg->body.reject.reregister;
            env->body_case = VMSCHED__ENVELOPE__BODY_REJECT;
            env->reject = &out->reject;
            return 0;
        case WIRE_CTL_REQUEST:
            vmsched__ctl_request__init (&out->request);
            out->request.verb = (char *) msg->body.request.verb;
            out->request.args_json = msg->body.request.args_json;
            env->body_case = VMSCHED__ENVELOPE__BODY_CTL_REQUEST;
            env->ctl_request = &out->request;
            return 0;
        case WIRE_CTL_REPLY:
            vmsched__ctl_reply__init (&out->reply);
            out->reply.has_status = true;
            out->reply.status = msg->body.reply.status;
            out->reply.error = (char *) msg->body.reply.error;
            out->reply.json = msg->body.reply.json;
            env->body_case = VMSCHED__ENVELOPE__BODY_CTL_REPLY;
            env->ctl_reply = &out->reply;
            return 0;
        case WIRE_COMMAND: {
            const wire_command_t *c = &msg->body.command;
            Vmsched__Command *o = &out->command;
            vmsched__command__init (o);
            o->has_id = o->has_leader_epoch = o->has_host_generation = true;
            o->has_vm_generation = o->has_action = o->has_timeout_ms = o->has_graceful_ms = true;
            o->id = c->id;
            o->leader_epoch = c->leader_epoch;
            o->host_generation = c->host_generation;
            o->vm_generation = c->vm_generation;
            o->vm_uuid = (char *) c->vm_uuid;
            o->vm_name = (char *) c->vm_name;
            o->action = (Vmsched__CommandAction) c->action;
            o->domain_xml = c->domain_xml;
            o->target_uri = (char *) c->target_uri;
            o->target_host = (char *) c->target_host;
            o->timeout_ms = c->timeout_ms;
            o->graceful_ms = c->graceful_ms;
            o->has_ha = c->ha;
            o->ha = c->ha;
            env->body_case = VMSCHED__ENVELOPE__BODY_COMMAND;
            env->command = o;
            return 0;
        }
        case WIRE_COMMAND_RESULT: {
            const wire_command_result_t *r = &msg->body.result;
            Vmsched__CommandResult *o = &out->result;
            vmsched__command_result__init (o);
            o->has_id = o->has_vm_generation = o->has_status = true;
            o->has_data_total = o->has_data_processed = o->has_data_remaining = true;
            o->has_elapsed_ms = true;
            o->id = r->id;
            o->vm_uuid = (char *) r->vm_uuid;
            o->vm_generation = r->vm_generation;
            o->status = (Vmsched__CommandStatus) r->status;
            o->message = (char *) r->message;
            o->data_total = r->data_total;
            o->data_processed = r->data_processed;
            o->data_remaining = r->data_remaining;
            o->elapsed_ms = r->elapsed_ms;
            env->body_case = VMSCHED__ENVELOPE__BODY_COMMAND_RESULT;
            env->command_result = o;
            return 0;
        }
        case WIRE_REPORT_REQUEST:
            vmsched__report_request__init (&out->report_request);
            out->report_request.reason = (char *) msg->body.report_request.reason;
            out->report_request.has_token = msg->body.report_request.token != 0;
            out->report_request.token = msg->body.report_request.token;
            env->body_case = VMSCHED__ENVELOPE__BODY_REPORT_REQUEST;
            env->report_request = &out->report_request;
            return 0;
        case WIRE_RENEW:
            vmsched__renew__init (&out->renew);
            out->renew.has_id = out->renew.has_config_version = true;
            out->renew.id = msg->body.renew.id;
            out->renew.config_version = msg->body.renew.config_version;
            env->body_case = VMSCHED__ENVELOPE__BODY_RENEW;
            env->renew = &out->renew;
            return 0;
        case WIRE_GRANT:
            vmsched__grant__init (&out->grant);
            out->grant.has_id = out->grant.has_lease_ms = out->grant.has_refused = true;
            out->grant.id = msg->body.grant.id;
            out->grant.lease_ms = msg->body.grant.lease_ms;
            out->grant.refused = msg->body.grant.refused;
            out->grant.reason = (char *) msg->body.grant.reason;
            env->body_case = VMSCHED__ENVELOPE__BODY_GRANT;
            env->grant = &out->grant;
            return 0;
        case WIRE_LEASE_CONFIG: {
            const wire_lease_config_t *c = &msg->body.lease_config;
            Vmsched__LeaseConfig *o = &out->lease_config;
            vmsched__lease_config__init (o);
            o->has_version = o->has_renew_ms = o->has_lease_ms = o->has_dead_after_ms = true;
            o->version = c->version;
            o->renew_ms = c->renew_ms;
            o->lease_ms = c->lease_ms;
            o->dead_after_ms = c->dead_after_ms;
            uint32_t witnesses = c->witness_count < WIRE_MAX_WITNESSES?
                                 c->witness_count: WIRE_MAX_WITNESSES;
            uint32_t watched = c->watched_count < WIRE_MAX_WITNESSES?
                               c->watched_count: WIRE_MAX_WITNESSES;
            for (uint32_t i = 0; i < witnesses; i++) {
                s_put_peer (&c->witnesses [i], &out->peers [i]);
                out->witness_ptrs [i] = &out->peers [i];
            }
            for (uint32_t i = 0; i < watched; i++) {
                s_put_peer (&c->watched [i], &out->peers [WIRE_MAX_WITNESSES + i]);
                out->watched_ptrs [i] = &out->peers [WIRE_MAX_WITNESSES + i];
            }
            o->n_witnesses = witnesses;
            o->witnesses = out->witness_ptrs;
            o->n_watched = watched;
            o->watched = out->watched_ptrs;
            env->body_case = VMSCHED__ENVELOPE__BODY_LEASE_CONFIG;
            env->lease_config = o;
            return 0;
        }
        case WIRE_WITNESS_REPORT: {
            const wire_witness_report_t *r = &msg->body.witness_report;
            uint32_t count = r->count < WIRE_MAX_WITNESSES? r->count: WIRE_MAX_WITNESSES;
            vmsched__witness_report__init (&out->witness_report);
            for (uint32_t i = 0; i < count; i++) {
                vmsched__silent_host__init (&out->silent [i]);
                out->silent [i].host_id = (char *) r->silent [i].host_id;
                out->silent [i].has_generation = out->silent [i].has_silent_ms = true;
                out->silent [i].generation = r->silent [i].generation;
                out->silent [i].silent_ms = r->silent [i].silent_ms;
                out->silent [i].has_blocked = true;
                out->silent [i].blocked = r->silent [i].blocked;
                out->silent_ptrs [i] = &out->silent [i];
            }
            out->witness_report.n_silent = count;
            out->witness_report.silent = out->silent_ptrs;
            env->body_case = VMSCHED__ENVELOPE__BODY_WITNESS_REPORT;
            env->witness_report = &out->witness_report;
            return 0;
        }
        case WIRE_NONE:
            break;
    }
    return -1;
}

int
wire_encode (const wire_msg_t *msg, uint8_t **data, size_t *size, char *err, size_t err_size)
{
    s_out_t *out = calloc (1, sizeof *out);
    if (!out) {
        snprintf (err, err_size, "out of memory");
        return -1;
    }
    int rc = -1;
    *data = NULL;
    vmsched__envelope__init (&out->envelope);
    out->envelope.has_version = out->envelope.has_seq = true;
    out->envelope.has_generation = out->envelope.has_session = true;
    out->envelope.version = msg->version;
    out->envelope.seq = msg->seq;
    out->envelope.host_id = (char *) msg->host_id;
    out->envelope.generation = msg->generation;
    out->envelope.session = msg->session;
    if (s_put_body (msg, out))
        snprintf (err, err_size, "cannot encode a '%s' message", wire_kind_name (msg->kind));
    else {
        *size = vmsched__envelope__get_packed_size (&out->envelope);
        if (*size > WIRE_MAX_MESSAGE)
            snprintf (err, err_size, "'%s' message too large (%zu bytes, at most %d)",
                      wire_kind_name (msg->kind), *size, WIRE_MAX_MESSAGE);
        else
        if (!(*data = malloc (*size ? *size: 1)))
            snprintf (err, err_size, "out of memory");
        else {
            vmsched__envelope__pack (&out->envelope, *data);
            //  Run the receiver's checks on what we are about to send.
            wire_msg_t echo;
            if (wire_decode (*data, *size, &echo, err, err_size) == 0) {
                wire_msg_reset (&echo);
                rc = 0;
            }
            else {
                free (*data);
                *data = NULL;
            }
        }
    }
    free (out->domains);
    free (out->domain_ptrs);
    free (out);
    return rc;
}
