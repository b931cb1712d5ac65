/*  test_scheduler_fence.c - a running scheduler fences a silent host with its fence agent.

    Forks a real scheduler (temporary SQLite file, loopback TCP) whose config file has a
    [fence h1] section naming a shell script, the fence agent, written to the temporary
    directory: it appends its stdin to a file, succeeds for action=off and answers
    action=status with "off" (exit 2). The test is host h1's agent, over a CURVE DEALER as in
    production: it registers (HELLO, REPORT), keeps heartbeating while the admin creates an
    HA VM that the scheduler places there (the START carries the HA marker), then falls
    silent. The scheduler must run the script (off, then status, with the section's
    options on stdin), take its confirmed power-off, declare h1 dead, and show it: state
    dead, the timeline beginning silent, suspect, fence, fenced, dead, status counting one
    dead host. Also: a [fence NAME] section whose agent is not executable stops the
    scheduler at start with a message naming the file, the line and the agent.
*/
#include "check.h"
#include "fixture_files.h"
#include "fixture_keys.h"
#include "fixture_wire.h"
#include "log.h"
#include "scheduler.h"
#include "wire.h"
#include "xmlns.h"

#include <czmq.h>
#include <jansson.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define S_AGENT_EP  "tcp://127.0.0.1:17196"
#define S_CTL_EP    "tcp://127.0.0.1:17197"

static const char *s_host_id = "44444444-4444-4444-4444-444444444444";
static fixture_keys_t s_scheduler_key;     // the scheduler's key pair
static uint64_t s_seq;                     // the test agent's last sequence number

//  A DEALER connected to endpoint as a CURVE client with key; receives wait up to
//  timeout_ms.
static zsock_t *
s_connect (const char *endpoint, const fixture_keys_t *key, int timeout_ms)
{
    zsock_t *sock = fixture_keys_client (endpoint, key, s_scheduler_key.public_key, 100);
    if (sock)
        zsock_set_rcvtimeo (sock, timeout_ms);
    return sock;
}

//  Receives one message into msg (caller resets it); its kind, WIRE_NONE on timeout.
static wire_kind_t
s_recv (zsock_t *sock, wire_msg_t *msg)
{
    zframe_t *frame = zframe_recv (sock);
    if (!frame)
        return WIRE_NONE;
    char err [256];
    int rc = wire_decode (zframe_data (frame), zframe_size (frame), msg, err, sizeof err);
    zframe_destroy (&frame);
    return rc? WIRE_NONE: msg->kind;
}

//  A ctl request with the argument object args (taken; NULL: none); the reply's document
//  (caller decrefs) or NULL, saying why on stderr.
static json_t *
s_ctl (zsock_t *ctl, const char *verb, json_t *args)
{
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_CTL_REQUEST);
    snprintf (msg.body.request.verb, sizeof msg.body.request.verb, "%s", verb);
    char *text = args? json_dumps (args, JSON_COMPACT): NULL;
    json_decref (args);
    wire_request_set_args (&msg.body.request, text);
    free (text);
    fixture_wire_send (ctl, &msg);
    if (s_recv (ctl, &msg) != WIRE_CTL_REPLY)
        return NULL;
    json_t *json = NULL;
    if (msg.body.reply.status)
        fprintf (stderr, "  %s: status %d: %s\n", verb, msg.body.reply.status,
                 msg.body.reply.error);
    else
        json = json_loads (msg.body.reply.json? msg.body.reply.json: "", 0, NULL);
    wire_msg_reset (&msg);
    return json;
}

//  An agent message of host h1 (the next seq, generation).
static void
s_agent_msg (wire_msg_t *msg, wire_kind_t kind, uint64_t generation)
{
    wire_msg_init (msg, kind);
    snprintf (msg->host_id, sizeof msg->host_id, "%s", s_host_id);
    msg->seq = ++s_seq;
    msg->session = 4343;
    msg->generation = generation;
}

