/*  cli.c - clusterctl: command line, verb table, request, rendering (see cli.h).

    Owns nothing beyond one run. Settings come from built-in defaults, then the config file
    ([clusterctl] in /etc/vmsched/clusterctl.conf or -c FILE), then the command line. Every
    verb is one row of s_verbs: its words, the scheduler request it sends, its arguments, its
    help and its table view. With -o json the scheduler's document is printed as is (indented),
    which is the stable interface for scripts (docs/clusterctl-json.md).
*/
#include "cli.h"
#include "config.h"
#include "rpc.h"
#include "views.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define S_DEFAULT_CONFIG "/etc/vmsched/clusterctl.conf"
#define S_MAX_WORDS      3

typedef struct {
    char server [256];          // scheduler's ctl endpoint
    uint64_t timeout_ms;        // how long to wait for an answer
    char output [16];           // table or json
} s_settings_t;

static const config_key_t s_config_keys [] = {
    CONFIG_STR ("clusterctl", "server", s_settings_t, server,
                "the scheduler's clusterctl endpoint (tcp://HOST:PORT)"),
    CONFIG_NUM ("clusterctl", "timeout_ms", s_settings_t, timeout_ms, 1, 3600000,
                "how long to wait for the scheduler's answer, in milliseconds"),
    CONFIG_STR ("clusterctl", "output", s_settings_t, output, "table or json"),
    CONFIG_END
};

typedef struct {
    const char *words;          // what the operator types: "host show"
    const char *request;        // request verb sent to the scheduler: "host.show"
    uint32_t min_args;          // fewest arguments after the words
    uint32_t max_args;          // most arguments after the words
    const char *args;           // argument synopsis: "NAME"
    const char *summary;        // one line for --help
    const char *help;           // paragraph for `clusterctl help VERB`
    view_fn *view;              // table rendering of the answer
} s_verb_t;

static const s_verb_t s_verbs [] = {
    { "status", "status", 0, 0, "",
      "scheduler and cluster summary",
      "Shows the scheduler (version, leader epoch, uptime, endpoints), host counts by state,\n"
      "VM counts and the capacity of the hosts that are up.",
      view_status },
    { "host list", "host.list", 0, 0, "",
      "hosts with state, generation, capacity and usage",
      "Lists every host the scheduler knows: state (up, suspect, down), registration\n"
      "generation, CPUs and memory offered, VMs placed and running, vCPUs and memory used by\n"
      "running VMs, whether the agent is connected to libvirt, time since last heard.",
      view_host_list },
    { "host show", "host.show", 1, 1, "NAME",
      "one host in detail, with its domains and state history",
      "Shows one host: identity, boot id, hypervisor, capacity (CPU model and flags, nested\n"
      "virtualization, NUMA cells), usage, its domains and its newest 20 state transitions.",
      view_host_show },
    { "vm list", "vm.list", 0, 0, "",
      "VMs with host, state and size",
      "Lists every VM (libvirt domain) the agents report: host, state, vCPUs, memory, CPU\n"
      "time and uuid.",
      view_vm_list },
    { "vm show", "vm.show", 1, 1, "NAME",
      "one VM in detail, with its history",
      "Shows one VM by name or uuid: placement, state, size, usage (CPU time, vCPU delay,\n"
      "RSS where the hypervisor reports them) and its newest 20 recorded changes.",
      view_vm_show },
};

#define S_VERB_COUNT (sizeof s_verbs / sizeof s_verbs [0])

//  --------------------------------------------------------------------------
//  Help

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: clusterctl [-c FILE] [-s ENDPOINT] [-o table|json] [-t MS] VERB [ARGS]\n"
        "       clusterctl help VERB | --help | --version\n"
        "\n"
        "Operates a vmsched cluster through its scheduler.\n"
        "  -c, --config FILE      settings (default " S_DEFAULT_CONFIG " if present)\n"
        "  -s, --server ENDPOINT  scheduler's clusterctl endpoint (default tcp://127.0.0.1:7101)\n"
        "  -o, --output FORMAT    table (default) or json (stable, see clusterctl(1))\n"
        "  -t, --timeout MS       wait this long for an answer (default 5000)\n"
        "\n"
        "Verbs:\n");
    for (size_t i = 0; i < S_VERB_COUNT; i++) {
        char synopsis [64];
        snprintf (synopsis, sizeof synopsis, "%s %s", s_verbs [i].words, s_verbs [i].args);
        fprintf (out, "  %-22s %s\n", synopsis, s_verbs [i].summary);
    }
    fprintf (out,
        "\n"
        "Exit status: 0 success, 1 refused or failed (scheduler unreachable included),\n"
        "2 bad usage. `clusterctl help VERB` or `clusterctl VERB --help` explains one verb.\n");
}

