/*  test_ctl_ops.c - the clusterctl verbs that change the cluster, as the scheduler answers
    them: refusals and what the answers say.

    Drives ctl_handle with requests built as clusterctl builds them (one JSON object of
    arguments), on a scheduler core whose model is fed like the agents would (HELLO,
    REPORT), an empty desired state and a store in a temporary directory (for `vm show`'s
    history). Checks the reply's status, error and JSON, and that a refused request leaves no
    trace; and the HA parts of `status` and `host show`, whose timeline entries reach the
    documents through core_committed. Prints one PASS/FAIL line per case;
    `test_ctl_ops CASE...` runs only those cases.
*/
#include "check.h"
#include "core.h"
#include "ctl.h"
#include "fixture_files.h"
#include "loader.h"
#include "log.h"
#include "managed.h"
#include "model.h"
#include "reconcile.h"
#include "store.h"
#include "view.h"
#include "xmlns.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static char s_dir [64];             // the temporary directory (the store's database)

//  One case's cluster: the scheduler's state and a context to ask it.
typedef struct {
    core_t *core;                   // owns model, managed and the HA state
    model_t *model;                 // borrowed from core
    managed_t *managed;             // borrowed from core
    store_t *store;
    auth_t *auth;                   // an empty allow list (for status)
    outbox_t outbox;
    mutations_t out;
    principal_record_t admin;
    ctl_context_t context;
} s_world_t;

static void
s_host (s_world_t *world, const char *id, const char *name, bool nested, const char *watchdog)
{
    wire_hello_t hello;
    memset (&hello, 0, sizeof hello);
    snprintf (hello.host_id, sizeof hello.host_id, "%s", id);
    snprintf (hello.name, sizeof hello.name, "%s", name);
    snprintf (hello.watchdog, sizeof hello.watchdog, "%s", watchdog);
    hello.capacity.cpus = 8;
    hello.capacity.memory_mib = 16384;
    hello.capacity.nested = nested;
    char err [256];
    host_t *host = model_host_register (world->model, &hello, 0, "", 1000, 1000, &world->out,
                                        err, sizeof err);
    wire_report_t nothing = { true, 0, NULL, 0 };
    if (host)
        model_apply_report (world->model, host, &nothing, 1000, &world->out);
}

#define S_H1 "11111111-1111-1111-1111-111111111111"
#define S_H2 "22222222-2222-2222-2222-222222222222"
#define S_H3 "33333333-3333-3333-3333-333333333333"

//  Writes what fx holds to the store, as the scheduler commits, and tells the core.
static void
s_commit (s_world_t *world, fx_t *fx)
{
    for (size_t i = 0; i < fx->mutations.count; i++)
        store_apply (world->store, vec_at (&fx->mutations, i));
    store_commit (world->store);
    core_committed (world->core, fx);
    fx_clear (fx);
}