//  Registers h1 (HELLO until WELCOME) and sends its first full report. Its generation, or 0.
static uint64_t
s_register (zsock_t *agent)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        wire_msg_t msg;
        s_agent_msg (&msg, WIRE_HELLO, 0);
        wire_hello_t *hello = &msg.body.hello;
        snprintf (hello->host_id, sizeof hello->host_id, "%s", s_host_id);
        snprintf (hello->name, sizeof hello->name, "h1");
        snprintf (hello->watchdog, sizeof hello->watchdog, "none");   // fenced instead
        hello->capacity.cpus = 4;
        hello->capacity.memory_mib = 8192;
        fixture_wire_send (agent, &msg);
        wire_msg_t reply;
        wire_kind_t kind;
        while ((kind = s_recv (agent, &reply)) != WIRE_NONE && kind != WIRE_WELCOME)
            wire_msg_reset (&reply);
        if (kind != WIRE_WELCOME)
            continue;
        uint64_t generation = reply.body.welcome.generation;
        wire_msg_reset (&reply);
        s_agent_msg (&msg, WIRE_REPORT, generation);
        msg.body.report.hypervisor_connected = true;
        fixture_wire_send (agent, &msg);
        return generation;
    }
    return 0;
}

//  One heartbeat of h1, and a RENEW as a real agent sends (the scheduler places an HA VM
//  only on a host that holds a lease); the GRANTs it answers are read past.
static void
s_beat (zsock_t *agent, uint64_t generation)
{
    wire_msg_t msg;
    s_agent_msg (&msg, WIRE_HEARTBEAT, generation);
    msg.body.report.hypervisor_connected = true;
    fixture_wire_send (agent, &msg);
    s_agent_msg (&msg, WIRE_RENEW, generation);
    msg.body.renew.id = s_seq;
    fixture_wire_send (agent, &msg);
}

//  Heartbeats every 100 ms (answering nothing) until the scheduler sends a START, at most
//  timeout_ms; the START's domain XML (caller frees) and HA flag, or NULL.
static char *
s_wait_start (zsock_t *agent, uint64_t generation, int timeout_ms, bool *ha)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        s_beat (agent, generation);
        int64_t beat = zclock_mono () + 100;
        while (zclock_mono () < beat) {
            zsock_set_rcvtimeo (agent, 20);
            wire_msg_t got;
            wire_kind_t kind = s_recv (agent, &got);
            if (kind == WIRE_COMMAND && got.body.command.action == COMMAND_START) {
                char *xml = got.body.command.domain_xml? strdup (got.body.command.domain_xml)
                                                       : strdup ("");
                *ha = got.body.command.ha;
                wire_msg_reset (&got);
                return xml;
            }
            if (kind != WIRE_NONE)
                wire_msg_reset (&got);
        }
    }
    return NULL;
}

//  The timeline kinds of a host show document, joined by ','.
static void
s_kinds (const json_t *host, char *kinds, size_t size)
{
    size_t index, used = 0;
    json_t *entry;
    kinds [0] = 0;
    json_array_foreach (json_object_get (host, "timeline"), index, entry)
        if (used < size)
            used += (size_t) snprintf (kinds + used, size - used, "%s%s", index? ",": "",
                                       json_string_value (json_object_get (entry, "kind")));
}

static void
s_config (scheduler_config_t *config, const char *dir, const char *file)
{
    scheduler_config_defaults (config);
    strcpy (config->agent_endpoint, S_AGENT_EP);
    strcpy (config->ctl_endpoint, S_CTL_EP);
    snprintf (config->database, sizeof config->database, "%s/vmsched.db", dir);
    config->heartbeat_ms = 100;
    config->suspect_after_ms = 1000;       // slack for valgrind (make valgrind)
    config->down_after_ms = 2000;
    snprintf (config->secret_key, sizeof config->secret_key, "%s/scheduler.key_secret", dir);
    snprintf (config->admin_key, sizeof config->admin_key, "%s/admin.key", dir);
    snprintf (config->config_file, sizeof config->config_file, "%s", file);
}

static void
s_run_scheduler (const char *dir, const char *file)
{
    scheduler_config_t config;
    s_config (&config, dir, file);
    log_init ("scheduler-under-test", getenv ("VMSCHED_TEST_LOG")? LOG_LEVEL_DEBUG
                                                                 : LOG_LEVEL_ERROR);
    char err [1024];
    scheduler_t *scheduler = scheduler_new (&config, err, sizeof err);
    if (!scheduler) {
        fprintf (stderr, "  cannot start scheduler: %s\n", err);
        _exit (3);
    }
    scheduler_run (scheduler);
    scheduler_destroy (&scheduler);
    _exit (0);
}

