/*  cli.c - clusterctl: command line, settings, dispatch (see cli.h).

    Owns nothing beyond one run. Settings come from built-in defaults, then the config file
    ([clusterctl] in /etc/vmsched/clusterctl.conf or -c FILE), then the command line. Global
    options may come before or after the verb; the verb's own flags (verbs.c) after it; "--"
    ends options (for names starting with '-'). With -o json the scheduler's document is
    printed as is (indented), the stable interface for scripts (docs/clusterctl-json.md).
*/
#include "cli.h"
#include "config.h"
#include "keys.h"
#include "verbs.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_DEFAULT_CONFIG "/etc/vmsched/clusterctl.conf"
#define S_MAX_WORDS      3
#define S_MAX_ARGS       64
#define S_DEFAULT_WAIT_S 120

typedef struct {
    char server [256];          // scheduler's ctl endpoint
    uint64_t timeout_ms;        // how long to wait for an answer
    char output [16];           // table or json
    char secret_key [1024];     // the operator's CURVE secret key file
    char scheduler_key [1024];  // the scheduler's public key file
} s_settings_t;

static const config_key_t s_config_keys [] = {
    CONFIG_STR ("clusterctl", "server", s_settings_t, server,
                "the scheduler's clusterctl endpoint (tcp://HOST:PORT)"),
    CONFIG_NUM ("clusterctl", "timeout_ms", s_settings_t, timeout_ms, 1, 3600000,
                "how long to wait for the scheduler's answer, in milliseconds"),
    CONFIG_STR ("clusterctl", "output", s_settings_t, output, "table or json"),
    CONFIG_STR ("clusterctl", "secret_key", s_settings_t, secret_key,
                "this operator's CURVE secret key file (clusterctl keygen)"),
    CONFIG_STR ("clusterctl", "scheduler_key", s_settings_t, scheduler_key,
                "the scheduler's public key file"),
    CONFIG_END
};

//  Everything the command line said, before settings are resolved.
typedef struct {
    const char *config_path;    // -c
    const char *server;         // -s
    const char *output;         // -o
    const char *timeout;        // -t
    bool help;                  // -h, --help, help VERB
    int positional_count;       // verb arguments
    const char *positional [S_MAX_ARGS];   // borrowed from argv
    int extra_count;            // key=value arguments from flags (owned strings)
    char *extra [S_MAX_ARGS];   // "key=value"
    char *file_content;         // FLAG_FILE content (owned), NULL when none
    int owned_count;            // strings made while shaping the request
    char *owned [S_MAX_ARGS];   // ... freed with the line
    bool no_wait;               // --no-wait
    bool abort;                 // --abort
    int wait_s;                 // --wait
} s_line_t;

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
        "  -t, --timeout MS       wait this long for each answer (default 5000)\n"
        "\n"
        "Verbs:\n");
    for (size_t i = 0; i < verb_count; i++) {
        char synopsis [96];
        snprintf (synopsis, sizeof synopsis, "%s %s", verb_table [i].words,
                  verb_table [i].synopsis);
        fprintf (out, "  %-52s %s\n", synopsis, verb_table [i].summary);
    }
    fprintf (out,
        "\n"
        "Exit status: 0 success, 1 refused or failed (scheduler unreachable included),\n"
        "2 bad usage. `clusterctl help VERB` or `clusterctl VERB --help` explains one verb.\n");
}

