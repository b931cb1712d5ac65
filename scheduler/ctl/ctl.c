/*  ctl.c - the scheduler's answers to clusterctl: one table of request verbs.

    Owns nothing between requests. Every document is built with jansson and serialised once
    into the reply; field names and types are the stable contract in docs/clusterctl-json.md.
*/
#include "ctl.h"
#include "ctl_admin.h"
#include "ctl_docs.h"
#include "ctl_ops.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *verb;           // request verb
    role_t role;                // least role allowed to use it
    bool changes;               // changes the cluster: audited
    const ctl_field_t *fields;  // the argument object's schema
    const char *usage;          // shown on bad usage
    ctl_handler_fn *handler;    // builds the result; 0, or 1 refused / 2 usage with err
} s_verb_t;

//  --------------------------------------------------------------------------
//  Verbs

//  The HA settings in force, and the hosts an HA VM would run on unguarded (DESIGN.md
//  §5.3, §5.11: neither watchdog nor fence device).
static json_t *
s_ha_json (const ctl_context_t *context)
{
    const ha_config_t *config = ha_config (context->ha);
    size_t count = model_host_count (context->model);
    const char **names = calloc (count + 1, sizeof *names);
    json_t *unprotected = json_array ();
    size_t found = names? ha_unprotected_hosts (context->model, names, count): 0;
    for (size_t i = 0; i < found && i < count; i++)
        json_array_append_new (unprotected, json_string (names [i]));
    free (names);
    return json_pack ("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:o}",
        "profile", config->profile, "renew_ms", (json_int_t) config->renew_ms,
        "lease_ms", (json_int_t) config->lease_ms, "fence_ms", (json_int_t) config->fence_ms,
        "watchdog_ms", (json_int_t) config->watchdog_ms,
        "margin_ms", (json_int_t) config->margin_ms,
        "dead_after_ms", (json_int_t) config->dead_after_ms,
        "witnesses", (json_int_t) config->witnesses,
        "allow_unfenced_hosts", config->allow_unfenced_hosts,
        "unprotected_hosts", unprotected);
}

static int
s_status (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
          size_t err_size)
{
    (void) args, (void) err, (void) err_size;
    model_totals_t totals;
    model_totals (context->model, &totals);
    *result = json_pack (
        "{s:{s:s, s:I, s:I, s:s, s:s, s:s}, s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I},"
        " s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I}}",
        "scheduler", "version", context->version, "epoch", (json_int_t) context->epoch,
            "uptime_s", (json_int_t) (context->uptime_ms / 1000),
            "database", context->database, "agent_endpoint", context->agent_endpoint,
            "ctl_endpoint", context->ctl_endpoint,
        "hosts", "total", (json_int_t) totals.hosts, "up", (json_int_t) totals.hosts_up,
            "suspect", (json_int_t) totals.hosts_suspect, "down", (json_int_t) totals.hosts_down,
            "dead", (json_int_t) totals.hosts_dead,
        "vms", "total", (json_int_t) totals.vms, "running", (json_int_t) totals.vms_running,
        "capacity", "cpus", (json_int_t) totals.cpus, "memory_mib", (json_int_t) totals.memory_mib,
            "vcpus_used", (json_int_t) totals.vcpus_used,
            "memory_used_mib", (json_int_t) totals.memory_used_mib,
        "messages", "received", (json_int_t) context->received,
            "rejected", (json_int_t) context->rejected);
    json_object_set_new (*result, "security", json_pack ("{s:I, s:I, s:I, s:I}",
        "keys_allowed", (json_int_t) auth_count (context->auth),
        "handshakes_accepted", (json_int_t) auth_accepted (context->auth),
        "handshakes_refused", (json_int_t) auth_refused (context->auth),
        "handshakes_failed", (json_int_t) context->handshake_failed));
    if (context->ha)
        json_object_set_new (*result, "ha", s_ha_json (context));
    return 0;
}

static int
s_host_list (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
             size_t err_size)
{
    (void) args, (void) err, (void) err_size;
    json_t *hosts = json_array ();
    for (size_t i = 0; i < model_host_count (context->model); i++)
        json_array_append_new (hosts, ctl_host_json (context, model_host_at (context->model, i),
                                                   false));
    *result = json_pack ("{s:o}", "hosts", hosts);
    return 0;
}

static int
s_host_show (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
             size_t err_size)
{
    host_t *host = ctl_find_host (context, ctl_args_string (args, "name"), err, err_size);
    if (!host)
        return 1;
    *result = ctl_host_json (context, host, true);
    return 0;
}