//  A fence agent that is not executable stops the scheduler before it opens anything.
static int
s_bad_agent (const char *dir)
{
    int failures = 0;
    char file [128], agent [128], err [1024] = "";
    snprintf (agent, sizeof agent, "%s/not-executable", dir);
    snprintf (file, sizeof file, "%s/bad.conf", dir);
    CHECK (fixture_files_write (agent, "#!/bin/sh\nexit 0\n") == 0 && chmod (agent, 0644) == 0);
    CHECK (fixture_files_writef (file, "[scheduler]\nlog_level = error\n\n[fence h2]\n"
                                 "agent = %s\n", agent) == 0);
    scheduler_config_t config;
    s_config (&config, dir, file);
    snprintf (config.database, sizeof config.database, "%s/bad.db", dir);
    log_init ("test_scheduler_fence", LOG_LEVEL_NONE);
    scheduler_t *scheduler = scheduler_new (&config, err, sizeof err);
    CHECK (scheduler == NULL);
    scheduler_destroy (&scheduler);
    char expected [512];
    snprintf (expected, sizeof expected, "config '%s' line 5: [fence h2] agent '%s' is not "
              "executable", file, agent);
    CHECK (strstr (err, expected));
    if (!strstr (err, expected))
        fprintf (stderr, "  error was: %s\n", err);
    struct stat info;
    CHECK (stat (config.database, &info) == -1);        // nothing left behind
    return failures;
}

