/*  views.c - clusterctl's human-readable renderings (see views.h).

    Column and field lists are tables; the layout work is table.c's. Owns nothing.
*/
#include "views.h"
#include "table.h"

#include <stdlib.h>

#define S_COUNT(array) (sizeof (array) / sizeof (array) [0])

static const table_column_t s_history_columns [] = {
    { "AT", "at", TABLE_TEXT }, { "FROM", "from", TABLE_TEXT }, { "TO", "to", TABLE_TEXT },
    { "DETAIL", "detail", TABLE_TEXT },
};

//  A titled sub-table of an object (e.g. "History:").
static void
s_section (FILE *out, const char *title, const table_column_t *columns, size_t count,
           const json_t *rows)
{
    fprintf (out, "\n%s:\n", title);
    table_print (out, columns, count, rows);
}

//  The operation in flight of a VM, one line (nothing when there is none).
static void
s_operation (FILE *out, const json_t *op)
{
    if (!json_is_object (op))
        return;
    const char *target = json_string_value (json_object_get (op, "target"));
    fprintf (out, "operation:      %s (command %" JSON_INTEGER_FORMAT ") on host '%s'%s%s%s, "
             "%s, %.0f%% done\n", json_string_value (json_object_get (op, "action")),
             json_integer_value (json_object_get (op, "id")),
             json_string_value (json_object_get (op, "host")), target? " to host '": "",
             target? target: "", target? "'": "",
             json_is_true (json_object_get (op, "accepted"))? "accepted": "sent",
             json_number_value (json_object_get (op, "percent")));
}

//  The status document's HA block, and a warning naming the hosts where nothing resets a
//  host whose agent hangs (nothing when the scheduler sent no "ha").
static void
s_ha (FILE *out, const json_t *ha)
{
    static const table_column_t fields [] = {
        { "profile:", "profile", TABLE_TEXT }, { "renew (h):", "renew_ms", TABLE_MS },
        { "lease (L):", "lease_ms", TABLE_MS }, { "fence (F):", "fence_ms", TABLE_MS },
        { "watchdog (W):", "watchdog_ms", TABLE_MS }, { "margin:", "margin_ms", TABLE_MS },
        { "dead after (D):", "dead_after_ms", TABLE_MS },
        { "witnesses (k):", "witnesses", TABLE_TEXT },
        { "allow unfenced:", "allow_unfenced_hosts", TABLE_YESNO },
    };
    if (!json_is_object (ha))
        return;
    fprintf (out, "\nHA\n");
    table_print_fields (out, fields, S_COUNT (fields), ha);
    const json_t *hosts = json_object_get (ha, "unprotected_hosts");
    if (!json_is_array (hosts) || json_array_size (hosts) == 0)
        return;
    fprintf (out, "warning: %zu host%s with neither watchdog nor fence device (a hung agent "
             "there lets a vm run twice):", json_array_size (hosts),
             json_array_size (hosts) == 1? "": "s");
    size_t index;
    const json_t *name;
    json_array_foreach (hosts, index, name)
        fprintf (out, "%s %s", index? ",": "", json_is_string (name)? json_string_value (name)
                                                                   : "?");
    fprintf (out, "\n");
    if (json_is_true (json_object_get (ha, "allow_unfenced_hosts")))
        fprintf (out, "warning: ha.allow_unfenced_hosts = yes: HA vms may run on them "
                 "(audited)\n");
    else
        fprintf (out, "HA vms are not placed on them\n");
}

