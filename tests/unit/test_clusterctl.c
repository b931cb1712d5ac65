/*  test_clusterctl.c - clusterctl's command line, run in-process against a fake scheduler.

    A zactor plays the scheduler: a ROUTER on loopback that decodes each ctl request and
    answers with a canned reply chosen by verb and the argument object's "name" (two hosts
    for host.list, a refusal for an unknown host, invalid JSON for vm.list, ...), and
    remembers the newest request (verb and argument JSON as sent) so that a case can check
    what was sent, or that nothing was. Each case calls
    cli_main with open_memstream streams and checks the exit code and both texts.

    The fake scheduler is a CURVE server with its own key pair (no ZAP handler: it accepts
    any client key). s_run gives clusterctl "-c s_dir/base.conf" first, which names the
    operator's key pair (made with keys_generate) and the fake's public key; a case's own -c
    comes later and wins. Security cases: a missing secret key, `clusterctl keygen`, a
    scheduler whose ZAP handler refuses every key (a second fake in its own ZeroMQ context,
    so that its handler does not answer for the first), and a wrong scheduler key.

    Prints one `PASS unit/clusterctl/CASE` or `FAIL unit/clusterctl/CASE: ...` line per case;
    the failed checks themselves are on stderr just above.
*/
#include "check.h"
#include "cli.h"
#include "fixture_files.h"
#include "fixture_keys.h"
#include "keys.h"
#include "wire.h"

#include <czmq.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_PORT          "17320"
#define S_ENDPOINT      "tcp://127.0.0.1:" S_PORT
#define S_DEAD_ENDPOINT "tcp://127.0.0.1:17329"     // nothing listens there
#define S_REFUSING_ENDPOINT "tcp://127.0.0.1:17500" // a CURVE server refusing every key
#define S_ZAP_ENDPOINT  "inproc://zeromq.zap.01"    // where libzmq asks its ZAP handler
#define S_MAX_ARGV      32

static const char *s_hosts_json =
    "{\"hosts\": ["
    "{\"name\": \"alpha-long-hostname\", \"state\": \"up\", \"generation\": 3, \"cpus\": 8,"
    " \"memory_mib\": 16384, \"vm_count\": 2, \"vms_running\": 1, \"vcpus_used\": 2,"
    " \"memory_used_mib\": 2048, \"hypervisor_connected\": true, \"last_seen_ms\": 120,"
    " \"cpu_pct\": 12.5},"
    "{\"name\": \"b\", \"state\": \"suspect\", \"generation\": 12, \"cpus\": 64,"
    " \"memory_mib\": 262144, \"vm_count\": 0, \"vms_running\": 0, \"vcpus_used\": 0,"
    " \"memory_used_mib\": 0, \"hypervisor_connected\": false, \"last_seen_ms\": 4500,"
    " \"cpu_pct\": null}"
    "]}";

static const char *s_host_json =
    "{\"name\": \"alpha-long-hostname\", \"id\": \"0f8fad5b-d9cb-469f-a165-70867728950e\","
    " \"state\": \"up\", \"generation\": 3, \"cpus\": 8, \"memory_mib\": 16384,"
    " \"cpu_model\": \"Skylake\", \"nested\": true, \"hypervisor_connected\": true,"
    " \"numa\": [{\"id\": 0, \"cpus\": 4, \"memory_mib\": 8192},"
    "            {\"id\": 1, \"cpus\": 4, \"memory_mib\": 8192}],"
    " \"domains\": [{\"name\": \"web-1\", \"state\": \"running\","
    "               \"uuid\": \"aaaaaaaa-0000-4000-8000-000000000001\"}],"
    " \"history\": [], \"watchdog\": \"device /dev/watchdog0\", \"fence_device\": false,"
    " \"protected\": true, \"witness_endpoint\": \"tcp://10.0.0.1:7103\","
    " \"timeline\": [{\"at\": 1764594595480, \"kind\": \"silent\", \"detail\": \"last message\"},"
    "                {\"at\": 1764594603005, \"kind\": \"dead\", \"detail\": \"not heard for 7525 ms\"}]}";

static const char *s_status_json =
    "{\"scheduler\": {\"version\": \"0.1.0\", \"epoch\": 3, \"uptime_s\": 12.5,"
    " \"database\": \"/var/lib/vmsched/vmsched.db\", \"agent_endpoint\": \"tcp://*:7100\","
    " \"ctl_endpoint\": \"tcp://*:7101\"},"
    " \"hosts\": {\"total\": 2, \"up\": 1, \"suspect\": 1, \"down\": 0},"
    " \"vms\": {\"total\": 2, \"running\": 1},"
    " \"capacity\": {\"cpus\": 8, \"vcpus_used\": 2, \"memory_mib\": 16384,"
    " \"memory_used_mib\": 2048},"
    " \"ha\": {\"profile\": \"default\", \"renew_ms\": 500, \"lease_ms\": 2000,"
    " \"fence_ms\": 1000, \"watchdog_ms\": 3000, \"margin_ms\": 500, \"dead_after_ms\": 7000,"
    " \"witnesses\": 5, \"allow_unfenced_hosts\": true,"
    " \"unprotected_hosts\": [\"alpha-long-hostname\", \"b\"]}}";

static char s_dir [64];             // the temporary directory: keys and config files
static zactor_t *s_scheduler;
static char s_base_conf [128];      // s_dir/base.conf: secret_key and scheduler_key
static char s_operator_key [128];   // s_dir/operator.key, clusterctl's public key (+ "_secret")
static char s_scheduler_key [128];  // s_dir/scheduler.key, the fake scheduler's public key

//  What the fake scheduler's actor gets.
typedef struct {
    zcert_t *cert;              // borrowed: the fake scheduler's key pair
    bool bound;                 // set by the actor before it signals
} s_actor_args_t;

//  --------------------------------------------------------------------------
//  The fake scheduler

//  Fills reply for request; *frames is set to 2 for a (malformed) two-frame answer.
static void
s_answer (const wire_ctl_request_t *request, wire_msg_t *reply, int *frames)
{
    wire_ctl_reply_t *body = &reply->body.reply;
    json_t *args = json_loads (request->args_json? request->args_json: "{}", 0, NULL);
    const char *name = json_string_value (json_object_get (args, "name"));
    const char *arg = name? name: "";
    const char *json = NULL;
    *frames = 1;
    if (streq (request->verb, "host.list"))
        json = s_hosts_json;
    else
    if (streq (request->verb, "host.show")) {
        if (streq (arg, "alpha-long-hostname"))
            json = s_host_json;
        else {
            body->status = 1;
            snprintf (body->error, sizeof body->error, "no host named '%s'", arg);
        }
    }
    else
    if (streq (request->verb, "status"))
        json = s_status_json;
    else
    if (streq (request->verb, "vm.list"))
        json = "{\"vms\": [{\"name\": \"web-1\", ";              // cut short
    else
    if (streq (request->verb, "vm.show")) {
        if (streq (arg, "usage")) {
            body->status = 2;
            snprintf (body->error, sizeof body->error, "vm.show takes one name or uuid");
        }
        else
        if (streq (arg, "multi")) {
            json = "{}";
            *frames = 2;
        }
        else
        if (streq (arg, "silent"))
            *frames = 0;
        else
        if (streq (arg, "wrong-kind")) {
            wire_msg_init (reply, WIRE_WELCOME);
            reply->body.welcome.generation = 1;
        }
        else
            json = "{\"name\": \"web-1\", \"state\": \"running\"}";
    }
    else {
        body->status = 2;
        snprintf (body->error, sizeof body->error, "unknown verb '%s'", request->verb);
    }
    if (json && reply->kind == WIRE_CTL_REPLY)
        body->json = strdup (json);
    json_decref (args);
}