static void
s_verb_help (FILE *out, const s_verb_t *verb)
{
    fprintf (out, "usage: clusterctl [OPTIONS] %s%s%s\n\n%s\n", verb->words,
             verb->args [0]? " ": "", verb->args, verb->help);
}

//  --------------------------------------------------------------------------
//  Verb lookup

//  Splits words ("host show") into at most S_MAX_WORDS pieces; returns the count.
static int
s_split (const char *words, char pieces [S_MAX_WORDS][32])
{
    int count = 0;
    const char *cursor = words;
    while (*cursor && count < S_MAX_WORDS) {
        size_t length = strcspn (cursor, " ");
        snprintf (pieces [count++], 32, "%.*s", (int) length, cursor);
        cursor += length + (cursor [length] == ' ');
    }
    return count;
}

//  The verb whose words start args (longest match); *used receives how many args they took.
static const s_verb_t *
s_find_verb (int argc, char **argv, int *used)
{
    const s_verb_t *best = NULL;
    *used = 0;
    for (size_t i = 0; i < S_VERB_COUNT; i++) {
        char pieces [S_MAX_WORDS][32];
        int count = s_split (s_verbs [i].words, pieces);
        if (count > argc || count <= *used)
            continue;
        bool match = true;
        for (int w = 0; w < count && match; w++)
            match = strcmp (argv [w], pieces [w]) == 0;
        if (match) {
            best = &s_verbs [i];
            *used = count;
        }
    }
    return best;
}

//  Explains an unknown verb, listing the known continuations of its first word.
static void
s_unknown_verb (FILE *err, int argc, char **argv)
{
    char known [512] = "";
    size_t used = 0;
    for (size_t i = 0; i < S_VERB_COUNT; i++) {
        char pieces [S_MAX_WORDS][32];
        int count = s_split (s_verbs [i].words, pieces);
        if (count > 1 && strcmp (pieces [0], argv [0]) == 0 && used < sizeof known)
            used += (size_t) snprintf (known + used, sizeof known - used, "%s%s",
                                       used? ", ": "", pieces [1]);
    }
    if (known [0] && argc > 1)
        fprintf (err, "clusterctl: unknown verb '%s %s'; '%s' takes: %s\n", argv [0],
                 argv [1], argv [0], known);
    else
    if (known [0])
        fprintf (err, "clusterctl: '%s' needs a verb: %s\n", argv [0], known);
    else
        fprintf (err, "clusterctl: unknown verb '%s' (see clusterctl --help)\n", argv [0]);
}

//  --------------------------------------------------------------------------
//  Running one verb