void
view_status (FILE *out, const json_t *document)
{
    static const table_column_t scheduler [] = {
        { "version:", "version", TABLE_TEXT }, { "epoch:", "epoch", TABLE_TEXT },
        { "uptime:", "uptime_s", TABLE_SECONDS }, { "database:", "database", TABLE_TEXT },
        { "agents on:", "agent_endpoint", TABLE_TEXT },
        { "clusterctl on:", "ctl_endpoint", TABLE_TEXT },
    };
    static const table_column_t hosts [] = {
        { "total:", "total", TABLE_TEXT }, { "up:", "up", TABLE_TEXT },
        { "suspect:", "suspect", TABLE_TEXT }, { "down:", "down", TABLE_TEXT },
        { "dead:", "dead", TABLE_TEXT },
    };
    static const table_column_t vms [] = {
        { "total:", "total", TABLE_TEXT }, { "running:", "running", TABLE_TEXT },
    };
    static const table_column_t capacity [] = {
        { "cpus:", "cpus", TABLE_TEXT }, { "vcpus used:", "vcpus_used", TABLE_TEXT },
        { "memory:", "memory_mib", TABLE_MIB }, { "memory used:", "memory_used_mib", TABLE_MIB },
    };
    static const table_column_t security [] = {
        { "keys allowed:", "keys_allowed", TABLE_TEXT },
        { "handshakes accepted:", "handshakes_accepted", TABLE_TEXT },
        { "handshakes refused:", "handshakes_refused", TABLE_TEXT },
        { "handshakes failed:", "handshakes_failed", TABLE_TEXT },
    };
    fprintf (out, "Scheduler\n");
    table_print_fields (out, scheduler, S_COUNT (scheduler), json_object_get (document, "scheduler"));
    fprintf (out, "\nHosts\n");
    table_print_fields (out, hosts, S_COUNT (hosts), json_object_get (document, "hosts"));
    fprintf (out, "\nVMs\n");
    table_print_fields (out, vms, S_COUNT (vms), json_object_get (document, "vms"));
    fprintf (out, "\nCapacity of up hosts\n");
    table_print_fields (out, capacity, S_COUNT (capacity), json_object_get (document, "capacity"));
    fprintf (out, "\nSecurity\n");
    table_print_fields (out, security, S_COUNT (security), json_object_get (document, "security"));
    s_ha (out, json_object_get (document, "ha"));
}

void
view_host_list (FILE *out, const json_t *document)
{
    static const table_column_t columns [] = {
        { "NAME", "name", TABLE_TEXT }, { "STATE", "state", TABLE_TEXT },
        { "GEN", "generation", TABLE_TEXT }, { "CPUS", "cpus", TABLE_TEXT },
        { "MEMORY", "memory_mib", TABLE_MIB }, { "VMS", "vm_count", TABLE_TEXT },
        { "RUNNING", "vms_running", TABLE_TEXT }, { "VCPUS USED", "vcpus_used", TABLE_TEXT },
        { "CPU %", "cpu_pct", TABLE_PERCENT },
        { "MEM USED", "memory_used_mib", TABLE_MIB }, { "MAINT", "maintenance", TABLE_YESNO },
        { "PROTECTED", "protected", TABLE_YESNO },
        { "LIBVIRT", "hypervisor_connected", TABLE_YESNO },
        { "LAST SEEN", "last_seen_ms", TABLE_AGE_MS },
    };
    table_print (out, columns, S_COUNT (columns), json_object_get (document, "hosts"));
}