//  The actor: answers requests; "LAST" on the pipe returns "COUNT|VERB|ARGS_JSON" of the
//  newest request. args (s_actor_args_t) gives the key pair and gets whether it could bind,
//  before the handshake.
static void
s_scheduler_actor (zsock_t *pipe, void *args)
{
    s_actor_args_t *setup = args;
    zsock_t *router = fixture_keys_router (S_ENDPOINT, setup->cert, -1);
    setup->bound = router != NULL;
    zsock_signal (pipe, 0);
    if (!router)
        return;
    char last [8192] = "";
    int requests = 0;
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    while (true) {
        zsock_t *which = zpoller_wait (poller, -1);
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            bool stop = !command || streq (command, "$TERM");
            if (command && streq (command, "LAST"))
                zstr_sendf (pipe, "%d%s", requests, last);
            zstr_free (&command);
            if (stop)
                break;
        }
        else
        if (which == router) {
            zmsg_t *msg = zmsg_recv (router);
            zframe_t *id = msg? zmsg_pop (msg): NULL;
            zframe_t *body = msg? zmsg_pop (msg): NULL;
            wire_msg_t request, reply;
            char err [256];
            if (body && wire_decode (zframe_data (body), zframe_size (body), &request,
                                     err, sizeof err) == 0) {
                requests++;
                snprintf (last, sizeof last, "|%s|%s", request.body.request.verb,
                          request.body.request.args_json? request.body.request.args_json
                                                        : "(none)");
                wire_msg_init (&reply, WIRE_CTL_REPLY);
                reply.seq = (uint64_t) requests;
                int frames;
                s_answer (&request.body.request, &reply, &frames);
                uint8_t *data;
                size_t size;
                if (frames && wire_encode (&reply, &data, &size, err, sizeof err) == 0) {
                    zmsg_t *answer = zmsg_new ();
                    zmsg_append (answer, &id);
                    zmsg_addmem (answer, data, size);
                    if (frames == 2)
                        zmsg_addstr (answer, "extra");
                    zmsg_send (&answer, router);
                    free (data);
                }
                wire_msg_reset (&reply);
                wire_msg_reset (&request);
            }
            zframe_destroy (&id);
            zframe_destroy (&body);
            zmsg_destroy (&msg);
        }
        else
            break;                                  // interrupted
    }
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

//  "COUNT|VERB|ARGS_JSON" of the newest request the fake scheduler answered (caller frees).
static char *
s_last_request (void)
{
    zstr_send (s_scheduler, "LAST");
    return zstr_recv (s_scheduler);
}

//  How many requests the fake scheduler has seen.
static int
s_requests (void)
{
    char *last = s_last_request ();
    int count = last? atoi (last): -1;
    zstr_free (&last);
    return count;
}

//  --------------------------------------------------------------------------
//  Running clusterctl

typedef struct {
    int rc;                     // cli_main's exit code
    char *out;                  // what it wrote to out
    char *err;                  // what it wrote to err
} s_result_t;

//  cli_main ("clusterctl", "-c", s_base_conf, args..., NULL) with memory streams (a -c
//  among args wins: the last one counts).
static s_result_t
s_run (const char *arg, ...)
{
    char *argv [S_MAX_ARGV + 1];
    int argc = 0;
    argv [argc++] = strdup ("clusterctl");
    argv [argc++] = strdup ("-c");
    argv [argc++] = strdup (s_base_conf);
    va_list args;
    va_start (args, arg);
    for (const char *next = arg; next && argc < S_MAX_ARGV; next = va_arg (args, const char *))
        argv [argc++] = strdup (next);
    va_end (args);
    argv [argc] = NULL;
    //  getopt permutes argv: keep the pointers to free them whatever their order.
    char *owned [S_MAX_ARGV + 1];
    memcpy (owned, argv, sizeof argv);

    s_result_t result = { -1, NULL, NULL };
    size_t out_size, err_size;
    FILE *out = open_memstream (&result.out, &out_size);
    FILE *err = open_memstream (&result.err, &err_size);
    result.rc = cli_main (argc, argv, out, err);
    fclose (out);
    fclose (err);
    for (int i = 0; i < argc; i++)
        free (owned [i]);
    return result;
}

static void
s_result_free (s_result_t *result)
{
    free (result->out);
    free (result->err);
    result->out = result->err = NULL;
}

//  The permission bits of path, or -1.
static int
s_mode (const char *path)
{
    struct stat info;
    return stat (path, &info)? -1: (int) (info.st_mode & 07777);
}

//  True when text is JSON equal to expected (also JSON).
static bool
s_json_equal (const char *text, const char *expected)
{
    json_error_t error;
    json_t *got = text? json_loads (text, 0, &error): NULL;
    json_t *want = json_loads (expected, 0, &error);
    bool equal = got && want && json_equal (got, want);
    json_decref (got);
    json_decref (want);
    return equal;
}

//  --------------------------------------------------------------------------
//  Cases

