/*  ctl_ops.c - the clusterctl verbs that change the cluster (see ctl_ops.h).

    Owns nothing between requests. Every handler validates its whole input before it
    changes anything, so a refused request leaves no trace.
*/
#include "ctl_ops.h"
#include "ctl_docs.h"
#include "clock.h"
#include "domxml.h"
#include "log.h"
#include "view.h"

#include <ctype.h>
#include <czmq.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

//  --------------------------------------------------------------------------
//  Arguments (checked against the verb's schema by ctl_args.c before a handler runs)

//  Names of VMs, hosts and rules: letters, digits, '.', '-', '_'.
static bool
s_valid_name (const char *name)
{
    size_t length = strlen (name);
    if (length == 0 || length >= WIRE_NAME_SIZE)
        return false;
    for (size_t i = 0; i < length; i++)
        if (!isalnum ((unsigned char) name [i]) && !strchr (".-_", name [i]))
            return false;
    return true;
}

//  The managed VM called name; refuses (NULL, err) unknown and unmanaged VMs.
static spec_t *
s_find_spec (const ctl_context_t *context, const char *name, char *err, size_t err_size)
{
    spec_t *spec = managed_spec_by_name (context->managed, name);
    if (!spec)
        spec = managed_spec_by_uuid (context->managed, name);
    if (spec)
        return spec;
    vm_t *vm = model_vm_by_name (context->model, name);
    host_t *host = vm? model_host_by_id (context->model, vm->record.host_id): NULL;
    if (vm)
        snprintf (err, err_size, "vm '%s' is not managed by vmsched (a domain found on host "
                  "'%s'); only vms made with 'clusterctl vm create' can be changed", name,
                  host? host->record.name: "?");
    else
        snprintf (err, err_size, "no vm named '%s' (see 'clusterctl vm list')", name);
    return NULL;
}

//  --------------------------------------------------------------------------
//  VMs

//  Checks the new VM's name and picks its uuid (the XML's, or a new one). 0, 1 or 2.
static int
s_new_identity (const ctl_context_t *context, const char *name, const domxml_info_t *info,
                char *uuid, char *err, size_t err_size)
{
    if (!s_valid_name (name)) {
        snprintf (err, err_size, "invalid vm name '%.64s': use 1 to %d letters, digits, '.', "
                  "'-' and '_'", name, WIRE_NAME_SIZE - 1);
        return 2;
    }
    if (managed_spec_by_name (context->managed, name)) {
        snprintf (err, err_size, "vm '%s' exists already (see 'clusterctl vm show %s')", name,
                  name);
        return 1;
    }
    vm_t *observed = model_vm_by_name (context->model, name);
    if (observed) {
        host_t *host = model_host_by_id (context->model, observed->record.host_id);
        snprintf (err, err_size, "a domain named '%s' already exists on host '%s' (not "
                  "managed by vmsched); choose another name", name, host? host->record.name: "?");
        return 1;
    }
    if (info->name [0] && strcmp (info->name, name)) {
        snprintf (err, err_size, "the domain XML names the domain '%s' but the vm is '%s': "
                  "make them equal or remove <name>", info->name, name);
        return 1;
    }
    if (info->uuid [0]) {
        if (managed_spec_by_uuid (context->managed, info->uuid)
        ||  model_vm_by_uuid (context->model, info->uuid)) {
            snprintf (err, err_size, "the uuid %s of the domain XML is already in use; "
                      "remove <uuid> to get a new one", info->uuid);
            return 1;
        }
        snprintf (uuid, WIRE_ID_SIZE, "%s", info->uuid);
        for (char *c = uuid; *c; c++)
            *c = (char) tolower ((unsigned char) *c);
        return 0;
    }
    zuuid_t *fresh = zuuid_new ();
    snprintf (uuid, WIRE_ID_SIZE, "%s", fresh? zuuid_str_canonical (fresh): "");
    zuuid_destroy (&fresh);
    for (char *c = uuid; *c; c++)
        *c = (char) tolower ((unsigned char) *c);
    if (!uuid [0]) {
        snprintf (err, err_size, "out of memory");
        return 1;
    }
    return 0;
}

//  Whether a rule names the VM called name.
static bool
s_named_by_rule (const ctl_context_t *context, const char *name)
{
    for (size_t i = 0; i < managed_rule_count (context->managed); i++) {
        const rule_record_t *rule = managed_rule_at (context->managed, i);
        for (uint32_t v = 0; v < rule->vm_count; v++)
            if (strcmp (rule->vms [v], name) == 0)
                return true;
    }
    return false;
}