//  Three up hosts h1..h3 (nested virtualization on all): h1 with a fence agent and no
//  watchdog, h2 with a watchdog, h3 with neither (HA profile "default"); nothing managed
//  yet. One tick of the core has run (it notes which hosts have a fence device).
static int
s_world_init (s_world_t *world, const char *name)
{
    memset (world, 0, sizeof *world);
    world->outbox = VEC_OF (outbound_t);
    world->out = VEC_OF (mutation_t);
    char path [128], err [256] = "";
    snprintf (path, sizeof path, "%s/%s.db", s_dir, name);
    const char *fenced [] = { "h1" };
    core_config_t config = { .timing = { 5000, 10000 }, .heartbeat_ms = 500,
                             .report_request_ms = 1000, .fence_hosts = fenced,
                             .fence_host_count = 1 };
    reconcile_config_defaults (&config.reconcile);
    config.reconcile.epoch = 3;
    ha_config_profile (&config.ha, "default");
    world->core = core_new (&config);
    world->model = world->core? core_model (world->core): NULL;
    world->managed = world->core? core_managed (world->core): NULL;
    world->store = store_open (path, err, sizeof err);
    if (!world->store)
        fprintf (stderr, "  cannot open the store '%s': %s\n", path, err);
    world->auth = auth_new (err, sizeof err);
    if (!world->auth)
        fprintf (stderr, "  cannot make an allow list: %s\n", err);
    if (!world->core || !world->store || !world->auth)
        return -1;
    world->admin = (principal_record_t) { .name = "admin", .kind = PRINCIPAL_USER,
                                          .role = ROLE_ADMIN };
    world->context = (ctl_context_t) {
        .model = world->model, .store = world->store, .version = "test", .epoch = 3,
        .now = 100000, .database = path, .agent_endpoint = "", .ctl_endpoint = "",
        .wall = 1000, .managed = world->managed,
        .reconcile = &core_config (world->core)->reconcile,
        .outbox = &world->outbox, .mutations = &world->out, .principal = &world->admin,
        .who = "user:admin", .ha = core_ha (world->core), .auth = world->auth };
    s_host (world, S_H1, "h1", true, "none");
    s_host (world, S_H2, "h2", true, "device /dev/watchdog0");
    s_host (world, S_H3, "h3", true, "");
    fx_t fx;
    fx_init (&fx);
    core_tick (world->core, 1100, 1100, &fx);
    s_commit (world, &fx);
    fx_free (&fx);
    return 0;
}

static void
s_world_free (s_world_t *world)
{
    core_destroy (&world->core);
    store_destroy (&world->store);
    auth_destroy (&world->auth);
    vec_free (&world->outbox);
    mutations_free (&world->out);
}

//  Asks verb with the argument object args (taken over); returns the reply's status, its
//  error in err (when not NULL) and its document in *json (when not NULL; caller decrefs).
static int
s_ask (s_world_t *world, const char *verb, json_t *args, char *err, size_t err_size,
       json_t **json)
{
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_CTL_REQUEST);
    snprintf (msg.body.request.verb, sizeof msg.body.request.verb, "%s", verb);
    char *text = json_dumps (args, JSON_COMPACT);
    json_decref (args);
    wire_request_set_args (&msg.body.request, text? text: "{}");
    free (text);
    wire_ctl_reply_t reply;
    memset (&reply, 0, sizeof reply);
    mutations_clear (&world->out);
    ctl_handle (&world->context, &msg.body.request, &reply);
    wire_msg_reset (&msg);
    //  Commit what it changed, as the scheduler does before it replies.
    for (size_t i = 0; i < world->out.count; i++)
        store_apply (world->store, vec_at (&world->out, i));
    store_commit (world->store);
    if (err)
        snprintf (err, err_size, "%s", reply.error);
    if (json)
        *json = reply.json? json_loads (reply.json, 0, NULL): NULL;
    free (reply.json);
    return reply.status;
}

static const char *s_xml = "<domain type='kvm'><memory unit='MiB'>1024</memory>"
                           "<vcpu>1</vcpu><os><type>hvm</type></os></domain>";

//  vm.create NAME with the test XML and an optional boolean option set true.
static int
s_create (s_world_t *world, const char *name, const char *option, char *err, size_t err_size)
{
    json_t *args = json_pack ("{s:s, s:s}", "name", name, "xml", s_xml);
    if (option)
        json_object_set_new (args, option, json_true ());
    return s_ask (world, "vm.create", args, err, err_size, NULL);
}

//  --------------------------------------------------------------------------