//  host list: an aligned table, every column starting at its header's offset.
static int
s_case_host_list_table (void)
{
    int failures = 0;
    s_result_t result = s_run ("-s", S_ENDPOINT, "host", "list", NULL);
    CHECK (result.rc == CLI_OK);
    CHECK (result.err && result.err [0] == 0);
    char *last = s_last_request ();
    CHECK (last && streq (strchr (last, '|'), "|host.list|{}"));
    zstr_free (&last);

    char *lines [8] = { NULL };
    int count = 0;
    for (char *line = strtok (result.out, "\n"); line && count < 8; line = strtok (NULL, "\n"))
        lines [count++] = line;
    CHECK (count == 3);
    if (count == 3) {
        static const char *headers [] = {
            "NAME", "STATE", "GEN", "CPUS", "MEMORY", "VMS", "RUNNING", "VCPUS USED",
            "CPU %", "MEM USED", "LIBVIRT", "LAST SEEN"
        };
        CHECK (strncmp (lines [0], "NAME ", 5) == 0);
        //  Header offsets, in order; each row has a value starting at each of them.
        size_t offset [12];
        const char *from = lines [0];
        for (size_t h = 0; h < 12; h++) {
            const char *at = strstr (from, headers [h]);
            CHECK (at != NULL);
            offset [h] = at? (size_t) (at - lines [0]): 0;
            from = at? at + strlen (headers [h]): from;
        }
        for (int r = 0; r < 3; r++) {
            size_t length = strlen (lines [r]);
            CHECK (lines [r][length - 1] != ' ');   // no trailing blanks
            for (size_t h = 1; h < 12; h++)
                CHECK (offset [h] < length && lines [r][offset [h]] != ' '
                       && strncmp (lines [r] + offset [h] - 2, "  ", 2) == 0);
        }
        CHECK (strncmp (lines [1] + offset [1], "up ", 3) == 0);
        CHECK (strncmp (lines [2] + offset [1], "suspect ", 8) == 0);
        CHECK (offset [1] == strlen ("alpha-long-hostname") + 2);
        CHECK (strncmp (lines [1], "alpha-long-hostname  up", 23) == 0);
        CHECK (strncmp (lines [1] + offset [4], "16.0 GiB", 8) == 0);
        CHECK (strncmp (lines [2] + offset [4], "256.0 GiB", 9) == 0);
        CHECK (strncmp (lines [1] + offset [8], "12.5 ", 5) == 0);
        CHECK (strncmp (lines [2] + offset [8], "- ", 2) == 0);      // not measured yet
        CHECK (strncmp (lines [1] + offset [9], "2048 MiB", 8) == 0);
        CHECK (strncmp (lines [1] + offset [10], "yes", 3) == 0);
        CHECK (strncmp (lines [2] + offset [10], "no ", 3) == 0);
        CHECK (streq (lines [1] + offset [11], "120 ms"));
        CHECK (streq (lines [2] + offset [11], "4.5 s"));
    }
    s_result_free (&result);
    return failures;
}

//  -o json prints the scheduler's document, wherever the option is given.
static int
s_case_json_output (void)
{
    int failures = 0;
    s_result_t result = s_run ("-o", "json", "-s", S_ENDPOINT, "host", "list", NULL);
    CHECK (result.rc == CLI_OK && result.err [0] == 0);
    CHECK (s_json_equal (result.out, s_hosts_json));
    s_result_free (&result);

    result = s_run ("host", "list", "-o", "json", "--server", S_ENDPOINT, NULL);
    CHECK (result.rc == CLI_OK);
    CHECK (s_json_equal (result.out, s_hosts_json));
    char *last = s_last_request ();
    CHECK (last && streq (strchr (last, '|'), "|host.list|{}"));  // no option became an arg
    zstr_free (&last);
    s_result_free (&result);

    result = s_run ("host", "show", "--output=json", "alpha-long-hostname", "-s", S_ENDPOINT,
                    NULL);
    CHECK (result.rc == CLI_OK);
    CHECK (s_json_equal (result.out, s_host_json));
    last = s_last_request ();
    CHECK (last && streq (strchr (last, '|'),
                          "|host.show|{\"name\":\"alpha-long-hostname\"}"));
    zstr_free (&last);
    s_result_free (&result);
    return failures;
}

//  Per-object views: host show and status as key/value blocks with their sub-tables.
static int
s_case_show_views (void)
{
    int failures = 0;
    s_result_t result = s_run ("-s", S_ENDPOINT, "host", "show", "alpha-long-hostname", NULL);
    CHECK (result.rc == CLI_OK && result.err [0] == 0);
    //  Values line up after the longest label ("libvirt connected:", 18) and two blanks.
    CHECK (strncmp (result.out, "name:               alpha-long-hostname\n", 40) == 0);
    CHECK (strstr (result.out, "\nmemory:             16.0 GiB\n"));
    CHECK (strstr (result.out, "\nlibvirt connected:  yes\n"));
    CHECK (strstr (result.out, "\nnested virt:        yes\n"));
    CHECK (strstr (result.out, "\nsince:              -\n"));       // absent: a dash
    CHECK (strstr (result.out, "\nNUMA cells:\nCELL  CPUS  MEMORY\n0     4     8192 MiB\n"));
    CHECK (strstr (result.out, "\nDomains:\nNAME   STATE    UUID\n"
                               "web-1  running  aaaaaaaa-0000-4000-8000-000000000001\n"));
    CHECK (strstr (result.out, "History (newest 20):\nAT  FROM  TO  DETAIL\n(none)\n"));
    CHECK (strstr (result.out, "\nwatchdog:           device /dev/watchdog0\n"));
    CHECK (strstr (result.out, "\nfence device:       no\n"));
    CHECK (strstr (result.out, "\nprotected:          yes\n"));
    CHECK (strstr (result.out, "\nwitness on:         tcp://10.0.0.1:7103\n"));
    //  The timeline in local time (TZ=UTC in this program), oldest first.
    CHECK (strstr (result.out, "\nHA timeline (local time):\nAT            KIND    DETAIL\n"
                               "13:09:55.480  silent  last message\n"
                               "13:10:03.005  dead    not heard for 7525 ms\n"));
    if (!strstr (result.out, "13:09:55.480  silent"))
        fprintf (stderr, "  host show printed:\n%s", result.out);
    s_result_free (&result);

    result = s_run ("-s", S_ENDPOINT, "status", NULL);
    CHECK (result.rc == CLI_OK);
    CHECK (strncmp (result.out, "Scheduler\n", 10) == 0);
    CHECK (strstr (result.out, "\nuptime:         12.5 s\n"));
    CHECK (strstr (result.out, "\nHosts\ntotal:    2\nup:       1\n"));
    CHECK (strstr (result.out, "\nHA\nprofile:         default\nrenew (h):       500 ms\n"
                               "lease (L):       2.0 s\n"));
    CHECK (strstr (result.out, "\ndead after (D):  7.0 s\nwitnesses (k):   5\n"
                               "allow unfenced:  yes\n"));
    CHECK (strstr (result.out, "\nwarning: 2 hosts with neither watchdog nor fence device (a "
                               "hung agent there lets a vm run twice): alpha-long-hostname, b\n"
                               "warning: ha.allow_unfenced_hosts = yes: HA vms may run on them "
                               "(audited)\n"));
    if (!strstr (result.out, "allow unfenced:  yes"))
        fprintf (stderr, "  status printed:\n%s", result.out);
    s_result_free (&result);

    //  -o json: the documents as the scheduler sent them, new fields included.
    result = s_run ("-s", S_ENDPOINT, "-o", "json", "status", NULL);
    json_t *status = json_loads (result.out? result.out: "", 0, NULL);
    json_t *ha = json_object_get (status, "ha");
    CHECK (result.rc == CLI_OK && json_is_object (ha)
           && json_integer_value (json_object_get (ha, "dead_after_ms")) == 7000
           && json_array_size (json_object_get (ha, "unprotected_hosts")) == 2);
    json_decref (status);
    s_result_free (&result);
    result = s_run ("-s", S_ENDPOINT, "-o", "json", "host", "show", "alpha-long-hostname", NULL);
    json_t *host = json_loads (result.out? result.out: "", 0, NULL);
    json_t *entry = json_array_get (json_object_get (host, "timeline"), 1);
    CHECK (result.rc == CLI_OK
           && json_integer_value (json_object_get (entry, "at")) == 1764594603005
           && streq (json_string_value (json_object_get (entry, "kind")), "dead"));
    json_decref (host);
    s_result_free (&result);
    return failures;
}

