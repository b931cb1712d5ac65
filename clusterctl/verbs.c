/*  verbs.c - clusterctl's verb table and the follow-ups of verbs that take time.

    Owns nothing between calls. Waiting is polling: one request every S_POLL_MS, each with
    the usual timeout, until the operation ends, fails, or session->wait_s passes; progress is
    printed when it changes (table output only).
*/
#include "verbs.h"
#include "rpc.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_POLL_MS 200

int
verb_call (const verb_session_t *session, const char *request, const json_t *args,
           json_t **answer)
{
    *answer = NULL;
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_CTL_REQUEST);
    snprintf (msg.body.request.verb, sizeof msg.body.request.verb, "%s", request);
    json_t *none = args? NULL: json_object ();
    msg.body.request.args_json = json_dumps (args? args: none, JSON_COMPACT);
    json_decref (none);
    size_t length = msg.body.request.args_json? strlen (msg.body.request.args_json): 0;
    if (!msg.body.request.args_json || length > WIRE_MAX_ARGS_JSON) {
        if (length)
            fprintf (session->err, "clusterctl: the arguments are too large (%zu bytes of JSON, "
                     "at most %d)\n", length, WIRE_MAX_ARGS_JSON);
        else
            fprintf (session->err, "clusterctl: cannot build the request (out of memory)\n");
        wire_msg_reset (&msg);
        return length? 2: 1;
    }
    wire_msg_t reply;
    char reason [1024];
    int rc = rpc_call (session->server, session->cert, session->server_key,
                       session->timeout_ms, &msg.body.request, &reply, reason, sizeof reason);
    wire_msg_reset (&msg);
    if (rc) {
        fprintf (session->err, "clusterctl: %s\n", reason);
        return 1;
    }
    const wire_ctl_reply_t *r = &reply.body.reply;
    if (r->status != 0) {
        fprintf (session->err, "clusterctl: %s\n", r->error [0]? r->error: "request failed");
        rc = r->status == 2? 2: 1;
    }
    else {
        json_error_t error;
        *answer = r->json? json_loads (r->json, 0, &error): NULL;
        if (!*answer) {
            fprintf (session->err, "clusterctl: the scheduler's answer is not valid JSON: %s\n",
                     r->json? error.text: "empty answer");
            rc = 1;
        }
    }
    wire_msg_reset (&reply);
    return rc;
}

//  --------------------------------------------------------------------------
//  Waiting

static const char *
s_string (const json_t *object, const char *key)
{
    const char *value = json_string_value (json_object_get (object, key));
    return value? value: "";
}

static int64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

//  What a poll decided.
typedef enum { S_WAITING, S_DONE, S_FAILED } s_progress_t;

//  Judges one polled document (answer: the reply to the request being followed, name: its
//  subject, since: boot ms a condition began, kept between polls) and writes the line to show.
typedef s_progress_t (s_judge_fn) (const json_t *document, const json_t *answer,
                                   const char *name, int64_t *since, char *line, size_t size);

//  How one verb is followed.
struct verb_watch {
    const char *request;        // polled: "vm.show" (asked about name) or "vm.list"
    s_judge_fn *judge;          // decides on each document
    bool print_answer;          // -o json: print the request's answer at the end (else the
                                // last polled document)
};