//  place_check_rules over the cluster as it is: 0, or -1 with the reason.
static int
s_check_rules (const ctl_context_t *context, char *reason, size_t size)
{
    view_t *view = view_new (context->model, context->managed, &context->reconcile->policy,
                             NULL);
    if (!view) {
        snprintf (reason, size, "out of memory");
        return -1;
    }
    int rc = place_check_rules (view_cluster (view), reason, size);
    view_destroy (&view);
    return rc;
}

int
ctl_vm_create (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
               size_t err_size)
{
    const char *name = ctl_args_string (args, "name");
    const char *domain_xml = ctl_args_string (args, "xml");
    domxml_info_t info;
    if (domxml_parse (domain_xml, &info, err, err_size))
        return 1;
    spec_record_t record = { .want = VM_WANT_STOPPED, .migratable = !info.has_host_devices,
                             .needs_nested = info.needs_nested, .vcpus = info.vcpus,
                             .memory_mib = info.memory_mib, .generation = 1,
                             .created_at = context->wall, .updated_at = context->wall };
    uint64_t priority = (uint64_t) ctl_args_integer (args, "priority", 0);
    uint64_t cpu_reserve = (uint64_t) ctl_args_integer (args, "cpu_reserve", 0);
    uint64_t mem_reserve = (uint64_t) ctl_args_integer (args, "mem_reserve_mib", 0);
    record.ha = ctl_args_boolean (args, "ha", false);
    record.needs_nested = ctl_args_boolean (args, "nested", record.needs_nested);
    //  Nested virtualization cannot be live-migrated: not migratable unless asked (refused).
    bool migratable = ctl_args_boolean (args, "migratable",
                                        record.migratable && !record.needs_nested);
    bool start = ctl_args_boolean (args, "start", false);
    int rc;
    if (migratable && record.needs_nested) {
        snprintf (err, err_size, "vm '%s' needs nested virtualization and cannot be "
                  "live-migrated; leave out --migrate", name);
        return 1;
    }
    if (migratable && info.has_host_devices) {
        snprintf (err, err_size, "vm '%s' has host devices (<hostdev>) and cannot be "
                  "live-migrated; create it with --no-migrate", name);
        return 1;
    }
    if (cpu_reserve > info.vcpus || mem_reserve > info.memory_mib) {
        snprintf (err, err_size, "reservations exceed the vm's size: cpu reserve %" PRIu64
                  " of %" PRIu32 " vcpus, memory reserve %" PRIu64 " of %" PRIu64 " MiB",
                  cpu_reserve, info.vcpus, mem_reserve, info.memory_mib);
        return 2;
    }
    if ((rc = s_new_identity (context, name, &info, record.uuid, err, err_size)))
        return rc;
    //  Rules may name VMs before they exist; the VM that would make one unsatisfiable is
    //  refused (rules already unsatisfiable without it are not its fault).
    char reason [WIRE_TEXT_SIZE * 2];
    bool check = s_named_by_rule (context, name)
              && s_check_rules (context, reason, sizeof reason) == 0;
    snprintf (record.name, sizeof record.name, "%s", name);
    record.priority = (int32_t) priority;
    record.cpu_reserve = (uint32_t) cpu_reserve;
    record.mem_reserve_mib = mem_reserve;
    record.migratable = migratable;
    record.want = start? VM_WANT_RUNNING: VM_WANT_STOPPED;
    snprintf (record.reason, sizeof record.reason, "%s", start? "start requested": "created");
    char *xml = domxml_prepare (domain_xml, record.name, record.uuid, err, err_size);
    spec_t *spec = xml? managed_add_spec (context->managed, &record, xml): NULL;
    free (xml);
    if (!spec) {
        if (xml)
            snprintf (err, err_size, "cannot add vm '%s': out of memory", record.name);
        return 1;
    }
    if (check && s_check_rules (context, reason, sizeof reason)) {
        snprintf (err, err_size, "cannot create vm '%s': %s; change the rule first (see "
                  "'clusterctl rule list')", record.name, reason);
        managed_remove_spec (context->managed, spec);
        return 1;
    }
    mutation_t put = { .kind = MUTATION_SPEC_PUT, .at = context->wall,
                       .blob = strdup (spec->xml) };
    put.u.spec = spec->record;
    mutations_push (context->mutations, &put);
    log_info ("vm '%s': created (uuid %s, %" PRIu32 " vcpus, %" PRIu64 " MiB%s)", record.name,
              record.uuid, record.vcpus, record.memory_mib, start? ", start requested": "");
    *result = ctl_vm_json (context, spec);
    return 0;
}