//  A refusal from the scheduler: its text on err, exit 1 (2 when it says bad usage).
static int
s_case_refused (void)
{
    int failures = 0;
    s_result_t result = s_run ("-s", S_ENDPOINT, "host", "show", "nosuch", NULL);
    CHECK (result.rc == CLI_FAILED);
    CHECK (result.out [0] == 0);
    CHECK (streq (result.err, "clusterctl: no host named 'nosuch'\n"));
    s_result_free (&result);

    result = s_run ("-s", S_ENDPOINT, "vm", "show", "usage", NULL);
    CHECK (result.rc == CLI_USAGE);
    CHECK (streq (result.err, "clusterctl: vm.show takes one name or uuid\n"));
    s_result_free (&result);
    return failures;
}

//  Unknown verbs: exit 2, named, with the known continuations; nothing is sent.
static int
s_case_unknown_verb (void)
{
    int failures = 0;
    int requests = s_requests ();
    s_result_t result = s_run ("-s", S_ENDPOINT, "frobnicate", NULL);
    CHECK (result.rc == CLI_USAGE && result.out [0] == 0);
    CHECK (strstr (result.err, "unknown verb 'frobnicate'"));
    s_result_free (&result);

    result = s_run ("-s", S_ENDPOINT, "host", "frob", NULL);
    CHECK (result.rc == CLI_USAGE);
    CHECK (strstr (result.err, "unknown verb 'host frob'"));
    CHECK (strstr (result.err, "list, show"));
    s_result_free (&result);

    result = s_run ("-s", S_ENDPOINT, "vm", NULL);
    CHECK (result.rc == CLI_USAGE);
    CHECK (strstr (result.err, "'vm'") && strstr (result.err, "list, show"));
    s_result_free (&result);
    CHECK (s_requests () == requests);
    return failures;
}

//  The wrong number of arguments: exit 2 with the verb's usage; nothing is sent.
static int
s_case_arg_count (void)
{
    int failures = 0;
    int requests = s_requests ();
    s_result_t result = s_run ("-s", S_ENDPOINT, "host", "show", NULL);
    CHECK (result.rc == CLI_USAGE && result.out [0] == 0);
    CHECK (streq (result.err, "clusterctl: usage: clusterctl host show NAME\n"));
    s_result_free (&result);

    result = s_run ("-s", S_ENDPOINT, "host", "show", "a", "b", NULL);
    CHECK (result.rc == CLI_USAGE);
    CHECK (strstr (result.err, "usage: clusterctl host show NAME"));
    s_result_free (&result);

    result = s_run ("-s", S_ENDPOINT, "host", "list", "extra", NULL);
    CHECK (result.rc == CLI_USAGE);
    CHECK (streq (result.err, "clusterctl: usage: clusterctl host list\n"));
    s_result_free (&result);
    CHECK (s_requests () == requests);

    //  "--" ends the options: a name may start with '-'.
    result = s_run ("-s", S_ENDPOINT, "vm", "show", "--", "-odd", NULL);
    CHECK (result.rc == CLI_OK);
    char *last = s_last_request ();
    CHECK (last && streq (strchr (last, '|'), "|vm.show|{\"name\":\"-odd\"}"));
    zstr_free (&last);
    s_result_free (&result);
    return failures;
}

//  The argument object of the newest request if its verb is verb (caller json_decref's
//  it), else NULL.
static json_t *
s_last_args (const char *verb)
{
    char *last = s_last_request ();
    char *at = last? strchr (last, '|'): NULL;
    size_t length = strlen (verb);
    json_t *args = NULL;
    if (at && strncmp (at + 1, verb, length) == 0 && at [1 + length] == '|')
        args = json_loads (at + 2 + length, JSON_REJECT_DUPLICATES, NULL);
    zstr_free (&last);
    return args;
}

//  True when the newest request is verb with arguments equal to the JSON expected.
static bool
s_sent (const char *verb, const char *expected)
{
    json_t *args = s_last_args (verb);
    json_t *want = json_loads (expected, 0, NULL);
    bool equal = args && want && json_equal (args, want);
    if (!equal) {
        char *got = args? json_dumps (args, JSON_COMPACT): NULL;
        fprintf (stderr, "  sent %s %s, expected %s\n", verb, got? got: "(other)", expected);
        free (got);
    }
    json_decref (args);
    json_decref (want);
    return equal;
}