//  A rule may name VMs that do not exist yet; creating one that would make a hard rule
//  unsatisfiable is refused, naming the rule, and leaves no trace.
static int
s_case_create_breaks_rule (void)
{
    int failures = 0;
    s_world_t world;
    char err [1024] = "";
    CHECK (s_world_init (&world, "create_breaks_rule") == 0);
    CHECK (s_create (&world, "web-1", NULL, err, sizeof err) == 0);
    CHECK (s_create (&world, "web-2", NULL, err, sizeof err) == 0);
    json_t *rule = json_pack ("{s:s, s:s, s:[s,s,s,s]}", "name", "spread", "kind",
                              "anti-affinity", "vms", "web-1", "web-2", "web-3", "web-4");
    CHECK (s_ask (&world, "rule.add", rule, err, sizeof err, NULL) == 0);
    CHECK (s_create (&world, "web-3", NULL, err, sizeof err) == 0);
    //  A fourth VM kept apart from three others on three hosts: no place is left for it.
    err [0] = 0;
    CHECK (s_create (&world, "web-4", NULL, err, sizeof err) == 1);
    CHECK (strstr (err, "cannot create vm 'web-4'"));
    CHECK (strstr (err, "rule spread (anti-affinity) keeps 4 vms apart but they may use only "
                        "3 hosts"));
    if (!strstr (err, "rule spread"))
        fprintf (stderr, "  error was: '%s'\n", err);
    CHECK (managed_spec_by_name (world.managed, "web-4") == NULL);
    bool written = false;
    for (size_t i = 0; i < world.out.count; i++)
        written |= ((mutation_t *) vec_at (&world.out, i))->kind == MUTATION_SPEC_PUT;
    CHECK (!written);
    //  A VM no rule names is not affected; one the rules allow neither.
    CHECK (s_create (&world, "db-1", NULL, err, sizeof err) == 0);
    json_t *pin = json_pack ("{s:s, s:s, s:[s], s:[s]}", "name", "pin", "kind", "must",
                             "vms", "db-2", "hosts", "h1");
    CHECK (s_ask (&world, "rule.add", pin, err, sizeof err, NULL) == 0);
    CHECK (s_create (&world, "db-2", NULL, err, sizeof err) == 0);
    s_world_free (&world);
    return failures;
}

//  `vm show` of a VM NAME: its "migratable" field (-1 when absent or not a boolean).
static int
s_shown_migratable (s_world_t *world, const char *name)
{
    json_t *vm = NULL;
    int rc = s_ask (world, "vm.show", json_pack ("{s:s}", "name", name), NULL, 0, &vm);
    json_t *field = json_object_get (vm, "migratable");
    int migratable = rc == 0 && json_is_boolean (field)? json_is_true (field): -1;
    json_decref (vm);
    return migratable;
}

//  A nested VM is never live-migrated: vm show says so, however it was created.
static int
s_case_nested_not_migratable (void)
{
    int failures = 0;
    s_world_t world;
    char err [1024] = "";
    CHECK (s_world_init (&world, "nested_not_migratable") == 0);
    CHECK (s_create (&world, "plain", NULL, err, sizeof err) == 0);
    CHECK (s_create (&world, "nested", "nested", err, sizeof err) == 0);
    json_t *pinned = json_pack ("{s:s, s:s, s:b}", "name", "pinned", "xml", s_xml,
                                "migratable", 0);
    CHECK (s_ask (&world, "vm.create", pinned, err, sizeof err, NULL) == 0);
    CHECK (s_shown_migratable (&world, "plain") == 1);
    CHECK (s_shown_migratable (&world, "nested") == 0);
    CHECK (s_shown_migratable (&world, "pinned") == 0);
    //  Also when the XML itself requires vmx.
    json_t *vmx = json_pack ("{s:s, s:s}", "name", "hv", "xml",
                             "<domain type='kvm'><memory unit='MiB'>1024</memory>"
                             "<vcpu>1</vcpu><cpu><feature policy='require' name='vmx'/></cpu>"
                             "<os><type>hvm</type></os></domain>");
    CHECK (s_ask (&world, "vm.create", vmx, err, sizeof err, NULL) == 0);
    CHECK (s_shown_migratable (&world, "hv") == 0);
    //  Asking for both is a contradiction, refused like host devices are.
    CHECK (s_create (&world, "both", "nested", err, sizeof err) == 0);
    json_t *both = json_pack ("{s:s, s:s, s:b, s:b}", "name", "both2", "xml", s_xml,
                              "nested", 1, "migratable", 1);
    CHECK (s_ask (&world, "vm.create", both, err, sizeof err, NULL) == 1);
    CHECK (strstr (err, "vm 'both2' needs nested virtualization and cannot be live-migrated"));
    //  A record stored by an older scheduler (nested and migratable) is shown as it acts.
    spec_t *old = managed_spec_by_name (world.managed, "nested");
    if (old)
        old->record.migratable = true;
    CHECK (s_shown_migratable (&world, "nested") == 0);
    s_world_free (&world);
    return failures;
}

