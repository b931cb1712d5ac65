/*  fixture_agent.c - a real agent on the fake hypervisor, with the test as its scheduler.

    Owns the fake scheduler's ROUTER and the temporary directory (fixture_agent_env_t) and,
    per agent, the agent, its routing id and the decoded messages it sent
    (fixture_agent_t). Single-threaded: the agent runs only inside fixture_agent_pump.
    Never checks anything itself: it collects and sends; the cases decide what is right.
*/
#include "fixture_agent.h"
#include "fixture_files.h"
#include "fixture_keys.h"
#include "fixture_wire.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  --------------------------------------------------------------------------
//  The environment

int
fixture_agent_env_open (fixture_agent_env_t *self, const char *suite, const char *endpoint,
                        char *err, size_t err_size)
{
    memset (self, 0, sizeof *self);
    snprintf (self->program, sizeof self->program, "test_%s", suite);
    snprintf (self->endpoint, sizeof self->endpoint, "%s", endpoint);
    if (fixture_files_tempdir (self->dir, sizeof self->dir, suite)) {
        snprintf (err, err_size, "cannot create a temporary directory");
        return -1;
    }
    snprintf (self->agent_key, sizeof self->agent_key, "%s/agent.key", self->dir);
    snprintf (self->scheduler_key, sizeof self->scheduler_key, "%s/scheduler.key", self->dir);
    char reason [1024] = "";
    zcert_t *cert = fixture_keys_server_cert (self->scheduler_key);
    if (!cert || keys_generate (self->agent_key, self->program, reason, sizeof reason)) {
        snprintf (err, err_size, "cannot write the test key pairs: %s", reason);
        zcert_destroy (&cert);
        fixture_agent_env_close (self);
        return -1;
    }
    self->router = fixture_keys_router (endpoint, cert, WIRE_MAX_MESSAGE);
    zcert_destroy (&cert);
    if (!self->router) {
        snprintf (err, err_size, "cannot bind %s (in use?)", endpoint);
        fixture_agent_env_close (self);
        return -1;
    }
    zsock_set_rcvtimeo (self->router, 0);
    return 0;
}

void
fixture_agent_env_close (fixture_agent_env_t *self)
{
    zsock_destroy (&self->router);
    if (self->dir [0])
        fixture_files_remove_dir (self->dir);
    self->dir [0] = 0;
}

void
fixture_agent_env_drain (fixture_agent_env_t *self)
{
    zmsg_t *msg;
    while ((msg = zmsg_recv (self->router)))
        zmsg_destroy (&msg);
}

int
fixture_agent_main (fixture_agent_env_t *env, const char *suite, const char *endpoint,
                    const check_case_t *cases, size_t count, int argc, char **argv)
{
    setvbuf (stdout, NULL, _IOLBF, 0);              // verdicts between the stderr details
    zsys_init ();
    zsys_set_logstream (NULL);
    char err [1024] = "";
    if (fixture_agent_env_open (env, suite, endpoint, err, sizeof err)) {
        printf ("FAIL unit/%s: %s\n", suite, err);
        return 1;
    }
    log_init (env->program, getenv ("VMSCHED_TEST_LOG")? LOG_LEVEL_DEBUG: LOG_LEVEL_NONE);
    int failed = check_run_cases (suite, cases, count, argc, argv);
    fixture_agent_env_close (env);
    return failed? 1: 0;
}

//  --------------------------------------------------------------------------
//  One agent

void
fixture_agent_setup (fixture_agent_t *self, fixture_agent_env_t *env, const char *name,
                     const char *subdir)
{
    memset (self, 0, sizeof *self);
    self->env = env;
    agent_config_defaults (&self->config);
    snprintf (self->config.name, sizeof self->config.name, "%s", name);
    snprintf (self->config.scheduler, sizeof self->config.scheduler, "%s", env->endpoint);
    strcpy (self->config.libvirt_uri, "fake:///");
    snprintf (self->config.state_dir, sizeof self->config.state_dir, "%s/%s", env->dir,
              subdir);
    self->config.report_ms = 60000;
    self->config.hello_retry_ms = 1000;
    //  No witness (one ZAP handler per process: tests/unit/test_witness_link.c covers it)
    //  and no QEMU domains for the fencer to find.
    self->config.witness_bind [0] = 0;
    snprintf (self->config.qemu_run_dir, sizeof self->config.qemu_run_dir, "%s/no-qemu",
              env->dir);
    strcpy (self->config.log_level, "error");
    snprintf (self->config.secret_key, sizeof self->config.secret_key, "%s_secret",
              env->agent_key);
    snprintf (self->config.scheduler_key, sizeof self->config.scheduler_key, "%s",
              env->scheduler_key);
    self->capacity.cpus = 8;
    self->capacity.memory_mib = 16384;
    strcpy (self->capacity.cpu_model, "fake-model");
}

int
fixture_agent_start (fixture_agent_t *self, hv_t *hv)
{
    fixture_agent_env_drain (self->env);
    self->hv = hv;
    char err [1024] = "";
    self->agent = hv? agent_new (&self->config, &hv, err, sizeof err): NULL;
    self->got = calloc (FIXTURE_AGENT_MAX_GOT, sizeof *self->got);
    if (!self->agent || !self->got) {
        fprintf (stderr, "  cannot start the agent: %s\n", self->hv? err: "no hypervisor");
        return -1;
    }
    return 0;
}