//  Positionals and flags become one JSON object of typed fields: integers, booleans,
//  arrays; a file's content as a string. Bad numbers, repeated options and a wrong word are
//  refused before anything is sent.
static int
s_case_request_args (void)
{
    int failures = 0;
    char xml_path [128];
    snprintf (xml_path, sizeof xml_path, "%s/web-9.xml", s_dir);
    CHECK (fixture_files_write (xml_path, "<domain type='kvm'>\n  <name>web-9</name>\n"
                                "</domain>\n") == 0);
    //  The fake scheduler answers these verbs "unknown verb" (status 2): only what was sent
    //  matters here.
    s_result_t result = s_run ("-s", S_ENDPOINT, "vm", "create", "web-9", "--xml", xml_path,
                               "--priority", "5", "--ha", "--no-migrate", "--mem-reserve=512",
                               NULL);
    CHECK (result.rc == CLI_USAGE);
    CHECK (s_sent ("vm.create", "{\"name\": \"web-9\", \"priority\": 5, \"ha\": true,"
                   " \"migratable\": false, \"mem_reserve_mib\": 512, \"xml\":"
                   " \"<domain type='kvm'>\\n  <name>web-9</name>\\n</domain>\\n\"}"));
    s_result_free (&result);

    result = s_run ("-s", S_ENDPOINT, "rule", "add", "apart", "anti-affinity", "a", "b", "c",
                    "--weight", "3", "--soft", NULL);
    CHECK (s_sent ("rule.add", "{\"name\": \"apart\", \"kind\": \"anti-affinity\","
                   " \"vms\": [\"a\", \"b\", \"c\"], \"weight\": 3, \"soft\": true}"));
    s_result_free (&result);
    result = s_run ("-s", S_ENDPOINT, "rule", "add", "pin", "must", "db", "--hosts", "h1,h2",
                    NULL);
    CHECK (s_sent ("rule.add", "{\"name\": \"pin\", \"kind\": \"must\", \"vms\": [\"db\"],"
                   " \"hosts\": [\"h1\", \"h2\"]}"));
    s_result_free (&result);

    result = s_run ("-s", S_ENDPOINT, "host", "maintenance", "enter", "h1", NULL);
    CHECK (s_sent ("host.maintenance", "{\"name\": \"h1\", \"maintenance\": true}"));
    s_result_free (&result);
    result = s_run ("-s", S_ENDPOINT, "host", "maintenance", "exit", "h1", "--no-wait", NULL);
    CHECK (s_sent ("host.maintenance", "{\"name\": \"h1\", \"maintenance\": false}"));
    s_result_free (&result);

    result = s_run ("-s", S_ENDPOINT, "vm", "migrate", "web-1", "h2", "--migration-timeout",
                    "100", NULL);
    CHECK (s_sent ("vm.migrate", "{\"name\": \"web-1\", \"host\": \"h2\","
                   " \"timeout_ms\": 100}"));
    s_result_free (&result);
    result = s_run ("-s", S_ENDPOINT, "vm", "migrate", "web-1", "--abort", NULL);
    CHECK (s_sent ("vm.abort", "{\"name\": \"web-1\"}"));
    s_result_free (&result);
    result = s_run ("-s", S_ENDPOINT, "audit", "--limit", "5", "--since",
                    "2026-12-01T10:00:00", NULL);
    CHECK (s_sent ("audit", "{\"limit\": 5, \"since_ms\": 1796119200000}"));
    s_result_free (&result);

    //  Refused by clusterctl itself: exit 2, nothing sent.
    int requests = s_requests ();
    result = s_run ("-s", S_ENDPOINT, "vm", "create", "web-9", "--xml", xml_path,
                    "--priority", "high", NULL);
    CHECK (result.rc == CLI_USAGE && result.out [0] == 0);
    CHECK (streq (result.err, "clusterctl: --priority needs a whole number, not 'high'\n"));
    s_result_free (&result);
    result = s_run ("-s", S_ENDPOINT, "vm", "create", "web-9", "--xml", xml_path, "--ha",
                    "--ha", NULL);
    CHECK (result.rc == CLI_USAGE);
    CHECK (streq (result.err, "clusterctl: option '--ha' given twice\n"));
    s_result_free (&result);
    result = s_run ("-s", S_ENDPOINT, "host", "maintenance", "into", "h1", NULL);
    CHECK (result.rc == CLI_USAGE);
    CHECK (streq (result.err, "clusterctl: usage: clusterctl host maintenance enter|exit "
                  "NAME\n"));
    s_result_free (&result);
    CHECK (s_requests () == requests);
    unlink (xml_path);
    return failures;
}

//  --help lists every verb; help VERB and VERB --help explain one; all exit 0 on out.
static int
s_case_help (void)
{
    int failures = 0;
    int requests = s_requests ();
    s_result_t result = s_run ("--help", NULL);
    CHECK (result.rc == CLI_OK && result.err [0] == 0);
    CHECK (strncmp (result.out, "usage: clusterctl ", 18) == 0);
    static const char *verbs [] = {
        "\n  status ", "\n  host list ", "\n  host show NAME ", "\n  vm list ",
        "\n  vm show NAME "
    };
    for (size_t i = 0; i < sizeof verbs / sizeof verbs [0]; i++)
        CHECK (strstr (result.out, verbs [i]));
    CHECK (strstr (result.out, "Exit status"));
    char *usage = strdup (result.out);
    s_result_free (&result);

    result = s_run ("help", NULL);
    CHECK (result.rc == CLI_OK && streq (result.out, usage));
    s_result_free (&result);

    result = s_run (NULL);                          // no verb at all: usage on err, exit 2
    CHECK (result.rc == CLI_USAGE && result.out [0] == 0 && streq (result.err, usage));
    s_result_free (&result);
    free (usage);

    result = s_run ("help", "host", "show", NULL);
    CHECK (result.rc == CLI_OK && result.err [0] == 0);
    CHECK (strncmp (result.out, "usage: clusterctl [OPTIONS] host show NAME\n\n", 44) == 0);
    CHECK (strstr (result.out, "NUMA cells"));
    CHECK (!strstr (result.out, "vm list"));
    char *verb_help = strdup (result.out);
    s_result_free (&result);

    result = s_run ("host", "show", "--help", NULL);
    CHECK (result.rc == CLI_OK && streq (result.out, verb_help));
    s_result_free (&result);
    result = s_run ("-h", "host", "show", NULL);
    CHECK (result.rc == CLI_OK && streq (result.out, verb_help));
    s_result_free (&result);
    free (verb_help);

    result = s_run ("help", "vm", "list", NULL);
    CHECK (result.rc == CLI_OK && strncmp (result.out, "usage: clusterctl [OPTIONS] vm list\n", 36) == 0);
    s_result_free (&result);
    result = s_run ("help", "nonsense", NULL);
    CHECK (result.rc == CLI_USAGE && strstr (result.err, "unknown verb 'nonsense'"));
    s_result_free (&result);

    result = s_run ("--version", NULL);
    CHECK (result.rc == CLI_OK && streq (result.out, "clusterctl " VMSCHED_VERSION "\n"));
    s_result_free (&result);
    CHECK (s_requests () == requests);
    return failures;
}

//  Bad option values and unknown options: exit 2 naming them.
static int
s_case_bad_options (void)
{
    int failures = 0;
    int requests = s_requests ();
    s_result_t result = s_run ("-s", S_ENDPOINT, "-o", "yaml", "host", "list", NULL);
    CHECK (result.rc == CLI_USAGE && result.out [0] == 0);
    CHECK (strstr (result.err, "unknown output format 'yaml'"));
    s_result_free (&result);

    result = s_run ("-s", S_ENDPOINT, "-t", "0", "host", "list", NULL);
    CHECK (result.rc == CLI_USAGE);
    CHECK (strstr (result.err, "invalid value '0' for 'timeout_ms'"));
    s_result_free (&result);
    result = s_run ("-s", S_ENDPOINT, "-t", "soon", "host", "list", NULL);
    CHECK (result.rc == CLI_USAGE);
    CHECK (strstr (result.err, "invalid value 'soon'"));
    s_result_free (&result);

    result = s_run ("-s", S_ENDPOINT, "--colour", "host", "list", NULL);
    CHECK (result.rc == CLI_USAGE);
    CHECK (strstr (result.err, "'--colour'"));
    s_result_free (&result);
    result = s_run ("-s", S_ENDPOINT, "-x", "host", "list", NULL);
    CHECK (result.rc == CLI_USAGE);
    CHECK (strstr (result.err, "'-x'"));
    s_result_free (&result);
    result = s_run ("-s", S_ENDPOINT, "host", "list", "-t", NULL);
    CHECK (result.rc == CLI_USAGE);
    CHECK (strstr (result.err, "'-t'"));
    s_result_free (&result);
    CHECK (s_requests () == requests);
    return failures;
}