static int
s_vm_list (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
           size_t err_size)
{
    (void) args, (void) err, (void) err_size;
    //  Both lists are in name order: merge them (a managed VM appears once, observed or not).
    json_t *vms = json_array ();
    size_t observed = 0, managed = 0;
    size_t observed_count = model_vm_count (context->model);
    size_t managed_count = managed_spec_count (context->managed);
    while (observed < observed_count || managed < managed_count) {
        vm_t *vm = model_vm_at (context->model, observed);
        spec_t *spec = managed_spec_at (context->managed, managed);
        if (vm && managed_spec_by_uuid (context->managed, vm->record.uuid)) {
            observed++;                     // listed with its spec
            continue;
        }
        if (vm && (!spec || strcmp (vm->record.name, spec->record.name) < 0)) {
            json_array_append_new (vms, ctl_vm_json_of (context, vm, NULL, false));
            observed++;
        }
        else {
            json_array_append_new (vms, ctl_vm_json (context, spec));
            managed++;
        }
    }
    *result = json_pack ("{s:o}", "vms", vms);
    return 0;
}

static int
s_vm_show (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
           size_t err_size)
{
    const char *name = ctl_args_string (args, "name");
    spec_t *spec = managed_spec_by_name (context->managed, name);
    if (!spec)
        spec = managed_spec_by_uuid (context->managed, name);
    vm_t *vm = spec? model_vm_placed (context->model, spec->record.uuid, spec->record.host_id)
                   : model_vm_by_name (context->model, name);
    if (!vm && !spec)
        vm = model_vm_by_uuid (context->model, name);
    if (!vm && !spec) {
        snprintf (err, err_size, "no vm named '%s' (see 'clusterctl vm list')", name);
        return 1;
    }
    *result = ctl_vm_json_of (context, vm, spec, true);
    return 0;
}


//  --------------------------------------------------------------------------
//  The table: each verb's argument schema (docs/clusterctl-json.md, "Request arguments")

//  Names and keys get a loose bound here: the handlers check them and say what is wrong.
#define S_NAME(required) { "name", CTL_ARG_STRING, required, 0, S_NAME_MAX }
#define S_KEY { "key", CTL_ARG_STRING, true, 0, S_NAME_MAX }
#define S_NAME_MAX 1024

static const ctl_field_t s_no_fields [] = { { NULL } };
static const ctl_field_t s_name_fields [] = { S_NAME (true), { NULL } };
static const ctl_field_t s_maintenance_fields [] = {
    S_NAME (true), { "maintenance", CTL_ARG_BOOLEAN, true, 0, 0 }, { NULL } };
static const ctl_field_t s_host_add_fields [] = { S_NAME (true), S_KEY, { NULL } };
static const ctl_field_t s_user_add_fields [] = {
    S_NAME (true), S_KEY, { "role", CTL_ARG_STRING, true, 0, S_NAME_MAX }, { NULL } };
static const ctl_field_t s_vm_create_fields [] = {
    S_NAME (true),
    { "xml", CTL_ARG_STRING, true, 0, WIRE_MAX_ARG },
    { "ha", CTL_ARG_BOOLEAN, false, 0, 0 },
    { "priority", CTL_ARG_INTEGER, false, 0, 1000000 },
    { "cpu_reserve", CTL_ARG_INTEGER, false, 0, 4096 },
    { "mem_reserve_mib", CTL_ARG_INTEGER, false, 0, INT64_C (1) << 40 },
    { "nested", CTL_ARG_BOOLEAN, false, 0, 0 },
    { "migratable", CTL_ARG_BOOLEAN, false, 0, 0 },
    { "start", CTL_ARG_BOOLEAN, false, 0, 0 },
    { NULL } };
static const ctl_field_t s_vm_migrate_fields [] = {
    S_NAME (true),
    { "host", CTL_ARG_STRING, false, 0, S_NAME_MAX },
    { "timeout_ms", CTL_ARG_INTEGER, false, 0, 24 * 3600 * 1000 },
    { NULL } };
static const ctl_field_t s_rule_add_fields [] = {
    S_NAME (true),
    { "kind", CTL_ARG_STRING, true, 0, S_NAME_MAX },
    { "vms", CTL_ARG_STRINGS, false, 0, RULE_MAX_MEMBERS },
    { "hosts", CTL_ARG_STRINGS, false, 0, RULE_MAX_MEMBERS },
    { "weight", CTL_ARG_INTEGER, false, 0, 1000 },
    { "soft", CTL_ARG_BOOLEAN, false, 0, 0 },
    { NULL } };