//  Polls until the judge says done or failed, or the wait ends. Progress lines go to out
//  (table output), the final failure to err; -o json prints one document at the end.
static int
s_poll (const verb_session_t *session, const verb_watch_t *watch, const char *name,
        const json_t *answer)
{
    int64_t deadline = s_now_ms () + (int64_t) session->wait_s * 1000;
    int64_t since = 0;
    char last [4096] = "";
    json_t *args = strcmp (watch->request, "vm.show") == 0? json_pack ("{s:s}", "name", name)
                                                          : json_object ();
    while (true) {
        json_t *document;
        int rc = verb_call (session, watch->request, args, &document);
        if (rc) {
            json_decref (args);
            return rc;
        }
        char line [4096] = "";
        s_progress_t progress = watch->judge (document, answer, name, &since, line, sizeof line);
        bool over = progress == S_WAITING && s_now_ms () > deadline;
        if (progress == S_FAILED || over)
            fprintf (session->err, "clusterctl: %s%s\n", line, over? " (still not done after "
                     "the wait; it goes on)": "");
        else
        if (!session->json && line [0] && strcmp (line, last)) {
            fprintf (session->out, "%s\n", line);
            fflush (session->out);
            snprintf (last, sizeof last, "%s", line);
        }
        if (progress != S_WAITING || over) {
            if (session->json) {
                json_dumpf (watch->print_answer? answer: document, session->out,
                            JSON_INDENT (2) | JSON_PRESERVE_ORDER);
                fputc ('\n', session->out);
            }
            json_decref (document);
            json_decref (args);
            return progress == S_DONE? 0: 1;
        }
        json_decref (document);
        zclock_sleep (S_POLL_MS);
    }
}

static s_progress_t
s_judge_started (const json_t *vm, const json_t *answer, const char *name, int64_t *since,
                 char *line, size_t size)
{
    (void) answer, (void) name, (void) since;
    const char *reason = s_string (vm, "reason");
    if (strcmp (s_string (vm, "state"), "running") == 0) {
        snprintf (line, size, "vm '%s' is running on host '%s'", s_string (vm, "name"),
                  s_string (vm, "host"));
        return S_DONE;
    }
    snprintf (line, size, "vm '%s': %s", s_string (vm, "name"), reason);
    bool stuck = strncmp (reason, "not started", 11) == 0 || strncmp (reason, "start on", 8) == 0;
    return stuck? S_FAILED: S_WAITING;
}

static s_progress_t
s_judge_stopped (const json_t *vm, const json_t *answer, const char *name, int64_t *since,
                 char *line, size_t size)
{
    (void) answer, (void) name, (void) since;
    const char *state = s_string (vm, "state");
    bool off = (strcmp (state, "shutoff") == 0 || strcmp (state, "crashed") == 0)
            && json_is_null (json_object_get (vm, "operation"));
    snprintf (line, size, "vm '%s': %s", s_string (vm, "name"),
              off? "stopped": s_string (vm, "reason"));
    return off? S_DONE: S_WAITING;
}

//  Done when the operation has ended with the VM on the target (the answer to the request
//  names source and target); failed when it ended anywhere else.
static s_progress_t
s_judge_migrated (const json_t *vm, const json_t *answer, const char *name, int64_t *since,
                  char *line, size_t size)
{
    (void) name, (void) since;
    const json_t *op = json_object_get (vm, "operation");
    const char *reason = s_string (vm, "reason");
    const char *target = s_string (json_object_get (answer, "operation"), "target");
    if (json_is_object (op)) {
        double percent = json_number_value (json_object_get (op, "percent"));
        snprintf (line, size, "vm '%s': migrating from '%s' to '%s'%s: %.0f%% of %.0f MiB",
                  s_string (vm, "name"), s_string (op, "host"), s_string (op, "target"),
                  json_is_true (json_object_get (op, "accepted"))? "": " (waiting for the agent)",
                  percent, json_number_value (json_object_get (op, "data_total")) / 1048576);
        return S_WAITING;
    }
    bool arrived = strcmp (s_string (vm, "host"), target) == 0
                && strcmp (s_string (vm, "state"), "running") == 0;
    if (arrived) {
        snprintf (line, size, "vm '%s' migrated to host '%s'", s_string (vm, "name"), target);
        return S_DONE;
    }
    //  The outcome is the newest operation's (the reason may already say where it runs). A
    //  migration done before the target's report arrived: wait for the report.
    const json_t *operations = json_object_get (vm, "operations");
    const json_t *last = json_array_get (operations, json_array_size (operations) - 1);
    bool migration = last && strcmp (s_string (last, "action"), "migrate") == 0;
    if (migration && strcmp (s_string (last, "state"), "done") == 0)
        return S_WAITING;
    if (migration)
        snprintf (line, size, "vm '%s': migration %s: %s; it runs on host '%s'",
                  s_string (vm, "name"), s_string (last, "state"), s_string (last, "message"),
                  s_string (vm, "host"));
    else
        snprintf (line, size, "vm '%s': %s", s_string (vm, "name"), reason);
    return S_FAILED;
}