//  Nobody at the endpoint: exit 1 after the timeout, naming the endpoint.
static int
s_case_unreachable (void)
{
    int failures = 0;
    int64_t started = zclock_mono ();
    s_result_t result = s_run ("-s", S_DEAD_ENDPOINT, "-t", "200", "host", "list", NULL);
    int64_t elapsed = zclock_mono () - started;
    CHECK (result.rc == CLI_FAILED && result.out [0] == 0);
    CHECK (strstr (result.err, "'" S_DEAD_ENDPOINT "'"));
    CHECK (strstr (result.err, "within 200 ms"));
    CHECK (elapsed >= 190 && elapsed < 1500);
    s_result_free (&result);

    result = s_run ("-s", "no-such-transport", "-t", "200", "host", "list", NULL);
    CHECK (result.rc == CLI_FAILED);
    CHECK (strstr (result.err, "invalid scheduler endpoint 'no-such-transport'"));
    s_result_free (&result);
    return failures;
}

//  -c FILE: [clusterctl] settings are used, the command line wins, mistakes are exit 2.
static int
s_case_config_file (void)
{
    int failures = 0;
    char good [128], dead [128], bad [128], missing [128];
    snprintf (good, sizeof good, "%s/good.conf", s_dir);
    snprintf (dead, sizeof dead, "%s/dead.conf", s_dir);
    snprintf (bad, sizeof bad, "%s/bad.conf", s_dir);
    snprintf (missing, sizeof missing, "%s/missing.conf", s_dir);
    char keys [400];
    snprintf (keys, sizeof keys, "secret_key = %s_secret\nscheduler_key = %s\n",
              s_operator_key, s_scheduler_key);
    CHECK (fixture_files_writef (good, "[clusterctl]\nserver = " S_ENDPOINT "\noutput = json\n"
                                 "timeout_ms = 2000\n%s", keys) == 0);
    CHECK (fixture_files_writef (dead, "[clusterctl]\nserver = " S_DEAD_ENDPOINT "\n"
                                 "timeout_ms = 200\n%s", keys) == 0);
    CHECK (fixture_files_write (bad, "[clusterctl]\nserver = " S_ENDPOINT "\nsrever = x\n") == 0);

    s_result_t result = s_run ("-c", good, "host", "list", NULL);
    CHECK (result.rc == CLI_OK);
    CHECK (s_json_equal (result.out, s_hosts_json));    // output = json from the file
    s_result_free (&result);

    result = s_run ("-c", good, "-o", "table", "host", "list", NULL);
    CHECK (result.rc == CLI_OK && strncmp (result.out, "NAME ", 5) == 0);
    s_result_free (&result);

    result = s_run ("-c", good, "-s", S_DEAD_ENDPOINT, "-t", "200", "host", "list", NULL);
    CHECK (result.rc == CLI_FAILED);
    CHECK (strstr (result.err, S_DEAD_ENDPOINT) && !strstr (result.err, S_ENDPOINT));
    s_result_free (&result);

    result = s_run ("-c", dead, "host", "list", NULL);
    CHECK (result.rc == CLI_FAILED);
    CHECK (strstr (result.err, S_DEAD_ENDPOINT) && strstr (result.err, "within 200 ms"));
    s_result_free (&result);

    result = s_run ("--config", dead, "-s", S_ENDPOINT, "host", "list", NULL);
    CHECK (result.rc == CLI_OK && strncmp (result.out, "NAME ", 5) == 0);
    s_result_free (&result);

    int requests = s_requests ();
    result = s_run ("-c", bad, "host", "list", NULL);
    CHECK (result.rc == CLI_USAGE && result.out [0] == 0);
    CHECK (strstr (result.err, bad) && strstr (result.err, "line 3"));
    CHECK (strstr (result.err, "unknown key 'srever'"));
    s_result_free (&result);

    result = s_run ("-c", missing, "host", "list", NULL);
    CHECK (result.rc == CLI_USAGE);
    CHECK (strstr (result.err, missing) && strstr (result.err, "no such file"));
    s_result_free (&result);
    CHECK (s_requests () == requests);
    unlink (good);
    unlink (dead);
    unlink (bad);
    return failures;
}

//  Answers clusterctl cannot use: invalid JSON, two frames, the wrong kind, none.
static int
s_case_bad_answers (void)
{
    int failures = 0;
    s_result_t result = s_run ("-s", S_ENDPOINT, "vm", "list", NULL);
    CHECK (result.rc == CLI_FAILED && result.out [0] == 0);
    CHECK (strstr (result.err, "not valid JSON"));
    s_result_free (&result);
    result = s_run ("-s", S_ENDPOINT, "-o", "json", "vm", "list", NULL);
    CHECK (result.rc == CLI_FAILED && result.out [0] == 0);
    CHECK (strstr (result.err, "not valid JSON"));
    s_result_free (&result);

    result = s_run ("-s", S_ENDPOINT, "vm", "show", "multi", NULL);
    CHECK (result.rc == CLI_FAILED);
    CHECK (strstr (result.err, "several frames"));
    s_result_free (&result);

    result = s_run ("-s", S_ENDPOINT, "vm", "show", "wrong-kind", NULL);
    CHECK (result.rc == CLI_FAILED);
    CHECK (strstr (result.err, "unexpected welcome message"));
    s_result_free (&result);

    result = s_run ("-s", S_ENDPOINT, "-t", "200", "vm", "show", "silent", NULL);
    CHECK (result.rc == CLI_FAILED);
    CHECK (strstr (result.err, "no answer from the scheduler at '" S_ENDPOINT "'"));
    s_result_free (&result);

    //  And the next ordinary request is unaffected.
    result = s_run ("-s", S_ENDPOINT, "vm", "show", "web-1", NULL);
    CHECK (result.rc == CLI_OK && strstr (result.out, "name:") && strstr (result.out, "web-1"));
    s_result_free (&result);
    return failures;
}


//  --------------------------------------------------------------------------
//  Keys and refused handshakes

