/*  test_clusterctl.c - clusterctl's command line, run in-process against a fake scheduler.

    A zactor plays the scheduler: a ROUTER on loopback that decodes each ctl request and
    answers with a canned reply chosen by verb and arguments (two hosts for host.list, a
    refusal for an unknown host, invalid JSON for vm.list, ...), and remembers the newest
    request so that a case can check what was sent, or that nothing was. Each case calls
    cli_main with open_memstream streams and checks the exit code and both texts.

    Prints one `PASS unit/clusterctl/CASE` or `FAIL unit/clusterctl/CASE: ...` line per case;
    the failed checks themselves are on stderr just above.
*/
#include "check.h"
#include "cli.h"
#include "wire.h"

#include <czmq.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define S_PORT          "17320"
#define S_ENDPOINT      "tcp://127.0.0.1:" S_PORT
#define S_DEAD_ENDPOINT "tcp://127.0.0.1:17329"     // nothing listens there
#define S_MAX_ARGV      32

static const char *s_hosts_json =
    "{\"hosts\": ["
    "{\"name\": \"alpha-long-hostname\", \"state\": \"up\", \"generation\": 3, \"cpus\": 8,"
    " \"memory_mib\": 16384, \"vm_count\": 2, \"vms_running\": 1, \"vcpus_used\": 2,"
    " \"memory_used_mib\": 2048, \"hypervisor_connected\": true, \"last_seen_ms\": 120},"
    "{\"name\": \"b\", \"state\": \"suspect\", \"generation\": 12, \"cpus\": 64,"
    " \"memory_mib\": 262144, \"vm_count\": 0, \"vms_running\": 0, \"vcpus_used\": 0,"
    " \"memory_used_mib\": 0, \"hypervisor_connected\": false, \"last_seen_ms\": 4500}"
    "]}";

static const char *s_host_json =
    "{\"name\": \"alpha-long-hostname\", \"id\": \"0f8fad5b-d9cb-469f-a165-70867728950e\","
    " \"state\": \"up\", \"generation\": 3, \"cpus\": 8, \"memory_mib\": 16384,"
    " \"cpu_model\": \"Skylake\", \"nested\": true, \"hypervisor_connected\": true,"
    " \"numa\": [{\"id\": 0, \"cpus\": 4, \"memory_mib\": 8192},"
    "            {\"id\": 1, \"cpus\": 4, \"memory_mib\": 8192}],"
    " \"domains\": [{\"name\": \"web-1\", \"state\": \"running\","
    "               \"uuid\": \"aaaaaaaa-0000-4000-8000-000000000001\"}],"
    " \"history\": []}";

static const char *s_status_json =
    "{\"scheduler\": {\"version\": \"0.1.0\", \"epoch\": 3, \"uptime_s\": 12.5,"
    " \"database\": \"/var/lib/vmsched/vmsched.db\", \"agent_endpoint\": \"tcp://*:7100\","
    " \"ctl_endpoint\": \"tcp://*:7101\"},"
    " \"hosts\": {\"total\": 2, \"up\": 1, \"suspect\": 1, \"down\": 0},"
    " \"vms\": {\"total\": 2, \"running\": 1},"
    " \"capacity\": {\"cpus\": 8, \"vcpus_used\": 2, \"memory_mib\": 16384,"
    " \"memory_used_mib\": 2048}}";

static char s_dir [] = "/tmp/vmsched-clusterctl-test-XXXXXX";
static zactor_t *s_scheduler;

//  --------------------------------------------------------------------------
//  The fake scheduler

//  Fills reply for request; *frames is set to 2 for a (malformed) two-frame answer.
static void
s_answer (const wire_ctl_request_t *request, wire_msg_t *reply, int *frames)
{
    wire_ctl_reply_t *body = &reply->body.reply;
    const char *arg = request->arg_count? request->args [0]: "";
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
}