//  Done when `vm list` no longer names the VM.
static s_progress_t
s_judge_deleted (const json_t *list, const json_t *answer, const char *name, int64_t *since,
                 char *line, size_t size)
{
    (void) answer, (void) since;
    size_t index;
    json_t *vm;
    json_array_foreach (json_object_get (list, "vms"), index, vm)
        if (strcmp (s_string (vm, "name"), name) == 0) {
            snprintf (line, size, "vm '%s': %s", name, s_string (vm, "reason"));
            return S_WAITING;
        }
    snprintf (line, size, "vm '%s' deleted", name);
    return S_DONE;
}

//  The scheduler's reason for a VM it gave up migrating off a host in maintenance
//  ("blocks maintenance of host 'h': gave up after N failed migrations: WHY; ...").
#define S_GAVE_UP "failed migrations: "

//  Done when no VM runs on the host; failed when every VM left is blocked (it cannot be
//  moved): at once when the scheduler gave up migrating some of them, else after 5 s.
static s_progress_t
s_judge_emptied (const json_t *list, const json_t *answer, const char *name, int64_t *since,
                 char *line, size_t size)
{
    if (!json_is_true (json_object_get (answer, "maintenance"))) {
        snprintf (line, size, "host '%s' is out of maintenance", name);
        return S_DONE;                      // maintenance ended: nothing to follow
    }
    char report [2048] = "";
    size_t used = 0, left = 0, blocked = 0, gave_up = 0, index;
    const char *why = NULL;                 // the first given-up VM's last failure
    int why_length = 0;
    json_t *vm;
    json_array_foreach (json_object_get (list, "vms"), index, vm) {
        if (strcmp (s_string (vm, "host"), name) || strcmp (s_string (vm, "state"), "running"))
            continue;
        left++;
        bool managed = json_is_true (json_object_get (vm, "managed"));
        const char *reason = s_string (vm, "reason");
        bool blocks = managed && strncmp (reason, "blocks maintenance", 18) == 0;
        blocked += !managed || blocks;
        const char *failure = blocks? strstr (reason, S_GAVE_UP): NULL;
        if (failure && gave_up++ == 0) {
            why = failure + strlen (S_GAVE_UP);
            const char *end = strstr (why, "; migrate or stop it");
            why_length = (int) (end? (size_t) (end - why): strlen (why));
        }
        if (used < sizeof report)
            used += (size_t) snprintf (report + used, sizeof report - used, "\n  %s: %s",
                                       s_string (vm, "name"), managed? reason
                                       : "not managed by vmsched: cannot be moved");
    }
    if (left == 0) {
        snprintf (line, size, "host '%s' is empty and in maintenance", name);
        return S_DONE;
    }
    *since = blocked == left? (*since? *since: s_now_ms ()): 0;
    if (blocked == left && gave_up) {
        snprintf (line, size, "host '%s' cannot empty: %zu VM%s failed to migrate: %.*s (it stays "
                  "in maintenance; %zu vm%s left)%s", name, gave_up, gave_up == 1? "": "s",
                  why_length, why, left, left == 1? "": "s", report);
        return S_FAILED;
    }
    bool stuck = *since && s_now_ms () - *since > 5000;
    snprintf (line, size, "host '%s'%s: %zu vm%s left%s", name, stuck? " cannot be emptied (it "
              "stays in maintenance)": "", left, left == 1? "": "s", report);
    return stuck? S_FAILED: S_WAITING;
}