//  The refusing scheduler: a CURVE server ROUTER and a ZAP handler that answers every
//  handshake "400", both in a ZeroMQ context of their own (a ZAP handler serves every CURVE
//  server of its context). "COUNT" on the pipe returns "N KEY": the handshakes refused and
//  the client key (Z85) of the last one.
static void
s_refusing_actor (zsock_t *pipe, void *args)
{
    s_actor_args_t *setup = args;
    void *context = zmq_ctx_new ();
    void *zap = context? zmq_socket (context, ZMQ_REP): NULL;
    void *router = context? zmq_socket (context, ZMQ_ROUTER): NULL;
    int zero = 0, one = 1;
    bool ready = zap && router
        && zmq_setsockopt (zap, ZMQ_LINGER, &zero, sizeof zero) == 0
        && zmq_setsockopt (router, ZMQ_LINGER, &zero, sizeof zero) == 0
        && zmq_bind (zap, S_ZAP_ENDPOINT) == 0
        && zmq_setsockopt (router, ZMQ_CURVE_SERVER, &one, sizeof one) == 0
        && zmq_setsockopt (router, ZMQ_CURVE_SECRETKEY, zcert_secret_key (setup->cert), 32) == 0
        && zmq_setsockopt (router, ZMQ_ZAP_DOMAIN, "operators", 9) == 0
        && zmq_bind (router, S_REFUSING_ENDPOINT) == 0;
    setup->bound = ready;
    zsock_signal (pipe, 0);
    int refused = 0;
    char last_key [KEYS_Z85_SIZE] = "-";
    zmq_pollitem_t items [] = {
        { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 }, { zap, 0, ZMQ_POLLIN, 0 } };
    while (ready && zmq_poll (items, 2, -1) >= 0) {
        if (items [0].revents & ZMQ_POLLIN) {
            char *command = zstr_recv (pipe);
            bool stop = !command || streq (command, "$TERM");
            if (command && streq (command, "COUNT"))
                zstr_sendf (pipe, "%d %s", refused, last_key);
            zstr_free (&command);
            if (stop)
                break;
        }
        if (items [1].revents & ZMQ_POLLIN) {
            //  version, request id, domain, address, identity, mechanism, credentials
            zmq_msg_t frames [8];
            int count = 0, more = 1;
            while (more && count < 8) {
                zmq_msg_init (&frames [count]);
                if (zmq_msg_recv (&frames [count], zap, 0) < 0)
                    break;
                more = zmq_msg_more (&frames [count++]);
            }
            if (count >= 7 && zmq_msg_size (&frames [6]) == 32)
                zmq_z85_encode (last_key, zmq_msg_data (&frames [6]), 32);
            refused++;
            zmq_send (zap, "1.0", 3, ZMQ_SNDMORE);
            zmq_send (zap, count >= 2? zmq_msg_data (&frames [1]): "",
                      count >= 2? zmq_msg_size (&frames [1]): 0, ZMQ_SNDMORE);
            zmq_send (zap, "400", 3, ZMQ_SNDMORE);
            zmq_send (zap, "not allowed", 11, ZMQ_SNDMORE);
            zmq_send (zap, "", 0, ZMQ_SNDMORE);
            zmq_send (zap, "", 0, 0);
            for (int i = 0; i < count; i++)
                zmq_msg_close (&frames [i]);
        }
    }
    if (router)
        zmq_close (router);
    if (zap)
        zmq_close (zap);
    if (context)
        zmq_ctx_term (context);
}

//  A secret key file that does not exist: exit 1, naming the file and the setting; nothing
//  is sent.
static int
s_case_secret_key_missing (void)
{
    int failures = 0;
    char conf [128], secret [128];
    snprintf (conf, sizeof conf, "%s/nokey.conf", s_dir);
    snprintf (secret, sizeof secret, "%s/nosuch.key_secret", s_dir);
    CHECK (fixture_files_writef (conf, "[clusterctl]\nsecret_key = %s\nscheduler_key = %s\n",
                                 secret, s_scheduler_key) == 0);
    int requests = s_requests ();
    s_result_t result = s_run ("-c", conf, "-s", S_ENDPOINT, "host", "list", NULL);
    CHECK (result.rc == CLI_FAILED && result.out [0] == 0);
    CHECK (strstr (result.err, secret) && strstr (result.err, "secret_key"));
    CHECK (strstr (result.err, "No such file"));
    s_result_free (&result);

    //  The same for a readable secret key: refused, saying what to run.
    char open_key [128], open_secret [160], err [512];
    snprintf (open_key, sizeof open_key, "%s/open.key", s_dir);
    snprintf (open_secret, sizeof open_secret, "%s_secret", open_key);
    CHECK (keys_generate (open_key, "test", err, sizeof err) == 0);
    CHECK (chmod (open_secret, 0640) == 0);
    CHECK (fixture_files_writef (conf, "[clusterctl]\nsecret_key = %s\nscheduler_key = %s\n",
                                 open_secret, s_scheduler_key) == 0);
    result = s_run ("-c", conf, "-s", S_ENDPOINT, "host", "list", NULL);
    CHECK (result.rc == CLI_FAILED);
    CHECK (strstr (result.err, "chmod 600") && strstr (result.err, open_secret));
    s_result_free (&result);

    //  And a missing scheduler key.
    CHECK (fixture_files_writef (conf, "[clusterctl]\nsecret_key = %s_secret\n"
                                 "scheduler_key = %s/nosuch.key\n", s_operator_key,
                                 s_dir) == 0);
    result = s_run ("-c", conf, "-s", S_ENDPOINT, "host", "list", NULL);
    CHECK (result.rc == CLI_FAILED);
    CHECK (strstr (result.err, "nosuch.key") && strstr (result.err, "scheduler_key"));
    s_result_free (&result);
    CHECK (s_requests () == requests);
    unlink (conf);
    return failures;
}

//  keygen FILE: FILE (0644) and FILE_secret (0600), a matching pair; never overwrites.
static int
s_case_keygen (void)
{
    int failures = 0;
    char path [128], secret [160];
    snprintf (path, sizeof path, "%s/new-operator.key", s_dir);
    snprintf (secret, sizeof secret, "%s_secret", path);
    int requests = s_requests ();
    s_result_t result = s_run ("keygen", path, NULL);
    CHECK (result.rc == CLI_OK && result.err [0] == 0);
    CHECK (strstr (result.out, path) && strstr (result.out, "_secret"));
    s_result_free (&result);
    CHECK (s_mode (path) == 0644);
    CHECK (s_mode (secret) == 0600);
    char public_key [KEYS_Z85_SIZE] = "", err [512] = "";
    CHECK (keys_load_public (path, public_key, err, sizeof err) == 0);
    zcert_t *cert = keys_load_secret (secret, err, sizeof err);
    CHECK (cert && streq (zcert_public_txt (cert), public_key));
    zcert_destroy (&cert);
    char *public_text = fixture_files_read (path), *secret_text = fixture_files_read (secret);
    CHECK (public_text && !strstr (public_text, "secret-key"));     // only public keys move
    CHECK (secret_text && strstr (secret_text, "secret-key"));

    //  Again: refused, both files untouched.
    result = s_run ("keygen", path, NULL);
    CHECK (result.rc == CLI_FAILED && result.out [0] == 0);
    CHECK (strstr (result.err, path) && strstr (result.err, "exists already"));
    s_result_free (&result);
    char *public_again = fixture_files_read (path), *secret_again = fixture_files_read (secret);
    CHECK (public_text && public_again && streq (public_text, public_again));
    CHECK (secret_text && secret_again && streq (secret_text, secret_again));
    free (public_text);
    free (secret_text);
    free (public_again);
    free (secret_again);

    //  Only the secret file left over: still refused (it would be replaced).
    unlink (path);
    result = s_run ("keygen", path, NULL);
    CHECK (result.rc == CLI_FAILED && strstr (result.err, "exists already"));
    CHECK (access (path, F_OK) != 0);
    s_result_free (&result);

    result = s_run ("keygen", NULL);
    CHECK (result.rc == CLI_USAGE);
    s_result_free (&result);
    CHECK (s_requests () == requests);
    unlink (secret);
    return failures;
}