//  The actor: answers requests; "LAST" on the pipe returns "COUNT|VERB|ARG|ARG..." of the
//  newest request. *args (a bool) says whether it could bind, before the handshake.
static void
s_scheduler_actor (zsock_t *pipe, void *args)
{
    zsock_t *router = zsock_new_router ("@" S_ENDPOINT);
    *(bool *) args = router != NULL;
    zsock_signal (pipe, 0);
    if (!router)
        return;
    zsock_set_linger (router, 0);
    char last [2048] = "";
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
                snprintf (last, sizeof last, "|%s", request.body.request.verb);
                for (uint32_t i = 0; i < request.body.request.arg_count; i++) {
                    size_t used = strlen (last);
                    snprintf (last + used, sizeof last - used, "|%s",
                              request.body.request.args [i]);
                }
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

//  "COUNT|VERB|ARGS..." of the newest request the fake scheduler answered (caller frees).
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

//  cli_main ("clusterctl", args..., NULL) with memory streams.
static s_result_t
s_run (const char *arg, ...)
{
    char *argv [S_MAX_ARGV + 1];
    int argc = 0;
    argv [argc++] = strdup ("clusterctl");
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

static int
s_write_file (const char *path, const char *text)
{
    FILE *file = fopen (path, "w");
    if (!file)
        return -1;
    int rc = fputs (text, file) < 0? -1: 0;
    return fclose (file) || rc? -1: 0;
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
    CHECK (last && streq (strchr (last, '|'), "|host.list"));
    zstr_free (&last);

    char *lines [8] = { NULL };
    int count = 0;
    for (char *line = strtok (result.out, "\n"); line && count < 8; line = strtok (NULL, "\n"))
        lines [count++] = line;
    CHECK (count == 3);
    if (count == 3) {
        static const char *headers [] = {
            "NAME", "STATE", "GEN", "CPUS", "MEMORY", "VMS", "RUNNING", "VCPUS USED",
            "MEM USED", "LIBVIRT", "LAST SEEN"
        };
        CHECK (strncmp (lines [0], "NAME ", 5) == 0);
        //  Header offsets, in order; each row has a value starting at each of them.
        size_t offset [11];
        const char *from = lines [0];
        for (size_t h = 0; h < 11; h++) {
            const char *at = strstr (from, headers [h]);
            CHECK (at != NULL);
            offset [h] = at? (size_t) (at - lines [0]): 0;
            from = at? at + strlen (headers [h]): from;
        }
        for (int r = 0; r < 3; r++) {
            size_t length = strlen (lines [r]);
            CHECK (lines [r][length - 1] != ' ');   // no trailing blanks
            for (size_t h = 1; h < 11; h++)
                CHECK (offset [h] < length && lines [r][offset [h]] != ' '
                       && strncmp (lines [r] + offset [h] - 2, "  ", 2) == 0);
        }
        CHECK (strncmp (lines [1] + offset [1], "up ", 3) == 0);
        CHECK (strncmp (lines [2] + offset [1], "suspect ", 8) == 0);
        CHECK (offset [1] == strlen ("alpha-long-hostname") + 2);
        CHECK (strncmp (lines [1], "alpha-long-hostname  up", 23) == 0);
        CHECK (strncmp (lines [1] + offset [4], "16.0 GiB", 8) == 0);
        CHECK (strncmp (lines [2] + offset [4], "256.0 GiB", 9) == 0);
        CHECK (strncmp (lines [1] + offset [8], "2048 MiB", 8) == 0);
        CHECK (strncmp (lines [1] + offset [9], "yes", 3) == 0);
        CHECK (strncmp (lines [2] + offset [9], "no ", 3) == 0);
        CHECK (streq (lines [1] + offset [10], "120 ms"));
        CHECK (streq (lines [2] + offset [10], "4.5 s"));
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
    CHECK (last && streq (strchr (last, '|'), "|host.list"));    // no option became an arg
    zstr_free (&last);
    s_result_free (&result);

    result = s_run ("host", "show", "--output=json", "alpha-long-hostname", "-s", S_ENDPOINT,
                    NULL);
    CHECK (result.rc == CLI_OK);
    CHECK (s_json_equal (result.out, s_host_json));
    last = s_last_request ();
    CHECK (last && streq (strchr (last, '|'), "|host.show|alpha-long-hostname"));
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
    s_result_free (&result);

    result = s_run ("-s", S_ENDPOINT, "status", NULL);
    CHECK (result.rc == CLI_OK);
    CHECK (strncmp (result.out, "Scheduler\n", 10) == 0);
    CHECK (strstr (result.out, "\nuptime:         12.5 s\n"));
    CHECK (strstr (result.out, "\nHosts\ntotal:    2\nup:       1\n"));
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
    CHECK (last && streq (strchr (last, '|'), "|vm.show|-odd"));
    zstr_free (&last);
    s_result_free (&result);
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
    CHECK (s_write_file (good, "[clusterctl]\nserver = " S_ENDPOINT "\noutput = json\n"
                               "timeout_ms = 2000\n") == 0);
    CHECK (s_write_file (dead, "[clusterctl]\nserver = " S_DEAD_ENDPOINT "\n"
                               "timeout_ms = 200\n") == 0);
    CHECK (s_write_file (bad, "[clusterctl]\nserver = " S_ENDPOINT "\nsrever = x\n") == 0);

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

typedef struct {
    const char *name;           // shown in the PASS/FAIL line
    int (*run) (void);          // returns its failed checks
} s_case_t;

static const s_case_t s_cases [] = {
    { "host_list_table", s_case_host_list_table },
    { "json_output", s_case_json_output },
    { "show_views", s_case_show_views },
    { "refused", s_case_refused },
    { "unknown_verb", s_case_unknown_verb },
    { "arg_count", s_case_arg_count },
    { "help", s_case_help },
    { "bad_options", s_case_bad_options },
    { "unreachable", s_case_unreachable },
    { "config_file", s_case_config_file },
    { "bad_answers", s_case_bad_answers },
};

int
main (int argc, char **argv)
{
    setvbuf (stdout, NULL, _IOLBF, 0);              // verdicts between the stderr details
    zsys_init ();
    zsys_set_logstream (NULL);
    if (!mkdtemp (s_dir)) {
        printf ("FAIL unit/clusterctl: cannot create a temporary directory\n");
        return 1;
    }
    bool bound = false;
    s_scheduler = zactor_new (s_scheduler_actor, &bound);
    if (!s_scheduler || !bound) {
        printf ("FAIL unit/clusterctl: cannot bind %s (in use?)\n", S_ENDPOINT);
        return 1;
    }
    int failed = 0;
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases [0]; i++) {
        //  `test_clusterctl CASE...` runs only those cases.
        bool wanted = argc < 2;
        for (int a = 1; a < argc; a++)
            wanted |= streq (argv [a], s_cases [i].name);
        if (!wanted)
            continue;
        int64_t started = zclock_mono ();
        int failures = s_cases [i].run ();
        if (failures)
            printf ("FAIL unit/clusterctl/%s: %d check(s) failed (listed above)\n",
                    s_cases [i].name, failures);
        else
            printf ("PASS unit/clusterctl/%s (%" PRId64 " ms)\n", s_cases [i].name,
                    zclock_mono () - started);
        failed += failures > 0;
    }
    zactor_destroy (&s_scheduler);
    char command [128];
    snprintf (command, sizeof command, "rm -rf '%s'", s_dir);
    if (system (command) != 0)
        fprintf (stderr, "cannot remove %s\n", s_dir);
    return failed? 1: 0;
}