void
view_host_show (FILE *out, const json_t *document)
{
    static const table_column_t fields [] = {
        { "name:", "name", TABLE_TEXT }, { "id:", "id", TABLE_TEXT },
        { "state:", "state", TABLE_TEXT }, { "since:", "state_since", TABLE_TEXT },
        { "generation:", "generation", TABLE_TEXT }, { "registered:", "registered_at", TABLE_TEXT },
        { "last seen:", "last_seen_ms", TABLE_AGE_MS }, { "boot id:", "boot_id", TABLE_TEXT },
        { "hypervisor:", "hypervisor_uri", TABLE_TEXT },
        { "libvirt connected:", "hypervisor_connected", TABLE_YESNO },
        { "agent version:", "agent_version", TABLE_TEXT }, { "cpus:", "cpus", TABLE_TEXT },
        { "memory:", "memory_mib", TABLE_MIB }, { "vcpus used:", "vcpus_used", TABLE_TEXT },
        { "memory used:", "memory_used_mib", TABLE_MIB },
        { "cpu %:", "cpu_pct", TABLE_PERCENT }, { "cpu cores used:", "cpu_cores_used", TABLE_TEXT },
        { "contention %:", "contention_pct", TABLE_PERCENT },
        { "memory in use:", "mem_in_use_mib", TABLE_MIB }, { "cpu model:", "cpu_model", TABLE_TEXT },
        { "nested virt:", "nested", TABLE_YESNO }, { "cpu flags:", "cpu_flags", TABLE_TEXT },
        { "watchdog:", "watchdog", TABLE_TEXT },
        { "fence device:", "fence_device", TABLE_YESNO },
        { "protected:", "protected", TABLE_YESNO },
        { "witness on:", "witness_endpoint", TABLE_TEXT },
    };
    static const table_column_t timeline [] = {
        { "AT", "at", TABLE_WALL_MS }, { "KIND", "kind", TABLE_TEXT },
        { "DETAIL", "detail", TABLE_TEXT },
    };
    static const table_column_t numa [] = {
        { "CELL", "id", TABLE_TEXT }, { "CPUS", "cpus", TABLE_TEXT },
        { "MEMORY", "memory_mib", TABLE_MIB },
    };
    static const table_column_t domains [] = {
        { "NAME", "name", TABLE_TEXT }, { "STATE", "state", TABLE_TEXT },
        { "UUID", "uuid", TABLE_TEXT },
    };
    table_print_fields (out, fields, S_COUNT (fields), document);
    s_section (out, "NUMA cells", numa, S_COUNT (numa), json_object_get (document, "numa"));
    s_section (out, "Domains", domains, S_COUNT (domains), json_object_get (document, "domains"));
    s_section (out, "History (newest 20)", s_history_columns, S_COUNT (s_history_columns),
               json_object_get (document, "history"));
    s_section (out, "HA timeline (local time)", timeline, S_COUNT (timeline),
               json_object_get (document, "timeline"));
}

void
view_vm_list (FILE *out, const json_t *document)
{
    static const table_column_t columns [] = {
        { "NAME", "name", TABLE_TEXT }, { "HOST", "host", TABLE_TEXT },
        { "STATE", "state", TABLE_TEXT }, { "WANT", "want", TABLE_TEXT },
        { "VCPUS", "vcpus", TABLE_TEXT }, { "MEMORY", "memory_mib", TABLE_MIB },
        { "CPU %", "cpu_pct", TABLE_PERCENT }, { "UUID", "uuid", TABLE_TEXT },
    };
    table_print (out, columns, S_COUNT (columns), json_object_get (document, "vms"));
}

void
view_vm_show (FILE *out, const json_t *document)
{
    static const table_column_t fields [] = {
        { "name:", "name", TABLE_TEXT }, { "uuid:", "uuid", TABLE_TEXT },
        { "host:", "host", TABLE_TEXT }, { "host id:", "host_id", TABLE_TEXT },
        { "state:", "state", TABLE_TEXT }, { "persistent:", "persistent", TABLE_YESNO },
        { "vcpus:", "vcpus", TABLE_TEXT }, { "memory:", "memory_mib", TABLE_MIB },
        { "cpu %:", "cpu_pct", TABLE_PERCENT },
        { "contention %:", "contention_pct", TABLE_PERCENT },
        { "memory in use:", "mem_in_use_mib", TABLE_MIB },
        { "cpu time:", "cpu_time_s", TABLE_SECONDS }, { "vcpu delay ms:", "vcpu_delay_ms", TABLE_TEXT },
        { "rss:", "rss_mib", TABLE_MIB }, { "updated:", "updated_at", TABLE_TEXT },
        { "managed:", "managed", TABLE_YESNO }, { "want:", "want", TABLE_TEXT },
        { "reason:", "reason", TABLE_TEXT }, { "priority:", "priority", TABLE_TEXT },
        { "ha:", "ha", TABLE_YESNO }, { "cpu reserve:", "cpu_reserve", TABLE_TEXT },
        { "memory reserve:", "mem_reserve_mib", TABLE_MIB },
        { "nested:", "needs_nested", TABLE_YESNO }, { "migratable:", "migratable", TABLE_YESNO },
        { "generation:", "generation", TABLE_TEXT },
    };
    static const table_column_t operations [] = {
        { "ID", "id", TABLE_TEXT }, { "ACTION", "action", TABLE_TEXT },
        { "STATE", "state", TABLE_TEXT }, { "STARTED", "started_at", TABLE_TEXT },
        { "MESSAGE", "message", TABLE_TEXT },
    };
    table_print_fields (out, fields, S_COUNT (fields), document);
    s_operation (out, json_object_get (document, "operation"));
    if (json_object_get (document, "operations"))
        s_section (out, "Operations (newest 10)", operations, S_COUNT (operations),
                   json_object_get (document, "operations"));
    s_section (out, "History (newest 20)", s_history_columns, S_COUNT (s_history_columns),
               json_object_get (document, "history"));
}