//  The host list row of name in a host.list answer (borrowed from hosts), or NULL.
static json_t *
s_row (json_t *hosts, const char *name)
{
    size_t index;
    json_t *row;
    json_array_foreach (json_object_get (hosts, "hosts"), index, row)
        if (strcmp (json_string_value (json_object_get (row, "name")), name) == 0)
            return row;
    return NULL;
}

//  The kinds of a host show document's timeline, joined by ',' into kinds.
static void
s_timeline_kinds (const json_t *host, char *kinds, size_t size)
{
    size_t index, used = 0;
    json_t *entry;
    kinds [0] = 0;
    json_array_foreach (json_object_get (host, "timeline"), index, entry)
        if (used < size)
            used += (size_t) snprintf (kinds + used, size - used, "%s%s", index? ",": "",
                                       json_string_value (json_object_get (entry, "kind")));
}

//  status: the HA settings and the hosts with neither watchdog nor fence device; host list
//  and host show: which hosts are protected and by what.
static int
s_case_status_ha (void)
{
    int failures = 0;
    s_world_t world;
    CHECK (s_world_init (&world, "status_ha") == 0);
    json_t *status = NULL;
    CHECK (s_ask (&world, "status", json_object (), NULL, 0, &status) == 0);
    json_t *hosts = json_object_get (status, "hosts");
    CHECK (json_integer_value (json_object_get (hosts, "up")) == 3);
    CHECK (json_is_integer (json_object_get (hosts, "dead"))
           && json_integer_value (json_object_get (hosts, "dead")) == 0);
    json_t *ha = json_object_get (status, "ha");
    CHECK (json_is_object (ha));
    CHECK (streq (json_string_value (json_object_get (ha, "profile")), "default"));
    static const struct { const char *field; json_int_t value; } timings [] = {
        { "renew_ms", 500 }, { "lease_ms", 2000 }, { "fence_ms", 1000 },
        { "watchdog_ms", 3000 }, { "margin_ms", 500 }, { "dead_after_ms", 7000 },
        { "witnesses", 5 },
    };
    for (size_t i = 0; i < sizeof timings / sizeof timings [0]; i++)
        CHECK (json_integer_value (json_object_get (ha, timings [i].field))
               == timings [i].value);
    CHECK (json_is_false (json_object_get (ha, "allow_unfenced_hosts")));
    json_t *unprotected = json_object_get (ha, "unprotected_hosts");
    CHECK (json_array_size (unprotected) == 1
           && streq (json_string_value (json_array_get (unprotected, 0)), "h3"));
    json_decref (status);

    json_t *list = NULL;
    CHECK (s_ask (&world, "host.list", json_object (), NULL, 0, &list) == 0);
    CHECK (json_is_true (json_object_get (s_row (list, "h1"), "protected")));  // fence agent
    CHECK (json_is_true (json_object_get (s_row (list, "h2"), "protected")));  // watchdog
    CHECK (json_is_false (json_object_get (s_row (list, "h3"), "protected")));
    CHECK (!json_object_get (s_row (list, "h1"), "timeline"));     // host show only
    json_decref (list);

    json_t *h1 = NULL, *h2 = NULL;
    CHECK (s_ask (&world, "host.show", json_pack ("{s:s}", "name", "h1"), NULL, 0, &h1) == 0);
    CHECK (s_ask (&world, "host.show", json_pack ("{s:s}", "name", "h2"), NULL, 0, &h2) == 0);
    CHECK (streq (json_string_value (json_object_get (h1, "watchdog")), "none"));
    CHECK (json_is_true (json_object_get (h1, "fence_device")));
    CHECK (json_is_true (json_object_get (h1, "protected")));
    CHECK (streq (json_string_value (json_object_get (h1, "witness_endpoint")), ""));
    CHECK (json_is_array (json_object_get (h1, "timeline"))
           && json_array_size (json_object_get (h1, "timeline")) == 0);
    CHECK (streq (json_string_value (json_object_get (h2, "watchdog")),
                  "device /dev/watchdog0"));
    CHECK (json_is_false (json_object_get (h2, "fence_device")));
    CHECK (json_is_true (json_object_get (h2, "protected")));
    json_decref (h1);
    json_decref (h2);
    s_world_free (&world);
    return failures;
}