static void
s_verb_help (FILE *out, const verb_t *verb)
{
    fprintf (out, "usage: clusterctl [OPTIONS] %s%s%s\n\n%s\n", verb->words,
             verb->synopsis [0]? " ": "", verb->synopsis, verb->help);
    if (verb->flags [0].name)
        fprintf (out, "\nOptions:\n");
    for (int i = 0; verb->flags [i].name; i++) {
        flag_kind_t kind = verb->flags [i].kind;
        const char *value = kind == FLAG_FILE || kind == FLAG_KEY? " FILE"
                          : kind == FLAG_TIME? " TIME": kind == FLAG_WAIT? " SECONDS"
                          : kind == FLAG_VALUE? " VALUE": "";
        char flag [48];
        snprintf (flag, sizeof flag, "%s%s", verb->flags [i].name, value);
        fprintf (out, "  %-28s %s\n", flag, verb->flags [i].help);
    }
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
static const verb_t *
s_find_verb (int argc, char **argv, int *used)
{
    const verb_t *best = NULL;
    *used = 0;
    for (size_t i = 0; i < verb_count; i++) {
        char pieces [S_MAX_WORDS][32];
        int count = s_split (verb_table [i].words, pieces);
        if (count > argc || count <= *used)
            continue;
        bool match = true;
        for (int w = 0; w < count && match; w++)
            match = strcmp (argv [w], pieces [w]) == 0;
        if (match) {
            best = &verb_table [i];
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
    for (size_t i = 0; i < verb_count; i++) {
        char pieces [S_MAX_WORDS][32];
        int count = s_split (verb_table [i].words, pieces);
        if (count > 1 && strcmp (pieces [0], argv [0]) == 0 && used < sizeof known
        &&  !strstr (known, pieces [1]))
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
//  Arguments after the verb

//  Reads a whole file (for --xml). NULL with a message on err.
static char *
s_read_file (const char *path, FILE *err)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        fprintf (err, "clusterctl: cannot read '%s': %m\n", path);
        return NULL;
    }
    char *content = malloc (WIRE_MAX_ARG + 2);
    size_t size = content? fread (content, 1, WIRE_MAX_ARG + 1, file): 0;
    bool failed = ferror (file);
    fclose (file);
    if (!content || failed || size > WIRE_MAX_ARG) {
        fprintf (err, "clusterctl: cannot read '%s': %s\n", path,
                 size > WIRE_MAX_ARG? "larger than 1 MiB": "read error");
        free (content);
        return NULL;
    }
    content [size] = 0;
    return content;
}

//  Takes the value of an option written "--name=value" or "--name value".
static const char *
s_value (int argc, char **argv, int *i, const char *inline_value, FILE *err)
{
    if (inline_value)
        return inline_value;
    if (*i + 1 >= argc) {
        fprintf (err, "clusterctl: option '%s' needs a value (see clusterctl help)\n", argv [*i]);
        return NULL;
    }
    return argv [++*i];
}

//  TIME as wall-clock milliseconds: "30m", "2h", "1d" ago, or "2026-12-01T10:00:00" (UTC).
//  -1 when it is neither.
static long long
s_parse_time (const char *text)
{
    char *end;
    long long amount = strtoll (text, &end, 10);
    long long unit = strcmp (end, "s") == 0? 1: strcmp (end, "m") == 0? 60
                   : strcmp (end, "h") == 0? 3600: strcmp (end, "d") == 0? 86400: 0;
    if (end != text && unit && amount >= 0)
        return ((long long) time (NULL) - amount * unit) * 1000;
    struct tm when;
    memset (&when, 0, sizeof when);
    const char *rest = strptime (text, "%Y-%m-%dT%H:%M:%S", &when);
    if (!rest || (*rest && strcmp (rest, "Z")))
        return -1;
    return (long long) timegm (&when) * 1000;
}

//  Appends "key=value" to the request's extra arguments. 0 or CLI_FAILED.
static int
s_extra (s_line_t *line, const char *key, const char *value)
{
    char *pair = malloc (strlen (key) + strlen (value) + 2);
    if (!pair)
        return CLI_FAILED;
    sprintf (pair, "%s=%s", key, value);
    line->extra [line->extra_count++] = pair;
    return 0;
}

//  One verb flag; 0 or CLI_USAGE.
static int
s_verb_flag (const verb_flag_t *flag, int argc, char **argv, int *i, const char *inline_value,
             s_line_t *line, FILE *err)
{
    const char *value = NULL;
    bool switch_only = flag->kind == FLAG_SET || flag->kind == FLAG_CLEAR
                    || flag->kind == FLAG_LOCAL;
    if (!switch_only) {
        if (!(value = s_value (argc, argv, i, inline_value, err)))
            return CLI_USAGE;
    }
    else
    if (inline_value) {
        fprintf (err, "clusterctl: option '%s' takes no value\n", flag->name);
        return CLI_USAGE;
    }
    if (line->extra_count == S_MAX_ARGS)
        return CLI_USAGE;
    switch (flag->kind) {
        case FLAG_VALUE:
            return s_extra (line, flag->key, value);
        case FLAG_SET:
        case FLAG_CLEAR:
            return s_extra (line, flag->key, flag->kind == FLAG_SET? "1": "0");
        case FLAG_KEY: {
            char key [KEYS_Z85_SIZE], reason [1024];
            if (keys_load_public (value, key, reason, sizeof reason)) {
                fprintf (err, "clusterctl: %s\n", reason);
                return CLI_FAILED;
            }
            return s_extra (line, flag->key, key);
        }
        case FLAG_TIME: {
            long long ms = s_parse_time (value);
            char text [32];
            if (ms < 0) {
                fprintf (err, "clusterctl: %s needs a time like 30m, 2h, 1d or "
                         "2026-12-01T10:00:00, not '%s'\n", flag->name, value);
                return CLI_USAGE;
            }
            snprintf (text, sizeof text, "%lld", ms);
            return s_extra (line, flag->key, text);
        }
        case FLAG_FILE:
            free (line->file_content);
            line->file_content = s_read_file (value, err);
            return line->file_content? 0: CLI_FAILED;
        case FLAG_WAIT: {
            char *end;
            long seconds = strtol (value, &end, 10);
            if (*end || seconds < 1 || seconds > 86400) {
                fprintf (err, "clusterctl: %s needs seconds (1..86400), not '%s'\n", flag->name,
                         value);
                return CLI_USAGE;
            }
            line->wait_s = (int) seconds;
            return 0;
        }
        case FLAG_LOCAL:
            line->no_wait |= strcmp (flag->key, "no-wait") == 0;
            line->abort |= strcmp (flag->key, "abort") == 0;
            return 0;
    }
    return CLI_USAGE;
}

//  Reads the arguments after the verb's words: positionals, global options, verb flags.
static int
s_verb_args (const verb_t *verb, int argc, char **argv, s_line_t *line, FILE *err)
{
    bool options = true;
    for (int i = 0; i < argc; i++) {
        char *arg = argv [i];
        if (!options || arg [0] != '-' || arg [1] == 0) {
            if (line->positional_count == S_MAX_ARGS)
                return CLI_USAGE;
            line->positional [line->positional_count++] = arg;
            continue;
        }
        if (strcmp (arg, "--") == 0) {
            options = false;
            continue;
        }
        char name [64];
        const char *equals = strchr (arg, '=');
        snprintf (name, sizeof name, "%.*s", equals? (int) (equals - arg): (int) strlen (arg), arg);
        const char *inline_value = equals? equals + 1: NULL;
        const char **global = strcmp (name, "-o") == 0 || strcmp (name, "--output") == 0
                            ? &line->output
                            : strcmp (name, "-s") == 0 || strcmp (name, "--server") == 0
                            ? &line->server
                            : strcmp (name, "-t") == 0 || strcmp (name, "--timeout") == 0
                            ? &line->timeout: NULL;
        if (global) {
            if (!(*global = s_value (argc, argv, &i, inline_value, err)))
                return CLI_USAGE;
            continue;
        }
        if (strcmp (name, "-h") == 0 || strcmp (name, "--help") == 0) {
            line->help = true;
            continue;
        }
        const verb_flag_t *flag = NULL;
        for (int f = 0; verb->flags [f].name && !flag; f++)
            if (strcmp (verb->flags [f].name, name) == 0)
                flag = &verb->flags [f];
        if (!flag) {
            fprintf (err, "clusterctl: unknown option '%s' for '%s' (see clusterctl help %s)\n",
                     name, verb->words, verb->words);
            return CLI_USAGE;
        }
        int rc = s_verb_flag (flag, argc, argv, &i, inline_value, line, err);
        if (rc)
            return rc;
    }
    return 0;
}

//  Keeps text (malloc'd) until the line is freed; returns it (NULL when out of memory).
static char *
s_own (s_line_t *line, char *text)
{
    if (!text || line->owned_count == S_MAX_ARGS) {
        free (text);
        return NULL;
    }
    return line->owned [line->owned_count++] = text;
}

//  The request's arguments from the command line (pointers into line, which owns them).
//  Returns the count, or -1 after a usage message.
static int
s_request_args (const verb_t *verb, s_line_t *line, const char **args, FILE *err)
{
    int count = line->positional_count;
    bool rest = verb->rest_key != NULL;
    if (count < verb->min_args || (!rest && count > verb->max_args)) {
        fprintf (err, "clusterctl: usage: clusterctl %s%s%s\n", verb->words,
                 verb->synopsis [0]? " ": "", verb->synopsis);
        return -1;
    }
    int used = 0;
    for (int i = 0; i < count && (!rest || i < verb->rest_from); i++) {
        const char *key = i < 3? verb->pos_keys [i]: NULL;
        if (key) {
            char *pair = s_own (line, malloc (strlen (key) + strlen (line->positional [i]) + 2));
            if (!pair)
                return -1;
            sprintf (pair, "%s=%s", key, line->positional [i]);
            args [used++] = pair;
        }
        else
            args [used++] = line->positional [i];
        if (i == 0 && line->file_content)
            args [used++] = line->file_content;
    }
    if (rest && count > verb->rest_from) {
        size_t size = strlen (verb->rest_key) + 2;
        for (int i = verb->rest_from; i < count; i++)
            size += strlen (line->positional [i]) + 1;
        char *joined = s_own (line, malloc (size));
        if (!joined)
            return -1;
        size_t length = (size_t) sprintf (joined, "%s=", verb->rest_key);
        for (int i = verb->rest_from; i < count; i++)
            length += (size_t) sprintf (joined + length, "%s%s", i > verb->rest_from? ",": "",
                                        line->positional [i]);
        args [used++] = joined;
    }
    for (int i = 0; i < line->extra_count; i++)
        args [used++] = line->extra [i];
    return used;
}

//  --------------------------------------------------------------------------
//  Running one verb

static int
s_run_verb (const s_settings_t *settings, const verb_t *verb, s_line_t *line,
            FILE *out, FILE *err)
{
    if (strcmp (verb->words, "vm create") == 0 && !line->file_content) {
        fprintf (err, "clusterctl: vm create needs --xml FILE (the libvirt domain XML)\n");
        return CLI_USAGE;
    }
    if (!verb->request) {                   // keygen: local
        char reason [1024];
        if (line->positional_count != 1) {
            fprintf (err, "clusterctl: usage: clusterctl keygen FILE\n");
            return CLI_USAGE;
        }
        if (keys_generate (line->positional [0], "clusterctl", reason, sizeof reason)) {
            fprintf (err, "clusterctl: %s\n", reason);
            return CLI_FAILED;
        }
        fprintf (out, "%s (public: give it to an admin) and %s_secret (secret: keep it, "
                 "mode 0600)\n", line->positional [0], line->positional [0]);
        return CLI_OK;
    }
    char reason [1024], server_key [KEYS_Z85_SIZE];
    zcert_t *cert = keys_load_secret (settings->secret_key, reason, sizeof reason);
    if (!cert || keys_load_public (settings->scheduler_key, server_key, reason, sizeof reason)) {
        fprintf (err, "clusterctl: %s (see secret_key and scheduler_key in [clusterctl])\n",
                 reason);
        zcert_destroy (&cert);
        return CLI_FAILED;
    }
    const char *args [S_MAX_ARGS * 2 + 4];
    int count = s_request_args (verb, line, args, err);
    if (count < 0) {
        zcert_destroy (&cert);
        return CLI_USAGE;
    }
    verb_session_t session = { settings->server, cert, server_key, (int) settings->timeout_ms,
                               strcmp (settings->output, "json") == 0,
                               line->wait_s? line->wait_s: S_DEFAULT_WAIT_S, out, err };
    const char *request = line->abort? "vm.abort": verb->request;
    json_t *answer = NULL;
    int rc = verb_call (&session, request, args, line->abort? 1: count, &answer);
    if (rc) {
        zcert_destroy (&cert);
        return rc;
    }
    bool follow = verb->watch && !line->no_wait && !line->abort;
    if (!follow || !session.json) {
        if (session.json) {
            json_dumpf (answer, out, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
            fputc ('\n', out);
        }
        else
            verb->view (out, answer);
    }
    if (follow) {
        fflush (out);
        rc = verb_follow (&session, verb, line->positional [verb->min_args == 2? 1: 0], answer);
    }
    json_decref (answer);
    zcert_destroy (&cert);
    return rc;
}

//  --------------------------------------------------------------------------
//  Command line

//  The settings: defaults, then the config file, then the command line. 0 or CLI_USAGE.
static int
s_settings (const s_line_t *line, s_settings_t *settings, FILE *err)
{
    *settings = (s_settings_t) { "tcp://127.0.0.1:7101", 5000, "table",
                                 "/etc/vmsched/clusterctl.key_secret",
                                 "/etc/vmsched/scheduler.key" };
    char reason [1024];
    if ((line->config_path || access (S_DEFAULT_CONFIG, F_OK) == 0)
    &&  config_load (line->config_path? line->config_path: S_DEFAULT_CONFIG, s_config_keys,
                     settings, reason, sizeof reason)) {
        fprintf (err, "clusterctl: %s\n", reason);
        return CLI_USAGE;
    }
    if ((line->server && config_set (s_config_keys, settings, "clusterctl", "server",
                                     line->server, reason, sizeof reason))
    ||  (line->output && config_set (s_config_keys, settings, "clusterctl", "output",
                                     line->output, reason, sizeof reason))
    ||  (line->timeout && config_set (s_config_keys, settings, "clusterctl", "timeout_ms",
                                      line->timeout, reason, sizeof reason))) {
        fprintf (err, "clusterctl: %s\n", reason);
        return CLI_USAGE;
    }
    if (strcmp (settings->output, "table") && strcmp (settings->output, "json")) {
        fprintf (err, "clusterctl: unknown output format '%s': use table or json\n",
                 settings->output);
        return CLI_USAGE;
    }
    return 0;
}

static int
s_main (int argc, char **argv, s_line_t *line, FILE *out, FILE *err)
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
    optind = 0;                             // reset getopt: tests call us repeatedly
    opterr = 0;
    int option;
    //  Options before the verb; the verb's arguments are read by s_verb_args.
    while ((option = getopt_long (argc, argv, "+c:s:o:t:hV", options, NULL)) != -1) {
        switch (option) {
            case 'c': line->config_path = optarg; break;
            case 's': line->server = optarg; break;
            case 'o': line->output = optarg; break;
            case 't': line->timeout = optarg; break;
            case 'h': line->help = true; break;
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
    int rest = argc - optind;
    char **words = argv + optind;
    if (rest > 0 && strcmp (words [0], "help") == 0) {
        line->help = true;
        rest--;
        words++;
    }
    if (rest == 0) {
        s_usage (line->help? out: err);
        return line->help? CLI_OK: CLI_USAGE;
    }
    int used;
    const verb_t *verb = s_find_verb (rest, words, &used);
    if (!verb) {
        s_unknown_verb (err, rest, words);
        return CLI_USAGE;
    }
    int rc = s_verb_args (verb, rest - used, words + used, line, err);
    if (rc)
        return rc;
    if (line->help) {
        s_verb_help (out, verb);
        return CLI_OK;
    }
    s_settings_t settings;
    if ((rc = s_settings (line, &settings, err)))
        return rc;
    return s_run_verb (&settings, verb, line, out, err);
}

int
cli_main (int argc, char **argv, FILE *out, FILE *err)
{
    s_line_t line;
    memset (&line, 0, sizeof line);
    int rc = s_main (argc, argv, &line, out, err);
    for (int i = 0; i < line.extra_count; i++)
        free (line.extra [i]);
    for (int i = 0; i < line.owned_count; i++)
        free (line.owned [i]);
    free (line.file_content);
    return rc;
}