static const ctl_field_t s_audit_fields [] = {
    { "since_ms", CTL_ARG_INTEGER, false, 0, INT64_MAX },
    { "limit", CTL_ARG_INTEGER, false, 1, 100000 },
    { NULL } };

static const s_verb_t s_verbs [] = {
    //  verb               role           changes  arguments
    //      usage, handler
    { "status",           ROLE_VIEWER,   false,  s_no_fields,
      "status", s_status },
    { "host.list",        ROLE_VIEWER,   false,  s_no_fields,
      "host list", s_host_list },
    { "host.show",        ROLE_VIEWER,   false,  s_name_fields,
      "host show NAME", s_host_show },
    { "host.maintenance", ROLE_OPERATOR, true,   s_maintenance_fields,
      "host maintenance enter|exit NAME", ctl_host_maintenance },
    { "host.add",         ROLE_ADMIN,    true,   s_host_add_fields,
      "host add NAME --key FILE", ctl_host_add },
    { "host.remove",      ROLE_ADMIN,    true,   s_name_fields,
      "host remove NAME", ctl_host_remove },
    { "vm.list",          ROLE_VIEWER,   false,  s_no_fields,
      "vm list", s_vm_list },
    { "vm.show",          ROLE_VIEWER,   false,  s_name_fields,
      "vm show NAME", s_vm_show },
    { "vm.why",           ROLE_VIEWER,   false,  s_name_fields,
      "vm why NAME", ctl_vm_why },
    { "vm.create",        ROLE_OPERATOR, true,   s_vm_create_fields,
      "vm create NAME --xml FILE [OPTIONS]", ctl_vm_create },
    { "vm.start",         ROLE_OPERATOR, true,   s_name_fields,
      "vm start NAME", ctl_vm_start },
    { "vm.stop",          ROLE_OPERATOR, true,   s_name_fields,
      "vm stop NAME", ctl_vm_stop },
    { "vm.delete",        ROLE_OPERATOR, true,   s_name_fields,
      "vm delete NAME", ctl_vm_delete },
    { "vm.migrate",       ROLE_OPERATOR, true,   s_vm_migrate_fields,
      "vm migrate NAME [HOST] [--migration-timeout MS]", ctl_vm_migrate },
    { "vm.abort",         ROLE_OPERATOR, true,   s_name_fields,
      "vm migrate NAME --abort", ctl_vm_abort },
    { "rule.list",        ROLE_VIEWER,   false,  s_no_fields,
      "rule list", ctl_rule_list },
    { "rule.add",         ROLE_ADMIN,    true,   s_rule_add_fields,
      "rule add NAME KIND ...", ctl_rule_add },
    { "rule.delete",      ROLE_ADMIN,    true,   s_name_fields,
      "rule delete NAME", ctl_rule_delete },
    { "user.list",        ROLE_ADMIN,    false,  s_no_fields,
      "user list", ctl_user_list },
    { "user.add",         ROLE_ADMIN,    true,   s_user_add_fields,
      "user add NAME --key FILE --role ROLE", ctl_user_add },
    { "user.delete",      ROLE_ADMIN,    true,   s_name_fields,
      "user delete NAME", ctl_user_delete },
    { "audit",            ROLE_ADMIN,    false,  s_audit_fields,
      "audit [--since TIME] [--limit N]", ctl_audit },
};

static const s_verb_t *
s_find_verb (const char *name)
{
    for (size_t i = 0; i < sizeof s_verbs / sizeof s_verbs [0]; i++)
        if (strcmp (s_verbs [i].verb, name) == 0)
            return &s_verbs [i];
    return NULL;
}

//  The verb as the operator types it ("vm list" for "vm.list"), for messages.
static void
s_verb_words (const char *verb, char *words, size_t size)
{
    snprintf (words, size, "%s", verb);
    for (char *c = words; *c; c++)
        if (*c == '.')
            *c = ' ';
}

static json_t *
s_read_args (const s_verb_t *verb, const wire_ctl_request_t *request, char *err,
             size_t err_size)
{
    char words [WIRE_NAME_SIZE];
    s_verb_words (request->verb, words, sizeof words);
    return ctl_args_read (request->args_json, verb->fields, words, verb->usage, err, err_size);
}

json_t *
ctl_request_args (const wire_ctl_request_t *request, char *err, size_t err_size)
{
    const s_verb_t *verb = s_find_verb (request->verb);
    if (!verb) {
        snprintf (err, err_size, "unknown request '%s'", request->verb);
        return NULL;
    }
    return s_read_args (verb, request, err, err_size);
}