//  A fence agent's answer reaches `host show` as timeline entries once it is committed
//  (core_committed): a confirmed power-off declares the host dead at once (status counts
//  it), a failure is recorded and leaves the host as it is.
static int
s_case_host_show_timeline (void)
{
    int failures = 0;
    s_world_t world;
    CHECK (s_world_init (&world, "host_show_timeline") == 0);
    fx_t fx;
    fx_init (&fx);
    core_on_fence_result (world.core, "h1", true, "off confirmed by status after 12 ms", 2000,
                          1764594603005, &fx);
    core_on_fence_result (world.core, "h2", false, "no fence agent configured", 2000,
                          1764594603010, &fx);
    //  Not committed yet: not in the timeline.
    json_t *h1 = NULL;
    CHECK (s_ask (&world, "host.show", json_pack ("{s:s}", "name", "h1"), NULL, 0, &h1) == 0);
    CHECK (json_array_size (json_object_get (h1, "timeline")) == 0);
    json_decref (h1);
    s_commit (&world, &fx);
    fx_free (&fx);

    char kinds [256];
    CHECK (s_ask (&world, "host.show", json_pack ("{s:s}", "name", "h1"), NULL, 0, &h1) == 0);
    CHECK (streq (json_string_value (json_object_get (h1, "state")), "dead"));
    s_timeline_kinds (h1, kinds, sizeof kinds);
    CHECK (streq (kinds, "fenced,dead"));
    if (!streq (kinds, "fenced,dead"))
        fprintf (stderr, "  h1's timeline: %s\n", kinds);
    json_t *fenced = json_array_get (json_object_get (h1, "timeline"), 0);
    json_t *dead = json_array_get (json_object_get (h1, "timeline"), 1);
    CHECK (json_integer_value (json_object_get (fenced, "at")) == 1764594603005);
    CHECK (streq (json_string_value (json_object_get (fenced, "detail")),
                  "off confirmed by status after 12 ms"));
    CHECK (streq (json_string_value (json_object_get (dead, "detail")),
                  "its fence agent confirmed power-off"));
    json_decref (h1);

    json_t *h2 = NULL;
    CHECK (s_ask (&world, "host.show", json_pack ("{s:s}", "name", "h2"), NULL, 0, &h2) == 0);
    CHECK (streq (json_string_value (json_object_get (h2, "state")), "up"));
    s_timeline_kinds (h2, kinds, sizeof kinds);
    CHECK (streq (kinds, "fence-failed"));
    json_t *failed = json_array_get (json_object_get (h2, "timeline"), 0);
    CHECK (strstr (json_string_value (json_object_get (failed, "detail")),
                   "no fence agent configured; falling back to the lease rule"));
    json_decref (h2);

    json_t *status = NULL;
    CHECK (s_ask (&world, "status", json_object (), NULL, 0, &status) == 0);
    json_t *hosts = json_object_get (status, "hosts");
    CHECK (json_integer_value (json_object_get (hosts, "dead")) == 1
           && json_integer_value (json_object_get (hosts, "up")) == 2);
    json_decref (status);
    s_world_free (&world);
    return failures;
}