//  Sets a managed VM's desired state.
static int
s_want (const ctl_context_t *context, const char *name, vm_want_t want, json_t **result,
        char *err, size_t err_size)
{
    spec_t *spec = s_find_spec (context, name, err, err_size);
    if (!spec)
        return 1;
    if (spec->record.want == VM_WANT_DELETED && want != VM_WANT_DELETED) {
        snprintf (err, err_size, "vm '%s' is being deleted", name);
        return 1;
    }
    //  A start of a VM in the error state (its restart policy gave up) gives it a fresh
    //  restart budget: ha.max_restart starts on one host, ha.max_relocate other hosts.
    bool fresh = want == VM_WANT_RUNNING && spec->gave_up;
    if (fresh) {
        log_info ("vm '%s': leaves the error state: start requested", name);
        spec->gave_up = false;
        spec->failed_on [0] = 0;
        spec->failed_here = spec->relocations = 0;
    }
    if (spec->record.want != want || fresh) {
        spec->record.want = want;
        spec->retry_after = 0;
        snprintf (spec->record.reason, sizeof spec->record.reason, "%s requested",
                  want == VM_WANT_RUNNING? "start": want == VM_WANT_STOPPED? "stop": "delete");
        log_info ("vm '%s': desired state %s", name, vm_want_name (want));
        reconcile_put_spec (spec, false, context->wall, context->mutations);
    }
    *result = ctl_vm_json (context, spec);
    return 0;
}

int
ctl_vm_start (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
              size_t err_size)
{
    return s_want (context, ctl_args_string (args, "name"), VM_WANT_RUNNING, result, err, err_size);
}

int
ctl_vm_stop (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
             size_t err_size)
{
    return s_want (context, ctl_args_string (args, "name"), VM_WANT_STOPPED, result, err, err_size);
}

int
ctl_vm_delete (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
               size_t err_size)
{
    return s_want (context, ctl_args_string (args, "name"), VM_WANT_DELETED, result, err, err_size);
}

int
ctl_vm_migrate (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
                size_t err_size)
{
    uint64_t timeout_ms = (uint64_t) ctl_args_integer (args, "timeout_ms", 0);
    spec_t *spec = s_find_spec (context, ctl_args_string (args, "name"), err, err_size);
    if (!spec)
        return 1;
    host_t *target = NULL;
    const char *host = ctl_args_string (args, "host");
    if (host && !(target = ctl_find_host (context, host, err, err_size)))
        return 1;
    if (reconcile_migrate (context->model, context->managed, context->reconcile, spec, target,
                           (uint32_t) timeout_ms, context->now, context->wall, context->outbox,
                           context->mutations, err, err_size))
        return 1;
    *result = ctl_vm_json (context, spec);
    return 0;
}

int
ctl_vm_abort (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
              size_t err_size)
{
    spec_t *spec = s_find_spec (context, ctl_args_string (args, "name"), err, err_size);
    if (!spec || reconcile_abort (context->model, context->managed, context->reconcile, spec,
                                  context->outbox, err, err_size))
        return 1;
    *result = ctl_vm_json (context, spec);
    return 0;
}

//  A decision as JSON: {at, host, summary, verdicts}.
static json_t *
s_decision_json (int64_t at, const char *host, const char *summary, const char *verdicts)
{
    char when [40] = "";
    if (at > 0)
        clock_format_wall (at, when, sizeof when);
    json_t *parsed = json_loads (verdicts? verdicts: "[]", 0, NULL);
    return json_pack ("{s:o, s:o, s:s, s:o}",
        "at", at > 0? json_string (when): json_null (),
        "host", host && *host? json_string (host): json_null (), "summary", summary,
        "verdicts", parsed? parsed: json_array ());
}

int
ctl_vm_why (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
            size_t err_size)
{
    spec_t *spec = s_find_spec (context, ctl_args_string (args, "name"), err, err_size);
    if (!spec)
        return 1;
    store_decision_t stored;
    json_t *last = json_null ();
    if (store_load_decision (context->store, spec->record.uuid, &stored) == 1) {
        json_decref (last);
        last = s_decision_json (stored.at, stored.host, stored.summary, stored.verdicts);
        free (stored.verdicts);
    }
    //  And as the engine sees it now (the VM's own usage left out).
    view_t *view = view_new (context->model, context->managed, &context->reconcile->policy,
                             NULL);
    place_verdict_t *verdicts = calloc (model_host_count (context->model) + 1,
                                        sizeof *verdicts);
    json_t *now = json_null ();
    if (view && verdicts) {
        place_decision_t decision;
        host_t *host = view_place (view, spec, NULL, verdicts, &decision);
        char *text = view_verdicts_json (view, verdicts);
        json_decref (now);
        now = s_decision_json (0, host? host->record.name: "", decision.summary, text);
        free (text);
    }
    free (verdicts);
    view_destroy (&view);
    json_t *object = ctl_vm_json (context, spec);
    json_object_update_new (object, json_pack ("{s:o, s:o}", "decision", last, "now", now));
    *result = object;
    return 0;
}