static const verb_watch_t s_watch_start = { "vm.show", s_judge_started, false };
static const verb_watch_t s_watch_stop = { "vm.show", s_judge_stopped, false };
static const verb_watch_t s_watch_migrate = { "vm.show", s_judge_migrated, false };
static const verb_watch_t s_watch_delete = { "vm.list", s_judge_deleted, true };
static const verb_watch_t s_watch_maintenance = { "vm.list", s_judge_emptied, true };

//  --------------------------------------------------------------------------
//  The table

//  A positional argument sent as a string field.
#define S_POS(key) { key, NULL, NULL }

#define S_WAIT_FLAGS \
    { "--no-wait", "no-wait", FLAG_LOCAL, "return at once instead of following it" }, \
    { "--wait", "wait", FLAG_WAIT, "seconds to follow it (default 120)" }

const verb_t verb_table [] = {
    { "status", "status", 0, 0, { { NULL } }, NULL, 0, "",
      "scheduler and cluster summary",
      "Shows the scheduler (version, leader epoch, uptime, endpoints), host counts by state,\n"
      "VM counts and the capacity of the hosts that are up.",
      view_status, NULL, { { NULL } } },
    { "host list", "host.list", 0, 0, { { NULL } }, NULL, 0, "",
      "hosts with state, generation, capacity and usage",
      "Lists every host the scheduler knows: state (up, suspect, down), registration\n"
      "generation, maintenance, CPUs and memory offered, VMs placed and running, vCPUs and\n"
      "memory used by running VMs, whether the agent is connected to libvirt, time since last\n"
      "heard.",
      view_host_list, NULL, { { NULL } } },
    { "host show", "host.show", 1, 1, { S_POS ("name") }, NULL, 0, "NAME",
      "one host in detail, with its domains and state history",
      "Shows one host (by name or host id): identity, boot id, hypervisor, capacity (CPU\n"
      "model and flags, nested virtualization, NUMA cells), usage, its domains and its newest\n"
      "20 state transitions.",
      view_host_show, NULL, { { NULL } } },
    { "host maintenance", "host.maintenance", 2, 2,
      { { "maintenance", "enter", "exit" }, S_POS ("name") }, NULL, 0, "enter|exit NAME",
      "empty a host for maintenance (live migration), or make it schedulable again",
      "enter: the host takes no new VMs and every managed VM on it is live-migrated away, a\n"
      "few at a time, respecting rules and capacity; clusterctl follows it and reports done\n"
      "only when the host is empty (exit 1 if some VM cannot be moved: it says which and why;\n"
      "the host stays in maintenance). exit: the host is schedulable again.",
      view_maintenance, &s_watch_maintenance, { S_WAIT_FLAGS, { NULL } } },
    { "vm list", "vm.list", 0, 0, { { NULL } }, NULL, 0, "",
      "VMs with host, state, size and what vmsched wants of them",
      "Lists every VM: the domains the agents report and the VMs vmsched manages (whether\n"
      "running or not): host, state, vCPUs, memory, desired state and uuid.",
      view_vm_list, NULL, { { NULL } } },
    { "vm show", "vm.show", 1, 1, { S_POS ("name") }, NULL, 0, "NAME",
      "one VM in detail, with its history and operations",
      "Shows one VM by name or uuid: placement, state, size, usage (CPU time, vCPU delay,\n"
      "RSS where the hypervisor reports them), policy, the reason for where it is, the\n"
      "operation in flight, its last operations and its newest 20 recorded changes.",
      view_vm_show, NULL, { { NULL } } },
    { "vm create", "vm.create", 1, 1, { S_POS ("name") }, NULL, 0, "NAME --xml FILE [OPTIONS]",
      "make a VM a cluster object (definition and policy stored by the scheduler)",
      "Stores the libvirt domain XML of FILE (checked: well-formed, a <domain> with a type,\n"
      "<memory> and <vcpu>; its <name>, if any, must be NAME) with the policy given by the\n"
      "options. vmsched starts it as a transient domain on the host the placement engine\n"
      "picks, so no host keeps a stale definition that could start a second copy.",
      view_vm_brief, NULL, {
        { "--xml", "xml", FLAG_FILE, "domain XML file (required)" },
        { "--ha", "ha", FLAG_SET, "restart it elsewhere when its host fails (HA)" },
        { "--priority", "priority", FLAG_NUMBER, "start order, higher first (default 0)" },
        { "--cpu-reserve", "cpu_reserve", FLAG_NUMBER, "CPUs guaranteed (not overcommitted)" },
        { "--mem-reserve", "mem_reserve_mib", FLAG_NUMBER, "MiB of memory guaranteed" },
        { "--nested", "nested", FLAG_SET, "needs nested virtualization (vmx/svm)" },
        { "--no-migrate", "migratable", FLAG_CLEAR, "never live-migrate it" },
        { "--start", "start", FLAG_SET, "start it at once" },
        { NULL } } },
    { "vm start", "vm.start", 1, 1, { S_POS ("name") }, NULL, 0, "NAME [--no-wait]",
      "run a managed VM (placed by the engine) and keep it running",
      "Sets the desired state to running: the scheduler places the VM and starts it, and\n"
      "starts it again after the scheduler or its host comes back. clusterctl follows it\n"
      "until it runs, or prints why it cannot (exit 1; the scheduler keeps trying).",
      view_vm_brief, &s_watch_start, { S_WAIT_FLAGS, { NULL } } },
    { "vm stop", "vm.stop", 1, 1, { S_POS ("name") }, NULL, 0, "NAME [--no-wait]",
      "stop a managed VM (and keep it stopped)",
      "Sets the desired state to stopped; the VM's host stops it.",
      view_vm_brief, &s_watch_stop, { S_WAIT_FLAGS, { NULL } } },
    { "vm delete", "vm.delete", 1, 1, { S_POS ("name") }, NULL, 0, "NAME [--no-wait]",
      "stop a managed VM and forget it",
      "Stops the VM if it runs, then removes its definition from the cluster.",
      view_vm_brief, &s_watch_delete, { S_WAIT_FLAGS, { NULL } } },
    { "vm migrate", "vm.migrate", 1, 2, { S_POS ("name"), S_POS ("host") }, NULL, 0,
      "NAME [HOST] [--migration-timeout MS] [--abort]",
      "live-migrate a managed VM (no HOST: the engine picks)",
      "Runs a peer-to-peer live migration from the VM's host to HOST, or to the host the\n"
      "placement engine picks. clusterctl shows the progress until it is done. A migration\n"
      "still running after the timeout is aborted and the VM stays on its host. VMs that\n"
      "cannot migrate (nested virtualization, --no-migrate, host devices) are refused with the\n"
      "reason. --abort aborts the VM's migration in flight.",
      view_vm_brief, &s_watch_migrate, {
        { "--migration-timeout", "timeout_ms", FLAG_NUMBER, "abort after MS milliseconds" },
        { "--abort", "abort", FLAG_LOCAL, "abort the migration in flight" },
        S_WAIT_FLAGS, { NULL } } },
    { "vm why", "vm.why", 1, 1, { S_POS ("name") }, NULL, 0, "NAME",
      "why a VM runs where it runs, or why it does not run",
      "Prints the VM's reason, its stored placement decision (every host with its verdict\n"
      "and the binding reason), and the decision the engine would take now.",
      view_vm_why, NULL, { { NULL } } },
    { "rule add", "rule.add", 3, -1, { S_POS ("name"), S_POS ("kind") }, "vms", 2,
      "NAME KIND VM... [--hosts H,...]",
      "add a placement rule (refused if it conflicts)",
      "KIND: affinity (the VMs share a host), anti-affinity (no two share a host), must or\n"
      "must-not (the VMs run only on / never on --hosts), should or should-not (soft:\n"
      "a penalty of --weight, default 10). affinity and anti-affinity are hard unless --soft.\n"
      "Hard rules that conflict with each other or cannot be satisfied are refused.",
      view_rule, NULL, {
        { "--hosts", "hosts", FLAG_LIST, "comma-separated host names (must, should, ...)" },
        { "--weight", "weight", FLAG_NUMBER, "penalty of a soft rule (default 10)" },
        { "--soft", "soft", FLAG_SET, "affinity / anti-affinity as a preference only" },
        { NULL } } },
    { "host add", "host.add", 1, 1, { S_POS ("name") }, NULL, 0, "NAME --key FILE",
      "allow a host's agent key (the host's identity)",
      "Allows the agent whose CURVE public key is in FILE (made with 'vmsched-agent --keygen')\n"
      "to register as host NAME; its key may speak for no other host. Admin role.",
      view_principal, NULL, {
        { "--key", "key", FLAG_KEY, "the agent's public key file (required)" }, { NULL } } },
    { "host remove", "host.remove", 1, 1, { S_POS ("name") }, NULL, 0, "NAME",
      "revoke a host's key",
      "The host's agent is refused from its next message on. Admin role.",
      view_done, NULL, { { NULL } } },
    { "user add", "user.add", 1, 1, { S_POS ("name") }, NULL, 0, "NAME --key FILE --role ROLE",
      "allow an operator's key with a role",
      "ROLE: viewer (read verbs), operator (VM lifecycle, migration, maintenance) or admin\n"
      "(everything, incl. hosts, users and rules). FILE is the operator's public key (made\n"
      "with 'clusterctl keygen'). Admin role.",
      view_principal, NULL, {
        { "--key", "key", FLAG_KEY, "the operator's public key file (required)" },
        { "--role", "role", FLAG_VALUE, "viewer, operator or admin (required)" }, { NULL } } },
    { "user list", "user.list", 0, 0, { { NULL } }, NULL, 0, "",
      "allowed operator and host keys",
      "Lists every allowed key: users with their roles, and hosts. Admin role.",
      view_user_list, NULL, { { NULL } } },
    { "user delete", "user.delete", 1, 1, { S_POS ("name") }, NULL, 0, "NAME",
      "revoke an operator's key",
      "The user's next request is refused, also on a connection opened before. Admin role.",
      view_done, NULL, { { NULL } } },
    { "audit", "audit", 0, 0, { { NULL } }, NULL, 0, "[--since TIME] [--limit N]",
      "who did what, when, and how it ended",
      "Every request that changes the cluster, and every request refused for lack of rights,\n"
      "with the user, the arguments (domain XML shown by size), status and message. TIME:\n"
      "30m, 2h, 1d (ago) or 2026-12-01T10:00:00 (UTC). Admin role.",
      view_audit, NULL, {
        { "--since", "since_ms", FLAG_TIME, "only requests since TIME" },
        { "--limit", "limit", FLAG_NUMBER, "at most N rows, the newest (default 100)" },
        { NULL } } },
    { "keygen", NULL, 1, 1, { { NULL } }, NULL, 0, "FILE",
      "make a key pair for this operator (local; no scheduler needed)",
      "Writes FILE (the public key: give it to an admin, who runs 'clusterctl user add') and\n"
      "FILE_secret (mode 0600: point secret_key in [clusterctl] at it).",
      view_done, NULL, { { NULL } } },
    { "rule list", "rule.list", 0, 0, { { NULL } }, NULL, 0, "",
      "placement rules",
      "Lists every rule with its kind, hardness, weight, VMs and hosts.",
      view_rule_list, NULL, { { NULL } } },
    { "rule delete", "rule.delete", 1, 1, { S_POS ("name") }, NULL, 0, "NAME",
      "delete a placement rule",
      "Deletes the rule; running VMs are not moved.",
      view_done, NULL, { { NULL } } },
};

const size_t verb_count = sizeof verb_table / sizeof verb_table [0];

int
verb_follow (const verb_session_t *session, const verb_t *verb, const char *name,
             const json_t *answer)
{
    return s_poll (session, verb->watch, name, answer);
}