//  `vm start` of a VM in the error state (its restart policy gave up) gives it a fresh
//  restart budget; of a VM that runs or is starting, it changes nothing.
static int
s_case_start_after_error (void)
{
    int failures = 0;
    s_world_t world;
    char err [1024] = "";
    CHECK (s_world_init (&world, "start_after_error") == 0);
    json_t *args = json_pack ("{s:s, s:s, s:b, s:b}", "name", "db", "xml", s_xml, "ha", 1,
                              "start", 1);
    CHECK (s_ask (&world, "vm.create", args, err, sizeof err, NULL) == 0);
    spec_t *spec = managed_spec_by_name (world.managed, "db");
    CHECK (spec != NULL);
    if (!spec) {
        s_world_free (&world);
        return failures;
    }
    uint64_t generation = spec->record.generation;
    CHECK (s_ask (&world, "vm.start", json_pack ("{s:s}", "name", "db"), err, sizeof err,
                  NULL) == 0);
    CHECK (spec->record.generation == generation);          // wanted running already
    CHECK (world.out.count == 1);                           // only the audit row
    spec->gave_up = true;
    snprintf (spec->failed_on, sizeof spec->failed_on, "%s", S_H2);
    spec->failed_here = 2;
    spec->relocations = 2;
    spec->retry_after = 999999;
    snprintf (spec->record.reason, sizeof spec->record.reason, "error: gave up");
    CHECK (s_ask (&world, "vm.start", json_pack ("{s:s}", "name", "db"), err, sizeof err,
                  NULL) == 0);
    CHECK (!spec->gave_up && spec->failed_on [0] == 0 && spec->failed_here == 0
           && spec->relocations == 0 && spec->retry_after == 0);
    CHECK (streq (spec->record.reason, "start requested"));
    CHECK (spec->record.generation == generation + 1);
    CHECK (spec->record.want == VM_WANT_RUNNING);
    s_world_free (&world);
    return failures;
}

//  The HA marker (xmlns.h) as a string test: the element domxml_mark_ha writes.
#define S_MARKER "<vm xmlns=\"" VMSCHED_XMLNS_VM "\" ha=\"yes\"/>"

//  `vm create --ha` stores and sends the domain XML with the HA marker in its <metadata>
//  (the agent's fencer kills what carries it); a VM created without --ha has none, even
//  when the operator's XML brought one.
static int
s_case_create_ha_marks_xml (void)
{
    int failures = 0;
    s_world_t world;
    char err [1024] = "";
    CHECK (s_world_init (&world, "create_ha_marks_xml") == 0);
    json_t *args = json_pack ("{s:s, s:s, s:b, s:b}", "name", "db", "xml", s_xml, "ha", 1,
                              "start", 1);
    CHECK (s_ask (&world, "vm.create", args, err, sizeof err, NULL) == 0);
    const char *stored = NULL;
    for (size_t i = 0; i < world.out.count; i++) {
        const mutation_t *mutation = vec_at (&world.out, i);
        if (mutation->kind == MUTATION_SPEC_PUT)
            stored = mutation->blob;
    }
    CHECK (stored && strstr (stored, "<metadata>" S_MARKER "</metadata>"));
    spec_t *spec = managed_spec_by_name (world.managed, "db");
    CHECK (spec && spec->record.ha && strstr (spec->xml, S_MARKER));
    //  Smuggled in by the operator, for a VM that is not HA: removed.
    json_t *plain = json_pack ("{s:s, s:s}", "name", "web", "xml",
                               "<domain type='kvm'><memory unit='MiB'>512</memory>"
                               "<vcpu>1</vcpu><metadata><vm xmlns='" VMSCHED_XMLNS_VM "' "
                               "ha='yes'/></metadata></domain>");
    CHECK (s_ask (&world, "vm.create", plain, err, sizeof err, NULL) == 0);
    spec_t *web = managed_spec_by_name (world.managed, "web");
    CHECK (web && !web->record.ha && !strstr (web->xml, VMSCHED_XMLNS_VM));
    //  The START the scheduler sends carries it (hosts heard through a connection, holding
    //  a lease: each renewed it just now).
    for (size_t i = 0; i < model_host_count (world.model); i++) {
        host_t *host = model_host_at (world.model, i);
        host->live.heard = true;
        host->live.peer = i + 1;
        host->live.last_heard = 2000;
        wire_renew_t renew = { .id = 1 };
        wire_msg_t grant;
        ha_on_renew (core_ha (world.core), host, &renew, 1900, &grant);
    }
    fx_t fx;
    fx_init (&fx);
    core_tick (world.core, 2000, 2000, &fx);
    size_t starts = 0;
    for (size_t i = 0; i < fx.sends.count; i++) {
        const fx_send_t *send = vec_at (&fx.sends, i);
        if (send->msg.kind != WIRE_COMMAND || send->msg.body.command.action != COMMAND_START)
            continue;
        starts++;
        CHECK (send->msg.body.command.ha);
        CHECK (send->msg.body.command.domain_xml
               && strstr (send->msg.body.command.domain_xml, S_MARKER));
    }
    CHECK (starts == 1);
    s_commit (&world, &fx);
    fx_free (&fx);
    s_world_free (&world);
    return failures;
}