//  Records one request in the audit log (committed with the batch, before the reply), with
//  its arguments (args; NULL when they could not be read) summarised.
static void
s_audit (const ctl_context_t *context, const wire_ctl_request_t *request, const json_t *args,
         const wire_ctl_reply_t *reply)
{
    mutation_t entry = { .kind = MUTATION_AUDIT, .at = context->wall };
    audit_record_t *audit = &entry.u.audit;
    snprintf (audit->who, sizeof audit->who, "%s", context->who && *context->who
              ? context->who: "(unknown)");
    snprintf (audit->verb, sizeof audit->verb, "%s", request->verb);
    audit->status = reply->status;
    snprintf (audit->message, sizeof audit->message, "%.*s", (int) sizeof audit->message - 1,
              reply->status? reply->error: "ok");
    json_t *summary = ctl_args_summary (args);
    entry.blob = json_dumps (summary, JSON_COMPACT);
    json_decref (summary);
    mutations_push (context->mutations, &entry);
}

//  Whether the asker may use verb; 0, or 1 with the reason in reply.
static int
s_authorise (const ctl_context_t *context, const s_verb_t *verb, wire_ctl_reply_t *reply)
{
    const principal_record_t *principal = context->principal;
    if (!principal || principal->kind != PRINCIPAL_USER) {
        snprintf (reply->error, sizeof reply->error, "this key is not (or no longer) allowed "
                  "to use the scheduler");
        return 1;
    }
    if (principal->role < verb->role) {
        snprintf (reply->error, sizeof reply->error, "'%s' needs role %s; user '%s' is %s",
                  verb->usage, role_name (verb->role), principal->name,
                  role_name (principal->role));
        return 1;
    }
    return 0;
}

void
ctl_handle (const ctl_context_t *context, const wire_ctl_request_t *request,
            wire_ctl_reply_t *reply)
{
    const s_verb_t *verb = s_find_verb (request->verb);
    if (!verb) {
        reply->status = 2;
        snprintf (reply->error, sizeof reply->error,
                  "unknown request '%s' (this scheduler is vmsched %s; is clusterctl newer?)",
                  request->verb, context->version);
        return;
    }
    if (request->legacy_args) {
        reply->status = 2;
        snprintf (reply->error, sizeof reply->error, "bad request: this clusterctl sends its "
                  "arguments as key=value strings, which vmsched %s no longer reads: use the "
                  "clusterctl of the same version", context->version);
        return;
    }
    char reason [sizeof reply->error];
    json_t *args = s_read_args (verb, request, reason, sizeof reason);
    if ((reply->status = s_authorise (context, verb, reply))) {
        s_audit (context, request, args, reply);
        json_decref (args);
        return;
    }
    if (!args) {
        reply->status = 2;
        snprintf (reply->error, sizeof reply->error, "%s", reason);
        return;
    }
    json_t *result = NULL;
    reply->status = verb->handler (context, args, &result, reply->error, sizeof reply->error);
    if (result) {
        reply->json = json_dumps (result, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref (result);
    }
    if (reply->status == 0 && !reply->json) {
        reply->status = 1;
        snprintf (reply->error, sizeof reply->error, "cannot build the answer (out of memory)");
    }
    if (verb->changes)
        s_audit (context, request, args, reply);
    json_decref (args);
}

void
ctl_on_request (core_t *core, const ctl_env_t *env, const principal_record_t *principal,
                const char *who, const wire_ctl_request_t *request, int64_t now, int64_t wall,
                fx_t *fx, wire_ctl_reply_t *reply)
{
    ctl_context_t context = {
        .model = core_model (core), .store = env->store, .version = env->version,
        .epoch = core_config (core)->reconcile.epoch, .uptime_ms = now - env->started,
        .now = now, .database = env->database, .agent_endpoint = env->agent_endpoint,
        .ctl_endpoint = env->ctl_endpoint, .received = env->received,
        .rejected = env->rejected + core_stats (core)->refused,
        .handshake_failed = env->handshake_failed, .wall = wall,
        .managed = core_managed (core), .reconcile = &core_config (core)->reconcile,
        .outbox = core_outbox (core), .mutations = &fx->mutations, .auth = env->auth,
        .principal = principal, .who = who, .ha = core_ha (core),
    };
    ctl_handle (&context, request, reply);
    core_flush (core, fx);
}