//  A scheduler whose ZAP handler refuses the key: exit 1 at once with "refused this key",
//  not after the timeout; the handler was asked about clusterctl's own key.
static int
s_case_refused_key (void)
{
    int failures = 0;
    zcert_t *cert = zcert_new ();
    s_actor_args_t setup = { cert, false };
    zactor_t *refusing = zactor_new (s_refusing_actor, &setup);
    CHECK (refusing && setup.bound);
    char key_path [128];
    snprintf (key_path, sizeof key_path, "%s/refusing.key", s_dir);
    CHECK (zcert_save_public (cert, key_path) == 0);
    char conf [128];
    snprintf (conf, sizeof conf, "%s/refusing.conf", s_dir);
    CHECK (fixture_files_writef (conf, "[clusterctl]\nsecret_key = %s_secret\n"
                                 "scheduler_key = %s\n", s_operator_key, key_path) == 0);
    int64_t started = zclock_mono ();
    s_result_t result = s_run ("-c", conf, "-s", S_REFUSING_ENDPOINT, "-t", "4000",
                               "status", NULL);
    int64_t elapsed = zclock_mono () - started;
    CHECK (result.rc == CLI_FAILED && result.out [0] == 0);
    CHECK (strstr (result.err, "refused this key"));
    CHECK (strstr (result.err, S_REFUSING_ENDPOINT));
    CHECK (!strstr (result.err, "within"));
    CHECK (elapsed < 2000);
    if (failures)
        fprintf (stderr, "  clusterctl said (after %" PRId64 " ms): %s", elapsed, result.err);
    s_result_free (&result);
    if (refusing) {
        char operator_key [KEYS_Z85_SIZE] = "", err [512];
        CHECK (keys_load_public (s_operator_key, operator_key, err, sizeof err) == 0);
        zstr_send (refusing, "COUNT");
        char *count = zstr_recv (refusing);
        CHECK (count && atoi (count) >= 1 && strchr (count, ' ')
               && streq (strchr (count, ' ') + 1, operator_key));
        zstr_free (&count);
    }
    zactor_destroy (&refusing);
    zcert_destroy (&cert);
    unlink (conf);
    unlink (key_path);
    return failures;
}

//  scheduler_key holds another key: the server cannot decrypt clusterctl's HELLO and drops
//  the connection during the handshake, which libzmq (4.3) reports to the client's monitor
//  as a failed handshake: exit 1 at once, pointing at scheduler_key, not a timeout; nothing
//  reaches the scheduler.
static int
s_case_wrong_scheduler_key (void)
{
    int failures = 0;
    char other [128], conf [128], err [512] = "";
    snprintf (other, sizeof other, "%s/other.key", s_dir);
    snprintf (conf, sizeof conf, "%s/wrong.conf", s_dir);
    CHECK (keys_generate (other, "someone else", err, sizeof err) == 0);
    CHECK (fixture_files_writef (conf, "[clusterctl]\nsecret_key = %s_secret\n"
                                 "scheduler_key = %s\n", s_operator_key, other) == 0);
    int requests = s_requests ();
    int64_t started = zclock_mono ();
    s_result_t result = s_run ("-c", conf, "-s", S_ENDPOINT, "-t", "4000", "status", NULL);
    int64_t elapsed = zclock_mono () - started;
    CHECK (result.rc == CLI_FAILED && result.out [0] == 0);
    CHECK (strstr (result.err, "no secure connection to '" S_ENDPOINT "'"));
    CHECK (strstr (result.err, "scheduler_key"));
    CHECK (!strstr (result.err, "within") && !strstr (result.err, "refused this key"));
    CHECK (elapsed < 2000);
    if (failures)
        fprintf (stderr, "  clusterctl said (after %" PRId64 " ms): %s", elapsed, result.err);
    s_result_free (&result);
    CHECK (s_requests () == requests);
    unlink (conf);
    return failures;
}

//  --------------------------------------------------------------------------

static const check_case_t s_cases [] = {
    { "host_list_table", s_case_host_list_table },
    { "json_output", s_case_json_output },
    { "show_views", s_case_show_views },
    { "refused", s_case_refused },
    { "unknown_verb", s_case_unknown_verb },
    { "arg_count", s_case_arg_count },
    { "request_args", s_case_request_args },
    { "help", s_case_help },
    { "bad_options", s_case_bad_options },
    { "unreachable", s_case_unreachable },
    { "config_file", s_case_config_file },
    { "bad_answers", s_case_bad_answers },
    { "secret_key_missing", s_case_secret_key_missing },
    { "keygen", s_case_keygen },
    { "refused_key", s_case_refused_key },
    { "wrong_scheduler_key", s_case_wrong_scheduler_key },
};

int
main (int argc, char **argv)
{
    setvbuf (stdout, NULL, _IOLBF, 0);              // verdicts between the stderr details
    setenv ("TZ", "UTC", 1);                        // timeline times are shown in local time
    tzset ();
    zsys_init ();
    zsys_set_logstream (NULL);
    if (fixture_files_tempdir (s_dir, sizeof s_dir, "clusterctl")) {
        printf ("FAIL unit/clusterctl: cannot create a temporary directory\n");
        return 1;
    }
    //  Key pairs: clusterctl's (as `clusterctl keygen` makes it) and the fake scheduler's
    //  (kept in memory; only its public key is written); base.conf names them.
    char err [1024] = "";
    snprintf (s_operator_key, sizeof s_operator_key, "%s/operator.key", s_dir);
    snprintf (s_scheduler_key, sizeof s_scheduler_key, "%s/scheduler.key", s_dir);
    snprintf (s_base_conf, sizeof s_base_conf, "%s/base.conf", s_dir);
    zcert_t *cert = fixture_keys_server_cert (s_scheduler_key);
    if (!cert || keys_generate (s_operator_key, "test_clusterctl", err, sizeof err)
    ||  fixture_files_writef (s_base_conf, "[clusterctl]\nsecret_key = %s_secret\n"
                              "scheduler_key = %s\n", s_operator_key, s_scheduler_key)) {
        printf ("FAIL unit/clusterctl: cannot write the test key pairs: %s\n", err);
        zcert_destroy (&cert);
        return 1;
    }
    s_actor_args_t setup = { cert, false };
    s_scheduler = zactor_new (s_scheduler_actor, &setup);
    if (!s_scheduler || !setup.bound) {
        printf ("FAIL unit/clusterctl: cannot bind %s (in use?)\n", S_ENDPOINT);
        zactor_destroy (&s_scheduler);
        zcert_destroy (&cert);
        return 1;
    }

    int failed = CHECK_RUN_ALL ("clusterctl", s_cases, argc, argv);
    zactor_destroy (&s_scheduler);
    zcert_destroy (&cert);
    fixture_files_remove_dir (s_dir);
    return failed? 1: 0;
}