//  --------------------------------------------------------------------------
//  Rules

//  Copies the names of the array field key into names; returns the count or -1 with err.
static int
s_names (const char *what, const json_t *args, const char *key,
         char names [][WIRE_NAME_SIZE], char *err, size_t err_size)
{
    size_t count = ctl_args_count (args, key);
    if (count > RULE_MAX_MEMBERS) {
        snprintf (err, err_size, "at most %d %ss per rule", RULE_MAX_MEMBERS, what);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        const char *name = ctl_args_item (args, key, i);
        if (!s_valid_name (name)) {
            snprintf (err, err_size, "invalid %s name '%.64s' in the list", what, name);
            return -1;
        }
        snprintf (names [i], WIRE_NAME_SIZE, "%s", name);
    }
    return (int) count;
}

//  Kinds as the operator names them.
static const struct {
    const char *name;           // "anti-affinity", "must-not", ...
    rule_kind_t kind;           // record kind
    bool hard;                  // default hardness
    bool positive;              // VM_HOST direction
} s_rule_kinds [] = {
    { "affinity",      RULE_AFFINITY,      true,  true },
    { "anti-affinity", RULE_ANTI_AFFINITY, true,  true },
    { "must",          RULE_VM_HOST,       true,  true },
    { "must-not",      RULE_VM_HOST,       true,  false },
    { "should",        RULE_VM_HOST,       false, true },
    { "should-not",    RULE_VM_HOST,       false, false },
};

static const char *
s_rule_kind_name (const rule_record_t *rule)
{
    for (size_t i = 0; i < sizeof s_rule_kinds / sizeof s_rule_kinds [0]; i++)
        if (s_rule_kinds [i].kind == rule->kind && (rule->kind != RULE_VM_HOST
            || (s_rule_kinds [i].hard == rule->hard
                && s_rule_kinds [i].positive == rule->positive)))
            return s_rule_kinds [i].name;
    return rule_kind_name (rule->kind);
}

static json_t *
s_rule_json (const rule_record_t *rule)
{
    json_t *vms = json_array (), *hosts = json_array ();
    for (uint32_t i = 0; i < rule->vm_count; i++)
        json_array_append_new (vms, json_string (rule->vms [i]));
    for (uint32_t i = 0; i < rule->host_count; i++)
        json_array_append_new (hosts, json_string (rule->hosts [i]));
    char when [40];
    clock_format_wall (rule->created_at, when, sizeof when);
    return json_pack ("{s:s, s:s, s:b, s:I, s:o, s:o, s:s}", "name", rule->name,
        "kind", s_rule_kind_name (rule), "hard", rule->hard, "weight", (json_int_t) rule->weight,
        "vms", vms, "hosts", hosts, "created_at", when);
}

//  Fills rule from the request. 0, or 2 with err.
static int
s_rule_parse (const json_t *args, rule_record_t *rule, char *err, size_t err_size)
{
    const char *name = ctl_args_string (args, "name");
    const char *kind_name = ctl_args_string (args, "kind");
    if (!s_valid_name (name)) {
        snprintf (err, err_size, "invalid rule name '%.64s': use letters, digits, '.', '-', '_'",
                  name);
        return 2;
    }
    snprintf (rule->name, sizeof rule->name, "%s", name);
    int kind = -1;
    for (size_t i = 0; i < sizeof s_rule_kinds / sizeof s_rule_kinds [0]; i++)
        if (strcmp (kind_name, s_rule_kinds [i].name) == 0)
            kind = (int) i;
    if (kind < 0) {
        snprintf (err, err_size, "unknown rule kind '%.32s': use affinity, anti-affinity, must, "
                  "must-not, should or should-not", kind_name);
        return 2;
    }
    rule->kind = s_rule_kinds [kind].kind;
    rule->hard = s_rule_kinds [kind].hard;
    rule->positive = s_rule_kinds [kind].positive;
    bool soft = ctl_args_boolean (args, "soft", false);
    uint64_t weight = (uint64_t) ctl_args_integer (args, "weight", 10);
    if (soft && rule->kind == RULE_VM_HOST) {
        snprintf (err, err_size, "use 'should' or 'should-not' for soft vm-host rules");
        return 2;
    }
    rule->hard = rule->hard && !soft;
    rule->weight = (uint32_t) (weight? weight: 1);
    int vms = s_names ("vm", args, "vms", rule->vms, err, err_size);
    int hosts = vms < 0? -1: s_names ("host", args, "hosts", rule->hosts, err, err_size);
    if (vms < 0 || hosts < 0)
        return 2;
    rule->vm_count = (uint32_t) vms;
    rule->host_count = (uint32_t) hosts;
    bool vm_host = rule->kind == RULE_VM_HOST;
    if (vms < (vm_host? 1: 2) || (vm_host && hosts < 1) || (!vm_host && hosts > 0)) {
        snprintf (err, err_size, "a %s rule needs %s", kind_name, vm_host
                  ? "at least one vm and one host (--hosts)"
                  : "at least two vms and no hosts");
        return 2;
    }
    return 0;
}