void
view_vm_brief (FILE *out, const json_t *document)
{
    static const table_column_t fields [] = {
        { "name:", "name", TABLE_TEXT }, { "uuid:", "uuid", TABLE_TEXT },
        { "state:", "state", TABLE_TEXT }, { "host:", "host", TABLE_TEXT },
        { "want:", "want", TABLE_TEXT }, { "reason:", "reason", TABLE_TEXT },
    };
    table_print_fields (out, fields, S_COUNT (fields), document);
    s_operation (out, json_object_get (document, "operation"));
}

void
view_vm_why (FILE *out, const json_t *document)
{
    static const table_column_t verdicts [] = {
        { "HOST", "host", TABLE_TEXT }, { "FITS", "fits", TABLE_YESNO },
        { "SCORE", "score", TABLE_TEXT }, { "REASON", "reason", TABLE_TEXT },
    };
    const json_t *stored = json_object_get (document, "decision");
    const json_t *now = json_object_get (document, "now");
    fprintf (out, "vm '%s' (%s, wants %s): %s\n", json_string_value (json_object_get (document, "name")),
             json_string_value (json_object_get (document, "state")),
             json_string_value (json_object_get (document, "want")),
             json_string_value (json_object_get (document, "reason")));
    if (json_is_object (stored)) {
        fprintf (out, "\nLast decision (%s): %s\n",
                 json_string_value (json_object_get (stored, "at")),
                 json_string_value (json_object_get (stored, "summary")));
        table_print (out, verdicts, S_COUNT (verdicts), json_object_get (stored, "verdicts"));
    }
    if (json_is_object (now)) {
        fprintf (out, "\nIf placed now: %s\n", json_string_value (json_object_get (now, "summary")));
        table_print (out, verdicts, S_COUNT (verdicts), json_object_get (now, "verdicts"));
    }
}

static const table_column_t s_rule_columns [] = {
    { "NAME", "name", TABLE_TEXT }, { "KIND", "kind", TABLE_TEXT },
    { "HARD", "hard", TABLE_YESNO }, { "WEIGHT", "weight", TABLE_TEXT },
    { "VMS", "vms_text", TABLE_TEXT }, { "HOSTS", "hosts_text", TABLE_TEXT },
};

//  A copy of rules with their name lists joined for the table (caller decrefs).
static json_t *
s_rules_for_table (const json_t *rules)
{
    json_t *copy = json_deep_copy (rules);
    size_t index;
    json_t *rule;
    json_array_foreach (copy, index, rule) {
        const char *lists [] = { "vms", "hosts" };
        for (int l = 0; l < 2; l++) {
            char text [2048] = "";
            size_t used = 0, i;
            json_t *name;
            json_array_foreach (json_object_get (rule, lists [l]), i, name)
                if (used < sizeof text)
                    used += (size_t) snprintf (text + used, sizeof text - used, "%s%s",
                                               used? ",": "", json_string_value (name));
            json_object_set_new (rule, l? "hosts_text": "vms_text", json_string (text));
        }
    }
    return copy;
}

void
view_rule_list (FILE *out, const json_t *document)
{
    json_t *rows = s_rules_for_table (json_object_get (document, "rules"));
    table_print (out, s_rule_columns, S_COUNT (s_rule_columns), rows);
    json_decref (rows);
}

