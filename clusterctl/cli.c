/*  cli.c - clusterctl: command line, settings, dispatch (see cli.h).

    Owns nothing beyond one run. Settings come from built-in defaults, then the config file
    ([clusterctl] in /etc/vmsched/clusterctl.conf or -c FILE), then the command line. Global
    options may come before or after the verb; the verb's own flags (verbs.c) after it; "--"
    ends options (for names starting with '-'). The request's arguments are one JSON object
    built with jansson (docs/clusterctl-json.md, "Request arguments"): positionals and flags
    fill the fields the verb's row names, numbers as integers, switches as booleans, lists as
    arrays. With -o json the scheduler's document is printed as is (indented), the stable
    interface for scripts (docs/clusterctl-json.md).
*/
#include "cli.h"
#include "config.h"
#include "keys.h"
#include "verbs.h"

#include <errno.h>
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
    json_t *args;               // the request's argument object (owned): flags, then
                                // positionals (s_request_args)
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

//  Sets the argument field key to value (taken). 0 or CLI_FAILED (out of memory).
static int
s_field (s_line_t *line, const char *key, json_t *value)
{
    return value && json_object_set_new (line->args, key, value) == 0? 0: CLI_FAILED;
}

//  A whole number option as a JSON integer; NULL after a message on err.
static json_t *
s_number (const verb_flag_t *flag, const char *value, FILE *err)
{
    char *end;
    errno = 0;
    long long number = strtoll (value, &end, 10);
    if (!*value || *end || errno) {
        fprintf (err, "clusterctl: %s needs a whole number, not '%s'\n", flag->name, value);
        return NULL;
    }
    return json_integer ((json_int_t) number);
}

//  "a,b,c" as a JSON array of strings ("" is an empty array).
static json_t *
s_list (const char *value)
{
    json_t *list = json_array ();
    for (const char *cursor = value; list && *value; ) {
        size_t length = strcspn (cursor, ",");
        json_array_append_new (list, json_stringn (cursor, length));
        if (!cursor [length])
            break;
        cursor += length + 1;
    }
    return list;
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
    bool local = flag->kind == FLAG_LOCAL || flag->kind == FLAG_WAIT;
    if (!local && json_object_get (line->args, flag->key)) {
        fprintf (err, "clusterctl: option '%s' given twice\n", flag->name);
        return CLI_USAGE;
    }
    switch (flag->kind) {
        case FLAG_VALUE:
            return s_field (line, flag->key, json_string (value));
        case FLAG_NUMBER: {
            json_t *number = s_number (flag, value, err);
            return number? s_field (line, flag->key, number): CLI_USAGE;
        }
        case FLAG_LIST:
            return s_field (line, flag->key, s_list (value));
        case FLAG_SET:
        case FLAG_CLEAR:
            return s_field (line, flag->key, json_boolean (flag->kind == FLAG_SET));
        case FLAG_KEY: {
            char key [KEYS_Z85_SIZE], reason [1024];
            if (keys_load_public (value, key, reason, sizeof reason)) {
                fprintf (err, "clusterctl: %s\n", reason);
                return CLI_FAILED;
            }
            return s_field (line, flag->key, json_string (key));
        }
        case FLAG_TIME: {
            long long ms = s_parse_time (value);
            if (ms < 0) {
                fprintf (err, "clusterctl: %s needs a time like 30m, 2h, 1d or "
                         "2026-12-01T10:00:00, not '%s'\n", flag->name, value);
                return CLI_USAGE;
            }
            return s_field (line, flag->key, json_integer ((json_int_t) ms));
        }
        case FLAG_FILE: {
            char *content = s_read_file (value, err);
            int rc = content? s_field (line, flag->key, json_string (content)): CLI_FAILED;
            if (content && rc)
                fprintf (err, "clusterctl: '%s' is not UTF-8 text\n", value);
            free (content);
            return rc;
        }
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

//  Adds the positional arguments to the request's argument object (line->args), each as
//  the field the verb's row names. 0, or CLI_USAGE after a usage message (or CLI_FAILED
//  when out of memory).
static int
s_request_args (const verb_t *verb, s_line_t *line, FILE *err)
{
    int count = line->positional_count;
    bool rest = verb->rest_key != NULL;
    bool fits = count >= verb->min_args && (rest || count <= verb->max_args);
    for (int i = 0; fits && i < count && (!rest || i < verb->rest_from); i++) {
        const verb_pos_t *pos = &verb->pos [i < 3? i: 2];
        const char *word = line->positional [i];
        json_t *value = json_string (word);
        if (pos->yes) {
            json_decref (value);
            fits = strcmp (word, pos->yes) == 0 || strcmp (word, pos->no) == 0;
            value = json_boolean (strcmp (word, pos->yes) == 0);
        }
        if (fits && s_field (line, pos->key, value))
            return CLI_FAILED;
    }
    if (!fits) {
        fprintf (err, "clusterctl: usage: clusterctl %s%s%s\n", verb->words,
                 verb->synopsis [0]? " ": "", verb->synopsis);
        return CLI_USAGE;
    }
    if (rest && count > verb->rest_from) {
        json_t *items = json_array ();
        for (int i = verb->rest_from; i < count; i++)
            json_array_append_new (items, json_string (line->positional [i]));
        if (s_field (line, verb->rest_key, items))
            return CLI_FAILED;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Running one verb

static int
s_run_verb (const s_settings_t *settings, const verb_t *verb, s_line_t *line,
            FILE *out, FILE *err)
{
    if (strcmp (verb->words, "vm create") == 0 && !json_object_get (line->args, "xml")) {
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
    int rc = s_request_args (verb, line, err);
    if (rc) {
        zcert_destroy (&cert);
        return rc;
    }
    verb_session_t session = { settings->server, cert, server_key, (int) settings->timeout_ms,
                               strcmp (settings->output, "json") == 0,
                               line->wait_s? line->wait_s: S_DEFAULT_WAIT_S, out, err };
    //  --abort: the VM's name is all vm.abort takes.
    const char *request = line->abort? "vm.abort": verb->request;
    json_t *abort = line->abort? json_pack ("{s:s}", "name", line->positional [0]): NULL;
    json_t *answer = NULL;
    rc = verb_call (&session, request, abort? abort: line->args, &answer);
    json_decref (abort);
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
    if (!(line.args = json_object ())) {
        fprintf (err, "clusterctl: out of memory\n");
        return CLI_FAILED;
    }
    int rc = s_main (argc, argv, &line, out, err);
    json_decref (line.args);
    return rc;
}