//  --------------------------------------------------------------------------


//  One full report from host id of a running domain with its usage counters, at now.
static void
s_report_usage (s_world_t *world, const char *host_id, const wire_domain_t *domain,
                int64_t now)
{
    host_t *host = model_host_by_id (world->model, host_id);
    wire_report_t report = { .hypervisor_connected = true, .domain_count = 1,
                             .domains = (wire_domain_t *) domain };
    mutations_clear (&world->out);
    model_apply_report (world->model, host, &report, now, &world->out);
    model_apply_load (world->model, host, &report, now);
    for (size_t i = 0; i < world->out.count; i++)       // committed, as the daemon does
        store_apply (world->store, vec_at (&world->out, i));
    store_commit (world->store);
}

//  The number at key of object, or -1 when it is not a number (null: not known).
static double
s_number (const json_t *object, const char *key)
{
    const json_t *value = json_object_get (object, key);
    return json_is_number (value)? json_number_value (value): -1;
}

//  host list, vm list and vm show carry the smoothed load: cpu_pct (a VM: of one core; a
//  host: of all its CPUs), cpu_cores_used, contention_pct, mem_in_use_mib, load_age_ms;
//  null before two reports; view_load hands the same figures to the balancer.
static int
s_case_load (void)
{
    int failures = 0;
    s_world_t world;
    CHECK (s_world_init (&world, "load") == 0);
    wire_domain_t web;
    memset (&web, 0, sizeof web);
    strcpy (web.uuid, "aaaaaaaa-0000-4000-8000-000000000001");
    strcpy (web.name, "web-1");
    web.state = DOMAIN_RUNNING;
    web.vcpus = 4;
    web.memory_kib = 4194304;
    web.persistent = true;
    web.has_cpu_time = web.has_vcpu_delay = web.has_rss = true;
    web.cpu_time_ns = UINT64_C (50000000000);
    web.rss_kib = 2097152;
    s_report_usage (&world, S_H1, &web, 1000);

    json_t *vms = NULL, *hosts = NULL;
    CHECK (s_ask (&world, "vm.list", json_object (), NULL, 0, &vms) == 0);
    json_t *row = json_array_get (json_object_get (vms, "vms"), 0);
    CHECK (row && json_is_null (json_object_get (row, "cpu_pct")));
    CHECK (row && s_number (row, "mem_in_use_mib") == 2048);
    json_decref (vms);

    //  3 cores for 10 s, 0.2 vCPUs waiting: 300 % of a core; 3 of h1's 8 CPUs.
    web.cpu_time_ns += UINT64_C (30000000000);
    web.vcpu_delay_ns += UINT64_C (2000000000);
    s_report_usage (&world, S_H1, &web, 11000);
    CHECK (s_ask (&world, "vm.list", json_object (), NULL, 0, &vms) == 0);
    row = json_array_get (json_object_get (vms, "vms"), 0);
    CHECK (s_number (row, "cpu_pct") == 300 && s_number (row, "cpu_cores_used") == 3);
    CHECK (s_number (row, "contention_pct") == 5);
    CHECK (s_number (row, "load_age_ms") == 100000 - 11000);
    CHECK (s_number (row, "cpu_time_s") == 80);            // the counter itself stays
    json_decref (vms);
    CHECK (s_ask (&world, "host.list", json_object (), NULL, 0, &hosts) == 0);
    CHECK (s_number (s_row (hosts, "h1"), "cpu_pct") == 37.5);
    CHECK (s_number (s_row (hosts, "h1"), "cpu_cores_used") == 3);
    CHECK (s_number (s_row (hosts, "h1"), "mem_in_use_mib") == 2048);
    CHECK (s_number (s_row (hosts, "h2"), "cpu_pct") == 0);        // no VMs: known idle
    json_decref (hosts);
    json_t *shown = NULL;
    CHECK (s_ask (&world, "vm.show", json_pack ("{s:s}", "name", "web-1"), NULL, 0,
                  &shown) == 0);
    CHECK (s_number (shown, "cpu_pct") == 300);
    json_decref (shown);

    //  The balancer's input: the same figures, by the engine's indices.
    place_policy_t policy = place_policy_default ();
    view_t *view = view_new (world.model, world.managed, &policy, NULL);
    CHECK (view != NULL);
    if (view) {
        place_cluster_t *cluster = view_cluster (view);
        load_figures_t host_load [8], vm_load [8];
        CHECK (cluster->host_count == 3 && cluster->vm_count == 1);
        view_load (view, host_load, vm_load);
        CHECK (strcmp (cluster->hosts [0].name, "h1") == 0);
        CHECK (host_load [0].has_cpu && host_load [0].cpu_load == 3
               && host_load [0].cpu_util == 3.0 / 8);
        CHECK (vm_load [0].has_cpu && vm_load [0].cpu_util == 0.75
               && vm_load [0].contention == 0.05 && vm_load [0].mem_used_mib == 2048);
        CHECK (host_load [1].has_cpu && host_load [1].cpu_load == 0 && host_load [1].vms == 0);
        view_destroy (&view);
    }

    //  A failed commit rolls memory back to the database: the load survives (live facts).
    CHECK (loader_reload (world.core, world.store, 11000) == 0);
    world.model = world.context.model = core_model (world.core);
    world.managed = world.context.managed = core_managed (world.core);
    CHECK (s_ask (&world, "vm.list", json_object (), NULL, 0, &vms) == 0);
    row = json_array_get (json_object_get (vms, "vms"), 0);
    CHECK (s_number (row, "cpu_pct") == 300 && s_number (row, "mem_in_use_mib") == 2048);
    json_decref (vms);
    s_world_free (&world);
    return failures;
}

static const check_case_t s_cases [] = {
    { "load", s_case_load },
    { "create_ha_marks_xml", s_case_create_ha_marks_xml },
    { "status_ha", s_case_status_ha },
    { "host_show_timeline", s_case_host_show_timeline },
    { "start_after_error", s_case_start_after_error },
    { "create_breaks_rule", s_case_create_breaks_rule },
    { "nested_not_migratable", s_case_nested_not_migratable },
};

int
main (int argc, char **argv)
{
    setvbuf (stdout, NULL, _IOLBF, 0);              // verdicts between the stderr details
    log_init ("test_ctl_ops", LOG_LEVEL_NONE);
    if (fixture_files_tempdir (s_dir, sizeof s_dir, "ctl_ops")) {
        printf ("FAIL unit/ctl_ops: cannot create a temporary directory\n");
        return 1;
    }
    int failed = CHECK_RUN_ALL ("ctl_ops", s_cases, argc, argv);
    fixture_files_remove_dir (s_dir);
    return failed? 1: 0;
}