int
fixture_agent_start_fake (fixture_agent_t *self)
{
    return fixture_agent_start (self, hv_fake_new (&self->capacity, &self->fake));
}

void
fixture_agent_stop (fixture_agent_t *self)
{
    agent_destroy (&self->agent);
    for (size_t i = 0; self->got && i < self->got_count; i++)
        wire_msg_reset (&self->got [i].msg);
    free (self->got);
    zframe_destroy (&self->peer);
    if (self->env)
        fixture_agent_env_drain (self->env);
    memset (self, 0, sizeof *self);
}

//  --------------------------------------------------------------------------
//  What the agent sends

void
fixture_agent_collect (fixture_agent_t *self)
{
    zmsg_t *msg;
    while ((msg = zmsg_recv (self->env->router))) {
        zframe_t *id = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        if (id && body && zmsg_size (msg) == 0 && self->got_count < FIXTURE_AGENT_MAX_GOT) {
            fixture_agent_got_t *got = &self->got [self->got_count];
            char err [256];
            if (wire_decode (zframe_data (body), zframe_size (body), &got->msg,
                             err, sizeof err))
                fprintf (stderr, "  the agent sent an undecodable message: %s\n", err);
            else
            if (strcmp (got->msg.host_id, agent_host_id (self->agent)))
                wire_msg_reset (&got->msg);         // a previous case's agent
            else {
                got->at = zclock_mono ();
                self->got_count++;
                if (!self->peer)
                    self->peer = zframe_dup (id);
            }
        }
        zframe_destroy (&id);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
    }
}

void
fixture_agent_pump (fixture_agent_t *self, int ms)
{
    int64_t end = zclock_mono () + ms;
    do {
        agent_run_for (self->agent, FIXTURE_AGENT_SLICE_MS);
        fixture_agent_collect (self);
    } while (zclock_mono () < end);
}

const fixture_agent_got_t *
fixture_agent_wait (fixture_agent_t *self, wire_kind_t kind, int timeout_ms)
{
    int64_t end = zclock_mono () + timeout_ms;
    while (true) {
        for (size_t i = self->cursor; i < self->got_count; i++)
            if (self->got [i].msg.kind == kind) {
                self->cursor = i + 1;
                return &self->got [i];
            }
        if (zclock_mono () >= end)
            return NULL;
        fixture_agent_pump (self, FIXTURE_AGENT_SLICE_MS);
    }
}

size_t
fixture_agent_mark (fixture_agent_t *self)
{
    fixture_agent_collect (self);
    self->cursor = self->got_count;
    return self->cursor;
}

size_t
fixture_agent_count (const fixture_agent_t *self, wire_kind_t kind, size_t from)
{
    size_t count = 0;
    for (size_t i = from; i < self->got_count; i++)
        count += self->got [i].msg.kind == kind;
    return count;
}

const fixture_agent_got_t *
fixture_agent_last (const fixture_agent_t *self, wire_kind_t kind)
{
    for (size_t i = self->got_count; i > 0; i--)
        if (self->got [i - 1].msg.kind == kind)
            return &self->got [i - 1];
    return NULL;
}

const wire_domain_t *
fixture_agent_find_domain (const wire_report_t *report, const char *uuid)
{
    for (uint32_t i = 0; i < report->domain_count; i++)
        if (strcmp (report->domains [i].uuid, uuid) == 0)
            return &report->domains [i];
    return NULL;
}

//  --------------------------------------------------------------------------
//  What the scheduler answers

void
fixture_agent_send_frames (fixture_agent_t *self, zframe_t *first, zframe_t *second)
{
    if (!self->peer) {
        fprintf (stderr, "  nothing to answer: the agent has not sent anything yet\n");
        zframe_destroy (&first);
        zframe_destroy (&second);
        return;
    }
    zmsg_t *msg = zmsg_new ();
    zframe_t *peer = zframe_dup (self->peer);
    zmsg_append (msg, &peer);
    zmsg_append (msg, &first);
    if (second)
        zmsg_append (msg, &second);
    zmsg_send (&msg, self->env->router);
}

void
fixture_agent_send (fixture_agent_t *self, const wire_msg_t *msg)
{
    fixture_agent_send_frames (self, fixture_wire_frame (msg), NULL);
}

void
fixture_agent_send_welcome (fixture_agent_t *self, uint64_t hello_seq, uint64_t generation,
                            uint64_t epoch, uint32_t heartbeat_ms)
{
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_WELCOME);
    msg.seq = 1;
    msg.body.welcome = (wire_welcome_t) { generation, epoch, hello_seq, heartbeat_ms };
    fixture_agent_send (self, &msg);
}

int
fixture_agent_register (fixture_agent_t *self, uint64_t generation, uint64_t epoch,
                        uint32_t heartbeat_ms)
{
    int64_t end = zclock_mono () + 3000;
    while (zclock_mono () < end) {
        if (!fixture_agent_wait (self, WIRE_HELLO, (int) (end - zclock_mono ())))
            break;
        fixture_agent_send_welcome (self, fixture_agent_last (self, WIRE_HELLO)->msg.seq,
                                    generation, epoch, heartbeat_ms);
        for (int waited = 0;
             waited < 300 && agent_generation (self->agent) != generation;
             waited += FIXTURE_AGENT_SLICE_MS)
            fixture_agent_pump (self, FIXTURE_AGENT_SLICE_MS);
        if (agent_generation (self->agent) == generation)
            return 0;
    }
    fprintf (stderr, "  the agent did not register\n");
    return -1;
}
