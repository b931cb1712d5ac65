/*  views.c - clusterctl's human-readable renderings (see views.h).

    Column and field lists are tables; the layout work is table.c's. Owns nothing.
*/
#include "views.h"
#include "table.h"

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
    };
    static const table_column_t vms [] = {
        { "total:", "total", TABLE_TEXT }, { "running:", "running", TABLE_TEXT },
    };
    static const table_column_t capacity [] = {
        { "cpus:", "cpus", TABLE_TEXT }, { "vcpus used:", "vcpus_used", TABLE_TEXT },
        { "memory:", "memory_mib", TABLE_MIB }, { "memory used:", "memory_used_mib", TABLE_MIB },
    };
    fprintf (out, "Scheduler\n");
    table_print_fields (out, scheduler, S_COUNT (scheduler), json_object_get (document, "scheduler"));
    fprintf (out, "\nHosts\n");
    table_print_fields (out, hosts, S_COUNT (hosts), json_object_get (document, "hosts"));
    fprintf (out, "\nVMs\n");
    table_print_fields (out, vms, S_COUNT (vms), json_object_get (document, "vms"));
    fprintf (out, "\nCapacity of up hosts\n");
    table_print_fields (out, capacity, S_COUNT (capacity), json_object_get (document, "capacity"));
}

void
view_host_list (FILE *out, const json_t *document)
{
    static const table_column_t columns [] = {
        { "NAME", "name", TABLE_TEXT }, { "STATE", "state", TABLE_TEXT },
        { "GEN", "generation", TABLE_TEXT }, { "CPUS", "cpus", TABLE_TEXT },
        { "MEMORY", "memory_mib", TABLE_MIB }, { "VMS", "vm_count", TABLE_TEXT },
        { "RUNNING", "vms_running", TABLE_TEXT }, { "VCPUS USED", "vcpus_used", TABLE_TEXT },
        { "MEM USED", "memory_used_mib", TABLE_MIB }, { "LIBVIRT", "hypervisor_connected", TABLE_YESNO },
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
        { "memory used:", "memory_used_mib", TABLE_MIB }, { "cpu model:", "cpu_model", TABLE_TEXT },
        { "nested virt:", "nested", TABLE_YESNO }, { "cpu flags:", "cpu_flags", TABLE_TEXT },
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
}

void
view_vm_list (FILE *out, const json_t *document)
{
    static const table_column_t columns [] = {
        { "NAME", "name", TABLE_TEXT }, { "HOST", "host", TABLE_TEXT },
        { "STATE", "state", TABLE_TEXT }, { "VCPUS", "vcpus", TABLE_TEXT },
        { "MEMORY", "memory_mib", TABLE_MIB }, { "CPU TIME", "cpu_time_s", TABLE_SECONDS },
        { "UUID", "uuid", TABLE_TEXT },
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
        { "cpu time:", "cpu_time_s", TABLE_SECONDS }, { "vcpu delay ms:", "vcpu_delay_ms", TABLE_TEXT },
        { "rss:", "rss_mib", TABLE_MIB }, { "updated:", "updated_at", TABLE_TEXT },
    };
    table_print_fields (out, fields, S_COUNT (fields), document);
    s_section (out, "History (newest 20)", s_history_columns, S_COUNT (s_history_columns),
               json_object_get (document, "history"));
}