int
main (void)
{
    int failures = 0;
    char dir [64];
    setvbuf (stdout, NULL, _IOLBF, 0);
    if (fixture_files_tempdir (dir, sizeof dir, "sched-fence"))
        return check_report ("scheduler_fence", 1);
    fixture_keys_t admin_key, agent_key;
    if (fixture_keys_make (&s_scheduler_key, dir, "scheduler")
    ||  fixture_keys_make (&admin_key, dir, "admin")
    ||  fixture_keys_make (&agent_key, dir, "h1"))
        return check_report ("scheduler_fence", 1);
    failures += s_bad_agent (dir);

    //  The fence agent and the config file naming it.
    char agent [128], input [128], file [128];
    snprintf (agent, sizeof agent, "%s/fence_h1", dir);
    snprintf (input, sizeof input, "%s/fence-stdin.log", dir);
    snprintf (file, sizeof file, "%s/scheduler.conf", dir);
    CHECK (fixture_files_writef (agent, "#!/bin/sh\n"
        "input=$(cat)\n"
        "printf '%%s\\n--\\n' \"$input\" >> '%s'\n"
        "case \"$input\" in *action=status*) echo 'Status: OFF'; exit 2 ;; esac\n"
        "echo 'Success: Powered OFF'\n"
        "exit 0\n", input) == 0);
    CHECK (chmod (agent, 0755) == 0);
    CHECK (fixture_files_writef (file, "[fence h1]\nagent = %s\ntimeout_ms = 5000\n"
                                 "poll_ms = 50\nip = 10.0.0.5\npassword = s3cret\n", agent) == 0);

    pid_t child = fork ();
    if (child == 0)
        s_run_scheduler (dir, file);
    zsock_t *ctl = s_connect (S_CTL_EP, &admin_key, 5000);
    json_t *status = NULL;
    for (int i = 0; i < 50 && !status; i++)
        status = s_ctl (ctl, "status", NULL);
    CHECK (status != NULL);
    json_decref (status);
    json_t *added = s_ctl (ctl, "host.add", json_pack ("{s:s, s:s}", "name", "h1", "key",
                                                       agent_key.public_key));
    CHECK (added != NULL);
    json_decref (added);

    //  h1 registers; it is protected by its fence device (no watchdog).
    zsock_t *agent_sock = s_connect (S_AGENT_EP, &agent_key, 2000);
    uint64_t generation = s_register (agent_sock);
    CHECK (generation > 0);
    json_t *shown = NULL;                           // a tick notes its fence device
    for (int i = 0; i < 50 && !json_is_true (json_object_get (shown, "fence_device")); i++) {
        zclock_sleep (100);
        s_beat (agent_sock, generation);
        json_decref (shown);
        shown = s_ctl (ctl, "host.show", json_pack ("{s:s}", "name", "h1"));
    }
    CHECK (shown && json_is_true (json_object_get (shown, "fence_device"))
           && json_is_true (json_object_get (shown, "protected")));
    json_decref (shown);

    //  An HA VM is placed there: its START carries the marker.
    s_beat (agent_sock, generation);
    json_t *created = s_ctl (ctl, "vm.create", json_pack ("{s:s, s:s, s:b, s:b}",
        "name", "web-1", "xml", "<domain type='kvm'><memory unit='MiB'>512</memory>"
        "<vcpu>1</vcpu><os><type>hvm</type></os></domain>", "ha", 1, "start", 1));
    CHECK (created != NULL);
    json_decref (created);
    bool ha = false;
    char *xml = s_wait_start (agent_sock, generation, 5000, &ha);
    CHECK (xml && ha);
    CHECK (xml && strstr (xml, "<vm xmlns=\"" VMSCHED_XMLNS_VM "\" ha=\"yes\"/>"));
    free (xml);

    //  h1 falls silent: fenced (off, then status), then dead.
    json_t *host = NULL;
    const char *state = "";
    int64_t deadline = zclock_mono () + 20000;
    while (zclock_mono () < deadline && strcmp (state, "dead")) {
        zclock_sleep (100);
        json_decref (host);
        host = s_ctl (ctl, "host.show", json_pack ("{s:s}", "name", "h1"));
        const char *now = json_string_value (json_object_get (host, "state"));
        state = now? now: "";
    }
    CHECK (streq (state, "dead"));
    char kinds [512];
    s_kinds (host, kinds, sizeof kinds);
    //  (A slow machine may see it suspect and heard again before; then the START still in
    //  flight there fails: "start-failed".)
    CHECK (strstr (kinds, "silent,suspect,fence,fenced,dead"));
    if (!strstr (kinds, "silent,suspect,fence,fenced,dead"))
        fprintf (stderr, "  h1's timeline: %s\n", kinds);
    if (getenv ("VMSCHED_TEST_LOG")) {
        char *dump = json_dumps (json_object_get (host, "timeline"), JSON_INDENT (2));
        fprintf (stderr, "%s\n", dump);
        free (dump);
    }
    const char *detail = NULL;
    size_t index;
    json_t *entry;
    json_array_foreach (json_object_get (host, "timeline"), index, entry)
        if (streq (json_string_value (json_object_get (entry, "kind")), "fenced"))
            detail = json_string_value (json_object_get (entry, "detail"));
    CHECK (detail && strstr (detail, "off confirmed by status"));
    if (detail && !strstr (detail, "off confirmed by status"))
        fprintf (stderr, "  fenced: %s\n", detail);
    json_decref (host);

    //  What the agent was told, in order: off with the options, then status.
    char *told = fixture_files_read (input);
    CHECK (told != NULL);
    if (told) {
        const char *off = strstr (told, "action=off");
        const char *status_run = strstr (told, "action=status");
        CHECK (off && status_run && off < status_run);
        CHECK (strstr (told, "ip=10.0.0.5") && strstr (told, "password=s3cret"));
    }
    free (told);
    status = s_ctl (ctl, "status", NULL);
    json_t *hosts = json_object_get (status, "hosts");
    CHECK (json_integer_value (json_object_get (hosts, "dead")) == 1);
    CHECK (json_array_size (json_object_get (json_object_get (status, "ha"),
                                             "unprotected_hosts")) == 0);
    json_decref (status);

    zsock_destroy (&agent_sock);
    zsock_destroy (&ctl);
    kill (child, SIGTERM);
    int exit_status = 0;
    waitpid (child, &exit_status, 0);
    CHECK (WIFEXITED (exit_status) && WEXITSTATUS (exit_status) == 0);
    CHECK (fixture_files_remove_dir (dir) == 0);
    return check_report ("scheduler_fence", failures);
}
