/*  test_ctl_ops.c - the clusterctl verbs that change the cluster, as the scheduler answers
    them: refusals and what the answers say.

    Drives ctl_handle with requests built as clusterctl builds them (one JSON object of
    arguments), on a model fed like the agents would (HELLO, REPORT), an empty
    desired state and a store in a temporary directory (for `vm show`'s history). Checks the
    reply's status, error and JSON, and that a refused request leaves no trace. Prints one
    PASS/FAIL line per case; `test_ctl_ops CASE...` runs only those cases.
*/
#include "check.h"
#include "ctl.h"
#include "fixture_files.h"
#include "log.h"
#include "managed.h"
#include "model.h"
#include "reconcile.h"
#include "store.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static char s_dir [64];             // the temporary directory (the store's database)

//  One case's cluster: the scheduler's state and a context to ask it.
typedef struct {
    model_t *model;
    managed_t *managed;
    store_t *store;
    reconcile_config_t config;
    outbox_t outbox;
    mutations_t out;
    principal_record_t admin;
    ctl_context_t context;
} s_world_t;

static void
s_host (s_world_t *world, const char *id, const char *name, bool nested)
{
    wire_hello_t hello;
    memset (&hello, 0, sizeof hello);
    snprintf (hello.host_id, sizeof hello.host_id, "%s", id);
    snprintf (hello.name, sizeof hello.name, "%s", name);
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

//  Three up hosts h1..h3 (nested virtualization on all), nothing managed yet.
static int
s_world_init (s_world_t *world, const char *name)
{
    memset (world, 0, sizeof *world);
    world->outbox = VEC_OF (outbound_t);
    world->out = VEC_OF (mutation_t);
    char path [128], err [256] = "";
    snprintf (path, sizeof path, "%s/%s.db", s_dir, name);
    world->model = model_new ();
    world->managed = managed_new ();
    world->store = store_open (path, err, sizeof err);
    if (!world->store)
        fprintf (stderr, "  cannot open the store '%s': %s\n", path, err);
    reconcile_config_defaults (&world->config);
    world->config.epoch = 3;
    world->admin = (principal_record_t) { .name = "admin", .kind = PRINCIPAL_USER,
                                          .role = ROLE_ADMIN };
    world->context = (ctl_context_t) {
        .model = world->model, .store = world->store, .version = "test", .epoch = 3,
        .now = 100000, .database = path, .agent_endpoint = "", .ctl_endpoint = "",
        .wall = 1000, .managed = world->managed, .reconcile = &world->config,
        .outbox = &world->outbox, .mutations = &world->out, .principal = &world->admin,
        .who = "user:admin" };
    s_host (world, "11111111-1111-1111-1111-111111111111", "h1", true);
    s_host (world, "22222222-2222-2222-2222-222222222222", "h2", true);
    s_host (world, "33333333-3333-3333-3333-333333333333", "h3", true);
    return world->model && world->managed && world->store? 0: -1;
}

static void
s_world_free (s_world_t *world)
{
    model_destroy (&world->model);
    managed_destroy (&world->managed);
    store_destroy (&world->store);
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

//  --------------------------------------------------------------------------

static const check_case_t s_cases [] = {
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