int
ctl_rule_add (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
              size_t err_size)
{
    rule_record_t rule = { .created_at = context->wall };
    int rc = s_rule_parse (args, &rule, err, err_size);
    if (rc)
        return rc;
    if (managed_rule_by_name (context->managed, rule.name)) {
        snprintf (err, err_size, "rule '%s' exists already (delete it first)", rule.name);
        return 1;
    }
    view_t *view = view_new (context->model, context->managed, &context->reconcile->policy,
                             &rule);
    if (!view) {
        snprintf (err, err_size, "out of memory");
        return 1;
    }
    char reason [WIRE_TEXT_SIZE * 2];
    rc = place_check_rules (view_cluster (view), reason, sizeof reason);
    view_destroy (&view);
    if (rc) {
        snprintf (err, err_size, "rule '%s' refused: %s", rule.name, reason);
        return 1;
    }
    if (!managed_add_rule (context->managed, &rule)) {
        snprintf (err, err_size, "out of memory");
        return 1;
    }
    mutation_t put = { .kind = MUTATION_RULE_PUT, .at = context->wall };
    put.u.rule = rule;
    mutations_push (context->mutations, &put);
    log_info ("rule '%s' (%s) added", rule.name, s_rule_kind_name (&rule));
    *result = s_rule_json (&rule);
    return 0;
}

int
ctl_rule_list (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
               size_t err_size)
{
    (void) args, (void) err, (void) err_size;
    json_t *rules = json_array ();
    for (size_t i = 0; i < managed_rule_count (context->managed); i++)
        json_array_append_new (rules, s_rule_json (managed_rule_at (context->managed, i)));
    *result = json_pack ("{s:o}", "rules", rules);
    return 0;
}

int
ctl_rule_delete (const ctl_context_t *context, const json_t *args, json_t **result, char *err,
                 size_t err_size)
{
    const char *name = ctl_args_string (args, "name");
    if (!managed_rule_by_name (context->managed, name)) {
        snprintf (err, err_size, "no rule named '%.64s' (see 'clusterctl rule list')", name);
        return 1;
    }
    managed_remove_rule (context->managed, name);
    mutation_t gone = { .kind = MUTATION_RULE_DELETE, .at = context->wall };
    snprintf (gone.u.rule_name, sizeof gone.u.rule_name, "%s", name);
    mutations_push (context->mutations, &gone);
    log_info ("rule '%s' deleted", name);
    *result = json_pack ("{s:s, s:b}", "name", name, "deleted", true);
    return 0;
}

//  --------------------------------------------------------------------------
//  Hosts

int
ctl_host_maintenance (const ctl_context_t *context, const json_t *args, json_t **result,
                      char *err, size_t err_size)
{
    bool enter = ctl_args_boolean (args, "maintenance", false);
    host_t *host = ctl_find_host (context, ctl_args_string (args, "name"), err, err_size);
    if (!host)
        return 1;
    if (host->record.maintenance != enter) {
        host->record.maintenance = enter;
        log_info ("host '%s': maintenance %s", host->record.name, enter? "entered": "ended");
        mutation_t put = { .kind = MUTATION_HOST_PUT, .at = context->wall };
        put.u.host = host->record;
        mutations_push (context->mutations, &put);
    }
    size_t vms, running;
    uint64_t vcpus, memory;
    model_host_usage (context->model, host, &vms, &running, &vcpus, &memory);
    *result = json_pack ("{s:s, s:b, s:I}", "name", host->record.name,
                         "maintenance", host->record.maintenance, "vms_running",
                         (json_int_t) running);
    return 0;
}