static int
s_print_reply (const s_settings_t *settings, const s_verb_t *verb, const wire_ctl_reply_t *reply,
               FILE *out, FILE *err)
{
    if (reply->status != 0) {
        fprintf (err, "clusterctl: %s\n", reply->error [0]? reply->error: "request failed");
        return reply->status == CLI_USAGE? CLI_USAGE: CLI_FAILED;
    }
    json_error_t error;
    json_t *document = reply->json? json_loads (reply->json, 0, &error): NULL;
    if (!document) {
        fprintf (err, "clusterctl: the scheduler's answer is not valid JSON: %s\n",
                 reply->json? error.text: "empty answer");
        return CLI_FAILED;
    }
    if (strcmp (settings->output, "json") == 0) {
        json_dumpf (document, out, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
        fputc ('\n', out);
    }
    else
        verb->view (out, document);
    json_decref (document);
    return CLI_OK;
}

static int
s_run_verb (const s_settings_t *settings, const s_verb_t *verb, int argc, char **argv,
            FILE *out, FILE *err)
{
    if ((uint32_t) argc < verb->min_args || (uint32_t) argc > verb->max_args) {
        fprintf (err, "clusterctl: usage: clusterctl %s%s%s\n", verb->words,
                 verb->args [0]? " ": "", verb->args);
        return CLI_USAGE;
    }
    wire_msg_t request;
    wire_msg_init (&request, WIRE_CTL_REQUEST);
    snprintf (request.body.request.verb, sizeof request.body.request.verb, "%s", verb->request);
    for (int i = 0; i < argc; i++)
        if (wire_request_add_arg (&request.body.request, argv [i])) {
            fprintf (err, "clusterctl: argument %d is too long\n", i + 1);
            wire_msg_reset (&request);
            return CLI_USAGE;
        }
    wire_msg_t reply;
    char reason [1024];
    int rc = rpc_call (settings->server, (int) settings->timeout_ms, &request.body.request,
                       &reply, reason, sizeof reason);
    wire_msg_reset (&request);
    if (rc) {
        fprintf (err, "clusterctl: %s\n", reason);
        return CLI_FAILED;
    }
    rc = s_print_reply (settings, verb, &reply.body.reply, out, err);
    wire_msg_reset (&reply);
    return rc;
}

//  --------------------------------------------------------------------------
//  Command line

int
cli_main (int argc, char **argv, FILE *out, FILE *err)
{
    static const struct option options [] = {
        { "config", required_argument, NULL, 'c' },
        { "server", required_argument, NULL, 's' },
        { "output", required_argument, NULL, 'o' },
        { "timeout", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    //  Options are read first and applied after the config file, so they win over it.
    const char *config_path = NULL, *server = NULL, *output = NULL, *timeout = NULL;
    optind = 0;                             // reset getopt: tests call us repeatedly
    opterr = 0;
    bool help = false;
    int option;
    //  Options may come anywhere ("clusterctl vm list -o json"); "--" ends them, for names
    //  that start with '-'. --help after a verb means that verb's help.
    while ((option = getopt_long (argc, argv, "c:s:o:t:hV", options, NULL)) != -1) {
        switch (option) {
            case 'c': config_path = optarg; break;
            case 's': server = optarg; break;
            case 'o': output = optarg; break;
            case 't': timeout = optarg; break;
            case 'h': help = true; break;
            case 'V': fprintf (out, "clusterctl %s\n", VMSCHED_VERSION); return CLI_OK;
            default:
                if (optopt)
                    fprintf (err, "clusterctl: unknown option or missing value: '-%c' (see "
                             "clusterctl --help)\n", optopt);
                else
                    fprintf (err, "clusterctl: unknown option or missing value: '%s' (see "
                             "clusterctl --help)\n", argv [optind - 1]);
                return CLI_USAGE;
        }
    }
    s_settings_t settings = { "tcp://127.0.0.1:7101", 5000, "table" };
    char reason [1024];
    if ((config_path || access (S_DEFAULT_CONFIG, F_OK) == 0)
    &&  config_load (config_path? config_path: S_DEFAULT_CONFIG, s_config_keys, &settings,
                     reason, sizeof reason)) {
        fprintf (err, "clusterctl: %s\n", reason);
        return CLI_USAGE;
    }
    if ((server && config_set (s_config_keys, &settings, "clusterctl", "server", server,
                               reason, sizeof reason))
    ||  (output && config_set (s_config_keys, &settings, "clusterctl", "output", output,
                               reason, sizeof reason))
    ||  (timeout && config_set (s_config_keys, &settings, "clusterctl", "timeout_ms", timeout,
                                reason, sizeof reason))) {
        fprintf (err, "clusterctl: %s\n", reason);
        return CLI_USAGE;
    }
    if (strcmp (settings.output, "table") && strcmp (settings.output, "json")) {
        fprintf (err, "clusterctl: unknown output format '%s': use table or json\n",
                 settings.output);
        return CLI_USAGE;
    }
    int rest = argc - optind;
    char **words = argv + optind;
    if (rest > 0 && strcmp (words [0], "help") == 0) {
        help = true;
        rest--;
        words++;
    }
    if (rest == 0) {
        s_usage (help? out: err);
        return help? CLI_OK: CLI_USAGE;
    }
    int used;
    const s_verb_t *verb = s_find_verb (rest, words, &used);
    if (!verb) {
        s_unknown_verb (err, rest, words);
        return CLI_USAGE;
    }
    if (help) {
        s_verb_help (out, verb);
        return CLI_OK;
    }
    return s_run_verb (&settings, verb, rest - used, words + used, out, err);
}