void
view_rule (FILE *out, const json_t *document)
{
    json_t *one = json_array ();
    json_array_append (one, (json_t *) document);
    json_t *rows = s_rules_for_table (one);
    table_print (out, s_rule_columns, S_COUNT (s_rule_columns), rows);
    json_decref (rows);
    json_decref (one);
}

void
view_maintenance (FILE *out, const json_t *document)
{
    fprintf (out, "host '%s': maintenance %s, %" JSON_INTEGER_FORMAT " vms running on it\n",
             json_string_value (json_object_get (document, "name")),
             json_is_true (json_object_get (document, "maintenance"))? "on": "off",
             json_integer_value (json_object_get (document, "vms_running")));
}

void
view_done (FILE *out, const json_t *document)
{
    (void) document;
    fprintf (out, "done\n");
}

static const table_column_t s_principal_columns [] = {
    { "NAME", "name", TABLE_TEXT }, { "KIND", "kind", TABLE_TEXT },
    { "ROLE", "role", TABLE_TEXT }, { "KEY", "key", TABLE_TEXT },
    { "ADDED", "created_at", TABLE_TEXT },
};

void
view_principal (FILE *out, const json_t *document)
{
    json_t *one = json_array ();
    json_array_append (one, (json_t *) document);
    table_print (out, s_principal_columns, S_COUNT (s_principal_columns), one);
    json_decref (one);
}

void
view_user_list (FILE *out, const json_t *document)
{
    fprintf (out, "Users\n");
    table_print (out, s_principal_columns, S_COUNT (s_principal_columns),
                 json_object_get (document, "users"));
    fprintf (out, "\nHosts\n");
    table_print (out, s_principal_columns, S_COUNT (s_principal_columns),
                 json_object_get (document, "hosts"));
}

//  One argument value as the audit table shows it: strings as they are, arrays joined by
//  commas, numbers and booleans in JSON spelling (jansson's).
static void
s_arg_text (const json_t *value, char *text, size_t size)
{
    text [0] = 0;
    if (json_is_string (value))
        snprintf (text, size, "%s", json_string_value (value));
    else
    if (json_is_array (value)) {
        size_t used = 0, index;
        const json_t *item;
        json_array_foreach (value, index, item)
            if (used < size)
                used += (size_t) snprintf (text + used, size - used, "%s%s", index? ",": "",
                                           json_is_string (item)? json_string_value (item): "?");
    }
    else {
        char *dumped = json_dumps (value, JSON_ENCODE_ANY);
        snprintf (text, size, "%s", dumped? dumped: "?");
        free (dumped);
    }
}

void
view_audit (FILE *out, const json_t *document)
{
    static const table_column_t columns [] = {
        { "AT", "at", TABLE_TEXT }, { "WHO", "who", TABLE_TEXT }, { "VERB", "verb", TABLE_TEXT },
        { "ARGS", "args_text", TABLE_TEXT }, { "STATUS", "status", TABLE_TEXT },
        { "MESSAGE", "message", TABLE_TEXT },
    };
    json_t *rows = json_deep_copy (json_object_get (document, "audit"));
    size_t index;
    json_t *row;
    json_array_foreach (rows, index, row) {
        //  The argument object as key=value words; rows older than JSON arguments hold an
        //  array of strings, shown as they are.
        char text [256] = "", value [256];
        size_t used = 0, i;
        const char *key;
        json_t *arg, *args = json_object_get (row, "args");
        json_object_foreach (args, key, arg) {
            s_arg_text (arg, value, sizeof value);
            if (used < sizeof text)
                used += (size_t) snprintf (text + used, sizeof text - used, "%s%s=%s",
                                           used? " ": "", key, value);
        }
        json_array_foreach (args, i, arg)
            if (used < sizeof text)
                used += (size_t) snprintf (text + used, sizeof text - used, "%s%s",
                                           used? " ": "", json_string_value (arg));
        json_object_set_new (row, "args_text", json_string (text));
    }
    table_print (out, columns, S_COUNT (columns), rows);
    json_decref (rows);
}
